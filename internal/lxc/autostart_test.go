package lxc

import (
	"slices"
	"strings"
	"testing"

	"github.com/golxc/golxc/internal/config"
)

func TestParseAutostartGroups(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{""}, []string{""}},
		{[]string{"onboot,"}, []string{"onboot", ""}},
		{[]string{"dns,web,,onboot"}, []string{"dns", "web", "", "onboot"}},
		{[]string{"dns,web", ",onboot"}, []string{"dns", "web", "", "onboot"}},
		{[]string{"a", "", "b"}, []string{"a", "", "b"}},
	} {
		if got := ParseAutostartGroups(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("ParseAutostartGroups(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func asEntries() []AutostartEntry {
	return []AutostartEntry{
		{Name: "a", Auto: true, Order: 5},
		{Name: "b", Auto: true, Order: 1, Delay: 2},
		{Name: "c", Auto: true, Order: 10},
		{Name: "d", Auto: true, Order: 3, Groups: []string{"onboot"}},
		{Name: "e", Auto: true, Groups: []string{"web", "onboot"}},
		{Name: "f", Order: 7},
		{Name: "h", Auto: true, Delay: 1, Groups: []string{"web"}},
		{Name: "aa", Auto: true, Order: 5},
	}
}

func names(es []AutostartEntry) string {
	var n []string
	for _, e := range es {
		n = append(n, e.Name)
	}
	return strings.Join(n, " ")
}

func TestSelectAutostart(t *testing.T) {
	for _, tc := range []struct {
		sel    AutostartSelection
		action AutostartAction
		want   string
	}{
		{AutostartSelection{}, AutostartStart, "b a aa c"},
		{AutostartSelection{All: true}, AutostartStart, "e h b d a aa c"},
		{AutostartSelection{IgnoreAuto: true}, AutostartStart, "b a aa f c"},
		{AutostartSelection{Groups: []string{"onboot", ""}}, AutostartStart, "e d b a aa c"},
		{AutostartSelection{Groups: []string{"web", "onboot"}}, AutostartStart, "e h d"},
		// After the NULL group, as the man page's example has it.
		{AutostartSelection{Groups: []string{"", "onboot"}}, AutostartStart, "b a aa c e d"},
		{AutostartSelection{All: true}, AutostartShutdown, "c aa a d b h e"},
		{AutostartSelection{Groups: []string{"onboot", ""}}, AutostartKill, "d e c aa a b"},
		{AutostartSelection{All: true}, AutostartReboot, "e h b d a aa c"},
	} {
		if got := names(SelectAutostart(asEntries(), tc.sel, tc.action)); got != tc.want {
			t.Errorf("SelectAutostart(%+v, %d) = %q, want %q", tc.sel, tc.action, got, tc.want)
		}
	}
}

func TestAutostartBatches(t *testing.T) {
	sel := SelectAutostart(asEntries(), AutostartSelection{Groups: []string{"onboot", ""}}, AutostartStart)
	var got []string
	for _, b := range AutostartBatches(sel, AutostartStart) {
		got = append(got, names(b))
	}
	// e and d are separate order levels; b's delay ends its batch; a and
	// aa share order 5.
	want := []string{"e", "d", "b", "a aa", "c"}
	if !slices.Equal(got, want) {
		t.Errorf("start batches %q, want %q", got, want)
	}
	// Same order, two passes: never one batch.
	two := []AutostartEntry{{Name: "x", Pass: 0}, {Name: "y", Pass: 1}}
	if n := len(AutostartBatches(two, AutostartStart)); n != 2 {
		t.Errorf("entries of two passes in %d batches, want 2", n)
	}
	// One that joins another's namespace starts alone, after the others.
	shareCfg := config.New()
	shareCfg.Namespace.Share = []config.NamedValue{{Name: "net", Value: "x"}}
	sh := []AutostartEntry{{Name: "x"}, {Name: "y", Config: shareCfg}, {Name: "z"}}
	got = nil
	for _, b := range AutostartBatches(sh, AutostartStart) {
		got = append(got, names(b))
	}
	if want := []string{"x", "y", "z"}; !slices.Equal(got, want) {
		t.Errorf("batches with a namespace sharer %q, want %q", got, want)
	}
	// A delay ends a start batch, not a shutdown's.
	d := []AutostartEntry{{Name: "x", Delay: 3}, {Name: "y"}}
	if n := len(AutostartBatches(d, AutostartShutdown)); n != 1 {
		t.Errorf("shutdown of one order level in %d batches, want 1", n)
	}
}
