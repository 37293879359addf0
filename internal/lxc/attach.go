package lxc

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"golxc/internal/cgroup"
	"golxc/internal/monitor"
	"golxc/internal/security"
)

// AllNamespaces are the namespaces lxc-attach joins by default.
const AllNamespaces = unix.CLONE_NEWNS | unix.CLONE_NEWPID | unix.CLONE_NEWUTS | unix.CLONE_NEWIPC | unix.CLONE_NEWNET | unix.CLONE_NEWCGROUP

// AttachOptions say what to run in a container and how.
type AttachOptions struct {
	Command    []string // default: the user's shell in the container
	Namespaces int      // clone flags to join; 0: AllNamespaces
	KeepEnv    bool     // the caller's whole environment
	ClearEnv   bool     // nothing but container=lxc and PATH
	SetVars    []string // -v VAR=VALUE
	KeepVars   []string // --keep-var NAME
	UID, GID   int      // -u, -g; -1: root
	RCFile     string
}

// attachedEnv builds the environment of an attached process. The default
// is a clean, documented set: container=lxc, the container's PATH, HOME,
// and the caller's TERM and locale, never the host caller's PATH.
func attachedEnv(o AttachOptions, home string) []string {
	var env []string
	switch {
	case o.KeepEnv:
		env = append(env, os.Environ()...)
		env = setEnv(env, "container", "lxc")
	case o.ClearEnv:
		env = []string{"container=lxc", "PATH=" + defaultPath}
	default:
		env = []string{"container=lxc", "PATH=" + defaultPath, "HOME=" + home}
		for _, k := range []string{"TERM", "LANG", "LC_ALL", "LC_CTYPE", "COLORTERM"} {
			if v, ok := os.LookupEnv(k); ok {
				env = append(env, k+"="+v)
			}
		}
	}
	for _, k := range o.KeepVars {
		if v, ok := os.LookupEnv(k); ok {
			env = setEnv(env, k, v)
		}
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

// Attach runs a command in the running container's namespaces and
// cgroups, with stdio passed through, and returns its exit status (128+N
// when killed by signal N).
func (c *Container) Attach(o AttachOptions) (int, error) {
	conn, err := monitor.Dial(c.LXCPath, c.Name)
	if errors.Is(err, monitor.ErrNotRunning) {
		if o.RCFile == "" {
			if err := c.mustBeDefined(); err != nil {
				return 1, err
			}
		}
		return 1, &ErrNotRunning{Name: c.Name}
	}
	if err != nil {
		return 1, err
	}
	pidfd, info, err := conn.PidFD()
	conn.Close()
	if err != nil {
		if info != nil && info.State != "" && info.State != monitor.Running {
			return 1, &ErrNotRunning{Name: c.Name}
		}
		return 1, err
	}
	defer unix.Close(pidfd)

	// The attached command gets the running init's bounding set: what the
	// container was started with, whatever its config file says now.
	keep, err := security.BoundingOf(info.Pid)
	if err != nil {
		return 1, err
	}
	flags := o.Namespaces
	if flags == 0 {
		flags = AllNamespaces
	}
	layout, err := cgroup.Detect()
	if err != nil {
		return 1, err
	}
	group := layout.Group(info.Cgroup)

	type started struct {
		cmd *exec.Cmd
		err error
	}
	ch := make(chan started, 1)
	go func() {
		// This goroutine's thread joins the container and never returns to
		// the pool: once the goroutine ends, the runtime retires it.
		runtime.LockOSThread()
		cmd, err := c.spawnAttached(o, pidfd, flags, keep, group)
		ch <- started{cmd, err}
	}()
	s := <-ch
	if s.err != nil {
		var ae *AttachError
		if errors.As(s.err, &ae) {
			return ae.Code, s.err
		}
		return 1, s.err
	}
	return waitForwarding(s.cmd), nil
}

// spawnAttached runs on a locked thread: it joins the container, limits
// the thread's capability bounding set, and starts the command from that
// thread so that the child inherits all of it.
func (c *Container) spawnAttached(o AttachOptions, pidfd, flags int, keep []string, group *cgroup.Group) (*exec.Cmd, error) {
	if err := unix.Unshare(unix.CLONE_FS); err != nil {
		return nil, fmt.Errorf("unshare fs: %w", err)
	}
	attr := &syscall.SysProcAttr{}
	if flags&unix.CLONE_NEWCGROUP != 0 && group != nil {
		if err := group.EnterThread(unix.Gettid()); err != nil {
			return nil, fmt.Errorf("join cgroups of %s: %w", c.Name, err)
		}
		if f, err := group.OpenUnified(); err == nil {
			defer f.Close()
			attr.UseCgroupFD = true
			attr.CgroupFD = int(f.Fd())
		}
	}
	if err := unix.Setns(pidfd, flags); err != nil {
		return nil, fmt.Errorf("join namespaces of %s: %w", c.Name, err)
	}
	if err := security.LimitBounding(keep); err != nil {
		return nil, err
	}
	uid, gid := o.UID, o.GID
	if uid < 0 {
		uid = 0
	}
	if gid < 0 {
		gid = 0
	}
	if uid != 0 || gid != 0 {
		attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	// From here on the thread sees the container's filesystem (when the
	// mount namespace was joined): home, shell and PATH are the container's.
	home, shell := passwdEntry(uid)
	env := attachedEnv(o, home)
	args := o.Command
	if len(args) == 0 {
		args = []string{shell}
	}
	path, err := findInPath(args[0], env)
	if err != nil {
		return nil, err
	}
	cmd := &exec.Cmd{Path: path, Args: args, Env: env, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, SysProcAttr: attr}
	if err := cmd.Start(); err != nil {
		code := 127
		if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.ENOEXEC) || errors.Is(err, syscall.EISDIR) {
			code = 126
		}
		return nil, &AttachError{Code: code, Err: fmt.Errorf("%s: %w", args[0], unwrapExec(err))}
	}
	return cmd, nil
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

// passwdEntry reads uid's home and shell from /etc/passwd as this thread
// sees it (the container's).
func passwdEntry(uid int) (home, shell string) {
	home, shell = "/root", "/bin/sh"
	if uid != 0 {
		home = "/"
	}
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) < 7 || fields[2] != strconv.Itoa(uid) {
			continue
		}
		if fields[5] != "" {
			home = fields[5]
		}
		if fields[6] != "" {
			if _, err := os.Stat(fields[6]); err == nil {
				shell = fields[6]
			}
		}
		return
	}
	return
}

// waitForwarding waits for cmd, passing on the signals a sysadmin sends
// to lxc-attach, and returns the shell-style exit status.
func waitForwarding(cmd *exec.Cmd) int {
	sigs := make(chan os.Signal, 8)
	fwd := []os.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH, syscall.SIGINT, syscall.SIGQUIT}
	signal.Notify(sigs, fwd...)
	defer signal.Stop(sigs)
	// On a terminal, Ctrl-C already reaches the command (same process
	// group); forwarding it would deliver it twice.
	tty := isTerminal(os.Stdin)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if tty && (s == syscall.SIGINT || s == syscall.SIGQUIT || s == syscall.SIGWINCH) {
					continue
				}
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	_ = cmd.Wait()
	close(done)
	ws, _ := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
