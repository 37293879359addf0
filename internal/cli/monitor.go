package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/lxc"
)

type monitorCmd struct {
	common
	names    []string
	lxcpaths []string
	quit     bool
	format   string
}

func newMonitor() *cobra.Command {
	m := &monitorCmd{}
	cmd := &cobra.Command{
		Use:   "[-n REGEX] [-P LXCPATH]... [--format text|json]",
		Short: "print the state changes of containers",
		Long: "Print one line per state change of every container whose whole name matches REGEX (default .*) under each " +
			"LXCPATH, those started after it began included, each change once: 'NAME' changed state to [STATE]. " +
			"--format json prints one JSON object a line. Runs until interrupted.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return m.run(args) },
	}
	f := cmd.Flags()
	// Not common.register: -P may be given more than once here.
	f.StringArrayVarP(&m.names, "name", "n", nil, "regular expression of the container names to follow")
	f.StringArrayVarP(&m.lxcpaths, "lxcpath", "P", nil, "container path (repeatable)")
	f.StringVarP(&m.logfile, "logfile", "o", "", logfileUsage)
	f.StringVarP(&m.loglevel, "logpriority", "l", "ERROR", logpriorityUsage)
	f.BoolVarP(&m.quiet, "quiet", "q", false, "print no error messages")
	f.BoolVarP(&m.quit, "quit", "Q", false, "ask lxc-monitord to quit (golxc runs none: nothing to do)")
	f.StringVar(&m.format, "format", "text", "output format: text or json")
	return cmd
}

// stateJSON is one line of lxc-monitor --format json.
type stateJSON struct {
	Name    string `json:"name"`
	LXCPath string `json:"lxcpath"`
	State   string `json:"state"`
	Time    string `json:"time"`
}

func (m *monitorCmd) run(args []string) error {
	if m.format != "text" && m.format != "json" {
		return m.fail(fmt.Errorf("unknown format %q (text or json)", m.format))
	}
	if m.quit {
		return nil
	}
	names := m.names
	if len(args) == 1 {
		names = append(names, args[0])
	}
	pattern := ".*"
	if len(names) > 0 {
		pattern = strings.Join(names, "|")
	}
	paths := m.lxcpaths
	if len(paths) == 0 {
		p, err := m.path()
		if err != nil {
			return err
		}
		paths = []string{p}
	}
	enc := json.NewEncoder(os.Stdout)
	out := func(s lxc.StateChange) {
		if m.format == "json" {
			_ = enc.Encode(stateJSON{Name: s.Name, LXCPath: s.LXCPath, State: s.State, Time: s.Time.UTC().Format(time.RFC3339Nano)})
			return
		}
		fmt.Printf("'%s' changed state to [%s]\n", s.Name, s.State)
	}
	w, err := lxc.NewWatcher(pattern, paths, out)
	if err != nil {
		return m.fail(err)
	}
	// Until a signal ends the process: there is nothing to undo.
	return m.fail(w.Run(context.Background()))
}
