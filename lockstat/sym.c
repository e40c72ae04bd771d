/*
 * sym.c: the symbol table lockstat prints addresses with (Solaris sym.c on
 * Linux). Symbols come from /proc/kallsyms, which has no sizes: as perf
 * does, a symbol's size is the distance to the next higher one. Fake
 * cpu[N] symbols stand for Solaris' per-CPU structures (the profiling
 * event's CPU+PIL column), and address 0 is "(usermode)".
 */
#include "lockstat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void ls_symtab_init(struct ls_symtab *t)
{
	memset(t, 0, sizeof(*t));
}

void ls_symtab_free(struct ls_symtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->syms[i].name);
	free(t->syms);
	memset(t, 0, sizeof(*t));
}

int ls_symtab_add(struct ls_symtab *t, uint64_t addr, uint64_t size, const char *name)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		struct ls_sym *s = realloc(t->syms, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		t->syms = s;
		t->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	t->syms[t->n++] = (struct ls_sym){addr, size, copy, ls_sym_is_marker(name)};
	return 0;
}

int ls_symtab_load_kallsyms(struct ls_symtab *t, const char *path, struct ok_err *e)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot open symbol table");
	char line[512];
	long long lineno = 0;
	int nonzero = 0;
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		char type, name[256];
		uint64_t addr;
		if (sscanf(line, "%" SCNx64 " %c %255s", &addr, &type, name) != 3) {
			fclose(f);
			return ok_err_line(e, -EINVAL, path, lineno,
					   "expected 'ADDRESS TYPE NAME' as in /proc/kallsyms");
		}
		if (!strchr("tTdDbBrRwW", type))
			continue;
		if (addr)
			nonzero = 1;
		int r = ls_symtab_add(t, addr, 0, name);
		if (r < 0) {
			fclose(f);
			return ok_err_at(e, r, path, OK_ERR_NOPOS, "out of memory");
		}
	}
	fclose(f);
	if (!nonzero)
		return ok_err_at(
		    e, -EPERM, path, OK_ERR_NOPOS,
		    "all symbol addresses are 0 (needs root, or kernel.kptr_restrict=0)");
	return 0;
}

int ls_sym_is_marker(const char *name)
{
	static const char *const prefixes[] = {"__start_", "__stop_", "__end_"};
	static const char *const names[] = {
	    "_text",	       "_stext",	 "_etext",	 "_sdata",
	    "_edata",	       "__bss_start",	 "__bss_stop",	 "_end",
	    "__init_begin",    "__init_end",	 "_sinittext",	 "_einittext",
	    "__per_cpu_start", "__per_cpu_end",	 "__brk_base",	 "__brk_limit",
	    "_sdata_end",      "__nosave_begin", "__nosave_end",
	};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(name, prefixes[i], strlen(prefixes[i])))
			return 1;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(name, names[i]))
			return 1;
	size_t n = strlen(name);
	/* __sched_text_start, __irqentry_text_end, ... */
	return n > 11 &&
	       (!strcmp(name + n - 11, "_text_start") || !strcmp(name + n - 9, "_text_end"));
}

static int sym_cmp(const void *a, const void *b)
{
	const struct ls_sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Among aliases prefer fewer leading underscores (so _raw_spin_lock names
	 * an address over the marker __lock_text_start), then by name. */
	size_t ux = strspn(x->name, "_"), uy = strspn(y->name, "_");
	if (ux != uy)
		return ux < uy ? -1 : 1;
	return strcmp(x->name, y->name);
}

void ls_symtab_finish(struct ls_symtab *t, int ncpu)
{
	char name[32];
	for (int i = 0; i < ncpu; i++) {
		snprintf(name, sizeof(name), "cpu[%d]", i);
		ls_symtab_add(t, LS_CPU_ADDR(i), LS_CPU_SIZE, name);
	}
	t->ncpu = ncpu;
	ls_symtab_add(t, 0, 1, "(usermode)");
	qsort(t->syms, t->n, sizeof(*t->syms), sym_cmp);
	/* The text-section markers share addresses with real functions, so find
	 * them before duplicates are collapsed. */
	for (size_t i = 0; i < t->n; i++) {
		const char *nm = t->syms[i].name;
		if (!strcmp(nm, "__sched_text_start"))
			t->sched_lo = t->syms[i].addr;
		else if (!strcmp(nm, "__sched_text_end"))
			t->sched_hi = t->syms[i].addr;
		else if (!strcmp(nm, "__lock_text_start"))
			t->lock_lo = t->syms[i].addr;
		else if (!strcmp(nm, "__lock_text_end"))
			t->lock_hi = t->syms[i].addr;
	}
	/* Collapse duplicate addresses, keeping the first (preferred) name. */
	size_t w = 0;
	for (size_t i = 0; i < t->n; i++) {
		if (w && t->syms[w - 1].addr == t->syms[i].addr) {
			if (!t->syms[w - 1].size)
				t->syms[w - 1].size = t->syms[i].size;
			free(t->syms[i].name);
			continue;
		}
		t->syms[w++] = t->syms[i];
	}
	t->n = w;
	for (size_t i = 0; i < t->n; i++) {
		if (t->syms[i].size)
			continue;
		t->syms[i].size = i + 1 < t->n ? t->syms[i + 1].addr - t->syms[i].addr : 1;
	}
}

const struct ls_sym *ls_sym_lookup(const struct ls_symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &t->syms[lo - 1] : NULL;
}

const struct ls_sym *ls_sym_by_name(const struct ls_symtab *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->syms[i].name, name))
			return &t->syms[i];
	return NULL;
}

char *ls_sym_format(const struct ls_symtab *t, uint64_t addr, int with_size, char *buf, size_t len)
{
	const struct ls_sym *s = ls_sym_lookup(t, addr);
	if (!s || s->marker) {
		snprintf(buf, len, "0x%" PRIx64, addr);
		return buf;
	}
	uint64_t off = addr - s->addr;
	if (off == 0 && with_size)
		snprintf(buf, len, "%s[%" PRIu64 "]", s->name, s->size);
	else if (off == 0)
		snprintf(buf, len, "%s", s->name);
	else if (off < 16 && !strncmp(s->name, "cpu[", 4))
		snprintf(buf, len, "%s+%" PRIu64, s->name, off);
	else if (off <= s->size || (off < 256 && addr != off))
		snprintf(buf, len, "%s+0x%" PRIx64, s->name, off);
	else
		snprintf(buf, len, "0x%" PRIx64, addr);
	return buf;
}

int ls_sym_is_lock_text(const struct ls_symtab *t, uint64_t addr)
{
	if (t->sched_lo < t->sched_hi && addr >= t->sched_lo && addr < t->sched_hi)
		return 1;
	if (t->lock_lo < t->lock_hi && addr >= t->lock_lo && addr < t->lock_hi)
		return 1;
	const struct ls_sym *s = ls_sym_lookup(t, addr);
	if (s && addr - s->addr < s->size &&
	    (!strcmp(s->name, "trace_contention_begin") ||
	     !strcmp(s->name, "__traceiter_contention_begin") ||
	     !strcmp(s->name, "trace_contention_end")))
		return 1;
	return 0;
}
