package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/golxc/golxc/internal/config"
)

func TestLxcConfig(t *testing.T) {
	sys := filepath.Join(t.TempDir(), "lxc.conf")
	if err := os.WriteFile(sys, []byte("lxc.lxcpath = /srv/lxc\nlxc.cgroup.pattern = lxc/%n\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(config.SystemConfigEnv, sys)
	tests := []struct {
		args         []string
		code         int
		stdout, errs string
	}{
		{args: []string{"-l"}, stdout: strings.Join(config.SystemKeys(), "\n") + "\n"},
		{args: []string{"lxc.lxcpath"}, stdout: "/srv/lxc\n"},
		{args: []string{"lxc.bdev.zfs.root"}, stdout: "lxc\n"},
		{args: []string{"lxc.cgroup.pattern"}, stdout: "lxc/%n\n"},
		{args: []string{"lxc.cgroup.use"}, stdout: "lxc.cgroup.use is not set.\n"},
		{args: []string{"lxc.bogus"}, code: 1, stdout: "Unknown configuration item: lxc.bogus\n"},
		{args: []string{"lxc.lxcpath", "ignored"}, stdout: "/srv/lxc\n"},
		{args: nil, stdout: configUsage},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, out, errs := runMain(t, append([]string{"lxc-config"}, tt.args...)...)
			if code != tt.code || out != tt.stdout || errs != tt.errs {
				t.Fatalf("code %d stdout %q stderr %q; want %d %q %q", code, out, errs, tt.code, tt.stdout, tt.errs)
			}
		})
	}
}

func TestLxcUpdateConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	orig := "# keep me\nlxc.utsname = c1\n\nlxc.network.type = veth # not a comment\nlxc.network.link = br0\nlxc.tty = 2\n"
	if err := os.WriteFile(path, []byte(orig), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runMain(t, "lxc-update-config", "-c", path)
	if code != 0 || out != "" || errs != "" {
		t.Fatalf("code %d stdout %q stderr %q", code, out, errs)
	}
	want := "# keep me\nlxc.uts.name = c1\n\nlxc.net.0.type = veth # not a comment\nlxc.net.0.link = br0\nlxc.tty.max = 2\n"
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Fatalf("updated %q, want %q", b, want)
	}
	if b, _ := os.ReadFile(path + ".backup"); string(b) != orig {
		t.Fatalf("backup %q", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v", st.Mode())
	}
	// A second run changes nothing, but, as LXC's, copies the file as
	// it is to the backup again.
	if code, _, errs := runMain(t, "lxc-update-config", "--config="+path); code != 0 || errs != "" {
		t.Fatalf("second run: %d %q", code, errs)
	}
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Fatalf("second run changed the file: %q", b)
	}
	if b, _ := os.ReadFile(path + ".backup"); string(b) != want {
		t.Fatalf("second run's backup %q, want the file as it was (%q)", b, want)
	}
	// A current config gets its backup too.
	cur := filepath.Join(dir, "current")
	os.WriteFile(cur, []byte(want), 0o640)
	if code, _, errs := runMain(t, "lxc-update-config", "-c", cur); code != 0 || errs != "" {
		t.Fatalf("current config: %d %q", code, errs)
	}
	if b, err := os.ReadFile(cur + ".backup"); err != nil || string(b) != want {
		t.Fatalf("current config's backup %q, %v", b, err)
	}
	// Errors name the file.
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("\nlxc.network.link = br0\n"), 0o644)
	if code, _, errs := runMain(t, "lxc-update-config", "-c", bad); code != 1 || !strings.Contains(errs, bad+":2: lxc.network.link comes before any lxc.network.type") {
		t.Fatalf("code %d stderr %q", code, errs)
	}
	if code, _, errs := runMain(t, "lxc-update-config", "-c", filepath.Join(dir, "nope")); code != 1 || !strings.Contains(errs, "no such file") {
		t.Fatalf("missing file: code %d stderr %q", code, errs)
	}
}
