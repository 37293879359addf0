package lxc

import "testing"

func TestRewritePaths(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/l/c1/console.log", "/l/n/console.log"},
		{"/l/c1", "/l/n"},
		{"/l/c10/x", "/l/c10/x"},
		{"/x/l/c1/y", "/x/l/c1/y"},
		{"/l/c1/fstab", "/l/n/fstab"},
		{"/l/c1/rootfs/a mnt none bind 0 0", "/l/n/rootfs/a mnt none bind 0 0"},
		{"overlay:/l/c1/rootfs:/l/c1/delta", "overlay:/l/n/rootfs:/l/n/delta"},
		{"nothing here", "nothing here"},
	} {
		if got := rewritePaths(tc.in, "/l/c1", "/l/n"); got != tc.want {
			t.Errorf("rewritePaths(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
