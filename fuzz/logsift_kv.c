/*
 * logsift_kv.c: libFuzzer target for kv-parser()'s scanner (parser.c). The
 * first byte picks the value separator, the next ones up to a NUL the pair
 * separator (3.38 takes any string there); the rest is the input. Every
 * key must be non-empty, made of key characters, and every value no
 * longer than the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_int.h"

struct chk {
	size_t max;
};

static void pair(void *ctx, const char *name, const char *v, size_t n)
{
	const struct chk *c = ctx;
	if (!name[0] || strlen(v) != n || n > c->max)
		abort();
	for (const char *p = name; *p; p++)
		if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-",
			    *p))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	char vsep = (char)data[0];
	if (!vsep || vsep == ' ' || vsep == '"' || vsep == '\'')
		vsep = '=';
	const uint8_t *nul = memchr(data + 1, 0, size - 1);
	size_t plen = nul ? (size_t)(nul - data - 1) : 0;
	char *psep = malloc(plen + 1), *in = malloc(size + 1);
	if (!psep || !in)
		abort();
	memcpy(psep, data + 1, plen);
	psep[plen] = 0;
	size_t off = nul ? plen + 2 : 1;
	memcpy(in, data + off, size - off);
	in[size - off] = 0;
	struct chk c = {size};
	ls_kv_scan(in, vsep, plen ? psep : ", ", pair, &c);
	free(psep);
	free(in);
	return 0;
}
