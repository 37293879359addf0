package lxc

import (
	"errors"
	"fmt"
	"time"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/monitor"
)

// freezeWait bounds lxc-freeze's wait for the kernel to stop every task.
const freezeWait = 10 * time.Second

// askRunning sends req to the running container's monitor; a container
// that is not running (or not golxc's) is an error that says so.
//
// It is also Recover for a tool that asks first (lxc-freeze, lxc-unfreeze:
// no record read when the monitor answers): a socket nobody answers on is
// re-adopted by ask, and a monitor that says STARTING may be one still
// adopting the container, which Recover waits for before the question is
// asked again.
func (c *Container) askRunning(req monitor.Request, deadline time.Time) (*monitor.Response, error) {
	r, err := c.ask(req, deadline)
	if err != nil && r != nil && r.State == monitor.Starting {
		c.Recover()
		r, err = c.ask(req, deadline)
	}
	if errors.Is(err, monitor.ErrNotRunning) {
		if err := c.mustBeDefined(); err != nil {
			return nil, err
		}
		if err := c.notRunByLXC(); err != nil {
			return nil, err
		}
		return nil, &ErrNotRunning{Name: c.Name}
	}
	if err != nil {
		if r != nil && r.State != "" && r.State != monitor.Running && r.State != monitor.Frozen {
			return nil, &ErrNotRunning{Name: c.Name}
		}
		return nil, c.monitorError(err)
	}
	return r, nil
}

// Freeze freezes the container through its monitor, which tells FREEZING
// and FROZEN to whoever watches; freezing a frozen container does nothing.
func (c *Container) Freeze() error {
	_, err := c.askRunning(monitor.Request{Command: "freeze", TimeoutMS: freezeWait.Milliseconds()}, time.Now().Add(freezeWait+askTimeout))
	return err
}

// Unfreeze thaws the container through its monitor (THAWED, then
// RUNNING); thawing a running container does nothing.
func (c *Container) Unfreeze() error {
	_, err := c.askRunning(monitor.Request{Command: "thaw"}, time.Now().Add(askTimeout))
	return err
}

// Group is the running container's cgroup, as its monitor reports it.
func (c *Container) Group() (*cgroup.Group, error) {
	r, err := c.askRunning(monitor.Request{Command: "state"}, time.Now().Add(askTimeout))
	if err != nil {
		return nil, err
	}
	if r.Cgroup == "" || r.Pid == 0 {
		return nil, &ErrNotRunning{Name: c.Name}
	}
	layout, err := hostLayout()
	if err != nil {
		return nil, err
	}
	return layout.Group(r.Cgroup), nil
}

// frozenError is a join refused because the container is frozen: its
// tasks would not run, and a join that waits on them would hang.
func (c *Container) frozenError(state string) error {
	return fmt.Errorf("%s is %s: unfreeze it first (lxc-unfreeze -n %s)", c.Name, state, c.Name)
}
