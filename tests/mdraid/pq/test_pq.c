/*
 * test_pq.c: unit tests of the RAID6 syndrome engine (mdraid/pq).
 *
 * Anchors first: the plain-C reference against a byte-by-byte evaluation of
 * the definition Q = sum g^j·D_j (shift-and-add GF multiply, no Horner, no
 * SWAR), and against a real peer, ISA-L's pq_gen (same field 0x11d, g = 2,
 * source i has coefficient g^i; skipped when libisal.so.2 is not installed).
 * ISA-L's pq_gen has the same name as ours, so it is looked up with
 * dlopen/dlsym in the library's own scope rather than linked.
 * Then, for every implementation compiled in (skipped when this CPU cannot
 * run it): gen and xor equal the reference byte for byte over disk counts
 * 1..62 (sampled) x lengths, at aligned and unaligned addresses; update
 * equals regenerating; every pair of lost blocks among data, P and Q is
 * rebuilt with that implementation's gen and memcmp'd against the original,
 * as the kernel's lib/raid6/test/test.c does. Last, the selector: the
 * MDRAID_PQ override and its fallback.
 *
 * Data comes from a fixed-seed xorshift generator, so failures reproduce.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pq_int.h"

#include <dlfcn.h>

/* ---- helpers ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint8_t rnd8(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint8_t)(rng_state >> 24);
}

static void fill(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		b[i] = rnd8();
}

/*
 * A stripe: nd data blocks plus P and Q (and two spare blocks for results),
 * each len bytes, at `shift` bytes past a 64-byte boundary.
 */
struct stripe {
	int nd;
	size_t len;
	uint8_t *mem;
	void *data[PQ_MAX_DATA];
	uint8_t *p, *q, *p2, *q2;
};

static void stripe_new(struct stripe *s, int nd, size_t len, size_t shift)
{
	s->nd = nd;
	s->len = len;
	s->mem = aligned_alloc(64, (size_t)(nd + 4) * len + 64);
	assert_non_null(s->mem);
	uint8_t *b = s->mem + shift;
	fill(b, (size_t)(nd + 4) * len);
	for (int j = 0; j < nd; j++)
		s->data[j] = b + (size_t)j * len;
	s->p = b + (size_t)nd * len;
	s->q = s->p + len;
	s->p2 = s->q + len;
	s->q2 = s->p2 + len;
}

static void stripe_free(struct stripe *s)
{
	free(s->mem);
}

/* The definition, byte by byte: P = xor D_j, Q = xor g^j·D_j. */
static void naive_gen(int nd, size_t len, void **data, uint8_t *p, uint8_t *q)
{
	for (size_t k = 0; k < len; k++) {
		uint8_t a = 0, b = 0;
		for (int j = 0; j < nd; j++) {
			uint8_t d = ((uint8_t *)data[j])[k];
			a ^= d;
			b ^= gf_mul(gf_exp(j), d);
		}
		p[k] = a;
		q[k] = b;
	}
}

static const int nds[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 31, 32, 33, 62};
static const size_t lens[] = {64, 128, 192, 256, 320, 448, 4096, 4160, 16384 + 4096 + 64};
#define N_ELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- anchors of the reference ---- */

static void test_gf_constants(void **state)
{
	(void)state;
	/* ISA-L's pq_gen_avx512_gfni.asm multiply-by-2 matrix. */
	assert_int_equal(gf_affine_matrix(2), 0x8001828488102040ULL);
	assert_int_equal(gf_mul(0x80, 2), 0x1d);
	/* the tables of pq_tables.c against shift-and-add multiplication */
	uint8_t e = 1;
	for (int i = 0; i < 600; i++) {
		assert_int_equal(gf_exp(i), e);
		e = gf_mul(e, 2);
	}
	assert_int_equal(gf_exp(8), 0x1d);
	assert_int_equal(gf_inv(0), 0);
	for (int a = 1; a < 256; a++)
		assert_int_equal(gf_mul((uint8_t)a, gf_inv((uint8_t)a)), 1);
	/* g generates the whole multiplicative group: g^0..g^254 distinct. */
	uint8_t seen[256] = {0};
	for (int e = 0; e < 255; e++) {
		uint8_t v = gf_exp(e);
		assert_int_equal(seen[v], 0);
		seen[v] = 1;
	}
}

static void test_ref_vs_definition(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_ELEM(nds); i++) {
		struct stripe s;
		stripe_new(&s, nds[i], 256, 0);
		naive_gen(s.nd, s.len, s.data, s.p, s.q);
		pq_ref_ops.gen(s.nd, s.len, s.data, s.p2, s.q2);
		assert_memory_equal(s.p, s.p2, s.len);
		assert_memory_equal(s.q, s.q2, s.len);
		stripe_free(&s);
	}
}

/* ISA-L's int pq_gen(int vects, int len, void **array), or NULL. */
typedef int (*isal_pq_gen_fn)(int vects, int len, void **array);

static isal_pq_gen_fn isal_pq_gen(void)
{
	void *h = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		h = dlopen("libisal.so", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return NULL;
	isal_pq_gen_fn f;
	*(void **)&f = dlsym(h, "pq_gen");
	return f;
}

static void test_ref_vs_isal(void **state)
{
	(void)state;
	isal_pq_gen_fn isal = isal_pq_gen();
	if (!isal) {
		print_message("# libisal.so.2 not found (apt-get install libisal2)\n");
		skip();
	}
	/* ISA-L: array[0..vects-3] sources, P = array[vects-2], Q = array[vects-1]. */
	for (size_t i = 0; i < N_ELEM(nds); i++) {
		for (size_t l = 0; l < N_ELEM(lens); l++) {
			struct stripe s;
			stripe_new(&s, nds[i], lens[l], 0);
			void *arr[PQ_MAX_DATA + 2];
			for (int j = 0; j < s.nd; j++)
				arr[j] = s.data[j];
			arr[s.nd] = s.p;
			arr[s.nd + 1] = s.q;
			if (s.nd >= 2) { /* ISA-L wants at least two sources */
				assert_int_equal(isal(s.nd + 2, (int)s.len, arr), 0);
				pq_ref_ops.gen(s.nd, s.len, s.data, s.p2, s.q2);
				assert_memory_equal(s.p, s.p2, s.len);
				assert_memory_equal(s.q, s.q2, s.len);
			}
			stripe_free(&s);
		}
	}
}

/* ---- every implementation against the reference ---- */

static int usable(void **state)
{
	const struct pq_ops *o = *state;
	return o->valid();
}

static void test_gen(void **state)
{
	const struct pq_ops *o = *state;
	if (!usable(state))
		skip();
	for (size_t i = 0; i < N_ELEM(nds); i++) {
		for (size_t l = 0; l < N_ELEM(lens); l++) {
			for (size_t shift = 0; shift < 64; shift += 37) {
				struct stripe s;
				stripe_new(&s, nds[i], lens[l], shift);
				pq_ref_ops.gen(s.nd, s.len, s.data, s.p, s.q);
				o->gen(s.nd, s.len, s.data, s.p2, s.q2);
				assert_memory_equal(s.p, s.p2, s.len);
				assert_memory_equal(s.q, s.q2, s.len);
				fill(s.p2, s.len);
				o->xor (s.nd, s.len, s.data, s.p2);
				assert_memory_equal(s.p, s.p2, s.len);
				stripe_free(&s);
			}
		}
	}
}

static void test_update(void **state)
{
	const struct pq_ops *o = *state;
	if (!usable(state))
		skip();
	pq_ops_force(o);
	static const int unds[] = {1, 4, 14, 62};
	for (size_t i = 0; i < N_ELEM(unds); i++) {
		struct stripe s;
		stripe_new(&s, unds[i], 4096 + 64, 0);
		pq_gen(s.nd, s.len, s.data, s.p, s.q);
		for (int slot = 0; slot < s.nd; slot++) {
			/* new data in p2, delta = old ^ new in q2 */
			fill(s.p2, s.len);
			uint8_t *old = s.data[slot];
			for (size_t k = 0; k < s.len; k++)
				s.q2[k] = old[k] ^ s.p2[k];
			memcpy(old, s.p2, s.len);
			o->update(slot, s.len, s.q2, s.p, s.q);
			pq_ref_ops.gen(s.nd, s.len, s.data, s.p2, s.q2);
			assert_memory_equal(s.p, s.p2, s.len);
			assert_memory_equal(s.q, s.q2, s.len);
		}
		/* and the public entry point, on the forced implementation */
		fill(s.p2, s.len);
		pq_update(s.nd - 1, s.len, s.p2, s.p, s.q);
		uint8_t *last = s.data[s.nd - 1];
		for (size_t k = 0; k < s.len; k++)
			last[k] ^= s.p2[k];
		pq_ref_ops.gen(s.nd, s.len, s.data, s.p2, s.q2);
		assert_memory_equal(s.p, s.p2, s.len);
		assert_memory_equal(s.q, s.q2, s.len);
		stripe_free(&s);
	}
	pq_ops_force(NULL);
}

/*
 * Lose blocks x < y of nd + 2 (index nd is P, nd + 1 is Q), garble them,
 * rebuild through the public API (running on the forced implementation),
 * compare with the saved originals.
 */
static void lose_and_rebuild(struct stripe *s, int x, int y, uint8_t *save_x, uint8_t *save_y)
{
	int nd = s->nd;
	size_t len = s->len;
	uint8_t *blk[PQ_MAX_DATA + 2];
	for (int j = 0; j < nd; j++)
		blk[j] = s->data[j];
	blk[nd] = s->p;
	blk[nd + 1] = s->q;
	memcpy(save_x, blk[x], len);
	memcpy(save_y, blk[y], len);
	fill(blk[x], len);
	fill(blk[y], len);
	if (y < nd) { /* data + data */
		pq_recov_2data(nd, len, x, y, s->data, s->p, s->q);
	} else if (y == nd) { /* data + P */
		pq_recov_data_p(nd, len, x, s->data, s->p, s->q);
	} else if (x < nd) { /* data + Q: P rebuilds the data, then Q */
		void *v[PQ_MAX_DATA];
		int n = 0;
		for (int j = 0; j < nd; j++)
			if (j != x)
				v[n++] = s->data[j];
		v[n++] = s->p;
		pq_xor(n, len, v, s->data[x]);
		pq_gen(nd, len, s->data, s->p2, s->q);
	} else { /* P + Q */
		pq_gen(nd, len, s->data, s->p, s->q);
	}
	assert_memory_equal(blk[x], save_x, len);
	assert_memory_equal(blk[y], save_y, len);
	if (x >= nd)
		return;
	/* the in-place forms: the parity read into the lost data blocks */
	fill(blk[x], len);
	if (y < nd) {
		fill(blk[y], len);
		memcpy(blk[x], s->p, len);
		memcpy(blk[y], s->q, len);
		pq_recov_2data_inplace(nd, len, x, y, s->data);
		assert_memory_equal(blk[y], save_y, len);
	} else {
		memcpy(blk[x], y == nd ? s->q : s->p, len);
		pq_recov_data_inplace(nd, len, x, y == nd, s->data);
	}
	assert_memory_equal(blk[x], save_x, len);
}

static void test_recov(void **state)
{
	const struct pq_ops *o = *state;
	if (!usable(state))
		skip();
	pq_ops_force(o);
	assert_string_equal(pq_impl_name(), o->name);
	static const struct {
		int nd;
		size_t len;
	} cases[] = {
	    {1, 192},  {2, 4096},  {3, 320},  {4, 16384 * 2 + 64}, {5, 4096},
	    {6, 4096}, {14, 1024}, {17, 256}, {62, 128},
	};
	for (size_t c = 0; c < N_ELEM(cases); c++) {
		struct stripe s;
		stripe_new(&s, cases[c].nd, cases[c].len, 0);
		pq_ref_ops.gen(s.nd, s.len, s.data, s.p, s.q);
		uint8_t *sx = malloc(s.len), *sy = malloc(s.len);
		assert_non_null(sx);
		assert_non_null(sy);
		for (int x = 0; x < s.nd + 2; x++)
			for (int y = x + 1; y < s.nd + 2; y++)
				lose_and_rebuild(&s, x, y, sx, sy);
		free(sx);
		free(sy);
		stripe_free(&s);
	}
	pq_ops_force(NULL);
}

/* ---- the selector ---- */

static void test_select(void **state)
{
	(void)state;
	setenv("MDRAID_PQ", "ref", 1);
	pq_ops_force(NULL);
	assert_string_equal(pq_impl_name(), "ref");
	/* an unknown name is ignored: some valid implementation is chosen */
	setenv("MDRAID_PQ", "no-such-impl", 1);
	pq_ops_force(NULL);
	const char *name = pq_impl_name();
	int found = 0;
	for (int i = 0; pq_algos[i]; i++)
		if (!strcmp(pq_algos[i]->name, name) && pq_algos[i]->valid())
			found = 1;
	assert_true(found);
	/* each valid one can be forced by name */
	for (int i = 0; pq_algos[i]; i++) {
		if (!pq_algos[i]->valid())
			continue;
		setenv("MDRAID_PQ", pq_algos[i]->name, 1);
		pq_ops_force(NULL);
		assert_string_equal(pq_impl_name(), pq_algos[i]->name);
	}
	unsetenv("MDRAID_PQ");
	pq_ops_force(NULL);
	print_message("# chosen implementation: %s\n", pq_impl_name());
}

int main(void)
{
	struct CMUnitTest tests[8 + 3 * 16];
	static char names[3 * 16][48];
	int n = 0, nn = 0;
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_gf_constants);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ref_vs_definition);
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_ref_vs_isal);
	for (int i = 0; pq_algos[i]; i++) {
		static void (*const fn[3])(void **) = {test_gen, test_update, test_recov};
		static const char *const what[3] = {"gen_xor", "update", "recov_all_pairs"};
		for (int k = 0; k < 3; k++) {
			snprintf(names[nn], sizeof(names[nn]), "%s_%s", what[k], pq_algos[i]->name);
			tests[n++] = (struct CMUnitTest){names[nn++], fn[k], NULL, NULL,
							 (void *)pq_algos[i]};
		}
	}
	tests[n++] = (struct CMUnitTest)cmocka_unit_test(test_select);
	return _cmocka_run_group_tests("mdraid_pq", tests, (size_t)n, NULL, NULL);
}
