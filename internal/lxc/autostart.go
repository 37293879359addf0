package lxc

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
)

// AutostartAction is what lxc-autostart does to the containers it selects.
type AutostartAction int

const (
	AutostartStart AutostartAction = iota
	AutostartReboot
	AutostartShutdown
	AutostartKill
)

// Reverse reports whether the action takes the containers down, which
// goes in the reverse of the start order (lxc-autostart(1): up in
// lxc.start.order, down the other way).
func (a AutostartAction) Reverse() bool { return a == AutostartShutdown || a == AutostartKill }

// AutostartEntry is one defined container as lxc-autostart sees it.
type AutostartEntry struct {
	Name   string
	Auto   bool     // lxc.start.auto
	Order  int      // lxc.start.order
	Delay  int      // lxc.start.delay, seconds
	Groups []string // lxc.group
	Config *config.Config
	// Pass is the group pass that selected it (SelectAutostart's).
	Pass int
}

// AutostartSelection says which containers lxc-autostart acts on.
type AutostartSelection struct {
	All        bool // -a: every group
	IgnoreAuto bool // -A: lxc.start.auto does not matter
	// Groups are -g's groups in the order given, "" for the NULL group
	// (no lxc.group at all). None given means the NULL group alone.
	Groups []string
}

// ParseAutostartGroups turns -g's values into the group passes: each value
// is a comma-separated list whose empty items (a leading, trailing or
// doubled comma, or an empty value) name the NULL group.
func ParseAutostartGroups(values []string) []string {
	var groups []string
	for _, v := range values {
		for g := range splitComma(v) {
			groups = append(groups, g)
		}
	}
	return groups
}

func splitComma(s string) func(func(string) bool) {
	return func(yield func(string) bool) {
		start := 0
		for i := 0; i <= len(s); i++ {
			if i == len(s) || s[i] == ',' {
				if !yield(s[start:i]) {
					return
				}
				start = i + 1
			}
		}
	}
}

// SelectAutostart returns the entries the selection names, in the order
// they are acted on: one pass per group in the order of -g (every entry in
// one pass with -a), each pass in lxc.start.order then name (both
// reversed for a shutdown or kill). An entry is taken by the first pass it
// matches. Unlike LXC 5.0.2, which drops every group named after the
// NULL group, the passes follow the man page's "-g dns,web,,onboot"
// example to the end.
func SelectAutostart(entries []AutostartEntry, sel AutostartSelection, action AutostartAction) []AutostartEntry {
	sorted := slices.Clone(entries)
	slices.SortStableFunc(sorted, func(a, b AutostartEntry) int {
		c := cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Name, b.Name))
		if action.Reverse() {
			return -c
		}
		return c
	})
	groups := sel.Groups
	if len(groups) == 0 {
		groups = []string{""}
	}
	if sel.All {
		groups = []string{"*"}
	}
	taken := make([]bool, len(sorted))
	var out []AutostartEntry
	for pass, g := range groups {
		for i, e := range sorted {
			if taken[i] || !e.Auto && !sel.IgnoreAuto {
				continue
			}
			if g != "*" && !inAutostartGroup(e.Groups, g) {
				continue
			}
			taken[i] = true
			e.Pass = pass
			out = append(out, e)
		}
	}
	return out
}

// inAutostartGroup reports whether a container with groups is in group g,
// "" being the NULL group of containers with no group.
func inAutostartGroup(groups []string, g string) bool {
	if g == "" {
		return len(groups) == 0
	}
	return slices.Contains(groups, g)
}

// AutostartBatches splits the selected entries into the steps taken one
// after the other: entries of one lxc.start.order level with no delay
// are one batch, acted on concurrently; an entry with a delay ends its
// batch (the delay is waited once the batch is done, before the next
// starts), and a new order level or group pass starts a new one; one that
// joins another container's namespaces is a batch of its own. Reboots
// follow the same steps; shutdowns and kills have no delays.
func AutostartBatches(sel []AutostartEntry, action AutostartAction) [][]AutostartEntry {
	var batches [][]AutostartEntry
	var cur []AutostartEntry
	flush := func() {
		if len(cur) > 0 {
			batches = append(batches, cur)
			cur = nil
		}
	}
	for _, e := range sel {
		// A container that joins another's namespaces
		// (lxc.namespace.share.*) starts alone, after those before it,
		// as LXC's one-at-a-time start would have it.
		alone := e.Config != nil && len(e.Config.Namespace.Share) > 0 && !action.Reverse()
		if len(cur) > 0 && (alone || cur[0].Order != e.Order || cur[0].Pass != e.Pass) {
			flush()
		}
		cur = append(cur, e)
		if alone || e.Delay > 0 && !action.Reverse() {
			flush()
		}
	}
	flush()
	return batches
}

// AutostartOptions say how lxc-autostart acts.
type AutostartOptions struct {
	Action AutostartAction
	// Timeout for a shutdown (then a kill) or a reboot; < 0: for ever.
	Timeout time.Duration
	// Parallel bounds the containers acted on at once within a batch.
	Parallel int
	LogFile  string
	LogLevel string
	// Sleep waits a container's lxc.start.delay (time.Sleep when nil;
	// tests and callers with a context pass their own).
	Sleep func(context.Context, time.Duration)
	// Done is called after each container, with its error (nil: done,
	// or nothing to do). Calls may come from several goroutines at once.
	Done func(e AutostartEntry, err error)
}

// Autostart acts on the selected entries batch by batch (see
// AutostartBatches). It returns the number of containers that failed.
func Autostart(ctx context.Context, lxcpath string, sel []AutostartEntry, o AutostartOptions) int {
	parallel := max(o.Parallel, 1)
	sleep := o.Sleep
	if sleep == nil {
		sleep = func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
		}
	}
	failed := 0
	var mu sync.Mutex
	// One look at the host's LXC sockets and monitors for the whole run,
	// as lxc-ls takes one: each start would otherwise read
	// /proc/net/unix and walk /proc again (5 ms a container with LXC's
	// containers of the same names running elsewhere).
	scan := ScanLXC()
	host := NewHostFacts()
	defer host.Close()
	for _, batch := range AutostartBatches(sel, o.Action) {
		if ctx.Err() != nil {
			break
		}
		sem := make(chan struct{}, parallel)
		var wg sync.WaitGroup
		var delay int
		for _, e := range batch {
			sem <- struct{}{}
			wg.Add(1)
			go func() {
				defer func() { <-sem; wg.Done() }()
				acted, err := autostartOne(lxcpath, e, o, scan, host)
				if o.Done != nil {
					o.Done(e, err)
				}
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failed++
				} else if acted && !o.Action.Reverse() {
					delay = max(delay, e.Delay)
				}
			}()
		}
		wg.Wait()
		if delay > 0 {
			sleep(ctx, time.Duration(delay)*time.Second)
		}
	}
	return failed
}

// autostartOne acts on one container; acted says it did something (a
// running container is not started again, a stopped one not stopped).
func autostartOne(lxcpath string, e AutostartEntry, o AutostartOptions, scan *LXCScan, host *HostFacts) (acted bool, err error) {
	c, err := New(lxcpath, e.Name)
	if err != nil {
		return false, err
	}
	c.UseLXCScan(scan)
	c.UseHostFacts(host)
	if c.Recover() {
		return false, nil // an ephemeral container its killed monitor left
	}
	switch o.Action {
	case AutostartStart:
		code, err := c.Start(e.Config, StartOptions{LogFile: o.LogFile, LogLevel: o.LogLevel})
		var running *ErrAlreadyRunning
		if errors.As(err, &running) {
			return false, nil
		}
		if err == nil && code != 0 {
			err = fmt.Errorf("exit status %d", code)
		}
		return err == nil, err
	default:
		so := StopOptions{Timeout: o.Timeout}
		switch o.Action {
		case AutostartKill:
			so = StopOptions{Kill: true}
		case AutostartReboot:
			so.Reboot = true
		}
		err := c.Stop(so)
		var stopped *ErrNotRunning
		if errors.As(err, &stopped) {
			return false, nil
		}
		return err == nil, err
	}
}

// Running reports whether the container has a live monitor that says it
// is not STOPPED.
func (c *Container) Running() bool {
	st, err := c.State()
	return err == nil && st != monitor.Stopped
}
