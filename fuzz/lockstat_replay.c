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
	struct ls_symtab t;
	ls_symtab_init(&t);
	struct ls_replay r;
	struct ok_err e;
	FILE *null = fopen("/dev/null", "w");
	if (ls_replay_open(&r, path, &t, &e) == 0) {
		for (int pass = 0; pass < 2; pass++) {
			struct ls_recset s;
			ls_recset_init(&s, 100, 4);
			struct ls_raw ev;
			rewind(r.f);
			r.line = 0;
			while (ls_replay_next(&r, &ev, &e) > 0)
				ls_recset_add(&s, &ev);
			struct ls_report_opts o = {.gather = LS_GATHER_STACK,
						   .depth = 4,
						   .topn = -1,
						   .elapsed_ns = r.elapsed_ns};
			if (pass == 0)
				o.kflag = o.Wflag = 1;
			else
				o.gflag = o.cflag = o.wflag = 1, o.gather = LS_GATHER_HIST;
			ls_report(&s, &t, &o, null);
			ls_recset_free(&s);
		}
		ls_replay_close(&r);
	} else if (r.f) {
		ls_replay_close(&r);
	}
	fclose(null);
	ls_symtab_free(&t);
	unlink(path);
	return 0;
}
