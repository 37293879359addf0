package network

import (
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// HostEnd is a host interface a set-up made: the host end of a veth pair.
// The index tells it from an interface that later takes the same name.
type HostEnd struct {
	Name  string `json:"name"`
	Index int    `json:"index"`
	Net   int    `json:"net"` // N of its lxc.net.N
	// Proxies are l2proxy's entries on the host's link, for any type.
	Proxies []Proxy `json:"proxies,omitempty"`
}

// pairGoneWait is how long a start waits for a veth.pair name still held
// by the pair of a container that just died: the kernel frees a network
// namespace, and the veths in it, a moment after its last process.
const pairGoneWait = 3 * time.Second

// Setup builds ifaces for the container whose init stage is pid, from the
// host's network namespace: each veth is made with its container end
// already in pid's namespace, so that no end of it is ever left on the
// host alone if the caller dies. It returns the host ends it made; on
// failure it has removed them.
// A phys interface is handed to keeper (nil when there is none) before it
// is moved, for the way back.
func Setup(pid int, ifaces []Iface, keeper *Keeper) ([]HostEnd, error) {
	if len(ifaces) == 0 {
		return nil, nil
	}
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return nil, fmt.Errorf("open network namespace of pid %d: %w", pid, err)
	}
	defer ns.Close()
	host, err := netlink.NewHandle()
	if err != nil {
		return nil, fmt.Errorf("netlink socket: %w", err)
	}
	defer host.Close()
	inside, err := netlink.NewHandleAt(ns)
	if err != nil {
		return nil, fmt.Errorf("netlink socket in the container's network namespace: %w", err)
	}
	defer inside.Close()
	var ends []HostEnd
	for _, i := range ifaces {
		var end HostEnd
		switch i.Type {
		case "veth":
			end, err = setupVeth(host, inside, ns, i)
		case "phys":
			err = setupPhys(host, inside, ns, i, keeper)
		default:
			err = setupOnParent(host, inside, ns, i)
		}
		if err == nil {
			end.Proxies, err = setupL2Proxy(host, i)
		}
		if end.Index > 0 || len(end.Proxies) > 0 {
			end.Net = i.Index
			ends = append(ends, end)
		}
		if err == nil {
			// As LXC: once this interface is made, before the next.
			err = runScript(i, "up", end, pid)
		}
		if err != nil {
			Teardown(ends)
			return nil, fmt.Errorf("lxc.net.%d: %w", i.Index, err)
		}
	}
	return ends, nil
}

func setupVeth(host, inside *netlink.Handle, ns netns.NsHandle, i Iface) (HostEnd, error) {
	var bridge netlink.Link
	if i.Link != "" && i.Mode == "bridge" {
		l, err := host.LinkByName(i.Link)
		if err != nil {
			return HostEnd{}, fmt.Errorf("link %s: no such interface on the host", i.Link)
		}
		if l.Type() != "bridge" {
			return HostEnd{}, fmt.Errorf("link %s is a %s, not a bridge", i.Link, l.Type())
		}
		bridge = l
	}
	mtu := i.MTU
	if mtu == 0 && bridge != nil {
		// As LXC does: the pair takes the bridge's MTU, which a port
		// with a smaller one would otherwise lower.
		mtu = bridge.Attrs().MTU
	}
	var inMAC net.HardwareAddr
	if i.Hwaddr != "" {
		m, err := net.ParseMAC(i.Hwaddr)
		if err != nil {
			return HostEnd{}, fmt.Errorf("hwaddr %s: %w", i.Hwaddr, err)
		}
		inMAC = m
	}
	peerName := i.Name
	if peerName == "" {
		// The kernel picks the first free ethN in the container's
		// namespace.
		peerName = "eth%d"
	}
	hl, err := addVeth(host, i, mtu, inMAC, peerName, ns)
	if err != nil {
		return HostEnd{}, err
	}
	end := HostEnd{Name: hl.Attrs().Name, Index: hl.Attrs().Index}
	cl, err := inside.LinkByIndex(hl.Attrs().ParentIndex)
	if err != nil || cl.Type() != "veth" {
		return end, fmt.Errorf("find the container end of %s: %v", end.Name, err)
	}
	if bridge != nil {
		if err := host.LinkSetMaster(hl, bridge); err != nil {
			return end, fmt.Errorf("attach %s to bridge %s: %w", end.Name, i.Link, err)
		}
		if err := setupPortVLANs(host, hl, bridge, i); err != nil {
			return end, err
		}
	}
	if err := host.LinkSetUp(hl); err != nil {
		return end, fmt.Errorf("bring up %s: %w", end.Name, err)
	}
	if i.Mode == "router" {
		if err := routeToContainer(host, hl, i); err != nil {
			return end, err
		}
	}
	return end, configureInside(host, inside, cl, bridge, i)
}

// addVeth makes the pair: the host end named i.Pair or vethXXXXXX with a
// MAC of fe:..., the container end in ns.
func addVeth(host *netlink.Handle, i Iface, mtu int, inMAC net.HardwareAddr, peerName string, ns netns.NsHandle) (netlink.Link, error) {
	if i.Pair != "" {
		if err := waitNameFree(host, i.Pair); err != nil {
			return nil, err
		}
	}
	for try := 0; ; try++ {
		name := i.Pair
		if name == "" {
			name = "veth" + randomSuffix(6)
		}
		attrs := netlink.NewLinkAttrs()
		attrs.Name = name
		attrs.MTU = mtu
		// A random MAC that starts with fe: a bridge takes the lowest
		// MAC of its ports as its own, and must not take the container's.
		hostMAC := make(net.HardwareAddr, 6)
		_, _ = rand.Read(hostMAC)
		hostMAC[0] = 0xfe
		attrs.HardwareAddr = hostMAC
		v := &netlink.Veth{LinkAttrs: attrs, PeerName: peerName, PeerHardwareAddr: inMAC, PeerNamespace: netlink.NsFd(int(ns)), PeerTxQLen: -1}
		err := host.LinkAdd(v)
		if errors.Is(err, unix.EEXIST) && i.Pair == "" && try < 8 {
			continue
		}
		if err != nil {
			what := "veth pair " + name
			if errors.Is(err, unix.EEXIST) {
				return nil, fmt.Errorf("make %s: an interface of that name exists (on the host, or %s in the container)", what, peerName)
			}
			return nil, fmt.Errorf("make %s: %w", what, err)
		}
		l, err := host.LinkByName(name)
		if err != nil {
			return nil, fmt.Errorf("find veth %s just made: %w", name, err)
		}
		return l, nil
	}
}

// waitNameFree waits for a host interface named name to go: the pair of a
// container killed just before still holds the name until the kernel has
// freed its namespace. An interface that stays is someone else's.
func waitNameFree(host *netlink.Handle, name string) error {
	deadline := time.Now().Add(pairGoneWait)
	for {
		_, err := host.LinkByName(name)
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("veth.pair %s: the host has an interface of that name already", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func randomSuffix(n int) string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for k := range b {
		b[k] = chars[int(b[k])%len(chars)]
	}
	return string(b)
}

// routeToContainer is the host's side of router mode: routes to the
// container's addresses (and its veth.ipv4/ipv6.route networks) through
// the host end, which answers ARP and NDP for the container's gateways.
// Each goes with the host end when it is deleted.
func routeToContainer(host *netlink.Handle, hl netlink.Link, i Iface) error {
	name := hl.Attrs().Name
	for _, s := range []struct{ path, v string }{
		{"/proc/sys/net/ipv4/conf/" + name + "/proxy_arp", "1"},
		{"/proc/sys/net/ipv6/conf/" + name + "/proxy_ndp", "1"},
	} {
		if err := os.WriteFile(s.path, []byte(s.v), 0); err != nil && !(errors.Is(err, os.ErrNotExist) && filepath.Base(s.path) == "proxy_ndp") {
			return fmt.Errorf("router mode on %s: %w", name, err)
		}
	}
	var dsts []*net.IPNet
	for _, a := range append(append([]Addr(nil), i.IPv4...), i.IPv6...) {
		bits := 32
		if a.Prefix.Addr().Is6() {
			bits = 128
		}
		dsts = append(dsts, &net.IPNet{IP: a.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(bits, bits)})
	}
	for _, p := range i.HostRoutes {
		dsts = append(dsts, &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())})
	}
	for _, d := range dsts {
		r := &netlink.Route{LinkIndex: hl.Attrs().Index, Dst: d, Scope: netlink.SCOPE_LINK}
		if err := host.RouteAdd(r); err != nil {
			return fmt.Errorf("host route to %s via %s: %w", d, name, err)
		}
	}
	for _, gw := range []Gateway{i.IPv4Gateway, i.IPv6Gateway} {
		if gw.Mode != GatewayAddr {
			continue
		}
		family := netlink.FAMILY_V4
		if gw.Addr.Is6() {
			family = netlink.FAMILY_V6
		}
		n := &netlink.Neigh{LinkIndex: hl.Attrs().Index, Family: family, Flags: netlink.NTF_PROXY, IP: gw.Addr.AsSlice()}
		if err := host.NeighAdd(n); err != nil {
			return fmt.Errorf("proxy entry for gateway %s on %s: %w", gw.Addr, name, err)
		}
	}
	return nil
}

// configureInside gives the container end its addresses, state and
// default routes.
func configureInside(host, inside *netlink.Handle, cl, bridge netlink.Link, i Iface) error {
	name := cl.Attrs().Name
	for _, a := range append(append([]Addr(nil), i.IPv4...), i.IPv6...) {
		na := &netlink.Addr{IPNet: &net.IPNet{IP: a.Prefix.Addr().AsSlice(), Mask: net.CIDRMask(a.Prefix.Bits(), a.Prefix.Addr().BitLen())}}
		if a.Broadcast.IsValid() {
			na.Broadcast = a.Broadcast.AsSlice()
		}
		if err := inside.AddrAdd(cl, na); err != nil {
			return fmt.Errorf("address %s on %s: %w", a.Prefix, name, err)
		}
	}
	if !i.Up {
		return nil
	}
	if err := inside.LinkSetUp(cl); err != nil {
		return fmt.Errorf("bring up %s: %w", name, err)
	}
	for _, g := range []struct {
		gw    Gateway
		addrs []Addr
		v4    bool
	}{{i.IPv4Gateway, i.IPv4, true}, {i.IPv6Gateway, i.IPv6, false}} {
		if err := addGateway(host, inside, cl, bridge, g.gw, g.addrs, g.v4); err != nil {
			return err
		}
	}
	return nil
}

func addGateway(host, inside *netlink.Handle, cl, bridge netlink.Link, gw Gateway, addrs []Addr, v4 bool) error {
	family, bits, label := netlink.FAMILY_V4, 32, "ipv4"
	if !v4 {
		family, bits, label = netlink.FAMILY_V6, 128, "ipv6"
	}
	def := &net.IPNet{IP: make(net.IP, bits/8), Mask: net.CIDRMask(0, bits)}
	r := &netlink.Route{LinkIndex: cl.Attrs().Index, Dst: def, Family: family}
	switch gw.Mode {
	case "":
		return nil
	case GatewayDev:
		r.Scope = netlink.SCOPE_LINK
	case GatewayAuto:
		a, err := bridgeAddr(host, bridge, family)
		if err != nil {
			return err
		}
		gw.Addr = a
		fallthrough
	case GatewayAddr:
		r.Gw = gw.Addr.AsSlice()
		onLink := false
		for _, a := range addrs {
			onLink = onLink || a.Prefix.Masked().Contains(gw.Addr)
		}
		if !onLink {
			// A gateway outside the interface's networks is still
			// on its link, as LXC takes it: a host route to it first.
			h := &netlink.Route{LinkIndex: cl.Attrs().Index, Dst: &net.IPNet{IP: r.Gw, Mask: net.CIDRMask(bits, bits)}, Scope: netlink.SCOPE_LINK, Family: family}
			if err := inside.RouteAdd(h); err != nil && !errors.Is(err, unix.EEXIST) {
				return fmt.Errorf("%s route to gateway %s on %s: %w", label, gw.Addr, cl.Attrs().Name, err)
			}
		}
	}
	if err := inside.RouteAdd(r); err != nil {
		return fmt.Errorf("%s default route %s on %s: %w", label, describeGateway(gw), cl.Attrs().Name, err)
	}
	return nil
}

func describeGateway(gw Gateway) string {
	if gw.Mode == GatewayDev {
		return "dev"
	}
	return "via " + gw.Addr.String()
}

// bridgeAddr is the bridge's first address of a family (for IPv6 one of
// global scope), the gateway of "auto".
func bridgeAddr(host *netlink.Handle, bridge netlink.Link, family int) (netip.Addr, error) {
	addrs, err := host.AddrList(bridge, family)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("addresses of %s: %w", bridge.Attrs().Name, err)
	}
	for _, a := range addrs {
		if a.Scope != int(netlink.SCOPE_UNIVERSE) {
			continue
		}
		if ip, ok := netipFromIP(a.IP); ok {
			return ip, nil
		}
	}
	return netip.Addr{}, fmt.Errorf("gateway auto: bridge %s has no address of that family", bridge.Attrs().Name)
}

// Teardown deletes the host ends a set-up made, and with each its pair,
// routes and proxy entries, and l2proxy's entries on the host's links. An end already gone (its namespace freed) is
// no error, and neither is an interface that took its name since.
func Teardown(ends []HostEnd) error {
	if len(ends) == 0 {
		return nil
	}
	host, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer host.Close()
	var errs []error
	for _, e := range ends {
		if err := removeProxies(host, e.Proxies); err != nil {
			errs = append(errs, err)
		}
		if e.Index == 0 {
			continue // no veth: an l2proxy record only
		}
		l, err := host.LinkByIndex(e.Index)
		if err != nil || l.Attrs().Name != e.Name || l.Type() != "veth" {
			continue
		}
		if err := host.LinkDel(l); err != nil && !errors.Is(err, unix.ENODEV) {
			errs = append(errs, fmt.Errorf("delete %s: %w", e.Name, err))
		}
	}
	return errors.Join(errs...)
}
