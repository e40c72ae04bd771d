/*
 * test_lockstat.c: unit tests of lockstat's library against the Solaris
 * rules of illumos' lockstat.c and lockstat(1M): symbol formatting, the merge sort's
 * tie order, histogram buckets, -e/-l/-f parsing, filters, and the mapping
 * of Linux contention flags to Solaris events.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <linux/perf_event.h>

#include "lockstat.h"

static struct lk_symtab t;

static int setup(void **state)
{
	(void)state;
	lk_symtab_init(&t);
	lk_symtab_add(&t, 0x1000, 0x100, "foo");
	lk_symtab_add(&t, 0x2000, 8, "tiny");
	lk_symtab_add(&t, 0x3000, 0, "last"); /* size from the next symbol */
	lk_symtab_add(&t, 0x3400, 0x10, "end");
	lk_symtab_finish(&t, 2);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	lk_symtab_free(&t);
	return 0;
}

static const char *fmt(uint64_t a, int sz)
{
	static char buf[128];
	return lk_sym_format(&t, a, sz, buf, sizeof(buf));
}

/* The five rules of format_symbol, in order. */
static void test_format_symbol(void **state)
{
	(void)state;
	assert_string_equal(fmt(0x1000, 1), "foo[256]");	     /* 1: offset 0 with size */
	assert_string_equal(fmt(0x1000, 0), "foo");		     /* 2: offset 0 */
	assert_string_equal(fmt(LK_CPU_ADDR(1) + 5, 0), "cpu[1]+5"); /* 3: CPU+PIL, decimal */
	assert_string_equal(fmt(LK_CPU_ADDR(0), 0), "cpu[0]");
	assert_string_equal(fmt(0x1010, 0), "foo+0x10");       /* 4: inside */
	assert_string_equal(fmt(0x2010, 0), "tiny+0x10");      /* 4: < 256 past a small symbol */
	assert_string_equal(fmt(0x3400 + 0x300, 0), "0x3700"); /* 5: far past the last one */
	assert_string_equal(fmt(0, 0), "(usermode)");
	assert_string_equal(fmt(0x3100, 0), "last+0x100"); /* size = distance to next */
	const struct lk_sym *s = lk_sym_lookup(&t, 0x3000);
	assert_int_equal(s->size, 0x400);
}

static int cmp_key(const struct lk_rec *a, const struct lk_rec *b, int depth)
{
	(void)depth;
	return a->count < b->count ? -1 : a->count > b->count;
}

/* Four equal keys a,b,c,d come out d,c,a,b (Solaris lockstat's sort is not stable). */
static void test_mergesort_ties(void **state)
{
	(void)state;
	struct lk_rec r[4];
	struct lk_rec *a[4], *scratch[4];
	memset(r, 0, sizeof(r));
	for (int i = 0; i < 4; i++)
		a[i] = &r[i];
	lk_mergesort(cmp_key, a, scratch, 4, 0);
	assert_ptr_equal(a[0], &r[3]);
	assert_ptr_equal(a[1], &r[2]);
	assert_ptr_equal(a[2], &r[0]);
	assert_ptr_equal(a[3], &r[1]);
}

/* On distinct keys it sorts: compare with the order of the keys themselves. */
static void test_mergesort_sorts(void **state)
{
	(void)state;
	enum { N = 1000 };
	static struct lk_rec r[N];
	static struct lk_rec *a[N], *scratch[N];
	srand(7);
	for (int n = 1; n <= N; n = n * 3 + 1) {
		for (int i = 0; i < n; i++) {
			r[i].count = (uint32_t)rand() % 50;
			a[i] = &r[i];
		}
		lk_mergesort(cmp_key, a, scratch, (size_t)n, 0);
		for (int i = 1; i < n; i++)
			assert_true(a[i - 1]->count <= a[i]->count);
		/* a permutation: every record once */
		int seen[N] = {0};
		for (int i = 0; i < n; i++)
			seen[a[i] - r]++;
		for (int i = 0; i < n; i++)
			assert_int_equal(seen[i], 1);
	}
}

static void test_hist_bucket(void **state)
{
	(void)state;
	/* bucket j holds [2^(j-1), 2^j); 0 alone in bucket 0 */
	assert_int_equal(lk_hist_bucket(0), 0);
	assert_int_equal(lk_hist_bucket(1), 1);
	assert_int_equal(lk_hist_bucket(2), 2);
	assert_int_equal(lk_hist_bucket(3), 2);
	assert_int_equal(lk_hist_bucket(4), 3);
	assert_int_equal(lk_hist_bucket(1023), 10);
	assert_int_equal(lk_hist_bucket(1024), 11);
	assert_int_equal(lk_hist_bucket(UINT64_MAX), 63);
}

static void test_parse_events(void **state)
{
	(void)state;
	uint8_t en[LK_MAX_EVENTS];
	memset(en, 0, sizeof(en));
	assert_int_equal(lk_parse_events("1,4-7,35", en), 0);
	assert_int_equal(en[1] + en[4] + en[5] + en[6] + en[7] + en[35], 6);
	assert_int_equal(en[0] + en[2] + en[3] + en[8] + en[34] + en[36], 0);
	assert_int_equal(lk_parse_events("64", en), -ERANGE);
	assert_int_equal(lk_parse_events("7-3", en), -ERANGE);
	assert_int_equal(lk_parse_events("a", en), -EINVAL);
	assert_int_equal(lk_parse_events("1,", en), 0);
}

static void test_parse_range(void **state)
{
	(void)state;
	struct lk_range r;
	struct ok_err e;
	ok_err_clear(&e);
	assert_int_equal(lk_parse_range(&t, "foo+0x10,8", &r, &e), 0);
	assert_int_equal(r.lo, 0x1010);
	assert_int_equal(r.hi, 0x1018);
	assert_int_equal(lk_parse_range(&t, "foo+0x10", &r, &e), 0);
	assert_int_equal(r.hi, 0x1100); /* size - off */
	assert_int_equal(lk_parse_range(&t, "foo", &r, &e), 0);
	assert_int_equal(r.lo, 0x1000);
	assert_int_equal(r.hi, 0x1100);
	assert_int_equal(lk_parse_range(&t, "0x2000", &r, &e), 0);
	assert_int_equal(r.lo, 0x2000);
	assert_int_equal(r.hi, 0x2001); /* hex: size 1 */
	assert_int_equal(lk_parse_range(&t, "02000,0x20", &r, &e), 0);
	assert_int_equal(r.hi, 0x2020);
	/* lockstat.c: hex takes +off too (strtok on ",+"), and an explicit size
	 * 0 stays 0: the predicate (a >= x && a < x) matches nothing. */
	assert_int_equal(lk_parse_range(&t, "0x2000+0x10,4", &r, &e), 0);
	assert_int_equal(r.lo, 0x2010);
	assert_int_equal(r.hi, 0x2014);
	assert_int_equal(lk_parse_range(&t, "0x2000,0", &r, &e), 0);
	assert_int_equal(r.lo, r.hi);
	/* a symbol's size 0 becomes 1 */
	assert_int_equal(lk_parse_range(&t, "tiny+8", &r, &e), 0);
	assert_int_equal(r.hi - r.lo, 1);
	assert_int_equal(lk_parse_range(&t, "nosuch", &r, &e), -ENOENT);
	assert_string_equal(e.msg, "symbol 'nosuch' not found");
}

/* lockstat.c's predicates: -l and -f ranges all ORed for lock events; the
 * profiling event sees only the -f ranges (g_ipredicate). */
static void test_filter(void **state)
{
	(void)state;
	struct lk_filter f;
	memset(&f, 0, sizeof(f));
	f.enabled[1] = f.enabled[LK_EV_PROFILE] = 1;
	f.locks[f.nlocks++] = (struct lk_range){0x1000, 0x1100};
	f.locks[f.nlocks++] = (struct lk_range){0x5000, 0x5008};
	struct lk_raw ev;
	memset(&ev, 0, sizeof(ev));
	ev.event = 1;
	ev.lock = 0x1050;
	assert_true(lk_filter_pass(&f, &ev));
	ev.lock = 0x5007; /* the second -l range */
	assert_true(lk_filter_pass(&f, &ev));
	ev.lock = 0x2000;
	assert_false(lk_filter_pass(&f, &ev));
	ev.event = LK_EV_PROFILE; /* -l is not applied to the profiling event */
	assert_true(lk_filter_pass(&f, &ev));
	f.funcs[f.nfuncs++] = (struct lk_range){0x8000, 0x8100};
	ev.caller = 0x9000; /* ... but -f is */
	assert_false(lk_filter_pass(&f, &ev));
	ev.caller = 0x8000;
	assert_true(lk_filter_pass(&f, &ev));
	ev.event = 1; /* lock outside every -l range, caller inside -f: ORed, passes */
	assert_true(lk_filter_pass(&f, &ev));
	ev.caller = 0x9000;
	assert_false(lk_filter_pass(&f, &ev));
	ev.event = 2; /* not enabled */
	ev.lock = 0x1050;
	assert_false(lk_filter_pass(&f, &ev));
	memset(&f, 0, sizeof(f));
	f.enabled[2] = 1;
	f.min_duration = 100;
	ev.time_ns = 99;
	assert_false(lk_filter_pass(&f, &ev));
	ev.time_ns = 100;
	assert_true(lk_filter_pass(&f, &ev));
}

/* Linux contention_begin flags (include/trace/events/lock.h) to Solaris events. */
static void test_contention_map(void **state)
{
	(void)state;
	enum { SPIN = 1, READ = 2, WRITE = 4, RT = 8, PERCPU = 16, MUTEX = 32 };
	assert_int_equal(lk_contention_event(MUTEX | SPIN, 0), 0);
	assert_int_equal(lk_contention_event(MUTEX, 0), 1);
	assert_int_equal(lk_contention_event(SPIN, 0), 2);
	assert_int_equal(lk_contention_event(SPIN | READ, 0), 2);
	assert_int_equal(lk_contention_event(WRITE, 0), 4);
	assert_int_equal(lk_contention_event(READ, 0), 6);
	assert_int_equal(lk_contention_event(PERCPU | READ, 0), 6);
	assert_int_equal(lk_contention_event(RT, 0), 1);
	assert_string_equal(lk_linux_type_name(WRITE), "rwsem:W");
	assert_string_equal(lk_linux_type_name(SPIN | READ), "rwlock:R");
	assert_string_equal(lk_event_info(lk_contention_event(WRITE, 1))->desc,
			    "Linux rwsem:W block");
	assert_string_equal(lk_event_info(40)->desc, "Unknown event (type 40)");
	/* perf lock contention's type for every flags value, as its
	 * lock_type_table[] (tools/perf/builtin-lock.c) lists them; a value
	 * not in it (a MUTEX|READ no kernel passes, a future bit) is
	 * "unknown", event 19, which blocks (Solaris 1). */
	static const struct {
		unsigned flags;
		const char *perf;
		int linux_ev, solaris_ev;
	} perf_types[] = {
	    {0, "semaphore", 18, 1},
	    {SPIN, "spinlock", 10, 2},
	    {SPIN | READ, "rwlock:R", 11, 2},
	    {SPIN | WRITE, "rwlock:W", 12, 2},
	    {READ, "rwsem:R", 13, 6},
	    {WRITE, "rwsem:W", 14, 4},
	    {RT, "rt-mutex", 15, 1},
	    {RT | READ, "rwlock-rt:R", 15, 1},
	    {RT | WRITE, "rwlock-rt:W", 15, 1},
	    {PERCPU | READ, "pcpu-sem:R", 16, 6},
	    {PERCPU | WRITE, "pcpu-sem:W", 17, 4},
	    {MUTEX, "mutex", 9, 1},
	    {MUTEX | SPIN, "mutex", 8, 0},
	    {MUTEX | READ, "unknown", 19, 1},
	    {64 | SPIN, "unknown", 19, 1},
	};
	for (size_t i = 0; i < sizeof(perf_types) / sizeof(perf_types[0]); i++) {
		assert_string_equal(lk_linux_type_name(perf_types[i].flags), perf_types[i].perf);
		assert_int_equal(lk_contention_event(perf_types[i].flags, 1),
				 perf_types[i].linux_ev);
		assert_int_equal(lk_contention_event(perf_types[i].flags, 0),
				 perf_types[i].solaris_ev);
		/* --linux-types -e N folds as the flags' own Solaris event */
		assert_int_equal(lk_linux_event_solaris(perf_types[i].linux_ev),
				 perf_types[i].solaris_ev);
	}
	assert_string_equal(lk_lock_kind(RT | READ), "rwlock-rt");
	assert_string_equal(lk_lock_kind(MUTEX | SPIN), "mutex");
	assert_null(lk_lock_kind(MUTEX | READ));
	assert_string_equal(lk_event_info(19)->desc, "Linux unknown-type block");
}

/* The record set aggregates by key, keeps totals, and respects -n. */
static void test_recset(void **state)
{
	(void)state;
	struct lk_recset s;
	assert_int_equal(lk_recset_init(&s, 2, 2), 0);
	struct lk_raw ev;
	memset(&ev, 0, sizeof(ev));
	ev.event = 1;
	ev.lock = 0x1000;
	ev.caller = 0x2000;
	ev.time_ns = 10;
	ev.depth = 2;
	ev.stack[0] = 0x3000;
	ev.stack[1] = 0x3010;
	assert_int_equal(lk_recset_add(&s, &ev), 0);
	ev.time_ns = 30;
	assert_int_equal(lk_recset_add(&s, &ev), 0);
	ev.stack[1] = 0x3020; /* another stack: another record */
	assert_int_equal(lk_recset_add(&s, &ev), 0);
	ev.caller = 0x2004; /* a third key: over the budget of 2 */
	assert_int_equal(lk_recset_add(&s, &ev), -ENOSPC);
	assert_int_equal(s.n, 2);
	assert_int_equal(s.dropped, 1);
	assert_int_equal(s.total_count[1], 4);
	assert_int_equal(s.total_time[1], 100);
	assert_int_equal(s.recs[0]->count, 2);
	assert_int_equal(s.recs[0]->time, 40);
	assert_int_equal(s.recs[0]->hist[4], 1); /* 10 in [8,16) */
	assert_int_equal(s.recs[0]->hist[5], 1); /* 30 in [16,32) */
	lk_recset_free(&s);
}

/* Scheduler/lock text markers often share an address with a function; they
 * must still bound the text that caller search skips (a regression: callers
 * printed as rwsem_down_write_slowpath+0x37f). */
static void test_lock_text(void **state)
{
	(void)state;
	struct lk_symtab k;
	lk_symtab_init(&k);
	lk_symtab_add(&k, 0x9000, 0, "__sched_text_start");
	lk_symtab_add(&k, 0x9000, 0, "schedule");
	lk_symtab_add(&k, 0x9100, 0, "rwsem_down_write_slowpath");
	lk_symtab_add(&k, 0x9200, 0, "__sched_text_end");
	lk_symtab_add(&k, 0x9200, 0, "__lock_text_start");
	lk_symtab_add(&k, 0x9200, 0, "_raw_spin_lock");
	lk_symtab_add(&k, 0x9300, 0, "__lock_text_end");
	lk_symtab_add(&k, 0x9300, 0, "__vm_munmap");
	lk_symtab_finish(&k, 1);
	assert_true(lk_sym_is_lock_text(&k, 0x9150));
	assert_true(lk_sym_is_lock_text(&k, 0x9000));
	assert_true(lk_sym_is_lock_text(&k, 0x9250));
	assert_false(lk_sym_is_lock_text(&k, 0x9300));
	assert_false(lk_sym_is_lock_text(&k, 0x8fff));
	char buf[64];
	/* the preferred alias names the address */
	assert_string_equal(lk_sym_format(&k, 0x9000, 0, buf, sizeof(buf)), "schedule");
	assert_string_equal(lk_sym_format(&k, 0x9200, 0, buf, sizeof(buf)), "_raw_spin_lock");
	lk_symtab_free(&k);
}

/* Section markers name no object: kallsyms without CONFIG_KALLSYMS_ALL has
 * only them in .data, so a static lock after __start_init_stack must print
 * as its address, not as the marker plus an offset. */
static void test_markers(void **state)
{
	(void)state;
	assert_true(lk_sym_is_marker("__start_init_stack"));
	assert_true(lk_sym_is_marker("__stop___jump_table"));
	assert_true(lk_sym_is_marker("_edata"));
	assert_true(lk_sym_is_marker("__sched_text_start"));
	assert_true(lk_sym_is_marker("__irqentry_text_end"));
	assert_false(lk_sym_is_marker("init_task"));
	assert_false(lk_sym_is_marker("_raw_spin_lock"));
	assert_false(lk_sym_is_marker("start_kernel"));
	struct lk_symtab k;
	lk_symtab_init(&k);
	lk_symtab_add(&k, 0x10000, 0, "__start_init_stack");
	lk_symtab_add(&k, 0x40000, 0x100, "tasklist_lock");
	lk_symtab_finish(&k, 1);
	char buf[64];
	assert_string_equal(lk_sym_format(&k, 0x18080, 1, buf, sizeof(buf)), "0x18080");
	assert_string_equal(lk_sym_format(&k, 0x10000, 0, buf, sizeof(buf)), "0x10000");
	assert_string_equal(lk_sym_format(&k, 0x40000, 1, buf, sizeof(buf)), "tasklist_lock[256]");
	lk_symtab_free(&k);
}

/* ---- contention pairing ----------------------------------------------------- */

#define KMARK ((uint64_t)PERF_CONTEXT_KERNEL)

static struct lk_raw got[16];
static int ngot;

static int collect_ev(void *ctx, const struct lk_raw *ev)
{
	(void)ctx;
	if (ngot < 16)
		got[ngot++] = *ev;
	return 0;
}

/* A sample: kind, time, tid, cpu, lock, flags/ret, then the callchain. */
static struct lk_sample smp(enum lk_sample_kind kind, uint64_t time, uint32_t tid, uint32_t cpu,
			    uint64_t lock, uint32_t arg, int n, ...)
{
	struct lk_sample s;
	memset(&s, 0, sizeof(s));
	s.kind = kind;
	s.time = time;
	s.pid = s.tid = tid;
	s.cpu = cpu;
	s.lock = lock;
	s.arg = arg;
	va_list ap;
	va_start(ap, n);
	for (int i = 0; i < n; i++)
		s.chain[s.nchain++] = va_arg(ap, uint64_t);
	va_end(ap);
	return s;
}

static void expect_ev(int i, int event, uint64_t lock, uint64_t caller, uint64_t time_ns,
		      uint64_t frame0)
{
	assert_true(i < ngot);
	assert_int_equal(got[i].event, event);
	assert_int_equal(got[i].lock, lock);
	assert_int_equal(got[i].caller, caller);
	assert_int_equal(got[i].time_ns, time_ns);
	assert_int_equal(got[i].depth, frame0 ? 1 : 0);
	if (frame0)
		assert_int_equal(got[i].stack[0], frame0);
}

/* Kernel text of the pairing tests: sched and lock text, then two callers. */
static void pair_symtab(struct lk_symtab *k)
{
	lk_symtab_init(k);
	lk_symtab_add(k, 0x9000, 0, "__sched_text_start");
	lk_symtab_add(k, 0x9000, 0, "schedule");
	lk_symtab_add(k, 0x9100, 0, "rwsem_down_write_slowpath");
	lk_symtab_add(k, 0x9200, 0, "__sched_text_end");
	lk_symtab_add(k, 0x9200, 0, "__lock_text_start");
	lk_symtab_add(k, 0x9200, 0, "_raw_spin_lock");
	lk_symtab_add(k, 0x9300, 0, "__lock_text_end");
	lk_symtab_add(k, 0x9300, 0, "__vm_munmap");
	lk_symtab_add(k, 0x9400, 0x100, "__x64_sys_munmap");
	lk_symtab_finish(k, 2);
}

/*
 * Nested contention, paired per (thread, lock). The right answer, by hand:
 *  thread 100: begin rwsem A (WRITE) at 1000; inside the wait its schedule()
 *    contends the rq lock B (SPIN) at 2000, which ends at 3100; A ends at
 *    11000. So B: event 2 (spin), 3100 - 2000 = 1100 ns; A: event 4 (writer
 *    blocked), 11000 - 1000 = 10000 ns. (Paired per thread, B's end closed A
 *    at 2100 ns and A's own end was lost.) Both callers are the first frame
 *    outside sched/lock text, __vm_munmap+0x10; the stack (depth 1) is the
 *    frame after it, __x64_sys_munmap+0x10.
 *  thread 200: begin A (READ) at 1500; an end of C at 2500 that it never
 *    began (orphan, dropped); a second begin of A at 4000 is nested and
 *    ignored; A ends at 12500: event 6, 12500 - 1500 = 11000 ns.
 *  thread 300: mutex M spins (MUTEX|SPIN) at 100, sleeps (MUTEX) at 400,
 *    gets it at 900: event 0 with 300 ns, then event 1 with 500 ns.
 *  idle (tid 0) on CPUs 0 and 1, both on X: paired per CPU: CPU 1's
 *    5200..5300 = 100 ns, CPU 0's 5000..5600 = 600 ns.
 * Events come out in the time order of their ends.
 */
static void test_pair_nested(void **state)
{
	(void)state;
	enum { SPIN = 1, READ = 2, WRITE = 4, MUTEX = 32 };
	const uint64_t A = 0xa000, B = 0xb000, C = 0xc000, M = 0xd000, X = 0xe000;
	struct lk_symtab k;
	pair_symtab(&k);
	struct lk_pair p;
	lk_pair_init(&p, &k, 1, 0, collect_ev, NULL);
	struct lk_sample in[] = {
	    smp(LK_SAMPLE_BEGIN, 100, 300, 1, M, MUTEX | SPIN, 2, KMARK, 0x9320),
	    smp(LK_SAMPLE_BEGIN, 400, 300, 1, M, MUTEX, 2, KMARK, 0x9320),
	    smp(LK_SAMPLE_END, 900, 300, 0, M, 0, 0),
	    smp(LK_SAMPLE_BEGIN, 1000, 100, 0, A, WRITE, 4, KMARK, 0x9150, 0x9310, 0x9410),
	    smp(LK_SAMPLE_BEGIN, 1500, 200, 1, A, READ, 3, KMARK, 0x9160, 0x9330),
	    smp(LK_SAMPLE_BEGIN, 2000, 100, 0, B, SPIN, 6, KMARK, 0x9210, 0x9010, 0x9150, 0x9310,
		0x9410),
	    smp(LK_SAMPLE_END, 2500, 200, 1, C, 0, 0),
	    smp(LK_SAMPLE_END, 3100, 100, 0, B, 0, 0),
	    smp(LK_SAMPLE_BEGIN, 4000, 200, 1, A, READ, 3, KMARK, 0x9160, 0x9340),
	    smp(LK_SAMPLE_BEGIN, 5000, 0, 0, X, SPIN, 2, KMARK, 0x9350),
	    smp(LK_SAMPLE_BEGIN, 5200, 0, 1, X, SPIN, 2, KMARK, 0x9360),
	    smp(LK_SAMPLE_END, 5300, 0, 1, X, 0, 0),
	    smp(LK_SAMPLE_END, 5600, 0, 0, X, 0, 0),
	    smp(LK_SAMPLE_END, 11000, 100, 1, A, 0, 0),
	    smp(LK_SAMPLE_END, 12500, 200, 0, A, 0, 0),
	};
	ngot = 0;
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		assert_int_equal(lk_pair_sample(&p, &in[i]), 0);
	assert_int_equal(ngot, 7);
	expect_ev(0, 0, M, 0x9320, 300, 0);
	expect_ev(1, 1, M, 0x9320, 500, 0);
	expect_ev(2, 2, B, 0x9310, 1100, 0x9410);
	expect_ev(3, 2, X, 0x9360, 100, 0);
	expect_ev(4, 2, X, 0x9350, 600, 0);
	expect_ev(5, 4, A, 0x9310, 10000, 0x9410);
	expect_ev(6, 6, A, 0x9330, 11000, 0);
	assert_int_equal(p.orphans, 1);
	lk_pair_free(&p);
	lk_symtab_free(&k);
}

/*
 * Rings are drained one after the other, so a migrated thread's end (CPU 1,
 * time 11000) can be read a pass before its begin (CPU 0, time 1000). The
 * round rule pairs nothing newer than the previous pass's newest sample:
 * pass 1 queues the end and flushes up to 0 (nothing before it); pass 2
 * queues the begin and flushes up to 11000: one event of 10000 ns, not an
 * orphan end and a begin left open.
 */
/*
 * Lock names: a lock with a kallsyms symbol prints as the symbol; one
 * without (heap, or inside a section marker) as class@address when named,
 * else the bare address; the first class given for an address stays.
 */
static void test_lock_names(void **state)
{
	(void)state;
	struct lk_symtab k;
	pair_symtab(&k);
	char b[64];
	uint64_t heap = 0xffff888000001000ULL;
	assert_int_equal(lk_lockname_set(k.names, heap, "mmap_lock"), 0);
	assert_int_equal(lk_lockname_set(k.names, heap, "siglock"), 0);
	assert_string_equal(lk_sym_format(&k, heap, 0, b, sizeof(b)),
			    "mmap_lock@0xffff888000001000");
	assert_string_equal(lk_sym_format(&k, heap, 1, b, sizeof(b)),
			    "mmap_lock@0xffff888000001000");
	assert_string_equal(lk_sym_format(&k, heap + 8, 0, b, sizeof(b)), "0xffff888000001008");
	assert_int_equal(lk_lockname_set(k.names, 0x9410, "rq_lock"), 0);
	assert_string_equal(lk_sym_format(&k, 0x9410, 0, b, sizeof(b)), "__x64_sys_munmap+0x10");
	/* Many names: the table grows and keeps them all. */
	for (uint64_t i = 1; i <= 1000; i++)
		assert_int_equal(lk_lockname_set(k.names, heap + 64 * i, "i_rwsem"), 0);
	for (uint64_t i = 1; i <= 1000; i++)
		assert_string_equal(lk_lockname_get(k.names, heap + 64 * i), "i_rwsem");
	assert_string_equal(lk_lockname_get(k.names, heap), "mmap_lock");
	assert_null(lk_lockname_get(k.names, heap + 8));
	/* A lock known only by its kind: kind@address, a class given later
	 * replaces it (not the other way round), and -c keeps it apart. */
	uint64_t h2 = 0xffff888000100000ULL;
	assert_int_equal(lk_lockname_set(k.names, h2, lk_lock_kind(4)), 0);
	assert_string_equal(lk_sym_format(&k, h2, 0, b, sizeof(b)), "rwsem@0xffff888000100000");
	assert_int_equal(lk_lockname_class_addr(k.names, h2), h2);
	assert_int_equal(lk_lockname_set(k.names, h2, "mmap_lock"), 0);
	assert_int_equal(lk_lockname_set(k.names, h2, lk_lock_kind(4)), 0);
	assert_string_equal(lk_lockname_get(k.names, h2), "mmap_lock");
	assert_int_equal(lk_lockname_class_addr(k.names, h2),
			 lk_lockname_class_addr(k.names, heap));
	/* --lock-owner: an owner's stand-in address prints as its name */
	assert_int_equal(lk_lockname_set(k.names, LK_OWNER_ADDR(1234), "sh[1234]"), 0);
	assert_string_equal(lk_sym_format(&k, LK_OWNER_ADDR(1234), 0, b, sizeof(b)), "sh[1234]");
	assert_string_equal(lk_sym_format(&k, LK_OWNER_ADDR(77), 1, b, sizeof(b)), "[77]");
	lk_symtab_free(&k);
}

/*
 * Class from flags and frames, by the table in sym.c: a WRITE (rwsem) wait
 * whose caller is __vm_munmap is the mmap_lock; the same frames with SPIN
 * flags name nothing (munmap's spinlocks are other locks); frames in lock
 * text up to two past the caller are looked at, not further.
 */
static void test_lock_class_guess(void **state)
{
	(void)state;
	struct lk_symtab k;
	pair_symtab(&k);
	uint64_t fr[] = {0x9110, 0x9310, 0x9410};
	assert_string_equal(lk_lock_class_guess(&k, 4, fr, 3), "mmap_lock");
	assert_string_equal(lk_lock_class_guess(&k, 2, fr, 3), "mmap_lock");
	assert_null(lk_lock_class_guess(&k, 1, fr, 3));
	assert_null(lk_lock_class_guess(&k, 32, fr, 3));
	assert_null(lk_lock_class_guess(&k, 4 | 16, fr, 3)); /* percpu-rwsem */
	uint64_t far[] = {0x9110, 0x9410, 0x9410, 0x9410, 0x9310};
	assert_null(lk_lock_class_guess(&k, 4, far, 5));
	/* copy_process's rwlock (SPIN|WRITE) is tasklist_lock; a spinlock
	 * (SPIN) there is another lock (the siglock it also takes). */
	lk_symtab_free(&k);
	pair_symtab(&k);
	lk_symtab_add(&k, 0x9500, 0x100, "copy_process");
	lk_symtab_finish(&k, 2);
	uint64_t cp[] = {0x9210, 0x9510};
	assert_string_equal(lk_lock_class_guess(&k, 1 | 4, cp, 2), "tasklist_lock");
	assert_null(lk_lock_class_guess(&k, 1, cp, 2));
	/* Pairing names the lock as it opens the wait. */
	struct lk_pair p;
	lk_pair_init(&p, &k, 1, 0, collect_ev, NULL);
	struct lk_sample b = smp(LK_SAMPLE_BEGIN, 1000, 100, 0, 0xffff888000002000ULL, 4, 4,
				 (uint64_t)PERF_CONTEXT_KERNEL, (uint64_t)0x9110, (uint64_t)0x9310,
				 (uint64_t)0x9410);
	ngot = 0;
	assert_int_equal(lk_pair_sample(&p, &b), 0);
	assert_string_equal(lk_lockname_get(k.names, 0xffff888000002000ULL), "mmap_lock");
	/* a lock no class fits is named by its kind: SPIN|READ, an rwlock */
	b.lock = 0xffff888000003000ULL;
	b.arg = 1 | 2;
	assert_int_equal(lk_pair_sample(&p, &b), 0);
	assert_string_equal(lk_lockname_get(k.names, 0xffff888000003000ULL), "rwlock");
	lk_pair_free(&p);
	lk_symtab_free(&k);
}

/* An aggregate (BPF backend): count waits, total time, its own histogram. */
static void test_recset_aggregate(void **state)
{
	(void)state;
	struct lk_recset s;
	assert_int_equal(lk_recset_init(&s, 4, 0), 0);
	uint32_t hist[64] = {0};
	hist[3] = 2; /* two waits in [4,8) */
	hist[7] = 3; /* three in [64,128) */
	struct lk_raw ev;
	memset(&ev, 0, sizeof(ev));
	ev.event = 4;
	ev.lock = 0x1000;
	ev.caller = 0x2000;
	ev.time_ns = 2 * 5 + 3 * 100;
	ev.count = 5;
	ev.hist = hist;
	assert_int_equal(lk_recset_add(&s, &ev), 0);
	ev.count = 0; /* a single event of 7 ns on the same key */
	ev.hist = NULL;
	ev.time_ns = 7;
	assert_int_equal(lk_recset_add(&s, &ev), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.total_count[4], 6);
	assert_int_equal(s.total_time[4], 317);
	assert_int_equal(s.recs[0]->count, 6);
	assert_int_equal(s.recs[0]->hist[3], 3);
	assert_int_equal(s.recs[0]->hist[7], 3);
	/* -d does not judge an aggregate by its total (the kernel applied it). */
	struct lk_filter f;
	memset(&f, 0, sizeof(f));
	f.enabled[4] = 1;
	f.min_duration = 1000;
	ev.count = 5;
	ev.hist = hist;
	ev.time_ns = 310;
	assert_true(lk_filter_pass(&f, &ev));
	ev.hist = NULL;
	assert_false(lk_filter_pass(&f, &ev));
	lk_recset_free(&s);
}

/* 'lock ADDR CLASS' lines of a record file name locks on replay; a bad one
 * is an error naming the line. */
static void test_record_locknames(void **state)
{
	(void)state;
	char path[] = "/tmp/lockstat-test-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	FILE *f = fdopen(fd, "w");
	fputs("lockstat-record 1\nelapsed 1000\nncpu 1\nlock ffff888000003000 mmap_lock\n", f);
	fclose(f);
	struct lk_symtab k;
	lk_symtab_init(&k);
	struct lk_replay r;
	struct ok_err e;
	assert_int_equal(lk_replay_open(&r, path, &k, &e), 0);
	assert_string_equal(lk_lockname_get(k.names, 0xffff888000003000ULL), "mmap_lock");
	lk_replay_close(&r);
	lk_symtab_free(&k);
	f = fopen(path, "w");
	fputs("lockstat-record 1\nelapsed 1000\nncpu 1\nlock 0 x\n", f);
	fclose(f);
	lk_symtab_init(&k);
	assert_int_equal(lk_replay_open(&r, path, &k, &e), -EINVAL);
	assert_int_equal(e.line, 4);
	lk_replay_close(&r);
	lk_symtab_free(&k);
	unlink(path);
}

static void test_pair_rounds(void **state)
{
	(void)state;
	struct lk_symtab k;
	pair_symtab(&k);
	struct lk_pair p;
	lk_pair_init(&p, &k, 1, 0, collect_ev, NULL);
	ngot = 0;
	struct lk_sample end = smp(LK_SAMPLE_END, 11000, 100, 1, 0xa000, 0, 0);
	struct lk_sample beg =
	    smp(LK_SAMPLE_BEGIN, 1000, 100, 0, 0xa000, 4, 3, KMARK, 0x9150, 0x9310);
	assert_int_equal(lk_pair_queue(&p, &end), 0);
	assert_int_equal(lk_pair_flush(&p, 0), 0);
	assert_int_equal(ngot, 0);
	assert_int_equal(p.nq, 1);
	assert_int_equal(lk_pair_queue(&p, &beg), 0);
	assert_int_equal(lk_pair_flush(&p, 11000), 0);
	assert_int_equal(p.nq, 0);
	assert_int_equal(ngot, 1);
	expect_ev(0, 4, 0xa000, 0x9310, 10000, 0);
	assert_int_equal(p.orphans, 0);
	lk_pair_free(&p);
	lk_symtab_free(&k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_symbol),    cmocka_unit_test(test_mergesort_ties),
	    cmocka_unit_test(test_mergesort_sorts),  cmocka_unit_test(test_hist_bucket),
	    cmocka_unit_test(test_parse_events),     cmocka_unit_test(test_parse_range),
	    cmocka_unit_test(test_filter),	     cmocka_unit_test(test_contention_map),
	    cmocka_unit_test(test_recset),	     cmocka_unit_test(test_lock_text),
	    cmocka_unit_test(test_markers),	     cmocka_unit_test(test_pair_nested),
	    cmocka_unit_test(test_pair_rounds),	     cmocka_unit_test(test_lock_names),
	    cmocka_unit_test(test_lock_class_guess), cmocka_unit_test(test_recset_aggregate),
	    cmocka_unit_test(test_record_locknames),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
