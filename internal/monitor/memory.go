package monitor

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// ReleaseCode drops this process's page-table mappings of its own
// executable's read-only segments (code and read-only data). A shared
// monitor runs most of golxc's 7 MB once, to start a container, then
// little: the kernel's fault-around had mapped nearly all of it (6.5 MB
// of resident file pages at 50 containers, more than its heap). The pages
// stay in the page cache, shared with the tools that run the same file;
// what the monitor runs next is faulted back from there, and the rest is
// no longer pinned by a mapping, so the kernel may reclaim it.
func ReleaseCode() error {
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err != nil {
		return fmt.Errorf("release code: %w", err)
	}
	return releaseFileMappings(st.Dev, st.Ino)
}

// releaseFileMappings drops the mappings of file dev/ino that are private,
// without write permission and without a single anonymous page:
// MADV_DONTNEED on a page the process wrote (.data, or a read-only
// segment the loader relocated before making it read-only, as in a PIE
// build's .data.rel.ro) would throw the written copy away and bring the
// file's back. smaps counts those pages per mapping ("Anonymous:"), so a
// mapping is released only when that is 0.
func releaseFileMappings(dev, ino uint64) error {
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		return fmt.Errorf("release code: %w", err)
	}
	defer f.Close()
	var ranges [][2]uintptr
	candidate := false
	var start, end uintptr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if k, v, ok := strings.Cut(line, ":"); ok && !strings.ContainsAny(k, " -") {
			// A field of the mapping above ("Anonymous:    0 kB").
			if candidate && k == "Anonymous" {
				if strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")) == "0" {
					ranges = append(ranges, [2]uintptr{start, end})
				}
				candidate = false
			}
			continue
		}
		start, end, candidate = readOnlyMapping(line, dev, ino)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("release code: read /proc/self/smaps: %w", err)
	}
	for _, r := range ranges {
		if _, _, errno := unix.Syscall(unix.SYS_MADVISE, r[0], r[1]-r[0], unix.MADV_DONTNEED); errno != 0 {
			return fmt.Errorf("release code: madvise %#x-%#x: %w", r[0], r[1], errno)
		}
	}
	return nil
}

// readOnlyMapping parses one /proc/PID/maps line ("start-end perms offset
// major:minor inode path") and says whether it maps file dev/ino private
// and without write permission.
func readOnlyMapping(line string, dev, ino uint64) (start, end uintptr, ok bool) {
	f := strings.Fields(line)
	if len(f) < 5 {
		return 0, 0, false
	}
	perms := f[1]
	if len(perms) != 4 || perms[0] != 'r' || perms[1] != '-' || perms[3] != 'p' {
		return 0, 0, false
	}
	if n, err := strconv.ParseUint(f[4], 10, 64); err != nil || n != ino {
		return 0, 0, false
	}
	maj, min, found := strings.Cut(f[3], ":")
	if !found {
		return 0, 0, false
	}
	ma, err1 := strconv.ParseUint(maj, 16, 32)
	mi, err2 := strconv.ParseUint(min, 16, 32)
	if err1 != nil || err2 != nil || unix.Mkdev(uint32(ma), uint32(mi)) != dev {
		return 0, 0, false
	}
	lo, hi, found := strings.Cut(f[0], "-")
	if !found {
		return 0, 0, false
	}
	s, err1 := strconv.ParseUint(lo, 16, 64)
	e, err2 := strconv.ParseUint(hi, 16, 64)
	if err1 != nil || err2 != nil || e <= s {
		return 0, 0, false
	}
	return uintptr(s), uintptr(e), true
}
