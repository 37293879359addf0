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

// hostNameMax is the longest host name the kernel takes (sethostname(2),
// HOST_NAME_MAX; lxc.uts.name has the same limit).
const hostNameMax = 64

// checkCreateName refuses, before anything is made, a name too long to be
// the container's host name: a new container's config records its name as
// lxc.uts.name, as LXC's templates do, and LXC's own create then fails on
// that line. Cutting the name instead would give two containers whose names
// share 64 bytes the same host name. ValidateName still accepts such names
// (up to 200 bytes), so existing containers can be listed and destroyed.
func checkCreateName(name string) error {
	if len(name) > hostNameMax {
		return fmt.Errorf("invalid container name %q: %d bytes, longer than the %d a host name (lxc.uts.name) can hold", shortName(name), len(name), hostNameMax)
	}
	return nil
}

// shortName is name cut for an error message.
func shortName(name string) string {
	if len(name) <= 32 {
		return name
	}
	return name[:32] + "..."
}
