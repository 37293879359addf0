package test

// Attacks on the state and resource tools (issue 12): another user must
// not freeze, thaw, watch or write the cgroups of root's containers, and
// lxc-cgroup must not reach outside the container's cgroup.

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/golxc/golxc/internal/monitor"
)

// TestAttackCgtoolsOtherUser: uid 65534 runs lxc-freeze, lxc-cgroup and
// lxc-monitor against root's running container, and sends "freeze" and
// "watch" straight to its monitor's socket: each fails, and the container
// is still RUNNING, not frozen, its memory limit unchanged.
func TestAttackCgtoolsOtherUser(t *testing.T) {
	l := newLab(t)
	n := l.startBusybox()
	// The lab's directories must be reachable for the user to even try.
	for _, d := range []string{filepath.Dir(l.path), l.path} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The user's own runtime directory, for its tools to get that far.
	base, err := os.MkdirTemp("", "golxc-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	runtimeDir := filepath.Join(base, "run")
	if err := os.Chmod(base, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(runtimeDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(runtimeDir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	userEnv := []string{"PATH=/usr/bin:/bin", "HOME=/nonexistent", "XDG_RUNTIME_DIR=" + runtimeDir}
	limit := "/sys/fs/cgroup/memory/lxc.payload." + n + "/memory.limit_in_bytes"
	before, _ := os.ReadFile(limit)

	asNobody := func(timeout time.Duration, tool string, args ...string) (string, int) {
		cmd := exec.Command(filepath.Join(binDir(t), tool), append([]string{"-P", l.path}, args...)...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
		cmd.Env = userEnv
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
			return out.String(), cmd.ProcessState.ExitCode()
		case <-time.After(timeout):
			_ = cmd.Process.Kill()
			<-done
			return out.String(), -1
		}
	}
	if out, code := asNobody(10*time.Second, "lxc-freeze", "-n", n); code == 0 {
		t.Errorf("lxc-freeze as uid %d: exit 0 (%q), want a failure", nobody, out)
	}
	if out, code := asNobody(10*time.Second, "lxc-cgroup", "-n", n, "memory.limit_in_bytes", "4096"); code == 0 {
		t.Errorf("lxc-cgroup write as uid %d: exit 0 (%q), want a failure", nobody, out)
	}
	// lxc-monitor as the user sees only the user's own monitors: nothing
	// of root's container's freeze and thaw below.
	f, err := os.CreateTemp(l.aux, "mon")
	if err != nil {
		t.Fatal(err)
	}
	mon := exec.Command(filepath.Join(binDir(t), "lxc-monitor"), "-P", l.path)
	mon.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody, Groups: []uint32{}}}
	mon.Env = userEnv
	mon.Stdout, mon.Stderr = f, f
	if err := mon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mon.Process.Kill(); _ = mon.Wait() })

	// Straight to the socket: the directory is closed to the user.
	sock := monitor.SocketPath(l.path, n)
	for _, cmd := range []string{"freeze", "watch", "thaw"} {
		err := asUser(t, nobody, func() error {
			c, err := net.DialTimeout("unix", sock, 2*time.Second)
			if err != nil {
				return err
			}
			defer c.Close()
			b, _ := json.Marshal(monitor.Request{Version: monitor.ProtocolVersion, Command: cmd})
			_ = c.SetDeadline(time.Now().Add(2 * time.Second))
			if _, err := c.Write(append(b, '\n')); err != nil {
				return err
			}
			line := make([]byte, 512)
			k, err := c.Read(line)
			if err != nil {
				return err
			}
			if strings.Contains(string(line[:k]), "permission denied") {
				return os.ErrPermission
			}
			return nil
		})
		if err == nil {
			t.Errorf("%q as uid %d on %s: answered, want refused", cmd, nobody, sock)
		}
	}
	time.Sleep(200 * time.Millisecond)
	l.mustRun("lxc-freeze", "-n", n)
	l.mustRun("lxc-unfreeze", "-n", n)
	time.Sleep(300 * time.Millisecond)
	if b, _ := os.ReadFile(f.Name()); len(b) > 0 {
		t.Errorf("lxc-monitor as uid %d printed root's container's changes: %q", nobody, b)
	}
	if s := l.state(n); s != "RUNNING" {
		t.Errorf("after uid %d's attempts: %s, want RUNNING", nobody, s)
	}
	if after, _ := os.ReadFile(limit); !bytes.Equal(before, after) {
		t.Errorf("memory.limit_in_bytes went from %q to %q", before, after)
	}
}

// TestAttackCgroupKeyEscape: lxc-cgroup keys that name a file outside the
// container's cgroup (a parent's, the host's root cgroup's) are refused
// and write nothing.
func TestAttackCgroupKeyEscape(t *testing.T) {
	l := newLab(t)
	n := l.startBusybox()
	for _, key := range []string{"../memory.limit_in_bytes", "../../cgroup.procs", "memory/../../x", "..", ".", "/etc/passwd"} {
		out, errs, code := l.run("lxc-cgroup", "-n", n, key, "1")
		if code != 1 || out != "" || !strings.Contains(errs, "invalid cgroup key") {
			t.Errorf("lxc-cgroup %q 1: exit %d, %q %q; want 1, invalid cgroup key", key, code, out, errs)
		}
	}
	// A symlink cannot be made in cgroupfs; a name that is a directory
	// there (a child cgroup) is not a file.
	child := "/sys/fs/cgroup/unified/lxc.payload." + n + "/evil"
	if err := os.Mkdir(child, 0o755); err == nil {
		t.Cleanup(func() { os.Remove(child) })
		if _, errs, code := l.run("lxc-cgroup", "-n", n, "evil"); code != 1 {
			t.Errorf("lxc-cgroup of a child cgroup's name: exit %d, %q; want 1", code, errs)
		}
		os.Remove(child)
	}
}
