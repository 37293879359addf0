package cli

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/lxc"
	"github.com/golxc/golxc/internal/namespace"
)

type attachCmd struct {
	common
	namespaces        string
	clearEnv          bool
	setVars, keepVars []string
	uid, gid          int
	elevated          string
	remount           bool
	arch, context     string
	ptyLog            string
}

// privilegeNames are lxc-attach -e's names: made when -e is read, not by
// an init in every golxc process.
func privilegeNames() map[string]lxc.Privileges {
	return map[string]lxc.Privileges{
		"CGROUP": lxc.ElevateCgroup,
		"CAP":    lxc.ElevateCap,
		"LSM":    lxc.ElevateLSM,
	}
}

// allPrivileges is what a bare -e elevates.
const allPrivileges = "CGROUP|CAP|LSM"

func newAttach() *cobra.Command {
	a := &attachCmd{}
	cmd := &cobra.Command{
		Use:   "[-n] NAME [-s NAMESPACES] [-e[PRIVILEGES]] [-R] [--clear-env|--keep-env] [-v VAR=VALUE]... [-u UID] [-g GID] [-L FILE] [-- COMMAND]",
		Short: "run a command in a running container",
		Long: `Run COMMAND (default: the user's shell in the container) inside container NAME: in all its
namespaces (or those of -s, e.g. -s 'NETWORK|PID') and its cgroups, with its capability bounding
set. stdin, stdout and stderr pass through, except those that are terminals: they are replaced by
a pty of the container's own, which lxc-attach connects to the terminal (as LXC does: a host
terminal inside the container could be made to type into the host's shell). The exit status is
the command's, 128+N when signal N killed it, 127 when it is not found, 126 when it cannot be run.
Environment, as LXC 5.0: the caller's whole environment (--keep-env, the default) or, with
--clear-env, only --keep-var's variables and PATH=` + "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" + `;
then container=lxc, the config's lxc.environment and -v. The last of --clear-env and --keep-env wins.
-e[CGROUP|CAP|LSM] (all when bare; the list must be attached: -eCAP or --elevated-privileges=CAP)
keeps the command out of the container's cgroups (CGROUP), gives it the caller's bounding set
(CAP) or leaves out the container's seccomp filter (LSM; golxc applies no AppArmor or SELinux
label); lxc.no_new_privs applies whatever -e says. Unlike LXC's, -s does not imply -e: the command
stays in the container's cgroups, bounding set and filter (in the container's pid namespace outside
them, the container's root could ptrace it and act beyond the container's limits); add -e for
LXC's. A container with a user namespace of its own is always entered through it (-s USER or not):
the command is that namespace's root, or -u/-g's ids in it. A standard fd that is the host's null
device becomes the container's /dev/null (or a pipe when it has none).
-R, with -s but without MOUNT, mounts /proc and /sys afresh in a private copy of the host's mounts.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.run(cmd, args) },
	}
	cmd.Flags().SetInterspersed(false)
	a.register(cmd, true)
	a.registerRCFile(cmd, "f")
	f := cmd.Flags()
	f.StringVarP(&a.namespaces, "namespaces", "s", "", "namespaces to join, e.g. 'MOUNT|PID' (default: all)")
	f.Var(&lastOf{target: &a.clearEnv, value: true}, "clear-env", "start from an empty environment (container=lxc, PATH)")
	f.Var(&lastOf{target: &a.clearEnv, value: false}, "keep-env", "pass the caller's whole environment (the default)")
	for _, n := range []string{"clear-env", "keep-env"} {
		f.Lookup(n).NoOptDefVal = "true"
	}
	f.StringArrayVarP(&a.setVars, "set-var", "v", nil, "set VAR=VALUE (repeatable)")
	f.StringArrayVar(&a.keepVars, "keep-var", nil, "with --clear-env, pass the caller's VAR (repeatable)")
	f.IntVarP(&a.uid, "uid", "u", -1, "run as UID")
	f.IntVarP(&a.gid, "gid", "g", -1, "run as GID")
	f.StringVarP(&a.elevated, "elevated-privileges", "e", "", "keep privileges: CGROUP, CAP, LSM, '|'-separated (bare -e: all)")
	f.Lookup("elevated-privileges").NoOptDefVal = allPrivileges
	f.BoolVarP(&a.remount, "remount-sys-proc", "R", false, "with -s without MOUNT: remount /proc and /sys in a private mount namespace")
	f.StringVarP(&a.ptyLog, "pty-log", "L", "", "append what the command writes to its pty to FILE")
	f.StringVarP(&a.arch, "arch", "a", "", "architecture for the command (only the host's is built)")
	f.StringVarP(&a.context, "context", "c", "", "SELinux context (not built)")
	return cmd
}

// parseNames ORs the values of a '|'-separated list of names, as LXC
// spells them (empty items are skipped).
func parseNames[T ~int](list, what string, names map[string]T) (T, error) {
	var v T
	for _, n := range strings.Split(list, "|") {
		if n == "" {
			continue
		}
		f, ok := names[n]
		if !ok {
			known := slices.Sorted(maps.Keys(names))
			return 0, fmt.Errorf("unknown %s %q (one of %s, '|'-separated)", what, n, strings.Join(known, ", "))
		}
		v |= f
	}
	return v, nil
}

func (a *attachCmd) run(cmd *cobra.Command, args []string) error {
	if a.context != "" {
		return a.fail(errors.New("-c (an SELinux context) is not built: golxc applies no SELinux"))
	}
	if a.arch != "" && !config.IsHostArch(a.arch) {
		return a.fail(fmt.Errorf("-a %s: only the host's architecture is built yet", a.arch))
	}
	command, args, err := a.nameAndCommand(cmd, args)
	if err != nil {
		return err
	}
	for _, v := range a.setVars {
		if !strings.Contains(v, "=") {
			return a.fail(fmt.Errorf("invalid -v %q: want VAR=VALUE", v))
		}
	}
	var elevated lxc.Privileges
	if f := cmd.Flags().Lookup("elevated-privileges"); f.Changed {
		if elevated, err = parseNames(a.elevated, "privilege in -e", privilegeNames()); err != nil {
			return a.fail(err)
		}
	}
	ns := 0
	if a.namespaces != "" {
		if ns, err = parseNames(a.namespaces, "namespace in -s", namespace.AttachNames()); err != nil {
			return a.fail(err)
		}
	}
	ct, err := a.container(args)
	if err != nil {
		return err
	}
	code, err := ct.Attach(lxc.AttachOptions{
		Command:        command,
		Namespaces:     ns,
		ClearEnv:       a.clearEnv,
		SetVars:        a.setVars,
		KeepVars:       a.keepVars,
		UID:            a.uid,
		GID:            a.gid,
		RCFile:         a.rcfile,
		Elevated:       elevated,
		RemountSysProc: a.remount,
		PtyLog:         a.ptyLog,
		Warn:           func(w string) { warn("lxc-attach", a.quiet, []string{w}) },
	})
	if err != nil {
		return a.failCode(code, err)
	}
	if code != 0 {
		return a.failCode(code, nil)
	}
	return nil
}
