package cli

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/lxc"
)

// autostartParallel bounds the containers of one batch (one
// lxc.start.order level, no delay) started or stopped at once. Each
// start forks a monitor and waits for the container's init; more than a
// few per core only queue on the CPUs (see README, autostart figures).
const autostartParallel = 8

type autostartCmd struct {
	common
	kill, list, reboot, shutdown bool
	all, ignoreAuto              bool
	groups                       []string
	timeout                      int
}

func newAutostart() *cobra.Command {
	a := &autostartCmd{}
	cmd := &cobra.Command{
		Use:   "[-k|-s|-r] [-L] [-a] [-A] [-g GROUPS]... [-t TIMEOUT]",
		Short: "start, stop, kill or reboot the containers marked for autostart",
		Long: "Start the containers of the lxcpath with lxc.start.auto = 1 and no lxc.group, in lxc.start.order " +
			"(lower first, then by name), waiting each one's lxc.start.delay before the next; containers of one order " +
			"with no delay start together. -g picks the groups instead, one pass per group in the order given (an empty " +
			"item is the group of containers with none: -g onboot, starts onboot then those), -a every group, -A " +
			"ignores lxc.start.auto. -s shuts them down (killing after TIMEOUT seconds, default 60), -k kills them, " +
			"-r reboots them; shutdowns and kills go in the reverse order. -L prints what would be done: NAME and its " +
			"delay, or NAME alone for -s and -k. Exits 2 when a container fails.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.run(cmd) },
	}
	a.register(cmd, false)
	f := cmd.Flags()
	f.BoolVarP(&a.kill, "kill", "k", false, "kill the containers instead of starting them")
	f.BoolVarP(&a.list, "list", "L", false, "list the containers affected and their delays, do nothing")
	f.BoolVarP(&a.reboot, "reboot", "r", false, "reboot the containers instead of starting them")
	f.BoolVarP(&a.shutdown, "shutdown", "s", false, "shut the containers down instead of starting them")
	f.BoolVarP(&a.all, "all", "a", false, "every autostart container, whatever its groups")
	f.BoolVarP(&a.ignoreAuto, "ignore-auto", "A", false, "ignore lxc.start.auto (with -a: every container)")
	f.StringArrayVarP(&a.groups, "groups", "g", nil, "comma-separated groups, in order; an empty item is the containers with no group (repeatable)")
	f.IntVarP(&a.timeout, "timeout", "t", 60, "seconds a shutdown or reboot may take before the container is killed (-1: for ever)")
	return cmd
}

func (a *autostartCmd) action() lxc.AutostartAction {
	// LXC's precedence when several are given: -s, then -k, then -r.
	switch {
	case a.shutdown:
		return lxc.AutostartShutdown
	case a.kill:
		return lxc.AutostartKill
	case a.reboot:
		return lxc.AutostartReboot
	}
	return lxc.AutostartStart
}

func (a *autostartCmd) run(cmd *cobra.Command) error {
	if a.timeout < -1 {
		return a.fail(fmt.Errorf("invalid timeout %d: want seconds, or -1 for ever", a.timeout))
	}
	lxcpath, err := a.path()
	if err != nil {
		return err
	}
	if a.all && len(a.groups) > 0 {
		warn("lxc-autostart", a.quiet, []string{"-a selects every group: -g is ignored"})
	}
	action := a.action()
	entries, loadFailed := a.load(lxcpath)
	sel := lxc.SelectAutostart(entries, lxc.AutostartSelection{
		All: a.all, IgnoreAuto: a.ignoreAuto, Groups: lxc.ParseAutostartGroups(a.groups),
	}, action)
	if a.list {
		a.printList(lxcpath, sel, action)
		if loadFailed {
			return a.failCode(2, nil)
		}
		return nil
	}
	level := a.logLevel(cmd)
	var mu sync.Mutex
	timeout := time.Duration(a.timeout) * time.Second
	failed := lxc.Autostart(context.Background(), lxcpath, sel, lxc.AutostartOptions{
		Action:   action,
		Timeout:  timeout,
		Parallel: autostartParallel,
		LogFile:  a.logfile,
		LogLevel: level,
		Done: func(e lxc.AutostartEntry, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err == nil {
				return
			}
			if !a.quiet {
				fmt.Fprintf(os.Stderr, "lxc-autostart: %s %s: %v\n", verb(action), e.Name, err)
			}
		},
	})
	if failed > 0 || loadFailed {
		// LXC 5.0.2 exits 2 when a container fails.
		return a.failCode(2, nil)
	}
	return nil
}

func verb(a lxc.AutostartAction) string {
	switch a {
	case lxc.AutostartShutdown:
		return "shutting down"
	case lxc.AutostartKill:
		return "killing"
	case lxc.AutostartReboot:
		return "rebooting"
	}
	return "starting"
}

// load reads the config of every container of lxcpath. One that does not
// load is named on stderr and left out (failed says so).
func (a *autostartCmd) load(lxcpath string) (entries []lxc.AutostartEntry, failed bool) {
	names, err := lxc.List(lxcpath)
	if err != nil {
		warn("lxc-autostart", a.quiet, []string{err.Error()})
		return nil, true
	}
	out := make([]lxc.AutostartEntry, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	slots := make(chan struct{}, lsParallel)
	for i, n := range names {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			ct, err := lxc.New(lxcpath, n)
			if err != nil {
				errs[i] = err
				return
			}
			cfg, err := ct.LoadConfig("", nil)
			if err != nil {
				errs[i] = err
				return
			}
			out[i] = lxc.AutostartEntry{Name: n, Auto: cfg.Start.Auto, Order: cfg.Start.Order, Delay: cfg.Start.Delay, Groups: cfg.Groups, Config: cfg}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			warn("lxc-autostart", a.quiet, []string{fmt.Sprintf("%s left out: %v", names[i], err)})
			failed = true
			continue
		}
		entries = append(entries, out[i])
	}
	return entries, failed
}

// printList is -L: what the action would touch, as LXC prints it. A start
// lists the stopped containers with their delay; a reboot the running
// ones with their delay; a shutdown or kill the running ones, name alone.
func (a *autostartCmd) printList(lxcpath string, sel []lxc.AutostartEntry, action lxc.AutostartAction) {
	running := make([]bool, len(sel))
	var wg sync.WaitGroup
	slots := make(chan struct{}, lsParallel)
	for i, e := range sel {
		wg.Add(1)
		slots <- struct{}{}
		go func() {
			defer func() { <-slots; wg.Done() }()
			if ct, err := lxc.New(lxcpath, e.Name); err == nil {
				running[i] = ct.Running()
			}
		}()
	}
	wg.Wait()
	for i, e := range sel {
		if running[i] == (action == lxc.AutostartStart) {
			continue
		}
		if action.Reverse() {
			fmt.Println(e.Name)
		} else {
			fmt.Printf("%s %d\n", e.Name, e.Delay)
		}
	}
}
