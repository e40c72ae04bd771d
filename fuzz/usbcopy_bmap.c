/*
 * usbcopy_bmap.c: libFuzzer target for the bmap parser (usbcopy/bmap.c).
 * Any input must parse or fail with a message; never crash, never leak.
 */
#include <stddef.h>
#include <stdint.h>

#include "usbcopy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct uc_bmap b;
	struct ok_err e;
	if (uc_bmap_parse((const char *)data, size, "fuzz.bmap", &b, &e) == 0) {
		/* a parsed map must be self-consistent */
		for (size_t i = 0; i < b.n; i++)
			if (b.r[i].first > b.r[i].last || b.r[i].last >= b.blocks_count ||
			    (i && b.r[i].first <= b.r[i - 1].last))
				__builtin_trap();
	}
	uc_bmap_free(&b);
	return 0;
}
