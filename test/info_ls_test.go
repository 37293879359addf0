package test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func TestInfo(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	run := l.startBusybox()
	stopped := l.createBusybox()
	pid := l.initPID(run)

	if out := l.mustRun("lxc-info", "-n", run, "-s"); out != "State:          RUNNING\n" {
		t.Errorf("lxc-info -n %s -s: %q, want %q", run, out, "State:          RUNNING\n")
	}
	if out := l.mustRun("lxc-info", "-n", stopped, "-s"); out != "State:          STOPPED\n" {
		t.Errorf("lxc-info -n %s -s: %q, want %q", stopped, out, "State:          STOPPED\n")
	}
	if out, want := l.mustRun("lxc-info", "-n", run, "-p"), fmt.Sprintf("PID:            %d\n", pid); out != want {
		t.Errorf("lxc-info -n %s -p: %q, want %q", run, out, want)
	}
	if out := l.mustRun("lxc-info", "-n", stopped, "-p"); out != "" {
		t.Errorf("lxc-info -n %s -p (stopped): %q, want nothing", stopped, out)
	}

	// Default: every line "Label:" padded to 16 columns, in LXC's order.
	labels := func(out string) ([]string, map[string]string) {
		var ls []string
		vals := map[string]string{}
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			i := strings.IndexByte(line, ':')
			if i < 0 || len(line) < 16 || strings.TrimRight(line[:16], " ") != line[:i+1] || line[16] == ' ' {
				t.Errorf("lxc-info line %q: want \"Label:\" padded to 16 columns then a value", line)
				continue
			}
			ls = append(ls, line[:i])
			vals[line[:i]] = line[16:]
		}
		return ls, vals
	}
	out := l.mustRun("lxc-info", "-n", run)
	got, vals := labels(out)
	// LXC's lines in LXC's order, then golxc's OOM and PSI lines.
	if strings.Join(withoutGolxcStats(got), ",") != "Name,State,PID,CPU use,BlkIO use,Memory use,KMem use" {
		t.Errorf("lxc-info -n %s: labels %v, want Name State PID CPU use BlkIO use Memory use KMem use\n%s", run, got, out)
	}
	if vals["Name"] != run || vals["State"] != "RUNNING" || vals["PID"] != strconv.Itoa(pid) {
		t.Errorf("lxc-info -n %s: %v", run, vals)
	}
	if !regexp.MustCompile(`^[0-9.]+ seconds$`).MatchString(vals["CPU use"]) ||
		!regexp.MustCompile(`^[0-9.]+ (bytes|KiB|MiB|GiB)$`).MatchString(vals["Memory use"]) {
		t.Errorf("lxc-info -n %s: CPU use %q, Memory use %q, want \"N seconds\" and a human size\n%s", run, vals["CPU use"], vals["Memory use"], out)
	}
	out = l.mustRun("lxc-info", "-n", run, "-H")
	_, vals = labels(out)
	for _, k := range []string{"CPU use", "BlkIO use", "Memory use", "KMem use"} {
		if !regexp.MustCompile(`^[0-9]+$`).MatchString(vals[k]) {
			t.Errorf("lxc-info -n %s -H: %s %q, want digits only\n%s", run, k, vals[k], out)
		}
	}
	if m, _ := strconv.ParseUint(vals["Memory use"], 10, 64); m == 0 {
		t.Errorf("lxc-info -n %s -H: Memory use %q, want a running container's non-zero use", run, vals["Memory use"])
	}
	out = l.mustRun("lxc-info", "-n", run, "-S")
	if got, _ := labels(out); strings.Join(withoutGolxcStats(got), ",") != "CPU use,BlkIO use,Memory use,KMem use" {
		t.Errorf("lxc-info -n %s -S: %q, want only the usage lines", run, out)
	}
	out = l.mustRun("lxc-info", "-n", stopped)
	if got, _ := labels(out); strings.Join(got, ",") != "Name,State" {
		t.Errorf("lxc-info -n %s (stopped): %q, want only Name and State", stopped, out)
	}

	if out := l.mustRun("lxc-info", "-n", run, "-c", "lxc.uts.name"); out != "lxc.uts.name = "+run+"\n" {
		t.Errorf("lxc-info -n %s -c lxc.uts.name: %q, want %q", run, out, "lxc.uts.name = "+run+"\n")
	}
	if out := l.mustRun("lxc-info", "-n", run, "-c", "lxc.uts.name", "-H"); out != run+"\n" {
		t.Errorf("lxc-info -n %s -c lxc.uts.name -H: %q, want %q", run, out, run+"\n")
	}

	var j struct {
		Name  string `json:"name"`
		State string `json:"state"`
		Pid   int    `json:"pid"`
	}
	out = l.mustRun("lxc-info", "-n", run, "--format", "json")
	if err := json.Unmarshal([]byte(out), &j); err != nil || j.Name != run || j.State != "RUNNING" || j.Pid != pid {
		t.Errorf("lxc-info -n %s --format json: %+v (%v), want name %s state RUNNING pid %d\n%s", run, j, err, run, pid, out)
	}
	j.Pid = -1
	out = l.mustRun("lxc-info", "-n", stopped, "--format", "json")
	if err := json.Unmarshal([]byte(out), &j); err != nil || j.Name != stopped || j.State != "STOPPED" || j.Pid > 0 {
		t.Errorf("lxc-info -n %s --format json (stopped): %+v (%v)\n%s", stopped, j, err, out)
	}
}

func TestLs(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	// Names chosen so that sorting and a regex filter mean something.
	base := newName(t)
	a, b, c := base+"-a", base+"-b", "z"+base
	for _, n := range []string{c, a, b} {
		l.track(n)
		requireBusybox(t)
		l.mustRun("lxc-create", "-n", n, "-t", "busybox", "-f", l.conf())
	}
	l.mustRun("lxc-start", "-n", b)

	// Not a terminal: one name per line, padded to the longest (LXC 5.0).
	if out, want := l.mustRun("lxc-ls"), a+"\n"+b+"\n"+c+" \n"; out != want {
		t.Errorf("lxc-ls: %q, want %q", out, want)
	}
	if out := l.mustRun("lxc-ls", "-1"); out != a+"\n"+b+"\n"+c+"\n" {
		t.Errorf("lxc-ls -1: %q, want one name a line", out)
	}
	if out := l.mustRun("lxc-ls", "--running"); out != b+"\n" {
		t.Errorf("lxc-ls --running: %q, want %q", out, b+"\n")
	}
	if out := l.mustRun("lxc-ls", "--stopped", "-1"); out != a+"\n"+c+"\n" {
		t.Errorf("lxc-ls --stopped -1: %q, want %s and %s", out, a, c)
	}
	if out := l.mustRun("lxc-ls", "--active"); out != b+"\n" {
		t.Errorf("lxc-ls --active: %q, want %q", out, b+"\n")
	}
	if out := l.mustRun("lxc-ls", "--frozen"); out != "" {
		t.Errorf("lxc-ls --frozen: %q, want nothing", out)
	}
	if out := l.mustRun("lxc-ls", "--defined", "-1"); out != a+"\n"+b+"\n"+c+"\n" {
		t.Errorf("lxc-ls --defined -1: %q, want all three", out)
	}
	if out := l.mustRun("lxc-ls", "-1", "^"+base); out != a+"\n"+b+"\n" {
		t.Errorf("lxc-ls -1 '^%s': %q, want %s and %s", base, out, a, b)
	}
	if out := l.mustRun("lxc-ls", "-1", "[-]a$"); out != a+"\n" {
		t.Errorf("lxc-ls -1 '[-]a$': %q, want %s", out, a)
	}

	rows := func(out string) [][]string {
		var r [][]string
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			r = append(r, strings.Fields(line))
		}
		return r
	}
	out := l.mustRun("lxc-ls", "-f")
	r := rows(out)
	want := [][]string{
		{"NAME", "STATE", "AUTOSTART", "GROUPS", "IPV4", "IPV6", "UNPRIVILEGED"},
		{a, "STOPPED", "0", "-", "-", "-", "false"},
		{b, "RUNNING", "0", "-", "-", "-", "false"},
		{c, "STOPPED", "0", "-", "-", "-", "false"},
	}
	if fmt.Sprint(r) != fmt.Sprint(want) {
		t.Errorf("lxc-ls -f:\n%s\nwant rows %v", out, want)
	}
	// Columns line up: every row's STATE starts where the header's does.
	lines := strings.Split(out, "\n")
	col := strings.Index(lines[0], "STATE")
	for _, line := range lines[1:4] {
		if len(line) <= col || line[col-1] != ' ' || line[col] == ' ' {
			t.Errorf("lxc-ls -f: row %q is not aligned with the header %q", line, lines[0])
		}
	}

	pid := l.initPID(b)
	out = l.mustRun("lxc-ls", "-f", "-F", "NAME,STATE,PID")
	want = [][]string{{"NAME", "STATE", "PID"}, {a, "STOPPED", "-"}, {b, "RUNNING", strconv.Itoa(pid)}, {c, "STOPPED", "-"}}
	if fmt.Sprint(rows(out)) != fmt.Sprint(want) {
		t.Errorf("lxc-ls -f -F NAME,STATE,PID:\n%s\nwant rows %v", out, want)
	}
	// LXC lists nothing for an unknown column, says so and exits 0.
	o, errs, code := l.run("lxc-ls", "-f", "-F", "BOGUS")
	if code != 0 || o != "" || errs != "Invalid key: BOGUS\n" {
		t.Errorf("lxc-ls -f -F BOGUS: exit %d, want 0, nothing and \"Invalid key: BOGUS\"\nstdout: %s\nstderr: %s", code, o, errs)
	}

	var js []struct {
		Name  string `json:"name"`
		State string `json:"state"`
	}
	out = l.mustRun("lxc-ls", "--format", "json")
	if err := json.Unmarshal([]byte(out), &js); err != nil {
		t.Fatalf("lxc-ls --format json: %v\n%s", err, out)
	}
	var gotJS []string
	for _, e := range js {
		gotJS = append(gotJS, e.Name+"="+e.State)
	}
	sort.Strings(gotJS)
	if w := []string{a + "=STOPPED", b + "=RUNNING", c + "=STOPPED"}; fmt.Sprint(gotJS) != fmt.Sprint(w) {
		t.Errorf("lxc-ls --format json: %v, want %v\n%s", gotJS, w, out)
	}

	// An empty lxcpath lists nothing.
	e := newLab(t)
	if out := e.mustRun("lxc-ls"); out != "" {
		t.Errorf("lxc-ls -P %s (empty): %q, want nothing", e.path, out)
	}
	if out := e.mustRun("lxc-ls", "--format", "json"); strings.TrimSpace(out) != "[]" {
		t.Errorf("lxc-ls -P %s --format json (empty): %q, want []", e.path, out)
	}
}

// golxcStats are the lines lxc-info -S prints after LXC's: the OOM
// counts and the pressure (PSI) of the container's cgroup.
var golxcStats = []string{"OOM events", "OOM kills", "CPU PSI", "IO PSI", "Memory PSI"}

// withoutGolxcStats drops golxc's own -S labels from the end of labels,
// in their order: LXC's lines must come first, unchanged.
func withoutGolxcStats(labels []string) []string {
	end := len(labels)
	for j := len(golxcStats) - 1; j >= 0 && end > 0; j-- {
		if labels[end-1] == golxcStats[j] {
			end--
		}
	}
	return labels[:end]
}
