package test

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ociCgroup gives a test container a cgroup path and removes it (and the
// test parent, when empty) at the end.
func ociCgroup(t *testing.T, id string) string {
	rel := "golxc-oci-test/" + id
	t.Cleanup(func() {
		removeOCICgroups(rel)
		removeOCICgroups("golxc-oci-test")
	})
	return rel
}

func outFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestOCIRuntimeLifecycle drives one container through golxc-runc's
// verbs as containerd's shim does, checking what each leaves.
func TestOCIRuntimeLifecycle(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "life")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "echo started > /tmp/started; echo out-line; exec sleep 100"}
		s.Linux.CgroupsPath = "/" + cg
	})
	out := outFile(t)
	pidFile := filepath.Join(t.TempDir(), "init.pid")
	r.track(id)
	r.mustRun(out, "create", "--bundle", bundle, "--pid-file", pidFile, id)

	st := r.state(id)
	if st["status"] != "created" {
		t.Fatalf("after create: status %v, want created", st["status"])
	}
	pid, err := strconv.Atoi(readTrim(t, pidFile))
	if err != nil || float64(pid) != st["pid"] {
		t.Fatalf("pid file %q, state pid %v", readTrim(t, pidFile), st["pid"])
	}
	if st["bundle"] != bundle {
		t.Errorf("state bundle %v, want %s", st["bundle"], bundle)
	}
	// Created: set up, in its cgroup, but the command has not run.
	if _, err := os.Stat(filepath.Join(bundle, "rootfs/tmp/started")); err == nil {
		t.Fatal("the container's command ran before start")
	}
	cgs, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cgroup")
	if !strings.Contains(string(cgs), "memory:/"+cg+"\n") {
		t.Errorf("init's cgroups:\n%s\nwant memory:/%s", cgs, cg)
	}
	fi, err := os.Stat(r.root)
	if err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state root %s: mode %v, want 0700 (%v)", r.root, fi.Mode().Perm(), err)
	}

	r.mustRun(nil, "start", id)
	if got := r.state(id)["status"]; got != "running" {
		t.Fatalf("after start: status %v", got)
	}
	if !waitFor(10*time.Second, func() bool { _, err := os.Stat(filepath.Join(bundle, "rootfs/tmp/started")); return err == nil }) {
		t.Fatal("the command did not run after start")
	}
	if !waitFor(5*time.Second, func() bool { b, _ := os.ReadFile(out.Name()); return strings.Contains(string(b), "out-line") }) {
		b, _ := os.ReadFile(out.Name())
		t.Errorf("the container did not write to create's stdout: %q", b)
	}
	if _, code := r.run(nil, "start", id); code == 0 {
		t.Error("a second start succeeded")
	}

	var pids []int
	if err := json.Unmarshal([]byte(r.mustRun(nil, "ps", "--format", "json", id)), &pids); err != nil || len(pids) == 0 || pids[0] != pid {
		t.Errorf("ps --format json: %v %v, want [%d]", pids, err, pid)
	}

	r.mustRun(nil, "pause", id)
	if got := r.state(id)["status"]; got != "paused" {
		t.Errorf("after pause: status %v", got)
	}
	if _, code := r.run(nil, "exec", id, "true"); code == 0 {
		t.Error("exec in a paused container succeeded")
	}
	r.mustRun(nil, "resume", id)
	if got := r.state(id)["status"]; got != "running" {
		t.Errorf("after resume: status %v", got)
	}

	if _, code := r.runIn(nil, `{"memory":{"limit":41943040},"pids":{"limit":64}}`, "update", "--resources", "-", id); code != 0 {
		t.Error("update --resources - failed")
	}
	if got := readTrim(t, filepath.Join("/sys/fs/cgroup/memory", cg, "memory.limit_in_bytes")); got != "41943040" {
		t.Errorf("memory.limit_in_bytes %s after update, want 41943040", got)
	}
	if got := readTrim(t, filepath.Join("/sys/fs/cgroup/pids", cg, "pids.max")); got != "64" {
		t.Errorf("pids.max %s after update, want 64", got)
	}
	// memory+swap cut, then raised: v1 wants the two in a different
	// order each time.
	for _, lim := range []string{"41943040", "83886080"} {
		if out, code := r.runIn(nil, `{"memory":{"limit":`+lim+`,"swap":`+lim+`}}`, "update", "--resources", "-", id); code != 0 {
			t.Errorf("update memory and swap to %s: %s", lim, out)
		}
		if got := readTrim(t, filepath.Join("/sys/fs/cgroup/memory", cg, "memory.limit_in_bytes")); got != lim {
			t.Errorf("memory.limit_in_bytes %s after update, want %s", got, lim)
		}
	}
	var ev struct {
		Type string         `json:"type"`
		ID   string         `json:"id"`
		Data map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.mustRun(nil, "events", "--stats", id)), &ev); err != nil || ev.Type != "stats" || ev.ID != id || ev.Data["memory"] == nil {
		t.Errorf("events --stats: %+v %v", ev, err)
	}

	// exec: the status comes back; a detached one is left running with
	// its pid in the file, in the container's cgroup.
	if out, code := r.run(nil, "exec", id, "sh", "-c", "echo exec-out; exit 5"); code != 5 || !strings.Contains(out, "exec-out") {
		t.Errorf("exec: exit %d, output %q; want 5 and exec-out", code, out)
	}
	proc := filepath.Join(t.TempDir(), "process.json")
	pj, _ := json.Marshal(specs.Process{Args: []string{"sleep", "100"}, Cwd: "/tmp", Env: []string{"PATH=/bin"}, User: specs.User{UID: 1000, GID: 1000}})
	if err := os.WriteFile(proc, pj, 0o600); err != nil {
		t.Fatal(err)
	}
	execPid := filepath.Join(t.TempDir(), "exec.pid")
	r.mustRun(out, "exec", "--process", proc, "--detach", "--pid-file", execPid, id)
	epid, _ := strconv.Atoi(readTrim(t, execPid))
	status, _ := os.ReadFile("/proc/" + strconv.Itoa(epid) + "/status")
	if !strings.Contains(string(status), "Uid:\t1000\t1000\t1000") {
		t.Errorf("exec'd process %d is not uid 1000:\n%s", epid, status)
	}
	if cwd, _ := os.Readlink("/proc/" + strconv.Itoa(epid) + "/cwd"); !strings.HasSuffix(cwd, "/rootfs/tmp") && cwd != "/tmp" {
		t.Errorf("exec'd process cwd %q, want the container's /tmp", cwd)
	}
	ecg, _ := os.ReadFile("/proc/" + strconv.Itoa(epid) + "/cgroup")
	if !strings.Contains(string(ecg), "memory:/"+cg+"\n") {
		t.Errorf("exec'd process cgroups:\n%s", ecg)
	}

	if _, code := r.run(nil, "delete", id); code == 0 {
		t.Error("delete of a running container without --force succeeded")
	}
	r.mustRun(nil, "kill", id, "KILL")
	r.waitStatus(id, "stopped")
	if out, code := r.run(nil, "kill", id, "15"); code != 1 || !strings.Contains(out, "container not running") {
		t.Errorf("kill of a stopped container: exit %d %q, want 1 and \"container not running\"", code, out)
	}
	// The shim's kill --all after the init died: no error.
	if out, code := r.run(nil, "kill", "--all", id, "9"); code != 0 {
		t.Errorf("kill --all of a stopped container: exit %d %q", code, out)
	}
	r.mustRun(nil, "delete", id)
	if out, code := r.run(nil, "state", id); code != 1 || !strings.Contains(out, "does not exist") {
		t.Errorf("state after delete: exit %d %q", code, out)
	}
	if out, code := r.run(nil, "delete", id); code != 1 || !strings.Contains(out, "does not exist") {
		t.Errorf("delete of an unknown container: exit %d %q", code, out)
	}
	if out, code := r.run(nil, "delete", "--force", id); code != 0 {
		t.Errorf("delete --force of an unknown container: exit %d %q", code, out)
	}
	if !waitFor(5*time.Second, func() bool { return !cgroupExists(cg) }) {
		t.Errorf("cgroup %s left after delete", cg)
	}
	if alive(epid) {
		t.Errorf("exec'd process %d outlived delete", epid)
	}
}

// TestOCIRuntimeRun: run waits for the container as its subreaper, so
// the init must be its child (no golxc process between), and exits with
// the container's status.
func TestOCIRuntimeRun(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "run")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sh", "-c", "echo hello from $(hostname); id -G; exit 3"}
		s.Process.User = specs.User{UID: 0, GID: 0, AdditionalGids: []uint32{10, 20}}
		s.Linux.CgroupsPath = "/" + cg
	})
	r.track(id)
	out, code := r.run(nil, "run", "--bundle", bundle, id)
	if code != 3 || !strings.Contains(out, "hello from golxc") {
		t.Fatalf("run: exit %d, output %q; want 3 and hello from golxc", code, out)
	}
	if !strings.Contains(out, "0 10 20") {
		t.Errorf("additionalGids: id -G printed %q, want 0 10 20", out)
	}
	if list := r.mustRun(nil, "list", "-q"); strings.TrimSpace(list) != "" {
		t.Errorf("run left %q", list)
	}
	if cgroupExists(cg) {
		t.Errorf("run left cgroup %s", cg)
	}
}

// TestOCIRuntimeCreateError: a failed create says why in the --log file
// as the shim reads it (the last JSON error line) and leaves nothing.
func TestOCIRuntimeCreateError(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "err")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"/nonexistent"}
		s.Linux.CgroupsPath = "/" + cg
	})
	logf := filepath.Join(t.TempDir(), "log.json")
	if err := os.WriteFile(logf, []byte(`{"level":"info","msg":"earlier line kept"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.track(id)
	out, code := r.run(nil, "--log", logf, "--log-format", "json", "create", "--bundle", bundle, id)
	if code != 1 {
		t.Fatalf("create of /nonexistent: exit %d %q", code, out)
	}
	b, _ := os.ReadFile(logf)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "earlier line kept") {
		t.Fatalf("log not appended to:\n%s", b)
	}
	var last struct{ Level, Msg, Time string }
	if err := json.Unmarshal([]byte(lines[1]), &last); err != nil || last.Level != "error" || !strings.Contains(last.Msg, "/nonexistent") || last.Time == "" {
		t.Errorf("last log line %q (%v): want level error naming /nonexistent", lines[1], err)
	}
	if list := r.mustRun(nil, "list", "-q"); strings.TrimSpace(list) != "" {
		t.Errorf("failed create left %q", list)
	}
	if cgroupExists(cg) {
		t.Errorf("failed create left cgroup %s", cg)
	}
}

// TestOCIRuntimeTerminal: with process.terminal the pty master comes over
// --console-socket (SCM_RIGHTS) and the container's stdio is its slave,
// /dev/console.
func TestOCIRuntimeTerminal(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "tty")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 33, Width: 99}
		s.Process.Args = []string{"sh", "-c", "tty; stat -c %t:%T /dev/console; sleep 1"}
		s.Linux.CgroupsPath = "/" + cg
	})
	sock := filepath.Join(t.TempDir(), "console.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
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
		if err != nil {
			got <- nil
			return
		}
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		if len(msgs) != 1 {
			got <- nil
			return
		}
		fds, _ := unix.ParseUnixRights(&msgs[0])
		got <- os.NewFile(uintptr(fds[0]), "master")
	}()
	r.track(id)
	r.mustRun(outFile(t), "create", "--bundle", bundle, "--console-socket", sock, id)
	master := <-got
	if master == nil {
		t.Fatal("no pty master came over the console socket")
	}
	defer master.Close()
	ws, err := unix.IoctlGetWinsize(int(master.Fd()), unix.TIOCGWINSZ)
	if err != nil || ws.Row != 33 || ws.Col != 99 {
		t.Errorf("console size %+v (%v), want 33x99", ws, err)
	}
	r.mustRun(nil, "start", id)
	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			lines <- strings.TrimSpace(sc.Text())
		}
		close(lines)
	}()
	var seen []string
	timeout := time.After(10 * time.Second)
	for len(seen) < 2 {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("console closed after %q", seen)
			}
			seen = append(seen, l)
		case <-timeout:
			t.Fatalf("console output %q, want two lines", seen)
		}
	}
	if !strings.HasPrefix(seen[0], "/dev/") || seen[1] != "88:0" && !strings.HasPrefix(seen[1], "88:") {
		// /dev/console is a bind of the pty slave (major 136 = 0x88).
		t.Errorf("console output %q: want a tty and /dev/console a pty (88:N)", seen)
	}
}

// TestOCIRuntimeHooks: createRuntime, poststart and poststop hooks run
// at their points with the state on their standard input.
func TestOCIRuntimeHooks(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "hooks")
	cg := ociCgroup(t, id)
	dir := t.TempDir()
	hook := func(name string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "cat > " + filepath.Join(dir, name)}}
	}
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100"}
		s.Linux.CgroupsPath = "/" + cg
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{hook("createRuntime")}, Poststart: []specs.Hook{hook("poststart")}, Poststop: []specs.Hook{hook("poststop")}}
		s.Annotations = map[string]string{"org.golxc.test": "yes"}
	})
	r.track(id)
	r.mustRun(outFile(t), "create", "--bundle", bundle, id)
	r.mustRun(nil, "start", id)
	r.mustRun(nil, "kill", id, "9")
	r.waitStatus(id, "stopped")
	r.mustRun(nil, "delete", id)
	for _, c := range []struct{ name, status string }{{"createRuntime", "created"}, {"poststart", "running"}, {"poststop", "stopped"}} {
		b, err := os.ReadFile(filepath.Join(dir, c.name))
		if err != nil {
			t.Errorf("%s hook did not run: %v", c.name, err)
			continue
		}
		var st struct {
			ID, Status, Bundle string
			Pid                int
			Annotations        map[string]string
		}
		if err := json.Unmarshal(b, &st); err != nil || st.ID != id || st.Status != c.status || st.Bundle != bundle || st.Annotations["org.golxc.test"] != "yes" {
			t.Errorf("%s hook's stdin %s (%v): want id %s, status %s, the bundle, the annotations", c.name, b, err, id, c.status)
		}
		if c.name == "createRuntime" && st.Pid <= 0 {
			t.Errorf("createRuntime hook got no pid: %s", b)
		}
	}
}

// TestOCIRuntimeRefusals: what golxc-runc does not implement is refused
// in one line naming it, and nothing is left.
func TestOCIRuntimeRefusals(t *testing.T) {
	r := newOCIRuntime(t)
	for _, c := range []struct {
		name  string
		edit  func(*specs.Spec)
		flags []string
		want  string
	}{
		{"apparmor", func(s *specs.Spec) { s.Process.ApparmorProfile = "docker-default" }, nil, "process.apparmorProfile"},
		{"selinux", func(s *specs.Spec) { s.Process.SelinuxLabel = "system_u:system_r:container_t:s0" }, nil, "process.selinuxLabel"},
		{"systemd cgroup path", func(s *specs.Spec) { s.Linux.CgroupsPath = "system.slice:golxc:x" }, nil, "systemd"},
		{"relative cgroup path", func(s *specs.Spec) { s.Linux.CgroupsPath = "a/b" }, nil, "relative"},
		{"relative hook path", func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{Path: "bin/true"}}}
		}, nil, "hooks.createContainer[0].path"},
		{"ambient caps", func(s *specs.Spec) {
			s.Process.User.UID = 1000
			s.Process.Capabilities.Ambient = []string{"CAP_KILL"}
		}, nil, "ambient"},
		{"unknown capability", func(s *specs.Spec) {
			s.Process.Capabilities.Bounding = append(s.Process.Capabilities.Bounding, "CAP_TEST")
		}, nil, "process.capabilities.bounding"},
		{"unknown rlimit", func(s *specs.Spec) {
			s.Process.Rlimits = append(s.Process.Rlimits, specs.POSIXRlimit{Type: "RLIMIT_TEST", Soft: 1, Hard: 1})
		}, nil, "RLIMIT_TEST"},
		{"host sysctl", func(s *specs.Spec) { s.Linux.Sysctl = map[string]string{"vm.swappiness": "1"} }, nil, "vm.swappiness"},
		{"systemd driver", nil, []string{"--systemd-cgroup"}, "systemd cgroup driver"},
		{"terminal without socket", func(s *specs.Spec) { s.Process.Terminal = true }, nil, "--console-socket"},
	} {
		t.Run(c.name, func(t *testing.T) {
			id := ociUnique(t, "refuse")
			bundle := ociBundle(t, func(s *specs.Spec) {
				s.Linux.CgroupsPath = "/golxc-oci-test/" + id
				if c.edit != nil {
					c.edit(s)
				}
			})
			r.track(id)
			args := append(append([]string{}, c.flags...), "create", "--bundle", bundle, id)
			out, code := r.run(nil, args...)
			if code != 1 || !strings.Contains(out, c.want) || strings.Count(strings.TrimSpace(out), "\n") != 0 {
				t.Errorf("create: exit %d, output %q; want 1 and one line naming %q", code, out, c.want)
			}
			if list := r.mustRun(nil, "list", "-q"); strings.Contains(list, id) {
				t.Errorf("refused create left %s", id)
			}
			if cgroupExists("golxc-oci-test/" + id) {
				t.Errorf("refused create left its cgroup")
				removeOCICgroups("golxc-oci-test/" + id)
			}
		})
	}
}

// TestOCIRuntimeConfig: the parts of config.json a container sees from
// inside, read back by its command.
func TestOCIRuntimeConfig(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "cfg")
	cg := ociCgroup(t, id)
	errno := uint(38)
	oom := 300
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Hostname = "cfg-host"
		s.Root.Readonly = true
		s.Process.Args = []string{"sh", "-c", strings.Join([]string{
			"hostname",
			"mkdir /tmp/x 2>&1; echo mkdir=$?",
			"touch /ro-test 2>&1; echo touch=$?",
			"echo nofile=$(ulimit -n)",
			"cat /proc/self/oom_score_adj",
			"grep NoNewPrivs /proc/self/status",
			"grep CapBnd /proc/self/status",
			"cat /proc/sys/net/ipv4/ip_forward",
			"cat /proc/interrupts 2>&1 | wc -c",
			"id",
		}, "; ")}
		s.Process.Rlimits = []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 321, Soft: 123}}
		s.Process.OOMScoreAdj = &oom
		s.Process.NoNewPrivileges = true
		s.Process.User = specs.User{UID: 1000, GID: 1000}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		s.Linux.Seccomp = &specs.LinuxSeccomp{DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &errno}}}
		s.Linux.CgroupsPath = "/" + cg
	})
	r.track(id)
	out, code := r.run(nil, "run", "--bundle", bundle, id)
	if code != 0 {
		t.Fatalf("run: exit %d\n%s", code, out)
	}
	for _, want := range []string{
		"cfg-host\n",
		"Function not implemented", "mkdir=1", // seccomp: ENOSYS
		"touch=1",                   // read-only root
		"nofile=123",                // rlimits
		"300\n",                     // oomScoreAdj
		"NoNewPrivs:\t1",            // noNewPrivileges
		"CapBnd:\t0000000020000420", // AUDIT_WRITE, KILL, NET_BIND_SERVICE
		"\n1\n",                     // sysctl in its network namespace
		"\n0\n",                     // /proc/interrupts masked
		"uid=1000 gid=1000",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestOCIRuntimeJoinNamespaces: namespaces given by path are joined, the
// pid namespace included (its init is born in it: a pod's containers
// share the pause container's).
func TestOCIRuntimeJoinNamespaces(t *testing.T) {
	r := newOCIRuntime(t)
	a, b := ociUnique(t, "nsa"), ociUnique(t, "nsb")
	cga, cgb := ociCgroup(t, a), ociCgroup(t, b)
	ba := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100"}
		s.Linux.CgroupsPath = "/" + cga
	})
	pidA := filepath.Join(t.TempDir(), "a.pid")
	r.track(a)
	r.mustRun(outFile(t), "create", "--bundle", ba, "--pid-file", pidA, a)
	r.mustRun(nil, "start", a)
	pa := readTrim(t, pidA)
	bb := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "100"}
		s.Linux.CgroupsPath = "/" + cgb
		for i, n := range s.Linux.Namespaces {
			switch n.Type {
			case specs.PIDNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.NetworkNamespace:
				s.Linux.Namespaces[i].Path = "/proc/" + pa + "/ns/" + map[specs.LinuxNamespaceType]string{
					specs.PIDNamespace: "pid", specs.IPCNamespace: "ipc", specs.UTSNamespace: "uts", specs.NetworkNamespace: "net"}[n.Type]
			}
		}
	})
	pidB := filepath.Join(t.TempDir(), "b.pid")
	r.track(b)
	r.mustRun(outFile(t), "create", "--bundle", bb, "--pid-file", pidB, b)
	r.mustRun(nil, "start", b)
	pb := readTrim(t, pidB)
	for _, ns := range []string{"pid", "ipc", "uts", "net"} {
		la, _ := os.Readlink("/proc/" + pa + "/ns/" + ns)
		lb, _ := os.Readlink("/proc/" + pb + "/ns/" + ns)
		if la == "" || la != lb {
			t.Errorf("%s namespace: %s's init in %q, %s's in %q", ns, a, la, b, lb)
		}
	}
	if out, code := r.run(nil, "exec", b, "ps"); code != 0 || strings.Count(out, "sleep 100") != 2 {
		t.Errorf("ps in %s: exit %d\n%s\nwant both containers' sleep", b, code, out)
	}
	// A path to a namespace of another kind is refused.
	bc := ociBundle(t, func(s *specs.Spec) {
		for i, n := range s.Linux.Namespaces {
			if n.Type == specs.IPCNamespace {
				s.Linux.Namespaces[i].Path = "/proc/" + pa + "/ns/net"
			}
		}
	})
	c := ociUnique(t, "nsc")
	r.track(c)
	if out, code := r.run(nil, "create", "--bundle", bc, c); code == 0 || !strings.Contains(out, "not a ipc namespace") {
		t.Errorf("create joining a net namespace as ipc: exit %d %q", code, out)
	}
}
