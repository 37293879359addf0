package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// payloadThreads lists the threads of pid that sit in a container's
// payload cgroup.
func payloadThreads(pid int) map[string]string {
	out := map[string]string{}
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/cgroup", pid))
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if strings.Contains(string(b), "lxc.payload.") {
			out[p] = string(b)
		}
	}
	return out
}

// TestCgroupPlacementConcurrent: many starts at once under one shared
// monitor (each borrowing a thread of it into its container's cgroups for
// the clone) leave no monitor thread in any container's cgroup, and each
// stop removes every cgroup (a thread left inside would keep one).
func TestCgroupPlacementConcurrent(t *testing.T) {
	l := newLab(t)
	first := l.startBusybox()
	mons := monitorPIDs(l.path, first)
	if len(mons) != 1 {
		t.Fatalf("monitors %v", mons)
	}
	mon := mons[0]
	const N = 8
	var names []string
	for i := 0; i < N; i++ {
		names = append(names, l.createBusybox())
	}
	for round := 0; round < 2; round++ {
		stop := make(chan struct{})
		seen := map[string]int{}
		var smu sync.Mutex
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				for p := range payloadThreads(mon) {
					smu.Lock()
					seen[filepath.Base(filepath.Dir(p))]++
					smu.Unlock()
				}
			}
		}()
		var wg sync.WaitGroup
		for _, n := range names {
			wg.Add(1)
			go func(n string) { defer wg.Done(); l.run("lxc-start", "-n", n) }(n)
		}
		wg.Wait()
		for _, n := range names {
			l.waitState(n, "RUNNING", 20*time.Second)
		}
		time.Sleep(300 * time.Millisecond)
		close(stop)
		tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*", mon))
		t.Logf("round %d: monitor threads %d; tids seen in a payload cgroup during starts: %v", round, len(tasks), seen)
		if left := payloadThreads(mon); len(left) > 0 {
			t.Errorf("round %d: monitor threads left in payload cgroups: %v", round, left)
		}
		for _, n := range names {
			wg.Add(1)
			go func(n string) { defer wg.Done(); l.run("lxc-stop", "-k", "-n", n) }(n)
		}
		wg.Wait()
		for _, n := range names {
			assertNoCgroups(t, n, "stop")
		}
	}
}
