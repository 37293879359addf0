package lxc

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
)

// layoutCache is the host's cgroup layout as a process that starts many
// containers (the shared monitor, one run of lxc-autostart) last read
// it. Reading it (the whole mount table parsed, /proc/1/cgroup, the
// cgroup2 base's controllers) was a quarter of what a shared monitor
// allocated for each start; at 1000 containers the garbage alone made a
// collection every few dozen starts. It is read again whenever the
// mount table changed since the last start (a hierarchy mounted or
// unmounted: poll(2) of the mountinfo file says POLLPRI), PID 1's
// cgroups differ from those it was read with, or the cgroup2 base's
// cgroup.controllers does (a manager above a nested host's base changes
// its subtree_control; a v1 hierarchy's controller comes back to cgroup2
// once its last cgroup is gone, after the unmount). Only root's: a
// user's layout depends on the user's own cgroup, which its monitor
// leaves.
type layoutCache struct {
	mu sync.Mutex
	// mounts is the mountinfo file, polled: a descriptor of its own,
	// polled by nobody else (each poll that reports a change resets it).
	mounts int
	pid1   string // where PID 1's cgroups are read from
	// detect reads the layout (cgroup.Detect; a test's counter).
	detect func() (*cgroup.Layout, error)
	layout *cgroup.Layout
	pid1At []byte // PID 1's cgroups when layout was read
}

// newLayoutCache opens the mount table to watch; nil when the layout
// cannot be cached (not root, no /proc): each start then reads its own.
func newLayoutCache() *layoutCache {
	if os.Geteuid() != 0 {
		return nil
	}
	return openLayoutCache("/proc/self/mountinfo")
}

// openLayoutCache watches the mount table of mountinfo (a test's mount
// namespace: /proc/thread-self/mountinfo).
func openLayoutCache(mountinfo string) *layoutCache {
	fd, err := unix.Open(mountinfo, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	return &layoutCache{mounts: fd, pid1: "/proc/1/cgroup", detect: cgroup.Detect}
}

// Close releases the watched mount table.
func (c *layoutCache) Close() {
	if c != nil {
		unix.Close(c.mounts)
	}
}

// get returns the host's layout, a copy of its own for the caller: read
// anew when it may have changed. A nil cache reads it every time.
func (c *layoutCache) get() (*cgroup.Layout, error) {
	if c == nil {
		return cgroup.Detect()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	pid1, err := os.ReadFile(c.pid1)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c.pid1, err)
	}
	// Polled first: a change made while the layout is read is seen
	// at the next start.
	changed, err := c.mountsChanged()
	if err != nil || changed || c.layout == nil || !bytes.Equal(pid1, c.pid1At) || !c.sameControllers() {
		l, err := c.detect()
		if err != nil {
			c.layout = nil
			return nil, err
		}
		c.layout, c.pid1At = l, pid1
	}
	return c.layout.Clone(), nil
}

// sameControllers reports whether the cgroup2 base still offers the
// controllers the layout was read with (as cgroup.Detect reads them).
func (c *layoutCache) sameControllers() bool {
	if c.layout == nil || c.layout.Unified == "" {
		return true
	}
	b, err := os.ReadFile(filepath.Join(c.layout.Unified, "cgroup.controllers"))
	if errors.Is(err, fs.ErrNotExist) {
		// cgroup.Detect reads none then (a fixture tree).
		return len(c.layout.UnifiedControllers) == 0
	}
	return err == nil && slices.Equal(strings.Fields(string(b)), c.layout.UnifiedControllers)
}

// mountsChanged reports whether the mount table changed since the last
// call (or the open).
func (c *layoutCache) mountsChanged() (bool, error) {
	fds := []unix.PollFd{{Fd: int32(c.mounts), Events: unix.POLLPRI}}
	for {
		n, err := unix.Poll(fds, 0)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, fmt.Errorf("poll /proc/self/mountinfo: %w", err)
		}
		return n > 0 && fds[0].Revents&(unix.POLLPRI|unix.POLLERR) != 0, nil
	}
}
