package test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"
)

// A stopped container's rootfs is still the container's: whoever holds
// its files (its root, through a mapped id, or a process left in a
// shared mount) can make a directory in it a symlink to a host directory,
// before lxc-destroy or while it runs. The removal must take the link,
// never what it points to.

// hostTree makes a directory standing for host data, n files in it and n
// in a subdirectory, named as fillDir names a rootfs directory's (an
// attacker picks the names a remover that followed its swapped link
// would delete), and returns it with the files' paths.
func hostTree(t *testing.T, n int) (string, []string) {
	t.Helper()
	host := t.TempDir()
	var files []string
	for _, d := range []string{host, filepath.Join(host, "more")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			p := filepath.Join(d, fmt.Sprintf("f%d", i))
			if err := os.WriteFile(p, []byte("host data"), 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, p)
		}
	}
	return host, files
}

// assertHostKept fails the test when a host file is gone or changed.
func assertHostKept(t *testing.T, what string, files []string) {
	t.Helper()
	var lost []string
	for _, p := range files {
		if b, err := os.ReadFile(p); err != nil || string(b) != "host data" {
			lost = append(lost, filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p))
		}
	}
	if len(lost) > 0 {
		t.Errorf("%s: %d of %d host files lost or changed (%s ...)", what, len(lost), len(files), lost[0])
	}
}

// fillDir makes dir with n files and a subdirectory of n more: work
// enough for the remover that a racing rename meets it midway.
func fillDir(t *testing.T, dir string, n int) {
	t.Helper()
	for _, d := range []string{dir, filepath.Join(dir, "more")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		for i := range n {
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%d", i)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// TestAttackDestroySymlinkToHost: links in a stopped container's rootfs
// to a host directory (absolute, relative, to a host file) and a rootfs
// that is itself such a link are removed by lxc-destroy, their targets
// kept.
func TestAttackDestroySymlinkToHost(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	host, files := hostTree(t, 8)

	n := l.createBusybox()
	rootfs := filepath.Join(l.path, n, "rootfs")
	rel, err := filepath.Rel(filepath.Join(rootfs, "root"), host)
	if err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{
		"hostdir":       host,
		"root/relative": rel,
		"etc/hostfile":  files[0],
		"etc/hostsub":   filepath.Join(host, "more"),
	} {
		if err := os.Symlink(target, filepath.Join(rootfs, name)); err != nil {
			t.Fatal(err)
		}
	}
	l.mustRun("lxc-destroy", "-n", n)
	if _, err := os.Lstat(filepath.Join(l.path, n)); err == nil {
		t.Errorf("lxc-destroy -n %s: %s still exists", n, filepath.Join(l.path, n))
	}
	assertHostKept(t, "lxc-destroy of a rootfs with links to the host", files)

	m := l.createBusybox()
	rootfs = filepath.Join(l.path, m, "rootfs")
	if err := os.RemoveAll(rootfs); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host, rootfs); err != nil {
		t.Fatal(err)
	}
	l.mustRun("lxc-destroy", "-n", m)
	if _, err := os.Lstat(filepath.Join(l.path, m)); err == nil {
		t.Errorf("lxc-destroy -n %s: %s still exists", m, filepath.Join(l.path, m))
	}
	assertHostKept(t, "lxc-destroy of a rootfs that is a link to the host", files)
}

// TestAttackDestroyRace: while lxc-destroy removes a stopped container,
// loops swap directories of its rootfs (one near the top, one deeper,
// and one inside a chain deeper than the remover keeps open, which it
// reopens by name) with symlinks to a host directory (renameat2
// RENAME_EXCHANGE, atomic). The host directory's files survive; the
// destroy either finishes or refuses ("changed while being removed"),
// and what it left is swept, without the race, by the next create.
func TestAttackDestroyRace(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	host, files := hostTree(t, 300)
	n := l.createBusybox()
	rootfs := filepath.Join(l.path, n, "rootfs")

	chain := filepath.Join(rootfs, "deep")
	for range 100 {
		chain = filepath.Join(chain, "d")
	}
	fillDir(t, chain, 50)
	targets := []string{
		filepath.Join(rootfs, "race"),
		filepath.Join(rootfs, "usr", "race"),
		filepath.Join(rootfs, "deep", "d", "d"),
	}
	for _, d := range targets[:2] {
		fillDir(t, d, 300)
	}
	for _, d := range targets {
		if err := os.Symlink(host, d+".swap"); err != nil {
			t.Fatal(err)
		}
	}

	stop := make(chan struct{})
	var swaps atomic.Int64
	var wg sync.WaitGroup
	for _, d := range targets {
		// By the parent's descriptor, as a process with its working
		// directory there would: lxc-destroy first renames the
		// container's directory away.
		pfd, err := unix.Open(filepath.Dir(d), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer unix.Close(pfd)
		name := filepath.Base(d)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				err := unix.Renameat2(pfd, name, pfd, name+".swap", unix.RENAME_EXCHANGE)
				if err == nil {
					swaps.Add(1)
				} else if errors.Is(err, unix.ENOENT) {
					// One of the pair is removed (or a parent): the
					// remover has passed; nothing left to swap.
					return
				}
			}
		}()
	}
	_, errs, code := l.run("lxc-destroy", "-n", n)
	close(stop)
	wg.Wait()
	t.Logf("lxc-destroy under %d swaps: exit %d %s", swaps.Load(), code, strings.TrimSpace(errs))
	assertHostKept(t, "lxc-destroy racing swaps for links to the host", files)
	if code != 0 {
		if !strings.Contains(errs, "changed while being removed") {
			t.Errorf("lxc-destroy -n %s under the race: exit %d, %q; want 0 or a refusal saying the tree changed", n, code, errs)
		}
		// The container is gone all the same (its directory is renamed
		// away first); what is left of it, the next create in the
		// lxcpath sweeps.
		l.createBusybox()
		assertHostKept(t, "the sweep of what the destroy left", files)
	}
	if _, err := os.Lstat(filepath.Join(l.path, n)); err == nil {
		t.Errorf("lxc-destroy -n %s: %s still exists", n, filepath.Join(l.path, n))
	}
	if left, _ := filepath.Glob(filepath.Join(l.path, ".*.destroying-*")); len(left) > 0 {
		t.Errorf("left in the lxcpath: %v", left)
	}
	if swaps.Load() == 0 {
		t.Error("no swap happened during the destroy: the race was not run")
	}
}
