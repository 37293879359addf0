package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/containerinit"
)

// ErrInitGone is Ready's error for an adoption that found the container's
// init gone (or its start cut short): the container has been torn down as
// its stop would have done it.
var ErrInitGone = errors.New("init is gone: torn down")

// saveRecord writes the container's record as it is now: state Starting
// (cgroups made, no init yet) or Running (with init). A monitor without
// Options.Request keeps none. A Starting record that cannot be written
// is only warned of (the start's Running one is needed, and fails it);
// the error is returned for the caller to decide.
func (m *Monitor) saveRecord(state string) error {
	if !m.records {
		return nil
	}
	self, err := Self()
	if err != nil {
		err = fmt.Errorf("record of %s: %w", m.o.Name, err)
		m.o.Log.Warnf("%v", err)
		return err
	}
	r := &Record{LXCPath: m.o.LXCPath, Name: m.o.Name, State: state, Monitor: self, PidNS: PidNSOf("self")}
	m.mu.Lock()
	if state == Running {
		r.Init, r.Started = m.initID, m.started
	}
	if m.payload != nil {
		r.Payload = m.payload.Name()
		if m.initGroup != nil && m.initGroup != m.payload {
			r.InitCgroup = m.initGroup.Name()
		}
	}
	if m.self != nil {
		r.MonitorCgroup = m.self.Name()
	}
	r.Delegated = m.delegated
	r.Step = m.step
	m.mu.Unlock()
	m.mu.Lock()
	withRequest := !m.requestSaved
	r.Request = m.o.Request
	m.mu.Unlock()
	err = writeRecord(r, withRequest)
	if withRequest && err == nil {
		// On disk now: a shared monitor of many containers need not
		// keep every spec twice.
		m.mu.Lock()
		m.requestSaved, m.o.Request = true, nil
		m.mu.Unlock()
	}
	if err != nil {
		err = fmt.Errorf("%s: %w", m.o.Name, err)
		m.o.Log.Warnf("%v", err)
	}
	return err
}

// saveStep records that the stop's teardown reached step (see Record.Step).
func (m *Monitor) saveStep(step string) {
	m.mu.Lock()
	m.step = step
	m.mu.Unlock()
	_ = m.saveRecord(Running)
}

// runAdopted takes over the container of o.Adopt, whose monitor died:
// its cgroups, its init (if the recorded pid is still that init), its
// command socket; then supervises it to its end as Run does. An init
// that is gone, or a start that was cut short, gets what a stop does:
// stop and post-stop hooks, network teardown, cgroup removal, the
// ephemeral container's destroy.
func (m *Monitor) runAdopted() (int, error) {
	rec := m.o.Adopt
	m.setState(Starting)
	// The dead monitor's request is on disk.
	m.records, m.requestSaved, m.o.Request = true, true, nil
	ln, err := listen(m.o.LXCPath, m.o.Name)
	if err != nil {
		m.o.Ready(err)
		return 0, err
	}
	m.ln = ln
	go m.serve()
	defer m.ln.Close()
	layout, err := m.hostLayout()
	if err != nil {
		m.o.Ready(err)
		return 0, err
	}
	m.layout = layout.Use(m.o.CgroupDir.Use)
	m.delegated = rec.Delegated
	if rec.Payload != "" {
		if g, err := m.layout.AdoptGroup(rec.Payload); err == nil {
			m.payload, m.initGroup = g, g
			if rec.InitCgroup != "" {
				m.initGroup = m.layout.Group(rec.InitCgroup)
			}
		} else {
			m.o.Log.Warnf("%s: %v", m.o.Name, err)
		}
	}
	m.adoptMonitorCgroup(rec)
	// The host ends of its network, as the dead monitor recorded them.
	if b, err := os.ReadFile(m.networkRecord()); err == nil {
		if err := json.Unmarshal(b, &m.hostEnds); err != nil {
			m.o.Log.Warnf("%s: network record: %v", m.o.Name, err)
		}
	}
	// No LXC_PID until the pid is proved to be init's still: a dead
	// init's may name another process by now.
	m.hookRun = &hookRun{}
	var contains func(int) (bool, error)
	if m.initGroup != nil {
		contains = m.initGroup.Contains
	}
	fd, why := openInit(rec, contains)
	if errors.Is(why, ErrUnverified) {
		// Not proved gone: a live container is never torn down on a
		// guess. The record stays for the next tool.
		err := fmt.Errorf("%s: its monitor was killed and its init could not be checked, so it was neither adopted nor torn down: %w", m.o.Name, why)
		m.o.Log.Errorf("%v", err)
		m.o.Ready(err)
		return 0, err
	}
	if fd < 0 {
		m.setState(Stopping)
		if rec.Step == "" {
			m.o.Log.Infof("%s: its monitor was killed and %v: doing what its stop does", m.o.Name, why)
			m.networkDown()
			m.stopHooks("stop")
		} else {
			// Killed in its stop: the rest of it, from the step it was
			// at (that step again: it may not have finished).
			m.o.Log.Infof("%s: its monitor was killed in its stop, at its %s step: doing the rest", m.o.Name, rec.Step)
			m.step = rec.Step
		}
		m.teardown()
		m.o.Ready(fmt.Errorf("%s: %w", m.o.Name, ErrInitGone))
		return 0, nil
	}
	m.netPid = rec.Init.Pid
	if err := m.holdNamespaces(rec.Init.Pid); err != nil {
		m.o.Log.Warnf("%s: %v", m.o.Name, err)
	}
	if err := unix.PidfdSendSignal(fd, 0, nil, 0); err != nil {
		// Init exited while its namespaces were opened by pid: what
		// was opened may be another process's. The stop that follows
		// (waitExit returns at once) gets neither them nor its pid.
		for _, f := range m.hookRun.ns {
			f.Close()
		}
		m.hookRun = &hookRun{}
		m.netPid = 0
	}
	proc := &containerinit.Process{Pid: rec.Init.Pid, PidFD: fd}
	m.mu.Lock()
	m.proc, m.adopted, m.initID, m.started = proc, true, rec.Init, rec.Started
	m.initGone = make(chan struct{})
	m.mu.Unlock()
	state := Running
	if m.payload != nil {
		if frozen, err := m.payload.Frozen(); err == nil && frozen {
			state = Frozen
		}
	}
	// The state first: tools waiting on the re-adoption ask once the
	// record names this monitor, and must not hear STARTING.
	m.setState(state)
	// Warned of: the dead monitor's record stays, and the container's
	// lock, held here, keeps the next tool from acting on it.
	_ = m.saveRecord(Running)
	m.o.Log.Infof("%s: adopted its init (pid %d) after its monitor was killed; lost with it: its console and ttys, and its seccomp notify listener (a notified system call fails with ENOSYS until the container's next start)", m.o.Name, proc.Pid)
	defer m.routeSignals()()
	m.o.Ready(nil)
	waitExit(proc.PidFD)
	m.mu.Lock()
	m.initID = ProcID{}
	close(m.initGone)
	m.proc.Close()
	m.mu.Unlock()
	// Not its parent: PID 1 (or a subreaper) reaped it. A reboot
	// (SIGHUP) cannot be told from a halt, so it is a stop.
	m.o.Log.Infof("init of %s exited; its exit status is unknown to the monitor that adopted it (not its parent): taken as a stop", m.o.Name)
	m.networkDown()
	m.stopHooks("stop")
	m.teardown()
	return 0, nil
}

// adoptMonitorCgroup puts a per-container monitor into the monitor
// cgroup the dead one left (a new one if that is gone); a shared monitor
// or a tool has none, and removes a per-container monitor's stale one.
func (m *Monitor) adoptMonitorCgroup(rec *Record) {
	if m.o.Shared {
		if rec.MonitorCgroup != "" {
			if err := m.layout.RemoveStale(rec.MonitorCgroup); err != nil {
				m.o.Log.Warnf("remove the dead monitor's cgroup %s: %v", rec.MonitorCgroup, err)
			}
		}
		return
	}
	var self *cgroup.Group
	if rec.MonitorCgroup != "" {
		if g, err := m.layout.AdoptGroup(rec.MonitorCgroup); err == nil {
			self = g
		}
	}
	if self == nil {
		g, err := m.o.CgroupDir.create(m.layout, "monitor", m.o.Name)
		if err != nil {
			m.o.Log.Warnf("create monitor cgroup: %v", err)
			return
		}
		self = g
	}
	if err := self.Enter(os.Getpid()); err != nil {
		m.o.Log.Warnf("enter monitor cgroup: %v", err)
		_ = self.Destroy()
		return
	}
	m.self = self
}

// waitExit returns once the process of pidfd has exited (a pidfd polls
// readable then), waiting through Go's poller.
func waitExit(pidfd int) {
	exited := func() bool {
		fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		return err == nil && n > 0
	}
	if fd, err := unix.FcntlInt(uintptr(pidfd), unix.F_DUPFD_CLOEXEC, 0); err == nil {
		if err := unix.SetNonblock(fd, true); err == nil {
			f := os.NewFile(uintptr(fd), "pidfd")
			defer f.Close()
			if rc, err := f.SyscallConn(); err == nil {
				if rc.Read(func(uintptr) bool { return exited() }) == nil {
					return
				}
			}
		} else {
			unix.Close(fd)
		}
	}
	for !exited() {
		time.Sleep(50 * time.Millisecond)
	}
}

// InitAlive says whether the record's init still runs: same pid, same
// start time. A cheap look, for a tool choosing between handing the
// container to a monitor and tearing it down itself; the adopter checks
// again, by pidfd and cgroup.
func (r *Record) InitAlive() bool { return r.Init.Alive() }
