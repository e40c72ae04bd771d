/*
 * mdraid_bblog.c: fuzz the bad-block log parser and the range lookup.
 */
#include <stdint.h>
#include <string.h>

#include "mdraid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct md_bblog log;
	struct ok_err e;
	if (md_bblog_parse(&log, data + 1, size - 1, data[0] & 63, "fuzz", 0, &e) == 0) {
		for (int i = 0; i < log.n; i++)
			if (!md_bblog_hits(&log, log.bb[i].sector, 1))
				__builtin_trap();
		md_bblog_free(&log);
	}
	return 0;
}
