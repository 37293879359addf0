#!/bin/sh
# The golxc demo: create a busybox container, start it, look inside, stop
# it and destroy it, in a throw-away lxcpath so the host's containers are
# never touched. Run as root after `make`.
set -eu
bin=$(cd "$(dirname "$0")" && pwd)/bin
lxcpath=$(mktemp -d /tmp/golxc-demo.XXXXXX)
conf=$lxcpath/demo.conf
name=demo
cleanup() {
	"$bin/lxc-destroy" -P "$lxcpath" -n "$name" -f >/dev/null 2>&1 || true
	rm -rf "$lxcpath"
}
trap cleanup EXIT INT TERM
# A container with its own, empty network namespace (loopback only).
echo 'lxc.net.0.type = empty' > "$conf"
step() { printf '\n$ %s\n' "$*"; "$@"; }
step "$bin/lxc-create" -P "$lxcpath" -n "$name" -t busybox -f "$conf"
step "$bin/lxc-start" -P "$lxcpath" -n "$name"
step "$bin/lxc-ls" -P "$lxcpath" -f
step "$bin/lxc-attach" -P "$lxcpath" -n "$name" -- ps
step "$bin/lxc-attach" -P "$lxcpath" -n "$name" -- hostname
step "$bin/lxc-info" -P "$lxcpath" -n "$name"
step "$bin/lxc-stop" -P "$lxcpath" -n "$name"
step "$bin/lxc-info" -P "$lxcpath" -n "$name"
step "$bin/lxc-destroy" -P "$lxcpath" -n "$name"
echo
echo "demo done"
