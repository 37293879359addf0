package test

import (
	"strings"
	"syscall"
	"testing"
	"time"
)

// sharedMonitors lists the pids of the shared monitor of lxcpath.
func sharedMonitors(lxcpath string) []int {
	var pids []int
	for _, pid := range pidsMentioning("[lxc monitor] " + lxcpath + " (shared)") {
		if strings.HasPrefix(cmdline(pid), "[lxc monitor] "+lxcpath+" (shared)") {
			pids = append(pids, pid)
		}
	}
	return pids
}

// The shared monitor (the default; GOLXC_SHARED_MONITOR=1 forces it): one
// process supervises every container of the lxcpath, each with the same
// tools' view as with its own monitor, and its death stops none.
func TestSharedMonitor(t *testing.T) {
	l := newLab(t)
	shared := runOpts{env: []string{"GOLXC_SHARED_MONITOR=1"}}
	t.Cleanup(func() {
		// Whatever happened, no shared monitor of this lab may survive it.
		if !waitFor(5*time.Second, func() bool { return len(sharedMonitors(l.path)) == 0 }) {
			for _, pid := range sharedMonitors(l.path) {
				t.Errorf("cleanup: shared monitor %d of %s still running; killing it", pid, l.path)
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	var names []string
	for i := 0; i < 3; i++ {
		names = append(names, l.createBusybox())
	}
	start := func(n string) {
		t.Helper()
		if out, errs, code := l.runWith(shared, "lxc-start", "-n", n); code != 0 {
			t.Fatalf("GOLXC_SHARED_MONITOR=1 lxc-start -n %s: exit %d\nstdout: %s\nstderr: %s", n, code, out, errs)
		}
	}
	for _, n := range names {
		start(n)
	}
	mons := sharedMonitors(l.path)
	if len(mons) != 1 {
		t.Fatalf("shared monitors of %s: %v, want exactly one for 3 containers", l.path, mons)
	}
	for _, n := range names {
		if st := l.state(n); st != "RUNNING" {
			t.Errorf("lxc-info -s -n %s: %s, want RUNNING", n, st)
		}
		if len(titledMonitors(l.path, n)) != 0 {
			t.Errorf("%s has a monitor process of its own under the shared monitor", n)
		}
	}
	if got := strings.TrimSpace(l.attach(names[1], "hostname")); got != names[1] {
		t.Errorf("lxc-attach -n %s -- hostname: %q", names[1], got)
	}
	// One stop leaves the others running.
	l.mustRun("lxc-stop", "-n", names[0], "-k")
	if st := l.state(names[0]); st != "STOPPED" {
		t.Errorf("after lxc-stop -k, %s is %s", names[0], st)
	}
	if st := l.state(names[1]); st != "RUNNING" {
		t.Errorf("stopping %s changed %s to %s", names[0], names[1], st)
	}
	if _, _, code := l.run("lxc-stop", "-n", names[0]); code != 2 {
		t.Errorf("lxc-stop of the stopped %s: exit %d, want 2", names[0], code)
	}
	// The shared monitor killed: its containers run on, and the next
	// tool brings up a new shared monitor that adopts them.
	inits := []int{l.initPID(names[1]), l.initPID(names[2])}
	mstart, _ := procStart(mons[0])
	if err := syscall.Kill(mons[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, mons[0], mstart, "kill -9 of the shared monitor")
	for i, n := range names[1:] {
		if got := l.initPID(n); got != inits[i] {
			t.Errorf("%s after kill -9 of the shared monitor: init %d, want %d", n, got, inits[i])
		}
	}
	if got := sharedMonitors(l.path); len(got) != 1 || got[0] == mons[0] {
		t.Errorf("shared monitors after the re-adoption: %v, want one new one", got)
	}
	l.mustRun("lxc-stop", "-n", names[1], "-k")
	start(names[0])
	if st := l.state(names[0]); st != "RUNNING" {
		t.Errorf("start of %s under the new shared monitor: %s", names[0], st)
	}
	for _, n := range []string{names[0], names[2]} {
		l.mustRun("lxc-stop", "-n", n)
	}
	// With nothing left to supervise the shared monitor goes away.
	if !waitFor(10*time.Second, func() bool { return len(sharedMonitors(l.path)) == 0 }) {
		t.Errorf("shared monitor of %s still running with no container: %v", l.path, sharedMonitors(l.path))
	}
	for _, n := range names {
		if left := waitNoCgroups(n, 2*time.Second); len(left) > 0 {
			t.Errorf("cgroups of %s left: %v", n, left)
		}
	}
}
