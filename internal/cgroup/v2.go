package cgroup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// v2Dir is a group's directory in the cgroup2 hierarchy.
type v2Dir struct {
	path string
}

// events parses cgroup.events ("populated 1\nfrozen 0").
func (d *v2Dir) events() (map[string]string, error) {
	s, err := readFile(filepath.Join(d.path, "cgroup.events"))
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), " ")
		if ok {
			m[k] = strings.TrimSpace(v)
		}
	}
	return m, nil
}

func (d *v2Dir) frozen() (bool, error) {
	ev, err := d.events()
	if err != nil {
		return false, err
	}
	return ev["frozen"] == "1", nil
}

// freeze writes 1 to cgroup.freeze and waits for cgroup.events to say
// "frozen 1"; the kernel signals each change of that file
// (Documentation/admin-guide/cgroup-v2.rst), so it sleeps in poll(2) on it.
func (d *v2Dir) freeze(ctx context.Context) error {
	events := filepath.Join(d.path, "cgroup.events")
	freeze := filepath.Join(d.path, "cgroup.freeze")
	if err := writeFile(freeze, "1"); err != nil {
		return err
	}
	if err := waitUntil(ctx, events, d.frozen); err != nil {
		_ = writeFile(freeze, "0") // do not leave it half frozen
		return fmt.Errorf("freeze %s: %w", d.path, err)
	}
	return nil
}

func (d *v2Dir) thaw() error {
	return writeFile(filepath.Join(d.path, "cgroup.freeze"), "0")
}

// kill writes cgroup.kill, which SIGKILLs every process in the cgroup and
// its descendants (Linux 5.14+). ok is false when the kernel lacks it.
func (d *v2Dir) kill() (ok bool, err error) {
	err = writeFile(filepath.Join(d.path, "cgroup.kill"), "1")
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// waitUntil returns when cond reports true, cond fails or ctx ends. cond
// is checked first, so a condition that already holds costs neither a
// sleep nor a file opened. Then it checks again after a short delay that
// doubles (from 100 µs up to 20 ms): the kernel stops the tasks of an idle
// group within a few hundred microseconds. With a watch file (a kernfs
// file such as cgroup.events) each delay is spent in ppoll(2) on that
// file, which the kernel wakes with POLLPRI at a change; the delay is
// still needed because cgroup2 sends at most one such notification per
// file every 10 ms (CGROUP_FILE_NOTIFY_MIN_INTV): a freeze right after a
// thaw would otherwise wait out the rest of those 10 ms. Not inotify:
// closing an inotify descriptor waits for an SRCU grace period, 2-30 ms on
// this kind of host, longer than the freeze itself.
func waitUntil(ctx context.Context, watch string, cond func() (bool, error)) error {
	ok, err := cond()
	if err != nil || ok {
		return err
	}
	fd := -1
	if watch != "" {
		if f, err := unix.Open(watch, unix.O_RDONLY|unix.O_CLOEXEC, 0); err == nil {
			fd = f
			defer unix.Close(fd)
		}
	}
	delay := 100 * time.Microsecond
	for {
		if fd >= 0 {
			// kernfs arms POLLPRI from the last read of this open
			// file; cond is checked after it, so a change between the
			// two is seen by cond or wakes the poll.
			armKernfs(fd)
			if ok, err := cond(); err != nil || ok {
				return err
			}
		}
		wait := delay
		if dl, ok := ctx.Deadline(); ok {
			wait = min(wait, time.Until(dl))
		}
		if err := ctx.Err(); err != nil || wait <= 0 {
			if err == nil {
				err = context.DeadlineExceeded
			}
			return err
		}
		if fd >= 0 {
			ts := unix.NsecToTimespec(wait.Nanoseconds())
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLPRI}}
			if _, err := unix.Ppoll(pfd, &ts, nil); err != nil && err != unix.EINTR {
				return fmt.Errorf("poll %s: %w", watch, err)
			}
		} else {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			if ok, err := cond(); err != nil || ok {
				return err
			}
		}
		delay = min(2*delay, 20*time.Millisecond)
	}
}

// armKernfs reads a kernfs file from its start: the read is what tells
// the kernel that this open file has seen the current contents, so that
// the next change wakes a poll on it.
func armKernfs(fd int) {
	var buf [256]byte
	_, _ = unix.Pread(fd, buf[:], 0)
}

// EnableControllers enables cgroup2 controllers for the children of the
// unified base by writing "+name" to its cgroup.subtree_control; a group's
// files such as memory.max exist only when the parent enables them.
// CreateGroup never does this, as it changes a directory the container does
// not own; a start does it for the controllers its lxc.cgroup2 keys name
// (EnableFor), as LXC does. On a systemd host the root already enables the
// usual ones.
func (l *Layout) EnableControllers(controllers ...string) error {
	if l.Unified == "" {
		return errors.New("enable cgroup2 controllers: no cgroup2 hierarchy is mounted")
	}
	return l.enableIn(l.Unified, controllers)
}

// enableIn enables controllers in dir's cgroup.subtree_control.
func (l *Layout) enableIn(dir string, controllers []string) error {
	p := filepath.Join(dir, "cgroup.subtree_control")
	cur, err := readFile(p)
	if err != nil {
		return err
	}
	enabled := strings.Fields(cur)
	var add []string
	for _, c := range controllers {
		if c == "" || strings.ContainsAny(c, " +-\n") {
			return fmt.Errorf("enable cgroup2 controllers: invalid name %q", c)
		}
		if !slices.Contains(l.UnifiedControllers, c) {
			return fmt.Errorf("enable cgroup2 controller %s: the host does not offer it here (not in %s)", c, filepath.Join(l.Unified, "cgroup.controllers"))
		}
		if !slices.Contains(enabled, c) {
			add = append(add, "+"+c)
		}
	}
	if len(add) == 0 {
		return nil
	}
	return writeFile(p, strings.Join(add, " "))
}
