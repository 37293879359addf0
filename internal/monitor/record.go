package monitor

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/namespace"
)

// Record is what a monitor keeps of its container beside the command
// socket (in the private socket directory), rewritten at every change
// that matters: a container outlives a monitor killed by kill -9 or the
// OOM killer, and whoever takes the container's lock next reads this to
// adopt it (init alive) or to do what its stop would have done (init
// gone, or a start cut short).
type Record struct {
	LXCPath string `json:"lxcpath"`
	Name    string `json:"name"`
	// State is Starting until init runs, then Running.
	State string `json:"state"`
	// Request is how the container was started, opaque here (the
	// caller's start request): an adopter rebuilds its Options from it.
	// It is kept in a file of its own (RequestPath), written once: every
	// tool reads the record, only an adopter the request, which holds the
	// whole spec.
	Request []byte `json:"-"`
	// Monitor is the process that supervises the container now: while
	// it lives (same pid, same start time) nobody else acts.
	Monitor ProcID `json:"monitor"`
	// Init is the container's init once it runs: adopted only if the
	// pid still names that process (same start time) and it sits in the
	// container's cgroup.
	Init    ProcID `json:"init,omitempty"`
	Started int64  `json:"started,omitempty"`
	// Payload and InitCgroup name the container's cgroups (InitCgroup
	// when init sits in a sub-cgroup); MonitorCgroup is the per-container
	// monitor's own ("" for the shared monitor's).
	Payload       string `json:"payload,omitempty"`
	InitCgroup    string `json:"initCgroup,omitempty"`
	MonitorCgroup string `json:"monitorCgroup,omitempty"`
	// Delegated are the maps through which a user's container's cgroup
	// was given to its root (see Monitor.delegate).
	Delegated namespace.IDMaps `json:"delegated,omitempty"`
	// PidNS is the inode of the pid namespace of the monitor that wrote
	// the record: its pids (Monitor, Init) mean nothing to a process in
	// another one (unshare -p --mount-proc, a service's private pids),
	// which must not take them for dead.
	PidNS uint64 `json:"pidns,omitempty"`
	// Step is how far the stop's teardown went ("" before it began):
	// whoever finishes a stop whose monitor was killed does only what
	// was not done.
	Step string `json:"step,omitempty"`
}

// Steps of a stop's teardown, in order: the post-stop hooks were
// started (the container's network, stop hooks and cgroups are done
// with), then the ephemeral container's destroy.
const (
	StepPostStop = "post-stop"
	StepDestroy  = "destroy"
)

// PidNSOf is the inode of the pid namespace of /proc/self or /proc/PID
// (0 when it cannot be read).
func PidNSOf(proc string) uint64 {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+proc+"/ns/pid", &st); err != nil {
		return 0
	}
	return st.Ino
}

// Foreign says why this process cannot judge the record's processes
// (nil when it can): it sees another pid namespace than the monitor that
// wrote it. A record of an older golxc, without PidNS, is judged.
func (r *Record) Foreign() error {
	own := PidNSOf("self")
	if r.PidNS != 0 && own != r.PidNS {
		return fmt.Errorf("this process is in pid namespace %d, the record of %s was written in %d: its monitor and init are not visible from here", own, r.Name, r.PidNS)
	}
	return nil
}

// ProcID names one process for its life: a pid alone may be reused.
type ProcID struct {
	Pid int `json:"pid,omitempty"`
	// Start is field 22 of /proc/PID/stat, the start time in clock ticks
	// since boot.
	Start uint64 `json:"start,omitempty"`
}

// Self is this process's ProcID.
func Self() (ProcID, error) { return ProcOf(os.Getpid()) }

// ProcOf reads the ProcID of pid.
func ProcOf(pid int) (ProcID, error) {
	st, err := startTime(pid)
	if err != nil {
		return ProcID{}, err
	}
	return ProcID{Pid: pid, Start: st}, nil
}

// Alive says whether p is a live process: its pid names a process with
// its start time (a zombie counts as gone).
func (p ProcID) Alive() bool {
	if p.Pid <= 0 {
		return false
	}
	st, state, err := statOf(p.Pid)
	return err == nil && st == p.Start && state != 'Z' && state != 'X'
}

// startTime is field 22 of /proc/PID/stat.
func startTime(pid int) (uint64, error) {
	st, _, err := statOf(pid)
	return st, err
}

// statOf reads the start time and the state letter of pid. The command
// name (field 2) may hold spaces and parentheses: fields are counted from
// the last ')'.
func statOf(pid int) (uint64, byte, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	return parseStat(string(b))
}

func parseStat(s string) (uint64, byte, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, 0, errors.New("no ')' in /proc/PID/stat")
	}
	f := strings.Fields(s[i+1:])
	// f[0] is field 3 (state); field 22 is f[19].
	if len(f) < 20 || len(f[0]) != 1 {
		return 0, 0, fmt.Errorf("short /proc/PID/stat: %d fields after the name", len(f))
	}
	st, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("start time in /proc/PID/stat: %w", err)
	}
	return st, f[0][0], nil
}

// RecordPath is the record of lxcpath/name's monitor.
func RecordPath(lxcpath, name string) string { return SocketPath(lxcpath, name) + ".run" }

// requestPath is the start request of the record of lxcpath/name.
func requestPath(lxcpath, name string) string { return SocketPath(lxcpath, name) + ".req" }

// LoadRequest reads the record's start request into r.Request.
func (r *Record) LoadRequest() error {
	b, err := os.ReadFile(requestPath(r.LXCPath, r.Name))
	if err != nil {
		return fmt.Errorf("read the start request of %s: %w", r.Name, err)
	}
	r.Request = b
	return nil
}

// ReadRecord reads the record of lxcpath/name; a missing one is
// os.ErrNotExist. Only this user's private socket directory holds it.
func ReadRecord(lxcpath, name string) (*Record, error) {
	b, err := os.ReadFile(RecordPath(lxcpath, name))
	if err != nil {
		return nil, err
	}
	var r Record
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("read monitor record of %s: %w", name, err)
	}
	if r.LXCPath != filepath.Clean(lxcpath) && r.LXCPath != lxcpath || r.Name != name {
		return nil, fmt.Errorf("monitor record %s is of %s/%s, not %s/%s", RecordPath(lxcpath, name), r.LXCPath, r.Name, lxcpath, name)
	}
	return &r, nil
}

// writeRecord replaces the record whole (temp file and rename), so a
// reader never sees half of one; with withRequest, its request file
// first.
func writeRecord(r *Record, withRequest bool) error {
	if withRequest {
		if err := replaceFile(requestPath(r.LXCPath, r.Name), r.Request); err != nil {
			return err
		}
	}
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("encode monitor record: %w", err)
	}
	return replaceFile(RecordPath(r.LXCPath, r.Name), b)
}

// replaceFile writes b to path through a temp file and a rename.
func replaceFile(path string, b []byte) error {
	tmp := path + ".tmp" + strconv.Itoa(os.Getpid())
	fd, err := unix.Open(tmp, unix.O_WRONLY|unix.O_CREAT|unix.O_TRUNC|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("write monitor record: %w", err)
	}
	f := os.NewFile(uintptr(fd), tmp)
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write monitor record %s: %w", path, err)
	}
	return nil
}

// RemoveRecord removes the record of lxcpath/name (its container is
// down and torn down).
func RemoveRecord(lxcpath, name string) {
	_ = os.Remove(RecordPath(lxcpath, name))
	_ = os.Remove(requestPath(lxcpath, name))
}

// ErrUnverified is openInit's error when the record's init could be
// neither proved gone nor proved to be the container's init: the record
// is kept and nothing is torn down (a later tool tries again).
var ErrUnverified = errors.New("cannot verify the container's init")

// openInit opens a pidfd of the record's init if, and only if, that
// process is still the container's init: the pidfd is taken first, then
// the pid's start time must be the recorded one and the process must sit
// in the container's cgroup (contains), and the pidfd's process must
// still be alive after both checks, so the checks were of the process the
// pidfd names. A recycled pid is never adopted. It returns -1 and the
// reason when the init is gone or is not the container's (no such pid,
// another start time, a zombie, a process outside the cgroup), and -1
// and an error wrapping ErrUnverified when it could not tell.
func openInit(rec *Record, contains func(pid int) (bool, error)) (int, error) {
	if rec.Init.Pid <= 0 {
		return -1, errors.New("no init was recorded (the start did not finish)")
	}
	fd, err := unix.PidfdOpen(rec.Init.Pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return -1, fmt.Errorf("init (pid %d) is gone: %w", rec.Init.Pid, err)
	}
	if err != nil {
		return -1, fmt.Errorf("%w (pid %d): pidfd_open: %w", ErrUnverified, rec.Init.Pid, err)
	}
	ok := false
	defer func() {
		if !ok {
			unix.Close(fd)
		}
	}()
	// gone tells a failed look from a process that exited under it.
	gone := func(what string, err error) error {
		if serr := unix.PidfdSendSignal(fd, 0, nil, 0); errors.Is(serr, unix.ESRCH) {
			return fmt.Errorf("init (pid %d) is gone: %w", rec.Init.Pid, serr)
		}
		return fmt.Errorf("%w (pid %d): %s: %w", ErrUnverified, rec.Init.Pid, what, err)
	}
	st, state, err := statOf(rec.Init.Pid)
	if err != nil {
		return -1, gone("read its start time", err)
	}
	if st != rec.Init.Start {
		return -1, fmt.Errorf("pid %d is no longer the container's init (start time %d, recorded %d): not adopted", rec.Init.Pid, st, rec.Init.Start)
	}
	if state == 'Z' || state == 'X' {
		return -1, fmt.Errorf("init (pid %d) has exited", rec.Init.Pid)
	}
	if contains == nil {
		return -1, gone("its cgroup", errors.New("the container's cgroup could not be taken over"))
	}
	in, err := contains(rec.Init.Pid)
	if err != nil {
		return -1, gone("look for it in the container's cgroup", err)
	}
	if !in {
		return -1, fmt.Errorf("pid %d is not in the container's cgroup: not adopted", rec.Init.Pid)
	}
	if err := unix.PidfdSendSignal(fd, 0, nil, 0); err != nil {
		return -1, gone("pidfd_send_signal", err)
	}
	ok = true
	return fd, nil
}
