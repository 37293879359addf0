package cli

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/lxc"
)

type waitCmd struct {
	common
	states  string
	timeout int
}

func newWait() *cobra.Command {
	w := &waitCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME -s STATES [-t TIMEOUT]",
		Short: "wait for a container to reach a state",
		Long: "Wait until container NAME is in one of STATES, ORed with '|' (" + strings.Join(lxc.States, ", ") + "): " +
			"its monitor tells each change as it happens. Exit 0 once there, 1 after TIMEOUT seconds (default -1: wait for ever). " +
			"A container that is not running is STOPPED, and one that starts later is followed from its first state.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return w.run(args) },
	}
	w.register(cmd, true)
	w.registerRCFile(cmd, "")
	f := cmd.Flags()
	f.StringVarP(&w.states, "state", "s", "", "ORed states to wait for")
	f.IntVarP(&w.timeout, "timeout", "t", -1, "seconds to wait for the state (-1: for ever)")
	return cmd
}

func (w *waitCmd) run(args []string) error {
	if w.states == "" {
		return w.fail(errors.New("missing state"))
	}
	var states []string
	for _, s := range strings.Split(w.states, "|") {
		s = strings.TrimSpace(s)
		if !slices.Contains(lxc.States, s) {
			return w.fail(fmt.Errorf("invalid state '%s'", s))
		}
		states = append(states, s)
	}
	ct, err := w.container(args)
	if err != nil {
		return err
	}
	timeout := time.Duration(w.timeout) * time.Second
	if w.timeout < 0 {
		timeout = -1
	}
	_, err = ct.WaitState(states, timeout)
	if errors.Is(err, lxc.ErrWaitTimeout) {
		// LXC says nothing on a timeout: the exit code tells it.
		return w.failCode(1, nil)
	}
	return w.fail(err)
}
