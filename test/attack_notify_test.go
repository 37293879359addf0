package test

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// listenAs makes a SOCK_SEQPACKET listener on the abstract name (no
// leading @) as uid/gid 65534: the socket is made, bound and listened on
// by one thread that alone takes that identity (the raw setresuid, not
// Go's, changes only the calling thread) and that is then thrown away.
// The kernel records a listener's credentials at listen: SO_PEERCRED of
// whoever connects reads 65534.
func listenAs(t *testing.T, uid int, name string, backlog int) int {
	t.Helper()
	type res struct {
		fd  int
		err error
	}
	ch := make(chan res, 1)
	go func() {
		// Never unlocked: the thread, no longer root, dies with the
		// goroutine.
		runtime.LockOSThread()
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
			ch <- res{-1, fmt.Errorf("setresgid: %w", e)}
			return
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
			ch <- res{-1, fmt.Errorf("setresuid: %w", e)}
			return
		}
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			ch <- res{-1, err}
			return
		}
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: "\x00" + name}); err != nil {
			unix.Close(fd)
			ch <- res{-1, fmt.Errorf("bind @%s: %w", name, err)}
			return
		}
		if err := unix.Listen(fd, backlog); err != nil {
			unix.Close(fd)
			ch <- res{-1, err}
			return
		}
		ch <- res{fd, nil}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("listen as uid %d: %v", uid, r.err)
	}
	t.Cleanup(func() { unix.Close(r.fd) })
	return r.fd
}

// TestAttackNotifyProxySquat: another local user (nobody) binds the
// abstract address of a root container's lxc.seccomp.notify.proxy
// first. The monitor must not hand it the caller's /proc/PID, its memory
// open for writing and the listener (with them it rewrote the container's
// mkdir path and answered CONTINUE): the call gets ENOSYS, the squatter
// gets not one byte or descriptor, and the monitor's log names the
// address and the uid.
func TestAttackNotifyProxySquat(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	name := "golxc-squat-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	ln := listenAs(t, 65534, name, 8)
	got := make(chan string, 8)
	go func() {
		for {
			c, _, err := unix.Accept(ln)
			if err != nil {
				return
			}
			go func() {
				defer unix.Close(c)
				b := make([]byte, 4096)
				oob := make([]byte, unix.CmsgSpace(8*4))
				n, oobn, _, _, err := unix.Recvmsg(c, b, oob, unix.MSG_CMSG_CLOEXEC)
				if cms, perr := unix.ParseSocketControlMessage(oob[:oobn]); perr == nil {
					for _, cm := range cms {
						if fds, err := unix.ParseUnixRights(&cm); err == nil {
							for _, fd := range fds {
								unix.Close(fd)
							}
						}
					}
				}
				if err == nil && (n > 0 || oobn > 0) {
					got <- fmt.Sprintf("%d bytes, %d of control data", n, oobn)
				}
			}()
		}
	}()
	policy := l.writeFile("notify.seccomp", "2\ndenylist\nmkdir notify\nmkdirat notify\n", 0o644)
	logf := filepath.Join(l.aux, "squat.log")
	n := l.createBusybox("lxc.seccomp.profile = "+policy, "lxc.seccomp.notify.proxy = unix:@"+name)
	out, errs, code := l.run("lxc-execute", "-n", n, "-o", logf, "-l", "INFO", "--", "/bin/sh", "-c", "mkdir /tmp/made; echo status $?")
	if code != 0 || !strings.Contains(out, "status 1") || !strings.Contains(errs, "Function not implemented") {
		t.Errorf("mkdir with a proxy squatted by nobody: exit %d, stdout %q, stderr %q; want ENOSYS", code, out, errs)
	}
	select {
	case what := <-got:
		t.Errorf("the squatter listening as nobody received %s", what)
	case <-time.After(500 * time.Millisecond):
	}
	log, _ := os.ReadFile(logf)
	if !strings.Contains(string(log), "@"+name) || !strings.Contains(string(log), "uid 65534") {
		t.Errorf("the monitor's log does not name the refused proxy @%s and uid 65534:\n%s", name, log)
	}
}

// TestAttackNotifyProxyBacklog: a squatter that never accepts, its
// backlog full, must not hold a container's notified call for good: the
// connect is bounded, and the call gets ENOSYS.
func TestAttackNotifyProxyBacklog(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	name := "golxc-backlog-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	// Root's own, so that the peer check would pass: only the connect
	// is in question.
	ln, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrUnix{Name: "\x00" + name}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(ln, 0); err != nil {
		t.Fatal(err)
	}
	// Fill the backlog: connections nobody accepts.
	for i := 0; ; i++ {
		c, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(c)
		if err := unix.Connect(c, &unix.SockaddrUnix{Name: "\x00" + name}); err != nil {
			if err != unix.EAGAIN {
				t.Fatalf("fill the backlog: %v", err)
			}
			break
		}
		if i > 64 {
			t.Fatal("the backlog never filled")
		}
	}
	policy := l.writeFile("notify.seccomp", "2\ndenylist\nmkdir notify\nmkdirat notify\n", 0o644)
	n := l.createBusybox("lxc.seccomp.profile = "+policy, "lxc.seccomp.notify.proxy = unix:@"+name)
	done := make(chan struct{})
	var out, errs string
	var code int
	go func() {
		defer close(done)
		out, errs, code = l.run("lxc-execute", "-n", n, "--", "/bin/sh", "-c", "mkdir /tmp/made; echo status $?")
	}()
	select {
	case <-done:
	case <-time.After(40 * time.Second):
		// Unblock it: the test is failed already.
		unix.Close(ln)
		<-done
		t.Fatalf("a notified call still waited on a proxy whose backlog is full after 40 s")
	}
	if code != 0 || !strings.Contains(out, "status 1") || !strings.Contains(errs, "Function not implemented") {
		t.Errorf("mkdir with a proxy whose backlog is full: exit %d, stdout %q, stderr %q; want ENOSYS", code, out, errs)
	}
}

// TestSeccompNotifyStageCall: a policy that would notify a call golxc's
// init stage makes before it hands the listener over (here the handover's
// own sendmsg) would hang the start: it is refused, in one line naming
// the policy file, its line and the call, and nothing is left.
func TestSeccompNotifyStageCall(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	policy := l.writeFile("stall.seccomp", "2\ndenylist\nmkdir notify\nsendmsg notify\n", 0o644)
	n := l.createBusybox("lxc.seccomp.profile = "+policy, "lxc.seccomp.notify.proxy = unix:@golxc-none-"+strconv.Itoa(os.Getpid()))
	done := make(chan struct{})
	var errs string
	var code int
	go func() {
		defer close(done)
		_, errs, code = l.run("lxc-execute", "-n", n, "--", "/bin/true")
	}()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		l.run("lxc-stop", "-n", n, "-k")
		<-done
		t.Fatalf("lxc-execute with a notify rule on sendmsg still ran after 60 s (stopped): stderr %q", errs)
	}
	want := policy + ":4: notify on sendmsg"
	if code == 0 || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("lxc-execute with a notify rule on sendmsg: exit %d, stderr %q; want one line with %q", code, errs, want)
	}
	if st := l.state(n); st != "STOPPED" {
		t.Errorf("%s is %s", n, st)
	}
}
