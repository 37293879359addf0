package test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// rootPassword is the password the tests' busybox rootfs gets for root:
// "secret", as openssl passwd -6 -salt saltsalt makes it.
const rootPassword = "secret"
const rootShadow = `root:$6$saltsalt$TVLlQcbpFVof5W3Yz4DTP6gRstiNuHwwTt6GLc1E5n0U0aDehy0S5knV8wiOQSpT0Y77vwPZN.Pq.H91p5hVO1:19000:0:99999:7:::
nobody:*::0:99999:7:::
`

// setRootPassword gives root of container name's rootfs rootPassword.
func (l *lab) setRootPassword(name string) {
	l.t.Helper()
	if err := os.WriteFile(filepath.Join(l.path, name, "rootfs", "etc", "shadow"), []byte(rootShadow), 0o600); err != nil {
		l.t.Fatal(err)
	}
}

// setConfig appends lines to container name's config, after what its
// template wrote (the busybox template sets lxc.pty.max, and lxc.tty.max
// unless the -f config did).
func (l *lab) setConfig(name string, lines ...string) {
	l.t.Helper()
	f, err := os.OpenFile(filepath.Join(l.path, name, "config"), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		l.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(strings.Join(lines, "\n") + "\n"); err != nil {
		l.t.Fatal(err)
	}
}

// sameMode says whether two terminal settings are the same mode (what a
// sysadmin's shell relies on: line editing, echo, signals, output
// processing).
func sameMode(a, b unix.Termios) bool {
	return a.Iflag == b.Iflag && a.Oflag == b.Oflag && a.Lflag == b.Lflag && a.Cflag == b.Cflag
}

// send types s on the host terminal.
func (h *hostTerminal) send(t *testing.T, s string) {
	t.Helper()
	if _, err := h.master.Write([]byte(s)); err != nil {
		t.Fatalf("type on the host terminal: %v", err)
	}
}

// expect waits for want on the host terminal, failing with what it shows.
func (h *hostTerminal) expect(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	if !h.waitOutput(want, timeout) {
		t.Fatalf("the terminal did not show %q within %v; it shows:\n%s", want, timeout, h.out.String())
	}
}

// TestConsoleLoginOnTTY logs in on tty1 of a busybox container through
// lxc-console on a terminal (busybox init's getty, a password in the
// rootfs, lxc.tty.dir = lxc as the distro configs set it), runs a command,
// follows a resize, Ctrl-C's a sleep, leaves with Ctrl+a q and finds the
// terminal as it was.
func TestConsoleLoginOnTTY(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox("lxc.tty.dir = lxc")
	l.setRootPassword(n)
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)

	h := newHostTerminal(t, 24, 80)
	before := h.termios(t)
	cmd, cancel := h.start(t, "lxc-console", "-P", l.path, "-n", n, "-t", "1")
	defer cancel()
	h.expect(t, "Connected to tty 1", 5*time.Second)
	h.expect(t, "Type <Ctrl+a q> to exit the console, <Ctrl+a Ctrl+a> to enter Ctrl+a itself", time.Second)
	// getty may have printed its prompt before we came: ask again.
	h.send(t, "\r")
	h.expect(t, "login:", 10*time.Second)
	h.send(t, "root\r")
	h.expect(t, "Password:", 5*time.Second)
	h.send(t, rootPassword+"\r")
	h.expect(t, "# ", 5*time.Second)
	h.send(t, "echo sum=$((6*7)); tty\r")
	h.expect(t, "sum=42", 5*time.Second)
	h.expect(t, "/dev/lxc/tty1", 2*time.Second) // the tty under lxc.tty.dir, as under LXC

	// The new size reaches the tty (SIGWINCH to lxc-console, which sets
	// it on the tty).
	h.resize(t, 33, 91)
	time.Sleep(200 * time.Millisecond)
	h.send(t, "stty size\r")
	h.expect(t, "33 91", 5*time.Second)

	// Ctrl-C reaches the shell's foreground job, not lxc-console.
	h.send(t, "sleep 100\r")
	time.Sleep(300 * time.Millisecond)
	h.send(t, "\x03")
	h.send(t, "echo after=$((1+1))\r")
	h.expect(t, "after=2", 5*time.Second)

	// Ctrl+a Ctrl+a sends one Ctrl+a: the shell sees the byte (cat -v
	// shows it as ^A) and lxc-console stays.
	h.send(t, "cat -v\r")
	time.Sleep(200 * time.Millisecond)
	h.send(t, "\x01\x01x\r")
	h.expect(t, "^Ax", 5*time.Second)
	h.send(t, "\x04")

	h.send(t, "\x01q")
	if code := exitCode(t, cmd); code != 0 {
		t.Fatalf("lxc-console after Ctrl+a q: exit %d\n%s", code, h.out.String())
	}
	if after := h.termios(t); !sameMode(before, after) {
		t.Errorf("terminal mode after lxc-console: %+v, before: %+v", after, before)
	}
	if l.state(n) != "RUNNING" {
		t.Errorf("container stopped when lxc-console left")
	}
}

// TestConsoleBusyTTYAndStopUnderneath: a second lxc-console on a tty in
// use is refused (exit 1, as LXC), another tty is free for it, and a
// container stopping under an attached lxc-console ends it with the
// terminal restored.
func TestConsoleBusyTTYAndStopUnderneath(t *testing.T) {
	l := newLab(t)
	// The busybox template asks for one tty (its init runs one getty):
	// five, as LXC's template, to have a busy one and free ones.
	n := l.createBusybox("lxc.tty.max = 5")
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	h := newHostTerminal(t, 24, 80)
	before := h.termios(t)
	cmd, cancel := h.start(t, "lxc-console", "-P", l.path, "-n", n, "-t", "2", "-e", "^b")
	defer cancel()
	h.expect(t, "Connected to tty 2", 5*time.Second)
	h.expect(t, "Type <Ctrl+b q> to exit the console", time.Second)
	if raw := h.termios(t); raw.Lflag&unix.ICANON != 0 {
		t.Errorf("terminal not in raw mode while attached: lflag %#x", raw.Lflag)
	}

	_, errs, code := l.run("lxc-console", "-n", n, "-t", "2")
	if code != 1 || !strings.Contains(errs, "tty 2") || !strings.Contains(errs, "in use") {
		t.Errorf("second lxc-console -t 2: exit %d, stderr %q; want 1 and tty 2 in use", code, errs)
	}
	// Without -t the first free tty, counting from 1, as LXC picks.
	_, errs, code = l.runWith(runOpts{stdin: "\x01q"}, "lxc-console", "-n", n)
	if code != 0 || !strings.Contains(errs, "Connected to tty 1") {
		t.Errorf("lxc-console without -t while tty 2 is taken: exit %d, stderr %q; want tty 1", code, errs)
	}
	_, errs, code = l.run("lxc-console", "-n", n, "-t", "9")
	if code != 1 || !strings.Contains(errs, "no tty 9") {
		t.Errorf("lxc-console -t 9 of 5 ttys: exit %d, stderr %q", code, errs)
	}

	l.mustRun("lxc-stop", "-n", n, "-k")
	done := make(chan int, 1)
	go func() { done <- exitCode(t, cmd) }()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("lxc-console when the container stopped: exit %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("lxc-console still attached 5s after the container stopped\n%s", h.out.String())
	}
	if after := h.termios(t); !sameMode(before, after) {
		t.Errorf("terminal mode after the container stopped under lxc-console: %+v, before: %+v", after, before)
	}
}

// TestConsolePipe drives the console (tty 0, busybox's askfirst shell)
// with lxc-console's stdin and stdout as pipes: bytes in, bytes out, the
// session ending once the input has ended and the tty is quiet.
func TestConsolePipe(t *testing.T) {
	l := newLab(t)
	n := l.startBusybox()
	out, errs, code := l.runWith(runOpts{stdin: "\n", timeout: 20 * time.Second}, "lxc-console", "-n", n, "-t", "0")
	if code != 0 {
		t.Fatalf("lxc-console -t 0 with a pipe: exit %d\n%s", code, errs)
	}
	out, errs, code = l.runWith(runOpts{stdin: "echo piped=$((3+4))\n", timeout: 20 * time.Second}, "lxc-console", "-n", n, "-t", "0")
	if code != 0 || !strings.Contains(out, "piped=7") {
		t.Fatalf("lxc-console -t 0 with a pipe: exit %d, stdout %q, stderr %q; want piped=7", code, out, errs)
	}
}

// TestConsoleTTYDir checks lxc.tty.dir's layout against what LXC 5.0.2
// makes (ls -l /dev /dev/lxc in its busybox container): /dev/lxc/console
// and /dev/lxc/ttyN are the ptys, /dev/console the console too, /dev/ttyN
// symlinks to lxc/ttyN; and lxc.pty.max is devpts's max=, counting the
// console and ttys (LXC: lxc.pty.max + lxc.tty.max; golxc's console is in
// the container's devpts, one more).
func TestConsoleTTYDir(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox("lxc.tty.dir = lxc")
	l.setConfig(n, "lxc.tty.max = 3", "lxc.pty.max = 2")
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	out := l.attach(n, "sh", "-c", `for f in /dev/console /dev/lxc/console /dev/lxc/tty1 /dev/lxc/tty3 /dev/tty1 /dev/tty3; do
		if [ -L $f ]; then echo "$f -> $(readlink $f)"; else echo "$f $(stat -c %F:%t $f)"; fi; done
		ls /dev/lxc | tr '\n' ' '; echo; grep '^devpts /dev/pts ' /proc/mounts`)
	for _, want := range []string{
		"/dev/console character special file:88",
		"/dev/lxc/console character special file:88",
		"/dev/lxc/tty1 character special file:88",
		"/dev/lxc/tty3 character special file:88",
		"/dev/tty1 -> lxc/tty1",
		"/dev/tty3 -> lxc/tty3",
		"console tty1 tty2 tty3 \n",
		",max=6",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("lxc.tty.dir = lxc: want %q in:\n%s", want, out)
		}
	}
	// The console and /dev/lxc/console are one pty.
	same := l.attach(n, "sh", "-c", `[ "$(stat -c %t:%T /dev/console)" = "$(stat -c %t:%T /dev/lxc/console)" ] && echo same`)
	if !strings.Contains(same, "same") {
		t.Errorf("/dev/console and /dev/lxc/console are different devices")
	}
}

// TestConsoleLogAndBuffer: lxc.console.logfile stays within
// lxc.console.size (truncated, or rotated to FILE.1 with
// lxc.console.rotate), and the monitor's ring buffer
// (lxc.console.buffer.size) holds the latest output, readable and
// clearable with lxc-console --buffer [--clear].
func TestConsoleLogAndBuffer(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		t.Run(fmt.Sprintf("rotate=%v", rotate), func(t *testing.T) {
			l := newLab(t)
			logf := filepath.Join(l.aux, "console.log")
			r := "0"
			if rotate {
				r = "1"
			}
			n := l.createBusybox("lxc.console.logfile = "+logf, "lxc.console.size = 4KB", "lxc.console.rotate = "+r, "lxc.console.buffer.size = 4096")
			// 300 lines of 40 bytes: 12000 bytes, three times the caps.
			l.mustRun("lxc-start", "-n", n, "--", "/bin/sh", "-c",
				`i=0; while [ $i -lt 300 ]; do printf 'line-%03d-xxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n' $i; i=$((i+1)); done; echo end-of-output; exec sleep 1000`)
			l.waitState(n, "RUNNING", 10*time.Second)
			if !waitFor(5*time.Second, func() bool {
				b, _ := os.ReadFile(logf)
				return strings.Contains(string(b), "end-of-output")
			}) {
				b, _ := os.ReadFile(logf)
				t.Fatalf("console log has no end-of-output:\n%s", b)
			}
			st, err := os.Stat(logf)
			if err != nil {
				t.Fatal(err)
			}
			if st.Size() > 4096 {
				t.Errorf("console log is %d bytes, lxc.console.size = 4KB", st.Size())
			}
			_, err = os.Stat(logf + ".1")
			if rotate && err != nil {
				t.Errorf("lxc.console.rotate = 1: no %s.1: %v", logf, err)
			}
			if !rotate && err == nil {
				t.Errorf("lxc.console.rotate = 0: %s.1 was made", logf)
			}

			buf := l.mustRun("lxc-console", "-n", n, "--buffer")
			if len(buf) == 0 || len(buf) > 4096 || !strings.Contains(buf, "line-299") || !strings.HasSuffix(buf, "end-of-output\r\n") || strings.Contains(buf, "line-000") {
				t.Errorf("ring buffer: %d bytes, want at most 4096 ending with the last lines:\n%q", len(buf), buf)
			}
			l.mustRun("lxc-console", "-n", n, "--buffer", "--clear")
			if again := l.mustRun("lxc-console", "-n", n, "--buffer"); again != "" {
				t.Errorf("ring buffer after --clear: %q", again)
			}
		})
	}
}

// TestConsoleBufferNotConfigured: --buffer of a container without a ring
// buffer says which key makes one.
func TestConsoleBufferNotConfigured(t *testing.T) {
	l := newLab(t)
	n := l.startBusybox()
	_, errs, code := l.run("lxc-console", "-n", n, "--buffer")
	if code != 1 || !strings.Contains(errs, "lxc.console.buffer.size") {
		t.Errorf("--buffer without lxc.console.buffer.size: exit %d, stderr %q", code, errs)
	}
	_, errs, code = l.run("lxc-console", "-n", "nosuch")
	if code != 1 || !strings.Contains(errs, "not running") {
		t.Errorf("lxc-console of a container that is not running: exit %d, stderr %q", code, errs)
	}
}

// TestConsolePath: lxc.console.path = a host file gets the console's
// output; = none leaves the container without a console (lxc-console -t 0
// is refused).
func TestConsolePath(t *testing.T) {
	l := newLab(t)
	out := filepath.Join(l.aux, "console.out")
	n := l.createBusybox("lxc.console.path = " + out)
	l.mustRun("lxc-start", "-n", n, "--", "/bin/sh", "-c", "echo to-the-console-path; exec sleep 1000")
	if !waitFor(5*time.Second, func() bool {
		b, _ := os.ReadFile(out)
		return strings.Contains(string(b), "to-the-console-path")
	}) {
		b, _ := os.ReadFile(out)
		t.Errorf("lxc.console.path file: %q, want the console's output", b)
	}

	m := l.createBusybox("lxc.console.path = none")
	l.mustRun("lxc-start", "-n", m)
	l.waitState(m, "RUNNING", 10*time.Second)
	_, errs, code := l.run("lxc-console", "-n", m, "-t", "0")
	if code != 1 || !strings.Contains(errs, "no tty 0") {
		t.Errorf("lxc-console -t 0 with lxc.console.path = none: exit %d, stderr %q", code, errs)
	}
}

// TestConsolePtyShortage: a container asking for more ptys than
// kernel.pty.max leaves to containers is refused before any is taken,
// in one line that names kernel.pty.max and the count it asked for.
func TestConsolePtyShortage(t *testing.T) {
	l := newLab(t)
	limit := readTrim(t, "/proc/sys/kernel/pty/max")
	var max int
	fmt.Sscan(limit, &max)
	ttys := max + 1
	n := l.createBusybox()
	l.setConfig(n, fmt.Sprintf("lxc.tty.max = %d", ttys))
	before := readTrim(t, "/proc/sys/kernel/pty/nr")
	_, errs, code := l.run("lxc-start", "-n", n)
	if code == 0 {
		t.Fatalf("lxc-start with lxc.tty.max = %d: exit 0", ttys)
	}
	re := regexp.MustCompile(fmt.Sprintf(`asks for %d \(console \+ lxc\.tty\.max = %d\).*kernel\.pty\.max = %s`, ttys+1, ttys, limit))
	if !re.MatchString(errs) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("lxc-start with lxc.tty.max = %d: stderr %q, want one line matching %s", ttys, errs, re)
	}
	if after := readTrim(t, "/proc/sys/kernel/pty/nr"); len(after) > len(before)+1 {
		t.Errorf("kernel.pty.nr went from %s to %s: ptys were taken", before, after)
	}
}

// TestConsoleSignalAndReboot: lxc-console killed with SIGTERM restores
// the terminal; one attached while the container reboots ends (its tty
// is gone with the old init) with the terminal restored, and the new
// init's ttys are free again.
func TestConsoleSignalAndReboot(t *testing.T) {
	l := newLab(t)
	n := l.startBusybox()
	h := newHostTerminal(t, 24, 80)
	before := h.termios(t)

	cmd, cancel := h.start(t, "lxc-console", "-P", l.path, "-n", n, "-t", "1")
	defer cancel()
	h.expect(t, "Connected to tty 1", 5*time.Second)
	if err := cmd.Process.Signal(unix.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exitCode(t, cmd)
	if after := h.termios(t); !sameMode(before, after) {
		t.Errorf("terminal mode after SIGTERM to lxc-console: %+v, before: %+v", after, before)
	}

	cmd, cancel = h.start(t, "lxc-console", "-P", l.path, "-n", n, "-t", "1")
	defer cancel()
	if !waitFor(5*time.Second, func() bool { return strings.Count(h.out.String(), "Connected to tty 1") == 2 }) {
		t.Fatalf("second lxc-console did not connect:\n%s", h.out.String())
	}
	l.mustRun("lxc-stop", "-n", n, "-r")
	done := make(chan int, 1)
	go func() { done <- exitCode(t, cmd) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("lxc-console still attached 10s after a reboot")
	}
	if after := h.termios(t); !sameMode(before, after) {
		t.Errorf("terminal mode after a reboot under lxc-console: %+v, before: %+v", after, before)
	}
	l.waitState(n, "RUNNING", 10*time.Second)
	if _, errs, code := l.runWith(runOpts{stdin: "\x01q"}, "lxc-console", "-n", n, "-t", "1"); code != 0 {
		t.Errorf("lxc-console -t 1 after the reboot: exit %d, %s", code, errs)
	}
}
