package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/golxc/golxc/internal/sysfile"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Addresses lists the addresses of global scope in the network namespace
// of pid, IPv4 first, leaving out the loopback's: what lxc-info -i and
// lxc-ls -f show. One routing socket made in the namespace and one
// address dump over it: lxc-info runs this for every call, and the
// netlink library's handle costs a second namespace trip and its
// decoding of every attribute.
func Addresses(pid int) (v4, v6 []string, err error) {
	fd, err := routeSocketIn(pid)
	if err != nil {
		return nil, nil, err
	}
	defer unix.Close(fd)
	msgs, err := Dump(fd, unix.RTM_GETADDR, make([]byte, unix.SizeofIfAddrmsg))
	if err != nil {
		return nil, nil, fmt.Errorf("list addresses in the network namespace of pid %d: %w", pid, err)
	}
	for _, m := range msgs {
		ip, ok := globalAddress(m)
		if !ok {
			continue
		}
		if ip.Is4() {
			v4 = append(v4, ip.String())
		} else {
			v6 = append(v6, ip.String())
		}
	}
	return v4, v6, nil
}

// globalAddress is the address of an RTM_NEWADDR message when it is of
// global scope and not a loopback one. An IPv4 address's own is
// IFA_LOCAL; IFA_ADDRESS is then the peer of a point-to-point link
// (rtnetlink(7)).
func globalAddress(m syscall.NetlinkMessage) (netip.Addr, bool) {
	if m.Header.Type != unix.RTM_NEWADDR || len(m.Data) < unix.SizeofIfAddrmsg {
		return netip.Addr{}, false
	}
	if scope := m.Data[3]; scope != unix.RT_SCOPE_UNIVERSE {
		return netip.Addr{}, false
	}
	attrs, err := syscall.ParseNetlinkRouteAttr(&m)
	if err != nil {
		return netip.Addr{}, false
	}
	var addr, local []byte
	for _, a := range attrs {
		switch a.Attr.Type {
		case unix.IFA_ADDRESS:
			addr = a.Value
		case unix.IFA_LOCAL:
			local = a.Value
		}
	}
	if local != nil {
		addr = local
	}
	ip, ok := netip.AddrFromSlice(addr)
	if !ok {
		return netip.Addr{}, false
	}
	ip = ip.Unmap()
	return ip, !ip.IsLoopback()
}

// routeSocketIn makes a routing netlink socket in the network namespace
// of pid: a socket stays in the namespace it was made in, so only its
// making needs a thread there. The thread is a locked one of its own
// goroutine, which, if it cannot come back to this process's namespace,
// ends locked: the runtime then ends the thread rather than run other
// goroutines in the container's namespace.
func routeSocketIn(pid int) (int, error) {
	nsPath := "/proc/" + strconv.Itoa(pid) + "/ns/net"
	target, err := unix.Open(nsPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open network namespace of pid %d: %w", pid, err)
	}
	defer unix.Close(target)
	type made struct {
		fd  int
		err error
	}
	done := make(chan made, 1)
	go func() {
		runtime.LockOSThread()
		fd, back, err := socketInLocked(target)
		if back {
			runtime.UnlockOSThread()
		}
		done <- made{fd, err}
	}()
	r := <-done
	if r.err != nil {
		return -1, fmt.Errorf("netlink socket in the network namespace of pid %d: %w", pid, r.err)
	}
	return r.fd, nil
}

// socketInLocked is routeSocketIn's part on the locked thread; back says
// whether the thread is in its own network namespace again.
func socketInLocked(target int) (fd int, back bool, err error) {
	self, err := ownNetNS()
	if err != nil {
		return -1, true, err
	}
	defer unix.Close(self)
	if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
		return -1, true, fmt.Errorf("setns: %w", err)
	}
	fd, serr := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err := unix.Setns(self, unix.CLONE_NEWNET); err != nil {
		if serr == nil {
			unix.Close(fd)
		}
		return -1, false, fmt.Errorf("setns back to own network namespace: %w", err)
	}
	if serr != nil {
		return -1, true, fmt.Errorf("socket: %w", serr)
	}
	return fd, true, nil
}

// pidfdGetNetNamespace is PIDFD_GET_NET_NAMESPACE (linux/pidfd.h, 6.11)
// and pidfdThread PIDFD_THREAD (6.9): a pidfd of one thread.
const (
	pidfdGetNetNamespace = 0xFF04
	pidfdThread          = unix.O_EXCL
)

// ownNetNS opens the network namespace of the calling (locked) thread.
// Through a pidfd of the thread where the kernel has it: looking the
// thread up in /proc (thread-self, task/TID) leaves dentries under the
// thread that the kernel walks again, at length, when the process is
// reaped (measured: more than the whole run of lxc-info otherwise);
// /proc/self would name the main thread's namespace, which another
// goroutine's trip may have moved.
func ownNetNS() (int, error) {
	pidfd, err := unix.PidfdOpen(unix.Gettid(), pidfdThread)
	if err == nil {
		ns, ierr := unix.IoctlRetInt(pidfd, pidfdGetNetNamespace)
		unix.Close(pidfd)
		if ierr == nil {
			unix.CloseOnExec(ns)
			return ns, nil
		}
		err = ierr
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOTTY) && !errors.Is(err, unix.ENOSYS) {
		return -1, fmt.Errorf("own network namespace: %w", err)
	}
	ns, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open own network namespace: %w", err)
	}
	return ns, nil
}

// Dump sends one netlink dump request of typ (body: its fixed header) on
// fd, a netlink socket of any protocol (route, sock_diag), and returns the
// kernel's messages up to NLMSG_DONE. Messages that do not come from the kernel (another socket
// of the namespace may write to this one) or answer another request are
// left out.
func Dump(fd int, typ uint16, body []byte) ([]syscall.NetlinkMessage, error) {
	const seq = 1
	req := make([]byte, unix.NLMSG_HDRLEN+len(body))
	binary.NativeEndian.PutUint32(req[0:4], uint32(len(req)))
	binary.NativeEndian.PutUint16(req[4:6], typ)
	binary.NativeEndian.PutUint16(req[6:8], unix.NLM_F_REQUEST|unix.NLM_F_DUMP)
	binary.NativeEndian.PutUint32(req[8:12], seq)
	copy(req[unix.NLMSG_HDRLEN:], body)
	if err := unix.Sendto(fd, req, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return nil, fmt.Errorf("send: %w", err)
	}
	// A timeout in case the kernel's answer never ends: a tool must not
	// hang on a container.
	tv := unix.NsecToTimeval(askNetlinkTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return nil, fmt.Errorf("set receive timeout: %w", err)
	}
	var out []syscall.NetlinkMessage
	buf := make([]byte, 32<<10)
	for {
		n, from, err := unix.Recvfrom(fd, buf, 0)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("receive: %w", err)
		}
		if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
			continue
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return nil, fmt.Errorf("parse: %w", err)
		}
		for _, m := range msgs {
			if m.Header.Seq != seq {
				continue
			}
			switch m.Header.Type {
			case unix.NLMSG_DONE:
				return out, nil
			case unix.NLMSG_ERROR:
				if len(m.Data) >= 4 {
					if e := int32(binary.NativeEndian.Uint32(m.Data[:4])); e != 0 {
						return nil, syscall.Errno(-e)
					}
				}
				return out, nil
			}
			// buf is read into again for the next part of the dump.
			m.Data = append([]byte(nil), m.Data...)
			out = append(out, m)
		}
	}
}

// askNetlinkTimeout bounds each wait for the kernel's next dump message.
const askNetlinkTimeout = 5 * time.Second

// LinkStats are the byte counters of a container's network interface,
// from its host side.
type LinkStats struct {
	Name             string // the host interface
	TxBytes, RxBytes uint64
}

// HostLinkStats reads the counters of host interface name in sysfs, as
// LXC's lxc-info does; index > 0 must be its index (a recorded veth end:
// another interface may have taken the name since). ok is false when
// there is no such interface.
func HostLinkStats(name string, index int) (s LinkStats, ok bool) {
	if name == "" || len(name) >= unix.IFNAMSIZ || strings.ContainsRune(name, '/') || name == "." || name == ".." {
		return s, false
	}
	dir := "/sys/class/net/" + name + "/"
	if index > 0 {
		if got, err := readSysUint(dir + "ifindex"); err != nil || got != uint64(index) {
			return s, false
		}
	}
	var err error
	if s.RxBytes, err = readSysUint(dir + "statistics/rx_bytes"); err != nil {
		return s, false
	}
	if s.TxBytes, err = readSysUint(dir + "statistics/tx_bytes"); err != nil {
		return s, false
	}
	s.Name = name
	return s, true
}

// readSysUint reads a sysfs file holding one number (sysfile: no
// poller set-up).
func readSysUint(path string) (uint64, error) {
	b, err := sysfile.Read(path, 64)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
}

// HostLinks finds the host ends of the veths in pid's network namespace,
// with their counters: for a container whose host ends no golxc monitor
// recorded (one LXC's tools run).
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
