package namespace

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/seccomp"
)

// wait reaps pid and returns its wait status.
func wait(t *testing.T, pid int) unix.WaitStatus {
	t.Helper()
	var ws unix.WaitStatus
	for {
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			t.Fatalf("wait4(%d): %v", pid, err)
		}
		return ws
	}
}

// The fork must survive the garbage collector and other goroutines
// running in the parent at the same time: the child is a copy taken at
// any moment of their work.
func TestForkExecUnderGC(t *testing.T) {
	if _, err := os.Stat("/bin/true"); err != nil {
		t.Skip("no /bin/true")
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var keep [][]byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				keep = append(keep, make([]byte, 64<<10))
				if len(keep) > 64 {
					keep = nil
					runtime.GC()
				}
			}
		}()
	}
	defer func() { close(stop); wg.Wait() }()
	n := 500
	if testing.Short() {
		n = 50
	}
	for i := 0; i < n; i++ {
		c, err := Fork(ForkSpec{Path: "/bin/true", Argv: []string{"true"}, Env: []string{"A=" + strings.Repeat("x", i)}})
		if err != nil {
			t.Fatalf("fork %d: %v", i, err)
		}
		if err := c.Release(); err != nil {
			t.Fatalf("fork %d: exec /bin/true: %v", i, err)
		}
		if ws := wait(t, c.Pid); !ws.Exited() || ws.ExitStatus() != 0 {
			t.Fatalf("fork %d: /bin/true ended with %#x, want exit 0", i, ws)
		}
	}
}

func TestForkReportsErrno(t *testing.T) {
	dir := t.TempDir()
	plain := dir + "/plain"
	if err := os.WriteFile(plain, []byte("not a program\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		spec  ForkSpec
		op    string
		errno syscall.Errno
	}{
		{ForkSpec{Path: dir + "/missing", Argv: []string{"missing"}}, "execve", unix.ENOENT},
		{ForkSpec{Path: plain, Argv: []string{"plain"}}, "execve", unix.EACCES},
		{ForkSpec{Path: dir, Argv: []string{"dir"}}, "execve", unix.EACCES},
		{ForkSpec{Path: "/bin/true", Argv: []string{"true"}, Dir: dir + "/missing"}, "chdir", unix.ENOENT},
	} {
		child, err := Fork(c.spec)
		if err != nil {
			t.Fatalf("fork for %s: %v", c.spec.Path, err)
		}
		err = child.Release()
		var ee *ExecError
		if !errors.As(err, &ee) || ee.Op != c.op || ee.Errno != c.errno {
			t.Errorf("fork+exec %s (dir %q): %v, want %s: %v", c.spec.Path, c.spec.Dir, err, c.op, c.errno)
		}
		if ws := wait(t, child.Pid); !ws.Exited() || ws.ExitStatus() != 127 {
			t.Errorf("fork+exec %s: child ended with %#x, want exit 127", c.spec.Path, ws)
		}
	}
}

// procStatus returns the fields of /proc/pid/status.
func procStatus(t *testing.T, pid int) map[string]string {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, ":")
		m[k] = strings.Join(strings.Fields(v), " ")
	}
	return m
}

// fds lists the open fd numbers of pid.
func fds(t *testing.T, pid int) []string {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	slices.Sort(names)
	return names
}

// A child holds no fd of the parent's but stdio, even before Release, and
// after it runs with the credentials, session and environment asked for.
func TestForkCredentialsAndFds(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change credentials")
	}
	if _, err := os.Stat("/bin/sleep"); err != nil {
		t.Skip("no /bin/sleep")
	}
	// Held open by the parent, not close-on-exec: the child must still
	// not have it.
	leak, err := unix.Open("/dev/null", unix.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(leak)
	env := []string{"ONLY=this"}
	c, err := Fork(ForkSpec{Path: "/bin/sleep", Argv: []string{"sleep", "30"}, Env: env, Dir: "/", Setsid: true, CTTY: -1,
		Cred: &Cred{UID: 65534, GID: 65533}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		unix.Kill(c.Pid, unix.SIGKILL)
		wait(t, c.Pid)
	}()
	// Before Release: stdio and the child's two pipe ends, nothing else.
	var before []string
	deadline := time.Now().Add(5 * time.Second)
	for {
		before = fds(t, c.Pid)
		if len(before) == 5 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if len(before) != 5 || !slices.Contains(before, "0") || !slices.Contains(before, "1") || !slices.Contains(before, "2") || slices.Contains(before, fmt.Sprint(leak)) {
		t.Errorf("held child's fds %v, want 0 1 2 and its two pipe ends (not %d)", before, leak)
	}
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
	st := procStatus(t, c.Pid)
	if st["Uid"] != "65534 65534 65534 65534" || st["Gid"] != "65533 65533 65533 65533" || st["Groups"] != "" {
		t.Errorf("child's Uid %q Gid %q Groups %q, want 65534 x4, 65533 x4 and none", st["Uid"], st["Gid"], st["Groups"])
	}
	// Release returns once the exec closed the error pipe; the exec
	// closes the sync pipe's end just after: wait for it.
	var got []string
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(time.Millisecond) {
		if got = fds(t, c.Pid); slices.Equal(got, []string{"0", "1", "2"}) || time.Now().After(deadline) {
			break
		}
	}
	if !slices.Equal(got, []string{"0", "1", "2"}) {
		t.Errorf("child's fds after exec %v, want 0 1 2", got)
	}
	sid, err := unix.Getsid(c.Pid)
	if err != nil || sid != c.Pid {
		t.Errorf("child's session %d (%v), want its own (%d)", sid, err, c.Pid)
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", c.Pid))
	if err != nil || string(b) != "ONLY=this\x00" {
		t.Errorf("child's environment %q (%v), want exactly ONLY=this", b, err)
	}
}

// userNSHolder starts a process in a new user namespace mapping 0..65535
// to host ids base..base+65535 and returns it; the test ends it.
func userNSHolder(t *testing.T, base int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "60")
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:  syscall.CLONE_NEWUSER,
		UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: base, Size: 65536}},
		GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: base, Size: 65536}},
		// As golxc writes them: setgroups allowed in the namespace.
		GidMappingsEnableSetgroups: true,
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start a process in a user namespace: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// The forked child joins a user namespace (through its /proc/PID/ns/user
// file, or through the pidfd of a process in it, as lxc-attach does),
// runs as that namespace's root or the user asked for, and never as the
// host's root; it keeps only the capabilities asked for, whatever full
// set the join gave it.
func TestForkJoinsUserNamespace(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to map ids")
	}
	const base = 700000
	holder := userNSHolder(t, base)
	nsFile, err := os.Open(fmt.Sprintf("/proc/%d/ns/user", holder.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	defer nsFile.Close()
	pidfd, err := unix.PidfdOpen(holder.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	pidFile := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidFile.Close()
	want, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", holder.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	keep := uint64(1<<unix.CAP_CHOWN | 1<<unix.CAP_KILL | 1<<unix.CAP_NET_BIND_SERVICE)
	for _, c := range []struct {
		what     string
		ns       *os.File
		cred     *Cred
		uid, gid int // on the host
		caps     string
	}{
		{"ns file, root", nsFile, nil, base, base, fmt.Sprintf("%016x", keep)},
		{"pidfd, root", pidFile, nil, base, base, fmt.Sprintf("%016x", keep)},
		{"pidfd, uid 1000 gid 1001", pidFile, &Cred{UID: 1000, GID: 1001}, base + 1000, base + 1001, "0000000000000000"},
	} {
		child, err := Fork(ForkSpec{Path: "/bin/sleep", Argv: []string{"sleep", "30"}, UserNS: c.ns, KeepCaps: &keep, Cred: c.cred})
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if err := child.Release(); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		st := procStatus(t, child.Pid)
		got, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", child.Pid))
		uidMap, _ := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", child.Pid))
		unix.Kill(child.Pid, unix.SIGKILL)
		wait(t, child.Pid)
		if got != want {
			t.Errorf("%s: child's user namespace %s, want %s", c.what, got, want)
		}
		if u := fmt.Sprintf("%d %d %d %d", c.uid, c.uid, c.uid, c.uid); st["Uid"] != u {
			t.Errorf("%s: child's host Uid %q, want %q", c.what, st["Uid"], u)
		}
		if g := fmt.Sprintf("%d %d %d %d", c.gid, c.gid, c.gid, c.gid); st["Gid"] != g || st["Groups"] != "" {
			t.Errorf("%s: child's host Gid %q Groups %q, want %q and none", c.what, st["Gid"], st["Groups"], g)
		}
		// Inside, the mapping turns the host id back into 0 (or -u's).
		if f := strings.Fields(string(uidMap)); len(f) != 3 || f[0] != "0" || f[1] != fmt.Sprint(base) {
			t.Errorf("%s: child's uid_map %q, want 0 %d 65536", c.what, uidMap, base)
		}
		if st["CapBnd"] != fmt.Sprintf("%016x", keep) || st["CapEff"] != c.caps || st["CapPrm"] != c.caps || st["CapInh"] != "0000000000000000" {
			t.Errorf("%s: CapBnd %s CapEff %s CapPrm %s CapInh %s, want %016x, %s, %s, none", c.what, st["CapBnd"], st["CapEff"], st["CapPrm"], st["CapInh"], keep, c.caps, c.caps)
		}
	}
}

// denyMkdir is a filter that fails mkdir and mkdirat with EPERM on
// x86_64 and lets everything else through.
func denyMkdir(t *testing.T) []unix.SockFilter {
	t.Helper()
	p, err := seccomp.Parse(strings.NewReader("2\ndenylist\nmkdir errno 1\nmkdirat errno 1\n"), "deny-mkdir")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := seccomp.Compile(p, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	return prog
}

// The child loads the filter last, after it has set no_new_privs when
// asked, and before its switch of user: a child that drops to another
// uid still loads it without no_new_privs, and what it execs is under it.
func TestForkSeccomp(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change credentials")
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		t.Skip("no /bin/busybox")
	}
	filter := denyMkdir(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what   string
		nnp    bool
		cred   *Cred
		status string
	}{
		{"root", false, nil, "2 0"},
		{"root, no_new_privs", true, nil, "2 1"},
		{"uid 65534", false, &Cred{UID: 65534, GID: 65534}, "2 0"},
	} {
		child, err := Fork(ForkSpec{Path: "/bin/sleep", Argv: []string{"sleep", "30"}, Seccomp: filter, NoNewPrivs: c.nnp, Cred: c.cred})
		if err != nil {
			t.Fatal(err)
		}
		if err := child.Release(); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		st := procStatus(t, child.Pid)
		unix.Kill(child.Pid, unix.SIGKILL)
		wait(t, child.Pid)
		if got := st["Seccomp"] + " " + st["NoNewPrivs"]; got != c.status {
			t.Errorf("%s: Seccomp and NoNewPrivs %q, want %q", c.what, got, c.status)
		}

		target := fmt.Sprintf("%s/%d", dir, len(c.what))
		child, err = Fork(ForkSpec{Path: "/bin/busybox", Argv: []string{"mkdir", target}, Seccomp: filter, NoNewPrivs: c.nnp, Cred: c.cred})
		if err != nil {
			t.Fatal(err)
		}
		if err := child.Release(); err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if ws := wait(t, child.Pid); !ws.Exited() || ws.ExitStatus() != 1 {
			t.Errorf("%s: mkdir under the filter ended with %#x, want exit 1", c.what, ws)
		}
		if _, err := os.Stat(target); err == nil {
			t.Errorf("%s: mkdir under the filter made %s", c.what, target)
		}
	}
	// The control: the same mkdir without the filter works.
	child, err := Fork(ForkSpec{Path: "/bin/busybox", Argv: []string{"mkdir", dir + "/control"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := child.Release(); err != nil {
		t.Fatal(err)
	}
	if ws := wait(t, child.Pid); !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("mkdir without a filter ended with %#x", ws)
	}
}

// A filter that fakes setresuid (returns 0, does nothing) does not leave
// the command root: the child checks what the kernel says and fails.
func TestForkFakedSetresuid(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to change credentials")
	}
	p, err := seccomp.Parse(strings.NewReader("2\ndenylist\nsetresuid errno 0\n"), "fake-setresuid")
	if err != nil {
		t.Fatal(err)
	}
	prog, err := seccomp.Compile(p, runtime.GOARCH)
	if err != nil {
		t.Fatal(err)
	}
	child, err := Fork(ForkSpec{Path: "/bin/true", Argv: []string{"true"}, Seccomp: prog, Cred: &Cred{UID: 65534, GID: 65534}})
	if err != nil {
		t.Fatal(err)
	}
	err = child.Release()
	wait(t, child.Pid)
	var ee *ExecError
	if !errors.As(err, &ee) || ee.Op != "setresuid" {
		t.Fatalf("Release under a filter that fakes setresuid: %v, want a setresuid failure", err)
	}
}

// With JoinFlags and ForkAgain the child joins the user namespace and the
// others of a process in one setns, forks the grandchild into the pid
// namespace joined and exits; the grandchild, a child of this process,
// runs the first of Path and Fallbacks that exists.
func TestForkJoinsAllAndForksAgain(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to map ids")
	}
	const base = 710000
	holder := exec.Command("/bin/sleep", "60")
	holder.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER | syscall.CLONE_NEWPID | syscall.CLONE_NEWUTS | syscall.CLONE_NEWNS,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: base, Size: 65536}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: base, Size: 65536}},
		GidMappingsEnableSetgroups: true,
	}
	if err := holder.Start(); err != nil {
		t.Fatalf("start a process in new namespaces: %v", err)
	}
	t.Cleanup(func() {
		_ = holder.Process.Kill()
		_ = holder.Wait()
	})
	pidfd, err := unix.PidfdOpen(holder.Process.Pid, 0)
	if err != nil {
		t.Fatal(err)
	}
	pidFile := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidFile.Close()
	child, err := Fork(ForkSpec{Path: "/nonexistent/sleep", Fallbacks: []string{"/also/not/here", "/bin/sleep"},
		Argv: []string{"sleep", "30"}, UserNS: pidFile,
		JoinFlags: unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWNS, ForkAgain: true})
	if err != nil {
		t.Fatal(err)
	}
	first, err := child.Hop()
	if err != nil {
		t.Fatal(err)
	}
	if ws := wait(t, first); !ws.Exited() || ws.ExitStatus() != 0 {
		t.Errorf("the first child: %v, want exit 0", ws)
	}
	if child.Pid == first {
		t.Fatalf("Hop left Pid at the first child %d", first)
	}
	if err := child.Release(); err != nil {
		t.Fatal(err)
	}
	defer wait(t, child.Pid)
	defer unix.Kill(child.Pid, unix.SIGKILL)
	for _, ns := range []string{"user", "pid", "uts", "mnt"} {
		want, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", holder.Process.Pid, ns))
		got, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", child.Pid, ns))
		if got != want || want == "" {
			t.Errorf("grandchild's %s namespace %s, want the holder's %s", ns, got, want)
		}
	}
	st := procStatus(t, child.Pid)
	if f := strings.Fields(st["NSpid"]); len(f) != 2 || f[1] == "1" {
		t.Errorf("grandchild's NSpid %q: want a pid in the holder's pid namespace (not its init)", st["NSpid"])
	}
	if u := fmt.Sprintf("%d %d %d %d", base, base, base, base); st["Uid"] != u {
		t.Errorf("grandchild's host Uid %q, want %q (the namespace's root)", st["Uid"], u)
	}
	if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", child.Pid)); !strings.HasSuffix(exe, "sleep") {
		t.Errorf("grandchild runs %q, want /bin/sleep (the fallback)", exe)
	}

	// Nothing of Path and Fallbacks exists: the first error other than
	// ENOENT, or ENOENT.
	child, err = Fork(ForkSpec{Path: "/nonexistent/a", Fallbacks: []string{"/nonexistent/b"}, Argv: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	var ee *ExecError
	if err := child.Release(); !errors.As(err, &ee) || ee.Op != "execve" || ee.Errno != unix.ENOENT {
		t.Errorf("exec of two missing programs: %v, want execve: ENOENT", err)
	}
	wait(t, child.Pid)
}
