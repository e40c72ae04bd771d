/*
 * logsift_persist.c: libFuzzer target for the persist file parser
 * (persist.c). Any bytes are parsed; what parses must format back to the
 * same bytes (the format has one spelling per state) and parse again to
 * the same state. Never a crash, a leak or a read outside the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_pst p, q;
	struct ok_err e;
	if (ls_pst_parse((const char *)data, size, "fuzz", &p, &e) < 0)
		return 0;
	struct ls_buf b = {0};
	ls_pst_format(&p, &b);
	if (b.len != size || memcmp(b.p, data, size))
		abort();
	if (ls_pst_parse(b.p, b.len, "fuzz", &q, &e) < 0 || q.n != p.n)
		abort();
	ls_pst_free(&q);
	ls_pst_free(&p);
	ls_buf_free(&b);
	return 0;
}
