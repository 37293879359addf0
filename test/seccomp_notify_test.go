package test

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// notifyCall is what the test proxy saw of one forwarded call.
type notifyCall struct {
	reserved            uint64
	monitorPID, initPID int
	nr                  int32
	cookie              string
	fds                 int
}

// TestSeccompNotifyProxy: a policy's notify action reaches the proxy of
// lxc.seccomp.notify.proxy in LXC's format (the monitor's and init's
// pids, the call, the cookie, three descriptors), and the proxy's answer
// is what the container's call returns.
func TestSeccompNotifyProxy(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	sock := filepath.Join(l.aux, "proxy.sock")
	ln, err := unix.Socket(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(ln)
	if err := unix.Bind(ln, &unix.SockaddrUnix{Name: sock}); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(ln, 4); err != nil {
		t.Fatal(err)
	}
	calls := make(chan notifyCall, 16)
	serve := func(c int) {
		defer unix.Close(c)
		for {
			b := make([]byte, 4096)
			oob := make([]byte, unix.CmsgSpace(8*4))
			n, oobn, _, _, err := unix.Recvmsg(c, b, oob, 0)
			if err != nil || n < 32+80+24 {
				return
			}
			call := notifyCall{reserved: binary.NativeEndian.Uint64(b[0:]), monitorPID: int(int32(binary.NativeEndian.Uint32(b[8:]))),
				initPID: int(int32(binary.NativeEndian.Uint32(b[12:])))}
			notif := int(binary.NativeEndian.Uint16(b[16:]))
			resp := int(binary.NativeEndian.Uint16(b[18:]))
			cookieLen := int(binary.NativeEndian.Uint64(b[24:]))
			call.nr = int32(binary.NativeEndian.Uint32(b[32+16:]))
			if 32+notif+resp+cookieLen <= n {
				call.cookie = string(b[32+notif+resp : 32+notif+resp+cookieLen])
			}
			if cms, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
				for _, cm := range cms {
					if fds, err := unix.ParseUnixRights(&cm); err == nil {
						call.fds += len(fds)
						for _, fd := range fds {
							unix.Close(fd)
						}
					}
				}
			}
			calls <- call
			// The answer: the call fails with EACCES.
			id := binary.NativeEndian.Uint64(b[32:])
			r := b[32+notif : 32+notif+resp]
			binary.NativeEndian.PutUint64(r[0:], id)
			binary.NativeEndian.PutUint64(r[8:], 0)
			errno := -int32(unix.EACCES)
			binary.NativeEndian.PutUint32(r[16:], uint32(errno))
			binary.NativeEndian.PutUint32(r[20:], 0)
			if err := unix.Sendmsg(c, b[:n], nil, nil, 0); err != nil {
				return
			}
		}
	}
	go func() {
		for {
			c, _, err := unix.Accept(ln)
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	policy := l.writeFile("notify.seccomp", "2\ndenylist\nmkdir notify\nmkdirat notify\n", 0o644)
	n := l.createBusybox("lxc.seccomp.profile = "+policy, "lxc.seccomp.notify.proxy = unix:"+sock, "lxc.seccomp.notify.cookie = c00kie")
	l.mustRun("lxc-start", "-n", n, "--", "/bin/sh", "-c", "mkdir /tmp/made 2>/tmp/err; echo $? > /tmp/result; exec sleep 1000")
	l.waitState(n, "RUNNING", 10*time.Second)
	init := l.initPID(n)
	mons := monitorPIDs(l.path, n)
	var call notifyCall
	select {
	case call = <-calls:
	case <-time.After(20 * time.Second):
		t.Fatal("no call reached the proxy")
	}
	if call.reserved != 0 || call.initPID != init || len(mons) != 1 || call.monitorPID != mons[0] || call.cookie != "c00kie" || call.fds != 3 {
		t.Errorf("proxy message %+v; want init %d, monitor %v, cookie c00kie, 3 descriptors", call, init, mons)
	}
	if call.nr != unix.SYS_MKDIR && call.nr != unix.SYS_MKDIRAT {
		t.Errorf("forwarded system call %d, want mkdir or mkdirat", call.nr)
	}
	root := "/proc/" + strconv.Itoa(init) + "/root"
	var result []byte
	waitFor(10*time.Second, func() bool {
		result, _ = os.ReadFile(root + "/tmp/result")
		return len(result) > 0
	})
	errText, _ := os.ReadFile(root + "/tmp/err")
	if strings.TrimSpace(string(result)) == "0" || !strings.Contains(string(errText), "Permission denied") {
		t.Errorf("mkdir under the proxy's EACCES: status %q, stderr %q", result, errText)
	}
	if _, err := os.Stat(root + "/tmp/made"); err == nil {
		t.Errorf("the directory was made although the proxy said EACCES")
	}

	// lxc-execute: golxc's own init stays, the command it runs is under
	// the filter, and its call is forwarded too.
	m := l.createBusybox("lxc.seccomp.profile = "+policy, "lxc.seccomp.notify.proxy = unix:"+sock, "lxc.seccomp.notify.cookie = c00kie")
	out, errs, code := l.run("lxc-execute", "-n", m, "--", "/bin/sh", "-c", "mkdir /tmp/made; echo status $?")
	if code != 0 || !strings.Contains(out, "status 1") || !strings.Contains(errs, "Permission denied") {
		t.Errorf("lxc-execute under the proxy: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	select {
	case call = <-calls:
		if call.cookie != "c00kie" || call.fds != 3 {
			t.Errorf("lxc-execute's proxy message %+v", call)
		}
	default:
		t.Error("lxc-execute's call did not reach the proxy")
	}
	// A proxy that is not there: the call fails with ENOSYS, as LXC's.
	k := l.createBusybox("lxc.seccomp.profile = "+policy, "lxc.seccomp.notify.proxy = unix:"+filepath.Join(l.aux, "none.sock"))
	out, errs, code = l.run("lxc-execute", "-n", k, "--", "/bin/sh", "-c", "mkdir /tmp/made; echo status $?")
	if code != 0 || !strings.Contains(out, "status 1") || !strings.Contains(errs, "Function not implemented") {
		t.Errorf("lxc-execute without a proxy: exit %d, stdout %q, stderr %q", code, out, errs)
	}
}
