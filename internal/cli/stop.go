package cli

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"golxc/internal/lxc"
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
		Long:  "Stop container NAME cleanly with its lxc.signal.halt, killing it if it has not stopped after TIMEOUT seconds (default 60, -1 waits for ever). Exits 2 when the container is not running.",
		Args:  cobra.MaximumNArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return s.run(args) },
	}
	s.register(cmd, true)
	s.registerRCFile(cmd, "")
	f := cmd.Flags()
	f.BoolVarP(&s.kill, "kill", "k", false, "kill the container now")
	f.BoolVarP(&s.reboot, "reboot", "r", false, "reboot the container")
	f.BoolVarP(&s.nowait, "nowait", "W", false, "do not wait for the container to stop")
	f.IntVarP(&s.timeout, "timeout", "t", 60, "seconds to wait before killing (-1: for ever)")
	f.BoolVar(&s.nokill, "nokill", false, "never kill: only ask for a clean halt, and stop waiting after -t")
	f.BoolVar(&s.nolock, "nolock", false, "accepted for compatibility")
	return cmd
}

func (s *stopCmd) run(args []string) error {
	ct, err := s.container(args)
	if err != nil {
		return err
	}
	timeout := time.Duration(s.timeout) * time.Second
	if s.timeout < 0 {
		timeout = -1
	}
	err = ct.Stop(lxc.StopOptions{Kill: s.kill, Reboot: s.reboot, NoWait: s.nowait, Timeout: timeout, NoKill: s.nokill, RCFile: s.rcfile,
		Warn: func(w string) { warn("lxc-stop", s.quiet, []string{w}) }})
	var nr *lxc.ErrNotRunning
	if errors.As(err, &nr) {
		return s.failCode(2, err)
	}
	return s.fail(err)
}
