#!/bin/sh
# test_checksig.sh: rpmq -K[v] --keyring against Debian's rpm 4.18 -K[v]
# after `rpm --import` into a throwaway rpmdb (--dbpath), byte for byte and
# exit status, on packages signed here:
#  - gpg keys made in a temporary GNUPGHOME: RSA 2048, Ed25519, DSA 2048,
#    an RSA primary key whose Ed25519 signing subkey signs, and a "wrong"
#    RSA key that is never imported (NOKEY);
#  - a package built with rpmbuild and the corpus's hello-2.0-1, each signed
#    with `rpmsign --addsign` by every key (RSA also with SHA1 and SHA512);
#  - of every signed copy: one payload byte, one main-header byte, one byte
#    of the signature's last MPI, its signature type (corrupt.py);
#  - each with -K and -Kv, plain, --nosignature and --nodigest; then all
#    again with no keys (rpm with an empty rpmdb, rpmq without --keyring).
# rpmq reads the same key files rpm imported (a directory of them, and the
# keys concatenated in one file). A key file with a broken CRC fails both
# rpm --import and rpmq. One rpm and one rpmq run per package and mode.
. "$OPSKIT_SOURCE/tests/tap.sh"
export TZ=UTC LC_ALL=C.UTF-8
Q="$OPSKIT_BUILD/rpmq/rpmq"
HERE="$OPSKIT_SOURCE/tests/interop/rpmq"
CORPUS="$OPSKIT_SHARED/corpus/rpm"
tap_need_corpus "$CORPUS"
for p in rpm rpmsign rpmbuild gpg python3; do
	if ! command -v $p >/dev/null 2>&1; then
		tap_skip "checksig" "$p is not installed (apt-get install rpm gpg python3)"
		tap_done
	fi
done
T=$TAP_TMP
export GNUPGHOME="$T/gnupg"
mkdir -m 700 "$GNUPGHOME"
mkdir "$T/keys" "$T/pkgs" "$T/db" "$T/empty"
# gpg starts an agent for this GNUPGHOME: stop it on the way out
trap 'gpgconf --kill gpg-agent 2>/dev/null; rm -rf "$T"' EXIT

genkey() { # NAME ALGO USAGE
	gpg --batch --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "rpmq-$1 <$1@example.org>" "$2" "$3" never >/dev/null 2>&1
}
keys=""
for k in rsa:rsa2048 ed:ed25519 dsa:dsa2048 wrong:rsa2048; do
	if genkey "${k%%:*}" "${k#*:}" sign; then
		keys="$keys ${k%%:*}"
	else
		tap_skip "gpg ${k#*:} key" "gpg --quick-gen-key ${k#*:} failed"
	fi
done
# an RSA primary key that only certifies, with an Ed25519 signing subkey
if genkey sub rsa2048 cert; then
	fpr=$(gpg --with-colons --list-keys sub@example.org | awk -F: '/^fpr/ {print $10; exit}')
	gpg --batch --pinentry-mode loopback --passphrase '' --quick-add-key "$fpr" ed25519 sign never \
		>/dev/null 2>&1 && keys="$keys sub"
fi
for k in $keys; do
	[ $k = wrong ] && continue
	gpg --armor --export "$k@example.org" >"$T/keys/$k.asc"
	rpm --dbpath "$T/db" --import "$T/keys/$k.asc" ||
		tap_fail "rpm --import $k.asc" "rpm refused a key gpg made"
done
cat "$T"/keys/*.asc >"$T/all.asc"

# the packages: one built here, one from the corpus
mkdir -p "$T/top/SPECS"
cat >"$T/top/SPECS/k.spec" <<'EOF'
Name: rpmqk
Version: 1
Release: 1
Summary: -K test package
License: MIT
BuildArch: noarch
%description
A package to sign.
%install
mkdir -p %{buildroot}/usr/share/rpmqk
seq 1 5000 > %{buildroot}/usr/share/rpmqk/data
%files
/usr/share/rpmqk/data
EOF
rpmbuild --define "_topdir $T/top" -bb "$T/top/SPECS/k.spec" >/dev/null 2>&1 ||
	tap_fail "rpmbuild" "the test package did not build"
cp "$T"/top/RPMS/noarch/rpmqk-1-1.noarch.rpm "$T/base-built.rpm" 2>/dev/null
cp "$CORPUS/rpm--RPMS_hello-2.0-1.x86_64.rpm" "$T/base-hello.rpm"
chmod u+w "$T"/base-*.rpm
for b in "$T"/base-*.rpm; do
	bn=$(basename "$b" .rpm)
	bn=${bn#base-}
	for k in $keys; do
		for h in sha256 sha1 sha512; do
			[ $h != sha256 ] && [ $k != rsa ] && continue
			out="$T/pkgs/$bn-$k-$h.rpm"
			cp "$b" "$out"
			rpmsign --define "__gpg /usr/bin/gpg" --define "_gpg_name $k@example.org" \
				--define "_gpg_digest_algo $h" --addsign "$out" >/dev/null 2>&1 ||
				{ tap_fail "rpmsign $bn with $k/$h"; rm -f "$out"; continue; }
			[ $h != sha256 ] && continue
			for c in payload header sig sighash; do
				python3 "$HERE/corrupt.py" "$out" $c "$T/pkgs/$bn-$k-$h-bad$c.rpm"
			done
		done
	done
done

# One rpm and one rpmq run per mode over all packages (the exit status
# counts the failed ones); on a mismatch each package alone, to name it.
compare() { # NAME DBPATH RPMQ-KEYRING-ARGS...
	name=$1 db=$2
	shift 2
	bad=0
	for m in -K -Kv "-K --nosignature" "-Kv --nosignature" "-K --nodigest" "-Kv --nodigest"; do
		(cd "$T/pkgs" && rpm --dbpath "$db" $m ./*.rpm) >"$T/exp" 2>&1
		echo "exit $?" >>"$T/exp"
		(cd "$T/pkgs" && "$Q" $m "$@" ./*.rpm) >"$T/act" 2>&1
		echo "exit $?" >>"$T/act"
		cmp -s "$T/exp" "$T/act" && continue
		bad=$((bad + 1))
		for f in "$T"/pkgs/*.rpm; do
			(cd "$T/pkgs" && rpm --dbpath "$db" $m "$(basename "$f")") >"$T/exp" 2>&1
			echo "exit $?" >>"$T/exp"
			(cd "$T/pkgs" && "$Q" $m "$@" "$(basename "$f")") >"$T/act" 2>&1
			echo "exit $?" >>"$T/act"
			cmp -s "$T/exp" "$T/act" ||
				tap_fail "$name: $(basename "$f") $m" "$(diff -u "$T/exp" "$T/act" | head -n 30)"
		done
	done
	[ $bad = 0 ] && tap_ok "$name: -K/-Kv, plain/--nosignature/--nodigest identical to rpm 4.18 (output and exit status)"
}
# the packages are named relative to pkgs/ (rpm prints the name given)
for b in "$T"/base-*.rpm; do cp "$b" "$T/pkgs/"; done
rm -f "$T"/base-*.rpm
npk=$(ls "$T/pkgs" | wc -l)
compare "keys as a directory ($npk packages)" "$T/db" --keyring "$T/keys"
compare "keys in one file" "$T/db" --keyring "$T/all.asc"
compare "no keys" "$T/empty"

# the verdicts the comparison must have seen (so it cannot pass vacuously)
(cd "$T/pkgs" && "$Q" -Kv --keyring "$T/keys" ./*.rpm) >"$T/all" 2>&1
for want in 'RSA/SHA256 Signature, key ID [0-9a-f]*: OK' 'RSA/SHA1 Signature' 'RSA/SHA512 Signature' \
	'EdDSA/SHA256 Signature, key ID [0-9a-f]*: OK' 'DSA/SHA256 Signature, key ID [0-9a-f]*: OK' \
	'Signature, key ID [0-9a-f]*: NOKEY' 'Signature, key ID [0-9a-f]*: BAD' 'Payload SHA256 digest: BAD'; do
	if grep -q "$want" "$T/all"; then
		tap_ok "seen: $want"
	else
		tap_fail "seen: $want" "$(head -n 20 "$T/all")"
	fi
done
case " $keys " in
*" sub "*)
	sid=$(gpg --with-colons --list-keys sub@example.org | awk -F: '/^sub/ && $12 ~ /s/ {print tolower(substr($5, 9)); exit}')
	if grep -q "EdDSA/SHA256 Signature, key ID $sid: OK" "$T/all"; then
		tap_ok "a signing subkey verifies (key ID $sid)"
	else
		tap_fail "a signing subkey verifies (key ID $sid)" "$(grep -A1 -- '-sub-' "$T/all" | head)"
	fi
	;;
esac

# a key file rpm refuses (its CRC broken): rpmq refuses it too
sed '/^=/s/^=./=A/' "$T/keys/rsa.asc" >"$T/badcrc.asc"
if rpm --dbpath "$T/empty" --import "$T/badcrc.asc" >/dev/null 2>&1; then
	tap_skip "broken key file" "rpm accepted it"
else
	"$Q" -K --keyring "$T/badcrc.asc" "$T/pkgs/hello-rsa-sha256.rpm" >"$T/out" 2>&1
	rc=$?
	if [ $rc != 0 ] && grep -q 'key 1 not an armored public key' "$T/out"; then
		tap_ok "a key file with a broken CRC is refused (exit $rc): $(cat "$T/out")"
	else
		tap_fail "a key file with a broken CRC is refused" "exit $rc: $(cat "$T/out")"
	fi
fi
tap_done
