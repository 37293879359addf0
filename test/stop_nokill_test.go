package test

import (
	"strings"
	"testing"
	"time"
)

// lxc-stop --nokill -t T asks for a clean halt, never kills, and gives up
// waiting after T with a failure; the container is still there to kill.
func TestStopNoKill(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	l.mustRun("lxc-start", "-n", n, "--", "/bin/sh", "-c", `trap "" USR1 PWR; while :; do sleep 1; done`)
	l.waitState(n, "RUNNING", 10*time.Second)
	pid := l.initPID(n)
	_, errs, code := l.run("lxc-stop", "-n", n, "--nokill", "-t", "1")
	if code != 1 || !strings.Contains(errs, "did not halt") {
		t.Errorf("lxc-stop --nokill -t 1 of an init that ignores its halt signal: exit %d, stderr %q; want 1 and \"did not halt\"", code, errs)
	}
	if !alive(pid) {
		t.Errorf("lxc-stop --nokill killed init %d", pid)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	l.waitState(n, "STOPPED", 10*time.Second)
}
