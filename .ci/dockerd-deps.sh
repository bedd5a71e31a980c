#!/bin/sh
# Installs what the real-Docker tests need, only if missing: dockerd (Debian's docker.io)
# and a statically linked busybox (busybox-static) to build the test image from, since no
# image can be pulled. A dockerd that is already there (docker-ce, moby) is kept: installing
# docker.io over it would conflict.
set -eu

missing=""
command -v dockerd >/dev/null 2>&1 || missing="$missing docker.io"
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q "install ok installed" ||
    missing="$missing busybox-static"

if [ -z "$missing" ]; then
    echo "dockerd-deps: dockerd and busybox-static are installed"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    sudo="sudo"
fi
echo "dockerd-deps: installing$missing"
$sudo apt-get update
# shellcheck disable=SC2086 # $missing is a list of package names
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
