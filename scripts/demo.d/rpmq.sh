#!/bin/sh
# rpmq demo: what a package would run as root, its files, its digests and a
# safe extraction, on the public test packages in ../shared/corpus/rpm.
Q="$OPSKIT_BUILD/rpmq/rpmq"
C="$OPSKIT_SHARED/corpus/rpm"
T="${DEMO_TMP:-/tmp}/rpmq-demo"
export TZ=UTC LC_ALL=C.UTF-8
echo "== rpmq -qp --scripts (rpm 6 package with every scriptlet kind)"
"$Q" -qp --scripts "$C/rpmrs--RPMS_v6_rpm-scriptlets-1.0-1.noarch.rpm"
echo "== rpmq -qp --triggers --filetriggers"
"$Q" -qp --triggers --filetriggers "$C/rpmrs--RPMS_v6_rpm-scriptlets-1.0-1.noarch.rpm"
echo "== rpmq -qpi (signed package)"
"$Q" -qpi "$C/rpm--RPMS_hello-2.0-1.x86_64-signed.rpm"
echo "== rpmq -qplv"
"$Q" -qplv "$C/rpm--RPMS_hlinktest-1.0-1.noarch.rpm"
echo "== rpmq --qf"
"$Q" -qp --qf '[%-40{FILENAMES} %{FILEMODES:perms} %{FILESIZES:humaniec}\n]' "$C/rpm--RPMS_hello-2.0-1.x86_64.rpm"
echo "== rpmq -Kv (the corrupted package has lost its payload)"
"$Q" -Kv "$C/rpm--RPMS_hello-2.0-1.x86_64.rpm" "$C/rpm--RPMS_hello-2.0-1.x86_64-corrupted.rpm"
echo "exit status $?"
echo "== rpmq --extract -C $T"
rm -rf "$T"
"$Q" --extract -C "$T" "$C/rpm--RPMS_hello-2.0-1.x86_64.rpm" && find "$T" | sort
echo "== a truncated package"
head -c 5000 "$C/rpm--RPMS_hello-2.0-1.x86_64.rpm" >"$T.rpm"
"$Q" -qp --scripts "$T.rpm"
echo "exit status $?"
rm -rf "$T" "$T.rpm"
