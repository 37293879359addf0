package rootfs

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// These tests need no privilege: openat2(2) and mkdirat(2) in a temp dir.

// testRoot opens a fresh container root. outside is a directory beside it,
// the target of the escaping symlinks: were a resolution to leave the root,
// it would land there, never on a host path that matters.
func testRoot(t *testing.T) (r *Root, dir, outside string) {
	t.Helper()
	dir, outside = t.TempDir(), t.TempDir()
	r, err := OpenRoot(dir)
	if errors.Is(err, unix.ENOSYS) {
		t.Skip("no openat2(2) on this kernel")
	}
	if err != nil {
		t.Fatalf("OpenRoot: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	links := map[string]string{
		"abs":      outside,                        // absolute, out of the root
		"rel":      "../" + filepath.Base(outside), // relative, to the root's sibling
		"dotdot":   "../../../../../../../..",      // far above /
		"etclink":  "/etc",
		"reletc":   "../../../etc",
		"self":     "/proc/self/root", // a magic link
		"dangling": "/no/such/dir",
		"loop":     "loop",
		"fileabs":  filepath.Join(outside, "target-file"),
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	// A container has its own /etc, where the /etc links must resolve.
	if err := os.Mkdir(filepath.Join(dir, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	return r, dir, outside
}

// mirror makes, inside the root, the directory the absolute and relative
// links resolve to there.
func mirror(t *testing.T, dir, outside string) {
	t.Helper()
	for _, d := range []string{filepath.Join(dir, outside), filepath.Join(dir, filepath.Base(outside))} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

// escaped fails the test when anything appeared in outside.
func escaped(t *testing.T, what, outside string) {
	t.Helper()
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("%s escaped the root: %s holds %v", what, outside, entries)
	}
}

func isDirAt(p string) bool {
	st, err := os.Lstat(p)
	return err == nil && st.IsDir()
}

func TestOpenRootErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(dir, "missing"), file} {
		r, err := OpenRoot(p)
		if err == nil {
			r.Close()
			t.Errorf("OpenRoot(%s) succeeded", p)
			continue
		}
		if !strings.Contains(err.Error(), p) {
			t.Errorf("OpenRoot(%s) error %q does not name the path", p, err)
		}
	}
}

func TestMkdirAll(t *testing.T) {
	r, dir, outside := testRoot(t)
	uniq := "golxc-test-" + strconv.Itoa(os.Getpid()) + "-" + filepath.Base(dir)

	// Resolved in the root, the links name directories the root does not
	// have yet: an error (as mkdir -p through a dangling link), and nothing
	// made outside.
	for _, rel := range []string{"abs/made", "rel/made"} {
		if err := r.MkdirAll(rel, 0o755); err == nil {
			t.Errorf("MkdirAll(%q) with no such directory in the root succeeded", rel)
		}
		escaped(t, "MkdirAll("+rel+")", outside)
	}
	mirror(t, dir, outside)

	tests := []struct {
		name   string
		rel    string
		inside string // where it must appear, relative to dir
	}{
		{name: "nested", rel: "a/b/c", inside: "a/b/c"},
		{name: "again", rel: "a/b/c", inside: "a/b/c"},
		{name: "absolute", rel: "/x/y", inside: "x/y"},
		{name: "dotdot cleaned", rel: "/x/../z/./w", inside: "z/w"},
		{name: "dotdot above root", rel: "../../../esc", inside: "esc"},
		{name: "through absolute symlink", rel: "abs/made", inside: strings.TrimPrefix(outside, "/") + "/made"},
		{name: "through relative symlink", rel: "rel/made", inside: filepath.Base(outside) + "/made"},
		{name: "through dotdot symlink", rel: "dotdot/made", inside: "made"},
		{name: "through /etc symlink", rel: "etclink/" + uniq, inside: "etc/" + uniq},
		{name: "through ../../../etc symlink", rel: "reletc/" + uniq + "-rel", inside: "etc/" + uniq + "-rel"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hostEtc := filepath.Join("/etc", filepath.Base(tt.inside))
			preexisting := false
			if strings.HasPrefix(tt.inside, "etc/") {
				if _, err := os.Lstat(hostEtc); err == nil {
					preexisting = true
				}
				t.Cleanup(func() {
					if !preexisting {
						os.Remove(hostEtc) // only if this test, escaping, made it
					}
				})
			}
			if err := r.MkdirAll(tt.rel, 0o755); err != nil {
				t.Fatalf("MkdirAll(%q): %v", tt.rel, err)
			}
			if !isDirAt(filepath.Join(dir, tt.inside)) {
				t.Errorf("MkdirAll(%q) did not make %s inside the root", tt.rel, tt.inside)
			}
			if !r.Exists(tt.rel) {
				t.Errorf("Exists(%q) = false after MkdirAll", tt.rel)
			}
			escaped(t, "MkdirAll("+tt.rel+")", outside)
			if !preexisting && strings.HasPrefix(tt.inside, "etc/") {
				if _, err := os.Lstat(hostEtc); err == nil {
					t.Errorf("MkdirAll(%q) escaped the root: made the host's %s", tt.rel, hostEtc)
				}
			}
		})
	}

	t.Run("refused", func(t *testing.T) {
		for _, rel := range []string{"dangling/x", "loop/x", "self/x"} {
			if err := r.MkdirAll(rel, 0o755); err == nil {
				t.Errorf("MkdirAll(%q) succeeded", rel)
			} else if !strings.Contains(err.Error(), "rootfs") {
				t.Errorf("MkdirAll(%q) error %q does not say where", rel, err)
			}
		}
		if _, err := os.Lstat("/no/such/dir"); err == nil {
			t.Error("MkdirAll made the dangling link's host target")
		}
	})

	t.Run("over a file", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "plain"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := r.MkdirAll("plain/sub", 0o755); err == nil {
			t.Error("MkdirAll through a regular file succeeded")
		}
	})
}

func TestCreateFile(t *testing.T) {
	r, dir, outside := testRoot(t)
	for _, rel := range []string{"abs/file", "rel/file"} {
		if err := r.CreateFile(rel, 0o644); err == nil {
			t.Errorf("CreateFile(%q) with no such directory in the root succeeded", rel)
		}
		escaped(t, "CreateFile("+rel+")", outside)
	}
	mirror(t, dir, outside)
	if err := r.MkdirAll("d", 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kept"), []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		rel    string
		inside string // the regular file it must leave, "" for none
	}{
		{name: "with parents", rel: "f/g/h.txt", inside: "f/g/h.txt"},
		{name: "absolute", rel: "/top", inside: "top"},
		{name: "exists", rel: "kept", inside: "kept"},
		{name: "a directory", rel: "d"},
		{name: "through absolute symlink", rel: "abs/file", inside: strings.TrimPrefix(outside, "/") + "/file"},
		{name: "through relative symlink", rel: "rel/file", inside: filepath.Base(outside) + "/file"},
		{name: "final symlink not followed", rel: "fileabs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.CreateFile(tt.rel, 0o644); err != nil {
				t.Fatalf("CreateFile(%q): %v", tt.rel, err)
			}
			if tt.inside != "" {
				st, err := os.Lstat(filepath.Join(dir, tt.inside))
				if err != nil || !st.Mode().IsRegular() {
					t.Errorf("CreateFile(%q): %s inside the root: %v, %v", tt.rel, tt.inside, st, err)
				}
			}
			escaped(t, "CreateFile("+tt.rel+")", outside)
		})
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "kept")); string(b) != "content" {
		t.Errorf("CreateFile truncated an existing file: %q", b)
	}
	if st, err := os.Lstat(filepath.Join(dir, "fileabs")); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("CreateFile replaced the symlink: %v %v", st, err)
	}
}

func TestExistsAndOpen(t *testing.T) {
	r, dir, outside := testRoot(t)
	if err := os.WriteFile(filepath.Join(outside, "only-outside"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		rel    string
		exists bool
		// want is where Open's descriptor points, relative to dir.
		want string
	}{
		{rel: "/", exists: true, want: "."},
		{rel: "etc", exists: true, want: "etc"},
		{rel: "etclink", exists: true, want: "etc"},
		{rel: "reletc", exists: true, want: "etc"},
		{rel: "../../..", exists: true, want: "."},
		{rel: "dotdot", exists: true, want: "."},
		{rel: "abs/only-outside", exists: false},
		{rel: "rel/only-outside", exists: false},
		{rel: "nope", exists: false},
		{rel: "dangling", exists: false},
		{rel: "self", exists: false}, // magic links refused
	}
	for _, tt := range tests {
		t.Run(tt.rel, func(t *testing.T) {
			if got := r.Exists(tt.rel); got != tt.exists {
				t.Errorf("Exists(%q) = %v, want %v", tt.rel, got, tt.exists)
			}
			fd, err := r.Open(tt.rel)
			if !tt.exists {
				if err == nil {
					unix.Close(fd)
					t.Errorf("Open(%q) succeeded", tt.rel)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", tt.rel, err)
			}
			defer unix.Close(fd)
			got, err := os.Readlink(fdPath(fd))
			if err != nil {
				t.Fatal(err)
			}
			if want := filepath.Join(dir, tt.want); got != want {
				t.Errorf("Open(%q) is %s, want %s", tt.rel, got, want)
			}
		})
	}
}

func TestSymlink(t *testing.T) {
	r, dir, outside := testRoot(t)
	if err := r.MkdirAll("dev", 0o755); err != nil {
		t.Fatal(err)
	}
	mirror(t, dir, outside)
	tests := []struct {
		name, target, rel string
		at                string // where the link must be, relative to dir
		wantTarget        string
	}{
		{name: "plain", target: "/proc/self/fd", rel: "dev/fd", at: "dev/fd", wantTarget: "/proc/self/fd"},
		{name: "absolute rel", target: "/proc/self/fd/0", rel: "/dev/stdin", at: "dev/stdin", wantTarget: "/proc/self/fd/0"},
		{name: "exists: kept", target: "/elsewhere", rel: "dev/fd", at: "dev/fd", wantTarget: "/proc/self/fd"},
		{name: "dangling exists: kept", target: "/x", rel: "dangling", at: "dangling", wantTarget: "/no/such/dir"},
		{name: "parent through a symlink", target: "t", rel: "abs/newlink", at: strings.TrimPrefix(outside, "/") + "/newlink", wantTarget: "t"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := r.Symlink(tt.target, tt.rel); err != nil {
				t.Fatalf("Symlink(%q, %q): %v", tt.target, tt.rel, err)
			}
			got, err := os.Readlink(filepath.Join(dir, tt.at))
			if err != nil || got != tt.wantTarget {
				t.Errorf("link %s -> %q, %v; want -> %q", tt.at, got, err, tt.wantTarget)
			}
			escaped(t, "Symlink("+tt.rel+")", outside)
		})
	}
	if err := r.Symlink("x", "missing-dir/link"); err == nil {
		t.Error("Symlink into a missing directory succeeded")
	}
}

// TestOpenTree: a tree root is refused through a symlink, crosses no
// mount below it (root only: a tmpfs is mounted there), and gives the
// directories MkdirAllOwned makes their owner, a link among the parents
// resolved inside it.
func TestOpenTree(t *testing.T) {
	dir, outside := t.TempDir(), t.TempDir()
	link := filepath.Join(outside, "link")
	if err := os.Symlink(dir, link); err != nil {
		t.Fatal(err)
	}
	if r, err := OpenTree(link); err == nil {
		r.Close()
		t.Errorf("OpenTree(%s), a symlink, succeeded", link)
	}
	r, err := OpenTree(dir)
	if err != nil {
		t.Fatalf("OpenTree: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	if err := os.Symlink("/"+filepath.Base(outside), filepath.Join(dir, "up")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, filepath.Base(outside)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := r.MkdirAllOwned("up/a/b", 0o755, 1234, 5678); err != nil {
		t.Fatalf("MkdirAllOwned: %v", err)
	}
	escaped(t, "MkdirAllOwned", filepath.Join(outside, "a"))
	for _, p := range []string{"a", "a/b"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, filepath.Base(outside), p), &st); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 && (st.Uid != 1234 || st.Gid != 5678) {
			t.Errorf("%s is owned by %d:%d; want 1234:5678", p, st.Uid, st.Gid)
		}
	}
	if os.Geteuid() != 0 {
		return
	}
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	if fd, err := r.OpenFile("mnt", unix.O_PATH); !errors.Is(err, unix.EXDEV) {
		if err == nil {
			unix.Close(fd)
		}
		t.Errorf("open of a mount point in a tree: %v; want EXDEV", err)
	}
	if err := r.MkdirAll("mnt/x", 0o755); err == nil {
		t.Error("MkdirAll below a mount point in a tree succeeded")
	}
}

// A fifo opened O_RDONLY would block until a writer came (a device node
// could act on open): OpenRegular must refuse both without opening them.
func TestOpenRegular(t *testing.T) {
	r, dir, _ := testRoot(t)
	if err := os.WriteFile(filepath.Join(dir, "passwd"), []byte("root:x:0:0::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(dir, "fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/fifo", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	fd, err := r.OpenRegular("passwd")
	if err != nil {
		t.Fatalf("OpenRegular(passwd): %v", err)
	}
	b := make([]byte, 4)
	if n, err := unix.Read(fd, b); err != nil || string(b[:n]) != "root" {
		t.Errorf("read passwd: %q, %v", b[:n], err)
	}
	unix.Close(fd)
	for _, name := range []string{"fifo", "link"} {
		done := make(chan error, 1)
		go func() {
			fd, err := r.OpenRegular(name)
			if err == nil {
				unix.Close(fd)
			}
			done <- err
		}()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "not a regular file") {
				t.Errorf("OpenRegular(%s) = %v; want \"not a regular file\"", name, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("OpenRegular(%s) blocked: it opened the fifo", name)
		}
	}
}

func TestWithin(t *testing.T) {
	for _, c := range []struct {
		dir, path, rel string
		ok             bool
	}{
		{"/b/rootfs", "/b/rootfs/vol", "vol", true},
		{"/b/rootfs/", "/b/rootfs/a/../vol", "vol", true},
		{"/b/rootfs", "/b/rootfs", ".", true},
		{"/b/rootfs", "/b/rootfsx/vol", "", false},
		{"/b/rootfs", "/b/given", "", false},
		{"/b/rootfs", "/b/rootfs/../given", "", false},
		{"/", "/etc/hosts", "", false},
		{"", "/etc/hosts", "", false},
		{"/b/rootfs", "vol", "", false},
	} {
		rel, ok := within(c.dir, c.path)
		if rel != c.rel || ok != c.ok {
			t.Errorf("within(%q, %q) = %q, %v; want %q, %v", c.dir, c.path, rel, ok, c.rel, c.ok)
		}
	}
}

// A source spelled through a host link to the rootfs (or the rootfs
// through one) is still the container's: its own links are not followed
// on the host.
func TestWithinThroughHostLink(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "srv")
	rootDir := filepath.Join(real, "c", "rootfs")
	if err := os.MkdirAll(rootDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, filepath.Join(base, "lib")); err != nil {
		t.Fatal(err)
	}
	host := t.TempDir()
	if err := os.Symlink(host, filepath.Join(rootDir, "data")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ dir, src string }{
		{filepath.Join(base, "lib", "c", "rootfs"), filepath.Join(real, "c", "rootfs", "data")},
		{rootDir, filepath.Join(base, "lib", "c", "rootfs", "data")},
	} {
		r, err := OpenRoot(c.dir)
		if err != nil {
			t.Fatal(err)
		}
		rel, ok := r.Within(c.src)
		r.Close()
		if !ok || rel != "data" {
			t.Errorf("rootfs %s: Within(%s) = %q, %v; want data, true", c.dir, c.src, rel, ok)
		}
		// The link's target does not exist inside the root: not found
		// there is right, the host's directory would be the escape.
		fd, err := OpenWithin(c.dir, c.src)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			t.Fatalf("OpenWithin(%s, %s): %v", c.dir, c.src, err)
		}
		var st, hst unix.Stat_t
		unix.Fstat(fd, &st)
		unix.Close(fd)
		unix.Stat(host, &hst)
		if st.Dev == hst.Dev && st.Ino == hst.Ino {
			t.Errorf("rootfs %s: OpenWithin(%s) followed the container's link to the host", c.dir, c.src)
		}
	}
	if _, ok := withinByIdentity(new(unix.Stat_t), "/b/rootfsx/vol"); ok {
		t.Error("an unrelated path matched a zero identity")
	}
}
