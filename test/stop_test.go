package test

import (
	"strings"
	"testing"
	"time"
)

func TestStopClean(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	pid := l.initPID(n)
	// busybox init halts on SIGUSR1 (the template's lxc.signal.halt).
	l.mustRun("lxc-stop", "-n", n)
	if s := l.state(n); s != "STOPPED" {
		t.Errorf("lxc-stop -n %s: returned with state %s, want STOPPED", n, s)
	}
	if alive(pid) {
		t.Errorf("lxc-stop -n %s: init %d still alive", n, pid)
	}
	assertNoCgroups(t, n, "lxc-stop")

	out, errs, code := l.run("lxc-stop", "-n", n)
	if code != 2 || !strings.Contains(errs, n+" is not running") {
		t.Errorf("lxc-stop -n %s (stopped): exit %d, want 2 and \"%s is not running\"\nstdout: %s\nstderr: %s", n, code, n, out, errs)
	}
	out, errs, code = l.run("lxc-stop", "-n", n, "-k")
	if code != 2 || !strings.Contains(errs, "is not running") {
		t.Errorf("lxc-stop -n %s -k (stopped): exit %d, want 2 and \"is not running\"\nstdout: %s\nstderr: %s", n, code, out, errs)
	}
}

func TestStopKill(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	pid := l.initPID(n)
	l.mustRun("lxc-stop", "-n", n, "-k")
	if s := l.state(n); s != "STOPPED" {
		t.Errorf("lxc-stop -n %s -k: state %s, want STOPPED", n, s)
	}
	if !waitFor(2*time.Second, func() bool { return !alive(pid) }) {
		t.Errorf("lxc-stop -n %s -k: init %d still alive", n, pid)
	}
	assertNoCgroups(t, n, "lxc-stop -k")
}

// TestStopTimeout: an init that ignores the halt signal is killed after -t.
func TestStopTimeout(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	// sh as pid 1 of its namespace with USR1 ignored: the halt does nothing.
	l.mustRun("lxc-start", "-n", n, "--", "/bin/sh", "-c", `trap "" USR1; while :; do sleep 1; done`)
	pid := l.initPID(n)
	l.mustRun("lxc-stop", "-n", n, "-t", "1")
	if s := l.state(n); s != "STOPPED" {
		t.Errorf("lxc-stop -n %s -t 1: state %s, want STOPPED", n, s)
	}
	if !waitFor(2*time.Second, func() bool { return !alive(pid) }) {
		t.Errorf("lxc-stop -n %s -t 1: init %d still alive", n, pid)
	}
	assertNoCgroups(t, n, "lxc-stop -t 1")
}

func TestStopReboot(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	pid := l.initPID(n)
	l.mustRun("lxc-stop", "-n", n, "-r")
	// busybox init reboots on SIGTERM; poll for the new init.
	l.waitRestarted(n, pid, 15*time.Second, "lxc-stop -n "+n+" -r")
	if alive(pid) {
		t.Errorf("lxc-stop -n %s -r: the old init %d is still alive", n, pid)
	}
	if got := strings.TrimSpace(l.attach(n, "hostname")); got != n {
		t.Errorf("after lxc-stop -r: lxc-attach -n %s -- hostname: %q", n, got)
	}
	if m := monitorPIDs(l.path, n); len(m) != 1 {
		t.Errorf("after lxc-stop -n %s -r: %d monitors %v, want 1", n, len(m), m)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	assertNoCgroups(t, n, "lxc-stop -r then -k")
}

func TestStopNoWait(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	l.mustRun("lxc-stop", "-n", n, "-W")
	l.waitState(n, "STOPPED", 10*time.Second)
	assertNoCgroups(t, n, "lxc-stop -W")
}

// TestInitRebootSyscall: reboot(2) in the container's pid namespace
// restarts the container; poweroff(2) stops it (pid_namespaces(7)).
func TestInitRebootSyscall(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	pid := l.initPID(n)
	// busybox reboot -f calls reboot(2) at once, without init's help.
	l.attach(n, "reboot", "-f")
	l.waitRestarted(n, pid, 15*time.Second, "lxc-attach -n "+n+" -- reboot -f")
	if got := strings.TrimSpace(l.attach(n, "hostname")); got != n {
		t.Errorf("after reboot(2): lxc-attach -n %s -- hostname: %q", n, got)
	}

	l.attach(n, "poweroff", "-f")
	l.waitState(n, "STOPPED", 15*time.Second)
	assertNoCgroups(t, n, "poweroff(2) in the container")
	if !waitFor(2*time.Second, func() bool { return len(monitorPIDs(l.path, n)) == 0 }) {
		t.Errorf("after poweroff(2) in %s: monitor still running: %v", n, monitorPIDs(l.path, n))
	}
}

// TestStopDuringReboot: lxc-stop -k while the monitor restarts a container
// that called reboot(2) must still stop it, not wait for ever.
func TestStopDuringReboot(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	// The window is short: try a few times.
	for i := 0; i < 6; i++ {
		l.mustRun("lxc-start", "-n", n)
		l.attach(n, "reboot", "-f")
		out, errs, code := l.runWith(runOpts{timeout: 10 * time.Second}, "lxc-stop", "-n", n, "-k")
		if code != 0 {
			t.Fatalf("try %d: lxc-attach -n %s -- reboot -f; lxc-stop -n %s -k: exit %d, want 0 (state now %s)\nstdout: %s\nstderr: %s", i, n, n, code, l.state(n), out, errs)
		}
		if s := l.state(n); s != "STOPPED" {
			t.Fatalf("try %d: lxc-attach -n %s -- reboot -f; lxc-stop -k returned 0 but the state is %s, want STOPPED", i, n, s)
		}
		assertNoCgroups(t, n, "reboot(2) then lxc-stop -k")
	}
}
