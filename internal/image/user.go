package image

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/golxc/golxc/internal/storage"
	"golang.org/x/sys/unix"
)

// ResolveUser turns an image config's User ("user", "user:group", numeric
// or by name, "" for root) into ids, reading the unpacked root's
// /etc/passwd and /etc/group inside it (a link there stays inside). With
// no group, the user's primary group from /etc/passwd, or 0 for a
// numeric uid it does not list.
func (u *Unpacker) ResolveUser(spec string) (uid, gid int, err error) {
	user, group, hasGroup := strings.Cut(spec, ":")
	if user == "" {
		user = "0"
	}
	var passwd [][]string
	loadPasswd := func() error {
		if passwd != nil {
			return nil
		}
		passwd, err = u.readColonFile("etc/passwd")
		return err
	}
	if n, err := strconv.Atoi(user); err == nil && n >= 0 {
		uid = n
	} else {
		if err := loadPasswd(); err != nil {
			return 0, 0, fmt.Errorf("image user %q: %w", spec, err)
		}
		found := false
		for _, f := range passwd {
			if len(f) >= 4 && f[0] == user {
				if uid, err = strconv.Atoi(f[2]); err != nil {
					return 0, 0, fmt.Errorf("image user %q: /etc/passwd: bad uid %q", spec, f[2])
				}
				found = true
				break
			}
		}
		if !found {
			return 0, 0, fmt.Errorf("image user %q: no user %q in the image's /etc/passwd", spec, user)
		}
	}
	switch {
	case hasGroup && group != "":
		if n, err := strconv.Atoi(group); err == nil && n >= 0 {
			return uid, n, nil
		}
		groups, err := u.readColonFile("etc/group")
		if err != nil {
			return 0, 0, fmt.Errorf("image user %q: %w", spec, err)
		}
		for _, f := range groups {
			if len(f) >= 3 && f[0] == group {
				if gid, err = strconv.Atoi(f[2]); err != nil {
					return 0, 0, fmt.Errorf("image user %q: /etc/group: bad gid %q", spec, f[2])
				}
				return uid, gid, nil
			}
		}
		return 0, 0, fmt.Errorf("image user %q: no group %q in the image's /etc/group", spec, group)
	default:
		if err := loadPasswd(); err != nil && !errors.Is(err, unix.ENOENT) {
			return 0, 0, fmt.Errorf("image user %q: %w", spec, err)
		}
		for _, f := range passwd {
			if len(f) >= 4 && f[2] == strconv.Itoa(uid) {
				if gid, err = strconv.Atoi(f[3]); err != nil {
					return 0, 0, fmt.Errorf("image user %q: /etc/passwd: bad gid %q", spec, f[3])
				}
				return uid, gid, nil
			}
		}
		return uid, 0, nil
	}
}

// readColonFile reads a passwd-style file of the root (at most 4 MiB) as
// fields.
func (u *Unpacker) readColonFile(rel string) ([][]string, error) {
	fd, err := u.root.OpenRegular(rel)
	if err != nil {
		return nil, err
	}
	f := fdFile(fd, rel)
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("read /%s in the rootfs: %w", rel, err)
	}
	var out [][]string
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, strings.Split(line, ":"))
		}
	}
	return out, sc.Err()
}

// WriteFile replaces rel in the root with a regular file holding data,
// owned by the root's root: whatever the image had there (a link to a
// host file among them) is removed, never written through.
func (u *Unpacker) WriteFile(rel string, data []byte, mode uint32) error {
	rel, err := cleanName(rel)
	if err != nil || rel == "" {
		return fmt.Errorf("write %q in the rootfs: bad path", rel)
	}
	dir, base := splitRel(rel)
	pfd, err := u.parentDir(dir)
	if err != nil {
		return fmt.Errorf("write /%s: %w", rel, err)
	}
	defer unix.Close(pfd)
	if err := storage.RemoveAt(pfd, base, "/"+dir); err != nil {
		return fmt.Errorf("write /%s: %w", rel, err)
	}
	fd, err := unix.Openat(pfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return fmt.Errorf("create /%s in the rootfs: %w", rel, err)
	}
	f := fdFile(fd, rel)
	defer f.Close()
	uid, gid, err := u.shift(0, 0)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("write /%s in the rootfs: %w", rel, err)
	}
	if err := unix.Fchown(fd, uid, gid); err != nil {
		return fmt.Errorf("chown /%s in the rootfs: %w", rel, err)
	}
	if err := unix.Fchmod(fd, mode); err != nil {
		return fmt.Errorf("chmod /%s in the rootfs: %w", rel, err)
	}
	return nil
}
