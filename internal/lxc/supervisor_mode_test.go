package lxc

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/golxc/golxc/internal/cgroup"
	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/network"
)

// The monitor layout: golxc.monitor, GOLXC_SHARED_MONITOR over it, and a
// monitor of its own for a pid file, host hooks or network scripts.
func TestUseSharedMonitor(t *testing.T) {
	dir := t.TempDir()
	sys := filepath.Join(dir, "lxc.conf")
	t.Setenv(config.SystemConfigEnv, sys)
	cases := []struct {
		conf, env string
		req       startRequest
		want      bool
	}{
		{"", "", startRequest{}, true},
		{"golxc.monitor = per-container\n", "", startRequest{}, false},
		{"golxc.monitor = per-container\n", "1", startRequest{}, true},
		{"", "0", startRequest{}, false},
		{"", "1", startRequest{PidFile: "/run/x.pid"}, false},
		{"", "", startRequest{Hooks: &monitor.HostHooks{StartHost: []string{"/bin/true"}}}, false},
		{"", "", startRequest{Hooks: &monitor.HostHooks{}}, true},
		{"", "", startRequest{Network: []network.Iface{{ScriptUp: "/bin/true"}}}, false},
	}
	for _, c := range cases {
		if err := os.WriteFile(sys, []byte(c.conf), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Setenv(SharedMonitorEnv, c.env)
		// Judged in the host's default context whatever this test's is
		// (nice, taskset): the context's own checks are TestHostFacts'.
		got, err := useSharedMonitor(&c.req, &HostFacts{context: func() error { return nil }})
		if err != nil || got != c.want {
			t.Errorf("conf %q, %s=%q, request %+v: shared %v, %v; want %v", c.conf, SharedMonitorEnv, c.env, c.req, got, err, c.want)
		}
	}
}

// TestHostFacts: one run's facts give each start the host's layout as a
// fresh read gives it, a copy of its own; a process judged in the
// host's default context stays so for the run, one judged otherwise (or
// whose read failed) is judged again at the next start; without facts
// each start reads its own.
func TestHostFacts(t *testing.T) {
	skipUnlessRoot(t)
	want, err := cgroup.Detect()
	if err != nil {
		t.Skipf("no cgroup hierarchy here: %v", err)
	}
	facts := NewHostFacts()
	t.Cleanup(facts.Close)
	for _, h := range []*HostFacts{nil, facts} {
		first, err := h.layout()
		if err != nil || !reflect.DeepEqual(first, want) {
			t.Fatalf("facts %p: layout %+v, %v; want %+v", h, first, err, want)
		}
		second, _ := h.layout()
		if len(first.V1) > 0 && &first.V1[0] == &second.V1[0] || len(first.UnifiedControllers) > 0 && &first.UnifiedControllers[0] == &second.UnifiedControllers[0] {
			t.Errorf("facts %p: two starts share one layout", h)
		}
	}
	judged := 0
	verdicts := []error{errors.New("its nice value is not 0"), nil, errors.New("read /proc/1/status: EMFILE")}
	h := &HostFacts{context: func() error { judged++; return verdicts[min(judged, len(verdicts))-1] }}
	if h.defaultContext() == nil {
		t.Fatal("a process judged outside the default context was taken for in it")
	}
	if err := h.defaultContext(); err != nil || judged != 2 {
		t.Fatalf("second start: %v after %d judgements; want judged again, and in", err, judged)
	}
	if err := h.defaultContext(); err != nil || judged != 2 {
		t.Fatalf("third start: %v after %d judgements; want the kept yes", err, judged)
	}
}
