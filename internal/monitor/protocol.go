// Package monitor is a running container's supervisor: it spawns the
// container's init, reaps it, keeps its state, serves a command socket
// that the other tools use, restarts the container when its init reboots,
// and tears everything down when it stops.
package monitor

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/rundir"
)

// States of a container, as LXC names them.
const (
	Stopped  = "STOPPED"
	Starting = "STARTING"
	Running  = "RUNNING"
	Stopping = "STOPPING"
	Aborting = "ABORTING"
	Freezing = "FREEZING"
	Frozen   = "FROZEN"
	Thawed   = "THAWED"
)

// ProtocolVersion is sent with every request. Commands are append-only: a
// command whose payload changes gets a new name, so old clients keep
// working against new monitors and the other way round.
const ProtocolVersion = 1

// Request is one command to the monitor, one JSON object on one line.
type Request struct {
	Version int    `json:"v"`
	Command string `json:"cmd"`
	// Signal for "stop" and "reboot" (the container's halt or reboot
	// signal); for "kill" always SIGKILL.
	Signal int `json:"signal,omitempty"`
	// DetectHalt for "stop": the config set no lxc.signal.halt, so, as
	// LXC, init gets SIGRTMIN+3 instead of Signal when it blocks that
	// signal (systemd does, and ignores SIGPWR).
	DetectHalt bool `json:"detect_halt,omitempty"`
	// TimeoutMS for "stop": how long init may take to halt before it is
	// killed (-1: forever, 0: kill at once); for "reboot" and "wait": how
	// long to wait.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// NoWait for "stop" and "reboot": answer once the signal is sent.
	NoWait bool `json:"nowait,omitempty"`
	// States for "wait": answer once the container is in one of them.
	States []string `json:"states,omitempty"`
	// TTY for "console": the tty to attach to, 0 for the console, -1
	// for the first free one.
	TTY int `json:"tty,omitempty"`
	// Clear for "console-buffer": empty the ring buffer once read.
	Clear bool `json:"clear,omitempty"`
	// History for "watch": start with every state change the monitor
	// recorded since it began (a container found just after it started
	// has its STARTING told too); without it, with the current state.
	History bool `json:"history,omitempty"`
}

// Response is the monitor's one-line answer.
type Response struct {
	Error   string            `json:"error,omitempty"`
	State   string            `json:"state,omitempty"`
	Pid     int               `json:"pid,omitempty"`
	Cgroups map[string]string `json:"cgroups,omitempty"`
	// Cgroup is the container's cgroup directory name in every hierarchy.
	Cgroup string `json:"cgroup,omitempty"`
	// InitCgroup is where init sits when that is a sub-cgroup of Cgroup
	// (lxc.cgroup.dir.container.inner); attached processes go there too.
	InitCgroup string `json:"initCgroup,omitempty"`
	// Started is when init was exec'd (Unix ns), to tell restarts apart.
	Started int64 `json:"started,omitempty"`
	// Exit is init's wait status once it has exited.
	Exit int `json:"exit,omitempty"`
	// For "seccomp": how the container's init was confined when it
	// started (its config on disk may have changed since), for
	// lxc-attach to confine what it runs alike. Seccomp is the system call
	// filter, as seccomp.Encode packs it (none: no filter);
	// SeccompNesting its lxc.seccomp.allow_nesting; NoNewPrivs
	// lxc.no_new_privs.
	Seccomp        []byte `json:"seccomp,omitempty"`
	SeccompNesting bool   `json:"seccomp_nesting,omitempty"`
	NoNewPrivs     bool   `json:"no_new_privs,omitempty"`
	// TTY for "console": the tty attached.
	TTY int `json:"tty,omitempty"`
	// Buffer for "console-buffer": the console ring buffer's contents.
	Buffer []byte `json:"buffer,omitempty"`
	// Seq numbers the state changes of "watch" (1 is the first), so a
	// client can tell that it has seen each once.
	Seq uint64 `json:"seq,omitempty"`
	// Time of a "watch" state change (Unix ns).
	Time int64 `json:"time,omitempty"`
}

// maxRequest bounds a request line: a client cannot make the monitor
// buffer without end. Requests are a few dozen bytes.
const maxRequest = 8 << 10

// SocketDir is the directory of the monitors' command sockets. For root
// it is /run/golxc/sock, mode 0700: no other user can connect to a
// monitor, bind a socket a tool would take for one, or see which
// containers run, and a container, whose mount namespace does not have
// the host's /run, cannot reach it even when it shares the host's network
// namespace (abstract sockets, which golxc used before, are reachable from
// any process in the network namespace). Another user's golxc keeps its
// sockets under its own runtime directory.
func SocketDir() string { return rundir.Sub("sock") }

// SocketPath is the command socket of a container's monitor: a fixed-size
// name (sun_path holds 108 bytes, an lxcpath may be longer). FNV, not a
// cryptographic hash: only the directory's owner names containers, and
// every tool pays for what it links in at start-up.
func SocketPath(lxcpath, name string) string {
	h := fnv.New128a()
	h.Write([]byte(filepath.Clean(lxcpath) + "/" + name))
	return filepath.Join(SocketDir(), hex.EncodeToString(h.Sum(nil)))
}

// PrepareSocketDir makes SocketDir (and its parent) if need be and checks
// that both are directories of this user that nobody else can write, and
// that the socket directory is closed to everyone else: a directory that a
// local user made or replaced with a symlink first must not be used.
func PrepareSocketDir() (string, error) { return rundir.Prepare("sock") }

// Listen binds the command socket at path, removing a stale socket a dead
// monitor left. The caller must hold the container's lock: that is what
// makes the file stale rather than another monitor's.
func Listen(path string) (*net.UnixListener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale command socket %s: %w", path, err)
	}
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listen on command socket %s: %w", path, err)
	}
	return ln, nil
}

func peerCredFD(fd int) (*unix.Ucred, error) {
	cred, err := unix.GetsockoptUcred(fd, unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return nil, fmt.Errorf("SO_PEERCRED: %w", err)
	}
	return cred, nil
}

// withFD runs f on c's descriptor.
func withFD(c *net.UnixConn, f func(fd int) error) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// CheckPeer says whether the process at the other end of c may command,
// or answer for, golxc's monitors: root (or the user this tool runs as),
// in this process's pid namespace. A container started on the host's root
// filesystem (no lxc.rootfs.path) sees the socket directory and its root
// is uid 0: its own pid namespace tells it apart.
func CheckPeer(c *net.UnixConn) error {
	return withFD(c, checkPeerFD)
}

// checkPeerFD is CheckPeer of a connected socket's descriptor.
func checkPeerFD(fd int) error {
	cred, err := peerCredFD(fd)
	if err != nil {
		return err
	}
	if cred.Uid != 0 && int(cred.Uid) != os.Geteuid() {
		return fmt.Errorf("peer is uid %d (pid %d), not root", cred.Uid, cred.Pid)
	}
	same, err := peerInOwnPidNS(fd, int(cred.Pid))
	if err != nil {
		return fmt.Errorf("peer pid %d: %w", cred.Pid, err)
	}
	if !same {
		return fmt.Errorf("peer pid %d is in another pid namespace (a container's)", cred.Pid)
	}
	return nil
}

// pidfdGetPidNamespace is PIDFD_GET_PID_NAMESPACE (linux/pidfd.h, 6.11):
// a descriptor of the pid namespace of the pidfd's process.
const pidfdGetPidNamespace = 0xFF05

// peerInOwnPidNS compares the pid namespace of the peer of socket fd
// with this process's: through the peer's pidfd (SO_PEERPIDFD, 6.5) where
// the kernel has both, so no pid can be recycled in between; else through
// /proc/<pid>, which the pid of a peer that is still connected names.
func peerInOwnPidNS(fd, pid int) (bool, error) {
	var own unix.Stat_t
	if err := unix.Stat("/proc/self/ns/pid", &own); err != nil {
		return false, fmt.Errorf("own pid namespace: %w", err)
	}
	var peer unix.Stat_t
	err := peerPidNS(fd, &peer)
	if errors.Is(err, unix.ENOPROTOOPT) || errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL) {
		err = unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/pid", &peer)
	}
	if err != nil {
		return false, fmt.Errorf("pid namespace: %w", err)
	}
	return peer.Dev == own.Dev && peer.Ino == own.Ino, nil
}

// peerPidNS stats the pid namespace of the peer of socket fd through its
// pidfd.
func peerPidNS(fd int, st *unix.Stat_t) error {
	pidfd, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_PEERPIDFD)
	if err != nil {
		return err
	}
	defer unix.Close(pidfd)
	ns, err := unix.IoctlRetInt(pidfd, pidfdGetPidNamespace)
	if err != nil {
		return err
	}
	defer unix.Close(ns)
	return unix.Fstat(ns, st)
}

// ErrNotRunning says no monitor answers: the container is stopped.
var ErrNotRunning = errors.New("not running")

// Conn is a client connection to a monitor.
type Conn struct {
	c *net.UnixConn
	r *bufio.Reader
}

// Dial connects to a container's monitor; ErrNotRunning when none listens.
// The server's credentials are checked before anything is sent: only root
// (or this user) can have bound the socket, and a tool must never take a
// state, a pid or a pidfd from anyone else.
func Dial(lxcpath, name string) (*Conn, error) {
	return DialPath(SocketPath(lxcpath, name), name)
}

// DialPath is Dial of the socket at path, for the container (or, for the
// shared monitor, the role) what.
func DialPath(path, what string) (*Conn, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		if errors.Is(err, unix.ECONNREFUSED) || errors.Is(err, unix.ENOENT) {
			return nil, ErrNotRunning
		}
		return nil, fmt.Errorf("connect to monitor of %s: %w", what, err)
	}
	if err := CheckPeer(c); err != nil {
		c.Close()
		return nil, peerError(err, path, what)
	}
	return &Conn{c: c, r: bufio.NewReaderSize(c, 4096)}, nil
}

// UnixConn is the connection's socket (the shared monitor sends a lock
// descriptor over it).
func (c *Conn) UnixConn() *net.UnixConn { return c.c }

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// Call sends one request and reads its response. A deadline of zero waits
// for ever.
func (c *Conn) Call(req Request, deadline time.Time) (*Response, error) {
	b, err := requestLine(req)
	if err != nil {
		return nil, err
	}
	_ = c.c.SetDeadline(deadline)
	if _, err := c.c.Write(b); err != nil {
		return nil, fmt.Errorf("send %s to monitor: %w", req.Command, err)
	}
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("read monitor's answer to %s: %w", req.Command, err)
	}
	return responseOf(line, req.Command)
}

// WaitClosed waits until the monitor hangs up: it does so only by
// exiting, and with that its lock and every resource are released.
func (c *Conn) WaitClosed(timeout time.Duration) {
	_ = c.c.SetReadDeadline(time.Now().Add(timeout))
	_, _ = io.Copy(io.Discard, c.r)
}

// Watch sends "watch" and calls fn with each state change the monitor
// tells, in order, until fn returns false, the monitor has told STOPPED
// (it has nothing more to say) or the connection ends. A monitor that
// hangs up without telling STOPPED has exited: the error is io.EOF.
// The deadline (zero: none) bounds the whole watch.
func (c *Conn) Watch(history bool, deadline time.Time, fn func(*Response) bool) error {
	b, _ := json.Marshal(Request{Version: ProtocolVersion, Command: "watch", History: history})
	_ = c.c.SetDeadline(deadline)
	if _, err := c.c.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("send watch to monitor: %w", err)
	}
	for {
		line, err := c.r.ReadBytes('\n')
		if err != nil {
			if errors.Is(err, unix.ECONNRESET) {
				err = io.EOF
			}
			return err
		}
		var resp Response
		if err := json.Unmarshal(line, &resp); err != nil {
			return fmt.Errorf("decode monitor's state change: %w", err)
		}
		if resp.Error != "" {
			return errors.New(resp.Error)
		}
		if !fn(&resp) || resp.State == Stopped {
			return nil
		}
	}
}

// PidFD asks the monitor for a pidfd of the container's init, passed over
// the socket, so that a recycled pid can never be mistaken for it.
func (c *Conn) PidFD() (int, *Response, error) {
	req := Request{Version: ProtocolVersion, Command: "pidfd"}
	b, _ := json.Marshal(req)
	if _, err := c.c.Write(append(b, '\n')); err != nil {
		return -1, nil, fmt.Errorf("send pidfd to monitor: %w", err)
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := c.c.ReadMsgUnix(buf, oob)
	if err != nil {
		return -1, nil, fmt.Errorf("read monitor's pidfd: %w", err)
	}
	fd := -1
	if oobn > 0 {
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if fds, err := unix.ParseUnixRights(&m); err == nil && len(fds) > 0 {
					fd = fds[0]
					for _, extra := range fds[1:] {
						unix.Close(extra)
					}
				}
			}
		}
	}
	var resp Response
	if err := json.Unmarshal(buf[:n], &resp); err != nil {
		if fd >= 0 {
			unix.Close(fd)
		}
		return -1, nil, fmt.Errorf("decode monitor's pidfd answer: %w", err)
	}
	if resp.Error != "" || fd < 0 {
		if fd >= 0 {
			unix.Close(fd)
		}
		if resp.Error == "" {
			resp.Error = "monitor sent no pidfd"
		}
		return -1, &resp, errors.New(resp.Error)
	}
	unix.CloseOnExec(fd)
	return fd, &resp, nil
}

// Ask dials, sends one request and closes: the common case. A monitor
// that hangs up without answering is exiting (it hangs up on nothing
// else a well-formed request can cause): that is ErrNotRunning too.
// The socket is a blocking one of its own, outside the runtime's poller:
// a tool asking one question pays neither the poller's set-up nor a
// hand-over between threads for the answer.
func Ask(lxcpath, name string, req Request, deadline time.Time) (*Response, error) {
	r, err := askBlocking(SocketPath(lxcpath, name), name, req, deadline)
	if r == nil && (errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE)) {
		return nil, ErrNotRunning
	}
	return r, err
}

// Console asks the monitor for tty n of the container (0: the console,
// -1: the first free tty): the tty's master, and for the console a pipe
// of its output (nil otherwise: read the master). The tty is the
// caller's until it closes the connection; the monitor closes it when
// the container stops.
func (c *Conn) Console(n int) (master, output *os.File, resp *Response, err error) {
	req := Request{Version: ProtocolVersion, Command: "console", TTY: n}
	b, _ := json.Marshal(req)
	if _, err := c.c.Write(append(b, '\n')); err != nil {
		return nil, nil, nil, fmt.Errorf("send console to monitor: %w", err)
	}
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(2*4))
	nr, oobn, _, _, err := c.c.ReadMsgUnix(buf, oob)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read monitor's console answer: %w", err)
	}
	var fds []int
	if oobn > 0 {
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if got, err := unix.ParseUnixRights(&m); err == nil {
					fds = append(fds, got...)
				}
			}
		}
	}
	closeAll := func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}
	resp = new(Response)
	if err := json.Unmarshal(buf[:nr], resp); err != nil {
		closeAll()
		return nil, nil, nil, fmt.Errorf("decode monitor's console answer: %w", err)
	}
	if resp.Error != "" {
		closeAll()
		return nil, nil, resp, errors.New(resp.Error)
	}
	if len(fds) < 1 || len(fds) > 2 || n == 0 && len(fds) != 2 {
		closeAll()
		return nil, nil, resp, fmt.Errorf("monitor sent %d descriptors for tty %d", len(fds), resp.TTY)
	}
	for _, fd := range fds {
		unix.CloseOnExec(fd)
	}
	master = os.NewFile(uintptr(fds[0]), "tty master")
	if len(fds) == 2 {
		output = os.NewFile(uintptr(fds[1]), "console output")
	}
	return master, output, resp, nil
}
