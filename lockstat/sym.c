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

/* Named dynamic locks: open addressing by address (0 = empty slot). */
struct lk_lockname {
	uint64_t addr;
	char name[LK_LOCKNAME_MAX];
	int kind_only; /* named by its lock kind alone ("rwsem"): a class
			  given later replaces it, -c keeps it apart */
};
struct lk_locknames {
	struct lk_lockname *slots;
	size_t n, cap;
	char classes[64][LK_LOCKNAME_MAX]; /* for -c: class i is LK_CLASS_ADDR(i) */
	int nclasses;
};

void lk_symtab_init(struct lk_symtab *t)
{
	memset(t, 0, sizeof(*t));
	t->names = calloc(1, sizeof(*t->names)); /* NULL: locks stay unnamed */
}

void lk_symtab_free(struct lk_symtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->syms[i].name);
	free(t->syms);
	if (t->names)
		free(t->names->slots);
	free(t->names);
	memset(t, 0, sizeof(*t));
}

int lk_symtab_add(struct lk_symtab *t, uint64_t addr, uint64_t size, const char *name)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 1024;
		struct lk_sym *s = realloc(t->syms, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		t->syms = s;
		t->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	t->syms[t->n++] = (struct lk_sym){addr, size, copy, lk_sym_is_marker(name)};
	return 0;
}

int lk_symtab_load_kallsyms(struct lk_symtab *t, const char *path, struct ok_err *e)
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
		int r = lk_symtab_add(t, addr, 0, name);
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

int lk_sym_is_marker(const char *name)
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
	const struct lk_sym *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* Among aliases prefer an object to a section marker (__vm_munmap over
	 * __lock_text_end at the same address), then fewer leading underscores
	 * (_raw_spin_lock), then by name. */
	if (x->marker != y->marker)
		return x->marker ? 1 : -1;
	size_t ux = strspn(x->name, "_"), uy = strspn(y->name, "_");
	if (ux != uy)
		return ux < uy ? -1 : 1;
	return strcmp(x->name, y->name);
}

void lk_symtab_finish(struct lk_symtab *t, int ncpu)
{
	char name[32];
	for (int i = 0; i < ncpu; i++) {
		snprintf(name, sizeof(name), "cpu[%d]", i);
		lk_symtab_add(t, LK_CPU_ADDR(i), LK_CPU_SIZE, name);
	}
	t->ncpu = ncpu;
	lk_symtab_add(t, 0, 1, "(usermode)");
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

const struct lk_sym *lk_sym_lookup(const struct lk_symtab *t, uint64_t addr)
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

const struct lk_sym *lk_sym_by_name(const struct lk_symtab *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->syms[i].name, name))
			return &t->syms[i];
	return NULL;
}

char *lk_sym_format(const struct lk_symtab *t, uint64_t addr, int with_size, char *buf, size_t len)
{
	const struct lk_sym *s = lk_sym_lookup(t, addr);
	const char *cls = lk_lockname_get(t->names, addr);
	if (addr >= LK_OWNER_BASE && addr < LK_OWNER_END) { /* --lock-owner */
		if (cls)
			snprintf(buf, len, "%s", cls);
		else
			snprintf(buf, len, "[%u]", (unsigned)(addr - LK_OWNER_BASE));
		return buf;
	}
	if (t->names && addr >= LK_CLASS_BASE && addr < LK_CLASS_ADDR(t->names->nclasses) &&
	    !(addr & 0xfff)) {
		snprintf(buf, len, "%s", t->names->classes[(addr - LK_CLASS_BASE) >> 12]);
		return buf;
	}
	if (!s || s->marker) {
		if (cls)
			snprintf(buf, len, "%s@0x%" PRIx64, cls, addr);
		else
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
	else if (cls)
		snprintf(buf, len, "%s@0x%" PRIx64, cls, addr);
	else
		snprintf(buf, len, "0x%" PRIx64, addr);
	return buf;
}

int lk_sym_is_lock_text(const struct lk_symtab *t, uint64_t addr)
{
	if (t->sched_lo < t->sched_hi && addr >= t->sched_lo && addr < t->sched_hi)
		return 1;
	if (t->lock_lo < t->lock_hi && addr >= t->lock_lo && addr < t->lock_hi)
		return 1;
	const struct lk_sym *s = lk_sym_lookup(t, addr);
	if (s && addr - s->addr < s->size &&
	    (!strcmp(s->name, "trace_contention_begin") ||
	     !strcmp(s->name, "__traceiter_contention_begin") ||
	     !strcmp(s->name, "trace_contention_end")))
		return 1;
	return 0;
}

/* ---- lock names ------------------------------------------------------------- */

static size_t lockname_home(uint64_t addr, size_t cap)
{
	return (size_t)((addr >> 3) * 0x9e3779b97f4a7c15ULL) & (cap - 1);
}

int lk_lockname_set(struct lk_locknames *names, uint64_t addr, const char *cls)
{
	if (!names || !addr || !cls || !*cls)
		return 0;
	if (2 * (names->n + 1) > names->cap) {
		size_t cap = names->cap ? 2 * names->cap : 256;
		struct lk_lockname *n = calloc(cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		for (size_t i = 0; i < names->cap; i++) {
			if (!names->slots[i].addr)
				continue;
			size_t j = lockname_home(names->slots[i].addr, cap);
			while (n[j].addr)
				j = (j + 1) & (cap - 1);
			n[j] = names->slots[i];
		}
		free(names->slots);
		names->slots = n;
		names->cap = cap;
	}
	size_t i = lockname_home(addr, names->cap);
	while (names->slots[i].addr && names->slots[i].addr != addr)
		i = (i + 1) & (names->cap - 1);
	int kind_only = lk_is_lock_kind(cls);
	if (names->slots[i].addr && (kind_only || !names->slots[i].kind_only))
		return 0; /* the first class stays; a kind gives way to a class */
	if (!names->slots[i].addr)
		names->n++;
	names->slots[i].addr = addr;
	names->slots[i].kind_only = kind_only;
	snprintf(names->slots[i].name, sizeof(names->slots[i].name), "%s", cls);
	return 0;
}

const char *lk_lockname_get(const struct lk_locknames *names, uint64_t addr)
{
	if (!names || !names->cap || !addr)
		return NULL;
	size_t i = lockname_home(addr, names->cap);
	while (names->slots[i].addr) {
		if (names->slots[i].addr == addr)
			return names->slots[i].name;
		i = (i + 1) & (names->cap - 1);
	}
	return NULL;
}

uint64_t lk_lockname_class_addr(struct lk_locknames *names, uint64_t addr)
{
	const char *cls = lk_lockname_get(names, addr);
	if (!cls || lk_is_lock_kind(cls))
		return addr; /* a lock known only by its kind is one lock */
	int i = 0;
	while (i < names->nclasses && strcmp(names->classes[i], cls))
		i++;
	if (i == names->nclasses) {
		if (i == (int)(sizeof(names->classes) / sizeof(names->classes[0])))
			return addr; /* more classes than any table names: kept apart */
		snprintf(names->classes[i], LK_LOCKNAME_MAX, "%s", cls);
		names->nclasses++;
	}
	return LK_CLASS_ADDR(i);
}

void lk_lockname_each(const struct lk_locknames *names,
		      void (*fn)(void *ctx, uint64_t addr, const char *cls), void *ctx)
{
	for (size_t i = 0; names && i < names->cap; i++)
		if (names->slots[i].addr)
			fn(ctx, names->slots[i].addr, names->slots[i].name);
}

/*
 * Functions that contend one known lock of a kind, from the kernel source
 * (v6.x): the lock is taken in the function itself or in an inline helper
 * (mmap_read_lock, i_mmap_lock_write, lock_task_sighand, rq_lock). A
 * function that takes two locks of one kind is left out (dup_mmap takes
 * two mmap_locks and i_mmap_rwsem).
 */
static const struct {
	const char *kind; /* lk_lock_kind() of the lock's contention flags */
	const char *func;
	const char *cls;
} lock_classes[] = {
    {"spinlock", "raw_spin_rq_lock_nested", "rq_lock"},
    {"spinlock", "_raw_spin_rq_lock", "rq_lock"},
    {"spinlock", "double_rq_lock", "rq_lock"},
    {"spinlock", "__lock_task_sighand", "siglock"},
    {"spinlock", "get_signal", "siglock"},
    {"spinlock", "do_sigaction", "siglock"},
    {"spinlock", "__set_current_blocked", "siglock"},
    {"spinlock", "sigprocmask", "siglock"},
    {"spinlock", "do_signal_stop", "siglock"},
    {"spinlock", "exit_signals", "siglock"},
    {"spinlock", "__exit_signal", "siglock"},
    {"spinlock", "do_send_sig_info", "siglock"},
    {"spinlock", "force_sig_info_to_task", "siglock"},
    {"spinlock", "try_to_wake_up", "pi_lock"},
    {"rwlock", "copy_process", "tasklist_lock"},
    {"rwlock", "exit_notify", "tasklist_lock"},
    {"rwlock", "release_task", "tasklist_lock"},
    {"rwlock", "do_exit", "tasklist_lock"},
    {"rwlock", "__do_wait", "tasklist_lock"},
    {"rwlock", "do_wait", "tasklist_lock"},
    {"spinlock", "flock_lock_inode", "flc_lock"},
    {"spinlock", "posix_lock_inode", "flc_lock"},
    {"spinlock", "rmqueue_bulk", "zone->lock"},
    {"spinlock", "free_pcppages_bulk", "zone->lock"},
    {"spinlock", "free_one_page", "zone->lock"},
    {"spinlock", "folio_lruvec_lock_irqsave", "lru_lock"},
    {"spinlock", "folio_lruvec_lock_irq", "lru_lock"},
    {"rwsem", "__vm_munmap", "mmap_lock"},
    {"rwsem", "vm_munmap", "mmap_lock"},
    {"rwsem", "vm_mmap_pgoff", "mmap_lock"},
    {"rwsem", "do_user_addr_fault", "mmap_lock"},
    {"rwsem", "lock_mm_and_find_vma", "mmap_lock"},
    {"rwsem", "do_mprotect_pkey", "mmap_lock"},
    {"rwsem", "__do_sys_brk", "mmap_lock"},
    {"rwsem", "do_madvise", "mmap_lock"},
    {"rwsem", "madvise_lock", "mmap_lock"},
    {"rwsem", "madvise_do_behavior", "mmap_lock"},
    {"rwsem", "__do_sys_mremap", "mmap_lock"},
    {"rwsem", "__mm_populate", "mmap_lock"},
    {"rwsem", "__access_remote_vm", "mmap_lock"},
    {"rwsem", "exit_mmap", "mmap_lock"},
    {"rwsem", "unlink_file_vma", "i_mmap_rwsem"},
    {"rwsem", "unlink_file_vma_batch_process", "i_mmap_rwsem"},
    {"rwsem", "unlink_file_vma_batch_final", "i_mmap_rwsem"},
    {"rwsem", "vma_prepare", "i_mmap_rwsem"},
    {"rwsem", "rmap_walk_file", "i_mmap_rwsem"},
    {"rwsem", "lookup_slow", "i_rwsem"},
    {"rwsem", "open_last_lookups", "i_rwsem"},
    {"rwsem", "do_truncate", "i_rwsem"},
    {"rwsem", "iterate_dir", "i_rwsem"},
    {"rwsem", "filename_create", "i_rwsem"},
    {"mutex", "pipe_read", "pipe->mutex"},
    {"mutex", "pipe_write", "pipe->mutex"},
    {"mutex", "n_tty_read", "atomic_read_lock"},
    {"mutex", "text_poke_set", "text_mutex"},
    {"mutex", "arch_static_call_transform", "text_mutex"},
};

const char *lk_lock_class_guess(const struct lk_symtab *t, unsigned flags, const uint64_t *frames,
				int n)
{
	/* the kind from the flags, as perf types a contention */
	const char *kind = lk_lock_kind(flags);
	if (!kind)
		return NULL;
	int caller = 0;
	while (caller < n && lk_sym_is_lock_text(t, frames[caller]))
		caller++;
	for (int i = 0; i < n && i <= caller + 2; i++) {
		const struct lk_sym *s = lk_sym_lookup(t, frames[i]);
		if (!s || s->marker || frames[i] - s->addr >= s->size)
			continue;
		for (size_t j = 0; j < sizeof(lock_classes) / sizeof(lock_classes[0]); j++)
			if (!strcmp(lock_classes[j].kind, kind) &&
			    !strcmp(lock_classes[j].func, s->name))
				return lock_classes[j].cls;
	}
	return NULL;
}
