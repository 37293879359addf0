package lxclog

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestParsePriority(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want Priority
		bad  bool
	}{
		{in: "TRACE", want: Trace}, {in: "trace", want: Trace}, {in: "0", want: Trace},
		{in: " debug ", want: Debug}, {in: "NOTICE", want: Notice}, {in: "3", want: Notice},
		{in: "warn", want: Warn}, {in: "WARNING", bad: true}, {in: "CRIT", want: Crit}, {in: "ALERT", want: Alert},
		{in: "8", want: Fatal}, {in: "9", bad: true}, {in: "-1", bad: true}, {in: "verbose", bad: true}, {in: "", bad: true},
	} {
		got, err := ParsePriority(tt.in)
		if (err != nil) != tt.bad || !tt.bad && got != tt.want {
			t.Errorf("ParsePriority(%q) = %v, %v; want %v (error: %v)", tt.in, got, err, tt.want, tt.bad)
		}
	}
}

// TestFormat: LXC's line (tool, name, timestamp, padded level, module,
// file:function:line, message) and its nine levels, filtered at the
// threshold even where logrus has no level of its own (NOTICE).
func TestFormat(t *testing.T) {
	var b bytes.Buffer
	l := New(&b, "lxc-start", "c1", Notice)
	l.Info("not shown: INFO is below NOTICE")
	l.WithField(PriorityField, Notice).Info("a notice")
	l.Warnf("a %s", "warning")
	l.WithField(PriorityField, Crit).Error("critical")
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("log %q: want 3 lines", b.String())
	}
	line := regexp.MustCompile(`^lxc-start c1 \d{14}\.\d{3} (NOTICE  |WARN    |CRIT    ) lxclog - lxclog/lxclog_test\.go:TestFormat:\d+ - (.*)$`)
	for i, want := range []string{"a notice", "a warning", "critical"} {
		m := line.FindStringSubmatch(lines[i])
		if m == nil || m[2] != want {
			t.Errorf("line %q: want LXC's format with message %q", lines[i], want)
		}
	}
}
