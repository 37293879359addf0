package cli

import (
	"errors"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/lxc"
	"github.com/golxc/golxc/internal/lxclog"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/namespace"
)

// Shell completion: the scripts tools/mangen generates with cobra call the
// tool's hidden __complete command, which answers from the functions
// registered here. A completion reads the lxcpath and asks running
// monitors for their state, with a short deadline: it never starts a
// monitor, takes a lock or writes anything.

// completeStateDeadline bounds the question to each monitor: a tab press
// must not hang on a wedged one (which then counts as running).
const completeStateDeadline = 200 * time.Millisecond

// completer is one completion: what it offers and, for a fixed list, the
// words. One method serves every flag and one table says which flag gets
// what, so the tools carry little code for it (the binary's size counts).
type completer struct {
	kind  completionKind
	want  completionKind // for firstName: which names
	sufx  string         // for keys: what follows a key ("=" for -s KEY=VAL)
	words []string
}

type completionKind uint8

const (
	wordList     completionKind = iota
	namesAll                    // every container of the lxcpath
	namesRunning                // running (or frozen) ones
	namesStopped                // stopped ones
	firstName                   // a name as the first argument, then files
	dirs
	configKeyNames
	alternatives // words ORed with '|'
	templates
)

// flagCompletion is which completion a tool's flag gets.
type flagCompletion struct {
	tool, flag string // tool "": every tool with that flag
	c          completer
}

// flagCompletions are made for a shell's completion request only.
func flagCompletions() []flagCompletion {
	return []flagCompletion{
		{"", "lxcpath", completer{kind: dirs}},
		{"", "logpriority", completer{words: lxclog.Names()}},
		{"lxc-start", "define", completer{kind: configKeyNames, sufx: "="}},
		{"lxc-execute", "define", completer{kind: configKeyNames, sufx: "="}},
		{"lxc-info", "config", completer{kind: configKeyNames}},
		{"lxc-create", "template", completer{kind: templates}},
		{"lxc-wait", "state", completer{kind: alternatives, words: lxc.States}},
		{"lxc-unshare", "namespaces", completer{kind: alternatives, words: namespaceNames()}},
		{"lxc-attach", "namespaces", completer{kind: alternatives, words: namespaceNames()}},
	}
}

// namespaceNames are the namespaces' names as -s takes them (MOUNT|PID ...).
func namespaceNames() []string {
	var names []string
	for _, k := range namespace.Kinds() {
		if k.Attach != "" {
			names = append(names, k.Attach)
		}
	}
	return names
}

// addCompletions registers the dynamic completions of tool's flags and of
// its container name given as the first argument: -n completes to the
// containers the tool can act on.
func addCompletions(cmd *cobra.Command, tool string) {
	f := cmd.Flags()
	names := completer{kind: namesAll}
	switch tool {
	case "lxc-create":
		names.kind = wordList // a new name
	case "lxc-start", "lxc-execute":
		names.kind = namesStopped
	case "lxc-stop", "lxc-attach", "lxc-console", "lxc-freeze", "lxc-unfreeze", "lxc-cgroup", "lxc-device":
		names.kind = namesRunning
	case "lxc-config":
		cmd.ValidArgsFunction = completer{words: config.SystemKeys()}.complete
	}
	if f.Lookup("name") != nil && names.kind != wordList {
		_ = cmd.RegisterFlagCompletionFunc("name", names.complete)
		if cmd.ValidArgsFunction == nil {
			cmd.ValidArgsFunction = completer{kind: firstName, want: names.kind}.complete
		}
	}
	for _, fc := range flagCompletions() {
		if (fc.tool == "" || fc.tool == tool) && f.Lookup(fc.flag) != nil {
			_ = cmd.RegisterFlagCompletionFunc(fc.flag, fc.c.complete)
		}
	}
}

func (k completer) complete(c *cobra.Command, args []string, prefix string) ([]string, cobra.ShellCompDirective) {
	none := cobra.ShellCompDirectiveNoFileComp
	switch k.kind {
	case firstName:
		// The name may come first instead of -n; after it, or with -n,
		// the arguments are a command or a key: files.
		if len(args) > 0 || c.Flags().Changed("name") {
			return nil, cobra.ShellCompDirectiveDefault
		}
		return containerNames(c, k.want), none
	case namesAll, namesRunning, namesStopped:
		return containerNames(c, k.kind), none
	case dirs:
		return nil, cobra.ShellCompDirectiveFilterDirs
	case templates:
		return templateNames(), none
	case configKeyNames:
		return configKeys(prefix, k.sufx), none | cobra.ShellCompDirectiveNoSpace
	case alternatives:
		// lxc-wait -s 'RUNNING|FROZEN': the last word is completed, the
		// ones before it kept.
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
// the system config's) of the kind want: namesRunning (frozen ones too),
// namesStopped or namesAll.
func containerNames(c *cobra.Command, want completionKind) []string {
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
	if err != nil || want == namesAll {
		return all
	}
	var out []string
	for _, n := range all {
		if isRunning(path, n) == (want == namesRunning) {
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
				names = append(names, n)
			}
		}
	}
	return names
}
