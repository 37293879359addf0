package hooks

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// OCIDefaultTimeout is how long an OCI hook without a timeout of its own
// may run: runtime-spec sets none, and a hook that never ends must not
// hold a create (or a delete) for ever.
const OCIDefaultTimeout = 60 * time.Second

// CheckOCI checks the hooks of one OCI phase (name, as config.json
// spells it) before anything is made: runtime-spec wants an absolute
// path and a positive timeout.
func CheckOCI(name string, hs []specs.Hook) error {
	for i, h := range hs {
		if !filepath.IsAbs(h.Path) {
			return fmt.Errorf("hooks.%s[%d].path %q is not absolute", name, i, h.Path)
		}
		if h.Timeout != nil && *h.Timeout <= 0 {
			return fmt.Errorf("hooks.%s[%d].timeout %d is not positive", name, i, *h.Timeout)
		}
	}
	return nil
}

// RunOCI runs OCI hooks of one phase (the caller has made its
// descriptors close-on-exec: CloseInherited, or the init stage's own),
// named name (createRuntime ...), in order
// (runtime-spec config.md, "POSIX-platform Hooks"), each with state (the
// container's state JSON) on its standard input, its own args and env
// (nothing of this process's), this process's working directory (a
// runtime's caller's: the bundle), its timeout or OCIDefaultTimeout, on Exec's
// machinery: a hook's whole session goes when it times out, and a daemon
// it leaves holding its output does not hold the caller. It stops at
// the first that fails, whose error names the phase, the hook, how it
// ended and the last line it wrote.
func RunOCI(name string, hs []specs.Hook, state []byte) error {
	return RunOCIIn(name, hs, state, 0, "")
}

// RunOCIIn is RunOCI with each hook chrooted to the directory rootFD
// (when above 0) and run from dir there (Proc.RootFD): createContainer
// hooks, whose paths resolve in the runtime's mount namespace
// (runtime-spec) while they run in the container's.
func RunOCIIn(name string, hs []specs.Hook, state []byte, rootFD int, dir string) error {
	for i, h := range hs {
		d := OCIDefaultTimeout
		if h.Timeout != nil {
			if *h.Timeout <= 0 {
				return fmt.Errorf("%s hook %s: timeout %d is not positive", name, h.Path, *h.Timeout)
			}
			d = time.Duration(*h.Timeout) * time.Second
		}
		args := h.Args
		if len(args) == 0 {
			args = []string{h.Path}
		}
		env := h.Env
		if env == nil {
			// Exec's nil would be this process's environment.
			env = []string{}
		}
		ctx, cancel := context.WithTimeout(context.Background(), d)
		r := Exec(ctx, Proc{Path: h.Path, Args: args, Env: env, Stdin: bytes.NewReader(state), RootFD: rootFD, Dir: dir})
		cancel()
		if r.Failed {
			msg := fmt.Sprintf("%s hook %d (%s) %s", name, i, h.Path, r.Status)
			if r.LastLine != "" {
				msg += ": " + r.LastLine
			}
			return fmt.Errorf("%s", msg)
		}
	}
	return nil
}
