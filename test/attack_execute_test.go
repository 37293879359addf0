package test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// hostTerminal is a pty of the host's, standing for the sysadmin's
// terminal: the tool runs on its slave, as its controlling terminal; the
// test reads what the tool writes from the master.
type hostTerminal struct {
	master, slave *os.File
	out           syncBuffer
	readerDone    chan struct{}
}

func newHostTerminal(t *testing.T, rows, cols uint16) *hostTerminal {
	t.Helper()
	fd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("open /dev/ptmx: %v", err)
	}
	master := os.NewFile(uintptr(fd), "ptmx")
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		master.Close()
		t.Fatalf("unlock pty: %v", err)
	}
	sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		master.Close()
		t.Fatalf("open pty slave: %v", errno)
	}
	h := &hostTerminal{master: master, slave: os.NewFile(sfd, "pty-slave"), readerDone: make(chan struct{})}
	t.Cleanup(func() {
		h.slave.Close()
		h.master.Close()
		<-h.readerDone
	})
	h.resize(t, rows, cols)
	go func() {
		defer close(h.readerDone)
		buf := make([]byte, 4096)
		for {
			n, err := h.master.Read(buf)
			h.out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	return h
}

func (h *hostTerminal) resize(t *testing.T, rows, cols uint16) {
	t.Helper()
	if err := unix.IoctlSetWinsize(int(h.master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: rows, Col: cols}); err != nil {
		t.Fatalf("set window size of the host pty: %v", err)
	}
}

func (h *hostTerminal) termios(t *testing.T) unix.Termios {
	t.Helper()
	tio, err := unix.IoctlGetTermios(int(h.slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatalf("get termios of the host pty: %v", err)
	}
	return *tio
}

// pendingInput returns what waits in the host terminal's input queue: what
// the sysadmin's shell would read (and run) next.
func (h *hostTerminal) pendingInput(t *testing.T) string {
	t.Helper()
	fd := int(h.slave.Fd())
	n, err := unix.IoctlGetInt(fd, unix.TIOCINQ)
	if err != nil {
		t.Fatalf("TIOCINQ on the host pty: %v", err)
	}
	if n == 0 {
		return ""
	}
	// Raw and non-blocking, to read whatever is there, complete line or not.
	tio := h.termios(t)
	raw := tio
	raw.Lflag &^= unix.ICANON
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 0, 0
	_ = unix.IoctlSetTermios(fd, unix.TCSETS, &raw)
	defer unix.IoctlSetTermios(fd, unix.TCSETS, &tio)
	buf := make([]byte, 4096)
	m, _ := unix.Read(fd, buf)
	if m < 0 {
		m = 0
	}
	return string(buf[:m])
}

// waitOutput waits until the host terminal has shown want.
func (h *hostTerminal) waitOutput(want string, timeout time.Duration) bool {
	return waitFor(timeout, func() bool { return strings.Contains(h.out.String(), want) })
}

// start runs a tool on the host terminal, as an interactive shell would:
// its stdin, stdout and stderr, and its controlling terminal.
func (h *hostTerminal) start(t *testing.T, tool string, args ...string) (*exec.Cmd, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), tool), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = h.slave, h.slave, h.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s %s: %v", tool, shellJoin(args), err)
	}
	return cmd, cancel
}

// exitCode waits for cmd and returns its exit code (-1 for a signal).
func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	default:
		t.Fatalf("wait for %s: %v", cmd.Path, err)
		return -1
	}
}

// assertTerminalSafe checks the host terminal after a tool ran on it and
// the container's root tried TIOCSTI: nothing typed into it, its modes
// put back.
func assertTerminalSafe(t *testing.T, h *hostTerminal, before unix.Termios, what string) {
	t.Helper()
	if in := h.pendingInput(t); in != "" {
		t.Errorf("%s: the container typed %q into the host's terminal (TIOCSTI through a host tty fd)", what, in)
	}
	after := h.termios(t)
	if after.Iflag != before.Iflag || after.Oflag != before.Oflag || after.Lflag != before.Lflag || after.Cflag != before.Cflag {
		t.Errorf("%s: host terminal modes not restored: before %+v, after %+v", what, before, after)
	}
}

// lxc-execute on a terminal: the command gets a pty of the container's
// own, never the caller's terminal, so TIOCSTI from inside cannot type
// into the host's shell; the proxy carries size, keys, output and status.
func TestAttackExecuteTerminal(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	l.installAttacker(n)

	t.Run("TIOCSTI", func(t *testing.T) {
		h := newHostTerminal(t, 37, 113)
		before := h.termios(t)
		cmd, cancel := h.start(t, "lxc-execute", "-P", l.path, "-n", n, "--", "/attacker", "inject")
		defer cancel()
		code := exitCode(t, cmd)
		h.waitOutput("done", 5*time.Second)
		out := h.out.String()
		if code != 0 || !strings.Contains(out, "done") {
			t.Fatalf("lxc-execute -- attacker inject on a terminal: exit %d, output %q", code, out)
		}
		for _, want := range []string{"fd0: container-tty", "fd1: container-tty", "fd2: container-tty", "/dev/tty: container-tty"} {
			if !strings.Contains(out, want) {
				t.Errorf("lxc-execute on a terminal: want %q (a pty of the container's devpts), got:\n%s", want, out)
			}
		}
		assertTerminalSafe(t, h, before, "lxc-execute -- attacker inject")
	})

	t.Run("proxy", func(t *testing.T) {
		h := newHostTerminal(t, 37, 113)
		before := h.termios(t)
		cmd, cancel := h.start(t, "lxc-execute", "-P", l.path, "-n", n, "--", "/attacker", "interact")
		defer cancel()
		if !h.waitOutput("ready", 20*time.Second) {
			cancel()
			cmd.Wait()
			t.Fatalf("lxc-execute -- attacker interact: no \"ready\"; output %q", h.out.String())
		}
		// Enter sends CR, as a terminal in raw mode does.
		if _, err := h.master.Write([]byte("typed line\rhello\r")); err != nil {
			t.Fatal(err)
		}
		if !h.waitOutput("winch-ready", 20*time.Second) {
			cancel()
			cmd.Wait()
			t.Fatalf("lxc-execute -- attacker interact: typed lines not read; output %q", h.out.String())
		}
		h.resize(t, 50, 140)
		code := exitCode(t, cmd)
		h.waitOutput("resized", 5*time.Second)
		out := h.out.String()
		if code != 7 {
			t.Errorf("lxc-execute -- attacker interact: exit %d, want the command's 7", code)
		}
		for _, want := range []string{"fd0: container-tty", "size: 37 113", "got: typed line", "got: hello", "resized: 50 140"} {
			if !strings.Contains(out, want) {
				t.Errorf("lxc-execute -- attacker interact: want %q in the output:\n%s", want, out)
			}
		}
		assertTerminalSafe(t, h, before, "lxc-execute -- attacker interact")
	})

	t.Run("signal-status", func(t *testing.T) {
		h := newHostTerminal(t, 24, 80)
		before := h.termios(t)
		cmd, cancel := h.start(t, "lxc-execute", "-P", l.path, "-n", n, "--", "/bin/sh", "-c", "kill -9 $$")
		defer cancel()
		if code := exitCode(t, cmd); code != 137 {
			t.Errorf("lxc-execute -- sh -c 'kill -9 $$' on a terminal: exit %d, want 137\noutput: %q", code, h.out.String())
		}
		assertTerminalSafe(t, h, before, "lxc-execute -- sh -c 'kill -9 $$'")
		// A start that fails puts the terminal back too.
		cmd, cancel = h.start(t, "lxc-execute", "-P", l.path, "-n", n, "-s", "lxc.bogus.key=1", "--", "true")
		defer cancel()
		if code := exitCode(t, cmd); code == 0 {
			t.Errorf("lxc-execute -s lxc.bogus.key=1: exit 0, want a failure")
		}
		assertTerminalSafe(t, h, before, "lxc-execute -s lxc.bogus.key=1 (a failed start)")
	})

	t.Run("controlling-terminal", func(t *testing.T) {
		// The caller's terminal is its controlling terminal even when no
		// standard descriptor is on it: the container's /dev/tty must
		// not lead there.
		h := newHostTerminal(t, 24, 80)
		ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-execute"), "-P", l.path, "-n", n, "--", "/attacker", "inject")
		var stdout syncBuffer
		cmd.Stdout = &stdout
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 3}
		cmd.ExtraFiles = []*os.File{h.slave}
		if err := cmd.Run(); err != nil {
			t.Fatalf("lxc-execute -- attacker inject, the terminal only its controlling one: %v", err)
		}
		if out := stdout.String(); !strings.Contains(out, "/dev/tty: open /dev/tty: no such device or address") {
			t.Errorf("lxc-execute with a controlling terminal but no tty on stdio: the container's /dev/tty opened:\n%s", out)
		}
		assertTerminalSafe(t, h, h.termios(t), "lxc-execute -- attacker inject </dev/null >pipe")
	})

	t.Run("ctrl-c", func(t *testing.T) {
		// Ctrl-C is a key like any other: the container's terminal turns
		// it into SIGINT for the command.
		h := newHostTerminal(t, 24, 80)
		cmd, cancel := h.start(t, "lxc-execute", "-P", l.path, "-n", n, "--", "/bin/sh", "-c", "echo ready; exec sleep 30")
		defer cancel()
		if !h.waitOutput("ready", 20*time.Second) {
			cancel()
			cmd.Wait()
			t.Fatalf("lxc-execute -- sh -c 'echo ready; exec sleep 30': no \"ready\"; output %q", h.out.String())
		}
		if _, err := h.master.Write([]byte{3}); err != nil {
			t.Fatal(err)
		}
		if code := exitCode(t, cmd); code != 130 {
			t.Errorf("lxc-execute -- sleep 30, Ctrl-C typed: exit %d, want 130 (SIGINT)\noutput: %q", code, h.out.String())
		}
	})

	t.Run("pipe-passes", func(t *testing.T) {
		// Only the descriptors that are terminals get the pty: a pipe on
		// stdout stays the caller's pipe.
		h := newHostTerminal(t, 24, 80)
		ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-execute"), "-P", l.path, "-n", n, "--", "/attacker", "inject")
		var stdout syncBuffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = h.slave, &stdout, h.slave
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
		before := h.termios(t)
		if err := cmd.Run(); err != nil {
			t.Fatalf("lxc-execute -- attacker inject >pipe: %v\nterminal: %q", err, h.out.String())
		}
		out := stdout.String()
		for _, want := range []string{"fd0: container-tty", "fd1: not-a-tty", "fd2: container-tty", "/dev/tty: container-tty", "done"} {
			if !strings.Contains(out, want) {
				t.Errorf("lxc-execute on a terminal, stdout a pipe: want %q, got:\n%s", want, out)
			}
		}
		assertTerminalSafe(t, h, before, "lxc-execute -- attacker inject >pipe")
	})

	t.Run("output-drained", func(t *testing.T) {
		// All of the command's output reaches the terminal before
		// lxc-execute exits, though the command exits right after it.
		h := newHostTerminal(t, 24, 80)
		cmd, cancel := h.start(t, "lxc-execute", "-P", l.path, "-n", n, "--", "/bin/sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line-$i; i=$((i+1)); done; echo END-OF-OUTPUT")
		defer cancel()
		if code := exitCode(t, cmd); code != 0 {
			t.Errorf("lxc-execute -- sh -c '<2000 lines>': exit %d", code)
		}
		// The tool has exited: what it wrote is in the host pty already.
		if !h.waitOutput("END-OF-OUTPUT", 2*time.Second) || !strings.Contains(h.out.String(), "line-1999") {
			out := h.out.String()
			t.Errorf("lxc-execute on a terminal lost output at exit: %d bytes, last %q", len(out), out[max(0, len(out)-200):])
		}
	})
}

// overlayMagic is OVERLAYFS_SUPER_MAGIC as the attacker prints it.
const overlayMagic = "0x794c7630"

// golxc's init, PID 1 of lxc-execute, runs from a sealed copy or from
// golxc's directory under a read-only overlay with no upper layer
// (namespace.ProtectedSelf), not the host's binary (CVE-2019-5736), and
// holds nothing of the host's.
func TestAttackExecutePID1(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	l.installAttacker(n)
	check := func(t *testing.T, out, what string) {
		t.Helper()
		host, _ := filepath.EvalSymlinks(filepath.Join(binDir(t), "golxc"))
		lines := strings.Split(strings.TrimSpace(out), "\n")
		var fds int
		for _, line := range lines {
			switch {
			case strings.HasPrefix(line, "exe: "):
				link := strings.TrimPrefix(line, "exe: ")
				if strings.Contains(link, host) || !strings.HasPrefix(link, "/memfd:") && !strings.Contains(out, "exefs: "+overlayMagic+" ") {
					t.Errorf("%s: /proc/1/exe is %q, want a memfd or golxc's read-only overlay (not the host's golxc)\n%s", what, link, out)
				}
			case strings.HasPrefix(line, "open-write: ok"), strings.HasPrefix(line, "truncate: ok"):
				t.Errorf("%s: PID 1's binary is writable from inside: %s", what, line)
			case strings.HasPrefix(line, "fd "):
				fds++
				// PID 1 needs no cgroup file at all; the attacker's own
				// Go runtime opens the container's.
				if !strings.Contains(line, ": anon ") && !strings.Contains(line, ": container ") || strings.HasPrefix(line, "fd 1/") && strings.Contains(line, "cgroup") {
					t.Errorf("%s: a descriptor of the host's in the container: %s", what, line)
				}
			}
		}
		if fds < 3 || !strings.Contains(out, "open-write: ") || !strings.Contains(out, "exe: ") {
			t.Errorf("%s: attacker exe said too little:\n%s", what, out)
		}
	}

	t.Run("pipes", func(t *testing.T) {
		out, errs, code := l.runWith(runOpts{stdin: "x\n"}, "lxc-execute", "-n", n, "--", "/attacker", "exe")
		if code != 0 {
			t.Fatalf("lxc-execute -- attacker exe: exit %d\n%s%s", code, out, errs)
		}
		check(t, out, "lxc-execute (stdio pipes)")
	})
	t.Run("terminal", func(t *testing.T) {
		h := newHostTerminal(t, 24, 80)
		cmd, cancel := h.start(t, "lxc-execute", "-P", l.path, "-n", n, "--", "/attacker", "exe")
		defer cancel()
		if code := exitCode(t, cmd); code != 0 {
			t.Fatalf("lxc-execute -- attacker exe on a terminal: exit %d\n%s", code, h.out.String())
		}
		h.waitOutput("fd self/2", 5*time.Second)
		check(t, strings.ReplaceAll(h.out.String(), "\r", ""), "lxc-execute (terminal)")
	})
}

// Root in lxc-execute's privileged container, holding PID 1's exe
// (golxc's init, from its read-only overlay or a sealed copy), tries
// every way of writing it: reopen, truncate, clearing the read-only flag
// of its mount or of a clone of it, a remount, reaching the directory
// beside it. Every one must fail and the host's golxc must be unchanged
// (CVE-2019-5736).
func TestAttackExecutePID1Exe(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	l.installAttacker(n)
	golxc, err := filepath.EvalSymlinks(filepath.Join(binDir(t), "golxc"))
	if err != nil {
		t.Fatal(err)
	}
	before := fileSum(t, golxc)
	out, errs, code := l.run("lxc-execute", "-n", n, "--", "/attacker", "exepid1")
	if code != 0 {
		t.Fatalf("lxc-execute -- attacker exepid1: exit %d\n%s%s", code, out, errs)
	}
	t.Logf("the attacker's report:\n%s", out)
	got := strings.Split(strings.TrimSpace(out), "\n")
	if len(got) < 3 || !strings.HasPrefix(got[0], "GRABBED ") || got[len(got)-1] != "done" {
		t.Fatalf("the attacker did not finish:\n%s", out)
	}
	for _, line := range got[1 : len(got)-1] {
		name, verdict, _ := strings.Cut(line, ": ")
		switch {
		case name == "clone" || name == "clone-setattr":
			// A clone of the mount is no harm by itself: what matters is
			// the write through it, checked on its own line.
		case verdict == "ok":
			t.Errorf("root in the container, holding PID 1's exe: %s worked\n%s", name, out)
		}
	}
	if after := fileSum(t, golxc); after != before {
		t.Errorf("%s changed under the attack", golxc)
	}
}

// lxc-start -F proxies the caller's terminal to the console: the
// container gets the console pty, never the caller's terminal, and
// without a console its /dev/tty leads nowhere.
func TestAttackStartForegroundTerminal(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	l.installAttacker(n)
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"console", nil, []string{"fd0: container-tty", "fd1: container-tty", "/dev/tty: container-tty"}},
		{"no-console", []string{"-s", "lxc.console.path=none"}, []string{"fd0: not-a-tty", "/dev/tty: open /dev/tty: no such device or address"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHostTerminal(t, 24, 80)
			before := h.termios(t)
			args := append([]string{"-P", l.path, "-n", n, "-F"}, tc.args...)
			args = append(args, "--", "/attacker", "inject", "/tmp/attack-report")
			report := filepath.Join(l.path, n, "rootfs", "tmp", "attack-report")
			os.Remove(report)
			cmd, cancel := h.start(t, "lxc-start", args...)
			defer cancel()
			code := exitCode(t, cmd)
			b, err := os.ReadFile(report)
			if code != 0 || err != nil || !strings.Contains(string(b), "done") {
				t.Fatalf("lxc-start -F %s -- attacker inject: exit %d, report %q (%v), terminal %q", shellJoin(tc.args), code, b, err, h.out.String())
			}
			for _, want := range tc.want {
				if !strings.Contains(string(b), want) {
					t.Errorf("lxc-start -F %s: want %q, got:\n%s", shellJoin(tc.args), want, b)
				}
			}
			assertTerminalSafe(t, h, before, "lxc-start -F "+shellJoin(tc.args)+" -- attacker inject")
		})
	}
}

// Without a console, init's stdio is the container's /dev/null, not the
// host's node, which the container's root could chmod through /proc/1/fd.
func TestAttackStartNullStdio(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	l.installAttacker(n)
	l.mustRun("lxc-start", "-n", n, "-s", "lxc.console.path=none")
	l.waitState(n, "RUNNING", 10*time.Second)
	out := l.attach(n, "/attacker", "exe")
	var fds int
	for _, line := range strings.Split(out, "\n") {
		if !strings.HasPrefix(line, "fd 1/") {
			continue
		}
		fds++
		if !strings.Contains(line, ": anon ") && !strings.Contains(line, ": container ") {
			t.Errorf("lxc-start -s lxc.console.path=none: init holds a descriptor of the host's: %s", line)
		}
	}
	if fds < 3 {
		t.Errorf("lxc-start -s lxc.console.path=none: init's descriptors not listed:\n%s", out)
	}
}

// lxc-start -F gives the console the caller's window size before init
// runs.
func TestStartForegroundConsoleSize(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	h := newHostTerminal(t, 33, 111)
	cmd, cancel := h.start(t, "lxc-start", "-P", l.path, "-n", n, "-F", "--", "/bin/sh", "-c", "echo size=$(stty size)")
	defer cancel()
	code := exitCode(t, cmd)
	if !h.waitOutput("size=33 111", 5*time.Second) || code != 0 {
		t.Errorf("lxc-start -F -- sh -c 'stty size' on a 33x111 terminal: exit %d, output %q", code, h.out.String())
	}
}

// lxc-execute's PID 1 is the only holder of golxc's read-only overlay
// while the container runs (its exe: the monitor keeps no descriptor of
// it, no mount table shows it), and the overlay goes with the container:
// after lxc-stop nothing of the host holds golxc on an overlay.
func TestExecuteExeOverlayLife(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	golxc, err := filepath.EvalSymlinks(filepath.Join(binDir(t), "golxc"))
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Stat(golxc, &st); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-execute"), "-P", l.path, "-n", n, "--", "/bin/sleep", "60")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		cmd.Wait()
	})
	l.waitState(n, "RUNNING", 10*time.Second)
	pid := l.initPID(n)
	holders := overlayHolders(st.Ino)
	var sfs unix.Statfs_t
	if err := unix.Statfs("/proc/"+strconv.Itoa(pid)+"/exe", &sfs); err != nil {
		t.Fatal(err)
	}
	if sfs.Type == unix.OVERLAYFS_SUPER_MAGIC {
		want := "/proc/" + strconv.Itoa(pid) + "/exe "
		if len(holders) != 1 || !strings.HasPrefix(holders[0], want) {
			t.Errorf("golxc's overlay is held by %q, want by PID 1 (%d)'s exe alone", holders, pid)
		}
	} else {
		t.Logf("PID 1 runs from a sealed copy here (filesystem %#x), not an overlay", sfs.Type)
	}
	host, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	inside := l.attach(n, "cat", "/proc/self/mountinfo")
	for what, table := range map[string]string{"the host's": string(host), "the container's": inside} {
		for _, line := range strings.Split(table, "\n") {
			if strings.Contains(line, " - overlay ") && strings.Contains(line, filepath.Dir(golxc)) {
				t.Errorf("%s mount table holds an overlay of golxc's directory: %s", what, line)
			}
		}
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	cmd.Wait()
	if !waitFor(5*time.Second, func() bool { return len(overlayHolders(st.Ino)) == 0 }) {
		t.Errorf("after lxc-stop, golxc's overlay is still held: %q", overlayHolders(st.Ino))
	}
}
