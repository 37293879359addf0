package test

// Attacks on the monitors' command sockets (issue 7, items 1, 2 and 6):
// each test performs the attack with the built tools running and asserts
// that it fails.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/monitor"
)

// asUser runs f on an OS thread whose credentials are uid/gid (the
// credentials that connect(2), bind(2) and SO_PEERCRED see); the thread is
// retired afterwards, never handed back to the runtime.
func asUser(t *testing.T, uid int, f func() error) error {
	t.Helper()
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 {
			ch <- fmt.Errorf("setgroups: %w", e)
			return
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
			ch <- fmt.Errorf("setresgid: %w", e)
			return
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
			ch <- fmt.Errorf("setresuid: %w", e)
			return
		}
		ch <- f()
	}()
	return <-ch
}

const nobody = 65534

// abstractGolxcSockets lists the abstract unix sockets of lxcpath's
// containers (golxc named them @golxc<lxcpath>/...) that any process of
// the host's network namespace (a container with lxc.net.0.type = none
// included) could reach.
func abstractGolxcSockets(t *testing.T, lxcpath string) []string {
	t.Helper()
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 8 && strings.HasPrefix(f[7], "@golxc"+lxcpath) {
			found = append(found, f[7])
		}
	}
	return found
}

// Item 1: a local user cannot reach the shared monitor (or any monitor),
// cannot make a socket where a tool would look for one, and no golxc
// socket is reachable through the abstract namespace.
func TestAttackSocketsClosedToUsers(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	shared := runOpts{env: []string{"GOLXC_SHARED_MONITOR=1"}}
	n := l.createBusybox()
	if out, errs, code := l.runWith(shared, "lxc-start", "-n", n); code != 0 {
		t.Fatalf("GOLXC_SHARED_MONITOR=1 lxc-start: exit %d\n%s%s", code, out, errs)
	}
	l.waitState(n, "RUNNING", 10*time.Second)
	own := l.startBusybox() // a monitor of its own
	t.Cleanup(func() { waitFor(5*time.Second, func() bool { return len(sharedMonitors(l.path)) == 0 }) })

	for what, path := range map[string]string{
		"the shared monitor":    monitor.SocketPath(l.path, ".shared"),
		"a container's monitor": monitor.SocketPath(l.path, own),
	} {
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%s's socket %s: %v", what, path, err)
		}
		err := asUser(t, nobody, func() error {
			c, err := net.Dial("unix", path)
			if err == nil {
				// Reached it: try the attack of the review, a start of
				// a command as root.
				req := `{"name":"x","lxcpath":"` + l.path + `","spec":{"oci":{"process":{"args":["/bin/sh","-c","id > /tmp/pwned"]}}}}` + "\n"
				c.Write([]byte(req))
				c.Close()
			}
			return err
		})
		if !errors.Is(err, unix.EACCES) {
			t.Errorf("uid %d connecting to %s (%s): %v, want EACCES", nobody, what, path, err)
		}
	}
	// Nobody can put a socket (or anything) where the tools look.
	dir := monitor.SocketDir()
	err := asUser(t, nobody, func() error {
		ln, err := net.Listen("unix", filepath.Join(dir, "squat"))
		if err == nil {
			ln.Close()
		}
		return err
	})
	if !errors.Is(err, unix.EACCES) {
		t.Errorf("uid %d binding a socket in %s: %v, want EACCES", nobody, dir, err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil || st.Uid != 0 || st.Mode&0o777 != 0o700 {
		t.Errorf("%s: uid %d mode %o (%v), want root's, 0700", dir, st.Uid, st.Mode&0o777, err)
	}
	if found := abstractGolxcSockets(t, l.path); len(found) > 0 {
		t.Errorf("abstract golxc sockets exist (reachable from any process in the host's network namespace): %v", found)
	}
}

// Item 2: a user who binds the address golxc's monitors once used (or any
// abstract name) gets nothing: the tools neither believe nor talk to it.
func TestAttackSquatterIgnored(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	old := "@golxc" + l.path + "/" + n + "/command"
	talked := squatAbstract(t, old)
	if st := l.state(n); st != "STOPPED" {
		t.Errorf("lxc-info -s with a squatter on the old address: %s, want STOPPED", st)
	}
	if out, errs, code := l.run("lxc-start", "-n", n); code != 0 || strings.Contains(errs, "already running") {
		t.Fatalf("lxc-start with a squatter: exit %d\n%s%s", code, out, errs)
	}
	l.waitState(n, "RUNNING", 10*time.Second)
	if pid := l.initPID(n); pid <= 1 {
		t.Errorf("lxc-info -p: %d, want the container's init", pid)
	}
	if got := strings.TrimSpace(l.attach(n, "hostname")); got != n {
		t.Errorf("lxc-attach -- hostname: %q, want %q", got, n)
	}
	select {
	case line := <-talked:
		t.Errorf("a tool talked to the squatter on %s: %q", old, line)
	default:
	}
}

// Item 1: what reaches the shared monitor (root only) is still checked:
// a name that is a path, another lxcpath, a start without its lock held,
// or a request that does not decode (a packed one cut short or claiming
// a billion bytes, one that mixes the JSON and packed forms) is refused
// in one line before anything runs, and nothing is removed.
func TestAttackSharedMonitorRequests(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	shared := runOpts{env: []string{"GOLXC_SHARED_MONITOR=1"}}
	n := l.createBusybox()
	if out, errs, code := l.runWith(shared, "lxc-start", "-n", n); code != 0 {
		t.Fatalf("GOLXC_SHARED_MONITOR=1 lxc-start: exit %d\n%s%s", code, out, errs)
	}
	t.Cleanup(func() { waitFor(5*time.Second, func() bool { return len(sharedMonitors(l.path)) == 0 }) })
	victim := l.writeFile("victim", "precious\n", 0o600)
	marker := filepath.Join(l.aux, "ran")
	relVictim := strings.Repeat("../", 30) + strings.TrimPrefix(victim, "/")
	valid := newName(t)
	l.track(valid)
	if err := os.MkdirAll(filepath.Join(l.path, valid), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Join(l.path, valid)) })
	unlocked := lockFile(l.path, valid)
	if err := os.MkdirAll(filepath.Dir(unlocked), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(unlocked, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(unlocked) })
	spec := map[string]any{"oci": map[string]any{"process": map[string]any{"args": []string{"/bin/sh", "-c", "touch " + marker}}}}
	// A start request in pack's form, as a tool of the monitor's own
	// binary sends it whole: {"packedRequest":BYTES}, the request's
	// fields in order, the first two the name and the lxcpath.
	packed := func(b ...byte) map[string]any { return map[string]any{"packedRequest": b} }
	str := func(s string) []byte { return append([]byte{byte(len(s))}, s...) }
	head := append(append([]byte{1}, str(valid)...), str(l.path)...)
	// The spec's bytes (the third field) claim a billion of them.
	billion := append(bytes.Clone(head), 0xff, 0xff, 0xff, 0xff, 0x04)
	for _, tt := range []struct {
		what, name, lxcpath, fdFile, want string
		req                               map[string]any // instead of name, lxcpath and spec
	}{
		{"a name that is a path", relVictim, l.path, victim, "invalid container name", nil},
		{"another lxcpath", valid, "/var/lib/lxc", unlocked, "lxcpath", nil},
		{"a descriptor that is not the lock", valid, l.path, victim, "not its lock file", nil},
		{"the lock file, not held", valid, l.path, unlocked, "without its lock held", nil},
		{"a packed request of garbage", valid, l.path, unlocked, "packed start request: unpack: form 0", packed(0, 0, 0)},
		{"a packed request cut short", valid, l.path, unlocked, "packed start request of " + valid + ": unpack lxc.startRequest: .Spec: truncated", packed(head...)},
		{"a packed request claiming a billion bytes", valid, l.path, unlocked, "packed start request of " + valid + ": unpack lxc.startRequest: .Spec: length", packed(billion...)},
		{"a packed request with JSON next to it", valid, l.path, unlocked, "start request of " + valid + " has fields next to its packed form",
			map[string]any{"name": valid, "lxcpath": l.path, "spec": spec, "packedRequest": head}},
		{"a packed spec outside a packed request", valid, l.path, unlocked, "start request of " + valid + " has a packed spec outside a packed request",
			map[string]any{"name": valid, "lxcpath": l.path, "packedSpec": []byte{1}}},
	} {
		t.Run(tt.what, func(t *testing.T) {
			req := map[string]any{"name": tt.name, "lxcpath": tt.lxcpath, "spec": spec}
			if tt.req != nil {
				req = tt.req
			}
			b, _ := json.Marshal(req)
			f, err := os.Open(tt.fdFile)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: monitor.SocketPath(l.path, ".shared"), Net: "unix"})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, _, err := c.WriteMsgUnix(append(b, '\n'), unix.UnixRights(int(f.Fd())), nil); err != nil {
				t.Fatal(err)
			}
			r := bufio.NewReader(c)
			line, _ := r.ReadString('\n')
			if !strings.HasPrefix(line, "ERR ") || !strings.Contains(line, tt.want) {
				t.Errorf("answer %q, want ERR ... %s", line, tt.want)
			}
			if more, err := r.ReadString('\n'); more != "" || err == nil {
				t.Errorf("after the refusal: %q, %v; want the connection closed", more, err)
			}
		})
	}
	if b, err := os.ReadFile(victim); err != nil || string(b) != "precious\n" {
		t.Errorf("victim file after the requests: %q, %v", b, err)
	}
	time.Sleep(200 * time.Millisecond)
	if _, err := os.Stat(marker); err == nil {
		t.Errorf("a refused start request ran its command (%s exists)", marker)
	}
	if st := l.state(n); st != "RUNNING" {
		t.Errorf("the shared monitor's container after the requests: %s, want RUNNING", st)
	}
}

// Item 2: a container in the host's network namespace (lxc.net.0.type =
// none) sees no golxc socket: none is abstract, and the socket directory
// is not in its mount namespace.
func TestAttackHostNetContainer(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	requireBusybox(t)
	n := l.newContainer()
	conf := l.writeFile(newName(t)+".conf", "lxc.net.0.type = none\n", 0o644)
	l.mustRun("lxc-create", "-n", n, "-t", "busybox", "-f", conf)
	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	out, _, code := l.run("lxc-attach", "-n", n, "--", "/bin/sh", "-c", "grep -c @golxc"+l.path+" /proc/net/unix; ls "+monitor.SocketDir())
	if code == 0 || !strings.HasPrefix(out, "0\n") {
		t.Errorf("inside a container with the host's network: %q (exit %d), want no @golxc socket and no %s", out, code, monitor.SocketDir())
	}
	if found := abstractGolxcSockets(t, l.path); len(found) > 0 {
		t.Errorf("abstract golxc sockets exist: %v", found)
	}
}

// Item 6: the monitor checks before it reads, drops clients that send
// nothing, and a flood of idle connections costs it a bounded amount.
func TestAttackIdleConnectionFlood(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	mon := monitorPIDs(l.path, n)[0]
	path := monitor.SocketPath(l.path, n)
	fds := fdCount(mon)
	rssBefore := rssKiB(t, mon)
	const flood = 3000
	var conns []net.Conn
	for i := 0; i < flood; i++ {
		c, err := net.Dial("unix", path)
		if err != nil {
			// The backlog is full: the monitor bounds what it takes.
			break
		}
		conns = append(conns, c)
		// Half of them start a request and never finish it.
		if i%2 == 0 {
			c.Write([]byte(`{"v":1,"cmd":"sta`))
		}
	}
	t.Cleanup(func() {
		for _, c := range conns {
			c.Close()
		}
	})
	time.Sleep(time.Second)
	grown := rssKiB(t, mon) - rssBefore
	t.Logf("monitor RSS %d KiB before, +%d KiB with %d idle connections", rssBefore, grown, len(conns))
	if grown > 48<<10 {
		t.Errorf("monitor RSS grew by %d KiB with %d idle connections, want < 48 MiB", grown, len(conns))
	}
	// Still answering, and every idle connection is dropped after the
	// request timeout (10 s).
	if st := l.state(n); st != "RUNNING" {
		t.Errorf("lxc-info during the flood: %s, want RUNNING", st)
	}
	if !waitFor(30*time.Second, func() bool { return fdCount(mon) <= fds }) {
		t.Errorf("monitor holds %d descriptors 30 s after %d idle connections (before: %d)", fdCount(mon), len(conns), fds)
	}
}

// rssKiB is VmRSS of pid.
func rssKiB(t *testing.T, pid int) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			var kib int
			fmt.Sscan(f[1], &kib)
			return kib
		}
	}
	t.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// A container started on the host's root filesystem (no lxc.rootfs.path)
// sees /run/golxc and runs as uid 0: its root must still not command
// another container's monitor, nor be believed as one. Its own pid
// namespace tells it apart.
func TestAttackNoRootfsContainerSockets(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	victim := l.startBusybox()
	attacker := l.newContainer()
	conf := l.conf()
	stop := filepath.Join(binDir(t), "lxc-stop")
	out, errs, code := l.run("lxc-execute", "-q", "-n", attacker, "-f", conf, "--", stop, "-P", l.path, "-n", victim, "-k")
	if code == 0 {
		t.Errorf("lxc-stop -k run inside a container on the host's root filesystem succeeded\nstdout: %s\nstderr: %s", out, errs)
	}
	if !strings.Contains(errs, "pid namespace") {
		t.Errorf("lxc-stop from inside: stderr %q, want it to name the other pid namespace", errs)
	}
	if st := l.state(victim); st != "RUNNING" {
		t.Errorf("victim after lxc-stop -k from a container on the host's root: %s, want RUNNING", st)
	}
}

// A monitor killed with SIGKILL leaves its socket file; lxc-destroy of the
// container removes it (the socket directory must not fill up with the
// sockets of containers long gone).
func TestStaleSocketRemovedByDestroy(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	path := monitor.SocketPath(l.path, n)
	mon := monitorPIDs(l.path, n)
	if len(mon) != 1 {
		t.Fatalf("monitors of %s: %v", n, mon)
	}
	if err := unix.Kill(mon[0], unix.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(5*time.Second, func() bool { return len(monitorPIDs(l.path, n)) == 0 })
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("the killed monitor left no socket file (%v): this test proves nothing", err)
	}
	l.mustRun("lxc-destroy", "-n", n, "-f")
	if _, err := os.Stat(path); err == nil {
		t.Errorf("lxc-destroy left the killed monitor's socket %s", path)
	}
}

// squatAbstract binds the abstract unix address addr ("@...") as uid
// nobody, as a local user could, and answers every connection as a
// monitor would ({"state":"RUNNING","pid":1}); the returned channel gets
// the first line of each request a tool sent it.
func squatAbstract(t *testing.T, addr string) <-chan string {
	t.Helper()
	var ln net.Listener
	if err := asUser(t, nobody, func() error {
		var err error
		ln, err = net.Listen("unix", addr)
		return err
	}); err != nil {
		t.Fatalf("uid %d binding %s: %v", nobody, addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	talked := make(chan string, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			line, _ := bufio.NewReader(c).ReadString('\n')
			talked <- line
			c.Write([]byte(`{"state":"RUNNING","pid":1}` + "\n"))
			c.Close()
		}
	}()
	return talked
}
