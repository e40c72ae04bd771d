#!/bin/sh
# test_pgpsig.sh: :pgpsig (and -i's Signature line) against Debian's rpm
# 4.18 on signatures rpm 4.18 accepts and refuses, compared byte for byte:
#  - byte mutations of real RSA and EdDSA signature blobs from the corpus
#    (sigblob.py mutate: the first bytes of each blob in turn, then random
#    ones; 200 + 60 by default, 3000 + 1000 with RPMQ_PGPSIG_ALL=1);
#  - signatures gpg makes here with RSA, DSA, EdDSA and ECDSA (NIST P-256,
#    P-384) keys and SHA1/SHA256/SHA512, one with a critical notation, put
#    in a package's RSAHEADER (sigblob.py replace). rpm 4.18 calls ECDSA
#    "(not an OpenPGP signature)" (its libgcrypt backend has no ECDSA).
# One rpm and one rpmq run per set; on a mismatch each file is compared
# alone to name it. Reference: TZ=UTC LC_ALL=C.UTF-8 rpm -qp --nosignature
# --nodigest --qf FMT FILE...
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
CORPUS="$OPSKIT_SHARED/corpus/rpm"
tap_need_corpus "$OPSKIT_SHARED/corpus/rpm"
HERE="$OPSKIT_SOURCE/tests/interop/rpmq"
QF='%{RSAHEADER:pgpsig}|%{DSAHEADER:pgpsig}|%{SIGPGP:pgpsig}|%{SIGGPG:pgpsig}\n'

if ! command -v rpm >/dev/null 2>&1; then
	tap_skip "pgpsig" "rpm is not installed (apt-get install rpm)"
	tap_done
fi

compare_set() { # NAME DIR
	set -- "$1" "$2"/*.rpm
	name=$1
	shift
	rpm -qp --nosignature --nodigest --qf "$QF" "$@" >"$TAP_TMP/exp" 2>/dev/null
	"$Q" -qp --qf "$QF" "$@" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
	if cmp -s "$TAP_TMP/exp" "$TAP_TMP/act"; then
		tap_ok "$name: $# packages ($(grep -c 'not an OpenPGP' "$TAP_TMP/exp") refused by rpm)"
		return
	fi
	for f in "$@"; do
		rpm -qp --nosignature --nodigest --qf "$QF" "$f" >"$TAP_TMP/exp" 2>/dev/null
		"$Q" -qp --qf "$QF" "$f" >"$TAP_TMP/act" 2>"$TAP_TMP/err"
		test_cmp "$name: $(basename "$f")" "$TAP_TMP/exp" "$TAP_TMP/act"
	done
}

nrsa=200
neddsa=60
if [ -n "$RPMQ_PGPSIG_ALL" ]; then
	nrsa=3000
	neddsa=1000
fi
mkdir "$TAP_TMP/rsa" "$TAP_TMP/eddsa"
python3 "$HERE/sigblob.py" mutate "$CORPUS/rpm--RPMS_hello-2.0-1.x86_64-signed.rpm" 268 "$TAP_TMP/rsa" 21 $nrsa
compare_set "RSAHEADER byte mutations (seed 21)" "$TAP_TMP/rsa"
python3 "$HERE/sigblob.py" mutate "$CORPUS/rpm--RPMS_mwe-rpm-lua-problem-1.0.0-1.noarch.rpm" 267 "$TAP_TMP/eddsa" 21 $neddsa
compare_set "EdDSA DSAHEADER byte mutations (seed 21)" "$TAP_TMP/eddsa"

if ! command -v gpg >/dev/null 2>&1; then
	tap_skip "gpg signatures" "gpg is not installed (apt-get install gpg)"
	tap_done
fi
export GNUPGHOME="$TAP_TMP/gnupg"
mkdir -m 700 "$GNUPGHOME" "$TAP_TMP/gpg"
# gpg starts an agent for this GNUPGHOME: stop it on the way out
trap 'gpgconf --kill gpg-agent 2>/dev/null; rm -rf "$TAP_TMP"' EXIT
base="$CORPUS/rpm--RPMS_hello-2.0-1.x86_64-signed.rpm"
printf 'signed data\n' >"$TAP_TMP/data"
n=0
for algo in rsa2048 dsa1024 ed25519 nistp256 nistp384; do
	if ! gpg --batch --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "rpmq-$algo <$algo@example.org>" "$algo" sign never >/dev/null 2>&1; then
		tap_skip "gpg $algo key" "gpg --quick-gen-key $algo failed"
		continue
	fi
	for h in SHA256 SHA512 SHA1; do
		n=$((n + 1))
		gpg --batch -u "$algo@example.org" --digest-algo $h --detach-sign \
			--yes -o "$TAP_TMP/sig" "$TAP_TMP/data" 2>/dev/null &&
			python3 "$HERE/sigblob.py" replace "$base" 268 "$TAP_TMP/sig" "$TAP_TMP/gpg/$algo-$h.rpm"
	done
	gpg --batch -u "$algo@example.org" --sig-notation '!crit@example.org=1' --detach-sign \
		--yes -o "$TAP_TMP/sig" "$TAP_TMP/data" 2>/dev/null &&
		python3 "$HERE/sigblob.py" replace "$base" 268 "$TAP_TMP/sig" "$TAP_TMP/gpg/$algo-critical.rpm"
done
compare_set "gpg signatures in RSAHEADER" "$TAP_TMP/gpg"
# The Signature line of -i on the same packages.
set -- "$TAP_TMP"/gpg/*.rpm
rpm -qp --nosignature --nodigest -i "$@" 2>/dev/null | grep '^Signature' >"$TAP_TMP/exp"
"$Q" -qp -i "$@" 2>/dev/null | grep '^Signature' >"$TAP_TMP/act"
test_cmp "gpg signatures: -i Signature lines" "$TAP_TMP/exp" "$TAP_TMP/act"
if grep -q '^Signature   : ECDSA' "$TAP_TMP/act" || ! grep -q 'EdDSA/SHA512' "$TAP_TMP/act"; then
	tap_fail "gpg signatures: ECDSA refused, EdDSA read" "$(cat "$TAP_TMP/act")"
else
	tap_ok "gpg signatures: ECDSA refused, EdDSA read (as rpm 4.18)"
fi
tap_done
