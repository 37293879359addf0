package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// lockRoot is where golxc keeps its per-container locks: on /run, which a
// reboot empties.
const lockRoot = "/run/golxc/lock"

// lockFile is the lock of lxcpath/name.
func lockFile(lxcpath, name string) string {
	return filepath.Join(lockRoot, lxcpath, "."+name)
}

// newRelLab is newLab plus the checks every reliability test ends with,
// run after all its containers' cleanups: no mount and no process of the
// lab is left on the host, and no lock of its lxcpath is left in /run.
func newRelLab(t *testing.T) *lab {
	t.Helper()
	l := newLab(t)
	base := filepath.Dir(l.path)
	t.Cleanup(func() {
		for _, line := range mountLines() {
			if strings.Contains(line, base) {
				t.Errorf("cleanup: a mount of the test is left on the host: %s", line)
			}
		}
		// The lxcpath's shared monitor stays a moment (supervisorIdle)
		// after its last container.
		waitFor(5*time.Second, func() bool { return len(pidsMentioning(base)) == 0 })
		for _, pid := range pidsMentioning(base) {
			t.Errorf("cleanup: process %d (%s) of the test is still running; killing it", pid, cmdline(pid))
			syscall.Kill(pid, syscall.SIGKILL)
		}
		dir := filepath.Join(lockRoot, l.path)
		if !waitFor(2*time.Second, func() bool { _, err := os.Lstat(dir); return err != nil }) {
			ents, _ := os.ReadDir(dir)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			t.Errorf("cleanup: every container of %s is destroyed, yet its lock dir %s still holds %v", l.path, dir, names)
		}
	})
	return l
}

// mountLines is the host's mount table (the test runs in the host's mount
// namespace).
func mountLines() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

// cmdline is pid's argv joined by spaces ("" once it is gone).
func cmdline(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	return strings.TrimRight(strings.ReplaceAll(string(b), "\x00", " "), " ")
}

// pidsMentioning lists the live processes whose command line contains s
// (a path only this test uses), the test binary excepted.
func pidsMentioning(s string) []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if strings.Contains(cmdline(pid), s) && alive(pid) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// allMonitors lists every "[lxc monitor]" process on the host.
func allMonitors() []string {
	var titles []string
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if c := cmdline(pid); strings.HasPrefix(c, "[lxc monitor]") {
			titles = append(titles, fmt.Sprintf("%d %s", pid, c))
		}
	}
	return titles
}

// linkLines is `ip -o link` as "index: name:", one interface a line
// (flags and state left out: they change by themselves).
func linkLines(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "-o", "link").Output()
	if err != nil {
		t.Fatalf("ip -o link: %v", err)
	}
	var links []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if f := strings.Fields(line); len(f) >= 2 {
			links = append(links, f[0]+" "+f[1])
		}
	}
	return links
}

// hostState is what a container's life cycle must leave as it found it on
// the host.
type hostState struct {
	mounts   []string
	links    []string
	monitors []string
}

func snapshotHost(t *testing.T) hostState {
	t.Helper()
	return hostState{mounts: mountLines(), links: linkLines(t), monitors: allMonitors()}
}

// diffLines returns what is in b and not in a, and the other way round.
func diffLines(a, b []string) (added, removed []string) {
	count := map[string]int{}
	for _, s := range a {
		count[s]++
	}
	for _, s := range b {
		if count[s] > 0 {
			count[s]--
		} else {
			added = append(added, s)
		}
	}
	for s, n := range count {
		for ; n > 0; n-- {
			removed = append(removed, s)
		}
	}
	sort.Strings(removed)
	return added, removed
}

// hostLeaks compares the host with before, giving a moment for monitors
// still exiting, and describes what was added: a mount, an interface or a
// monitor that appeared. What vanished meanwhile, and what appeared in
// another test's lab (another run of this suite may share the host), is
// someone else's doing and only logged.
func hostLeaks(t *testing.T, l *lab, before hostState) []string {
	t.Helper()
	own := filepath.Dir(l.path)
	foreign := func(s string) bool { return strings.Contains(s, "/golxc-it-") && !strings.Contains(s, own) }
	var leaks, notes []string
	waitFor(3*time.Second, func() bool {
		now := snapshotHost(t)
		leaks, notes = nil, nil
		for _, c := range []struct {
			what   string
			before []string
			now    []string
		}{
			{"lines of /proc/self/mountinfo", before.mounts, now.mounts},
			{"interfaces in ip -o link", before.links, now.links},
			{`"[lxc monitor]" processes`, before.monitors, now.monitors},
		} {
			added, removed := diffLines(c.before, c.now)
			var ours []string
			for _, a := range added {
				if foreign(a) {
					notes = append(notes, fmt.Sprintf("%s: another lab's %q appeared meanwhile", c.what, a))
				} else {
					ours = append(ours, a)
				}
			}
			if len(ours) > 0 {
				leaks = append(leaks, fmt.Sprintf("%d %s, was %d: added %q (removed %q)", len(c.now), c.what, len(c.before), ours, removed))
			} else if len(removed) > 0 {
				notes = append(notes, fmt.Sprintf("%s removed meanwhile: %q", c.what, removed))
			}
		}
		return len(leaks) == 0
	})
	for _, n := range notes {
		t.Log(n)
	}
	return leaks
}

// procStart is pid's start time in clock ticks since boot (field 22 of
// /proc/PID/stat), to tell a process from a later one with its pid.
func procStart(pid int) (uint64, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); the start time is field 22.
	if len(f) < 20 {
		return 0, false
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	return v, err == nil
}

// pidGone reports whether the process that had pid and start time start no
// longer exists (not even as a zombie).
func pidGone(pid int, start uint64) bool {
	now, ok := procStart(pid)
	return !ok || now != start
}

// hiddenEntries lists the dot entries of dir (unfinished creates and
// destroys).
func hiddenEntries(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	var hidden []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			hidden = append(hidden, e.Name())
		}
	}
	return hidden
}

// lsNames is lxc-ls -1 as a list.
func (l *lab) lsNames() []string {
	l.t.Helper()
	return strings.Fields(l.mustRun("lxc-ls", "-1"))
}

// nonEmptyLines returns the non-blank lines of s.
func nonEmptyLines(s string) []string {
	var lines []string
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) != "" {
			lines = append(lines, line)
		}
	}
	return lines
}

// TestLockConcurrentStart: 20 racing lxc-start of one stopped container
// start it once; every one exits 0 and the losers say it is running.
func TestLockConcurrentStart(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	n := l.createBusybox()
	type result struct {
		out, errs string
		code      int
	}
	res := make([]result, 20)
	var wg sync.WaitGroup
	for i := range res {
		wg.Go(func() {
			r := &res[i]
			r.out, r.errs, r.code = l.run("lxc-start", "-n", n)
		})
	}
	wg.Wait()
	quiet := 0
	for i, r := range res {
		switch {
		case r.code != 0:
			t.Errorf("20 concurrent lxc-start -P %s -n %s, #%d: exit %d, want 0\nstdout: %s\nstderr: %s", l.path, n, i, r.code, r.out, r.errs)
		case strings.TrimSpace(r.errs) == "":
			quiet++
		case !strings.Contains(r.errs, "already running") || len(nonEmptyLines(r.errs)) != 1:
			t.Errorf("20 concurrent lxc-start -n %s, #%d: stderr %q, want one line saying %q", n, i, r.errs, "already running")
		}
	}
	if quiet != 1 {
		t.Errorf("20 concurrent lxc-start -n %s: %d of them said nothing (started it), want exactly 1", n, quiet)
	}
	state, pid := l.statePID(n)
	if state != "RUNNING" || pid <= 0 {
		t.Fatalf("after 20 concurrent lxc-start -n %s: state %s pid %d, want RUNNING with an init", n, state, pid)
	}
	for range 5 {
		time.Sleep(50 * time.Millisecond)
		if s, p := l.statePID(n); s != "RUNNING" || p != pid {
			t.Errorf("after 20 concurrent lxc-start -n %s: lxc-info went from RUNNING/%d to %s/%d (a second init?)", n, pid, s, p)
		}
	}
	if m := monitorPIDs(l.path, n); len(m) != 1 {
		t.Errorf("after 20 concurrent lxc-start -n %s: %d monitors %v, want 1", n, len(m), m)
	}
	for _, d := range cgroupDirs(n) {
		if !strings.HasSuffix(d, "."+n) {
			t.Errorf("after 20 concurrent lxc-start -n %s: second cgroup %s (a second start ran)", n, d)
		}
	}
}

// TestLockConcurrentCreate: 20 racing lxc-create of one name make one
// container and no debris.
func TestLockConcurrentCreate(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	l := newRelLab(t)
	n := l.newContainer()
	conf := l.conf()
	type result struct {
		out, errs string
		code      int
	}
	res := make([]result, 20)
	var wg sync.WaitGroup
	for i := range res {
		wg.Go(func() {
			r := &res[i]
			r.out, r.errs, r.code = l.run("lxc-create", "-n", n, "-t", "busybox", "-f", conf)
		})
	}
	wg.Wait()
	won := 0
	for i, r := range res {
		switch r.code {
		case 0:
			won++
		case 1:
			if len(nonEmptyLines(r.errs)) != 1 || !strings.Contains(r.errs, n) {
				t.Errorf("20 concurrent lxc-create -n %s, #%d (lost): stderr %q, want one line naming %s", n, i, r.errs, n)
			}
		default:
			t.Errorf("20 concurrent lxc-create -P %s -n %s, #%d: exit %d, want 0 or 1\nstdout: %s\nstderr: %s", l.path, n, i, r.code, r.out, r.errs)
		}
	}
	if won != 1 {
		t.Errorf("20 concurrent lxc-create -n %s: %d exited 0, want exactly 1", n, won)
	}
	ents, err := os.ReadDir(l.path)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if len(names) != 1 || names[0] != n {
		t.Errorf("20 concurrent lxc-create -n %s: lxcpath holds %v, want only %s", n, names, n)
	}
	if got := l.lsNames(); len(got) != 1 || got[0] != n {
		t.Errorf("lxc-ls -1 after 20 concurrent lxc-create -n %s: %v, want [%s]", n, got, n)
	}
	// The winner made a whole container: it starts.
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	l.mustRun("lxc-stop", "-n", n, "-k")
}

// TestLockDestroyRacingStart: lxc-destroy -f against lxc-start, at several
// offsets. Each round must end in one clear state: destroyed (no dir, no
// monitor, no cgroups, no lock), or defined and running. Never a running
// container without its directory, nor a directory without a config.
func TestLockDestroyRacingStart(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	l := newRelLab(t)
	conf := l.conf()
	for round := range 10 {
		n := l.newContainer()
		l.mustRun("lxc-create", "-n", n, "-t", "busybox", "-f", conf)
		// Even rounds start first, odd ones destroy first; the offset
		// grows so that some rounds land in the middle of the start.
		offset := time.Duration(round/2*3) * time.Millisecond
		opts := runOpts{timeout: 30 * time.Second}
		var sErr, dErr string
		var sCode, dCode int
		var wg sync.WaitGroup
		wg.Go(func() {
			if round%2 == 1 {
				time.Sleep(offset)
			}
			_, sErr, sCode = l.runWith(opts, "lxc-start", "-n", n)
		})
		wg.Go(func() {
			if round%2 == 0 {
				time.Sleep(offset)
			}
			_, dErr, dCode = l.runWith(opts, "lxc-destroy", "-n", n, "-f")
		})
		wg.Wait()
		what := fmt.Sprintf("round %d: lxc-start -P %s -n %s (exit %d, stderr %q) racing lxc-destroy -f (exit %d, stderr %q), %v apart",
			round, l.path, n, sCode, strings.TrimSpace(sErr), dCode, strings.TrimSpace(dErr), offset)
		if sCode == -1 || dCode == -1 {
			t.Errorf("%s: a tool hung or died", what)
			continue
		}
		dir := filepath.Join(l.path, n)
		_, dirErr := os.Lstat(dir)
		_, cfgErr := os.Stat(filepath.Join(dir, "config"))
		monitors := monitorPIDs(l.path, n)
		switch {
		case dirErr == nil && cfgErr != nil:
			t.Errorf("%s: %s exists without a config", what, dir)
		case dirErr != nil && len(monitors) > 0:
			t.Errorf("%s: the container runs (monitors %v) but %s is gone", what, monitors, dir)
		case dirErr != nil:
			// Destroyed: nothing of it may be left.
			if dCode != 0 {
				t.Errorf("%s: the container is gone but lxc-destroy -f failed", what)
			}
			if left := waitNoCgroups(n, 2*time.Second); len(left) > 0 {
				t.Errorf("%s: destroyed, yet its cgroups remain: %v", what, left)
			}
			if _, err := os.Lstat(lockFile(l.path, n)); err == nil {
				t.Errorf("%s: destroyed, yet its lock %s remains", what, lockFile(l.path, n))
			}
			if _, errs, code := l.run("lxc-info", "-n", n); code != 1 || !strings.Contains(errs, "doesn't exist") {
				t.Errorf("%s: destroyed, yet lxc-info -n %s exits %d (%q), want 1 and \"doesn't exist\"", what, n, code, errs)
			}
		default:
			// Still defined: lxc-destroy -f must then have failed, and
			// the container must be running (the start won) or stopped
			// with nothing of a run left.
			if dCode == 0 {
				t.Errorf("%s: lxc-destroy -f exited 0 but %s is still there", what, dir)
			}
			state := l.state(n)
			switch {
			case state == "RUNNING" && len(monitors) == 1:
			case state == "STOPPED" && len(monitors) == 0:
				if left := waitNoCgroups(n, 2*time.Second); len(left) > 0 {
					t.Errorf("%s: stopped, yet its cgroups remain: %v", what, left)
				}
			default:
				t.Errorf("%s: defined, state %s with monitors %v, want RUNNING with one monitor", what, state, monitors)
			}
		}
		if h := hiddenEntries(t, l.path); len(h) > 0 {
			t.Errorf("%s: hidden entries left in the lxcpath: %v", what, h)
		}
		t.Logf("%s: dir exists %v", what, dirErr == nil)
	}
}

// TestLockFileLifetime: a container's lock lives under /run (a reboot
// clears it) and goes with the container.
func TestLockFileLifetime(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	n := l.startBusybox()
	lock := lockFile(l.path, n)
	if _, err := os.Stat(lock); err != nil {
		t.Errorf("lxc-start -P %s -n %s: no lock at %s: %v", l.path, n, lock, err)
	}
	l.mustRun("lxc-destroy", "-n", n, "-f")
	if _, err := os.Lstat(lock); err == nil {
		t.Errorf("lxc-destroy -f -P %s -n %s: the lock %s is still there", l.path, n, lock)
	}
	// A create that fails leaves no lock either.
	m := l.newContainer()
	if _, _, code := l.run("lxc-create", "-n", m, "-t", "none", "-f", l.conf("lxc.rootfs.path = dir:/nonexistent/golxc")); code != 1 {
		t.Errorf("lxc-create -n %s with a missing rootfs: exit %d, want 1", m, code)
	}
	if _, err := os.Lstat(lockFile(l.path, m)); err == nil {
		t.Errorf("failed lxc-create -P %s -n %s: left its lock %s", l.path, m, lockFile(l.path, m))
	}
}

// killMonitor SIGKILLs the one monitor of lxcpath/name (a process this
// test started) and returns its pid.
func (l *lab) killMonitor(name string) int {
	l.t.Helper()
	m := monitorPIDs(l.path, name)
	if len(m) != 1 {
		l.t.Fatalf("want one monitor of %s/%s, found %v", l.path, name, m)
	}
	if err := syscall.Kill(m[0], syscall.SIGKILL); err != nil {
		l.t.Fatalf("kill -9 %d (monitor of %s): %v", m[0], name, err)
	}
	return m[0]
}

// waitGone waits for the process pid (started at start) to be gone and
// fails the test if it is not.
func waitGone(t *testing.T, pid int, start uint64, what string) {
	t.Helper()
	if !waitFor(5*time.Second, func() bool { return pidGone(pid, start) }) {
		state := "alive"
		if !alive(pid) {
			state = "a zombie"
		}
		t.Errorf("%s: pid %d is still %s after 5s", what, pid, state)
	}
}

// TestCrashMonitorKilled: kill -9 of a monitor stops no container: the
// tools find it running with the same init, lxc-attach and lxc-stop work;
// once more, and lxc-destroy -f of it adopted leaves nothing.
func TestCrashMonitorKilled(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	n := l.startBusybox()
	pid := l.initPID(n)
	start, ok := procStart(pid)
	if !ok {
		t.Fatalf("lxc-info -n %s -p says %d, which does not exist", n, pid)
	}
	mon := l.killMonitor(n)
	if pidGone(pid, start) {
		t.Fatalf("kill -9 %d (monitor of %s): its init %d died with it", mon, n, pid)
	}
	if s, got := l.statePID(n); s != "RUNNING" || got != pid {
		t.Errorf("lxc-info -n %s after kill -9 of its monitor: %s, init %d; want RUNNING, %d", n, s, got, pid)
	}
	l.attach(n, "/bin/true")
	l.mustRun("lxc-stop", "-n", n, "-k")
	waitGone(t, pid, start, "lxc-stop -k of the adopted "+n)
	assertNoCgroups(t, n, "lxc-stop -k of a container adopted after kill -9 of its monitor")

	// The next start works, on a fresh init, and it is supervised.
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	pid2 := l.initPID(n)
	if pid2 == pid || pid2 <= 0 {
		t.Errorf("lxc-start -n %s after the crash: init %d, want a new one (old %d)", n, pid2, pid)
	}
	l.attach(n, "/bin/true")

	// Crash again, and destroy it: the empty cgroups go too.
	start2, _ := procStart(pid2)
	l.killMonitor(n)
	l.mustRun("lxc-destroy", "-n", n, "-f")
	waitGone(t, pid2, start2, "lxc-destroy -f of the adopted "+n)
	if _, err := os.Lstat(filepath.Join(l.path, n)); err == nil {
		t.Errorf("lxc-destroy -n %s after a monitor crash: its directory is still there", n)
	}
	assertNoCgroups(t, n, "kill -9 of the monitor, then lxc-destroy -f")
	if _, err := os.Lstat(lockFile(l.path, n)); err == nil {
		t.Errorf("lxc-destroy -n %s after a monitor crash: lock %s left", n, lockFile(l.path, n))
	}
}

// TestCrashHostReboot: everything of a running container killed at once,
// as by a power cut (except that cgroups and /run survive, which is
// harder): the next start does not trip on what is left.
func TestCrashHostReboot(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	n := l.startBusybox()
	pid := l.initPID(n)
	start, _ := procStart(pid)
	m := monitorPIDs(l.path, n)
	if len(m) != 1 {
		t.Fatalf("want one monitor of %s, got %v", n, m)
	}
	mstart, _ := procStart(m[0])
	// Init first, then the monitor, before it can react.
	syscall.Kill(pid, syscall.SIGKILL)
	syscall.Kill(m[0], syscall.SIGKILL)
	waitGone(t, pid, start, "kill -9 of init")
	waitGone(t, m[0], mstart, "kill -9 of the monitor")
	// A reboot empties /run, and with it the locks of this lxcpath.
	if err := os.RemoveAll(filepath.Join(lockRoot, l.path)); err != nil {
		t.Fatal(err)
	}
	if s := l.state(n); s != "STOPPED" {
		t.Errorf("lxc-info -n %s with monitor and init killed: state %s, want STOPPED", n, s)
	}
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	l.attach(n, "/bin/true")
	l.mustRun("lxc-stop", "-n", n, "-k")
	assertNoCgroups(t, n, "stale kill, start, lxc-stop -k")
}

// TestCrashCreateKilled: kill -9 of lxc-create while its template runs
// leaves no container; the next create of the name works and sweeps the
// half-made one.
func TestCrashCreateKilled(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	l := newRelLab(t)
	n := l.newContainer()
	pidfile := filepath.Join(l.aux, "template.pid")
	script := l.writeFile("slow.sh", `#!/bin/sh
for a in "$@"; do case $a in --rootfs=*) r=${a#--rootfs=}; mkdir -p "$r/bin" && echo half > "$r/bin/half" ;; esac; done
echo $$ > `+pidfile+`.tmp && mv `+pidfile+`.tmp `+pidfile+`
exec sleep 60
`, 0o755)
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-create"), "-P", l.path, "-n", n, "-t", script, "-f", l.conf())
	// A file, not a pipe: the orphaned template keeps its stderr open.
	stderr, err := os.Create(filepath.Join(l.aux, "create.stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer stderr.Close()
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var tpid int
	if !waitFor(10*time.Second, func() bool {
		b, err := os.ReadFile(pidfile)
		tpid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		return err == nil && tpid > 0
	}) {
		cmd.Process.Kill()
		cmd.Wait()
		b, _ := os.ReadFile(stderr.Name())
		t.Fatalf("lxc-create -t %s: the template never ran (stderr %q)", script, b)
	}
	// The orphaned template is ours to end, after the checks.
	t.Cleanup(func() {
		if alive(tpid) {
			syscall.Kill(tpid, syscall.SIGKILL)
		}
	})
	cmd.Process.Kill()
	cmd.Wait()

	if got := l.lsNames(); len(got) != 0 {
		t.Errorf("lxc-ls -1 after kill -9 of lxc-create -n %s: %v, want nothing", n, got)
	}
	if _, errs, code := l.run("lxc-info", "-n", n); code != 1 || !strings.Contains(errs, "doesn't exist") {
		t.Errorf("lxc-info -n %s after kill -9 of its lxc-create: exit %d (%q), want 1 and \"doesn't exist\"", n, code, errs)
	}
	t.Logf("after kill -9 of lxc-create: lxcpath holds %v", hiddenEntries(t, l.path))

	l.mustRun("lxc-create", "-n", n, "-t", "busybox", "-f", l.conf())
	if _, err := os.Stat(filepath.Join(l.path, n, "rootfs", "bin", "half")); err == nil {
		t.Errorf("lxc-create -n %s after a killed create: the new rootfs holds the killed template's file", n)
	}
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	l.mustRun("lxc-stop", "-n", n, "-k")
	if got := l.lsNames(); len(got) != 1 || got[0] != n {
		t.Errorf("lxc-ls -1 after the second lxc-create -n %s: %v, want [%s]", n, got, n)
	}
	// The sweep takes each hidden dir's own lock, free once its create
	// died: the create of the same name sweeps it too.
	if h := hiddenEntries(t, l.path); len(h) > 0 {
		t.Errorf("lxc-create -n %s after a killed lxc-create of it: hidden dirs left in the lxcpath: %v", n, h)
	}
}

// TestCrashDestroyKilled: kill -9 of lxc-destroy half-way through removing
// a big rootfs leaves no container, and the next create sweeps the rest.
func TestCrashDestroyKilled(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	n := l.createBusybox()
	// Enough files that the removal takes a while.
	junk := filepath.Join(l.path, n, "rootfs", "junk")
	for i := range 60 {
		d := filepath.Join(junk, strconv.Itoa(i))
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for j := range 200 {
			if err := os.WriteFile(filepath.Join(d, strconv.Itoa(j)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cmd := exec.Command(filepath.Join(binDir(t), "lxc-destroy"), "-P", l.path, "-n", n)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	caught := waitForFast(10*time.Second, func() bool {
		// Renamed out of sight, being removed.
		for _, h := range hiddenEntries(t, l.path) {
			if _, err := os.Lstat(filepath.Join(l.path, h, n, "rootfs", "junk")); err == nil && strings.HasPrefix(h, "."+n+".destroying-") {
				return true
			}
		}
		return false
	})
	cmd.Process.Kill()
	err := cmd.Wait()
	if !caught {
		t.Skipf("lxc-destroy -n %s was done before it could be killed half-way (%v)", n, err)
	}
	t.Logf("after kill -9 of lxc-destroy: lxcpath holds %v", hiddenEntries(t, l.path))
	if got := l.lsNames(); len(got) != 0 {
		t.Errorf("lxc-ls -1 after kill -9 of lxc-destroy -n %s: %v, want nothing", n, got)
	}
	if _, errs, code := l.run("lxc-info", "-n", n); code != 1 || !strings.Contains(errs, "doesn't exist") {
		t.Errorf("lxc-info -n %s after kill -9 of its lxc-destroy: exit %d (%q), want 1 and \"doesn't exist\"", n, code, errs)
	}
	if _, err := os.Lstat(lockFile(l.path, n)); err == nil {
		t.Errorf("kill -9 of lxc-destroy -n %s after its rename: lock %s left", n, lockFile(l.path, n))
	}
	l.createBusybox()
	if h := hiddenEntries(t, l.path); len(h) > 0 {
		t.Errorf("lxc-create after a killed lxc-destroy -n %s: hidden dirs left in the lxcpath: %v", n, h)
	}
	// The sweep takes the swept name's lock to see that nobody works on
	// it, which creates the lock file: it must not stay behind.
	if _, err := os.Lstat(lockFile(l.path, n)); err == nil {
		os.Remove(lockFile(l.path, n)) // ours: this test's lxcpath
		knownBug(t, fmt.Sprintf("lxc-create's sweep of the debris of %s (killed lxc-destroy) leaves the lock file %s of that undefined name behind", n, lockFile(l.path, n)))
	}
}

// waitForFast is waitFor polling every millisecond, to catch a short-lived
// state.
func waitForFast(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	return true
}

// knownBug skips the rest of a test that hit a reported, unfixed bug
// (after every other check of the test has had its say). Once the bug is
// fixed the condition no longer holds and the test runs in full.
func knownBug(t *testing.T, what string) {
	t.Helper()
	t.Fatal("BUG: " + what)
}

// cycleKind is one way a start/stop cycle can go.
type cycleKind int

const (
	cycleKill  cycleKind = iota // busybox init, lxc-stop -k
	cycleTrue                   // an init that exits at once
	cycleClean                  // busybox init, a clean lxc-stop
)

func (k cycleKind) String() string {
	return [...]string{"start; stop -k", "start -- /bin/true", "start; stop"}[k]
}

// cycleKindOf alternates kill and exit-at-once cycles, with a clean stop
// every cleanEvery-th.
func cycleKindOf(i, cleanEvery int) cycleKind {
	switch {
	case i%cleanEvery == cleanEvery-1:
		return cycleClean
	case i%2 == 0:
		return cycleKill
	default:
		return cycleTrue
	}
}

// cycle starts and stops n once and returns what went wrong, if anything,
// after checking that the container is STOPPED with no monitor and no
// cgroups. It does not fail the test itself, so that a soak can count.
func (l *lab) cycle(n string, kind cycleKind) error {
	l.t.Helper()
	var (
		out, errs string
		code      int
	)
	switch kind {
	case cycleTrue:
		out, errs, code = l.run("lxc-start", "-n", n, "--", "/bin/true")
		// 0, or 1 with the reason the container stopped first.
		if code != 0 && (code != 1 || len(nonEmptyLines(errs)) != 1) {
			return fmt.Errorf("lxc-start -n %s -- /bin/true: exit %d\nstdout: %s\nstderr: %s", n, code, out, errs)
		}
	default:
		out, errs, code = l.run("lxc-start", "-n", n)
		if code != 0 {
			return fmt.Errorf("lxc-start -n %s: exit %d\nstdout: %s\nstderr: %s", n, code, out, errs)
		}
		stop := []string{"-n", n, "-k"}
		if kind == cycleClean {
			stop = []string{"-n", n, "-t", "30"}
		}
		out, errs, code = l.run("lxc-stop", stop...)
		if code != 0 {
			return fmt.Errorf("lxc-stop %s: exit %d\nstdout: %s\nstderr: %s", shellJoin(stop), code, out, errs)
		}
	}
	if !waitFor(10*time.Second, func() bool { return len(monitorPIDs(l.path, n)) == 0 }) {
		return fmt.Errorf("%s: monitor still running after 10s: %v", kind, monitorPIDs(l.path, n))
	}
	out, errs, code = l.run("lxc-info", "-n", n, "-s")
	if f := strings.Fields(out); code != 0 || len(f) == 0 || f[len(f)-1] != "STOPPED" {
		return fmt.Errorf("%s: lxc-info -n %s -s: exit %d, %q, want STOPPED (stderr %q)", kind, n, code, out, errs)
	}
	if left := waitNoCgroups(n, 2*time.Second); len(left) > 0 {
		return fmt.Errorf("%s: cgroups left: %v", kind, left)
	}
	return nil
}

// lockDirExtra lists what the lock dir of lxcpath holds besides the
// locks of names.
func lockDirExtra(lxcpath string, names ...string) []string {
	ents, _ := os.ReadDir(filepath.Join(lockRoot, lxcpath))
	var extra []string
	for _, e := range ents {
		// A container's lock file is ".NAME", as LXC names it.
		if !slices.Contains(names, strings.TrimPrefix(e.Name(), ".")) {
			extra = append(extra, e.Name())
		}
	}
	return extra
}

// TestNoLeaksCycles: 50 start/stop cycles of every kind leave the host as
// they found it. (test/soak_test.go does 1000.) Not parallel: it compares
// host-wide counts, which the other tests of this package would move.
func TestNoLeaksCycles(t *testing.T) {
	l := newRelLab(t)
	n := l.createBusybox()
	before := snapshotHost(t)
	for i := range 50 {
		if err := l.cycle(n, cycleKindOf(i, 25)); err != nil {
			t.Fatalf("cycle %d: %v", i, err)
		}
	}
	for _, leak := range hostLeaks(t, l, before) {
		t.Errorf("after 50 start/stop cycles of %s: %s", n, leak)
	}
	if extra := lockDirExtra(l.path, n); len(extra) > 0 {
		t.Errorf("after 50 start/stop cycles of %s: the lock dir holds %v besides its lock", n, extra)
	}
}
