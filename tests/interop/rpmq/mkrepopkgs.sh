#!/bin/sh
# mkrepopkgs.sh OUTDIR: build three packages with Debian's rpmbuild 4.18 in
# one run (a main package and two subpackages), for test_repo.sh: every
# dependency kind, an epoch, a rich dependency, a requirement on one of the
# package's own files and a versioned self-requirement (which createrepo_c
# leaves out of primary.xml), file names with XML's special characters, a
# space and UTF-8, a directory, a ghost, and a package with no files.
# Prints nothing on success; exit 1 on failure.
set -e
out=$1
top=$(mktemp -d "${TMPDIR:-/tmp}/rpmq-rr.XXXXXX")
trap 'rm -rf "$top"' EXIT
mkdir -p "$top/SPECS" "$out"
cat > "$top/SPECS/rq.spec" <<'SPEC'
Name: rq-main
Version: 2.5
Release: 7
Epoch: 2
Summary: rpmq --repo test <main> & co
License: MIT
BuildArch: noarch
Requires: coreutils >= 8.0
Requires: rq-lib = %{epoch}:%{version}-%{release}
Requires: (rq-a or rq-b >= 1.0)
Requires: /usr/bin/rq-main
Requires(pre): /bin/sh
Provides: rq-feature = 1:2.0
Provides: rq-virtual
Conflicts: rq-old < 1.0
Obsoletes: rq-legacy <= 0.9-3
Recommends: rq-extra
Suggests: rq-docs > 1
Supplements: rq-base
Enhances: rq-core = 1.2
%description
Main.
%package -n rq-lib
Summary: library
Version: 1.0
Epoch: 0
Provides: librq.so.1()(64bit)
Requires: rq-data
%description -n rq-lib
Lib.
%package -n rq-empty
Summary: no files
%description -n rq-empty
Empty.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/rq/sub %{buildroot}/usr/lib/rq
printf '#!/bin/sh\necho rq\n' > %{buildroot}/usr/bin/rq-main
echo a > "%{buildroot}/usr/share/rq/a&b<c>.txt"
echo b > "%{buildroot}/usr/share/rq/with space"
echo c > "%{buildroot}/usr/share/rq/grüße"
echo d > %{buildroot}/usr/share/rq/sub/d
echo l > %{buildroot}/usr/lib/rq/librq.so.1
%files
/usr/bin/rq-main
/usr/share/rq
%ghost /var/log/rq.log
%files -n rq-lib
%dir /usr/lib/rq
/usr/lib/rq/librq.so.1
%files -n rq-empty
SPEC
rpmbuild --quiet --define "_topdir $top" --define "_build_id_links none" \
	--define "__os_install_post %{nil}" -bb "$top/SPECS/rq.spec" >"$top/log" 2>&1 ||
	{ cat "$top/log" >&2; exit 1; }
cp "$top"/RPMS/noarch/*.rpm "$out"/
