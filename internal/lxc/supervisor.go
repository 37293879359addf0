package lxc

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/network"
	"github.com/golxc/golxc/internal/pack"
)

// The shared monitor, the default: lxc-start -d hands the container to
// one process per lxcpath that runs the same per-container monitor code
// for all of them, so each more container costs its goroutines and
// buffers, not a Go process (about 1.3 MiB of private memory, against
// LXC's 0.4 MiB C monitor). Its death takes no container with it: init
// is not tied to its monitor, and the next tool re-adopts what it
// supervised (adopt.go). golxc.monitor = per-container in the system
// config gives each container a monitor process of its own, LXC's
// layout; so does lxc-start -p.

// SharedMonitorEnv overrides golxc.monitor: "1" is shared, "0"
// per-container.
const SharedMonitorEnv = "GOLXC_SHARED_MONITOR"

// useSharedMonitor says whether the detached container of req goes to
// the lxcpath's shared monitor. Some get one of their own whatever the
// setting: a pid file (lxc-start -p) asks for the container's own
// monitor's pid, as LXC writes it (a shared monitor's would name every
// container's); and what host hooks or network scripts leave running
// lives in the monitor's cgroup, which a monitor of its own empties at
// the stop (the shared one has none per container).
func useSharedMonitor(req *startRequest, host *HostFacts) (bool, error) {
	if req.PidFile != "" || hasHostHooks(req.Hooks) || slices.ContainsFunc(req.Network, func(i network.Iface) bool { return i.ScriptUp != "" || i.ScriptDown != "" }) {
		return false, nil
	}
	if !req.Adopt && host.defaultContext() != nil {
		// A start from another context (taskset, nice, setpriv, a
		// namespace of its own ...) gets a monitor of its own, a fork of
		// it as LXC's: the shared one would hand that context to the
		// lxcpath's other starts.
		return false, nil
	}
	switch os.Getenv(SharedMonitorEnv) {
	case "1":
		return true, nil
	case "0":
		return false, nil
	}
	sys, err := config.LoadSystem()
	if err != nil {
		return false, err
	}
	return sys.Monitor != config.MonitorPerContainer, nil
}

// hasHostHooks says whether h has a hook that runs on the host's side.
func hasHostHooks(h *monitor.HostHooks) bool {
	return h != nil && len(h.PreStart)+len(h.StartHost)+len(h.Stop)+len(h.PostStop) > 0
}

// supervisorName is the socket name of the shared monitor: not a valid
// container name, so it cannot clash with one.
const supervisorName = ".shared"

// supervisorIdle is how long a shared monitor with nothing to supervise
// stays, so that a stop and a start do not pay for a new process.
const supervisorIdle = 2 * time.Second

func supervisorPath(lxcpath string) string {
	return monitor.SocketPath(lxcpath, supervisorName)
}

// supervisorLock is held by the one shared monitor of an lxcpath for its
// life: the socket file of a holder that died is stale, and only the next
// holder removes it.
func supervisorLock(lxcpath string) *Container {
	return &Container{Name: supervisorName, LXCPath: lxcpath}
}

// startShared hands the start request and the container's lock to the
// lxcpath's shared monitor, starting that process first if none runs.
func (c *Container) startShared(req *startRequest, lock *Lock) error {
	var packed, plain []byte // the request as each kind of monitor takes it, made once
	packedNot := false       // the request cannot go packed
	encode := func(conn *net.UnixConn) (b []byte, err error) {
		if !packedNot && sameBinary(conn) {
			if packed == nil {
				packed, err = encodeStartRequest(req, true)
			}
			// Text that is not UTF-8 goes in JSON, which turns it into
			// U+FFFD, so that the monitor acts on what its record (JSON)
			// says, as for a tool of another build; as does a request
			// too big packed (an adoption's, its spec in JSON, grows by
			// a third in base64).
			switch {
			case errors.Is(err, pack.ErrNotUTF8), err == nil && len(packed) >= maxStartRequest:
				packed, err, packedNot = nil, nil, true
			default:
				return packed, err
			}
		}
		if plain == nil {
			if plain, err = encodeStartRequest(req, false); err == nil && len(plain) >= maxStartRequest {
				plain, err = nil, fmt.Errorf("the start request of %s is %d bytes, more than a shared monitor takes (%d)", c.Name, len(plain), maxStartRequest-1)
			}
		}
		return plain, err
	}
	deadline := time.Now().Add(10 * time.Second)
	var spawned time.Time
	for {
		conn, err := monitor.DialPath(supervisorPath(c.LXCPath), "the shared monitor of "+c.LXCPath)
		if err == nil {
			b, err := encode(conn.UnixConn())
			if err != nil {
				conn.Close()
				return err
			}
			err = handStart(conn.UnixConn(), b, lock)
			conn.Close()
			if !errors.Is(err, errHungUp) {
				return err
			}
			// Closed while our connection waited in its backlog (it was
			// going idle): a new one is needed.
			spawned = time.Time{}
		} else if !errors.Is(err, monitor.ErrNotRunning) {
			return err
		}
		// A new shared monitor waits for the lock of one that is going
		// away; one spawned a while ago that still does not answer lost
		// a race, and another is due.
		if time.Since(spawned) > time.Second {
			if err := spawnSupervisor(c.LXCPath); err != nil {
				return err
			}
			spawned = time.Now()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the shared monitor of %s does not answer", c.LXCPath)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// encodeStartRequest is req as a shared monitor reads it: packed whole,
// spec and all (for a monitor of this binary), or in JSON.
func encodeStartRequest(req *startRequest, packed bool) ([]byte, error) {
	r := *req
	r.PackedSpec, r.PackedRequest = nil, nil
	if packed {
		return packStartRequest(&r)
	}
	if len(r.Spec) == 0 && r.spec != nil {
		j, err := json.Marshal(r.spec)
		if err != nil {
			return nil, fmt.Errorf("encode the spec of %s: %w", r.Name, err)
		}
		r.Spec = j
	}
	b, err := json.Marshal(&r)
	if err != nil {
		return nil, fmt.Errorf("encode the start request of %s: %w", r.Name, err)
	}
	return b, nil
}

// packStartRequest is the line for a shared monitor of this binary:
// {"packedRequest":"BASE64"}, the request in pack's form, its spec
// packed inside it (unless it has only the JSON of a record's). Written
// by hand: no JSON encoder is learnt at all.
func packStartRequest(r *startRequest) ([]byte, error) {
	if len(r.Spec) == 0 && r.spec != nil {
		p, err := pack.MarshalUTF8(r.spec)
		if err != nil {
			return nil, fmt.Errorf("encode the spec of %s: %w", r.Name, err)
		}
		r.PackedSpec = p
	}
	p, err := pack.MarshalUTF8(r)
	if err != nil {
		return nil, fmt.Errorf("encode the start request of %s: %w", r.Name, err)
	}
	const head, tail = `{"packedRequest":"`, `"}`
	b := make([]byte, 0, len(head)+base64.StdEncoding.EncodedLen(len(p))+len(tail))
	b = append(b, head...)
	b = base64.StdEncoding.AppendEncode(b, p)
	return append(b, tail...), nil
}

// decodeStartRequest is the shared monitor's read of a start request, in
// one of two forms: JSON, spec and all (from a tool of another build);
// or packed whole, with nothing next to it, its spec packed inside
// (from a tool of this very binary). Any mix is refused. A packed spec
// is unpacked, and kept in JSON as well for the record, which outlives
// this binary (an adoption after an upgrade reads it).
func decodeStartRequest(data []byte) (*startRequest, error) {
	req := &startRequest{}
	if err := json.Unmarshal(data, req); err != nil {
		return nil, err
	}
	req.came = "in JSON"
	packed := req.PackedRequest != nil
	if packed {
		outer := *req
		outer.PackedRequest, outer.came = nil, ""
		if !reflect.DeepEqual(outer, startRequest{}) {
			return nil, fmt.Errorf("the start request%s has fields next to its packed form", ofName(req.Name))
		}
		// Text that is not UTF-8 is refused: the record, in JSON, would
		// say U+FFFD where the monitor acted on the bytes (a tool of this
		// binary sends such a request in JSON).
		inner := &startRequest{}
		if err := pack.UnmarshalUTF8(req.PackedRequest, inner); err != nil {
			// What decoded before the error may name it.
			return nil, fmt.Errorf("the packed start request%s: %w", ofName(inner.Name), err)
		}
		if inner.PackedRequest != nil {
			return nil, fmt.Errorf("the packed start request%s has another packed inside", ofName(inner.Name))
		}
		req = inner
		req.came = "in JSON, inside a packed request (a tool of this binary)"
	} else if req.PackedSpec != nil {
		return nil, fmt.Errorf("the start request%s has a packed spec outside a packed request", ofName(req.Name))
	}
	if req.PackedSpec == nil {
		if packed && len(req.Spec) > 0 && !json.Valid(req.Spec) {
			// JSON's decoder checked it in the other form; the record
			// must read back.
			return nil, fmt.Errorf("the packed start request%s has a spec that is not JSON", ofName(req.Name))
		}
		return req, nil
	}
	if len(req.Spec) > 0 {
		return nil, fmt.Errorf("the start request%s has its spec both in JSON and packed", ofName(req.Name))
	}
	req.spec, req.came = new(containerinit.Spec), "packed, inside a packed request (a tool of this binary)"
	if err := pack.UnmarshalUTF8(req.PackedSpec, req.spec); err != nil {
		return nil, fmt.Errorf("the packed spec%s: %w", ofName(req.Name), err)
	}
	j, err := json.Marshal(req.spec)
	if err != nil {
		return nil, fmt.Errorf("the spec%s in JSON, for its record: %w", ofName(req.Name), err)
	}
	req.Spec, req.PackedSpec = j, nil
	return req, nil
}

// ofName is " of NAME" for an error about a request for container name:
// quoted if it is not plain text (it is checked after the decode), none
// if unknown.
func ofName(name string) string {
	if name == "" {
		return ""
	}
	if q := strconv.Quote(name); q[1:len(q)-1] != name {
		return " of " + q
	}
	return " of " + name
}

// sameBinary reports whether the peer of conn runs this very binary: the
// same file (device and inode) as /proc/self/exe. An upgrade installs a
// new file, and a shared monitor started before it runs the old one (its
// /proc/PID/exe names the old, deleted, inode), so a monitor of another
// build is never sent pack's form, whose layout is this build's.
func sameBinary(conn *net.UnixConn) bool {
	rc, err := conn.SyscallConn()
	if err != nil {
		return false
	}
	var cred *unix.Ucred
	var credErr error
	if err := rc.Control(func(fd uintptr) {
		cred, credErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil || credErr != nil || cred == nil || cred.Pid <= 0 {
		return false
	}
	var self, peer unix.Stat_t
	if unix.Stat("/proc/self/exe", &self) != nil || unix.Stat("/proc/"+strconv.Itoa(int(cred.Pid))+"/exe", &peer) != nil {
		return false
	}
	return self.Dev == peer.Dev && self.Ino == peer.Ino
}

// errHungUp says the shared monitor closed the connection without reading
// the request: it was shutting down.
var errHungUp = errors.New("the shared monitor hung up")

// handStart sends one start request with the lock's descriptor and reads
// the answer: "OK" once the container runs, "ACK" first once the request
// is taken (so a hang-up before it means "not taken"), or "ERR <reason>",
// before the ACK for a request refused.
func handStart(conn *net.UnixConn, req []byte, lock *Lock) error {
	fds := []int{int(lock.File().Fd())}
	for _, r := range lock.reserved {
		fds = append(fds, int(r.Fd()))
	}
	msg := append(req, '\n')
	n, _, err := conn.WriteMsgUnix(msg, unix.UnixRights(fds...), nil)
	if err != nil {
		return errHungUp
	}
	// A stream socket takes what fits its buffer (~110 KiB of a larger
	// message here), and Go says so only by the count: the rest follows
	// (the descriptors went with the first part).
	if n < len(msg) {
		if _, err := conn.Write(msg[n:]); err != nil {
			return errHungUp
		}
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "ERR "); ok {
		// Refused before it was taken (a bad request, no room left):
		// asking again, or another monitor, would not help.
		return errors.New(rest)
	}
	if strings.TrimSpace(line) != "ACK" {
		return errHungUp
	}
	line, err = r.ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "OK":
		return nil
	case strings.HasPrefix(line, "ERR "):
		return errors.New(strings.TrimPrefix(line, "ERR "))
	default:
		return fmt.Errorf("the shared monitor hung up before the container started (%v)", err)
	}
}

func spawnSupervisor(lxcpath string) error {
	cmd := exec.Command("/proc/self/exe")
	cmd.Args = []string{MonitorTitlePrefix + lxcpath + " (shared)"}
	// Several Ps, unlike a container's own monitor (one P, thousands of
	// them): starts come to it at once (lxc-autostart, containerd, a
	// parallel script) and each does much of its work in Go. An
	// autostart of 1000 on 2 cores took 12.5 s against 15.9 s with one
	// (medians of 8 interleaved runs), for ~0.6 ms more of its CPU a
	// start (a second P marks too). At most 4: its Go work is a small
	// part of a start, and each P's caches and mark worker cost memory
	// and CPU on a large host.
	procs := min(runtime.NumCPU(), 4)
	cmd.Env = []string{"PATH=" + defaultPath, "GOMAXPROCS=" + strconv.Itoa(procs), StageEnv + "=" + SupervisorStage, SupervisorPathEnv + "=" + lxcpath}
	if p := os.Getenv(config.SystemConfigEnv); p != "" {
		// Its cgroup follows the system config's lxc.cgroup.use.
		cmd.Env = append(cmd.Env, config.SystemConfigEnv+"="+p)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the shared monitor: %w", err)
	}
	// It outlives this tool; PID 1 reaps it.
	return cmd.Process.Release()
}

// RunSupervisor is the body of the shared monitor of lxcpath. It serves
// start requests until it has had nothing to supervise for a while.
func RunSupervisor(lxcpath string) int {
	_ = os.Chdir("/")
	// The host's defaults, not its spawner's, for every start it serves.
	_ = resetContext()
	if !filepath.IsAbs(lxcpath) || filepath.Clean(lxcpath) != lxcpath {
		return 1
	}
	// One per lxcpath: the lock says which. One that is going away (idle)
	// still holds it for a moment; after that, another has won.
	var held *Lock
	for deadline := time.Now().Add(3 * time.Second); held == nil; {
		l, err := supervisorLock(lxcpath).TryLock()
		if err == nil {
			held = l
			break
		}
		if err != ErrLocked || time.Now().After(deadline) {
			return 1
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The lock file goes with the last holder (held while it is removed).
	defer func() {
		held.remove()
		held.Release()
	}()
	if _, err := monitor.PrepareSocketDir(); err != nil {
		return 1
	}
	ln, err := monitor.Listen(supervisorPath(lxcpath))
	if err != nil {
		return 1
	}
	// Out of the caller's cgroup, as a per-container monitor is: the end
	// of the session that started the first container must not take
	// every container with it.
	// Only in the hierarchies lxc.cgroup.use names: a container's init
	// inherits the monitor's cgroup in the others.
	if layout, err := hostLayout(); err == nil {
		if g, err := layout.CreateGroup("lxc.monitor.", "golxc-shared"); err == nil {
			if err := g.Enter(os.Getpid()); err == nil {
				defer func() {
					_ = layout.EnterBase(os.Getpid())
					_ = g.Destroy()
				}()
			} else {
				_ = g.Destroy()
			}
		}
	}
	var (
		mu     sync.Mutex
		active int
		idle   = make(chan struct{}, 1)
		served = make(chan struct{})
	)
	// What a container's start or end frees goes back to the host once
	// the starts and stops pause (trimmer). Its live heap is ~20 KiB a
	// container. Collecting at 50% growth instead of 100% halves the
	// garbage it holds between collections (and the 4 MiB heap it would
	// grow to before a first one); lower, the marking of a large heap
	// (20 MiB at 1000 containers) would come every few starts and slow a
	// loop of them.
	debug.SetGCPercent(50)
	layouts := newLayoutCache()
	defer layouts.Close()
	trim, stopTrims := trimmer(debug.FreeOSMemory, trimQuiet, trimLatest)
	defer stopTrims()
	// Idle from the start: if the lxc-start that spawned it never
	// connects, it must not live for ever.
	idle <- struct{}{}
	// run does one piece of work (an adoption, a start) counted as
	// active: the last to end tells idle.
	run := func(work func()) {
		mu.Lock()
		active++
		mu.Unlock()
		go func() {
			work()
			// Before the count drops: the last one lets this func return.
			trim()
			mu.Lock()
			active--
			if active == 0 {
				select {
				case idle <- struct{}{}:
				default:
				}
			}
			mu.Unlock()
		}()
	}
	// A shared monitor before this one may have been killed: what it
	// supervised runs on. Each is adopted now, not at the next tool's
	// call; those another process is adopting (their lock held) are left
	// to it.
	for _, c := range orphans(lxcpath) {
		lock, err := c.TryLock()
		if err != nil {
			continue
		}
		run(func() { c.adoptShared(lock, layouts) })
	}
	go func() {
		defer close(served)
		for {
			conn, err := ln.AcceptUnix()
			if errors.Is(err, net.ErrClosed) {
				return
			}
			if err != nil {
				// Out of descriptors (EMFILE) for a moment, say: the
				// starts queued in the backlog are served once some
				// are freed, not left for good.
				time.Sleep(10 * time.Millisecond)
				continue
			}
			run(func() { serveStart(conn, lxcpath, trim, layouts) })
		}
	}()
	for {
		<-idle
		time.Sleep(supervisorIdle)
		mu.Lock()
		if active == 0 {
			ln.Close()
			mu.Unlock()
			break
		}
		mu.Unlock()
	}
	<-served
	// Requests accepted just before the close are served to the end.
	for {
		mu.Lock()
		n := active
		mu.Unlock()
		if n == 0 {
			return 0
		}
		<-idle
	}
}

// trimQuiet is how long the starts and stops must pause before what
// they freed is given back; trimLatest bounds how long a trim waits for
// such a pause.
const (
	trimQuiet  = time.Second
	trimLatest = 10 * time.Second
)

// trimmer returns trim, which asks for free (a full collection that
// gives the free memory back to the host) once trim has not been called
// for quiet, or at the latest most after the wait for such a pause
// began; stop ends it. A full collection marks every container's
// goroutines and heap: at one a second, as before, it was a seventh of a
// shared monitor's collections during an autostart of 1000.
func trimmer(free func(), quiet, most time.Duration) (trim, stop func()) {
	asked := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-asked:
			case <-done:
				return
			}
			latest := time.NewTimer(most)
			pause := time.NewTimer(quiet)
		wait:
			for {
				select {
				case <-asked:
					pause.Reset(quiet)
				case <-pause.C:
					break wait
				case <-latest.C:
					break wait
				case <-done:
					pause.Stop()
					latest.Stop()
					return
				}
			}
			pause.Stop()
			latest.Stop()
			free()
		}
	}()
	trim = func() {
		select {
		case asked <- struct{}{}:
		default:
		}
	}
	return trim, sync.OnceFunc(func() { close(done) })
}

// serveStart runs one container, from its start request to its stop. The
// request is taken only from root (or this process's user), only for a
// valid container of this lxcpath, and only with the container's lock,
// held. trim is called once the container runs (or failed to): the
// garbage of its start goes back to the host with the next trim, not at
// the collector's and scavenger's pace.
func serveStart(conn *net.UnixConn, lxcpath string, trim func(), layouts *layoutCache) {
	defer conn.Close()
	if err := monitor.CheckPeer(conn); err != nil {
		// Nothing the peer sent has been read.
		return
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	// A busybox container's request is ~2 KiB; a longer one is read on
	// below.
	buf := make([]byte, 8<<10)
	// Room for the lock and every reserved name: a short buffer would
	// truncate the message and drop the names (LXC could then start a
	// copy of the container).
	oob := make([]byte, unix.CmsgSpace(4*(1+maxReserved)))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil || oobn == 0 {
		return
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if got, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	// The lock, then the names of LXC's socket the start reserved: only
	// sockets are kept.
	if len(fds) == 0 || len(fds) > 1+maxReserved || !allSockets(fds[1:]) {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return
	}
	lockFD := fds[0]
	reserved := fds[1:]
	closeReserved := func() {
		for _, fd := range reserved {
			unix.Close(fd)
		}
	}
	data := buf[:n]
	r := bufio.NewReader(io.LimitReader(conn, maxStartRequest))
	for bytes.IndexByte(data, '\n') < 0 {
		more, err := r.ReadBytes('\n')
		data = append(data, more...)
		if err != nil {
			break
		}
	}
	_ = conn.SetReadDeadline(time.Time{})
	req, err := decodeStartRequest(data)
	if err != nil {
		unix.Close(lockFD)
		closeReserved()
		fmt.Fprintf(conn, "ERR decode start request: %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		return
	}
	c, err := checkStartRequest(req, lxcpath, lockFD)
	if err == nil && !req.Adopt {
		// Refused while the stops and queries of the running ones can
		// still be served (fdroom.go). Not an adoption: its container
		// runs already, and refused it would stay without a monitor.
		err = monitorFDRoom(lxcpath)
	}
	if err != nil {
		unix.Close(lockFD)
		closeReserved()
		fmt.Fprintf(conn, "ERR %v\n", err)
		return
	}
	req.Shared = true
	if l, err := layouts.get(); err == nil {
		req.detected = l
	}
	lock := &Lock{f: os.NewFile(uintptr(lockFD), c.lockPath())}
	for _, fd := range reserved {
		lock.reserved = append(lock.reserved, os.NewFile(uintptr(fd), "reserved"))
	}
	if _, err := fmt.Fprintln(conn, "ACK"); err != nil {
		lock.Release()
		return
	}
	defer func() {
		if !c.Defined() {
			lock.remove()
		}
		lock.Release()
	}()
	ready := func(err error) {
		if err != nil {
			fmt.Fprintf(conn, "ERR %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprintln(conn, "OK")
		}
		conn.Close()
		trim()
	}
	_, _ = runMonitor(req, nil, nil, ready)
}

// maxStartRequest bounds a start request (its spec included).
const maxStartRequest = 4 << 20

// checkStartRequest validates what a start request names before anything
// acts on it: a container name (no path), this shared monitor's lxcpath,
// and a descriptor that is that container's lock file, locked. A name
// like "../x" would otherwise make the teardown remove a file of its
// choosing.
func checkStartRequest(req *startRequest, lxcpath string, lockFD int) (*Container, error) {
	if err := ValidateName(req.Name); err != nil {
		return nil, err
	}
	if req.LXCPath != lxcpath {
		return nil, fmt.Errorf("start request for lxcpath %q sent to the shared monitor of %s", req.LXCPath, lxcpath)
	}
	c := &Container{Name: req.Name, LXCPath: lxcpath}
	p := c.lockPath()
	var got, want unix.Stat_t
	if err := unix.Fstat(lockFD, &got); err != nil {
		return nil, fmt.Errorf("check the lock of %s: %w", req.Name, err)
	}
	if err := unix.Lstat(p, &want); err != nil {
		return nil, fmt.Errorf("check the lock of %s: %w", req.Name, err)
	}
	if got.Mode&unix.S_IFMT != unix.S_IFREG || got.Dev != want.Dev || got.Ino != want.Ino {
		return nil, fmt.Errorf("the descriptor sent with the start of %s is not its lock file %s", req.Name, p)
	}
	// Held: a second open description of the file cannot take it.
	probe, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("check the lock of %s: %w", req.Name, err)
	}
	defer probe.Close()
	if err := unix.Flock(int(probe.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != unix.EWOULDBLOCK {
		return nil, fmt.Errorf("the start of %s came without its lock held", req.Name)
	}
	return c, nil
}

// allSockets reports whether every fd is a socket.
func allSockets(fds []int) bool {
	for _, fd := range fds {
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFSOCK {
			return false
		}
	}
	return true
}
