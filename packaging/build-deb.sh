#!/bin/sh
# build-deb.sh SOURCE_ROOT OUTDIR - build the mm32d .deb from the working tree (`make deb`).
#
# Copies the files git knows or would add (not build/, node_modules/, var/) into a fresh
# directory, puts packaging/debian there as debian/, runs dpkg-buildpackage (binary only,
# unsigned) and copies the .deb into OUTDIR. Needs debhelper, dpkg-dev and the build
# dependencies of packaging/debian/control (`make deps` installs them).
set -eu
src=$(cd "${1:?usage: build-deb.sh SOURCE_ROOT OUTDIR}" && pwd)
mkdir -p "${2:?usage: build-deb.sh SOURCE_ROOT OUTDIR}"
out=$(cd "$2" && pwd)

version=$(dpkg-parsechangelog -l "$src/packaging/debian/changelog" -S Version)
work=$(mktemp -d "${TMPDIR:-/tmp}/mm32-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
tree="$work/mm32-$version"
mkdir "$tree"

if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# files deleted in the working tree are still in the index: copy those that exist
	git -C "$src" ls-files -z --cached --others --exclude-standard |
		(cd "$src" && xargs -0 sh -c 'for f; do [ -f "$f" ] && printf "%s\0" "$f"; done' sh) |
		tar -C "$src" --null -T - -cf - | tar -C "$tree" -xf -
else
	tar -C "$src" --exclude=./build --exclude='./build-*' --exclude=./node_modules \
		--exclude=./var --exclude='./*.deb' -cf - . | tar -C "$tree" -xf -
fi
rm -rf "$tree/debian"
cp -R "$src/packaging/debian" "$tree/debian"

(cd "$tree" && dpkg-buildpackage --build=binary --no-sign)
cp "$work"/*.deb "$out"/
ls -1 "$work"/*.deb | sed 's|.*/|built: |'
