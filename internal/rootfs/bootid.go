package rootfs

import (
	"crypto/rand"
	"fmt"

	"golang.org/x/sys/unix"
)

// bootIDPath is the kernel's boot id, which systemd reads as the boot's
// identity (journalctl -b, the journal's files).
const bootIDPath = "/proc/sys/kernel/random/boot_id"

// bootIDFile holds the container's own boot id, where LXC keeps it.
const bootIDFile = "/dev/.lxc-boot-id"

// BootID gives the container a boot id of its own, a new random one each
// start, as LXC does: /dev/.lxc-boot-id bound read-only over
// /proc/sys/kernel/random/boot_id. Without it every container shares the
// host's, and systemd's journal takes all their boots (and the host's) for
// one. It needs the container's /proc mounted and /dev a tmpfs of its own
// (autodev): the file must not land in the rootfs on disk.
func (r *Root) BootID() error {
	if !r.Exists(bootIDPath) {
		return nil
	}
	var u [16]byte
	if _, err := rand.Read(u[:]); err != nil {
		return fmt.Errorf("boot id: %w", err)
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant 10
	text := fmt.Sprintf("%x-%x-%x-%x-%x\n", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
	fd, err := r.openat3(bootIDFile, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW, 0o444)
	if err != nil {
		return fmt.Errorf("boot id: create %s: %w", bootIDFile, err)
	}
	_, werr := unix.Write(fd, []byte(text))
	unix.Close(fd)
	if werr != nil {
		return fmt.Errorf("boot id: write %s: %w", bootIDFile, werr)
	}
	src, err := r.Open(bootIDFile)
	if err != nil {
		return err
	}
	defer unix.Close(src)
	dst, err := r.Open(bootIDPath)
	if err != nil {
		return err
	}
	defer unix.Close(dst)
	if err := unix.Mount(fdPath(src), fdPath(dst), "", unix.MS_BIND, ""); err != nil {
		return fmt.Errorf("boot id: bind %s on %s: %w", bootIDFile, bootIDPath, err)
	}
	// Read-only, so the container cannot change its id.
	if err := r.remountBindReadOnly(bootIDPath, unix.MS_NODEV); err != nil {
		return fmt.Errorf("boot id: %s: %w", bootIDPath, err)
	}
	return nil
}
