/*
 * config.c: the simulated hardware as data: one table of keys (name, field,
 * kind, range, meaning), three presets, KEY=VALUE parsing and config files.
 *
 * Preset values are summarised from the vendors' optimization manuals and
 * published measurements (Bhargava et al., ASPLOS 2008, for Barcelona);
 * most sizes and all cycle costs are unverified, so each is only a default
 * that a config file or --set overrides.
 */
#include "mmusim.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

enum kind { K_U32, K_SIZE, K_PAGE, K_LEVELS, K_PWC };

struct key {
	const char *name;
	size_t off;
	enum kind kind;
	uint64_t min, max;
	const char *help;
};

#define F(x) offsetof(struct mm_config, x)
static const struct key keys[] = {
    {"levels", F(levels), K_LEVELS, 4, 5, "guest (and native) radix levels"},
    {"host_levels", F(host_levels), K_LEVELS, 4, 5, "host (nested/EPT) radix levels"},
    {"guest_page", F(guest_page), K_PAGE, 0, 0, "guest page size: 4K, 2M or 1G"},
    {"host_page", F(host_page), K_PAGE, 0, 0, "host page size: 4K, 2M or 1G"},
    {"l1d_entries", F(l1d_entries), K_U32, 1, 4096, "L1 data TLB entries"},
    {"l1d_ways", F(l1d_ways), K_U32, 0, 4096, "L1 data TLB ways (0 = fully associative)"},
    {"l1i_entries", F(l1i_entries), K_U32, 1, 4096, "L1 instruction TLB entries"},
    {"l1i_ways", F(l1i_ways), K_U32, 0, 4096, "L1 instruction TLB ways"},
    {"l2_entries", F(l2_entries), K_U32, 0, 65536, "L2 TLB entries for 4K pages"},
    {"l2_ways", F(l2_ways), K_U32, 0, 65536, "L2 TLB ways (4K)"},
    {"l2_2m_entries", F(l2_2m_entries), K_U32, 0, 65536, "L2 TLB entries for 2M pages"},
    {"l2_2m_ways", F(l2_2m_ways), K_U32, 0, 65536, "L2 TLB ways (2M)"},
    {"l2_1g_entries", F(l2_1g_entries), K_U32, 0, 65536, "L2 TLB entries for 1G pages"},
    {"l2_1g_ways", F(l2_1g_ways), K_U32, 0, 65536, "L2 TLB ways (1G)"},
    {"pwc", F(pwc), K_PWC, 0, 3, "page-walk cache: none, pa (AMD), va (Intel), 2d (Bhargava)"},
    {"pwc_entries", F(pwc_entries), K_U32, 0, 65536, "PWC entries (va: per level)"},
    {"pwc_ways", F(pwc_ways), K_U32, 0, 65536, "PWC ways (0 = fully associative)"},
    {"ntlb_entries", F(ntlb_entries), K_U32, 0, 65536, "nested TLB entries (0 = none)"},
    {"ntlb_ways", F(ntlb_ways), K_U32, 0, 65536, "nested TLB ways"},
    {"asids", F(asids), K_U32, 0, 65536, "VM tags (ASID/VPID); 0 = flush on every VM exit"},
    {"pcids", F(pcids), K_U32, 0, 4096, "guest process tags (PCID); <= 1 = flush on CR3 write"},
    {"shadow_as_tags", F(shadow_as_tags), K_U32, 0, 1, "shadow: one ASID per address space"},
    {"shadow_roots", F(shadow_roots), K_U32, 1, 65536, "shadow-root cache size"},
    {"unsync", F(unsync), K_U32, 0, 1, "shadow: allow out-of-sync leaf page tables"},
    {"flush_ceiling", F(flush_ceiling), K_U32, 0, 1u << 30,
     "munmap/mprotect flushing more pages: one full flush (Linux: 33)"},
    {"ept_ad", F(ept_ad), K_U32, 0, 1,
     "1: walks set EPT/NPT accessed (and dirty) flags: a locked write (c_ad)"},
    {"age_flush", F(age_flush), K_U32, 0, 1,
     "page aging: 1 = INVLPG per young PTE cleared (Linux < 3.18); 0 = no flush"},
    {"agile_start", F(agile_start), K_U32, 0, 5,
     "agile: guest levels <= this always walked nested (0: none)"},
    {"agile_writes", F(agile_writes), K_U32, 0, 31,
     "agile: Nth trapped write to a table in an epoch makes it nested (0: never)"},
    {"agile_epoch", F(agile_epoch), K_U32, 0, 1u << 30,
     "agile: records per epoch; unwritten nested tables return to shadow (0: never)"},
    {"dc1_kib", F(dc1_kib), K_U32, 0, 1 << 20, "L1 data cache, KiB (0 = off)"},
    {"dc1_ways", F(dc1_ways), K_U32, 1, 1024, "L1 data cache ways"},
    {"dc2_kib", F(dc2_kib), K_U32, 0, 1 << 22, "L2 cache, KiB (0 = off)"},
    {"dc2_ways", F(dc2_ways), K_U32, 1, 1024, "L2 cache ways"},
    {"dc3_kib", F(dc3_kib), K_U32, 0, 1 << 22, "last-level cache, KiB (0 = off)"},
    {"dc3_ways", F(dc3_ways), K_U32, 1, 1024, "last-level cache ways"},
    {"data_refs", F(data_refs), K_U32, 0, 1,
     "1: data accesses also go through L1D/L2/LLC (compete with PT lines)"},
    {"guest_mem", F(guest_mem), K_SIZE, 1 << 24, 1ull << 46, "guest physical memory"},
    {"host_mem", F(host_mem), K_SIZE, 1 << 24, 1ull << 46, "host physical memory"},
    {"c_l1", F(c_l1), K_U32, 0, 1 << 30, "cycles: L1 TLB hit"},
    {"c_l2", F(c_l2), K_U32, 0, 1 << 30, "cycles: L2 TLB hit"},
    {"c_pwc", F(c_pwc), K_U32, 0, 1 << 30, "cycles: PT ref served by the PWC"},
    {"c_dc1", F(c_dc1), K_U32, 0, 1 << 30, "cycles: PT ref hitting L1 data cache"},
    {"c_dc2", F(c_dc2), K_U32, 0, 1 << 30, "cycles: PT ref hitting L2 cache"},
    {"c_dc3", F(c_dc3), K_U32, 0, 1 << 30, "cycles: PT ref hitting the last-level cache"},
    {"c_mem", F(c_mem), K_U32, 0, 1 << 30, "cycles: PT ref from memory"},
    {"c_ad", F(c_ad), K_U32, 0, 1 << 30, "cycles: locked write setting a PTE's accessed bit"},
    {"c_exit", F(c_exit), K_U32, 0, 1 << 30, "cycles: VM exit + entry round trip"},
    {"c_ptwrite", F(c_ptwrite), K_U32, 0, 1 << 30, "cycles: handler, guest PT write"},
    {"c_hidden", F(c_hidden), K_U32, 0, 1 << 30, "cycles: handler, hidden fault fill"},
    {"c_guestpf", F(c_guestpf), K_U32, 0, 1 << 30, "cycles: handler, reflect guest #PF"},
    {"c_cr3_hit", F(c_cr3_hit), K_U32, 0, 1 << 30, "cycles: handler, CR3, cached root"},
    {"c_cr3_miss", F(c_cr3_miss), K_U32, 0, 1 << 30, "cycles: handler, CR3, new root"},
    {"c_invlpg", F(c_invlpg), K_U32, 0, 1 << 30, "cycles: handler, INVLPG"},
    {"c_sync", F(c_sync), K_U32, 0, 1 << 30, "cycles: per unsync page resynced"},
};
#undef F
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

static const char *const pwc_names[] = {"none", "pa", "va", "2d"};

const char *const mm_preset_names[] = {"barcelona", "nehalem", "modern", NULL};

/* AMD family 10h (AnandTech 2008 TLB sizes; 64 ASIDs; 24-entry PDC). */
static const struct mm_config barcelona = {
    .levels = 4,
    .host_levels = 4,
    .guest_page = 4096,
    .host_page = 4096,
    .l1d_entries = 48,
    .l1d_ways = 0,
    .l1i_entries = 32,
    .l1i_ways = 0,
    .l2_entries = 512,
    .l2_ways = 4,
    .l2_2m_entries = 128,
    .l2_2m_ways = 2,
    .l2_1g_entries = 0,
    .l2_1g_ways = 0,
    .pwc = MM_PWC_PA,
    .pwc_entries = 24,
    .pwc_ways = 0,
    .ntlb_entries = 16,
    .ntlb_ways = 0,
    .asids = 64,
    .pcids = 0,
    .shadow_as_tags = 1,
    .shadow_roots = 64,
    .unsync = 1,
    .flush_ceiling = 33, /* Linux arch/x86/mm/tlb.c tlb_single_page_flush_ceiling */
    .agile_writes = 2,
    .agile_epoch = 1000000,
    .dc1_kib = 64,
    .dc1_ways = 2,
    .dc2_kib = 512,
    .dc2_ways = 16,
    .dc3_kib = 2048, /* shared 2 MiB L3, 32-way (~45 cycles, UNVERIFIED) */
    .dc3_ways = 32,
    .data_refs = 1,
    .guest_mem = 16ull << 30,
    .host_mem = 64ull << 30,
    .c_l1 = 0,
    .c_l2 = 7,
    .c_pwc = 2,
    .c_dc1 = 3,
    .c_dc2 = 15,
    .c_dc3 = 45,
    .c_mem = 200,
    .c_ad = 20, /* a locked RMW of the line just read (assumption, UNVERIFIED) */
    .c_exit = 1000,
    .c_ptwrite = 2000,
    .c_hidden = 2000,
    .c_guestpf = 1000,
    .c_cr3_hit = 1000,
    .c_cr3_miss = 3000,
    .c_invlpg = 500,
    .c_sync = 500,
};

/* Intel Xeon 5500: EPT + VPID, paging-structure caches, no PCID. */
static const struct mm_config nehalem = {
    .levels = 4,
    .host_levels = 4,
    .guest_page = 4096,
    .host_page = 4096,
    .l1d_entries = 64,
    .l1d_ways = 4,
    .l1i_entries = 128,
    .l1i_ways = 4,
    .l2_entries = 512,
    .l2_ways = 4,
    .l2_2m_entries = 0,
    .l2_2m_ways = 0,
    .l2_1g_entries = 0,
    .l2_1g_ways = 0,
    .pwc = MM_PWC_VA,
    .pwc_entries = 32,
    .pwc_ways = 0,
    .ntlb_entries = 32,
    .ntlb_ways = 0,
    .asids = 65535,
    .pcids = 0,
    .shadow_as_tags = 0,
    .shadow_roots = 64,
    .unsync = 1,
    .flush_ceiling = 33, /* Linux arch/x86/mm/tlb.c tlb_single_page_flush_ceiling */
    .agile_writes = 2,
    .agile_epoch = 1000000,
    .dc1_kib = 32,
    .dc1_ways = 8,
    .dc2_kib = 256,
    .dc2_ways = 8,
    .dc3_kib = 8192, /* 8 MiB inclusive L3, 16-way (UNVERIFIED latency) */
    .dc3_ways = 16,
    .data_refs = 1,
    .guest_mem = 16ull << 30,
    .host_mem = 64ull << 30,
    .c_l1 = 0,
    .c_l2 = 7,
    .c_pwc = 2,
    .c_dc1 = 4,
    .c_dc2 = 10,
    .c_dc3 = 40,
    .c_mem = 180,
    .c_ad = 20,
    .c_exit = 800,
    .c_ptwrite = 2000,
    .c_hidden = 2000,
    .c_guestpf = 1000,
    .c_cr3_hit = 1000,
    .c_cr3_miss = 3000,
    .c_invlpg = 500,
    .c_sync = 500,
};

/* A recent core: big STLB with 2M/1G entries, PCID, cheap exits (all UNVERIFIED). */
static const struct mm_config modern = {
    .levels = 4,
    .host_levels = 4,
    .guest_page = 4096,
    .host_page = 4096,
    .l1d_entries = 64,
    .l1d_ways = 4,
    .l1i_entries = 128,
    .l1i_ways = 8,
    .l2_entries = 1536,
    .l2_ways = 12,
    .l2_2m_entries = 1024,
    .l2_2m_ways = 8,
    .l2_1g_entries = 16,
    .l2_1g_ways = 4,
    .pwc = MM_PWC_VA,
    .pwc_entries = 32,
    .pwc_ways = 0,
    .ntlb_entries = 64,
    .ntlb_ways = 0,
    .asids = 65535,
    .pcids = 4096,
    .shadow_as_tags = 0,
    .shadow_roots = 128,
    .unsync = 1,
    .flush_ceiling = 33, /* Linux arch/x86/mm/tlb.c tlb_single_page_flush_ceiling */
    .agile_writes = 2,
    .agile_epoch = 1000000,
    .dc1_kib = 48,
    .dc1_ways = 12,
    .dc2_kib = 2048,
    .dc2_ways = 16,
    .dc3_kib = 32768, /* 32 MiB LLC, 16-way (UNVERIFIED) */
    .dc3_ways = 16,
    .data_refs = 1,
    .guest_mem = 16ull << 30,
    .host_mem = 64ull << 30,
    .c_l1 = 0,
    .c_l2 = 8,
    .c_pwc = 2,
    .c_dc1 = 5,
    .c_dc2 = 14,
    .c_dc3 = 50,
    .c_mem = 250,
    .c_ad = 20,
    .c_exit = 500,
    .c_ptwrite = 1500,
    .c_hidden = 1500,
    .c_guestpf = 800,
    .c_cr3_hit = 700,
    .c_cr3_miss = 2500,
    .c_invlpg = 400,
    .c_sync = 400,
};

int mm_config_preset(struct mm_config *c, const char *name, struct ok_err *e)
{
	if (!strcmp(name, "barcelona"))
		*c = barcelona;
	else if (!strcmp(name, "nehalem"))
		*c = nehalem;
	else if (!strcmp(name, "modern"))
		*c = modern;
	else
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
				 "unknown preset '%s'; known presets: barcelona, nehalem, modern",
				 name);
	return 0;
}

static const struct key *find_key(const char *name, size_t len)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strlen(keys[i].name) == len && !memcmp(keys[i].name, name, len))
			return &keys[i];
	return NULL;
}

/* Set one key; the message says what was expected, the caller adds the place. */
static int set_key(struct mm_config *c, const struct key *k, const char *v, char *why, size_t n)
{
	uint64_t x;
	char *p = (char *)c + k->off;
	switch (k->kind) {
	case K_U32:
	case K_LEVELS:
		if (cli_parse_uint(v, k->min, k->max, &x)) {
			snprintf(why, n, "%s: expected an integer %llu..%llu, got '%s'", k->name,
				 (unsigned long long)k->min, (unsigned long long)k->max, v);
			return -EINVAL;
		}
		*(uint32_t *)(void *)p = (uint32_t)x;
		return 0;
	case K_SIZE:
		if (cli_parse_size(v, 1, &x) || x < k->min || x > k->max || x % 4096) {
			snprintf(why, n,
				 "%s: expected a size (e.g. 16G) of 16M..64T, 4K-aligned, got '%s'",
				 k->name, v);
			return -EINVAL;
		}
		*(uint64_t *)(void *)p = x;
		return 0;
	case K_PAGE:
		if (cli_parse_size(v, 1, &x) || (x != 4096 && x != 2u << 20 && x != 1u << 30)) {
			snprintf(why, n, "%s: expected 4K, 2M or 1G, got '%s'", k->name, v);
			return -EINVAL;
		}
		*(uint64_t *)(void *)p = x;
		return 0;
	case K_PWC:
		for (unsigned i = 0; i < 4; i++)
			if (!strcmp(v, pwc_names[i])) {
				*(uint32_t *)(void *)p = i;
				return 0;
			}
		snprintf(why, n, "%s: expected none, pa, va or 2d, got '%s'", k->name, v);
		return -EINVAL;
	}
	return -EINVAL;
}

int mm_config_set(struct mm_config *c, const char *key, const char *value, struct ok_err *e)
{
	char why[400];
	const char *eq = value ? NULL : strchr(key, '=');
	size_t klen = value ? strlen(key) : eq ? (size_t)(eq - key) : strlen(key);
	if (!value)
		value = eq ? eq + 1 : "";
	const struct key *k = find_key(key, klen);
	if (!k)
		return ok_err_at(
		    e, -EINVAL, NULL, OK_ERR_NOPOS,
		    "unknown key '%.*s'; expected one of the keys in mmusim --help-config",
		    (int)klen, key);
	if (set_key(c, k, value, why, sizeof(why)) < 0)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "%s", why);
	return 0;
}

static char *trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
		s[--n] = 0;
	return s;
}

int mm_config_file(struct mm_config *c, const char *path, struct ok_err *e)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot open");
	char line[1024], why[400];
	long long ln = 0;
	int rc = 0;
	while (fgets(line, sizeof(line), f)) {
		ln++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = ok_err_line(e, -EINVAL, path, ln,
					 "line too long, expected key = value");
			break;
		}
		char *h = strchr(line, '#');
		if (h)
			*h = 0;
		char *s = trim(line);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq) {
			rc = ok_err_line(e, -EINVAL, path, ln, "expected key = value");
			break;
		}
		*eq = 0;
		char *k = trim(s), *v = trim(eq + 1);
		const struct key *kk = find_key(k, strlen(k));
		if (!kk) {
			rc = ok_err_line(e, -EINVAL, path, ln,
					 "unknown key '%s', expected a config key", k);
			break;
		}
		if (set_key(c, kk, v, why, sizeof(why)) < 0) {
			rc = ok_err_line(e, -EINVAL, path, ln, "%s", why);
			break;
		}
	}
	if (!rc && ferror(f))
		rc = ok_err_at(e, -EIO, path, OK_ERR_NOPOS, "read");
	fclose(f);
	return rc;
}

static int check_geom(const char *what, uint32_t entries, uint32_t ways, char *why, size_t n)
{
	if (entries && ways && (entries % ways || ways > entries)) {
		snprintf(why, n, "%s: %u entries are not a multiple of %u ways", what, entries,
			 ways);
		return -EINVAL;
	}
	if (entries && ways && ((entries / ways) & (entries / ways - 1))) {
		snprintf(why, n, "%s: %u sets, expected a power of two", what, entries / ways);
		return -EINVAL;
	}
	return 0;
}

/*
 * The data caches store a line's tag (its number above the set index) in 32
 * bits, half the memory and twice the compares per vector of 64-bit tags
 * (sim.c, struct dcache): memory / 64 / sets lines must fit.
 */
static int check_tag(const char *what, uint32_t kib, uint32_t ways, uint64_t mem, char *why,
		     size_t n)
{
	if (!kib)
		return 0;
	uint64_t lines = (uint64_t)kib * 16, sets = lines / (ways && ways <= lines ? ways : lines);
	if ((mem >> 6) / sets <= UINT32_MAX - 1)
		return 0;
	snprintf(why, n, "%s: %llu sets cannot tag %llu GiB of memory; expected at least %llu sets",
		 what, (unsigned long long)sets, (unsigned long long)(mem >> 30),
		 (unsigned long long)((mem >> 6) / (UINT32_MAX - 1) + 1));
	return -EINVAL;
}

int mm_config_check(const struct mm_config *c, struct ok_err *e)
{
	char why[200];
	if (check_geom("l1d", c->l1d_entries, c->l1d_ways, why, sizeof(why)) ||
	    check_geom("l1i", c->l1i_entries, c->l1i_ways, why, sizeof(why)) ||
	    check_geom("l2", c->l2_entries, c->l2_ways, why, sizeof(why)) ||
	    check_geom("l2_2m", c->l2_2m_entries, c->l2_2m_ways, why, sizeof(why)) ||
	    check_geom("l2_1g", c->l2_1g_entries, c->l2_1g_ways, why, sizeof(why)) ||
	    check_geom("pwc", c->pwc_entries, c->pwc_ways, why, sizeof(why)) ||
	    check_geom("ntlb", c->ntlb_entries, c->ntlb_ways, why, sizeof(why)))
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "config: %s", why);
	if ((c->dc1_kib && check_geom("dc1", c->dc1_kib * 16, c->dc1_ways, why, sizeof(why))) ||
	    (c->dc2_kib && check_geom("dc2", c->dc2_kib * 16, c->dc2_ways, why, sizeof(why))) ||
	    (c->dc3_kib && check_geom("dc3", c->dc3_kib * 16, c->dc3_ways, why, sizeof(why))))
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "config: %s (64-byte lines)", why);
	if (c->agile_start > c->levels)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
				 "config: agile_start %u is above the %u guest levels",
				 c->agile_start, c->levels);
	uint64_t mem = c->guest_mem > c->host_mem ? c->guest_mem : c->host_mem;
	if (check_tag("dc1", c->dc1_kib, c->dc1_ways, mem, why, sizeof(why)) ||
	    check_tag("dc2", c->dc2_kib, c->dc2_ways, mem, why, sizeof(why)) ||
	    check_tag("dc3", c->dc3_kib, c->dc3_ways, mem, why, sizeof(why)))
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "config: %s", why);
	if (c->guest_page == (1u << 30) && c->levels < 4)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "config: 1G pages need 4 levels");
	return 0;
}

void mm_config_dump(const struct mm_config *c, FILE *f)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];
		const char *p = (const char *)c + k->off;
		fprintf(f, "%-15s = ", k->name);
		switch (k->kind) {
		case K_SIZE:
		case K_PAGE: {
			uint64_t v = *(const uint64_t *)(const void *)p;
			if (v % (1ull << 30) == 0)
				fprintf(f, "%lluG", (unsigned long long)(v >> 30));
			else if (v % (1ull << 20) == 0)
				fprintf(f, "%lluM", (unsigned long long)(v >> 20));
			else
				fprintf(f, "%lluK", (unsigned long long)(v >> 10));
			break;
		}
		case K_PWC:
			fputs(pwc_names[*(const uint32_t *)(const void *)p & 3], f);
			break;
		default:
			fprintf(f, "%u", *(const uint32_t *)(const void *)p);
		}
		fprintf(f, "   # %s\n", k->help);
	}
}
