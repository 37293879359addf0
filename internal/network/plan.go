// Package network builds a container's network interfaces (lxc.net.N.*)
// over netlink: a plan made from the config when the container starts,
// carried out by the monitor while the init stage waits in its new network
// namespace, and the host's side undone when the container stops.
package network

import (
	"cmp"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/golxc/golxc/internal/config"
)

// Addr is one address of an interface, with the broadcast address of an
// IPv4 one (invalid for none: a /31 or /32 has no broadcast).
type Addr struct {
	Prefix    netip.Prefix `json:"prefix"`
	Broadcast netip.Addr   `json:"broadcast,omitzero"`
}

// Gateway modes.
const (
	GatewayAddr = "addr" // a default route via Addr
	GatewayAuto = "auto" // via the bridge's own address, found at set-up
	GatewayDev  = "dev"  // a default route on the link, no next hop
)

// Gateway is lxc.net.N.ipv4.gateway or ipv6.gateway; Mode "" for none.
type Gateway struct {
	Mode string     `json:"mode,omitempty"`
	Addr netip.Addr `json:"addr,omitzero"`
}

// Iface is one network interface to build: a veth pair with one end in
// the container and the other on the host; a macvlan, ipvlan or vlan on
// the host's Link made in the container; or the host's Link itself moved
// in (phys).
type Iface struct {
	Index int    `json:"index"` // N of lxc.net.N, for messages
	Type  string `json:"type"`
	// Name inside the container; "" lets the kernel pick the first free
	// ethN, as LXC leaves it.
	Name   string `json:"name,omitempty"`
	Hwaddr string `json:"hwaddr,omitempty"` // inside; "" for the kernel's random one
	MTU    int    `json:"mtu,omitempty"`    // 0: the bridge's, or the kernel's default
	Up     bool   `json:"up,omitempty"`
	Link   string `json:"link,omitempty"` // the bridge the host end joins
	Mode   string `json:"mode,omitempty"` // bridge or router
	// Pair names the host end; "" for a random vethXXXXXX.
	Pair        string         `json:"pair,omitempty"`
	IPv4        []Addr         `json:"ipv4,omitempty"`
	IPv4Gateway Gateway        `json:"ipv4Gateway,omitzero"`
	IPv6        []Addr         `json:"ipv6,omitempty"`
	IPv6Gateway Gateway        `json:"ipv6Gateway,omitzero"`
	HostRoutes  []netip.Prefix `json:"hostRoutes,omitempty"` // veth.ipv4.route, veth.ipv6.route
	// MacvlanMode (private by default), IpvlanMode (l3),
	// IpvlanIsolation (bridge) and VLANID of those types.
	MacvlanMode     string `json:"macvlanMode,omitempty"`
	IpvlanMode      string `json:"ipvlanMode,omitempty"`
	IpvlanIsolation string `json:"ipvlanIsolation,omitempty"`
	VLANID          int    `json:"vlanID,omitempty"`
	// ScriptUp and ScriptDown run on the host (lxc.net.N.script.up and
	// script.down) with ScriptEnv, the hook environment of the container.
	ScriptUp    string   `json:"scriptUp,omitempty"`
	ScriptDown  string   `json:"scriptDown,omitempty"`
	ScriptEnv   []string `json:"scriptEnv,omitempty"`
	HookVersion int      `json:"hookVersion,omitempty"`
	// L2Proxy: the host answers ARP and NDP on Link for the container's
	// addresses (lxc.net.N.l2proxy).
	L2Proxy bool `json:"l2proxy,omitempty"`
	// VethVLANID is the PVID, untagged, of a veth's bridge port
	// (veth.vlan.id; VethVLANNone for none, 0 unset) and VethVLANTagged
	// its tagged VLANs (veth.vlan.tagged.id).
	VethVLANID     int   `json:"vethVLANID,omitempty"`
	VethVLANTagged []int `json:"vethVLANTagged,omitempty"`
}

// linkTypes are the types made on a parent (lxc.net.N.link) in the
// container's namespace.
var linkTypes = []string{"macvlan", "ipvlan", "vlan"}

// Plan turns the config's networks into the interfaces to build, in the
// order of their index. empty and none have nothing to build (the init
// stage brings up the loopback of a new network namespace); any other
// type but veth is refused. rnd fills the x digits of a hwaddr (nil:
// crypto/rand).
func Plan(nets []config.Net, rnd io.Reader) ([]Iface, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	sorted := slices.Clone(nets)
	slices.SortStableFunc(sorted, func(a, b config.Net) int { return a.Index - b.Index })
	var out []Iface
	names := map[string]int{}
	for _, n := range sorted {
		switch n.Type {
		case "", "empty", "none":
			continue
		case "veth", "macvlan", "ipvlan", "vlan", "phys":
		default:
			return nil, fmt.Errorf("lxc.net.%d.type = %s is not supported yet", n.Index, n.Type)
		}
		i, err := planIface(n, rnd)
		if err != nil {
			return nil, err
		}
		if i.Name != "" {
			if j, ok := names[i.Name]; ok {
				return nil, fmt.Errorf("lxc.net.%d.name = %s: lxc.net.%d has that name already", n.Index, i.Name, j)
			}
			names[i.Name] = n.Index
		}
		if i.Type == "phys" {
			for _, o := range out {
				if o.Type == "phys" && o.Link == i.Link {
					return nil, fmt.Errorf("lxc.net.%d.link = %s: lxc.net.%d moves that interface already", n.Index, i.Link, o.Index)
				}
			}
		}
		if i.Pair != "" {
			for _, o := range out {
				if o.Pair == i.Pair {
					return nil, fmt.Errorf("lxc.net.%d.veth.pair = %s: lxc.net.%d has that name already", n.Index, i.Pair, o.Index)
				}
			}
		}
		out = append(out, i)
	}
	return out, nil
}

func planIface(n config.Net, rnd io.Reader) (Iface, error) {
	i := Iface{Index: n.Index, Type: n.Type, Name: n.Name, MTU: n.MTU, Up: n.Flags == "up", Link: n.Link,
		ScriptUp: n.ScriptUp, ScriptDown: n.ScriptDown, L2Proxy: n.L2Proxy}
	key := func(k string) string { return fmt.Sprintf("lxc.net.%d.%s", n.Index, k) }
	switch n.Type {
	case "veth":
		i.Mode, i.Pair = n.VethMode, n.VethPair
		if i.Mode == "" {
			i.Mode = "bridge"
		}
	case "macvlan":
		// LXC's default mode is private.
		i.MacvlanMode = cmp.Or(n.MacvlanMode, "private")
	case "ipvlan":
		i.IpvlanMode = cmp.Or(n.IpvlanMode, "l3")
		i.IpvlanIsolation = cmp.Or(n.IpvlanIsolation, "bridge")
	case "vlan":
		i.VLANID = n.VLANID
	}
	if n.Type != "veth" {
		if i.Link == "" {
			return Iface{}, fmt.Errorf("lxc.net.%d.type = %s needs %s, the host interface", n.Index, n.Type, key("link"))
		}
		if n.VethPair != "" || n.VethMode != "" || len(n.VethIPv4Routes)+len(n.VethIPv6Routes) > 0 || n.VethVLANID != "" || len(n.VethVLANTagged) > 0 {
			return Iface{}, fmt.Errorf("lxc.net.%d: the veth.* keys are for a veth, not a %s", n.Index, n.Type)
		}
	}
	if err := planPortVLANs(n, &i); err != nil {
		return Iface{}, err
	}
	if i.L2Proxy && i.Link == "" {
		return Iface{}, fmt.Errorf("%s = 1 needs %s, the host interface that answers for the container", key("l2proxy"), key("link"))
	}
	if n.Hwaddr != "" {
		mac, err := FillHwaddr(n.Hwaddr, rnd)
		if err != nil {
			return Iface{}, fmt.Errorf("%s = %s: %w", key("hwaddr"), n.Hwaddr, err)
		}
		i.Hwaddr = mac
	}
	for _, s := range n.IPv4Addresses {
		a, err := ParseIPv4(s)
		if err != nil {
			return Iface{}, fmt.Errorf("%s = %s: %w", key("ipv4.address"), s, err)
		}
		i.IPv4 = append(i.IPv4, a)
	}
	for _, s := range n.IPv6Addresses {
		p, err := parsePrefix(s, false)
		if err != nil {
			return Iface{}, fmt.Errorf("%s = %s: %w", key("ipv6.address"), s, err)
		}
		i.IPv6 = append(i.IPv6, Addr{Prefix: p})
	}
	var err error
	if i.IPv4Gateway, err = parseGateway(n.IPv4Gateway, true); err != nil {
		return Iface{}, fmt.Errorf("%s = %s: %w", key("ipv4.gateway"), n.IPv4Gateway, err)
	}
	if i.IPv6Gateway, err = parseGateway(n.IPv6Gateway, false); err != nil {
		return Iface{}, fmt.Errorf("%s = %s: %w", key("ipv6.gateway"), n.IPv6Gateway, err)
	}
	for _, g := range []struct {
		k  string
		gw Gateway
	}{{"ipv4.gateway", i.IPv4Gateway}, {"ipv6.gateway", i.IPv6Gateway}} {
		switch {
		case g.gw.Mode != "" && !i.Up:
			// A route needs a link that is up: say so now rather than
			// with the kernel's "network is down".
			return Iface{}, fmt.Errorf("%s needs lxc.net.%d.flags = up", key(g.k), n.Index)
		case g.gw.Mode == GatewayAuto && (i.Type != "veth" || i.Link == "" || i.Mode != "bridge"):
			return Iface{}, fmt.Errorf("%s = auto takes the address of the bridge: it needs a veth, lxc.net.%d.link and bridge mode", key(g.k), n.Index)
		}
	}
	for _, list := range [][]string{n.VethIPv4Routes, n.VethIPv6Routes} {
		for _, s := range list {
			p, err := netip.ParsePrefix(s)
			if err != nil {
				return Iface{}, fmt.Errorf("veth route %s of lxc.net.%d: %w", s, n.Index, err)
			}
			i.HostRoutes = append(i.HostRoutes, p.Masked())
		}
	}
	if len(i.HostRoutes) > 0 && i.Mode != "router" {
		return Iface{}, fmt.Errorf("%s and veth.ipv6.route need lxc.net.%d.veth.mode = router", key("veth.ipv4.route"), n.Index)
	}
	return i, nil
}

// ParseIPv4 reads "A.B.C.D[/M] [BROADCAST]". Without a prefix length
// the address is a /24, as LXC takes it. Without a broadcast address it
// is the last address of the network; a /31 (RFC 3021) or /32 has none.
func ParseIPv4(s string) (Addr, error) {
	f := strings.Fields(s)
	if len(f) == 0 || len(f) > 2 {
		return Addr{}, errors.New("want A.B.C.D/M with an optional broadcast address")
	}
	p, err := parsePrefix(f[0], true)
	if err != nil {
		return Addr{}, err
	}
	a := Addr{Prefix: p}
	if len(f) == 2 {
		b, err := netip.ParseAddr(f[1])
		if err != nil || !b.Is4() {
			return Addr{}, fmt.Errorf("broadcast %q is not an IPv4 address", f[1])
		}
		a.Broadcast = b
		return a, nil
	}
	a.Broadcast = Broadcast(p)
	return a, nil
}

// Broadcast is the last address of p's network: every host bit set.
// Invalid for a /31 or /32, which have no broadcast address.
func Broadcast(p netip.Prefix) netip.Addr {
	if !p.Addr().Is4() || p.Bits() > 30 {
		return netip.Addr{}
	}
	b := p.Addr().As4()
	host := ^uint32(0) >> p.Bits()
	v := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// parsePrefix reads ADDR[/M] of one family; a bare IPv4 address is a /24
// and a bare IPv6 one a /64, LXC's defaults.
func parsePrefix(s string, v4 bool) (netip.Prefix, error) {
	if !strings.Contains(s, "/") {
		bits := 64
		if v4 {
			bits = 24
		}
		s = fmt.Sprintf("%s/%d", s, bits)
	}
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Is4() != v4 || p.Addr().Zone() != "" {
		if v4 {
			return netip.Prefix{}, errors.New("want an IPv4 address such as 192.168.1.2/24")
		}
		return netip.Prefix{}, errors.New("want an IPv6 address such as 2001:db8::2/64")
	}
	return p, nil
}

func parseGateway(s string, v4 bool) (Gateway, error) {
	switch s {
	case "":
		return Gateway{}, nil
	case GatewayAuto, GatewayDev:
		return Gateway{Mode: s}, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is4() != v4 {
		return Gateway{}, errors.New("want an address, auto or dev")
	}
	return Gateway{Mode: GatewayAddr, Addr: a}, nil
}

// FillHwaddr fills the x digits of a MAC address template with random ones
// (a config that lxc-create did not fill: an rcfile, an include) and checks
// that the result is a unicast address, as an interface's own must be.
func FillHwaddr(s string, rnd io.Reader) (string, error) {
	filled, err := config.FillHwaddr(s, rnd)
	if err != nil {
		return "", err
	}
	mac, err := net.ParseMAC(filled)
	if err != nil || len(mac) != 6 {
		return "", errors.New("not a MAC address")
	}
	if mac[0]&1 != 0 {
		return "", errors.New("a multicast address cannot be an interface's own")
	}
	return mac.String(), nil
}

func netipFromIP(ip net.IP) (netip.Addr, bool) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// planPortVLANs reads veth.vlan.id and veth.vlan.tagged.id (checked by
// the config already), which need a veth in bridge mode on a bridge.
func planPortVLANs(n config.Net, i *Iface) error {
	if n.VethVLANID == "" && len(n.VethVLANTagged) == 0 {
		return nil
	}
	if i.Type != "veth" || i.Mode != "bridge" || i.Link == "" {
		return fmt.Errorf("lxc.net.%d.veth.vlan.id and veth.vlan.tagged.id are a bridge port's: they need lxc.net.%d.link, a bridge, in bridge mode", n.Index, n.Index)
	}
	switch n.VethVLANID {
	case "":
	case "none":
		i.VethVLANID = VethVLANNone
	default:
		id, err := strconv.Atoi(n.VethVLANID)
		if err != nil || id < 1 || id > 4094 {
			return fmt.Errorf("lxc.net.%d.veth.vlan.id = %s: want a VLAN id from 1 to 4094, or none", n.Index, n.VethVLANID)
		}
		i.VethVLANID = id
	}
	for _, s := range n.VethVLANTagged {
		id, err := strconv.Atoi(s)
		if err != nil || id < 1 || id > 4094 {
			return fmt.Errorf("lxc.net.%d.veth.vlan.tagged.id = %s: want a VLAN id from 1 to 4094", n.Index, s)
		}
		if !slices.Contains(i.VethVLANTagged, id) {
			i.VethVLANTagged = append(i.VethVLANTagged, id)
		}
	}
	return nil
}
