#!/usr/bin/env bash
# Makes the tests' build image, unless Podman has it: a root file system of Debian's
# busybox-static applets (no image registry is reachable from these machines), with a user
# `builder` for run-as and a marker file that only the image has, so a test can tell a build in
# the image from one on the host.
#   tests/images/busybox.sh [NAME]     (default localhost/pipewright-test-busybox:1)
set -euo pipefail
name="${1:-localhost/pipewright-test-busybox:1}"
podman image exists "$name" && exit 0
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
root="$dir/root"
mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/root"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000::/tmp:/bin/sh\n' > "$root/etc/passwd"
printf 'root:x:0:\nbuilder:x:1000:\n' > "$root/etc/group"
echo "inside the test image" > "$root/etc/pipewright-test-image"
tar -C "$root" -cf "$dir/root.tar" .
podman import --quiet "$dir/root.tar" "$name" >/dev/null
