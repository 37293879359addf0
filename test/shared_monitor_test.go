package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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

// TestSharedMonitorOtherBuild: lxc-start sends the spec in pack's form only
// to a shared monitor running this very binary file; to one of another
// file (a monitor started before an upgrade, here a copy of golxc) it
// sends JSON, and both starts work. Either way the record keeps the spec
// in JSON (it outlives the binary) and no packed form.
func TestSharedMonitorOtherBuild(t *testing.T) {
	l := newLab(t)
	a, b := l.createBusybox(), l.createBusybox()
	opts := runOpts{env: []string{"GOLXC_SHARED_MONITOR=1"}}
	logA, logB := filepath.Join(l.aux, "a.log"), filepath.Join(l.aux, "b.log")
	l.mustRunWith(opts, "lxc-start", "-n", a, "-o", logA, "-l", "DEBUG")
	other := filepath.Join(l.aux, "other")
	if err := os.Mkdir(other, 0o755); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(binDir(t), "golxc"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(other, "golxc"), src, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("golxc", filepath.Join(other, "lxc-start")); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(other, "lxc-start"), "-P", l.path, "-n", b, "-o", logB, "-l", "DEBUG")
	cmd.Env = append(os.Environ(), opts.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("lxc-start of another golxc file, to the shared monitor of %s: %v\n%s", binDir(t), err, out)
	}
	for log, want := range map[string]string{logA: "its spec came packed", logB: "its spec came in JSON"} {
		b, err := os.ReadFile(log)
		if err != nil || !strings.Contains(string(b), want) {
			t.Errorf("log %s does not say %q (%v):\n%s", log, want, err, b)
		}
	}
	for _, n := range []string{a, b} {
		if st := l.state(n); st != "RUNNING" {
			t.Errorf("%s: %s, want RUNNING", n, st)
		}
		req, err := os.ReadFile(strings.TrimSuffix(recordPath(l.path, n), ".run") + ".req")
		if err != nil {
			t.Fatalf("start request of %s: %v", n, err)
		}
		if !strings.Contains(string(req), `"spec":{"oci":`) || strings.Contains(string(req), "packedSpec") {
			t.Errorf("record of %s does not keep its spec in JSON alone: %.200s", n, req)
		}
	}
	if ma, mb := monitorPIDs(l.path, a), monitorPIDs(l.path, b); len(ma) != 1 || len(mb) != 1 || ma[0] != mb[0] {
		t.Errorf("%s and %s have monitors %v and %v, want the one shared monitor", a, b, ma, mb)
	}
	for _, n := range []string{a, b} {
		l.mustRun("lxc-stop", "-n", n, "-k")
	}
}

// TestSharedMonitorLargeRequest: start requests larger than the shared
// monitor's first read (8 KiB) and than a socket's send buffer (~200
// KiB), of configs with ~17 KiB and ~290 KiB of lxc.environment, are
// sent and read whole: each container starts with every variable, the
// last included.
func TestSharedMonitorLargeRequest(t *testing.T) {
	l := newLab(t)
	shared := runOpts{env: []string{"GOLXC_SHARED_MONITOR=1"}}
	for _, vars := range []int{150, 2600} {
		var lines []string
		for i := range vars {
			lines = append(lines, fmt.Sprintf("lxc.environment = GOLXC_BIG_%04d=%s", i, strings.Repeat("x", 100)))
		}
		n := l.createBusybox(lines...)
		if out, errs, code := l.runWith(shared, "lxc-start", "-n", n); code != 0 {
			t.Fatalf("lxc-start -n %s (%d variables): exit %d\nstdout: %s\nstderr: %s", n, vars, code, out, errs)
		}
		env := l.attach(n, "cat", "/proc/1/environ")
		last := fmt.Sprintf("GOLXC_BIG_%04d=%s", vars-1, strings.Repeat("x", 100))
		for _, v := range []string{"GOLXC_BIG_0000=", last} {
			if !strings.Contains(env, v) {
				t.Errorf("init of %s lacks %.20s... (environ is %d bytes)", n, v, len(env))
			}
		}
		l.mustRun("lxc-stop", "-n", n, "-k")
	}
	if got := len(sharedMonitors(l.path)); got > 1 {
		t.Errorf("%d shared monitors of %s, want at most 1", got, l.path)
	}
}
