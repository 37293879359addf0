package namespace

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// IDMaps are the uid and gid maps of a user namespace: ContainerID is the
// first id inside, HostID the first on the host (user_namespaces(7)).
type IDMaps struct {
	UID []specs.LinuxIDMapping
	GID []specs.LinuxIDMapping
}

// maxMapLines is the kernel's limit of lines in one uid_map or gid_map
// (user_namespaces(7): 340 since Linux 4.15).
const maxMapLines = 340

// ParseMapFlag parses one lxc-usernsexec -m map, "u|g|b:NSID:HOSTID:RANGE"
// (lxc-usernsexec(1)), into m.
func ParseMapFlag(s string, m *IDMaps) error {
	f := strings.Split(s, ":")
	if len(f) != 4 || (f[0] != "u" && f[0] != "g" && f[0] != "b") {
		return fmt.Errorf("map %q: want u|g|b:NSID:HOSTID:RANGE", s)
	}
	var n [3]uint32
	for i, v := range f[1:] {
		x, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return fmt.Errorf("map %q: %q is not an id", s, v)
		}
		n[i] = uint32(x)
	}
	e := specs.LinuxIDMapping{ContainerID: n[0], HostID: n[1], Size: n[2]}
	if f[0] != "g" {
		m.UID = append(m.UID, e)
	}
	if f[0] != "u" {
		m.GID = append(m.GID, e)
	}
	return nil
}

// Validate checks the maps as the kernel will when they are written, so
// the mistake is named before anything is spawned: no empty range, no
// range past the last id, no two ranges overlapping inside or on the
// host, at most 340 lines; and the namespace's root (id 0) mapped, since
// whatever runs in it starts as root.
func (m IDMaps) Validate() error {
	for _, kind := range []struct {
		name string
		maps []specs.LinuxIDMapping
	}{{"uid", m.UID}, {"gid", m.GID}} {
		if len(kind.maps) == 0 {
			return fmt.Errorf("no %s map: a user namespace needs both a uid and a gid map", kind.name)
		}
		if len(kind.maps) > maxMapLines {
			return fmt.Errorf("%d %s maps: the kernel takes at most %d", len(kind.maps), kind.name, maxMapLines)
		}
		root := false
		for i, a := range kind.maps {
			if a.Size == 0 {
				return fmt.Errorf("%s map %s: a range of 0 maps nothing", kind.name, mapString(a))
			}
			if uint64(a.ContainerID)+uint64(a.Size) > 1<<32-1 || uint64(a.HostID)+uint64(a.Size) > 1<<32-1 {
				return fmt.Errorf("%s map %s: the range runs past the last id", kind.name, mapString(a))
			}
			if a.ContainerID == 0 {
				root = true
			}
			for _, b := range kind.maps[:i] {
				if overlap(a.ContainerID, b.ContainerID, a.Size, b.Size) {
					return fmt.Errorf("%s maps %s and %s overlap inside the namespace", kind.name, mapString(b), mapString(a))
				}
				if overlap(a.HostID, b.HostID, a.Size, b.Size) {
					return fmt.Errorf("%s maps %s and %s overlap on the host", kind.name, mapString(b), mapString(a))
				}
			}
		}
		if !root {
			return fmt.Errorf("no %s map for id 0: the namespace's root must be mapped", kind.name)
		}
	}
	return nil
}

func overlap(a, b, an, bn uint32) bool {
	return uint64(a) < uint64(b)+uint64(bn) && uint64(b) < uint64(a)+uint64(an)
}

func mapString(m specs.LinuxIDMapping) string {
	return fmt.Sprintf("%d %d %d", m.ContainerID, m.HostID, m.Size)
}

// HostID is the host id that id inside the namespace maps to, and whether
// it is mapped at all.
func HostID(maps []specs.LinuxIDMapping, id uint32) (uint32, bool) {
	for _, m := range maps {
		if id >= m.ContainerID && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return m.HostID + (id - m.ContainerID), true
		}
	}
	return 0, false
}

// ContainerID is the id inside the namespace that host id maps to, and
// whether it is mapped at all.
func ContainerID(maps []specs.LinuxIDMapping, id uint32) (uint32, bool) {
	for _, m := range maps {
		if id >= m.HostID && uint64(id) < uint64(m.HostID)+uint64(m.Size) {
			return m.ContainerID + (id - m.HostID), true
		}
	}
	return 0, false
}

// SpawnAttr is what spawns a process (os/exec) as root of a new user
// namespace with these maps, written between clone and exec by the Go
// runtime, as root may. Without the Credential the process would exec as
// the unmapped overflow uid and lose every capability it has in the
// namespace. Setgroups stays allowed: the maps are root's choice.
func (m IDMaps) SpawnAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                SysProcIDMap(m.UID),
		GidMappings:                SysProcIDMap(m.GID),
		GidMappingsEnableSetgroups: true,
		Credential:                 &syscall.Credential{Uid: 0, Gid: 0},
	}
}

// SysProcIDMap converts maps to package syscall's.
func SysProcIDMap(ms []specs.LinuxIDMapping) []syscall.SysProcIDMap {
	out := make([]syscall.SysProcIDMap, len(ms))
	for i, m := range ms {
		out[i] = syscall.SysProcIDMap{ContainerID: int(m.ContainerID), HostID: int(m.HostID), Size: int(m.Size)}
	}
	return out
}

// mapFileText is a uid_map or gid_map as the kernel takes it: the whole
// map in one write.
func mapFileText(maps []specs.LinuxIDMapping) string {
	var b strings.Builder
	for _, m := range maps {
		fmt.Fprintf(&b, "%d %d %d\n", m.ContainerID, m.HostID, m.Size)
	}
	return b.String()
}

// WriteMaps writes the id maps of the user namespace of process pid,
// which must not have any yet. Root writes /proc/PID/uid_map and gid_map
// itself (and leaves setgroups allowed: the namespace's root may then set
// its groups, which a full map makes harmless); anyone else goes through
// the set-user-ID newuidmap and newgidmap (package uidmap), which write
// only ranges /etc/subuid and /etc/subgid grant the caller.
func WriteMaps(pid int, m IDMaps) error {
	if os.Geteuid() == 0 {
		for _, f := range []struct {
			name string
			maps []specs.LinuxIDMapping
		}{{"uid_map", m.UID}, {"gid_map", m.GID}} {
			p := "/proc/" + strconv.Itoa(pid) + "/" + f.name
			if err := os.WriteFile(p, []byte(mapFileText(f.maps)), 0); err != nil {
				return fmt.Errorf("write %s: %w", p, err)
			}
		}
		return nil
	}
	for _, f := range []struct {
		tool string
		maps []specs.LinuxIDMapping
	}{{"newuidmap", m.UID}, {"newgidmap", m.GID}} {
		args := []string{strconv.Itoa(pid)}
		for _, e := range f.maps {
			args = append(args, strconv.FormatUint(uint64(e.ContainerID), 10), strconv.FormatUint(uint64(e.HostID), 10), strconv.FormatUint(uint64(e.Size), 10))
		}
		path, err := exec.LookPath(f.tool)
		if err != nil {
			return fmt.Errorf("%s is needed to map ids as a user other than root (Debian's uidmap package): %w", f.tool, err)
		}
		out, err := exec.Command(path, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s %s: %s: %w", f.tool, strings.Join(args, " "), strings.TrimSpace(string(out)), err)
		}
	}
	return nil
}

// SubIDRange is one line of /etc/subuid or /etc/subgid: Count ids from
// Start that the user may map.
type SubIDRange struct{ Start, Count uint64 }

// ReadSubIDs returns the ranges file (/etc/subuid or /etc/subgid, in
// subuid(5)'s format) grants the user named name or numbered id. A file
// that does not exist grants nothing.
func ReadSubIDs(file, name string, id uint32) ([]SubIDRange, error) {
	f, err := os.Open(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	defer f.Close()
	var rs []SubIDRange
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fs := strings.Split(line, ":")
		if len(fs) != 3 || (fs[0] != name && fs[0] != strconv.FormatUint(uint64(id), 10)) {
			continue
		}
		start, err1 := strconv.ParseUint(fs[1], 10, 32)
		count, err2 := strconv.ParseUint(fs[2], 10, 32)
		if err1 != nil || err2 != nil {
			continue // newuidmap skips such lines too
		}
		rs = append(rs, SubIDRange{Start: start, Count: count})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	return rs, nil
}

// Caller is who maps ids through newuidmap/newgidmap: a user's name, uid
// and gid, and where the user's ranges are written.
type Caller struct {
	Name           string
	UID, GID       uint32
	SubUID, SubGID string // /etc/subuid, /etc/subgid
}

// CurrentCaller is the user this process runs as, with the system's
// range files.
func CurrentCaller() Caller {
	c := Caller{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), SubUID: "/etc/subuid", SubGID: "/etc/subgid"}
	if u, err := user.LookupId(strconv.Itoa(os.Getuid())); err == nil {
		c.Name = u.Username
	} else {
		c.Name = strconv.Itoa(os.Getuid())
	}
	return c
}

// WithCaller is m with the caller's own uid and gid mapped too, each to
// the first id inside past m's ranges, unless m maps them already: a
// process of the namespace can then use what the caller made for it
// (lxc-create's directory and config, as LXC's does). newuidmap lets a
// user map its own ids without a range.
func (m IDMaps) WithCaller(c Caller) IDMaps {
	add := func(maps []specs.LinuxIDMapping, own uint32) []specs.LinuxIDMapping {
		if _, ok := ContainerID(maps, own); ok {
			return maps
		}
		var next uint64
		for _, e := range maps {
			if end := uint64(e.ContainerID) + uint64(e.Size); end > next {
				next = end
			}
		}
		if next >= 1<<32-1 {
			return maps
		}
		return append(slices.Clone(maps), specs.LinuxIDMapping{ContainerID: uint32(next), HostID: own, Size: 1})
	}
	return IDMaps{UID: add(m.UID, c.UID), GID: add(m.GID, c.GID)}
}

// Preflight checks that newuidmap and newgidmap will write m for c: every
// host range is the caller's own id or lies within one range /etc/subuid
// (or /etc/subgid) grants the caller. The error is one line that says
// which range is missing and how to grant it.
func Preflight(c Caller, m IDMaps) error {
	for _, kind := range []struct {
		file, what string
		own        uint32
		maps       []specs.LinuxIDMapping
		tool       string
	}{{c.SubUID, "uids", c.UID, m.UID, "usermod --add-subuids"}, {c.SubGID, "gids", c.GID, m.GID, "usermod --add-subgids"}} {
		ranges, err := ReadSubIDs(kind.file, c.Name, kind.own)
		if err != nil {
			return err
		}
		for _, e := range kind.maps {
			if e.Size == 1 && e.HostID == kind.own {
				continue // newuidmap lets a user map their own id
			}
			if !within(ranges, uint64(e.HostID), uint64(e.Size)) {
				last := uint64(e.HostID) + uint64(e.Size) - 1
				return fmt.Errorf("%s grants %s (%d) no range holding host %s %d-%d: add the line %s:%d:%d to it (%s %d-%d %s)",
					kind.file, c.Name, kind.own, kind.what, e.HostID, last, c.Name, e.HostID, e.Size, kind.tool, e.HostID, last, c.Name)
			}
		}
	}
	return nil
}

func within(rs []SubIDRange, start, count uint64) bool {
	for _, r := range rs {
		if start >= r.Start && start+count <= r.Start+r.Count {
			return true
		}
	}
	return false
}

// DefaultMaps is lxc-usernsexec's map when none is given
// (lxc-usernsexec(1)): the caller's first /etc/subuid and /etc/subgid
// ranges mapped from 0.
func DefaultMaps(c Caller) (IDMaps, error) {
	var m IDMaps
	for _, kind := range []struct {
		file string
		own  uint32
		dst  *[]specs.LinuxIDMapping
	}{{c.SubUID, c.UID, &m.UID}, {c.SubGID, c.GID, &m.GID}} {
		ranges, err := ReadSubIDs(kind.file, c.Name, kind.own)
		if err != nil {
			return m, err
		}
		if len(ranges) == 0 {
			return m, fmt.Errorf("%s grants %s (%d) no range, and no -m map was given: add a line %s:START:COUNT to it, or give -m maps", kind.file, c.Name, kind.own, c.Name)
		}
		*kind.dst = []specs.LinuxIDMapping{{ContainerID: 0, HostID: uint32(ranges[0].Start), Size: uint32(ranges[0].Count)}}
	}
	return m, nil
}

// ParseMapFile reads a /proc/PID/uid_map or gid_map: "NSID HOSTID COUNT"
// a line.
func ParseMapFile(text string) ([]specs.LinuxIDMapping, error) {
	var out []specs.LinuxIDMapping
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("id map line %q: want NSID HOSTID COUNT", line)
		}
		var v [3]uint32
		for i, s := range f {
			n, err := strconv.ParseUint(s, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("id map line %q: %w", line, err)
			}
			v[i] = uint32(n)
		}
		out = append(out, specs.LinuxIDMapping{ContainerID: v[0], HostID: v[1], Size: v[2]})
	}
	return out, nil
}

// SameMaps says whether a and b map the same ids, in whatever order
// their ranges are listed.
func SameMaps(a, b []specs.LinuxIDMapping) bool {
	order := func(x, y specs.LinuxIDMapping) int {
		if x.ContainerID != y.ContainerID {
			if x.ContainerID < y.ContainerID {
				return -1
			}
			return 1
		}
		return 0
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.SortFunc(a, order)
	slices.SortFunc(b, order)
	return slices.Equal(a, b)
}

// MapsText is maps as lxc.idmap lines' values, kind ("u" or "g") first,
// joined by ", ".
func MapsText(kind string, maps []specs.LinuxIDMapping) string {
	s := make([]string, len(maps))
	for i, m := range maps {
		s[i] = fmt.Sprintf("%s %d %d %d", kind, m.ContainerID, m.HostID, m.Size)
	}
	return strings.Join(s, ", ")
}
