package monitor

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ConsoleOptions are the lxc.console.* keys the monitor applies.
type ConsoleOptions struct {
	// Path (lxc.console.path) is a host device or file the console is
	// attached to instead of a terminal: a character device gets the
	// console's output and gives it its input; anything else gets the
	// output only. "" is the default pty; "none" never reaches the
	// monitor (the container then has no console at all).
	Path string `json:"path,omitempty"`
	// LogSize (lxc.console.size) caps the console log; 0 for no cap.
	LogSize int64 `json:"logSize,omitempty"`
	// LogRotate (lxc.console.rotate) keeps the full log as FILE.1 when
	// the cap is reached, instead of truncating it.
	LogRotate bool `json:"logRotate,omitempty"`
	// BufferSize (lxc.console.buffer.size) is the ring buffer of the
	// console's latest output the monitor keeps; 0 for none.
	BufferSize int64 `json:"bufferSize,omitempty"`
}

// pageSize is the least size of the log cap and of the ring buffer, as in
// lxc.container.conf(5).
const pageSize = 4096

// ringBuffer keeps the last size bytes written to it.
type ringBuffer struct {
	mu   sync.Mutex
	buf  []byte
	next int  // where the next byte goes
	full bool // buf has wrapped: its oldest byte is at next
}

func newRingBuffer(size int64) *ringBuffer {
	return &ringBuffer{buf: make([]byte, max(size, pageSize))}
}

func (r *ringBuffer) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	if len(p) > len(r.buf) {
		p = p[len(p)-len(r.buf):]
	}
	for len(p) > 0 {
		c := copy(r.buf[r.next:], p)
		p = p[c:]
		r.next += c
		if r.next == len(r.buf) {
			r.next, r.full = 0, true
		}
	}
	return n, nil
}

// Read returns what the buffer holds, oldest first, and empties it when
// clear is set.
func (r *ringBuffer) Read(clear bool) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []byte
	if r.full {
		out = append(append(out, r.buf[r.next:]...), r.buf[:r.next]...)
	} else {
		out = append(out, r.buf[:r.next]...)
	}
	if clear {
		r.next, r.full = 0, false
	}
	return out
}

// sizedLog is the console log file with lxc.console.size: when a write
// would pass the cap, the file starts over, its old contents kept as
// FILE.1 with lxc.console.rotate, else dropped (truncated).
type sizedLog struct {
	path   string
	f      *os.File
	size   int64 // what the file holds
	limit  int64
	rotate bool
}

// OpenAppend opens (or makes) the log file path for appending, as root
// writes logs: never through a link at its last component (a container's
// root or a user who can write the directory could point it at a host
// file), never a FIFO or device (a FIFO with no reader would block the
// monitor): only a regular file.
func OpenAppend(path string, perm uint32) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_APPEND|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, perm)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		unix.Close(fd)
		return nil, fmt.Errorf("open %s: not a regular file", path)
	}
	// Writes to a regular file do not block: clear O_NONBLOCK all the same.
	_ = unix.SetNonblock(fd, false)
	return os.NewFile(uintptr(fd), path), nil
}

// createExcl makes path anew, refusing whatever another party put there
// in between (a link, a FIFO): removed once, then made with O_EXCL.
func createExcl(path string, perm uint32) (*os.File, error) {
	for try := 0; ; try++ {
		fd, err := unix.Open(path, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_APPEND|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
		}
		if err != unix.EEXIST || try > 0 {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
		if err := unix.Unlink(path); err != nil && err != unix.ENOENT {
			return nil, fmt.Errorf("create %s: %w", path, err)
		}
	}
}

func openSizedLog(path string, limit int64, rotate bool) (*sizedLog, error) {
	f, err := OpenAppend(path, 0o600)
	if err != nil {
		return nil, err
	}
	l := &sizedLog{path: path, f: f, limit: limit, rotate: rotate}
	if limit > 0 {
		l.limit = max(limit, pageSize)
		if st, err := f.Stat(); err == nil {
			l.size = st.Size()
		}
	}
	return l, nil
}

func (l *sizedLog) Write(p []byte) (int, error) {
	n := len(p)
	if l.limit > 0 {
		if int64(len(p)) > l.limit {
			// Only the end of a burst longer than the cap can be kept.
			p = p[int64(len(p))-l.limit:]
		}
		if l.size+int64(len(p)) > l.limit {
			if err := l.startOver(); err != nil {
				return 0, err
			}
		}
	}
	w, err := l.f.Write(p)
	l.size += int64(w)
	if err != nil {
		return w, err
	}
	return n, nil
}

func (l *sizedLog) startOver() error {
	if l.rotate {
		// rename(2) replaces a file or a link at FILE.1, never follows it.
		if err := os.Rename(l.path, l.path+".1"); err != nil {
			return fmt.Errorf("rotate console log %s: %w", l.path, err)
		}
		f, err := createExcl(l.path, 0o600)
		if err != nil {
			return fmt.Errorf("reopen console log: %w", err)
		}
		l.f.Close()
		l.f = f
	} else if err := l.f.Truncate(0); err != nil {
		return fmt.Errorf("truncate console log %s: %w", l.path, err)
	}
	l.size = 0
	return nil
}

func (l *sizedLog) Close() error { return l.f.Close() }

// consoleSink fans the console's output out to what reads it besides the
// log and the terminal: the ring buffer and the lxc-console clients of
// tty 0, each through a pipe of its own.
type consoleSink struct {
	mu      sync.Mutex
	ring    *ringBuffer // nil without lxc.console.buffer.size
	clients map[int]*os.File
	nextID  int
}

func (s *consoleSink) Write(p []byte) (int, error) {
	if s.ring != nil {
		_, _ = s.ring.Write(p)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range s.clients {
		// The pipe does not block: a client that stops reading loses
		// output rather than stalling the container's console.
		_, _ = w.Write(p)
	}
	return len(p), nil
}

// addClient returns the read end of a pipe that gets the console's
// output from now on, and the function that ends it.
func (s *consoleSink) addClient() (*os.File, func(), error) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, nil, fmt.Errorf("console pipe: %w", err)
	}
	// A larger pipe absorbs bursts (a screenful redrawn) while the client
	// is scheduled; the kernel may refuse past pipe-max-size.
	_, _ = unix.FcntlInt(uintptr(p[1]), unix.F_SETPIPE_SZ, 1<<20)
	if err := unix.SetNonblock(p[1], true); err != nil {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, nil, fmt.Errorf("console pipe: %w", err)
	}
	w := os.NewFile(uintptr(p[1]), "console client")
	s.mu.Lock()
	if s.clients == nil {
		s.clients = map[int]*os.File{}
	}
	id := s.nextID
	s.nextID++
	s.clients[id] = w
	s.mu.Unlock()
	end := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if w, ok := s.clients[id]; ok {
			w.Close()
			delete(s.clients, id)
		}
	}
	return os.NewFile(uintptr(p[0]), "console output"), end, nil
}

// closeClients ends every client's output: the console is gone.
func (s *consoleSink) closeClients() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, w := range s.clients {
		w.Close()
		delete(s.clients, id)
	}
}

// errTTYBusy and errNoTTY are lxc-console's refusals.
var (
	errTTYBusy = errors.New("tty is in use by another client")
	errNoTTY   = errors.New("no free tty")
)

// takeTTY gives a client tty n (0: the console; -1: the first free of
// 1..lxc.tty.max, as LXC picks): a duplicate of its master, for the
// client to write keystrokes to and set the window size on, and for the
// console a pipe of its output (the monitor reads the console itself, for
// the log and the ring buffer). release frees the tty again; a tty held
// by one client is refused to others, as LXC refuses it.
// ttyHeld says whether a client holds tty n of the current init.
func (m *Monitor) ttyHeld(n int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ttyGen == m.started && m.ttyBusy[n]
}

func (m *Monitor) takeTTY(n int) (resp *Response, fds []int, release func()) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil || m.state != Running && m.state != Frozen && m.state != Thawed {
		return &Response{Error: m.o.Name + " is not running", State: m.state}, nil, nil
	}
	if m.adopted {
		// The pty masters were the dead monitor's alone.
		return &Response{Error: fmt.Sprintf("the console and ttys of %s were lost with its monitor, which was killed (lxc-attach -n %s still works; they come back at its next start)", m.o.Name, m.o.Name), State: m.state}, nil, nil
	}
	gen := m.started
	if m.ttyBusy == nil || m.ttyGen != gen {
		// A new init (after a reboot) has new ttys, all free.
		m.ttyBusy, m.ttyGen = map[int]bool{}, gen
	}
	ttys := m.proc.TTYs
	if n < 0 {
		for i := 1; i <= len(ttys); i++ {
			if !m.ttyBusy[i] {
				n = i
				break
			}
		}
		if n < 0 {
			return &Response{Error: fmt.Sprintf("%s: %v (lxc.tty.max = %d, all taken)", m.o.Name, errNoTTY, len(ttys))}, nil, nil
		}
	}
	var master *os.File
	switch {
	case n == 0 && m.proc.Console != nil:
		master = m.proc.Console
		if m.o.TerminalIn != nil {
			return &Response{Error: fmt.Sprintf("%s: tty 0: %v (the console is attached to lxc-start's terminal or lxc.console.path)", m.o.Name, errTTYBusy)}, nil, nil
		}
	case n >= 1 && n <= len(ttys):
		master = ttys[n-1]
	default:
		return &Response{Error: fmt.Sprintf("%s has no tty %d (console: %v, lxc.tty.max = %d)", m.o.Name, n, m.proc.Console != nil, len(ttys))}, nil, nil
	}
	if m.ttyBusy[n] {
		return &Response{Error: fmt.Sprintf("%s: tty %d: %v", m.o.Name, n, errTTYBusy)}, nil, nil
	}
	fd, err := unix.FcntlInt(master.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return &Response{Error: "dup tty master: " + err.Error()}, nil, nil
	}
	fds = []int{fd}
	endOutput := func() {}
	if n == 0 {
		out, end, err := m.sink.addClient()
		if err != nil {
			unix.Close(fd)
			return &Response{Error: err.Error()}, nil, nil
		}
		// The descriptor is sent and then closed by the reply.
		ofd, err := unix.FcntlInt(out.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		out.Close()
		if err != nil {
			end()
			unix.Close(fd)
			return &Response{Error: "dup console output: " + err.Error()}, nil, nil
		}
		fds = append(fds, ofd)
		endOutput = end
	}
	m.ttyBusy[n] = true
	release = func() {
		endOutput()
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.ttyGen == gen {
			delete(m.ttyBusy, n)
		}
	}
	r := m.infoLocked()
	r.TTY = n
	return r, fds, release
}

// consoleBuffer answers "console-buffer": the ring buffer's contents.
func (m *Monitor) consoleBuffer(clear bool) *Response {
	m.mu.Lock()
	adopted := m.adopted
	m.mu.Unlock()
	if adopted {
		return &Response{Error: "the console buffer of " + m.o.Name + " was lost with its monitor, which was killed"}
	}
	if m.sink.ring == nil {
		return &Response{Error: m.o.Name + " keeps no console buffer (lxc.console.buffer.size is not set)"}
	}
	return &Response{Buffer: m.sink.ring.Read(clear)}
}

// openConsolePath attaches the console to lxc.console.path: a character
// device (a serial line, a terminal) gives input and gets output, in raw
// mode so that the container's line discipline is the only one; a file
// gets the output. It returns the undo.
func (m *Monitor) openConsolePath() (func(), error) {
	path := m.o.Console.Path
	// Never through a link at its last component, never blocking on the
	// open (a FIFO with no reader, a serial line without carrier): then
	// only a character device (input and output) or a regular file
	// (output, appended) is used.
	var f *os.File
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	switch {
	case err == nil:
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("stat lxc.console.path %s: %w", path, err)
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR:
		case unix.S_IFREG:
			_, err = unix.FcntlInt(uintptr(fd), unix.F_SETFL, unix.O_APPEND)
		default:
			unix.Close(fd)
			return nil, fmt.Errorf("lxc.console.path %s: not a character device or a regular file", path)
		}
		if err == nil {
			err = unix.SetNonblock(fd, false)
		}
		if err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("open lxc.console.path %s: %w", path, err)
		}
		f = os.NewFile(uintptr(fd), path)
	case errors.Is(err, os.ErrNotExist):
		if f, err = createExcl(path, 0o600); err != nil {
			return nil, fmt.Errorf("lxc.console.path: %w", err)
		}
	default:
		return nil, fmt.Errorf("open lxc.console.path %s: %w", path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat lxc.console.path %s: %w", path, err)
	}
	m.o.TerminalIn, m.o.TerminalOut, m.o.TerminalSize = nil, f, nil
	undo := func() { f.Close() }
	if st.Mode()&os.ModeCharDevice != 0 {
		m.o.TerminalIn = f
		if old, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS); err == nil {
			m.o.TerminalSize = f
			raw := *old
			raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
			raw.Oflag &^= unix.OPOST
			raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
			raw.Cflag = raw.Cflag&^(unix.CSIZE|unix.PARENB) | unix.CS8
			raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
			if err := unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, &raw); err == nil {
				undo = func() {
					_ = unix.IoctlSetTermios(int(f.Fd()), unix.TCSETS, old)
					f.Close()
				}
			}
		}
	}
	m.o.Log.Infof("console of %s attached to %s", m.o.Name, path)
	return undo, nil
}

// consoleChunk is the most a console copy reads at once: a pty master
// hands out at most its buffer (4 KiB of n_tty) per read anyway.
const consoleChunk = 4096

// consoleEIOWait bounds the wait between two reads of a console that
// reads EIO (no slave open) while init lives: it starts at 20 ms and
// doubles, so that a console nobody opens again costs a wake-up every
// 160 ms, not fifty a second. What is written meanwhile waits in the pty.
const consoleEIOWait = 160 * time.Millisecond

// consoleRead is one read of a console copy. The copy's buffer is taken
// at the console's first output and kept from then on: a console that
// never speaks (most of a shared monitor's) holds none, where io.Copy
// kept 32 KiB for each; one that speaks reuses its 4 KiB, so output in
// small writes costs no allocation per read (a container writing a byte
// at a time would otherwise make the monitor allocate, and collect, at
// the rate it writes).
type consoleRead struct {
	buf *[]byte
	n   int
	err error
}

// try reads what the master holds; false (nothing yet) has the runtime's
// poller wait for the master to be readable. Before the buffer exists a
// one-byte probe says whether output is there.
func (r *consoleRead) try(fd uintptr) bool {
	if *r.buf == nil {
		var probe [1]byte
		n, err := readRetry(int(fd), probe[:])
		if !r.done(n, err) {
			return false
		}
		if r.err != nil {
			return true
		}
		*r.buf = make([]byte, consoleChunk)
		(*r.buf)[0] = probe[0]
		k, _ := readRetry(int(fd), (*r.buf)[1:]) // EAGAIN: the probe was all
		r.n = 1 + max(k, 0)
		return true
	}
	n, err := readRetry(int(fd), *r.buf)
	if !r.done(n, err) {
		return false
	}
	if r.err == nil {
		r.n = n
	}
	return true
}

// readRetry is read(2) again after EINTR: returning "nothing yet" for it
// would have the edge-triggered poller wait for output that is already
// there.
func readRetry(fd int, b []byte) (int, error) {
	for {
		n, err := unix.Read(fd, b)
		if err != unix.EINTR {
			return n, err
		}
	}
}

// done sorts one read's result: false is "nothing yet" (EAGAIN).
func (r *consoleRead) done(n int, err error) bool {
	switch {
	case err == unix.EAGAIN:
		return false
	case err != nil:
		r.err = err
	case n == 0:
		r.err = io.EOF
	}
	return true
}

// copyConsole copies a console's output from master (non-blocking, as
// the runtime's poller needs) to out until it ends: at EIO once init is
// gone (every slave closed, the buffered output read), or at another
// read error. While init lives, EIO means no slave is open for now:
// systemd closes /dev/console once it has booted, and agetty hangs it up
// (vhangup) before it opens it again, so the console of a systemd
// container is unopened for a while after every login; the copy tries
// again after a short wait then.
func copyConsole(out io.Writer, master *os.File, initGone <-chan struct{}) error {
	rc, err := master.SyscallConn()
	if err != nil {
		return fmt.Errorf("console copy: %w", err)
	}
	var buf []byte
	wait := 20 * time.Millisecond
	for {
		r := consoleRead{buf: &buf}
		if err := rc.Read(r.try); err != nil {
			return fmt.Errorf("console copy: %w", err)
		}
		if r.n > 0 {
			_, _ = out.Write(buf[:r.n])
			wait = 20 * time.Millisecond
			continue
		}
		if !errors.Is(r.err, unix.EIO) {
			if errors.Is(r.err, io.EOF) {
				return nil
			}
			return fmt.Errorf("console copy: %w", r.err)
		}
		select {
		case <-initGone:
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, consoleEIOWait)
	}
}
