package lxc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golxc/internal/cgroup"
	"golxc/internal/config"
	"golxc/internal/monitor"
)

// destroyingInfix marks a container directory being removed: renamed out
// of sight first, so a destroy that is killed half-way leaves no
// half-container (the next create sweeps it).
const destroyingInfix = ".destroying-"

// Destroy removes a stopped container; with force it kills a running one
// first.
func (c *Container) Destroy(force bool) error {
	if err := c.mustBeDefined(); err != nil {
		return err
	}
	lock, err := c.destroyLock(force)
	if err != nil {
		return err
	}
	defer lock.Release()
	if !c.Defined() {
		return &ErrNotDefined{Name: c.Name}
	}
	// Not even with -f: golxc cannot kill what LXC's monitor supervises.
	// The lock file goes: LXC may destroy the container without golxc.
	if err := c.notRunByLXC(); err != nil {
		lock.remove()
		return err
	}
	// The destroy hooks come first, with everything still in place: one
	// that fails leaves the container as it was.
	if cfg, err := config.Load(c.ConfigPath()); err == nil {
		if err := destroyHooks(c.Name, c.ConfigPath(), cfg); err != nil {
			return fmt.Errorf("destroy %s: %w", c.Name, err)
		}
	}
	// Out of sight first, in one step; then the slow removal.
	gone, err := makeWorkDir(c.LXCPath, "."+c.Name+destroyingInfix)
	if err != nil {
		return fmt.Errorf("destroy %s: %w", c.Name, err)
	}
	defer gone.release()
	if err := os.Rename(c.Dir(), filepath.Join(gone.path, c.Name)); err != nil {
		_ = gone.remove()
		return fmt.Errorf("destroy %s: %w", c.Name, err)
	}
	lock.remove()
	var dir monitor.CgroupDir
	if cfg, err := config.Load(filepath.Join(gone.path, c.Name, "config")); err == nil {
		sys, _ := config.LoadSystem() // nil: the default places
		dir = cgroupDir(c.Name, cfg, sys)
	}
	removeStaleCgroups(c.Name, dir)
	// What a killed monitor left in the socket directory: its socket
	// file and the host ends it recorded (removed only if still theirs).
	_ = monitor.RemoveStaleNetwork(c.LXCPath, c.Name)
	_ = os.Remove(monitor.SocketPath(c.LXCPath, c.Name))
	return gone.remove()
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
		if err != ErrLocked {
			return lock, err
		}
		st, err := c.State()
		if err != nil {
			return nil, err
		}
		if st != monitor.Stopped {
			if !force {
				return nil, fmt.Errorf("%s is running", c.Name)
			}
			var nr *ErrNotRunning
			if err := c.Stop(StopOptions{Kill: true}); err != nil && !errors.As(err, &nr) {
				return nil, err
			}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s is locked by another golxc process", c.Name)
		}
		time.Sleep(5 * time.Millisecond)
	}
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
