#!/usr/bin/env bash
# Builds the Debian packages with dpkg-deb alone (`make deb`):
#   OUT/drover_VERSION_ARCH.deb                  the binary, drover.service,
#       /etc/drover/drover.conf, man pages, bash/zsh/fish completions
#   OUT/drover-supervisor-compat_VERSION_all.deb supervisord and supervisorctl
#       as links to drover, supervisor.service, /etc/supervisor/supervisord.conf;
#       it Conflicts/Replaces/Provides Debian's supervisor.
# VERSION is drover's version (0.1.0-dev becomes the Debian version 0.1.0~dev).
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${VERSION:?set VERSION}"
GO=${GO:-go}
OUT=${OUT:-bin}
MAINTAINER=${MAINTAINER:-drover developers <drover-sh@users.noreply.github.com>}
debver=$(printf '%s' "${VERSION#v}" | sed 's/-/~/g')
arch=$(dpkg --print-architecture)
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
mkdir -p "$OUT"
stage=$(mktemp -d "$OUT/deb-stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT
here=packaging

# script NAME PACKAGE UNIT LOGDIR DEST: a maintainer script from its template.
script() {
	sed -e "s|@PACKAGE@|$2|g" -e "s|@UNIT@|$3|g" -e "s|@LOGDIR@|$4|g" "$here/deb/$1" >"$5/DEBIAN/$1"
	chmod 0755 "$5/DEBIAN/$1"
}

# control DIR: Installed-Size and the common fields; the rest on stdin.
control() {
	local size
	size=$(du -sk --exclude=DEBIAN "$1" | cut -f1)
	{
		cat
		echo "Installed-Size: $size"
		echo "Maintainer: $MAINTAINER"
		echo "Section: admin"
		echo "Priority: optional"
		echo "Homepage: https://github.com/drover-sh/drover"
	} >"$1/DEBIAN/control"
}

# --- drover
d=$stage/drover
install -d "$d/DEBIAN" "$d/usr/bin" "$d/lib/systemd/system" "$d/etc/drover/conf.d" \
	"$d/usr/share/man/man1" "$d/usr/share/bash-completion/completions" \
	"$d/usr/share/zsh/vendor-completions" "$d/usr/share/fish/vendor_completions.d" \
	"$d/usr/share/doc/drover/docs" "$d/var/log/drover"
CGO_ENABLED=0 $GO build -trimpath -ldflags "-s -w -X github.com/drover-sh/drover/internal/cli.Version=$VERSION" \
	-o "$d/usr/bin/drover" ./cmd/drover
# The pages and scripts come from the command tree of this same source.
$GO run -ldflags "-X github.com/drover-sh/drover/internal/cli.Version=$VERSION" ./packaging/gendoc \
	-man "$stage/man" -completions "$stage/comp"
for p in "$stage"/man/*.1; do gzip -9n <"$p" >"$d/usr/share/man/man1/$(basename "$p").gz"; done
install -m 0644 "$stage/comp/drover.bash" "$d/usr/share/bash-completion/completions/drover"
install -m 0644 "$stage/comp/_drover" "$d/usr/share/zsh/vendor-completions/_drover"
install -m 0644 "$stage/comp/drover.fish" "$d/usr/share/fish/vendor_completions.d/drover.fish"
install -m 0644 "$here/systemd/drover.service" "$d/lib/systemd/system/drover.service"
install -m 0644 "$here/etc/drover.conf" "$d/etc/drover/drover.conf"
install -m 0644 README.md "$d/usr/share/doc/drover/README.md"
install -m 0644 docs/*.md "$d/usr/share/doc/drover/docs/"
echo /etc/drover/drover.conf >"$d/DEBIAN/conffiles"
for s in postinst prerm postrm; do script $s drover drover.service /var/log/drover "$d"; done
control "$d" <<CONTROL
Package: drover
Version: $debver
Architecture: $arch
Suggests: drover-supervisor-compat
Description: process supervisor compatible with supervisord
 drover reads supervisord.conf, answers supervisorctl and supervisord's
 XML-RPC API, and reloads servers without downtime. It runs as
 drover.service (Type=notify) on /etc/drover/drover.conf; it does not
 touch Debian's supervisor package (see drover-supervisor-compat).
CONTROL
dpkg-deb --root-owner-group -Zxz --build "$d" "$OUT/drover_${debver}_${arch}.deb" >/dev/null

# --- drover-supervisor-compat
c=$stage/compat
install -d "$c/DEBIAN" "$c/usr/bin" "$c/lib/systemd/system" "$c/etc/supervisor/conf.d" \
	"$c/usr/share/man/man1" "$c/var/log/supervisor" "$c/usr/share/doc/drover-supervisor-compat"
ln -s drover "$c/usr/bin/supervisord"
ln -s drover "$c/usr/bin/supervisorctl"
echo ".so man1/drover-run.1" | gzip -9n >"$c/usr/share/man/man1/supervisord.1.gz"
echo ".so man1/drover-ctl.1" | gzip -9n >"$c/usr/share/man/man1/supervisorctl.1.gz"
install -m 0644 "$here/systemd/supervisor.service" "$c/lib/systemd/system/supervisor.service"
install -m 0644 "$here/deb/supervisord.conf" "$c/etc/supervisor/supervisord.conf"
install -m 0644 "$here/deb/compat-README" "$c/usr/share/doc/drover-supervisor-compat/README"
echo /etc/supervisor/supervisord.conf >"$c/DEBIAN/conffiles"
for s in postinst prerm postrm; do script $s drover-supervisor-compat supervisor.service /var/log/supervisor "$c"; done
control "$c" <<CONTROL
Package: drover-supervisor-compat
Version: $debver
Architecture: all
Depends: drover (= $debver)
Conflicts: supervisor
Replaces: supervisor
Provides: supervisor (= 4.2.5)
Description: drover in place of Debian's supervisor package
 Installs supervisord and supervisorctl as links to drover (which then
 takes their command lines and prints their version), supervisor.service
 running drover on /etc/supervisor/supervisord.conf, and that file. The
 programs in /etc/supervisor/conf.d/ and scripts calling supervisorctl
 keep working. Replaces the supervisor package (not pidproxy or
 echo_supervisord_conf).
CONTROL
dpkg-deb --root-owner-group -Zxz --build "$c" "$OUT/drover-supervisor-compat_${debver}_all.deb" >/dev/null
echo "$OUT/drover_${debver}_${arch}.deb"
echo "$OUT/drover-supervisor-compat_${debver}_all.deb"
