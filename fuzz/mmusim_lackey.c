/*
 * mmusim_lackey.c: libFuzzer target for the lackey text reader and, behind
 * it, the simulator: any bytes must parse or fail with a message, and the
 * records that parse must simulate without a crash (all modes).
 */
#include <stddef.h>
#include <stdint.h>

#include "mmusim_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return mm_fuzz_one(data, size, MM_FMT_LACKEY);
}
