package containerinit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// ProcFile is one lxc.proc.NAME line: Value written to /proc/PID/NAME of
// init.
type ProcFile struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// ipcSysctls are the kernel.* parameters of an IPC namespace
// (ipc_namespaces(7)); fs.mqueue.* are the others.
var ipcSysctls = []string{"msgmax", "msgmnb", "msgmni", "sem", "shmall", "shmmax", "shmmni", "shm_rmid_forced", "msg_next_id", "sem_next_id", "shm_next_id"}

// SysctlNamespace returns the namespace a kernel parameter (sysctl(8)'s
// name, with dots or slashes) belongs to, and false for one that is
// host-wide: writing such a one from a container would change the host.
func SysctlNamespace(name string) (specs.LinuxNamespaceType, bool) {
	n := strings.ReplaceAll(name, "/", ".")
	switch {
	case strings.HasPrefix(n, "net."):
		return specs.NetworkNamespace, true
	case strings.HasPrefix(n, "fs.mqueue."):
		return specs.IPCNamespace, true
	case n == "kernel.hostname" || n == "kernel.domainname":
		return specs.UTSNamespace, true
	}
	if k, ok := strings.CutPrefix(n, "kernel."); ok {
		for _, s := range ipcSysctls {
			if k == s {
				return specs.IPCNamespace, true
			}
		}
	}
	return "", false
}

// applySysctls writes lxc.sysctl.* while the stage still sees the host's
// procfs: /proc/sys resolves each namespaced parameter through the
// writer's own namespaces, so these reach the container's, and are not
// caught by a read-only /proc/sys of proc:mixed. A parameter of a
// namespace the container does not have of its own is refused again
// here (the start refused it first).
func applySysctls(spec *Spec) error {
	if spec.OCI.Linux == nil {
		return nil
	}
	for name, value := range spec.OCI.Linux.Sysctl {
		ns, ok := SysctlNamespace(name)
		if !ok || !spec.HasNamespace(ns) || strings.Contains(name, "..") {
			return fmt.Errorf("lxc.sysctl.%s: not a parameter of a namespace of the container's own", name)
		}
		p := filepath.Join("/proc/sys", strings.ReplaceAll(name, ".", "/"))
		if err := writeProc(p, value); err != nil {
			return fmt.Errorf("lxc.sysctl.%s = %s: %w", name, value, err)
		}
	}
	return nil
}

// applyProcFiles writes lxc.proc.* to the stage's own /proc/PID files,
// which the exec keeps (oom_score_adj ...).
func applyProcFiles(spec *Spec) error {
	for _, f := range spec.ProcFiles {
		if f.Name == "" || strings.Contains(f.Name, "/") || strings.Trim(f.Name, ".") == "" {
			return fmt.Errorf("lxc.proc.%s: not a file of /proc/PID", f.Name)
		}
		// /proc/self, never /proc/<getpid()>: the stage is PID 1 of its
		// new pid namespace, but this procfs is the host's, where PID 1
		// is the host's init.
		p := filepath.Join("/proc/self", f.Name)
		if err := writeProc(p, f.Value); err != nil {
			// A stage spawned into a joined user namespace runs from an
			// execute-only copy of golxc: its /proc files are host
			// root's, and the monitor wrote them (spawnJoined).
			if got, rerr := os.ReadFile(p); !errors.Is(err, os.ErrPermission) || rerr != nil || strings.TrimSpace(string(got)) != strings.TrimSpace(f.Value) {
				return fmt.Errorf("lxc.proc.%s = %s: %w", f.Name, f.Value, err)
			}
		}
	}
	return nil
}

// rlimitResources maps lxc.prlimit names to setrlimit(2) resources.
var rlimitResources = map[string]int{
	"RLIMIT_AS": unix.RLIMIT_AS, "RLIMIT_CORE": unix.RLIMIT_CORE, "RLIMIT_CPU": unix.RLIMIT_CPU,
	"RLIMIT_DATA": unix.RLIMIT_DATA, "RLIMIT_FSIZE": unix.RLIMIT_FSIZE, "RLIMIT_LOCKS": 10,
	"RLIMIT_MEMLOCK": unix.RLIMIT_MEMLOCK, "RLIMIT_MSGQUEUE": 12, "RLIMIT_NICE": 13,
	"RLIMIT_NOFILE": unix.RLIMIT_NOFILE, "RLIMIT_NPROC": unix.RLIMIT_NPROC, "RLIMIT_RSS": unix.RLIMIT_RSS,
	"RLIMIT_RTPRIO": 14, "RLIMIT_RTTIME": unix.RLIMIT_RTTIME, "RLIMIT_SIGPENDING": 11, "RLIMIT_STACK": unix.RLIMIT_STACK,
}

// KnownRlimit says whether name (RLIMIT_NOFILE ...) is a resource
// SetRlimits knows.
func KnownRlimit(name string) bool {
	_, ok := rlimitResources[name]
	return ok
}

// applyRlimits sets lxc.prlimit.* on the stage just before its exec, so
// that a low limit does not get in the way of building the container.
func applyRlimits(spec *Spec) error {
	if spec.OCI.Process == nil {
		return nil
	}
	if err := SetRlimits(spec.OCI.Process.Rlimits); err != nil {
		var re *RlimitError
		if errors.As(err, &re) {
			return fmt.Errorf("lxc.prlimit.%s: setrlimit: %w", strings.ToLower(strings.TrimPrefix(re.Type, "RLIMIT_")), re.Err)
		}
		return err
	}
	return nil
}

// RlimitError is an rlimit that could not be set.
type RlimitError struct {
	Type string // as OCI spells it: RLIMIT_NOFILE
	Err  error
}

func (e *RlimitError) Error() string { return "set " + e.Type + ": " + e.Err.Error() }

func (e *RlimitError) Unwrap() error { return e.Err }

// SetRlimits sets rls on this process, for what it execs next: the init
// stage's (lxc.prlimit, OCI process.rlimits) and an OCI exec's. An
// unknown name is an *RlimitError too.
func SetRlimits(rls []specs.POSIXRlimit) error {
	for _, r := range rls {
		res, ok := rlimitResources[r.Type]
		if !ok {
			return &RlimitError{Type: r.Type, Err: errors.New("unknown resource")}
		}
		var err error
		if res == unix.RLIMIT_NOFILE {
			// Through syscall's own: the Go runtime raised the soft
			// limit at start and puts back what it found there on exec,
			// unless told of a change by syscall.Setrlimit.
			err = syscall.Setrlimit(res, &syscall.Rlimit{Cur: r.Soft, Max: r.Hard})
		} else {
			err = unix.Prlimit(0, res, &unix.Rlimit{Cur: r.Soft, Max: r.Hard}, nil)
		}
		if err != nil {
			return &RlimitError{Type: r.Type, Err: fmt.Errorf("%d/%d: %w", r.Soft, r.Hard, err)}
		}
	}
	return nil
}

// writeProc writes value to an existing /proc file in one write.
func writeProc(path, value string) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteString(value)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
