/*
 * main.c: the mmusim command. Options are declared once below; the work is
 * in the library (mmusim.h): read records, feed the simulator, print.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "err.h"
#include "mmusim.h"
#include "progress.h"

static const char help[] =
    "usage: mmusim [OPTIONS] [TRACE]\n"
    "\n"
    "Simulate the x86-64 MMU on a memory trace under native paging, shadow paging\n"
    "and nested paging (AMD RVI / Intel EPT), all in one pass, and report TLB\n"
    "hits, page-walk references, page-walk-cache and nested-TLB hit rates, VM\n"
    "exits by reason, TLB flushes and translation cycles per mode.\n"
    "\n"
    "TRACE is a valgrind lackey trace (valgrind --tool=lackey --trace-mem=yes),\n"
    "or an mmusim binary trace (detected by its magic); '-' or no TRACE reads\n"
    "standard input, so valgrind can pipe into mmusim (--log-fd). Valgrind's own\n"
    "==PID== lines are counted and reported; SB lines (--trace-superblocks=yes)\n"
    "are skipped. Lackey has no OS events: a guest-OS\n"
    "model turns each first touch of a page into a guest page fault and PTE\n"
    "writes. Text traces may add events: 'E switch PID', 'E create PID', 'E exit\n"
    "PID', 'E ptwrite ADDR', 'E fault ADDR', 'E invlpg ADDR', 'E unmap ADDR LEN',\n"
    "'E mprotect ADDR LEN' (PTE writes first, then one INVLPG per page, or one full\n"
    "flush past flush_ceiling pages, as Linux), 'E vm ID' (the host runs VM ID,\n"
    "0-15, from then on; each VM has its own processes and host table and shares\n"
    "the TLBs and caches, told apart by VPID/ASID = ID when asids > 0), 'E age ADDR\n"
    "LEN' (page aging: young PTEs of the range made old, no flush unless\n"
    "age_flush=1, as x86 Linux's ptep_clear_flush_young).\n"
    "\n"
    "-m agile adds agile paging (Gandhi et al., ISCA 2016): a shadow walk of the\n"
    "upper guest levels that switches to a nested walk at a guest table in nested\n"
    "mode; agile_start, agile_writes and agile_epoch set where and when tables\n"
    "switch.\n";

/* After the option list. */
static const char footer[] =
    "Config keys (see mmusim --dump-config for all, with their meaning): levels,\n"
    "host_levels, guest_page, host_page, l1d_entries, l1d_ways, l1i_entries,\n"
    "l2_entries, l2_ways, l2_2m_entries, pwc (none|pa|va|2d), pwc_entries,\n"
    "ntlb_entries, asids (0 = untagged: flush on every VM exit), pcids,\n"
    "shadow_as_tags, shadow_roots, unsync, agile_start, agile_writes, agile_epoch,\n"
    "ept_ad, age_flush,\n"
    "dc1_kib, dc2_kib, dc3_kib, data_refs,\n"
    "guest_mem, host_mem,\n"
    "c_l1, c_l2, c_pwc, c_dc1, c_dc2, c_dc3, c_mem, c_exit, c_ptwrite, c_hidden,\n"
    "c_guestpf, c_cr3_hit, c_cr3_miss, c_invlpg, c_sync (cycles).\n"
    "\n"
    "Exit status: 0 success; 2 usage error (a bad option, unknown preset, bad -s\n"
    "value); 3 bad input data (a malformed trace line, reported as FILE:LINE:\n"
    "expected ..., a bad config file value, the simulated memory exhausted, an\n"
    "address outside the address space); 4 I/O error; 5 refused, nothing written\n"
    "(--write-trace onto the input trace).\n";

enum {
	O_SYNTH = 256,
	O_REFS,
	O_WS,
	O_PROCS,
	O_QUANTUM,
	O_SEED,
	O_FORMAT,
	O_WRITE,
	O_PARSE,
	O_COMPARE,
	O_LEVELS,
	O_HLEVELS,
	O_GPAGE,
	O_HPAGE,
	O_DUMP,
	O_CSV,
	O_JSON,
	O_HEAT,
	O_SVG,
	O_EXPLAIN,
	O_LOGW,
	O_WARMUP,
	O_INTERVAL,
	O_WUNIT,
	O_IOUT,
	O_VMS,
	O_VMQ,
	O_AGE,
};

static const struct cli_opt opts[] = {
    {NULL, 0, 0, 0, NULL, "Input:"},
    {"synth", 0, CLI_ARG, O_SYNTH, "KIND",
     "built-in workload instead of TRACE: seq, random, chase,\nmulti, fork, mmap, ptupdate"},
    {"refs", 0, CLI_ARG, O_REFS, "N", "synthetic accesses (default 1000000)"},
    {"ws", 0, CLI_ARG, O_WS, "SIZE", "synthetic working set per process (default 64M)"},
    {"procs", 0, CLI_ARG, O_PROCS, "N", "processes for 'multi' (default 8)"},
    {"quantum", 0, CLI_ARG, O_QUANTUM, "N",
     "accesses between switches/churn events (default per kind)"},
    {"vms", 0, CLI_ARG, O_VMS, "N", "run the workload in N VMs (1-16), each its own copy"},
    {"vm-quantum", 0, CLI_ARG, O_VMQ, "N", "accesses between VM switches (default 100000)"},
    {"age", 0, CLI_ARG, O_AGE, "N", "age the working set's pages every N accesses (E age)"},
    {"seed", 0, CLI_ARG, O_SEED, "N", "seed for workloads and frame allocators (default 1)"},
    {"format", 0, CLI_ARG, O_FORMAT, "FMT",
     "auto (default: bin or lackey), lackey, bin, perf (perf\nscript -F pid,tid,event,addr "
     "--show-task-events) or\ndrmemtrace (drcachesim's view tool)"},
    {"write-trace", 0, CLI_ARG, O_WRITE, "FILE", "convert the input to the binary format and exit"},
    {"parse-only", 0, CLI_FLAG, O_PARSE, NULL, "read the input, count records, simulate nothing"},
    {"warmup", 0, CLI_ARG, O_WARMUP, "N",
     "simulate the first N references without counting them\n(statistics restart, TLBs and "
     "caches stay warm)"},
    {"interval", 0, CLI_ARG, O_INTERVAL, "N",
     "also print the statistics of every N references after\nthe warm-up (CSV rows, or JSON "
     "lines with --json)"},
    {"warmup-unit", 0, CLI_ARG, O_WUNIT, "refs|insns",
     "count --warmup and --interval in references (default)\nor instruction-fetch records"},
    {"interval-out", 0, CLI_ARG, O_IOUT, "FILE", "write the interval rows to FILE"},
    {NULL, 0, 0, 0, NULL, "Modes and hardware:"},
    {"mode", 'm', CLI_ARG, 'm', "LIST",
     "native, shadow, nested, agile, comma-separated\n(default native,shadow,nested: the same as "
     "--compare)"},
    {"compare", 0, CLI_FLAG, O_COMPARE, NULL, "simulate all three modes in one pass"},
    {"preset", 'p', CLI_ARG, 'p', "NAME", "barcelona (default), nehalem or modern"},
    {"config", 'c', CLI_ARG, 'c', "FILE", "'key = value' lines applied after the preset"},
    {"set", 's', CLI_ARG, 's', "KEY=VAL", "one config value, applied last (repeatable)"},
    {"levels", 0, CLI_ARG, O_LEVELS, "N", "guest radix levels, 4 or 5 (= --set levels=N)"},
    {"host-levels", 0, CLI_ARG, O_HLEVELS, "N", "host (NPT/EPT) levels, 4 or 5"},
    {"guest-page", 0, CLI_ARG, O_GPAGE, "SIZE", "guest page size: 4K, 2M or 1G"},
    {"host-page", 0, CLI_ARG, O_HPAGE, "SIZE", "host page size: 4K, 2M or 1G"},
    {"dump-config", 0, CLI_FLAG, O_DUMP, NULL,
     "print the effective configuration as a config file, exit"},
    {NULL, 0, 0, 0, NULL, "Output:"},
    {"csv", 0, CLI_FLAG, O_CSV, NULL, "metric,mode... CSV instead of the table"},
    {"json", 0, CLI_FLAG, O_JSON, NULL, "one JSON object"},
    {"heatmap", 0, CLI_FLAG, O_HEAT, NULL,
     "add the 2D-walk grid of nested mode: step numbers,\nreferences per walk per cell, heat"},
    {"svg", 0, CLI_ARG, O_SVG, "FILE", "write an SVG bar chart of cycles per access per mode"},
    {"explain", 0, CLI_ARG, O_EXPLAIN, "ADDR",
     "print the first walk of ADDR's page in each mode as\nnumbered steps, one line per memory "
     "reference"},
    {"log-walks", 0, CLI_FLAG, O_LOGW, NULL, "print every walk that way (large!)"},
    {0},
};

static const struct cli_spec spec = {"mmusim", help, opts, 0, footer};

/* records per read (24 KiB): fewer feed calls than 256, which measured 6%
 * slower with four modes on a sequential trace */
#define MM_BATCH 1024
#define MAX_SETS 64

static struct {
	struct mm_synth_cfg syn;
	int synth;
	enum mm_fmt fmt;
	const char *write_trace, *preset, *config, *svg;
	const char *sets[MAX_SETS][2]; /* key, value (value NULL: "key=value" in [0]) */
	int nsets;
	unsigned modes;
	int parse_only, dump, heat, explain, log_walks;
	enum mm_out out;
	uint64_t explain_addr;
	uint64_t warmup, interval; /* in units (0: none) */
	int insns;		   /* unit: instruction-fetch records instead of accesses */
	const char *interval_out;
} TT;

static int add_set(const char *k, const char *v)
{
	if (TT.nsets == MAX_SETS)
		return -1;
	TT.sets[TT.nsets][0] = k;
	TT.sets[TT.nsets++][1] = v;
	return 0;
}

static int on_opt(void *ctx, int id, const char *arg)
{
	(void)ctx;
	uint64_t v;
	switch (id) {
	case O_SYNTH:
		for (int i = 0; i < MM_SYN_N; i++)
			if (!strcmp(arg, mm_synth_names[i])) {
				TT.syn.kind = (enum mm_synth)i;
				TT.synth = 1;
				return 0;
			}
		return -1;
	case O_REFS:
		return cli_parse_uint(arg, 1, UINT64_MAX / 2, &TT.syn.refs);
	case O_WS:
		return cli_parse_size(arg, 1, &TT.syn.ws) || TT.syn.ws < 4096 ||
			       TT.syn.ws > (1ull << 40)
			   ? -1
			   : 0;
	case O_PROCS:
		if (cli_parse_uint(arg, 1, 100000, &v))
			return -1;
		TT.syn.procs = (uint32_t)v;
		return 0;
	case O_QUANTUM:
		return cli_parse_uint(arg, 1, UINT64_MAX / 2, &TT.syn.quantum);
	case O_VMS:
		if (cli_parse_uint(arg, 1, MM_MAX_VMS, &v))
			return -1;
		TT.syn.vms = (uint32_t)v;
		return 0;
	case O_VMQ:
		return cli_parse_uint(arg, 1, UINT64_MAX / 2, &TT.syn.vm_quantum);
	case O_AGE:
		return cli_parse_uint(arg, 1, UINT64_MAX / 2, &TT.syn.age);
	case O_SEED:
		return cli_parse_uint(arg, 0, UINT64_MAX, &TT.syn.seed);
	case O_FORMAT:
		TT.fmt = !strcmp(arg, "auto")	      ? MM_FMT_AUTO
			 : !strcmp(arg, "lackey")     ? MM_FMT_LACKEY
			 : !strcmp(arg, "bin")	      ? MM_FMT_BIN
			 : !strcmp(arg, "perf")	      ? MM_FMT_PERF
			 : !strcmp(arg, "drmemtrace") ? MM_FMT_DRMEM
						      : (enum mm_fmt) - 1;
		return (int)TT.fmt < 0 ? -1 : 0;
	case O_WRITE:
		TT.write_trace = arg;
		return 0;
	case O_PARSE:
		TT.parse_only = 1;
		return 0;
	case 'm': {
		char buf[64];
		snprintf(buf, sizeof(buf), "%s", arg);
		TT.modes = 0;
		for (char *sv, *t = strtok_r(buf, ",", &sv); t; t = strtok_r(NULL, ",", &sv)) {
			int found = 0;
			for (int i = 0; i < MM_MODE_N; i++)
				if (!strcmp(t, mm_mode_names[i])) {
					TT.modes |= 1u << i;
					found = 1;
				}
			if (!found)
				return -1;
		}
		return TT.modes ? 0 : -1;
	}
	case O_COMPARE:
		TT.modes = 7;
		return 0;
	case 'p':
		TT.preset = arg;
		return 0;
	case 'c':
		TT.config = arg;
		return 0;
	case 's':
		return strchr(arg, '=') ? add_set(arg, NULL) : -1;
	case O_LEVELS:
		return add_set("levels", arg);
	case O_HLEVELS:
		return add_set("host_levels", arg);
	case O_GPAGE:
		return add_set("guest_page", arg);
	case O_HPAGE:
		return add_set("host_page", arg);
	case O_DUMP:
		TT.dump = 1;
		return 0;
	case O_CSV:
		TT.out = MM_OUT_CSV;
		return 0;
	case O_JSON:
		TT.out = MM_OUT_JSON;
		return 0;
	case O_HEAT:
		TT.heat = 1;
		return 0;
	case O_SVG:
		TT.svg = arg;
		return 0;
	case O_EXPLAIN:
		TT.explain = 1;
		return cli_parse_uint(arg, 0, UINT64_MAX, &TT.explain_addr) ? -1 : 0;
	case O_LOGW:
		TT.log_walks = 1;
		return 0;
	case O_WARMUP:
		return cli_parse_uint(arg, 0, UINT64_MAX / 2, &TT.warmup);
	case O_INTERVAL:
		return cli_parse_uint(arg, 1, UINT64_MAX / 2, &TT.interval);
	case O_WUNIT:
		TT.insns = !strcmp(arg, "insns");
		return TT.insns || !strcmp(arg, "refs") ? 0 : -1;
	case O_IOUT:
		TT.interval_out = arg;
		return 0;
	}
	return -1;
}

static unsigned explained; /* modes whose walk --explain printed */

/* Walk logger: the numbered steps of one walk. */
static void print_walk(void *ctx, enum mm_mode m, uint64_t va, const struct mm_step *s, unsigned n)
{
	FILE *f = ctx;
	explained |= 1u << m;
	char buf[160];
	fprintf(f, "walk of 0x%llx, %s mode, %u references:\n", (unsigned long long)va,
		mm_mode_names[m], n);
	for (unsigned i = 0; i < n; i++) {
		mm_format_step(buf, sizeof(buf), i + 1, &s[i]);
		fprintf(f, "%s\n", buf);
	}
}

/*
 * Warm-up and interval boundaries. The reader's batches are cut at each
 * boundary so that statistics are reset or dumped exactly after the N-th
 * reference (or instruction), whatever the batch size.
 */
struct bounds {
	uint64_t seen; /* units fed so far */
	uint64_t next; /* the next boundary (UINT64_MAX: none) */
	uint64_t last; /* the last boundary passed */
	uint64_t index;
	int warm; /* still in the warm-up */
	struct mm_stats prev[MM_MODE_N];
};

/* The index just past the record that reaches b->next, or n. */
static size_t upto(struct bounds *b, const struct mm_rec *r, size_t i, size_t n)
{
	unsigned mask = TT.insns
			    ? 1u << MM_IFETCH
			    : 1u << MM_IFETCH | 1u << MM_LOAD | 1u << MM_STORE | 1u << MM_MODIFY;
	for (; i < n && b->seen < b->next; i++)
		b->seen += (mask >> r[i].op) & 1;
	return i;
}

/* At b->next: end the warm-up (reset) or print one interval's rows. */
static void boundary(struct bounds *b, struct mm_sim *s, FILE *f)
{
	if (b->warm) {
		mm_sim_reset_stats(s);
		b->warm = 0;
		for (int m = 0; m < MM_MODE_N; m++)
			b->prev[m] = *mm_sim_stats(s, (enum mm_mode)m);
	} else {
		struct mm_stats d[MM_MODE_N];
		for (int m = 0; m < MM_MODE_N; m++) {
			mm_stats_sub(&d[m], mm_sim_stats(s, (enum mm_mode)m), &b->prev[m]);
			b->prev[m] = *mm_sim_stats(s, (enum mm_mode)m);
		}
		b->index++;
		mm_report_interval(f, s, d, b->index, b->seen,
				   TT.out == MM_OUT_JSON ? MM_OUT_JSON : MM_OUT_CSV, b->index == 1);
	}
	b->last = b->seen;
	b->next =
	    TT.interval && b->seen <= UINT64_MAX - TT.interval ? b->seen + TT.interval : UINT64_MAX;
}

/*
 * Print a library error and exit with its class's code: a malformed trace
 * line or record and a simulation that cannot continue (simulated memory
 * exhausted, an address outside the address space) are bad input data (3),
 * the rest I/O errors (4).
 */
static struct mm_reader *g_reader;
static struct mm_sim *g_sim;

static _Noreturn void die_err(const struct ok_err *e, int rc)
{
	ok_err_print(e);
	mm_sim_free(g_sim);
	mm_reader_close(g_reader);
	/* ENOMEM from the simulation is the configured guest/host memory, which
	 * the trace outgrew, not the host's */
	exit(rc == -ENOMEM ? ok_exit_class(OK_CLASS_DATA) : ok_exit(e));
}

/*
 * --write-trace truncates its file before the input is read, so an output
 * that is the input trace itself (by name, through a link, or as standard
 * input) would be lost: refused, nothing written, as cp(1) refuses a source
 * that is its own destination (coreutils copy.c, "are the same file").
 * Returns 0, or the refusal filled into e.
 */
static int refuse_same_file(const char *out, const char *src, struct ok_err *e)
{
	struct stat so, si;
	if (!strcmp(out, "-") || stat(out, &so) < 0 || !S_ISREG(so.st_mode))
		return 0;
	if (!strcmp(src, "-") ? fstat(0, &si) < 0 : stat(src, &si) < 0)
		return 0;
	if (so.st_dev != si.st_dev || so.st_ino != si.st_ino)
		return 0;
	return ok_errc_at(e, OK_CLASS_REFUSED, -EEXIST, out, OK_ERR_NOPOS,
			  "is the input trace: refused, nothing written");
}

int main(int argc, char **argv)
{
	TT.syn = (struct mm_synth_cfg){MM_SYN_RANDOM, 1000000, 64ull << 20, 8, 0, 1, 1, 0, 0};
	TT.modes = 7;
	TT.preset = "barcelona";
	int first = cli_parse(&spec, argc, argv, on_opt, NULL);
	if (argc - first > 1)
		cli_usage_error(&spec, "expected at most one TRACE operand");
	if (first < argc && TT.synth)
		cli_usage_error(&spec, "--synth and a TRACE operand exclude each other");
	if (!TT.synth && TT.syn.age)
		cli_usage_error(&spec,
				"--age needs --synth (a trace ages pages with 'E age' lines)");
	if (!TT.synth && (TT.syn.vms > 1 || TT.syn.vm_quantum))
		cli_usage_error(&spec, "--vms and --vm-quantum need --synth (a trace switches VMs "
				       "with 'E vm ID' lines)");
	struct ok_err e;
	ok_err_clear(&e);
	struct mm_config c;
	/* -p and -s values are usage errors, a --config file's are bad data */
	int rc = mm_config_preset(&c, TT.preset, &e);
	if (rc == -EINVAL)
		ok_err_set_class(&e, OK_CLASS_USAGE, rc);
	if (rc == 0 && TT.config)
		rc = mm_config_file(&c, TT.config, &e);
	for (int i = 0; rc == 0 && i < TT.nsets; i++)
		if ((rc = mm_config_set(&c, TT.sets[i][0], TT.sets[i][1], &e)) == -EINVAL)
			ok_err_set_class(&e, OK_CLASS_USAGE, rc);
	if (rc == 0 && (rc = mm_config_check(&c, &e)) == -EINVAL && !TT.config)
		ok_err_set_class(&e, OK_CLASS_USAGE, rc);
	if (rc < 0)
		return ok_err_fail(&e);
	if (TT.dump) {
		mm_config_dump(&c, stdout);
		return 0;
	}

	struct mm_reader *r;
	const char *src = first < argc ? argv[first] : "-";
	char srcname[300];
	if (TT.synth) {
		rc = mm_reader_open_synth(&r, &TT.syn, &e);
		snprintf(srcname, sizeof(srcname), "synth:%s seed %llu",
			 mm_synth_names[TT.syn.kind], (unsigned long long)TT.syn.seed);
	} else {
		rc = mm_reader_open(&r, src, TT.fmt, &e);
		snprintf(srcname, sizeof(srcname), "%s", strcmp(src, "-") ? src : "<stdin>");
	}
	if (rc < 0)
		die_err(&e, rc);
	g_reader = r;

	static struct mm_rec recs[MM_BATCH];
	uint64_t nrec = 0;
	ssize_t n;
	if (TT.write_trace || TT.parse_only) {
		struct mm_writer *w = NULL;
		if (TT.write_trace && !TT.synth &&
		    (rc = refuse_same_file(TT.write_trace, src, &e)) < 0)
			die_err(&e, rc);
		if (TT.write_trace && (rc = mm_writer_open(&w, TT.write_trace, &e)) < 0)
			die_err(&e, rc);
		double t0 = progress_now();
		while ((n = mm_reader_read(r, recs, MM_BATCH, &e)) > 0) {
			nrec += (uint64_t)n;
			if (w && (rc = mm_writer_put(w, recs, (size_t)n, &e)) < 0)
				die_err(&e, rc);
		}
		if (n < 0) {
			if (w)
				mm_writer_close(w, NULL);
			die_err(&e, (int)n);
		}
		if (w && (rc = mm_writer_close(w, &e)) < 0)
			die_err(&e, rc);
		double dt = progress_now() - t0;
		uint64_t lines, banner;
		mm_reader_counts(r, &lines, &banner);
		fprintf(TT.write_trace && !strcmp(TT.write_trace, "-") ? stderr : stdout,
			"%s: %llu records, %llu lines, %llu %s lines, %.3f s, %.1f M "
			"records/s\n",
			srcname, (unsigned long long)nrec, (unsigned long long)lines,
			(unsigned long long)banner,
			mm_reader_format(r) == MM_FMT_LACKEY ? "valgrind message" : "record-less",
			dt, dt > 0 ? (double)nrec / dt / 1e6 : 0.0);
		mm_reader_close(r);
		return 0;
	}

	struct mm_sim *s;
	if ((rc = mm_sim_new(&s, &c, TT.modes, TT.syn.seed, &e)) < 0)
		die_err(&e, rc);
	g_sim = s;
	if (TT.explain || TT.log_walks)
		mm_sim_log(s, print_walk, stdout, TT.log_walks, TT.explain_addr);
	FILE *iout = stdout;
	if (TT.interval_out && !(iout = fopen(TT.interval_out, "we")))
		ok_die_class(OK_CLASS_IO, "%s: cannot create: %s", TT.interval_out,
			     strerror(errno));
	struct bounds b = {.warm = TT.warmup > 0,
			   .next = TT.warmup	 ? TT.warmup
				   : TT.interval ? TT.interval
						 : UINT64_MAX};
	while ((n = mm_reader_read(r, recs, MM_BATCH, &e)) > 0) {
		nrec += (uint64_t)n;
		for (size_t i = 0, j; i < (size_t)n; i = j) {
			j = TT.warmup || TT.interval ? upto(&b, recs, i, (size_t)n) : (size_t)n;
			if ((rc = mm_sim_feed(s, recs + i, j - i, &e)) < 0) {
				if (!e.path[0])
					snprintf(e.path, sizeof(e.path), "%.200s", srcname);
				if (e.offset == OK_ERR_NOPOS && e.line == OK_ERR_NOPOS)
					snprintf(e.msg + strlen(e.msg),
						 sizeof(e.msg) - strlen(e.msg),
						 " (near record %llu)",
						 (unsigned long long)(nrec - (uint64_t)n + j));
				die_err(&e, -ENOMEM);
			}
			if (b.seen == b.next)
				boundary(&b, s, iout);
		}
	}
	if (n < 0)
		die_err(&e, (int)n);
	if (b.warm) {
		fprintf(stderr,
			"mmusim: warning: the warm-up (%llu %s) is longer than the trace (%llu): "
			"nothing counted\n",
			(unsigned long long)TT.warmup, TT.insns ? "insns" : "refs",
			(unsigned long long)b.seen);
		mm_sim_reset_stats(s);
	} else if (TT.interval && b.seen > b.last) {
		b.next = b.seen; /* the last, shorter interval */
		boundary(&b, s, iout);
	}
	if (iout != stdout && fclose(iout))
		ok_die_class(OK_CLASS_IO, "%s: write: %s", TT.interval_out, strerror(errno));
	if (n < 0)
		die_err(&e, (int)n);
	uint64_t lines, banner;
	mm_reader_counts(r, &lines, &banner);
	const char *fmt = TT.synth			      ? "synthetic"
			  : mm_reader_format(r) == MM_FMT_BIN ? "binary"
							      : mm_fmt_names[mm_reader_format(r)];
	/* every override of the preset, so that the header reproduces the run */
	static char over[MAX_SETS * 128 + 4200];
	size_t ol = 0;
	if (TT.config)
		ol += (size_t)snprintf(over + ol, sizeof(over) - ol, "config=%.4000s", TT.config);
	for (int i = 0; i < TT.nsets && ol < sizeof(over); i++)
		ol += (size_t)snprintf(over + ol, sizeof(over) - ol, "%s%.60s%s%.60s",
				       ol ? " " : "", TT.sets[i][0], TT.sets[i][1] ? "=" : "",
				       TT.sets[i][1] ? TT.sets[i][1] : "");
	struct mm_run_info ri = {.source = srcname,
				 .format = fmt,
				 .preset = TT.preset,
				 .records = nrec,
				 .banner_lines = banner,
				 .warmup = TT.warmup,
				 .interval = TT.interval,
				 .warmup_unit = TT.insns ? "insns" : "refs",
				 .measured = b.seen > TT.warmup ? b.seen - TT.warmup : 0,
				 .overrides = over,
				 .seed = TT.syn.seed};
	for (int i = 0; TT.explain && !TT.log_walks && i < MM_MODE_N; i++)
		if ((TT.modes & (1u << i)) && !(explained & (1u << i)))
			printf("no walk of 0x%llx in %s mode: its page was never accessed, or only "
			       "hit "
			       "in the TLB\n",
			       (unsigned long long)TT.explain_addr, mm_mode_names[i]);
	mm_report(stdout, s, &ri, TT.out);
	if (TT.heat && TT.out == MM_OUT_TABLE) {
		fputc('\n', stdout);
		mm_report_heatmap(stdout, s);
	}
	if (TT.svg) {
		FILE *f = fopen(TT.svg, "we");
		if (!f)
			ok_die_class(OK_CLASS_IO, "%s: cannot create: %s", TT.svg, strerror(errno));
		mm_report_svg(f, s, &ri);
		if (fclose(f))
			ok_die_class(OK_CLASS_IO, "%s: write: %s", TT.svg, strerror(errno));
	}
	mm_sim_free(s);
	mm_reader_close(r);
	if (fflush(stdout))
		ok_die_class(OK_CLASS_IO, "stdout: %s", strerror(errno));
	return 0;
}
