package monitor

import (
	"errors"
	"os"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/security"
)

// startInit starts the container's init stage with o, born in the
// init's cgroup where it can be, rather than moved there once it runs:
// moving another process takes the kernel's global threadgroup lock,
// whose writer waits for an RCU grace period (2 to 30 ms a start on a
// loaded host; see cgroup.Group.MoveThreadIn). The monitor's thread that
// clones the stage steps into the v1 cgroups just for the clone and back
// at once (o.Spawned), and the cgroup2 part is given at the clone
// (CLONE_INTO_CGROUP). Either way o.Enter still runs, and moves the stage
// where it is not yet (a spawn that does not clone from this thread, a
// thread that could not be moved).
func (m *Monitor) startInit(o containerinit.StartOptions) (*containerinit.Process, error) {
	// The binary the stage runs from (an overlay of golxc's directory,
	// ~0.5 ms) is made meanwhile, on another thread.
	o.Self = containerinit.PrepareSelf(o)
	g, enter := m.initGroup, o.Enter
	o.Enter = func(pid int) error {
		if g.Holds(pid) {
			return nil
		}
		return enter(pid)
	}
	if o.Detached && containerinit.ClonesFromCaller(o) && namespace.BigFDTable() {
		return m.startInitFewFDs(o, g, enter)
	}
	if m.countsThreads() || m.limitsMemory() || !containerinit.ClonesFromCaller(o) {
		// A pids limit would count the monitor's thread during the
		// clone, a memory limit the pages it touches there (and an OOM
		// kill could pick the monitor, listed in cgroup.procs); a stage
		// joining a user, time or pid namespace is cloned from another
		// thread: moving this one would only charge the container.
		o.Enter = enter
		return containerinit.Start(o)
	}
	type result struct {
		p   *containerinit.Process
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// The main thread cannot end with its goroutine, should it
			// fail to come back: it is not moved.
			runtime.UnlockOSThread()
			p, err := containerinit.Start(o)
			done <- result{p, err}
			return
		}
		if os.Geteuid() == 0 {
			// A user's delegated cgroup2 may refuse a clone into it
			// where a write of cgroup.procs works: only root's.
			if f, err := g.OpenUnified(); err == nil {
				defer f.Close()
				o.CgroupFD = int(f.Fd())
			}
		}
		back, err := g.MoveThreadIn()
		// The thread goes back before anything else runs on it: the
		// callbacks (network scripts, start-host hooks) fork host
		// processes that must not be born in the container's cgroups.
		returned := true
		if err != nil {
			m.o.Log.Debugf("init of %s moved after its clone: %v", m.o.Name, err)
			returned = !errors.Is(err, cgroup.ErrThreadStranded)
		}
		comeBack := func() {
			if back == nil {
				return
			}
			if err := back(); err != nil {
				returned = false
				m.o.Log.Warnf("monitor thread of %s: %v", m.o.Name, err)
			}
			back = nil
		}
		// A stage that stays as golxc's init (lxc-execute) starts without
		// the capabilities it never needs and the container drops, from
		// this thread's bounding set: it then stops each of its threads
		// fewer times to drop them. The thread is the container's from
		// then on, never handed back. Only when nothing of the host is
		// forked from it: no hooks, no network (its set-up runs on this
		// thread, and a phys interface's keeper is forked from it).
		kept := true
		if m.o.Hooks == nil && len(m.o.Network) == 0 {
			if drop := containerinit.SpawnerDrops(o); len(drop) > 0 {
				kept = false
				if err := security.DropFromBounding(drop); err != nil {
					m.o.Log.Warnf("%s: %v", m.o.Name, err)
				}
			}
		}
		spawned := o.Spawned
		o.Spawned = func(pidfd int) {
			comeBack()
			m.enterSelfLater()
			if spawned != nil {
				spawned(pidfd)
			}
		}
		p, err := containerinit.Start(o)
		comeBack()
		if returned && kept {
			runtime.UnlockOSThread()
		}
		// Otherwise the thread, still in the container's cgroups or with
		// its bounding set, ends with this goroutine (Go does not reuse a
		// thread left locked): unless init's parent-death signal is tied
		// to it (a foreground run), when it stays parked, locked, until
		// that init has ended. Not for the monitor's life: a container
		// that reboots itself gets a new init, and so a new thread, each
		// time (one parked for good per reboot let the container's root
		// exhaust the monitor's threads by rebooting in a loop).
		park := -1
		if (!returned || !kept) && !o.Detached && err == nil {
			// A descriptor of its own: the Process's is closed by
			// whoever reaps init, and its number may be reused.
			fd, dupErr := unix.FcntlInt(uintptr(p.PidFD), unix.F_DUPFD_CLOEXEC, 0)
			if dupErr != nil {
				m.o.Log.Warnf("%s: keep the spawning thread: %v", m.o.Name, dupErr)
			} else {
				park = fd
			}
		}
		done <- result{p, err}
		if park >= 0 {
			waitExit(park)
			unix.Close(park)
		} else if (!returned || !kept) && !o.Detached && err == nil {
			select {} // no pidfd to wait on: parked for good, as before
		}
	}()
	r := <-done
	return r.p, r.err
}

// startInitFewFDs is startInit in a monitor holding many descriptors (a
// shared one of many containers): the stage is cloned from a thread of
// its own with a small private descriptor table (StartOptions.FewFDs),
// which steps into the init's v1 cgroups and drops from its bounding set
// what the stage would drop, as startInit's own thread does, and then
// ends: nothing is moved back, and no host process is ever forked from
// it. Nothing is logged from that thread (the log's descriptor is the
// process table's): what failed there is logged here once it is done.
func (m *Monitor) startInitFewFDs(o containerinit.StartOptions, g *cgroup.Group, enter func(int) error) (*containerinit.Process, error) {
	o.FewFDs = true
	var moveErr, dropErr error
	if m.countsThreads() || m.limitsMemory() {
		// As startInit: the thread is not moved in.
		o.Enter = enter
	} else {
		if os.Geteuid() == 0 {
			if f, err := g.OpenUnified(); err == nil {
				defer f.Close()
				o.CgroupFD = int(f.Fd())
			}
		}
		drop := containerinit.SpawnerDrops(o)
		o.PrepareThread = func() error {
			// A thread that could not be moved clones a stage that
			// o.Enter moves once it runs.
			_, moveErr = g.MoveThreadIn()
			if len(drop) > 0 {
				dropErr = security.DropFromBounding(drop)
			}
			return nil
		}
	}
	spawned := o.Spawned
	o.Spawned = func(pidfd int) {
		m.enterSelfLater()
		if spawned != nil {
			spawned(pidfd)
		}
	}
	p, err := containerinit.Start(o)
	if moveErr != nil {
		m.o.Log.Debugf("init of %s moved after its clone: %v", m.o.Name, moveErr)
	}
	if dropErr != nil {
		m.o.Log.Warnf("%s: %v", m.o.Name, dropErr)
	}
	return p, err
}

// limitsMemory reports whether the container has a memory limit.
func (m *Monitor) limitsMemory() bool {
	for _, s := range m.o.Cgroups {
		if strings.HasPrefix(s.Key, "memory.") {
			return true
		}
	}
	return false
}

// countsThreads reports whether the container has a pids limit, which
// the monitor's thread would count against while it clones the stage.
func (m *Monitor) countsThreads() bool {
	for _, s := range m.o.Cgroups {
		if strings.HasPrefix(s.Key, "pids.") {
			return true
		}
	}
	return false
}
