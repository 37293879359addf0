package lxc

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/sirupsen/logrus"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/lxclog"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/network"
	"github.com/golxc/golxc/internal/pack"
)

// A monitor process is a re-exec of golxc whose argv is its title alone
// ("[lxc monitor] LXCPATH NAME", as LXC titles its monitors): StageEnv in
// its environment says which monitor it is.
const (
	MonitorTitlePrefix = "[lxc monitor] "
	StageEnv           = "GOLXC_STAGE"
	MonitorStage       = "monitor"    // a container's own monitor
	SupervisorStage    = "supervisor" // an lxcpath's shared monitor
	// SupervisorPathEnv is the lxcpath of a shared monitor.
	SupervisorPathEnv = "GOLXC_LXCPATH"
)

// Monitor's inherited descriptors (ExtraFiles order).
const (
	monitorStatusFD  = 3 // the monitor writes "OK" or "ERR <reason>" here
	monitorLockFD    = 4 // the container's start lock, held for life
	monitorRequestFD = 5 // the start request, a detachedStart
	// monitorReservedFD on: the names of LXC's command socket the start
	// reserved (startRequest.Reserved of them), held for life.
	monitorReservedFD = 6
)

// ErrAlreadyRunning is returned by Start for a container that is running or
// being started (LXC exits 0 there).
type ErrAlreadyRunning struct{ Name string }

func (e *ErrAlreadyRunning) Error() string { return e.Name + " is already running" }

// LoadConfig reads the container's config (or rcfile instead, as
// lxc-start -f does) and applies -s KEY=VALUE overrides.
func (c *Container) LoadConfig(rcfile string, defines []string) (*config.Config, error) {
	path := rcfile
	if path == "" {
		if err := c.mustBeDefined(); err != nil {
			return nil, err
		}
		path = c.ConfigPath()
	}
	cfg, err := config.Load(path)
	if err != nil {
		return nil, err
	}
	for _, d := range defines {
		k, v, ok := strings.Cut(d, "=")
		if !ok {
			return nil, fmt.Errorf("invalid -s %q: want KEY=VALUE", d)
		}
		if err := cfg.Set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// StartOptions say how to start a container.
type StartOptions struct {
	Foreground bool
	// RCFile says cfg came from this file rather than the container's own
	// config (lxc-start -f, lxc-execute -f): the container need not exist.
	RCFile string
	// Execute runs Command as an application container (lxc-execute):
	// under golxc's own init, in the foreground, with the caller's stdio
	// but for terminals, which become a pty of the container's, proxied.
	Execute bool
	// Daemon runs an Execute container under a detached monitor, as
	// lxc-start does (lxc-execute -d): its stdio is the container's
	// /dev/null, and Start returns once it is RUNNING.
	Daemon     bool
	Command    []string // replaces the config's init (lxc-start -- CMD)
	PidFile    string   // gets the monitor's pid
	ConsoleLog string
	LogFile    string // -o; "": lxc.log.file
	LogLevel   string // -l; "": lxc.log.level, else ERROR
	// Share maps namespaces (net, ipc, uts) to a pid or container whose
	// namespace to join (lxc-start --share-NAME), over the config's
	// lxc.namespace.share.*.
	Share map[string]string
	// Terminal for -F; os.Stdin/os.Stdout when nil.
	TerminalIn  *os.File
	TerminalOut io.Writer
}

// startRequest is what a detached monitor is told to run.
type startRequest struct {
	Name    string `json:"name"`
	LXCPath string `json:"lxcpath"`
	// Spec is the container's spec in JSON, for the shared monitor (whose
	// protocol it is) and the record; none for a monitor in this process,
	// which gets spec.
	Spec json.RawMessage `json:"spec"`
	// PackedSpec is the spec in package pack's form instead of Spec,
	// inside PackedRequest only: the tool then learns no JSON types for
	// the spec (~0.6 ms of a start's CPU). The monitor writes the
	// record's Spec in JSON: a record outlives the binary.
	PackedSpec []byte `json:"packedSpec,omitempty"`
	// PackedRequest is the whole request in package pack's form, the one
	// field of the line sent to a shared monitor that runs this very
	// binary (sameBinary): the tool then learns no JSON types for the
	// request's either (~0.4 ms of a start's CPU). Never set inside it.
	PackedRequest []byte                  `json:"packedRequest,omitempty"`
	Cgroups       []monitor.CgroupSetting `json:"cgroups"`
	// CgroupDir is lxc.cgroup.dir*.
	CgroupDir monitor.CgroupDir `json:"cgroupDir,omitzero"`
	Network   []network.Iface   `json:"network,omitempty"`
	Execute   bool              `json:"execute,omitempty"`
	// Shared: run in the lxcpath's shared monitor (see supervisor.go).
	Shared     bool   `json:"shared,omitempty"`
	ConsoleLog string `json:"consoleLog,omitempty"`
	// Console is what the other lxc.console.* keys ask of the monitor.
	Console  monitor.ConsoleOptions `json:"console,omitempty"`
	LogFile  string                 `json:"logFile,omitempty"`
	LogLevel string                 `json:"logLevel,omitempty"`
	// PidFile (lxc-start -p) is written by the detached monitor with its
	// own pid before it starts the container, and removed when it is
	// done, as LXC's monitor does.
	PidFile string `json:"pidFile,omitempty"`
	// Ephemeral (lxc.ephemeral = 1): the monitor destroys the container
	// once it has stopped.
	Ephemeral bool `json:"ephemeral,omitempty"`
	// StartID names this start of an ephemeral container; its mark in
	// the container's directory holds it too, and the destroy is done
	// only while the two agree.
	StartID string `json:"startID,omitempty"`
	// Reserved counts the descriptors of LXC's socket names that come
	// with the request (after the lock).
	Reserved int `json:"reserved,omitempty"`
	// Hooks are the container's hooks the monitor runs (the stage's are
	// in the spec).
	Hooks *monitor.HostHooks `json:"hooks,omitempty"`
	// Adopt: the container runs already, its monitor was killed; the
	// monitor takes it over from its record (see adopt.go). The rest of
	// the request is the one it was started with.
	Adopt bool `json:"adopt,omitempty"`

	// detected is the host's cgroup layout as this tool found it,
	// handed to a monitor that runs in this process (lxc-start -F,
	// lxc-execute) rather than read again; not sent to another.
	detected *cgroup.Layout
	// spec is the spec itself, for a monitor in this process or one of
	// this binary (detachedStart); nil: Spec is decoded.
	spec *containerinit.Spec
	// came says how a shared monitor got the request and its spec, for
	// its log: "in JSON", "packed, inside a packed request ...".
	came string
}

// detachedStart is what a container's own monitor, a re-exec of this very
// binary, reads from its request pipe, in package pack's form: the spec
// comes decoded, so that the monitor learns no JSON types to start its
// init (~0.7 ms cold); the request is JSON, for the record it writes.
type detachedStart struct {
	Request []byte
	// Spec is nil for an adoption, whose spec is the record's JSON.
	Spec *containerinit.Spec
}

// Start starts the container with cfg. With Foreground it supervises the
// container itself until it stops and returns init's exit status;
// otherwise it returns once the container is RUNNING, or with the
// container's own reason for not starting.
func (c *Container) Start(cfg *config.Config, o StartOptions) (code int, err error) {
	inProcess := o.Foreground || o.Execute && !o.Daemon
	// No warm-up of encoding/json for the spec (its encoder for the OCI
	// tree costs ~0.5-1 ms of CPU at the first Marshal): the usual start
	// hands the request packed, spec and all, to a shared monitor of
	// this binary (startShared), and only a container's own monitor or a
	// monitor of another build gets JSON.
	lock, err := c.startLock()
	var running *ErrAlreadyRunning
	if errors.As(err, &running) {
		return 0, err
	}
	if err != nil {
		return 1, err
	}
	defer lock.Release()
	// LXC's own tools know nothing of golxc's lock: its monitor is asked
	// for, under the lock, so that no golxc start races another. The lock
	// file goes: LXC may destroy the container without golxc.
	c.reserveLXCNames(lock)
	if err := c.notRunByLXC(); err != nil {
		lock.remove()
		return 1, err
	}
	if !c.Defined() {
		if o.RCFile == "" {
			// Destroyed between reading its config and taking the lock.
			lock.remove()
			return 1, &ErrNotDefined{Name: c.Name}
		}
		// A container that lives only in an rcfile (lxc-execute -f):
		// its lock must not outlive it. A detached monitor takes care of
		// that itself; here only a failed start is left to clean.
		defer func() {
			if o.Foreground || o.Execute && !o.Daemon || code != 0 || err != nil {
				lock.remove()
			}
		}()
	}
	sys, err := config.LoadSystem()
	if err != nil {
		return 1, err
	}
	host, err := c.hostFacts.layout()
	if err != nil {
		return 1, err
	}
	layout := host.Use(sys.CgroupControllers())
	var fg *foreground
	switch {
	case o.Execute && !o.Daemon:
		fg = executeStdio(os.Stdin, os.Stdout, os.Stderr)
	case o.Foreground:
		in, out := o.TerminalIn, o.TerminalOut
		if in == nil {
			in = os.Stdin
		}
		if out == nil {
			out = os.Stdout
		}
		fg = &foreground{in: in, out: out, size: firstTerminal(in, out)}
	}
	so := specOptions{Command: o.Command, Execute: o.Execute}
	if fg != nil {
		so.Terminal = fg.terminal
		so.ConsoleSize = windowSize(fg.size)
	}
	if so.Shared, err = ResolveShares(c.LXCPath, cfg, o.Share); err != nil {
		return 1, err
	}
	spec, cg, err := buildSpec(c.Name, cfg, layout, so)
	if err != nil {
		return 1, err
	}
	consoleLog := o.ConsoleLog
	if consoleLog == "" {
		consoleLog = cfg.ConsoleLogfile
	}
	configFile := c.ConfigPath()
	if o.RCFile != "" {
		configFile = absPath(o.RCFile)
	}
	hostHooks, err := startHooks(spec, c.Name, configFile, absPath(consoleLog), o.LogLevel, cfg)
	if err != nil {
		return 1, err
	}
	// lxc.log.file and lxc.log.level, each unless -o or -l says
	// otherwise, as LXC does.
	logFile, logLevel := o.LogFile, o.LogLevel
	if logFile == "" {
		logFile = cfg.LogFile
	}
	if logLevel == "" {
		logLevel = cfg.LogLevel
	}
	consoleOpts, err := consoleOptions(cfg, o.Execute)
	if err != nil {
		return 1, err
	}
	// Built by the monitor, from the host's side of the container's
	// network namespace (none of it when the config keeps the host's).
	var nets []network.Iface
	if os.Geteuid() != 0 {
		// Host interfaces are root's to make: LXC has lxc-user-nic for
		// users, which golxc does not have yet.
		for _, n := range cfg.Net {
			if n.Type != "empty" && n.Type != "none" {
				return 1, fmt.Errorf("lxc.net.%d.type = %s is not supported yet for a container of a user other than root (LXC's lxc-user-nic is not built): use empty", n.Index, n.Type)
			}
		}
	}
	if spec.HasNamespace(specs.NetworkNamespace) {
		if nets, err = network.Plan(cfg.Net, nil); err != nil {
			return 1, err
		}
		env := network.ScriptEnv(c.Name, c.LXCPath, cfg.Rootfs.Path, cfg.HookVersion)
		for k := range nets {
			nets[k].ScriptEnv, nets[k].HookVersion = env, cfg.HookVersion
		}
	}
	cgDir := cgroupDir(c.Name, cfg, sys)
	if err := cgDir.Check(); err != nil {
		return 1, err
	}
	if cfg.CgroupDir.Relative {
		rel, err := cgroup.CallerDir()
		if err != nil {
			return 1, err
		}
		cgDir = relativeTo(cgDir, rel)
	}
	// The detached monitor runs in "/" (it must not pin the caller's
	// working directory for months): its files are named absolutely.
	req := &startRequest{detected: host, spec: spec, Name: c.Name, LXCPath: c.LXCPath, Cgroups: cg, CgroupDir: cgDir, Network: nets, ConsoleLog: absPath(consoleLog), Console: consoleOpts, LogFile: absPath(logFile), LogLevel: logLevel, Execute: o.Execute, Hooks: hostHooks}
	if cfg.Ephemeral && o.RCFile == "" {
		id := make([]byte, 16)
		if _, err := rand.Read(id); err != nil {
			return 1, fmt.Errorf("start id: %w", err)
		}
		req.StartID = hex.EncodeToString(id)
		if err := c.markEphemeral(req.StartID); err != nil {
			return 1, err
		}
		req.Ephemeral = true
		defer func() {
			if (err != nil || code != 0) && c.Defined() {
				// A start that failed: the ephemeral container goes, as
				// it would at its stop.
				_ = c.destroyWithHooks(lock)
			}
		}()
	}
	if inProcess {
		if o.PidFile != "" {
			if err := writePidFile(o.PidFile, os.Getpid()); err != nil {
				return 1, err
			}
			defer os.Remove(o.PidFile)
		}
		if fg.in != nil {
			// Every key goes to the container's terminal, Ctrl-C
			// included; the caller's terminal is put back on every way
			// out of here (signals are forwarded, not fatal).
			restore := rawTerminal(fg.in)
			defer restore()
		}
		code, err := supervise(req, fg, nil)
		if req.Ephemeral && !c.Defined() {
			lock.remove()
		}
		return code, err
	}
	req.PidFile = absPath(o.PidFile)
	shared, err := useSharedMonitor(req, c.hostFacts)
	if err != nil {
		return 1, err
	}
	if shared {
		// The request goes packed or in JSON, as the monitor found takes
		// it (startShared).
		req.Shared = true
		err = c.startShared(req, lock)
	} else {
		if req.Spec, err = json.Marshal(spec); err != nil {
			return 1, fmt.Errorf("encode spec: %w", err)
		}
		err = c.daemonize(req, lock)
	}
	if err != nil {
		// A monitor killed before the container ran leaves it half
		// started: torn down here, under the lock this start holds.
		c.recoverLocked(lock)
		return 0, err
	}
	return 0, nil
}

// startLock takes the lock a start needs. A monitor holds it for the
// container's whole life, so a busy lock with a monitor that answers
// means running; one without an answer is a monitor still tearing down,
// worth waiting for.
func (c *Container) startLock() (*Lock, error) {
	deadline := time.Now().Add(10 * time.Second)
	pause := 250 * time.Microsecond
	for {
		lock, err := c.TryLock()
		if err != ErrLocked {
			return lock, err
		}
		r, err := monitor.Ask(c.LXCPath, c.Name, monitor.Request{Command: "state"}, time.Now().Add(askTimeout))
		if err == nil && r.State != monitor.Stopped && r.State != monitor.Aborting {
			return nil, &ErrAlreadyRunning{Name: c.Name}
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s is locked by another golxc process", c.Name)
		}
		// A monitor that told STOPPED lets the lock go within a
		// millisecond or so: short waits first (a start right after a
		// stop must not sleep 5 ms for it), longer ones for a slow
		// teardown.
		time.Sleep(pause)
		pause = min(2*pause, 5*time.Millisecond)
	}
}

func (c *Container) daemonize(req *startRequest, lock *Lock) error {
	statusR, statusW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("monitor status pipe: %w", err)
	}
	defer statusR.Close()
	reqR, reqW, err := os.Pipe()
	if err != nil {
		statusW.Close()
		return fmt.Errorf("monitor request pipe: %w", err)
	}
	cmd := exec.Command("/proc/self/exe")
	// What ps shows, as LXC titles its monitors.
	cmd.Args = []string{MonitorTitlePrefix + c.LXCPath + " " + c.Name}
	// One P is plenty for a supervisor that mostly sleeps, and every
	// extra P costs memory in each of possibly thousands of monitors.
	cmd.Env = []string{"PATH=" + defaultPath, "GOMAXPROCS=1", StageEnv + "=" + MonitorStage}
	cmd.ExtraFiles = append([]*os.File{statusW, lock.File(), reqR}, lock.reserved...)
	req.Reserved = len(lock.reserved)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		statusW.Close()
		reqR.Close()
		reqW.Close()
		return fmt.Errorf("start monitor: %w", err)
	}
	statusW.Close()
	reqR.Close()
	err = sendDetachedStart(reqW, req)
	reqW.Close()
	if err != nil {
		return fmt.Errorf("send start request to monitor: %w", err)
	}
	line, rerr := bufio.NewReader(statusR).ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "OK":
		return cmd.Process.Release()
	case strings.HasPrefix(line, "ERR "):
		_ = cmd.Wait()
		return errors.New(strings.TrimPrefix(line, "ERR "))
	default:
		_ = cmd.Wait()
		if req.Adopt {
			return fmt.Errorf("the monitor that was to adopt %s exited (%v); see the log file (-o)", c.Name, rerr)
		}
		if rerr == nil {
			rerr = errors.New(line)
		}
		return fmt.Errorf("monitor of %s exited before the container started (%v); see the log file (-o)", c.Name, rerr)
	}
}

// sendDetachedStart writes req to the monitor's request pipe w.
func sendDetachedStart(w io.Writer, req *startRequest) error {
	j, err := json.Marshal(req)
	if err != nil {
		return err
	}
	b, err := pack.Marshal(&detachedStart{Request: j, Spec: req.spec})
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}

// readDetachedStart reads what sendDetachedStart wrote to r, to its EOF.
func readDetachedStart(r io.Reader) (*startRequest, error) {
	// The request as the shared monitor would get it (at most
	// maxStartRequest) and its spec again, packed (smaller than its JSON).
	const most = 2 * maxStartRequest
	b, err := io.ReadAll(io.LimitReader(r, most+1))
	if err != nil {
		return nil, err
	}
	if len(b) > most {
		return nil, fmt.Errorf("more than %d bytes", most)
	}
	var d detachedStart
	if err := pack.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("decode the start request: %w", err)
	}
	req := &startRequest{}
	if err := json.Unmarshal(d.Request, req); err != nil {
		return nil, fmt.Errorf("decode the start request's JSON: %w", err)
	}
	req.spec = d.Spec
	return req, nil
}

// maxReserved bounds the reserved names a start hands over (a typed and a
// resolved spelling).
const maxReserved = 4

// absPath makes a path given on the command line absolute ("" stays "").
func absPath(p string) string {
	if p == "" {
		return ""
	}
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

// removePidFile removes the pid file at path if it still holds pid: a
// later start may have taken the same path for another monitor.
func removePidFile(path string, pid int) {
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid) {
		os.Remove(path)
	}
}

// writePidFile writes the file whole or not at all (temp + rename), so a
// reader never sees a partial pid.
func writePidFile(path string, pid int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write pid file: %w", err)
	}
	_, err = tmp.WriteString(strconv.Itoa(pid) + "\n")
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("write pid file %s: %w", path, err)
	}
	return nil
}

// RunDetachedMonitor is the body of a detached monitor process (argv[1] ==
// MonitorStage): it reads its start request, supervises the container until
// it stops and returns the process's exit code.
func RunDetachedMonitor() int {
	status := os.NewFile(monitorStatusFD, "status")
	reqFile := os.NewFile(monitorRequestFD, "request")
	r, err := readDetachedStart(reqFile)
	reqFile.Close()
	if err != nil {
		fmt.Fprintf(status, "ERR read start request: %v\n", err)
		return 1
	}
	req := *r
	_ = os.Chdir("/")
	if req.Adopt {
		// Spawned by whatever tool looked the container up: the host's
		// defaults, not that tool's, for the rest of its life.
		_ = resetContext()
	}
	if req.PidFile != "" {
		if err := writePidFile(req.PidFile, os.Getpid()); err != nil {
			fmt.Fprintf(status, "ERR %v\n", err)
			return 1
		}
		defer removePidFile(req.PidFile, os.Getpid())
	}
	// The lock stays open (and held) for the monitor's whole life; a
	// container that exists only in an rcfile takes its lock file along.
	c := &Container{Name: req.Name, LXCPath: req.LXCPath}
	lock := &Lock{f: os.NewFile(monitorLockFD, c.lockPath())}
	for i := 0; i < req.Reserved && i < maxReserved; i++ {
		lock.reserved = append(lock.reserved, os.NewFile(uintptr(monitorReservedFD+i), "reserved"))
	}
	defer func() {
		if !c.Defined() {
			lock.remove()
		}
		lock.Release()
	}()
	ready := func(err error) {
		// The start's garbage (spec decoding, mounts) is done with: hand
		// it back, the monitor may live for months.
		debug.FreeOSMemory()
		if err != nil {
			fmt.Fprintf(status, "ERR %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprintln(status, "OK")
		}
		status.Close()
	}
	if _, err := runMonitor(&req, nil, nil, ready); err != nil {
		return 1
	}
	return 0
}

// runMonitor supervises the container of req in this process. in and out,
// when set, are lxc-start -F's terminal, proxied to the console.
func runMonitor(req *startRequest, in *os.File, out io.Writer, ready func(error)) (int, error) {
	var fg *foreground
	if in != nil {
		fg = &foreground{in: in, out: out, size: firstTerminal(in, out)}
	}
	return supervise(req, fg, ready)
}

// supervise runs the monitor of req's container in this process; fg is
// the caller's side of a foreground container, nil for a detached one.
func supervise(req *startRequest, fg *foreground, ready func(error)) (int, error) {
	tool := "lxc-start"
	if req.Execute {
		tool = "lxc-execute"
	}
	log, closeLog, err := OpenLog(tool, req.Name, req.LogFile, req.LogLevel)
	if err != nil {
		if ready != nil {
			ready(err)
		}
		return 0, err
	}
	defer closeLog()
	if req.Shared && !req.Adopt {
		log.Debugf("start request of %s: its spec came %s", req.Name, req.came)
	}
	o := monitor.Options{
		Name:       req.Name,
		LXCPath:    req.LXCPath,
		Spec:       req.spec,
		Cgroups:    req.Cgroups,
		CgroupDir:  req.CgroupDir,
		Network:    req.Network,
		ConsoleLog: req.ConsoleLog,
		Console:    req.Console,
		Log:        log,
		Ready:      ready,
		Shared:     req.Shared,
		Hooks:      req.Hooks,
		HostLayout: req.detected,
	}
	if o.Spec == nil {
		spec, err := requestSpec(req)
		if err != nil && !req.Adopt {
			if ready != nil {
				ready(err)
			}
			return 0, err
		}
		if err != nil {
			// Its init runs: supervised still, and stopped, but not
			// started again (a reboot) without a spec.
			log.Warnf("%v: %s cannot be rebooted by this monitor, nor lxc-attach run in it", err, req.Name)
			o.SpecErr = err
		}
		o.Spec = spec
	}
	if req.Shared && o.Spec != nil {
		// Held packed for the container's life: the shared monitor
		// holds many.
		b, err := pack.Marshal(o.Spec)
		if err != nil {
			if ready != nil {
				ready(err)
			}
			return 0, fmt.Errorf("pack the spec of %s: %w", req.Name, err)
		}
		o.Spec, o.PackedSpec = nil, b
	}
	if fg != nil {
		o.Stdin, o.Stdout, o.Stderr = fg.stdio[0], fg.stdio[1], fg.stdio[2]
		o.TerminalIn, o.TerminalOut, o.TerminalSize = fg.in, fg.out, fg.size
		o.ForwardSignals = true
	}
	if req.Adopt {
		// The request is the one the container was started with; the
		// record says what became of it.
		rec, err := monitor.ReadRecord(req.LXCPath, req.Name)
		if err == nil {
			err = rec.LoadRequest()
		}
		if err != nil {
			if ready != nil {
				ready(err)
			}
			return 0, err
		}
		o.Adopt, o.Request = rec, rec.Request
	} else if fg == nil {
		// A detached start keeps a record: its container outlives the
		// monitor. A foreground one (lxc-start -F, lxc-execute) keeps
		// none: the tool is the container's session, which ends with it
		// (init has a parent-death signal), as LXC's.
		stored := *req
		stored.Reserved = 0
		b, err := json.Marshal(&stored)
		if err == nil && len(b) >= maxStartRequest {
			// An adoption sends the record's request to a shared
			// monitor as it is: one that came packed (smaller) must
			// still fit there.
			err = fmt.Errorf("%d bytes in JSON, at most %d", len(b), maxStartRequest-1)
		}
		if err != nil {
			err = fmt.Errorf("record the start request of %s: %w", req.Name, err)
			if ready != nil {
				ready(err)
			}
			return 0, err
		}
		o.Request = b
	}
	if req.Ephemeral {
		// lxc.ephemeral: gone once stopped, however it stopped, before
		// STOPPED is told (this process holds the container's lock).
		o.BeforeStopped = func() {
			c := &Container{Name: req.Name, LXCPath: req.LXCPath}
			if req.StartID != "" && c.Defined() && !c.startedAs(req.StartID) {
				// Destroyed already (a stop re-run after a kill of its
				// monitor), and made again since: not this start's.
				log.Infof("%s is not the ephemeral container of this start any more: not destroyed", req.Name)
				return
			}
			if err := c.destroyWithHooks(nil); err != nil {
				log.Errorf("destroy ephemeral container %s: %v", req.Name, err)
			}
		}
	}
	// Decoded, and in the record: the JSON is not held for the
	// container's life.
	req.Spec = nil
	return monitor.Run(o)
}

// requestSpec decodes the JSON spec of req (one from another golxc, the
// shared monitor's protocol, or from a record); nil for none.
func requestSpec(req *startRequest) (*containerinit.Spec, error) {
	if len(req.Spec) == 0 {
		return nil, nil
	}
	spec := new(containerinit.Spec)
	if err := json.Unmarshal(req.Spec, spec); err != nil {
		return nil, fmt.Errorf("decode the spec of %s's start request: %w", req.Name, err)
	}
	return spec, nil
}

// OpenLog makes the logger of -o FILE -l LEVEL for tool acting on
// container name, in LXC's line format (lxclog); no file, no log. A level
// LXC does not know is ERROR, its default, as LXC takes it.
func OpenLog(tool, name, file, level string) (*logrus.Logger, func(), error) {
	if file == "" {
		l := logrus.New()
		l.SetOutput(io.Discard)
		return l, func() {}, nil
	}
	f, err := monitor.OpenAppend(file, 0o640)
	if err != nil {
		return nil, nil, fmt.Errorf("open log file: %w", err)
	}
	min, err := lxclog.ParsePriority(level)
	if level == "" || err != nil {
		min = lxclog.Error
	}
	return lxclog.New(f, tool, name, min), func() { f.Close() }, nil
}

// cgroupDir is where the cgroups of container name go: cfg's
// lxc.cgroup.dir* keys when it has any, else the system config's
// lxc.cgroup.pattern (sys may be nil), else LXC's default; and only in
// the hierarchies of sys's lxc.cgroup.use. The container's own keys win
// over the pattern, as in LXC 5.0.2, which looks at the system pattern
// only when the container sets no cgroup path itself.
func cgroupDir(name string, cfg *config.Config, sys *config.System) monitor.CgroupDir {
	d := monitor.CgroupDir{Dir: cfg.CgroupDir.Dir, Container: cfg.CgroupDir.Container, Monitor: cfg.CgroupDir.Monitor, Inner: cfg.CgroupDir.ContainerInner}
	if sys == nil {
		return d
	}
	d.Use = sys.CgroupControllers()
	if d.Dir == "" && d.Container == "" && d.Monitor == "" {
		if tree := sys.CgroupTree(name); tree != "" {
			d.Container, d.Monitor = tree+"/payload", tree+"/monitor"
			d.Pattern = sys.CgroupPattern
		}
	}
	return d
}

// hostLayout is the host's cgroup layout restricted to the system
// config's lxc.cgroup.use: where a container's cgroups are, for the tools
// that act on a running container's cgroup.
func hostLayout() (*cgroup.Layout, error) {
	l, err := cgroup.Detect()
	if err != nil {
		return nil, err
	}
	sys, err := config.LoadSystem()
	if err != nil {
		return nil, err
	}
	return l.Use(sys.CgroupControllers()), nil
}

// relativeTo places d below the caller's cgroup rel (lxc.cgroup.relative):
// the caller's own cgroup is the parent instead of the base.
func relativeTo(d monitor.CgroupDir, rel string) monitor.CgroupDir {
	if rel == "" {
		return d
	}
	join := func(p string) string {
		if p == "" {
			return ""
		}
		return rel + "/" + p
	}
	if d.Container != "" {
		d.Container, d.Monitor = join(d.Container), join(d.Monitor)
		return d
	}
	if d.Dir == "" {
		d.Dir = rel
	} else {
		d.Dir = join(d.Dir)
	}
	return d
}
