package lxc

import (
	"encoding/json"
	"errors"
	"fmt"
	"github.com/golxc/golxc/internal/sysfile"
	"os"
	"slices"
	"time"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/network"
)

// askTimeout bounds a question to a monitor: a wedged monitor must not hang
// lxc-info or lxc-ls.
const askTimeout = 5 * time.Second

// monitorError words a failed question to a monitor for a sysadmin.
func (c *Container) monitorError(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("the monitor of %s did not answer in time (stopped or wedged?)", c.Name)
	}
	return err
}

// Info is what lxc-info shows of a container.
type Info struct {
	Name    string
	State   string
	Pid     int
	Cgroups map[string]string
	Cgroup  string
	Stats   *cgroup.Stats
	// Events are the OOM counts and pressure (with Stats).
	Events *cgroup.Events
	// RunByLXC: LXC's own lxc-start runs it, not golxc (see lxcrun.go).
	RunByLXC bool
}

// State returns the container's state; an undefined container is an error.
func (c *Container) State() (string, error) {
	info, err := c.Info(false)
	if err != nil {
		return "", err
	}
	return info.State, nil
}

// Info returns the container's state, init pid and, when withStats, its
// cgroups' usage.
func (c *Container) Info(withStats bool) (*Info, error) {
	return c.info(withStats, time.Now().Add(askTimeout))
}

// info is Info with the deadline of the question to the monitor.
func (c *Container) info(withStats bool, deadline time.Time) (*Info, error) {
	info := &Info{Name: c.Name, State: monitor.Stopped}
	r, err := c.ask(monitor.Request{Command: "state"}, deadline)
	var unmonitored *ErrUnmonitored
	switch {
	case errors.Is(err, monitor.ErrNotRunning):
		if err := c.mustBeDefined(); err != nil {
			return nil, err
		}
		run, err := c.RunByLXC()
		if err != nil {
			return nil, err
		}
		if run == nil {
			return info, nil
		}
		info.State, info.Pid, info.Cgroup, info.RunByLXC = monitor.Running, run.InitPid, run.Cgroup, true
	case errors.As(err, &unmonitored):
		// Running with no monitor to ask for its cgroups: no usage.
		info.State, info.Pid = unmonitored.State, unmonitored.Pid
		return info, nil
	case err != nil:
		return nil, c.monitorError(err)
	default:
		info.State, info.Pid, info.Cgroups, info.Cgroup = r.State, r.Pid, r.Cgroups, r.Cgroup
	}
	return c.withUsage(info, withStats)
}

// RecoverInfo is Recover then Info, asking the monitor of a running
// container once (lxc-info's case): the state question made first
// (recoverState) is the answer, and only a monitor that does not give one
// sends it to Recover's record. removed reports what Recover reports (info is
// nil then).
func (c *Container) RecoverInfo(withStats bool) (info *Info, removed bool, err error) {
	// One bound for both questions: a monitor too slow for Recover's
	// is given what is left of Info's, not that again.
	deadline := time.Now().Add(askTimeout)
	r, removed := c.recoverState()
	if removed {
		return nil, true, nil
	}
	if r == nil {
		// Recover may have waited for another tool's adoption (up to
		// its own bound): the monitor that adoption serves gets at
		// least a second to answer.
		deadline = later(deadline, time.Now().Add(time.Second))
		info, err = c.info(withStats, deadline)
		return info, false, err
	}
	info = &Info{Name: c.Name, State: r.State, Pid: r.Pid, Cgroups: r.Cgroups, Cgroup: r.Cgroup}
	info, err = c.withUsage(info, withStats)
	return info, false, err
}

// withUsage adds the usage of info's cgroups when withStats and the
// container runs.
func (c *Container) withUsage(info *Info, withStats bool) (*Info, error) {
	if withStats && info.Pid > 0 && info.Cgroup != "" {
		g, err := c.statsGroup(info)
		if err != nil {
			return nil, err
		}
		st, err := g.Stats()
		if err != nil {
			return nil, fmt.Errorf("read usage of %s: %w", c.Name, err)
		}
		info.Stats = &st
		ev, err := g.Events()
		if err != nil {
			return nil, fmt.Errorf("read OOM and pressure counts of %s: %w", c.Name, err)
		}
		info.Events = &ev
	}
	return info, nil
}

// statsGroup is the cgroup whose usage info shows: where the monitor
// says the container's cgroups are, else (a container LXC's tools run, or
// a monitor of an older golxc) the name placed in the host's layout,
// which costs reading the host's mounts and the system config.
func (c *Container) statsGroup(info *Info) (*cgroup.Group, error) {
	if len(info.Cgroups) > 0 {
		g, err := cgroup.GroupAt(info.Cgroup, info.Cgroups)
		if err != nil {
			return nil, fmt.Errorf("the monitor of %s: %w", c.Name, err)
		}
		return g, nil
	}
	layout, err := hostLayout()
	if err != nil {
		return nil, err
	}
	return layout.Group(info.Cgroup), nil
}

// HostLinks are the host interfaces whose counters lxc-info shows for
// c's networks, in lxc.net order, as LXC shows them: a veth's host end,
// as c's monitor recorded it when it made it (so a generated name is
// known without entering the container's namespace, and the running
// container's veths are shown even when the config on disk no longer
// names them: lxc-start -s, -f, an edit since the start), and the host
// interface a macvlan, ipvlan or vlan of nets (the config) sits on (its
// lxc.net.N.link). An empty, none or phys network has no interface on
// the host (a phys one has moved into the container). found is false
// when c's monitor keeps no record of host ends (a container LXC's tools
// run, or an older golxc's monitor): the caller then looks inside.
func (c *Container) HostLinks(nets []config.Net) (links []network.HostEnd, found bool) {
	var ends []network.HostEnd
	b, err := readSmallFile(monitor.SocketPath(c.LXCPath, c.Name) + ".net")
	recorded := err == nil && json.Unmarshal(b, &ends) == nil
	return hostLinks(nets, ends, recorded)
}

// hostLinks is HostLinks given the monitor's record of host ends
// (recorded: there is one).
func hostLinks(nets []config.Net, ends []network.HostEnd, recorded bool) (links []network.HostEnd, found bool) {
	for _, e := range ends {
		if e.Name != "" {
			links = append(links, network.HostEnd{Name: e.Name, Index: e.Index, Net: e.Net})
		}
	}
	for _, n := range nets {
		if (n.Type == "macvlan" || n.Type == "ipvlan" || n.Type == "vlan") && n.Link != "" {
			links = append(links, network.HostEnd{Name: n.Link, Net: n.Index})
		}
	}
	slices.SortStableFunc(links, func(a, b network.HostEnd) int { return a.Net - b.Net })
	return links, recorded || !slices.ContainsFunc(nets, func(n config.Net) bool { return n.Type == "veth" })
}

// readSmallFile reads a file of a few hundred bytes (a monitor's record)
// with plain system calls (sysfile).
func readSmallFile(path string) ([]byte, error) { return sysfile.Read(path, 0) }

// later is the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
