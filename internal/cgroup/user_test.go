package cgroup

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestUserBase(t *testing.T) {
	for _, c := range []struct{ base, mount, want string }{
		{"/sys/fs/cgroup/unified/u", "", "/sys/fs/cgroup/unified/u"},
		{"/sys/fs/cgroup/unified/u/lxc.monitor.c1", "", "/sys/fs/cgroup/unified/u"},
		{"/sys/fs/cgroup/unified/u/lxc.payload.c1", "", "/sys/fs/cgroup/unified/u"},
		{"/sys/fs/cgroup/cpu/lxc.monitor.c1", "/sys/fs/cgroup/cpu/lxc.monitor.c1", "/sys/fs/cgroup/cpu/lxc.monitor.c1"},
		{"/sys/fs/cgroup/cpu/u/lxc.monitorx", "", "/sys/fs/cgroup/cpu/u/lxc.monitorx"},
	} {
		if got := userBase(c.base, c.mount); got != c.want {
			t.Errorf("userBase(%q, %q) = %q, want %q", c.base, c.mount, got, c.want)
		}
	}
}

// keepDelegated, run as uid 65534 over a fixture hybrid host where the
// caller's cgroup is "/u" everywhere: only the hierarchies whose /u (and
// its cgroup.procs) the user may write are kept; none gives one line
// naming what to set up.
func TestKeepDelegated(t *testing.T) {
	if root := os.Getenv("CGROUP_TEST_ROOT"); root != "" {
		mi := strings.ReplaceAll(hybridMountinfo, "/sys/fs/cgroup", "/c")
		self := strings.ReplaceAll(hybridPid1, ":/", ":/u")
		l, err := ParseLayout(strings.NewReader(mi), strings.NewReader(self), root)
		if err != nil {
			t.Fatal(err)
		}
		err = l.keepDelegated()
		var out struct {
			Unified string
			V1      []string
			Err     string
		}
		out.Unified = l.Unified
		for _, h := range l.V1 {
			out.V1 = append(out.V1, h.Base)
		}
		if err != nil {
			out.Err = err.Error()
		}
		b, _ := json.Marshal(out)
		os.Stdout.Write(append([]byte("RESULT "), b...))
		os.Stdout.WriteString("\n")
		return
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root to run as uid 65534")
	}
	run := func(root string) (unified string, v1 []string, msg string) {
		t.Helper()
		cmd := exec.Command("/proc/self/exe", "-test.run", "^TestKeepDelegated$", "-test.count=1", "-test.v")
		cmd.Env = []string{"CGROUP_TEST_ROOT=" + root}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("as uid 65534: %v: %s", err, b)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if r, ok := strings.CutPrefix(l, "RESULT "); ok {
				var out struct {
					Unified string
					V1      []string
					Err     string
				}
				if err := json.Unmarshal([]byte(r), &out); err != nil {
					t.Fatal(err)
				}
				return out.Unified, out.V1, out.Err
			}
		}
		t.Fatalf("no result: %s", b)
		return
	}
	root := t.TempDir()
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, h := range []string{"cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids", "systemd", "unified"} {
		d := filepath.Join(root, "c", h, "u")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "cgroup.procs"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing delegated yet.
	_, _, msg := run(root)
	for _, want := range []string{"no cgroup is delegated to uid 65534", filepath.Join(root, "c", "unified", "u"), "Delegate=yes", "cgroup.procs, cgroup.subtree_control and cgroup.threads"} {
		if !strings.Contains(msg, want) {
			t.Errorf("nothing delegated: %q lacks %q", msg, want)
		}
	}
	chown := func(rel ...string) {
		t.Helper()
		for _, r := range rel {
			if err := os.Chown(filepath.Join(root, "c", r), 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The unified directory without its cgroup.procs is not delegated; a
	// v1 directory is (pam_cgfs's way), its files being the user's in the
	// cgroups the user makes.
	chown("unified/u", "memory/u")
	unified, v1, msg := run(root)
	if msg != "" || unified != "" || strings.Join(v1, ",") != filepath.Join(root, "c", "memory", "u") {
		t.Errorf("unified dir and memory delegated: unified %q, v1 %q, error %q; want memory only", unified, v1, msg)
	}
	// systemd's Delegate=yes: the unified /u with its cgroup.procs.
	chown("unified/u/cgroup.procs", "systemd/u")
	unified, v1, msg = run(root)
	if msg != "" {
		t.Fatalf("with a delegated cgroup: %s", msg)
	}
	if want := filepath.Join(root, "c", "unified", "u"); unified != want {
		t.Errorf("unified base %q, want %q", unified, want)
	}
	if want := []string{filepath.Join(root, "c", "memory", "u"), filepath.Join(root, "c", "systemd", "u")}; strings.Join(v1, ",") != strings.Join(want, ",") {
		t.Errorf("v1 bases %q, want %q", v1, want)
	}
}
