# Sourced by the VM image builders (test/vm/build-image.sh, bench/vm/build-tools.sh).
# copy_with_libs LAYER BIN [DEST]: copies a host binary into the layer folder at DEST (default
# /usr/bin/<its name>), with every shared library ldd names, each at its own path.
copy_with_libs() {
  local layer=$1 bin=$2 dest=${3:-/usr/bin/$(basename "$2")} lib
  mkdir -p "$layer$(dirname "$dest")"
  cp "$bin" "$layer$dest"
  for lib in $(ldd "$bin" | grep -oE '/[^ ]+'); do
    mkdir -p "$layer$(dirname "$lib")"
    cp -L "$lib" "$layer$lib"
  done
}
