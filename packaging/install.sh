#!/bin/sh
# golxc's install layout, for make install, make uninstall and make deb.
#
#   packaging/install.sh install|uninstall|stage
#
# Settings from the environment (the Makefile passes them): DESTDIR, PREFIX,
# BINDIR, SHAREDIR, LIBEXECDIR, UNITDIR, MANDIR, BASHCOMPDIR, ZSHCOMPDIR,
# FISHCOMPDIR, SYSCONFDIR; BUILD (where mangen wrote man/ and completions/);
# GOLXC, the binary to install (bin/golxc).
#
# What goes where is decided by rules, not lists: every tool the binary
# names (golxc --list-tools) gets a link, a man page and completions;
# every file of templates/ is installed by its name:
#   *.service, *.timer, *.socket, *.target
#                        PREFIX/lib/systemd/system, @BINDIR@ @LIBEXECDIR@
#                        @SHAREDIR@ @SYSCONFDIR@ replaced by the real paths
#   lxc-net              PREFIX/libexec/golxc (a service's helper, not a template)
#   lxc-*                PREFIX/share/golxc/templates (lxc-create -t NAME)
# and any other file there is an error, so a new kind of file gets a rule.
#
# install also writes SYSCONFDIR/lxc/default.conf when there is none, and a
# manifest (SHAREDIR/install-manifest) of every file, link and directory it
# made; uninstall removes exactly those (default.conf only if unchanged,
# directories only if empty) and nothing else. stage lays out a package's
# tree (make deb): no manifest, default.conf in SHAREDIR for the
# postinst to copy.
set -eu

mode=${1:?usage: install.sh install|uninstall|stage}
: "${DESTDIR=}" "${PREFIX:=/usr/local}" "${BUILD:=build}"
: "${BINDIR:=$PREFIX/bin}" "${SHAREDIR:=$PREFIX/share/golxc}" "${LIBEXECDIR:=$PREFIX/libexec/golxc}"
: "${UNITDIR:=$PREFIX/lib/systemd/system}" "${MANDIR:=$PREFIX/share/man}"
: "${BASHCOMPDIR:=$PREFIX/share/bash-completion/completions}"
: "${ZSHCOMPDIR:=$PREFIX/share/zsh/vendor-completions}"
: "${FISHCOMPDIR:=$PREFIX/share/fish/vendor_completions.d}"
: "${SYSCONFDIR:=/etc}" "${GOLXC:=bin/golxc}"

manifest=$DESTDIR$SHAREDIR/install-manifest
log=

die() {
	echo "install.sh: $*" >&2
	exit 1
}

# record adds a line to the manifest being built (type path [sum]).
record() {
	log="$log$*
"
}

# mkdirs makes directory $1 (under DESTDIR) and its missing parents,
# recording each one it made.
mkdirs() {
	[ -d "$DESTDIR$1" ] && return 0
	case $1 in /) mkdir -p "$DESTDIR/" && return 0 ;; esac
	mkdirs "$(dirname "$1")"
	mkdir -m 0755 "$DESTDIR$1"
	record d "$1"
}

# fresh refuses to overwrite what is not golxc's: a previous install's
# files are gone by now (install uninstalls it first).
fresh() {
	if [ -e "$DESTDIR$1" ] || [ -L "$DESTDIR$1" ]; then
		[ "$mode" = stage ] || die "$DESTDIR$1 exists and is not from a golxc install: remove it or choose another PREFIX"
	fi
}

# put installs file $1 as $2 with mode $3.
put() {
	mkdirs "$(dirname "$2")"
	fresh "$2"
	install -m "$3" "$1" "$DESTDIR$2"
	record f "$2"
}

# unit installs a systemd unit with the install paths filled in.
unit() {
	mkdirs "$UNITDIR"
	fresh "$UNITDIR/$2"
	sed -e "s|@BINDIR@|$BINDIR|g" -e "s|@LIBEXECDIR@|$LIBEXECDIR|g" \
		-e "s|@SHAREDIR@|$SHAREDIR|g" -e "s|@SYSCONFDIR@|$SYSCONFDIR|g" "$1" >"$DESTDIR$UNITDIR/$2"
	chmod 0644 "$DESTDIR$UNITDIR/$2"
	record f "$UNITDIR/$2"
}

do_install() {
	[ -x "$GOLXC" ] || die "$GOLXC is not built: run make"
	tools=$("$GOLXC" --list-tools)
	[ -n "$tools" ] || die "bin/golxc --list-tools names no tool"
	for t in $tools; do
		[ -f "$BUILD/man/man1/$t.1" ] || die "$BUILD/man/man1/$t.1 is missing: run make docs"
	done
	put "$GOLXC" "$BINDIR/golxc" 0755
	for t in $tools; do
		fresh "$BINDIR/$t"
		ln -s golxc "$DESTDIR$BINDIR/$t"
		record l "$BINDIR/$t"
	done
	for f in templates/*; do
		[ -f "$f" ] || continue
		b=$(basename "$f")
		case $b in
		*.service | *.timer | *.socket | *.target) unit "$f" "$b" ;;
		lxc-net) put "$f" "$LIBEXECDIR/$b" 0755 ;;
		lxc-*) put "$f" "$SHAREDIR/templates/$b" 0755 ;;
		*) die "templates/$b: no install rule for this kind of file (see packaging/install.sh)" ;;
		esac
	done
	for f in "$BUILD"/man/man1/*.1 "$BUILD"/man/man5/*.5; do
		s=${f##*.}
		if [ "$mode" = stage ]; then
			mkdirs "$MANDIR/man$s"
			gzip -9n <"$f" >"$DESTDIR$MANDIR/man$s/$(basename "$f").gz"
			chmod 0644 "$DESTDIR$MANDIR/man$s/$(basename "$f").gz"
		else
			put "$f" "$MANDIR/man$s/$(basename "$f")" 0644
		fi
	done
	for t in $tools; do
		put "$BUILD/completions/bash/$t" "$BASHCOMPDIR/$t" 0644
		put "$BUILD/completions/zsh/_$t" "$ZSHCOMPDIR/_$t" 0644
		put "$BUILD/completions/fish/$t.fish" "$FISHCOMPDIR/$t.fish" 0644
	done
	if [ "$mode" = stage ]; then
		put packaging/default.conf "$SHAREDIR/default.conf" 0644
		return
	fi
	conf=$SYSCONFDIR/lxc/default.conf
	if [ -e "$DESTDIR$conf" ] || [ -L "$DESTDIR$conf" ]; then
		echo "install.sh: keeping $DESTDIR$conf"
	else
		mkdirs "$(dirname "$conf")"
		install -m 0644 packaging/default.conf "$DESTDIR$conf"
		record c "$conf" "$(sha256sum <packaging/default.conf | cut -d' ' -f1)"
	fi
	mkdirs "$SHAREDIR"
	record f "${manifest#"$DESTDIR"}"
	printf '%s' "$log" >"$manifest"
}

do_uninstall() {
	[ -f "$manifest" ] || {
		echo "install.sh: no golxc install under $DESTDIR$PREFIX ($manifest is missing)"
		return 0
	}
	# Files first, then directories deepest first, each only if empty.
	dirs=$(grep '^d ' "$manifest" | cut -d' ' -f2- | sort -r)
	while read -r type path sum; do
		case $type in
		f | l) rm -f "$DESTDIR$path" ;;
		c)
			if [ "$(sha256sum <"$DESTDIR$path" 2>/dev/null | cut -d' ' -f1)" = "$sum" ]; then
				rm -f "$DESTDIR$path"
			else
				echo "install.sh: keeping $DESTDIR$path (changed since install)"
			fi
			;;
		esac
	done <"$manifest"
	printf '%s\n' "$dirs" | while read -r dir; do
		rmdir "$DESTDIR$dir" 2>/dev/null || true
	done
}

case $mode in
install)
	if [ -f "$manifest" ]; then
		do_uninstall
	fi
	do_install
	;;
stage) do_install ;;
uninstall) do_uninstall ;;
*) die "unknown mode $mode" ;;
esac
