/*
 * mmusim.h: the public API and manual of mmusim, a trace-driven simulator of
 * the x86-64 MMU under native paging, shadow paging and nested paging
 * (AMD RVI / Intel EPT).
 *
 * Layering (low to high; each layer calls only the ones above it):
 *   trace     mm_reader: streams struct mm_rec from a valgrind lackey text
 *             trace, mmusim's compact binary trace, or a seeded synthetic
 *             workload; mm_writer writes the binary form (the converter).
 *   config    struct mm_config: hardware description, presets, KEY=VALUE.
 *   sim       struct mm_sim: a guest-OS model shared by every mode plus one
 *             MMU model per mode (TLBs, page-walk caches, nested TLB, data
 *             cache for page-table references, shadow page tables, ASIDs).
 *   report    tables, CSV, JSON, the 2D-walk heat map and an SVG plot.
 *
 * Invariants:
 *   (1) Library code never prints or exits: it returns >= 0 or a negative
 *       errno and fills struct ok_err (file:line or file: offset N).
 *   (2) Memory is bounded by the simulated state (page tables, caches), never
 *       by the trace length: readers hold one buffer of MM_READ_BUF bytes.
 *   (3) Every mode sees the same guest: one guest-OS model builds the guest
 *       page tables, allocates guest frames from a seeded allocator, and each
 *       mode reacts to its events (faults, page-table writes, CR3 writes).
 *   (4) Cycles are sums of configured costs times counted events, so changing
 *       one cost by d changes a total by exactly (count of that event) * d.
 *
 * Units: addresses are bytes; sizes in bytes; costs in CPU cycles.
 */
#ifndef MMUSIM_H
#define MMUSIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"

/* ===================================================================== trace */

/* Operations carried by a trace. Accesses first, then OS events. */
enum mm_op {
	MM_IFETCH,   /* instruction fetch ("I" in lackey) */
	MM_LOAD,     /* data load (" L") */
	MM_STORE,    /* data store (" S") */
	MM_MODIFY,   /* load + store of one address (" M"), one translation */
	MM_SWITCH,   /* address-space switch (CR3 write) to process pid */
	MM_PTWRITE,  /* guest rewrites the leaf PTE of addr (COW, mprotect) */
	MM_FAULT,    /* guest page fault at addr: the guest maps it */
	MM_INVLPG,   /* guest INVLPG addr */
	MM_CREATE,   /* process pid created (empty address space) */
	MM_EXIT,     /* process pid exits; its address space is freed */
	MM_UNMAP,    /* guest munmap [addr, addr+len): PTE clears, then a flush (below) */
	MM_MPROTECT, /* guest mprotect [addr, addr+len): PTE rewrites, then a flush */
	MM_VM,	     /* the host runs VM pid from now on (created on first use) */
	MM_FORK,     /* the running process forks child pid (copy-on-write, below) */
	MM_EXEC,     /* process pid execs: its address space is replaced by an empty one */
	MM_FLUSH,    /* guest full TLB flush of the current PCID (CR3 reload) */
	MM_AGE,	     /* guest page aging of [addr, addr+len): young PTEs made old */
	MM_OP_N
};

/* Records whose argument is a process (or VM) id rather than an address. */
static inline int mm_op_has_pid(unsigned op)
{
	return op == MM_SWITCH || op == MM_CREATE || op == MM_EXIT || op == MM_VM ||
	       op == MM_FORK || op == MM_EXEC;
}

/* Records that carry a length (a range of addresses). */
static inline int mm_op_has_len(unsigned op)
{
	return op == MM_UNMAP || op == MM_MPROTECT || op == MM_AGE;
}

/* Names used in text traces ("E switch 3") and in messages. */
extern const char *const mm_op_names[MM_OP_N];

/* One trace record (24 bytes). */
struct mm_rec {
	uint64_t addr; /* virtual address (accesses, ptwrite, fault, invlpg, unmap) */
	uint64_t len;  /* bytes (unmap, mprotect, age) */
	uint32_t pid;  /* process (switch, create, exit, fork, exec) or VM (vm) */
	uint16_t size; /* access size in bytes (accesses) */
	uint8_t op;    /* enum mm_op */
	uint8_t pad;
};

enum mm_fmt { MM_FMT_AUTO, MM_FMT_LACKEY, MM_FMT_BIN, MM_FMT_PERF, MM_FMT_DRMEM };
extern const char *const mm_fmt_names[]; /* "auto", "lackey", "bin", "perf", "drmemtrace" */

#define MM_MAX_VMS 16 /* VMs one simulation holds (their ids are 0..15) */

#define MM_READ_BUF  (1u << 20) /* reader buffer, bytes */
#define MM_MAX_LINE  4096	/* longest text line accepted */
#define MM_BIN_MAGIC "MMUSIMT1" /* binary trace: 8-byte magic, u32 version, u32 flags */
#define MM_BIN_HDR   16

/*
 * Lackey text format (valgrind --tool=lackey --trace-mem=yes, lk_main.c):
 *   "I  0023C790,2"   instruction fetch, hex address, decimal size
 *   " L BE801950,4"   load;  " S ..." store;  " M ..." modify
 * Lines starting "==PID==" or "--PID--" are Valgrind's own messages: they are
 * counted (banner_lines) and otherwise ignored. mmusim extends the format with
 * event lines, which lackey never emits:
 *   "E switch PID", "E create PID", "E exit PID",
 *   "E ptwrite ADDR", "E fault ADDR", "E invlpg ADDR", "E unmap ADDR LEN",
 *   "E mprotect ADDR LEN", "E vm ID" (the host switches to VM ID, 0..MM_MAX_VMS-1),
 *   "E fork PID" (the running process forks child PID), "E exec PID", "E flush",
 *   "E age ADDR LEN" (page aging clears the accessed bits of the range)
 * (ADDR hex with optional 0x, LEN decimal or 0x hex). Blank lines are skipped.
 * Anything else is an error "FILE:LINE: expected ...".
 *
 * Binary format (all integers LEB128 varints after the 16-byte header):
 *   tag byte: low nibble op, high nibble size (15 = a varint size follows;
 *             0 on events); the 16 ops 0..15 fill the nibble, so an op
 *             above 15 is written as low nibble 15 with high nibble
 *             op - 15 (age: 0x1f), which version 1 readers before it
 *             refused as a malformed tag
 *   accesses: zigzag delta of addr from the previous address of the same
 *             stream (instruction fetches and data are two streams)
 *   switch/create/exit/vm/fork/exec: pid (the VM id for vm);  flush: nothing; ptwrite/fault/invlpg:
 * addr;  unmap, mprotect, age: addr len
 */

/*
 * perf script text (MM_FMT_PERF; never detected, --format=perf): the lines
 * `perf script -F pid,tid,event,addr --show-task-events` prints (more
 * fields may come before the event: comm, cpu, time, period; data_src and
 * the rest after the address) for samples recorded with a data address:
 * `perf record -e page-faults -c 1 -d`, `perf mem record`, or any event with
 * -d. The pid is the first field of digits (or PID/TID). A sample line
 *   "  4045/4045  page-faults:     5570a0fff240"
 * is a guest page fault at ADDR for a fault event (page-faults, faults,
 * minor-faults, major-faults), else a data access: a store when its data
 * source says "|OP STORE|" or the event name holds "store", else a load (8
 * bytes). A sample from another pid than the last is preceded by a switch
 * to it. Samples without a user data address (0, or the kernel half) carry
 * no record. Task events:
 *   "PERF_RECORD_FORK(C:C):(P:P)"  -> switch P (if needed), fork C
 *   "PERF_RECORD_COMM exec: NAME:PID/TID" -> exec PID
 *   "PERF_RECORD_EXIT(P:P):(PP:PP)" -> exit P
 * (a FORK or EXIT whose pid differs from its tid is a thread's, no record);
 * other PERF_RECORD_ lines and '#' comments carry none.
 *
 * DynamoRIO drmemtrace's text view (MM_FMT_DRMEM, --format=drmemtrace):
 * the lines `drrun -t drcachesim -simulator_type view` prints,
 *   "       47446       37770:     2765543 read         8 byte(s) @ 0x00007fdf64e2adc8 by PC
 * 0x..." record ordinal, instruction ordinal, ':', thread id (or W0.T292
 * in sharded output), then "ifetch", "read" or "write" with a size and an
 * address. Markers ("<marker: ...>"), "<thread N exited>", prefetch and
 * flush records, the "Output format:" header and "---" dividers carry no
 * record. One drmemtrace trace is one process: thread ids are not address
 * spaces.
 *
 * Lines that carry no record are counted as banner_lines (mm_reader_counts).
 */

/* Synthetic workloads (all seeded). */
enum mm_synth {
	MM_SYN_SEQ,	 /* sequential 8-byte loads over the working set, wrapping */
	MM_SYN_RANDOM,	 /* uniform random loads/stores over the working set */
	MM_SYN_CHASE,	 /* pointer chase: each 64-byte line once per lap, random order */
	MM_SYN_MULTI,	 /* procs processes, random over own working sets, switch each quantum */
	MM_SYN_FORK,	 /* fork/exec churn: the parent forks (COW), the child execs, runs, exits */
	MM_SYN_MMAP,	 /* mmap/munmap churn: map a region, touch it, unmap it */
	MM_SYN_PTUPDATE, /* random accesses with frequent PTE rewrites (COW) + INVLPG */
	MM_SYN_N
};
extern const char *const mm_synth_names[MM_SYN_N];

struct mm_synth_cfg {
	enum mm_synth kind;
	uint64_t refs;	  /* references (accesses) to generate */
	uint64_t ws;	  /* working set per process, bytes */
	uint32_t procs;	  /* processes (multi) */
	uint64_t quantum; /* accesses between switches / churn period */
	uint64_t seed;
	uint32_t vms;	     /* VMs (0 or 1: one); each runs the workload's stream in turn */
	uint64_t vm_quantum; /* accesses between VM switches (vms > 1) */
	uint64_t age;	     /* accesses between page-aging scans of the whole working
			      * set ("E age", as kstaled or MGLRU's walk); 0: none */
};

struct mm_reader;

/* Open path ("-" = stdin) in format fmt (AUTO: binary if the magic matches). */
int mm_reader_open(struct mm_reader **r, const char *path, enum mm_fmt fmt, struct ok_err *e);
/* Read from a memory buffer (fuzzers, tests); name is used in messages. */
int mm_reader_open_mem(struct mm_reader **r, const void *buf, size_t len, enum mm_fmt fmt,
		       const char *name, struct ok_err *e);
/* A synthetic workload as a reader. */
int mm_reader_open_synth(struct mm_reader **r, const struct mm_synth_cfg *c, struct ok_err *e);
/* Fill up to max records; returns the count, 0 at end, or a negative errno. */
ssize_t mm_reader_read(struct mm_reader *r, struct mm_rec *recs, size_t max, struct ok_err *e);
/* Format actually read (after AUTO detection). */
enum mm_fmt mm_reader_format(const struct mm_reader *r);
/* Lines read (text) and Valgrind banner lines seen. */
void mm_reader_counts(const struct mm_reader *r, uint64_t *lines, uint64_t *banner_lines);
void mm_reader_close(struct mm_reader *r);

struct mm_writer;
/* Create a binary trace at path ("-" = stdout). */
int mm_writer_open(struct mm_writer **w, const char *path, struct ok_err *e);
int mm_writer_put(struct mm_writer *w, const struct mm_rec *recs, size_t n, struct ok_err *e);
/* Flush and close; returns 0 or a negative errno. */
int mm_writer_close(struct mm_writer *w, struct ok_err *e);

/* ==================================================================== config */

/* Agile paging (Gandhi, Hill, Swift, ISCA 2016): a shadow walk of the upper
 * levels that switches to a nested (2D) walk at a guest table in nested mode;
 * see "Agile paging" in sim.c. Not in the default --compare set. */
enum mm_mode { MM_NATIVE, MM_SHADOW, MM_NESTED, MM_AGILE, MM_MODE_N };
extern const char *const mm_mode_names[MM_MODE_N];

enum mm_pwc {
	MM_PWC_NONE,
	MM_PWC_PA, /* AMD page walk cache: upper-level entries tagged by entry physical address */
	MM_PWC_VA, /* Intel paging-structure caches: next-table pointer tagged by VA prefix */
	MM_PWC_2D, /* Bhargava 2D PWC: PA-tagged, also caches the nested dimension */
};

/* Hardware and cost description. Every field has a KEY (see mm_config_set). */
struct mm_config {
	uint32_t levels, host_levels;	/* radix levels: 4 or 5 */
	uint64_t guest_page, host_page; /* 4096, 2 MiB or 1 GiB */
	uint32_t l1d_entries, l1d_ways; /* L1 data TLB (all page sizes); ways 0 = fully assoc */
	uint32_t l1i_entries, l1i_ways; /* L1 instruction TLB */
	uint32_t l2_entries, l2_ways;	/* L2 TLB, 4 KiB pages */
	uint32_t l2_2m_entries, l2_2m_ways;
	uint32_t l2_1g_entries, l2_1g_ways;
	uint32_t pwc;			  /* enum mm_pwc */
	uint32_t pwc_entries, pwc_ways;	  /* PA/2D: total; VA: per level */
	uint32_t ntlb_entries, ntlb_ways; /* nested TLB (gPA->sPA); 0 = none */
	uint32_t asids;		 /* VM tags (ASID/VPID); 0 = untagged: flush on every exit */
	uint32_t pcids;		 /* per-process tags in native/nested guests; <= 1 = flush on CR3 */
	uint32_t shadow_as_tags; /* shadow: a new ASID per guest address space (Xen trick) */
	uint32_t shadow_roots;	 /* shadow-root cache size (address spaces kept shadowed) */
	uint32_t unsync;	 /* shadow: leaf guest PT pages may go out of sync */
	uint32_t flush_ceiling;	 /* Linux tlb_single_page_flush_ceiling (33): a batch
				  * spanning more pages is one full flush */
	uint32_t ept_ad;	 /* nested/agile: EPT (NPT) accessed/dirty flags: the first
				  * use of a host leaf entry by a walk sets them */
	uint32_t age_flush;	 /* page aging ("E age"): 1 = an INVLPG after each young
				  * PTE cleared (Linux before 3.18); 0 = none, as x86
				  * Linux's ptep_clear_flush_young since */
	uint32_t agile_start;	 /* agile: guest tables at levels <= this are always
				  * walked nested (0: all start shadowed) */
	uint32_t agile_writes;	 /* agile: the Nth trapped write to one guest table in an
				  * epoch moves it to nested mode (0: never) */
	uint32_t agile_epoch;	 /* agile: trace records per epoch; at its end a table moved
				  * to nested and not written since returns to shadow
				  * (0: never) */
	uint32_t dc1_kib, dc1_ways, dc2_kib, dc2_ways; /* L1D, L2 (KiB; 0 = off) */
	uint32_t dc3_kib, dc3_ways;		       /* last-level cache (KiB; 0 = off) */
	uint32_t data_refs;	      /* 1: data accesses go through the caches too */
	uint64_t guest_mem, host_mem; /* physical memory sizes, bytes */
	/* costs, cycles */
	uint32_t c_l1, c_l2, c_pwc, c_dc1, c_dc2, c_dc3, c_mem;
	uint32_t c_ad;	 /* locked write by the walker setting a guest PTE's accessed bit */
	uint32_t c_exit; /* VM exit + entry round trip */
	uint32_t c_ptwrite, c_hidden, c_guestpf;	  /* handler work per exit reason */
	uint32_t c_cr3_hit, c_cr3_miss, c_invlpg, c_sync; /* c_sync: per unsync page resynced */
};

extern const char *const mm_preset_names[]; /* NULL-terminated */
/* Load a preset; -EINVAL with a message listing the presets if unknown. */
int mm_config_preset(struct mm_config *c, const char *name, struct ok_err *e);
/* Set KEY=VALUE (or KEY and VALUE). -EINVAL with "expected ..." on a bad key or value. */
int mm_config_set(struct mm_config *c, const char *key, const char *value, struct ok_err *e);
/* Read "key = value" lines (# comments) from path; errors are "path:LINE: ...". */
int mm_config_file(struct mm_config *c, const char *path, struct ok_err *e);
/* Check cross-field consistency (ways divide entries, sizes). */
int mm_config_check(const struct mm_config *c, struct ok_err *e);
/* Write every key = value (a config file that reproduces c). */
void mm_config_dump(const struct mm_config *c, FILE *f);

/* ======================================================================= sim */

enum mm_exit {
	MM_EXIT_PTWRITE, /* write to a write-protected guest page-table page */
	MM_EXIT_HIDDEN,	 /* shadow entry missing, guest entry valid */
	MM_EXIT_GUESTPF, /* true guest #PF: reflected into the guest */
	MM_EXIT_CR3,	 /* address-space switch */
	MM_EXIT_INVLPG,
	MM_EXIT_N
};
extern const char *const mm_exit_names[MM_EXIT_N];

enum mm_flush {
	MM_FLUSH_CR3,	  /* untagged CR3 write */
	MM_FLUSH_VMEXIT,  /* untagged VM exit/entry */
	MM_FLUSH_TAGWRAP, /* ASID/PCID generation wrap */
	MM_FLUSH_FULL,	  /* guest full flush of its current PCID (past flush_ceiling) */
	MM_FLUSH_PTWRITE, /* shadow: a trapped guest PTE write zapped a present shadow
			   * entry, and KVM's kvm_mmu_pte_write flushes the VM's TLBs */
	MM_FLUSH_N
};
extern const char *const mm_flush_names[MM_FLUSH_N];

#define MM_GRID 6 /* (levels+1) x (host_levels+1), at most 6 x 6 */

/* Where one page-table reference was satisfied. */
enum mm_where { MM_AT_PWC, MM_AT_DC1, MM_AT_DC2, MM_AT_DC3, MM_AT_MEM, MM_WHERE_N };
extern const char *const mm_where_names[MM_WHERE_N];

struct mm_stats {
	uint64_t accesses; /* page translations (an access crossing a page makes two) */
	uint64_t l1_hits, l1_misses, l2_hits, l2_misses; /* l2_misses = walks */
	uint64_t walks, guest_refs, nested_refs;	 /* entry reads made by walks */
	uint64_t at[MM_WHERE_N];			 /* where those reads were satisfied */
	uint64_t pwc_lookups, pwc_hits, ntlb_lookups, ntlb_hits;
	uint64_t psc_skipped;		      /* levels skipped by VA-tagged caches */
	uint64_t walk_hist[40];		      /* walks by entry reads (last bucket: more) */
	uint64_t grid_refs[MM_GRID][MM_GRID]; /* 2D grid: reads per cell */
	uint64_t grid_pwc[MM_GRID][MM_GRID];  /* of those, served by the PWC */
	uint64_t grid_skip[MM_GRID][MM_GRID]; /* reads skipped (NTLB or VA-tagged PSC hit) */
	uint64_t exits[MM_EXIT_N], exit_cycles[MM_EXIT_N];
	uint64_t flushes[MM_FLUSH_N];
	uint64_t guest_faults, pt_writes, syncs, shadow_pages;
	uint64_t ad_writes; /* accessed bits set by the walker (locked writes, c_ad each) */
	uint64_t aged;	    /* accessed bits cleared by page aging (young PTEs made old) */
	uint64_t ag_to_nested, ag_to_shadow;  /* agile: guest tables moved by the policy */
	uint64_t cyc_tlb, cyc_walk, cyc_exit; /* cycle totals; sum = translation cycles */
	uint64_t data_refs;		      /* data accesses sent to the caches (data_refs=1) */
	uint64_t data_at[MM_WHERE_N];	      /* where they were served (never the PWC) */
	uint64_t cyc_data;		      /* their cycles (not translation cycles) */
};

struct mm_sim;

/* One step of a logged walk (--explain, --log-walks). */
struct mm_step {
	uint64_t pa;	  /* physical address of the entry read */
	uint8_t level;	  /* 1 = PTE ... 5 = PML5 */
	uint8_t dim;	  /* 'g' guest, 'n' nested, 's' shadow, 'h' native */
	uint8_t row, col; /* 2D grid cell (nested mode) */
	uint8_t where;	  /* enum mm_where */
};
/* Called after each walk when logging is on. */
typedef void (*mm_walk_fn)(void *ctx, enum mm_mode m, uint64_t va, const struct mm_step *s,
			   unsigned n);

/* Create a simulator for the modes in mask (1 << enum mm_mode). seed drives the allocators. */
int mm_sim_new(struct mm_sim **s, const struct mm_config *c, unsigned mode_mask, uint64_t seed,
	       struct ok_err *e);
/* Log walks: all (every walk) or only the first walk that translates addr's page. */
void mm_sim_log(struct mm_sim *s, mm_walk_fn fn, void *ctx, int all, uint64_t addr);
/* Feed records; -ENOMEM (guest or host memory exhausted) with a message. */
int mm_sim_feed(struct mm_sim *s, const struct mm_rec *r, size_t n, struct ok_err *e);
/*
 * Reference form (call before the first mm_sim_feed): every access takes
 * the whole path, with none of the shortcuts that change no count (repeats
 * of the last page or line, the known-mapped cache, the L1 MRU key, queued
 * data lines, the host-walk memo) and the data caches as plain recency-ordered arrays instead
 * of rings. Slow; tests compare its statistics with the fast path's.
 */
void mm_sim_reference(struct mm_sim *s);
/*
 * Routines by instruction set for the hot loops (the data caches' batches,
 * the scan for the end of a run of repeats), fastest first: "avx512",
 * "avx2", "sse2" (x86-64), "c" (everywhere; a set without a scan of its
 * own scans in C); mm_sim_new picks the first the CPU runs. mm_sim_dc_impl(s, NAME) switches s to
 * NAME and returns its name, or NULL (unknown, or this CPU lacks it: s unchanged); NAME NULL: the
 * routine s uses. Every one gives the same counts (tests compare them).
 */
const char *mm_sim_dc_impl(struct mm_sim *s, const char *name);
/* Stats of mode m (zeroed if the mode is not simulated). */
const struct mm_stats *mm_sim_stats(const struct mm_sim *s, enum mm_mode m);
unsigned mm_sim_modes(const struct mm_sim *s);
const struct mm_config *mm_sim_config(const struct mm_sim *s);
void mm_sim_free(struct mm_sim *s);

/*
 * Statistics reset (a warm-up boundary, as gem5's m5_reset_stats, ChampSim's
 * end of warm-up and drcachesim's -warmup_refs do): every counter of every
 * mode restarts from zero; the simulated state (TLBs, caches, page tables,
 * shadow tables) is kept, so what follows is measured warm. shadow_pages, a
 * gauge of live shadow tables, keeps its value.
 */
void mm_sim_reset_stats(struct mm_sim *s);
/*
 * Several VMs ("E vm ID" records): the VMs that ran, as a mask of ids (bit 0:
 * VM 0, which runs until the first switch), and one VM's share of mode m's
 * statistics (zero for a VM that never ran). The VMs' shares add up to
 * mm_sim_stats; shadow_pages is a gauge of all VMs, not a share.
 */
unsigned mm_sim_vms(const struct mm_sim *s);
void mm_sim_vm_stats(const struct mm_sim *s, unsigned vm, enum mm_mode m, struct mm_stats *out);

/* d = a - b field by field (the counts of an interval); gauges (shadow_pages)
 * take a's value. d may alias a. */
void mm_stats_sub(struct mm_stats *d, const struct mm_stats *a, const struct mm_stats *b);
/* Translation cycles of a stats block (tlb + walk + exit). */
uint64_t mm_stats_cycles(const struct mm_stats *st);
/* Total VM exits. */
uint64_t mm_stats_exits(const struct mm_stats *st);

/* ==================================================================== report */

enum mm_out { MM_OUT_TABLE, MM_OUT_CSV, MM_OUT_JSON };

struct mm_run_info {
	const char *source; /* trace path or "synth:NAME" */
	const char *format; /* "lackey", "binary", "synthetic" */
	const char *preset;
	uint64_t records, banner_lines;
	uint64_t warmup;	 /* warm-up length (0: none), in warmup_unit */
	uint64_t interval;	 /* interval length (0: none), in warmup_unit */
	const char *warmup_unit; /* "refs" (access records) or "insns" (fetch records) */
	uint64_t measured;	 /* units counted after the warm-up */
	const char *overrides;	 /* applied after the preset, space-separated
				  * ("config=FILE key=value ..."), or "" */
	uint64_t seed;		 /* drives workloads and frame allocators */
};

/*
 * Break-even VM-exit round-trip cost: the c at which shadow's and nested's
 * translation cycles tie, from totals linear in c. Returns 0 and sets *c, or
 * -ERANGE when shadow has no more exits than nested (no break-even).
 */
int mm_break_even(const struct mm_sim *s, double *c);
void mm_report(FILE *f, const struct mm_sim *s, const struct mm_run_info *ri, enum mm_out out);
/*
 * One interval's statistics (st[mode], e.g. from mm_stats_sub) as rows:
 * CSV "interval,end,mode,METRIC..." (header first when header is set) or
 * one JSON object per line {"interval": i, "end": N, "mode": ..., METRIC...}.
 * end is the last unit (reference or instruction, counted from the start of
 * the trace, warm-up included) the interval holds.
 */
void mm_report_interval(FILE *f, const struct mm_sim *s, const struct mm_stats *st, uint64_t index,
			uint64_t end, enum mm_out out, int header);
/* Text heat map of the 2D walk grid of nested mode. */
void mm_report_heatmap(FILE *f, const struct mm_sim *s);
/* SVG bar chart of each mode's translation overhead per access against native
 * (plain cycles per access when native is not simulated). */
void mm_report_svg(FILE *f, const struct mm_sim *s, const struct mm_run_info *ri);
/* One line for a logged walk step: "  3. nested nL2  sPA 0x... PWC hit". */
void mm_format_step(char *buf, size_t n, unsigned i, const struct mm_step *st);

#endif
