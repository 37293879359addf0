package test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The config tools, run as a sysadmin would. The system config is a temp
// file named by GOLXC_SYSTEM_CONFIG: /etc/lxc is never read or touched.

func systemConfig(t *testing.T, text string) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "lxc.conf")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return []string{"GOLXC_SYSTEM_CONFIG=" + p}
}

func TestLxcConfigTool(t *testing.T) {
	env := systemConfig(t, "# site\nlxc.lxcpath = /srv/golxc-test\nlxc.bdev.zfs.root = tank/lxc\n")
	out, errs, code := runWith(t, runOpts{env: env}, "lxc-config", "-l")
	want := "lxc.default_config\nlxc.lxcpath\nlxc.bdev.lvm.vg\nlxc.bdev.lvm.thin_pool\nlxc.bdev.zfs.root\nlxc.cgroup.use\nlxc.cgroup.pattern\n"
	if code != 0 || out != want || errs != "" {
		t.Fatalf("lxc-config -l: %d %q %q", code, out, errs)
	}
	for key, want := range map[string]string{
		"lxc.lxcpath":        "/srv/golxc-test\n",
		"lxc.bdev.zfs.root":  "tank/lxc\n",
		"lxc.bdev.lvm.vg":    "lxc\n",
		"lxc.cgroup.pattern": "lxc.cgroup.pattern is not set.\n",
	} {
		if out, errs, code := runWith(t, runOpts{env: env}, "lxc-config", key); code != 0 || out != want || errs != "" {
			t.Errorf("lxc-config %s: %d %q %q, want %q", key, code, out, errs, want)
		}
	}
	if out, errs, code := runWith(t, runOpts{env: env}, "lxc-config", "lxc.nope"); code != 1 || out != "Unknown configuration item: lxc.nope\n" || errs != "" {
		t.Errorf("unknown item: %d %q %q, want 1 and the message on stdout, as LXC's", code, out, errs)
	}
}

func TestLxcUpdateConfigTool(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	orig := "# LXC 1.x config\nlxc.utsname = old\nlxc.rootfs = " + dir + "/rootfs\nlxc.rootfs.backend = dir\n\n" +
		"lxc.network.type = empty\nlxc.network.flags = up\n# lxc.network.link = br0\nlxc.network.type = veth\nlxc.network.ipv4 = 10.0.3.2/24\n" +
		"lxc.id_map = u 0 100000 65536\nlxc.aa_profile = unconfined\nlxc.haltsignal = SIGRTMIN+3\nlxc.tty = 4\n"
	if err := os.WriteFile(path, []byte(orig), 0o640); err != nil {
		t.Fatal(err)
	}
	if out, errs, code := run(t, "lxc-update-config", "-c", path); code != 0 || out != "" || errs != "" {
		t.Fatalf("lxc-update-config: %d %q %q", code, out, errs)
	}
	want := "# LXC 1.x config\nlxc.uts.name = old\nlxc.rootfs.path = dir:" + dir + "/rootfs\n\n" +
		"lxc.net.0.type = empty\nlxc.net.0.flags = up\n# lxc.network.link = br0\nlxc.net.1.type = veth\nlxc.net.1.ipv4.address = 10.0.3.2/24\n" +
		"lxc.idmap = u 0 100000 65536\nlxc.apparmor.profile = unconfined\nlxc.signal.halt = SIGRTMIN+3\nlxc.tty.max = 4\n"
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Fatalf("updated:\n%s\nwant:\n%s", b, want)
	}
	if b, _ := os.ReadFile(path + ".backup"); string(b) != orig {
		t.Fatalf("backup:\n%s", b)
	}
	if _, errs, code := run(t, "lxc-update-config", "-c", path); code != 0 || errs != "" {
		t.Fatalf("second run: %d %q", code, errs)
	}
	if b, _ := os.ReadFile(path); string(b) != want {
		t.Fatalf("second run changed the file:\n%s", b)
	}
	if _, errs, code := run(t, "lxc-update-config", "-c", filepath.Join(dir, "missing")); code != 1 || !strings.Contains(errs, "missing") {
		t.Fatalf("missing file: %d %q", code, errs)
	}
}

func TestLxcCheckconfigTool(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "config-good")
	os.WriteFile(good, []byte("# Linux/x86 6.1.0 Kernel Configuration\nCONFIG_NAMESPACES=y\nCONFIG_UTS_NS=y\nCONFIG_IPC_NS=y\nCONFIG_PID_NS=y\nCONFIG_NET_NS=y\nCONFIG_USER_NS=y\nCONFIG_CGROUPS=y\nCONFIG_VETH=m\n"), 0o644)
	out, errs, code := runWith(t, runOpts{env: []string{"CONFIG=" + good}}, "lxc-checkconfig")
	if strings.Contains(out, "\033[") {
		t.Errorf("colour on a pipe:\n%q", out)
	}
	for _, want := range []string{"Kernel configuration found at " + good + "\n", "--- Namespaces ---\n", "Pid namespace: enabled\n", "Vlan: missing\n", "--- Control groups ---\n", "--- Misc ---\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The cgroup hierarchies are this host's: present on any host that
	// runs containers.
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q\n%s", code, errs, out)
	}
	bad := filepath.Join(dir, "config-bad")
	os.WriteFile(bad, []byte("CONFIG_NAMESPACES=y\n# CONFIG_PID_NS is not set\n"), 0o644)
	out, errs, code = runWith(t, runOpts{env: []string{"CONFIG=" + bad}}, "lxc-checkconfig")
	if code != 1 || !strings.Contains(out, "Pid namespace: required\n") || !strings.Contains(errs, "essential kernel features are missing") {
		t.Fatalf("missing essentials: exit %d stderr %q\n%s", code, errs, out)
	}
	// The running kernel: this host runs containers, so it has what they need.
	if out, errs, code := run(t, "lxc-checkconfig"); code != 0 {
		t.Fatalf("running kernel: exit %d stderr %q\n%s", code, errs, out)
	}
}

// TestCreateDefaultConfig: lxc-create without -f seeds the config from the
// system config's lxc.default_config, and fills its hwaddr template once.
func TestCreateDefaultConfig(t *testing.T) {
	requireRoot(t)
	dir := t.TempDir()
	def := filepath.Join(dir, "default.conf")
	env := systemConfig(t, "lxc.default_config = "+def+"\n")
	lxcpath := filepath.Join(dir, "lxc")
	rootfs := filepath.Join(dir, "rootfs")
	os.Mkdir(rootfs, 0o755)
	// -t none, with the rootfs given by the default config.
	os.WriteFile(def, []byte("# site default\nlxc.net.0.type = empty\nlxc.net.0.hwaddr = 00:16:3e:xx:xx:xx\nlxc.rootfs.path = dir:"+rootfs+"\n"), 0o644)
	name := newName(t)
	if out, errs, code := runWith(t, runOpts{env: env}, "lxc-create", "-P", lxcpath, "-n", name, "-t", "none"); code != 0 {
		t.Fatalf("lxc-create: %d %q %q", code, out, errs)
	}
	t.Cleanup(func() { run(t, "lxc-destroy", "-P", lxcpath, "-n", name, "-f") })
	b, err := os.ReadFile(filepath.Join(lxcpath, name, "config"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "# site default\n") {
		t.Fatalf("config not seeded from lxc.default_config:\n%s", b)
	}
	if !regexp.MustCompile(`(?m)^lxc\.net\.0\.hwaddr = 00:16:3e:[0-9a-f]{2}:[0-9a-f]{2}:[0-9a-f]{2}$`).Match(b) {
		t.Fatalf("hwaddr template not filled:\n%s", b)
	}
}
