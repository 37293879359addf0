package test

import (
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// proxyEntries lists the neighbour proxy entries on the host's name.
func proxyEntries(t *testing.T, name string) []string {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range []int{netlink.FAMILY_V4, netlink.FAMILY_V6} {
		ns, err := netlink.NeighProxyList(l.Attrs().Index, f)
		if err != nil {
			t.Fatalf("proxy entries of %s: %v", name, err)
		}
		for _, n := range ns {
			out = append(out, n.IP.String())
		}
	}
	slices.Sort(out)
	return out
}

func setSysctl(t *testing.T, path, v string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(v), 0); err != nil {
		t.Fatalf("sysctl %s: %v", path, err)
	}
}

// lxc.net.0.l2proxy = 1 on a router-mode veth whose link is one end of a
// veth pair of the test's own: while the container runs, that link has a
// proxy entry for each of the container's addresses (the host answers
// ARP and NDP for them there), and none after lxc-stop or after kill -9
// of the monitor (the next start's clean-up, as for the host end). A link
// without forwarding (LXC's requirement; golxc sets no host sysctl)
// refuses the start in one line naming the sysctl, and adds nothing.
func TestNetL2Proxy(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	v := newVethPair(t)
	p := freePrefix(t)
	v6 := "fd42:" + strings.ReplaceAll(strings.TrimSuffix(p, "."), ".", ":")[3:] + "::2"
	conf := []string{"lxc.net.0.type = veth", "lxc.net.0.veth.mode = router", "lxc.net.0.flags = up",
		"lxc.net.0.link = " + v.a, "lxc.net.0.l2proxy = 1",
		"lxc.net.0.ipv4.address = " + p + "2/32", "lxc.net.0.ipv6.address = " + v6 + "/128"}
	c := l.createBusybox(conf...)

	// New interfaces take the host's default, which may forward.
	setSysctl(t, "/proc/sys/net/ipv4/conf/"+v.a+"/forwarding", "0")
	_, errs, code := l.run("lxc-start", "-n", c)
	if code == 0 || !strings.Contains(errs, "l2proxy needs sysctl net.ipv4.conf."+v.a+".forwarding=1") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Errorf("l2proxy without forwarding: exit %d, %q", code, errs)
	}
	l.waitState(c, "STOPPED", 10*time.Second)
	if got := proxyEntries(t, v.a); len(got) != 0 {
		t.Errorf("after the refused start: %s has proxy entries %v", v.a, got)
	}

	// The sysctls of the test's own interface only; they go with it.
	setSysctl(t, "/proc/sys/net/ipv4/conf/"+v.a+"/forwarding", "1")
	setSysctl(t, "/proc/sys/net/ipv6/conf/"+v.a+"/forwarding", "1")
	setSysctl(t, "/proc/sys/net/ipv6/conf/"+v.a+"/proxy_ndp", "1")
	want := []string{p + "2", v6}
	slices.Sort(want)
	for _, how := range []string{"lxc-stop", "kill -9 of the monitor"} {
		l.mustRun("lxc-start", "-n", c)
		l.waitState(c, "RUNNING", 10*time.Second)
		if got := proxyEntries(t, v.a); !slices.Equal(got, want) {
			t.Errorf("running: proxy entries on %s are %v, want %v", v.a, got, want)
		}
		if how == "lxc-stop" {
			l.mustRun("lxc-stop", "-n", c, "-k")
			if got := proxyEntries(t, v.a); len(got) != 0 {
				t.Errorf("after %s: %s has proxy entries %v", how, v.a, got)
			}
			continue
		}
		killMonitorAndWait(t, l, c)
		// A killed monitor leaves its record; the next tool to find
		// init gone removes what it names.
		l.mustRun("lxc-start", "-n", c)
		l.waitState(c, "RUNNING", 10*time.Second)
		if got := proxyEntries(t, v.a); !slices.Equal(got, want) {
			t.Errorf("restart after %s: proxy entries on %s are %v, want %v", how, v.a, got, want)
		}
		l.mustRun("lxc-stop", "-n", c, "-k")
		if got := proxyEntries(t, v.a); len(got) != 0 {
			t.Errorf("after lxc-stop: %s has proxy entries %v", v.a, got)
		}
	}

	// An entry someone else made stays theirs: the start is refused and
	// the entry is there after it.
	lk, _ := netlink.LinkByName(v.a)
	other := &netlink.Neigh{LinkIndex: lk.Attrs().Index, Family: netlink.FAMILY_V4, Flags: netlink.NTF_PROXY, IP: netlinkIP(p + "2")}
	if err := netlink.NeighAdd(other); err != nil {
		t.Fatal(err)
	}
	_, errs, code = l.run("lxc-start", "-n", c)
	if code == 0 || !strings.Contains(errs, "has a proxy entry for "+p+"2 already") {
		t.Errorf("an entry of someone else's: exit %d, %q", code, errs)
	}
	l.waitState(c, "STOPPED", 10*time.Second)
	if got := proxyEntries(t, v.a); !slices.Equal(got, []string{p + "2"}) {
		t.Errorf("after the refused start: proxy entries on %s are %v, want only the other's", v.a, got)
	}
}

func netlinkIP(s string) net.IP { return net.ParseIP(s) }

// lxc.net.0.veth.vlan.id and veth.vlan.tagged.id on a bridge of the
// test's own. Where the kernel's bridge filters VLANs, the host end's VLAN
// list (netlink, as bridge vlan show reads it) is the PVID untagged and
// the tagged ids, without the bridge's default PVID, while the container
// runs; the port goes at stop. Where it does not (this machine's kernel:
// no CONFIG_BRIDGE_VLAN_FILTERING, the bridge has no vlan_filtering), the
// start is refused in one line saying so, and leaves no port. A bridge
// that could filter but does not is refused too, as LXC refuses it.
func TestNetVethVLAN(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	b := newBridge(t)
	pair := uniquePair(t)
	c := l.createBusybox(append(vethConf(b, pair, randomMAC(), 2),
		"lxc.net.0.veth.vlan.id = 5", "lxc.net.0.veth.vlan.tagged.id = 10", "lxc.net.0.veth.vlan.tagged.id = 11")...)
	br, err := netlink.LinkByName(b.name)
	if err != nil {
		t.Fatal(err)
	}
	_, err = os.Stat("/sys/class/net/" + b.name + "/bridge/vlan_filtering")
	filtering := err == nil
	if filtering {
		// Refused while the bridge does not filter, then with it on.
		_, errs, code := l.run("lxc-start", "-n", c)
		if code == 0 || !strings.Contains(errs, "does not filter VLANs") {
			t.Errorf("bridge without vlan_filtering: exit %d, %q", code, errs)
		}
		l.waitState(c, "STOPPED", 10*time.Second)
		on := true
		if err := netlink.LinkModify(&netlink.Bridge{LinkAttrs: *br.Attrs(), VlanFiltering: &on}); err != nil {
			t.Fatalf("vlan_filtering on %s: %v", b.name, err)
		}
	} else {
		_, errs, code := l.run("lxc-start", "-n", c)
		if code == 0 || !strings.Contains(errs, "bridge "+b.name+" has no VLAN filtering (this kernel's bridge lacks it: CONFIG_BRIDGE_VLAN_FILTERING)") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("kernel without VLAN filtering: exit %d, %q", code, errs)
		}
		l.waitState(c, "STOPPED", 10*time.Second)
		if p := b.ports(t); len(p) != 0 || linkExists(pair) {
			t.Errorf("after the refused start: ports of %s %v, %s exists %v", b.name, p, pair, linkExists(pair))
		}
		return
	}
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 10*time.Second)
	hl, err := netlink.LinkByName(pair)
	if err != nil {
		t.Fatal(err)
	}
	all, err := netlink.BridgeVlanList()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range all[int32(hl.Attrs().Index)] {
		got = append(got, fmt.Sprintf("%d pvid=%v untagged=%v", v.Vid, v.PortVID(), v.EngressUntag()))
	}
	want := []string{"5 pvid=true untagged=true", "10 pvid=false untagged=false", "11 pvid=false untagged=false"}
	if !slices.Equal(got, want) {
		t.Errorf("VLANs of %s: %v, want %v", pair, got, want)
	}
	l.mustRun("lxc-stop", "-n", c, "-k")
	if linkExists(pair) {
		t.Errorf("after lxc-stop: %s exists", pair)
	}
}
