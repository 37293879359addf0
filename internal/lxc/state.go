package lxc

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/monitor"
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
	info := &Info{Name: c.Name, State: monitor.Stopped}
	r, err := c.ask(monitor.Request{Command: "state"}, time.Now().Add(askTimeout))
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
	case err != nil:
		return nil, c.monitorError(err)
	default:
		info.State, info.Pid, info.Cgroups, info.Cgroup = r.State, r.Pid, r.Cgroups, r.Cgroup
	}
	if withStats && info.Pid > 0 && info.Cgroup != "" {
		layout, err := hostLayout()
		if err != nil {
			return nil, err
		}
		g := layout.Group(info.Cgroup)
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
