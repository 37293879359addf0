package oci

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/lxc"
	"github.com/golxc/golxc/internal/security"
)

// ExecOptions are exec's flags: the process (runtime-spec's process
// object), where its pid goes, its terminal's socket.
type ExecOptions struct {
	ID            string
	Process       *specs.Process
	PidFile       string
	ConsoleSocket string
}

// Exec starts a process in a running container, as a child of this
// process (which may exit and leave it to its own parent, the shim). It
// returns the process.
func (r *Runtime) Exec(o ExecOptions) (*os.Process, error) {
	rec, err := r.Load(o.ID)
	if err != nil {
		return nil, err
	}
	switch st := r.Status(rec); st {
	case Running, Created:
	case Paused:
		return nil, errors.New("cannot exec in a paused container")
	default:
		return nil, errors.New("cannot exec in a stopped container")
	}
	p := o.Process
	if p == nil || len(p.Args) == 0 {
		return nil, errors.New("exec: the process has no args")
	}
	if err := refuseUnbuilt(&specs.Spec{Process: p}); err != nil {
		return nil, err
	}
	label, err := security.OCILabel(security.DetectLSM("/"), p.ApparmorProfile, p.SelinuxLabel)
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	if p.Terminal != (o.ConsoleSocket != "") {
		return nil, errors.New("exec: process.terminal goes with --console-socket, and only with it")
	}
	var console *net.UnixConn
	if o.ConsoleSocket != "" {
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: o.ConsoleSocket, Net: "unix"})
		if err != nil {
			return nil, fmt.Errorf("console socket %s: %w", o.ConsoleSocket, err)
		}
		console = c
		defer console.Close()
	}
	pidfd, err := unix.PidfdOpen(rec.Pid, 0)
	if err != nil || !rec.alive() {
		if err == nil {
			unix.Close(pidfd)
		}
		return nil, errors.New("cannot exec in a stopped container")
	}
	defer unix.Close(pidfd)
	var keep []string
	if p.Capabilities != nil {
		if err := translateCapabilities(p); err != nil {
			return nil, err
		}
		keep = p.Capabilities.Bounding
	} else if keep, err = security.BoundingOf(rec.Pid); err != nil {
		return nil, fmt.Errorf("container %s's init: %w", o.ID, err)
	}
	// What the process inherits from this one: its OOM score (the
	// helper and its fork keep it). Its rlimits are the helper's to set,
	// last before its fork.
	if p.OOMScoreAdj != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*p.OOMScoreAdj)), 0); err != nil {
			return nil, fmt.Errorf("exec: oomScoreAdj %d: %w", *p.OOMScoreAdj, err)
		}
	}
	child, master, err := lxc.StartProcess(lxc.ProcessRequest{
		Name:       o.ID,
		PidFD:      pidfd,
		Group:      r.group(rec),
		Args:       p.Args,
		Env:        p.Env,
		Cwd:        p.Cwd,
		UID:        int(p.User.UID),
		GID:        int(p.User.GID),
		Groups:     p.User.AdditionalGids,
		Bounding:   keep,
		Seccomp:    rec.Seccomp,
		NoNewPrivs: p.NoNewPrivileges,
		Stdio:      [3]*os.File{os.Stdin, os.Stdout, os.Stderr},
		Terminal:   p.Terminal,
		Rlimits:    p.Rlimits,
		LSM:        label,
	})
	if err != nil {
		return nil, err
	}
	if master != nil {
		defer master.Close()
		if p.ConsoleSize != nil {
			_ = unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(p.ConsoleSize.Height), Col: uint16(p.ConsoleSize.Width)})
		}
		if err := sendConsole(console, master); err != nil {
			_ = child.Kill()
			return nil, err
		}
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, child.Pid); err != nil {
			_ = child.Kill()
			return nil, err
		}
	}
	return child, nil
}
