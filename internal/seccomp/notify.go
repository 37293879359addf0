package seccomp

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// LoadListener installs filter on every thread, as Load does, and returns
// the listener of its notify actions (SECCOMP_RET_USER_NOTIF): the calls
// they catch wait until whoever holds it answers.
func LoadListener(filter []unix.SockFilter) (int, error) {
	if len(filter) == 0 {
		return -1, fmt.Errorf("load seccomp filter: empty program")
	}
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	// TSYNC_ESRCH: with a listener, a thread that cannot be synchronised
	// is reported as ESRCH rather than by its id, which would read as
	// the listener's descriptor.
	flags := uintptr(unix.SECCOMP_FILTER_FLAG_TSYNC | unix.SECCOMP_FILTER_FLAG_TSYNC_ESRCH | unix.SECCOMP_FILTER_FLAG_NEW_LISTENER)
	r, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, flags, uintptr(unsafe.Pointer(&prog)))
	if errno != 0 {
		return -1, fmt.Errorf("load seccomp filter with a notify listener: %w", errno)
	}
	return int(r), nil
}

// ProxyAddr checks an lxc.seccomp.notify.proxy value, unix:PATH or
// unix:@NAME (abstract), and returns its socket address.
func ProxyAddr(v string) (*unix.SockaddrUnix, error) {
	p, ok := strings.CutPrefix(v, "unix:")
	if !ok || p == "" || p == "@" {
		return nil, fmt.Errorf("%q: want unix:PATH or unix:@NAME", v)
	}
	if len(p) >= 108 {
		return nil, fmt.Errorf("%q: longer than a socket address", v)
	}
	if strings.HasPrefix(p, "@") {
		// The kernel's abstract namespace: a leading NUL.
		return &unix.SockaddrUnix{Name: "\x00" + p[1:]}, nil
	}
	return &unix.SockaddrUnix{Name: p}, nil
}

// Proxy is where a container's notifications go, as LXC forwards them
// (lxc.seccomp.notify.proxy, lxc.seccomp.notify.cookie): one SOCK_SEQPACKET
// message per notification, a struct seccomp_notify_proxy_msg (reserved
// 0, the monitor's and the init's pids, the kernel's notification sizes,
// the cookie's length), then the notification, a response for the proxy
// to fill, and the cookie; with it go descriptors of the caller's
// /proc/PID, its /proc/PID/mem, and the listener. The proxy answers with
// the same layout; its response goes to the kernel.
type Proxy struct {
	Addr       string // lxc.seccomp.notify.proxy
	Cookie     string // lxc.seccomp.notify.cookie
	MonitorPID int
	InitPID    int
	// Owner is the uid, besides 0, whose proxy may receive the calls:
	// the container's owner (the monitor's own uid). What the proxy gets
	// (the caller's /proc/PID, its memory open for writing, the
	// listener) lets it rewrite the call, so a program of another user
	// that binds the address first (an abstract name is anyone's to
	// take) must get nothing.
	Owner int
	// Timeout bounds the wait for one answer; 0: 30 s.
	Timeout time.Duration
	// ConnectTimeout bounds the connect; 0: 3 s.
	ConnectTimeout time.Duration
	// Warnf, when set, is told why a proxy could not be used (who
	// listens, when refused), once until the reason changes.
	Warnf func(format string, args ...any)

	lastWarn string
}

// notifSizes is struct seccomp_notif_sizes.
type notifSizes struct{ notif, resp, data uint16 }

func kernelSizes() (notifSizes, error) {
	var s [3]uint16
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_GET_NOTIF_SIZES, 0, uintptr(unsafe.Pointer(&s[0]))); errno != 0 {
		return notifSizes{}, fmt.Errorf("seccomp notification sizes: %w", errno)
	}
	return notifSizes{s[0], s[1], s[2]}, nil
}

// proxyMsgSize is sizeof(struct seccomp_notify_proxy_msg) on 64-bit
// Linux: u64, two pid_t, three u16 (padded to 8), u64.
const proxyMsgSize = 32

// Serve answers the notifications of listener until no process uses its
// filter any more (the container is gone), then closes it. Each is
// forwarded to the proxy; a proxy that cannot be reached, or answers
// wrongly, makes the call fail with ENOSYS, as LXC's does.
func (p *Proxy) Serve(listener int) error {
	defer unix.Close(listener)
	sizes, err := kernelSizes()
	if err != nil {
		return err
	}
	if p.Timeout == 0 {
		p.Timeout = 30 * time.Second
	}
	if p.ConnectTimeout == 0 {
		p.ConnectTimeout = 3 * time.Second
	}
	conn := -1
	defer func() {
		if conn >= 0 {
			unix.Close(conn)
		}
	}()
	req := make([]byte, sizes.notif)
	for {
		fds := []unix.PollFd{{Fd: int32(listener), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if err == unix.EINTR {
				continue
			}
			return fmt.Errorf("poll the seccomp listener: %w", err)
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			return nil // POLLHUP: every process under the filter is gone
		}
		clear(req)
		if err := ioctlPtr(listener, unix.SECCOMP_IOCTL_NOTIF_RECV, unsafe.Pointer(&req[0])); err != nil {
			if err == unix.EINTR || err == unix.ENOENT {
				continue // the caller went away meanwhile
			}
			return fmt.Errorf("receive a seccomp notification: %w", err)
		}
		resp := p.forward(&conn, listener, req, sizes)
		// The kernel refuses a response to a call that is gone (ENOENT):
		// nothing is left to answer.
		_ = ioctlPtr(listener, unix.SECCOMP_IOCTL_NOTIF_SEND, unsafe.Pointer(&resp[0]))
	}
}

// response is a struct seccomp_notif_resp for notification id: val,
// error (a negative errno), flags.
func response(id uint64, val int64, errno int32, flags uint32) []byte {
	b := make([]byte, 24)
	binary.NativeEndian.PutUint64(b[0:], id)
	binary.NativeEndian.PutUint64(b[8:], uint64(val))
	binary.NativeEndian.PutUint32(b[16:], uint32(errno))
	binary.NativeEndian.PutUint32(b[20:], flags)
	return b
}

// forward sends req to the proxy (connecting first when needed) and
// returns the response to give the kernel.
func (p *Proxy) forward(conn *int, listener int, req []byte, sizes notifSizes) []byte {
	id := binary.NativeEndian.Uint64(req[0:])
	pid := binary.NativeEndian.Uint32(req[8:])
	fail := response(id, 0, -int32(unix.ENOSYS), 0)
	dir := "/proc/" + strconv.Itoa(int(pid))
	procFD, err := unix.Open(dir, unix.O_DIRECTORY|unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail
	}
	defer unix.Close(procFD)
	memFD, err := unix.Openat(procFD, "mem", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return fail
	}
	defer unix.Close(memFD)
	// Opened after the call was made: still that caller's, or the pid
	// went to another process (its call then is no longer pending).
	if err := ioctlPtr(listener, unix.SECCOMP_IOCTL_NOTIF_ID_VALID, unsafe.Pointer(&id)); err != nil {
		return fail
	}
	if *conn < 0 {
		c, err := p.dial()
		if err != nil {
			if p.Warnf != nil && err.Error() != p.lastWarn {
				// Once, not for every call while it stays so.
				p.lastWarn = err.Error()
				p.Warnf("seccomp notify proxy: %v", err)
			}
			return fail
		}
		*conn = c
	}
	msg := make([]byte, proxyMsgSize)
	binary.NativeEndian.PutUint32(msg[8:], uint32(p.MonitorPID))
	binary.NativeEndian.PutUint32(msg[12:], uint32(p.InitPID))
	binary.NativeEndian.PutUint16(msg[16:], sizes.notif)
	binary.NativeEndian.PutUint16(msg[18:], sizes.resp)
	binary.NativeEndian.PutUint16(msg[20:], sizes.data)
	binary.NativeEndian.PutUint64(msg[24:], uint64(len(p.Cookie)))
	respIn := make([]byte, sizes.resp)
	copy(respIn, response(id, 0, 0, 0))
	out := append(append(append(msg, req...), respIn...), p.Cookie...)
	rights := unix.UnixRights(procFD, memFD, listener)
	if err := unix.Sendmsg(*conn, out, rights, nil, 0); err != nil {
		// A proxy that went away is dialled again for the next call.
		unix.Close(*conn)
		*conn = -1
		return fail
	}
	in := make([]byte, len(out)+64)
	oob := make([]byte, unix.CmsgSpace(4*4))
	// CLOEXEC: what a proxy sends back is never to be inherited, not
	// even for the moment before it is closed.
	n, oobn, _, _, err := unix.Recvmsg(*conn, in, oob, unix.MSG_CMSG_CLOEXEC)
	if oobn > 0 {
		// Descriptors the proxy sent back are not used: closed.
		if cms, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, cm := range cms {
				if fds, err := unix.ParseUnixRights(&cm); err == nil {
					for _, fd := range fds {
						unix.Close(fd)
					}
				}
			}
		}
	}
	if err != nil || n == 0 {
		unix.Close(*conn)
		*conn = -1
		return fail
	}
	r := int(proxyMsgSize) + int(sizes.notif)
	if n < r+int(sizes.resp) || binary.NativeEndian.Uint64(in[0:]) != 0 {
		return fail
	}
	got := in[r : r+int(sizes.resp)]
	if binary.NativeEndian.Uint64(got[0:]) != id {
		// An answer to another call (or a confused proxy) must not
		// answer this one.
		return fail
	}
	return append([]byte(nil), got[:24]...)
}

// dial connects to the proxy, within the timeout, and checks who listens
// there: root or the container's owner, else nothing is sent.
func (p *Proxy) dial() (int, error) {
	addr, err := ProxyAddr(p.Addr)
	if err != nil {
		return -1, err
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
	if err != nil {
		return -1, err
	}
	// SO_RCVTIMEO does not bound a unix socket's connect, which waits
	// while the listener's backlog is full: a non-blocking connect, and
	// a poll for as long as the timeout.
	if err := connectWithin(fd, addr, p.ConnectTimeout); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("connect to %s: %w", p.Addr, err)
	}
	// Recorded by the kernel when the peer called listen (or connect):
	// the creator's, whatever it did since.
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("credentials of the proxy at %s: %w", p.Addr, err)
	}
	if cred.Uid != 0 && int(cred.Uid) != p.Owner {
		unix.Close(fd)
		return -1, fmt.Errorf("refused the proxy at %s: it listens as uid %d, not root or the container's owner (uid %d)", p.Addr, cred.Uid, p.Owner)
	}
	if err := unix.SetNonblock(fd, false); err != nil {
		unix.Close(fd)
		return -1, err
	}
	tv := unix.NsecToTimeval(p.Timeout.Nanoseconds())
	for _, opt := range []int{unix.SO_RCVTIMEO, unix.SO_SNDTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	return fd, nil
}

// connectWithin connects the non-blocking fd to addr, waiting at most d.
// A unix socket's connect to a listener whose backlog is full fails at
// once with EAGAIN rather than being left in progress, and poll tells
// nothing of when there will be room: it is tried again, every 10 ms.
func connectWithin(fd int, addr unix.Sockaddr, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		err := unix.Connect(fd, addr)
		switch err {
		case nil, unix.EISCONN:
			return nil
		case unix.EAGAIN, unix.EINPROGRESS, unix.EALREADY, unix.EINTR:
		default:
			return err
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("no room in its backlog after %v: %w", d, unix.ETIMEDOUT)
		}
		time.Sleep(min(10*time.Millisecond, left))
	}
}

func ioctlPtr(fd int, req uint, arg unsafe.Pointer) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), uintptr(req), uintptr(arg))
		if errno == 0 {
			return nil
		}
		if errno != unix.EINTR {
			return errno
		}
	}
}
