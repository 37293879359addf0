package network

import (
	"net"
	"reflect"
	"testing"

	"github.com/vishvananda/netlink"
)

// Addresses, one raw dump through a socket made in the namespace, lists
// what the netlink library's handle lists there, filtered as lxc-info
// filters: global scope, no loopback address, a point-to-point address's
// own (IFA_LOCAL) not its peer's; IPv4 first.
func TestAddresses(t *testing.T) {
	pid := container(t)
	h := insideHandle(t, pid)
	lo, err := h.LinkByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if err := h.LinkSetUp(lo); err != nil {
		t.Fatal(err)
	}
	add := func(cidr string, scope netlink.Scope, peer string) {
		t.Helper()
		a, err := netlink.ParseAddr(cidr)
		if err != nil {
			t.Fatal(err)
		}
		a.Scope = int(scope)
		if peer != "" {
			p, _ := netlink.ParseIPNet(peer)
			a.Peer = p
		}
		if err := h.AddrAdd(lo, a); err != nil {
			t.Fatalf("add %s: %v", cidr, err)
		}
	}
	add("10.9.8.7/32", netlink.SCOPE_UNIVERSE, "")
	add("169.254.9.9/32", netlink.SCOPE_LINK, "")
	add("10.1.1.1/32", netlink.SCOPE_UNIVERSE, "10.1.1.2/32")
	add("fd00:9::5/128", netlink.SCOPE_UNIVERSE, "")
	v4, v6, err := Addresses(pid)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"10.9.8.7", "10.1.1.1"}; !reflect.DeepEqual(v4, want) {
		t.Errorf("v4 = %v, want %v", v4, want)
	}
	if want := []string{"fd00:9::5"}; !reflect.DeepEqual(v6, want) {
		t.Errorf("v6 = %v, want %v", v6, want)
	}
	// The library's view, filtered the same way.
	all, err := h.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		t.Fatal(err)
	}
	var lib []string
	for _, a := range all {
		if a.Scope == int(netlink.SCOPE_UNIVERSE) && !a.IP.IsLoopback() {
			lib = append(lib, a.IP.String())
		}
	}
	if got := append(v4, v6...); !reflect.DeepEqual(got, lib) {
		t.Errorf("Addresses = %v, the netlink library lists %v", got, lib)
	}
	if _, _, err := Addresses(1 << 30); err == nil {
		t.Error("Addresses of a pid that does not exist: no error")
	}
}

// HostLinkStats reads a host interface's counters, and nothing for a
// name that is not one or whose index is not the recorded one.
func TestHostLinkStats(t *testing.T) {
	lo, err := net.InterfaceByName("lo")
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := HostLinkStats("lo", lo.Index); !ok || s.Name != "lo" {
		t.Errorf("HostLinkStats(lo, %d) = %+v, %v", lo.Index, s, ok)
	}
	if _, ok := HostLinkStats("lo", lo.Index+1000); ok {
		t.Error("HostLinkStats with another index: found")
	}
	for _, bad := range []string{"", "..", "a/b", "nosuchlink0", "0123456789abcdef"} {
		if _, ok := HostLinkStats(bad, 0); ok {
			t.Errorf("HostLinkStats(%q): found", bad)
		}
	}
}
