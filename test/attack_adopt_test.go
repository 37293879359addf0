package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killMonitors kills every monitor of lxcpath/name with SIGKILL and waits
// for each to be gone.
func killMonitors(t *testing.T, lxcpath, name string) {
	t.Helper()
	mons := monitorPIDs(lxcpath, name)
	if len(mons) == 0 {
		t.Fatalf("no monitor of %s to kill", name)
	}
	for _, m := range mons {
		ms, _ := procStart(m)
		syscall.Kill(m, syscall.SIGKILL)
		waitGone(t, m, ms, "kill -9 of the monitor")
	}
}

// TestAdoptFromOtherPidns: a root tool in a pid namespace (and /proc) of
// its own finds an ephemeral container whose monitor was killed: it sees
// neither monitor nor init, and must neither tear the container down nor
// destroy it. It says so in one line; a tool on the host adopts it after.
func TestAdoptFromOtherPidns(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox("lxc.ephemeral = 1")
	l.mustRun("lxc-start", "-n", n)
	pid := l.initPID(n)
	start, _ := procStart(pid)
	t.Cleanup(func() {
		if !pidGone(pid, start) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	})
	killMonitors(t, l.path, n)
	cmd := exec.Command("unshare", "-fp", "--mount-proc", filepath.Join(binDir(t), "lxc-info"), "-P", l.path, "-n", n)
	out, _ := cmd.CombinedOutput()
	if pidGone(pid, start) {
		t.Fatalf("init %d of %s was killed by lxc-info in another pid namespace\n%s", pid, n, out)
	}
	if _, err := os.Stat(filepath.Join(l.path, n)); err != nil {
		t.Fatalf("ephemeral %s destroyed under its running init by lxc-info in another pid namespace: %v\n%s", n, err, out)
	}
	if _, err := os.Stat(recordPath(l.path, n)); err != nil {
		t.Errorf("record of %s removed by lxc-info in another pid namespace: %v", n, err)
	}
	if !strings.Contains(string(out), "not adopted") {
		t.Errorf("lxc-info in another pid namespace does not say it left %s alone:\n%s", n, out)
	}
	if st := l.state(n); st != "RUNNING" {
		t.Errorf("host lxc-info -n %s after: %s, want RUNNING", n, st)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
}

// TestForegroundDiesWithTool: lxc-execute and lxc-start -F are the
// container's session, as LXC's: a kill -9 of the tool takes the
// container with it (no record is kept, init has a parent-death signal),
// and no later tool re-adopts it.
func TestForegroundDiesWithTool(t *testing.T) {
	for _, tool := range [][]string{{"lxc-execute", "--", "/bin/sleep", "300"}, {"lxc-start", "-F", "--", "/bin/sleep", "300"}} {
		t.Run(tool[0], func(t *testing.T) {
			l := newLab(t)
			n := l.createBusybox()
			args := append([]string{"-P", l.path, "-n", n}, tool[1:]...)
			cmd := exec.Command(filepath.Join(binDir(t), tool[0]), args...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
			var pid int
			if !waitFor(20*time.Second, func() bool {
				st, p := l.statePID(n)
				pid = p
				return st == "RUNNING" && p > 0
			}) {
				t.Fatalf("%s of %s never RUNNING", tool[0], n)
			}
			start, _ := procStart(pid)
			t.Cleanup(func() {
				if !pidGone(pid, start) {
					syscall.Kill(pid, syscall.SIGKILL)
				}
			})
			if _, err := os.Stat(recordPath(l.path, n)); err == nil {
				t.Errorf("%s keeps a record of %s: it would be re-adopted after the tool's death", tool[0], n)
			}
			cmd.Process.Kill()
			cmd.Wait()
			if !waitFor(5*time.Second, func() bool { return pidGone(pid, start) }) {
				t.Errorf("init %d of %s outlived a kill -9 of its %s", pid, n, tool[0])
			}
			if st := l.state(n); st != "STOPPED" {
				t.Errorf("%s after a kill -9 of its %s: %s, want STOPPED", n, tool[0], st)
			}
			if m := monitorPIDs(l.path, n); len(m) > 0 {
				t.Errorf("a monitor %v adopted %s after a kill -9 of its %s", m, n, tool[0])
			}
		})
	}
}
