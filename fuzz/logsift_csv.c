/*
 * logsift_csv.c: libFuzzer target for csv-parser()'s scanner (parser.c).
 * The first byte picks flags (strip-whitespace, greedy), dialect, the
 * number of columns (0..7) and whether a null() and a string delimiter are
 * used; the rest is the input. Each column is reported at most once, in
 * order, with a value no longer than the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_int.h"

struct chk {
	size_t next, max;
	char *const *cols;
};

static void col(void *ctx, const char *name, const char *v, size_t n)
{
	struct chk *c = ctx;
	if (name != c->cols[c->next++] || strlen(v) != n || n > c->max)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	static char *cols[] = {"a", "b", "c", "d", "e", "f", "g"};
	static char *sdel[] = {"::"};
	unsigned b = data[0];
	struct ls_csv_opts o = {
	    .cols = cols,
	    .n_cols = (b >> 4) & 7,
	    .delims = (b & 0x80) ? ",; " : " ",
	    .sdelims = sdel,
	    .n_sdelims = (b >> 3) & 1,
	    .qstart = "\"'[",
	    .qend = "\"']",
	    .null = (b & 4) ? "-" : NULL,
	    .flags = b & 3,
	    .dialect = (int)((b >> 2) & 3) % 3,
	};
	char *in = malloc(size);
	if (!in)
		abort();
	memcpy(in, data + 1, size - 1);
	in[size - 1] = 0;
	struct chk c = {0, size, cols};
	ls_csv_scan(&o, in, col, &c);
	free(in);
	return 0;
}
