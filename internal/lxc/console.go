package lxc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
)

// consoleOptions turns the lxc.console.* keys into what the monitor
// applies. lxc-execute's console is the command's terminal: it has no
// lxc.console.path to attach.
func consoleOptions(cfg *config.Config, execute bool) (monitor.ConsoleOptions, error) {
	var o monitor.ConsoleOptions
	if !execute && cfg.ConsolePath != "none" && cfg.ConsolePath != "" {
		o.Path = cfg.ConsolePath
		if !filepath.IsAbs(o.Path) {
			return o, fmt.Errorf("lxc.console.path = %s: want none or an absolute path of the host", cfg.ConsolePath)
		}
	}
	var err error
	if cfg.Console.Size != "" {
		if o.LogSize, err = config.ByteSize(cfg.Console.Size); err != nil {
			return o, fmt.Errorf("lxc.console.size = %s: %w", cfg.Console.Size, err)
		}
	}
	if cfg.Console.BufferSize != "" {
		if o.BufferSize, err = config.ByteSize(cfg.Console.BufferSize); err != nil {
			return o, fmt.Errorf("lxc.console.buffer.size = %s: %w", cfg.Console.BufferSize, err)
		}
	}
	o.LogRotate = cfg.Console.Rotate
	return o, nil
}

// ConsoleOptions says which tty lxc-console attaches and to what.
type ConsoleOptions struct {
	TTY    int  // 0: the console; -1: the first free tty
	Escape byte // the escape prefix (Ctrl-a is 1)
	In     *os.File
	Out    io.Writer
	// Notice gets the "Connected to tty N" lines; nil for none (-q).
	Notice io.Writer
	// Idle is how long, once In is at its end, output is still relayed
	// after the last byte came (a script's last command has to answer).
	Idle time.Duration
}

// Console attaches In and Out to one of the container's ttys until the
// escape sequence (prefix, then q) is typed, the tty goes away (the
// container stops or reboots), or In ends and the tty has been quiet for
// Idle. A terminal on In is put in raw mode for the time and restored on
// every way out; its window size is passed on, on every SIGWINCH.
func (c *Container) Console(o ConsoleOptions) error {
	conn, err := c.dial()
	if errors.Is(err, monitor.ErrNotRunning) {
		return &ErrNotRunning{Name: c.Name}
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	master, output, resp, err := conn.Console(o.TTY)
	if err != nil {
		return err
	}
	defer master.Close()
	if output != nil {
		defer output.Close()
	} else {
		// A master reads EIO while no slave is open: before the tty's
		// getty has opened it, or between two of them. Holding one here
		// keeps the session up until the monitor says the tty is gone.
		r, _, errno := unix.Syscall(unix.SYS_IOCTL, master.Fd(), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
		if errno != 0 {
			return fmt.Errorf("open tty %d's slave: %w", resp.TTY, errno)
		}
		slave := os.NewFile(r, "tty slave")
		defer slave.Close()
		output = master
	}
	p := &consoleProxy{master: master, escape: o.Escape, done: make(chan struct{})}
	tty := isTTY(o.In)
	if tty {
		restore := rawTerminal(o.In)
		defer restore()
	}
	if o.Notice != nil {
		// After raw mode, as LXC prints it: the line ends are its own.
		esc := escapeName(o.Escape)
		fmt.Fprintf(o.Notice, "\r\nConnected to tty %d\r\nType <%s q> to exit the console, <%s %s> to enter %s itself\r\n", resp.TTY, esc, esc, esc, esc)
	}
	if tty {
		// A signal that would end this process ends the session instead,
		// so that the terminal is restored: raw mode turns the keys that
		// send them into bytes for the container, but kill(1) still can.
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT)
		defer signal.Stop(sigs)
		go func() {
			if _, ok := <-sigs; ok {
				p.finish()
			}
		}()
		winch := make(chan os.Signal, 1)
		signal.Notify(winch, syscall.SIGWINCH)
		defer signal.Stop(winch)
		p.copySize(o.In)
		go func() {
			for {
				select {
				case <-winch:
					p.copySize(o.In)
				case <-p.done:
					return
				}
			}
		}()
	}
	// The monitor hangs up when the tty is gone: the container stopped or
	// its init was restarted.
	go func() {
		conn.WaitClosed(365 * 24 * time.Hour)
		p.finish()
	}()
	lastOut := make(chan struct{}, 1)
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := output.Read(buf)
			if n > 0 {
				if _, werr := o.Out.Write(buf[:n]); werr != nil {
					break
				}
				select {
				case lastOut <- struct{}{}:
				default:
				}
			}
			if err != nil {
				// EIO: every slave is closed, the container is gone.
				break
			}
		}
		p.finish()
	}()
	go func() {
		p.forwardInput(o.In, tty)
		if tty {
			return // a terminal at its end: wait for the escape or the stop
		}
		// A script's input is done: relay what the tty still says.
		idle := o.Idle
		if idle <= 0 {
			idle = time.Second
		}
		t := time.NewTimer(idle)
		defer t.Stop()
		for {
			select {
			case <-lastOut:
				t.Reset(idle)
			case <-t.C:
				p.finish()
				return
			case <-p.done:
				return
			}
		}
	}()
	<-p.done
	if tty && o.Notice != nil {
		fmt.Fprint(o.Notice, "\r\n")
	}
	return nil
}

// consoleProxy is one lxc-console session.
type consoleProxy struct {
	master   *os.File
	escape   byte
	sawEsc   bool
	done     chan struct{}
	doneOnce sync.Once
}

func (p *consoleProxy) finish() { p.doneOnce.Do(func() { close(p.done) }) }

// forwardInput copies in to the tty. With the escape prefix, the next
// byte q ends the session, and any other byte (the prefix itself
// included) is sent alone, as lxc-console(1) describes.
func (p *consoleProxy) forwardInput(in *os.File, tty bool) {
	buf := make([]byte, 4096)
	for {
		n, err := in.Read(buf)
		if n > 0 {
			out := make([]byte, 0, n)
			for _, b := range buf[:n] {
				switch {
				case p.sawEsc:
					p.sawEsc = false
					if b == 'q' {
						_, _ = p.master.Write(out)
						p.finish()
						return
					}
					out = append(out, b)
				case b == p.escape:
					p.sawEsc = true
				default:
					out = append(out, b)
				}
			}
			if len(out) > 0 {
				if _, err := p.master.Write(out); err != nil {
					p.finish()
					return
				}
			}
		}
		if err != nil {
			return
		}
		select {
		case <-p.done:
			return
		default:
		}
	}
}

// copySize gives the tty the window size of the caller's terminal; the
// kernel signals the tty's foreground processes (SIGWINCH).
func (p *consoleProxy) copySize(term *os.File) {
	ws, err := unix.IoctlGetWinsize(int(term.Fd()), unix.TIOCGWINSZ)
	if err != nil {
		return
	}
	if rc, err := p.master.SyscallConn(); err == nil {
		_ = rc.Control(func(fd uintptr) { _ = unix.IoctlSetWinsize(int(fd), unix.TIOCSWINSZ, ws) })
	}
}

// escapeName is how lxc-console names the escape prefix: Ctrl+a for 1.
func escapeName(b byte) string {
	if b >= 1 && b <= 26 {
		return "Ctrl+" + string(rune('a'+b-1))
	}
	return string(rune(b))
}

// ParseEscape reads lxc-console -e: "^b" is Ctrl+b, a single character
// is itself, as lxc-console(1) says.
func ParseEscape(s string) (byte, error) {
	if len(s) == 2 && s[0] == '^' {
		b := s[1] | 0x20
		if b >= 'a' && b <= 'z' {
			return b - 'a' + 1, nil
		}
	}
	if len(s) != 1 {
		return 0, fmt.Errorf("escape %q: want ^ and a letter, or one character", s)
	}
	return s[0], nil
}

// ConsoleBuffer returns the console ring buffer (lxc.console.buffer.size)
// the monitor keeps, emptying it when clear is set.
func (c *Container) ConsoleBuffer(clear bool) ([]byte, error) {
	r, err := c.ask(monitor.Request{Command: "console-buffer", Clear: clear}, time.Now().Add(10*time.Second))
	if errors.Is(err, monitor.ErrNotRunning) {
		return nil, &ErrNotRunning{Name: c.Name}
	}
	if err != nil {
		return nil, err
	}
	return r.Buffer, nil
}
