package test

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mountLine is what the test compares of a mount: its place and whether it
// is read-only (per mount, not per file system).
type mountLine struct {
	fstype string
	ro     bool
	root   string // the mount's root within its file system
}

// containerMounts reads the mount table of container n's init from the
// host, keyed by mount point.
func (l *lab) containerMounts(n string) map[string]mountLine {
	l.t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(l.initPID(n)) + "/mountinfo")
	if err != nil {
		l.t.Fatal(err)
	}
	ms := map[string]mountLine{}
	for _, line := range strings.Split(string(b), "\n") {
		pre, post, ok := strings.Cut(line, " - ")
		f, g := strings.Fields(pre), strings.Fields(post)
		if !ok || len(f) < 6 || len(g) < 1 {
			continue
		}
		ro := strings.HasPrefix(f[5], "ro,") || f[5] == "ro"
		if _, dup := ms[f[4]]; dup {
			// A mount stacked on another at the same point: LXC makes
			// each of these mounts once.
			l.t.Errorf("container %s: two mounts on %s", n, f[4])
		}
		ms[f[4]] = mountLine{fstype: g[0], ro: ro, root: f[3]}
	}
	return ms
}

// lxc.mount.auto as Debian's LXC 5.0.2 mounts it, read from its
// containers' /proc/PID/mountinfo on this kind of host (cgroup v1 hybrid,
// cgroup namespace): each case lists the mount points and whether each is
// read-only; "-" marks a mount that must not exist.
func TestMountAutoAsLXC(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	tests := []struct {
		auto, drop string
		want       map[string]string // mount point -> "ro", "rw" or "-"
	}{
		// LXC's common.conf: /proc/sys read-only but /proc/sys/net, /sys
		// read-only but /sys/devices/virtual/net; no cgroup mounts, as the
		// container keeps CAP_SYS_ADMIN and mounts its own.
		{"cgroup:mixed proc:mixed sys:mixed", "", map[string]string{
			"/proc": "rw", "/proc/sys": "ro", "/proc/sys/net": "rw",
			"/sys": "ro", "/sys/devices/virtual/net": "rw", "/sys/fs/cgroup": "-"}},
		{"proc:rw sys:ro", "", map[string]string{
			"/proc": "rw", "/proc/sys": "-", "/proc/sys/net": "-", "/sys": "ro", "/sys/devices/virtual/net": "-"}},
		{"proc sys:rw", "", map[string]string{
			"/proc": "rw", "/proc/sys": "ro", "/proc/sys/net": "rw", "/sys": "rw", "/sys/devices/virtual/net": "-"}},
		// Without CAP_SYS_ADMIN (or with :force) LXC mounts the cgroups:
		// a read-write tmpfs, each hierarchy rooted at the container's
		// cgroup, read-write but with :ro.
		{"cgroup:mixed sys:mixed", "sys_admin", map[string]string{
			"/sys/fs/cgroup": "rw", "/sys/fs/cgroup/pids": "rw", "/sys/fs/cgroup/memory": "rw", "/sys/fs/cgroup/unified": "rw"}},
		{"cgroup:ro:force", "", map[string]string{
			"/sys/fs/cgroup": "rw", "/sys/fs/cgroup/pids": "ro", "/sys/fs/cgroup/memory": "ro", "/sys/fs/cgroup/unified": "ro"}},
		{"cgroup-full:rw:force", "", map[string]string{
			"/sys/fs/cgroup": "rw", "/sys/fs/cgroup/pids": "rw", "/sys/fs/cgroup/unified": "rw"}},
	}
	for _, tt := range tests {
		t.Run(tt.auto+" drop "+tt.drop, func(t *testing.T) {
			t.Parallel()
			l := l.with(t)
			lines := []string{"lxc.mount.auto = " + tt.auto}
			if tt.drop != "" {
				lines = append(lines, "lxc.cap.drop = "+tt.drop)
			}
			n := l.createBusybox()
			rewriteKeys(t, l, n, lines)
			l.mustRun("lxc-start", "-n", n)
			l.waitState(n, "RUNNING", 10*time.Second)
			ms := l.containerMounts(n)
			for p, want := range tt.want {
				m, ok := ms[p]
				got := "-"
				if ok {
					got = map[bool]string{true: "ro", false: "rw"}[m.ro]
				}
				if got != want {
					t.Errorf("%s: %s, want %s (LXC 5.0.2)", p, got, want)
				}
			}
			// Read from the host's cgroup namespace, the root of the
			// container's hierarchy shows as its cgroup there.
			if m, ok := ms["/sys/fs/cgroup/pids"]; ok && !strings.HasPrefix(m.root, "/lxc.payload."+n) {
				t.Errorf("/sys/fs/cgroup/pids is rooted at %s, want the container's own cgroup /lxc.payload.%s", m.root, n)
			}
			// golxc's masks, whatever the modes.
			for _, p := range []string{"/proc/keys", "/proc/timer_list", "/sys/firmware"} {
				fs := strings.Split(p, "/")[1]
				if _, err := os.Stat(p); err != nil || !strings.Contains(tt.auto, fs) {
					continue // not on this host, or not mounted in this case
				}
				if _, ok := ms[p]; !ok {
					t.Errorf("%s is not masked", p)
				}
			}
		})
	}
}

// rewriteKeys replaces the template's lxc.mount.auto and lxc.cap.drop
// lines of container n's config with lines.
func rewriteKeys(t *testing.T, l *lab, n string, lines []string) {
	t.Helper()
	path := l.path + "/" + n + "/config"
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		k, _, _ := strings.Cut(line, "=")
		if k = strings.TrimSpace(k); k == "lxc.cap.drop" || k == "lxc.mount.auto" {
			continue
		}
		out = append(out, line)
	}
	if err := os.WriteFile(path, []byte(strings.Join(append(out, lines...), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
