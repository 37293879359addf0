#!/bin/sh
# make deb: a Debian package of golxc's install layout under /usr (the
# layout of packaging/install.sh), built with dpkg-deb.
#
#   packaging/deb.sh OUTDIR
#
# Settings from the environment: GOLXC (the binary, bin/golxc), BUILD
# (mangen's output, build), VERSION (golxc's, made a Debian version: a tag
# v1.2.3 gives 1.2.3, anything else 0~gitVERSION), DEB_COMPRESS (xz; the
# tests take gzip, faster). Prints the .deb's path.
set -eu
out=${1:?usage: deb.sh OUTDIR}
: "${GOLXC:=bin/golxc}" "${BUILD:=build}" "${VERSION:=dev}" "${DEB_COMPRESS:=xz}"
root=$out/root
rm -rf "$root"
mkdir -p "$root/DEBIAN"
DESTDIR=$root PREFIX=/usr GOLXC=$GOLXC BUILD=$BUILD sh packaging/install.sh stage >/dev/null
version=$(echo "$VERSION" | sed -e 's/^v\([0-9]\)/\1/' -e '/^[0-9][0-9]*\./!s/^/0~git/' -e 's/-/+/g')
arch=$(dpkg --print-architecture)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" \
	-e "s|@SIZE@|$(du -sk --exclude=DEBIAN "$root" | cut -f1)|" \
	-e "s|@LXCVERSION@|$("$GOLXC" --version | head -n1)|" packaging/deb/control.in >"$root/DEBIAN/control"
install -m 0755 packaging/deb/postinst "$root/DEBIAN/postinst"
sed "s|@DEFAULT_CONF_SHA256@|$(sha256sum <packaging/default.conf | cut -d' ' -f1)|" packaging/deb/postrm >"$root/DEBIAN/postrm"
chmod 0755 "$root/DEBIAN/postrm"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
deb=$out/golxc_${version}_$arch.deb
dpkg-deb --root-owner-group -Z"$DEB_COMPRESS" --build "$root" "$deb" >/dev/null
rm -rf "$root"
echo "$deb"
