package devpts

import (
	"errors"
	"os"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/rootfs"
)

// TestExhausted: an instance mounted with max=2 gives two ptys, then
// ErrExhausted, and Shortage says so in one line naming kernel.pty.max.
func TestExhausted(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root")
		}
		t.Skip("needs root")
	}
	dir := t.TempDir()
	if err := os.Mkdir(dir+"/dev", 0o755); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		// A mount namespace of this thread's own (never given back to
		// the runtime): the test's mounts vanish with it.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			errc <- err
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			errc <- err
			return
		}
		root, err := rootfs.OpenRoot(dir)
		if err != nil {
			errc <- err
			return
		}
		defer root.Close()
		if err := Mount(root, 2); err != nil {
			errc <- err
			return
		}
		for i := 0; i < 2; i++ {
			p, err := Open(root)
			if err != nil {
				errc <- err
				return
			}
			defer p.Close()
		}
		_, err = Open(root)
		if !errors.Is(err, ErrExhausted) {
			errc <- errors.New("third pty of max=2: " + errorString(err) + ", want ErrExhausted")
			return
		}
		errc <- nil
	}()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	msg := Shortage(6, 5, true).Error()
	if !strings.Contains(msg, "asks for 6 (console + lxc.tty.max = 5)") || !strings.Contains(msg, "kernel.pty.max = ") || !strings.Contains(msg, "raise kernel.pty.max to at least ") || strings.Contains(msg, "\n") {
		t.Errorf("Shortage = %q", msg)
	}
}

func errorString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}
