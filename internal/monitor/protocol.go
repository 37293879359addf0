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
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
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
	// TimeoutMS for "stop": how long init may take to halt before it is
	// killed (-1: forever, 0: kill at once); for "reboot" and "wait": how
	// long to wait.
	TimeoutMS int64 `json:"timeout_ms,omitempty"`
	// NoWait for "stop" and "reboot": answer once the signal is sent.
	NoWait bool `json:"nowait,omitempty"`
	// States for "wait": answer once the container is in one of them.
	States []string `json:"states,omitempty"`
}

// Response is the monitor's one-line answer.
type Response struct {
	Error   string            `json:"error,omitempty"`
	State   string            `json:"state,omitempty"`
	Pid     int               `json:"pid,omitempty"`
	Cgroups map[string]string `json:"cgroups,omitempty"`
	// Cgroup is the container's cgroup directory name in every hierarchy.
	Cgroup string `json:"cgroup,omitempty"`
	// Started is when init was exec'd (Unix ns), to tell restarts apart.
	Started int64 `json:"started,omitempty"`
	// Exit is init's wait status once it has exited.
	Exit int `json:"exit,omitempty"`
}

// maxRequest bounds a request line: a client cannot make the monitor
// buffer without end.
const maxRequest = 64 << 10

// SocketAddr is the abstract unix socket of a container's monitor.
// Abstract sockets vanish with their owner, so a crashed monitor leaves no
// stale file to trip over; long names are hashed to fit sun_path.
func SocketAddr(lxcpath, name string) string {
	full := filepath.Clean(lxcpath) + "/" + name + "/command"
	addr := "@golxc" + full
	if len(addr) > 100 {
		// FNV, not a cryptographic hash: only root names containers, and
		// every tool pays for what it links in at start-up.
		h := fnv.New128a()
		h.Write([]byte(full))
		addr = "@golxc/" + hex.EncodeToString(h.Sum(nil))
	}
	return addr
}

// ErrNotRunning says no monitor answers: the container is stopped.
var ErrNotRunning = errors.New("not running")

// Conn is a client connection to a monitor.
type Conn struct {
	c *net.UnixConn
	r *bufio.Reader
}

// Dial connects to a container's monitor; ErrNotRunning when none listens.
func Dial(lxcpath, name string) (*Conn, error) {
	c, err := net.DialUnix("unix", nil, &net.UnixAddr{Name: SocketAddr(lxcpath, name), Net: "unix"})
	if err != nil {
		if errors.Is(err, unix.ECONNREFUSED) || errors.Is(err, unix.ENOENT) {
			return nil, ErrNotRunning
		}
		return nil, fmt.Errorf("connect to monitor of %s: %w", name, err)
	}
	return &Conn{c: c, r: bufio.NewReaderSize(c, 4096)}, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.c.Close() }

// Call sends one request and reads its response. A deadline of zero waits
// for ever.
func (c *Conn) Call(req Request, deadline time.Time) (*Response, error) {
	req.Version = ProtocolVersion
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	_ = c.c.SetDeadline(deadline)
	if _, err := c.c.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("send %s to monitor: %w", req.Command, err)
	}
	line, err := c.r.ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("read monitor's answer to %s: %w", req.Command, err)
	}
	var resp Response
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("decode monitor's answer to %s: %w", req.Command, err)
	}
	if resp.Error != "" {
		return &resp, errors.New(resp.Error)
	}
	return &resp, nil
}

// WaitClosed waits until the monitor hangs up: it does so only by
// exiting, and with that its lock and every resource are released.
func (c *Conn) WaitClosed(timeout time.Duration) {
	_ = c.c.SetReadDeadline(time.Now().Add(timeout))
	_, _ = io.Copy(io.Discard, c.r)
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
func Ask(lxcpath, name string, req Request, deadline time.Time) (*Response, error) {
	c, err := Dial(lxcpath, name)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	r, err := c.Call(req, deadline)
	if r == nil && (errors.Is(err, io.EOF) || errors.Is(err, unix.ECONNRESET) || errors.Is(err, unix.EPIPE)) {
		return nil, ErrNotRunning
	}
	return r, err
}
