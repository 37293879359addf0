package cli

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golxc/golxc/internal/rundir"
)

// runMain runs Main with args and returns its exit code and what it wrote
// to stdout and stderr. It swaps os.Stdout and os.Stderr, so tests that
// use it do not run in parallel.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	capture := func(f **os.File) func() string {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		old := *f
		*f = w
		out := make(chan string, 1)
		go func() {
			b, _ := io.ReadAll(r)
			r.Close()
			out <- string(b)
		}()
		return func() string {
			*f = old
			w.Close()
			return <-out
		}
	}
	endOut := capture(&os.Stdout)
	endErr := capture(&os.Stderr)
	// Restore even if Main panics.
	defer func() {
		if p := recover(); p != nil {
			endOut()
			endErr()
			panic(p)
		}
	}()
	code = Main(args)
	return code, endOut(), endErr()
}

// store is an lxcpath with the named containers defined (a config, no
// rootfs: nothing here starts them).
func store(t *testing.T, names ...string) string {
	t.Helper()
	lxcpath := t.TempDir()
	// The tools lock containers under golxc's runtime directory, by
	// (resolved) lxcpath: the tree of this test's temporary directory
	// goes with it.
	if dir, err := filepath.EvalSymlinks(filepath.Dir(lxcpath)); err == nil {
		t.Cleanup(func() { _ = os.RemoveAll(filepath.Join(rundir.Sub("lock"), strings.TrimPrefix(dir, "/"))) })
	}
	for _, n := range names {
		dir := filepath.Join(lxcpath, n)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "config"), []byte("lxc.uts.name = "+n+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return lxcpath
}

func TestMainDispatch(t *testing.T) {
	lxcpath := store(t, "c1")
	tests := []struct {
		name      string
		args      []string
		wantCode  int
		wantOut   string // substring of stdout
		wantErr   string // substring of stderr
		wantNoErr bool   // stderr must be empty
		exactOut  string // whole stdout, when set
	}{
		{name: "version", args: []string{"golxc", "--version"}, exactOut: LXCVersion + "\ngolxc " + Version + "\n", wantNoErr: true},
		{name: "no tool", args: []string{"golxc"}, wantOut: "Tools: golxc-runc lxc-attach", wantNoErr: true},
		{name: "help", args: []string{"golxc", "--help"}, wantOut: "Usage: golxc TOOL", wantNoErr: true},
		{name: "-h", args: []string{"/usr/local/bin/golxc", "-h"}, wantOut: "Usage: golxc TOOL", wantNoErr: true},
		{name: "-?", args: []string{"golxc", "-?"}, wantOut: "Usage: golxc TOOL", wantNoErr: true},
		{name: "list tools", args: []string{"golxc", "--list-tools"}, exactOut: strings.Join(ToolNames(), "\n") + "\n", wantNoErr: true},
		{name: "tool help", args: []string{"golxc", "lxc-info", "--help"}, wantOut: "lxc-info -n NAME", wantNoErr: true},
		{name: "short tool name", args: []string{"golxc", "info", "--help"}, wantOut: "lxc-info -n NAME", wantNoErr: true},
		{name: "run as a link", args: []string{"/usr/bin/lxc-stop", "--help"}, wantOut: "lxc-stop -n NAME", wantNoErr: true},
		{name: "tool version", args: []string{"lxc-ls", "--version"}, wantOut: Version, wantNoErr: true},
		{name: "unknown tool", args: []string{"golxc", "lxc-frobnicate"}, wantCode: 1, wantErr: `unknown tool "lxc-frobnicate"`},
		{name: "unknown short tool", args: []string{"golxc", "frobnicate"}, wantCode: 1, wantErr: `unknown tool "lxc-frobnicate"`},
		{name: "unknown flag", args: []string{"lxc-info", "--no-such-flag"}, wantCode: 1, wantErr: "lxc-info: unknown flag: --no-such-flag\nUsage: lxc-info -n NAME"},
		{name: "invalid name", args: []string{"lxc-info", "-n", "../x", "-P", lxcpath}, wantCode: 1, wantErr: "lxc-info: invalid container name"},
		{name: "invalid name via golxc", args: []string{"golxc", "lxc-info", "-n", "a/b", "-P", lxcpath}, wantCode: 1, wantErr: "invalid container name"},
		{name: "invalid positional name", args: []string{"lxc-info", "-P", lxcpath, ".hidden"}, wantCode: 1, wantErr: "invalid container name"},
		{name: "name with a newline", args: []string{"lxc-info", "-n", "a\nb", "-P", lxcpath}, wantCode: 1, wantErr: "invalid container name"},
		{name: "no name", args: []string{"lxc-info", "-P", lxcpath}, wantCode: 1, wantErr: "no container name given"},
		{name: "quiet", args: []string{"lxc-info", "-q", "-n", "../x", "-P", lxcpath}, wantCode: 1, wantNoErr: true},
		{name: "undefined", args: []string{"lxc-info", "-n", "c2", "-P", lxcpath}, wantCode: 1, wantErr: "c2 doesn't exist"},
		{name: "stopped", args: []string{"lxc-info", "-n", "c1", "-P", lxcpath}, wantOut: "State:          STOPPED", wantNoErr: true},
		{name: "stopped state only", args: []string{"lxc-info", "-s", "-P", lxcpath, "c1"}, exactOut: "State:          STOPPED\n", wantNoErr: true},
		{name: "config key", args: []string{"lxc-info", "-n", "c1", "-P", lxcpath, "-c", "lxc.uts.name"}, exactOut: "lxc.uts.name = c1\n", wantNoErr: true},
		{name: "bad format", args: []string{"lxc-info", "-n", "c1", "-P", lxcpath, "--format", "xml"}, wantCode: 1, wantErr: `unknown format "xml"`},
		{name: "stop not running exits 2", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath}, wantCode: 2, wantErr: "c1 is not running"},
		{name: "stop undefined exits 2", args: []string{"lxc-stop", "-n", "c2", "-P", lxcpath}, wantCode: 2, wantErr: "c2 doesn't exist"},
		{name: "stop -k --nokill", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath, "-k", "--nokill", "-r"}, wantCode: 1, wantErr: "lxc-stop: -k can't be used with --nokill"},
		{name: "stop -k -r", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath, "-k", "-r"}, wantCode: 1, wantErr: "lxc-stop: -k can't be used with -r"},
		{name: "stop -k -t", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath, "-k", "-t", "5"}, wantCode: 1, wantErr: "lxc-stop: -k doesn't allow timeouts"},
		{name: "stop -k -t -1", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath, "-k", "--timeout=-1"}, wantCode: 1, wantErr: "lxc-stop: -k doesn't allow timeouts"},
		{name: "stop -k -t 0", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath, "-k", "-t", "0"}, wantCode: 2, wantErr: "c1 is not running"},
		{name: "stop -k -W", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath, "-k", "-W"}, wantCode: 2, wantErr: "c1 is not running"},
		{name: "stop -k --nolock", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath, "-k", "--nolock"}, wantCode: 2, wantErr: "c1 is not running"},
		{name: "stop --nolock", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath, "--nolock"}, wantCode: 1, wantErr: "lxc-stop: --nolock may only be used with -k"},
		{name: "stop -t -5", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath, "-t", "-5"}, wantCode: 1, wantErr: "lxc-stop: Invalid timeout"},
		{name: "stop -t -1", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath, "-t", "-1"}, wantCode: 2, wantErr: "c1 is not running"},
		{name: "stop -r --nokill", args: []string{"lxc-stop", "-n", "c1", "-P", lxcpath, "-r", "--nokill"}, wantCode: 2, wantErr: "c1 is not running"},
		{name: "-? is help", args: []string{"lxc-stop", "-?"}, wantOut: "lxc-stop -n NAME", wantNoErr: true},
		{name: "-? is help everywhere", args: []string{"lxc-update-config", "-?"}, wantOut: "lxc-update-config -c CONFIG", wantNoErr: true},
		{name: "--usage", args: []string{"lxc-destroy", "--usage"}, exactOut: "Usage: lxc-destroy -n NAME [-f] [flags]\n", wantNoErr: true},
		{name: "attach bad namespace", args: []string{"lxc-attach", "-n", "c1", "-P", lxcpath, "-s", "MOUNT|BOGUS"}, wantCode: 1, wantErr: `unknown namespace in -s "BOGUS"`},
		{name: "attach good namespaces", args: []string{"lxc-attach", "-n", "c2", "-P", lxcpath, "-s", "NETWORK|PID|UTSNAME|IPC|MOUNT|CGROUP|"}, wantCode: 1, wantErr: "c2 doesn't exist"},
		{name: "attach namespaces as LXC spells them", args: []string{"lxc-attach", "-n", "c2", "-P", lxcpath, "-s", "network"}, wantCode: 1, wantErr: `unknown namespace in -s "network"`},
		{name: "attach -s USER", args: []string{"lxc-attach", "-n", "c1", "-P", lxcpath, "-s", "USER"}, wantCode: 1, wantErr: "c1 is not running"},
		{name: "attach env flags: the last wins", args: []string{"lxc-attach", "-n", "c1", "-P", lxcpath, "--clear-env", "--keep-env"}, wantCode: 1, wantErr: "c1 is not running"},
		{name: "attach -e bare", args: []string{"lxc-attach", "-n", "c1", "-P", lxcpath, "-e", "--", "/bin/true"}, wantCode: 1, wantErr: "c1 is not running"},
		{name: "attach -eCAP|LSM", args: []string{"lxc-attach", "-n", "c1", "-P", lxcpath, "-eCAP|LSM", "--", "/bin/true"}, wantCode: 1, wantErr: "c1 is not running"},
		{name: "attach --elevated-privileges=BAD", args: []string{"lxc-attach", "-n", "c1", "-P", lxcpath, "--elevated-privileges=BAD"}, wantCode: 1, wantErr: `unknown privilege in -e "BAD"`},
		{name: "attach -e takes no separate argument", args: []string{"lxc-attach", "-P", lxcpath, "-e", "BAD"}, wantCode: 1, wantErr: "BAD doesn't exist"},
		{name: "attach positional name", args: []string{"lxc-attach", "-P", lxcpath, "c1", "--", "/bin/true"}, wantCode: 1, wantErr: "c1 is not running"},
		{name: "attach positional name, then options", args: []string{"lxc-attach", "c1", "-P", lxcpath, "--", "/bin/true"}, wantCode: 1, wantErr: "c1 is not running"},
		{name: "attach -L", args: []string{"lxc-attach", "-n", "c1", "-P", lxcpath, "-L", "/nonexistent-dir/log", "-R"}, wantCode: 1, wantErr: "c1 is not running"},
		{name: "attach -a foreign", args: []string{"lxc-attach", "-n", "c1", "-P", lxcpath, "-a", "armhf"}, wantCode: 1, wantErr: "-a armhf"},
		{name: "start -d -F: the last wins", args: []string{"lxc-start", "-n", "c2", "-P", lxcpath, "-d", "-F"}, wantCode: 1, wantErr: "c2 doesn't exist"},
		{name: "start --share-pid", args: []string{"lxc-start", "-n", "c1", "-P", lxcpath, "--share-pid=nosuchcontainer"}, wantCode: 1, wantErr: "lxc.namespace.share.pid = nosuchcontainer"},
		{name: "create --dir", args: []string{"lxc-create", "-n", "c3", "-P", lxcpath, "-t", "busybox", "--dir=/srv/x"}, wantCode: 1, wantErr: "--dir is not supported yet"},
		{name: "create -B dir with another store's option", args: []string{"lxc-create", "-n", "c1", "-P", lxcpath, "-t", "busybox", "--fstype=xfs"}, wantCode: 1, wantErr: "c1 already exists"},
		{name: "destroy --rcfile", args: []string{"lxc-destroy", "-n", "c1", "-P", lxcpath, "--rcfile", "/x"}, wantCode: 1, wantErr: "--rcfile is not supported"},
		{name: "bare version", args: []string{"lxc-start", "--version"}, exactOut: LXCVersion + "\ngolxc " + Version + "\n", wantNoErr: true},
		{name: "execute -u -g", args: []string{"lxc-execute", "-n", "c2", "-P", lxcpath, "-u", "1000", "-g", "1000", "--", "/bin/true"}, wantCode: 1, wantErr: "c2 doesn't exist"},
		{name: "execute -d", args: []string{"lxc-execute", "-n", "c2", "-P", lxcpath, "-d", "--", "/bin/true"}, wantCode: 1, wantErr: "c2 doesn't exist"},
		{name: "attach -v without =", args: []string{"lxc-attach", "-n", "c1", "-P", lxcpath, "-v", "NOEQ"}, wantCode: 1, wantErr: `invalid -v "NOEQ"`},
		{name: "attach not running", args: []string{"lxc-attach", "-n", "c1", "-P", lxcpath, "--", "/bin/true"}, wantCode: 1, wantErr: "c1 is not running"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runMain(t, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, out, errOut)
			}
			if tt.exactOut != "" && out != tt.exactOut {
				t.Errorf("stdout %q, want %q", out, tt.exactOut)
			}
			if !strings.Contains(out, tt.wantOut) {
				t.Errorf("stdout %q, want it to contain %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.wantErr)
			}
			if tt.wantNoErr && errOut != "" {
				t.Errorf("stderr %q, want nothing", errOut)
			}
			// One line, but for the usage line after a usage error.
			if first, rest, _ := strings.Cut(strings.TrimSuffix(errOut, "\n"), "\n"); tt.wantCode != 0 && first != "" && rest != "" && !strings.HasPrefix(rest, "Usage: ") {
				t.Errorf("error printed over several lines: %q", errOut)
			}
		})
	}
}

func TestMainLs(t *testing.T) {
	lxcpath := store(t, "web-02", "db", "web-01")
	if err := os.MkdirAll(filepath.Join(lxcpath, "noconfig"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		// Not a terminal: LXC's one name per line, padded to the longest.
		{name: "names", args: nil, wantOut: "db    \nweb-01\nweb-02\n"},
		{name: "one per line", args: []string{"-1"}, wantOut: "db\nweb-01\nweb-02\n"},
		{name: "filter", args: []string{"-1", "^web"}, wantOut: "web-01\nweb-02\n"},
		{name: "stopped", args: []string{"-1", "--stopped"}, wantOut: "db\nweb-01\nweb-02\n"},
		{name: "running", args: []string{"-1", "--running"}, wantOut: ""},
		{name: "active", args: []string{"--active"}, wantOut: ""},
		{name: "fancy", args: []string{"-f", "-F", "name,state,pid", "db"}, wantOut: "NAME STATE   PID \ndb   STOPPED -   \n"},
		// LXC: an unknown column lists nothing, says so, exits 0; -F
		// without -f is ignored; a regex that does not compile matches
		// nothing.
		{name: "bad column", args: []string{"-f", "-F", "NAME,BOGUS"}, wantOut: "", wantErr: "Invalid key: BOGUS"},
		{name: "-F without -f", args: []string{"-F", "NAME,BOGUS", "-1"}, wantOut: "db\nweb-01\nweb-02\n"},
		{name: "bad regex", args: []string{"("}, wantOut: "", wantErr: "invalid filter"},
		{name: "--filter wins", args: []string{"-1", "--filter", "^db", "web"}, wantOut: "db\n"},
		{name: "bad format", args: []string{"--format", "yaml"}, wantCode: 1, wantErr: `unknown format "yaml"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runMain(t, append([]string{"lxc-ls", "-P", lxcpath}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d (stderr %q)", code, tt.wantCode, errOut)
			}
			if tt.wantCode == 0 && out != tt.wantOut {
				t.Errorf("stdout %q, want %q", out, tt.wantOut)
			}
			if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("stderr %q, want it to contain %q", errOut, tt.wantErr)
			}
		})
	}

	t.Run("json", func(t *testing.T) {
		code, out, errOut := runMain(t, "lxc-ls", "-P", lxcpath, "--format", "json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("stdout is not a JSON list: %v\n%s", err, out)
		}
		if len(rows) != 3 || rows[0]["name"] != "db" || rows[0]["state"] != "STOPPED" {
			t.Errorf("rows %v, want db, web-01, web-02, STOPPED", rows)
		}
		for _, k := range []string{"groups", "ipv4", "ipv6"} {
			if v, ok := rows[0][k].([]any); !ok || len(v) != 0 {
				t.Errorf("%s = %#v, want an empty list, not null", k, rows[0][k])
			}
		}
	})
	t.Run("json of nothing", func(t *testing.T) {
		_, out, _ := runMain(t, "lxc-ls", "-P", t.TempDir(), "--format", "json")
		if strings.TrimSpace(out) != "[]" {
			t.Errorf("stdout %q, want []", out)
		}
	})
}

func TestToolNames(t *testing.T) {
	names := ToolNames()
	want := []string{"golxc-runc", "lxc-attach", "lxc-autostart", "lxc-cgroup", "lxc-checkconfig", "lxc-config", "lxc-console", "lxc-copy", "lxc-create", "lxc-destroy", "lxc-device", "lxc-execute",
		"lxc-freeze", "lxc-info", "lxc-ls", "lxc-monitor", "lxc-snapshot", "lxc-start", "lxc-stop", "lxc-top", "lxc-unfreeze", "lxc-unshare", "lxc-update-config", "lxc-usernsexec", "lxc-wait"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("ToolNames = %v, want %v", names, want)
	}
}

func TestAttachOptionalValues(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"-n", "c1", "-eCAP", "--", "ls"}, []string{"-n", "c1", "-e=CAP", "--", "ls"}},
		{[]string{"-qeCGROUP|LSM", "c1"}, []string{"-qe=CGROUP|LSM", "c1"}},
		{[]string{"-e", "-n", "c1"}, []string{"-e", "-n", "c1"}},
		{[]string{"-e=CAP", "-nc1"}, []string{"-e=CAP", "-nc1"}},
		// After the name, the command's own arguments are left alone.
		{[]string{"-n", "c1", "grep", "-eFOO"}, []string{"-n", "c1", "grep", "-eFOO"}},
		{[]string{"c1", "-eCAP", "grep", "-eFOO"}, []string{"c1", "-e=CAP", "grep", "-eFOO"}},
		{[]string{"--name", "c1", "grep", "-eFOO"}, []string{"--name", "c1", "grep", "-eFOO"}},
		// A flag's value is not an option.
		{[]string{"-v", "-eX", "c1", "--", "-eY"}, []string{"-v", "-eX", "c1", "--", "-eY"}},
		{[]string{"-P", "/x", "c1", "-eCAP"}, []string{"-P", "/x", "c1", "-e=CAP"}},
	}
	for _, tt := range tests {
		cmd := newAttach()
		addHelpAliases(cmd, "lxc-attach")
		if got := attachOptionalValues(cmd.Flags(), tt.in); strings.Join(got, " ") != strings.Join(tt.want, " ") {
			t.Errorf("attachOptionalValues(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
