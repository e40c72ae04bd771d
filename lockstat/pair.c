/*
 * pair.c: from lock:contention_begin/end samples to timed contention events
 * (the rules are in lockstat.h, "contention pairing"). Separate from
 * collect.c so that the pairing, where wait times are made, can be fed
 * samples by hand and checked against a hand-derived answer.
 *
 * Divisions: the thread table; the caller; pairing; the round queue
 * (flags to lock types and events are locktype.c's).
 */
#include "lockstat.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>

/* contention_begin flags (include/trace/events/lock.h): a mutex's spin to
 * block handover */
#define LCB_F_SPIN  (1U << 0)
#define LCB_F_MUTEX (1U << 5)

/* ---- the thread table ------------------------------------------------------- */

/* One open contention: a begin whose end has not come yet. */
struct lk_open {
	uint64_t lock;
	uint64_t t0;	  /* time of the begin that opened it */
	unsigned flags;	  /* its contention_begin flags */
	struct lk_raw ev; /* event, lock, caller and stack, from the begin */
};

/* A thread's stack of open contentions, innermost last. */
struct lk_thread {
	uint32_t key; /* thread_key(); 0 = empty slot */
	int n, cap;
	struct lk_open *open;
};

/* Contention is paired per thread; the idle threads all have tid 0 (and
 * some contexts report -1), so theirs are paired per CPU instead. Never 0. */
static uint32_t thread_key(const struct lk_sample *s)
{
	if (s->tid == 0 || s->tid >= 0xffff0000u)
		return 0xffff0000u + (s->cpu & 0x7fff) + 1;
	return s->tid + 1;
}

static size_t thread_home(uint32_t key, size_t cap)
{
	return (key * 2654435761u) & (cap - 1);
}

/* The thread's slot, created if absent; NULL when out of memory. Slots are
 * never deleted (a thread with nothing open costs one slot, its stack is
 * freed), so the table only grows, at half load, by rehashing. */
static struct lk_thread *thread_get(struct lk_pair *p, uint32_t key)
{
	if (2 * (p->nthreads + 1) > p->cap_threads) {
		size_t cap = p->cap_threads ? 2 * p->cap_threads : 1024;
		struct lk_thread *n = calloc(cap, sizeof(*n));
		if (!n)
			return NULL;
		for (size_t i = 0; i < p->cap_threads; i++) {
			if (!p->threads[i].key)
				continue;
			size_t j = thread_home(p->threads[i].key, cap);
			while (n[j].key)
				j = (j + 1) & (cap - 1);
			n[j] = p->threads[i];
		}
		free(p->threads);
		p->threads = n;
		p->cap_threads = cap;
	}
	size_t i = thread_home(key, p->cap_threads);
	while (p->threads[i].key && p->threads[i].key != key)
		i = (i + 1) & (p->cap_threads - 1);
	if (!p->threads[i].key) {
		p->threads[i].key = key;
		p->nthreads++;
	}
	return &p->threads[i];
}

/* Index of the thread's open contention on lock, innermost first, or -1. */
static int open_find(const struct lk_thread *th, uint64_t lock)
{
	for (int i = th->n - 1; i >= 0; i--)
		if (th->open[i].lock == lock)
			return i;
	return -1;
}

/* ---- the caller ------------------------------------------------------------- */

int lk_sample_frames(const struct lk_sample *s, uint64_t *out, int max)
{
	int n = 0;
	for (int i = 0; i < s->nchain && n < max; i++) {
		if (s->chain[i] >= (uint64_t)PERF_CONTEXT_MAX)
			continue;
		out[n++] = s->chain[i];
	}
	return n;
}

/* Caller and stack of a contention sample: the first frame outside lock and
 * scheduler text, as perf lock's caller; its callers are the stack. */
static void contention_site(const struct lk_pair *p, const struct lk_sample *s, struct lk_raw *ev)
{
	uint64_t fr[LK_MAX_STACK + 8];
	int n = lk_sample_frames(s, fr, LK_MAX_STACK + 8), i = 0;
	while (i < n && lk_sym_is_lock_text(p->t, fr[i]))
		i++;
	ev->caller = i < n ? fr[i] : s->ip;
	/* a class from the code path, else the kind from the flags */
	const char *cls = lk_lock_class_guess(p->t, s->arg, fr, n);
	lk_lockname_set(p->t->names, s->lock, cls ? cls : lk_lock_kind(s->arg));
	ev->depth = 0;
	for (i++; i < n && ev->depth < p->depth; i++)
		ev->stack[ev->depth++] = fr[i];
}

/* ---- pairing ---------------------------------------------------------------- */

void lk_pair_init(struct lk_pair *p, const struct lk_symtab *t, int depth, int linux_types,
		  lk_event_fn fn, void *ctx)
{
	memset(p, 0, sizeof(*p));
	p->t = t;
	p->depth = depth;
	p->linux_types = linux_types;
	p->fn = fn;
	p->ctx = ctx;
}

void lk_pair_free(struct lk_pair *p)
{
	for (size_t i = 0; i < p->cap_threads; i++)
		free(p->threads[i].open);
	free(p->threads);
	free(p->q);
	memset(p, 0, sizeof(*p));
}

static int pair_begin(struct lk_pair *p, struct lk_thread *th, const struct lk_sample *s)
{
	int event = lk_contention_event(s->arg, p->linux_types);
	int i = open_find(th, s->lock);
	if (i >= 0) {
		struct lk_open *o = &th->open[i];
		/* Nested begin on the same lock: only a mutex going from spinning
		 * to sleeping starts a new event; otherwise the first time stays. */
		if ((o->flags & 63) == (LCB_F_MUTEX | LCB_F_SPIN) && (s->arg & 63) == LCB_F_MUTEX) {
			o->ev.time_ns = s->time > o->t0 ? s->time - o->t0 : 0;
			int r = p->fn(p->ctx, &o->ev);
			o->t0 = s->time;
			o->flags = s->arg;
			o->ev.event = event;
			return r;
		}
		return 0;
	}
	if (th->n == th->cap) {
		int cap = th->cap ? 2 * th->cap : 2;
		struct lk_open *n = realloc(th->open, (size_t)cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		th->open = n;
		th->cap = cap;
	}
	struct lk_open *o = &th->open[th->n++];
	o->lock = s->lock;
	o->t0 = s->time;
	o->flags = s->arg;
	memset(&o->ev, 0, sizeof(o->ev));
	o->ev.event = event;
	o->ev.lock = s->lock;
	contention_site(p, s, &o->ev);
	return 0;
}

static int pair_end(struct lk_pair *p, struct lk_thread *th, const struct lk_sample *s)
{
	int i = open_find(th, s->lock);
	if (i < 0) {
		p->orphans++;
		return 0;
	}
	struct lk_open *o = &th->open[i];
	o->ev.time_ns = s->time > o->t0 ? s->time - o->t0 : 0;
	int r = p->fn(p->ctx, &o->ev);
	/* Out of the stack; entries above it (rare: ends out of order) move down. */
	memmove(&th->open[i], &th->open[i + 1], (size_t)(th->n - i - 1) * sizeof(*o));
	if (--th->n == 0) {
		/* Threads come and go: an idle one keeps only its table slot. */
		free(th->open);
		th->open = NULL;
		th->cap = 0;
	}
	return r;
}

int lk_pair_sample(struct lk_pair *p, const struct lk_sample *s)
{
	if (s->kind != LK_SAMPLE_BEGIN && s->kind != LK_SAMPLE_END)
		return 0;
	struct lk_thread *th = thread_get(p, thread_key(s));
	if (!th)
		return -ENOMEM;
	return s->kind == LK_SAMPLE_BEGIN ? pair_begin(p, th, s) : pair_end(p, th, s);
}

/* ---- the round queue ---------------------------------------------------------- */

int lk_pair_queue(struct lk_pair *p, const struct lk_sample *s)
{
	if (p->nq == p->capq) {
		size_t cap = p->capq ? 2 * p->capq : 4096;
		struct lk_sample *n = realloc(p->q, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		p->q = n;
		p->capq = cap;
	}
	p->q[p->nq] = *s;
	p->q[p->nq++].seq = p->seq++;
	return 0;
}

static int sample_cmp(const void *a, const void *b)
{
	const struct lk_sample *x = a, *y = b;
	if (x->time != y->time)
		return x->time < y->time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

int lk_pair_flush(struct lk_pair *p, uint64_t upto)
{
	if (!p->nq)
		return 0;
	qsort(p->q, p->nq, sizeof(*p->q), sample_cmp);
	size_t i = 0;
	int rc = 0;
	for (; i < p->nq && p->q[i].time <= upto && !rc; i++)
		rc = lk_pair_sample(p, &p->q[i]);
	memmove(p->q, p->q + i, (p->nq - i) * sizeof(*p->q));
	p->nq -= i;
	return rc;
}
