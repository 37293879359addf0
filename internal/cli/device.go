package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/network"
)

type deviceCmd struct{ common }

func newDevice() *cobra.Command {
	d := &deviceCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME add|del DEVICE [NAME-INSIDE]",
		Short: "move a network interface, or add a device node, into or out of a running container",
		Long: "add moves the host's network interface DEVICE into running container NAME, named NAME-INSIDE there (else DEVICE), " +
			"up if it was up. del moves the container's DEVICE back to the host, named NAME-INSIDE there (else DEVICE). " +
			"An interface added stays in the container until del; when the container stops, the kernel gives a physical one back to the host and deletes a virtual one (a veth). " +
			"A DEVICE that is a path (/dev/X) is a device node: add makes it in the container at NAME-INSIDE (else the same path) and allows its major:minor in the container's devices cgroup; " +
			"del removes that node and denies the device again. On a container whose devices controller is cgroup2 that is not supported yet.",
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error { return d.run(args) },
	}
	d.register(cmd, true)
	return cmd
}

func (d *deviceCmd) run(args []string) error {
	action, dev, name := args[0], args[1], ""
	if len(args) == 3 {
		name = args[2]
	}
	switch {
	case action != "add" && action != "del":
		return d.fail(fmt.Errorf("%s: want add or del", action))
	case os.Geteuid() != 0:
		return d.fail(errors.New("moving network interfaces and device nodes is root's"))
	}
	ct, err := d.container(nil)
	if err != nil {
		return err
	}
	if strings.HasPrefix(dev, "/") {
		if err := ct.DeviceNode(action == "add", dev, name); err != nil {
			return d.fail(fmt.Errorf("%s %s: %w", action, dev, err))
		}
		return nil
	}
	info, err := ct.Info(false)
	if err != nil {
		return d.fail(err)
	}
	if info.Pid <= 0 || info.State != "RUNNING" || info.RunByLXC {
		return d.fail(fmt.Errorf("%s is not running", ct.Name))
	}
	// The namespace opened is the init's only if the monitor still
	// names that pid as its init afterwards.
	still := func() bool {
		again, err := ct.Info(false)
		return err == nil && again.Pid == info.Pid && again.State == "RUNNING"
	}
	if action == "add" {
		err = network.MoveIn(info.Pid, dev, name, still)
	} else {
		err = network.MoveOut(info.Pid, dev, name, still)
	}
	if err != nil {
		return d.fail(fmt.Errorf("%s %s: %w", action, dev, err))
	}
	return nil
}
