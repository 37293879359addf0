package network

import (
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// privateHost moves the test's goroutine, locked to its thread, into a
// network namespace of its own for the test's life: the "host" whose
// bridges, veths and routes the test makes and looks at.
func privateHost(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
		t.Fatalf("unshare network namespace: %v", err)
	}
	t.Cleanup(func() {
		if err := netns.Set(orig); err == nil {
			runtime.UnlockOSThread()
		} // else the thread dies with the goroutine, locked
		orig.Close()
	})
}

// container starts a process in a network namespace of its own and
// returns its pid.
func container(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("/bin/sleep", "600")
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWNET}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd.Process.Pid
}

func insideHandle(t *testing.T, pid int) *netlink.Handle {
	t.Helper()
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

func routes(t *testing.T, h *netlink.Handle, link netlink.Link, family int) string {
	t.Helper()
	rs, err := h.RouteList(link, family)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range rs {
		s := "default"
		if r.Dst != nil && !(r.Dst.IP.IsUnspecified() && strings.HasSuffix(r.Dst.String(), "/0")) {
			s = r.Dst.String()
		}
		if r.Gw != nil {
			s += " via " + r.Gw.String()
		}
		if r.Scope == netlink.SCOPE_LINK {
			s += " link"
		}
		out = append(out, s)
	}
	return strings.Join(out, "; ")
}

func TestSetupBridge(t *testing.T) {
	privateHost(t)
	br := &netlink.Bridge{LinkAttrs: netlink.NewLinkAttrs()}
	br.Name, br.MTU = "br0", 1450
	if err := netlink.LinkAdd(br); err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{"10.9.0.1/24", "fd00:9::1/64"} {
		addr, _ := netlink.ParseAddr(a)
		addr.Flags = unix.IFA_F_NODAD
		if err := netlink.AddrAdd(br, addr); err != nil {
			t.Fatal(err)
		}
	}
	if err := netlink.LinkSetUp(br); err != nil {
		t.Fatal(err)
	}
	pid := container(t)
	iface := Iface{Index: 0, Type: "veth", Name: "net0", Hwaddr: "00:16:3e:01:02:03", Up: true, Link: "br0", Mode: "bridge", Pair: "vh0",
		IPv4:        []Addr{{Prefix: netip.MustParsePrefix("10.9.0.2/24"), Broadcast: netip.MustParseAddr("10.9.0.255")}},
		IPv4Gateway: Gateway{Mode: GatewayAuto},
		IPv6:        []Addr{{Prefix: netip.MustParsePrefix("fd00:9::2/64")}},
		IPv6Gateway: Gateway{Mode: GatewayDev},
	}
	plain := Iface{Index: 1, Type: "veth", Link: "br0", Mode: "bridge", MTU: 1280}
	ends, err := Setup(pid, []Iface{iface, plain}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(ends) != 2 || ends[0].Name != "vh0" || !strings.HasPrefix(ends[1].Name, "veth") || len(ends[1].Name) != 10 {
		t.Fatalf("host ends: %+v", ends)
	}
	hl, err := netlink.LinkByName("vh0")
	if err != nil {
		t.Fatal(err)
	}
	if hl.Attrs().MasterIndex != br.Attrs().Index || hl.Attrs().MTU != 1450 || hl.Attrs().HardwareAddr[0] != 0xfe || hl.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("host end vh0: master %d (bridge %d), mtu %d (want the bridge's 1450), MAC %s (want fe:...), flags %v",
			hl.Attrs().MasterIndex, br.Attrs().Index, hl.Attrs().MTU, hl.Attrs().HardwareAddr, hl.Attrs().Flags)
	}
	in := insideHandle(t, pid)
	cl, err := in.LinkByName("net0")
	if err != nil {
		t.Fatal(err)
	}
	if cl.Attrs().HardwareAddr.String() != "00:16:3e:01:02:03" || cl.Attrs().MTU != 1450 || cl.Attrs().Flags&net.FlagUp == 0 {
		t.Errorf("net0 inside: %s mtu %d flags %v", cl.Attrs().HardwareAddr, cl.Attrs().MTU, cl.Attrs().Flags)
	}
	addrs, _ := in.AddrList(cl, netlink.FAMILY_V4)
	if len(addrs) != 1 || addrs[0].IPNet.String() != "10.9.0.2/24" || addrs[0].Broadcast.String() != "10.9.0.255" {
		t.Errorf("IPv4 of net0: %v", addrs)
	}
	if got := routes(t, in, cl, netlink.FAMILY_V4); !strings.Contains(got, "default via 10.9.0.1") {
		t.Errorf("IPv4 routes inside (gateway auto, the bridge's address): %s", got)
	}
	// IPv6 routes have no scope: a device route is one without a
	// next hop.
	if got := routes(t, in, cl, netlink.FAMILY_V6); !strings.HasSuffix(got, "; default") {
		t.Errorf("IPv6 routes inside (gateway dev): %s", got)
	}
	second, err := in.LinkByName("eth0")
	if err != nil {
		t.Fatalf("the unnamed interface is not eth0: %v", err)
	}
	if second.Attrs().MTU != 1280 || second.Attrs().Flags&net.FlagUp != 0 {
		t.Errorf("eth0: mtu %d, flags %v; want 1280 and down", second.Attrs().MTU, second.Attrs().Flags)
	}
	v4, v6, err := Addresses(pid)
	if err != nil || strings.Join(v4, ",") != "10.9.0.2" || strings.Join(v6, ",") != "fd00:9::2" {
		t.Errorf("Addresses = %v %v %v", v4, v6, err)
	}
	links, err := HostLinks(pid)
	if err != nil || len(links) != 2 || links[0].Name != "vh0" && links[1].Name != "vh0" {
		t.Errorf("HostLinks = %+v, %v", links, err)
	}

	// A second start with the same pair name while the first holds it:
	// refused after a wait, naming it.
	if _, err := Setup(container(t), []Iface{{Index: 0, Type: "veth", Mode: "bridge", Pair: "vh0"}}, nil); err == nil || !strings.Contains(err.Error(), "vh0") {
		t.Errorf("a pair name in use: %v", err)
	}

	if err := Teardown(ends); err != nil {
		t.Fatal(err)
	}
	for _, e := range ends {
		if _, err := netlink.LinkByName(e.Name); err == nil {
			t.Errorf("%s left after Teardown", e.Name)
		}
	}
	if ls, _ := in.LinkList(); len(ls) != 1 {
		t.Errorf("inside after Teardown: %d interfaces, want lo alone", len(ls))
	}
	// Again: nothing left, nothing to fail on.
	if err := Teardown(ends); err != nil {
		t.Fatal(err)
	}
}

func TestSetupRouter(t *testing.T) {
	privateHost(t)
	pid := container(t)
	iface := Iface{Index: 0, Type: "veth", Up: true, Mode: "router", Pair: "vr0",
		IPv4:        []Addr{{Prefix: netip.MustParsePrefix("10.7.0.2/32")}},
		IPv4Gateway: Gateway{Mode: GatewayAddr, Addr: netip.MustParseAddr("169.254.0.1")},
		HostRoutes:  []netip.Prefix{netip.MustParsePrefix("10.8.0.0/24")},
	}
	ends, err := Setup(pid, []Iface{iface}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hl, err := netlink.LinkByName("vr0")
	if err != nil {
		t.Fatal(err)
	}
	if got := routes(t, netlinkHandle(t), hl, netlink.FAMILY_V4); !strings.Contains(got, "10.7.0.2/32 link") || !strings.Contains(got, "10.8.0.0/24 link") {
		t.Errorf("host routes through vr0: %s", got)
	}
	neigh, err := netlink.NeighProxyList(hl.Attrs().Index, netlink.FAMILY_V4)
	if err != nil || len(neigh) != 1 || !neigh[0].IP.Equal(net.ParseIP("169.254.0.1")) {
		t.Errorf("proxy entries on vr0: %v, %v", neigh, err)
	}
	if b, err := os.ReadFile("/proc/sys/net/ipv4/conf/vr0/proxy_arp"); err != nil || strings.TrimSpace(string(b)) != "1" {
		t.Errorf("proxy_arp of vr0: %q, %v", b, err)
	}
	in := insideHandle(t, pid)
	cl, err := in.LinkByName("eth0")
	if err != nil {
		t.Fatal(err)
	}
	if got := routes(t, in, cl, netlink.FAMILY_V4); !strings.Contains(got, "169.254.0.1/32 link") || !strings.Contains(got, "default via 169.254.0.1") {
		t.Errorf("routes inside: %s", got)
	}
	if err := Teardown(ends); err != nil {
		t.Fatal(err)
	}
	all, _ := netlink.RouteList(nil, netlink.FAMILY_V4)
	for _, r := range all {
		if r.Dst != nil && (r.Dst.String() == "10.7.0.2/32" || r.Dst.String() == "10.8.0.0/24") {
			t.Errorf("route %s left after Teardown", r.Dst)
		}
	}
}

func netlinkHandle(t *testing.T) *netlink.Handle {
	h, err := netlink.NewHandle()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h
}

// A failed set-up leaves nothing: the first interface's host end goes
// when the second fails.
func TestSetupFailureCleans(t *testing.T) {
	privateHost(t)
	pid := container(t)
	_, err := Setup(pid, []Iface{{Index: 0, Type: "veth", Mode: "bridge", Pair: "vf0"}, {Index: 1, Type: "veth", Mode: "bridge", Link: "nobr"}}, nil)
	if err == nil || !strings.Contains(err.Error(), "lxc.net.1: link nobr: no such interface") {
		t.Fatalf("Setup = %v", err)
	}
	if _, err := netlink.LinkByName("vf0"); err == nil {
		t.Error("vf0 left after a failed set-up")
	}
}
