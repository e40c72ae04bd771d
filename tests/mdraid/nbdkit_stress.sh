#!/bin/sh
# nbdkit_stress.sh: a parallel read+write stress of nbdkit-mdraid-plugin.so
# for a race detector, run by hand (not a meson test: it needs a ThreadSanitizer
# build and takes a minute):
#
#   meson setup build-tsan -Dbuildtype=debug -Doptimization=1 \
#       -Db_sanitize=thread -Db_lundef=false
#   ninja -C build-tsan mdraid/mdraid mdraid/nbdkit-mdraid-plugin.so
#   tests/mdraid/nbdkit_stress.sh build-tsan [degraded|dirty]
#
# nbdkit is not instrumented; the ThreadSanitizer runtime the plugin links
# is preloaded (its pthread interceptors see nbdkit's locks too). A RAID6 of
# four 64 MiB members (one missing with "degraded"; with "dirty" the array
# is first left active by a SIGKILL mid-write, so the plugin's resync pass
# runs alongside, sync_speed_min high enough that it does) is served while
# nbdcopy (4 connections, 16 requests each) writes random bytes into the
# first half, qemu-io's aio_write puts 1500 writes of 512 B..32 KiB into
# the second half with aio_reads anywhere among them (16 in flight), and
# nbdcopy reads the whole export twice alongside. Then: the first half
# read back (4 connections) equals what was written, nbdkit exits cleanly,
# `mdraid check` finds 0 mismatches, and the log has no ThreadSanitizer
# report. Exit 0 when all hold. An ASan build runs it the same way (its
# reports fail it too); a release build runs it with no detector.
set -u
B=${1:?usage: nbdkit_stress.sh BUILD [degraded|dirty]}
MODE=${2:-}
M=$B/mdraid/mdraid
P=$B/mdraid/nbdkit-mdraid-plugin.so
# the sanitizer runtime the plugin links (ThreadSanitizer, or AddressSanitizer
# for an ASan build: then leaks are nbdkit's to report)
PRE=$(ldd "$P" | sed -n 's/.*lib[at]san[^ ]* => \([^ ]*\).*/\1/p' | head -n 1)
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
D=$(mktemp -d "${TMPDIR:-/var/tmp}/nbdkit-stress.XXXXXX") || exit 1
pid=""
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$D"' EXIT
fail() {
	echo "nbdkit_stress: $*" >&2
	exit 1
}
for i in 0 1 2 3; do truncate -s 64M "$D/m$i.img"; done
mems="$D/m0.img $D/m1.img $D/m2.img $D/m3.img"
# shellcheck disable=SC2086
"$M" create --force --level=6 --raid-devices=4 --chunk=64K --bitmap=internal --homehost=t \
	$mems >/dev/null || fail "mdraid create failed"
# up SOCK ARGS...: nbdkit with the plugin in the background, pid in $pid
up() {
	_s=$1
	shift
	LD_PRELOAD="$PRE" nbdkit -f -U "$_s" "$P" "$@" 2>>"$D/nbdkit.log" &
	pid=$!
	_i=0
	until nbdinfo --size "nbd+unix:///?socket=$_s" >/dev/null 2>&1; do
		kill -0 $pid 2>/dev/null && [ $_i -lt 300 ] || fail "nbdkit did not start: $(tail -n 3 "$D/nbdkit.log")"
		sleep 0.2
		_i=$((_i + 1))
	done
}
extra=""
if [ "$MODE" = dirty ]; then
	# shellcheck disable=SC2086
	up "$D/k.sock" $mems
	head -c 64M /dev/urandom >"$D/k.src"
	nbdcopy --request-size=65536 --requests=1 --connections=1 "$D/k.src" \
		"nbd+unix:///?socket=$D/k.sock" 2>/dev/null &
	sleep 1
	kill -KILL $pid
	wait $pid 2>/dev/null
	wait
	pid=""
	extra="sync_speed_min=200000 status=$D/status"
fi
[ "$MODE" = degraded ] && mems="$D/m0.img $D/m1.img $D/m2.img missing"
# shellcheck disable=SC2086
up "$D/s.sock" $mems $extra
U="nbd+unix:///?socket=$D/s.sock"
size=$(nbdinfo --size "$U")
half=$((size / 2))
head -c $half /dev/urandom >"$D/src"
nbdcopy --flush --connections=4 --requests=16 --request-size=65536 "$D/src" "$U" 2>"$D/copy.err" &
c=$!
python3 - $half "$size" >"$D/qio" <<'EOF'
import random, sys
a, b = int(sys.argv[1]), int(sys.argv[2])
r = random.Random(5)
for i in range(1500):
    n = r.randrange(1, 65) * 512
    print('-c\naio_write -q -P %d %d %d' % (i % 250 + 1, r.randrange(a, b - n) // 512 * 512, n))
    if i % 2:
        m = r.randrange(1, 129) * 512
        print('-c\naio_read -q %d %d' % (r.randrange(0, b - m), m))
    if i % 100 == 99:
        print('-c\naio_flush')
print('-c\naio_flush')
EOF
xargs -a "$D/qio" -d '\n' qemu-io -f raw "$U" >"$D/qio.out" 2>&1 &
q=$!
nbdcopy --connections=4 "$U" null: && nbdcopy --connections=2 "$U" null: || fail "a reader failed"
wait $c || fail "nbdcopy's writes failed: $(head -n 3 "$D/copy.err")"
wait $q || fail "qemu-io failed: $(head -n 3 "$D/qio.out")"
! grep -qi 'fail\|error' "$D/qio.out" || fail "qemu-io: $(grep -i 'fail\|error' "$D/qio.out" | head -n 3)"
nbdcopy --connections=4 "$U" "$D/back" || fail "the read-back failed"
head -c $half "$D/back" | cmp -s - "$D/src" || fail "the first half differs from what was written"
kill $pid
wait $pid || fail "nbdkit exited with $?: $(tail -n 3 "$D/nbdkit.log")"
pid=""
# shellcheck disable=SC2086
"$M" check $mems >"$D/check" 2>&1 || fail "mdraid check: $(head -n 3 "$D/check")"
n=$(grep -c 'WARNING: ThreadSanitizer\|ERROR: AddressSanitizer\|runtime error' "$D/nbdkit.log")
[ "$n" = 0 ] || { grep -A 12 -m 3 'WARNING: ThreadSanitizer' "$D/nbdkit.log" >&2; fail "$n sanitizer reports"; }
echo "nbdkit_stress ${MODE:-healthy}: ok ($(cat "$D/check"); sanitizer runtime: ${PRE:-none}${extra:+; $(sed 's/ why=.*//' "$D/status")})"
