package test

// Attacks on a container's network from inside it (issue 10): the host end
// of its veth is the host's, made and removed by the monitor, and a
// container's root cannot make the monitor remove anything else.

import (
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// Root of a container deletes its own eth0, which frees the host end's
// name, and a host interface of that name appears (another tool's, or one
// the container hoped to have removed). Neither the stop nor the next
// start after a killed monitor deletes it: only the interface the monitor
// made, by name and index, goes.
func TestAttackNetTeardownOnlyItsOwn(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	b := newBridge(t)
	pair := uniquePair(t)
	n := l.createBusybox(vethConf(b, pair, randomMAC(), 7)...)

	foreign := func(t *testing.T) netlink.Link {
		t.Helper()
		attrs := netlink.NewLinkAttrs()
		attrs.Name = pair
		v := &netlink.Veth{LinkAttrs: attrs, PeerName: pair + "p"}
		if err := netlink.LinkAdd(v); err != nil {
			t.Fatalf("make the host's own %s: %v", pair, err)
		}
		t.Cleanup(func() { _ = netlink.LinkDel(v) })
		l, err := netlink.LinkByName(pair)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}

	for _, end := range []string{"lxc-stop -k", "kill -9 of the monitor, then a start"} {
		t.Run(end, func(t *testing.T) {
			l := l.with(t)
			l.mustRun("lxc-start", "-n", n)
			l.waitState(n, "RUNNING", 10*time.Second)
			l.attach(n, "ip", "link", "delete", "eth0")
			if !waitFor(5*time.Second, func() bool { return !linkExists(pair) }) {
				t.Fatalf("%s still on the host after the container deleted its end", pair)
			}
			own := foreign(t)
			if end == "lxc-stop -k" {
				l.mustRun("lxc-stop", "-n", n, "-k")
			} else {
				killMonitorAndWait(t, l, n)
				// The teardown from the killed monitor's record of the
				// pair found the host's interface not it. The start's own
				// pair then cannot have the name, and the start says so.
				_, errs, code := l.run("lxc-start", "-n", n)
				if code == 0 {
					l.mustRun("lxc-stop", "-n", n, "-k")
					t.Errorf("a start made a pair named %s beside the host's", pair)
				} else if !strings.Contains(errs, pair) {
					t.Errorf("the refused start does not name %s: %s", pair, errs)
				}
			}
			got, err := netlink.LinkByName(pair)
			if err != nil || got.Attrs().Index != own.Attrs().Index {
				t.Errorf("after %s: the host's %s (index %d) was removed or replaced: %v", end, pair, own.Attrs().Index, err)
			}
			_ = netlink.LinkDel(own)
		})
	}
}
