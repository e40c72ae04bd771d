/*
 * lockstat_bpf.h: what lockstat.bpf.c (in the kernel) and bpf.c (its
 * loader) share: the aggregate map's key and value, the lock classes the
 * BPF side can tell, and the map sizes. Plain fixed-width types so that
 * both the BPF target and the host compile it alike.
 */
#ifndef LOCKSTAT_BPF_H
#define LOCKSTAT_BPF_H

#define LK_BPF_OPEN_MAX	   16384 /* contentions open at once (threads x nesting) */
#define LK_BPF_AGG_MAX	   16384 /* distinct (lock, flags, stack, class) */
#define LK_BPF_STACK_MAX   16384 /* distinct stacks */
#define LK_BPF_STACK_DEPTH 64	 /* frames per stack: tracing + lock text + caller + -s 50 */

#define LK_BPF_OWNER_MAX 16384 /* owner tasks whose comm is kept */
#define LK_BPF_PROF_MAX	 65536 /* distinct (CPU, PC, stack, comm) profiling keys */

/* One profiling aggregate (lockstat_prof.bpf.c): samples on cpu at kernel
 * PC ip (0: user mode, then comm is the thread's) with stack id stack. */
struct lk_prof_key {
	__u64 ip;
	__s32 stack; /* stack map id; -1: none kept (no -s, or refused) */
	__u32 cpu;
	char comm[16];
};

/* Classes found through current (perf's LCD_F_MMAP_LOCK, LCD_F_SIGHAND_LOCK). */
#define LK_BPF_CLASS_MMAP_LOCK 1
#define LK_BPF_CLASS_SIGLOCK   2

/* One aggregate: every wait on lock with these begin flags, stack and class. */
struct lk_bpf_key {
	__u64 lock;
	__u32 flags;  /* contention_begin flags */
	__s32 stack;  /* stack map id, < 0: no stack */
	__u32 lclass; /* LK_BPF_CLASS_*, 0: none */
	__u32 owner;  /* --lock-owner: the owner's tid when the wait began, or
			 an LK_BPF_OWNER_* value */
};
/* key.owner when not a tid */
#define LK_BPF_OWNER_NA	     0		 /* not asked, or a lock type without owner */
#define LK_BPF_OWNER_NONE    0xffffffffu /* owner field empty (just released) */
#define LK_BPF_OWNER_READERS 0xfffffffeu /* an rwsem held by readers */
struct lk_bpf_val {
	__u64 count;
	__u64 total;	/* ns */
	__u32 hist[64]; /* lk_hist_bucket() buckets */
};

#ifdef __bpf__
/* The stack map both BPF objects keep stacks in (bpf_get_stackid). */
#define LK_BPF_STACK_MAP(name)                                                                     \
	struct {                                                                                   \
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);                                            \
		__uint(max_entries, LK_BPF_STACK_MAX);                                             \
		__uint(key_size, sizeof(__u32));                                                   \
		__uint(value_size, LK_BPF_STACK_DEPTH * sizeof(__u64));                            \
	} name SEC(".maps")
#endif

#endif
