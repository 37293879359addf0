package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"golxc/internal/lxc"
)

type attachCmd struct {
	common
	namespaces        string
	clearEnv, keepEnv bool
	setVars, keepVars []string
	uid, gid          int
	elevated, remount bool
	arch              string
}

// namespaceFlags are lxc-attach -s's names (lxc-attach(1)).
var namespaceFlags = map[string]int{
	"MOUNT":   unix.CLONE_NEWNS,
	"PID":     unix.CLONE_NEWPID,
	"UTSNAME": unix.CLONE_NEWUTS,
	"IPC":     unix.CLONE_NEWIPC,
	"NETWORK": unix.CLONE_NEWNET,
	"CGROUP":  unix.CLONE_NEWCGROUP,
}

func newAttach() *cobra.Command {
	a := &attachCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME [-s NAMESPACES] [--clear-env|--keep-env] [-v VAR=VALUE]... [-u UID] [-g GID] [-- COMMAND]",
		Short: "run a command in a running container",
		Long: `Run COMMAND (default: the user's shell in the container) inside container NAME: in all its
namespaces (or those of -s, e.g. -s 'NETWORK|PID') and its cgroups. stdin, stdout and stderr pass
through, except those that are terminals: they are replaced by a pty of the container's own, which
lxc-attach connects to the terminal (as LXC does: a host terminal inside the container could be made
to type into the host's shell). The exit status is the command's, 128+N when signal N killed
it, 127 when it is not found, 126 when it cannot be run.
Environment: by default container=lxc, PATH=` + "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" + `, HOME, and
the caller's TERM, LANG, LC_ALL, LC_CTYPE, COLORTERM; --keep-env passes the caller's whole
environment, --clear-env only container=lxc and PATH; -v and --keep-var add to either.`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error { return a.run(cmd, args) },
	}
	cmd.Flags().SetInterspersed(false)
	a.register(cmd, true)
	a.registerRCFile(cmd, "f")
	f := cmd.Flags()
	f.StringVarP(&a.namespaces, "namespaces", "s", "", "namespaces to join, e.g. 'MOUNT|PID' (default: all)")
	f.BoolVar(&a.clearEnv, "clear-env", false, "start from an empty environment")
	f.BoolVar(&a.keepEnv, "keep-env", false, "pass the caller's whole environment")
	f.StringArrayVarP(&a.setVars, "set-var", "v", nil, "set VAR=VALUE (repeatable)")
	f.StringArrayVar(&a.keepVars, "keep-var", nil, "pass the caller's VAR (repeatable)")
	f.IntVarP(&a.uid, "uid", "u", -1, "run as UID")
	f.IntVarP(&a.gid, "gid", "g", -1, "run as GID")
	f.BoolVarP(&a.elevated, "elevated-privileges", "e", false, "not supported yet")
	f.BoolVarP(&a.remount, "remount-sys-proc", "R", false, "not supported yet")
	f.StringVarP(&a.arch, "arch", "a", "", "not supported yet")
	return cmd
}

func (a *attachCmd) run(cmd *cobra.Command, args []string) error {
	if a.elevated || a.remount || a.arch != "" {
		return a.fail(fmt.Errorf("-e, -R and -a are not supported yet"))
	}
	if a.clearEnv && a.keepEnv {
		return a.fail(fmt.Errorf("--clear-env and --keep-env exclude each other"))
	}
	command, args := a.splitCommand(cmd, args)
	for _, v := range a.setVars {
		if !strings.Contains(v, "=") {
			return a.fail(fmt.Errorf("invalid -v %q: want VAR=VALUE", v))
		}
	}
	ns := 0
	if a.namespaces != "" {
		for _, n := range strings.Split(a.namespaces, "|") {
			flag, ok := namespaceFlags[strings.ToUpper(strings.TrimSpace(n))]
			if !ok {
				return a.fail(fmt.Errorf("unknown namespace %q in -s (MOUNT, PID, UTSNAME, IPC, NETWORK, CGROUP)", n))
			}
			ns |= flag
		}
	}
	ct, err := a.container(args)
	if err != nil {
		return err
	}
	code, err := ct.Attach(lxc.AttachOptions{
		Command:    command,
		Namespaces: ns,
		KeepEnv:    a.keepEnv,
		ClearEnv:   a.clearEnv,
		SetVars:    a.setVars,
		KeepVars:   a.keepVars,
		UID:        a.uid,
		GID:        a.gid,
		RCFile:     a.rcfile,
	})
	if err != nil {
		return a.failCode(code, err)
	}
	if code != 0 {
		return a.failCode(code, nil)
	}
	return nil
}
