// Package mountinfo reads a mount table as /proc/PID/mountinfo gives it
// (proc(5), "/proc/pid/mountinfo"): one Mount a line, its paths with the
// kernel's octal escapes undone. It is the one parser of that file; what
// the mounts mean is its callers' (cgroup hierarchies, mounts left under
// a container's directory).
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Mount is one line of mountinfo.
type Mount struct {
	ID, Parent int
	// Dev is the filesystem's device, "major:minor": the same for
	// every bind mount of one filesystem.
	Dev string
	// Root is the directory of the filesystem mounted here: "/" but
	// for a bind mount of a subdirectory (or a mount seen from a
	// namespace rooted below it).
	Root string
	// Point is the mount point, as the reading process's root sees it.
	Point string
	// Options are the mount's own (per-mount) options.
	Options string
	// Optional holds the optional fields (shared:N, master:N,
	// propagate_from:N, unbindable), none for a private mount.
	Optional     []string
	FSType       string
	Source       string
	SuperOptions string
}

// ParseLine parses one line of mountinfo.
func ParseLine(line string) (Mount, error) {
	// The mount's fields, then the optional fields, then "-", then the
	// filesystem's: no path holds a bare space (the kernel writes \040),
	// so the first " - " is the separator.
	pre, post, ok := strings.Cut(line, " - ")
	if !ok {
		return Mount{}, fmt.Errorf("no \" - \" separator in %q", line)
	}
	a := strings.Fields(pre)
	// After the separator the fields are split on single spaces: an
	// empty source (mount -t tmpfs "" X) is an empty field, not a
	// missing one.
	b := strings.Split(post, " ")
	if len(a) < 6 || len(b) != 3 {
		return Mount{}, fmt.Errorf("%d fields before \" - \" (6 at least) and %d after it (3): %q", len(a), len(b), line)
	}
	id, err1 := strconv.Atoi(a[0])
	parent, err2 := strconv.Atoi(a[1])
	if err1 != nil || err2 != nil || !strings.Contains(a[2], ":") {
		return Mount{}, fmt.Errorf("bad mount id, parent id or device in %q", line)
	}
	return Mount{
		ID:           id,
		Parent:       parent,
		Dev:          a[2],
		Root:         unescape(a[3]),
		Point:        unescape(a[4]),
		Options:      a[5],
		Optional:     a[6:],
		FSType:       b[0],
		Source:       unescape(b[1]),
		SuperOptions: b[2],
	}, nil
}

// Parse reads every line of r.
func Parse(r io.Reader) ([]Mount, error) {
	var out []Mount
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; s.Scan(); n++ {
		if s.Text() == "" {
			continue
		}
		m, err := ParseLine(s.Text())
		if err != nil {
			return nil, fmt.Errorf("mountinfo line %d: %w", n, err)
		}
		out = append(out, m)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("read mountinfo: %w", err)
	}
	return out, nil
}

// Self reads the calling process's mount table, /proc/self/mountinfo.
func Self() ([]Mount, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ms, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("/proc/self/mountinfo: %w", err)
	}
	return ms, nil
}

// unescape undoes the kernel's \ooo escapes (of space, tab, newline and
// backslash) in a path; a backslash not followed by three octal digits
// stays as it is.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
