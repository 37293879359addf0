package sysfile

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	big := bytes.Repeat([]byte("0123456789"), 1000) // past the first buffer
	p := filepath.Join(dir, "f")
	if err := os.WriteFile(p, big, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := Read(p, 0); err != nil || !bytes.Equal(b, big) {
		t.Errorf("Read(no limit) = %d bytes, %v; want %d", len(b), err, len(big))
	}
	if b, err := Read(p, 1234); err != nil || !bytes.Equal(b, big[:1234]) {
		t.Errorf("Read(limit 1234) = %d bytes, %v", len(b), err)
	}
	// A proc file tells no size: read to its end.
	if b, err := Read("/proc/self/status", 0); err != nil || !bytes.Contains(b, []byte("\nPid:")) {
		t.Errorf("Read(/proc/self/status) = %q, %v", b, err)
	}
	if _, err := Read(filepath.Join(dir, "none"), 0); !errors.Is(err, unix.ENOENT) {
		t.Errorf("Read(missing) = %v, want ENOENT", err)
	}
}
