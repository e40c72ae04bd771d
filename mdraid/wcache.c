/*
 * wcache.c: the write-back stripe cache of wcache.h (semantics and
 * invariants there). Slots are few (at most MD_WCACHE_BUDGET of stripes), so
 * they are searched linearly; a stripe's sectors held are a bitmap.
 *
 * Divisions: slots; write; read; flush.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "io.h"
#include "wcache.h"

#define NO_STRIPE UINT64_MAX

/* ---- slots ---- */

int md_wcache_init(struct md_wcache *wc, struct md_array *a, size_t budget)
{
	memset(wc, 0, sizeof(*wc));
	wc->a = a;
	const struct md_geom *g = &a->geom;
	wc->stripe_bytes = (uint64_t)g->chunk_sectors * 512 * (uint64_t)md_geom_data_disks(g);
	wc->sectors = (uint32_t)(wc->stripe_bytes / 512);
	/* fewer than 4 slots cannot follow even one client's requests in
	 * flight; such arrays (huge chunks) write through as before */
	if (wc->stripe_bytes == 0 || budget / wc->stripe_bytes < 4 ||
	    md_array_bytes(a) % wc->stripe_bytes)
		return 0;
	int n = (int)(budget / wc->stripe_bytes);
	if (n > 64)
		n = 64;
	wc->slot = calloc((size_t)n, sizeof(*wc->slot));
	if (!wc->slot)
		return -ENOMEM;
	wc->nslots = n;
	for (int i = 0; i < n; i++)
		wc->slot[i].stripe = NO_STRIPE;
	return 0;
}

void md_wcache_free(struct md_wcache *wc)
{
	for (int i = 0; i < wc->nslots; i++) {
		io_free(wc->slot[i].buf);
		free(wc->slot[i].have);
	}
	free(wc->slot);
	wc->slot = NULL;
	wc->nslots = 0;
}

static bool has(const struct md_wcache_slot *sl, uint32_t sec)
{
	return sl->have[sec / 64] >> (sec % 64) & 1;
}

static struct md_wcache_slot *find(struct md_wcache *wc, uint64_t stripe)
{
	for (int i = 0; i < wc->nslots; i++)
		if (wc->slot[i].stripe == stripe)
			return &wc->slot[i];
	return NULL;
}

static void release(struct md_wcache *wc, struct md_wcache_slot *sl)
{
	sl->stripe = NO_STRIPE;
	sl->nhave = 0;
	memset(sl->have, 0, (wc->sectors + 63) / 64 * 8);
}

/* Write what sl holds, one md_array_write per run of held sectors (a whole
 * stripe is one run), and free the slot. The slot is freed on an error too:
 * its writes are lost, as a disk's cache loses them, and the error is the
 * caller's to report. */
static int write_back(struct md_wcache *wc, struct md_wcache_slot *sl, struct ok_err *e)
{
	int rc = 0;
	uint64_t base = sl->stripe * wc->stripe_bytes;
	wc->whole += sl->nhave == wc->sectors;
	for (uint32_t s = 0; s < wc->sectors && rc == 0;) {
		if (!has(sl, s)) {
			s++;
			continue;
		}
		uint32_t t = s + 1;
		while (t < wc->sectors && has(sl, t))
			t++;
		rc = md_array_write(wc->a, base + (uint64_t)s * 512, sl->buf + (size_t)s * 512,
				    (size_t)(t - s) * 512, e);
		s = t;
	}
	release(wc, sl);
	if (rc < 0 && wc->err == 0) {
		/* the next flush fails too: the client must not take the
		 * lost writes for durable */
		wc->err = rc;
		if (e)
			wc->err_e = *e;
	}
	return rc;
}

/* A free slot for stripe, the least recently used one written back first
 * when none is free. NULL with rc set on an error. */
static struct md_wcache_slot *take(struct md_wcache *wc, uint64_t stripe, int *rc, struct ok_err *e)
{
	struct md_wcache_slot *sl = NULL;
	for (int i = 0; i < wc->nslots && !sl; i++)
		if (wc->slot[i].stripe == NO_STRIPE)
			sl = &wc->slot[i];
	if (!sl) {
		sl = &wc->slot[0];
		for (int i = 1; i < wc->nslots; i++)
			if (wc->slot[i].used < sl->used)
				sl = &wc->slot[i];
		if ((*rc = write_back(wc, sl, e)) < 0)
			return NULL;
	}
	if (!sl->buf) {
		sl->buf = io_alloc((size_t)wc->stripe_bytes);
		sl->have = calloc((wc->sectors + 63) / 64, 8);
		if (!sl->buf || !sl->have) {
			*rc = ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
			return NULL;
		}
	}
	sl->stripe = stripe;
	return sl;
}

/* Write back the slots of stripes [s0, s1). */
static int write_back_range(struct md_wcache *wc, uint64_t s0, uint64_t s1, struct ok_err *e)
{
	int rc = 0;
	for (int i = 0; i < wc->nslots; i++) {
		struct md_wcache_slot *sl = &wc->slot[i];
		if (sl->stripe != NO_STRIPE && sl->stripe >= s0 && sl->stripe < s1) {
			int r = write_back(wc, sl, rc < 0 ? NULL : e);
			if (r < 0 && rc == 0)
				rc = r;
		}
	}
	return rc;
}

/* ---- write ---- */

int md_wcache_write(struct md_wcache *wc, uint64_t off, const void *buf, size_t len,
		    struct ok_err *e)
{
	uint64_t sb = wc->stripe_bytes, total = md_array_bytes(wc->a);
	if (wc->nslots == 0 || ((off | len) & 511) || off > total || len > total - off) {
		int rc = wc->nslots && len
			     ? write_back_range(wc, off / sb, (off + len - 1) / sb + 1, e)
			     : 0;
		return rc < 0 ? rc : md_array_write(wc->a, off, buf, len, e);
	}
	const uint8_t *p = buf;
	while (len > 0) {
		uint64_t s = off / sb, in = off % sb;
		int rc = 0;
		if (in == 0 && len >= sb) {
			/* whole stripes: what the slots hold there is overwritten */
			uint64_t n = len / sb;
			for (int i = 0; i < wc->nslots; i++)
				if (wc->slot[i].stripe >= s && wc->slot[i].stripe < s + n)
					release(wc, &wc->slot[i]);
			wc->whole += n;
			rc = md_array_write(wc->a, off, p, (size_t)(n * sb), e);
			if (rc < 0)
				return rc;
			off += n * sb;
			p += n * sb;
			len -= (size_t)(n * sb);
			continue;
		}
		size_t n = len < sb - in ? len : (size_t)(sb - in);
		struct md_wcache_slot *sl = find(wc, s);
		if (!sl && !(sl = take(wc, s, &rc, e)))
			return rc;
		memcpy(sl->buf + in, p, n);
		for (uint32_t sec = (uint32_t)(in / 512); sec < (in + n) / 512; sec++)
			if (!has(sl, sec)) {
				sl->have[sec / 64] |= 1ULL << (sec % 64);
				sl->nhave++;
			}
		sl->used = ++wc->clock;
		if (sl->nhave == wc->sectors && (rc = write_back(wc, sl, e)) < 0)
			return rc;
		off += n;
		p += n;
		len -= n;
	}
	return 0;
}

/* ---- read ---- */

/* Lay the held sectors of [off, off+len) over buf (read from the array).
 * Reads the slots only: readers may run it together while no write does. */
static void lay_held(const struct md_wcache *wc, uint64_t off, void *buf, size_t len)
{
	if (len == 0)
		return;
	uint64_t sb = wc->stripe_bytes, end = off + len;
	for (int i = 0; i < wc->nslots; i++) {
		const struct md_wcache_slot *sl = &wc->slot[i];
		if (sl->stripe == NO_STRIPE || (sl->stripe + 1) * sb <= off ||
		    sl->stripe * sb >= end)
			continue;
		uint64_t base = sl->stripe * sb;
		uint64_t x0 = base > off ? base : off, x1 = base + sb < end ? base + sb : end;
		/* sector by sector: reads are not 512-aligned in general */
		for (uint64_t x = x0; x < x1;) {
			uint32_t sec = (uint32_t)((x - base) / 512);
			uint64_t sec_end = base + (uint64_t)(sec + 1) * 512;
			uint64_t y = sec_end < x1 ? sec_end : x1;
			if (has(sl, sec))
				memcpy((uint8_t *)buf + (x - off), sl->buf + (x - base),
				       (size_t)(y - x));
			x = y;
		}
	}
}

int md_wcache_read(struct md_wcache *wc, uint64_t off, void *buf, size_t len, struct ok_err *e)
{
	int rc = md_array_read(wc->a, off, buf, len, e);
	if (rc == 0)
		lay_held(wc, off, buf, len);
	return rc;
}

int md_wcache_read_shared(const struct md_wcache *wc, uint64_t off, void *buf, size_t len,
			  struct ok_err *e)
{
	int rc = md_array_read_shared(wc->a, off, buf, len, e);
	if (rc == 0)
		lay_held(wc, off, buf, len);
	return rc;
}

/* ---- flush ---- */

int md_wcache_flush(struct md_wcache *wc, struct ok_err *e)
{
	int rc = write_back_range(wc, 0, NO_STRIPE, e);
	if (rc == 0 && wc->err < 0) {
		rc = wc->err;
		if (e)
			*e = wc->err_e;
	}
	wc->err = 0;
	return rc;
}
