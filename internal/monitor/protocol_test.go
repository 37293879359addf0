package monitor

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSocketAddr(t *testing.T) {
	long := "/" + strings.Repeat("very-long-directory/", 8)
	tests := []struct {
		name, lxcpath, cname string
		want                 string // "" when hashed
	}{
		{name: "default lxcpath", lxcpath: "/var/lib/lxc", cname: "c1", want: "@golxc/var/lib/lxc/c1/command"},
		{name: "cleaned", lxcpath: "/var//lib/lxc/", cname: "c1", want: "@golxc/var/lib/lxc/c1/command"},
		{name: "dotdot cleaned", lxcpath: "/var/lib/x/../lxc", cname: "c1", want: "@golxc/var/lib/lxc/c1/command"},
		{name: "long path hashed", lxcpath: long, cname: "c1"},
		{name: "long name hashed", lxcpath: "/var/lib/lxc", cname: strings.Repeat("n", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := SocketAddr(tt.lxcpath, tt.cname)
			if a != SocketAddr(tt.lxcpath, tt.cname) {
				t.Fatal("SocketAddr is not stable")
			}
			if !strings.HasPrefix(a, "@golxc") {
				t.Errorf("SocketAddr = %q, want an abstract @golxc... address", a)
			}
			// sun_path is 108 bytes with the leading NUL that "@" stands for.
			if len(a) > 100 {
				t.Errorf("SocketAddr = %q: %d bytes, want <= 100", a, len(a))
			}
			if tt.want != "" && a != tt.want {
				t.Errorf("SocketAddr = %q, want %q", a, tt.want)
			}
			if tt.want == "" && strings.Contains(a, "/command") {
				t.Errorf("SocketAddr = %q, want a hash for a long path", a)
			}
		})
	}

	t.Run("distinct", func(t *testing.T) {
		seen := map[string]string{}
		for _, lp := range []string{"/var/lib/lxc", "/srv/lxc", long, long + "x"} {
			for _, n := range []string{"c1", "c2", "c1a", strings.Repeat("n", 150), strings.Repeat("n", 151)} {
				a := SocketAddr(lp, n)
				key := lp + " " + n
				if prev, ok := seen[a]; ok {
					t.Errorf("SocketAddr(%s) = SocketAddr(%s) = %q", key, prev, a)
				}
				seen[a] = key
			}
		}
	})
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
