/*
 * bpf.c: the loader of lockstat's BPF backend (lockstat.bpf.c, built into
 * lockstat.skel.h by bpftool). It loads and attaches the programs, opens
 * and closes the counting window, and at the end turns every in-kernel
 * aggregate into one event carrying its count, total and histogram, with
 * caller and stack found from the stack map as pair.c finds them from a
 * perf callchain.
 *
 * Without libbpf, clang's BPF target or bpftool at build time this file
 * builds to stubs that say so, and lockstat uses the perf_event rings.
 */
#include "lockstat.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* meson sets it to 0 or 1: an undefined name would read as 0 in #if and
 * build the ring-only lockstat without a word (a renamed flag once did) */
#ifndef LK_HAVE_BPF
#error "LK_HAVE_BPF must be defined (lockstat/meson.build)"
#endif
#if LK_HAVE_BPF

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>

#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/perf_event.h>

#include "lockstat.skel.h"
#include "lockstat_bpf.h"
#include "lockstat_prof.skel.h"

struct lk_bpf {
	struct lockstat_bpf *skel;
};

/* libbpf's messages (the verifier log among them) while loading, so that a
 * failure can say why; a static buffer because libbpf's print hook has no
 * context pointer. */
static char load_log[8192];
static size_t load_log_len;

static int log_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	/* Warnings carry the reason and the verifier log; debug is ELF chatter. */
	if (level == LIBBPF_DEBUG)
		return 0;
	if (load_log_len < sizeof(load_log) - 1) {
		int n =
		    vsnprintf(load_log + load_log_len, sizeof(load_log) - load_log_len, fmt, ap);
		if (n > 0)
			load_log_len += (size_t)n;
		if (load_log_len > sizeof(load_log) - 1)
			load_log_len = sizeof(load_log) - 1;
	}
	return 0;
}

const char *lk_bpf_log(void)
{
	return load_log;
}

/* The error of a failed load or attach step (r: libbpf's result). EPERM:
 * bpf() wants CAP_BPF with CAP_PERFMON (or CAP_SYS_ADMIN) for tracing
 * programs, whatever perf_event_paranoid says. */
static int load_error(struct ok_err *e, int r, const char *step)
{
	int err = r < 0 ? r : -EINVAL;
	return ok_err_at(e, err, NULL, OK_ERR_NOPOS, "BPF backend: cannot %s: %s%s", step,
			 strerror(-err),
			 err == -EPERM ? " (bpf() needs CAP_BPF and CAP_PERFMON, or root)" : "");
}

int lk_bpf_open(struct lk_bpf **out, uint64_t min_duration, int lock_owner, struct ok_err *e)
{
	*out = NULL;
	load_log_len = 0;
	load_log[0] = 0;
	libbpf_print_fn_t old = libbpf_set_print(log_print);
	struct lk_bpf *b = calloc(1, sizeof(*b));
	if (!b) {
		libbpf_set_print(old);
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	}
	const char *step = "open";
	int r = 0;
	b->skel = lockstat_bpf__open();
	if (!b->skel)
		r = -errno;
	if (!r) {
		b->skel->bss->min_duration = min_duration;
		b->skel->bss->lock_owner = lock_owner;
		step = "load the programs";
		r = lockstat_bpf__load(b->skel);
	}
	if (!r) {
		step = "attach to the lock:contention_begin/end raw tracepoints";
		r = lockstat_bpf__attach(b->skel);
	}
	libbpf_set_print(old);
	if (r) {
		lk_bpf_close(b);
		return load_error(e, r, step);
	}
	*out = b;
	return 0;
}

void lk_bpf_enable(struct lk_bpf *b, int on)
{
	__atomic_store_n(&b->skel->bss->enabled, on, __ATOMIC_SEQ_CST);
}

/* Frames of the stack map's stack id, the tracing machinery in front of the
 * tracepoint's call site dropped: a raw_tp stack starts in bpf_trace_run2()
 * and __bpf_trace_contention_begin() (and the JIT'd program, which is in no
 * symbol table read before it was loaded), where a perf callchain starts at
 * the call site. */
static int stack_frames(struct lk_bpf *b, const struct lk_symtab *t, int id, uint64_t *out)
{
	uint64_t ips[LK_BPF_STACK_DEPTH];
	if (id < 0)
		return 0;
	memset(ips, 0, sizeof(ips));
	uint32_t key = (uint32_t)id;
	if (bpf_map__lookup_elem(b->skel->maps.stacks, &key, sizeof(key), ips, sizeof(ips), 0))
		return 0;
	int n = 0;
	while (n < LK_BPF_STACK_DEPTH && ips[n])
		n++;
	int skip = 0;
	for (int i = 0; i < n && i < 8; i++) {
		const struct lk_sym *s = lk_sym_lookup(t, ips[i]);
		if (!s || ips[i] - s->addr >= s->size || !strncmp(s->name, "bpf_trace_run", 13) ||
		    !strncmp(s->name, "__bpf_trace_", 12) ||
		    !strncmp(s->name, "__traceiter_", 12) || !strncmp(s->name, "bpf_prog_", 9) ||
		    !strncmp(s->name, "__bpf_prog_", 11))
			skip = i + 1;
	}
	memcpy(out, ips + skip, (size_t)(n - skip) * sizeof(*out));
	return n - skip;
}

static const char *const class_names[] = {NULL, "mmap_lock", "siglock"};

/* --lock-owner: the caller column's stand-in for an owner (LK_OWNER_ADDR),
 * named "comm[tid]" from the kernel's owner_comms map ('/' and blanks in
 * the comm as '_', so that -p stays one word per field), "(no-owner)" or
 * "(readers)". */
static uint64_t owner_caller(struct lk_bpf *b, const struct lk_symtab *t, uint32_t owner)
{
	char name[LK_LOCKNAME_MAX], comm[16] = "";
	if (owner == LK_BPF_OWNER_NONE)
		snprintf(name, sizeof(name), "(no-owner)");
	else if (owner == LK_BPF_OWNER_READERS)
		snprintf(name, sizeof(name), "(readers)");
	else {
		if (bpf_map__lookup_elem(b->skel->maps.owner_comms, &owner, sizeof(owner), comm,
					 sizeof(comm), 0))
			snprintf(comm, sizeof(comm), "?");
		comm[15] = 0;
		for (char *c = comm; *c; c++)
			if (*c == ' ' || *c == '\t')
				*c = '_';
		snprintf(name, sizeof(name), "%s[%u]", comm, owner);
	}
	uint64_t a = LK_OWNER_ADDR(owner);
	lk_lockname_set(t->names, a, name);
	return a;
}

int lk_bpf_read(struct lk_bpf *b, const struct lk_symtab *t, int depth, int linux_types,
		lk_event_fn fn, void *ctx, struct lk_bpf_counts *c)
{
	struct lockstat_bpf__bss *bss = b->skel->bss;
	memset(c, 0, sizeof(*c));
	c->orphans = bss->n_orphans;
	c->open_full = bss->n_open_full;
	c->agg_full = bss->n_agg_full;
	c->stack_lost = bss->n_stack_lost;
	int fd = bpf_map__fd(b->skel->maps.aggs);
	struct lk_bpf_key key, next;
	struct lk_bpf_val val;
	void *prev = NULL;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &val) || !val.count)
			continue;
		struct lk_raw ev;
		memset(&ev, 0, sizeof(ev));
		ev.event = lk_contention_event(key.flags, linux_types);
		ev.lock = key.lock;
		ev.time_ns = val.total;
		ev.count = val.count;
		ev.hist = val.hist;
		uint64_t fr[LK_BPF_STACK_DEPTH];
		int n = stack_frames(b, t, key.stack, fr), i = 0;
		while (i < n && lk_sym_is_lock_text(t, fr[i]))
			i++;
		ev.caller = i < n ? fr[i] : 0;
		for (i++; i < n && ev.depth < depth; i++)
			ev.stack[ev.depth++] = fr[i];
		if (key.owner != LK_BPF_OWNER_NA)
			ev.caller = owner_caller(b, t, key.owner);
		const char *cls = key.lclass < sizeof(class_names) / sizeof(class_names[0])
				      ? class_names[key.lclass]
				      : NULL;
		/* Where the kernel checked the address (mmap_lock, siglock), its
		 * answer stands; other classes come from the code path, for the
		 * kind the flags give. */
		if (!cls) {
			cls = lk_lock_class_guess(t, key.flags, fr, n);
			if (cls && (!strcmp(cls, "mmap_lock") || !strcmp(cls, "siglock")))
				cls = NULL;
		}
		if (!cls)
			cls = lk_lock_kind(key.flags); /* else its kind, from the flags */
		lk_lockname_set(t->names, key.lock, cls);
		c->events += val.count;
		int r = fn(ctx, &ev);
		if (r < 0)
			return r;
	}
	return 0;
}

void lk_bpf_close(struct lk_bpf *b)
{
	if (!b)
		return;
	if (b->skel)
		lockstat_bpf__destroy(b->skel);
	free(b);
}

/* ---- profiling (lockstat_prof.bpf.c) ------------------------------------ */

struct lk_bpf_prof {
	struct lockstat_prof_bpf *skel;
	int n;			 /* CPUs */
	int *fds;		 /* their cpu-clock events */
	struct bpf_link **links; /* the program on each */
};

int lk_bpf_prof_open(struct lk_bpf_prof **out, const int *cpus, int ncpu, unsigned rate_hz,
		     int want_stack, struct ok_err *e)
{
	*out = NULL;
	load_log_len = 0;
	load_log[0] = 0;
	struct lk_bpf_prof *p = calloc(1, sizeof(*p));
	if (p) {
		p->fds = calloc((size_t)ncpu, sizeof(*p->fds));
		p->links = calloc((size_t)ncpu, sizeof(*p->links));
	}
	if (!p || !p->fds || !p->links) {
		lk_bpf_prof_close(p);
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	}
	for (int i = 0; i < ncpu; i++)
		p->fds[i] = -1;
	p->n = ncpu;
	libbpf_print_fn_t old = libbpf_set_print(log_print);
	const char *step = "open";
	int r = 0;
	p->skel = lockstat_prof_bpf__open();
	if (!p->skel)
		r = -errno;
	if (!r) {
		p->skel->bss->want_stack = want_stack;
		step = "load the profiling program";
		r = lockstat_prof_bpf__load(p->skel);
	}
	/* The same cpu-clock sampling event as the rings' (collect.c), with
	 * the program in place of a ring. */
	for (int i = 0; !r && i < ncpu; i++) {
		struct perf_event_attr a;
		memset(&a, 0, sizeof(a));
		a.size = sizeof(a);
		a.type = PERF_TYPE_SOFTWARE;
		a.config = PERF_COUNT_SW_CPU_CLOCK;
		a.sample_period = 1000000000ULL / (rate_hz ? rate_hz : 97);
		a.disabled = 1;
		step = "open a cpu-clock event";
		p->fds[i] =
		    (int)syscall(SYS_perf_event_open, &a, -1, cpus[i], -1, PERF_FLAG_FD_CLOEXEC);
		if (p->fds[i] < 0) {
			r = -errno;
			break;
		}
		step = "attach the profiling program to the cpu-clock events";
		p->links[i] = bpf_program__attach_perf_event(p->skel->progs.profile, p->fds[i]);
		if (!p->links[i])
			r = -errno;
	}
	libbpf_set_print(old);
	if (r) {
		lk_bpf_prof_close(p);
		return load_error(e, r, step);
	}
	*out = p;
	return 0;
}

void lk_bpf_prof_enable(struct lk_bpf_prof *p, int on)
{
	__atomic_store_n(&p->skel->bss->enabled, on, __ATOMIC_SEQ_CST);
	for (int i = 0; i < p->n; i++)
		ioctl(p->fds[i], on ? PERF_EVENT_IOC_ENABLE : PERF_EVENT_IOC_DISABLE, 0);
}

int lk_bpf_prof_read(struct lk_bpf_prof *p, const struct lk_symtab *t, int depth, lk_event_fn fn,
		     void *ctx, uint64_t *lost)
{
	*lost = p->skel->bss->n_full;
	int fd = bpf_map__fd(p->skel->maps.samples);
	int sfd = bpf_map__fd(p->skel->maps.pstacks);
	struct lk_prof_key key, next;
	uint64_t count;
	void *prev = NULL;
	(void)t;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &count) || !count)
			continue;
		/* as collect.c's emit_profile(): the PC is the caller, its
		 * callers the stack, the CPU the lock column */
		struct lk_raw ev;
		memset(&ev, 0, sizeof(ev));
		ev.event = LK_EV_PROFILE;
		ev.lock = LK_CPU_ADDR(key.cpu);
		ev.caller = key.ip;
		ev.count = count;
		if (!key.ip) {
			memcpy(ev.comm, key.comm, sizeof(ev.comm));
			ev.comm[sizeof(ev.comm) - 1] = 0;
		}
		uint64_t ips[LK_BPF_STACK_DEPTH];
		uint32_t id = (uint32_t)key.stack;
		if (key.ip && key.stack >= 0 && !bpf_map_lookup_elem(sfd, &id, ips)) {
			/* ips[0] is the PC itself */
			for (int i = 1; i < LK_BPF_STACK_DEPTH && ips[i] && ev.depth < depth; i++)
				ev.stack[ev.depth++] = ips[i];
		}
		int r = fn(ctx, &ev);
		if (r < 0)
			return r;
	}
	return 0;
}

void lk_bpf_prof_close(struct lk_bpf_prof *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++) {
		if (p->links && p->links[i])
			bpf_link__destroy(p->links[i]);
		if (p->fds && p->fds[i] >= 0)
			close(p->fds[i]);
	}
	if (p->skel)
		lockstat_prof_bpf__destroy(p->skel);
	free(p->fds);
	free(p->links);
	free(p);
}

#else /* !LK_HAVE_BPF */

const char *lk_bpf_log(void)
{
	return "";
}

int lk_bpf_open(struct lk_bpf **out, uint64_t min_duration, int lock_owner, struct ok_err *e)
{
	(void)min_duration, (void)lock_owner;
	*out = NULL;
	return ok_err_at(e, -ENOSYS, NULL, OK_ERR_NOPOS,
			 "BPF backend: this lockstat was built without libbpf, clang's BPF "
			 "target or bpftool");
}

void lk_bpf_enable(struct lk_bpf *b, int on)
{
	(void)b;
	(void)on;
}

int lk_bpf_read(struct lk_bpf *b, const struct lk_symtab *t, int depth, int linux_types,
		lk_event_fn fn, void *ctx, struct lk_bpf_counts *c)
{
	(void)b, (void)t, (void)depth, (void)linux_types, (void)fn, (void)ctx;
	memset(c, 0, sizeof(*c));
	return -ENOSYS;
}

void lk_bpf_close(struct lk_bpf *b)
{
	(void)b;
}

int lk_bpf_prof_open(struct lk_bpf_prof **out, const int *cpus, int ncpu, unsigned rate_hz,
		     int want_stack, struct ok_err *e)
{
	(void)cpus, (void)ncpu, (void)rate_hz, (void)want_stack;
	*out = NULL;
	return ok_err_at(e, -ENOSYS, NULL, OK_ERR_NOPOS,
			 "BPF backend: this lockstat was built without libbpf, clang's BPF "
			 "target or bpftool");
}

void lk_bpf_prof_enable(struct lk_bpf_prof *p, int on)
{
	(void)p, (void)on;
}

int lk_bpf_prof_read(struct lk_bpf_prof *p, const struct lk_symtab *t, int depth, lk_event_fn fn,
		     void *ctx, uint64_t *lost)
{
	(void)p, (void)t, (void)depth, (void)fn, (void)ctx;
	*lost = 0;
	return -ENOSYS;
}

void lk_bpf_prof_close(struct lk_bpf_prof *p)
{
	(void)p;
}

#endif
