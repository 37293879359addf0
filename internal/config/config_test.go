package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// parse reads text as the file "c1/config" into a fresh Config.
func parse(t *testing.T, text string) (*Config, error) {
	t.Helper()
	c := New()
	return c, c.Parse(strings.NewReader(text), "c1/config")
}

// writeFile writes a file under dir and returns its path.
func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewDefaults(t *testing.T) {
	c := New()
	want := &Config{
		Rootfs:              Rootfs{Managed: true},
		Autodev:             true,
		AutodevTmpfsSize:    500000,
		HaltSignal:          unix.SIGPWR,
		RebootSignal:        unix.SIGINT,
		StopSignal:          unix.SIGKILL,
		KeyringSession:      true,
		MonitorSignalPdeath: unix.SIGKILL,
	}
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("New() = %+v, want %+v", c, want)
	}
}

func TestParseFillsZeroSignals(t *testing.T) {
	var c Config
	if err := c.Parse(strings.NewReader("lxc.signal.stop = SIGTERM\n"), "x"); err != nil {
		t.Fatal(err)
	}
	if c.HaltSignal != unix.SIGPWR || c.RebootSignal != unix.SIGINT || c.StopSignal != unix.SIGTERM {
		t.Fatalf("signals = %v %v %v, want defaults and SIGTERM", c.HaltSignal, c.RebootSignal, c.StopSignal)
	}
}

func TestSyntax(t *testing.T) {
	tests := []struct {
		name    string
		text    string
		uts     string
		wantErr string
	}{
		{name: "plain", text: "lxc.uts.name = c1\n", uts: "c1"},
		{name: "no spaces", text: "lxc.uts.name=c1", uts: "c1"},
		{name: "tabs and CRLF", text: "\tlxc.uts.name\t=\tc1\t\r\n", uts: "c1"},
		{name: "double quotes", text: `lxc.uts.name = "c1"`, uts: "c1"},
		{name: "single quotes", text: `lxc.uts.name = 'c 1'`, uts: "c 1"},
		{name: "mismatched quotes kept", text: `lxc.uts.name = "c1'`, uts: `"c1'`},
		{name: "one quote kept", text: `lxc.uts.name = "`, uts: `"`},
		{name: "inner quotes kept", text: `lxc.uts.name = a"b"c`, uts: `a"b"c`},
		{name: "equals in value", text: "lxc.uts.name = a=b", uts: "a=b"},
		{name: "comment and blank lines", text: "# lxc.uts.name = no\n\n   \n  # indented comment\nlxc.uts.name = yes\n", uts: "yes"},
		{name: "hash inside a value is not a comment", text: "lxc.uts.name = a # b", uts: "a # b"},
		{name: "last line wins", text: "lxc.uts.name = a\nlxc.uts.name = b", uts: "b"},
		{name: "empty value resets", text: "lxc.uts.name = a\nlxc.uts.name =", uts: ""},
		{name: "empty quotes reset", text: "lxc.uts.name = a\nlxc.uts.name = \"\"", uts: ""},
		{name: "no equals", text: "lxc.uts.name = a\nlxc.uts.name c1\n",
			wantErr: `c1/config:2: no "=" in "lxc.uts.name c1": want KEY = VALUE`},
		{name: "NUL byte", text: "lxc.uts.name = a\x00b\n",
			wantErr: "c1/config:1: not a text file: NUL byte"},
		{name: "NUL byte in a comment", text: "\n# \x00\n",
			wantErr: "c1/config:2: not a text file: NUL byte"},
		{name: "invalid UTF-8", text: "# ok\n\n\nlxc.uts.name = \xff\xfe\n",
			wantErr: "c1/config:4: not a text file: invalid UTF-8"},
		{name: "unknown key", text: "\n\n\n\n\n\nlxc.foo = 1\n",
			wantErr: `c1/config:7: unsupported config key "lxc.foo"`},
		{name: "key with inner space", text: "lxc.uts .name = x",
			wantErr: `c1/config:1: unsupported config key "lxc.uts .name"`},
		{name: "bad number", text: "\n\nlxc.tty.max = abc",
			wantErr: `c1/config:3: invalid value "abc" for "lxc.tty.max": not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(t, tt.text)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				var pe *ParseError
				if !errors.As(err, &pe) || pe.File != "c1/config" {
					t.Fatalf("err %v is not a *ParseError naming the file", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.UTSName != tt.uts {
				t.Fatalf("UTSName = %q, want %q", c.UTSName, tt.uts)
			}
		})
	}
}

func TestLineTooLong(t *testing.T) {
	_, err := parse(t, "lxc.uts.name = a\n"+strings.Repeat("x", maxLineLen+1))
	if err == nil || !strings.HasPrefix(err.Error(), "c1/config:2: line longer than") {
		t.Fatalf("err = %v, want a line-too-long error on line 2", err)
	}
}

func TestWarnings(t *testing.T) {
	c, err := parse(t, "lxc.uts.name = c1\nfoo.bar = 1\n  = x\nLXC.UTS.NAME = c2\n")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`c1/config:2: ignoring line that is not an lxc.* key: "foo.bar"`,
		`c1/config:3: ignoring line that is not an lxc.* key: ""`,
		`c1/config:4: ignoring line that is not an lxc.* key: "LXC.UTS.NAME"`,
	}
	if !slices.Equal(c.Warnings, want) {
		t.Fatalf("Warnings = %q, want %q", c.Warnings, want)
	}
	if c.UTSName != "c1" {
		t.Fatalf("UTSName = %q, want c1", c.UTSName)
	}
}

func TestLegacyKeys(t *testing.T) {
	tests := []struct{ key, want string }{
		{"lxc.utsname", `use "lxc.uts.name"`},
		{"lxc.rootfs", `use "lxc.rootfs.path"`},
		{"lxc.rootfs.backend", "no longer used, remove the line"},
		{"lxc.network", `use "lxc.net"`},
		{"lxc.network.type", `use "lxc.net.[i].type"`},
		{"lxc.network.0.link", `use "lxc.net.0.link"`},
		{"lxc.network.ipv4", `use "lxc.net.[i].ipv4.address"`},
		{"lxc.network.1.ipv6", `use "lxc.net.1.ipv6.address"`},
		{"lxc.id_map", `use "lxc.idmap"`},
		{"lxc.tty", `use "lxc.tty.max"`},
		{"lxc.pts", `use "lxc.pty.max"`},
		{"lxc.aa_profile", `use "lxc.apparmor.profile"`},
		{"lxc.aa_allow_incomplete", `use "lxc.apparmor.allow_incomplete"`},
		{"lxc.se_context", `use "lxc.selinux.context"`},
		{"lxc.seccomp", `use "lxc.seccomp.profile"`},
		{"lxc.console", `use "lxc.console.path"`},
		{"lxc.devttydir", `use "lxc.tty.dir"`},
		{"lxc.haltsignal", `use "lxc.signal.halt"`},
		{"lxc.rebootsignal", `use "lxc.signal.reboot"`},
		{"lxc.stopsignal", `use "lxc.signal.stop"`},
		{"lxc.init_cmd", `use "lxc.init.cmd"`},
		{"lxc.init_uid", `use "lxc.init.uid"`},
		{"lxc.init_gid", `use "lxc.init.gid"`},
		{"lxc.limit.nofile", `use "lxc.prlimit.nofile"`},
		{"lxc.loglevel", `use "lxc.log.level"`},
		{"lxc.logfile", `use "lxc.log.file"`},
		{"lxc.mount", `use "lxc.mount.fstab"`},
		{"lxc.syslog", `use "lxc.log.syslog"`},
		{"lxc.pivotdir", "no longer used, remove the line"},
		{"lxc.kmsg", "no longer used, remove the line"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			_, err := parse(t, "# c1\n"+tt.key+" = x\n")
			want := `c1/config:2: legacy config key "` + tt.key + `": ` + tt.want
			if err == nil || err.Error() != want {
				t.Fatalf("err = %v, want %q", err, want)
			}
			if !errors.Is(err, ErrLegacyKey) {
				t.Fatalf("err %v is not ErrLegacyKey", err)
			}
			if _, err := New().Get(tt.key); !errors.Is(err, ErrLegacyKey) {
				t.Fatalf("Get(%q) err = %v, want ErrLegacyKey", tt.key, err)
			}
		})
	}
	// Current keys that share a legacy key's start stay current.
	for _, key := range []string{"lxc.rootfs.path", "lxc.mount.fstab", "lxc.console.path", "lxc.tty.max", "lxc.net.0.type"} {
		if _, err := New().Get(key); err != nil {
			t.Errorf("Get(%q): %v", key, err)
		}
	}
}

// busyboxConfig is shaped like what the busybox template writes.
const busyboxConfig = `# Template used to create this container: busybox
lxc.signal.halt = SIGUSR1
lxc.signal.reboot = SIGTERM
lxc.uts.name = "c1"
lxc.rootfs.path = dir:/var/lib/lxc/c1/rootfs
lxc.tty.max = 5
lxc.pty.max = 1
lxc.autodev = 1
lxc.cap.drop = sys_module mac_admin mac_override sys_time

# When using LXC with apparmor, uncomment the next line to run unconfined:
#lxc.apparmor.profile = unconfined

lxc.mount.auto = cgroup:mixed proc:mixed sys:ro
lxc.mount.entry = shm dev/shm tmpfs defaults,create=dir 0 0
lxc.mount.entry = mqueue dev/mqueue mqueue defaults,optional,create=dir 0 0
lxc.net.0.type = empty
lxc.cgroup.memory.limit_in_bytes = 64M
lxc.cgroup2.memory.max = 64M
`

func TestBusyboxConfig(t *testing.T) {
	path := writeFile(t, t.TempDir(), "config", busyboxConfig)
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		UTSName:   "c1",
		Rootfs:    Rootfs{Raw: "dir:/var/lib/lxc/c1/rootfs", Path: "/var/lib/lxc/c1/rootfs", Managed: true},
		MountAuto: []string{"cgroup:mixed", "proc:mixed", "sys:ro"},
		MountEntries: []MountEntry{
			{Source: "shm", Target: "dev/shm", FSType: "tmpfs", Options: "defaults,create=dir",
				Raw: "shm dev/shm tmpfs defaults,create=dir 0 0"},
			{Source: "mqueue", Target: "dev/mqueue", FSType: "mqueue", Options: "defaults,optional,create=dir",
				Raw: "mqueue dev/mqueue mqueue defaults,optional,create=dir 0 0"},
		},
		Autodev:          true,
		AutodevTmpfsSize: 500000,
		TTYMax:           5,
		PTYMax:           1,
		CapDrop:          []string{"sys_module", "mac_admin", "mac_override", "sys_time"},
		HaltSignal:       unix.SIGUSR1,
		RebootSignal:     unix.SIGTERM,
		StopSignal:       unix.SIGKILL,
		Net:              []Net{{Index: 0, Type: "empty"}},
		Cgroup: []CgroupSetting{
			{Version: 1, Key: "memory.limit_in_bytes", Value: "64M"},
			{Version: 2, Key: "memory.max", Value: "64M"},
		},
		KeyringSession:      true,
		MonitorSignalPdeath: unix.SIGKILL,
	}
	if c.source == nil || c.source.path != path {
		t.Fatalf("Load kept no source text of %s", path)
	}
	c.source = nil
	if v, ok := c.Written("lxc.signal.halt"); !ok || v != "SIGUSR1" {
		t.Errorf("Written(lxc.signal.halt) = %q, %v; want SIGUSR1 as written", v, ok)
	}
	if _, ok := c.Written("lxc.signal.stop"); ok {
		t.Errorf("Written(lxc.signal.stop) says written; the config does not set it")
	}
	c.written = nil
	if got := c.Origin("lxc.cgroup2.memory.max"); got != path+":19" {
		t.Errorf("Origin(lxc.cgroup2.memory.max) = %q, want %s:19", got, path)
	}
	c.origin = nil
	if !reflect.DeepEqual(c, want) {
		t.Fatalf("Load:\n got %+v\nwant %+v", c, want)
	}

	gets := map[string]string{
		"lxc.uts.name":                     "c1",
		"lxc.rootfs.path":                  "dir:/var/lib/lxc/c1/rootfs",
		"lxc.signal.halt":                  "10",
		"lxc.signal.stop":                  "9",
		"lxc.tty.max":                      "5",
		"lxc.autodev":                      "1",
		"lxc.cap.drop":                     "sys_module\nmac_admin\nmac_override\nsys_time",
		"lxc.mount.auto":                   "cgroup:mixed proc:mixed sys:ro",
		"lxc.mount.entry":                  "shm dev/shm tmpfs defaults,create=dir 0 0\nmqueue dev/mqueue mqueue defaults,optional,create=dir 0 0",
		"lxc.net":                          "0",
		"lxc.net.0.type":                   "empty",
		"lxc.cgroup.memory.limit_in_bytes": "64M",
		"lxc.cgroup2.memory.max":           "64M",
		"lxc.cgroup":                       "lxc.cgroup.memory.limit_in_bytes = 64M",
		"lxc.cgroup2":                      "lxc.cgroup2.memory.max = 64M",
		"lxc.init.cmd":                     "",
		"lxc.log.level":                    "",
	}
	for key, want := range gets {
		t.Run("Get "+key, func(t *testing.T) {
			got, err := c.Get(key)
			if err != nil || got != want {
				t.Fatalf("Get(%q) = %q, %v; want %q", key, got, err, want)
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope"))
	if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope") {
		t.Fatalf("err = %v, want a not-exist error naming the file", err)
	}
}

func TestParseFileLayers(t *testing.T) {
	dir := t.TempDir()
	base := writeFile(t, dir, "base", "lxc.uts.name = base\nlxc.cap.drop = sys_time\n")
	over := writeFile(t, dir, "over", "lxc.uts.name = over\nlxc.cap.drop = mknod\n")
	c := New()
	for _, p := range []string{base, over} {
		if err := c.ParseFile(p); err != nil {
			t.Fatal(err)
		}
	}
	if c.UTSName != "over" || !slices.Equal(c.CapDrop, []string{"sys_time", "mknod"}) {
		t.Fatalf("layered: UTSName %q CapDrop %q", c.UTSName, c.CapDrop)
	}
}

func TestInclude(t *testing.T) {
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		inc := writeFile(t, dir, "common.conf", "lxc.tty.max = 4\nlxc.cap.drop = sys_time\n")
		top := writeFile(t, dir, "config", "lxc.cap.drop = mknod\nlxc.include = "+inc+"\nlxc.tty.max = 6\n")
		c, err := Load(top)
		if err != nil {
			t.Fatal(err)
		}
		if c.TTYMax != 6 || !slices.Equal(c.CapDrop, []string{"mknod", "sys_time"}) {
			t.Fatalf("TTYMax %d CapDrop %q: include not read in place", c.TTYMax, c.CapDrop)
		}
	})
	t.Run("directory in name order, only *.conf", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "d/20-b.conf", "lxc.environment = B=2\n")
		writeFile(t, dir, "d/10-a.conf", "lxc.environment = A=1\n")
		writeFile(t, dir, "d/30-c.conf.disabled", "lxc.environment = C=3\n")
		writeFile(t, dir, "d/README", "not a config\n")
		writeFile(t, dir, "d/sub.conf/x.conf", "lxc.environment = D=4\n")
		top := writeFile(t, dir, "config", "lxc.include = '"+filepath.Join(dir, "d")+"'\n")
		c, err := Load(top)
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"A=1", "B=2"}; !slices.Equal(c.Environment, want) {
			t.Fatalf("Environment = %q, want %q", c.Environment, want)
		}
	})
	t.Run("relative to the working directory", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, dir, "inc/x.conf", "lxc.uts.name = rel\n")
		t.Chdir(dir)
		c, err := parse(t, "lxc.include = inc/x.conf\n")
		if err != nil || c.UTSName != "rel" {
			t.Fatalf("UTSName %q, err %v", c.UTSName, err)
		}
	})
	t.Run("error inside names the included file", func(t *testing.T) {
		dir := t.TempDir()
		inc := writeFile(t, dir, "bad.conf", "\nlxc.tty.max = -1\n")
		top := writeFile(t, dir, "config", "lxc.include = "+inc+"\n")
		_, err := Load(top)
		want := inc + `:2: invalid value "-1" for "lxc.tty.max": not a number`
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %q", err, want)
		}
	})
	t.Run("missing", func(t *testing.T) {
		dir := t.TempDir()
		top := writeFile(t, dir, "config", "\nlxc.include = "+filepath.Join(dir, "nope")+"\n")
		_, err := Load(top)
		if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), top+":2: lxc.include: ") {
			t.Fatalf("err = %v, want a not-exist error at %s:2", err, top)
		}
	})
	t.Run("missing directory is skipped", func(t *testing.T) {
		// A trailing "/" names a directory; LXC 5.0 skips one that
		// does not exist (Debian's userns.conf ends with such a line).
		dir := t.TempDir()
		top := writeFile(t, dir, "config", "lxc.include = "+filepath.Join(dir, "nope.d")+"/\nlxc.uts.name = after\n")
		c, err := Load(top)
		if err != nil || c.UTSName != "after" {
			t.Fatalf("UTSName %q, err %v", c.UTSName, err)
		}
	})
	t.Run("missing path without the slash stays an error", func(t *testing.T) {
		dir := t.TempDir()
		top := writeFile(t, dir, "config", "lxc.include = "+filepath.Join(dir, "nope.d")+"\n")
		if _, err := Load(top); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("err = %v, want a not-exist error", err)
		}
	})
	t.Run("a file named with a slash is an error", func(t *testing.T) {
		dir := t.TempDir()
		inc := writeFile(t, dir, "x.conf", "lxc.uts.name = x\n")
		top := writeFile(t, dir, "config", "lxc.include = "+inc+"/\n")
		if _, err := Load(top); err == nil || !strings.HasPrefix(err.Error(), top+":1: lxc.include: ") {
			t.Fatalf("err = %v, want an error at %s:1", err, top)
		}
	})
	t.Run("empty path reads nothing", func(t *testing.T) {
		// LXC takes it as clearing its list of includes.
		c, err := parse(t, "lxc.include =\nlxc.uts.name = x\n")
		if err != nil || c.UTSName != "x" {
			t.Fatalf("UTSName %q, err %v", c.UTSName, err)
		}
	})
	t.Run("loop", func(t *testing.T) {
		dir := t.TempDir()
		a := filepath.Join(dir, "a.conf")
		b := writeFile(t, dir, "b.conf", "lxc.include = "+a+"\n")
		writeFile(t, dir, "a.conf", "lxc.uts.name = a\nlxc.include = "+b+"\n")
		_, err := Load(a)
		want := b + ":1: lxc.include: include loop: " + a + " -> " + b + " -> " + a
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %q", err, want)
		}
	})
	t.Run("self through a directory", func(t *testing.T) {
		dir := t.TempDir()
		d := filepath.Join(dir, "d")
		writeFile(t, dir, "d/a.conf", "lxc.include = "+d+"\n")
		_, err := Load(filepath.Join(d, "a.conf"))
		if err == nil || !strings.Contains(err.Error(), "include loop: ") {
			t.Fatalf("err = %v, want an include loop", err)
		}
	})
	t.Run("loop through a symlink", func(t *testing.T) {
		dir := t.TempDir()
		a := writeFile(t, dir, "a.conf", "lxc.include = "+filepath.Join(dir, "link.conf")+"\n")
		if err := os.Symlink(a, filepath.Join(dir, "link.conf")); err != nil {
			t.Fatal(err)
		}
		_, err := Load(a)
		if err == nil || !strings.Contains(err.Error(), "include loop: ") {
			t.Fatalf("err = %v, want an include loop", err)
		}
	})
	t.Run("depth limit", func(t *testing.T) {
		dir := t.TempDir()
		n := maxIncludeDepth + 2
		for i := range n {
			writeFile(t, dir, chainName(i), "lxc.include = "+filepath.Join(dir, chainName(i+1))+"\n")
		}
		writeFile(t, dir, chainName(n), "lxc.uts.name = deep\n")
		_, err := Load(filepath.Join(dir, chainName(0)))
		if err == nil || !strings.Contains(err.Error(), "nested deeper than") {
			t.Fatalf("err = %v, want a depth error", err)
		}
	})
	t.Run("through Set", func(t *testing.T) {
		dir := t.TempDir()
		inc := writeFile(t, dir, "x.conf", "lxc.uts.name = set\n")
		c := New()
		if err := c.Set("lxc.include", inc); err != nil || c.UTSName != "set" {
			t.Fatalf("UTSName %q, err %v", c.UTSName, err)
		}
		if _, err := c.Get("lxc.include"); err == nil {
			t.Fatal("Get(lxc.include) succeeded; includes are not kept")
		}
	})
}

func chainName(i int) string { return "f" + string(rune('a'+i/26)) + string(rune('a'+i%26)) + ".conf" }

func TestKeys(t *testing.T) {
	keys := Keys()
	if !slices.IsSorted(keys) {
		t.Fatalf("Keys() not sorted: %q", keys)
	}
	if len(slices.Compact(slices.Clone(keys))) != len(keys) {
		t.Fatalf("Keys() has duplicates: %q", keys)
	}
	for _, want := range []string{"lxc.include", "lxc.uts.name", "lxc.net.", "lxc.cgroup.", "lxc.cgroup2.", "lxc.mount.entry"} {
		if !slices.Contains(keys, want) {
			t.Errorf("Keys() lacks %q", want)
		}
	}
	c := New()
	for _, k := range keyTable {
		if k.doc == "" {
			t.Errorf("%s has no doc line", k.name)
		}
		if k.prefix != strings.HasSuffix(k.name, ".") {
			t.Errorf("%s: a prefix key must end in \".\" and only a prefix key may", k.name)
		}
		if k.prefix || k.field == nil {
			continue
		}
		if _, err := c.Get(k.name); err != nil {
			t.Errorf("Get(%q) on defaults: %v", k.name, err)
		}
		if _, ok := legacyReplacement(k.name); ok {
			t.Errorf("%s is both current and legacy", k.name)
		}
	}
}

func TestBounds(t *testing.T) {
	t.Run("warnings", func(t *testing.T) {
		c, err := parse(t, strings.Repeat("x = 1\n", 3*maxWarnings))
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Warnings) != maxWarnings+1 || !strings.HasPrefix(c.Warnings[maxWarnings], "more than") {
			t.Fatalf("%d warnings, last %q", len(c.Warnings), c.Warnings[len(c.Warnings)-1])
		}
	})
	t.Run("size", func(t *testing.T) {
		line := "# " + strings.Repeat("x", 1021) + "\n"
		_, err := parse(t, strings.Repeat(line, maxConfigBytes/len(line)+1))
		if err == nil || !strings.Contains(err.Error(), "exceeds") {
			t.Fatalf("err = %v, want a size error", err)
		}
	})
	t.Run("file size", func(t *testing.T) {
		// ParseFile reads the file itself, one byte past the bound.
		line := "# " + strings.Repeat("x", 1021) + "\n"
		p := writeFile(t, t.TempDir(), "config", strings.Repeat(line, maxConfigBytes/len(line)+1))
		if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "exceeds") {
			t.Fatalf("err = %v, want a size error", err)
		}
		p = writeFile(t, t.TempDir(), "config", strings.Repeat(line, 9)+"lxc.uts.name = big\n")
		if c, err := Load(p); err != nil || c.UTSName != "big" {
			t.Fatalf("a config of %d bytes: %v", 9*len(line), err)
		}
	})
	t.Run("networks", func(t *testing.T) {
		var b strings.Builder
		for i := range maxScannedItems + 1 {
			b.WriteString("lxc.net." + strconv.Itoa(i) + ".type = empty\n")
		}
		_, err := parse(t, b.String())
		want := "c1/config:4097: invalid value \"empty\" for \"lxc.net.4096.type\": more than 4096 networks"
		if err == nil || err.Error() != want {
			t.Fatalf("err = %v, want %q", err, want)
		}
	})
}

// Sizes as LXC takes them: auto, bytes, and binary units with or without B.
func TestByteSize(t *testing.T) {
	for in, want := range map[string]int64{"auto": 131072, "4096": 4096, "64KB": 65536, "64k": 65536, "1M": 1 << 20, "1MB": 1 << 20, "2G": 2 << 30, "10B": 10} {
		if got, err := ByteSize(in); err != nil || got != want {
			t.Errorf("ByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "1T", "-1", "1.5M", "99999999999999999999G"} {
		if got, err := ByteSize(in); err == nil {
			t.Errorf("ByteSize(%q) = %d, want an error", in, got)
		}
	}
}

// LXC does not load a config that sets both lxc.namespace.clone and .keep.
func TestLoadCloneAndKeep(t *testing.T) {
	p := filepath.Join(t.TempDir(), "config")
	if err := os.WriteFile(p, []byte("lxc.namespace.clone = net\nlxc.namespace.keep = user\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "mutually exclusive") {
		t.Errorf("Load with clone and keep: %v, want an error saying they are mutually exclusive", err)
	}
}
