package cli

import (
	"github.com/spf13/cobra"
)

// freezeCmd is lxc-freeze and lxc-unfreeze: the same options, the one
// call differs.
type freezeCmd struct {
	common
	thaw bool
}

func newFreeze() *cobra.Command   { return newFreezer(false) }
func newUnfreeze() *cobra.Command { return newFreezer(true) }

func newFreezer(thaw bool) *cobra.Command {
	f := &freezeCmd{thaw: thaw}
	cmd := &cobra.Command{
		Use:   "-n NAME",
		Short: "freeze a container's processes",
		Long: "Freeze every process of running container NAME (cgroup2's cgroup.freeze, else the v1 freezer); its monitor " +
			"tells FREEZING then FROZEN. Freezing a frozen container does nothing. Exit 1 when it is not running.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return f.run(args) },
	}
	if thaw {
		cmd.Short = "thaw a frozen container"
		cmd.Long = "Thaw container NAME frozen by lxc-freeze; its monitor tells THAWED then RUNNING. Thawing a running " +
			"container does nothing. Exit 1 when it is not running."
	}
	f.register(cmd, true)
	f.registerRCFile(cmd, "")
	return cmd
}

func (f *freezeCmd) run(args []string) error {
	// Recovered by the question itself (askRunning): the record is read
	// only when the monitor does not answer.
	ct, err := f.lookup(args)
	if err != nil {
		return err
	}
	if f.thaw {
		err = ct.Unfreeze()
	} else {
		err = ct.Freeze()
	}
	return f.fail(err)
}
