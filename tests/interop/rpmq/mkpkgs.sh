#!/bin/sh
# mkpkgs.sh OUTDIR: build the test packages with Debian's rpmbuild 4.18 into
# OUTDIR (one per payload compressor: gzip, bzip2, xz, lzma, zstd, none), all
# from one spec covering every scriptlet kind (-p <lua>, -p /sbin/ldconfig, an
# interpreter with arguments, empty bodies, blank lines), triggers of every
# kind, file triggers and transaction file triggers, config/doc/license/
# ghost/artifact files, a file provide (rpm_macro()), symlinks, hard links,
# weak dependencies, an epoch, i18n summaries and a change log. Prints
# nothing on success; exit 1 on failure.
#
# mkpkgs.sh -c CACHE OUTLINK: the same packages, built once per CACHE (the
# build directory) into CACHE/mkpkgs-KEY and linked as OUTLINK. KEY hashes
# this script and rpmbuild's version. rpmq-rpm-queries and rpmq-extract both
# use them, and the rpmbuild runs cost ~10 s of CPU each time; two tests
# racing both build, the first rename wins.
set -e
if [ "$1" = -c ]; then
	mkdir -p "$2"
	key=$({ cat "$0"; rpmbuild --version; } | md5sum | cut -c1-12)
	dir=$2/mkpkgs-$key
	if [ ! -f "$dir/.done" ]; then
		tmp=$(mktemp -d "$dir.XXXXXX")
		sh "$0" "$tmp" || { rm -rf "$tmp"; exit 1; }
		touch "$tmp/.done"
		mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
	fi
	ln -s "$dir" "$3"
	exit 0
fi
out=$1
top=$(mktemp -d "${TMPDIR:-/tmp}/rpmq-rb.XXXXXX")
trap 'rm -rf "$top"' EXIT
mkdir -p "$top/SPECS" "$out"
cat > "$top/SPECS/rpmqtest.spec" <<'EOF'
Name: rpmqtest
Version: 1.2
Release: %{rel}
Epoch: 3
Summary: rpmq test package
Summary(de): rpmq Testpaket
License: MIT
Group: Testing
URL: https://example.org/rpmq
Vendor: opskit
Packager: opskit tests <tests@example.org>
BuildArch: noarch
Provides: rpmq-feature = 2.0
Provides: rpmq-virtual
Requires(pre): /bin/sh
Requires: coreutils >= 8.0
Conflicts: rpmq-old < 1.0
Obsoletes: rpmq-legacy <= 0.9
Recommends: rpmq-extra
Suggests: rpmq-docs > 1
Supplements: rpmq-base
Enhances: rpmq-core = 1.2
%description
A package that exercises every part of the rpm format rpmq reads.

It has two paragraphs.
%description -l de
Ein Paket.

%install
mkdir -p %{buildroot}/etc/rpmqtest %{buildroot}/usr/bin %{buildroot}/usr/share/doc/rpmqtest %{buildroot}/usr/lib/rpmqtest/empty
echo "key=value" > %{buildroot}/etc/rpmqtest/main.conf
echo "other" > %{buildroot}/etc/rpmqtest/other.conf
printf '#!/bin/sh\necho hi\n' > %{buildroot}/usr/bin/rpmqtest
chmod 4755 %{buildroot}/usr/bin/rpmqtest
echo "read me" > %{buildroot}/usr/share/doc/rpmqtest/README
echo "license" > %{buildroot}/usr/share/doc/rpmqtest/LICENSE
echo "data data data" > %{buildroot}/usr/lib/rpmqtest/a
ln %{buildroot}/usr/lib/rpmqtest/a %{buildroot}/usr/lib/rpmqtest/b
ln %{buildroot}/usr/lib/rpmqtest/a %{buildroot}/usr/lib/rpmqtest/c
ln -s ../../bin/rpmqtest %{buildroot}/usr/lib/rpmqtest/link
ln -s /nonexistent %{buildroot}/usr/lib/rpmqtest/dangling
dd if=/dev/zero of=%{buildroot}/usr/lib/rpmqtest/zeros bs=1024 count=64 2>/dev/null
touch %{buildroot}/usr/lib/rpmqtest/empty-file
mkdir -p %{buildroot}%{_rpmmacrodir} %{buildroot}/usr/share/rpmqtest
echo "%%rpmqtest_x 1" > %{buildroot}%{_rpmmacrodir}/macros.rpmqtest
echo "built" > %{buildroot}/usr/share/rpmqtest/artifact

%files
%dir /etc/rpmqtest
%config(noreplace) /etc/rpmqtest/main.conf
%config /etc/rpmqtest/other.conf
%attr(4755,root,root) /usr/bin/rpmqtest
%doc /usr/share/doc/rpmqtest/README
%license /usr/share/doc/rpmqtest/LICENSE
/usr/lib/rpmqtest
%ghost /var/log/rpmqtest.log
%{_rpmmacrodir}/macros.rpmqtest
%dir /usr/share/rpmqtest
%artifact /usr/share/rpmqtest/artifact

%pretrans -p <lua>
print("pretrans")

%pre
# first line is a comment

echo "pre $1"

%post -p /sbin/ldconfig

%preun -p "/bin/sh -x"
echo "preun"

%postun

%posttrans -p <lua>
print("posttrans")
if true then
  print("nested")
end

%verifyscript
test -f /etc/rpmqtest/main.conf

%triggerin -- bash >= 4.0, coreutils
echo "triggerin"

%triggerun -p /bin/bash -- glibc
echo "triggerun"

%triggerpostun -- foo < 2
echo "triggerpostun"

%triggerprein -- bar > 1.0
echo "triggerprein"

%filetriggerin -- /usr/lib /usr/lib64
echo filetriggerin

%filetriggerun -p <lua> -- /usr/share
print("filetriggerun")

%filetriggerpostun -P 2000 -- /etc
echo filetriggerpostun

%transfiletriggerin -- /usr/bin
echo transfiletriggerin

%transfiletriggerun -- /usr/lib
echo transfiletriggerun

%transfiletriggerpostun -p <lua> -- /usr/share
print("transfiletriggerpostun")

%changelog
* Tue Nov 24 2026 opskit tests <tests@example.org> - 3:1.2-1
- second entry
  with a continuation line

* Mon Jan 05 2015 Someone Else <else@example.org> - 1.0-1
- first entry
EOF
for p in w9.gzdio:gzip w9.bzdio:bzip2 w6.xzdio:xz w6.lzdio:lzma w19.zstdio:zstd w.ufdio:none; do
	io=${p%%:*} rel=${p##*:}
	rpmbuild --quiet --define "_topdir $top" --define "rel $rel" \
		--define "_binary_payload $io" --define "_build_id_links none" \
		--define "__os_install_post %{nil}" \
		-bb "$top/SPECS/rpmqtest.spec" >"$top/log" 2>&1 || { cat "$top/log" >&2; exit 1; }
done
cp "$top"/RPMS/noarch/*.rpm "$out"/
