package test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// cgroupLines are the lines of /proc/PID/cgroup, and of each of its
// threads (task/TID/cgroup): every thread must be where the process is.
func cgroupLines(t *testing.T, pid int) []string {
	t.Helper()
	var lines []string
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/cgroup", pid))
	for _, p := range append([]string{fmt.Sprintf("/proc/%d/cgroup", pid)}, tasks...) {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // a thread that just ended
		}
		lines = append(lines, strings.Split(strings.TrimSpace(string(b)), "\n")...)
	}
	return lines
}

// inCgroup says whether every hierarchy's line (named systemd, v1
// controllers, cgroup2) puts the process in a cgroup called dir (or dir-N).
func inCgroup(lines []string, dir string) bool {
	for _, l := range lines {
		f := strings.SplitN(l, ":", 3)
		if len(f) != 3 || f[1] == "hugetlb" || f[1] == "misc" || f[1] == "rdma" || f[1] == "net_cls,net_prio" || f[1] == "perf_event" {
			continue // hierarchies golxc does not place containers in by default
		}
		// A name in use gets a suffix (-1, -2 ...), as in LXC: several
		// tests' shared monitors run at once.
		if b := filepath.Base(f[2]); b != dir && !strings.HasPrefix(b, dir+"-") {
			return false
		}
	}
	return len(lines) > 0
}

// TestCgroupPlacement: the init stage is born in its cgroups (the monitor's
// thread steps in for the clone and back); lxc-execute, the monitor of its
// container, stays in the cgroup it was started in (no lxc.monitor.NAME:
// each move would wait for a grace period), except with a host hook, whose
// leftovers its monitor cgroup collects: then it moves into
// lxc.monitor.NAME while the stage sets up, as LXC's does. Every thread of
// the monitor included, and nothing is left after.
func TestCgroupPlacement(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	l := newLab(t)

	own := cgroupLines(t, os.Getpid())
	for _, hooked := range []bool{false, true} {
		var extra []string
		if hooked {
			extra = append(extra, "lxc.hook.pre-start = /bin/true")
		}
		n := l.createBusybox(extra...)
		ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
		cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-execute"), "-P", l.path, "-n", n, "--", "/bin/sleep", "30")
		if err := cmd.Start(); err != nil {
			cancel()
			t.Fatal(err)
		}
		stop := func() { cancel(); _ = cmd.Wait() }
		if !waitFor(10*time.Second, func() bool { return l.state(n) == "RUNNING" }) {
			stop()
			t.Fatalf("lxc-execute -n %s -- sleep 30: not RUNNING", n)
		}
		lines := cgroupLines(t, cmd.Process.Pid)
		switch {
		case hooked && !inCgroup(lines, "lxc.monitor."+n):
			t.Errorf("lxc-execute's monitor (pid %d) with a host hook not in lxc.monitor.%s everywhere:\n%s", cmd.Process.Pid, n, strings.Join(lines, "\n"))
		case !hooked:
			for _, line := range lines {
				if !slices.Contains(own, line) {
					t.Errorf("lxc-execute (pid %d) left the cgroups it was started in: %s (the test's: %s)", cmd.Process.Pid, line, strings.Join(own, " "))
				}
			}
			for _, h := range hierarchies(t) {
				if _, err := os.Stat(filepath.Join(h, "lxc.monitor."+n)); err == nil {
					t.Errorf("%s made for lxc-execute without hooks", filepath.Join(h, "lxc.monitor."+n))
				}
			}
		}
		if pid := l.initPID(n); !inCgroup(cgroupLines(t, pid), "lxc.payload."+n) {
			t.Errorf("init of %s (pid %d) not in lxc.payload.%s everywhere:\n%s", n, pid, n, strings.Join(cgroupLines(t, pid), "\n"))
		}
		l.mustRun("lxc-stop", "-k", "-n", n)
		if err := cmd.Wait(); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				cancel()
				t.Fatal(err)
			}
		}
		cancel()
		assertNoCgroups(t, n, "lxc-execute's end")
	}

	// lxc-start -d: the shared monitor's threads stay in its own cgroup.
	s := l.startBusybox()
	pid := l.initPID(s)
	if lines := cgroupLines(t, pid); !inCgroup(lines, "lxc.payload."+s) {
		t.Errorf("init of %s (pid %d) not in lxc.payload.%s everywhere:\n%s", s, pid, s, strings.Join(lines, "\n"))
	}
	for _, m := range monitorPIDs(l.path, s) {
		if lines := cgroupLines(t, m); !inCgroup(lines, "lxc.monitor.golxc-shared") {
			t.Errorf("a thread of the shared monitor (pid %d) left its cgroup:\n%s", m, strings.Join(lines, "\n"))
		}
	}
	l.mustRun("lxc-stop", "-k", "-n", s)
	assertNoCgroups(t, s, "lxc-stop -k")
}
