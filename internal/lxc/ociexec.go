package lxc

import (
	"errors"
	"fmt"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/security"
)

// ProcessRequest is a process to start in a running container found by
// its init's pidfd, with no monitor to ask: the OCI runtime's exec.
type ProcessRequest struct {
	Name     string // the container, for messages
	PidFD    int    // its init
	Group    *cgroup.Group
	Args     []string
	Env      []string
	Cwd      string
	UID, GID int
	Groups   []uint32 // supplementary groups; none when empty
	// Bounding is the capability bounding set the process keeps (its
	// permitted and effective sets as root).
	Bounding   []string
	Seccomp    []byte // seccomp.Encode's form; nil for none
	NoNewPrivs bool
	// Stdio are the process's standard descriptors. Terminal, when set,
	// allocates a pty in the container's devpts instead, makes its slave
	// the process's stdio and controlling terminal and returns its master.
	Stdio    [3]*os.File
	Terminal bool
	// Rlimits are the process's (runtime-spec process.rlimits).
	Rlimits []specs.POSIXRlimit
	// LSM is the security modules' label its exec gets.
	LSM security.Label
}

// StartProcess forks req's process into the container, through the same
// helper as lxc-attach, as a child of the caller (which may exit and
// leave it to its own parent). It returns once the process has exec'd.
func StartProcess(req ProcessRequest) (*os.Process, *os.File, error) {
	proc, err := namespace.OpenProc(req.PidFD)
	if errors.Is(err, unix.ESRCH) {
		return nil, nil, fmt.Errorf("container %s: its init has exited", req.Name)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("container %s's init: %w", req.Name, err)
	}
	defer proc.Close()
	sameUser, err := proc.SharesNamespace("user")
	if err != nil {
		return nil, nil, fmt.Errorf("container %s's init: %w", req.Name, err)
	}
	if !sameUser {
		owner, err := proc.UserNamespaceOwner()
		if err != nil {
			return nil, nil, fmt.Errorf("container %s's init: %w", req.Name, err)
		}
		if owner != 0 {
			return nil, nil, fmt.Errorf("the user namespace of %s's init is owned by uid %d, not root: not joined", req.Name, owner)
		}
	}
	stdio := req.Stdio[:]
	ctty := -1
	var master *os.File
	if req.Terminal {
		mfd, err := openPtmx(proc)
		if err != nil {
			return nil, nil, fmt.Errorf("allocate a pty in the container's devpts: %w", err)
		}
		master = os.NewFile(uintptr(mfd), "ptmx")
		if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
			master.Close()
			return nil, nil, fmt.Errorf("unlock pty: %w", err)
		}
		sfd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
		if errno != 0 {
			master.Close()
			return nil, nil, fmt.Errorf("open pty slave: %w", errno)
		}
		slave := os.NewFile(sfd, "pty slave")
		defer slave.Close()
		if !sameUser {
			if err := chownToMappedRoot(proc, slave); err != nil {
				master.Close()
				return nil, nil, err
			}
		}
		stdio = []*os.File{slave, slave, slave}
		ctty = 0
	}
	if !req.Terminal {
		// The host's /dev/null would let the container's root chmod it
		// through /proc/PID/fd: the container's own instead.
		nulls, err := replaceHostNull(proc, stdio, [3]bool{})
		if err != nil {
			return nil, nil, err
		}
		defer nulls.close()
	}
	fail := func(err error) (*os.Process, *os.File, error) {
		if master != nil {
			master.Close()
		}
		return nil, nil, err
	}
	req.Args = append([]string(nil), req.Args...)
	ar := attachRequest{
		Options:    AttachOptions{Command: req.Args},
		Namespaces: namespace.AttachFlags &^ unix.CLONE_NEWUSER,
		Bounding:   req.Bounding,
		UID:        req.UID,
		GID:        req.GID,
		Env:        req.Env,
		CTTY:       ctty,
		JoinUser:   !sameUser,
		Seccomp:    req.Seccomp,
		NoNewPrivs: req.NoNewPrivs,
		Dir:        req.Cwd,
		Groups:     req.Groups,
		Rlimits:    req.Rlimits,
		LSM:        req.LSM,
	}
	c := &Container{Name: req.Name}
	h, err := c.launchHelper(nil, nil, req.Group)
	if err != nil {
		return fail(err)
	}
	defer h.close()
	if err := h.give(stdio, req.PidFD); err != nil {
		return fail(err)
	}
	child, err := h.start(ar)
	if err != nil {
		return fail(err)
	}
	return child, master, nil
}
