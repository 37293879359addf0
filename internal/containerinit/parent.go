package containerinit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/pack"
	"github.com/golxc/golxc/internal/seccomp"
)

// namespacesOnly is the part of a Spec the parent reads: the namespaces,
// the id maps, the rootfs and its idmapping, and whether the init stage
// stays as golxc's init. A view of the caller's Spec: the maps it takes
// from a joined user namespace (joinedMaps) are the view's alone.
type namespacesOnly struct {
	OCI struct {
		Root  *specs.Root
		Linux struct {
			Namespaces  []specs.LinuxNamespace
			UIDMappings []specs.LinuxIDMapping
			GIDMappings []specs.LinuxIDMapping
		}
	}
	WrapInit    bool
	Hooks       *StageHooks
	IDMapMounts []IDMapMount
	RootIDMap   string
	Seccomp     *Seccomp
	JoinIDs     map[specs.LinuxNamespaceType]namespace.NamespaceID
	ProcFiles   []ProcFile
}

// viewOf is what the parent reads of s.
func viewOf(s *Spec) *namespacesOnly {
	ns := &namespacesOnly{WrapInit: s.WrapInit, Hooks: s.Hooks, IDMapMounts: s.IDMapMounts, RootIDMap: s.RootIDMap,
		Seccomp: s.Seccomp, JoinIDs: s.JoinIDs, ProcFiles: s.ProcFiles}
	ns.OCI.Root = s.OCI.Root
	if l := s.OCI.Linux; l != nil {
		ns.OCI.Linux.Namespaces, ns.OCI.Linux.UIDMappings, ns.OCI.Linux.GIDMappings = l.Namespaces, l.UIDMappings, l.GIDMappings
	}
	return ns
}

// userns says whether the spec asks for a user namespace of its own.
func (ns *namespacesOnly) userns() bool {
	for _, n := range ns.OCI.Linux.Namespaces {
		if n.Type == specs.UserNamespace && n.Path == "" {
			return true
		}
	}
	return false
}

// joinedAtSpawn are the namespaces to join (a Path) that a process with
// threads cannot enter, which the stage therefore is born in
// (namespace.Spawn): user and time.
func (ns *namespacesOnly) joinedAtSpawn() []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, t := range []specs.LinuxNamespaceType{specs.UserNamespace, specs.TimeNamespace} {
		for _, n := range ns.OCI.Linux.Namespaces {
			if n.Type == t && n.Path != "" {
				out = append(out, n)
			}
		}
	}
	return out
}

// pidJoinPath is the path of the pid namespace to join, "" for a pid
// namespace of the container's own (or the monitor's).
func pidJoinPath(ns *namespacesOnly) string {
	path := ""
	for _, n := range ns.OCI.Linux.Namespaces {
		if n.Type == specs.PIDNamespace && n.Path != "" {
			path = n.Path
		}
	}
	return path
}

// openJoined opens the namespace file path, of type t, to join, and
// checks that it is the namespace the start was asked to join (JoinIDs):
// the process whose /proc/PID/ns it is may have exited since, and its pid
// gone to a process of another namespace.
func (ns *namespacesOnly) openJoined(t specs.LinuxNamespaceType, path string) (int, error) {
	want, ok := ns.JoinIDs[t]
	if !ok {
		return -1, fmt.Errorf("joining %s namespace %s: the spec does not say which namespace it must be", t, path)
	}
	return openNamespaceAt(t, path, want)
}

// openNamespaceAt opens the namespace file path, of type t, and checks
// that it is want. The path is looked at through an O_PATH descriptor
// first, which opens nothing: a FIFO put in its place since (whose open
// would block) is refused by its identity, and only then is the file
// opened for real, through that descriptor.
func openNamespaceAt(t specs.LinuxNamespaceType, path string, want namespace.NamespaceID) (int, error) {
	pfd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s namespace %s: %w", t, path, err)
	}
	defer unix.Close(pfd)
	if got, err := namespace.FDNamespace(pfd); err != nil || got != want {
		return -1, fmt.Errorf("%s is no longer the %s namespace the start was asked to join (its process exited?)", path, t)
	}
	fd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s namespace %s: %w", t, path, err)
	}
	return fd, nil
}

// sharedUser says whether the spec joins another's user namespace.
func (ns *namespacesOnly) sharedUser() bool {
	for _, n := range ns.OCI.Linux.Namespaces {
		if n.Type == specs.UserNamespace && n.Path != "" {
			return true
		}
	}
	return false
}

// cloneFlags are the namespaces the child is spawned in. The cgroup
// namespace is not among them: the child unshares it once it is in its
// cgroups (a namespace made at clone time would be rooted where the child
// was born). Joined namespaces (a Path) are the child's to enter.
func (ns *namespacesOnly) cloneFlags() (uintptr, error) {
	var flags uintptr
	for _, n := range ns.OCI.Linux.Namespaces {
		k, ok := namespace.ByOCI(n.Type)
		if !ok {
			return 0, fmt.Errorf("unknown namespace type %q", n.Type)
		}
		if n.Path != "" || n.Type == specs.CgroupNamespace {
			continue
		}
		flags |= uintptr(k.Flag)
	}
	return flags, nil
}

// sealedFD is where the init stage finds the sealed copy of golxc it was
// exec'd from (ExtraFiles[1]).
const sealedFD = syncFD + 1

// StartOptions says how to start a container's init.
type StartOptions struct {
	// Spec is what the init stage does; Start and the functions that
	// look at StartOptions only read it.
	Spec *Spec
	// PackedSpec, when set, is Spec in package pack's form, the very
	// bytes Spec was unpacked from: the stage gets them as they are,
	// not packed again (a shared monitor holds each container's spec
	// packed; packing it again was a seventh of its Go work a start).
	PackedSpec []byte
	// Stdin, Stdout, Stderr of init; nil is the container's /dev/null.
	// With Spec.Console init gets the console instead once its root is
	// built, and with Spec.Terminal the command gets its terminal there.
	Stdin, Stdout, Stderr *os.File
	// Enter puts the child into the container's cgroups while it waits for
	// its spec, before it does anything.
	Enter func(pid int) error
	// Network, called after Enter while the child still waits, builds
	// the interfaces of its new network namespace from the host's side:
	// they are there before anything of the container runs.
	Network func(pid int) error
	// Delegate, with a user namespace, hands the container's cgroups to
	// the host ids its root maps to (in maps), so that its init (systemd)
	// can manage them, as LXC does for its payload cgroup. It runs once
	// the maps are written.
	Delegate func(maps namespace.IDMaps) error
	// Configured, called once the child has built the container (its
	// /dev and ptys) and before it execs init, applies what must come
	// after that setup: the device cgroup, which may refuse the very
	// nodes the setup makes, and the init's prlimits and /proc files.
	Configured func(pid int) error
	// StartHost, when set, runs once the container is set up and its
	// start hooks have run, before init's exec: the start-host hooks.
	StartHost func(pid int) error
	// Spawned, when set, is given the stage's pidfd as soon as the stage
	// exists, before the hand-over: a caller that must stop a start that
	// never finishes (a start hook that hangs) signals it; the descriptor
	// is only good until Start returns (dup it to keep it).
	Spawned func(pidfd int)
	// CgroupFD, when >= 0, is a cgroup2 directory the child is born in
	// (clone3 CLONE_INTO_CGROUP), saving a migration.
	CgroupFD int
	// FewFDs: a caller holding many descriptors (a shared monitor of
	// many containers) has the stage cloned from a thread of its own
	// whose descriptor table holds only the stage's files
	// (namespace.StartProcessFewFDs), rather than copied whole by the
	// clone and closed again by the stage's exec. PrepareThread, when
	// set, runs on that thread just before the clone (see there). A
	// detached stage only, cloned from the caller's process (not one
	// joining namespaces); otherwise, or when the table is not big, the
	// stage is cloned from the caller's thread and PrepareThread is not
	// run.
	FewFDs        bool
	PrepareThread func() error
	// Detached makes an init that outlives its caller: no parent-death
	// signal, so that an OCI runtime's create can exit and leave the init
	// to its own caller (containerd's shim, a subreaper), which reaps it.
	Detached bool
	// Gate, when set, is the read end of a FIFO (opened O_RDONLY|
	// O_NONBLOCK) the init stage waits on, set up and its command looked
	// up, before its exec: Start returns once the stage is ready, and one
	// byte written to the FIFO later lets the command run (an OCI
	// runtime's create and start). EOF without a byte makes it exit.
	Gate *os.File
	// Report, with Gate, is a FIFO (opened read-write) the stage writes
	// its own failure to once past the gate (a startContainer hook, the
	// exec); its exec closes it unwritten.
	Report *os.File

	// Warnf, when set, logs what goes wrong after the start in what the
	// monitor keeps serving (a seccomp notify proxy refused).
	Warnf func(format string, args ...any)

	// Self, when set, is the binary to exec the stage from, made ahead
	// (PrepareSelf) for these very options.
	Self *PreparedSelf

	sealed bool // the init stage runs from a sealed copy of golxc
}

// Process is a started container init.
type Process struct {
	Pid     int
	PidFD   int // a pidfd of init, owned by the Process
	Console *os.File
	TTYs    []*os.File
	// WaitOnThread makes Wait block a thread of its own in wait4, which
	// the kernel wakes as init ends, rather than wait on the pidfd
	// through Go's poller: for a monitor of one container (lxc-execute,
	// lxc-start -F), which has the thread to spare.
	WaitOnThread bool
	cmd          *exec.Cmd
	// pin, when set, keeps the thread that spawned init into a joined
	// pid namespace (and is init's parent-death parent) until Close.
	pin chan struct{}
}

// ClonesFromCaller reports whether Start clones the init stage from the
// calling thread: not when it joins a user, time or pid namespace at
// spawn (a pinned thread of its own clones it then). No spec says no;
// Start reports the error.
func ClonesFromCaller(o StartOptions) bool {
	if o.Spec == nil {
		return false
	}
	ns := viewOf(o.Spec)
	return len(ns.joinedAtSpawn()) == 0 && pidJoinPath(ns) == ""
}

// spawnerDroppable are capabilities that neither the init stage nor
// anything it runs before the container's command needs: mounts, device
// nodes, ownership, sysctls, the loopback, rlimits, the switch of user
// and the capability drop itself take none of them.
func spawnerDroppable() []string {
	return []string{"CAP_SYS_MODULE", "CAP_SYS_TIME", "CAP_SYS_BOOT", "CAP_SYS_RAWIO", "CAP_SYSLOG",
		"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_CONTROL", "CAP_AUDIT_READ", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN",
		"CAP_SYS_PACCT", "CAP_SYS_TTY_CONFIG", "CAP_BPF", "CAP_PERFMON", "CAP_CHECKPOINT_RESTORE"}
}

// SpawnerDrops lists the capabilities the thread that clones the init
// stage may drop from its bounding set first, for a stage that stays as
// golxc's init (lxc-execute): it then starts without them, and has fewer
// to drop on each of its runtime's threads (a stop of every thread each).
// Only those spawnerDroppable the container drops too, and none for a
// stage that runs hooks, applies a security module's label, joins or
// makes a user namespace or waits at a gate. The thread must not run
// anything else after (its bounding set is the container's).
func SpawnerDrops(o StartOptions) []string {
	s := o.Spec
	if o.Gate != nil || o.StartHost != nil || s == nil {
		return nil
	}
	ns := viewOf(s)
	if !s.WrapInit || s.Hooks != nil || !s.LSM.Empty() || ns.userns() || ns.sharedUser() ||
		len(ns.joinedAtSpawn()) > 0 || s.OCI.Process == nil || s.OCI.Process.Capabilities == nil {
		return nil
	}
	var drop []string
	for _, c := range spawnerDroppable() {
		if !slices.Contains(s.OCI.Process.Capabilities.Bounding, c) {
			drop = append(drop, c)
		}
	}
	return drop
}

// selfFor is what makes the binary the init stage of ns is exec'd from,
// nil for golxc's own.
func selfFor(ns *namespacesOnly, o StartOptions) func() (*os.File, error) {
	if !ns.WrapInit && (ns.Hooks == nil || len(ns.Hooks.Start) == 0) && o.Gate == nil && len(ns.joinedAtSpawn()) == 0 {
		return nil
	}
	// golxc's own init stays PID 1 of the container, whose root can
	// then reach its binary through /proc/1/exe: the host's golxc,
	// to read, or to rewrite once nothing runs it (CVE-2019-5736).
	// It runs from one nobody can write instead. So does a stage that runs
	// start hooks, programs of the container's, before its exec, and
	// one that waits at the gate: meanwhile a process exec'd into the
	// container, or one of another container sharing its pid
	// namespace (a pod), can reach it. So does one spawned into a
	// joined user namespace (spawnJoined), whose root is another
	// container's: run from a readable file it would be dumpable,
	// and traceable from there; the copy is execute-only, which
	// makes it not (SealedSelfExecOnly). An init stage that execs the
	// container's init with nothing of the container run before is
	// spared the copy.
	//
	// In a pid namespace of its own, nothing else runs before the
	// stage's first act (nonDumpable), and nothing needs more than a
	// binary that cannot be written: golxc's directory under a
	// read-only overlay (ProtectedSelf) gives that without the copy.
	// A joined pid namespace has another container's processes in it
	// from the first moment, and a stage at the gate is waited for
	// (oci.Runtime.Start) until its exe is no longer a memfd: both
	// keep the copy.
	switch {
	case len(ns.joinedAtSpawn()) > 0:
		return namespace.SealedSelfExecOnly
	case pidJoinPath(ns) != "" || o.Gate != nil:
		return namespace.SealedSelf
	}
	return namespace.ProtectedSelf
}

// PreparedSelf is the binary an init stage is to be exec'd from, made in
// the background (PrepareSelf).
type PreparedSelf struct {
	done chan struct{}
	f    *os.File
	err  error
}

// PrepareSelf starts making the binary the init stage of o will be
// exec'd from (the overlay or sealed copy Start makes, ~0.5 ms), for
// StartOptions.Self, while the caller does other work; nil when the
// stage needs none. Start closes it.
func PrepareSelf(o StartOptions) *PreparedSelf {
	if o.Spec == nil {
		return nil
	}
	self := selfFor(viewOf(o.Spec), o)
	if self == nil {
		return nil
	}
	p := &PreparedSelf{done: make(chan struct{})}
	go func() {
		p.f, p.err = self()
		close(p.done)
	}()
	return p
}

// Close releases what Start did not take.
func (p *PreparedSelf) Close() {
	if p == nil {
		return
	}
	<-p.done
	if p.f != nil {
		p.f.Close()
		p.f = nil
	}
}

// Start spawns the init stage in new namespaces, feeds it the spec and
// returns once the container's init has been exec'd, or with the init
// stage's own error (e.g. a mount that failed, an init not found).
func Start(o StartOptions) (*Process, error) {
	defer o.Self.Close()
	if o.Spec == nil {
		return nil, errors.New("start container init: no spec")
	}
	ns := viewOf(o.Spec)
	flags, err := ns.cloneFlags()
	if err != nil {
		return nil, err
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sync socketpair: %w", err)
	}
	parent := pair[0]
	// A message is one datagram, at most the sender's buffer (~200 KiB
	// by default): room for the largest spec taken (maxMessage), which
	// only root may force past net.core.wmem_max.
	if unix.SetsockoptInt(parent, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, maxMessage) != nil {
		_ = unix.SetsockoptInt(parent, unix.SOL_SOCKET, unix.SO_SNDBUF, maxMessage)
	}
	childEnd := os.NewFile(uintptr(pair[1]), "sync")
	defer childEnd.Close()

	cmd := exec.Command("/proc/self/exe", StageArg)
	cmd.ExtraFiles = []*os.File{childEnd}
	if self := selfFor(ns, o); self != nil {
		var sealed *os.File
		if o.Self != nil {
			<-o.Self.done
			sealed, err = o.Self.f, o.Self.err
			o.Self.f = nil
		} else {
			sealed, err = self()
		}
		if err != nil {
			unix.Close(parent)
			return nil, err
		}
		defer sealed.Close()
		cmd.Path = namespace.ExecPath(sealedFD)
		cmd.ExtraFiles = append(cmd.ExtraFiles, sealed)
		o.sealed = true
	}
	cmd.Args[0] = "golxc-init"
	// containermaxprocs=0: the Go runtime otherwise keeps the host's
	// cgroup CPU limit files open for the process's whole life
	// (runtime/cgroup_linux.go), and golxc's init stays PID 1 of an
	// application container, whose /proc/1/fd would hand them over.
	cmd.Env = []string{"GODEBUG=containermaxprocs=0"}
	if o.Detached {
		cmd.Env = append(cmd.Env, detachedEnv+"=1")
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = o.Stdin, o.Stdout, o.Stderr
	pidfd := -1
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags: flags,
		// A session of its own: the caller's controlling terminal (that
		// of lxc-start -F or lxc-execute) must not be the container's,
		// which /dev/tty would open and TIOCSTI type into.
		Setsid: true,
		PidFD:  &pidfd,
	}
	if !o.Detached {
		// The container must not outlive its supervisor unseen: if the
		// monitor dies, so does init, and with it the pid namespace.
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	user := ns.userns() && os.Geteuid() != 0
	if user {
		// A user's maps go through newuidmap/newgidmap once the stage
		// exists (handshake): it is born unmapped, keeping its
		// namespace's capabilities across the exec.
		attr, err := namespace.UnmappedAttr(flags)
		if err != nil {
			unix.Close(parent)
			return nil, err
		}
		cmd.SysProcAttr.Cloneflags = attr.Cloneflags
		cmd.SysProcAttr.AmbientCaps = attr.AmbientCaps
	} else if ns.userns() {
		// Written by Go between clone and exec, as root may (the
		// monitor is root): the stage then starts as the namespace's
		// root, with every capability in it. Without Credential it would
		// exec as the unmapped overflow uid and lose them all.
		cmd.SysProcAttr.UidMappings = namespace.SysProcIDMap(ns.OCI.Linux.UIDMappings)
		cmd.SysProcAttr.GidMappings = namespace.SysProcIDMap(ns.OCI.Linux.GIDMappings)
		cmd.SysProcAttr.GidMappingsEnableSetgroups = true
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: 0, Gid: 0}
	}
	if o.CgroupFD >= 0 {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = o.CgroupFD
	}
	pidJoin := pidJoinPath(ns)
	var err2 error
	var pin chan struct{}
	var p *Process
	switch {
	case len(ns.joinedAtSpawn()) > 0:
		p, err2 = spawnJoined(cmd, ns, flags, pidJoin, o)
	case pidJoin != "":
		pin, err2 = startInPidNamespace(cmd, pidJoin, ns.JoinIDs[specs.PIDNamespace], o.Detached)
	default:
		var pid int
		var prepare func() error
		if o.FewFDs && o.Detached {
			prepare = o.PrepareThread
			if prepare == nil {
				prepare = func() error { return nil }
			}
		}
		if pid, err2 = startStage(cmd, prepare, o.Stdin, o.Stdout, o.Stderr); err2 == nil {
			p = &Process{Pid: pid, PidFD: pidfd}
		}
	}
	if err2 != nil {
		unix.Close(parent)
		return nil, fmt.Errorf("spawn container init: %w", err2)
	}
	childEnd.Close()
	if p == nil {
		p = &Process{Pid: cmd.Process.Pid, PidFD: pidfd, cmd: cmd, pin: pin}
	}
	if o.Spawned != nil {
		o.Spawned(p.PidFD)
	}
	if err := p.handshake(parent, o, ns); err != nil {
		unix.Close(parent)
		p.abort()
		return nil, err
	}
	unix.Close(parent)
	return p, nil
}

func (p *Process) handshake(sock int, o StartOptions, ns *namespacesOnly) error {
	if o.Enter != nil {
		if err := o.Enter(p.Pid); err != nil {
			return err
		}
	}
	if o.Network != nil {
		if err := o.Network(p.Pid); err != nil {
			return err
		}
	}
	packed := o.PackedSpec
	if packed == nil {
		var err error
		if packed, err = pack.Marshal(o.Spec); err != nil {
			return fmt.Errorf("encode the spec: %w", err)
		}
	}
	m := &message{Type: "spec", Spec: packed, Configure: o.Configured != nil, StartHost: o.StartHost != nil}
	var fds []int
	if ns.userns() || ns.sharedUser() {
		_, uok := namespace.HostID(ns.OCI.Linux.UIDMappings, 0)
		_, gok := namespace.HostID(ns.OCI.Linux.GIDMappings, 0)
		if !uok || !gok {
			return errors.New("the user namespace maps no root (uid and gid 0)")
		}
		maps := namespace.IDMaps{UID: ns.OCI.Linux.UIDMappings, GID: ns.OCI.Linux.GIDMappings}
		if os.Geteuid() != 0 {
			// newuidmap/newgidmap write the ranges /etc/subuid and
			// /etc/subgid grant; the stage waits for the spec. The
			// stage clones its rootfs's mount itself: only its own
			// mount namespace is its to mount in.
			if err := namespace.WriteMaps(p.Pid, maps); err != nil {
				return err
			}
			m.BecomeRoot = true
		}
		if o.Delegate != nil {
			if err := o.Delegate(maps); err != nil {
				return err
			}
		}
		if ns.OCI.Root != nil && ns.OCI.Root.Path != "" && !m.BecomeRoot {
			root, err := rootTree(ns.OCI.Root.Path, p.Pid, ns.RootIDMap)
			if err != nil {
				return err
			}
			defer unix.Close(root)
			m.RootFD = true
			fds = []int{root}
		}
	}
	if o.sealed {
		m.SealedFD = sealedFD
	}
	for fd, f := range []*os.File{o.Stdin, o.Stdout, o.Stderr} {
		if f == nil {
			m.NullFDs = append(m.NullFDs, fd)
		}
	}
	// Namespaces to join (lxc.namespace.share.*) are opened here, on the
	// host's side, and entered by the stage through the descriptors.
	for _, n := range ns.OCI.Linux.Namespaces {
		if n.Path == "" || n.Type == specs.PIDNamespace || n.Type == specs.UserNamespace || n.Type == specs.TimeNamespace {
			// A pid namespace was joined at the spawn (setns of one
			// only sets where the caller's children are born), and so
			// were user and time (refused to a process with threads).
			continue
		}
		fd, err := ns.openJoined(n.Type, n.Path)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		fds = append(fds, fd)
		m.Join = append(m.Join, n.Type)
	}
	if len(ns.IDMapMounts) > 0 {
		if m.BecomeRoot {
			return errors.New("idmapped mounts take host root: not for a user other than root")
		}
		trees, err := idmapMountTrees(ns.IDMapMounts, rootDir(ns.OCI.Root), p.Pid)
		if err != nil {
			return err
		}
		for _, t := range trees {
			defer unix.Close(t)
		}
		fds = append(fds, trees...)
		m.IDMapFDs = len(trees)
	}
	if o.Gate != nil {
		fds = append(fds, int(o.Gate.Fd()))
		m.Gate = true
		if o.Report != nil {
			fds = append(fds, int(o.Report.Fd()))
			m.Report = true
		}
	}
	if err := send(sock, m, fds); err != nil {
		return err
	}
	// Each step is answered once, in its order: after the start hooks
	// the container's root may drive this socket through the stage.
	done := map[string]bool{}
	for {
		// A start hook (the container's program, as its root) can take a
		// copy of the stage's end of the socket: the stage's own end is
		// then not the last, and its exit (or its exec) no EOF here. The
		// stage's exit is watched on its pidfd too.
		if err := waitMessage(sock, p.PidFD); err != nil {
			return err
		}
		m, files, err := recv(sock)
		if err != nil {
			return err
		}
		if m == nil {
			return nil // EOF: the sync socket closed on exec
		}
		switch m.Type {
		case "error":
			return errors.New(m.Error)
		case "ready":
			if o.Gate == nil {
				return errors.New("unexpected \"ready\" message from the init stage")
			}
			return nil
		case "ptys":
			if done["ptys"] {
				for _, f := range files {
					f.Close()
				}
				return errors.New("unexpected second \"ptys\" message from the init stage")
			}
			done["ptys"] = true
			i := 0
			if m.Console && len(files) > 0 {
				p.Console = files[0]
				i = 1
			}
			p.TTYs = append(p.TTYs, files[i:]...)
		case "notify":
			if done["notify"] || len(files) != 1 || ns.Seccomp == nil || ns.Seccomp.Notify == nil {
				for _, f := range files {
					f.Close()
				}
				return errors.New("unexpected \"notify\" message from the init stage")
			}
			done["notify"] = true
			px := &seccomp.Proxy{Addr: ns.Seccomp.Notify.Proxy, Cookie: ns.Seccomp.Notify.Cookie, MonitorPID: os.Getpid(), InitPID: p.Pid,
				Owner: os.Geteuid(), Warnf: o.Warnf}
			fd, err := unix.FcntlInt(files[0].Fd(), unix.F_DUPFD_CLOEXEC, 0)
			files[0].Close()
			if err != nil {
				return fmt.Errorf("seccomp listener: %w", err)
			}
			// Ends once nothing runs under the filter any more.
			go func() { _ = px.Serve(fd) }()
		case "configured", "start-host":
			step := o.Configured
			if m.Type == "start-host" {
				step = o.StartHost
			}
			if step == nil || done[m.Type] || m.Type == "start-host" && o.Configured != nil && !done["configured"] {
				return fmt.Errorf("unexpected %q message from the init stage", m.Type)
			}
			done[m.Type] = true
			if err := step(p.Pid); err != nil {
				return err
			}
			if err := send(sock, &message{Type: "go"}, nil); err != nil {
				return err
			}
		default:
			for _, f := range files {
				f.Close()
			}
			return fmt.Errorf("unexpected %q message from the init stage", m.Type)
		}
	}
}

// startInPidNamespace starts cmd as a process of the pid namespace at
// path (checked to be want): setns of a pid namespace moves no process,
// it says where the caller's next children are born, so it is done on a
// thread of its own that then spawns the child and is never used again
// (its goroutine ends locked, and the thread with it). The parent-death
// signal of a start that is not detached is that thread's: it is kept,
// parked, until the returned channel is closed (Process.Close), so init
// dies with its monitor, not with the thread.
func startInPidNamespace(cmd *exec.Cmd, path string, want namespace.NamespaceID, detached bool) (chan struct{}, error) {
	var pin chan struct{}
	if !detached {
		pin = make(chan struct{})
		// Go's fork sets the parent-death signal and then kills the
		// child whose getppid is not its parent's pid, which it never
		// is from inside another pid namespace (0): the stage sets it
		// itself, first thing (RunStage), for this pinned thread.
		cmd.SysProcAttr.Pdeathsig = 0
	}
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread's children are born in the joined
		// namespace, so it must not serve other goroutines.
		fd, err := openNamespaceAt(specs.PIDNamespace, path, want)
		if err != nil {
			done <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWPID); err != nil {
			done <- fmt.Errorf("join pid namespace %s: %w", path, err)
			return
		}
		err = cmd.Start()
		done <- err
		if err == nil && pin != nil {
			<-pin
		}
	}()
	if err := <-done; err != nil {
		return nil, err
	}
	return pin, nil
}

// startStage starts cmd (its path, arguments, environment, extra files
// and SysProcAttr, which asks for a pidfd) with stdio as its descriptors
// 0-2, a nil one closed, as cmd.Start would, but through
// syscall.StartProcess: os.StartProcess first checks, once in a process's
// life, that pidfds work by cloning a child and waiting for it, ~0.5-1.3
// ms measured on the path of every lxc-execute. The pidfd asked for says
// as much on its own. prepare not nil: the caller asks for
// StartOptions.FewFDs, prepare being its PrepareThread.
func startStage(cmd *exec.Cmd, prepare func() error, stdio ...*os.File) (int, error) {
	files := make([]uintptr, 0, len(stdio)+len(cmd.ExtraFiles))
	for _, f := range append(stdio, cmd.ExtraFiles...) {
		files = append(files, f.Fd()) // a nil *os.File's is ^0: closed
	}
	attr := &syscall.ProcAttr{Env: cmd.Env, Files: files, Sys: cmd.SysProcAttr}
	// A shared monitor of many containers holds thousands of
	// descriptors, which a clone from its own table would copy and the
	// stage's exec close again.
	var pid int
	ok := false
	var err error
	if prepare != nil {
		pid, ok, err = namespace.StartProcessFewFDs(cmd.Path, cmd.Args, attr, prepare)
	}
	if !ok {
		pid, _, err = syscall.StartProcess(cmd.Path, cmd.Args, attr)
	}
	runtime.KeepAlive(stdio)
	runtime.KeepAlive(cmd.ExtraFiles)
	if err != nil {
		return 0, fmt.Errorf("fork/exec %s: %w", cmd.Path, err)
	}
	return pid, nil
}

// abort kills and reaps a child whose start failed.
func (p *Process) abort() {
	if p.cmd != nil {
		_ = p.cmd.Process.Kill()
	} else {
		_ = unix.PidfdSendSignal(p.PidFD, unix.SIGKILL, nil, 0)
	}
	p.Wait()
	p.Close()
}

// spawnJoined starts the stage of cmd (its path, arguments, environment,
// standard and extra files) as namespace.Spawn does: a raw fork of the
// monitor joins the user and time namespaces to share (and the pid one,
// where the stage is born), makes the container's new namespaces (flags)
// under them, and execs the stage, a child of the monitor. Each namespace
// is opened here and checked to be the one the start was asked to join.
func spawnJoined(cmd *exec.Cmd, ns *namespacesOnly, flags uintptr, pidJoin string, o StartOptions) (*Process, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("joining a user or time namespace is not supported yet for a user other than root")
	}
	var join []int
	var joinTypes []specs.LinuxNamespaceType
	defer func() {
		for _, fd := range join {
			unix.Close(fd)
		}
	}()
	for _, n := range ns.joinedAtSpawn() {
		fd, err := ns.openJoined(n.Type, n.Path)
		if err != nil {
			return nil, err
		}
		join = append(join, fd)
		joinTypes = append(joinTypes, n.Type)
	}
	if pidJoin != "" {
		// Last: the stage is born in it, from the first child, which
		// joins it as the owner of the user namespace joined before.
		fd, err := ns.openJoined(specs.PIDNamespace, pidJoin)
		if err != nil {
			return nil, err
		}
		join = append(join, fd)
		joinTypes = append(joinTypes, specs.PIDNamespace)
	}
	var files []int
	for _, f := range []*os.File{o.Stdin, o.Stdout, o.Stderr} {
		if f == nil {
			null, err := os.Open(os.DevNull)
			if err != nil {
				return nil, err
			}
			defer null.Close()
			f = null
		}
		files = append(files, int(f.Fd()))
	}
	for _, f := range cmd.ExtraFiles {
		files = append(files, int(f.Fd()))
	}
	s := namespace.SpawnSpec{Path: cmd.Path, Argv: cmd.Args, Env: cmd.Env, Files: files, Join: join,
		BecomeRoot: ns.sharedUser(), Unshare: flags &^ (unix.CLONE_NEWPID | unix.CLONE_NEWUSER),
		NewPID: flags&unix.CLONE_NEWPID != 0, Setsid: true}
	// Not detached, the stage's parent-death signal (set by the stage
	// itself, RunStage) follows the thread that spawned it: kept parked.
	pid, pin, err := namespace.SpawnLocked(s, !o.Detached)
	var je *namespace.JoinError
	if errors.As(err, &je) && je.Index < len(joinTypes) {
		t := joinTypes[je.Index]
		path := pidJoin
		for _, n := range ns.joinedAtSpawn() {
			if n.Type == t {
				path = n.Path
			}
		}
		how := ""
		if je.Errno == unix.EPERM && t != specs.UserNamespace && ns.sharedUser() {
			how = " (it is not owned by the user namespace joined)"
		}
		return nil, fmt.Errorf("join %s namespace %s: %w%s", t, path, je.Errno, how)
	}
	var ee *namespace.ExecError
	if errors.As(err, &ee) && ee.Errno == unix.EINVAL && (ee.Op == "setresgid 0" || ee.Op == "setresuid 0") {
		// The joined namespace's maps have no uid or gid 0 (or none at
		// all): there is no root of it to become.
		return nil, fmt.Errorf("the user namespace joined (%s) maps no root (uid and gid 0): the container's root must be its", userPath(ns))
	}
	if err != nil {
		return nil, err
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		// Still an unreaped child of this process: its pid is its own.
		_ = unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		_, _ = unix.Wait4(pid, &ws, 0, nil)
		if pin != nil {
			close(pin)
		}
		return nil, fmt.Errorf("pidfd of the init stage: %w", err)
	}
	p := &Process{Pid: pid, PidFD: pidfd, pin: pin}
	// Run from the execute-only copy, the stage's /proc/PID files are
	// host root's: lxc.proc.* is written here, from the host, into this
	// unreaped child's, and the stage checks the values took
	// (applyProcFiles). Written with the host's privilege, a value the
	// stage could not set itself (a negative oom_score_adj) takes: the
	// values are the administrator's config, as LXC's monitor writes them
	// too.
	for _, f := range ns.ProcFiles {
		if f.Name != "" && !strings.Contains(f.Name, "/") && strings.Trim(f.Name, ".") != "" {
			_ = writeProc("/proc/"+strconv.Itoa(pid)+"/"+f.Name, f.Value)
		}
	}
	// The stage is checked to be where it was asked to be, through its
	// pidfd, before anything is handed to it.
	if err := inJoined(pidfd, ns, pidJoin != ""); err != nil {
		p.abort()
		return nil, err
	}
	if ns.sharedUser() {
		if err := joinedMaps(pidfd, ns); err != nil {
			p.abort()
			return nil, err
		}
	}
	if o.CgroupFD >= 0 {
		// Not born in the cgroup (no clone3 here): moved into it.
		if err := moveToCgroup(o.CgroupFD, pid); err != nil {
			p.abort()
			return nil, err
		}
	}
	return p, nil
}

// userPath is the path of the user namespace ns joins.
func userPath(ns *namespacesOnly) string {
	for _, n := range ns.OCI.Linux.Namespaces {
		if n.Type == specs.UserNamespace {
			return n.Path
		}
	}
	return ""
}

// joinedMaps reads the maps of the user namespace joined from the stage
// of pidfd, which is in it (inJoined): the spec's maps, when it gives
// any, must be the same (they are the container's: its root's host ids,
// its rootfs's owners), and when it gives none they are taken. A maps
// file is written once, so they are the namespace's for good.
func joinedMaps(pidfd int, ns *namespacesOnly) error {
	proc, err := namespace.OpenProc(pidfd)
	if err != nil {
		return err
	}
	defer proc.Close()
	var got [2][]specs.LinuxIDMapping
	for i, name := range []string{"uid_map", "gid_map"} {
		b, err := proc.ReadFile(name, 64<<10)
		if err != nil {
			return err
		}
		if got[i], err = namespace.ParseMapFile(string(b)); err != nil {
			return fmt.Errorf("%s of the user namespace joined: %w", name, err)
		}
	}
	l := &ns.OCI.Linux
	if len(l.UIDMappings) == 0 && len(l.GIDMappings) == 0 {
		l.UIDMappings, l.GIDMappings = got[0], got[1]
		return nil
	}
	if !namespace.SameMaps(l.UIDMappings, got[0]) || !namespace.SameMaps(l.GIDMappings, got[1]) {
		return fmt.Errorf("uidMappings and gidMappings (%s; %s) differ from the maps of the user namespace joined, %s: %s; %s", namespace.MapsText("u", l.UIDMappings),
			namespace.MapsText("g", l.GIDMappings), userPath(ns), namespace.MapsText("u", got[0]), namespace.MapsText("g", got[1]))
	}
	return nil
}

// inJoined checks that the process of pidfd is in the user and time
// namespaces ns joins (and the pid one, with pid).
func inJoined(pidfd int, ns *namespacesOnly, pid bool) error {
	proc, err := namespace.OpenProc(pidfd)
	if err != nil {
		return err
	}
	defer proc.Close()
	types := []specs.LinuxNamespaceType{}
	for _, n := range ns.joinedAtSpawn() {
		types = append(types, n.Type)
	}
	if pid {
		types = append(types, specs.PIDNamespace)
	}
	for _, t := range types {
		k, _ := namespace.ByOCI(t)
		got, err := proc.Namespace(k)
		if err != nil {
			return err
		}
		if got != ns.JoinIDs[t] {
			return fmt.Errorf("the init stage is not in the %s namespace it was spawned to join", t)
		}
	}
	return nil
}

// moveToCgroup writes pid to cgroup.procs of the cgroup2 directory dir.
func moveToCgroup(dir, pid int) error {
	fd, err := unix.Openat(dir, "cgroup.procs", unix.O_WRONLY|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("open cgroup.procs: %w", err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(strconv.Itoa(pid))); err != nil {
		return fmt.Errorf("move the init stage into its cgroup: %w", err)
	}
	return nil
}

// pollWait reaps init once its pidfd polls readable, waiting through
// Go's poller; false if it could not (Wait then blocks in wait4).
func (p *Process) pollWait(ws *unix.WaitStatus) bool {
	reaped := false
	if fd, err := unix.FcntlInt(uintptr(p.PidFD), unix.F_DUPFD_CLOEXEC, 0); err == nil {
		if err := unix.SetNonblock(fd, true); err == nil {
			f := os.NewFile(uintptr(fd), "pidfd")
			if rc, err := f.SyscallConn(); err == nil {
				// A pidfd polls readable once the process has exited; the
				// zombie is ours alone to reap, so its pid cannot be reused
				// before the wait4 below.
				_ = rc.Read(func(uintptr) bool {
					pid, err := unix.Wait4(p.Pid, ws, unix.WNOHANG, nil)
					if err == unix.EINTR {
						return false
					}
					reaped = err == nil && pid == p.Pid
					return reaped || err != nil
				})
			}
			f.Close()
		} else {
			unix.Close(fd)
		}
	}
	return reaped
}

// Wait waits for init to exit and returns how it ended. Unless
// WaitOnThread, it waits on the pidfd through Go's poller rather than in
// a blocking wait4: a thread parked in wait4 per container is memory a
// host with thousands of containers does not have to spend.
func (p *Process) Wait() syscall.WaitStatus {
	var ws unix.WaitStatus
	reaped := false
	if !p.WaitOnThread {
		reaped = p.pollWait(&ws)
	}
	if !reaped {
		for {
			_, err := unix.Wait4(p.Pid, &ws, 0, nil)
			if err != unix.EINTR {
				break
			}
		}
	}
	return syscall.WaitStatus(ws)
}

// Signal sends sig to init.
func (p *Process) Signal(sig syscall.Signal) error {
	if err := unix.PidfdSendSignal(p.PidFD, sig, nil, 0); err != nil {
		return fmt.Errorf("signal init (pid %d) with %d: %w", p.Pid, sig, err)
	}
	return nil
}

// Close releases the descriptors the parent holds for the container.
func (p *Process) Close() {
	if p.PidFD >= 0 {
		unix.Close(p.PidFD)
		p.PidFD = -1
	}
	if p.Console != nil {
		p.Console.Close()
	}
	for _, t := range p.TTYs {
		t.Close()
	}
	p.TTYs = nil
	if p.pin != nil {
		close(p.pin)
		p.pin = nil
	}
}

// waitMessage waits until sock has something to read (a message, or EOF)
// or the process of pidfd has exited.
func waitMessage(sock, pidfd int) error {
	if pidfd < 0 {
		return nil
	}
	for {
		fds := []unix.PollFd{{Fd: int32(sock), Events: unix.POLLIN}, {Fd: int32(pidfd), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("wait for the init stage: %w", err)
		}
		if fds[0].Revents != 0 {
			return nil
		}
		if fds[1].Revents != 0 {
			return errors.New("the init stage exited before the container was set up")
		}
	}
}
