/*
 * mdraid_backup.c: fuzz the md_backup_data-1/-2 header parser (the header a
 * grow reads back from a backup file or a new member before restoring the
 * critical section). A header that decodes must re-encode to the same
 * bytes in its meaningful fields.
 */
#include <stdint.h>
#include <string.h>

#include "reshape.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct backup_hdr h;
	struct ok_err e;
	if (backup_hdr_decode(data, size, &h, "fuzz", 0, &e) == 0) {
		uint8_t out[BACKUP_HDR_BYTES];
		backup_hdr_encode(&h, out);
		if (memcmp(out, data, 68) != 0)
			__builtin_trap();
	}
	return 0;
}
