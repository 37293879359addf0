package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/lxc"
)

type startCmd struct {
	common
	foreground      bool
	defines         []string
	pidfile, conlog string
	console         string
	closeFDs        bool
	share           map[string]*string
}

func newStart() *cobra.Command {
	s := &startCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME [-d|-F] [-f CONFIG] [-s KEY=VAL]... [-- COMMAND]",
		Short: "start a container",
		Long:  "Start container NAME, by default in the background (-d): the tool returns once it is RUNNING, or prints why it could not start. With -F the container's console is this terminal. A COMMAND after -- replaces the container's init. A config without lxc.rootfs.path (the host's root filesystem) starts only with a COMMAND, never an init, which would be the host's own.",
		Args:  cobra.ArbitraryArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return s.run(cmd, args) },
	}
	cmd.Flags().SetInterspersed(false)
	s.register(cmd, true)
	s.registerRCFile(cmd, "f")
	f := cmd.Flags()
	// The last of -d and -F wins, as with LXC's getopt.
	f.VarP(&lastOf{target: &s.foreground, value: false}, "daemon", "d", "run in the background (the default)")
	f.VarP(&lastOf{target: &s.foreground, value: true}, "foreground", "F", "run in the foreground, the console on this terminal")
	for _, n := range []string{"daemon", "foreground"} {
		f.Lookup(n).NoOptDefVal = "true"
	}
	f.StringArrayVarP(&s.defines, "define", "s", nil, "set config KEY=VAL (repeatable)")
	f.StringVarP(&s.pidfile, "pidfile", "p", "", "write the monitor's pid to FILE")
	f.StringVarP(&s.conlog, "console-log", "L", "", "log the console's output to FILE")
	f.StringVarP(&s.console, "console", "c", "", "use DEVICE as the console (not supported yet)")
	f.BoolVarP(&s.closeFDs, "close-all-fds", "C", false, "close inherited descriptors (golxc always does)")
	// lxc-start(1): --share-KIND NAME|PID joins the KIND namespace of a
	// running container (of this lxcpath, or a path lxcpath/name) or of
	// a process, as lxc.namespace.share.KIND does.
	s.share = map[string]*string{}
	for _, k := range []string{"net", "ipc", "uts", "pid"} {
		s.share[k] = f.String("share-"+k, "", "join the "+k+" namespace of container NAME (or of process PID)")
	}
	return cmd
}

func (s *startCmd) run(cmd *cobra.Command, args []string) error {
	if s.console != "" {
		return s.fail(errors.New("--console is not supported yet"))
	}
	share := map[string]string{}
	for k, v := range s.share {
		if *v != "" {
			share[k] = *v
		}
	}
	command, args, err := s.nameAndCommand(cmd, args)
	if err != nil {
		return err
	}
	ct, err := s.container(args)
	if err != nil {
		return err
	}
	cfg, err := ct.LoadConfig(s.rcfile, s.defines)
	if err != nil {
		return s.fail(err)
	}
	warn("lxc-start", s.quiet, append(append(cfg.Warnings, lxc.StartWarnings(cfg)...), lxc.HostRootWarnings(cfg, command)...))
	code, err := ct.Start(cfg, lxc.StartOptions{
		Foreground: s.foreground,
		RCFile:     s.rcfile,
		Command:    command,
		PidFile:    s.pidfile,
		ConsoleLog: s.conlog,
		LogFile:    s.logfile,
		LogLevel:   s.logLevel(cmd),
		Share:      share,
	})
	var running *lxc.ErrAlreadyRunning
	if errors.As(err, &running) {
		// LXC exits 0 here, and scripts rely on it.
		if !s.quiet {
			fmt.Fprintf(os.Stderr, "lxc-start: %v\n", err)
		}
		return nil
	}
	if err != nil {
		return s.fail(err)
	}
	if code != 0 {
		return s.failCode(code, nil)
	}
	return nil
}
