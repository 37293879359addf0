package test

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// hookState is what an OCI hook reads on its stdin.
type hookState struct {
	ID, Status, Bundle string
	Pid                int
}

func readHookState(t *testing.T, path string) (hookState, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("hook did not run: %v", err)
	}
	js, ns, _ := strings.Cut(string(b), "\n")
	var st hookState
	if err := json.Unmarshal([]byte(js), &st); err != nil {
		t.Fatalf("hook's stdin %q: %v", js, err)
	}
	return st, strings.TrimSpace(ns)
}

// TestOCIHooksInContainer: createContainer runs at create in the
// container's mount namespace with the host's paths (before the pivot),
// startContainer at start in the container's namespaces and root, both
// with the state (the init's host pid in it) on stdin.
func TestOCIHooksInContainer(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "hookin")
	cg := ociCgroup(t, id)
	dir := t.TempDir()
	record := func(out string) string {
		return "cat > " + out + "; echo >> " + out + "; readlink /proc/self/ns/mnt >> " + out
	}
	var bundle string
	bundle = ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100"}
		s.Linux.CgroupsPath = "/" + cg
		s.Hooks = &specs.Hooks{
			// The host's /bin/sh, writing to the host's dir.
			CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", record(filepath.Join(dir, "cc"))}}},
			// The container's /bin/sh (busybox), writing in its root.
			StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", record("/sc")}}},
		}
	})
	r.track(id)
	pidFile := filepath.Join(dir, "pid")
	r.mustRun(outFile(t), "create", "--bundle", bundle, "--pid-file", pidFile, id)
	pid := readTrim(t, pidFile)
	initNS, _ := os.Readlink("/proc/" + pid + "/ns/mnt")
	hostNS, _ := os.Readlink("/proc/self/ns/mnt")
	st, ns := readHookState(t, filepath.Join(dir, "cc"))
	if st.ID != id || st.Status != "created" || strconv.Itoa(st.Pid) != pid || st.Bundle != bundle {
		t.Errorf("createContainer state %+v: want id %s, created, pid %s, bundle %s", st, id, pid, bundle)
	}
	if ns != initNS || ns == hostNS {
		t.Errorf("createContainer ran in mount namespace %q; the container's is %q, the host's %q", ns, initNS, hostNS)
	}
	sc := filepath.Join(bundle, "rootfs", "sc")
	if _, err := os.Stat(sc); err == nil {
		t.Fatalf("startContainer ran at create")
	}
	r.mustRun(nil, "start", id)
	st, ns = readHookState(t, sc)
	if st.ID != id || strconv.Itoa(st.Pid) != pid {
		t.Errorf("startContainer state %+v: want id %s, pid %s", st, id, pid)
	}
	if ns != initNS {
		t.Errorf("startContainer ran in mount namespace %q, the container's is %q", ns, initNS)
	}
	if got := r.state(id)["status"]; got != "running" {
		t.Errorf("status after start %v, want running", got)
	}
}

// TestAttackOCIHookDescriptors: no OCI hook inherits a descriptor of
// the runtime's or the init stage's beyond its standard ones (the stage's
// sync socket, the start gate, namespace files, idmapped mount trees):
// with the sync socket a hook could drive the stage's parent.
func TestAttackOCIHookDescriptors(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "hookfd")
	cg := ociCgroup(t, id)
	dir := t.TempDir()
	list := func(out string) specs.Hook {
		// /proc/self: a hook in the container's pid namespace is not
		// $$ in the host's /proc.
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "exec > " + out + "; ls /proc/self/fd"}}
	}
	src := t.TempDir()
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
		s.Linux.CgroupsPath = "/" + cg
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/idm", Type: "bind", Source: src, Options: []string{"bind"}, UIDMappings: maps, GIDMappings: maps})
		s.Hooks = &specs.Hooks{
			CreateRuntime:   []specs.Hook{list(filepath.Join(dir, "createRuntime"))},
			CreateContainer: []specs.Hook{list(filepath.Join(dir, "createContainer"))},
			StartContainer:  []specs.Hook{list("/startContainer")},
			Poststart:       []specs.Hook{list(filepath.Join(dir, "poststart"))},
		}
	})
	r.track(id)
	r.mustRun(outFile(t), "create", "--bundle", bundle, id)
	r.mustRun(nil, "start", id)
	for _, f := range []string{filepath.Join(dir, "createRuntime"), filepath.Join(dir, "createContainer"), filepath.Join(bundle, "rootfs", "startContainer"), filepath.Join(dir, "poststart")} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Errorf("hook did not run: %v", err)
			continue
		}
		// ls's own descriptor of the directory it lists may show too.
		fds := strings.Fields(string(b))
		if len(fds) < 3 || len(fds) > 4 || fds[0] != "0" || fds[1] != "1" || fds[2] != "2" {
			t.Errorf("%s: the hook had descriptors %v, want 0 1 2 only", filepath.Base(f), fds)
		}
	}
}

// TestOCIHookFailures: a failing createRuntime or createContainer hook
// fails create in one line naming it and leaves nothing; a failing
// startContainer hook fails start, and the program never runs; a hook
// past its timeout is killed with its whole session.
func TestOCIHookFailures(t *testing.T) {
	r := newOCIRuntime(t)
	one := 1
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		hooks specs.Hooks
		want  string
	}{
		{"createRuntime", specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo no network for you; exit 3"}}},
			Poststop: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + filepath.Join(dir, "poststop-createRuntime")}}}},
			"createRuntime hook 0 (/bin/sh) exited with status 3: no network for you"},
		{"createContainer", specs.Hooks{CreateContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo bad mount; exit 4"}}},
			Poststop: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + filepath.Join(dir, "poststop-createContainer")}}}},
			"createContainer hook 0 (/bin/sh) exited with status 4: bad mount"},
		{"timeout", specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh", Timeout: &one,
			Args: []string{"sh", "-c", "sleep 1000 & echo $! > " + filepath.Join(dir, "bg") + "; sleep 1000"}}}},
			"createRuntime hook 0 (/bin/sh) timed out"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := ociUnique(t, "hookf")
			cg := ociCgroup(t, id)
			bundle := ociBundle(t, func(s *specs.Spec) {
				s.Linux.CgroupsPath = "/" + cg
				s.Hooks = &c.hooks
			})
			r.track(id)
			out, code := r.run(nil, "create", "--bundle", bundle, id)
			if code != 1 || !strings.Contains(out, c.want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("create: exit %d %q; want 1 and one line with %q", code, out, c.want)
			}
			if list := r.mustRun(nil, "list", "-q"); strings.Contains(list, id) {
				t.Errorf("failed create left %s", id)
			}
			if cgroupExists(cg) {
				t.Errorf("failed create left cgroup %s", cg)
			}
			// The lifecycle goes on with the poststop hooks.
			if c.hooks.Poststop != nil {
				if st, _ := readHookState(t, filepath.Join(dir, "poststop-"+c.name)); st.ID != id || st.Status != "stopped" {
					t.Errorf("poststop hook after the failed create got %+v, want id %s, stopped", st, id)
				}
			}
		})
	}
	if b, err := os.ReadFile(filepath.Join(dir, "bg")); err == nil {
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		// Killed, it may stay a zombie a while until its reaper comes.
		running := func() bool {
			st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			return err == nil && strings.Contains(string(st), "(sleep) ") && !strings.Contains(string(st), "(sleep) Z")
		}
		if pid > 0 && running() {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Errorf("the timed-out hook's background sleep %d lives on", pid)
		}
	} else {
		t.Errorf("the timeout hook did not start: %v", err)
	}

	t.Run("startContainer", func(t *testing.T) {
		id := ociUnique(t, "hooks")
		cg := ociCgroup(t, id)
		var bundle string
		bundle = ociBundle(t, func(s *specs.Spec) {
			s.Linux.CgroupsPath = "/" + cg
			s.Process.Args = []string{"sh", "-c", "touch /ran"}
			s.Hooks = &specs.Hooks{StartContainer: []specs.Hook{{Path: "/bin/sh", Args: []string{"sh", "-c", "echo not today; exit 5"}}}}
		})
		r.track(id)
		errf := outFile(t)
		r.mustRun(errf, "create", "--bundle", bundle, id)
		out, code := r.run(nil, "start", id)
		if code != 1 || !strings.Contains(out, "startContainer") {
			t.Errorf("start: exit %d %q; want 1 naming the startContainer hook", code, out)
		}
		if _, err := os.Stat(filepath.Join(bundle, "rootfs", "ran")); err == nil {
			t.Errorf("the container's program ran after its startContainer hook failed")
		}
		if b, _ := os.ReadFile(errf.Name()); !strings.Contains(string(b), "startContainer hook 0 (/bin/sh) exited with status 5: not today") {
			t.Errorf("the container's stderr %q lacks the hook's failure", b)
		}
	})
}

// TestOCIHookDaemon: a createRuntime hook that leaves a daemon holding
// its stdout (a network helper that forks) does not hold create: the
// hook's end is what counts, its output is waited for a short while.
func TestOCIHookDaemon(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "hookd")
	cg := ociCgroup(t, id)
	dir := t.TempDir()
	bg := filepath.Join(dir, "bg")
	t.Cleanup(func() {
		if b, err := os.ReadFile(bg); err == nil {
			if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100"}
		s.Linux.CgroupsPath = "/" + cg
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{Path: "/bin/sh",
			Args: []string{"sh", "-c", "sleep 1000 & echo $! > " + bg + "; echo daemon started"}}}}
	})
	r.track(id)
	// runIn fails the test when create does not return (toolTimeout).
	r.mustRun(outFile(t), "create", "--bundle", bundle, id)
	if got := r.state(id)["status"]; got != "created" {
		t.Errorf("status %v, want created", got)
	}
	if b, err := os.ReadFile(bg); err != nil || len(b) == 0 {
		t.Errorf("the hook's daemon did not start: %v", err)
	}
}

// TestOCIKillAll: kill --all reaches every process of the container's
// cgroup, a paused container's too (a frozen v1 task dies only once
// thawed); another signal leaves a paused container paused.
func TestOCIKillAll(t *testing.T) {
	r := newOCIRuntime(t)
	id, bundle := r.container("killall", func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "trap '' USR1; sleep 1000 & sleep 1000 & wait"}
	})
	r.mustRun(outFile(t), "create", "--bundle", bundle, id)
	r.mustRun(nil, "start", id)
	var pids []int
	if !waitFor(10*time.Second, func() bool {
		pids = nil
		_ = json.Unmarshal([]byte(r.mustRun(nil, "ps", "--format", "json", id)), &pids)
		return len(pids) == 3
	}) {
		t.Fatalf("ps: %v, want the shell and its two sleeps", pids)
	}
	r.mustRun(nil, "pause", id)
	r.mustRun(nil, "kill", "--all", id, "USR1")
	if got := r.state(id)["status"]; got != "paused" {
		t.Errorf("status after kill --all USR1 of a paused container: %v, want paused", got)
	}
	r.mustRun(nil, "kill", "--all", id, "KILL")
	r.waitStatus(id, "stopped")
	for _, p := range pids {
		if !waitFor(5*time.Second, func() bool { return !alive(p) }) {
			t.Errorf("process %d outlived kill --all", p)
		}
	}
	r.mustRun(nil, "delete", id)
}

// TestOCIExecRlimits: exec's process.rlimits reach the process, the
// open-files limit included (which the Go runtime would put back on its
// exec unless set through its own call).
func TestOCIExecRlimits(t *testing.T) {
	r := newOCIRuntime(t)
	id, bundle := r.container("execrl", func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
	})
	r.mustRun(outFile(t), "create", "--bundle", bundle, id)
	r.mustRun(nil, "start", id)
	proc := filepath.Join(t.TempDir(), "process.json")
	pj, _ := json.Marshal(specs.Process{Args: []string{"sh", "-c", "echo nofile=$(ulimit -Sn)/$(ulimit -Hn) core=$(ulimit -Sc)"}, Cwd: "/", Env: []string{"PATH=/bin"},
		Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 123, Hard: 456}, {Type: "RLIMIT_CORE", Soft: 0, Hard: 0}}})
	if err := os.WriteFile(proc, pj, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := r.run(nil, "exec", "--process", proc, id)
	if code != 0 || !strings.Contains(out, "nofile=123/456 core=0") {
		t.Errorf("exec with rlimits: exit %d %q, want nofile=123/456 core=0", code, out)
	}
}

// listenConsole listens on a console socket and hands on the first
// terminal master that comes over it (nil when none does).
func listenConsole(t *testing.T) (string, <-chan *os.File) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	got := make(chan *os.File, 1)
	go func() {
		c, err := ln.AcceptUnix()
		if err != nil {
			got <- nil
			return
		}
		defer c.Close()
		buf, oob := make([]byte, 4096), make([]byte, unix.CmsgSpace(4))
		_, oobn, _, _, err := c.ReadMsgUnix(buf, oob)
		msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
		if err != nil || perr != nil || len(msgs) != 1 {
			got <- nil
			return
		}
		fds, err := unix.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) != 1 {
			got <- nil
			return
		}
		got <- os.NewFile(uintptr(fds[0]), "master")
	}()
	return sock, got
}

// TestOCIExecTTYWait: exec --tty without --detach sends the terminal's
// master over the console socket, waits for the process and exits with
// its status.
func TestOCIExecTTYWait(t *testing.T) {
	r := newOCIRuntime(t)
	id, bundle := r.container("exectty", func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
	})
	r.mustRun(outFile(t), "create", "--bundle", bundle, id)
	r.mustRun(nil, "start", id)
	sock, got := listenConsole(t)
	out, code := r.run(nil, "exec", "--tty", "--console-socket", sock, id, "sh", "-c", "tty; exit 7")
	if code != 7 {
		t.Errorf("exec --tty: exit %d %q, want the process's 7", code, out)
	}
	master := <-got
	if master == nil {
		t.Fatal("no terminal master came over the console socket")
	}
	defer master.Close()
	b := make([]byte, 256)
	n, _ := master.Read(b)
	if !strings.HasPrefix(strings.TrimSpace(string(b[:n])), "/dev/pts/") {
		t.Errorf("the exec'd process's tty %q, want /dev/pts/N", b[:n])
	}
	if out, code := r.run(nil, "exec", "--tty", id, "true"); code == 0 || !strings.Contains(out, "--console-socket") {
		t.Errorf("exec --tty without a console socket: exit %d %q, want a refusal naming --console-socket", code, out)
	}
}

// TestOCIIDMapMount: a bind mount with uidMappings/gidMappings is
// idmapped (a file the filesystem says root owns shows as the mapped
// id); idmap of a filesystem without idmapped mounts, of a mount that
// is no bind, or without maps in a container without a user namespace
// is refused in one line, leaving nothing.
func TestOCIIDMapMount(t *testing.T) {
	r := newOCIRuntime(t)
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	id := ociUnique(t, "idmap")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "stat -c %u:%g /idm/f /plain/f"}
		s.Linux.CgroupsPath = "/" + cg
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/idm", Type: "bind", Source: src, Options: []string{"bind", "ro"}, UIDMappings: maps, GIDMappings: maps},
			specs.Mount{Destination: "/plain", Type: "bind", Source: src, Options: []string{"bind"}})
	})
	r.track(id)
	out, code := r.run(nil, "run", "--bundle", bundle, id)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	if lines := strings.Fields(out); len(lines) != 2 || lines[0] != "1000:1000" || lines[1] != "0:0" {
		t.Errorf("owners through the idmapped and the plain mount %q, want 1000:1000 and 0:0", out)
	}

	// Without maps of its own, the container's user namespace's: what
	// the filesystem says root owns is the container's root's.
	id = ociUnique(t, "idmapu")
	cg = ociCgroup(t, id)
	userMaps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 200000, Size: 65536}}
	bundle = ociBundle(t, func(s *specs.Spec) {
		// Without the idmap the file would be nobody's (65534): host
		// root is not mapped.
		s.Process.Args = []string{"sh", "-c", "stat -c %u:%g /idm/f"}
		s.Linux.CgroupsPath = "/" + cg
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings, s.Linux.GIDMappings = userMaps, userMaps
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/idm", Type: "bind", Source: src, Options: []string{"bind", "idmap"}})
	})
	// The mapped root may not make it in a rootfs host root owns.
	for _, d := range []string{"idm"} {
		if err := os.Mkdir(filepath.Join(bundle, "rootfs", d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	r.track(id)
	out, code = r.run(nil, "run", "--bundle", bundle, id)
	if code != 0 || strings.TrimSpace(out) != "0:0" {
		t.Errorf("in a user namespace, the owner through the idmapped mount: exit %d %q, want 0:0", code, out)
	}

	for _, c := range []struct {
		name string
		m    specs.Mount
		want string
	}{
		{"sysfs", specs.Mount{Destination: "/s", Type: "bind", Source: "/sys/kernel", Options: []string{"bind"}, UIDMappings: maps, GIDMappings: maps},
			"does not support idmapped mounts"},
		{"not a bind", specs.Mount{Destination: "/t", Type: "tmpfs", Source: "tmpfs", Options: []string{"idmap"}}, "only a bind mount can be idmapped"},
		{"no user namespace", specs.Mount{Destination: "/t", Type: "bind", Source: src, Options: []string{"bind", "idmap"}}, "has none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := ociUnique(t, "idmapx")
			cg := ociCgroup(t, id)
			bundle := ociBundle(t, func(s *specs.Spec) {
				s.Linux.CgroupsPath = "/" + cg
				s.Mounts = append(s.Mounts, c.m)
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

// TestOCIJoinPinnedNamespaces: net, ipc and uts namespaces given as bind
// mounts of nsfs files (pinned, their first process gone, as ip netns
// keeps them) are joined, and a mount namespace by its /proc path; a
// user namespace path that is the host's own is refused in one line
// (joining others: oci_userns_test.go).
func TestOCIJoinPinnedNamespaces(t *testing.T) {
	r := newOCIRuntime(t)
	requireTool(t, "unshare", "util-linux")
	dir := t.TempDir()
	cmd := exec.Command("unshare", "--net", "--ipc", "--uts", "sleep", "1000")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	self, _ := os.Readlink("/proc/self/ns/net")
	pid := strconv.Itoa(cmd.Process.Pid)
	if !waitFor(5*time.Second, func() bool { l, _ := os.Readlink("/proc/" + pid + "/ns/net"); return l != "" && l != self }) {
		t.Fatal("unshare made no network namespace")
	}
	want := map[string]string{}
	for _, ns := range []string{"net", "ipc", "uts"} {
		f := filepath.Join(dir, ns)
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("/proc/"+pid+"/ns/"+ns, f, "", syscall.MS_BIND, ""); err != nil {
			t.Fatalf("pin %s namespace: %v", ns, err)
		}
		t.Cleanup(func() { _ = syscall.Unmount(f, syscall.MNT_DETACH) })
		want[ns], _ = os.Readlink("/proc/" + pid + "/ns/" + ns)
	}
	// Pinned: the process that made them is gone.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()

	id := ociUnique(t, "pinned")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
		s.Linux.CgroupsPath = "/" + cg
		s.Hostname = ""
		for i, n := range s.Linux.Namespaces {
			switch n.Type {
			case specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace:
				s.Linux.Namespaces[i].Path = filepath.Join(dir, map[specs.LinuxNamespaceType]string{
					specs.NetworkNamespace: "net", specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts"}[n.Type])
			}
		}
	})
	pidFile := filepath.Join(t.TempDir(), "pid")
	r.track(id)
	r.mustRun(outFile(t), "create", "--bundle", bundle, "--pid-file", pidFile, id)
	ipid := readTrim(t, pidFile)
	for ns, w := range want {
		if got, _ := os.Readlink("/proc/" + ipid + "/ns/" + ns); got != w {
			t.Errorf("%s namespace of the container's init %q, want the pinned %q", ns, got, w)
		}
	}

	// A mount namespace by path: the container's root is built in it
	// (its init's root is then the container's, in that namespace).
	mcmd := exec.Command("unshare", "--mount", "sleep", "1000")
	if err := mcmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = mcmd.Process.Kill(); _ = mcmd.Wait() }()
	mpid := strconv.Itoa(mcmd.Process.Pid)
	hostMnt, _ := os.Readlink("/proc/self/ns/mnt")
	var wantMnt string
	if !waitFor(5*time.Second, func() bool {
		wantMnt, _ = os.Readlink("/proc/" + mpid + "/ns/mnt")
		return wantMnt != "" && wantMnt != hostMnt
	}) {
		t.Fatal("unshare made no mount namespace")
	}
	mid := ociUnique(t, "joinmnt")
	mcg := ociCgroup(t, mid)
	mbundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
		s.Linux.CgroupsPath = "/" + mcg
		for i, n := range s.Linux.Namespaces {
			if n.Type == specs.MountNamespace {
				s.Linux.Namespaces[i].Path = "/proc/" + mpid + "/ns/mnt"
			}
		}
	})
	mpidFile := filepath.Join(t.TempDir(), "pid")
	r.track(mid)
	r.mustRun(outFile(t), "create", "--bundle", mbundle, "--pid-file", mpidFile, mid)
	minit := readTrim(t, mpidFile)
	if got, _ := os.Readlink("/proc/" + minit + "/ns/mnt"); got != wantMnt {
		t.Errorf("mount namespace of the container's init %q, want the joined %q", got, wantMnt)
	}
	if out, code := r.run(nil, "exec", mid, "cat", "/etc/passwd"); code != 0 || !strings.Contains(out, "root:x:0:0") {
		t.Errorf("exec in the container that joined a mount namespace: exit %d %q, want the rootfs's /etc/passwd", code, out)
	}

	t.Run("user", func(t *testing.T) {
		id := ociUnique(t, "nsref")
		cg := ociCgroup(t, id)
		bundle := ociBundle(t, func(s *specs.Spec) {
			s.Linux.CgroupsPath = "/" + cg
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/" + ipid + "/ns/user"})
		})
		r.track(id)
		out, code := r.run(nil, "create", "--bundle", bundle, id)
		if code != 1 || !strings.Contains(out, "is golxc-runc's own (the host's)") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
			t.Errorf("create: exit %d %q; want 1 and one line refusing to join the host's user namespace", code, out)
		}
		if cgroupExists(cg) {
			t.Errorf("refused create left cgroup %s", cg)
		}
	})
}

// TestOCINoProcess: a config.json without a process is created (as
// runtime-spec allows), start refuses it in one line and ends it, and
// delete removes it.
func TestOCINoProcess(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "noproc")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process = nil
		s.Linux.CgroupsPath = "/" + cg
	})
	r.track(id)
	r.mustRun(outFile(t), "create", "--bundle", bundle, id)
	if got := r.state(id)["status"]; got != "created" {
		t.Errorf("status %v, want created", got)
	}
	out, code := r.run(nil, "start", id)
	if code != 1 || !strings.Contains(out, "has no process") || strings.Count(strings.TrimSpace(out), "\n") != 0 {
		t.Errorf("start: exit %d %q, want 1 and one line saying there is no process", code, out)
	}
	r.waitStatus(id, "stopped")
	r.mustRun(nil, "delete", id)
	if cgroupExists(cg) {
		t.Errorf("cgroup %s left after delete", cg)
	}
}

// TestOCIExecRlimitRaise: an exec's hard limit above golxc-runc's own is
// set before the helper drops its capabilities (raising takes
// CAP_SYS_RESOURCE, which the container need not keep). On a host whose
// root lacks CAP_SYS_RESOURCE no order can raise it: skipped there (the
// order is then shown by TestAttachHelperRlimitsBeforeCapDrop).
func TestOCIExecRlimitRaise(t *testing.T) {
	st, _ := os.ReadFile("/proc/self/status")
	var eff uint64
	for _, l := range strings.Split(string(st), "\n") {
		if v, ok := strings.CutPrefix(l, "CapEff:"); ok {
			eff, _ = strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		}
	}
	if eff&(1<<24) == 0 {
		t.Skip("this host's root lacks CAP_SYS_RESOURCE: no hard limit can be raised")
	}
	r := newOCIRuntime(t)
	id, bundle := r.container("execrr", func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
	})
	r.mustRun(outFile(t), "create", "--bundle", bundle, id)
	r.mustRun(nil, "start", id)
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		t.Fatal(err)
	}
	want := rl.Max + 1000
	proc := filepath.Join(t.TempDir(), "process.json")
	pj, _ := json.Marshal(specs.Process{Args: []string{"sh", "-c", "echo nofile=$(ulimit -Hn)"}, Cwd: "/", Env: []string{"PATH=/bin"},
		Rlimits: []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: want, Hard: want}}})
	if err := os.WriteFile(proc, pj, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := r.run(nil, "exec", "--process", proc, id)
	if code != 0 || !strings.Contains(out, "nofile="+strconv.FormatUint(want, 10)) {
		t.Errorf("exec raising the hard limit to %d: exit %d %q", want, code, out)
	}
}
