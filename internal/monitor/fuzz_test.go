package monitor

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// socketPair returns both ends of a connected unix stream socket as
// *net.UnixConn, the type handle serves.
func socketPair(t testing.TB) (server, client *net.UnixConn) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conv := func(fd int) *net.UnixConn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c.(*net.UnixConn)
	}
	return conv(fds[0]), conv(fds[1])
}

// mayBlock reports whether line is a request the monitor legitimately
// answers only later: a wait for a state that is not the current one,
// without a short timeout.
func mayBlock(line []byte, state string) bool {
	var req Request
	if json.Unmarshal(line, &req) != nil || req.Command != "wait" {
		return false
	}
	for _, s := range req.States {
		if s == state {
			return false
		}
	}
	return req.TimeoutMS <= 0 || req.TimeoutMS > 100
}

// FuzzRequest feeds one arbitrary request line to the connection handler
// of a monitor with no container. Whatever the line, the handler must not
// panic, and must answer with exactly one line of JSON or hang up.
func FuzzRequest(f *testing.F) {
	for _, seed := range []string{
		`{"v":1,"cmd":"state"}`,
		`{"v":1,"cmd":"pidfd"}`,
		`{"v":1,"cmd":"stop","signal":30,"timeout_ms":1000}`,
		`{"v":1,"cmd":"stop","signal":30,"nowait":true}`,
		`{"v":1,"cmd":"kill"}`,
		`{"v":1,"cmd":"reboot","signal":2}`,
		`{"v":1,"cmd":"wait","states":["STOPPED"]}`,
		`{"v":1,"cmd":"wait","states":["RUNNING"],"timeout_ms":1}`,
		`{"v":99,"cmd":"frobnicate"}`,
		`{"cmd":"state","extra":{"deep":[1,2,3]}}`,
		`{"CMD":"STATE"}`,
		`{"cmd":null}`,
		`{"signal":-9999999999999999999}`,
		`{"timeout_ms":1e400}`,
		`{"states":"RUNNING"}`,
		`[]`,
		`null`,
		`""`,
		``,
		"\r",
		"garbage",
		"\x00\xff",
		`{"cmd":"state"`,
		`{"cmd":"\ud800"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// One request line: the line ends at the first newline.
		line, _, _ := bytes.Cut(data, []byte("\n"))
		if len(line) > maxRequest {
			line = line[:maxRequest]
		}
		const state = Stopped
		if mayBlock(bytes.TrimSuffix(line, []byte("\r")), state) {
			t.Skip("a wait for a state that does not come")
		}
		m := newTestMonitor("c1", state)
		srv, cli := socketPair(t)
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer srv.Close()
			m.handle(srv, requestTimeout, nil)
		}()
		defer func() {
			cli.Close()
			<-done
		}()
		_ = cli.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := cli.Write(append(line, '\n')); err != nil {
			t.Fatalf("write: %v", err)
		}
		if err := cli.CloseWrite(); err != nil {
			t.Fatalf("close write: %v", err)
		}
		out, err := io.ReadAll(bufio.NewReader(cli))
		if err != nil {
			t.Fatalf("read answer to %q: %v (got %q)", line, err, out)
		}
		if len(out) == 0 {
			return // hung up without an answer
		}
		if bytes.Count(out, []byte("\n")) != 1 || out[len(out)-1] != '\n' {
			t.Fatalf("answer to %q is not one line: %q", line, out)
		}
		var resp Response
		if err := json.Unmarshal(out, &resp); err != nil {
			t.Fatalf("answer to %q is not JSON: %q: %v", line, out, err)
		}
		if resp.State == "" && resp.Error == "" {
			t.Errorf("answer to %q has neither a state nor an error: %q", line, out)
		}
	})
}
