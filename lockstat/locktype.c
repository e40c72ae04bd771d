/*
 * locktype.c: contention_begin flags to lock types, kinds and events (the
 * rules are in lockstat.h, "Lock types come from contention_begin's
 * flags"). Apart, and calling nothing, because both pairing (pair.c, the
 * BPF loader) and lock naming (sym.c) need it.
 */
#include "lockstat.h"

#include <string.h>

/* contention_begin flags (include/trace/events/lock.h) */
#define LCB_F_SPIN   (1U << 0)
#define LCB_F_READ   (1U << 1)
#define LCB_F_WRITE  (1U << 2)
#define LCB_F_RT     (1U << 3)
#define LCB_F_PERCPU (1U << 4)
#define LCB_F_MUTEX  (1U << 5)

/*
 * Every contention_begin flags value a kernel passes, typed as perf lock
 * contention types it (tools/perf/builtin-lock.c, lock_type_table[]: the
 * whole flags value, compared exactly; anything else is "unknown"), with
 * the lock kind (the type without :R/:W, a lock's fallback name), the
 * --linux-types event and the Solaris event it folds into. The PREEMPT_RT
 * rwlocks (RT|READ, RT|WRITE) block on an rt-mutex: Solaris event 1, not
 * the R/W events their READ/WRITE bits would suggest.
 */
static const struct lock_type {
	unsigned flags;
	const char *name; /* perf's type column */
	const char *kind;
	int linux_event, solaris_event;
} lock_types[] = {
    {0, "semaphore", "semaphore", 18, 1},
    {LCB_F_SPIN, "spinlock", "spinlock", 10, 2},
    {LCB_F_SPIN | LCB_F_READ, "rwlock:R", "rwlock", 11, 2},
    {LCB_F_SPIN | LCB_F_WRITE, "rwlock:W", "rwlock", 12, 2},
    {LCB_F_READ, "rwsem:R", "rwsem", 13, 6},
    {LCB_F_WRITE, "rwsem:W", "rwsem", 14, 4},
    {LCB_F_RT, "rt-mutex", "rt-mutex", 15, 1},
    {LCB_F_RT | LCB_F_READ, "rwlock-rt:R", "rwlock-rt", 15, 1},
    {LCB_F_RT | LCB_F_WRITE, "rwlock-rt:W", "rwlock-rt", 15, 1},
    {LCB_F_PERCPU | LCB_F_READ, "pcpu-sem:R", "pcpu-sem", 16, 6},
    {LCB_F_PERCPU | LCB_F_WRITE, "pcpu-sem:W", "pcpu-sem", 17, 4},
    {LCB_F_MUTEX, "mutex", "mutex", 9, 1},
    {LCB_F_MUTEX | LCB_F_SPIN, "mutex", "mutex", 8, 0},
};
static const struct lock_type unknown_type = {0, "unknown", NULL, 19, 1};

static const struct lock_type *lock_type(unsigned flags)
{
	for (size_t i = 0; i < sizeof(lock_types) / sizeof(lock_types[0]); i++)
		if (lock_types[i].flags == flags)
			return &lock_types[i];
	return &unknown_type;
}

int lk_contention_event(unsigned flags, int linux_types)
{
	const struct lock_type *t = lock_type(flags);
	return linux_types ? t->linux_event : t->solaris_event;
}

int lk_linux_event_solaris(int event)
{
	if (event < LK_EV_LINUX_FIRST || event >= LK_EV_LINUX_END)
		return event;
	/* every slot is some flags' (19: unknown flags, which block) */
	for (size_t i = 0; i < sizeof(lock_types) / sizeof(lock_types[0]); i++)
		if (lock_types[i].linux_event == event)
			return lock_types[i].solaris_event;
	return unknown_type.solaris_event;
}

const char *lk_linux_type_name(unsigned flags)
{
	return lock_type(flags)->name;
}

const char *lk_lock_kind(unsigned flags)
{
	return lock_type(flags)->kind;
}

int lk_is_lock_kind(const char *name)
{
	for (size_t i = 0; name && i < sizeof(lock_types) / sizeof(lock_types[0]); i++)
		if (!strcmp(lock_types[i].kind, name))
			return 1;
	return 0;
}
