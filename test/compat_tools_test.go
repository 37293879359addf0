package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Compatibility of the lifecycle and config tools with LXC 5.0, run as LXC's
// users and scripts run them.

// debianLXCConfig is where Debian's liblxc-common puts LXC's shared
// config includes.
const debianLXCConfig = "/usr/share/lxc/config"

// requireDebianLXCConfig fails when Debian's shared LXC configs are
// missing: the tests load the real files, not copies.
func requireDebianLXCConfig(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(debianLXCConfig, "userns.conf")); err != nil {
		t.Fatalf("Debian's LXC config files are missing (apt-get install liblxc-common; .ci/run does it): %v", err)
	}
}

// writeContainerConfig puts a config straight into lxcpath/name, as a
// user editing a container's config by hand would.
func (l *lab) writeContainerConfig(name, text string) {
	l.t.Helper()
	dir := filepath.Join(l.path, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(text), 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// Debian's userns.conf ends with "lxc.include = .../userns.conf.d/",
// a directory Debian does not ship: LXC skips it, and so must golxc, or no
// *.userns.conf loads. A missing include file stays an error.
func TestCompatIncludeMissingDirectory(t *testing.T) {
	l := newLab(t)
	requireDebianLXCConfig(t)
	if _, err := os.Stat(filepath.Join(debianLXCConfig, "userns.conf.d")); err == nil {
		t.Logf("%s/userns.conf.d exists on this host: the missing-directory case is covered by the synthetic include below", debianLXCConfig)
	}
	confs, err := filepath.Glob(filepath.Join(debianLXCConfig, "*.conf"))
	if err != nil || len(confs) == 0 {
		t.Fatalf("no *.conf in %s: %v", debianLXCConfig, err)
	}
	for _, inc := range confs {
		n := newName(t)
		l.writeContainerConfig(n, "lxc.include = "+inc+"\nlxc.uts.name = "+n+"\n")
		out, errs, code := l.run("lxc-info", "-n", n, "-c", "lxc.uts.name")
		if code != 0 || out != "lxc.uts.name = "+n+"\n" {
			t.Errorf("config including %s: lxc-info -c lxc.uts.name: exit %d, stdout %q, stderr %q", inc, code, out, errs)
		}
	}

	t.Run("own missing directory", func(t *testing.T) {
		l := l.with(t)
		n := newName(t)
		l.writeContainerConfig(n, "lxc.include = "+filepath.Join(l.aux, "none.d")+"/\nlxc.uts.name = "+n+"\n")
		if out, errs, code := l.run("lxc-info", "-n", n, "-c", "lxc.uts.name"); code != 0 || out != "lxc.uts.name = "+n+"\n" {
			t.Errorf("lxc-info: exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})
	t.Run("missing file is an error", func(t *testing.T) {
		l := l.with(t)
		n := newName(t)
		missing := filepath.Join(l.aux, "none.conf")
		l.writeContainerConfig(n, "lxc.include = "+missing+"\n")
		if _, errs, code := l.run("lxc-info", "-n", n, "-c", "lxc.uts.name"); code != 1 || !strings.Contains(errs, missing) {
			t.Errorf("lxc-info: exit %d, stderr %q; want 1 and the missing file named", code, errs)
		}
	})
	t.Run("the chain is applied", func(t *testing.T) {
		// lxc.mount.auto = sys:rw is userns.conf's, read through
		// debian.userns.conf before the skipped userns.conf.d/.
		l := l.with(t)
		n := newName(t)
		l.writeContainerConfig(n, "lxc.include = "+filepath.Join(debianLXCConfig, "debian.userns.conf")+"\n")
		if out, errs, code := l.run("lxc-info", "-n", n, "-c", "lxc.mount.auto"); code != 0 || out != "lxc.mount.auto = sys:rw\n" {
			t.Errorf("lxc-info -c lxc.mount.auto: exit %d, stdout %q, stderr %q; want sys:rw", code, out, errs)
		}
	})
}

// LXC's lxc-update-config copies FILE to FILE.backup on every run, even
// when nothing needs rewriting: scripts check for the backup. A second run
// leaves FILE as it is.
func TestCompatUpdateConfigBackup(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	current := "# current\nlxc.uts.name = c1\nlxc.net.0.type = empty\n"
	if err := os.WriteFile(path, []byte(current), 0o640); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2; i++ {
		os.Remove(path + ".backup")
		if out, errs, code := run(t, "lxc-update-config", "-c", path); code != 0 || out != "" || errs != "" {
			t.Fatalf("run %d: exit %d, stdout %q, stderr %q", i, code, out, errs)
		}
		if b, err := os.ReadFile(path + ".backup"); err != nil || string(b) != current {
			t.Fatalf("run %d: backup %q, %v; want a copy of the file", i, b, err)
		}
		if b, _ := os.ReadFile(path); string(b) != current {
			t.Fatalf("run %d changed a current config: %q", i, b)
		}
	}
	// A legacy config: the backup is the file before the rewrite.
	legacy := "lxc.utsname = old\n"
	os.WriteFile(path, []byte(legacy), 0o640)
	if _, errs, code := run(t, "lxc-update-config", "--config", path); code != 0 {
		t.Fatalf("legacy: exit %d, stderr %q", code, errs)
	}
	if b, _ := os.ReadFile(path + ".backup"); string(b) != legacy {
		t.Fatalf("legacy: backup %q, want %q", b, legacy)
	}
	if b, _ := os.ReadFile(path); string(b) != "lxc.uts.name = old\n" {
		t.Fatalf("legacy: rewritten %q", b)
	}
	// No argument: usage on stdout, exit 0; a missing file: exit 1.
	if out, _, code := run(t, "lxc-update-config"); code != 0 || !strings.Contains(out, "-c") {
		t.Errorf("no argument: exit %d, stdout %q; want usage and 0", code, out)
	}
	if _, errs, code := run(t, "lxc-update-config", "-c", filepath.Join(dir, "missing")); code != 1 || errs == "" {
		t.Errorf("missing file: exit %d, stderr %q; want 1 and a message", code, errs)
	}
}
