#!/bin/sh
# demo.d/usbcopy.sh: a short tour of usbcopy on built-in sample data: the
# device list from a fake sysfs tree, a guard refusing a mounted stick, a
# compressed image with its bmap written to a file, a corrupted write caught
# and re-written, and (as root, if loop devices work) a real block device.
set -u
PATH=$OPSKIT_BUILD/usbcopy:$PATH
D=$DEMO_TMP/usbcopy
mkdir -p "$D"
sh "$OPSKIT_SOURCE/tests/usbcopy/fake-sysfs.sh" "$D/fk"
F="--sysfs-root=$D/fk/sys --proc-root=$D/fk/proc"
run() { printf '\n$ %s\n' "$*"; sh -c "$*"; }
sh "$OPSKIT_SOURCE/tests/usbcopy/data/mkimg.sh" "$D/disk.img"
cp "$OPSKIT_SOURCE/tests/usbcopy/data/sample.bmap" "$D/disk.img.bmap"
xz -c "$D/disk.img" > "$D/disk.img.xz"
head -c 2097152 /dev/urandom > "$D/stick"
cd "$D" || exit 1
run "usbcopy --list $F   # a fake /sys: USB stick, md member, mounted stick, ..."
run "usbcopy $F -y -d /dev/sde disk.img; echo exit \$?"
run "usbcopy -q -y -d stick --bmap disk.img.bmap disk.img.xz"
run "cmp -n 8192 disk.img stick && echo 'first 8 KiB equal'"
run "USBCOPY_TEST_FAULTS=corrupt@0x1 usbcopy -q -c 64K -y -d stick disk.img"
if [ "$(id -u)" = 0 ] && L=$(losetup -f --show "$D/stick" 2>/dev/null); then
	run "usbcopy -q -y -d $L disk.img"
	losetup -d "$L"
else
	echo "(loop device part skipped: needs root and a free loop device)"
fi
