package monitor

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSocketPath(t *testing.T) {
	long := "/" + strings.Repeat("very-long-directory/", 8)
	dir := SocketDir()
	for _, tt := range []struct{ name, lxcpath, cname string }{
		{"default lxcpath", "/var/lib/lxc", "c1"},
		{"long path", long, "c1"},
		{"long name", "/var/lib/lxc", strings.Repeat("n", 200)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := SocketPath(tt.lxcpath, tt.cname)
			if p != SocketPath(tt.lxcpath, tt.cname) {
				t.Fatal("SocketPath is not stable")
			}
			if filepath.Dir(p) != dir {
				t.Errorf("SocketPath = %q, want a file in %s", p, dir)
			}
			// sun_path holds 108 bytes with the terminating NUL.
			if len(p) > 107 {
				t.Errorf("SocketPath = %q: %d bytes, want <= 107", p, len(p))
			}
		})
	}
	t.Run("cleaned", func(t *testing.T) {
		for _, lp := range []string{"/var//lib/lxc/", "/var/lib/x/../lxc"} {
			if SocketPath(lp, "c1") != SocketPath("/var/lib/lxc", "c1") {
				t.Errorf("SocketPath(%q) differs from SocketPath(/var/lib/lxc)", lp)
			}
		}
	})
	t.Run("distinct", func(t *testing.T) {
		seen := map[string]string{}
		for _, lp := range []string{"/var/lib/lxc", "/srv/lxc", long, long + "x", "/var/lib/lxc/c1"} {
			for _, n := range []string{"c1", "c2", "c1a", ".shared", strings.Repeat("n", 150), strings.Repeat("n", 151)} {
				a := SocketPath(lp, n)
				key := lp + " " + n
				if prev, ok := seen[a]; ok {
					t.Errorf("SocketPath(%s) = SocketPath(%s) = %q", key, prev, a)
				}
				seen[a] = key
			}
		}
	})
}

// The socket directory is made closed, and one that someone else could
// have made or replaced is refused.
func TestPrepareSocketDir(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	}
	dir, err := PrepareSocketDir()
	if err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o777 != 0o700 || int(st.Uid) != os.Geteuid() {
		t.Errorf("%s: mode %o uid %d, want 0700 of uid %d", dir, st.Mode&0o777, st.Uid, os.Geteuid())
	}
}

func TestDialNotRunning(t *testing.T) {
	lxcpath := t.TempDir()
	if _, err := Dial(lxcpath, "c1"); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Dial with no monitor = %v, want ErrNotRunning", err)
	}
	if _, err := Ask(lxcpath, "c1", Request{Command: "state"}, time.Now().Add(time.Second)); !errors.Is(err, ErrNotRunning) {
		t.Errorf("Ask with no monitor = %v, want ErrNotRunning", err)
	}
}
