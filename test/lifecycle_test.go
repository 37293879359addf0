package test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestLifecycle is the sysadmin's path: create, start, inspect, start
// again, stop, destroy.
func TestLifecycle(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	if s := l.state(n); s != "STOPPED" {
		t.Errorf("lxc-info -n %s -s after create: %s, want STOPPED", n, s)
	}
	l.mustRun("lxc-start", "-n", n)
	// -d returns once RUNNING: no polling here.
	if s := l.state(n); s != "RUNNING" {
		t.Fatalf("lxc-info -n %s -s right after lxc-start: %s, want RUNNING", n, s)
	}
	pid := l.initPID(n)
	if !alive(pid) {
		t.Errorf("lxc-info -n %s -p: init %d is not a live process", n, pid)
	}
	if len(cgroupDirs(n)) == 0 {
		t.Errorf("lxc-start -n %s: no lxc.payload.%s cgroups while running", n, n)
	}
	if got := strings.TrimSpace(l.attach(n, "hostname")); got != n {
		t.Errorf("lxc-attach -n %s -- hostname: %q, want %q", n, got, n)
	}

	out, errs, code := l.run("lxc-start", "-n", n)
	if code != 0 || !strings.Contains(errs, "is already running") {
		t.Errorf("lxc-start -n %s (second): exit %d, want 0 and \"is already running\"\nstdout: %s\nstderr: %s", n, code, out, errs)
	}
	if got := l.initPID(n); got != pid {
		t.Errorf("lxc-start -n %s (second): init pid %d, want it left alone (%d)", n, got, pid)
	}

	l.mustRun("lxc-stop", "-n", n)
	if s := l.state(n); s != "STOPPED" {
		t.Errorf("lxc-info -n %s -s after lxc-stop: %s, want STOPPED", n, s)
	}
	assertNoCgroups(t, n, "lxc-stop")
	if len(monitorPIDs(l.path, n)) > 0 {
		if !waitFor(2*time.Second, func() bool { return len(monitorPIDs(l.path, n)) == 0 }) {
			t.Errorf("lxc-stop -n %s: its monitor %v is still running", n, monitorPIDs(l.path, n))
		}
	}

	// A stopped container starts again.
	l.mustRun("lxc-start", "-n", n)
	if s := l.state(n); s != "RUNNING" {
		t.Errorf("lxc-start -n %s (restart): %s, want RUNNING", n, s)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	l.mustRun("lxc-destroy", "-n", n)
	l.assertEmptyLXCPath("lxc-destroy")
}

func TestStartDefine(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox("-s", "lxc.uts.name=other")
	if got := strings.TrimSpace(l.attach(n, "hostname")); got != "other" {
		t.Errorf("lxc-start -n %s -s lxc.uts.name=other; lxc-attach -- hostname: %q, want other", n, got)
	}
	// -s is for this start only.
	cfg := readTrim(t, filepath.Join(l.path, n, "config"))
	if strings.Contains(cfg, "other") {
		t.Errorf("lxc-start -s lxc.uts.name=other wrote the config:\n%s", cfg)
	}
}

// TestStartRCFile: lxc-start -f FILE uses FILE instead of the container's config.
func TestStartRCFile(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	cfg := readTrim(t, filepath.Join(l.path, n, "config"))
	rc := l.writeFile("rcfile", strings.ReplaceAll(cfg, "lxc.uts.name = "+n, "lxc.uts.name = fromrc")+"\n", 0o644)
	l.mustRun("lxc-start", "-n", n, "-f", rc)
	if got := strings.TrimSpace(l.attach(n, "hostname")); got != "fromrc" {
		t.Errorf("lxc-start -n %s -f %s (lxc.uts.name = fromrc); lxc-attach -- hostname: %q, want fromrc", n, rc, got)
	}
}

func TestStartFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		define string
		want   []string
	}{
		{"lxc.rootfs.path=/nonexistent", []string{"lxc.rootfs.path", "/nonexistent"}},
		{"lxc.init.cmd=/nope", []string{"/nope"}},
		{"lxc.cgroup.memory.limit_in_bytes=bogus", []string{"lxc.cgroup.memory.limit_in_bytes"}},
	}
	for _, c := range cases {
		t.Run(c.define, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			n := l.createBusybox()
			out, errs, code := l.run("lxc-start", "-n", n, "-s", c.define)
			if code != 1 {
				t.Errorf("lxc-start -n %s -s %s: exit %d, want 1\nstdout: %s\nstderr: %s", n, c.define, code, out, errs)
			}
			for _, w := range c.want {
				if !strings.Contains(errs, w) {
					t.Errorf("lxc-start -n %s -s %s: stderr lacks %q (the real cause)\nstderr: %s", n, c.define, w, errs)
				}
			}
			l.waitState(n, "STOPPED", 5*time.Second)
			assertNoCgroups(t, n, "lxc-start -s "+c.define)
			if !waitFor(2*time.Second, func() bool { return len(monitorPIDs(l.path, n)) == 0 }) {
				t.Errorf("lxc-start -n %s -s %s: a monitor is left: %v", n, c.define, monitorPIDs(l.path, n))
			}
			// The failure does not stick: a plain start works.
			l.mustRun("lxc-start", "-n", n)
			l.mustRun("lxc-stop", "-n", n, "-k")
		})
	}
}

// TestStartBadConfigKey: an unknown key in the container's config is an
// error naming the file, the line and the key.
func TestStartBadConfigKey(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	cfgPath := filepath.Join(l.path, n, "config")
	cfg := readTrim(t, cfgPath)
	line := strconv.Itoa(len(strings.Split(cfg, "\n")) + 1)
	if err := os.WriteFile(cfgPath, []byte(cfg+"\nlxc.foo = 1\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	out, errs, code := l.run("lxc-start", "-n", n)
	if code != 1 || !strings.Contains(errs, "lxc.foo") || !strings.Contains(errs, cfgPath) || !strings.Contains(errs, line) {
		t.Errorf("lxc-start -n %s with lxc.foo at %s:%s: exit %d, want 1 and an error naming file, line and key\nstdout: %s\nstderr: %s", n, cfgPath, line, code, out, errs)
	}
	// lxc-info refuses a config that does not load, as LXC's does: no
	// monitor is what says it did not start.
	if m := monitorPIDs(l.path, n); len(m) > 0 {
		t.Errorf("lxc-start -n %s (bad config): monitors %v running", n, m)
	}
	assertNoCgroups(t, n, "lxc-start with a bad config")
}

// TestSameNameTwoLXCPaths: one name in two lxcpaths runs twice, the second
// in lxc.payload.<name>-1 as LXC does, and each stops alone.
func TestSameNameTwoLXCPaths(t *testing.T) {
	t.Parallel()
	l1 := newLab(t)
	l2 := newLab(t)
	requireBusybox(t)
	n := newName(t)
	l1.track(n) // checks the cgroups once both are gone
	t.Cleanup(func() {
		run(t, "lxc-stop", "-P", l2.path, "-n", n, "-k")
		run(t, "lxc-destroy", "-P", l2.path, "-n", n, "-f")
	})
	for _, l := range []*lab{l1, l2} {
		l.mustRun("lxc-create", "-n", n, "-t", "busybox", "-f", l.conf())
		l.mustRun("lxc-start", "-n", n, "-s", "lxc.cgroup.pids.max=33")
	}
	p1, p2 := l1.initPID(n), l2.initPID(n)
	if p1 == p2 {
		t.Fatalf("two containers %s in %s and %s share init %d", n, l1.path, l2.path, p1)
	}
	for i, pid := range []int{p1, p2} {
		cg := "/sys/fs/cgroup/pids/lxc.payload." + n
		if i == 1 {
			cg += "-1"
		}
		if procs := readTrim(t, cg+"/cgroup.procs"); !containsField(procs, strconv.Itoa(pid)) {
			t.Errorf("container %s #%d: init %d not in %s (procs %q)", n, i+1, pid, cg, procs)
		}
		if got := readTrim(t, cg+"/pids.max"); got != "33" {
			t.Errorf("container %s #%d: %s/pids.max = %q, want 33", n, i+1, cg, got)
		}
	}
	l1.mustRun("lxc-stop", "-n", n, "-k")
	if s := l2.state(n); s != "RUNNING" || l2.initPID(n) != p2 {
		t.Errorf("lxc-stop -P %s -n %s stopped the other lxcpath's %s too (state %s)", l1.path, n, n, s)
	}
	if _, err := os.Stat("/sys/fs/cgroup/pids/lxc.payload." + n + "-1"); err != nil {
		t.Errorf("lxc-stop -P %s -n %s removed the other container's cgroup: %v", l1.path, n, err)
	}
	if _, err := os.Stat("/sys/fs/cgroup/pids/lxc.payload." + n); err == nil {
		t.Errorf("lxc-stop -P %s -n %s left its cgroup lxc.payload.%s", l1.path, n, n)
	}
	l2.mustRun("lxc-stop", "-n", n, "-k")
	assertNoCgroups(t, n, "stopping both")
}

func TestStartPidFileAndConsoleLog(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	pidfile := filepath.Join(l.aux, "pid")
	conlog := filepath.Join(l.aux, "console.log")
	l.mustRun("lxc-start", "-n", n, "-p", pidfile, "-L", conlog, "--", "/bin/sh", "-c", "echo console-hello; sleep 100")
	pid, err := strconv.Atoi(readTrim(t, pidfile))
	if err != nil || pid <= 0 || !alive(pid) {
		t.Errorf("lxc-start -n %s -p %s: pidfile holds %q, want a live process's pid (%v)", n, pidfile, readTrim(t, pidfile), err)
	}
	if !waitFor(5*time.Second, func() bool {
		b, _ := os.ReadFile(conlog)
		return strings.Contains(string(b), "console-hello")
	}) {
		b, err := os.ReadFile(conlog)
		t.Errorf("lxc-start -n %s -L %s: console log %q (%v), want console-hello", n, conlog, b, err)
	}
}

func TestStartCommand(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	l.mustRun("lxc-start", "-n", n, "--", "/bin/sleep", "1000")
	if got := l.attach(n, "cat", "/proc/1/cmdline"); got != "/bin/sleep\x001000\x00" {
		t.Errorf("lxc-start -n %s -- /bin/sleep 1000; lxc-attach -- cat /proc/1/cmdline: %q, want the command", n, got)
	}
}

func TestStartForeground(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	out, errs, code := l.run("lxc-start", "-F", "-n", n, "--", "/bin/sh", "-c", "echo fg; exit 5")
	if code != 5 || strings.TrimSpace(out) != "fg" {
		t.Errorf("lxc-start -F -n %s -- sh -c 'echo fg; exit 5': exit %d stdout %q, want 5 and fg\nstderr: %s", n, code, out, errs)
	}
	if s := l.state(n); s != "STOPPED" {
		t.Errorf("after lxc-start -F returned: %s, want STOPPED", s)
	}
	assertNoCgroups(t, n, "lxc-start -F")
}

// startForeground runs lxc-start -F in the background and waits for RUNNING.
func (l *lab) startForeground(name string, args ...string) (wait func() (int, string)) {
	l.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	argv := append([]string{"-P", l.path, "-F", "-n", name}, args...)
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(l.t), "lxc-start"), argv...)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		cancel()
		l.t.Fatal(err)
	}
	wait = func() (int, string) {
		defer cancel()
		err := cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return 0, out.String()
		case errors.As(err, &ee) && ee.ExitCode() >= 0:
			return ee.ExitCode(), out.String()
		}
		l.t.Errorf("lxc-start %s: %v\noutput: %s", shellJoin(argv), err, out.String())
		return -1, out.String()
	}
	l.t.Cleanup(func() { cancel(); cmd.Wait() })
	if !waitFor(10*time.Second, func() bool { return l.state(name) == "RUNNING" }) {
		cancel()
		l.t.Fatalf("lxc-start %s: not RUNNING after 10s\noutput: %s", shellJoin(argv), out.String())
	}
	return wait
}

// TestStartForegroundStop: the other tools work on a foreground container,
// and a clean halt by lxc-stop ends lxc-start -F with status 0, as LXC's.
func TestStartForegroundStop(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	wait := l.startForeground(n)
	if got := strings.TrimSpace(l.attach(n, "hostname")); got != n {
		t.Errorf("lxc-attach -n %s -- hostname (foreground container): %q", n, got)
	}
	l.mustRun("lxc-stop", "-n", n)
	if code, out := wait(); code != 0 {
		t.Errorf("lxc-start -F -n %s, then lxc-stop -n %s (clean halt): lxc-start exit %d, want 0\noutput: %s", n, n, code, out)
	}
	if s := l.state(n); s != "STOPPED" {
		t.Errorf("after lxc-start -F and lxc-stop: state %s, want STOPPED", s)
	}
	assertNoCgroups(t, n, "lxc-start -F; lxc-stop")

	wait = l.startForeground(n, "--", "/bin/sleep", "100")
	l.mustRun("lxc-stop", "-n", n, "-k")
	code, _ := wait()
	t.Logf("lxc-start -F -n %s -- sleep 100, then lxc-stop -k: exit %d", n, code)
	if s := l.state(n); s != "STOPPED" {
		t.Errorf("after lxc-start -F and lxc-stop -k: state %s, want STOPPED", s)
	}
	assertNoCgroups(t, n, "lxc-start -F; lxc-stop -k")
}

// TestInitExits: an init that ends by itself stops the container and its
// cgroups go.
func TestInitExits(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	l.mustRun("lxc-start", "-n", n, "--", "/bin/sh", "-c", "sleep 1")
	l.waitState(n, "STOPPED", 10*time.Second)
	assertNoCgroups(t, n, "init exit")

	// An init that exits at once: whatever start says, the end state is the same.
	out, errs, code := l.run("lxc-start", "-n", n, "--", "/bin/true")
	if code != 0 && code != 1 {
		t.Errorf("lxc-start -n %s -- /bin/true: exit %d, want 0 (or 1 with a reason)\nstdout: %s\nstderr: %s", n, code, out, errs)
	}
	l.waitState(n, "STOPPED", 10*time.Second)
	assertNoCgroups(t, n, "lxc-start -- /bin/true")
	if !waitFor(2*time.Second, func() bool { return len(monitorPIDs(l.path, n)) == 0 }) {
		t.Errorf("lxc-start -n %s -- /bin/true: monitor still running: %v", n, monitorPIDs(l.path, n))
	}
}

func TestCgroupLimits(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox("-s", "lxc.cgroup.memory.limit_in_bytes=67108864", "-s", "lxc.cgroup.pids.max=20")
	for file, want := range map[string]string{
		"/sys/fs/cgroup/memory/lxc.payload." + n + "/memory.limit_in_bytes": "67108864",
		"/sys/fs/cgroup/pids/lxc.payload." + n + "/pids.max":                "20",
	} {
		if got := readTrim(t, file); got != want {
			t.Errorf("lxc-start -s ...: %s = %q, want %q", file, got, want)
		}
	}
	// init is in the payload cgroup.
	pid := l.initPID(n)
	procs := readTrim(t, "/sys/fs/cgroup/pids/lxc.payload."+n+"/cgroup.procs")
	if !containsField(procs, strconv.Itoa(pid)) {
		t.Errorf("init %d is not in lxc.payload.%s (pids cgroup.procs: %q)", pid, n, procs)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	assertNoCgroups(t, n, "lxc-stop -k")
}

func containsField(s, f string) bool {
	for _, x := range strings.Fields(s) {
		if x == f {
			return true
		}
	}
	return false
}

// TestConcurrentStart: racing starts make one container, not five.
func TestConcurrentStart(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	var wg sync.WaitGroup
	type result struct {
		out, errs string
		code      int
	}
	res := make([]result, 5)
	for i := range res {
		wg.Add(1)
		go func(r *result) {
			defer wg.Done()
			r.out, r.errs, r.code = l.run("lxc-start", "-n", n)
		}(&res[i])
	}
	wg.Wait()
	for i, r := range res {
		if r.code != 0 {
			t.Errorf("concurrent lxc-start -n %s #%d: exit %d, want 0\nstdout: %s\nstderr: %s", n, i, r.code, r.out, r.errs)
		}
	}
	l.waitState(n, "RUNNING", 10*time.Second)
	pid := l.initPID(n)
	time.Sleep(200 * time.Millisecond)
	if got := l.initPID(n); got != pid {
		t.Errorf("after 5 concurrent starts: init pid changed %d -> %d", pid, got)
	}
	if m := monitorPIDs(l.path, n); len(m) != 1 {
		t.Errorf("after 5 concurrent starts: %d monitors %v, want 1", len(m), m)
	}
	for _, d := range cgroupDirs(n) {
		if strings.HasSuffix(filepath.Base(d), n) {
			continue
		}
		t.Errorf("after 5 concurrent starts: a second cgroup %s exists (a second start ran)", d)
	}
	// Only one init: in the container's pid ns, the only pid 1's children
	// are busybox's, and no second init lives in the payload cgroup.
	inits := 0
	for _, p := range strings.Fields(readTrim(t, "/sys/fs/cgroup/pids/lxc.payload."+n+"/cgroup.procs")) {
		b, _ := os.ReadFile("/proc/" + p + "/status")
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "NSpid:") && strings.HasSuffix(strings.TrimSpace(line), "\t1") {
				inits++
			}
		}
	}
	if inits != 1 {
		t.Errorf("after 5 concurrent starts: %d processes are pid 1 of a namespace in lxc.payload.%s, want 1", inits, n)
	}
}
