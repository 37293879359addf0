package lxc

import (
	"reflect"
	"testing"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/network"
)

// lxc-info's Link blocks follow lxc.net order: a veth's recorded host
// end, a macvlan's, ipvlan's or vlan's link; nothing for empty, none or
// phys (moved into the container), nor for a proxy-only record entry.
func TestHostLinks(t *testing.T) {
	nets := []config.Net{
		{Index: 4, Type: "vlan", Link: "eth1"},
		{Index: 0, Type: "empty"},
		{Index: 2, Type: "veth", Link: "br0"},
		{Index: 1, Type: "macvlan", Link: "eth0"},
		{Index: 3, Type: "phys", Link: "eth9"},
		{Index: 5, Type: "veth", Link: "br0", VethPair: "pairA"},
		{Index: 6, Type: "none"},
	}
	ends := []network.HostEnd{
		{Name: "pairA", Index: 21, Net: 5},
		{Name: "vethX1", Index: 20, Net: 2},
		{Net: 1, Proxies: []network.Proxy{{}}},
	}
	got, found := hostLinks(nets, ends, true)
	want := []network.HostEnd{
		{Name: "eth0", Net: 1},
		{Name: "vethX1", Index: 20, Net: 2},
		{Name: "eth1", Net: 4},
		{Name: "pairA", Index: 21, Net: 5},
	}
	if !found || !reflect.DeepEqual(got, want) {
		t.Errorf("hostLinks = %+v, %v; want %+v, true", got, found, want)
	}
	// No record (a container LXC's tools run): the veths are not known.
	got, found = hostLinks(nets, nil, false)
	if found || !reflect.DeepEqual(got, []network.HostEnd{{Name: "eth0", Net: 1}, {Name: "eth1", Net: 4}}) {
		t.Errorf("hostLinks without a record = %+v, %v", got, found)
	}
	// A veth the running container got at its start (lxc-start -s, -f)
	// that the config on disk does not name: the record shows it.
	got, found = hostLinks([]config.Net{{Index: 0, Type: "empty"}}, []network.HostEnd{{Name: "vethS", Index: 30, Net: 0}}, true)
	if !found || !reflect.DeepEqual(got, []network.HostEnd{{Name: "vethS", Index: 30, Net: 0}}) {
		t.Errorf("hostLinks of a veth only the start named = %+v, %v", got, found)
	}
	// Nothing with a host side: found, nothing to show, no record needed.
	if got, found := hostLinks([]config.Net{{Type: "empty"}}, nil, false); !found || len(got) != 0 {
		t.Errorf("hostLinks of an empty network = %+v, %v", got, found)
	}
}
