package config

import (
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Net is one network interface: every lxc.net.N.* key with the same N.
type Net struct {
	Index int
	Type  string // lxc.net.N.type: empty, none, veth, macvlan, vlan, phys, ipvlan

	Flags   string // "up", or "" to leave the interface down
	Link    string // host interface: the bridge of a veth, the parent of a macvlan ...
	L2Proxy bool   // neighbour proxy entries on Link for the container's addresses
	MTU     int    // 0: the kernel's default
	Name    string // the interface's name in the container
	Hwaddr  string // MAC address; "x" digits are filled in at create

	IPv4Addresses []string // "A.B.C.D/M [BROADCAST]"
	IPv4Gateway   string   // an address, auto or dev
	IPv6Addresses []string // "ADDR/M"
	IPv6Gateway   string   // an address, auto or dev

	ScriptUp   string
	ScriptDown string

	VethPair        string   // host side name of a veth pair
	VethMode        string   // bridge or router
	VethIPv4Routes  []string // host routes to the container, "A.B.C.D/M"
	VethIPv6Routes  []string
	VethVLANID      string   // untagged VLAN of the bridge port: 1-4094 or none
	VethVLANTagged  []string // tagged VLANs of the bridge port
	MacvlanMode     string   // private, vepa, bridge or passthru
	IpvlanMode      string   // l3, l3s or l2
	IpvlanIsolation string   // bridge, private or vepa
	VLANID          int      // the VLAN of a vlan interface
}

// netTypes are the types lxc.net.N.type takes in LXC. Those golxc does not
// build (builtNetTypes) are refused when a start tries them, not here, so a
// config written for LXC still reads.
var netTypes = []string{"empty", "none", "veth", "macvlan", "vlan", "phys", "ipvlan"}

// netSubkey is one row of the per-network key table: the part of the key
// after lxc.net.N., and how its value is kept in a Net.
type netSubkey struct {
	name  string
	doc   string
	text  func(*Net) *string   // a string value, with parse validating it
	list  func(*Net) *[]string // a repeatable value
	flag  func(*Net) *bool
	num   func(*Net) *int
	limit uint64 // for num
	parse func(string) (string, error)
}

// netSubkeys are the lxc.net.N.* keys of lxc.container.conf(5), NETWORK.
var netSubkeys = []netSubkey{
	{name: "type", doc: "network type", text: func(n *Net) *string { return &n.Type }, parse: parseNetType},
	{name: "flags", doc: "up to bring the interface up", text: func(n *Net) *string { return &n.Flags }, parse: parseNetFlags},
	{name: "link", doc: "host interface", text: func(n *Net) *string { return &n.Link }, parse: parseIfName},
	{name: "l2proxy", doc: "1 to add neighbour proxy entries on the link", flag: func(n *Net) *bool { return &n.L2Proxy }},
	{name: "mtu", doc: "maximum transfer unit", num: func(n *Net) *int { return &n.MTU }, limit: math.MaxInt32},
	{name: "name", doc: "interface name in the container", text: func(n *Net) *string { return &n.Name }, parse: parseIfName},
	{name: "hwaddr", doc: "MAC address; x digits are random", text: func(n *Net) *string { return &n.Hwaddr }, parse: parseHwaddr},
	{name: "ipv4.address", doc: "A.B.C.D/M [BROADCAST]", list: func(n *Net) *[]string { return &n.IPv4Addresses }, parse: parseIPv4Address},
	{name: "ipv4.gateway", doc: "gateway address, auto or dev", text: func(n *Net) *string { return &n.IPv4Gateway }, parse: parseGateway4},
	{name: "ipv6.address", doc: "ADDR/M", list: func(n *Net) *[]string { return &n.IPv6Addresses }, parse: parseIPv6Address},
	{name: "ipv6.gateway", doc: "gateway address, auto or dev", text: func(n *Net) *string { return &n.IPv6Gateway }, parse: parseGateway6},
	{name: "script.up", doc: "host script run once the network is set up", text: func(n *Net) *string { return &n.ScriptUp }},
	{name: "script.down", doc: "host script run before the network is torn down", text: func(n *Net) *string { return &n.ScriptDown }},
	{name: "veth.pair", doc: "host side name of the veth pair", text: func(n *Net) *string { return &n.VethPair }, parse: parseIfName},
	{name: "veth.mode", doc: "bridge or router", text: func(n *Net) *string { return &n.VethMode }, parse: parseVethMode},
	{name: "veth.ipv4.route", doc: "host route to the container", list: func(n *Net) *[]string { return &n.VethIPv4Routes }, parse: parseRoute4},
	{name: "veth.ipv6.route", doc: "host route to the container", list: func(n *Net) *[]string { return &n.VethIPv6Routes }, parse: parseRoute6},
	{name: "veth.vlan.id", doc: "untagged VLAN of the bridge port, or none", text: func(n *Net) *string { return &n.VethVLANID }, parse: parseVethVLAN},
	{name: "veth.vlan.tagged.id", doc: "a tagged VLAN of the bridge port", list: func(n *Net) *[]string { return &n.VethVLANTagged }, parse: parseTaggedVLAN},
	{name: "macvlan.mode", doc: "private, vepa, bridge or passthru", text: func(n *Net) *string { return &n.MacvlanMode }, parse: parseMacvlanMode},
	{name: "ipvlan.mode", doc: "l3, l3s or l2", text: func(n *Net) *string { return &n.IpvlanMode }, parse: parseIpvlanMode},
	{name: "ipvlan.isolation", doc: "bridge, private or vepa", text: func(n *Net) *string { return &n.IpvlanIsolation }, parse: parseIpvlanIsolation},
	{name: "vlan.id", doc: "VLAN id of a vlan interface, 0 to 4094", num: func(n *Net) *int { return &n.VLANID }, limit: 4094},
}

// netListField is the bare lxc.net key, which exists to clear.
type netListField struct{}

func (netListField) set(*Config, string, string) error {
	return errors.New("takes only an empty value, which removes every network: configure one with lxc.net.N.type")
}

func (netListField) get(c *Config, _ string) (string, error) {
	idx := make([]string, len(c.Net))
	for i, n := range c.Net {
		idx[i] = strconv.Itoa(n.Index)
	}
	return strings.Join(idx, "\n"), nil
}

func (netListField) clearsOnly() {}

func (netListField) clear(c *Config, _ string) error {
	c.Net = nil
	return nil
}

// netField is lxc.net.N.SUBKEY.
type netField struct{}

// netKey splits lxc.net.N.SUBKEY into N and SUBKEY's row; any other shape is
// unsupported.
func netKey(key string) (int, *netSubkey, error) {
	rest := strings.TrimPrefix(key, "lxc.net.")
	num, sub, _ := strings.Cut(rest, ".")
	n, err := strconv.ParseUint(num, 10, 31)
	if err != nil || (len(num) > 1 && num[0] == '0') {
		return 0, nil, errUnsupported
	}
	for i := range netSubkeys {
		if netSubkeys[i].name == sub {
			return int(n), &netSubkeys[i], nil
		}
	}
	return 0, nil, errUnsupported
}

// netIsList reports whether key is a repeatable lxc.net.N.* key.
func netIsList(key string) bool {
	_, sk, err := netKey(key)
	return err == nil && sk.list != nil
}

func (netField) set(c *Config, key, value string) error {
	idx, sk, err := netKey(key)
	if err != nil {
		return err
	}
	if sk.parse != nil {
		v, err := sk.parse(value)
		if err != nil {
			return err
		}
		value = v
	}
	var num int
	var flag bool
	switch {
	case sk.num != nil:
		n, err := parseUint(value, sk.limit)
		if err != nil {
			return err
		}
		num = int(n)
	case sk.flag != nil:
		switch value {
		case "0", "1":
			flag = value == "1"
		default:
			return errors.New("must be 0 or 1")
		}
	}
	// The value is valid: only now find or add the network.
	i := slices.IndexFunc(c.Net, func(n Net) bool { return n.Index == idx })
	if i < 0 {
		if len(c.Net) >= maxScannedItems {
			return fmt.Errorf("more than %d networks", maxScannedItems)
		}
		c.Net = append(c.Net, Net{Index: idx})
		i = len(c.Net) - 1
	}
	n := &c.Net[i]
	switch {
	case sk.text != nil:
		*sk.text(n) = value
	case sk.list != nil:
		if len(*sk.list(n)) >= maxScannedItems {
			return fmt.Errorf("more than %d values", maxScannedItems)
		}
		*sk.list(n) = append(*sk.list(n), value)
	case sk.num != nil:
		*sk.num(n) = num
	case sk.flag != nil:
		*sk.flag(n) = flag
	}
	return nil
}

func (netField) get(c *Config, key string) (string, error) {
	idx, sk, err := netKey(key)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(c.Net, func(n Net) bool { return n.Index == idx })
	if i < 0 {
		return "", nil
	}
	return sk.render(&c.Net[i]), nil
}

// render gives a subkey's value in Get's form; "" when unset.
func (sk *netSubkey) render(n *Net) string {
	switch {
	case sk.text != nil:
		return *sk.text(n)
	case sk.list != nil:
		return strings.Join(*sk.list(n), "\n")
	case sk.num != nil:
		if *sk.num(n) == 0 {
			return ""
		}
		return strconv.Itoa(*sk.num(n))
	case sk.flag != nil && *sk.flag(n):
		return "1"
	}
	return ""
}

// clear of lxc.net.N.type removes network N: without a type it is not a
// network. Any other subkey goes back to unset.
func (netField) clear(c *Config, key string) error {
	idx, sk, err := netKey(key)
	if err != nil {
		return err
	}
	if sk.name == "type" {
		c.Net = slices.DeleteFunc(c.Net, func(n Net) bool { return n.Index == idx })
		return nil
	}
	i := slices.IndexFunc(c.Net, func(n Net) bool { return n.Index == idx })
	if i < 0 {
		return nil
	}
	n := &c.Net[i]
	switch {
	case sk.text != nil:
		*sk.text(n) = ""
	case sk.list != nil:
		*sk.list(n) = nil
	case sk.num != nil:
		*sk.num(n) = 0
	case sk.flag != nil:
		*sk.flag(n) = false
	}
	return nil
}

// builtNetTypes are the network types a start builds (internal/network);
// the others are refused. ipvlan and vlan are made when the kernel has
// them, and refused in one line when it does not.
var builtNetTypes = []string{"empty", "none", "veth", "macvlan", "ipvlan", "vlan", "phys"}

// builtNetSubkeys are the lxc.net.N.* keys a start applies.
var builtNetSubkeys = []string{"flags", "link", "mtu", "name", "hwaddr", "ipv4.address", "ipv4.gateway",
	"ipv6.address", "ipv6.gateway", "veth.pair", "veth.mode", "veth.ipv4.route", "veth.ipv6.route",
	"script.up", "script.down", "macvlan.mode", "ipvlan.mode", "ipvlan.isolation", "vlan.id", "l2proxy", "veth.vlan.id", "veth.vlan.tagged.id"}

// setKeys lists every lxc.net.N.* key that holds a value, with whether a
// start builds it.
func (netField) setKeys(c *Config, _ Support) []SetKey {
	var keys []SetKey
	for i := range c.Net {
		n := &c.Net[i]
		for j := range netSubkeys {
			sk := &netSubkeys[j]
			v := sk.render(n)
			if v == "" {
				continue
			}
			s := NotBuilt
			if sk.name == "type" && slices.Contains(builtNetTypes, v) || sk.name != "type" && slices.Contains(builtNetSubkeys, sk.name) {
				s = Built
			}
			keys = append(keys, SetKey{Key: "lxc.net." + strconv.Itoa(n.Index) + "." + sk.name, Value: v, Support: s})
		}
	}
	return keys
}

func parseNetType(s string) (string, error) {
	if _, err := oneOf(s, netTypes...); err != nil {
		return "", fmt.Errorf("unknown network type: %w", err)
	}
	return s, nil
}

// oneOf accepts s when it is exactly one of words.
func oneOf(s string, words ...string) (string, error) {
	if slices.Contains(words, s) {
		return s, nil
	}
	if len(words) == 1 {
		return "", fmt.Errorf("want %s", words[0])
	}
	return "", fmt.Errorf("want one of %s", strings.Join(words, ", "))
}

// The parse functions of the lxc.net.N.* rows that take one of a few
// words: named functions, not closures made by calls, so that netSubkeys
// is laid out by the compiler instead of built by an init in every
// golxc process.
func parseNetFlags(s string) (string, error) { return oneOf(s, "up") }
func parseVethMode(s string) (string, error) { return oneOf(s, "bridge", "router") }
func parseMacvlanMode(s string) (string, error) {
	return oneOf(s, "private", "vepa", "bridge", "passthru")
}
func parseIpvlanMode(s string) (string, error)      { return oneOf(s, "l3", "l3s", "l2") }
func parseIpvlanIsolation(s string) (string, error) { return oneOf(s, "bridge", "private", "vepa") }
func parseGateway4(s string) (string, error)        { return parseGateway(s, true) }
func parseGateway6(s string) (string, error)        { return parseGateway(s, false) }
func parseRoute4(s string) (string, error)          { return parseRoute(s, true) }
func parseRoute6(s string) (string, error)          { return parseRoute(s, false) }

// parseIfName refuses what the kernel refuses as an interface name (IFNAMSIZ
// is 16 bytes with the NUL, netdevice(7)).
func parseIfName(s string) (string, error) {
	const ifNameMax = 15
	switch {
	case len(s) > ifNameMax:
		return "", fmt.Errorf("longer than %d bytes, the kernel's limit for an interface name", ifNameMax)
	case s == "." || s == ".." || strings.ContainsAny(s, "/: \t%"):
		// The kernel expands a % (eth%d) into a name golxc would not
		// know to find again, or to remove.
		return "", errors.New("not an interface name (no /, :, %, blanks, . or ..)")
	}
	return s, nil
}

// parseHwaddr takes a MAC address of six two-digit hex octets, where any
// digit may be x (filled in with a random one when the container is made).
func parseHwaddr(s string) (string, error) {
	octets := strings.Split(s, ":")
	ok := len(octets) == 6
	for _, o := range octets {
		if len(o) != 2 || strings.Trim(o, "0123456789abcdefABCDEFxX") != "" {
			ok = false
		}
	}
	if !ok {
		return "", errors.New("want a MAC address such as 00:16:3e:12:34:56, x for a random digit")
	}
	return s, nil
}

// parseIPv4Address takes "A.B.C.D[/M] [BROADCAST]".
func parseIPv4Address(s string) (string, error) {
	f := strings.Fields(s)
	if len(f) > 2 {
		return "", errors.New("want A.B.C.D/M with an optional broadcast address")
	}
	if _, err := parseAddr(f[0], true); err != nil {
		return "", err
	}
	if len(f) == 2 {
		if a, err := netip.ParseAddr(f[1]); err != nil || !a.Is4() {
			return "", fmt.Errorf("broadcast %q is not an IPv4 address", f[1])
		}
	}
	return strings.Join(f, " "), nil
}

func parseIPv6Address(s string) (string, error) { return parseAddr(s, false) }

// parseAddr takes ADDR or ADDR/M of one IP version.
func parseAddr(s string, v4 bool) (string, error) {
	want := "an IPv6 address such as 2001:db8::2/64"
	if v4 {
		want = "an IPv4 address such as 192.168.1.2/24"
	}
	var a netip.Addr
	var err error
	if strings.Contains(s, "/") {
		var p netip.Prefix
		p, err = netip.ParsePrefix(s)
		a = p.Addr()
	} else {
		a, err = netip.ParseAddr(s)
	}
	if err != nil || a.Is4() != v4 || a.Zone() != "" {
		return "", fmt.Errorf("want %s", want)
	}
	return s, nil
}

// parseGateway takes an address, auto (the link's address) or dev (a device
// route).
func parseGateway(s string, v4 bool) (string, error) {
	if s == "auto" || s == "dev" {
		return s, nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is4() != v4 {
		if v4 {
			return "", errors.New("want an IPv4 address, auto or dev")
		}
		return "", errors.New("want an IPv6 address, auto or dev")
	}
	return s, nil
}

// parseRoute takes a network in CIDR form.
func parseRoute(s string, v4 bool) (string, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil || p.Addr().Is4() != v4 {
		if v4 {
			return "", errors.New("want a route such as 192.168.1.0/24")
		}
		return "", errors.New("want a route such as 2001:db8::/64")
	}
	return s, nil
}

func parseVethVLAN(s string) (string, error) {
	if s == "none" {
		return s, nil
	}
	if _, err := parseVLAN(s); err != nil {
		return "", errors.New("want a VLAN id from 1 to 4094, or none")
	}
	return s, nil
}

func parseTaggedVLAN(s string) (string, error) {
	if _, err := parseVLAN(s); err != nil {
		return "", errors.New("want a VLAN id from 1 to 4094")
	}
	return s, nil
}

func parseVLAN(s string) (uint64, error) {
	n, err := parseUint(s, 4094)
	if err != nil || n == 0 {
		return 0, errors.New("not a VLAN id")
	}
	return n, nil
}
