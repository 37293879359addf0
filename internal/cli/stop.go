package cli

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/lxc"
)

type stopCmd struct {
	common
	kill, reboot, nowait, nokill, nolock bool
	timeout                              int
}

func newStop() *cobra.Command {
	s := &stopCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME [-k|-r|-W] [-t TIMEOUT]",
		Short: "stop a container",
		Long:  "Stop container NAME cleanly with its lxc.signal.halt, killing it if it has not stopped after TIMEOUT seconds (default 60, -1 waits for ever). Exits 2 when the container is not running or does not exist. -k takes neither --nokill, -r nor a timeout, as in LXC.",
		Args:  cobra.MaximumNArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return s.run(cmd, args) },
	}
	s.register(cmd, true)
	s.registerRCFile(cmd, "")
	f := cmd.Flags()
	f.BoolVarP(&s.kill, "kill", "k", false, "kill the container now")
	f.BoolVarP(&s.reboot, "reboot", "r", false, "reboot the container")
	f.BoolVarP(&s.nowait, "nowait", "W", false, "do not wait for the container to stop")
	f.IntVarP(&s.timeout, "timeout", "t", 60, "seconds to wait before killing (-1: for ever)")
	f.BoolVar(&s.nokill, "nokill", false, "never kill: only ask for a clean halt, and stop waiting after -t")
	f.BoolVar(&s.nolock, "nolock", false, "with -k: accepted for compatibility (golxc takes no API lock to skip)")
	return cmd
}

func (s *stopCmd) run(cmd *cobra.Command, args []string) error {
	// LXC's defaults: no timeout for -k, 0 for -W, else 60 s; then its
	// checks, in its order and words (lxc-stop(1)).
	timeout := s.timeout
	// -2 is LXC's "not given" (its getopt default), whatever the flags.
	given := cmd.Flags().Changed("timeout") && s.timeout != -2
	if !given {
		timeout = 60
	}
	if !given && s.kill {
		timeout = 0
	}
	if s.nowait {
		timeout = 0
	}
	switch {
	case !s.kill && timeout < -1:
		return s.fail(errors.New("Invalid timeout"))
	case s.kill && s.nokill:
		return s.fail(errors.New("-k can't be used with --nokill"))
	case s.kill && s.reboot:
		return s.fail(errors.New("-k can't be used with -r"))
	case s.kill && timeout != 0:
		return s.fail(errors.New("-k doesn't allow timeouts"))
	case s.nolock && !s.kill:
		return s.fail(errors.New("--nolock may only be used with -k"))
	}
	ct, err := s.container(args)
	if err != nil {
		return err
	}
	wait := time.Duration(s.timeout) * time.Second
	if s.timeout < 0 {
		wait = -1
	}
	err = ct.Stop(lxc.StopOptions{Kill: s.kill, Reboot: s.reboot, NoWait: s.nowait, Timeout: wait, NoKill: s.nokill, RCFile: s.rcfile,
		Warn: func(w string) { warn("lxc-stop", s.quiet, []string{w}) }})
	var nr *lxc.ErrNotRunning
	var nd *lxc.ErrNotDefined
	if errors.As(err, &nr) || errors.As(err, &nd) {
		// LXC exits 2 for a container that is not running, and for
		// one that does not exist: to lxc-stop it is not running.
		return s.failCode(2, err)
	}
	return s.fail(err)
}
