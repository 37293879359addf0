package network

import (
	"fmt"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Addresses lists the addresses of global scope in the network namespace
// of pid, IPv4 first, leaving out the loopback's: what lxc-info -i and
// lxc-ls -f show.
func Addresses(pid int) (v4, v6 []string, err error) {
	err = inNamespace(pid, func(inside *netlink.Handle) error {
		addrs, err := inside.AddrList(nil, netlink.FAMILY_ALL)
		if err != nil {
			return fmt.Errorf("list addresses: %w", err)
		}
		for _, a := range addrs {
			ip, ok := netipFromIP(a.IP)
			if !ok || ip.IsLoopback() || a.Scope != int(netlink.SCOPE_UNIVERSE) {
				continue
			}
			if ip.Is4() {
				v4 = append(v4, ip.String())
			} else {
				v6 = append(v6, ip.String())
			}
		}
		return nil
	})
	return v4, v6, err
}

// LinkStats are the byte counters of a container's veth, from its host
// end.
type LinkStats struct {
	Name             string // the host end
	TxBytes, RxBytes uint64
}

// HostLinks finds the host ends of the veths in pid's network namespace,
// with their counters.
func HostLinks(pid int) ([]LinkStats, error) {
	// The host's socket only once a veth is found: a container with no
	// network (or none with a host end) costs lxc-info no second socket.
	var host *netlink.Handle
	defer func() {
		if host != nil {
			host.Close()
		}
	}()
	var out []LinkStats
	err := inNamespace(pid, func(inside *netlink.Handle) error {
		links, err := inside.LinkList()
		if err != nil {
			return fmt.Errorf("list interfaces: %w", err)
		}
		for _, cl := range links {
			// A veth whose peer is in another namespace; one that the
			// container made with both ends inside names no host index.
			if cl.Type() != "veth" || cl.Attrs().ParentIndex == 0 || cl.Attrs().NetNsID < 0 {
				continue
			}
			if host == nil {
				h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
				if err != nil {
					return fmt.Errorf("netlink socket: %w", err)
				}
				host = h
			}
			hl, err := host.LinkByIndex(cl.Attrs().ParentIndex)
			// The index names the peer in its own namespace: it is the
			// host's only if the host's interface there is a veth whose
			// peer has the container end's index.
			if err != nil || hl.Type() != "veth" || hl.Attrs().ParentIndex != cl.Attrs().Index {
				continue
			}
			s := LinkStats{Name: hl.Attrs().Name}
			if st := hl.Attrs().Statistics; st != nil {
				s.TxBytes, s.RxBytes = st.TxBytes, st.RxBytes
			}
			out = append(out, s)
		}
		return nil
	})
	return out, err
}

func inNamespace(pid int, f func(*netlink.Handle) error) error {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("open network namespace of pid %d: %w", pid, err)
	}
	defer ns.Close()
	// Routing netlink only: a handle of every family opens three sockets,
	// each through a setns there and back (lxc-info, lxc-ls -f per
	// container).
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("netlink socket in the network namespace of pid %d: %w", pid, err)
	}
	defer h.Close()
	return f(h)
}
