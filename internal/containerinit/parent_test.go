package containerinit

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/namespace"
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
