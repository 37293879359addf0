package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestAttackShareSwapped: a share target given as a pid is resolved when
// lxc-start reads the config, and joined later by the monitor. The target
// exits meanwhile (here from the pre-start hook, which runs in between)
// and its pid goes to a process of another user namespace: the container
// must not join that one. The start fails in one line and leaves nothing.
func TestAttackShareSwapped(t *testing.T) {
	t.Parallel()
	l := usernsLab(t)
	// The target: in a user namespace of its own, mapped as the
	// container's lxc.idmap; not this test's child, so that nothing
	// holds its pid once it is killed.
	out, err := exec.Command("/bin/sh", "-c", "/bin/busybox unshare -U /bin/busybox sleep 1000 </dev/null >/dev/null 2>&1 & echo $!").Output()
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatalf("target pid %q", out)
	}
	t.Cleanup(func() { syscall.Kill(pid, syscall.SIGKILL) })
	hostNS := nsInode(t, "self", "user")
	if !waitFor(10*time.Second, func() bool {
		ns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid))
		return err == nil && ns != hostNS
	}) {
		t.Fatal("the target made no user namespace")
	}
	for _, w := range []struct{ file, data string }{{"uid_map", "0 100000 65536"}, {"gid_map", "0 100000 65536"}} {
		if err := os.WriteFile(fmt.Sprintf("/proc/%d/%s", pid, w.file), []byte(w.data), 0); err != nil {
			t.Fatal(err)
		}
	}
	before := nsInode(t, strconv.Itoa(pid), "user")
	// The hook kills the target and hands its pid (through ns_last_pid)
	// to a process in a new user namespace of its own.
	pidFile := filepath.Join(l.aux, "reused.pid")
	hook := l.writeFile("swap.sh", fmt.Sprintf(`#!/bin/sh
P=%d
kill -9 $P
for i in $(seq 200); do [ -e /proc/$P ] || break; sleep 0.02; done
for i in $(seq 50); do
	echo $((P-1)) > /proc/sys/kernel/ns_last_pid
	setsid /bin/busybox unshare -U /bin/busybox sleep 1000 </dev/null >/dev/null 2>&1 &
	if [ "$!" = "$P" ]; then
		echo $! > %s
		for i in $(seq 200); do [ "$(readlink /proc/$P/ns/user)" != '%s' ] && exit 0; sleep 0.02; done
		exit 1
	fi
	kill $!
done
exit 1
`, pid, pidFile, hostNS), 0o755)
	n := l.createBusybox(append([]string{"lxc.namespace.share.user = " + strconv.Itoa(pid), "lxc.hook.pre-start = " + hook}, idmapLines...)...)
	_, errs, code := l.run("lxc-start", "-n", n)
	t.Cleanup(func() {
		if b, err := os.ReadFile(pidFile); err == nil {
			if p, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				syscall.Kill(p, syscall.SIGKILL)
			}
		}
	})
	if _, err := os.Stat(pidFile); err != nil {
		t.Skipf("the hook could not hand pid %d to another process (a busy host took it): %q", pid, errs)
	}
	after, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid))
	if err != nil || after == before || after == hostNS {
		t.Fatalf("pid %d's user namespace after the swap: %q (%v), before %s: the test proves nothing", pid, after, err, before)
	}
	want := fmt.Sprintf("/proc/%d/ns/user is no longer the user namespace the start was asked to join", pid)
	if code == 0 || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("lxc-start after the swap: exit %d, stderr %q; want one line with %q", code, errs, want)
	}
	if st := l.state(n); st != "STOPPED" {
		t.Errorf("%s is %s", n, st)
		if p := l.initPID(n); p > 0 && nsInode(t, strconv.Itoa(p), "user") == after {
			t.Errorf("%s's init joined the swapped-in namespace %s", n, after)
		}
	}
	if left := waitNoCgroups(n, 2*time.Second); len(left) > 0 {
		t.Errorf("cgroups left: %v", left)
	}
}

// TestAttackSharePtraceStage: a container B that joins A's user and pid
// namespaces (lxc.namespace.share.user, share.pid) has its init stage
// run inside A's user namespace, where A's root holds every capability:
// were the stage dumpable, A's root could trace it while it sets B up
// (with every capability, no filter yet, the host's mount namespace's
// copy, the monitor's sync socket, the rootfs's descriptors). Held in
// B's start hook, the stage must refuse A's PTRACE_SEIZE and
// PTRACE_ATTACH; B's lxc.proc.* still applies.
func TestAttackSharePtraceStage(t *testing.T) {
	t.Parallel()
	l := usernsLab(t)
	a := l.createBusybox(idmapLines...)
	attacker := l.installAttacker(a)
	l.mustRun("lxc-start", "-n", a)
	l.waitState(a, "RUNNING", 10*time.Second)
	b := l.createBusybox(append([]string{"lxc.namespace.share.user = " + a, "lxc.namespace.share.pid = " + a,
		"lxc.hook.start = /hold.sh", "lxc.proc.oom_score_adj = 567"}, idmapLines...)...)
	bRoot := filepath.Join(l.path, b, "rootfs")
	hold := "#!/bin/sh\necho $PPID > /tmp/stagepid\nwhile [ ! -e /tmp/release ]; do sleep 0.1; done\n"
	if err := os.WriteFile(filepath.Join(bRoot, "hold.sh"), []byte(hold), 0o755); err != nil {
		t.Fatal(err)
	}
	release := func() { os.WriteFile(filepath.Join(bRoot, "tmp", "release"), nil, 0o644) }
	t.Cleanup(release)
	started := make(chan string, 1)
	go func() {
		_, errs, code := l.run("lxc-start", "-n", b, "--", "/bin/sleep", "1000")
		started <- fmt.Sprintf("exit %d, stderr %q", code, errs)
	}()
	var stage int
	if !waitFor(20*time.Second, func() bool {
		s, err := os.ReadFile(filepath.Join(bRoot, "tmp", "stagepid"))
		if err != nil {
			return false
		}
		stage, err = strconv.Atoi(strings.TrimSpace(string(s)))
		return err == nil && stage > 0
	}) {
		release()
		t.Fatalf("%s's start hook never ran: %s", b, <-started)
	}
	// Seen from A: the same pid namespace, so the same number; it is the
	// stage (golxc-init), not some other process.
	comm := strings.TrimSpace(l.attach(a, "/bin/cat", "/proc/"+strconv.Itoa(stage)+"/cmdline"))
	if !strings.HasPrefix(comm, "golxc-init") {
		release()
		t.Fatalf("pid %d in %s is %q, not %s's init stage: the test proves nothing", stage, a, comm, b)
	}
	out := l.attach(a, attacker, "ptrace", strconv.Itoa(stage))
	release()
	for _, req := range []string{"PTRACE_SEIZE", "PTRACE_ATTACH"} {
		if !strings.Contains(out, req+" errno 1\n") {
			t.Errorf("%s's root on %s's held init stage (pid %d): %q; want %s to fail with EPERM", a, b, stage, out, req)
		}
	}
	if r := <-started; !strings.HasPrefix(r, "exit 0") {
		t.Fatalf("lxc-start of %s: %s", b, r)
	}
	// The stage's /proc files are host root's now: lxc.proc.* still
	// reaches the init (written from the host).
	l.waitState(b, "RUNNING", 10*time.Second)
	if got, _ := os.ReadFile("/proc/" + strconv.Itoa(l.initPID(b)) + "/oom_score_adj"); strings.TrimSpace(string(got)) != "567" {
		t.Errorf("%s's init has oom_score_adj %q, want lxc.proc.oom_score_adj's 567", b, got)
	}
	l.run("lxc-stop", "-n", b, "-k")
}
