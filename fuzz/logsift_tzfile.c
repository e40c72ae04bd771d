/*
 * logsift_tzfile.c: libFuzzer target for the TZif reader (tzfile.c). The
 * input is a zoneinfo file (hostile: any counts, times, types, footer);
 * when it parses, lookups at the extremes, around 0 and at each of a few
 * spread times must give an offset in RFC 8536's range (-89999..93599)
 * and a span that holds t (hi INT64_MAX: unbounded). The input up to its first NUL is also tried as
 * a POSIX TZ string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tzfile.h"

static void probe(const struct ls_tz *z)
{
	static const int64_t ts[] = {
	    INT64_MIN,	INT64_MIN + 1, -((int64_t)1 << 59), -2208988800,   -1,	     0, 1764000000,
	    2145916800, 4102444800,    (int64_t)1 << 40,    INT64_MAX - 1, INT64_MAX};
	for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
		struct ls_tz_span s;
		int off = ls_tz_offset(z, ts[i], &s);
		/* hi == INT64_MAX: no end */
		if (off < -89999 || off > 93599 || s.off != off || s.lo > ts[i] ||
		    (s.hi <= ts[i] && s.hi != INT64_MAX))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_tz *z = NULL;
	if (ls_tz_parse(data, size, "fuzz", &z, NULL) == 0) {
		probe(z);
		ls_tz_free(z);
	}
	const uint8_t *nul = memchr(data, 0, size);
	size_t n = nul ? (size_t)(nul - data) : size;
	char *s = malloc(n + 1);
	if (!s)
		abort();
	memcpy(s, data, n);
	s[n] = 0;
	if (ls_tz_parse_posix(s, &z, NULL) == 0) {
		probe(z);
		ls_tz_free(z);
	}
	free(s);
	return 0;
}
