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
