package lxc

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
)

// ErrNotRunning is returned when a running container was expected.
type ErrNotRunning struct{ Name string }

func (e *ErrNotRunning) Error() string { return e.Name + " is not running" }

// StopOptions say how to stop a container.
type StopOptions struct {
	Kill    bool          // lxc-stop -k: SIGKILL now
	Reboot  bool          // lxc-stop -r
	NoWait  bool          // lxc-stop -W
	Timeout time.Duration // before a clean halt turns into a kill; < 0: wait for ever
	NoKill  bool          // lxc-stop --nokill: never kill; give up after Timeout
	RCFile  string
	Warn    func(string) // gets what the tool should print as a warning
}

// Stop halts the container with its lxc.signal.halt, killing it when it
// does not stop within the timeout; or reboots it.
func (c *Container) Stop(o StopOptions) error {
	conn, err := c.dial()
	if errors.Is(err, monitor.ErrNotRunning) {
		if err := c.mustBeDefined(); err != nil && o.RCFile == "" {
			return err
		}
		// Not golxc's to stop, and not stopped either (exit 2 would
		// tell a script it is).
		if err := c.notRunByLXC(); err != nil {
			return err
		}
		return &ErrNotRunning{Name: c.Name}
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	cfg := config.New()
	if !o.Kill && (o.RCFile != "" || c.Defined()) {
		// The signals come from the config (a kill needs none); a config
		// gone bad must not make a running container unstoppable, so
		// fall back to defaults.
		if loaded, err := c.LoadConfig(o.RCFile, nil); err == nil {
			cfg = loaded
		} else {
			if o.Warn != nil {
				o.Warn(fmt.Sprintf("%v: using the default signals", err))
			}
		}
	}
	// A config that sets no lxc.signal.halt (or sets it empty) lets the
	// monitor choose, as LXC does: SIGRTMIN+3 for an init that blocks it.
	_, setHalt := cfg.Written("lxc.signal.halt")
	req := monitor.Request{Command: "stop", Signal: int(cfg.HaltSignal), DetectHalt: !setHalt, TimeoutMS: o.Timeout.Milliseconds(), NoWait: o.NoWait}
	if o.Timeout < 0 || o.NoKill {
		req.TimeoutMS = -1
	}
	switch {
	case o.Reboot:
		req = monitor.Request{Command: "reboot", Signal: int(cfg.RebootSignal), TimeoutMS: o.Timeout.Milliseconds(), NoWait: o.NoWait}
	case o.Kill:
		req = monitor.Request{Command: "kill", NoWait: o.NoWait}
	}
	// A wedged monitor must not hang the tool for ever: whatever the
	// container does, a live monitor answers within the timeout (it kills
	// when that runs out) plus a grace.
	var deadline time.Time
	switch {
	case o.NoKill && o.Timeout >= 0:
		deadline = time.Now().Add(o.Timeout)
	case o.Timeout >= 0 || o.Kill:
		deadline = time.Now().Add(max(o.Timeout, 0) + 15*time.Second)
	}
	resp, err := conn.Call(req, deadline)
	if errors.Is(err, os.ErrDeadlineExceeded) {
		if o.NoKill {
			// The halt signal is sent and stays in force; only this
			// tool stops waiting.
			return fmt.Errorf("%s did not halt within %v (--nokill: not killed)", c.Name, o.Timeout)
		}
		return c.monitorError(err)
	}
	if err == nil && resp.State == monitor.Stopped {
		// STOPPED is said just before the monitor exits; a start right
		// after this stop must find it gone.
		conn.WaitClosed(10 * time.Second)
	}
	if err != nil && !o.Reboot && req.Command != "reboot" {
		// The monitor exits as soon as it has answered STOPPED; a hang-up
		// in between still means stopped.
		if st, serr := c.State(); serr == nil && st == monitor.Stopped {
			return nil
		}
		if err.Error() == c.Name+" is not running" {
			return &ErrNotRunning{Name: c.Name}
		}
	}
	return err
}
