package lxc

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// A start is refused once fewer than monitorFDHeadroom descriptors are
// left, in one line that names the limit; an unlimited process never.
func TestFDRoom(t *testing.T) {
	for _, tt := range []struct {
		open, limit uint64
		refused     bool
	}{
		{100, 20000, false},
		{20000 - monitorFDHeadroom, 20000, false},
		{20000 - monitorFDHeadroom + 1, 20000, true},
		{20000, 20000, true},
		{1 << 40, unix.RLIM_INFINITY, false},
	} {
		err := fdRoom("/x", tt.open, tt.limit)
		if (err != nil) != tt.refused {
			t.Errorf("fdRoom(%d open of %d) = %v, want refused %v", tt.open, tt.limit, err, tt.refused)
			continue
		}
		if err != nil && (!strings.Contains(err.Error(), "RLIMIT_NOFILE") || strings.Contains(err.Error(), "\n")) {
			t.Errorf("fdRoom(%d of %d): %q, want one line naming RLIMIT_NOFILE", tt.open, tt.limit, err)
		}
	}
	// This process: its count is read (a kernel from 6.2 on) and far
	// from its limit.
	if err := monitorFDRoom("/x"); err != nil {
		t.Errorf("monitorFDRoom of the test process: %v", err)
	}
}
