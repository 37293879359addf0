package cli

import (
	"strconv"
	"strings"
	"testing"
)

func TestHumanSize(t *testing.T) {
	const (
		kib = 1024
		mib = 1024 * kib
		gib = 1024 * mib
		tib = 1024 * gib
		pib = 1024 * tib
	)
	tests := []struct {
		in   uint64
		want string
	}{
		{0, "0 bytes"},
		{1, "1 bytes"},
		{1023, "1023 bytes"},
		{kib, "1.00 KiB"},
		{1536, "1.50 KiB"},
		{720896, "704.00 KiB"},
		{mib, "1.00 MiB"},
		{mib + mib/4, "1.25 MiB"},
		{gib, "1.00 GiB"},
		{gib + gib/2, "1.50 GiB"},
		{tib, "1.00 TiB"},
		{pib, "1.00 PiB"},
		{1024 * pib, "1024.00 PiB"}, // the largest unit goes on counting
		{^uint64(0), "16384.00 PiB"},
	}
	for _, tt := range tests {
		t.Run(strconv.FormatUint(tt.in, 10), func(t *testing.T) {
			if got := humanSize(tt.in); got != tt.want {
				t.Errorf("humanSize(%d) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}

	// Just below a unit boundary, rounding to two places must not print a
	// number that belongs to the next unit ("1024.00 KiB" is 1.00 MiB).
	for _, n := range []uint64{mib - 1, gib - 1, tib - 1} {
		t.Run("below "+strconv.FormatUint(n+1, 10), func(t *testing.T) {
			got := humanSize(n)
			num, unit, _ := strings.Cut(got, " ")
			if v, err := strconv.ParseFloat(num, 64); err != nil || v >= 1024 && unit != "PiB" {
				t.Fatalf("humanSize(%d) = %q, a size of the next unit; want 1023.99 of this one (LXC truncates) or 1.00 of the next", n, got)
			}
		})
	}
}

func TestLsCell(t *testing.T) {
	full := lsRow{Name: "c1", State: "RUNNING", Pid: 4242, RAMBytes: 3 * 1024 * 1024 / 2, Autostart: true,
		Groups: []string{"web", "prod"}, IPv4: []string{"10.0.3.2"}, IPv6: []string{"fd42::2", "fd42::3"}, Unprivileged: true}
	empty := lsRow{Name: "c2", State: "STOPPED", Groups: []string{}, IPv4: nil, IPv6: []string{}}
	tests := []struct {
		col         string
		full, empty string
	}{
		{"NAME", "c1", "c2"},
		{"STATE", "RUNNING", "STOPPED"},
		{"PID", "4242", "-"},
		{"RAM", "1.50MB", "0.00MB"},
		{"SWAP", "-", "-"},
		{"AUTOSTART", "1", "0"},
		{"GROUPS", "web, prod", "-"},
		{"INTERFACE", "-", "-"},
		{"IPV4", "10.0.3.2", "-"},
		{"IPV6", "fd42::2, fd42::3", "-"},
		{"UNPRIVILEGED", "true", "false"},
		{"BOGUS", "-", "-"},
	}
	for _, tt := range tests {
		t.Run(tt.col, func(t *testing.T) {
			if got := full.cell(tt.col); got != tt.full {
				t.Errorf("cell(%s) of a full row = %q, want %q", tt.col, got, tt.full)
			}
			if got := empty.cell(tt.col); got != tt.empty {
				t.Errorf("cell(%s) of an empty row = %q, want %q", tt.col, got, tt.empty)
			}
		})
	}
	// Every column -F accepts has a cell of its own.
	for col := range lsColumns {
		if got := full.cell(col); got == "" {
			t.Errorf("cell(%s) is empty", col)
		}
	}
}
