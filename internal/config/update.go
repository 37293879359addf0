package config

import (
	"fmt"
	"strconv"
	"strings"
)

// UpdateLegacy rewrites every legacy key line of d (LXC 1.x/2.0 keys, see
// legacyKeys) to its current form, as lxc-update-config(1) does, and returns
// how many lines changed. Comments, blank lines and current keys are left
// as they are, so a second run changes nothing:
//   - lxc.network.N.* becomes lxc.net.N.*, with ipv4 and ipv6 becoming
//     ipv4.address and ipv6.address;
//   - unnumbered lxc.network.* lines are numbered: each lxc.network.type
//     starts the next network, at the first index no numbered key uses;
//   - lxc.rootfs becomes lxc.rootfs.path, a plain path prefixed with the
//     lxc.rootfs.backend storage type (dir: when none), and the
//     lxc.rootfs.backend, lxc.pivotdir and lxc.kmsg lines, which nothing
//     replaces, go;
//   - every other legacy key takes its new name, its value unchanged.
func UpdateLegacy(d *Document) (int, error) {
	entries := d.Entries()
	backend := "dir"
	used := map[int]bool{}
	for _, e := range entries {
		if e.Key == "lxc.rootfs.backend" && e.Value != "" {
			backend = e.Value
		}
		for _, prefix := range []string{"lxc.network.", "lxc.net."} {
			rest, ok := strings.CutPrefix(e.Key, prefix)
			if !ok {
				continue
			}
			if n, _, ok := numbered(rest); ok {
				used[n] = true
			}
		}
	}
	type edit struct {
		line       int
		key, value string
		del        bool
	}
	var edits []edit
	next, cur := 0, -1
	for _, e := range entries {
		switch {
		case e.Key == "lxc.rootfs.backend" || e.Key == "lxc.pivotdir" || e.Key == "lxc.kmsg":
			edits = append(edits, edit{line: e.Line, del: true})
		case e.Key == "lxc.rootfs":
			v := e.Value
			if strings.HasPrefix(v, "/") {
				v = backend + ":" + v
			}
			edits = append(edits, edit{line: e.Line, key: "lxc.rootfs.path", value: v})
		case strings.HasPrefix(e.Key, "lxc.network."):
			rest := strings.TrimPrefix(e.Key, "lxc.network.")
			idx, sub, ok := numbered(rest)
			if !ok {
				sub = rest
				if sub == "type" {
					for used[next] {
						next++
					}
					cur, used[next] = next, true
				}
				if cur < 0 {
					return 0, &ParseError{Line: e.Line, Key: e.Key, Err: fmt.Errorf("%s comes before any lxc.network.type: which network it belongs to is unknown", e.Key)}
				}
				idx = cur
			}
			if sub == "ipv4" || sub == "ipv6" {
				sub += ".address"
			}
			edits = append(edits, edit{line: e.Line, key: "lxc.net." + strconv.Itoa(idx) + "." + sub, value: e.Value})
		default:
			if use, ok := legacyReplacement(e.Key); ok && use != "" {
				edits = append(edits, edit{line: e.Line, key: use, value: e.Value})
			}
		}
	}
	// From the bottom, so that a deleted line does not move the others.
	for i := len(edits) - 1; i >= 0; i-- {
		if ed := edits[i]; ed.del {
			d.Delete(ed.line)
		} else {
			d.Replace(ed.line, ed.key, ed.value)
		}
	}
	return len(edits), nil
}

// numbered splits "N.SUBKEY" into N and SUBKEY.
func numbered(rest string) (int, string, bool) {
	num, sub, ok := strings.Cut(rest, ".")
	if !ok || sub == "" {
		return 0, "", false
	}
	n, err := strconv.ParseUint(num, 10, 31)
	if err != nil {
		return 0, "", false
	}
	return int(n), sub, true
}
