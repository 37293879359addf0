package lxc

import "testing"

func TestParseEscape(t *testing.T) {
	for in, want := range map[string]byte{"^a": 1, "^b": 2, "^B": 2, "^z": 26, "b": 'b', "~": '~'} {
		got, err := ParseEscape(in)
		if err != nil || got != want {
			t.Errorf("ParseEscape(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "ab", "^ab", "^1x"} {
		if _, err := ParseEscape(in); err == nil {
			t.Errorf("ParseEscape(%q): no error", in)
		}
	}
	if got := escapeName(1); got != "Ctrl+a" {
		t.Errorf("escapeName(1) = %q", got)
	}
}
