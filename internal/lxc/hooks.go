package lxc

import (
	"context"
	"os"
	"strings"

	"golxc/internal/config"
	"golxc/internal/containerinit"
	"golxc/internal/hooks"
	"golxc/internal/monitor"
)

// startHooks splits cfg's hooks of a start between the init stage (spec:
// pre-mount, mount, autodev, start, in the container's namespaces) and
// the monitor (returned: pre-start, start-host, stop, post-stop, on the
// host's side). Both start from this tool's environment, as LXC's hooks
// inherit lxc-start's; those in the container's namespaces get
// lxc.environment too, as LXC's do. logLevel is -l's.
func startHooks(spec *containerinit.Spec, name, configFile, consoleLog, logLevel string, cfg *config.Config) *monitor.HostHooks {
	c := hooks.ForConfig(name, configFile, cfg)
	if logLevel != "" {
		c.LogLevel = logLevelName(logLevel)
	}
	if consoleLog != "" {
		c.ConsoleLog = consoleLog
	}
	c.Environ = os.Environ()
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
		spec.Hooks = stage
	}
	host := &monitor.HostHooks{
		Container: c,
		PreStart:  hooks.Commands(cfg, hooks.PreStart),
		StartHost: hooks.Commands(cfg, hooks.StartHost),
		Stop:      hooks.Commands(cfg, hooks.Stop),
		PostStop:  hooks.Commands(cfg, hooks.PostStop),
	}
	if len(host.PreStart)+len(host.StartHost)+len(host.Stop)+len(host.PostStop) == 0 {
		return nil
	}
	return host
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
