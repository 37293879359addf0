package namespace

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/tailbuf"
)

// A user other than root cannot write a user namespace's maps as Go's
// SysProcAttr.UidMappings does (between clone and exec, from the parent,
// straight into /proc/PID/uid_map): only the set-user-ID newuidmap and
// newgidmap may write ranges of /etc/subuid and /etc/subgid, and they run
// after the child exists. So the child is cloned into the new user
// namespace with no maps at all and execs golxc again, holding every
// capability of its namespace as ambient ones (the exec of a process
// that is nobody there would drop them otherwise). The parent writes the
// maps through newuidmap/newgidmap while the child waits (on a pipe, or on
// the init stage's sync socket), and the child then becomes the
// namespace's root with BecomeRoot before it does anything else.

// UnmappedAttr is the SysProcAttr of such a child: a new user namespace
// (and cloneflags' other namespaces), no maps, and the namespace's
// capabilities kept across the exec.
func UnmappedAttr(cloneflags uintptr) (*syscall.SysProcAttr, error) {
	last, err := capLastCap()
	if err != nil {
		return nil, err
	}
	caps := make([]uintptr, 0, last+1)
	for c := 0; c <= last; c++ {
		caps = append(caps, uintptr(c))
	}
	return &syscall.SysProcAttr{Cloneflags: cloneflags | syscall.CLONE_NEWUSER, AmbientCaps: caps}, nil
}

func capLastCap() (int, error) {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err != nil {
		return 0, fmt.Errorf("read the last capability: %w", err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0, fmt.Errorf("read the last capability: %w", err)
	}
	return n, nil
}

// BecomeRoot switches the calling process, the first of a user namespace
// whose maps have just been written, to the namespace's root (uid and gid
// 0, no supplementary groups) on every thread, and clears this thread's
// ambient capabilities, which only carried it across its exec: root's
// exec gets its capabilities as root, and a later switch to another user
// must leave none behind. The caller must be locked to its OS thread.
// A credential change clears the parent-death signal: pdeathsig, if not
// 0, is set again.
func BecomeRoot(pdeathsig syscall.Signal) error {
	if err := syscall.Setresgid(0, 0, 0); err != nil {
		return fmt.Errorf("become the user namespace's root: setresgid 0: %w (is gid 0 mapped?)", err)
	}
	// newgidmap leaves setgroups denied when the caller maps only its own
	// gid; then there are no groups to drop but the ones the caller had,
	// which the namespace shows as the overflow gid.
	if err := syscall.Setgroups(nil); err != nil && !errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("become the user namespace's root: setgroups: %w", err)
	}
	if err := syscall.Setresuid(0, 0, 0); err != nil {
		return fmt.Errorf("become the user namespace's root: setresuid 0: %w (is uid 0 mapped?)", err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	if pdeathsig != 0 {
		if err := unix.Prctl(unix.PR_SET_PDEATHSIG, uintptr(pdeathsig), 0, 0, 0); err != nil {
			return fmt.Errorf("set the parent-death signal: %w", err)
		}
	}
	return nil
}

// UserStageArg is argv[1] of golxc re-exec'd as the first process of a
// user namespace a user other than root made with StartMapped.
const UserStageArg = "__golxc-userns-stage"

// userStageFD is where the user stage finds the pipe its parent writes
// one byte to once the maps are written.
const userStageFD = 3

// StartMapped starts cmd as root of a new user namespace with maps m, for
// a user other than root: cmd runs through golxc's user stage (see above),
// which waits for newuidmap and newgidmap, becomes root, gives the paths
// in chown to the namespace's root (what the caller made for it, which
// the caller's own id, mapped in m, owns) and execs cmd. cmd must have no
// SysProcAttr; its ExtraFiles come from fd 4 on (a path /proc/self/fd/N
// in chown gives that file). Wait for it as usual.
func StartMapped(cmd *exec.Cmd, m IDMaps, chown []string) error {
	if cmd.SysProcAttr != nil {
		return errors.New("StartMapped: the command has its own process attributes")
	}
	attr, err := UnmappedAttr(0)
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("pipe: %w", err)
	}
	defer r.Close()
	defer w.Close()
	args := []string{"golxc-userns", UserStageArg, strconv.Itoa(len(chown))}
	args = append(args, chown...)
	args = append(args, cmd.Path)
	args = append(args, cmd.Args...)
	cmd.Path = "/proc/self/exe"
	cmd.Args = args
	cmd.ExtraFiles = append([]*os.File{r}, cmd.ExtraFiles...)
	cmd.SysProcAttr = attr
	if err := cmd.Start(); err != nil {
		return err
	}
	r.Close()
	if err := WriteMaps(cmd.Process.Pid, m); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return err
	}
	if _, err := w.Write([]byte{1}); err != nil {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return fmt.Errorf("release the user namespace's first process: %w", err)
	}
	return nil
}

// An empty command path (no command has one) marks a stage that runs no
// command but does one of these to its paths, as root of its namespace
// (argv[0] says which).
const (
	opOwnerAndGroup = "owner-and-group" // chown to the namespace's root
	opGroupOnly     = "group-only"      // chgrp to the namespace's root's group
	opRemoveTrees   = "rmdir-trees"     // remove the directories below each
)

// Give says what GiveToMappedRoot changes.
type Give int

const (
	OwnerAndGroup Give = iota // owner and group become the mapped root's
	GroupOnly                 // the group becomes the mapped root's, the owner stays
)

// GiveToMappedRoot makes root of maps (which map the caller's own ids
// too, see WithCaller) the owner and group (or the group only) of paths
// and files, which the caller owns: the way a user other than root hands
// a container's root what it made for it (a pty; its cgroup, shared
// through the group). It runs golxc's user stage in a user namespace of
// its own and waits for it.
func GiveToMappedRoot(m IDMaps, paths []string, files []*os.File, what Give) error {
	op := opOwnerAndGroup
	if what == GroupOnly {
		op = opGroupOnly
	}
	for i := range files {
		// The stage's own descriptors, from 4 on: never a path a
		// container could have put a link on.
		paths = append(paths, "/proc/self/fd/"+strconv.Itoa(userStageFD+1+i))
	}
	return runMappedOp(m, op, paths, files)
}

// RemoveTreesMapped removes the directories below each of dirs, deepest
// first (not dirs themselves), as root of a user namespace of maps: what
// the mapped root of a user's container made in the container's cgroups
// (its systemd's slices), which the user may not remove itself. Files are
// left: a cgroup directory goes with its control files.
func RemoveTreesMapped(m IDMaps, dirs []string) error {
	return runMappedOp(m, opRemoveTrees, dirs, nil)
}

func runMappedOp(m IDMaps, op string, paths []string, files []*os.File) error {
	cmd := &exec.Cmd{Path: "", Args: []string{op}, ExtraFiles: files}
	var out tailbuf.Buffer
	cmd.Stderr = &out
	if err := StartMapped(cmd, m, paths); err != nil {
		return err
	}
	if err := cmd.Wait(); err != nil {
		if msg := strings.TrimPrefix(out.LastLine(), "golxc: "); msg != "" {
			return errors.New(msg)
		}
		return fmt.Errorf("%s on %d paths in a user namespace: %w", op, len(paths), err)
	}
	return nil
}

// removeBelow removes every directory below dir, deepest first.
func removeBelow(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		sub := dir + "/" + e.Name()
		if err := removeBelow(sub); err != nil {
			return err
		}
		if err := unix.Rmdir(sub); err != nil && err != unix.ENOENT {
			return fmt.Errorf("rmdir %s: %w", sub, err)
		}
	}
	return nil
}

// RunUserStage is the user stage: args are what follows UserStageArg. It
// never returns: it execs the command, or says why not and exits 126
// (127 when the command does not exist); a GiveToMappedRoot stage exits
// 0 once the paths are given.
func RunUserStage(args []string) {
	runtime.LockOSThread()
	code, err := userStage(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "golxc: %v\n", err)
	}
	os.Exit(code)
}

func userStage(args []string) (int, error) {
	pipe := os.NewFile(userStageFD, "userns-sync")
	var b [1]byte
	if n, _ := pipe.Read(b[:]); n != 1 {
		return 126, errors.New("the user namespace's maps were not written")
	}
	pipe.Close()
	if len(args) < 1 {
		return 126, errors.New("user stage: no arguments")
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 0 || len(args) < 1+n+2 {
		return 126, errors.New("user stage: bad arguments")
	}
	chown, rest := args[1:1+n], args[1+n:]
	if err := BecomeRoot(0); err != nil {
		return 126, err
	}
	if rest[0] == "" {
		return 0, mappedOp(rest[1], chown)
	}
	for _, p := range chown {
		if err := os.Lchown(p, 0, 0); err != nil {
			return 126, fmt.Errorf("give %s to the user namespace's root: %w", p, err)
		}
	}
	err = syscall.Exec(rest[0], rest[1:], os.Environ())
	if errors.Is(err, syscall.ENOENT) {
		return 127, fmt.Errorf("exec %s: %w", rest[1], err)
	}
	return 126, fmt.Errorf("exec %s: %w", rest[1], err)
}

// mappedOp is a stage's work when it runs no command (see runMappedOp).
func mappedOp(op string, paths []string) error {
	uid, gid := 0, 0
	switch op {
	case opRemoveTrees:
		for _, p := range paths {
			if err := removeBelow(p); err != nil {
				return err
			}
		}
		return nil
	case opGroupOnly:
		uid = -1
	case opOwnerAndGroup:
	default:
		return fmt.Errorf("user stage: unknown operation %q", op)
	}
	for _, p := range paths {
		change := os.Lchown
		if strings.HasPrefix(p, "/proc/self/fd/") {
			change = os.Chown // the stage's own fd: the file it is
		}
		if err := change(p, uid, gid); err != nil {
			return fmt.Errorf("give %s to the user namespace's root: %w", p, err)
		}
	}
	return nil
}
