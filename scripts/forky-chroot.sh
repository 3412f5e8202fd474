#!/usr/bin/env bash
# Creates (once) a Debian forky chroot with QEMU 11.x and containerd 2.x for the acceptance tests that need newer
# versions than bookworm ships: QEMU parsing the SEV-SNP / TDX command lines, and containerd 2.x running the shim.
# Usage: scripts/forky-chroot.sh [DIR]   (default: $CCGPU_FORKY_ROOT or /var/lib/ccgpu/forky)
set -euo pipefail
DIR=${1:-${CCGPU_FORKY_ROOT:-/var/lib/ccgpu/forky}}
PKGS=qemu-system-x86,containerd,runc,ca-certificates
if [ -x "$DIR/usr/bin/qemu-system-x86_64" ] && [ -x "$DIR/usr/bin/containerd" ] && [ -f "$DIR/.ccgpu-complete" ]; then
  echo "forky chroot ready at $DIR"; exit 0
fi
[ "$(id -u)" = 0 ] || { echo "forky chroot: needs root (debootstrap)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "forky chroot: debootstrap missing: apt-get install -y debootstrap" >&2; exit 1; }
# the Debian mirror this machine already uses
MIRROR=$(grep -rhoE '(URIs:|deb) +https?://[^ ]+/debian' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
  | awk '{print $2}' | grep -v security | head -n1 || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
# bookworm's debootstrap has no forky script; sid's works for forky
SCRIPT=/usr/share/debootstrap/scripts/sid
rm -rf "$DIR"; mkdir -p "$DIR"
echo "forky chroot: debootstrap forky from $MIRROR into $DIR (a few minutes)" >&2
debootstrap --variant=minbase --include="$PKGS" forky "$DIR" "$MIRROR" "$SCRIPT" >&2
touch "$DIR/.ccgpu-complete"
echo "forky chroot ready at $DIR"
