#!/bin/sh
# Post-build script of the lab's Buildroot guest (BR2_ROOTFS_POST_BUILD_SCRIPT).
#   $1  the target folder Buildroot is about to pack
#   $2  the folder `lab build rootfs-buildroot` staged from the resolved Debian
#       kernel: lib/modules/... (the virtio, 9p and squashfs modules and their
#       dependencies) and etc/lab/{modules,release} (load order, release)
# Trims what the lab's own /init replaces: no getty, no init scripts.
set -eu
target=$1
stage=${2:-}

if [ -z "$stage" ] || [ ! -f "$stage/etc/lab/modules" ]; then
	echo "post-build.sh: no kernel module stage given (BR2_ROOTFS_POST_SCRIPT_ARGS);" \
		"build through \`lab build rootfs-buildroot\`" >&2
	exit 1
fi
cp -a "$stage/." "$target/"

# The lab's /init (package lab-agent) is PID 1: it mounts, loads the
# modules, and runs the command or a shell; nothing else starts.
[ -x "$target/init" ] || { echo "post-build.sh: no /init (package lab-agent)" >&2; exit 1; }
rm -f "$target/linuxrc" "$target/etc/inittab"
rm -rf "$target/etc/init.d"

printf '%s\n' "127.0.0.1 localhost lab" >"$target/etc/hosts"
cat >"$target/etc/profile" <<'PROFILE'
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PS1="lab(buildroot):\w# "
PROFILE
