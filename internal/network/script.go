package network

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// ScriptEnv is the hook environment every lxc.net.N.script.* gets (the
// variables of lxc.container.conf(5), HOOKS, that apply at that time).
func ScriptEnv(name, lxcpath, rootfs string, hookVersion int) []string {
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"LXC_NAME=" + name, "LXC_CONFIG_FILE=" + lxcpath + "/" + name + "/config",
		"LXC_HOOK_VERSION=" + strconv.Itoa(hookVersion)}
	if rootfs != "" {
		env = append(env, "LXC_ROOTFS_PATH="+rootfs, "LXC_ROOTFS_MOUNT="+rootfs)
	}
	return env
}

// hostIf is the host interface a script is told of: a veth's host end,
// else the link.
func hostIf(i Iface, end HostEnd) string {
	if i.Type == "veth" {
		return end.Name
	}
	return i.Link
}

// runScript runs i's script.up or script.down (hook "up" or "down") as
// LXC does: through sh -c, with "NAME net HOOK TYPE HOSTIF" after it
// under lxc.hook.version 0, and LXC_HOOK_TYPE, LXC_HOOK_SECTION,
// LXC_NET_TYPE, LXC_NET_PARENT (and LXC_NET_PEER, a veth's host end) in
// its environment. A non-zero exit is an error with what it wrote.
func runScript(i Iface, hook string, end HostEnd) error {
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
	if i.HookVersion == 0 {
		for _, a := range []string{name, "net", hook, i.Type, hostIf(i, end)} {
			line += " " + shellQuote(a)
		}
	}
	env := append(append([]string(nil), i.ScriptEnv...), "LXC_HOOK_TYPE="+hook, "LXC_HOOK_SECTION=net", "LXC_NET_TYPE="+i.Type)
	switch i.Type {
	case "veth":
		env = append(env, "LXC_NET_PARENT="+i.Link, "LXC_NET_PEER="+end.Name)
	case "macvlan", "phys":
		env = append(env, "LXC_NET_PARENT="+i.Link)
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

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Down runs the script.down of every interface that has one, before the
// host ends go (ends as Setup returned them). Errors are the caller's to
// log: the container is stopping anyway.
func Down(ifaces []Iface, ends []HostEnd) error {
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
		if err := runScript(i, "down", end); err != nil {
			errs = append(errs, fmt.Sprintf("lxc.net.%d: %v", i.Index, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
