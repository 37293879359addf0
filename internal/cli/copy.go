package cli

import (
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/golxc/golxc/internal/lxc"
	"github.com/golxc/golxc/internal/storage"
)

type copyCmd struct {
	common
	newName, newPath, store, fssize       string
	snapshot, allowRun, keepName, keepMAC bool
	keepData, rename, ephemeral, tmpfs    bool
	foreground                            bool
	mounts                                []string
}

func newCopy() *cobra.Command {
	c := &copyCmd{}
	cmd := &cobra.Command{
		Use:   "-n NAME -N NEWNAME [-p NEWPATH] [-s] [-B STORE] [-K] [-M] [-a] [-L SIZE] [-R] [-e [-D] [-F|-d] [-m MOUNTS]] [-- HOOK-ARGS]",
		Short: "copy a container",
		Long:  "Copy container NAME to NEWNAME: a full copy of its rootfs (ownership, modes, xattrs, hardlinks, device nodes and holes kept), or with -s a copy-on-write snapshot (overlay over a dir rootfs, a btrfs snapshot of a btrfs one). The copy gets new MAC addresses (unless -M) and its name as host name (unless -K). -R renames instead. -e makes an ephemeral overlay copy and starts it: it is destroyed when it stops (-D keeps it).",
		Args:  cobra.ArbitraryArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return c.run(cmd, args) },
	}
	c.register(cmd, true)
	f := cmd.Flags()
	f.StringVarP(&c.newName, "newname", "N", "", "name of the copy")
	f.StringVarP(&c.newPath, "newpath", "p", "", "lxcpath of the copy")
	f.StringVarP(&c.store, "backingstorage", "B", "", "backing store of the copy: dir, overlay, btrfs or loop")
	f.StringVarP(&c.fssize, "fssize", "L", "", "size of a loop image (default 1G)")
	f.BoolVarP(&c.snapshot, "snapshot", "s", false, "copy-on-write snapshot (overlay or btrfs)")
	f.BoolVarP(&c.allowRun, "allowrunning", "a", false, "copy a running container")
	f.BoolVarP(&c.keepName, "keepname", "K", false, "keep the host name (lxc.uts.name)")
	f.BoolVarP(&c.keepMAC, "keepmac", "M", false, "keep the MAC addresses")
	f.BoolVarP(&c.keepData, "keepdata", "D", false, "with -e: a copy that is not ephemeral")
	f.BoolVarP(&c.rename, "rename", "R", false, "rename the container")
	f.BoolVarP(&c.ephemeral, "ephemeral", "e", false, "start an ephemeral overlay copy")
	f.BoolVarP(&c.tmpfs, "tmpfs", "t", false, "with -e: the overlay's upper layer on a tmpfs (what the container writes stays in memory)")
	f.BoolVarP(&c.foreground, "foreground", "F", false, "with -e: on this terminal")
	f.BoolP("daemon", "d", false, "with -e: in the background (the default)")
	f.StringArrayVarP(&c.mounts, "mount", "m", nil, "with -e: bind=SRC[:DST][:ro|rw] and overlay=SRC[:DST] mounts, comma-separated")
	return cmd
}

func (c *copyCmd) run(cmd *cobra.Command, args []string) error {
	var hookArgs []string
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		hookArgs = args[dash:]
		args = args[:dash]
	}
	src, err := c.container(args)
	if err != nil {
		return err
	}
	if !src.Defined() {
		return c.fail(fmt.Errorf("Container %s is not defined", src.Name)) //nolint:staticcheck // LXC's message
	}
	if c.newName == "" && !c.ephemeral {
		return c.fail(errors.New("no new name given (-N NEWNAME)"))
	}
	// -D, -F and -d mean nothing without -e and are ignored, as by
	// LXC's; mounts would be lost, so -m and -t are refused.
	if !c.ephemeral && (len(c.mounts) > 0 || c.tmpfs) {
		return c.fail(errors.New("-m and -t go only with -e"))
	}
	if c.rename {
		if c.newPath != "" && c.newPath != c.lxcpath {
			return c.fail(errors.New("-R with -p (a rename into another lxcpath) is not supported yet"))
		}
		_, err := src.Rename(c.newName)
		return c.fail(err)
	}
	o := lxc.CopyOptions{NewName: c.newName, NewPath: c.newPath, Snapshot: c.snapshot, KeepName: c.keepName,
		KeepMAC: c.keepMAC, AllowRun: c.allowRun, HookArgs: hookArgs, CloneHooks: lxc.HookRunner{}}
	if c.store != "" {
		if o.Store, err = storage.ParseKind(c.store); err != nil {
			return c.fail(err)
		}
	}
	if c.fssize != "" {
		if o.FSSize, err = storage.ParseSize(c.fssize); err != nil {
			return c.fail(fmt.Errorf("-L: %w", err))
		}
	}
	if c.ephemeral {
		if o.Store != "" && o.Store != storage.Overlay {
			return c.fail(fmt.Errorf("-e: an ephemeral copy is an overlay, not %s", o.Store))
		}
		o.Store, o.Snapshot, o.Ephemeral, o.TmpfsUpper = storage.Overlay, true, !c.keepData, c.tmpfs
		if o.NewName == "" {
			o.NewName = src.Name + "_" + randomSuffix()
		}
		newPath := c.newPath
		if newPath == "" {
			newPath = src.LXCPath
		}
		if o.MountEntries, o.MountDirs, err = ephemeralMounts(c.mounts, filepath.Join(newPath, o.NewName)); err != nil {
			return c.fail(err)
		}
	}
	dst, err := src.Copy(o)
	if err != nil {
		return c.fail(err)
	}
	if !c.ephemeral {
		return nil
	}
	if !c.quiet {
		// LXC's words, "clone" for an overlay copy too.
		fmt.Printf("Created %s as clone of %s\n", dst.Name, src.Name)
	}
	cfg, err := dst.LoadConfig("", nil)
	if err == nil {
		var code int
		code, err = dst.Start(cfg, lxc.StartOptions{Foreground: c.foreground, LogFile: c.logfile, LogLevel: c.logLevel(cmd)})
		if err == nil && code != 0 {
			return &exitError{code: code}
		}
	}
	if err != nil {
		// An ephemeral copy that cannot start goes, as its stop would
		// remove it; a kept one (-D) stays, said so.
		if dst.Defined() {
			if c.keepData {
				fmt.Fprintf(os.Stderr, "lxc-copy: %s was made but did not start\n", dst.Name)
			} else {
				_ = dst.Destroy(true)
			}
		}
		return c.fail(err)
	}
	return nil
}

// ephemeralMounts turns -m's bind=SRC[:DST][:ro|rw] and
// overlay=SRC[:DST] into lxc.mount.entry lines (DST inside the container,
// SRC's path when not given). An overlay mount's upper and work
// directories are in the copy's directory dir (made by the copy): its
// changes go with the ephemeral container.
func ephemeralMounts(opts []string, dir string) (entries, dirs []string, err error) {
	for _, o := range opts {
		for _, m := range strings.Split(o, ",") {
			kind, spec, ok := strings.Cut(m, "=")
			if !ok {
				return nil, nil, fmt.Errorf("-m %s: want bind=SRC[:DST][:ro|rw] or overlay=SRC[:DST]", m)
			}
			if kind != "bind" && kind != "overlay" {
				return nil, nil, fmt.Errorf("-m %s: unknown mount type %q (bind, overlay)", m, kind)
			}
			parts := strings.Split(spec, ":")
			mode := "rw"
			if n := len(parts); kind == "bind" && n > 1 && (parts[n-1] == "ro" || parts[n-1] == "rw") {
				mode, parts = parts[n-1], parts[:n-1]
			}
			if len(parts) == 0 || len(parts) > 2 || !filepath.IsAbs(parts[0]) || strings.ContainsAny(spec, " \t\n") {
				return nil, nil, fmt.Errorf("-m %s: want %s=SRC[:DST] with absolute paths without blanks", m, kind)
			}
			src, dst := filepath.Clean(parts[0]), filepath.Clean(parts[0])
			if len(parts) == 2 {
				if !filepath.IsAbs(parts[1]) {
					return nil, nil, fmt.Errorf("-m %s: DST must be an absolute path", m)
				}
				dst = filepath.Clean(parts[1])
			}
			st, err := os.Stat(src)
			if err != nil {
				return nil, nil, fmt.Errorf("-m %s: %w", m, err)
			}
			if kind == "overlay" {
				if !st.IsDir() {
					return nil, nil, fmt.Errorf("-m %s: an overlay's SRC must be a directory", m)
				}
				// overlay's options are comma-separated key=value pairs.
				if strings.ContainsAny(src+dir, ",=") {
					return nil, nil, fmt.Errorf("-m %s: a path with ',' or '=' cannot be an overlay's option", m)
				}
				top := filepath.Join(dir, "mounts", strconv.Itoa(len(dirs)/2))
				upper, work := filepath.Join(top, "delta"), filepath.Join(top, "work")
				dirs = append(dirs, upper, work)
				entries = append(entries, fmt.Sprintf("overlay %s overlay lowerdir=%s,upperdir=%s,workdir=%s,create=dir 0 0", strings.TrimPrefix(dst, "/"), src, upper, work))
				continue
			}
			create := "create=dir"
			if !st.IsDir() {
				create = "create=file"
			}
			opt := "bind," + create
			if mode == "ro" {
				opt += ",ro"
			}
			entries = append(entries, fmt.Sprintf("%s %s none %s 0 0", src, strings.TrimPrefix(dst, "/"), opt))
		}
	}
	return entries, dirs, nil
}

// randomSuffix is six characters for an ephemeral copy's name (NAME_XXXXXX
// as LXC's).
func randomSuffix() string {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = chars[int(b[i])%len(chars)]
	}
	return string(b)
}
