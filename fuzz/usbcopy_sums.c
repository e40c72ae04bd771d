/*
 * usbcopy_sums.c: libFuzzer target for the checksum-file reader
 * (uc_sums_lookup in usbcopy/source.c: sha256sum GNU and --tag lines, PGP
 * armor). Any input must yield a digest or a message naming a line; never
 * crash, never read past the input.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "usbcopy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so ASan sees any read past the end */
	char *text = malloc(size ? size : 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	uint8_t out[32];
	struct ok_err e;
	ok_err_clear(&e);
	if (uc_sums_lookup(text, size, "fuzz.sums", "dir/disk.img.xz", out, &e) < 0 && !e.msg[0])
		__builtin_trap(); /* a failure must say why */
	free(text);
	return 0;
}
