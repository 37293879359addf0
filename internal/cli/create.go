package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/lxc"
	"github.com/golxc/golxc/internal/storage"
)

type createCmd struct {
	common
	template, config, bdev string
	dir, fstype, fssize    string
	bdevOptions            []string
}

func newCreate() *cobra.Command {
	c := &createCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME -t TEMPLATE [-f CONFIG] [-- TEMPLATE-OPTIONS]",
		Short: "create a container",
		Long:  "Create container NAME: its config (the default config, or -f CONFIG instead) and, with -t, a rootfs built by the template (oci, built in: -- --url oci:DIR[:TAG] | oci-archive:FILE[:TAG] | docker-archive:FILE imports a local image; a name: golxc's busybox or debian, else one of LXC's in /usr/share/lxc/templates; or an absolute path to a script taking --path= --name= --rootfs=). -t none builds nothing: the config (-f CONFIG or the default one) must name an existing rootfs in lxc.rootfs.path. A template is required. A failed create leaves nothing behind.",
		Args:  cobra.ArbitraryArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	c.register(cmd, true)
	f := cmd.Flags()
	f.StringVarP(&c.template, "template", "t", "", "template: oci (built in), a name (busybox, debian, or LXC's), an absolute path, or none")
	f.StringVarP(&c.config, "config", "f", "", "start from this config instead of the default one")
	f.StringVarP(&c.bdev, "bdev", "B", "dir", "backing store: dir, btrfs, loop or best")
	f.StringVar(&c.fstype, "fstype", "ext4", "-B loop: the image's filesystem (ext4, xfs, btrfs)")
	f.StringVar(&c.fssize, "fssize", "1G", "-B loop: the image's size")
	f.StringVar(&c.dir, "dir", "", "place the rootfs directory under DIR (not supported yet)")
	// The options of the backing stores that are not built: accepted, as
	// LXC ignores those of a store not chosen, and moot with -B dir.
	for _, o := range []string{"lvname", "vgname", "thinpool", "rbdname", "rbdpool", "zfsroot"} {
		f.StringArrayVar(&c.bdevOptions, o, nil, "for -B lvm, rbd or zfs (not built)")
	}
	return cmd
}

func (c *createCmd) run(cmd *cobra.Command, args []string) error {
	var targs []string
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		targs = args[dash:]
		args = args[:dash]
	}
	bdev := c.bdev
	if bdev == "none" {
		bdev = "dir" // lxc-create(1): an alias
	}
	if bdev == "best" {
		// LXC's best: the first of btrfs, zfs, lvm, dir that the lxcpath
		// can have; of those golxc builds btrfs and dir.
		bdev = "dir"
		if p, err := c.path(); err == nil && storage.OnBtrfs(p) {
			bdev = "btrfs"
		}
	}
	store, err := storage.ParseKind(bdev)
	if err != nil {
		return c.fail(err)
	}
	if store == storage.Overlay {
		// An overlay needs a lower layer: lxc-copy -s makes one.
		return c.fail(fmt.Errorf("-B overlay: lxc-create makes no overlay (it needs a lower container): create a dir container and lxc-copy -s it"))
	}
	size, err := storage.ParseSize(c.fssize)
	if err != nil {
		return c.fail(fmt.Errorf("--fssize: %w", err))
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
		Store:        store,
		FSType:       c.fstype,
		FSSize:       size,
		TemplateDirs: templateDirs(),
		Warn:         func(w string) { warn("lxc-create", c.quiet, []string{w}) },
	}))
}
