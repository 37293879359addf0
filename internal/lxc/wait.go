package lxc

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/monitor"
)

// States are the states lxc-wait and lxc-monitor know, as LXC names them.
var States = []string{monitor.Stopped, monitor.Starting, monitor.Running, monitor.Stopping,
	monitor.Aborting, monitor.Freezing, monitor.Frozen, monitor.Thawed}

// ErrWaitTimeout is WaitState's timeout.
var ErrWaitTimeout = errors.New("timed out")

// WaitState returns the first of states the container is in or gets to,
// as its monitor tells each change (no polling); timeout < 0 waits for
// ever. A container with no monitor is STOPPED, and one that is not
// running yet is waited for through inotify on the monitors' socket
// directory until its monitor's socket appears.
func (c *Container) WaitState(states []string, timeout time.Duration) (string, error) {
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	history := false
	for {
		conn, err := c.dial()
		if errors.Is(err, monitor.ErrNotRunning) {
			if slices.Contains(states, monitor.Stopped) {
				return monitor.Stopped, nil
			}
			if err := waitForSocket(monitor.SocketPath(c.LXCPath, c.Name), deadline); err != nil {
				return "", err
			}
			// Started since: its first states count.
			history = true
			continue
		}
		if err != nil {
			return "", err
		}
		var got string
		err = conn.Watch(history, deadline, func(r *monitor.Response) bool {
			if slices.Contains(states, r.State) {
				got = r.State
				return false
			}
			return true
		})
		conn.Close()
		switch {
		case got != "":
			return got, nil
		case errors.Is(err, os.ErrDeadlineExceeded):
			return "", ErrWaitTimeout
		case err != nil && !errors.Is(err, io.EOF):
			return "", err
		}
		// The monitor told STOPPED, or exited: the container may start
		// again, with a new monitor.
		if slices.Contains(states, monitor.Stopped) {
			return monitor.Stopped, nil
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return "", ErrWaitTimeout
		}
		history = true
	}
}

// waitForSocket returns once a monitor listens at path (a command socket,
// made by bind), or with ErrWaitTimeout at deadline (zero: none). It
// sleeps on inotify events of the socket directory and tries the socket
// only when one of that name is made: a stale socket file a killed
// monitor left does not make it spin.
func waitForSocket(path string, deadline time.Time) error {
	dir, base := filepath.Split(path)
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC)
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	defer unix.Close(fd)
	if _, err := monitor.PrepareSocketDir(); err != nil {
		return err
	}
	if _, err := unix.InotifyAddWatch(fd, dir, unix.IN_CREATE|unix.IN_MOVED_TO); err != nil {
		return fmt.Errorf("watch %s: %w", dir, err)
	}
	listening := func() bool {
		c, err := monitor.DialPath(path, base)
		if err != nil {
			return false
		}
		c.Close()
		return true
	}
	// Tried after the watch is in place: a monitor that came in between
	// is not missed.
	if listening() {
		return nil
	}
	buf := make([]byte, 64<<10)
	for {
		ms := -1
		if !deadline.IsZero() {
			left := time.Until(deadline)
			if left <= 0 {
				return ErrWaitTimeout
			}
			ms = int(left.Milliseconds()) + 1
		}
		names, err := readInotify(fd, buf, ms)
		if err != nil {
			return err
		}
		for _, name := range names {
			if name != base {
				continue
			}
			// The file comes at bind, the listening at listen(2) just
			// after: a refusal in between is retried briefly.
			for i := 0; i < 20; i++ {
				if listening() {
					return nil
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	}
}

// inotifyNames are the file names of the inotify events in b.
// readInotify waits up to ms milliseconds (-1: for ever) on the inotify
// descriptor fd and returns the names of the events read into buf; none
// when the wait ends without any.
func readInotify(fd int, buf []byte, ms int) ([]string, error) {
	fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	if _, err := unix.Poll(fds, ms); err != nil && err != unix.EINTR {
		return nil, fmt.Errorf("poll inotify: %w", err)
	}
	if fds[0].Revents&unix.POLLIN == 0 {
		return nil, nil
	}
	n, err := unix.Read(fd, buf)
	if err == unix.EAGAIN || err == unix.EINTR {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read inotify: %w", err)
	}
	return inotifyNames(buf[:n]), nil
}

func inotifyNames(b []byte) []string {
	var names []string
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(b) {
			break
		}
		name := b[unix.SizeofInotifyEvent:end]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		names = append(names, string(name))
		b = b[end:]
	}
	return names
}
