package lxc

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/storage"
)

// CloneHookRunner runs the lxc.hook.clone commands of a new container
// (lxc-copy(1), COPY HOOK). Hooks are built elsewhere: the one call site
// is in (*Container).Copy, after the clone is complete and in place; a
// failing hook fails the copy, and the clone is removed.
type CloneHookRunner interface {
	RunCloneHooks(h CloneHook) error
}

// CloneHook is what a clone hook is told (lxc-copy(1): LXC_NAME,
// LXC_SRC_NAME, LXC_CONFIG_FILE, LXC_ROOTFS_PATH, LXC_ROOTFS_MOUNT, the
// extra arguments of lxc-copy after --).
type CloneHook struct {
	Config     *config.Config
	Name       string // the new container
	LXCPath    string
	SrcName    string
	ConfigFile string
	RootfsPath string // lxc.rootfs.path as written in the new config
	Args       []string
}

// ErrCloneHooks refuses a copy of a container with lxc.hook.clone while
// golxc cannot run them: a copy that silently skipped them would differ
// from LXC's.
var ErrCloneHooks = errors.New("lxc.hook.clone is not supported yet")

// CopyOptions say how to copy a container (lxc-copy(1)).
type CopyOptions struct {
	NewName    string
	NewPath    string       // lxcpath of the copy; "" is the source's
	Snapshot   bool         // -s: copy-on-write (overlay, or a btrfs snapshot)
	Store      storage.Kind // -B; "" keeps the source's kind
	KeepName   bool         // -K: keep lxc.uts.name
	KeepMAC    bool         // -M: keep lxc.net.N.hwaddr
	AllowRun   bool         // -a: copy a running container
	FSSize     int64        // -L: a loop image's size (default 1 GiB)
	HookArgs   []string     // after --
	CloneHooks CloneHookRunner
	// Ephemeral writes lxc.ephemeral = 1 in the copy (lxc-copy -e).
	Ephemeral bool
	// TmpfsUpper (lxc-copy -e -t) puts the overlay copy's upper layer on
	// a tmpfs: a pre-mount hook of the copy mounts one over its overlay
	// directory, in the container's mount namespace only, so what the
	// container writes is in memory and gone with it.
	TmpfsUpper bool
	// MountEntries are lxc.mount.entry lines added (lxc-copy -m);
	// MountDirs, directories they need made in the copy's directory.
	MountEntries []string
	MountDirs    []string
	// snapshotOf, when set, is the lxc-snapshot flavour: LXC's
	// KEEPBDEVTYPE|MAYBE_SNAPSHOT (a dir container is copied, the rest
	// snapshotted).
	maybeSnapshot bool
}

// DefaultLoopSize is a loop image's size when --fssize is not given, as
// LXC's (1 GiB).
const DefaultLoopSize = 1 << 30

// Copy makes a new container of c (lxc-copy): its config with the name,
// hwaddrs and paths into c's directory changed, and a rootfs copied or
// snapshotted. The copy is built in a hidden directory and renamed into
// place whole: a failure leaves nothing.
func (c *Container) Copy(o CopyOptions) (*Container, error) {
	if err := c.mustBeDefined(); err != nil {
		return nil, err
	}
	newPath := o.NewPath
	if newPath == "" {
		newPath = c.LXCPath
	}
	dst, err := New(newPath, o.NewName)
	if err != nil {
		return nil, err
	}
	if err := checkCreateName(dst.Name); err != nil {
		return nil, err
	}
	if dst.Defined() {
		return nil, fmt.Errorf("clone: %s exists", dst.ConfigPath())
	}
	if os.Geteuid() != 0 {
		// The copy keeps every owner: only root can chown to them.
		return nil, errors.New("copying a container is supported for root only yet")
	}
	st, err := c.State()
	if err != nil {
		return nil, err
	}
	if st == monitor.Stopped {
		// The source's lock is held for the copy: a destroy, rename,
		// restore or start of it waits (or says it is busy) until the
		// copy is done, and never takes a clone's lower layer from
		// under it. A running source's monitor holds it already.
		srcLock, err := c.stoppedLock("copy it")
		var nstop *errNotStopped
		if errors.As(err, &nstop) {
			// Started meanwhile: a running source is copied only
			// with -a, and a stopped one only under its lock.
			return nil, fmt.Errorf("Original container (%s) is running. Use --allowrunning if you want to force a snapshot of the running container.", c.Name) //nolint:staticcheck // LXC's message
		}
		if err != nil {
			return nil, err
		}
		defer srcLock.Release()
		if err := c.mustBeDefined(); err != nil {
			return nil, err // destroyed meanwhile
		}
	}
	cfg, err := config.Load(c.ConfigPath())
	if err != nil {
		return nil, err
	}
	if o.CloneHooks == nil && hasHook(cfg, "clone") {
		return nil, ErrCloneHooks
	}
	if st != monitor.Stopped {
		if !o.AllowRun {
			return nil, fmt.Errorf("Original container (%s) is running. Use --allowrunning if you want to force a snapshot of the running container.", c.Name) //nolint:staticcheck // LXC's message
		}
		// Its image is mounted in the container: a second mount of the
		// same filesystem would corrupt it.
		from, _ := storage.Parse(cfg.Rootfs.Raw) // a bad one fails below
		if from.Kind == storage.Loop {
			return nil, fmt.Errorf("%s is running: its loop image is mounted in it and cannot be copied until it stops", c.Name)
		}
		// Its overlay is mounted in the container with its upper and
		// work directories: a second overlay mount on them (to read the
		// merged tree) breaks the container's, and a copy of its upper
		// layer is no point in time.
		if from.Kind == storage.Overlay {
			return nil, fmt.Errorf("%s is running: its overlay rootfs is in use by it and cannot be copied until it stops", c.Name)
		}
	}
	lock, err := dst.reserveName()
	var exists *ErrExists
	if errors.As(err, &exists) {
		return nil, fmt.Errorf("clone: %s exists", dst.ConfigPath())
	}
	if err != nil {
		return nil, err
	}
	defer lock.Release()
	if err := os.MkdirAll(dst.LXCPath, 0o755); err != nil {
		lock.remove()
		return nil, fmt.Errorf("make lxcpath %s: %w", dst.LXCPath, err)
	}
	sweepStale(dst.LXCPath, dst.Name)
	work, err := makeWorkDir(dst.LXCPath, "."+dst.Name+creatingInfix)
	if err != nil {
		lock.remove()
		return nil, fmt.Errorf("make container directory in %s: %w", dst.LXCPath, err)
	}
	defer work.release()
	origin, err := buildClone(c, cfg, dst, work.path, dst.Dir(), o)
	if err == nil {
		err = os.Rename(work.path, dst.Dir())
	}
	if err != nil {
		_ = work.remove()
		lock.remove()
		return nil, err
	}
	if origin != nil {
		if err := addDependent(origin, dst); err != nil {
			_ = dst.destroyLocked(lock)
			return nil, err
		}
	}
	// The clone hooks run here, on the finished copy (lxc-copy(1)).
	if o.CloneHooks != nil && hasHook(cfg, "clone") {
		newCfg, err := config.Load(dst.ConfigPath())
		if err == nil {
			err = o.CloneHooks.RunCloneHooks(CloneHook{Config: newCfg, Name: dst.Name, LXCPath: dst.LXCPath, SrcName: c.Name,
				ConfigFile: dst.ConfigPath(), RootfsPath: newCfg.Rootfs.Raw, Args: o.HookArgs})
		}
		if err != nil {
			_ = dst.destroyLocked(lock)
			return nil, err
		}
	}
	return dst, nil
}

func hasHook(cfg *config.Config, t string) bool {
	for _, h := range cfg.Hooks {
		if h.Type == t {
			return true
		}
	}
	return false
}

// buildClone writes the copy's rootfs and config into work, with paths
// naming final (where work will be renamed to). It returns the container
// the copy depends on (an overlay clone's lower layer is its rootfs), or
// nil.
func buildClone(src *Container, cfg *config.Config, dst *Container, work, final string, o CopyOptions) (*Container, error) {
	if cfg.Rootfs.Raw == "" {
		return nil, fmt.Errorf("%s has no lxc.rootfs.path: nothing to copy", src.Name)
	}
	from, err := storage.Parse(cfg.Rootfs.Raw)
	if err != nil {
		return nil, err
	}
	kind := o.Store
	if o.maybeSnapshot {
		// lxc-snapshot: a snapshot where the store has them, else a copy.
		kind, o.Snapshot = from.Kind, from.Kind != storage.Dir && from.Kind != storage.Loop
	}
	if kind == "" {
		kind = from.Kind
		if o.Snapshot && from.Kind == storage.Dir {
			// lxc-copy(1): overlay snapshots of directory backed
			// containers are exempted from keeping the store.
			kind = storage.Overlay
		}
	}
	if o.Snapshot && kind != storage.Overlay && kind != storage.Btrfs {
		return nil, fmt.Errorf("-s: a snapshot needs a store with snapshots (overlay or btrfs), not %s", kind)
	}
	if o.Snapshot && kind == storage.Btrfs && from.Kind != storage.Btrfs {
		return nil, fmt.Errorf("-s -B btrfs: the rootfs of %s is not a btrfs subvolume", src.Name)
	}
	if o.Snapshot && kind == storage.Overlay && from.Kind == storage.Loop {
		return nil, fmt.Errorf("-s: a loop rootfs cannot be the lower layer of an overlay snapshot")
	}
	if o.TmpfsUpper && (kind != storage.Overlay || from.Kind == storage.Overlay) {
		// An overlay clone's copy starts with its changes in the upper
		// layer, which a tmpfs over it would hide.
		return nil, fmt.Errorf("-t: the upper layer goes on a tmpfs only for an overlay copy of a dir or btrfs container, not of %s's %s rootfs", src.Name, from.Kind)
	}
	var to storage.Rootfs
	var origin *Container
	switch kind {
	case storage.Dir:
		to = storage.Rootfs{Kind: storage.Dir, Path: filepath.Join(final, "rootfs")}
		if err := os.Mkdir(filepath.Join(work, "rootfs"), 0o755); err != nil {
			return nil, fmt.Errorf("make rootfs: %w", err)
		}
		if err := copyRootfs(from, filepath.Join(work, "rootfs")); err != nil {
			return nil, err
		}
	case storage.Btrfs:
		to = storage.Rootfs{Kind: storage.Btrfs, Path: filepath.Join(final, "rootfs")}
		if !storage.OnBtrfs(work) {
			return nil, fmt.Errorf("-B btrfs: %s is not on a btrfs filesystem", dst.LXCPath)
		}
		if o.Snapshot || from.Kind == storage.Btrfs && storage.IsSubvolume(from.Path) && o.maybeSnapshot {
			if err := storage.Snapshot(from.Path, filepath.Join(work, "rootfs")); err != nil {
				return nil, err
			}
			break
		}
		if err := storage.CreateSubvolume(filepath.Join(work, "rootfs")); err != nil {
			return nil, err
		}
		if err := copyRootfs(from, filepath.Join(work, "rootfs")); err != nil {
			return nil, err
		}
	case storage.Loop:
		to = storage.Rootfs{Kind: storage.Loop, Path: filepath.Join(final, "rootdev")}
		size := o.FSSize
		if size == 0 {
			size = storage.CopySize(from, DefaultLoopSize)
		}
		img := filepath.Join(work, "rootdev")
		if err := storage.MakeLoopImage(img, size, "ext4"); err != nil {
			return nil, err
		}
		if err := copyIntoStore(from, storage.Rootfs{Kind: storage.Loop, Path: img}); err != nil {
			return nil, fmt.Errorf("fill the %d-byte loop image (-L): %w", size, err)
		}
		// LXC makes an empty rootfs directory beside the image, its
		// mount point.
		if err := os.Mkdir(filepath.Join(work, "rootfs"), 0o755); err != nil {
			return nil, fmt.Errorf("make rootfs: %w", err)
		}
	case storage.Overlay:
		lower := from.Path
		switch from.Kind {
		case storage.Overlay:
			lower = from.Lower
		case storage.Loop:
			return nil, errors.New("-B overlay: a loop rootfs cannot be an overlay's lower layer")
		}
		to = storage.Rootfs{Kind: storage.Overlay, Lower: lower, Path: filepath.Join(final, "overlay", "delta")}
		for _, d := range []string{"overlay", "overlay/delta", "overlay/work", "rootfs"} {
			if err := os.Mkdir(filepath.Join(work, d), 0o755); err != nil {
				return nil, fmt.Errorf("make %s: %w", d, err)
			}
		}
		if from.Kind == storage.Overlay {
			// The upper layer is the container's own: copied, the lower
			// one shared.
			if err := storage.CopyTree(from.Path, filepath.Join(work, "overlay", "delta")); err != nil {
				return nil, err
			}
		}
		origin = src
		if from.Kind == storage.Overlay {
			// The lower layer is src's origin's, not src's.
			origin = originOf(src)
		}
	}
	for _, d := range o.MountDirs {
		rel, err := filepath.Rel(final, d)
		if err != nil || strings.HasPrefix(rel, "..") {
			return nil, fmt.Errorf("mount directory %s is not in %s", d, final)
		}
		if err := os.MkdirAll(filepath.Join(work, rel), 0o755); err != nil {
			return nil, fmt.Errorf("make %s: %w", d, err)
		}
	}
	if err := writeCloneConfig(src, dst, cfg, work, final, to, o); err != nil {
		return nil, err
	}
	if origin != nil {
		dep := []byte(origin.LXCPath + "\n" + origin.Name + "\n")
		if err := os.WriteFile(filepath.Join(work, "lxc_rdepends"), dep, 0o644); err != nil {
			return nil, fmt.Errorf("write lxc_rdepends: %w", err)
		}
	}
	return origin, nil
}

// copyRootfs copies the tree of the rootfs from into the directory dst.
func copyRootfs(from storage.Rootfs, dst string) error {
	if from.Kind == storage.Dir || from.Kind == storage.Btrfs {
		return storage.CopyTree(from.Path, dst)
	}
	tree, err := storage.MountDetached(from)
	if err != nil {
		return err
	}
	defer unix.Close(tree)
	d, err := storage.OpenDirNoFollow(dst)
	if err != nil {
		return err
	}
	defer unix.Close(d)
	return storage.CopyTreeFD(tree, d, from.String())
}

// copyIntoStore copies the rootfs from into the (mounted, detached) store
// to.
func copyIntoStore(from, to storage.Rootfs) error {
	dtree, err := storage.MountDetached(to)
	if err != nil {
		return err
	}
	defer unix.Close(dtree)
	if from.Kind == storage.Dir || from.Kind == storage.Btrfs {
		s, err := storage.OpenDirNoFollow(from.Path)
		if err != nil {
			return err
		}
		defer unix.Close(s)
		return storage.CopyTreeFD(s, dtree, from.Path)
	}
	stree, err := storage.MountDetached(from)
	if err != nil {
		return err
	}
	defer unix.Close(stree)
	return storage.CopyTreeFD(stree, dtree, from.String())
}

// writeCloneConfig writes the copy's config: the source's own file (its
// includes stay includes) with lxc.rootfs.path the copy's, lxc.uts.name
// the new name (unless KeepName), new hwaddrs (unless KeepMAC) and every
// value that names a path in the source's directory (lxc.mount.fstab,
// lxc.console.logfile, lxc.log.file, mount entries, hooks ...) naming the
// same path in the copy's.
func writeCloneConfig(src, dst *Container, cfg *config.Config, work, final string, to storage.Rootfs, o CopyOptions) error {
	doc, err := config.ReadDocument(src.ConfigPath())
	if err != nil {
		return err
	}
	oldDir := src.Dir()
	for _, e := range doc.Entries() {
		v := e.Value
		switch {
		case e.Key == "lxc.rootfs.path" || e.Key == "lxc.rootfs":
			continue // set below
		case e.Key == "lxc.uts.name" && !o.KeepName:
			continue // set below
		case e.Key == "lxc.ephemeral":
			continue
		case config.IsHwaddrKey(e.Key) && !o.KeepMAC:
			// A fresh address in LXC's 00:16:3e range.
			nv, err := config.FillHwaddr("00:16:3e:xx:xx:xx", rand.Reader)
			if err != nil {
				return err
			}
			doc.Replace(e.Line, e.Key, nv)
			continue
		}
		if nv := rewritePaths(v, oldDir, final); nv != v {
			doc.Replace(e.Line, e.Key, nv)
			// The container's own fstab and hook scripts come along, as
			// LXC's clone copies them; logs and the rest do not.
			if e.Key == "lxc.mount.fstab" || strings.HasPrefix(e.Key, "lxc.hook.") {
				if f := strings.Fields(v); len(f) > 0 {
					if err := copyOwnFile(f[0], oldDir, work); err != nil {
						return err
					}
				}
			}
		}
	}
	doc.Set("lxc.rootfs.path", to.String())
	if !o.KeepName {
		doc.Set("lxc.uts.name", dst.Name)
	}
	if o.Ephemeral {
		doc.Set("lxc.ephemeral", "1")
	}
	if o.TmpfsUpper {
		hook := filepath.Join(work, tmpfsHookName)
		if err := os.WriteFile(hook, []byte(tmpfsHook), 0o755); err != nil {
			return fmt.Errorf("write the tmpfs hook: %w", err)
		}
		doc.Append("lxc.hook.pre-mount", config.QuoteWord(filepath.Join(final, tmpfsHookName)))
	}
	for _, m := range o.MountEntries {
		doc.Append("lxc.mount.entry", m)
	}
	p := filepath.Join(work, "config")
	if err := doc.WriteFile(p); err != nil {
		return err
	}
	if err := os.Chmod(p, 0o640); err != nil {
		return fmt.Errorf("chmod %s: %w", p, err)
	}
	// The result must load: a copy that cannot start is no copy.
	if _, err := config.Load(p); err != nil {
		return fmt.Errorf("the copy's config is not valid: %w", err)
	}
	return nil
}

// rewritePaths replaces, in a config value, every path at or below old
// with the same path below new: whole path components only (old=/l/c1
// does not touch /l/c10).
func rewritePaths(v, old, new string) string {
	var b strings.Builder
	for {
		i := strings.Index(v, old)
		if i < 0 {
			b.WriteString(v)
			return b.String()
		}
		end := i + len(old)
		startOK := i == 0 || strings.ContainsRune(" \t:=,\"'", rune(v[i-1]))
		endOK := end == len(v) || strings.ContainsRune("/ \t:,\"'", rune(v[end]))
		b.WriteString(v[:i])
		if startOK && endOK {
			b.WriteString(new)
		} else {
			b.WriteString(old)
		}
		v = v[end:]
	}
}

// copyOwnFile copies p, when it is a regular file directly in the
// container's directory oldDir (its own fstab or hook script), to work.
// Nothing deeper is copied: rootfs/ and overlay/ are the container's,
// whose root may swap a directory there for a link to the host's at any
// moment; a file of its rootfs comes with the rootfs copy, at the path
// the config names once rewritten. Both ends are opened beneath their
// directory's descriptor with no symlink followed, and the copy is a new
// file (a link, a fifo or anything else is left: the config then names a
// file that is not there, as it would have).
func copyOwnFile(p, oldDir, work string) error {
	rel, err := filepath.Rel(oldDir, filepath.Clean(p))
	if err != nil || rel == "." || rel == ".." || strings.Contains(rel, "/") {
		return nil
	}
	how := unix.OpenHow{Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS}
	sdir, err := unix.Open(oldDir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("copy %s: open %s: %w", p, oldDir, err)
	}
	defer unix.Close(sdir)
	how.Flags = unix.O_RDONLY | unix.O_NOFOLLOW | unix.O_NONBLOCK | unix.O_NOCTTY | unix.O_CLOEXEC
	ifd, err := unix.Openat2(sdir, rel, &how)
	if err != nil {
		return nil
	}
	in := os.NewFile(uintptr(ifd), p)
	defer in.Close()
	st, err := in.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	ddir, err := unix.Open(work, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("copy %s: open %s: %w", p, work, err)
	}
	defer unix.Close(ddir)
	how.Flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	how.Mode = uint64(st.Mode().Perm())
	ofd, err := unix.Openat2(ddir, rel, &how)
	if errors.Is(err, unix.EEXIST) {
		return nil // copied already (one script for several hooks)
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", p, err)
	}
	out := os.NewFile(uintptr(ofd), filepath.Join(work, rel))
	_, err = io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("copy %s: %w", p, err)
	}
	return nil
}

// tmpfsHookName is lxc-copy -t's pre-mount hook in the copy's directory.
const tmpfsHookName = "tmpfs-upper"

// tmpfsHook mounts a tmpfs over the copy's overlay directory (its config
// file's directory, /overlay) and makes the upper and work directories
// there; it runs in the container's mount namespace, before the rootfs
// is mounted.
const tmpfsHook = `#!/bin/sh
# lxc-copy -t: the overlay's upper layer on a tmpfs, in this container's
# mount namespace only.
set -e
d="$(dirname "$LXC_CONFIG_FILE")/overlay"
mount -n -t tmpfs -o mode=0755 tmpfs "$d"
mkdir "$d/delta" "$d/work"
`
