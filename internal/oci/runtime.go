package oci

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/golxc/golxc/internal/sysfile"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/hooks"
)

// layout is the host's cgroup layout as an OCI runtime reads
// linux.cgroupsPath: from each v1 hierarchy's root (the cgroup2 base is
// PID 1's, the root on the hosts golxc-runc runs on).
func layout() (*cgroup.Layout, error) {
	l, err := cgroup.Detect()
	if err != nil {
		return nil, err
	}
	c := *l
	c.V1 = nil
	for _, h := range l.V1 {
		h.Base = h.Mount
		c.V1 = append(c.V1, h)
	}
	return &c, nil
}

func (r *Runtime) group(rec *Record) *cgroup.Group {
	l, err := layout()
	if err != nil {
		return (&cgroup.Layout{}).Group(rec.Cgroup)
	}
	return l.Group(rec.Cgroup)
}

// CreateOptions are create's flags.
type CreateOptions struct {
	ID            string
	Bundle        string
	PidFile       string
	ConsoleSocket string
}

// LoadSpec reads a bundle's config.json.
func LoadSpec(bundle string) (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("read bundle config: %w", err)
	}
	s := new(specs.Spec)
	if err := json.Unmarshal(b, s); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(bundle, "config.json"), err)
	}
	return s, nil
}

// Create makes container o.ID from its bundle: its init runs in its
// namespaces and cgroup, set up, and waits on the state directory's FIFO
// for Start. It is this process's child, so the caller inherits it when
// Create returns and this process exits.
func (r *Runtime) Create(o CreateOptions) (err error) {
	if err := CheckID(o.ID); err != nil {
		return err
	}
	bundle, err := filepath.Abs(o.Bundle)
	if err != nil {
		return fmt.Errorf("bundle %s: %w", o.Bundle, err)
	}
	spec, err := LoadSpec(bundle)
	if err != nil {
		return err
	}
	noProcess := spec.Process == nil
	l, err := layout()
	if err != nil {
		return err
	}
	plan, err := Translate(spec, bundle, o.ID, l)
	if err != nil {
		return err
	}
	defer plan.Close()
	// Translate's (a stand-in when there was none: start refuses it).
	spec.Process = plan.Init.OCI.Process
	if spec.Process.Terminal && o.ConsoleSocket == "" {
		return errors.New("process.terminal needs --console-socket: the terminal's master goes there")
	}
	if !spec.Process.Terminal && o.ConsoleSocket != "" {
		return errors.New("--console-socket without process.terminal: no terminal to send")
	}
	var console *net.UnixConn
	if o.ConsoleSocket != "" {
		// Connected first: a socket that is not there fails the create
		// before anything is made.
		c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: o.ConsoleSocket, Net: "unix"})
		if err != nil {
			return fmt.Errorf("console socket %s: %w", o.ConsoleSocket, err)
		}
		console = c
		defer console.Close()
	}
	if err := r.ensureRoot(); err != nil {
		return err
	}
	dir := r.dir(o.ID)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("container %q already exists", o.ID)
		}
		return fmt.Errorf("state directory %s: %w", dir, err)
	}
	var group *cgroup.Group
	var proc *containerinit.Process
	// reached is the state the poststop hooks get once the create's
	// hooks have begun (nil before).
	var reached []byte
	defer func() {
		if err == nil {
			return
		}
		if proc != nil {
			_ = proc.Signal(syscall.SIGKILL)
			proc.Wait()
			proc.Close()
		}
		if group != nil {
			_ = group.Destroy()
		}
		os.RemoveAll(dir)
		if reached != nil && spec.Hooks != nil {
			// A create that failed once its hooks began goes on with
			// destroying and the poststop hooks (runtime-spec
			// runtime.md, "Lifecycle"): what a createRuntime hook set
			// up (a network) is taken down. A failing one is a warning.
			for _, h := range spec.Hooks.Poststop {
				if herr := runOCIHooks("poststop", []specs.Hook{h}, reached); herr != nil {
					r.warn(herr)
				}
			}
		}
	}()
	if group, err = l.CreateGroupAt(plan.Cgroup); err != nil {
		return err
	}
	// Kept with its name's lock for a Delete in this process (run); the
	// lock goes with the process otherwise.
	defer func() {
		if err == nil {
			if r.made == nil {
				r.made = map[string]*cgroup.Group{}
			}
			r.made[o.ID] = group
		}
	}()
	if err := group.EnableFor(plan.Limits); err != nil {
		return err
	}
	if err := group.ApplyLimits(plan.Limits); err != nil {
		return err
	}
	if err := unix.Mkfifo(r.fifo(o.ID), 0o600); err != nil {
		return fmt.Errorf("make %s: %w", r.fifo(o.ID), err)
	}
	gfd, err := unix.Open(r.fifo(o.ID), unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", r.fifo(o.ID), err)
	}
	gate := os.NewFile(uintptr(gfd), "exec.fifo")
	defer gate.Close()
	// The stage's own word on a start that fails past the gate, written
	// to a FIFO it holds write-only (PID 1's descriptors can be reached
	// from the container: it must not be able to swallow the report);
	// start reads it. Opened read-write here first, so that neither
	// open waits for a reader.
	if err := unix.Mkfifo(r.reportFIFO(o.ID), 0o600); err != nil {
		return fmt.Errorf("make %s: %w", r.reportFIFO(o.ID), err)
	}
	rfd, err := unix.Open(r.reportFIFO(o.ID), unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", r.reportFIFO(o.ID), err)
	}
	defer unix.Close(rfd)
	wfd, err := unix.Open("/proc/self/fd/"+strconv.Itoa(rfd), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s for writing: %w", r.reportFIFO(o.ID), err)
	}
	report := os.NewFile(uintptr(wfd), "start.fifo")
	defer report.Close()
	rec := &Record{OCIVersion: spec.Version, ID: o.ID, Bundle: bundle, Rootfs: plan.Init.OCI.Root.Path, Created: time.Now().UTC(),
		Annotations: spec.Annotations, Cgroup: plan.Cgroup, Hooks: spec.Hooks, Seccomp: plan.Seccomp,
		NoNewPrivs: spec.Process.NoNewPrivileges, Namespaces: spec.Linux.Namespaces, UserNS: plan.Init.HasNamespace(specs.UserNamespace),
		Env: spec.Process.Env, NoProcess: noProcess}
	// createRuntime hooks run while the init waits for its spec in its
	// new namespaces: a hook that sets up its network finds them made.
	createRuntime := func(pid int) error {
		if spec.Hooks == nil {
			return nil
		}
		// "created", as runtime-tools' validation (hooks_stdin) wants it
		// of every hook of the create.
		st, err := json.Marshal(&State{OCIVersion: spec.Version, ID: o.ID, Pid: pid, Status: Created, Bundle: bundle, Annotations: spec.Annotations})
		if err != nil {
			return fmt.Errorf("encode state: %w", err)
		}
		if reached, err = json.Marshal(&State{OCIVersion: spec.Version, ID: o.ID, Status: Stopped, Bundle: bundle, Annotations: spec.Annotations}); err != nil {
			return fmt.Errorf("encode state: %w", err)
		}
		// prestart is createRuntime's deprecated name (runtime-spec
		// config.md, "Prestart"), run first.
		if err := runOCIHooks("prestart", spec.Hooks.Prestart, st); err != nil {
			return err
		}
		return runOCIHooks("createRuntime", spec.Hooks.CreateRuntime, st)
	}
	if h := spec.Hooks; h != nil && len(h.CreateContainer)+len(h.StartContainer) > 0 {
		// The init stage runs these itself, in the container's
		// namespaces, and puts its pid in the state.
		st, err := json.Marshal(&State{OCIVersion: spec.Version, ID: o.ID, Status: Created, Bundle: bundle, Annotations: spec.Annotations})
		if err != nil {
			return fmt.Errorf("encode state: %w", err)
		}
		if plan.Init.Hooks == nil {
			plan.Init.Hooks = &containerinit.StageHooks{}
		}
		plan.Init.Hooks.OCICreateContainer = h.CreateContainer
		plan.Init.Hooks.OCIStartContainer = h.StartContainer
		plan.Init.Hooks.OCIState = st
	}
	// The container inherits create's stdio (the shim's pipes), but not
	// the host's /dev/null, whose mode its root could change through
	// /proc/1/fd: nil gets the container's own.
	stdio := [3]*os.File{os.Stdin, os.Stdout, os.Stderr}
	for i, f := range stdio {
		var st unix.Stat_t
		if unix.Fstat(int(f.Fd()), &st) != nil || st.Mode&unix.S_IFMT == unix.S_IFCHR && st.Rdev == unix.Mkdev(1, 3) {
			stdio[i] = nil
		}
	}
	proc, err = containerinit.Start(containerinit.StartOptions{
		Spec:       plan.Init,
		Stdin:      stdio[0],
		Stdout:     stdio[1],
		Stderr:     stdio[2],
		Enter:      group.Enter,
		Network:    createRuntime,
		Configured: func(int) error { return group.ApplyDevices(plan.Devices) },
		CgroupFD:   -1,
		Detached:   true,
		Gate:       gate,
		Report:     report,
	})
	if err != nil {
		proc = nil
		return err
	}
	rec.Pid = proc.Pid
	start, ok := procStart(proc.Pid)
	if !ok {
		return fmt.Errorf("the container's init (pid %d) exited during create", proc.Pid)
	}
	rec.PidStart = start
	if err := r.save(rec); err != nil {
		return err
	}
	if console != nil {
		if proc.Console == nil {
			return errors.New("the init stage made no terminal")
		}
		if err := sendConsole(console, proc.Console); err != nil {
			return err
		}
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, proc.Pid); err != nil {
			return err
		}
	}
	proc.Close()
	return nil
}

// sendConsole passes the terminal's master to whoever listens on the
// console socket, as an SCM_RIGHTS message whose data is its name.
func sendConsole(c *net.UnixConn, master *os.File) error {
	if _, _, err := c.WriteMsgUnix([]byte("/dev/ptmx"), unix.UnixRights(int(master.Fd())), nil); err != nil {
		return fmt.Errorf("send the terminal on the console socket: %w", err)
	}
	return nil
}

// writePidFile writes pid to path atomically: the caller reads it as soon
// as create exits.
func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	return writeAtomic(abs, []byte(strconv.Itoa(pid)), 0o644)
}

// Start lets a created container's process run.
func (r *Runtime) Start(id string) error {
	rec, err := r.Load(id)
	if err != nil {
		return err
	}
	switch r.Status(rec) {
	case Created:
	case Stopped:
		return errors.New("cannot start a container that has stopped")
	default:
		return errors.New("cannot start an already running container")
	}
	if rec.NoProcess {
		// Nothing to run: the container ends here (stopped, for delete).
		_ = r.Kill(id, unix.SIGKILL, false)
		return fmt.Errorf("cannot start container %s: its config.json has no process", id)
	}
	// Opened before the container is let go: a FIFO's data lasts only
	// while someone holds it open, and the stage may fail and exit at
	// once.
	report, err := r.openStartReport(id)
	if err != nil {
		return err
	}
	if report >= 0 {
		defer unix.Close(report)
	}
	fd, err := unix.Open(r.fifo(id), unix.O_WRONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENXIO) {
		// No reader: the init is gone.
		return errors.New("cannot start a container that has stopped")
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", r.fifo(id), err)
	}
	_, err = unix.Write(fd, []byte{0})
	unix.Close(fd)
	if err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	if err := os.Remove(r.fifo(id)); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	// Running means the container's program runs: wait (briefly) until
	// the init has left the sealed copy of golxc it waited in.
	// Its startContainer hooks run first, each for up to its timeout.
	wait := 5 * time.Second
	if rec.Hooks != nil {
		for _, h := range rec.Hooks.StartContainer {
			if h.Timeout != nil {
				wait += time.Duration(*h.Timeout) * time.Second
			} else {
				wait += hooks.OCIDefaultTimeout
			}
		}
	}
	if err := awaitStartReport(report, wait); err != nil {
		return fmt.Errorf("start container %s: %w", id, err)
	}
	exe := "/proc/" + strconv.Itoa(rec.Pid) + "/exe"
	for deadline := time.Now().Add(wait); ; {
		l, err := os.Readlink(exe)
		if err == nil && !strings.HasPrefix(l, "/memfd:") {
			break
		}
		if !rec.alive() || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Microsecond)
	}
	if rec.Hooks != nil && len(rec.Hooks.Poststart) > 0 {
		// A failed poststart hook is a warning: the container runs on
		// and the remaining hooks run (runtime-spec runtime.md,
		// "Lifecycle").
		// Running: the process was started, whether or not it has
		// already ended (a short one may have).
		state := r.stateOf(rec)
		state.Status, state.Pid = Running, rec.Pid
		st, err := json.Marshal(state)
		if err != nil {
			return fmt.Errorf("encode state: %w", err)
		}
		for _, h := range rec.Hooks.Poststart {
			if err := runOCIHooks("poststart", []specs.Hook{h}, st); err != nil {
				r.warn(err)
			}
		}
	}
	return nil
}

// warn reports a problem that does not fail the call.
func (r *Runtime) warn(err error) {
	if r.Warn != nil {
		r.Warn(err)
	}
}

// Kill sends sig to the container's init, or with all to every process
// in its cgroup (which is no error when there are none left).
func (r *Runtime) Kill(id string, sig unix.Signal, all bool) error {
	rec, err := r.Load(id)
	if err != nil {
		return err
	}
	if all {
		g := r.group(rec)
		if sig == unix.SIGKILL {
			// cgroup.kill where there is one; else frozen, killed and
			// thawed (a frozen v1 task dies only once thawed) until the
			// group is empty: nothing forks out of the kill.
			err := g.Kill()
			if err != nil && errors.Is(err, os.ErrNotExist) {
				return nil // no cgroup left: nothing to kill
			}
			return err
		}
		// Another signal: sent to every process listed with the group
		// frozen, so that none forks a child the list lacks; a paused
		// container stays paused. Under the lock pause and resume take:
		// a pause between the look and the freeze would be undone by
		// the thaw.
		unlock, err := r.lockFreezer(id)
		if err != nil {
			return err
		}
		defer unlock()
		paused := r.Status(rec) == Paused
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		froze := paused || g.Freeze(ctx) == nil
		cancel()
		pids, err := g.Procs()
		for _, p := range pids {
			_ = unix.Kill(p, sig)
		}
		if froze && !paused {
			if terr := g.Thaw(); terr != nil && err == nil {
				err = terr
			}
		}
		if err != nil && !rec.alive() {
			return nil
		}
		return err
	}
	if !rec.alive() {
		return ErrNotRunning
	}
	pidfd, err := unix.PidfdOpen(rec.Pid, 0)
	if err != nil {
		return ErrNotRunning
	}
	defer unix.Close(pidfd)
	// Checked again with the pidfd held: the pid cannot be reused now.
	if !rec.alive() {
		return ErrNotRunning
	}
	if err := unix.PidfdSendSignal(pidfd, sig, nil, 0); err != nil {
		if errors.Is(err, unix.ESRCH) {
			return ErrNotRunning
		}
		return fmt.Errorf("signal %d to container %s: %w", sig, id, err)
	}
	return nil
}

// Delete removes a stopped (or, with force, any) container: its
// processes, cgroup and state. An unknown container is an error, but not
// with force (containerd's shim deletes after every task).
func (r *Runtime) Delete(id string, force bool) error {
	if err := CheckID(id); err != nil {
		return err
	}
	rec, err := r.Load(id)
	if errors.Is(err, ErrNotExist) {
		if _, serr := os.Stat(r.dir(id)); serr == nil {
			// A create that died half way: nothing of it runs.
			return os.RemoveAll(r.dir(id))
		}
		if force {
			return nil
		}
		return err
	}
	if err != nil {
		return err
	}
	switch st := r.Status(rec); st {
	case Stopped, Created:
	default:
		if !force {
			return fmt.Errorf("cannot delete container %s that is not stopped: %s", id, st)
		}
	}
	if rec.alive() {
		_ = r.Kill(id, unix.SIGKILL, false)
	}
	g := r.group(rec)
	if mine := r.made[id]; mine != nil && mine.Name() == g.Name() {
		// Made by this process (run): destroyed with its name's lock,
		// released once the directories are gone.
		g = mine
		delete(r.made, id)
	}
	_ = r.Kill(id, unix.SIGKILL, true)
	for deadline := time.Now().Add(5 * time.Second); rec.alive() && time.Now().Before(deadline); {
		time.Sleep(2 * time.Millisecond)
	}
	if rec.alive() {
		return fmt.Errorf("delete container %s: its init (pid %d) does not die", id, rec.Pid)
	}
	var errs []error
	if err := g.Destroy(); err != nil {
		errs = append(errs, err)
	}
	if rec.Hooks != nil && len(rec.Hooks.Poststop) > 0 {
		st := r.stateOf(rec)
		st.Status = Stopped
		// A poststop hook that fails is a warning; the others run and
		// the state goes anyway.
		b, err := json.Marshal(st)
		if err != nil {
			errs = append(errs, fmt.Errorf("encode state: %w", err))
		}
		for _, h := range rec.Hooks.Poststop {
			if err != nil {
				break
			}
			if herr := runOCIHooks("poststop", []specs.Hook{h}, b); herr != nil {
				r.warn(herr)
			}
		}
	}
	if err := os.RemoveAll(r.dir(id)); err != nil {
		errs = append(errs, fmt.Errorf("remove state of %s: %w", id, err))
	}
	return errors.Join(errs...)
}

// Pause freezes every process of the container.
func (r *Runtime) Pause(id string) error {
	rec, err := r.Load(id)
	if err != nil {
		return err
	}
	unlock, err := r.lockFreezer(id)
	if err != nil {
		return err
	}
	defer unlock()
	if st := r.Status(rec); st != Running && st != Created {
		return fmt.Errorf("container %s is %s, not running", id, st)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return r.group(rec).Freeze(ctx)
}

// Resume thaws a paused container.
func (r *Runtime) Resume(id string) error {
	rec, err := r.Load(id)
	if err != nil {
		return err
	}
	unlock, err := r.lockFreezer(id)
	if err != nil {
		return err
	}
	defer unlock()
	if st := r.Status(rec); st != Paused {
		return fmt.Errorf("container %s is %s, not paused", id, st)
	}
	return r.group(rec).Thaw()
}

// lockFreezer takes the container's freezer lock (flock of its state
// directory): pause, resume and kill --all, which look at the freezer's
// state and then change it, do so one at a time. unlock releases it.
func (r *Runtime) lockFreezer(id string) (unlock func(), err error) {
	fd, err := unix.Open(r.dir(id), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("lock container %s: %w", id, err)
	}
	if err := sysfile.Flock(fd, unix.LOCK_EX); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("lock container %s: %w", id, err)
	}
	return func() { unix.Close(fd) }, nil
}

// Pids lists the host pids of the container's processes.
func (r *Runtime) Pids(id string) ([]int, error) {
	rec, err := r.Load(id)
	if err != nil {
		return nil, err
	}
	pids, err := r.group(rec).Procs()
	if err != nil && !rec.alive() {
		return []int{}, nil
	}
	if pids == nil {
		pids = []int{}
	}
	return pids, err
}

// Update applies new resources to a running container's cgroup.
func (r *Runtime) Update(id string, res *specs.LinuxResources) error {
	rec, err := r.Load(id)
	if err != nil {
		return err
	}
	if !rec.alive() {
		return ErrNotRunning
	}
	l, err := layout()
	if err != nil {
		return err
	}
	limits, err := Resources(l, res, false)
	if err != nil {
		return err
	}
	g := l.Group(rec.Cgroup)
	if err := g.EnableFor(limits); err != nil {
		return err
	}
	for _, s := range limits {
		// v1 refuses a memory limit above the memory+swap limit: a
		// raise writes the new memory+swap limit first (ApplyLimits
		// writes it again after the memory limit, for a cut).
		if s.Version == 1 && s.Key == "memory.memsw.limit_in_bytes" {
			cur, err := g.Get(1, "memory.memsw.limit_in_bytes")
			if n, perr := strconv.ParseInt(s.Value, 10, 64); err == nil && perr == nil {
				if c, cerr := strconv.ParseInt(strings.TrimSpace(cur), 10, 64); cerr == nil && (n > c || n == -1) {
					if err := g.Set(1, s.Key, s.Value); err != nil {
						return err
					}
				}
			}
		}
	}
	if err := g.ApplyLimits(limits); err != nil {
		return err
	}
	if len(res.Devices) > 0 {
		devs, err := Resources(l, &specs.LinuxResources{Devices: res.Devices}, true)
		if err != nil {
			return err
		}
		return g.ApplyDevices(devs)
	}
	return nil
}

// Stats is the data of an events --stats line.
func (r *Runtime) Stats(id string) (map[string]any, error) {
	rec, err := r.Load(id)
	if err != nil {
		return nil, err
	}
	if !rec.alive() {
		return nil, ErrNotRunning
	}
	g := r.group(rec)
	s, err := g.Stats()
	if err != nil {
		return nil, err
	}
	pids, _ := g.Procs()
	data := map[string]any{"pids": map[string]any{"current": len(pids)}}
	if s.HasCPU {
		data["cpu"] = map[string]any{"usage": map[string]any{"total": s.CPUNanos}}
	}
	if s.HasMemory {
		mem := map[string]any{"usage": map[string]any{"usage": s.MemoryBytes}}
		if s.HasSwap {
			mem["swap"] = map[string]any{"usage": s.SwapBytes}
		}
		if s.HasKMem {
			mem["kernel"] = map[string]any{"usage": s.KMemBytes}
		}
		data["memory"] = mem
	}
	if s.HasBlkIO {
		data["blkio"] = map[string]any{"totalBytes": s.BlkIOBytes}
	}
	return map[string]any{"type": "stats", "id": id, "data": data}, nil
}

// runOCIHooks runs OCI hooks from golxc-runc's own process: what it
// inherited from its caller (beyond stdio) is made close-on-exec first;
// the container was spawned before any of them runs.
func runOCIHooks(name string, hs []specs.Hook, state []byte) error {
	if len(hs) == 0 {
		return nil
	}
	if err := hooks.CloseInherited(); err != nil {
		return fmt.Errorf("%s hooks: %w", name, err)
	}
	return hooks.RunOCI(name, hs, state)
}

// openStartReport opens the stage's report FIFO (StartReport) for
// reading, -1 for a container created without one (by an older
// golxc-runc), and removes its name: it is read once.
func (r *Runtime) openStartReport(id string) (int, error) {
	path := r.reportFIFO(id)
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOFOLLOW, 0)
	if errors.Is(err, unix.ENOENT) {
		return -1, nil
	}
	if err != nil {
		return -1, fmt.Errorf("open %s: %w", path, err)
	}
	_ = os.Remove(path)
	return fd, nil
}

// awaitStartReport reads the stage's report FIFO (fd, -1 for none) once
// the container is let go: what the stage writes there is its own
// failure (a startContainer hook, the exec), and the end of the FIFO with
// nothing written (its exec closed it, or golxc's init has the command)
// is a start. wait bounds the wait.
func awaitStartReport(fd int, wait time.Duration) error {
	if fd < 0 {
		return nil
	}
	var msg []byte
	buf := make([]byte, 4096)
	for deadline := time.Now().Add(wait); ; {
		n, err := unix.Read(fd, buf)
		switch {
		case n > 0:
			msg = append(msg, buf[:n]...)
			continue
		case err == nil:
			// End of file: no writer is left.
			if len(msg) > 0 {
				return fmt.Errorf("its process failed before it ran: %s", msg)
			}
			return nil
		case err != unix.EAGAIN && err != unix.EINTR:
			return fmt.Errorf("read the stage's report: %w", err)
		}
		left := time.Until(deadline)
		if left <= 0 {
			return nil
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, int(min(left, time.Second)/time.Millisecond)+1); err != nil && err != unix.EINTR {
			return fmt.Errorf("poll the stage's report: %w", err)
		}
	}
}
