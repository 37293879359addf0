package network

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The arguments and variables each type's script gets, under hook
// versions 0 and 1 (LXC 5.0.2's: the link, then a veth's host end; an
// empty link is no argument), and a failing script's error.
func TestRunScript(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "log")
	script := filepath.Join(dir, "s")
	if err := os.WriteFile(script, []byte("#!/bin/sh\necho \"[$*] $LXC_NET_TYPE $LXC_NET_PARENT $LXC_NET_PEER $LXC_PID $LXC_NAME\" >> "+log+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	env := ScriptEnv("c1", "/lxc", "/lxc/c1/rootfs", 0)
	tests := []struct {
		i    Iface
		end  HostEnd
		hook string
		want string
	}{
		{Iface{Type: "veth", Link: "br0", ScriptUp: script}, HostEnd{Name: "vethA"}, "up", "[c1 net up veth br0 vethA]    7 c1"},
		{Iface{Type: "veth", ScriptDown: script}, HostEnd{Name: "vethB"}, "down", "[c1 net down veth vethB]    7 c1"},
		{Iface{Type: "macvlan", Link: "p0", ScriptUp: script}, HostEnd{}, "up", "[c1 net up macvlan p0]    7 c1"},
		{Iface{Type: "phys", Link: "p1", ScriptUp: script, HookVersion: 1}, HostEnd{}, "up", "[] phys p1  7 c1"},
		{Iface{Type: "veth", Link: "br0", ScriptUp: script, HookVersion: 1}, HostEnd{Name: "vethC"}, "up", "[] veth br0 vethC 7 c1"},
	}
	for _, tt := range tests {
		os.Remove(log)
		tt.i.ScriptEnv = env
		if err := runScript(tt.i, tt.hook, tt.end, 7); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(log)
		if got := strings.TrimSpace(string(b)); got != tt.want {
			t.Errorf("%s %s v%d: %q, want %q", tt.i.Type, tt.hook, tt.i.HookVersion, got, tt.want)
		}
	}
	err := runScript(Iface{Type: "veth", ScriptUp: "echo no way; exit 4", ScriptEnv: env}, "up", HostEnd{Name: "v"}, 7)
	if err == nil || !strings.Contains(err.Error(), "script.up echo no way; exit 4: exit status 4: no way") {
		t.Errorf("failing script: %v", err)
	}
}
