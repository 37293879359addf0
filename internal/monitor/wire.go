package monitor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// The tools' side of the protocol writes a request and reads an answer
// without encoding/json where the line is plain: the first use of
// encoding/json on a type costs a tool about 0.1 ms (reflection over the
// type, cold code), a twentieth of an lxc-info. What these do not handle
// (a string with an escape, a field they do not know, a base64 payload,
// null ...) goes to encoding/json, so they only need to be right when
// they say they handled the line. TestWireMatchesJSON holds them to
// encoding/json's output.

// appendRequest appends r as json.Marshal writes it; ok is false when a
// string of r is not plain (then nothing is appended).
func appendRequest(b []byte, r Request) (_ []byte, ok bool) {
	if !plainString(r.Command) {
		return b, false
	}
	for _, s := range r.States {
		if !plainString(s) {
			return b, false
		}
	}
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(r.Version), 10)
	b = append(b, `,"cmd":"`...)
	b = append(b, r.Command...)
	b = append(b, '"')
	if r.Signal != 0 {
		b = append(b, `,"signal":`...)
		b = strconv.AppendInt(b, int64(r.Signal), 10)
	}
	if r.DetectHalt {
		b = append(b, `,"detect_halt":true`...)
	}
	if r.TimeoutMS != 0 {
		b = append(b, `,"timeout_ms":`...)
		b = strconv.AppendInt(b, r.TimeoutMS, 10)
	}
	if r.NoWait {
		b = append(b, `,"nowait":true`...)
	}
	if len(r.States) > 0 {
		b = append(b, `,"states":[`...)
		for i, s := range r.States {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '"')
			b = append(b, s...)
			b = append(b, '"')
		}
		b = append(b, ']')
	}
	if r.TTY != 0 {
		b = append(b, `,"tty":`...)
		b = strconv.AppendInt(b, int64(r.TTY), 10)
	}
	if r.Clear {
		b = append(b, `,"clear":true`...)
	}
	if r.History {
		b = append(b, `,"history":true`...)
	}
	return append(b, '}'), true
}

// plainString says whether encoding/json writes s as it is between
// quotes: printable ASCII without the characters it escapes (it escapes
// <, > and & for HTML).
func plainString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return false
		}
	}
	return true
}

// decodeResponse fills r from a monitor's answer line as json.Unmarshal
// would; ok is false when the line is not one it handles (r is then
// left for json.Unmarshal to fill from zero).
func decodeResponse(line []byte, r *Response) (ok bool) {
	d := wireDecoder{b: line}
	if !d.byte('{') {
		return false
	}
	if d.byte('}') {
		return d.end()
	}
	for {
		key, ok := d.str()
		if !ok || !d.byte(':') {
			return false
		}
		switch key {
		case "error":
			r.Error, ok = d.str()
		case "state":
			r.State, ok = d.str()
		case "cgroup":
			r.Cgroup, ok = d.str()
		case "initCgroup":
			r.InitCgroup, ok = d.str()
		case "pid":
			r.Pid, ok = d.int()
		case "exit":
			r.Exit, ok = d.int()
		case "tty":
			r.TTY, ok = d.int()
		case "started":
			r.Started, ok = d.int64()
		case "time":
			r.Time, ok = d.int64()
		case "seq":
			r.Seq, ok = d.uint64()
		case "seccomp_nesting":
			r.SeccompNesting, ok = d.bool()
		case "no_new_privs":
			r.NoNewPrivs, ok = d.bool()
		case "cgroups":
			ok = d.stringMap(&r.Cgroups)
		default:
			return false
		}
		if !ok {
			return false
		}
		if d.byte('}') {
			return d.end()
		}
		if !d.byte(',') {
			return false
		}
	}
}

// wireDecoder reads the plain JSON decodeResponse handles.
type wireDecoder struct {
	b []byte
	i int
}

func (d *wireDecoder) space() {
	for d.i < len(d.b) && (d.b[d.i] == ' ' || d.b[d.i] == '\t' || d.b[d.i] == '\n' || d.b[d.i] == '\r') {
		d.i++
	}
}

// byte consumes c (after white space) if it comes next.
func (d *wireDecoder) byte(c byte) bool {
	d.space()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// end says whether only white space is left.
func (d *wireDecoder) end() bool {
	d.space()
	return d.i == len(d.b)
}

// str reads a string without escapes or control characters, in valid
// UTF-8 (json.Unmarshal would replace invalid bytes).
func (d *wireDecoder) str() (string, bool) {
	if !d.byte('"') {
		return "", false
	}
	start := d.i
	for d.i < len(d.b) {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			if !utf8.Valid(s) {
				return "", false
			}
			return string(s), true
		case c == '\\' || c < 0x20:
			return "", false
		}
		d.i++
	}
	return "", false
}

// number reads an integer as JSON writes one: -?(0|[1-9][0-9]*).
func (d *wireDecoder) number() (string, bool) {
	d.space()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	n := d.i - digits
	if n == 0 || (n > 1 && d.b[digits] == '0') {
		return "", false
	}
	if d.i < len(d.b) && (d.b[d.i] == '.' || d.b[d.i] == 'e' || d.b[d.i] == 'E') {
		return "", false
	}
	return string(d.b[start:d.i]), true
}

func (d *wireDecoder) int64() (int64, bool) {
	s, ok := d.number()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

func (d *wireDecoder) int() (int, bool) {
	s, ok := d.number()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, strconv.IntSize)
	return int(v), err == nil
}

func (d *wireDecoder) uint64() (uint64, bool) {
	s, ok := d.number()
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseUint(s, 10, 64)
	return v, err == nil
}

func (d *wireDecoder) bool() (bool, bool) {
	d.space()
	for _, w := range []string{"true", "false"} {
		if len(d.b)-d.i >= len(w) && string(d.b[d.i:d.i+len(w)]) == w {
			d.i += len(w)
			return w == "true", true
		}
	}
	return false, false
}

// stringMap reads an object of strings into *m, made if nil, as
// json.Unmarshal fills a map (a key given twice: the last value).
func (d *wireDecoder) stringMap(m *map[string]string) bool {
	if !d.byte('{') {
		return false
	}
	if *m == nil {
		*m = map[string]string{}
	}
	if d.byte('}') {
		return true
	}
	for {
		k, ok := d.str()
		if !ok || !d.byte(':') {
			return false
		}
		v, ok := d.str()
		if !ok {
			return false
		}
		(*m)[k] = v
		if d.byte('}') {
			return true
		}
		if !d.byte(',') {
			return false
		}
	}
}

// askBlocking is Dial of path (for what) and Call of req over a blocking
// socket, with the deadline (zero: none) as the socket's timeouts: the
// same checks, answers and errors, without the runtime's poller.
func askBlocking(path, what string, req Request, deadline time.Time) (*Response, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("connect to monitor of %s: socket: %w", what, err)
	}
	defer unix.Close(fd)
	// The socket's timeouts bound each system call, not the question:
	// they are set again from the time left before each one, so a peer
	// answering a byte at a time cannot stretch the deadline.
	arm := func() error {
		if deadline.IsZero() {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return os.ErrDeadlineExceeded
		}
		// SO_SNDTIMEO bounds the connect too, while the listen backlog
		// of a busy monitor is full.
		tv := unix.NsecToTimeval(max(left, time.Microsecond).Nanoseconds())
		for _, opt := range []int{unix.SO_SNDTIMEO, unix.SO_RCVTIMEO} {
			if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
				return fmt.Errorf("timeout: %w", err)
			}
		}
		return nil
	}
	timedOut := func(err error) error {
		if errors.Is(err, unix.EAGAIN) {
			return os.ErrDeadlineExceeded
		}
		return err
	}
	if err := arm(); err != nil {
		return nil, fmt.Errorf("connect to monitor of %s: %w", what, err)
	}
	err = retryEINTR(func() error { return unix.Connect(fd, &unix.SockaddrUnix{Name: path}) })
	switch {
	case errors.Is(err, unix.ECONNREFUSED) || errors.Is(err, unix.ENOENT):
		return nil, ErrNotRunning
	case err != nil:
		return nil, fmt.Errorf("connect to monitor of %s: %w", what, timedOut(err))
	}
	if err := checkPeerFD(fd); err != nil {
		return nil, peerError(err, path, what)
	}
	b, err := requestLine(req)
	if err != nil {
		return nil, err
	}
	for len(b) > 0 {
		if err := arm(); err != nil {
			return nil, fmt.Errorf("send %s to monitor: %w", req.Command, err)
		}
		var n int
		err := retryEINTR(func() (err error) {
			n, err = unix.SendmsgN(fd, b, nil, nil, unix.MSG_NOSIGNAL)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("send %s to monitor: %w", req.Command, timedOut(err))
		}
		b = b[n:]
	}
	line := make([]byte, 0, 1024)
	for {
		if len(line) == cap(line) {
			line = append(line, 0)[:len(line)]
		}
		if err := arm(); err != nil {
			return nil, fmt.Errorf("read monitor's answer to %s: %w", req.Command, err)
		}
		var n int
		err := retryEINTR(func() (err error) {
			n, err = unix.Read(fd, line[len(line):cap(line)])
			return err
		})
		if err == nil && n == 0 {
			err = io.EOF
		}
		if err != nil {
			return nil, fmt.Errorf("read monitor's answer to %s: %w", req.Command, timedOut(err))
		}
		line = line[:len(line)+n]
		if i := bytes.IndexByte(line[len(line)-n:], '\n'); i >= 0 {
			line = line[:len(line)-n+i+1]
			break
		}
	}
	return responseOf(line, req.Command)
}

// requestLine is req as the line sent (version set): the hand-written
// encoding when it has one, else encoding/json's.
func requestLine(req Request) ([]byte, error) {
	req.Version = ProtocolVersion
	b, ok := appendRequest(make([]byte, 0, 128), req)
	if !ok {
		var err error
		if b, err = json.Marshal(req); err != nil {
			return nil, err
		}
	}
	return append(b, '\n'), nil
}

// responseOf decodes the answer line to command; the monitor's own error
// comes with the response.
func responseOf(line []byte, command string) (*Response, error) {
	var resp Response
	if !decodeResponse(line, &resp) {
		resp = Response{}
		if err := json.Unmarshal(line, &resp); err != nil {
			return nil, fmt.Errorf("decode monitor's answer to %s: %w", command, err)
		}
	}
	if resp.Error != "" {
		return &resp, errors.New(resp.Error)
	}
	return &resp, nil
}

// peerError is a failed peer check of the socket at path: nobody
// answers when the process that listened has exited (a monitor killed
// just now, its socket not yet closed), else a refusal.
func peerError(err error, path, what string) error {
	if errors.Is(err, unix.ESRCH) {
		return ErrNotRunning
	}
	return fmt.Errorf("the monitor socket of %s (%s): %w: refusing to use it", what, path, err)
}

func retryEINTR(f func() error) error {
	for {
		if err := f(); err != unix.EINTR {
			return err
		}
	}
}
