package monitor

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/pack"
)

// testServer is a Monitor with no container: only its command socket,
// listening where Dial looks for lxcpath/name.
type testServer struct {
	m       *Monitor
	lxcpath string
	name    string
	addr    string
}

func newTestMonitor(name, state string) *Monitor {
	log := logrus.New()
	log.SetOutput(io.Discard)
	return &Monitor{o: Options{Name: name, Log: log}, state: state, changed: make(chan struct{})}
}

func startServer(t *testing.T, state string) *testServer {
	t.Helper()
	return startServerTimeout(t, state, 0)
}

// startServerTimeout is startServer with a request timeout of its own (0:
// the package's).
func startServerTimeout(t *testing.T, state string, timeout time.Duration) *testServer {
	t.Helper()
	s := &testServer{lxcpath: t.TempDir(), name: "c1"}
	if os.Geteuid() != 0 {
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	}
	ln, err := listen(s.lxcpath, s.name)
	if err != nil {
		t.Fatal(err)
	}
	s.addr = SocketPath(s.lxcpath, s.name)
	return s.serve(t, ln, state, timeout)
}

// startOpenServer is startServer on a socket anyone may connect to (in a
// world-writable directory), to test what the server itself checks when
// the socket directory does not keep a peer out.
func startOpenServer(t *testing.T, state string) *testServer {
	t.Helper()
	dir := openDir(t)
	s := &testServer{lxcpath: t.TempDir(), name: "c1", addr: filepath.Join(dir, "sock")}
	ln, err := Listen(s.addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(s.addr, 0o777); err != nil {
		t.Fatal(err)
	}
	return s.serve(t, ln, state, 0)
}

func (s *testServer) serve(t *testing.T, ln *net.UnixListener, state string, timeout time.Duration) *testServer {
	t.Helper()
	s.m = newTestMonitor(s.name, state)
	s.m.requestTimeout = timeout
	s.m.o.LXCPath = s.lxcpath
	s.m.ln = ln
	done := make(chan struct{})
	go func() {
		s.m.serve()
		close(done)
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	return s
}

func (s *testServer) dial(t *testing.T) *Conn {
	t.Helper()
	c, err := Dial(s.lxcpath, s.name)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// raw connects without the protocol's client, to send what it never would.
func (s *testServer) raw(t *testing.T) (*net.UnixConn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: s.addr, Net: "unix"})
	if err != nil {
		t.Fatalf("dial %s: %v", s.addr, err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// readResponse reads one answer line and checks it is one JSON object.
func readResponse(t *testing.T, r *bufio.Reader) *Response {
	t.Helper()
	line, err := r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("read answer: %v (got %q)", err, line)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		t.Fatalf("answer %q is not JSON: %v", line, err)
	}
	return &resp
}

// expectClosed checks that the server hung up.
func expectClosed(t *testing.T, r *bufio.Reader) {
	t.Helper()
	if b, err := r.ReadBytes('\n'); err == nil || len(b) > 0 {
		t.Errorf("connection still open: read %q, %v", b, err)
	}
}

// stillServes checks that a fresh client gets an answer.
func (s *testServer) stillServes(t *testing.T) {
	t.Helper()
	resp, err := Ask(s.lxcpath, s.name, Request{Command: "state"}, time.Now().Add(10*time.Second))
	if err != nil {
		t.Fatalf("next client: %v", err)
	}
	if resp.State != s.m.info().State {
		t.Errorf("next client got state %q, want %q", resp.State, s.m.info().State)
	}
}

func TestServeState(t *testing.T) {
	for _, state := range []string{Running, Stopped, Starting, Frozen} {
		t.Run(state, func(t *testing.T) {
			s := startServer(t, state)
			c := s.dial(t)
			resp, err := c.Call(Request{Command: "state"}, time.Now().Add(10*time.Second))
			if err != nil {
				t.Fatalf("state: %v", err)
			}
			if resp.State != state || resp.Pid != 0 || resp.Error != "" {
				t.Errorf("state answer %+v, want state %s, no pid (no process), no error", resp, state)
			}
		})
	}
}

func TestServeRequestsInOrder(t *testing.T) {
	s := startServer(t, Running)
	c, r := s.raw(t)
	// Three requests in one write: answered one line each, in order, on
	// the same connection; an unknown command does not end it.
	if _, err := c.Write([]byte(`{"v":1,"cmd":"state"}` + "\n" + `{"v":1,"cmd":"frobnicate"}` + "\n" + `{"v":1,"cmd":"state"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	if resp := readResponse(t, r); resp.State != Running || resp.Error != "" {
		t.Errorf("first answer %+v, want RUNNING", resp)
	}
	if resp := readResponse(t, r); resp.Error != "unknown command frobnicate" {
		t.Errorf("second answer %+v, want unknown command frobnicate", resp)
	}
	if resp := readResponse(t, r); resp.State != Running || resp.Error != "" {
		t.Errorf("third answer %+v, want RUNNING", resp)
	}
}

func TestServeUnknownCommand(t *testing.T) {
	s := startServer(t, Running)
	c := s.dial(t)
	for _, cmd := range []string{"frobnicate", "", "STATE"} {
		resp, err := c.Call(Request{Command: cmd}, time.Now().Add(10*time.Second))
		if err == nil || resp == nil || !strings.Contains(resp.Error, "unknown command") {
			t.Errorf("Call(%q) = %+v, %v; want an unknown command error", cmd, resp, err)
		}
	}
	// The connection stays usable.
	if resp, err := c.Call(Request{Command: "state"}, time.Now().Add(10*time.Second)); err != nil || resp.State != Running {
		t.Errorf("state after unknown commands = %+v, %v", resp, err)
	}
}

func TestServeBadInput(t *testing.T) {
	tests := []struct {
		name      string
		send      []byte
		closeSend bool   // hang up after sending
		wantErr   string // "" when no answer is expected
	}{
		{name: "garbage", send: []byte("garbage\n"), wantErr: "malformed request"},
		{name: "empty line", send: []byte("\n"), wantErr: "malformed request"},
		{name: "json array", send: []byte("[1,2]\n"), wantErr: "malformed request"},
		{name: "wrong field type", send: []byte(`{"cmd":1}` + "\n"), wantErr: "malformed request"},
		{name: "two objects on a line", send: []byte(`{"cmd":"state"} {"cmd":"state"}` + "\n"), wantErr: "malformed request"},
		{name: "binary", send: []byte("\x00\xff\xfe\x01\n"), wantErr: "malformed request"},
		{name: "half a line then hang up", send: []byte(`{"v":1,"cmd":"sta`), closeSend: true},
		{name: "nothing then hang up", send: nil, closeSend: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Running)
			c, r := s.raw(t)
			if len(tt.send) > 0 {
				if _, err := c.Write(tt.send); err != nil {
					t.Fatal(err)
				}
			}
			if tt.closeSend {
				c.Close()
				s.stillServes(t)
				return
			}
			resp := readResponse(t, r)
			if !strings.HasPrefix(resp.Error, tt.wantErr) {
				t.Errorf("answer %+v, want error %q", resp, tt.wantErr)
			}
			// Not a request: the server hangs up after saying so.
			expectClosed(t, r)
			s.stillServes(t)
		})
	}
}

func TestServeRequestTooLong(t *testing.T) {
	// A valid request padded with blanks to exactly n bytes.
	padded := func(n int) []byte {
		b := []byte(`{"v":1,"cmd":"state"}`)
		return append(b, []byte(strings.Repeat(" ", n-len(b)))...)
	}
	tests := []struct {
		name    string
		line    []byte
		wantErr string
	}{
		{name: "at the limit", line: padded(maxRequest)},
		{name: "one byte over", line: padded(maxRequest + 1), wantErr: "request too long"},
		{name: "far over, no JSON", line: []byte(strings.Repeat("a", 4*maxRequest)), wantErr: "request too long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, Running)
			c, r := s.raw(t)
			// The server may hang up before it has read everything; the
			// write's error is then expected.
			go func() { _, _ = c.Write(append(tt.line, '\n')) }()
			resp := readResponse(t, r)
			if tt.wantErr == "" {
				if resp.Error != "" || resp.State != Running {
					t.Errorf("answer %+v, want RUNNING", resp)
				}
				return
			}
			if resp.Error != tt.wantErr {
				t.Errorf("answer %+v, want error %q", resp, tt.wantErr)
			}
			expectClosed(t, r)
			s.stillServes(t)
		})
	}
}

// waitPending waits until the server is inside n requests.
func waitPending(t *testing.T, m *Monitor, n int32) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for m.pending.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("server never had %d requests pending (has %d)", n, m.pending.Load())
		}
		time.Sleep(time.Millisecond)
	}
}

func TestServeWait(t *testing.T) {
	t.Run("already there", func(t *testing.T) {
		s := startServer(t, Running)
		resp, err := s.dial(t).Call(Request{Command: "wait", States: []string{Stopped, Running}}, time.Now().Add(10*time.Second))
		if err != nil || resp.State != Running {
			t.Errorf("wait = %+v, %v; want RUNNING at once", resp, err)
		}
	})

	t.Run("answered on the change", func(t *testing.T) {
		s := startServer(t, Running)
		c := s.dial(t)
		type answer struct {
			r   *Response
			err error
		}
		got := make(chan answer, 1)
		go func() {
			r, err := c.Call(Request{Command: "wait", States: []string{Frozen}}, time.Now().Add(30*time.Second))
			got <- answer{r, err}
		}()
		waitPending(t, s.m, 1)
		// An unrelated change does not answer.
		s.m.setState(Freezing)
		select {
		case a := <-got:
			t.Fatalf("wait answered %+v, %v before FROZEN", a.r, a.err)
		default:
		}
		s.m.setState(Frozen)
		a := <-got
		if a.err != nil || a.r.State != Frozen {
			t.Errorf("wait = %+v, %v; want FROZEN", a.r, a.err)
		}
		waitPending(t, s.m, 0)
	})

	t.Run("timeout", func(t *testing.T) {
		s := startServer(t, Running)
		const timeout = 50 * time.Millisecond
		start := time.Now()
		resp, err := s.dial(t).Call(Request{Command: "wait", States: []string{Stopped}, TimeoutMS: timeout.Milliseconds()}, time.Now().Add(30*time.Second))
		elapsed := time.Since(start)
		if err == nil || !strings.Contains(err.Error(), "timed out") {
			t.Fatalf("wait = %+v, %v; want a timeout error", resp, err)
		}
		if resp == nil || resp.State != Running {
			t.Errorf("timeout answer %+v, want the current state RUNNING", resp)
		}
		if elapsed < timeout {
			t.Errorf("answered after %v, before the %v timeout", elapsed, timeout)
		}
	})

	t.Run("many waiters", func(t *testing.T) {
		s := startServer(t, Starting)
		const n = 20
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for range n {
			c := s.dial(t)
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, err := c.Call(Request{Command: "wait", States: []string{Running}}, time.Now().Add(30*time.Second))
				if err == nil && r.State != Running {
					err = errors.New("answered " + r.State)
				}
				errs <- err
			}()
		}
		waitPending(t, s.m, n)
		s.m.setState(Running)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Error(err)
			}
		}
	})
}

func TestServeNotRunning(t *testing.T) {
	tests := []struct {
		name  string
		state string
		req   Request
	}{
		{name: "stop", state: Stopped, req: Request{Command: "stop", Signal: int(unix.SIGPWR), TimeoutMS: 1000}},
		{name: "kill", state: Stopped, req: Request{Command: "kill"}},
		{name: "reboot", state: Stopped, req: Request{Command: "reboot", Signal: int(unix.SIGINT)}},
		{name: "reboot while starting", state: Starting, req: Request{Command: "reboot", Signal: int(unix.SIGINT)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := startServer(t, tt.state)
			resp, err := s.dial(t).Call(tt.req, time.Now().Add(10*time.Second))
			if err == nil || err.Error() != "c1 is not running" {
				t.Errorf("%s = %+v, %v; want c1 is not running", tt.req.Command, resp, err)
			}
			s.m.mu.Lock()
			stopping := s.m.stopping
			s.m.mu.Unlock()
			if stopping {
				t.Error("a refused stop marked the monitor stopping")
			}
		})
	}
}

func TestServePidFDWithoutProcess(t *testing.T) {
	for _, state := range []string{Stopped, Starting, Running} {
		t.Run(state, func(t *testing.T) {
			s := startServer(t, state)
			fd, resp, err := s.dial(t).PidFD()
			if err == nil {
				unix.Close(fd)
				t.Fatalf("PidFD with no process = fd %d, want an error", fd)
			}
			if fd != -1 {
				t.Errorf("fd = %d with an error, want -1", fd)
			}
			if resp == nil || resp.State != state || !strings.Contains(err.Error(), "not running") {
				t.Errorf("PidFD = %+v, %v; want state %s and not running", resp, err, state)
			}
		})
	}
}

func TestServeConcurrentClients(t *testing.T) {
	s := startServer(t, Running)
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := Ask(s.lxcpath, s.name, Request{Command: "state"}, time.Now().Add(30*time.Second))
			if err == nil && r.State != Running {
				err = errors.New("answered " + r.State)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

// dialAsUser connects to addr from a thread whose credentials are uid/gid:
// SO_PEERCRED records the connecting thread's. The thread is never handed
// back to the runtime, which retires it when the goroutine ends.
func dialAsUser(t *testing.T, addr string, uid, gid int) *net.UnixConn {
	t.Helper()
	type result struct {
		c   *net.UnixConn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(gid), uintptr(gid), uintptr(gid)); e != 0 {
			ch <- result{err: e}
			return
		}
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(uid), uintptr(uid), uintptr(uid)); e != 0 {
			ch <- result{err: e}
			return
		}
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: addr, Net: "unix"})
		ch <- result{c, err}
	}()
	r := <-ch
	if r.err != nil {
		t.Fatalf("dial as %d:%d: %v", uid, gid, r.err)
	}
	t.Cleanup(func() { r.c.Close() })
	return r.c
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (CI=true: refusing to skip)")
		}
		t.Skip("needs root")
	}
}

// The socket's directory keeps other users out (0700 root): a connect is
// refused before the server sees it.
func TestSocketClosedToOtherUsers(t *testing.T) {
	requireRoot(t)
	s := startServer(t, Running)
	ch := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, 65534, 65534, 65534); e != 0 {
			ch <- e
			return
		}
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: s.addr, Net: "unix"})
		if err == nil {
			c.Close()
		}
		ch <- err
	}()
	if err := <-ch; !errors.Is(err, unix.EACCES) {
		t.Fatalf("uid 65534 connecting to %s: %v, want EACCES", s.addr, err)
	}
}

// Behind the directory, the server checks its peer itself: commands that
// act on the container must come from root (or the monitor's own user).
func TestServeRefusesOtherUsers(t *testing.T) {
	requireRoot(t)
	s := startOpenServer(t, Running)
	c := dialAsUser(t, s.addr, 65534, 65534)
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	// The server hangs up at once: the write may already fail.
	_, _ = c.Write([]byte(`{"v":1,"cmd":"stop","signal":30,"nowait":true}` + "\n"))
	line, rerr := bufio.NewReader(c).ReadBytes('\n')
	var resp Response
	answered := rerr == nil && json.Unmarshal(line, &resp) == nil && resp.Error == ""
	s.m.mu.Lock()
	stopping := s.m.stopping
	s.m.mu.Unlock()
	if answered || stopping {
		t.Fatalf("uid 65534 may stop the container through the monitor's abstract socket (answer %q, stopping=%v); the server must check SO_PEERCRED", line, stopping)
	}
}

// A client that asked to wait and then hung up is gone: the request must
// not hold a goroutine (and, through pending, the monitor's exit) until a
// state that may never come.
func TestServeWaitAbandoned(t *testing.T) {
	s := startServer(t, Running)
	c, _ := s.raw(t)
	if _, err := c.Write([]byte(`{"v":1,"cmd":"wait","states":["FROZEN"]}` + "\n")); err != nil {
		t.Fatal(err)
	}
	waitPending(t, s.m, 1)
	c.Close()
	t.Cleanup(func() { s.m.setState(Frozen) }) // free the waiter whatever happens
	deadline := time.Now().Add(2 * time.Second)
	for s.m.pending.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("a wait whose client hung up stays pending until the state comes (server.go handle/waitFor never notice the hang-up)")
		}
		time.Sleep(time.Millisecond)
	}
}

// A client cannot make the monitor trust it by binding the socket first:
// a tool checks who serves the socket before it sends anything.
func TestDialRefusesUntrustedServer(t *testing.T) {
	requireRoot(t)
	dir := openDir(t)
	path := filepath.Join(dir, "sock")
	ch := make(chan error, 1)
	lnCh := make(chan *net.UnixListener, 1)
	go func() {
		runtime.LockOSThread()
		if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, 65534, 65534, 65534); e != 0 {
			ch <- e
			return
		}
		ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
		lnCh <- ln
		ch <- err
	}()
	if err := <-ch; err != nil {
		t.Fatal(err)
	}
	ln := <-lnCh
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b := make([]byte, 512)
				if n, _ := c.Read(b); n > 0 {
					c.Write([]byte(`{"state":"RUNNING","pid":1}` + "\n"))
				}
			}()
		}
	}()
	c, err := DialPath(path, "c1")
	if err == nil {
		c.Close()
		t.Fatal("Dial trusts a socket served by uid 65534")
	}
	if !strings.Contains(err.Error(), "uid 65534") {
		t.Errorf("error %q does not name the server's uid", err)
	}
}

// Connections that never send a request are dropped after the request
// timeout, and a flood of them does not grow the monitor without bound.
func TestIdleClientsDropped(t *testing.T) {
	s2 := startServerTimeout(t, Running, 200*time.Millisecond)
	var conns []*net.UnixConn
	for i := 0; i < 100; i++ {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: s2.addr, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		conns = append(conns, c)
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(make([]byte, 16))
		if !errors.Is(err, io.EOF) {
			t.Fatalf("idle connection %d: read %d bytes, %v; want the server to hang up", i, n, err)
		}
	}
	// And the monitor still answers.
	if r, err := s2.dial(t).Call(Request{Command: "state"}, time.Now().Add(5*time.Second)); err != nil || r.State != Running {
		t.Fatalf("state after the idle flood: %+v, %v", r, err)
	}
}

// openDir is a directory any user may create sockets in and connect to
// (t.TempDir's parent is closed to other users).
func openDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "golxc-open-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	return dir
}

// When idle connections fill every slot, the longest idle is dropped for a
// newcomer: the tools are not locked out for the request timeout.
func TestIdleFloodDoesNotLockOut(t *testing.T) {
	s := startServer(t, Running)
	for i := 0; i < maxClients+50; i++ {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: s.addr, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
	}
	t0 := time.Now()
	r, err := s.dial(t).Call(Request{Command: "state"}, time.Now().Add(5*time.Second))
	if err != nil || r.State != Running {
		t.Fatalf("state during an idle flood: %+v, %v", r, err)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("state during an idle flood took %v", d)
	}
}

// "seccomp" answers the filter and no_new_privs of the spec the
// container runs with, whether the monitor holds it decoded or packed (the
// shared monitor's), and nothing for a spec without them.
func TestServeSeccomp(t *testing.T) {
	prog := []byte{6, 0, 0, 0, 0, 0, 0xff, 0x7f} // BPF_RET|BPF_K ALLOW
	spec := &containerinit.Spec{Seccomp: &containerinit.Seccomp{Program: prog, AllowNesting: true}}
	spec.OCI.Process = &specs.Process{NoNewPrivileges: true}
	packed, err := pack.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		what    string
		spec    *containerinit.Spec
		packed  []byte
		specErr error
		want    Response
		wantErr string // the spec unknown: refused, never "no filter"
	}{
		{"decoded", spec, nil, nil, Response{Seccomp: prog, SeccompNesting: true, NoNewPrivs: true}, ""},
		{"packed", nil, packed, nil, Response{Seccomp: prog, SeccompNesting: true, NoNewPrivs: true}, ""},
		{"none", &containerinit.Spec{}, nil, nil, Response{}, ""},
		{"no spec", nil, nil, nil, Response{}, "unknown to its monitor"},
		{"undecodable", nil, nil, errors.New("bad json"), Response{}, "unknown to its monitor: bad json"},
	} {
		s := startServer(t, Running)
		s.m.o.Spec, s.m.o.PackedSpec, s.m.o.SpecErr = c.spec, c.packed, c.specErr
		resp, err := s.dial(t).Call(Request{Command: "seccomp"}, time.Now().Add(10*time.Second))
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("%s: seccomp answer %+v, %v; want an error containing %q", c.what, resp, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.what, err)
		}
		if string(resp.Seccomp) != string(c.want.Seccomp) || resp.SeccompNesting != c.want.SeccompNesting || resp.NoNewPrivs != c.want.NoNewPrivs {
			t.Errorf("%s: seccomp answer %+v, want %+v", c.what, resp, c.want)
		}
	}
}
