package containerinit

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/pack"
)

// TestOpenJoined: a namespace file is joined only when it is still the
// namespace the start resolved; one that now names another (a pid reused
// by a process elsewhere) is refused, naming the path.
func TestOpenJoined(t *testing.T) {
	id := func(path string) namespace.NamespaceID {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Skipf("%s: %v", path, err)
		}
		defer unix.Close(fd)
		got, err := namespace.FDNamespace(fd)
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	ns := &namespacesOnly{JoinIDs: map[specs.LinuxNamespaceType]namespace.NamespaceID{specs.UserNamespace: id("/proc/self/ns/user")}}
	fd, err := ns.openJoined(specs.UserNamespace, "/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	ns.JoinIDs[specs.UserNamespace] = id("/proc/self/ns/net")
	if _, err := ns.openJoined(specs.UserNamespace, "/proc/self/ns/user"); err == nil || !strings.HasPrefix(err.Error(), "/proc/self/ns/user is no longer the user namespace the start was asked to join") {
		t.Fatalf("swapped: err = %v", err)
	}
	if _, err := ns.openJoined(specs.TimeNamespace, "/proc/self/ns/user"); err == nil || !strings.Contains(err.Error(), "the spec does not say which namespace it must be") {
		t.Fatalf("unresolved: err = %v", err)
	}
}

// TestHandshakeSendsPackedSpec: the stage gets the spec as the caller
// holds it packed (StartOptions.PackedSpec), byte for byte, and packed
// from Spec when the caller has no packed form.
func TestHandshakeSendsPackedSpec(t *testing.T) {
	spec := &Spec{OCI: specs.Spec{Hostname: "c1", Process: &specs.Process{Args: []string{"/sbin/init"}}}}
	packed, err := pack.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	// Bytes another packing would not give: what is sent is the
	// caller's, not Spec packed again.
	held := append(slices.Clip(packed), 0)
	for _, c := range []struct {
		name string
		held []byte
		want []byte
	}{{"held", held, held}, {"none held", nil, packed}} {
		parent, child := syncPair(t)
		pidfd, err := unix.PidfdOpen(os.Getpid(), 0)
		if err != nil {
			t.Skipf("pidfd_open: %v", err)
		}
		p := &Process{Pid: os.Getpid(), PidFD: pidfd}
		o := StartOptions{Spec: spec, PackedSpec: c.held}
		done := make(chan error, 1)
		go func() { done <- p.handshake(parent, o, viewOf(spec)) }()
		m, _, err := recv(child)
		if err != nil || m == nil {
			t.Fatalf("%s: recv: %v, %v", c.name, m, err)
		}
		if m.Type != "spec" || !bytes.Equal(m.Spec, c.want) {
			t.Errorf("%s: the stage got %s %x, want spec %x", c.name, m.Type, m.Spec, c.want)
		}
		// The stage's exec: its end closes.
		if err := unix.Shutdown(child, unix.SHUT_RDWR); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Errorf("%s: handshake: %v", c.name, err)
		}
		unix.Close(pidfd)
	}
}
