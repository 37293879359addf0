package lxc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/cgroup"
)

// inPrivateMounts runs f on a thread of its own in a mount namespace of
// its own, which no mount made elsewhere reaches: other test processes
// (go test runs packages at once) mount and unmount on the host. The
// thread ends with f. Never the main thread: the process's namespaces
// are its (/proc/self/ns), and it cannot end.
func inPrivateMounts(t *testing.T, f func()) {
	t.Helper()
	skipUnlessRoot(t)
	failed := make(chan string, 1)
	var run func()
	run = func() {
		// Never unlocked: the thread goes with the goroutine.
		runtime.LockOSThread()
		if unix.Gettid() == unix.Getpid() {
			// Held here, the main thread takes no other goroutine.
			done := make(chan struct{})
			go func() { defer close(done); run() }()
			<-done
			runtime.UnlockOSThread()
			return
		}
		defer close(failed)
		if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
			failed <- fmt.Sprintf("unshare a mount namespace: %v", err)
			return
		}
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
			failed <- fmt.Sprintf("make the mounts private: %v", err)
			return
		}
		defer func() {
			if r := recover(); r != nil {
				failed <- fmt.Sprint(r)
			}
		}()
		f()
	}
	go run()
	if msg, ok := <-failed; ok {
		t.Fatal(msg)
	}
}

// countedCache is a layout cache whose reads are counted, watching the
// mount table of the calling thread's namespace (inPrivateMounts), a
// PID 1 cgroup file and a cgroup2 base of the test's.
func countedCache(t *testing.T) (*layoutCache, *int) {
	c := openLayoutCache("/proc/thread-self/mountinfo")
	if c == nil {
		panic("no layout cache")
	}
	t.Cleanup(c.Close)
	dir := t.TempDir()
	c.pid1 = filepath.Join(dir, "cgroup")
	if err := os.WriteFile(c.pid1, []byte("0::/\n"), 0o600); err != nil {
		panic(err)
	}
	unified := filepath.Join(dir, "unified")
	if err := os.MkdirAll(unified, 0o700); err != nil {
		panic(err)
	}
	if err := os.WriteFile(filepath.Join(unified, "cgroup.controllers"), []byte("hugetlb\n"), 0o600); err != nil {
		panic(err)
	}
	reads := 0
	c.detect = func() (*cgroup.Layout, error) {
		reads++
		b, err := os.ReadFile(filepath.Join(unified, "cgroup.controllers"))
		if err != nil {
			return nil, err
		}
		return &cgroup.Layout{
			V1:                 []cgroup.Hierarchy{{Mount: "/sys/fs/cgroup/cpu", Base: "/sys/fs/cgroup/cpu", Controllers: []string{"cpu", "cpuacct"}}},
			Unified:            unified,
			UnifiedControllers: strings.Fields(string(b)),
		}, nil
	}
	return c, &reads
}

// mustGet is c.get, from inPrivateMounts' thread (a panic fails the test).
func mustGet(c *layoutCache) *cgroup.Layout {
	l, err := c.get()
	if err != nil {
		panic(err)
	}
	return l
}

// fail ends a test body run by inPrivateMounts.
func fail(format string, args ...any) { panic(fmt.Sprintf(format, args...)) }

// TestLayoutCacheReadsOnce: a shared monitor reads the layout once, not
// at every start, and each start gets a copy of its own (one monitor
// changing its copy changes no other's).
func TestLayoutCacheReadsOnce(t *testing.T) {
	inPrivateMounts(t, func() {
		c, reads := countedCache(t)
		first := mustGet(c)
		first.V1[0].Controllers[0] = "changed"
		first.UnifiedControllers[0] = "changed"
		first.V1 = append(first.V1, cgroup.Hierarchy{Mount: "/x"})
		second := mustGet(c)
		if *reads != 1 {
			fail("layout read %d times for two starts with no change, want 1", *reads)
		}
		want, _ := c.detect()
		if !reflect.DeepEqual(second, want) {
			fail("second start got %+v, want %+v (the first start's changes leaked)", second, want)
		}
	})
}

// TestLayoutCacheMountChange: a mount made or removed after the layout
// was read (a cgroup hierarchy, say) has the next start read it anew,
// once.
func TestLayoutCacheMountChange(t *testing.T) {
	inPrivateMounts(t, func() {
		c, reads := countedCache(t)
		mustGet(c)
		dir := t.TempDir()
		if err := unix.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
			fail("mount a tmpfs: %v", err)
		}
		mustGet(c)
		if *reads != 2 {
			fail("layout read %d times, want 2: a mount made since was not seen", *reads)
		}
		mustGet(c)
		if *reads != 2 {
			fail("layout read %d times, want 2: read again with no change since", *reads)
		}
		if err := unix.Unmount(dir, 0); err != nil {
			fail("unmount: %v", err)
		}
		mustGet(c)
		if *reads != 3 {
			fail("layout read %d times, want 3: an unmount since was not seen", *reads)
		}
	})
}

// TestLayoutCachePid1Moved: PID 1 in other cgroups than when the layout
// was read (the bases are under its cgroups) has it read anew.
func TestLayoutCachePid1Moved(t *testing.T) {
	inPrivateMounts(t, func() {
		c, reads := countedCache(t)
		mustGet(c)
		if err := os.WriteFile(c.pid1, []byte("0::/init.scope\n"), 0o600); err != nil {
			fail("%v", err)
		}
		mustGet(c)
		if *reads != 2 {
			fail("layout read %d times, want 2: PID 1's move was not seen", *reads)
		}
	})
}

// TestLayoutCacheControllersChanged: the cgroup2 base offering other
// controllers (a manager above a nested host's base changed its
// subtree_control; no mount changed) has the layout read anew, and the
// start gets the controllers offered now.
func TestLayoutCacheControllersChanged(t *testing.T) {
	inPrivateMounts(t, func() {
		c, reads := countedCache(t)
		l := mustGet(c)
		if err := os.WriteFile(filepath.Join(l.Unified, "cgroup.controllers"), []byte("cpu memory hugetlb\n"), 0o600); err != nil {
			fail("%v", err)
		}
		l = mustGet(c)
		if *reads != 2 || !slices.Equal(l.UnifiedControllers, []string{"cpu", "memory", "hugetlb"}) {
			fail("after the controllers changed: %d reads, controllers %v; want 2 reads and [cpu memory hugetlb]", *reads, l.UnifiedControllers)
		}
		mustGet(c)
		if *reads != 2 {
			fail("layout read %d times, want 2: read again with no change since", *reads)
		}
	})
}

// TestLayoutCacheFailureNotKept: a failed read is not remembered, and a
// PID 1 cgroup file that cannot be read fails the start's read.
func TestLayoutCacheFailureNotKept(t *testing.T) {
	inPrivateMounts(t, func() {
		c, reads := countedCache(t)
		ok := c.detect
		c.detect = func() (*cgroup.Layout, error) {
			*reads++
			return nil, errors.New("no cgroup hierarchy is mounted")
		}
		if _, err := c.get(); err == nil {
			fail("a failed read gave a layout")
		}
		c.detect = ok
		mustGet(c)
		if *reads != 2 {
			fail("layout read %d times, want 2: the failure was kept", *reads)
		}
		if err := os.Remove(c.pid1); err != nil {
			fail("%v", err)
		}
		if _, err := c.get(); err == nil {
			fail("a layout came with PID 1's cgroups unreadable")
		}
	})
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
