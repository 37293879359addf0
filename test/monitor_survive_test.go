package test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// monitorModes are the two process layouts: the lxcpath's shared monitor
// (the default) and a monitor per container (LXC's).
var monitorModes = []struct{ name, env string }{
	{"shared", "GOLXC_SHARED_MONITOR=1"},
	{"per-container", "GOLXC_SHARED_MONITOR=0"},
}

// survivor is one container of TestMonitorKillSurvives and what was
// known of it before its monitor was killed.
type survivor struct {
	name      string
	pid       int
	start     uint64
	ephemeral bool
	pair      string // the host end of its veth, "" for none
}

// TestMonitorKillSurvives: kill -9 of the monitors under 20 running
// containers, in either layout, stops none of them. Each is then RUNNING
// for lxc-info with the same init, lxc-attach works in it, lxc-console
// names what was lost, and lxc-stop stops it and leaves nothing: no
// cgroup, monitor, record, socket, veth or process; the ephemeral one is
// destroyed.
func TestMonitorKillSurvives(t *testing.T) {
	for _, mode := range monitorModes {
		t.Run(mode.name, func(t *testing.T) {
			l := newLab(t)
			opts := runOpts{env: []string{mode.env}}
			var cs []*survivor
			for i := 0; i < 20; i++ {
				s := &survivor{}
				var conf []string
				switch i {
				case 0:
					s.ephemeral = true
					conf = []string{"lxc.ephemeral = 1"}
				case 1:
					s.pair = "gxs" + randomHex(t, 5)
					conf = []string{"lxc.net.0.type = veth", "lxc.net.0.veth.pair = " + s.pair}
				}
				s.name = l.createBusybox(conf...)
				cs = append(cs, s)
			}
			var monitors []int
			for _, s := range cs {
				if out, errs, code := l.runWith(opts, "lxc-start", "-n", s.name); code != 0 {
					t.Fatalf("%s lxc-start -n %s: exit %d\nstdout: %s\nstderr: %s", mode.env, s.name, code, out, errs)
				}
				s.pid = l.initPID(s.name)
				var ok bool
				if s.start, ok = procStart(s.pid); !ok {
					t.Fatalf("init %d of %s: no such process", s.pid, s.name)
				}
				for _, m := range monitorPIDs(l.path, s.name) {
					if !containsInt(monitors, m) {
						monitors = append(monitors, m)
					}
				}
			}
			want := 20
			if mode.name == "shared" {
				want = 1
			}
			if len(monitors) != want {
				t.Fatalf("%s: %d monitors for 20 containers (%v), want %d", mode.env, len(monitors), monitors, want)
			}
			if cs[1].pair != "" && !linkExists(cs[1].pair) {
				t.Fatalf("veth host end %s of %s missing before the kill", cs[1].pair, cs[1].name)
			}
			starts := map[int]uint64{}
			for _, m := range monitors {
				starts[m], _ = procStart(m)
				if err := syscall.Kill(m, syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range monitors {
				waitGone(t, m, starts[m], fmt.Sprintf("kill -9 of monitor %d", m))
			}
			// Nothing has looked at them yet: every init lives on.
			for _, s := range cs {
				if pidGone(s.pid, s.start) {
					t.Errorf("%s: init %d of %s died with its monitor", mode.env, s.pid, s.name)
				}
			}
			for _, s := range cs {
				out, errs, code := l.runWith(opts, "lxc-info", "-n", s.name, "-s", "-p")
				if code != 0 || strings.Join(strings.Fields(out), "") != fmt.Sprintf("State:RUNNINGPID:%d", s.pid) {
					t.Errorf("lxc-info -n %s after kill -9 of its monitor: exit %d, want RUNNING with init %d\nstdout: %s\nstderr: %s", s.name, code, s.pid, out, errs)
				}
				if got, errs, code := l.runWith(opts, "lxc-attach", "-n", s.name, "--", "/bin/hostname"); code != 0 || strings.TrimSpace(got) != s.name {
					t.Errorf("lxc-attach -n %s -- hostname after kill -9 of its monitor: exit %d, %q\nstderr: %s", s.name, code, got, errs)
				}
			}
			if cs[1].pair != "" && !linkExists(cs[1].pair) {
				t.Errorf("veth host end %s of %s gone while the container runs", cs[1].pair, cs[1].name)
			}
			// What could not survive is named where the user meets it.
			if _, errs, code := l.runWith(opts, "lxc-console", "-n", cs[2].name, "-t", "0"); code == 0 || !strings.Contains(errs, "lost with its monitor") {
				t.Errorf("lxc-console -n %s after kill -9 of its monitor: exit %d, want one line saying the console was lost\nstderr: %s", cs[2].name, code, errs)
			}
			// The new monitors are the ones the layout asks for.
			adopters := map[int]bool{}
			for _, s := range cs {
				for _, m := range monitorPIDs(l.path, s.name) {
					adopters[m] = true
				}
			}
			if len(adopters) != want {
				t.Errorf("%s: %d monitors after re-adoption (%v), want %d", mode.env, len(adopters), adopters, want)
			}
			// lxc-stop, a clean halt (the monitor's own kill after its
			// timeout for an init that ignores it), all at once.
			var wg sync.WaitGroup
			for _, s := range cs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if out, errs, code := l.runWith(opts, "lxc-stop", "-n", s.name, "-t", "10"); code != 0 {
						t.Errorf("lxc-stop -n %s of an adopted container: exit %d\nstdout: %s\nstderr: %s", s.name, code, out, errs)
					}
				}()
			}
			wg.Wait()
			for _, s := range cs {
				if !waitFor(5*time.Second, func() bool { return pidGone(s.pid, s.start) }) {
					t.Errorf("init %d of %s still there after lxc-stop", s.pid, s.name)
				}
				if _, err := os.Lstat(recordPath(l.path, s.name)); err == nil {
					t.Errorf("record %s of %s left after lxc-stop", recordPath(l.path, s.name), s.name)
				}
				if _, err := os.Lstat(strings.TrimSuffix(recordPath(l.path, s.name), ".run")); err == nil {
					t.Errorf("command socket of %s left after lxc-stop", s.name)
				}
				if _, err := os.Lstat(strings.TrimSuffix(recordPath(l.path, s.name), ".run") + ".net"); err == nil {
					t.Errorf("network record of %s left after lxc-stop", s.name)
				}
				if m := titledMonitors(l.path, s.name); len(m) > 0 {
					t.Errorf("monitor %v of %s left after lxc-stop", m, s.name)
				}
				assertNoCgroups(t, s.name, "lxc-stop of a container adopted after kill -9 of its monitor")
				_, statErr := os.Lstat(filepath.Join(l.path, s.name))
				switch {
				case s.ephemeral && statErr == nil:
					t.Errorf("ephemeral %s still exists after lxc-stop of it adopted", s.name)
				case !s.ephemeral && statErr != nil:
					t.Errorf("%s is gone after lxc-stop: %v", s.name, statErr)
				case !s.ephemeral:
					if st := l.state(s.name); st != "STOPPED" {
						t.Errorf("%s: %s after lxc-stop, want STOPPED", s.name, st)
					}
				}
			}
			if cs[1].pair != "" && !waitFor(5*time.Second, func() bool { return !linkExists(cs[1].pair) }) {
				t.Errorf("veth host end %s of %s left after lxc-stop of it adopted", cs[1].pair, cs[1].name)
			}
		})
	}
}

// randomHex is n random bytes in hex (interface names are short).
func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func containsInt(s []int, v int) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// TestMonitorKilledMidStart: a monitor killed while the container starts
// (its lxc.hook.start runs in the container: the init stage is made, in
// its cgroup, and waits) leaves nothing: lxc-start fails, the
// half-started container is torn down, the hook is gone with it.
func TestMonitorKilledMidStart(t *testing.T) {
	for _, mode := range monitorModes {
		t.Run(mode.name, func(t *testing.T) {
			l := newLab(t)
			opts := runOpts{env: []string{mode.env}}
			n := l.createBusybox("lxc.hook.start = /golxc-test-hook")
			rootfs := filepath.Join(l.path, n, "rootfs")
			if err := os.WriteFile(filepath.Join(rootfs, "golxc-test-hook"), []byte("#!/bin/sh\necho $$ > /hook-ran.tmp\nmv /hook-ran.tmp /hook-ran\nexec sleep 30\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			mark := filepath.Join(rootfs, "hook-ran")
			done := make(chan struct{})
			var code int
			var errs string
			go func() {
				defer close(done)
				_, errs, code = l.runWith(opts, "lxc-start", "-n", n)
			}()
			if !waitFor(20*time.Second, func() bool { _, err := os.Stat(mark); return err == nil }) {
				<-done
				t.Fatalf("the start hook of %s never ran (lxc-start exit %d: %s)", n, code, errs)
			}
			mons := monitorPIDs(l.path, n)
			if len(mons) != 1 {
				t.Fatalf("monitors of %s while it starts: %v", n, mons)
			}
			if mode.name == "shared" && len(titledMonitors(l.path, n)) != 0 {
				t.Fatalf("%s has a monitor of its own in the shared layout", n)
			}
			if err := syscall.Kill(mons[0], syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-done
			if code == 0 {
				t.Fatalf("lxc-start -n %s succeeded though its monitor was killed mid-start", n)
			}
			t.Logf("lxc-start -n %s with its monitor killed mid-start: exit %d: %s", n, code, strings.TrimSpace(errs))
			if st := l.state(n); st != "STOPPED" {
				t.Errorf("%s after its monitor was killed mid-start: %s, want STOPPED", n, st)
			}
			assertNoCgroups(t, n, "kill -9 of the monitor mid-start")
			if _, err := os.Lstat(recordPath(l.path, n)); err == nil {
				t.Errorf("record of %s left after a start cut short", n)
			}
			if left := pidsMentioning("/golxc-test-hook"); len(left) > 0 {
				t.Errorf("the start hook %v of %s left running", left, n)
			}
			// And the next start works.
			if err := os.WriteFile(filepath.Join(rootfs, "golxc-test-hook"), []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			l.mustRunWith(opts, "lxc-start", "-n", n)
			l.waitState(n, "RUNNING", 10*time.Second)
		})
	}
}

// readCgroup is /proc/PID/cgroup ("" once gone).
func readCgroup(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	return string(b)
}

// TestMonitorNoAdoptRecycledPid: a record whose init pid now names
// another process is never adopted, and that process is not touched: not
// when the start time differs (a recycled pid), nor when the start time
// is that process's own but it is not in the container's cgroup. The
// container is torn down as stopped.
func TestMonitorNoAdoptRecycledPid(t *testing.T) {
	for _, forgeStart := range []bool{false, true} {
		name := "other-start-time"
		if forgeStart {
			name = "same-start-time-other-cgroup"
		}
		t.Run(name, func(t *testing.T) {
			l := newLab(t)
			n := l.startBusybox()
			pid := l.initPID(n)
			start, _ := procStart(pid)
			for _, m := range monitorPIDs(l.path, n) {
				ms, _ := procStart(m)
				syscall.Kill(m, syscall.SIGKILL)
				waitGone(t, m, ms, "kill -9 of the monitor")
			}
			// Init dies unseen; another process stands where a recycled
			// pid would put it.
			syscall.Kill(pid, syscall.SIGKILL)
			waitGone(t, pid, start, "kill -9 of init")
			other := exec.Command("/bin/sleep", "60")
			if err := other.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { other.Process.Kill(); other.Wait() })
			otherStart, _ := procStart(other.Process.Pid)
			path := recordPath(l.path, n)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("record of %s: %v", n, err)
			}
			var rec map[string]any
			if err := json.Unmarshal(b, &rec); err != nil {
				t.Fatal(err)
			}
			init := map[string]any{"pid": other.Process.Pid, "start": start}
			if forgeStart {
				init["start"] = otherStart
			}
			rec["init"] = init
			if b, err = json.Marshal(rec); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if st := l.state(n); st != "STOPPED" {
				t.Errorf("lxc-info -n %s with its record's init pid recycled: %s, want STOPPED", n, st)
			}
			if pidGone(other.Process.Pid, otherStart) {
				t.Errorf("the process %d holding the recorded pid was killed", other.Process.Pid)
			}
			if c := readCgroup(other.Process.Pid); strings.Contains(c, n) {
				t.Errorf("process %d was moved into a cgroup of %s: %s", other.Process.Pid, n, c)
			}
			assertNoCgroups(t, n, "the recycled-pid record")
			if _, err := os.Lstat(path); err == nil {
				t.Errorf("record of %s left", n)
			}
			if m := monitorPIDs(l.path, n); len(m) > 0 {
				t.Errorf("a monitor %v adopted %s", m, n)
			}
		})
	}
}

// TestMonitorReadoptRace: eight tools at once find a container whose
// monitor was killed: the container's lock lets one adopt it, the others
// wait for that monitor; every one tells RUNNING with the same init, and
// one monitor supervises it after.
func TestMonitorReadoptRace(t *testing.T) {
	for _, mode := range monitorModes {
		t.Run(mode.name, func(t *testing.T) {
			l := newLab(t)
			opts := runOpts{env: []string{mode.env}}
			n := l.createBusybox()
			l.mustRunWith(opts, "lxc-start", "-n", n)
			pid := l.initPID(n)
			mons := monitorPIDs(l.path, n)
			if len(mons) != 1 {
				t.Fatalf("monitors of %s: %v", n, mons)
			}
			ms, _ := procStart(mons[0])
			syscall.Kill(mons[0], syscall.SIGKILL)
			waitGone(t, mons[0], ms, "kill -9 of the monitor")
			var wg sync.WaitGroup
			for i := 0; i < 8; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					out, errs, code := l.runWith(opts, "lxc-info", "-n", n, "-s", "-p")
					if code != 0 || strings.Join(strings.Fields(out), "") != fmt.Sprintf("State:RUNNINGPID:%d", pid) {
						t.Errorf("lxc-info -n %s racing the re-adoption: exit %d, want RUNNING with init %d\nstdout: %s\nstderr: %s", n, code, pid, out, errs)
					}
				}()
			}
			wg.Wait()
			if m := monitorPIDs(l.path, n); len(m) != 1 {
				t.Errorf("monitors of %s after eight racing tools: %v, want one", n, m)
			}
			if mode.name == "per-container" {
				if m := titledMonitors(l.path, n); len(m) != 1 {
					t.Errorf("per-container monitors of %s after eight racing tools: %v, want one", n, m)
				}
			} else if m := sharedMonitors(l.path); len(m) != 1 {
				t.Errorf("shared monitors after eight racing tools: %v, want one", m)
			}
			l.mustRunWith(opts, "lxc-stop", "-n", n, "-k")
			assertNoCgroups(t, n, "lxc-stop -k after the racing re-adoption")
		})
	}
}

// TestMonitorPidFile: lxc-start -p FILE, with the shared monitor the
// default, gives the container a monitor of its own whose pid the file
// holds, as LXC's; its re-adoption after a kill -9 keeps that layout and
// writes the new monitor's pid; the stop removes the file.
func TestMonitorPidFile(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	pf := filepath.Join(l.aux, "pid")
	l.mustRun("lxc-start", "-n", n, "-p", pf)
	readPid := func() int {
		var p int
		b, _ := os.ReadFile(pf)
		fmt.Sscanf(string(b), "%d", &p)
		return p
	}
	mons := titledMonitors(l.path, n)
	if len(mons) != 1 || readPid() != mons[0] {
		t.Fatalf("lxc-start -p: pid file says %d, monitors of %s of its own: %v", readPid(), n, mons)
	}
	ms, _ := procStart(mons[0])
	syscall.Kill(mons[0], syscall.SIGKILL)
	waitGone(t, mons[0], ms, "kill -9 of the monitor")
	if st := l.state(n); st != "RUNNING" {
		t.Fatalf("%s after kill -9 of its monitor: %s", n, st)
	}
	again := titledMonitors(l.path, n)
	if len(again) != 1 || again[0] == mons[0] || readPid() != again[0] {
		t.Errorf("after the re-adoption: pid file says %d, monitors of %s of its own: %v (old %d)", readPid(), n, again, mons[0])
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	// Removed as the monitor exits, as LXC's is: just after STOPPED.
	if !waitFor(5*time.Second, func() bool { _, err := os.Lstat(pf); return err != nil }) {
		t.Errorf("pid file %s left after lxc-stop", pf)
	}
}

// TestInfoAdoptsAfterMonitorKill: a full lxc-info (state, usage, the
// addresses' namespace trip) as the first tool after a kill -9 of the
// monitor re-adopts the container through its one question to the
// monitor, and shows the same init with the usage read where the new
// monitor says the cgroups are.
func TestInfoAdoptsAfterMonitorKill(t *testing.T) {
	for _, mode := range monitorModes {
		t.Run(mode.name, func(t *testing.T) {
			l := newLab(t)
			opts := runOpts{env: []string{mode.env}}
			n := l.createBusybox()
			l.mustRunWith(opts, "lxc-start", "-n", n)
			pid := l.initPID(n)
			mons := monitorPIDs(l.path, n)
			if len(mons) != 1 {
				t.Fatalf("monitors of %s: %v", n, mons)
			}
			killMonitors(t, l.path, n)
			out, errs, code := l.runWith(opts, "lxc-info", "-n", n, "-H")
			if code != 0 || !strings.Contains(out, "State:          RUNNING\n") || !strings.Contains(out, fmt.Sprintf("PID:            %d\n", pid)) ||
				!regexp.MustCompile(`(?m)^Memory use:\s+[1-9]\d*$`).MatchString(out) || !regexp.MustCompile(`(?m)^CPU use:\s+[1-9]\d*$`).MatchString(out) {
				t.Errorf("lxc-info -n %s -H after kill -9 of its monitor: exit %d, want RUNNING, init %d and its usage\nstdout: %s\nstderr: %s", n, code, pid, out, errs)
			}
			if m := monitorPIDs(l.path, n); len(m) != 1 || m[0] == mons[0] {
				t.Errorf("monitors of %s after lxc-info: %v, want one new one", n, m)
			}
			l.mustRunWith(opts, "lxc-stop", "-n", n, "-k")
			assertNoCgroups(t, n, "lxc-stop -k after lxc-info re-adopted")
		})
	}
}

// TestInfoWedgedMonitor: a monitor that lives but does not answer
// (stopped with SIGSTOP) is not taken for a killed one: lxc-info's
// look-up, whose question to it times out, judges it by its record
// (alive), adopts nothing, and says in one line that it did not answer.
// Once it runs again, lxc-info is answered by the same monitor.
func TestInfoWedgedMonitor(t *testing.T) {
	l := newLab(t)
	opts := runOpts{env: []string{"GOLXC_SHARED_MONITOR=0"}}
	n := l.createBusybox()
	l.mustRunWith(opts, "lxc-start", "-n", n)
	pid := l.initPID(n)
	mons := monitorPIDs(l.path, n)
	if len(mons) != 1 {
		t.Fatalf("monitors of %s: %v", n, mons)
	}
	if err := syscall.Kill(mons[0], syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	cont := func() { syscall.Kill(mons[0], syscall.SIGCONT) }
	t.Cleanup(cont)
	out, errs, code := l.runWith(opts, "lxc-info", "-n", n, "-s")
	if code == 0 || !strings.Contains(errs, "did not answer in time") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("lxc-info -n %s with its monitor stopped: exit %d, want one line saying it did not answer\nstdout: %s\nstderr: %s", n, code, out, errs)
	}
	if m := monitorPIDs(l.path, n); len(m) != 1 || m[0] != mons[0] {
		t.Errorf("monitors of %s while its monitor was stopped: %v, want only %d", n, m, mons[0])
	}
	cont()
	if out, errs, code := l.runWith(opts, "lxc-info", "-n", n, "-s", "-p"); code != 0 || strings.Join(strings.Fields(out), "") != fmt.Sprintf("State:RUNNINGPID:%d", pid) {
		t.Errorf("lxc-info -n %s after SIGCONT of its monitor: exit %d\nstdout: %s\nstderr: %s", n, code, out, errs)
	}
	l.mustRunWith(opts, "lxc-stop", "-n", n, "-k")
	assertNoCgroups(t, n, "lxc-stop -k after the stopped monitor ran again")
}
