// Package lxc is the container API every tool uses (like liblxc's
// struct lxc_container): create, start, stop, attach, state, destroy, over
// a store of containers under an lxcpath. It knows nothing of command lines
// or output formats.
package lxc

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ValidateName checks that name is one safe path component, before
// anything is touched: no "/", no "..", no control characters, nothing a
// shell or a cgroup path would trip on.
func ValidateName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("no container name given (use -n NAME)")
	case len(name) > 200:
		return fmt.Errorf("invalid container name %q: longer than 200 bytes", name[:32]+"...")
	case !utf8.ValidString(name):
		return fmt.Errorf("invalid container name %q: not valid UTF-8", name)
	case name == "." || name == "..":
		return fmt.Errorf("invalid container name %q", name)
	case strings.HasPrefix(name, ".") || strings.HasPrefix(name, "-"):
		return fmt.Errorf("invalid container name %q: must not start with %q", name, name[:1])
	}
	for _, r := range name {
		// Format characters (right-to-left overrides, zero-width spaces)
		// would let a name pass for another in lxc-ls.
		if r == '/' || unicode.IsControl(r) || unicode.IsSpace(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("invalid container name %q: must not contain %q", name, r)
		}
	}
	return nil
}
