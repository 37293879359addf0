package test

// Mistakes a new user makes with lxc-create and lxc-start (issue 7, item 5
// and item 7): a container without a rootfs of its own must never boot the
// host's own init on the host's root filesystem; names too long for a host
// name are refused up front; and two containers of the same name in two
// lxcpaths never share a cgroup.

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestAttackCreateWithoutTemplate: "lxc-create -n c1" (no -t) is refused as
// LXC's lxc-create refuses it (exit 1), in one line that points at -t none,
// and makes nothing: no container, no lxcpath entry, no lock.
func TestAttackCreateWithoutTemplate(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	rootfs := filepath.Join(l.aux, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args func(n string) []string
	}{
		{"no -t, no -f", func(n string) []string { return []string{"-n", n} }},
		{"no -t, -f without a rootfs", func(n string) []string { return []string{"-n", n, "-f", l.conf()} }},
		// Even a config that names a rootfs needs -t none to say so.
		{"no -t, -f with a rootfs", func(n string) []string { return []string{"-n", n, "-f", l.conf("lxc.rootfs.path = dir:" + rootfs)} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := l.with(t)
			n := l.newContainer()
			argv := tc.args(n)
			out, errs, code := l.run("lxc-create", argv...)
			if code != 1 {
				t.Errorf("lxc-create -P %s %s: exit %d, want 1 (as LXC's lxc-create)\nstdout: %s\nstderr: %s", l.path, shellJoin(argv), code, out, errs)
			}
			lines := nonEmptyLines(errs)
			if len(lines) != 1 || !strings.Contains(errs, "a template must be specified") || !strings.Contains(errs, "-t none") {
				t.Errorf("lxc-create -P %s %s: stderr %q, want one line saying a template must be specified and pointing at -t none", l.path, shellJoin(argv), errs)
			}
			l.assertEmptyLXCPath("lxc-create without -t")
			if _, err := os.Lstat(lockFile(l.path, n)); err == nil {
				t.Errorf("lxc-create without -t left the lock file %s", lockFile(l.path, n))
			}
		})
	}
}

// TestAttackCreateNoneWithoutRootfs: -t none builds no rootfs, so the config
// (-f, or the default config) must name one that exists; otherwise one line
// naming lxc.rootfs.path or the path, exit 1, and nothing left behind.
func TestAttackCreateNoneWithoutRootfs(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	file := l.writeFile("not-a-dir", "", 0o644)
	missing := filepath.Join(l.aux, "no", "such", "rootfs")
	defNoRootfs := l.writeFile("default-norootfs.conf", "lxc.net.0.type = empty\n", 0o644)
	for _, tc := range []struct {
		name    string
		args    []string
		env     []string
		wantErr []string
	}{
		{name: "-f without lxc.rootfs.path", args: []string{"-f", l.conf()}, wantErr: []string{"lxc.rootfs.path"}},
		{name: "default config without lxc.rootfs.path", env: systemConfig(t, "lxc.default_config = "+defNoRootfs+"\n"), wantErr: []string{"lxc.rootfs.path"}},
		{name: "missing rootfs", args: []string{"-f", l.conf("lxc.rootfs.path = dir:" + missing)}, wantErr: []string{missing, "lxc.rootfs.path"}},
		{name: "rootfs is a file", args: []string{"-f", l.conf("lxc.rootfs.path = " + file)}, wantErr: []string{file}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := l.with(t)
			n := l.newContainer()
			argv := append([]string{"-n", n, "-t", "none"}, tc.args...)
			out, errs, code := l.runWith(runOpts{env: tc.env}, "lxc-create", argv...)
			if code != 1 {
				t.Errorf("lxc-create -P %s %s: exit %d, want 1\nstdout: %s\nstderr: %s", l.path, shellJoin(argv), code, out, errs)
			}
			if lines := nonEmptyLines(errs); len(lines) != 1 {
				t.Errorf("lxc-create -P %s %s: %d lines on stderr, want one: %q", l.path, shellJoin(argv), len(lines), errs)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(errs, w) {
					t.Errorf("lxc-create -P %s %s: stderr %q does not name %q", l.path, shellJoin(argv), errs, w)
				}
			}
			l.assertEmptyLXCPath("lxc-create -t none without a rootfs")
		})
	}
}

// hostInitID is the device and inode of the host's init binary
// (/sbin/init, links followed).
func hostInitID(t *testing.T) [2]uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/sbin/init", &st); err != nil {
		t.Skipf("no /sbin/init on this host: %v", err)
	}
	return [2]uint64{st.Dev, st.Ino}
}

// initWatch records every process that runs the host's init binary and did
// not exist when the watch began, and kills it at once: should the refusal
// under test ever break, the host's init must not get far.
type initWatch struct {
	id     [2]uint64
	before map[int]bool
	stop   chan struct{}
	done   chan struct{}
	mu     sync.Mutex
	seen   map[int]string
}

func watchHostInit(t *testing.T) *initWatch {
	t.Helper()
	w := &initWatch{id: hostInitID(t), before: map[int]bool{}, stop: make(chan struct{}), done: make(chan struct{}), seen: map[int]string{}}
	for _, pid := range w.initPIDs() {
		w.before[pid] = true
	}
	go func() {
		defer close(w.done)
		for {
			for _, pid := range w.initPIDs() {
				if w.before[pid] {
					continue
				}
				syscall.Kill(pid, syscall.SIGKILL)
				w.mu.Lock()
				if _, ok := w.seen[pid]; !ok {
					w.seen[pid] = cmdline(pid)
				}
				w.mu.Unlock()
			}
			select {
			case <-w.stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	t.Cleanup(func() { w.finish() })
	return w
}

// initPIDs lists the processes whose executable is the host's init.
func (w *initWatch) initPIDs() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(filepath.Join("/proc", e.Name(), "exe"), &st) == nil && st.Dev == w.id[0] && st.Ino == w.id[1] {
			pids = append(pids, pid)
		}
	}
	return pids
}

// finish stops the watch and returns what it saw.
func (w *initWatch) finish() map[int]string {
	select {
	case <-w.stop:
	default:
		close(w.stop)
	}
	<-w.done
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}

// lockHeld reports whether someone holds the flock of path (a file that does
// not exist is not held).
func lockHeld(t *testing.T, path string) bool {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		return true
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	return false
}

// TestAttackStartHostInit: a config without lxc.rootfs.path (a container
// made by hand, by another tool, or an rcfile) started without a command
// is refused with exit 1 and one line naming lxc.rootfs.path; the host's
// init is never run; no cgroup, monitor or held lock is left.
func TestAttackStartHostInit(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	rootfs := filepath.Join(l.aux, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	// Should the refusal ever break, the host's init starts with no
	// capabilities and no network: a belt, not what the test relies on.
	belt := []string{"lxc.cap.keep = none"}
	// A defined container whose config names no rootfs, as LXC's
	// "lxc-create -t none" without one, or an older golxc, leaves it.
	defined := l.newContainer()
	l.mustRun("lxc-create", "-n", defined, "-t", "none", "-f", l.conf("lxc.rootfs.path = dir:"+rootfs))
	cfgPath := filepath.Join(l.path, defined, "config")
	var kept []string
	for _, line := range strings.Split(readTrim(t, cfgPath), "\n") {
		if !strings.HasPrefix(line, "lxc.rootfs.path") {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Join(append(kept, belt...), "\n")+"\n"), 0o640); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name string
		ct   string
		args []string
	}{
		{name: "defined container", ct: defined},
		{name: "defined container, foreground", ct: defined, args: []string{"-F"}},
		{name: "rcfile", args: []string{"-f", l.conf(belt...)}},
		{name: "rcfile naming /sbin/init in lxc.init.cmd", args: []string{"-f", l.conf(append([]string{"lxc.init.cmd = /sbin/init"}, belt...)...)}},
		// The host's root under a name is no rootfs of the container's own.
		{name: "rcfile with lxc.rootfs.path = /", args: []string{"-f", l.conf(append([]string{"lxc.rootfs.path = dir:/"}, belt...)...)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := l.with(t)
			n := tc.ct
			if n == "" {
				n = l.newContainer()
			}
			before := storeListing(t, l.path)
			w := watchHostInit(t)
			argv := append([]string{"-n", n}, tc.args...)
			out, errs, code := l.run("lxc-start", argv...)
			// The refusal is immediate; a broken one would have had time to
			// exec init by now, and a little more for the watch to see it.
			time.Sleep(200 * time.Millisecond)
			if seen := w.finish(); len(seen) > 0 {
				t.Errorf("lxc-start -P %s %s ran the host's init: %v (killed)", l.path, shellJoin(argv), seen)
			}
			if code != 1 {
				t.Errorf("lxc-start -P %s %s: exit %d, want 1\nstdout: %s\nstderr: %s", l.path, shellJoin(argv), code, out, errs)
			}
			if lines := nonEmptyLines(errs); len(lines) != 1 || !strings.Contains(errs, "lxc.rootfs.path") {
				t.Errorf("lxc-start -P %s %s: stderr %q, want one line naming lxc.rootfs.path", l.path, shellJoin(argv), errs)
			}
			if pids := monitorPIDs(l.path, n); len(pids) > 0 {
				t.Errorf("lxc-start refused, yet monitors %v of %s run", pids, n)
			}
			if left := cgroupDirs(n); len(left) > 0 {
				t.Errorf("lxc-start refused, yet cgroups of %s exist: %v", n, left)
			}
			if lockHeld(t, lockFile(l.path, n)) {
				t.Errorf("lxc-start refused, yet the lock %s is held", lockFile(l.path, n))
			}
			if after := storeListing(t, l.path); !slices.Equal(before, after) {
				added, removed := diffLines(before, after)
				t.Errorf("lxc-start refused, yet the container store changed: added %q, removed %q", added, removed)
			}
			if tc.ct == "" {
				if _, err := os.Lstat(lockFile(l.path, n)); err == nil {
					t.Errorf("lxc-start -f of an rcfile-only container left its lock file %s", lockFile(l.path, n))
				}
			}
		})
	}
	if s := l.state(defined); s != "STOPPED" {
		t.Errorf("%s is %s, want STOPPED", defined, s)
	}
}

// TestAttackStartHostRootCommand: with an explicit command, a config
// without lxc.rootfs.path runs it on the host's root filesystem, as LXC
// documents (lxc.container.conf(5), lxc.rootfs.path), and says so in one
// warning line; -q silences it.
func TestAttackStartHostRootCommand(t *testing.T) {
	t.Parallel()
	l := newRelLab(t)
	marker := l.writeFile("marker", "host file\n", 0o644)
	conf := l.conf()
	for _, tc := range []struct {
		tool string
		args []string
	}{
		{"lxc-start", []string{"-F", "-f", conf, "--", "/bin/cat", marker}},
		{"lxc-execute", []string{"-f", conf, "--", "/bin/cat", marker}},
	} {
		t.Run(tc.tool, func(t *testing.T) {
			l := l.with(t)
			n := l.newContainer()
			argv := append([]string{"-n", n}, tc.args...)
			out, errs, code := l.run(tc.tool, argv...)
			// lxc-start -F passes the console through a pty: \r\n.
			if code != 0 || strings.TrimSpace(out) != "host file" {
				t.Errorf("%s -P %s %s: exit %d stdout %q, want 0 and the host's file\nstderr: %s", tc.tool, l.path, shellJoin(argv), code, out, errs)
			}
			lines := nonEmptyLines(errs)
			if len(lines) != 1 || !strings.Contains(lines[0], "warning") || !strings.Contains(lines[0], "shares the host's root filesystem") {
				t.Errorf("%s -P %s %s: stderr %q, want one warning line saying it shares the host's root filesystem", tc.tool, l.path, shellJoin(argv), errs)
			}
			argv = append([]string{"-q"}, argv...)
			if out, errs, code := l.run(tc.tool, argv...); code != 0 || errs != "" {
				t.Errorf("%s -P %s %s: exit %d, stderr %q, want 0 and nothing\nstdout: %s", tc.tool, l.path, shellJoin(argv), code, errs, out)
			}
			assertNoCgroups(t, n, tc.tool)
		})
	}
}

// TestAttackCreateLongName: a name longer than the 64 bytes of a host name
// (lxc.uts.name) is refused by lxc-create in one line, before anything is
// made, as LXC's create fails on it; 64 bytes work. A container of such a
// name made by other means is listed, started when its config names a
// host name, refused in one line when it does not, and destroyed.
func TestAttackCreateLongName(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	l := newRelLab(t)
	for _, size := range []int{65, 200} {
		t.Run(fmt.Sprintf("%d bytes", size), func(t *testing.T) {
			l := l.with(t)
			n := newName(t)
			n += strings.Repeat("x", size-len(n))
			l.track(n)
			out, errs, code := l.run("lxc-create", "-n", n, "-t", "busybox", "-f", l.conf())
			if code != 1 {
				t.Errorf("lxc-create -n <%d bytes> -t busybox: exit %d, want 1\nstdout: %s\nstderr: %s", size, code, out, errs)
			}
			if lines := nonEmptyLines(errs); len(lines) != 1 || !strings.Contains(errs, "lxc.uts.name") || !strings.Contains(errs, "64") {
				t.Errorf("lxc-create -n <%d bytes>: stderr %q, want one line naming lxc.uts.name and its 64 bytes", size, errs)
			}
			l.assertEmptyLXCPath(fmt.Sprintf("lxc-create of a %d-byte name", size))
		})
	}
	t.Run("64 bytes", func(t *testing.T) {
		l := l.with(t)
		n := newName(t)
		n += strings.Repeat("x", 64-len(n))
		l.track(n)
		l.mustRun("lxc-create", "-n", n, "-t", "busybox", "-f", l.conf())
		l.mustRun("lxc-start", "-n", n)
		l.waitState(n, "RUNNING", 10*time.Second)
		if out := strings.TrimSpace(l.attach(n, "/bin/hostname")); out != n {
			t.Errorf("hostname of a 64-byte name: %q, want %q", out, n)
		}
		l.mustRun("lxc-stop", "-n", n, "-k")
		l.mustRun("lxc-destroy", "-n", n)
	})
	t.Run("existing 100-byte name", func(t *testing.T) {
		l := l.with(t)
		src := l.createBusybox()
		n := newName(t)
		n += strings.Repeat("y", 100-len(n))
		l.track(n)
		// Made by hand from a working container: same rootfs, no host name.
		if err := os.Mkdir(filepath.Join(l.path, n), 0o770); err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, line := range strings.Split(readTrim(t, filepath.Join(l.path, src, "config")), "\n") {
			if !strings.HasPrefix(line, "lxc.uts.name") {
				lines = append(lines, line)
			}
		}
		cfg := filepath.Join(l.path, n, "config")
		if err := os.WriteFile(cfg, []byte(strings.Join(lines, "\n")+"\n"), 0o640); err != nil {
			t.Fatal(err)
		}
		if out := l.mustRun("lxc-ls", "-1"); !slices.Contains(strings.Fields(out), n) {
			t.Errorf("lxc-ls -1 does not list the 100-byte name: %q", out)
		}
		if out := l.mustRun("lxc-info", "-n", n, "-s"); !strings.Contains(out, "STOPPED") {
			t.Errorf("lxc-info -n <100 bytes> -s: %q, want STOPPED", out)
		}
		out, errs, code := l.run("lxc-start", "-n", n)
		if code != 1 || len(nonEmptyLines(errs)) != 1 || !strings.Contains(errs, "lxc.uts.name") {
			t.Errorf("lxc-start -n <100 bytes> without lxc.uts.name: exit %d stderr %q, want 1 and one line naming lxc.uts.name\nstdout: %s", code, errs, out)
		}
		if left := cgroupDirs(n); len(left) > 0 {
			t.Errorf("refused start left cgroups %v", left)
		}
		l.mustRun("lxc-destroy", "-n", n)
		if _, err := os.Lstat(filepath.Join(l.path, n)); err == nil {
			t.Errorf("lxc-destroy -n <100 bytes> left its directory")
		}
	})
}

// payloadCgroup is the pids-hierarchy cgroup of pid ("" when unknown).
func payloadCgroup(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatalf("read /proc/%d/cgroup: %v", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) == 3 && slices.Contains(strings.Split(f[1], ","), "pids") {
			return f[2]
		}
	}
	return ""
}

// TestAttackCgroupSameNameRace: cgroup names do not include the lxcpath,
// so c1 of lxcpath A and c1 of lxcpath B want the same lxc.payload.c1.
// Started at the same moment, again and again, they must end with distinct
// payload cgroups, both running; nothing is left after stop and destroy.
func TestAttackCgroupSameNameRace(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	a, b := newRelLab(t), newRelLab(t)
	n := newName(t)
	labs := []*lab{a, b}
	for _, l := range labs {
		l.track(n)
		l.mustRun("lxc-create", "-n", n, "-t", "busybox", "-f", l.conf())
	}
	const rounds = 20
	for round := 0; round < rounds; round++ {
		var wg sync.WaitGroup
		start := make(chan struct{})
		results := make([]string, len(labs))
		for i, l := range labs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				// runWith, not mustRun: only the test's goroutine may stop it.
				out, errs, code := runWith(t, runOpts{}, "lxc-start", "-P", l.path, "-n", n)
				if code != 0 {
					results[i] = fmt.Sprintf("lxc-start -P %s -n %s: exit %d\nstdout: %s\nstderr: %s", l.path, n, code, out, errs)
				}
			}()
		}
		close(start)
		wg.Wait()
		for _, r := range results {
			if r != "" {
				t.Fatalf("round %d: %s", round, r)
			}
		}
		var cgs []string
		for _, l := range labs {
			st, pid := l.statePID(n)
			if st != "RUNNING" || pid == 0 {
				t.Fatalf("round %d: %s/%s is %s (pid %d), want RUNNING", round, l.path, n, st, pid)
			}
			cgs = append(cgs, payloadCgroup(t, pid))
		}
		if cgs[0] == cgs[1] || !strings.Contains(cgs[0], "lxc.payload."+n) || !strings.Contains(cgs[1], "lxc.payload."+n) {
			t.Fatalf("round %d: payload cgroups %q and %q, want two distinct lxc.payload.%s groups", round, cgs[0], cgs[1], n)
		}
		// Each container still runs after the other's start: neither
		// start's teardown nor a takeover touched it.
		for _, l := range labs {
			if st := l.state(n); st != "RUNNING" {
				t.Fatalf("round %d: %s/%s is %s after both started, want RUNNING", round, l.path, n, st)
			}
		}
		for _, l := range labs {
			l.mustRun("lxc-stop", "-n", n, "-k")
		}
		if left := waitNoCgroups(n, 2*time.Second); len(left) > 0 {
			t.Fatalf("round %d: cgroups left after both stopped: %v", round, left)
		}
	}
	for _, l := range labs {
		l.mustRun("lxc-destroy", "-n", n)
	}
	assertNoCgroups(t, n, "lxc-destroy of both")
	locks, _ := filepath.Glob("/run/golxc/cgroup/lxc.*." + n + "*")
	if len(locks) > 0 {
		t.Errorf("cgroup locks left after stop and destroy: %v", locks)
	}
}
