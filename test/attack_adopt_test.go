package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
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
