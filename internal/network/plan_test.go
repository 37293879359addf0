package network

import (
	"bytes"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/golxc/golxc/internal/config"
)

func TestBroadcast(t *testing.T) {
	tests := []struct{ prefix, want string }{
		{"10.0.3.15/24", "10.0.3.255"},
		// LXC 5.0.2 gives 0.0.0.3 here: the host bits alone.
		{"10.213.77.6/30", "10.213.77.7"},
		{"192.168.1.130/25", "192.168.1.255"},
		{"172.16.5.4/12", "172.31.255.255"},
		{"10.1.2.3/8", "10.255.255.255"},
		{"10.0.0.1/0", "255.255.255.255"},
		{"10.0.0.1/31", ""}, // RFC 3021: no broadcast
		{"10.0.0.1/32", ""},
	}
	for _, tt := range tests {
		got := Broadcast(netip.MustParsePrefix(tt.prefix))
		if tt.want == "" {
			if got.IsValid() {
				t.Errorf("Broadcast(%s) = %s, want none", tt.prefix, got)
			}
			continue
		}
		if got.String() != tt.want {
			t.Errorf("Broadcast(%s) = %s, want %s", tt.prefix, got, tt.want)
		}
	}
}

func TestParseIPv4(t *testing.T) {
	tests := []struct {
		in, prefix, bcast, err string
	}{
		{in: "10.0.3.15/24", prefix: "10.0.3.15/24", bcast: "10.0.3.255"},
		{in: "10.0.3.15", prefix: "10.0.3.15/24", bcast: "10.0.3.255"}, // LXC's default length
		{in: "10.0.3.15/24 10.0.3.127", prefix: "10.0.3.15/24", bcast: "10.0.3.127"},
		{in: "10.0.3.15/24 fe80::1", err: "not an IPv4 address"},
		{in: "fd00::1/64", err: "want an IPv4 address"},
		{in: "10.0.3.15/33", err: "want an IPv4 address"},
	}
	for _, tt := range tests {
		a, err := ParseIPv4(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("ParseIPv4(%q) = %v, %v; want error with %q", tt.in, a, err, tt.err)
			}
			continue
		}
		if err != nil || a.Prefix.String() != tt.prefix || a.Broadcast.String() != tt.bcast {
			t.Errorf("ParseIPv4(%q) = %s brd %s, %v; want %s brd %s", tt.in, a.Prefix, a.Broadcast, err, tt.prefix, tt.bcast)
		}
	}
}

func TestFillHwaddr(t *testing.T) {
	// All bits set: every filled digit is f, but for the multicast bit.
	ones := bytes.NewReader(bytes.Repeat([]byte{0xff}, 64))
	got, err := FillHwaddr("xx:16:3E:xx:xx:xx", ones)
	if err != nil || got != "fe:16:3e:ff:ff:ff" {
		t.Fatalf("FillHwaddr = %q, %v; want fe:16:3e:ff:ff:ff", got, err)
	}
	if got, err := FillHwaddr("00:16:3e:12:34:56", ones); err != nil || got != "00:16:3e:12:34:56" {
		t.Fatalf("a full address changed: %q, %v", got, err)
	}
	if _, err := FillHwaddr("01:16:3e:12:34:56", ones); err == nil {
		t.Fatal("a multicast address was taken")
	}
}

func netConfig(t *testing.T, lines ...string) []config.Net {
	t.Helper()
	c := config.New()
	for _, l := range lines {
		k, v, _ := strings.Cut(l, "=")
		if err := c.Set(strings.TrimSpace(k), strings.TrimSpace(v)); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
	}
	return c.Net
}

func TestPlan(t *testing.T) {
	nets := netConfig(t,
		"lxc.net.1.type = veth",
		"lxc.net.1.link = br1",
		"lxc.net.0.type = veth",
		"lxc.net.0.link = lxcbr0",
		"lxc.net.0.flags = up",
		"lxc.net.0.hwaddr = 00:16:3e:xx:xx:xx",
		"lxc.net.0.veth.pair = vh0",
		"lxc.net.0.mtu = 1400",
		"lxc.net.0.ipv4.address = 10.0.3.6/30",
		"lxc.net.0.ipv4.address = 10.9.0.2/16 10.9.0.255",
		"lxc.net.0.ipv4.gateway = 10.0.3.5",
		"lxc.net.0.ipv6.address = fd00:3::6/64",
		"lxc.net.0.ipv6.gateway = dev",
		"lxc.net.2.type = empty",
	)
	ifaces, err := Plan(nets, bytes.NewReader(make([]byte, 64)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ifaces) != 2 || ifaces[0].Index != 0 || ifaces[1].Index != 1 {
		t.Fatalf("want networks 0 and 1 in order, empty left out: %+v", ifaces)
	}
	i := ifaces[0]
	want := Iface{Index: 0, Type: "veth", Hwaddr: "00:16:3e:00:00:00", MTU: 1400, Up: true, Link: "lxcbr0", Mode: "bridge", Pair: "vh0",
		IPv4: []Addr{
			{Prefix: netip.MustParsePrefix("10.0.3.6/30"), Broadcast: netip.MustParseAddr("10.0.3.7")},
			{Prefix: netip.MustParsePrefix("10.9.0.2/16"), Broadcast: netip.MustParseAddr("10.9.0.255")},
		},
		IPv4Gateway: Gateway{Mode: GatewayAddr, Addr: netip.MustParseAddr("10.0.3.5")},
		IPv6:        []Addr{{Prefix: netip.MustParsePrefix("fd00:3::6/64")}},
		IPv6Gateway: Gateway{Mode: GatewayDev},
	}
	if got, wantS := describe(i), describe(want); got != wantS {
		t.Fatalf("plan of lxc.net.0:\n got %s\nwant %s", got, wantS)
	}
	if j := ifaces[1]; j.Up || j.Name != "" || j.Mode != "bridge" || j.Pair != "" || j.Link != "br1" {
		t.Fatalf("plan of lxc.net.1 (all defaults): %+v", j)
	}
}

func describe(i Iface) string {
	var b strings.Builder
	b.WriteString(strings.Join([]string{i.Type, i.Name, i.Hwaddr, i.Link, i.Mode, i.Pair}, "|"))
	for _, a := range append(append([]Addr(nil), i.IPv4...), i.IPv6...) {
		b.WriteString(" " + a.Prefix.String() + " brd " + a.Broadcast.String())
	}
	b.WriteString(" gw4 " + i.IPv4Gateway.Mode + " " + i.IPv4Gateway.Addr.String())
	b.WriteString(" gw6 " + i.IPv6Gateway.Mode + " " + i.IPv6Gateway.Addr.String())
	if i.Up {
		b.WriteString(" up")
	}
	b.WriteString(" mtu " + strconv.Itoa(i.MTU))
	return b.String()
}

func TestPlanRefuses(t *testing.T) {
	tests := []struct {
		name  string
		lines []string
		err   string
	}{
		{"macvlan without a link", []string{"lxc.net.0.type = macvlan"}, "lxc.net.0.type = macvlan needs lxc.net.0.link"},
		{"veth keys on a phys", []string{"lxc.net.0.type = phys", "lxc.net.0.link = x0", "lxc.net.0.veth.pair = p"}, "veth.* keys are for a veth"},
		{"a phys twice", []string{"lxc.net.0.type = phys", "lxc.net.0.link = x0", "lxc.net.1.type = phys", "lxc.net.1.link = x0"}, "lxc.net.0 moves that interface already"},
		{"macvlan gateway auto", []string{"lxc.net.0.type = macvlan", "lxc.net.0.link = x0", "lxc.net.0.flags = up", "lxc.net.0.ipv4.gateway = auto"}, "it needs a veth"},
		{"gateway of a down link", []string{"lxc.net.0.type = veth", "lxc.net.0.ipv4.address = 10.0.0.2/24", "lxc.net.0.ipv4.gateway = 10.0.0.1"},
			"lxc.net.0.ipv4.gateway needs lxc.net.0.flags = up"},
		{"auto without a bridge", []string{"lxc.net.0.type = veth", "lxc.net.0.flags = up", "lxc.net.0.ipv4.gateway = auto"},
			"it needs a veth, lxc.net.0.link and bridge mode"},
		{"auto in router mode", []string{"lxc.net.0.type = veth", "lxc.net.0.flags = up", "lxc.net.0.link = br0", "lxc.net.0.veth.mode = router", "lxc.net.0.ipv6.gateway = auto"},
			"lxc.net.0.ipv6.gateway = auto takes the address of the bridge"},
		{"routes in bridge mode", []string{"lxc.net.0.type = veth", "lxc.net.0.veth.ipv4.route = 10.5.0.0/16"}, "need lxc.net.0.veth.mode = router"},
		{"two with one name", []string{"lxc.net.0.type = veth", "lxc.net.0.name = eth1", "lxc.net.1.type = veth", "lxc.net.1.name = eth1"},
			"lxc.net.1.name = eth1: lxc.net.0 has that name already"},
		{"two with one pair", []string{"lxc.net.0.type = veth", "lxc.net.0.veth.pair = vh", "lxc.net.1.type = veth", "lxc.net.1.veth.pair = vh"},
			"lxc.net.1.veth.pair = vh: lxc.net.0 has that name already"},
		{"l2proxy without a link", []string{"lxc.net.0.type = veth", "lxc.net.0.veth.mode = router", "lxc.net.0.l2proxy = 1"},
			"lxc.net.0.l2proxy = 1 needs lxc.net.0.link"},
		{"port vlans in router mode", []string{"lxc.net.0.type = veth", "lxc.net.0.link = br0", "lxc.net.0.veth.mode = router", "lxc.net.0.veth.vlan.id = 5"},
			"lxc.net.0.veth.vlan.id and veth.vlan.tagged.id are a bridge port's"},
		{"port vlans without a link", []string{"lxc.net.0.type = veth", "lxc.net.0.veth.vlan.tagged.id = 5"}, "need lxc.net.0.link, a bridge"},
		{"port vlans on a macvlan", []string{"lxc.net.0.type = macvlan", "lxc.net.0.link = x0", "lxc.net.0.veth.vlan.id = 5"}, "veth.* keys are for a veth"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(netConfig(t, tt.lines...), nil)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Plan = %v, want an error with %q", err, tt.err)
			}
		})
	}
}

func TestPlanRouter(t *testing.T) {
	ifaces, err := Plan(netConfig(t,
		"lxc.net.0.type = veth",
		"lxc.net.0.veth.mode = router",
		"lxc.net.0.flags = up",
		"lxc.net.0.ipv4.address = 10.7.0.2/32",
		"lxc.net.0.ipv4.gateway = 169.254.0.1",
		"lxc.net.0.veth.ipv4.route = 10.8.1.7/24",
	), nil)
	if err != nil {
		t.Fatal(err)
	}
	i := ifaces[0]
	if i.Mode != "router" || len(i.HostRoutes) != 1 || i.HostRoutes[0].String() != "10.8.1.0/24" || i.IPv4[0].Broadcast.IsValid() {
		t.Fatalf("router plan: %+v", i)
	}
}

func TestPlanPortVLANs(t *testing.T) {
	for _, tt := range []struct {
		lines  []string
		id     int
		tagged []int
	}{
		{[]string{"lxc.net.0.veth.vlan.id = 7"}, 7, nil},
		{[]string{"lxc.net.0.veth.vlan.id = none", "lxc.net.0.veth.vlan.tagged.id = 10", "lxc.net.0.veth.vlan.tagged.id = 11", "lxc.net.0.veth.vlan.tagged.id = 10"}, VethVLANNone, []int{10, 11}},
		{[]string{"lxc.net.0.veth.vlan.tagged.id = 4094"}, 0, []int{4094}},
	} {
		ifs, err := Plan(netConfig(t, append([]string{"lxc.net.0.type = veth", "lxc.net.0.link = br0"}, tt.lines...)...), nil)
		if err != nil {
			t.Fatalf("%v: %v", tt.lines, err)
		}
		if ifs[0].VethVLANID != tt.id || !slices.Equal(ifs[0].VethVLANTagged, tt.tagged) {
			t.Errorf("%v: id %d tagged %v, want %d %v", tt.lines, ifs[0].VethVLANID, ifs[0].VethVLANTagged, tt.id, tt.tagged)
		}
	}
}
