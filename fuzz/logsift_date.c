/*
 * logsift_date.c: libFuzzer target for date-parser()'s reader (datep.c).
 * The input up to the first NUL is a format (hostile: any conversions,
 * refused ones skipped as the config would refuse them), the rest the value
 * to read. When it reads, the microseconds must be 0..999999 and the
 * offset under 100 hours ([+-]hhmm reads up to 99:59, as 3.38 reads it).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	if (!nul)
		return 0;
	char *fmt = strndup((const char *)data, (size_t)(nul - data));
	char *in = strndup((const char *)nul + 1, size - (size_t)(nul - data) - 1);
	if (!fmt || !in)
		abort();
	char bad;
	if (ls_datep_check(fmt, &bad) == 0) {
		const char *fmts[] = {fmt, "%FT%T%z"};
		int64_t sec;
		int usec, off;
		struct ls_tz *zone = (data[0] & 1) ? ls_tz_open(NULL, "+05:30", NULL) : NULL;
		struct ls_tz_span local = {0};
		if (ls_datep_parse(fmts, 2, zone, &local, in, 1764000000, &sec, &usec, &off) &&
		    (usec < 0 || usec > 999999 || off <= -360000 || off >= 360000))
			abort();
		ls_tz_free(zone);
	}
	free(fmt);
	free(in);
	return 0;
}
