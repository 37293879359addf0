package test

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// counter reads the count the container's loop renames into /count.
func counter(t *testing.T, l *lab, name string) int {
	t.Helper()
	var n int
	if !waitFor(5*time.Second, func() bool {
		b, err := os.ReadFile(filepath.Join(l.path, name, "rootfs", "count"))
		if err != nil {
			return false
		}
		v, err := strconv.Atoi(strings.TrimSpace(string(b)))
		n = v
		return err == nil
	}) {
		t.Fatalf("no count in %s's /count", name)
	}
	return n
}

// TestFreezeStopsProgress: a frozen container's loop makes no progress and
// resumes once thawed; lxc-info says FROZEN; repeats are harmless; an
// attach into the frozen container fails at once; lxc-stop -k stops it
// frozen.
func TestFreezeStopsProgress(t *testing.T) {
	l := newLab(t)
	n := l.startBusybox()
	l.attach(n, "sh", "-c", "(i=0; while true; do i=$((i+1)); echo $i > /count.new; mv /count.new /count; done) </dev/null >/dev/null 2>&1 &")
	if a, b := counter(t, l, n), counter(t, l, n); a == b {
		time.Sleep(100 * time.Millisecond)
		if c := counter(t, l, n); c == b {
			t.Fatalf("the loop makes no progress before the freeze (%d, %d, %d)", a, b, c)
		}
	}
	for i := 0; i < 2; i++ {
		if out, errs, code := l.run("lxc-freeze", "-n", n); code != 0 || out != "" || errs != "" {
			t.Fatalf("lxc-freeze #%d: exit %d, %q %q; want 0 and silence", i+1, code, out, errs)
		}
	}
	if s := l.state(n); s != "FROZEN" {
		t.Fatalf("lxc-info -s after lxc-freeze: %s, want FROZEN", s)
	}
	before := counter(t, l, n)
	time.Sleep(500 * time.Millisecond)
	if after := counter(t, l, n); after != before {
		t.Fatalf("frozen container's counter went from %d to %d", before, after)
	}

	t0 := time.Now()
	_, errs, code := l.runWith(runOpts{timeout: 10 * time.Second}, "lxc-attach", "-n", n, "--", "true")
	if code == 0 || !strings.Contains(errs, "FROZEN") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("lxc-attach into a frozen container: exit %d, stderr %q; want a failure and one line saying FROZEN", code, errs)
	}
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("lxc-attach into a frozen container took %v, want a refusal at once", d)
	}

	for i := 0; i < 2; i++ {
		if out, errs, code := l.run("lxc-unfreeze", "-n", n); code != 0 || out != "" || errs != "" {
			t.Fatalf("lxc-unfreeze #%d: exit %d, %q %q; want 0 and silence", i+1, code, out, errs)
		}
	}
	if s := l.state(n); s != "RUNNING" {
		t.Fatalf("lxc-info -s after lxc-unfreeze: %s, want RUNNING", s)
	}
	if !waitFor(5*time.Second, func() bool { return counter(t, l, n) > before }) {
		t.Fatalf("the counter did not resume after lxc-unfreeze (still %d)", before)
	}

	// Frozen by hand through cgroup2: lxc-info reads it as LXC's does
	// from the freezer, attach is refused, lxc-unfreeze thaws it.
	if _, err := os.Stat("/sys/fs/cgroup/unified/lxc.payload." + n + "/cgroup.freeze"); err == nil {
		l.mustRun("lxc-cgroup", "-n", n, "cgroup.freeze", "1")
		if !waitFor(5*time.Second, func() bool { return l.state(n) == "FROZEN" }) {
			t.Errorf("lxc-info -s after lxc-cgroup cgroup.freeze 1: %s, want FROZEN", l.state(n))
		}
		if _, errs, code := l.run("lxc-attach", "-n", n, "--", "true"); code == 0 || !strings.Contains(errs, "FROZEN") {
			t.Errorf("lxc-attach into a container frozen by hand: exit %d, %q; want a refusal", code, errs)
		}
		l.mustRun("lxc-unfreeze", "-n", n)
		if s := l.state(n); s != "RUNNING" {
			t.Errorf("lxc-info -s after lxc-unfreeze of a hand-frozen container: %s, want RUNNING", s)
		}
		l.attach(n, "true")
	}

	l.mustRun("lxc-freeze", "-n", n)
	t0 = time.Now()
	l.mustRun("lxc-stop", "-n", n, "-k")
	if s := l.state(n); s != "STOPPED" {
		t.Fatalf("lxc-stop -k of a frozen container: state %s, want STOPPED", s)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("lxc-stop -k of a frozen container took %v", d)
	}
	assertNoCgroups(t, n, "lxc-stop -k of a frozen container")
	if _, errs, code := l.run("lxc-freeze", "-n", n); code != 1 || !strings.Contains(errs, "not running") {
		t.Errorf("lxc-freeze of a stopped container: exit %d, %q; want 1, not running", code, errs)
	}
}

// background starts a golxc tool that runs until killed, its stdout in a
// file; the cleanup kills it by its pid.
func background(t *testing.T, l *lab, out string, tool string, args ...string) *exec.Cmd {
	t.Helper()
	f, err := os.Create(filepath.Join(l.aux, out))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(binDir(t), tool), append([]string{"-P", l.path}, args...)...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// TestWaitMonitorCycle: lxc-wait returns on each state of a start, freeze,
// unfreeze, stop cycle (transient ones included), and lxc-monitor, begun
// before the container started, prints every transition exactly once, as
// text and as JSON.
func TestWaitMonitorCycle(t *testing.T) {
	l := newLab(t)
	n := l.createBusybox()
	other := l.createBusybox() // must not show with -n n
	background(t, l, "mon.txt", "lxc-monitor", "-n", n)
	background(t, l, "mon.json", "lxc-monitor", "-n", "t[0-9a-f]+", "--format", "json")
	time.Sleep(300 * time.Millisecond) // both watching

	// Waiting for STOPPED of a container that is not running: at once.
	t0 := time.Now()
	l.mustRun("lxc-wait", "-n", n, "-s", "STOPPED")
	if d := time.Since(t0); d > time.Second {
		t.Errorf("lxc-wait -s STOPPED of a stopped container took %v", d)
	}
	// A timeout: exit 1 after about -t.
	t0 = time.Now()
	if _, _, code := l.run("lxc-wait", "-n", n, "-s", "RUNNING|FROZEN", "-t", "1"); code != 1 {
		t.Errorf("lxc-wait -t 1 on a stopped container: exit %d, want 1", code)
	}
	if d := time.Since(t0); d < 900*time.Millisecond || d > 3*time.Second {
		t.Errorf("lxc-wait -t 1 returned after %v", d)
	}
	if _, errs, code := l.run("lxc-wait", "-n", n, "-s", "BOGUS"); code != 1 || !strings.Contains(errs, "invalid state") {
		t.Errorf("lxc-wait -s BOGUS: exit %d, %q; want 1, invalid state", code, errs)
	}

	// Each wait is begun before the change it waits for.
	startWait := func(state string) chan int {
		ch := make(chan int, 1)
		cmd := exec.Command(filepath.Join(binDir(t), "lxc-wait"), "-P", l.path, "-n", n, "-s", state, "-t", "20")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() {
			_ = cmd.Wait()
			ch <- cmd.ProcessState.ExitCode()
		}()
		time.Sleep(200 * time.Millisecond)
		return ch
	}
	expect := func(ch chan int, what string) {
		t.Helper()
		select {
		case code := <-ch:
			if code != 0 {
				t.Errorf("lxc-wait for %s: exit %d, want 0", what, code)
			}
		case <-time.After(25 * time.Second):
			t.Fatalf("lxc-wait for %s did not return", what)
		}
	}
	w := startWait("STARTING")
	l.mustRun("lxc-start", "-n", n)
	expect(w, "STARTING (begun while stopped)")
	l.mustRun("lxc-wait", "-n", n, "-s", "RUNNING", "-t", "10")
	l.mustRun("lxc-start", "-n", other)
	w = startWait("FROZEN")
	l.mustRun("lxc-freeze", "-n", n)
	expect(w, "FROZEN")
	w = startWait("THAWED") // a passing state
	l.mustRun("lxc-unfreeze", "-n", n)
	expect(w, "THAWED")
	w = startWait("STOPPED")
	l.mustRun("lxc-stop", "-n", n)
	expect(w, "STOPPED")
	l.mustRun("lxc-stop", "-n", other, "-k")

	want := []string{"STARTING", "RUNNING", "FREEZING", "FROZEN", "THAWED", "RUNNING", "STOPPING", "STOPPED"}
	var lines []string
	if !waitFor(10*time.Second, func() bool {
		lines = readLines(t, filepath.Join(l.aux, "mon.txt"))
		return len(lines) >= len(want)
	}) {
		t.Fatalf("lxc-monitor -n %s printed %q, want %d lines", n, lines, len(want))
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would come now
	lines = readLines(t, filepath.Join(l.aux, "mon.txt"))
	var got []string
	for _, line := range lines {
		m := regexp.MustCompile(`^'(.*)' changed state to \[([A-Z]+)\]$`).FindStringSubmatch(line)
		if m == nil || m[1] != n {
			t.Errorf("lxc-monitor line %q: want 'NAME' changed state to [STATE] of %s only", line, n)
			continue
		}
		got = append(got, m[2])
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("lxc-monitor -n %s: %v, want %v, each once", n, got, want)
	}

	// JSON: the same for n, and other's own start and stop.
	byName := map[string][]string{}
	for _, line := range readLines(t, filepath.Join(l.aux, "mon.json")) {
		var e struct{ Name, LXCPath, State, Time string }
		if err := json.Unmarshal([]byte(line), &e); err != nil || e.Name == "" || e.Time == "" || e.LXCPath == "" {
			t.Errorf("lxc-monitor --format json line %q: %v", line, err)
			continue
		}
		byName[e.Name] = append(byName[e.Name], e.State)
	}
	if strings.Join(byName[n], " ") != strings.Join(want, " ") {
		t.Errorf("lxc-monitor --format json, %s: %v, want %v", n, byName[n], want)
	}
	if strings.Join(byName[other], " ") != "STARTING RUNNING STOPPED" {
		t.Errorf("lxc-monitor --format json, %s: %v, want STARTING RUNNING STOPPED", other, byName[other])
	}
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines
}

// TestCgroupTool: lxc-cgroup reads and writes a v1 file
// (memory.limit_in_bytes) and a core file of the unified hierarchy, prints
// a read once, and refuses a bad key or value in one line, exit 1.
func TestCgroupTool(t *testing.T) {
	l := newLab(t)
	n := l.startBusybox()
	if _, err := os.Stat("/sys/fs/cgroup/memory/lxc.payload." + n + "/memory.limit_in_bytes"); err != nil {
		t.Skipf("no v1 memory hierarchy here: %v", err)
	}
	l.mustRun("lxc-cgroup", "-n", n, "memory.limit_in_bytes", "64M")
	if out := l.mustRun("lxc-cgroup", "-n", n, "memory.limit_in_bytes"); out != "67108864\n" {
		t.Errorf("lxc-cgroup memory.limit_in_bytes after 64M: %q, want \"67108864\\n\" (once)", out)
	}
	if b, _ := os.ReadFile("/sys/fs/cgroup/memory/lxc.payload." + n + "/memory.limit_in_bytes"); strings.TrimSpace(string(b)) != "67108864" {
		t.Errorf("the cgroup file says %q after lxc-cgroup wrote 64M", b)
	}
	// The name first, without -n, as LXC takes it; JSON.
	out := l.mustRun("lxc-cgroup", n, "memory.limit_in_bytes", "--format", "json")
	var j map[string]string
	if err := json.Unmarshal([]byte(out), &j); err != nil || j["value"] != "67108864" || j["name"] != n {
		t.Errorf("lxc-cgroup --format json: %q (%v)", out, err)
	}

	unified := "/sys/fs/cgroup/unified/lxc.payload." + n
	if _, err := os.Stat(unified + "/cgroup.max.depth"); err == nil {
		if out := l.mustRun("lxc-cgroup", "-n", n, "cgroup.max.depth"); out != "max\n" {
			t.Errorf("lxc-cgroup cgroup.max.depth: %q, want max", out)
		}
		l.mustRun("lxc-cgroup", "-n", n, "cgroup.max.depth", "3")
		if b, _ := os.ReadFile(unified + "/cgroup.max.depth"); strings.TrimSpace(string(b)) != "3" {
			t.Errorf("cgroup.max.depth is %q after lxc-cgroup wrote 3", b)
		}
		if out := l.mustRun("lxc-cgroup", "-n", n, "cgroup.freeze"); out != "0\n" {
			t.Errorf("lxc-cgroup cgroup.freeze: %q, want 0", out)
		}
	} else {
		t.Logf("no cgroup2 directory for %s: core files not tested (%v)", n, err)
	}

	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"memory.limit_in_bytes", "lots"}, "invalid argument"},
		{[]string{"nosuch.key"}, "no cgroup file"},
		{[]string{"../memory.limit_in_bytes"}, "invalid cgroup key"},
		{[]string{"cgroup.max.depth", "deep"}, "invalid argument"},
	} {
		out, errs, code := l.run("lxc-cgroup", append([]string{"-n", n}, tt.args...)...)
		if code != 1 || out != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, tt.want) {
			t.Errorf("lxc-cgroup %s: exit %d, stdout %q, stderr %q; want 1 and one line with %q", shellJoin(tt.args), code, out, errs, tt.want)
		}
	}
	l.mustRun("lxc-stop", "-n", n, "-k")
	if _, errs, code := l.run("lxc-cgroup", "-n", n, "memory.limit_in_bytes"); code != 1 || !strings.Contains(errs, "not running") {
		t.Errorf("lxc-cgroup of a stopped container: exit %d, %q; want 1, not running", code, errs)
	}
}

// TestTopBatch: lxc-top -b without a terminal prints -n rounds of a table
// that parses, every running container and a TOTAL line in each; -s/-r
// sort; --format json rounds decode.
func TestTopBatch(t *testing.T) {
	l := newLab(t)
	a := l.startBusybox()
	b := l.startBusybox()
	l.createBusybox() // defined, stopped: counted, not listed
	// b uses more memory than a.
	l.attach(b, "sh", "-c", "dd if=/dev/zero of=/big bs=1M count=8 2>/dev/null; cat /big > /dev/null")
	out := l.mustRun("lxc-top", "-b", "-n", "2", "-d", "0.2", "-s", "m", "-r")
	rounds := strings.Split(strings.TrimSuffix(out, "\n"), "\n\n")
	if len(rounds) != 2 {
		t.Fatalf("lxc-top -b -n 2: %d rounds, want 2:\n%s", len(rounds), out)
	}
	num := `[0-9]+\.[0-9]{2}`
	size := `[0-9.]+ (bytes|KiB|MiB|GiB)`
	row := regexp.MustCompile(`^(\S+(?: [0-9]+ of [0-9]+)?)\s+(` + num + `)\s+(` + num + `)\s+(` + num + `)\s+(` + size + `) \((` + size + `)/(` + size + `)\)\s+(` + size + `)\s+(` + size + `)\s+(` + size + `)$`)
	for i, r := range rounds {
		lines := strings.Split(r, "\n")
		if len(lines) != 5 || !strings.HasPrefix(lines[0], "Container") || !strings.HasPrefix(lines[1], "Name") {
			t.Fatalf("lxc-top round %d: %q, want 2 header lines, 2 containers, TOTAL", i+1, r)
		}
		var names []string
		for _, line := range lines[2:] {
			m := row.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("lxc-top row %q does not parse", line)
			}
			names = append(names, m[1])
		}
		// -s m -r: b (more memory) first.
		if names[0] != b || names[1] != a || names[2] != "TOTAL 2 of 3" {
			t.Errorf("lxc-top -s m -r round %d: rows %v, want %s %s \"TOTAL 2 of 3\"", i+1, names, b, a)
		}
	}
	out = l.mustRun("lxc-top", "--format", "json", "-n", "1", "-s", "n")
	var round struct {
		Containers []struct {
			Name        string `json:"name"`
			CPU         uint64 `json:"cpu_ns"`
			MemoryBytes uint64 `json:"memory_bytes"`
		} `json:"containers"`
		Total struct {
			MemoryBytes uint64 `json:"memory_bytes"`
		} `json:"total"`
		Defined int `json:"defined"`
	}
	if err := json.Unmarshal([]byte(out), &round); err != nil {
		t.Fatalf("lxc-top --format json: %v\n%s", err, out)
	}
	if len(round.Containers) != 2 || round.Defined != 3 || round.Containers[0].Name > round.Containers[1].Name ||
		round.Containers[0].MemoryBytes == 0 || round.Total.MemoryBytes != round.Containers[0].MemoryBytes+round.Containers[1].MemoryBytes {
		t.Errorf("lxc-top --format json: %+v", round)
	}
	if _, errs, code := l.run("lxc-top", "-b", "-n", "1", "-s", "x"); code != 1 || !strings.Contains(errs, "sort") {
		t.Errorf("lxc-top -s x: exit %d, %q; want 1", code, errs)
	}
}
