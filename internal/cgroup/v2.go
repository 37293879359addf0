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
// "frozen 1"; the kernel signals each change of that file as a modify
// event (Documentation/admin-guide/cgroup-v2.rst), so it waits on inotify.
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

// waitUntil returns when cond reports true, cond fails or ctx ends. With
// a watch file it sleeps on inotify modify events of that file (a short
// poll timeout still notices ctx); without one, or if inotify fails, it
// polls with a growing delay. cond is checked first, so a condition that
// already holds costs no sleep.
func waitUntil(ctx context.Context, watch string, cond func() (bool, error)) error {
	fd := -1
	if watch != "" {
		if ifd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK); err == nil {
			if _, err := unix.InotifyAddWatch(ifd, watch, unix.IN_MODIFY); err == nil {
				fd = ifd
			} else {
				unix.Close(ifd)
			}
		}
	}
	if fd >= 0 {
		defer unix.Close(fd)
	}
	delay := time.Millisecond
	buf := make([]byte, 4096)
	for {
		ok, err := cond()
		if err != nil || ok {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if fd < 0 {
			t := time.NewTimer(delay)
			select {
			case <-ctx.Done():
				t.Stop()
				return ctx.Err()
			case <-t.C:
			}
			delay = min(2*delay, 50*time.Millisecond)
			continue
		}
		ms := 50
		if dl, ok := ctx.Deadline(); ok {
			ms = int(min(time.Until(dl), 50*time.Millisecond) / time.Millisecond)
			ms = max(ms, 1)
		}
		_, err = unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, ms)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("poll inotify on %s: %w", watch, err)
		}
		for { // drain; only the wake-up matters
			if n, err := unix.Read(fd, buf); n <= 0 || err != nil {
				break
			}
		}
	}
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
