package main

import (
	"fmt"
	"os"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	"golang.org/x/sys/unix"
)

// bpfDetach tries to take the device program off the cgroup2 directory
// DIR (the container's own cgroup, as its cgroup namespace shows it;
// mounted there first when DIR does not exist):
// query the programs attached there, open each by id and detach it. It
// prints "blocked REASON" or "ESCAPED detached N".
func bpfDetach(dir string) {
	const name = "bpf-detach"
	if _, err := os.Stat(dir); err != nil {
		// No cgroup2 mounted there: mount one, rooted at the
		// container's own cgroup by its cgroup namespace.
		if err := os.MkdirAll(dir, 0o700); err != nil {
			report(name, "blocked", "mkdir %s: %v", dir, err)
			return
		}
		if err := unix.Mount("cgroup2", dir, "cgroup2", 0, ""); err != nil {
			report(name, "blocked", "mount cgroup2 on %s: %v", dir, err)
			return
		}
		defer unix.Unmount(dir, unix.MNT_DETACH)
	}
	cg, err := os.Open(dir)
	if err != nil {
		report(name, "blocked", "open %s: %v", dir, err)
		return
	}
	defer cg.Close()
	res, err := link.QueryPrograms(link.QueryOptions{Target: int(cg.Fd()), Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		report(name, "blocked", "query: %v", err)
		return
	}
	if len(res.Programs) == 0 {
		report(name, "blocked", "no device program attached at %s", dir)
		return
	}
	n := 0
	var last error
	for _, p := range res.Programs {
		prog, err := ebpf.NewProgramFromID(p.ID)
		if err != nil {
			last = fmt.Errorf("open program %d: %w", p.ID, err)
			continue
		}
		err = link.RawDetachProgram(link.RawDetachProgramOptions{Target: int(cg.Fd()), Program: prog, Attach: ebpf.AttachCGroupDevice})
		prog.Close()
		if err != nil {
			last = fmt.Errorf("detach program %d: %w", p.ID, err)
			continue
		}
		n++
	}
	if n == 0 {
		report(name, "blocked", "%v", last)
		return
	}
	report(name, "ESCAPED", "detached %d device programs", n)
}
