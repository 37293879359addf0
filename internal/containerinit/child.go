package containerinit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/devpts"
	"github.com/golxc/golxc/internal/hooks"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/pack"
	"github.com/golxc/golxc/internal/rootfs"
	"github.com/golxc/golxc/internal/seccomp"
	"github.com/golxc/golxc/internal/security"
	"github.com/golxc/golxc/internal/storage"
)

// syncFD is where the parent puts the child's end of the sync socket
// (ExtraFiles[0]).
const syncFD = 3

// detachedEnv, set to "1" in the stage's environment, says its parent
// exits before it execs (StartOptions.Detached): no parent-death signal.
const detachedEnv = "GOLXC_INIT_DETACHED"

// RunStage is the init stage: it runs in the re-exec'd child, inside the
// new namespaces, and on success never returns (it execs the container's
// init). On failure it reports the error to the parent and exits 1.
func RunStage() {
	// Everything below must happen on one OS thread: the cgroup namespace
	// unshare, the capability bounding set and the final execve are all
	// per thread.
	runtime.LockOSThread()
	// The parent-death signal the parent asked for (Pdeathsig) was set on
	// the thread the process started with; this goroutine may run on
	// another, and the exec keeps only the thread that calls it, with its
	// own setting: a container whose monitor is killed would then live
	// on, unsupervised. Set it on this thread too. A parent already gone
	// is found by the sync socket, which then reads EOF.
	detached := os.Getenv(detachedEnv) == "1"
	if !detached {
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(unix.SIGKILL), 0, 0, 0); err != nil {
			os.Exit(1)
		}
	}
	// Not dumpable from the first moment to the exec (which makes the
	// container's program dumpable again, as any exec does): the stage
	// holds every capability and, until the pivot, the host's root, and
	// may sit in a pid namespace it joined, next to the processes of
	// whoever made it; /proc/PID of a process that is not dumpable is
	// root's, and ptrace of it needs CAP_SYS_PTRACE in its own user
	// namespace, not mere sameness of ids.
	err := nonDumpable()
	if err == nil {
		err = stage()
	}
	if err != nil {
		var late *afterGateError
		var told *reportedError
		switch {
		case errors.As(err, &told):
		case errors.As(err, &late):
			reportLate(err)
		default:
			_ = send(syncFD, &message{Type: "error", Error: err.Error()}, nil)
		}
		os.Exit(1)
	}
}

// StageComm is the command name (comm) of an init stage until its exec,
// for ps; ExecuteComm is golxc's init's under lxc-execute, which stays
// PID 1: LXC 5's lxc-execute runs its init in the process it forked, so
// ps shows its PID 1 as lxc-execute.
const (
	StageComm   = "golxc-init"
	ExecuteComm = "lxc-execute"
)

func stage() error {
	m, files, err := recv(syncFD)
	if err != nil {
		return err
	}
	if m == nil || m.Type != "spec" || m.Spec == nil {
		return fmt.Errorf("init stage: expected a spec from the parent")
	}
	spec := new(Spec)
	if err := pack.Unmarshal(m.Spec, spec); err != nil {
		return fmt.Errorf("init stage: decode spec: %w", err)
	}
	for _, f := range files {
		defer f.Close()
	}
	want := len(m.Join) + m.IDMapFDs
	if m.RootFD {
		want++
	}
	if m.Gate {
		want++
	}
	if m.Report {
		want++
	}
	if len(files) != want {
		return fmt.Errorf("init stage: %d descriptors came with the spec, want %d", len(files), want)
	}
	report := -1
	if m.Report {
		report = int(files[len(files)-1].Fd())
		files = files[:len(files)-1]
	}
	var gate *os.File
	if m.Gate {
		gate = files[len(files)-1]
		files = files[:len(files)-1]
	}
	idmapTrees := files[len(files)-m.IDMapFDs:]
	files = files[:len(files)-m.IDMapFDs]
	rootFD := -1
	if m.RootFD {
		rootFD = int(files[0].Fd())
		files = files[1:]
	}
	if m.BecomeRoot {
		tree, err := userRoot(spec)
		if err != nil {
			return err
		}
		if tree >= 0 {
			defer unix.Close(tree)
			rootFD = tree
		}
	}
	// The process's name is its main thread's (/proc/self/comm is the
	// leader's): set through /proc, the host's until a join, as this may
	// be another thread.
	comm := StageComm
	var sigs *initSignals
	if spec.WrapInit {
		comm = ExecuteComm
		// golxc's init will relay every signal: os/signal enables each
		// of some sixty with a round trip to a thread of its own, ~1 ms
		// that overlaps the set-up below instead of delaying the command.
		sigs = catchSignals()
	}
	if err := os.WriteFile("/proc/self/comm", []byte(comm), 0); err != nil {
		// Exec'd from the execute-only copy of golxc inside another
		// container's user namespace, the stage's /proc files are host
		// root's: it names this thread instead, which is the process's
		// when it is the main one.
		if !errors.Is(err, os.ErrPermission) {
			return fmt.Errorf("init stage: name itself: %w", err)
		}
		if err := unix.Prctl(unix.PR_SET_NAME, uintptr(unsafe.Pointer(&append([]byte(comm), 0)[0])), 0, 0, 0); err != nil {
			return fmt.Errorf("init stage: name itself: %w", err)
		}
	}
	// The hooks' state, from /proc while it is surely the host's: a
	// mount namespace joined below has its own.
	if err := spec.Hooks.fillState(); err != nil {
		return err
	}
	joinsMount := false
	for _, t := range m.Join {
		joinsMount = joinsMount || t == specs.MountNamespace
	}
	if joinsMount {
		if err := spec.Hooks.openRuntimeRoot(); err != nil {
			return err
		}
		// Closed by the hooks' run; this is for a failure before it.
		defer spec.Hooks.closeRuntimeRoot()
	}
	// Joined first, on this thread, which the container's init is
	// exec'd from: a namespace entered with setns is the thread's.
	for i, t := range m.Join {
		k, ok := namespace.ByOCI(t)
		if !ok {
			return fmt.Errorf("init stage: unknown namespace %q to join", t)
		}
		if err := namespace.JoinOnThread(int(files[i].Fd()), k.Flag); err != nil {
			return fmt.Errorf("join %s namespace: %w", k.Name, err)
		}
	}
	if m.SealedFD > syncFD {
		// The sealed copy of golxc this stage was exec'd from: it served
		// the exec, and PID 1 must not hold it open for the container.
		unix.Close(m.SealedFD)
	}
	for _, fd := range spec.Terminal {
		if fd < 0 || fd > 2 || !spec.WrapInit || !spec.Devpts {
			return fmt.Errorf("init stage: a terminal on fd %d needs golxc's init and the container's devpts", fd)
		}
	}
	// The parent has moved this process into the container's cgroups by
	// now, so a cgroup namespace made here is rooted there.
	if spec.HasNamespace(specs.CgroupNamespace) {
		if err := unix.Unshare(unix.CLONE_NEWCGROUP); err != nil {
			return fmt.Errorf("unshare cgroup namespace: %w", err)
		}
	}
	if err := applySysctls(spec); err != nil {
		return err
	}
	if err := applyProcFiles(spec); err != nil {
		return err
	}
	// The label files of this thread, opened while /proc is the host's:
	// the container's own /proc (or none) is all there is after the pivot.
	var attrs *security.ExecAttrs
	if !spec.LSM.Empty() {
		if attrs, err = security.OpenExecAttrs("/proc", spec.LSM); err != nil {
			return err
		}
		defer attrs.Close()
	}
	if len(idmapTrees) != len(spec.IDMapMounts) {
		return fmt.Errorf("init stage: %d idmapped mounts came, the spec has %d", len(idmapTrees), len(spec.IDMapMounts))
	}
	ptys, err := buildRoot(spec, m.NullFDs, rootFD, idmapTrees)
	if err != nil {
		return err
	}
	if spec.HasNamespace(specs.NetworkNamespace) {
		if err := loopbackUp(); err != nil {
			return err
		}
	}
	if err := handOver(spec, ptys); err != nil {
		return err
	}
	if m.Configure {
		if err := awaitConfigured(); err != nil {
			return err
		}
	}
	if err := applyRlimits(spec); err != nil {
		return err
	}
	err = execInit(spec, m.StartHost, gate, attrs, report, sigs)
	var late *afterGateError
	if report >= 0 && errors.As(err, &late) {
		// Told where RunStage tells it (the parent, else the
		// container's stderr) before the report, which lets start
		// return: the line is there by the time it does.
		reportLate(err)
		// Whoever started it is told by the stage itself; what a
		// container's program does (its name, its exit) tells nothing.
		msg := []byte(err.Error())
		if len(msg) > 4000 {
			msg = msg[:4000]
		}
		_, _ = unix.Write(report, msg)
		return &reportedError{err}
	}
	return err
}

// reportedError is an error the stage has already told (reportLate).
type reportedError struct{ error }

func (e *reportedError) Unwrap() error { return e.error }

// reportLate tells the parent of a failure past the gate, or, when the
// runtime that created the container is gone, the container's own
// stderr, the one place left.
func reportLate(err error) {
	if send(syncFD, &message{Type: "error", Error: err.Error()}, nil) != nil && os.Getenv(detachedEnv) == "1" {
		fmt.Fprintf(os.Stderr, "golxc init: %v\n", err)
	}
}

// setLabel gives the exec to come the security modules' label (attrs,
// opened by this thread) and, with a keyring context, a session keyring
// of its own made under it, as LXC makes one.
func setLabel(spec *Spec, attrs *security.ExecAttrs) error {
	if attrs == nil {
		return nil
	}
	if err := attrs.SetExec(spec.LSM); err != nil {
		return err
	}
	if spec.LSM.Keyring != "" {
		if _, _, e := unix.Syscall(unix.SYS_KEYCTL, unix.KEYCTL_JOIN_SESSION_KEYRING, 0, 0); e != 0 {
			return fmt.Errorf("make the container's session keyring: %w", e)
		}
	}
	return nil
}

// buildRoot makes the container's filesystem view and its ptys, then
// pivots into it. It returns the console (first, if any) and tty ptys.
// nullFDs are the standard descriptors the parent left on /dev/null.
// rootFD, when >= 0, is the rootfs mount tree the parent made (see
// rootTree).
func buildRoot(spec *Spec, nullFDs []int, rootFD int, idmapTrees []*os.File) ([]*devpts.PTY, error) {
	dir := ""
	if spec.OCI.Root != nil {
		dir = spec.OCI.Root.Path
	}
	var root *rootfs.Root
	if err := rootfs.MakeSlave(); err != nil {
		return nil, err
	}
	// Before the rootfs is mounted, in the container's mount namespace:
	// what the hook mounts (an encrypted rootfs, say) stays there.
	if err := runHooks(spec, hooks.PreMount); err != nil {
		return nil, err
	}
	// The name is the container's from here on: its mount hooks see it,
	// as LXC's do (its pre-mount hooks still see the host's).
	if spec.OCI.Hostname != "" && spec.HasNamespace(specs.UTSNamespace) {
		if err := unix.Sethostname([]byte(spec.OCI.Hostname)); err != nil {
			return nil, fmt.Errorf("set hostname %q: %w", spec.OCI.Hostname, err)
		}
	}
	// A rootfs on a backing store (overlay, loop) is mounted here, in the
	// container's mount namespace, after the pre-mount hooks.
	if rootFD < 0 && spec.RootStore != "" {
		store, err := storage.Parse(spec.RootStore)
		if err != nil {
			return nil, err
		}
		tree, err := storage.MountDetached(store)
		if err != nil {
			return nil, err
		}
		defer unix.Close(tree)
		rootFD = tree
	}
	if rootFD >= 0 && dir != "" {
		fd, err := attachRoot(rootFD)
		if err != nil {
			return nil, err
		}
		root = rootfs.RootFromFD(dir, fd)
	} else {
		if err := rootfs.BindRoot(dir); err != nil {
			return nil, err
		}
		rootDir := dir
		if rootDir == "" {
			rootDir = "/"
		}
		var err error
		if root, err = rootfs.OpenRoot(rootDir); err != nil {
			return nil, err
		}
	}
	defer root.Close()
	trees := map[int]*os.File{}
	for i, im := range spec.IDMapMounts {
		trees[im.Index] = idmapTrees[i]
	}
	for i, m := range spec.OCI.Mounts {
		if t := trees[i]; t != nil {
			if err := attachTree(root, int(t.Fd()), m); err != nil {
				return nil, err
			}
			continue
		}
		if err := root.Mount(m); err != nil {
			return nil, err
		}
	}
	hide := func() error { return nil }
	if mp := spec.Hooks.mountPoint(); mp != "" && rootFD >= 0 {
		// The rootfs tree (a user namespace's) is attached nowhere its
		// root may walk to: the hooks get it at the mount point.
		h, err := root.ShowAt(mp)
		if err != nil {
			return nil, err
		}
		hide = h
	}
	if err := runHooks(spec, hooks.Mount); err != nil {
		return nil, err
	}
	if spec.OCI.Linux != nil {
		for _, d := range spec.OCI.Linux.Devices {
			if err := root.Device(d); err != nil {
				return nil, err
			}
		}
	}
	if spec.DevSymlinks {
		for _, l := range [][2]string{{"/proc/self/fd", "/dev/fd"}, {"/proc/self/fd/0", "/dev/stdin"}, {"/proc/self/fd/1", "/dev/stdout"}, {"/proc/self/fd/2", "/dev/stderr"}} {
			if err := root.Symlink(l[0], l[1]); err != nil {
				return nil, err
			}
		}
		// An autodev /dev is there, its nodes made: the hook may add
		// what the container needs (lxc.hook.autodev).
		if err := runHooks(spec, hooks.Autodev); err != nil {
			return nil, err
		}
	}
	if err := hide(); err != nil {
		return nil, err
	}
	var ptys []*devpts.PTY
	if spec.Devpts {
		want := spec.TTYs
		if spec.hasConsole() {
			want++
		}
		if err := devpts.CheckAvailable(want, spec.TTYs, spec.hasConsole()); err != nil {
			return nil, err
		}
		mount := devpts.Mount
		if spec.DevptsInMounts {
			mount = func(root *rootfs.Root, _ int) error { return devpts.LinkPtmx(root) }
		}
		if err := mount(root, spec.devptsMax()); err != nil {
			return nil, err
		}
		for i := 0; i < want; i++ {
			p, err := devpts.Open(root)
			if errors.Is(err, devpts.ErrExhausted) {
				err = devpts.Shortage(want, spec.TTYs, spec.hasConsole())
			}
			if err != nil {
				return nil, err
			}
			ptys = append(ptys, p)
			var target string
			if i == 0 && spec.hasConsole() {
				// Sized before anything runs on it: a full-screen
				// program reads the size once, at its start.
				if proc := spec.OCI.Process; proc != nil && proc.ConsoleSize != nil {
					if err := p.SetSize(proc.ConsoleSize.Height, proc.ConsoleSize.Width); err != nil {
						return nil, err
					}
				}
				if !spec.Console {
					// The command's terminal (lxc-execute) is bound
					// nowhere: the command holds it as its controlling
					// terminal, which /dev/tty reaches.
					continue
				}
				target = "/dev/console"
			} else {
				n := i
				if !spec.hasConsole() {
					n++
				}
				target = fmt.Sprintf("/dev/tty%d", n)
			}
			if err := bindTTY(root, p, target, spec.TTYDir); err != nil {
				return nil, err
			}
		}
	}
	if l := spec.OCI.Linux; l != nil {
		for _, p := range l.ReadonlyPaths {
			if err := root.ReadOnly(p); err != nil {
				return nil, err
			}
		}
		for _, p := range l.MaskedPaths {
			if err := root.Mask(p); err != nil {
				return nil, err
			}
		}
	}
	if spec.DevSymlinks && dir != "" {
		// autodev: /dev is the container's own tmpfs, the place for
		// its boot id.
		if err := root.BootID(); err != nil {
			return nil, err
		}
	}
	if err := nullStdio(root, spec, nullFDs); err != nil {
		return nil, err
	}
	if h := spec.Hooks; h != nil && len(h.OCICreateContainer) > 0 {
		// The container's mounts are made, its root not yet pivoted to:
		// runtime-spec's moment for createContainer. The stage's own
		// descriptors (its sync socket, the gate) stay its own.
		if err := hooks.CloseInherited(); err != nil {
			return nil, err
		}
		err := hooks.RunOCIIn("createContainer", h.OCICreateContainer, h.state, h.runtimeRoot, h.runtimeDir)
		// The runtime's root goes before the pivot: PID 1 must not
		// hold the host's tree while it waits at the gate (a process
		// of the container with CAP_SYS_PTRACE reads /proc/1/fd).
		h.closeRuntimeRoot()
		if err != nil {
			return nil, err
		}
	}
	if dir != "" {
		if err := root.PivotRoot(); err != nil {
			return nil, err
		}
		if err := finishRoot(spec); err != nil {
			return nil, err
		}
	}
	return ptys, nil
}

// finishRoot applies, once pivoted, the root's own propagation and
// read-only flag (OCI linux.rootfsPropagation, root.readonly).
func finishRoot(spec *Spec) error {
	if l := spec.OCI.Linux; l != nil && l.RootfsPropagation != "" {
		o := rootfs.ParseOptions([]string{l.RootfsPropagation})
		if o.Propagation == 0 {
			return fmt.Errorf("rootfs propagation %q: not a propagation", l.RootfsPropagation)
		}
		if err := unix.Mount("", "/", "", o.Propagation, ""); err != nil {
			return fmt.Errorf("set propagation %s of /: %w", l.RootfsPropagation, err)
		}
	}
	if r := spec.OCI.Root; r != nil && r.Readonly {
		var sfs unix.Statfs_t
		if err := unix.Statfs("/", &sfs); err != nil {
			return fmt.Errorf("statfs /: %w", err)
		}
		flags := uintptr(unix.MS_REMOUNT|unix.MS_BIND|unix.MS_RDONLY) | uintptr(sfs.Flags)&(unix.ST_NOSUID|unix.ST_NODEV|unix.ST_NOEXEC)
		if err := unix.Mount("", "/", "", flags, ""); err != nil {
			return fmt.Errorf("make the root read-only: %w", err)
		}
	}
	return nil
}

// bindTTY binds a pty's slave on target (/dev/console, /dev/ttyN). With
// lxc.tty.dir it lays them out as LXC does (lxc.container.conf(5)): the
// slave bound on /dev/DIR/NAME, /dev/console bound too, /dev/ttyN a
// symlink to DIR/ttyN (bound instead where the rootfs has a file there).
func bindTTY(root *rootfs.Root, p *devpts.PTY, target, dir string) error {
	if dir == "" {
		return p.BindSlave(root, target)
	}
	name := filepath.Base(target)
	if err := root.MkdirAll(filepath.Join("/dev", dir), 0o755); err != nil {
		return err
	}
	if err := p.BindSlave(root, filepath.Join("/dev", dir, name)); err != nil {
		return err
	}
	if name == "console" || root.Exists(target) {
		return p.BindSlave(root, target)
	}
	return root.Symlink(filepath.Join(dir, name), target)
}

// nullStdio points the standard descriptors the parent left on its
// /dev/null, and that no console or terminal replaces, at the container's
// own: the parent's is a node of the host's /dev, which the container's
// root could chmod or chown through /proc/1/fd (or /proc/self/fd of init).
func nullStdio(root *rootfs.Root, spec *Spec, nullFDs []int) error {
	var need []int
	for _, fd := range nullFDs {
		if !spec.Console && !slices.Contains(spec.Terminal, fd) {
			need = append(need, fd)
		}
	}
	if len(need) == 0 {
		return nil
	}
	// Resolved in the root, opened only once it is known to be the null
	// device: the rootfs is the container's to plant anything in.
	pfd, err := root.Open("/dev/null")
	if err != nil {
		return fmt.Errorf("init's stdio without a console needs /dev/null in the container (lxc.autodev = 1 makes one): %w", err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return fmt.Errorf("stat /dev/null in rootfs: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != unix.Mkdev(1, 3) {
		return fmt.Errorf("/dev/null in the container is not the null device: init's stdio without a console needs one (lxc.autodev = 1 makes one)")
	}
	null, err := unix.Open("/proc/self/fd/"+strconv.Itoa(pfd), unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open /dev/null in rootfs: %w", err)
	}
	defer unix.Close(null)
	for _, fd := range need {
		if err := unix.Dup3(null, fd, 0); err != nil {
			return fmt.Errorf("dup /dev/null to fd %d: %w", fd, err)
		}
	}
	return nil
}

// awaitConfigured tells the parent the container is set up (its /dev
// made, its ptys allocated) and waits for its go: the parent applies the
// limits that would have stopped that setup (the device cgroup) and the
// process's own (prlimits, /proc/PID files) now, before the exec.
func awaitConfigured() error { return awaitGo("configured") }

// awaitGo tells the parent the stage has reached step (a message type)
// and waits for its go.
func awaitGo(step string) error {
	if err := send(syncFD, &message{Type: step}, nil); err != nil {
		return err
	}
	m, files, err := recv(syncFD)
	for _, f := range files {
		f.Close()
	}
	if err != nil {
		return err
	}
	if m == nil || m.Type != "go" {
		return fmt.Errorf("init stage: expected the parent's go after %s", step)
	}
	return nil
}

// handOver sends the pty masters to the parent and gives the console to
// what runs next: to the container's init as its stdio and controlling
// terminal, or (Terminal) to the descriptors golxc's init passes to the
// command.
func handOver(spec *Spec, ptys []*devpts.PTY) error {
	if len(ptys) > 0 {
		fds := make([]int, len(ptys))
		for i, p := range ptys {
			fds[i] = int(p.Master.Fd())
		}
		if err := send(syncFD, &message{Type: "ptys", Console: spec.hasConsole(), TTYs: spec.TTYs}, fds); err != nil {
			return err
		}
	}
	for i, p := range ptys {
		p.Master.Close()
		if i == 0 && spec.hasConsole() {
			continue
		}
		p.Slave.Close()
	}
	if !spec.hasConsole() || len(ptys) == 0 {
		return nil
	}
	console := int(ptys[0].Slave.Fd())
	defer ptys[0].Slave.Close()
	if len(spec.Terminal) > 0 {
		// Only the command makes it its controlling terminal, in a
		// session of its own (a terminal belongs to one session): golxc's
		// init, PID 1, holds it here only to pass it on.
		for _, fd := range spec.Terminal {
			if err := unix.Dup3(console, fd, 0); err != nil {
				return fmt.Errorf("dup terminal to fd %d: %w", fd, err)
			}
		}
		return nil
	}
	// The init stage leads a session of its own since its spawn, so it
	// has no controlling terminal and may take the console as one.
	if err := unix.IoctlSetInt(console, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("set controlling terminal: %w", err)
	}
	for fd := 0; fd < 3; fd++ {
		if err := unix.Dup3(console, fd, 0); err != nil {
			return fmt.Errorf("dup console to fd %d: %w", fd, err)
		}
	}
	return nil
}

// waitGate tells the parent the container is ready and waits for the
// byte that lets its command run (StartOptions.Gate). A writer that
// closes without writing (EOF after one came) ends the container.
func waitGate(gate *os.File) error {
	if err := send(syncFD, &message{Type: "ready"}, nil); err != nil {
		return err
	}
	fd := int(gate.Fd())
	for {
		// A FIFO opened for reading before any writer polls nothing until
		// a writer comes (fifo(7)): the wait costs no CPU.
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, -1); err != nil && err != unix.EINTR {
			return fmt.Errorf("wait for start: %w", err)
		}
		var b [1]byte
		n, err := unix.Read(fd, b[:])
		if err == unix.EAGAIN || err == unix.EINTR {
			continue
		}
		if err != nil {
			return fmt.Errorf("wait for start: %w", err)
		}
		if n == 1 {
			gate.Close()
			return nil
		}
		if n == 0 && pfd[0].Revents&unix.POLLHUP != 0 {
			return errors.New("the start gate closed without a start")
		}
	}
}

// afterGateError is an error of the stage once started: its runtime has
// gone, so the container's stderr is told.
type afterGateError struct{ error }

func (e *afterGateError) Unwrap() error { return e.error }

// report is the StartReport FIFO (-1 for none): golxc's own init, which
// stays, closes it once the command is its to run.
func execInit(spec *Spec, startHost bool, gate *os.File, attrs *security.ExecAttrs, report int, sigs *initSignals) (err error) {
	p := spec.OCI.Process
	// Gated, an OCI container may have no process: it waits at the gate
	// like any, and its runtime never opens it (start refuses).
	noProcess := p != nil && len(p.Args) == 0 && gate != nil && !spec.WrapInit
	if p == nil || len(p.Args) == 0 && !noProcess {
		return fmt.Errorf("no init command")
	}
	gatedPath := ""
	if gate != nil {
		// A command that is not there fails the create, as OCI runtimes
		// do, not the start: looked up before the wait.
		if !spec.WrapInit && !noProcess {
			var err error
			if gatedPath, err = lookPath(p.Args[0], p.Env); err != nil {
				return err
			}
			if _, err := os.Stat(gatedPath); err != nil {
				return fmt.Errorf("exec %s: %w", p.Args[0], err)
			}
		}
	}
	// Nothing open here but the standard descriptors may outlive the
	// exec (or reach the command golxc's init starts): whatever the init
	// stage opened on the host's side stays there. Close-on-exec rather
	// than closed: the Go runtime still uses its own descriptors. Done
	// first, before the container's system call filter may be loaded
	// (below, for a start gate): a filter written for older programs
	// refuses close_range(2).
	if err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close inherited descriptors: %w", err)
	}
	var keep []string
	if p.Capabilities != nil {
		keep = p.Capabilities.Bounding
	} else {
		keep = security.AllCaps()
	}
	limit := security.LimitBounding
	if spec.WrapInit {
		// golxc's init stays, with every thread of its runtime: all of
		// them get the bounding set, not only this one.
		limit = security.LimitBoundingAllThreads
	}
	if err := limit(keep); err != nil {
		return err
	}
	if c := p.Capabilities; c != nil && !spec.WrapInit && (len(c.Inheritable) > 0 || len(c.Ambient) > 0) {
		// OCI's inheritable and ambient sets, within the bounding set
		// (the translation checks): the ambient set lasts only for root,
		// whose exec gets the bounding set anyway.
		if err := security.SetInheritableAmbient(c.Inheritable, c.Ambient); err != nil {
			return err
		}
	}
	if p.NoNewPrivileges {
		if err := seccomp.SetNoNewPrivs(); err != nil {
			return err
		}
	}
	// The supplementary groups first, while CAP_SETGID is there for
	// certain.
	if spec.SetGroups {
		gids := make([]int, len(p.User.AdditionalGids))
		for i, g := range p.User.AdditionalGids {
			gids[i] = int(g)
		}
		if err := unix.Setgroups(gids); err != nil {
			return fmt.Errorf("setgroups %v: %w", p.User.AdditionalGids, err)
		}
	}
	filter := spec.Seccomp
	start := spec.Hooks.commands(hooks.Start)
	if len(start) > 0 || gate != nil {
		// The start hook is a program of the container's, run as its
		// root: it gets init's confinement (namespaces, cgroups, the
		// bounding set, no_new_privs and the system call filter), as
		// LXC's does, so nothing it does is beyond what init may do.
		// A stage waiting at an OCI start gate is seen the same way, by
		// what is exec'd into the created container or its pod. This
		// stage sheds every capability beyond the container's first: a
		// process that ptraces it (container root may keep
		// CAP_SYS_PTRACE) finds nothing more to use. The filter comes
		// before capset, which reads its work back.
		if err := loadSeccomp(filter); err != nil {
			return err
		}
		filter = nil
		// The switch to lxc.init.uid/gid below needs CAP_SETUID and
		// CAP_SETGID even where the container drops them; they go with
		// the switch (setresuid from root to another uid clears every
		// capability).
		stageKeep := keep
		if p.User.UID != 0 || p.User.GID != 0 {
			stageKeep = append(slices.Clone(keep), "CAP_SETUID", "CAP_SETGID")
		}
		if err := security.LimitProcess(stageKeep); err != nil {
			return err
		}
		if err := runHooks(spec, hooks.Start); err != nil {
			return err
		}
	}
	if gate != nil {
		if err := nonDumpable(); err != nil {
			return err
		}
		if err := waitGate(gate); err != nil {
			return err
		}
		if noProcess {
			return errors.New("started, but config.json has no process to run")
		}
		defer func() {
			if err != nil {
				err = &afterGateError{err}
			}
		}()
	}
	if startHost {
		// The host's start-host hooks run now, the container set up and
		// its start hooks done, before init: LXC's order.
		if err := awaitGo("start-host"); err != nil {
			return err
		}
	}
	if h := spec.Hooks; h != nil && len(h.OCIStartContainer) > 0 {
		// Started: the last step before the exec (runtime-spec's
		// startContainer), in the container's namespaces and root, as
		// confined as the stage is by now. A failure ends the stage, and
		// golxc-runc start reports it.
		if err := hooks.RunOCI("startContainer", h.OCIStartContainer, h.state); err != nil {
			return err
		}
	}
	if filter != nil && (p.User.UID != 0 || p.User.GID != 0) {
		// Loaded while still root: after the switch the stage has no
		// CAP_SYS_ADMIN, and loading would need no_new_privs, which
		// would take set-user-ID programs from the container's user.
		if err := loadSeccomp(filter); err != nil {
			return err
		}
		filter = nil
	}
	if p.User.GID != 0 {
		if err := syscall.Setresgid(int(p.User.GID), int(p.User.GID), int(p.User.GID)); err != nil {
			return fmt.Errorf("setgid %d: %w", p.User.GID, err)
		}
	}
	ambientUser := p.User.UID != 0 && p.Capabilities != nil && len(p.Capabilities.Ambient) > 0 && !spec.WrapInit
	if ambientUser {
		// OCI's ambient set for a user other than root: the permitted
		// set is kept across the switch (the ambient one is cleared by
		// it, and raised again after).
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl PR_SET_KEEPCAPS: %w", err)
		}
	}
	if p.User.UID != 0 {
		if err := syscall.Setresuid(int(p.User.UID), int(p.User.UID), int(p.User.UID)); err != nil {
			return fmt.Errorf("setuid %d: %w", p.User.UID, err)
		}
	}
	if ambientUser {
		if err := security.SetInheritableAmbient(p.Capabilities.Inheritable, p.Capabilities.Ambient); err != nil {
			return err
		}
	}
	if p.User.UID != 0 || p.User.GID != 0 {
		if err := checkIDs(p.User.UID, p.User.GID); err != nil {
			return err
		}
	}
	if p.User.Umask != nil {
		unix.Umask(int(*p.User.Umask & 0o777))
	}
	cwd := p.Cwd
	if cwd == "" {
		cwd = "/"
	}
	if err := unix.Chdir(cwd); err != nil {
		return fmt.Errorf("chdir %s (lxc.init.cwd): %w", cwd, err)
	}
	if spec.WrapInit {
		// golxc's own init is this very process, already PID 1 with its
		// runtime up: exec'ing it anew would only pay for a second start.
		// Staying, it must shed what an exec would have: capabilities
		// beyond the container's, and ptrace-ability. The filter comes
		// before capset, while CAP_SYS_ADMIN may still be there to load
		// it; LimitProcess and nonDumpable read their work back. The
		// label is this thread's for the exec of the command, which
		// wrapInit forks from it: golxc's init itself stays as it is.
		if err := setLabel(spec, attrs); err != nil {
			return err
		}
		if err := nonDumpable(); err != nil {
			return err
		}
		if err := loadSeccomp(filter); err != nil {
			return err
		}
		if err := security.LimitProcess(keep); err != nil {
			return err
		}
		unix.Close(syncFD)
		if report >= 0 {
			unix.Close(report)
		}
		ctty := -1
		if len(spec.Terminal) > 0 {
			ctty = spec.Terminal[0]
		}
		os.Exit(wrapInit(p.Args, p.Env, ctty, sigs))
	}
	path := gatedPath
	if path == "" {
		var err error
		if path, err = lookPath(p.Args[0], p.Env); err != nil {
			return err
		}
	}
	if err := setLabel(spec, attrs); err != nil {
		return err
	}
	// The last step: the policy is written for the container's programs,
	// and as little of golxc as possible should run under it.
	if err := loadSeccomp(filter); err != nil {
		return err
	}
	if err := unix.Exec(path, p.Args, p.Env); err != nil {
		return fmt.Errorf("exec %s: %w", p.Args[0], err)
	}
	return nil
}

// loadSeccomp loads the container's system call filter on every thread;
// nil loads nothing. Like LXC, a stage that already runs under a filter
// loads none of its own unless lxc.seccomp.allow_nesting says to stack it.
// Without CAP_SYS_ADMIN (an lxc.cap.drop of it cannot have taken it yet,
// but a user namespace may lack it) the kernel wants no_new_privs first.
func loadSeccomp(f *Seccomp) error {
	if f == nil {
		return nil
	}
	if !f.AllowNesting {
		confined, err := seccomp.Confined()
		if err != nil {
			return err
		}
		if confined {
			return nil
		}
	}
	prog, err := seccomp.Decode(f.Program)
	if err != nil {
		return err
	}
	need, err := seccomp.NeedsNoNewPrivs()
	if err != nil {
		return err
	}
	if need {
		if err := seccomp.SetNoNewPrivs(); err != nil {
			return err
		}
	}
	if f.Notify == nil {
		return seccomp.Load(prog)
	}
	// The listener goes to the parent (the monitor), which forwards the
	// notifications to the proxy; this stage keeps no copy.
	listener, err := seccomp.LoadListener(prog)
	if err != nil {
		return err
	}
	defer unix.Close(listener)
	if err := send(syncFD, &message{Type: "notify"}, []int{listener}); err != nil {
		return fmt.Errorf("hand the seccomp listener over: %w", err)
	}
	return nil
}

// lookPath finds cmd on the PATH of the container's environment (not
// golxc's own).
func lookPath(cmd string, env []string) (string, error) {
	if strings.Contains(cmd, "/") {
		return cmd, nil
	}
	path := "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, cmd)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("exec %s: %w", cmd, exec.ErrNotFound)
}

// loopbackUp brings up lo in the container's new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("socket for lo: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("get lo flags: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	return nil
}

// runHooks runs the stage's hooks of kind where the stage is: in the
// container's namespaces, from its root as it is at this step (the
// host's before the pivot, the container's after). The start hook's
// standard input is init's (the console), as LXC's; the others get the
// host's /dev/null, never what the stage was given (lxc-execute's
// caller's). Their output is kept for the error.
func runHooks(spec *Spec, kind hooks.Kind) error {
	cmds := spec.Hooks.commands(kind)
	if len(cmds) == 0 {
		return nil
	}
	o := hooks.Options{}
	if kind == hooks.Start {
		o.Stdin = os.Stdin
	}
	return hooks.Run(context.Background(), kind, cmds, spec.Hooks.Container, o)
}

// fillState makes the OCI hooks' state: OCIState with "pid" this
// process's pid in the host's pid namespace, read from the host's /proc
// (still this stage's /proc before the pivot; getpid is 1 in a new pid
// namespace).
func (h *StageHooks) fillState() error {
	if h == nil || len(h.OCIState) == 0 {
		return nil
	}
	self, err := os.Readlink("/proc/self")
	if err != nil {
		return fmt.Errorf("the init's host pid for the hooks' state: %w", err)
	}
	pid, err := strconv.Atoi(self)
	if err != nil {
		return fmt.Errorf("the init's host pid for the hooks' state: /proc/self is %q", self)
	}
	var st map[string]any
	if err := json.Unmarshal(h.OCIState, &st); err != nil {
		return fmt.Errorf("init stage: decode the hooks' state: %w", err)
	}
	st["pid"] = pid
	if h.state, err = json.Marshal(st); err != nil {
		return fmt.Errorf("init stage: encode the hooks' state: %w", err)
	}
	return nil
}

// openRuntimeRoot holds the stage's root as it is before a mount
// namespace given by path is joined, when there are createContainer
// hooks (without a join the stage's root is the runtime's): their paths
// are the runtime's (runtime-spec), and a joined namespace's owner may
// mount its own program at the same name (the hooks run as full root).
// Each hook is run chrooted there (hooks.Proc.RootFD), so its path, its
// interpreter and its libraries are all looked up in the runtime's tree.
func (h *StageHooks) openRuntimeRoot() error {
	if h == nil || len(h.OCICreateContainer) == 0 {
		return nil
	}
	fd, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("init stage: open the runtime's root for the createContainer hooks: %w", err)
	}
	dir, err := os.Getwd()
	if err != nil {
		unix.Close(fd)
		return fmt.Errorf("init stage: the createContainer hooks' working directory: %w", err)
	}
	h.runtimeRoot, h.runtimeDir = fd, dir
	return nil
}

// closeRuntimeRoot lets the runtime's root go (once).
func (h *StageHooks) closeRuntimeRoot() {
	if h != nil && h.runtimeRoot > 0 {
		unix.Close(h.runtimeRoot)
		h.runtimeRoot = 0
	}
}

// mountPoint is where the stage's mount and autodev hooks find the rootfs
// when it is not at its own path ("" when it is).
func (h *StageHooks) mountPoint() string {
	if h == nil || len(h.Mount)+len(h.Autodev) == 0 {
		return ""
	}
	return h.MountPoint
}
