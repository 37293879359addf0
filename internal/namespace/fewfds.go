package namespace

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// A clone copies the calling thread's descriptor table (each open file's
// reference taken), and the child's exec then closes every close-on-exec
// one again. A shared monitor holds ~9 descriptors per container it
// runs: at 1000 running, a fork+exec pays ~1.1-1.4 ms for the 9000 of
// them, measured on the test machine (kernel 6.18), against ~0.8 ms for
// the whole fork+exec+wait of /bin/true from a small table.
// StartProcessFewFDs spawns from a thread of its own whose table is a
// private one holding only what the child is given.
const (
	// bigTableFD: a table whose descriptor of this number is open is
	// worth the detour (a few system calls and a thread).
	bigTableFD = 512
	// keepFDs: descriptors below it stay in the spawning thread's
	// private table. Among them must be the Go runtime's poller
	// descriptors (its epoll and the eventfd that wakes it), which the
	// runtime may write on any thread, this one included, whenever the
	// goroutine parks: the poller is set up at a process's start, when
	// few descriptors are open (checked, see runtimePollerBelow).
	keepFDs = 64
)

// BigFDTable reports whether this process's descriptor table is big
// enough for StartProcessFewFDs to take its detour: descriptor
// bigTableFD is open, and the Go runtime's poller descriptors are where
// the private table keeps them.
func BigFDTable() bool {
	if _, err := unix.FcntlInt(bigTableFD, unix.F_GETFD, 0); err != nil {
		return false
	}
	return runtimePollerBelow(keepFDs)
}

// StartProcessFewFDs starts a process as syscall.StartProcess does, but
// from a thread whose descriptor table holds the descriptors below
// keepFDs and those in attr.Files alone, when the calling process's
// table is big (BigFDTable). ok false: it did not run, and nothing was
// done; the caller starts the process itself. The child's pid comes
// back, and with attr.Sys.PidFD its pidfd in the caller's table.
//
// The child is cloned from that thread, not the caller's: nothing the
// caller set on its own thread (v1 cgroups, capability bounding set,
// joined namespaces, LSM exec labels) reaches it. prepare, when not nil,
// runs on the spawning thread just before the clone, to set such things
// there: the thread ends once the child is started, so nothing needs
// undoing. What prepare opens lands in the thread's private table and
// goes with the thread: it must hand no descriptor to another thread. A
// prepare error starts nothing (ok false). Pdeathsig, Ptrace and Foreground are
// refused (ok false): the first two tie the child to the thread that
// cloned it, which exits at once, and Foreground names a descriptor of
// the caller's table.
func StartProcessFewFDs(argv0 string, argv []string, attr *syscall.ProcAttr, prepare func() error) (pid int, ok bool, err error) {
	if sys := attr.Sys; sys != nil && (sys.Pdeathsig != 0 || sys.Ptrace || sys.Foreground) {
		return 0, false, nil
	}
	if !BigFDTable() {
		return 0, false, nil
	}
	// The child's pidfd comes back over this pair: a pidfd made on the
	// spawning thread is in its private table only.
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, false, nil
	}
	defer unix.Close(pair[0])
	defer unix.Close(pair[1])
	type result struct {
		pid     int
		started bool
		err     error
	}
	// The caller's thread stays its own meanwhile, so the work runs on
	// another one; which must not be the main thread either (it is never
	// ended, and its table is the one pidfd_getfd reads). A goroutine that
	// finds itself there keeps it, so that the one it starts runs on a
	// third thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var work func(nested bool) result
	work = func(nested bool) result {
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			defer runtime.UnlockOSThread()
			if nested {
				return result{}
			}
			done := make(chan result, 1)
			go func() { done <- work(true) }()
			return <-done
		}
		// Never unlocked: the thread ends with its goroutine, and its
		// private table with it (the copies in it closed, the caller's
		// descriptors untouched).
		pid, started, err := startFromPrivateTable(argv0, argv, attr, pair[1], prepare)
		return result{pid, started, err}
	}
	done := make(chan result, 1)
	go func() { done <- work(false) }()
	r := <-done
	if !r.started {
		return 0, false, nil
	}
	if r.err != nil {
		return 0, true, r.err
	}
	if attr.Sys != nil && attr.Sys.PidFD != nil {
		fd, err := recvFD(pair[0])
		if err != nil {
			// Sent before startFromPrivateTable returned, but not
			// received (this table full: EMFILE truncates the message).
			// The child cannot be handed over: it goes, and its pid,
			// an unreaped child's, is still its own.
			_ = unix.Kill(r.pid, unix.SIGKILL)
			var ws unix.WaitStatus
			_, _ = unix.Wait4(r.pid, &ws, 0, nil)
			return 0, true, fmt.Errorf("the pidfd of %s: %w", argv0, err)
		}
		*attr.Sys.PidFD = fd
	}
	return r.pid, true, nil
}

// startFromPrivateTable runs on a locked thread of its own: it unshares
// the thread's descriptor table keeping the descriptors below keepFDs,
// brings the child's descriptors into it by pidfd_getfd, and starts the
// child. started false: nothing was started (the caller falls back).
func startFromPrivateTable(argv0 string, argv []string, attr *syscall.ProcAttr, ret int, prepare func() error) (int, bool, error) {
	// Under ForkLock, as a clone: a descriptor made without close-on-exec
	// and then given it (under ForkLock's read side) must not be copied
	// inheritable.
	syscall.ForkLock.Lock()
	err := unix.CloseRange(keepFDs, ^uint(0), unix.CLOSE_RANGE_UNSHARE)
	syscall.ForkLock.Unlock()
	if err != nil {
		return 0, false, nil
	}
	self, err := unix.PidfdOpen(os.Getpid(), 0)
	if err != nil {
		return 0, false, nil
	}
	bring := func(fd int) (int, error) {
		if fd < keepFDs {
			return fd, nil
		}
		return unix.PidfdGetfd(self, fd, 0)
	}
	files := make([]uintptr, len(attr.Files))
	for i, f := range attr.Files {
		files[i] = f
		if f == ^uintptr(0) {
			continue
		}
		nf, err := bring(int(f))
		if err != nil {
			return 0, false, nil
		}
		files[i] = uintptr(nf)
	}
	retFD, err := bring(ret)
	if err != nil {
		return 0, false, nil
	}
	mine := *attr
	mine.Files = files
	if prepare != nil {
		if err := prepare(); err != nil {
			return 0, false, nil
		}
	}
	var pidfd int
	if attr.Sys != nil {
		sys := *attr.Sys
		if sys.UseCgroupFD {
			if sys.CgroupFD, err = bring(sys.CgroupFD); err != nil {
				return 0, false, nil
			}
		}
		if sys.PidFD != nil {
			sys.PidFD = &pidfd
		}
		mine.Sys = &sys
	}
	pid, _, err := syscall.StartProcess(argv0, argv, &mine)
	if err != nil {
		return 0, true, err
	}
	if attr.Sys != nil && attr.Sys.PidFD != nil {
		if err := unix.Sendmsg(retFD, []byte{0}, unix.UnixRights(pidfd), nil, 0); err != nil {
			// The caller cannot be handed the child: it goes.
			_ = unix.PidfdSendSignal(pidfd, unix.SIGKILL, nil, 0)
			var ws unix.WaitStatus
			_, _ = unix.Wait4(pid, &ws, 0, nil)
			return 0, true, fmt.Errorf("hand over the pidfd of %s: %w", argv0, err)
		}
	}
	return pid, true, nil
}

// recvFD receives the one descriptor sent on fd.
func recvFD(fd int) (int, error) {
	oob := make([]byte, unix.CmsgSpace(4))
	_, oobn, flags, _, err := unix.Recvmsg(fd, make([]byte, 1), oob, unix.MSG_CMSG_CLOEXEC|unix.MSG_DONTWAIT)
	if err != nil {
		return -1, err
	}
	if flags&unix.MSG_CTRUNC != 0 {
		// What did come is closed with the rest below.
		msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
		for i := range msgs {
			fds, _ := unix.ParseUnixRights(&msgs[i])
			for _, f := range fds {
				unix.Close(f)
			}
		}
		return -1, errors.New("the descriptor did not fit in this table")
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return -1, errors.New("no descriptor came")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		for _, f := range fds {
			unix.Close(f)
		}
		return -1, errors.New("not one descriptor came")
	}
	return fds[0], nil
}

// runtimePollerBelow reports whether the Go runtime's poller descriptors
// (an epoll and an eventfd: golxc makes neither) are open below n, where
// a private table made by StartProcessFewFDs keeps them.
func runtimePollerBelow(n int) bool {
	var epoll, eventfd bool
	for fd := 0; fd < n && !(epoll && eventfd); fd++ {
		l, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
		if err != nil {
			continue
		}
		switch l {
		case "anon_inode:[eventpoll]":
			epoll = true
		case "anon_inode:[eventfd]":
			eventfd = true
		}
	}
	return epoll && eventfd
}
