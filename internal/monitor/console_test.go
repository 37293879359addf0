package monitor

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestRingBuffer(t *testing.T) {
	r := newRingBuffer(10) // rounded up to a page
	if len(r.buf) != pageSize {
		t.Fatalf("ring of 10 bytes: %d, want a page", len(r.buf))
	}
	r.Write([]byte("hello "))
	r.Write([]byte("world"))
	if got := string(r.Read(false)); got != "hello world" {
		t.Fatalf("Read = %q", got)
	}
	// Past its size it keeps the latest bytes, oldest first.
	var all bytes.Buffer
	for i := 0; i < 3000; i++ {
		line := []byte(strings.Repeat(string(rune('a'+i%26)), 3))
		all.Write(line)
		r.Write(line)
	}
	want := all.Bytes()[all.Len()-pageSize:]
	if got := r.Read(true); !bytes.Equal(got, want) {
		t.Fatalf("wrapped ring: %d bytes, want the last %d written", len(got), len(want))
	}
	if got := r.Read(false); len(got) != 0 {
		t.Fatalf("after clear: %q", got)
	}
	// One write longer than the ring.
	big := bytes.Repeat([]byte("0123456789"), 1000)
	r.Write(big)
	if got := r.Read(false); !bytes.Equal(got, big[len(big)-pageSize:]) {
		t.Fatalf("a write past the size kept %d bytes", len(got))
	}
}

func TestSizedLog(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		dir := t.TempDir()
		p := filepath.Join(dir, "console.log")
		l, err := openSizedLog(p, 100, rotate) // rounded up to a page
		if err != nil {
			t.Fatal(err)
		}
		chunk := bytes.Repeat([]byte("x"), 1000)
		for i := 0; i < 9; i++ {
			if n, err := l.Write(chunk); err != nil || n != len(chunk) {
				t.Fatalf("Write = %d, %v", n, err)
			}
		}
		l.Write([]byte("last"))
		l.Close()
		b, _ := os.ReadFile(p)
		if len(b) > pageSize || !strings.HasSuffix(string(b), "last") {
			t.Errorf("rotate=%v: log is %d bytes ending %q, want at most %d ending with the last write", rotate, len(b), b[max(0, len(b)-10):], pageSize)
		}
		old, err := os.ReadFile(p + ".1")
		switch {
		case rotate && (err != nil || len(old) == 0 || len(old) > pageSize):
			t.Errorf("rotate: %s.1: %d bytes, %v", p, len(old), err)
		case !rotate && err == nil:
			t.Errorf("no rotate: %s.1 exists", p)
		}
		// A write longer than the cap keeps its end.
		l, _ = openSizedLog(p, pageSize, rotate)
		big := append(bytes.Repeat([]byte("y"), 3*pageSize), []byte("tail")...)
		l.Write(big)
		l.Close()
		b, _ = os.ReadFile(p)
		if len(b) != pageSize || !strings.HasSuffix(string(b), "tail") {
			t.Errorf("rotate=%v: a write past the cap left %d bytes", rotate, len(b))
		}
	}
}

// safeBuffer is a bytes.Buffer the copy writes while the test reads.
type safeBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *safeBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *safeBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestCopyConsole runs the console copy on a real pty: output is copied
// as it comes, a time with no slave open (EIO) does not end the copy
// while init lives, output written after a slave opens again arrives,
// and once init is gone the copy ends at EIO.
func TestCopyConsole(t *testing.T) {
	mfd, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		t.Skipf("no ptys: %v", err)
	}
	if err := unix.IoctlSetPointerInt(mfd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	master := os.NewFile(uintptr(mfd), "ptmx")
	defer master.Close()
	openSlave := func() *os.File {
		t.Helper()
		fd, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(mfd), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
		if errno != 0 {
			t.Fatalf("TIOCGPTPEER: %v", errno)
		}
		return os.NewFile(fd, "pts")
	}
	var out safeBuffer
	initGone := make(chan struct{})
	done := make(chan error, 1)
	slave := openSlave()
	go func() { done <- copyConsole(&out, master, initGone) }()
	waitFor := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), want) {
			if time.Now().After(deadline) {
				t.Fatalf("copied %q, want %q in it", out.String(), want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	if _, err := slave.WriteString("first\n"); err != nil {
		t.Fatal(err)
	}
	waitFor("first")
	slave.Close() // no slave open: the master reads EIO
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("copy ended (%v) while init lives", err)
	default:
	}
	slave = openSlave()
	if _, err := slave.WriteString("second\n"); err != nil {
		t.Fatal(err)
	}
	waitFor("second")
	if _, err := slave.WriteString("last\n"); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	close(initGone)
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("copy ended with %v, want nil at EIO once init is gone", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("copy still running 10 s after init is gone and every slave closed")
	}
	if got := out.String(); !strings.Contains(got, "last") {
		t.Errorf("copied %q: the output written before the end is lost", got)
	}
}
