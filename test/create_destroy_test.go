package test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var allTools = []string{"lxc-attach", "lxc-create", "lxc-destroy", "lxc-execute", "lxc-info", "lxc-ls", "lxc-start", "lxc-stop"}

func TestCommonFlags(t *testing.T) {
	t.Parallel()
	requireRoot(t)
	for _, tool := range allTools {
		out, errs, code := run(t, tool, "--help")
		if code != 0 || !strings.Contains(out+errs, tool) {
			t.Errorf("%s --help: exit %d, want 0 and a usage naming %s\nstdout: %s\nstderr: %s", tool, code, tool, out, errs)
		}
		out, errs, code = run(t, tool, "--version")
		if code != 0 || strings.TrimSpace(out) == "" {
			t.Errorf("%s --version: exit %d, want 0 and a version on stdout\nstdout: %s\nstderr: %s", tool, code, out, errs)
		}
	}

	l := newLab(t)
	out, errs, code := l.run("lxc-info", "-q", "-n", "nosuch")
	if code != 1 || errs != "" {
		t.Errorf("lxc-info -q -n nosuch: exit %d stderr %q, want exit 1 and no stderr (stdout %q)", code, errs, out)
	}
}

func TestLogFile(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	log := filepath.Join(l.aux, "start.log")
	l.mustRun("lxc-start", "-n", n, "-o", log, "-l", "DEBUG")
	l.waitState(n, "RUNNING", 10*time.Second)
	l.mustRun("lxc-stop", "-n", n, "-k")
	if fi, err := os.Stat(log); err != nil || fi.Size() == 0 {
		t.Errorf("lxc-start -n %s -o %s -l DEBUG: want a non-empty log file, got %v %v", n, log, fi, err)
	}
}

func TestInvalidNames(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	conf := l.conf()
	bad := []string{"../x", "a/b", "", ".x", "a\nb", "a\x01b", "a\tb"}
	for _, name := range bad {
		for _, tool := range []string{"lxc-create", "lxc-start", "lxc-stop", "lxc-info", "lxc-attach", "lxc-destroy", "lxc-execute"} {
			var args []string
			switch tool {
			case "lxc-create":
				args = []string{"-n", name, "-t", "busybox", "-f", conf}
			case "lxc-execute":
				args = []string{"-n", name, "-f", conf, "--", "/bin/true"}
			case "lxc-attach":
				args = []string{"-n", name, "--", "/bin/true"}
			default:
				args = []string{"-n", name}
			}
			out, errs, code := l.run(tool, args...)
			named := strings.Contains(errs, name) || strings.Contains(errs, strconv.Quote(name)[1:len(strconv.Quote(name))-1])
			if name == "" {
				named = strings.Contains(errs, "name")
			}
			if code != 1 || !named {
				t.Errorf("%s -P %s %s: exit %d, want 1 with an error naming %q\nstdout: %s\nstderr: %s", tool, l.path, shellJoin(args), code, name, out, errs)
			}
		}
	}
	l.assertEmptyLXCPath("invalid names")
	// ../x relative to the lxcpath would be beside it.
	if _, err := os.Lstat(filepath.Join(filepath.Dir(l.path), "x")); err == nil {
		t.Errorf("lxc-create -n ../x created %s", filepath.Join(filepath.Dir(l.path), "x"))
	}
}

func TestUndefinedContainer(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := newName(t)
	for _, c := range [][]string{
		{"lxc-info", "-n", n},
		{"lxc-start", "-n", n},
		{"lxc-attach", "-n", n, "--", "/bin/true"},
		{"lxc-destroy", "-n", n},
	} {
		out, errs, code := l.run(c[0], c[1:]...)
		if code != 1 || !strings.Contains(errs, n+" doesn't exist") {
			t.Errorf("%s -P %s %s: exit %d, want 1 and %q\nstdout: %s\nstderr: %s", c[0], l.path, shellJoin(c[1:]), code, n+" doesn't exist", out, errs)
		}
	}
	l.assertEmptyLXCPath("tools on an undefined container")
}

func TestCreateBusybox(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox("lxc.tty.max = 2")
	dir := filepath.Join(l.path, n)
	for _, f := range []string{"config", "rootfs/bin/busybox", "rootfs/sbin/init", "rootfs/etc/inittab"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("lxc-create -n %s -t busybox: %s missing: %v", n, f, err)
		}
	}
	cfg := readTrim(t, filepath.Join(dir, "config"))
	lines := map[string]bool{}
	for _, line := range strings.Split(cfg, "\n") {
		lines[strings.TrimSpace(line)] = true
	}
	for _, want := range []string{
		"lxc.net.0.type = empty", // from -f
		"lxc.rootfs.path = dir:" + dir + "/rootfs",
		"lxc.uts.name = " + n,
		"lxc.signal.halt = SIGUSR1", // from the template
	} {
		if !lines[want] {
			t.Errorf("lxc-create -n %s -t busybox: config lacks the line %q\nconfig:\n%s", n, want, cfg)
		}
	}
	if strings.Contains(cfg, "/."+n) || strings.Count(cfg, "lxc.rootfs.path") != 1 {
		t.Errorf("lxc-create -n %s: config should name the final rootfs once, not a temp dir\nconfig:\n%s", n, cfg)
	}

	// An existing name is refused and left as it was.
	out, errs, code := l.run("lxc-create", "-n", n, "-t", "busybox", "-f", l.conf())
	if code != 1 || !strings.Contains(errs, "already exists") {
		t.Errorf("lxc-create -n %s (existing): exit %d, want 1 and \"already exists\"\nstdout: %s\nstderr: %s", n, code, out, errs)
	}
	if got := readTrim(t, filepath.Join(dir, "config")); got != cfg {
		t.Errorf("lxc-create -n %s (existing) changed its config:\n%s", n, got)
	}
	if _, err := os.Stat(filepath.Join(dir, "rootfs/bin/busybox")); err != nil {
		t.Errorf("lxc-create -n %s (existing) damaged its rootfs: %v", n, err)
	}
}

func TestCreateTemplateScript(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.newContainer()
	argv := filepath.Join(l.aux, "argv")
	script := l.writeFile("tmpl.sh", `#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done > `+argv+`
printf '%s|%s|%s|%s|%s\n' "$LXC_NAME" "$LXC_PATH" "$LXC_ROOTFS_PATH" "$LXC_CONFIG_FILE" "$(readlink /proc/self/fd/0)" > `+argv+`.env
while [ $# -gt 0 ]; do
	case $1 in
	--path=*) path=${1#*=}; shift ;;
	--rootfs=*) rootfs=${1#*=}; shift ;;
	*) shift ;;
	esac
done
mkdir -p "$rootfs/bin" || exit 1
echo made > "$rootfs/marker"
echo "lxc.tty.max = 3" >> "$path/config"
`, 0o755)
	l.mustRun("lxc-create", "-n", n, "-t", script, "-f", l.conf(), "--", "--flavour", "two words")

	args := strings.Split(strings.TrimSuffix(readTrim(t, argv), "\n"), "\n")
	// LXC 5.0.2's lxc-create: the three as --opt=value, first, in this
	// order (recorded with its own lxc-create and a script like this one).
	opt := map[string]string{}
	for i, o := range []string{"--path", "--name", "--rootfs"} {
		if i < len(args) {
			if v, ok := strings.CutPrefix(args[i], o+"="); ok {
				opt[o] = v
			}
		}
	}
	if opt["--name"] != n || opt["--path"] == "" || opt["--rootfs"] != opt["--path"]+"/rootfs" {
		t.Errorf("lxc-create -t %s: template argv %q, want --path=DIR --name=%s --rootfs=DIR/rootfs first, as LXC's", script, args, n)
	}
	// stdin /dev/null as LXC's; golxc's LXC_* variables name what the
	// options name.
	if env, want := readTrim(t, argv+".env"), strings.Join([]string{n, opt["--path"], opt["--rootfs"], opt["--path"] + "/config", "/dev/null"}, "|"); env != want {
		t.Errorf("lxc-create -t %s: template's LXC_NAME|LXC_PATH|LXC_ROOTFS_PATH|LXC_CONFIG_FILE|stdin = %q, want %q", script, env, want)
	}
	if filepath.Dir(opt["--path"]) != l.path {
		t.Errorf("lxc-create -t %s: --path %q is not in the lxcpath %s (it must be renamed into place)", script, opt["--path"], l.path)
	}
	if len(args) < 2 || args[len(args)-2] != "--flavour" || args[len(args)-1] != "two words" {
		t.Errorf("lxc-create -t %s -- --flavour 'two words': template argv %q, want the template args last", script, args)
	}

	dir := filepath.Join(l.path, n)
	if got := readTrim(t, filepath.Join(dir, "rootfs", "marker")); got != "made" {
		t.Errorf("lxc-create -t %s: rootfs/marker = %q, want made", script, got)
	}
	cfg := readTrim(t, filepath.Join(dir, "config"))
	for _, want := range []string{"lxc.tty.max = 3", "lxc.rootfs.path = dir:" + dir + "/rootfs", "lxc.uts.name = " + n} {
		if !strings.Contains(cfg, want) {
			t.Errorf("lxc-create -t %s: config lacks %q\nconfig:\n%s", script, want, cfg)
		}
	}
	if opt["--path"] != dir && strings.Contains(cfg, opt["--path"]) {
		t.Errorf("lxc-create -t %s: config still names the temp dir %s\nconfig:\n%s", script, opt["--path"], cfg)
	}
	ents, _ := os.ReadDir(l.path)
	if len(ents) != 1 || ents[0].Name() != n {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("lxc-create -t %s: lxcpath holds %v, want only %s", script, names, n)
	}
}

func TestCreateFailures(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		args     func(l *lab) []string
		stderrIn []string
	}{
		{"template exits 3", func(l *lab) []string {
			s := l.writeFile("fail.sh", "#!/bin/sh\nfor a in \"$@\"; do case $a in --rootfs=*) mkdir -p \"${a#--rootfs=}/bin\" ;; esac; done\necho template failing >&2\nexit 3\n", 0o755)
			return []string{"-t", s, "-f", l.conf()}
		}, nil},
		{"-t none, missing rootfs", func(l *lab) []string {
			return []string{"-t", "none", "-f", l.conf("lxc.rootfs.path = dir:/nonexistent/golxc-rootfs")}
		}, []string{"does not exist"}},
		{"--busybox-path /nonexistent", func(l *lab) []string {
			return []string{"-t", "busybox", "-f", l.conf(), "--", "--busybox-path", "/nonexistent"}
		}, nil},
		{"unknown config key", func(l *lab) []string {
			return []string{"-t", "busybox", "-f", l.conf("lxc.foo = 1")}
		}, []string{"lxc.foo"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			requireBusybox(t)
			n := l.newContainer()
			args := append([]string{"-n", n}, c.args(l)...)
			out, errs, code := l.run("lxc-create", args...)
			if code != 1 {
				t.Errorf("lxc-create -P %s %s: exit %d, want 1\nstdout: %s\nstderr: %s", l.path, shellJoin(args), code, out, errs)
			}
			for _, s := range c.stderrIn {
				if !strings.Contains(errs, s) {
					t.Errorf("lxc-create -P %s %s: stderr lacks %q\nstderr: %s", l.path, shellJoin(args), s, errs)
				}
			}
			l.assertEmptyLXCPath("lxc-create " + shellJoin(args))
		})
	}
}

func TestCreateNoneExistingRootfs(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.newContainer()
	rootfs := filepath.Join(l.aux, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	l.mustRun("lxc-create", "-n", n, "-t", "none", "-f", l.conf("lxc.rootfs.path = dir:"+rootfs))
	cfg := readTrim(t, filepath.Join(l.path, n, "config"))
	if !strings.Contains(cfg, rootfs) || !strings.Contains(cfg, "lxc.uts.name = "+n) {
		t.Errorf("lxc-create -n %s -t none: config should keep the rootfs %s and name %s\nconfig:\n%s", n, rootfs, n, cfg)
	}
	out, _, code := l.run("lxc-ls", "-1")
	if code != 0 || strings.TrimSpace(out) != n {
		t.Errorf("lxc-ls -1 after lxc-create -t none: exit %d, got %q, want %q", code, out, n)
	}
}

func TestDestroy(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	pid := l.initPID(n)
	dir := filepath.Join(l.path, n)

	out, errs, code := l.run("lxc-destroy", "-n", n)
	if code != 1 || !strings.Contains(errs, "is running") {
		t.Errorf("lxc-destroy -n %s (running): exit %d, want 1 and \"is running\"\nstdout: %s\nstderr: %s", n, code, out, errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "config")); err != nil {
		t.Errorf("lxc-destroy -n %s (refused) removed its config: %v", n, err)
	}
	if s := l.state(n); s != "RUNNING" || l.initPID(n) != pid {
		t.Errorf("lxc-destroy -n %s (refused): state %s, want RUNNING with init %d", n, s, pid)
	}

	l.mustRun("lxc-destroy", "-n", n, "-f")
	if _, err := os.Lstat(dir); err == nil {
		t.Errorf("lxc-destroy -n %s -f: %s still exists", n, dir)
	}
	if !waitFor(2*time.Second, func() bool { return !alive(pid) }) {
		t.Errorf("lxc-destroy -n %s -f: init %d still alive", n, pid)
	}
	assertNoCgroups(t, n, "lxc-destroy -f")

	// A stopped container goes entirely.
	m := l.createBusybox()
	l.mustRun("lxc-destroy", "-n", m)
	if _, err := os.Lstat(filepath.Join(l.path, m)); err == nil {
		t.Errorf("lxc-destroy -n %s (stopped): %s still exists", m, filepath.Join(l.path, m))
	}
	out, errs, code = l.run("lxc-info", "-n", m)
	if code != 1 || !strings.Contains(errs, m+" doesn't exist") {
		t.Errorf("lxc-info -n %s after destroy: exit %d, want 1 and \"doesn't exist\"\nstdout: %s\nstderr: %s", m, code, out, errs)
	}
	l.assertEmptyLXCPath("lxc-destroy of every container")
}

// TestCreateInterrupted: SIGINT or SIGTERM during the template leaves no
// container and no template behind.
func TestCreateInterrupted(t *testing.T) {
	t.Parallel()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			t.Parallel()
			l := newLab(t)
			n := l.newContainer()
			pidfile := filepath.Join(l.aux, "template.pid")
			script := l.writeFile("slow.sh", `#!/bin/sh
for a in "$@"; do case $a in --rootfs=*) mkdir -p "${a#--rootfs=}/bin" ;; esac; done
echo $$ > `+pidfile+`.tmp && mv `+pidfile+`.tmp `+pidfile+`
exec sleep 60
`, 0o755)
			ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
			defer cancel()
			cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), "lxc-create"), "-P", l.path, "-n", n, "-t", script, "-f", l.conf())
			var stderr syncBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			var tpid int
			if !waitFor(10*time.Second, func() bool {
				b, err := os.ReadFile(pidfile)
				tpid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
				return err == nil && tpid > 0
			}) {
				cancel()
				cmd.Wait()
				t.Fatalf("lxc-create -t %s: the template never ran (stderr %q)", script, stderr.String())
			}
			t.Cleanup(func() {
				if alive(tpid) {
					syscall.Kill(tpid, syscall.SIGKILL)
				}
			})
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Errorf("lxc-create -n %s -t %s, %v during the template: %v, want a failure exit\nstderr: %s", n, script, sig, err, stderr.String())
			}
			l.assertEmptyLXCPath(fmt.Sprintf("lxc-create interrupted by %v", sig))
			if !waitFor(5*time.Second, func() bool { return !alive(tpid) }) {
				t.Errorf("lxc-create -n %s interrupted by %v: its template (pid %d) is still running", n, sig, tpid)
			}
		})
	}
}

// TestDestroyOldLockRunning: a container started by an older golxc holds
// its lock under the old file name (LOCKROOT/LXCPATH/NAME, not .NAME), so
// the lock a destroy takes is free. The destroy must still see, through
// the monitor's socket, that it runs: refused without -f, killed first
// with -f; never removed from under a running container.
func TestDestroyOldLockRunning(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	c := l.startBusybox()
	oldLock(t, l, c)
	renamed := l.newContainer()
	if _, errs, code := l.run("lxc-copy", "-n", c, "-N", renamed, "-R"); code != 1 || !strings.Contains(errs, "RUNNING") {
		t.Errorf("lxc-copy -R of a running container whose monitor holds the old lock file: exit %d stderr %q, want 1 (running)", code, errs)
	}
	_, errs, code := l.run("lxc-destroy", "-n", c)
	if code != 1 || !strings.Contains(errs, c+" is running") {
		t.Errorf("lxc-destroy (no -f) of a running container whose monitor holds the old lock file: exit %d stderr %q, want 1 and \"%s is running\"", code, errs, c)
	}
	if st := l.state(c); st != "RUNNING" {
		t.Errorf("after the refused destroy: state %s, want RUNNING", st)
	}
	if _, err := os.Stat(filepath.Join(l.path, c, "config")); err != nil {
		t.Errorf("the refused destroy removed the running container: %v", err)
	}
	l.mustRun("lxc-destroy", "-n", c, "-f")
	if _, err := os.Lstat(filepath.Join(l.path, c)); err == nil {
		t.Errorf("lxc-destroy -f left %s", c)
	}
}

// oldLock moves running container c's lock file to the name an older
// golxc gave it: its monitor keeps the flock, the new name is free.
func oldLock(t *testing.T, l *lab, c string) {
	t.Helper()
	real, err := filepath.EvalSymlinks(l.path)
	if err != nil {
		t.Fatal(err)
	}
	lockDir := filepath.Join("/run/golxc/lock", real)
	oldPath := filepath.Join(lockDir, c)
	if err := os.Rename(filepath.Join(lockDir, "."+c), oldPath); err != nil {
		t.Fatal(err)
	}
	// Runs before the container's own cleanup: lxc-stop waits for the
	// lock of the new name, which this monitor does not hold, so its
	// exit is awaited here.
	t.Cleanup(func() {
		run(t, "lxc-stop", "-P", l.path, "-n", c, "-k")
		waitFor(5*time.Second, func() bool { return len(monitorPIDs(l.path, c)) == 0 })
		os.Remove(oldPath)
		os.Remove(lockDir)
	})
}

// TestEphemeralOldLockRunning: a running ephemeral container whose
// monitor holds the old lock file is not taken for one whose monitor was
// killed (and reaped) by the next tool that looks it up.
func TestEphemeralOldLockRunning(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	c := l.createBusybox("lxc.ephemeral = 1")
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 10*time.Second)
	oldLock(t, l, c)
	l.run("lxc-ls")
	if st := l.state(c); st != "RUNNING" {
		t.Errorf("after lxc-ls: state %s, want RUNNING", st)
	}
	if _, err := os.Stat(filepath.Join(l.path, c, "config")); err != nil {
		t.Errorf("lxc-ls reaped the running ephemeral container: %v", err)
	}
}

// mountTmpfsWithFile mounts a small tmpfs holding the file keep at dir
// (made first), unmounted at the test's end, and returns keep's path.
func mountTmpfsWithFile(t *testing.T, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", dir, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	keep := filepath.Join(dir, "keep")
	if err := os.WriteFile(keep, []byte("host data"), 0o644); err != nil {
		t.Fatal(err)
	}
	return keep
}

// TestDestroyKeepsMounts: a tmpfs bind-mounted into a stopped container's
// rootfs is not emptied by lxc-destroy: the destroy is refused at once,
// in one line naming the mount point, and the container is left whole;
// once unmounted it goes.
func TestDestroyKeepsMounts(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	mnt := filepath.Join(l.path, n, "rootfs", "mnt")
	keep := mountTmpfsWithFile(t, mnt)

	out, errs, code := l.run("lxc-destroy", "-n", n)
	want := "destroy " + n + ": " + mnt + " is a mount point: unmount it first"
	if code != 1 || strings.Count(strings.TrimSpace(errs), "\n") != 0 || !strings.Contains(errs, want) {
		t.Errorf("lxc-destroy -n %s with a mount in its rootfs: exit %d, want 1 and one line %q\nstdout: %s\nstderr: %s", n, code, want, out, errs)
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "host data" {
		t.Errorf("the mounted tmpfs's file after lxc-destroy: %q, %v; want it kept", b, err)
	}
	for _, f := range []string{"config", "rootfs/bin/busybox"} {
		if _, err := os.Lstat(filepath.Join(l.path, n, f)); err != nil {
			t.Errorf("lxc-destroy (refused) removed %s: %v", f, err)
		}
	}
	if err := syscall.Unmount(mnt, 0); err != nil {
		t.Fatal(err)
	}
	l.mustRun("lxc-destroy", "-n", n)
	if _, err := os.Lstat(filepath.Join(l.path, n)); err == nil {
		t.Errorf("lxc-destroy -n %s after the unmount: its directory is still there", n)
	}
}

// TestSweepKeepsMounts: a leftover work directory of a killed destroy
// with a mount in it is not emptied by the next create's sweep: the
// removal never crosses into another mount.
func TestSweepKeepsMounts(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	left := filepath.Join(l.path, ".gone"+".destroying-123")
	if err := os.MkdirAll(filepath.Join(left, "gone", "rootfs", "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	mnt := filepath.Join(left, "gone", "rootfs", "mnt")
	keep := mountTmpfsWithFile(t, mnt)
	l.createBusybox()
	if b, err := os.ReadFile(keep); err != nil || string(b) != "host data" {
		t.Errorf("the mounted tmpfs's file after the sweep: %q, %v; want it kept", b, err)
	}
	if _, err := os.Lstat(filepath.Join(left, "gone", "rootfs", "etc")); err == nil {
		t.Errorf("the sweep left the rest of %s: want everything but the mount removed", left)
	}
	if err := syscall.Unmount(mnt, 0); err != nil {
		t.Fatal(err)
	}
	l.createBusybox()
	if _, err := os.Lstat(left); err == nil {
		t.Errorf("the sweep after the unmount left %s", left)
	}
}

// TestBusyboxAppletsShareInode: the busybox template's applets are hard
// links to the one binary, not an inode each (LXC's symlinks): ~300
// fewer inodes a container, which on a busy ext4 (the allocator skipping
// recently deleted inodes) made up most of lxc-create's time.
func TestBusyboxAppletsShareInode(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	bin := filepath.Join(l.path, n, "rootfs", "bin")
	var bb syscall.Stat_t
	if err := syscall.Stat(filepath.Join(bin, "busybox"), &bb); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(bin)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) < 100 {
		t.Fatalf("%s holds %d entries, want busybox's applets", bin, len(ents))
	}
	for _, e := range ents {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(bin, e.Name()), &st); err != nil {
			t.Fatal(err)
		}
		if st.Ino != bb.Ino {
			t.Errorf("%s/%s is inode %d (mode %o), not busybox's %d", bin, e.Name(), st.Ino, st.Mode, bb.Ino)
		}
	}
	if out := l.mustRun("lxc-execute", "-n", n, "--", "/bin/sh", "-c", "echo ok"); strings.TrimSpace(out) != "ok" {
		t.Errorf("sh in the container: %q", out)
	}
}
