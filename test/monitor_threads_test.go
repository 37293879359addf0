package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestAttackRebootLoopThreads: a container under lxc-execute whose root
// reboots it in a loop gets a new init each time; the monitor (the tool)
// must not keep a thread per init it spawned (one parked for good per
// reboot let the container's root exhaust the monitor's threads, which
// Go ends the process for at 10,000).
func TestAttackRebootLoopThreads(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	l := newLab(t)
	n := l.createBusybox()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-execute"), "-P", l.path, "-n", n, "--",
		"/bin/sh", "-c", "sleep 0.1; /bin/busybox reboot -f")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); _ = cmd.Wait() }()
	threads := func() int {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
		if err != nil {
			return -1
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Threads:"); ok {
				k, _ := strconv.Atoi(strings.TrimSpace(v))
				return k
			}
		}
		return -1
	}
	// Count the inits: each reboot gives a new one.
	seen := map[int]bool{}
	waitFor(20*time.Second, func() bool {
		if _, pid := l.statePID(n); pid > 0 {
			seen[pid] = true
		}
		return len(seen) >= 25
	})
	if len(seen) < 5 {
		t.Fatalf("only %d inits seen: the container does not reboot", len(seen))
	}
	got := threads()
	l.mustRun("lxc-stop", "-k", "-n", n)
	if got > 20 {
		t.Errorf("lxc-execute has %d threads after %d reboots of its container: a thread kept per init", got, len(seen))
	}
}
