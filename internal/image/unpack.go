package image

import (
	"archive/tar"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"github.com/golxc/golxc/internal/rootfs"
	"github.com/golxc/golxc/internal/storage"
	"golang.org/x/sys/unix"
)

// IDShift turns an owner recorded in a layer into the owner on disk: the
// identity for a container without lxc.idmap, the host ids of its map
// otherwise. An id outside the map is an error.
type IDShift func(uid, gid int) (int, int, error)

// Unpacker applies layers, in order, to one root directory. Every path of
// a layer is resolved by the kernel inside that directory (openat2
// RESOLVE_IN_ROOT), and every last component is made or changed without
// following a link, so that no entry of a hostile layer reaches outside it.
type Unpacker struct {
	root  *rootfs.Root // no path leaves it, nor crosses a mount
	shift IDShift
	// Skipped counts extended attributes not kept (outside user.* and
	// security.capability); FirstSkipped names the first.
	Skipped      int
	FirstSkipped string
	// SkippedDevices counts the device nodes not made for a container
	// with an id map.
	SkippedDevices int
	// Interrupted, when set, is asked before each entry: an error it
	// returns stops the unpacking (the caller discards the root).
	Interrupted func() error
	mapped      bool
}

// NewUnpacker opens dir, which must exist, as the root to unpack into.
// shift may be nil (owners kept as recorded).
func NewUnpacker(dir string, shift IDShift) (*Unpacker, error) {
	root, err := rootfs.OpenTree(dir)
	if err != nil {
		return nil, err
	}
	u := &Unpacker{root: root, shift: shift, mapped: shift != nil}
	if shift == nil {
		u.shift = func(uid, gid int) (int, int, error) { return uid, gid, nil }
	}
	return u, nil
}

// Close releases the root's descriptor.
func (u *Unpacker) Close() error { return u.root.Close() }

// layerState is what one layer has written so far: an opaque directory
// removes only what earlier layers put there, and directory times are set
// once the layer's entries below them are in place.
type layerState struct {
	written map[string]bool
	dirs    []dirTime
	// touched are the directories of earlier layers this layer changed,
	// with their times before: a change below a directory is not a
	// change of the directory the image records.
	touched map[string][2]unix.Timespec
}

type dirTime struct {
	rel  string
	hdr  *tar.Header
	root bool
}

// Apply unpacks one uncompressed layer (a tar stream). Whiteouts
// (.wh.NAME) remove NAME, and an opaque marker (.wh..wh..opq) empties its
// directory of what earlier layers made, as the OCI image spec's layer
// format says.
func (u *Unpacker) Apply(r io.Reader) error {
	st := &layerState{written: map[string]bool{}, touched: map[string][2]unix.Timespec{}}
	tr := tar.NewReader(r)
	buf := make([]byte, 1<<20)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read layer: %w", err)
		}
		if u.Interrupted != nil {
			if err := u.Interrupted(); err != nil {
				return &stopError{err}
			}
		}
		if err := u.entry(tr, hdr, st, buf); err != nil {
			return fmt.Errorf("layer entry %q: %w", hdr.Name, err)
		}
	}
	for rel, ts := range st.touched {
		if err := u.restoreTimes(rel, ts); err != nil {
			return err
		}
	}
	// Deepest first: setting a directory's times does not change its
	// parent's, but making a child does.
	for i := len(st.dirs) - 1; i >= 0; i-- {
		d := st.dirs[i]
		if err := u.setTimes(d.rel, d.hdr); err != nil {
			return fmt.Errorf("layer entry %q: %w", d.hdr.Name, err)
		}
	}
	return nil
}

// stopError is Interrupted's error: the layer's remaining bytes are not
// read for its digests.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

// cleanName is a layer entry's path relative to the root, "" for the root
// itself. A ".." component is refused outright: no image made by a
// builder has one, and its meaning inside the root would be a guess.
func cleanName(name string) (string, error) {
	var parts []string
	for _, p := range strings.Split(name, "/") {
		switch p {
		case "", ".":
			continue
		case "..":
			return "", errors.New("a path with \"..\" climbs out of the rootfs: refused")
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, "/"), nil
}

func splitRel(rel string) (dir, base string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return ".", rel
	}
	return rel[:i], rel[i+1:]
}

// parentDir opens the directory that holds rel, making missing
// directories on the way (owned by the root's root, mode 0755) as
// unpackers do for a layer that lists a file before, or without, its
// directory.
func (u *Unpacker) parentDir(dir string) (int, error) {
	fd, err := u.root.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY)
	if !errors.Is(err, unix.ENOENT) {
		return fd, err
	}
	uid, gid, err := u.shift(0, 0)
	if err != nil {
		return -1, err
	}
	if err := u.root.MkdirAllOwned(dir, 0o755, uid, gid); err != nil {
		return -1, err
	}
	return u.root.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY)
}

func (u *Unpacker) entry(r io.Reader, hdr *tar.Header, st *layerState, buf []byte) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return err
	}
	if rel == "" {
		// The root itself: its owner, mode and times, not its existence.
		if hdr.Typeflag != tar.TypeDir {
			return errors.New("the rootfs itself can only be a directory")
		}
		fd, err := u.root.OpenFile(".", unix.O_RDONLY|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		if err := u.setMeta(fd, "", hdr, true); err != nil {
			return err
		}
		st.dirs = append(st.dirs, dirTime{rel: ".", hdr: hdr, root: true})
		return nil
	}
	dir, base := splitRel(rel)
	u.touch(dir, st)
	if strings.HasPrefix(base, whiteoutPrefix) {
		return u.whiteout(dir, base, st)
	}
	pfd, err := u.parentDir(dir)
	if err != nil {
		return err
	}
	defer unix.Close(pfd)

	var old unix.Stat_t
	exists := unix.Fstatat(pfd, base, &old, unix.AT_SYMLINK_NOFOLLOW) == nil
	keepDir := exists && hdr.Typeflag == tar.TypeDir && old.Mode&unix.S_IFMT == unix.S_IFDIR
	if exists && !keepDir {
		if err := storage.RemoveAt(pfd, base, "/"+dir); err != nil {
			return err
		}
	}
	st.written[rel] = true

	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA, tar.TypeGNUSparse:
		fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("create %s: %w", rel, err)
		}
		f := fdFile(fd, rel)
		_, cerr := io.CopyBuffer(writerOnly{f}, r, buf)
		if cerr == nil {
			cerr = u.setMeta(fd, rel, hdr, true)
		}
		f.Close()
		if cerr != nil {
			return fmt.Errorf("write %s: %w", rel, cerr)
		}
	case tar.TypeDir:
		if !keepDir {
			if err := unix.Mkdirat(pfd, base, 0o700); err != nil {
				return fmt.Errorf("mkdir %s: %w", rel, err)
			}
		}
		if err := u.setMetaAt(pfd, base, rel, hdr, unix.O_RDONLY|unix.O_DIRECTORY); err != nil {
			return err
		}
		st.dirs = append(st.dirs, dirTime{rel: rel, hdr: hdr})
		return nil
	case tar.TypeSymlink:
		if err := unix.Symlinkat(hdr.Linkname, pfd, base); err != nil {
			return fmt.Errorf("symlink %s: %w", rel, err)
		}
		uid, gid, err := u.shift(hdr.Uid, hdr.Gid)
		if err != nil {
			return err
		}
		if err := unix.Fchownat(pfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return fmt.Errorf("chown %s: %w", rel, err)
		}
	case tar.TypeLink:
		target, err := cleanName(hdr.Linkname)
		if err != nil {
			return fmt.Errorf("hard link to %q: %w", hdr.Linkname, err)
		}
		if target == "" {
			return errors.New("hard link to the rootfs itself")
		}
		tdir, tbase := splitRel(target)
		tfd, err := u.root.OpenFile(tdir, unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return fmt.Errorf("hard link to %s: %w", target, err)
		}
		// No AT_SYMLINK_FOLLOW: a link names the entry itself, and a
		// symlink there is linked as a symlink, never followed.
		err = unix.Linkat(tfd, tbase, pfd, base, 0)
		unix.Close(tfd)
		if err != nil {
			return fmt.Errorf("hard link %s to %s: %w", rel, target, err)
		}
		return nil
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		if u.mapped && hdr.Typeflag != tar.TypeFifo {
			// Made by host root, a node would be one that the
			// container's root could not make (mknod is refused in
			// a user namespace) and may open where no device cgroup
			// rule stops it (userns.conf clears them): the image's
			// disk node would be the host's disk.
			delete(st.written, rel)
			u.SkippedDevices++
			return nil
		}
		kind := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknodat(pfd, base, kind|0o600, int(dev)); err != nil {
			return fmt.Errorf("mknod %s: %w", rel, err)
		}
		if err := u.setMetaAt(pfd, base, rel, hdr, unix.O_PATH); err != nil {
			return err
		}
	default:
		return fmt.Errorf("entry type %q is not a file, directory, link or device", string(hdr.Typeflag))
	}
	return u.setTimesAt(pfd, base, rel, hdr)
}

// setMeta gives fd (of rel, just made) its owner, then its mode (a chown
// clears set-id bits), then its extended attributes. full says fd is
// open for I/O; an O_PATH descriptor (a device node) takes its mode
// through /proc/self/fd and carries no extended attributes.
func (u *Unpacker) setMeta(fd int, rel string, hdr *tar.Header, full bool) error {
	uid, gid, err := u.shift(hdr.Uid, hdr.Gid)
	if err != nil {
		return err
	}
	if err := unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH); err != nil {
		return fmt.Errorf("chown %s: %w", rel, err)
	}
	mode := uint32(hdr.Mode) & 0o7777
	if full {
		err = unix.Fchmod(fd, mode)
	} else {
		err = unix.Chmod("/proc/self/fd/"+strconv.Itoa(fd), mode)
	}
	if err != nil {
		return fmt.Errorf("chmod %s: %w", rel, err)
	}
	if !full {
		return nil
	}
	for k, v := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(k, "SCHILY.xattr.")
		if !ok {
			continue
		}
		value := []byte(v)
		switch {
		case strings.HasPrefix(name, "user."):
		case name == "security.capability":
			if value, err = u.fileCaps(value); err != nil {
				return fmt.Errorf("%s: %s: %w", rel, name, err)
			}
		default:
			// trusted.* (overlayfs's own markers among them),
			// security.* labels and POSIX ACLs (whose ids an id
			// map would have to shift) are not the image's to set.
			if u.Skipped == 0 {
				u.FirstSkipped = name + " on /" + rel
			}
			u.Skipped++
			continue
		}
		if err := unix.Fsetxattr(fd, name, value, 0); err != nil {
			return fmt.Errorf("set %s on %s: %w", name, rel, err)
		}
	}
	return nil
}

// setMetaAt is setMeta for base in pfd, just made, opened with flags
// (O_PATH for what cannot be opened for I/O), never through a link.
func (u *Unpacker) setMetaAt(pfd int, base, rel string, hdr *tar.Header, flags int) error {
	fd, err := unix.Openat(pfd, base, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", rel, err)
	}
	defer unix.Close(fd)
	return u.setMeta(fd, rel, hdr, flags&unix.O_PATH == 0)
}

// Capability xattr layouts (capabilities(7), "File capability extended
// attribute versioning").
const (
	capRevMask = 0xff000000
	capRev2    = 0x02000000
	capRev3    = 0x03000000
	capV2Len   = 20
	capV3Len   = 24
)

// fileCaps checks a security.capability value and, for a container with
// an id map, makes it a version 3 value whose root is the container's
// root, so that the capabilities work inside its user namespace and
// nowhere else.
func (u *Unpacker) fileCaps(v []byte) ([]byte, error) {
	if len(v) < 4 {
		return nil, errors.New("too short")
	}
	magic := binary.LittleEndian.Uint32(v)
	var rootid uint32
	switch {
	case magic&capRevMask == capRev2 && len(v) == capV2Len:
	case magic&capRevMask == capRev3 && len(v) == capV3Len:
		rootid = binary.LittleEndian.Uint32(v[capV2Len:])
	default:
		return nil, fmt.Errorf("not a version 2 or 3 file capability (%d bytes, magic %#x)", len(v), magic)
	}
	if !u.mapped && rootid == 0 {
		return v, nil
	}
	host, _, err := u.shift(int(rootid), 0)
	if err != nil {
		return nil, err
	}
	out := make([]byte, capV3Len)
	copy(out, v[:capV2Len])
	binary.LittleEndian.PutUint32(out, magic&^capRevMask|capRev3)
	binary.LittleEndian.PutUint32(out[capV2Len:], uint32(host))
	return out, nil
}

func (u *Unpacker) setTimes(rel string, hdr *tar.Header) error {
	if rel == "." {
		fd, err := u.root.OpenFile(".", unix.O_PATH|unix.O_DIRECTORY)
		if err != nil {
			return err
		}
		defer unix.Close(fd)
		return u.setTimesAt(fd, "", rel, hdr)
	}
	dir, base := splitRel(rel)
	pfd, err := u.root.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		// A later entry of the layer replaced or removed it.
		return nil
	}
	defer unix.Close(pfd)
	return u.setTimesAt(pfd, base, rel, hdr)
}

func (u *Unpacker) setTimesAt(pfd int, base, rel string, hdr *tar.Header) error {
	at := hdr.AccessTime
	if at.IsZero() {
		at = hdr.ModTime
	}
	ts := []unix.Timespec{unix.NsecToTimespec(at.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
	flags := unix.AT_SYMLINK_NOFOLLOW
	if base == "" {
		// The root: utimensat(2) takes no AT_EMPTY_PATH; its /proc
		// name is a descriptor already opened without following.
		base, pfd, flags = "/proc/self/fd/"+strconv.Itoa(pfd), unix.AT_FDCWD, 0
	}
	if err := unix.UtimesNanoAt(pfd, base, ts, flags); err != nil {
		return fmt.Errorf("set times of %s: %w", rel, err)
	}
	return nil
}

const (
	whiteoutPrefix = ".wh."
	opaqueMarker   = ".wh..wh..opq"
	// whiteoutMeta prefixes the other markers some builders write
	// (.wh..wh.plnk, .wh..wh.aufs): internal to them, not files.
	whiteoutMeta = ".wh..wh."
)

// touch records the times of dir, an earlier layer's directory this
// layer is about to change, once per layer.
func (u *Unpacker) touch(dir string, st *layerState) {
	if dir == "." {
		dir = ""
	}
	if st.written[dir] {
		return
	}
	if _, ok := st.touched[dir]; ok {
		return
	}
	fd, err := u.root.OpenFile(dir, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return // made by this layer, or not there: nothing to keep
	}
	defer unix.Close(fd)
	var s unix.Stat_t
	if unix.Fstat(fd, &s) == nil {
		st.touched[dir] = [2]unix.Timespec{s.Atim, s.Mtim}
	}
}

// restoreTimes puts back the times touch recorded, on the directory found
// at rel now, if it is still a directory.
func (u *Unpacker) restoreTimes(rel string, ts [2]unix.Timespec) error {
	fd, err := u.root.OpenFile(rel, unix.O_PATH|unix.O_DIRECTORY)
	if err != nil {
		return nil // removed or replaced by the layer
	}
	defer unix.Close(fd)
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), ts[:], 0); err != nil {
		return fmt.Errorf("set times of /%s: %w", rel, err)
	}
	return nil
}

// whiteout applies a whiteout entry found in dir: never written itself.
func (u *Unpacker) whiteout(dir, base string, st *layerState) error {
	pfd, err := u.root.OpenFile(dir, unix.O_RDONLY|unix.O_DIRECTORY)
	if errors.Is(err, unix.ENOENT) {
		return nil // nothing below to hide
	}
	if err != nil {
		return err
	}
	defer unix.Close(pfd)
	switch {
	case base == opaqueMarker:
		names, err := storage.ReadNames(pfd)
		if err != nil {
			return fmt.Errorf("read directory %s: %w", dir, err)
		}
		for _, n := range names {
			if st.written[path.Join(dir, n)] {
				continue
			}
			if err := storage.RemoveAt(pfd, n, "/"+dir); err != nil {
				return err
			}
		}
		return nil
	case strings.HasPrefix(base, whiteoutMeta):
		return nil
	}
	name := strings.TrimPrefix(base, whiteoutPrefix)
	if name == "" || name == "." || name == ".." {
		return fmt.Errorf("whiteout of %q: refused", name)
	}
	if st.written[path.Join(dir, name)] {
		// A whiteout hides what lower layers have, never what its own
		// layer made (the image spec's layer.md).
		return nil
	}
	return storage.RemoveAt(pfd, name, "/"+dir)
}
