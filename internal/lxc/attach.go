package lxc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/pack"
	"github.com/golxc/golxc/internal/security"
)

// AttachOptions say what to run in a container and how.
type AttachOptions struct {
	Command    []string // default: the user's shell in the container
	Namespaces int      // clone flags to join; 0: namespace.AttachFlags
	// ClearEnv starts from an empty environment (--clear-env); by
	// default the caller's whole environment passes, as in LXC 5.0.
	ClearEnv bool
	SetVars  []string // -v VAR=VALUE
	KeepVars []string // --keep-var NAME, with ClearEnv
	UID, GID int      // -u, -g; -1: root
	RCFile   string
	// Elevated are the privileges the command keeps (-e): it is then
	// not put in the container's cgroups (ElevateCgroup), or keeps the
	// caller's capability bounding set (ElevateCap).
	Elevated Privileges
	// RemountSysProc (-R) gives a command that does not join the mount
	// namespace a private copy of the host's mounts with /proc and /sys
	// mounted afresh, so they show the namespaces it joined.
	RemountSysProc bool
	// PtyLog (-L) receives what the command writes to its pty.
	PtyLog string
	// Warn gets what the tool should print as a warning.
	Warn func(string) `json:"-"`
}

// Privileges are what lxc-attach -e may keep from the caller
// (lxc-attach(1): CGROUP, CAP, LSM).
type Privileges int

const (
	ElevateCgroup Privileges = 1 << iota
	ElevateCap
	ElevateLSM
	ElevateAll = ElevateCgroup | ElevateCap | ElevateLSM
)

// attachedEnv builds the environment of an attached process as LXC 5.0's
// lxc-attach does: the caller's whole environment, or with ClearEnv only
// the --keep-var variables and a PATH (the container's default unless
// PATH was kept); then container=lxc, the config's lxc.environment
// (confEnv: "K=V", or "K" for the caller's value) and -v, later ones
// winning.
func attachedEnv(o AttachOptions, caller, confEnv []string) []string {
	lookup := func(k string) (string, bool) {
		v, ok := "", false
		for _, e := range caller {
			if ek, ev, _ := strings.Cut(e, "="); ek == k {
				v, ok = ev, true // the last one wins, as getenv's users see it
			}
		}
		return v, ok
	}
	var env []string
	if o.ClearEnv {
		for _, k := range o.KeepVars {
			if v, ok := lookup(k); ok {
				env = setEnv(env, k, v)
			}
		}
		if _, ok := lookup("PATH"); !ok || !slices.Contains(o.KeepVars, "PATH") {
			env = setEnv(env, "PATH", defaultPath)
		}
	} else {
		for _, e := range caller {
			if k, v, ok := strings.Cut(e, "="); ok {
				env = setEnv(env, k, v)
			}
		}
	}
	env = setEnv(env, "container", "lxc")
	for _, e := range confEnv {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			if v, ok = lookup(k); !ok {
				continue
			}
		}
		env = setEnv(env, k, v)
	}
	for _, kv := range o.SetVars {
		k, v, _ := strings.Cut(kv, "=")
		env = setEnv(env, k, v)
	}
	return env
}

// AttachError carries the exit code that lxc-attach must return for a
// command that could not be run (126, 127).
type AttachError struct {
	Code int
	Err  error
}

func (e *AttachError) Error() string { return e.Err.Error() }
func (e *AttachError) Unwrap() error { return e.Err }

// attachHelper is how lxc-attach runs its helper: the helper's fds.
const (
	helperRequestFD = 3 // the attachRequest (package pack's form), then EOF
	// helperControlFD is a SOCK_SEQPACKET to lxc-attach: it gives the
	// command's stdio and the init's pidfd (attachFDsMsg), the helper
	// answers with the attachReport.
	helperControlFD = 4
	helperSelfFD    = 5 // the protected golxc the helper runs from (namespace.ProtectedSelf)
	// helperCgroupFD and on: the container's v1 tasks files, as many as
	// the helper's argv[2] says.
	helperCgroupFD = 6
)

// attachFDsMsg carries attachFDs fds to the helper: stdin, stdout,
// stderr and the init's pidfd.
const (
	attachFDsMsg = "fds"
	attachFDs    = 4
)

// Attach runs a command in the running container's namespaces and
// cgroups and returns its exit status (128+N when killed by signal N).
// Standard fds that are not terminals pass through; those that are get
// a pty of the container's own devpts instead, which lxc-attach proxies.
//
// What enters the container is never this process nor a child sharing
// its memory: an exec'd helper (RunAttachHelper), holding nothing of the
// host's but the fds it is given, born in the container's cgroup2 group,
// steps into its v1 cgroups and joins its namespaces on one thread and
// forks the command from there with a real fork, so the command is born
// in the container's cgroups; it is a child of lxc-attach
// (CLONE_PARENT), which waits for it.
//
// Why the helper is not left out, its Go start-up with it, by forking
// the command from this process: until its exec the command is in the
// container's pid namespace, and root there, holding CAP_SYS_PTRACE of
// the host's user namespace in a privileged container (LXC's default),
// may ptrace it or read its /proc/PID/mem, environ and exe whether it is
// dumpable or not. A copy of lxc-attach would show it the caller's
// environment and memory and the host's golxc file as its exe
// (CVE-2019-5736); a copy of the helper shows its request and the
// protected golxc only (TestAttackAttachWindow, TestAttackAttachExe).
func (c *Container) Attach(o AttachOptions) (int, error) {
	conn, err := c.dial()
	if errors.Is(err, monitor.ErrNotRunning) {
		if o.RCFile == "" {
			if err := c.mustBeDefined(); err != nil {
				return 1, err
			}
		}
		// Not golxc's to enter, and not stopped either.
		if err := c.notRunByLXC(); err != nil {
			return 1, err
		}
		return 1, &ErrNotRunning{Name: c.Name}
	}
	if err != nil {
		return 1, err
	}
	defer conn.Close()
	// What does not depend on the monitor's answers is had meanwhile:
	// the host's cgroup layout, and root's helper itself, launched into
	// the cgroup its container's record names (the monitor's answer must
	// name the same, or it goes). Its Go start-up, the longest step of
	// an attach, then runs beside all that lxc-attach does before the
	// request.
	layout := sync.OnceValues(hostLayout)
	go layout()
	early := c.launchEarly(o, layout)
	defer early.close()
	var ptyLog *os.File
	if o.PtyLog != "" {
		// Created (0600) and appended to whether or not a pty is
		// needed, as LXC's -L does.
		ptyLog, err = monitor.OpenAppend(o.PtyLog, 0o600)
		if err != nil {
			return 1, fmt.Errorf("pty log: %w", err)
		}
		defer ptyLog.Close()
	}
	pidfd, info, err := conn.PidFD()
	if err != nil {
		if info != nil && info.State != "" && info.State != monitor.Running {
			return 1, &ErrNotRunning{Name: c.Name}
		}
		if errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE) || errors.Is(err, io.EOF) {
			// A monitor that hung up: the container stopped while this
			// asked (a stop whose monitor was closing its socket).
			if again, derr := c.dial(); errors.Is(derr, monitor.ErrNotRunning) {
				return 1, &ErrNotRunning{Name: c.Name}
			} else if derr == nil {
				again.Close()
			}
		}
		return 1, err
	}
	defer unix.Close(pidfd)
	// A frozen container's tasks do not run: a join would wait on them
	// for ever (LXC's does). Refused at once, whether the monitor froze
	// it or its cgroup was frozen by hand.
	if info.State == monitor.Frozen || info.State == monitor.Freezing {
		return 1, c.frozenError(info.State)
	}
	hostCgroups, layoutErr := layout()
	if layoutErr == nil && info.Cgroup != "" {
		if frozen, err := hostCgroups.Group(info.Cgroup).Frozen(); err == nil && frozen {
			return 1, c.frozenError(monitor.Frozen)
		}
	}
	// Whatever is read about the init is read through its pidfd, never
	// through a pid number a socket reported.
	proc, err := namespace.OpenProc(pidfd)
	if errors.Is(err, unix.ESRCH) {
		return 1, &ErrNotRunning{Name: c.Name}
	}
	if err != nil {
		return 1, fmt.Errorf("container %s's init: %w", c.Name, err)
	}
	defer proc.Close()
	// A container in a user namespace of its own is always entered
	// through it: the command is then its root (or -u's), never the
	// host's, whatever -s names.
	sameUser, err := proc.SharesNamespace("user")
	if err != nil {
		return 1, fmt.Errorf("container %s's init: %w", c.Name, err)
	}
	if !sameUser {
		// The forked child joins it holding no more than the bounding
		// set, which works only for a namespace root owns (see
		// RunAttachHelper).
		owner, err := proc.UserNamespaceOwner()
		if err != nil {
			return 1, fmt.Errorf("container %s's init: %w", c.Name, err)
		}
		if want := uint32(os.Geteuid()); owner != want {
			return 1, fmt.Errorf("the user namespace of %s's init is owned by uid %d, not uid %d: lxc-attach does not join it", c.Name, owner, want)
		}
	}
	// The command joins the container's cgroups whatever namespaces it
	// joins, unless -e CGROUP asks otherwise: outside them, in the
	// container's pid namespace, it would be a process the container's
	// root can ptrace and use past the container's limits (its devices
	// cgroup above all). (LXC's -s implies -e; golxc's does not.)
	var group *cgroup.Group
	if o.Elevated&ElevateCgroup == 0 {
		if info.Cgroup == "" {
			return 1, fmt.Errorf("the monitor of %s reported no cgroup", c.Name)
		}
		if layoutErr != nil {
			return 1, layoutErr
		}
		group = hostCgroups.Group(info.Cgroup)
		if info.InitCgroup != "" {
			group = hostCgroups.Group(info.InitCgroup)
		}
		// The helper is cloned straight into group (a vfork): one frozen
		// there, or being frozen (by the container's root, through a
		// cgroup2 mount of its own, in an inner group), would hold the
		// clone until a thaw. Checked for the payload and the group the
		// command joins; the wait for the launch is bounded too, for a
		// freeze that comes after this.
		if cgroup2Freezes(hostCgroups, info.Cgroup, group.Name()) {
			return 1, c.frozenError(monitor.Frozen)
		}
	}

	term, err := openAttachTerminal(proc)
	if err != nil {
		return 1, err
	}
	stdio := []*os.File{os.Stdin, os.Stdout, os.Stderr}
	ctty := -1
	var isTTY [3]bool
	if term != nil {
		defer term.Close()
		term.log = ptyLog
		for i := range stdio {
			if term.isTTY[i] {
				isTTY[i] = true
				stdio[i] = term.slave
				if ctty < 0 {
					ctty = i
				}
			}
		}
	}
	if term != nil && !sameUser {
		// The slave is the opener's, the host's root: unmapped in the
		// container's user namespace. It becomes its root's, as a pty
		// of the container's own is.
		if err := chownToMappedRoot(proc, term.slave); err != nil {
			return 1, err
		}
	}
	nulls, err := replaceHostNull(proc, stdio, isTTY)
	if err != nil {
		return 1, err
	}
	defer nulls.close()

	// The helper launched early, if it is in the cgroups the monitor
	// named, else one started now, gets stdio and the pidfd, beside what
	// this process still reads for the request (the config, a round
	// trip to the monitor, the init's status): it does nothing of the
	// container's before that request. The launch waits for the
	// helper's exec, on a thread of its own.
	var h *attachHelper
	var launchErr error
	launched := make(chan struct{})
	go func() {
		defer close(launched)
		if h = early.take(group); h == nil {
			if h, launchErr = c.launchHelper(nil, hostCgroups, group); launchErr != nil {
				return
			}
		}
		launchErr = h.give(stdio, pidfd)
	}()
	stuck := false
	defer func() {
		if stuck {
			return // the launch waits in the kernel: the process's exit ends it
		}
		<-launched
		if h != nil {
			h.close()
		}
	}()
	// Signals that come while the command starts are held, then passed
	// on once it runs. Registered on a goroutine of their own: the first
	// Notify starts a thread for the runtime's signal mask and waits for
	// it, which need not hold up the request.
	sigs := make(chan os.Signal, 8)
	notified := make(chan struct{})
	go func() {
		defer close(notified)
		signal.Notify(sigs, forwardedSignals...)
	}()
	defer func() {
		<-notified
		signal.Stop(sigs)
	}()

	// lxc.environment applies to attached commands too, read from the
	// config as it is now, as LXC does. A config gone bad must not make
	// a running container unreachable: it is then left out.
	var confEnv []string
	var cfg *config.Config
	if o.RCFile != "" || c.Defined() {
		cfg, err = c.LoadConfig(o.RCFile, nil)
		switch {
		case err == nil:
			confEnv = cfg.Environment
		case o.Warn != nil:
			o.Warn(fmt.Sprintf("%v: lxc.environment not applied", err))
		}
	}
	conf, err := c.runningConfinement(conn, cfg, o.Warn)
	conn.Close()
	if err != nil {
		return 1, err
	}
	// The attached command gets the running init's bounding set: what the
	// container was started with, whatever its config file says now.
	status, err := proc.ReadFile("status", 1<<20)
	if err != nil {
		return 1, err
	}
	keep, err := security.BoundingFromStatus(status)
	if err != nil {
		return 1, fmt.Errorf("container %s's init: %w", c.Name, err)
	}
	flags := o.Namespaces
	if flags == 0 {
		flags = namespace.AttachFlags
	}
	flags &^= unix.CLONE_NEWUSER
	filter, nnp := attachConfinement(conf, o.Elevated, !sameUser, keep, o.Warn)
	uid, gid := o.UID, o.GID
	if uid < 0 {
		uid = 0
	}
	if gid < 0 {
		gid = 0
	}
	req := attachRequest{
		Options:    o,
		Namespaces: flags,
		Bounding:   keep,
		UID:        uid,
		GID:        gid,
		Env:        attachedEnv(o, os.Environ(), confEnv),
		CTTY:       ctty,
		JoinUser:   !sameUser,
		Seccomp:    filter,
		NoNewPrivs: nnp,
	}
	if o.Elevated&ElevateLSM == 0 {
		if req.LSM, err = security.InitLabel(security.DetectLSM("/"), func(name string) ([]byte, error) { return proc.ReadFile(name, 4096) }); err != nil {
			return 1, err
		}
	}
	if len(o.Command) == 0 {
		// The user's shell is needed: the container's /etc/passwd is
		// read here, through the init's root, so the helper inside the
		// container opens no file of the container's.
		req.Passwd = readPasswd(proc)
	}
	req.Options.RCFile = ""

	select {
	case <-launched:
	case <-time.After(attachTimeout):
		stuck = true
		early.abandon()
		return 1, fmt.Errorf("the attach helper did not start within %v (the container's cgroup frozen since?)", attachTimeout)
	}
	if launchErr != nil {
		return 1, launchErr
	}
	<-notified
	child, err := h.start(req)
	if term != nil {
		// The helper and the command hold the slave now; with this copy
		// closed, the master reads EIO once they are gone.
		term.slave.Close()
	}
	nulls.started()
	if err != nil {
		var ae *AttachError
		if errors.As(err, &ae) {
			return ae.Code, err
		}
		return 1, err
	}
	if term != nil {
		stop := term.proxy()
		defer stop() // the caller's terminal back, on every way out
		code := waitForwarding(child, sigs, term)
		stop()
		return code, nil
	}
	return waitForwarding(child, sigs, nil), nil
}

// attachRequest is what lxc-attach asks its helper to do. The helper is
// a re-exec of this very binary: both go in package pack's form, which
// the helper decodes without learning the types first as encoding/json
// would; the report comes from a process that has entered the container,
// and is decoded as hostile.
type attachRequest struct {
	Options    AttachOptions
	Namespaces int      // clone flags to join
	Bounding   []string // the capability bounding set to keep, unless -e CAP
	UID, GID   int
	Env        []string // the command's environment
	CTTY       int      // the standard fd to make the controlling terminal, or -1
	Passwd     []byte   // the container's /etc/passwd, when needed
	// JoinUser: the init is in a user namespace of its own, which the
	// forked command joins (the helper cannot: it has threads).
	JoinUser bool
	// Seccomp is the filter the command is loaded with before its exec
	// (seccomp.Encode's form; none: no filter), NoNewPrivs whether it
	// gets no_new_privs.
	Seccomp    []byte
	NoNewPrivs bool
	// Dir is the command's working directory in the container; "" keeps
	// the helper's.
	Dir string
	// LSM is the security modules' label the command's exec gets: the
	// init's, unless -e LSM.
	LSM security.Label
	// Groups are the command's supplementary groups; none when empty.
	Groups []uint32
	// Rlimits are set by the helper just before its fork of the
	// command: the helper's own open-files limit is what the Go runtime
	// raised at its start, which its fork would otherwise pass on.
	Rlimits []specs.POSIXRlimit
}

// attachReport is the helper's one message to lxc-attach.
type attachReport struct {
	Pid   int  // the command's process, once forked
	Hop   int  // the child that forked it into the pid namespace, exited
	Done  bool // the command exec'd (else Pid, if any, has exited or is exiting)
	Error string
	Code  int // lxc-attach's exit code for Error
}

// attachHelper is the helper lxc-attach started, waiting for its
// request.
type attachHelper struct {
	c    *Container
	cmd  *exec.Cmd
	ctl  *os.File // SOCK_SEQPACKET: the helper's fds and report
	reqW *os.File // the request pipe's write end
	// reported: the helper answered, and exits by itself.
	reported bool
}

// earlyHelper is a helper launched before the monitor answered, into the
// cgroups the container's record names.
type earlyHelper struct {
	group string // the cgroup it was born in; "" when none was launched
	done  chan struct{}
	h     *attachHelper
	taken bool
	// abandoned: the launch may be stuck in the kernel; close must not
	// wait for it.
	abandoned atomic.Bool
}

// launchEarly launches root's helper into the cgroups the container's
// record names, when there is one of a running container and the
// command is to join its cgroups: a helper does nothing before it is
// given stdio and the pidfd, which happens only once the monitor's
// answer named the same cgroups (take).
func (c *Container) launchEarly(o AttachOptions, layout func() (*cgroup.Layout, error)) *earlyHelper {
	e := &earlyHelper{}
	if os.Geteuid() != 0 || o.Elevated&ElevateCgroup != 0 {
		return e
	}
	rec, err := monitor.ReadRecord(c.LXCPath, c.Name)
	if err != nil || rec.State != monitor.Running || rec.Payload == "" {
		return e
	}
	e.group = rec.Payload
	if rec.InitCgroup != "" {
		e.group = rec.InitCgroup
	}
	e.done = make(chan struct{})
	go func() {
		defer close(e.done)
		// golxc's protected copy and the layout, each on its own.
		type selfResult struct {
			f   *os.File
			err error
		}
		selfc := make(chan selfResult, 1)
		go func() {
			f, err := namespace.ProtectedSelf()
			selfc <- selfResult{f, err}
		}()
		l, err := layout()
		self := <-selfc
		if err != nil || self.err != nil || cgroup2Freezes(l, rec.Payload, e.group) {
			if self.f != nil {
				self.f.Close()
			}
			return
		}
		e.h, _ = c.launchHelper(self.f, l, l.Group(e.group))
	}()
	return e
}

// cgroup2Freezes reports whether any of the groups is frozen or being
// frozen in the cgroup2 hierarchy of l: a process cloned into it would
// freeze before its exec, and the clone (a vfork) with it, until a thaw.
// Attach refuses such a container once the monitor has answered; the
// early launch must not wait for a thaw before that.
func cgroup2Freezes(l *cgroup.Layout, names ...string) bool {
	if l.Unified == "" {
		return false
	}
	for _, n := range names {
		g := l.Group(n)
		if frozen, err := g.Frozen(); err == nil && frozen {
			return true
		}
		if freezing, err := g.Freezing(); err == nil && freezing {
			return true
		}
	}
	return false
}

// take returns the early helper if it was born in group, nil if there
// is none or it is in other cgroups (then closed).
func (e *earlyHelper) take(group *cgroup.Group) *attachHelper {
	if e.done == nil {
		return nil
	}
	<-e.done
	if e.h == nil {
		return nil
	}
	if group == nil || group.Name() != e.group {
		e.h.close()
		e.h = nil
		return nil
	}
	e.taken = true
	return e.h
}

// abandon makes close return at once: the launch is stuck in the kernel
// (a clone into a group frozen meanwhile), and only the exit of this
// process ends it.
func (e *earlyHelper) abandon() { e.abandoned.Store(true) }

// close ends the early helper unless it was taken.
func (e *earlyHelper) close() {
	if e.done == nil || e.abandoned.Load() {
		return
	}
	<-e.done
	if e.h != nil && !e.taken {
		e.h.close()
	}
}

// launchHelper runs the helper from golxc protected against rewriting
// through /proc/PID/exe (a read-only overlay, else a sealed copy), in
// the container's cgroups (group; nil: none). It then waits for the
// command's stdio and the init's pidfd (give), then for its request
// (start). The helper stays in the host's pid namespace
// and is not dumpable before it forks into the container's, so no
// process of the container sees it before then; its forked child, which
// the container does see until its exec, runs the same protected file.
// layout nil: the helper is moved into group from here (golxc-runc
// exec). self is namespace.ProtectedSelf's file, which launchHelper
// closes; nil: it makes one.
func (c *Container) launchHelper(self *os.File, layout *cgroup.Layout, group *cgroup.Group) (*attachHelper, error) {
	if self == nil {
		var err error
		if self, err = namespace.ProtectedSelf(); err != nil {
			return nil, err
		}
	}
	defer self.Close()
	// Root's helper steps into the container's cgroups itself, with the
	// files opened here; a user's is moved in from here (a delegated
	// cgroup2 group may refuse a clone into it where a write of
	// cgroup.procs works), as is one whose layout the caller did not
	// give.
	var cgFiles []*os.File
	var unified *os.File
	closeCgroups := func() {
		for _, f := range cgFiles {
			f.Close()
		}
		cgFiles = nil
		if unified != nil {
			unified.Close()
			unified = nil
		}
	}
	defer closeCgroups()
	if group != nil && layout != nil && os.Geteuid() == 0 {
		var err error
		cgFiles, unified, err = openAttachCgroups(layout, group)
		if err != nil {
			return nil, fmt.Errorf("cgroups of %s: %w", c.Name, err)
		}
	}
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("request pipe: %w", err)
	}
	defer reqR.Close()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		reqW.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// Non-blocking on this side, for read deadlines: a helper stuck in
	// the container (a file system that never answers) must not hang
	// lxc-attach.
	if err := unix.SetNonblock(pair[0], true); err != nil {
		unix.Close(pair[0])
		unix.Close(pair[1])
		reqW.Close()
		return nil, fmt.Errorf("control socket: %w", err)
	}
	ctl := os.NewFile(uintptr(pair[0]), "attach control")
	helperCtl := os.NewFile(uintptr(pair[1]), "attach control (helper)")
	defer helperCtl.Close()
	fail := func(err error) (*attachHelper, error) {
		ctl.Close()
		reqW.Close()
		return nil, err
	}
	extra := []*os.File{reqR, helperCtl, self}
	if len(extra)+3 != helperSelfFD+1 || helperCgroupFD != helperSelfFD+1 {
		panic("attach helper fds out of order")
	}
	extra = append(extra, cgFiles...)
	helper := func(cgroupFD *os.File) *exec.Cmd {
		cmd := &exec.Cmd{
			Path: namespace.ExecPath(helperSelfFD),
			Args: []string{"lxc-attach", AttachHelperArg, strconv.Itoa(len(cgFiles))},
			// The helper's own: its Go runtime reads no host cgroup
			// file and starts few threads. The command's environment
			// comes in the request. Its stdio are the host's
			// /dev/null until give.
			Env:        []string{"GODEBUG=containermaxprocs=0,updatemaxprocs=0", "GOMAXPROCS=1"},
			ExtraFiles: extra,
		}
		if cgroupFD != nil {
			// Born in the container's cgroup2 group (clone3
			// CLONE_INTO_CGROUP); the directory stays this
			// process's, never the helper's, and so never the
			// command's, which a container's root could catch
			// holding it before its exec.
			cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cgroupFD.Fd())}
		}
		return cmd
	}
	cmd := helper(unified)
	err = cmd.Start()
	// Moved by pid only when it was born outside its cgroups (a user's,
	// a layout not given): on a host with cgroup2 alone there are no v1
	// files, and the clone put it in already.
	moveHelper := group != nil && len(cgFiles) == 0 && unified == nil
	if err != nil && unified != nil && (errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.E2BIG)) {
		// A kernel without clone3 into a cgroup (before 5.7): the
		// helper is moved into the container's cgroups below.
		cmd = helper(nil)
		err = cmd.Start()
		moveHelper = true
	}
	if err != nil {
		return fail(fmt.Errorf("start the attach helper: %w", err))
	}
	h := &attachHelper{c: c, cmd: cmd, ctl: ctl, reqW: reqW}
	// A user's helper is moved into the container's cgroups before it
	// reads its request, so the command it forks is born there: at no
	// time is a process in the container's pid namespace outside them.
	if moveHelper {
		if err := group.Enter(cmd.Process.Pid); err != nil {
			_ = cmd.Process.Kill()
			h.close()
			return nil, fmt.Errorf("join cgroups of %s: %w", c.Name, err)
		}
	}
	return h, nil
}

// give hands the helper the command's stdio and the init's pidfd.
func (h *attachHelper) give(stdio []*os.File, pidfd int) error {
	fds := make([]int, 0, attachFDs)
	for _, f := range stdio {
		fds = append(fds, int(f.Fd()))
	}
	fds = append(fds, pidfd)
	if len(fds) != attachFDs {
		return fmt.Errorf("attach helper: %d fds to give, want %d", len(fds), attachFDs)
	}
	rc, err := h.ctl.SyscallConn()
	if err != nil {
		return fmt.Errorf("give the attach helper its fds: %w", err)
	}
	var serr error
	werr := rc.Write(func(fd uintptr) bool {
		serr = unix.Sendmsg(int(fd), []byte(attachFDsMsg), unix.UnixRights(fds...), nil, 0)
		return serr != unix.EAGAIN
	})
	runtime.KeepAlive(stdio)
	if err := errors.Join(werr, serr); err != nil {
		return fmt.Errorf("give the attach helper its fds: %w", err)
	}
	return nil
}

// close tells the helper to give up, if it still waits (its control
// socket and request pipe close; killed, in case it was born frozen),
// and waits for it. A helper that has reported exits by itself and is
// reaped in the background: its exit drops the last hold on golxc's
// overlay, whose teardown can wait for an RCU grace period (up to 18
// ms measured on a loaded host), which lxc-attach's own exit need not
// wait for (if it exits first, the helper is reaped by init).
func (h *attachHelper) close() {
	if h.cmd == nil {
		return
	}
	h.reqW.Close()
	h.ctl.Close()
	cmd := h.cmd
	h.cmd = nil
	if h.reported {
		go func() { _ = cmd.Wait() }()
		return
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
}

// start sends the helper its request and returns the command it forked,
// exec'd and running.
func (h *attachHelper) start(req attachRequest) (*os.Process, error) {
	cmd, ctl := h.cmd, h.ctl
	deadline := time.Now().Add(attachTimeout)
	_ = ctl.SetReadDeadline(deadline)
	b, err := pack.Marshal(req)
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("encode attach request: %w", err)
	}
	reqW := h.reqW
	go func() {
		_, _ = reqW.Write(b)
		reqW.Close()
	}()

	rep, err := readReport(ctl)
	if err != nil {
		_ = cmd.Process.Kill()
		return nil, err
	}
	h.reported = true
	if rep.Pid <= 0 {
		if rep.Hop > 0 && rep.Hop != cmd.Process.Pid {
			// The child that failed to join (a user's attach) is
			// this process's: reaped, if it is one.
			var si unix.Siginfo
			_ = unix.Waitid(unix.P_PID, rep.Hop, &si, unix.WEXITED, nil)
		}
		return nil, rep.err()
	}
	// The pid comes from the helper, over a socket a process of the
	// container could have reached (the forked child holds it for a few
	// instructions before it closes every fd): it must be this process's
	// own child (CLONE_PARENT), and not the helper, before anything is
	// done to it.
	if rep.Pid == cmd.Process.Pid {
		return nil, fmt.Errorf("attach helper reported its own pid %d as the command's", rep.Pid)
	}
	var si unix.Siginfo
	if err := unix.Waitid(unix.P_PID, rep.Pid, &si, unix.WEXITED|unix.WNOHANG|unix.WNOWAIT, nil); err != nil {
		return nil, fmt.Errorf("attach helper reported pid %d, not a child of lxc-attach: %w", rep.Pid, err)
	}
	if rep.Hop != 0 {
		// The child that forked the command into the pid namespace (a
		// user's attach), this process's child too, has exited: reaped
		// here, and only if it is one.
		if rep.Hop == rep.Pid || rep.Hop == cmd.Process.Pid {
			return nil, fmt.Errorf("attach helper reported pid %d twice", rep.Hop)
		}
		if err := unix.Waitid(unix.P_PID, rep.Hop, &si, unix.WEXITED, nil); err != nil {
			return nil, fmt.Errorf("attach helper reported pid %d, not a child of lxc-attach: %w", rep.Hop, err)
		}
	}
	child, err := os.FindProcess(rep.Pid)
	if err != nil {
		return nil, fmt.Errorf("attached process %d: %w", rep.Pid, err)
	}
	if !rep.Done {
		// It failed before its exec and exits.
		_, _ = child.Wait()
		return nil, rep.err()
	}
	return child, nil
}

// openAttachCgroups opens, for the helper, the tasks file of group in
// each v1 hierarchy of layout (write-only), and for the helper's clone
// the group's cgroup2 directory (nil when there is no cgroup2
// hierarchy). A group missing from a hierarchy is an error: the command
// would run outside the container's limits there.
func openAttachCgroups(layout *cgroup.Layout, group *cgroup.Group) (tasks []*os.File, unified *os.File, err error) {
	paths := group.Paths()
	var v1 []string
	for k, p := range paths {
		if k != "unified" && !slices.Contains(v1, p) {
			v1 = append(v1, p)
		}
	}
	if len(v1) != len(layout.V1) || (paths["unified"] != "") != (layout.Unified != "") {
		return nil, nil, fmt.Errorf("group %s is not in every cgroup hierarchy of the host", group.Name())
	}
	if len(v1) > maxCgroupTasks {
		return nil, nil, fmt.Errorf("%d cgroup v1 hierarchies: lxc-attach enters at most %d", len(v1), maxCgroupTasks)
	}
	slices.Sort(v1)
	fail := func(err error) ([]*os.File, *os.File, error) {
		for _, f := range tasks {
			f.Close()
		}
		return nil, nil, err
	}
	for _, d := range v1 {
		f, err := cgroup.OpenTasks(d)
		if err != nil {
			return fail(err)
		}
		tasks = append(tasks, f)
	}
	if paths["unified"] != "" {
		if unified, err = group.OpenUnified(); err != nil {
			return fail(err)
		}
	}
	return tasks, unified, nil
}

// attachTimeout bounds the helper's way into the container, from its
// start to the command's exec.
const attachTimeout = 30 * time.Second

// readReport reads one message of the helper.
func readReport(ctl *os.File) (*attachReport, error) {
	buf := make([]byte, 64<<10)
	n, err := ctl.Read(buf)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("attach helper exited without a word")
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return nil, fmt.Errorf("the attach helper did not get into the container within %v (a file system in it that does not answer?)", attachTimeout)
		}
		return nil, fmt.Errorf("read attach helper: %w", err)
	}
	var r attachReport
	if err := pack.Unmarshal(buf[:n], &r); err != nil {
		return nil, fmt.Errorf("decode attach helper's report: %w", err)
	}
	return &r, nil
}

func (r *attachReport) err() error {
	msg := r.Error
	if msg == "" {
		msg = "attach helper failed"
	}
	if r.Code != 0 {
		return &AttachError{Code: r.Code, Err: errors.New(msg)}
	}
	return errors.New(msg)
}

func unwrapExec(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// findInPath resolves cmd against the PATH of env, as a shell would: 127
// when it is nowhere, 126 when found but not executable.
func findInPath(cmd string, env []string) (string, error) {
	check := func(p string) error {
		st, err := os.Stat(p)
		if err != nil {
			return err
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return syscall.EACCES
		}
		return nil
	}
	if strings.Contains(cmd, "/") {
		if err := check(cmd); err != nil {
			code := 127
			if errors.Is(err, syscall.EACCES) {
				code = 126
			}
			return "", &AttachError{Code: code, Err: fmt.Errorf("%s: %w", cmd, unwrapExec(err))}
		}
		return cmd, nil
	}
	path := defaultPath
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	denied := false
	for _, dir := range filepath.SplitList(path) {
		p := filepath.Join(dir, cmd)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			continue // a shell skips directories on PATH
		}
		err := check(p)
		if err == nil {
			return p, nil
		}
		if errors.Is(err, syscall.EACCES) {
			denied = true
		}
	}
	if denied {
		return "", &AttachError{Code: 126, Err: fmt.Errorf("%s: permission denied", cmd)}
	}
	return "", &AttachError{Code: 127, Err: fmt.Errorf("%s: command not found", cmd)}
}

// passwdMax bounds how much of the container's /etc/passwd is read.
const passwdMax = 1 << 20

// readPasswd reads the container's /etc/passwd through its init's root:
// resolved inside that root, checked to be a regular file through an
// O_PATH descriptor before it is opened for reading (a FIFO must not
// hang lxc-attach, and opening a device has effects of its own), at
// most passwdMax bytes. nil when there is none to read.
func readPasswd(proc *namespace.Proc) []byte {
	pfd, err := proc.OpenInRoot("etc/passwd", unix.O_PATH)
	if err != nil {
		return nil
	}
	defer unix.Close(pfd)
	return readRegular(pfd, passwdMax)
}

// readRegular reads at most max bytes of the file open as O_PATH
// descriptor pfd, if it is a regular file; nil otherwise.
func readRegular(pfd int, max int64) []byte {
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), "passwd")
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, max))
	return b
}

// passwdEntry finds uid's home and shell in passwd (the container's
// /etc/passwd, or nil); shellExists says whether a shell named there
// exists (in the container, as the caller sees it).
func passwdEntry(passwd []byte, uid int, shellExists func(string) bool) (home, shell string) {
	home, shell = "/root", "/bin/sh"
	if uid != 0 {
		home = "/"
	}
	for _, line := range strings.Split(string(passwd), "\n") {
		fields := strings.Split(line, ":")
		if len(fields) < 7 || fields[2] != strconv.Itoa(uid) {
			continue
		}
		if fields[5] != "" {
			home = fields[5]
		}
		if fields[6] != "" && shellExists(fields[6]) {
			shell = fields[6]
		}
		return
	}
	return
}

// forwardedSignals are those a sysadmin sends lxc-attach that it passes
// on to the command. The command is in a session of its own, so a
// terminal's Ctrl-C reaches it only this way (or through its own pty).
var forwardedSignals = []os.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGINT, syscall.SIGQUIT}

// waitForwarding waits for the attached process, passing on sigs, and
// returns the shell-style exit status. With a pty, SIGWINCH becomes the
// pty's new size instead (the kernel then signals the command).
func waitForwarding(p *os.Process, sigs chan os.Signal, term *attachTerminal) int {
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if s == syscall.SIGWINCH && term != nil {
					term.copySize()
					continue
				}
				_ = p.Signal(s)
			case <-done:
				return
			}
		}
	}()
	st, err := p.Wait()
	close(done)
	if err != nil {
		return 1
	}
	ws, _ := st.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}
