package lxc

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/containerinit"

	"github.com/golxc/golxc/internal/seccomp"
)

// The spec carries the compiled profile, allow_nesting and no_new_privs;
// a profile the start cannot apply is refused with the key, file and line.
func TestBuildSpecSeccomp(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the profile compiles for x86 machines only")
	}
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := write("good", "2\ndenylist\nmkdir errno 1\nno_such_call errno 1\n")
	layout := layoutOf(t, v2Mountinfo, v2Pid1)

	cfg, _ := specConfig(t, kv("lxc.seccomp.profile", good), kv("lxc.seccomp.allow_nesting", "1"), kv("lxc.no_new_privs", "1"))
	s, _, err := buildSpec("c1", cfg, layout, specOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Seccomp == nil || !s.Seccomp.AllowNesting || !s.OCI.Process.NoNewPrivileges {
		t.Fatalf("spec: seccomp %+v, no_new_privs %v", s.Seccomp, s.OCI.Process.NoNewPrivileges)
	}
	prog, err := seccomp.Decode(s.Seccomp.Program)
	if err != nil || !seccomp.Returns(prog, unix.SECCOMP_RET_ERRNO) {
		t.Fatalf("program: %v", err)
	}
	w := seccompWarnings(cfg)
	if len(w) != 1 || w[0] != good+":4: system call no_such_call is unknown on x86_64: the rule is skipped" {
		t.Errorf("warnings = %q", w)
	}

	cfg, _ = specConfig(t)
	if s, _, err = buildSpec("c1", cfg, layout, specOptions{}); err != nil || s.Seccomp != nil || s.OCI.Process.NoNewPrivileges {
		t.Fatalf("no profile: %v, %+v", err, s.Seccomp)
	}

	for _, tc := range []struct{ text, want string }{
		{"2\nallowlist\nread trace 1x\n", ":3: read: trace \"1x\""},
		{"2\ndenylist\n[x86_64]\nioctl notify\n", ":4: action notify needs lxc.seccomp.notify.proxy"},
	} {
		p := write("bad", tc.text)
		cfg, _ := specConfig(t, kv("lxc.seccomp.profile", p))
		_, _, err := buildSpec("c1", cfg, layout, specOptions{})
		if err == nil || !strings.HasPrefix(err.Error(), "lxc.seccomp.profile: "+p+tc.want) {
			t.Errorf("%q: %v", tc.text, err)
		}
	}
}

// TestRefusedKeyWhere: a key a start refuses, read from a file, is named
// with the file and the line that set it; set with -s (no file), by the
// key alone.
func TestRefusedKeyWhere(t *testing.T) {
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	dir := t.TempDir()
	for _, key := range []string{"lxc.time.offset.boot = 10s", "lxc.mount.fstab = /etc/fstab"} {
		p := filepath.Join(dir, "config")
		text := "lxc.rootfs.path = dir:" + dir + "\n# a comment\n" + key + "\n"
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := config.Load(p)
		if err != nil {
			t.Fatal(err)
		}
		name, value, _ := strings.Cut(key, " = ")
		want := p + ":3: " + name + " is not supported yet"
		if _, _, err := buildSpec("c1", cfg, layout, specOptions{}); err == nil || err.Error() != want {
			t.Errorf("%s: err = %v, want %q", key, err, want)
		}
		// Set again by hand: the file's line no longer set it.
		if err := cfg.Set(name, value); err != nil {
			t.Fatal(err)
		}
		if _, _, err := buildSpec("c1", cfg, layout, specOptions{}); err == nil || err.Error() != name+" is not supported yet" {
			t.Errorf("%s set by hand: err = %v", key, err)
		}
	}
}

// TestBuildSpecSeccompNotify: a policy with a notify action and a proxy
// gives the stage the proxy and cookie; without notify rules the proxy
// is not asked for.
func TestBuildSpecSeccompNotify(t *testing.T) {
	if runtime.GOARCH != "amd64" {
		t.Skip("the profile compiles for x86 machines only")
	}
	layout := layoutOf(t, v2Mountinfo, v2Pid1)
	dir := t.TempDir()
	notify := filepath.Join(dir, "notify")
	plain := filepath.Join(dir, "plain")
	if err := os.WriteFile(notify, []byte("2\ndenylist\nmkdir notify\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(plain, []byte("2\ndenylist\nmkdir errno 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, _ := specConfig(t, kv("lxc.seccomp.profile", notify), kv("lxc.seccomp.notify.proxy", "unix:@golxc-test"), kv("lxc.seccomp.notify.cookie", "c00kie"))
	s, _, err := buildSpec("c1", cfg, layout, specOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Seccomp == nil || s.Seccomp.Notify == nil || *s.Seccomp.Notify != (containerinit.SeccompNotify{Proxy: "unix:@golxc-test", Cookie: "c00kie"}) {
		t.Fatalf("seccomp %+v", s.Seccomp)
	}
	cfg, _ = specConfig(t, kv("lxc.seccomp.profile", plain), kv("lxc.seccomp.notify.proxy", "unix:@golxc-test"))
	if s, _, err = buildSpec("c1", cfg, layout, specOptions{}); err != nil || s.Seccomp == nil || s.Seccomp.Notify != nil {
		t.Fatalf("no notify rule: %v %+v", err, s.Seccomp)
	}
}
