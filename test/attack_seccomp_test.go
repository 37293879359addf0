package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The attacks here are a container's root calling what its seccomp
// profile denies: directly, through the i386 compat entry (int 0x80) and
// through the x32 numbers, which a filter that checked only x86_64's
// numbers would let through. Each runs through the container's init
// (lxc-execute, lxc-start -- CMD), where golxc loads the filter.

// callResults parses the attacker's "ABI:NAME errno N" / "ABI:NAME ok"
// lines into ABI:NAME → "errno N" or "ok".
func callResults(t *testing.T, out string) map[string]string {
	t.Helper()
	res := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		name, result, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("attacker said %q", l)
		}
		res[name] = result
	}
	return res
}

// seccompStatus returns the Seccomp and NoNewPrivs lines of a process's
// status, e.g. "2 1".
func seccompStatus(t *testing.T, pid int) string {
	t.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var sc, nnp string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Seccomp:"); ok {
			sc = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "NoNewPrivs:"); ok {
			nnp = strings.TrimSpace(v)
		}
	}
	return sc + " " + nnp
}

// A denied mkdir fails with the profile's errno on every x86 ABI, in
// lxc-execute (golxc's init runs the command) and in lxc-start -- CMD (the
// command is init); without the profile the same calls reach the kernel.
func TestAttackSeccompErrno(t *testing.T) {
	l := newLab(t)
	profile := l.writeFile("deny-mkdir.seccomp", "2\ndenylist\nmkdir errno 1\nmkdirat errno 1\n", 0o644)
	n := l.createBusybox("lxc.seccomp.profile = " + profile)
	bare := l.createBusybox()
	attacker := l.installAttacker(n, bare)
	calls := []string{"64:mkdir", "i386:mkdir", "x32:mkdir"}

	out, errs, code := l.run("lxc-execute", "-n", n, "--", "/bin/mkdir", "/tmp/x")
	if code != 1 || !strings.Contains(errs+out, "Operation not permitted") {
		t.Errorf("busybox mkdir under the profile: exit %d, output %q; want exit 1, EPERM", code, errs+out)
	}
	out, errs, code = l.run("lxc-execute", "-n", n, "--", attacker, "syscall", "/tmp/d", calls[0], calls[1], calls[2])
	if code != 0 {
		t.Fatalf("attacker: exit %d\n%s%s", code, out, errs)
	}
	for c, got := range callResults(t, out) {
		if got != "errno 1" {
			t.Errorf("lxc-execute: %s under the profile: %s, want errno 1 (EPERM)", c, got)
		}
	}
	out, errs, code = l.run("lxc-execute", "-n", bare, "--", attacker, "syscall", "/tmp/d", calls[0], calls[1], calls[2])
	if code != 0 {
		t.Fatalf("attacker: exit %d\n%s%s", code, out, errs)
	}
	control := callResults(t, out)
	if control["64:mkdir"] != "ok" || control["i386:mkdir"] != "ok" || control["x32:mkdir"] == "errno 1" {
		t.Errorf("without a profile the calls should reach the kernel: %v", control)
	}

	// lxc-start -- CMD: the command is init, exec'd by the init stage.
	l.mustRun("lxc-start", "-n", n, "--", "/bin/sh", "-c", attacker+" syscall /tmp/d 64:mkdir i386:mkdir x32:mkdir > /result")
	waitFor(10*time.Second, func() bool { return l.state(n) == "STOPPED" })
	b, err := os.ReadFile(filepath.Join(l.path, n, "rootfs", "result"))
	if err != nil {
		t.Fatal(err)
	}
	for c, got := range callResults(t, string(b)) {
		if got != "errno 1" {
			t.Errorf("lxc-start -- CMD: %s under the profile: %s, want errno 1", c, got)
		}
	}
}

// kill and trap end the caller with SIGSYS; argument filters pick calls
// by their arguments, masked or compared.
func TestAttackSeccompKillAndArguments(t *testing.T) {
	l := newLab(t)
	profile := l.writeFile("p.seccomp", `2
denylist
rmdir kill
rename trap
# Signals from 9 up are refused, lower ones pass.
kill errno 13 [1,9,SCMP_CMP_GE]
# chmod of any mode with the set-user-ID bit.
chmod errno 22 [1,04000,SCMP_CMP_MASKED_EQ,04000]
fchmodat errno 22 [2,04000,SCMP_CMP_MASKED_EQ,04000]
`, 0o644)
	n := l.createBusybox("lxc.seccomp.profile = " + profile)
	for _, tc := range []struct {
		cmd  string
		code int
		out  string
	}{
		{"rmdir /tmp", 128 + 31, ""},
		{"mv /etc/passwd /etc/p", 128 + 31, ""},
		{"sleep 5 & kill -9 $!", 1, "Permission denied"},
		{"sleep 5 & kill -15 $!", 1, "Permission denied"},
		{"sleep 5 & kill -1 $! && wait $!; echo status $?", 0, "status 129"},
		{"touch /tmp/f && chmod 4755 /tmp/f", 1, "Invalid argument"},
		{"touch /tmp/f && chmod 755 /tmp/f && echo changed", 0, "changed"},
	} {
		out, errs, code := l.run("lxc-execute", "-n", n, "--", "/bin/sh", "-c", tc.cmd)
		if code != tc.code || !strings.Contains(out+errs, tc.out) {
			t.Errorf("%s: exit %d, output %q; want exit %d and %q", tc.cmd, code, out+errs, tc.code, tc.out)
		}
	}
}

// LXC's common.seccomp, with the capabilities and mounts of LXC's
// common.conf: a busybox system container boots and runs under it, and
// the calls it denies fail inside on every ABI while the same calls reach
// the kernel in a container without it.
func TestAttackSeccompCommonProfile(t *testing.T) {
	l := newLab(t)
	profile := "/usr/share/lxc/config/common.seccomp"
	if _, err := os.Stat(profile); err != nil {
		profile, _ = filepath.Abs("../internal/seccomp/testdata/common.seccomp")
	}
	common := []string{
		"lxc.seccomp.profile = " + profile,
		"lxc.cap.drop = mac_admin mac_override sys_time sys_module sys_rawio",
		"lxc.mount.auto = cgroup:mixed proc:mixed sys:mixed",
	}
	n := l.createBusybox(common...)
	bare := l.createBusybox()
	attacker := l.installAttacker(n, bare)

	l.mustRun("lxc-start", "-n", n)
	l.waitState(n, "RUNNING", 10*time.Second)
	if got := seccompStatus(t, l.initPID(n)); got != "2 0" {
		t.Errorf("the container's init: Seccomp and NoNewPrivs %q, want \"2 0\" (filtered, set-user-ID programs still work)", got)
	}
	if out := l.attach(n, "/bin/sh", "-c", "echo works > /tmp/w && cat /tmp/w"); !strings.Contains(out, "works") {
		t.Errorf("the container does not work: %q", out)
	}
	l.mustRun("lxc-stop", "-n", n)

	var calls []string
	for _, abi := range []string{"64", "i386", "x32"} {
		for _, c := range []string{"kexec_load", "open_by_handle_at", "init_module", "finit_module", "delete_module"} {
			calls = append(calls, abi+":"+c)
		}
	}
	calls = append(calls, "64:umount2", "i386:umount2")
	args := append([]string{"-n", n, "--", attacker, "syscall", "/proc"}, calls...)
	out, errs, code := l.run("lxc-execute", args...)
	if code != 0 {
		t.Fatalf("attacker: exit %d\n%s%s", code, out, errs)
	}
	got := callResults(t, out)
	args[1] = bare
	out, errs, code = l.run("lxc-execute", args...)
	if code != 0 {
		t.Fatalf("attacker: exit %d\n%s%s", code, out, errs)
	}
	control := callResults(t, out)
	for _, c := range calls {
		want := "errno 1"
		if strings.HasSuffix(c, "umount2") {
			want = "errno 13" // reject_force_umount: EACCES
		}
		if got[c] != want {
			t.Errorf("%s under common.seccomp: %s, want %s", c, got[c], want)
		}
		if control[c] == want || control[c] == "" {
			t.Errorf("%s without a profile: %q, the same as with it: the test proves nothing", c, control[c])
		}
	}
}

// A profile the start cannot apply stops the start with one line naming
// the file and line; nothing is left running.
func TestSeccompProfileRefused(t *testing.T) {
	l := newLab(t)
	bad := l.writeFile("bad.seccomp", "2\ndenylist\n# fine\nmkdir errno 1\nrmdir erno 1\n", 0o644)
	notify := l.writeFile("notify.seccomp", "2\ndenylist\nioctl notify\n", 0o644)
	badArg := l.writeFile("arg.seccomp", "2\ndenylist\nmkdir errno 1 [7,1,SCMP_CMP_EQ]\n", 0o644)
	n := l.createBusybox()
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{[]string{"lxc.seccomp.profile=" + bad}, "lxc.seccomp.profile: " + bad + ":5: rmdir: unknown action \"erno\""},
		{[]string{"lxc.seccomp.profile=" + badArg}, badArg + ":3: mkdir: argument filter [7,1,SCMP_CMP_EQ]: argument index"},
		{[]string{"lxc.seccomp.profile=" + filepath.Join(l.aux, "none")}, "lxc.seccomp.profile: open seccomp policy: open " + filepath.Join(l.aux, "none")},
		{[]string{"lxc.seccomp.profile=" + notify}, notify + ":3: action notify needs lxc.seccomp.notify.proxy"},
	} {
		for _, tool := range []string{"lxc-start", "lxc-execute"} {
			args := []string{"-n", n}
			for _, s := range tc.set {
				args = append(args, "-s", s)
			}
			if tool == "lxc-execute" {
				args = append(args, "--", "/bin/true")
			}
			_, errs, code := l.run(tool, args...)
			if code == 0 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("%s %v: exit %d, stderr %q; want one line with %q", tool, tc.set, code, errs, tc.want)
			}
			if s := l.state(n); s != "STOPPED" {
				t.Errorf("%s %v: container %s", tool, tc.set, s)
			}
		}
	}
	// Set in the container's config, a key the start refuses is named
	// with the file and the line that set it.
	for _, line := range []string{"lxc.time.offset.boot = 10s", "lxc.mount.fstab = /etc/fstab"} {
		n := l.createBusybox()
		conf := filepath.Join(l.path, n, "config")
		l.setConfig(n, line)
		b, err := os.ReadFile(conf)
		if err != nil {
			t.Fatal(err)
		}
		key, _, _ := strings.Cut(line, " ")
		want := fmt.Sprintf("%s:%d: %s is not supported yet", conf, strings.Count(string(b), "\n"), key)
		for _, tool := range []string{"lxc-start", "lxc-execute"} {
			args := []string{"-n", n}
			if tool == "lxc-execute" {
				args = append(args, "--", "/bin/true")
			}
			_, errs, code := l.run(tool, args...)
			if code == 0 || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("%s with %q: exit %d, stderr %q; want one line with %q", tool, line, code, errs, want)
			}
			if s := l.state(n); s != "STOPPED" {
				t.Errorf("%s with %q: container %s", tool, line, s)
			}
		}
	}
}

// lxc.no_new_privs = 1 reaches init and what it runs; without it, and
// with a profile and an init that is not root (the filter is loaded before
// the switch of user, so no_new_privs is not forced on), it stays off.
func TestSeccompNoNewPrivs(t *testing.T) {
	l := newLab(t)
	profile := l.writeFile("p.seccomp", "2\ndenylist\nmkdir errno 1\n", 0o644)
	n := l.createBusybox()
	status := "grep -e ^Seccomp: -e ^NoNewPrivs: /proc/self/status | tr -s '\\t\\n' '  '"
	for _, tc := range []struct {
		set  []string
		want string
	}{
		{nil, "NoNewPrivs: 0 Seccomp: 0"},
		{[]string{"lxc.no_new_privs=1"}, "NoNewPrivs: 1 Seccomp: 0"},
		{[]string{"lxc.seccomp.profile=" + profile}, "NoNewPrivs: 0 Seccomp: 2"},
		{[]string{"lxc.seccomp.profile=" + profile, "lxc.no_new_privs=1"}, "NoNewPrivs: 1 Seccomp: 2"},
		{[]string{"lxc.seccomp.profile=" + profile, "lxc.init.uid=1000", "lxc.init.gid=1000"}, "NoNewPrivs: 0 Seccomp: 2"},
	} {
		args := []string{"-n", n}
		for _, s := range tc.set {
			args = append(args, "-s", s)
		}
		out, errs, code := l.run("lxc-execute", append(args, "--", "/bin/sh", "-c", status)...)
		if code != 0 || strings.TrimSpace(out) != tc.want {
			t.Errorf("lxc-execute %v: exit %d, %q (stderr %q), want %q", tc.set, code, out, errs, tc.want)
		}
	}
	// And the init lxc-start execs.
	l.mustRun("lxc-start", "-n", n, "-s", "lxc.no_new_privs=1", "-s", "lxc.seccomp.profile="+profile)
	l.waitState(n, "RUNNING", 10*time.Second)
	if got := seccompStatus(t, l.initPID(n)); got != "2 1" {
		t.Errorf("init's Seccomp and NoNewPrivs: %q, want \"2 1\"", got)
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
}

// A golxc that already runs under a filter (nested in a container) loads
// no profile of its own, as LXC, and says so; lxc.seccomp.allow_nesting = 1
// stacks it.
func TestSeccompAllowNesting(t *testing.T) {
	l := newLab(t)
	profile := l.writeFile("p.seccomp", "2\ndenylist\nmkdir errno 1\nmkdirat errno 1\n", 0o644)
	n := l.createBusybox("lxc.seccomp.profile = " + profile)
	attacker := filepath.Join(l.aux, "attacker")
	l.installAttacker(n)
	cmd := "grep ^Seccomp_filters: /proc/self/status; mkdir /tmp/m && echo made"
	for _, tc := range []struct {
		nesting    string
		want, warn string
	}{
		{"0", "Seccomp_filters:\t1\nmade\n", "lxc.seccomp.profile " + profile + " is not loaded: golxc already runs under a seccomp filter (lxc.seccomp.allow_nesting = 1 stacks it)"},
		{"1", "Seccomp_filters:\t2\n", ""},
	} {
		out, errs, _ := run(t, "lxc-execute", "-P", l.path, "-n", n, "-s", "lxc.seccomp.allow_nesting="+tc.nesting, "--", "/bin/sh", "-c", cmd)
		if out != "Seccomp_filters:\t1\n" || !strings.Contains(errs, "Operation not permitted") {
			t.Errorf("unconfined golxc, allow_nesting %s: %q (stderr %q)", tc.nesting, out, errs)
		}
		// The same run from under an allow-all filter.
		args := []string{"confine", filepath.Join(binDir(t), "lxc-execute"), "-P", l.path, "-n", n, "-s", "lxc.seccomp.allow_nesting=" + tc.nesting, "--", "/bin/sh", "-c", cmd}
		c := exec.Command(attacker, args...)
		var so, se strings.Builder
		c.Stdout, c.Stderr = &so, &se
		_ = c.Run()
		if so.String() != tc.want || !strings.Contains(se.String(), tc.warn) {
			t.Errorf("confined golxc, allow_nesting %s: stdout %q, stderr %q; want %q and %q", tc.nesting, so.String(), se.String(), tc.want, tc.warn)
		}
	}
}

// attachStatus is what attachedStatusCmd prints: "Seccomp NoNewPrivs
// mkdir", e.g. "2 0 EPERM".
const attachedStatusCmd = `s=$(grep ^Seccomp: /proc/self/status | cut -f2); n=$(grep ^NoNewPrivs: /proc/self/status | cut -f2); ` +
	`if mkdir /tmp/m$$ 2>/dev/null; then m=made; else m=EPERM; fi; echo "$s $n $m"`

// lxc-attach's command runs under the filter the container runs with, on
// every x86 ABI, whatever user it runs as, and even after the profile is
// taken out of the config on disk; -e with LSM (a bare -e too) leaves it
// out, as LXC 5.0's lxc-attach does (measured with Debian's, see
// TestCompatAttachSeccompAsLXC), the other privileges do not.
func TestAttackAttachSeccomp(t *testing.T) {
	l := newLab(t)
	profile := l.writeFile("deny-mkdir.seccomp", "2\ndenylist\nmkdir errno 1\nmkdirat errno 1\n", 0o644)
	n := l.createBusybox("lxc.seccomp.profile = " + profile)
	bare := l.createBusybox()
	attacker := l.installAttacker(n, bare)
	for _, c := range []string{n, bare} {
		l.mustRun("lxc-start", "-n", c)
		l.waitState(c, "RUNNING", 10*time.Second)
	}
	// The profile goes from the config on disk: the running one counts.
	cfgPath := filepath.Join(l.path, n, "config")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, line := range strings.Split(string(cfg), "\n") {
		if !strings.Contains(line, "lxc.seccomp.profile") {
			kept = append(kept, line)
		}
	}
	if err := os.WriteFile(cfgPath, []byte(strings.Join(kept, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}

	out, errs, code := l.run("lxc-attach", "-n", n, "--", "/bin/mkdir", "/x")
	if code != 1 || !strings.Contains(errs+out, "Operation not permitted") {
		t.Errorf("lxc-attach -- mkdir /x under the profile: exit %d, output %q; want exit 1, EPERM", code, errs+out)
	}
	calls := []string{"64:mkdir", "i386:mkdir", "x32:mkdir"}
	for _, who := range [][]string{nil, {"-u", "1000", "-g", "1000"}} {
		args := append(append([]string{"-n", n}, who...), "--", attacker, "syscall", "/tmp/d")
		out, errs, code := l.run("lxc-attach", append(args, calls...)...)
		if code != 0 {
			t.Fatalf("attacker %v: exit %d\n%s%s", who, code, out, errs)
		}
		got := callResults(t, out)
		for _, c := range calls {
			if got[c] != "errno 1" {
				t.Errorf("lxc-attach %v: %s under the profile: %q, want errno 1 (EPERM)", who, c, got[c])
			}
		}
	}
	out, errs, code = l.run("lxc-attach", append([]string{"-n", bare, "--", attacker, "syscall", "/tmp/d"}, calls...)...)
	if code != 0 {
		t.Fatalf("attacker: exit %d\n%s%s", code, out, errs)
	}
	if control := callResults(t, out); control["64:mkdir"] != "ok" || control["i386:mkdir"] != "ok" || control["x32:mkdir"] == "errno 1" {
		t.Errorf("without a profile the calls should reach the kernel: %v", control)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "2 0 EPERM"},
		{[]string{"-u", "1000", "-g", "1000"}, "2 0 EPERM"}, // loaded before the switch of user: no no_new_privs needed
		{[]string{"-e"}, "0 0 made"},
		{[]string{"--elevated-privileges=LSM"}, "0 0 made"},
		{[]string{"--elevated-privileges=CAP|LSM"}, "0 0 made"},
		{[]string{"--elevated-privileges=CAP"}, "2 0 EPERM"},
		{[]string{"-eCGROUP"}, "2 0 EPERM"},
		{[]string{"-s", "MOUNT|PID"}, "2 0 EPERM"}, // golxc's -s does not imply -e
	} {
		args := append(append([]string{"-n", n}, tc.args...), "--", "/bin/sh", "-c", attachedStatusCmd)
		out, errs, code := l.run("lxc-attach", args...)
		if code != 0 || strings.TrimSpace(out) != tc.want {
			t.Errorf("lxc-attach %v: exit %d, %q (stderr %q); want %q", tc.args, code, out, errs, tc.want)
		}
	}
}

// lxc.no_new_privs reaches attached commands whatever -e says, as LXC's;
// a container whose bounding set lacks CAP_SYS_ADMIN gets it with its
// filter (the kernel loads one only with either, and the command holds no
// more than the container's root) where LXC's, whose child keeps every
// capability until its exec, does not.
func TestAttackAttachSeccompNoNewPrivs(t *testing.T) {
	l := newLab(t)
	profile := l.writeFile("deny-mkdir.seccomp", "2\ndenylist\nmkdir errno 1\nmkdirat errno 1\n", 0o644)
	nnp := l.createBusybox("lxc.seccomp.profile = "+profile, "lxc.no_new_privs = 1")
	noAdmin := l.createBusybox("lxc.seccomp.profile = "+profile, "lxc.cap.drop = sys_admin")
	for _, c := range []string{nnp, noAdmin} {
		l.mustRun("lxc-start", "-n", c)
		l.waitState(c, "RUNNING", 10*time.Second)
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{nnp, nil, "2 1 EPERM"},
		{nnp, []string{"-e"}, "0 1 made"},
		{nnp, []string{"-u", "1000", "-g", "1000"}, "2 1 EPERM"},
		{noAdmin, nil, "2 1 EPERM"},
		{noAdmin, []string{"-u", "1000", "-g", "1000"}, "2 1 EPERM"},
		{noAdmin, []string{"--elevated-privileges=CAP"}, "2 0 EPERM"},
		{noAdmin, []string{"--elevated-privileges=LSM"}, "0 0 made"},
	} {
		args := append(append([]string{"-n", tc.name}, tc.args...), "--", "/bin/sh", "-c", attachedStatusCmd)
		out, errs, code := l.run("lxc-attach", args...)
		if code != 0 || strings.TrimSpace(out) != tc.want {
			what := "no_new_privs"
			if tc.name == noAdmin {
				what = "no sys_admin"
			}
			t.Errorf("%s: lxc-attach %v: exit %d, %q (stderr %q); want %q", what, tc.args, code, out, errs, tc.want)
		}
	}
}

// golxc's lxc-attach confines its command as Debian's LXC 5.0 lxc-attach
// does, side by side on the same profile: the filter unless -e LSM (or a
// bare -e), lxc.no_new_privs whatever -e says, the filter loaded for -u's
// user without no_new_privs. (-s is left out: LXC's implies -e, golxc's
// does not, on purpose.)
func TestCompatAttachSeccompAsLXC(t *testing.T) {
	requireBusybox(t)
	requireDebianLXC(t)
	l := newRelLab(t)
	profile := l.writeFile("deny-mkdir.seccomp", "2\ndenylist\nmkdir errno 1\nmkdirat errno 1\n", 0o644)
	variants := [][]string{nil, {"-e"}, {"--elevated-privileges=LSM"}, {"--elevated-privileges=CAP"}, {"--elevated-privileges=CGROUP"}, {"-u", "1000", "-g", "1000"}}
	for _, lines := range [][]string{
		{"lxc.seccomp.profile = " + profile},
		{"lxc.seccomp.profile = " + profile, "lxc.no_new_privs = 1"},
	} {
		ours := l.createBusybox(lines...)
		l.mustRun("lxc-start", "-n", ours)
		l.waitState(ours, "RUNNING", 10*time.Second)
		theirs := newName(t)
		l.lxcContainer(theirs, l.path)
		f, err := os.OpenFile(filepath.Join(l.path, theirs, "config"), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.WriteString(strings.Join(lines, "\n") + "\n")
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if out, code := debianLXC(t, "lxc-start", "-P", l.path, "-n", theirs); code != 0 {
			t.Fatalf("LXC's lxc-start: exit %d: %s", code, out)
		}
		if !waitFor(10*time.Second, func() bool {
			out, _ := debianLXC(t, "lxc-info", "-P", l.path, "-n", theirs, "-s", "-H")
			return strings.TrimSpace(out) == "RUNNING"
		}) {
			t.Fatalf("LXC's %s never RUNNING", theirs)
		}
		for _, v := range variants {
			args := append(append([]string{"-n", ours}, v...), "--", "/bin/sh", "-c", attachedStatusCmd)
			got, errs, code := l.run("lxc-attach", args...)
			if code != 0 {
				t.Errorf("%v: golxc's lxc-attach %v: exit %d: %s", lines, v, code, errs)
			}
			args = append(append([]string{"-P", l.path, "-n", theirs}, v...), "--", "/bin/sh", "-c", attachedStatusCmd)
			want, code := debianLXC(t, "lxc-attach", args...)
			if code != 0 {
				t.Errorf("%v: LXC's lxc-attach %v: exit %d: %s", lines, v, code, want)
			}
			if len(strings.Fields(got)) != 3 || strings.TrimSpace(got) != strings.TrimSpace(want) {
				t.Errorf("%v: lxc-attach %v: golxc's command says %q, LXC's %q", lines, v, strings.TrimSpace(got), strings.TrimSpace(want))
			}
		}
	}
}

// The container's rootfs may hold anything at /proc when lxc.mount.auto
// mounts no proc there: a plain file at /proc/self/status that says
// "Seccomp: 2" must not make the init stage (which looks after pivot_root)
// believe it already runs under a filter and skip the profile. Such a
// container still starts, with the profile.
func TestAttackSeccompStatusSpoof(t *testing.T) {
	l := newLab(t)
	profile := l.writeFile("deny-mkdir.seccomp", "2\ndenylist\nmkdir errno 1\nmkdirat errno 1\n", 0o644)
	n := l.createBusybox("lxc.seccomp.profile = " + profile)
	confPath := filepath.Join(l.path, n, "config")
	b, err := os.ReadFile(confPath)
	if err != nil {
		t.Fatal(err)
	}
	noProc := strings.ReplaceAll(string(b), "lxc.mount.auto = cgroup:mixed proc:mixed sys:ro", "lxc.mount.auto = cgroup:mixed sys:ro")
	if noProc == string(b) {
		t.Fatalf("the busybox template's lxc.mount.auto line changed: %s", b)
	}
	if err := os.WriteFile(confPath, []byte(noProc), 0o644); err != nil {
		t.Fatal(err)
	}
	rootfs := filepath.Join(l.path, n, "rootfs")
	if err := os.MkdirAll(filepath.Join(rootfs, "proc/self"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(rootfs, "proc/self/status"), []byte("Name:\tinit\nSeccomp:\t2\nSeccomp_filters:\t1\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	out, errs, code := l.run("lxc-execute", "-n", n, "--", "/bin/sh", "-c", "cat /proc/self/status; mkdir /tmp/x && echo MADE")
	if code != 1 || strings.Contains(out, "MADE") || !strings.Contains(errs, "Operation not permitted") || !strings.Contains(out, "Seccomp:\t2") {
		t.Errorf("lxc-execute with a planted /proc/self/status: exit %d, stdout %q, stderr %q; want the planted file read, mkdir EPERM, exit 1", code, out, errs)
	}
	l.mustRun("lxc-start", "-n", n, "--", "/bin/sh", "-c", "mkdir /tmp/y 2>/result; echo rc=$? >> /result")
	waitFor(10*time.Second, func() bool { return l.state(n) == "STOPPED" })
	res, err := os.ReadFile(filepath.Join(rootfs, "result"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(res), "Operation not permitted") || !strings.Contains(string(res), "rc=1") {
		t.Errorf("lxc-start -- CMD with a planted /proc/self/status: %q, want mkdir EPERM", res)
	}
}

// On i386 the socket and System V IPC calls are also reached through the
// multiplexers socketcall(2) and ipc(2): a profile that denies socket or
// shmget must deny socketcall(SYS_SOCKET) and ipc(SHMGET) too, ipc's
// version bits (the high 16 of the call, which the kernel drops)
// included, and a denial with argument filters, which socketcall's
// arguments in memory cannot be checked against, denies every
// socketcall(SYS_SOCKETPAIR). And an argument the kernel reads as an int
// (ioctl's command) is not dodged by setting its high 32 bits.
func TestAttackSeccompMultiplexed(t *testing.T) {
	l := newLab(t)
	profile := l.writeFile("deny-net.seccomp", "2\ndenylist\nsocket errno 1\nshmget errno 1\nsocketpair errno 1 [0,9999,SCMP_CMP_EQ]\nioctl errno 1 [1,0x5401,SCMP_CMP_EQ]\n", 0o644)
	n := l.createBusybox("lxc.seccomp.profile = " + profile)
	bare := l.createBusybox()
	attacker := l.installAttacker(n, bare)
	calls := []string{"64:socket", "i386:socket", "i386:socketcall", "i386:socketpaircall", "i386:ipc", "i386:ipcv", "64:ioctl", "64:ioctlhi", "i386:ioctl"}
	results := func(name string) map[string]string {
		out, errs, code := l.run("lxc-execute", append([]string{"-n", name, "--", attacker, "syscall", "/tmp/d"}, calls...)...)
		if code != 0 {
			t.Fatalf("attacker in %s: exit %d\n%s%s", name, code, out, errs)
		}
		return callResults(t, out)
	}
	got, control := results(n), results(bare)
	for _, c := range calls {
		if got[c] != "errno 1" {
			t.Errorf("%s under the profile: %q, want errno 1 (EPERM)", c, got[c])
		}
		if control[c] == "errno 1" || control[c] == "" {
			t.Errorf("%s without a profile: %q: the call should reach the kernel (EAFNOSUPPORT, EINVAL, EBADF)", c, control[c])
		}
	}
}

// A filter loaded before one of the init stage's own steps (the switch to
// lxc.init.uid, capset of golxc's init, PR_SET_DUMPABLE) may answer that
// step's call with "errno 0", success with nothing done: the start must
// fail, or the step must come before the filter, never go on as if it had
// taken.
func TestAttackSeccompFakedSteps(t *testing.T) {
	l := newLab(t)
	ids := l.writeFile("ids.seccomp", "2\ndenylist\nsetresuid errno 0\nsetresgid errno 0\nsetresuid32 errno 0\nsetresgid32 errno 0\n", 0o644)
	caps := l.writeFile("caps.seccomp", "2\ndenylist\ncapset errno 0\n", 0o644)
	// PR_SET_DUMPABLE is 4.
	dumpable := l.writeFile("dumpable.seccomp", "2\ndenylist\nprctl errno 0 [0,4,SCMP_CMP_EQ]\n", 0o644)
	n := l.createBusybox()

	user := []string{"-s", "lxc.init.uid=1000", "-s", "lxc.init.gid=1000"}
	for _, tool := range []string{"lxc-execute", "lxc-start"} {
		if err := os.RemoveAll(filepath.Join(l.path, n, "rootfs", "ids")); err != nil {
			t.Fatal(err)
		}
		args := append([]string{"-n", n, "-s", "lxc.seccomp.profile=" + ids}, user...)
		args = append(args, "--", "/bin/sh", "-c", "id > /ids")
		_, errs, code := l.run(tool, args...)
		if code == 0 || !strings.Contains(errs, "setgid 1000 did not take") {
			t.Errorf("%s with setresuid/setresgid faked: exit %d, stderr %q; want a failed start naming the step", tool, code, errs)
		}
		waitFor(10*time.Second, func() bool { return l.state(n) == "STOPPED" })
		if b, err := os.ReadFile(filepath.Join(l.path, n, "rootfs", "ids")); err == nil {
			t.Errorf("%s: the command ran: %s", tool, b)
		}
	}

	// golxc's init, PID 1 of lxc-execute, keeps only the container's
	// capabilities: a faked capset stops the start. net_raw is one the
	// stage drops itself (sys_module, which no stage needs, is gone from
	// the bounding set it starts with).
	out, errs, code := l.run("lxc-execute", "-n", n, "-s", "lxc.seccomp.profile="+caps, "-s", "lxc.cap.drop=net_raw", "--", "/bin/sh", "-c", "grep CapEff /proc/1/status")
	if code == 0 || !strings.Contains(errs, "capset did not take") {
		t.Errorf("lxc-execute with capset faked: exit %d, stdout %q, stderr %q; want a failed start", code, out, errs)
	}

	// PID 1 of lxc-execute is not dumpable, so a container root without
	// CAP_SYS_PTRACE cannot open its memory (or ptrace it); a faked
	// PR_SET_DUMPABLE changes nothing.
	read := "exec 3< /proc/1/mem && echo READ"
	for _, profile := range []string{"", dumpable} {
		args := []string{"-n", n, "-s", "lxc.cap.drop=sys_ptrace"}
		if profile != "" {
			args = append(args, "-s", "lxc.seccomp.profile="+profile)
		}
		out, errs, code := l.run("lxc-execute", append(args, "--", "/bin/sh", "-c", read)...)
		if code != 1 || strings.Contains(out, "READ") || !strings.Contains(errs, "Permission denied") {
			t.Errorf("lxc-execute (profile %q): opening PID 1's memory without CAP_SYS_PTRACE: exit %d, stdout %q, stderr %q; want EACCES", profile, code, out, errs)
		}
	}
}
