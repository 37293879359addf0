// Package storage owns a container's backing store: what lxc.rootfs.path
// names (a directory, an overlay of two, a btrfs subvolume, an image file
// on a loop device), how such a rootfs is mounted, copied and snapshotted.
// It knows nothing of configs or processes: it is handed paths.
package storage

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Kind is a backing store type, spelled as LXC spells it in
// lxc.rootfs.path and in lxc-create -B / lxc-copy -B.
type Kind string

// The stores golxc builds.
const (
	Dir     Kind = "dir"
	Overlay Kind = "overlay"
	Btrfs   Kind = "btrfs"
	Loop    Kind = "loop"
)

// refused are LXC's other stores: named in a one-line refusal.
var refused = []string{"lvm", "zfs", "rbd", "nbd", "aufs", "overlayfs-fuse"}

// Rootfs is a parsed lxc.rootfs.path.
type Rootfs struct {
	Kind Kind
	// Path is the directory (dir, btrfs), the image file (loop) or the
	// upper directory (overlay).
	Path string
	// Lower is an overlay's read-only lower directory.
	Lower string
}

// ErrUnsupported names a store golxc does not build.
type ErrUnsupported struct{ Store, Value string }

func (e *ErrUnsupported) Error() string {
	return fmt.Sprintf("lxc.rootfs.path %s: backing store %s is not supported", e.Value, e.Store)
}

// Parse reads lxc.rootfs.path as LXC writes it: dir:PATH or PATH,
// overlay:LOWER:UPPER (overlayfs: too), btrfs:PATH, loop:FILE. A plain
// path on btrfs that is a subvolume is a btrfs store, as LXC detects it.
func Parse(raw string) (Rootfs, error) {
	if raw == "" {
		return Rootfs{}, errors.New("lxc.rootfs.path is not set")
	}
	if strings.HasPrefix(raw, "/") {
		r := Rootfs{Kind: Dir, Path: filepath.Clean(raw)}
		if IsSubvolume(r.Path) {
			r.Kind = Btrfs
		}
		return r, nil
	}
	store, rest, ok := strings.Cut(raw, ":")
	if !ok {
		return Rootfs{}, fmt.Errorf("lxc.rootfs.path %s: want an absolute path or STORE:PATH", raw)
	}
	abs := func(p string) (string, error) {
		if !filepath.IsAbs(p) {
			return "", fmt.Errorf("lxc.rootfs.path %s: %q is not an absolute path", raw, p)
		}
		return filepath.Clean(p), nil
	}
	switch store {
	case "dir", "btrfs", "loop":
		p, err := abs(rest)
		if err != nil {
			return Rootfs{}, err
		}
		return Rootfs{Kind: Kind(store), Path: p}, nil
	case "overlay", "overlayfs":
		lower, upper, ok := strings.Cut(rest, ":")
		if !ok {
			return Rootfs{}, fmt.Errorf("lxc.rootfs.path %s: want overlay:LOWER:UPPER", raw)
		}
		l, err := abs(lower)
		if err != nil {
			return Rootfs{}, err
		}
		u, err := abs(upper)
		if err != nil {
			return Rootfs{}, err
		}
		return Rootfs{Kind: Overlay, Lower: l, Path: u}, nil
	}
	for _, s := range refused {
		if store == s {
			return Rootfs{}, &ErrUnsupported{Store: s, Value: raw}
		}
	}
	return Rootfs{}, fmt.Errorf("lxc.rootfs.path %s: unknown backing store %q", raw, store)
}

// String is the rootfs as lxc.rootfs.path, as LXC writes it.
func (r Rootfs) String() string {
	if r.Kind == Overlay {
		return "overlay:" + r.Lower + ":" + r.Path
	}
	return string(r.Kind) + ":" + r.Path
}

// WorkDir is an overlay's work directory, beside its upper one as LXC
// places it (NAME/overlay/delta and NAME/overlay/work).
func (r Rootfs) WorkDir() string { return filepath.Join(filepath.Dir(r.Path), "work") }

// ParseKind checks a -B value: the stores built, and LXC's others refused
// in one line.
func ParseKind(s string) (Kind, error) {
	switch Kind(s) {
	case Dir, Overlay, Btrfs, Loop:
		return Kind(s), nil
	case "overlayfs":
		return Overlay, nil
	}
	for _, r := range refused {
		if s == r {
			return "", fmt.Errorf("backing store %s is not supported (dir, overlay, btrfs and loop are)", s)
		}
	}
	return "", fmt.Errorf("unknown backing store %q (dir, overlay, btrfs, loop)", s)
}

// OnBtrfs reports whether path is on a btrfs filesystem.
func OnBtrfs(path string) bool {
	var fs unix.Statfs_t
	return unix.Statfs(path, &fs) == nil && fs.Type == unix.BTRFS_SUPER_MAGIC
}
