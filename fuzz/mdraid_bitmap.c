/*
 * mdraid_bitmap.c: fuzz the write-intent bitmap superblock parser.
 */
#include <stdint.h>
#include <string.h>

#include "mdraid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t buf[256];
	memset(buf, 0, sizeof(buf));
	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	struct md_bitmap bm;
	struct ok_err e;
	if (md_bitmap_parse(&bm, buf, size > 24 ? buf + 8 : NULL, "fuzz", 0, &e) == 0) {
		(void)md_bitmap_bits(&bm);
		(void)md_bitmap_bytes(&bm, 4096);
		uint8_t out[256];
		md_bitmap_encode(&bm, out);
		if (memcmp(out, buf, 136) != 0)
			__builtin_trap();
	}
	return 0;
}
