package security

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// HostLSM says which Linux security modules a host runs, found as LXC
// finds them: AppArmor by its securityfs directory and its module's
// "enabled" parameter, SELinux by selinuxfs's enforce file.
type HostLSM struct {
	AppArmor bool
	// AppArmorMount: the kernel's AppArmor mediates mounts (without it a
	// path-based profile is easily walked around, lxc.apparmor.allow_incomplete).
	AppArmorMount bool
	// AppArmorProfiles are the loaded profiles' names (nil: not read).
	AppArmorProfiles []string
	SELinux          bool
}

// DetectLSM reads the host's security modules under root ("/" on a host;
// a fixture tree in tests).
func DetectLSM(root string) HostLSM {
	p := func(s string) string { return filepath.Join(root, s) }
	var h HostLSM
	if st, err := os.Stat(p("sys/kernel/security/apparmor")); err == nil && st.IsDir() {
		// The module's parameter says Y when the kernel runs it; a
		// kernel built with AppArmor but booted without it has the
		// directory of another LSM's securityfs only.
		b, err := os.ReadFile(p("sys/module/apparmor/parameters/enabled"))
		h.AppArmor = err == nil && strings.HasPrefix(string(b), "Y")
	}
	if h.AppArmor {
		_, err := os.Stat(p("sys/kernel/security/apparmor/features/mount"))
		h.AppArmorMount = err == nil
		h.AppArmorProfiles = loadedProfiles(p("sys/kernel/security/apparmor/profiles"))
	}
	if _, err := os.Stat(p("sys/fs/selinux/enforce")); err == nil {
		h.SELinux = true
	}
	return h
}

// loadedProfiles reads AppArmor's list of loaded profiles, one
// "NAME (MODE)" a line; nil when it cannot be read.
func loadedProfiles(path string) []string {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	names := []string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		line := s.Text()
		if i := strings.LastIndex(line, " ("); i > 0 {
			line = line[:i]
		}
		if line != "" {
			names = append(names, line)
		}
	}
	return names
}

// LSMConfig is what a container's config asks of the security modules:
// lxc.apparmor.* and lxc.selinux.*, and which of those keys hold a value
// (for the warning on a host without the module).
type LSMConfig struct {
	AppArmorProfile string
	AllowIncomplete bool
	AllowNesting    bool
	AppArmorRaw     []string
	SELinuxContext  string
	SELinuxKeyring  string
	AppArmorKeys    []string // the lxc.apparmor.* keys set
	SELinuxKeys     []string // the lxc.selinux.* keys set
}

// Label is what the exec of a container's init (or of an attached
// process) changes to; empty fields change nothing.
type Label struct {
	AppArmor string `json:"apparmor,omitempty"` // profile name
	SELinux  string `json:"selinux,omitempty"`  // exec context
	// Keyring is the context of the session keyring made for the
	// container (lxc.selinux.context.keyring).
	Keyring string `json:"keyring,omitempty"`
}

// Empty says the label changes nothing.
func (l Label) Empty() bool { return l == Label{} }

// DefaultAppArmorProfile is LXC's profile for a container when
// lxc.apparmor.profile is unset (on a kernel with cgroup namespaces).
const DefaultAppArmorProfile = "lxc-container-default-cgns"

// PlanLabel decides the label from the host's modules, the config, and
// the caller's current AppArmor label (current: "unconfined", a profile
// when golxc itself runs confined, e.g. nested). A module the host does
// not run is ignored with one warning naming the keys, as LXC ignores it;
// a value golxc cannot apply on a host that runs the module is refused.
func PlanLabel(h HostLSM, c LSMConfig, current string) (Label, []string, error) {
	var l Label
	var warnings []string
	if h.AppArmor {
		p, err := planAppArmor(h, c, current)
		if err != nil {
			return Label{}, nil, err
		}
		l.AppArmor = p
	} else if asksAppArmor(c) {
		warnings = append(warnings, strings.Join(c.AppArmorKeys, ", ")+" ignored: AppArmor is not enabled on this host")
	}
	if h.SELinux {
		if c.SELinuxContext != "" && c.SELinuxContext != "unconfined_t" {
			l.SELinux = c.SELinuxContext
		}
		l.Keyring = c.SELinuxKeyring
		if l.Keyring == "" {
			l.Keyring = l.SELinux
		}
	} else if c.SELinuxContext != "unconfined_t" && len(c.SELinuxKeys) > 0 {
		warnings = append(warnings, strings.Join(c.SELinuxKeys, ", ")+" ignored: SELinux is not enabled on this host")
	}
	return l, warnings, nil
}

// OCILabel is the label of an OCI process (runtime-spec
// process.apparmorProfile and process.selinuxLabel) on host h. A label
// for a module the host does not run, or an AppArmor profile it has not
// loaded, is refused: the process would run less confined than its
// config says.
func OCILabel(h HostLSM, apparmor, selinux string) (Label, error) {
	var l Label
	if apparmor != "" {
		switch {
		case !h.AppArmor:
			return Label{}, fmt.Errorf("process.apparmorProfile %q: AppArmor is not enabled on this host", apparmor)
		case apparmor != "unconfined" && h.AppArmorProfiles != nil && !contains(h.AppArmorProfiles, apparmor):
			return Label{}, fmt.Errorf("process.apparmorProfile %q: no such AppArmor profile is loaded", apparmor)
		}
		l.AppArmor = apparmor
	}
	if selinux != "" {
		if !h.SELinux {
			return Label{}, fmt.Errorf("process.selinuxLabel %q: SELinux is not enabled on this host", selinux)
		}
		l.SELinux, l.Keyring = selinux, selinux
	}
	return l, nil
}

// asksAppArmor says the config asks AppArmor for something a host
// without it does not give: unconfined and unchanged are what such a
// host gives anyway.
func asksAppArmor(c LSMConfig) bool {
	if len(c.AppArmorKeys) == 0 {
		return false
	}
	onlyProfile := len(c.AppArmorKeys) == 1 && c.AppArmorKeys[0] == "lxc.apparmor.profile"
	return !onlyProfile || c.AppArmorProfile != "unconfined" && c.AppArmorProfile != "unchanged"
}

func planAppArmor(h HostLSM, c LSMConfig, current string) (string, error) {
	profile := c.AppArmorProfile
	if c.AllowNesting || len(c.AppArmorRaw) > 0 || profile == "generated" {
		key := "lxc.apparmor.profile = generated"
		switch {
		case c.AllowNesting:
			key = "lxc.apparmor.allow_nesting"
		case len(c.AppArmorRaw) > 0:
			key = "lxc.apparmor.raw"
		}
		return "", fmt.Errorf("%s is not supported yet: golxc does not generate AppArmor profiles (load a profile and name it in lxc.apparmor.profile)", key)
	}
	confined := current != "" && current != "unconfined"
	switch profile {
	case "unchanged":
		return "", nil
	case "unconfined":
		if !confined {
			return "", nil
		}
		return profile, nil
	case "":
		if confined {
			// Already confined (nested): a profile of the outer
			// container's stays, as LXC keeps it.
			return "", nil
		}
		profile = DefaultAppArmorProfile
	}
	if !h.AppArmorMount && !c.AllowIncomplete {
		return "", errors.New("lxc.apparmor.profile " + profile + ": this kernel's AppArmor lacks mount restrictions (no features/mount), which a container profile needs to hold; set lxc.apparmor.allow_incomplete = 1 to start without them")
	}
	if h.AppArmorProfiles != nil && !contains(h.AppArmorProfiles, profile) {
		how := "lxc.apparmor.profile = " + profile
		if c.AppArmorProfile == "" {
			how = "LXC's default profile " + profile + " (lxc.apparmor.profile unset)"
		}
		return "", fmt.Errorf("%s: no such AppArmor profile is loaded (load it with apparmor_parser, or name another)", how)
	}
	return profile, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// CurrentAppArmor is the calling thread's AppArmor label under proc
// ("/proc" on a host), without its mode: "unconfined" when none.
func CurrentAppArmor(proc string) string {
	b, err := os.ReadFile(filepath.Join(proc, "thread-self/attr/apparmor/current"))
	if err != nil {
		if b, err = os.ReadFile(filepath.Join(proc, "thread-self/attr/current")); err != nil {
			return "unconfined"
		}
	}
	s := strings.TrimSpace(strings.TrimRight(string(b), "\x00"))
	if i := strings.LastIndex(s, " ("); i > 0 {
		s = s[:i]
	}
	if s == "" {
		return "unconfined"
	}
	return s
}

// ExecAttrs are the calling thread's attribute files that set what its
// next execve runs as, opened before the thread leaves the host's /proc
// (a container's own /proc, or none, is what it sees after): a write to
// them only counts from the thread they name, which must be the caller's
// locked thread that later execs or forks the process that does.
type ExecAttrs struct {
	appArmor, selinux, keycreate *os.File
}

// OpenExecAttrs opens what label l needs under proc ("/proc" on a host),
// on the calling thread (lock it first). AppArmor's own file
// (attr/apparmor/exec) is preferred to the shared attr/exec, which
// belongs to whichever module came first.
func OpenExecAttrs(proc string, l Label) (*ExecAttrs, error) {
	a := &ExecAttrs{}
	open := func(rel ...string) (*os.File, error) {
		var first error
		for _, r := range rel {
			p := filepath.Join(proc, "thread-self/attr", r)
			f, err := os.OpenFile(p, os.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err == nil {
				return f, nil
			}
			if first == nil {
				first = err
			}
		}
		return nil, first
	}
	var err error
	if l.AppArmor != "" {
		if a.appArmor, err = open("apparmor/exec", "exec"); err != nil {
			return nil, fmt.Errorf("AppArmor profile %s: %w", l.AppArmor, err)
		}
	}
	if l.SELinux != "" {
		if a.selinux, err = open("exec"); err != nil {
			a.Close()
			return nil, fmt.Errorf("SELinux context %s: %w", l.SELinux, err)
		}
	}
	if l.Keyring != "" {
		if a.keycreate, err = open("keycreate"); err != nil {
			a.Close()
			return nil, fmt.Errorf("SELinux keyring context %s: %w", l.Keyring, err)
		}
	}
	return a, nil
}

// SetExec writes l: the next execve of the thread that opened a (or of a
// process it forks) runs under the AppArmor profile and the SELinux
// context, and keys it makes get the keyring context. The thread must be
// the one that opened the files.
func (a *ExecAttrs) SetExec(l Label) error {
	if a.appArmor != nil {
		if _, err := a.appArmor.Write([]byte("exec " + l.AppArmor)); err != nil {
			return fmt.Errorf("set AppArmor profile %s for the exec: %w", l.AppArmor, err)
		}
	}
	if a.selinux != nil {
		if _, err := a.selinux.Write([]byte(l.SELinux)); err != nil {
			return fmt.Errorf("set SELinux context %s for the exec: %w", l.SELinux, err)
		}
	}
	if a.keycreate != nil {
		if _, err := a.keycreate.Write([]byte(l.Keyring)); err != nil {
			return fmt.Errorf("set SELinux keyring context %s: %w", l.Keyring, err)
		}
	}
	return nil
}

// Close closes the files.
func (a *ExecAttrs) Close() {
	for _, f := range []*os.File{a.appArmor, a.selinux, a.keycreate} {
		if f != nil {
			f.Close()
		}
	}
}

// InitLabel is the label a process attached to a running container gets:
// its init's own, read through read (a file of the init's /proc/PID
// directory), as LXC's lxc-attach takes it. Nothing for an unconfined
// init or a host without the module.
func InitLabel(h HostLSM, read func(name string) ([]byte, error)) (Label, error) {
	clean := func(b []byte) string {
		s := strings.TrimSpace(strings.TrimRight(string(b), "\x00"))
		if i := strings.LastIndex(s, " ("); i > 0 {
			s = s[:i]
		}
		return s
	}
	var l Label
	switch {
	case h.AppArmor:
		b, err := read("attr/apparmor/current")
		if err != nil {
			if b, err = read("attr/current"); err != nil {
				return Label{}, fmt.Errorf("read the AppArmor profile of the container's init: %w", err)
			}
		}
		if p := clean(b); p != "unconfined" && p != "" {
			l.AppArmor = p
		}
	case h.SELinux:
		b, err := read("attr/current")
		if err != nil {
			return Label{}, fmt.Errorf("read the SELinux context of the container's init: %w", err)
		}
		l.SELinux = clean(b)
	}
	return l, nil
}
