package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// debianCache is where the tests' debian template keeps its debootstrap
// of bookworm between runs: the first run downloads about 150 MB (a
// minute or more), later ones copy it (a few seconds).
const debianCache = "/var/cache/golxc-test/debian"

// debianCommon is Debian's common container config, which the template
// includes.
const debianCommon = "/usr/share/lxc/config/debian.common.conf"

// requireDebootstrap fails (not skips: CI installs it) without debootstrap.
func requireDebootstrap(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("debootstrap"); err != nil {
		if _, err := os.Stat("/usr/sbin/debootstrap"); err != nil {
			t.Fatal("debootstrap is not installed: apt-get install debootstrap (as .ci/run does)")
		}
	}
}

// createDebian makes a tracked bookworm container with golxc's debian
// template and the test cache, and returns its name and lxc-create's
// stdout.
func (l *lab) createDebian(extra ...string) (string, string) {
	l.t.Helper()
	requireDebootstrap(l.t)
	n := l.newContainer()
	args := append([]string{"-n", n, "-t", "debian", "-f", l.conf(), "--", "-r", "bookworm", "--cache", debianCache}, extra...)
	out, errs, code := l.runWith(runOpts{timeout: 30 * time.Minute}, "lxc-create", args...)
	if code != 0 {
		l.t.Fatalf("lxc-create -t debian: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	return n, out
}

// startDebian starts container n with its monitor's log at INFO in log.
// Its config includes Debian's common configs as they are, lxcfs's
// common.conf.d/00-lxcfs.conf hooks with them (lxcfs does not run here:
// its mount hook then mounts nothing, as under LXC).
func (l *lab) startDebian(n, log string) {
	l.t.Helper()
	out, errs, code := l.run("lxc-start", "-n", n, "-o", log, "-l", "INFO")
	if code != 0 {
		l.t.Fatalf("lxc-start -n %s: exit %d\nstdout: %s\nstderr: %s", n, code, out, errs)
	}
}

// waitSystemRunning waits for systemd in n to finish booting and fails
// unless it says "running", listing the failed units otherwise.
func (l *lab) waitSystemRunning(n, after string) {
	l.t.Helper()
	var state string
	ok := waitFor(60*time.Second, func() bool {
		// Until systemd's own socket is there, systemctl cannot ask.
		out, _, _ := runWith(l.t, runOpts{timeout: 70 * time.Second}, "lxc-attach", "-P", l.path, "-n", n, "--", "systemctl", "is-system-running", "--wait")
		state = strings.TrimSpace(out)
		return state == "running" || state == "degraded"
	})
	if !ok || state != "running" {
		failed, _, _ := l.run("lxc-attach", "-n", n, "--", "systemctl", "--failed", "--no-pager", "--full")
		l.t.Fatalf("%s: systemctl is-system-running: %q, want running\nfailed units:\n%s", after, state, failed)
	}
}

// initBlocks says whether pid blocks signal sig (SigBlk of its status).
func initBlocks(t *testing.T, pid, sig int) bool {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "SigBlk:"); ok {
			mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatalf("SigBlk of %d: %v", pid, err)
			}
			return mask&(1<<(sig-1)) != 0
		}
	}
	t.Fatalf("no SigBlk in /proc/%d/status", pid)
	return false
}

// consoleLogin logs in as root on tty (0: the console) of n through
// lxc-console on a terminal, runs a command and leaves with Ctrl+a q.
func (l *lab) consoleLogin(n string, tty int, password, wantTTY string) {
	t := l.t
	t.Helper()
	h := newHostTerminal(t, 24, 80)
	cmd, cancel := h.start(t, "lxc-console", "-P", l.path, "-n", n, "-t", strconv.Itoa(tty))
	defer cancel()
	h.expect(t, "Ctrl+a q", 10*time.Second)
	// agetty prints its prompt again for an empty line.
	h.send(t, "\r")
	h.expect(t, "login: ", 20*time.Second)
	h.send(t, "root\r")
	h.expect(t, "Password: ", 20*time.Second)
	h.send(t, password+"\r")
	// login flushes what was typed before the shell runs.
	h.expect(t, "root@"+n+":~# ", 20*time.Second)
	h.send(t, "echo LOGGED-$((6*7)) $(tty)\r")
	h.expect(t, "LOGGED-42 "+wantTTY, 20*time.Second)
	h.send(t, "exit\r")
	h.send(t, "\x01q")
	if code := exitCode(t, cmd); code != 0 {
		t.Fatalf("lxc-console -t %d after Ctrl+a q: exit %d\n%s", tty, code, h.out.String())
	}
}

// TestDebianSystemd makes a real Debian 12 container with golxc's debian
// template (debootstrap, cached in debianCache) and runs it as a sysadmin
// would under LXC: systemd boots to "running", a password set with
// lxc-attach passwd logs in on lxc-console's tty 1 and on the console,
// reboot inside and lxc-stop -r start it again, and lxc-stop halts it with SIGRTMIN+3
// (systemd blocks it and the config sets no lxc.signal.halt), not by a
// kill after the timeout; with lxc.signal.halt set, that signal is what
// init gets, as in LXC.
func TestDebianSystemd(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n, out := l.createDebian()
	dir := filepath.Join(l.path, n)

	// The template's promises: one line on the password, Debian's
	// common config, a hostname, DHCP on eth0, root locked.
	if want := "lxc-attach -n " + n + " passwd"; !strings.Contains(out, want) {
		t.Errorf("lxc-create -t debian said %q, want a line with %q", out, want)
	}
	cfg := readTrim(t, filepath.Join(dir, "config"))
	if _, err := os.Stat(debianCommon); err == nil && !strings.Contains(cfg, "lxc.include = "+debianCommon) {
		t.Errorf("config does not include %s:\n%s", debianCommon, cfg)
	}
	if got := readTrim(t, filepath.Join(dir, "rootfs/etc/hostname")); got != n {
		t.Errorf("rootfs/etc/hostname = %q, want %q", got, n)
	}
	if got := readTrim(t, filepath.Join(dir, "rootfs/etc/systemd/network/eth0.network")); !strings.Contains(got, "Name=eth0") || !strings.Contains(got, "DHCP=yes") {
		t.Errorf("eth0.network does not DHCP on eth0:\n%s", got)
	}
	shadow := readTrim(t, filepath.Join(dir, "rootfs/etc/shadow"))
	for _, line := range strings.Split(shadow, "\n") {
		if f := strings.Split(line, ":"); f[0] == "root" && len(f) > 1 && f[1] != "*" && !strings.HasPrefix(f[1], "!") {
			t.Errorf("root's password is not locked: %q", line)
		}
	}
	st, err := os.Stat(filepath.Join(dir, "rootfs"))
	if err != nil || st.Mode().Perm() != 0o755 {
		t.Errorf("rootfs mode: %v %v, want 0755 (users other than root must reach /)", st.Mode(), err)
	}

	log := filepath.Join(l.aux, "monitor.log")
	l.startDebian(n, log)
	l.waitState(n, "RUNNING", 10*time.Second)
	l.waitSystemRunning(n, "boot")
	pid := l.initPID(n)
	const sigRTMin3 = 37
	if !initBlocks(t, pid, sigRTMin3) {
		t.Errorf("systemd (pid %d) does not block SIGRTMIN+3: the halt below proves nothing", pid)
	}

	// A boot id of its own, new each boot, as LXC gives: systemd's
	// journal tells boots (and containers) apart by it.
	hostBoot := readTrim(t, "/proc/sys/kernel/random/boot_id")
	boot := strings.TrimSpace(l.attach(n, "cat", "/proc/sys/kernel/random/boot_id"))
	if boot == hostBoot || len(boot) != 36 {
		t.Errorf("boot id in the container %q, the host's %q: want one of its own", boot, hostBoot)
	}

	// A password set through lxc-attach, then a login on tty 1 and on
	// the console.
	if out, errs, code := l.runWith(runOpts{stdin: "debian-pw\ndebian-pw\n"}, "lxc-attach", "-n", n, "--", "passwd"); code != 0 {
		t.Fatalf("lxc-attach passwd: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}
	l.consoleLogin(n, 1, "debian-pw", "/dev/tty1")
	l.consoleLogin(n, 0, "debian-pw", "/dev/console")

	// reboot inside: init ends by SIGHUP (reboot(2) in a pid namespace),
	// the monitor starts it again, and it boots to running once more.
	l.run("lxc-attach", "-n", n, "--", "reboot")
	pid = l.waitRestarted(n, pid, 60*time.Second, "reboot inside")
	l.waitSystemRunning(n, "reboot")
	if again := strings.TrimSpace(l.attach(n, "cat", "/proc/sys/kernel/random/boot_id")); again == boot || again == hostBoot {
		t.Errorf("boot id after reboot inside %q (before: %q, host: %q): want a new one", again, boot, hostBoot)
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), "rebooted itself") {
		t.Errorf("monitor log after reboot inside:\n%s", b)
	}

	// lxc-stop -r: lxc.signal.reboot (SIGINT: systemd's ctrl-alt-del,
	// a reboot) and the same restart.
	l.mustRun("lxc-stop", "-n", n, "-r")
	pid = l.waitRestarted(n, pid, 60*time.Second, "lxc-stop -r")
	l.waitSystemRunning(n, "lxc-stop -r")

	// lxc-stop with the default timeout (60 s): halted by SIGRTMIN+3,
	// init gone by SIGINT (reboot(2) halt in a pid namespace), no kill.
	l.mustRun("lxc-stop", "-n", n)
	if st := l.state(n); st != "STOPPED" {
		t.Fatalf("after lxc-stop: %s", st)
	}
	b, _ := os.ReadFile(log)
	logText := string(b)
	if !strings.Contains(logText, fmt.Sprintf("sent SIGRTMIN+3 to init (pid %d)", pid)) || !strings.Contains(logText, "exited: killed by SIGINT") || strings.Contains(logText, "did not halt") {
		t.Fatalf("lxc-stop did not halt systemd with SIGRTMIN+3; monitor log:\n%s", logText)
	}

	// With lxc.signal.halt set, LXC sends that signal whatever init
	// blocks: systemd ignores SIGPWR, and the timeout kills it.
	l.setConfig(n, "lxc.signal.halt = SIGPWR")
	if err := os.Truncate(log, 0); err != nil {
		t.Fatal(err)
	}
	l.startDebian(n, log)
	l.waitSystemRunning(n, "boot with lxc.signal.halt = SIGPWR")
	l.mustRun("lxc-stop", "-n", n, "-t", "2")
	b, _ = os.ReadFile(log)
	if !strings.Contains(string(b), "sent SIGPWR") || !strings.Contains(string(b), "did not halt within 2s") {
		t.Errorf("lxc-stop -t 2 with lxc.signal.halt = SIGPWR: monitor log:\n%s", b)
	}
}

// TestDebianTemplateCache: concurrent creates share the cache (one
// debootstrap, under a lock), and a debootstrap that fails (an unreachable
// mirror) leaves no cache behind, only its one-line reason.
func TestDebianTemplateCache(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	requireDebootstrap(t)
	// On a cold cache one of the two debootstraps while the other waits
	// for the lock; on a warm one both copy at once.
	var wg sync.WaitGroup
	names := []string{l.newContainer(), l.newContainer()}
	codes := make([]int, len(names))
	errs := make([]string, len(names))
	for i, n := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i], codes[i] = l.runWith(runOpts{timeout: 30 * time.Minute}, "lxc-create", "-n", n, "-t", "debian", "-f", l.conf(), "--", "-r", "bookworm", "--cache", debianCache)
		}()
	}
	wg.Wait()
	for i, n := range names {
		if codes[i] != 0 {
			t.Errorf("concurrent lxc-create -t debian %s: exit %d: %s", n, codes[i], errs[i])
			continue
		}
		if _, err := os.Stat(filepath.Join(l.path, n, "rootfs/lib/systemd/systemd")); err != nil {
			t.Errorf("concurrent lxc-create -t debian %s: rootfs incomplete: %v", n, err)
		}
	}

	cache := filepath.Join(l.aux, "cache")
	n := l.newContainer()
	_, stderr, code := l.runWith(runOpts{timeout: 5 * time.Minute}, "lxc-create", "-n", n, "-t", "debian", "-f", l.conf(), "--", "-r", "bookworm", "--mirror", "http://127.0.0.1:9/debian", "--cache", cache)
	if code == 0 || !strings.Contains(stderr, "debootstrap of bookworm") || strings.Count(strings.TrimSpace(stderr), "\n") > 1 {
		t.Errorf("lxc-create -t debian from an unreachable mirror: exit %d, stderr %q; want one line naming debootstrap", code, stderr)
	}
	ents, _ := os.ReadDir(cache)
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".lock") {
			t.Errorf("a failed debootstrap left %s in the cache", e.Name())
		}
	}
	if _, err := os.Lstat(filepath.Join(l.path, n)); err == nil {
		t.Errorf("a failed debootstrap left the container %s", n)
	}
	if ents, _ := os.ReadDir(l.path); len(ents) > 0 {
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), ".") {
				t.Errorf("a failed debootstrap left %s in the lxcpath", e.Name())
			}
		}
	}

	// An interrupted create ends its debootstrap too (the template's
	// whole session) and leaves only a hidden scratch directory, which
	// the next build removes under the lock.
	icache := filepath.Join(l.aux, "icache")
	in := l.newContainer()
	cmd := exec.Command(filepath.Join(binDir(t), "lxc-create"), "-P", l.path, "-n", in, "-t", "debian", "-f", l.conf(), "--", "-r", "bookworm", "--cache", icache)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var debootstrap int
	waitFor(60*time.Second, func() bool {
		debootstrap = processWith("debootstrap", icache)
		return debootstrap > 0
	})
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	if debootstrap == 0 {
		t.Errorf("no debootstrap into %s seen within 60s", icache)
	} else if !waitFor(5*time.Second, func() bool { return !alive(debootstrap) }) {
		t.Errorf("debootstrap (pid %d) still runs after lxc-create was interrupted", debootstrap)
	}
	if _, err := os.Stat(filepath.Join(icache, "bookworm-amd64")); err == nil {
		t.Errorf("an interrupted debootstrap left a cache that looks complete")
	}
	if _, err := os.Lstat(filepath.Join(l.path, in)); err == nil {
		t.Errorf("an interrupted lxc-create left the container %s", in)
	}

	for _, bad := range [][]string{{"-r", "../etc"}, {"--arch", "s390x"}, {"--cache", "relative"}, {"--bogus"}} {
		n := l.newContainer()
		_, stderr, code := l.run("lxc-create", append([]string{"-n", n, "-t", "debian", "-f", l.conf(), "--"}, bad...)...)
		if code == 0 || !strings.Contains(stderr, "lxc-debian: ") {
			t.Errorf("lxc-create -t debian -- %s: exit %d, stderr %q; want a refusal from lxc-debian", shellJoin(bad), code, stderr)
		}
	}
}

// processWith returns the pid of a process whose command line has both
// words, 0 when none.
func processWith(a, b string) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmdline), a) && strings.Contains(string(cmdline), b) {
			return pid
		}
	}
	return 0
}
