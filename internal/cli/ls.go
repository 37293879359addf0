package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/lxc"
	"github.com/golxc/golxc/internal/network"
)

type lsCmd struct {
	common
	one, fancy                                bool
	columns                                   string
	running, stopped, active, frozen, defined bool
	groups                                    string
	filter                                    string
	nesting                                   string
	format                                    string
}

// lsColumns are the columns lxc-ls -F knows, in LXC's names.
var lsColumns = [...]string{"NAME", "STATE", "PID", "RAM", "SWAP", "AUTOSTART", "GROUPS", "INTERFACE", "IPV4", "IPV6", "UNPRIVILEGED"}

const lsDefaultColumns = "NAME,STATE,AUTOSTART,GROUPS,IPV4,IPV6,UNPRIVILEGED"

func newLs() *cobra.Command {
	l := &lsCmd{}
	cmd := &cobra.Command{
		Use:   "[-1] [-f [-F COLUMNS]] [--running|--stopped|--active|--frozen|--defined] [-g GROUPS]... [--nesting[=NUM]] [--filter=REGEX | REGEX]",
		Short: "list containers",
		Long: "List the containers of the lxcpath whose names match REGEX: names in columns on a terminal, one per line " +
			"otherwise or with -1, or a table with -f (columns of -F: " + lsDefaultColumns + ", PID, RAM, SWAP, INTERFACE). " +
			"-g lists the containers in every group of a comma-separated list. --format json for scripts.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return l.run(cmd, args) },
	}
	l.register(cmd, false)
	f := cmd.Flags()
	f.BoolVarP(&l.one, "line", "1", false, "one name per line")
	f.BoolVarP(&l.fancy, "fancy", "f", false, "a table")
	f.StringVarP(&l.columns, "fancy-format", "F", "", "the table's columns (with -f), comma separated")
	f.BoolVar(&l.running, "running", false, "only running containers")
	f.BoolVar(&l.stopped, "stopped", false, "only stopped containers")
	f.BoolVar(&l.active, "active", false, "only active (running or frozen) containers")
	f.BoolVar(&l.frozen, "frozen", false, "only frozen containers")
	f.BoolVar(&l.defined, "defined", false, "only defined containers (all of them)")
	// Repeated, the last -g counts: LXC 5.0 keeps only that one.
	f.StringVarP(&l.groups, "groups", "g", "", "only containers in all of these comma-separated groups")
	f.StringVar(&l.filter, "filter", "", "only names matching this regular expression (wins over a REGEX argument)")
	f.StringVar(&l.nesting, "nesting", "", "list nested containers up to NUM levels (not built yet: the top level only)")
	f.Lookup("nesting").NoOptDefVal = "5"
	f.StringVar(&l.format, "format", "table", "output format: table or json")
	return cmd
}

type lsRow struct {
	Name         string   `json:"name"`
	State        string   `json:"state"`
	Pid          int      `json:"pid,omitempty"`
	RAMBytes     uint64   `json:"ram_bytes,omitempty"`
	SwapBytes    uint64   `json:"-"`
	Interfaces   []string `json:"-"`
	Autostart    bool     `json:"autostart"`
	Groups       []string `json:"groups"`
	IPv4         []string `json:"ipv4"`
	IPv6         []string `json:"ipv6"`
	Unprivileged bool     `json:"unprivileged"`
	RunBy        string   `json:"run_by,omitempty"` // "lxc": LXC's own tools run it

	loadErr error // the config did not load: LXC leaves the container out
	gone    bool  // not listed: recovered away (ephemeral), or not matching the filter
}

// lsParallel bounds the containers lxc-ls looks at concurrently.
const lsParallel = 64

// say prints a diagnostic on stderr unless -q.
func (l *lsCmd) say(format string, a ...any) {
	if !l.quiet {
		fmt.Fprintf(os.Stderr, format+"\n", a...)
	}
}

func (l *lsCmd) run(cmd *cobra.Command, args []string) error {
	if l.format != "table" && l.format != "json" {
		return l.fail(fmt.Errorf("unknown format %q (table or json)", l.format))
	}
	// -F shapes -f's table and is ignored without it, as in LXC. An
	// unknown column is reported and lists nothing, with exit 0 (LXC's).
	cols := strings.Split(lsDefaultColumns, ",")
	if l.fancy && cmd.Flags().Changed("fancy-format") {
		cols = nil
		for _, c := range strings.Split(l.columns, ",") {
			if c == "" {
				continue
			}
			if !slices.Contains(lsColumns[:], strings.ToUpper(c)) {
				l.say("Invalid key: %s", c)
				return nil
			}
			cols = append(cols, strings.ToUpper(c))
		}
	}
	if n, _ := strconv.Atoi(strings.TrimLeftFunc(l.nesting, func(r rune) bool { return r == ' ' })); n > 0 {
		l.say("lxc-ls: --nesting: nested containers are not built yet; listing the top level only")
	}
	pattern := l.filter
	if pattern == "" && len(args) == 1 {
		pattern = args[0]
	}
	var re *regexp.Regexp
	if pattern != "" {
		var err error
		if re, err = regexp.Compile(pattern); err != nil {
			// LXC lists nothing for a filter that does not compile and
			// exits 0; say why.
			l.say("lxc-ls: invalid filter %q, nothing matches: %v", pattern, err)
			return nil
		}
	}
	lxcpath, err := l.path()
	if err != nil {
		return err
	}
	names, err := lxc.List(lxcpath)
	if err != nil {
		return l.fail(err)
	}
	needState := l.fancy || l.running || l.stopped || l.active || l.frozen || l.format == "json"
	needStats := l.fancy && (slices.Contains(cols, "RAM") || slices.Contains(cols, "SWAP"))
	rows := make([]lsRow, len(names))
	lxcScan := lxcScanFor(needState)
	var wg sync.WaitGroup
	// A bounded number at once: each asks a monitor over a socket, and a
	// host may hold thousands of containers. Each reads its monitor's
	// record too (Recover) in its own worker: done one after another
	// before the workers, that was a tenth of lxc-ls -f's time at 1000.
	slots := make(chan struct{}, lsParallel)
	for i, n := range names {
		rows[i] = lsRow{Name: n, State: "STOPPED", Groups: []string{}, IPv4: []string{}, IPv6: []string{}}
		wg.Add(1)
		slots <- struct{}{}
		go func(r *lsRow) {
			defer wg.Done()
			defer func() { <-slots }()
			ct, err := lxc.New(lxcpath, r.Name)
			if err == nil {
				ct.UseLXCScan(lxcScan)
				// Every container of the store, listed or not: an
				// ephemeral one its killed monitor left goes.
				r.gone = ct.Recover()
			}
			if r.gone = r.gone || re != nil && !re.MatchString(r.Name); r.gone {
				return
			}
			if err != nil {
				r.loadErr = err
				return
			}
			// The config is read for every container, as LXC does: one
			// that does not load is left out, with a message.
			cfg, err := ct.LoadConfig("", nil)
			if err != nil {
				r.loadErr = err
				return
			}
			r.Autostart = cfg.Start.Auto
			if len(cfg.Groups) > 0 {
				r.Groups = cfg.Groups
			}
			r.Unprivileged = len(cfg.IDMap) > 0
			if !needState {
				return
			}
			info, err := ct.Info(needStats)
			if err != nil {
				// A monitor that does not answer: the container is not
				// known to be stopped.
				r.State = "UNKNOWN"
				return
			}
			r.State, r.Pid, r.RunBy = info.State, info.Pid, runBy(info)
			if st := info.Stats; st != nil {
				r.RAMBytes, r.SwapBytes = st.MemoryBytes, st.SwapBytes
			}
			if l.fancy && r.Pid > 0 && slices.Contains(cols, "INTERFACE") {
				r.Interfaces = netInterfaces(r.Pid)
			}
			if r.Pid > 0 && (l.format == "json" || l.fancy && (slices.Contains(cols, "IPV4") || slices.Contains(cols, "IPV6"))) {
				// Those of global scope, outside loopback, as LXC lists
				// them; a container gone meanwhile has none.
				if v4, v6, err := network.Addresses(r.Pid); err == nil {
					r.IPv4, r.IPv6 = append(r.IPv4, v4...), append(r.IPv6, v6...)
				}
			}
		}(&rows[i])
	}
	wg.Wait()
	var out []lsRow
	for _, r := range rows {
		if r.gone {
			continue
		}
		if r.loadErr != nil {
			l.say("lxc-ls: Failed to load config for %s: %v", r.Name, r.loadErr)
			continue
		}
		active := r.State != "STOPPED"
		switch {
		case cmd.Flags().Changed("groups") && !inGroups(r.Groups, l.groups),
			l.running && r.State != "RUNNING",
			l.stopped && active,
			l.active && !active,
			l.frozen && r.State != "FROZEN":
			continue
		}
		out = append(out, r)
	}
	switch {
	case l.format == "json":
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if out == nil {
			out = []lsRow{}
		}
		return l.fail(enc.Encode(out))
	case l.fancy:
		return l.fail(printTable(os.Stdout, cols, out))
	case l.one:
		for _, r := range out {
			fmt.Println(r.Name)
		}
	default:
		ns := make([]string, len(out))
		for i, r := range out {
			ns[i] = r.Name
		}
		return l.fail(printNames(os.Stdout, ns, termWidth(os.Stdout)))
	}
	return nil
}

// inGroups is -g's test, LXC's: a container in no group never matches;
// otherwise it must be in every group of the list. A value of lxc.group may
// itself name several groups, comma separated.
func inGroups(groups []string, list string) bool {
	if len(groups) == 0 {
		return false
	}
	var has []string
	for _, g := range groups {
		for _, part := range strings.Split(g, ",") {
			has = append(has, strings.TrimSpace(part))
		}
	}
	for _, g := range strings.Split(list, ",") {
		if g = strings.TrimSpace(g); g != "" && !slices.Contains(has, g) {
			return false
		}
	}
	return true
}

// termWidth is the width of the terminal f is, 0 when it is not one.
// (LXC's lxc-ls also asks stdin and stderr, so that "lxc-ls | wc -l" typed
// at a terminal counts rows of columns there; lxc-ls(1) documents stdout,
// which is what a pipe or a script needs.)
func termWidth(f *os.File) int {
	ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return 0
	}
	return int(ws.Col)
}

// printNames lays names out as LXC's lxc-ls does: each padded to the
// longest name (at least 4, "NAME"), in rows that fit width; with width 0
// (not a terminal) that is one padded name per line.
func printNames(w io.Writer, names []string, width int) error {
	if len(names) == 0 {
		return nil
	}
	nameLen := len("NAME")
	for _, n := range names {
		nameLen = max(nameLen, len(n))
	}
	var b strings.Builder
	used := 0
	for _, n := range names {
		b.WriteString(n + strings.Repeat(" ", nameLen-len(n)))
		used += nameLen
		if used+nameLen >= width {
			b.WriteByte('\n')
			used = 0
		} else {
			b.WriteByte(' ')
			used++
		}
	}
	if used > 0 {
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// printTable is lxc-ls -f's table, byte for byte: every cell padded to its
// column's widest (header included) and followed by one blank. An empty
// list prints nothing, not even the header.
func printTable(w io.Writer, cols []string, rows []lsRow) error {
	if len(rows) == 0 {
		return nil
	}
	cells := make([][]string, len(rows)+1)
	cells[0] = cols
	for i := range rows {
		for _, c := range cols {
			cells[i+1] = append(cells[i+1], rows[i].cell(c))
		}
	}
	widths := make([]int, len(cols))
	for j, c := range cols {
		// LXC pads the memory columns to fit "0.00MB", even when every
		// value is "-".
		if c == "RAM" || c == "SWAP" {
			widths[j] = len("0.00MB")
		}
	}
	for _, line := range cells {
		for j, c := range line {
			widths[j] = max(widths[j], len(c))
		}
	}
	var b strings.Builder
	for _, line := range cells {
		for j, c := range line {
			b.WriteString(c + strings.Repeat(" ", widths[j]-len(c)) + " ")
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// netInterfaces lists the interfaces of pid's network namespace, in the
// kernel's order, from /proc/PID/net/dev.
func netInterfaces(pid int) []string {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return nil
	}
	var names []string
	for _, line := range strings.Split(string(data), "\n") {
		if name, _, ok := strings.Cut(line, ":"); ok {
			names = append(names, strings.TrimSpace(name))
		}
	}
	return names
}

func (r *lsRow) cell(col string) string {
	dash := func(v []string) string {
		if len(v) == 0 {
			return "-"
		}
		return strings.Join(v, ", ")
	}
	mb := func(n uint64) string { return fmt.Sprintf("%.2fMB", float64(n)/1024/1024) }
	switch col {
	case "NAME":
		return r.Name
	case "STATE":
		return stateCell(r.State, r.RunBy)
	case "PID":
		if r.Pid == 0 {
			return "-"
		}
		return strconv.Itoa(r.Pid)
	case "RAM":
		if r.Pid == 0 {
			return "-"
		}
		return mb(r.RAMBytes)
	case "SWAP":
		if r.Pid == 0 {
			return "-"
		}
		return mb(r.SwapBytes)
	case "AUTOSTART":
		if r.Autostart {
			return "1"
		}
		return "0"
	case "GROUPS":
		return dash(r.Groups)
	case "INTERFACE":
		return dash(r.Interfaces)
	case "IPV4":
		return dash(r.IPv4)
	case "IPV6":
		return dash(r.IPv6)
	case "UNPRIVILEGED":
		return strconv.FormatBool(r.Unprivileged)
	}
	return "-"
}
