package namespace

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/rundir"
)

// ProtectedSelf returns the running golxc binary opened (O_PATH) inside a
// detached, read-only overlayfs mount whose only layer is the directory
// that holds it: the same protection as SealedSelf's copy against
// CVE-2019-5736 at the price of a mount instead of a copy of the binary
// on every call.
//
// Why an overlay and not a read-only bind mount: a privileged container's
// root holds CAP_SYS_ADMIN in the host's user namespace, and can clear
// MOUNT_ATTR_RDONLY of the mount that /proc/PID/exe hands it
// (mount_setattr on that descriptor), then write the host's file. An
// overlay with no upper layer has nowhere to write, whatever its mount's
// flags say: its superblock is read-only for good.
//
// The mount is never attached anywhere: it lives as long as a descriptor
// or an exe of a process holds it, and goes with the last one. When
// overlayfs cannot be had (no overlay module, a caller without
// CAP_SYS_ADMIN as for lxc-attach run by a user, golxc itself on a file
// system overlayfs refuses as a layer, a path overlayfs cannot take), it
// falls back to SealedSelf.
// The file is close-on-exec: hand it to the child as one of its
// ExtraFiles and exec ExecPath of the number it gets there.
func ProtectedSelf() (*os.File, error) {
	f, err := overlaySelf()
	if err == nil {
		return f, nil
	}
	return SealedSelf()
}

// overlaySelf does ProtectedSelf's work; an error says only that the
// caller must fall back.
func overlaySelf() (*os.File, error) {
	if os.Geteuid() != 0 {
		// A user's overlay would need a user namespace of its own, and
		// the exe of a process in it could not be trusted the same way.
		return nil, errors.New("an overlay mount needs root")
	}
	exe, err := os.Open("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("open own binary: %w", err)
	}
	defer exe.Close()
	var self unix.Stat_t
	if err := unix.Fstat(int(exe.Fd()), &self); err != nil {
		return nil, fmt.Errorf("stat own binary: %w", err)
	}
	// The overlay is a mount of its own, which exec allows: golxc on a
	// mount that forbids exec (run through a loader) keeps that rule.
	var sfs unix.Statfs_t
	if err := unix.Fstatfs(int(exe.Fd()), &sfs); err != nil {
		return nil, fmt.Errorf("statfs own binary: %w", err)
	}
	if sfs.Flags&unix.ST_NOEXEC != 0 {
		return nil, errors.New("own binary is on a noexec mount")
	}
	target, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return nil, fmt.Errorf("read own binary's path: %w", err)
	}
	// A binary replaced or removed since this process started reads
	// "PATH (deleted)": its directory no longer holds it.
	if !filepath.IsAbs(target) || strings.HasSuffix(target, " (deleted)") {
		return nil, fmt.Errorf("own binary %q is not a path in a directory", target)
	}
	dir, base := filepath.Split(target)
	dirFD, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", dir, err)
	}
	defer unix.Close(dirFD)
	// The directory, as opened, holds this very binary under its name:
	// the overlay is made of this descriptor, so what it shows is what
	// was checked here.
	var named unix.Stat_t
	if err := unix.Fstatat(dirFD, base, &named, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return nil, fmt.Errorf("stat %s: %w", target, err)
	}
	if named.Dev != self.Dev || named.Ino != self.Ino {
		return nil, fmt.Errorf("%s is no longer the running binary", target)
	}

	fsfd, err := unix.Fsopen("overlay", unix.FSOPEN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("fsopen overlay: %w", err)
	}
	defer unix.Close(fsfd)
	if err := setLower(fsfd, dirFD, dir); err != nil {
		return nil, err
	}
	// No upper layer and no work directory: the overlay is read-only.
	// "ro" says so to the superblock as well.
	if err := unix.FsconfigSetFlag(fsfd, "ro"); err != nil {
		return nil, fmt.Errorf("overlay option ro: %w", err)
	}
	if err := unix.FsconfigCreate(fsfd); err != nil {
		return nil, fmt.Errorf("create overlay of %s: %w", dir, err)
	}
	mnt, err := unix.Fsmount(fsfd, unix.FSMOUNT_CLOEXEC, unix.MOUNT_ATTR_RDONLY|unix.MOUNT_ATTR_NODEV|unix.MOUNT_ATTR_NOSUID)
	if err != nil {
		return nil, fmt.Errorf("fsmount overlay of %s: %w", dir, err)
	}
	defer unix.Close(mnt)
	// O_PATH: the file is opened for nothing but its exec. The mount
	// stays alive through this descriptor, and later through the exe of
	// the processes that exec it.
	fd, err := unix.Openat2(mnt, base, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC | unix.O_NOFOLLOW,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_XDEV | unix.RESOLVE_BENEATH,
	})
	if err != nil {
		return nil, fmt.Errorf("open %s in its overlay: %w", base, err)
	}
	var got unix.Stat_t
	if err := unix.Fstat(fd, &got); err != nil || got.Ino != self.Ino || got.Size != self.Size || got.Mode != self.Mode {
		unix.Close(fd)
		return nil, fmt.Errorf("%s in its overlay is not the running binary", base)
	}
	return os.NewFile(uintptr(fd), "overlay:golxc"), nil
}

// setLower makes dir, open as dirFD, the overlay's lower layer, over an
// empty directory: overlayfs wants two layers when it has no upper one,
// and refuses the same directory twice, and a detached tmpfs (it clones
// each layer's mount privately). The empty one is root's runtime
// directory's "empty" (rundir: a directory of root's that nobody else
// can write); anything found there would only add names beside golxc's,
// never hide it, as the upper of the two layers wins. Layers go by
// descriptor where the kernel takes them (6.13 on), else by the
// /proc/self/fd paths of those descriptors, whose text has none of the
// characters (',' ':' '\') that overlayfs parses in a layer's path.
func setLower(fsfd, dirFD int, dir string) error {
	emptyPath, err := rundir.Prepare("empty")
	if err != nil {
		return err
	}
	empty, err := unix.Open(emptyPath, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("open %s: %w", emptyPath, err)
	}
	defer unix.Close(empty)
	err = unix.FsconfigSetFd(fsfd, "lowerdir+", dirFD)
	if err == nil {
		if err := unix.FsconfigSetFd(fsfd, "lowerdir+", empty); err != nil {
			return fmt.Errorf("overlay lowerdir %s: %w", emptyPath, err)
		}
		return nil
	}
	if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.EOPNOTSUPP) {
		return fmt.Errorf("overlay lowerdir %s: %w", dir, err)
	}
	if err := unix.FsconfigSetString(fsfd, "lowerdir", ExecPath(dirFD)+":"+ExecPath(empty)); err != nil {
		return fmt.Errorf("overlay lowerdir %s: %w", dir, err)
	}
	return nil
}
