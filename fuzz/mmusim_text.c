/*
 * mmusim_text.c: libFuzzer target for the perf script and DynamoRIO
 * drmemtrace view readers and, behind them, the simulator: the first byte
 * picks the format (even: perf, odd: drmemtrace), the rest is the text.
 */
#include "mmusim_fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!size)
		return 0;
	return mm_fuzz_one(data + 1, size - 1, data[0] & 1 ? MM_FMT_DRMEM : MM_FMT_PERF);
}
