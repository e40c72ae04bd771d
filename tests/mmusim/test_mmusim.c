/*
 * test_mmusim.c: unit tests of mmusim's mechanisms against hand-derived
 * values (no peer can count TLB misses on this VM; see issue 9 "Validation").
 *
 *  - walk lengths: a cold walk with no caches is (n+1)(m+1)-1 references in
 *    nested mode (24 for 4/4, 35 for 5/5, 29 for 4/5, 19 with 2M pages on
 *    either side, 15 with both, 14 with host 1G, 8 with both 1G); native and
 *    shadow walks are n (4 or 5), fewer with large pages
 *  - the logged 24 steps are real entries: guest entries sit at the offset
 *    the VA selects, nested walks all start at the same host root entry
 *  - the neighbouring page's 2D walk: 8 references, 3 served by the PWC
 *  - TLB patterns: fit-in-L1, LRU thrash by one page, set conflicts in L2;
 *    what the repeat fast path must not count as a repeat
 *  - shadow costs: guest #PF, hidden fault, PT-write exits with and without
 *    unsync; exit-cost linearity; untagged flushes; CR3 root cache
 *  - readers: lackey lines, banner lines, errors with line numbers,
 *    binary round trip, synthetic determinism
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mmusim.h"

#define BASE 0x555500000000ull

/* A config: preset, then "key=value" overrides (NULL-terminated). */
static struct mm_config cfg(const char *preset, ...)
{
	struct mm_config c;
	struct ok_err e;
	assert_int_equal(mm_config_preset(&c, preset, &e), 0);
	va_list ap;
	va_start(ap, preset);
	for (const char *kv; (kv = va_arg(ap, const char *));)
		assert_int_equal(mm_config_set(&c, kv, NULL, &e), 0);
	va_end(ap);
	return c;
}

static struct mm_rec ld(uint64_t a)
{
	return (struct mm_rec){.addr = a, .size = 8, .op = MM_LOAD};
}

static struct mm_rec ev(enum mm_op op, uint32_t pid, uint64_t a)
{
	return (struct mm_rec){.addr = a, .pid = pid, .op = (uint8_t)op};
}

static struct mm_sim *run(const struct mm_config *c, unsigned modes, const struct mm_rec *r,
			  size_t n)
{
	struct mm_sim *s;
	struct ok_err e;
	ok_err_clear(&e);
	assert_int_equal(mm_sim_new(&s, c, modes, 1, &e), 0);
	int rc = mm_sim_feed(s, r, n, &e);
	if (rc)
		fprintf(stderr, "feed: %s\n", e.msg);
	assert_int_equal(rc, 0);
	return s;
}

static uint64_t refs(const struct mm_stats *st)
{
	return st->guest_refs + st->nested_refs;
}

/* ------------------------------------------------------------ walk lengths */

static uint64_t cold_walk(const char *lv, const char *hlv, const char *gp, const char *hp,
			  enum mm_mode m)
{
	struct mm_config c = cfg("barcelona", "pwc=none", "ntlb_entries=0", lv, hlv, gp, hp,
				 "guest_mem=4G", "host_mem=8G", NULL);
	struct mm_rec r = ld(BASE + 0x1234);
	struct mm_sim *s = run(&c, 1u << m, &r, 1);
	const struct mm_stats *st = mm_sim_stats(s, m);
	assert_int_equal(st->walks, 1);
	uint64_t n = refs(st);
	mm_sim_free(s);
	return n;
}

static void test_cold_2d(void **state)
{
	(void)state;
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=4K", "host_page=4K", MM_NESTED), 24);
	assert_int_equal(
	    cold_walk("levels=5", "host_levels=5", "guest_page=4K", "host_page=4K", MM_NESTED), 35);
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=5", "guest_page=4K", "host_page=4K", MM_NESTED), 29);
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=2M", "host_page=4K", MM_NESTED), 19);
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=4K", "host_page=2M", MM_NESTED), 19);
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=2M", "host_page=2M", MM_NESTED), 15);
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=4K", "host_page=1G", MM_NESTED), 14);
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=1G", "host_page=1G", MM_NESTED), 8);
}

static void test_cold_1d(void **state)
{
	(void)state;
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=4K", "host_page=4K", MM_NATIVE), 4);
	assert_int_equal(
	    cold_walk("levels=5", "host_levels=4", "guest_page=4K", "host_page=4K", MM_NATIVE), 5);
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=2M", "host_page=4K", MM_NATIVE), 3);
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=1G", "host_page=4K", MM_NATIVE), 2);
	/* a shadow TLB miss walks the shadow table natively: 4, and min(guest, host) pages */
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=4K", "host_page=4K", MM_SHADOW), 4);
	assert_int_equal(
	    cold_walk("levels=5", "host_levels=5", "guest_page=4K", "host_page=4K", MM_SHADOW), 5);
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=2M", "host_page=4K", MM_SHADOW), 4);
	assert_int_equal(
	    cold_walk("levels=4", "host_levels=4", "guest_page=2M", "host_page=2M", MM_SHADOW), 3);
}

/* Logged steps of the cold walk and of the neighbour's walk. */
static struct mm_step logged[2][64];
static unsigned nlogged[2], nwalks;

static void grab(void *ctx, enum mm_mode m, uint64_t va, const struct mm_step *s, unsigned n)
{
	(void)ctx;
	(void)m;
	(void)va;
	if (nwalks < 2) {
		memcpy(logged[nwalks], s, n * sizeof(*s));
		nlogged[nwalks] = n;
	}
	nwalks++;
}

static void test_two_page_2d(void **state)
{
	(void)state;
	/* barcelona: PA-tagged PWC for guest upper levels, 16-entry NTLB; no data caches */
	struct mm_config c = cfg("barcelona", "dc1_kib=0", "dc2_kib=0", NULL);
	uint64_t va = BASE + 0x7000;
	struct mm_rec r[2] = {ld(va), ld(va + 4096)};
	struct mm_sim *s;
	struct ok_err e;
	assert_int_equal(mm_sim_new(&s, &c, 1u << MM_NESTED, 1, &e), 0);
	nwalks = 0;
	mm_sim_log(s, grab, NULL, 1, 0);
	assert_int_equal(mm_sim_feed(s, r, 2, &e), 0);
	const struct mm_stats *st = mm_sim_stats(s, MM_NESTED);
	assert_int_equal(nwalks, 2);
	assert_int_equal(nlogged[0], 24);
	/* neighbour: table pages hit the NTLB (0 nested refs for rows gL4..gL1), gL4..gL2
	 * entries hit the PWC, the guest PTE is read, the new data gPA costs a 4-ref
	 * nested walk: 4 guest + 4 nested = 8 references, 3 PWC hits */
	assert_int_equal(nlogged[1], 8);
	assert_int_equal(st->guest_refs, 4 + 4);
	assert_int_equal(st->nested_refs, 20 + 4);
	assert_int_equal(st->pwc_hits, 3);
	assert_int_equal(st->ntlb_hits, 4);
	assert_int_equal(st->ntlb_lookups, 5 + 5);
	/* the 24 logged references are real entries */
	uint64_t host_root = logged[0][0].pa >> 12;
	unsigned guest = 0, nested = 0;
	for (unsigned i = 0; i < 24; i++) {
		const struct mm_step *t = &logged[0][i];
		/* nested walks of gPAs below 512 GiB all read entry 0 of the host root */
		if (t->dim == 'n' && t->level == 4)
			assert_int_equal(t->pa, logged[0][0].pa);
		assert_int_equal(t->pa & 7, 0);
		if (t->dim == 'g') {
			guest++;
			unsigned idx = (unsigned)(va >> (12 + 9 * (t->level - 1))) & 511;
			assert_int_equal(t->pa & 0xfff, idx * 8); /* the entry the VA selects */
			assert_int_equal(t->col, 4);
			assert_int_equal(t->row, 4 - t->level);
		} else {
			nested++;
			if (t->level == 4)
				assert_int_equal(t->pa >> 12,
						 host_root); /* every nested walk starts at nCR3 */
			assert_int_equal(t->col, 4 - t->level);
		}
	}
	assert_int_equal(guest, 4);
	assert_int_equal(nested, 20);
	/* the step order is the grid order: row by row, nL4..nL1 then the guest entry */
	for (unsigned i = 0; i < 24; i++)
		assert_int_equal(logged[0][i].row * 5 + logged[0][i].col, i);
	/* the neighbour's guest PTE is the next entry of the same page table */
	assert_int_equal(logged[1][3].pa, logged[0][19].pa + 8);
	mm_sim_free(s);
}

static void test_pwc_va_and_2d(void **state)
{
	(void)state;
	uint64_t va = BASE + 0x7000;
	struct mm_rec r[2] = {ld(va), ld(va + 4096)};
	/* Intel-style PSC, native: the neighbour hits the PDE cache (prefix va>>21) and
	 * reads only its PTE: 4 + 1 references, 3 levels skipped */
	struct mm_config c = cfg("nehalem", NULL);
	struct mm_sim *s = run(&c, 1u << MM_NATIVE, r, 2);
	const struct mm_stats *st = mm_sim_stats(s, MM_NATIVE);
	assert_int_equal(st->walks, 2);
	assert_int_equal(st->guest_refs, 4 + 1);
	assert_int_equal(st->psc_skipped, 3);
	mm_sim_free(s);
	/* nested with PSC: the guest rows gL4..gL2 are skipped (3 rows x 5 cells); the
	 * guest PTE is read; the PT page's gPA hits the NTLB; the data gPA's nested
	 * walk skips at least nL4 through the nested PSC */
	s = run(&c, 1u << MM_NESTED, r, 2);
	st = mm_sim_stats(s, MM_NESTED);
	assert_int_equal(st->guest_refs, 4 + 1);
	struct mm_sim *s1 = run(&c, 1u << MM_NESTED, r, 1);
	uint64_t cold = mm_sim_stats(s1, MM_NESTED)->nested_refs;
	mm_sim_free(s1);
	assert_true(cold <= 20); /* the PSC already helps inside the cold walk */
	assert_true(st->nested_refs - cold >= 1 && st->nested_refs - cold <= 3);
	for (int row = 0; row < 3; row++) /* guest entries of gL4..gL2 skipped once */
		assert_int_equal(st->grid_skip[row][4], 1);
	mm_sim_free(s);
	/* 2D PWC (Bhargava): nested entries are cached too. With all gPAs below 1 GiB
	 * the data gPA's nL4 and nL3 entries are the ones the cold walk read: the
	 * neighbour gets 3 guest + at least 2 nested PWC hits; a 'pa' PWC only 3 */
	c = cfg("barcelona", "pwc=2d", "guest_mem=1G", NULL);
	s = run(&c, 1u << MM_NESTED, r, 2);
	st = mm_sim_stats(s, MM_NESTED);
	uint64_t cold_hits = 0;
	{
		struct mm_sim *s1 = run(&c, 1u << MM_NESTED, r, 1);
		cold_hits = mm_sim_stats(s1, MM_NESTED)->pwc_hits;
		mm_sim_free(s1);
	}
	assert_true(st->pwc_hits - cold_hits >= 3 + 2);
	assert_true(st->pwc_hits - cold_hits <= 3 + 3);
	mm_sim_free(s);
}

/* ------------------------------------------------------------ TLB patterns */

static void test_tlb_fits_l1(void **state)
{
	(void)state;
	/* 40 pages x 512 sequential 8-byte loads, twice: 48-entry FA L1 holds all 40 */
	struct mm_config c = cfg("barcelona", NULL);
	size_t n = 2 * 40 * 512;
	struct mm_rec *r = calloc(n, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = ld(BASE + (i % (40 * 512)) * 8);
	struct mm_sim *s = run(&c, 7, r, n);
	for (int m = 0; m <= MM_NESTED; m++) {
		const struct mm_stats *st = mm_sim_stats(s, (enum mm_mode)m);
		assert_int_equal(st->accesses, n);
		assert_int_equal(st->l1_misses, 40);
		assert_int_equal(st->l1_hits, n - 40);
		assert_int_equal(st->l2_misses, 40);
	}
	mm_sim_free(s);
	free(r);
}

/* The repeat fast path must not take what only looks like a repeat: the very
 * first access (no last page yet) at page 0, an access crossing into the next
 * page, and a size-0 access at a page start (its last byte is the page before). */
static void test_fast_path_edges(void **state)
{
	(void)state;
	struct mm_config c = cfg("barcelona", NULL);
	struct mm_rec r[] = {
	    ld(0x10),					 /* page 0: cold, a walk */
	    ld(0x18),					 /* a repeat: L1 hit */
	    {.addr = 0xff8, .size = 16, .op = MM_LOAD},	 /* page 0 hit, page 1 walk */
	    {.addr = 0x2000, .size = 0, .op = MM_STORE}, /* page 2 walk, page 1 hit */
	};
	struct mm_sim *s = run(&c, 7, r, 4);
	for (int m = 0; m <= MM_NESTED; m++) {
		const struct mm_stats *st = mm_sim_stats(s, (enum mm_mode)m);
		assert_int_equal(st->accesses, 6);
		assert_int_equal(st->l1_hits, 3);
		assert_int_equal(st->l1_misses, 3);
		assert_int_equal(st->walks, 3);
	}
	mm_sim_free(s);
}

static void test_tlb_lru_thrash(void **state)
{
	(void)state;
	/* 49 pages cycled 3 times through a 48-entry LRU L1: every access misses L1;
	 * the 512-entry 4-way L2 (128 sets) holds 49 consecutive pages: 49 walks */
	struct mm_config c = cfg("barcelona", NULL);
	struct mm_rec r[147];
	for (int i = 0; i < 147; i++)
		r[i] = ld(BASE + (uint64_t)(i % 49) * 4096);
	struct mm_sim *s = run(&c, 1, r, 147);
	const struct mm_stats *st = mm_sim_stats(s, MM_NATIVE);
	assert_int_equal(st->l1_hits, 0);
	assert_int_equal(st->l1_misses, 147);
	assert_int_equal(st->l2_hits, 98);
	assert_int_equal(st->l2_misses, 49);
	assert_int_equal(st->walks, 49);
	mm_sim_free(s);
}

static void test_tlb_set_conflict(void **state)
{
	(void)state;
	/* L1 of one entry; pages 128 apart share one of the L2's 128 sets (4 ways):
	 * 4 such pages fit (walks only on the first lap), 5 thrash (every access walks) */
	struct mm_config c = cfg("barcelona", "l1d_entries=1", NULL);
	struct mm_rec r[50];
	for (int k = 4; k <= 5; k++) {
		for (int i = 0; i < 50; i++)
			r[i] = ld(BASE + (uint64_t)(i % k) * 128 * 4096);
		struct mm_sim *s = run(&c, 1, r, 50);
		const struct mm_stats *st = mm_sim_stats(s, MM_NATIVE);
		assert_int_equal(st->l1_misses, 50);
		assert_int_equal(st->walks, k == 4 ? 4 : 50);
		mm_sim_free(s);
	}
}

/* ------------------------------------------------------------ shadow */

static void test_shadow_first_touch(void **state)
{
	(void)state;
	/* Three pages in one fresh 2M region. Page 1: guest #PF exit; the guest writes
	 * PML4E, PDPTE, PDE (new tables) and the PTE: none of those tables is
	 * shadowed yet (the root is, once a hidden fault walked it: not yet), so no
	 * PT-write exit; then a hidden fault fills the shadow. Page 2: #PF exit; its
	 * PTE write goes to the now write-protected page table: one PT-write exit
	 * (unsync off), then a hidden fault. Page 3 likewise. */
	struct mm_config c = cfg("barcelona", "unsync=0", NULL);
	struct mm_rec r[3] = {ld(BASE), ld(BASE + 4096), ld(BASE + 8192)};
	struct mm_sim *s = run(&c, 1u << MM_SHADOW, r, 3);
	const struct mm_stats *st = mm_sim_stats(s, MM_SHADOW);
	assert_int_equal(st->exits[MM_EXIT_GUESTPF], 3);
	assert_int_equal(st->exits[MM_EXIT_HIDDEN], 3);
	assert_int_equal(st->exits[MM_EXIT_PTWRITE], 2);
	assert_int_equal(st->pt_writes, 4 + 1 + 1);
	assert_int_equal(st->cyc_exit, 3 * (1000 + 1000) + 3 * (1000 + 2000) + 2 * (1000 + 2000));
	mm_sim_free(s);
	/* unsync on: the leaf table goes out of sync at the first write; later ones are free */
	c = cfg("barcelona", "unsync=1", NULL);
	struct mm_rec r2[5] = {ld(BASE), ld(BASE + 4096), ld(BASE + 8192), ld(BASE + 12288),
			       ld(BASE + 16384)};
	s = run(&c, 1u << MM_SHADOW, r2, 5);
	st = mm_sim_stats(s, MM_SHADOW);
	assert_int_equal(st->exits[MM_EXIT_PTWRITE], 1);
	assert_int_equal(st->exits[MM_EXIT_HIDDEN], 5);
	mm_sim_free(s);
	/* nested and native: no exits at all for the same trace */
	s = run(&c, 5, r2, 5);
	assert_int_equal(mm_stats_exits(mm_sim_stats(s, MM_NATIVE)), 0);
	assert_int_equal(mm_stats_exits(mm_sim_stats(s, MM_NESTED)), 0);
	assert_int_equal(mm_sim_stats(s, MM_NESTED)->guest_faults, 5);
	mm_sim_free(s);
}

static void test_shadow_events(void **state)
{
	(void)state;
	/* two processes; switches 1->2->1->2: the first CR3 load is at boot; then three
	 * CR3 exits: a new root for 2, cached roots afterwards */
	struct mm_config c = cfg("barcelona", NULL);
	struct mm_rec r[] = {ev(MM_SWITCH, 1, 0),    ld(BASE), ev(MM_SWITCH, 2, 0), ld(BASE),
			     ev(MM_SWITCH, 1, 0),    ld(BASE), ev(MM_SWITCH, 2, 0), ld(BASE),
			     ev(MM_INVLPG, 0, BASE), ld(BASE)};
	size_t n = sizeof(r) / sizeof(r[0]);
	struct mm_sim *s = run(&c, 7, r, n);
	const struct mm_stats *sh = mm_sim_stats(s, MM_SHADOW);
	assert_int_equal(sh->exits[MM_EXIT_CR3], 3);
	assert_int_equal(sh->exit_cycles[MM_EXIT_CR3], 3 * 1000 + 3000 + 2 * 1000);
	assert_int_equal(sh->exits[MM_EXIT_INVLPG], 1);
	/* hidden faults: the first touch in each process; the INVLPG of a page
	 * in a table in sync leaves its shadow entry (KVM's FNAME(invlpg) acts
	 * only on an unsync table: every write to a synced one trapped) */
	assert_int_equal(sh->exits[MM_EXIT_HIDDEN], 2);
	assert_int_equal(sh->exits[MM_EXIT_GUESTPF], 2);
	/* barcelona: no PCID, so native and nested flush on each of the 3 switches;
	 * shadow has an ASID per address space (Xen trick): no flush */
	assert_int_equal(mm_sim_stats(s, MM_NATIVE)->flushes[MM_FLUSH_CR3], 3);
	assert_int_equal(mm_sim_stats(s, MM_NESTED)->flushes[MM_FLUSH_CR3], 3);
	assert_int_equal(sh->flushes[MM_FLUSH_CR3], 0);
	/* after the flushes every access in native mode walks: 5 */
	assert_int_equal(mm_sim_stats(s, MM_NATIVE)->walks, 5);
	mm_sim_free(s);
	/* untagged (asids=0): every exit flushes everything */
	c = cfg("barcelona", "asids=0", NULL);
	s = run(&c, 1u << MM_SHADOW, r, n);
	sh = mm_sim_stats(s, MM_SHADOW);
	assert_int_equal(sh->flushes[MM_FLUSH_VMEXIT], mm_stats_exits(sh));
	mm_sim_free(s);
}

static void test_exit_cost_linear(void **state)
{
	(void)state;
	struct mm_synth_cfg y = {MM_SYN_MULTI, 20000, 1 << 20, 4, 500, 7, 1, 0, 0};
	struct mm_rec *r = calloc(30000, sizeof(*r));
	struct mm_reader *rd;
	struct ok_err e;
	assert_int_equal(mm_reader_open_synth(&rd, &y, &e), 0);
	ssize_t n = mm_reader_read(rd, r, 30000, &e);
	assert_true(n > 20000);
	mm_reader_close(rd);
	for (int asids = 0; asids <= 64; asids += 64) {
		char a[32];
		snprintf(a, sizeof(a), "asids=%d", asids);
		struct mm_config c1 = cfg("barcelona", a, "c_exit=1000", NULL);
		struct mm_config c2 = cfg("barcelona", a, "c_exit=1777", NULL);
		struct mm_sim *s1 = run(&c1, 7, r, (size_t)n), *s2 = run(&c2, 7, r, (size_t)n);
		const struct mm_stats *x1 = mm_sim_stats(s1, MM_SHADOW),
				      *x2 = mm_sim_stats(s2, MM_SHADOW);
		uint64_t exits = mm_stats_exits(x1);
		assert_true(exits > 0);
		assert_int_equal(exits, mm_stats_exits(x2));
		assert_int_equal(mm_stats_cycles(x2) - mm_stats_cycles(x1), exits * 777);
		/* break-even: at that exit cost the two modes' totals are equal */
		double be;
		assert_int_equal(mm_break_even(s1, &be), 0);
		double sh = (double)mm_stats_cycles(x1) + (be - 1000) * (double)exits;
		double ne = (double)mm_stats_cycles(mm_sim_stats(s1, MM_NESTED));
		assert_true(sh - ne < 1e-6 * ne && ne - sh < 1e-6 * ne);
		mm_sim_free(s1);
		mm_sim_free(s2);
	}
	free(r);
}

static void test_cycles_linear(void **state)
{
	(void)state;
	/* cycles are sums of cost x count: c_mem up by 10 adds 10 per memory reference */
	struct mm_config c1 = cfg("barcelona", NULL), c2 = cfg("barcelona", "c_mem=210", NULL);
	struct mm_rec r[300];
	for (int i = 0; i < 300; i++)
		r[i] = ld(BASE + (uint64_t)((i * 7919) % 300) * 4096 * 3);
	struct mm_sim *s1 = run(&c1, 7, r, 300), *s2 = run(&c2, 7, r, 300);
	for (int m = 0; m <= MM_NESTED; m++) {
		const struct mm_stats *a = mm_sim_stats(s1, (enum mm_mode)m),
				      *b = mm_sim_stats(s2, (enum mm_mode)m);
		assert_int_equal(mm_stats_cycles(b) - mm_stats_cycles(a), 10 * a->at[MM_AT_MEM]);
		assert_int_equal(a->guest_refs + a->nested_refs,
				 a->at[0] + a->at[1] + a->at[2] + a->at[3] + a->at[4]);
		/* data references: the same rule, apart from translation cycles */
		assert_int_equal(b->cyc_data - a->cyc_data, 10 * a->data_at[MM_AT_MEM]);
		assert_int_equal(a->data_refs, 300);
	}
	/* nested walks cost more references than native ones */
	assert_true(mm_sim_stats(s1, MM_NESTED)->nested_refs > 0);
	assert_true(refs(mm_sim_stats(s1, MM_NESTED)) > refs(mm_sim_stats(s1, MM_NATIVE)));
	mm_sim_free(s1);
	mm_sim_free(s2);
}

/* ------------------------------------------------------------ readers */

static ssize_t read_all(const char *text, enum mm_fmt f, struct mm_rec *r, size_t max,
			struct ok_err *e, uint64_t *banner)
{
	struct mm_reader *rd;
	int rc = mm_reader_open_mem(&rd, text, strlen(text), f, "t.lk", e);
	if (rc < 0)
		return rc;
	ssize_t n, tot = 0;
	while ((n = mm_reader_read(rd, r + tot, max - (size_t)tot, e)) > 0)
		tot += n;
	uint64_t lines;
	mm_reader_counts(rd, &lines, banner);
	mm_reader_close(rd);
	return n < 0 ? n : tot;
}

static void test_lackey_lines(void **state)
{
	(void)state;
	const char *t = "==123== Lackey, an example Valgrind tool\n"
			"I  0023C790,2\n"
			" L BE801950,4\n"
			" S be80199c,8\r\n"
			" M 0025747C,1\n"
			"\n"
			"E switch 7\n"
			"E unmap 0x1000 8192\n"
			"==123== \n"
			"I  04000000,16\n"
			"E vm 15\n"
			"E age 555500000000 0x2000";
	struct mm_rec r[16];
	struct ok_err e;
	uint64_t banner;
	assert_int_equal(read_all(t, MM_FMT_AUTO, r, 16, &e, &banner), 9);
	assert_int_equal(banner, 2);
	assert_int_equal(r[0].op, MM_IFETCH);
	assert_int_equal(r[0].addr, 0x23C790);
	assert_int_equal(r[0].size, 2);
	assert_int_equal(r[1].op, MM_LOAD);
	assert_int_equal(r[2].op, MM_STORE);
	assert_int_equal(r[2].addr, 0xbe80199c);
	assert_int_equal(r[3].op, MM_MODIFY);
	assert_int_equal(r[4].op, MM_SWITCH);
	assert_int_equal(r[4].pid, 7);
	assert_int_equal(r[5].op, MM_UNMAP);
	assert_int_equal(r[5].len, 8192);
	assert_int_equal(r[6].size, 16);
	assert_int_equal(r[7].op, MM_VM);
	assert_int_equal(r[7].pid, 15);
	assert_int_equal(r[8].op, MM_AGE);
	assert_int_equal(r[8].addr, 0x555500000000ull);
	assert_int_equal(r[8].len, 0x2000);
}

static void test_lackey_errors(void **state)
{
	(void)state;
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"I  0023C790,2\nX 12,4\n", "t.lk:2: expected a lackey line"},
	    {" L zz,4\n", "t.lk:1: expected a hex address"},
	    {" L 1234\n", "t.lk:1: expected ','"},
	    {" L 1234,0\n", "t.lk:1: expected a decimal size"},
	    {" L 1234,4 junk\n", "t.lk:1: expected end of line"},
	    {"\n\nE frobnicate 1\n", "t.lk:3: expected an event name"},
	    {"E unmap 0x1000\n", "t.lk:1: expected a length"},
	    {"E vm 16\n", "t.lk:1: expected a VM id 0..15 after 'E vm'"},
	    {" L 10,8\nE age 0x1000\n", "t.lk:2: expected a length after 'E age ADDR'"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mm_rec r[4];
		struct ok_err e;
		char buf[1024];
		uint64_t banner;
		ok_err_clear(&e);
		assert_int_equal(read_all(bad[i].text, MM_FMT_LACKEY, r, 4, &e, &banner), -EINVAL);
		ok_err_format(&e, buf, sizeof(buf));
		if (strncmp(buf, bad[i].msg, strlen(bad[i].msg)))
			fail_msg("case %zu: got '%s', expected '%s...'", i, buf, bad[i].msg);
	}
}

/*
 * perf script lines (the fields perf script -F pid,tid,event,addr
 * --show-task-events prints, as in a run recorded here with perf 6.1, and
 * the longer default-style prefix comm, pid, cpu, time, period; perf mem's
 * data_src), by hand: a fault sample of a new pid is a switch then a fault;
 * a kernel address or 0 is skipped; a fork of a process from another pid
 * than the last is a switch to the parent, then the fork; a thread's fork
 * or exit is nothing; exec and exit are records. Read one record at a time
 * too (the second record of a line waits for the next call).
 */
static void test_perf_lines(void **state)
{
	(void)state;
	const char *t =
	    "# perf script header\n"
	    " 4045/4045  page-faults:     5570a0fff240\n"
	    " 4045/4045  page-faults:     ffffffff8177d51a\n"
	    " 4045/4045  page-faults:                0\n"
	    "    0/0     PERF_RECORD_COMM: perf-exec:4045/4045\n"
	    " 4045/4045  PERF_RECORD_FORK(4064:4064):(4045:4045)\n"
	    " 4064/4064  PERF_RECORD_COMM exec: true:4064/4064\n"
	    " 4064/4064  PERF_RECORD_FORK(4064:4070):(4064:4064)\n"
	    "  ls 4064 [001] 48054.224405:          1 page-faults:  7f4f2f79db70 _start\n"
	    " 4064/4064  PERF_RECORD_EXIT(4064:4064):(4045:4045)\n"
	    "  a.out  77/77 cpu/mem-stores/P:     7ffd90c13950  |OP STORE|LVL L1 hit\n"
	    "  a.out  77/77 cpu/mem-loads,ldlat=30/P:     7ffd90c13958  |OP LOAD|LVL L1 hit\n"
	    "  a.out  77/77 ibs_op//:     7ffd90c13960  |OP STORE|LVL L1 hit\n";
	struct mm_rec r[16];
	struct ok_err e;
	uint64_t banner;
	static const struct {
		uint8_t op;
		uint32_t pid;
		uint64_t addr;
	} want[] = {{MM_SWITCH, 4045, 0},
		    {MM_FAULT, 0, 0x5570a0fff240},
		    {MM_FORK, 4064, 0},
		    {MM_EXEC, 4064, 0},
		    {MM_FAULT, 0, 0x7f4f2f79db70},
		    {MM_EXIT, 4064, 0},
		    {MM_SWITCH, 77, 0},
		    {MM_STORE, 0, 0x7ffd90c13950},
		    {MM_LOAD, 0, 0x7ffd90c13958},
		    {MM_STORE, 0, 0x7ffd90c13960}};
	size_t nw = sizeof(want) / sizeof(want[0]);
	for (int one = 0; one < 2; one++) {
		struct mm_reader *rd;
		assert_int_equal(mm_reader_open_mem(&rd, t, strlen(t), MM_FMT_PERF, "t.perf", &e),
				 0);
		ssize_t n, tot = 0;
		while ((n = mm_reader_read(rd, r + tot, one ? 1 : 16 - (size_t)tot, &e)) > 0)
			tot += n;
		uint64_t lines;
		mm_reader_counts(rd, &lines, &banner);
		mm_reader_close(rd);
		assert_int_equal(n, 0);
		assert_int_equal(tot, nw);
		assert_int_equal(banner,
				 4); /* the comment, 2 samples without a user address, COMM */
		for (size_t i = 0; i < nw; i++) {
			assert_int_equal(r[i].op, want[i].op);
			assert_int_equal(r[i].pid, want[i].pid);
			assert_int_equal(r[i].addr, want[i].addr);
		}
	}
	static const struct {
		const char *text, *msg;
	} bad[] = {
	    {"# c\n 12/12 page-faults: zz\n", "t.lk:2: expected a hex data address"},
	    {"page-faults: 1000\n", "t.lk:1: expected the pid before the event name"},
	    {" 12/12 nothing here\n", "t.lk:1: expected a perf script sample"},
	    {" 1/1 PERF_RECORD_FORK(3:3)(1:1)\n", "t.lk:1: expected PERF_RECORD_FORK(PID:TID)"},
	    {" 1/1 PERF_RECORD_COMM exec: sh\n", "t.lk:1: expected PERF_RECORD_COMM exec: NAME"},
	    {" 99999999999 page-faults: 1000\n", "t.lk:1: expected a pid below 2^32"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[1024];
		ok_err_clear(&e);
		assert_int_equal(read_all(bad[i].text, MM_FMT_PERF, r, 16, &e, &banner), -EINVAL);
		ok_err_format(&e, buf, sizeof(buf));
		if (strncmp(buf, bad[i].msg, strlen(bad[i].msg)))
			fail_msg("case %zu: got '%s', expected '%s...'", i, buf, bad[i].msg);
	}
}

/* drmemtrace view lines that are not records, and malformed ones (the
 * records themselves: tests/mmusim/data/drmemtrace-view.txt, test_formats.sh). */
static void test_drmem_lines(void **state)
{
	(void)state;
	const char *t = "           1           0:     2765542 <marker: version 5>\n"
			"           9           3:     W0.T12 write        8 byte(s) @ "
			"0x00007ffd90c13950 by PC 0x000000000040257d\n"
			"          10           3:     12 pref-w       8 byte(s) @ "
			"0x00007ffd90c13950 by PC 0x000000000040257d\n"
			"          11           4:     12 ifetch       3 byte(s) @ "
			"0x0000000000402581 89 7d fc  mov\n";
	struct mm_rec r[8];
	struct ok_err e;
	uint64_t banner;
	assert_int_equal(read_all(t, MM_FMT_DRMEM, r, 8, &e, &banner), 2);
	assert_int_equal(banner, 2);
	assert_int_equal(r[0].op, MM_STORE);
	assert_int_equal(r[0].size, 8);
	assert_int_equal(r[0].addr, 0x7ffd90c13950ull);
	assert_int_equal(r[1].op, MM_IFETCH);
	assert_int_equal(r[1].size, 3);
	static const char *const bad[] = {
	    "  1  0:  12 read  8 byte(s) @ zz by PC 0x1\n",
	    "  1  0   12 read  8 byte(s) @ 0x10 by PC 0x1\n",
	    "  1  0:  12 read  8 bytes @ 0x10 by PC 0x1\n",
	    "  x  0:  12 read  8 byte(s) @ 0x10 by PC 0x1\n",
	    "<...>\n",
	    "  1  0:  12 read  0 byte(s) @ 0x10 by PC 0x1\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char buf[1024];
		ok_err_clear(&e);
		assert_int_equal(read_all(bad[i], MM_FMT_DRMEM, r, 8, &e, &banner), -EINVAL);
		ok_err_format(&e, buf, sizeof(buf));
		if (strncmp(buf, "t.lk:1: expected ", 17))
			fail_msg("case %zu: got '%s'", i, buf);
	}
}

static void test_binary_roundtrip(void **state)
{
	(void)state;
	/* two VMs: VM switch records too; fork churn: fork and exec */
	struct mm_synth_cfg y = {MM_SYN_FORK, 5000, 1 << 20, 1, 300, 3, 2, 700, 0};
	struct mm_reader *rd;
	struct ok_err e;
	static struct mm_rec a[8000], b[8000];
	assert_int_equal(mm_reader_open_synth(&rd, &y, &e), 0);
	ssize_t n = mm_reader_read(rd, a, 8000, &e);
	mm_reader_close(rd);
	assert_true(n > 5000);
	a[0] = (struct mm_rec){.addr = 0xfff0, .size = 300, .op = MM_IFETCH}; /* size > 14 */
	a[1] = (struct mm_rec){.op = MM_FLUSH}; /* and fork, exec from the workload */
	a[2] = (struct mm_rec){.addr = BASE, .len = 8192, .op = MM_AGE}; /* op 16: tag 0x1f */
	char path[] = "/tmp/mmusim-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	struct mm_writer *w;
	assert_int_equal(mm_writer_open(&w, path, &e), 0);
	assert_int_equal(mm_writer_put(w, a, (size_t)n, &e), 0);
	assert_int_equal(mm_writer_close(w, &e), 0);
	assert_int_equal(mm_reader_open(&rd, path, MM_FMT_AUTO, &e), 0);
	assert_int_equal(mm_reader_format(rd), MM_FMT_BIN);
	ssize_t m = 0, k;
	while ((k = mm_reader_read(rd, b + m, 8000 - (size_t)m, &e)) > 0)
		m += k;
	assert_int_equal(k, 0);
	assert_int_equal(m, n);
	assert_memory_equal(a, b, (size_t)n * sizeof(*a));
	mm_reader_close(rd);
	/* a truncated file: an error at the offset of the cut record */
	assert_int_equal(truncate(path, 40), 0);
	assert_int_equal(mm_reader_open(&rd, path, MM_FMT_AUTO, &e), 0);
	while ((k = mm_reader_read(rd, b, 8000, &e)) > 0)
		;
	assert_int_equal(k, -EINVAL);
	assert_true(e.offset >= 16 && e.offset < 40);
	mm_reader_close(rd);
	unlink(path);
}

static void test_synth_seeded(void **state)
{
	(void)state;
	for (int k = 0; k < MM_SYN_N; k++) {
		struct mm_synth_cfg y = {(enum mm_synth)k, 3000, 1 << 20, 3, 0, 42, 1, 0, 0};
		static struct mm_rec a[4000], b[4000];
		struct mm_reader *rd;
		struct ok_err e;
		ssize_t n[2];
		for (int i = 0; i < 2; i++) {
			assert_int_equal(mm_reader_open_synth(&rd, &y, &e), 0);
			n[i] = mm_reader_read(rd, i ? b : a, 4000, &e);
			mm_reader_close(rd);
		}
		assert_int_equal(n[0], n[1]);
		assert_memory_equal(a, b, (size_t)n[0] * sizeof(*a));
		uint64_t acc = 0;
		for (ssize_t i = 0; i < n[0]; i++)
			acc += a[i].op <= MM_MODIFY;
		assert_int_equal(acc, 3000);
	}
}

static void test_config(void **state)
{
	(void)state;
	struct mm_config c;
	struct ok_err e;
	char buf[512];
	assert_int_equal(mm_config_preset(&c, "pentium", &e), -EINVAL);
	ok_err_format(&e, buf, sizeof(buf));
	assert_non_null(strstr(buf, "barcelona, nehalem, modern"));
	assert_int_equal(mm_config_preset(&c, "nehalem", &e), 0);
	assert_int_equal(mm_config_set(&c, "levels=6", NULL, &e), -EINVAL);
	assert_int_equal(mm_config_set(&c, "host_page", "3M", &e), -EINVAL);
	assert_int_equal(mm_config_set(&c, "pwc=2d", NULL, &e), 0);
	assert_int_equal(c.pwc, MM_PWC_2D);
	char path[] = "/tmp/mmusim-cfg-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "# test\nlevels = 5\n\nl2_entries = abc\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(mm_config_file(&c, path, &e), -EINVAL);
	assert_int_equal(e.line, 4);
	assert_int_equal(c.levels, 5);
	unlink(path);
	assert_int_equal(mm_config_set(&c, "l2_ways=3", NULL, &e), 0);
	assert_int_equal(mm_config_check(&c, &e), -EINVAL);
	/* 32-bit cache tags: a 1 KiB 16-way L1D is one set; 64 GiB is 2^30 lines,
	 * which fit; 64 TiB is 2^40 lines, which need 2^40 / (2^32 - 1) + 1 = 257
	 * sets or more */
	assert_int_equal(mm_config_preset(&c, "barcelona", &e), 0);
	assert_int_equal(mm_config_set(&c, "dc1_kib=1", NULL, &e), 0);
	assert_int_equal(mm_config_set(&c, "dc1_ways=16", NULL, &e), 0);
	assert_int_equal(mm_config_check(&c, &e), 0);
	assert_int_equal(mm_config_set(&c, "host_mem=65536G", NULL, &e), 0);
	assert_int_equal(mm_config_check(&c, &e), -EINVAL);
	ok_err_format(&e, buf, sizeof(buf));
	assert_non_null(
	    strstr(buf, "dc1: 1 sets cannot tag 65536 GiB of memory; expected at least 257 sets"));
}

/* ------------------------------------------------ data through the caches */

/*
 * A cold walk whose page-table lines were evicted by data. L1D = 1 KiB,
 * 16-way: one set of 16 lines, LRU; no PWC, no nested TLB, no L2.
 * Page A (BASE): its walk reads 4 entries (PML4E, PDPTE, PDE, PTE: 4 lines,
 * all from memory), then its data line; 15 more lines of A follow (TLB hits,
 * 15 data misses). 4 + 16 = 20 lines have entered a 16-line cache, so the 4
 * page-table lines, the oldest, are gone. Page B (BASE + 4K) shares A's
 * PML4E, PDPTE and PDE, and its PTE sits next to A's in the same line: its
 * walk's 4 references all go to memory again (8 in all, none from L1D).
 * Without data references the same trace finds all 4 in L1D. With a 64 KiB
 * 16-way LLC (64 sets), nothing is evicted there (at most one data line and
 * 4 page-table lines per set), so B's 4 references are LLC hits.
 */
static void data_evict_run(const char *dref, const char *llc, enum mm_mode mode,
			   uint64_t want[MM_WHERE_N], uint64_t data[MM_WHERE_N])
{
	struct mm_config c = cfg("barcelona", "pwc=none", "ntlb_entries=0", "dc1_kib=1",
				 "dc1_ways=16", "dc2_kib=0", llc, dref, NULL);
	struct mm_rec r[17];
	for (int k = 0; k < 16; k++)
		r[k] = ld(BASE + 64u * (unsigned)k);
	r[16] = ld(BASE + 4096);
	struct mm_sim *s = run(&c, 1u << mode, r, 17);
	const struct mm_stats *st = mm_sim_stats(s, mode);
	assert_int_equal(st->walks, 2);
	for (int i = 0; i < MM_WHERE_N; i++) {
		assert_int_equal(st->at[i], want[i]);
		assert_int_equal(st->data_at[i], data[i]);
	}
	mm_sim_free(s);
}

static void test_data_evicts_walk(void **state)
{
	(void)state;
	for (enum mm_mode m = MM_NATIVE; m <= MM_SHADOW; m++) {
		/* where: pwc, l1d, l2, llc, mem */
		uint64_t evicted[] = {0, 0, 0, 0, 8}, data17[] = {0, 0, 0, 0, 17};
		data_evict_run("data_refs=1", "dc3_kib=0", m, evicted, data17);
		uint64_t kept[] = {0, 4, 0, 0, 4}, none[] = {0, 0, 0, 0, 0};
		data_evict_run("data_refs=0", "dc3_kib=0", m, kept, none);
		uint64_t llc[] = {0, 0, 0, 4, 4}, data_llc[] = {0, 0, 0, 0, 17};
		data_evict_run("data_refs=1", "dc3_kib=64", m, llc, data_llc);
	}
}

/*
 * Data line repeats: loads at BASE, BASE+8 (same line: an L1D hit counted by
 * the repeat path), BASE+64 (a new line of the same page), BASE (back to line
 * 0, still in L1D). 4 data references: 2 from memory, 2 L1D hits; their
 * cycles are 2 * c_mem + 2 * c_dc1 in every mode.
 */
static void test_data_line_repeats(void **state)
{
	(void)state;
	struct mm_config c = cfg("barcelona", NULL);
	struct mm_rec r[] = {ld(BASE), ld(BASE + 8), ld(BASE + 64), ld(BASE)};
	struct mm_sim *s = run(&c, 7, r, 4);
	for (enum mm_mode m = MM_NATIVE; m <= MM_NESTED; m++) {
		const struct mm_stats *st = mm_sim_stats(s, m);
		assert_int_equal(st->data_refs, 4);
		assert_int_equal(st->data_at[MM_AT_MEM], 2);
		assert_int_equal(st->data_at[MM_AT_DC1], 2);
		assert_int_equal(st->cyc_data, 2 * c.c_mem + 2 * c.c_dc1);
	}
	mm_sim_free(s);
}

/* ------------------------------------------------ paging-structure caches (SDM) */

/*
 * Combined PSC entries (SDM 28.3.1: with EPT a paging-structure-cache entry
 * holds the host-physical address of the next table). Nested mode, Intel
 * PSC, no nested TLB, host 1G pages: a host walk is nL4 + nL3 (leaf), and
 * every gPA below 512 GiB shares the host PML4 entry, so after the first host
 * walk the nested PSC's PML4 level always hits and a host walk is 1 reference.
 * Cold walk of A: host walk of the guest root 2 (nL4 nL3), gL4 1, then three
 * host walks of 1 (gL3, gL2, gL1 tables) each with its guest entry (6), and
 * 1 for the data gPA: 2 + 1 + 6 + 1 = 10.
 * Walk of B = A + 4K: the PDE cache holds B's page table (3 levels skipped),
 * at its host-physical address, so no host walk for it: the guest PTE (1) +
 * the data gPA's host walk (1) = 2. (A guest-physical entry would cost one
 * more host walk of the page table: 3.)
 */
static void test_psc_combined(void **state)
{
	(void)state;
	struct mm_config c = cfg("nehalem", "pwc=va", "ntlb_entries=0", "host_page=1G", NULL);
	struct mm_rec r[2] = {ld(BASE), ld(BASE + 4096)};
	struct mm_sim *s = run(&c, 1u << MM_NESTED, r, 1);
	assert_int_equal(refs(mm_sim_stats(s, MM_NESTED)), 10);
	mm_sim_free(s);
	s = run(&c, 1u << MM_NESTED, r, 2);
	const struct mm_stats *st = mm_sim_stats(s, MM_NESTED);
	assert_int_equal(st->walks, 2);
	assert_int_equal(refs(st), 10 + 2);
	assert_int_equal(st->guest_refs, 4 + 1);
	assert_int_equal(st->nested_refs, 6 + 1);
	/* levels skipped: nL4 in the cold walk's 4 later host walks; then 3
	 * guest levels and nL4 of B's one host walk */
	assert_int_equal(st->psc_skipped, 4 + 3 + 1);
	mm_sim_free(s);
}

/*
 * INVLPG invalidates all paging-structure-cache entries of the current PCID,
 * whatever address they map (SDM 4.10.4.1). Native, Intel PSC (32 per level),
 * PCIDs on. A = BASE, C = BASE + 1 GiB (same PML4 entry, other PDPT entry),
 * D = C + 4K. Walks: A 4 (cold); C 3 (PML4 cache hit). INVLPG A. D: the
 * entries for C's 2M region (PDE cache) map another address than A, but go
 * too: a full walk, 4. Without the INVLPG, D's walk is 1 (PDE cache hit).
 */
static void test_psc_invlpg(void **state)
{
	(void)state;
	struct mm_config c = cfg("nehalem", "pwc=va", "pcids=4096", NULL);
	uint64_t a = BASE, cc = BASE + (1ull << 30), d = cc + 4096;
	struct mm_rec with[] = {ld(a), ld(cc), ev(MM_INVLPG, 0, a), ld(d)};
	struct mm_rec without[] = {ld(a), ld(cc), ld(d)};
	struct mm_sim *s = run(&c, 1u << MM_NATIVE, with, 4);
	const struct mm_stats *st = mm_sim_stats(s, MM_NATIVE);
	assert_int_equal(st->walks, 3);
	assert_int_equal(st->guest_refs, 4 + 3 + 4);
	mm_sim_free(s);
	s = run(&c, 1u << MM_NATIVE, without, 3);
	st = mm_sim_stats(s, MM_NATIVE);
	assert_int_equal(st->walks, 3);
	assert_int_equal(st->guest_refs, 4 + 3 + 1);
	mm_sim_free(s);
	/*
	 * Only the current PCID's entries: process 1 walks A (4) and C (3);
	 * process 2 walks A in its own tables (4) and does INVLPG A; back in
	 * process 1 (its PCID kept, no flush), D still hits process 1's PDE
	 * cache entry: 1. Total 4 + 3 + 4 + 1.
	 */
	struct mm_rec two[] = {ev(MM_SWITCH, 1, 0), ld(a), ld(cc),
			       ev(MM_SWITCH, 2, 0), ld(a), ev(MM_INVLPG, 2, a),
			       ev(MM_SWITCH, 1, 0), ld(d)};
	s = run(&c, 1u << MM_NATIVE, two, 8);
	st = mm_sim_stats(s, MM_NATIVE);
	assert_int_equal(st->walks, 4);
	assert_int_equal(st->guest_refs, 4 + 3 + 4 + 1);
	mm_sim_free(s);
}

/* ------------------------------------------------ munmap / mprotect as Linux */

/*
 * Pages P0..P64 (BASE + i * 4K, one guest page table T) are touched, then
 * statistics are reset, so only what follows counts: one munmap or mprotect
 * of the first n pages, then a load of P64 (never unmapped) and, for
 * mprotect, of P0. Barcelona: unsync on, ASIDs, PCIDs off.
 * Before the reset T is shadowed and out of sync: P0's hidden fault
 * write-protected it, P1's PTE write exited once and left it unsync.
 * Linux clears (or rewrites) all n PTEs first: T is unsync, so no exit,
 * n guest PTE writes. Then flush_tlb_mm_range over n pages:
 *  - n = 64 or 34 (> 33): one full flush in every mode; shadow: one CR3 exit,
 *    which resyncs T (1 sync). P64's TLB entry is gone: 1 walk.
 *  - n = 33: 33 INVLPGs; shadow: 33 INVLPG exits, each dropping that
 *    page's shadow entry alone; T stays out of sync (KVM's FNAME(invlpg)),
 *    no resync. P64 is still the L1 TLB's most recent entry: no walk.
 * (Clearing and invalidating page by page, as before, cost shadow a PT-write
 * exit per page after the first, T resynced by each INVLPG: 63 + 64 exits.)
 * mprotect of 64: the same flush; the resync keeps P0's shadow entry (its
 * PTE still maps the same frame and is accessed: KVM's FNAME(sync_page)
 * updates the SPTE's permissions in place), so P0's load walks (the flush)
 * without a hidden fault: cr3 1.
 */
static void range_run(enum mm_op op, unsigned n, uint64_t walks, uint64_t full, uint64_t cr3,
		      uint64_t invlpg, uint64_t hidden, uint64_t syncs)
{
	struct mm_config c = cfg("barcelona", NULL);
	struct mm_rec r[65];
	for (unsigned i = 0; i < 65; i++)
		r[i] = ld(BASE + 4096ull * i);
	struct mm_sim *s;
	struct ok_err e;
	assert_int_equal(mm_sim_new(&s, &c, 7, 1, &e), 0);
	assert_int_equal(mm_sim_feed(s, r, 65, &e), 0);
	mm_sim_reset_stats(s);
	struct mm_rec ev2[3] = {{.addr = BASE, .len = 4096ull * n, .op = (uint8_t)op},
				ld(BASE + 64 * 4096ull),
				ld(BASE)};
	assert_int_equal(mm_sim_feed(s, ev2, op == MM_MPROTECT ? 3 : 2, &e), 0);
	for (enum mm_mode m = MM_NATIVE; m <= MM_NESTED; m++) {
		const struct mm_stats *st = mm_sim_stats(s, m);
		assert_int_equal(st->pt_writes, n);
		assert_int_equal(st->walks, walks);
		assert_int_equal(st->flushes[MM_FLUSH_FULL], full);
		assert_int_equal(st->guest_faults, 0);
	}
	const struct mm_stats *sh = mm_sim_stats(s, MM_SHADOW);
	assert_int_equal(sh->exits[MM_EXIT_PTWRITE], 0);
	assert_int_equal(sh->exits[MM_EXIT_CR3], cr3);
	assert_int_equal(sh->exits[MM_EXIT_INVLPG], invlpg);
	assert_int_equal(sh->exits[MM_EXIT_HIDDEN], hidden);
	assert_int_equal(mm_stats_exits(sh), cr3 + invlpg + hidden);
	assert_int_equal(sh->syncs, syncs);
	assert_int_equal(mm_stats_exits(mm_sim_stats(s, MM_NESTED)), 0);
	mm_sim_free(s);
}

static void test_munmap_batched(void **state)
{
	(void)state;
	/* op, pages, walks, full flushes, CR3 exits, INVLPG exits, hidden faults, syncs */
	range_run(MM_UNMAP, 64, 1, 1, 1, 0, 0, 1);
	range_run(MM_UNMAP, 34, 1, 1, 1, 0, 0, 1);
	range_run(MM_UNMAP, 33, 0, 0, 0, 33, 0, 0);
	/* mprotect: P64 and P0 both walk after the full flush */
	range_run(MM_MPROTECT, 64, 2, 1, 1, 0, 0, 1);
}

/* ------------------------------------------------------------ several VMs */

/*
 * Two VMs, one page each at the same virtual address X (separate address
 * spaces, separate guest frames), barcelona (no PCIDs, shadow: an ASID per
 * address space). Trace: VM 0 loads X; E vm 1; VM 1 loads X; E vm 0; VM 0
 * loads X again.
 * With VM tags (asids=64): nested and shadow keep VM 0's TLB entry across
 * VM 1's run, so the third load is an L1 hit: 2 walks, nested 2 x 24 = 48
 * references (8 guest + 40 nested); shadow 2 walks of 4 and 4 exits (each
 * first touch: a guest #PF and a hidden fault; no CR3 exit, as each VM's
 * first CR3 load is its boot). Natively (the two workloads as processes of
 * one machine) each VM switch is an untagged CR3 write: 2 flushes, 3 walks.
 * Without VM tags (asids=0) every VM switch and every exit flushes all:
 * 3 walks in each mode (nested 72 references), shadow still 4 exits (the
 * shadow entry of X survives in VM 0's shadow table) and 4 + 2 = 6 flushes.
 * Each VM's share: VM 1 made one walk in every mode, VM 0 the rest.
 */
static void vm_run(const char *asids, uint64_t walks, uint64_t nrefs, uint64_t sh_flushes)
{
	const uint64_t x = BASE;
	struct mm_config c = cfg("barcelona", asids, NULL);
	struct mm_rec r[] = {ld(x), ev(MM_VM, 1, 0), ld(x), ev(MM_VM, 0, 0), ld(x)};
	struct mm_sim *s = run(&c, 7, r, 5);
	const struct mm_stats *nat = mm_sim_stats(s, MM_NATIVE), *sh = mm_sim_stats(s, MM_SHADOW),
			      *ne = mm_sim_stats(s, MM_NESTED);
	assert_int_equal(nat->walks, 3);
	assert_int_equal(nat->flushes[MM_FLUSH_CR3], 2);
	assert_int_equal(ne->walks, walks);
	assert_int_equal(refs(ne), nrefs);
	assert_int_equal(sh->walks, walks);
	assert_int_equal(refs(sh), 4 * walks);
	assert_int_equal(mm_stats_exits(sh), 4);
	assert_int_equal(sh->exits[MM_EXIT_GUESTPF], 2);
	assert_int_equal(sh->exits[MM_EXIT_HIDDEN], 2);
	assert_int_equal(sh->flushes[MM_FLUSH_VMEXIT], sh_flushes);
	assert_int_equal(mm_sim_vms(s), 3);
	for (int m = 0; m <= MM_NESTED; m++) {
		struct mm_stats v0, v1;
		mm_sim_vm_stats(s, 0, (enum mm_mode)m, &v0);
		mm_sim_vm_stats(s, 1, (enum mm_mode)m, &v1);
		const struct mm_stats *t = mm_sim_stats(s, (enum mm_mode)m);
		assert_int_equal(v1.walks, 1);
		assert_int_equal(v0.walks + v1.walks, t->walks);
		assert_int_equal(v0.accesses, 2);
		assert_int_equal(v1.accesses, 1);
		assert_int_equal(mm_stats_cycles(&v0) + mm_stats_cycles(&v1), mm_stats_cycles(t));
	}
	mm_sim_free(s);
}

static void test_two_vms(void **state)
{
	(void)state;
	vm_run("asids=64", 2, 48, 0);
	vm_run("asids=0", 3, 72, 6);
}

/*
 * A CR3 write without PCIDs drops only the running VM's entries (as it drops
 * only the current VPID's). Nested, asids=64, pcids=0: VM 0 loads X (walk
 * 1); VM 1 loads X (walk 2), switches to a new process 5 (a flush of VM 1's
 * entries) and loads X there (walk 3, a new address space); back in VM 0,
 * X is still in the TLB: 3 walks, 1 CR3 flush. Flushing every VM's entries
 * would make it 4 walks.
 */
static void test_vm_cr3_flush(void **state)
{
	(void)state;
	const uint64_t x = BASE;
	struct mm_config c = cfg("barcelona", "asids=64", "pcids=0", NULL);
	struct mm_rec r[] = {ld(x), ev(MM_VM, 1, 0), ld(x), ev(MM_SWITCH, 5, 0),
			     ld(x), ev(MM_VM, 0, 0), ld(x)};
	struct mm_sim *s = run(&c, 1u << MM_NESTED, r, 7);
	const struct mm_stats *ne = mm_sim_stats(s, MM_NESTED);
	assert_int_equal(ne->walks, 3);
	assert_int_equal(ne->flushes[MM_FLUSH_CR3], 1);
	assert_int_equal(ne->l1_hits, 1);
	mm_sim_free(s);
}

/* ------------------------------------------------------------ fork, COW */

static struct mm_rec st8(uint64_t a)
{
	return (struct mm_rec){.addr = a, .size = 8, .op = MM_STORE};
}

/*
 * fork with copy-on-write, barcelona (no PCIDs; shadow: an ASID per address
 * space). P0..P2 are three pages of one guest page table. Trace:
 *   A  E switch 1 (boot); 1 loads P0, P1, P2
 *   B  E fork 2
 *   C  1 stores P0
 *   D  E switch 2; 2 stores P0; 2 loads P1
 *   E  E exit 2; E switch 1; 1 stores P1
 * Linux's order (copy_page_range, dup_mmap's flush_tlb_mm, do_wp_page):
 *   A  3 guest #PF; PTE writes 4 + 1 + 1 = 6
 *   B  the child gets 3 tables (3 writes) and 3 read-only leaves (3 writes);
 *      the parent's 3 leaves are write-protected (3 writes): 9; one full
 *      flush of the parent's PCID
 *   C  P0's frame is still the child's too: wp_page_copy, a guest #PF,
 *      the PTE cleared (1 write), INVLPG, set to the copy (1 write)
 *   D  the child's P0 frame is now mapped once: wp_page_reuse, a #PF and
 *      1 write, no flush; the load of P1 does not fault (read-only is
 *      enough)
 *   E  the child's exit leaves P1 mapped once: reuse, a #PF and 1 write
 * So in every mode 6 guest faults and 6 + 9 + 2 + 1 + 1 = 19 PTE writes,
 * 1 full flush. Native and nested flush on both switches (2 CR3 flushes)
 * and walk 7 times: P0-P2 cold, P0 after the fork's flush, P0 and P1 in
 * the child, P1 back in the parent; shadow keeps an ASID per address space
 * but the fork flushed the parent's, so it walks the same 7 times.
 * Shadow, unsync on (KVM's default):
 *   A  3 guest #PF + 3 hidden faults; 1 PT-write exit (P1's PTE: the leaf
 *      table, shadowed after P0's hidden fault, goes out of sync)
 *   B  the parent's 3 write-protections go to the out-of-sync table: no
 *      exit; the child's tables are not shadowed: no exit; the full flush
 *      is a CR3 exit that resyncs the table, keeping P0-P2's shadow entries
 *      (same frames, accessed: KVM's FNAME(sync_page) makes them read-only
 *      in place)
 *   C  #PF exit; the clear is a PT-write exit (the table was resynced) and
 *      unsyncs it; the INVLPG exit drops P0's shadow entry alone (KVM's
 *      FNAME(invlpg); the cleared PTE refills nothing) and the table stays
 *      out of sync, so the set is no exit; the retried store misses the
 *      dropped shadow entry: hidden fault
 *   D  CR3 exit (new root; resyncs the parent's table); #PF exit; the
 *      child's write goes to an unshadowed table; hidden faults for P0, P1
 *   E  CR3 exit (cached root); #PF exit; PT-write exit (unsync); the
 *      read-only shadow entry faults once more: hidden fault
 *   guest #PF 6, hidden 3+1+2+1 = 7, PT-write 1+1+1 = 3, INVLPG 1,
 *   CR3 3, tables resynced 2 (B, D).
 * Shadow, unsync off: every write to a shadowed table exits, so B's 3
 * write-protections are 3 exits (the cost of fork under shadow paging
 * grows with the parent's mapped pages): PT-write 2 (A) + 3 (B) + 2 (C) +
 * 1 (E) = 8, no resyncs.
 * Nested: no exits.
 */
static void fork_run(const char *unsync, uint64_t ptw_exits, uint64_t syncs)
{
	const uint64_t p0 = BASE, p1 = BASE + 4096, p2 = BASE + 8192;
	struct mm_config c = cfg("barcelona", unsync, NULL);
	struct mm_rec r[] = {ev(MM_SWITCH, 1, 0),
			     ld(p0),
			     ld(p1),
			     ld(p2),
			     ev(MM_FORK, 2, 0),
			     st8(p0),
			     ev(MM_SWITCH, 2, 0),
			     st8(p0),
			     ld(p1),
			     ev(MM_EXIT, 2, 0),
			     ev(MM_SWITCH, 1, 0),
			     st8(p1)};
	struct mm_sim *s = run(&c, 7, r, sizeof(r) / sizeof(r[0]));
	for (int m = 0; m <= MM_NESTED; m++) {
		const struct mm_stats *st = mm_sim_stats(s, (enum mm_mode)m);
		assert_int_equal(st->guest_faults, 6);
		assert_int_equal(st->pt_writes, 19);
		assert_int_equal(st->flushes[MM_FLUSH_FULL], 1);
		assert_int_equal(st->walks, 7);
		assert_int_equal(st->flushes[MM_FLUSH_CR3], m == MM_SHADOW ? 0 : 2);
	}
	assert_int_equal(mm_stats_exits(mm_sim_stats(s, MM_NESTED)), 0);
	const struct mm_stats *sh = mm_sim_stats(s, MM_SHADOW);
	assert_int_equal(sh->exits[MM_EXIT_GUESTPF], 6);
	assert_int_equal(sh->exits[MM_EXIT_HIDDEN], 7);
	assert_int_equal(sh->exits[MM_EXIT_PTWRITE], ptw_exits);
	assert_int_equal(sh->exits[MM_EXIT_INVLPG], 1);
	assert_int_equal(sh->exits[MM_EXIT_CR3], 3);
	assert_int_equal(sh->syncs, syncs);
	/* CR3 exits: fork's flush (cached root) + 2 (new root) + 1 (cached),
	 * each resync 500 more; INVLPG 1000 + 500 */
	assert_int_equal(sh->exit_cycles[MM_EXIT_CR3], 3 * 1000 + 1000 + 3000 + 1000 + syncs * 500);
	assert_int_equal(sh->exit_cycles[MM_EXIT_INVLPG], 1000 + 500);
	mm_sim_free(s);
}

static void test_fork_cow(void **state)
{
	(void)state;
	fork_run("unsync=1", 3, 2);
	fork_run("unsync=0", 8, 0);
}

/*
 * fork then exec in the child, the fork/exec pattern: E switch 1; 1 stores
 * P0..P2; E fork 2; E exec 2 (switches to 2, drops its copy, loads an
 * empty address space); 2 loads Q; E exit 2; E switch 1; 1 stores P0..P2.
 * After the exec every parent frame is mapped once again, so each of the
 * parent's 3 stores is a reuse: a #PF and 1 PTE write, no flush. Guest
 * faults 3 + 1 (Q) + 3 = 7; PTE writes 6 + 9 (fork) + 4 (Q: a new
 * address space's 4 levels) + 3 = 22. Native: CR3 flushes on the exec's
 * switch and the switch back (2), 1 full flush (the fork); shadow: CR3
 * exits for the fork's flush, the exec (a new root) and the switch back.
 */
static void test_fork_exec(void **state)
{
	(void)state;
	const uint64_t p0 = BASE, p1 = BASE + 4096, p2 = BASE + 8192, q = BASE + (1ull << 30);
	struct mm_config c = cfg("barcelona", NULL);
	struct mm_rec r[] = {ev(MM_SWITCH, 1, 0), st8(p0),	     st8(p1), st8(p2),
			     ev(MM_FORK, 2, 0),	  ev(MM_EXEC, 2, 0), ld(q),   ev(MM_EXIT, 2, 0),
			     ev(MM_SWITCH, 1, 0), st8(p0),	     st8(p1), st8(p2)};
	struct mm_sim *s = run(&c, 7, r, sizeof(r) / sizeof(r[0]));
	for (int m = 0; m <= MM_NESTED; m++) {
		const struct mm_stats *st = mm_sim_stats(s, (enum mm_mode)m);
		assert_int_equal(st->guest_faults, 7);
		assert_int_equal(st->pt_writes, 22);
		assert_int_equal(st->flushes[MM_FLUSH_FULL], 1);
	}
	assert_int_equal(mm_sim_stats(s, MM_NATIVE)->flushes[MM_FLUSH_CR3], 2);
	const struct mm_stats *sh = mm_sim_stats(s, MM_SHADOW);
	assert_int_equal(sh->exits[MM_EXIT_CR3], 3);
	assert_int_equal(sh->exits[MM_EXIT_INVLPG], 0);
	assert_int_equal(sh->exits[MM_EXIT_GUESTPF], 7);
	mm_sim_free(s);
	/* forking into a live process is refused */
	struct mm_rec bad[] = {ev(MM_SWITCH, 1, 0), ld(p0), ev(MM_SWITCH, 2, 0), ld(p0),
			       ev(MM_FORK, 1, 0)};
	struct ok_err e;
	ok_err_clear(&e);
	assert_int_equal(mm_sim_new(&s, &c, 7, 1, &e), 0);
	assert_int_equal(mm_sim_feed(s, bad, 5, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "live"));
	mm_sim_free(s);
}

/*
 * Accessed bits, barcelona. Trace: E switch 1; 1 loads P0, P1; E invlpg P0;
 * 1 loads P0; E fork 2; 1 stores P0; E switch 2; 2 stores P0; 2 loads P1.
 * Linux installs anonymous PTEs old (x86's pte_sw_mkyoung does nothing) and
 * dirty, so the walker sets the accessed bit with one locked write the
 * first time it walks to a new PTE, and never a dirty bit:
 *   P0, P1 first walks: 2 writes; P0 after the INVLPG: already accessed, 0;
 *   the parent's store after the fork: a copy (wp_page_copy installs the
 *   new PTE old): 1; the child's store to P0: a reuse (pte_mkyoung: the
 *   kernel sets the bit), 0; the child's load of P1: fork made the child's
 *   PTEs old (pte_mkold): 1. Native and nested: 4 writes, 4 x c_ad cycles
 *   of page walks more than with c_ad=0; shadow: none (KVM sets the guest's
 *   accessed bit while it fills the shadow entry, inside the hidden fault,
 *   and makes shadow entries accessed).
 */
static void test_accessed_bits(void **state)
{
	(void)state;
	const uint64_t p0 = BASE, p1 = BASE + 4096;
	struct mm_rec r[] = {ev(MM_SWITCH, 1, 0),
			     ld(p0),
			     ld(p1),
			     ev(MM_INVLPG, 1, p0),
			     ld(p0),
			     ev(MM_FORK, 2, 0),
			     st8(p0),
			     ev(MM_SWITCH, 2, 0),
			     st8(p0),
			     ld(p1)};
	size_t n = sizeof(r) / sizeof(r[0]);
	struct mm_config c1 = cfg("barcelona", "c_ad=0", NULL),
			 c2 = cfg("barcelona", "c_ad=37", NULL);
	struct mm_sim *s1 = run(&c1, 7, r, n), *s2 = run(&c2, 7, r, n);
	for (int m = 0; m <= MM_NESTED; m++) {
		const struct mm_stats *a = mm_sim_stats(s1, (enum mm_mode)m),
				      *b = mm_sim_stats(s2, (enum mm_mode)m);
		uint64_t want = m == MM_SHADOW ? 0 : 4;
		assert_int_equal(b->ad_writes, want);
		assert_int_equal(b->cyc_walk - a->cyc_walk, 37 * want);
		assert_int_equal(mm_stats_cycles(b) - mm_stats_cycles(a), 37 * want);
	}
	mm_sim_free(s1);
	mm_sim_free(s2);
}

/*
 * E flush, a guest's full flush of its PCID (flush_tlb_local), barcelona:
 * 1 loads P0, E flush, 1 loads P0. Every mode walks twice and counts one
 * full flush; native and nested drop the running tag's entries (no PCIDs:
 * all of them), shadow drops its ASID's and takes a CR3 exit with the root
 * cached (1000 + 1000 cycles); nested no exit. An E switch to the running
 * process, by contrast, changes nothing: 1 walk.
 */
static void test_full_flush(void **state)
{
	(void)state;
	struct mm_config c = cfg("barcelona", NULL);
	struct mm_rec r[] = {ld(BASE), ev(MM_FLUSH, 0, 0), ld(BASE)};
	struct mm_sim *s = run(&c, 7, r, 3);
	for (int m = 0; m <= MM_NESTED; m++) {
		const struct mm_stats *st = mm_sim_stats(s, (enum mm_mode)m);
		assert_int_equal(st->walks, 2);
		assert_int_equal(st->flushes[MM_FLUSH_FULL], 1);
	}
	const struct mm_stats *sh = mm_sim_stats(s, MM_SHADOW);
	assert_int_equal(sh->exits[MM_EXIT_CR3], 1);
	assert_int_equal(sh->exit_cycles[MM_EXIT_CR3], 2000);
	assert_int_equal(mm_stats_exits(mm_sim_stats(s, MM_NESTED)), 0);
	mm_sim_free(s);
	struct mm_rec r2[] = {ld(BASE), ev(MM_SWITCH, 0, 0), ld(BASE)};
	s = run(&c, 7, r2, 3);
	for (int m = 0; m <= MM_NESTED; m++)
		assert_int_equal(mm_sim_stats(s, (enum mm_mode)m)->walks, 1);
	mm_sim_free(s);
}

/* ------------------------------------------------------------ page aging */

static struct mm_rec age(uint64_t a, uint64_t len)
{
	return (struct mm_rec){.addr = a, .len = len, .op = MM_AGE};
}

/*
 * E age without a flush (x86 Linux since 3.18), barcelona (ASIDs: exits
 * keep the TLB). Trace: load P0, load P1 (one leaf table), age both, load
 * P0, INVLPG P0, load P0, age both. Native and nested: the first touches
 * write 4 + 1 PTEs and their walks set 2 accessed bits; the first age
 * clears both (2 PTE writes, no flush); P0's next load hits the TLB, so its
 * bit stays clear until the walk after the INVLPG sets it (3 walks, 3
 * accessed bits set); the second age finds only P0 young: 3 cleared, 8 PTE
 * writes. Shadow without unsync: the first touches cost 2 #PF and 2 hidden
 * fault exits and a trapped PTE write (P1's, in the shadowed leaf table);
 * each of the 3 clears is a trapped write (4 PT-write exits) that zaps a
 * present shadow entry, so KVM's kvm_mmu_pte_write flushes the VM's TLBs
 * (3 pt_write flushes): P0's load after the first age walks (a hidden fault
 * in which the VMM sets the guest's bit again); the INVLPG exit leaves the
 * shadow entry of a table in sync (KVM's FNAME(invlpg)), so P0's walk after
 * it takes none (4 walks, 3 hidden faults). Shadow with unsync: the first
 * age writes an already out-of-sync table (no exit); the INVLPG drops P0's
 * shadow entry alone (its PTE is old: nothing refilled) and the table stays
 * out of sync, so the second age writes it without an exit either: 1
 * PT-write exit, no sync, no write zaps: 3 walks, 3 hidden faults, no
 * flush. Agile with the leaf table nested (agile_start=1): the
 * clears write a table the hardware walks, no exit at all; P1's first touch
 * neither (its missing PTE is in that table): 1 #PF, 1 hidden fault, the
 * INVLPG exit; its walks set the bits (3) as nested paging's do.
 */
static void test_page_aging(void **state)
{
	(void)state;
	const uint64_t p0 = BASE, p1 = BASE + 4096;
	struct mm_rec r[] = {ld(p0), ld(p1),	     age(BASE, 8192), ld(p0), ev(MM_INVLPG, 0, p0),
			     ld(p0), age(BASE, 8192)};
	struct {
		const char *unsync;
		int agile_start;
		uint64_t ptw, hid, gpf, inv, syncs, walks, flushes;
	} want[] = {{"unsync=0", 0, 4, 3, 2, 1, 0, 4, 3}, {"unsync=1", 0, 1, 3, 2, 1, 0, 3, 0}};
	for (int u = 0; u < 2; u++) {
		struct mm_config c =
		    cfg("barcelona", want[u].unsync, "agile_writes=0", "agile_start=1", NULL);
		struct mm_sim *s = run(&c, 15, r, 7);
		for (int m = 0; m < MM_MODE_N; m++) {
			const struct mm_stats *st = mm_sim_stats(s, (enum mm_mode)m);
			assert_int_equal(st->aged, 3);
			assert_int_equal(st->pt_writes, 8);
			assert_int_equal(st->walks, m == MM_SHADOW ? want[u].walks : 3);
		}
		for (int m = MM_NATIVE; m <= MM_NESTED; m += 2) {
			assert_int_equal(mm_sim_stats(s, (enum mm_mode)m)->ad_writes, 3);
			assert_int_equal(mm_stats_exits(mm_sim_stats(s, (enum mm_mode)m)), 0);
		}
		const struct mm_stats *sh = mm_sim_stats(s, MM_SHADOW),
				      *ag = mm_sim_stats(s, MM_AGILE);
		assert_int_equal(sh->ad_writes, 0);
		assert_int_equal(sh->exits[MM_EXIT_PTWRITE], want[u].ptw);
		assert_int_equal(sh->exits[MM_EXIT_HIDDEN], want[u].hid);
		assert_int_equal(sh->exits[MM_EXIT_GUESTPF], want[u].gpf);
		assert_int_equal(sh->exits[MM_EXIT_INVLPG], want[u].inv);
		assert_int_equal(sh->exits[MM_EXIT_CR3], 0);
		assert_int_equal(sh->syncs, want[u].syncs);
		assert_int_equal(sh->flushes[MM_FLUSH_PTWRITE], want[u].flushes);
		assert_int_equal(ag->flushes[MM_FLUSH_PTWRITE], 0);
		assert_int_equal(ag->ad_writes, 3); /* the 2D part's walks, as nested's */
		assert_int_equal(ag->exits[MM_EXIT_PTWRITE], 0);
		assert_int_equal(ag->exits[MM_EXIT_HIDDEN], 1);
		assert_int_equal(ag->exits[MM_EXIT_GUESTPF], 1);
		assert_int_equal(ag->exits[MM_EXIT_INVLPG], 1);
		mm_sim_free(s);
	}
}

/*
 * A trapped guest PTE write that zaps a present shadow entry flushes the
 * VM's TLBs, as KVM's kvm_mmu_pte_write does (kvm_flush_remote_tlbs when the
 * old SPTE was present). Barcelona (ASIDs: exits keep the TLB), shadow
 * without unsync: load P0, load P1 (2 walks; P1's PTE write traps, its
 * table being shadowed by then), rewrite P0's PTE (a trapped write zapping
 * P0's present shadow entry: one pt_write flush), load P1: its TLB entry is
 * gone, a third walk, but its shadow entry is intact, so no hidden fault (2
 * in all; 2 PT-write exits). Native and nested: the load hits the TLB, 2
 * walks. With unsync P1's write makes the table out of sync (1 PT-write
 * exit) and the rewrite is not trapped: nothing zapped, no flush, the load
 * an L1 hit.
 */
static void test_ptwrite_flush(void **state)
{
	(void)state;
	const uint64_t p0 = BASE, p1 = BASE + 4096;
	struct mm_rec r[] = {ld(p0), ld(p1), ev(MM_PTWRITE, 0, p0), ld(p1)};
	for (int u = 0; u <= 1; u++) {
		struct mm_config c = cfg("barcelona", u ? "unsync=1" : "unsync=0", NULL);
		struct mm_sim *s = run(&c, 7, r, 4);
		const struct mm_stats *sh = mm_sim_stats(s, MM_SHADOW);
		assert_int_equal(mm_sim_stats(s, MM_NATIVE)->walks, 2);
		assert_int_equal(mm_sim_stats(s, MM_NESTED)->walks, 2);
		assert_int_equal(sh->walks, u ? 2 : 3);
		assert_int_equal(sh->exits[MM_EXIT_HIDDEN], 2);
		assert_int_equal(sh->exits[MM_EXIT_PTWRITE], u ? 1 : 2);
		assert_int_equal(sh->flushes[MM_FLUSH_PTWRITE], u ? 0 : 1);
		assert_int_equal(sh->l1_hits, u ? 1 : 0);
		mm_sim_free(s);
	}
}

/*
 * Shadow paging's resync and INVLPG as KVM does them (arch/x86/kvm/mmu/
 * paging_tmpl.h). Barcelona (unsync on, ASIDs), shadow alone; P0 and P1 in
 * one guest leaf table: loading both costs 2 #PF, 2 hidden faults and 1
 * PT-write exit (P1's PTE, the table shadowed by then, goes out of sync);
 * 2 walks. Then:
 *  a. E invlpg P0 (its PTE unchanged), load P0, P1: FNAME(invlpg) drops
 *     P0's SPTE and refills it from the accessed PTE (prefetch_gpte): no
 *     hidden fault, no resync, the table stays out of sync; P0 walks again.
 *     Hidden 2, syncs 0, walks 3.
 *  b. E fork 2, load P0, P1: the 2 write-protections go to the unsync
 *     table, the fork's full flush is a CR3 exit that resyncs it, and
 *     FNAME(sync_page) keeps both SPTEs (same frames, accessed; only their
 *     permissions change): both loads walk (the flush) and take no hidden
 *     fault. Hidden 2, syncs 1, CR3 1, walks 4.
 *  c. E ptwrite P0 (a new frame), E flush, load P0, P1: the resync drops
 *     P0's SPTE (another gfn; its PTE not accessed either) and keeps P1's:
 *     hidden 3, syncs 1, walks 4.
 *  d. E age P0-P1, E flush, load P0, P1: both PTEs made old, so the resync
 *     drops both SPTEs (prefetch_invalid_gpte): hidden 4, syncs 1, walks 4.
 */
static void test_kvm_sync(void **state)
{
	(void)state;
	const uint64_t p0 = BASE, p1 = BASE + 4096;
	const struct mm_rec tail[] = {ld(p0), ld(p1)};
	const struct mm_rec mid[][2] = {{ev(MM_INVLPG, 0, p0)},
					{ev(MM_FORK, 2, 0)},
					{ev(MM_PTWRITE, 0, p0), ev(MM_FLUSH, 0, 0)},
					{age(BASE, 8192), ev(MM_FLUSH, 0, 0)}};
	const unsigned nmid[] = {1, 1, 2, 2};
	const uint64_t hid[] = {2, 2, 3, 4}, syncs[] = {0, 1, 1, 1}, walks[] = {3, 4, 4, 4};
	struct mm_config c = cfg("barcelona", "unsync=1", NULL);
	for (int k = 0; k < 4; k++) {
		struct mm_rec r[6];
		size_t n = 0;
		r[n++] = ld(p0), r[n++] = ld(p1);
		for (unsigned j = 0; j < nmid[k]; j++)
			r[n++] = mid[k][j];
		r[n++] = tail[0], r[n++] = tail[1];
		struct mm_sim *s = run(&c, 1u << MM_SHADOW, r, n);
		const struct mm_stats *sh = mm_sim_stats(s, MM_SHADOW);
		assert_int_equal(sh->exits[MM_EXIT_GUESTPF], 2);
		assert_int_equal(sh->exits[MM_EXIT_PTWRITE], 1);
		assert_int_equal(sh->exits[MM_EXIT_HIDDEN], hid[k]);
		assert_int_equal(sh->syncs, syncs[k]);
		assert_int_equal(sh->walks, walks[k]);
		assert_int_equal(sh->exits[MM_EXIT_INVLPG], k == 0);
		assert_int_equal(sh->exits[MM_EXIT_CR3], k > 0);
		mm_sim_free(s);
	}
}

/* --age=N: a synthetic workload ages its working set every N accesses:
 * 250 accesses with N = 100 carry 2 E age records over [BASE, BASE + ws),
 * after the 100th and the 200th access. */
static void test_synth_age(void **state)
{
	(void)state;
	struct mm_synth_cfg y = {MM_SYN_RANDOM, 250, 1 << 20, 1, 0, 5, 1, 0, 100};
	struct mm_reader *rd;
	struct ok_err e;
	struct mm_rec r[400];
	assert_int_equal(mm_reader_open_synth(&rd, &y, &e), 0);
	ssize_t n = mm_reader_read(rd, r, 400, &e);
	mm_reader_close(rd);
	assert_int_equal(n, 252);
	int ages = 0, acc = 0;
	for (ssize_t i = 0; i < n; i++) {
		if (r[i].op == MM_AGE) {
			ages++;
			assert_int_equal(acc, 100 * ages);
			assert_int_equal(r[i].addr, BASE);
			assert_int_equal(r[i].len, 1 << 20);
		} else {
			acc++;
		}
	}
	assert_int_equal(ages, 2);
}

/*
 * age_flush=1 (ptep_clear_flush_young flushing, as x86 Linux before 3.18):
 * load P0, load P1, age both, load P0, load P1. Each young PTE cleared is
 * followed by flush_tlb_page (an INVLPG), so both loads walk again: native
 * and nested 4 walks and 4 accessed bits set (2 and 2 with age_flush=0,
 * where the loads hit the TLB). Shadow without unsync: 2 #PF, a trapped
 * write for P1's PTE, then per page a trapped clear that zaps a present
 * shadow entry, so KVM flushes the VM's TLBs (2 pt_write flushes) even
 * with age_flush=0, and with age_flush=1 an INVLPG exit (3 PT-write, 2
 * INVLPG): the 2 reloads walk and take hidden faults (4 walks, 4 hidden),
 * which set the bits again, so a second age clears both again (2 more PTE
 * writes). With unsync: the table is out of sync from P1's first touch (1
 * PT-write exit), so the clears take no exit and zap nothing; each INVLPG
 * drops that page's shadow entry alone (its PTE is old: nothing refilled)
 * and the table stays out of sync (KVM's FNAME(invlpg)): no sync, the
 * reloads take hidden faults; with age_flush=0 the reloads hit the TLB and
 * a repeated age finds no young PTE: nothing written.
 */
static void test_page_aging_flush(void **state)
{
	(void)state;
	const uint64_t p0 = BASE, p1 = BASE + 4096;
	struct mm_rec r[] = {ld(p0), ld(p1), age(BASE, 8192), ld(p0), ld(p1), age(BASE, 8192)};
	for (int fl = 0; fl <= 1; fl++)
		for (int u = 0; u <= 1; u++) {
			struct mm_config c = cfg("barcelona", fl ? "age_flush=1" : "age_flush=0",
						 u ? "unsync=1" : "unsync=0", NULL);
			struct mm_sim *s = run(&c, 7, r, 5);
			const struct mm_stats *na = mm_sim_stats(s, MM_NATIVE),
					      *ne = mm_sim_stats(s, MM_NESTED),
					      *sh = mm_sim_stats(s, MM_SHADOW);
			assert_int_equal(na->walks, fl ? 4 : 2);
			assert_int_equal(na->ad_writes, fl ? 4 : 2);
			assert_int_equal(ne->ad_writes, fl ? 4 : 2);
			assert_int_equal(sh->walks, fl || !u ? 4 : 2);
			assert_int_equal(sh->exits[MM_EXIT_GUESTPF], 2);
			assert_int_equal(sh->exits[MM_EXIT_HIDDEN], fl || !u ? 4 : 2);
			assert_int_equal(sh->flushes[MM_FLUSH_PTWRITE], u ? 0 : 2);
			assert_int_equal(sh->exits[MM_EXIT_INVLPG], fl ? 2 : 0);
			assert_int_equal(sh->exits[MM_EXIT_PTWRITE], u ? 1 : 3);
			assert_int_equal(sh->syncs, 0);
			uint64_t ptw = sh->pt_writes;
			mm_sim_free(s);
			/* the second age: the reloads made P0, P1 young again only
			 * where they walked (age_flush=1); else nothing to clear */
			s = run(&c, 7, r, 6);
			assert_int_equal(mm_sim_stats(s, MM_SHADOW)->pt_writes - ptw,
					 fl || !u ? 2 : 0);
			assert_int_equal(mm_sim_stats(s, MM_NATIVE)->aged, fl ? 4 : 2);
			mm_sim_free(s);
		}
}

/* ------------------------------------------------------------ agile paging */

/*
 * Agile paging's cold walk, switch at each level (agile_start=k: guest
 * tables at levels <= k in nested mode), no PWC or nested TLB. Derivation,
 * 4-level guest and host: the 4 - k shadow entries above the switch are one
 * reference each; the switch entry holds the host-physical address of the
 * level-k guest table, so that table is read without a nested walk; each of
 * the k - 1 guest tables below it needs a 4-reference nested walk of its
 * gPA before its entry is read; the data gPA needs one more. So
 * (4 - k) + 1 + 5(k - 1) + 4 = 4k + 4 for k = 1..3 (8, 12, 16), 4 with
 * nothing nested (shadow), and with the root nested the walk is plain
 * nested paging from gCR3: 24. Host 2M pages: nested walks are 3
 * references, so (4 - k) + 1 + 4(k - 1) + 3 = 3k + 4 (7, 10, 13), 19 for
 * the root, 4 for none. Guest references (shadow and guest entries) are
 * always 4.
 */
static void test_agile_walks(void **state)
{
	(void)state;
	static const uint64_t want4k[] = {4, 8, 12, 16, 24}, want2m[] = {4, 7, 10, 13, 19};
	for (unsigned k = 0; k <= 4; k++)
		for (int h = 0; h < 2; h++) {
			char ks[32];
			snprintf(ks, sizeof(ks), "agile_start=%u", k);
			struct mm_config c = cfg("barcelona", "pwc=none", "ntlb_entries=0", ks,
						 h ? "host_page=2M" : "host_page=4K", NULL);
			struct mm_rec r = ld(BASE + 0x1234);
			struct mm_sim *s = run(&c, 1u << MM_AGILE, &r, 1);
			const struct mm_stats *st = mm_sim_stats(s, MM_AGILE);
			assert_int_equal(st->walks, 1);
			assert_int_equal(refs(st), h ? want2m[k] : want4k[k]);
			assert_int_equal(st->guest_refs, 4);
			/* the root nested: no shadow entry to fill */
			assert_int_equal(st->exits[MM_EXIT_HIDDEN], k == 4 ? 0 : 1);
			mm_sim_free(s);
		}
}

/*
 * Exits for writes to shadowed and nested levels (agile_start=1: leaf
 * tables nested; no policy moves; shadow without unsync for comparison).
 * A: first touch of BASE: a guest #PF whose missing entry is in the root
 * (shadowed: a guest_pf exit in both), table writes to tables not yet
 * shadowed (no exit), a hidden fault to fill the shadow. B: a second page in
 * the same leaf table: the missing PTE is in a nested-mode table, so agile
 * takes no exit at all (the switch entry already covers the table); shadow
 * takes guest_pf, a trapped PTE write and a hidden fault. C: a new leaf
 * table (BASE + 2M): the missing entry is in the shadowed L2 table: guest_pf,
 * the trapped L2 write, a hidden fault to install the switch entry, in both
 * (the new leaf table is not yet shadowed under shadow paging either).
 * D: E ptwrite of BASE's PTE: shadow traps, agile does not. E: E invlpg:
 * both exit.
 */
static void test_agile_exits(void **state)
{
	(void)state;
	struct mm_config c = cfg("barcelona", "agile_start=1", "agile_writes=0", "unsync=0", NULL);
	struct mm_rec r[] = {ld(BASE), ld(BASE + 4096), ld(BASE + (2u << 20)),
			     ev(MM_PTWRITE, 0, BASE), ev(MM_INVLPG, 0, BASE)};
	static const uint64_t ag[][MM_EXIT_N] = {
	    {0, 1, 1, 0, 0}, {0, 1, 1, 0, 0}, {1, 2, 2, 0, 0}, {1, 2, 2, 0, 0}, {1, 2, 2, 0, 1}};
	static const uint64_t sh[][MM_EXIT_N] = {
	    {0, 1, 1, 0, 0}, {1, 2, 2, 0, 0}, {2, 3, 3, 0, 0}, {3, 3, 3, 0, 0}, {3, 3, 3, 0, 1}};
	for (size_t n = 1; n <= 5; n++) {
		struct mm_sim *s = run(&c, 1u << MM_SHADOW | 1u << MM_AGILE, r, n);
		for (int x = 0; x < MM_EXIT_N; x++) {
			assert_int_equal(mm_sim_stats(s, MM_AGILE)->exits[x], ag[n - 1][x]);
			assert_int_equal(mm_sim_stats(s, MM_SHADOW)->exits[x], sh[n - 1][x]);
		}
		mm_sim_free(s);
	}
}

/*
 * INVLPG in agile paging's shadowed part, as shadow paging's in a table in
 * sync (KVM's FNAME(invlpg): every write to the table was trapped and
 * already dropped the shadow entry it changed, so INVLPG drops nothing
 * more). All levels shadowed (agile_start=0), no policy moves
 * (agile_writes=0), shadow without unsync beside it, no PWC or nested TLB.
 * 1. load X: a guest #PF, a hidden fault, a 4-reference walk.
 * 2. E invlpg X: an INVLPG exit; the TLB entry goes, the shadow PTE stays.
 * 3. load X: a 4-reference walk, no hidden fault.
 * 4. E ptwrite X: a trapped write (PT-write exit) that zaps the present
 *    shadow PTE (and flushes the VM's TLBs: a pt_write flush).
 * 5. E invlpg X: an INVLPG exit.
 * 6. load X: the shadow PTE is gone: a hidden fault, a 4-reference walk.
 * Both modes: walks 3 (all 4 references, 12 in all), #PF 1, hidden 2,
 * PT-write 1, INVLPG 2, pt_write flushes 1. Under the rule before (agile's
 * INVLPG dropped the shadow PTE) step 3 took a third hidden fault.
 */
static void test_agile_invlpg(void **state)
{
	(void)state;
	struct mm_config c = cfg("barcelona", "pwc=none", "ntlb_entries=0", "agile_start=0",
				 "agile_writes=0", "unsync=0", NULL);
	struct mm_rec r[] = {ld(BASE),
			     ev(MM_INVLPG, 0, BASE),
			     ld(BASE),
			     ev(MM_PTWRITE, 0, BASE),
			     ev(MM_INVLPG, 0, BASE),
			     ld(BASE)};
	static const uint64_t walks[] = {1, 1, 2, 2, 2, 3}, hidden[] = {1, 1, 1, 1, 1, 2},
			      invl[] = {0, 1, 1, 1, 2, 2};
	for (size_t n = 1; n <= 6; n++) {
		struct mm_sim *s = run(&c, 1u << MM_SHADOW | 1u << MM_AGILE, r, n);
		for (int k = 0; k < 2; k++) {
			const struct mm_stats *st = mm_sim_stats(s, k ? MM_AGILE : MM_SHADOW);
			assert_int_equal(st->walks, walks[n - 1]);
			assert_int_equal(refs(st), 4 * walks[n - 1]);
			assert_int_equal(st->exits[MM_EXIT_GUESTPF], 1);
			assert_int_equal(st->exits[MM_EXIT_HIDDEN], hidden[n - 1]);
			assert_int_equal(st->exits[MM_EXIT_PTWRITE], n >= 4);
			assert_int_equal(st->exits[MM_EXIT_INVLPG], invl[n - 1]);
			assert_int_equal(st->flushes[MM_FLUSH_PTWRITE], n >= 4);
		}
		mm_sim_free(s);
	}
}

/*
 * The policy on a synthetic trace (agile_writes=2, agile_epoch=8 records,
 * no caches in the way of the counts that matter: walk lengths are exact
 * whatever the caches). 0: load BASE (guest_pf, hidden fault, a 4-reference
 * shadow walk; every table on the path shadowed). 1, 2: two rewrites of its
 * PTE: two trapped PT-write exits; the second is the agile_writes-th in the
 * epoch, so the leaf table moves to nested mode. 3: INVLPG (exit). 4: load:
 * the switch entry is in place (no hidden fault), an 8-reference walk.
 * 5: a rewrite in the nested table: no exit, the table counts as written.
 * 6-15: loads of BASE (TLB hits). The epoch ending before record 8 keeps
 * the table nested (written); the one before 16 returns it to shadow mode
 * (not written since): its switch entry is dropped. 16: INVLPG (exit).
 * 17: load: a hidden fault refills the shadow down to the PTE, a 4-reference
 * walk.
 */
static void test_agile_policy(void **state)
{
	(void)state;
	struct mm_config c = cfg("barcelona", "pwc=none", "agile_writes=2", "agile_epoch=8", NULL);
	struct mm_rec r[18];
	for (int i = 0; i < 18; i++)
		r[i] = ld(BASE);
	r[1] = r[2] = r[5] = ev(MM_PTWRITE, 0, BASE);
	r[3] = r[16] = ev(MM_INVLPG, 0, BASE);
	for (size_t split = 0; split < 18; split += 17) { /* one batch, or one record each */
		struct mm_sim *s;
		struct ok_err e;
		assert_int_equal(mm_sim_new(&s, &c, 1u << MM_AGILE, 1, &e), 0);
		if (split)
			for (size_t i = 0; i < 18; i++)
				assert_int_equal(mm_sim_feed(s, &r[i], 1, &e), 0);
		else
			assert_int_equal(mm_sim_feed(s, r, 18, &e), 0);
		const struct mm_stats *st = mm_sim_stats(s, MM_AGILE);
		assert_int_equal(st->ag_to_nested, 1);
		assert_int_equal(st->ag_to_shadow, 1);
		assert_int_equal(st->walks, 3);
		assert_int_equal(st->walk_hist[4], 2);
		assert_int_equal(st->walk_hist[8], 1);
		assert_int_equal(st->exits[MM_EXIT_PTWRITE], 2);
		assert_int_equal(st->exits[MM_EXIT_INVLPG], 2);
		assert_int_equal(st->exits[MM_EXIT_HIDDEN], 2);
		assert_int_equal(st->exits[MM_EXIT_GUESTPF], 1);
		mm_sim_free(s);
	}
}

/*
 * Agile paging with two VMs, as vm_run for the other modes: VM 0 loads X;
 * E vm 1; VM 1 loads X; E vm 0; VM 0 loads X. The leaf tables are nested
 * (agile_start=1), no PWC or nested TLB: a cold walk is 3 shadow entries,
 * the PTE (its table's host address is in the switch entry) and a
 * 4-reference nested walk of the data gPA: 8. Each first touch costs a
 * guest #PF (the missing root entry is in a shadowed table) and a hidden
 * fault that installs the switch entry: 4 exits. With VM tags (asids=64,
 * by VPID, or with shadow_as_tags by an ASID per address space) VM 0's
 * entry survives VM 1's run: 2 walks, 16 references. Without (asids=0)
 * every VM switch and exit flushes all: 3 walks, 24 references, and the
 * third walk finds VM 0's switch entry still in VM 0's shadow table (no
 * exit); 4 + 2 = 6 flushes.
 */
static void test_agile_two_vms(void **state)
{
	(void)state;
	struct {
		const char *asids, *sat;
		uint64_t walks, flushes;
	} k[] = {{"asids=64", "shadow_as_tags=0", 2, 0},
		 {"asids=64", "shadow_as_tags=1", 2, 0},
		 {"asids=0", "shadow_as_tags=0", 3, 6}};
	struct mm_rec r[] = {ld(BASE), ev(MM_VM, 1, 0), ld(BASE), ev(MM_VM, 0, 0), ld(BASE)};
	for (size_t i = 0; i < 3; i++) {
		struct mm_config c = cfg("barcelona", "pwc=none", "ntlb_entries=0", "agile_start=1",
					 k[i].asids, k[i].sat, NULL);
		struct mm_sim *s = run(&c, 1u << MM_AGILE, r, 5);
		const struct mm_stats *ag = mm_sim_stats(s, MM_AGILE);
		assert_int_equal(ag->walks, k[i].walks);
		assert_int_equal(refs(ag), 8 * k[i].walks);
		assert_int_equal(ag->walk_hist[8], k[i].walks);
		assert_int_equal(ag->exits[MM_EXIT_GUESTPF], 2);
		assert_int_equal(ag->exits[MM_EXIT_HIDDEN], 2);
		assert_int_equal(mm_stats_exits(ag), 4);
		assert_int_equal(ag->flushes[MM_FLUSH_VMEXIT], k[i].flushes);
		struct mm_stats v0, v1;
		mm_sim_vm_stats(s, 0, MM_AGILE, &v0);
		mm_sim_vm_stats(s, 1, MM_AGILE, &v1);
		assert_int_equal(v1.walks, 1);
		assert_int_equal(v0.walks, k[i].walks - 1);
		assert_int_equal(mm_stats_exits(&v0), 2);
		assert_int_equal(mm_stats_exits(&v1), 2);
		mm_sim_free(s);
	}
}

/*
 * Each VM's switch points are its own (agile_writes=2, no epochs, no PWC
 * or nested TLB). VM 0: load X (a #PF, a hidden fault, a 4-reference
 * shadow walk); two rewrites of X's PTE (two trapped writes: the second
 * moves VM 0's leaf table to nested mode); INVLPG X; load X: an
 * 8-reference walk through the switch entry. E vm 1: load X: VM 1's tables
 * are all shadowed, a #PF, a hidden fault, 4 references. E vm 0: INVLPG X,
 * load X: 8 again, no hidden fault (the switch entry stays). E vm 1:
 * INVLPG X, load X: the INVLPG drops the TLB entry and, VM 1's leaf table
 * being shadowed and in sync, leaves its shadow PTE (KVM's FNAME(invlpg)),
 * so the walk is 4 with no hidden fault. Totals: walks of 4, 8, 4, 8, 4;
 * exits: 2 #PF, 2 hidden faults, 2 PT writes, 3 INVLPG; one table moved.
 */
static void test_agile_vm_switch_state(void **state)
{
	(void)state;
	struct mm_config c =
	    cfg("barcelona", "pwc=none", "ntlb_entries=0", "agile_writes=2", "agile_epoch=0", NULL);
	struct mm_rec r[] = {ld(BASE),
			     ev(MM_PTWRITE, 0, BASE),
			     ev(MM_PTWRITE, 0, BASE),
			     ev(MM_INVLPG, 0, BASE),
			     ld(BASE),
			     ev(MM_VM, 1, 0),
			     ld(BASE),
			     ev(MM_VM, 0, 0),
			     ev(MM_INVLPG, 0, BASE),
			     ld(BASE),
			     ev(MM_VM, 1, 0),
			     ev(MM_INVLPG, 0, BASE),
			     ld(BASE)};
	struct mm_sim *s = run(&c, 1u << MM_AGILE, r, sizeof(r) / sizeof(r[0]));
	const struct mm_stats *ag = mm_sim_stats(s, MM_AGILE);
	assert_int_equal(ag->walks, 5);
	assert_int_equal(ag->walk_hist[4], 3);
	assert_int_equal(ag->walk_hist[8], 2);
	assert_int_equal(ag->exits[MM_EXIT_GUESTPF], 2);
	assert_int_equal(ag->exits[MM_EXIT_HIDDEN], 2);
	assert_int_equal(ag->exits[MM_EXIT_PTWRITE], 2);
	assert_int_equal(ag->exits[MM_EXIT_INVLPG], 3);
	assert_int_equal(ag->ag_to_nested, 1);
	struct mm_stats v0, v1;
	mm_sim_vm_stats(s, 0, MM_AGILE, &v0);
	mm_sim_vm_stats(s, 1, MM_AGILE, &v1);
	assert_int_equal(v0.walk_hist[8], 2);
	assert_int_equal(v0.walk_hist[4], 1);
	assert_int_equal(v1.walk_hist[4], 2);
	assert_int_equal(v1.walk_hist[8], 0);
	mm_sim_free(s);
}

/*
 * EPT accessed/dirty flags (ept_ad=1), no PWC or nested TLB, so every
 * nested walk reaches its host leaf entry. A cold 2D walk uses 5 host leaf
 * entries (the 4 guest table pages and the data page), each set once by a
 * locked write, and sets the guest PTE's accessed bit: 6 writes (1 with
 * ept_ad=0: the guest PTE only). A second page in the same
 * guest leaf table: its data page is a new host entry, the 4 table pages'
 * are set already: 1 + its guest PTE = 2 more. Agile with the leaf table
 * nested (agile_start=1): the switch entry holds the leaf table's
 * host-physical address, so only the data gPA's nested walk touches a host
 * entry: 1 + the guest PTE = 2 per page. References are unchanged (24, 8).
 */
static void test_ept_ad(void **state)
{
	(void)state;
	struct mm_rec r[] = {ld(BASE), ld(BASE + 4096)};
	for (int ad = 0; ad <= 1; ad++) {
		struct mm_config c = cfg("barcelona", "pwc=none", "ntlb_entries=0", "agile_start=1",
					 ad ? "ept_ad=1" : "ept_ad=0", NULL);
		struct mm_sim *s = run(&c, 1u << MM_NESTED | 1u << MM_AGILE, r, 1);
		const struct mm_stats *ne = mm_sim_stats(s, MM_NESTED),
				      *ag = mm_sim_stats(s, MM_AGILE);
		assert_int_equal(refs(ne), 24);
		assert_int_equal(refs(ag), 8);
		assert_int_equal(ne->ad_writes, ad ? 6 : 1);
		assert_int_equal(ag->ad_writes, ad ? 2 : 1);
		mm_sim_free(s);
		s = run(&c, 1u << MM_NESTED | 1u << MM_AGILE, r, 2);
		assert_int_equal(mm_sim_stats(s, MM_NESTED)->ad_writes, ad ? 8 : 2);
		assert_int_equal(mm_sim_stats(s, MM_AGILE)->ad_writes, ad ? 4 : 2);
		mm_sim_free(s);
	}
}

/* ----------------------------------------------- fast path against reference */

/* xorshift64*: the mixed trace's generator (seeded, so a failure repeats). */
static uint64_t xs(uint64_t *x)
{
	*x ^= *x >> 12, *x ^= *x << 25, *x ^= *x >> 27;
	return *x * 0x2545f4914f6cdd1dull;
}

/*
 * A random trace that takes every shortcut of the fast path and breaks it:
 * runs of sequential data accesses (repeats of the last line and page, the
 * next line of the page, the next page), repeats of one line, instruction
 * runs, random places in 256 KiB and 16 MiB (TLB hits and misses, set
 * conflicts in the caches), page-crossing and size-0 accesses, stores to
 * copy-on-write pages after forks, and events (switches among 3 processes,
 * PTE rewrites, INVLPG, faults, unmaps, mprotect, aging, full flushes,
 * forks, a second VM) that must end every repeat.
 */
static size_t mixed_trace(struct mm_rec *r, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1, a = BASE, ia = BASE + (64ull << 20);
	size_t i = 0;
	uint32_t child = 3;
	while (i < n) {
		uint64_t k = xs(&x) % 1000, y = xs(&x);
		uint8_t op = (uint8_t)(MM_LOAD + y % 3);
		if (k < 450) { /* a sequential run of one op and size */
			uint16_t sz = (uint16_t)(y >> 8 & 1 ? 8 : 4);
			for (uint64_t j = 0, len = 1 + (y >> 16) % 100; j < len && i < n;
			     j++, a += sz)
				r[i++] = (struct mm_rec){.addr = a, .size = sz, .op = op};
			continue;
		}
		if (k < 550) { /* repeats of one line */
			for (uint64_t j = 0, len = 1 + (y >> 16) % 20; j < len && i < n; j++)
				r[i++] = (struct mm_rec){.addr = a + j % 8, .size = 1, .op = op};
			continue;
		}
		if (k < 700) { /* instruction fetches, sometimes a jump */
			if (y >> 8 & 1)
				ia = BASE + (64ull << 20) + (y >> 20) % (1u << 20);
			for (uint64_t j = 0, len = 1 + (y >> 32) % 40; j < len && i < n;
			     j++, ia += 3)
				r[i++] = (struct mm_rec){.addr = ia, .size = 3, .op = MM_IFETCH};
			continue;
		}
		if (k < 900) { /* random places in a small or a large working set */
			uint64_t ws = y >> 8 & 1 ? 16u << 20 : 256u << 10;
			for (uint64_t j = 0, len = 1 + (y >> 40) % 64; j < len && i < n; j++) {
				a = BASE + (xs(&x) >> 12) % ws;
				r[i++] = (struct mm_rec){.addr = a, .size = 8, .op = op};
			}
			continue;
		}
		if (k < 940) { /* across a page end, or size 0 */
			a = (BASE + (y >> 12) % (1u << 20)) | 0xffc;
			r[i++] = (struct mm_rec){
			    .addr = a, .size = (uint16_t)(y >> 8 & 1 ? 8 : 0), .op = op};
			continue;
		}
		uint64_t pg = BASE + ((y >> 12) % (1u << 20) & ~0xfffull);
		struct mm_rec e = {.addr = pg};
		switch (k % 12) {
		case 0:
		case 1:
		case 2:
			e.op = MM_SWITCH, e.pid = (uint32_t)(y >> 40) % (child - 1);
			break;
		case 3:
			e.op = MM_PTWRITE;
			break;
		case 4:
			e.op = MM_INVLPG;
			break;
		case 5:
			e.op = MM_FAULT;
			break;
		case 6:
			e.op = MM_UNMAP, e.len = 4096 * (1 + (y >> 40) % 40);
			break;
		case 7:
			e.op = MM_MPROTECT, e.len = 4096 * (1 + (y >> 40) % 8);
			break;
		case 8:
			e.op = MM_AGE, e.len = 4096 * (1 + (y >> 40) % 64);
			break;
		case 9:
			e.op = MM_FLUSH;
			break;
		case 10: /* a fork now and then (the children stay, pids 3 and up) */
			if (y >> 40 & 7)
				continue;
			e.op = MM_FORK, e.pid = child++;
			break;
		default: /* a second VM now and then */
			if (y >> 40 & 3)
				continue;
			e.op = MM_VM, e.pid = (uint32_t)(y >> 48) & 1;
			break;
		}
		r[i++] = e;
	}
	return i;
}

/* A simulator with the fast path and one in the reference form
 * (mm_sim_reference), both of config c and modes mask. */
static void sim_pair(const struct mm_config *c, unsigned mask, struct mm_sim **f,
		     struct mm_sim **ref, struct ok_err *e)
{
	ok_err_clear(e);
	assert_int_equal(mm_sim_new(f, c, mask, 1, e), 0);
	assert_int_equal(mm_sim_new(ref, c, mask, 1, e), 0);
	mm_sim_reference(*ref);
}

/*
 * Feeds r[0..n) to the fast simulator f in uneven batches (batch boundaries
 * end its loops) and to ref, the reference form, one record at a time, then
 * asks that every mode's statistics be equal. One loop for
 * test_fast_vs_reference and test_dc_impls, which differ only in trace and
 * configuration; what (the caller's preset, modes, routine or geometry)
 * opens each failure message, followed by the counters either caller
 * printed.
 */
static void feed_compare(struct mm_sim *f, struct mm_sim *ref, const struct mm_rec *r, size_t n,
			 const char *what)
{
	struct ok_err e;
	ok_err_clear(&e);
	for (size_t i = 0, b = 1; i < n; i += b, b = b * 7 % 1013 + 1)
		if (mm_sim_feed(f, r + i, i + b < n ? b : n - i, &e))
			fail_msg("%s: fast, record %zu: %s", what, i, e.msg);
	for (size_t i = 0; i < n; i++)
		if (mm_sim_feed(ref, r + i, 1, &e))
			fail_msg("%s: reference, record %zu: %s", what, i, e.msg);
	for (enum mm_mode m = MM_NATIVE; m < MM_MODE_N; m++) {
		const struct mm_stats *a = mm_sim_stats(f, m), *b = mm_sim_stats(ref, m);
		if (memcmp(a, b, sizeof(*a)))
			fail_msg("%s: %s differs (accesses %llu/%llu, l1 hits %llu/%llu, "
				 "data l1d %llu/%llu, l2 %llu/%llu, llc %llu/%llu)",
				 what, mm_mode_names[m], (unsigned long long)a->accesses,
				 (unsigned long long)b->accesses, (unsigned long long)a->l1_hits,
				 (unsigned long long)b->l1_hits,
				 (unsigned long long)a->data_at[MM_AT_DC1],
				 (unsigned long long)b->data_at[MM_AT_DC1],
				 (unsigned long long)a->data_at[MM_AT_DC2],
				 (unsigned long long)b->data_at[MM_AT_DC2],
				 (unsigned long long)a->data_at[MM_AT_DC3],
				 (unsigned long long)b->data_at[MM_AT_DC3]);
	}
}

/*
 * The fast path against the reference form (mm_sim_reference: every access
 * the whole way, the data caches as plain LRU arrays): on mixed traces, for
 * each mode alone and all four together, with and without the cache model,
 * on each preset, every statistic must be equal. The fast path gets the
 * trace in uneven batches (batch boundaries end its loops), the reference
 * one record at a time.
 */
static void test_fast_vs_reference(void **state)
{
	(void)state;
	enum { N = 30000 };
	struct mm_rec *r = malloc(N * sizeof(*r));
	assert_non_null(r);
	const char *presets[] = {"barcelona", "nehalem", "modern"};
	const unsigned masks[] = {1, 2, 4, 8, 15};
	for (unsigned p = 0; p < 3; p++)
		for (unsigned data = 0; data < 2; data++) {
			struct mm_config c = cfg(presets[p], data ? "data_refs=1" : "data_refs=0",
						 "agile_epoch=5000", NULL);
			size_t n = mixed_trace(r, N, p * 2 + data + 1);
			for (unsigned k = 0; k < sizeof(masks) / sizeof(masks[0]); k++) {
				struct mm_sim *f, *ref;
				struct ok_err e;
				char what[64];
				sim_pair(&c, masks[k], &f, &ref, &e);
				snprintf(what, sizeof(what), "%s data_refs=%u modes %u", presets[p],
					 data, masks[k]);
				feed_compare(f, ref, r, n, what);
				if (masks[k] == 15) { /* the trace reaches what it is meant to */
					const struct mm_stats *st = mm_sim_stats(f, MM_NESTED);
					assert_true(st->walks > 500 && st->l2_hits > 100);
					assert_true(mm_stats_exits(mm_sim_stats(f, MM_SHADOW)) >
						    500);
					assert_true(!data || (st->data_at[MM_AT_DC1] > 1000 &&
							      st->data_at[MM_AT_DC2] > 0 &&
							      st->data_at[MM_AT_DC3] > 0));
				}
				mm_sim_free(f);
				mm_sim_free(ref);
			}
		}
	free(r);
}

/*
 * The host-walk memo (hmemo_slot in sim.c: each guest leaf entry's data
 * page's host entries, a copy kept by the fast path only) against the
 * reference form, which reads the host table on every walk: on the mixed
 * trace with host EPT accessed flags (a copy made before a mode set its
 * flag must not be trusted), host 2 MiB and 1 GiB pages, 5 host levels,
 * VA-tagged host PSCs and guest 2 MiB pages; and on rounds of two VMs in
 * turn in a 16 MiB guest, each round a new process touching 512 pages
 * twice and exiting, so that guest tables and frames are freed and reused,
 * also by the other VM, whose host table is another (a slot whose gPA
 * matches but whose VM does not must not be used). Short agile epochs
 * return tables to shadow mode, whose refills (shadow_fill) read the slots
 * the nested walks left.
 */
static void test_host_memo(void **state)
{
	(void)state;
	enum { N = 30000, ROUNDS = 24 };
	struct mm_rec *r = malloc((N > ROUNDS * 1030 ? N : ROUNDS * 1030) * sizeof(*r));
	assert_non_null(r);
	const char *sets[][3] = {
	    {"barcelona", "ept_ad=1", NULL},	 {"barcelona", "host_page=2M", NULL},
	    {"barcelona", "host_page=1G", NULL}, {"modern", "host_levels=5", NULL},
	    {"nehalem", "ept_ad=1", NULL},	 {"barcelona", "guest_page=2M", "ept_ad=1"},
	};
	const unsigned masks[] = {4, 8, 15};
	for (unsigned t = 0; t < 2; t++) {
		size_t n = 0;
		if (t == 0) {
			n = mixed_trace(r, N, 11);
		} else {
			for (uint32_t k = 0; k < ROUNDS; k++) {
				r[n++] = ev(MM_VM, k & 1, 0);
				r[n++] = ev(MM_SWITCH, 100 + k, 0);
				for (uint64_t lap = 0; lap < 2; lap++)
					for (uint64_t pg = 0; pg < 512; pg++)
						r[n++] = ld(BASE + pg * 4096 + lap * 64);
				r[n++] = ev(MM_EXIT, 100 + k, 0);
			}
		}
		for (size_t c = 0; c < sizeof(sets) / sizeof(sets[0]); c++) {
			/* the second key, or the first again (cfg stops at NULL) */
			const char *kv2 = sets[c][2] ? sets[c][2] : sets[c][1];
			struct mm_config cf = cfg(sets[c][0], sets[c][1], kv2, "agile_epoch=3000",
						  t ? "guest_mem=16M" : NULL, NULL);
			for (size_t k = 0; k < sizeof(masks) / sizeof(masks[0]); k++) {
				struct mm_sim *f, *ref;
				struct ok_err e;
				char what[96];
				sim_pair(&cf, masks[k], &f, &ref, &e);
				snprintf(what, sizeof(what), "%s trace %s %s %s modes %u",
					 t ? "VM rounds" : "mixed", sets[c][0], sets[c][1],
					 sets[c][2] ? sets[c][2] : "", masks[k]);
				feed_compare(f, ref, r, n, what);
				mm_sim_free(f);
				mm_sim_free(ref);
			}
		}
	}
	free(r);
}

/*
 * A random trace built to stress the run shortcut (feed_repeats, the
 * known-last page and line): repeats of one line in every op and size
 * (size 0 included), two lines of two pages at one page offset taken in
 * turn (one set of a 64-set L1D), sequential runs over page ends (some
 * accesses crossing into the next page), runs over the 4 KiB pages of one
 * 2 MiB region, instruction fetches on a data page, and the same line again
 * after each kind of event (INVLPG, PTE write, fault, switch away and back,
 * full flush, mprotect then a store, aging, unmap, fork), a fetch from the
 * same page on either side of the event. cut[] receives up to *ncut
 * indices i (*ncut is set to their count) with r[i - 1] and r[i] on one
 * line (inside a run), where the test ends warm-up and intervals.
 */
static size_t run_trace(struct mm_rec *r, size_t n, uint64_t seed, size_t *cut, size_t *ncut)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 7, line = BASE;
	size_t i = 0, nc = 0;
	uint32_t child = 3;
	while (i + 9 < n) {
		uint64_t k = xs(&x) % 100, y = xs(&x);
		uint8_t op = (uint8_t)(MM_IFETCH + y % 4);
		/* a line in 8 MiB, in one of 4 hot pages now and then */
		if (y >> 4 & 1)
			line = BASE + ((y >> 8) % (8u << 20) & ~63ull);
		else
			line = BASE + ((y >> 8) % 4) * 4096 + ((y >> 20) % 64) * 64;
		if (k < 30) { /* one line repeated */
			uint16_t sz = (uint16_t)((y >> 30) % 5 == 0 ? 0 : 1u << (y >> 32) % 4);
			size_t len = 2 + (y >> 36) % 30, start = i;
			if (!sz && (y >> 50) & 1) /* size 0 at a page start: its byte is the
						   * previous page's last */
				line &= ~0xfffull;
			for (size_t j = 0; j < len && i < n; j++)
				r[i++] = (struct mm_rec){
				    .addr = line + (sz ? (j * sz) % 64 / sz * sz : j % 64),
				    .size = sz,
				    .op = op};
			if (len >= 4 && start + len / 2 < i && nc < *ncut && (y >> 44) % 4 == 0)
				cut[nc++] = start + len / 2;
		} else if (k < 38) { /* two lines at one page offset, in turn */
			uint64_t other = line + 4096 * (1 + (y >> 36) % 3);
			for (size_t j = 0, len = 2 + (y >> 40) % 20; j < len && i < n; j++)
				r[i++] = ld(j & 1 ? other : line);
		} else if (k < 42) { /* a line, in turn with fetches from new pages: their
				      * walks' lines may evict it from the L1D */
			for (size_t j = 0, len = 2 + (y >> 40) % 20; j < len && i < n; j++)
				r[i++] = j & 1
					     ? (struct mm_rec){.addr = BASE + (64ull << 20) +
								       (xs(&x) >> 12) % (64u << 20),
							       .size = 2,
							       .op = MM_IFETCH}
					     : ld(line + j % 8);
		} else if (k < 58) { /* sequential across a page end */
			uint64_t a = (line | 0xfff) + 1 - 8 * (1 + (y >> 36) % 40);
			uint16_t sz = (uint16_t)((y >> 50) & 1 ? 8 : 12);
			for (size_t j = 0, len = 2 + (y >> 42) % 80; j < len && i < n; j++, a += 8)
				r[i++] = (struct mm_rec){.addr = a, .size = sz, .op = op};
		} else if (k < 66) { /* the 4 KiB pages of one 2 MiB region, a line each */
			uint64_t a = (line & ~0x1fffffull) + ((y >> 36) % 512) * 4096;
			for (size_t j = 0, len = 2 + (y >> 46) % 12; j < len && i < n; j++)
				r[i++] = ld(a + j * 4096 + j % 3 * 64);
		} else if (k < 72) { /* fetches and loads on one page */
			for (size_t j = 0, len = 2 + (y >> 36) % 12; j < len && i < n; j++)
				r[i++] =
				    (struct mm_rec){.addr = line + j * 4,
						    .size = 4,
						    .op = (uint8_t)(j % 3 ? MM_LOAD : MM_IFETCH)};
		} else { /* the line, an event, the line again */
			struct mm_rec e = {.addr = line & ~0xfffull};
			const struct mm_rec f = {.addr = line ^ 32, .size = 4, .op = MM_IFETCH};
			if (op == MM_IFETCH)
				op = MM_LOAD;
			/* a data access and a fetch on the page, so both streams repeat it */
			r[i++] = (struct mm_rec){.addr = line, .size = 8, .op = op};
			r[i++] = f;
			switch (k % 10) {
			case 0:
				e.op = MM_INVLPG;
				break;
			case 1:
				e.op = MM_PTWRITE;
				break;
			case 2:
				e.op = MM_FAULT;
				break;
			case 3: /* away and back */
				r[i++] = ev(MM_SWITCH, 1 + (y >> 36) % 2, 0);
				e.op = MM_SWITCH, e.pid = 0;
				break;
			case 4:
				e.op = MM_FLUSH;
				break;
			case 5:
				e.op = MM_MPROTECT, e.len = 4096;
				op = MM_STORE;
				break;
			case 6:
				e.op = MM_AGE, e.len = 4096 * (1 + (y >> 36) % 4);
				break;
			case 7:
				e.op = MM_UNMAP, e.len = 4096;
				break;
			case 8:
				if (y >> 36 & 3)
					continue;
				e.op = MM_FORK, e.pid = child++;
				op = MM_STORE; /* a copy-on-write fault after the fork */
				break;
			default:
				e.op = MM_INVLPG, e.addr = line ^ 0x1000; /* another page */
				break;
			}
			r[i++] = e;
			for (size_t j = 0, len = 1 + (y >> 40) % 4; j < len && i < n; j++)
				r[i++] =
				    j & 1 ? f
					  : (struct mm_rec){.addr = line + j, .size = 4, .op = op};
		}
	}
	*ncut = nc;
	return i;
}

/*
 * Data accesses that the run shortcut queues (other lines of the last data
 * page, data_batch) with hits at every level and every recency position:
 * laps over a few pages, each page's lines in ascending order with
 * repeats, or in a random order, a working set from 1 to 48 pages (64 to
 * 3072 lines against caches of 48 to 1024 lines), half of the time at most
 * 6 pages; now and then over 512 accesses to two lines of one page in
 * turn (the queue fills inside a run).
 */
static size_t dc_trace(struct mm_rec *r, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 11;
	size_t i = 0;
	while (i < n) {
		uint64_t y = xs(&x), pages = 1 + (y >> 1) % (y & 1 ? 6 : 48);
		if (y % 16 == 0) { /* one page, two lines in turn: more queued than
				    * one batch holds, with repeats now and then */
			uint64_t pg = BASE + (y >> 8) % 64 * 4096;
			for (uint64_t k = 0, len = 600 + (y >> 20) % 600; k < len && i < n; k++)
				r[i++] = ld(
				    pg + (k / (1 + (y >> 50) % 3) & 1) * 64 * (1 + (y >> 40) % 63) +
				    k % 8 * 8);
			continue;
		}
		uint64_t base = BASE + ((y >> 8) % 4) * (1u << 20);
		for (uint64_t lap = 0; lap < 1 + (y >> 16) % 3; lap++)
			for (uint64_t p = 0; p < pages && i < n; p++) {
				uint64_t z = xs(&x), step = 1 + z % 4, pg = base + p * 4096;
				if (z >> 8 & 1) { /* ascending, each line 1 to 3 times */
					for (uint64_t l = 0; l < 64 && i < n; l += step)
						for (uint64_t k = 0; k <= (z >> 12) % 3 && i < n;
						     k++)
							r[i++] = ld(pg + l * 64 + k * 8);
				} else { /* 64 lines of the page in a random order */
					for (uint64_t k = 0; k < 64 && i < n; k++)
						r[i++] = ld(pg + (xs(&x) >> 20) % 64 * 64);
				}
			}
	}
	return i;
}

/*
 * Each data-cache batch routine (mm_sim_dc_impl: avx512, avx2, sse2, c, as
 * far as this CPU runs them) against the reference form, on dc_trace and
 * on caches of 1 to 128 ways (a set of fewer ways than one compare, exactly
 * one, one and a half, several, more than one test holds): every statistic
 * equal, and the trace reaching every level.
 */
static void test_dc_impls(void **state)
{
	(void)state;
	enum { N = 40000 };
	struct mm_rec *r = malloc(N * sizeof(*r));
	assert_non_null(r);
	const char *geo[][6] = {
	    {"dc1_kib=4", "dc1_ways=2", "dc2_kib=20", "dc2_ways=20", "dc3_kib=64", "dc3_ways=32"},
	    {"dc1_kib=3", "dc1_ways=3", "dc2_kib=12", "dc2_ways=12", "dc3_kib=40", "dc3_ways=40"},
	    {"dc1_kib=8", "dc1_ways=8", "dc2_kib=16", "dc2_ways=16", "dc3_kib=48", "dc3_ways=24"},
	    {"dc1_kib=2", "dc1_ways=1", "dc2_kib=72", "dc2_ways=72", "dc3_kib=128", "dc3_ways=128"},
	};
	const char *impls[] = {"avx512", "avx2", "sse2", "c"};
	unsigned ran = 0;
	for (unsigned g = 0; g < sizeof(geo) / sizeof(geo[0]); g++) {
		struct mm_config c = cfg("barcelona", geo[g][0], geo[g][1], geo[g][2], geo[g][3],
					 geo[g][4], geo[g][5], NULL);
		size_t n = dc_trace(r, N, g + 1);
		for (unsigned k = 0; k < sizeof(impls) / sizeof(impls[0]); k++) {
			struct mm_sim *f, *ref;
			struct ok_err e;
			sim_pair(&c, 15, &f, &ref, &e);
			assert_null(mm_sim_dc_impl(f, "mmx"));
			if (!mm_sim_dc_impl(f, impls[k])) { /* this CPU lacks it */
				mm_sim_free(f);
				mm_sim_free(ref);
				continue;
			}
			assert_string_equal(mm_sim_dc_impl(f, NULL), impls[k]);
			ran |= 1u << k;
			char what[64];
			snprintf(what, sizeof(what), "%s, geometry %u", impls[k], g);
			feed_compare(f, ref, r, n, what);
			for (enum mm_mode m = MM_NATIVE; m < MM_MODE_N; m++) {
				const struct mm_stats *a = mm_sim_stats(f, m);
				for (int w = MM_AT_DC1; w < MM_WHERE_N; w++)
					assert_true(a->data_at[w] > 500);
			}
			mm_sim_free(f);
			mm_sim_free(ref);
		}
	}
	assert_true(ran & 1u << 3); /* the C routine runs everywhere */
	free(r);
}

/*
 * The run shortcut against the reference form on run_trace, on each preset,
 * with 4 KiB pages, with 2 MiB guest and host pages (runs as long as the
 * page; the shortcut's own page stays 4 KiB) and untagged (asids=0: every
 * VM exit flushes the TLBs), native alone (no VM exit to end a run) and all
 * four modes: the statistics of the warm-up and of every interval must be
 * equal. It found 'E ptwrite' leaving a fork's write-protection in the
 * known-mapped cache (the fast path took a copy-on-write fault that the
 * rewritten, writable PTE does not take). As
 * mmusim's --warmup and --interval do, the feed is cut at each boundary
 * (here inside a run of one line), the warm-up ends with
 * mm_sim_reset_stats, and each interval is the statistics when it ends
 * minus those when it began.
 */

static void test_run_shortcut(void **state)
{
	(void)state;
	enum { N = 12000, CUTS = 6 };
	struct mm_rec *r = malloc(N * sizeof(*r));
	assert_non_null(r);
	const char *presets[] = {"barcelona", "nehalem", "modern"};
	/* 4K pages, 2M pages, untagged (every VM exit flushes the TLBs) */
	const char *vars[][3] = {{"guest_page=4K", "host_page=4K", NULL},
				 {"guest_page=2M", "host_page=2M", NULL},
				 {"guest_page=4K", "host_page=4K", "asids=0"}};
	const char *const vname[] = {"4K pages", "2M pages", "asids=0"};
	const unsigned masks[] = {1, 15};
	for (unsigned p = 0; p < 3; p++)
		for (unsigned big = 0; big < 3; big++)
			for (unsigned k = 0; k < 2; k++) {
				struct mm_config c =
				    cfg(presets[p], "data_refs=1", "agile_epoch=3000", vars[big][0],
					vars[big][1], vars[big][2], NULL);
				size_t cut[CUTS + 1], nc = CUTS;
				size_t n = run_trace(r, N, p * 3 + big + 1, cut, &nc);
				assert_true(nc >= 3);
				cut[nc] = n;
				struct mm_sim *f, *ref;
				struct ok_err e;
				sim_pair(&c, masks[k], &f, &ref, &e);
				struct mm_stats fa[MM_MODE_N], ra[MM_MODE_N];
				memset(fa, 0, sizeof(fa));
				memset(ra, 0, sizeof(ra));
				for (size_t b = 0, from = 0; b <= nc; from = cut[b++]) {
					/* the fast path in two uneven batches, the reference by
					 * record */
					size_t mid = from + (cut[b] - from) / 3;
					if (mm_sim_feed(f, r + from, mid - from, &e) ||
					    mm_sim_feed(f, r + mid, cut[b] - mid, &e))
						fail_msg("fast, records %zu..%zu: %s", from, cut[b],
							 e.msg);
					for (size_t i = from; i < cut[b]; i++)
						if (mm_sim_feed(ref, r + i, 1, &e))
							fail_msg("reference, record %zu: %s", i,
								 e.msg);
					for (enum mm_mode m = MM_NATIVE; m < MM_MODE_N; m++) {
						struct mm_stats a, d;
						mm_stats_sub(&a, mm_sim_stats(f, m), &fa[m]);
						mm_stats_sub(&d, mm_sim_stats(ref, m), &ra[m]);
						if (memcmp(&a, &d, sizeof(a)))
							fail_msg(
							    "%s %s modes %u, %s, interval %zu "
							    "(records "
							    "%zu..%zu): l1 hits %llu/%llu, walks "
							    "%llu/%llu, data l1d %llu/%llu",
							    presets[p], vname[big], masks[k],
							    mm_mode_names[m], b, from, cut[b],
							    (unsigned long long)a.l1_hits,
							    (unsigned long long)d.l1_hits,
							    (unsigned long long)a.walks,
							    (unsigned long long)d.walks,
							    (unsigned long long)
								a.data_at[MM_AT_DC1],
							    (unsigned long long)
								d.data_at[MM_AT_DC1]);
						fa[m] = *mm_sim_stats(f, m);
						ra[m] = *mm_sim_stats(ref, m);
					}
					if (b == 0) { /* the warm-up ends inside a run */
						mm_sim_reset_stats(f);
						mm_sim_reset_stats(ref);
						memset(fa, 0, sizeof(fa));
						memset(ra, 0, sizeof(ra));
					}
				}
				/* the trace reaches what it is meant to, after the warm-up */
				const struct mm_stats *st = mm_sim_stats(f, MM_NATIVE);
				if (getenv("MMUSIM_TEST_VERBOSE"))
					printf("# %s %s modes %u: %zu cuts, native: %llu accesses, "
					       "%llu L1 "
					       "hits, %llu walks, data %llu/%llu/%llu/%llu; shadow "
					       "exits "
					       "%llu\n",
					       presets[p], vname[big], masks[k], nc,
					       (unsigned long long)st->accesses,
					       (unsigned long long)st->l1_hits,
					       (unsigned long long)st->walks,
					       (unsigned long long)st->data_at[MM_AT_DC1],
					       (unsigned long long)st->data_at[MM_AT_DC2],
					       (unsigned long long)st->data_at[MM_AT_DC3],
					       (unsigned long long)st->data_at[MM_AT_MEM],
					       (unsigned long long)mm_stats_exits(
						   mm_sim_stats(f, MM_SHADOW)));
				assert_true(st->l1_hits > st->accesses / 2 && st->walks > 100);
				assert_true(st->data_at[MM_AT_DC1] > st->data_refs / 2 &&
					    st->data_at[MM_AT_MEM] > 0);
				assert_true(masks[k] == 1 ||
					    mm_stats_exits(mm_sim_stats(f, MM_SHADOW)) > 100);
				mm_sim_free(f);
				mm_sim_free(ref);
			}
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cold_2d),
	    cmocka_unit_test(test_cold_1d),
	    cmocka_unit_test(test_two_page_2d),
	    cmocka_unit_test(test_pwc_va_and_2d),
	    cmocka_unit_test(test_tlb_fits_l1),
	    cmocka_unit_test(test_fast_path_edges),
	    cmocka_unit_test(test_tlb_lru_thrash),
	    cmocka_unit_test(test_tlb_set_conflict),
	    cmocka_unit_test(test_shadow_first_touch),
	    cmocka_unit_test(test_shadow_events),
	    cmocka_unit_test(test_exit_cost_linear),
	    cmocka_unit_test(test_cycles_linear),
	    cmocka_unit_test(test_lackey_lines),
	    cmocka_unit_test(test_lackey_errors),
	    cmocka_unit_test(test_perf_lines),
	    cmocka_unit_test(test_drmem_lines),
	    cmocka_unit_test(test_binary_roundtrip),
	    cmocka_unit_test(test_synth_seeded),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_data_evicts_walk),
	    cmocka_unit_test(test_data_line_repeats),
	    cmocka_unit_test(test_psc_combined),
	    cmocka_unit_test(test_psc_invlpg),
	    cmocka_unit_test(test_munmap_batched),
	    cmocka_unit_test(test_two_vms),
	    cmocka_unit_test(test_vm_cr3_flush),
	    cmocka_unit_test(test_fork_cow),
	    cmocka_unit_test(test_fork_exec),
	    cmocka_unit_test(test_accessed_bits),
	    cmocka_unit_test(test_full_flush),
	    cmocka_unit_test(test_page_aging),
	    cmocka_unit_test(test_page_aging_flush),
	    cmocka_unit_test(test_ptwrite_flush),
	    cmocka_unit_test(test_synth_age),
	    cmocka_unit_test(test_agile_walks),
	    cmocka_unit_test(test_agile_exits),
	    cmocka_unit_test(test_agile_invlpg),
	    cmocka_unit_test(test_agile_policy),
	    cmocka_unit_test(test_agile_two_vms),
	    cmocka_unit_test(test_agile_vm_switch_state),
	    cmocka_unit_test(test_ept_ad),
	    cmocka_unit_test(test_fast_vs_reference),
	    cmocka_unit_test(test_host_memo),
	    cmocka_unit_test(test_run_shortcut),
	    cmocka_unit_test(test_dc_impls),
	    cmocka_unit_test(test_kvm_sync),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
