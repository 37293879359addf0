package rootfs

import (
	"strings"

	"golang.org/x/sys/unix"
)

// Options is a mount option list (fstab(5) style) split into what mount(2)
// takes and what golxc itself acts on.
type Options struct {
	Flags       uintptr // MS_* flags to set
	Propagation uintptr // MS_PRIVATE, MS_SLAVE ... applied after the mount, 0 for none
	Data        string  // the filesystem-specific rest, comma separated
	CreateDir   bool    // create=dir: make the target directory first
	CreateFile  bool    // create=file: make the target as an empty file first
	Optional    bool    // optional: a failure to mount is not an error
	Relative    bool    // relative: the source is a path inside the root
}

// flagOption says what a known option does to the MS_* flags.
type flagOption struct {
	clear bool
	flag  uintptr
}

var mountFlags = map[string]flagOption{
	"defaults":      {false, 0},
	"ro":            {false, unix.MS_RDONLY},
	"rw":            {true, unix.MS_RDONLY},
	"suid":          {true, unix.MS_NOSUID},
	"nosuid":        {false, unix.MS_NOSUID},
	"dev":           {true, unix.MS_NODEV},
	"nodev":         {false, unix.MS_NODEV},
	"exec":          {true, unix.MS_NOEXEC},
	"noexec":        {false, unix.MS_NOEXEC},
	"sync":          {false, unix.MS_SYNCHRONOUS},
	"async":         {true, unix.MS_SYNCHRONOUS},
	"dirsync":       {false, unix.MS_DIRSYNC},
	"remount":       {false, unix.MS_REMOUNT},
	"mand":          {false, unix.MS_MANDLOCK},
	"nomand":        {true, unix.MS_MANDLOCK},
	"atime":         {true, unix.MS_NOATIME},
	"noatime":       {false, unix.MS_NOATIME},
	"diratime":      {true, unix.MS_NODIRATIME},
	"nodiratime":    {false, unix.MS_NODIRATIME},
	"bind":          {false, unix.MS_BIND},
	"rbind":         {false, unix.MS_BIND | unix.MS_REC},
	"relatime":      {false, unix.MS_RELATIME},
	"norelatime":    {true, unix.MS_RELATIME},
	"strictatime":   {false, unix.MS_STRICTATIME},
	"nostrictatime": {true, unix.MS_STRICTATIME},
	"lazytime":      {false, unix.MS_LAZYTIME},
	"silent":        {false, unix.MS_SILENT},
	"loud":          {true, unix.MS_SILENT},
}

var propagationFlags = map[string]uintptr{
	"private":     unix.MS_PRIVATE,
	"rprivate":    unix.MS_PRIVATE | unix.MS_REC,
	"slave":       unix.MS_SLAVE,
	"rslave":      unix.MS_SLAVE | unix.MS_REC,
	"shared":      unix.MS_SHARED,
	"rshared":     unix.MS_SHARED | unix.MS_REC,
	"unbindable":  unix.MS_UNBINDABLE,
	"runbindable": unix.MS_UNBINDABLE | unix.MS_REC,
}

// ParseOptions splits a mount option list as lxc.mount.entry and OCI
// mounts write it.
func ParseOptions(opts []string) Options {
	var o Options
	var data []string
	for _, opt := range opts {
		opt = strings.TrimSpace(opt)
		if opt == "" {
			continue
		}
		if f, ok := mountFlags[opt]; ok {
			if f.clear {
				o.Flags &^= f.flag
			} else {
				o.Flags |= f.flag
			}
			continue
		}
		if p, ok := propagationFlags[opt]; ok {
			o.Propagation |= p
			continue
		}
		switch opt {
		case "create=dir":
			o.CreateDir = true
		case "create=file":
			o.CreateFile = true
		case "optional":
			o.Optional = true
		case "relative":
			o.Relative = true
		default:
			data = append(data, opt)
		}
	}
	o.Data = strings.Join(data, ",")
	return o
}
