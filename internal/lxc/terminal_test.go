package lxc

import (
	"os"
	"slices"
	"testing"

	"golang.org/x/sys/unix"
)

// openPTY returns both ends of a new pty of the host's, sized rows x cols.
func openPTY(t *testing.T, rows, cols uint16) (master, slave *os.File) {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Skipf("no pty: %v", err)
	}
	master = os.NewFile(uintptr(fd), "ptmx")
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatal(err)
	}
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		t.Fatal(errno)
	}
	slave = os.NewFile(sfd, "pty")
	t.Cleanup(func() { slave.Close() })
	return master, slave
}

func TestExecuteStdio(t *testing.T) {
	_, tty := openPTY(t, 31, 97)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, tc := range []struct {
		name                  string
		stdin, stdout, stderr *os.File
		terminal              []int
		in, out               *os.File
	}{
		{"all pipes", r, w, w, nil, nil, nil},
		{"all terminal", tty, tty, tty, []int{0, 1, 2}, tty, tty},
		{"stdout to a pipe", tty, w, tty, []int{0, 2}, tty, tty},
		{"stdin from a pipe", r, tty, w, []int{1}, nil, tty},
		{"only stdin a terminal", tty, w, w, []int{0}, tty, tty},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fg := executeStdio(tc.stdin, tc.stdout, tc.stderr)
			if !slices.Equal(fg.terminal, tc.terminal) {
				t.Errorf("terminal fds %v, want %v", fg.terminal, tc.terminal)
			}
			// No terminal is handed on; everything else is, as given.
			for i, f := range []*os.File{tc.stdin, tc.stdout, tc.stderr} {
				want := f
				if f == tty {
					want = nil
				}
				if fg.stdio[i] != want {
					t.Errorf("fd %d: passes %v, want %v", i, fg.stdio[i], want)
				}
			}
			if fg.in != tc.in {
				t.Errorf("keys from %v, want %v", fg.in, tc.in)
			}
			if out, _ := fg.out.(*os.File); out != tc.out {
				t.Errorf("output to %v, want %v", fg.out, tc.out)
			}
			size := windowSize(fg.size)
			switch {
			case tc.terminal == nil && size != nil:
				t.Errorf("window size %+v without a terminal", size)
			case tc.terminal != nil && (size == nil || size.Height != 31 || size.Width != 97):
				t.Errorf("window size %+v, want 31 x 97", size)
			}
		})
	}
}
