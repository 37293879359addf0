package network

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// Proxy is one neighbour proxy entry that l2proxy added on a host
// interface; the index tells that interface from a later one of the same
// name.
type Proxy struct {
	Link  string `json:"link"`
	Index int    `json:"index"`
	IP    string `json:"ip"`
}

// setupL2Proxy adds a proxy entry on i.Link for each of the container's
// addresses, so that the host answers ARP and NDP for them there. As LXC
// does, it sets no sysctl of the host's: the kernel answers from proxy
// entries only on an interface that forwards (and for IPv6 has
// proxy_ndp), and a start without them is refused in one line naming the
// sysctl. The entries it made are returned even on failure, for removal.
func setupL2Proxy(host *netlink.Handle, i Iface) ([]Proxy, error) {
	if !i.L2Proxy || len(i.IPv4)+len(i.IPv6) == 0 {
		return nil, nil
	}
	link, err := host.LinkByName(i.Link)
	if err != nil {
		return nil, fmt.Errorf("l2proxy: link %s: no such interface on the host", i.Link)
	}
	var need []string
	if len(i.IPv4) > 0 {
		need = append(need, "ipv4/conf/"+i.Link+"/forwarding")
	}
	if len(i.IPv6) > 0 {
		need = append(need, "ipv6/conf/"+i.Link+"/proxy_ndp", "ipv6/conf/"+i.Link+"/forwarding")
	}
	for _, k := range need {
		b, err := os.ReadFile("/proc/sys/net/" + k)
		if err != nil || strings.TrimSpace(string(b)) != "1" {
			return nil, fmt.Errorf("l2proxy needs sysctl net.%s=1", strings.ReplaceAll(k, "/", "."))
		}
	}
	// The kernel takes a proxy entry that exists already as made (no
	// EEXIST): look first, for one that is there is someone else's, and
	// stop must not remove it.
	have := map[netip.Addr]bool{}
	for _, f := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		ns, err := host.NeighProxyList(link.Attrs().Index, f)
		if err != nil {
			return nil, fmt.Errorf("l2proxy: proxy entries of %s: %w", i.Link, err)
		}
		for _, n := range ns {
			if a, ok := netipFromIP(n.IP); ok {
				have[a] = true
			}
		}
	}
	var made []Proxy
	for _, a := range append(append([]Addr(nil), i.IPv4...), i.IPv6...) {
		ip := a.Prefix.Addr()
		if have[ip] {
			return made, fmt.Errorf("l2proxy: %s has a proxy entry for %s already", i.Link, ip)
		}
		family := netlink.FAMILY_V4
		if ip.Is6() {
			family = netlink.FAMILY_V6
		}
		n := &netlink.Neigh{LinkIndex: link.Attrs().Index, Family: family, Flags: netlink.NTF_PROXY, IP: ip.AsSlice()}
		if err := host.NeighAdd(n); err != nil {
			return made, fmt.Errorf("l2proxy: proxy entry for %s on %s: %w", ip, i.Link, err)
		}
		have[ip] = true
		made = append(made, Proxy{Link: i.Link, Index: link.Attrs().Index, IP: ip.String()})
	}
	return made, nil
}

// removeProxies deletes the entries setupL2Proxy made. One whose
// interface is gone, or renumbered, went with it.
func removeProxies(host *netlink.Handle, ps []Proxy) error {
	var errs []error
	for _, p := range ps {
		l, err := host.LinkByIndex(p.Index)
		if err != nil || l.Attrs().Name != p.Link {
			continue
		}
		n := &netlink.Neigh{LinkIndex: p.Index, Family: netlink.FAMILY_V4, Flags: netlink.NTF_PROXY}
		ip, err := netip.ParseAddr(p.IP)
		if err != nil {
			errs = append(errs, fmt.Errorf("l2proxy entry %s: %w", p.IP, err))
			continue
		}
		if ip.Is6() {
			n.Family = netlink.FAMILY_V6
		}
		n.IP = ip.AsSlice()
		if err := host.NeighDel(n); err != nil && !errors.Is(err, unix.ENOENT) {
			errs = append(errs, fmt.Errorf("remove l2proxy entry %s on %s: %w", p.IP, p.Link, err))
		}
	}
	return errors.Join(errs...)
}
