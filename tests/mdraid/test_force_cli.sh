#!/bin/sh
# test_force_cli.sh: the command's side of --force for members kicked one
# after another (test_force.c checks the choice itself; the interop test
# test_force.sh checks it against mdadm 4.2 in a guest).
#
# A RAID6 of 5 made by mdraid: a session with all, one without m4, one
# without m3 and m4, then m2 kicked as md_error leaves it (the two left:
# events + 2, role 2 faulty; sbedit.py). By Assemble.c's force_array: only 2
# of 5 slots are up to date, 3 needed; m2 (E-2) is the freshest stale and is
# forced; m3 (E-4) and m4 (E-6) are left out. Checked per verb: the refusal
# without --force (exit 3, the stale members named), --dry-run (the choice
# printed, members' md5 unchanged; serve --dry-run alike, nbdkit not run;
# the plugin with readonly=true force=true forces in memory only),
# --force through read, check, write and grow (grow refuses to leave a
# member out: given as 'missing' it grows; grow --dry-run prints the same
# choice and writes nothing).
. "$OPSKIT_SOURCE/tests/tap.sh"
. "$OPSKIT_SOURCE/tests/mdraid/lib.sh"
SB="$OPSKIT_SOURCE/tests/mdraid/sbedit.py"

# kicked: the five members in $T/m0..m4, $T/A the data of the first 2 MiB
kicked() {
	sparse 5 4M
	"$M" create --level=6 --raid-devices=5 --chunk=64 --homehost=$HH --assume-clean $MEM &&
		head -c 2M /dev/urandom >"$T/A" &&
		"$M" write --offset=0 $MEM <"$T/A" &&
		"$M" write --offset=0 "$T/m0.img" "$T/m1.img" "$T/m2.img" "$T/m3.img" missing <"$T/A" &&
		"$M" write --offset=0 "$T/m0.img" "$T/m1.img" "$T/m2.img" missing missing <"$T/A" || return 1
	E=$("$M" examine "$T/m0.img" | awk '/Events :/ { print $3 }')
	python3 "$SB" "$T/m0.img" events=$((E + 2)) role.2=0xfffe &&
		python3 "$SB" "$T/m1.img" events=$((E + 2)) role.2=0xfffe || return 1
	E=$((E + 2))
}
md5s() { for f in $MEM; do md5sum <"$f"; done; }

kicked || { tap_fail "set-up: a kicked array made by mdraid"; tap_done; }
before=$(md5s)
"$M" read $MEM >/dev/null 2>"$T/err"
rc=$?
if [ $rc = 3 ] && grep -q "not enough to start the array (3 needed); stale: $T/m2.img (slot 2) events $((E - 2)), 2 behind; $T/m3.img (slot 3) events $((E - 4)), 4 behind; $T/m4.img (slot 4) events $((E - 6)), 6 behind" "$T/err" &&
	grep -q -- "--force" "$T/err"; then
	tap_ok "read without --force: exit 3, every stale member named with its lag"
else
	tap_fail "read without --force: exit 3, every stale member named with its lag" "rc $rc: $(cat "$T/err")"
fi
"$M" check --dry-run $MEM >"$T/out" 2>"$T/err"
rc=$?
cat >"$T/want" <<EOF
mdraid: would: forcing event count in $T/m2.img(2) from $((E - 2)) up to $E
mdraid: would: clearing FAULTY flag for device 2 in $HH:0 for $T/m2.img (role 0xfffe in $T/m0.img's superblock, now slot 2)
mdraid: would: $T/m3.img(3): left out: events $((E - 4)), 4 behind $T/m0.img ($E), not needed to start the array
mdraid: would: $T/m4.img(4): left out: events $((E - 6)), 6 behind $T/m0.img ($E), not needed to start the array
mdraid: --dry-run: nothing written
EOF
if [ $rc = 0 ] && [ ! -s "$T/out" ] && cmp -s "$T/want" "$T/err" && [ "$(md5s)" = "$before" ]; then
	tap_ok "check --dry-run: mdadm's choice printed, nothing run, members' md5 unchanged"
else
	tap_fail "check --dry-run: mdadm's choice printed, nothing run, members' md5 unchanged" \
		"rc $rc; $(diff "$T/want" "$T/err")"
fi
# serve --dry-run: the plugin's force=true choice, the same lines; no
# nbdkit run (no socket made), nothing written
"$M" serve --dry-run --socket="$T/dry.sock" $MEM >"$T/out" 2>"$T/err"
rc=$?
sed 's/^mdraid: --dry-run: nothing written$/&; nbdkit not started/' "$T/want" >"$T/want3"
if [ $rc = 0 ] && [ ! -s "$T/out" ] && cmp -s "$T/want3" "$T/err" && [ "$(md5s)" = "$before" ] &&
	[ ! -e "$T/dry.sock" ]; then
	tap_ok "serve --dry-run: the same choice printed, nbdkit not started, members' md5 unchanged"
else
	tap_fail "serve --dry-run: the same choice printed, nbdkit not started, members' md5 unchanged" \
		"rc $rc; $(diff "$T/want3" "$T/err")"
fi
# the plugin with readonly=true force=true: forced in memory only (the
# export is the forced array's, the members' md5 unchanged); a captive
# nbdkit (--run) copies the export out. Needs nbdkit and the plugin.
PLUGIN="$OPSKIT_BUILD/mdraid/nbdkit-mdraid-plugin.so"
if [ -f "$PLUGIN" ] && command -v nbdkit >/dev/null 2>&1 && command -v nbdcopy >/dev/null 2>&1; then
	asan_rt=$(ldd "$PLUGIN" | sed -n 's/.*libasan[^ ]* => \([^ ]*\).*/\1/p' | head -n 1)
	members=$(for f in $MEM; do printf 'member=%s ' "$f"; done)
	# shellcheck disable=SC2086
	LD_PRELOAD="$asan_rt" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		nbdkit -U - "$PLUGIN" $members readonly=true force=true \
		--run "nbdcopy \"\$uri\" '$T/ro.img'" >"$T/out" 2>"$T/err"
	rc=$?
	if [ $rc = 0 ] && head -c 2M "$T/ro.img" | cmp -s - "$T/A" && [ "$(md5s)" = "$before" ]; then
		tap_ok "plugin readonly=true force=true: the forced array served, members' md5 unchanged"
	else
		tap_fail "plugin readonly=true force=true: the forced array served, members' md5 unchanged" \
			"rc $rc; $(head -n 5 "$T/err")"
	fi
	rm -f "$T/ro.img"
else
	tap_skip "plugin readonly=true force=true: the forced array served, members' md5 unchanged" \
		"no nbdkit, nbdcopy or plugin (packages nbdkit libnbd-bin, nbdkit-plugin-dev)"
fi
"$M" read --force --length=2M $MEM >"$T/got" 2>"$T/err"
rc=$?
sed 's/^mdraid: would: /mdraid: /; /--dry-run/d' "$T/want" >"$T/want2"
if [ $rc = 0 ] && cmp -s "$T/got" "$T/A" && head -n 4 "$T/err" | cmp -s "$T/want2" - &&
	"$M" examine "$T/m2.img" | grep -q "Events : $E\$"; then
	tap_ok "read --force: the same lines, m2 forced to the freshest events, content right"
else
	tap_fail "read --force: the same lines, m2 forced to the freshest events, content right" "rc $rc; $(cat "$T/err")"
fi
if "$M" check $MEM >"$T/out" 2>"$T/err" && grep -q "mismatch_cnt 0" "$T/out" && ! grep -q forcing "$T/err"; then
	tap_ok "after --force: check without --force, nothing more forced, mismatch_cnt 0"
else
	tap_fail "after --force: check without --force, nothing more forced, mismatch_cnt 0" "$(cat "$T/out" "$T/err")"
fi

# write --force on a fresh kicked array: forced, then written
kicked || tap_fail "set-up again"
head -c 100000 /dev/urandom >"$T/B"
if "$M" write --force --offset=5000 $MEM <"$T/B" 2>"$T/err" && grep -q "forcing event count in $T/m2.img(2)" "$T/err" &&
	"$M" read --offset=5000 --length=100000 $MEM 2>/dev/null | cmp -s - "$T/B"; then
	tap_ok "write --force: m2 forced, the write reads back"
else
	tap_fail "write --force: m2 forced, the write reads back" "$(cat "$T/err")"
fi

# grow: a member --force leaves out is refused; given as missing, grown
kicked || tap_fail "set-up again"
truncate -s 4M "$T/new.img"
before=$(md5s)
"$M" grow -q --force --raid-devices=6 $MEM "$T/new.img" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc = 5 ] && grep -q "m3.img: stale member (events $((E - 4)), the freshest has $E) that --force, as mdadm --assemble --force, leaves out; grow cannot: give it as 'missing'" "$T/err" &&
	[ "$(md5s)" = "$before" ]; then
	tap_ok "grow --force with a member it would leave out: refused, nothing written"
else
	tap_fail "grow --force with a member it would leave out: refused, nothing written" "rc $rc; $(cat "$T/err")"
fi
# grow --dry-run: the same choice printed as check --dry-run prints it (m3
# and m4 given as missing, so nothing is left out), members' md5 unchanged
before=$(md5s)
"$M" grow --dry-run --raid-devices=6 "$T/m0.img" "$T/m1.img" "$T/m2.img" missing missing "$T/new.img" \
	>"$T/out" 2>"$T/err"
rc=$?
head -n 2 "$T/want" >"$T/want-grow"
echo "mdraid: --dry-run: nothing written" >>"$T/want-grow"
if [ $rc = 0 ] && [ ! -s "$T/out" ] && cmp -s "$T/want-grow" "$T/err" && [ "$(md5s)" = "$before" ] &&
	[ "$(md5sum <"$T/new.img")" = "$(head -c 4M /dev/zero | md5sum)" ]; then
	tap_ok "grow --dry-run: m2's forcing printed as check --dry-run prints it, nothing written"
else
	tap_fail "grow --dry-run: m2's forcing printed as check --dry-run prints it, nothing written" \
		"rc $rc; $(diff "$T/want-grow" "$T/err")"
fi
"$M" grow --dry-run --raid-devices=6 $MEM "$T/new.img" >"$T/out" 2>"$T/err"
rc=$?
if [ $rc = 5 ] && grep -q "m3.img: stale member (events $((E - 4)), the freshest has $E) that --force, as mdadm --assemble --force, leaves out; grow cannot: give it as 'missing'" "$T/err" &&
	[ "$(md5s)" = "$before" ]; then
	tap_ok "grow --dry-run with a member --force would leave out: the same refusal, nothing written"
else
	tap_fail "grow --dry-run with a member --force would leave out: the same refusal, nothing written" "rc $rc; $(cat "$T/err")"
fi
if "$M" grow -q --force --raid-devices=6 "$T/m0.img" "$T/m1.img" "$T/m2.img" missing missing "$T/new.img" \
	>"$T/out" 2>"$T/err" &&
	grep -q "forcing event count in $T/m2.img(2)" "$T/err" &&
	grep -q "grown to 6 members" "$T/out" &&
	"$M" read --length=2M "$T/m0.img" "$T/m1.img" "$T/m2.img" "$T/new.img" 2>/dev/null | cmp -s - "$T/A"; then
	tap_ok "grow --force with the left-out members missing: m2 forced, grown, content right"
else
	tap_fail "grow --force with the left-out members missing: m2 forced, grown, content right" "$(cat "$T/out" "$T/err")"
fi

# the plugin with force=true on a dirty RAID6 of 5 one member short: mdadm's
# force-array marks it clean and asks for a repair (start_array); the plugin
# runs that pass itself. The members hold random bytes under an
# --assume-clean create, so parity is wrong in every stripe: the repair
# counts mismatches, and afterwards check (m4 still missing) finds none.
if [ -f "$PLUGIN" ] && command -v nbdkit >/dev/null 2>&1 && command -v nbdinfo >/dev/null 2>&1; then
	sparse 5 4M
	for f in $MEM; do head -c 4M /dev/urandom >"$f"; done
	"$M" create --level=6 --raid-devices=5 --chunk=64 --homehost=$HH --assume-clean $MEM >/dev/null 2>&1
	for f in $MEM; do python3 "$SB" "$f" resync_offset=0; done
	members="member=$T/m0.img member=$T/m1.img member=$T/m2.img member=$T/m3.img member=missing"
	# shellcheck disable=SC2086
	LD_PRELOAD="$asan_rt" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
		nbdkit -U - "$PLUGIN" $members force=true status="$T/status" \
		--run "i=0; until grep -q state=done '$T/status' || [ \$i -ge 600 ]; do sleep 0.1; i=\$((i+1)); done" \
		>"$T/out" 2>"$T/err"
	rc=$?
	mm=$(tr ' ' '\n' <"$T/status" 2>/dev/null | sed -n 's/^mismatch_cnt=//p')
	if [ $rc = 0 ] && grep -q "pass=repair state=done" "$T/status" && [ "${mm:-0}" -gt 0 ] &&
		grep -q "repair started in the background" "$T/err" &&
		"$M" check "$T/m0.img" "$T/m1.img" "$T/m2.img" "$T/m3.img" missing >"$T/out" 2>/dev/null &&
		grep -q "mismatch_cnt 0" "$T/out" && "$M" examine "$T/m0.img" | grep -q "State : clean"; then
		tap_ok "plugin force=true, dirty RAID6 one member short: marked clean, the repair mdadm asks for run to its end, check 0"
		echo "# the repair found mismatch_cnt $mm"
	else
		tap_fail "plugin force=true, dirty RAID6 one member short: marked clean, the repair mdadm asks for run to its end, check 0" \
			"rc $rc; status '$(cat "$T/status" 2>/dev/null)'; $(head -n 5 "$T/err"); $(cat "$T/out")"
	fi
else
	tap_skip "plugin force=true, dirty RAID6 one member short: marked clean, the repair mdadm asks for run to its end, check 0" \
		"no nbdkit, nbdinfo or plugin (packages nbdkit libnbd-bin, nbdkit-plugin-dev)"
fi
tap_done
