# lib.sh: host-side helpers of the mdraid interop tests (sourced after
# tests/tap.sh). The real peer is the Linux kernel's md driver and mdadm in a
# qemu guest (guest-run); these helpers make member images, run the guest,
# slice what it exported and compare superblocks.
#
#   MDRAID       the command under test ($OPSKIT_BUILD/mdraid/mdraid)
#   GUEST_RUN    the guest runner;  RANDFILL  the random filler
#   W            a scratch directory on a real file system (images live here;
#                O_DIRECT on tmpfs fails on a 6.1 kernel), removed at exit
#                unless MDRAID_INTEROP_KEEP=1
#   GUEST_SKIP   why no guest can boot here ("" when one can)
#   MDRAID_SKIP  why mdraid cannot be run ("" when it can)
#
# Guest scripts are built by cat'ing guest-lib.sh in front of a case's body
# (guest_script).
HERE="$OPSKIT_SOURCE/tests/interop/mdraid"
MDRAID="$OPSKIT_BUILD/mdraid/mdraid"
GUEST_RUN="$HERE/guest-run"
RANDFILL="$OPSKIT_BUILD/tests/interop/mdraid/randfill"
export TZ=UTC LC_ALL=C

W=$(mktemp -d "${MDRAID_INTEROP_TMP:-/var/tmp}/mdraid-interop.XXXXXX") || exit 1
if [ "${MDRAID_INTEROP_KEEP:-0}" = 1 ]; then
	echo "# keeping $W" >&2
	trap 'rm -rf "$TAP_TMP"' EXIT
else
	trap 'rm -rf "$TAP_TMP" "$W"' EXIT
fi
if [ "$(stat -f -c %T "$W")" = tmpfs ]; then
	echo "# warning: $W is on tmpfs; O_DIRECT fails there on kernels before 6.6" >&2
fi

GUEST_SKIP=$("$GUEST_RUN" -n 2>&1 >/dev/null) || GUEST_SKIP=${GUEST_SKIP:-no guest}
if [ ! -x "$MDRAID" ]; then
	MDRAID_SKIP="mdraid is not built ($MDRAID)"
else
	MDRAID_SKIP=""
fi

# --- known mdraid bugs ----------------------------------------------------------
# A case that fails for a bug already reported to mdraid's owner is printed as
# "ok N - NAME # SKIP known mdraid bug: WHY", with the failure detail below
# it, so that the bug stays visible without failing every build; once mdraid
# is fixed the case simply passes. MDRAID_INTEROP_STRICT=1 reports them as
# failures. One "ERE matching the case name|why" per line.
# Empty now: the three found so far (Rebuild Status rounding, spares= in
# --detail --brief while rebuilding, bitmap events after rebuild) are fixed.
# Example: KNOWN_BUGS="rebuilding: mdraid detail = mdadm --detail\$|why"
KNOWN_BUGS=""

known_bug() {
	[ -n "$KNOWN_BUGS" ] || return 0
	printf '%s\n' "$KNOWN_BUGS" | while IFS='|' read -r _kb_re _kb_why; do
		if printf '%s\n' "$1" | grep -qE -- "$_kb_re"; then
			echo "$_kb_why"
			break
		fi
	done
}

# tap_fail NAME [DETAIL]: tests/tap.sh's, except for known mdraid bugs
tap_fail() {
	_tf_why=""
	[ "${MDRAID_INTEROP_STRICT:-0}" = 1 ] || _tf_why=$(known_bug "$1")
	TAP_N=$((TAP_N + 1))
	if [ -n "$_tf_why" ]; then
		echo "ok $TAP_N - $1 # SKIP known mdraid bug: $_tf_why"
	else
		TAP_FAILED=$((TAP_FAILED + 1))
		echo "not ok $TAP_N - $1"
	fi
	[ -n "${2:-}" ] && printf '%s\n' "$2" | sed 's/^/# /'
	return 0
}

# mdraid_lacks CMD: prints why mdraid cannot run subcommand CMD (nothing and
# false when it can). A missing command counts as a skip, never as a pass.
mdraid_lacks() {
	[ -n "$MDRAID_SKIP" ] && { echo "$MDRAID_SKIP"; return 0; }
	if "$MDRAID" --help 2>&1 | grep -qw -- "$1"; then
		return 1
	fi
	if "$MDRAID" "$1" --help >/dev/null 2>&1; then
		return 1
	fi
	echo "mdraid lacks $1"
	return 0
}

# mkimg FILE SIZE SEED [RANGE...]: a sparse image of SIZE filled with random
# bytes from SEED (all of it, or only the OFFSET:LENGTH ranges for big ones).
mkimg() {
	rm -f "$1"
	truncate -s "$2" "$1" || return 1
	_mk_f=$1
	_mk_seed=$3
	shift 3
	"$RANDFILL" "$_mk_seed" "$_mk_f" "$@"
}

# guest_script OUT BODY_FILE: guest-lib.sh followed by the body.
guest_script() {
	cat "$HERE/guest-lib.sh" "$2" >"$1"
}

# slice FILE OFFSET LENGTH: bytes of FILE to stdout.
slice() {
	dd if="$1" bs=1M iflag=skip_bytes,count_bytes skip="$2" count="$3" 2>/dev/null
}

md5() {
	md5sum | cut -d' ' -f1
}

# kv FILE KEY: the value of "KEY=VALUE" lines the guest printed.
kv() {
	sed -n "s/^$2=//p" "$1" | head -n 1
}

# boot LABEL KV ERR ARGS...: one guest boot (guest-run ARGS), its key=value
# output appended to KV, its stderr in ERR; prints "# LABEL: rc R, Ns" and,
# when it failed, the end of ERR; returns guest-run's status.
boot() {
	_b_label=$1 _b_kv=$2 _b_err=$3
	shift 3
	_b_start=$(date +%s)
	"$GUEST_RUN" "$@" >>"$_b_kv" 2>"$_b_err"
	_b_rc=$?
	echo "# $_b_label: rc $_b_rc, $(($(date +%s) - _b_start))s"
	# a boot retried because the guest never reached its script is said in TAP
	grep '^guest-run: # ' "$_b_err" | sed 's/^guest-run: //'
	[ $_b_rc -eq 0 ] || sed 's/^/# /' "$_b_err" | tail -n 20
	return $_b_rc
}

# tap_check NAME CMD...: ok when CMD succeeds; its output (first lines) is
# the failure detail.
tap_check() {
	_tc_name=$1
	shift
	if _tc_out=$("$@" 2>&1); then
		tap_ok "$_tc_name"
	else
		tap_fail "$_tc_name" "$(printf '%s\n' "$_tc_out" | head -n 30)"
	fi
}

# skip_each REASON < NAMES: one skipped case per line of stdin. Feed it from
# a file, never from a pipe: a function at the end of a pipeline runs in a
# subshell, and the case count would be lost.
skip_each() {
	while read -r _se_n; do
		tap_skip "$_se_n" "$1"
	done
}

# skip_cases REASON NAME...: one skipped case per name.
skip_cases() {
	_sc_why=$1
	shift
	for _sc_n in "$@"; do
		tap_skip "$_sc_n" "$_sc_why"
	done
}

# examine_norm: an examine report without its first line (the device path,
# which names /dev/vdX in the guest and the image file on the host), without
# the device names that end a 0.90 disk-table line (mdadm's map_dev looks the
# recorded major:minor up in the /dev of the machine it runs on: the guest
# has /dev/vdbb where the host has none), and with trailing blanks removed.
examine_norm() {
	sed -e '1{/^[^ ].*:$/d;}' -e 's/[[:space:]]*$//' \
		-e '/^\(this\| *[0-9][0-9]*\) /s/[[:space:]][[:space:]]*\/dev\/[^[:space:]]*$//'
}
# examine_cmp SAVED IMG N: mdraid examine of IMG0.img .. IMG<N-1>.img equals
# the mdadm --examine saved in SAVED.0.examine ..; prints the differences
# (for tap_check)
examine_cmp() {
	_ec_f=0
	_ec_i=0
	while [ $_ec_i -lt "$3" ]; do
		examine_norm <"$1.$_ec_i.examine" >"$W/want"
		"$MDRAID" examine "$2$_ec_i.img" 2>&1 | examine_norm >"$W/got"
		if ! cmp -s "$W/want" "$W/got"; then
			echo "member $_ec_i:"
			diff -u "$W/want" "$W/got" | sed -n '3,20p'
			_ec_f=1
		fi
		_ec_i=$((_ec_i + 1))
	done
	[ $_ec_f -eq 0 ]
}

# --- superblock comparison ------------------------------------------------
# sb_fields: byte ranges of struct mdp_superblock_1 (offset length name), used
# to name the fields a comparison finds different.
sb_fields() {
	cat <<'EOF'
0 4 magic
4 4 major_version
8 4 feature_map
12 4 pad0
16 16 set_uuid
32 32 set_name
64 8 ctime
72 4 level
76 4 layout
80 8 size
88 4 chunksize
92 4 raid_disks
96 4 bitmap_offset
100 4 new_level
104 8 reshape_position
112 4 delta_disks
116 4 new_layout
120 4 new_chunk
124 4 new_offset
128 8 data_offset
136 8 data_size
144 8 super_offset
152 8 recovery_offset
160 4 dev_number
164 4 cnt_corrected_read
168 16 device_uuid
184 1 devflags
185 1 bblog_shift
186 2 bblog_size
188 4 bblog_offset
192 8 utime
200 8 events
208 8 resync_offset
216 4 sb_csum
220 4 max_dev
224 32 pad3
256 3840 dev_roles
EOF
}
# bitmap superblock (bitmap_super_t), at superblock + bitmap_offset sectors
bm_fields() {
	cat <<'EOF'
0 4 bm_magic
4 4 bm_version
8 16 bm_uuid
24 8 bm_events
32 8 bm_events_cleared
40 8 bm_sync_size
48 4 bm_state
52 4 bm_chunksize
56 4 bm_daemon_sleep
60 4 bm_write_behind
64 4 bm_sectors_reserved
68 4 bm_nodes
72 64 bm_cluster_name
136 120 bm_pad
EOF
}

# The fields the comparison ignores: random uuids, times, event counts and
# the checksum that covers them.
SB_IGNORE="set_uuid ctime device_uuid utime events sb_csum bm_uuid bm_events bm_events_cleared"

# le_u64 FILE BYTE_OFFSET [SIZE]: an unsigned little-endian integer.
le_u() {
	od -An -t u"${3:-8}" -j "$2" -N "${3:-8}" "$1" | tr -d ' '
}
le_s32() {
	od -An -t d4 -j "$2" -N 4 "$1" | tr -d ' '
}

# region_diff A B BASE TABLE: compare two equal-length files holding a
# region that starts at byte BASE of a member; print each differing byte
# range as "offset field" where TABLE's fields (at BASE) name it, skipping
# SB_IGNORE fields, as "offset field field_offset field_length" (field
# "byte N" outside the tables). Empty output means equal.
region_diff() {
	{
		[ -n "$4" ] && echo "$4"
		cmp -l "$1" "$2" 2>/dev/null | awk '{ printf "D %.0f\n", $1 - 1 }'
	} | awk -v base="$3" -v ignore="$SB_IGNORE" '
		BEGIN { n = split(ignore, ig, " "); for (i = 1; i <= n; i++) skip[ig[i]] = 1 }
		$1 == "T" { fo[++nf] = $2 + $3; fl[nf] = $4; fn[nf] = $5; next }
		$1 == "D" {
			off = $2 + base
			name = ""
			fs = off; flen = 1
			for (i = 1; i <= nf; i++)
				if (off >= fo[i] && off < fo[i] + fl[i]) { name = fn[i]; fs = fo[i]; flen = fl[i]; break }
			if (name != "" && (name in skip)) next
			if (name == "") name = "byte"
			key = name
			if (name == "byte") key = "byte " int(off / 512) * 512
			if (!(key in seen)) { seen[key] = 1; order[++no] = key; first[key] = off; st[key] = fs; ln[key] = flen }
			next
		}
		END { for (i = 1; i <= no && i <= 40; i++) printf "%.0f %s %.0f %d\n", first[order[i]], order[i], st[order[i]], ln[order[i]] }'
}

# field_table BASE FIELDS_FN: "T base off len name" lines for region_diff.
field_table() {
	$2 | awk -v b="$1" '{ print "T", b, $1, $2, $3 }'
}

# sb_cmp A B N [AT]: the v1.x superblocks (at byte AT, default 4096: v1.2)
# of $W/A0.img .. A<N-1>.img and $W/B0.img .. equal but for SB_IGNORE's
# fields; prints the fields that differ (the values of short ones, the
# entries of dev_roles), for tap_check.
# The superblock is 256 + 2 * max_dev bytes; the rest of its 4 KiB block is
# not part of it (neither writer defines those bytes).
sb_cmp() {
	_sc_f=0 _sc_a=$1 _sc_b=$2 _sc_i=0 _sc_at=${4:-4096}
	while [ $_sc_i -lt "$3" ]; do
		_sc_len=$((256 + 2 * $(le_u "$W/$_sc_b$_sc_i.img" $((_sc_at + 220)) 4)))
		slice "$W/$_sc_a$_sc_i.img" "$_sc_at" "$_sc_len" >"$W/sa"
		slice "$W/$_sc_b$_sc_i.img" "$_sc_at" "$_sc_len" >"$W/sb"
		_sc_d=$(region_diff "$W/sa" "$W/sb" "$_sc_at" "$(field_table "$_sc_at" sb_fields)")
		if [ -n "$_sc_d" ]; then
			echo "member $_sc_i differs in: $(echo "$_sc_d" | cut -d' ' -f2 | tr '\n' ' ')"
			for _sc_fld in $(echo "$_sc_d" | cut -d' ' -f2); do
				_sc_o=$(sb_fields | awk -v f="$_sc_fld" '$3 == f { print $1 " " $2 }')
				_sc_off=${_sc_o% *} _sc_l=${_sc_o#* }
				if [ -n "$_sc_o" ] && [ "$_sc_l" -le 8 ]; then
					echo "  $_sc_fld: A $(le_u "$W/sa" "$_sc_off" "$_sc_l") B $(le_u "$W/sb" "$_sc_off" "$_sc_l")"
				elif [ "$_sc_fld" = dev_roles ]; then
					cmp -l "$W/sa" "$W/sb" | awk '$1 > 256 { i = int(($1 - 257) / 2);
						if (!(i in s)) { s[i] = 1; printf "  dev_roles[%d] differs\n", i } }' | head -n 8
				fi
			done
			_sc_f=1
		fi
		_sc_i=$((_sc_i + 1))
	done
	return $_sc_f
}

# fs_image MIB [SEED]: $W/fs.img, an ext4 file system of MIB MiB holding a
# file tree (this repository's mdraid/ and tests/mdraid/ sources), made on
# the host for a guest to write onto an array; false when mkfs.ext4 -d
# fails. With SEED the image starts as randfill's bytes and mkfs.ext4 keeps
# them in the free blocks (nodiscard): the files sit in the low megabytes,
# so without it most of the image is zeros, where an old and a new geometry
# hold the same bytes and a byte-for-byte comparison sees no misplaced
# stripe.
fs_image() {
	mkdir -p "$W/tree"
	cp -r "$OPSKIT_SOURCE/mdraid" "$OPSKIT_SOURCE/tests/mdraid" "$W/tree/"
	rm -f "$W/fs.img"
	truncate -s "$1M" "$W/fs.img"
	if [ -n "${2:-}" ]; then
		"$RANDFILL" "$2" "$W/fs.img" || return 1
	fi
	mkfs.ext4 -q -F -E lazy_itable_init=0,lazy_journal_init=0,nodiscard -d "$W/tree" "$W/fs.img" \
		>/dev/null 2>&1
}

# --- the cases every reshape test has ------------------------------------------
# kernel_stopped NAME FN PREFIX: the case NAME, a reshape the kernel started
# in boot 1 and was stopped in part-way ($rc1 is boot 1's status): FN judges
# it, its output (and the guest's PREFIX.* keys in $W/kv1) the failure
# detail ("# " lines of its output are printed when it passes); true when
# the case passed (there is a stopped one to finish)
kernel_stopped() {
	if [ "$rc1" -ne 0 ]; then
		tap_fail "$1" "boot 1 failed"
		return 1
	fi
	if "$2" >"$W/$2.out" 2>&1; then
		tap_ok "$1"
		grep '^# ' "$W/$2.out"
		return 0
	fi
	tap_fail "$1" "$(head -n 30 "$W/$2.out"; grep "^$3\\." "$W/kv1")"
	return 1
}
# assembled_ok KV ID: the guest assembled ID (ID.assembled 0 in KV; else
# mdadm's first lines from $W/out2/ID.assemble)
assembled_ok() {
	[ "$(kv "$1" "$2.assembled")" = 0 ] || { echo "assemble: $(head -n 3 "$W/out2/$2.assemble")"; return 1; }
}
# fs_back KV ID DISK OFFSET: what the guest exported of array ID at byte
# OFFSET of DISK is $W/fs.img byte for byte, e2fsck -fn finds it clean, and
# the kernel's check found P/Q right (ID.mismatch 0 in KV); for tap_check
fs_back() {
	slice "$3" "$4" "$(stat -c %s "$W/fs.img")" >"$W/got.img"
	cmp "$W/got.img" "$W/fs.img" || return 1
	e2fsck -fn "$W/got.img" >"$W/fsck.out" 2>&1 || { head -n 5 "$W/fsck.out"; return 1; }
	[ "$(kv "$1" "$2.mismatch")" = 0 ] || { echo "mismatch_cnt $(kv "$1" "$2.mismatch")"; return 1; }
}
# index_of WORD LIST...: WORD's place in LIST (from 0); nothing when absent
index_of() {
	_ix_w=$1 _ix_n=0
	shift
	for _ix_x in "$@"; do
		[ "$_ix_x" = "$_ix_w" ] && { echo $_ix_n; return 0; }
		_ix_n=$((_ix_n + 1))
	done
	return 1
}

# --- arrays of image files on the host ---------------------------------------
# imgs_of ID N [SLOT...]: the members $W/ID0.img .. of array ID, "missing"
# for the slots listed
imgs_of() {
	_io_id=$1
	_io_n=$2
	shift 2
	_io_i=0
	while [ $_io_i -lt "$_io_n" ]; do
		case " $* " in
		*" $_io_i "*) printf 'missing ' ;;
		*) printf '%s ' "$W/$_io_id$_io_i.img" ;;
		esac
		_io_i=$((_io_i + 1))
	done
}
# put_shadow ID OFF LEN SRC_OFF MEMBER...: mdraid write LEN bytes of
# $W/src.img (from SRC_OFF) at array offset OFF, and the same bytes into
# $W/ID.shadow
put_shadow() {
	_ps_id=$1
	_ps_off=$2
	slice "$W/src.img" "$4" "$3" >"$W/piece"
	shift 4
	"$MDRAID" write --offset="$_ps_off" "$@" <"$W/piece" 2>>"$W/$_ps_id.write.err" || return 1
	dd if="$W/piece" of="$W/$_ps_id.shadow" bs=64K oflag=seek_bytes seek="$_ps_off" conv=notrunc 2>/dev/null
}
# fill_writes ID SEED MEMBER...: sequential and random unaligned writes over
# the whole array (mdraid write + shadow), the shadow first being mdraid's
# read of the array; $W/src.img must exist (8 MiB)
fill_writes() {
	_fw_id=$1
	_fw_seed=$2
	shift 2
	"$MDRAID" read "$@" >"$W/$_fw_id.shadow" 2>"$W/$_fw_id.read.err" || return 1
	_fw_bytes=$(stat -c %s "$W/$_fw_id.shadow")
	put_shadow "$_fw_id" 0 3000000 0 "$@" || return 1
	awk -v s="$_fw_seed" -v b="$_fw_bytes" 'BEGIN { srand(s); for (i = 0; i < 16; i++) {
		l = 1 + int(rand() * 300000); o = int(rand() * (b - l)); so = int(rand() * (8388608 - l))
		printf "%d %d %d\n", o, l, so }
		printf "%d %d %d\n", b - 12345, 12345, 99 }' >"$W/$_fw_id.writes"
	while read -r _fw_o _fw_l _fw_so; do
		put_shadow "$_fw_id" "$_fw_o" "$_fw_l" "$_fw_so" "$@" || return 1
	done <"$W/$_fw_id.writes"
	"$MDRAID" read "$@" | cmp - "$W/$_fw_id.shadow"
}
