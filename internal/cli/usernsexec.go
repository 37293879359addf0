package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/namespace"
)

type usernsexecCmd struct {
	maps []string
}

func newUsernsexec() *cobra.Command {
	u := &usernsexecCmd{}
	cmd := &cobra.Command{
		Use:   "[-m u|g|b:NSID:HOSTID:RANGE]... [-- COMMAND]",
		Short: "run a command as root in a new user namespace",
		Long: `Run COMMAND (default /bin/sh) as root (uid and gid 0) of a new user namespace whose maps are
the -m maps: u for user ids, g for group ids, b for both; NSID is the first id inside, HOSTID the
first on the host, RANGE how many. Without -m, the caller's first ranges of /etc/subuid and
/etc/subgid are mapped from 0. Id 0 must be mapped. The exit status is the command's (128+N when
signal N killed it).`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return u.run(args) },
	}
	cmd.Flags().SetInterspersed(false)
	cmd.Flags().StringArrayVarP(&u.maps, "map", "m", nil, "an id map u|g|b:NSID:HOSTID:RANGE (repeatable)")
	return cmd
}

func (u *usernsexecCmd) run(args []string) error {
	fail := func(err error) error { return &exitError{code: 1, err: err} }
	var maps namespace.IDMaps
	for _, m := range u.maps {
		if err := namespace.ParseMapFlag(m, &maps); err != nil {
			return fail(err)
		}
	}
	caller, err := currentCaller()
	if err != nil {
		return fail(err)
	}
	if len(u.maps) == 0 {
		if maps, err = namespace.DefaultMaps(caller); err != nil {
			return fail(err)
		}
	}
	if err := maps.Validate(); err != nil {
		return fail(err)
	}
	if os.Geteuid() != 0 {
		// The maps go through newuidmap and newgidmap, which write only
		// what /etc/subuid and /etc/subgid grant: say which line is
		// missing before anything is spawned.
		if err := namespace.Preflight(caller, maps); err != nil {
			return fail(err)
		}
	}
	if len(args) == 0 {
		args = []string{"/bin/sh"}
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return &exitError{code: 127, err: err}
	}
	c := exec.Command(path, args[1:]...)
	c.Args[0] = args[0]
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	user := os.Geteuid() != 0
	if !user {
		c.SysProcAttr = maps.SpawnAttr()
	}
	// The terminal's signals reach the command through its process
	// group; the others sent to this process are passed on.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT)
	defer signal.Stop(sigs)
	start := c.Start
	if user {
		start = func() error { return namespace.StartMapped(c, maps, nil) }
	}
	if err := start(); err != nil {
		return fail(fmt.Errorf("run %s in a new user namespace: %w", args[0], err))
	}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				if s != syscall.SIGINT && s != syscall.SIGQUIT {
					_ = c.Process.Signal(s)
				}
			case <-done:
				return
			}
		}
	}()
	err = c.Wait()
	close(done)
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		ws := ee.Sys().(syscall.WaitStatus)
		code := ws.ExitStatus()
		if ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
		return &exitError{code: code, quiet: true}
	}
	return fail(err)
}

// currentCaller is who runs the tool, and where the user's id ranges are.
func currentCaller() (namespace.Caller, error) { return namespace.CurrentCaller(), nil }
