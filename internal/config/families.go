package config

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// rootfsPathField keeps lxc.rootfs.path as written and as a plain path: only
// the "dir:" storage prefix names a directory that can be used as is.
type rootfsPathField struct{}

func (rootfsPathField) set(c *Config, _, value string) error {
	c.Rootfs.Raw = value
	c.Rootfs.Path = strings.TrimPrefix(value, "dir:")
	return nil
}

func (rootfsPathField) get(c *Config, _ string) (string, error) { return c.Rootfs.Raw, nil }

func (rootfsPathField) clear(c *Config, _ string) error {
	c.Rootfs.Raw, c.Rootfs.Path = "", ""
	return nil
}

// mountEntryField is lxc.mount.entry: one fstab(5) line per value.
type mountEntryField struct{}

func (mountEntryField) set(c *Config, _, value string) error {
	e, err := parseMountEntry(value)
	if err != nil {
		return err
	}
	c.MountEntries = append(c.MountEntries, e)
	return nil
}

func (mountEntryField) get(c *Config, _ string) (string, error) {
	raws := make([]string, len(c.MountEntries))
	for i, e := range c.MountEntries {
		raws[i] = e.Raw
	}
	return strings.Join(raws, "\n"), nil
}

func (mountEntryField) clear(c *Config, _ string) error {
	c.MountEntries = nil
	return nil
}

// parseMountEntry reads "source target fstype options [dump [pass]]". Fields
// are separated by blanks and tabs, as in fstab(5), where a blank inside a
// field is written \040.
func parseMountEntry(value string) (MountEntry, error) {
	f := strings.FieldsFunc(value, func(r rune) bool { return r == ' ' || r == '\t' })
	if len(f) < 4 || len(f) > 6 {
		return MountEntry{}, fmt.Errorf("has %d fields, want \"source target fstype options [dump [pass]]\"", len(f))
	}
	e := MountEntry{Raw: value}
	dst := []*string{&e.Source, &e.Target, &e.FSType, &e.Options}
	for i, p := range dst {
		s, err := decodeOctal(f[i])
		if err != nil {
			return MountEntry{}, err
		}
		*p = s
	}
	for i, p := range []*int{&e.Dump, &e.Pass} {
		if len(f) <= 4+i {
			break
		}
		n, err := parseUint(f[4+i], 1<<30)
		if err != nil {
			return MountEntry{}, fmt.Errorf("field %d %q: %w", 5+i, f[4+i], err)
		}
		*p = int(n)
	}
	return e, nil
}

// decodeOctal decodes fstab(5)'s \NNN escapes (\040 for a blank, \011 for a
// tab...). Other backslashes are kept, as getmntent(3) keeps them.
func decodeOctal(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1], '3') && isOctal(s[i+2], '7') && isOctal(s[i+3], '7') {
			v := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			if v == 0 {
				return "", fmt.Errorf("%q decodes to a NUL byte", s)
			}
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String(), nil
}

func isOctal(c, highest byte) bool { return c >= '0' && c <= highest }

// mountAutoOptions are lxc.mount.auto's options (man lxc.container.conf,
// MOUNT POINTS); the cgroup ones may also end in ":force".
var mountAutoOptions = []string{
	"proc", "proc:mixed", "proc:rw",
	"sys", "sys:ro", "sys:mixed", "sys:rw",
	"cgroup", "cgroup:mixed", "cgroup:ro", "cgroup:rw",
	"cgroup-full", "cgroup-full:mixed", "cgroup-full:ro", "cgroup-full:rw",
}

func parseMountAuto(s string) (string, error) {
	if rest, ok := strings.CutPrefix(s, "shmounts:"); ok {
		// shmounts:HOST[:CONTAINER] shares a host directory with nested
		// containers; the host path is what it cannot do without.
		if rest == "" || rest[0] == ':' {
			return "", fmt.Errorf("%q needs a host path: shmounts:HOST[:CONTAINER]", s)
		}
		return s, nil
	}
	base, force := strings.CutSuffix(s, ":force")
	if slices.Contains(mountAutoOptions, base) && (!force || strings.HasPrefix(base, "cgroup")) {
		return s, nil
	}
	return "", fmt.Errorf("unknown option %q: want proc, sys, cgroup or cgroup-full, with :mixed, :ro or :rw (cgroup ones also :force), or shmounts:PATH", s)
}

// maxScannedItems caps the lists that every line of their key searches
// (networks by index, cgroup settings by name), so that a file of many such
// lines costs linear, not quadratic, time. Real configs hold a handful.
const maxScannedItems = 4096

// netTypes are the types lxc.net.N.type takes in LXC. Only empty and none are
// built by golxc so far; the rest are refused when a start tries them, not
// here, so a config written for LXC still reads.
var netTypes = []string{"empty", "none", "veth", "macvlan", "vlan", "phys", "ipvlan"}

// netListField is the bare lxc.net key, which exists to clear.
type netListField struct{}

func (netListField) set(*Config, string, string) error {
	return errors.New("takes only an empty value, which removes every network: configure one with lxc.net.N.type")
}

func (netListField) get(c *Config, _ string) (string, error) {
	idx := make([]string, len(c.Net))
	for i, n := range c.Net {
		idx[i] = strconv.Itoa(n.Index)
	}
	return strings.Join(idx, "\n"), nil
}

func (netListField) clear(c *Config, _ string) error {
	c.Net = nil
	return nil
}

// netField is lxc.net.N.SUBKEY; only the type is handled so far.
type netField struct{}

// netKey splits lxc.net.N.type into N; any other shape is unsupported.
func netKey(key string) (int, error) {
	rest := strings.TrimPrefix(key, "lxc.net.")
	num, sub, _ := strings.Cut(rest, ".")
	if sub != "type" {
		return 0, errUnsupported
	}
	n, err := strconv.ParseUint(num, 10, 31)
	if err != nil {
		return 0, errUnsupported
	}
	return int(n), nil
}

func (netField) set(c *Config, key, value string) error {
	idx, err := netKey(key)
	if err != nil {
		return err
	}
	if !slices.Contains(netTypes, value) {
		return fmt.Errorf("unknown network type: want one of %s", strings.Join(netTypes, ", "))
	}
	if i := slices.IndexFunc(c.Net, func(n Net) bool { return n.Index == idx }); i >= 0 {
		c.Net[i].Type = value
		return nil
	}
	if len(c.Net) >= maxScannedItems {
		return fmt.Errorf("more than %d networks", maxScannedItems)
	}
	c.Net = append(c.Net, Net{Index: idx, Type: value})
	return nil
}

func (netField) get(c *Config, key string) (string, error) {
	idx, err := netKey(key)
	if err != nil {
		return "", err
	}
	for _, n := range c.Net {
		if n.Index == idx {
			return n.Type, nil
		}
	}
	return "", nil
}

// clear removes network N: without a type it is not a network.
func (netField) clear(c *Config, key string) error {
	idx, err := netKey(key)
	if err != nil {
		return err
	}
	c.Net = slices.DeleteFunc(c.Net, func(n Net) bool { return n.Index == idx })
	return nil
}

// cgroupPrefix is the key prefix of a cgroup version.
func cgroupPrefix(version int) string {
	if version == 2 {
		return "lxc.cgroup2."
	}
	return "lxc.cgroup."
}

// cgroupField is lxc.cgroup.FILE or lxc.cgroup2.FILE.
type cgroupField struct{ version int }

// file returns the cgroup file a key names. It is used as a file name later,
// so it must be a plain "controller.file" name: no "/" and no dot-only parts.
// lxc.cgroup.dir* and lxc.cgroup.relative place the cgroup rather than set a
// value in it; they are not handled yet.
func (f cgroupField) file(key string) (string, error) {
	name := strings.TrimPrefix(key, cgroupPrefix(f.version))
	if f.version == 1 && (name == "dir" || name == "relative" || strings.HasPrefix(name, "dir.")) {
		return "", errUnsupported
	}
	ctrl, rest, ok := strings.Cut(name, ".")
	if !ok || ctrl == "" || rest == "" || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return "", errUnsupported
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '.') {
			return "", errUnsupported
		}
	}
	return name, nil
}

func (f cgroupField) set(c *Config, key, value string) error {
	name, err := f.file(key)
	if err != nil {
		return err
	}
	if len(c.Cgroup) >= maxScannedItems {
		return fmt.Errorf("more than %d cgroup settings", maxScannedItems)
	}
	c.Cgroup = append(c.Cgroup, CgroupSetting{Version: f.version, Key: name, Value: value})
	return nil
}

func (f cgroupField) get(c *Config, key string) (string, error) {
	name, err := f.file(key)
	if err != nil {
		return "", err
	}
	var vals []string
	for _, s := range c.Cgroup {
		if s.Version == f.version && s.Key == name {
			vals = append(vals, s.Value)
		}
	}
	return strings.Join(vals, "\n"), nil
}

func (f cgroupField) clear(c *Config, key string) error {
	name, err := f.file(key)
	if err != nil {
		return err
	}
	c.Cgroup = slices.DeleteFunc(c.Cgroup, func(s CgroupSetting) bool {
		return s.Version == f.version && s.Key == name
	})
	return nil
}

// cgroupAllField is the bare lxc.cgroup or lxc.cgroup2 key: an empty value
// clears every setting of that version, and Get lists them all.
type cgroupAllField struct{ version int }

func (f cgroupAllField) set(*Config, string, string) error {
	return fmt.Errorf("takes only an empty value, which removes every %s* setting: set one with %sCONTROLLER.FILE",
		cgroupPrefix(f.version), cgroupPrefix(f.version))
}

// get prints "lxc.cgroup.FILE = VALUE" lines, since the bare key stands for
// many keys.
func (f cgroupAllField) get(c *Config, _ string) (string, error) {
	var lines []string
	for _, s := range c.Cgroup {
		if s.Version == f.version {
			lines = append(lines, cgroupPrefix(f.version)+s.Key+" = "+s.Value)
		}
	}
	return strings.Join(lines, "\n"), nil
}

func (f cgroupAllField) clear(c *Config, _ string) error {
	c.Cgroup = slices.DeleteFunc(c.Cgroup, func(s CgroupSetting) bool { return s.Version == f.version })
	return nil
}

// capKeepField is lxc.cap.keep, where "none" clears what came before and, on
// its own, keeps no capability (man lxc.container.conf, CAPABILITIES).
type capKeepField struct{}

func (capKeepField) set(c *Config, _, value string) error {
	items := strings.Fields(value)
	for i, it := range items {
		if strings.EqualFold(it, "none") {
			items[i] = "none"
			continue
		}
		name, err := parseCapName(it)
		if err != nil {
			return err
		}
		items[i] = name
	}
	for _, it := range items {
		switch {
		case it == "none":
			c.CapKeep = []string{"none"}
		case len(c.CapKeep) == 1 && c.CapKeep[0] == "none":
			// A named capability makes the marker redundant: any
			// keep list already drops everything not in it.
			c.CapKeep = []string{it}
		default:
			c.CapKeep = append(c.CapKeep, it)
		}
	}
	return nil
}

func (capKeepField) get(c *Config, _ string) (string, error) {
	return strings.Join(c.CapKeep, "\n"), nil
}

func (capKeepField) clear(c *Config, _ string) error {
	c.CapKeep = nil
	return nil
}

// initCmdField is lxc.init.cmd, split into words like a shell would.
type initCmdField struct{}

func (initCmdField) set(c *Config, _, value string) error {
	words, err := splitWords(value)
	if err != nil {
		return err
	}
	if len(words) == 0 || words[0] == "" {
		return errors.New("empty command name")
	}
	c.InitCmd = words
	return nil
}

// get quotes the words back, so that setting the result gives the same
// command.
func (initCmdField) get(c *Config, _ string) (string, error) {
	q := make([]string, len(c.InitCmd))
	for i, w := range c.InitCmd {
		q[i] = quoteWord(w)
	}
	return strings.Join(q, " "), nil
}

func (initCmdField) clear(c *Config, _ string) error {
	c.InitCmd = nil
	return nil
}

// splitWords splits s at unquoted blanks. 'single quotes' keep everything
// literally, "double quotes" let a backslash escape \ " $ and `, and an
// unquoted backslash escapes any byte, as sh(1) does.
func splitWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(s); i++ {
		ch := s[i]
		switch ch {
		case ' ', '\t', '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
			continue
		case '\\':
			if i+1 == len(s) {
				return nil, errors.New("ends with a backslash")
			}
			i++
			cur.WriteByte(s[i])
		case '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated single quote")
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case '"':
			for i++; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) && strings.IndexByte("\\\"$`", s[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, errors.New("unterminated double quote")
			}
		default:
			cur.WriteByte(ch)
		}
		inWord = true
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}

// quoteWord quotes w for splitWords, leaving plain words plain so the common
// case reads as written.
func quoteWord(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}
