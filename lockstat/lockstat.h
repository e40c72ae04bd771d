/*
 * lockstat.h: the library behind lockstat(1), Solaris' lock and profiling
 * statistics tool, on Linux.
 *
 * Layers, each usable alone (git's plumbing/porcelain split):
 *   symbols   (sym.c)      kallsyms-style symbol table, Solaris symbol format
 *   events    (lockstat.c) the Solaris event table, raw events, record sets
 *   report    (report.c)   the aggregation pipeline (-g, -c/-k, -w, -W, sort)
 *                          and every output format (rows, histograms, stacks,
 *                          -p parsable, -T trace, --folded)
 *   recfile   (recfile.c)  the --record/--replay text format
 *   locktype  (locktype.c) contention_begin flags -> lock types and events
 *   pair      (pair.c)     contention_begin/end samples -> timed events,
 *                          paired per (thread, lock) as perf lock does
 *   collect   (collect.c)  perf_event_open: profiling and contention events
 *                          while a command runs; turns samples into events
 * main.c parses options and glues them together.
 *
 * A raw event is what one Solaris probe firing gives: an event number
 * (0..63), a lock address (for profiling: the fake cpu[N] address), a caller
 * PC (0 = user mode), a duration in ns and up to LK_MAX_STACK return
 * addresses. Events are aggregated into records keyed by (event, lock,
 * caller, stack) as DTrace's aggregation did. No function here prints to the
 * terminal unless it takes a FILE *; errors are negative errno + ok_err.
 */
#ifndef LOCKSTAT_H
#define LOCKSTAT_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"

#define LK_MAX_EVENTS 64 /* event numbers are 0..63; 64 marks a merged-away record */
#define LK_MAX_STACK  50 /* -s depth limit ("max stack depth is 50") */
#define LK_EV_PROFILE 56 /* the profiling interrupt event */

/* ---- symbols (sym.c) ------------------------------------------------- */

struct lk_sym {
	uint64_t addr; /* start address */
	uint64_t size; /* bytes; kallsyms has none: distance to the next symbol */
	char *name;    /* owned by the table */
	int marker;    /* a linker section marker (__start_*, _edata...), not an
			  object: it names nothing, see lk_sym_is_marker() */
};

struct lk_locknames;

struct lk_symtab {
	struct lk_sym *syms; /* sorted by addr, duplicates collapsed */
	size_t n;
	size_t cap;
	int ncpu;		     /* fake cpu[0..ncpu-1] symbols present */
	uint64_t sched_lo, sched_hi; /* [__sched_text_start, __sched_text_end) */
	uint64_t lock_lo, lock_hi;   /* [__lock_text_start, __lock_text_end) */
	struct lk_locknames *names;  /* dynamic locks' class names (below); the
					pointer lets collectors holding a const
					table name locks as they see them */
};

/* Fake per-CPU "struct cpu" addresses, as Solaris' cpu[N] symbols: the profiling
 * event's lock column is cpu[N] (+PIL). Chosen below any kernel address. */
#define LK_CPU_BASE    0x100000000ULL
#define LK_CPU_SIZE    0x1000ULL
#define LK_CPU_ADDR(n) (LK_CPU_BASE + (uint64_t)(n)*LK_CPU_SIZE)

void lk_symtab_init(struct lk_symtab *t);
void lk_symtab_free(struct lk_symtab *t);
/* Add one symbol (size 0 = unknown, filled from the next symbol by _finish). */
int lk_symtab_add(struct lk_symtab *t, uint64_t addr, uint64_t size, const char *name);
/* Read a /proc/kallsyms-format file ("addr type name [module]"); only text,
 * data and bss symbols (tTdDbBrR) are kept. 0 or -errno with e filled. */
int lk_symtab_load_kallsyms(struct lk_symtab *t, const char *path, struct ok_err *e);
/* Add cpu[0..ncpu-1], the (usermode) entry at 0, sort, size, collapse. */
void lk_symtab_finish(struct lk_symtab *t, int ncpu);
/* Symbol containing addr (greatest start <= addr), or NULL. */
const struct lk_sym *lk_sym_lookup(const struct lk_symtab *t, uint64_t addr);
/* Is name a linker-script section marker (__start_X, __stop_X, __end_X,
 * _stext, _edata, __bss_start, ...)? Without CONFIG_KALLSYMS_ALL kallsyms
 * has no data symbols but these, so a static lock would print as
 * "__start_init_stack+0xf4018" and -c would merge every lock after the
 * marker into one: addresses that fall in a marker print as plain hex and
 * are not coalesced. */
int lk_sym_is_marker(const char *name);
/* Exact name match, or NULL. */
const struct lk_sym *lk_sym_by_name(const struct lk_symtab *t, const char *name);
/* Solaris format_symbol(): "name", "name[size]" (with_size and offset 0),
 * "cpu[N]+PIL", "name+0xoff" or "0xaddr" (also inside a section marker).
 * Returns buf. */
char *lk_sym_format(const struct lk_symtab *t, uint64_t addr, int with_size, char *buf, size_t len);
/* True if addr lies in scheduler or lock text (skipped when finding a caller). */
int lk_sym_is_lock_text(const struct lk_symtab *t, uint64_t addr);

/*
 * Lock names, as perf lock contention -l / --lock-addr and its BPF mode
 * give them: a lock with a kallsyms symbol prints as the symbol (above);
 * one without (a lock inside a kmalloc'ed object, or a static lock on a
 * kernel without CONFIG_KALLSYMS_ALL, whose kallsyms has only section
 * markers) prints as its class and address, "mmap_lock@0xffff8881..."
 * (both: two mm's mmap_locks are two rows, and -p stays one word per
 * field). Classes come from the BPF backend's checks through current
 * (mmap_lock, siglock, as perf's check_lock_type()) or from
 * lk_lock_class_guess(); a lock with neither is named by its kind from the
 * contention flags (lk_lock_kind(): "rwsem@0xffff8881..."), and only an
 * address no contention named prints bare. -c, which coalesces a lock into
 * its symbol, coalesces a named lock into its class: one row "mmap_lock"
 * for every mm's; a lock known only by its kind stays its own row. The
 * first class given for an address stays (an address reused by another
 * lock after a free keeps the first name), except that a class replaces a
 * kind.
 */
#define LK_LOCKNAME_MAX 32 /* bytes of a class name, NUL included */
/* --lock-owner: the caller column's fake address for owner x (a tid, or
 * lockstat_bpf.h's LK_BPF_OWNER_NONE/READERS), printed as its lock name */
#define LK_OWNER_BASE	 0x300000000ULL
#define LK_OWNER_ADDR(x) (LK_OWNER_BASE + (uint64_t)(uint32_t)(x))
#define LK_OWNER_END	 (LK_OWNER_BASE + 0x100000000ULL)
/* Name the lock at addr (names may be NULL: then nothing). 0 or -ENOMEM. */
int lk_lockname_set(struct lk_locknames *names, uint64_t addr, const char *cls);
/* The class name of addr, or NULL. */
const char *lk_lockname_get(const struct lk_locknames *names, uint64_t addr);
/* -c: the address standing for all locks of addr's class (a fake address
 * at LK_CLASS_ADDR(i), printed as the bare class name), or addr itself when
 * it has no class. */
#define LK_CLASS_BASE	 0x200000000ULL
#define LK_CLASS_ADDR(i) (LK_CLASS_BASE + (uint64_t)(i)*0x1000ULL)
uint64_t lk_lockname_class_addr(struct lk_locknames *names, uint64_t addr);
/* Call fn for every named lock (for --record). */
void lk_lockname_each(const struct lk_locknames *names,
		      void (*fn)(void *ctx, uint64_t addr, const char *cls), void *ctx);
/*
 * The class of a contended lock from its contention_begin flags and the
 * kernel frames at the tracepoint (call site first, lock text included):
 * the first of the frames up to two past the caller that is in a table of
 * functions known to take one lock of the kind the flags give
 * (lk_lock_kind(): copy_process's rwlock is tasklist_lock, its spinlocks
 * are not) (raw_spin_rq_lock_nested:
 * rq_lock; __vm_munmap, do_user_addr_fault...: mmap_lock;
 * __lock_task_sighand, get_signal...: siglock; unlink_file_vma...:
 * i_mmap_rwsem; ...), or NULL. A guess from the code path, where the BPF
 * backend can check the address.
 */
const char *lk_lock_class_guess(const struct lk_symtab *t, unsigned flags, const uint64_t *frames,
				int n);

/* ---- events and records (lockstat.c) ---------------------------------- */

struct lk_event_info {
	char type;	   /* 'C' contention, 'H' hold, 'I' interrupt, 'E' error, 0 unknown */
	const char *lhdr;  /* lock column header: "Lock" or "CPU+PIL" */
	const char *desc;  /* "Adaptive mutex spin" ... */
	const char *units; /* "nsec" */
};

/* The Solaris event table; unknown slots describe themselves as
 * "Unknown event (type N)". --linux-types uses slots 8..18 (see lockstat.c). */
const struct lk_event_info *lk_event_info(int event);
/* Slots 8.. used by --linux-types; the first and one past the last. */
#define LK_EV_LINUX_FIRST 8
#define LK_EV_LINUX_END	  20

struct lk_raw {
	int event;
	uint64_t lock;
	uint64_t caller;
	uint64_t time_ns; /* duration (contention) or latency (profiling) */
	int depth;	  /* frames in stack */
	uint64_t stack[LK_MAX_STACK];
	char comm[16];	      /* process name (for --comm), "" if unknown */
	uint64_t count;	      /* events this stands for; 0 means 1. The BPF
				 backend hands over in-kernel aggregates:
				 count waits of time_ns ns in total */
	const uint32_t *hist; /* their lk_hist_bucket() counts (64), or NULL:
				 one bucket, time_ns's */
};

struct lk_rec {
	int event;
	uint32_t count;
	uint32_t refcnt; /* never filled, as in the DTrace lockstat (rcnt 0.00) */
	uint64_t lock;
	uint64_t caller;
	uint64_t time;	   /* total ns */
	uint32_t hist[64]; /* log2 buckets of time */
	uint64_t *stack;   /* depth entries (the set's stack depth) */
	char comm[16];
};

/* A set of aggregated records; bounded by max_recs (-n). */
struct lk_recset {
	struct lk_rec **recs;
	size_t n, cap;
	size_t max_recs;		     /* -n: record budget */
	int depth;			     /* stack depth stored per record (-s N: N-1 frames) */
	int by_comm;			     /* --comm: (usermode) samples keyed by process name */
	uint64_t dropped;		     /* events not stored for lack of records */
	uint64_t total_count[LK_MAX_EVENTS]; /* before any merging, per event */
	uint64_t total_time[LK_MAX_EVENTS];
	void *index; /* hash index over keys */
	size_t index_cap;
};

int lk_recset_init(struct lk_recset *s, size_t max_recs, int depth);
void lk_recset_free(struct lk_recset *s);
/* Aggregate one event: 0, or -ENOSPC when the budget is exhausted (counted
 * in dropped and in the totals). */
int lk_recset_add(struct lk_recset *s, const struct lk_raw *ev);
/* log2 bucket of a duration: 0 for 0, else floor(log2 v)+1. */
int lk_hist_bucket(uint64_t v);

/* ---- filters, applied to raw events before aggregation ----------------- */

#define LK_MAX_RANGES 64 /* -l and -f options together */

/* An address range [lo, hi); empty when lo == hi (a hex range of size 0). */
struct lk_range {
	uint64_t lo, hi;
};

/*
 * Filters as Solaris lockstat builds them into its D predicates: every -l
 * range (lock address) and every -f range (caller) is ORed into one
 * predicate for the lock events; the profiling event is filtered by the -f
 * ranges alone (on the interrupted PC), so -l does not apply to it.
 */
struct lk_filter {
	struct lk_range locks[LK_MAX_RANGES]; /* -l */
	int nlocks;
	struct lk_range funcs[LK_MAX_RANGES]; /* -f */
	int nfuncs;
	uint64_t min_duration;		/* -d */
	uint8_t enabled[LK_MAX_EVENTS]; /* -C/-I/-e... */
};
/* Does ev pass the filter? */
int lk_filter_pass(const struct lk_filter *f, const struct lk_raw *ev);
/* Parse a -l/-f argument as Solaris does: "sym[+off][,size]" (size default:
 * the rest of the symbol, at least 1) or, when it starts with 0, a hex
 * "addr[+off][,size]" (size default 1; an explicit 0 matches nothing).
 * Unknown symbol: -ENOENT with e "symbol 'X' not found". */
int lk_parse_range(const struct lk_symtab *t, const char *arg, struct lk_range *r,
		   struct ok_err *e);
/* Parse -e "1,4-7,35" into enabled[]; -ERANGE for "events out of range". */
int lk_parse_events(const char *arg, uint8_t *enabled);

/* ---- report (report.c) ------------------------------------------------ */

enum lk_gather { LK_GATHER_COUNT, LK_GATHER_TIME, LK_GATHER_HIST, LK_GATHER_STACK };

struct lk_report_opts {
	enum lk_gather gather; /* -b, -t (default), -h, -s */
	int depth;	       /* frames kept with -s N (N-1), 0 otherwise */
	int gflag, cflag, kflag, wflag, Wflag, Rflag, pflag, Pflag;
	long topn;	     /* -D n; -1 = all */
	uint64_t elapsed_ns; /* collection time */
	int folded;	     /* --folded: one line per stack, flame-graph form */
	int stack_arg;	     /* -s N as given (-T prints a blank line after each
				event's frames when N >= 1), 0 without -s */
};

/* Run the pipeline on s (records are merged and reordered in place) and print
 * every event type's block to out, in increasing event order. Prints nothing
 * if there are no records. */
void lk_report(struct lk_recset *s, const struct lk_symtab *t, const struct lk_report_opts *o,
	       FILE *out);
/* -T: print one event as lockstat.c's report_trace() does. Before the first
 * event (first != 0) the header and dashes, except with -p; with -s N >= 1
 * the stack frames (from the caller's frame, if among the first four) and a
 * blank line. Solaris' Time column is always 0 (its D program traces no
 * duration); here it is the event's duration. */
void lk_trace(const struct lk_symtab *t, const struct lk_report_opts *o, const struct lk_raw *ev,
	      int first, FILE *out);
/* The Solaris merge sort (not stable; reproduces lockstat's tie order). */
void lk_mergesort(int (*cmp)(const struct lk_rec *, const struct lk_rec *, int depth),
		  struct lk_rec **a, struct lk_rec **scratch, size_t n, int depth);

/* ---- record files (recfile.c) ----------------------------------------- */

/*
 * --record FILE / --replay FILE: a text file, one item per line, so that
 * fixtures can be written and read by people:
 *   lockstat-record 1
 *   elapsed NS
 *   ncpu N
 *   ev EVENT LOCK CALLER TIME COMM [FRAME...]
 *   sym ADDR SIZE NAME
 *   lock ADDR CLASS
 * EVENT and TIME (ns) are decimal; LOCK, CALLER, FRAME, ADDR and SIZE hex
 * without 0x; COMM is the process name with blanks as '_', or '-'. The sym
 * lines (every symbol an address of the run falls in) may come anywhere,
 * usually last; cpu[N] and (usermode) are implied by ncpu. lock lines name
 * dynamic locks (lk_lockname_set). '#' starts a
 * comment line. Replay reads the file twice (symbols, then events), streaming.
 */
struct lk_replay {
	FILE *f;
	char path[256];
	long long line;
	uint64_t elapsed_ns;
	int ncpu;
};
/* Open, read the header and every sym line into t (finished with ncpu). */
int lk_replay_open(struct lk_replay *r, const char *path, struct lk_symtab *t, struct ok_err *e);
/* Next event: 1, 0 at the end, -EINVAL with e (path:line) on a malformed line. */
int lk_replay_next(struct lk_replay *r, struct lk_raw *ev, struct ok_err *e);
void lk_replay_close(struct lk_replay *r);

int lk_record_header(FILE *f, uint64_t elapsed_ns, int ncpu);
int lk_record_event(FILE *f, const struct lk_raw *ev);
/* Mark the symbols ev's addresses fall in (seen has t->n entries). */
void lk_record_note(const struct lk_symtab *t, uint8_t *seen, const struct lk_raw *ev);
/* Write a sym line for every marked symbol. */
int lk_record_symbols(FILE *f, const struct lk_symtab *t, const uint8_t *seen);

/* ---- contention pairing (pair.c) --------------------------------------- */

/* Called for each event produced; return < 0 to stop. */
typedef int (*lk_event_fn)(void *ctx, const struct lk_raw *ev);

enum lk_sample_kind { LK_SAMPLE_PROFILE, LK_SAMPLE_BEGIN, LK_SAMPLE_END };

/* One decoded perf sample (the fields lockstat asked for). */
struct lk_sample {
	uint64_t time; /* perf clock, ns; comparable across CPUs */
	uint64_t seq;  /* arrival order, breaks ties in time */
	uint32_t pid, tid, cpu;
	uint16_t misc; /* perf_event_header.misc (CPU mode) */
	enum lk_sample_kind kind;
	uint64_t ip;
	uint64_t lock; /* lock_addr of contention_begin/end */
	uint32_t arg;  /* begin: flags (LCB_F_*); end: ret */
	int nchain;    /* callchain entries, context markers included */
	uint64_t chain[LK_MAX_STACK + 8];
};

/* The kernel frames of s's callchain, context markers dropped (at most max). */
int lk_sample_frames(const struct lk_sample *s, uint64_t *out, int max);

/*
 * Pairing, as perf lock contention (builtin-lock.c, non-BPF) does it: every
 * thread has a stack of open contentions keyed by lock address. A begin on a
 * lock the thread already waits for is nested and ignored (the first
 * timestamp stays), except a mutex going from optimistic spinning
 * (MUTEX|SPIN) to sleeping (MUTEX), which closes the spin event and opens the
 * block event; a begin on another lock (the runqueue lock taken by the
 * waiter's own schedule(), an rwsem's wait_lock) is pushed; an end closes the
 * open contention of that thread on that lock, wherever it is in the stack;
 * an end with none open is an orphan (the begin came before the window) and
 * is dropped. The idle threads (tid 0) are paired per CPU.
 *
 * Samples arrive per CPU ring, each ring in time order but the rings not
 * with each other: lk_pair_queue() collects them, lk_pair_flush(upto) pairs,
 * in time order, those at or before upto and keeps the rest (perf's
 * FINISHED_ROUND rule: after a pass over every ring, nothing older than the
 * newest sample of the previous pass can still arrive).
 */
struct lk_pair {
	const struct lk_symtab *t; /* lock/sched text, skipped to find the caller */
	int depth;		   /* stack frames kept after the caller */
	int linux_types;	   /* --linux-types event numbers */
	lk_event_fn fn;
	void *ctx;
	struct lk_sample *q; /* queued samples, not yet paired */
	size_t nq, capq;
	uint64_t seq;
	struct lk_thread *threads; /* open addressing by thread key */
	size_t nthreads, cap_threads;
	uint64_t orphans; /* ends with no open begin */
};

void lk_pair_init(struct lk_pair *p, const struct lk_symtab *t, int depth, int linux_types,
		  lk_event_fn fn, void *ctx);
void lk_pair_free(struct lk_pair *p);
/* Pair one sample now (the caller guarantees time order): 0, -ENOMEM, or
 * what fn returned (< 0 stops). */
int lk_pair_sample(struct lk_pair *p, const struct lk_sample *s);
/* Queue one sample for lk_pair_flush: 0 or -ENOMEM. */
int lk_pair_queue(struct lk_pair *p, const struct lk_sample *s);
/* Pair, in (time, seq) order, every queued sample with time <= upto
 * (UINT64_MAX: all); the rest stay queued. 0 or the first error. */
int lk_pair_flush(struct lk_pair *p, uint64_t upto);

/* ---- BPF backend (bpf.c, lockstat.bpf.c) -------------------------------- */

/*
 * Contention counted in the kernel (perf lock contention -b): lock.h's
 * tracepoints feed raw_tp programs that pair per (thread, lock) as pair.c
 * and sum waits by (lock, flags, stack, class); nothing is copied per
 * event. Opened before the command starts, enabled for its run only, read
 * once at the end (lk_bpf_read), so per-event output (-T, --record) needs
 * the ring backend. Profiling has its own program (lk_bpf_prof_open).
 *
 * lock_owner (--lock-owner, perf lock contention's -o): each mutex or
 * rwsem wait is also keyed by the lock's owner when the wait began, read
 * from the lock's owner field (CO-RE), and its event's caller is the
 * owner's LK_OWNER_ADDR, named "comm[tid]", "(no-owner)" or "(readers)".
 */
struct lk_bpf;
struct lk_bpf_counts {
	uint64_t events;     /* waits counted */
	uint64_t orphans;    /* ends with nothing open (begun before the window) */
	uint64_t open_full;  /* begins lost: the kernel's open-wait map was full */
	uint64_t agg_full;   /* waits lost: the aggregate map was full */
	uint64_t stack_lost; /* waits whose stack the stack map refused (no caller) */
};
/* Load and attach (disabled). 0, or -errno with e saying which step failed;
 * lk_bpf_log() then has libbpf's messages, the verifier log among them. */
int lk_bpf_open(struct lk_bpf **b, uint64_t min_duration_ns, int lock_owner, struct ok_err *e);
const char *lk_bpf_log(void);
void lk_bpf_enable(struct lk_bpf *b, int on);
/* One event per aggregate (ev.count, ev.hist set), through fn; locks named
 * in t->names. 0 or fn's first error. */
int lk_bpf_read(struct lk_bpf *b, const struct lk_symtab *t, int depth, int linux_types,
		lk_event_fn fn, void *ctx, struct lk_bpf_counts *c);
void lk_bpf_close(struct lk_bpf *b);

/*
 * Profiling counted in the kernel (-I with the BPF backend): a perf_event
 * program on each CPU's cpu-clock sampling event (the rings' event and
 * rate) counts samples by (CPU, kernel PC, stack id, user-mode comm);
 * nothing is copied per sample. want_stack: keep stack ids (-s).
 */
struct lk_bpf_prof;
int lk_bpf_prof_open(struct lk_bpf_prof **p, const int *cpus, int ncpu, unsigned rate_hz,
		     int want_stack, struct ok_err *e);
/* Start or stop counting (the program's flag and the events). */
void lk_bpf_prof_enable(struct lk_bpf_prof *p, int on);
/* One LK_EV_PROFILE event per aggregate (ev.count set) through fn, as the
 * rings give them; *lost: samples the full hash could not count. */
int lk_bpf_prof_read(struct lk_bpf_prof *p, const struct lk_symtab *t, int depth, lk_event_fn fn,
		     void *ctx, uint64_t *lost);
void lk_bpf_prof_close(struct lk_bpf_prof *p);

/* ---- collection (collect.c) ------------------------------------------- */

enum lk_backend {
	LK_BACKEND_AUTO, /* BPF if it loads, else the rings (saying why) */
	LK_BACKEND_BPF,	 /* --backend=bpf: in-kernel aggregation or an error */
	LK_BACKEND_RING, /* --backend=ring: every sample through perf_event rings */
};

struct lk_collect_opts {
	int profile;		 /* -I */
	int contention;		 /* any of 0..7 */
	int linux_types;	 /* --linux-types */
	unsigned rate_hz;	 /* -i */
	int depth;		 /* frames to capture after the caller */
	int ncpu;		 /* online CPUs (filled by lk_collect) */
	enum lk_backend backend; /* for contention */
	uint64_t min_duration;	 /* -d, applied in the kernel by the BPF backend */
	int lock_owner;		 /* --lock-owner (BPF only: an error without it) */
};

struct lk_collect_result {
	uint64_t elapsed_ns;
	int exited;	 /* child exited normally */
	int status;	 /* exit code or signal */
	uint64_t lost;	 /* samples the kernel dropped */
	int stop_signal; /* SIGINT/SIGTERM that ended the measurement, or 0 */
	int ncpu;
	int bpf;	   /* contention was counted by the BPF backend */
	int bpf_prof;	   /* profiling was counted by the BPF backend */
	char bpf_why[600]; /* auto: why BPF was not used ("" if it was) */
	struct lk_bpf_counts bpf_counts;
};

/* Open the perf events on every online CPU, fork+exec argv, drain samples
 * until the child exits, turn them into events (fn), and report timing.
 * SIGINT or SIGTERM meanwhile ends the measurement as the child's exit does
 * (res->stop_signal says which), sends the child SIGTERM and reaps it; the
 * previous handlers are restored before returning. */
int lk_collect(const struct lk_collect_opts *o, const struct lk_symtab *t, char **argv,
	       lk_event_fn fn, void *ctx, struct lk_collect_result *res, struct ok_err *e);
/* Can this process open system-wide events (contention: with tracepoint raw
 * data) and read kernel addresses in /proc/kallsyms? 0, or -EPERM with e
 * naming the sysctl or capability that stands in the way and its fix. */
int lk_check_access(int contention, struct ok_err *e);
/* Online CPU count from /sys/devices/system/cpu/online (highest + 1). */
int lk_online_cpus(int *ncpu, int *cpus, int max);
/*
 * Lock types come from contention_begin's flags alone, by perf lock
 * contention's table (builtin-lock.c lock_type_table[]): the whole flags
 * value, compared exactly; a value it lacks is "unknown" (--linux-types
 * event 19). Never from the code path.
 */
/* The Solaris (or --linux-types) event for a flags value. */
int lk_contention_event(unsigned flags, int linux_types);
/* The Solaris event (0..7) a --linux-types event (8..19) folds into: the
 * one lk_contention_event(flags, 0) gives for that type's flags (the
 * PREEMPT_RT rwlocks, slot 15 with rt-mutex, fold into 1). Others: itself. */
int lk_linux_event_solaris(int event);
/* perf lock contention's type name for flags ("rwsem:W", "unknown"). */
const char *lk_linux_type_name(unsigned flags);
/* The lock kind of flags, the type without :R/:W ("rwsem", "spinlock",
 * "rwlock", "mutex", "rt-mutex", "rwlock-rt", "pcpu-sem", "semaphore"), or
 * NULL for unknown flags: what a lock with no symbol and no class is named
 * by ("rwsem@0xffff..."). */
const char *lk_lock_kind(unsigned flags);
/* Is name one of lk_lock_kind()'s names? */
int lk_is_lock_kind(const char *name);

#endif
