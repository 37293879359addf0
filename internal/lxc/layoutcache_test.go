package lxc

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
)

// countedCache is a layout cache whose reads are counted, watching the
// real mount table and a PID 1 cgroup file of the test's.
func countedCache(t *testing.T) (*layoutCache, *int) {
	t.Helper()
	skipUnlessRoot(t)
	c := newLayoutCache()
	if c == nil {
		t.Fatal("no layout cache for root")
	}
	t.Cleanup(c.Close)
	c.pid1 = filepath.Join(t.TempDir(), "cgroup")
	if err := os.WriteFile(c.pid1, []byte("0::/\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	reads := 0
	c.detect = func() (*cgroup.Layout, error) {
		reads++
		return &cgroup.Layout{
			V1:                 []cgroup.Hierarchy{{Mount: "/sys/fs/cgroup/cpu", Base: "/sys/fs/cgroup/cpu", Controllers: []string{"cpu", "cpuacct"}}},
			Unified:            "/sys/fs/cgroup/unified",
			UnifiedControllers: []string{"hugetlb"},
		}, nil
	}
	return c, &reads
}

func mustGet(t *testing.T, c *layoutCache) *cgroup.Layout {
	t.Helper()
	l, err := c.get()
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestLayoutCacheReadsOnce: a shared monitor reads the layout once, not
// at every start, and each start gets a copy of its own (one monitor
// changing its copy changes no other's).
func TestLayoutCacheReadsOnce(t *testing.T) {
	c, reads := countedCache(t)
	first := mustGet(t, c)
	first.V1[0].Controllers[0] = "changed"
	first.UnifiedControllers[0] = "changed"
	first.V1 = append(first.V1, cgroup.Hierarchy{Mount: "/x"})
	second := mustGet(t, c)
	if *reads != 1 {
		t.Fatalf("layout read %d times for two starts with no change, want 1", *reads)
	}
	want, _ := c.detect()
	if !reflect.DeepEqual(second, want) {
		t.Fatalf("second start got %+v, want %+v (the first start's changes leaked)", second, want)
	}
}

// TestLayoutCacheMountChange: a mount made or removed anywhere on the
// host after the layout was read (a cgroup hierarchy, say) has the next
// start read it anew, once.
func TestLayoutCacheMountChange(t *testing.T) {
	c, reads := countedCache(t)
	mustGet(t, c)
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Fatalf("mount a tmpfs: %v", err)
	}
	mounted := true
	defer func() {
		if mounted {
			_ = unix.Unmount(dir, unix.MNT_DETACH)
		}
	}()
	mustGet(t, c)
	if *reads != 2 {
		t.Fatalf("layout read %d times, want 2: a mount made since was not seen", *reads)
	}
	mustGet(t, c)
	if *reads != 2 {
		t.Fatalf("layout read %d times, want 2: read again with no change since", *reads)
	}
	if err := unix.Unmount(dir, 0); err != nil {
		t.Fatal(err)
	}
	mounted = false
	mustGet(t, c)
	if *reads != 3 {
		t.Fatalf("layout read %d times, want 3: an unmount since was not seen", *reads)
	}
}

// TestLayoutCachePid1Moved: PID 1 in other cgroups than when the layout
// was read (the bases are under its cgroups) has it read anew.
func TestLayoutCachePid1Moved(t *testing.T) {
	c, reads := countedCache(t)
	mustGet(t, c)
	if err := os.WriteFile(c.pid1, []byte("0::/init.scope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	mustGet(t, c)
	if *reads != 2 {
		t.Fatalf("layout read %d times, want 2: PID 1's move was not seen", *reads)
	}
}

// TestLayoutCacheFailureNotKept: a failed read is not remembered, and a
// PID 1 cgroup file that cannot be read fails the start's read.
func TestLayoutCacheFailureNotKept(t *testing.T) {
	c, reads := countedCache(t)
	ok := c.detect
	c.detect = func() (*cgroup.Layout, error) {
		*reads++
		return nil, errors.New("no cgroup hierarchy is mounted")
	}
	if _, err := c.get(); err == nil {
		t.Fatal("a failed read gave a layout")
	}
	c.detect = ok
	mustGet(t, c)
	if *reads != 2 {
		t.Fatalf("layout read %d times, want 2: the failure was kept", *reads)
	}
	if err := os.Remove(c.pid1); err != nil {
		t.Fatal(err)
	}
	if _, err := c.get(); err == nil {
		t.Fatal("a layout came with PID 1's cgroups unreadable")
	}
}

// TestLayoutCacheNil: without a cache (a user's monitor) every start
// reads the host's layout itself.
func TestLayoutCacheNil(t *testing.T) {
	var c *layoutCache
	c.Close()
	want, wantErr := cgroup.Detect()
	got, err := c.get()
	if (err == nil) != (wantErr == nil) || !reflect.DeepEqual(got, want) {
		t.Fatalf("no cache: got %+v, %v; the host's layout is %+v, %v", got, err, want, wantErr)
	}
}
