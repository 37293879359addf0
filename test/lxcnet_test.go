package test

import (
	"fmt"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
)

// lxcNet is one run of templates/lxc-net on a bridge and a /24 of the
// test's own, never the default lxcbr0, with its state under the test's
// temporary directory.
type lxcNet struct {
	bridge, prefix, state string
	env                   []string
}

func (n *lxcNet) addr(host int) string { return fmt.Sprintf("%s%d", n.prefix, host) }
func (n *lxcNet) table() string        { return "golxc-net-" + n.bridge }

// run runs the script with the test's settings only: no LXC_* variable
// of the caller's environment and no /etc/default/lxc-net.
func (n *lxcNet) run(t *testing.T, action string) (string, int) {
	t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "templates", "lxc-net"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", script, action)
	cmd.Env = n.env
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("lxc-net %s: %v", action, err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

func newLxcNet(t *testing.T) *lxcNet {
	t.Helper()
	requireRoot(t)
	for _, p := range []string{"dnsmasq", "nft", "ip"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("%s not installed", p)
		}
	}
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	var prefix string
	for try := 0; prefix == "" && try < 100; try++ {
		p := fmt.Sprintf("10.214.%d.", mrand.IntN(250)+1)
		if !slices.ContainsFunc(addrs, func(a netlink.Addr) bool { return strings.HasPrefix(a.IP.String(), p) }) {
			prefix = p
		}
	}
	if prefix == "" {
		t.Fatal("no free 10.214.N.0/24 for the test network")
	}
	dir := t.TempDir()
	n := &lxcNet{bridge: "gxnet" + newName(t)[1:7], prefix: prefix, state: filepath.Join(dir, "state")}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "LXC_") && !strings.HasPrefix(e, "USE_LXC_BRIDGE=") {
			n.env = append(n.env, e)
		}
	}
	n.env = append(n.env,
		"LXC_NET_CONFIG="+filepath.Join(dir, "no-such-defaults"),
		"LXC_BRIDGE="+n.bridge,
		"LXC_ADDR="+n.addr(1),
		"LXC_NETWORK="+prefix+"0/24",
		"LXC_STATE_DIR="+n.state)
	// Runs after the containers' cleanups (registered later): whatever a
	// failure left, the bridge, the table and dnsmasq go.
	t.Cleanup(func() {
		if _, err := os.Stat(n.state); err == nil {
			if out, code := n.run(t, "stop"); code != 0 {
				t.Errorf("cleanup: lxc-net stop: exit %d: %s", code, out)
			}
		}
		if l, err := netlink.LinkByName(n.bridge); err == nil {
			t.Errorf("cleanup: %s left; deleting it", n.bridge)
			netlink.LinkDel(l)
		}
		if exec.Command("nft", "list", "table", "ip", n.table()).Run() == nil {
			t.Errorf("cleanup: nft table %s left; deleting it", n.table())
			exec.Command("nft", "delete", "table", "ip", n.table()).Run()
		}
	})
	return n
}

// hostAddrs lists the addresses of lo and of the default route's
// interface (the uplink lxc-net masquerades to), which lxc-net must never
// change. Other interfaces are left out: tests running beside this one
// add and remove their own.
func hostAddrs(t *testing.T) []string {
	t.Helper()
	links := []int{1}
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		if r.Dst == nil || r.Dst.IP.IsUnspecified() {
			links = append(links, r.LinkIndex)
		}
	}
	var out []string
	for _, idx := range links {
		l, err := netlink.LinkByIndex(idx)
		if err != nil {
			t.Fatal(err)
		}
		addrs, err := netlink.AddrList(l, netlink.FAMILY_ALL)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range addrs {
			out = append(out, l.Attrs().Name+" "+a.IPNet.String())
		}
	}
	slices.Sort(out)
	return out
}

// dnsmasqPID reads the pid file and checks the process is a dnsmasq
// serving the bridge alone.
func (n *lxcNet) dnsmasqPID(t *testing.T) int {
	t.Helper()
	pid, err := strconv.Atoi(readTrim(t, filepath.Join(n.state, "dnsmasq.pid")))
	if err != nil {
		t.Fatalf("dnsmasq pid file: %v", err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		t.Fatalf("dnsmasq %d: %v", pid, err)
	}
	args := strings.Split(string(cmdline), "\x00")
	for _, want := range []string{"--interface=" + n.bridge, "--bind-interfaces", "--dhcp-leasefile=" + filepath.Join(n.state, "dnsmasq.leases")} {
		if !slices.Contains(args, want) {
			t.Errorf("dnsmasq %d: no %s in %q", pid, want, args)
		}
	}
	return pid
}

// templates/lxc-net on a bridge of the test's own: start makes the bridge
// with its address, an nft table of its own with the masquerade rule and
// a dnsmasq bound to the bridge; a busybox container with a veth on it and
// no address gets one of the /24 from that dnsmasq at boot (udhcpc from
// rcS, the lease in the state dir), has the bridge as its default route
// and pings it; a container with a static address runs no udhcpc and
// keeps it. stop refuses while a container is on the bridge, and after
// the containers stop it removes the bridge, the table, dnsmasq and its
// state and puts ip_forward back; the addresses of lo and the uplink do
// not change.
func TestLxcNetBridgeDHCP(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	requireBusybox(t)
	n := newLxcNet(t)
	fwdBefore := readTrim(t, "/proc/sys/net/ipv4/ip_forward")
	before := hostAddrs(t)

	if out, code := n.run(t, "start"); code != 0 {
		t.Fatalf("lxc-net start: exit %d: %s", code, out)
	}
	br, err := netlink.LinkByName(n.bridge)
	if err != nil {
		t.Fatalf("no %s after lxc-net start: %v", n.bridge, err)
	}
	if br.Type() != "bridge" || br.Attrs().Flags&1 == 0 {
		t.Errorf("%s: type %s, flags %v: want an up bridge", n.bridge, br.Type(), br.Attrs().Flags)
	}
	if a, _ := netlink.AddrList(br, netlink.FAMILY_V4); len(a) != 1 || a[0].IPNet.String() != n.addr(1)+"/24" {
		t.Errorf("addresses of %s: %v, want %s/24", n.bridge, a, n.addr(1))
	}
	tbl, err := exec.Command("nft", "list", "table", "ip", n.table()).CombinedOutput()
	if err != nil || !strings.Contains(string(tbl), "ip saddr "+n.prefix+"0/24 ip daddr != "+n.prefix+"0/24 masquerade") {
		t.Errorf("nft table %s: %v\n%s", n.table(), err, tbl)
	}
	pid := n.dnsmasqPID(t)
	if out, code := n.run(t, "start"); code != 0 || n.dnsmasqPID(t) != pid {
		t.Errorf("second lxc-net start: exit %d (%s), want 0 and the same dnsmasq", code, out)
	}

	mac := randomMAC()
	dyn := l.createBusybox("lxc.net.0.type = veth", "lxc.net.0.link = "+n.bridge, "lxc.net.0.flags = up", "lxc.net.0.hwaddr = "+mac)
	static := l.createBusybox("lxc.net.0.type = veth", "lxc.net.0.link = "+n.bridge, "lxc.net.0.flags = up",
		"lxc.net.0.ipv4.address = "+n.addr(250)+"/24")
	start := time.Now()
	l.mustRun("lxc-start", "-n", dyn)
	l.mustRun("lxc-start", "-n", static)
	var got string
	waitFor(20*time.Second, func() bool {
		out, _, _ := l.run("lxc-attach", "-n", dyn, "--", "ip", "-4", "-o", "addr", "show", "eth0")
		if f := strings.Fields(out); len(f) >= 4 && f[2] == "inet" {
			got = strings.Split(f[3], "/")[0]
		}
		return got != ""
	})
	if got == "" || !strings.HasPrefix(got, n.prefix) || got == n.addr(1) {
		t.Fatalf("eth0 of %s after %v: address %q, want one of %s0/24 from dnsmasq", dyn, time.Since(start).Round(time.Millisecond), got, n.prefix)
	}
	t.Logf("DHCP address %s %v after lxc-start", got, time.Since(start).Round(time.Millisecond))
	if leases := readTrim(t, filepath.Join(n.state, "dnsmasq.leases")); !strings.Contains(leases, mac+" "+got+" ") {
		t.Errorf("dnsmasq.leases: no lease of %s for %s:\n%s", got, mac, leases)
	}
	if out := l.attach(dyn, "ip", "route"); !strings.Contains(out, "default via "+n.addr(1)+" dev eth0") {
		t.Errorf("ip route in %s: want the bridge as gateway:\n%s", dyn, out)
	}
	l.attach(dyn, "ping", "-c", "1", "-W", "5", n.addr(1))

	l.attach(static, "ping", "-c", "1", "-W", "5", n.addr(1))
	if out := l.attach(static, "ip", "-4", "-o", "addr", "show", "eth0"); !strings.Contains(out, "inet "+n.addr(250)+"/24") {
		t.Errorf("eth0 of %s (static): %s", static, out)
	}
	if out := l.attach(static, "ps"); strings.Contains(out, "udhcpc") {
		t.Errorf("udhcpc runs in %s, which has a static address:\n%s", static, out)
	}

	if out, code := n.run(t, "stop"); code != 1 || !linkExists(n.bridge) {
		t.Errorf("lxc-net stop with containers on %s: exit %d (%s), want 1 and the bridge kept", n.bridge, code, out)
	}
	l.mustRun("lxc-stop", "-n", dyn)
	l.mustRun("lxc-stop", "-n", static)
	if out, code := n.run(t, "stop"); code != 0 {
		t.Fatalf("lxc-net stop: exit %d: %s", code, out)
	}
	if linkExists(n.bridge) {
		t.Errorf("%s still there after lxc-net stop", n.bridge)
	}
	if out, err := exec.Command("nft", "list", "table", "ip", n.table()).CombinedOutput(); err == nil {
		t.Errorf("nft table %s still there after lxc-net stop:\n%s", n.table(), out)
	}
	if !waitFor(2*time.Second, func() bool { return !alive(pid) }) {
		t.Errorf("dnsmasq %d still running after lxc-net stop", pid)
	}
	if _, err := os.Stat(n.state); !os.IsNotExist(err) {
		t.Errorf("state dir %s after lxc-net stop: %v", n.state, err)
	}
	if fwd := readTrim(t, "/proc/sys/net/ipv4/ip_forward"); fwd != fwdBefore {
		t.Errorf("ip_forward %s after lxc-net stop, was %s", fwd, fwdBefore)
	}
	if after := hostAddrs(t); !slices.Equal(before, after) {
		t.Errorf("addresses of lo and the uplink changed:\nbefore %v\nafter  %v", before, after)
	}
}

// TestLXCDhclientHook: LXC's own dhclient hook (/usr/share/lxc/hooks/
// dhclient, as start-host and stop hook) leases an address for a
// container whose init does no DHCP of its own, from the host's side
// through nsenter into its network namespace, and ends its dhclient when
// the container stops. Not parallel: lxc-net sets the host's ip_forward,
// which TestLxcNetBridgeDHCP checks it gives back.
func TestLXCDhclientHook(t *testing.T) {
	const hook = "/usr/share/lxc/hooks/dhclient"
	for _, p := range []string{hook, "/sbin/dhclient", "/usr/bin/nsenter", "/bin/bash"} {
		if _, err := os.Stat(p); err != nil {
			t.Skipf("%s is not installed (lxc, isc-dhcp-client, util-linux, bash)", p)
		}
	}
	l := newLab(t)
	requireBusybox(t)
	n := newLxcNet(t)
	if out, code := n.run(t, "start"); code != 0 {
		t.Fatalf("lxc-net start: exit %d: %s", code, out)
	}
	c := l.createBusybox("lxc.net.0.type = veth", "lxc.net.0.link = "+n.bridge, "lxc.net.0.flags = up",
		"lxc.net.0.hwaddr = "+randomMAC(), "lxc.init.cmd = /bin/sleep 1000",
		"lxc.hook.start-host = "+hook, "lxc.hook.stop = "+hook)
	l.mustRun("lxc-start", "-n", c)
	l.waitState(c, "RUNNING", 60*time.Second)
	out := l.attach(c, "ip", "-4", "-o", "addr", "show", "eth0")
	f := strings.Fields(out)
	if len(f) < 4 || f[2] != "inet" || !strings.HasPrefix(f[3], n.prefix) {
		t.Fatalf("eth0 of %s with LXC's dhclient hook: %q, want an address of %s0/24", c, out, n.prefix)
	}
	pidfile := filepath.Join(l.path, c, "hook", "dhclient.pid")
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatalf("the hook's dhclient pid file: %v", err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if pid <= 0 || !alive(pid) {
		t.Fatalf("dhclient %q is not running after the start", b)
	}
	// sleep does not halt on a signal: killed, the stop hooks run all
	// the same.
	l.mustRun("lxc-stop", "-n", c, "-k")
	if !waitFor(10*time.Second, func() bool { return !alive(pid) }) {
		syscall.Kill(pid, syscall.SIGKILL)
		t.Errorf("dhclient %d still runs after lxc-stop (the stop hook should end it)", pid)
	}
}
