#!/bin/sh
# mkmany.sh OUTDIR [N]: build N (default 2000) small, distinct binary
# packages into OUTDIR with one rpmbuild run (Debian's rpmbuild 4.18): one
# spec whose N subpackages each own three files (a program, a config file,
# a doc file in its own directory), a %pre/%post/%preun scriptlet, a
# trigger and a few dependencies, as distribution packages typically do.
# One rpmbuild process writing N packages takes seconds, N runs minutes.
set -e
out=$1
n=${2:-2000}
top=$(mktemp -d "${TMPDIR:-/tmp}/rpmq-many.XXXXXX")
trap 'rm -rf "$top"' EXIT
mkdir -p "$top/SPECS" "$out"
{
	cat <<'EOF'
Name: many
Version: 1.0
Release: 1
Summary: rpmq bench packages
License: MIT
BuildArch: noarch
%description
Bench packages.
%install
for i in $(seq 1 %{npkgs}); do
	mkdir -p %{buildroot}/usr/share/many$i %{buildroot}/etc/many$i %{buildroot}/usr/bin
	printf '#!/bin/sh\necho many %s\n' $i > %{buildroot}/usr/bin/many$i
	echo "setting=$i" > %{buildroot}/etc/many$i/many.conf
	echo "package $i" > %{buildroot}/usr/share/many$i/README
done
EOF
	i=1
	while [ "$i" -le "$n" ]; do
		cat <<EOF
%package -n many$i
Summary: bench package $i
Requires: /bin/sh, coreutils >= 8.$i
Provides: many-feature$i = $i
%description -n many$i
Bench package number $i.
%pre -n many$i
getent group many$i >/dev/null || echo "adding many$i"
%post -n many$i
echo "installed many$i \$1"
%preun -n many$i
[ "\$1" = 0 ] && echo "removing many$i"
%triggerin -n many$i -- bash
echo "bash changed"
%files -n many$i
%attr(0755,root,root) /usr/bin/many$i
%config(noreplace) /etc/many$i/many.conf
%doc /usr/share/many$i/README
%dir /usr/share/many$i
EOF
		i=$((i + 1))
	done
} >"$top/SPECS/many.spec"
rpmbuild --quiet --define "_topdir $top" --define "npkgs $n" --define "_rpmdir $out" \
	--define '_build_name_fmt %%{NAME}-%%{VERSION}-%%{RELEASE}.%%{ARCH}.rpm' \
	--define '_binary_payload w6.gzdio' -bb "$top/SPECS/many.spec" >/dev/null
