// Package config reads LXC's container configuration language, described in
// lxc.container.conf(5), into a typed Config.
//
// Every key is defined once, as a row of the key table in keys.go; parsing,
// Set, Get, Keys, the defaults of New and SetKeys (what a start must refuse
// as not built yet) all go through that table, so a new key is one new row.
// A Document keeps a file's text so that a save (Config.SetAndSave,
// UpdateLegacy for lxc-update-config) changes only the lines it must. The
// system config of lxc.system.conf(5) is read by LoadSystem. The package
// reads and writes config files and nothing else: it starts no processes
// and touches no container state.
package config

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"github.com/golxc/golxc/internal/sysfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// Config is a container's configuration as read from lxc.* keys. New fills in
// LXC's defaults; Parse, ParseFile and Set change it one key at a time.
type Config struct {
	Arch    string // lxc.arch
	UTSName string // lxc.uts.name
	Rootfs  Rootfs // lxc.rootfs.*

	MountAuto    []string     // lxc.mount.auto, one option per item, as written
	MountEntries []MountEntry // lxc.mount.entry, in file order
	MountFstab   string       // lxc.mount.fstab; the path only, the file is not read here

	Autodev          bool // lxc.autodev
	AutodevTmpfsSize int  // lxc.autodev.tmpfs.size, in bytes

	TTYMax int    // lxc.tty.max
	TTYDir string // lxc.tty.dir
	PTYMax int    // lxc.pty.max

	// CapDrop and CapKeep hold capability names as capabilities(7) spells
	// them, lowercased and without "cap_". A non-empty CapKeep means "drop
	// everything else"; it is exactly ["none"] when nothing is to be kept.
	CapDrop []string // lxc.cap.drop
	CapKeep []string // lxc.cap.keep

	HaltSignal   unix.Signal // lxc.signal.halt
	RebootSignal unix.Signal // lxc.signal.reboot
	StopSignal   unix.Signal // lxc.signal.stop

	Net       []Net           // lxc.net.N.*, in order of first appearance
	Cgroup    []CgroupSetting // lxc.cgroup.* and lxc.cgroup2.*, in file order
	CgroupDir CgroupDir       // lxc.cgroup.dir*, lxc.cgroup.relative

	InitCmd     []string // lxc.init.cmd split into words; nil when unset
	ExecuteCmd  []string // lxc.execute.cmd split into words; nil when unset
	InitCwd     string   // lxc.init.cwd
	InitUID     int      // lxc.init.uid
	InitGID     int      // lxc.init.gid
	InitGroups  []string // lxc.init.groups, as decimal ids
	Environment []string // lxc.environment: "K=V", or "K" to pass the caller's value

	ConsolePath    string  // lxc.console.path ("none" disables the console)
	ConsoleLogfile string  // lxc.console.logfile
	Console        Console // the other lxc.console.* keys

	Proc    []NamedValue // lxc.proc.NAME
	Sysctl  []NamedValue // lxc.sysctl.NAME
	Prlimit []NamedValue // lxc.prlimit.NAME: SOFT[:HARD]

	Namespace  Namespace  // lxc.namespace.*
	TimeOffset TimeOffset // lxc.time.offset.*
	IDMap      []IDMap    // lxc.idmap

	AppArmor       AppArmor // lxc.apparmor.*
	SELinux        SELinux  // lxc.selinux.*
	Seccomp        Seccomp  // lxc.seccomp.*
	KeyringSession bool     // lxc.keyring.session
	NoNewPrivs     bool     // lxc.no_new_privs
	SchedCore      bool     // lxc.sched.core

	Hooks       []Hook // lxc.hook.TYPE, in file order
	HookVersion int    // lxc.hook.version

	LogFile   string // lxc.log.file
	LogLevel  string // lxc.log.level as a level name (TRACE ... FATAL); "" when unset
	LogSyslog string // lxc.log.syslog facility

	Ephemeral bool     // lxc.ephemeral
	Start     Start    // lxc.start.*
	Groups    []string // lxc.group

	MonitorUnshare      bool        // lxc.monitor.unshare
	MonitorSignalPdeath unix.Signal // lxc.monitor.signal.pdeath; 0 for none

	// Warnings collects what LXC would accept silently but a user should
	// hear about, each as "file:line: message".
	Warnings []string

	// origin is "file:line" of the line that last set each key read from
	// a file (Set, with no file, removes it): a start that refuses a key
	// names where it was set.
	origin map[string]string

	// source is the file ParseFile read first and its text, kept so that
	// SetAndSave writes it back as written.
	source *sourceFile
	// written holds each exact key's value as the config last wrote it
	// (unquoted), for tools that show what was written rather than what
	// it means (lxc-info -c, as LXC's).
	written map[string]string
}

type sourceFile struct {
	path string
	doc  *Document
}

// Console holds the lxc.console.* keys that shape the monitor's copy of
// the console's output.
type Console struct {
	BufferSize string // lxc.console.buffer.size: auto or a size
	Size       string // lxc.console.size: auto or a size
	Rotate     bool   // lxc.console.rotate
}

// CgroupDir places the container's and the monitor's cgroups.
type CgroupDir struct {
	Dir            string // lxc.cgroup.dir
	Monitor        string // lxc.cgroup.dir.monitor
	MonitorPivot   string // lxc.cgroup.dir.monitor.pivot
	Container      string // lxc.cgroup.dir.container
	ContainerInner string // lxc.cgroup.dir.container.inner
	Relative       bool   // lxc.cgroup.relative
}

// Namespace holds lxc.namespace.*, with namespaces named as in /proc/PID/ns.
type Namespace struct {
	Clone []string     // lxc.namespace.clone
	Keep  []string     // lxc.namespace.keep
	Share []NamedValue // lxc.namespace.share.NS: a pid, a container name or path
}

// TimeOffset holds the time namespace's clock offsets as written ("-10s").
type TimeOffset struct {
	Boot      string
	Monotonic string
}

// AppArmor holds lxc.apparmor.*.
type AppArmor struct {
	Profile         string
	AllowIncomplete bool
	AllowNesting    bool
	Raw             []string
}

// SELinux holds lxc.selinux.*.
type SELinux struct {
	Context        string
	KeyringContext string
}

// Seccomp holds lxc.seccomp.*.
type Seccomp struct {
	Profile      string
	AllowNesting bool
	NotifyProxy  string
	NotifyCookie string
}

// Start holds the autostart keys lxc-autostart reads.
type Start struct {
	Auto  bool
	Delay int
	Order int
}

// Rootfs is the container's root file system.
type Rootfs struct {
	Raw     string // lxc.rootfs.path as written
	Path    string // Raw without a "dir:" storage prefix
	Mount   string // lxc.rootfs.mount
	Options string // lxc.rootfs.options
	Managed bool   // lxc.rootfs.managed
}

// MountEntry is one lxc.mount.entry line, in fstab(5) form, with the octal
// escapes of the first four fields decoded.
type MountEntry struct {
	Source  string
	Target  string
	FSType  string
	Options string
	Dump    int
	Pass    int
	Raw     string // the value as written, for Get and saving
}

// CgroupSetting is one lxc.cgroup.KEY (Version 1) or lxc.cgroup2.KEY
// (Version 2) line: Value is written to the file KEY of the container's cgroup.
type CgroupSetting struct {
	Version int
	Key     string
	Value   string
}

// Errors a caller may test for with errors.Is.
var (
	ErrUnsupportedKey = errors.New("unsupported config key")
	ErrLegacyKey      = errors.New("legacy config key")
	ErrInvalidValue   = errors.New("invalid value")
)

// ParseError places a problem in its source. File is empty for a key given
// through Set, where there is no file to name.
type ParseError struct {
	File string
	Line int
	Key  string // "" when the line could not be split into a key
	Err  error
}

func (e *ParseError) Error() string {
	switch {
	case e.File == "":
		return e.Err.Error()
	case e.Line == 0:
		// A fault of the whole file, not of one line.
		return fmt.Sprintf("%s: %s", e.File, e.Err)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

const (
	// maxIncludeDepth bounds nesting that is not a loop (a loop is reported
	// as such): deeper than this is a mistake, not a layout.
	maxIncludeDepth = 32
	// maxIncludedFiles bounds the work of include patterns that fan out
	// (a file including the same directory many times) without looping.
	maxIncludedFiles = 1024
	// maxLineLen is far beyond any real line; it only stops a stray binary
	// file from being buffered whole.
	maxLineLen = 1 << 20
	// maxConfigBytes bounds the text of one Parse, includes counted: real
	// configs are a few KiB, and the bound keeps time and memory in check
	// for a file that is not a config at all.
	maxConfigBytes = 16 << 20
	// maxWarnings keeps a file of junk from producing a warning per line.
	maxWarnings = 100
	// includeKey is handled by the parser, not by a field, because it needs
	// the include chain.
	includeKey = "lxc.include"
)

// New returns a Config holding LXC's defaults.
func New() *Config {
	c := &Config{}
	for _, k := range keyTable {
		if k.field != nil && !k.prefix {
			// An empty value resets a key to its default, so the table's
			// clear is the one place defaults live. Exact keys of the table
			// never fail to clear.
			_ = k.field.clear(c, k.name)
		}
	}
	return c
}

// Load reads the configuration file at path, and the files it includes, on top
// of LXC's defaults.
func Load(path string) (*Config, error) {
	c := New()
	if err := c.ParseFile(path); err != nil {
		return nil, err
	}
	// lxc.container.conf(5): the two are mutually exclusive; LXC does not
	// load a config that sets both.
	if len(c.Namespace.Clone) > 0 && len(c.Namespace.Keep) > 0 {
		return nil, &ParseError{File: path, Key: "lxc.namespace.keep", Err: errors.New("lxc.namespace.clone and lxc.namespace.keep are mutually exclusive")}
	}
	return c, nil
}

// ParseFile reads the configuration file at path into c, over whatever c
// already holds, so that a tool can layer files. The first file read is the
// one SetAndSave writes to. On error, c holds the lines before the failing
// one.
func (c *Config) ParseFile(path string) error {
	// One byte past the bound is enough for read to report the size.
	b, err := readFileLimit(path, maxConfigBytes+1)
	if err != nil {
		return err
	}
	if c.source == nil {
		c.source = &sourceFile{path: path, doc: ParseDocument(b)}
	}
	p := &parser{c: c, chain: []string{fileIdentity(path)}}
	c.fillZeroDefaults()
	return p.read(bytes.NewReader(b), path)
}

// readFileLimit reads at most limit bytes of the file at path with plain
// system calls (sysfile): os.Open's poller set-up is most of what reading
// a container's config costs a tool that touches no other file through os
// (lxc-info).
func readFileLimit(path string, limit int) ([]byte, error) {
	b, err := sysfile.Read(path, limit)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", &fs.PathError{Op: "read", Path: path, Err: err})
	}
	return b, nil
}

// Parse reads configuration text from r into c. name stands for r in messages
// and in include loop detection; lxc.include paths are taken as given, a
// relative one against the working directory, as LXC does. On error, c holds
// the lines before the failing one.
func (c *Config) Parse(r io.Reader, name string) error {
	if name == "" {
		name = "<config>"
	}
	p := &parser{c: c, chain: []string{fileIdentity(name)}}
	c.fillZeroDefaults()
	return p.read(r, name)
}

// Set applies one key as `lxc-start -s KEY=VALUE` does, exactly as a file
// line would: surrounding blanks and one pair of matching quotes are removed,
// and an empty value clears the key. A failed Set leaves c unchanged, except
// for an lxc.include whose files fail midway.
func (c *Config) Set(key, value string) error {
	key = strings.TrimSpace(key)
	value = unquote(strings.TrimSpace(value))
	// A file line can hold neither a newline nor a NUL, so neither can a
	// value that may later be saved to one.
	if !utf8.ValidString(key+value) || strings.ContainsAny(key+value, "\x00\n") {
		return &ParseError{Key: key, Err: fmt.Errorf("%w %q for %q: not one line of text", ErrInvalidValue, value, key)}
	}
	if key == includeKey {
		c.fillZeroDefaults()
		p := &parser{c: c}
		return p.include("", 0, value)
	}
	if err := c.apply(key, value); err != nil {
		return &ParseError{Key: key, Err: err}
	}
	delete(c.origin, key)
	c.fillZeroDefaults()
	return nil
}

// Get returns key's value as `lxc-info -c KEY` prints it after "KEY = ": a
// list key gives one item per line, joined by "\n" with no final newline
// (but lxc.mount.auto gives its options on one line, as LXC does), a signal
// its number, a flag 0 or 1, and an unset key "".
func (c *Config) Get(key string) (string, error) {
	if key == includeKey {
		return "", &ParseError{Key: key, Err: fmt.Errorf("%q is applied when read and not kept", key)}
	}
	k, err := lookup(key)
	if err != nil {
		return "", &ParseError{Key: key, Err: err}
	}
	v, err := k.field.get(c, key)
	if err != nil {
		return "", &ParseError{Key: key, Err: keyError(key, "", err)}
	}
	return v, nil
}

// Keys returns every key name of the table, sorted; a name ending in "." is a
// prefix that takes a suffix (lxc.cgroup.memory.max under "lxc.cgroup.").
func Keys() []string {
	names := make([]string, 0, len(keyTable))
	for _, k := range keyTable {
		names = append(names, k.name)
	}
	slices.Sort(names)
	return names
}

// apply sets one key. The error does not name the file: the caller adds that.
func (c *Config) apply(key, value string) error {
	k, err := lookup(key)
	if err != nil {
		return err
	}
	if value == "" {
		err = k.field.clear(c, key)
	} else {
		err = k.field.set(c, key, value)
	}
	if err != nil {
		return keyError(key, value, err)
	}
	if !k.prefix {
		if value == "" {
			delete(c.written, key)
		} else {
			if c.written == nil {
				c.written = map[string]string{}
			}
			c.written[key] = value
		}
	}
	return nil
}

// Written returns exact key's value as the config last wrote it
// (unquoted), and whether it wrote one at all: LXC's lxc-info -c shows an
// unset signal as 0 and lxc.execute.cmd as written.
func (c *Config) Written(key string) (string, bool) {
	v, ok := c.written[key]
	return v, ok
}

// keyError turns a field's bare reason into the message a user sees.
func keyError(key, value string, err error) error {
	if errors.Is(err, errUnsupported) {
		return fmt.Errorf("%w %q", ErrUnsupportedKey, key)
	}
	return fmt.Errorf("%w %q for %q: %w", ErrInvalidValue, value, key, err)
}

// fillZeroDefaults gives defaults to the signals of a Config that did not come
// from New, so that a zero signal, which means "no signal" to kill(2), never
// reaches a caller.
func (c *Config) fillZeroDefaults() {
	for _, k := range keyTable {
		if f, ok := k.field.(signalField); ok {
			if p := f.ptr(c); *p == 0 {
				*p = f.def
			}
		}
	}
}

// parser carries what one Parse, ParseFile or Set needs across included files.
type parser struct {
	c     *Config
	chain []string // identities of the files being read, outermost first
	files int      // files included so far, against maxIncludedFiles
	bytes int      // text read so far, against maxConfigBytes
}

func (p *parser) read(r io.Reader, name string) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxLineLen)
	n := 0
	for sc.Scan() {
		n++
		if p.bytes += len(sc.Bytes()) + 1; p.bytes > maxConfigBytes {
			return &ParseError{File: name, Line: n, Err: fmt.Errorf("config text, includes counted, exceeds %d bytes", maxConfigBytes)}
		}
		if err := p.line(name, n, sc.Text()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return &ParseError{File: name, Line: n + 1, Err: fmt.Errorf("line longer than %d bytes", maxLineLen)}
		}
		return fmt.Errorf("read config: %w", err)
	}
	return nil
}

func (p *parser) line(file string, n int, text string) error {
	if strings.IndexByte(text, 0) >= 0 {
		return &ParseError{File: file, Line: n, Err: errors.New("not a text file: NUL byte")}
	}
	if !utf8.ValidString(text) {
		return &ParseError{File: file, Line: n, Err: errors.New("not a text file: invalid UTF-8")}
	}
	s := strings.TrimSpace(text)
	if s == "" || s[0] == '#' {
		return nil
	}
	key, value, ok := strings.Cut(s, "=")
	if !ok {
		return &ParseError{File: file, Line: n, Err: fmt.Errorf("no \"=\" in %q: want KEY = VALUE", s)}
	}
	key = strings.TrimSpace(key)
	value = unquote(strings.TrimSpace(value))
	if !strings.HasPrefix(key, "lxc.") {
		// LXC drops such lines without a word; a typo here would
		// otherwise go unnoticed.
		p.c.warn(fmt.Sprintf("%s:%d: ignoring line that is not an lxc.* key: %q", file, n, key))
		return nil
	}
	if key == includeKey {
		return p.include(file, n, value)
	}
	if err := p.c.apply(key, value); err != nil {
		return &ParseError{File: file, Line: n, Key: key, Err: err}
	}
	if file != "" {
		if p.c.origin == nil {
			p.c.origin = map[string]string{}
		}
		p.c.origin[key] = fmt.Sprintf("%s:%d", file, n)
	}
	return nil
}

// Origin is "file:line" of the line that last set key, "" when it was
// not set from a file.
func (c *Config) Origin(key string) string { return c.origin[key] }

// warn records a warning, up to maxWarnings and a last one saying so.
func (c *Config) warn(w string) {
	switch {
	case len(c.Warnings) < maxWarnings:
		c.Warnings = append(c.Warnings, w)
	case len(c.Warnings) == maxWarnings:
		c.Warnings = append(c.Warnings, fmt.Sprintf("more than %d warnings, the rest dropped", maxWarnings))
	}
}

// unquote removes one pair of matching quotes around a whole value.
func unquote(v string) string {
	if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
		return v[1 : len(v)-1]
	}
	return v
}

// include reads path, a file or a directory whose *.conf files are read in
// name order, into the parser's Config.
func (p *parser) include(file string, line int, path string) error {
	fail := func(err error) error {
		return &ParseError{File: file, Line: line, Key: includeKey, Err: fmt.Errorf("%s: %w", includeKey, err)}
	}
	if path == "" {
		// LXC takes an empty lxc.include as clearing its list of
		// includes, which golxc does not keep: nothing to read.
		return nil
	}
	id := fileIdentity(path)
	if slices.Contains(p.chain, id) {
		return fail(fmt.Errorf("include loop: %s", strings.Join(append(slices.Clone(p.chain), id), " -> ")))
	}
	if len(p.chain) >= maxIncludeDepth {
		return fail(fmt.Errorf("%q: includes nested deeper than %d files", path, maxIncludeDepth))
	}
	if p.files++; p.files > maxIncludedFiles {
		return fail(fmt.Errorf("%q: more than %d included files", path, maxIncludedFiles))
	}
	p.chain = append(p.chain, id)
	defer func() { p.chain = p.chain[:len(p.chain)-1] }()

	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(path, "/") {
		// A path ending in "/" names a directory of optional drop-ins:
		// LXC 5.0 skips it when it does not exist, and Debian's
		// userns.conf ends with one it does not ship
		// (userns.conf.d/). A missing file stays an error.
		return nil
	}
	if err != nil {
		return fail(err)
	}
	if fi.IsDir() {
		entries, err := os.ReadDir(path) // sorted by name
		if err != nil {
			return fail(err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".conf") {
				continue
			}
			if err := p.include(file, line, filepath.Join(path, e.Name())); err != nil {
				return err
			}
		}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fail(err)
	}
	defer f.Close()
	return p.read(f, path)
}

// fileIdentity names a file for loop detection: absolute, and with symbolic
// links resolved when they resolve, so two spellings of one file match.
func fileIdentity(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.Clean(path)
	}
	if resolved, err := filepath.EvalSymlinks(abs); err == nil {
		return resolved
	}
	return abs
}
