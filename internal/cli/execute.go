package cli

import (
	"errors"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/lxc"
)

type executeCmd struct {
	common
	defines  []string
	daemon   bool
	uid, gid int
}

func newExecute() *cobra.Command {
	e := &executeCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME [-f CONFIG] [-s KEY=VAL]... [-- COMMAND]",
		Short: "run an application container",
		Long:  "Run COMMAND (by default the config's lxc.execute.cmd) as an application container NAME: its PID 1 is golxc's own small init, which reaps zombies, forwards signals and exits with the command's status. stdin, stdout and stderr pass through, but a terminal never enters the container: the command gets a pty of its own in their place, as its controlling terminal, which this terminal drives. Without lxc.rootfs.path the container shares the host's root filesystem.",
		Args:  cobra.ArbitraryArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return e.run(cmd, args) },
	}
	cmd.Flags().SetInterspersed(false)
	e.register(cmd, true)
	e.registerRCFile(cmd, "f")
	cmd.Flags().StringArrayVarP(&e.defines, "define", "s", nil, "set config KEY=VAL (repeatable)")
	cmd.Flags().IntVarP(&e.uid, "uid", "u", -1, "run COMMAND as UID (lxc.init.uid)")
	cmd.Flags().IntVarP(&e.gid, "gid", "g", -1, "run COMMAND as GID (lxc.init.gid)")
	cmd.Flags().BoolVarP(&e.daemon, "daemon", "d", false, "run in the background: return once RUNNING; the command's stdio is the container's /dev/null")
	return cmd
}

func (e *executeCmd) run(cmd *cobra.Command, args []string) error {
	command, args, err := e.nameAndCommand(cmd, args)
	if err != nil {
		return err
	}
	ct, err := e.container(args)
	if err != nil {
		return err
	}
	defines := e.defines
	if e.uid >= 0 {
		defines = append(defines, "lxc.init.uid="+strconv.Itoa(e.uid))
	}
	if e.gid >= 0 {
		defines = append(defines, "lxc.init.gid="+strconv.Itoa(e.gid))
	}
	cfg, err := ct.LoadConfig(e.rcfile, defines)
	if err != nil {
		return e.fail(err)
	}
	if len(command) == 0 {
		// As LXC's: the config's lxc.execute.cmd (an OCI image's
		// entrypoint and command, from the oci template) by default.
		command = cfg.ExecuteCmd
	}
	if len(command) == 0 {
		return e.fail(errors.New("no command given (lxc-execute -n NAME -- COMMAND) and no lxc.execute.cmd in the config"))
	}
	warn("lxc-execute", e.quiet, append(append(cfg.Warnings, lxc.StartWarnings(cfg)...), lxc.HostRootWarnings(cfg, command)...))
	code, err := ct.Start(cfg, lxc.StartOptions{Execute: true, Daemon: e.daemon, RCFile: e.rcfile, Command: command, LogFile: e.logfile, LogLevel: e.logLevel(cmd)})
	if err != nil {
		return e.fail(err)
	}
	if code != 0 {
		return e.failCode(code, nil)
	}
	return nil
}
