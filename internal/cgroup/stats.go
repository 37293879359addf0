package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
)

// Stats is a group's resource usage. A Has flag is false when the host does
// not account that resource for the group (controller absent or not
// enabled, file missing).
type Stats struct {
	CPUNanos    uint64 // CPU time used
	MemoryBytes uint64 // memory in use, page cache included
	KMemBytes   uint64 // kernel memory in use
	BlkIOBytes  uint64 // bytes read and written on block devices
	SwapBytes   uint64 // swap in use (v1: memory+swap less memory)
	HasCPU      bool
	HasMemory   bool
	HasKMem     bool
	HasBlkIO    bool
	HasSwap     bool
}

// GroupAt is the group named dirName whose directories are paths, as
// Group.Paths gives them (controller, or "unified", to directory): a
// running container's monitor tells them, so that a tool reading its
// usage need not read the host's mounts to find them. Controllers of one
// directory share one v1 hierarchy.
func GroupAt(dirName string, paths map[string]string) (*Group, error) {
	g := &Group{name: dirName}
	if err := checkDirName(dirName); err != nil {
		return nil, err
	}
	byDir := map[string]int{}
	for c, p := range paths {
		if !filepath.IsAbs(p) || filepath.Clean(p) != p || filepath.Base(p) != filepath.Base(dirName) {
			return nil, fmt.Errorf("cgroup %s: directory %q of %s is not one of it", dirName, p, c)
		}
		if c == "unified" {
			g.v2 = &v2Dir{path: p}
			continue
		}
		if i, ok := byDir[p]; ok {
			g.v1[i].controllers = append(g.v1[i].controllers, c)
			continue
		}
		byDir[p] = len(g.v1)
		g.v1 = append(g.v1, v1Dir{path: p, controllers: []string{c}})
	}
	return g, nil
}

// Stats reads the group's usage from the v1 hierarchy of each controller,
// or from cgroup2 when no v1 hierarchy has it.
func (g *Group) Stats() (Stats, error) {
	var s Stats
	if g.err != nil {
		return s, g.err
	}
	var err error
	if d := g.v1With("cpuacct"); d != nil {
		s.CPUNanos, s.HasCPU, err = readUintFile(filepath.Join(d.path, "cpuacct.usage"))
	} else if g.v2 != nil {
		var usec uint64
		usec, s.HasCPU, err = readKeyed(filepath.Join(g.v2.path, "cpu.stat"), "usage_usec")
		s.CPUNanos = usec * 1000
	}
	if err != nil {
		return s, err
	}

	if d := g.v1With("memory"); d != nil {
		if s.MemoryBytes, s.HasMemory, err = readUintFile(filepath.Join(d.path, "memory.usage_in_bytes")); err != nil {
			return s, err
		}
		if s.KMemBytes, s.HasKMem, err = readUintFile(filepath.Join(d.path, "memory.kmem.usage_in_bytes")); err != nil {
			return s, err
		}
		// memsw exists only with swap accounting (swapaccount=1).
		var memsw uint64
		if memsw, s.HasSwap, err = readUintFile(filepath.Join(d.path, "memory.memsw.usage_in_bytes")); s.HasSwap && memsw > s.MemoryBytes {
			s.SwapBytes = memsw - s.MemoryBytes
		}
	} else if g.v2 != nil {
		if s.MemoryBytes, s.HasMemory, err = readUintFile(filepath.Join(g.v2.path, "memory.current")); err != nil {
			return s, err
		}
		// memory.stat "kernel" (Linux 5.18+) is v2's kernel memory total.
		if s.KMemBytes, s.HasKMem, err = readKeyed(filepath.Join(g.v2.path, "memory.stat"), "kernel"); err != nil {
			return s, err
		}
		s.SwapBytes, s.HasSwap, err = readUintFile(filepath.Join(g.v2.path, "memory.swap.current"))
	}
	if err != nil {
		return s, err
	}

	if d := g.v1With("blkio"); d != nil {
		// The throttle file counts all I/O whatever the scheduler; the
		// other one only exists with CFQ/BFQ.
		s.BlkIOBytes, s.HasBlkIO, err = readBlkioTotal(filepath.Join(d.path, "blkio.throttle.io_service_bytes"))
		if err == nil && !s.HasBlkIO {
			s.BlkIOBytes, s.HasBlkIO, err = readBlkioTotal(filepath.Join(d.path, "blkio.io_service_bytes"))
		}
	} else if g.v2 != nil {
		s.BlkIOBytes, s.HasBlkIO, err = readIOStat(filepath.Join(g.v2.path, "io.stat"))
	}
	return s, err
}

// readOptional reads a file that may be missing (ok false, no error).
func readOptional(path string) (string, bool, error) {
	s, err := readFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", false, nil
	}
	return s, err == nil, err
}

func readUintFile(path string) (uint64, bool, error) {
	s, ok, err := readOptional(path)
	if !ok || err != nil {
		return 0, false, err
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("read %s: %w", path, err)
	}
	return v, true, nil
}

// readKeyed reads the value of key from a flat keyed file ("key value"
// lines, as cpu.stat and memory.stat).
func readKeyed(path, key string) (uint64, bool, error) {
	s, ok, err := readOptional(path)
	if !ok || err != nil {
		return 0, false, err
	}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == key {
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0, false, fmt.Errorf("read %s: %s: %w", path, key, err)
			}
			return v, true, nil
		}
	}
	return 0, false, nil
}

// readBlkioTotal reads the "Total N" line of a v1 blkio io_service_bytes
// file.
func readBlkioTotal(path string) (uint64, bool, error) {
	s, ok, err := readOptional(path)
	if !ok || err != nil {
		return 0, false, err
	}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "Total" {
			v, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return 0, false, fmt.Errorf("read %s: Total: %w", path, err)
			}
			return v, true, nil
		}
	}
	return 0, false, nil
}

// readIOStat sums rbytes and wbytes over the devices of a cgroup2 io.stat
// ("8:0 rbytes=1 wbytes=2 rios=3 ...").
func readIOStat(path string) (uint64, bool, error) {
	r, w, ok, err := readIOSplit(path)
	return r + w, ok, err
}
