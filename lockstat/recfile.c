/*
 * recfile.c: lockstat's --record/--replay file (format in lockstat.h). A
 * text format rather than perf.data: small, diffable, writable by hand for
 * test fixtures, and it carries the symbols so a report can be reproduced
 * on another machine without root.
 */
#include "lockstat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int lk_record_header(FILE *f, uint64_t elapsed_ns, int ncpu)
{
	/* elapsed 0: not known yet; the caller appends the line at the end. */
	fprintf(f, "lockstat-record 1\n");
	if (elapsed_ns)
		fprintf(f, "elapsed %" PRIu64 "\n", elapsed_ns);
	return fprintf(f, "ncpu %d\n", ncpu) < 0 ? -EIO : 0;
}

int lk_record_event(FILE *f, const struct lk_raw *ev)
{
	char comm[sizeof(ev->comm)];
	size_t n = 0;
	for (; n < sizeof(comm) - 1 && ev->comm[n]; n++)
		comm[n] = (ev->comm[n] > ' ' && ev->comm[n] < 127) ? ev->comm[n] : '_';
	comm[n] = 0;
	fprintf(f, "ev %d %" PRIx64 " %" PRIx64 " %" PRIu64 " %s", ev->event, ev->lock, ev->caller,
		ev->time_ns, n ? comm : "-");
	for (int i = 0; i < ev->depth; i++)
		fprintf(f, " %" PRIx64, ev->stack[i]);
	return fputc('\n', f) == EOF ? -EIO : 0;
}

void lk_record_note(const struct lk_symtab *t, uint8_t *seen, const struct lk_raw *ev)
{
	uint64_t addrs[2 + LK_MAX_STACK];
	int n = 0;
	addrs[n++] = ev->lock;
	addrs[n++] = ev->caller;
	for (int i = 0; i < ev->depth; i++)
		addrs[n++] = ev->stack[i];
	for (int i = 0; i < n; i++) {
		const struct lk_sym *s = lk_sym_lookup(t, addrs[i]);
		if (s)
			seen[s - t->syms] = 1;
	}
}

static void record_lockname(void *ctx, uint64_t addr, const char *cls)
{
	fprintf(ctx, "lock %" PRIx64 " %s\n", addr, cls);
}

int lk_record_symbols(FILE *f, const struct lk_symtab *t, const uint8_t *seen)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct lk_sym *s = &t->syms[i];
		if (!seen[i] || s->addr == 0 || !strncmp(s->name, "cpu[", 4))
			continue;
		if (fprintf(f, "sym %" PRIx64 " %" PRIx64 " %s\n", s->addr, s->size, s->name) < 0)
			return -EIO;
	}
	lk_lockname_each(t->names, record_lockname, f);
	return ferror(f) ? -EIO : 0;
}

/* Read one line into buf; strips the newline. 1, 0 at EOF, -EINVAL if too long. */
static int read_line(struct lk_replay *r, char *buf, size_t len)
{
	if (!fgets(buf, (int)len, r->f))
		return 0;
	r->line++;
	size_t n = strlen(buf);
	if (n && buf[n - 1] == '\n')
		buf[--n] = 0;
	else if (!feof(r->f))
		return -EINVAL;
	return 1;
}

int lk_replay_open(struct lk_replay *r, const char *path, struct lk_symtab *t, struct ok_err *e)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->f = fopen(path, "r");
	if (!r->f)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot open record file");
	char buf[4096];
	int have_magic = 0, have_elapsed = 0, have_ncpu = 0, rc;
	while ((rc = read_line(r, buf, sizeof(buf))) > 0) {
		if (!buf[0] || buf[0] == '#')
			continue;
		if (!have_magic) {
			if (strcmp(buf, "lockstat-record 1"))
				return ok_err_line(
				    e, -EINVAL, path, r->line,
				    "expected 'lockstat-record 1' (not a lockstat record file)");
			have_magic = 1;
			continue;
		}
		char name[256];
		uint64_t a, b;
		int n;
		if (!strncmp(buf, "elapsed ", 8)) {
			if (sscanf(buf + 8, "%" SCNu64 "%n", &r->elapsed_ns, &n) != 1 ||
			    buf[8 + n] || !r->elapsed_ns)
				return ok_err_line(e, -EINVAL, path, r->line,
						   "expected 'elapsed NANOSECONDS' (> 0)");
			have_elapsed = 1;
		} else if (!strncmp(buf, "ncpu ", 5)) {
			if (sscanf(buf + 5, "%d%n", &r->ncpu, &n) != 1 || buf[5 + n] ||
			    r->ncpu < 1 || r->ncpu > 8192)
				return ok_err_line(e, -EINVAL, path, r->line,
						   "expected 'ncpu N' with 1 <= N <= 8192");
			have_ncpu = 1;
		} else if (!strncmp(buf, "sym ", 4)) {
			if (sscanf(buf + 4, "%" SCNx64 " %" SCNx64 " %255s%n", &a, &b, name, &n) !=
				3 ||
			    buf[4 + n])
				return ok_err_line(e, -EINVAL, path, r->line,
						   "expected 'sym ADDRESS SIZE NAME' (hex)");
			if (lk_symtab_add(t, a, b, name) < 0)
				return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
		} else if (!strncmp(buf, "lock ", 5)) {
			if (sscanf(buf + 5, "%" SCNx64 " %255s%n", &a, name, &n) != 2 ||
			    buf[5 + n] || !a || strlen(name) >= LK_LOCKNAME_MAX)
				return ok_err_line(e, -EINVAL, path, r->line,
						   "expected 'lock ADDRESS CLASS' (hex address, "
						   "class of at most 31 bytes)");
			if (lk_lockname_set(t->names, a, name) < 0)
				return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
		} else if (strncmp(buf, "ev ", 3)) {
			return ok_err_line(e, -EINVAL, path, r->line,
					   "expected 'ev', 'sym', 'lock', 'elapsed' or 'ncpu'");
		}
	}
	if (rc < 0)
		return ok_err_line(e, -EINVAL, path, r->line, "line too long");
	if (!have_magic || !have_elapsed || !have_ncpu)
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS, "missing %s header line",
				 !have_magic	 ? "'lockstat-record 1'"
				 : !have_elapsed ? "'elapsed'"
						 : "'ncpu'");
	lk_symtab_finish(t, r->ncpu);
	rewind(r->f);
	r->line = 0;
	return 0;
}

int lk_replay_next(struct lk_replay *r, struct lk_raw *ev, struct ok_err *e)
{
	char buf[4096];
	int rc;
	while ((rc = read_line(r, buf, sizeof(buf))) > 0) {
		if (strncmp(buf, "ev ", 3))
			continue;
		memset(ev, 0, sizeof(*ev));
		char comm[64];
		int n;
		if (sscanf(buf + 3, "%d %" SCNx64 " %" SCNx64 " %" SCNu64 " %63s%n", &ev->event,
			   &ev->lock, &ev->caller, &ev->time_ns, comm, &n) != 5 ||
		    ev->event < 0 || ev->event >= LK_MAX_EVENTS)
			return ok_err_line(
			    e, -EINVAL, r->path, r->line,
			    "expected 'ev EVENT(0-63) LOCK CALLER TIME COMM [FRAME...]'");
		if (strcmp(comm, "-"))
			snprintf(ev->comm, sizeof(ev->comm), "%.15s", comm);
		const char *p = buf + 3 + n;
		while (*p) {
			int m;
			uint64_t fr;
			if (sscanf(p, " %" SCNx64 "%n", &fr, &m) != 1)
				return ok_err_line(e, -EINVAL, r->path, r->line,
						   "expected a hex stack frame at column %d",
						   (int)(p - buf) + 1);
			if (ev->depth == LK_MAX_STACK)
				return ok_err_line(e, -EINVAL, r->path, r->line,
						   "more than %d stack frames", LK_MAX_STACK);
			ev->stack[ev->depth++] = fr;
			p += m;
			while (*p == ' ')
				p++;
		}
		return 1;
	}
	if (rc < 0)
		return ok_err_line(e, -EINVAL, r->path, r->line, "line too long");
	return 0;
}

void lk_replay_close(struct lk_replay *r)
{
	if (r->f)
		fclose(r->f);
	r->f = NULL;
}
