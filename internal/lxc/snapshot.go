package lxc

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/storage"

	"golang.org/x/sys/unix"
)

// Snapshots live as LXC lays them out: LXCPATH/NAME/snaps/snapN, each a
// container of that lxcpath (config, rootfs or overlay/ or rootdev) with
// ts (its time, "YYYY:MM:DD HH:MM:SS") and, with -c, comment. A dir
// container's snapshot is a full copy, the others' are snapshots of their
// store (an overlay's upper layer copied, a btrfs subvolume snapshotted),
// as LXC 5.0.2 makes them.

// SnapshotInfo is one snapshot of a container.
type SnapshotInfo struct {
	Name, Dir, Time, Comment string
}

// snapTimeLayout is LXC's ts format.
const snapTimeLayout = "2006:01:02 15:04:05"

// maxSnapshotRaces bounds how often a snapshot moves on to the next name
// because another one took its name meanwhile.
const maxSnapshotRaces = 100

// Snapshot makes the next snapshot of c (snapN, the first free N) and
// returns its name. commentFile, when set, is copied as its comment.
func (c *Container) Snapshot(commentFile string) (string, error) {
	if err := c.mustBeDefined(); err != nil {
		return "", err
	}
	cfg, err := config.Load(c.ConfigPath())
	if err != nil {
		return "", err
	}
	store, err := storage.Parse(cfg.Rootfs.Raw)
	if err != nil {
		return "", err
	}
	st, err := c.State()
	if err != nil {
		return "", err
	}
	running := st != monitor.Stopped
	if running && store.Kind != storage.Btrfs {
		// A copy of a tree in use is no point in time; a btrfs snapshot
		// is (LXC refuses every store while running).
		return "", fmt.Errorf("%s is running: a %s rootfs is snapshotted only when stopped (btrfs can be while running)", c.Name, store.Kind)
	}
	var comment []byte
	if commentFile != "" {
		if comment, err = os.ReadFile(commentFile); err != nil {
			return "", fmt.Errorf("comment file: %w", err)
		}
	}
	if err := os.MkdirAll(c.snapsDir(), 0o755); err != nil {
		return "", fmt.Errorf("make %s: %w", c.snapsDir(), err)
	}
	raced := 0
	for i := 0; ; i++ {
		name := "snap" + strconv.Itoa(i)
		if _, err := os.Lstat(filepath.Join(c.snapsDir(), name)); err == nil {
			continue
		}
		s, err := c.Copy(CopyOptions{NewName: name, NewPath: c.snapsDir(), KeepName: true, KeepMAC: true, AllowRun: running, maybeSnapshot: true})
		if err != nil {
			// The next name is tried only when this one was taken
			// meanwhile (another snapshot won the race): its directory
			// is there now. Any other failure, an EEXIST from inside
			// the copy too, is the snapshot's and ends it.
			if _, serr := os.Lstat(filepath.Join(c.snapsDir(), name)); serr == nil && raced < maxSnapshotRaces {
				raced++
				continue
			}
			return "", err
		}
		werr := os.WriteFile(filepath.Join(s.Dir(), "ts"), []byte(time.Now().Format(snapTimeLayout)), 0o644)
		if werr == nil && commentFile != "" {
			werr = os.WriteFile(filepath.Join(s.Dir(), "comment"), comment, 0o644)
		}
		if werr != nil {
			_ = s.Destroy(false)
			return "", fmt.Errorf("snapshot %s: %w", name, werr)
		}
		return name, nil
	}
}

// Snapshots lists c's snapshots, in name order.
func (c *Container) Snapshots() ([]SnapshotInfo, error) {
	if err := c.mustBeDefined(); err != nil {
		return nil, err
	}
	names, err := List(c.snapsDir())
	if err != nil {
		return nil, err
	}
	var out []SnapshotInfo
	for _, n := range names {
		d := filepath.Join(c.snapsDir(), n)
		// Never through a link: a snapshot directory may be a user's
		// to write, and root lists it.
		ts := readFileNoFollow(filepath.Join(d, "ts"))
		cm := readFileNoFollow(filepath.Join(d, "comment"))
		out = append(out, SnapshotInfo{Name: n, Dir: c.snapsDir(), Time: strings.TrimSpace(string(ts)), Comment: string(cm)})
	}
	return out, nil
}

// snapshot is c's snapshot name, checked as a name (no "../../etc").
func (c *Container) snapshot(name string) (*Container, error) {
	s, err := New(c.snapsDir(), name)
	if err != nil {
		return nil, fmt.Errorf("snapshot %q: %w", name, err)
	}
	if !s.Defined() {
		return nil, fmt.Errorf("%s has no snapshot %s", c.Name, name)
	}
	return s, nil
}

// DestroySnapshot destroys one snapshot of c, or all with "ALL".
func (c *Container) DestroySnapshot(name string) error {
	if err := c.mustBeDefined(); err != nil {
		return err
	}
	if name == "ALL" {
		return c.destroySnapshots()
	}
	s, err := c.snapshot(name)
	if err != nil {
		return err
	}
	return s.Destroy(false)
}

// RestoreSnapshot makes the snapshot a container again: c itself (its
// rootfs and config replaced, its snapshots kept) when newName is c's own
// name in c's lxcpath, else a new container newName under newPath.
func (c *Container) RestoreSnapshot(name, newName, newPath string) error {
	if err := c.mustBeDefined(); err != nil {
		return err
	}
	s, err := c.snapshot(name)
	if err != nil {
		return err
	}
	if newName == "" {
		newName = c.Name
	}
	if newPath == "" {
		newPath = c.LXCPath
	}
	target, err := New(newPath, newName)
	if err != nil {
		return err
	}
	if target.LXCPath != c.LXCPath || target.Name != c.Name {
		_, err := s.Copy(CopyOptions{NewName: newName, NewPath: target.LXCPath, KeepMAC: true, maybeSnapshot: true})
		return err
	}
	if len(c.Clones()) > 0 {
		return errors.New("container rootfs has dependent snapshots")
	}
	lock, err := c.stoppedLock("restore a snapshot in its place")
	if err != nil {
		return err
	}
	defer lock.Release()
	// Again under the lock: a copy that held it may have added an
	// overlay clone of this rootfs meanwhile.
	if len(c.Clones()) > 0 {
		return errors.New("container rootfs has dependent snapshots")
	}
	cfg, err := config.Load(s.ConfigPath())
	if err != nil {
		return err
	}
	work, err := makeWorkDir(c.LXCPath, "."+c.Name+creatingInfix)
	if err != nil {
		return fmt.Errorf("restore %s: %w", name, err)
	}
	defer work.release()
	origin, err := buildClone(s, cfg, c, work.path, c.Dir(), CopyOptions{KeepMAC: true, maybeSnapshot: true})
	if err != nil {
		_ = work.remove()
		return err
	}
	aside, err := makeWorkDir(c.LXCPath, "."+c.Name+destroyingInfix)
	if err != nil {
		_ = work.remove()
		return fmt.Errorf("restore %s: %w", name, err)
	}
	defer aside.release()
	// The container's own files go aside, its snapshots stay; then the
	// restored ones come in. Each step is a rename in one directory.
	keep := map[string]bool{"snaps": true, snapshotsFile: true}
	if err := moveEntries(c.Dir(), aside.path, keep); err != nil {
		_ = moveEntries(aside.path, c.Dir(), nil)
		_ = work.remove()
		return fmt.Errorf("restore %s: %w", name, err)
	}
	if err := moveEntries(work.path, c.Dir(), nil); err != nil {
		_ = moveEntries(c.Dir(), work.path, keep)
		_ = moveEntries(aside.path, c.Dir(), nil)
		_ = work.remove()
		return fmt.Errorf("restore %s: %w", name, err)
	}
	_ = work.remove()
	dropFromOrigin(c, aside.path)
	if origin != nil {
		if err := addDependent(origin, c); err != nil {
			return err
		}
	}
	return aside.remove()
}

func moveEntries(from, to string, skip map[string]bool) error {
	entries, err := os.ReadDir(from)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if skip[e.Name()] {
			continue
		}
		if err := os.Rename(filepath.Join(from, e.Name()), filepath.Join(to, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// readFileNoFollow reads a regular file of up to 64 KiB whose last
// component is not a link (nil otherwise).
func readFileNoFollow(path string) []byte {
	fd, err := unix.Open(path, unix.O_PATH|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer unix.Close(fd)
	return readRegular(fd, 64<<10)
}
