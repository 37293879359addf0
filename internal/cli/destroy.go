package cli

import (
	"errors"

	"github.com/spf13/cobra"
)

type destroyCmd struct {
	common
	force, snapshots bool
}

func newDestroy() *cobra.Command {
	d := &destroyCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME [-f]",
		Short: "destroy a container",
		Long:  "Remove container NAME: its config and rootfs. A running container is refused unless -f, which kills it first; one with snapshots unless -s, which destroys them too.",
		Args:  cobra.MaximumNArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return d.run(args) },
	}
	d.register(cmd, true)
	d.registerRCFile(cmd, "")
	cmd.Flags().BoolVarP(&d.force, "force", "f", false, "kill a running container first")
	cmd.Flags().BoolVarP(&d.snapshots, "snapshots", "s", false, "destroy its snapshots (lxc-snapshot) too")
	return cmd
}

func (d *destroyCmd) run(args []string) error {
	if d.rcfile != "" {
		// LXC would destroy what that file names, which need not be
		// the container's own rootfs.
		return d.fail(errors.New("--rcfile is not supported by lxc-destroy: it destroys LXCPATH/NAME as it is"))
	}
	ct, err := d.container(args)
	if err != nil {
		return err
	}
	if d.snapshots {
		return d.fail(ct.DestroyWithSnapshots(d.force))
	}
	return d.fail(ct.Destroy(d.force))
}
