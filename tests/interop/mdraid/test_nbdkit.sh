#!/bin/sh
# test_nbdkit.sh: nbdkit-mdraid-plugin.so (issue 19) against real peers.
#
# Host side: mdraid create makes RAID6 n4 (v1.2, 64K, internal bitmap) on
# image files; Debian's nbdkit serves them with the plugin on a unix socket;
# nbdinfo reads the export's size and flags; nbdfuse + losetup give a block
# device on which mkfs.ext4 makes a filesystem that gets a file tree and
# e2fsck -fn finds clean; nbdcopy reads the whole export back, which must be
# what mdraid read sees on the members once nbdkit has stopped (SIGTERM:
# superblocks clean, host mdadm --examine agrees).
# The same with one member missing (degraded writes).
# Then a copy into the export is cut by SIGKILL of nbdkit: host mdadm -X
# finds the bitmap dirty and --examine the array active.
# Parallel clients (the plugin's PARALLEL thread model): nbdcopy with four
# connections writes random bytes into the first three quarters while
# qemu-io's aio_write puts ~800 writes of 512 B..40 KiB (16 in flight, in
# shuffled order, partial stripes of the stripe cache) into the rest, with
# aio_reads among them, and an nbdcopy reads the export alongside; read back through the plugin with four
# connections, then by mdraid read after stop, the content is the one
# derived from the inputs, and mdraid check finds 0 mismatches.
# `mdraid serve` (nbdkit exec'd with the plugin) on a RAID6 with two members
# missing: ext4 through it, then `mdraid stop` returns once nbdkit has exited
# and the present members' superblocks say clean.
# Overlay (`mdraid serve --overlay=DIR`): ext4 through it leaves every
# member's md5 as it was; served again, the export shows the overlay's
# content; `mdraid overlay discard` drops it (the export is the members'
# again); `mdraid overlay commit` makes mdraid read equal to what the
# client saw, the members clean.
# One guest boot, the kernel's md as the judge: the clean array assembles
# without a resync, its content is the NBD client's (md5), check gives
# mismatch_cnt 0, and mounted, every file's md5 is the one written through
# the client; the degraded ones (one, two missing) assemble degraded with the
# client's content and files; the killed one assembles, resyncs what the
# bitmap names, and then holds mdraid read's content with mismatch_cnt 0; the
# one the parallel clients wrote assembles without a resync and holds what
# they wrote, mismatch_cnt 0.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"
PLUGIN="$OPSKIT_BUILD/mdraid/nbdkit-mdraid-plugin.so"
PATH="$PATH:/sbin:/usr/sbin"

NAMES="nbdinfo: export size = mdraid's array size, multi-conn, flush, fua; no trim, zero without fast zero
write zeroes (qemu-io write -z) over partial and whole stripes: the range reads back as zeros, the rest unchanged
ext4 through nbdfuse + loop: mkfs, file tree, e2fsck clean
nbdkit stopped: mdadm --examine says clean on every member
mdraid read after stop = what the NBD client read
degraded (one missing): ext4 through the export, e2fsck clean, mdraid read = client
parallel clients (nbdcopy 4 connections, qemu-io aio, a reader alongside): read back through 4 connections = what was written
parallel clients: after stop, mdraid read = what was written, mdraid check 0 mismatches, members clean
SIGKILL mid-copy: mdadm -X finds the bitmap dirty (the array stays active)
kernel: clean array assembles without a resync
kernel: content = the NBD client's (md5)
mdraid serve, two missing: ext4 through it, e2fsck clean; mdraid stop returns after nbdkit exits, members clean
kernel: check mismatch_cnt 0
kernel: mounted, every file's md5 = what the client wrote
kernel: degraded array assembles degraded with the client's content and files
kernel: two missing: assembles degraded (2) with the client's content and files
kernel: killed array resyncs from the bitmap, content = mdraid read, mismatch_cnt 0
overlay: ext4 through it, e2fsck clean, every member's md5 unchanged
overlay: served again, the export shows the overlay's content
overlay discard: the file is gone, the export is the members' again
overlay commit: mdraid read = what the client saw, members clean, file gone
kernel: committed overlay assembles without a resync, files and content = the client's, mismatch_cnt 0
kernel: array written by parallel clients assembles without a resync, content = what was written, mismatch_cnt 0"
skip_all() {
	printf '%s\n' "$NAMES" >"$W/names"
	skip_each "$1" <"$W/names"
	tap_done
}
[ -n "$MDRAID_SKIP" ] && skip_all "$MDRAID_SKIP"
[ -f "$PLUGIN" ] || skip_all "the plugin is not built (no nbdkit-plugin-dev at configure time)"
for p in nbdkit nbdinfo nbdcopy nbdfuse mkfs.ext4 e2fsck losetup mdadm; do
	command -v $p >/dev/null 2>&1 || skip_all "no $p (packages nbdkit libnbd-bin e2fsprogs mdadm)"
done
[ -c /dev/fuse ] || skip_all "no /dev/fuse: nbdfuse cannot run here"
ASAN_RT=""
if ldd "$PLUGIN" | grep -q libasan; then
	ASAN_RT=$(ldd "$PLUGIN" | sed -n 's/.*libasan[^ ]* => \([^ ]*\).*/\1/p' | head -n 1)
fi
NBDKIT_PID=""
FUSE_MNT=""
LOOP=""
cleanup_serve() {
	[ -n "$LOOP" ] && { umount "$W/mnt" 2>/dev/null; losetup -d "$LOOP" 2>/dev/null; LOOP=""; }
	[ -n "$FUSE_MNT" ] && { fusermount3 -u "$FUSE_MNT" 2>/dev/null || umount -l "$FUSE_MNT" 2>/dev/null; FUSE_MNT=""; }
	[ -n "$NBDKIT_PID" ] && { kill "$NBDKIT_PID" 2>/dev/null; wait "$NBDKIT_PID" 2>/dev/null; NBDKIT_PID=""; }
}
trap 'cleanup_serve; rm -rf "$TAP_TMP" "$W"' EXIT

# serve NAME MEMBERS...: nbdkit in the foreground (background job) on
# $W/NAME.sock; waits until the socket answers. URI becomes its address.
serve() {
	_s_name=$1
	shift
	rm -f "$W/$_s_name.sock"
	# An ASan build's plugin needs the sanitizer runtime first in the process
	# (nbdkit itself is not instrumented); leaks are nbdkit's to report.
	LD_PRELOAD="$ASAN_RT" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" nbdkit -f -U "$W/$_s_name.sock" "$PLUGIN" "$@" 2>"$W/$_s_name.nbdkit.err" &
	NBDKIT_PID=$!
	URI="nbd+unix:///?socket=$W/$_s_name.sock"
	_s_i=0
	while [ $_s_i -lt 100 ]; do
		nbdinfo --size "$URI" >/dev/null 2>&1 && return 0
		kill -0 "$NBDKIT_PID" 2>/dev/null || break
		sleep 0.1
		_s_i=$((_s_i + 1))
	done
	return 1
}
# fs_tree DEVICE: mkfs.ext4, a file tree (this repository's mdraid/ and
# tests/mdraid/ sources), umount, e2fsck -fn; the tree's md5 list in $W/tree.md5
fs_tree() {
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0 "$1" >/dev/null 2>&1 || return 1
	mkdir -p "$W/mnt"
	mount "$1" "$W/mnt" || return 1
	cp -r "$OPSKIT_SOURCE/mdraid" "$OPSKIT_SOURCE/tests/mdraid" "$W/mnt/" || { umount "$W/mnt"; return 1; }
	(cd "$W/mnt" && find . -type f ! -path './lost+found/*' | sort | xargs md5sum) >"$W/tree.md5"
	umount "$W/mnt" || return 1
	e2fsck -fn "$1" >"$W/fsck.out" 2>&1
}
# client_fs NAME: nbdfuse + loop over the export, fs_tree on it
client_fs() {
	FUSE_MNT="$W/$1.fuse"
	mkdir -p "$FUSE_MNT"
	nbdfuse "$FUSE_MNT/disk" "$URI" &
	_c_fuse=$!
	_c_i=0
	while [ ! -f "$FUSE_MNT/disk" ] && [ $_c_i -lt 100 ]; do sleep 0.1; _c_i=$((_c_i + 1)); done
	LOOP=$(losetup -f --show "$FUSE_MNT/disk") || return 1
	fs_tree "$LOOP"
	_c_rc=$?
	losetup -d "$LOOP"
	LOOP=""
	fusermount3 -u "$FUSE_MNT" 2>/dev/null || umount -l "$FUSE_MNT"
	FUSE_MNT=""
	wait $_c_fuse
	return $_c_rc
}
stop_serve() { # SIGTERM: a normal exit, the plugin marks the array clean
	kill "$NBDKIT_PID" 2>/dev/null
	wait "$NBDKIT_PID" 2>/dev/null
	NBDKIT_PID=""
}

# mkarray NAME SEED: RAID6 n4 64K v1.2 with an internal bitmap on
# $W/NAME0..3.img (32 MiB of random bytes each); MEMS lists them
mkarray() {
	MEMS=""
	for _a_i in 0 1 2 3; do
		mkimg "$W/$1$_a_i.img" 32M $(($2 + _a_i))
		MEMS="$MEMS $W/$1$_a_i.img"
	done
	# shellcheck disable=SC2086
	"$MDRAID" create --level=6 --raid-devices=4 --chunk=64K --bitmap=internal \
		--homehost=opskit $MEMS >"$W/$1.create.out" 2>&1
}
mkarray c 7100 || skip_all "mdraid create failed: $(head -n 2 "$W/c.create.out")"
mems=$MEMS
# shellcheck disable=SC2086
size=$("$MDRAID" read $mems 2>/dev/null | wc -c)

# shellcheck disable=SC2086
if ! serve c $mems; then
	printf '%s\n' "$NAMES" >"$W/names"
	while read -r n; do
		tap_fail "$n" "nbdkit did not start with the plugin: $(head -n 3 "$W/c.nbdkit.err")"
	done <"$W/names"
	tap_done
fi
nbdinfo "$URI" >"$W/info" 2>&1
n="nbdinfo: export size = mdraid's array size, multi-conn, flush, fua; no trim, zero without fast zero"
if grep -q "export-size: $size " "$W/info" && grep -q 'can_multi_conn: true' "$W/info" &&
	grep -q 'can_flush: true' "$W/info" && grep -q 'can_fua: true' "$W/info" &&
	grep -q 'can_trim: false' "$W/info" && grep -q 'can_zero: true' "$W/info" &&
	grep -q 'can_fast_zero: false' "$W/info"; then
	tap_ok "$n"
else
	tap_fail "$n" "size $size: $(grep -E 'size|can_' "$W/info")"
fi
# write zeroes: 1 MiB + 4 KiB from 60 KiB on (a partial stripe at each end,
# whole ones between: 128 KiB stripes), the rest must keep its bytes
n="write zeroes (qemu-io write -z) over partial and whole stripes: the range reads back as zeros, the rest unchanged"
if command -v qemu-io >/dev/null; then
	nbdcopy "$URI" "$W/z.before" 2>"$W/z.err"
	qemu-io -f raw "$URI" -c "write -z 61440 1052672" >"$W/z.out" 2>&1
	nbdcopy "$URI" "$W/z.after" 2>>"$W/z.err"
	python3 - "$W/z.before" "$W/z.after" >"$W/z.py" 2>&1 <<'EOF2'
import sys
a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
z0, z1 = 61440, 61440 + 1052672
ok = len(a) == len(b) and b[z0:z1] == bytes(z1 - z0) and a[:z0] == b[:z0] and a[z1:] == b[z1:]
print('ok' if ok else 'differs')
EOF2
	grep -qx ok "$W/z.py" && grep -q "wrote 1052672/1052672" "$W/z.out" && tap_ok "$n" ||
		tap_fail "$n" "$(cat "$W/z.py" "$W/z.out" "$W/z.err" | head -n 4)"
else
	tap_skip "$n" "no qemu-io (qemu-utils)"
fi
if client_fs c; then
	tap_ok "ext4 through nbdfuse + loop: mkfs, file tree, e2fsck clean"
else
	tap_fail "ext4 through nbdfuse + loop: mkfs, file tree, e2fsck clean" "$(tail -n 5 "$W/fsck.out" 2>/dev/null)"
fi
cp "$W/tree.md5" "$W/c.tree.md5"
nbdcopy "$URI" "$W/c.client" 2>"$W/c.copy.err"
stop_serve
states=$(for i in 0 1 2 3; do mdadm --examine "$W/c$i.img" 2>&1 | sed -n 's/^ *State : //p'; done | sort | uniq -c | tr -s ' ')
[ "$states" = " 4 clean" ] && tap_ok "nbdkit stopped: mdadm --examine says clean on every member" ||
	tap_fail "nbdkit stopped: mdadm --examine says clean on every member" "states: $states; $(cat "$W/c.nbdkit.err" | head -n 3)"
# shellcheck disable=SC2086
"$MDRAID" read $mems 2>"$W/c.read.err" | cmp - "$W/c.client" >"$W/c.cmp" 2>&1 &&
	tap_ok "mdraid read after stop = what the NBD client read" ||
	tap_fail "mdraid read after stop = what the NBD client read" "$(cat "$W/c.cmp" "$W/c.read.err" | head -n 3)"

# degraded: member 3 missing from the start
mkarray d 7200
dmems="$W/d0.img $W/d1.img $W/d2.img missing"
# shellcheck disable=SC2086
if serve d $dmems && client_fs d && nbdcopy "$URI" "$W/d.client" 2>"$W/d.copy.err"; then
	stop_serve
	# shellcheck disable=SC2086
	if "$MDRAID" read $dmems 2>"$W/d.read.err" | cmp - "$W/d.client" >"$W/d.cmp" 2>&1; then
		tap_ok "degraded (one missing): ext4 through the export, e2fsck clean, mdraid read = client"
	else
		tap_fail "degraded (one missing): ext4 through the export, e2fsck clean, mdraid read = client" "$(cat "$W/d.cmp" "$W/d.read.err" | head -n 3)"
	fi
else
	stop_serve
	tap_fail "degraded (one missing): ext4 through the export, e2fsck clean, mdraid read = client" "$(head -n 3 "$W/d.nbdkit.err"; tail -n 3 "$W/fsck.out" 2>/dev/null)"
fi
cp "$W/tree.md5" "$W/d.tree.md5" 2>/dev/null

# two missing, through `mdraid serve` and `mdraid stop` (part 2 of issue 19)
mkarray t 7500
tmems="missing $W/t1.img missing $W/t3.img"
rm -f "$W/t.sock" "$W/tree.md5"
# shellcheck disable=SC2086
LD_PRELOAD="$ASAN_RT" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	"$MDRAID" serve --socket="$W/t.sock" $tmems 2>"$W/t.nbdkit.err" &
NBDKIT_PID=$!
URI="nbd+unix:///?socket=$W/t.sock"
i=0
while [ $i -lt 100 ] && ! nbdinfo --size "$URI" >/dev/null 2>&1 && kill -0 $NBDKIT_PID 2>/dev/null; do
	sleep 0.1
	i=$((i + 1))
done
t_ok=1
t_why=""
if client_fs t && nbdcopy "$URI" "$W/t.client" 2>"$W/t.copy.err"; then
	"$MDRAID" stop --socket="$W/t.sock" >"$W/t.stop.out" 2>&1
	t_rc=$?
	# stop returned: nbdkit must be gone already (not merely signalled)
	if kill -0 $NBDKIT_PID 2>/dev/null; then
		t_ok=0
		t_why="nbdkit still running when mdraid stop returned ($t_rc)"
	fi
	wait $NBDKIT_PID
	NBDKIT_PID=""
	tstates=$(for i in 1 3; do mdadm --examine "$W/t$i.img" 2>&1 | sed -n 's/^ *State : //p'; done | tr '\n' ' ')
	[ "$t_rc" = 0 ] && [ "$tstates" = "clean clean " ] ||
		{ t_ok=0; t_why="$t_why stop rc $t_rc ($(head -n 2 "$W/t.stop.out")), states '$tstates'; $(head -n 3 "$W/t.nbdkit.err")"; }
else
	t_ok=0
	t_why="$(head -n 3 "$W/t.nbdkit.err"; tail -n 3 "$W/fsck.out" 2>/dev/null)"
	stop_serve
fi
[ $t_ok = 1 ] && tap_ok "mdraid serve, two missing: ext4 through it, e2fsck clean; mdraid stop returns after nbdkit exits, members clean" ||
	tap_fail "mdraid serve, two missing: ext4 through it, e2fsck clean; mdraid stop returns after nbdkit exits, members clean" "$t_why"
cp "$W/tree.md5" "$W/t.tree.md5" 2>/dev/null

# parallel clients: the expected content is derived from the inputs alone
# (the random source, then each qemu-io write's pattern byte over its range;
# the ranges do not overlap, so the order the server ran them in does not
# matter), never read from the plugin
mkarray p 7800
pmems=$MEMS
# shellcheck disable=SC2086
serve p $pmems
psize=$(nbdinfo --size "$URI" 2>/dev/null || echo 0)
pa=$((psize / 4 * 3 / 65536 * 65536))
mkimg "$W/p.src" "$pa" 7899
python3 - "$W/p.src" "$pa" "$psize" "$W/p.qio" "$W/p.expect" <<'EOF2'
import random, sys
src, pa, size, qio, expect = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rng = random.Random(7801)
out = bytearray(open(src, 'rb').read())
assert len(out) == pa
out += bytes(size - pa)  # the array's own bytes there are all overwritten below
ops, off = [], pa
while off < size:
    n = min(rng.randrange(1, 81) * 512, size - off)
    ops.append((off, n, rng.randrange(1, 256)))
    off += n
rng.shuffle(ops)
with open(qio, 'w') as f:
    for i, (o, n, pat) in enumerate(ops):
        f.write('-c\naio_write -q -P %d %d %d\n' % (pat, o, n))
        out[o:o + n] = bytes([pat]) * n
        if i % 3 == 0:  # reads among the writes, anywhere (not checked: racing)
            r = rng.randrange(1, 129) * 512
            f.write('-c\naio_read -q %d %d\n' % (rng.randrange(0, size - r + 1), r))
    f.write('-c\naio_flush\n')
open(expect, 'wb').write(out)
EOF2
LD_PRELOAD="$ASAN_RT" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
	nbdkit --dump-plugin "$PLUGIN" >"$W/p.dump" 2>&1
: >"$W/p.reads"
(
	while [ ! -e "$W/p.done" ]; do
		nbdcopy --connections=2 "$URI" null: 2>>"$W/p.reads.err" && echo ok >>"$W/p.reads" ||
			echo failed >>"$W/p.reads"
	done
) &
p_reader=$!
nbdcopy --flush --connections=4 --requests=32 --request-size=65536 "$W/p.src" "$URI" 2>"$W/p.copy.err" &
p_copy=$!
xargs -a "$W/p.qio" -d '\n' qemu-io -f raw "$URI" >"$W/p.qio.out" 2>&1
p_qrc=$?
wait $p_copy
p_crc=$?
touch "$W/p.done"
wait $p_reader
nbdcopy --connections=4 --requests=32 "$URI" "$W/p.client" 2>>"$W/p.copy.err"
n="parallel clients (nbdcopy 4 connections, qemu-io aio, a reader alongside): read back through 4 connections = what was written"
if grep -q '^thread_model=parallel' "$W/p.dump" && [ $p_qrc = 0 ] && [ $p_crc = 0 ] &&
	! grep -qi 'fail\|error' "$W/p.qio.out" &&
	! grep -q failed "$W/p.reads" && [ -s "$W/p.reads" ] && cmp "$W/p.client" "$W/p.expect" >"$W/p.cmp" 2>&1; then
	tap_ok "$n"
	echo "# $(grep -c -- aio_write "$W/p.qio") qemu-io writes and $(grep -c -- aio_read "$W/p.qio") reads, $(wc -l <"$W/p.reads") whole reads alongside"
else
	tap_fail "$n" "$(grep thread_model "$W/p.dump"); qemu-io $p_qrc nbdcopy $p_crc; reads: $(sort "$W/p.reads" | uniq -c | tr '\n' ' '); $(cat "$W/p.cmp" "$W/p.copy.err" "$W/p.reads.err" 2>/dev/null | head -n 3); $(grep -iv '^$' "$W/p.qio.out" | head -n 3)"
fi
stop_serve
n="parallel clients: after stop, mdraid read = what was written, mdraid check 0 mismatches, members clean"
pstates=$(for f in $pmems; do mdadm --examine "$f" 2>&1 | sed -n 's/^ *State : //p'; done | tr '\n' ' ')
# shellcheck disable=SC2086
if "$MDRAID" read $pmems 2>"$W/p.read.err" | cmp - "$W/p.expect" >"$W/p.cmp2" 2>&1 &&
	"$MDRAID" check $pmems >"$W/p.check" 2>&1 && [ "$pstates" = "clean clean clean clean " ]; then
	tap_ok "$n"
	sed 's/^/# check: /' "$W/p.check" | head -n 3
else
	tap_fail "$n" "$(cat "$W/p.cmp2" "$W/p.read.err" | head -n 2); check: $(head -n 3 "$W/p.check"); states '$pstates'; $(head -n 3 "$W/p.nbdkit.err")"
fi

# killed: a copy of random data into the first 12 MiB, nbdkit SIGKILLed
# after the client has sent some of it (at least one write acknowledged)
mkarray k 7300
kmems=$MEMS
mkimg "$W/k.src" 12M 7399
mkimg "$W/k.src2" 12M 7398
# shellcheck disable=SC2086
serve k $kmems
# nbdcopy to a bigger destination writes the source at the start: one copy
# that completes (nbdcopy flushes at its end: acknowledged and durable),
# then a second one cut by SIGKILL while it writes
nbdcopy "$W/k.src" "$URI" 2>"$W/k.copy1.err"
nbdcopy --request-size=65536 --requests=1 --connections=1 "$W/k.src2" "$URI" 2>/dev/null &
cp_pid=$!
sleep 0.3
kill -KILL "$NBDKIT_PID"
wait "$NBDKIT_PID" 2>/dev/null
NBDKIT_PID=""
wait $cp_pid 2>/dev/null
rm -f "$W/k.sock"
# (mdadm -X finds an internal bitmap only on a block device: a read-only loop)
kloop=$(losetup -r -f --show "$W/k0.img")
dirty=$(mdadm -X "$kloop" 2>/dev/null | sed -n 's/.*Bitmap : \([0-9]*\) bits.*, \([0-9]*\) dirty.*/\1 \2/p')
losetup -d "$kloop"
bits=${dirty% *}
nd=${dirty#* }
# (32 MiB members get mdadm's 64 MiB bitmap chunk: one bit covers all; that
# the kernel resyncs only the dirty region is md's own rule, checked below by
# the resync happening at all and ending with mismatch_cnt 0)
kstate=$(mdadm --examine "$W/k0.img" 2>/dev/null | sed -n 's/^ *State : //p')
if [ -n "$dirty" ] && [ "$nd" -gt 0 ] && [ "$kstate" = active ]; then
	tap_ok "SIGKILL mid-copy: mdadm -X finds the bitmap dirty (the array stays active)"
	echo "# bitmap: $nd of $bits bits dirty"
else
	tap_fail "SIGKILL mid-copy: mdadm -X finds the bitmap dirty (the array stays active)" "mdadm -X: '$dirty', state '$kstate'"
fi
# shellcheck disable=SC2086
"$MDRAID" read --force $kmems >"$W/k.read" 2>"$W/k.read.err" ||
	"$MDRAID" read $kmems >"$W/k.read" 2>"$W/k.read.err"

# overlay: serve_cli NAME ARGS... runs `mdraid serve --socket=$W/NAME.sock ARGS`
serve_cli() {
	_sc_name=$1
	shift
	LD_PRELOAD="$ASAN_RT" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		"$MDRAID" serve --socket="$W/$_sc_name.sock" "$@" 2>>"$W/$_sc_name.nbdkit.err" &
	NBDKIT_PID=$!
	URI="nbd+unix:///?socket=$W/$_sc_name.sock"
	_sc_i=0
	while [ $_sc_i -lt 100 ]; do
		nbdinfo --size "$URI" >/dev/null 2>&1 && return 0
		kill -0 "$NBDKIT_PID" 2>/dev/null || break
		sleep 0.1
		_sc_i=$((_sc_i + 1))
	done
	return 1
}
stop_cli() {
	"$MDRAID" stop --socket="$W/$1.sock" >>"$W/$1.stop.out" 2>&1
	wait "$NBDKIT_PID" 2>/dev/null
	NBDKIT_PID=""
}
mkarray o 7600
omems=$MEMS
# shellcheck disable=SC2086
md5sum $omems >"$W/o.before"
mkdir -p "$W/ov" "$W/ov2"
# shellcheck disable=SC2086
if serve_cli o --overlay="$W/ov" $omems && client_fs o && nbdcopy "$URI" "$W/o.client" 2>"$W/o.copy.err"; then
	stop_cli o
	cp "$W/tree.md5" "$W/o.tree.md5"
	if md5sum -c --quiet "$W/o.before" >"$W/o.md5c" 2>&1 && [ -s "$W/ov/mdraid-overlay.cow" ]; then
		tap_ok "overlay: ext4 through it, e2fsck clean, every member's md5 unchanged"
	else
		tap_fail "overlay: ext4 through it, e2fsck clean, every member's md5 unchanged" "$(head -n 4 "$W/o.md5c"; ls -l "$W/ov")"
	fi
else
	stop_cli o
	tap_fail "overlay: ext4 through it, e2fsck clean, every member's md5 unchanged" "$(head -n 3 "$W/o.nbdkit.err"; tail -n 3 "$W/fsck.out" 2>/dev/null)"
fi
# the members' own content (mdraid read), which the overlay must hide
# shellcheck disable=SC2086
"$MDRAID" read $omems >"$W/o.raw" 2>/dev/null
# shellcheck disable=SC2086
serve_cli o --overlay="$W/ov" $omems && nbdcopy "$URI" "$W/o.again" 2>>"$W/o.copy.err"
stop_cli o
cmp "$W/o.client" "$W/o.again" >"$W/o.cmp" 2>&1 && ! cmp -s "$W/o.client" "$W/o.raw" &&
	tap_ok "overlay: served again, the export shows the overlay's content" ||
	tap_fail "overlay: served again, the export shows the overlay's content" "$(cat "$W/o.cmp"; head -n 3 "$W/o.nbdkit.err")"
# discard: a second overlay that gets 1 MiB of random bytes at its start
mkimg "$W/o.src" 1M 7699
# shellcheck disable=SC2086
serve_cli o --overlay="$W/ov2" $omems && nbdcopy "$W/o.src" "$URI" 2>>"$W/o.copy.err"
stop_cli o
"$MDRAID" overlay discard "$W/ov2" >"$W/o.discard" 2>&1
d_rc=$?
# shellcheck disable=SC2086
serve_cli o --overlay="$W/ov2" $omems && nbdcopy "$URI" "$W/o.afterdiscard" 2>>"$W/o.copy.err"
stop_cli o
"$MDRAID" overlay discard "$W/ov2" >>"$W/o.discard" 2>&1
if [ $d_rc = 0 ] && [ ! -e "$W/ov2/mdraid-overlay.cow" ] && cmp -s "$W/o.raw" "$W/o.afterdiscard" &&
	md5sum -c --quiet "$W/o.before" >/dev/null 2>&1; then
	tap_ok "overlay discard: the file is gone, the export is the members' again"
else
	tap_fail "overlay discard: the file is gone, the export is the members' again" "discard rc $d_rc: $(head -n 3 "$W/o.discard"; ls "$W/ov2")"
fi
# shellcheck disable=SC2086
"$MDRAID" overlay commit "$W/ov" $omems >"$W/o.commit" 2>&1
c_rc=$?
ostates=$(for f in $omems; do mdadm --examine "$f" 2>&1 | sed -n 's/^ *State : //p'; done | tr '\n' ' ')
# shellcheck disable=SC2086
if [ $c_rc = 0 ] && "$MDRAID" read $omems 2>"$W/o.read.err" | cmp - "$W/o.client" >"$W/o.cmp" 2>&1 &&
	[ "$ostates" = "clean clean clean clean " ] && [ ! -e "$W/ov/mdraid-overlay.cow" ]; then
	tap_ok "overlay commit: mdraid read = what the client saw, members clean, file gone"
	sed 's/^/# /' "$W/o.commit"
else
	tap_fail "overlay commit: mdraid read = what the client saw, members clean, file gone" "rc $c_rc: $(head -n 3 "$W/o.commit"; cat "$W/o.cmp"); states '$ostates'"
fi

if [ -n "$GUEST_SKIP" ]; then
	for n in "kernel: clean array assembles without a resync" "kernel: content = the NBD client's (md5)" \
		"kernel: check mismatch_cnt 0" "kernel: mounted, every file's md5 = what the client wrote" \
		"kernel: degraded array assembles degraded with the client's content and files" \
		"kernel: two missing: assembles degraded (2) with the client's content and files" \
		"kernel: killed array resyncs from the bitmap, content = mdraid read, mismatch_cnt 0" \
		"kernel: committed overlay assembles without a resync, files and content = the client's, mismatch_cnt 0" \
		"kernel: array written by parallel clients assembles without a resync, content = what was written, mismatch_cnt 0"; do
		tap_skip "$n" "$GUEST_SKIP"
	done
	tap_done
fi
cat >"$W/body" <<'BODY'
# M0..M3 the clean array, M4..M6 the degraded one (3 members), M7..M10 the
# killed one, M11..M12 the one with two missing, M13..M16 the committed overlay,
# M17..M20 the one the parallel clients wrote
# tree MD NAME: mount read-only, md5 of every file into /out/NAME.tree
tree() {
	mkdir -p /mnt
	mount -t ext4 -o ro "/dev/$1" /mnt 2>/out/$2.mount || return
	(cd /mnt && find . -type f ! -path './lost+found/*' | sort | xargs md5sum) >/out/$2.tree
	umount /mnt
}
mdadm --assemble /dev/md0 $(range 0 4) >/out/a0 2>&1
say c.assembled $?
say c.action0 "$(cat /sys/block/md0/md/sync_action)"
wait_idle md0
say c.md5 "$(md5sum </dev/md0 | cut -d' ' -f1)"
md_check md0 | sed 's/^md0\./c./'
tree md0 c
mdadm --stop /dev/md0 >/dev/null 2>&1
mdadm --assemble --run /dev/md1 $(range 4 3) >/out/a1 2>&1
say d.assembled $?
say d.degraded "$(cat /sys/block/md1/md/degraded)"
say d.md5 "$(md5sum </dev/md1 | cut -d' ' -f1)"
tree md1 d
mdadm --stop /dev/md1 >/dev/null 2>&1
mdadm --assemble --run /dev/md3 $(range 11 2) >/out/a3 2>&1
say t.assembled $?
say t.degraded "$(cat /sys/block/md3/md/degraded)"
say t.md5 "$(md5sum </dev/md3 | cut -d' ' -f1)"
tree md3 t
mdadm --stop /dev/md3 >/dev/null 2>&1
dmesg | grep -c 'resync of RAID array md0' | sed 's/^/c.resyncs=/'
mdadm --assemble /dev/md4 $(range 13 4) >/out/a4 2>&1
say o.assembled $?
say o.action0 "$(cat /sys/block/md4/md/sync_action)"
say o.md5 "$(md5sum </dev/md4 | cut -d' ' -f1)"
md_check md4 | sed 's/^md4\./o./'
tree md4 o
mdadm --stop /dev/md4 >/dev/null 2>&1
dmesg | grep -c 'resync of RAID array md4' | sed 's/^/o.resyncs=/'
mdadm --assemble /dev/md5 $(range 17 4) >/out/a5 2>&1
say p.assembled $?
say p.action0 "$(cat /sys/block/md5/md/sync_action)"
say p.md5 "$(md5sum </dev/md5 | cut -d' ' -f1)"
md_check md5 | sed 's/^md5\./p./'
mdadm --stop /dev/md5 >/dev/null 2>&1
dmesg | grep -c 'resync of RAID array md5' | sed 's/^/p.resyncs=/'
mdadm --assemble /dev/md2 $(range 7 4) >/out/a2 2>&1
say k.assembled $?
wait_idle md2
dmesg | grep -c 'resync of RAID array md2' | sed 's/^/k.resyncs=/'
say k.md5 "$(md5sum </dev/md2 | cut -d' ' -f1)"
md_check md2 | sed 's/^md2\./k./'
mdadm --stop /dev/md2 >/dev/null 2>&1
BODY
guest_script "$W/script" "$W/body"
# shellcheck disable=SC2086
boot guest "$W/kv" "$W/err" -t 300 -o "$W/out" "$W/script" $mems "$W/d0.img" "$W/d1.img" "$W/d2.img" $kmems "$W/t1.img" "$W/t3.img" $omems $pmems
# same_tree NAME: the guest's per-file md5 list = the one made on the client
same_tree() {
	[ -s "$W/out/$1.tree" ] || { echo "no file list from the guest: $(head -n 2 "$W/out/$1.mount" 2>/dev/null)"; return 1; }
	diff "$W/$1.tree.md5" "$W/out/$1.tree" | head -n 5
	cmp -s "$W/$1.tree.md5" "$W/out/$1.tree" && echo "# $1: $(wc -l <"$W/$1.tree.md5") files equal"
}
c1() {
	[ "$(kv "$W/kv" c.assembled)" = 0 ] || { head -n 3 "$W/out/a0"; return 1; }
	[ "$(kv "$W/kv" c.resyncs)" = 0 ] && [ "$(kv "$W/kv" c.action0)" = idle ] ||
		{ echo "resyncs $(kv "$W/kv" c.resyncs), sync_action '$(kv "$W/kv" c.action0)' at assembly"; return 1; }
}
tap_check "kernel: clean array assembles without a resync" c1
c2() { [ "$(kv "$W/kv" c.md5)" = "$(md5 <"$W/c.client")" ] || { echo "kernel md5 $(kv "$W/kv" c.md5)"; return 1; }; }
tap_check "kernel: content = the NBD client's (md5)" c2
c3() { [ "$(kv "$W/kv" c.mismatch)" = 0 ] || { echo "mismatch_cnt '$(kv "$W/kv" c.mismatch)'"; return 1; }; }
tap_check "kernel: check mismatch_cnt 0" c3
same_tree c >"$W/c.same" 2>&1 && tap_ok "kernel: mounted, every file's md5 = what the client wrote" && grep '^#' "$W/c.same" ||
	tap_fail "kernel: mounted, every file's md5 = what the client wrote" "$(cat "$W/c.same")"
d1() {
	[ "$(kv "$W/kv" d.assembled)" = 0 ] && [ "$(kv "$W/kv" d.degraded)" = 1 ] ||
		{ echo "assembled $(kv "$W/kv" d.assembled) degraded $(kv "$W/kv" d.degraded)"; head -n 3 "$W/out/a1"; return 1; }
	[ "$(kv "$W/kv" d.md5)" = "$(md5 <"$W/d.client")" ] || { echo "kernel md5 $(kv "$W/kv" d.md5)"; return 1; }
	same_tree d
}
tap_check "kernel: degraded array assembles degraded with the client's content and files" d1
t1() {
	[ "$(kv "$W/kv" t.assembled)" = 0 ] && [ "$(kv "$W/kv" t.degraded)" = 2 ] ||
		{ echo "assembled $(kv "$W/kv" t.assembled) degraded $(kv "$W/kv" t.degraded)"; head -n 3 "$W/out/a3"; return 1; }
	[ "$(kv "$W/kv" t.md5)" = "$(md5 <"$W/t.client")" ] || { echo "kernel md5 $(kv "$W/kv" t.md5)"; return 1; }
	same_tree t
}
tap_check "kernel: two missing: assembles degraded (2) with the client's content and files" t1
k1() {
	[ "$(kv "$W/kv" k.assembled)" = 0 ] || { head -n 3 "$W/out/a2"; return 1; }
	[ "$(kv "$W/kv" k.resyncs)" -ge 1 ] 2>/dev/null || { echo "no resync of the killed array"; return 1; }
	[ "$(kv "$W/kv" k.md5)" = "$(md5 <"$W/k.read")" ] || { echo "kernel md5 $(kv "$W/kv" k.md5); $(head -n 2 "$W/k.read.err")"; return 1; }
	[ "$(kv "$W/kv" k.mismatch)" = 0 ] || { echo "mismatch_cnt '$(kv "$W/kv" k.mismatch)'"; return 1; }
}
tap_check "kernel: killed array resyncs from the bitmap, content = mdraid read, mismatch_cnt 0" k1
o1() {
	[ "$(kv "$W/kv" o.assembled)" = 0 ] || { head -n 3 "$W/out/a4"; return 1; }
	[ "$(kv "$W/kv" o.resyncs)" = 0 ] && [ "$(kv "$W/kv" o.action0)" = idle ] ||
		{ echo "resyncs $(kv "$W/kv" o.resyncs), sync_action '$(kv "$W/kv" o.action0)' at assembly"; return 1; }
	[ "$(kv "$W/kv" o.md5)" = "$(md5 <"$W/o.client")" ] || { echo "kernel md5 $(kv "$W/kv" o.md5)"; return 1; }
	[ "$(kv "$W/kv" o.mismatch)" = 0 ] || { echo "mismatch_cnt '$(kv "$W/kv" o.mismatch)'"; return 1; }
	same_tree o
}
tap_check "kernel: committed overlay assembles without a resync, files and content = the client's, mismatch_cnt 0" o1
p1() {
	[ "$(kv "$W/kv" p.assembled)" = 0 ] || { head -n 3 "$W/out/a5"; return 1; }
	[ "$(kv "$W/kv" p.resyncs)" = 0 ] && [ "$(kv "$W/kv" p.action0)" = idle ] ||
		{ echo "resyncs $(kv "$W/kv" p.resyncs), sync_action '$(kv "$W/kv" p.action0)' at assembly"; return 1; }
	[ "$(kv "$W/kv" p.md5)" = "$(md5 <"$W/p.expect")" ] || { echo "kernel md5 $(kv "$W/kv" p.md5)"; return 1; }
	[ "$(kv "$W/kv" p.mismatch)" = 0 ] || { echo "mismatch_cnt '$(kv "$W/kv" p.mismatch)'"; return 1; }
}
tap_check "kernel: array written by parallel clients assembles without a resync, content = what was written, mismatch_cnt 0" p1
tap_done
