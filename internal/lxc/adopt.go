package lxc

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golxc/golxc/internal/monitor"
)

// A container outlives its monitor: kill -9 of a monitor, per-container
// or shared, or the OOM killer's choice of it, stops no container. The
// monitor keeps a record beside its command socket (monitor.Record); the
// next golxc tool that looks the container up (Recover), or the next
// shared monitor of its lxcpath, finds the record's monitor dead, takes
// the container's lock (the arbiter between two tools doing this at
// once: the loser waits for the winner's monitor) and either hands the
// container to a new monitor, which takes its init by pidfd once the pid
// proves to be that init still, or, init gone or never run, does what
// the container's stop does, itself.

// adoptWait bounds how long a tool waits for another to finish adopting
// a container (a new monitor's start-up: tens of ms on a quiet host).
const adoptWait = 10 * time.Second

// probeTimeout bounds recoverState's question to a monitor: one slower
// than this (a wedged one, or a shared monitor under a burst of starts)
// is judged by its record instead.
const probeTimeout = time.Second

// recoverState is Recover for a tool whose next step is to ask the
// monitor for the state (lxc-info): the question comes first, and its
// answer is returned (r, nil otherwise). A monitor that answers, past
// the peer check, with a settled state is alive and has its init:
// nothing to adopt, and the record and the monitor's /proc/PID/stat
// need not be read. STARTING may be a monitor still adopting (it listens
// before it has taken init, and tools must wait for it); that, a socket
// nobody answers on, a peer refused (a squatter on a dead monitor's
// path) or a monitor slow to answer is judged by the record, as Recover
// judges. Recover itself stays record first: lxc-ls and lxc-autostart
// call it for every container, and a question to each running one's
// monitor would cost them a round trip each.
func (c *Container) recoverState() (r *monitor.Response, removed bool) {
	if r, err := monitor.Ask(c.LXCPath, c.Name, monitor.Request{Command: "state"}, time.Now().Add(probeTimeout)); err == nil && r.State != monitor.Starting {
		return r, false
	}
	return nil, c.Recover()
}

// Recover adopts c if its monitor was killed (see above); it reports
// whether c was removed (an ephemeral container whose end it handled).
// An ephemeral container whose monitor died with no record (an older
// golxc's, or killed before it wrote one) is reaped as before.
func (c *Container) Recover() bool {
	rec, err := monitor.ReadRecord(c.LXCPath, c.Name)
	if err != nil {
		return c.ReapEphemeral()
	}
	if rec.Monitor.Alive() {
		return false
	}
	if err := rec.Foreign(); err != nil {
		// Dead monitor and init may only look so from here: the
		// container is left as it is, for a tool on the host.
		c.warnUnadopted(fmt.Sprintf("not adopted: %v", err))
		return false
	}
	if err := hostContext(); err != nil {
		// The monitor it would start carries this tool's state into the
		// container's life, and into other containers' starts.
		c.warnUnadopted(fmt.Sprintf("its monitor was killed; not adopted from here (%v): a golxc tool run from the host adopts it", err))
		return false
	}
	lock, err := c.TryLock()
	for deadline := time.Now().Add(adoptWait); errors.Is(err, ErrLocked); {
		// Another tool is adopting it, or the lxc-start whose monitor
		// died is cleaning up: wait for a live monitor or no record.
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
		if r, rerr := monitor.ReadRecord(c.LXCPath, c.Name); rerr != nil || r.Monitor.Alive() {
			return !c.Defined()
		}
		lock, err = c.TryLock()
	}
	if err != nil {
		return false
	}
	defer lock.Release()
	c.recoverLocked(lock)
	return !c.Defined()
}

// orphanRecord reads c's record and start request when its monitor is
// dead and this golxc can act on it: seen from the pid namespace it was
// written in, and naming c. Otherwise ok is false and the record is left
// to an operator rather than guessed at (the container's cgroup names
// it).
func (c *Container) orphanRecord() (rec *monitor.Record, req startRequest, ok bool) {
	rec, err := monitor.ReadRecord(c.LXCPath, c.Name)
	if err != nil || rec.Monitor.Alive() || rec.Foreign() != nil {
		return nil, req, false
	}
	if err := rec.LoadRequest(); err != nil {
		return nil, req, false
	}
	if err := json.Unmarshal(rec.Request, &req); err != nil || req.Name != c.Name || req.LXCPath != c.LXCPath {
		return nil, req, false
	}
	return rec, req, true
}

// recoverLocked adopts c if the record says its monitor is dead; the
// caller holds c's lock.
func (c *Container) recoverLocked(lock *Lock) {
	rec, req, ok := c.orphanRecord()
	if !ok {
		return
	}
	req.Adopt, req.Reserved = true, 0
	if rec.State == monitor.Running && rec.InitAlive() {
		c.reserveLXCNames(lock)
		shared, err := useSharedMonitor(&req, c.hostFacts)
		if err == nil {
			if shared {
				req.Shared = true
				err = c.startShared(&req, lock)
			} else {
				req.Shared = false
				err = c.daemonize(&req, lock)
			}
		}
		if err == nil {
			return
		}
		// The adopter found init gone and did the stop's work, or could
		// not run: nothing more here unless init is gone and its record
		// left (an init that lives is tried again by the next tool).
		if r, err := monitor.ReadRecord(c.LXCPath, c.Name); err != nil || r.Monitor.Alive() || r.InitAlive() {
			return
		}
	}
	// Init is gone, or the start was cut short: this tool does what the
	// stop does (it has no monitor cgroup to enter: Shared).
	req.Shared = true
	_, _ = supervise(&req, nil, nil)
}

// orphans are the containers of lxcpath whose record names a dead monitor.
func orphans(lxcpath string) []*Container {
	ents, err := os.ReadDir(monitor.SocketDir())
	if err != nil {
		return nil
	}
	var out []*Container
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".run") {
			continue
		}
		path := filepath.Join(monitor.SocketDir(), e.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		var r monitor.Record
		if json.Unmarshal(b, &r) != nil || r.LXCPath != lxcpath || ValidateName(r.Name) != nil || monitor.RecordPath(lxcpath, r.Name) != path || r.Monitor.Alive() || r.Foreign() != nil {
			continue
		}
		out = append(out, &Container{Name: r.Name, LXCPath: lxcpath})
	}
	return out
}

// adoptShared supervises c, whose monitor died, in this shared monitor
// until it stops (or does its stop's work if init is gone); lock is c's,
// held, and released here. A container that wants a monitor of its own
// (-p, host hooks; golxc.monitor = per-container) is left to the next
// tool.
func (c *Container) adoptShared(lock *Lock, layouts *layoutCache) {
	defer func() {
		if !c.Defined() {
			lock.remove()
		}
		lock.Release()
	}()
	_, req, ok := c.orphanRecord()
	if !ok {
		return
	}
	if shared, err := useSharedMonitor(&req, c.hostFacts); err != nil || !shared {
		return
	}
	req.Adopt, req.Shared, req.Reserved = true, true, 0
	if l, err := layouts.get(); err == nil {
		req.detected = l
	}
	c.reserveLXCNames(lock)
	_, _ = supervise(&req, nil, nil)
}

// dial is monitor.Dial for c, re-adopting c first when no monitor
// answers although its record names one: that monitor was killed (or is
// dying: a tool that came just after the kill must not say STOPPED).
// A container this tool may not adopt is ErrUnmonitored, not stopped.
func (c *Container) dial() (*monitor.Conn, error) {
	return askRecovering(c, func() (*monitor.Conn, error) { return monitor.Dial(c.LXCPath, c.Name) })
}

// ask is monitor.Ask for c, re-adopting c as dial does.
func (c *Container) ask(req monitor.Request, deadline time.Time) (*monitor.Response, error) {
	return askRecovering(c, func() (*monitor.Response, error) { return monitor.Ask(c.LXCPath, c.Name, req, deadline) })
}

// askRecovering runs try, and when no monitor of c answers (ErrNotRunning)
// re-adopts c and tries again if its record says it runs, or tells a
// container this tool may not adopt (ErrUnmonitored). With no record (a
// stopped container) the record is looked for once.
func askRecovering[T any](c *Container, try func() (T, error)) (T, error) {
	v, err := try()
	if !errors.Is(err, monitor.ErrNotRunning) {
		return v, err
	}
	again, recorded := c.readopt()
	if again {
		v, err = try()
	}
	if recorded && errors.Is(err, monitor.ErrNotRunning) {
		if u := c.unmonitored(); u != nil {
			var zero T
			return zero, u
		}
	}
	return v, err
}

// ErrUnmonitored is the error for a container whose monitor was killed
// and that this tool did not adopt (Recover says why: run from a mount,
// pid or other namespace not the host's, or without the host's
// capabilities) while its init still runs, or may run: no monitor
// answers, yet it is not stopped. Tools that would act on it refuse
// (lxc-destroy must not remove a running container's rootfs); lxc-info
// and lxc-ls show it running.
type ErrUnmonitored struct {
	Name  string
	State string // the record's
	Pid   int    // init's, when this tool can see it (0: another pid namespace's)
}

func (e *ErrUnmonitored) Error() string {
	return fmt.Sprintf("%s runs without a monitor (it was killed) and is adopted only by a golxc tool run from the host; nothing done", e.Name)
}

// unmonitored is ErrUnmonitored for c when its record names a dead
// monitor and an init that is alive or, recorded in another pid
// namespace, cannot be proved gone from here; nil otherwise.
func (c *Container) unmonitored() *ErrUnmonitored {
	rec, err := monitor.ReadRecord(c.LXCPath, c.Name)
	if err != nil || rec.Monitor.Alive() {
		return nil
	}
	u := &ErrUnmonitored{Name: c.Name, State: rec.State}
	if u.State == "" || u.State == monitor.Stopped {
		u.State = monitor.Running
	}
	if rec.Foreign() != nil {
		return u
	}
	if !rec.InitAlive() {
		return nil
	}
	u.Pid = rec.Init.Pid
	return u
}

// warnUnadopted prints, once per container and tool call, why Recover
// left c to another tool.
func (c *Container) warnUnadopted(msg string) {
	if c.warnedUnadopted {
		return
	}
	c.warnedUnadopted = true
	fmt.Fprintf(os.Stderr, "%s: %s: %s\n", filepath.Base(os.Args[0]), c.Name, msg)
}

// readopt is called when c's command socket refuses: a record then
// names a monitor that is dead or dying (a live one listens from before
// its record is written until after it is removed). It waits for that
// monitor to be gone, re-adopts c and says whether to ask again, and
// whether a record is there (none: c is stopped).
func (c *Container) readopt() (again, recorded bool) {
	rec, err := monitor.ReadRecord(c.LXCPath, c.Name)
	if err != nil {
		return false, false
	}
	for deadline := time.Now().Add(adoptWait); rec.Monitor.Alive(); time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			return false, true
		}
	}
	c.Recover()
	_, err = monitor.ReadRecord(c.LXCPath, c.Name)
	return err == nil, err == nil
}
