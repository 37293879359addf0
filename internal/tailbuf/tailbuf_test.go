package tailbuf

import (
	"strings"
	"testing"
)

func TestBufferKeepsTheEnd(t *testing.T) {
	b := &Buffer{Max: 8}
	for _, s := range []string{"abc", "defgh", "ijklmnopq"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := b.String(); got != "jklmnopq" {
		t.Errorf("kept %q, want the last 8 bytes", got)
	}
	b = &Buffer{}
	b.Write([]byte("first\nsecond line  \n\n"))
	if got := b.LastLine(); got != "second line" {
		t.Errorf("LastLine = %q", got)
	}
	if got := LastLine(strings.Repeat("x", 600)); len(got) != 512 {
		t.Errorf("LastLine of 600 bytes: %d bytes, want 512", len(got))
	}
	if got := LastLine(" \n\t\n"); got != "" {
		t.Errorf("LastLine of blanks = %q", got)
	}
}
