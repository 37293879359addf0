package config

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Document is the text of one config file, kept line by line so that a
// change writes the user's file back as written: comments, blank lines,
// order, spacing, quoting and line ends stay, and only the lines of the
// changed key differ. It knows the syntax of a line, not the meaning of
// keys: Config validates.
type Document struct {
	lines []docLine
}

type docLine struct {
	text string // the line without its end
	eol  string // "\n", "\r\n", or "" for a last line without one
	key  string // the key of a KEY = VALUE line; "" for comments, blanks and the rest
}

// Entry is one KEY = VALUE line of a Document.
type Entry struct {
	Line  int    // 1-based
	Key   string // as written, blanks trimmed
	Value string // blanks and one pair of quotes removed, as the parser reads it
}

// ParseDocument splits text into lines. It never fails: a line that is not
// KEY = VALUE is kept as it is.
func ParseDocument(text []byte) *Document {
	d := &Document{}
	s := string(text)
	for s != "" {
		line, rest, found := strings.Cut(s, "\n")
		l := docLine{text: line}
		if found {
			l.eol = "\n"
			if strings.HasSuffix(line, "\r") {
				l.text, l.eol = strings.TrimSuffix(line, "\r"), "\r\n"
			}
		}
		l.key, _, _ = splitLine(l.text)
		d.lines = append(d.lines, l)
		s = rest
	}
	return d
}

// ReadDocument reads the file at path.
func ReadDocument(path string) (*Document, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return ParseDocument(b), nil
}

// splitLine reads a KEY = VALUE line as the parser does; ok is false for
// comments, blank lines and lines without "=".
func splitLine(text string) (key, value string, ok bool) {
	s := strings.TrimSpace(text)
	if s == "" || s[0] == '#' {
		return "", "", false
	}
	k, v, found := strings.Cut(s, "=")
	if !found {
		return "", "", false
	}
	return strings.TrimSpace(k), unquote(strings.TrimSpace(v)), true
}

// Bytes returns the text, byte for byte as read when nothing changed.
func (d *Document) Bytes() []byte {
	var b bytes.Buffer
	for _, l := range d.lines {
		b.WriteString(l.text)
		b.WriteString(l.eol)
	}
	return b.Bytes()
}

// Entries lists the KEY = VALUE lines in order.
func (d *Document) Entries() []Entry {
	var es []Entry
	for i, l := range d.lines {
		if k, v, ok := splitLine(l.text); ok {
			es = append(es, Entry{Line: i + 1, Key: k, Value: v})
		}
	}
	return es
}

// Values returns the values of every line of key, in order.
func (d *Document) Values(key string) []string {
	var vs []string
	for _, e := range d.Entries() {
		if e.Key == key {
			vs = append(vs, e.Value)
		}
	}
	return vs
}

// Set gives key one value: the first line of key is rewritten in place and
// any later one removed; with no such line, one is appended.
func (d *Document) Set(key, value string) {
	first := -1
	kept := d.lines[:0]
	for _, l := range d.lines {
		if l.key == key {
			if first >= 0 {
				continue
			}
			first = len(kept)
			l.text = rewriteLine(l.text, key, value)
		}
		kept = append(kept, l)
	}
	d.lines = kept
	if first < 0 {
		d.Append(key, value)
	}
}

// Append adds a line KEY = VALUE after the last line of key, or at the end,
// spaced as the last line of key, or else as the file's last KEY = VALUE
// line.
func (d *Document) Append(key, value string) {
	at, style, own := len(d.lines), "", false
	for i, l := range d.lines {
		if l.key == "" || (own && l.key != key) {
			continue
		}
		style = l.text
		if l.key == key {
			at, own = i+1, true
		}
	}
	text := key + " = " + quoteValue(value, 0)
	if style != "" {
		text = formatLine(style, key, value, false)
	}
	eol := "\n"
	if at > 0 && d.lines[at-1].eol == "\r\n" {
		eol = "\r\n"
	}
	if at > 0 && d.lines[at-1].eol == "" {
		// The line before had no end: it gets one, and so does the new
		// one only if it is not last.
		d.lines[at-1].eol = eol
		if at == len(d.lines) {
			eol = ""
		}
	}
	d.lines = append(d.lines[:at], append([]docLine{{text: text, eol: eol, key: key}}, d.lines[at:]...)...)
}

// Unset removes every line of key and reports how many there were.
func (d *Document) Unset(key string) int {
	n := 0
	kept := d.lines[:0]
	for _, l := range d.lines {
		if l.key == key {
			n++
			continue
		}
		kept = append(kept, l)
	}
	d.lines = kept
	return n
}

// Replace rewrites line n (1-based) as KEY = VALUE in its own spacing.
func (d *Document) Replace(n int, key, value string) {
	l := &d.lines[n-1]
	l.text, l.key = rewriteLine(l.text, key, value), key
}

// Delete removes line n (1-based).
func (d *Document) Delete(n int) {
	d.lines = append(d.lines[:n-1], d.lines[n:]...)
}

// HasKey reports whether any line sets key.
func (d *Document) HasKey(key string) bool {
	for _, l := range d.lines {
		if l.key == key {
			return true
		}
	}
	return false
}

// rewriteLine puts key and value into text's KEY = VALUE line, keeping the
// blanks around the key and the "=", and the value's quotes when it had
// them.
func rewriteLine(text, key, value string) string { return formatLine(text, key, value, true) }

// formatLine writes KEY = VALUE spaced as the line text; with keep, the
// value's quotes and trailing blanks stay too.
func formatLine(text, key, value string, keep bool) string {
	eq := strings.IndexByte(text, '=')
	left, right := text[:eq], text[eq+1:]
	lead := left[:len(left)-len(strings.TrimLeft(left, " \t"))]
	mid := left[len(strings.TrimRight(left, " \t")):]
	trimmed := strings.TrimLeft(right, " \t")
	after := right[:len(right)-len(trimmed)]
	old := strings.TrimRight(trimmed, " \t")
	tail := trimmed[len(old):]
	var quote byte
	if len(old) >= 2 && (old[0] == '"' || old[0] == '\'') && old[len(old)-1] == old[0] {
		quote = old[0]
	}
	if !keep {
		quote, tail = 0, ""
	}
	if value == "" {
		after = ""
		if quote == 0 {
			tail = ""
		}
	}
	return lead + key + mid + "=" + after + quoteValue(value, quote) + tail
}

// quoteValue writes v so that the parser reads back exactly v: in the
// quotes q when given, and in double quotes when v has blanks at its ends or
// outer quotes of its own (the parser removes one pair).
func quoteValue(v string, q byte) string {
	if q != 0 {
		return string(q) + v + string(q)
	}
	if v == strings.TrimSpace(v) && unquote(v) == v {
		return v
	}
	return `"` + v + `"`
}

// WriteFile writes the text to path through a temporary file renamed into
// place, so that a reader sees the old file or the new one, never half of
// one. An existing file keeps its mode.
func (d *Document) WriteFile(path string) error {
	mode := os.FileMode(0o640)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-")
	if err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(d.Bytes()); err != nil {
		tmp.Close()
		return fmt.Errorf("write config %s: %w", tmp.Name(), err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("chmod %s: %w", tmp.Name(), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write config %s: %w", tmp.Name(), err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write config %s: %w", path, err)
	}
	return nil
}

// SplitNetKey splits lxc.net.N.REST into N's digits and REST; ok is false
// for any key not of that shape (N one or more decimal digits). String
// checks rather than a package-level regexp: a compiled regexp is paid
// for at every tool's start-up.
func SplitNetKey(key string) (num, rest string, ok bool) {
	after, found := strings.CutPrefix(key, "lxc.net.")
	if !found {
		return "", "", false
	}
	num, rest, found = strings.Cut(after, ".")
	if !found || num == "" || strings.Trim(num, "0123456789") != "" {
		return "", "", false
	}
	return num, rest, true
}

// IsHwaddrKey reports whether key is lxc.net.N.hwaddr.
func IsHwaddrKey(key string) bool {
	_, rest, ok := SplitNetKey(key)
	return ok && rest == "hwaddr"
}

// FillHwaddrs replaces every x (or X) of each lxc.net.N.hwaddr value with a
// random hex digit, as lxc.container.conf(5) describes for hwaddr templates,
// and reports whether any changed. The second digit of the first octet is
// kept even, so the address stays unicast.
func (d *Document) FillHwaddrs(random io.Reader) (bool, error) {
	changed := false
	for _, e := range d.Entries() {
		if !IsHwaddrKey(e.Key) || !strings.ContainsAny(e.Value, "xX") {
			continue
		}
		v, err := FillHwaddr(e.Value, random)
		if err != nil {
			return false, err
		}
		d.Replace(e.Line, e.Key, v)
		changed = true
	}
	return changed, nil
}

// FillHwaddr replaces every x (or X) of a hwaddr template with a random
// hex digit, keeping the address unicast (see FillHwaddrs).
func FillHwaddr(s string, random io.Reader) (string, error) {
	b := []byte(s)
	r := make([]byte, len(b))
	if _, err := io.ReadFull(random, r); err != nil {
		return "", fmt.Errorf("random hwaddr: %w", err)
	}
	for i := range b {
		if b[i] != 'x' && b[i] != 'X' {
			continue
		}
		n := r[i] & 0x0f
		if i == 1 {
			n &= 0x0e
		}
		b[i] = "0123456789abcdef"[n]
	}
	return string(b), nil
}

// FillHwaddrsFile fills the hwaddr templates of the config file at path in
// place (see FillHwaddrs); a file with none is left untouched.
func FillHwaddrsFile(path string) error {
	d, err := ReadDocument(path)
	if err != nil {
		return err
	}
	changed, err := d.FillHwaddrs(rand.Reader)
	if err != nil || !changed {
		return err
	}
	return d.WriteFile(path)
}

// SetAndSave sets key as Set does and writes the change to the file c was
// loaded from (by Load or ParseFile), touching only that key's lines: a
// scalar key's first line takes the value and later ones go, a list key
// gets a new line after its last one, and an empty value on a list key
// removes its lines. Keys from included files are not rewritten there; a
// line in the top file overrides them. c is unchanged if the key is invalid.
func (c *Config) SetAndSave(key, value string) error {
	if c.source == nil {
		return errors.New("save config: the config was not read from a file")
	}
	key = strings.TrimSpace(key)
	if key == includeKey {
		return fmt.Errorf("save config: %s is not set this way: edit the file", includeKey)
	}
	if err := c.Set(key, value); err != nil {
		return err
	}
	value = unquote(strings.TrimSpace(value))
	d := c.source.doc
	switch {
	case !isListKey(key):
		d.Set(key, value)
	case value != "":
		d.Append(key, value)
	default:
		d.Unset(key)
		if d.HasKey(includeKey) {
			// Included files may hold values this line must clear.
			d.Append(key, "")
		}
	}
	return d.WriteFile(c.source.path)
}

// isListKey reports whether key is repeatable: each line adds a value.
func isListKey(key string) bool {
	k, err := lookup(key)
	if err != nil {
		return false
	}
	if _, ok := k.field.(netField); ok {
		return netIsList(key)
	}
	return k.list
}

// Source returns a copy of the text of the file c was read from, or nil when
// c did not come from a file.
func (c *Config) Source() *Document {
	if c.source == nil {
		return nil
	}
	return ParseDocument(c.source.doc.Bytes())
}
