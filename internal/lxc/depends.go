package lxc

import (
	"errors"
	"fmt"
	"github.com/golxc/golxc/internal/sysfile"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
)

// Origin and clone are tied as LXC ties them: the origin's lxc_snapshots
// lists each clone whose rootfs lies on its own (an overlay's lower
// layer) as two lines, LXCPATH and NAME; the clone's lxc_rdepends names
// its origin the same way. An origin with clones is not destroyed, and a
// clone's destroy takes it off its origin's list.

const (
	snapshotsFile = "lxc_snapshots"
	rdependsFile  = "lxc_rdepends"
)

type depRef struct{ LXCPath, Name string }

// parseDeps reads the pairs of file (an lxc_snapshots or lxc_rdepends).
// Each names a container directory that is edited or looked at as root:
// an entry that is not an absolute lxcpath without ".." and a container name
// (a "../x" would lead anywhere) is left out, with a warning.
func parseDeps(b []byte, file string) []depRef {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	var out []depRef
	for i := 0; i+1 < len(lines); i += 2 {
		d := depRef{lines[i], lines[i+1]}
		if d.LXCPath == "" && d.Name == "" {
			continue
		}
		if !filepath.IsAbs(d.LXCPath) || slices.Contains(strings.Split(d.LXCPath, "/"), "..") || ValidateName(d.Name) != nil {
			fmt.Fprintf(os.Stderr, "warning: %s: ignoring the entry %q %q: not an absolute lxcpath and a container name\n", file, d.LXCPath, d.Name)
			continue
		}
		// LXC's own lists may name a path as typed ("/l/"): the same
		// directory, and the same entry, cleaned.
		d.LXCPath = filepath.Clean(d.LXCPath)
		out = append(out, d)
	}
	return out
}

// editDeps changes the origin's lxc_snapshots under an flock of the file
// itself (clones of one origin may be made or destroyed at once); an
// emptied list is removed, as LXC does.
func editDeps(dir string, edit func([]depRef) []depRef) error {
	p := filepath.Join(dir, snapshotsFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o644)
	if err != nil {
		return fmt.Errorf("open %s: %w", p, err)
	}
	defer f.Close()
	if err := sysfile.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock %s: %w", p, err)
	}
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && st.Size() > 0 {
		return fmt.Errorf("read %s: %w", p, err)
	}
	deps := edit(parseDeps(b, p))
	if len(deps) == 0 {
		if err := os.Remove(p); err != nil {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		return nil
	}
	var out strings.Builder
	for _, d := range deps {
		out.WriteString(d.LXCPath + "\n" + d.Name + "\n")
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if _, err := f.WriteAt([]byte(out.String()), 0); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	return nil
}

func addDependent(origin, clone *Container) error {
	return editDeps(origin.Dir(), func(d []depRef) []depRef {
		return append(d, depRef{clone.LXCPath, clone.Name})
	})
}

// dropFromOrigin takes the container whose directory (moved away) is dir
// off its origin's list.
func dropFromOrigin(c *Container, dir string) {
	p := filepath.Join(dir, rdependsFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return
	}
	for _, o := range parseDeps(b, p) {
		odir := filepath.Join(o.LXCPath, o.Name)
		if _, err := os.Stat(filepath.Join(odir, snapshotsFile)); err != nil {
			continue
		}
		_ = editDeps(odir, func(d []depRef) []depRef {
			var keep []depRef
			for _, x := range d {
				if x != (depRef{c.LXCPath, c.Name}) {
					keep = append(keep, x)
				}
			}
			return keep
		})
	}
}

// Clones lists the containers that depend on c (its lxc_snapshots). An
// entry whose container is gone (removed by hand, or by a tool that
// does not keep the list) depends on nothing and is not counted.
func (c *Container) Clones() []string {
	p := filepath.Join(c.Dir(), snapshotsFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	var out []string
	for _, d := range parseDeps(b, p) {
		p := filepath.Join(d.LXCPath, d.Name)
		if _, err := os.Stat(filepath.Join(p, "config")); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// ErrHasClones refuses to destroy an origin with clones, in LXC's words.
type ErrHasClones struct{ Name string }

func (e *ErrHasClones) Error() string {
	return fmt.Sprintf("Destroying %s failed: %s has clones", e.Name, e.Name)
}

// destroyLocked removes the container while its lock is held: the
// directory out of sight in one step, then the removal, the cgroups and
// socket a killed monitor left, and its entry in its origin's list.
func (c *Container) destroyLocked(lock *Lock) error {
	if err := refuseMounts(c); err != nil {
		return err
	}
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
	moved := filepath.Join(gone.path, c.Name)
	dropFromOrigin(c, moved)
	// Its snapshots go with it: those that were overlays on another
	// container's rootfs come off that one's list too.
	if snaps, err := os.ReadDir(filepath.Join(moved, "snaps")); err == nil {
		for _, s := range snaps {
			sc := &Container{Name: s.Name(), LXCPath: c.snapsDir()}
			dropFromOrigin(sc, filepath.Join(moved, "snaps", s.Name()))
		}
	}
	var dir monitor.CgroupDir
	if cfg, err := config.Load(filepath.Join(moved, "config")); err == nil {
		sys, _ := config.LoadSystem() // nil: the default places
		dir = cgroupDir(c.Name, cfg, sys)
	}
	removeStaleCgroups(c.Name, dir)
	// What a killed monitor left in the socket directory: its socket
	// file, the host ends it recorded (removed only if still theirs),
	// its record and start request (a monitor killed between writing
	// the one and the other leaves the request alone).
	_ = monitor.RemoveStaleNetwork(c.LXCPath, c.Name)
	_ = os.Remove(monitor.SocketPath(c.LXCPath, c.Name))
	monitor.RemoveRecord(c.LXCPath, c.Name)
	return gone.remove()
}

// snapsDir is where lxc-snapshot keeps c's snapshots.
func (c *Container) snapsDir() string { return filepath.Join(c.Dir(), "snaps") }

// destroySnapshots destroys every snapshot of c (lxc-destroy -s).
func (c *Container) destroySnapshots() error {
	names, err := List(c.snapsDir())
	if err != nil {
		return err
	}
	var errs []error
	for _, n := range names {
		s, err := New(c.snapsDir(), n)
		if err == nil {
			err = s.Destroy(false)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// ephemeralMark is left in an ephemeral container's directory by its
// start: a stopped container with it and no monitor (its lock free) is
// one whose monitor was killed before it could destroy it.
const ephemeralMark = ".golxc-ephemeral-started"

func (c *Container) markEphemeral(startID string) error {
	p := filepath.Join(c.Dir(), ephemeralMark)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("mark %s ephemeral: %w", c.Name, err)
	}
	_, err = f.WriteString(startID)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("mark %s ephemeral: %w", c.Name, err)
	}
	return nil
}

// startedAs says whether c's ephemeral mark is of the start startID: a
// stop re-run after its monitor was killed must not destroy a container
// of the same name made since.
func (c *Container) startedAs(startID string) bool {
	fd, err := unix.Open(filepath.Join(c.Dir(), ephemeralMark), unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	f := os.NewFile(uintptr(fd), ephemeralMark)
	defer f.Close()
	b := make([]byte, 64)
	n, _ := f.Read(b)
	return string(b[:n]) == startID
}

// reapWait bounds how long ReapEphemeral waits for what a killed monitor
// leaves dying to let go (its lock, its payload's processes): seconds on
// a loaded host.
const reapWait = 10 * time.Second

// ReapEphemeral destroys c if it is an ephemeral container whose monitor
// died without destroying it (kill -9 of the monitor): every golxc tool
// that looks a container up calls it, so such a container is gone the
// next time anyone asks for it. It reports whether c was removed.
func (c *Container) ReapEphemeral() bool {
	if _, err := os.Lstat(filepath.Join(c.Dir(), ephemeralMark)); err != nil {
		return false
	}
	lock, err := c.TryLock()
	for deadline := time.Now().Add(reapWait); err == ErrLocked && time.Now().Before(deadline); {
		// Held: by its monitor (running, or stopping, when it destroys
		// the container itself), or for a moment yet by what a killed
		// monitor leaves dying. Only the last is waited for.
		if st, serr := c.State(); serr != nil || st != monitor.Stopped {
			return false
		}
		time.Sleep(10 * time.Millisecond)
		lock, err = c.TryLock()
	}
	if err != nil {
		return false
	}
	defer lock.Release()
	if _, err := os.Lstat(filepath.Join(c.Dir(), ephemeralMark)); err != nil {
		return false
	}
	// A free lock is no proof that the monitor is gone: one of an older
	// golxc holds a lock file of another name. It must not answer.
	if st, err := c.State(); err != nil || st != monitor.Stopped {
		return false
	}
	if err := c.notRunByLXC(); err != nil {
		return false
	}
	if err := c.waitPayloadGone(reapWait); err != nil {
		// No record, yet processes: a container whose monitor died
		// before its record could be written runs on. Not destroyed
		// under it.
		fmt.Fprintf(os.Stderr, "%s: ephemeral %s: its monitor is gone but %v: not destroyed\n", filepath.Base(os.Args[0]), c.Name, err)
		return false
	}
	return c.destroyWithHooks(lock) == nil
}

// waitPayloadGone waits (a while) for the processes a killed monitor
// left to die (a foreground start's init dies with its tool, the rest as
// its pid namespace goes), so that the destroy finds their cgroup stale
// and removes it. It says what it found when they do not go.
func (c *Container) waitPayloadGone(timeout time.Duration) error {
	cfg, err := config.Load(c.ConfigPath())
	if err != nil {
		return err
	}
	sys, _ := config.LoadSystem()
	dir := cgroupDir(c.Name, cfg, sys)
	layout, err := cgroup.Detect()
	if err != nil {
		return err
	}
	name := dir.Container
	if name == "" {
		name = "lxc.payload." + c.Name
		if dir.Dir != "" {
			name = dir.Dir + "/" + name
		}
	}
	g := layout.Use(dir.Use).Group(name)
	deadline := time.Now().Add(timeout)
	for {
		procs, err := g.Procs()
		switch {
		case errors.Is(err, os.ErrNotExist) || err == nil && len(procs) == 0:
			return nil
		case err != nil:
			return fmt.Errorf("its cgroup %s cannot be read: %w", name, err)
		case time.Now().After(deadline):
			return fmt.Errorf("its cgroup %s still has processes %v", name, procs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// originOf is the container c depends on (its lxc_rdepends), or nil.
func originOf(c *Container) *Container {
	p := filepath.Join(c.Dir(), rdependsFile)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil
	}
	for _, d := range parseDeps(b, p) {
		if o, err := New(d.LXCPath, d.Name); err == nil && o.Defined() {
			return o
		}
	}
	return nil
}
