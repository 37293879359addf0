package namespace

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// SpawnSpec is a process started in namespaces that a process with more
// than one thread cannot join, as every Go program has: a user namespace
// (setns refuses it), a time namespace (likewise) and a mount namespace
// (refused while the file system information is shared between threads).
// Spawn forks the calling thread (raw, single-threaded), joins them there,
// makes the new namespaces under them, and forks again, a child of the
// caller's process (CLONE_PARENT), which execs Path.
type SpawnSpec struct {
	Path string   // the program, as execve takes it
	Argv []string // argv[0] included
	Env  []string
	// Files become the program's fds 0, 1, 2 ... in order (each an fd of
	// the caller, which keeps it). Every other fd is close-on-exec in
	// golxc and goes at the exec.
	Files []int
	// Join are namespace fds entered in order, the user namespace first:
	// the others are then joined, and made, as its own. A pid namespace
	// among them is where the program is born (the first child, which
	// joins it, stays where it was).
	Join []int
	// BecomeRoot switches, after the joins, to uid and gid 0 of the user
	// namespace joined, with no supplementary groups: the exec then gives
	// the program the capabilities of that namespace's root.
	BecomeRoot bool
	// Unshare are the namespaces made after the joins (clone flags); a
	// pid namespace is NewPID's.
	Unshare uintptr
	// NewPID makes the program the first process of a new pid namespace.
	NewPID bool
	// Setsid makes the program a session leader without a terminal.
	Setsid bool
}

// spawnArgs are SpawnSpec as the child uses it, made before the fork.
type spawnArgs struct {
	path       *byte
	argv, envv []*byte
	files      []int
	tmp        []int // the Files' copies above them, filled in the child
	join       []int
	becomeRoot bool
	// noGroups: the caller's thread has no supplementary groups, so a
	// setgroups refused (a namespace whose setgroups is "deny") leaves
	// none to drop.
	noGroups   bool
	unshare    uintptr
	cloneFlags uintptr
	setsid     bool
	errWr      int
	// The program waits for EOF on orderRd, which comes when the first
	// child (the last writer) has exited: its report is then first on
	// the error pipe.
	orderRd, orderWr int
}

// The steps of a spawned child, reported with their errno.
const (
	spawnUnshare = iota + 100
	spawnSetgroups
	spawnSetgid
	spawnSetuid
	spawnClone
	spawnSetsid
	spawnDup
	spawnExec
	spawnForked // no failure: the first child forked the program (its pid)
	// spawnJoinFirst+i: the join of Join[i] failed.
	spawnJoinFirst = 1000
)

// JoinError is a Spawn whose join of Join[Index] failed.
type JoinError struct {
	Index int
	Errno syscall.Errno
}

func (e *JoinError) Error() string { return fmt.Sprintf("join namespace %d: %v", e.Index, e.Errno) }
func (e *JoinError) Unwrap() error { return e.Errno }

var spawnStepNames = map[uint32]string{spawnUnshare: "make the new namespaces",
	spawnSetgroups: "setgroups", spawnSetgid: "setresgid 0", spawnSetuid: "setresuid 0", spawnClone: "fork into the new namespaces",
	spawnSetsid: "setsid", spawnDup: "set up the descriptors", spawnExec: "execve"}

// Spawn starts s and returns the program's pid once it has exec'd. Call
// it on a locked thread: the program's parent is the caller's process,
// and that thread is the one whose exit a parent-death signal of the
// program would follow. The intermediate child is reaped here.
func Spawn(s SpawnSpec) (int, error) {
	a := spawnArgs{files: s.Files, join: s.Join, becomeRoot: s.BecomeRoot, unshare: s.Unshare, setsid: s.Setsid}
	var err error
	if a.path, err = unix.BytePtrFromString(s.Path); err != nil {
		return 0, fmt.Errorf("program %q: %w", s.Path, err)
	}
	if a.argv, err = bytePtrs(s.Argv); err != nil {
		return 0, fmt.Errorf("arguments: %w", err)
	}
	if a.envv, err = bytePtrs(s.Env); err != nil {
		return 0, fmt.Errorf("environment: %w", err)
	}
	if s.Unshare&(unix.CLONE_NEWPID|unix.CLONE_NEWUSER) != 0 {
		return 0, errors.New("Spawn: a pid namespace is NewPID's, and a user namespace is joined, not made")
	}
	a.tmp = make([]int, len(s.Files))
	if s.BecomeRoot {
		// This thread's, which the child is a copy of (credentials are
		// per thread).
		n, _, e := syscall.RawSyscall(unix.SYS_GETGROUPS, 0, 0, 0)
		if e != 0 {
			return 0, fmt.Errorf("getgroups: %w", e)
		}
		a.noGroups = n == 0
	}
	a.cloneFlags = unix.CLONE_PARENT | uintptr(unix.SIGCHLD)
	if s.NewPID {
		a.cloneFlags |= unix.CLONE_NEWPID
	}
	var errP [2]int
	if err := unix.Pipe2(errP[:], unix.O_CLOEXEC); err != nil {
		return 0, fmt.Errorf("error pipe: %w", err)
	}
	a.errWr = errP[1]
	var orderP [2]int
	if err := unix.Pipe2(orderP[:], unix.O_CLOEXEC); err != nil {
		unix.Close(errP[0])
		unix.Close(errP[1])
		return 0, fmt.Errorf("order pipe: %w", err)
	}
	a.orderRd, a.orderWr = orderP[0], orderP[1]
	syscall.ForkLock.Lock()
	first, errno := spawnChild(&a)
	syscall.ForkLock.Unlock()
	unix.Close(orderP[0])
	unix.Close(orderP[1])
	unix.Close(errP[1])
	defer unix.Close(errP[0])
	if errno != 0 {
		return 0, fmt.Errorf("clone: %w", errno)
	}
	c := &Child{errRd: errP[0], sync: -1}
	step, v, rerr := c.readStatus()
	reap(first)
	switch {
	case rerr != nil:
		return 0, rerr
	case step == 0:
		return 0, errors.New("the spawned child exec'd without forking")
	case step != spawnForked:
		return 0, spawnError(step, v)
	}
	// The first child stayed in this process's pid namespace (a pid
	// namespace joined only sets where its children are born): the
	// program's pid it reports is the one seen here.
	pid := int(v)
	step, v, rerr = c.readStatus()
	switch {
	case rerr != nil:
		reap(pid)
		return 0, rerr
	case step != 0:
		reap(pid)
		return 0, spawnError(step, v)
	}
	return pid, nil
}

// reap waits for pid, a child of this process that has exited or is
// exiting.
func reap(pid int) {
	var ws unix.WaitStatus
	for {
		if _, err := unix.Wait4(pid, &ws, 0, nil); err != unix.EINTR {
			return
		}
	}
}

func spawnError(step, errno uint32) error {
	if step >= spawnJoinFirst {
		return &JoinError{Index: int(step - spawnJoinFirst), Errno: syscall.Errno(errno)}
	}
	op, ok := spawnStepNames[step]
	if !ok {
		op = "step " + fmt.Sprint(step)
	}
	return &ExecError{Op: op, Errno: syscall.Errno(errno)}
}

// spawnChild forks twice; the rules of forkChild hold for both children.
//
//go:noinline
//go:norace
//go:nocheckptr
func spawnChild(a *spawnArgs) (pid int, errno syscall.Errno) {
	runtimeBeforeFork()
	r1, _, e := syscall.RawSyscall6(unix.SYS_CLONE, uintptr(unix.SIGCHLD), 0, 0, 0, 0, 0)
	if e != 0 || r1 != 0 {
		runtimeAfterFork()
		return int(r1), e
	}
	runtimeAfterForkInChild()
	// The caller's supplementary groups go first, while this child still
	// has CAP_SETGID over them: a joined namespace whose setgroups is
	// "deny" would refuse it after the join (root's groups are [0]).
	dropped := false
	if a.becomeRoot {
		_, _, e := syscall.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0)
		dropped = e == 0
	}
	for i, fd := range a.join {
		if _, _, e := syscall.RawSyscall(unix.SYS_SETNS, uintptr(fd), 0, 0); e != 0 {
			childFail(a.errWr, spawnJoinFirst+i, e)
		}
	}
	if a.unshare != 0 {
		if _, _, e := syscall.RawSyscall(unix.SYS_UNSHARE, a.unshare, 0, 0); e != 0 {
			childFail(a.errWr, spawnUnshare, e)
		}
	}
	if a.becomeRoot {
		// setgroups is denied in a namespace whose setgroups is "deny":
		// fine when there is nothing to drop; else the program would
		// keep the caller's groups (host gid 0, say) as the joined
		// namespace's root.
		if _, _, e := syscall.RawSyscall(unix.SYS_SETGROUPS, 0, 0, 0); e != 0 && (e != unix.EPERM || !a.noGroups && !dropped) {
			childFail(a.errWr, spawnSetgroups, e)
		}
		if _, _, e := syscall.RawSyscall(unix.SYS_SETRESGID, 0, 0, 0); e != 0 {
			childFail(a.errWr, spawnSetgid, e)
		}
		if _, _, e := syscall.RawSyscall(unix.SYS_SETRESUID, 0, 0, 0); e != 0 {
			childFail(a.errWr, spawnSetuid, e)
		}
	}
	// The program is born in the namespaces made for children (pid,
	// time) and is the caller's child, not this one's.
	r1, _, e = syscall.RawSyscall6(unix.SYS_CLONE, a.cloneFlags, 0, 0, 0, 0, 0)
	if e != 0 {
		childFail(a.errWr, spawnClone, e)
	}
	if r1 != 0 {
		childReport(a.errWr, spawnForked, uint32(r1))
		for {
			syscall.RawSyscall(unix.SYS_EXIT_GROUP, 0, 0, 0)
		}
	}
	syscall.RawSyscall(unix.SYS_CLOSE, uintptr(a.orderWr), 0, 0)
	var b [1]byte
	for {
		n, _, e := syscall.RawSyscall(unix.SYS_READ, uintptr(a.orderRd), uintptr(unsafe.Pointer(&b[0])), 1)
		if e == unix.EINTR {
			continue
		}
		if e != 0 || n == 0 {
			break
		}
	}
	syscall.RawSyscall(unix.SYS_CLOSE, uintptr(a.orderRd), 0, 0)
	if a.setsid {
		if _, _, e := syscall.RawSyscall(unix.SYS_SETSID, 0, 0, 0); e != 0 {
			childFail(a.errWr, spawnSetsid, e)
		}
	}
	// Each file first to a copy above the targets (close-on-exec), then
	// onto its place: a file whose fd is another's target is not lost.
	n := uintptr(len(a.files))
	for i, fd := range a.files {
		r, _, e := syscall.RawSyscall(unix.SYS_FCNTL, uintptr(fd), unix.F_DUPFD_CLOEXEC, n)
		if e != 0 {
			childFail(a.errWr, spawnDup, e)
		}
		a.tmp[i] = int(r)
	}
	for i, fd := range a.tmp {
		if _, _, e := syscall.RawSyscall(unix.SYS_DUP3, uintptr(fd), uintptr(i), 0); e != 0 {
			childFail(a.errWr, spawnDup, e)
		}
	}
	_, _, e = syscall.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(a.path)),
		uintptr(unsafe.Pointer(&a.argv[0])), uintptr(unsafe.Pointer(&a.envv[0])))
	childFail(a.errWr, spawnExec, e)
	return 0, 0
}

// SpawnLocked runs Spawn on a thread of its own, locked, and keeps that
// thread (the program's parent thread, whose exit a parent-death signal
// follows) parked until the returned channel is closed. keep false lets
// the thread go at once (a program that outlives its caller has no
// parent-death signal).
func SpawnLocked(s SpawnSpec, keep bool) (int, chan struct{}, error) {
	type result struct {
		pid int
		err error
	}
	done := make(chan result, 1)
	var pin chan struct{}
	if keep {
		pin = make(chan struct{})
	}
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread is the program's parent until pin
		// is closed, then ends with its goroutine.
		pid, err := Spawn(s)
		done <- result{pid, err}
		if err == nil && pin != nil {
			<-pin
		}
	}()
	r := <-done
	if r.err != nil {
		return 0, nil, r.err
	}
	return r.pid, pin, nil
}
