package lxc

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"golxc/internal/cgroup"
	"golxc/internal/monitor"
)

// The shared monitor. By default every running container has a monitor
// process of its own, as LXC has; a Go process costs about 1.3 MiB of
// private memory, against LXC's 0.4 MiB C monitor. With
// GOLXC_SHARED_MONITOR=1, lxc-start -d hands the container to one process
// per lxcpath that runs the same per-container monitor code for all of
// them: each more container costs its goroutines and buffers only. The
// price is the blast radius: if that process dies, every container it
// supervises dies with it (as each would with its own monitor).

// SupervisorArg is argv[1] of the shared monitor process.
const SupervisorArg = "__supervisor"

// SharedMonitorEnv set to "1" makes lxc-start -d use the shared monitor.
const SharedMonitorEnv = "GOLXC_SHARED_MONITOR"

// supervisorName is the socket name of the shared monitor: not a valid
// container name, so it cannot clash with one.
const supervisorName = ".shared"

// supervisorIdle is how long a shared monitor with nothing to supervise
// stays, so that a stop and a start do not pay for a new process.
const supervisorIdle = 2 * time.Second

func supervisorAddr(lxcpath string) *net.UnixAddr {
	return &net.UnixAddr{Name: monitor.SocketAddr(lxcpath, supervisorName), Net: "unix"}
}

// startShared hands the start request and the container's lock to the
// lxcpath's shared monitor, starting that process first if none runs.
func (c *Container) startShared(req *startRequest, lock *Lock, pidFile string) error {
	if pidFile != "" {
		// Its pid is every container's monitor: a pid file meant for one
		// container would let a kill stop them all.
		return fmt.Errorf("-p is not supported with the shared monitor (%s=1)", SharedMonitorEnv)
	}
	b, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode start request: %w", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	spawned := false
	for {
		conn, err := net.DialUnix("unix", nil, supervisorAddr(c.LXCPath))
		if err == nil {
			err := handStart(conn, b, lock)
			conn.Close()
			if !errors.Is(err, errHungUp) {
				return err
			}
			// Closed while our connection waited in its backlog (it was
			// going idle): a new one is needed.
			spawned = false
		}
		if !spawned {
			if err := spawnSupervisor(c.LXCPath); err != nil {
				return err
			}
			spawned = true
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the shared monitor of %s does not answer", c.LXCPath)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// errHungUp says the shared monitor closed the connection without reading
// the request: it was shutting down.
var errHungUp = errors.New("the shared monitor hung up")

// handStart sends one start request with the lock's descriptor and reads
// the answer: "OK" once the container runs, "ACK" first once the request
// is taken (so a hang-up before it means "not taken"), or "ERR <reason>".
func handStart(conn *net.UnixConn, req []byte, lock *Lock) error {
	if _, _, err := conn.WriteMsgUnix(append(req, '\n'), unix.UnixRights(int(lock.File().Fd())), nil); err != nil {
		return errHungUp
	}
	r := bufio.NewReader(conn)
	line, err := r.ReadString('\n')
	if strings.TrimSpace(line) != "ACK" {
		return errHungUp
	}
	line, err = r.ReadString('\n')
	line = strings.TrimSpace(line)
	switch {
	case line == "OK":
		return nil
	case strings.HasPrefix(line, "ERR "):
		return errors.New(strings.TrimPrefix(line, "ERR "))
	default:
		return fmt.Errorf("the shared monitor hung up before the container started (%v)", err)
	}
}

func spawnSupervisor(lxcpath string) error {
	cmd := exec.Command("/proc/self/exe", SupervisorArg, lxcpath)
	cmd.Args[0] = "[lxc monitor] " + lxcpath + " (shared)"
	cmd.Env = []string{"PATH=" + defaultPath, "GOMAXPROCS=1"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start the shared monitor: %w", err)
	}
	// It outlives this tool; PID 1 reaps it.
	return cmd.Process.Release()
}

// RunSupervisor is the body of the shared monitor of lxcpath. It serves
// start requests until it has had nothing to supervise for a while.
func RunSupervisor(lxcpath string) int {
	_ = os.Chdir("/")
	ln, err := net.ListenUnix("unix", supervisorAddr(lxcpath))
	if err != nil {
		return 1 // another one won the race: the clients use it
	}
	// Out of the caller's cgroup, as a per-container monitor is: the end
	// of the session that started the first container must not take
	// every container with it.
	if layout, err := cgroup.Detect(); err == nil {
		if g, err := layout.CreateGroup("lxc.monitor.", "golxc-shared"); err == nil {
			if err := g.Enter(os.Getpid()); err == nil {
				defer func() {
					_ = layout.EnterBase(os.Getpid())
					_ = g.Destroy()
				}()
			} else {
				_ = g.Destroy()
			}
		}
	}
	var (
		mu     sync.Mutex
		active int
		idle   = make(chan struct{}, 1)
		served = make(chan struct{})
	)
	// Idle from the start: if the lxc-start that spawned it never
	// connects, it must not live for ever.
	idle <- struct{}{}
	go func() {
		defer close(served)
		for {
			conn, err := ln.AcceptUnix()
			if err != nil {
				return
			}
			mu.Lock()
			active++
			mu.Unlock()
			go func() {
				serveStart(conn)
				mu.Lock()
				active--
				if active == 0 {
					select {
					case idle <- struct{}{}:
					default:
					}
				}
				mu.Unlock()
				debug.FreeOSMemory()
			}()
		}
	}()
	for {
		<-idle
		time.Sleep(supervisorIdle)
		mu.Lock()
		if active == 0 {
			ln.Close()
			mu.Unlock()
			break
		}
		mu.Unlock()
	}
	<-served
	// Requests accepted just before the close are served to the end.
	for {
		mu.Lock()
		n := active
		mu.Unlock()
		if n == 0 {
			return 0
		}
		<-idle
	}
}

// serveStart runs one container, from its start request to its stop.
func serveStart(conn *net.UnixConn) {
	defer conn.Close()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
	if err != nil || oobn == 0 {
		return
	}
	var fds []int
	if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
		for _, m := range msgs {
			if got, err := unix.ParseUnixRights(&m); err == nil {
				fds = append(fds, got...)
			}
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return
	}
	data := buf[:n]
	r := bufio.NewReader(conn)
	for !strings.Contains(string(data), "\n") {
		more, err := r.ReadBytes('\n')
		data = append(data, more...)
		if err != nil {
			break
		}
	}
	var req startRequest
	if err := json.Unmarshal(data, &req); err != nil {
		unix.Close(fds[0])
		fmt.Fprintf(conn, "ERR decode start request: %v\n", err)
		return
	}
	req.Shared = true
	if _, err := fmt.Fprintln(conn, "ACK"); err != nil {
		unix.Close(fds[0])
		return
	}
	c := &Container{Name: req.Name, LXCPath: req.LXCPath}
	lock := &Lock{f: os.NewFile(uintptr(fds[0]), c.lockPath())}
	defer func() {
		if !c.Defined() {
			lock.remove()
		}
		lock.Release()
	}()
	ready := func(err error) {
		if err != nil {
			fmt.Fprintf(conn, "ERR %s\n", strings.ReplaceAll(err.Error(), "\n", " "))
		} else {
			fmt.Fprintln(conn, "OK")
		}
		conn.Close()
	}
	_, _ = runMonitor(&req, nil, nil, ready)
}
