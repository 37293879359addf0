package lxc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/namespace"
	"github.com/golxc/golxc/internal/storage"
	"github.com/golxc/golxc/internal/tailbuf"
)

// storeRootfs puts the template's rootfs in its store and names it in the
// config: a btrfs subvolume is named btrfs:; a loop image is made and the
// directory's tree copied into it, the directory left empty (the mount
// point LXC keeps beside the image).
func storeRootfs(tmp, final, cfgPath string, o CreateOptions) error {
	doc, err := config.ReadDocument(cfgPath)
	if err != nil {
		return err
	}
	var to storage.Rootfs
	switch o.Store {
	case storage.Btrfs:
		to = storage.Rootfs{Kind: storage.Btrfs, Path: filepath.Join(final, "rootfs")}
	case storage.Loop:
		img := filepath.Join(tmp, "rootdev")
		size := o.FSSize
		if size == 0 {
			size = DefaultLoopSize
		}
		fstype := o.FSType
		if fstype == "" {
			fstype = "ext4"
		}
		if err := storage.MakeLoopImage(img, size, fstype); err != nil {
			return err
		}
		dir := filepath.Join(tmp, "rootfs")
		if err := copyIntoStore(storage.Rootfs{Kind: storage.Dir, Path: dir}, storage.Rootfs{Kind: storage.Loop, Path: img}); err != nil {
			return fmt.Errorf("fill the %d-byte loop image (--fssize): %w", size, err)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("empty %s: %w", dir, err)
		}
		if err := os.Mkdir(dir, 0o755); err != nil {
			return fmt.Errorf("make %s: %w", dir, err)
		}
		to = storage.Rootfs{Kind: storage.Loop, Path: filepath.Join(final, "rootdev")}
	}
	doc.Set("lxc.rootfs.path", to.String())
	return doc.WriteFile(cfgPath)
}

// creatingInfix marks a container directory still being built; such a
// directory is hidden (a leading dot) and renamed into place only when
// complete, so a failed or killed create leaves no container behind.
const creatingInfix = ".creating-"

// CreateOptions say how to create a container.
type CreateOptions struct {
	Template     string       // "busybox", "oci" (built in), an absolute script path, or "none"
	TemplateArgs []string     // after "--"
	ConfigFile   string       // -f: replaces the default config
	TemplateDirs []string     // where named templates are looked up
	Warn         func(string) // gets the config's warnings (non-lxc lines)
	// Store is the rootfs's backing store (-B): dir (the default), btrfs
	// (a subvolume) or loop (an image of FSSize bytes with an FSType
	// filesystem; the template fills a directory, copied into it).
	Store  storage.Kind
	FSType string
	FSSize int64
}

// ErrExists is returned when creating a name that is taken.
type ErrExists struct{ Name string }

func (e *ErrExists) Error() string { return e.Name + " already exists" }

// Create makes the container: config, then the template's rootfs, all in a
// hidden directory renamed into place at the end.
func (c *Container) Create(o CreateOptions) (err error) {
	if err := checkCreateName(c.Name); err != nil {
		return err
	}
	if o.Template == "" {
		return ErrNoTemplate
	}
	if c.Defined() {
		return &ErrExists{Name: c.Name}
	}
	lock, err := c.reserveName()
	if err != nil {
		return err
	}
	defer lock.Release()
	defer func() {
		if err != nil && !c.Defined() {
			lock.remove()
		}
	}()
	script, err := findTemplate(o.Template, o.TemplateDirs)
	if err != nil {
		return err
	}
	seed, seedCfg, err := seedConfig(o.ConfigFile, o.Warn)
	if err != nil {
		return err
	}
	if script == "" {
		// Nothing will build a rootfs: the config must name one. Checked
		// before anything is made.
		if err := checkOwnRootfs(seedCfg); err != nil {
			return err
		}
	}
	maps, err := idMaps(seedCfg)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.LXCPath, 0o755); err != nil {
		return fmt.Errorf("make lxcpath %s: %w", c.LXCPath, err)
	}
	if script != "" && len(seedCfg.IDMap) > 0 {
		if err := searchableBy(c.LXCPath, maps); err != nil {
			return err
		}
	}
	sweepStale(c.LXCPath, c.Name)
	work, err := makeWorkDir(c.LXCPath, "."+c.Name+creatingInfix)
	if err != nil {
		return fmt.Errorf("make container directory in %s: %w", c.LXCPath, err)
	}
	// Locked until it is renamed into place or removed: no sweep takes it
	// from under the template.
	defer func() {
		if err != nil {
			_ = work.remove()
		}
		work.release()
	}()
	tmp := work.path
	if err := os.Chmod(tmp, 0o770); err != nil {
		return fmt.Errorf("chmod %s: %w", tmp, err)
	}
	text := seed
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	var rootfsID unix.Stat_t
	if o.Store != "" && o.Store != storage.Dir && script == "" {
		return fmt.Errorf("-B %s: with -t none the config names the rootfs: nothing to make", o.Store)
	}
	if script != "" {
		text += "lxc.rootfs.path = dir:" + filepath.Join(c.Dir(), "rootfs") + "\n"
		if o.Store == storage.Btrfs {
			if !storage.OnBtrfs(tmp) {
				return fmt.Errorf("-B btrfs: %s is not on a btrfs filesystem", c.LXCPath)
			}
			if err := storage.CreateSubvolume(filepath.Join(tmp, "rootfs")); err != nil {
				return err
			}
		} else if err := os.Mkdir(filepath.Join(tmp, "rootfs"), 0o755); err != nil {
			return fmt.Errorf("make rootfs dir: %w", err)
		}
		if err := unix.Lstat(filepath.Join(tmp, "rootfs"), &rootfsID); err != nil {
			return fmt.Errorf("make rootfs dir: %w", err)
		}
	}
	text += "lxc.uts.name = " + c.Name + "\n"
	cfgPath := filepath.Join(tmp, "config")
	if err := os.WriteFile(cfgPath, []byte(text), 0o640); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	if script != "" {
		run := func() error { return runTemplate(script, tmp, c.Name, o.TemplateArgs, maps) }
		if script == builtinOCI {
			run = func() error { return runOCITemplate(tmp, c.Name, o.TemplateArgs, maps, o.Warn) }
		}
		if err := run(); err != nil {
			return err
		}
		// The rootfs is still the directory made for it: a template run
		// as the mapped root could have put a link to a host tree in its
		// place, which a start would then mount (idmapped) as the root.
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(tmp, "rootfs"), &st); err != nil || st.Dev != rootfsID.Dev || st.Ino != rootfsID.Ino || st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return fmt.Errorf("template %s replaced the rootfs directory it was given", filepath.Base(script))
		}
		// The template saw the hidden directory; its config must name the
		// final one.
		b, err := os.ReadFile(cfgPath)
		if err != nil {
			return fmt.Errorf("read config after template: %w", err)
		}
		if fixed := strings.ReplaceAll(string(b), tmp, c.Dir()); fixed != string(b) {
			if err := os.WriteFile(cfgPath, []byte(fixed), 0o640); err != nil {
				return fmt.Errorf("write config: %w", err)
			}
		}
	}
	if script != "" && (o.Store == storage.Btrfs || o.Store == storage.Loop) {
		if err := storeRootfs(tmp, c.Dir(), cfgPath, o); err != nil {
			return err
		}
	}
	// hwaddr templates (00:16:3e:xx:xx:xx) become one address, once, in
	// the container's own config (lxc.container.conf(5)).
	if err := config.FillHwaddrsFile(cfgPath); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return fmt.Errorf("the new config is not valid: %w", err)
	}
	if len(maps.UID) > 0 {
		// The template ran as the mapped root: the id map it was given
		// is the one the container keeps.
		if now, err := idMaps(cfg); err != nil || !slices.Equal(now.UID, maps.UID) || !slices.Equal(now.GID, maps.GID) {
			return errors.New("the template changed lxc.idmap")
		}
	}
	if script == "" {
		// The config as written (lxc.include and all) must still say so.
		if err := checkOwnRootfs(cfg); err != nil {
			return err
		}
	}
	if err := os.Rename(tmp, c.Dir()); err != nil {
		if errors.Is(err, os.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) {
			return &ErrExists{Name: c.Name}
		}
		return fmt.Errorf("move %s into place: %w", c.Name, err)
	}
	return nil
}

// reserveName takes the lock of c, a container about to be made (created
// or copied), and checks under it that the name is free: no config (an
// *ErrExists) and nothing at all at c.Dir(). Lstat, not Stat: a dangling
// symlink named like the container counts as taken and is never followed
// (a new container's directory would be renamed onto it, or a tool
// would make the target). On an error the lock is released, and its
// file removed unless it is an existing container's.
func (c *Container) reserveName() (*Lock, error) {
	lock, err := c.TryLock()
	if err == ErrLocked {
		return nil, fmt.Errorf("%s is being created, started or destroyed by another process", c.Name)
	}
	if err != nil {
		return nil, err
	}
	if c.Defined() {
		lock.Release()
		return nil, &ErrExists{Name: c.Name}
	}
	if _, err := os.Lstat(c.Dir()); err == nil {
		lock.remove()
		lock.Release()
		return nil, fmt.Errorf("%s already exists (a directory without a config: remove %s or choose another name)", c.Name, c.Dir())
	}
	return lock, nil
}

// ErrNoTemplate refuses a create without a template, as LXC's does: such a
// container has no rootfs, and its start would run on the host's.
var ErrNoTemplate = errors.New("a template must be specified; use -t none for a config that names its own rootfs")

// checkOwnRootfs is -t none's condition: the config names a directory
// rootfs that exists, since nothing will build one.
func checkOwnRootfs(cfg *config.Config) error {
	switch {
	case cfg.Rootfs.Raw == "":
		return errors.New("-t none: the config names no rootfs: set lxc.rootfs.path to an existing directory (in -f CONFIG or the default config)")
	case cfg.Rootfs.Path == "" || strings.Contains(cfg.Rootfs.Raw, ":") && !strings.HasPrefix(cfg.Rootfs.Raw, "dir:") && !strings.HasPrefix(cfg.Rootfs.Raw, "/"):
		return fmt.Errorf("lxc.rootfs.path %s: only directory rootfs (dir:) is supported yet", cfg.Rootfs.Raw)
	}
	st, err := os.Stat(cfg.Rootfs.Path)
	if err != nil {
		return fmt.Errorf("the rootfs %q does not exist (lxc.rootfs.path)", cfg.Rootfs.Path)
	}
	if !st.IsDir() {
		return fmt.Errorf("the rootfs %q is not a directory (lxc.rootfs.path)", cfg.Rootfs.Path)
	}
	return nil
}

// seedConfig is the text a new config starts from, and that text parsed:
// -f's file, or else the system config's lxc.default_config
// (lxc-create(1), lxc.system.conf(5)), which need not exist.
func seedConfig(file string, warn func(string)) (string, *config.Config, error) {
	explicit := file != ""
	if !explicit {
		sys, err := config.LoadSystem()
		if err != nil {
			return "", nil, err
		}
		file = sys.DefaultConfig
	}
	b, err := os.ReadFile(file)
	if err != nil {
		if !explicit && errors.Is(err, os.ErrNotExist) {
			return "", config.New(), nil
		}
		return "", nil, fmt.Errorf("read config %s: %w", file, err)
	}
	// Check it before building anything on it.
	cfg, err := config.Load(file)
	if err != nil {
		return "", nil, err
	}
	if warn != nil {
		for _, w := range cfg.Warnings {
			warn(w)
		}
	}
	return string(b), cfg, nil
}

// findTemplate resolves -t: a name under the template dirs (lxc-NAME) or an
// absolute path; "none" means no template.
func findTemplate(t string, dirs []string) (string, error) {
	switch {
	case t == "none":
		return "", nil
	case t == "":
		return "", ErrNoTemplate
	case t == "oci":
		return builtinOCI, nil
	case strings.HasPrefix(t, "/"):
		st, err := os.Stat(t)
		if err != nil {
			return "", fmt.Errorf("template %s: %w", t, err)
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			return "", fmt.Errorf("template %s is not an executable file", t)
		}
		return t, nil
	case strings.Contains(t, "/"):
		return "", fmt.Errorf("template %q: give a name or an absolute path", t)
	}
	for _, d := range dirs {
		p := filepath.Join(d, "lxc-"+t)
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown template %q (looked in %s)", t, strings.Join(dirs, ", "))
}

// runTemplate runs a template with LXC's calling convention. An interrupt
// stops it, and the create fails (and cleans up) as for any failure.
// With id maps (lxc.idmap) it runs as the container's root in a user
// namespace of those maps, as LXC's lxc-create does through
// lxc-usernsexec, so that what it makes belongs to the mapped ids.
func runTemplate(script, dir, name string, args []string, maps namespace.IDMaps) (err error) {
	// LXC 5.0.2's lxc-create passes these three as --opt=value, before
	// the user's options, and no LXC_* variables; golxc adds LXC_NAME,
	// LXC_PATH, LXC_ROOTFS_PATH and LXC_CONFIG_FILE (below), which a
	// template written for its hooks may read.
	cmd := exec.Command(script, append([]string{"--path=" + dir, "--name=" + name, "--rootfs=" + filepath.Join(dir, "rootfs")}, args...)...)
	user := len(maps.UID) > 0 && os.Geteuid() != 0
	if len(maps.UID) > 0 && !user {
		// err is the named result: the take-back's failure must fail
		// the create.
		var restore func() error
		restore, err = lendToMappedRoot(dir, maps)
		if err != nil {
			return err
		}
		defer func() {
			if rerr := restore(); rerr != nil && err == nil {
				err = rerr
			}
		}()
		cmd.SysProcAttr = maps.SpawnAttr()
		// In a pid namespace of its own: whatever it leaves running
		// (as the mapped root) dies with it, before the config and the
		// directory are taken back.
		cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWPID
	} else if !user {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	// A session of its own and no terminal of the caller's: a template
	// (run as the mapped root, or a script from anywhere) must not be
	// able to type into root's shell (TIOCSTI). (A user's template runs
	// as that user: its terminal is its own.)
	if cmd.SysProcAttr != nil {
		cmd.SysProcAttr.Setsid = true
		// And a mount namespace of its own (made private), as LXC runs
		// templates: what it mounts (debootstrap's /proc and /sys in the
		// tree it builds) goes with it, however it ends.
		cmd.SysProcAttr.Unshareflags |= syscall.CLONE_NEWNS
	}
	// A failing template's own last word becomes the one-line error; on
	// success whatever it said is passed on.
	var errOut tailbuf.Buffer
	cmd.Stdout, cmd.Stderr = writerOnly{os.Stdout}, &errOut
	cmd.Env = append(os.Environ(), "LXC_NAME="+name, "LXC_PATH="+dir, "LXC_ROOTFS_PATH="+filepath.Join(dir, "rootfs"), "LXC_CONFIG_FILE="+filepath.Join(dir, "config"))
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	start := cmd.Start
	if user {
		// A user cannot lend the directory to the mapped root with
		// chown: the template's namespace maps the user's own ids too,
		// so its root may write the user's directory and config, and
		// the user stage gives the rootfs to the mapped root.
		start = func() error {
			return namespace.StartMapped(cmd, maps.WithCaller(namespace.CurrentCaller()), []string{filepath.Join(dir, "rootfs")})
		}
	}
	if err := start(); err != nil {
		return fmt.Errorf("run template %s: %w", script, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			if last := errOut.LastLine(); last != "" {
				return fmt.Errorf("template %s failed: %s", filepath.Base(script), last)
			}
			return fmt.Errorf("template %s failed: %w", filepath.Base(script), err)
		}
		_, _ = os.Stderr.Write(errOut.Bytes())
		return nil
	case s := <-sigs:
		_ = cmd.Process.Kill()
		if cmd.SysProcAttr != nil && cmd.SysProcAttr.Setsid {
			// Its whole session: a debootstrap it started would go on
			// filling (and holding the lock of) a cache being given up.
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		<-done
		return fmt.Errorf("interrupted by %v", s)
	}
}

// writerOnly hides that a writer is a file, so that exec gives the child a
// pipe to it rather than the file (a terminal) itself.
type writerOnly struct{ io.Writer }
