/*
 * lockstat_prof.bpf.c: profiling (-I) counted in the kernel. A perf_event
 * program on each CPU's cpu-clock sampling event counts samples in a hash
 * keyed by (CPU, interrupted kernel PC, stack id, and for user-mode
 * samples the thread's comm), so userspace reads aggregates when the
 * command ends instead of copying every sample through a ring: the Solaris
 * report needs only counts per (CPU, caller, stack).
 *
 * Kernel or user mode is told without touching pt_regs (whose layout is
 * per architecture): bpf_get_stack() of the kernel stack returns the
 * interrupted PC first for a kernel-mode sample and nothing for a user-mode
 * one.
 */
#include <linux/bpf.h>
#include <linux/types.h>

#include <bpf/bpf_helpers.h>

#include "lockstat_bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, LK_BPF_PROF_MAX);
	__type(key, struct lk_prof_key);
	__type(value, __u64);
} samples SEC(".maps");

LK_BPF_STACK_MAP(pstacks);

int enabled;	    /* set by userspace for the command's run */
int want_stack;	    /* -s: keep stack ids (else every key's is -1) */
__u64 n_full;	    /* samples not counted: the hash was full */
__u64 n_stack_lost; /* kernel samples whose stack the stack map refused */

SEC("perf_event")
int profile(void *ctx)
{
	if (!enabled)
		return 0;
	struct lk_prof_key k = {.stack = -1};
	__u64 ip[1] = {0};
	k.cpu = bpf_get_smp_processor_id();
	if (bpf_get_stack(ctx, ip, sizeof(ip), 0) > 0 && ip[0]) {
		k.ip = ip[0];
		if (want_stack) {
			k.stack = bpf_get_stackid(ctx, &pstacks, 0);
			if (k.stack < 0) {
				k.stack = -1;
				__sync_fetch_and_add(&n_stack_lost, 1);
			}
		}
	} else {
		bpf_get_current_comm(k.comm, sizeof(k.comm));
	}
	__u64 *v = bpf_map_lookup_elem(&samples, &k);
	if (!v) {
		__u64 zero = 0;
		/* another CPU may insert the same key first: look it up again */
		bpf_map_update_elem(&samples, &k, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&samples, &k);
		if (!v) {
			__sync_fetch_and_add(&n_full, 1);
			return 0;
		}
	}
	__sync_fetch_and_add(v, 1);
	return 0; /* nothing for perf's own output: no ring is mapped */
}

char LICENSE[] SEC("license") = "GPL";
