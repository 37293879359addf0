package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

// TestEveryToolHelpUsageVersion: each tool answers --help, -h, -?,
// --usage and --version on stdout with exit 0, as LXC's do, and a wrong
// flag with its usage line on stderr and exit 1.
func TestEveryToolHelpUsageVersion(t *testing.T) {
	for _, tool := range lxcToolNames() {
		t.Run(tool, func(t *testing.T) {
			usage := "Usage: " + Command(tool).UseLine() + "\n"
			for _, flag := range []string{"--help", "-h", "-?"} {
				code, out, errOut := runMain(t, tool, flag)
				if code != 0 || errOut != "" || !strings.Contains(out, "Usage:\n  "+tool+" ") {
					t.Errorf("%s %s: exit %d, stdout %q, stderr %q; want the help on stdout, exit 0", tool, flag, code, out, errOut)
				}
			}
			if code, out, errOut := runMain(t, tool, "--usage"); code != 0 || errOut != "" || out != usage {
				t.Errorf("%s --usage: exit %d, stdout %q, stderr %q; want %q, exit 0", tool, code, out, errOut, usage)
			}
			// Scripts take the first line (or word) for LXC's version.
			code, out, errOut := runMain(t, tool, "--version")
			if first, _, _ := strings.Cut(out, "\n"); code != 0 || errOut != "" || first != LXCVersion || !strings.Contains(out, "\ngolxc "+Version+"\n") {
				t.Errorf("%s --version: exit %d, stdout %q, stderr %q; want %q then golxc's version", tool, code, out, errOut, LXCVersion)
			}
			code, out, errOut = runMain(t, tool, "--no-such-flag")
			if code != 1 || out != "" || errOut != tool+": unknown flag: --no-such-flag\n"+usage {
				t.Errorf("%s --no-such-flag: exit %d, stdout %q, stderr %q; want the error and %q, exit 1", tool, code, out, errOut, usage)
			}
		})
	}
}

// TestCommonOptions: the options of lxc(7)'s COMMON OPTIONS mean the same
// in every tool that has them, and every tool has them but those LXC
// itself gives other options (lxc-config, lxc-checkconfig,
// lxc-update-config, lxc-usernsexec).
func TestCommonOptions(t *testing.T) {
	own := map[string]bool{"lxc-config": true, "lxc-checkconfig": true, "lxc-update-config": true, "lxc-usernsexec": true}
	type opt struct{ short, usage string }
	seen := map[string]opt{}
	for _, tool := range lxcToolNames() {
		f := Command(tool).Flags()
		for _, name := range []string{"name", "lxcpath", "logfile", "logpriority", "quiet", "rcfile", "help", "usage", "version"} {
			fl := f.Lookup(name)
			if fl == nil {
				if !own[tool] && name != "name" && name != "rcfile" {
					t.Errorf("%s has no --%s", tool, name)
				}
				continue
			}
			if name == "help" || name == "rcfile" || name == "name" && tool == "lxc-monitor" || name == "lxcpath" && tool == "lxc-monitor" {
				// rcfile is -f where the tool has no other -f (lxc-start, lxc-attach, lxc-execute);
				// lxc-monitor's -n is a regular expression and -P repeatable, as LXC's.
				continue
			}
			o := opt{fl.Shorthand, fl.Usage}
			if prev, ok := seen[name]; ok && prev != o {
				t.Errorf("%s --%s is -%s %q, other tools' -%s %q", tool, name, o.short, o.usage, prev.short, prev.usage)
			}
			seen[name] = o
		}
	}
}

// TestCompletion drives cobra's __complete as the shell scripts do:
// container names of the lxcpath (lxc-start: stopped ones, lxc-stop:
// running ones, none here), -s keys, lxc-wait's states, log levels.
func TestCompletion(t *testing.T) {
	lxcpath := store(t, "c1", "c2")
	if err := os.MkdirAll(filepath.Join(lxcpath, "noconfig"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		want []string // lines before the directive, in order
		has  string   // or one line among them
	}{
		{args: []string{"lxc-start", "-P", lxcpath, "-n", ""}, want: []string{"c1", "c2"}},
		{args: []string{"lxc-info", "-P", lxcpath, ""}, want: []string{"c1", "c2"}},
		{args: []string{"lxc-stop", "-P", lxcpath, "-n", ""}, want: nil},
		{args: []string{"lxc-attach", "-P", lxcpath, "-n", "c"}, want: nil},
		{args: []string{"lxc-start", "-P", lxcpath, "-s", "lxc.net.0.veth.m"}, has: "lxc.net.0.veth.mode="},
		{args: []string{"lxc-start", "-s", "lxc.uts"}, has: "lxc.uts.name="},
		{args: []string{"lxc-info", "-c", "lxc.uts"}, has: "lxc.uts.name"},
		{args: []string{"lxc-wait", "-s", "RUNNING|FR"}, has: "RUNNING|FROZEN"},
		{args: []string{"lxc-stop", "-l", ""}, has: "NOTICE"},
		{args: []string{"lxc-unshare", "-s", "MOUNT|U"}, has: "MOUNT|UTSNAME"},
		{args: []string{"lxc-attach", "-s", ""}, has: "NETWORK"},
		{args: []string{"lxc-create", "-t", ""}, has: "none"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			start := time.Now()
			args := append([]string{tt.args[0], cobra.ShellCompRequestCmd}, tt.args[1:]...)
			code, out, _ := runMain(t, args...)
			if code != 0 {
				t.Fatalf("exit %d, stdout %q", code, out)
			}
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) == 0 || !strings.HasPrefix(lines[len(lines)-1], ":") {
				t.Fatalf("stdout %q: no directive line", out)
			}
			got := lines[:len(lines)-1]
			if tt.has != "" {
				if !strings.Contains("\n"+strings.Join(got, "\n")+"\n", "\n"+tt.has+"\n") {
					t.Errorf("completions %q lack %q", got, tt.has)
				}
			} else if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("completions %q, want %q", got, tt.want)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("completion took %v", d)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(lxcpath, "c1", "rootfs")); err == nil {
		t.Error("a completion made c1/rootfs")
	}
}

// lxcToolNames are the lxc-* tools, which follow LXC's conventions;
// golxc-runc follows runc's (test/oci_runtime_test.go).
func lxcToolNames() []string {
	var names []string
	for _, t := range ToolNames() {
		if strings.HasPrefix(t, "lxc-") {
			names = append(names, t)
		}
	}
	return names
}
