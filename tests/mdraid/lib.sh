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
	if [ $have_mdadm = 0 ]; then
		tap_skip "$name" "mdadm not installed"
		return
	fi
	"$M" examine --homehost=$HH "$@" > "$T/ours" 2>"$T/ours.err"
	r1=$?
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
