package seccomp

import (
	"encoding/binary"
	"testing"
)

// TestProxyAddr: unix:PATH and unix:@NAME (abstract) are the proxy's
// addresses; anything else is refused.
func TestProxyAddr(t *testing.T) {
	for in, want := range map[string]string{"unix:/run/p.sock": "/run/p.sock", "unix:@proxy": "\x00proxy"} {
		a, err := ProxyAddr(in)
		if err != nil || a.Name != want {
			t.Errorf("%s: %+v %v", in, a, err)
		}
	}
	for _, bad := range []string{"", "unix:", "unix:@", "tcp:1.2.3.4", "/run/p.sock"} {
		if _, err := ProxyAddr(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// TestResponseLayout: struct seccomp_notif_resp as the kernel reads it.
func TestResponseLayout(t *testing.T) {
	b := response(0x1122334455667788, -1, -38, 1)
	if len(b) != 24 || binary.NativeEndian.Uint64(b) != 0x1122334455667788 || int64(binary.NativeEndian.Uint64(b[8:])) != -1 ||
		int32(binary.NativeEndian.Uint32(b[16:])) != -38 || binary.NativeEndian.Uint32(b[20:]) != 1 {
		t.Fatalf("response % x", b)
	}
}
