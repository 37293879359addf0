package lxc

import (
	"testing"

	"github.com/golxc/golxc/internal/seccomp"
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

func TestMapRoot(t *testing.T) {
	for _, c := range []struct {
		m    string
		id   int
		isOK bool
	}{
		{"         0     100000      65536\n", 100000, true},
		{"      1000       1000          1\n         0     200000       1000\n", 200000, true},
		{"         0          0 4294967295\n", 0, true},
		{"      1000     100000      65536\n", 0, false},
		{"", 0, false},
		{"0 5 0\n", 0, false},
	} {
		id, ok := mapRoot([]byte(c.m))
		if id != c.id || ok != c.isOK {
			t.Errorf("mapRoot(%q) = %d, %v; want %d, %v", c.m, id, ok, c.id, c.isOK)
		}
	}
}
