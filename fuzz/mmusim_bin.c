/*
 * mmusim_bin.c: libFuzzer target for the binary trace reader and, behind
 * it, the simulator: any bytes must parse or fail with a message, and the
 * records that parse must simulate without a crash (all modes).
 */
#include <stddef.h>
#include <stdint.h>

#include "mmusim.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ok_err e;
	struct mm_reader *r;
	if (mm_reader_open_mem(&r, data, size, MM_FMT_BIN, "fuzz", &e) < 0)
		return 0;
	struct mm_config c;
	mm_config_preset(&c, "barcelona", &e);
	c.guest_mem = c.host_mem = 64ull << 20;
	c.dc2_kib = 64; /* small caches: set-up per input stays cheap */
	c.dc3_kib = 128;
	struct mm_sim *s = NULL;
	/* odd-sized inputs add agile mode with a short epoch and EPT A/D, so
	 * its policy moves run too (it refuses 'E vm' switches: even sizes
	 * keep the VM paths) */
	c.agile_writes = 1;
	c.agile_epoch = 64;
	c.ept_ad = 1;
	mm_sim_new(&s, &c, size & 1 ? 15 : 7, 1, &e);
	struct mm_rec recs[64];
	ssize_t n;
	while ((n = mm_reader_read(r, recs, 64, &e)) > 0)
		if (s && mm_sim_feed(s, recs, (size_t)n, &e) < 0)
			break;
	mm_sim_free(s);
	mm_reader_close(r);
	return 0;
}
