package lxc

import (
	"os"
	"path/filepath"
	"testing"

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
		got, err := useSharedMonitor(&c.req)
		if err != nil || got != c.want {
			t.Errorf("conf %q, %s=%q, request %+v: shared %v, %v; want %v", c.conf, SharedMonitorEnv, c.env, c.req, got, err, c.want)
		}
	}
}
