package lxc

import (
	"context"
	"fmt"
	"os"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/hooks"
	"github.com/golxc/golxc/internal/storage"
)

// HookRunner runs a copy's lxc.hook.clone commands with golxc's hooks
// (CopyOptions.CloneHooks).
type HookRunner struct{}

// RunCloneHooks runs h's clone hooks with LXC_ROOTFS_MOUNT the new
// rootfs: a dir or btrfs rootfs's own directory; an overlay or loop
// rootfs mounted, as LXC mounts it, in a mount namespace of the hooks'
// own, gone with them.
func (HookRunner) RunCloneHooks(h CloneHook) error {
	store, err := storage.Parse(h.RootfsPath)
	if err != nil {
		return err
	}
	info := hooks.CloneInfo{Name: h.Name, ConfigFile: h.ConfigFile, SrcName: h.SrcName, Args: h.Args}
	if store.Kind == storage.Dir || store.Kind == storage.Btrfs {
		info.RootfsMount = store.Path
		return hooks.RunClone(context.Background(), h.Config, info)
	}
	// The mount point, root's, in the new container's directory.
	dir, err := os.MkdirTemp((&Container{Name: h.Name, LXCPath: h.LXCPath}).Dir(), ".clone-rootfs-")
	if err != nil {
		return fmt.Errorf("clone hooks: %w", err)
	}
	defer os.Remove(dir)
	info.RootfsMount = dir
	done := make(chan error, 1)
	go func() {
		// This thread gets a mount namespace of its own, where the
		// rootfs is mounted and the hooks are forked; it is never
		// unlocked, so it ends with this goroutine and the namespace
		// (with the mount, and a loop device's autoclear) with it.
		runtime.LockOSThread()
		done <- func() error {
			if err := unix.Unshare(unix.CLONE_FS | unix.CLONE_NEWNS); err != nil {
				return fmt.Errorf("clone hooks: unshare the mount namespace: %w", err)
			}
			if err := unix.Mount("", "/", "", unix.MS_SLAVE|unix.MS_REC, ""); err != nil {
				return fmt.Errorf("clone hooks: make / a slave mount: %w", err)
			}
			tree, err := storage.MountDetached(store)
			if err != nil {
				return fmt.Errorf("clone hooks: %w", err)
			}
			defer unix.Close(tree)
			if err := unix.MoveMount(tree, "", unix.AT_FDCWD, dir, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
				return fmt.Errorf("clone hooks: mount the rootfs on %s: %w", dir, err)
			}
			return hooks.RunClone(context.Background(), h.Config, info)
		}()
	}()
	return <-done
}
