/* Fuzz target: lockstat's --replay record-file parser, then the full report
 * pipeline (-kW -s and -g -c) on whatever events it accepts. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "lockstat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/lockstat-fuzz-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	struct lk_symtab t;
	lk_symtab_init(&t);
	struct lk_replay r;
	struct ok_err e;
	FILE *null = fopen("/dev/null", "w");
	if (lk_replay_open(&r, path, &t, &e) == 0) {
		for (int pass = 0; pass < 2; pass++) {
			struct lk_recset s;
			lk_recset_init(&s, 100, 4);
			struct lk_raw ev;
			rewind(r.f);
			r.line = 0;
			while (lk_replay_next(&r, &ev, &e) > 0)
				lk_recset_add(&s, &ev);
			struct lk_report_opts o = {.gather = LK_GATHER_STACK,
						   .depth = 4,
						   .topn = -1,
						   .elapsed_ns = r.elapsed_ns};
			if (pass == 0)
				o.kflag = o.Wflag = 1;
			else
				o.gflag = o.cflag = o.wflag = 1, o.gather = LK_GATHER_HIST;
			lk_report(&s, &t, &o, null);
			lk_recset_free(&s);
		}
		lk_replay_close(&r);
	} else if (r.f) {
		lk_replay_close(&r);
	}
	fclose(null);
	lk_symtab_free(&t);
	unlink(path);
	return 0;
}
