/*
 * report.c: lockstat's aggregation pipeline and every output format, after
 * Solaris lockstat.c (the DTrace version), reimplemented from its documented
 * behaviour (illumos-gate usr/src/cmd/lockstat/lockstat.c and lockstat(1M)):
 *
 *   records --(-g)--> one record per stack frame, merged by (event, caller, lock)
 *           --(-c/-k)--> addresses coalesced to symbol starts, merged
 *           --(-w)--> merged by (event, lock): the hottest caller survives
 *           --(-W)--> merged by (event, stack, caller): the hottest lock survives
 *           --> sorted by (event, count desc) or, with -P, (event, time desc)
 *           --> one block per event type: header, rows, histograms, stacks
 *
 * Ties come out in the order of Solaris' own merge sort, which is not stable;
 * lk_mergesort() is that algorithm, so equal rows print in Solaris' order.
 * Merged-away records get event LK_MAX_EVENTS and sort to the end.
 */
#include "lockstat.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define NANOSEC 1000000000ULL

/* ---- comparators (the same keys as lockstat.c) --------------------------- */

static int cmp_event(const struct lk_rec *a, const struct lk_rec *b)
{
	return a->event < b->event ? -1 : a->event > b->event ? 1 : 0;
}

static int cmp_stack(const struct lk_rec *a, const struct lk_rec *b, int depth)
{
	for (int i = depth - 1; i >= 0; i--) {
		if (a->stack[i] < b->stack[i])
			return -1;
		if (a->stack[i] > b->stack[i])
			return 1;
	}
	return 0;
}

static int cmp_count_desc(const struct lk_rec *a, const struct lk_rec *b)
{
	return a->count > b->count ? -1 : a->count < b->count ? 1 : 0;
}

/* (event, stack deepest first, caller, lock): the full key. */
static int lockcmp(const struct lk_rec *a, const struct lk_rec *b, int depth)
{
	int c;
	if ((c = cmp_event(a, b)) || (c = cmp_stack(a, b, depth)))
		return c;
	if (a->caller != b->caller)
		return a->caller < b->caller ? -1 : 1;
	if (a->lock != b->lock)
		return a->lock < b->lock ? -1 : 1;
	return strcmp(a->comm, b->comm);
}

/* -w: (event, lock, count desc). */
static int lockcmp_anywhere(const struct lk_rec *a, const struct lk_rec *b, int depth)
{
	(void)depth;
	int c;
	if ((c = cmp_event(a, b)))
		return c;
	if (a->lock != b->lock)
		return a->lock < b->lock ? -1 : 1;
	return cmp_count_desc(a, b);
}

/* -W: (event, stack, caller, count desc). */
static int sitecmp_anylock(const struct lk_rec *a, const struct lk_rec *b, int depth)
{
	int c;
	if ((c = cmp_event(a, b)) || (c = cmp_stack(a, b, depth)))
		return c;
	if (a->caller != b->caller)
		return a->caller < b->caller ? -1 : 1;
	if ((c = strcmp(a->comm, b->comm)))
		return c;
	return cmp_count_desc(a, b);
}

static int countcmp(const struct lk_rec *a, const struct lk_rec *b, int depth)
{
	(void)depth;
	int c;
	if ((c = cmp_event(a, b)))
		return c;
	return cmp_count_desc(a, b);
}

static int timecmp(const struct lk_rec *a, const struct lk_rec *b, int depth)
{
	(void)depth;
	int c;
	if ((c = cmp_event(a, b)))
		return c;
	return a->time < b->time ? 1 : a->time > b->time ? -1 : 0;
}

/*
 * Solaris' merge sort: sort both halves, copy the left half forward and the
 * right half reversed into scratch, then merge from both ends, taking the
 * left element only when strictly smaller. Not stable; kept for its tie order.
 */
void lk_mergesort(int (*cmp)(const struct lk_rec *, const struct lk_rec *, int), struct lk_rec **a,
		  struct lk_rec **b, size_t n, int depth)
{
	if (n < 2)
		return;
	size_t m = n / 2;
	if (m > 1)
		lk_mergesort(cmp, a, b, m, depth);
	if (n - m > 1)
		lk_mergesort(cmp, a + m, b + m, n - m, depth);
	size_t i, j;
	for (i = m; i > 0; i--)
		b[i - 1] = a[i - 1];
	for (j = m - 1; j < n - 1; j++)
		b[n + m - j - 2] = a[j + 1];
	while (i < j)
		*a++ = cmp(b[i], b[j], depth) < 0 ? b[i++] : b[j--];
	*a = b[i];
}

/* ---- merging -------------------------------------------------------------- */

static void rec_merge(struct lk_rec *into, struct lk_rec *from)
{
	into->count += from->count;
	into->refcnt += from->refcnt;
	into->time += from->time;
	for (int i = 0; i < 64; i++)
		into->hist[i] += from->hist[i];
	from->event = LK_MAX_EVENTS;
}

/* Sort by cmp, then merge runs whose key (same) is equal into their first record. */
static void sort_and_merge(struct lk_recset *s, struct lk_rec **scratch,
			   int (*cmp)(const struct lk_rec *, const struct lk_rec *, int),
			   int (*same)(const struct lk_rec *, const struct lk_rec *, int))
{
	lk_mergesort(cmp, s->recs, scratch, s->n, s->depth);
	for (size_t i = 0; i < s->n;) {
		struct lk_rec *first = s->recs[i];
		size_t j = i + 1;
		if (first->event != LK_MAX_EVENTS)
			while (j < s->n && s->recs[j]->event == first->event &&
			       same(first, s->recs[j], s->depth))
				rec_merge(first, s->recs[j++]);
		i = j;
	}
}

static int same_full(const struct lk_rec *a, const struct lk_rec *b, int depth)
{
	return lockcmp(a, b, depth) == 0;
}

static int same_lock(const struct lk_rec *a, const struct lk_rec *b, int depth)
{
	(void)depth;
	return a->lock == b->lock;
}

static int same_site(const struct lk_rec *a, const struct lk_rec *b, int depth)
{
	return !cmp_stack(a, b, depth) && a->caller == b->caller && !strcmp(a->comm, b->comm);
}

/* Replace addr by its symbol's start when it lies inside the symbol. */
static uint64_t coalesce(const struct lk_symtab *t, uint64_t addr)
{
	const struct lk_sym *s = lk_sym_lookup(t, addr);
	return s && !s->marker && addr - s->addr < s->size ? s->addr : addr;
}

/* -c on the lock column: into the symbol, else into the lock's class. */
static uint64_t coalesce_lock(const struct lk_symtab *t, uint64_t addr)
{
	const struct lk_sym *s = lk_sym_lookup(t, addr);
	if (s && !s->marker && addr - s->addr < s->size)
		return s->addr;
	return lk_lockname_class_addr(t->names, addr);
}

/* -g: each record becomes one record per stack frame (caller := frame), plus
 * itself when its caller is not among the frames; stacks are then dropped. */
static int explode_generated(struct lk_recset *s)
{
	size_t cap = s->n;
	for (size_t i = 0; i < s->n; i++)
		cap += (size_t)s->depth;
	struct lk_rec **out = calloc(cap ? cap : 1, sizeof(*out));
	if (!out)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++) {
		struct lk_rec *r = s->recs[i];
		int caller_in_stack = 0;
		for (int f = 0; f < s->depth && r->stack[f]; f++) {
			if (r->stack[f] == r->caller)
				caller_in_stack = 1;
			struct lk_rec *g = malloc(sizeof(*g));
			if (!g)
				return -1;
			*g = *r;
			g->caller = r->stack[f];
			g->stack = calloc(1, sizeof(uint64_t));
			out[n++] = g;
		}
		if (caller_in_stack) {
			free(r->stack);
			free(r);
		} else {
			memset(r->stack, 0, (size_t)(s->depth ? s->depth : 1) * sizeof(uint64_t));
			out[n++] = r;
		}
	}
	free(s->recs);
	s->recs = out;
	s->n = s->cap = n;
	s->depth = 0;
	return 0;
}

/* ---- printing -------------------------------------------------------------- */

static void print_bar(FILE *out)
{
	fputs("-------------------------------------------------------------------------------\n",
	      out);
}

/* The first frame worth printing under a caller: lockstat.c skips frames
 * below the caller when the caller shows up as frame 3, 2 or 1. */
static int first_frame(uint64_t caller, const uint64_t *stack, int depth)
{
	for (int fr = 3; fr > 0; fr--)
		if (fr < depth && stack[fr] == caller)
			return fr;
	return 0;
}

/* Format a lock/caller column; (usermode) rows split by --comm show the process. */
static char *fmt_sym(const struct lk_symtab *t, const struct lk_rec *r, uint64_t addr,
		     int with_size, int is_caller, char *buf, size_t len)
{
	if (is_caller && addr == 0 && r->comm[0]) {
		snprintf(buf, len, "(usermode:%s)", r->comm);
		return buf;
	}
	return lk_sym_format(t, addr, with_size, buf, len);
}

static void report_block(struct lk_rec **recs, size_t n, const struct lk_recset *s,
			 const struct lk_symtab *t, const struct lk_report_opts *o, FILE *out)
{
	int event = recs[0]->event;
	const struct lk_event_info *ei = lk_event_info(event);
	uint64_t total_count = s->total_count[event], total_time = s->total_time[event];
	uint64_t elapsed = o->elapsed_ns ? o->elapsed_ns : 1;
	char buf[512], lhdr[80], chdr[80];
	int gather = o->gather;
	int depth = s->depth;

	if (o->topn == 0) {
		fprintf(
		    out, "%20llu %s\n",
		    (unsigned long long)(o->Rflag ? total_count * NANOSEC / elapsed : total_count),
		    ei->desc);
		return;
	}
	snprintf(lhdr, sizeof(lhdr), "%s%s", o->Wflag ? "Hottest " : "", ei->lhdr);
	snprintf(chdr, sizeof(chdr), "%s%s", o->wflag ? "Hottest " : "", "Caller");
	if (!o->pflag)
		fprintf(out, "\n%s: %.0f events in %.3f seconds (%.0f events/sec)\n\n", ei->desc,
			(double)total_count, (double)elapsed / NANOSEC,
			(double)total_count * NANOSEC / (double)elapsed);
	if (!o->pflag && gather < LK_GATHER_HIST) {
		fprintf(out, "%5s %4s %4s %4s %8s %-22s %-24s\n", o->Rflag ? "ops/s" : "Count",
			o->gflag ? "genr" : "indv", "cuml", "rcnt",
			gather >= LK_GATHER_TIME ? ei->units : "", lhdr, chdr);
		print_bar(out);
	}
	double ptotal = 0;
	for (size_t i = 0; i < n; i++) {
		const struct lk_rec *r = recs[i];
		if (o->topn > 0 && (long)i >= o->topn)
			break;
		if (o->pflag) {
			fprintf(out, "%u %u", (unsigned)r->event, r->count);
			fprintf(out, " %s", fmt_sym(t, r, r->lock, o->cflag, 0, buf, sizeof(buf)));
			fprintf(out, " %s", fmt_sym(t, r, r->caller, 0, 1, buf, sizeof(buf)));
			fprintf(out, " %f", (double)r->refcnt / r->count);
			if (gather >= LK_GATHER_TIME)
				fprintf(out, " %llu", (unsigned long long)r->time);
			if (gather >= LK_GATHER_HIST)
				for (int j = 0; j < 64; j++)
					fprintf(out, " %u", r->hist[j]);
			for (int j = 0; j < depth && r->stack[j]; j++)
				fprintf(out, " %s",
					lk_sym_format(t, r->stack[j], 0, buf, sizeof(buf)));
			fputc('\n', out);
			continue;
		}
		if (gather >= LK_GATHER_HIST) {
			print_bar(out);
			fprintf(out, "%5s %4s %4s %4s %8s %-22s %-24s\n",
				o->Rflag ? "ops/s" : "Count", o->gflag ? "genr" : "indv", "cuml",
				"rcnt", ei->units, lhdr, chdr);
		}
		double pct = o->Pflag && total_time
				 ? (double)r->time * 100.0 / (double)total_time
				 : (double)r->count * 100.0 / (double)total_count;
		ptotal += pct;
		char nsec[32] = "";
		if (gather >= LK_GATHER_TIME)
			snprintf(nsec, sizeof(nsec), "%llu",
				 (unsigned long long)(r->time / r->count));
		fprintf(out, "%5llu ",
			(unsigned long long)(o->Rflag ? (uint64_t)r->count * NANOSEC / elapsed
						      : r->count));
		fprintf(out, "%3.0f%% ", pct);
		if (o->gflag)
			fputs("---- ", out);
		else
			fprintf(out, "%3.0f%% ", ptotal);
		fprintf(out, "%4.2f %8s ", (double)r->refcnt / r->count, nsec);
		fprintf(out, "%-22s ", fmt_sym(t, r, r->lock, o->cflag, 0, buf, sizeof(buf)));
		fprintf(out, "%-24s\n", fmt_sym(t, r, r->caller, 0, 1, buf, sizeof(buf)));
		if (gather < LK_GATHER_HIST)
			continue;

		fputc('\n', out);
		fprintf(out, "%10s %31s %-9s %-24s\n", ei->units, "------ Time Distribution ------",
			o->Rflag ? "ops/s" : "count", depth > 0 ? "Stack" : "");
		int first = 0, last = 63;
		while (first < 63 && !r->hist[first])
			first++;
		while (last > 0 && !r->hist[last])
			last--;
		uint64_t tot = 0;
		for (int j = first; j <= last; j++)
			tot += r->hist[j];
		int fr = first_frame(r->caller, r->stack, depth);
		static const char at[] = "@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@";
		static const char sp[] = "                              ";
		for (int j = first; j <= last; j++) {
			int d = tot ? (int)(r->hist[j] * 30 / tot) : 0;
			fprintf(out, "%10llu |%s%s %-9u ", 1ULL << j, at + 30 - d, sp + d,
				o->Rflag ? (unsigned)((uint64_t)r->hist[j] * NANOSEC / elapsed)
					 : r->hist[j]);
			if (fr >= depth || !r->stack[fr]) {
				fputc('\n', out);
				continue;
			}
			fprintf(out, "%-24s\n",
				lk_sym_format(t, r->stack[fr], 0, buf, sizeof(buf)));
			fr++;
		}
		while (fr < depth && r->stack[fr]) {
			fprintf(out, "%15s %-36s %-24s\n", "", "",
				lk_sym_format(t, r->stack[fr], 0, buf, sizeof(buf)));
			fr++;
		}
	}
	if (!o->pflag)
		print_bar(out);
}

void lk_trace(const struct lk_symtab *t, const struct lk_report_opts *o, const struct lk_raw *ev,
	      int first, FILE *out)
{
	char lb[256], cb[256];
	if (first && !o->pflag) {
		fprintf(out, "%5s  %7s  %11s  %-24s  %-24s\n", "Event", "Time", "Owner", "Lock",
			"Caller");
		print_bar(out);
	}
	fprintf(out, "%2d  %10llu  %11s  %-24s  %-24s\n", ev->event,
		(unsigned long long)ev->time_ns, "0", lk_sym_format(t, ev->lock, 0, lb, sizeof(lb)),
		lk_sym_format(t, ev->caller, 0, cb, sizeof(cb)));
	if (o->gather < LK_GATHER_STACK || o->stack_arg < 1)
		return;
	int depth = ev->depth < o->depth ? ev->depth : o->depth;
	for (int fr = first_frame(ev->caller, ev->stack, depth); fr < depth && ev->stack[fr]; fr++)
		fprintf(out, "%53s  %-24s\n", "",
			lk_sym_format(t, ev->stack[fr], 0, lb, sizeof(lb)));
	fputc('\n', out);
}

/* --folded: "outermost;...;caller count" per record, for flame-graph tools. */
static void report_folded(struct lk_recset *s, const struct lk_symtab *t, FILE *out)
{
	char buf[512];
	for (size_t i = 0; i < s->n; i++) {
		const struct lk_rec *r = s->recs[i];
		if (r->event == LK_MAX_EVENTS)
			continue;
		int d = 0;
		while (d < s->depth && r->stack[d])
			d++;
		for (int f = d - 1; f >= 0; f--) {
			const struct lk_sym *sym = lk_sym_lookup(t, r->stack[f]);
			fprintf(out, "%s;",
				sym ? sym->name
				    : lk_sym_format(t, r->stack[f], 0, buf, sizeof(buf)));
		}
		if (!r->caller && r->comm[0]) {
			fprintf(out, "(usermode:%s)", r->comm);
		} else {
			const struct lk_sym *sym = lk_sym_lookup(t, r->caller);
			fputs(sym ? sym->name : lk_sym_format(t, r->caller, 0, buf, sizeof(buf)),
			      out);
		}
		fprintf(out, " %u\n", r->count);
	}
}

/* DTrace hands its aggregation over in key order (event, lock, caller, stack);
 * ties later depend on it, so start from that order. Keys are unique. */
static int keycmp(const struct lk_rec *a, const struct lk_rec *b, int depth)
{
	int c;
	if ((c = cmp_event(a, b)))
		return c;
	if (a->lock != b->lock)
		return a->lock < b->lock ? -1 : 1;
	if (a->caller != b->caller)
		return a->caller < b->caller ? -1 : 1;
	for (int i = 0; i < depth; i++)
		if (a->stack[i] != b->stack[i])
			return a->stack[i] < b->stack[i] ? -1 : 1;
	return strcmp(a->comm, b->comm);
}

void lk_report(struct lk_recset *s, const struct lk_symtab *t, const struct lk_report_opts *o,
	       FILE *out)
{
	if (!s->n)
		return;
	struct lk_rec **scratch = calloc(s->n + (size_t)s->depth * s->n + 1, sizeof(*scratch));
	if (!scratch)
		return;
	lk_mergesort(keycmp, s->recs, scratch, s->n, s->depth);
	if (o->folded) {
		lk_mergesort(countcmp, s->recs, scratch, s->n, s->depth);
		report_folded(s, t, out);
		free(scratch);
		return;
	}
	if (o->gflag) {
		explode_generated(s);
		free(scratch);
		scratch = calloc(s->n + 1, sizeof(*scratch));
		sort_and_merge(s, scratch, lockcmp, same_full);
	}
	if (o->cflag || o->kflag) {
		for (size_t i = 0; i < s->n; i++) {
			struct lk_rec *r = s->recs[i];
			if (o->cflag)
				r->lock = coalesce_lock(t, r->lock);
			if (o->kflag) {
				r->caller = coalesce(t, r->caller);
				for (int f = 0; f < s->depth; f++)
					if (r->stack[f])
						r->stack[f] = coalesce(t, r->stack[f]);
			}
		}
		sort_and_merge(s, scratch, lockcmp, same_full);
	}
	if (o->wflag)
		sort_and_merge(s, scratch, lockcmp_anywhere, same_lock);
	if (o->Wflag)
		sort_and_merge(s, scratch, sitecmp_anylock, same_site);
	lk_mergesort(o->Pflag && o->gather >= LK_GATHER_TIME ? timecmp : countcmp, s->recs, scratch,
		     s->n, s->depth);
	struct lk_report_opts ro = *o;
	/* lockstat.c: -g turns the records into LK_TIME ones, so the report is
	 * the -t form (one header, no histograms); -P means nothing without
	 * times (g_Pflag = 0 below LK_TIME), not even for the percentages. */
	if (o->gflag && ro.gather > LK_GATHER_TIME)
		ro.gather = LK_GATHER_TIME;
	if (ro.gather < LK_GATHER_TIME)
		ro.Pflag = 0;
	for (size_t i = 0; i < s->n;) {
		if (s->recs[i]->event == LK_MAX_EVENTS)
			break;
		size_t j = i;
		while (j < s->n && s->recs[j]->event == s->recs[i]->event)
			j++;
		report_block(s->recs + i, j - i, s, t, &ro, out);
		i = j;
	}
	free(scratch);
}
