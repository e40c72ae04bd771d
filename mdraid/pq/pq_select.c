/*
 * pq_select.c: which implementation runs, and the public entry points that
 * call it.
 *
 * As the kernel's lib/raid6/algos.c: pq_algos[] lists every implementation,
 * NULL-ended; on first use we skip those whose valid() fails, time gen() on a
 * cache-resident stripe (6 data blocks of 4 KiB, the kernel's benchmark
 * shape), and keep the fastest. Equal times go to the higher priority.
 * MDRAID_PQ=<name> overrides the timing when it names a valid implementation.
 * The choice is copied into pq_cur with missing optional ops taken from
 * pq_ref_ops, so the entry points call through without NULL checks.
 *
 * The library never prints; pq_impl_name() tells the caller what was chosen.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pq_int.h"

const struct pq_ops *const pq_algos[] = {
#if defined(__x86_64__) || defined(__i386__)
    &pq_gfni512_ops, &pq_gfni256_ops,
    &pq_avx512_ops,  &pq_avx2_ops,
    &pq_ssse3_ops,
#endif
    &pq_ref_ops,     NULL,
};

static struct pq_ops pq_cur;
static pthread_once_t pq_once = PTHREAD_ONCE_INIT;

/* Copy ops into pq_cur, filling the optional entries from the reference. */
static void pq_install(const struct pq_ops *ops)
{
	struct pq_ops o = *ops;
	if (!o.update)
		o.update = pq_ref_ops.update;
	if (!o.recov_2data)
		o.recov_2data = pq_ref_ops.recov_2data;
	if (!o.recov_datap)
		o.recov_datap = pq_ref_ops.recov_datap;
	pq_cur = o;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Best-of-5 time of 16 gen() calls on 6 x 4 KiB. The minimum, not the mean,
 * so that an interrupt or a frequency step does not decide the choice; a
 * few hundred microseconds in all for the whole table.
 */
static uint64_t time_gen(const struct pq_ops *ops, void **data, void *p, void *q)
{
	uint64_t best = UINT64_MAX;
	ops->gen(6, 4096, data, p, q); /* warm caches and the vector unit */
	for (int r = 0; r < 5; r++) {
		uint64_t t0 = now_ns();
		for (int i = 0; i < 16; i++)
			ops->gen(6, 4096, data, p, q);
		uint64_t t = now_ns() - t0;
		if (t < best)
			best = t;
	}
	return best;
}

static void pq_choose(void)
{
	const char *want = getenv("MDRAID_PQ");
	const struct pq_ops *best = NULL;
	if (want) {
		for (int i = 0; pq_algos[i]; i++)
			if (!strcmp(pq_algos[i]->name, want) && pq_algos[i]->valid())
				best = pq_algos[i];
	}
	uint8_t *buf = best ? NULL : aligned_alloc(PQ_ALIGN, 8 * 4096);
	if (buf) {
		void *data[6];
		for (int j = 0; j < 6; j++) {
			data[j] = buf + (size_t)j * 4096;
			for (int k = 0; k < 4096; k++)
				buf[(size_t)j * 4096 + k] = (uint8_t)(k * 7 + j * 131 + 1);
		}
		uint64_t best_t = UINT64_MAX;
		for (int i = 0; pq_algos[i]; i++) {
			const struct pq_ops *o = pq_algos[i];
			if (!o->valid())
				continue;
			uint64_t t = time_gen(o, data, buf + 6 * 4096, buf + 7 * 4096);
			if (!best || t < best_t || (t == best_t && o->priority > best->priority)) {
				best = o;
				best_t = t;
			}
		}
		free(buf);
	}
	if (!best) /* no memory to time: take the highest priority */
		for (int i = 0; pq_algos[i]; i++)
			if (pq_algos[i]->valid() &&
			    (!best || pq_algos[i]->priority > best->priority))
				best = pq_algos[i];
	pq_install(best);
}

const struct pq_ops *pq_ops_current(void)
{
	pthread_once(&pq_once, pq_choose);
	return &pq_cur;
}

void pq_ops_force(const struct pq_ops *ops)
{
	pthread_once(&pq_once, pq_choose);
	if (ops)
		pq_install(ops);
	else
		pq_choose();
}

/* ---- public entry points (pq.h) ---- */

void pq_gen(int nd, size_t len, void **data, void *p, void *q)
{
	pq_ops_current()->gen(nd, len, data, p, q);
}

void pq_xor(int nd, size_t len, void **data, void *p)
{
	pq_ops_current()->xor (nd, len, data, p);
}

void pq_update(int slot, size_t len, const void *delta, void *p, void *q)
{
	pq_ops_current()->update(slot, len, delta, p, q);
}

const char *pq_impl_name(void)
{
	return pq_ops_current()->name;
}
