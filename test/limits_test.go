package test

// Resource limits applied before init runs (issue 12): the device cgroup
// of either version, Debian's distro configs, memory, pids and cpuset,
// and a limit the host cannot apply.

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// devicesScript checks, inside a container, what common.conf's device
// lines allow and refuse; disk is the host's root disk as "MAJOR MINOR".
// Each line is "name: ok" or "name: refused".
const devicesScript = `
try() { n=$1; shift; if "$@" >/dev/null 2>&1; then echo "$n: ok"; else echo "$n: refused"; fi; }
try null sh -c 'echo x > /dev/null'
try zero sh -c 'head -c 4 /dev/zero | wc -c | grep -qx 4'
try ptmx sh -c 'exec 3<>/dev/ptmx'
rm -f /tmp/mem /tmp/disk
try mknod-mem mknod /tmp/mem c 1 1
try open-mem head -c 1 /tmp/mem
try mknod-disk mknod /tmp/disk b $1 $2
try open-disk head -c 1 /tmp/disk
`

func (l *lab) devicesVerdicts(n string) map[string]string {
	l.t.Helper()
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err != nil {
		l.t.Fatal(err)
	}
	out := l.attach(n, "/bin/sh", "-c", devicesScript, "sh",
		strconv.Itoa(int(unix.Major(st.Dev))), strconv.Itoa(int(unix.Minor(st.Dev))))
	got := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok {
			got[k] = v
		}
	}
	return got
}

// TestDevicesCommonConf starts a busybox container with common.conf's
// device lines: all of them, only v1's (the v1 devices hierarchy does the
// work) and only v2's (the device program on the cgroup2 directory does:
// the v1 devices cgroup is left to allow all). Each time the standard
// nodes work and a memory or disk node, made inside (mknod is allowed),
// cannot be opened.
func TestDevicesCommonConf(t *testing.T) {
	t.Parallel()
	var v1, v2 []string
	for _, line := range commonConfDeviceLines {
		if strings.HasPrefix(line, "lxc.cgroup2.") {
			v2 = append(v2, line)
		} else {
			v1 = append(v1, line)
		}
	}
	want := map[string]string{
		"null": "ok", "zero": "ok", "ptmx": "ok",
		"mknod-mem": "ok", "open-mem": "refused", "mknod-disk": "ok", "open-disk": "refused",
	}
	for _, c := range []struct {
		name  string
		lines []string
	}{{"both", commonConfDeviceLines}, {"v1", v1}, {"v2", v2}} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			n := l.createBusybox(c.lines...)
			l.mustRun("lxc-start", "-n", n)
			l.waitState(n, "RUNNING", 10*time.Second)
			if c.name != "v2" {
				// The list the kernel keeps is LXC 5.0.2's for these
				// lines (compared side by side on this host).
				var wantList []string
				for _, line := range v1 {
					if a, ok := strings.CutPrefix(line, "lxc.cgroup.devices.allow = "); ok {
						wantList = append(wantList, a)
					}
				}
				if got := readTrim(t, "/sys/fs/cgroup/devices/lxc.payload."+n+"/devices.list"); got != strings.Join(wantList, "\n") {
					t.Errorf("devices.list:\n%s\nwant\n%s", got, strings.Join(wantList, "\n"))
				}
			}
			got := l.devicesVerdicts(n)
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s inside: %q, want %s", k, got[k], v)
				}
			}
		})
	}
	// The same container without device lines opens what it makes: the
	// refusals above are the device cgroup's.
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		l := newLab(t)
		n := l.createBusybox()
		l.mustRun("lxc-start", "-n", n)
		l.waitState(n, "RUNNING", 10*time.Second)
		if got := l.devicesVerdicts(n); got["open-disk"] != "ok" && hostCanReadDisk(t, l.aux, rootDev(t)) {
			t.Errorf("without device lines the disk is %q, want ok (else the test proves nothing)", got["open-disk"])
		}
	})
}

func rootDev(t *testing.T) uint64 {
	d, _ := hostRootDisk(t)
	return d
}

// TestDistroConfigs starts a busybox container including each distro's
// common config of Debian's lxc package, which include common.conf with
// its device lines, lxc.tty.dir and its seccomp profile. The files are
// copied with their include paths rewritten, common.conf.d/00-lxcfs.conf
// with them: its lxc.hook.mount and lxc.hook.post-stop run (lxcfs's own
// scripts, which find no lxcfs running here and mount nothing).
func TestDistroConfigs(t *testing.T) {
	t.Parallel()
	const src = "/usr/share/lxc/config"
	distros, _ := filepath.Glob(filepath.Join(src, "*.common.conf"))
	if len(distros) == 0 {
		t.Skip("Debian's lxc package is not installed (no " + src + "/*.common.conf)")
	}
	l := usernsLab(t) // an lxcpath the id-mapped flavours' root can search too
	dir := filepath.Join(l.aux, "config")
	copyConfigDir(t, src, dir)
	for _, d := range distros {
		base := filepath.Base(d)
		t.Run(strings.TrimSuffix(base, ".common.conf"), func(t *testing.T) {
			t.Parallel()
			l := l.with(t)
			n := l.createBusybox("lxc.include = " + filepath.Join(dir, base))
			out, errs, code := l.run("lxc-start", "-n", n)
			if code != 0 {
				t.Fatalf("lxc-start with %s: exit %d\nstdout: %s\nstderr: %s", base, code, out, errs)
			}
			l.waitState(n, "RUNNING", 10*time.Second)
			if got := l.attach(n, "/bin/sh", "-c", "echo x > /dev/null && echo alive"); strings.TrimSpace(got) != "alive" {
				t.Errorf("attach into the %s container: %q", base, got)
			}
		})
		// The id-mapped flavour: DISTRO.userns.conf after the common
		// one clears the device lines (mknod is refused in a user
		// namespace anyway) and the capability drops.
		userns := strings.TrimSuffix(base, ".common.conf") + ".userns.conf"
		if _, err := os.Stat(filepath.Join(src, userns)); err != nil {
			continue
		}
		t.Run(strings.TrimSuffix(userns, ".conf"), func(t *testing.T) {
			t.Parallel()
			l := l.with(t)
			n := l.createBusybox(append([]string{"lxc.include = " + filepath.Join(dir, base), "lxc.include = " + filepath.Join(dir, userns)}, idmapLines...)...)
			out, errs, code := l.run("lxc-start", "-n", n)
			if code != 0 {
				t.Fatalf("lxc-start with %s and %s: exit %d\nstdout: %s\nstderr: %s", base, userns, code, out, errs)
			}
			l.waitState(n, "RUNNING", 10*time.Second)
			if got := l.attach(n, "/bin/sh", "-c", "echo x > /dev/null && echo alive"); strings.TrimSpace(got) != "alive" {
				t.Errorf("attach into the %s container: %q", userns, got)
			}
		})
	}
}

// TestDistroConfigsNet: a busybox container including Debian's, Ubuntu's
// and Alpine's common config (common.conf's device lines, capability
// drops and seccomp profile) with a veth on a test bridge and a static
// address starts, reaches the bridge's address, and its stop leaves no
// veth, bridge port, cgroup or monitor.
func TestDistroConfigsNet(t *testing.T) {
	t.Parallel()
	const src = "/usr/share/lxc/config"
	if _, err := os.Stat(filepath.Join(src, "debian.common.conf")); err != nil {
		t.Skip("Debian's lxc package is not installed (no " + src + "/debian.common.conf)")
	}
	l := newLab(t)
	dir := filepath.Join(l.aux, "config")
	copyConfigDir(t, src, dir)
	b := newBridgeIn(t, "10.215")
	for i, distro := range []string{"debian", "ubuntu", "alpine"} {
		conf := filepath.Join(dir, distro+".common.conf")
		if _, err := os.Stat(conf); err != nil {
			t.Errorf("%s: %v", distro, err)
			continue
		}
		host := i + 2
		t.Run(distro, func(t *testing.T) {
			t.Parallel()
			l := l.with(t)
			pair := uniquePair(t)
			n := l.createBusybox(append([]string{"lxc.include = " + conf}, vethConf(b, pair, randomMAC(), host)...)...)
			out, errs, code := l.run("lxc-start", "-n", n)
			if code != 0 {
				t.Fatalf("lxc-start with %s.common.conf and a veth on %s: exit %d\nstdout: %s\nstderr: %s", distro, b.name, code, out, errs)
			}
			l.waitState(n, "RUNNING", 10*time.Second)
			if got := l.attach(n, "ip", "addr", "show", "eth0"); !strings.Contains(got, "inet "+b.addr(host)+"/24") {
				t.Errorf("eth0 inside the %s container: want %s/24:\n%s", distro, b.addr(host), got)
			}
			if _, errs, code := l.run("lxc-attach", "-n", n, "--", "ping", "-c", "1", "-W", "5", b.addr(1)); code != 0 {
				t.Errorf("ping %s (the bridge) from the %s container: exit %d, %s", b.addr(1), distro, code, errs)
			}
			if !slices.Contains(b.ports(t), pair) {
				t.Errorf("%s is not a port of %s: %v", pair, b.name, b.ports(t))
			}
			l.mustRun("lxc-stop", "-n", n)
			if linkExists(pair) {
				t.Errorf("%s still on the host after lxc-stop", pair)
			}
			if slices.Contains(b.ports(t), pair) {
				t.Errorf("%s still a port of %s after lxc-stop", pair, b.name)
			}
			assertNoCgroups(t, n, "lxc-stop")
			// The monitor hangs up once it has torn down, and exits
			// right after: give it that moment.
			if !waitFor(5*time.Second, func() bool { return len(monitorPIDs(l.path, n)) == 0 }) {
				t.Errorf("a monitor is left after lxc-stop: %v", monitorPIDs(l.path, n))
			}
		})
	}
}

// copyConfigDir copies LXC's config dir to dst, its own paths rewritten
// to dst.
func copyConfigDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, e os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		to := filepath.Join(dst, rel)
		if e.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(to, []byte(strings.ReplaceAll(string(b), src, dst)), 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLimitRefusedCleanly: a value the kernel refuses fails the start
// with one line naming the key, the cgroup file and the kernel's reason,
// and leaves no cgroup and no monitor behind.
func TestLimitRefusedCleanly(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ line, key, file, reason string }{
		{"lxc.cgroup.memory.limit_in_bytes = lots", "lxc.cgroup.memory.limit_in_bytes", "memory.limit_in_bytes", "invalid argument"},
		{"lxc.cgroup.pids.nonesuch = 1", "lxc.cgroup.pids.nonesuch", "pids.nonesuch", "no such file or directory"},
		{"lxc.cgroup.cpuset.cpus = 4095", "lxc.cgroup.cpuset.cpus", "cpuset.cpus", "numerical result out of range"},
		{"lxc.cgroup.hugetlb.2MB.limit_in_bytes = 1G", "lxc.cgroup.hugetlb.2MB.limit_in_bytes", "hugetlb", "no cgroup v1 hierarchy has controller"},
		// This host's cgroup2 has no controllers: all are bound to v1.
		{"lxc.cgroup2.memory.max = 1G", "lxc.cgroup2.memory.max", "cgroup.controllers", "does not offer the memory controller"},
		{"lxc.cgroup2.devices.allow = c 1:x rwm", "lxc.cgroup2.devices.allow", "c 1:x rwm", "not a number"},
	} {
		t.Run(c.key, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			n := l.createBusybox(c.line)
			_, errs, code := l.run("lxc-start", "-n", n)
			if code == 0 {
				t.Fatalf("lxc-start with %q: exit 0, want a refusal", c.line)
			}
			errs = strings.TrimSpace(errs)
			if strings.Count(errs, "\n") != 0 || !strings.Contains(errs, c.key) || !strings.Contains(errs, c.file) || !strings.Contains(errs, c.reason) {
				t.Errorf("lxc-start with %q said %q, want one line naming %s, %s and %q", c.line, errs, c.key, c.file, c.reason)
			}
			assertNoCgroups(t, n, "a refused start")
			if pids := monitorPIDs(l.path, n); len(pids) > 0 {
				t.Errorf("a monitor is left after the refused start: %v", pids)
			}
		})
	}
}

// TestMemoryLimitOOM: a hog in a container with a 32 MiB limit and no
// swap is killed by the OOM killer; the container's init lives on and the
// memory cgroup counts the kill.
func TestMemoryLimitOOM(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox(
		// memsw first, as a user may write it: LXC writes it after the
		// memory limit, or the kernel refuses it.
		"lxc.cgroup.memory.memsw.limit_in_bytes = 32M",
		"lxc.cgroup.memory.limit_in_bytes = 32M",
		"lxc.cgroup.memory.soft_limit_in_bytes = 16M",
	)
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	cg := "/sys/fs/cgroup/memory/lxc.payload." + n
	if got := readTrim(t, filepath.Join(cg, "memory.limit_in_bytes")); got != strconv.Itoa(32<<20) {
		t.Fatalf("memory.limit_in_bytes = %s, want %d", got, 32<<20)
	}
	// A shell variable that doubles grows the shell itself (tmpfs pages
	// of /dev/shm would be charged but never killed with the process).
	out, _, code := l.run("lxc-attach", "-n", n, "--", "/bin/sh", "-c",
		`s=xxxxxxxxxxxxxxxx; i=0; while [ $i -lt 30 ]; do s="$s$s"; i=$((i+1)); done; echo survived`)
	if code == 0 || strings.Contains(out, "survived") {
		t.Fatalf("a hog of 16 GiB under a 32 MiB limit: exit %d, %q; want it killed", code, out)
	}
	oc := readTrim(t, filepath.Join(cg, "memory.oom_control"))
	if !strings.Contains(oc, "oom_kill ") || strings.Contains(oc, "oom_kill 0") {
		t.Errorf("memory.oom_control after the hog: %q, want an oom_kill count", oc)
	}
	// And lxc-info shows it (issue 12).
	info := l.mustRun("lxc-info", "-n", n, "-S")
	kills := ""
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(line, "OOM kills:"); ok {
			kills = strings.TrimSpace(v)
		}
	}
	if kills == "" || kills == "0" {
		t.Errorf("lxc-info -S after the hog was killed: OOM kills %q, want at least 1\n%s", kills, info)
	}
	if st := l.state(n); st != "RUNNING" {
		t.Errorf("container is %s after its hog was killed, want RUNNING", st)
	}
}

// TestPidsMaxForkBomb: pids.max = 20 stops a fork bomb: forks fail, the
// container's process count stays at the limit, and the bomb is killed
// with the container.
func TestPidsMaxForkBomb(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox("lxc.cgroup.pids.max = 20")
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	cg := "/sys/fs/cgroup/pids/lxc.payload." + n
	// A bounded bomb: each of up to 200 background sleeps; forks past the
	// limit fail ("can't fork"), which is what the test wants to see.
	out, _, _ := l.run("lxc-attach", "-n", n, "--", "/bin/sh", "-c",
		`i=0; fail=0; while [ $i -lt 200 ]; do sleep 30 2>/dev/null & [ $? -ne 0 ] && fail=1; i=$((i+1)); done 2>&1; echo done`)
	if !strings.Contains(out, "can't fork") && !strings.Contains(out, "Resource temporarily unavailable") {
		t.Errorf("200 forks under pids.max = 20: no fork failed: %q", out)
	}
	if cur, _ := strconv.Atoi(readTrim(t, filepath.Join(cg, "pids.current"))); cur > 20 {
		t.Errorf("pids.current = %d over pids.max 20", cur)
	}
	if ev := readTrim(t, filepath.Join(cg, "pids.events")); ev == "max 0" {
		t.Errorf("pids.events = %q, want forks refused", ev)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	assertNoCgroups(t, n, "lxc-stop -k of the bombed container")
}

// TestCpusetPins: lxc.cgroup.cpuset.cpus pins the container's processes.
func TestCpusetPins(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox("lxc.cgroup.cpuset.cpus = 0")
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	out := l.attach(n, "/bin/grep", "Cpus_allowed_list", "/proc/self/status")
	if f := strings.Fields(out); len(f) != 2 || f[1] != "0" {
		t.Errorf("inside a container with cpuset.cpus = 0: %q, want Cpus_allowed_list: 0", out)
	}
	status, err := os.ReadFile("/proc/" + strconv.Itoa(l.initPID(n)) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), "Cpus_allowed_list:\t0\n") {
		t.Errorf("the container's init is not pinned to cpu 0")
	}
}

// TestProcessLimits: lxc.prlimit.*, lxc.sysctl.* and lxc.proc.* are set
// on init before it runs, the sysctls in the container's own namespaces
// only (the host's values stay), and a host-wide sysctl is refused by
// name with nothing left behind.
func TestProcessLimits(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	hostFwd := readTrim(t, "/proc/sys/net/ipv4/ip_forward")
	hostShm := readTrim(t, "/proc/sys/kernel/shmmax")
	hostInitAdj := readTrim(t, "/proc/1/oom_score_adj")
	want := "0"
	if hostFwd == "0" {
		want = "1"
	}
	n := l.createBusybox(
		"lxc.prlimit.nofile = 1000:2000",
		"lxc.prlimit.core = unlimited",
		"lxc.sysctl.net.ipv4.ip_forward = "+want,
		"lxc.sysctl.kernel.shmmax = 12345678",
		"lxc.sysctl.kernel.domainname = golxc.test",
		"lxc.proc.oom_score_adj = 567",
	)
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	pid := l.initPID(n)
	limits, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/limits")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range [][]string{{"Max open files", "1000", "2000"}, {"Max core file size", "unlimited", "unlimited"}} {
		found := false
		for _, line := range strings.Split(string(limits), "\n") {
			if rest, ok := strings.CutPrefix(line, w[0]); ok {
				f := strings.Fields(rest)
				found = len(f) >= 2 && f[0] == w[1] && f[1] == w[2]
			}
		}
		if !found {
			t.Errorf("init's %s: want %s %s in\n%s", w[0], w[1], w[2], limits)
		}
	}
	if got := readTrim(t, "/proc/"+strconv.Itoa(pid)+"/oom_score_adj"); got != "567" {
		t.Errorf("init's oom_score_adj = %s, want 567", got)
	}
	// The stage is PID 1 of its namespace but not of the host's procfs.
	if got := readTrim(t, "/proc/1/oom_score_adj"); got != hostInitAdj {
		t.Errorf("the host's PID 1 oom_score_adj is %s after the start, was %s", got, hostInitAdj)
	}
	out := l.attach(n, "/bin/sh", "-c", "cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax /proc/sys/kernel/domainname")
	if f := strings.Fields(out); len(f) != 3 || f[0] != want || f[1] != "12345678" || f[2] != "golxc.test" {
		t.Errorf("sysctls inside: %q, want %s 12345678 golxc.test", out, want)
	}
	if got := readTrim(t, "/proc/sys/net/ipv4/ip_forward"); got != hostFwd {
		t.Errorf("the host's ip_forward is %s after the start, was %s", got, hostFwd)
	}
	if got := readTrim(t, "/proc/sys/kernel/shmmax"); got != hostShm {
		t.Errorf("the host's shmmax is %s after the start, was %s", got, hostShm)
	}

	for _, line := range []string{"lxc.sysctl.kernel.core_pattern = |/bin/evil", "lxc.sysctl.vm.swappiness = 1"} {
		key, _, _ := strings.Cut(line, " =")
		t.Run(key, func(t *testing.T) {
			l := l.with(t)
			n := l.createBusybox(line)
			_, errs, code := l.run("lxc-start", "-n", n)
			if code == 0 || !strings.Contains(errs, key) || !strings.Contains(errs, "host-wide") {
				t.Errorf("lxc-start with %q: exit %d, %q; want a refusal naming %s", line, code, errs, key)
			}
			assertNoCgroups(t, n, "a refused start")
		})
	}
}

// TestCgroupV1LimitsWritten: the v1 limits of cpu, cpuset, blkio, pids and
// memory are in the container's cgroups as the config says, before init
// runs (init's own cgroup files read them back while it runs).
func TestCgroupV1LimitsWritten(t *testing.T) {
	t.Parallel()
	for _, c := range []string{"cpu", "cpuset", "blkio", "pids", "memory"} {
		if _, err := os.Stat("/sys/fs/cgroup/" + c); err != nil {
			t.Skipf("no v1 %s hierarchy", c)
		}
	}
	dev, _ := hostRootDisk(t)
	disk := strconv.Itoa(int(unix.Major(dev))) + ":" + strconv.Itoa(int(unix.Minor(dev)))
	want := map[string]string{
		"cpu/cpu.shares":                       "512",
		"cpu/cpu.cfs_period_us":                "50000",
		"cpu/cpu.cfs_quota_us":                 "25000",
		"cpuset/cpuset.mems":                   "0",
		"blkio/blkio.throttle.read_bps_device": disk + " 1048576",
		"pids/pids.max":                        "64",
		"memory/memory.soft_limit_in_bytes":    strconv.Itoa(64 << 20),
		"memory/memory.limit_in_bytes":         strconv.Itoa(128 << 20),
		"memory/memory.memsw.limit_in_bytes":   strconv.Itoa(256 << 20),
	}
	lines := []string{
		"lxc.cgroup.cpu.shares = 512",
		"lxc.cgroup.cpu.cfs_period_us = 50000",
		"lxc.cgroup.cpu.cfs_quota_us = 25000",
		"lxc.cgroup.cpuset.mems = 0",
		"lxc.cgroup.blkio.throttle.read_bps_device = " + disk + " 1048576",
		"lxc.cgroup.pids.max = 64",
		"lxc.cgroup.memory.soft_limit_in_bytes = 64M",
		"lxc.cgroup.memory.memsw.limit_in_bytes = 256M",
		"lxc.cgroup.memory.limit_in_bytes = 128M",
	}
	if _, err := os.Stat("/sys/fs/cgroup/unified"); err == nil {
		lines = append(lines, "lxc.cgroup2.cgroup.max.depth = 3") // a core file of the unified hierarchy
		want["unified/cgroup.max.depth"] = "3"
	}
	l := newLab(t)
	n := l.createBusybox(lines...)
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	for f, v := range want {
		ctrl, file, _ := strings.Cut(f, "/")
		if got := readTrim(t, filepath.Join("/sys/fs/cgroup", ctrl, "lxc.payload."+n, file)); got != v {
			t.Errorf("%s = %q, want %q", f, got, v)
		}
	}
}
