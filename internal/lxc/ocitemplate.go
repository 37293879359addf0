package lxc

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/golxc/golxc/internal/config"
	"github.com/golxc/golxc/internal/image"
	"github.com/golxc/golxc/internal/namespace"
)

// builtinOCI is what findTemplate returns for -t oci: golxc's own
// importer, in Go, in place of LXC's lxc-oci (which needs skopeo and
// umoci). An absolute path to LXC's script still runs the script.
const builtinOCI = "builtin:oci"

// lxcTemplateConfig is where LXC's distribution configs are; LXC's oci
// template includes common.conf, userns.conf (for a mapped container)
// and oci.common.conf from there when they exist.
const lxcTemplateConfig = "/usr/share/lxc/config"

const ociUsage = "oci template options: --url oci:DIR[:TAG] | oci-archive:FILE[:TAG] | docker-archive:FILE[:NAME:TAG] [--no-cache]"

// ociOptions are the oci template's options (LXC's lxc-oci's, less the
// registry's).
type ociOptions struct {
	url string
}

func parseOCIArgs(args []string) (ociOptions, error) {
	var o ociOptions
	takesValue := map[string]bool{"-u": true, "--url": true, "--username": true, "--password": true, "--mapped-uid": true, "--mapped-gid": true}
	for i := 0; i < len(args); i++ {
		a := args[i]
		name, value, hasValue := strings.Cut(a, "=")
		if takesValue[name] && !hasValue {
			if i+1 >= len(args) {
				return o, fmt.Errorf("oci template: %s needs a value (%s)", name, ociUsage)
			}
			i++
			value = args[i]
		} else if !takesValue[name] {
			name = a
		}
		switch name {
		case "-u", "--url":
			o.url = value
		case "--username", "--password":
			return o, fmt.Errorf("oci template: %s is for a registry, which the built-in oci template does not reach (local images only)", name)
		case "--no-cache":
			// Nothing is downloaded, so nothing is cached.
		case "--dhcp":
			return o, errors.New("oci template: --dhcp needs lxc.hook.start-host, which golxc does not run yet")
		case "--mapped-uid", "--mapped-gid":
			// LXC's internal options: the config's lxc.idmap decides.
		case "-h", "--help":
			return o, errors.New(ociUsage)
		default:
			return o, fmt.Errorf("oci template: unknown option %q (%s)", a, ociUsage)
		}
	}
	if o.url == "" {
		return o, fmt.Errorf("oci template: no image given (%s)", ociUsage)
	}
	return o, nil
}

// runOCITemplate imports the image that args name into dir/rootfs and
// appends to dir/config what LXC's oci template writes: the image's
// command, environment, user and working directory, and its includes.
func runOCITemplate(dir, name string, args []string, maps namespace.IDMaps, warn func(string)) error {
	o, err := parseOCIArgs(args)
	if err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return errors.New("oci template: importing an image needs root (it sets the owners the image records)")
	}
	ref, err := image.ParseRef(o.url)
	if err != nil {
		return err
	}
	img, err := image.Open(ref)
	if err != nil {
		return err
	}
	defer img.Close()

	var shift image.IDShift
	if len(maps.UID) > 0 {
		shift = func(uid, gid int) (int, int, error) {
			hu, ok := namespace.HostID(maps.UID, uint32(uid))
			if !ok {
				return 0, 0, fmt.Errorf("uid %d is outside lxc.idmap", uid)
			}
			hg, ok := namespace.HostID(maps.GID, uint32(gid))
			if !ok {
				return 0, 0, fmt.Errorf("gid %d is outside lxc.idmap", gid)
			}
			return int(hu), int(hg), nil
		}
	}
	rootfs := filepath.Join(dir, "rootfs")
	if shift != nil {
		uid, gid, err := shift(0, 0)
		if err != nil {
			return err
		}
		if err := os.Lchown(rootfs, uid, gid); err != nil {
			return fmt.Errorf("give the rootfs to the container's root: %w", err)
		}
	}
	u, err := image.NewUnpacker(rootfs, shift)
	if err != nil {
		return err
	}
	defer u.Close()
	// An interrupt stops the import, and the create cleans up, as for
	// a template script.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	u.Interrupted = func() error {
		select {
		case s := <-sigs:
			return fmt.Errorf("interrupted by %v", s)
		default:
			return nil
		}
	}
	if err := img.Unpack(u); err != nil {
		return err
	}
	if u.SkippedDevices > 0 && warn != nil {
		warn(fmt.Sprintf("oci template: %d device nodes not made: a container with lxc.idmap gets none from its image (its root could not make them either)", u.SkippedDevices))
	}
	if u.Skipped > 0 && warn != nil {
		warn(fmt.Sprintf("oci template: %d extended attributes not kept (only user.* and security.capability are; first: %s)", u.Skipped, u.FirstSkipped))
	}

	ic := img.Config.Config
	command := slices.Concat(ic.Entrypoint, ic.Cmd)
	if len(command) == 0 {
		command = []string{"/bin/sh"}
	}
	uid, gid, err := u.ResolveUser(ic.User)
	if err != nil {
		return err
	}
	cwd := ic.WorkingDir
	if cwd == "" {
		cwd = "/"
	}
	var env []string
	for _, e := range ic.Env {
		k, _, ok := strings.Cut(e, "=")
		if !ok || k == "" {
			return fmt.Errorf("image config: Env entry %q is not NAME=VALUE", e)
		}
		env = append(env, e)
	}
	// Every value goes into a line of the config: a line break in one
	// would add keys of the image's choosing (a hook run as root).
	for _, v := range slices.Concat(command, env, []string{cwd}) {
		if strings.ContainsAny(v, "\n\r\x00") {
			return fmt.Errorf("image config: %q holds a line break or NUL, which a config line cannot", v)
		}
	}

	doc := config.ParseDocument(nil)
	doc.Append("lxc.execute.cmd", config.QuoteWords(command))
	doc.Append("lxc.mount.auto", "proc:mixed sys:mixed cgroup:mixed")
	for _, e := range env {
		doc.Append("lxc.environment", e)
	}
	includes := []string{"common.conf"}
	if len(maps.UID) > 0 {
		includes = append(includes, "userns.conf")
	}
	includes = append(includes, "oci.common.conf")
	for _, inc := range includes {
		p := filepath.Join(lxcTemplateConfig, inc)
		if _, err := os.Stat(p); err == nil {
			doc.Append("lxc.include", p)
		}
	}
	doc.Append("lxc.init.uid", strconv.Itoa(uid))
	doc.Append("lxc.init.gid", strconv.Itoa(gid))
	doc.Append("lxc.init.cwd", cwd)

	cfgPath := filepath.Join(dir, "config")
	f, err := os.OpenFile(cfgPath, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	_, err = f.Write(doc.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	// What a start will read back must be what the image says.
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return fmt.Errorf("the new config is not valid: %w", err)
	}
	if !slices.Equal(cfg.ExecuteCmd, command) {
		return fmt.Errorf("image command %q does not read back from the config (%q)", command, cfg.ExecuteCmd)
	}

	if err := u.WriteFile("etc/hostname", []byte(name+"\n"), 0o644); err != nil {
		return err
	}
	hosts := "127.0.0.1\tlocalhost\n127.0.1.1\t" + name + "\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nff00::0\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n"
	return u.WriteFile("etc/hosts", []byte(hosts), 0o644)
}
