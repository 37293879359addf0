package cgroup

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// MoveThreadIn moves the calling thread, and it alone, into g's v1
// hierarchies, so that a child it clones next is born there, and returns
// the func that moves it back to where it was. The caller has locked the
// goroutine to its thread (runtime.LockOSThread) and keeps it locked for
// good if back fails: the thread then ends with the goroutine.
//
// Why not write the child's pid to cgroup.procs afterwards: a move of
// another process takes the kernel's global threadgroup lock for
// writing, which waits for an RCU grace period once the host has been
// quiet for a moment (2 to 30 ms measured on a loaded 2-core VM, for
// every start). A thread that writes "0" to a tasks file moves itself
// without that lock. The cgroup2 part is done at clone time
// (OpenUnified, CLONE_INTO_CGROUP).
func (g *Group) MoveThreadIn() (back func() error, err error) {
	if g.err != nil {
		return nil, g.err
	}
	if g.layout == nil {
		return nil, errors.New("move thread: the group's layout is unknown")
	}
	before, err := os.ReadFile("/proc/thread-self/cgroup")
	if err != nil {
		return nil, fmt.Errorf("move thread: %w", err)
	}
	var from, to []int
	closeAll := func() {
		for _, fd := range append(from, to...) {
			unix.Close(fd)
		}
	}
	for _, d := range g.v1 {
		mount, rel, err := threadDir(before, g.layout, d.controllers)
		if err != nil {
			closeAll()
			return nil, err
		}
		// Both ends are opened before anything moves: the way back must
		// not be found missing once the thread is in the container's
		// cgroups.
		fd, err := openTasks(filepath.Join(mount, rel))
		if err != nil {
			closeAll()
			return nil, err
		}
		from = append(from, fd)
		fd, err = openTasks(d.path)
		if err != nil {
			closeAll()
			return nil, err
		}
		to = append(to, fd)
	}
	move := func(fds []int) error {
		for _, fd := range fds {
			if _, err := unix.Write(fd, []byte("0")); err != nil {
				return fmt.Errorf("move thread: %w", err)
			}
		}
		return nil
	}
	back = func() error {
		defer closeAll()
		if err := move(from); err != nil {
			return err
		}
		now, err := os.ReadFile("/proc/thread-self/cgroup")
		if err != nil {
			return fmt.Errorf("move thread back: %w", err)
		}
		if !bytes.Equal(now, before) {
			return errors.New("move thread back: not where it was")
		}
		return nil
	}
	if err := move(to); err != nil {
		if berr := back(); berr != nil {
			return nil, errors.Join(err, berr, ErrThreadStranded)
		}
		return nil, err
	}
	return back, nil
}

// ErrThreadStranded says a thread MoveThreadIn failed to move could not
// be put back where it was either: it must not run anything else.
var ErrThreadStranded = errors.New("the thread is left in the group's cgroups")

// OpenTasks opens the tasks file of v1 cgroup directory dir for writing
// ("0" there moves the writing thread alone, without the threadgroup
// lock a move of a process takes).
func OpenTasks(dir string) (*os.File, error) {
	fd, err := openTasks(dir)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), filepath.Join(dir, "tasks")), nil
}

func openTasks(dir string) (int, error) {
	fd, err := unix.Open(filepath.Join(dir, "tasks"), unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s/tasks: %w", dir, err)
	}
	return fd, nil
}

// threadDir finds, in a /proc/.../cgroup listing, the v1 hierarchy of
// controllers and returns its mount point in l and the cgroup's path
// below it.
func threadDir(listing []byte, l *Layout, controllers []string) (mount, rel string, err error) {
	if len(controllers) == 0 {
		return "", "", errors.New("move thread: a hierarchy without controllers")
	}
	for _, h := range l.V1 {
		if !h.HasController(controllers[0]) {
			continue
		}
		mount = h.Mount
	}
	if mount == "" {
		return "", "", fmt.Errorf("move thread: no mount of %s", controllers[0])
	}
	for _, line := range strings.Split(string(listing), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 || f[0] == "0" {
			continue
		}
		for _, c := range strings.Split(f[1], ",") {
			if c == controllers[0] {
				if !strings.HasPrefix(f[2], "/") || strings.Contains(f[2], "/..") {
					return "", "", fmt.Errorf("move thread: cgroup path %q", f[2])
				}
				return mount, f[2], nil
			}
		}
	}
	return "", "", fmt.Errorf("move thread: not in a %s cgroup", controllers[0])
}

// Holds reports whether process pid is in g in every hierarchy (read
// from /proc/PID/cgroup: each path ends with the group's name).
func (g *Group) Holds(pid int) bool {
	if g.err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		return false
	}
	in := func(p string) bool { return p == "/"+g.name || strings.HasSuffix(p, "/"+g.name) }
	lines := strings.Split(string(b), "\n")
	for _, d := range g.v1 {
		found := false
		for _, line := range lines {
			f := strings.SplitN(line, ":", 3)
			if len(f) != 3 || f[0] == "0" || len(d.controllers) == 0 || !slices.Contains(strings.Split(f[1], ","), d.controllers[0]) {
				continue
			}
			found = in(f[2])
		}
		if !found {
			return false
		}
	}
	if g.v2 != nil {
		found := false
		for _, line := range lines {
			if p, ok := strings.CutPrefix(line, "0::"); ok {
				found = in(p)
			}
		}
		if !found {
			return false
		}
	}
	return true
}
