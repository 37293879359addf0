package namespace

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// TestSpawnJoinsUserAndTime: a process spawned into another's user and
// time namespaces (which a Go program's own threads cannot join) is in
// them, root of the user namespace, in a new pid namespace of its own,
// a child of this process.
func TestSpawnJoinsUserAndTime(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	if _, err := os.Stat("/proc/self/ns/time"); err != nil {
		t.Skip("the kernel has no time namespaces")
	}
	target := exec.Command("unshare", "--user", "--map-root-user", "--time", "--boottime", "1000", "sleep", "30")
	if err := target.Start(); err != nil {
		t.Skipf("unshare --user --time: %v", err)
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	tdir := "/proc/" + strconv.Itoa(target.Process.Pid) + "/ns/"
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, _ := os.Readlink(tdir + "time")
		b, _ := os.Readlink("/proc/self/ns/time")
		if a != b && a != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the target never got its own time namespace")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var join []int
	for _, n := range []string{"user", "time"} {
		fd, err := unix.Open(tdir+n, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(fd)
		join = append(join, fd)
	}
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	n := int(null.Fd())
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, err := Spawn(SpawnSpec{Path: "/bin/sleep", Argv: []string{"sleep", "30"}, Files: []int{n, n, n}, Join: join,
		BecomeRoot: true, Unshare: unix.CLONE_NEWNS | unix.CLONE_NEWUTS, NewPID: true, Setsid: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { unix.Kill(pid, unix.SIGKILL); reap(pid) }()
	sdir := "/proc/" + strconv.Itoa(pid) + "/ns/"
	for _, ns := range []string{"user", "time"} {
		a, _ := os.Readlink(tdir + ns)
		b, _ := os.Readlink(sdir + ns)
		if a == "" || a != b {
			t.Errorf("%s namespace: spawned %q, target %q", ns, b, a)
		}
	}
	for _, ns := range []string{"pid", "uts", "mnt"} {
		a, _ := os.Readlink("/proc/self/ns/" + ns)
		b, _ := os.Readlink(sdir + ns)
		if b == "" || a == b {
			t.Errorf("%s namespace: spawned %q, the same as this process's %q", ns, b, a)
		}
	}
	st, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var ppid, uid string
	for _, l := range strings.Split(string(st), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) > 1 && f[0] == "PPid:":
			ppid = f[1]
		case len(f) > 1 && f[0] == "Uid:":
			uid = f[1]
		}
	}
	if ppid != strconv.Itoa(os.Getpid()) {
		t.Errorf("parent %s, want this process %d", ppid, os.Getpid())
	}
	// The target maps its namespace's root to this test's uid (0): the
	// spawned root is host uid 0 seen from here, and 0 inside.
	if uid != "0" {
		t.Errorf("uid %q", uid)
	}
}

// TestSpawnFailsInOneStep: a namespace fd that is no namespace fails the
// spawn with the step named, so does a program that is not there, and
// neither leaves a child.
func TestSpawnFailsInOneStep(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	f, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// This thread's children: it may have forked for other tests before.
	children := func() string {
		b, err := os.ReadFile("/proc/thread-self/children")
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	before := children()
	_, err = Spawn(SpawnSpec{Path: "/bin/true", Argv: []string{"true"}, Join: []int{int(f.Fd())}})
	var je *JoinError
	if !errors.As(err, &je) || je.Index != 0 || je.Errno != unix.EINVAL {
		t.Fatalf("err = %v", err)
	}
	if after := children(); after != before {
		t.Errorf("children %q, before the spawn %q", after, before)
	}
	_, err = Spawn(SpawnSpec{Path: "/nonexistent", Argv: []string{"x"}})
	if err == nil || err.Error() != "execve: no such file or directory" {
		t.Fatalf("err = %v", err)
	}
	if after := children(); after != before {
		t.Errorf("children %q, before the spawn %q", after, before)
	}
}

// TestSpawnLockedIntoPidNamespace: with a pid namespace among the joins,
// the program is a process of that namespace, and its pid is the one
// this process sees.
func TestSpawnLockedIntoPidNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	target := exec.Command("unshare", "--pid", "--fork", "sleep", "30")
	if err := target.Start(); err != nil {
		t.Skipf("unshare --pid: %v", err)
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	self, _ := os.Readlink("/proc/self/ns/pid_for_children")
	var nsPath string
	deadline := time.Now().Add(5 * time.Second)
	for nsPath == "" {
		// The sleep, unshare's child, is the namespace's first process.
		b, _ := os.ReadFile("/proc/" + strconv.Itoa(target.Process.Pid) + "/task/" + strconv.Itoa(target.Process.Pid) + "/children")
		if f := strings.Fields(string(b)); len(f) > 0 {
			if ns, _ := os.Readlink("/proc/" + f[0] + "/ns/pid"); ns != "" && ns != self {
				nsPath = "/proc/" + f[0] + "/ns/pid"
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the target made no pid namespace")
		}
		time.Sleep(10 * time.Millisecond)
	}
	fd, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	want, _ := os.Readlink(nsPath)
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	n := int(null.Fd())
	pid, pin, err := SpawnLocked(SpawnSpec{Path: "/bin/sleep", Argv: []string{"sleep", "31"}, Files: []int{n, n, n}, Join: []int{fd}, Unshare: unix.CLONE_NEWUTS}, true)
	if err != nil {
		t.Fatal(err)
	}
	defer close(pin)
	defer func() { unix.Kill(pid, unix.SIGKILL); reap(pid) }()
	if got, _ := os.Readlink("/proc/" + strconv.Itoa(pid) + "/ns/pid"); got != want {
		t.Errorf("pid namespace %q, want %q", got, want)
	}
	if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline"); string(b) != "sleep\x0031\x00" {
		t.Errorf("pid %d is %q, not the program spawned", pid, b)
	}
}

// TestSpawnKeepsNoGroups: joined as root of a user namespace whose
// setgroups is "deny", a caller with supplementary groups must not spawn
// a program that keeps them (setgroups fails: the spawn fails, naming
// it); a caller with none spawns it.
func TestSpawnKeepsNoGroups(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	target := exec.Command("unshare", "--user", "--map-root-user", "--setgroups=deny", "sleep", "30")
	if err := target.Start(); err != nil {
		t.Skipf("unshare --user: %v", err)
	}
	defer func() { target.Process.Kill(); target.Wait() }()
	tdir := "/proc/" + strconv.Itoa(target.Process.Pid)
	deadline := time.Now().Add(5 * time.Second)
	for {
		a, _ := os.Readlink(tdir + "/ns/user")
		b, _ := os.Readlink("/proc/self/ns/user")
		sg, _ := os.ReadFile(tdir + "/setgroups")
		um, _ := os.ReadFile(tdir + "/uid_map")
		if a != b && a != "" && strings.TrimSpace(string(sg)) == "deny" && len(um) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the target never got its own user namespace with setgroups denied")
		}
		time.Sleep(10 * time.Millisecond)
	}
	fd, err := unix.Open(tdir+"/ns/user", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	out := filepath.Join(t.TempDir(), "groups")
	spawnWithGroups := func(groups []uint32) error {
		errc := make(chan error, 1)
		go func() {
			// Never unlocked: this thread's groups are changed for the
			// spawn, and it ends with the goroutine.
			runtime.LockOSThread()
			var p uintptr
			if len(groups) > 0 {
				p = uintptr(unsafe.Pointer(&groups[0]))
			}
			if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), p, 0); e != 0 {
				errc <- e
				return
			}
			pid, err := Spawn(SpawnSpec{Path: "/bin/sh", Argv: []string{"sh", "-c", "grep '^Groups:' /proc/self/status > " + out}, Join: []int{fd}, BecomeRoot: true})
			if err == nil {
				reap(pid)
			}
			errc <- err
		}()
		return <-errc
	}
	// The caller's groups (root's are [0]) are dropped before the join,
	// which would refuse setgroups: the program runs with none.
	for _, groups := range [][]uint32{{0, 4242}, nil} {
		os.Remove(out)
		if err := spawnWithGroups(groups); err != nil {
			t.Errorf("spawn with groups %v: %v", groups, err)
			continue
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatalf("spawn with groups %v: the program wrote nothing: %v", groups, err)
		}
		if f := strings.Fields(string(b)); len(f) != 1 {
			t.Errorf("spawned with groups %v, the program has %q; want none", groups, b)
		}
	}
}
