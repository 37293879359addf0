package cgroup

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// killWait bounds Kill's wait for a group without cgroup.kill to empty.
const killWait = 2 * time.Second

// Freeze stops every process in the group and returns once they are all
// stopped: through cgroup2's cgroup.freeze when mounted (it works without
// any controller), else the v1 freezer. If ctx ends first the group is
// thawed again.
func (g *Group) Freeze(ctx context.Context) error {
	if g.err != nil {
		return g.err
	}
	if g.v2 != nil {
		return g.v2.freeze(ctx)
	}
	if d := g.v1With("freezer"); d != nil {
		return freezeV1(ctx, d.path)
	}
	return fmt.Errorf("freeze cgroup %s: no cgroup2 hierarchy and no v1 freezer", g.name)
}

// Thaw resumes the group's processes. On a hybrid host it thaws the v1
// freezer too, in case something froze the group there.
func (g *Group) Thaw() error {
	if g.err != nil {
		return g.err
	}
	var errs []error
	if g.v2 != nil {
		errs = append(errs, g.v2.thaw())
	}
	if d := g.v1With("freezer"); d != nil {
		errs = append(errs, thawV1(d.path))
	}
	if g.v2 == nil && g.v1With("freezer") == nil {
		return fmt.Errorf("thaw cgroup %s: no cgroup2 hierarchy and no v1 freezer", g.name)
	}
	return errors.Join(errs...)
}

// Frozen reports whether the group is frozen, by cgroup2 or the v1 freezer.
func (g *Group) Frozen() (bool, error) {
	if g.err != nil {
		return false, g.err
	}
	if g.v2 != nil {
		f, err := g.v2.frozen()
		if err != nil || f {
			return f, err
		}
	}
	if d := g.v1With("freezer"); d != nil {
		return frozenV1(d.path)
	}
	if g.v2 == nil {
		return false, fmt.Errorf("cgroup %s: no cgroup2 hierarchy and no v1 freezer", g.name)
	}
	return false, nil
}

// Freezing reports whether cgroup2 freezes the group or is asked to
// (cgroup.freeze 1, frozen or not yet): a process cloned into it stops
// before it runs. False where no cgroup2 hierarchy is mounted.
func (g *Group) Freezing() (bool, error) {
	if g.err != nil {
		return false, g.err
	}
	if g.v2 == nil {
		return false, nil
	}
	s, err := readFile(filepath.Join(g.v2.path, "cgroup.freeze"))
	if err != nil {
		return false, err
	}
	return s == "1", nil
}

// Kill sends SIGKILL to every process in the group. With cgroup2's
// cgroup.kill the kernel does it in one go and it returns at once;
// otherwise it freezes the group (so nothing forks behind its back), kills
// each listed pid, thaws (a frozen v1 task dies only once thawed) and
// repeats until the group is empty, for up to about two seconds.
func (g *Group) Kill() error {
	if g.err != nil {
		return g.err
	}
	if g.v2 != nil {
		ok, err := g.v2.kill()
		if err != nil {
			return fmt.Errorf("kill cgroup %s: %w", g.name, err)
		}
		if ok {
			return nil
		}
	}
	deadline := time.Now().Add(killWait)
	delay := time.Millisecond
	for {
		// A task stuck in the kernel can keep the group FREEZING: then
		// kill without freezing rather than spend the whole budget.
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		froze := g.Freeze(ctx) == nil
		cancel()
		pids, err := g.Procs()
		if errors.Is(err, fs.ErrNotExist) && !froze {
			return nil // no group, nothing in it
		}
		if err != nil {
			if froze {
				_ = g.Thaw()
			}
			return fmt.Errorf("kill cgroup %s: %w", g.name, err)
		}
		var kerr error
		for _, pid := range pids {
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && err != unix.ESRCH {
				kerr = fmt.Errorf("kill pid %d: %w", pid, err)
			}
		}
		if froze {
			if err := g.Thaw(); err != nil {
				return fmt.Errorf("kill cgroup %s: %w", g.name, err)
			}
		}
		if kerr != nil {
			return fmt.Errorf("kill cgroup %s: %w", g.name, kerr)
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kill cgroup %s: %d processes still there after %v", g.name, len(pids), killWait)
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}
