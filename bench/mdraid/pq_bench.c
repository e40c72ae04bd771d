/*
 * pq_bench.c: times mdraid's syndrome engine against ISA-L on the same
 * buffers, in one process, repeats interleaved, medians reported.
 *
 *   pq_bench [--repeats=N] CASE...     CASE is VECTSxCHUNK, e.g. 6x4K, 14x512K;
 *                                      vects counts P and Q, as ISA-L does.
 *   pq_bench --only=IMPL CASE          run IMPL alone a few times (for RSS).
 *
 * For each case it prints lines "case,impl,median_seconds,data_bytes":
 *   gen          our public pq_gen (the implementation the selector chose)
 *   gen:<name>   each implementation this CPU can run, forced
 *   isal_gen     ISA-L's pq_gen
 *   recov2       our pq_recov_2data (data blocks 0 and 1 lost)
 *   isal_recov2  the same rebuild with ISA-L: ec_encode_data with the two
 *                rows of coefficients that express D_a and D_b in terms of
 *                the survivors, P and Q (tables made once, outside the
 *                timing, which favours ISA-L slightly)
 * All implementations do the same work per repeat (about 1 GiB of data);
 * results are checked against each other before timing.
 *
 * ISA-L's pq_gen has the same name as ours, so ISA-L is dlopen'ed and its
 * functions looked up in its own scope instead of being linked.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pq_int.h"

typedef int (*isal_pq_gen_fn)(int vects, int len, void **array);
typedef void (*isal_ec_init_fn)(int k, int rows, unsigned char *a, unsigned char *gftbls);
typedef void (*isal_ec_encode_fn)(int len, int k, int rows, unsigned char *gftbls,
				  unsigned char **data, unsigned char **coding);

static isal_pq_gen_fn isal_pq_gen;
static isal_ec_init_fn isal_ec_init;
static isal_ec_encode_fn isal_ec_encode;

static int isal_load(void)
{
	void *h = dlopen("libisal.so.2", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		h = dlopen("libisal.so", RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return -1;
	*(void **)&isal_pq_gen = dlsym(h, "pq_gen");
	*(void **)&isal_ec_init = dlsym(h, "ec_init_tables");
	*(void **)&isal_ec_encode = dlsym(h, "ec_encode_data");
	return isal_pq_gen && isal_ec_init && isal_ec_encode ? 0 : -1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* One benchmark case: nd data blocks + P + Q of len bytes, 4096-aligned. */
struct bcase {
	int nd;
	size_t len;
	long iters; /* calls per repeat */
	uint8_t *mem;
	void *arr[PQ_MAX_DATA + 2]; /* ISA-L order: data..., P, Q */
	uint8_t *p2, *q2;	    /* second P/Q for checking */
	unsigned char gftbls[32 * 2 * PQ_MAX_DATA];
	uint8_t *surv[PQ_MAX_DATA]; /* survivors for the ISA-L rebuild */
	uint8_t *out[2];	    /* its outputs */
};

enum impl_kind { K_GEN, K_GEN_OPS, K_ISAL_GEN, K_RECOV, K_ISAL_RECOV };

struct impl {
	enum impl_kind kind;
	const struct pq_ops *ops; /* K_GEN_OPS */
	char name[32];
	double t[64]; /* per repeat */
};

static void run_once(struct bcase *c, struct impl *im)
{
	switch (im->kind) {
	case K_GEN:
		pq_gen(c->nd, c->len, c->arr, c->arr[c->nd], c->arr[c->nd + 1]);
		break;
	case K_GEN_OPS:
		im->ops->gen(c->nd, c->len, c->arr, c->arr[c->nd], c->arr[c->nd + 1]);
		break;
	case K_ISAL_GEN:
		isal_pq_gen(c->nd + 2, (int)c->len, c->arr);
		break;
	case K_RECOV:
		/* rebuilds blocks 0 and 1 in place; they come out unchanged */
		pq_recov_2data(c->nd, c->len, 0, 1, c->arr, c->arr[c->nd], c->arr[c->nd + 1]);
		break;
	case K_ISAL_RECOV:
		isal_ec_encode((int)c->len, c->nd, 2, c->gftbls, c->surv, c->out);
		break;
	}
}

/* Coefficients for ISA-L: rows D_a, D_b over sources D_2.., P, Q (a=0, b=1). */
static void isal_recov_setup(struct bcase *c)
{
	int nd = c->nd, a = 0, b = 1;
	uint8_t cp = gf_inv(gf_exp(b - a) ^ 1), cq = gf_inv(gf_exp(a) ^ gf_exp(b));
	unsigned char m[2 * PQ_MAX_DATA];
	int k = 0;
	for (int j = 2; j < nd; j++, k++) {
		uint8_t cb = cp ^ gf_mul(cq, gf_exp(j)); /* D_b coefficient of D_j */
		m[k] = cb ^ 1;				 /* D_a = D_b ^ P ^ sum D_j */
		m[nd + k] = cb;
		c->surv[k] = c->arr[j];
	}
	m[k] = cp ^ 1; /* P */
	m[nd + k] = cp;
	c->surv[k++] = c->arr[nd];
	m[k] = cq; /* Q */
	m[nd + k] = cq;
	c->surv[k++] = c->arr[nd + 1];
	isal_ec_init(nd, 2, m, c->gftbls);
}

static int parse_case(const char *s, struct bcase *c)
{
	int vects;
	char unit = 0;
	unsigned long n;
	if (sscanf(s, "%dx%lu%c", &vects, &n, &unit) < 2 || vects < 3 || vects > PQ_MAX_DATA + 2)
		return -1;
	c->nd = vects - 2;
	c->len = n * (unit == 'K' ? 1024 : unit == 'M' ? 1048576 : 1);
	if (c->len == 0 || c->len % PQ_LEN_MULTIPLE)
		return -1;
	size_t per = (size_t)c->nd * c->len;
	c->iters = (long)((1UL << 30) / per);
	if (c->iters < 1)
		c->iters = 1;
	return 0;
}

static int case_alloc(struct bcase *c)
{
	size_t n = (size_t)(c->nd + 6) * c->len;
	c->mem = aligned_alloc(4096, n);
	if (!c->mem)
		return -1;
	for (size_t i = 0; i < n; i++)
		c->mem[i] = (uint8_t)(i * 2654435761u >> 13);
	for (int j = 0; j < c->nd + 2; j++)
		c->arr[j] = c->mem + (size_t)j * c->len;
	c->p2 = c->mem + (size_t)(c->nd + 2) * c->len;
	c->q2 = c->p2 + c->len;
	c->out[0] = c->q2 + c->len;
	c->out[1] = c->out[0] + c->len;
	return 0;
}

/* Cross-check before timing: our gen = ISA-L gen; both rebuilds right. */
static int case_check(struct bcase *c)
{
	pq_ref_ops.gen(c->nd, c->len, c->arr, c->p2, c->q2);
	isal_pq_gen(c->nd + 2, (int)c->len, c->arr);
	if (memcmp(c->p2, c->arr[c->nd], c->len) || memcmp(c->q2, c->arr[c->nd + 1], c->len))
		return -1;
	isal_recov_setup(c);
	isal_ec_encode((int)c->len, c->nd, 2, c->gftbls, c->surv, c->out);
	if (memcmp(c->out[0], c->arr[0], c->len) || memcmp(c->out[1], c->arr[1], c->len))
		return -1;
	memcpy(c->p2, c->arr[0], c->len);
	memset(c->arr[0], 0xa5, c->len);
	memset(c->arr[1], 0x5a, c->len);
	pq_recov_2data(c->nd, c->len, 0, 1, c->arr, c->arr[c->nd], c->arr[c->nd + 1]);
	if (memcmp(c->p2, c->arr[0], c->len) || memcmp(c->out[1], c->arr[1], c->len))
		return -1;
	return 0;
}

static int bench_case(const char *spec, int repeats, const char *only)
{
	struct bcase *c = calloc(1, sizeof(*c));
	if (!c || parse_case(spec, c) || case_alloc(c)) {
		fprintf(stderr, "pq_bench: bad case '%s' (want VECTSxLEN[K|M])\n", spec);
		return 1;
	}
	if (case_check(c)) {
		fprintf(stderr, "pq_bench: %s: results differ between mdraid and ISA-L\n", spec);
		return 1;
	}
	struct impl im[16];
	int n = 0;
	im[n++] = (struct impl){.kind = K_GEN, .name = "gen"};
	for (int i = 0; pq_algos[i] && n < 12; i++) {
		if (!pq_algos[i]->valid())
			continue;
		im[n] = (struct impl){.kind = K_GEN_OPS, .ops = pq_algos[i]};
		snprintf(im[n].name, sizeof(im[n].name), "gen:%s", pq_algos[i]->name);
		n++;
	}
	im[n++] = (struct impl){.kind = K_ISAL_GEN, .name = "isal_gen"};
	im[n++] = (struct impl){.kind = K_RECOV, .name = "recov2"};
	im[n++] = (struct impl){.kind = K_ISAL_RECOV, .name = "isal_recov2"};
	if (only) { /* for peak-RSS runs: one implementation, a few calls */
		for (int i = 0; i < n; i++)
			if (!strcmp(im[i].name, only)) {
				for (long k = 0; k < 3; k++)
					run_once(c, &im[i]);
				return 0;
			}
		fprintf(stderr, "pq_bench: unknown implementation '%s'\n", only);
		return 1;
	}
	for (int i = 0; i < n; i++) /* warm up */
		run_once(c, &im[i]);
	for (int r = 0; r < repeats; r++) {
		for (int i = 0; i < n; i++) {
			double t0 = now_s();
			for (long k = 0; k < c->iters; k++)
				run_once(c, &im[i]);
			im[i].t[r] = now_s() - t0;
		}
	}
	for (int i = 0; i < n; i++) {
		qsort(im[i].t, (size_t)repeats, sizeof(double), cmp_double);
		printf("%s,%s,%.6f,%zu\n", spec, im[i].name, im[i].t[repeats / 2],
		       (size_t)c->iters * (size_t)c->nd * c->len);
	}
	fflush(stdout);
	free(c->mem);
	free(c);
	return 0;
}

int main(int argc, char **argv)
{
	int repeats = 7, rc = 0;
	const char *only = NULL;
	if (isal_load()) {
		fprintf(stderr, "pq_bench: cannot load libisal.so.2 (apt-get install libisal2)\n");
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (!strncmp(argv[i], "--repeats=", 10)) {
			repeats = atoi(argv[i] + 10);
			if (repeats < 1 || repeats > 64) {
				fprintf(stderr, "pq_bench: --repeats must be 1..64\n");
				return 2;
			}
		} else if (!strncmp(argv[i], "--only=", 7)) {
			only = argv[i] + 7;
		} else {
			rc |= bench_case(argv[i], repeats, only);
		}
	}
	fprintf(stderr, "pq_bench: selected implementation: %s\n", pq_impl_name());
	return rc;
}
