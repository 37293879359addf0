package storage

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAttachLoopOpensNoDevice: a device, a fifo or a symlink named as a
// loop image is refused without being opened (inotify sees no open: an
// O_PATH look opens nothing); a regular image is opened.
func TestAttachLoopOpensNoDevice(t *testing.T) {
	needRoot(t)
	tmp := t.TempDir()
	dev := filepath.Join(tmp, "null")
	if err := unix.Mknod(dev, unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(tmp, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(tmp, "img")
	if err := os.WriteFile(img, make([]byte, 1<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(tmp, "link")
	if err := os.Symlink(img, link); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{dev, fifo, link} {
		in, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := unix.InotifyAddWatch(in, p, unix.IN_OPEN|unix.IN_DONT_FOLLOW); err != nil {
			t.Fatal(err)
		}
		f, err := AttachLoop(p)
		if err == nil {
			f.Close()
			t.Errorf("AttachLoop(%s) worked, want a refusal", p)
		} else if !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("AttachLoop(%s) = %v, want \"not a regular file\"", p, err)
		}
		buf := make([]byte, 4096)
		if n, _ := unix.Read(in, buf); n > 0 {
			t.Errorf("AttachLoop(%s) opened it (inotify IN_OPEN)", p)
		}
		unix.Close(in)
	}
	f, err := openImage(img)
	if err != nil {
		t.Fatalf("openImage(%s): %v", img, err)
	}
	f.Close()
}
