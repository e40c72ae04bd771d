#!/bin/sh
# test_harness.sh: the guest runner itself (guest-run), so that a failing
# interop case can be trusted to be about mdraid: the guest boots Debian's
# kernel with the raid456 personality and mdadm, members appear in order with
# their sizes and contents, guest writes reach the image files, /out and the
# exit status come back, and a hung guest is killed on time.
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/interop/mdraid/lib.sh"

NAMES="guest boots the host's kernel
raid456 personality registered
mdadm runs in the guest
members in order with their sizes
members' content seen by the guest
guest writes reach the image
/out files and exit status come back
md RAID6 assembles in the guest
a boot that never reaches the script is retried once
a hung guest times out"
if [ -n "$GUEST_SKIP" ]; then
	printf '%s\n' "$NAMES" >"$W/names"
	skip_each "$GUEST_SKIP" <"$W/names"
	tap_done
fi

for i in 0 1 2 3; do
	mkimg "$W/m$i.img" $((16 + 8 * i))M $((100 + i))
done
cat >"$W/body" <<'EOF'
say uname "$(uname -r)"
say personalities "$(grep Personalities /proc/mdstat)"
say mdadm "$(mdadm --version 2>&1)"
for i in 0 1 2 3; do
	eval d=\$M$i
	say "size$i" "$(blockdev --getsz "$d")"
done
# past the 16 MiB the array below uses of them
say md5_m2 "$(dd if="$M2" bs=1M skip=31 count=1 2>/dev/null | md5sum | cut -d' ' -f1)"
printf 'written by the guest' | dd of="$M3" bs=1M seek=39 conv=notrunc 2>/dev/null
echo hello >/out/hello.txt
mdadm --create /dev/md0 --run --assume-clean --level=6 --raid-devices=4 --chunk=64 \
	--homehost=opskit $(range 0 4) >/out/create.log 2>&1
say md0_sectors "$(blockdev --getsz /dev/md0)"
say md0_level "$(cat /sys/block/md0/md/level)"
mdadm --stop /dev/md0 >/dev/null 2>&1
exit 3
EOF
guest_script "$W/script" "$W/body"
start=$(date +%s)
"$GUEST_RUN" -o "$W/out" "$W/script" "$W"/m0.img "$W"/m1.img "$W"/m2.img "$W"/m3.img >"$W/kv" 2>"$W/err"
rc=$?
secs=$(($(date +%s) - start))
echo "# one boot took ${secs}s"

kver=$(kv "$W/kv" uname)
case $kver in
[0-9]*) [ -d "/lib/modules/$kver" ] && tap_ok "guest boots the host's kernel" ||
	tap_fail "guest boots the host's kernel" "guest says $kver" ;;
*) tap_fail "guest boots the host's kernel" "$(tail -n 20 "$W/err")" ;;
esac
case $(kv "$W/kv" personalities) in
*raid6*) tap_ok "raid456 personality registered" ;;
*) tap_fail "raid456 personality registered" "$(grep -i -E 'insmod|raid' "$W/out/console.log" | head)" ;;
esac
case $(kv "$W/kv" mdadm) in
mdadm\ -\ v*) tap_ok "mdadm runs in the guest" ;;
*) tap_fail "mdadm runs in the guest" "$(kv "$W/kv" mdadm)" ;;
esac
got=$(for i in 0 1 2 3; do printf '%s ' "$(kv "$W/kv" size$i)"; done)
want=$(for i in 0 1 2 3; do printf '%s ' $(((16 + 8 * i) * 2048)); done)
[ "$got" = "$want" ] && tap_ok "members in order with their sizes" ||
	tap_fail "members in order with their sizes" "got $got, want $want"
[ "$(kv "$W/kv" md5_m2)" = "$(slice "$W/m2.img" $((31 << 20)) 1048576 | md5)" ] &&
	tap_ok "members' content seen by the guest" ||
	tap_fail "members' content seen by the guest" "guest md5 $(kv "$W/kv" md5_m2)"
[ "$(slice "$W/m3.img" $((39 << 20)) 20)" = "written by the guest" ] && tap_ok "guest writes reach the image" ||
	tap_fail "guest writes reach the image"
[ $rc -eq 3 ] && [ "$(cat "$W/out/hello.txt" 2>/dev/null)" = hello ] &&
	tap_ok "/out files and exit status come back" ||
	tap_fail "/out files and exit status come back" "rc $rc"
# 4 members of 16..40 MiB: the smallest sets the size; 16 MiB members with 64K
# chunks have data_offset 2048, so 2 data disks of 30 MiB
[ "$(kv "$W/kv" md0_sectors)" = $((2 * 30720)) ] && [ "$(kv "$W/kv" md0_level)" = raid6 ] &&
	tap_ok "md RAID6 assembles in the guest" ||
	tap_fail "md RAID6 assembles in the guest" "$(kv "$W/kv" md0_sectors) $(kv "$W/kv" md0_level) $(cat "$W/out/create.log")"

# The first boot gets an init that does not exist: the kernel panics before
# userspace (panic=-1 restarts it, -no-reboot ends qemu), as a TCG boot on a
# loaded host can; guest-run must say so and boot once more.
echo 'echo retried >/out/r.txt; exit 5' >"$W/retry"
GUEST_RUN_FIRST_APPEND="rdinit=/no/such/init" "$GUEST_RUN" -o "$W/rout" "$W/retry" >/dev/null 2>"$W/rerr"
rc=$?
if [ $rc -eq 5 ] && [ "$(cat "$W/rout/r.txt" 2>/dev/null)" = retried ] &&
	grep -q 'never reached its script (qemu rc [0-9]*, attempt 1)' "$W/rerr"; then
	tap_ok "a boot that never reaches the script is retried once"
else
	tap_fail "a boot that never reaches the script is retried once" "rc $rc: $(tail -n 8 "$W/rerr")"
fi

# -t 3 ends the guest before or inside its script; one attempt only, so
# that the timeout itself (rc 124, qemu killed) is what is seen
echo 'sleep 600' >"$W/sleep"
GUEST_RUN_ATTEMPTS=1 "$GUEST_RUN" -t 3 "$W/sleep" >/dev/null 2>&1
rc=$?
[ $rc -eq 124 ] && tap_ok "a hung guest times out" ||
	tap_fail "a hung guest times out" "rc $rc"
tap_done
