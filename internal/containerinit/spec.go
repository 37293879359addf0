// Package containerinit starts a container's first process: the parent side
// spawns a re-exec of golxc in new namespaces and feeds it a Spec over a
// sync socket; the child side (the "init stage") builds the root
// filesystem, the console and ttys, confines itself and execs the
// container's init. Nothing here knows LXC's config syntax or the monitor.
package containerinit

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/hooks"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/security"
)

// StageArg is argv[1] of a re-exec that runs the init stage.
const StageArg = "__init"

// Spec is what the init stage does: an OCI runtime spec for everything OCI
// models, plus the few LXC notions it has no field for.
type Spec struct {
	OCI specs.Spec `json:"oci"`
	// Console allocates a pty in the container's devpts, binds its slave
	// on /dev/console, makes it init's stdio and controlling terminal, and
	// hands the master to the parent. Without it init keeps the stdio the
	// parent gave it (lxc-execute).
	Console bool `json:"console,omitempty"`
	// TTYs ptys are bound on /dev/tty1..N, their masters sent to the parent.
	TTYs int `json:"ttys,omitempty"`
	// TTYDir (lxc.tty.dir) puts the console and ttys under /dev/TTYDir,
	// with /dev/console bound and /dev/ttyN symlinks to them.
	TTYDir string `json:"ttyDir,omitempty"`
	// PTYs (lxc.pty.max), when > 0, caps the ptys the container may open
	// beyond its console and ttys: its devpts gets max= of all three.
	PTYs int `json:"ptys,omitempty"`
	// Devpts mounts a new devpts instance on /dev/pts.
	Devpts bool `json:"devpts,omitempty"`
	// DevptsInMounts, with Devpts, says OCI.Mounts already mount the new
	// instance on /dev/pts (in their order, which OCI keeps): only
	// /dev/ptmx is pointed at it.
	DevptsInMounts bool `json:"devptsInMounts,omitempty"`
	// DevSymlinks makes /dev/fd, stdin, stdout, stderr (autodev).
	DevSymlinks bool `json:"devSymlinks,omitempty"`
	// WrapInit runs Process.Args under golxc's own init, which reaps
	// zombies, forwards signals and exits with the command's status.
	WrapInit bool `json:"wrapInit,omitempty"`
	// Terminal, with WrapInit, lists the command's standard descriptors
	// (0, 1, 2) where the caller has a terminal. A host terminal never
	// crosses into the container (with it, TIOCSTI types into the host's
	// shell): those descriptors get a pty of the container's devpts
	// instead, the command's controlling terminal, whose master goes to
	// the parent as the console to proxy. Process.ConsoleSize, when set,
	// is its window size before the command runs.
	Terminal []int `json:"terminal,omitempty"`
	// Seccomp is the system call filter init runs under (from
	// lxc.seccomp.profile); nil for none. OCI's own seccomp section
	// names system calls; this is the program already compiled, so the
	// init stage does no parsing.
	Seccomp *Seccomp `json:"seccomp,omitempty"`
	// LSM is the security modules' label the exec of init runs under
	// (lxc.apparmor.profile, lxc.selinux.context), and the context of the
	// session keyring made for it.
	LSM security.Label `json:"lsm,omitzero"`
	// RootIDMap, with a user namespace (OCI.Linux.UIDMappings), mounts
	// the rootfs idmapped (mount_setattr(2) MOUNT_ATTR_IDMAP) through a
	// user namespace: "container" is the container's own, anything else
	// the path of a user namespace file (lxc.rootfs.options = idmap=).
	// A file owned by host id N then shows as owned by the id that N is
	// in that namespace mapped from.
	RootIDMap string `json:"rootIDMap,omitempty"`
	// RootStore, when set, is an lxc.rootfs.path that is no plain
	// directory (overlay:LOWER:UPPER, loop:FILE): the stage mounts it in
	// the container's mount namespace, so it goes with the container.
	RootStore string `json:"rootStore,omitempty"`
	// JoinIDs are the identities of the namespaces to join (those of
	// OCI.Linux.Namespaces with a Path) as the caller found them: the
	// parent checks that the path it opens is still that namespace (a
	// /proc/PID path whose process has exited names another, or none).
	JoinIDs map[specs.LinuxNamespaceType]namespace.NamespaceID `json:"joinIDs,omitempty"`
	// ProcFiles (lxc.proc.*) are written to init's /proc/PID files.
	// OCI.Process.Rlimits (lxc.prlimit.*) and OCI.Linux.Sysctl
	// (lxc.sysctl.*) are set by the init stage too, before its exec.
	ProcFiles []ProcFile `json:"procFiles,omitempty"`
	// SetGroups sets the supplementary groups to
	// OCI.Process.User.AdditionalGids (none when empty) before the switch
	// of user, as an OCI runtime must; without it init keeps the groups it
	// was spawned with (LXC's behaviour).
	SetGroups bool `json:"setGroups,omitempty"`
	// IDMapMounts are the mounts of OCI.Mounts the parent makes idmapped
	// (see IDMapMount); the stage attaches them in place of mounting.
	IDMapMounts []IDMapMount `json:"idmapMounts,omitempty"`
	// Hooks are the lxc.hook.* commands the init stage runs itself, in
	// the container's namespaces; nil for none.
	Hooks *StageHooks `json:"hooks,omitempty"`
}

// StageHooks are the hooks of a start that run in the container's
// namespaces, each at LXC's moment (lxc.container.conf(5), CONTAINER
// HOOKS): pre-mount before the rootfs is mounted, mount once the mounts
// are made, autodev once /dev is made (with an autodev /dev only), all
// three from the host's filesystem; start just before init's exec, from
// the container's own root, confined as init is.
type StageHooks struct {
	Container hooks.Container `json:"container"`
	PreMount  []string        `json:"preMount,omitempty"`
	Mount     []string        `json:"mount,omitempty"`
	Autodev   []string        `json:"autodev,omitempty"`
	Start     []string        `json:"start,omitempty"`
	// MountPoint, when set, is where the mount and autodev hooks find
	// the rootfs (their LXC_ROOTFS_MOUNT, as LXC's lxc.rootfs.mount): a
	// container with a user namespace of its own, whose root may not
	// walk the path to the rootfs's directory. An empty directory the
	// caller made; the pre-mount hooks find it empty.
	MountPoint string `json:"mountPoint,omitempty"`
	// OCICreateContainer are an OCI container's createContainer hooks
	// (runtime-spec config.md): run in its mount namespace once its
	// mounts are made, before the pivot, their paths the host's.
	OCICreateContainer []specs.Hook `json:"ociCreateContainer,omitempty"`
	// OCIStartContainer are its startContainer hooks: run once started
	// (past the gate), in the container's namespaces and root, just
	// before the exec of its process.
	OCIStartContainer []specs.Hook `json:"ociStartContainer,omitempty"`
	// OCIState is the container's state JSON the OCI hooks get on their
	// stdin, its "pid" filled in by the stage (its pid as the host sees
	// it, which only the stage knows for certain).
	OCIState []byte `json:"ociState,omitempty"`
	// state is OCIState with the pid, made once before the pivot.
	state []byte
	// runtimeRoot and runtimeDir are the stage's root and working
	// directory as they were before any namespace was joined: the
	// createContainer hooks' paths resolve there (openRuntimeRoot).
	runtimeRoot int
	runtimeDir  string
}

// commands returns the stage's hooks of kind.
func (h *StageHooks) commands(kind hooks.Kind) []string {
	if h == nil {
		return nil
	}
	switch kind {
	case hooks.PreMount:
		return h.PreMount
	case hooks.Mount:
		return h.Mount
	case hooks.Autodev:
		return h.Autodev
	case hooks.Start:
		return h.Start
	}
	return nil
}

// Seccomp is a compiled seccomp filter and how to load it.
type Seccomp struct {
	// Program is the classic BPF program, as seccomp.Encode packs it.
	Program []byte `json:"program"`
	// AllowNesting loads the filter even when the init stage already
	// runs under one (lxc.seccomp.allow_nesting); without it such a
	// start loads none, as LXC does.
	AllowNesting bool `json:"allowNesting,omitempty"`
	// Notify, for a program with notify actions, is where their
	// notifications go (lxc.seccomp.notify.*): the stage hands the
	// filter's listener to its parent, which forwards them.
	Notify *SeccompNotify `json:"notify,omitempty"`
}

// SeccompNotify is lxc.seccomp.notify.proxy and .cookie.
type SeccompNotify struct {
	Proxy  string `json:"proxy"`
	Cookie string `json:"cookie,omitempty"`
}

// hasConsole says whether the init stage allocates a console pty: for
// /dev/console, or for the command's terminal.
func (s *Spec) hasConsole() bool { return s.Console || len(s.Terminal) > 0 }

// devptsMax is the devpts max= option: 0 for no cap. LXC mounts its
// instance with lxc.pty.max + lxc.tty.max (its console comes from the
// host's devpts); golxc's console is in the container's own instance, so
// it counts one more, and the container keeps lxc.pty.max for itself.
func (s *Spec) devptsMax() int {
	if s.PTYs <= 0 {
		return 0
	}
	n := s.PTYs + s.TTYs
	if s.hasConsole() {
		n++
	}
	return n
}

// HasNamespace reports whether the spec asks for a new namespace of type t.
func (s *Spec) HasNamespace(t specs.LinuxNamespaceType) bool {
	if s.OCI.Linux == nil {
		return false
	}
	for _, ns := range s.OCI.Linux.Namespaces {
		if ns.Type == t && ns.Path == "" {
			return true
		}
	}
	return false
}
