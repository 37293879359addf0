package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"golxc/internal/lxc"
)

type createCmd struct {
	common
	template, config, bdev string
	dir                    string
	bdevOptions            []string
}

func newCreate() *cobra.Command {
	c := &createCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME -t TEMPLATE [-f CONFIG] [-- TEMPLATE-OPTIONS]",
		Short: "create a container",
		Long:  "Create container NAME: its config (the default config, or -f CONFIG instead) and, with -t, a rootfs built by the template (busybox; oci, built in: -- --url oci:DIR[:TAG] | oci-archive:FILE[:TAG] | docker-archive:FILE imports a local image; or an absolute path to a script taking --path --name --rootfs). -t none builds nothing: the config (-f CONFIG or the default one) must name an existing rootfs in lxc.rootfs.path. A template is required. A failed create leaves nothing behind.",
		Args:  cobra.ArbitraryArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	c.register(cmd, true)
	f := cmd.Flags()
	f.StringVarP(&c.template, "template", "t", "", "template: a name (busybox, oci), an absolute path, or none")
	f.StringVarP(&c.config, "config", "f", "", "start from this config instead of the default one")
	f.StringVarP(&c.bdev, "bdev", "B", "dir", "backing store (only dir)")
	f.StringVar(&c.dir, "dir", "", "place the rootfs directory under DIR (not supported yet)")
	// The options of the backing stores that are not built: accepted, as
	// LXC ignores those of a store not chosen, and moot with -B dir.
	for _, o := range []string{"lvname", "vgname", "thinpool", "rbdname", "rbdpool", "zfsroot", "fstype", "fssize"} {
		f.StringArrayVar(&c.bdevOptions, o, nil, "for -B lvm, rbd, zfs or loop (not built)")
	}
	return cmd
}

func (c *createCmd) run(cmd *cobra.Command, args []string) error {
	var targs []string
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		targs = args[dash:]
		args = args[:dash]
	}
	if c.bdev != "dir" {
		return c.fail(fmt.Errorf("backing store %q is not supported yet (only dir)", c.bdev))
	}
	if c.dir != "" {
		return c.fail(fmt.Errorf("--dir is not supported yet: the rootfs is LXCPATH/NAME/rootfs"))
	}
	ct, err := c.container(args)
	if err != nil {
		return err
	}
	return c.fail(ct.Create(lxc.CreateOptions{
		Template:     c.template,
		TemplateArgs: targs,
		ConfigFile:   c.config,
		TemplateDirs: templateDirs(),
		Warn:         func(w string) { warn("lxc-create", c.quiet, []string{w}) },
	}))
}
