package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"golxc/internal/lxc"
)

type lsCmd struct {
	common
	one, fancy                                bool
	columns                                   string
	running, stopped, active, frozen, defined bool
	format                                    string
}

// lsColumns are the columns lxc-ls -F knows, in LXC's names.
var lsColumns = map[string]bool{"NAME": true, "STATE": true, "PID": true, "RAM": true, "SWAP": true, "AUTOSTART": true,
	"GROUPS": true, "INTERFACE": true, "IPV4": true, "IPV6": true, "UNPRIVILEGED": true}

const lsDefaultColumns = "NAME,STATE,AUTOSTART,GROUPS,IPV4,IPV6,UNPRIVILEGED"

func newLs() *cobra.Command {
	l := &lsCmd{}
	cmd := &cobra.Command{
		Use:   "[-1] [-f] [-F COLUMNS] [--running|--stopped|--active|--frozen|--defined] [REGEX]",
		Short: "list containers",
		Long:  "List the containers of the lxcpath whose names match REGEX: names only, one per line with -1, or a table with -f (columns of -F: " + lsDefaultColumns + ", PID, RAM, SWAP, INTERFACE). --format json for scripts.",
		Args:  cobra.MaximumNArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return l.run(args) },
	}
	l.register(cmd, false)
	f := cmd.Flags()
	f.BoolVarP(&l.one, "line", "1", false, "one name per line")
	f.BoolVarP(&l.fancy, "fancy", "f", false, "a table")
	f.StringVarP(&l.columns, "fancy-format", "F", "", "the table's columns, comma separated")
	f.BoolVar(&l.running, "running", false, "only running containers")
	f.BoolVar(&l.stopped, "stopped", false, "only stopped containers")
	f.BoolVar(&l.active, "active", false, "only active (running or frozen) containers")
	f.BoolVar(&l.frozen, "frozen", false, "only frozen containers")
	f.BoolVar(&l.defined, "defined", false, "only defined containers (all of them)")
	f.StringVar(&l.format, "format", "table", "output format: table or json")
	return cmd
}

type lsRow struct {
	Name         string   `json:"name"`
	State        string   `json:"state"`
	Pid          int      `json:"pid,omitempty"`
	RAMBytes     uint64   `json:"ram_bytes,omitempty"`
	Autostart    bool     `json:"autostart"`
	Groups       []string `json:"groups"`
	IPv4         []string `json:"ipv4"`
	IPv6         []string `json:"ipv6"`
	Unprivileged bool     `json:"unprivileged"`
	RunBy        string   `json:"run_by,omitempty"` // "lxc": LXC's own tools run it
}

func (l *lsCmd) run(args []string) error {
	if l.format != "table" && l.format != "json" {
		return l.fail(fmt.Errorf("unknown format %q (table or json)", l.format))
	}
	cols := strings.Split(lsDefaultColumns, ",")
	if l.columns != "" {
		l.fancy = true
		cols = strings.Split(strings.ToUpper(l.columns), ",")
		for _, c := range cols {
			if !lsColumns[c] {
				return l.fail(fmt.Errorf("Invalid key: %s", c))
			}
		}
	}
	var re *regexp.Regexp
	if len(args) == 1 {
		var err error
		if re, err = regexp.Compile(args[0]); err != nil {
			return l.fail(fmt.Errorf("invalid filter %q: %w", args[0], err))
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
	var keep []string
	for _, n := range names {
		if re == nil || re.MatchString(n) {
			keep = append(keep, n)
		}
	}
	needState := l.fancy || l.running || l.stopped || l.active || l.frozen || l.format == "json"
	rows := make([]lsRow, len(keep))
	lxcScan := lxcScanFor(needState)
	var wg sync.WaitGroup
	for i, n := range keep {
		rows[i] = lsRow{Name: n, State: "STOPPED", Groups: []string{}, IPv4: []string{}, IPv6: []string{}}
		if !needState {
			continue
		}
		wg.Add(1)
		go func(r *lsRow) {
			defer wg.Done()
			ct, err := lxc.New(lxcpath, r.Name)
			if err != nil {
				return
			}
			ct.UseLXCScan(lxcScan)
			if l.fancy || l.format == "json" {
				// A config that does not load shows its defaults here;
				// lxc-start is where it is reported.
				if cfg, err := ct.LoadConfig("", nil); err == nil {
					r.Autostart = cfg.Start.Auto
					if len(cfg.Groups) > 0 {
						r.Groups = cfg.Groups
					}
				}
			}
			info, err := ct.Info(l.fancy && strings.Contains(strings.Join(cols, ","), "RAM"))
			if err != nil {
				// A monitor that does not answer: the container is not
				// known to be stopped.
				r.State = "UNKNOWN"
				return
			}
			r.State, r.Pid, r.RunBy = info.State, info.Pid, runBy(info)
			if info.Stats != nil && info.Stats.HasMemory {
				r.RAMBytes = info.Stats.MemoryBytes
			}
		}(&rows[i])
	}
	wg.Wait()
	var out []lsRow
	for _, r := range rows {
		active := r.State != "STOPPED"
		switch {
		case l.running && r.State != "RUNNING",
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
		tw := tabwriter.NewWriter(os.Stdout, 0, 0, 1, ' ', 0)
		fmt.Fprintln(tw, strings.Join(cols, "\t"))
		for _, r := range out {
			var cells []string
			for _, c := range cols {
				cells = append(cells, r.cell(c))
			}
			fmt.Fprintln(tw, strings.Join(cells, "\t"))
		}
		return l.fail(tw.Flush())
	case l.one:
		for _, r := range out {
			fmt.Println(r.Name)
		}
	default:
		var ns []string
		for _, r := range out {
			ns = append(ns, r.Name)
		}
		if len(ns) > 0 {
			fmt.Println(strings.Join(ns, "  "))
		}
	}
	return nil
}

func (r *lsRow) cell(col string) string {
	dash := func(v []string) string {
		if len(v) == 0 {
			return "-"
		}
		return strings.Join(v, ", ")
	}
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
		return fmt.Sprintf("%.2fMB", float64(r.RAMBytes)/1024/1024)
	case "SWAP":
		return "-" // swap accounting is not read yet
	case "AUTOSTART":
		if r.Autostart {
			return "1"
		}
		return "0"
	case "GROUPS":
		return dash(r.Groups)
	case "INTERFACE":
		return "-"
	case "IPV4":
		return dash(r.IPv4)
	case "IPV6":
		return dash(r.IPv6)
	case "UNPRIVILEGED":
		return strconv.FormatBool(r.Unprivileged)
	}
	return "-"
}
