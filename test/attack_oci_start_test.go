package test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestAttackOCIStartByName: whether a start failed is the init stage's
// own word, not what a process is called: a container program that names
// itself as golxc's stage does and exits at once ran, and start says so
// (exit 0), every time.
func TestAttackOCIStartByName(t *testing.T) {
	r := newOCIRuntime(t)
	for i := 0; i < 6; i++ {
		id, bundle := r.container("sbn", func(s *specs.Spec) {
			s.Process.Args = []string{"sh", "-c", "printf golxc-init > /proc/self/comm"}
		})
		r.mustRun(outFile(t), "create", "--bundle", bundle, id)
		if out, code := r.run(nil, "start", id); code != 0 {
			t.Errorf("start %d: exit %d %q, want 0 (the program ran)", i, code, out)
		}
	}
}

// TestAttackOCIKillAllPauseRace: kill --all with a signal other than
// SIGKILL freezes the container, signals every process and thaws it
// unless it was paused; a pause landing between its look and its freeze
// would be undone by the thaw. It takes the lock pause and resume take
// (the state directory's flock): held here while a pause is made, kill
// waits, then finds the container paused and leaves it so.
func TestAttackOCIKillAllPauseRace(t *testing.T) {
	r := newOCIRuntime(t)
	id := ociUnique(t, "kar")
	cg := ociCgroup(t, id)
	bundle := ociBundle(t, func(s *specs.Spec) {
		s.Process.Args = []string{"sleep", "1000"}
		s.Linux.CgroupsPath = "/" + cg
	})
	r.track(id)
	r.mustRun(outFile(t), "create", "--bundle", bundle, id)
	r.mustRun(nil, "start", id)
	freeze := ""
	for _, f := range []string{"/sys/fs/cgroup/freezer/" + cg + "/freezer.state", "/sys/fs/cgroup/unified/" + cg + "/cgroup.freeze", "/sys/fs/cgroup/" + cg + "/cgroup.freeze"} {
		if _, err := os.Stat(f); err == nil {
			freeze = f
			break
		}
	}
	if freeze == "" {
		t.Skip("no freezer for the container's cgroup")
	}
	lock, err := os.Open(filepath.Join(r.root, id))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	kill := exec.Command(filepath.Join(binDir(t), "golxc-runc"), "--root", r.root, "kill", "--all", id, "CONT")
	if err := kill.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- kill.Wait() }()
	// Until kill waits on the lock (a blocked flock shows in /proc/locks
	// as "->" with its pid), or has ended without waiting.
	waiter := regexp.MustCompile(`(?m)-> FLOCK\s+ADVISORY\s+WRITE\s+` + strconv.Itoa(kill.Process.Pid) + ` `)
	for waited := false; !waited; {
		select {
		case err := <-done:
			t.Fatalf("kill --all ended (%v) while the container's lock was held: it does not take the lock pause takes", err)
		case <-time.After(5 * time.Millisecond):
			b, _ := os.ReadFile("/proc/locks")
			waited = waiter.Match(b)
		}
	}
	// The pause that lands while kill waits.
	v := "FROZEN"
	if strings.HasSuffix(freeze, "cgroup.freeze") {
		v = "1"
	}
	if err := os.WriteFile(freeze, []byte(v), 0); err != nil {
		t.Fatal(err)
	}
	r.waitStatus(id, "paused")
	lock.Close()
	if err := <-done; err != nil {
		t.Errorf("kill --all: %v", err)
	}
	if st := r.state(id)["status"]; st != "paused" {
		t.Errorf("after kill --all the container is %v, want it still paused", st)
	}
	r.mustRun(nil, "resume", id)
}
