package test

import (
	"strings"
	"testing"
)

// argBytes is an argument that is no UTF-8: a file name of another
// locale's, say.
const argBytes = "a\xff\xfeb"

// hexOf is what `od -An -tx1` prints of argBytes.
const hexOf = "61 ff fe 62"

// TestExecuteArgBytes: lxc-execute hands the command its arguments byte
// for byte (through JSON, invalid UTF-8 became U+FFFD).
func TestExecuteArgBytes(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.createBusybox()
	out, errs, code := l.run("lxc-execute", "-n", n, "--", "/bin/sh", "-c", `printf %s "$1" | od -An -tx1`, "sh", argBytes)
	if got := strings.TrimSpace(out); code != 0 || got != hexOf {
		t.Errorf("lxc-execute -n %s -- sh -c 'printf %%s \"$1\" | od -An -tx1' sh %q: exit %d %q, want %q\nstderr: %s", n, argBytes, code, got, hexOf, errs)
	}
}

// TestAttachArgBytes: lxc-attach hands the command its arguments byte for
// byte.
func TestAttachArgBytes(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	n := l.startBusybox()
	out, errs, code := l.run("lxc-attach", "-n", n, "--", "/bin/sh", "-c", `printf %s "$1" | od -An -tx1`, "sh", argBytes)
	if got := strings.TrimSpace(out); code != 0 || got != hexOf {
		t.Errorf("lxc-attach -n %s -- sh -c 'printf %%s \"$1\" | od -An -tx1' sh %q: exit %d %q, want %q\nstderr: %s", n, argBytes, code, got, hexOf, errs)
	}
}
