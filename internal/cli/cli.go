// Package cli is golxc's command line: one file per lxc-* tool, each a
// small struct whose command() builds its cobra command and whose run()
// calls the container API. golxc is one binary; the tool is chosen by the
// name it is run as (lxc-start, lxc-info ...) or by its first argument
// (golxc lxc-start ...).
package cli

import (
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/containerinit"
	"github.com/golxc/golxc/internal/lxc"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/network"
)

// Version is golxc's version, set at build time with -ldflags -X.
var Version = "0.1.0-dev"

// LXCVersion is the LXC release whose behaviour golxc implements: the
// first line of every tool's --version, where scripts that choose a config
// dialect read LXC's version (they take the first line or word).
const LXCVersion = "5.0.2"

// printVersion prints what --version prints: LXC's version alone on the
// first line, as LXC's tools print it, and golxc's own on the second.
func printVersion() {
	fmt.Printf("%s\ngolxc %s\n", LXCVersion, Version)
}

// tool is a tool's name and the constructor of its command.
type tool struct {
	name string
	cmd  func() *cobra.Command
}

// tools are golxc's tools, sorted by name (ToolNames' order). Only the
// tool that runs gets built: every invocation pays for one command. An
// array the compiler lays out: a map would be built by an init in every
// golxc process, the hidden stages' included.
var tools = [...]tool{
	{runcTool, newRunc},
	{"lxc-attach", newAttach},
	{"lxc-autostart", newAutostart},
	{"lxc-cgroup", newCgroup},
	{"lxc-checkconfig", newCheckconfig},
	{"lxc-config", newConfig},
	{"lxc-console", newConsole},
	{"lxc-copy", newCopy},
	{"lxc-create", newCreate},
	{"lxc-destroy", newDestroy},
	{"lxc-device", newDevice},
	{"lxc-execute", newExecute},
	{"lxc-freeze", newFreeze},
	{"lxc-info", newInfo},
	{"lxc-ls", newLs},
	{"lxc-monitor", newMonitor},
	{"lxc-snapshot", newSnapshot},
	{"lxc-start", newStart},
	{"lxc-stop", newStop},
	{"lxc-top", newTop},
	{"lxc-unfreeze", newUnfreeze},
	{"lxc-unshare", newUnshare},
	{"lxc-update-config", newUpdateConfig},
	{"lxc-usernsexec", newUsernsexec},
	{"lxc-wait", newWait},
}

// toolCommand is the constructor of tool name's command, nil for a name
// that is not a tool.
func toolCommand(name string) func() *cobra.Command {
	for _, t := range tools {
		if t.name == name {
			return t.cmd
		}
	}
	return nil
}

// ToolNames lists the tools golxc provides (for the Makefile's links).
func ToolNames() []string {
	names := make([]string, len(tools))
	for i, t := range tools {
		names[i] = t.name
	}
	return names
}

// Main runs the tool named by args and returns the process exit code.
func Main(args []string) int {
	// No descriptor this process inherited may reach a child: a
	// container's init or an attached command would hold the caller's
	// files (a directory fd is a way out of the rootfs). This process
	// still uses what it was handed (a monitor's status pipe and lock).
	_ = unix.CloseRange(3, math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC)
	// golxc's hidden stages run only as golxc's own children: each is
	// handed descriptors of known kinds, which no caller of a tool has
	// (sudo closes every fd above 2), so a sudo rule for one tool is not
	// a way to run a stage as root (a stage removes trees, runs commands).
	if len(args) > 1 {
		switch args[1] {
		case containerinit.StageArg:
			if !fdIs(3, unix.S_IFSOCK) {
				return stageRefused(args[1])
			}
			containerinit.RunStage()
			return 1
		case lxc.AttachHelperArg:
			if !fdIs(3, unix.S_IFIFO) || !fdIs(4, unix.S_IFSOCK) {
				return stageRefused(args[1])
			}
			return lxc.RunAttachHelper()
		case unshareStageArg:
			if !fdIs(3, unix.S_IFIFO) {
				return stageRefused(args[1])
			}
			return runUnshareStage(args[2:])
		case network.KeeperArg:
			// A network namespace (3), the init's pidfd (4), a pipe (5).
			var sfs unix.Statfs_t
			if unix.Fstatfs(3, &sfs) != nil || sfs.Type != unix.NSFS_MAGIC || !fdIs(5, unix.S_IFIFO) {
				return stageRefused(args[1])
			}
			return network.RunKeeper()
		case lxc.RemoveTreeArg:
			// Only as root of the user namespace removeTree made.
			if inInitialUserNamespace() {
				return stageRefused(args[1])
			}
			return lxc.RunRemoveTree(args[2:])
		case namespace.UserStageArg:
			// Born in a user namespace of its own, waiting for its maps.
			if inInitialUserNamespace() || !fdIs(3, unix.S_IFIFO) && !fdIs(3, unix.S_IFSOCK) {
				return stageRefused(args[1])
			}
			namespace.RunUserStage(args[2:])
			return 1
		}
	}
	// A monitor's argv is its title alone, as LXC's: ps shows
	// "[lxc monitor] LXCPATH NAME" and nothing else. Its role comes in the
	// environment golxc gives it, with the title as a second check.
	if len(args) == 1 && strings.HasPrefix(args[0], lxc.MonitorTitlePrefix) {
		switch os.Getenv(lxc.StageEnv) {
		case lxc.MonitorStage:
			if !fdIs(3, unix.S_IFIFO) || !fdIs(4, unix.S_IFREG) || !fdIs(5, unix.S_IFIFO) {
				return stageRefused(args[0])
			}
			return lxc.RunDetachedMonitor()
		case lxc.SupervisorStage:
			return lxc.RunSupervisor(os.Getenv(lxc.SupervisorPathEnv))
		}
	}
	name := filepath.Base(args[0])
	rest := args[1:]
	if name == runcTool {
		return runRunc(rest)
	}
	if name == "golxc" && len(rest) > 0 && rest[0] == runcTool {
		return runRunc(rest[1:])
	}
	if toolCommand(name) == nil {
		if len(rest) == 0 || rest[0] == "-h" || rest[0] == "-?" || rest[0] == "--help" {
			fmt.Printf("golxc %s: the LXC tools, in Go.\nUsage: golxc TOOL [OPTIONS] (or run it through a link named after the tool)\nTools: %s\n", Version, strings.Join(ToolNames(), " "))
			return 0
		}
		if rest[0] == "--version" {
			printVersion()
			return 0
		}
		if rest[0] == "--list-tools" {
			fmt.Println(strings.Join(ToolNames(), "\n"))
			return 0
		}
		name = rest[0]
		if !strings.HasPrefix(name, "lxc-") {
			name = "lxc-" + name
		}
		rest = rest[1:]
		if toolCommand(name) == nil {
			fmt.Fprintf(os.Stderr, "golxc: unknown tool %q (tools: %s)\n", name, strings.Join(ToolNames(), " "))
			return 1
		}
	}
	// --version anywhere among the options prints the bare version, as
	// LXC's tools do. Not through cobra's version template: a template
	// makes the linker keep every exported method (text/template), 1.4 MB.
	for _, a := range rest {
		if a == "--" {
			break
		}
		if a == "--version" {
			printVersion()
			return 0
		}
	}
	cmd := Command(name)
	if len(rest) > 0 && (rest[0] == cobra.ShellCompRequestCmd || rest[0] == cobra.ShellCompNoDescRequestCmd) {
		// Only a shell's completion request needs the completers (they
		// read config key tables): a tool run does not pay for them.
		addCompletions(cmd, name)
	}
	cmd.SetArgs(attachOptionalValues(cmd.Flags(), rest))
	err := cmd.Execute()
	if err == nil {
		return 0
	}
	var ex *exitError
	if errors.As(err, &ex) {
		if ex.err != nil {
			logFailure(cmd, name, ex.err)
			if !ex.quiet {
				fmt.Fprintf(os.Stderr, "%s: %v\n", name, ex.err)
			}
		}
		return ex.code
	}
	logFailure(cmd, name, err)
	// Flag and argument errors, cobra's own: the message and the usage
	// line, exit 1, as LXC's getopt does (which prints the whole help).
	fmt.Fprintf(os.Stderr, "%s: %v\nUsage: %s\n", name, err, cmd.UseLine())
	return 1
}

// logFailure appends the error a tool exits with to its -o log, as LXC's
// tools log what they print (-q silences only stderr).
func logFailure(cmd *cobra.Command, tool string, failure error) {
	f := cmd.Flags()
	file, _ := f.GetString("logfile")
	if file == "" {
		return
	}
	level, _ := f.GetString("logpriority")
	name, _ := f.GetString("name")
	log, closeLog, err := lxc.OpenLog(tool, name, file, level)
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", tool, err)
		return
	}
	defer closeLog()
	log.Error(failure)
}

// Command builds tool name's command as Main runs it, nil for a name that
// is not a tool. The man page and completion generators (tools/mangen)
// read the same tree, so the docs describe what runs.
func Command(name string) *cobra.Command {
	newCmd := toolCommand(name)
	if newCmd == nil {
		return nil
	}
	cmd := newCmd()
	cmd.Use = name + " " + cmd.Use
	cmd.SilenceErrors = true
	cmd.SilenceUsage = true
	addHelpAliases(cmd, name)
	return cmd
}

// Tool is Main for a binary that is one tool (cmd/lxc-start ...): under
// any name it runs as that tool. A monitor keeps its title (its argv is
// the title alone) and golxc's hidden stages run as in the multi-call
// binary.
func Tool(name string, args []string) int {
	if len(args) > 0 && !strings.HasPrefix(args[0], lxc.MonitorTitlePrefix) {
		args = append([]string{name}, args[1:]...)
	}
	return Main(args)
}

// fdIs reports whether fd is open and of the file type mode (S_IFIFO ...).
func fdIs(fd int, mode uint32) bool {
	var st unix.Stat_t
	return unix.Fstat(fd, &st) == nil && st.Mode&unix.S_IFMT == mode
}

// inInitialUserNamespace reports whether this process is in the host's
// user namespace (its uid map is the identity of every id).
func inInitialUserNamespace() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	return err != nil || strings.Join(strings.Fields(string(b)), " ") == "0 0 4294967295"
}

// stageRefused says a hidden stage was not started by golxc.
func stageRefused(stage string) int {
	fmt.Fprintf(os.Stderr, "golxc: %s is an internal stage of golxc, not a tool\n", stage)
	return 1
}

// lastOf is one of two or more boolean flags that set one setting
// (lxc-attach --clear-env and --keep-env, lxc-start -d and -F): the last
// given wins, as with LXC's getopt.
type lastOf struct {
	target *bool
	value  bool
}

func (p *lastOf) Set(s string) error {
	v, err := strconv.ParseBool(s)
	if err != nil {
		return err
	}
	if v {
		*p.target = p.value
	}
	return nil
}
func (p *lastOf) String() string { return "false" }
func (p *lastOf) Type() string   { return "bool" }

// attachOptionalValues rewrites "-eVALUE" to "-e=VALUE" for each short
// flag whose value is optional (lxc-attach -e[PRIVILEGES]): getopt takes
// an attached optional value, pflag only after "=". Only options are
// looked at: the scan stops at "--" and at the command, which is the
// first positional argument once there is a name (-n, or a first
// positional one).
func attachOptionalValues(f *pflag.FlagSet, args []string) []string {
	out := slices.Clone(args)
	named := false
	for i := 0; i < len(out); i++ {
		a := out[i]
		switch {
		case a == "--":
			return out
		case len(a) < 2 || a[0] != '-':
			if named {
				return out
			}
			named = true
			continue
		case strings.HasPrefix(a, "--"):
			k, _, hasValue := strings.Cut(a[2:], "=")
			if k == "name" {
				named = true
			}
			if fl := f.Lookup(k); fl != nil && !hasValue && fl.NoOptDefVal == "" {
				i++ // its value
			}
			continue
		}
		for j := 1; j < len(a); j++ {
			fl := f.ShorthandLookup(a[j : j+1])
			if fl == nil {
				break // pflag will say so
			}
			if fl.Name == "name" {
				named = true
			}
			if fl.NoOptDefVal != "" {
				// Flags that take no value (booleans, counters such
				// as lxc-info's -s) are followed by more flags: -sH.
				if t := fl.Value.Type(); t != "bool" && t != "count" && j+1 < len(a) && a[j+1] != '=' {
					out[i] = a[:j+1] + "=" + a[j+1:]
					break
				}
				continue
			}
			if j+1 == len(a) {
				i++ // its value is the next argument
			}
			break
		}
	}
	return out
}

// addHelpAliases gives a tool LXC's other ways to ask for help: -? (as
// -h, on stdout with exit 0; LXC's getopt prints the help on stderr and
// exits 1 for it) and --usage (the one-line synopsis).
func addHelpAliases(cmd *cobra.Command, name string) {
	cmd.InitDefaultHelpFlag()
	f := cmd.Flags()
	f.Lookup("help").Usage = "help for " + name + " (-? too)"
	var help, usage bool
	f.BoolVarP(&help, "help-alias", "?", false, "help")
	_ = f.MarkHidden("help-alias")
	f.BoolVar(&usage, "usage", false, "print the synopsis")
	// Handled by Main before the tool runs; here for help and parsing.
	f.Bool("version", false, "print the version number")
	// A request for help or the synopsis is answered whatever the
	// arguments: cobra checks them before RunE.
	check := cmd.Args
	cmd.Args = func(c *cobra.Command, args []string) error {
		if help || usage || check == nil {
			return nil
		}
		return check(c, args)
	}
	run := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		switch {
		case help:
			return c.Help()
		case usage:
			fmt.Fprintln(c.OutOrStdout(), "Usage: "+c.UseLine())
			return nil
		}
		return run(c, args)
	}
}

// exitError is a tool's failure with the exit code its contract names.
type exitError struct {
	code  int
	err   error
	quiet bool
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// fail wraps err with exit code 1 (or the code its type asks for).
func (c *common) fail(err error) error {
	if err == nil {
		return nil
	}
	return &exitError{code: 1, err: err, quiet: c.quiet}
}

func (c *common) failCode(code int, err error) error {
	return &exitError{code: code, err: err, quiet: c.quiet}
}

// The usage lines of -o and -l, which every tool shares.
const (
	logfileUsage     = "log to FILE, in LXC's log format"
	logpriorityUsage = "log priority (TRACE, DEBUG, INFO, NOTICE, WARN, ERROR, CRIT, ALERT, FATAL)"
)

// common holds the options every tool takes (lxc(7) COMMON OPTIONS).
type common struct {
	name     string
	lxcpath  string
	logfile  string
	loglevel string
	quiet    bool
	rcfile   string
}

func (c *common) register(cmd *cobra.Command, withName bool) {
	f := cmd.Flags()
	if withName {
		f.StringVarP(&c.name, "name", "n", "", "container name")
	}
	f.StringVarP(&c.lxcpath, "lxcpath", "P", "", "container path (default: lxc.lxcpath of the system config, else "+lxc.DefaultLXCPath+")")
	f.StringVarP(&c.logfile, "logfile", "o", "", logfileUsage)
	f.StringVarP(&c.loglevel, "logpriority", "l", "ERROR", logpriorityUsage)
	f.BoolVarP(&c.quiet, "quiet", "q", false, "print no error messages")
}

// logLevel is -l when it was given, else "": the container's
// lxc.log.level then applies (lxc-start, lxc-execute).
func (c *common) logLevel(cmd *cobra.Command) string {
	if cmd.Flags().Changed("logpriority") {
		return c.loglevel
	}
	return ""
}

func (c *common) registerRCFile(cmd *cobra.Command, short string) {
	cmd.Flags().StringVarP(&c.rcfile, "rcfile", short, "", "load the container's configuration from FILE")
}

// container resolves -n (or a lone positional name, as LXC accepts) and -P.
func (c *common) container(args []string) (*lxc.Container, error) {
	ct, err := c.lookup(args)
	if err != nil {
		return nil, err
	}
	// A container whose monitor was killed is re-adopted by whichever
	// tool looks it up next: by a new monitor if its init runs, else
	// with what its stop would have done (an ephemeral one destroyed).
	ct.Recover()
	return ct, nil
}

// lookup is container without the re-adoption, for a tool whose first
// question to the monitor re-adopts by itself (lxc-info).
func (c *common) lookup(args []string) (*lxc.Container, error) {
	if c.name == "" && len(args) == 1 {
		c.name = args[0]
		args = nil
	}
	if len(args) > 0 {
		return nil, c.fail(fmt.Errorf("unexpected argument %q", args[0]))
	}
	path, err := c.path()
	if err != nil {
		return nil, err
	}
	ct, err := lxc.New(path, c.name)
	if err != nil {
		return nil, c.fail(err)
	}
	return ct, nil
}

// nameAndCommand separates a tool's COMMAND from its container name. With
// -n, every argument is the command, after "--" or not ("lxc-attach -n c1
// ps" runs ps). Without it, the first argument is the name, and, as
// LXC's getopt lets them, options may follow it before the command
// ("lxc-attach c1 -P /srv/lxc -- ps"). The rest of args, if any, is left
// for container() to refuse.
func (c *common) nameAndCommand(cmd *cobra.Command, args []string) (command, rest []string, err error) {
	dash := cmd.ArgsLenAtDash()
	if dash >= 0 {
		return args[dash:], args[:dash], nil
	}
	if c.name != "" || len(args) == 0 {
		return args, nil, nil
	}
	c.name = args[0]
	f := cmd.Flags()
	if err := f.Parse(args[1:]); err != nil {
		return nil, nil, c.fail(err)
	}
	if f.ArgsLenAtDash() >= 0 {
		return f.Args()[f.ArgsLenAtDash():], f.Args()[:f.ArgsLenAtDash()], nil
	}
	return f.Args(), nil, nil
}

// path is -P, or else the system config's lxc.lxcpath (lxc.system.conf(5)).
func (c *common) path() (string, error) {
	if c.lxcpath != "" {
		return c.lxcpath, nil
	}
	sys, err := config.LoadSystem()
	if err != nil {
		return "", c.fail(err)
	}
	if sys.LXCPath == "" {
		return lxc.DefaultLXCPath, nil
	}
	return sys.LXCPath, nil
}

// templateDirs are where lxc-create looks for named templates: golxc's
// own (beside the build tree's binary, then the installed share
// directory), then LXC's, whose scripts run unchanged.
func templateDirs() []string {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		bin := filepath.Dir(exe)
		// ../templates only in a source tree (bin/ of a checkout, whose
		// go.mod is beside it): installed under a PREFIX such as
		// /usr/local, PREFIX/templates would be a directory nobody looks
		// after (and /usr/local is group staff's to write on Debian).
		if _, err := os.Stat(filepath.Join(bin, "..", "go.mod")); err == nil {
			dirs = append(dirs, filepath.Join(bin, "..", "templates"))
		}
		dirs = append(dirs, filepath.Join(bin, "..", "share", "golxc", "templates"))
	}
	dirs = append(dirs, "/usr/share/golxc/templates", lxcTemplateDir)
	for i, d := range dirs {
		dirs[i] = filepath.Clean(d)
	}
	return dirs
}

// lxcTemplateDir is where Debian's lxc package keeps LXC's templates.
const lxcTemplateDir = "/usr/share/lxc/templates"

// warn prints config warnings once, on stderr.
func warn(tool string, quiet bool, warnings []string) {
	if quiet {
		return
	}
	for _, w := range warnings {
		fmt.Fprintf(os.Stderr, "%s: warning: %s\n", tool, w)
	}
}
