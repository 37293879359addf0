package lxc

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
)

// destroyingInfix marks a container directory being removed: renamed out
// of sight first, so a destroy that is killed half-way leaves no
// half-container (the next create sweeps it).
const destroyingInfix = ".destroying-"

// Destroy removes a stopped container; with force it kills a running one
// first.
func (c *Container) Destroy(force bool) error {
	return c.destroy(force, false)
}

// DestroyWithSnapshots is lxc-destroy -s: the container's snapshots
// (lxc-snapshot's) go first. Clones of it still refuse it, as in LXC.
func (c *Container) DestroyWithSnapshots(force bool) error {
	return c.destroy(force, true)
}

func (c *Container) destroy(force, snapshots bool) error {
	if err := c.mustBeDefined(); err != nil {
		return err
	}
	if len(c.Clones()) > 0 {
		if snapshots {
			return fmt.Errorf("container %s has snapshots on its rootfs", c.Name)
		}
		return &ErrHasClones{Name: c.Name}
	}
	// Its snapshots (lxc-snapshot's) go only when asked for (-s): LXC
	// refuses, and a destroy is not undone.
	if !snapshots && c.hasSnapshots() {
		return &ErrHasSnapshots{Name: c.Name}
	}
	ephemeral := false
	if cfg, err := config.Load(c.ConfigPath()); err == nil {
		ephemeral = cfg.Ephemeral
	}
	lock, err := c.destroyLock(force)
	if err != nil {
		return err
	}
	defer lock.Release()
	if !c.Defined() {
		if ephemeral {
			// -f stopped an ephemeral container, which its stop
			// destroyed: done, as with LXC.
			lock.remove()
			return nil
		}
		return &ErrNotDefined{Name: c.Name}
	}
	if len(c.Clones()) > 0 {
		return &ErrHasClones{Name: c.Name}
	}
	if !snapshots && c.hasSnapshots() {
		return &ErrHasSnapshots{Name: c.Name}
	}
	// Not even with -f: golxc cannot kill what LXC's monitor supervises.
	// The lock file goes: LXC may destroy the container without golxc.
	if err := c.notRunByLXC(); err != nil {
		lock.remove()
		return err
	}
	if err := refuseMounts(c); err != nil {
		return err
	}
	// The hooks come before the snapshots go too.
	if err := c.runDestroyHooks(); err != nil {
		return err
	}
	if snapshots {
		if err := c.destroySnapshots(); err != nil {
			return err
		}
	}
	return c.destroyLocked(lock)
}

// destroyWithHooks is every destroy of a container as LXC's (lxc-destroy,
// an ephemeral container's end, a failed ephemeral start): its destroy
// hooks first, with everything still in place (one that fails leaves the
// container as it was), then destroyLocked. A failed copy's half-made
// clone is no container yet and goes with destroyLocked alone.
func (c *Container) destroyWithHooks(lock *Lock) error {
	if err := c.runDestroyHooks(); err != nil {
		return err
	}
	return c.destroyLocked(lock)
}

// runDestroyHooks runs c's lxc.hook.destroy commands.
func (c *Container) runDestroyHooks() error {
	if cfg, err := config.Load(c.ConfigPath()); err == nil {
		if err := destroyHooks(c.Name, c.ConfigPath(), cfg); err != nil {
			return fmt.Errorf("destroy %s: %w", c.Name, err)
		}
	}
	return nil
}

// ErrHasSnapshots refuses to destroy a container with snapshots without
// -s, in LXC's words.
type ErrHasSnapshots struct{ Name string }

func (e *ErrHasSnapshots) Error() string {
	return fmt.Sprintf("Destroying %s failed: %s has snapshots", e.Name, e.Name)
}

// hasSnapshots reports whether c has a snapshot in its snaps directory.
func (c *Container) hasSnapshots() bool {
	names, _ := List(c.snapsDir())
	return len(names) > 0
}

// destroyLock takes the container's lock for a destroy. A running
// container's monitor holds it for life: without force that is "is
// running"; with force the container is killed and the lock awaited. A
// start that wins the race makes the destroy see it running, never a
// half-destroyed container.
func (c *Container) destroyLock(force bool) (*Lock, error) {
	deadline := time.Now().Add(10 * time.Second)
	for {
		lock, err := c.TryLock()
		if err != nil && err != ErrLocked {
			return nil, err
		}
		if err == nil {
			// The lock is no proof of a stopped container: a monitor of
			// an older golxc holds a lock file of another name. Whatever
			// answers on the container's socket as running is running.
			err = c.killIfRunning(force)
			if err == nil {
				return lock, nil
			}
			var lxcRun *ErrRunByLXC
			if errors.As(err, &lxcRun) {
				// The lock file goes: LXC may destroy the container
				// without golxc.
				lock.remove()
			}
			lock.Release()
			if err != errKilled {
				return nil, err
			}
		} else if err := c.killIfRunning(force); err != nil && err != errKilled {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s is locked by another golxc process", c.Name)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// errKilled says killIfRunning killed the container: wait for its
// monitor to go.
var errKilled = errors.New("killed")

// killIfRunning is nil for a container whose monitor does not answer as
// running; a running one is "is running" without force, killed (errKilled)
// with it.
func (c *Container) killIfRunning(force bool) error {
	st, err := c.State()
	if err != nil {
		if !c.Defined() {
			return nil // gone (an ephemeral container its stop removed)
		}
		return err
	}
	if st == monitor.Stopped {
		return nil
	}
	// Not even with -f: golxc cannot kill what LXC's monitor supervises
	// (said so in LXC's terms, not as a running golxc container).
	if err := c.notRunByLXC(); err != nil {
		return err
	}
	if !force {
		return fmt.Errorf("%s is running", c.Name)
	}
	var nr *ErrNotRunning
	if err := c.Stop(StopOptions{Kill: true}); err != nil && !errors.As(err, &nr) {
		return err
	}
	return errKilled
}

// removeStaleCgroups removes the empty cgroups a killed monitor could not
// (the next start of the name would otherwise reuse them). One in use, by
// a process or by a start of the same name in another lxcpath that holds
// the name's lock, is not ours to touch.
// With lxc.cgroup.dir* the groups are where the container's config puts
// them, and the intermediate directories golxc made go with them (see
// cgroup.Group.Destroy).
func removeStaleCgroups(name string, dir monitor.CgroupDir) {
	layout, err := cgroup.Detect()
	if err != nil {
		return
	}
	layout = layout.Use(dir.Use)
	if dir.Container != "" {
		for _, p := range []string{dir.Container, dir.Monitor} {
			_ = layout.RemoveStale(p)
			for i := 1; dir.Pattern != "" && i <= cgroup.MaxSuffix; i++ {
				_ = layout.RemoveStale(p + "-" + strconv.Itoa(i))
			}
		}
		return
	}
	under := ""
	if dir.Dir != "" {
		under = dir.Dir + "/"
	}
	// And the suffixed ones a start took while the plain name was still
	// in use (a restart right after a killed monitor): only stale ones
	// go, a live group's name lock keeps it (a same-named container of
	// another lxcpath).
	for _, prefix := range []string{"lxc.payload.", "lxc.monitor."} {
		_ = layout.RemoveStale(under + prefix + name)
		for i := 1; i <= cgroup.MaxSuffix; i++ {
			_ = layout.RemoveStale(under + prefix + name + "-" + strconv.Itoa(i))
		}
	}
}
