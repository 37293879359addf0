package lxc

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/storage"
)

// RemoveTreeArg is argv[1] of golxc re-exec'd to remove a directory as
// root of a user namespace (see removeTree).
const RemoveTreeArg = "__golxc-remove-tree"

// removeTree removes the directory p. A user other than root cannot
// remove what belongs to its containers' mapped ids (an unprivileged
// container's rootfs): what is left after its own try is removed by golxc
// run as root of a user namespace that maps every range /etc/subuid and
// /etc/subgid grant the user, and the user's own ids, as LXC's
// lxc-destroy does through its user namespace helper.
// The removal stays on p's own mount (storage.RemoveTree): what is
// mounted under it is left in place and named in the error.
func removeTree(p string) error {
	err := storage.RemoveTree(p)
	if err == nil || os.Geteuid() == 0 || !errors.Is(err, os.ErrPermission) {
		return err
	}
	c := namespace.CurrentCaller()
	maps, merr := callerMaps(c)
	if merr != nil {
		return fmt.Errorf("%w (and %v)", err, merr)
	}
	cmd := exec.Command("/proc/self/exe", RemoveTreeArg, p)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if serr := namespace.StartMapped(cmd, maps, nil); serr != nil {
		return fmt.Errorf("%w (and as root of a user namespace of the user's ranges: %v)", err, serr)
	}
	if werr := cmd.Wait(); werr != nil {
		return fmt.Errorf("remove %s as root of a user namespace of the user's ranges: %s: %w", p, strings.TrimSpace(out.String()), werr)
	}
	return nil
}

// callerMaps maps every range /etc/subuid and /etc/subgid grant c, one
// after another from 0, and c's own ids after them.
func callerMaps(c namespace.Caller) (namespace.IDMaps, error) {
	var m namespace.IDMaps
	for _, kind := range []struct {
		file string
		own  uint32
		dst  *[]specs.LinuxIDMapping
	}{{c.SubUID, c.UID, &m.UID}, {c.SubGID, c.GID, &m.GID}} {
		ranges, err := namespace.ReadSubIDs(kind.file, c.Name, kind.own)
		if err != nil {
			return m, err
		}
		var next uint64
		for _, r := range ranges {
			if len(*kind.dst) == 339 || next+r.Count >= 1<<32-1 {
				break
			}
			*kind.dst = append(*kind.dst, specs.LinuxIDMapping{ContainerID: uint32(next), HostID: uint32(r.Start), Size: uint32(r.Count)})
			next += r.Count
		}
		if len(*kind.dst) == 0 {
			return m, fmt.Errorf("%s grants %s (%d) no range to remove its containers' files with", kind.file, c.Name, kind.own)
		}
	}
	return m.WithCaller(c), nil
}

// RunRemoveTree is golxc re-exec'd with RemoveTreeArg, as root of the user
// namespace removeTree made: it removes args[0].
func RunRemoveTree(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "golxc: remove tree: want one path")
		return 1
	}
	if err := storage.RemoveTree(args[0]); err != nil {
		fmt.Fprintf(os.Stderr, "golxc: %v\n", err)
		return 1
	}
	return 0
}

// refuseMounts refuses to destroy c while anything is mounted in its
// directory (a bind mount into its rootfs left behind): checked before
// anything moves, so the container is left whole. LXC's lxc-destroy
// removes the rest and keeps the mount's data; golxc keeps the container
// whole and names the mount. The removal itself stays on one mount
// (removeTree) should a mount appear after this check.
func refuseMounts(c *Container) error {
	mps, err := storage.MountsUnder(c.Dir())
	if err != nil {
		return fmt.Errorf("destroy %s: %w", c.Name, err)
	}
	if len(mps) > 0 {
		return fmt.Errorf("destroy %s: %w", c.Name, &storage.MountPointError{Path: mps[0]})
	}
	return nil
}
