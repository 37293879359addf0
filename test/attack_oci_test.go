package test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestAttackOCIIDTraversal: a container ID names a directory under
// --root; an ID that is a path must not reach outside it, for any verb.
func TestAttackOCIIDTraversal(t *testing.T) {
	r := newOCIRuntime(t)
	bundle := ociBundle(t, func(s *specs.Spec) { s.Process.Args = []string{"true"} })
	parent := filepath.Dir(r.root)
	for _, id := range []string{"../escape", "..", ".", "a/b", "/tmp/abs", "-rf", ".hidden", "x y", strings.Repeat("a", 1100)} {
		verbs := [][]string{
			{"create", "--bundle", bundle, id}, {"state", id}, {"start", id}, {"kill", id, "9"}, {"delete", "--force", id},
			{"delete", id}, {"exec", id, "true"}, {"pause", id}, {"ps", "--format", "json", id},
		}
		if strings.HasPrefix(id, "-") {
			// After "--", so that it is an ID and not a flag.
			verbs = [][]string{{"create", "--bundle", bundle, "--", id}, {"delete", "--force", "--", id}, {"kill", "--", id, "9"}}
		}
		for _, args := range verbs {
			out, code := r.run(nil, args...)
			if code == 0 {
				t.Errorf("%v: succeeded (%q)", args, out)
			}
			if !strings.Contains(out, "invalid container id") {
				t.Errorf("%v: %q, want it refused as an invalid id", args, out)
			}
		}
	}
	ents, _ := os.ReadDir(parent)
	for _, e := range ents {
		if e.Name() != "state" {
			t.Errorf("%s appeared next to the state root", filepath.Join(parent, e.Name()))
		}
	}
	if ents, _ := os.ReadDir(r.root); len(ents) != 0 {
		t.Errorf("state root holds %d entries after refused creates", len(ents))
	}
	if _, err := os.Stat("/tmp/abs"); err == nil {
		t.Error("/tmp/abs was created")
	}
}

// TestAttackOCIStateDir: the state root is root's alone (it holds the
// FIFO that starts a container and the records delete trusts): made
// 0700, tightened when found looser, refused when another user owns it.
func TestAttackOCIStateDir(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "perm")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100"}
		s.Linux.CgroupsPath = "/" + cg
	})
	if err := os.MkdirAll(r.root, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(r.root, 0o777); err != nil {
		t.Fatal(err)
	}
	r.track(id)
	r.mustRun(outFile(t), "create", "--bundle", bundle, id)
	for _, p := range []string{r.root, filepath.Join(r.root, id)} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("%s: mode %v (%v), want 0700", p, fi.Mode().Perm(), err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(r.root, id))
	for _, e := range ents {
		fi, _ := e.Info()
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s: mode %v, open to others", e.Name(), fi.Mode().Perm())
		}
	}
	r.mustRun(nil, "delete", "--force", id)

	// A root another user made (and could fill with records of its
	// choosing) is refused.
	other := filepath.Join(t.TempDir(), "other")
	if err := os.Mkdir(other, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(other, 1000, 1000); err != nil {
		t.Fatal(err)
	}
	ro := &ociRuntime{t: t, root: other}
	id2 := ociUnique(t, "perm2")
	ociCgroup(t, id2)
	if out, code := ro.run(nil, "create", "--bundle", bundle, id2); code == 0 || !strings.Contains(out, "belongs to uid 1000") {
		t.Errorf("create under a root owned by uid 1000: exit %d %q", code, out)
		ro.run(nil, "delete", "--force", id2)
	}
}

// TestAttackOCIRootfsSymlinkMount: the rootfs is the image's, hostile: a
// mount destination through its symlink to the host's /etc must land in
// the rootfs's /etc, never create or mount anything in the host's.
func TestAttackOCIRootfsSymlinkMount(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "symlink")
	cg := ociCgroup(t, id)
	target := "golxc-oci-attack-" + strconv.Itoa(os.Getpid())
	hostPath := filepath.Join("/etc", target)
	t.Cleanup(func() {
		os.Remove(filepath.Join(hostPath, "tmpfs"))
		os.Remove(hostPath)
		os.Remove(hostPath + "-file")
	})
	src := filepath.Join(t.TempDir(), "payload")
	if err := os.WriteFile(src, []byte("payload\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100"}
		s.Linux.CgroupsPath = "/" + cg
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/hostetc/" + target + "/tmpfs", Type: "tmpfs", Source: "tmpfs"},
			specs.Mount{Destination: "/escape/" + target + "-file", Type: "bind", Source: src, Options: []string{"bind"}},
		)
	})
	rootfs := filepath.Join(bundle, "rootfs")
	if err := os.Symlink("/etc", filepath.Join(rootfs, "hostetc")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../../../etc", filepath.Join(rootfs, "escape")); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile("/proc/self/mountinfo")
	r.track(id)
	logf := outFile(t)
	_, code := r.run(logf, "create", "--bundle", bundle, id)
	for _, p := range []string{hostPath, hostPath + "-file"} {
		if _, err := os.Lstat(p); err == nil {
			t.Fatalf("%s was created on the host through the rootfs's symlink", p)
		}
	}
	after, _ := os.ReadFile("/proc/self/mountinfo")
	if strings.Count(string(after), "\n") > strings.Count(string(before), "\n") && strings.Contains(string(after), target) {
		t.Errorf("a mount of the container appeared in the host's mount table")
	}
	if code != 0 {
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("create: %s", b)
	}
	// Resolved inside the root: the rootfs's own /etc got them.
	for _, p := range []string{filepath.Join(rootfs, "etc", target, "tmpfs")} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s: %v (the mount should have landed in the rootfs)", p, err)
		}
	}
	if out, code := r.run(nil, "exec", id, "cat", "/etc/"+target+"-file"); code != 0 || out != "payload\n" {
		t.Errorf("in the container, /etc/%s: exit %d %q; want the bind of payload", target, code, out)
	}
}

// TestAttackOCIGatedInitBinary: a created container's init waits for
// start where processes can see it (an exec into the container, a pod
// sharing its pid namespace): it runs from a sealed copy of golxc, not
// the host's binary, which /proc/PID/exe would otherwise hand over for
// rewriting (CVE-2019-5736).
func TestAttackOCIGatedInitBinary(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "gate")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100"}
		s.Linux.CgroupsPath = "/" + cg
		// The container's processes may ptrace (a common grant): not
		// the stage that waits for start with every capability.
		c := s.Process.Capabilities
		c.Bounding = append(c.Bounding, "CAP_SYS_PTRACE")
		c.Effective = append(c.Effective, "CAP_SYS_PTRACE")
		c.Permitted = append(c.Permitted, "CAP_SYS_PTRACE")
	})
	pidFile := filepath.Join(t.TempDir(), "pid")
	r.track(id)
	r.mustRun(outFile(t), "create", "--bundle", bundle, "--pid-file", pidFile, id)
	pid := readTrim(t, pidFile)
	// Such a process can ptrace the stage: the stage holds nothing
	// beyond the container's bounding set by then.
	out, code := r.run(nil, "exec", id, "sh", "-c", "grep -E '^Cap(Prm|Eff|Bnd)' /proc/1/status /proc/self/status")
	caps := map[string]uint64{}
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(strings.Replace(line, ":", " ", 2)); len(f) == 3 {
			v, _ := strconv.ParseUint(f[2], 16, 64)
			caps[f[0]+" "+f[1]] = v
		}
	}
	bnd, ok := caps["/proc/self/status CapBnd"]
	if code != 0 || !ok || len(caps) != 6 {
		t.Fatalf("exec into the created container: exit %d, %q", code, out)
	}
	for _, k := range []string{"/proc/1/status CapPrm", "/proc/1/status CapEff", "/proc/1/status CapBnd"} {
		if extra := caps[k] &^ bnd; extra != 0 {
			t.Errorf("the init stage waiting for start holds %s %016x, capabilities %016x beyond the container's bounding set %016x", k, caps[k], extra, bnd)
		}
	}
	exe, err := os.Readlink("/proc/" + pid + "/exe")
	if err != nil || !strings.HasPrefix(exe, "/memfd:") {
		t.Fatalf("the created container's init runs %q (%v), want a sealed memfd copy", exe, err)
	}
	// From inside the container: its root cannot write to what its PID 1
	// runs.
	if out, code := r.run(nil, "exec", id, "sh", "-c", "echo x >> /proc/1/exe && echo WROTE"); code == 0 || strings.Contains(out, "WROTE") {
		t.Errorf("a process of the created container wrote to its init's binary: %q", out)
	}
}

// TestAttackOCIHostNull: a standard descriptor of create or exec that is
// the host's /dev/null is not handed to the container, whose root could
// chmod or chown that inode through /proc/PID/fd/N.
func TestAttackOCIHostNull(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "null")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100"}
		s.Linux.CgroupsPath = "/" + cg
	})
	null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	var host syscall.Stat_t
	if err := syscall.Fstat(int(null.Fd()), &host); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(t.TempDir(), "pid")
	execPid := filepath.Join(t.TempDir(), "exec.pid")
	r.track(id)
	r.mustRun(null, "create", "--bundle", bundle, "--pid-file", pidFile, id)
	r.mustRun(nil, "start", id)
	r.mustRun(null, "exec", "--detach", "--pid-file", execPid, id, "sleep", "100")
	for _, pid := range []string{readTrim(t, pidFile), readTrim(t, execPid)} {
		for fd := 0; fd < 3; fd++ {
			var st syscall.Stat_t
			p := "/proc/" + pid + "/fd/" + strconv.Itoa(fd)
			if err := syscall.Stat(p, &st); err != nil {
				t.Errorf("stat %s: %v", p, err)
				continue
			}
			if st.Dev == host.Dev && st.Ino == host.Ino {
				t.Errorf("%s is the host's /dev/null", p)
			}
		}
	}
}

// TestAttackOCISpecSymlink: golxc-runc spec in a bundle whose config.json
// is a symlink (dangling or to a file) writes through neither.
func TestAttackOCISpecSymlink(t *testing.T) {
	r := newOCIRuntime(t)
	for _, existing := range []bool{false, true} {
		bundle := t.TempDir()
		target := filepath.Join(t.TempDir(), "target")
		if existing {
			if err := os.WriteFile(target, []byte("keep"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Symlink(target, filepath.Join(bundle, "config.json")); err != nil {
			t.Fatal(err)
		}
		out, code := r.run(nil, "spec", "--bundle", bundle)
		if code == 0 || !strings.Contains(out, "exists") {
			t.Errorf("spec over a symlink (target there: %v): exit %d %q", existing, code, out)
		}
		b, err := os.ReadFile(target)
		if existing && string(b) != "keep" || !existing && err == nil {
			t.Errorf("spec wrote through the symlink (target there: %v): %q", existing, b)
		}
	}
}

// TestAttackOCIJoinUserOwnedNamespace: a local user (65534) makes a user
// namespace, with maps root wrote for it (as a careless admin or a
// subordinate-id tool would), and gets a bundle that joins it run: its
// owner would hold every capability over the container's namespaces and
// its init stage (ptrace while golxc's descriptors are open, setns into
// its mount namespace). Refused in one line, and so is a namespace root
// made below the user's (nsenter --preserve-credentials keeps kuid 0,
// so the inner namespace's owner is root; its parent's is the user's),
// and nothing is left.
func TestAttackOCIJoinUserOwnedNamespace(t *testing.T) {
	r := newOCIRuntime(t)
	requireTool(t, "nsenter", "util-linux")
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	owned, _ := pinnedNS(t, nobodyUnshare(t), maps, "user")
	// Host root is mapped in the user's namespace (else it could make no
	// namespace in there): root's inner one is then root's own.
	outer, _ := pinnedNS(t, nobodyUnshare(t), []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 1}}, "user")
	nested, _ := pinnedNS(t, []string{"nsenter", "--preserve-credentials", "--user=" + outer["user"], "unshare", "--user"}, nil, "user")
	for _, c := range []struct{ name, path, want string }{
		{"owned", owned["user"], "is owned by uid 65534, not root"},
		{"nested", nested["user"], "is below a user namespace owned by uid 65534, not root"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := ociUnique(t, "userown")
			cg := ociCgroup(t, id)
			bundle := ociBundle(t, func(s *specs.Spec) {
				s.Linux.CgroupsPath = "/" + cg
				s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: c.path})
			})
			r.track(id)
			out, code := r.run(nil, "create", "--bundle", bundle, id)
			if code != 1 || !strings.Contains(out, c.want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("create: exit %d %q; want 1 and one line with %q", code, out, c.want)
			}
			if list := r.mustRun(nil, "list", "-q"); strings.Contains(list, id) {
				t.Errorf("refused create left %s", id)
			}
			if cgroupExists(cg) {
				t.Errorf("refused create left cgroup %s", cg)
			}
		})
	}
}
