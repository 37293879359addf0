package cli

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/network"
)

// unshareStageArg runs golxc as the first process of lxc-unshare's new
// namespaces: it waits for the go-ahead (its interfaces moved in), sets
// the host name, mounts, becomes the user, and executes the command.
const unshareStageArg = "__golxc-unshare-stage"

// unshareFlag reads lxc-unshare's namespace names (lxc-unshare(1)).
func unshareFlag(name string) (uintptr, bool) {
	switch name {
	case "MOUNT":
		return unix.CLONE_NEWNS, true
	case "PID":
		return unix.CLONE_NEWPID, true
	case "UTSNAME":
		return unix.CLONE_NEWUTS, true
	case "IPC":
		return unix.CLONE_NEWIPC, true
	case "USER":
		return unix.CLONE_NEWUSER, true
	case "NETWORK":
		return unix.CLONE_NEWNET, true
	case "CGROUP":
		return unix.CLONE_NEWCGROUP, true
	}
	return 0, false
}

type unshareCmd struct {
	common
	namespaces []string
	user       string
	hostname   string
	ifaces     []string
	daemon     bool
	remount    bool
}

func newUnshare() *cobra.Command {
	u := &unshareCmd{}
	cmd := &cobra.Command{
		Use:   "-s NAMESPACES [-u USER] [-H HOSTNAME] [-i IFNAME] [-d] [-M] -- COMMAND",
		Short: "run a command in new namespaces",
		Long: "Run COMMAND in new namespaces, NAMESPACES being a |-separated list of MOUNT, PID, UTSNAME, IPC, USER, NETWORK and CGROUP. " +
			"-H sets the host name (UTSNAME), -i moves a host network interface in (NETWORK; repeatable), -M mounts /proc, /dev/shm and /dev/mqueue (MOUNT), " +
			"-u runs COMMAND as USER (a name or a uid), -d does not wait for it. USER maps root inside to the caller.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return u.run(args) },
	}
	u.register(cmd, false)
	f := cmd.Flags()
	f.StringArrayVarP(&u.namespaces, "namespaces", "s", nil, "namespaces to make, e.g. 'NETWORK|PID|MOUNT'")
	f.StringVarP(&u.user, "user", "u", "", "user (name or uid) to run COMMAND as")
	f.StringVarP(&u.hostname, "hostname", "H", "", "host name in the new UTS namespace")
	f.StringArrayVarP(&u.ifaces, "ifname", "i", nil, "host network interface to move in")
	f.BoolVarP(&u.daemon, "daemon", "d", false, "do not wait for COMMAND")
	f.BoolVarP(&u.remount, "remount", "M", false, "mount /proc, /dev/shm and /dev/mqueue")
	return cmd
}

func (u *unshareCmd) run(args []string) error {
	var flags uintptr
	var names []string
	for _, s := range u.namespaces {
		for _, n := range strings.Split(s, "|") {
			f, ok := unshareFlag(strings.TrimSpace(n))
			if !ok {
				return u.fail(fmt.Errorf("%q: not a namespace (MOUNT, PID, UTSNAME, IPC, USER, NETWORK, CGROUP)", n))
			}
			flags |= f
			names = append(names, strings.TrimSpace(n))
		}
	}
	switch {
	case flags == 0:
		return u.fail(errors.New("-s NAMESPACES is required"))
	case u.hostname != "" && !slices.Contains(names, "UTSNAME"):
		return u.fail(errors.New("-H needs the UTSNAME namespace"))
	case len(u.ifaces) > 0 && !slices.Contains(names, "NETWORK"):
		return u.fail(errors.New("-i needs the NETWORK namespace"))
	case u.remount && !slices.Contains(names, "MOUNT"):
		return u.fail(errors.New("-M needs the MOUNT namespace"))
	}
	uid, gid := -1, -1
	if u.user != "" {
		usr, err := user.Lookup(u.user)
		if err != nil {
			usr, err = user.LookupId(u.user)
		}
		switch n, nerr := strconv.Atoi(u.user); {
		case err == nil:
			uid, _ = strconv.Atoi(usr.Uid)
			gid, _ = strconv.Atoi(usr.Gid)
		case nerr == nil && n >= 0:
			// A uid without a name: its gid is the uid, and root's
			// groups go as for any user (they would be root's power).
			uid, gid = n, n
		default:
			return u.fail(fmt.Errorf("user %s: no such user", u.user))
		}
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		return u.fail(fmt.Errorf("%s: %w", args[0], err))
	}
	r, w, err := os.Pipe()
	if err != nil {
		return u.fail(err)
	}
	defer w.Close()
	stageArgs := []string{unshareStageArg, strconv.Itoa(uid) + ":" + strconv.Itoa(gid), u.hostname, strconv.FormatBool(u.remount), path}
	cmd := exec.Command("/proc/self/exe", append(stageArgs, args...)...)
	cmd.Args[0] = args[0]
	cmd.ExtraFiles = []*os.File{r}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Cloneflags: flags}
	if flags&unix.CLONE_NEWUSER != 0 {
		cmd.SysProcAttr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		cmd.SysProcAttr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	if u.daemon {
		cmd.SysProcAttr.Setsid = true
		cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, nil, nil
	}
	if err := cmd.Start(); err != nil {
		r.Close()
		return u.fail(fmt.Errorf("clone %s: %w", strings.Join(names, "|"), err))
	}
	r.Close()
	for _, i := range u.ifaces {
		if err := network.MoveIn(cmd.Process.Pid, i, "", nil); err != nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
			return u.fail(fmt.Errorf("-i %s: %w", i, err))
		}
	}
	if _, err := w.Write([]byte{1}); err != nil {
		return u.fail(fmt.Errorf("start %s: %w", args[0], err))
	}
	w.Close()
	if u.daemon {
		return nil
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &exitError{code: 128 + int(ws.Signal())}
		}
		return &exitError{code: ee.ExitCode()}
	}
	if err != nil {
		return u.fail(err)
	}
	return nil
}

// runUnshareStage is the new namespaces' first process: args are the
// uid (-1: keep), the host name, whether to remount, the command's path
// and its argv.
func runUnshareStage(args []string) int {
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "lxc-unshare: %v\n", err)
		return 1
	}
	if len(args) < 5 {
		return fail(errors.New("bad stage arguments"))
	}
	go_ := os.NewFile(3, "go")
	b := make([]byte, 1)
	if n, _ := go_.Read(b); n != 1 {
		return 1 // lxc-unshare gave up
	}
	go_.Close()
	us, gs, _ := strings.Cut(args[0], ":")
	uid, _ := strconv.Atoi(us)
	gid, _ := strconv.Atoi(gs)
	if args[1] != "" {
		if err := unix.Sethostname([]byte(args[1])); err != nil {
			return fail(fmt.Errorf("host name %s: %w", args[1], err))
		}
	}
	if args[2] == "true" {
		// Nothing mounted here may reach the host's mount namespace.
		if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
			return fail(fmt.Errorf("make / a slave: %w", err))
		}
		for _, m := range []struct{ fs, dst string }{{"proc", "/proc"}, {"tmpfs", "/dev/shm"}, {"mqueue", "/dev/mqueue"}} {
			if err := os.MkdirAll(m.dst, 0o755); err != nil {
				return fail(err)
			}
			if err := unix.Mount(m.fs, m.dst, m.fs, unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
				return fail(fmt.Errorf("mount %s on %s: %w", m.fs, m.dst, err))
			}
		}
	}
	// syscall's set*id change every thread of the process, as a
	// setuid must.
	if gid >= 0 {
		if err := syscall.Setgroups(nil); err != nil {
			return fail(fmt.Errorf("drop groups: %w", err))
		}
		if err := syscall.Setgid(gid); err != nil {
			return fail(fmt.Errorf("become gid %d: %w", gid, err))
		}
	}
	if uid >= 0 {
		if err := syscall.Setuid(uid); err != nil {
			return fail(fmt.Errorf("become uid %d: %w", uid, err))
		}
	}
	err := unix.Exec(args[3], args[4:], os.Environ())
	return fail(fmt.Errorf("execute %s: %w", args[3], err))
}
