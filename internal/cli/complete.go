package cli

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"golxc/internal/config"
	"golxc/internal/lxc"
	"golxc/internal/monitor"
)

// Shell completion: the scripts tools/mangen generates with cobra call the
// tool's hidden __complete command, which answers from the functions
// registered here. A completion reads the lxcpath and asks running
// monitors for their state, with a short deadline: it never starts a
// monitor, takes a lock or writes anything.

// completeStateDeadline bounds the question to each monitor: a tab press
// must not hang on a wedged one (which then counts as running).
const completeStateDeadline = 200 * time.Millisecond

// namesWanted says which containers a tool's -n completes to: the ones it
// can act on.
func namesWanted(tool string) string {
	switch tool {
	case "lxc-start", "lxc-execute":
		return "stopped"
	case "lxc-stop", "lxc-attach", "lxc-console", "lxc-freeze", "lxc-unfreeze", "lxc-cgroup", "lxc-device":
		return "running"
	case "lxc-create":
		return "none" // a new name
	}
	return "all"
}

// completer is one completion: what it offers (kind) and, for a fixed
// list, the words. One method serves every flag, so the tools carry one
// function for all their completions (the binary's size counts).
type completer struct {
	kind  string // names, dirs, words, alternatives, keys, templates
	want  string // for names: namesWanted's answer
	sufx  string // for keys: what follows a key ("=" for -s KEY=VAL)
	words []string
}

var logLevelNames = []string{"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRIT", "ALERT", "FATAL"}

// addCompletions registers the dynamic completions of tool's flags and of
// its container name given as the first argument.
func addCompletions(cmd *cobra.Command, tool string) {
	f := cmd.Flags()
	register := func(flag string, k completer) {
		if f.Lookup(flag) != nil {
			_ = cmd.RegisterFlagCompletionFunc(flag, k.complete)
		}
	}
	names := completer{kind: "names", want: namesWanted(tool)}
	if f.Lookup("name") != nil && names.want != "none" {
		register("name", names)
		if cmd.ValidArgsFunction == nil {
			names.kind = "first"
			cmd.ValidArgsFunction = names.complete
		}
	}
	register("lxcpath", completer{kind: "dirs"})
	register("logpriority", completer{kind: "words", words: logLevelNames})
	switch tool {
	case "lxc-start", "lxc-execute":
		register("define", completer{kind: "keys", sufx: "="})
	case "lxc-info":
		register("config", completer{kind: "keys"})
	case "lxc-create":
		register("template", completer{kind: "templates"})
	case "lxc-wait":
		register("state", completer{kind: "alternatives", words: lxc.States})
	case "lxc-unshare":
		register("namespaces", completer{kind: "alternatives", words: []string{"MOUNT", "PID", "UTSNAME", "IPC", "USER", "NETWORK", "CGROUP"}})
	case "lxc-config":
		cmd.ValidArgsFunction = completer{kind: "words", words: config.SystemKeys()}.complete
	}
}

func (k completer) complete(c *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	none := cobra.ShellCompDirectiveNoFileComp
	switch k.kind {
	case "first":
		// The name may come first instead of -n; after it, or with -n,
		// the arguments are a command or a key: files.
		if len(args) > 0 || c.Flags().Changed("name") {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return containerNames(c, k.want), none
	case "names":
		return containerNames(c, k.want), none
	case "dirs":
		return nil, cobra.ShellCompDirectiveFilterDirs
	case "templates":
		return templateNames(), none
	case "keys":
		return configKeys(prefix, k.sufx), none | cobra.ShellCompDirectiveNoSpace
	case "alternatives":
		// Words ORed with '|' (lxc-wait -s 'RUNNING|FROZEN'): the last
		// is completed, the ones before it kept.
		head := prefix[:strings.LastIndexByte(prefix, '|')+1]
		given := strings.Split(head, "|")
		var out []string
		for _, w := range k.words {
			if !slices.Contains(given, w) {
				out = append(out, head+w)
			}
		}
		return out, none
	}
	return k.words, none
}

// configKeys completes config keys, each followed by suffix; a family
// prefix (lxc.cgroup2.) is offered as it is, and lxc.net.N. is followed by
// its subkeys.
func configKeys(prefix, suffix string) []string {
	var out []string
	if strings.HasPrefix(prefix, "lxc.net.") {
		if n, _, found := strings.Cut(prefix[len("lxc.net."):], "."); found && n != "" {
			for _, sub := range config.NetSubkeys() {
				out = append(out, "lxc.net."+n+"."+sub+suffix)
			}
			return out
		}
	}
	for _, k := range config.Keys() {
		switch {
		case k == "lxc.net.":
			out = append(out, "lxc.net.0.")
		case strings.HasSuffix(k, "."):
			out = append(out, k)
		case k != "lxc.include":
			out = append(out, k+suffix)
		}
	}
	return out
}

// containerNames lists the containers of the command's lxcpath (-P, else
// the system config's) that want allows: "running" (frozen ones too),
// "stopped" or "all".
func containerNames(c *cobra.Command, want string) []string {
	path, _ := c.Flags().GetString("lxcpath")
	if path == "" {
		sys, err := config.LoadSystem()
		if err != nil {
			return nil
		}
		path = sys.LXCPath
		if path == "" {
			path = lxc.DefaultLXCPath
		}
	}
	all, err := lxc.List(path)
	if err != nil || want == "all" {
		return all
	}
	var out []string
	for _, n := range all {
		if isRunning(path, n) == (want == "running") {
			out = append(out, n)
		}
	}
	return out
}

// isRunning asks the container's monitor for its state, without waiting
// long: no monitor, not running; a monitor that does not answer in time
// is there, so running.
func isRunning(lxcpath, name string) bool {
	r, err := monitor.Ask(lxcpath, name, monitor.Request{Command: "state"}, time.Now().Add(completeStateDeadline))
	if errors.Is(err, monitor.ErrNotRunning) {
		return false
	}
	if err != nil {
		return true
	}
	return r.State != monitor.Stopped
}

// templateNames lists the templates lxc-create -t finds by name, and none.
func templateNames() []string {
	names := []string{"none"}
	for _, dir := range templateDirs() {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			n, ok := strings.CutPrefix(e.Name(), "lxc-")
			if ok && !e.IsDir() && !slices.Contains(names, n) {
				if st, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && st.Mode()&0o111 != 0 {
					names = append(names, n)
				}
			}
		}
	}
	return names
}
