package network

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// KeeperArg runs golxc as the keeper of a container's phys interfaces.
const KeeperArg = "__golxc-netkeeper"

// The keeper's descriptors: the container's network namespace, a pidfd
// of its init, and the pipe the records come on.
const (
	keeperNSFD  = 3
	keeperPidFD = 4
	keeperRecFD = 5
)

// PhysRecord is a host interface moved into a container: its name and
// state on the host, to give back, and its index inside.
type PhysRecord struct {
	Host   string `json:"host"`
	Inside int    `json:"inside"` // index in the container's namespace
	Type   string `json:"type"`
	MTU    int    `json:"mtu"`
	MAC    string `json:"mac"`
	Up     bool   `json:"up"`
}

// Keeper is a process apart from the monitor that holds the container's
// network namespace and, once the container's init is gone, moves every
// phys interface back to the host under its own name. It outlives a
// killed monitor: without it the namespace would die with init and the
// kernel would delete a virtual interface (a veth end) rather than give
// it back, or give a real one back under its name inside.
type Keeper struct {
	cmd *exec.Cmd
	rec *os.File
}

// StartKeeper starts the keeper for the init stage pid, which waits.
func StartKeeper(pid int) (*Keeper, error) {
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		return nil, fmt.Errorf("open network namespace of pid %d: %w", pid, err)
	}
	nsf := os.NewFile(uintptr(ns), "netns")
	defer nsf.Close()
	pfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return nil, fmt.Errorf("pidfd of %d: %w", pid, err)
	}
	pf := os.NewFile(uintptr(pfd), "pidfd")
	defer pf.Close()
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command("/proc/self/exe", KeeperArg)
	cmd.ExtraFiles = []*os.File{nsf, pf, r}
	cmd.Stderr = os.Stderr
	// Its own session: a signal to the monitor's group is not for it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		w.Close()
		return nil, fmt.Errorf("start the keeper of phys interfaces: %w", err)
	}
	return &Keeper{cmd: cmd, rec: w}, nil
}

// record tells the keeper of an interface about to move in.
func (k *Keeper) record(r PhysRecord) error {
	b, _ := json.Marshal(r)
	if _, err := k.rec.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("tell the keeper of %s: %w", r.Host, err)
	}
	return nil
}

// Done says no more interfaces come.
func (k *Keeper) Done() {
	if k != nil {
		k.rec.Close()
	}
}

// Wait waits for the keeper to have given every interface back (the
// container's init is gone).
func (k *Keeper) Wait() {
	if k != nil {
		k.Done()
		_ = k.cmd.Wait()
	}
}

// setupPhys moves the host's i.Link into the container, named i.Name (else
// the first free ethN), with i's MTU, hwaddr and addresses.
func setupPhys(host, inside *netlink.Handle, ns netns.NsHandle, i Iface, k *Keeper) error {
	l, err := host.LinkByName(i.Link)
	if err != nil {
		return fmt.Errorf("link %s: no such interface on the host", i.Link)
	}
	a := l.Attrs()
	if a.Flags&net.FlagLoopback != 0 {
		return fmt.Errorf("link %s is the host's loopback", i.Link)
	}
	if k == nil {
		return errors.New("phys needs a keeper")
	}
	name, err := insideName(inside, i.Name)
	if err != nil {
		return err
	}
	rec := PhysRecord{Host: a.Name, Type: l.Type(), MTU: a.MTU, MAC: a.HardwareAddr.String(), Up: a.Flags&net.FlagUp != 0}
	// The kernel keeps the index when it is free in the new namespace;
	// the record says which, sent before the move so that a monitor
	// killed right after it leaves nothing behind.
	if _, err := inside.LinkByIndex(a.Index); err == nil {
		return fmt.Errorf("move %s: index %d is taken in the container", a.Name, a.Index)
	}
	rec.Inside = a.Index
	if err := k.record(rec); err != nil {
		return err
	}
	if err := host.LinkSetNsFd(l, int(ns)); err != nil {
		return fmt.Errorf("move %s into the container: %w", a.Name, err)
	}
	cl, err := inside.LinkByIndex(a.Index)
	if err != nil {
		return fmt.Errorf("find %s moved in: %w", a.Name, err)
	}
	if name != cl.Attrs().Name {
		if err := inside.LinkSetName(cl, name); err != nil {
			return fmt.Errorf("rename %s to %s: %w", a.Name, name, err)
		}
	}
	if i.MTU > 0 {
		if err := inside.LinkSetMTU(cl, i.MTU); err != nil {
			return fmt.Errorf("mtu %d on %s: %w", i.MTU, name, err)
		}
	}
	if i.Hwaddr != "" {
		mac, err := net.ParseMAC(i.Hwaddr)
		if err == nil {
			err = inside.LinkSetHardwareAddr(cl, mac)
		}
		if err != nil {
			return fmt.Errorf("hwaddr %s on %s: %w", i.Hwaddr, name, err)
		}
	}
	if cl, err = inside.LinkByIndex(a.Index); err != nil {
		return fmt.Errorf("find %s: %w", name, err)
	}
	return configureInside(host, inside, cl, nil, i)
}

// RunKeeper is the keeper process: it reads the records until the
// monitor is done (or dead), waits for the container's init to be gone,
// and gives every interface back.
func RunKeeper() int {
	recs := readRecords(os.NewFile(keeperRecFD, "records"))
	fds := []unix.PollFd{{Fd: keeperPidFD, Events: unix.POLLIN}}
	for {
		if _, err := unix.Poll(fds, -1); err == nil || !errors.Is(err, unix.EINTR) {
			break
		}
	}
	code := 0
	for _, r := range recs {
		if err := giveBack(netns.NsHandle(keeperNSFD), r); err != nil {
			fmt.Fprintf(os.Stderr, "golxc: give %s back to the host: %v\n", r.Host, err)
			code = 1
		}
	}
	return code
}

func readRecords(f *os.File) []PhysRecord {
	var recs []PhysRecord
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r PhysRecord
		if json.Unmarshal(sc.Bytes(), &r) == nil {
			recs = append(recs, r)
		}
	}
	return recs
}

// giveBack moves r's interface out of ns under a name the host does not
// use, then names it and restores its MTU, MAC and state. Only an
// interface of the recorded type is taken back.
func giveBack(ns netns.NsHandle, r PhysRecord) error {
	inside, err := netlink.NewHandleAt(ns)
	if err != nil {
		return err
	}
	defer inside.Close()
	l, err := inside.LinkByIndex(r.Inside)
	if err != nil {
		return nil // never moved in, or gone with the container
	}
	if l.Type() != r.Type {
		return fmt.Errorf("the container's interface %d is a %s now, not the %s moved in: left there", r.Inside, l.Type(), r.Type)
	}
	hostNS, err := netns.Get()
	if err != nil {
		return err
	}
	defer hostNS.Close()
	host, err := netlink.NewHandle()
	if err != nil {
		return err
	}
	defer host.Close()
	if r.Type == "veth" {
		// Container root can delete the end moved in and make a veth
		// of its own at that index: only the end whose peer is still
		// the host's goes back.
		id, err := host.GetNetNsIdByFd(int(ns))
		pl, perr := host.LinkByIndex(l.Attrs().ParentIndex)
		if err != nil || perr != nil || pl.Type() != "veth" || pl.Attrs().ParentIndex != l.Attrs().Index || pl.Attrs().NetNsID != id {
			return fmt.Errorf("the container's veth %d is not the end of a host veth any more: left there", r.Inside)
		}
	}
	tmp := "gxp" + randomSuffix(10)
	_ = inside.LinkSetDown(l)
	if err := inside.LinkSetName(l, tmp); err != nil {
		return fmt.Errorf("rename %s: %w", l.Attrs().Name, err)
	}
	if err := inside.LinkSetNsFd(l, int(hostNS)); err != nil {
		return fmt.Errorf("move out: %w", err)
	}
	hl, err := host.LinkByName(tmp)
	if err != nil {
		return fmt.Errorf("find %s: %w", tmp, err)
	}
	if err := host.LinkSetName(hl, r.Host); err != nil {
		return fmt.Errorf("name %s %s (left as %s): %w", tmp, r.Host, tmp, err)
	}
	var errs []error
	if hl.Attrs().MTU != r.MTU {
		errs = append(errs, host.LinkSetMTU(hl, r.MTU))
	}
	if mac, err := net.ParseMAC(r.MAC); err == nil && hl.Attrs().HardwareAddr.String() != r.MAC {
		errs = append(errs, host.LinkSetHardwareAddr(hl, mac))
	}
	if r.Up {
		errs = append(errs, host.LinkSetUp(hl))
	}
	return errors.Join(errs...)
}
