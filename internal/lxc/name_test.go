package lxc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// skipUnlessRoot skips a test that needs root; under CI=true a missing root
// is a failure, not a skip.
func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (CI=true: refusing to skip)")
		}
		t.Skip("needs root")
	}
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr string // "" when the name is accepted; else a substring of the error
	}{
		{name: "plain", in: "c1"},
		{name: "dash inside", in: "web-01"},
		{name: "dot inside", in: "a.b"},
		{name: "underscore", in: "a_b"},
		{name: "trailing dot", in: "a."},
		{name: "unicode letters", in: "café-ünïcødé"},
		{name: "cjk", in: "容器"},
		{name: "200 bytes", in: strings.Repeat("a", 200)},
		{name: "200 bytes of 2-byte runes", in: strings.Repeat("é", 100)},

		{name: "empty", in: "", wantErr: "no container name given"},
		{name: "dot", in: ".", wantErr: "invalid container name"},
		{name: "dotdot", in: "..", wantErr: "invalid container name"},
		{name: "dotdot slash", in: "../x", wantErr: "invalid container name"},
		{name: "slash", in: "a/b", wantErr: "must not contain"},
		{name: "trailing slash", in: "a/", wantErr: "must not contain"},
		{name: "leading slash", in: "/a", wantErr: "must not contain"},
		{name: "hidden", in: ".hidden", wantErr: "must not start with"},
		{name: "leading dash", in: "-x", wantErr: "must not start with"},
		{name: "double dash", in: "--help", wantErr: "must not start with"},
		{name: "newline", in: "a\nb", wantErr: "must not contain"},
		{name: "trailing newline", in: "c1\n", wantErr: "must not contain"},
		{name: "tab", in: "a\tb", wantErr: "must not contain"},
		{name: "space", in: "a b", wantErr: "must not contain"},
		{name: "carriage return", in: "a\rb", wantErr: "must not contain"},
		{name: "NUL", in: "a\x00b", wantErr: "must not contain"},
		{name: "DEL", in: "a\x7fb", wantErr: "must not contain"},
		{name: "escape", in: "a\x1b[31m", wantErr: "must not contain"},
		{name: "C1 control", in: "a\u0085b", wantErr: "must not contain"},
		{name: "no-break space", in: "a\u00a0b", wantErr: "must not contain"},
		{name: "line separator", in: "a\u2028b", wantErr: "must not contain"},
		{name: "201 bytes", in: strings.Repeat("a", 201), wantErr: "longer than 200 bytes"},
		{name: "201 bytes of runes", in: strings.Repeat("é", 100) + "a", wantErr: "longer than 200 bytes"},
		{name: "invalid UTF-8", in: "a\xffb", wantErr: "not valid UTF-8"},
		{name: "truncated rune", in: "caf\xc3", wantErr: "not valid UTF-8"},
		{name: "surrogate half", in: "a\xed\xa0\x80", wantErr: "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateName(tt.in)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("ValidateName(%q) = %v, want accepted", tt.in, err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("ValidateName(%q) accepted, want error containing %q", tt.in, tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("ValidateName(%q) = %q, want it to contain %q", tt.in, err, tt.wantErr)
			}
			if err != nil && strings.ContainsAny(err.Error(), "\n\x00") {
				t.Errorf("error %q holds a raw newline or NUL: it must print as one line", err)
			}
			// New checks the name before anything else.
			if _, nerr := New(t.TempDir(), tt.in); (nerr == nil) != (err == nil) {
				t.Errorf("New(_, %q) error = %v, ValidateName error = %v: must agree", tt.in, nerr, err)
			}
		})
	}
}

// A new container's name is its host name: lxc-create refuses what the
// kernel would refuse there, before anything is made.
func TestCheckCreateName(t *testing.T) {
	tests := []struct {
		name string
		in   string
		ok   bool
	}{
		{name: "64 bytes", in: strings.Repeat("a", 64), ok: true},
		{name: "32 two-byte runes", in: strings.Repeat("é", 32), ok: true},
		{name: "65 bytes", in: strings.Repeat("a", 65)},
		{name: "33 two-byte runes", in: strings.Repeat("é", 33)},
		{name: "200 bytes", in: strings.Repeat("a", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkCreateName(tt.in)
			if tt.ok != (err == nil) {
				t.Fatalf("checkCreateName(%d bytes) = %v, want ok %v", len(tt.in), err, tt.ok)
			}
			if err != nil && (!strings.Contains(err.Error(), "lxc.uts.name") || !strings.Contains(err.Error(), "64")) {
				t.Errorf("error %q should name lxc.uts.name and its 64-byte limit", err)
			}
		})
	}
	// Nothing is made for a name refused.
	skipUnlessRoot(t)
	dir := filepath.Join(t.TempDir(), "lxc")
	c, err := New(dir, strings.Repeat("a", 65))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Create(CreateOptions{Template: "none"}); err == nil {
		t.Fatal("Create of a 65-byte name succeeded")
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Create of a 65-byte name made %s", dir)
	}
}

func TestNewLXCPath(t *testing.T) {
	t.Chdir(t.TempDir())
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, lxcpath, want string
	}{
		{name: "default", lxcpath: "", want: DefaultLXCPath},
		{name: "absolute", lxcpath: "/srv/lxc", want: "/srv/lxc"},
		{name: "cleaned", lxcpath: "/srv//lxc/../lxc/", want: "/srv/lxc"},
		{name: "relative made absolute", lxcpath: "store", want: filepath.Join(wd, "store")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.lxcpath, "c1")
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if c.LXCPath != tt.want {
				t.Errorf("LXCPath = %q, want %q", c.LXCPath, tt.want)
			}
			if got, want := c.Dir(), filepath.Join(tt.want, "c1"); got != want {
				t.Errorf("Dir = %q, want %q", got, want)
			}
			if got, want := c.ConfigPath(), filepath.Join(tt.want, "c1", "config"); got != want {
				t.Errorf("ConfigPath = %q, want %q", got, want)
			}
		})
	}
}
