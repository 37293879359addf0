package test

import (
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// testVeth is a veth pair a test makes on the host, both ends up, deleted
// in cleanup (wherever an end is then: deleting one deletes both).
type testVeth struct{ a, b string }

func newVethPair(t *testing.T) *testVeth {
	t.Helper()
	requireRoot(t)
	base := "gxq" + newName(t)[1:9]
	v := &testVeth{a: base + "a", b: base + "b"}
	attrs := netlink.NewLinkAttrs()
	attrs.Name = v.a
	if err := netlink.LinkAdd(&netlink.Veth{LinkAttrs: attrs, PeerName: v.b}); err != nil {
		t.Fatalf("make veth %s/%s: %v", v.a, v.b, err)
	}
	t.Cleanup(func() {
		for _, n := range []string{v.a, v.b} {
			if l, err := netlink.LinkByName(n); err == nil {
				_ = netlink.LinkDel(l)
			}
		}
		for _, n := range []string{v.a, v.b} {
			if linkExists(n) {
				t.Errorf("cleanup: %s still exists", n)
			}
		}
	})
	for _, n := range []string{v.a, v.b} {
		l, err := netlink.LinkByName(n)
		if err == nil {
			err = netlink.LinkSetUp(l)
		}
		if err != nil {
			t.Fatalf("bring up %s: %v", n, err)
		}
	}
	return v
}

// freePrefix is a 10.214.N. /24 no interface of the host has.
func freePrefix(t *testing.T) string {
	t.Helper()
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for try := 0; try < 100; try++ {
		p := fmt.Sprintf("10.214.%d.", mrand.IntN(250)+1)
		used := false
		for _, a := range addrs {
			used = used || strings.HasPrefix(a.IP.String(), p)
		}
		if !used {
			return p
		}
	}
	t.Fatal("no free 10.214.N.0/24")
	return ""
}

// upperDevs lists the interfaces stacked on name on the host (its
// macvlans, vlans ...).
func upperDevs(t *testing.T, name string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join("/sys/class/net", name, "upper_*"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// containerLink is the interface name in the network namespace of pid.
func containerLink(t *testing.T, pid int, name string) netlink.Link {
	t.Helper()
	ns, err := netns.GetFromPid(pid)
	if err != nil {
		t.Fatal(err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	l, err := h.LinkByName(name)
	if err != nil {
		t.Errorf("%s in the namespace of %d: %v", name, pid, err)
		return nil
	}
	return l
}

func macvlanConf(parent, mode, addr string) []string {
	c := []string{"lxc.net.0.type = macvlan", "lxc.net.0.link = " + parent, "lxc.net.0.flags = up",
		"lxc.net.0.hwaddr = " + randomMAC(), "lxc.net.0.ipv4.address = " + addr + "/24"}
	if mode != "" {
		c = append(c, "lxc.net.0.macvlan.mode = "+mode)
	}
	return c
}

// Two containers with a macvlan in bridge mode on one parent (a veth the
// test makes) reach each other; in private mode (LXC's default) they do
// not. The macvlans live in the containers' namespaces only: the parent
// has none on the host while they run, or after a stop or kill -9 of
// init or the monitor.
func TestNetMacvlan(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	v := newVethPair(t)
	p := freePrefix(t)
	for _, mode := range []string{"bridge", ""} {
		c1 := l.createBusybox(macvlanConf(v.a, mode, p+"2")...)
		c2 := l.createBusybox(macvlanConf(v.a, mode, p+"3")...)
		for _, c := range []string{c1, c2} {
			l.mustRun("lxc-start", "-n", c)
			l.waitState(c, "RUNNING", 10*time.Second)
		}
		want := netlink.MACVLAN_MODE_PRIVATE
		if mode == "bridge" {
			want = netlink.MACVLAN_MODE_BRIDGE
		}
		if got := containerLink(t, l.initPID(c1), "eth0"); got == nil || got.Type() != "macvlan" || got.(*netlink.Macvlan).Mode != want {
			t.Errorf("mode %q: eth0 of %s is %#v, want a macvlan of mode %d", mode, c1, got, want)
		}
		if u := upperDevs(t, v.a); len(u) != 0 {
			t.Errorf("mode %q: %s has upper devices on the host: %v", mode, v.a, u)
		}
		_, _, code := l.run("lxc-attach", "-n", c1, "--", "ping", "-c", "1", "-W", "2", p+"3")
		if mode == "bridge" && code != 0 {
			t.Errorf("bridge mode: %s does not reach %s", c1, p+"3")
		}
		if mode == "" && code == 0 {
			t.Errorf("private mode: %s reaches %s", c1, p+"3")
		}
		l.mustRun("lxc-stop", "-n", c1, "-k")
		syscall.Kill(l.initPID(c2), syscall.SIGKILL)
		l.waitState(c2, "STOPPED", 10*time.Second)
	}
	c := l.createBusybox(macvlanConf(v.a, "vepa", p+"4")...)
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 10*time.Second)
	killMonitorAndWait(t, l, c)
	if !waitFor(5*time.Second, func() bool { return len(upperDevs(t, v.a)) == 0 }) {
		t.Errorf("after kill -9 of the monitor: %s has %v", v.a, upperDevs(t, v.a))
	}

	// A parent that does not exist: one line, nothing started.
	bad := l.createBusybox(macvlanConf("gxnosuch0", "bridge", p+"5")...)
	_, errs, code := l.run("lxc-start", "-n", bad)
	if code == 0 || !strings.Contains(errs, "link gxnosuch0: no such interface on the host") {
		t.Errorf("macvlan on a missing parent: exit %d, %q", code, errs)
	}
}

// ipvlan and vlan: this kernel has neither, and a start says so in one
// line. On a kernel that has them the test skips (they are then made as
// macvlan is, which internal/network's TestParentLinkPlans covers as
// netlink requests).
func TestNetIpvlanVlanMissingKernel(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	v := newVethPair(t)
	for _, tc := range []struct{ typ, key, module string }{
		{"ipvlan", "lxc.net.0.ipvlan.mode = l2", "ipvlan"},
		{"vlan", "lxc.net.0.vlan.id = 42", "8021q"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			l := l.with(t)
			probe := netlink.NewLinkAttrs()
			probe.Name = "gxprobe" + tc.typ[:2]
			parent, _ := netlink.LinkByName(v.a)
			probe.ParentIndex = parent.Attrs().Index
			var link netlink.Link = &netlink.IPVlan{LinkAttrs: probe}
			if tc.typ == "vlan" {
				link = &netlink.Vlan{LinkAttrs: probe, VlanId: 42}
			}
			if err := netlink.LinkAdd(link); err == nil {
				netlink.LinkDel(link)
				t.Skipf("this kernel has %s: its refusal cannot be tested here", tc.typ)
			}
			c := l.createBusybox("lxc.net.0.type = "+tc.typ, "lxc.net.0.link = "+v.a, tc.key, "lxc.net.0.flags = up")
			_, errs, code := l.run("lxc-start", "-n", c)
			want := "the kernel has no " + tc.typ + " support (module " + tc.module + ")"
			if code == 0 || !strings.Contains(errs, want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
				t.Errorf("%s: exit %d, stderr %q, want one line with %q", tc.typ, code, errs, want)
			}
			if s := l.state(c); s != "STOPPED" {
				t.Errorf("%s: state %s after the refused start", tc.typ, s)
			}
		})
	}
}

type linkState struct {
	mtu int
	mac string
	up  bool
}

func hostLink(t *testing.T, name string) (linkState, bool) {
	t.Helper()
	l, err := netlink.LinkByName(name)
	if err != nil {
		return linkState{}, false
	}
	return linkState{l.Attrs().MTU, l.Attrs().HardwareAddr.String(), l.Attrs().Flags&1 != 0}, true
}

// phys: one end of a veth pair the test makes goes into the container as
// eth0 with its own address, MTU and MAC, and reaches the other end's
// address on the host; it comes back under its own name with its MTU,
// MAC and state after lxc-stop, after kill -9 of init and after kill -9
// of the monitor (a keeper process, not the monitor, gives it back).
func TestNetPhys(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	v := newVethPair(t)
	p := freePrefix(t)
	peer, _ := netlink.LinkByName(v.b)
	a, _ := netlink.ParseAddr(p + "1/24")
	if err := netlink.AddrAdd(peer, a); err != nil {
		t.Fatal(err)
	}
	before, _ := hostLink(t, v.a)
	mac := randomMAC()
	c := l.createBusybox("lxc.net.0.type = phys", "lxc.net.0.link = "+v.a, "lxc.net.0.name = eth0",
		"lxc.net.0.flags = up", "lxc.net.0.mtu = 1400", "lxc.net.0.hwaddr = "+mac, "lxc.net.0.ipv4.address = "+p+"2/24")
	for _, stop := range []string{"lxc-stop", "kill -9 of init", "kill -9 of the monitor"} {
		l.mustRun("lxc-start", "-n", c)
		l.waitState(c, "RUNNING", 10*time.Second)
		if linkExists(v.a) {
			t.Fatalf("%s: %s still on the host while %s runs", stop, v.a, c)
		}
		out := l.attach(c, "ip", "link", "show", "eth0")
		if !strings.Contains(out, "mtu 1400") || !strings.Contains(out, mac) {
			t.Errorf("%s: eth0 inside: %s", stop, out)
		}
		l.attach(c, "ping", "-c", "1", "-W", "5", p+"1")
		switch stop {
		case "lxc-stop":
			l.mustRun("lxc-stop", "-n", c, "-k")
			// Back by the time lxc-stop returns.
			if got, ok := hostLink(t, v.a); !ok || got != before {
				t.Errorf("after lxc-stop: %s %v %+v, want %+v", v.a, ok, got, before)
			}
			continue
		case "kill -9 of init":
			syscall.Kill(l.initPID(c), syscall.SIGKILL)
			l.waitState(c, "STOPPED", 10*time.Second)
		default:
			killMonitorAndWait(t, l, c)
		}
		if !waitFor(5*time.Second, func() bool { got, ok := hostLink(t, v.a); return ok && got == before }) {
			got, ok := hostLink(t, v.a)
			t.Errorf("after %s: %s %v %+v, want %+v", stop, v.a, ok, got, before)
		}
	}
	// No keeper stays: each exits once it gave the interface back.
	if !waitFor(5*time.Second, func() bool { return len(keeperPIDs()) == 0 }) {
		t.Errorf("keepers left: %v", keeperPIDs())
	}

	// A start that fails once the interface is in (its script.up
	// fails) gives it back too.
	failing := l.createBusybox("lxc.net.0.type = phys", "lxc.net.0.link = "+v.a, "lxc.net.0.script.up = /bin/false")
	if _, errs, code := l.run("lxc-start", "-n", failing); code == 0 || !strings.Contains(errs, "script.up /bin/false") {
		t.Errorf("phys with a failing script.up: exit %d, %q", code, errs)
	}
	if !waitFor(5*time.Second, func() bool { got, ok := hostLink(t, v.a); return ok && got == before }) {
		got, ok := hostLink(t, v.a)
		t.Errorf("after a failed start: %s %v %+v, want %+v", v.a, ok, got, before)
	}

	// An interface the host does not have: one line.
	bad := l.createBusybox("lxc.net.0.type = phys", "lxc.net.0.link = gxnosuch1")
	_, errs, code := l.run("lxc-start", "-n", bad)
	if code == 0 || !strings.Contains(errs, "link gxnosuch1: no such interface on the host") {
		t.Errorf("phys of a missing interface: exit %d, %q", code, errs)
	}
}

// keeperPIDs are the processes running golxc's phys keeper (only this
// test makes phys interfaces).
func keeperPIDs() []int {
	var pids []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(b), "__golxc-netkeeper") {
			var pid int
			fmt.Sscan(e.Name(), &pid)
			pids = append(pids, pid)
		}
	}
	return pids
}

// script.up and script.down: run on the host as root with LXC's arguments
// (NAME net up|down TYPE HOSTIF, lxc.hook.version 0) and environment; a
// failing up-script fails the start in one line and leaves no veth.
func TestNetScripts(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	b := newBridge(t)
	pair := uniquePair(t)
	logf := filepath.Join(l.aux, "script.log")
	script := l.writeFile("net-script", "#!/bin/sh\n{ echo \"args: $*\"; echo \"uid: $(id -u)\"; env | grep -E '^LXC_' | sort; } >> "+logf+"\n", 0o755)
	conf := append(vethConf(b, pair, randomMAC(), 4), "lxc.net.0.script.up = "+script, "lxc.net.0.script.down = "+script)
	c := l.createBusybox(conf...)
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 10*time.Second)
	l.mustRun("lxc-stop", "-n", c, "-k")
	got := readTrim(t, logf)
	// LXC 5.0.2's, under lxc.hook.version 0: the link, then the pair;
	// the LXC_NET_* variables are version 1's only.
	for _, want := range []string{
		"args: " + c + " net up veth " + b.name + " " + pair, "args: " + c + " net down veth " + b.name + " " + pair, "uid: 0",
		"LXC_NAME=" + c, "LXC_HOOK_VERSION=0", "LXC_CONFIG_FILE=" + filepath.Join(l.path, c, "config"), "LXC_PID=",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("script log lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "LXC_NET_") || strings.Contains(got, "LXC_HOOK_TYPE") {
		t.Errorf("version 1 variables under version 0:\n%s", got)
	}
	// Version 1: no arguments, the LXC_NET_* variables.
	os.Remove(logf)
	c1 := l.createBusybox(append(vethConf(b, pair, randomMAC(), 6), "lxc.hook.version = 1", "lxc.net.0.script.up = "+script)...)
	l.mustRun("lxc-start", "-n", c1)
	l.waitState(c1, "RUNNING", 10*time.Second)
	l.mustRun("lxc-stop", "-n", c1, "-k")
	got1 := readTrim(t, logf)
	for _, want := range []string{"args: \n", "LXC_HOOK_VERSION=1", "LXC_HOOK_TYPE=up", "LXC_HOOK_SECTION=net", "LXC_NET_TYPE=veth",
		"LXC_NET_PARENT=" + b.name, "LXC_NET_PEER=" + pair} {
		if !strings.Contains(got1+"\n", want) {
			t.Errorf("version 1 script log lacks %q:\n%s", want, got1)
		}
	}
	if strings.Index(got, "net up") > strings.Index(got, "net down") {
		t.Errorf("down before up:\n%s", got)
	}

	fail := l.writeFile("net-fail", "#!/bin/sh\necho refused by the script\nexit 3\n", 0o755)
	pair2 := uniquePair(t)
	c2 := l.createBusybox(append(vethConf(b, pair2, randomMAC(), 5), "lxc.net.0.script.up = "+fail)...)
	_, errs, code := l.run("lxc-start", "-n", c2)
	if code == 0 || !strings.Contains(errs, "script.up "+fail) || !strings.Contains(errs, "refused by the script") {
		t.Errorf("failing script.up: exit %d, %q", code, errs)
	}
	if s := l.state(c2); s != "STOPPED" {
		t.Errorf("after a failing script.up: %s", s)
	}
	if linkExists(pair2) || len(b.ports(t)) != 0 {
		t.Errorf("after a failing script.up: %s exists %v, ports %v", pair2, linkExists(pair2), b.ports(t))
	}
}

// lxc-device add moves a host interface (one end of the test's veth pair)
// into a running container under a new name, up as it was; the container
// reaches the other end through it; del moves it back under the name
// given. A missing interface and a device node are one line each.
func TestNetDevice(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	v := newVethPair(t)
	p := freePrefix(t)
	peer, _ := netlink.LinkByName(v.b)
	a, _ := netlink.ParseAddr(p + "1/24")
	if err := netlink.AddrAdd(peer, a); err != nil {
		t.Fatal(err)
	}
	c := l.createBusybox("lxc.net.0.type = empty")
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 10*time.Second)
	l.mustRun("lxc-device", "-n", c, "add", v.a, "eth5")
	if linkExists(v.a) {
		t.Errorf("%s still on the host after add", v.a)
	}
	l.attach(c, "ip", "addr", "add", p+"2/24", "dev", "eth5")
	l.attach(c, "ping", "-c", "1", "-W", "5", p+"1")
	back := v.a[:len(v.a)-1] + "c"
	l.mustRun("lxc-device", "-n", c, "del", "eth5", back)
	if !linkExists(back) {
		t.Errorf("%s not on the host after del", back)
	}
	l.mustRun("lxc-device", "-n", c, "add", back)
	l.mustRun("lxc-device", "-n", c, "del", back, v.a)
	if st, ok := hostLink(t, v.a); !ok || !st.up {
		t.Errorf("%s after add and del: %v %+v, want it back and up", v.a, ok, st)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"add", "gxnosuch2"}, "add gxnosuch2: gxnosuch2: no such network interface on the host"},
		{[]string{"del", "gxnosuch2"}, "no such network interface in the container"},
		{[]string{"add", "lo"}, "lo is a loopback interface"},
	} {
		_, errs, code := l.run("lxc-device", append([]string{"-n", c}, tc.args...)...)
		if code == 0 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("lxc-device %v: exit %d, %q, want one line with %q", tc.args, code, errs, tc.want)
		}
	}
	l.mustRun("lxc-stop", "-n", c, "-k")
	_, errs, code := l.run("lxc-device", "-n", c, "add", v.a)
	if code == 0 || !strings.Contains(errs, "is not running") || !linkExists(v.a) {
		t.Errorf("add to a stopped container: exit %d, %q", code, errs)
	}
}

// lxc-unshare: a command in new UTS, PID, mount and network namespaces
// gets the host name, is pid 1, sees its own /proc (mounted by -M, not on
// the host) and the interface moved in by -i, and its exit code is
// lxc-unshare's; -u runs it as that user; misuse is one line.
func TestUnshare(t *testing.T) {
	t.Parallel()
	requireBusybox(t)
	v := newVethPair(t)
	hostName, _ := os.Hostname()
	procMounts := func() int {
		b, _ := os.ReadFile("/proc/self/mountinfo")
		return strings.Count(string(b), " /proc ")
	}
	before := procMounts()
	out, errs, code := run(t, "lxc-unshare", "-s", "UTSNAME|PID|MOUNT|NETWORK", "-H", "gxunshared", "-M", "-i", v.a, "--",
		"/bin/busybox", "sh", "-c", "hostname; echo pid $$; ls /proc | grep -c '^[0-9]'; ip -o link show "+v.a+" | grep -c "+v.a+"; exit 5")
	want := "gxunshared\npid 1\n"
	if code != 5 || !strings.HasPrefix(out, want) || !strings.HasSuffix(out, "\n1\n") {
		t.Errorf("lxc-unshare: exit %d, out %q (want it to start %q, see the interface and exit 5), err %q", code, out, want, errs)
	}
	if f := strings.Fields(out); len(f) >= 4 && f[3] != "2" && f[3] != "3" {
		t.Errorf("processes in the new /proc: %s, want the shell and ls (and grep)", f[3])
	}
	if h, _ := os.Hostname(); h != hostName {
		t.Errorf("host name changed to %s", h)
	}
	if n := procMounts(); n != before {
		t.Errorf("/proc mounts of the host: %d, was %d", n, before)
	}
	out, _, code = run(t, "lxc-unshare", "-s", "PID", "-u", "nobody", "--", "/bin/busybox", "id", "-u")
	if code != 0 || strings.TrimSpace(out) != "65534" {
		t.Errorf("-u nobody: exit %d, %q", code, out)
	}
	// A uid no user has: nothing of root's groups or gid stays.
	out, _, code = run(t, "lxc-unshare", "-s", "PID", "-u", "54321", "--", "/bin/busybox", "id")
	if code != 0 || strings.TrimSpace(out) != "uid=54321 gid=54321" {
		t.Errorf("-u 54321: exit %d, %q; want uid and gid 54321, no other group", code, out)
	}
	// -d: lxc-unshare returns while the command still runs.
	mark := filepath.Join(t.TempDir(), "mark")
	began := time.Now()
	if _, errs, code := run(t, "lxc-unshare", "-s", "UTSNAME", "-d", "--", "/bin/busybox", "sh", "-c", "sleep 1; hostname > "+mark); code != 0 {
		t.Fatalf("-d: exit %d, %q", code, errs)
	}
	if d := time.Since(began); d > 800*time.Millisecond {
		t.Errorf("-d waited %v for the command", d)
	}
	if !waitFor(5*time.Second, func() bool { _, err := os.Stat(mark); return err == nil }) {
		t.Errorf("-d: the command did not run")
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-s", "PID", "-H", "x", "--", "true"}, "-H needs the UTSNAME namespace"},
		{[]string{"-s", "PID", "-M", "--", "true"}, "-M needs the MOUNT namespace"},
		{[]string{"-s", "PID", "-i", "lo", "--", "true"}, "-i needs the NETWORK namespace"},
		{[]string{"-s", "PID|BOGUS", "--", "true"}, `"BOGUS": not a namespace`},
		{[]string{"-s", "NETWORK", "-i", "gxnosuch3", "--", "true"}, "-i gxnosuch3: gxnosuch3: no such network interface on the host"},
	} {
		_, errs, code := run(t, "lxc-unshare", tc.args...)
		if code == 0 || !strings.Contains(errs, tc.want) {
			t.Errorf("lxc-unshare %v: exit %d, %q, want %q", tc.args, code, errs, tc.want)
		}
	}
}
