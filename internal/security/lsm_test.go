package security

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// fixture makes a host tree under a temp dir: files maps relative paths
// to contents ("/" at the end: a directory).
func fixture(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, c := range files {
		full := filepath.Join(root, p)
		if strings.HasSuffix(p, "/") {
			if err := os.MkdirAll(full, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

// TestDetectLSM: AppArmor needs its securityfs directory and the module
// enabled; its mount feature and loaded profiles are read; SELinux is its
// enforce file.
func TestDetectLSM(t *testing.T) {
	aa := map[string]string{
		"sys/kernel/security/apparmor/features/mount/mask": "mount umount",
		"sys/module/apparmor/parameters/enabled":           "Y\n",
		"sys/kernel/security/apparmor/profiles":            "lxc-container-default-cgns (enforce)\n/usr/bin/man (enforce)\nmy profile (complain)\n",
	}
	tests := []struct {
		name  string
		files map[string]string
		want  HostLSM
	}{
		{"none", map[string]string{"sys/kernel/security/": ""}, HostLSM{}},
		{"apparmor", aa, HostLSM{AppArmor: true, AppArmorMount: true, AppArmorProfiles: []string{"lxc-container-default-cgns", "/usr/bin/man", "my profile"}}},
		{"apparmor disabled", map[string]string{"sys/kernel/security/apparmor/": "", "sys/module/apparmor/parameters/enabled": "N\n"}, HostLSM{}},
		{"apparmor without mount", map[string]string{"sys/kernel/security/apparmor/": "", "sys/module/apparmor/parameters/enabled": "Y\n"}, HostLSM{AppArmor: true}},
		{"selinux", map[string]string{"sys/fs/selinux/enforce": "1"}, HostLSM{SELinux: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DetectLSM(fixture(t, tt.files))
			if got.AppArmor != tt.want.AppArmor || got.AppArmorMount != tt.want.AppArmorMount || got.SELinux != tt.want.SELinux ||
				!slices.Equal(got.AppArmorProfiles, tt.want.AppArmorProfiles) {
				t.Fatalf("DetectLSM = %+v, want %+v", got, tt.want)
			}
		})
	}
}

// TestPlanLabel is the decision table: which label an exec gets, which
// warning a host without the module gives, which value is refused.
func TestPlanLabel(t *testing.T) {
	aa := HostLSM{AppArmor: true, AppArmorMount: true, AppArmorProfiles: []string{DefaultAppArmorProfile, "mine"}}
	se := HostLSM{SELinux: true}
	prof := func(p string, keys ...string) LSMConfig {
		if len(keys) == 0 && p != "" {
			keys = []string{"lxc.apparmor.profile"}
		}
		return LSMConfig{AppArmorProfile: p, AppArmorKeys: keys}
	}
	tests := []struct {
		name    string
		host    HostLSM
		cfg     LSMConfig
		current string
		want    Label
		warn    []string
		err     string
	}{
		{name: "nothing, nothing set", cfg: LSMConfig{}},
		{name: "inactive: a profile is warned of once", cfg: LSMConfig{AppArmorProfile: "mine", AllowNesting: true, AppArmorKeys: []string{"lxc.apparmor.profile", "lxc.apparmor.allow_nesting"}},
			warn: []string{"lxc.apparmor.profile, lxc.apparmor.allow_nesting ignored: AppArmor is not enabled on this host"}},
		{name: "inactive: unconfined is what the host gives", cfg: prof("unconfined")},
		{name: "inactive: unchanged too", cfg: prof("unchanged")},
		{name: "inactive: generated is ignored", cfg: prof("generated"), warn: []string{"lxc.apparmor.profile ignored: AppArmor is not enabled on this host"}},
		{name: "active: unset is LXC's default", host: aa, current: "unconfined", want: Label{AppArmor: DefaultAppArmorProfile}},
		{name: "active: unset when nested keeps the profile", host: aa, current: "lxc-container-default-cgns", want: Label{}},
		{name: "active: named", host: aa, cfg: prof("mine"), current: "unconfined", want: Label{AppArmor: "mine"}},
		{name: "active: not loaded", host: aa, cfg: prof("theirs"), current: "unconfined",
			err: "lxc.apparmor.profile = theirs: no such AppArmor profile is loaded (load it with apparmor_parser, or name another)"},
		{name: "active: default not loaded", host: HostLSM{AppArmor: true, AppArmorMount: true, AppArmorProfiles: []string{}}, current: "unconfined",
			err: "LXC's default profile lxc-container-default-cgns (lxc.apparmor.profile unset): no such AppArmor profile is loaded (load it with apparmor_parser, or name another)"},
		{name: "active: unconfined when unconfined", host: aa, cfg: prof("unconfined"), current: "unconfined", want: Label{}},
		{name: "active: unconfined when confined", host: aa, cfg: prof("unconfined"), current: "mine", want: Label{AppArmor: "unconfined"}},
		{name: "active: unchanged", host: aa, cfg: prof("unchanged"), current: "unconfined", want: Label{}},
		{name: "active: generated refused", host: aa, cfg: prof("generated"), current: "unconfined",
			err: "lxc.apparmor.profile = generated is not supported yet: golxc does not generate AppArmor profiles (load a profile and name it in lxc.apparmor.profile)"},
		{name: "active: allow_nesting refused", host: aa, cfg: LSMConfig{AppArmorProfile: "mine", AllowNesting: true}, current: "unconfined",
			err: "lxc.apparmor.allow_nesting is not supported yet: golxc does not generate AppArmor profiles (load a profile and name it in lxc.apparmor.profile)"},
		{name: "active: raw refused", host: aa, cfg: LSMConfig{AppArmorRaw: []string{"deny /x rw,"}}, current: "unconfined",
			err: "lxc.apparmor.raw is not supported yet: golxc does not generate AppArmor profiles (load a profile and name it in lxc.apparmor.profile)"},
		{name: "active without mount mediation", host: HostLSM{AppArmor: true, AppArmorProfiles: []string{"mine"}}, cfg: prof("mine"), current: "unconfined",
			err: "lxc.apparmor.profile mine: this kernel's AppArmor lacks mount restrictions (no features/mount), which a container profile needs to hold; set lxc.apparmor.allow_incomplete = 1 to start without them"},
		{name: "active without mount mediation, allowed", host: HostLSM{AppArmor: true, AppArmorProfiles: []string{"mine"}}, cfg: LSMConfig{AppArmorProfile: "mine", AllowIncomplete: true},
			current: "unconfined", want: Label{AppArmor: "mine"}},
		{name: "selinux: context and keyring default", host: se, cfg: LSMConfig{SELinuxContext: "system_u:system_r:lxc_t:s0:c22", SELinuxKeys: []string{"lxc.selinux.context"}},
			want: Label{SELinux: "system_u:system_r:lxc_t:s0:c22", Keyring: "system_u:system_r:lxc_t:s0:c22"}},
		{name: "selinux: keyring of its own", host: se, cfg: LSMConfig{SELinuxContext: "a:b:c:s0", SELinuxKeyring: "k:b:c:s0"}, want: Label{SELinux: "a:b:c:s0", Keyring: "k:b:c:s0"}},
		{name: "selinux: unconfined_t changes nothing", host: se, cfg: LSMConfig{SELinuxContext: "unconfined_t"}},
		{name: "selinux inactive", cfg: LSMConfig{SELinuxContext: "a:b:c:s0", SELinuxKeys: []string{"lxc.selinux.context"}},
			warn: []string{"lxc.selinux.context ignored: SELinux is not enabled on this host"}},
		{name: "selinux inactive, unconfined_t", cfg: LSMConfig{SELinuxContext: "unconfined_t", SELinuxKeys: []string{"lxc.selinux.context"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, w, err := PlanLabel(tt.host, tt.cfg, tt.current)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if l != tt.want || !slices.Equal(w, tt.warn) {
				t.Fatalf("PlanLabel = %+v %q, want %+v %q", l, w, tt.want, tt.warn)
			}
		})
	}
}

// TestExecAttrs: the label is written where the kernel reads it, AppArmor's
// own file first, the shared one when that is all there is.
func TestExecAttrs(t *testing.T) {
	t.Run("apparmor's own file", func(t *testing.T) {
		proc := fixture(t, map[string]string{"thread-self/attr/apparmor/exec": "", "thread-self/attr/exec": ""})
		a, err := OpenExecAttrs(proc, Label{AppArmor: "mine"})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if err := a.SetExec(Label{AppArmor: "mine"}); err != nil {
			t.Fatal(err)
		}
		expectFile(t, filepath.Join(proc, "thread-self/attr/apparmor/exec"), "exec mine")
		expectFile(t, filepath.Join(proc, "thread-self/attr/exec"), "")
	})
	t.Run("the shared file", func(t *testing.T) {
		proc := fixture(t, map[string]string{"thread-self/attr/exec": ""})
		a, err := OpenExecAttrs(proc, Label{AppArmor: "mine"})
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if err := a.SetExec(Label{AppArmor: "mine"}); err != nil {
			t.Fatal(err)
		}
		expectFile(t, filepath.Join(proc, "thread-self/attr/exec"), "exec mine")
	})
	t.Run("selinux and keyring", func(t *testing.T) {
		proc := fixture(t, map[string]string{"thread-self/attr/exec": "", "thread-self/attr/keycreate": ""})
		l := Label{SELinux: "a:b:c:s0", Keyring: "k:b:c:s0"}
		a, err := OpenExecAttrs(proc, l)
		if err != nil {
			t.Fatal(err)
		}
		defer a.Close()
		if err := a.SetExec(l); err != nil {
			t.Fatal(err)
		}
		expectFile(t, filepath.Join(proc, "thread-self/attr/exec"), "a:b:c:s0")
		expectFile(t, filepath.Join(proc, "thread-self/attr/keycreate"), "k:b:c:s0")
	})
	t.Run("no attr file", func(t *testing.T) {
		proc := fixture(t, map[string]string{"thread-self/attr/": ""})
		if _, err := OpenExecAttrs(proc, Label{AppArmor: "mine"}); err == nil || !strings.HasPrefix(err.Error(), "AppArmor profile mine: ") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("a link is not followed", func(t *testing.T) {
		proc := fixture(t, map[string]string{"thread-self/attr/": "", "elsewhere": ""})
		if err := os.Symlink(filepath.Join(proc, "elsewhere"), filepath.Join(proc, "thread-self/attr/exec")); err != nil {
			t.Fatal(err)
		}
		if _, err := OpenExecAttrs(proc, Label{SELinux: "x"}); err == nil {
			t.Fatal("opened through a link")
		}
	})
}

// TestInitLabel: an attached process takes its init's label, without the
// mode; nothing for an unconfined init.
func TestInitLabel(t *testing.T) {
	files := map[string]string{"attr/apparmor/current": "mine (enforce)\n", "attr/current": "system_u:system_r:lxc_t:s0\x00"}
	read := func(n string) ([]byte, error) {
		c, ok := files[n]
		if !ok {
			return nil, os.ErrNotExist
		}
		return []byte(c), nil
	}
	if l, err := InitLabel(HostLSM{AppArmor: true}, read); err != nil || l != (Label{AppArmor: "mine"}) {
		t.Fatalf("apparmor: %+v %v", l, err)
	}
	if l, err := InitLabel(HostLSM{SELinux: true}, read); err != nil || l != (Label{SELinux: "system_u:system_r:lxc_t:s0"}) {
		t.Fatalf("selinux: %+v %v", l, err)
	}
	if l, err := InitLabel(HostLSM{}, read); err != nil || !l.Empty() {
		t.Fatalf("none: %+v %v", l, err)
	}
	files["attr/apparmor/current"] = "unconfined\n"
	if l, err := InitLabel(HostLSM{AppArmor: true}, read); err != nil || !l.Empty() {
		t.Fatalf("unconfined: %+v %v", l, err)
	}
}

// TestCurrentAppArmor reads the caller's label without its mode.
func TestCurrentAppArmor(t *testing.T) {
	proc := fixture(t, map[string]string{"thread-self/attr/apparmor/current": "lxc-container-default-cgns (enforce)\n"})
	if got := CurrentAppArmor(proc); got != "lxc-container-default-cgns" {
		t.Fatalf("got %q", got)
	}
	if got := CurrentAppArmor(t.TempDir()); got != "unconfined" {
		t.Fatalf("without the file: %q", got)
	}
}

func expectFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != want {
		t.Fatalf("%s = %q, want %q", path, b, want)
	}
}

func TestOCILabel(t *testing.T) {
	aa := HostLSM{AppArmor: true, AppArmorProfiles: []string{"cri-containerd.apparmor.d"}}
	se := HostLSM{SELinux: true}
	for _, c := range []struct {
		what              string
		h                 HostLSM
		apparmor, selinux string
		want              Label
		err               string
	}{
		{"nothing asked, no module", HostLSM{}, "", "", Label{}, ""},
		{"loaded profile", aa, "cri-containerd.apparmor.d", "", Label{AppArmor: "cri-containerd.apparmor.d"}, ""},
		{"unconfined on an AppArmor host", aa, "unconfined", "", Label{AppArmor: "unconfined"}, ""},
		{"profile not loaded", aa, "nope", "", Label{}, "no such AppArmor profile is loaded"},
		{"profile without AppArmor", HostLSM{}, "cri-containerd.apparmor.d", "", Label{}, "AppArmor is not enabled on this host"},
		{"SELinux label", se, "", "system_u:system_r:container_t:s0:c1,c2", Label{SELinux: "system_u:system_r:container_t:s0:c1,c2", Keyring: "system_u:system_r:container_t:s0:c1,c2"}, ""},
		{"SELinux label without SELinux", aa, "", "system_u:system_r:container_t:s0", Label{}, "SELinux is not enabled on this host"},
	} {
		got, err := OCILabel(c.h, c.apparmor, c.selinux)
		switch {
		case c.err == "" && err != nil:
			t.Errorf("%s: %v", c.what, err)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: error %v, want one saying %q", c.what, err, c.err)
		case got != c.want:
			t.Errorf("%s: %+v, want %+v", c.what, got, c.want)
		}
	}
}
