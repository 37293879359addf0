package cgroup

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// Pressure is one line of a PSI file (cpu.pressure ...): the share of
// time some (or all, "full") tasks stalled, over 10, 60 and 300 s, in
// percent, and the total stall time in microseconds.
type Pressure struct {
	Avg10   float64 `json:"avg10"`
	Avg60   float64 `json:"avg60"`
	Avg300  float64 `json:"avg300"`
	TotalUS uint64  `json:"total_us"`
}

// PSI is a resource's pressure; Full is nil where the kernel has no
// "full" line (cpu before 5.13).
type PSI struct {
	Some Pressure  `json:"some"`
	Full *Pressure `json:"full,omitempty"`
}

// Events is what the kernel counts of a group beside its usage: OOM
// events and kills (v2 memory.events, v1 memory.oom_control), and the
// pressure stall information of cgroup2 (by resource: cpu, io, memory).
type Events struct {
	OOM      uint64 // times the group hit its memory limit and reclaim failed (v2 only)
	OOMKill  uint64 // processes the OOM killer killed in the group
	HasOOM   bool   // OOM is counted
	HasKill  bool   // OOMKill is counted
	Pressure map[string]PSI
}

// Events reads the group's OOM counts, from the hierarchy that has its
// memory controller, and its PSI files from cgroup2 (they are there
// without any controller enabled, where the kernel has PSI).
func (g *Group) Events() (Events, error) {
	var e Events
	if g.err != nil {
		return e, g.err
	}
	var err error
	if d := g.v1With("memory"); d != nil {
		e.OOMKill, e.HasKill, err = readKeyed(filepath.Join(d.path, "memory.oom_control"), "oom_kill")
	} else if g.v2 != nil {
		p := filepath.Join(g.v2.path, "memory.events")
		if e.OOM, e.HasOOM, err = readKeyed(p, "oom"); err == nil {
			e.OOMKill, e.HasKill, err = readKeyed(p, "oom_kill")
		}
	}
	if err != nil {
		return e, err
	}
	if g.v2 == nil {
		return e, nil
	}
	for _, r := range []string{"cpu", "io", "memory"} {
		s, ok, err := readOptional(filepath.Join(g.v2.path, r+".pressure"))
		if err != nil || !ok {
			// EOPNOTSUPP where PSI is compiled in but off (psi=0).
			continue
		}
		psi, err := parsePSI(s)
		if err != nil {
			return e, fmt.Errorf("read %s.pressure of %s: %w", r, g.name, err)
		}
		if e.Pressure == nil {
			e.Pressure = map[string]PSI{}
		}
		e.Pressure[r] = psi
	}
	return e, nil
}

// parsePSI parses "some avg10=0.00 avg60=0.00 avg300=0.00 total=0" and
// the "full" line.
func parsePSI(s string) (PSI, error) {
	var psi PSI
	seen := false
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		var p Pressure
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			var err error
			switch k {
			case "avg10":
				p.Avg10, err = strconv.ParseFloat(v, 64)
			case "avg60":
				p.Avg60, err = strconv.ParseFloat(v, 64)
			case "avg300":
				p.Avg300, err = strconv.ParseFloat(v, 64)
			case "total":
				p.TotalUS, err = strconv.ParseUint(v, 10, 64)
			}
			if err != nil {
				return psi, fmt.Errorf("%q: %w", kv, err)
			}
		}
		switch f[0] {
		case "some":
			psi.Some, seen = p, true
		case "full":
			psi.Full = &p
		}
	}
	if !seen {
		return psi, fmt.Errorf("no \"some\" line in %q", s)
	}
	return psi, nil
}

// Detail is the split of a group's CPU time and block I/O that lxc-top
// shows beside Stats' totals.
type Detail struct {
	UserNanos, SysNanos   uint64 // CPU time in user and kernel mode
	ReadBytes, WriteBytes uint64 // block I/O by direction
	HasCPU, HasBlkIO      bool
}

// userHZ is the unit of v1 cpuacct.stat: USER_HZ, 100 on every
// architecture Linux exports it for.
const userHZ = 100

// Detail reads the CPU split (v1 cpuacct.stat, v2 cpu.stat) and the block
// I/O split (v1 blkio throttle file, v2 io.stat), from the hierarchy
// Stats reads the totals from.
func (g *Group) Detail() (Detail, error) {
	var d Detail
	if g.err != nil {
		return d, g.err
	}
	var err error
	if v1 := g.v1With("cpuacct"); v1 != nil {
		p := filepath.Join(v1.path, "cpuacct.stat")
		var u, s uint64
		var hasU, hasS bool
		if u, hasU, err = readKeyed(p, "user"); err == nil {
			s, hasS, err = readKeyed(p, "system")
		}
		d.UserNanos, d.SysNanos, d.HasCPU = u*(1e9/userHZ), s*(1e9/userHZ), hasU && hasS
	} else if g.v2 != nil {
		p := filepath.Join(g.v2.path, "cpu.stat")
		var u, s uint64
		var hasU, hasS bool
		if u, hasU, err = readKeyed(p, "user_usec"); err == nil {
			s, hasS, err = readKeyed(p, "system_usec")
		}
		d.UserNanos, d.SysNanos, d.HasCPU = u*1000, s*1000, hasU && hasS
	}
	if err != nil {
		return d, err
	}
	if v1 := g.v1With("blkio"); v1 != nil {
		d.ReadBytes, d.WriteBytes, d.HasBlkIO, err = readBlkioSplit(filepath.Join(v1.path, "blkio.throttle.io_service_bytes"))
	} else if g.v2 != nil {
		d.ReadBytes, d.WriteBytes, d.HasBlkIO, err = readIOSplit(filepath.Join(g.v2.path, "io.stat"))
	}
	return d, err
}

// readBlkioSplit sums the "MAJ:MIN Read N" and "MAJ:MIN Write N" lines
// of a v1 io_service_bytes file.
func readBlkioSplit(path string) (r, w uint64, ok bool, err error) {
	s, ok, err := readOptional(path)
	if !ok || err != nil {
		return 0, 0, false, err
	}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		if len(f) != 3 || (f[1] != "Read" && f[1] != "Write") {
			continue
		}
		n, err := strconv.ParseUint(f[2], 10, 64)
		if err != nil {
			return 0, 0, false, fmt.Errorf("read %s: %q: %w", path, line, err)
		}
		if f[1] == "Read" {
			r += n
		} else {
			w += n
		}
	}
	return r, w, true, nil
}

// readIOSplit sums rbytes and wbytes of a cgroup2 io.stat apart.
func readIOSplit(path string) (r, w uint64, ok bool, err error) {
	s, ok, err := readOptional(path)
	if !ok || err != nil {
		return 0, 0, false, err
	}
	for _, line := range strings.Split(s, "\n") {
		f := strings.Fields(line)
		for _, kv := range f[min(1, len(f)):] {
			k, v, _ := strings.Cut(kv, "=")
			if k != "rbytes" && k != "wbytes" {
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return 0, 0, false, fmt.Errorf("read %s: %s: %w", path, kv, err)
			}
			if k == "rbytes" {
				r += n
			} else {
				w += n
			}
		}
	}
	return r, w, true, nil
}
