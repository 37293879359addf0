package test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killMonitors kills every monitor of lxcpath/name with SIGKILL and waits
// for each to be gone.
func killMonitors(t *testing.T, lxcpath, name string) {
	t.Helper()
	mons := monitorPIDs(lxcpath, name)
	if len(mons) == 0 {
		t.Fatalf("no monitor of %s to kill", name)
	}
	for _, m := range mons {
		ms, _ := procStart(m)
		syscall.Kill(m, syscall.SIGKILL)
		waitGone(t, m, ms, "kill -9 of the monitor")
	}
}

// TestAdoptFromOtherPidns: a root tool in a pid namespace (and /proc) of
// its own finds an ephemeral container whose monitor was killed: it sees
// neither monitor nor init, and must neither tear the container down nor
// destroy it. It says so in one line; a tool on the host adopts it after.
func TestAdoptFromOtherPidns(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox("lxc.ephemeral = 1")
	l.mustRun("lxc-start", "-n", n)
	pid := l.initPID(n)
	start, _ := procStart(pid)
	t.Cleanup(func() {
		if !pidGone(pid, start) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	killMonitors(t, l.path, n)
	cmd := exec.Command("unshare", "-fp", "--mount-proc", filepath.Join(binDir(t), "lxc-info"), "-P", l.path, "-n", n)
	out, _ := cmd.CombinedOutput()
	if pidGone(pid, start) {
		t.Fatalf("init %d of %s was killed by lxc-info in another pid namespace\n%s", pid, n, out)
	}
	if _, err := os.Stat(filepath.Join(l.path, n)); err != nil {
		t.Fatalf("ephemeral %s destroyed under its running init by lxc-info in another pid namespace: %v\n%s", n, err, out)
	}
	if _, err := os.Stat(recordPath(l.path, n)); err != nil {
		t.Errorf("record of %s removed by lxc-info in another pid namespace: %v", n, err)
	}
	if !strings.Contains(string(out), "not adopted") {
		t.Errorf("lxc-info in another pid namespace does not say it left %s alone:\n%s", n, out)
	}
	if st := l.state(n); st != "RUNNING" {
		t.Errorf("host lxc-info -n %s after: %s, want RUNNING", n, st)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
}

// TestForegroundDiesWithTool: lxc-execute and lxc-start -F are the
// container's session, as LXC's: a kill -9 of the tool takes the
// container with it (no record is kept, init has a parent-death signal),
// and no later tool re-adopts it.
func TestForegroundDiesWithTool(t *testing.T) {
	for _, tool := range [][]string{{"lxc-execute", "--", "/bin/sleep", "300"}, {"lxc-start", "-F", "--", "/bin/sleep", "300"}} {
		t.Run(tool[0], func(t *testing.T) {
			l := newLab(t)
			n := l.createBusybox()
			args := append([]string{"-P", l.path, "-n", n}, tool[1:]...)
			cmd := exec.Command(filepath.Join(binDir(t), tool[0]), args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			var pid int
			if !waitFor(20*time.Second, func() bool {
				st, p := l.statePID(n)
				pid = p
				return st == "RUNNING" && p > 0
			}) {
				t.Fatalf("%s of %s never RUNNING", tool[0], n)
			}
			start, _ := procStart(pid)
			t.Cleanup(func() {
				if !pidGone(pid, start) {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			if _, err := os.Stat(recordPath(l.path, n)); err == nil {
				t.Errorf("%s keeps a record of %s: it would be re-adopted after the tool's death", tool[0], n)
			}
			cmd.Process.Kill()
			cmd.Wait()
			if !waitFor(5*time.Second, func() bool { return pidGone(pid, start) }) {
				t.Errorf("init %d of %s outlived a kill -9 of its %s", pid, n, tool[0])
			}
			if st := l.state(n); st != "STOPPED" {
				t.Errorf("%s after a kill -9 of its %s: %s, want STOPPED", n, tool[0], st)
			}
			if m := monitorPIDs(l.path, n); len(m) > 0 {
				t.Errorf("a monitor %v adopted %s after a kill -9 of its %s", m, n, tool[0])
			}
		})
	}
}

// cpusAllowed is Cpus_allowed_list of pid.
func cpusAllowed(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// capBnd is the CapBnd of pid.
func capBnd(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "CapBnd:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// TestAdoptContext: a monitor outlives the tool that spawned it, so the
// tool's process state must not reach other containers through it. A
// pinned lxc-ls that re-adopts a container whose shared monitor was
// killed does not pin the next start of another container; a tool with a
// reduced bounding set leaves the container alone (one line) and the next
// start still brings its loopback up; a pinned lxc-start gets its
// container pinned (as LXC's) and the next start is not.
func TestAdoptContext(t *testing.T) {
	if _, err := exec.LookPath("taskset"); err != nil {
		t.Skip("no taskset")
	}
	host := cpusAllowed(1)
	if host == "0" {
		t.Skip("PID 1 runs on CPU 0 only: a pinned tool cannot be told from it")
	}
	opts := runOpts{env: []string{"GOLXC_SHARED_MONITOR=1"}}
	withEnv := func(args ...string) *exec.Cmd {
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Env = append(os.Environ(), opts.env...)
		return cmd
	}
	t.Run("pinned lxc-ls", func(t *testing.T) {
		l := newLab(t)
		a, b := l.createBusybox(), l.createBusybox()
		l.mustRunWith(opts, "lxc-start", "-n", a)
		killMonitors(t, l.path, a)
		if out, err := withEnv("taskset", "-c", "0", filepath.Join(binDir(t), "lxc-ls"), "-P", l.path).CombinedOutput(); err != nil {
			t.Fatalf("taskset -c 0 lxc-ls: %v\n%s", err, out)
		}
		l.mustRunWith(opts, "lxc-start", "-n", b)
		if got := cpusAllowed(l.initPID(b)); got != host {
			t.Errorf("init of %s, started after a pinned lxc-ls re-adopted %s: Cpus_allowed_list %s, want the host's %s", b, a, got, host)
		}
		for _, m := range monitorPIDs(l.path, b) {
			if got := cpusAllowed(m); got != host {
				t.Errorf("monitor %d of %s: Cpus_allowed_list %s, want the host's %s", m, b, got, host)
			}
		}
	})
	t.Run("reduced bounding set", func(t *testing.T) {
		if _, err := exec.LookPath("setpriv"); err != nil {
			t.Skip("no setpriv")
		}
		l := newLab(t)
		a, b := l.createBusybox(), l.createBusybox()
		l.mustRunWith(opts, "lxc-start", "-n", a)
		pid := l.initPID(a)
		killMonitors(t, l.path, a)
		out, _ := withEnv("setpriv", "--bounding-set", "-sys_time,-sys_module,-net_admin", filepath.Join(binDir(t), "lxc-info"), "-P", l.path, "-n", a).CombinedOutput()
		if !strings.Contains(string(out), "not adopted") {
			t.Errorf("lxc-info with a reduced bounding set does not say it left %s alone:\n%s", a, out)
		}
		if m := monitorPIDs(l.path, a); len(m) > 0 {
			t.Errorf("lxc-info with a reduced bounding set started monitor %v for %s (CapBnd %s)", m, a, capBnd(m[0]))
		}
		if out, errs, code := l.runWith(opts, "lxc-info", "-n", a, "-s", "-p"); code != 0 || strings.Join(strings.Fields(out), "") != fmt.Sprintf("State:RUNNINGPID:%d", pid) {
			t.Errorf("host lxc-info -n %s after: exit %d\n%s%s", a, code, out, errs)
		}
		if out, errs, code := l.runWith(opts, "lxc-start", "-n", b); code != 0 {
			t.Fatalf("lxc-start -n %s after a reduced-bounding-set lxc-info: exit %d\n%s%s", b, code, out, errs)
		}
		for _, m := range monitorPIDs(l.path, b) {
			if got := capBnd(m); got != capBnd(1) {
				t.Errorf("monitor %d of %s: CapBnd %s, want the host's %s", m, b, got, capBnd(1))
			}
		}
	})
	t.Run("pinned lxc-start", func(t *testing.T) {
		l := newLab(t)
		a, b := l.createBusybox(), l.createBusybox()
		if out, err := withEnv("taskset", "-c", "0", filepath.Join(binDir(t), "lxc-start"), "-P", l.path, "-n", a).CombinedOutput(); err != nil {
			t.Fatalf("taskset -c 0 lxc-start: %v\n%s", err, out)
		}
		if got := cpusAllowed(l.initPID(a)); got != "0" {
			t.Errorf("init of %s started by a pinned lxc-start: Cpus_allowed_list %s, want 0 (as LXC's)", a, got)
		}
		l.mustRunWith(opts, "lxc-start", "-n", b)
		if got := cpusAllowed(l.initPID(b)); got != host {
			t.Errorf("init of %s, started after a pinned lxc-start of %s: Cpus_allowed_list %s, want the host's %s", b, a, got, host)
		}
	})
}

// TestAdoptInitGoneNoPid: the stop hooks of a container whose monitor
// and init both died are told no LXC_PID: the dead init's pid may name
// another process by then.
func TestAdoptInitGoneNoPid(t *testing.T) {
	l := newLab(t)
	out := filepath.Join(l.aux, "hook-env")
	hook := l.writeFile("hook.sh", "#!/bin/sh\necho \"$3 LXC_PID=${LXC_PID-unset}\" >> "+out+"\n", 0o755)
	n := l.createBusybox("lxc.hook.stop = "+hook, "lxc.hook.post-stop = "+hook)
	l.mustRun("lxc-start", "-n", n)
	pid := l.initPID(n)
	start, _ := procStart(pid)
	killMonitors(t, l.path, n)
	syscall.Kill(pid, syscall.SIGKILL)
	waitGone(t, pid, start, "kill -9 of init")
	if st := l.state(n); st != "STOPPED" {
		t.Errorf("%s with monitor and init killed: %s, want STOPPED", n, st)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("the stop hooks of %s did not run after its monitor and init were killed: %v", n, err)
	}
	got := string(b)
	if !strings.Contains(got, "stop LXC_PID=unset") || !strings.Contains(got, "post-stop LXC_PID=unset") {
		t.Errorf("stop hooks of %s whose init is gone were told a pid:\n%s", n, got)
	}
}

// TestStartFailsWithoutRecord: a start whose RUNNING record cannot be
// written (here a directory squats its path; /run full in life) fails,
// and leaves nothing running: its container could not be adopted, and
// would be taken for dead, after a kill of its monitor.
func TestStartFailsWithoutRecord(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox("lxc.ephemeral = 1")
	rec := recordPath(l.path, n)
	if err := os.Mkdir(rec, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(rec) })
	_, errs, code := l.run("lxc-start", "-n", n)
	if code == 0 {
		t.Fatalf("lxc-start -n %s succeeded with its record unwritable (state %s)", n, l.state(n))
	}
	if !strings.Contains(errs, "record") {
		t.Errorf("lxc-start -n %s with its record unwritable does not name the record:\n%s", n, errs)
	}
	assertNoCgroups(t, n, "a start whose record could not be written")
	if m := monitorPIDs(l.path, n); len(m) > 0 {
		t.Errorf("monitor %v of %s left after its failed start", m, n)
	}
}

// TestReapEphemeralLiveInit: an ephemeral container whose monitor died
// and whose record is missing is not destroyed while its cgroup still
// holds processes.
func TestReapEphemeralLiveInit(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox("lxc.ephemeral = 1")
	l.mustRun("lxc-start", "-n", n)
	pid := l.initPID(n)
	start, _ := procStart(pid)
	t.Cleanup(func() {
		if !pidGone(pid, start) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	killMonitors(t, l.path, n)
	if err := os.Remove(recordPath(l.path, n)); err != nil {
		t.Fatal(err)
	}
	_, errs, _ := l.run("lxc-info", "-n", n)
	if pidGone(pid, start) {
		t.Errorf("init %d of %s killed by lxc-info with no record", pid, n)
	}
	if _, err := os.Stat(filepath.Join(l.path, n)); err != nil {
		t.Errorf("ephemeral %s destroyed under its live init: %v\n%s", n, err, errs)
	}
	if !strings.Contains(errs, "not destroyed") {
		t.Errorf("lxc-info does not say why it left %s:\n%s", n, errs)
	}
	syscall.Kill(pid, syscall.SIGKILL)
	waitGone(t, pid, start, "kill -9 of init")
	// Once empty, the next tool reaps it.
	if !waitFor(15*time.Second, func() bool {
		l.run("lxc-info", "-n", n)
		_, err := os.Stat(filepath.Join(l.path, n))
		return err != nil
	}) {
		t.Errorf("ephemeral %s not reaped once its init was gone", n)
	}
}

// TestAdoptLogNamesLost: the adopting monitor's log line names what was
// lost with the killed one: the console and ttys, and the seccomp notify
// listener (notified system calls fail with ENOSYS from then on).
func TestAdoptLogNamesLost(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	logf := filepath.Join(l.aux, "log")
	l.mustRun("lxc-start", "-n", n, "-o", logf, "-l", "INFO")
	killMonitors(t, l.path, n)
	if st := l.state(n); st != "RUNNING" {
		t.Fatalf("%s after kill -9 of its monitor: %s", n, st)
	}
	b, _ := os.ReadFile(logf)
	var line string
	for _, s := range strings.Split(string(b), "\n") {
		if strings.Contains(s, "adopted its init") {
			line = s
		}
	}
	if !strings.Contains(line, "console") || !strings.Contains(line, "seccomp notify") || !strings.Contains(line, "ENOSYS") {
		t.Errorf("adoption log line of %s does not name the console and the seccomp notify listener lost: %q", n, line)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
}

// TestAdoptKilledInStop: a monitor killed in the post-stop hooks of an
// ephemeral container leaves the record at that step: the next tool
// does only the rest (post-stop again, not the stop hooks) and the
// destroy; and a container made since under the same name (its mark of
// another start) is never destroyed by the re-run.
func TestAdoptKilledInStop(t *testing.T) {
	for _, recreated := range []bool{false, true} {
		name := "rest-of-stop"
		if recreated {
			name = "made-again"
		}
		t.Run(name, func(t *testing.T) {
			l := newLab(t)
			logf := filepath.Join(l.aux, "hooks")
			held := filepath.Join(l.aux, "held")
			hook := l.writeFile("hook.sh", "#!/bin/sh\necho \"$3\" >> "+logf+"\n"+
				"if [ \"$3\" = post-stop ] && [ ! -e "+held+" ]; then echo $$ > "+held+".tmp; mv "+held+".tmp "+held+"; exec sleep 60; fi\n", 0o755)
			n := l.createBusybox("lxc.ephemeral = 1", "lxc.hook.stop = "+hook, "lxc.hook.post-stop = "+hook)
			l.mustRun("lxc-start", "-n", n)
			mons := monitorPIDs(l.path, n)
			if len(mons) != 1 {
				t.Fatalf("monitors of %s: %v", n, mons)
			}
			stop := exec.Command(filepath.Join(binDir(t), "lxc-stop"), "-P", l.path, "-n", n, "-k")
			if err := stop.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { stop.Process.Kill(); stop.Wait() })
			if !waitFor(20*time.Second, func() bool { _, err := os.Stat(held); return err == nil }) {
				t.Fatalf("the post-stop hook of %s never ran", n)
			}
			var hookPid int
			fmt.Sscanf(readTrim(t, held), "%d", &hookPid)
			// lxc-stop would finish the stop itself once the monitor is
			// gone: it goes first, this test's tool does the rest.
			stop.Process.Kill()
			stop.Wait()
			ms, _ := procStart(mons[0])
			syscall.Kill(mons[0], syscall.SIGKILL)
			waitGone(t, mons[0], ms, "kill -9 of the monitor in the post-stop hook")
			if hookPid > 0 {
				syscall.Kill(hookPid, syscall.SIGKILL)
			}
			mark := filepath.Join(l.path, n, ".golxc-ephemeral-started")
			if recreated {
				// What a container made again under this name holds.
				if err := os.WriteFile(mark, []byte("another-start"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if out, errs, _ := l.run("lxc-info", "-n", n, "-s"); strings.Contains(out, "RUNNING") {
				t.Errorf("%s after its monitor was killed in its stop: %s%s", n, out, errs)
			}
			b, _ := os.ReadFile(logf)
			got := strings.Fields(string(b))
			want := []string{"stop", "post-stop", "post-stop"}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("hooks run for %s: %v, want %v (the stop hooks once)", n, got, want)
			}
			_, err := os.Stat(filepath.Join(l.path, n))
			switch {
			case recreated && err != nil:
				t.Errorf("%s made again since was destroyed by the re-run of the old stop: %v", n, err)
			case !recreated && err == nil:
				t.Errorf("ephemeral %s not destroyed by the rest of its stop", n)
			}
			if _, err := os.Lstat(recordPath(l.path, n)); err == nil {
				t.Errorf("record of %s left", n)
			}
			assertNoCgroups(t, n, "the rest of a stop whose monitor was killed")
		})
	}
}

// TestUnadoptedNotStopped: a tool that may not adopt a container whose
// monitor was killed (here one run in a mount namespace not the host's)
// says it runs, and neither destroys it (with -f, its rootfs stays) nor
// claims to stop it (exit 2 would tell a script it is stopped); a tool
// on the host then adopts it. It once said STOPPED, and lxc-destroy -f
// removed the running container's rootfs.
func TestUnadoptedNotStopped(t *testing.T) {
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("no unshare")
	}
	opts := runOpts{env: []string{"GOLXC_SHARED_MONITOR=1"}}
	l := newLab(t)
	a := l.createBusybox()
	l.mustRunWith(opts, "lxc-start", "-n", a)
	pid := l.initPID(a)
	killMonitors(t, l.path, a)
	inNS := func(tool string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command("unshare", append([]string{"-m", "--propagation", "private", filepath.Join(binDir(t), tool), "-P", l.path}, args...)...)
		cmd.Env = append(os.Environ(), opts.env...)
		var errb strings.Builder
		cmd.Stderr = &errb
		out, err := cmd.Output()
		var ee *exec.ExitError
		switch {
		case err == nil:
			return string(out), 0
		case errors.As(err, &ee) && ee.Exited():
			return string(out) + errb.String(), ee.ExitCode()
		}
		t.Fatalf("unshare -m %s: %v\n%s%s", tool, err, out, errb.String())
		return "", 0
	}
	if out, code := inNS("lxc-info", "-n", a, "-s", "-p"); code != 0 || !strings.Contains(strings.Join(strings.Fields(out), ""), fmt.Sprintf("State:RUNNINGPID:%d", pid)) {
		t.Errorf("lxc-info -n %s from another mount namespace: exit %d, want RUNNING with PID %d:\n%s", a, code, pid, out)
	}
	if out, code := inNS("lxc-ls", "-1", "--running"); code != 0 || strings.TrimSpace(out) != a {
		t.Errorf("lxc-ls --running from another mount namespace: exit %d, want %s:\n%s", code, a, out)
	}
	if out, code := inNS("lxc-destroy", "-n", a, "-f"); code == 0 {
		t.Errorf("lxc-destroy -f of the unadopted running %s from another mount namespace succeeded:\n%s", a, out)
	}
	if _, err := os.Stat(filepath.Join(l.path, a, "rootfs", "bin")); err != nil {
		t.Errorf("rootfs of the running %s after that lxc-destroy -f: %v", a, err)
	}
	if out, code := inNS("lxc-stop", "-n", a, "-k"); code == 0 || code == 2 || !strings.Contains(out, "runs without a monitor") {
		t.Errorf("lxc-stop -k of the unadopted %s from another mount namespace: exit %d, want 1 saying it runs without a monitor:\n%s", a, code, out)
	}
	if !alive(pid) {
		t.Fatalf("init %d of %s is gone after the tools in another mount namespace", pid, a)
	}
	if out, errs, code := l.runWith(opts, "lxc-info", "-n", a, "-s", "-p"); code != 0 || strings.Join(strings.Fields(out), "") != fmt.Sprintf("State:RUNNINGPID:%d", pid) {
		t.Errorf("host lxc-info -n %s after: exit %d\n%s%s", a, code, out, errs)
	}
	if m := monitorPIDs(l.path, a); len(m) == 0 {
		t.Errorf("host lxc-info did not adopt %s: no monitor", a)
	}
}

// TestFreezeAdopts: lxc-freeze asks the monitor first and reads no
// record when it answers; after kill -9 of the monitor it still
// re-adopts the container (a new monitor, the same init) and freezes it,
// and lxc-unfreeze thaws it.
func TestFreezeAdopts(t *testing.T) {
	for _, mode := range monitorModes {
		t.Run(mode.name, func(t *testing.T) {
			opts := runOpts{env: []string{mode.env}}
			l := newLab(t)
			a := l.createBusybox()
			l.mustRunWith(opts, "lxc-start", "-n", a)
			pid := l.initPID(a)
			killMonitors(t, l.path, a)
			l.mustRunWith(opts, "lxc-freeze", "-n", a)
			if st, p := l.statePID(a); st != "FROZEN" || p != pid {
				t.Errorf("after kill -9 of its monitor and lxc-freeze: %s with init %d, want FROZEN with %d", st, p, pid)
			}
			if len(monitorPIDs(l.path, a)) == 0 {
				t.Errorf("lxc-freeze did not re-adopt %s: no monitor", a)
			}
			l.mustRunWith(opts, "lxc-unfreeze", "-n", a)
			if st := l.state(a); st != "RUNNING" {
				t.Errorf("after lxc-unfreeze: %s, want RUNNING", st)
			}
			l.mustRunWith(opts, "lxc-stop", "-n", a, "-k")
		})
	}
}
