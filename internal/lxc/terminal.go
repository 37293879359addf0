package lxc

import (
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// rawTerminal puts a terminal in raw mode so that every key reaches the
// container's console (Ctrl-C included); it returns the undo. A
// non-terminal is left alone.
func rawTerminal(f *os.File) func() {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return func() {}
	}
	raw := *old
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN] = 1
	raw.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		return func() {}
	}
	return func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }
}

// foreground is the caller's side of a container that runs in the
// foreground (lxc-start -F, lxc-execute).
type foreground struct {
	// stdio is what the command of lxc-execute gets on 0, 1, 2: the
	// caller's own where it is not a terminal, nil (a pty of the
	// container's) where it is. lxc-start -F gives init the console.
	stdio [3]*os.File
	// terminal lists which of lxc-execute's standard descriptors are
	// terminals.
	terminal []int
	in       *os.File  // keys for the console; nil for none
	out      io.Writer // where the console's output goes
	size     *os.File  // the terminal whose window size the console follows
}

// executeStdio decides lxc-execute's stdio: a host terminal never crosses
// into the container (TIOCSTI on it types into the caller's shell, even
// with dev.tty.legacy_tiocsti=0 since the container's root has
// CAP_SYS_ADMIN), so each descriptor that is one is replaced by a pty of
// the container's devpts, which this process proxies; pipes and files pass
// through.
func executeStdio(stdin, stdout, stderr *os.File) *foreground {
	fg := &foreground{stdio: [3]*os.File{stdin, stdout, stderr}}
	for i, f := range fg.stdio {
		if isTTY(f) {
			fg.terminal = append(fg.terminal, i)
			fg.stdio[i] = nil
		}
	}
	if fg.stdio[0] == nil {
		fg.in = stdin
	}
	// The pty's output (the command's, and the echo of what is typed)
	// goes to the caller's terminal; stdin's, when no output descriptor
	// is one, as a terminal is usually open for writing too.
	for _, f := range []*os.File{stdout, stderr, stdin} {
		if isTTY(f) {
			fg.out = f
			break
		}
	}
	fg.size = firstTerminal(stdin, stdout, stderr)
	return fg
}

// isTTY says whether f is a terminal.
func isTTY(f *os.File) bool {
	if f == nil {
		return false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	tty := false
	_ = rc.Control(func(fd uintptr) {
		_, err := unix.IoctlGetTermios(int(fd), unix.TCGETS)
		tty = err == nil
	})
	return tty
}

// firstTerminal returns the first of files that is a terminal, or nil.
func firstTerminal(files ...any) *os.File {
	for _, v := range files {
		if f, ok := v.(*os.File); ok && isTTY(f) {
			return f
		}
	}
	return nil
}

// windowSize is f's window size as the spec carries it; nil for none.
func windowSize(f *os.File) *specs.Box {
	if f == nil {
		return nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil
	}
	var ws *unix.Winsize
	_ = rc.Control(func(fd uintptr) { ws, _ = unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ) })
	if ws == nil || ws.Row == 0 && ws.Col == 0 {
		return nil
	}
	return &specs.Box{Height: uint(ws.Row), Width: uint(ws.Col)}
}
