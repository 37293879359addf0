package lxc

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/seccomp"
)

// seccompFilter compiles lxc.seccomp.profile for the init stage; nil when
// the config names none. Errors name the key, and the file and line at
// fault.
func seccompFilter(cfg *config.Config) (*containerinit.Seccomp, error) {
	if cfg.Seccomp.Profile == "" {
		return nil, nil
	}
	p, err := seccomp.ParseFile(cfg.Seccomp.Profile)
	if err != nil {
		return nil, fmt.Errorf("lxc.seccomp.profile: %w", err)
	}
	prog, err := seccomp.Compile(p, runtime.GOARCH)
	if err != nil {
		return nil, fmt.Errorf("lxc.seccomp.profile: %w", err)
	}
	f := &containerinit.Seccomp{Program: seccomp.Encode(prog), AllowNesting: cfg.Seccomp.AllowNesting}
	if seccomp.Returns(prog, unix.SECCOMP_RET_USER_NOTIF) {
		// A notify action needs a supervisor that answers: the monitor
		// forwards each call to the proxy (LXC's protocol).
		if cfg.Seccomp.NotifyProxy == "" {
			_, line := p.UsesNotify()
			return nil, fmt.Errorf("lxc.seccomp.profile: %s:%d: action notify needs lxc.seccomp.notify.proxy", p.File, line)
		}
		if err := p.NotifyStalls(runtime.GOARCH); err != nil {
			return nil, fmt.Errorf("lxc.seccomp.profile: %w", err)
		}
		f.Notify = &containerinit.SeccompNotify{Proxy: cfg.Seccomp.NotifyProxy, Cookie: cfg.Seccomp.NotifyCookie}
	}
	return f, nil
}

// seccompWarnings are what a start goes on without: rules for system calls
// this machine does not have (LXC skips them too), argument filters the
// i386 socketcall(2) and ipc(2) forms of a call cannot have, and the whole profile
// when golxc already runs under a filter and may not stack another.
func seccompWarnings(cfg *config.Config) []string {
	if cfg.Seccomp.Profile == "" {
		return nil
	}
	p, err := seccomp.ParseFile(cfg.Seccomp.Profile)
	if err != nil {
		return nil // the start itself reports it
	}
	w, _ := p.Warnings(runtime.GOARCH)
	if !cfg.Seccomp.AllowNesting {
		if confined, err := seccomp.Confined(); err == nil && confined {
			w = append(w, "lxc.seccomp.profile "+cfg.Seccomp.Profile+" is not loaded: golxc already runs under a seccomp filter (lxc.seccomp.allow_nesting = 1 stacks it)")
		}
	}
	return w
}
