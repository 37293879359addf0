package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/network"
	"github.com/golxc/golxc/internal/pack"
)

// CgroupSetting is one lxc.cgroup.* (Version 1) or lxc.cgroup2.* (2) key.
type CgroupSetting struct {
	Version    int
	Key, Value string
}

// CgroupDir is where the container's and the monitor's cgroups go, below
// the base of each hierarchy. Dir (lxc.cgroup.dir) holds
// lxc.payload.NAME and lxc.monitor.NAME, as in LXC 5.0.2; Container and
// Monitor (lxc.cgroup.dir.container, .monitor), set together and never
// with Dir, are the exact paths.
type CgroupDir struct {
	Dir       string `json:"dir,omitempty"`
	Container string `json:"container,omitempty"`
	Monitor   string `json:"monitor,omitempty"`
	// Inner (lxc.cgroup.dir.container.inner), only with Container, is
	// a sub-cgroup of Container that init sits in: the limits stay on
	// Container, out of the container's sight and reach.
	Inner string `json:"inner,omitempty"`
	// Use (lxc.cgroup.use of the system config) lists the v1
	// controllers whose hierarchies get the cgroups; empty is all.
	Use []string `json:"use,omitempty"`
	// Pattern is the system config's lxc.cgroup.pattern when it gave
	// Container and Monitor: errors name it rather than those keys, and
	// those paths take a suffix while in use.
	Pattern string `json:"pattern,omitempty"`
}

// Check refuses what lxc.container.conf(5) rules out.
func (d CgroupDir) Check() error {
	if d.Pattern != "" {
		for _, p := range []string{d.Container, d.Monitor} {
			for _, seg := range strings.Split(p, "/") {
				if seg == "" || seg == "." || seg == ".." {
					return fmt.Errorf("lxc.cgroup.pattern = %s (system config) gives cgroup path %s: want a relative path of plain names, with no empty, . or .. part", d.Pattern, p)
				}
			}
		}
	}
	if (d.Container == "") != (d.Monitor == "") {
		return errors.New("lxc.cgroup.dir.container and lxc.cgroup.dir.monitor must be set together")
	}
	if d.Dir != "" && d.Container != "" {
		return errors.New("lxc.cgroup.dir and lxc.cgroup.dir.container/lxc.cgroup.dir.monitor are mutually exclusive")
	}
	for _, k := range []struct{ key, val string }{
		{"lxc.cgroup.dir", d.Dir}, {"lxc.cgroup.dir.container", d.Container},
		{"lxc.cgroup.dir.monitor", d.Monitor}, {"lxc.cgroup.dir.container.inner", d.Inner},
	} {
		if k.val == "" {
			continue
		}
		for _, seg := range strings.Split(k.val, "/") {
			if seg == "" || seg == "." || seg == ".." {
				return fmt.Errorf("%s = %s: want a relative path of plain names, with no empty, . or .. part", k.key, k.val)
			}
		}
	}
	if d.Container != "" && d.Container == d.Monitor {
		return errors.New("lxc.cgroup.dir.container and lxc.cgroup.dir.monitor must differ")
	}
	return nil
}

// create makes the cgroup of kind ("monitor" or "payload") for name.
func (d CgroupDir) create(l *cgroup.Layout, kind, name string) (*cgroup.Group, error) {
	switch {
	// The pattern's paths take a -N suffix while in use (a same-named
	// container of another lxcpath), as LXC 5.0.2's do; the exact keys'
	// do not.
	case kind == "monitor" && d.Monitor != "" && d.Pattern != "":
		return l.CreateGroup(d.Monitor, "")
	case kind == "payload" && d.Container != "" && d.Pattern != "":
		return l.CreateGroup(d.Container, "")
	case kind == "monitor" && d.Monitor != "":
		return l.CreateGroupAt(d.Monitor)
	case kind == "payload" && d.Container != "":
		return l.CreateGroupAt(d.Container)
	case d.Dir != "":
		return l.CreateGroup(d.Dir+"/lxc."+kind+".", name)
	}
	return l.CreateGroup("lxc."+kind+".", name)
}

// Options says what to supervise and how.
type Options struct {
	Name, LXCPath string
	// Spec is what the container's init does. A monitor of many
	// containers (the shared one) gives PackedSpec instead, the spec in
	// package pack's form: a fifth of the memory of the spec decoded,
	// held for the container's life, and unpacked at each start of its
	// init.
	Spec       *containerinit.Spec
	PackedSpec []byte
	// SpecErr, with neither Spec nor PackedSpec, says why the spec is
	// unknown (an adopted container whose recorded request could not be
	// decoded): what needs it (a reboot, lxc-attach's confinement) is
	// refused with it rather than run without the container's seccomp
	// filter or no_new_privs.
	SpecErr error
	Cgroups []CgroupSetting
	// CgroupDir places the cgroups (lxc.cgroup.dir*); zero is LXC's
	// default, lxc.payload.NAME and lxc.monitor.NAME at the base.
	CgroupDir CgroupDir
	// HostLayout, when set, is the host's cgroup layout as the caller
	// just found it; nil: the monitor finds it.
	HostLayout *cgroup.Layout
	// Network are the interfaces to build in the container's network
	// namespace at each start of its init (lxc.net.N of type veth).
	Network []network.Iface
	// Stdin, Stdout, Stderr of init when the spec has no console
	// (lxc-execute); nil is the container's /dev/null.
	Stdin, Stdout, Stderr *os.File
	// Terminal, when set, is proxied to the console (lxc-start -F, and
	// lxc-execute's terminal): keystrokes in, output out.
	TerminalIn  *os.File
	TerminalOut io.Writer
	// TerminalSize is the terminal whose window size the console
	// follows: taken when the console comes, and on every SIGWINCH.
	TerminalSize *os.File
	// ConsoleLog receives the console's output (lxc-start -L,
	// lxc.console.logfile); "" discards it.
	ConsoleLog string
	// Console is what the other lxc.console.* keys ask for.
	Console ConsoleOptions
	// ForwardSignals passes the signals the monitor gets on to init (a
	// foreground container: lxc-start -F, lxc-execute); otherwise a
	// signal to the monitor stops the container.
	ForwardSignals bool
	// Shared says the process supervises other containers too (golxc's
	// shared monitor): it has no monitor cgroup of its own to enter.
	Shared bool
	// Hooks are the container's lxc.hook.* that run on the host's side;
	// nil for none.
	Hooks *HostHooks
	Log   *logrus.Logger
	// Ready is called once: with nil when the container is RUNNING, or
	// with the reason it could not start.
	Ready func(error)
	// BeforeStopped, when set, runs once the container is gone and its
	// cgroups removed, before STOPPED is recorded: what it does is done
	// when a waiter for STOPPED (lxc-stop) returns (an ephemeral
	// container's destroy).
	BeforeStopped func()
	// Request, when set, is kept in the container's Record (how it was
	// started, opaque here): a container whose monitor is killed keeps
	// running, and whoever adopts it rebuilds these Options from it.
	Request []byte
	// Adopt, when set, is the record of a container whose monitor died:
	// Run takes over its init (if the recorded pid is still that init)
	// instead of starting one, or does what a stop does when it is gone.
	// The caller holds the container's lock.
	Adopt *Record
}

// Monitor supervises one container.
type Monitor struct {
	o       Options
	ln      *net.UnixListener
	payload *cgroup.Group
	// delegated, in a user's container, are the maps of the user
	// namespace where the payload cgroup was given to the container's
	// root (see delegate): its removal goes through one too.
	delegated namespace.IDMaps
	// initGroup is where init goes: payload, or its inner sub-cgroup.
	initGroup *cgroup.Group
	self      *cgroup.Group
	layout    *cgroup.Layout
	// hostEnds are the host's interfaces the current init's network
	// set-up made, removed when it is gone.
	hostEnds []network.HostEnd
	// keeper gives the phys interfaces back once init is gone.
	keeper *network.Keeper
	netPid int // the init the network was built for (LXC_PID of scripts)
	// hookRun is what the hooks know of the current init: its pid and
	// namespaces (see hooks.go).
	hookRun *hookRun
	// While an init is being made (spawn): abortStart cancels its
	// pre-start and start-host hooks, spawnFD (a pidfd of the init stage,
	// the monitor's own copy; -1 when none) kills it, so that a stop
	// ends a start that does not finish.
	abortStart context.CancelFunc
	hookCtx    context.Context
	spawnFD    int

	mu    sync.Mutex
	state string
	// initID is the current init's pid and start time (the record's).
	initID ProcID
	// adopted: init is not this process's child (its monitor was
	// killed and this one took it over): its exit is seen by pidfd, its
	// status is unknown, its console and ttys went with the old monitor.
	adopted bool
	// records: this monitor keeps a Record (Options.Request was set);
	// requestSaved: its request file is written (and Request dropped).
	records, requestSaved bool
	changed               chan struct{} // closed and replaced on every state change
	proc                  *containerinit.Process
	started               int64
	stopping              bool // a stop was asked: init's exit is final whatever it says
	killT                 *time.Timer
	exit                  syscall.WaitStatus
	pending               atomic.Int32 // requests being answered
	// history is the state changes so far (the last maxHistory), for
	// "watch"; seq numbers them.
	history []transition
	seq     uint64
	// watchers counts the "watch" streams open: the teardown lets them
	// tell STOPPED before the process exits.
	watchers atomic.Int32
	// clientGone gets a token each time a request or a watch stream ends,
	// for the teardown's wait for the last of them (no polling).
	clientGone chan struct{}
	// selfEnter, while the monitor's move into its own cgroup is pending
	// (setupCgroups), gets the move's outcome; selfEntering says it has
	// started (enterSelfLater).
	selfEnter    chan error
	selfEntering bool
	// freezeMu makes freezes and thaws one at a time.
	freezeMu sync.Mutex
	// requestTimeout overrides the package's (tests).
	requestTimeout time.Duration
	keys           *os.File // where the terminal's input goes (-F): the current console
	keysOnce       sync.Once
	// consoleOut is closed once the current console's output is copied
	// out, its last byte included.
	consoleOut chan struct{}
	// initGone is closed when the current init has exited: its console's
	// reader stops at the next EIO (no slave open) from then on.
	initGone  chan struct{}
	winch     chan os.Signal // SIGWINCH, while the console follows a terminal's size
	winchOnce sync.Once
	// sink gets the console's output for the ring buffer and lxc-console.
	sink consoleSink
	// ttyBusy are the ttys lxc-console clients hold (0: the console), of
	// the init started at ttyGen.
	ttyBusy map[int]bool
	ttyGen  int64

	// step: how far the stop's teardown went (Record.Step).
	step string
}

// Run starts the container and supervises it until it stops. It returns
// the exit code for lxc-start -F and lxc-execute (see exitCode).
func Run(o Options) (int, error) {
	if o.Log == nil {
		o.Log = logrus.New()
		o.Log.SetOutput(io.Discard)
	}
	if o.Ready == nil {
		o.Ready = func(error) {}
	}
	m := &Monitor{o: o, changed: make(chan struct{}), clientGone: make(chan struct{}, 1), spawnFD: -1, records: o.Request != nil}
	if o.Adopt != nil {
		return m.runAdopted()
	}
	m.setState(Starting)
	if o.Console.BufferSize > 0 {
		m.sink.ring = newRingBuffer(o.Console.BufferSize)
	}
	if o.Console.Path != "" && o.Console.Path != "none" {
		undo, err := m.openConsolePath()
		if err != nil {
			o.Ready(err)
			return 0, err
		}
		defer undo()
	}
	// The caller holds the container's lock: a socket file at the path is
	// a dead monitor's.
	ln, err := listen(o.LXCPath, o.Name)
	if err != nil {
		o.Ready(err)
		return 0, err
	}
	m.ln = ln
	t0 := time.Now()
	go m.serve()
	defer m.ln.Close()

	if err := m.setupCgroups(); err != nil {
		m.abort(err)
		return 0, err
	}
	// From here on a monitor killed mid-start leaves a record saying so:
	// whoever takes the lock next tears the half-started container down.
	_ = m.saveRecord(Starting)
	o.Log.Debugf("cgroups of %s ready after %v", o.Name, time.Since(t0))
	defer m.routeSignals()()

	first := true
	for {
		m.mu.Lock()
		stopping := m.stopping
		m.mu.Unlock()
		if stopping && first {
			err := fmt.Errorf("%s was stopped while it was starting", o.Name)
			m.abort(err)
			return 0, err
		}
		if stopping {
			break
		}
		if err := m.spawn(); err != nil {
			if first {
				m.abort(err)
				return 0, err
			}
			o.Log.Errorf("restart of %s failed: %v", o.Name, err)
			break
		}
		if first {
			if err := m.selfEntered(); err != nil {
				// The container runs: only the monitor is not where
				// lxc.monitor.NAME says (nothing it forks goes there).
				o.Log.Warnf("%s: %v", o.Name, err)
			}
			o.Log.Debugf("%s running after %v", o.Name, time.Since(t0))
			o.Ready(nil)
			first = false
		}
		ws := m.proc.Wait()
		m.mu.Lock()
		m.initID = ProcID{}
		close(m.initGone)
		m.exit = ws
		reboot := !m.stopping && ws.Signaled() && ws.Signal() == syscall.SIGHUP
		m.proc.Close()
		m.mu.Unlock()
		o.Log.Infof("init of %s exited: %s", o.Name, describe(ws))
		m.networkDown()
		if !reboot {
			break
		}
		m.stopHooks("reboot")
		o.Log.Infof("%s rebooted itself: starting it again", o.Name)
		m.setState(Starting)
		err := m.renewPayload()
		if err == nil {
			_ = m.saveRecord(Starting)
		}
		// After the old cgroup is gone, as at a stop (LXC's order).
		m.postStopHooks()
		if err != nil {
			o.Log.Errorf("restart of %s failed: %v", o.Name, err)
			break
		}
	}
	m.stopHooks("stop")
	m.teardown()
	return m.exitCode(), nil
}

// routeSignals has the signals the monitor gets routed (onSignals) until
// the returned func is called.
func (m *Monitor) routeSignals() func() {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2)
	go m.onSignals(sigs)
	// Stop, then close: the routing goroutine ends with the monitor (a
	// shared monitor runs many of these in one process).
	return func() {
		signal.Stop(sigs)
		close(sigs)
	}
}

// exitCode is what lxc-start -F and lxc-execute exit with: 0 for a
// container that was stopped on request or halted itself (reboot(2) with
// halt or power-off ends init by SIGINT); otherwise init's own status,
// 128+N for death by signal N.
func (m *Monitor) exitCode() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	ws := m.exit
	switch {
	case m.stopping, ws.Signaled() && ws.Signal() == syscall.SIGINT:
		return 0
	case ws.Signaled():
		return 128 + int(ws.Signal())
	default:
		return ws.ExitStatus()
	}
}

func describe(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		return "killed by " + unix.SignalName(ws.Signal())
	}
	return fmt.Sprintf("exit status %d", ws.ExitStatus())
}

// hostLayout is the host's cgroup layout: the caller's (Options.HostLayout)
// when it has one, else read now.
func (m *Monitor) hostLayout() (*cgroup.Layout, error) {
	if m.o.HostLayout != nil {
		return m.o.HostLayout, nil
	}
	return cgroup.Detect()
}

func (m *Monitor) setupCgroups() error {
	layout, err := m.hostLayout()
	if err != nil {
		return err
	}
	layout = layout.Use(m.o.CgroupDir.Use)
	m.layout = layout
	if err := m.o.CgroupDir.Check(); err != nil {
		return err
	}
	if m.o.Shared || m.foregroundOnly() {
		return m.createPayload()
	}
	self, err := m.o.CgroupDir.create(layout, "monitor", m.o.Name)
	if err != nil {
		return fmt.Errorf("create monitor cgroup: %w", err)
	}
	m.self = self
	if m.o.Hooks != nil || m.hasScripts() {
		// What the hooks and scripts start is born in the monitor's
		// cgroup, and goes with the container (teardown).
		if err := m.enterSelf(); err != nil {
			return err
		}
	} else {
		// Nothing but the init stage is forked, and it is born in its
		// own cgroups: the move, whose grace period a quiet host makes
		// cost several ms, overlaps the stage's set-up (enterSelfLater).
		m.selfEnter = make(chan error, 1)
	}
	return m.createPayload()
}

// foregroundOnly says the monitor is the foreground tool itself
// (lxc-execute, lxc-start -F) and forks nothing but the init stage, which
// is born in its own cgroups: such a monitor stays in the cgroup it was
// started in, as any program run from a shell or a service does, and no
// lxc.monitor.NAME is made. LXC moves it there and back out at the end;
// each move of a process between cgroups takes the kernel's global
// threadgroup lock, whose first taking waits for an RCU grace period
// during which every fork on the host waits too (2-10 ms measured here,
// the larger part of an lxc-execute). Hooks and network scripts keep the
// monitor cgroup: what they leave running goes with the container. An
// lxc.cgroup.dir, .dir.monitor or lxc.cgroup.pattern keeps it too: the
// user asked for a place.
func (m *Monitor) foregroundOnly() bool {
	return m.o.ForwardSignals && m.o.Hooks == nil && !m.hasScripts() && m.o.CgroupDir.Dir == "" && m.o.CgroupDir.Monitor == "" && m.o.CgroupDir.Pattern == ""
}

// enterSelf moves the monitor into its own cgroup.
func (m *Monitor) enterSelf() error {
	if err := m.self.Enter(os.Getpid()); err != nil {
		return fmt.Errorf("enter monitor cgroup: %w", err)
	}
	return nil
}

// enterSelfLater starts the monitor's move into its cgroup in the
// background, once the init stage is cloned (its clone into a cgroup2
// directory would wait for the move's lock); selfEntered waits for it.
func (m *Monitor) enterSelfLater() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.selfEnter == nil || m.selfEntering {
		return
	}
	m.selfEntering = true
	go func(done chan<- error) { done <- m.enterSelf() }(m.selfEnter)
}

// selfEntered waits for the move enterSelfLater started (or makes it now,
// if no stage was cloned): before the start is told done (Ready), and
// before the teardown moves the monitor out again.
func (m *Monitor) selfEntered() error {
	m.mu.Lock()
	done, started := m.selfEnter, m.selfEntering
	m.selfEnter, m.selfEntering = nil, false
	m.mu.Unlock()
	if done == nil {
		return nil
	}
	if !started {
		return m.enterSelf()
	}
	return <-done
}

// renewPayload gives a container that rebooted itself a new cgroup, as
// LXC does: the old one keeps what the last boot made in it (systemd's
// slices, which a v1 devices cgroup with children refuses "deny a" for)
// and any process that outlived init.
func (m *Monitor) renewPayload() error {
	m.mu.Lock()
	old := m.payload
	m.mu.Unlock()
	if old != nil {
		// Kept as the payload until it is gone: a failure here ends the
		// container, whose teardown then removes it.
		if err := old.Kill(); err != nil {
			return fmt.Errorf("kill what is left of the last boot: %w", err)
		}
		if err := m.destroyGroup(old); err != nil {
			return fmt.Errorf("remove the last boot's cgroup: %w", err)
		}
	}
	m.mu.Lock()
	m.payload, m.initGroup = nil, nil
	m.mu.Unlock()
	return m.createPayload()
}

func (m *Monitor) createPayload() error {
	payload, err := m.o.CgroupDir.create(m.layout, "payload", m.o.Name)
	if err != nil {
		return fmt.Errorf("create container cgroup: %w", err)
	}
	m.mu.Lock()
	m.payload = payload
	m.initGroup = payload
	m.mu.Unlock()
	if d := m.o.CgroupDir; d.Inner != "" && d.Container != "" {
		inner, err := payload.CreateChild(d.Inner)
		if err != nil {
			return fmt.Errorf("create container cgroup: %w", err)
		}
		m.mu.Lock()
		m.initGroup = inner
		m.mu.Unlock()
	}
	if err := payload.EnableFor(m.cgroupSettings()); err != nil {
		return err
	}
	return payload.ApplyLimits(m.cgroupSettings())
}

func (m *Monitor) cgroupSettings() []cgroup.Setting {
	settings := make([]cgroup.Setting, 0, len(m.o.Cgroups))
	for _, s := range m.o.Cgroups {
		settings = append(settings, cgroup.Setting{Version: s.Version, Key: s.Key, Value: s.Value})
	}
	return settings
}

// delegate hands the init's cgroup to the container's root (the host ids
// its root maps to). Root chowns it. A user other than root cannot: it
// keeps the owner and gives the group, with group write, to the
// container's root's group (a subordinate id of the user's, nobody
// else's), through a user namespace that maps both its own ids and the
// container's: the container's root manages the cgroup (its systemd
// makes sub-cgroups), the user's monitor and tools still move processes
// in and remove it, and no other user gains anything.
func (m *Monitor) delegate(maps namespace.IDMaps) error {
	if os.Geteuid() == 0 {
		uid, _ := namespace.HostID(maps.UID, 0)
		gid, _ := namespace.HostID(maps.GID, 0)
		return m.initGroup.Chown(int(uid), int(gid))
	}
	m.mu.Lock()
	m.delegated = maps.WithCaller(namespace.CurrentCaller())
	m.mu.Unlock()
	if err := m.initGroup.ShareWithGroup(); err != nil {
		return fmt.Errorf("delegate the container's cgroup: %w", err)
	}
	paths, err := m.initGroup.DelegatedPaths()
	if err != nil {
		return fmt.Errorf("delegate the container's cgroup: %w", err)
	}
	if err := namespace.GiveToMappedRoot(maps.WithCaller(namespace.CurrentCaller()), paths, nil, namespace.GroupOnly); err != nil {
		return fmt.Errorf("delegate the container's cgroup: %w", err)
	}
	return nil
}

// destroyGroup removes a payload cgroup. In a user's container what its
// root made below it is that root's, which the user may not remove: it
// goes first, as root of a namespace of the user's and the container's
// ids.
func (m *Monitor) destroyGroup(g *cgroup.Group) error {
	m.mu.Lock()
	maps := m.delegated
	m.mu.Unlock()
	if len(maps.UID) > 0 {
		if err := namespace.RemoveTreesMapped(maps, g.Dirs()); err != nil {
			return fmt.Errorf("remove the cgroups the container made: %w", err)
		}
	}
	return g.Destroy()
}

// spec is the container's spec, unpacked anew when the monitor holds it
// packed; nil when it has none (an adopted container whose recorded spec
// this golxc cannot read: its init runs, but cannot be started again).
func (m *Monitor) spec() (*containerinit.Spec, error) {
	if m.o.Spec != nil {
		return m.o.Spec, nil
	}
	if m.o.PackedSpec == nil {
		if m.o.SpecErr != nil {
			return nil, fmt.Errorf("the spec of %s is unknown to its monitor: %w", m.o.Name, m.o.SpecErr)
		}
		return nil, fmt.Errorf("the spec of %s is unknown to its monitor", m.o.Name)
	}
	s := new(containerinit.Spec)
	if err := pack.Unmarshal(m.o.PackedSpec, s); err != nil {
		return nil, fmt.Errorf("unpack the spec of %s: %w", m.o.Name, err)
	}
	return s, nil
}

func (m *Monitor) spawn() error {
	m.hookRun = &hookRun{}
	ctx, cancel := context.WithCancel(context.Background())
	m.mu.Lock()
	m.hookCtx, m.abortStart, m.spawnFD = ctx, cancel, -1
	stopping := m.stopping
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		cancel()
		m.abortStart = nil
		if m.spawnFD >= 0 {
			unix.Close(m.spawnFD)
			m.spawnFD = -1
		}
		m.mu.Unlock()
	}()
	if stopping {
		return errors.New("stopped while starting")
	}
	spec, err := m.spec()
	if err != nil {
		return err
	}
	if err := m.preStartHooks(); err != nil {
		return err
	}
	var startHost func(int) error
	if m.o.Hooks != nil && len(m.o.Hooks.StartHost) > 0 {
		startHost = m.startHostHooks
	}
	var packed []byte
	if m.o.Spec == nil {
		packed = m.o.PackedSpec // what spec was just unpacked from
	}
	proc, err := m.startInit(containerinit.StartOptions{
		StartHost:  startHost,
		Spec:       spec,
		PackedSpec: packed,
		Stdin:      m.o.Stdin,
		Stdout:     m.o.Stdout,
		Stderr:     m.o.Stderr,
		Enter:      m.initGroup.Enter,
		Network:    m.networkUp,
		Delegate:   m.delegate,
		Configured: m.configured,
		CgroupFD:   -1,
		Spawned:    m.spawned,
		// Init outlives this monitor: a kill -9 of the monitor (or the
		// OOM killer's) stops no container, the next tool re-adopts it
		// (adopt.go). A monitor killed mid-start is found by the stage
		// at its next read of the sync socket, and what it started is
		// torn down by whoever takes the lock next. A monitor that keeps
		// no record (lxc-start -F, lxc-execute) is the container's
		// session: init dies with it.
		Detached: m.records,
		Warnf:    m.o.Log.Warnf,
	})
	if err != nil {
		// The init stage is dead: its namespace with it, but a pair's
		// host end goes now, not when the kernel gets to it.
		m.networkDown()
		return err
	}
	// The monitor is init's parent: the pid is init's until reaped.
	id, err := ProcOf(proc.Pid)
	if err != nil {
		m.o.Log.Warnf("read the start time of %s's init: %v", m.o.Name, err)
	}
	m.mu.Lock()
	m.proc = proc
	// A monitor of one container without a record is the tool itself
	// (lxc-execute, lxc-start -F): a thread of its own waits for init.
	proc.WaitOnThread = !m.records && !m.o.Shared
	m.initID = id
	m.initGone = make(chan struct{})
	gone := m.initGone
	m.started = time.Now().UnixNano()
	if m.stopping {
		// A stop came while this init was being made (a restart after
		// reboot): it applies to this one too.
		_ = proc.Signal(syscall.SIGKILL)
	}
	m.mu.Unlock()
	if proc.Console != nil {
		m.console(proc.Console, gone)
	}
	// Recorded before RUNNING is told: a container found running can
	// be adopted should this monitor die.
	if err := m.saveRecord(Running); err != nil {
		// Without it a container whose monitor died would be taken for
		// dead, and torn down under its live init: no start.
		_ = proc.Signal(syscall.SIGKILL)
		proc.Wait()
		m.mu.Lock()
		m.initID = ProcID{}
		close(m.initGone)
		m.proc.Close()
		m.mu.Unlock()
		m.networkDown()
		return err
	}
	m.setState(Running)
	return nil
}

// spawned keeps a pidfd of the init stage being set up, for a stop to
// kill (a stop that came already does at once).
func (m *Monitor) spawned(pidfd int) {
	fd, err := unix.FcntlInt(uintptr(pidfd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		m.o.Log.Warnf("keep the init stage's pidfd: %v", err)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.spawnFD = fd
	if m.stopping {
		_ = unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
	}
}

// networkUp builds the container's interfaces while its init stage
// waits (pid is the stage, in its new network namespace). The host ends
// are recorded beside the command socket first, for the next start to
// remove should this monitor be killed while something outside the
// container holds its network namespace (and so the pair) alive.
func (m *Monitor) networkUp(pid int) error {
	if len(m.o.Network) == 0 {
		return nil
	}
	m.removeStaleNetwork()
	if slices.ContainsFunc(m.o.Network, func(i network.Iface) bool { return i.Type == "phys" }) {
		k, err := network.StartKeeper(pid)
		if err != nil {
			return err
		}
		m.keeper = k
		defer k.Done()
	}
	m.netPid = pid
	ends, err := network.Setup(pid, m.o.Network, m.keeper)
	if err != nil {
		return err
	}
	m.hostEnds = ends
	if b, err := json.Marshal(ends); err == nil {
		if err := os.WriteFile(m.networkRecord(), b, 0o600); err != nil {
			m.o.Log.Warnf("record the host interfaces of %s: %v", m.o.Name, err)
		}
	}
	return nil
}

// networkDown removes the host ends of the init that is gone. The kernel
// would delete them with the namespace, but later, and not at all while
// anything else holds the namespace.
func (m *Monitor) networkDown() {
	if err := network.Down(m.o.Network, m.hostEnds, m.netPid); err != nil {
		m.o.Log.Warnf("network of %s: %v", m.o.Name, err)
	}
	m.keeper.Wait()
	m.keeper = nil
	if len(m.hostEnds) == 0 {
		return
	}
	if err := network.Teardown(m.hostEnds); err != nil {
		m.o.Log.Warnf("network of %s: %v", m.o.Name, err)
	}
	m.hostEnds = nil
	_ = os.Remove(m.networkRecord())
}

// removeStaleNetwork removes what a killed monitor of this container left
// on the host: only interfaces still of the recorded name and index.
func (m *Monitor) removeStaleNetwork() {
	if err := RemoveStaleNetwork(m.o.LXCPath, m.o.Name); err != nil {
		m.o.Log.Warnf("network left by a previous monitor of %s: %v", m.o.Name, err)
	}
}

// RemoveStaleNetwork removes the host ends a killed monitor of
// lxcpath/name recorded (only interfaces still of the recorded name and
// index), and the record. The caller holds the container's lock.
func RemoveStaleNetwork(lxcpath, name string) error {
	rec := SocketPath(lxcpath, name) + ".net"
	b, err := os.ReadFile(rec)
	if err != nil {
		return nil
	}
	var ends []network.HostEnd
	if json.Unmarshal(b, &ends) == nil {
		err = network.Teardown(ends)
	}
	_ = os.Remove(rec)
	return err
}

// hasScripts says whether an interface has a script.up or script.down.
func (m *Monitor) hasScripts() bool {
	return slices.ContainsFunc(m.o.Network, func(i network.Iface) bool { return i.ScriptUp != "" || i.ScriptDown != "" })
}

// networkRecord is the file of the host ends, in the monitor's private
// socket directory.
func (m *Monitor) networkRecord() string { return SocketPath(m.o.LXCPath, m.o.Name) + ".net" }

// console keeps the console's output flowing: to the terminal under -F,
// else to the console log or nowhere. Someone must read it, or init
// blocks once the pty's buffer is full.
func (m *Monitor) console(master *os.File, initGone <-chan struct{}) {
	var logf *sizedLog
	if m.o.ConsoleLog != "" {
		f, err := openSizedLog(m.o.ConsoleLog, m.o.Console.LogSize, m.o.Console.LogRotate)
		if err != nil {
			m.o.Log.Warnf("open console log %s: %v", m.o.ConsoleLog, err)
		} else {
			logf = f
		}
	}
	// Each output fails on its own: a full disk under the log must not
	// cut the terminal off, nor a gone terminal the log.
	outs := []io.Writer{&m.sink}
	if m.o.TerminalOut != nil {
		outs = append(outs, &steadyWriter{w: m.o.TerminalOut})
	}
	if logf != nil {
		outs = append(outs, &steadyWriter{w: logf})
	}
	out := io.MultiWriter(outs...)
	// Duplicates: Process.Close closes the master when init exits, and the
	// copies must not race a reused descriptor number.
	rd, err := dupFile(master)
	if err != nil {
		m.o.Log.Warnf("console: %v", err)
		return
	}
	done := make(chan struct{})
	m.mu.Lock()
	m.consoleOut = done
	m.mu.Unlock()
	go func() {
		// Until EIO once init is gone: every slave closed, the
		// buffered output read.
		if err := copyConsole(out, rd, initGone); err != nil {
			m.o.Log.Debugf("%v", err)
		}
		rd.Close()
		if logf != nil {
			logf.Close()
		}
		close(done)
	}()
	if m.o.TerminalIn == nil && m.o.TerminalSize == nil {
		return
	}
	wr, err := dupFile(master)
	if err != nil {
		m.o.Log.Warnf("console: %v", err)
		return
	}
	// One reader of the terminal for the monitor's life, writing to the
	// current console: a reader per console would, after a reboot, eat
	// keystrokes for the dead one.
	m.mu.Lock()
	old := m.keys
	m.keys = wr
	m.mu.Unlock()
	if old != nil {
		old.Close()
	}
	if m.o.TerminalIn != nil {
		m.keysOnce.Do(func() { go m.forwardKeys() })
	}
	if m.o.TerminalSize != nil {
		// Listening before the size is read: a resize in between is not
		// lost.
		m.winchOnce.Do(func() {
			m.winch = make(chan os.Signal, 1)
			signal.Notify(m.winch, syscall.SIGWINCH)
			go func() {
				for range m.winch {
					m.followSize()
				}
			}()
		})
		m.followSize()
	}
}

// followSize gives the current console the terminal's window size; the
// kernel tells the console's foreground processes (SIGWINCH).
func (m *Monitor) followSize() {
	// Through SyscallConn: File.Fd would switch the files to blocking
	// mode under the readers.
	var ws *unix.Winsize
	if rc, err := m.o.TerminalSize.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { ws, _ = unix.IoctlGetWinsize(int(fd), unix.TIOCGWINSZ) })
	}
	if ws == nil {
		return // not a terminal (any more)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.keys == nil {
		return
	}
	if rc, err := m.keys.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) {
			if err := unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws); err != nil {
				m.o.Log.Warnf("console: set window size: %v", err)
			}
		})
	}
}

// closeConsole waits, briefly, for the last console's output to be
// copied out (init is dead: the container's processes with it, so the
// pty hangs up once its buffer is read), and stops following the
// terminal's size.
func (m *Monitor) closeConsole() {
	m.mu.Lock()
	done := m.consoleOut
	m.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-time.After(2 * time.Second):
			m.o.Log.Warnf("console of %s: output not drained after 2s", m.o.Name)
		}
	}
	if m.winch != nil {
		signal.Stop(m.winch)
		close(m.winch)
	}
	m.sink.closeClients()
}

// steadyWriter writes to w until w fails, then discards: the console must
// be read whatever becomes of the terminal, or the container blocks on a
// full pty.
type steadyWriter struct {
	w      io.Writer
	failed bool
}

func (s *steadyWriter) Write(p []byte) (int, error) {
	if !s.failed {
		if _, err := s.w.Write(p); err != nil {
			s.failed = true
		}
	}
	return len(p), nil
}

// forwardKeys copies the terminal's input to the current console.
func (m *Monitor) forwardKeys() {
	buf := make([]byte, 4096)
	for {
		n, err := m.o.TerminalIn.Read(buf)
		if n > 0 {
			m.mu.Lock()
			w := m.keys
			m.mu.Unlock()
			if w != nil {
				_, _ = w.Write(buf[:n])
			}
		}
		if err != nil {
			return
		}
	}
}

func dupFile(f *os.File) (*os.File, error) {
	fd, err := unix.FcntlInt(f.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("dup %s: %w", f.Name(), err)
	}
	return os.NewFile(uintptr(fd), f.Name()), nil
}

// abort reports a failed start and leaves nothing behind.
func (m *Monitor) abort(err error) {
	m.setState(Aborting)
	m.o.Log.Errorf("start of %s failed: %v", m.o.Name, err)
	if m.hookRun != nil {
		// The hooks of a stop run after a failed start too, as LXC's
		// do: what pre-start made, post-stop may undo.
		m.stopHooks("stop")
	}
	m.teardown()
	m.o.Ready(err)
}

// teardown kills what is left of the container, removes its cgroups and
// records STOPPED.
func (m *Monitor) teardown() {
	if err := m.selfEntered(); err != nil {
		m.o.Log.Warnf("%s: %v", m.o.Name, err)
	}
	m.closeConsole()
	if m.payload != nil {
		// Mostly empty by now (init's end ends its pid namespace): the
		// kill, which waits its turn on the cgroup lock, only when not.
		if busy, err := m.payload.Populated(); busy || err != nil {
			if err := m.payload.Kill(); err != nil {
				m.o.Log.Warnf("kill leftovers of %s: %v", m.o.Name, err)
			}
		}
		if err := m.destroyGroup(m.payload); err != nil {
			m.o.Log.Warnf("remove cgroup of %s: %v", m.o.Name, err)
		}
	}
	if m.self != nil {
		// The monitor cannot remove the cgroup it is in: step back to the
		// top of each hierarchy first.
		if err := m.layout.EnterBase(os.Getpid()); err != nil {
			m.o.Log.Warnf("leave monitor cgroup: %v", err)
		}
		if m.o.Hooks != nil || m.hasScripts() {
			// What a host hook or network script started and left
			// running (a DHCP client a start-host hook runs, say) is in
			// the monitor's cgroup, and goes with the container.
			if err := m.self.Kill(); err != nil {
				m.o.Log.Warnf("kill what the hooks of %s left: %v", m.o.Name, err)
			}
		}
		if err := m.self.Destroy(); err != nil {
			m.o.Log.Warnf("remove monitor cgroup: %v", err)
		}
	}
	m.mu.Lock()
	if m.killT != nil {
		m.killT.Stop()
	}
	m.mu.Unlock()
	// After the cgroups are gone, before STOPPED: lxc-stop returns once
	// they have run (LXC reports STOPPED first). Each step is recorded
	// first: a monitor killed in it leaves only the rest to be done.
	if m.step != StepDestroy {
		m.saveStep(StepPostStop)
		m.postStopHooks()
	}
	if m.o.BeforeStopped != nil {
		m.saveStep(StepDestroy)
		m.o.BeforeStopped()
	}
	m.setState(Stopped)
	// Once STOPPED is told (no record means not running): a monitor
	// killed before this leaves the rest to whoever takes the lock next.
	if m.records {
		RemoveRecord(m.o.LXCPath, m.o.Name)
	}
	// Let clients waiting for STOPPED get their answer before the socket
	// goes away with this process.
	m.ln.Close()
	limit := time.NewTimer(2 * time.Second)
	defer limit.Stop()
	for m.pending.Load()+m.watchers.Load() > 0 {
		select {
		case <-m.clientGone:
		case <-limit.C:
			return
		}
	}
}

// clientDone counts one request or watch stream of n over and wakes the
// teardown's wait for the last one.
func (m *Monitor) clientDone(n *atomic.Int32) {
	n.Add(-1)
	select {
	case m.clientGone <- struct{}{}:
	default:
	}
}

func (m *Monitor) setState(s string) {
	m.mu.Lock()
	m.setStateLocked(s)
	m.mu.Unlock()
}

// onSignals routes the signals the monitor gets: to init for a
// foreground container, as lxc-start(1) says of -F; for a detached one,
// a signal is a stop, since a sysadmin's kill of the monitor must not
// leave the container unsupervised.
func (m *Monitor) onSignals(sigs chan os.Signal) {
	for s := range sigs {
		if !m.o.ForwardSignals {
			_ = m.stop(0)
			continue
		}
		m.mu.Lock()
		if m.proc != nil && m.proc.PidFD >= 0 {
			_ = m.proc.Signal(s.(syscall.Signal))
		}
		m.mu.Unlock()
	}
}

// stop halts the container with sig, killing it after timeout (<0: never;
// sig 0 or timeout 0: kill now).
func (m *Monitor) stop(sig syscall.Signal, timeout ...time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch m.state {
	case Running, Starting, Frozen, Freezing, Thawed, Stopping:
	default:
		return errors.New(m.o.Name + " is not running")
	}
	m.stopping = true
	if m.proc == nil {
		// Still starting: its hooks are cancelled and its init stage
		// killed, the start then fails.
		if m.abortStart != nil {
			m.abortStart()
		}
		if m.spawnFD >= 0 {
			_ = unix.PidfdSendSignal(m.spawnFD, unix.SIGKILL, nil, 0)
		}
		return nil
	}
	t := time.Duration(0)
	if len(timeout) > 0 {
		t = timeout[0]
	}
	if sig == 0 || t == 0 {
		return m.killLocked()
	}
	m.setStateLocked(Stopping)
	if m.payload != nil {
		_ = m.payload.Thaw()
	}
	if err := m.proc.Signal(sig); err != nil {
		return err
	}
	m.o.Log.Infof("halting %s: sent %s to init (pid %d), kill after %v", m.o.Name, config.SignalName(unix.Signal(sig)), m.proc.Pid, t)
	// The kernel drops a signal to a pid namespace's init that neither
	// handles nor blocks it, as an init that is still starting may not
	// yet: a stop right after a start would be lost. It is sent again a
	// few times while the same init lives.
	go m.resendHalt(m.proc, sig)
	if t > 0 && m.killT == nil {
		m.killT = time.AfterFunc(t, func() {
			m.mu.Lock()
			defer m.mu.Unlock()
			m.o.Log.Warnf("%s did not halt within %v: killing it", m.o.Name, t)
			_ = m.killLocked()
		})
	}
	return nil
}

func (m *Monitor) killLocked() error {
	if m.proc == nil || m.proc.PidFD < 0 {
		return nil
	}
	// SIGKILL to a pid namespace's init ends every process in it. A
	// frozen container is thawed after: cgroup2's freezer lets SIGKILL
	// through, the v1 freezer holds it until the tasks run again.
	err := m.proc.Signal(syscall.SIGKILL)
	if m.payload != nil && (m.state == Frozen || m.state == Freezing || m.state == Thawed) {
		_ = m.payload.Thaw()
	}
	if errors.Is(err, unix.ESRCH) {
		return nil
	}
	return err
}

// listen binds the command socket of lxcpath/name in the private socket
// directory.
func listen(lxcpath, name string) (*net.UnixListener, error) {
	if _, err := PrepareSocketDir(); err != nil {
		return nil, err
	}
	return Listen(SocketPath(lxcpath, name))
}

// resendHalt sends sig to init proc again after 0.5, 1.5 and 3.5 s, for as
// long as proc is the init being stopped. Few enough, and far enough
// apart, for an init that counts them (systemd reboots at once on seven
// SIGINTs within two seconds).
func (m *Monitor) resendHalt(proc *containerinit.Process, sig syscall.Signal) {
	for _, d := range []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second} {
		time.Sleep(d)
		m.mu.Lock()
		if m.proc != proc || proc.PidFD < 0 || m.state != Stopping {
			m.mu.Unlock()
			return
		}
		_ = proc.Signal(sig)
		m.mu.Unlock()
	}
}

// sigRTMin3 is SIGRTMIN+3 as the kernel numbers it (glibc's SIGRTMIN is
// 34): systemd's "halt" request.
const sigRTMin3 = syscall.Signal(37)

// haltSignal is LXC's choice for a config without lxc.signal.halt: init
// gets SIGRTMIN+3 when it blocks that signal, which is how systemd waits
// for it (and it ignores SIGPWR), else def. The monitor is init's parent,
// so the pid read here cannot be another process's until it is reaped;
// an adopting monitor is not, but only the choice of signal could be
// wrong then: the signal itself goes through init's pidfd.
func (m *Monitor) haltSignal(def syscall.Signal) syscall.Signal {
	m.mu.Lock()
	proc := m.proc
	m.mu.Unlock()
	if proc == nil {
		return def
	}
	blocked, err := blockedSignals(proc.Pid)
	if err != nil {
		m.o.Log.Warnf("read the blocked signals of %s's init: %v", m.o.Name, err)
		return def
	}
	if blocks(blocked, sigRTMin3) {
		return sigRTMin3
	}
	return def
}

// blockedSignals reads SigBlk of /proc/PID/status: bit N-1 is signal N.
func blockedSignals(pid int) (uint64, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	n, err := parseSigBlk(string(b))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return n, nil
}

// parseSigBlk reads the SigBlk mask of a /proc/PID/status text.
func parseSigBlk(status string) (uint64, error) {
	for _, line := range strings.Split(status, "\n") {
		if v, ok := strings.CutPrefix(line, "SigBlk:"); ok {
			n, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				return 0, fmt.Errorf("SigBlk %q: %w", strings.TrimSpace(v), err)
			}
			return n, nil
		}
	}
	return 0, errors.New("no SigBlk line")
}

// blocks says whether mask (SigBlk) has sig blocked: bit N-1 is signal N.
func blocks(mask uint64, sig syscall.Signal) bool {
	return mask&(1<<(uint(sig)-1)) != 0
}
