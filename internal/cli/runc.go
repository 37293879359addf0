package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/oci"
)

// runcTool is the OCI runtime's name: containerd's runc shim runs it
// (BinaryName) with runc's command line.
const runcTool = "golxc-runc"

// runcCmd holds golxc-runc's global flags, which come before the verb.
type runcCmd struct {
	root, log, logFormat string
	systemdCgroup        bool
	debug                bool
}

// runcFail is an error already logged to --log.
func (r *runcCmd) fail(err error) error {
	if err == nil {
		return nil
	}
	if r.log != "" {
		// Appended, never truncated: the caller (the shim) takes the
		// last "error" line as the reason of a failed call.
		if f, ferr := os.OpenFile(r.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); ferr == nil {
			if r.logFormat == "json" {
				b, _ := json.Marshal(map[string]string{"level": "error", "msg": err.Error(), "time": time.Now().Format(time.RFC3339)})
				fmt.Fprintf(f, "%s\n", b)
			} else {
				fmt.Fprintf(f, "time=%q level=error msg=%q\n", time.Now().Format(time.RFC3339), err.Error())
			}
			f.Close()
		}
	}
	return &exitError{code: 1, err: err}
}

func (r *runcCmd) runtime() *oci.Runtime {
	return &oci.Runtime{Root: r.root, Warn: r.warn}
}

// warn prints a warning and logs it to --log.
func (r *runcCmd) warn(err error) {
	fmt.Fprintf(os.Stderr, "%s: warning: %v\n", runcTool, err)
	if r.log == "" {
		return
	}
	if f, ferr := os.OpenFile(r.log, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600); ferr == nil {
		if r.logFormat == "json" {
			b, _ := json.Marshal(map[string]string{"level": "warning", "msg": err.Error(), "time": time.Now().Format(time.RFC3339)})
			fmt.Fprintf(f, "%s\n", b)
		} else {
			fmt.Fprintf(f, "time=%q level=warning msg=%q\n", time.Now().Format(time.RFC3339), err.Error())
		}
		f.Close()
	}
}

func newRunc() *cobra.Command {
	r := &runcCmd{}
	cmd := &cobra.Command{
		Use:   "[GLOBAL OPTIONS] COMMAND [OPTIONS] ID",
		Short: "golxc's OCI runtime, with runc's command line",
		Long: "Run OCI bundles (runtime-spec config.json) on golxc's engine, with the verbs and flags containerd's runc shim " +
			"uses (BinaryName = the path of this tool). State is kept under --root, one directory per container, root's alone.",
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&r.root, "root", oci.DefaultRoot, "directory of the containers' state")
	pf.StringVar(&r.log, "log", "", "append errors to this file")
	pf.StringVar(&r.logFormat, "log-format", "text", "format of --log: text or json")
	pf.BoolVar(&r.systemdCgroup, "systemd-cgroup", false, "the systemd cgroup driver (not built: refused)")
	pf.BoolVar(&r.debug, "debug", false, "accepted, no debug output")
	cmd.PersistentPreRunE = func(c *cobra.Command, args []string) error {
		if r.logFormat != "text" && r.logFormat != "json" {
			return r.fail(fmt.Errorf("--log-format %q: text or json", r.logFormat))
		}
		if r.systemdCgroup {
			return r.fail(errors.New("--systemd-cgroup: the systemd cgroup driver is not built in golxc-runc; use cgroupfs (SystemdCgroup = false)"))
		}
		if !filepath.IsAbs(r.root) {
			abs, err := filepath.Abs(r.root)
			if err != nil {
				return r.fail(err)
			}
			r.root = abs
		}
		return nil
	}
	cmd.AddCommand(r.createCmd(), r.startCmd(), r.runCmd(), r.stateCmd(), r.killCmd(), r.deleteCmd(), r.listCmd(),
		r.specCmd(), r.featuresCmd(), r.psCmd(), r.pauseCmd(true), r.pauseCmd(false), r.updateCmd(), r.eventsCmd(), r.execCmd())
	for _, v := range []string{"checkpoint", "restore"} {
		cmd.AddCommand(&cobra.Command{Use: v, Hidden: true, DisableFlagParsing: true, RunE: func(c *cobra.Command, args []string) error {
			return r.fail(fmt.Errorf("%s is not built in golxc-runc", c.Name()))
		}})
	}
	return cmd
}

func exactlyID(c *cobra.Command, args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("%s needs exactly one container id", c.Name())
	}
	return nil
}

func (r *runcCmd) createCmd() *cobra.Command {
	var o oci.CreateOptions
	var noPivot, noNewKeyring bool
	cmd := &cobra.Command{
		Use:   "create [--bundle DIR] [--pid-file FILE] [--console-socket SOCKET] ID",
		Short: "create a container from a bundle, its process waiting for start",
		Args:  exactlyID,
		RunE: func(c *cobra.Command, args []string) error {
			o.ID = args[0]
			if noPivot {
				return r.fail(errors.New("--no-pivot is not built in golxc-runc: the root is always pivoted into"))
			}
			// --no-new-keyring: golxc makes no session keyring anyway.
			return r.fail(r.runtime().Create(o))
		},
	}
	createFlags(cmd, &o, &noPivot, &noNewKeyring)
	return cmd
}

func createFlags(cmd *cobra.Command, o *oci.CreateOptions, noPivot, noNewKeyring *bool) {
	f := cmd.Flags()
	f.StringVarP(&o.Bundle, "bundle", "b", ".", "the bundle directory (config.json, rootfs)")
	f.StringVar(&o.PidFile, "pid-file", "", "write the container's init pid here")
	f.StringVar(&o.ConsoleSocket, "console-socket", "", "unix socket that gets the terminal's master (process.terminal)")
	f.BoolVar(noPivot, "no-pivot", false, "not built: refused")
	f.BoolVar(noNewKeyring, "no-new-keyring", false, "accepted: golxc makes no session keyring")
}

func (r *runcCmd) startCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "start ID",
		Short: "let a created container's process run",
		Args:  exactlyID,
		RunE:  func(c *cobra.Command, args []string) error { return r.fail(r.runtime().Start(args[0])) },
	}
}

func (r *runcCmd) runCmd() *cobra.Command {
	var o oci.CreateOptions
	var noPivot, noNewKeyring, detach bool
	cmd := &cobra.Command{
		Use:   "run [--bundle DIR] [--pid-file FILE] [--detach] ID",
		Short: "create and start a container; without --detach wait for it and delete it",
		Args:  exactlyID,
		RunE: func(c *cobra.Command, args []string) error {
			o.ID = args[0]
			if noPivot {
				return r.fail(errors.New("--no-pivot is not built in golxc-runc: the root is always pivoted into"))
			}
			rt := r.runtime()
			if !detach {
				if o.ConsoleSocket != "" {
					return r.fail(errors.New("run without --detach: --console-socket is not built (its terminal would need a proxy)"))
				}
				// The container's init is this process's child until
				// it exits: its status is run's.
				if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
					return r.fail(fmt.Errorf("prctl PR_SET_CHILD_SUBREAPER: %w", err))
				}
			}
			if err := rt.Create(o); err != nil {
				return r.fail(err)
			}
			if err := rt.Start(o.ID); err != nil {
				_ = rt.Delete(o.ID, true)
				return r.fail(err)
			}
			if detach {
				return nil
			}
			// The record's pid, not the state's: a short process may
			// have ended already, which the state reports as pid 0.
			rec, err := rt.Load(o.ID)
			if err != nil {
				return r.fail(err)
			}
			code := waitChild(rec.Pid)
			if err := rt.Delete(o.ID, true); err != nil {
				return r.fail(err)
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	createFlags(cmd, &o, &noPivot, &noNewKeyring)
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "return once the container runs")
	return cmd
}

// waitChild reaps pid and returns its status as a shell would (128+N
// for signal N).
func waitChild(pid int) int {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(pid, &ws, 0, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return 255
		}
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
}

func (r *runcCmd) stateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "state ID",
		Short: "print a container's state (runtime-spec JSON)",
		Args:  exactlyID,
		RunE: func(c *cobra.Command, args []string) error {
			st, err := r.runtime().State(args[0])
			if err != nil {
				return r.fail(err)
			}
			return printJSON(os.Stdout, st, true)
		},
	}
}

func printJSON(w io.Writer, v any, indent bool) error {
	var b []byte
	var err error
	if indent {
		b, err = json.MarshalIndent(v, "", "  ")
	} else {
		b, err = json.Marshal(v)
	}
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func (r *runcCmd) killCmd() *cobra.Command {
	var all bool
	cmd := &cobra.Command{
		Use:   "kill [--all] ID [SIGNAL]",
		Short: "send a signal (default SIGTERM) to a container's init, or with --all to all its processes",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(c *cobra.Command, args []string) error {
			sig := unix.SIGTERM
			if len(args) == 2 {
				var err error
				if sig, err = config.SignalByName(args[1]); err != nil {
					return r.fail(err)
				}
			}
			return r.fail(r.runtime().Kill(args[0], sig, all))
		},
	}
	cmd.Flags().BoolVarP(&all, "all", "a", false, "every process of the container")
	return cmd
}

func (r *runcCmd) deleteCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "delete [--force] ID",
		Short: "delete a stopped container (--force: any, and no error for an unknown one)",
		Args:  exactlyID,
		RunE:  func(c *cobra.Command, args []string) error { return r.fail(r.runtime().Delete(args[0], force)) },
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "kill a running container; an unknown one is no error")
	return cmd
}

func (r *runcCmd) listCmd() *cobra.Command {
	var format string
	var quiet bool
	cmd := &cobra.Command{
		Use:   "list [--format table|json] [--quiet]",
		Short: "list the containers under --root",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			sts, err := r.runtime().List()
			if err != nil {
				return r.fail(err)
			}
			switch {
			case quiet:
				for _, s := range sts {
					fmt.Println(s.ID)
				}
			case format == "json":
				if sts == nil {
					sts = []*oci.State{}
				}
				return printJSON(os.Stdout, sts, false)
			case format == "table":
				w := tabwriter.NewWriter(os.Stdout, 12, 1, 3, ' ', 0)
				fmt.Fprintln(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER")
				for _, s := range sts {
					fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", s.ID, s.Pid, s.Status, s.Bundle, s.Created.Format(time.RFC3339Nano), "root")
				}
				return w.Flush()
			default:
				return r.fail(fmt.Errorf("--format %q: table or json", format))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "table or json")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "ids only")
	return cmd
}

func (r *runcCmd) specCmd() *cobra.Command {
	var bundle string
	cmd := &cobra.Command{
		Use:   "spec [--bundle DIR]",
		Short: "write a default config.json into the bundle directory",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error {
			path := filepath.Join(bundle, "config.json")
			b, err := json.MarshalIndent(oci.DefaultSpec(), "", "\t")
			if err != nil {
				return r.fail(err)
			}
			// O_EXCL: an existing file, or a symlink planted there
			// (dangling or not), is never written through.
			f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
			if errors.Is(err, os.ErrExist) {
				return r.fail(fmt.Errorf("%s exists: not overwritten", path))
			}
			if err != nil {
				return r.fail(err)
			}
			_, err = f.Write(append(b, '\n'))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(path)
				return r.fail(fmt.Errorf("write %s: %w", path, err))
			}
			return nil
		},
	}
	cmd.Flags().StringVarP(&bundle, "bundle", "b", ".", "bundle directory")
	return cmd
}

func (r *runcCmd) featuresCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "features",
		Short: "print what this runtime implements (runtime-spec features JSON)",
		Args:  cobra.NoArgs,
		RunE:  func(c *cobra.Command, args []string) error { return printJSON(os.Stdout, oci.Features(), true) },
	}
}

func (r *runcCmd) psCmd() *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "ps [--format json] ID",
		Short: "list the host pids of a container's processes",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if format != "json" {
				return r.fail(errors.New("ps: only --format json is built in golxc-runc"))
			}
			if len(args) > 1 {
				return r.fail(errors.New("ps: ps(1) options are not built in golxc-runc"))
			}
			pids, err := r.runtime().Pids(args[0])
			if err != nil {
				return r.fail(err)
			}
			return printJSON(os.Stdout, pids, false)
		},
	}
	cmd.Flags().StringVarP(&format, "format", "f", "table", "json (table is not built)")
	return cmd
}

func (r *runcCmd) pauseCmd(pause bool) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pause ID",
		Short: "freeze every process of a container",
		Args:  exactlyID,
		RunE: func(c *cobra.Command, args []string) error {
			if pause {
				return r.fail(r.runtime().Pause(args[0]))
			}
			return r.fail(r.runtime().Resume(args[0]))
		},
	}
	if !pause {
		cmd.Use, cmd.Short = "resume ID", "thaw a paused container"
	}
	return cmd
}

func (r *runcCmd) updateCmd() *cobra.Command {
	var resources string
	cmd := &cobra.Command{
		Use:   "update --resources FILE|- ID",
		Short: "apply new linux.resources (JSON) to a running container",
		Args:  exactlyID,
		RunE: func(c *cobra.Command, args []string) error {
			if resources == "" {
				return r.fail(errors.New("update: only --resources is built in golxc-runc"))
			}
			var b []byte
			var err error
			if resources == "-" {
				b, err = io.ReadAll(io.LimitReader(os.Stdin, 1<<20))
			} else {
				b, err = os.ReadFile(resources)
			}
			if err != nil {
				return r.fail(fmt.Errorf("read resources: %w", err))
			}
			res := new(specs.LinuxResources)
			if err := json.Unmarshal(b, res); err != nil {
				return r.fail(fmt.Errorf("resources: %w", err))
			}
			return r.fail(r.runtime().Update(args[0], res))
		},
	}
	cmd.Flags().StringVarP(&resources, "resources", "r", "", "JSON linux.resources, - for standard input")
	return cmd
}

func (r *runcCmd) eventsCmd() *cobra.Command {
	var stats bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "events [--stats] [--interval D] ID",
		Short: "print the container's resource usage as JSON: once with --stats, else every interval",
		Args:  exactlyID,
		RunE: func(c *cobra.Command, args []string) error {
			rt := r.runtime()
			for {
				ev, err := rt.Stats(args[0])
				if err != nil {
					return r.fail(err)
				}
				if err := printJSON(os.Stdout, ev, false); err != nil {
					return r.fail(err)
				}
				if stats {
					return nil
				}
				time.Sleep(interval)
			}
		},
	}
	cmd.Flags().BoolVar(&stats, "stats", false, "print the usage once")
	cmd.Flags().DurationVar(&interval, "interval", 5*time.Second, "time between two lines")
	return cmd
}

// runRunc runs golxc-runc with args, outside the lxc-* tools' option
// conventions (runc's global flags come before the verb).
func runRunc(args []string) int {
	for _, a := range args {
		if a == "--" || !strings.HasPrefix(a, "-") {
			break
		}
		if a == "--version" || a == "-v" {
			// go-runc reads three lines: the version, the commit, the spec.
			fmt.Printf("%s version %s\ncommit: golxc\nspec: %s\n", runcTool, Version, specs.Version)
			return 0
		}
	}
	cmd := newRunc()
	cmd.Use = runcTool + " " + cmd.Use
	cmd.SetArgs(args)
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	var ex *exitError
	if errors.As(err, &ex) {
		if ex.err != nil && !ex.quiet {
			fmt.Fprintf(os.Stderr, "%s: %v\n", runcTool, ex.err)
		}
		return ex.code
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", runcTool, err)
	return 1
}

func (r *runcCmd) execCmd() *cobra.Command {
	var o oci.ExecOptions
	var processFile, cwd string
	var env []string
	var detach, tty bool
	cmd := &cobra.Command{
		Use:   "exec [--process FILE] [--detach] [--pid-file FILE] [--tty --console-socket S] ID [COMMAND ARGS...]",
		Short: "run a process in a running container",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			o.ID = args[0]
			rt := r.runtime()
			if processFile != "" {
				b, err := os.ReadFile(processFile)
				if err != nil {
					return r.fail(fmt.Errorf("read process: %w", err))
				}
				o.Process = new(specs.Process)
				if err := json.Unmarshal(b, o.Process); err != nil {
					return r.fail(fmt.Errorf("%s: %w", processFile, err))
				}
			} else {
				if len(args) < 2 {
					return r.fail(errors.New("exec needs --process FILE or a command"))
				}
				rec, err := rt.Load(o.ID)
				if err != nil {
					return r.fail(err)
				}
				o.Process = &specs.Process{Args: args[1:], Env: append(rec.Env, env...), Cwd: cwd, Terminal: tty}
			}
			if o.Process.Cwd == "" {
				o.Process.Cwd = "/"
			}
			if o.Process.Terminal && o.ConsoleSocket == "" {
				// runc would proxy its own terminal: golxc-runc only
				// hands the master on (then waits, without --detach).
				return r.fail(errors.New("exec with a terminal needs --console-socket: no terminal proxy is built"))
			}
			child, err := rt.Exec(o)
			if err != nil {
				return r.fail(err)
			}
			if detach {
				return nil
			}
			if st, err := child.Wait(); err == nil {
				if ws, ok := st.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
					return &exitError{code: 128 + int(ws.Signal())}
				}
				if code := st.ExitCode(); code != 0 {
					return &exitError{code: code}
				}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.SetInterspersed(false)
	f.StringVarP(&processFile, "process", "p", "", "runtime-spec process JSON")
	f.BoolVarP(&detach, "detach", "d", false, "return once the process runs")
	f.StringVar(&o.PidFile, "pid-file", "", "write the process's pid here")
	f.StringVar(&o.ConsoleSocket, "console-socket", "", "unix socket that gets the terminal's master")
	f.BoolVarP(&tty, "tty", "t", false, "a terminal (with a command, not --process)")
	f.StringVar(&cwd, "cwd", "/", "working directory (with a command)")
	f.StringArrayVarP(&env, "env", "e", nil, "VAR=VALUE (with a command)")
	return cmd
}
