package monitor

import (
	"bufio"
	"encoding/json"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// maxClients bounds the connections a monitor serves at once. Past it, the
// connection that has waited longest without sending a request is dropped
// to make room; when every one is busy with a request (waiters: lxc-stop,
// lxc-wait), new ones wait in the listen backlog. A flood of idle
// connections thus costs a bounded amount and does not lock out the tools.
const maxClients = 512

// requestTimeout is how long a client has to send each request once it is
// connected or has had its last answer: tools send theirs at once.
const requestTimeout = 10 * time.Second

// clients are a monitor's open connections, and which of them are waiting
// to read a request (those may be dropped). n counts a connection until its
// handler has left, dropped or not.
type clients struct {
	mu      sync.Mutex
	room    *sync.Cond
	n       int
	reading map[*net.UnixConn]time.Time
}

func newClients() *clients {
	cs := &clients{reading: map[*net.UnixConn]time.Time{}}
	cs.room = sync.NewCond(&cs.mu)
	return cs
}

// admit counts c in. When full, it drops the client idle longest (its
// handler's read fails and it leaves) and waits for room; with none idle,
// it waits for a handler to end.
func (cs *clients) admit(c *net.UnixConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for cs.n >= maxClients {
		var oldest *net.UnixConn
		var since time.Time
		for rc, t := range cs.reading {
			if oldest == nil || t.Before(since) {
				oldest, since = rc, t
			}
		}
		if oldest != nil {
			delete(cs.reading, oldest)
			oldest.Close()
		}
		cs.room.Wait()
	}
	cs.n++
	cs.reading[c] = time.Now()
}

// setReading marks c as waiting for a request (droppable) or not.
func (cs *clients) setReading(c *net.UnixConn, reading bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if reading {
		cs.reading[c] = time.Now()
	} else {
		delete(cs.reading, c)
	}
}

// leave counts c out.
func (cs *clients) leave(c *net.UnixConn) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	delete(cs.reading, c)
	cs.n--
	cs.room.Signal()
}

func (m *Monitor) serve() {
	timeout := m.requestTimeout
	if timeout == 0 {
		timeout = requestTimeout
	}
	cs := newClients()
	for {
		c, err := m.ln.AcceptUnix()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			m.o.Log.Warnf("accept on command socket: %v", err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		// The peer is checked before anything it sent is read: only root
		// (or the monitor's own user) may command a monitor. The socket's
		// directory already keeps everyone else out; this holds even if
		// that directory is ever shared into a container, or a container
		// runs on the host's root filesystem.
		if err := CheckPeer(c); err != nil {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			_, _ = c.Write([]byte(`{"error":"permission denied"}` + "\n"))
			c.Close()
			continue
		}
		cs.admit(c)
		go func() {
			m.handle(c, timeout, cs)
			c.Close()
			cs.leave(c)
		}()
	}
}

// handle serves one connection: requests one per line, answered in order,
// until the client hangs up or sends something that is not a request.
func (m *Monitor) handle(c *net.UnixConn, timeout time.Duration, cs *clients) {
	r := bufio.NewReaderSize(c, 512)
	for {
		// A client that connects and says nothing must not pin a slot.
		_ = c.SetReadDeadline(time.Now().Add(timeout))
		if cs != nil {
			cs.setReading(c, true)
		}
		line, err := readLine(r)
		if err != nil {
			if !errors.Is(err, errLineTooLong) {
				return
			}
			m.reply(c, &Response{Error: "request too long"}, -1)
			return
		}
		if cs != nil {
			cs.setReading(c, false)
		}
		var req Request
		if err := json.Unmarshal(line, &req); err != nil {
			m.reply(c, &Response{Error: "malformed request: " + err.Error()}, -1)
			return
		}
		if req.Command == "console" {
			m.serveConsole(c, r, &req)
			return
		}
		if req.Command == "watch" {
			m.serveWatch(c, r, &req)
			return
		}
		m.pending.Add(1)
		gone, stopWatch := watchHangup(c, r)
		resp, fd := m.dispatch(&req, gone)
		stopWatch()
		ok := m.reply(c, resp, fd)
		m.clientDone(&m.pending)
		// After STOPPED there is nothing left to ask, and the hang-up
		// tells a waiting lxc-stop that the teardown is over.
		if !ok || resp.State == Stopped {
			return
		}
	}
}

var errLineTooLong = errors.New("line too long")

func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, isPrefix, err := r.ReadLine()
		if err != nil {
			return nil, err
		}
		line = append(line, chunk...)
		if len(line) > maxRequest {
			return nil, errLineTooLong
		}
		if !isPrefix {
			return line, nil
		}
	}
}

func (m *Monitor) reply(c *net.UnixConn, resp *Response, fd int) bool {
	if fd >= 0 {
		return m.replyFDs(c, resp, []int{fd})
	}
	return m.replyFDs(c, resp, nil)
}

// replyFDs sends resp with fds (closed here) as SCM_RIGHTS.
func (m *Monitor) replyFDs(c *net.UnixConn, resp *Response, fds []int) bool {
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	b, err := json.Marshal(resp)
	if err != nil {
		return false
	}
	b = append(b, '\n')
	_ = c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if len(fds) > 0 {
		_, _, err = c.WriteMsgUnix(b, unix.UnixRights(fds...), nil)
	} else {
		_, err = c.Write(b)
	}
	return err == nil
}

// serveConsole answers "console" (lxc-console): the tty's descriptors go
// with the answer, and the connection then stays open for as long as the
// client holds the tty: its hang-up frees the tty, and the monitor hangs
// up when the container stops (or its init reboots), which tells the
// client that its tty is gone. The connection is no longer one a flood
// could pin: only root reaches this far.
func (m *Monitor) serveConsole(c *net.UnixConn, r *bufio.Reader, req *Request) {
	// A client that just hung up frees its tty once its handler has seen
	// the hang-up: a new lxc-console started right after it (a script's
	// next one) waits that moment rather than find the tty busy.
	for deadline := time.Now().Add(time.Second); req.TTY >= 0 && m.ttyHeld(req.TTY) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	resp, fds, release := m.takeTTY(req.TTY)
	if !m.replyFDs(c, resp, fds) || release == nil {
		if release != nil {
			release()
		}
		return
	}
	defer release()
	_ = c.SetReadDeadline(time.Time{})
	gone, stopWatch := watchHangup(c, r)
	defer stopWatch()
	started := resp.Started
	for {
		m.mu.Lock()
		over := m.state == Stopped || m.state == Aborting || m.started != started
		ch := m.changed
		m.mu.Unlock()
		if over {
			return
		}
		select {
		case <-ch:
		case <-gone:
			return
		}
	}
}

func (m *Monitor) info() *Response {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.infoLocked()
}

func (m *Monitor) infoLocked() *Response {
	r := &Response{State: m.state, Started: m.started}
	if m.proc != nil && (m.state == Running || m.state == Stopping || m.state == Frozen || m.state == Freezing || m.state == Thawed) {
		r.Pid = m.proc.Pid
	}
	if m.payload != nil {
		r.Cgroups = m.payload.Paths()
		r.Cgroup = m.payload.Name()
		if m.initGroup != m.payload {
			r.InitCgroup = m.initGroup.Name()
		}
	}
	if m.state == Stopped {
		r.Exit = int(m.exit)
	}
	return r
}

// dispatch runs one request; a returned fd >= 0 is sent with the answer
// and closed.
func (m *Monitor) dispatch(req *Request, gone <-chan struct{}) (*Response, int) {
	switch req.Command {
	case "state":
		return m.stateInfo(), -1
	case "pidfd":
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.proc == nil || m.proc.PidFD < 0 || m.state != Running && m.state != Frozen && m.state != Thawed {
			return &Response{Error: m.o.Name + " is not running", State: m.state}, -1
		}
		fd, err := unix.FcntlInt(uintptr(m.proc.PidFD), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return &Response{Error: "dup pidfd: " + err.Error()}, -1
		}
		return m.infoLocked(), fd
	case "stop", "kill":
		sig := syscall.Signal(req.Signal)
		timeout := time.Duration(req.TimeoutMS) * time.Millisecond
		if req.Command == "kill" {
			sig, timeout = syscall.SIGKILL, 0
		} else if req.DetectHalt {
			sig = m.haltSignal(sig)
		}
		if err := m.stop(sig, timeout); err != nil {
			return &Response{Error: err.Error(), State: m.info().State}, -1
		}
		if req.NoWait {
			return m.info(), -1
		}
		return m.waitFor([]string{Stopped}, -1, gone), -1
	case "reboot":
		return m.reboot(req, gone), -1
	case "seccomp":
		return m.confinement(), -1
	case "wait":
		return m.waitFor(req.States, time.Duration(req.TimeoutMS)*time.Millisecond, gone), -1
	case "console-buffer":
		return m.consoleBuffer(req.Clear), -1
	case "freeze":
		return m.freeze(time.Duration(req.TimeoutMS) * time.Millisecond), -1
	case "thaw":
		return m.thaw(), -1
	default:
		return &Response{Error: "unknown command " + req.Command}, -1
	}
}

// confinement answers "seccomp": the filter and no_new_privs of the spec
// the container runs with (it does not change while the monitor lives, a
// reboot included).
func (m *Monitor) confinement() *Response {
	spec, err := m.spec()
	if err != nil {
		return &Response{Error: err.Error()}
	}
	r := &Response{}
	if spec.Seccomp != nil {
		r.Seccomp, r.SeccompNesting = spec.Seccomp.Program, spec.Seccomp.AllowNesting
	}
	if p := spec.OCI.Process; p != nil {
		r.NoNewPrivs = p.NoNewPrivileges
	}
	return r
}

// waitFor answers once the state is one of states, or after timeout (<= 0:
// no limit) with the state it is in.
func (m *Monitor) waitFor(states []string, timeout time.Duration, gone <-chan struct{}) *Response {
	return m.await(timeout, gone, "timed out waiting for state", func() (*Response, bool) {
		for _, s := range states {
			if m.state == s {
				return m.infoLocked(), true
			}
		}
		if m.state == Stopped {
			// The monitor is about to exit: no other state will come.
			r := m.infoLocked()
			r.Error = m.o.Name + " stopped"
			return r, true
		}
		return nil, false
	})
}

// await answers with what done (called with m.mu held) returns once it
// says ready, checking at every state change; or when the client hangs up,
// or after timeout (<= 0: no limit).
func (m *Monitor) await(timeout time.Duration, gone <-chan struct{}, timeoutMsg string, done func() (*Response, bool)) *Response {
	var deadline <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		deadline = t.C
	}
	for {
		m.mu.Lock()
		r, ok := done()
		ch := m.changed
		m.mu.Unlock()
		if ok {
			return r
		}
		select {
		case <-ch:
		case <-gone:
			return &Response{Error: "client hung up"}
		case <-deadline:
			r := m.info()
			r.Error = timeoutMsg
			return r
		}
	}
}

func (m *Monitor) reboot(req *Request, gone <-chan struct{}) *Response {
	m.mu.Lock()
	if m.state != Running || m.proc == nil {
		m.mu.Unlock()
		return &Response{Error: m.o.Name + " is not running"}
	}
	before := m.started
	err := m.proc.Signal(syscall.Signal(req.Signal))
	m.mu.Unlock()
	if err != nil {
		return &Response{Error: err.Error()}
	}
	if req.NoWait {
		return m.info()
	}
	return m.await(time.Duration(req.TimeoutMS)*time.Millisecond, gone, "timed out waiting for "+m.o.Name+" to reboot", func() (*Response, bool) {
		switch {
		case m.state == Stopped:
			r := m.infoLocked()
			r.Error = m.o.Name + " stopped instead of rebooting"
			return r, true
		case m.state == Running && m.started != before:
			return m.infoLocked(), true
		}
		return nil, false
	})
}

// watchHangup returns a channel closed when the client hangs up while its
// request is being served (a waiting client that went away must not pin
// the request until a state that may never come). It peeks, so a request
// the client sends next is not consumed; stop ends the watch.
func watchHangup(c *net.UnixConn, r *bufio.Reader) (gone <-chan struct{}, stop func()) {
	ch := make(chan struct{})
	done := make(chan struct{})
	rc, err := c.SyscallConn()
	if err != nil || r.Buffered() > 0 {
		close(done)
		return ch, func() {}
	}
	go func() {
		defer close(done)
		var b [1]byte
		_ = rc.Read(func(fd uintptr) bool {
			n, _, err := unix.Recvfrom(int(fd), b[:], unix.MSG_PEEK|unix.MSG_DONTWAIT)
			if err == unix.EAGAIN {
				return false
			}
			if n == 0 || err != nil {
				close(ch)
			}
			return true
		})
	}()
	return ch, func() {
		// A deadline in the past wakes the watcher without consuming.
		_ = c.SetReadDeadline(time.Unix(1, 0))
		<-done
		_ = c.SetReadDeadline(time.Time{})
	}
}
