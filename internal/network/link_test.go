package network

import (
	"net"
	"testing"

	"github.com/vishvananda/netlink"
)

// The plan of each type made on a parent, as the kernel gets it: the
// parent's index (IFLA_LINK), the namespace (IFLA_NET_NS_FD) and the
// type's own attributes. ipvlan and vlan cannot be made on this kernel:
// this is what golxc would ask of one that has them.
func TestParentLinkPlans(t *testing.T) {
	mac, _ := net.ParseMAC("00:16:3e:01:02:03")
	nets := netConfig(t,
		"lxc.net.0.type = macvlan", "lxc.net.0.link = p0", "lxc.net.0.macvlan.mode = bridge", "lxc.net.0.mtu = 1400",
		"lxc.net.1.type = macvlan", "lxc.net.1.link = p0",
		"lxc.net.2.type = ipvlan", "lxc.net.2.link = p0", "lxc.net.2.ipvlan.mode = l2", "lxc.net.2.ipvlan.isolation = vepa",
		"lxc.net.3.type = ipvlan", "lxc.net.3.link = p0",
		"lxc.net.4.type = vlan", "lxc.net.4.link = p0", "lxc.net.4.vlan.id = 42",
	)
	plan, err := Plan(nets, nil)
	if err != nil {
		t.Fatal(err)
	}
	var links []netlink.Link
	for _, i := range plan {
		l, err := ParentLink(i, 7, "eth9", mac, 33)
		if err != nil {
			t.Fatalf("lxc.net.%d: %v", i.Index, err)
		}
		a := l.Attrs()
		if a.ParentIndex != 7 || a.Name != "eth9" || a.Namespace != netlink.NsFd(33) || a.MTU != i.MTU {
			t.Errorf("lxc.net.%d: attrs %+v", i.Index, a)
		}
		links = append(links, l)
	}
	if m := links[0].(*netlink.Macvlan); m.Mode != netlink.MACVLAN_MODE_BRIDGE || m.Attrs().HardwareAddr.String() != mac.String() || m.Attrs().MTU != 1400 {
		t.Errorf("macvlan bridge: %+v", m)
	}
	if m := links[1].(*netlink.Macvlan); m.Mode != netlink.MACVLAN_MODE_PRIVATE {
		t.Errorf("macvlan default mode %v, want private (LXC's)", m.Mode)
	}
	if v := links[2].(*netlink.IPVlan); v.Mode != netlink.IPVLAN_MODE_L2 || v.Flag != netlink.IPVLAN_FLAG_VEPA || v.Attrs().HardwareAddr != nil {
		t.Errorf("ipvlan l2 vepa: %+v", v)
	}
	if v := links[3].(*netlink.IPVlan); v.Mode != netlink.IPVLAN_MODE_L3 || v.Flag != netlink.IPVLAN_FLAG_BRIDGE {
		t.Errorf("ipvlan defaults: mode %v flag %v, want l3 bridge", v.Mode, v.Flag)
	}
	if v := links[4].(*netlink.Vlan); v.VlanId != 42 || v.VlanProtocol != netlink.VLAN_PROTOCOL_8021Q || v.Type() != "vlan" {
		t.Errorf("vlan 42: %+v", v)
	}
}
