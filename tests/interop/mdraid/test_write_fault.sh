#!/bin/sh
# test_write_fault.sh: a member that fails under mdraid write is marked
# faulty, and the kernel agrees.
#
# On the host: mdraid create RAID6 on five members (v1.2, internal bitmap)
# and fills it; then mdraid write runs with one member failing every write
# after its first few (an LD_PRELOAD shim, failwrite.c, stands in for the
# dying disk). The write must succeed with a warning naming the member;
# mdraid read equals the shadow (the member's chunks rebuilt from P/Q); host
# mdadm --examine of a good member shows the slot as missing ('.') in its
# Array State. One guest boot: mdadm --assemble of all five starts the array
# without the stale member, the kernel's content equals the shadow, and
# check finds mismatch_cnt 0.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

SUBS="mdraid write with a failing member: exit 0, warning names it
mdraid read = shadow (the failed member's chunks from P/Q)
mdadm --examine of a good member: the slot is gone from Array State
kernel assembles without the stale member: content = shadow
kernel check: mismatch_cnt 0"
T="w: raid6 n5 64K v1.2 bitmap=internal, member 2 fails"
skip_all() {
	echo "$SUBS" | while read -r s; do echo "$T: $s"; done >"$W/names"
	skip_each "$1" <"$W/names"
	tap_done
}
[ -n "$GUEST_SKIP" ] && skip_all "$GUEST_SKIP"
why=$(mdraid_lacks create) && skip_all "$why"
SHIM="$OPSKIT_BUILD/tests/interop/mdraid/failwrite.so"
[ -f "$SHIM" ] || skip_all "failwrite.so not built"

mems=""
i=0
while [ $i -lt 5 ]; do
	mkimg "$W/w$i.img" 16M $((5100 + i))
	mems="$mems $W/w$i.img"
	i=$((i + 1))
done
mkimg "$W/src.img" 8M 5099
# shellcheck disable=SC2086
"$MDRAID" create --level=6 --raid-devices=5 --chunk=64K --bitmap=internal --homehost=opskit \
	$mems >"$W/create.out" 2>&1 || skip_all "mdraid create failed: $(head -n 2 "$W/create.out")"
# shellcheck disable=SC2086
"$MDRAID" read $mems >"$W/shadow" 2>/dev/null
# the whole source into the array at 1 MiB, member 2 failing after 3 writes
# (the bitmap and superblock updates that mark the array active go through)
dd if="$W/src.img" of="$W/shadow" bs=1M seek=1 conv=notrunc 2>/dev/null
# (ASan builds: the shim is preloaded ahead of the sanitizer's runtime)
# shellcheck disable=SC2086
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
	LD_PRELOAD="$SHIM" FAILWRITE_PATH="$W/w2.img" FAILWRITE_AFTER=3 \
	"$MDRAID" write --offset=1048576 $mems <"$W/src.img" >"$W/write.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "w2.img failed a write (Input/output error) and was marked faulty" "$W/write.out"; then
	tap_ok "$T: mdraid write with a failing member: exit 0, warning names it"
else
	tap_fail "$T: mdraid write with a failing member: exit 0, warning names it" "exit $rc: $(head -n 4 "$W/write.out")"
fi
# shellcheck disable=SC2086
"$MDRAID" read $mems 2>"$W/read.err" | cmp - "$W/shadow" >"$W/cmp" 2>&1
if [ $? -eq 0 ]; then
	tap_ok "$T: mdraid read = shadow (the failed member's chunks from P/Q)"
else
	tap_fail "$T: mdraid read = shadow (the failed member's chunks from P/Q)" "$(cat "$W/cmp" "$W/read.err" | head -n 4)"
fi
if command -v mdadm >/dev/null 2>&1 || [ -x /sbin/mdadm ]; then
	st=$(PATH="$PATH:/sbin:/usr/sbin" mdadm --examine "$W/w0.img" | sed -n 's/^ *Array State : \([^ ]*\).*/\1/p')
	if [ "$st" = "AA.AA" ]; then
		tap_ok "$T: mdadm --examine of a good member: the slot is gone from Array State"
	else
		tap_fail "$T: mdadm --examine of a good member: the slot is gone from Array State" "Array State '$st', want AA.AA"
	fi
else
	tap_skip "$T: mdadm --examine of a good member: the slot is gone from Array State" "no mdadm on the host"
fi

truncate -s 64M "$W/export.img"
cat >"$W/body" <<'BODY'
mdadm --assemble /dev/md0 $(range 0 5) >/out/assemble 2>&1
say assembled $?
wait_idle md0
say degraded "$(cat /sys/block/md0/md/degraded)"
export_dev /dev/md0 "$M5" 0 | sed 's/^md0\./w./'
md_check md0 | sed 's/^md0\./w./'
mdadm --stop /dev/md0 >/dev/null 2>&1
BODY
guest_script "$W/script" "$W/body"
# shellcheck disable=SC2086
boot guest "$W/kv" "$W/err" -t 200 -o "$W/out" "$W/script" $mems "$W/export.img"
bytes=$(stat -c %s "$W/shadow")
k() {
	[ "$(kv "$W/kv" assembled)" = 0 ] || { head -n 5 "$W/out/assemble" 2>/dev/null; return 1; }
	[ "$(kv "$W/kv" degraded)" = 1 ] || { echo "degraded '$(kv "$W/kv" degraded)', want 1"; cat "$W/out/assemble"; return 1; }
	slice "$W/export.img" 0 "$bytes" | cmp - "$W/shadow"
}
tap_check "$T: kernel assembles without the stale member: content = shadow" k
m() { [ "$(kv "$W/kv" w.mismatch)" = 0 ] || { echo "mismatch_cnt '$(kv "$W/kv" w.mismatch)'"; return 1; }; }
tap_check "$T: kernel check: mismatch_cnt 0" m
tap_done
