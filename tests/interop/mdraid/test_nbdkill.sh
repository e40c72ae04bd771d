#!/bin/sh
# test_nbdkill.sh: nbdkit-mdraid-plugin.so SIGKILLed under a filesystem
# workload (issue 19: "the plugin is SIGKILLed while a client writes; the
# kernel's md assembles with the bitmap resync only, and fsck is clean").
#
# Per array: mdraid create makes RAID6 n4 (v1.2, 64K chunk, internal
# bitmap, whose chunk is set to 1 MiB so that the bitmap has 31 bits and a
# workload dirties some of them, not all). A first nbdkit session (nbdfuse +
# loop on the host) makes ext4 and is stopped with SIGTERM (array clean,
# bitmap clear). A second session mounts it and runs a writer: 128 KiB files
# of random bytes, each written with fsync (dd conv=fsync), its md5 logged
# only after the fsync returned. Once K files are logged, nbdkit is
# SIGKILLed while the writer goes on. Then on the host: the superblocks say
# active and the bitmap has dirty bits; one 4 KiB block of Q is corrupted
# in a region whose bit is clear and one in a region whose bit is set.
# In the guest (one boot for all arrays), the kernel's md is the judge:
#   - a plain mdadm --assemble starts the array and resyncs it;
#   - after the resync a check finds mismatch_cnt 8: the planted block in
#     the clean region (one 4 KiB block, 8 sectors) and nothing else, so
#     md resynced the dirty regions (the block planted there is gone, and
#     so is whatever the kill left half-written) and only those;
#   - mounted (the journal replays), every logged file has its md5;
#   - e2fsck -fn of the array (read by mdraid on the host after the guest)
#     finds it clean.
# K is 12 by default; MDRAID_EXHAUSTIVE=1 also kills at 2 and 40 files
# (one array each, same boot).
# One more array (g12) has the writer in a qemu guest instead: qemu's NBD
# client is the guest's disk (guest-run, cache=none, so each fsync in the
# guest is an NBD flush), the same writer logs each md5 on the serial
# console once its fsync returned, and nbdkit is SIGKILLed when the console
# shows 12 (qemu then reports I/O errors to the guest, whose writer stops).
# Its files are judged with the others in the same kernel boot.
# Two more arrays in the same boot test the plugin's resync pass (resync.h):
# RAID6 n4 (16 MiB members) without a bitmap on members filled with random bytes, made with
# --assume-clean and then marked dirty (resync_offset 0 on every member), so
# that no stripe's P or Q agrees with its data:
#   s1: served (sync_speed_max=4000) while 4 KiB writes land ahead of the
#       pass; after it and a clean stop the superblocks say clean; the
#       kernel assembles without a resync, check gives mismatch_cnt 0 and
#       the array's md5 is the data as it was plus the writes;
#   s2: served at sync_speed_max=1000 and SIGKILLed once the status file
#       shows a checkpoint: resync_offset on the members is that checkpoint;
#       a Q byte is then flipped below it; the kernel resumes the resync
#       from the checkpoint (dmesg), and check finds only that block
#       (mismatch_cnt 8): ours made everything below it consistent, md the
#       rest, and md did not redo ours; the md5 is the data as it was.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"
PLUGIN="$OPSKIT_BUILD/mdraid/nbdkit-mdraid-plugin.so"
PATH="$PATH:/sbin:/usr/sbin"

KILLS="12"
[ "${MDRAID_EXHAUSTIVE:-0}" = 1 ] && KILLS="2 12 40"
GKILL=12
cases() {
	for k in $KILLS g$GKILL; do
		echo "k$k: ext4 made, nbdkit stopped: clean, bitmap clear"
		case $k in
		g*) echo "k$k: guest writer on qemu's NBD disk, SIGKILL after ${k#g} fsync'd files: superblocks active, bitmap dirty in part" ;;
		*) echo "k$k: SIGKILL after $k fsync'd files: superblocks active, bitmap dirty in part" ;;
		esac
		echo "k$k: kernel: plain assembly starts and resyncs"
		echo "k$k: kernel: after the resync only the block planted outside the dirty bits mismatches"
		echo "k$k: kernel: every fsync'd file has its md5"
		echo "k$k: e2fsck -fn clean"
	done
	echo "s1: dirty array served: the resync ran under client writes, clean stop: clean"
	echo "s1: kernel: assembles without a resync, mismatch_cnt 0, md5 of data and writes"
	echo "s2: resync SIGKILLed after a checkpoint: resync_offset on the members"
	echo "s2: kernel: resumes from the checkpoint, only the block planted below it mismatches, md5 of data"
}
skip_all() {
	cases >"$W/names"
	skip_each "$1" <"$W/names"
	tap_done
}
[ -n "$GUEST_SKIP" ] && skip_all "$GUEST_SKIP"
[ -n "$MDRAID_SKIP" ] && skip_all "$MDRAID_SKIP"
[ -f "$PLUGIN" ] || skip_all "the plugin is not built (no nbdkit-plugin-dev at configure time)"
for p in nbdkit nbdinfo nbdfuse mkfs.ext4 e2fsck losetup mdadm python3; do
	command -v $p >/dev/null 2>&1 || skip_all "no $p (packages nbdkit libnbd-bin e2fsprogs mdadm python3)"
done
[ -c /dev/fuse ] || skip_all "no /dev/fuse: nbdfuse cannot run here"
ASAN_RT=""
if ldd "$PLUGIN" | grep -q libasan; then
	ASAN_RT=$(ldd "$PLUGIN" | sed -n 's/.*libasan[^ ]* => \([^ ]*\).*/\1/p' | head -n 1)
fi
NBDKIT_PID=""
FUSE_PID=""
FUSE_MNT=""
LOOP=""
WRITER=""
GUEST=""
cleanup() {
	[ -n "$GUEST" ] && { kill -- -"$GUEST" 2>/dev/null; wait "$GUEST" 2>/dev/null; GUEST=""; }
	[ -n "$WRITER" ] && { kill "$WRITER" 2>/dev/null; wait "$WRITER" 2>/dev/null; WRITER=""; }
	[ -n "$LOOP" ] && { umount "$W/mnt" 2>/dev/null || umount -l "$W/mnt" 2>/dev/null; losetup -d "$LOOP" 2>/dev/null; LOOP=""; }
	[ -n "$FUSE_MNT" ] && { fusermount3 -u "$FUSE_MNT" 2>/dev/null || umount -l "$FUSE_MNT" 2>/dev/null; FUSE_MNT=""; }
	[ -n "$FUSE_PID" ] && { kill "$FUSE_PID" 2>/dev/null; wait "$FUSE_PID" 2>/dev/null; FUSE_PID=""; }
	[ -n "$NBDKIT_PID" ] && { kill "$NBDKIT_PID" 2>/dev/null; wait "$NBDKIT_PID" 2>/dev/null; NBDKIT_PID=""; }
}
if [ "${MDRAID_INTEROP_KEEP:-0}" = 1 ]; then
	trap 'cleanup; rm -rf "$TAP_TMP"' EXIT
else
	trap 'cleanup; rm -rf "$TAP_TMP" "$W"' EXIT
fi
mkdir -p "$W/mnt"

# serve NAME MEMBERS...: nbdkit (background job) on $W/NAME.sock, then
# nbdfuse + loop: LOOP is the block device. 0 once the device is there.
serve() {
	nbdkit_start "$@" || return 1
	FUSE_MNT="$W/$1.fuse"
	mkdir -p "$FUSE_MNT"
	# (nbdfuse 1.14 aborts on an assertion when its server dies mid-flush:
	# its stderr is kept out of the TAP stream)
	nbdfuse "$FUSE_MNT/disk" "$_s_uri" 2>>"$W/$1.nbdfuse.err" &
	FUSE_PID=$!
	_s_i=0
	while [ ! -f "$FUSE_MNT/disk" ] && [ $_s_i -lt 200 ]; do sleep 0.1; _s_i=$((_s_i + 1)); done
	LOOP=$(losetup -f --show "$FUSE_MNT/disk")
}
# nbdkit_start NAME MEMBERS...: nbdkit (background job NBDKIT_PID) on
# $W/NAME.sock, its URI in _s_uri; 0 once it answers
nbdkit_start() {
	_s_name=$1
	shift
	rm -f "$W/$_s_name.sock"
	# an ASan build's plugin needs the sanitizer runtime first in the process
	LD_PRELOAD="$ASAN_RT" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		nbdkit -f -U "$W/$_s_name.sock" "$PLUGIN" "$@" 2>>"$W/$_s_name.nbdkit.err" &
	NBDKIT_PID=$!
	_s_uri="nbd+unix:///?socket=$W/$_s_name.sock"
	_s_i=0
	until nbdinfo --size "$_s_uri" >/dev/null 2>&1; do
		kill -0 "$NBDKIT_PID" 2>/dev/null && [ $_s_i -lt 200 ] || return 1
		sleep 0.1
		_s_i=$((_s_i + 1))
	done
}
# unserve SIGNAL: the client side down, nbdkit sent SIGNAL (TERM: a clean
# stop, the plugin marks the array clean; KILL: nothing more is written)
unserve() {
	[ "$1" = KILL ] && kill -KILL "$NBDKIT_PID"
	# the writer is waited for only once nbdfuse is gone: a write stuck in
	# FUSE fails then, whatever nbdfuse did when its server died
	[ -n "$WRITER" ] && kill "$WRITER" 2>/dev/null
	umount "$W/mnt" 2>/dev/null || umount -l "$W/mnt" 2>/dev/null
	# a clean stop: what loop left in the FUSE file's page cache goes to
	# nbdkit first (fsync: an NBD flush)
	[ "$1" = TERM ] && sync "$FUSE_MNT/disk"
	losetup -d "$LOOP" 2>/dev/null
	LOOP=""
	fusermount3 -u "$FUSE_MNT" 2>/dev/null || umount -l "$FUSE_MNT" 2>/dev/null
	FUSE_MNT=""
	kill "$FUSE_PID" 2>/dev/null
	wait "$FUSE_PID" 2>/dev/null
	FUSE_PID=""
	[ -n "$WRITER" ] && { wait "$WRITER" 2>/dev/null; WRITER=""; }
	[ "$1" = TERM ] && kill "$NBDKIT_PID" 2>/dev/null
	wait "$NBDKIT_PID" 2>/dev/null
	NBDKIT_PID=""
}
# bitmap MEMBER [CHUNK]: "dirty total list-of-dirty-bits" of the member's
# internal bitmap (v1.2: superblock at 4096, bitmap_offset in sectors from
# it; bitmap_super_t, bits from byte 256); with CHUNK, set the bitmap chunk
# (bytes) first (the bitmap must be clear: bits mean nothing across it)
bitmap() {
	python3 - "$@" <<'PY'
import struct, sys
path = sys.argv[1]
with open(path, 'r+b') as f:
    f.seek(4096)
    sb = f.read(256)
    boff = struct.unpack_from('<i', sb, 96)[0]
    at = 4096 + boff * 512
    f.seek(at)
    bm = bytearray(f.read(256))
    if len(sys.argv) > 2:
        struct.pack_into('<I', bm, 52, int(sys.argv[2]))
        f.seek(at)
        f.write(bm)
    chunk = struct.unpack_from('<I', bm, 52)[0]
    sync = struct.unpack_from('<Q', bm, 40)[0]
    n = (sync * 512 + chunk - 1) // chunk
    f.seek(at + 256)
    bits = f.read((n + 7) // 8)
    dirty = [i for i in range(n) if bits[i // 8] >> (i % 8) & 1]
    print(len(dirty), n, ' '.join(map(str, dirty)) or '-')
PY
}
# plant MEMBER BIT: flip one byte of Q in the first row of bitmap chunk BIT
# (1 MiB chunks of 64 KiB rows: row 16*BIT; left-symmetric RAID6 of 4 puts
# P of row s on member 3 - s%4, Q after it: member 0 for rows 0 mod 4)
plant() {
	python3 - "$@" <<'PY'
import struct, sys
path, bit = sys.argv[1], int(sys.argv[2])
with open(path, 'r+b') as f:
    f.seek(4096 + 128)
    data_offset = struct.unpack('<Q', f.read(8))[0]
    at = data_offset * 512 + bit * (1 << 20) + 100
    f.seek(at)
    b = f.read(1)
    f.seek(at)
    f.write(bytes([b[0] ^ 0xff]))
PY
}
# writer DIR LOG: 128 KiB files of random bytes, each written with fsync;
# its md5 goes to LOG only once the fsync returned
writer() {
	_w_i=0
	while [ $_w_i -lt 400 ]; do
		head -c 131072 /dev/urandom >"$W/wbuf" || return
		dd if="$W/wbuf" of="$1/f$_w_i" bs=131072 conv=fsync 2>/dev/null || return
		echo "$(md5sum <"$W/wbuf" | cut -d' ' -f1)  ./f$_w_i" >>"$2"
		_w_i=$((_w_i + 1))
	done
}

# new_array ID: RAID6 n4 $W/ID.<i>.img (mems_ID), bitmap chunk 1 MiB, ext4
# made through nbdkit and nbdfuse, stopped with SIGTERM (the first case)
imgs=""
body_arrays=""
a=0
new_array() {
	id=$1
	mems=""
	for i in 0 1 2 3; do
		rm -f "$W/$id.$i.img"
		truncate -s 32M "$W/$id.$i.img"
		mems="$mems $W/$id.$i.img"
	done
	eval "mems_$id=\"$mems\""
	imgs="$imgs$mems"
	body_arrays="$body_arrays $id:$a"
	a=$((a + 1))
	# shellcheck disable=SC2086
	"$MDRAID" create --level=6 --raid-devices=4 --chunk=64K --bitmap=internal \
		--homehost=opskit --assume-clean $mems >"$W/$id.create" 2>&1 || echo "# $id: create failed: $(cat "$W/$id.create")"
	for m in $mems; do bitmap "$m" 1048576 >/dev/null || echo "# $id: bitmap chunk not set on $m"; done
	# session 1: ext4, then a clean stop
	ok=0
	# shellcheck disable=SC2086
	if serve "$id.1" $mems && mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$LOOP" >/dev/null 2>&1; then
		ok=1
	fi
	unserve TERM
	st=$(mdadm --examine "$W/$id.0.img" 2>/dev/null | sed -n 's/^ *State : //p')
	bm=$(bitmap "$W/$id.0.img")
	if [ $ok = 1 ] && [ "$st" = clean ] && [ "${bm%% *}" = 0 ]; then
		tap_ok "$id: ext4 made, nbdkit stopped: clean, bitmap clear"
	else
		tap_fail "$id: ext4 made, nbdkit stopped: clean, bitmap clear" \
			"mkfs ok=$ok, state '$st', bitmap '$bm'; $(tail -n 3 "$W/$id.1.nbdkit.err")"
	fi
	: >"$W/$id.done"
}
# killed ID NAME OK: after the SIGKILL: the superblocks say active, the
# bitmap has dirty bits and clear ones (case NAME; OK is 1 when the writer
# got its files logged); plants one Q byte where a bit is clear and one
# where a bit is set
killed() {
	id=$1
	st=$(for m in $mems; do mdadm --examine "$m" 2>/dev/null | sed -n 's/^ *State : //p'; done | tr '\n' ' ')
	bm=$(bitmap "$W/$id.0.img")
	nd=${bm%% *}
	rest=${bm#* }
	nbits=${rest%% *}
	dirtybits=" ${rest#* } "
	clean_bit=""
	dirty_bit=""
	b=1
	while [ $b -lt "$nbits" ]; do
		case $dirtybits in
		*" $b "*) [ -z "$dirty_bit" ] && dirty_bit=$b ;;
		*) clean_bit=$b ;;
		esac
		b=$((b + 1))
	done
	if [ "$3" = 1 ] && [ "$st" = "active active active active " ] && [ "$nd" -gt 0 ] &&
		[ -n "$clean_bit" ] && [ -n "$dirty_bit" ]; then
		tap_ok "$2"
		echo "# $id: $(wc -l <"$W/$id.done") files logged; bitmap: $nd of $nbits bits dirty ($dirtybits); planted Q in bits $clean_bit (clear) and $dirty_bit (dirty)"
	else
		tap_fail "$2" \
			"writer ok=$3 ($(wc -l <"$W/$id.done") logged), states '$st', bitmap '$bm'; $(tail -n 3 "$W/$id.2.nbdkit.err")"
	fi
	[ -n "$clean_bit" ] && plant "$W/$id.0.img" "$clean_bit"
	[ -n "$dirty_bit" ] && plant "$W/$id.0.img" "$dirty_bit"
}

for k in $KILLS; do
	id=k$k
	new_array "$id"
	# session 2: the writer, SIGKILL after k logged files
	ok=0
	# shellcheck disable=SC2086
	if serve "$id.2" $mems && mount "$LOOP" "$W/mnt"; then
		writer "$W/mnt" "$W/$id.done" &
		WRITER=$!
		# bounded: the writer stops by itself after 400 files
		while [ "$(wc -l <"$W/$id.done")" -lt "$k" ] && kill -0 "$WRITER" 2>/dev/null; do
			sleep 0.05
		done
		[ "$(wc -l <"$W/$id.done")" -ge "$k" ] && kill -0 "$WRITER" 2>/dev/null && ok=1
	fi
	unserve KILL
	killed "$id" "$id: SIGKILL after $k fsync'd files: superblocks active, bitmap dirty in part" $ok
done

# the guest writer: the same files, each md5 on the console ("gw: MD5  ./fN")
# once dd's fsync returned; stops at the first error (nbdkit gone)
id=kg$GKILL
new_array "$id"
cat >"$W/gbody" <<'GEOF'
mkdir -p /mnt
mount -t ext4 "$M0" /mnt || exit 1
i=0
while [ $i -lt 400 ]; do
	head -c 131072 /dev/urandom >/tmp/wbuf || break
	dd if=/tmp/wbuf of=/mnt/f$i bs=131072 conv=fsync 2>/dev/null || break
	echo "gw: $(md5sum </tmp/wbuf | cut -d' ' -f1)  ./f$i" >&2
	i=$((i + 1))
done
say gw.files $i
say gw.ioerrors "$(dmesg | grep -c 'I/O error')"
GEOF
guest_script "$W/gscript" "$W/gbody"
ok=0
# shellcheck disable=SC2086
if nbdkit_start "$id.2" $mems; then
	# its own process group: the cleanup can end qemu with it
	gstart=$(date +%s)
	setsid "$GUEST_RUN" -t 300 -l "$W/gw.console" "$W/gscript" "$_s_uri" >"$W/gw.kv" 2>"$W/gw.err" &
	GUEST=$!
	n=0
	while [ "$n" -lt "$GKILL" ] && kill -0 "$GUEST" 2>/dev/null; do
		sleep 0.05
		# (no console file yet: 0)
		n=$(cat "$W/gw.console" 2>/dev/null | grep -c '^gw: ')
	done
	[ "$n" -ge "$GKILL" ] && kill -0 "$GUEST" 2>/dev/null && ok=1
	kill -KILL "$NBDKIT_PID"
	wait "$NBDKIT_PID" 2>/dev/null
	NBDKIT_PID=""
	wait "$GUEST"
	grc=$?
	GUEST=""
	echo "# $id: guest writer rc $grc, $(kv "$W/gw.kv" gw.files) files written, $(kv "$W/gw.kv" gw.ioerrors) I/O errors in its dmesg, $(($(date +%s) - gstart))s"
	[ $grc -eq 0 ] || sed 's/^/# /' "$W/gw.err" | tail -n 10
	# the serial console ends its lines with CR LF; a line the kernel's
	# console output cut into is left out (not required)
	tr -d '\r' <"$W/gw.console" | sed -n 's/^gw: \([0-9a-f]\{32\}  \.\/f[0-9][0-9]*\)$/\1/p' >"$W/$id.done"
else
	unserve KILL
fi
killed "$id" "$id: guest writer on qemu's NBD disk, SIGKILL after $GKILL fsync'd files: superblocks active, bitmap dirty in part" $ok

# sync_array ID: RAID6 n4 without bitmap on random members, parity wrong
# everywhere, marked dirty; the data as `mdraid read` reads it in ID.data
sarrays=""
sync_array() {
	id=$1
	mems=""
	for i in 0 1 2 3; do
		rm -f "$W/$id.$i.img"
		truncate -s 16M "$W/$id.$i.img"
		"$RANDFILL" "$((a * 10 + i + 7))" "$W/$id.$i.img"
		mems="$mems $W/$id.$i.img"
	done
	eval "mems_$id=\"$mems\""
	imgs="$imgs$mems"
	sarrays="$sarrays $id:$a"
	a=$((a + 1))
	# shellcheck disable=SC2086
	"$MDRAID" create --level=6 --raid-devices=4 --chunk=64K --bitmap=none \
		--homehost=opskit --assume-clean $mems >"$W/$id.create" 2>&1 || echo "# $id: create failed: $(cat "$W/$id.create")"
	for m in $mems; do python3 "$OPSKIT_SOURCE/tests/mdraid/sbedit.py" "$m" resync_offset=0; done
	# shellcheck disable=SC2086
	"$MDRAID" read $mems >"$W/$id.data" 2>"$W/$id.read0.err"
}
# resync_offset MEMBER: the v1.2 superblock's field (sectors)
resync_offset() {
	python3 -c 'import struct,sys; f=open(sys.argv[1],"rb"); f.seek(4096+208); print(struct.unpack("<Q",f.read(8))[0])' "$1"
}
# status_key ID KEY: from the plugin's status file
status_key() {
	tr ' ' '\n' <"$W/$1.status" 2>/dev/null | sed -n "s/^$2=//p"
}
id=s1
sync_array s1
ok=0
# shellcheck disable=SC2086
if serve "s1.1" $mems status="$W/s1.status" sync_speed_max=4000; then
	ok=1
	# 4 KiB writes ahead of the pass (the last fifth of the 30 MiB array)
	for off in 24000 24003 29001 30000; do
		head -c 4096 /dev/urandom >"$W/s1.w"
		dd if="$W/s1.w" of="$FUSE_MNT/disk" bs=4096 seek=$((off / 4)) conv=notrunc,fsync 2>/dev/null || ok=0
		dd if="$W/s1.w" of="$W/s1.data" bs=4096 seek=$((off / 4)) conv=notrunc 2>/dev/null
	done
	echo "# s1: writes done with the pass at $(status_key s1 done) of $(status_key s1 total) stripes"
	n=0
	while [ "$(status_key s1 state)" != done ] && [ $n -lt 1200 ] && kill -0 "$NBDKIT_PID" 2>/dev/null; do
		sleep 0.1
		n=$((n + 1))
	done
fi
unserve TERM
st=$(for m in $mems; do mdadm --examine "$m" 2>/dev/null | sed -n 's/^ *State : //p'; done | tr '\n' ' ')
if [ $ok = 1 ] && [ "$(status_key s1 state)" = done ] && [ "$st" = "clean clean clean clean " ]; then
	tap_ok "s1: dirty array served: the resync ran under client writes, clean stop: clean"
else
	tap_fail "s1: dirty array served: the resync ran under client writes, clean stop: clean" \
		"ok=$ok, status '$(cat "$W/s1.status" 2>/dev/null)', states '$st'; $(tail -n 3 "$W/s1.1.nbdkit.err")"
fi
id=s2
sync_array s2
ok=0
ck=""
# shellcheck disable=SC2086
if nbdkit_start "s2.1" $mems status="$W/s2.status" sync_speed_max=1000; then
	n=0
	while [ "$(status_key s2 checkpoint_sector)" = 0 ] || [ -z "$(status_key s2 checkpoint_sector)" ]; do
		kill -0 "$NBDKIT_PID" 2>/dev/null && [ $n -lt 1200 ] || break
		sleep 0.05
		n=$((n + 1))
	done
	ck=$(status_key s2 checkpoint_sector)
	[ "$(status_key s2 state)" = running ] && [ "${ck:-0}" -gt 0 ] && ok=1
fi
unserve KILL
# the status file showed checkpoint ck; the kill may have come after a
# later one: every member must hold the same checkpoint, ck or later
ro=$(for m in $mems; do resync_offset "$m"; done | sort -u | tr '\n' ' ')
if [ $ok = 1 ] && [ "${ro% }" = "${ro%% *}" ] && [ "${ro%% *}" -ge "$ck" ] 2>/dev/null &&
	[ "${ro%% *}" -lt 30720 ]; then
	tap_ok "s2: resync SIGKILLed after a checkpoint: resync_offset on the members"
	echo "# s2: status showed the checkpoint at sector $ck, the members hold $ro(of 30720)"
	ck=${ro%% *}
else
	tap_fail "s2: resync SIGKILLed after a checkpoint: resync_offset on the members" \
		"ok=$ok, status '$(cat "$W/s2.status" 2>/dev/null)', resync_offset '$ro'; $(tail -n 3 "$W/s2.1.nbdkit.err")"
fi
# a Q byte of row 4 (member 0 holds Q of rows 0 mod 4: plant's arithmetic,
# 64 KiB rows here), below the checkpoint: the kernel must leave it
if [ "${ck:-0}" -gt 1024 ]; then
	python3 - "$W/s2.0.img" <<'PY'
import struct, sys
with open(sys.argv[1], 'r+b') as f:
    f.seek(4096 + 128)
    at = struct.unpack('<Q', f.read(8))[0] * 512 + 4 * 65536 + 100
    f.seek(at)
    b = f.read(1)
    f.seek(at)
    f.write(bytes([b[0] ^ 0xff]))
PY
fi

cat >"$W/body" <<EOF
ARRAYS="$body_arrays"
SARRAYS="$sarrays"
EOF
cat >>"$W/body" <<'EOF'
for x in $ARRAYS; do
	id=${x%:*} a=${x#*:}
	md=md$a
	mdadm --assemble "/dev/$md" $(range $((a * 4)) 4) >"/out/$id.assemble" 2>&1
	say "$id.assembled" $?
	say "$id.action0" "$(cat "/sys/block/$md/md/sync_action")"
	wait_idle "$md"
	dmesg | grep -c "resync of RAID array $md" | sed "s/^/$id.resyncs=/"
	md_check "$md" | sed "s/^$md\./$id./"
	mkdir -p /mnt
	if mount -t ext4 "/dev/$md" /mnt 2>"/out/$id.mount"; then
		(cd /mnt && md5sum $(ls | grep '^f' | sort -t f -k 2 -n)) >"/out/$id.files" 2>&1
		umount /mnt
	fi
	mdadm --stop "/dev/$md" >/dev/null 2>&1
done
for x in $SARRAYS; do
	id=${x%:*} a=${x#*:}
	md=md$a
	# md held at 1 KiB/s while its resync's start is read: sync_completed
	# shows where md_do_sync began (curr_resync_completed = j), then full
	# speed again ("resuming ... from checkpoint" is only a pr_debug)
	echo 1 >/proc/sys/dev/raid/speed_limit_min
	echo 1 >/proc/sys/dev/raid/speed_limit_max
	mdadm --assemble "/dev/$md" $(range $((a * 4)) 4) >"/out/$id.assemble" 2>&1
	say "$id.assembled" $?
	say "$id.action0" "$(cat "/sys/block/$md/md/sync_action")"
	n=0
	c=$(tr -d ' ' <"/sys/block/$md/md/sync_completed")
	while [ "${c#*/}" = "$c" ] && [ $n -lt 100 ] && [ "$(cat "/sys/block/$md/md/sync_action")" != idle ]; do
		sleep 0.1
		n=$((n + 1))
		c=$(tr -d ' ' <"/sys/block/$md/md/sync_completed")
	done
	say "$id.completed0" "$c"
	echo 200000 >/proc/sys/dev/raid/speed_limit_max
	echo 1000 >/proc/sys/dev/raid/speed_limit_min
	wait_idle "$md"
	dmesg | grep -c "resync of RAID array $md" | sed "s/^/$id.resyncs=/"
	md_check "$md" | sed "s/^$md\./$id./"
	say "$id.md5" "$(md5sum <"/dev/$md" | cut -d' ' -f1)"
	mdadm --stop "/dev/$md" >/dev/null 2>&1
done
EOF
guest_script "$W/script" "$W/body"
# shellcheck disable=SC2086
boot guest "$W/kv" "$W/err" -t 600 -o "$W/out" "$W/script" $imgs

for k in $KILLS g$GKILL; do
	id=k$k
	eval "mems=\$mems_$id"
	if [ "$(kv "$W/kv" "$id.assembled")" = 0 ] && [ "$(kv "$W/kv" "$id.resyncs")" -ge 1 ] 2>/dev/null; then
		tap_ok "$id: kernel: plain assembly starts and resyncs"
	else
		tap_fail "$id: kernel: plain assembly starts and resyncs" \
			"rc $(kv "$W/kv" "$id.assembled"), sync_action at assembly '$(kv "$W/kv" "$id.action0")', resyncs '$(kv "$W/kv" "$id.resyncs")': $(head -n 3 "$W/out/$id.assemble" 2>/dev/null)"
	fi
	mm=$(kv "$W/kv" "$id.mismatch")
	if [ "$mm" = 8 ]; then
		tap_ok "$id: kernel: after the resync only the block planted outside the dirty bits mismatches"
	else
		tap_fail "$id: kernel: after the resync only the block planted outside the dirty bits mismatches" \
			"mismatch_cnt '$mm' (8: the one planted where the bitmap is clear)"
	fi
	# every logged file, as logged (in the guest: all f* files, in order)
	missing=""
	while read -r sum name; do
		grep -q "^$sum  ${name#./}\$" "$W/out/$id.files" 2>/dev/null || missing="$missing ${name#./}"
	done <"$W/$id.done"
	if [ -s "$W/$id.done" ] && [ -z "$missing" ]; then
		tap_ok "$id: kernel: every fsync'd file has its md5"
		echo "# $id: $(wc -l <"$W/$id.done") logged files equal; $(wc -l <"$W/out/$id.files" 2>/dev/null) f* files in the guest"
	else
		tap_fail "$id: kernel: every fsync'd file has its md5" \
			"not found or different:$missing; mount: $(head -n 2 "$W/out/$id.mount" 2>/dev/null)"
	fi
	# shellcheck disable=SC2086
	"$MDRAID" read $mems >"$W/$id.fs" 2>"$W/$id.read.err"
	if e2fsck -fn "$W/$id.fs" >"$W/$id.fsck" 2>&1; then
		tap_ok "$id: e2fsck -fn clean"
	else
		tap_fail "$id: e2fsck -fn clean" "$(tail -n 5 "$W/$id.fsck"; head -n 2 "$W/$id.read.err")"
	fi
	rm -f "$W/$id.fs"
done
want=$(md5sum <"$W/s1.data" | cut -d' ' -f1)
if [ "$(kv "$W/kv" s1.assembled)" = 0 ] && [ "$(kv "$W/kv" s1.resyncs)" = 0 ] &&
	[ "$(kv "$W/kv" s1.mismatch)" = 0 ] && [ "$(kv "$W/kv" s1.md5)" = "$want" ]; then
	tap_ok "s1: kernel: assembles without a resync, mismatch_cnt 0, md5 of data and writes"
else
	tap_fail "s1: kernel: assembles without a resync, mismatch_cnt 0, md5 of data and writes" \
		"rc $(kv "$W/kv" s1.assembled), resyncs '$(kv "$W/kv" s1.resyncs)', mismatch_cnt '$(kv "$W/kv" s1.mismatch)', md5 $(kv "$W/kv" s1.md5) expected $want"
fi
want=$(md5sum <"$W/s2.data" | cut -d' ' -f1)
c0=$(kv "$W/kv" s2.completed0)
if [ "$(kv "$W/kv" s2.assembled)" = 0 ] && [ "$(kv "$W/kv" s2.resyncs)" = 1 ] &&
	[ "${c0%/*}" -ge "${ck:-1}" ] 2>/dev/null && [ "${c0%/*}" -lt "${c0#*/}" ] 2>/dev/null &&
	[ "$(kv "$W/kv" s2.mismatch)" = 8 ] && [ "$(kv "$W/kv" s2.md5)" = "$want" ]; then
	echo "# s2: the kernel's resync began at $c0 (the checkpoint: $ck)"
	tap_ok "s2: kernel: resumes from the checkpoint, only the block planted below it mismatches, md5 of data"
else
	tap_fail "s2: kernel: resumes from the checkpoint, only the block planted below it mismatches, md5 of data" \
		"rc $(kv "$W/kv" s2.assembled), resyncs '$(kv "$W/kv" s2.resyncs)', sync_completed at the start '$c0' (checkpoint $ck), mismatch_cnt '$(kv "$W/kv" s2.mismatch)' (8: the block planted below the checkpoint), md5 $(kv "$W/kv" s2.md5) expected $want"
fi
tap_done
