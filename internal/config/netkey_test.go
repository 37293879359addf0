package config

import "testing"

func TestSplitNetKey(t *testing.T) {
	for _, c := range []struct {
		key, num, rest string
		ok             bool
	}{
		{"lxc.net.0.hwaddr", "0", "hwaddr", true},
		{"lxc.net.12.ipv4.address", "12", "ipv4.address", true},
		{"lxc.net.0.", "0", "", true},
		{"lxc.net.0", "", "", false},
		{"lxc.net..hwaddr", "", "", false},
		{"lxc.net.x.hwaddr", "", "", false},
		{"lxc.net.1a.hwaddr", "", "", false},
		{"lxc.network.0.hwaddr", "", "", false},
		{"xlxc.net.0.hwaddr", "", "", false},
	} {
		num, rest, ok := SplitNetKey(c.key)
		if num != c.num || rest != c.rest || ok != c.ok {
			t.Errorf("SplitNetKey(%q) = %q, %q, %v; want %q, %q, %v", c.key, num, rest, ok, c.num, c.rest, c.ok)
		}
	}
	if !IsHwaddrKey("lxc.net.3.hwaddr") || IsHwaddrKey("lxc.net.3.hwaddrx") || IsHwaddrKey("lxc.net.3.link") {
		t.Error("IsHwaddrKey")
	}
}
