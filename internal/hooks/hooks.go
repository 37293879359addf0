// Package hooks runs a container's lxc.hook.* commands as LXC 5.0 runs them
// (lxc.container.conf(5), CONTAINER HOOKS): through /bin/sh -c, with the
// container's name, the section "lxc" and the hook type as arguments
// (lxc.hook.version 0) or as LXC_NAME, LXC_HOOK_SECTION and LXC_HOOK_TYPE
// alone (version 1), and LXC's environment. It knows where a hook runs
// only as far as its caller does: the monitor runs the host's hooks, the
// init stage the container's, lxc-destroy and lxc-copy theirs.
package hooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/tailbuf"
)

// Kind is a hook type, the TYPE of lxc.hook.TYPE.
type Kind string

// The hook types, in the order of a container's life.
const (
	PreStart  Kind = "pre-start"
	PreMount  Kind = "pre-mount"
	Mount     Kind = "mount"
	Autodev   Kind = "autodev"
	StartHost Kind = "start-host"
	Start     Kind = "start"
	Stop      Kind = "stop"
	PostStop  Kind = "post-stop"
	Clone     Kind = "clone"
	Destroy   Kind = "destroy"
)

// Container is what every hook is told of its container.
type Container struct {
	Name       string // LXC_NAME, and the first argument under version 0
	ConfigFile string // LXC_CONFIG_FILE
	// RootfsPath is LXC_ROOTFS_PATH (lxc.rootfs.path; the clone hook
	// gets the config's value as written, "dir:" and all, as LXC's).
	RootfsPath string
	// RootfsMount is LXC_ROOTFS_MOUNT: where the rootfs is to be found
	// by the hook. golxc mounts a container's rootfs on its own path
	// (it has no lxc.rootfs.mount), so that is the rootfs's directory.
	RootfsMount string
	Version     int // lxc.hook.version: 0 arguments, 1 environment only
	// The variables only the hooks of a start get (not clone, destroy).
	LogLevel   string // LXC_LOG_LEVEL (LXC's default: ERROR)
	Console    string // LXC_CONSOLE (lxc.console.path), when set
	ConsoleLog string // LXC_CONSOLE_LOGPATH (lxc-start -L, lxc.console.logfile)
	// Environ is what the hook's environment starts from: LXC's hooks
	// inherit its tools' environment. nil is this process's.
	Environ []string
}

// ForConfig is what a hook of cfg's container name, whose config is the
// file configFile, is told. The clone hook's LXC_ROOTFS_PATH is the
// config's value as written; the others' the rootfs's directory.
func ForConfig(name, configFile string, cfg *config.Config) Container {
	level := cfg.LogLevel
	if level == "" {
		level = "ERROR"
	}
	return Container{
		Name: name, ConfigFile: configFile,
		RootfsPath: cfg.Rootfs.Path, RootfsMount: cfg.Rootfs.Path,
		Version: cfg.HookVersion, LogLevel: strings.ToUpper(level),
		Console: consolePath(cfg.ConsolePath), ConsoleLog: cfg.ConsoleLogfile,
	}
}

// consolePath is LXC_CONSOLE's value: lxc.console.path unless it says
// "none" or nothing.
func consolePath(p string) string {
	if p == "none" {
		return ""
	}
	return p
}

// Commands returns cfg's lxc.hook.KIND commands in file order.
func Commands(cfg *config.Config, kind Kind) []string {
	var cmds []string
	for _, h := range cfg.Hooks {
		if h.Type == string(kind) {
			cmds = append(cmds, h.Command)
		}
	}
	return cmds
}

// Options are what one run adds to Container's.
type Options struct {
	// Args follow the hook's own: after name, "lxc" and the type under
	// version 0, after the command's own arguments under 1 (lxc-copy's
	// extra arguments for the clone hook; under version 0 the stop
	// hook's namespaces, "mnt:/proc/PID/fd/N" ...).
	Args []string
	// Env are further variables: LXC_PID, LXC_TARGET, LXC_SRC_NAME,
	// LXC_*_NS.
	Env []string
	// Dir is the working directory; "" is "/" (a start's hooks: the
	// monitor's). lxc-copy and lxc-destroy run theirs in the caller's.
	Dir string
	// Stdin is the hook's standard input; nil is /dev/null.
	Stdin *os.File
	// Output, when set, gets each hook's output (for the debug log),
	// as LXC logs it.
	Output func(command, output string)
}

// Env is the environment a hook of kind gets: c.Environ (or this
// process's) with LXC's variables over it, then o.Env.
func Env(kind Kind, c Container, extra []string) []string {
	base := c.Environ
	if base == nil {
		base = os.Environ()
	}
	vars := []string{
		"LXC_NAME=" + c.Name,
		"LXC_CONFIG_FILE=" + c.ConfigFile,
		"LXC_ROOTFS_MOUNT=" + c.RootfsMount,
		"LXC_ROOTFS_PATH=" + c.RootfsPath,
	}
	if kind != Clone && kind != Destroy {
		// LXC sets these in the process that starts the container;
		// lxc-copy and lxc-destroy set none of them.
		vars = append(vars, "LXC_HOOK_VERSION="+strconv.Itoa(c.Version), "LXC_CGNS_AWARE=1", "LXC_LOG_LEVEL="+c.LogLevel)
		if c.Console != "" {
			vars = append(vars, "LXC_CONSOLE="+c.Console)
		}
		if c.ConsoleLog != "" {
			vars = append(vars, "LXC_CONSOLE_LOGPATH="+c.ConsoleLog)
		}
	}
	if c.Version == 1 {
		vars = append(vars, "LXC_HOOK_TYPE="+string(kind), "LXC_HOOK_SECTION=lxc")
	}
	vars = append(vars, extra...)
	env := make([]string, 0, len(base)+len(vars))
	for _, e := range base {
		k, _, _ := strings.Cut(e, "=")
		// A variable of LXC's from the caller is LXC's to set, or not
		// there at all (a stale LXC_PID would mislead); golxc's own
		// stage markers (a monitor's) stay golxc's: a hook that runs a
		// golxc tool must get that tool, not a stage.
		if strings.HasPrefix(k, "LXC_") || k == "GOLXC_STAGE" || k == "GOLXC_LXCPATH" {
			continue
		}
		env = append(env, e)
	}
	return append(env, vars...)
}

// Line is the shell command line LXC runs for command: under version 0
// with the name, "lxc", the type and args after it; under 1 with args
// only.
func Line(kind Kind, command string, c Container, args []string) string {
	line := command
	if c.Version == 0 {
		args = append([]string{c.Name, "lxc", string(kind)}, args...)
	}
	for _, a := range args {
		line += " " + config.QuoteWord(a)
	}
	return line
}

// Error is a hook that failed: its command, how it ended and the last line
// of what it wrote.
type Error struct {
	Kind     Kind
	Command  string
	Status   string // "exited with status 7", "killed by signal 9", or the start's error
	LastLine string
	Code     int // the exit status; -1 when it did not exit
}

func (e *Error) Error() string {
	s := fmt.Sprintf("lxc.hook.%s %q %s", e.Kind, e.Command, e.Status)
	if e.LastLine != "" {
		s += ": " + e.LastLine
	}
	return s
}

// Run runs commands, the lxc.hook.KIND lines of one container, one after
// the other in their order, each through /bin/sh -c, and stops at the
// first that fails, returning an *Error. The hook runs in this process's
// namespaces, from its root: the caller is where the hook belongs. It
// gets no descriptor of this process's but its standard ones (stdin
// o.Stdin, stdout and stderr a pipe whose output is kept for the error),
// and a session of its own: no controlling terminal.
func Run(ctx context.Context, kind Kind, commands []string, c Container, o Options) error {
	if len(commands) == 0 {
		return nil
	}
	// Everything above the standard descriptors is close-on-exec from
	// here: what this process inherited or opened without it (a lock, a
	// monitor's status pipe, the init stage's sync socket) must not
	// reach a hook. Descriptors handed on on purpose (ExtraFiles) are
	// dup'd into place in the child, which clears the flag there.
	if err := CloseInherited(); err != nil {
		return fmt.Errorf("lxc.hook.%s: %w", kind, err)
	}
	env := Env(kind, c, o.Env)
	dir := o.Dir
	if dir == "" {
		dir = "/"
	}
	for _, command := range commands {
		if err := runOne(ctx, kind, command, c, o, env, dir); err != nil {
			return err
		}
	}
	return nil
}

// CloseInherited makes every descriptor of this process above the
// standard ones close-on-exec: what it inherited or opened without the
// flag (a lock, a sync socket) must not reach a hook it runs next.
func CloseInherited() error {
	if err := unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("close inherited descriptors: %w", err)
	}
	return nil
}

// hookOutputWait is how long a hook's output is read once the hook has
// exited (or was cancelled): a daemon it started that keeps its stdout
// must not hold the start for ever.
const hookOutputWait = 5 * time.Second

// maxOutput bounds the output kept of one hook: the end is what matters.
const maxOutput = 64 << 10

func runOne(ctx context.Context, kind Kind, command string, c Container, o Options, env []string, dir string) error {
	p := Proc{Path: "/bin/sh", Args: []string{"/bin/sh", "-c", Line(kind, command, c, o.Args)}, Env: env, Dir: dir}
	if o.Stdin != nil {
		p.Stdin = o.Stdin
	} // nil: /dev/null
	r := Exec(ctx, p)
	if o.Output != nil {
		o.Output(command, r.Output)
	}
	if !r.Failed {
		return nil
	}
	return &Error{Kind: kind, Command: command, LastLine: r.LastLine, Code: r.Code, Status: r.Status}
}

// Proc is one program run as a hook: Path exec'd with Args (argv, its
// first included; nil is Path alone), Env, from Dir ("" is this
// process's), Stdin its standard input (nil: /dev/null). RootFD, when
// above 0, is a directory the program is run chrooted to, its Path and
// Dir resolved there: an OCI createContainer hook's, whose path is the
// runtime's though its caller has joined another mount namespace. The
// caller's goroutine must be locked to its thread (the child is forked
// from it, its root from the thread's working directory).
type Proc struct {
	Path   string
	Args   []string
	Env    []string
	Dir    string
	Stdin  io.Reader
	RootFD int
}

// Result is how a Proc ended.
type Result struct {
	Failed   bool
	Status   string // "exited with status 7", "killed by signal 9", "failed to run: ..."
	Code     int    // the exit status; -1 when it did not exit
	Output   string // the end of what it wrote (stdout and stderr)
	LastLine string
}

// Exec runs p to its end as every hook runs: in a session of its own (no
// controlling terminal), its stdout and stderr one pipe whose end is
// kept. When ctx ends (a stop, a timeout) its whole session is killed,
// not only its first process; and what it left running that still holds
// its output is waited for hookOutputWait at most, once it has exited:
// a hook that starts a daemon does not hold its caller for ever.
func Exec(ctx context.Context, p Proc) Result {
	cmd := exec.CommandContext(ctx, p.Path)
	if len(p.Args) > 0 {
		cmd.Args = p.Args
	}
	cmd.Env = p.Env
	cmd.Dir = p.Dir
	out := &tailbuf.Buffer{Max: maxOutput}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Stdin = p.Stdin
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = hookOutputWait
	err := start(cmd, p.RootFD)
	if err == nil {
		err = cmd.Wait()
	}
	r := Result{Output: out.String(), LastLine: out.LastLine(), Code: -1}
	if errors.Is(err, exec.ErrWaitDelay) && ctx.Err() == nil {
		// It succeeded; something it left running still holds its
		// output, which is not waited for longer.
		err = nil
	}
	if err == nil {
		r.Code = 0
		return r
	}
	r.Failed = true
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee) && ee.Exited():
		r.Code = ee.ExitCode()
		r.Status = "exited with status " + strconv.Itoa(r.Code)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		r.Status = "timed out (killed)"
	case errors.As(err, &ee):
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.Status = "killed by signal " + strconv.Itoa(int(ws.Signal())) + " (" + unix.SignalName(ws.Signal()) + ")"
		} else {
			r.Status = err.Error()
		}
	default:
		r.Status = "failed to run: " + err.Error()
	}
	return r
}

// CloneInfo says what lxc-copy made: the new container and where it came
// from.
type CloneInfo struct {
	Name       string // the new container (LXC_NAME)
	ConfigFile string // its config file (LXC_CONFIG_FILE)
	SrcName    string // the container it is a copy of (LXC_SRC_NAME)
	// RootfsMount is where the new rootfs is mounted while the hook runs
	// (LXC_ROOTFS_MOUNT): its directory for a dir rootfs; an overlay or
	// loop clone's mount point.
	RootfsMount string
	// Args are lxc-copy's extra arguments (after --), passed on after
	// the hook's own.
	Args []string
}

// RunClone runs the lxc.hook.clone commands of cfg, the new container's
// config, as LXC's lxc-copy does once the copy is made: in the caller's
// working directory, with LXC_SRC_NAME, and LXC_ROOTFS_PATH the config's
// lxc.rootfs.path as written ("dir:/..."). A failing hook is an *Error:
// lxc-copy then removes the copy.
func RunClone(ctx context.Context, cfg *config.Config, ci CloneInfo) error {
	c := ForConfig(ci.Name, ci.ConfigFile, cfg)
	c.RootfsPath = cfg.Rootfs.Raw
	if c.RootfsPath == "" {
		c.RootfsPath = cfg.Rootfs.Path
	}
	c.RootfsMount = ci.RootfsMount
	dir, err := os.Getwd()
	if err != nil {
		dir = "/"
	}
	return Run(ctx, Clone, Commands(cfg, Clone), c, Options{Args: ci.Args, Env: []string{"LXC_SRC_NAME=" + ci.SrcName}, Dir: dir})
}

// start starts cmd, chrooted to the directory rootFD when it is above 0:
// the child chroots to its working directory, this thread's, which is
// rootFD's for the moment of the fork (a descriptor opened before a
// mount namespace was joined still leads into the tree it was opened
// in, whatever that namespace mounts at the same names).
func start(cmd *exec.Cmd, rootFD int) error {
	if rootFD <= 0 {
		return cmd.Start()
	}
	cwd, err := unix.Open(".", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("hold the working directory: %w", err)
	}
	defer unix.Close(cwd)
	if err := unix.Fchdir(rootFD); err != nil {
		return fmt.Errorf("enter the runtime's root: %w", err)
	}
	cmd.SysProcAttr.Chroot = "."
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	err = cmd.Start()
	if e := unix.Fchdir(cwd); e != nil && err == nil {
		err = fmt.Errorf("back to the working directory: %w", e)
	}
	return err
}
