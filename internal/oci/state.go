// Package oci is golxc's OCI runtime front door: a bundle's config.json
// translated into the spec golxc's engine (internal/containerinit and
// internal/cgroup) runs, and the runc-compatible verbs containerd's runc
// shim calls. There is no monitor: create leaves the container's init a
// child of the caller, blocked on a FIFO until start; the state is a
// directory per container under the runtime's root.
package oci

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/cgroup"
)

// DefaultRoot is the state directory when --root is not given.
const DefaultRoot = "/run/golxc-runc"

// The container statuses of runtime-spec's runtime.md ("State").
const (
	Creating = "creating"
	Created  = "created"
	Running  = "running"
	Stopped  = "stopped"
	Paused   = "paused"
)

// ErrNotExist is the error of an unknown container. Its words are part of
// the contract: containerd's shim matches "does not exist".
var ErrNotExist = errors.New("container does not exist")

// ErrNotRunning is the error of a signal to a stopped container; the
// shim matches "container not running".
var ErrNotRunning = errors.New("container not running")

// validID: letters and digits, then also _ + . - (a loop, not a
// package-level regexp compiled at every tool's start-up).
func validID(id string) bool {
	for i, c := range id {
		alnum := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if !alnum && (i == 0 || !strings.ContainsRune("_+.-", c)) {
			return false
		}
	}
	return id != ""
}

// CheckID accepts a container ID that is one safe path component: the ID
// names a directory under the root, so "..", "/" and the like are a way
// out of it.
func CheckID(id string) error {
	if len(id) > 1024 || !validID(id) || id == "." || id == ".." {
		return fmt.Errorf("invalid container id %q: letters, digits and _ + . - only, not starting with a symbol", id)
	}
	return nil
}

// Record is what create leaves in the container's state directory.
type Record struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	PidStart    uint64            `json:"pidStart"` // init's start time (proc(5) stat field 22): a reused pid is not init
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Annotations map[string]string `json:"annotations,omitempty"`
	Cgroup      string            `json:"cgroup"`
	Hooks       *specs.Hooks      `json:"hooks,omitempty"`
	// What an exec gets by default, as the container was created.
	Seccomp    []byte                 `json:"seccomp,omitempty"`
	NoNewPrivs bool                   `json:"noNewPrivileges,omitempty"`
	Namespaces []specs.LinuxNamespace `json:"namespaces"`
	UserNS     bool                   `json:"userns,omitempty"`
	Env        []string               `json:"env,omitempty"`
	// NoProcess: config.json had no process (runtime-spec allows that
	// at create); start refuses such a container and ends it.
	NoProcess bool `json:"noProcess,omitempty"`
}

// Runtime is one --root: a directory of containers' state.
type Runtime struct {
	Root string
	// Warn, when set, is told of what fails without failing the call
	// (a poststart or poststop hook).
	Warn func(error)
	// made holds the cgroups this process's Create made, by container
	// id, with their names' locks: a Delete in the same process (run)
	// destroys that group and releases the name; one in another (the
	// create's process has exited, and its lock with it) removes the
	// free name's file itself (cgroup.Group.Destroy).
	made map[string]*cgroup.Group
}

func (r *Runtime) dir(id string) string        { return filepath.Join(r.Root, id) }
func (r *Runtime) fifo(id string) string       { return filepath.Join(r.dir(id), "exec.fifo") }
func (r *Runtime) reportFIFO(id string) string { return filepath.Join(r.dir(id), "start.fifo") }
func (r *Runtime) recordPath(id string) string { return filepath.Join(r.dir(id), "state.json") }

// ensureRoot makes the root directory, root's alone: it holds the FIFOs
// that start a container.
func (r *Runtime) ensureRoot() error {
	if err := os.MkdirAll(r.Root, 0o700); err != nil {
		return fmt.Errorf("state directory %s: %w", r.Root, err)
	}
	st, err := os.Lstat(r.Root)
	if err != nil {
		return fmt.Errorf("state directory %s: %w", r.Root, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("state directory %s is not a directory", r.Root)
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return fmt.Errorf("state directory %s: no owner to check", r.Root)
	}
	if int(sys.Uid) != os.Geteuid() {
		return fmt.Errorf("state directory %s belongs to uid %d, not to this user", r.Root, sys.Uid)
	}
	if st.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(r.Root, 0o700); err != nil {
			return fmt.Errorf("state directory %s: %w", r.Root, err)
		}
	}
	return nil
}

// Load reads the record of container id.
func (r *Runtime) Load(id string) (*Record, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(r.recordPath(id))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("container %q: %w", id, ErrNotExist)
	}
	if err != nil {
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	rec := new(Record)
	if err := json.Unmarshal(b, rec); err != nil {
		return nil, fmt.Errorf("container %q: state %s: %w", id, r.recordPath(id), err)
	}
	return rec, nil
}

// save writes the record atomically (a temporary file renamed over it).
func (r *Runtime) save(rec *Record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return writeAtomic(r.recordPath(rec.ID), b, 0o600)
}

func writeAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// procStart returns a process's start time and whether it is alive (a
// zombie, exited but not yet reaped by its parent, is not).
func procStart(pid int) (uint64, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ")".
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, false
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, false
	}
	return start, f[0] != "Z" && f[0] != "X"
}

// procComm is process pid's command name, from its stat (which a zombie
// keeps); "" when it is gone.
func procComm(pid int) string {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return ""
	}
	s := string(b)
	i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
	if i < 0 || j < i {
		return ""
	}
	return s[i+1 : j]
}

// alive says whether the record's init still runs (the same process, not
// one that got its pid since).
func (rec *Record) alive() bool {
	if rec.Pid <= 0 {
		return false
	}
	start, ok := procStart(rec.Pid)
	return ok && start == rec.PidStart
}

// State is runtime-spec's state of a container, with runc's extra
// fields (rootfs, created, owner) that tools read.
type State struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Status says where the container is in its life.
func (r *Runtime) Status(rec *Record) string {
	if !rec.alive() {
		return Stopped
	}
	if frozen, err := r.group(rec).Frozen(); err == nil && frozen {
		return Paused
	}
	if _, err := os.Lstat(r.fifo(rec.ID)); err == nil {
		return Created
	}
	return Running
}

// State returns container id's state.
func (r *Runtime) State(id string) (*State, error) {
	rec, err := r.Load(id)
	if err != nil {
		return nil, err
	}
	return r.stateOf(rec), nil
}

func (r *Runtime) stateOf(rec *Record) *State {
	s := &State{OCIVersion: rec.OCIVersion, ID: rec.ID, Pid: rec.Pid, Status: r.Status(rec), Bundle: rec.Bundle,
		Rootfs: rec.Rootfs, Created: rec.Created, Owner: "", Annotations: rec.Annotations}
	if s.Status == Stopped {
		// runtime-spec: the pid is that of a process that runs.
		s.Pid = 0
	}
	return s
}

// List returns the state of every container under the root.
func (r *Runtime) List() ([]*State, error) {
	ents, err := os.ReadDir(r.Root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", r.Root, err)
	}
	var out []*State
	for _, e := range ents {
		if !e.IsDir() || CheckID(e.Name()) != nil {
			continue
		}
		rec, err := r.Load(e.Name())
		if err != nil {
			continue // being created or deleted
		}
		out = append(out, r.stateOf(rec))
	}
	return out, nil
}
