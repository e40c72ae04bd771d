#!/bin/sh
# test_cli.sh: usbcopy's listing, prompt, confirmation and guards against a
# fake sysfs/proc tree (fake-sysfs.sh: USB stick, empty card reader, internal
# disk with /boot and swap, md member, mounted stick, disk under a dm device
# mounted on /, write-protected stick, built-in SD slot, loop device).
# Expected texts are the OpenSolaris usbcopy's (its usbcopy script in the
# OpenSolaris distro-constructor sources:
# "Found the following USB devices:", "<n>:<TAB>dev<TAB>size unit<TAB>desc",
# the WARNING block, "Installation aborted", "Invalid choice").
. "$OPSKIT_SOURCE/tests/tap.sh"
U="$OPSKIT_BUILD/usbcopy/usbcopy"
T=$TAP_TMP
sh "$OPSKIT_SOURCE/tests/usbcopy/fake-sysfs.sh" "$T/fk"
F="--sysfs-root=$T/fk/sys --proc-root=$T/fk/proc"
head -c 1048576 /dev/urandom > "$T/img"
TAB=$(printf '\t')
PTY="python3 $OPSKIT_SOURCE/tests/usbcopy/pty-run.py"

LIST="Found the following USB devices:
0:${TAB}/dev/sdb${TAB}8.0 GB${TAB}Patriot Memory
1:${TAB}/dev/sdd${TAB}1000.2 GB${TAB}WD Elements 25A2
2:${TAB}/dev/sde${TAB}16.0 GB${TAB}SanDisk Cruzer Blade
3:${TAB}/dev/sdf${TAB}256.0 GB${TAB}Samsung Portable SSD T5
4:${TAB}/dev/sdg${TAB}4.0 GB${TAB}Kingston DataTraveler
5:${TAB}/dev/mmcblk0${TAB}31.9 GB${TAB}SD SC32G
"
testcmd "list: USB, removable and mmc disks; no internal, empty, loop, md, dm" \
	"$U --list $F" "$LIST" ""
sh "$OPSKIT_SOURCE/tests/usbcopy/fake-sysfs.sh" "$T/usbdir/fk"
testcmd "list: a sysfs root whose own path contains /usb does not make disks USB" \
	"$U --list --sysfs-root=$T/usbdir/fk/sys --proc-root=$T/usbdir/fk/proc" "$LIST" ""
testcmd "list --json: fields, serial and in-use reasons" \
	"$U --list --json $F | grep -o '\"device\": \"[^\"]*\"\\|\"serial\": \"[^\"]*\"\\|\"in_use\": [^}]*'" \
	'"device": "/dev/sdb"
"serial": "4C530001230412345678"
"in_use": null
"device": "/dev/sdd"
"serial": "WD123"
"in_use": "/dev/sdd is in use by md0"
"device": "/dev/sde"
"serial": "AA00000000001234"
"in_use": "sde1 is mounted on /media/my stick"
"device": "/dev/sdf"
"serial": "S5"
"in_use": "dm-0 is mounted on /"
"device": "/dev/sdg"
"serial": "RO1"
"in_use": null
"device": "/dev/mmcblk0"
"serial": "0x1a2b3c4d"
"in_use": null
' ""
mkdir -p "$T/empty/block" "$T/empty/proc/self"
: > "$T/empty/proc/self/mountinfo"
testcmd "no device: the original's INFORMATION line, exit 1" \
	"$U --sysfs-root=$T/empty --proc-root=$T/empty/proc $T/img; echo rc=\$?" \
	"INFORMATION: No USB selected/found.. Please plug in and try again
rc=1
" ""

# guards: refused with exit 5 before anything is opened
testcmd "guard: system disk (swap, /boot)" "$U $F -d /dev/sda -y $T/img 2>&1; echo rc=\$?" \
	"usbcopy: /dev/sda: refusing: this is the system disk (sda3 is in use as swap)
rc=5
" ""
testcmd "guard: disk under a dm device mounted on /" "$U $F -d /dev/sdf -y $T/img 2>&1; echo rc=\$?" \
	"usbcopy: /dev/sdf: refusing: this is the system disk (dm-0 is mounted on /)
rc=5
" ""
testcmd "guard: md member" "$U $F -d /dev/sdd -y $T/img 2>&1; echo rc=\$?" \
	"usbcopy: /dev/sdd: refusing: /dev/sdd is in use by md0
rc=5
" ""
testcmd "guard: mounted partition (escaped mount point)" "$U $F -d /dev/sde -y $T/img 2>&1; echo rc=\$?" \
	"usbcopy: /dev/sde: refusing: sde1 is mounted on /media/my stick (use --unmount to unmount it first)
rc=5
" ""
testcmd "guard: read-only device" "$U $F -d /dev/sdg -y $T/img 2>&1; echo rc=\$?" \
	"usbcopy: Device /dev/sdg is not writable
Installation aborted
rc=5
" ""
testcmd "guard: a partition instead of the disk" "$U $F -d /dev/sdb1 -y $T/img 2>&1; echo rc=\$?" \
	"usbcopy: /dev/sdb1: is a partition; name the whole disk
rc=5
" ""
truncate -s 9G "$T/huge"
testcmd "guard: image larger than the device" "$U $F -d /dev/sdb -y $T/huge 2>&1; echo rc=\$?" \
	"usbcopy: Image (9216 MB) is larger than the device (7632 MB)
Installation aborted
rc=5
" ""
testcmd "guard: a device gone between listing and opening" "$U $F -d /dev/sdb -y $T/img 2>&1; echo rc=\$?" \
	"usbcopy: /dev/sdb: refusing: not a block device (No such file or directory)
rc=5
" ""
testcmd "guard: target is the image itself" "$U -d $T/img -y $T/img 2>&1; echo rc=\$?" \
	"usbcopy: $T/img: refusing: this is the image itself
rc=5
" ""

testcmd "guard: internal disk needs --force" "$U $F -d /dev/nvme0n1 -y $T/img 2>&1; echo rc=\$?" \
	"usbcopy: /dev/nvme0n1: refusing: an internal, non-removable disk (use --force if you really mean it)
rc=5
" ""
testcmd "guard: internal disk with --force -y passes the guards (then: no device node here)" \
	"$U $F --force -d /dev/nvme0n1 -y $T/img 2>&1; echo rc=\$?" \
	"usbcopy: /dev/nvme0n1: refusing: not a block device (No such file or directory)
rc=5
" ""

# usage
testcmd_rc "usage: no image" 2 "$U $F"
testcmd_rc "usage: --yes without --device" 2 "$U $F -y $T/img"
testcmd_rc "usage: bad chunk size" 2 "$U $F -c 1000 -d $T/x $T/img"
testcmd "--help names the options" "$U --help | grep -o -e '--device=DEV' -e '--bmap=FILE' -e '--sha256=HEX|FILE' -e '--unmount ' -e '--probe ' | sort -u | wc -l" "5
" ""
testcmd "--version" "$U --version" "usbcopy (opskit) 0.1.0
" ""

# the interactive path, on a pseudo-terminal
if python3 -c 'import pty' 2>/dev/null; then
	testcmd "prompt: invalid, empty, then a choice; answer n aborts (exit 0)" \
		"$PTY '9||0|n' -- $U $F $T/img; echo rc=\$?" \
		"${LIST}Enter the number of your choice: 9
Invalid choice
Enter the number of your choice: 
Enter the number of your choice: 0

WARNING: All data on your USB storage will be lost.
Are you sure you want to install to
Patriot Memory, 8000 MB at /dev/sdb ?  (y/n) n
Installation aborted
rc=0
" ""
	testcmd "prompt: an answer other than y/n exits" \
		"$PTY '5|maybe' -- $U $F $T/img | tail -n 3; echo rc=\$?" \
		"Are you sure you want to install to
SD SC32G, 31900 MB at /dev/mmcblk0 ?  (y/n) maybe
Invalid choice.. Exiting
rc=0
" ""
	testcmd "prompt: choosing a mounted stick is refused" \
		"$PTY '2' -- $U $F $T/img 2>&1 | tail -n 2; echo rc=\$?" \
		"Enter the number of your choice: 2
usbcopy: /dev/sde: refusing: sde1 is mounted on /media/my stick (use --unmount to unmount it first)
rc=0
" ""
	testcmd "prompt: regular-file target confirmation" \
		"$PTY 'n' -- $U -d $T/out.img $T/img; echo rc=\$?" \
		"
WARNING: All data on your USB storage will be lost.
Are you sure you want to install to
regular file, 0 MB at $T/out.img ?  (y/n) n
Installation aborted
rc=0
" ""
	testcmd "prompt: --force on an internal disk asks for YES" \
		"$PTY 'yes' -- $U $F --force -d /dev/nvme0n1 $T/img; echo rc=\$?" \
		"
WARNING: /dev/nvme0n1 is an internal, non-removable disk.
Type YES to erase it: yes
Installation aborted
rc=5
" ""
else
	for i in 1 2 3 4 5; do tap_skip "prompt $i" "python3 pty module missing"; done
fi
tap_done
