package test

import (
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// Container root swaps a phys interface (one end of a host veth pair) for
// a veth pair of its own made at the same index, hoping that the give-back
// at stop puts its pair's end on the host under the phys's name: a link
// from the host's network namespace into the container's. The netlink
// calls are made in the container's network namespace, as its root makes
// them. The keeper gives back only an end whose peer is still the host's.
func TestAttackNetPhysSwapped(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	v := newVethPair(t)
	orig, err := netlink.LinkByName(v.a)
	if err != nil {
		t.Fatal(err)
	}
	idx := orig.Attrs().Index
	c := l.createBusybox("lxc.net.0.type = phys", "lxc.net.0.link = "+v.a, "lxc.net.0.name = eth0", "lxc.net.0.flags = up")
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 10*time.Second)
	ns, err := netns.GetFromPid(l.initPID(c))
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	eth0, err := h.LinkByName("eth0")
	if err != nil || eth0.Attrs().Index != idx {
		t.Fatalf("eth0 in the container: %v (index %d, want %d)", err, eth0.Attrs().Index, idx)
	}
	if err := h.LinkDel(eth0); err != nil {
		t.Fatal(err)
	}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = "fake0"
	attrs.Index = idx
	if err := h.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: "fake1"}); err != nil {
		t.Fatalf("make a veth at index %d in the container: %v", idx, err)
	}
	if f, err := h.LinkByName("fake0"); err != nil || f.Attrs().Index != idx {
		t.Fatalf("fake0: %v, index %d, want %d: the attack is not set up", err, f.Attrs().Index, idx)
	}
	l.mustRun("lxc-stop", "-n", c, "-k")
	for _, n := range []string{v.a, "fake0", "fake1"} {
		if linkExists(n) {
			t.Errorf("%s on the host after the stop: the container's own interface was given back", n)
			if hl, err := netlink.LinkByName(n); err == nil {
				_ = netlink.LinkDel(hl)
			}
		}
	}
}
