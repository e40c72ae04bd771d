/*
 * lockstat.c: the Solaris event table, raw-event filters, and the record set
 * that aggregates events by (event, lock, caller, stack), as the DTrace
 * aggregation behind Solaris lockstat did.
 */
#include "lockstat.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- the event table ---------------------------------------------------- */

static const struct lk_event_info events[LK_MAX_EVENTS] = {
    [0] = {'C', "Lock", "Adaptive mutex spin", "nsec"},
    [1] = {'C', "Lock", "Adaptive mutex block", "nsec"},
    [2] = {'C', "Lock", "Spin lock spin", "nsec"},
    [3] = {'C', "Lock", "Thread lock spin", "nsec"},
    [4] = {'C', "Lock", "R/W writer blocked by writer", "nsec"},
    [5] = {'C', "Lock", "R/W writer blocked by readers", "nsec"},
    [6] = {'C', "Lock", "R/W reader blocked by writer", "nsec"},
    [7] = {'C', "Lock", "R/W reader blocked by write wanted", "nsec"},
    /* --linux-types: the Linux lock type instead of the folded Solaris number. */
    [8] = {'L', "Lock", "Linux mutex spin", "nsec"},
    [9] = {'L', "Lock", "Linux mutex block", "nsec"},
    [10] = {'L', "Lock", "Linux spinlock spin", "nsec"},
    [11] = {'L', "Lock", "Linux rwlock:R spin", "nsec"},
    [12] = {'L', "Lock", "Linux rwlock:W spin", "nsec"},
    [13] = {'L', "Lock", "Linux rwsem:R block", "nsec"},
    [14] = {'L', "Lock", "Linux rwsem:W block", "nsec"},
    [15] = {'L', "Lock", "Linux rt-mutex block", "nsec"},
    [16] = {'L', "Lock", "Linux percpu-rwsem:R block", "nsec"},
    [17] = {'L', "Lock", "Linux percpu-rwsem:W block", "nsec"},
    [18] = {'L', "Lock", "Linux semaphore block", "nsec"},
    [19] = {'L', "Lock", "Linux unknown-type block", "nsec"}, /* flags perf calls "unknown" */
    [32] = {'H', "Lock", "Adaptive mutex hold", "nsec"},
    [33] = {'H', "Lock", "Spin lock hold", "nsec"},
    [34] = {'H', "Lock", "R/W writer hold", "nsec"},
    [35] = {'H', "Lock", "R/W reader hold", "nsec"},
    [56] = {'I', "CPU+PIL", "Profiling interrupt", "nsec"},
    [60] = {'E', "Lock", "Recursive lock entry detected", "(N/A)"},
    [61] = {'E', "Lock", "Lockstat enter failure", "(N/A)"},
    [62] = {'E', "Lock", "Lockstat exit failure", "nsec"},
    [63] = {'E', "Lock", "Lockstat record failure", "(N/A)"},
};

/* The entry for an event number no Solaris event has: a constant table
 * (no state filled in at run time), as "Unknown event (type N)". */
#define U(n)                                                                                       \
	{                                                                                          \
		0, "Lock", "Unknown event (type " #n ")", "units"                                  \
	}
static const struct lk_event_info unknown[LK_MAX_EVENTS] = {
    U(0),  U(1),  U(2),	 U(3),	U(4),  U(5),  U(6),  U(7),  U(8),  U(9),  U(10), U(11), U(12),
    U(13), U(14), U(15), U(16), U(17), U(18), U(19), U(20), U(21), U(22), U(23), U(24), U(25),
    U(26), U(27), U(28), U(29), U(30), U(31), U(32), U(33), U(34), U(35), U(36), U(37), U(38),
    U(39), U(40), U(41), U(42), U(43), U(44), U(45), U(46), U(47), U(48), U(49), U(50), U(51),
    U(52), U(53), U(54), U(55), U(56), U(57), U(58), U(59), U(60), U(61), U(62), U(63),
};
#undef U
_Static_assert(LK_MAX_EVENTS == 64, "one U(n) above per event number");

const struct lk_event_info *lk_event_info(int event)
{
	if (event < 0 || event >= LK_MAX_EVENTS)
		event = LK_MAX_EVENTS - 1;
	if (events[event].desc)
		return &events[event];
	return &unknown[event];
}

/* ---- record set ----------------------------------------------------------- */

int lk_hist_bucket(uint64_t v)
{
	if (!v)
		return 0;
	return 64 - __builtin_clzll(v) > 63 ? 63 : 64 - __builtin_clzll(v);
}

int lk_recset_init(struct lk_recset *s, size_t max_recs, int depth)
{
	memset(s, 0, sizeof(*s));
	s->max_recs = max_recs;
	s->depth = depth;
	s->index_cap = 1024;
	while (s->index_cap < 2 * max_recs && s->index_cap < (1u << 24))
		s->index_cap <<= 1;
	s->index = calloc(s->index_cap, sizeof(struct lk_rec *));
	return s->index ? 0 : -ENOMEM;
}

void lk_recset_free(struct lk_recset *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->recs[i]->stack);
		free(s->recs[i]);
	}
	free(s->recs);
	free(s->index);
	memset(s, 0, sizeof(*s));
}

/* FNV-1a over the key fields. */
static uint64_t key_hash(const struct lk_raw *ev, int depth, int by_comm)
{
	uint64_t h = 1469598103934665603ULL;
#define MIX(x)                                                                                     \
	do {                                                                                       \
		h ^= (uint64_t)(x);                                                                \
		h *= 1099511628211ULL;                                                             \
	} while (0)
	MIX(ev->event);
	MIX(ev->lock);
	MIX(ev->caller);
	for (int i = 0; i < depth; i++)
		MIX(i < ev->depth ? ev->stack[i] : 0);
	if (by_comm && !ev->caller)
		for (const char *c = ev->comm; *c; c++)
			MIX(*c);
#undef MIX
	return h;
}

static int key_equal(const struct lk_rec *r, const struct lk_raw *ev, int depth, int by_comm)
{
	if (r->event != ev->event || r->lock != ev->lock || r->caller != ev->caller)
		return 0;
	for (int i = 0; i < depth; i++)
		if (r->stack[i] != (i < ev->depth ? ev->stack[i] : 0))
			return 0;
	if (by_comm && !ev->caller && strcmp(r->comm, ev->comm))
		return 0;
	return 1;
}

int lk_recset_add(struct lk_recset *s, const struct lk_raw *ev)
{
	if (ev->event < 0 || ev->event >= LK_MAX_EVENTS)
		return -EINVAL;
	uint64_t count = ev->count ? ev->count : 1;
	s->total_count[ev->event] += count;
	s->total_time[ev->event] += ev->time_ns;
	struct lk_rec **index = s->index;
	size_t mask = s->index_cap - 1;
	size_t i = key_hash(ev, s->depth, s->by_comm) & mask;
	while (index[i]) {
		if (key_equal(index[i], ev, s->depth, s->by_comm))
			break;
		i = (i + 1) & mask;
	}
	struct lk_rec *r = index[i];
	if (!r) {
		if (s->n >= s->max_recs || s->n + 1 > s->index_cap / 2) {
			s->dropped++;
			return -ENOSPC;
		}
		if (s->n == s->cap) {
			size_t cap = s->cap ? 2 * s->cap : 256;
			struct lk_rec **n = realloc(s->recs, cap * sizeof(*n));
			if (!n)
				return -ENOMEM;
			s->recs = n;
			s->cap = cap;
		}
		r = calloc(1, sizeof(*r));
		if (!r)
			return -ENOMEM;
		r->stack = calloc((size_t)(s->depth ? s->depth : 1), sizeof(uint64_t));
		if (!r->stack) {
			free(r);
			return -ENOMEM;
		}
		r->event = ev->event;
		r->lock = ev->lock;
		r->caller = ev->caller;
		for (int k = 0; k < s->depth && k < ev->depth; k++)
			r->stack[k] = ev->stack[k];
		if (s->by_comm && !ev->caller)
			memcpy(r->comm, ev->comm, sizeof(r->comm));
		index[i] = r;
		s->recs[s->n++] = r;
	}
	r->count += (uint32_t)count;
	r->time += ev->time_ns;
	if (ev->hist)
		for (int j = 0; j < 64; j++)
			r->hist[j] += ev->hist[j];
	else /* count events of the average duration (profiling's 0) */
		r->hist[lk_hist_bucket(ev->time_ns / count)] += (uint32_t)count;
	return 0;
}

/* ---- filters -------------------------------------------------------------- */

static int in_ranges(const struct lk_range *r, int n, uint64_t addr)
{
	for (int i = 0; i < n; i++)
		if (addr >= r[i].lo && addr < r[i].hi)
			return 1;
	return 0;
}

int lk_filter_pass(const struct lk_filter *f, const struct lk_raw *ev)
{
	if (ev->event < 0 || ev->event >= LK_MAX_EVENTS || !f->enabled[ev->event])
		return 0;
	if (ev->event == LK_EV_PROFILE) {
		if (f->nfuncs && !in_ranges(f->funcs, f->nfuncs, ev->caller))
			return 0;
	} else if ((f->nlocks || f->nfuncs) && !in_ranges(f->locks, f->nlocks, ev->lock) &&
		   !in_ranges(f->funcs, f->nfuncs, ev->caller)) {
		return 0;
	}
	/* An aggregate (BPF backend) had -d applied per wait in the kernel. */
	if (ev->event < 60 && !ev->hist && ev->time_ns < f->min_duration)
		return 0;
	return 1;
}

/* A number for -l/-f: the whole of s in base; 0 or -EINVAL. */
static int parse_u64(const char *s, int base, uint64_t *v)
{
	char *end;
	errno = 0;
	*v = strtoull(s, &end, base);
	return errno || end == s || *end ? -EINVAL : 0;
}

int lk_parse_range(const struct lk_symtab *t, const char *arg, struct lk_range *r, struct ok_err *e)
{
	char name[256];
	const char *comma = strchr(arg, ',');
	size_t n = comma ? (size_t)(comma - arg) : strlen(arg);
	if (n == 0 || n >= sizeof(name))
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "bad address '%s'", arg);
	memcpy(name, arg, n);
	name[n] = 0;
	uint64_t addr, size = 1, off = 0;
	if (comma && parse_u64(comma + 1, 0, &size) < 0)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "bad size in '%s'", arg);
	char *plus = strchr(name, '+');
	if (plus) {
		*plus = 0;
		if (parse_u64(plus + 1, 0, &off) < 0)
			return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "bad offset in '%s'", arg);
	}
	if (name[0] == '0') {
		if (parse_u64(name, 16, &addr) < 0)
			return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "bad address '%s'", name);
		addr += off;
	} else {
		const struct lk_sym *s = lk_sym_by_name(t, name);
		if (!s)
			return ok_err_at(e, -ENOENT, NULL, OK_ERR_NOPOS, "symbol '%s' not found",
					 name);
		addr = s->addr + off;
		if (!comma)
			size = s->size > off ? s->size - off : 0;
		if (size == 0)
			size = 1;
	}
	r->lo = addr;
	r->hi = addr + size < addr ? UINT64_MAX : addr + size;
	return 0;
}

int lk_parse_events(const char *arg, uint8_t *enabled)
{
	const char *p = arg;
	while (*p) {
		char *end;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		long lo = strtol(p, &end, 10), hi = lo;
		p = end;
		if (*p == '-') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			hi = strtol(p, &end, 10);
			p = end;
		}
		if (lo < 0 || hi >= LK_MAX_EVENTS || lo > hi)
			return -ERANGE;
		for (long i = lo; i <= hi; i++)
			enabled[i] = 1;
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	return 0;
}
