#!/usr/bin/env bash
# Packs ffmpeg and ustreamer with every library ldd names into .vm/bench-tools.cpio.gz, a layer
# unpacked over the vivid VM's base image (test/vm/build-image.sh) for `npm run bench:vm`.
# Rebuilt only when either binary or this script changes. Needs the Debian packages ffmpeg and ustreamer.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=test/vm/copy-with-libs.sh
. "$root/test/vm/copy-with-libs.sh"
vm="$root/.vm"
mkdir -p "$vm"
exec 9>"$vm/build.lock"
flock 9

ffmpeg_bin=$(readlink -f "$(command -v ffmpeg)") || { echo "build-tools: ffmpeg not found (apt-get install ffmpeg)" >&2; exit 1; }
ustreamer_bin=$(readlink -f "$(command -v ustreamer)") || { echo "build-tools: ustreamer not found (apt-get install ustreamer)" >&2; exit 1; }
key="$(sha256sum "$ffmpeg_bin" "$ustreamer_bin" "$0" "$(dirname "$0")/../../test/vm/copy-with-libs.sh" | cut -c1-16 | tr '\n' ' ')"
if [ -f "$vm/bench-tools.key" ] && [ "$(cat "$vm/bench-tools.key")" = "$key" ] && [ -f "$vm/bench-tools.cpio.gz" ]; then
  exit 0
fi

rootfs="$vm/bench-tools"
rm -rf "$rootfs"
for bin in "$ffmpeg_bin" "$ustreamer_bin"; do copy_with_libs "$rootfs" "$bin"; done
(cd "$rootfs" && find . | cpio -o -H newc --quiet | gzip -1) >"$vm/bench-tools.cpio.gz.tmp"
mv "$vm/bench-tools.cpio.gz.tmp" "$vm/bench-tools.cpio.gz"
rm -rf "$rootfs"
echo "$key" >"$vm/bench-tools.key"
echo "build-tools: $(du -h "$vm/bench-tools.cpio.gz" | cut -f1) layer with ffmpeg and ustreamer"
