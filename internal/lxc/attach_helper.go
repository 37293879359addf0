package lxc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/pack"
	"github.com/golxc/golxc/internal/seccomp"
	"github.com/golxc/golxc/internal/security"
)

// AttachHelperArg is argv[1] of the attach helper, the stage of golxc
// that lxc-attach execs (from a sealed copy) to enter a container.
const AttachHelperArg = "__attach"

// requestMax bounds the request (a --keep-env environment at most).
const requestMax = 16 << 20

// RunAttachHelper is the attach helper: it reads its request, joins the
// container's namespaces on this thread, limits the thread's bounding
// set, looks up the command inside, and forks it (a real fork, its own
// memory) as a child of lxc-attach. It stays in the host's pid namespace:
// no process of the container can see it. It holds the host's /dev/null
// as stdio until lxc-attach gives it the command's (which it never writes
// to), the request pipe, the control socket, the v1 tasks files it writes
// itself into (closed before the fork) and the pidfd; everything it
// reports goes over the control socket.
func RunAttachHelper() int {
	unix.Close(helperSelfFD)
	report := func(r attachReport) {
		b, _ := pack.Marshal(r)
		_, _ = unix.Write(helperControlFD, b)
	}
	// A first child that failed, and the command's process once forked:
	// lxc-attach's children (CLONE_PARENT), for it to reap.
	var hop, forked int
	fail := func(err error) int {
		r := attachReport{Error: err.Error(), Code: 1, Hop: hop, Pid: forked}
		var ae *AttachError
		if errors.As(err, &ae) {
			r.Code = ae.Code
		}
		report(r)
		return 1
	}
	// This thread joins the container and is the one that forks; the
	// process exits when it is done.
	runtime.LockOSThread()
	// lxc-attach may start this process before it knows the container
	// is running, unfrozen, and what the command's stdio are: the init's
	// pidfd and stdio come over the control socket once it does.
	pidfd, err := receiveFDs()
	if err != nil {
		return fail(err)
	}
	// This thread, and it alone, steps into the container's v1 cgroups,
	// so the command it forks is born there (lxc-attach started this
	// process in the cgroup2 group). lxc-attach moving this process
	// instead would take the kernel's global threadgroup lock, which
	// waits for an RCU grace period (5-15 ms here, more than the rest
	// of an attach); a thread writing "0" to a tasks file moves itself
	// without it (see cgroup.Group.MoveThreadIn). It never goes back:
	// the process ends with the attach. Done before the request is
	// read: lxc-attach may still be making it.
	if err := enterCgroups(os.Args); err != nil {
		return fail(err)
	}
	req, err := readRequest()
	if err != nil {
		return fail(err)
	}
	// A user other than root holds no capability over the namespaces of
	// its container's user namespace until it has joined that: the
	// forked child joins them all at once (one setns through the pidfd,
	// the user namespace first) and forks again into the pid namespace.
	// It can then look nothing up inside beforehand: the command is
	// searched for as a shell does, by trying each place.
	asUser := os.Geteuid() != 0
	if asUser && !req.JoinUser {
		return fail(errors.New("the container has no user namespace of its own: only root attaches to it"))
	}
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return fail(fmt.Errorf("unshare fs: %w", err))
	}
	// The label files of this thread, opened while /proc is the host's;
	// written just before the fork, whose child inherits them for its exec.
	var attrs *security.ExecAttrs
	if !req.LSM.Empty() {
		if attrs, err = security.OpenExecAttrs("/proc", req.LSM); err != nil {
			return fail(err)
		}
		defer attrs.Close()
	}
	// The bounding set first, while /proc is still the host's (it reads
	// cap_last_cap, which a container could fake in its own /proc); it
	// does not take CAP_SYS_ADMIN from this thread, which setns needs.
	o := req.Options
	if o.Elevated&ElevateCap == 0 && !asUser {
		if err := security.LimitBounding(req.Bounding); err != nil {
			return fail(err)
		}
	}
	// The user namespace is the forked child's to join: setns of it is
	// refused to a process with threads.
	if ns := req.Namespaces &^ unix.CLONE_NEWUSER; ns != 0 && !asUser {
		if err := unix.Setns(pidfd, ns); err != nil {
			return fail(fmt.Errorf("join the container's namespaces: %w", err))
		}
	}
	var userns *os.File
	if req.JoinUser {
		userns = os.NewFile(uintptr(pidfd), "pidfd")
		defer userns.Close()
	} else {
		unix.Close(pidfd)
	}
	remount := o.RemountSysProc && req.Namespaces&unix.CLONE_NEWNS == 0
	if remount && asUser {
		return fail(errors.New("-R (remount /proc and /sys) is for root only"))
	}
	if remount {
		// A mount namespace of the command's own, a copy of the host's
		// that passes nothing back (slave), where the forked child
		// mounts /proc and /sys afresh: only a process in the joined
		// pid namespace can mount a /proc that shows it.
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			return fail(fmt.Errorf("unshare the mount namespace for -R: %w", err))
		}
		if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
			return fail(fmt.Errorf("make / a slave mount for -R: %w", err))
		}
	}
	// From here on this thread sees the container's filesystem (when
	// the mount namespace was joined): the shell and the command are
	// looked up there, in the container's /etc/passwd lxc-attach read
	// when no command is given.
	env := req.Env
	args := o.Command
	exists := func(p string) bool {
		var st unix.Stat_t
		return unix.Stat(p, &st) == nil
	}
	if asUser {
		// Not this process's file system: the child finds out.
		exists = func(string) bool { return true }
	}
	var fallbacks []string
	if len(args) == 0 {
		_, shell := passwdEntry(req.Passwd, req.UID, exists)
		args = []string{shell}
		if asUser && shell != "/bin/sh" {
			fallbacks = []string{"/bin/sh"}
		}
	}
	var path string
	if asUser {
		path, fallbacks = searchPath(args[0], env, fallbacks)
	} else if path, err = findInPath(args[0], env); err != nil {
		return fail(err)
	}
	// What the command is forked with is no more than what the
	// container's root has (unless -e CAP): the capabilities of its
	// init's bounding set (the forking thread's effective, permitted
	// and inheritable sets: the child is cloned from it), and not
	// dumpable until its exec. Until then it
	// is in the container's pid namespace, and a container's root that
	// ptraced it there would otherwise hold every capability of the
	// host's root through it.
	//
	// Also when the child joins the container's user namespace: a
	// privileged container's root can give its init a user namespace of
	// its own, and still holds CAP_SYS_PTRACE on the host, so the child
	// must hold nothing more than the bounding set before the join too.
	// It can still join: lxc-attach checked that the namespace is owned
	// by uid 0, and a process of the parent namespace whose euid owns a
	// user namespace has every capability in it. After the join it cuts
	// its set in that namespace to the bounding set (keepCaps).
	// The command's limits before the capabilities go: raising a hard
	// limit takes CAP_SYS_RESOURCE, which the container may not keep.
	// The forked child inherits them.
	if err := containerinit.SetRlimits(req.Rlimits); err != nil {
		return fail(err)
	}
	var keepCaps *uint64
	if o.Elevated&ElevateCap == 0 {
		if req.JoinUser {
			m, err := security.CapMask(req.Bounding)
			if err != nil {
				return fail(err)
			}
			keepCaps = &m
		}
		if !asUser {
			var also []string
			if (req.UID != 0 || req.GID != 0 || len(req.Groups) > 0) && !req.JoinUser {
				// The switch of user needs CAP_SETGID and CAP_SETUID
				// even when the container's bounding set lacks them.
				// They stay out of the bounding and inheritable sets,
				// so they cannot outlive the exec: a switch to a uid
				// other than 0 clears the permitted set, and root's
				// exec gets no more than the bounding set.
				also = []string{"CAP_SETGID", "CAP_SETUID"}
			}
			// This thread's alone: the command is forked from it,
			// and the helper's other threads, in the host's
			// namespaces, run nothing of the container's.
			if err := security.LimitThreadSwitching(req.Bounding, also); err != nil {
				return fail(err)
			}
		}
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fail(fmt.Errorf("prctl PR_SET_DUMPABLE: %w", err))
	}
	spec := namespace.ForkSpec{Path: path, Argv: args, Env: env, Setsid: true, CTTY: req.CTTY, Parent: true, RemountSysProc: remount,
		UserNS: userns, KeepCaps: keepCaps, NoNewPrivs: req.NoNewPrivs, Fallbacks: fallbacks, Dir: req.Dir}
	if asUser {
		spec.JoinFlags = req.Namespaces &^ unix.CLONE_NEWUSER
		spec.ForkAgain = req.Namespaces&unix.CLONE_NEWPID != 0
	}
	if req.UID != 0 || req.GID != 0 || req.JoinUser || len(req.Groups) > 0 {
		spec.Cred = &namespace.Cred{UID: uint32(req.UID), GID: uint32(req.GID), Groups: req.Groups}
	}
	if len(req.Seccomp) > 0 {
		if spec.Seccomp, err = seccomp.Decode(req.Seccomp); err != nil {
			return fail(fmt.Errorf("the container's seccomp filter: %w", err))
		}
	}
	if attrs != nil {
		if err := attrs.SetExec(req.LSM); err != nil {
			return fail(err)
		}
	}
	child, err := namespace.Fork(spec)
	if err != nil {
		return fail(fmt.Errorf("fork the attached process: %w", err))
	}
	if spec.ForkAgain {
		if hop, err = child.Hop(); err != nil {
			return fail(fmt.Errorf("join the container's namespaces: %w", err))
		}
	}
	// Released at once: it was born in the container's cgroups, and
	// lxc-attach, which checks the pid reported before it waits for it
	// or signals it, has nothing to do to it before its exec.
	forked = child.Pid
	if err := child.Release(); err != nil {
		code := 126
		var ee *namespace.ExecError
		if errors.As(err, &ee) && ee.Op == "execve" && ee.Errno != unix.EACCES && ee.Errno != unix.ENOEXEC && ee.Errno != unix.EISDIR && ee.Errno != unix.EPERM {
			code = 127
		}
		if ee != nil && ee.Op == "execve" {
			err = ee.Errno // "sh: permission denied", as a shell says it
		} else if ee != nil && ee.Errno == unix.EPERM && asUser {
			err = fmt.Errorf("%w (lxc-attach as a user joins only a container whose user namespace that user made)", err)
		}
		return fail(&AttachError{Code: code, Err: fmt.Errorf("%s: %w", args[0], err)})
	}
	report(attachReport{Pid: child.Pid, Hop: hop, Done: true})
	return 0
}

// receiveFDs takes the command's stdio and the init's pidfd from
// lxc-attach's one message on the control socket: stdio becomes this
// process's fds 0, 1 and 2 (the host's /dev/null until then), inherited
// by the command; the pidfd is returned.
func receiveFDs() (int, error) {
	var buf [16]byte
	oob := make([]byte, unix.CmsgSpace(4*attachFDs))
	var n, oobn int
	var err error
	for {
		n, oobn, _, _, err = unix.Recvmsg(helperControlFD, buf[:], oob, unix.MSG_CMSG_CLOEXEC)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return -1, fmt.Errorf("receive stdio and pidfd: %w", err)
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for i := range msgs {
			got, err := unix.ParseUnixRights(&msgs[i])
			if err == nil {
				fds = append(fds, got...)
			}
		}
	}
	if string(buf[:n]) != attachFDsMsg || len(fds) != attachFDs {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return -1, fmt.Errorf("receive stdio and pidfd: got %q and %d fds", buf[:n], len(fds))
	}
	for i, fd := range fds[:3] {
		// 0, 1 and 2 are taken (the exec gave /dev/null): never one
		// of the fds received, which dup3 replaces.
		if err := unix.Dup3(fd, i, 0); err != nil {
			return -1, fmt.Errorf("stdio %d: %w", i, err)
		}
		unix.Close(fd)
	}
	return fds[3], nil
}

// enterCgroups moves the calling thread into the v1 cgroups whose tasks
// files lxc-attach handed over (as many as args[2] says, from
// helperCgroupFD on), and closes them: the command forked later holds
// none.
func enterCgroups(args []string) error {
	n := 0
	if len(args) > 2 {
		var err error
		if n, err = strconv.Atoi(args[2]); err != nil || n < 0 || n > maxCgroupTasks {
			return fmt.Errorf("attach helper: %q cgroup tasks files", args[2])
		}
	}
	var err error
	for i := 0; i < n; i++ {
		fd := helperCgroupFD + i
		if err == nil {
			if _, werr := unix.Write(fd, []byte("0")); werr != nil {
				err = fmt.Errorf("join the container's cgroups: %w", werr)
			}
		}
		unix.Close(fd)
	}
	return err
}

// maxCgroupTasks bounds how many v1 hierarchies the helper enters.
const maxCgroupTasks = 64

// readRequest reads the request from its pipe, to EOF.
func readRequest() (*attachRequest, error) {
	var buf []byte
	chunk := make([]byte, 64<<10)
	for {
		n, err := unix.Read(helperRequestFD, chunk)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read attach request: %w", err)
		}
		if n == 0 {
			break
		}
		buf = append(buf, chunk[:n]...)
		if len(buf) > requestMax {
			return nil, fmt.Errorf("attach request: %w", io.ErrShortBuffer)
		}
	}
	unix.Close(helperRequestFD)
	var req attachRequest
	if err := pack.Unmarshal(buf, &req); err != nil {
		return nil, fmt.Errorf("decode attach request: %w", err)
	}
	return &req, nil
}

// searchPath is a shell's PATH search for a caller that cannot look: cmd
// itself when it names a path, else each directory of the environment's
// PATH in turn, then more (the fallbacks given).
func searchPath(cmd string, env, more []string) (string, []string) {
	if strings.Contains(cmd, "/") {
		return cmd, more
	}
	path := defaultPath
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	var all []string
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		all = append(all, filepath.Join(dir, cmd))
	}
	all = append(all, more...)
	return all[0], all[1:]
}
