package test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lxcTemplates is where Debian's lxc package keeps LXC's templates.
const lxcTemplates = "/usr/share/lxc/templates"

// TestCreateLXCTemplates runs LXC's own template scripts under golxc's
// lxc-create: named templates are looked up in golxc's directory first,
// then in LXC's, and LXC's lxc-busybox builds a container that starts.
func TestCreateLXCTemplates(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(filepath.Join(lxcTemplates, "lxc-busybox")); err != nil {
		t.Skip("Debian's lxc package is not installed (no " + lxcTemplates + "/lxc-busybox)")
	}
	l := newLab(t)
	requireBusybox(t)

	t.Run("lxc-busybox", func(t *testing.T) {
		l := l.with(t)
		n := l.newContainer()
		l.mustRun("lxc-create", "-n", n, "-f", l.conf(), "-t", filepath.Join(lxcTemplates, "lxc-busybox"))
		// LXC's busybox binds the host's libraries read-only; golxc's
		// own does not: this is LXC's script's config.
		if cfg := readTrim(t, filepath.Join(l.path, n, "config")); !strings.Contains(cfg, "lxc.mount.entry = /lib lib none ro,bind") {
			t.Fatalf("config is not lxc-busybox's:\n%s", cfg)
		}
		l.mustRun("lxc-start", "-n", n)
		l.waitState(n, "RUNNING", 10*time.Second)
		if got := strings.TrimSpace(l.attach(n, "/bin/busybox", "uname", "-n")); got != n {
			t.Errorf("uname -n in LXC's busybox container: %q, want %q", got, n)
		}
		l.mustRun("lxc-stop", "-n", n)
	})

	t.Run("golxc-first", func(t *testing.T) {
		l := l.with(t)
		// busybox is in both directories: golxc's is taken.
		n := l.newContainer()
		l.mustRun("lxc-create", "-n", n, "-f", l.conf(), "-t", "busybox")
		if cfg := readTrim(t, filepath.Join(l.path, n, "config")); strings.Contains(cfg, "lxc.mount.entry = /lib lib") {
			t.Errorf("-t busybox ran LXC's template, not golxc's:\n%s", cfg)
		}
		// A name only LXC has is found in LXC's directory.
		_, errs, code := l.run("lxc-create", "-n", l.newContainer(), "-f", l.conf(), "-t", "sshd", "--", "--help")
		if strings.Contains(errs, "unknown template") {
			t.Errorf("-t sshd: not found in %s: exit %d, %s", lxcTemplates, code, errs)
		}
		_, errs, code = l.run("lxc-create", "-n", l.newContainer(), "-f", l.conf(), "-t", "nosuch")
		if code == 0 || !strings.Contains(errs, `unknown template "nosuch"`) || !strings.Contains(errs, lxcTemplates) {
			t.Errorf("-t nosuch: exit %d, stderr %q; want unknown, naming the directories with %s", code, errs, lxcTemplates)
		}
	})

	t.Run("lxc-download", func(t *testing.T) {
		const host = "images.linuxcontainers.org"
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := net.DefaultResolver.LookupHost(ctx, host); err != nil {
			t.Skipf("lxc-download needs %s, which this machine cannot reach: %v", host, err)
		}
		l := l.with(t)
		n := l.newContainer()
		out, errs, code := l.runWith(runOpts{timeout: 5 * time.Minute}, "lxc-create", "-n", n, "-f", l.conf(), "-t", "download", "--", "-d", "alpine", "-r", "3.19", "-a", "amd64")
		if code != 0 {
			t.Fatalf("lxc-create -t download: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
		}
		if _, err := os.Stat(filepath.Join(l.path, n, "rootfs", "etc", "alpine-release")); err != nil {
			t.Errorf("lxc-download's alpine rootfs: %v", err)
		}
	})
}
