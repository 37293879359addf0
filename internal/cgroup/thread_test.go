package cgroup

import (
	"bytes"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestRealMoveThreadIn moves a locked thread into a group's v1
// hierarchies, forks from it (cgroup2 by CLONE_INTO_CGROUP), moves it
// back: the child is in the group everywhere (Holds), the thread where it
// was, the rest of the process never left.
func TestRealMoveThreadIn(t *testing.T) {
	l, g := realGroup(t, "lxc.payload.")
	type result struct {
		before, after []byte
		cmd           *exec.Cmd
		err           error
	}
	// work runs on a locked thread other than the main one (which is
	// parked, not ended, when its goroutine exits locked).
	work := func() (r result) {
		if r.before, r.err = os.ReadFile("/proc/thread-self/cgroup"); r.err != nil {
			return r
		}
		back, err := g.MoveThreadIn()
		if err != nil {
			r.err = err
			return r
		}
		attr := &syscall.SysProcAttr{}
		if l.Unified != "" {
			f, err := g.OpenUnified()
			if err != nil {
				r.err = err
				_ = back()
				return r
			}
			defer f.Close()
			attr.UseCgroupFD, attr.CgroupFD = true, int(f.Fd())
		}
		r.cmd = exec.Command("sleep", "60")
		r.cmd.SysProcAttr = attr
		if err := r.cmd.Start(); err != nil {
			r.cmd, r.err = nil, err
		}
		if err := back(); err != nil {
			// Left locked: the thread ends with the goroutine.
			r.err = err
			return r
		}
		r.after, r.err = os.ReadFile("/proc/thread-self/cgroup")
		runtime.UnlockOSThread()
		return r
	}
	res := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			res <- work()
			return
		}
		inner := make(chan result, 1)
		go func() {
			runtime.LockOSThread()
			inner <- work()
		}()
		r := <-inner
		runtime.UnlockOSThread()
		res <- r
	}()
	r := <-res
	if r.cmd != nil {
		pid := r.cmd.Process.Pid
		t.Cleanup(func() {
			_ = unix.Kill(pid, unix.SIGKILL)
			_ = r.cmd.Wait()
		})
	}
	if r.err != nil {
		t.Fatal(r.err)
	}
	if !g.Holds(r.cmd.Process.Pid) {
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(r.cmd.Process.Pid) + "/cgroup")
		t.Fatalf("child not born in %s:\n%s", g.Name(), b)
	}
	if !bytes.Equal(r.before, r.after) {
		t.Fatalf("thread not back:\nbefore %s\nafter %s", r.before, r.after)
	}
	if g.Holds(os.Getpid()) {
		t.Fatalf("the test process is in %s", g.Name())
	}
}
