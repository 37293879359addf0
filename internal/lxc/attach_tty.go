package lxc

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/namespace"
)

// attachTerminal is the pty lxc-attach gives an attached command in place
// of the caller's terminal: a host terminal fd inside the container
// would let it type into the host's shell (TIOCSTI) or read what the
// host types after lxc-attach exits.
type attachTerminal struct {
	master *os.File
	slave  *os.File // closed once the helper has it
	isTTY  [3]bool  // which of the caller's fds 0, 1, 2 are terminals
	size   int      // the caller's terminal the pty's size follows
	log    *os.File // -L: gets a copy of what the command writes, or nil
}

// openAttachTerminal allocates a pty in the container's own devpts when
// any of the caller's standard fds is a terminal, as LXC's lxc-attach
// does; nil when none is. The slave is set up like the caller's
// terminal (modes, size).
func openAttachTerminal(proc *namespace.Proc) (*attachTerminal, error) {
	t := &attachTerminal{size: -1}
	any := false
	for i := range t.isTTY {
		if _, err := unix.IoctlGetTermios(i, unix.TCGETS); err == nil {
			t.isTTY[i] = true
			any = true
			if t.size < 0 {
				t.size = i
			}
		}
	}
	if !any {
		return nil, nil
	}
	master, err := openPtmx(proc)
	if err != nil {
		return nil, fmt.Errorf("allocate a pty in the container's devpts (stdin, stdout and stderr not being terminals needs none): %w", err)
	}
	t.master = os.NewFile(uintptr(master), "ptmx")
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		t.master.Close()
		return nil, fmt.Errorf("unlock pty: %w", err)
	}
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		t.master.Close()
		return nil, fmt.Errorf("open pty slave: %w", errno)
	}
	t.slave = os.NewFile(r, "pty slave")
	if tio, err := unix.IoctlGetTermios(t.size, unix.TCGETS); err == nil {
		_ = unix.IoctlSetTermios(int(r), unix.TCSETS, tio)
	}
	t.copySize()
	return t, nil
}

// openPtmx opens dev/pts/ptmx in the container's root, and only if it is
// the ptmx of a devpts: the path is resolved inside the root, then the
// file is checked through an O_PATH fd (opening a device has effects of
// its own) before it is opened for real.
func openPtmx(proc *namespace.Proc) (int, error) {
	pfd, err := proc.OpenInRoot("dev/pts/ptmx", unix.O_PATH|unix.O_NOFOLLOW)
	if err != nil {
		return -1, err
	}
	defer unix.Close(pfd)
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(pfd, &sfs); err != nil {
		return -1, fmt.Errorf("statfs dev/pts/ptmx: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return -1, fmt.Errorf("stat dev/pts/ptmx: %w", err)
	}
	if sfs.Type != unix.DEVPTS_SUPER_MAGIC || st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 5 || unix.Minor(st.Rdev) != 2 {
		return -1, errors.New("the container's dev/pts/ptmx is not a devpts ptmx")
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open the container's dev/pts/ptmx: %w", err)
	}
	return fd, nil
}

// copySize gives the pty the caller's terminal's size.
func (t *attachTerminal) copySize() {
	if ws, err := unix.IoctlGetWinsize(t.size, unix.TIOCGWINSZ); err == nil {
		_ = unix.IoctlSetWinsize(int(t.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// Close closes both ends.
func (t *attachTerminal) Close() {
	t.master.Close()
	t.slave.Close()
}

// proxy copies the caller's keys (stdin in raw mode, when it is a
// terminal) to the pty and the pty's output to the caller's terminal. The
// returned stop, called once the command has exited, drains what the
// command wrote, stops both copies and restores the caller's terminal.
func (t *attachTerminal) proxy() (stop func()) {
	master := int(t.master.Fd())
	var stopP [2]int
	if err := unix.Pipe2(stopP[:], unix.O_CLOEXEC); err != nil {
		return func() {}
	}
	out := -1
	for _, i := range []int{1, 2, 0} {
		if t.isTTY[i] {
			out = i
			break
		}
	}
	restore := func() {}
	if t.isTTY[0] {
		restore = rawTerminal(os.Stdin)
	}
	inDone, outDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(outDone)
		buf := make([]byte, 32<<10)
		fds := []unix.PollFd{{Fd: int32(master), Events: unix.POLLIN}, {Fd: int32(stopP[0]), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
				return
			}
			if fds[0].Revents != 0 {
				n, err := unix.Read(master, buf)
				if n > 0 {
					writeAll(out, buf[:n])
					t.logOutput(buf[:n])
				}
				if err != nil && err != unix.EINTR && err != unix.EAGAIN || n == 0 && err == nil {
					return // EIO: no slave is open any more
				}
				continue
			}
			if fds[1].Revents != 0 {
				// The command has exited: what it wrote is in the
				// pty's buffer (a read flushes pending input first).
				// Take it, without waiting for processes it left
				// holding the slave.
				_ = unix.SetNonblock(master, true)
				for {
					n, err := unix.Read(master, buf)
					if n > 0 {
						writeAll(out, buf[:n])
						t.logOutput(buf[:n])
					}
					if err == unix.EINTR {
						continue
					}
					if err != nil || n <= 0 {
						return
					}
				}
			}
		}
	}()
	go func() {
		defer close(inDone)
		if !t.isTTY[0] {
			return
		}
		buf := make([]byte, 32<<10)
		fds := []unix.PollFd{{Fd: 0, Events: unix.POLLIN}, {Fd: int32(stopP[0]), Events: unix.POLLIN}}
		for {
			if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
				return
			}
			if fds[1].Revents != 0 {
				return
			}
			if fds[0].Revents != 0 {
				n, err := unix.Read(0, buf)
				if err == unix.EINTR || err == unix.EAGAIN {
					continue
				}
				if err != nil || n == 0 {
					return
				}
				// Through the *os.File: if this copy is left behind
				// stuck in a write (stop below), the descriptor stays
				// open until the write returns, never reused.
				if _, err := t.master.Write(buf[:n]); err != nil {
					return
				}
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			unix.Close(stopP[1])
			<-outDone
			// The key copy stops at once unless it is stuck writing to a
			// pty nobody reads: it is then left behind, and so is
			// stopP[0] for its poll.
			select {
			case <-inDone:
				unix.Close(stopP[0])
			case <-time.After(100 * time.Millisecond):
			}
			restore()
		})
	}
}

// logOutput copies what the command wrote to the -L file, if any.
func (t *attachTerminal) logOutput(b []byte) {
	if t.log != nil {
		writeAll(int(t.log.Fd()), b)
	}
}

// writeAll writes b to fd, whole.
func writeAll(fd int, b []byte) {
	for len(b) > 0 {
		n, err := unix.Write(fd, b)
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		if err != nil {
			return
		}
		b = b[n:]
	}
}
