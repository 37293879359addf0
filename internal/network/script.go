package network

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"

	"github.com/golxc/golxc/internal/config"
)

// ScriptEnv is the hook environment every lxc.net.N.script.* gets, as
// LXC 5.0.2 gives it (LXC_PID is added when the script runs).
func ScriptEnv(name, lxcpath, rootfs string, hookVersion int) []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LXC_NAME=" + name, "LXC_CONFIG_FILE=" + lxcpath + "/" + name + "/config",
		"LXC_HOOK_VERSION=" + strconv.Itoa(hookVersion), "LXC_CGNS_AWARE=1"}
	if rootfs != "" {
		env = append(env, "LXC_ROOTFS_PATH="+rootfs, "LXC_ROOTFS_MOUNT="+rootfs)
	}
	return env
}

// runScript runs i's script.up or script.down (hook "up" or "down") as
// LXC 5.0.2 does: through sh -c; under lxc.hook.version 0 with the
// arguments "NAME net HOOK TYPE LINK" and, for a veth, its host end
// after the link (an empty link is no argument); under version 1 with
// LXC_HOOK_TYPE, LXC_HOOK_SECTION, LXC_NET_TYPE, LXC_NET_PARENT (and
// LXC_NET_PEER, a veth's host end) in its environment instead. pid is
// the container's init (LXC_PID). A non-zero exit is an error with what
// the script wrote.
func runScript(i Iface, hook string, end HostEnd, pid int) error {
	script := i.ScriptUp
	if hook == "down" {
		script = i.ScriptDown
	}
	if script == "" {
		return nil
	}
	name := ""
	for _, e := range i.ScriptEnv {
		if v, ok := strings.CutPrefix(e, "LXC_NAME="); ok {
			name = v
		}
	}
	line := script
	env := append(append([]string(nil), i.ScriptEnv...), "LXC_PID="+strconv.Itoa(pid))
	if i.HookVersion == 0 {
		for _, a := range []string{name, "net", hook, i.Type, i.Link, end.Name} {
			if a != "" {
				line += " " + config.QuoteWord(a)
			}
		}
	} else {
		env = append(env, "LXC_HOOK_TYPE="+hook, "LXC_HOOK_SECTION=net", "LXC_NET_TYPE="+i.Type)
		switch i.Type {
		case "veth":
			env = append(env, "LXC_NET_PARENT="+i.Link, "LXC_NET_PEER="+end.Name)
		case "macvlan", "phys":
			env = append(env, "LXC_NET_PARENT="+i.Link)
		}
	}
	cmd := exec.Command("/bin/sh", "-c", line)
	cmd.Env = env
	cmd.Dir = "/"
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if devnull, err := os.Open(os.DevNull); err == nil {
		defer devnull.Close()
		cmd.Stdin = devnull
	}
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 512 {
			msg = msg[:512]
		}
		if msg != "" {
			msg = ": " + msg
		}
		return fmt.Errorf("script.%s %s: %w%s", hook, script, err, msg)
	}
	return nil
}

// Down runs the script.down of every interface that has one, before the
// host ends go (ends as Setup returned them; pid the init that was). Errors are the caller's to
// log: the container is stopping anyway.
func Down(ifaces []Iface, ends []HostEnd, pid int) error {
	var errs []string
	for _, i := range ifaces {
		if i.ScriptDown == "" {
			continue
		}
		var end HostEnd
		for _, e := range ends {
			if e.Net == i.Index {
				end = e
			}
		}
		if i.Type == "veth" && end.Name == "" {
			continue // never made
		}
		if err := runScript(i, "down", end, pid); err != nil {
			errs = append(errs, fmt.Sprintf("lxc.net.%d: %v", i.Index, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
