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
		Groups: []string{"web", "prod"}, Interfaces: []string{"lo", "eth0"}, IPv4: []string{"10.0.3.2"}, IPv6: []string{"fd42::2", "fd42::3"}, Unprivileged: true}
	empty := lsRow{Name: "c2", State: "STOPPED", Groups: []string{}, IPv4: nil, IPv6: []string{}}
	tests := []struct {
		col         string
		full, empty string
	}{
		{"NAME", "c1", "c2"},
		{"STATE", "RUNNING", "STOPPED"},
		{"PID", "4242", "-"},
		// A stopped container has no RAM or SWAP figure; a running one
		// without swap accounting uses none.
		{"RAM", "1.50MB", "-"},
		{"SWAP", "0.00MB", "-"},
		{"AUTOSTART", "1", "0"},
		{"GROUPS", "web, prod", "-"},
		{"INTERFACE", "lo, eth0", "-"},
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
	for _, col := range lsColumns {
		if got := full.cell(col); got == "" {
			t.Errorf("cell(%s) is empty", col)
		}
	}
}

func TestPrintNames(t *testing.T) {
	tests := []struct {
		names []string
		width int
		want  string
	}{
		{nil, 80, ""},
		// Off a terminal: one per line, padded to the longest, at least 4.
		{[]string{"a1", "g1", "rr"}, 0, "a1  \ng1  \nrr  \n"},
		{[]string{"a1", "abcdefgh"}, 0, "a1      \nabcdefgh\n"},
		// On one: rows that fit, as LXC 5.0's lxc-ls fills them.
		{[]string{"a1", "g1", "rr"}, 80, "a1   g1   rr   \n"},
		{[]string{"a1", "g1", "rr"}, 12, "a1   g1  \nrr   \n"},
		{[]string{"a1", "g1", "rr"}, 14, "a1   g1   rr  \n"},
	}
	for _, tt := range tests {
		var b strings.Builder
		if err := printNames(&b, tt.names, tt.width); err != nil {
			t.Fatal(err)
		}
		if b.String() != tt.want {
			t.Errorf("printNames(%q, %d) = %q, want %q", tt.names, tt.width, b.String(), tt.want)
		}
	}
}

func TestPrintTable(t *testing.T) {
	rows := []lsRow{{Name: "a1", State: "STOPPED"}, {Name: "abcdefgh", State: "RUNNING", Pid: 12}}
	var b strings.Builder
	if err := printTable(&b, []string{"NAME", "STATE", "PID"}, rows); err != nil {
		t.Fatal(err)
	}
	want := "NAME     STATE   PID \na1       STOPPED -   \nabcdefgh RUNNING 12  \n"
	if b.String() != want {
		t.Errorf("printTable = %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := printTable(&b, []string{"NAME"}, nil); err != nil || b.Len() != 0 {
		t.Errorf("printTable of no rows = %q, %v; want nothing, not even the header", b.String(), err)
	}
}

func TestInGroups(t *testing.T) {
	has := []string{"web", "db,onboot"}
	tests := []struct {
		groups []string
		list   string
		want   bool
	}{
		{has, "web", true},
		{has, "web,db", true},
		{has, "db, onboot", true},
		{has, "web,nope", false},
		{has, "", true},
		{nil, "", false}, // a container in no group never matches
		{nil, "web", false},
	}
	for _, tt := range tests {
		if got := inGroups(tt.groups, tt.list); got != tt.want {
			t.Errorf("inGroups(%q, %q) = %v, want %v", tt.groups, tt.list, got, tt.want)
		}
	}
}
