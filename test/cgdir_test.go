package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cgTop returns a unique top-level cgroup name for lxc.cgroup.dir and
// registers the removal of whatever is left under it in every hierarchy
// (deepest first, rmdir only: a cgroup with a process in it stays, and
// the test says so). It runs after the containers' cleanup.
func cgTop(t *testing.T) string {
	t.Helper()
	top := "golxct-" + newName(t)
	t.Cleanup(func() {
		var dirs []string
		roots, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top))
		for _, r := range roots {
			filepath.WalkDir(r, func(p string, d os.DirEntry, err error) error {
				if err == nil && d.IsDir() {
					dirs = append(dirs, p)
				}
				return nil
			})
		}
		sort.Slice(dirs, func(i, j int) bool { return len(dirs[i]) > len(dirs[j]) })
		for _, d := range dirs {
			if err := syscall.Rmdir(d); err != nil {
				t.Errorf("cleanup: rmdir %s: %v", d, err)
			}
		}
	})
	return top
}

// hierarchies are the cgroup mounts a container's cgroups are made in
// here: every v1 controller mount and the unified one.
func hierarchies(t *testing.T) []string {
	t.Helper()
	var hs []string
	ents, err := os.ReadDir("/sys/fs/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		// cpu and cpuacct are links to the cpu,cpuacct mount: count it once.
		if e.IsDir() {
			hs = append(hs, filepath.Join("/sys/fs/cgroup", e.Name()))
		}
	}
	return hs
}

// initCgroups is init's /proc/PID/cgroup paths.
func initCgroups(t *testing.T, pid int) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	var ps []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.SplitN(line, ":", 3)
		ps = append(ps, f[2])
	}
	return ps
}

// TestCgroupDir: with lxc.cgroup.dir = TOP/sub, init is in
// TOP/sub/lxc.payload.NAME and the monitor in TOP/sub/lxc.monitor.NAME in
// every hierarchy, as LXC 5.0.2 puts them; the tools find the group
// there; a stop removes both and the intermediate directories golxc made,
// and leaves one that was there before.
func TestCgroupDir(t *testing.T) {
	l := newLab(t)
	top := cgTop(t)
	// TOP exists already in the unified hierarchy: not golxc's.
	pre := filepath.Join("/sys/fs/cgroup/unified", top)
	if err := os.Mkdir(pre, 0o755); err != nil {
		t.Fatal(err)
	}
	n := l.createBusybox("lxc.cgroup.dir = " + top + "/sub")
	// The monitor cgroup checked below is a per-container monitor's.
	l.mustRunWith(runOpts{env: []string{"GOLXC_SHARED_MONITOR=0"}}, "lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	want := "/" + top + "/sub/lxc.payload." + n
	for _, p := range initCgroups(t, l.initPID(n)) {
		if p != want {
			t.Errorf("init is in %s, want %s", p, want)
		}
	}
	for _, h := range hierarchies(t) {
		for _, kind := range []string{"payload", "monitor"} {
			d := filepath.Join(h, top, "sub", "lxc."+kind+"."+n)
			if _, err := os.Stat(d); err != nil {
				t.Errorf("%s: %v", d, err)
			}
		}
	}
	// A path below the base cannot lead elsewhere through a symbolic
	// link: cgroupfs refuses to make one, in v1 and in cgroup2 alike.
	for _, h := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory"} {
		link := filepath.Join(h, top, "sub", "link")
		if err := os.Symlink("/tmp", link); err == nil {
			os.Remove(link)
			t.Errorf("symlink %s was made on cgroupfs", link)
		}
	}
	if got := strings.TrimSpace(l.mustRun("lxc-cgroup", "-n", n, "pids.max")); got != "max" {
		t.Errorf("lxc-cgroup pids.max = %q, want max", got)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	if !waitFor(3*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top, "sub"))
		return len(m) == 0
	}) {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top, "*"))
		t.Fatalf("after lxc-stop: left %v", m)
	}
	for _, h := range hierarchies(t) {
		_, err := os.Stat(filepath.Join(h, top))
		if h == "/sys/fs/cgroup/unified" {
			if err != nil {
				t.Errorf("%s, which golxc did not make, was removed: %v", pre, err)
			}
		} else if err == nil {
			t.Errorf("%s left behind", filepath.Join(h, top))
		}
	}
}

// TestCgroupDirContainerMonitor: lxc.cgroup.dir.container and .monitor
// are the exact paths; one without the other, or with lxc.cgroup.dir, is
// refused before anything is made.
func TestCgroupDirContainerMonitor(t *testing.T) {
	l := newLab(t)
	top := cgTop(t)
	n := l.createBusybox("lxc.cgroup.dir.container = "+top+"/ct", "lxc.cgroup.dir.monitor = "+top+"/mon")
	// A monitor cgroup is a per-container monitor's (the shared one has
	// none per container).
	l.mustRunWith(runOpts{env: []string{"GOLXC_SHARED_MONITOR=0"}}, "lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	for _, p := range initCgroups(t, l.initPID(n)) {
		if p != "/"+top+"/ct" {
			t.Errorf("init is in %s, want /%s/ct", p, top)
		}
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/unified", top, "mon")); err != nil {
		t.Errorf("monitor cgroup: %v", err)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	if !waitFor(3*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top))
		return len(m) == 0
	}) {
		t.Errorf("after lxc-stop: %s left", top)
	}

	for name, lines := range map[string][]string{
		"container alone": {"lxc.cgroup.dir.container = " + top + "/x"},
		"monitor alone":   {"lxc.cgroup.dir.monitor = " + top + "/x"},
		"with dir":        {"lxc.cgroup.dir = " + top, "lxc.cgroup.dir.container = " + top + "/a", "lxc.cgroup.dir.monitor = " + top + "/b"},
	} {
		t.Run(name, func(t *testing.T) {
			l := l.with(t)
			n := l.createBusybox(lines...)
			_, errs, code := l.run("lxc-start", "-n", n)
			if code == 0 || !strings.Contains(errs, "lxc.cgroup.dir") {
				t.Errorf("lxc-start: exit %d, stderr %q; want a refusal naming lxc.cgroup.dir", code, errs)
			}
			if m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top)); len(m) > 0 {
				t.Errorf("refused start made %v", m)
			}
		})
	}
}

// TestCgroupDirDestroyStale: a container ended unseen (its monitor,
// then its init, killed by SIGKILL) leaves its groups under
// lxc.cgroup.dir; lxc-destroy removes them and the
// intermediate directory golxc made.
func TestCgroupDirDestroyStale(t *testing.T) {
	l := newLab(t)
	top := cgTop(t)
	n := l.createBusybox("lxc.cgroup.dir = " + top)
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	// The container ends unseen: its monitor, then its init (which
	// outlives its monitor), killed.
	killMonitorAndInit(t, l, n)
	if m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top, "lxc.payload."+n)); len(m) == 0 {
		t.Log("the killed monitor's groups were already gone")
	}
	l.mustRun("lxc-destroy", "-n", n, "-f")
	if m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top)); len(m) > 0 {
		t.Errorf("after lxc-destroy: %v left", m)
	}
}

// TestCgroupDirInnerLimits: with lxc.cgroup.dir.container.inner, init
// sits in CONTAINER/inner while the limits (v1 and v2) are on CONTAINER,
// which its cgroup namespace does not show; lxc-attach lands in inner.
// The controllers are enabled down through the intermediate directories
// golxc made, or the limit files would not exist.
func TestCgroupDirInnerLimits(t *testing.T) {
	l := newLab(t)
	top := cgTop(t)
	n := l.createBusybox("lxc.cgroup.dir.container = "+top+"/ct", "lxc.cgroup.dir.monitor = "+top+"/mon",
		"lxc.cgroup.dir.container.inner = inner", "lxc.cgroup2.hugetlb.2MB.max = 4194304", "lxc.cgroup.pids.max = 77")
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	for _, p := range initCgroups(t, l.initPID(n)) {
		if p != "/"+top+"/ct/inner" {
			t.Errorf("init is in %s, want /%s/ct/inner", p, top)
		}
	}
	if got := readTrim(t, filepath.Join("/sys/fs/cgroup/unified", top, "ct", "hugetlb.2MB.max")); got != "4194304" {
		t.Errorf("%s/ct/hugetlb.2MB.max = %q, want 4194304", top, got)
	}
	if got := readTrim(t, filepath.Join("/sys/fs/cgroup/pids", top, "ct", "pids.max")); got != "77" {
		t.Errorf("%s/ct/pids.max = %q, want 77", top, got)
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/unified", top, "ct", "inner", "hugetlb.2MB.max")); err == nil {
		t.Error("inner has hugetlb enabled: its parent would then hold no process")
	}
	out := l.attach(n, "cat", "/proc/self/cgroup")
	if !strings.Contains(out, "0::/\n") {
		t.Errorf("attached process's cgroups:\n%s\nwant 0::/ (the inner cgroup, its namespace's root)", out)
	}
	// The container's root can freeze the inner group through a cgroup2
	// mount of its own (done here from the host): lxc-attach, whose
	// helper is cloned straight into that group, must refuse, not wait
	// in the clone for a thaw.
	freeze := filepath.Join("/sys/fs/cgroup/unified", top, "ct", "inner", "cgroup.freeze")
	if err := os.WriteFile(freeze, []byte("1"), 0); err != nil {
		t.Fatal(err)
	}
	_, errs, code := l.runWith(runOpts{timeout: 20 * time.Second}, "lxc-attach", "-n", n, "--", "/bin/true")
	if err := os.WriteFile(freeze, []byte("0"), 0); err != nil {
		t.Fatal(err)
	}
	if code == 0 || !strings.Contains(strings.ToLower(errs), "frozen") {
		t.Errorf("lxc-attach into a container whose inner cgroup is frozen: exit %d, stderr %q; want a refusal naming the freeze", code, errs)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	if !waitFor(3*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top))
		return len(m) == 0
	}) {
		t.Errorf("after lxc-stop: %s left", top)
	}
}

// TestCgroupRelative: with lxc.cgroup.relative = 1, an lxc-start run
// from cgroup TOP puts the container in TOP/lxc.payload.NAME and its
// monitor in TOP/lxc.monitor.NAME, not at the root; without the key, at
// the root as before.
func TestCgroupRelative(t *testing.T) {
	l := newLab(t)
	top := cgTop(t)
	var procs []string
	for _, h := range hierarchies(t) {
		d := filepath.Join(h, top)
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
		// A new v1 cpuset group has no CPUs or memory nodes unless the
		// hierarchy's cgroup.clone_children is set (LXC sets it only
		// in groups of its own): a process cannot join it empty.
		for _, f := range []string{"cpuset.cpus", "cpuset.mems"} {
			if b, err := os.ReadFile(filepath.Join(h, f)); err == nil {
				if err := os.WriteFile(filepath.Join(d, f), b, 0); err != nil {
					t.Fatal(err)
				}
			}
		}
		procs = append(procs, filepath.Join(d, "cgroup.procs"))
	}
	// The shell moves itself into TOP in every hierarchy, then becomes
	// lxc-start.
	startIn := func(n string) {
		t.Helper()
		script := `for f in ` + strings.Join(procs, " ") + `; do echo $$ > $f || exit 9; done; exec "$0" "$@"`
		cmd := exec.Command("/bin/sh", "-c", script, filepath.Join(binDir(t), "lxc-start"), "-P", l.path, "-n", n)
		// The monitor cgroup checked below is a per-container monitor's.
		cmd.Env = append(os.Environ(), "GOLXC_SHARED_MONITOR=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("lxc-start from %s: %v\n%s", top, err, out)
		}
		l.waitState(n, "RUNNING", 10*time.Second)
	}
	n := l.createBusybox("lxc.cgroup.relative = 1")
	startIn(n)
	for _, p := range initCgroups(t, l.initPID(n)) {
		if p != "/"+top+"/lxc.payload."+n {
			t.Errorf("init is in %s, want /%s/lxc.payload.%s", p, top, n)
		}
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/unified", top, "lxc.monitor."+n)); err != nil {
		t.Errorf("monitor cgroup: %v", err)
	}
	if got := strings.TrimSpace(l.mustRun("lxc-cgroup", "-n", n, "pids.max")); got != "max" {
		t.Errorf("lxc-cgroup pids.max = %q, want max", got)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")

	plain := l.createBusybox()
	startIn(plain)
	for _, p := range initCgroups(t, l.initPID(plain)) {
		if p != "/lxc.payload."+plain {
			t.Errorf("without lxc.cgroup.relative init is in %s, want /lxc.payload.%s", p, plain)
		}
	}
	l.mustRun("lxc-stop", "-n", plain, "-k")
	if !waitFor(3*time.Second, func() bool {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top, "lxc.*"))
		return len(m) == 0
	}) {
		m, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup/*", top, "lxc.*"))
		t.Errorf("after lxc-stop: %v left", m)
	}
	if _, err := os.Stat(filepath.Join("/sys/fs/cgroup/unified", top)); err != nil {
		t.Errorf("the caller's cgroup, not golxc's, was removed: %v", err)
	}
}
