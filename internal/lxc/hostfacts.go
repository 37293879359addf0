package lxc

import (
	"sync"

	"github.com/golxc/golxc/internal/cgroup"
)

// HostFacts are what a start reads of the host and of the calling
// process that no start of one run of a tool changes: lxc-autostart reads
// them once, not once a container (its own CPU for 1000 containers fell
// from 1.65-1.95 to 1.0-1.2 s). The cgroup layout is still read again
// when it may have changed (layoutCache). Whether this process runs in
// the host's default context (defaultContext) is judged once, and only
// a yes is kept: of what it checks, the namespaces, the bounding set,
// no_new_privs and seccomp only the process can change, and nothing on a
// start's path does; affinity, nice and oom_score_adj others may change
// meanwhile (taskset -p, renice), but a shared monitor resets those to
// the host's when it starts (resetContext), so a start sent to it after
// such a change gets the host's defaults, as a shared monitor's starts
// always do, and nothing of this process's. A no (or a failed read) is
// judged again at the next start. A nil HostFacts reads both at each
// start (lxc-start).
type HostFacts struct {
	layouts   *layoutCache // nil for a user's tool: read at each start
	context   func() error // defaultContext, but a test's
	mu        sync.Mutex
	isDefault bool
}

// NewHostFacts makes the facts of one run of a tool; Close releases them.
func NewHostFacts() *HostFacts {
	return &HostFacts{layouts: newLayoutCache(), context: defaultContext}
}

// Close releases what the facts watch.
func (h *HostFacts) Close() {
	if h != nil {
		h.layouts.Close()
	}
}

// layout is the host's cgroup layout, a copy of the caller's own.
func (h *HostFacts) layout() (*cgroup.Layout, error) {
	if h == nil {
		return cgroup.Detect()
	}
	return h.layouts.get()
}

// defaultContext is defaultContext's verdict on this process.
func (h *HostFacts) defaultContext() error {
	if h == nil {
		return defaultContext()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.isDefault {
		return nil
	}
	err := h.context()
	h.isDefault = err == nil
	return err
}

// UseHostFacts makes the container's starts read the host through h.
func (c *Container) UseHostFacts(h *HostFacts) { c.hostFacts = h }
