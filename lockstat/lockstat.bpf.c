/*
 * lockstat.bpf.c: the in-kernel side of lockstat's BPF backend (what
 * `perf lock contention -b` does with tools/perf/util/bpf_skel/
 * lock_contention.bpf.c): raw tracepoint programs on lock:contention_begin
 * and lock:contention_end pair every contention per (thread, lock) and add
 * its wait into a hash keyed by (lock, flags, stack, class), so userspace
 * reads aggregates when the command ends: constant memory, no ring that can
 * overflow, no sample copied per event.
 *
 * Pairing is pair.c's (lockstat.h, "contention pairing"): a begin on a lock
 * the thread already waits for is nested and ignored, except a mutex going
 * from spinning (MUTEX|SPIN) to sleeping (MUTEX), which closes the spin wait
 * and opens the block wait with the same stack; ends with nothing open are
 * orphans; the idle threads (tid 0) are paired per CPU.
 *
 * Lock classes are found as perf's check_lock_type() finds them: an rwsem
 * that is current->mm->mmap_lock, a spinlock that is
 * current->sighand->siglock. CO-RE (the preserve_access_index structs below,
 * relocated against the running kernel's BTF) keeps the offsets right on
 * any kernel; vmlinux.h is not needed.
 *
 * raw_tp, not tp_btf: the BPF_PROG_TYPE_TRACING programs need BTF function
 * trampolines, raw tracepoints only BPF_EVENTS, and the args are the same
 * (lock, flags) and (lock, ret).
 */
#include <linux/bpf.h>
#include <linux/types.h>

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "lockstat_bpf.h"

/* Just the fields used; CO-RE finds them in the kernel's BTF. The owner
 * fields are atomic_long_t, a struct of one long. */
struct lk_atomic_long {
	long counter;
};
struct rw_semaphore {
	struct lk_atomic_long owner;
} __attribute__((preserve_access_index));
struct mutex {
	struct lk_atomic_long owner;
} __attribute__((preserve_access_index));
struct spinlock {
	int dummy;
} __attribute__((preserve_access_index));
typedef struct spinlock spinlock_t;
struct mm_struct {
	struct rw_semaphore mmap_lock;
} __attribute__((preserve_access_index));
struct sighand_struct {
	spinlock_t siglock;
} __attribute__((preserve_access_index));
struct task_struct {
	struct mm_struct *mm;
	struct sighand_struct *sighand;
	int pid; /* the thread id */
	char comm[16];
} __attribute__((preserve_access_index));

#define LCB_F_SPIN  (1U << 0)
#define LCB_F_READ  (1U << 1)
#define LCB_F_WRITE (1U << 2)
#define LCB_F_MUTEX (1U << 5)

/* One open contention of a thread (or an idle CPU) on one lock. */
struct lk_bpf_open_key {
	__u64 lock;
	__u32 tid; /* 0: an idle thread, paired per CPU */
	__u32 cpu; /* set only when tid is 0 */
};
struct lk_bpf_open {
	__u64 t0;     /* bpf_ktime_get_ns() of the begin */
	__u32 flags;  /* contention_begin flags */
	__s32 stack;  /* stack id, < 0 if the stack map refused it */
	__u32 lclass; /* LK_BPF_CLASS_* */
	__u32 owner;  /* lk_bpf_key.owner */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LK_BPF_OPEN_MAX);
	__type(key, struct lk_bpf_open_key);
	__type(value, struct lk_bpf_open);
} opens SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LK_BPF_AGG_MAX);
	__type(key, struct lk_bpf_key);
	__type(value, struct lk_bpf_val);
} aggs SEC(".maps");

LK_BPF_STACK_MAP(stacks);

/* --lock-owner: the comm of each owner tid seen (its latest) */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LK_BPF_OWNER_MAX);
	__type(key, __u32);
	__type(value, char[16]);
} owner_comms SEC(".maps");

/* Set by userspace: events count only while enabled (the command's run). */
int enabled;
int lock_owner;	    /* --lock-owner: key waits by the lock's owner */
__u64 min_duration; /* -d: shorter waits are not counted */
/* Outcomes userspace reports (see struct lk_bpf_counters). */
__u64 n_orphans;    /* ends with no open begin */
__u64 n_open_full;  /* begins not tracked: the open map was full */
__u64 n_agg_full;   /* waits not counted: the aggregate map was full */
__u64 n_stack_lost; /* begins whose stack the stack map refused */

/* floor(log2 v) + 1, at most 63: lk_hist_bucket(). */
static __always_inline int hist_bucket(__u64 v)
{
	int b = 0;
	if (!v)
		return 0;
	/* binary search for the top bit; a constant loop clang unrolls */
	for (int sh = 32; sh; sh >>= 1)
		if (v >> sh) {
			v >>= sh;
			b += sh;
		}
	return b + 1 > 63 ? 63 : b + 1;
}

/* Add one wait of d ns to the aggregate of (lock, flags, stack, class). */
static __always_inline void account(__u64 lock, const struct lk_bpf_open *o, __u64 d)
{
	if (d < min_duration)
		return;
	struct lk_bpf_key k = {.lock = lock,
			       .flags = o->flags,
			       .stack = o->stack,
			       .lclass = o->lclass,
			       .owner = o->owner};
	struct lk_bpf_val *v = bpf_map_lookup_elem(&aggs, &k);
	if (!v) {
		struct lk_bpf_val zero = {};
		/* Another CPU may insert the same key first: look it up again. */
		bpf_map_update_elem(&aggs, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&aggs, &k);
		if (!v) {
			__sync_fetch_and_add(&n_agg_full, 1);
			return;
		}
	}
	__sync_fetch_and_add(&v->count, 1);
	__sync_fetch_and_add(&v->total, d);
	int b = hist_bucket(d);
	if (b >= 0 && b < 64)
		__sync_fetch_and_add(&v->hist[b], 1);
}

static __always_inline void open_key(struct lk_bpf_open_key *k, __u64 lock)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	k->lock = lock;
	k->tid = tid;
	k->cpu = tid ? 0 : bpf_get_smp_processor_id();
}

/* perf's check_lock_type(): per-process locks found through current. */
static __always_inline __u32 lock_class(__u64 lock, __u32 flags)
{
	struct task_struct *curr = (void *)bpf_get_current_task();
	switch (flags & 63) {
	case LCB_F_READ:
	case LCB_F_WRITE: {
		struct mm_struct *mm = BPF_CORE_READ(curr, mm);
		if (mm && (__u64)&mm->mmap_lock == lock)
			return LK_BPF_CLASS_MMAP_LOCK;
		break;
	}
	case LCB_F_SPIN: {
		struct sighand_struct *sh = BPF_CORE_READ(curr, sighand);
		if (sh && (__u64)&sh->siglock == lock)
			return LK_BPF_CLASS_SIGLOCK;
		break;
	}
	}
	return 0;
}

/*
 * perf lock contention --lock-owner (lock_contention.bpf.c get_lock_owner()):
 * a mutex's owner field, and an rwsem's, hold the owning task_struct with
 * flag bits in the low 3; an rwsem whose RWSEM_READER_OWNED bit (0) is set
 * is held by readers and the field names only the last of them. The field
 * is checked to exist (PREEMPT_RT's mutex has none): where it does not, no
 * owner.
 */
static __always_inline __u32 lock_owner_of(__u64 lock, __u32 flags)
{
	long owner = 0;
	if (flags == LCB_F_MUTEX || flags == (LCB_F_MUTEX | LCB_F_SPIN)) {
		struct mutex *m = (void *)lock;
		if (!bpf_core_field_exists(m->owner))
			return LK_BPF_OWNER_NA;
		owner = BPF_CORE_READ(m, owner.counter);
	} else if (flags == LCB_F_READ || flags == LCB_F_WRITE) {
		struct rw_semaphore *s = (void *)lock;
		if (!bpf_core_field_exists(s->owner))
			return LK_BPF_OWNER_NA;
		owner = BPF_CORE_READ(s, owner.counter);
		if (owner & 1)
			return LK_BPF_OWNER_READERS;
	} else {
		return LK_BPF_OWNER_NA;
	}
	struct task_struct *task = (void *)(owner & ~7L);
	if (!task)
		return LK_BPF_OWNER_NONE;
	__u32 tid = (__u32)BPF_CORE_READ(task, pid);
	char comm[16];
	BPF_CORE_READ_STR_INTO(&comm, task, comm);
	bpf_map_update_elem(&owner_comms, &tid, comm, BPF_ANY);
	return tid ? tid : LK_BPF_OWNER_NONE;
}

SEC("raw_tp/contention_begin")
int contention_begin(struct bpf_raw_tracepoint_args *ctx)
{
	if (!enabled)
		return 0;
	__u64 lock = ctx->args[0];
	__u32 flags = (__u32)ctx->args[1];
	__u64 now = bpf_ktime_get_ns();
	struct lk_bpf_open_key k;
	open_key(&k, lock);
	struct lk_bpf_open *o = bpf_map_lookup_elem(&opens, &k);
	if (o) {
		if ((o->flags & 63) == (LCB_F_MUTEX | LCB_F_SPIN) && (flags & 63) == LCB_F_MUTEX) {
			account(lock, o, now > o->t0 ? now - o->t0 : 0);
			o->t0 = now;
			o->flags = flags;
		}
		return 0;
	}
	struct lk_bpf_open n = {.t0 = now, .flags = flags};
	n.stack = bpf_get_stackid(ctx, &stacks, 0);
	if (n.stack < 0)
		__sync_fetch_and_add(&n_stack_lost, 1);
	n.lclass = lock_class(lock, flags);
	if (lock_owner)
		n.owner = lock_owner_of(lock, flags);
	if (bpf_map_update_elem(&opens, &k, &n, BPF_NOEXIST))
		__sync_fetch_and_add(&n_open_full, 1);
	return 0;
}

SEC("raw_tp/contention_end")
int contention_end(struct bpf_raw_tracepoint_args *ctx)
{
	/* Gated as the ring backend's disabled events are: a wait still open
	 * when the command ends is not counted by either. */
	if (!enabled)
		return 0;
	__u64 lock = ctx->args[0];
	struct lk_bpf_open_key k;
	open_key(&k, lock);
	struct lk_bpf_open *o = bpf_map_lookup_elem(&opens, &k);
	if (!o) {
		__sync_fetch_and_add(&n_orphans, 1);
		return 0;
	}
	__u64 now = bpf_ktime_get_ns();
	account(lock, o, now > o->t0 ? now - o->t0 : 0);
	bpf_map_delete_elem(&opens, &k);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
