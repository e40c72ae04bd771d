#!/bin/sh
# test_read_errors.sh: unreadable sectors under check, read and grow
# (issue 15, item 4), judged by the content mdraid wrote, the host's mdadm
# and the kernel's md driver.
#
# An LD_PRELOAD shim (failwrite.c, FAILREAD=FILE:BYTE) makes one 4 KiB block
# of a member fail every read with EIO, as a medium error does; the same
# block is also zeroed in the image, so the only way to its data is P/Q. The
# block is a data block of stripe 0 (left-symmetric: RAID6 of 4 has P on
# member 3, Q on 0, data on 1 and 2; RAID5 of 3 has P on 2, data on 0 and 1),
# 8 KiB into the chunk, so its member byte is data_offset*512 + 8192.
#
# On the host:
#   check (RAID6, one block; RAID6, two blocks of one stripe): exit 1,
#     "read_errors N (corrected N, ...)", and the member images equal the
#     originals again byte for byte (the rewrite came from P/Q); a second
#     check without the fault: exit 0, mismatch_cnt 0.
#   read: the content equals the shadow, a warning on stderr, exit 0, the
#     member untouched (read opens the members read-only).
#   grow 4->5 (RAID6, one block and two blocks of one stripe) and 3->4
#     (RAID5): exit 0, a warning at the end; mdraid read = shadow, mdraid
#     check mismatch_cnt 0.
#   a block the disk cannot take back (FAILREAD_STICKY=1: writes fail too):
#     check records it in the member's bad-block log; the host's mdadm
#     --examine-badblocks lists that sector for 8 sectors; mdraid read
#     without the fault avoids it (the zeroed block) and equals the shadow.
#   the same block on a 0.90 array (no bad-block log): neither rewritten nor
#     recorded, so check fails the member (md_error); mdraid read leaves it
#     out and equals the shadow.
# In one guest boot: the kernel assembles the grown RAID6 and RAID5 arrays
# and the one with the bad-block entry; content = shadow; md's check gives
# mismatch_cnt 0 on the grown ones. mdadm --assemble of all four members of
# the 0.90 array starts it degraded (md/degraded 1) without the failed
# member, content = shadow: the kernel treats that member as faulty, as md
# does after md_error. (Left one event behind with its own superblock
# unchanged, as md leaves a Faulty device, mdadm 4.2 took it back in, "has
# wrong state in superblock, but seems ok", and the kernel returned its
# stale block; mdraid now also marks the member's own superblock faulty.)
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

SHIM="$OPSKIT_BUILD/tests/interop/mdraid/failwrite.so"
MDADM=$(command -v mdadm || ls /sbin/mdadm /usr/sbin/mdadm 2>/dev/null | head -n 1)
# (ASan builds: the shim is preloaded ahead of the sanitizer's runtime)
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
export ASAN_OPTIONS

HOST="check r6: one EIO block: exit 1, read_errors 1 corrected 1
check r6: the member equals the original again (rewritten from P/Q), cnt_corrected_read 8
check r6: a second check without the fault: exit 0, mismatch_cnt 0
check r6: two EIO blocks in one stripe: exit 1, read_errors 2 corrected 2
check r6: both members equal the originals again, cnt_corrected_read 16 and 8
read r6: one EIO block: content = shadow, exit 0
read r6: a warning names the member, the member is untouched
grow r6 4->5: one EIO block: exit 0, warning at the end
grow r6 4->5: mdraid read = shadow, check mismatch_cnt 0
grow r6 4->5: two EIO blocks in one stripe: exit 0, content = shadow, mismatch_cnt 0
grow r5 3->4: one EIO block: exit 0, warning at the end
grow r5 3->4: mdraid read = shadow, check mismatch_cnt 0
sticky block: check records it in the bad-block log
sticky block: mdadm --examine-badblocks lists it
sticky block: mdraid read avoids it: content = shadow
sticky block: mdraid examine = mdadm --examine
failed member (0.90, no bad-block log): check fails it: exit 1, members failed
failed member: its own superblock says faulty, mdraid read leaves it out: content = shadow"
KERNEL="kernel: grown r6 assembles, content = shadow
kernel: grown r6 check: mismatch_cnt 0
kernel: grown r5 assembles, content = shadow
kernel: grown r5 check: mismatch_cnt 0
kernel: array with a bad-block entry assembles, content = shadow
kernel: 0.90 array with the failed member assembles degraded without it, content = shadow"
skip_lines() { # REASON TEXT
	printf '%s\n' "$2" >"$W/names"
	skip_each "$1" <"$W/names"
}
[ -f "$SHIM" ] || {
	skip_lines "failwrite.so not built" "$HOST
$KERNEL"
	tap_done
}
why=$(mdraid_lacks create) && {
	skip_lines "$why" "$HOST
$KERNEL"
	tap_done
}

# mkarr NAME LEVEL N [METADATA]: members NAME0.img .. of 16 MiB, mdraid
# create (64K chunk, v1.2 unless METADATA), 12 MiB of random data written at
# 0; NAME.shadow its content
mkarr() {
	_ma_i=0 _ma_m=""
	while [ $_ma_i -lt "$3" ]; do
		mkimg "$W/$1$_ma_i.img" 16M $((7000 + _ma_i))
		_ma_m="$_ma_m $W/$1$_ma_i.img"
		_ma_i=$((_ma_i + 1))
	done
	# shellcheck disable=SC2086
	"$MDRAID" create --metadata="${4:-1.2}" --level="$2" --raid-devices="$3" --chunk=64K \
		--homehost=opskit $_ma_m \
		>/dev/null 2>&1 || return 1
	mkimg "$W/src" 12M 6999
	# shellcheck disable=SC2086
	"$MDRAID" write --offset=0 $_ma_m <"$W/src" || return 1
	# shellcheck disable=SC2086
	"$MDRAID" read $_ma_m >"$W/$1.shadow"
}
# the member byte of the 4 KiB block 8 KiB into member MEMBER's chunk of stripe 0
blk() {
	_b_do=$("$MDRAID" examine "$1" | sed -n 's/^ *Data Offset : \([0-9]*\) sectors.*/\1/p')
	echo $((${_b_do:-0} * 512 + 8192)) # 0.90: data from sector 0
}
zero_blk() { # IMG BYTE: the block's bytes gone from the image
	dd if=/dev/zero of="$1" bs=4096 count=1 seek=$(($2 / 4096)) conv=notrunc 2>/dev/null
}
faulty() { # FAILREAD-SPEC CMD...: CMD with the shim
	_f_spec=$1
	shift
	LD_PRELOAD="$SHIM" FAILREAD="$_f_spec" "$@"
}
# check_case NAME ARRAY N SPEC READ_ERRORS_LINE: mdraid check of the array
# with the shim's SPEC exits 1 and prints mismatch_cnt 0 and that line
check_case() {
	# shellcheck disable=SC2046
	faulty "$4" "$MDRAID" check $(imgs_of "$2" "$3") >"$W/out" 2>"$W/err"
	_cc_rc=$?
	tap_check "$1" test "$(printf 'rc %s\n%s' $_cc_rc "$(cat "$W/out")")" = "rc 1
mismatch_cnt 0
$5"
}

# ---- check ----
mkarr c 6 4 || { skip_lines "mdraid create/write failed" "$HOST
$KERNEL"; tap_done; }
B=$(blk "$W/c1.img")
cp "$W/c1.img" "$W/c1.orig"
cp "$W/c2.img" "$W/c2.orig"
zero_blk "$W/c1.img" "$B"
check_case "check r6: one EIO block: exit 1, read_errors 1 corrected 1" c 4 "$W/c1.img:$B" \
	"read_errors 1 (corrected 1, bad blocks recorded 0, not corrected 0)"
# same_data IMG ORIG CORRECTED: the data area equals the original byte for
# byte (the rewrite came from P/Q) and the v1.2 superblock (at 4096) says
# cnt_corrected_read = CORRECTED: raid5_end_read_request adds
# RAID5_STRIPE_SECTORS (8) per corrected 4 KiB block, super_1_sync stores it
same_data() {
	cmp -i $((B - 8192)) "$1" "$2" || return 1
	_sd_n=$(od -An -tu4 -j $((4096 + 164)) -N4 "$1" | tr -d ' ')
	[ "$_sd_n" = "$3" ] || { echo "cnt_corrected_read $_sd_n, expected $3"; return 1; }
}
tap_check "check r6: the member equals the original again (rewritten from P/Q), cnt_corrected_read 8" \
	same_data "$W/c1.img" "$W/c1.orig" 8
# shellcheck disable=SC2046
tap_check "check r6: a second check without the fault: exit 0, mismatch_cnt 0" \
	test "$("$MDRAID" check $(imgs_of c 4) 2>&1; echo "rc $?")" = "mismatch_cnt 0
rc 0"
zero_blk "$W/c1.img" "$B"
zero_blk "$W/c2.img" "$B"
check_case "check r6: two EIO blocks in one stripe: exit 1, read_errors 2 corrected 2" c 4 \
	"$W/c1.img:$B,$W/c2.img:$B" "read_errors 2 (corrected 2, bad blocks recorded 0, not corrected 0)"
both() { same_data "$W/c1.img" "$W/c1.orig" 16 && same_data "$W/c2.img" "$W/c2.orig" 8; }
tap_check "check r6: both members equal the originals again, cnt_corrected_read 16 and 8" both

# ---- read ----
zero_blk "$W/c1.img" "$B"
cp "$W/c1.img" "$W/c1.zeroed"
# shellcheck disable=SC2046
faulty "$W/c1.img:$B" "$MDRAID" read $(imgs_of c 4) >"$W/got" 2>"$W/err"
rc=$?
rd() { [ $rc = 0 ] && cmp "$W/got" "$W/c.shadow"; }
tap_check "read r6: one EIO block: content = shadow, exit 0" rd
rw() {
	grep -q "warning: 1 unreadable 4 KiB block rebuilt from P/Q (the first at $W/c1.img: offset $B)" "$W/err" ||
		{ cat "$W/err"; return 1; }
	cmp "$W/c1.img" "$W/c1.zeroed"
}
tap_check "read r6: a warning names the member, the member is untouched" rw

# ---- grow ----
# grow_case NAME LEVEL N SPEC-MEMBERS...: grow NAME N -> N+1 with the named
# members' block failing (and zeroed)
grow_case() {
	_g_n=$1 _g_l=$2 _g_c=$3
	shift 3
	mkarr "$_g_n" "$_g_l" "$_g_c" || return 1
	mkimg "$W/$_g_n$_g_c.img" 16M 7100
	_g_spec=""
	for _g_k in "$@"; do
		_g_b=$(blk "$W/$_g_n$_g_k.img")
		zero_blk "$W/$_g_n$_g_k.img" "$_g_b"
		_g_spec="$_g_spec${_g_spec:+,}$W/$_g_n$_g_k.img:$_g_b"
	done
	# shellcheck disable=SC2046
	faulty "$_g_spec" "$MDRAID" grow -q --raid-devices=$((_g_c + 1)) $(imgs_of "$_g_n" $((_g_c + 1))) \
		>"$W/$_g_n.out" 2>"$W/$_g_n.err"
}
grown_ok() { # NAME N: read = shadow (its first bytes), check clean
	_go_len=$(stat -c %s "$W/$1.shadow")
	# shellcheck disable=SC2046
	"$MDRAID" read --length="$_go_len" $(imgs_of "$1" "$2") | cmp - "$W/$1.shadow" || return 1
	# shellcheck disable=SC2046
	_go_ck=$("$MDRAID" check $(imgs_of "$1" "$2") 2>&1)
	[ "$_go_ck" = "mismatch_cnt 0" ] || { echo "$_go_ck"; return 1; }
}
warned() { # NAME N: the grow exited 0 ($rc) and warned of N blocks
	[ $rc = 0 ] || { echo "exit $rc"; cat "$W/$1.err"; return 1; }
	grep -q "warning: $2 unreadable 4 KiB blocks\? rebuilt from P/Q" "$W/$1.err" || { cat "$W/$1.err"; return 1; }
}
grow_case g6 6 4 1
rc=$?
tap_check "grow r6 4->5: one EIO block: exit 0, warning at the end" warned g6 1
tap_check "grow r6 4->5: mdraid read = shadow, check mismatch_cnt 0" grown_ok g6 5
grow_case g2 6 4 1 2
rc=$?
g2() { warned g2 2 && grown_ok g2 5; }
tap_check "grow r6 4->5: two EIO blocks in one stripe: exit 0, content = shadow, mismatch_cnt 0" g2
grow_case g5 5 3 0
rc=$?
tap_check "grow r5 3->4: one EIO block: exit 0, warning at the end" warned g5 1
tap_check "grow r5 3->4: mdraid read = shadow, check mismatch_cnt 0" grown_ok g5 4

# ---- a block the disk cannot take back: the bad-block log ----
mkarr s 6 4
SB=$(blk "$W/s1.img")
zero_blk "$W/s1.img" "$SB"
export FAILREAD_STICKY=1
check_case "sticky block: check records it in the bad-block log" s 4 \
	"$W/s1.img:$SB" "read_errors 1 (corrected 0, bad blocks recorded 1, not corrected 0)"
unset FAILREAD_STICKY
if [ -n "$MDADM" ]; then
	bb() {
		"$MDADM" --examine-badblocks "$W/s1.img" >"$W/bb" 2>&1
		printf 'Bad-blocks on %s:\n%20s for 8 sectors\n' "$W/s1.img" $((SB / 512)) >"$W/bb.want"
		diff "$W/bb.want" "$W/bb"
	}
	tap_check "sticky block: mdadm --examine-badblocks lists it" bb
else
	tap_skip "sticky block: mdadm --examine-badblocks lists it" "no mdadm on the host"
fi
# shellcheck disable=SC2046
sr() { "$MDRAID" read $(imgs_of s 4) | cmp - "$W/s.shadow"; }
tap_check "sticky block: mdraid read avoids it: content = shadow" sr
if [ -n "$MDADM" ]; then
	ex() {
		"$MDADM" --examine "$W/s1.img" >"$W/s.mdadm.0.examine" 2>&1
		cp "$W/s1.img" "$W/sx0.img"
		examine_cmp "$W/s.mdadm" "$W/sx" 1
	}
	tap_check "sticky block: mdraid examine = mdadm --examine" ex
else
	tap_skip "sticky block: mdraid examine = mdadm --examine" "no mdadm on the host"
fi

# ---- a block that can be neither rewritten nor recorded: the member fails ----
mkarr f 6 4 0.90
FB=$(blk "$W/f1.img")
zero_blk "$W/f1.img" "$FB"
export FAILREAD_STICKY=1
check_case "failed member (0.90, no bad-block log): check fails it: exit 1, members failed" f 4 \
	"$W/f1.img:$FB" "read_errors 1 (corrected 0, bad blocks recorded 0, not corrected 1, members failed)"
unset FAILREAD_STICKY
fr() {
	# shellcheck disable=SC2046
	"$MDRAID" read $(imgs_of f 4) 2>"$W/f.err" | cmp - "$W/f.shadow" || return 1
	grep -q "f1.img: not used: its role is faulty" "$W/f.err" || { cat "$W/f.err"; return 1; }
}
tap_check "failed member: its own superblock says faulty, mdraid read leaves it out: content = shadow" fr

# ---- the kernel's view ----
if [ -n "$GUEST_SKIP" ]; then
	skip_lines "$GUEST_SKIP" "$KERNEL"
	tap_done
fi
truncate -s 192M "$W/export.img"
cat >"$W/body" <<'BODY'
mdadm --assemble /dev/md0 $(range 0 5) >/out/a0 2>&1
say g6.assembled $?
mdadm --assemble /dev/md1 $(range 5 4) >/out/a1 2>&1
say g5.assembled $?
mdadm --assemble /dev/md2 $(range 9 4) >/out/a2 2>&1
say s.assembled $?
mdadm --assemble /dev/md3 $(range 13 4) >/out/a3 2>&1
say f.assembled $?
say f.degraded "$(cat /sys/block/md3/md/degraded)"
wait_idle md0
wait_idle md1
wait_idle md2
export_dev /dev/md0 "$M17" 0
export_dev /dev/md1 "$M17" 50331648
export_dev /dev/md2 "$M17" 100663296
export_dev /dev/md3 "$M17" 150994944
md_check md0
md_check md1
for md in md0 md1 md2 md3; do mdadm --stop /dev/$md >/dev/null 2>&1; done
BODY
guest_script "$W/script" "$W/body"
# shellcheck disable=SC2046
boot guest "$W/kv" "$W/gerr" -t 300 -o "$W/out" "$W/script" $(imgs_of g6 5) $(imgs_of g5 4) \
	$(imgs_of s 4) $(imgs_of f 4) "$W/export.img"
kc() { # NAME EXPORT-OFFSET: assembled, content = shadow
	[ "$(kv "$W/kv" "$1.assembled")" = 0 ] || { echo "assemble: $(kv "$W/kv" "$1.assembled")"; tail -n 5 "$W/gerr"; return 1; }
	slice "$W/export.img" "$2" "$(stat -c %s "$W/$1.shadow")" | cmp - "$W/$1.shadow"
}
km() { [ "$(kv "$W/kv" "$1.mismatch")" = 0 ] || { echo "mismatch_cnt '$(kv "$W/kv" "$1.mismatch")'"; return 1; }; }
tap_check "kernel: grown r6 assembles, content = shadow" kc g6 0
tap_check "kernel: grown r6 check: mismatch_cnt 0" km md0
tap_check "kernel: grown r5 assembles, content = shadow" kc g5 50331648
tap_check "kernel: grown r5 check: mismatch_cnt 0" km md1
tap_check "kernel: array with a bad-block entry assembles, content = shadow" kc s 100663296
kf() {
	[ "$(kv "$W/kv" f.degraded)" = 1 ] || { echo "md/degraded '$(kv "$W/kv" f.degraded)', want 1"; cat "$W/out/a3"; return 1; }
	kc f 150994944
}
tap_check "kernel: 0.90 array with the failed member assembles degraded without it, content = shadow" kf
tap_done
