package network

import (
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// MoveIn moves the host's interface dev into the network namespace of
// pid, named name there (dev when ""), and brings it up there if it was
// up on the host (lxc-device add, lxc-unshare -i). It goes through a
// temporary name, so that a name taken on either side is never in the
// way halfway.
//
// still, when not nil, is asked once the namespace is open whether pid is
// still the process meant (a pid reused after its process died would
// otherwise name another process's namespace).
func MoveIn(pid int, dev, name string, still func() bool) error {
	if name == "" {
		name = dev
	}
	return move(pid, dev, name, true, still)
}

// MoveOut moves the interface dev of pid's network namespace to the host,
// named name there (dev when ""): lxc-device del.
func MoveOut(pid int, dev, name string, still func() bool) error {
	if name == "" {
		name = dev
	}
	return move(pid, dev, name, false, still)
}

func move(pid int, dev, name string, in bool, still func() bool) error {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return fmt.Errorf("open network namespace of pid %d: %w", pid, err)
	}
	defer ns.Close()
	if still != nil && !still() {
		return fmt.Errorf("process %d is gone", pid)
	}
	self, err := netns.Get()
	if err != nil {
		return err
	}
	defer self.Close()
	if self.Equal(ns) {
		return errors.New("the container shares the host's network namespace")
	}
	host, err := netlink.NewHandle()
	if err != nil {
		return fmt.Errorf("netlink socket: %w", err)
	}
	defer host.Close()
	inside, err := netlink.NewHandleAt(ns)
	if err != nil {
		return fmt.Errorf("netlink socket in the container's network namespace: %w", err)
	}
	defer inside.Close()
	from, to, toNS, where := host, inside, int(ns), "on the host"
	if !in {
		from, to, toNS, where = inside, host, int(self), "in the container"
	}
	l, err := from.LinkByName(dev)
	if err != nil {
		return fmt.Errorf("%s: no such network interface %s", dev, where)
	}
	if l.Attrs().Flags&net.FlagLoopback != 0 {
		return fmt.Errorf("%s is a loopback interface", dev)
	}
	if _, err := to.LinkByName(name); err == nil {
		target := "the container"
		if !in {
			target = "the host"
		}
		return fmt.Errorf("%s has an interface named %s already", target, name)
	}
	up := l.Attrs().Flags&net.FlagUp != 0
	tmp := "gxd" + randomSuffix(10)
	if err := from.LinkSetDown(l); err != nil {
		return fmt.Errorf("bring down %s: %w", dev, err)
	}
	if err := from.LinkSetName(l, tmp); err != nil {
		return fmt.Errorf("rename %s: %w", dev, err)
	}
	if err := from.LinkSetNsFd(l, toNS); err != nil {
		_ = from.LinkSetName(l, dev)
		return fmt.Errorf("move %s: %w", dev, err)
	}
	ml, err := to.LinkByName(tmp)
	if err != nil {
		return fmt.Errorf("find %s moved (as %s): %w", dev, tmp, err)
	}
	if err := to.LinkSetName(ml, name); err != nil {
		return fmt.Errorf("name %s %s (it is %s now): %w", dev, name, tmp, err)
	}
	if up {
		if err := to.LinkSetUp(ml); err != nil {
			return fmt.Errorf("bring up %s: %w", name, err)
		}
	}
	return nil
}
