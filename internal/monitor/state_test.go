package monitor

import (
	"strings"
	"testing"
	"time"
)

// TestServeWatch: a watcher is told every state change once, in order,
// even several that come between two of its wake-ups, and the stream ends
// after STOPPED; without history it starts with the current state.
func TestServeWatch(t *testing.T) {
	s := startServer(t, Starting)
	s.m.setState(Running) // seq 1
	withHistory, now := s.dial(t), s.dial(t)
	type result struct {
		states []string
		err    error
	}
	watch := func(c *Conn, history bool) chan result {
		ch := make(chan result, 1)
		go func() {
			var got []string
			var seqs []uint64
			err := c.Watch(history, time.Now().Add(20*time.Second), func(r *Response) bool {
				got = append(got, r.State)
				seqs = append(seqs, r.Seq)
				return true
			})
			for i := 1; i < len(seqs); i++ {
				if seqs[i] != seqs[i-1]+1 {
					got = append(got, "GAP")
				}
			}
			ch <- result{got, err}
		}()
		return ch
	}
	a, b := watch(withHistory, true), watch(now, false)
	if !waitUntilTrue(5*time.Second, func() bool { return s.m.watchers.Load() == 2 }) {
		t.Fatal("watchers not registered")
	}
	// All at once, under one lock: a watcher wakes once for all of them.
	s.m.mu.Lock()
	for _, st := range []string{Freezing, Frozen, Thawed, Running, Stopping, Stopped} {
		s.m.setStateLocked(st)
	}
	s.m.mu.Unlock()
	want := "FREEZING FROZEN THAWED RUNNING STOPPING STOPPED"
	if r := <-a; r.err != nil || strings.Join(r.states, " ") != "RUNNING "+want {
		t.Errorf("watch with history: %v, %v; want RUNNING %s", r.states, r.err, want)
	}
	if r := <-b; r.err != nil || strings.Join(r.states, " ") != "RUNNING "+want {
		t.Errorf("watch from now: %v, %v; want the current RUNNING then %s", r.states, r.err, want)
	}
	if !waitUntilTrue(5*time.Second, func() bool { return s.m.watchers.Load() == 0 }) {
		t.Error("watchers still counted after STOPPED")
	}
}

// TestHistoryBounded: a container that reboots in a loop does not grow
// the history without end.
func TestHistoryBounded(t *testing.T) {
	m := newTestMonitor("c1", Running)
	for i := 0; i < 10*maxHistory; i++ {
		m.setState(Starting)
		m.setState(Running)
	}
	if len(m.history) != maxHistory || m.history[len(m.history)-1].seq != m.seq {
		t.Errorf("history holds %d changes (last %d of %d), want the last %d", len(m.history), m.history[len(m.history)-1].seq, m.seq, maxHistory)
	}
}

// TestFreezeNotRunning: freeze and thaw refuse a container that is not
// running, and do nothing to one already there.
func TestFreezeNotRunning(t *testing.T) {
	for _, st := range []string{Starting, Stopping, Stopped} {
		m := newTestMonitor("c1", st)
		if r := m.freeze(time.Second); r.Error == "" || m.state != st {
			t.Errorf("freeze in %s: %+v, state %s; want an error and no change", st, r, m.state)
		}
		if r := m.thaw(); r.Error == "" || m.state != st {
			t.Errorf("thaw in %s: %+v, state %s; want an error and no change", st, r, m.state)
		}
	}
	m := newTestMonitor("c1", Running)
	if r := m.thaw(); r.Error != "" || m.seq != 0 {
		t.Errorf("thaw of a running container: %+v, %d changes; want nothing done", r, m.seq)
	}
	m = newTestMonitor("c1", Frozen)
	if r := m.freeze(time.Second); r.Error != "" || r.State != Frozen || m.seq != 0 {
		t.Errorf("freeze of a frozen container: %+v, %d changes; want nothing done", r, m.seq)
	}
}

func waitUntilTrue(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
	return true
}
