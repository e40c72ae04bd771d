/*
 * logsift_framer.c: libFuzzer target for the stream framer (framer.c). The
 * first byte picks octet counting, flags(empty-lines), end of input and a
 * log-msg-size() of 1..128; the rest is fed in two chunks (split at the
 * second byte) the way a socket delivers it. Every record must lie inside
 * the buffer and be at most log-msg-size() long; the framer must always
 * make progress or ask for more.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	struct ls_frame_opts o = {data[0] & 1, (data[0] & 2) != 0, false,
				  (size_t)((data[0] >> 2) & 63) * 2 + 1};
	const char *in = (const char *)data + 2;
	size_t total = size - 2, cut = data[1] % (total + 1);
	char *buf = malloc(total + 1);
	if (!buf)
		return 0;
	size_t len = 0, pos = 0;
	for (int chunk = 0; chunk < 2; chunk++) {
		size_t add = chunk ? total - cut : cut;
		memcpy(buf + len, in + (chunk ? cut : 0), add);
		len += add;
		o.eof = chunk == 1;
		for (;;) {
			const char *rec;
			size_t n;
			char err[160];
			ssize_t used =
			    ls_frame_next(buf + pos, len - pos, &o, &rec, &n, err, sizeof err);
			if (used <= 0)
				break;
			if ((size_t)used > len - pos)
				abort();
			if (rec &&
			    (rec < buf + pos || rec + n > buf + pos + (size_t)used || n > o.max))
				abort();
			pos += (size_t)used;
		}
	}
	free(buf);
	return 0;
}
