package lxc

import (
	"reflect"
	"testing"

	"github.com/golxc/golxc/internal/seccomp"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The filter and no_new_privs of an attached command, as LXC 5.0's
// lxc-attach decides them (measured: -e LSM drops the filter, nothing
// drops no_new_privs), plus golxc's own case: no_new_privs where the
// command could not load the filter without it.
func TestAttachConfinement(t *testing.T) {
	if confined, err := seccomp.Confined(); err != nil || confined {
		t.Skipf("the test runs under a seccomp filter (%v): the filter would be left out", err)
	}
	prog := []byte{6, 0, 0, 0, 0, 0, 0xff, 0x7f}
	admin := []string{"CAP_CHOWN", "CAP_SYS_ADMIN"}
	noAdmin := []string{"CAP_CHOWN"}
	for _, c := range []struct {
		what       string
		conf       confinement
		elevated   Privileges
		joinUser   bool
		keep       []string
		wantFilter bool
		wantNNP    bool
	}{
		{"nothing", confinement{}, 0, false, admin, false, false},
		{"no_new_privs", confinement{NoNewPrivs: true}, 0, false, admin, false, true},
		{"no_new_privs, -e", confinement{NoNewPrivs: true}, ElevateAll, false, admin, false, true},
		{"filter", confinement{Seccomp: prog}, 0, false, admin, true, false},
		{"filter, -e", confinement{Seccomp: prog}, ElevateAll, false, admin, false, false},
		{"filter, -e LSM", confinement{Seccomp: prog}, ElevateLSM, false, admin, false, false},
		{"filter, -e CAP", confinement{Seccomp: prog}, ElevateCap, false, noAdmin, true, false},
		{"filter, -e CGROUP", confinement{Seccomp: prog}, ElevateCgroup, false, admin, true, false},
		{"filter, no sys_admin", confinement{Seccomp: prog}, 0, false, noAdmin, true, true},
		{"filter, no sys_admin, -e CGROUP", confinement{Seccomp: prog}, ElevateCgroup, false, noAdmin, true, true},
		{"filter, no sys_admin, own user namespace", confinement{Seccomp: prog}, 0, true, noAdmin, true, false},
		{"filter and no_new_privs, no sys_admin, -e LSM", confinement{Seccomp: prog, NoNewPrivs: true}, ElevateLSM, false, noAdmin, false, true},
	} {
		filter, nnp := attachConfinement(c.conf, c.elevated, c.joinUser, c.keep, nil)
		if (filter != nil) != c.wantFilter || nnp != c.wantNNP {
			t.Errorf("%s: filter %v, no_new_privs %v; want %v, %v", c.what, filter != nil, nnp, c.wantFilter, c.wantNNP)
		}
	}
}

// TestParseIDMap: the whole map of a /proc/PID/uid_map, which a user's
// attach hands to its helper namespace (its root, proc.RootIDs).
func TestParseIDMap(t *testing.T) {
	for _, c := range []struct {
		m    string
		want []specs.LinuxIDMapping
	}{
		{"         0     100000      65536\n", []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}},
		{"      1000       1000          1\n         0     200000       1000\n", []specs.LinuxIDMapping{{ContainerID: 1000, HostID: 1000, Size: 1}, {ContainerID: 0, HostID: 200000, Size: 1000}}},
		{"         0          0 4294967295\n", []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 4294967295}}},
		{"", nil},
		{"0 5 0\nx 1 2\n0 1\n", nil},
	} {
		if got := parseIDMap([]byte(c.m)); !reflect.DeepEqual(got, c.want) {
			t.Errorf("parseIDMap(%q) = %v; want %v", c.m, got, c.want)
		}
	}
}
