package monitor

import (
	"strings"
	"testing"
)

func TestCgroupDirCheck(t *testing.T) {
	tests := []struct {
		d       CgroupDir
		wantErr string
	}{
		{d: CgroupDir{}},
		{d: CgroupDir{Dir: "a/b"}},
		{d: CgroupDir{Container: "a/c", Monitor: "a/m", Inner: "i"}},
		{d: CgroupDir{Container: "a/c"}, wantErr: "must be set together"},
		{d: CgroupDir{Monitor: "a/m"}, wantErr: "must be set together"},
		{d: CgroupDir{Dir: "x", Container: "a/c", Monitor: "a/m"}, wantErr: "mutually exclusive"},
		{d: CgroupDir{Container: "a", Monitor: "a"}, wantErr: "must differ"},
		{d: CgroupDir{Dir: "/abs"}, wantErr: "lxc.cgroup.dir = /abs: want a relative path"},
		{d: CgroupDir{Dir: "a//b"}, wantErr: "relative path"},
		{d: CgroupDir{Dir: "a/./b"}, wantErr: "relative path"},
		{d: CgroupDir{Container: "a", Monitor: "b", Inner: "../x"}, wantErr: "lxc.cgroup.dir.container.inner"},
	}
	for _, tt := range tests {
		err := tt.d.Check()
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Errorf("Check(%+v) = %v, want %q", tt.d, err, tt.wantErr)
		}
	}
}
