package lxc

import (
	"bytes"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
)

// layoutCache is the host's cgroup layout as a shared monitor last read
// it. Reading it (the whole mount table parsed, /proc/1/cgroup, the
// cgroup2 root's controllers) was a quarter of what a shared monitor
// allocated for each start and ~0.3 ms on the way to the container's
// clone; at 1000 containers the garbage alone made a collection every
// few dozen starts. It is read again whenever the mount table changed
// since (a hierarchy mounted or unmounted: the kernel tells a poll of
// the mountinfo file, POLLPRI, once per change) or PID 1's cgroups
// differ from those it was read with. Only root's: a user's layout
// depends on the user's own cgroup, which its monitor leaves.
type layoutCache struct {
	mu sync.Mutex
	// mounts is the mountinfo file, polled: a raw descriptor, never
	// handed to Go's poller, whose epoll would take the change event.
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
	fd, err := unix.Open("/proc/self/mountinfo", unix.O_RDONLY|unix.O_CLOEXEC, 0)
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
	if err != nil || changed || c.layout == nil || !bytes.Equal(pid1, c.pid1At) {
		l, err := c.detect()
		if err != nil {
			c.layout = nil
			return nil, err
		}
		c.layout, c.pid1At = l, pid1
	}
	return c.layout.Clone(), nil
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
