/*
 * logsift_json.c: libFuzzer target for json-parser() (json.c over json-c).
 * The first byte picks the options: bit 0 a marker("@cee:"), bit 1 a
 * prefix("j."), bit 2 an extract-prefix() taken from the input up to a
 * NUL, bit 3 key-delimiter("/"); the rest is the input. Every name must
 * be non-empty unless it is prefixed, and every value no longer than the
 * input (json-c's output for an array of arrays aside, which is bounded
 * by the same input).
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
	if (!name || (v && strlen(v) != n) || n > 8 * c->max + 64)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct ls_parser p = {.kind = PS_JSON, .json_delim = '.'};
	uint8_t f = data[0];
	data++;
	size--;
	char *ext = NULL;
	if (f & 4) {
		const uint8_t *nul = memchr(data, 0, size);
		if (!nul)
			return 0;
		ext = strndup((const char *)data, (size_t)(nul - data));
		size -= (size_t)(nul - data) + 1;
		data = nul + 1;
	}
	char *in = malloc(size + 1);
	if (!in)
		abort();
	memcpy(in, data, size);
	in[size] = 0;
	p.marker = f & 1 ? "@cee:" : NULL;
	p.prefix = f & 2 ? "j." : NULL;
	p.extract = ext;
	if (f & 8)
		p.json_delim = '/';
	struct chk c = {size};
	ls_json_scan(&p, in, size, pair, &c);
	free(in);
	free(ext);
	return 0;
}
