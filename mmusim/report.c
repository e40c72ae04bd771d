/*
 * report.c: turning struct mm_stats into the side-by-side table, CSV, JSON,
 * the 2D-walk heat map, an SVG bar chart and walk-step lines.
 *
 * All three outputs come from one list of rows (metric key, label, value per
 * mode), so a number means the same thing in every format.
 */
#include "mmusim.h"

#include <errno.h>
#include <string.h>

enum rkind { R_INT, R_FLOAT, R_PCT };

struct row {
	char key[40];
	char label[56];
	enum rkind kind;
	double v[MM_MODE_N];
};

#define MAX_ROWS 80

struct rows {
	struct row r[MAX_ROWS];
	int n;
};

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

static struct row *add(struct rows *t, const char *key, const char *label, enum rkind k)
{
	struct row *r = &t->r[t->n++];
	memset(r, 0, sizeof(*r));
	snprintf(r->key, sizeof(r->key), "%s", key);
	snprintf(r->label, sizeof(r->label), "%s", label);
	r->kind = k;
	return r;
}

/* The rows of stats blocks st[mode] (the whole run, or one interval). */
static void build(const struct mm_sim *s, const struct mm_stats *const *st, struct rows *t)
{
	unsigned mask = mm_sim_modes(s);
	int have_native = mask & 1;
	t->n = 0;
#define ROW(key, label, kind, expr)                                                                \
	do {                                                                                       \
		struct row *r_ = add(t, key, label, kind);                                         \
		for (int m = 0; m < MM_MODE_N; m++) {                                              \
			const struct mm_stats *x = st[m];                                          \
			(void)x;                                                                   \
			r_->v[m] = (double)(expr);                                                 \
		}                                                                                  \
	} while (0)
	ROW("accesses", "accesses (page translations)", R_INT, x->accesses);
	ROW("l1_hits", "L1 TLB hits", R_INT, x->l1_hits);
	ROW("l1_misses", "L1 TLB misses", R_INT, x->l1_misses);
	ROW("l2_hits", "L2 TLB hits", R_INT, x->l2_hits);
	ROW("l2_misses", "L2 TLB misses", R_INT, x->l2_misses);
	ROW("walks", "page walks", R_INT, x->walks);
	ROW("guest_refs", "guest (or 1D) references", R_INT, x->guest_refs);
	ROW("nested_refs", "nested references", R_INT, x->nested_refs);
	ROW("refs_per_walk", "references per walk", R_FLOAT,
	    ratio(x->guest_refs + x->nested_refs, x->walks));
	ROW("guest_refs_per_walk", "  guest (or 1D) part", R_FLOAT, ratio(x->guest_refs, x->walks));
	ROW("nested_refs_per_walk", "  nested part", R_FLOAT, ratio(x->nested_refs, x->walks));
	ROW("mem_refs_per_walk", "  from memory (missed PWC and caches)", R_FLOAT,
	    ratio(x->at[MM_AT_MEM], x->walks));
	for (int i = 0; i < MM_WHERE_N; i++) {
		static const char *const lab[MM_WHERE_N] = {"PWC", "L1D", "L2", "LLC", "memory"};
		char k[40], l[56];
		snprintf(k, sizeof(k), "walk_refs_%s", mm_where_names[i]);
		snprintf(l, sizeof(l), "walk references served by %s", lab[i]);
		ROW(k, l, R_INT, x->at[i]);
	}
	ROW("data_refs", "data references (through the caches)", R_INT, x->data_refs);
	for (int i = MM_AT_DC1; i < MM_WHERE_N; i++) {
		static const char *const lab[MM_WHERE_N] = {"", "L1D", "L2", "LLC", "memory"};
		char k[40], l[56];
		snprintf(k, sizeof(k), "data_refs_%s", mm_where_names[i]);
		snprintf(l, sizeof(l), "  served by %s", lab[i]);
		ROW(k, l, R_INT, x->data_at[i]);
	}
	ROW("pwc_hits", "PWC hits", R_INT, x->pwc_hits);
	ROW("pwc_hit_rate", "PWC hit rate", R_PCT, ratio(x->pwc_hits, x->pwc_lookups));
	ROW("psc_skipped", "levels skipped by VA-tagged PSC (total)", R_INT, x->psc_skipped);
	ROW("psc_skipped_per_walk", "levels skipped by VA-tagged PSC", R_FLOAT,
	    ratio(x->psc_skipped, x->walks));
	ROW("ntlb_hits", "nested TLB hits", R_INT, x->ntlb_hits);
	ROW("ntlb_lookups", "nested TLB lookups", R_INT, x->ntlb_lookups);
	ROW("ntlb_hit_rate", "nested TLB hit rate", R_PCT, ratio(x->ntlb_hits, x->ntlb_lookups));
	ROW("guest_faults", "guest page faults", R_INT, x->guest_faults);
	ROW("pt_writes", "guest PTE writes", R_INT, x->pt_writes);
	ROW("ad_writes", "accessed bits set by walks", R_INT, x->ad_writes);
	ROW("aged", "accessed bits cleared by aging", R_INT, x->aged);
	ROW("vm_exits", "VM exits", R_INT, mm_stats_exits(x));
	for (int i = 0; i < MM_EXIT_N; i++) {
		char k[40], l[56];
		snprintf(k, sizeof(k), "exits_%s", mm_exit_names[i]);
		snprintf(l, sizeof(l), "  %s", mm_exit_names[i]);
		ROW(k, l, R_INT, x->exits[i]);
		snprintf(k, sizeof(k), "exit_cycles_%s", mm_exit_names[i]);
		snprintf(l, sizeof(l), "  %s cycles", mm_exit_names[i]);
		ROW(k, l, R_INT, x->exit_cycles[i]);
	}
	ROW("shadow_syncs", "unsync tables resynced", R_INT, x->syncs);
	ROW("shadow_pages", "shadow table pages (live)", R_INT, x->shadow_pages);
	if (mask & (1u << MM_AGILE)) {
		ROW("agile_to_nested", "agile: tables moved to nested", R_INT, x->ag_to_nested);
		ROW("agile_to_shadow", "agile: tables back to shadow", R_INT, x->ag_to_shadow);
	}
	for (int i = 0; i < MM_FLUSH_N; i++) {
		char k[40], l[56];
		snprintf(k, sizeof(k), "flushes_%s", mm_flush_names[i]);
		snprintf(l, sizeof(l), "TLB flushes: %s", mm_flush_names[i]);
		ROW(k, l, R_INT, x->flushes[i]);
	}
	ROW("cycles_tlb", "cycles: TLB lookups", R_INT, x->cyc_tlb);
	ROW("cycles_walk", "cycles: page walks", R_INT, x->cyc_walk);
	ROW("cycles_exit", "cycles: VM exits", R_INT, x->cyc_exit);
	ROW("cycles", "translation cycles", R_INT, mm_stats_cycles(x));
	ROW("cycles_data", "cycles: data references (not above)", R_INT, x->cyc_data);
	ROW("cycles_total", "cycles: translation + data", R_INT, mm_stats_cycles(x) + x->cyc_data);
	ROW("cycles_per_access", "cycles per access", R_FLOAT,
	    ratio(mm_stats_cycles(x), x->accesses));
	if (have_native) {
		ROW("overhead_cycles", "overhead vs native, cycles", R_FLOAT,
		    (double)mm_stats_cycles(x) - (double)mm_stats_cycles(st[MM_NATIVE]));
		ROW("overhead_ratio", "overhead vs native, x native", R_FLOAT,
		    ratio(mm_stats_cycles(x), mm_stats_cycles(st[MM_NATIVE])));
	}
#undef ROW
}

/* The rows of VM vm's share of the statistics (several VMs). */
static void vm_rows(const struct mm_sim *s, unsigned vm, struct rows *t)
{
	struct mm_stats v[MM_MODE_N];
	const struct mm_stats *st[MM_MODE_N];
	for (int m = 0; m < MM_MODE_N; m++) {
		mm_sim_vm_stats(s, vm, (enum mm_mode)m, &v[m]);
		st[m] = &v[m];
	}
	build(s, st, t);
}

/* The first VM from k on that ran, its rows in *t; MM_MAX_VMS when none. */
static unsigned vm_next(const struct mm_sim *s, unsigned k, struct rows *t)
{
	while (k < MM_MAX_VMS && !(mm_sim_vms(s) & (1u << k)))
		k++;
	if (k < MM_MAX_VMS)
		vm_rows(s, k, t);
	return k;
}

/* More than one VM ran: the report adds each VM's share. */
static int several_vms(const struct mm_sim *s)
{
	unsigned v = mm_sim_vms(s);
	return (v & (v - 1)) != 0;
}

/* The rows the table shows per VM (JSON and CSV show all). */
static int vm_table_row(const char *key)
{
	static const char *const keys[] = {"accesses",	 "l1_misses",	      "walks",
					   "guest_refs", "nested_refs",	      "guest_faults",
					   "vm_exits",	 "flushes_cr3",	      "flushes_vmexit",
					   "cycles",	 "cycles_per_access", NULL};
	for (int i = 0; keys[i]; i++)
		if (!strcmp(key, keys[i]))
			return 1;
	return 0;
}

int mm_break_even(const struct mm_sim *s, double *c)
{
	if ((mm_sim_modes(s) & 6) != 6)
		return -ENOENT;
	const struct mm_stats *sh = mm_sim_stats(s, MM_SHADOW), *ne = mm_sim_stats(s, MM_NESTED);
	double ce = mm_sim_config(s)->c_exit;
	double es = (double)mm_stats_exits(sh), en = (double)mm_stats_exits(ne);
	double as = (double)mm_stats_cycles(sh) - es * ce,
	       an = (double)mm_stats_cycles(ne) - en * ce;
	if (es <= en)
		return -ERANGE;
	*c = (an - as) / (es - en);
	return 0;
}

static void fmt_val(char *b, size_t n, enum rkind k, double v)
{
	if (k == R_INT)
		snprintf(b, n, "%.0f", v);
	else if (k == R_PCT)
		snprintf(b, n, "%.1f%%", v * 100);
	else
		snprintf(b, n, "%.3f", v);
}

/* One table row: label, then a column per simulated mode. */
static void table_row(FILE *f, const struct row *r, unsigned mask)
{
	char b[64];
	fprintf(f, "%-40s", r->label);
	for (int m = 0; m < MM_MODE_N; m++)
		if (mask & (1u << m)) {
			fmt_val(b, sizeof(b), r->kind, r->v[m]);
			fprintf(f, " %16s", b);
		}
	fputc('\n', f);
}

/* One CSV row: prefix and key, then a column per simulated mode. */
static void csv_row(FILE *f, const char *prefix, const struct row *r, unsigned mask)
{
	char b[64];
	fprintf(f, "%s%s", prefix, r->key);
	for (int m = 0; m < MM_MODE_N; m++)
		if (mask & (1u << m)) {
			fmt_val(b, sizeof(b), r->kind == R_PCT ? R_FLOAT : r->kind, r->v[m]);
			fprintf(f, ",%s", b);
		}
	fputc('\n', f);
}

/* Mode m's rows as JSON members "key": value, comma-separated. */
static void json_rows(FILE *f, const struct rows *t, int m)
{
	char b[64];
	for (int i = 0; i < t->n; i++) {
		fmt_val(b, sizeof(b), t->r[i].kind == R_PCT ? R_FLOAT : t->r[i].kind, t->r[i].v[m]);
		fprintf(f, "%s\"%s\": %s", i ? ", " : "", t->r[i].key, b);
	}
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void mm_report(FILE *f, const struct mm_sim *s, const struct mm_run_info *ri, enum mm_out out)
{
	struct rows t; /* ~11 KiB: on the stack, so reports can be made concurrently */
	const struct mm_stats *st[MM_MODE_N];
	for (int m = 0; m < MM_MODE_N; m++)
		st[m] = mm_sim_stats(s, (enum mm_mode)m);
	build(s, st, &t);
	unsigned mask = mm_sim_modes(s);
	const struct mm_config *c = mm_sim_config(s);
	double be = 0;
	int have_be = mm_break_even(s, &be) == 0;
	if (out == MM_OUT_JSON) {
		fputs("{\"source\": ", f);
		json_str(f, ri->source);
		fputs(", \"format\": ", f);
		json_str(f, ri->format);
		fputs(", \"preset\": ", f);
		json_str(f, ri->preset);
		fputs(", \"overrides\": ", f);
		json_str(f, ri->overrides ? ri->overrides : "");
		fprintf(f, ", \"seed\": %llu", (unsigned long long)ri->seed);
		fprintf(f, ", \"records\": %llu, \"banner_lines\": %llu",
			(unsigned long long)ri->records, (unsigned long long)ri->banner_lines);
		if (ri->warmup || ri->interval)
			fprintf(f,
				", \"warmup\": %llu, \"interval\": %llu, \"unit\": \"%s\", "
				"\"measured\": %llu",
				(unsigned long long)ri->warmup, (unsigned long long)ri->interval,
				ri->warmup_unit, (unsigned long long)ri->measured);
		fprintf(f,
			", \"levels\": %u, \"host_levels\": %u, \"guest_page\": %llu, "
			"\"host_page\": %llu",
			c->levels, c->host_levels, (unsigned long long)c->guest_page,
			(unsigned long long)c->host_page);
		fputs(", \"break_even_exit_cycles\": ", f);
		if (have_be)
			fprintf(f, "%.1f", be);
		else
			fputs("null", f);
		fputs(", \"modes\": {", f);
		int first = 1;
		for (int m = 0; m < MM_MODE_N; m++) {
			if (!(mask & (1u << m)))
				continue;
			fprintf(f, "%s\"%s\": {", first ? "" : ", ", mm_mode_names[m]);
			first = 0;
			json_rows(f, &t, m);
			const struct mm_stats *st = mm_sim_stats(s, (enum mm_mode)m);
			fputs(", \"walk_hist\": {", f);
			for (int k = 0, first_h = 1; k < 40; k++)
				if (st->walk_hist[k]) {
					fprintf(f, "%s\"%d%s\": %llu", first_h ? "" : ", ", k,
						k == 39 ? "+" : "",
						(unsigned long long)st->walk_hist[k]);
					first_h = 0;
				}
			fputs("}}", f);
		}
		fputs("}", f);
		if (several_vms(s)) {
			struct rows
			    v; /* ~11 KiB: on the stack, so reports can be made concurrently */
			fputs(", \"vms\": {", f);
			for (unsigned k = 0, fv = 1; (k = vm_next(s, k, &v)) < MM_MAX_VMS; k++) {
				fprintf(f, "%s\"%u\": {", fv ? "" : ", ", k);
				fv = 0;
				for (int m = 0, fm = 1; m < MM_MODE_N; m++) {
					if (!(mask & (1u << m)))
						continue;
					fprintf(f, "%s\"%s\": {", fm ? "" : ", ", mm_mode_names[m]);
					fm = 0;
					json_rows(f, &v, m);
					fputs("}", f);
				}
				fputs("}", f);
			}
			fputs("}", f);
		}
		fputs("}\n", f);
		return;
	}
	if (out == MM_OUT_CSV) {
		fputs("metric", f);
		for (int m = 0; m < MM_MODE_N; m++)
			if (mask & (1u << m))
				fprintf(f, ",%s", mm_mode_names[m]);
		fputc('\n', f);
		for (int i = 0; i < t.n; i++)
			csv_row(f, "", &t.r[i], mask);
		if (several_vms(s)) {
			struct rows
			    v; /* ~11 KiB: on the stack, so reports can be made concurrently */
			for (unsigned k = 0; (k = vm_next(s, k, &v)) < MM_MAX_VMS; k++) {
				char prefix[16];
				snprintf(prefix, sizeof(prefix), "vm%u.", k);
				for (int i = 0; i < v.n; i++)
					csv_row(f, prefix, &v.r[i], mask);
			}
		}
		if (have_be)
			fprintf(f, "break_even_exit_cycles,%.1f\n", be);
		if (ri->warmup)
			fprintf(f, "warmup_%s,%llu\n", ri->warmup_unit,
				(unsigned long long)ri->warmup);
		fprintf(f, "seed,%llu\n", (unsigned long long)ri->seed);
		fprintf(f, "preset,%s\n", ri->preset);
		if (ri->overrides && *ri->overrides) {
			fputs("overrides,\"", f);
			for (const char *p = ri->overrides; *p; p++) /* CSV quoting */
				fputs(*p == '"' ? "\"\"" : (char[2]){*p, 0}, f);
			fputs("\"\n", f);
		}
		return;
	}
	fprintf(f, "mmusim: %s (%s), %llu records", ri->source, ri->format,
		(unsigned long long)ri->records);
	if (ri->banner_lines)
		fprintf(f, ", %llu %s lines skipped", (unsigned long long)ri->banner_lines,
			strcmp(ri->format, "lackey") ? "record-less" : "valgrind message");
	if (ri->warmup)
		fprintf(f, "\nwarm-up: the first %llu %s simulated, not counted; %llu counted",
			(unsigned long long)ri->warmup, ri->warmup_unit,
			(unsigned long long)ri->measured);
	fprintf(f,
		"\nhardware: %s%s%s, seed %llu; guest %u-level %lluK pages, host %u-level %lluK "
		"pages\n\n",
		ri->preset, ri->overrides && *ri->overrides ? " + " : "",
		ri->overrides ? ri->overrides : "", (unsigned long long)ri->seed, c->levels,
		(unsigned long long)c->guest_page >> 10, c->host_levels,
		(unsigned long long)c->host_page >> 10);
	fprintf(f, "%-40s", "");
	for (int m = 0; m < MM_MODE_N; m++)
		if (mask & (1u << m))
			fprintf(f, " %16s", mm_mode_names[m]);
	fputc('\n', f);
	for (int i = 0; i < t.n; i++)
		table_row(f, &t.r[i], mask);
	if (several_vms(s)) {
		struct rows v; /* ~11 KiB: on the stack, so reports can be made concurrently */
		for (unsigned k = 0; (k = vm_next(s, k, &v)) < MM_MAX_VMS; k++) {
			fprintf(f, "\nVM %u (its share of the above)\n", k);
			for (int i = 0; i < v.n; i++)
				if (vm_table_row(v.r[i].key))
					table_row(f, &v.r[i], mask);
		}
	}
	fputs("\nwalks by references made (share of walks):\n", f);
	for (int m = 0; m < MM_MODE_N; m++) {
		if (!(mask & (1u << m)))
			continue;
		const struct mm_stats *st = mm_sim_stats(s, (enum mm_mode)m);
		fprintf(f, "  %-7s", mm_mode_names[m]);
		for (int k = 0; k < 40; k++)
			if (st->walk_hist[k])
				fprintf(f, " %d%s:%.1f%%", k, k == 39 ? "+" : "",
					100.0 * (double)st->walk_hist[k] / (double)st->walks);
		fputc('\n', f);
	}
	if ((mask & 6) == 6) {
		if (have_be && be < 0)
			fprintf(
			    f,
			    "\nbreak-even VM exit cost: %.1f cycles: not reachable, nested is "
			    "cheaper even with free exit round trips (handlers alone cost more)\n",
			    be);
		else if (have_be)
			fprintf(f,
				"\nbreak-even VM exit cost: %.1f cycles (shadow and nested tie; "
				"configured %u: %s is cheaper)\n",
				be, c->c_exit, be > c->c_exit ? "shadow" : "nested");
		else
			fputs("\nbreak-even VM exit cost: none (shadow has no more exits than "
			      "nested)\n",
			      f);
	}
}

void mm_report_interval(FILE *f, const struct mm_sim *s, const struct mm_stats *st, uint64_t index,
			uint64_t end, enum mm_out out, int header)
{
	struct rows t; /* ~11 KiB: on the stack, so reports can be made concurrently */
	const struct mm_stats *p[MM_MODE_N];
	for (int m = 0; m < MM_MODE_N; m++)
		p[m] = &st[m];
	build(s, p, &t);
	unsigned mask = mm_sim_modes(s);
	char b[64];
	if (header && out != MM_OUT_JSON) {
		fputs("interval,end,mode", f);
		for (int i = 0; i < t.n; i++)
			fprintf(f, ",%s", t.r[i].key);
		fputc('\n', f);
	}
	for (int m = 0; m < MM_MODE_N; m++) {
		if (!(mask & (1u << m)))
			continue;
		if (out == MM_OUT_JSON)
			fprintf(f, "{\"interval\": %llu, \"end\": %llu, \"mode\": \"%s\"",
				(unsigned long long)index, (unsigned long long)end,
				mm_mode_names[m]);
		else
			fprintf(f, "%llu,%llu,%s", (unsigned long long)index,
				(unsigned long long)end, mm_mode_names[m]);
		for (int i = 0; i < t.n; i++) {
			fmt_val(b, sizeof(b), t.r[i].kind == R_PCT ? R_FLOAT : t.r[i].kind,
				t.r[i].v[m]);
			if (out == MM_OUT_JSON)
				fprintf(f, ", \"%s\": %s", t.r[i].key, b);
			else
				fprintf(f, ",%s", b);
		}
		fputs(out == MM_OUT_JSON ? "}\n" : "\n", f);
	}
}

/* --------------------------------------------------------------- heat map */

void mm_report_heatmap(FILE *f, const struct mm_sim *s)
{
	const struct mm_config *c = mm_sim_config(s);
	if (!(mm_sim_modes(s) & (1u << MM_NESTED))) {
		fputs("heat map: nested mode not simulated\n", f);
		return;
	}
	const struct mm_stats *st = mm_sim_stats(s, MM_NESTED);
	unsigned n = c->levels, m = c->host_levels;
	double walks = st->walks ? (double)st->walks : 1;
	static const char ramp[] = " .:-=+*#%@";
	double max = 0;
	for (unsigned r = 0; r <= n; r++)
		for (unsigned k = 0; k <= m; k++) {
			double v = (double)(st->grid_refs[r][k] - st->grid_pwc[r][k]) / walks;
			if (v > max)
				max = v;
		}
	fprintf(f,
		"2D walk grid (nested mode, %llu walks): rows = guest table level read "
		"(gPA = data page), columns = nested level (g = the guest entry)\n",
		(unsigned long long)st->walks);
	fputs("step numbers:\n      ", f);
	for (unsigned k = 0; k < m; k++)
		fprintf(f, "  nL%u", m - k);
	fputs("    g\n", f);
	unsigned step = 1;
	for (unsigned r = 0; r <= n; r++) {
		if (r < n)
			fprintf(f, "gL%u   ", n - r);
		else
			fputs("gPA   ", f);
		for (unsigned k = 0; k <= m; k++)
			if (r < n || k < m)
				fprintf(f, " %4u", step++);
		fputc('\n', f);
	}
	fputs("references per walk [share served by the PWC or skipped by NTLB/PSC] and heat:\n    "
	      "  ",
	      f);
	for (unsigned k = 0; k < m; k++)
		fprintf(f, "           nL%u", m - k);
	fputs("              g  heat\n", f);
	for (unsigned r = 0; r <= n; r++) {
		char heat[8] = "";
		if (r < n)
			fprintf(f, "gL%u   ", n - r);
		else
			fputs("gPA   ", f);
		for (unsigned k = 0; k <= m; k++) {
			if (r == n && k == m) {
				fputs("               ", f);
				heat[k] = ' ';
				continue;
			}
			uint64_t refs = st->grid_refs[r][k], pwc = st->grid_pwc[r][k],
				 skip = st->grid_skip[r][k];
			fprintf(f, " %5.2f [%4.0f%%]", (double)refs / walks,
				refs + skip ? 100.0 * (double)(pwc + skip) / (double)(refs + skip)
					    : 0.0);
			/* heat: reads that went past the PWC, to the caches or memory */
			double hot = (double)(refs - pwc) / walks;
			heat[k] = ramp[max > 0 ? (int)(hot / max * 9 + 0.5) : 0];
		}
		heat[m + 1] = 0;
		fprintf(f, "  %s\n", heat);
	}
}

/* -------------------------------------------------------------------- SVG */

void mm_report_svg(FILE *f, const struct mm_sim *s, const struct mm_run_info *ri)
{
	unsigned mask = mm_sim_modes(s);
	double cpa[MM_MODE_N] = {0}, v[MM_MODE_N] = {0}, max = 0;
	for (int m = 0; m < MM_MODE_N; m++) {
		const struct mm_stats *st = mm_sim_stats(s, (enum mm_mode)m);
		cpa[m] = st->accesses ? (double)mm_stats_cycles(st) / (double)st->accesses : 0;
	}
	/* overhead against native when native ran, else plain cycles per access */
	int rel = mask & 1;
	for (int m = 0; m < MM_MODE_N; m++) {
		v[m] = rel ? cpa[m] - cpa[MM_NATIVE] : cpa[m];
		if ((mask & (1u << m)) && v[m] > max)
			max = v[m];
	}
	if (max <= 0)
		max = 1;
	fputs("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"520\" height=\"300\" "
	      "font-family=\"sans-serif\" font-size=\"12\">\n",
	      f);
	fprintf(f, "<text x=\"10\" y=\"18\">%s per access: ",
		rel ? "translation overhead vs native, cycles" : "translation cycles");
	for (const char *p = ri->source; p && *p; p++)
		if (*p == '<')
			fputs("&lt;", f);
		else if (*p == '>')
			fputs("&gt;", f);
		else if (*p == '&')
			fputs("&amp;", f);
		else
			fputc(*p, f);
	fputs("</text>\n", f);
	static const char *const colors[] = {"#4a7", "#c64", "#47c"};
	int x = 60;
	for (int m = 0; m < MM_MODE_N; m++) {
		if (!(mask & (1u << m)))
			continue;
		int h = v[m] > 0 ? (int)(v[m] / max * 220) : 0;
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"80\" height=\"%d\" fill=\"%s\"/>\n", x,
			260 - h, h, colors[m]);
		fprintf(f, "<text x=\"%d\" y=\"%d\">%.2f</text>\n", x + 10, 255 - h, v[m]);
		if (rel && cpa[MM_NATIVE] > 0)
			fprintf(f, "<text x=\"%d\" y=\"295\">%.2fx native</text>\n", x + 5,
				cpa[m] / cpa[MM_NATIVE]);
		fprintf(f, "<text x=\"%d\" y=\"278\">%s</text>\n", x + 10, mm_mode_names[m]);
		x += 140;
	}
	fputs("<line x1=\"50\" y1=\"260\" x2=\"500\" y2=\"260\" stroke=\"black\"/>\n</svg>\n", f);
}

/* --------------------------------------------------------------- steps */

void mm_format_step(char *buf, size_t n, unsigned i, const struct mm_step *st)
{
	const char *dim = st->dim == 'g'   ? "guest "
			  : st->dim == 'n' ? "nested"
			  : st->dim == 's' ? "shadow"
					   : "native";
	const char *lvl = st->dim == 'g' ? "gL" : st->dim == 'n' ? "nL" : "L";
	const char *space =
	    st->dim == 'g' || st->dim == 'h' ? (st->dim == 'g' ? "gPT@sPA" : "PA") : "sPA";
	snprintf(buf, n, "%3u. %s %s%u  %s 0x%012llx  %s", i, dim, lvl, st->level, space,
		 (unsigned long long)st->pa,
		 st->where == MM_AT_PWC	  ? "PWC hit"
		 : st->where == MM_AT_DC1 ? "L1d hit"
		 : st->where == MM_AT_DC2 ? "L2 hit"
		 : st->where == MM_AT_DC3 ? "LLC hit"
					  : "memory (miss)");
}
