package monitor

import (
	"bufio"
	"context"
	"net"
	"time"
)

// maxHistory bounds the state changes a monitor keeps for "watch": a
// container that reboots in a loop must not grow it without end. A
// container's life from start to stop is a handful.
const maxHistory = 64

// freezeTimeout bounds a freeze when the client gives none: a task stuck
// in the kernel can keep a group FREEZING for ever.
const freezeTimeout = 10 * time.Second

// transition is one state change, numbered.
type transition struct {
	seq   uint64
	state string
	time  int64
}

// setStateLocked records state s (m.mu held) and wakes everyone waiting
// on a change. Every change is recorded, a repeat of the same state
// included (a reboot's RUNNING after RUNNING is one).
func (m *Monitor) setStateLocked(s string) {
	m.state = s
	m.seq++
	m.history = append(m.history, transition{seq: m.seq, state: s, time: time.Now().UnixNano()})
	if len(m.history) > maxHistory {
		m.history = append(m.history[:0:0], m.history[len(m.history)-maxHistory:]...)
	}
	close(m.changed)
	m.changed = make(chan struct{})
}

// serveWatch answers "watch" (lxc-monitor, lxc-wait): one line per state
// change, in order and each once, until STOPPED or the client hangs up.
// Changes are taken from the history by number, so two that come between
// two wake-ups (FREEZING then FROZEN) are both told.
func (m *Monitor) serveWatch(c *net.UnixConn, r *bufio.Reader, req *Request) {
	_ = c.SetReadDeadline(time.Time{})
	gone, stopWatch := watchHangup(c, r)
	defer stopWatch()
	m.mu.Lock()
	var last uint64
	if !req.History && m.seq > 0 {
		last = m.seq - 1 // the current state first
	}
	// Counted from the moment its starting point is fixed.
	m.watchers.Add(1)
	m.mu.Unlock()
	defer m.clientDone(&m.watchers)
	for {
		m.mu.Lock()
		var out []transition
		for _, t := range m.history {
			if t.seq > last {
				out = append(out, t)
			}
		}
		ch := m.changed
		m.mu.Unlock()
		for _, t := range out {
			last = t.seq
			if !m.reply(c, &Response{State: t.state, Seq: t.seq, Time: t.time}, -1) {
				return
			}
			if t.state == Stopped {
				return
			}
		}
		select {
		case <-ch:
		case <-gone:
			return
		}
	}
}

// freeze answers "freeze" (lxc-freeze): FREEZING, then FROZEN once every
// task is stopped; back to RUNNING if the kernel does not get there in
// time. A frozen container answers at once: a repeat is harmless.
func (m *Monitor) freeze(timeout time.Duration) *Response {
	m.freezeMu.Lock()
	defer m.freezeMu.Unlock()
	m.mu.Lock()
	switch {
	case m.state == Frozen:
		defer m.mu.Unlock()
		return m.infoLocked()
	case m.state != Running || m.payload == nil:
		defer m.mu.Unlock()
		return &Response{Error: m.o.Name + " is not running", State: m.state}
	}
	m.setStateLocked(Freezing)
	m.mu.Unlock()
	if timeout <= 0 {
		timeout = freezeTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	err := m.payload.Freeze(ctx)
	cancel()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != Freezing {
		// Stopped meanwhile: its thaw may have come before this
		// freeze took hold, and a frozen init never gets the halt.
		if err == nil {
			_ = m.payload.Thaw()
		}
		return &Response{Error: m.o.Name + " is " + m.state + ", not frozen", State: m.state}
	}
	if err != nil {
		m.setStateLocked(Running)
		return &Response{Error: "freeze " + m.o.Name + ": " + err.Error(), State: m.state}
	}
	m.setStateLocked(Frozen)
	return m.infoLocked()
}

// thaw answers "thaw" (lxc-unfreeze): THAWED, then RUNNING once the tasks
// run again, as LXC tells them. A running container answers at once.
func (m *Monitor) thaw() *Response {
	m.freezeMu.Lock()
	defer m.freezeMu.Unlock()
	m.mu.Lock()
	switch {
	case m.state == Running:
		defer m.mu.Unlock()
		// Frozen by hand (lxc-cgroup cgroup.freeze 1): thawed all the
		// same, as the user asks.
		if m.payload != nil {
			if frozen, err := m.payload.Frozen(); err == nil && frozen {
				if err := m.payload.Thaw(); err != nil {
					return &Response{Error: "unfreeze " + m.o.Name + ": " + err.Error(), State: m.state}
				}
			}
		}
		return m.infoLocked()
	case m.state != Frozen || m.payload == nil:
		defer m.mu.Unlock()
		return &Response{Error: m.o.Name + " is not running", State: m.state}
	}
	m.setStateLocked(Thawed)
	m.mu.Unlock()
	err := m.payload.Thaw()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.state != Thawed {
		return &Response{Error: m.o.Name + " is " + m.state, State: m.state}
	}
	if err != nil {
		m.setStateLocked(Frozen)
		return &Response{Error: "unfreeze " + m.o.Name + ": " + err.Error(), State: m.state}
	}
	m.setStateLocked(Running)
	return m.infoLocked()
}

// stateInfo answers "state": as info, but a RUNNING container whose
// cgroup was frozen by hand (lxc-cgroup cgroup.freeze 1, or from inside
// through a writable cgroup mount) is said FROZEN, as LXC's lxc-info
// reads it from the freezer: its tasks do not run.
func (m *Monitor) stateInfo() *Response {
	m.mu.Lock()
	defer m.mu.Unlock()
	r := m.infoLocked()
	if m.state == Running && m.payload != nil {
		if frozen, err := m.payload.Frozen(); err == nil && frozen {
			r.State = Frozen
		}
	}
	return r
}
