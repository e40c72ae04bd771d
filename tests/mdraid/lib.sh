# lib.sh: set-up shared by the mdraid shell tests on image files
# (test_cli.sh, super0/test_super0_cli.sh): the command, the host's mdadm as
# the peer, member images, and the examine comparison. Source it after
# tests/tap.sh.
M="$OPSKIT_BUILD/mdraid/mdraid"
T="$TAP_TMP"
export TZ=UTC
HH=testhost
have_mdadm=0
MDADM=$(command -v mdadm || ls /sbin/mdadm /usr/sbin/mdadm 2>/dev/null | head -n 1)
[ -n "$MDADM" ] && [ -x "$MDADM" ] && have_mdadm=1
# The sanitizer build (make check's second pass) runs mdraid alone where the
# release build compares it with mdadm: mdadm's output does not depend on our
# build, and the pass is there for memory safety (as tests/interop/logsift's
# test_peer.sh). peer_mdadm: 1 when the comparison runs here.
sanitized=1
grep -q '"name": "b_sanitize", "value": "none"' "$OPSKIT_BUILD/meson-info/intro-buildoptions.json" \
	2>/dev/null && sanitized=0
peer_mdadm=$have_mdadm
[ $sanitized = 1 ] && peer_mdadm=0
# peer_skip NAME: the TAP skip of a comparison with mdadm that does not run here
peer_skip() {
	if [ $have_mdadm = 0 ]; then
		tap_skip "$1" "mdadm not installed"
	else
		tap_skip "$1" "mdadm's comparison runs in the build without sanitizers"
	fi
}

# mk N SIZE: N members of SIZE filled with random bytes: $T/m0.img ...
mk() {
	rm -f "$T"/m*.img
	i=0
	MEM=""
	while [ "$i" -lt "$1" ]; do
		head -c "$2" /dev/urandom > "$T/m$i.img"
		MEM="$MEM $T/m$i.img"
		i=$((i + 1))
	done
}
# sparse N SIZE: sparse members (for large sizes)
sparse() {
	rm -f "$T"/m*.img
	i=0
	MEM=""
	while [ "$i" -lt "$1" ]; do
		truncate -s "$2" "$T/m$i.img"
		MEM="$MEM $T/m$i.img"
		i=$((i + 1))
	done
}
# ex_cmp NAME FILE...: mdraid examine equals mdadm --examine
ex_cmp() {
	name=$1
	shift
	"$M" examine --homehost=$HH "$@" > "$T/ours" 2>"$T/ours.err"
	r1=$?
	if [ $peer_mdadm = 0 ]; then
		# ours alone: ran clean (no sanitizer abort or report; its text and
		# status, an error's too, are mdadm's in the build without sanitizers)
		if [ $r1 -lt 128 ] &&
			! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$T/ours.err"; then
			tap_ok "$name: mdraid examine ran clean ($( [ $sanitized = 1 ] && echo "ASan+UBSan; ")mdadm's comparison: $( [ $have_mdadm = 1 ] && echo "the build without sanitizers" || echo "mdadm not installed"))"
		else
			tap_fail "$name: mdraid examine ran clean" "rc $r1 $(head -n 5 "$T/ours.err")"
		fi
		return
	fi
	"$MDADM" --examine --homehost=$HH "$@" > "$T/theirs" 2>"$T/theirs.err"
	r2=$?
	if cmp -s "$T/ours" "$T/theirs" && [ $r1 = $r2 ]; then
		tap_ok "$name"
	else
		tap_fail "$name" "rc $r1 vs mdadm $r2
$(diff -u "$T/theirs" "$T/ours" | head -n 30)"
	fi
}
check_eq() { # NAME EXPECTED ACTUAL
	if [ "$2" = "$3" ]; then tap_ok "$1"; else tap_fail "$1" "expected '$2', got '$3'"; fi
}
