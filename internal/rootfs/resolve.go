package rootfs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Root is the container's root directory, opened once so that every path
// below it is resolved by the kernel as if it were "/" (openat2
// RESOLVE_IN_ROOT): a symlink in the container's tree cannot make a mount
// land on the host.
type Root struct {
	Path string
	fd   int
	// oneMount adds RESOLVE_NO_XDEV: no path crosses a mount (OpenTree).
	oneMount bool
}

// OpenRoot opens dir as a container root.
func OpenRoot(dir string) (*Root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs %s: %w", dir, err)
	}
	return &Root{Path: dir, fd: fd}, nil
}

// OpenTree opens dir, which must not be a symlink, as a root that no path
// leaves by crossing a mount either (RESOLVE_NO_XDEV): for a tree written
// from untrusted input (an image's layers), where nothing mounted below
// is the tree's.
func OpenTree(dir string) (*Root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open rootfs %s: %w", dir, err)
	}
	return &Root{Path: dir, fd: fd, oneMount: true}, nil
}

// RootFromFD makes a container root of fd, a descriptor of the root
// directory (of a mount already attached where dir names it), which the
// Root owns from now on. dir is for messages only.
func RootFromFD(dir string, fd int) *Root {
	return &Root{Path: dir, fd: fd}
}

// Within reports whether path, a host path, names something inside the
// root's directory (Path) by its name, and if so its path relative to it:
// such a source is the container's, looked up in the root (Open), never
// through its symlinks on the host. Other paths are the host's.
func (r *Root) Within(path string) (string, bool) {
	if rel, ok := within(r.Path, path); ok {
		return rel, true
	}
	var st unix.Stat_t
	if unix.Fstat(r.fd, &st) != nil {
		return "", false
	}
	return withinByIdentity(&st, path)
}

// withinByIdentity finds the root (st) among path's leading directories
// opened as the host resolves them: the same root spelled through a host
// symlink (/var/lib/lxc -> /srv/lxc, either way round) is still the
// container's, and what follows it is looked up inside. The leading
// directories are the host's until the root is met: their links are
// followed as any host path's.
func withinByIdentity(st *unix.Stat_t, path string) (string, bool) {
	if !filepath.IsAbs(path) {
		return "", false
	}
	comps := strings.Split(strings.TrimPrefix(filepath.Clean(path), "/"), "/")
	for i := 1; i < len(comps); i++ {
		var d unix.Stat_t
		if unix.Stat("/"+strings.Join(comps[:i], "/"), &d) != nil {
			return "", false
		}
		if d.Dev == st.Dev && d.Ino == st.Ino {
			return strings.Join(comps[i:], "/"), true
		}
	}
	return "", false
}

func within(dir, path string) (string, bool) {
	if dir == "" || !filepath.IsAbs(dir) || !filepath.IsAbs(path) {
		return "", false
	}
	rel, err := filepath.Rel(filepath.Clean(dir), filepath.Clean(path))
	if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.Clean(dir) == "/" {
		return "", false
	}
	return rel, true
}

// OpenWithin opens path (O_PATH) resolved inside dir when path lies
// under it, by name or through host links to it (Within), else as the
// host's path it is.
func OpenWithin(dir, path string) (int, error) {
	rel, ok := within(dir, path)
	if !ok && dir != "" && filepath.Clean(dir) != "/" {
		var st unix.Stat_t
		if unix.Stat(dir, &st) == nil {
			rel, ok = withinByIdentity(&st, path)
		}
	}
	if !ok {
		fd, err := unix.Open(path, unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("open %s: %w", path, err)
		}
		return fd, nil
	}
	r, err := OpenRoot(dir)
	if err != nil {
		return -1, err
	}
	defer r.Close()
	return r.Open(rel)
}

// Close releases the root's descriptor.
func (r *Root) Close() error {
	return unix.Close(r.fd)
}

func (r *Root) openat(rel string, flags int) (int, error) {
	return r.openat3(rel, flags, 0)
}

// openat3 opens rel ("" is the root itself) inside the root.
func (r *Root) openat3(rel string, flags int, mode uint32) (int, error) {
	if rel == "" {
		rel = "."
	}
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Mode:    uint64(mode),
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS,
	}
	if r.oneMount {
		how.Resolve |= unix.RESOLVE_NO_XDEV
	}
	for {
		fd, err := unix.Openat2(r.fd, rel, &how)
		// EAGAIN: a rename elsewhere raced the lookup (openat2(2)).
		if err == unix.EINTR || err == unix.EAGAIN {
			continue
		}
		return fd, err
	}
}

// Open returns an O_PATH descriptor of rel (a path inside the root).
func (r *Root) Open(rel string) (int, error) {
	fd, err := r.openat(rel, unix.O_PATH)
	if err != nil {
		return -1, fmt.Errorf("open %s in rootfs: %w", rel, err)
	}
	return fd, nil
}

// MkdirAll makes rel and its parents inside the root.
func (r *Root) MkdirAll(rel string, mode uint32) error {
	return r.MkdirAllOwned(rel, mode, -1, -1)
}

// MkdirAllOwned is MkdirAll giving each directory it makes the owner
// uid:gid (-1 keeps the caller's): an image's root, not host root, owns
// the directories a layer needs but does not list.
func (r *Root) MkdirAllOwned(rel string, mode uint32, uid, gid int) error {
	cur := "."
	for _, part := range strings.Split(filepath.Clean("/"+rel), "/") {
		if part == "" {
			continue
		}
		parent, err := r.openat(cur, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return fmt.Errorf("open %s in rootfs: %w", cur, err)
		}
		err = unix.Mkdirat(parent, part, mode)
		if err == nil && (uid >= 0 || gid >= 0) {
			// Chowned through a descriptor of the directory made: a
			// name swapped meanwhile for a hard link to a host file
			// fails O_DIRECTORY instead of being chowned.
			if err = chownDirAt(parent, part, uid, gid); err != nil {
				unix.Close(parent)
				return fmt.Errorf("chown %s in rootfs: %w", filepath.Join(cur, part), err)
			}
		}
		unix.Close(parent)
		if err != nil && err != unix.EEXIST {
			return fmt.Errorf("mkdir %s in rootfs: %w", filepath.Join(cur, part), err)
		}
		cur = filepath.Join(cur, part)
	}
	return nil
}

// CreateFile makes rel an empty file (and its parent directories) unless it
// exists.
func (r *Root) CreateFile(rel string, mode uint32) error {
	if err := r.MkdirAll(filepath.Dir(filepath.Clean("/"+rel)), 0o755); err != nil {
		return err
	}
	fd, err := r.openat3(rel, unix.O_CREAT|unix.O_WRONLY|unix.O_NOFOLLOW, mode)
	if err != nil {
		if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.EISDIR) {
			return nil
		}
		return fmt.Errorf("create %s in rootfs: %w", rel, err)
	}
	return unix.Close(fd)
}

// Exists says whether rel exists inside the root.
func (r *Root) Exists(rel string) bool {
	fd, err := r.openat(rel, unix.O_PATH)
	if err != nil {
		return false
	}
	unix.Close(fd)
	return true
}

// chownDirAt chowns the directory name in dir by a descriptor opened
// without following links.
func chownDirAt(dir int, name string, uid, gid int) error {
	fd, err := unix.Openat(dir, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	return unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH)
}

// OpenRegular opens rel in the root for reading only when it is a
// regular file: looked up O_PATH and checked first, then reopened, so
// that a name pointing at a device node (a fifo, a tape, a watchdog) is
// never opened for real on the host's side.
func (r *Root) OpenRegular(rel string) (int, error) {
	pfd, err := r.openat(rel, unix.O_PATH)
	if err != nil {
		return -1, fmt.Errorf("open %s in rootfs: %w", rel, err)
	}
	defer unix.Close(pfd)
	var st unix.Stat_t
	if err := unix.Fstat(pfd, &st); err != nil {
		return -1, fmt.Errorf("stat %s in rootfs: %w", rel, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFREG {
		return -1, fmt.Errorf("%s in the rootfs is not a regular file", rel)
	}
	fd, err := unix.Open(fdPath(pfd), unix.O_RDONLY|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open %s in rootfs: %w", rel, err)
	}
	return fd, nil
}

// fdPath names an open descriptor for mount(2), which takes paths only.
func fdPath(fd int) string {
	return "/proc/self/fd/" + strconv.Itoa(fd)
}

// isDir reports whether the O_PATH descriptor fd is a directory.
func isDir(fd int) bool {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return false
	}
	return st.Mode&unix.S_IFMT == unix.S_IFDIR
}

// hostIsDir reports whether a host path is a directory (for bind sources).
func hostIsDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// OpenFile opens rel inside the root with the given open(2) flags; the
// caller owns the descriptor.
func (r *Root) OpenFile(rel string, flags int) (int, error) {
	fd, err := r.openat(rel, flags)
	if err != nil {
		return -1, fmt.Errorf("open %s in rootfs: %w", rel, err)
	}
	return fd, nil
}
