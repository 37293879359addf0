package namespace

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
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
	if got := fds(t, c.Pid); !slices.Equal(got, []string{"0", "1", "2"}) {
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

// An abandoned child exits before any step.
func TestForkAbandon(t *testing.T) {
	c, err := Fork(ForkSpec{Path: "/bin/true", Argv: []string{"true"}})
	if err != nil {
		t.Fatal(err)
	}
	c.Abandon()
	if ws := wait(t, c.Pid); !ws.Exited() || ws.ExitStatus() != 127 {
		t.Errorf("abandoned child ended with %#x, want exit 127", ws)
	}
}
