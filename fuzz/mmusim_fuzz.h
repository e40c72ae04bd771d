/*
 * mmusim_fuzz.h: the body the mmusim fuzz targets share: any bytes must
 * parse in format fmt or fail with a message, and the records that parse
 * must simulate without a crash.
 */
#ifndef MMUSIM_FUZZ_H
#define MMUSIM_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "mmusim.h"

static inline int mm_fuzz_one(const uint8_t *data, size_t size, enum mm_fmt fmt)
{
	struct ok_err e;
	struct mm_reader *r;
	if (mm_reader_open_mem(&r, data, size, fmt, "fuzz", &e) < 0)
		return 0;
	struct mm_config c;
	mm_config_preset(&c, "barcelona", &e);
	c.guest_mem = c.host_mem = 64ull << 20;
	c.dc2_kib = 64; /* small caches: set-up per input stays cheap */
	c.dc3_kib = 128;
	struct mm_sim *s = NULL;
	/* odd-sized inputs add agile mode with a short epoch and EPT A/D, so
	 * its policy moves run too; sizes with bit 1 set flush after aging */
	c.agile_writes = 1;
	c.agile_epoch = 64;
	c.ept_ad = 1;
	c.age_flush = (size >> 1) & 1;
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

#endif
