#!/usr/bin/env bash
# Installs the Debian packages that ccgpu's tests, demo and image builds need. Idempotent: only missing packages
# are installed, with one `apt-get update` first. Not root or no apt-get: says what is missing and exits 0, so the
# tests that need those packages skip with a visible reason instead.
set -u
PKGS=(
  qemu-system-x86 qemu-utils    
  busybox-static cpio xz-utils zstd 
  containerd runc               
  debootstrap                   
  docker-registry skopeo        
  pciutils                      
  iproute2 util-linux e2fsprogs erofs-utils
)
missing=()
for p in "${PKGS[@]}"; do
  case "$p" in \#*) continue ;; esac
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "ccgpu: missing Debian packages: ${missing[*]}" >&2
  echo "ccgpu: install them as root with: apt-get update && apt-get install -y ${missing[*]}" >&2
  echo "ccgpu: tests that need them will be skipped" >&2
  exit 0
fi
echo "ccgpu: installing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2 || { echo "ccgpu: apt-get update failed" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 || { echo "ccgpu: apt-get install failed for: ${missing[*]}" >&2; exit 1; }
