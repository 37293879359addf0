package lxc

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/hooks"
	"github.com/golxc/golxc/internal/monitor"
	"github.com/golxc/golxc/internal/storage"
)

// startHooks splits cfg's hooks of a start between the init stage (spec:
// pre-mount, mount, autodev, start, in the container's namespaces) and
// the monitor (returned: pre-start, start-host, stop, post-stop, on the
// host's side). Both start from this tool's environment, as LXC's hooks
// inherit lxc-start's; those in the container's namespaces get
// lxc.environment too, as LXC's do. logLevel is -l's.
func startHooks(spec *containerinit.Spec, name, configFile, consoleLog, logLevel string, cfg *config.Config) (*monitor.HostHooks, error) {
	c := hooks.ForConfig(name, configFile, cfg)
	if logLevel != "" {
		c.LogLevel = logLevelName(logLevel)
	}
	if consoleLog != "" {
		c.ConsoleLog = consoleLog
	}
	c.Environ = os.Environ()
	// An overlay or loop rootfs has no directory on the host to give as
	// LXC_ROOTFS_MOUNT.
	onStore := false
	if st, err := storage.Parse(cfg.Rootfs.Raw); err == nil && (st.Kind == storage.Overlay || st.Kind == storage.Loop) {
		onStore = true
	}
	stage := &containerinit.StageHooks{
		PreMount: hooks.Commands(cfg, hooks.PreMount),
		Mount:    hooks.Commands(cfg, hooks.Mount),
		Autodev:  hooks.Commands(cfg, hooks.Autodev),
		Start:    hooks.Commands(cfg, hooks.Start),
	}
	if !cfg.Autodev {
		stage.Autodev = nil // LXC runs them with lxc.autodev = 1 only
	}
	if len(stage.PreMount)+len(stage.Mount)+len(stage.Autodev)+len(stage.Start) > 0 {
		stage.Container = c
		stage.Container.Environ = append(append([]string(nil), c.Environ...), withValues(cfg.Environment)...)
		if (len(cfg.IDMap) > 0 && os.Geteuid() == 0 || onStore) && len(stage.PreMount)+len(stage.Mount)+len(stage.Autodev) > 0 {
			// The mapped root may not walk to the rootfs's directory
			// (its container directory is root's, 0770), and an overlay
			// or loop rootfs is mounted in the container's namespace
			// only: the hooks in its namespaces find the rootfs at a
			// mount point of their own, as LXC's find it at
			// lxc.rootfs.mount.
			if err := rootfsMountPoint(); err != nil {
				return nil, err
			}
			stage.MountPoint = hookRootfsMount
			stage.Container.RootfsMount = hookRootfsMount
		}
		spec.Hooks = stage
	}
	if onStore {
		// The host's hooks get lxc.rootfs.mount's kind of place too (the
		// empty mount point, as LXC's get theirs), not a store's spec.
		if err := rootfsMountPoint(); err != nil {
			return nil, err
		}
		c.RootfsMount = hookRootfsMount
	}
	host := &monitor.HostHooks{
		Container: c,
		PreStart:  hooks.Commands(cfg, hooks.PreStart),
		StartHost: hooks.Commands(cfg, hooks.StartHost),
		Stop:      hooks.Commands(cfg, hooks.Stop),
		PostStop:  hooks.Commands(cfg, hooks.PostStop),
	}
	if len(host.PreStart)+len(host.StartHost)+len(host.Stop)+len(host.PostStop) == 0 {
		return nil, nil
	}
	return host, nil
}

// hookRootfsMount is where the hooks of a container with its own user
// namespace find its rootfs, in the container's mount namespace: an empty
// directory every user may walk to, mounted on only there (LXC's is
// lxc.rootfs.mount, /usr/lib/ARCH/lxc/rootfs).
const hookRootfsMount = "/run/golxc-rootfs"

// rootfsMountPoint makes hookRootfsMount, or checks the one there: a
// directory of root's that no one else may write.
func rootfsMountPoint() error {
	err := os.Mkdir(hookRootfsMount, 0o755)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("make the hooks' rootfs mount point: %w", err)
	}
	var st unix.Stat_t
	if err := unix.Lstat(hookRootfsMount, &st); err != nil {
		return fmt.Errorf("the hooks' rootfs mount point: %w", err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR || st.Uid != 0 || st.Mode&0o022 != 0 {
		return fmt.Errorf("%s is not a directory of root's that only root may write: remove it", hookRootfsMount)
	}
	return nil
}

// withValues is lxc.environment's KEY=VALUE entries; a bare KEY is the
// caller's, already in the environment.
func withValues(env []string) []string {
	var out []string
	for _, e := range env {
		if strings.Contains(e, "=") {
			out = append(out, e)
		}
	}
	return out
}

// logLevelName is LXC_LOG_LEVEL for -l's value, a name or LXC's number.
func logLevelName(l string) string {
	names := []string{"TRACE", "DEBUG", "INFO", "NOTICE", "WARN", "ERROR", "CRIT", "ALERT", "FATAL"}
	l = strings.ToUpper(strings.TrimSpace(l))
	if len(l) == 1 && l[0] >= '0' && l[0] <= '8' {
		return names[l[0]-'0']
	}
	return l
}

// destroyHooks runs the lxc.hook.destroy commands of the container whose
// config is cfg (at configFile), as LXC's lxc-destroy does before it
// removes anything: in the caller's working directory, LXC_ROOTFS_MOUNT
// the rootfs's directory.
func destroyHooks(name, configFile string, cfg *config.Config) error {
	cmds := hooks.Commands(cfg, hooks.Destroy)
	if len(cmds) == 0 {
		return nil
	}
	dir, err := os.Getwd()
	if err != nil {
		dir = "/"
	}
	return hooks.Run(context.Background(), hooks.Destroy, cmds, hooks.ForConfig(name, configFile, cfg), hooks.Options{Dir: dir})
}
