package test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// ctrd is a containerd the test runs on its own socket and directories,
// whose runc shim runs golxc-runc.
type ctrd struct {
	t       *testing.T
	dir     string
	sock    string
	runc    []string // ctr's flags that point the shim at golxc-runc
	cgroup  string   // the test's cgroup parent (below each hierarchy's root)
	fifoDir string
	crictl  string // crictl's path, for a containerd with CRI
}

// requireTool fails under CI (where .ci/run installs it) and skips
// elsewhere when a package the test drives is missing.
func requireTool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s is missing (apt-get install %s; .ci/run does it)", name, pkg)
	}
	t.Skipf("%s is missing (apt-get install %s)", name, pkg)
	return ""
}

func startContainerd(t *testing.T) *ctrd { return startContainerdWith(t, false) }

// startContainerdWith starts containerd, with its CRI plugin when cri is
// set: its default runtime handler "golxc" is the runc shim running
// golxc-runc.
func startContainerdWith(t *testing.T, cri bool) *ctrd {
	t.Helper()
	requireRoot(t)
	requireTool(t, "containerd", "containerd")
	requireTool(t, "ctr", "containerd")
	// Short: the shim's and containerd's socket paths have a length limit.
	dir, err := os.MkdirTemp("", "gctrd")
	if err != nil {
		t.Fatal(err)
	}
	c := &ctrd{t: t, dir: dir, sock: filepath.Join(dir, "c.sock"), fifoDir: filepath.Join(dir, "fifo"),
		cgroup: fmt.Sprintf("golxc-ctrd-%d", os.Getpid())}
	rb := filepath.Join(binDir(t), "golxc-runc")
	if w := os.Getenv("GOLXC_TEST_RUNC_WRAP"); w != "" {
		// A logging wrapper in front of golxc-runc, to see the calls.
		rb = w
	}
	c.runc = []string{"--runc-binary", rb, "--runc-root", filepath.Join(dir, "golxc-root")}
	_, runBefore := os.Stat("/run/containerd")
	plugins := `disabled_plugins = ["io.containerd.grpc.v1.cri"]`
	if cri {
		plugins = ""
	}
	cfg := fmt.Sprintf(`version = 2
root = %[1]q
state = %[2]q
%[7]s
[grpc]
  address = %[3]q
[ttrpc]
  address = %[4]q
[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = %[5]q
  [plugins."io.containerd.snapshotter.v1.overlayfs"]
    root_path = %[6]q
`, filepath.Join(dir, "root"), filepath.Join(dir, "state"), c.sock, c.sock+".ttrpc", filepath.Join(dir, "opt"), filepath.Join(dir, "root", "snap"), plugins)
	if cri {
		// restrict_oom_score_adj: root lacks CAP_SYS_RESOURCE on some
		// hosts, and the pause container's -998 would fail.
		cfg += fmt.Sprintf(`  [plugins."io.containerd.grpc.v1.cri"]
    disable_tcp_service = true
    sandbox_image = "localhost/golxc-test/pause:1"
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "golxc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.golxc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.golxc.options]
          BinaryName = %[1]q
          Root = %[2]q
          SystemdCgroup = false
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = %[3]q
      conf_dir = %[4]q
`, rb, filepath.Join(dir, "golxc-root"), filepath.Join(dir, "cni", "bin"), filepath.Join(dir, "cni", "net.d"))
	}
	if err := os.WriteFile(filepath.Join(dir, "config.toml"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(dir, "containerd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("containerd", "--config", filepath.Join(dir, "config.toml"))
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatalf("start containerd: %v", err)
	}
	t.Cleanup(func() {
		c.cleanupContainers()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 4000 {
				b = b[len(b)-4000:]
			}
			t.Logf("containerd log (tail):\n%s", b)
		}
		removeOCICgroups(c.cgroup)
		// The snapshots are mounted by the shim while a task lives; none
		// should be left, but a leftover must not take the host's files
		// with the directory.
		if b, _ := os.ReadFile("/proc/self/mountinfo"); bytes.Contains(b, []byte(dir)) {
			t.Errorf("mounts under %s left after containerd stopped", dir)
		} else {
			os.RemoveAll(dir)
		}
		if runBefore != nil {
			// Made by this test's shims: empty once they are gone.
			_ = os.Remove("/run/containerd/s")
			_ = os.Remove("/run/containerd")
		}
	})
	if !waitFor(20*time.Second, func() bool {
		_, _, err := c.ctrRaw(nil, "version")
		return err == nil
	}) {
		t.Fatal("containerd did not come up")
	}
	return c
}

// ctrRaw runs ctr on the test's containerd.
func (c *ctrd) ctrRaw(stdin []byte, args ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ctr", append([]string{"--address", c.sock}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
		err = nil
	}
	return out.String(), code, err
}

func (c *ctrd) ctr(args ...string) (string, int) {
	c.t.Helper()
	out, code, err := c.ctrRaw(nil, args...)
	if err != nil {
		c.t.Fatalf("ctr %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out, code
}

// ctrTTY runs ctr on a terminal of its own (script(1)): ctr -t wants one.
func (c *ctrd) ctrTTY(args ...string) (string, int) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	line := shellJoin(append([]string{"ctr", "--address", c.sock}, args...))
	cmd := exec.CommandContext(ctx, "script", "-qec", line, "/dev/null")
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("script %s: %v", line, err)
	}
	return strings.ReplaceAll(string(out), "\r", ""), code
}

func (c *ctrd) mustCtr(args ...string) string {
	c.t.Helper()
	out, code := c.ctr(args...)
	if code != 0 {
		c.t.Fatalf("ctr %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// runArgs are ctr run's flags for a container named id.
func (c *ctrd) runArgs(id string) []string {
	return append(append([]string{"run", "--fifo-dir", c.fifoDir}, c.runc...), "--cgroup", "/"+c.cgroup+"/"+id)
}

func (c *ctrd) cleanupContainers() {
	if c.crictl != "" {
		_, _ = c.cri("rmp", "--all", "--force")
	}
	for _, ns := range []string{"default", "k8s.io"} {
		out, _, _ := c.ctrRaw(nil, "-n", ns, "containers", "list", "-q")
		for _, id := range strings.Fields(out) {
			_, _, _ = c.ctrRaw(nil, "-n", ns, "task", "kill", "-s", "SIGKILL", id)
			waitFor(5*time.Second, func() bool {
				o, _, _ := c.ctrRaw(nil, "-n", ns, "task", "list")
				return !strings.Contains(o, id+" ") || strings.Contains(o, "STOPPED")
			})
			_, _, _ = c.ctrRaw(nil, "-n", ns, "task", "delete", "-f", id)
			_, _, _ = c.ctrRaw(nil, "-n", ns, "containers", "delete", id)
		}
		out, _, _ = c.ctrRaw(nil, "-n", ns, "images", "list", "-q")
		for _, img := range strings.Fields(out) {
			_, _, _ = c.ctrRaw(nil, "-n", ns, "images", "remove", img)
		}
	}
}

// taskStatus is the STATUS column of ctr task list for id.
func (c *ctrd) taskStatus(id string) string {
	out := c.mustCtr("task", "list")
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 3 && f[0] == id {
			return f[2]
		}
	}
	return ""
}

// TestOCIContainerd runs containers through containerd's stock runc v2
// shim with golxc-runc as its runtime binary: the life cycle ctr drives,
// with and without a terminal.
func TestOCIContainerd(t *testing.T) {
	c := startContainerd(t)
	img := filepath.Join(c.dir, "busybox.tar")
	const ref = "localhost/golxc-test/busybox:1"
	ociImageTar(t, img, ref, []string{"/bin/sh"})
	c.mustCtr("images", "import", img)

	// run --rm: output and exit status come back through the shim, which
	// reaps the init it inherited from golxc-runc create.
	id := "r1"
	out, code := c.ctr(append(c.runArgs(id), "--rm", ref, id, "sh", "-c", "echo hello-from-golxc; cat /proc/self/cgroup | grep memory; exit 3")...)
	if code != 3 || !strings.Contains(out, "hello-from-golxc") || !strings.Contains(out, "memory:/"+c.cgroup+"/"+id) {
		t.Fatalf("ctr run --rm: exit %d, output %q; want 3, hello-from-golxc and memory:/%s/%s", code, out, c.cgroup, id)
	}
	if cgroupExists(c.cgroup + "/" + id) {
		t.Errorf("cgroup of %s left after run --rm", id)
	}

	// A command that is not there fails the create; the shim reports
	// golxc-runc's reason from its log.
	out, code = c.ctr(append(c.runArgs("bad1"), "--rm", ref, "bad1", "/nonexistent")...)
	if code == 0 || !strings.Contains(out, "/nonexistent") {
		t.Errorf("ctr run of /nonexistent: exit %d %q; want a failure naming it", code, out)
	}
	_, _ = c.ctr("containers", "delete", "bad1")

	// A terminal: the shim gets the pty master over the console socket.
	out, code = c.ctrTTY(append(c.runArgs("t1"), "--rm", "-t", ref, "t1", "sh", "-c", "tty; exit 4")...)
	if code != 4 || !strings.Contains(out, "/dev/console") && !strings.Contains(out, "/dev/pts/") {
		t.Errorf("ctr run -t: exit %d %q; want 4 and a tty", code, out)
	}

	// Detached, then exec with and without a terminal, ps, pause,
	// resume, kill, delete.
	id = "d1"
	c.mustCtr(append(c.runArgs(id), "-d", ref, id, "sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done")...)
	if st := c.taskStatus(id); st != "RUNNING" {
		t.Fatalf("task %s: status %q after run -d", id, st)
	}
	out, code = c.ctr("task", "exec", "--fifo-dir", c.fifoDir, "--exec-id", "e1", id, "sh", "-c", "echo exec-ok; exit 5")
	if code != 5 || !strings.Contains(out, "exec-ok") {
		t.Errorf("ctr task exec: exit %d %q; want 5 and exec-ok", code, out)
	}
	out, code = c.ctrTTY("task", "exec", "--fifo-dir", c.fifoDir, "-t", "--exec-id", "e2", id, "sh", "-c", "tty; exit 6")
	if code != 6 || !strings.Contains(out, "/dev/pts/") {
		t.Errorf("ctr task exec -t: exit %d %q; want 6 and /dev/pts/N", code, out)
	}
	out = c.mustCtr("task", "ps", id)
	if len(strings.Split(strings.TrimSpace(out), "\n")) < 2 {
		t.Errorf("ctr task ps: %q", out)
	}
	pidLine := strings.Fields(strings.Split(strings.TrimSpace(out), "\n")[1])
	if len(pidLine) > 0 {
		if pid, err := strconv.Atoi(pidLine[0]); err == nil {
			// The shim, not golxc, is the init's parent.
			stat, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
			f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
			ppidComm, _ := os.ReadFile("/proc/" + f[1] + "/comm")
			if !strings.HasPrefix(string(ppidComm), "containerd-shim") {
				t.Errorf("the init's parent is %q, want the shim", strings.TrimSpace(string(ppidComm)))
			}
		}
	}
	c.mustCtr("task", "pause", id)
	if st := c.taskStatus(id); st != "PAUSED" {
		t.Errorf("after pause: %q", st)
	}
	c.mustCtr("task", "resume", id)
	if st := c.taskStatus(id); st != "RUNNING" {
		t.Errorf("after resume: %q", st)
	}
	c.mustCtr("task", "kill", id)
	if !waitFor(10*time.Second, func() bool { return c.taskStatus(id) == "STOPPED" }) {
		t.Fatalf("task %s did not stop on SIGTERM: %q", id, c.taskStatus(id))
	}
	if out, code := c.ctr("task", "kill", id); code == 0 || !strings.Contains(out, "not found") {
		t.Errorf("kill of a stopped task: exit %d %q, want process already finished: not found", code, out)
	}
	c.mustCtr("task", "delete", id)
	c.mustCtr("containers", "delete", id)
	if cgroupExists(c.cgroup + "/" + id) {
		t.Errorf("cgroup of %s left after delete", id)
	}
	if ents, _ := os.ReadDir(filepath.Join(c.dir, "golxc-root", "default")); len(ents) != 0 {
		t.Errorf("golxc-runc state left: %v", ents)
	}
}
