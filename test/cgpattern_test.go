package test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCgroupPattern (with a monitor per container, golxc.monitor =
// per-container, whose cgroup the pattern places too): with
// lxc.cgroup.pattern = TOP/%n and lxc.cgroup.use =
// memory,pids in the system config ($GOLXC_SYSTEM_CONFIG), init is in
// TOP/NAME/payload and the monitor in TOP/NAME/monitor of the memory, pids
// and unified hierarchies only, and in the root of every other one, as
// LXC 5.0.2 places them; the tools find the group there; lxc-stop and
// lxc-destroy leave nothing under TOP (LXC itself leaves TOP/NAME).
func TestCgroupPattern(t *testing.T) {
	l := newLab(t)
	top := cgTop(t)
	sys := l.writeFile("lxc.conf", "golxc.monitor = per-container\nlxc.cgroup.pattern = "+top+"/%n\nlxc.cgroup.use = memory,pids\n", 0o644)
	t.Setenv("GOLXC_SYSTEM_CONFIG", sys)
	n := l.createBusybox()
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)

	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(l.initPID(n)), "cgroup"))
	if err != nil {
		t.Fatal(err)
	}
	want := "/" + top + "/" + n + "/payload"
	used := map[string]bool{"memory": true, "pids": true, "": true}
	seen := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		if len(f) != 3 {
			t.Fatalf("bad /proc/PID/cgroup line %q", line)
		}
		switch {
		case used[f[1]]:
			seen++
			if f[2] != want {
				t.Errorf("init is in %s of %q, want %s", f[2], f[1], want)
			}
		case f[2] != "/":
			t.Errorf("init is in %s of %q, which lxc.cgroup.use leaves out: want /", f[2], f[1])
		}
	}
	if seen != 3 {
		t.Errorf("init's cgroups %q: want memory, pids and unified entries", b)
	}
	for _, h := range []string{"memory", "pids", "unified"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", h, top, n, "monitor")); err != nil {
			t.Errorf("monitor cgroup: %v", err)
		}
	}
	for _, h := range []string{"cpu", "devices", "freezer", "blkio"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", h, top)); err == nil {
			t.Errorf("%s made in %s, which lxc.cgroup.use leaves out", top, h)
		}
	}
	for _, pid := range monitorPIDs(l.path, n) {
		mb, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cgroup"))
		if !strings.Contains(string(mb), "0::/"+top+"/"+n+"/monitor\n") {
			t.Errorf("monitor %d is in %q, want /%s/%s/monitor", pid, mb, top, n)
		}
	}
	// The tools find the group where the pattern put it.
	if got := strings.TrimSpace(l.mustRun("lxc-cgroup", "-n", n, "pids.max")); got != "max" {
		t.Errorf("lxc-cgroup pids.max = %q, want max", got)
	}
	// An attach joins init's cgroups in the used hierarchies only: the
	// others have no TOP to join.
	l.attach(n, "true")
	l.mustRun("lxc-freeze", "-n", n)
	l.waitState(n, "FROZEN", 5*time.Second)
	l.mustRun("lxc-unfreeze", "-n", n)
	l.waitState(n, "RUNNING", 5*time.Second)

	l.mustRun("lxc-stop", "-n", n, "-k")
	l.mustRun("lxc-destroy", "-n", n)
	if !waitFor(3*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top))
		return len(m) == 0
	}) {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top, "*", "*"))
		t.Errorf("after lxc-stop and lxc-destroy: left %v", m)
	}
}

// TestCgroupPatternContainerKeysWin: a container's own lxc.cgroup.dir
// wins over the system pattern, as in LXC 5.0.2; lxc.cgroup.use still
// applies.
func TestCgroupPatternContainerKeysWin(t *testing.T) {
	l := newLab(t)
	top := cgTop(t)
	sys := l.writeFile("lxc.conf", "lxc.cgroup.pattern = "+top+"/pat/%n\nlxc.cgroup.use = pids\n", 0o644)
	t.Setenv("GOLXC_SYSTEM_CONFIG", sys)
	n := l.createBusybox("lxc.cgroup.dir = " + top + "/own")
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/pids", top, "own", "lxc.payload."+n)); err != nil {
		t.Errorf("container cgroup under lxc.cgroup.dir: %v", err)
	}
	for _, h := range []string{"memory", "cpu"} {
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup", h, top)); err == nil {
			t.Errorf("%s made in %s, which lxc.cgroup.use leaves out", top, h)
		}
	}
	if m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top, "pat")); len(m) > 0 {
		t.Errorf("the pattern was used over lxc.cgroup.dir: %v", m)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	if !waitFor(3*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top))
		return len(m) == 0
	}) {
		t.Errorf("after lxc-stop: %s left", top)
	}
}

// TestCgroupPatternDestroyStale: a container ended unseen (its monitor,
// then its init, killed by SIGKILL) leaves the pattern's groups; lxc-destroy finds them through the system config and
// removes them with the directories golxc made above them. A v1 limit
// on a controller lxc.cgroup.use keeps lands in its hierarchy.
func TestCgroupPatternDestroyStale(t *testing.T) {
	l := newLab(t)
	top := cgTop(t)
	sys := l.writeFile("lxc.conf", "lxc.cgroup.pattern = "+top+"/%n\nlxc.cgroup.use = pids\n", 0o644)
	t.Setenv("GOLXC_SYSTEM_CONFIG", sys)
	n := l.createBusybox("lxc.cgroup.pids.max = 55")
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	if got := readTrim(t, filepath.Join("/sys/fs/cgroup/pids", top, n, "payload", "pids.max")); got != "55" {
		t.Errorf("pids.max = %q, want 55", got)
	}
	// The container ends unseen: its monitor, then its init (which
	// outlives its monitor), killed.
	killMonitorAndInit(t, l, n)
	l.mustRun("lxc-destroy", "-n", n, "-f")
	if m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top)); len(m) > 0 {
		t.Errorf("after lxc-destroy: %v left", m)
	}
}

// TestCgroupPatternSameName: two containers of one name in two lxcpaths
// get TOP/NAME/payload and TOP/NAME/payload-1 (and monitor, monitor-1),
// as LXC 5.0.2 gives them; stopping both leaves nothing under TOP.
func TestCgroupPatternSameName(t *testing.T) {
	l1, l2 := newLab(t), newLab(t)
	top := cgTop(t)
	sys := l1.writeFile("lxc.conf", "golxc.monitor = per-container\nlxc.cgroup.pattern = "+top+"/%n\nlxc.cgroup.use = memory\n", 0o644)
	t.Setenv("GOLXC_SYSTEM_CONFIG", sys)
	requireBusybox(t)
	n := newName(t)
	l1.track(n)
	l2.track(n)
	for _, l := range []*lab{l1, l2} {
		l.mustRun("lxc-create", "-n", n, "-t", "busybox", "-f", l.conf())
		l.mustRun("lxc-start", "-n", n)
		l.waitState(n, "RUNNING", 10*time.Second)
	}
	for i, l := range []*lab{l1, l2} {
		suffix := ""
		if i == 1 {
			suffix = "-1"
		}
		b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(l.initPID(n)), "cgroup"))
		if err != nil {
			t.Fatal(err)
		}
		if want := ":memory:/" + top + "/" + n + "/payload" + suffix + "\n"; !strings.Contains(string(b), want) {
			t.Errorf("container #%d: init's cgroups %q, want %q", i+1, b, want)
		}
		if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/memory", top, n, "monitor"+suffix)); err != nil {
			t.Errorf("container #%d: %v", i+1, err)
		}
	}
	for _, l := range []*lab{l1, l2} {
		l.mustRun("lxc-stop", "-n", n, "-k")
	}
	if !waitFor(3*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top))
		return len(m) == 0
	}) {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top, "*", "*"))
		t.Errorf("after both lxc-stop: left %v", m)
	}
}
