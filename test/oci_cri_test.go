package test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// crictlVersion is the cri-tools release the test builds: it speaks CRI
// v1, which containerd 1.6 serves.
const crictlVersion = "v1.34.0"

// crictlCache is where the built crictl (and its module and build caches)
// stay between runs: the first build downloads and compiles for a minute
// or two.
const crictlCache = "/var/cache/golxc-test/crictl"

// requireCrictl returns a crictl, built with go install from the module
// proxy on first use.
func requireCrictl(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(crictlCache, "bin", "crictl")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		gobin = "/usr/local/go/bin/go"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, gobin, "install", "sigs.k8s.io/cri-tools/cmd/crictl@"+crictlVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+filepath.Join(crictlCache, "bin"), "GOMODCACHE="+filepath.Join(crictlCache, "mod"),
		"GOCACHE="+filepath.Join(crictlCache, "build"), "GOFLAGS=-modcacherw", "GO111MODULE=on")
	if out, err := cmd.CombinedOutput(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("go install crictl %s: %v\n%s", crictlVersion, err, out)
		}
		t.Skipf("cannot build crictl (go install sigs.k8s.io/cri-tools/cmd/crictl@%s): %v", crictlVersion, err)
	}
	return bin
}

// cri runs crictl on the test's containerd.
func (c *ctrd) cri(args ...string) (string, int) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ep := "unix://" + c.sock
	cmd := exec.CommandContext(ctx, c.crictl, append([]string{"--config", filepath.Join(c.dir, "crictl.yaml"), "--runtime-endpoint", ep, "--image-endpoint", ep, "--timeout", "60s"}, args...)...)
	cmd.WaitDelay = 10 * time.Second
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		return err.Error(), -1
	}
	return string(out), code
}

func (c *ctrd) mustCri(args ...string) string {
	c.t.Helper()
	out, code := c.cri(args...)
	if code != 0 {
		c.t.Fatalf("crictl %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return strings.TrimSpace(out)
}

// TestOCICRIPod runs a Kubernetes pod's life cycle through containerd's
// CRI plugin (the kubelet's path) with the RuntimeClass handler "golxc":
// the pause container and the app container, which joins its pid and
// ipc namespaces by path, through golxc-runc.
func TestOCICRIPod(t *testing.T) {
	requireRoot(t)
	crictl := requireCrictl(t)
	c := startContainerdWith(t, true)
	c.crictl = crictl
	if err := os.WriteFile(filepath.Join(c.dir, "crictl.yaml"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, img := range []struct {
		ref string
		cmd []string
	}{{"localhost/golxc-test/busybox:1", []string{"/bin/sh"}}, {"localhost/golxc-test/pause:1", []string{"/bin/sleep", "2147483647"}}} {
		tarPath := filepath.Join(c.dir, filepath.Base(strings.Split(img.ref, ":")[0])+".tar")
		ociImageTar(t, tarPath, img.ref, img.cmd)
		c.mustCtr("-n", "k8s.io", "images", "import", tarPath)
	}
	podCg := "/" + c.cgroup + "/pod1"
	pod, _ := json.Marshal(map[string]any{
		"metadata":      map[string]any{"name": "golxc-pod1", "namespace": "default", "uid": "golxc-pod1-uid", "attempt": 1},
		"log_directory": filepath.Join(c.dir, "podlogs"),
		"linux": map[string]any{"cgroup_parent": podCg,
			// Host network: no CNI needed.
			"security_context": map[string]any{"namespace_options": map[string]any{"network": 2}}},
	})
	ctr1, _ := json.Marshal(map[string]any{
		"metadata": map[string]any{"name": "c1"},
		"image":    map[string]any{"image": "localhost/golxc-test/busybox:1"},
		"command":  []string{"/bin/sh", "-c", "echo hello-from-cri; while true; do echo tick; sleep 1; done"},
		"log_path": "c1.log",
		"linux":    map[string]any{},
	})
	podFile, ctrFile := filepath.Join(c.dir, "pod.json"), filepath.Join(c.dir, "c1.json")
	if err := os.WriteFile(podFile, pod, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ctrFile, ctr1, 0o600); err != nil {
		t.Fatal(err)
	}
	podID := c.mustCri("runp", "--runtime", "golxc", podFile)
	cid := c.mustCri("create", podID, ctrFile, podFile)
	c.mustCri("start", cid)
	if !waitFor(15*time.Second, func() bool { out, _ := c.cri("logs", cid); return strings.Contains(out, "hello-from-cri") }) {
		out, _ := c.cri("logs", cid)
		t.Errorf("crictl logs: %q, want hello-from-cri", out)
	}
	if out := c.mustCri("exec", "-s", cid, "/bin/sh", "-c", "echo cri-exec-ok; cat /proc/self/cgroup | grep memory"); !strings.Contains(out, "cri-exec-ok") || !strings.Contains(out, "memory:"+podCg+"/"+cid) {
		t.Errorf("crictl exec: %q, want cri-exec-ok and memory:%s/%s", out, podCg, cid)
	}
	// The app container shares the pause container's pid namespace: it
	// sees the pause process.
	if out := c.mustCri("exec", "-s", cid, "/bin/ps"); !strings.Contains(out, "sleep 2147483647") {
		t.Errorf("ps in the app container does not show the pod's pause process:\n%s", out)
	}
	// The app container's init itself is in the pause container's pid
	// namespace (not only what is exec'd into it).
	initPid := func(id string) string {
		out, err := exec.Command(filepath.Join(binDir(t), "golxc-runc"), "--root", filepath.Join(c.dir, "golxc-root", "k8s.io"), "state", id).Output()
		var st struct{ Pid int }
		if err != nil || json.Unmarshal(out, &st) != nil || st.Pid <= 0 {
			t.Fatalf("golxc-runc state %s: %v %s", id, err, out)
		}
		return strconv.Itoa(st.Pid)
	}
	pausePid, appPid := initPid(podID), initPid(cid)
	for _, ns := range []string{"pid", "ipc"} {
		lp, _ := os.Readlink("/proc/" + pausePid + "/ns/" + ns)
		la, _ := os.Readlink("/proc/" + appPid + "/ns/" + ns)
		if lp == "" || lp != la {
			t.Errorf("%s namespace: pause in %q, app container in %q", ns, lp, la)
		}
	}
	c.mustCri("update", "--memory", "67108864", "--cpu-share", "256", cid)
	if got := readTrim(t, filepath.Join("/sys/fs/cgroup/memory", podCg, cid, "memory.limit_in_bytes")); got != "67108864" {
		t.Errorf("memory.limit_in_bytes %s after crictl update, want 67108864", got)
	}
	if got := readTrim(t, filepath.Join("/sys/fs/cgroup/cpu", podCg, cid, "cpu.shares")); got != "256" {
		t.Errorf("cpu.shares %s after crictl update, want 256", got)
	}
	if out := c.mustCri("stats", cid); !strings.Contains(out, cid[:13]) {
		t.Errorf("crictl stats: %q", out)
	}
	c.mustCri("stop", "--timeout", "3", cid)
	c.mustCri("rm", cid)
	c.mustCri("stopp", podID)
	c.mustCri("rmp", podID)
	if cgroupExists(strings.TrimPrefix(podCg, "/") + "/" + cid) {
		t.Errorf("the app container's cgroup is left")
	}
	if ents, _ := os.ReadDir(filepath.Join(c.dir, "golxc-root", "k8s.io")); len(ents) != 0 {
		t.Errorf("golxc-runc state left: %v", ents)
	}
}
