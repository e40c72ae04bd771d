#!/bin/sh
# lockstat tour: a report replayed from a recorded run (no privilege needed),
# then, as root, a live profile of the kernel while a command runs.
L=$OPSKIT_BUILD/lockstat/lockstat
cp "$OPSKIT_SOURCE/tests/lockstat/fixtures/profile.rec" "$DEMO_TMP/sample.rec"
echo '$ lockstat -kIW --replay sample.rec'
"$L" -kIW --replay "$DEMO_TMP/sample.rec"
echo '$ lockstat -kIW -f lzjb_compress -s 3 --replay sample.rec'
"$L" -kIW -f lzjb_compress -s 3 --replay "$DEMO_TMP/sample.rec"
if [ "$(id -u)" = 0 ]; then
	echo '# lockstat -kIW -D 5 /bin/sleep 1'
	"$L" -kIW -D 5 /bin/sleep 1
else
	echo "(live profiling needs root: skipped)"
fi
