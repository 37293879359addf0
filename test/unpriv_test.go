package test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// unprivUser is a user the test made to run golxc's tools as, with what an
// unprivileged container needs: /etc/subuid and /etc/subgid ranges, a
// runtime directory, and a cgroup delegated to it.
type unprivUser struct {
	t          *testing.T
	name       string
	uid, gid   int
	home       string
	xdg        string
	subStart   int    // first id of its /etc/subuid and /etc/subgid range
	cgroup     string // its delegated cgroup ("" until delegate)
	cgroupFile *os.File
	v1cgroup   string // its delegated v1 memory cgroup ("" until delegateV1)
}

// unprivRange is the size of the user's id range.
const unprivRange = 65536

// unifiedRoot is the cgroup2 hierarchy of this hybrid host.
const unifiedRoot = "/sys/fs/cgroup/unified"

// newUnprivUser makes a user with a unique name and its runtime
// directory; with ranges, its /etc/subuid and /etc/subgid lines too. All of
// it goes in the test's cleanup, which runs even on failure.
func newUnprivUser(t *testing.T, ranges bool) *unprivUser {
	t.Helper()
	requireRoot(t)
	requireBusybox(t)
	for _, tool := range []string{"useradd", "userdel", "newuidmap", "newgidmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is missing (passwd and uidmap packages): %v", tool, err)
		}
	}
	if _, err := os.Stat(filepath.Join(unifiedRoot, "cgroup.procs")); err != nil {
		t.Skipf("no cgroup2 hierarchy at %s: %v", unifiedRoot, err)
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	u := &unprivUser{t: t, name: "glx" + hex.EncodeToString(b)}
	// SUB_UID_COUNT=0: useradd adds no range of its own; the test adds
	// exactly the lines it removes.
	if out, err := exec.Command("useradd", "-m", "-s", "/bin/sh", "-K", "SUB_UID_COUNT=0", "-K", "SUB_GID_COUNT=0", u.name).CombinedOutput(); err != nil {
		t.Fatalf("useradd %s: %v: %s", u.name, err, out)
	}
	t.Cleanup(func() {
		u.killLeftovers()
		if out, err := exec.Command("userdel", "-r", "-f", u.name).CombinedOutput(); err != nil {
			t.Errorf("userdel -r %s: %v: %s", u.name, err, out)
		}
	})
	pw, err := user.Lookup(u.name)
	if err != nil {
		t.Fatal(err)
	}
	u.uid, _ = strconv.Atoi(pw.Uid)
	u.gid, _ = strconv.Atoi(pw.Gid)
	u.home = pw.HomeDir
	for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
		if lines := subIDLines(t, f, u.name); len(lines) > 0 {
			t.Fatalf("useradd added %v to %s despite SUB_UID_COUNT=0", lines, f)
		}
	}
	u.xdg = filepath.Join("/run/user", pw.Uid)
	if _, err := os.Lstat(u.xdg); err == nil {
		t.Fatalf("%s exists already: not the test's to use", u.xdg)
	}
	if err := os.MkdirAll("/run/user", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(u.xdg, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(u.xdg) })
	if err := os.Chown(u.xdg, u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	if ranges {
		// A range no other test maps (they use 100000 and up): a
		// container of this user must never share ids with one of root's.
		var r [2]byte
		if _, err := rand.Read(r[:]); err != nil {
			t.Fatal(err)
		}
		u.subStart = 1<<24 + int(binary.BigEndian.Uint16(r[:])%4096)*unprivRange
		for _, f := range []string{"/etc/subuid", "/etc/subgid"} {
			line := fmt.Sprintf("%s:%d:%d", u.name, u.subStart, unprivRange)
			addSubIDLine(t, f, line)
		}
	}
	return u
}

// killLeftovers kills, by pid, any process of the test's user or of its
// mapped ids still running (a monitor or container a failed test left).
func (u *unprivUser) killLeftovers() {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st syscall.Stat_t
		if syscall.Stat("/proc/"+e.Name(), &st) != nil {
			continue
		}
		mine := int(st.Uid) == u.uid || u.subStart != 0 && int(st.Uid) >= u.subStart && int(st.Uid) < u.subStart+unprivRange
		if mine {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// subIDLock takes shadow's lock of an id file (f + ".lock", made with
// O_EXCL and holding our pid, as useradd and userdel make it), so no
// edit of ours and no edit of theirs interleave.
func subIDLock(t *testing.T, f string) func() {
	t.Helper()
	lock := f + ".lock"
	deadline := time.Now().Add(20 * time.Second)
	for {
		fd, err := os.OpenFile(lock, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			fmt.Fprintf(fd, "%d", os.Getpid())
			fd.Close()
			return func() { os.Remove(lock) }
		}
		if !errors.Is(err, os.ErrExist) || time.Now().After(deadline) {
			t.Fatalf("lock %s: %v", f, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// addSubIDLine appends line to f under its lock, and removes exactly that
// line again in cleanup: nothing else of the file is touched.
func addSubIDLine(t *testing.T, f, line string) {
	t.Helper()
	unlock := subIDLock(t, f)
	fd, err := os.OpenFile(f, os.O_WRONLY|os.O_APPEND, 0)
	if err == nil {
		_, err = fd.WriteString(line + "\n")
		fd.Close()
	}
	unlock()
	if err != nil {
		t.Fatalf("append to %s: %v", f, err)
	}
	t.Cleanup(func() { removeSubIDLine(t, f, line) })
}

// removeSubIDLine removes the first line of f that is exactly line, in
// place under the file's lock.
func removeSubIDLine(t *testing.T, f, line string) {
	unlock := subIDLock(t, f)
	defer unlock()
	b, err := os.ReadFile(f)
	if err != nil {
		t.Errorf("read %s: %v", f, err)
		return
	}
	lines := strings.SplitAfter(string(b), "\n")
	for i, l := range lines {
		if strings.TrimSuffix(l, "\n") == line {
			rest := strings.Join(append(lines[:i:i], lines[i+1:]...), "")
			if err := os.WriteFile(f, []byte(rest), 0); err != nil {
				t.Errorf("rewrite %s: %v", f, err)
			}
			return
		}
	}
}

// subIDLines are the lines of f for user name.
func subIDLines(t *testing.T, f, name string) []string {
	t.Helper()
	b, err := os.ReadFile(f)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, name+":") {
			out = append(out, l)
		}
	}
	return out
}

// delegate makes a cgroup on the unified hierarchy and hands it to the
// user as root would (the directory, cgroup.procs, cgroup.subtree_control
// and cgroup.threads); the user's tools are then born in it. Cleanup
// removes it and whatever is left below it (empty).
func (u *unprivUser) delegate() {
	t := u.t
	t.Helper()
	u.cgroup = filepath.Join(unifiedRoot, "golxc-test-"+u.name)
	if err := os.Mkdir(u.cgroup, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if u.cgroupFile != nil {
			u.cgroupFile.Close()
			u.cgroupFile = nil
		}
		subs, _ := os.ReadDir(u.cgroup)
		for _, s := range subs {
			if s.IsDir() {
				if err := rmCgroupTree(filepath.Join(u.cgroup, s.Name())); err != nil {
					t.Errorf("remove %s: %v", s.Name(), err)
				}
			}
		}
		if err := syscall.Rmdir(u.cgroup); err != nil {
			t.Errorf("rmdir %s: %v", u.cgroup, err)
		}
	})
	for _, f := range []string{"", "cgroup.procs", "cgroup.subtree_control", "cgroup.threads"} {
		if err := os.Chown(filepath.Join(u.cgroup, f), u.uid, u.gid); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(u.cgroup)
	if err != nil {
		t.Fatal(err)
	}
	u.cgroupFile = f
}

// delegateV1 makes a cgroup in the v1 memory hierarchy and gives the
// directory and its cgroup.procs to the user (as pam_cgfs does); the
// user's tools move themselves into it before they run.
func (u *unprivUser) delegateV1() {
	t := u.t
	t.Helper()
	mem := "/sys/fs/cgroup/memory"
	if _, err := os.Stat(filepath.Join(mem, "cgroup.procs")); err != nil {
		t.Skipf("no v1 memory hierarchy: %v", err)
	}
	u.v1cgroup = filepath.Join(mem, "golxc-test-"+u.name)
	if err := os.Mkdir(u.v1cgroup, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		u.v1cgroup = ""
		// The user's shared monitor stays a moment after its last
		// container.
		var err error
		waitFor(5*time.Second, func() bool { err = rmCgroupTree(filepath.Join(mem, "golxc-test-"+u.name)); return err == nil })
		if err != nil {
			t.Errorf("remove the v1 test cgroup: %v", err)
		}
	})
	for _, f := range []string{"", "cgroup.procs"} {
		if err := os.Chown(filepath.Join(u.v1cgroup, f), u.uid, u.gid); err != nil {
			t.Fatal(err)
		}
	}
}

// rmCgroupTree removes a cgroup directory and its children, deepest
// first, waiting a little for exiting processes.
func rmCgroupTree(dir string) error {
	subs, _ := os.ReadDir(dir)
	for _, s := range subs {
		if s.IsDir() {
			if err := rmCgroupTree(filepath.Join(dir, s.Name())); err != nil {
				return err
			}
		}
	}
	var err error
	for i := 0; i < 50; i++ {
		if err = syscall.Rmdir(dir); err == nil || errors.Is(err, syscall.ENOENT) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// run runs a golxc tool as the user, in its home, with its environment
// (HOME, USER, XDG_RUNTIME_DIR) and, once delegated, in its cgroup.
func (u *unprivUser) run(tool string, args ...string) (stdout, stderr string, code int) {
	t := u.t
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	path := tool
	if !filepath.IsAbs(tool) {
		path = filepath.Join(binDir(t), tool)
	}
	cmd := exec.CommandContext(ctx, path, args...)
	if u.v1cgroup != "" {
		// A v1 cgroup is entered by the process itself (no clone into
		// it): the shell moves into it and execs the tool.
		cmd = exec.CommandContext(ctx, "/bin/sh", append([]string{"-c", `echo $$ > "$0" && exec "$@"`, filepath.Join(u.v1cgroup, "cgroup.procs"), path}, args...)...)
	}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Dir = u.home
	cmd.Env = []string{"HOME=" + u.home, "USER=" + u.name, "LOGNAME=" + u.name, "XDG_RUNTIME_DIR=" + u.xdg,
		"PATH=" + binDir(t) + ":/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: []uint32{}}}
	if u.cgroupFile != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(u.cgroupFile.Fd())
	}
	cmd.WaitDelay = 10 * time.Second
	err := cmd.Run()
	stdout, stderr = out.String(), errb.String()
	if ctx.Err() != nil {
		t.Errorf("%s %s as %s: timed out\nstdout: %s\nstderr: %s", tool, shellJoin(args), u.name, stdout, stderr)
		return stdout, stderr, -1
	}
	if errors.Is(err, exec.ErrWaitDelay) {
		t.Errorf("%s %s as %s: its stdout/stderr stayed open", tool, shellJoin(args), u.name)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) && !errors.Is(err, exec.ErrWaitDelay) {
		t.Fatalf("%s %s as %s: %v", tool, shellJoin(args), u.name, err)
	}
	return stdout, stderr, cmd.ProcessState.ExitCode()
}

// runOnTerminal runs a tool as the user on a terminal of the host's
// devpts (the user's own, its controlling terminal, as at a login), and
// returns what the terminal showed and the exit code.
func (u *unprivUser) runOnTerminal(tool string, args ...string) (string, int) {
	t := u.t
	t.Helper()
	master, slave := openPty(t)
	if err := slave.Chown(u.uid, u.gid); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(binDir(t), tool), args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.Dir = u.home
	cmd.Env = []string{"HOME=" + u.home, "USER=" + u.name, "XDG_RUNTIME_DIR=" + u.xdg, "TERM=xterm",
		"PATH=" + binDir(t) + ":/usr/sbin:/usr/bin:/sbin:/bin"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0,
		Credential: &syscall.Credential{Uid: uint32(u.uid), Gid: uint32(u.gid), Groups: []uint32{}}}
	if u.cgroupFile != nil {
		cmd.SysProcAttr.UseCgroupFD = true
		cmd.SysProcAttr.CgroupFD = int(u.cgroupFile.Fd())
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	var out bytes.Buffer
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(&out, master)
		close(done)
	}()
	err := cmd.Wait()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%s %s as %s on a terminal: %v", tool, shellJoin(args), u.name, err)
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n"), cmd.ProcessState.ExitCode()
}

func (u *unprivUser) mustRun(tool string, args ...string) string {
	u.t.Helper()
	out, errOut, code := u.run(tool, args...)
	if code != 0 {
		u.t.Fatalf("%s %s as %s: exit %d\nstdout: %s\nstderr: %s", tool, shellJoin(args), u.name, code, out, errOut)
	}
	return out
}

// writeUserFile writes a file of the user's under its home.
func (u *unprivUser) writeUserFile(rel, content string) string {
	u.t.Helper()
	p := filepath.Join(u.home, rel)
	for d := filepath.Dir(p); d != u.home && strings.HasPrefix(d, u.home); d = filepath.Dir(d) {
		defer os.Chown(d, u.uid, u.gid)
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		u.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		u.t.Fatal(err)
	}
	if err := os.Chown(p, u.uid, u.gid); err != nil {
		u.t.Fatal(err)
	}
	return p
}

// defaultConf is the user's ~/.config/lxc/default.conf, LXC's place for an
// unprivileged user's maps: its range, and no network yet.
func (u *unprivUser) defaultConf() {
	u.writeUserFile(".config/lxc/default.conf", fmt.Sprintf("lxc.net.0.type = empty\nlxc.idmap = u 0 %d %d\nlxc.idmap = g 0 %d %d\n", u.subStart, unprivRange, u.subStart, unprivRange))
}

// A user with /etc/subuid and /etc/subgid ranges and a delegated cgroup
// creates, starts, inspects, lists, stops and destroys a busybox container
// in ~/.local/share/lxc with no -P and no -f (LXC's user defaults): the
// template runs as the mapped root, the init runs as the user's first
// subordinate id on the host, in lxc.payload.NAME under the delegated
// cgroups (the unified one, and a v1 memory one as pam_cgfs delegates;
// the other v1 controllers, root's, are skipped), and nothing is left
// behind.
func TestUnprivContainer(t *testing.T) {
	u := newUnprivUser(t, true)
	u.delegate()
	u.delegateV1()
	u.defaultConf()
	name := newName(t)
	lxcpath := filepath.Join(u.home, ".local", "share", "lxc")
	t.Cleanup(func() {
		u.run("lxc-stop", "-n", name, "-k")
		u.run("lxc-destroy", "-n", name, "-f")
	})

	// The user's defaults are LXC's: golxc's lxc-config says what Debian's
	// says for the same user.
	for _, key := range []string{"lxc.lxcpath", "lxc.default_config"} {
		got := strings.TrimSpace(u.mustRun("lxc-config", key))
		if _, err := os.Stat("/usr/bin/lxc-config"); err == nil {
			if want := strings.TrimSpace(u.mustRun("/usr/bin/lxc-config", key)); got != want {
				t.Errorf("lxc-config %s as the user = %q, LXC's = %q", key, got, want)
			}
		}
		if key == "lxc.lxcpath" && got != lxcpath {
			t.Errorf("lxc-config lxc.lxcpath as the user = %q, want %q", got, lxcpath)
		}
	}

	u.mustRun("lxc-create", "-n", name, "-t", "busybox")
	cfg, err := os.ReadFile(filepath.Join(lxcpath, name, "config"))
	if err != nil {
		t.Fatalf("lxc-create made no config in the user's default lxcpath: %v", err)
	}
	if !strings.Contains(string(cfg), fmt.Sprintf("lxc.idmap = u 0 %d", u.subStart)) {
		t.Errorf("the config was not seeded from ~/.config/lxc/default.conf:\n%s", cfg)
	}
	for p, want := range map[string]int{filepath.Join(lxcpath, name): u.uid, filepath.Join(lxcpath, name, "config"): u.uid,
		filepath.Join(lxcpath, name, "rootfs"): u.subStart, filepath.Join(lxcpath, name, "rootfs", "bin", "busybox"): u.subStart} {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		if int(st.Uid) != want {
			t.Errorf("%s: owner %d, want %d", p, st.Uid, want)
		}
	}

	u.mustRun("lxc-start", "-n", name)
	if s := strings.TrimSpace(u.mustRun("lxc-info", "-n", name, "-s", "-H")); s != "RUNNING" {
		t.Fatalf("lxc-info -s = %q, want RUNNING", s)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(u.mustRun("lxc-info", "-n", name, "-p", "-H")))
	if err != nil {
		t.Fatal(err)
	}
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := fmt.Sprintf("\t%d\t%d\t%d\t%d", u.subStart, u.subStart, u.subStart, u.subStart)
	for _, l := range strings.Split(string(status), "\n") {
		if (strings.HasPrefix(l, "Uid:") || strings.HasPrefix(l, "Gid:")) && !strings.HasSuffix(l, wantIDs) {
			t.Errorf("init's %q, want %d everywhere (the mapped root)", l, u.subStart)
		}
	}
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"0::/" + filepath.Base(u.cgroup) + "/lxc.payload." + name + "\n",
		":memory:/" + filepath.Base(u.v1cgroup) + "/lxc.payload." + name + "\n", ":pids:/\n"} {
		if !strings.Contains(string(cg), want) {
			t.Errorf("init's cgroups:\n%s\nwant the line %q", cg, want)
		}
	}
	if info := u.mustRun("lxc-info", "-n", name); !strings.Contains(info, "Memory use:") {
		t.Errorf("lxc-info shows no memory use from the delegated memory cgroup:\n%s", info)
	}
	// The container's own monitor's, or the user's shared monitor's (the
	// default layout).
	_, errOwn := os.Stat(filepath.Join(u.cgroup, "lxc.monitor."+name))
	_, errShared := os.Stat(filepath.Join(u.cgroup, "lxc.monitor.golxc-shared"))
	if errOwn != nil && errShared != nil {
		t.Errorf("no monitor cgroup under the delegated one: %v; %v", errOwn, errShared)
	}
	// The payload cgroup is the container's root's to manage (its
	// systemd makes children there) through its group, and still the
	// user's: the mapped root makes a nested child cgroup, which lxc-stop
	// removes with it; a user sharing the user's primary group gets
	// nothing.
	for _, base := range []string{u.cgroup, u.v1cgroup} {
		payload := filepath.Join(base, "lxc.payload."+name)
		for _, p := range []string{payload, filepath.Join(payload, "cgroup.procs")} {
			var st syscall.Stat_t
			if err := syscall.Lstat(p, &st); err != nil {
				t.Errorf("%s: %v", p, err)
				continue
			}
			if int(st.Uid) != u.uid || int(st.Gid) != u.subStart || st.Mode&0o020 == 0 {
				t.Errorf("%s: uid %d gid %d mode %o; want the user %d, the mapped root's group %d, group-writable", p, st.Uid, st.Gid, st.Mode&0o777, u.uid, u.subStart)
			}
		}
		mk := exec.Command("mkdir", "-p", filepath.Join(payload, "made-inside", "nested"))
		mk.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.subStart), Gid: uint32(u.subStart), Groups: []uint32{}}}
		if out, err := mk.CombinedOutput(); err != nil {
			t.Errorf("the mapped root cannot make child cgroups in %s: %v: %s", payload, err, out)
		}
		// Another user in the user's primary group (a shared "users"
		// group): no write.
		other := exec.Command("mkdir", filepath.Join(payload, "other-user"))
		other.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 4243, Gid: uint32(u.gid), Groups: []uint32{}}}
		if out, err := other.CombinedOutput(); err == nil {
			t.Errorf("another user of the user's group made a cgroup in %s", payload)
		} else if !strings.Contains(string(out), "ermission denied") {
			t.Errorf("another user of the user's group: %v: %s; want permission denied", err, out)
		}
	}
	var found bool
	for _, l := range strings.Split(u.mustRun("lxc-ls", "-f"), "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == name {
			found = true
			if f[1] != "RUNNING" || f[len(f)-1] != "true" {
				t.Errorf("lxc-ls -f line %q: want RUNNING and UNPRIVILEGED true", l)
			}
		}
	}
	if !found {
		t.Errorf("lxc-ls -f does not list %s", name)
	}
	// The socket and lock directories are the user's, closed to others.
	for _, d := range []string{"golxc", "golxc/sock", "golxc/lock", "golxc/cgroup"} {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(u.xdg, d), &st); err != nil {
			t.Errorf("%s: %v", d, err)
			continue
		}
		if int(st.Uid) != u.uid || st.Mode&0o777 != 0o700 {
			t.Errorf("%s: uid %d mode %o, want %d and 0700", d, st.Uid, st.Mode&0o777, u.uid)
		}
	}
	// lxc-attach as the user: the command is the container's root (the
	// mapped root on the host), in every namespace of the init, its
	// cgroups, and the exit status comes back.
	out := u.mustRun("lxc-attach", "-n", name, "--", "/bin/sh", "-c", `echo $$; id -u; cat /proc/self/uid_map; for n in pid mnt net; do readlink /proc/self/ns/$n; done`)
	f := strings.Fields(out)
	if len(f) != 8 || f[1] != "0" || f[2] != "0" || f[3] != fmt.Sprint(u.subStart) {
		t.Errorf("lxc-attach as the user printed %q: want its pid, uid 0, and a uid_map from 0 to %d", out, u.subStart)
	} else {
		for i, ns := range []string{"pid", "mnt", "net"} {
			want, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
			if f[5+i] != want {
				t.Errorf("attached command's %s namespace %s, want the init's %s", ns, f[5+i], want)
			}
		}
	}
	if _, _, code := u.run("lxc-attach", "-n", name, "--", "/bin/sh", "-c", "exit 7"); code != 7 {
		t.Errorf("lxc-attach as the user: exit %d, want the command's 7", code)
	}
	if _, errOut, code := u.run("lxc-attach", "-n", name, "--", "no-such-command"); code != 127 || !strings.Contains(errOut, "no-such-command") {
		t.Errorf("lxc-attach as the user of a missing command: exit %d, stderr %q; want 127 naming it", code, errOut)
	}
	// From the user's terminal: the command gets a terminal of the
	// container's devpts, its root's.
	out, code := u.runOnTerminal("lxc-attach", "-n", name, "--", "/bin/sh", "-c", `tty; stat -c %u /proc/self/fd/0`)
	if code != 0 || !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "\n0") {
		t.Errorf("lxc-attach as the user on a terminal: exit %d, output %q; want a /dev/pts terminal owned by uid 0 inside", code, out)
	}
	if _, errOut, code := u.run("lxc-attach", "-n", name, "-R", "-s", "NETWORK", "--", "true"); code == 0 || !strings.Contains(errOut, "root only") {
		t.Errorf("lxc-attach -R as the user: exit %d, stderr %q; want a refusal (remounting needs root)", code, errOut)
	}
	// The attached process is in the container's cgroups.
	out = u.mustRun("lxc-attach", "-n", name, "--", "/bin/cat", "/proc/self/cgroup")
	if !strings.Contains(out, "lxc.payload."+name) && !strings.Contains(out, "0::/\n") {
		t.Errorf("attached command's cgroups:\n%s\nwant the container's", out)
	}

	u.mustRun("lxc-stop", "-n", name)
	if s := strings.TrimSpace(u.mustRun("lxc-info", "-n", name, "-s", "-H")); s != "STOPPED" {
		t.Errorf("after lxc-stop: %q, want STOPPED", s)
	}
	if err := syscall.Kill(pid, 0); err == nil {
		t.Errorf("init %d still runs after lxc-stop", pid)
	}
	for _, g := range []string{"lxc.payload." + name, "lxc.monitor." + name} {
		for _, base := range []string{u.cgroup, u.v1cgroup} {
			if _, err := os.Stat(filepath.Join(base, g)); err == nil {
				t.Errorf("%s is left in %s after lxc-stop", g, base)
			}
		}
	}
	u.mustRun("lxc-destroy", "-n", name)
	if ents, _ := os.ReadDir(lxcpath); len(ents) != 0 {
		t.Errorf("lxc-destroy left %v in %s (the mapped root's rootfs too?)", ents, lxcpath)
	}
}

// lxc-usernsexec as a user: the command is root of a namespace whose maps
// newuidmap and newgidmap wrote from the user's ranges.
func TestUnprivUsernsexec(t *testing.T) {
	u := newUnprivUser(t, true)
	out := u.mustRun("lxc-usernsexec", "--", "/bin/sh", "-c", "id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map")
	f := strings.Fields(out)
	want := []string{"0", "0", "0", strconv.Itoa(u.subStart), strconv.Itoa(unprivRange), "0", strconv.Itoa(u.subStart), strconv.Itoa(unprivRange)}
	if strings.Join(f, " ") != strings.Join(want, " ") {
		t.Errorf("lxc-usernsexec as a user printed %q, want %q", f, want)
	}
	// A map outside the user's ranges is refused before anything runs,
	// naming the line to add.
	_, errOut, code := u.run("lxc-usernsexec", "-m", "b:0:100000:65536", "--", "true")
	if code == 0 || !strings.Contains(errOut, "/etc/subuid grants "+u.name) || !strings.Contains(errOut, "add the line "+u.name+":100000:65536") {
		t.Errorf("lxc-usernsexec with a map the user has no range for: exit %d, stderr %q", code, errOut)
	}
}

// The pre-flights: a user without /etc/subuid and /etc/subgid lines is
// told which line to add, at create and at start; a user with ranges but
// no delegated cgroup is told what to set up; a config without lxc.idmap
// is refused naming what to add. Each in one line.
func TestUnprivPreflight(t *testing.T) {
	u := newUnprivUser(t, false)
	u.subStart = 1 << 24 // the maps the user asks for, which no line grants
	u.defaultConf()
	name := newName(t)
	_, errOut, code := u.run("lxc-create", "-n", name, "-t", "busybox")
	if code == 0 || !strings.Contains(errOut, "/etc/subuid grants "+u.name) || !strings.Contains(errOut, fmt.Sprintf("add the line %s:%d:%d", u.name, u.subStart, unprivRange)) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("lxc-create without a subuid range: exit %d, stderr %q", code, errOut)
	}
	if _, err := os.Stat(filepath.Join(u.home, ".local", "share", "lxc", name)); err == nil {
		t.Errorf("a refused create left its directory")
	}
	// With the uid range only, the gid line is what is missing.
	line := fmt.Sprintf("%s:%d:%d", u.name, u.subStart, unprivRange)
	addSubIDLine(t, "/etc/subuid", line)
	_, errOut, code = u.run("lxc-create", "-n", name, "-t", "busybox")
	if code == 0 || !strings.Contains(errOut, "/etc/subgid grants "+u.name) {
		t.Errorf("lxc-create without a subgid range: exit %d, stderr %q", code, errOut)
	}
	addSubIDLine(t, "/etc/subgid", line)

	// Ranges, but the user's cgroup (the test's, root's) is not delegated.
	t.Cleanup(func() { u.run("lxc-destroy", "-n", name, "-f") })
	u.mustRun("lxc-create", "-n", name, "-t", "busybox")
	_, errOut, code = u.run("lxc-start", "-n", name)
	if code == 0 || !strings.Contains(errOut, "no cgroup is delegated to uid "+strconv.Itoa(u.uid)) || !strings.Contains(errOut, "Delegate=yes") ||
		!strings.Contains(errOut, "cgroup.procs, cgroup.subtree_control and cgroup.threads") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Errorf("lxc-start with no delegated cgroup: exit %d, stderr %q", code, errOut)
	}
	if s := strings.TrimSpace(u.mustRun("lxc-info", "-n", name, "-s", "-H")); s != "STOPPED" {
		t.Errorf("after a refused start: %q, want STOPPED", s)
	}

	// The subuid line gone again: the start names it before anything runs.
	removeSubIDLine(t, "/etc/subuid", line)
	u.delegate()
	_, errOut, code = u.run("lxc-start", "-n", name)
	if code == 0 || !strings.Contains(errOut, "/etc/subuid grants "+u.name) {
		t.Errorf("lxc-start without a subuid range: exit %d, stderr %q", code, errOut)
	}
	addSubIDLine(t, "/etc/subuid", line)

	// A veth: host interfaces are root's to make (no lxc-user-nic yet).
	_, errOut, code = u.run("lxc-start", "-n", name, "-s", "lxc.net.0.type=veth")
	if code == 0 || !strings.Contains(errOut, "lxc.net.0.type = veth is not supported yet") {
		t.Errorf("lxc-start as a user with a veth: exit %d, stderr %q", code, errOut)
	}

	// A config without lxc.idmap: a user runs only unprivileged ones.
	bare := u.writeUserFile("bare.conf", "lxc.net.0.type = empty\n")
	_, errOut, code = u.run("lxc-create", "-n", name+"b", "-t", "busybox", "-f", bare)
	if code == 0 || !strings.Contains(errOut, "needs lxc.idmap") {
		t.Errorf("lxc-create as a user without lxc.idmap: exit %d, stderr %q", code, errOut)
	}
}
