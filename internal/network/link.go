package network

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// macvlanMode, ipvlanMode and ipvlanFlag read the config's words as the
// kernel's. Switches, not maps: a map would be built by an init in every
// golxc process.
func macvlanMode(word string) (netlink.MacvlanMode, bool) {
	switch word {
	case "private":
		return netlink.MACVLAN_MODE_PRIVATE, true
	case "vepa":
		return netlink.MACVLAN_MODE_VEPA, true
	case "bridge":
		return netlink.MACVLAN_MODE_BRIDGE, true
	case "passthru":
		return netlink.MACVLAN_MODE_PASSTHRU, true
	}
	return 0, false
}

func ipvlanMode(word string) (netlink.IPVlanMode, bool) {
	switch word {
	case "l2":
		return netlink.IPVLAN_MODE_L2, true
	case "l3":
		return netlink.IPVLAN_MODE_L3, true
	case "l3s":
		return netlink.IPVLAN_MODE_L3S, true
	}
	return 0, false
}

func ipvlanFlag(word string) (netlink.IPVlanFlag, bool) {
	switch word {
	case "bridge":
		return netlink.IPVLAN_FLAG_BRIDGE, true
	case "private":
		return netlink.IPVLAN_FLAG_PRIVATE, true
	case "vepa":
		return netlink.IPVLAN_FLAG_VEPA, true
	}
	return 0, false
}

// kernelModule names the module a type needs, for the message when the
// kernel does not know the type.
func kernelModule(linkType string) string {
	switch linkType {
	case "macvlan", "ipvlan":
		return linkType
	case "vlan":
		return "8021q"
	}
	return ""
}

// ParentLink is the link request for a macvlan, ipvlan or vlan named name
// on the host interface of index parent, made straight in the namespace
// nsFD: what Setup asks of the kernel.
func ParentLink(i Iface, parent int, name string, mac net.HardwareAddr, nsFD int) (netlink.Link, error) {
	attrs := netlink.NewLinkAttrs()
	attrs.Name = name
	attrs.ParentIndex = parent
	attrs.MTU = i.MTU
	attrs.HardwareAddr = mac
	attrs.Namespace = netlink.NsFd(nsFD)
	switch i.Type {
	case "macvlan":
		m, ok := macvlanMode(i.MacvlanMode)
		if !ok {
			return nil, fmt.Errorf("macvlan.mode %q", i.MacvlanMode)
		}
		return &netlink.Macvlan{LinkAttrs: attrs, Mode: m}, nil
	case "ipvlan":
		m, ok := ipvlanMode(i.IpvlanMode)
		f, fok := ipvlanFlag(i.IpvlanIsolation)
		if !ok || !fok {
			return nil, fmt.Errorf("ipvlan.mode %q, ipvlan.isolation %q", i.IpvlanMode, i.IpvlanIsolation)
		}
		// An ipvlan has its parent's MAC.
		attrs.HardwareAddr = nil
		return &netlink.IPVlan{LinkAttrs: attrs, Mode: m, Flag: f}, nil
	case "vlan":
		return &netlink.Vlan{LinkAttrs: attrs, VlanId: i.VLANID, VlanProtocol: netlink.VLAN_PROTOCOL_8021Q}, nil
	}
	return nil, fmt.Errorf("%s is not made on a parent", i.Type)
}

// setupOnParent makes a macvlan, ipvlan or vlan on the host's i.Link
// directly in the container's namespace: it is never on the host.
func setupOnParent(host, inside *netlink.Handle, ns netns.NsHandle, i Iface) error {
	parent, err := host.LinkByName(i.Link)
	if err != nil {
		return fmt.Errorf("link %s: no such interface on the host", i.Link)
	}
	name, err := insideName(inside, i.Name)
	if err != nil {
		return err
	}
	var mac net.HardwareAddr
	if i.Hwaddr != "" {
		if mac, err = net.ParseMAC(i.Hwaddr); err != nil {
			return fmt.Errorf("hwaddr %s: %w", i.Hwaddr, err)
		}
	}
	req, err := ParentLink(i, parent.Attrs().Index, name, mac, int(ns))
	if err != nil {
		return err
	}
	if err := host.LinkAdd(req); err != nil {
		if errors.Is(err, unix.EOPNOTSUPP) || strings.Contains(err.Error(), "not supported") {
			return fmt.Errorf("make %s %s on %s: the kernel has no %s support (module %s): %w", i.Type, name, i.Link, i.Type, kernelModule(i.Type), err)
		}
		return fmt.Errorf("make %s %s on %s: %w", i.Type, name, i.Link, err)
	}
	cl, err := inside.LinkByName(name)
	if err != nil {
		return fmt.Errorf("find %s %s just made: %w", i.Type, name, err)
	}
	return configureInside(host, inside, cl, nil, i)
}

// insideName is want, or the first ethN free in the container's namespace.
func insideName(inside *netlink.Handle, want string) (string, error) {
	links, err := inside.LinkList()
	if err != nil {
		return "", fmt.Errorf("list the container's interfaces: %w", err)
	}
	var names []string
	for _, l := range links {
		names = append(names, l.Attrs().Name)
	}
	if want != "" {
		if slices.Contains(names, want) {
			return "", fmt.Errorf("the container has an interface named %s already", want)
		}
		return want, nil
	}
	for n := 0; ; n++ {
		if c := fmt.Sprintf("eth%d", n); !slices.Contains(names, c) {
			return c, nil
		}
	}
}
