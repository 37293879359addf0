package namespace

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"unsafe" // and go:linkname

	"golang.org/x/sys/unix"
)

// The runtime's fork hooks, exported for package syscall and, by the
// runtime's own promise (go.dev/issue/67401), for code that forks itself:
// BeforeFork blocks signals and makes any stack growth throw, AfterFork
// undoes that in the parent, AfterForkInChild resets the signal handlers
// and the mask in the child.

//go:linkname runtimeBeforeFork syscall.runtime_BeforeFork
func runtimeBeforeFork()

//go:linkname runtimeAfterFork syscall.runtime_AfterFork
func runtimeAfterFork()

//go:linkname runtimeAfterForkInChild syscall.runtime_AfterForkInChild
func runtimeAfterForkInChild()

// ForkSpec says what the forked child does before its execve. Standard
// input, output and error are the caller's fds 0, 1 and 2, as they are:
// the caller arranges them before Fork.
type ForkSpec struct {
	Path string   // the program, as execve takes it (no PATH search)
	Argv []string // argv[0] included
	Env  []string
	Dir  string // chdir before the exec; "" keeps the working directory
	// Setsid makes the child a session leader without a controlling
	// terminal; CTTY >= 0 (with Setsid) then makes that fd, a terminal,
	// its controlling terminal.
	Setsid bool
	CTTY   int
	// Cred, when set, is what the child runs as: supplementary groups
	// cleared, then real/effective/saved gid, then uid.
	Cred *Cred
	// Parent makes the child a child of the caller's parent
	// (CLONE_PARENT), which then waits for it; the caller can exit.
	Parent bool
	// RemountSysProc makes the child, first thing after Release, mount
	// /proc and /sys afresh over the ones it has (detached), so they
	// show its own pid and network namespaces. The caller gives it a
	// mount namespace of its own for that.
	RemountSysProc bool
	// UserNS, when set (a /proc/PID/ns/user file or a pidfd), is a user
	// namespace the child joins after the remount: a process with more
	// than one thread cannot, a Go program always has more. The child
	// then switches to Cred inside it (root of that namespace when Cred
	// is nil), never staying the host's root. It needs CAP_SYS_ADMIN in
	// that namespace when it joins.
	UserNS *os.File
	// KeepCaps, with UserNS, is what the child keeps of the full set of
	// capabilities the join gives it (bit n: capability n): the others
	// leave its bounding set at once and its permitted and effective sets
	// after the switch of user (the join empties the inheritable set).
	// nil keeps them all.
	KeepCaps *uint64
	// JoinFlags, with UserNS a pidfd, are the other namespaces of that
	// process joined in the same setns as its user namespace: what a
	// user other than root must do, since the namespaces a container's
	// user namespace owns are joined only from inside it.
	JoinFlags int
	// ForkAgain makes the child, after its joins, fork once more and
	// exit: the grandchild, a child of the same parent, is born in the
	// pid namespace joined (CLONE_NEWPID in JoinFlags), which a process
	// joining it never enters itself. Hop reports both.
	ForkAgain bool
	// Fallbacks are more programs tried, in order, when Path (and each
	// before) does not exist, as a shell's PATH search does: for a caller
	// that cannot look inside the mount namespace the child joins.
	Fallbacks []string
	// NoNewPrivs sets PR_SET_NO_NEW_PRIVS before the exec.
	NoNewPrivs bool
	// Seccomp is a filter the child loads as late as it can: after its
	// switch of group, before its switch of user (which would take the
	// CAP_SYS_ADMIN the kernel wants for a filter without no_new_privs),
	// so only setresuid, chdir and execve run under it. nil loads none.
	Seccomp []unix.SockFilter
}

// Cred is a uid and gid to run as.
type Cred struct {
	UID, GID uint32
	// Groups are the supplementary groups set in place of none.
	Groups []uint32
}

// ExecError is why a forked child did not reach its program: the step
// that failed and its errno.
type ExecError struct {
	Op    string
	Errno syscall.Errno
}

func (e *ExecError) Error() string { return e.Op + ": " + e.Errno.Error() }
func (e *ExecError) Unwrap() error { return e.Errno }

// The steps of the child, reported with the errno of the first failure.
const (
	stepSync = iota + 1
	stepRemount
	stepSetsid
	stepCTTY
	stepSetgroups
	stepSetgid
	stepSetuid
	stepChdir
	stepExec
	stepUserNS
	stepBounding
	stepNoNewPrivs
	stepSeccomp
	stepCaps
	stepForkAgain
	// stepForked is no failure: the first child forked the grandchild
	// (its pid in the errno's place) and exits 0.
	stepForked
)

var stepNames = [...]string{stepSync: "wait for the parent", stepRemount: "remount /proc and /sys", stepSetsid: "setsid", stepCTTY: "set the controlling terminal",
	stepSetgroups: "setgroups", stepSetgid: "setresgid", stepSetuid: "setresuid", stepChdir: "chdir", stepExec: "execve",
	stepUserNS: "join the user namespace", stepBounding: "drop from the bounding set", stepNoNewPrivs: "prctl PR_SET_NO_NEW_PRIVS",
	stepSeccomp: "load the seccomp filter", stepCaps: "capset", stepForkAgain: "fork into the pid namespace"}

// Child is a forked process held before its first step until Release
// (with ForkAgain: until Hop, then its grandchild until Release).
type Child struct {
	Pid   int // the process that execs: the grandchild after Hop
	sync  int // write end: one byte lets the child go, closing kills it
	errRd int // read end: EOF when the exec succeeded, else step and errno
}

// forkArgs are ForkSpec as the child uses it: byte pointers made before
// the fork, since the child may not allocate.
type forkArgs struct {
	path, dir  *byte
	paths      []*byte // Path and the Fallbacks, nil-terminated
	argv, envv []*byte
	setsid     bool
	ctty       int
	cred       bool
	uid, gid   uintptr
	groups     []uint32 // made before the fork: the child may not allocate
	flags      uintptr
	syncRd     int
	errWr      int
	remount    bool
	// What the remount takes: targets and file system types.
	procDir, procType, sysDir, sysType *byte

	// The user namespace to join, what is kept after the join, and the
	// confinement loaded last.
	userns    int // -1: none
	joinFlags uintptr
	forkAgain bool
	dropBound []uintptr
	limitCaps bool
	capHdr    unix.CapUserHeader
	capData   [2]unix.CapUserData
	nnp       bool
	filter    *unix.SockFprog
}

// Fork clones the calling thread into a new process that owns its memory
// (no CLONE_VM: the child is a copy-on-write copy, never the caller's own
// pages, so whoever can see the child before its execve cannot read or
// write the caller through it). The child is born in the namespaces,
// working directory and capability bounding set of the calling thread
// (call Fork on a locked thread that set them), closes every fd but 0, 1
// and 2, and then waits until Release: the caller puts it in cgroups
// first. Until Release the child has run no code but close_range and a
// read.
func Fork(s ForkSpec) (*Child, error) {
	a := forkArgs{ctty: -1, userns: -1}
	var err error
	if a.path, err = unix.BytePtrFromString(s.Path); err != nil {
		return nil, fmt.Errorf("program %q: %w", s.Path, err)
	}
	if a.paths, err = bytePtrs(append([]string{s.Path}, s.Fallbacks...)); err != nil {
		return nil, fmt.Errorf("program: %w", err)
	}
	if s.Dir != "" {
		if a.dir, err = unix.BytePtrFromString(s.Dir); err != nil {
			return nil, fmt.Errorf("directory %q: %w", s.Dir, err)
		}
	}
	if a.argv, err = bytePtrs(s.Argv); err != nil {
		return nil, fmt.Errorf("arguments: %w", err)
	}
	if a.envv, err = bytePtrs(s.Env); err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	a.setsid = s.Setsid
	if s.Setsid {
		a.ctty = s.CTTY
	}
	if s.Cred != nil {
		a.cred, a.uid, a.gid = true, uintptr(s.Cred.UID), uintptr(s.Cred.GID)
		a.groups = s.Cred.Groups
	}
	if s.RemountSysProc {
		a.remount = true
		a.procDir, _ = unix.BytePtrFromString("/proc")
		a.procType, _ = unix.BytePtrFromString("proc")
		a.sysDir, _ = unix.BytePtrFromString("/sys")
		a.sysType, _ = unix.BytePtrFromString("sysfs")
	}
	if (s.JoinFlags != 0 || s.ForkAgain) && s.UserNS == nil {
		return nil, errors.New("JoinFlags and ForkAgain go with UserNS")
	}
	if s.UserNS != nil {
		a.userns = int(s.UserNS.Fd())
		a.joinFlags = uintptr(s.JoinFlags) &^ unix.CLONE_NEWUSER
		a.forkAgain = s.ForkAgain
		if !a.cred {
			a.cred = true // root of the namespace joined, not the host's
		}
		if s.KeepCaps != nil {
			keep := *s.KeepCaps
			for i := 0; i <= lastCap(); i++ {
				if keep&(1<<uint(i)) == 0 {
					a.dropBound = append(a.dropBound, uintptr(i))
				}
			}
			a.limitCaps = true
			a.capHdr = unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
			for i := range a.capData {
				w := uint32(keep >> (32 * uint(i)))
				// Inheritable stays empty, as the join left it.
				a.capData[i] = unix.CapUserData{Effective: w, Permitted: w}
			}
		}
	}
	a.nnp = s.NoNewPrivs
	if len(s.Seccomp) > 0 {
		if len(s.Seccomp) > unix.BPF_MAXINSNS {
			return nil, fmt.Errorf("seccomp filter of %d instructions: at most %d", len(s.Seccomp), unix.BPF_MAXINSNS)
		}
		a.filter = &unix.SockFprog{Len: uint16(len(s.Seccomp)), Filter: &s.Seccomp[0]}
	}
	a.flags = uintptr(unix.SIGCHLD)
	if s.Parent {
		a.flags |= unix.CLONE_PARENT
	}

	// Both pipes are close-on-exec: the exec closes the error pipe (EOF
	// says it worked) and the child keeps nothing of them after it.
	var syncP, errP [2]int
	if err := unix.Pipe2(syncP[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("sync pipe: %w", err)
	}
	if err := unix.Pipe2(errP[:], unix.O_CLOEXEC); err != nil {
		unix.Close(syncP[0])
		unix.Close(syncP[1])
		return nil, fmt.Errorf("error pipe: %w", err)
	}
	a.syncRd, a.errWr = syncP[0], errP[1]

	// ForkLock: no fd is being created without close-on-exec meanwhile
	// (the child closes them all anyway, but only after a few
	// instructions).
	syscall.ForkLock.Lock()
	pid, errno := forkChild(&a)
	syscall.ForkLock.Unlock()
	runtime.KeepAlive(s.UserNS)
	runtime.KeepAlive(s.Seccomp)
	unix.Close(syncP[0])
	unix.Close(errP[1])
	if errno != 0 {
		unix.Close(syncP[1])
		unix.Close(errP[0])
		return nil, fmt.Errorf("clone: %w", errno)
	}
	return &Child{Pid: pid, sync: syncP[1], errRd: errP[0]}, nil
}

// bytePtrs is ss as execve takes it: NUL-terminated strings, then nil.
func bytePtrs(ss []string) ([]*byte, error) {
	p := make([]*byte, len(ss)+1)
	for i, s := range ss {
		b, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", s, err)
		}
		p[i] = b
	}
	return p, nil
}

// Release lets the child run its steps and waits until it has exec'd
// (nil) or failed (*ExecError; the child then exits 127 and still has to
// be waited for by its parent).
func (c *Child) Release() error {
	_, err := unix.Write(c.sync, []byte{0})
	unix.Close(c.sync)
	c.sync = -1
	defer func() { unix.Close(c.errRd); c.errRd = -1 }()
	if err != nil {
		return fmt.Errorf("release the child: %w", err)
	}
	step, v, err := c.readStatus()
	if err != nil || step == 0 {
		return err
	}
	return execError(step, v)
}

// Hop, for a child forked with ForkAgain, lets it join and fork the
// grandchild, which then waits for Release; Pid becomes the grandchild's.
// It returns the first child's pid, also with an error: it has exited (or
// is exiting), a child of the same parent as the grandchild, who must
// reap it.
func (c *Child) Hop() (int, error) {
	if _, err := unix.Write(c.sync, []byte{0}); err != nil {
		return c.Pid, fmt.Errorf("release the child: %w", err)
	}
	step, v, err := c.readStatus()
	switch {
	case err != nil:
		return c.Pid, err
	case step == 0:
		return c.Pid, errors.New("the child exec'd without forking again")
	case step != stepForked:
		return c.Pid, execError(step, v)
	}
	first := c.Pid
	c.Pid = int(v)
	return first, nil
}

func execError(step, errno uint32) error {
	op := "step " + fmt.Sprint(step)
	if int(step) < len(stepNames) && stepNames[step] != "" {
		op = stepNames[step]
	}
	return &ExecError{Op: op, Errno: syscall.Errno(errno)}
}

// readStatus reads one report of the child: step 0 at EOF (its exec
// worked), else a step and its value.
func (c *Child) readStatus() (step, v uint32, err error) {
	var buf [8]byte
	n := 0
	for n < len(buf) {
		m, err := unix.Read(c.errRd, buf[n:])
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, 0, fmt.Errorf("read the child's exec status: %w", err)
		}
		if m == 0 {
			break
		}
		n += m
	}
	switch n {
	case 0:
		return 0, 0, nil
	case len(buf):
		return *(*uint32)(unsafe.Pointer(&buf[0])), *(*uint32)(unsafe.Pointer(&buf[4])), nil
	default:
		return 0, 0, fmt.Errorf("child's exec status cut short (%d bytes)", n)
	}
}

// forkChild is the fork itself. Between the clone and the execve the
// child is a copy of this goroutine with no runtime around it (one
// thread, no scheduler, no GC): it may only call nosplit functions
// (rawSyscall, the runtime's AfterForkInChild) and touch memory prepared
// before. runtimeBeforeFork makes any stack growth throw, so a mistake
// here fails loudly in the tests instead of corrupting the child.
//
//go:noinline
//go:norace
//go:nocheckptr
func forkChild(a *forkArgs) (pid int, errno syscall.Errno) {
	runtimeBeforeFork()
	r1, _, e := syscall.RawSyscall6(unix.SYS_CLONE, a.flags, 0, 0, 0, 0, 0)
	if e != 0 || r1 != 0 {
		runtimeAfterFork()
		return int(r1), e
	}

	// In the child.
	runtimeAfterForkInChild()
	// First close what the child must not hold: every fd but stdio and
	// its two pipe ends (the caller's sockets, the runtime's own fds).
	keep := [3]int{a.syncRd, a.errWr, a.userns}
	sort3(&keep)
	next := 3
	for _, fd := range keep {
		if fd >= next {
			closeRange(next, fd-1)
			next = fd + 1
		}
	}
	closeRange(next, 1<<31-1)

	var b [1]byte
	for {
		n, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(a.syncRd), uintptr(unsafe.Pointer(&b[0])), 1)
		if e == unix.EINTR {
			continue
		}
		if e == 0 && n == 0 {
			childExit() // abandoned: nobody reads the error pipe
		}
		if e != 0 {
			childFail(a.errWr, stepSync, e)
		}
		break
	}
	if a.remount {
		if e := remountFresh(a.procDir, a.procType); e != 0 {
			childFail(a.errWr, stepRemount, e)
		}
		if e := remountFresh(a.sysDir, a.sysType); e != 0 {
			childFail(a.errWr, stepRemount, e)
		}
	}
	if a.userns >= 0 {
		if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, uintptr(a.userns), unix.CLONE_NEWUSER|a.joinFlags, 0); e != 0 {
			childFail(a.errWr, stepUserNS, e)
		}
		syscall.RawSyscall(unix.SYS_CLOSE, uintptr(a.userns), 0, 0)
		// The join gave every capability of that namespace, a full
		// bounding set too: it is cut back before anything else runs.
		for _, c := range a.dropBound {
			if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, c, 0, 0, 0, 0); e != 0 && e != unix.EINVAL {
				childFail(a.errWr, stepBounding, e)
			}
		}
	}
	if a.forkAgain {
		r1, _, e := syscall.RawSyscall6(unix.SYS_CLONE, unix.CLONE_PARENT|uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
		if e != 0 {
			childFail(a.errWr, stepForkAgain, e)
		}
		if r1 != 0 {
			// The first child: the grandchild's pid goes to the
			// parent, and this one is done.
			childReport(a.errWr, stepForked, uint32(r1))
			for {
				syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
			}
		}
		// The grandchild waits for its own release.
		for {
			n, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(a.syncRd), uintptr(unsafe.Pointer(&b[0])), 1)
			if e == unix.EINTR {
				continue
			}
			if e == 0 && n == 0 {
				childExit()
			}
			if e != 0 {
				childFail(a.errWr, stepSync, e)
			}
			break
		}
	}
	if a.setsid {
		if _, _, e := syscall.RawSyscall(unix.SYS_SETSID, 0, 0, 0); e != 0 {
			childFail(a.errWr, stepSetsid, e)
		}
		if a.ctty >= 0 {
			if _, _, e := syscall.RawSyscall(unix.SYS_IOCTL, uintptr(a.ctty), unix.TIOCSCTTY, 0); e != 0 {
				childFail(a.errWr, stepCTTY, e)
			}
		}
	}
	if a.cred {
		var list uintptr
		if len(a.groups) > 0 {
			list = uintptr(unsafe.Pointer(&a.groups[0]))
		}
		if _, _, e := syscall.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(a.groups)), list, 0); e != 0 {
			childFail(a.errWr, stepSetgroups, e)
		}
		if _, _, e := syscall.RawSyscall(unix.SYS_SETRESGID, a.gid, a.gid, a.gid); e != 0 {
			childFail(a.errWr, stepSetgid, e)
		}
	}
	if a.nnp {
		if _, _, e := syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0); e != 0 {
			childFail(a.errWr, stepNoNewPrivs, e)
		}
	}
	if a.filter != nil {
		// One thread: no TSYNC needed.
		if _, _, e := syscall.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, 0, uintptr(unsafe.Pointer(a.filter))); e != 0 {
			childFail(a.errWr, stepSeccomp, e)
		}
	}
	// The steps after the filter is loaded are checked, not trusted: a
	// policy that makes setresuid or capset return 0 without doing
	// anything would otherwise leave the command root, or with every
	// capability.
	if a.cred {
		if _, _, e := syscall.RawSyscall(unix.SYS_SETRESUID, a.uid, a.uid, a.uid); e != 0 {
			childFail(a.errWr, stepSetuid, e)
		}
		ids := [3]uint32{^uint32(0), ^uint32(0), ^uint32(0)}
		syscall.RawSyscall(unix.SYS_GETRESUID, uintptr(unsafe.Pointer(&ids[0])), uintptr(unsafe.Pointer(&ids[1])), uintptr(unsafe.Pointer(&ids[2])))
		if uintptr(ids[0]) != a.uid || uintptr(ids[1]) != a.uid || uintptr(ids[2]) != a.uid {
			childFail(a.errWr, stepSetuid, unix.EPERM)
		}
	}
	if a.limitCaps && a.uid == 0 {
		// Still root of the namespace joined (a switch to another user
		// has cleared them already): down to what its root has.
		if _, _, e := syscall.RawSyscall(unix.SYS_CAPSET, uintptr(unsafe.Pointer(&a.capHdr)), uintptr(unsafe.Pointer(&a.capData[0])), 0); e != 0 {
			childFail(a.errWr, stepCaps, e)
		}
		got := [2]unix.CapUserData{{Effective: ^uint32(0), Permitted: ^uint32(0), Inheritable: ^uint32(0)}, {Effective: ^uint32(0), Permitted: ^uint32(0), Inheritable: ^uint32(0)}}
		hdr := a.capHdr
		syscall.RawSyscall(unix.SYS_CAPGET, uintptr(unsafe.Pointer(&hdr)), uintptr(unsafe.Pointer(&got[0])), 0)
		if got[0] != a.capData[0] || got[1] != a.capData[1] {
			childFail(a.errWr, stepCaps, unix.EPERM)
		}
	}
	if a.dir != nil {
		if _, _, e := syscall.RawSyscall(unix.SYS_CHDIR, uintptr(unsafe.Pointer(a.dir)), 0, 0); e != 0 {
			childFail(a.errWr, stepChdir, e)
		}
	}
	// Each program in turn, as a shell searches PATH: the first that
	// exists runs; the error is the first other than "no such file".
	var first syscall.Errno
	for i := 0; a.paths[i] != nil; i++ {
		_, _, e = syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(a.paths[i])),
			uintptr(unsafe.Pointer(&a.argv[0])), uintptr(unsafe.Pointer(&a.envv[0])))
		if first == 0 || first == unix.ENOENT || first == unix.ENOTDIR {
			first = e
		}
	}
	childFail(a.errWr, stepExec, first)
	return 0, 0 // not reached
}

// sort3 sorts three ints in place, without the sort package (the child
// may call only nosplit code).
//
//go:nosplit
//go:norace
func sort3(a *[3]int) {
	if a[0] > a[1] {
		a[0], a[1] = a[1], a[0]
	}
	if a[1] > a[2] {
		a[1], a[2] = a[2], a[1]
	}
	if a[0] > a[1] {
		a[0], a[1] = a[1], a[0]
	}
}

// lastCap is the highest capability this kernel knows; 63 when it cannot
// be read (dropping one the kernel does not know is EINVAL, ignored).
func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 63
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 63
	}
	return n
}

// closeRange closes fds first..last in the child, when the range is not
// empty. A kernel without close_range (before 5.9) leaves them: they are
// all close-on-exec in golxc, which marks every inherited fd so at start.
//
//go:nosplit
//go:norace
func closeRange(first, last int) {
	if first < 0 || first > last {
		return
	}
	syscall.RawSyscall(unix.SYS_CLOSE_RANGE, uintptr(first), uintptr(last), 0)
}

// remountFresh detaches what is mounted on dir (EINVAL when nothing is:
// ignored) and mounts a new file system of type typ there.
//
//go:nosplit
//go:norace
func remountFresh(dir, typ *byte) syscall.Errno {
	syscall.RawSyscall(unix.SYS_UMOUNT2, uintptr(unsafe.Pointer(dir)), unix.MNT_DETACH, 0)
	_, _, e := syscall.RawSyscall6(unix.SYS_MOUNT, uintptr(unsafe.Pointer(typ)), uintptr(unsafe.Pointer(dir)),
		uintptr(unsafe.Pointer(typ)), unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, 0, 0)
	return e
}

// childFail reports step and errno on the error pipe and exits 127.
//
//go:nosplit
//go:norace
func childFail(fd, step int, e syscall.Errno) {
	childReport(fd, step, uint32(e))
	childExit()
}

// childReport writes step and a value (an errno, or a pid for
// stepForked) on the error pipe, 8 bytes at once.
//
//go:nosplit
//go:norace
func childReport(fd, step int, v uint32) {
	var buf [8]byte
	*(*uint32)(unsafe.Pointer(&buf[0])) = uint32(step)
	*(*uint32)(unsafe.Pointer(&buf[4])) = v
	syscall.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
}

// childExit ends the child with status 127, as a shell does for a
// command it could not run.
//
//go:nosplit
//go:norace
func childExit() {
	for {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
	}
}
