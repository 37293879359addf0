package lxc

import (
	"reflect"
	"testing"

	"github.com/golxc/golxc/internal/monitor"
)

func TestRelativeTo(t *testing.T) {
	tests := []struct {
		in   monitor.CgroupDir
		rel  string
		want monitor.CgroupDir
	}{
		{in: monitor.CgroupDir{}, rel: "", want: monitor.CgroupDir{}},
		{in: monitor.CgroupDir{}, rel: "s/x.service", want: monitor.CgroupDir{Dir: "s/x.service"}},
		{in: monitor.CgroupDir{Dir: "a/b"}, rel: "s", want: monitor.CgroupDir{Dir: "s/a/b"}},
		{in: monitor.CgroupDir{Container: "c", Monitor: "m", Inner: "i"}, rel: "s",
			want: monitor.CgroupDir{Container: "s/c", Monitor: "s/m", Inner: "i"}},
	}
	for _, tt := range tests {
		if got := relativeTo(tt.in, tt.rel); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("relativeTo(%+v, %q) = %+v, want %+v", tt.in, tt.rel, got, tt.want)
		}
	}
}
