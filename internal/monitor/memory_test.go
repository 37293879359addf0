package monitor

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestReadOnlyMapping(t *testing.T) {
	dev := unix.Mkdev(0xfd, 0x01)
	const ino = 1234
	tests := []struct {
		line string
		ok   bool
	}{
		{"00400000-00700000 r-xp 00000000 fd:01 1234 /bin/golxc", true},
		{"00700000-00a00000 r--p 00300000 fd:01 1234 /bin/golxc", true},
		{"00a00000-00a40000 rw-p 00600000 fd:01 1234 /bin/golxc", false}, // written private pages
		{"00a00000-00a40000 r--s 00600000 fd:01 1234 /bin/golxc", false}, // shared
		{"00400000-00700000 r-xp 00000000 fd:02 1234 /bin/golxc", false}, // other device
		{"00400000-00700000 r-xp 00000000 fd:01 1235 /bin/other", false}, // other file
		{"7ffd000-7ffe000 r-xp 00000000 00:00 0 [vdso]", false},
		{"00700000-00400000 r--p 00000000 fd:01 1234 /bin/golxc", false}, // end before start
		{"garbage", false},
	}
	for _, tt := range tests {
		s, e, ok := readOnlyMapping(tt.line, dev, ino)
		if ok != tt.ok {
			t.Errorf("%q: ok = %v, want %v", tt.line, ok, tt.ok)
		}
		if ok && (s != 0x400000 && s != 0x700000 || e <= s) {
			t.Errorf("%q: %#x-%#x", tt.line, s, e)
		}
	}
}

// TestReleaseCode drops the test binary's code mappings and goes on
// running: what it runs next is faulted back in, and its resident file
// pages go down.
func TestReleaseCode(t *testing.T) {
	before := fileRSS(t)
	if err := ReleaseCode(); err != nil {
		t.Fatal(err)
	}
	after := fileRSS(t)
	t.Logf("RssFile %d kB -> %d kB", before, after)
	if after >= before {
		t.Errorf("RssFile %d kB after ReleaseCode, was %d kB", after, before)
	}
}

func fileRSS(t *testing.T) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var kb int
	for _, line := range strings.Split(string(b), "\n") {
		if n, _ := fmt.Sscanf(line, "RssFile: %d kB", &kb); n == 1 {
			return kb
		}
	}
	t.Fatal("no RssFile in /proc/self/status")
	return 0
}

// TestReleaseKeepsWrittenPages maps a file privately, writes a page and
// makes it read-only, as a loader does with a PIE's relocated
// .data.rel.ro: releasing must keep the written copy (MADV_DONTNEED on it
// would bring back the file's bytes).
func TestReleaseKeepsWrittenPages(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "mapped")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	page := os.Getpagesize()
	if _, err := f.Write(make([]byte, 2*page)); err != nil {
		t.Fatal(err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	written, err := unix.Mmap(int(f.Fd()), 0, page, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(written)
	written[0] = 'w'
	if err := unix.Mprotect(written, unix.PROT_READ); err != nil {
		t.Fatal(err)
	}
	clean, err := unix.Mmap(int(f.Fd()), int64(page), page, unix.PROT_READ, unix.MAP_PRIVATE)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(clean)
	_ = clean[0] // fault it in
	if err := releaseFileMappings(st.Dev, st.Ino); err != nil {
		t.Fatal(err)
	}
	if written[0] != 'w' {
		t.Fatalf("the written page of a read-only private mapping was thrown away (byte %q)", written[0])
	}
}
