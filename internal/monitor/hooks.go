package monitor

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/golxc/golxc/internal/hooks"
)

// HostHooks are a container's hooks that run on the host's side, from the
// monitor, in the host's namespaces (lxc.container.conf(5), CONTAINER
// HOOKS): pre-start before each start of init, start-host once the
// container is set up and before init runs, stop once init is gone (with
// its namespaces, held open), post-stop once the container is torn down.
type HostHooks struct {
	Container hooks.Container `json:"container"`
	PreStart  []string        `json:"preStart,omitempty"`
	StartHost []string        `json:"startHost,omitempty"`
	Stop      []string        `json:"stop,omitempty"`
	PostStop  []string        `json:"postStop,omitempty"`
}

// hookRun is what the hooks of one init know of it.
type hookRun struct {
	pid int // LXC_PID: the init's pid, once it has one
	// ns are the init's namespaces, held open from its set-up until the
	// post-stop hooks are done; nsNames their /proc/PID/ns names.
	ns      []*os.File
	nsNames []string
	target  string // LXC_TARGET: "stop" or "reboot", once init is gone
	stopped bool   // the stop hooks have run
}

// hookNamespaces are the namespaces a stop hook is given, in LXC's order,
// by their /proc/PID/ns names.
func hookNamespaces() []string {
	return []string{"user", "mnt", "pid", "uts", "ipc", "net", "cgroup", "time"}
}

func (m *Monitor) runHooks(kind hooks.Kind, cmds []string, o hooks.Options) error {
	if len(cmds) == 0 {
		return nil
	}
	o.Output = func(cmd, out string) {
		m.o.Log.Debugf("lxc.hook.%s %s of %s produced output: %s", kind, cmd, m.o.Name, strings.TrimSpace(out))
	}
	ctx := context.Background()
	m.mu.Lock()
	if m.hookCtx != nil && (kind == hooks.PreStart || kind == hooks.StartHost) {
		// A stop while the container starts ends these.
		ctx = m.hookCtx
	}
	m.mu.Unlock()
	return hooks.Run(ctx, kind, cmds, m.o.Hooks.Container, o)
}

func (m *Monitor) preStartHooks() error {
	if m.o.Hooks == nil {
		return nil
	}
	return m.runHooks(hooks.PreStart, m.o.Hooks.PreStart, hooks.Options{})
}

// startHostHooks runs while the init stage (pid) waits to exec init.
func (m *Monitor) startHostHooks(pid int) error {
	m.hookRun.pid = pid
	return m.runHooks(hooks.StartHost, m.o.Hooks.StartHost, hooks.Options{Env: []string{"LXC_PID=" + strconv.Itoa(pid)}})
}

// holdNamespaces opens the namespaces of the init stage pid (set up, and
// waiting for its go: its /proc entry is its own) for the stop hooks,
// which LXC gives them after init is gone. Only those not the monitor's
// own: a container that keeps the host's network has no network of its
// own to give.
func (m *Monitor) holdNamespaces(pid int) error {
	h := m.o.Hooks
	if h == nil || len(h.Stop) == 0 && len(h.PostStop) == 0 {
		return nil
	}
	m.hookRun.pid = pid
	for _, name := range hookNamespaces() {
		mine, err := os.Readlink("/proc/self/ns/" + name)
		if err != nil {
			continue // a kind this kernel lacks
		}
		path := fmt.Sprintf("/proc/%d/ns/%s", pid, name)
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("open %s for the stop hooks: %w", path, err)
		}
		theirs, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
		if err != nil || theirs == mine {
			f.Close()
			continue
		}
		m.hookRun.ns = append(m.hookRun.ns, f)
		m.hookRun.nsNames = append(m.hookRun.nsNames, name)
	}
	return nil
}

// stopHooks runs the stop hooks of the init that is gone, target "stop"
// or "reboot" (LXC_TARGET). Under lxc.hook.version 0 they get its
// namespaces as arguments, "mnt:/proc/MONITOR/fd/N"; under either,
// LXC_MNT_NS=/proc/MONITOR/fd/N ... (LXC sets both under 0). A failure
// is logged: the container is down anyway.
func (m *Monitor) stopHooks(target string) {
	r := m.hookRun
	if r == nil || r.stopped || m.o.Hooks == nil {
		return
	}
	r.stopped, r.target = true, target
	var args []string
	for i, f := range r.ns {
		args = append(args, r.nsNames[i]+":"+fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), f.Fd()))
	}
	if m.o.Hooks.Container.Version != 0 {
		args = nil
	}
	if err := m.runHooks(hooks.Stop, m.o.Hooks.Stop, hooks.Options{Args: args, Env: r.env()}); err != nil {
		m.o.Log.Errorf("%s: %v", m.o.Name, err)
	}
}

// postStopHooks runs the post-stop hooks once the container is down and
// lets its namespaces go.
func (m *Monitor) postStopHooks() {
	r := m.hookRun
	if r == nil {
		return
	}
	m.hookRun = nil
	defer func() {
		for _, f := range r.ns {
			f.Close()
		}
	}()
	if m.o.Hooks == nil {
		return
	}
	if r.target == "" {
		r.target = "stop"
	}
	if err := m.runHooks(hooks.PostStop, m.o.Hooks.PostStop, hooks.Options{Env: r.env()}); err != nil {
		m.o.Log.Errorf("%s: %v", m.o.Name, err)
	}
}

// env is what the stop and post-stop hooks learn of the init that was.
func (r *hookRun) env() []string {
	var env []string
	if r.pid > 0 {
		env = append(env, "LXC_PID="+strconv.Itoa(r.pid))
	}
	env = append(env, "LXC_TARGET="+r.target)
	for i, f := range r.ns {
		env = append(env, "LXC_"+strings.ToUpper(r.nsNames[i])+"_NS="+fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), f.Fd()))
	}
	return env
}
