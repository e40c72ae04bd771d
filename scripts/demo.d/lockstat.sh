#!/bin/sh
# lockstat tour: a report replayed from a recorded run (no privilege needed),
# then, as root, a live profile of the kernel while a command runs.
L=$OPSKIT_BUILD/lockstat/lockstat
cat > "$DEMO_TMP/sample.rec" <<'REC'
lockstat-record 1
elapsed 1000000000
ncpu 2
ev 56 100000000 ffffffff81000010 0 -
ev 56 100000000 ffffffff81000010 0 -
ev 56 100001000 ffffffff81000150 0 - ffffffff81000210 ffffffff81000320
ev 56 100001000 ffffffff81000150 0 - ffffffff81000210 ffffffff81000320
ev 56 100000000 0 0 sh
sym ffffffff81000000 100 cpu_halt
sym ffffffff81000100 100 lzjb_compress
sym ffffffff81000200 100 zio_compress
sym ffffffff81000300 100 zio_execute
REC
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
