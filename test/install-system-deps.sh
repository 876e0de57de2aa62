#!/usr/bin/env bash
# Debian packages the test suite uses: a real MQTT broker (mosquitto), ffmpeg/ffprobe for the
# stream pipeline, and qemu + busybox + kmod + cpio + v4l-utils to boot the kernel's vivid
# V4L2 driver in a VM (see test/vm/README.md), with gcc-12 and make to build the v4l2loopback module
# for that VM's kernel. Chromium drives the web panel's end-to-end test.
# python3-socketio runs a real python-socketio monitor (the Altoponix original is a Python server).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq -o DPkg::Lock::Timeout=300 --no-install-recommends \
  mosquitto ffmpeg qemu-system-x86 busybox-static kmod cpio v4l-utils gcc-12 make ca-certificates python3-socketio python3-websocket chromium >/dev/null
echo "system packages installed"
