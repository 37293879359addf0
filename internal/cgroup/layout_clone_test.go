package cgroup

import (
	"reflect"
	"testing"
)

// TestLayoutClone: a clone equals its layout, nil slices staying nil (a
// cgroup2-only host has no V1), and shares no slice with it.
func TestLayoutClone(t *testing.T) {
	for _, l := range []*Layout{
		{Unified: "/sys/fs/cgroup", UnifiedControllers: []string{"cpu", "memory"}},
		{V1: []Hierarchy{{Mount: "/sys/fs/cgroup/cpu", Base: "/sys/fs/cgroup/cpu", Controllers: []string{"cpu", "cpuacct"}}}, LockDir: "/tmp/x"},
		{},
	} {
		c := l.Clone()
		if !reflect.DeepEqual(c, l) {
			t.Fatalf("clone %+v of %+v", c, l)
		}
		for i := range c.V1 {
			c.V1[i].Controllers[0] = "changed"
			c.V1[i].Mount = "changed"
		}
		for i := range c.UnifiedControllers {
			c.UnifiedControllers[i] = "changed"
		}
		if reflect.DeepEqual(c, l) && (len(l.V1) > 0 || len(l.UnifiedControllers) > 0) {
			t.Fatalf("changing the clone changed %+v", l)
		}
		for _, h := range l.V1 {
			if h.Controllers[0] == "changed" || h.Mount == "changed" {
				t.Fatalf("changing the clone changed %+v", l)
			}
		}
		for _, x := range l.UnifiedControllers {
			if x == "changed" {
				t.Fatalf("changing the clone changed %+v", l)
			}
		}
	}
}
