package monitor

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
