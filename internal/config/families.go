package config

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
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
// value in it: they have rows of their own, and any other lxc.cgroup.dir.*
// key is a typo of one of them.
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

func (f cgroupField) setKeys(c *Config, s Support) []SetKey {
	var keys []SetKey
	for _, cg := range c.Cgroup {
		if cg.Version == f.version {
			keys = append(keys, SetKey{Key: cgroupPrefix(f.version) + cg.Key, Value: cg.Value, Support: s})
		}
	}
	return keys
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

func (cgroupAllField) clearsOnly() {}

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

// wordsField is a command (lxc.init.cmd, lxc.execute.cmd), split into words
// like a shell would.
type wordsField struct {
	ptr func(*Config) *[]string
}

func (f wordsField) set(c *Config, _, value string) error {
	words, err := splitWords(value)
	if err != nil {
		return err
	}
	if len(words) == 0 || words[0] == "" {
		return errors.New("empty command name")
	}
	*f.ptr(c) = words
	return nil
}

// get quotes the words back, so that setting the result gives the same
// command.
func (f wordsField) get(c *Config, _ string) (string, error) {
	return QuoteWords(*f.ptr(c)), nil
}

func (f wordsField) clear(c *Config, _ string) error {
	*f.ptr(c) = nil
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

// QuoteWords joins words into a command value (lxc.init.cmd,
// lxc.execute.cmd) that splits back into the same words.
func QuoteWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = QuoteWord(w)
	}
	return strings.Join(q, " ")
}

// QuoteWord quotes w for splitWords and for /bin/sh alike (hook and net
// script command lines), leaving plain words plain so the common case
// reads as written.
func QuoteWord(w string) string {
	if w != "" && strings.Trim(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-") == "" {
		return w
	}
	return "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
}

// NamedValue is one key of a family whose last part is a name: lxc.proc.NAME,
// lxc.sysctl.NAME, lxc.prlimit.NAME, lxc.namespace.share.NAME.
type NamedValue struct {
	Name  string
	Value string
}

// namedField is such a family: a name set twice keeps its first place and
// takes the later value.
type namedField struct {
	ptr    func(*Config) *[]NamedValue
	prefix string
	name   func(string) (string, error) // validates the name; errUnsupported for a bad one
	value  func(string) (string, error)
}

func (f namedField) key(key string) (string, error) {
	name, err := f.name(strings.TrimPrefix(key, f.prefix))
	if err != nil {
		return "", errUnsupported
	}
	return name, nil
}

func (f namedField) set(c *Config, key, value string) error {
	name, err := f.key(key)
	if err != nil {
		return err
	}
	if value, err = f.value(value); err != nil {
		return err
	}
	p := f.ptr(c)
	if i := slices.IndexFunc(*p, func(v NamedValue) bool { return v.Name == name }); i >= 0 {
		(*p)[i].Value = value
		return nil
	}
	if len(*p) >= maxScannedItems {
		return fmt.Errorf("more than %d %s* settings", maxScannedItems, f.prefix)
	}
	*p = append(*p, NamedValue{Name: name, Value: value})
	return nil
}

func (f namedField) get(c *Config, key string) (string, error) {
	name, err := f.key(key)
	if err != nil {
		return "", err
	}
	for _, v := range *f.ptr(c) {
		if v.Name == name {
			return v.Value, nil
		}
	}
	return "", nil
}

func (f namedField) clear(c *Config, key string) error {
	name, err := f.key(key)
	if err != nil {
		return err
	}
	*f.ptr(c) = slices.DeleteFunc(*f.ptr(c), func(v NamedValue) bool { return v.Name == name })
	return nil
}

func (f namedField) setKeys(c *Config, s Support) []SetKey {
	var keys []SetKey
	for _, v := range *f.ptr(c) {
		keys = append(keys, SetKey{Key: f.prefix + v.Name, Value: v.Value, Support: s})
	}
	return keys
}

// namedAllField is the bare key of a named family (lxc.sysctl ...): an empty
// value clears the family, and Get lists it as "KEY = VALUE" lines.
type namedAllField struct {
	ptr    func(*Config) *[]NamedValue
	prefix string
}

func (f namedAllField) set(*Config, string, string) error {
	return fmt.Errorf("takes only an empty value, which removes every %s* setting: set one with %sNAME", f.prefix, f.prefix)
}

func (f namedAllField) get(c *Config, _ string) (string, error) {
	var lines []string
	for _, v := range *f.ptr(c) {
		lines = append(lines, f.prefix+v.Name+" = "+v.Value)
	}
	return strings.Join(lines, "\n"), nil
}

func (f namedAllField) clear(c *Config, _ string) error {
	*f.ptr(c) = nil
	return nil
}

func (namedAllField) clearsOnly() {}

// IDMap is one lxc.idmap line: Count ids from ContainerID in the container's
// user namespace map to ids from HostID on the host.
type IDMap struct {
	Kind        string // "u" for user ids, "g" for group ids
	ContainerID uint32
	HostID      uint32
	Count       uint32
}

func (m IDMap) String() string {
	return fmt.Sprintf("%s %d %d %d", m.Kind, m.ContainerID, m.HostID, m.Count)
}

// idmapField is lxc.idmap: "u|g CONTAINER-ID HOST-ID COUNT".
type idmapField struct{}

func (idmapField) set(c *Config, _, value string) error {
	f := strings.Fields(value)
	if len(f) != 4 || (f[0] != "u" && f[0] != "g") {
		return errors.New("want u|g CONTAINER-ID HOST-ID COUNT")
	}
	var n [3]uint64
	for i, s := range f[1:] {
		v, err := parseUint(s, math.MaxUint32)
		if err != nil {
			return fmt.Errorf("%q: %w", s, err)
		}
		n[i] = v
	}
	if n[2] == 0 {
		return errors.New("a count of 0 maps nothing")
	}
	if n[0]+n[2] > math.MaxUint32+1 || n[1]+n[2] > math.MaxUint32+1 {
		return errors.New("the range goes past the last id, 4294967295")
	}
	if len(c.IDMap) >= maxScannedItems {
		return fmt.Errorf("more than %d id mappings", maxScannedItems)
	}
	c.IDMap = append(c.IDMap, IDMap{Kind: f[0], ContainerID: uint32(n[0]), HostID: uint32(n[1]), Count: uint32(n[2])})
	return nil
}

func (idmapField) get(c *Config, _ string) (string, error) {
	lines := make([]string, len(c.IDMap))
	for i, m := range c.IDMap {
		lines[i] = m.String()
	}
	return strings.Join(lines, "\n"), nil
}

func (idmapField) clear(c *Config, _ string) error {
	c.IDMap = nil
	return nil
}

// hookTypes are the times a hook runs at (man lxc.container.conf, CONTAINER
// HOOKS), in the order they come in a container's life.
var hookTypes = []string{"pre-start", "pre-mount", "mount", "autodev", "start-host", "start", "stop", "post-stop", "clone", "destroy"}

// hookDoc is lxc.hook.'s doc line, which names hookTypes: a constant (a
// test checks it against hookTypes) so that keyTable needs no init.
const hookDoc = "lxc.hook.TYPE: a command run at pre-start, pre-mount, mount, autodev, start-host, start, stop, post-stop, clone, destroy"

// Hook is one lxc.hook.TYPE line.
type Hook struct {
	Type    string // one of hookTypes
	Command string // run by the shell, with LXC's hook arguments
}

// hookField is lxc.hook.TYPE, a list per type.
type hookField struct{}

func hookType(key string) (string, error) {
	t := strings.TrimPrefix(key, "lxc.hook.")
	if !slices.Contains(hookTypes, t) {
		return "", errUnsupported
	}
	return t, nil
}

func (hookField) set(c *Config, key, value string) error {
	t, err := hookType(key)
	if err != nil {
		return err
	}
	if len(c.Hooks) >= maxScannedItems {
		return fmt.Errorf("more than %d hooks", maxScannedItems)
	}
	c.Hooks = append(c.Hooks, Hook{Type: t, Command: value})
	return nil
}

func (hookField) get(c *Config, key string) (string, error) {
	t, err := hookType(key)
	if err != nil {
		return "", err
	}
	var cmds []string
	for _, h := range c.Hooks {
		if h.Type == t {
			cmds = append(cmds, h.Command)
		}
	}
	return strings.Join(cmds, "\n"), nil
}

func (hookField) clear(c *Config, key string) error {
	t, err := hookType(key)
	if err != nil {
		return err
	}
	c.Hooks = slices.DeleteFunc(c.Hooks, func(h Hook) bool { return h.Type == t })
	return nil
}

// setKeys: the clone and destroy hooks belong to lxc-copy and lxc-destroy,
// not to a start.
func (hookField) setKeys(c *Config, s Support) []SetKey {
	var keys []SetKey
	for _, h := range c.Hooks {
		hs := s
		if h.Type == "clone" || h.Type == "destroy" {
			hs = OtherTools
		}
		keys = append(keys, SetKey{Key: "lxc.hook." + h.Type, Value: h.Command, Support: hs})
	}
	return keys
}

// hookAllField is the bare lxc.hook, which clears every hook.
type hookAllField struct{}

func (hookAllField) set(*Config, string, string) error {
	return errors.New("takes only an empty value, which removes every hook: add one with lxc.hook.TYPE")
}

func (hookAllField) get(c *Config, _ string) (string, error) {
	var lines []string
	for _, h := range c.Hooks {
		lines = append(lines, "lxc.hook."+h.Type+" = "+h.Command)
	}
	return strings.Join(lines, "\n"), nil
}

func (hookAllField) clear(c *Config, _ string) error {
	c.Hooks = nil
	return nil
}

func (hookAllField) clearsOnly() {}

// pdeathField is lxc.monitor.signal.pdeath: a signal, or 0 for none, which a
// plain signal key refuses. The default is SIGKILL.
type pdeathField struct{}

func (pdeathField) set(c *Config, _, value string) error {
	if value == "0" {
		c.MonitorSignalPdeath = 0
		return nil
	}
	sig, err := SignalByName(value)
	if err != nil {
		return err
	}
	c.MonitorSignalPdeath = sig
	return nil
}

func (pdeathField) get(c *Config, _ string) (string, error) {
	return strconv.Itoa(int(c.MonitorSignalPdeath)), nil
}

func (pdeathField) clear(c *Config, _ string) error {
	c.MonitorSignalPdeath = unix.SIGKILL
	return nil
}
