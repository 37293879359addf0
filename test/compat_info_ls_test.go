package test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Each expectation below is what LXC 5.0.2's own lxc-info and lxc-ls
// (Debian's lxc package) printed for an equivalent container, byte for
// byte, stream for stream, exit code for exit code.

// shell runs a /bin/sh script the way an LXC user's script does, with the
// built tools first on PATH.
func shell(t *testing.T, script string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("/bin/sh", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+binDir(t)+":"+os.Getenv("PATH"))
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatalf("sh -c %q: %v", script, err)
		}
		return out.String(), errb.String(), cmd.ProcessState.ExitCode()
	case <-time.After(toolTimeout):
		cmd.Process.Kill()
		<-done
		t.Fatalf("sh -c %q: timed out", script)
	}
	return "", "", -1
}

// TestCompatInfoBareValues: -H with exactly one of -s, -p, -i prints the
// bare value, the pid=$(lxc-info -n c1 -p -H) idiom; any other mix keeps
// the labels.
func TestCompatInfoBareValues(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	run := l.startBusybox()
	stopped := l.createBusybox()
	pid := l.initPID(run)
	p := strconv.Itoa(pid)
	digits := func(s string) bool { _, err := strconv.ParseUint(s, 10, 64); return err == nil }

	exact := []struct {
		args []string
		want string
	}{
		{[]string{"-n", run, "-p", "-H"}, p + "\n"},
		{[]string{"-n", run, "-s", "-H"}, "RUNNING\n"},
		{[]string{"-n", run, "-sH"}, "RUNNING\n"},
		{[]string{"--name=" + run, "--pid", "--no-humanize"}, p + "\n"},
		{[]string{run, "-H", "-p"}, p + "\n"},
		{[]string{"-n", run, "-s"}, "State:          RUNNING\n"},
		{[]string{"-n", run, "-p"}, "PID:            " + p + "\n"},
		{[]string{"-n", run, "-s", "-p", "-H"}, "State:          RUNNING\nPID:            " + p + "\n"},
		// LXC counts each -s: two of them are not "exactly one".
		{[]string{"-n", run, "-s", "-s", "-H"}, "State:          RUNNING\n"},
		// -i: the loopback is the only interface and LXC lists no
		// loopback address.
		{[]string{"-n", run, "-i", "-H"}, ""},
		{[]string{"-n", run, "-s", "-i", "-H"}, "State:          RUNNING\n"},
		{[]string{"-n", run, "-s", "-c", "lxc.uts.name", "-H"}, "RUNNING\n" + run + "\n"},
		{[]string{"-n", stopped, "-s", "-H"}, "STOPPED\n"},
		{[]string{"-n", stopped, "-p", "-H"}, ""},
		{[]string{"-n", stopped, "-S"}, ""},
		{[]string{"-n", stopped, "-H"}, "Name:           " + stopped + "\nState:          STOPPED\n"},
	}
	for _, tt := range exact {
		out, errs, code := l.run("lxc-info", tt.args...)
		if code != 0 || out != tt.want || errs != "" {
			t.Errorf("lxc-info %s: exit %d, stdout %q, stderr %q; want 0, %q, nothing", shellJoin(tt.args), code, out, errs, tt.want)
		}
	}

	// -S counts too: -p -S -H keeps the PID label; usage lines are always
	// labelled, raw with -H.
	out := l.mustRun("lxc-info", "-n", run, "-p", "-S", "-H")
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	// golxc's OOM and PSI lines follow LXC's.
	var labels []string
	for _, line := range lines {
		label, _, _ := strings.Cut(line, ":")
		labels = append(labels, label)
	}
	if n := len(withoutGolxcStats(labels)); n != 5 || lines[0] != "PID:            "+p {
		t.Fatalf("lxc-info -p -S -H: %q, want the PID line and four usage lines (then golxc's OOM and PSI lines)", out)
	}
	for i, label := range []string{"CPU use:", "BlkIO use:", "Memory use:", "KMem use:"} {
		if !strings.HasPrefix(lines[i+1], fmt.Sprintf("%-16s", label)) || !digits(lines[i+1][16:]) {
			t.Errorf("lxc-info -p -S -H line %q: want %q padded to 16 then digits", lines[i+1], label)
		}
	}

	// The idiom, in a shell script.
	script := fmt.Sprintf(`pid=$(lxc-info -P %s -n %s -p -H) && [ -d "/proc/$pid" ] && echo "$pid"
state=$(lxc-info -P %s -n %s -s -H); echo "$state"`, l.path, run, l.path, stopped)
	if out, errs, code := shell(t, script); code != 0 || out != p+"\nSTOPPED\n" {
		t.Errorf("sh: pid=$(lxc-info -p -H); state=$(lxc-info -s -H): exit %d, %q (stderr %q), want %q", code, out, errs, p+"\nSTOPPED\n")
	}
}

// TestCompatInfoConfigKeys: -c renders each key as LXC does; a bad key is
// "KEY invalid" on stderr and the others still print, exit 0.
func TestCompatInfoConfigKeys(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.newContainer()
	rootfs := filepath.Join(l.aux, "rootfs")
	if err := os.Mkdir(rootfs, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := l.conf(
		"lxc.rootfs.path = dir:"+rootfs,
		"lxc.uts.name = "+n,
		"lxc.tty.max = 5",
		"lxc.cap.drop = sys_module mac_admin",
		"lxc.cap.drop = sys_time",
		"lxc.mount.entry = shm dev/shm tmpfs defaults,create=dir 0 0",
		"lxc.mount.entry = mqueue dev/mqueue mqueue defaults,optional,create=dir 0 0",
		"lxc.mount.auto = cgroup:mixed proc:mixed sys:ro",
		"lxc.group = web",
	)
	l.mustRun("lxc-create", "-n", n, "-t", "none", "-f", conf)

	tests := []struct {
		args      []string
		out, errs string
	}{
		{[]string{"-c", "lxc.uts.name", "-c", "lxc.tty.max", "-c", "lxc.bogus"},
			"lxc.uts.name = " + n + "\nlxc.tty.max = 5\n", "lxc.bogus invalid\n"},
		{[]string{"-c", "lxc.bogus"}, "", "lxc.bogus invalid\n"},
		{[]string{"-c", "lxc.bogus", "-H"}, "", "lxc.bogus invalid\n"},
		{[]string{"-c", "lxc.net.0"}, "", "lxc.net.0 invalid\n"},
		{[]string{"-c", "lxc.net.1.type"}, "", "lxc.net.1.type invalid\n"},
		{[]string{"-c", "lxc.include"}, "", "lxc.include invalid\n"},
		{[]string{"-c", "lxc.tty.max", "-H"}, "5\n", ""},
		// Two keys with -H keep "KEY = ".
		{[]string{"-c", "lxc.uts.name", "-c", "lxc.tty.max", "-H"}, "lxc.uts.name = " + n + "\nlxc.tty.max = 5\n", ""},
		// Unset: "KEY =" with no trailing blank; bare, an empty line.
		{[]string{"-c", "lxc.apparmor.profile"}, "lxc.apparmor.profile =\n", ""},
		{[]string{"-c", "lxc.apparmor.profile", "-H"}, "\n", ""},
		{[]string{"-c", "lxc.cap.keep"}, "lxc.cap.keep =\n", ""},
		{[]string{"-c", "lxc.log.level"}, "lxc.log.level = NOTSET\n", ""},
		// The storage type is not printed.
		{[]string{"-c", "lxc.rootfs.path", "-H"}, rootfs + "\n", ""},
		{[]string{"-c", "lxc.rootfs.path"}, "lxc.rootfs.path = " + rootfs + "\n", ""},
		{[]string{"-c", "lxc.net"}, "lxc.net = empty\n\n", ""},
		{[]string{"-c", "lxc.net.0.type"}, "lxc.net.0.type = empty\n", ""},
		// Lists: one item a line, each with its newline, then printf's.
		{[]string{"-c", "lxc.cap.drop"}, "lxc.cap.drop = sys_module\nmac_admin\nsys_time\n\n", ""},
		{[]string{"-c", "lxc.cap.drop", "-H"}, "sys_module\nmac_admin\nsys_time\n\n", ""},
		{[]string{"-c", "lxc.mount.entry"}, "lxc.mount.entry = shm dev/shm tmpfs defaults,create=dir 0 0\n" +
			"mqueue dev/mqueue mqueue defaults,optional,create=dir 0 0\n\n", ""},
		{[]string{"-c", "lxc.group"}, "lxc.group = web\n\n", ""},
		{[]string{"-c", "lxc.mount.auto"}, "lxc.mount.auto = proc:mixed sys:ro cgroup:mixed\n", ""},
		{[]string{"--config=lxc.tty.max"}, "lxc.tty.max = 5\n", ""},
		{[]string{"-clxc.tty.max"}, "lxc.tty.max = 5\n", ""},
		// Keys come after the state lines.
		{[]string{"-c", "lxc.tty.max", "-s"}, "State:          STOPPED\nlxc.tty.max = 5\n", ""},
	}
	for _, tt := range tests {
		args := append([]string{"-n", n}, tt.args...)
		out, errs, code := l.run("lxc-info", args...)
		if code != 0 || out != tt.out || errs != tt.errs {
			t.Errorf("lxc-info %s: exit %d, stdout %q, stderr %q; want 0, %q, %q", shellJoin(args), code, out, errs, tt.out, tt.errs)
		}
	}
}

// TestCompatInfoMissing: a container that does not exist, one whose config
// does not load, and --rcfile standing in for a config.
func TestCompatInfoMissing(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	ghost := newName(t)
	for _, args := range [][]string{{"-n", ghost}, {"-n", ghost, "-s", "-H"}, {"-n", ghost, "-c", "lxc.tty.max"}, {ghost}} {
		out, errs, code := l.run("lxc-info", args...)
		if code != 1 || out != "" || errs != ghost+" doesn't exist\n" {
			t.Errorf("lxc-info %s: exit %d, stdout %q, stderr %q; want 1, nothing, %q", shellJoin(args), code, out, errs, ghost+" doesn't exist\n")
		}
	}

	// --rcfile makes a container of no directory one to show.
	rc := l.conf("lxc.uts.name = from-rcfile")
	out, errs, code := l.run("lxc-info", "-n", ghost, "--rcfile", rc)
	if code != 0 || out != "Name:           "+ghost+"\nState:          STOPPED\n" {
		t.Errorf("lxc-info -n %s --rcfile: exit %d, %q (stderr %q), want Name and State STOPPED", ghost, code, out, errs)
	}
	if out, _, code := l.run("lxc-info", "-n", ghost, "--rcfile", rc, "-c", "lxc.uts.name", "-H"); code != 0 || out != "from-rcfile\n" {
		t.Errorf("lxc-info --rcfile -c lxc.uts.name -H: exit %d, %q, want from-rcfile", code, out)
	}
	if _, errs, code := l.run("lxc-info", "-n", ghost, "--rcfile", filepath.Join(l.aux, "missing.conf")); code != 1 || errs == "" {
		t.Errorf("lxc-info --rcfile MISSING: exit %d, stderr %q, want 1 and a reason", code, errs)
	}

	// A config that does not load fails lxc-info whatever was asked.
	broken := newName(t)
	if err := os.MkdirAll(filepath.Join(l.path, broken), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(l.path, broken, "config"), []byte("lxc.bogus = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"-n", broken}, {"-n", broken, "-s", "-H"}} {
		out, errs, code := l.run("lxc-info", args...)
		if code != 1 || out != "" || !strings.Contains(errs, "Failed to load config for "+broken) {
			t.Errorf("lxc-info %s (broken config): exit %d, stdout %q, stderr %q; want 1 and \"Failed to load config for %s\"", shellJoin(args), code, out, errs, broken)
		}
	}
}

// TestCompatLsPipes: off a terminal lxc-ls prints one name a line (padded
// to the longest, as LXC's does), so wc -l counts containers and a
// while-read loop gets each name.
func TestCompatLsPipes(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	base := newName(t)
	long, short := base+"-web", base
	for _, n := range []string{long, short} {
		l.track(n)
		requireBusybox(t)
	}
	l.mustRun("lxc-create", "-n", short, "-t", "busybox", "-f", l.conf("lxc.group = db"))
	l.mustRun("lxc-create", "-n", long, "-t", "busybox", "-f", l.conf("lxc.group = web", "lxc.group = prod,eu", "lxc.start.auto = 1"))
	l.mustRun("lxc-start", "-n", long)
	l.waitState(long, "RUNNING", 10*time.Second)
	pid := l.initPID(long)

	if out := l.mustRun("lxc-ls"); out != short+"    \n"+long+"\n" {
		t.Errorf("lxc-ls | cat: %q, want %q", out, short+"    \n"+long+"\n")
	}
	script := fmt.Sprintf(`lxc-ls -P %[1]s | wc -l
lxc-ls -P %[1]s | while read n; do echo "[$n]"; done
for n in $(lxc-ls -P %[1]s --running); do echo "running $n"; done`, l.path)
	want := fmt.Sprintf("2\n[%s]\n[%s]\nrunning %s\n", short, long, long)
	if out, errs, code := shell(t, script); code != 0 || strings.TrimLeft(out, " ") != want {
		t.Errorf("lxc-ls in a script: exit %d, %q (stderr %q), want %q", code, out, errs, want)
	}

	tests := []struct {
		args []string
		out  string
	}{
		{[]string{"-1"}, short + "\n" + long + "\n"},
		{[]string{"--line"}, short + "\n" + long + "\n"},
		{[]string{"--running"}, long + "\n"},
		{[]string{"--stopped"}, short + "\n"},
		{[]string{"--active", "-1"}, long + "\n"},
		{[]string{"--frozen"}, ""},
		{[]string{"--running", "--stopped"}, ""},
		{[]string{"--defined", "-1"}, short + "\n" + long + "\n"},
		{[]string{"-1", "web$"}, long + "\n"},
		{[]string{"-1", "--filter=web$"}, long + "\n"},
		{[]string{"-1", "--filter", "web$"}, long + "\n"},
		{[]string{"-1", "--filter=web$", short + "$"}, long + "\n"}, // --filter wins
		// -g: every group of the list; a value may hold several; the last
		// -g counts (LXC 5.0).
		{[]string{"-1", "-g", "web"}, long + "\n"},
		{[]string{"-1", "-g", "web,eu"}, long + "\n"},
		{[]string{"-1", "--groups=prod"}, long + "\n"},
		{[]string{"-1", "--groups", "db"}, short + "\n"},
		{[]string{"-1", "-gdb"}, short + "\n"},
		{[]string{"-1", "-g", "web,db"}, ""},
		{[]string{"-1", "-g", "web", "-g", "db"}, short + "\n"},
		{[]string{"-1", "-g", ""}, short + "\n" + long + "\n"},
		// -F shapes only -f's table.
		{[]string{"-1", "-F", "NAME,BOGUS"}, short + "\n" + long + "\n"},
		{[]string{"-1", "--nesting=0"}, short + "\n" + long + "\n"},
	}
	for _, tt := range tests {
		out, errs, code := l.run("lxc-ls", tt.args...)
		if code != 0 || out != tt.out || errs != "" {
			t.Errorf("lxc-ls %s: exit %d, stdout %q, stderr %q; want 0, %q, nothing", shellJoin(tt.args), code, out, errs, tt.out)
		}
	}

	// A feature that is not built says so on stderr; the list is the top
	// level. --nesting=NUM takes its number attached: "--nesting zzz" is
	// the filter zzz, as with LXC's getopt.
	out, errs, code := l.run("lxc-ls", "-1", "--nesting")
	if code != 0 || out != short+"\n"+long+"\n" || !strings.Contains(errs, "not built") {
		t.Errorf("lxc-ls --nesting: exit %d, %q, stderr %q; want the top level and a note that nesting is not built", code, out, errs)
	}
	if out, errs, code := l.run("lxc-ls", "-1", "--nesting", "zzz"); code != 0 || out != "" || !strings.Contains(errs, "not built") {
		t.Errorf("lxc-ls --nesting zzz: exit %d, %q, stderr %q; want nothing listed (zzz is the filter) and the note", code, out, errs)
	}
	// A regex that does not compile matches nothing, exit 0 (LXC's).
	if out, errs, code := l.run("lxc-ls", "("); code != 0 || out != "" || errs == "" {
		t.Errorf("lxc-ls '(': exit %d, %q, stderr %q; want 0, nothing and a reason", code, out, errs)
	}

	// The table: every cell padded to its column, then a blank.
	cell := func(s string, w int) string { return s + strings.Repeat(" ", w-len(s)) + " " }
	w := len(long)
	want = cell("NAME", w) + cell("STATE", 7) + cell("AUTOSTART", 9) + cell("GROUPS", 12) + cell("IPV4", 4) + cell("IPV6", 4) + cell("UNPRIVILEGED", 12) + "\n" +
		cell(short, w) + cell("STOPPED", 7) + cell("0", 9) + cell("db", 12) + cell("-", 4) + cell("-", 4) + cell("false", 12) + "\n" +
		cell(long, w) + cell("RUNNING", 7) + cell("1", 9) + cell("web, prod,eu", 12) + cell("-", 4) + cell("-", 4) + cell("false", 12) + "\n"
	if out := l.mustRun("lxc-ls", "-f"); out != want {
		t.Errorf("lxc-ls -f:\n%q\nwant\n%q", out, want)
	}
	if out := l.mustRun("lxc-ls", "--fancy"); out != want {
		t.Errorf("lxc-ls --fancy:\n%q\nwant\n%q", out, want)
	}
	if out := l.mustRun("lxc-ls", "-1", "-f"); out != want {
		t.Errorf("lxc-ls -1 -f: -f wins in LXC:\n%q\nwant\n%q", out, want)
	}
	// RAM, SWAP, PID and INTERFACE are "-" for a stopped container.
	out = l.mustRun("lxc-ls", "-f", "-F", "name,ram,swap,pid,interface")
	rows := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(rows) != 3 || strings.Join(strings.Fields(rows[0]), " ") != "NAME RAM SWAP PID INTERFACE" ||
		strings.Join(strings.Fields(rows[1]), " ") != short+" - - - -" {
		t.Fatalf("lxc-ls -f -F name,ram,swap,pid,interface:\n%s\nwant a header, %s with dashes, %s with figures", out, short, long)
	}
	f := strings.Fields(rows[2])
	if len(f) != 5 || f[0] != long || !strings.HasSuffix(f[1], "MB") || f[1] == "0.00MB" || !strings.HasSuffix(f[2], "MB") ||
		f[3] != strconv.Itoa(pid) || f[4] != "lo" {
		t.Errorf("lxc-ls -f -F ...: running row %q, want %s, a non-zero RAM in MB, a SWAP in MB, pid %d, lo", rows[2], long, pid)
	}
	// An unknown column: nothing listed, LXC's message alone, exit 0.
	for _, args := range [][]string{{"-f", "-F", "NAME,BOGUS"}, {"--fancy", "--fancy-format=bogus"}} {
		col := "BOGUS"
		if args[0] == "--fancy" {
			col = "bogus"
		}
		if out, errs, code := l.run("lxc-ls", args...); code != 0 || out != "" || errs != "Invalid key: "+col+"\n" {
			t.Errorf("lxc-ls %s: exit %d, %q, stderr %q; want 0, nothing, \"Invalid key: %s\"", shellJoin(args), code, out, errs, col)
		}
	}
	// An empty list prints nothing at all, table header included.
	for _, args := range [][]string{{"-f", "--frozen"}, {"--frozen"}, {"-f", "nomatch"}} {
		if out, errs, code := l.run("lxc-ls", args...); code != 0 || out != "" || errs != "" {
			t.Errorf("lxc-ls %s: exit %d, %q, stderr %q; want 0 and nothing", shellJoin(args), code, out, errs)
		}
	}

	// A container whose config does not load is left out, with a message.
	broken := newName(t)
	if err := os.MkdirAll(filepath.Join(l.path, broken), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(filepath.Join(l.path, broken)) })
	if err := os.WriteFile(filepath.Join(l.path, broken, "config"), []byte("lxc.bogus = 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code = l.run("lxc-ls", "-1")
	if code != 0 || out != short+"\n"+long+"\n" || !strings.Contains(errs, "Failed to load config for "+broken) {
		t.Errorf("lxc-ls -1 with a broken config: exit %d, %q, stderr %q; want the two others and \"Failed to load config for %s\"", code, out, errs, broken)
	}
	if out, errs, code := l.run("lxc-ls", "-1", "-q"); code != 0 || out != short+"\n"+long+"\n" || errs != "" {
		t.Errorf("lxc-ls -1 -q with a broken config: exit %d, %q, stderr %q; want the two others, no message", code, out, errs)
	}
}

// TestCompatLsTerminal: on a terminal, names fill rows of the terminal's
// width as LXC's lxc-ls lays them out.
func TestCompatLsTerminal(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	var names []string
	for _, suffix := range []string{"a", "b", "c"} {
		n := newName(t) + suffix
		names = append(names, n)
		if err := os.MkdirAll(filepath.Join(l.path, n), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(l.path, n, "config"), []byte("lxc.net.0.type = empty\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Sorted by name; every name is 12 bytes, so a cell is the name and
	// one blank, and a row breaks where the next name would reach the edge.
	sort.Strings(names)
	w := uint16(len(names[0]))
	tests := []struct {
		cols uint16
		want string
	}{
		{80, names[0] + " " + names[1] + " " + names[2] + " \n"},
		{3*w + 2, names[0] + " " + names[1] + " " + names[2] + "\n"},
		{3*w + 1, names[0] + " " + names[1] + "\n" + names[2] + " \n"},
	}
	for _, tt := range tests {
		got := runOnTerminal(t, tt.cols, "lxc-ls", "-P", l.path)
		if got != tt.want {
			t.Errorf("lxc-ls on a %d-column terminal: %q, want %q", tt.cols, got, tt.want)
		}
	}
	if got, want := runOnTerminal(t, 80, "lxc-ls", "-P", l.path, "-1"), strings.Join(names, "\n")+"\n"; got != want {
		t.Errorf("lxc-ls -1 on a terminal: %q, want %q", got, want)
	}
}

// runOnTerminal runs a tool with stdout and stderr on a fresh pty of cols
// columns, stdin /dev/null, and returns what it wrote, with the terminal's
// \r\n turned back into \n.
func runOnTerminal(t *testing.T, cols uint16, tool string, args ...string) string {
	t.Helper()
	master, slave := openPty(t)
	if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: cols}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir(t), tool), args...)
	cmd.Stdout, cmd.Stderr = slave, slave
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		defer close(read)
		io.Copy(&out, master) // ends with EIO once the slave is closed everywhere
	}()
	if err := cmd.Run(); err != nil {
		t.Errorf("%s %s on a terminal: %v", tool, shellJoin(args), err)
	}
	slave.Close()
	select {
	case <-read:
	case <-time.After(5 * time.Second):
		master.SetReadDeadline(time.Now())
		<-read
	}
	return strings.ReplaceAll(out.String(), "\r\n", "\n")
}
