package test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestExecuteSignalDuringSetup: golxc's init catches every signal from
// early in its set-up (to relay them to the command later); a SIGTERM
// during the set-up must still end it, even after a start hook has left
// dozens of orphans whose SIGCHLDs come first (they filled os/signal's
// channel, and the SIGTERM was dropped: the command then ran to its end).
func TestExecuteSignalDuringSetup(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	l := newLab(t)
	n := l.createBusybox("lxc.hook.start = /orphans.sh")
	hook := "#!/bin/sh\ni=0\nwhile [ $i -lt 30 ]; do (sleep 0.01 &); sleep 0.03; i=$((i+1)); done\nsleep 4\n"
	if err := os.WriteFile(filepath.Join(l.path, n, "rootfs", "orphans.sh"), []byte(hook), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-execute"), "-P", l.path, "-n", n, "--", "/bin/sleep", "20")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ended := make(chan error, 1)
	go func() { ended <- cmd.Wait() }()
	defer func() { cancel(); <-ended }()
	// The stage is the tool's child; the hook's orphans are its children.
	var stage int
	if !waitFor(10*time.Second, func() bool {
		stage = childOf(cmd.Process.Pid)
		return stage > 0 && len(childrenOf(stage)) > 0
	}) {
		t.Fatal("no init stage with a start hook running under lxc-execute")
	}
	time.Sleep(1500 * time.Millisecond) // the orphans have come and gone
	if err := syscall.Kill(stage, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
		ended <- nil
	case <-time.After(3 * time.Second):
		t.Errorf("SIGTERM to the init stage during its set-up did not end lxc-execute (the hook sleeps 4 s more, the command 20 s)")
	}
	l.run("lxc-stop", "-k", "-n", n)
}

// childOf is a child of pid (any of its threads'), 0 when none.
func childOf(pid int) int {
	if c := childrenOf(pid); len(c) > 0 {
		return c[0]
	}
	return 0
}

// childrenOf lists the children of every thread of pid.
func childrenOf(pid int) []int {
	var out []int
	files, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		for _, w := range strings.Fields(string(b)) {
			if k, err := strconv.Atoi(w); err == nil {
				out = append(out, k)
			}
		}
	}
	return out
}
