#!/bin/sh
# test_force.sh: mdraid --force chooses the members mdadm 4.2's
# --assemble --force chooses, and reads what the kernel then reads.
#
# One guest boot. Arrays whose members were kicked one after another:
#   r6  RAID6 of 5, made by mdadm in the guest: ext2, files, then
#       --fail of member 4, files, --fail of 3, files, --fail of 2 (the
#       array dies), stop;
#   r5  RAID5 of 4, the same with --fail of 3, files, --fail of 2;
#   c6  RAID6 of 6 made by mdraid on the host: sessions with members given
#       as missing (5, then 4 and 5), then member 3 kicked as md_error leaves
#       it (sbedit: the survivors' events + 2, role 3 faulty), so that
#       forcing is needed (3 is two events behind);
#       c6r is a copy given to mdadm in reverse order.
# In the guest every member of r6 and r5 is copied (before anything is
# forced) onto an export disk; then mdadm --assemble --force runs on the
# members with raid456 unloaded, so that what is compared is exactly what
# mdadm wrote (force_array's events, chosen_drive's roles), not what the
# kernel wrote at start; each member's superblock area is exported. Then
# the kernel assembles them read-only, the file md5s are listed and the
# array device's md5 is taken.
# On the host mdraid read --force runs on the copies (r6, r5 from the
# export disk, c6 copied before the boot), and per array:
#   - mdraid's superblocks equal mdadm's byte for byte (same members forced,
#     same events, same roles);
#   - mdraid read = the kernel's array device (md5); the kernel's files
#     equal those written before the kicks (mdadm's choice lost nothing);
#   - --dry-run wrote nothing (md5 of each member before and after).
# d5  RAID5 of 4 made by mdadm in the guest, kicked while dirty: --fail of
#     3, files, then (safe mode off, so md stays active) files and --fail
#     of 2; the superblocks as the kick left them are put back after the
#     stop (which would mark them clean), as a power cut after the kick
#     leaves them. mdadm --assemble --force (raid456 unloaded) on the
#     members; mdraid --force, run in the guest, on copies. Checked:
#     mdadm's and mdraid's superblocks equal, but for the clean mark mdraid
#     also writes on the members other than chosen_drive; a plain
#     mdadm --assemble refuses mdadm's unstarted result (dirty members) and
#     starts mdraid's read-write, with the files written before the kick
#     and the array mdadm --force + the kernel show. The kernel, started
#     from mdadm's result and stopped without a write, rewrites no
#     superblock: the others stay dirty and a plain mdadm --assemble still
#     refuses (why mdraid marks them all).
# d9  d5 in metadata 0.90 (superblock at the end of each member): mdadm's
#     0.90 "force-array" sets the clean bit alone (recovery_cp and the
#     checkpoint events stay as the kernel's active write left them), and
#     mdraid's superblocks must equal mdadm's byte for byte but for that
#     bit (and the checksum) on the members mdraid also marks clean.
# d6  RAID6 of 5 made by mdadm in the guest, member 4 failed, files
#     written with md active (dirty), the superblocks as they were put back
#     after the stop (a power cut with one member missing); then one 4 KiB
#     block changed on members 1-3 in five consecutive rows (every place of
#     P and Q against the missing member: writes cut mid-stripe), the same
#     on copies for mdraid. A plain mdadm --assemble refuses; mdadm 4.2
#     --assemble --force marks it clean and, RAID6 one member short after
#     forcing, writes "repair" to sync_action (Assemble.c start_array), so
#     the kernel rewrites the parity left where it disagrees. mdraid --force
#     writes the superblocks only and says so; mdraid repair on its result is
#     the same pass: the same mismatch count, and the members' data areas
#     end byte-equal to the kernel's.
# c6r: mdadm 4.2 counts a forced member as available at its device index
# (avail[chosen_drive]), so given in reverse order it goes on forcing older
# members (stale data into the array); mdraid counts the slot, whatever the
# order. Checked: mdraid's choice is the same in both orders, and mdadm's
# divergence that mdraid(1) describes is still there.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

CASES="r6: mdadm --force superblocks = mdraid --force superblocks
r6: mdraid read --force = kernel's array after mdadm --force
r6: kernel's files after --force = files written before the kicks
r6: --dry-run wrote nothing
r5: mdadm --force superblocks = mdraid --force superblocks
r5: mdraid read --force = kernel's array after mdadm --force
r5: kernel's files after --force = files written before the kicks
r5: --dry-run wrote nothing
c6: mdraid refuses without --force, naming the stale members
c6: mdadm --force superblocks = mdraid --force superblocks
c6: mdraid read --force = kernel's array after mdadm --force
c6: --dry-run wrote nothing
d5: the last kick hit a dirty array (superblocks say active)
d5: mdadm --force superblocks = mdraid --force superblocks (but the clean mark on the others)
d5: plain mdadm --assemble refuses mdadm --force's unstarted result (not clean)
d5: plain mdadm --assemble starts mdraid --force's result read-write
d5: kernel's files after plain assembly = files written before the kick
d5: mdraid read --force = kernel's array after mdadm --force = kernel's after plain assembly
d5: after mdadm --force and a start without writes, plain mdadm --assemble still refuses
d9: 0.90: mdadm --force superblocks = mdraid --force superblocks (but the clean bit on the others)
d6: plain mdadm --assemble refuses (dirty, one member missing)
d6: mdadm --force starts the array and a repair (sync_action repair)
d6: mdraid --force marks it clean and names the repair mdadm starts
d6: mdraid repair after mdraid --force = kernel's repair after mdadm --force (mismatches, members' data)
c6r: members in reverse order: mdraid chooses as in slot order
c6r: mdadm 4.2 in reverse order forces more members than in slot order (mdraid(1))"
all_skip() {
	echo "$CASES" >"$W/names"
	skip_each "$1" <"$W/names"
	tap_done
}
[ -n "$GUEST_SKIP" ] && all_skip "$GUEST_SKIP"
why=$(mdraid_lacks read) && all_skip "$why"
"$MDRAID" read --help | grep -q -- --dry-run || all_skip "mdraid read lacks --dry-run"

MIB=1048576
SZ=12 # MiB per r6/r5 member
# the export disk, in MiB: r6/r5 member copies (9 x SZ), then the
# superblock areas after mdadm's force (1 MiB per member, 21)
SBAT=$((9 * SZ))
truncate -s $((SBAT + 21))M "$W/cp.img"
imgs=""
for i in 0 1 2 3 4; do truncate -s ${SZ}M "$W/r6k$i.img"; imgs="$imgs $W/r6k$i.img"; done
for i in 0 1 2 3; do truncate -s ${SZ}M "$W/r5k$i.img"; imgs="$imgs $W/r5k$i.img"; done

# c6 on the host: mdraid create and write sessions, then the kick
for i in 0 1 2 3 4 5; do truncate -s 8M "$W/c6k$i.img"; done
c6=$(for i in 0 1 2 3 4 5; do printf '%s ' "$W/c6k$i.img"; done)
mkimg "$W/src.img" 8M 7001
ok=1
# shellcheck disable=SC2086
"$MDRAID" create --level=6 --raid-devices=6 --chunk=64 --homehost=opskit --assume-clean $c6 &&
	slice "$W/src.img" 0 3000000 | "$MDRAID" write --offset=0 $c6 &&
	slice "$W/src.img" 3000000 1000000 | "$MDRAID" write --offset=1M $(imgs_of c6k 6 5) &&
	slice "$W/src.img" 4000000 3000000 | "$MDRAID" write --offset=2M $(imgs_of c6k 6 4 5) || ok=0
ev=$(le_u "$W/c6k0.img" $((4096 + 200)))
for i in 0 1 2; do
	python3 "$OPSKIT_SOURCE/tests/mdraid/sbedit.py" "$W/c6k$i.img" events=$((ev + 2)) role.3=0xfffe || ok=0
done
[ $ok = 1 ] || all_skip "could not build the c6 members with mdraid (bug in the setup)"
for i in 0 1 2 3 4 5; do
	cp "$W/c6k$i.img" "$W/c6u$i.img"
	cp "$W/c6k$i.img" "$W/c6r$i.img"
	cp "$W/c6k$i.img" "$W/c6v$i.img"
	imgs="$imgs $W/c6k$i.img"
done
for i in 0 1 2 3 4 5; do imgs="$imgs $W/c6r$i.img"; done
imgs="$imgs $W/cp.img" # M21
# d5: members M22..25, copies for mdraid in the guest M26..29, and M30 for
# the superblock areas (mdadm's after --force, then mdraid's: 1 MiB each)
for i in 0 1 2 3; do truncate -s ${SZ}M "$W/d5k$i.img"; imgs="$imgs $W/d5k$i.img"; done
for i in 0 1 2 3; do truncate -s ${SZ}M "$W/d5c$i.img"; imgs="$imgs $W/d5c$i.img"; done
truncate -s 8M "$W/dcp.img"
imgs="$imgs $W/dcp.img"
# d6: members M31..35, copies for mdraid in the guest M36..40; d9: members
# M41..44, copies M45..48 (its superblocks go to dcp.img at MiB 8..15)
truncate -s 16M "$W/dcp.img"
for i in 0 1 2 3 4; do truncate -s ${SZ}M "$W/d6k$i.img"; imgs="$imgs $W/d6k$i.img"; done
for i in 0 1 2 3 4; do truncate -s ${SZ}M "$W/d6c$i.img"; imgs="$imgs $W/d6c$i.img"; done
for i in 0 1 2 3; do truncate -s ${SZ}M "$W/d9k$i.img"; imgs="$imgs $W/d9k$i.img"; done
for i in 0 1 2 3; do truncate -s ${SZ}M "$W/d9c$i.img"; imgs="$imgs $W/d9c$i.img"; done
# mdraid runs in the guest (on d5's copies): the binary and the libraries
# ldd names, run through the guest's loader (mdadm's, the host's glibc)
mkdir -p "$W/in/lib"
cp "$MDRAID" "$W/in/mdraid"
ldd "$MDRAID" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | while read -r l; do cp -L "$l" "$W/in/lib/"; done

cat >"$W/body" <<EOF
SZ=$SZ SBAT=$SBAT
EOF
cat >>"$W/body" <<'EOF'
CP=$M21
files() { # DIR PREFIX N: N files of 192 KiB random bytes
	i=0
	while [ $i -lt "$3" ]; do
		dd if=/dev/urandom of="$1/$2$i" bs=64k count=3 2>/dev/null
		i=$((i + 1))
	done
	sync
}
sums() { (cd "$1" && md5sum $(ls | grep -v lost+found | sort)); }
# kicked ID MD FIRST N: make an array on members FIRST.., kick the last
# members one after another with files written in between
kicked() {
	id=$1 md=$2 first=$3 n=$4 lvl=$5
	mdadm --create "/dev/$md" --run --level="$lvl" --raid-devices="$n" --chunk=64 \
		--assume-clean --bitmap=none --homehost=opskit $(range "$first" "$n") >/dev/null 2>&1
	say "$id.create" $?
	mke2fs -F "/dev/$md" >/dev/null 2>&1 && mkdir -p /mnt && mount "/dev/$md" /mnt
	say "$id.mount" $?
	files /mnt a 4
	# RAID6 of 5: members 4 and 3 kicked with files written after each,
	# then 2 (the array dies); RAID5 of 4: 3, files, then 2
	k=$((first + n - 1))
	while [ $k -gt $((first + 2)) ]; do
		mdadm "/dev/$md" --fail $(disks $k) >/dev/null 2>&1
		say "$id.fail$((k - first))" $?
		files /mnt "b$k" 3
		k=$((k - 1))
	done
	sums /mnt >"/out/$id.written"
	# the last kick hits a clean array: unmounted, and md has marked it
	# clean (safe_mode_delay after the last write). A dirty degraded array
	# is the case mdadm --force marks clean ("force-array") and mdraid does
	# not (mdraid(1)); without this the kick's timing chose between them
	umount /mnt
	t=0
	while [ "$(cat "/sys/block/$md/md/array_state")" != clean ] && [ $t -lt 200 ]; do
		sleep 0.1
		t=$((t + 1))
	done
	say "$id.state" "$(cat "/sys/block/$md/md/array_state")"
	mdadm "/dev/$md" --fail $(disks $k) >/dev/null 2>&1
	say "$id.fail$((k - first))" $?
	mdadm --stop "/dev/$md" >/dev/null 2>&1
}
kicked r6 md0 0 5 6
kicked r5 md1 5 4 5
# dirty_kicked ID MD FIRST: RAID5 of 4 on FIRST.., the last kick while md
# is active (dirty); the superblocks as the kick wrote them are put back
# after the stop, which marks them clean: a power cut after the kick
# (METADATA, default 1.2; SBBLK, the superblock's 4 KiB block: 1 for 1.2)
dirty_kicked() {
	id=$1 md=$2 first=$3 meta=${4:-1.2} sbblk=${5:-1}
	mdadm --create "/dev/$md" --run --level=5 --raid-devices=4 --chunk=64 --metadata="$meta" \
		--assume-clean --bitmap=none --homehost=opskit $(range "$first" 4) >/dev/null 2>&1
	say "$id.create" $?
	mke2fs -F "/dev/$md" >/dev/null 2>&1 && mount "/dev/$md" /mnt
	say "$id.mount" $?
	files /mnt a 4
	mdadm "/dev/$md" --fail $(disks $((first + 3))) >/dev/null 2>&1
	say "$id.fail3" $?
	files /mnt b 3
	echo 3600 >"/sys/block/$md/md/safe_mode_delay"
	files /mnt c 2
	sums /mnt >"/out/$id.written"
	umount /mnt
	say "$id.state" "$(cat "/sys/block/$md/md/array_state")"
	mdadm "/dev/$md" --fail $(disks $((first + 2))) >/dev/null 2>&1
	say "$id.fail2" $?
	for i in 0 1 2 3; do
		dd if=$(disks $((first + i))) of="/tmp/$id.sb$i" bs=4096 skip="$sbblk" count=1 2>/dev/null
	done
	mdadm --stop "/dev/$md" >/dev/null 2>&1
	for i in 0 1 2 3; do
		dd if="/tmp/$id.sb$i" of=$(disks $((first + i))) bs=4096 seek="$sbblk" count=1 conv=notrunc,fsync 2>/dev/null
	done
	say "$id.sbstate" "$(for i in 0 1 2 3; do mdadm --examine $(disks $((first + i))) | sed -n 's/^ *State : //p'; done | tr '\n' ' ')"
}
dirty_kicked d5 md4 22
# 0.90: the superblock in the last 64 KiB-aligned 64 KiB of the member
SB9=$(((SZ * 1048576 - 65536) / 4096))
dirty_kicked d9 md9 41 0.90 $SB9
i=0
while [ $i -lt 4 ]; do
	dd if=$(disks $((41 + i))) of=$(disks $((45 + i))) bs=1M 2>/dev/null
	i=$((i + 1))
done
# copies for mdraid, before anything is forced
i=0
while [ $i -lt 9 ]; do
	dd if=$(disks $i) of="$CP" bs=1M seek=$((i * SZ)) conv=notrunc 2>/dev/null
	i=$((i + 1))
done
i=0
while [ $i -lt 4 ]; do
	dd if=$(disks $((22 + i))) of=$(disks $((26 + i))) bs=1M 2>/dev/null
	i=$((i + 1))
done
# mdadm --assemble --force without the personality: only mdadm's writes
rmmod raid456
force() { # ID MD MEMBERS...
	id=$1 md=$2
	shift 2
	mdadm --assemble --force "/dev/$md" "$@" >"/out/$id.force" 2>&1
	mdadm --stop "/dev/$md" >/dev/null 2>&1
}
force r6 md0 $(range 0 5)
force r5 md1 $(range 5 4)
force c6 md2 $(range 9 6)
force c6r md3 $(disks 20 19 18 17 16 15)
force d5 md4 $(range 22 4)
force d9 md9 $(range 41 4)
i=0
while [ $i -lt 4 ]; do
	dd if=$(disks $((41 + i))) of=$(disks 30) bs=4096 count=1 skip=$SB9 seek=$(((8 + i) * 256)) conv=notrunc 2>/dev/null
	i=$((i + 1))
done
i=0
while [ $i -lt 4 ]; do
	dd if=$(disks $((22 + i))) of=$(disks 30) bs=1M count=1 seek=$i conv=notrunc 2>/dev/null
	i=$((i + 1))
done
i=0
while [ $i -lt 21 ]; do
	dd if=$(disks $i) of="$CP" bs=1M count=1 seek=$((SBAT + i)) conv=notrunc 2>/dev/null
	i=$((i + 1))
done
insmod "/lib/modules/$(grep raid456 /etc/modules.order)"
# the kernel on the forced members, read-only
show() { # ID MD FS MEMBERS...
	id=$1 md=$2 fs=$3
	shift 3
	mdadm --assemble --readonly "/dev/$md" "$@" >"/out/$id.assemble" 2>&1
	say "$id.assemble" $?
	if [ "$fs" = fs ] && mount -o ro "/dev/$md" /mnt; then
		sums /mnt >"/out/$id.after"
		umount /mnt
	fi
	say "$id.bytes" "$(blockdev --getsize64 "/dev/$md")"
	say "$id.md5" "$(md5sum <"/dev/$md" | cut -d' ' -f1)"
	mdadm --stop "/dev/$md" >/dev/null 2>&1
}
show r6 md0 fs $(range 0 5)
show r5 md1 fs $(range 5 4)
show c6 md2 - $(range 9 6)
# d5: a plain assembly of mdadm's unstarted result, then mdadm --force with
# the kernel; mdraid --force on the copies, a plain assembly of its result
# states ID MEMBERS...: each member's State line of mdadm --examine
states() {
	id=$1
	shift
	say "$id" "$(for d in "$@"; do mdadm --examine "$d" | sed -n 's/^ *State : //p'; done | tr '\n' ' ')"
}
mdadm --assemble /dev/md4 $(range 22 4) >/out/d5.plain 2>&1
say d5.plain $?
mdadm --stop /dev/md4 >/dev/null 2>&1
mdadm --assemble --force /dev/md4 $(range 22 4) >/out/d5.kforce 2>&1
say d5.kforce $?
say d5.kforce.md5 "$(md5sum </dev/md4 | cut -d' ' -f1)"
mdadm --stop /dev/md4 >/dev/null 2>&1
states d5.kforce.states $(range 22 3)
mdadm --assemble /dev/md4 $(range 22 4) >/out/d5.kplain 2>&1
say d5.kplain $?
mdadm --stop /dev/md4 >/dev/null 2>&1
LD_LIBRARY_PATH=/in/lib /in/mdraid read --force $(range 26 4) 2>/out/d5.mdraid | md5sum | cut -d' ' -f1 >/out/d5.mdraid.md5
say d5.mdraid.md5 "$(cat /out/d5.mdraid.md5)"
i=0
while [ $i -lt 4 ]; do
	dd if=$(disks $((26 + i))) of=$(disks 30) bs=1M count=1 seek=$((4 + i)) conv=notrunc 2>/dev/null
	i=$((i + 1))
done
mdadm --assemble /dev/md5 $(range 26 4) >/out/d5.massemble 2>&1
say d5.massemble $?
say d5.marray_state "$(cat /sys/block/md5/md/array_state 2>/dev/null)"
say d5.mmd5 "$(md5sum </dev/md5 | cut -d' ' -f1)"
if mount /dev/md5 /mnt; then
	sums /mnt >/out/d5.after
	umount /mnt
fi
mdadm --stop /dev/md5 >/dev/null 2>&1
LD_LIBRARY_PATH=/in/lib /in/mdraid read --force $(range 45 4) 2>/out/d9.mdraid >/dev/null
i=0
while [ $i -lt 4 ]; do
	dd if=$(disks $((45 + i))) of=$(disks 30) bs=4096 count=1 skip=$SB9 seek=$(((12 + i) * 256)) conv=notrunc 2>/dev/null
	i=$((i + 1))
done
# d6: RAID6 of 5, member 4 failed, dirty at the power cut
mdadm --create /dev/md6 --run --level=6 --raid-devices=5 --chunk=64 \
	--assume-clean --bitmap=none --homehost=opskit $(range 31 5) >/dev/null 2>&1
say d6.create $?
mke2fs -F /dev/md6 >/dev/null 2>&1 && mount /dev/md6 /mnt
files /mnt a 3
mdadm /dev/md6 --fail $(disks 35) >/dev/null 2>&1
echo 3600 >/sys/block/md6/md/safe_mode_delay
files /mnt b 3
umount /mnt
say d6.state "$(cat /sys/block/md6/md/array_state)"
for i in 0 1 2 3 4; do
	dd if=$(disks $((31 + i))) of="/tmp/d6.sb$i" bs=4096 skip=1 count=1 2>/dev/null
done
mdadm --stop /dev/md6 >/dev/null 2>&1
for i in 0 1 2 3 4; do
	dd if="/tmp/d6.sb$i" of=$(disks $((31 + i))) bs=4096 seek=1 count=1 conv=notrunc,fsync 2>/dev/null
done
# writes cut mid-stripe: one 4 KiB block at 4 KiB into the chunk of rows
# 10..14 on member 1 + r % 3 (data offset in 512-byte sectors)
doff=$(mdadm --examine $(disks 31) | sed -n 's/^ *Data Offset : \([0-9]*\) sectors.*/\1/p')
r=10
while [ $r -lt 15 ]; do
	dd if=/dev/urandom of=$(disks $((32 + r % 3))) bs=4096 count=1 conv=notrunc,fsync \
		seek=$(((doff * 512 + r * 65536 + 4096) / 4096)) 2>/dev/null
	r=$((r + 1))
done
for i in 0 1 2 3 4; do dd if=$(disks $((31 + i))) of=$(disks $((36 + i))) bs=1M 2>/dev/null; done
mdadm --assemble /dev/md6 $(range 31 5) >/out/d6.plain 2>&1
say d6.plain $?
mdadm --stop /dev/md6 >/dev/null 2>&1
mdadm --assemble --force /dev/md6 $(range 31 5) >/out/d6.kforce 2>&1
say d6.kforce $?
say d6.action "$(cat /sys/block/md6/md/sync_action)"
wait_idle md6
say d6.requested "$(dmesg | grep -c 'md: requested-resync of RAID array md6')"
say d6.kmismatch "$(cat /sys/block/md6/md/mismatch_cnt)"
say d6.kmd5 "$(md5sum </dev/md6 | cut -d' ' -f1)"
mdadm --stop /dev/md6 >/dev/null 2>&1
LD_LIBRARY_PATH=/in/lib /in/mdraid read --force $(range 36 5) 2>/out/d6.mdraid | md5sum | cut -d' ' -f1 >/dev/null
LD_LIBRARY_PATH=/in/lib /in/mdraid repair $(range 36 5) >/out/d6.repair 2>&1
say d6.repair $?
say d6.mmd5 "$(LD_LIBRARY_PATH=/in/lib /in/mdraid read $(range 36 5) 2>/dev/null | md5sum | cut -d' ' -f1)"
# the data areas of the four members in use, the kernel's and mdraid's
# (1 MiB reads from byte doff x 512: the same bytes as 512-byte ones, whose
# syscalls under TCG took 5.9 s for four 12 MiB members, 1.7 s this way)
datamd5() { dd if="$1" bs=1M iflag=skip_bytes skip=$((doff * 512)) 2>/dev/null | md5sum | cut -d' ' -f1; }
say d6.kdata "$(for i in 0 1 2 3; do datamd5 $(disks $((31 + i))); done | tr '\n' ' ')"
say d6.mdata "$(for i in 0 1 2 3; do datamd5 $(disks $((36 + i))); done | tr '\n' ' ')"
EOF
guest_script "$W/script" "$W/body"
# shellcheck disable=SC2086
boot guest "$W/kv" "$W/err" -t 900 -o "$W/out" -i "$W/in" "$W/script" $imgs
rc=$?
if [ $rc -ne 0 ] && [ ! -s "$W/kv" ]; then
	echo "$CASES" | while read -r c; do echo "$c"; done >"$W/names"
	while read -r c; do tap_fail "$c" "guest failed (rc $rc)"; done <"$W/names"
	tap_done
fi
for f in r6.force r5.force c6.force c6r.force d5.force d5.plain d5.kforce d5.kplain d5.mdraid d5.massemble \
	d9.force d9.mdraid d6.plain d6.kforce d6.mdraid d6.repair; do
	sed "s/^/# $f: /" "$W/out/$f" 2>/dev/null
done

# sb_cmp A B: the 4 KiB superblock areas of two v1.2 members (from byte 4096)
# differ in no field (mdadm's writes vs mdraid's); prints the fields
sb_cmp() {
	slice "$1" 4096 4096 >"$W/sa"
	slice "$2" 4096 4096 >"$W/sb"
	for _sc_f in "$1" "$2"; do
		[ "$(le_u "$_sc_f" 4096 4)" = 2838187772 ] || { echo "$_sc_f: no v1.2 superblock"; return 1; }
	done
	d=$(SB_IGNORE="" region_diff "$W/sa" "$W/sb" 4096 "$(field_table 4096 sb_fields)")
	[ -z "$d" ] || { echo "$1 vs $2: $d"; return 1; }
}
# member_md5s FILES...: one md5 per member
member_md5s() { for f in "$@"; do md5sum <"$f"; done; }

# check_array ID N FIRST FS: members FIRST..FIRST+N-1 of the guest
check_array() {
	id=$1 n=$2 first=$3 fs=$4
	u=""
	i=0
	while [ $i -lt "$n" ]; do
		if [ "$id" = c6 ]; then
			u="$u $W/c6u$i.img"
		else
			slice "$W/cp.img" $(((first + i) * SZ * MIB)) $((SZ * MIB)) >"$W/${id}u$i.img"
			u="$u $W/${id}u$i.img"
		fi
		i=$((i + 1))
	done
	# shellcheck disable=SC2086
	before=$(member_md5s $u)
	# shellcheck disable=SC2086
	"$MDRAID" read --dry-run $u >"$W/$id.dry.out" 2>&1
	# shellcheck disable=SC2086
	if [ "$id" = c6 ]; then
		if "$MDRAID" read $u >/dev/null 2>"$W/$id.noforce"; then
			tap_fail "c6: mdraid refuses without --force, naming the stale members" "it read"
		elif grep -q "c6u3.img (slot 3) events $ev, 2 behind" "$W/$id.noforce" &&
			grep -q -- "--force" "$W/$id.noforce"; then
			tap_ok "c6: mdraid refuses without --force, naming the stale members"
		else
			tap_fail "c6: mdraid refuses without --force, naming the stale members" "$(cat "$W/$id.noforce")"
		fi
	fi
	# shellcheck disable=SC2086
	[ "$(member_md5s $u)" = "$before" ] && tap_ok "$id: --dry-run wrote nothing" ||
		tap_fail "$id: --dry-run wrote nothing" "$(cat "$W/$id.dry.out")"
	sed "s/^/# $id dry-run: /" "$W/$id.dry.out"
	# shellcheck disable=SC2086
	"$MDRAID" read --force $u >"$W/$id.array" 2>"$W/$id.read.err"
	sed "s/^/# $id mdraid: /" "$W/$id.read.err"
	f=""
	i=0
	while [ $i -lt "$n" ]; do
		slice "$W/cp.img" $(((SBAT + first + i) * MIB)) $MIB >"$W/${id}k$i.sb"
		sb_cmp "$W/${id}k$i.sb" "$W/${id}u$i.img" >>"$W/$id.sbdiff" || f=1
		i=$((i + 1))
	done
	[ -z "$f" ] && tap_ok "$id: mdadm --force superblocks = mdraid --force superblocks" ||
		tap_fail "$id: mdadm --force superblocks = mdraid --force superblocks" "$(cat "$W/$id.sbdiff")"
	bytes=$(kv "$W/kv" "$id.bytes")
	k=$(kv "$W/kv" "$id.md5")
	m=$(head -c "${bytes:-0}" "$W/$id.array" | md5)
	if [ -n "$bytes" ] && [ "$bytes" -gt 0 ] && [ "$k" = "$m" ] &&
		[ "$(stat -c %s "$W/$id.array")" = "$bytes" ]; then
		tap_ok "$id: mdraid read --force = kernel's array after mdadm --force"
	else
		tap_fail "$id: mdraid read --force = kernel's array after mdadm --force" \
			"kernel ${bytes:-?} bytes $k, mdraid $(stat -c %s "$W/$id.array") bytes $m; $(kv "$W/kv" "$id.assemble"): $(cat "$W/out/$id.assemble")"
	fi
	if [ "$fs" = fs ]; then
		if [ -s "$W/out/$id.after" ] && cmp -s "$W/out/$id.written" "$W/out/$id.after"; then
			tap_ok "$id: kernel's files after --force = files written before the kicks"
		else
			tap_fail "$id: kernel's files after --force = files written before the kicks" \
				"$(diff "$W/out/$id.written" "$W/out/$id.after" 2>&1 | head -5)"
		fi
	fi
}
check_array r6 5 0 fs
check_array r5 4 5 fs
check_array c6 6 9 -

# d5: the dirty kick (mdraid --force ran in the guest; dcp.img holds
# mdadm's superblock areas at MiB 0..3, mdraid's at 4..7)
MAXSECTOR=18446744073709551615
st=$(kv "$W/kv" d5.sbstate)
# members 0..2: the survivors and the member kicked last (3 left earlier)
if [ "$(kv "$W/kv" d5.state)" = active ] && [ "$(echo "$st" | cut -d' ' -f1-3)" = "active active active" ]; then
	tap_ok "d5: the last kick hit a dirty array (superblocks say active)"
else
	tap_fail "d5: the last kick hit a dirty array (superblocks say active)" \
		"array_state at the kick '$(kv "$W/kv" d5.state)', superblocks '$st'"
fi
f=""
chosen=""
for i in 0 1 2 3; do
	slice "$W/dcp.img" $((i * MIB)) $MIB >"$W/d5a$i.sb"
	slice "$W/dcp.img" $(((4 + i) * MIB)) $MIB >"$W/d5m$i.sb"
	d=$(SB_IGNORE="" region_diff "$W/d5a$i.sb" "$W/d5m$i.sb" 0 "$(field_table 4096 sb_fields)")
	ra=$(le_u "$W/d5a$i.sb" $((4096 + 208)))
	rm_=$(le_u "$W/d5m$i.sb" $((4096 + 208)))
	# equal, or differing only where mdraid marked a dirty member clean
	# (resync_offset 0 -> MaxSector; sb_csum: 2 x 0xffffffff changes the
	# end-around-carry sum by nothing, so it stays the same)
	if [ -z "$d" ]; then
		# slot 3, left out, is as its last write left it (clean or not,
		# by the first kick's timing): only equality counts there
		[ "$ra" = $MAXSECTOR ] && [ $i -lt 3 ] && chosen="$chosen $i"
	elif [ -z "$(echo "$d" | awk '$2 != "resync_offset" && $2 != "sb_csum"')" ] &&
		[ "$ra" = 0 ] && [ "$rm_" = $MAXSECTOR ]; then
		:
	else
		f="$f; member $i: $d (resync_offset mdadm $ra, mdraid $rm_)"
	fi
done
# mdadm marks chosen_drive (slot 0, the lowest up to date) clean, mdraid
# every member in use (slots 0-2); slot 3 (left out) is untouched by both
if [ -z "$f" ] && [ "$chosen" = " 0" ]; then
	tap_ok "d5: mdadm --force superblocks = mdraid --force superblocks (but the clean mark on the others)"
else
	tap_fail "d5: mdadm --force superblocks = mdraid --force superblocks (but the clean mark on the others)" \
		"clean in both: members$chosen$f"
fi
sed "s/^/# d5 mdraid (guest): /" "$W/out/d5.mdraid" 2>/dev/null
if [ "$(kv "$W/kv" d5.plain)" != 0 ] && grep -q "while not clean" "$W/out/d5.plain"; then
	tap_ok "d5: plain mdadm --assemble refuses mdadm --force's unstarted result (not clean)"
else
	tap_fail "d5: plain mdadm --assemble refuses mdadm --force's unstarted result (not clean)" \
		"rc $(kv "$W/kv" d5.plain): $(cat "$W/out/d5.plain" 2>/dev/null)"
fi
if [ "$(kv "$W/kv" d5.massemble)" = 0 ] && [ "$(kv "$W/kv" d5.marray_state)" = clean ]; then
	tap_ok "d5: plain mdadm --assemble starts mdraid --force's result read-write"
else
	tap_fail "d5: plain mdadm --assemble starts mdraid --force's result read-write" \
		"rc $(kv "$W/kv" d5.massemble), array_state '$(kv "$W/kv" d5.marray_state)': $(cat "$W/out/d5.massemble" 2>/dev/null)"
fi
if [ -s "$W/out/d5.after" ] && cmp -s "$W/out/d5.written" "$W/out/d5.after"; then
	tap_ok "d5: kernel's files after plain assembly = files written before the kick"
else
	tap_fail "d5: kernel's files after plain assembly = files written before the kick" \
		"$(diff "$W/out/d5.written" "$W/out/d5.after" 2>&1 | head -5)"
fi
a=$(kv "$W/kv" d5.mdraid.md5) b=$(kv "$W/kv" d5.kforce.md5) c=$(kv "$W/kv" d5.mmd5)
if [ -n "$a" ] && [ "$a" = "$b" ] && [ "$b" = "$c" ] && [ "$(kv "$W/kv" d5.kforce)" = 0 ]; then
	tap_ok "d5: mdraid read --force = kernel's array after mdadm --force = kernel's after plain assembly"
else
	tap_fail "d5: mdraid read --force = kernel's array after mdadm --force = kernel's after plain assembly" \
		"mdraid $a, mdadm --force $b (rc $(kv "$W/kv" d5.kforce)), plain $c"
fi
ks=$(kv "$W/kv" d5.kforce.states)
echo "# d5: states after mdadm --force, the kernel's start and stop (no writes): $ks"
if [ "$(kv "$W/kv" d5.kplain)" != 0 ] && grep -q "while not clean" "$W/out/d5.kplain"; then
	tap_ok "d5: after mdadm --force and a start without writes, plain mdadm --assemble still refuses"
else
	tap_fail "d5: after mdadm --force and a start without writes, plain mdadm --assemble still refuses" \
		"rc $(kv "$W/kv" d5.kplain): $(cat "$W/out/d5.kplain" 2>/dev/null); states $ks"
fi

# d9: 0.90 superblocks (4096 bytes): mdadm's at dcp.img MiB 8..11, mdraid's
# at 12..15; words: utime 128, state 132, sb_csum 152, cp_events 164-171,
# recovery_cp 172
sb9_fields() {
	cat <<'FEOF'
0 128 constant
128 4 utime
132 4 state
136 16 counts
152 4 sb_csum
156 8 events
164 8 cp_events
172 4 recovery_cp
176 336 generic
512 3584 disks
FEOF
}
f=""
marked=""
for i in 0 1 2 3; do
	slice "$W/dcp.img" $(((8 + i) * MIB)) 4096 >"$W/d9a$i.sb"
	slice "$W/dcp.img" $(((12 + i) * MIB)) 4096 >"$W/d9m$i.sb"
	d=$(SB_IGNORE="utime" region_diff "$W/d9a$i.sb" "$W/d9m$i.sb" 0 "$(field_table 0 sb9_fields)")
	if [ "$(le_u "$W/d9a$i.sb" 0 4)" != 2838187772 ]; then
		f="$f; member $i: no 0.90 superblock from mdadm"
	elif [ -z "$d" ]; then
		:
	elif [ -z "$(echo "$d" | awk '$2 != "state" && $2 != "sb_csum"')" ] &&
		[ $(($(le_u "$W/d9a$i.sb" 132 4) ^ $(le_u "$W/d9m$i.sb" 132 4))) = 1 ]; then
		marked="$marked $i"
	else
		f="$f; member $i: $d"
	fi
done
echo "# d9: members mdraid alone marked clean (the clean bit):$marked"
sed "s/^/# d9 mdraid (guest): /" "$W/out/d9.mdraid" 2>/dev/null
if [ -z "$f" ] && [ "$marked" = " 1 2" ]; then
	tap_ok "d9: 0.90: mdadm --force superblocks = mdraid --force superblocks (but the clean bit on the others)"
else
	tap_fail "d9: 0.90: mdadm --force superblocks = mdraid --force superblocks (but the clean bit on the others)" \
		"clean bit by mdraid alone on:$marked$f"
fi

# d6: mdadm --force, then the kernel's repair; mdraid --force, then
# mdraid repair
if [ "$(kv "$W/kv" d6.plain)" != 0 ] && grep -q "while not clean" "$W/out/d6.plain" &&
	[ "$(kv "$W/kv" d6.state)" = active ]; then
	tap_ok "d6: plain mdadm --assemble refuses (dirty, one member missing)"
else
	tap_fail "d6: plain mdadm --assemble refuses (dirty, one member missing)" \
		"array_state at the cut '$(kv "$W/kv" d6.state)', rc $(kv "$W/kv" d6.plain): $(cat "$W/out/d6.plain" 2>/dev/null)"
fi
# (the pass may be over before sync_action is read: the kernel's log line
# "requested-resync" is what says a repair ran)
echo "# d6: sync_action right after mdadm --force: $(kv "$W/kv" d6.action)"
if [ "$(kv "$W/kv" d6.kforce)" = 0 ] && [ "$(kv "$W/kv" d6.requested)" = 1 ]; then
	tap_ok "d6: mdadm --force starts the array and a repair (sync_action repair)"
else
	tap_fail "d6: mdadm --force starts the array and a repair (sync_action repair)" \
		"rc $(kv "$W/kv" d6.kforce), sync_action '$(kv "$W/kv" d6.action)', requested-resync lines '$(kv "$W/kv" d6.requested)'"
fi
if grep -q "Marking array .* as 'clean'" "$W/out/d6.mdraid" &&
	grep -q "mdadm 4.2 then starts a repair" "$W/out/d6.mdraid"; then
	tap_ok "d6: mdraid --force marks it clean and names the repair mdadm starts"
else
	tap_fail "d6: mdraid --force marks it clean and names the repair mdadm starts" "$(cat "$W/out/d6.mdraid")"
fi
km=$(kv "$W/kv" d6.kmismatch)
mm=$(sed -n 's/^mismatch_cnt \([0-9]*\).*/\1/p' "$W/out/d6.repair")
kd=$(kv "$W/kv" d6.kdata)
md=$(kv "$W/kv" d6.mdata)
echo "# d6: kernel repair mismatch_cnt $km, mdraid repair $mm"
if [ -n "$km" ] && [ "$km" -gt 0 ] && [ "$km" = "$mm" ] && [ -n "$kd" ] && [ "$kd" = "$md" ] &&
	[ "$(kv "$W/kv" d6.kmd5)" = "$(kv "$W/kv" d6.mmd5)" ]; then
	tap_ok "d6: mdraid repair after mdraid --force = kernel's repair after mdadm --force (mismatches, members' data)"
else
	tap_fail "d6: mdraid repair after mdraid --force = kernel's repair after mdadm --force (mismatches, members' data)" \
		"mismatch_cnt kernel '$km' mdraid '$mm' (repair rc $(kv "$W/kv" d6.repair)); data md5s kernel '$kd' mdraid '$md'; array md5 kernel $(kv "$W/kv" d6.kmd5) mdraid $(kv "$W/kv" d6.mmd5)"
fi

# c6r: mdraid's choice does not depend on the order (c6v: a copy made
# before the boot); what mdadm did with the reverse order is said below
r=""
for i in 5 4 3 2 1 0; do r="$r $W/c6v$i.img"; done
# shellcheck disable=SC2086
"$MDRAID" read --force $r >/dev/null 2>"$W/c6r.err"
f=""
for i in 0 1 2 3 4 5; do
	[ "$(le_u "$W/c6v$i.img" $((4096 + 200)))" = "$(le_u "$W/c6u$i.img" $((4096 + 200)))" ] || f="$f $i"
done
forced_in=$(grep -c "forcing event count" "$W/out/c6.force")
forced_rev=$(grep -c "forcing event count" "$W/out/c6r.force")
if [ -z "$f" ]; then
	tap_ok "c6r: members in reverse order: mdraid chooses as in slot order"
else
	tap_fail "c6r: members in reverse order: mdraid chooses as in slot order" "events differ on members$f"
fi
if [ "$forced_rev" -gt "$forced_in" ]; then
	tap_ok "c6r: mdadm 4.2 in reverse order forces more members than in slot order (mdraid(1))"
else
	tap_fail "c6r: mdadm 4.2 in reverse order forces more members than in slot order (mdraid(1))" \
		"mdadm forced $forced_in in slot order, $forced_rev in reverse: mdraid(1) says otherwise"
fi
tap_done
