package cgroup

import (
	"strings"
	"testing"
)

func TestCallerDir(t *testing.T) {
	layout := func(unified string, v1 ...string) *Layout {
		l := &Layout{Unified: unified}
		for i, b := range v1 {
			m := []string{"/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids"}[i]
			l.V1 = append(l.V1, Hierarchy{Mount: m, Base: b, Controllers: []string{m[len("/sys/fs/cgroup/"):]}})
		}
		return l
	}
	pid1 := layout("/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids")
	tests := []struct {
		name    string
		self    *Layout
		want    string
		wantErr string
	}{
		{name: "at the root", self: pid1, want: ""},
		{name: "same path everywhere", self: layout("/sys/fs/cgroup/unified/system.slice/x.service",
			"/sys/fs/cgroup/memory/system.slice/x.service", "/sys/fs/cgroup/pids/system.slice/x.service"), want: "system.slice/x.service"},
		{name: "differs", self: layout("/sys/fs/cgroup/unified/a", "/sys/fs/cgroup/memory/a", "/sys/fs/cgroup/pids"), wantErr: "differ across hierarchies"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := callerDir(pid1, tt.self)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("callerDir = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
	// A caller outside PID 1's base (a base clamped elsewhere) is refused.
	odd := layout("/sys/fs/cgroup/unified", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids")
	p := layout("/sys/fs/cgroup/unified/init", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids")
	if _, err := callerDir(p, odd); err == nil || !strings.Contains(err.Error(), "not below") {
		t.Fatalf("err = %v, want not below", err)
	}
}
