#!/usr/bin/env bash
# Builds the vivid test VM once and caches it under .vm/ (gitignored): a Debian kernel, its
# V4L2 modules in load order, busybox, node and v4l2-ctl with their shared libraries, and koffi.
# The test's own code is packed separately per run (see vivid.ts), so editing src/ never rebuilds
# this base. Recipe: docs/v4l2-testbed.md. Needs: qemu-system-x86 busybox-static kmod cpio
# v4l-utils (Debian packages) and network access for `apt-get download` of the kernel package.
#
# `--loopback` also builds .vm/loopback.cpio.gz, a layer for the compressed-format camera test:
# the v4l2loopback module compiled for this kernel (Debian's v4l2loopback-dkms source against the
# linux-headers package of exactly this kernel version, both fetched with apt-get download; needs
# gcc-12 and make), with ffmpeg and ffprobe and every library they load. Where the module cannot be
# built here, it prints the reason and exits with status 3 (the test then skips, saying why).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/vm/copy-with-libs.sh
. "$root/test/vm/copy-with-libs.sh"
vm="$root/.vm"
mkdir -p "$vm"
exec 9>"$vm/build.lock"
flock 9

node_bin=$(readlink -f "$(command -v node)")
pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$pkg" ] || { echo "build-image: no linux-image-amd64 dependency found (apt-get update?)" >&2; exit 1; }
kver=${pkg#linux-image-}
key="$kver $("$node_bin" --version) $(cat "$0" "$(dirname "$0")/copy-with-libs.sh" | sha256sum | cut -c1-16) $(cat "$root/node_modules/koffi/package.json" | sha256sum | cut -c1-16)"
build_base() {
rm -f "$vm/base.key"

# Kernel: the Debian package's vmlinuz and modules.
if [ ! -d "$vm/kroot/lib/modules/$kver" ]; then
  rm -rf "$vm/kroot" "$vm/dl" && mkdir -p "$vm/dl"
  # apt warns that it downloads as root, unsandboxed, into a root-owned folder: expected here.
  (cd "$vm/dl" && apt-get download "$pkg" 2> >(grep -v 'unsandboxed' >&2) >/dev/null)
  dpkg-deb -x "$vm"/dl/"$pkg"_*.deb "$vm/kroot"
  rm -rf "$vm/dl"
fi
depmod -b "$vm/kroot" "$kver"
cp "$vm/kroot/boot/vmlinuz-$kver" "$vm/vmlinuz"

rootfs="$vm/rootfs"
rm -rf "$rootfs"
mkdir -p "$rootfs"/{bin,dev,proc,sys,tmp,modules,app/node_modules/@koromix}

# vivid's modules.dep line lists its dependencies; loading them in reverse order satisfies each one.
moddir="$vm/kroot/lib/modules/$kver"
vivid_line=$(grep -E '/vivid\.ko(\.[a-z]+)?:' "$moddir/modules.dep")
read -r -a deps <<<"${vivid_line#*:}"
order=()
for ((i = ${#deps[@]} - 1; i >= 0; i--)); do order+=("${deps[$i]}"); done
order+=("${vivid_line%%:*}")
: >"$rootfs/modules/order"
for mod in "${order[@]}"; do
  name=$(basename "$mod"); name=${name%.xz}; name=${name%.zst}
  case "$mod" in
    *.xz) xz -dc "$moddir/$mod" >"$rootfs/modules/$name" ;;
    *.zst) zstd -qdc "$moddir/$mod" >"$rootfs/modules/$name" ;;
    *) cp "$moddir/$mod" "$rootfs/modules/$name" ;;
  esac
  echo "$name" >>"$rootfs/modules/order"
done

cp "$(readlink -f "$(command -v busybox)")" "$rootfs/bin/busybox"
copy_with_libs "$rootfs" "$node_bin" /usr/bin/node
copy_with_libs "$rootfs" "$(readlink -f "$(command -v v4l2-ctl)")" /usr/bin/v4l2-ctl

# koffi and its prebuilt native module (the guest script is bundled without it).
cp -r "$root/node_modules/koffi" "$rootfs/app/node_modules/koffi"
cp -r "$root/node_modules/@koromix/koffi-linux-x64" "$rootfs/app/node_modules/@koromix/"

cat >"$rootfs/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in $(cat /modules/order); do
  insmod "/modules/$m" || echo "VMTEST-INSMOD-FAILED $m"
done
i=0
while [ ! -e /dev/video0 ] && [ $i -lt 20 ]; do sleep 1; i=$((i + 1)); done
cd /app && HOME=/tmp node guest.mjs
echo "VMTEST-EXIT $?"
poweroff -f
INIT
chmod +x "$rootfs/init"

(cd "$rootfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$vm/base.cpio.gz.tmp"
mv "$vm/base.cpio.gz.tmp" "$vm/base.cpio.gz"
# The unpacked kernel package (~400 MB) is only needed to build: a rebuild downloads it again (~70 MB).
rm -rf "$rootfs" "$vm/kroot"
echo "$key" >"$vm/base.key"
echo "build-image: kernel $kver, $(du -h "$vm/base.cpio.gz" | cut -f1) initramfs"
}

if ! { [ -f "$vm/base.key" ] && [ "$(cat "$vm/base.key")" = "$key" ] && [ -f "$vm/base.cpio.gz" ] && [ -f "$vm/vmlinuz" ]; }; then
  build_base
fi
[ "${1:-}" = "--loopback" ] || exit 0

# --- The v4l2loopback layer ------------------------------------------------------------------
skip() { echo "build-image: v4l2loopback cannot be built here: $*" >&2; exit 3; }
ffmpeg_bin=$(readlink -f "$(command -v ffmpeg)") || skip "ffmpeg not found (apt-get install ffmpeg)"
ffprobe_bin=$(readlink -f "$(command -v ffprobe)") || skip "ffprobe not found (apt-get install ffmpeg)"
loop_key="$key $(sha256sum "$ffmpeg_bin" "$ffprobe_bin" | cut -c1-16 | tr '\n' ' ')$(apt-cache policy v4l2loopback-dkms | awk '/Candidate:/{print $2}')"
if [ -f "$vm/loopback.key" ] && [ "$(cat "$vm/loopback.key")" = "$loop_key" ] && [ -f "$vm/loopback.cpio.gz" ]; then
  exit 0
fi
rm -f "$vm/loopback.key"
command -v make >/dev/null || skip "make not found (apt-get install make)"
headers="linux-headers-$kver"
apt-cache show "$headers" >/dev/null 2>&1 || skip "no package $headers for the VM's kernel (apt-get update?)"
apt-cache show v4l2loopback-dkms >/dev/null 2>&1 || skip "no package v4l2loopback-dkms (Debian contrib/main, apt-get update?)"
# The headers package and what it needs to build a module: the common headers and kbuild's tools.
deps=$(apt-cache depends "$headers" | awk '/Depends: linux-(headers|kbuild)-/{print $2}')
build="$vm/loopback-build"
rm -rf "$build" && mkdir -p "$build/dl" "$build/root"
(cd "$build/dl" && apt-get download "$headers" $deps v4l2loopback-dkms 2> >(grep -v 'unsandboxed' >&2) >/dev/null) || skip "apt-get download of $headers or v4l2loopback-dkms failed"
for deb in "$build"/dl/*.deb; do dpkg-deb -x "$deb" "$build/root"; done
kdir="$build/root/usr/src/$headers"
# The package's Makefile includes the common tree by its installed (absolute) path.
sed -i "s|include /usr/src/|include $build/root/usr/src/|" "$kdir/Makefile"
# The kernel was built with gcc-12 (the headers' .kernelvariables names it): the module must be too.
kcc=$(grep -oE 'gcc-[0-9]+' "$kdir/.kernelvariables" | head -1 || true)
command -v "${kcc:-gcc}" >/dev/null || skip "${kcc:-gcc} not found (the compiler this kernel was built with; apt-get install ${kcc:-gcc})"
src=$(ls -d "$build"/root/usr/src/v4l2loopback-*)
make -s -C "$kdir" M="$src" modules >"$build/make.log" 2>&1 || { tail -20 "$build/make.log" >&2; echo "build-image: building v4l2loopback failed" >&2; exit 1; }

layer="$vm/loopback-layer"
rm -rf "$layer" && mkdir -p "$layer/modules"
cp "$src/v4l2loopback.ko" "$layer/modules/"
for bin in "$ffmpeg_bin" "$ffprobe_bin"; do copy_with_libs "$layer" "$bin"; done
(cd "$layer" && find . | cpio -o -H newc --quiet | gzip -1) >"$vm/loopback.cpio.gz.tmp"
mv "$vm/loopback.cpio.gz.tmp" "$vm/loopback.cpio.gz"
rm -rf "$layer" "$build"
echo "$loop_key" >"$vm/loopback.key"
echo "build-image: v4l2loopback $(basename "$src" | sed 's/v4l2loopback-//') for $kver, $(du -h "$vm/loopback.cpio.gz" | cut -f1) layer with ffmpeg and ffprobe"
