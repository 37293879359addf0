package containerinit

import (
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/pack"
)

// skipUnlessRoot skips a test that needs root; under CI=true a missing root
// is a failure, not a skip.
func skipUnlessRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("needs root (CI=true: refusing to skip)")
		}
		t.Skip("needs root")
	}
}

// syncPair is the parent's and the child's end of a sync socket.
func syncPair(t *testing.T) (parent, child int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		unix.Close(fds[0])
		unix.Close(fds[1])
	})
	return fds[0], fds[1]
}

func TestSyncRoundTrip(t *testing.T) {
	mode := os.FileMode(0o666)
	spec := &Spec{
		OCI: specs.Spec{
			Version:  specs.Version,
			Hostname: "c1",
			Root:     &specs.Root{Path: "/var/lib/lxc/c1/rootfs"},
			Process: &specs.Process{
				Args: []string{"/sbin/init", "--log-level=debug", "ünïcode arg", ""},
				Env:  []string{"container=lxc", "PATH=/bin"},
				Cwd:  "/",
				Capabilities: &specs.LinuxCapabilities{
					Bounding: []string{"CAP_CHOWN", "CAP_KILL"},
				},
			},
			Mounts: []specs.Mount{{Destination: "/proc", Type: "proc", Source: "proc", Options: []string{"nosuid"}}},
			Linux: &specs.Linux{
				Namespaces:    []specs.LinuxNamespace{{Type: specs.PIDNamespace}, {Type: specs.NetworkNamespace}},
				Devices:       []specs.LinuxDevice{{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: &mode}},
				ReadonlyPaths: []string{"/proc/sys"},
			},
		},
		Console: true, TTYs: 4, Devpts: true, DevSymlinks: true, WrapInit: true,
	}
	packed, err := pack.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		msg  *message
	}{
		{name: "spec", msg: &message{Type: "spec", Spec: packed}},
		{name: "ptys", msg: &message{Type: "ptys", Console: true, TTYs: 2}},
		{name: "error", msg: &message{Type: "error", Error: "mount proc on /proc: permission denied\nsecond line"}},
		{name: "bare", msg: &message{Type: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := syncPair(t)
			if err := send(a, tt.msg, nil); err != nil {
				t.Fatalf("send: %v", err)
			}
			got, files, err := recv(b)
			if err != nil {
				t.Fatalf("recv: %v", err)
			}
			if len(files) != 0 {
				t.Errorf("recv gave %d files, none sent", len(files))
			}
			if !reflect.DeepEqual(got, tt.msg) {
				t.Errorf("round trip\n got %+v\nwant %+v", got, tt.msg)
			}
		})
	}
}

func TestSyncMessagesStayApart(t *testing.T) {
	// SOCK_SEQPACKET keeps boundaries: two sends are two recvs.
	a, b := syncPair(t)
	for _, typ := range []string{"one", "two"} {
		if err := send(a, &message{Type: typ}, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range []string{"one", "two"} {
		m, _, err := recv(b)
		if err != nil || m == nil || m.Type != want {
			t.Fatalf("recv = %+v, %v; want %s", m, err, want)
		}
	}
}

func TestSyncPassesFiles(t *testing.T) {
	a, b := syncPair(t)
	const n = 3
	var readers, writers []*os.File
	for range n {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close(); w.Close() })
		readers, writers = append(readers, r), append(writers, w)
	}
	fds := make([]int, n)
	for i, w := range writers {
		fds[i] = int(w.Fd())
	}
	if err := send(a, &message{Type: "ptys", TTYs: n}, fds); err != nil {
		t.Fatalf("send: %v", err)
	}
	m, files, err := recv(b)
	if err != nil {
		t.Fatalf("recv: %v", err)
	}
	for _, f := range files {
		t.Cleanup(func() { f.Close() })
	}
	if m == nil || m.Type != "ptys" || len(files) != n {
		t.Fatalf("recv = %+v with %d files, want ptys with %d", m, len(files), n)
	}
	for i, f := range files {
		// The received descriptor is the same pipe, and close-on-exec.
		flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC == 0 {
			t.Errorf("file %d: FD_CLOEXEC not set (%#x, %v)", i, flags, err)
		}
		msg := "through file " + string(rune('0'+i))
		if _, err := f.Write([]byte(msg)); err != nil {
			t.Fatalf("write through received file %d: %v", i, err)
		}
		writers[i].Close()
		f.Close()
		got, err := io.ReadAll(readers[i])
		if err != nil || string(got) != msg {
			t.Errorf("pipe %d read %q, %v; want %q", i, got, err, msg)
		}
	}
}

func TestSyncEOF(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	b := fds[1]
	t.Cleanup(func() { unix.Close(b) })
	// The child's end closes on its exec: that is the success signal.
	unix.Close(fds[0])
	m, files, err := recv(b)
	if m != nil || files != nil || err != nil {
		t.Errorf("recv after the peer closed = %+v, %v, %v; want nil, nil, nil", m, files, err)
	}
}

func TestSyncGarbage(t *testing.T) {
	a, b := syncPair(t)
	if err := unix.Sendmsg(a, []byte("not json"), nil, nil, 0); err != nil {
		t.Fatal(err)
	}
	m, _, err := recv(b)
	if err == nil || !strings.Contains(err.Error(), "decode sync message") {
		t.Errorf("recv(garbage) = %+v, %v; want a decode error", m, err)
	}
}

func TestSyncTooLarge(t *testing.T) {
	a, _ := syncPair(t)
	big := &message{Type: "error", Error: strings.Repeat("x", maxMessage)}
	err := send(a, big, nil)
	if err == nil || !strings.Contains(err.Error(), "too large") {
		t.Errorf("send of %d bytes = %v, want too large", maxMessage, err)
	}

	t.Run("received", func(t *testing.T) {
		// A datagram over the limit needs a send buffer past wmem_max,
		// which only SO_SNDBUFFORCE (CAP_NET_ADMIN) gives.
		skipUnlessRoot(t)
		a, b := syncPair(t)
		for _, fd := range []int{a, b} {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 8<<20); err != nil {
				t.Skipf("SO_SNDBUFFORCE: %v", err)
			}
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20); err != nil {
				t.Skipf("SO_RCVBUFFORCE: %v", err)
			}
		}
		payload := append([]byte{pack.Version}, strings.Repeat("x", maxMessage)...)
		if err := unix.Sendmsg(a, payload, nil, nil, 0); err != nil {
			t.Skipf("cannot send %d bytes: %v", len(payload), err)
		}
		m, _, err := recv(b)
		if err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("recv of %d bytes = %+v, %v; want too large", len(payload), m, err)
		}
	})

	t.Run("at the limit", func(t *testing.T) {
		skipUnlessRoot(t) // the same buffer sizes

		a, b := syncPair(t)
		for _, fd := range []int{a, b} {
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_SNDBUFFORCE, 8<<20)
			_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
		}
		// The error's length takes 3 bytes of varint at this size.
		empty, err := pack.Marshal(&message{Type: "error"})
		if err != nil {
			t.Fatal(err)
		}
		m := &message{Type: "error", Error: strings.Repeat("y", maxMessage-len(empty)-2)}
		if err := send(a, m, nil); err != nil {
			t.Skipf("send at the limit: %v", err)
		}
		got, _, err := recv(b)
		if err != nil || got == nil || got.Error != m.Error {
			t.Errorf("recv at the limit: %v", err)
		}
	})
}

func TestHasNamespace(t *testing.T) {
	s := &Spec{}
	if s.HasNamespace(specs.PIDNamespace) {
		t.Error("a spec without Linux has a namespace")
	}
	s.OCI.Linux = &specs.Linux{Namespaces: []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.MountNamespace},
		{Type: specs.NetworkNamespace, Path: "/proc/1/ns/net"}, // joined, not new
	}}
	tests := []struct {
		t    specs.LinuxNamespaceType
		want bool
	}{
		{specs.PIDNamespace, true},
		{specs.MountNamespace, true},
		{specs.NetworkNamespace, false},
		{specs.UTSNamespace, false},
		{specs.UserNamespace, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.t), func(t *testing.T) {
			if got := s.HasNamespace(tt.t); got != tt.want {
				t.Errorf("HasNamespace(%s) = %v, want %v", tt.t, got, tt.want)
			}
		})
	}
}

func TestLookPath(t *testing.T) {
	d1, d2, cwd := t.TempDir(), t.TempDir(), t.TempDir()
	write := func(p string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(p, nil, mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(d1, "a"), 0o755)
	write(filepath.Join(d2, "a"), 0o755)
	write(filepath.Join(d1, "b"), 0o644)
	write(filepath.Join(d2, "b"), 0o755)
	write(filepath.Join(cwd, "here"), 0o755)
	if err := os.Mkdir(filepath.Join(d1, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(cwd)
	path := "PATH=" + d1 + ":" + d2
	tests := []struct {
		name string
		cmd  string
		env  []string
		want string // "" for not found
	}{
		{name: "first wins", cmd: "a", env: []string{path}, want: filepath.Join(d1, "a")},
		{name: "non-executable skipped", cmd: "b", env: []string{path}, want: filepath.Join(d2, "b")},
		{name: "directory skipped", cmd: "dir", env: []string{path}},
		{name: "missing", cmd: "nope", env: []string{path}},
		{name: "slash taken as is", cmd: "/no/such/thing", env: []string{path}, want: "/no/such/thing"},
		{name: "relative slash taken as is", cmd: "./x", env: []string{path}, want: "./x"},
		{name: "empty entry is the cwd", cmd: "here", env: []string{"PATH=" + d1 + "::" + d2}, want: "here"},
		{name: "last PATH wins", cmd: "a", env: []string{"PATH=" + d1, "PATH=" + d2}, want: filepath.Join(d2, "a")},
		{name: "not the caller's PATH", cmd: "a", env: []string{"HOME=/"}},
	}
	t.Setenv("PATH", d1) // lookPath must not read it
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lookPath(tt.cmd, tt.env)
			if tt.want == "" {
				if err == nil {
					t.Errorf("lookPath(%q) = %q, want not found", tt.cmd, got)
				} else if !strings.Contains(err.Error(), tt.cmd) {
					t.Errorf("error %q does not name %s", err, tt.cmd)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("lookPath(%q) = %q, %v; want %q", tt.cmd, got, err, tt.want)
			}
		})
	}
}
