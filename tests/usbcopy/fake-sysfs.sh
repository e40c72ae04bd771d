#!/bin/sh
# fake-sysfs.sh DIR: build a fake /sys and /proc under DIR (DIR/sys, DIR/proc)
# for usbcopy's --sysfs-root/--proc-root. The layout copies what the kernel
# shows (sysfs paths, 512-byte size units, space-padded SCSI strings,
# mountinfo/swaps lines), with one disk per case the guards must tell apart:
#   sda      internal SATA disk: sda1 on /boot, sda2 on /, sda3 swap
#   sdb      USB stick, free (Patriot Memory, 8 GB, serial in the USB device)
#   sdc      USB card reader with no card (size 0: not listed)
#   sdd      USB disk whose sdd1 is an md member (md0, not mounted)
#   sde      USB stick with sde1 mounted on "/media/my stick"
#   sdf      USB disk under a dm device (dm-0) that is mounted on /
#   sdg      USB stick, write-protected (ro = 1)
#   mmcblk0  built-in SD slot (removable 0), 32 GB card
#   nvme0n1  internal NVMe disk, unused (offered only with --force)
#   loop0    a loop device (never listed)
set -eu
R=$1
S=$R/sys
mkdir -p "$S/block" "$S/dev/block" "$R/proc/self"
USB=devices/pci0000:00/0000:00:14.0/usb2
# disk NAME PARENT_DEVPATH MAJ:MIN SECTORS REMOVABLE VENDOR MODEL
disk() {
	name=$1 parent=$2 dev=$3 sectors=$4 rm=$5
	d=$S/$parent/block/$name
	mkdir -p "$d/holders" "$d/queue"
	echo "$dev" > "$d/dev"
	echo "$sectors" > "$d/size"
	echo "$rm" > "$d/removable"
	echo 0 > "$d/ro"
	ln -s "../$parent/block/$name" "$S/block/$name"
	ln -s "../../$parent/block/$name" "$S/dev/block/$dev"
	ln -s "../../../${parent##*/}" "$d/device"
	[ -n "${6:-}" ] && printf '%-8s\n' "$6" > "$S/$parent/vendor"
	[ -n "${7:-}" ] && printf '%-16s\n' "$7" > "$S/$parent/model"
	return 0
}
part() { # DISK_PATH NAME MAJ:MIN
	mkdir -p "$1/$2/holders"
	echo "$3" > "$1/$2/dev"
	echo 1 > "$1/$2/partition"
}
usbdev() { # PORT SERIAL: a USB device directory
	mkdir -p "$S/$USB/$1"
	echo 0781 > "$S/$USB/$1/idVendor"
	echo "$2" > "$S/$USB/$1/serial"
}
scsi() { echo "$USB/$1/$1:1.0/host$2/target$2:0:0/$2:0:0:0"; }

mkdir -p "$S/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0"
disk sda devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0 8:0 976773168 0 ATA "Samsung SSD 860"
A=$S/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block/sda
part "$A" sda1 8:1; part "$A" sda2 8:2; part "$A" sda3 8:3

usbdev 2-1 4C530001230412345678
mkdir -p "$S/$(scsi 2-1 6)"
disk sdb "$(scsi 2-1 6)" 8:16 15630336 1 Patriot Memory
part "$S/$(scsi 2-1 6)/block/sdb" sdb1 8:17

usbdev 2-2 000000000820
mkdir -p "$S/$(scsi 2-2 7)"
disk sdc "$(scsi 2-2 7)" 8:32 0 1 Generic "STORAGE DEVICE"

usbdev 2-3 WD123
mkdir -p "$S/$(scsi 2-3 8)"
disk sdd "$(scsi 2-3 8)" 8:48 1953525168 0 WD "Elements 25A2"
D=$S/$(scsi 2-3 8)/block/sdd
part "$D" sdd1 8:49
mkdir -p "$S/devices/virtual/block/md0/holders"
echo 9:0 > "$S/devices/virtual/block/md0/dev"
echo 0 > "$S/devices/virtual/block/md0/size"
ln -s ../devices/virtual/block/md0 "$S/block/md0"
ln -s ../../../../../../../../../virtual/block/md0 "$D/sdd1/holders/md0"

usbdev 2-4 AA00000000001234
mkdir -p "$S/$(scsi 2-4 9)"
disk sde "$(scsi 2-4 9)" 8:64 31266816 1 SanDisk "Cruzer Blade"
part "$S/$(scsi 2-4 9)/block/sde" sde1 8:65

usbdev 2-5 S5
mkdir -p "$S/$(scsi 2-5 10)"
disk sdf "$(scsi 2-5 10)" 8:80 500118192 0 Samsung "Portable SSD T5"
mkdir -p "$S/devices/virtual/block/dm-0/holders"
echo 253:0 > "$S/devices/virtual/block/dm-0/dev"
ln -s ../devices/virtual/block/dm-0 "$S/block/dm-0"
ln -s ../../../../../../../../virtual/block/dm-0 "$S/$(scsi 2-5 10)/block/sdf/holders/dm-0"

usbdev 2-6 RO1
mkdir -p "$S/$(scsi 2-6 11)"
disk sdg "$(scsi 2-6 11)" 8:96 7831552 1 Kingston DataTraveler
echo 1 > "$S/$(scsi 2-6 11)/block/sdg/ro"

M=devices/platform/soc/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa
mkdir -p "$S/$M"
disk mmcblk0 "$M" 179:0 62333952 0
echo SD > "$S/$M/type"; echo SC32G > "$S/$M/name"; echo 0x1a2b3c4d > "$S/$M/serial"

N=devices/pci0000:00/0000:00:1d.0/0000:3d:00.0/nvme/nvme0
mkdir -p "$S/$N"
disk nvme0n1 "$N" 259:0 1000215216 0
echo "WD_BLACK SN770 1TB" > "$S/$N/model"

mkdir -p "$S/devices/virtual/block"
disk loop0 devices/virtual 7:0 131072 0

cat > "$R/proc/self/mountinfo" <<'MI'
22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw
25 22 8:1 / /boot rw,relatime shared:2 - ext4 /dev/sda1 rw
26 22 0:21 / /proc rw,nosuid shared:5 - proc proc rw
40 22 8:65 / /media/my\040stick rw,nosuid,nodev shared:30 - vfat /dev/sde1 rw,uid=1000
MI
printf 'Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n/dev/sda3                               partition\t8388604\t\t0\t\t-2\n' > "$R/proc/swaps"
