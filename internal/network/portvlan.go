package network

import (
	"errors"
	"fmt"
	"os"

	"github.com/vishvananda/netlink"
)

// VethVLANNone is Iface.VethVLANID for veth.vlan.id = none: the port
// leaves the bridge's default untagged VLAN and joins no other.
const VethVLANNone = -1

// setupPortVLANs gives the host end hl its VLANs on a VLAN-filtering
// bridge, as LXC does for lxc.net.N.veth.vlan.id and veth.vlan.tagged.id:
// with vlan.id set the port leaves the bridge's default PVID and, unless
// it is none, takes vlan.id as its PVID, untagged; each tagged.id is a
// tagged VLAN of the port. The VLANs go with the port when the host end
// is deleted. A bridge without VLAN filtering (or a kernel whose bridge
// has none) refuses the start: the ids would mean nothing there.
func setupPortVLANs(host *netlink.Handle, hl netlink.Link, bridge netlink.Link, i Iface) error {
	if i.VethVLANID == 0 && len(i.VethVLANTagged) == 0 {
		return nil
	}
	br, ok := bridge.(*netlink.Bridge)
	if !ok {
		return fmt.Errorf("veth.vlan: link %s is not a bridge", i.Link)
	}
	// netlink reports vlan_filtering off on a kernel that cannot turn it
	// on; the sysfs file is there only where it can.
	if _, err := os.Stat("/sys/class/net/" + i.Link + "/bridge/vlan_filtering"); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("veth.vlan: bridge %s has no VLAN filtering (this kernel's bridge lacks it: CONFIG_BRIDGE_VLAN_FILTERING)", i.Link)
	}
	if br.VlanFiltering == nil || !*br.VlanFiltering {
		return fmt.Errorf("veth.vlan: bridge %s does not filter VLANs (ip link set %s type bridge vlan_filtering 1)", i.Link, i.Link)
	}
	name := hl.Attrs().Name
	if i.VethVLANID != 0 {
		if br.VlanDefaultPVID != nil && *br.VlanDefaultPVID != 0 {
			pvid := *br.VlanDefaultPVID
			if err := host.BridgeVlanDel(hl, pvid, true, true, false, false); err != nil {
				return fmt.Errorf("veth.vlan.id: take %s out of default VLAN %d: %w", name, pvid, err)
			}
		}
		if i.VethVLANID > 0 {
			if err := host.BridgeVlanAdd(hl, uint16(i.VethVLANID), true, true, false, false); err != nil {
				return fmt.Errorf("veth.vlan.id %d on %s: %w", i.VethVLANID, name, err)
			}
		}
	}
	for _, id := range i.VethVLANTagged {
		if err := host.BridgeVlanAdd(hl, uint16(id), false, false, false, false); err != nil {
			return fmt.Errorf("veth.vlan.tagged.id %d on %s: %w", id, name, err)
		}
	}
	return nil
}
