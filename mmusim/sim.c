/*
 * sim.c: the models. One guest-OS model, shared by every mode, and one MMU
 * per simulated mode (native, shadow, nested, agile), fed the same records.
 *
 * Divisions (keep them):
 *   1. set-associative LRU arrays (TLBs, PWCs, nested TLB, data caches,
 *      shadow-root cache are all instances)
 *   2. physical frame allocators (seeded, random placement)
 *   3. radix page tables (guest, host, shadow share one node layout)
 *   4. the guest-OS model: processes, first-touch faults, PTE writes
 *   5. the MMU: TLB lookup, page-table references (PWC, data caches),
 *      native / shadow / 2D walks, tags and flushes
 *   6. shadow paging: hidden faults, write-protected guest tables, unsync,
 *      shadow roots, and the VM exits they cost
 *   7. the feed loop
 *
 * Design notes.
 *  - Guest physical addresses (gPA) come from the guest allocator; native mode
 *    runs the same guest tables on bare metal, so for it gPA is the physical
 *    address. System physical addresses (sPA) come from the host allocator; the
 *    host (NPT/EPT) table mapping gPA->sPA is populated on demand at no cost
 *    (the VM's memory is assumed pre-backed: no EPT-violation exits).
 *  - A walk's "references" are its entry reads: a cold 4/4 2D walk makes 24.
 *    A reference served by the PA-tagged PWC is still a reference (counted
 *    at[MM_AT_PWC]); a VA-tagged cache (Intel PSC) or a nested-TLB hit skips
 *    references, which are then not made at all (psc_skipped, ntlb_hits).
 *  - A walk that ends in a guest fault or hidden fault is resolved in software
 *    first (the fault is charged), then the completed walk is counted once.
 *  - Cycles are counted per event from the config, so totals are linear in
 *    each cost (mmusim.h invariant 4).
 *  - Fast paths that change no count: a repeat of the last page of a stream
 *    (no event or VM exit since) is an L1 hit in every mode (lp_page), found
 *    by a loop of its own (feed_repeats); a page known mapped skips the
 *    guest-table lookup (mc_key, invalidated by map_gen); the host entries
 *    of a data page's nested walk are remembered by the guest leaf entry
 *    that maps it (hmemo_slot); accesses and TLB cycles are derived once
 *    per batch. The differential test
 *    (tests/mmusim/refmodel.py) checks every count.
 *  - Host memory layout, for the host's caches, not the model: table
 *    metadata apart from entries, entries in chunks that never move, and the
 *    host table's sparse leaf level as a hash map (see host_map).
 *  - Accessed and dirty bits, as Linux on x86 leaves them: anonymous PTEs
 *    are installed old and dirty, so a native or nested walk that reaches a
 *    PTE not yet accessed sets its accessed bit (a locked write, c_ad; each
 *    mode keeps its own bit, E_AM); shadow paging sets it in software while
 *    filling the shadow entry (no extra exit). Host (NPT/EPT) entries are
 *    pre-backed with A/D set, as KVM's EPT-violation handler creates them,
 *    unless ept_ad=1: then a nested (or agile) walk's first use of a host
 *    leaf entry sets its flags with a locked write (c_ad, ad_writes); the
 *    dirty flag a data store sets in the data page's EPT entry is not
 *    modelled. Page aging ("E age", age_ptes) clears accessed bits as Linux
 *    does on x86: no TLB flush, unless age_flush=1.
 *  - fork is copy-on-write (fork_copy, cow_fault): shared frames are counted
 *    (frame_ref, frame_put); a store to a write-protected page is a guest
 *    fault before the access is translated, like first touches.
 *  - Known simplifications: no zero page (a first load maps a fresh frame), no write-flooding
 *    (unshadowing), no EPT violations, no prefetch of shadow entries on
 *    emulated PTE writes (the entry is zapped and refilled by a hidden fault),
 *    instruction fetches do not go through the caches (no L1I model), and
 *    an access that straddles two lines of one page touches only its first.
 *  - Data references (data_refs=1): after translation, each load, store or
 *    modify reads its line through the same L1D/L2/LLC as the walks, at the
 *    mode's physical address (native: gPA; shadow, nested: sPA). The TLB
 *    entries hold the page's physical address for this. A repeat of the last
 *    data line (no walk since) is an L1D hit in every mode (dline), counted
 *    like the repeats of the last page; an access to another line of the last
 *    data page is queued and the queue run through one mode's caches at a
 *    time (data_batch).
 *  - Several VMs ("E vm ID"): the running VM's processes, host-table root and
 *    shadow roots live in struct mm_sim as before; vm_swap exchanges them
 *    with the saved state of the next VM (struct vm_save), so the rest of
 *    the model is unchanged. TLB tags are vmtag << 12 | process tag (PCID
 *    or shadow ASID, < 4096 with vmtag; shadow_as_tags ASIDs use the whole
 *    16 bits with vmtag 0). Guest frames of every VM come from one
 *    allocator, so guest-physical addresses never collide: the nested TLB,
 *    the host leaf map and native mode need no VM tag.
 *  - Data caches are rings of 32-bit tags per set (struct dcache): a miss is
 *    O(1) after an SSE2 compare of the set, the common case of a streaming
 *    trace. The queued data lines (data_batch) go through one mode's caches
 *    one level at a time (dc_pass), in a version per instruction set (AVX2,
 *    AVX-512: 8 or 16 tags per compare) picked by the CPU.
 */
#include "mmusim.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

const char *const mm_mode_names[MM_MODE_N] = {"native", "shadow", "nested", "agile"};
const char *const mm_exit_names[MM_EXIT_N] = {"pt_write", "hidden_fault", "guest_pf", "cr3",
					      "invlpg"};
const char *const mm_flush_names[MM_FLUSH_N] = {"cr3", "vmexit", "tag_wrap", "full", "pt_write"};
const char *const mm_where_names[MM_WHERE_N] = {"pwc", "l1d", "l2", "llc", "mem"};

#define NONE   UINT64_MAX
#define NONE32 UINT32_MAX

/* ============================================= 1. set-associative LRU */

struct lru_ent {
	uint64_t key, val; /* an evicted entry */
};

/*
 * Two layouts behind one API. Set-associative arrays (few ways) keep keys,
 * values and stamps in separate set-major arrays, so a lookup scans only
 * keys; an empty way has key NONE and stamp 0, so it is always the victim.
 * Fully associative arrays with more than FA_SCAN ways (a 48-entry L1 TLB, a
 * 24-entry PWC) use a hash from key to slot plus a doubly linked recency list
 * (head = most recent), O(1) per operation; emptied slots go to the tail, so
 * they too are reused first. Both give exactly the same LRU order.
 */
#define FA_SCAN 8

struct lru {
	uint64_t *key; /* sets * ways; NULL: the structure is absent */
	uint64_t *val;
	uint64_t *stamp;
	uint32_t sets, ways, mask;
	uint64_t clock;
	/* fully associative, hashed */
	int fa;
	uint32_t *prev, *next; /* recency list over slots */
	uint32_t head, tail;
	uint32_t *hash; /* slot + 1, 0 = empty; linear probing */
	uint32_t hmask, hshift;
};

static inline uint32_t fa_h(const struct lru *l, uint64_t key)
{
	return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> l->hshift);
}

/* Slot holding key, or NONE32. */
static inline uint32_t fa_find(const struct lru *l, uint64_t key)
{
	for (uint32_t h = fa_h(l, key);; h = (h + 1) & l->hmask) {
		uint32_t v = l->hash[h];
		if (!v)
			return NONE32;
		if (l->key[v - 1] == key)
			return v - 1;
	}
}

static void fa_hash_add(struct lru *l, uint32_t slot)
{
	uint32_t h = fa_h(l, l->key[slot]);
	while (l->hash[h])
		h = (h + 1) & l->hmask;
	l->hash[h] = slot + 1;
}

/* Remove slot's key from the hash (backward-shift deletion keeps probes intact). */
static void fa_hash_del(struct lru *l, uint32_t slot)
{
	uint32_t h = fa_h(l, l->key[slot]);
	while (l->hash[h] != slot + 1)
		h = (h + 1) & l->hmask;
	for (uint32_t j = h;;) {
		l->hash[h] = 0;
		for (;;) {
			j = (j + 1) & l->hmask;
			if (!l->hash[j])
				return;
			uint32_t home = fa_h(l, l->key[l->hash[j] - 1]);
			/* move j back to h unless its home lies cyclically in (h, j] */
			if (h <= j ? (home <= h || home > j) : (home <= h && home > j))
				break;
		}
		l->hash[h] = l->hash[j];
		h = j;
	}
}

static inline void fa_unlink(struct lru *l, uint32_t i)
{
	if (l->prev[i] != NONE32)
		l->next[l->prev[i]] = l->next[i];
	else
		l->head = l->next[i];
	if (l->next[i] != NONE32)
		l->prev[l->next[i]] = l->prev[i];
	else
		l->tail = l->prev[i];
}

static inline void fa_front(struct lru *l, uint32_t i)
{
	if (l->head == i)
		return;
	fa_unlink(l, i);
	l->prev[i] = NONE32;
	l->next[i] = l->head;
	l->prev[l->head] = i;
	l->head = i;
}

static inline void fa_back(struct lru *l, uint32_t i)
{
	if (l->tail == i)
		return;
	fa_unlink(l, i);
	l->next[i] = NONE32;
	l->prev[i] = l->tail;
	l->next[l->tail] = i;
	l->tail = i;
}

static void lru_flush(struct lru *l)
{
	if (!l->key)
		return;
	size_t n = (size_t)l->sets * l->ways;
	for (size_t i = 0; i < n; i++) {
		l->key[i] = NONE;
		l->stamp[i] = 0;
	}
	if (l->fa) {
		for (uint32_t i = 0; i < l->ways; i++) {
			l->prev[i] = i ? i - 1 : NONE32;
			l->next[i] = i + 1 < l->ways ? i + 1 : NONE32;
		}
		l->head = 0;
		l->tail = l->ways - 1;
		memset(l->hash, 0, sizeof(*l->hash) * (l->hmask + 1));
	}
}

/* entries 0: absent; ways 0: fully associative. Sets must be a power of two. */
static int lru_init(struct lru *l, uint32_t entries, uint32_t ways)
{
	memset(l, 0, sizeof(*l));
	if (!entries)
		return 0;
	if (!ways || ways > entries)
		ways = entries;
	l->ways = ways;
	l->sets = entries / ways;
	l->mask = l->sets - 1;
	size_t n = (size_t)l->sets * l->ways;
	l->key = malloc(n * 8);
	l->val = malloc(n * 8);
	l->stamp = malloc(n * 8);
	if (!l->key || !l->val || !l->stamp)
		return -ENOMEM;
	if (l->sets == 1 && ways > FA_SCAN) {
		uint32_t hs = 4;
		while (hs < 4 * ways)
			hs *= 2;
		l->fa = 1;
		l->hmask = hs - 1;
		l->hshift = 64 - (uint32_t)__builtin_ctz(hs);
		l->prev = malloc(sizeof(*l->prev) * ways);
		l->next = malloc(sizeof(*l->next) * ways);
		l->hash = malloc(sizeof(*l->hash) * hs);
		if (!l->prev || !l->next || !l->hash)
			return -ENOMEM;
	}
	lru_flush(l);
	return 0;
}

static void lru_free(struct lru *l)
{
	free(l->key);
	free(l->val);
	free(l->stamp);
	free(l->prev);
	free(l->next);
	free(l->hash);
}

/* 1 and *val on a hit (the entry becomes most recent), 0 on a miss. */
static inline int lru_get(struct lru *l, uint64_t key, uint64_t hint, uint64_t *val)
{
	if (!l->key)
		return 0;
	if (l->fa) {
		uint32_t i = fa_find(l, key);
		if (i == NONE32)
			return 0;
		fa_front(l, i);
		if (val)
			*val = l->val[i];
		return 1;
	}
	size_t base = (size_t)(hint & l->mask) * l->ways;
	const uint64_t *k = l->key + base;
	for (uint32_t i = 0; i < l->ways; i++)
		if (k[i] == key) {
			l->stamp[base + i] = ++l->clock;
			if (val)
				*val = l->val[base + i];
			return 1;
		}
	return 0;
}

/* FA insert of a key known absent: reuse the least recent slot. */
static int fa_insert(struct lru *l, uint64_t key, uint64_t val, struct lru_ent *ev)
{
	uint32_t i = l->tail;
	int evicted = l->key[i] != NONE;
	if (evicted) {
		if (ev)
			*ev = (struct lru_ent){l->key[i], l->val[i]};
		fa_hash_del(l, i);
	}
	l->key[i] = key;
	l->val[i] = val;
	fa_hash_add(l, i);
	fa_front(l, i);
	return evicted;
}

/* Insert or refresh key; returns 1 (victim in *ev) when a valid entry was evicted. */
static int lru_put(struct lru *l, uint64_t key, uint64_t hint, uint64_t val, struct lru_ent *ev)
{
	if (!l->key)
		return 0;
	if (l->fa) {
		uint32_t i = fa_find(l, key);
		if (i == NONE32)
			return fa_insert(l, key, val, ev);
		l->val[i] = val;
		fa_front(l, i);
		return 0;
	}
	size_t base = (size_t)(hint & l->mask) * l->ways, v = 0;
	uint64_t *k = l->key + base, *st = l->stamp + base, min = UINT64_MAX;
	int evicted = 0;
	for (uint32_t i = 0; i < l->ways; i++) {
		if (k[i] == key) {
			v = i;
			goto set;
		}
		if (st[i] < min) {
			min = st[i];
			v = i;
		}
	}
	evicted = k[v] != NONE;
	if (evicted && ev)
		*ev = (struct lru_ent){k[v], l->val[base + v]};
	k[v] = key;
set:
	l->val[base + v] = val;
	st[v] = ++l->clock;
	return evicted;
}

/*
 * Look key up and, on a miss, insert it (a cache access): one pass over the
 * set instead of lru_get + lru_put. 1 on a hit. The set must exist.
 */
static inline int lru_touch(struct lru *l, uint64_t key, uint64_t hint)
{
	if (l->fa) {
		uint32_t i = fa_find(l, key);
		if (i != NONE32) {
			fa_front(l, i);
			return 1;
		}
		fa_insert(l, key, 0, NULL);
		return 0;
	}
	size_t base = (size_t)(hint & l->mask) * l->ways, v = base;
	uint64_t *k = l->key + base, *st = l->stamp + base, min = UINT64_MAX;
	for (uint32_t i = 0; i < l->ways; i++) {
		if (k[i] == key) {
			st[i] = ++l->clock;
			return 1;
		}
		if (st[i] < min) {
			min = st[i];
			v = i;
		}
	}
	k[v] = key;
	st[v] = ++l->clock;
	return 0;
}

static void lru_del(struct lru *l, uint64_t key, uint64_t hint)
{
	if (!l->key)
		return;
	if (l->fa) {
		uint32_t i = fa_find(l, key);
		if (i != NONE32) {
			fa_hash_del(l, i);
			l->key[i] = NONE;
			fa_back(l, i);
		}
		return;
	}
	size_t base = (size_t)(hint & l->mask) * l->ways;
	for (size_t i = base; i < base + l->ways; i++)
		if (l->key[i] == key) {
			l->key[i] = NONE;
			l->stamp[i] = 0;
		}
}

/* Delete every entry whose tag (a key's top 16 bits) shifted right by shift
 * is tag: shift 0, one address space; 12, every address space of a VM. */
static void lru_del_tags(struct lru *l, uint64_t tag, unsigned shift)
{
	if (!l->key)
		return;
	size_t n = (size_t)l->sets * l->ways;
	for (size_t i = 0; i < n; i++) {
		if (l->key[i] == NONE || l->key[i] >> 48 >> shift != tag)
			continue;
		if (l->fa) {
			fa_hash_del(l, (uint32_t)i);
			l->key[i] = NONE;
			fa_back(l, (uint32_t)i);
		} else {
			l->key[i] = NONE;
			l->stamp[i] = 0;
		}
	}
}

/* Delete every entry whose key's top 16 bits (the tag) are tag. */
static void lru_del_tag(struct lru *l, uint64_t tag)
{
	lru_del_tags(l, tag, 0);
}

/*
 * Data caches (L1D, L2, LLC): hit or miss is all a cache access needs. Each
 * set is a ring of lines in recency order (0 = empty) that starts at the
 * set's head: the most recent line is at the head, the least recent just
 * before it. A miss, the common case on a streaming trace, moves the head
 * back one slot and writes the new line over the least recent: O(1) with no
 * stamps to compare and no array to shift. A hit at recency position j
 * shifts the j more recent lines back one place. Lookups compare every way
 * of the set in blocks of DC_BLOCK without early exit inside a block, which
 * the compiler turns into vector compares; a set's storage is padded to a
 * whole block with empty slots that never match. The same LRU as struct
 * lru: the walks' and the data's cache accesses are the hot path.
 */
#define DC_BLOCK 8

struct dcache {
	uint32_t *tag;	   /* sets * stride: line >> set bits, + 1 (0 = empty) */
	uint16_t *head;	   /* per set: slot of the most recent line */
	uint32_t ways;	   /* ring size */
	uint32_t stride;   /* slots per set: ways, rounded up to DC_BLOCK when > DC_BLOCK */
	uint64_t mask;	   /* sets - 1 */
	unsigned set_bits; /* log2(sets) */
};

/* lines 0: absent. Sets must be a power of two, and few enough lines per set
 * index that a tag fits 32 bits (mm_config_check). */
static int dc_init(struct dcache *d, uint32_t lines, uint32_t ways)
{
	memset(d, 0, sizeof(*d));
	if (!lines)
		return 0;
	if (!ways || ways > lines)
		ways = lines;
	d->ways = ways;
	d->stride = ways <= DC_BLOCK ? ways : (ways + DC_BLOCK - 1) / DC_BLOCK * DC_BLOCK;
	d->mask = lines / ways - 1;
	d->set_bits = (unsigned)__builtin_ctzll(d->mask + 1);
	d->tag = calloc((size_t)(d->mask + 1) * d->stride, sizeof(*d->tag));
	d->head = calloc(d->mask + 1, sizeof(*d->head));
	return d->tag && d->head ? 0 : -ENOMEM;
}

static void dc_free(struct dcache *d)
{
	free(d->tag);
	free(d->head);
}

/* Slot of v in the set k (stride slots), or stride when absent. Blocks of
 * DC_BLOCK tags are compared at once (SSE2, part of x86-64; plain C
 * elsewhere, which compilers vectorize less well). */
static inline uint32_t dc_find(const uint32_t *k, uint32_t stride, uint32_t v)
{
	if (stride < DC_BLOCK) {
		uint32_t i = 0;
		while (i < stride && k[i] != v)
			i++;
		return i;
	}
#ifdef __SSE2__
	__m128i vv = _mm_set1_epi32((int)v);
	for (uint32_t b = 0; b < stride; b += DC_BLOCK) {
		__m128i x0 = _mm_loadu_si128((const __m128i *)(const void *)(k + b));
		__m128i x1 = _mm_loadu_si128((const __m128i *)(const void *)(k + b + 4));
		unsigned hit = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi32(x0, vv)) |
			       (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi32(x1, vv)) << 16;
		if (hit)
			return b + (uint32_t)__builtin_ctz(hit) / 4;
	}
	return stride;
#else
	uint32_t i = 0;
	while (i < stride && k[i] != v)
		i++;
	return i;
#endif
}

/* Access line: 1 on a hit; either way it becomes the set's most recent. */
static inline int dc_touch(struct dcache *d, uint64_t line)
{
	size_t set = (size_t)(line & d->mask);
	uint32_t *k = d->tag + set * d->stride, v = (uint32_t)(line >> d->set_bits) + 1;
	uint32_t h = d->head[set], w = d->ways;
	if (k[h] == v)
		return 1;
	uint32_t i = dc_find(k, d->stride, v);
	if (i >= w) { /* miss: the least recent slot, just before the head, becomes the head */
		h = h ? h - 1 : w - 1;
		k[h] = v;
		d->head[set] = (uint16_t)h;
		return 0;
	}
	/* hit at slot i: the lines from the head up to i move one place back */
	while (i != h) {
		uint32_t p = i ? i - 1 : w - 1;
		k[i] = k[p];
		i = p;
	}
	k[h] = v;
	return 1;
}

/* The reference form of dc_touch (mm_sim_reference): the set as a plain
 * array in recency order, most recent first, shifted on every access. It
 * shares nothing with the ring but the storage, so the fast path's counts
 * can be checked against it. */
static int dc_touch_ref(struct dcache *d, uint64_t line)
{
	size_t set = (size_t)(line & d->mask);
	uint32_t *k = d->tag + set * d->stride, v = (uint32_t)(line >> d->set_bits) + 1;
	uint32_t i = 0;
	while (i < d->ways - 1 && k[i] != v)
		i++; /* not found: i is the least recent slot, evicted */
	int hit = k[i] == v;
	memmove(k + 1, k, i * sizeof(*k));
	k[0] = v;
	return hit;
}

/*
 * Batches of lines through one cache (data_batch): dc_pass runs lines
 * ln[0..n) through d in order, as dc_touch one by one would, and keeps the
 * lines that missed, in order, at the front of ln (their count returned):
 * the accesses the next level sees. One version per instruction set, the
 * fastest this CPU runs picked once (mm_sim_new), as the kernel's
 * lib/raid6 picks its syndrome routine at boot; a version built with a
 * target attribute runs only after __builtin_cpu_supports said yes. They
 * differ only in how a set's tags are compared: "c" one at a time, "sse2"
 * 4 per compare, "avx2" 8, "avx512" 16.
 */
static inline uint32_t dc_find_c(const uint32_t *k, uint32_t stride, uint32_t v)
{
	uint32_t i = 0;
	while (i < stride && k[i] != v)
		i++;
	return i;
}

/* The loop of a dc_pass version whose set search is FIND, for sets of
 * STRIDE slots. Unlike dc_touch it compares the whole set at once, without
 * looking at the head first: a batch is mostly lines new to the cache (a
 * sequential sweep). GROUP8(ln + j, line, set, mask, k, slots, v), 0 in
 * versions without it, says that the 8 lines from ln[j] are line, line + 1,
 * ... line + 7 in the sets set .. set + 7 (one tag v) and that none of them
 * is in its set: then each set's least recent slot takes v, as dc_touch
 * line by line would do, the sets being distinct. The cache's fields are
 * read into locals once (the stores to the sets could alias them). */
#define DC_PASS_LOOP(FIND, STRIDE, GROUP8)                                                         \
	do {                                                                                       \
		size_t nm = 0;                                                                     \
		const uint32_t w = d->ways, stride = (STRIDE);                                     \
		const uint64_t mask = d->mask;                                                     \
		const unsigned sb = d->set_bits;                                                   \
		uint32_t *const tag = d->tag;                                                      \
		uint16_t *const head = d->head;                                                    \
		for (size_t j = 0; j < n; j++) {                                                   \
			const uint64_t line = ln[j];                                               \
			const size_t set = (size_t)(line & mask);                                  \
			uint32_t *k = tag + set * stride, v = (uint32_t)(line >> sb) + 1;          \
			if (j + 8 <= n && GROUP8(ln + j, line, set, mask, k, 8 * stride, v)) {     \
				for (uint32_t g = 0; g < 8; g++, k += stride) {                    \
					uint32_t h = head[set + g];                                \
					h = h ? h - 1 : w - 1;                                     \
					k[h] = v;                                                  \
					head[set + g] = (uint16_t)h;                               \
					ln[nm++] = line + g;                                       \
				}                                                                  \
				j += 7;                                                            \
				continue;                                                          \
			}                                                                          \
			uint32_t i = FIND(k, stride, v), h = head[set];                            \
			if (i >= w) { /* as dc_touch: the least recent slot becomes the head */    \
				h = h ? h - 1 : w - 1;                                             \
				k[h] = v;                                                          \
				head[set] = (uint16_t)h;                                           \
				ln[nm++] = line;                                                   \
				continue;                                                          \
			}                                                                          \
			while (i != h) {                                                           \
				uint32_t p = i ? i - 1 : w - 1;                                    \
				k[i] = k[p];                                                       \
				i = p;                                                             \
			}                                                                          \
			k[h] = v;                                                                  \
		}                                                                                  \
		return nm;                                                                         \
	} while (0)

/* No 8-line groups: every line looked up alone. */
#define DC_NO_GROUP(ln, line, set, mask, k, slots, v) 0

/* The body of a dc_pass version: the loop with the set size as a constant
 * for the presets' caches (2, 8, 12 or 16, 32 ways), else as a variable. */
#define DC_PASS_BODY(FIND, GROUP8)                                                                 \
	switch (d->stride) {                                                                       \
	case 2:                                                                                    \
		DC_PASS_LOOP(FIND, 2, GROUP8);                                                     \
	case 8:                                                                                    \
		DC_PASS_LOOP(FIND, 8, GROUP8);                                                     \
	case 16:                                                                                   \
		DC_PASS_LOOP(FIND, 16, GROUP8);                                                    \
	case 32:                                                                                   \
		DC_PASS_LOOP(FIND, 32, GROUP8);                                                    \
	default:                                                                                   \
		DC_PASS_LOOP(FIND, d->stride, GROUP8);                                             \
	}

/* The plain C version: runs anywhere, and checks the others (tests). */
static size_t dc_pass_c(struct dcache *d, uint64_t *ln, size_t n)
{
	DC_PASS_BODY(dc_find_c, DC_NO_GROUP);
}

#ifdef __SSE2__
/* dc_find's SSE2 compare. */
static size_t dc_pass_sse2(struct dcache *d, uint64_t *ln, size_t n)
{
	DC_PASS_BODY(dc_find, DC_NO_GROUP);
}
#endif

#if defined(__x86_64__) && defined(__GNUC__)
#define DC_X86	   1
#define TGT_AVX2   __attribute__((target("avx2")))
#define TGT_AVX512 __attribute__((target("avx2,avx512f")))

/* 8 tags per compare; sets of fewer than 8 ways one by one, sets of up to
 * 64 ways tested once, after every compare. */
TGT_AVX2 static inline uint32_t dc_find_avx2(const uint32_t *k, uint32_t stride, uint32_t v)
{
	if (stride < DC_BLOCK)
		return dc_find_c(k, stride, v);
	__m256i vv = _mm256_set1_epi32((int)v);
	if (stride <= 64) { /* every block, then one test */
		uint64_t hit = 0;
		for (uint32_t b = 0; b < stride; b += 8) {
			__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(k + b));
			hit |= (uint64_t)(unsigned)_mm256_movemask_ps(
				   _mm256_castsi256_ps(_mm256_cmpeq_epi32(x, vv)))
			       << b;
		}
		return hit ? (uint32_t)__builtin_ctzll(hit) : stride;
	}
	for (uint32_t b = 0; b < stride; b += 8) {
		__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(k + b));
		unsigned hit =
		    (unsigned)_mm256_movemask_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(x, vv)));
		if (hit)
			return b + (uint32_t)__builtin_ctz(hit);
	}
	return stride;
}

TGT_AVX2 static size_t dc_pass_avx2(struct dcache *d, uint64_t *ln, size_t n)
{
	DC_PASS_BODY(dc_find_avx2, DC_NO_GROUP);
}

/* 16 tags per compare, a last block of 8 by AVX2; sets of up to 64 ways
 * tested once, after every compare. */
TGT_AVX512 static inline uint32_t dc_find_avx512(const uint32_t *k, uint32_t stride, uint32_t v)
{
	if (stride < DC_BLOCK)
		return dc_find_c(k, stride, v);
	__m512i vv = _mm512_set1_epi32((int)v);
	uint64_t hit = 0; /* slots base.. */
	uint32_t b = 0, base = 0;
	if (stride <= 64) { /* every block, then one test */
		for (; b + 16 <= stride; b += 16)
			hit |= (uint64_t)_mm512_cmpeq_epi32_mask(
				   _mm512_loadu_si512((const void *)(k + b)), vv)
			       << b;
	} else {
		for (; b + 16 <= stride; b += 16) {
			unsigned m =
			    _mm512_cmpeq_epi32_mask(_mm512_loadu_si512((const void *)(k + b)), vv);
			if (m)
				return b + (uint32_t)__builtin_ctz(m);
		}
		base = b;
	}
	if (b < stride) { /* a last block of 8 (strides above DC_BLOCK are multiples of 8) */
		__m256i x = _mm256_loadu_si256((const __m256i *)(const void *)(k + b));
		hit |= (uint64_t)(unsigned)_mm256_movemask_ps(
			   _mm256_castsi256_ps(_mm256_cmpeq_epi32(x, _mm512_castsi512_si256(vv))))
		       << (b - base);
	}
	return hit ? base + (uint32_t)__builtin_ctzll(hit) : stride;
}

/*
 * DC_PASS_LOOP's GROUP8 for AVX-512: a sequential sweep (a page's lines,
 * data_batch) meets each cache as runs of consecutive lines that are mostly
 * absent. Eight consecutive lines within one period of the set index have
 * one tag and fill sets set .. set + 7, whose 8 * stride slots are
 * contiguous: one pass of 16-tag compares over them (padding slots are 0,
 * never a tag) tells that none is present, instead of 8 lookups. A run
 * crossing the end of the set index, or with a line present, is looked up
 * line by line.
 */
TGT_AVX512 static inline int dc_absent8_avx512(const uint64_t *ln, uint64_t line, size_t set,
					       uint64_t mask, const uint32_t *k, uint32_t slots,
					       uint32_t v)
{
	if (set + 8 > mask + 1 || ln[7] != line + 7 ||
	    _mm512_cmpneq_epu64_mask(_mm512_loadu_si512((const void *)ln),
				     _mm512_add_epi64(_mm512_set1_epi64((long long)line),
						      _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7))))
		return 0;
	const __m512i vv = _mm512_set1_epi32((int)v);
	__mmask16 any = 0;
	uint32_t b = 0;
	for (; b + 16 <= slots; b += 16)
		any |= _mm512_cmpeq_epi32_mask(_mm512_loadu_si512((const void *)(k + b)), vv);
	if (b < slots) { /* odd strides (1, 3, 5, 7 ways): a last 8 */
		const __mmask16 tail = (__mmask16)((1u << (slots - b)) - 1);
		any |=
		    _mm512_mask_cmpeq_epi32_mask(tail, _mm512_maskz_loadu_epi32(tail, k + b), vv);
	}
	return !any;
}

TGT_AVX512 static size_t dc_pass_avx512(struct dcache *d, uint64_t *ln, size_t n)
{
	DC_PASS_BODY(dc_find_avx512, dc_absent8_avx512);
}

static int dc_has_avx2(void)
{
	return __builtin_cpu_supports("avx2");
}

static int dc_has_avx512(void)
{
	return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avx512f");
}
#endif

static int dc_has_any(void)
{
	return 1;
}

typedef size_t (*dc_pass_fn)(struct dcache *d, uint64_t *ln, size_t n);
struct run_scan; /* feed_repeats' run scan (section 7) */

/* The versions, fastest first (mm_sim_dc_impl names them). */
static const struct dc_impl {
	const char *name;
	int (*valid)(void);
	dc_pass_fn pass;
} dc_impls[] = {
#ifdef DC_X86
    {"avx512", dc_has_avx512, dc_pass_avx512},
    {"avx2", dc_has_avx2, dc_pass_avx2},
#endif
#ifdef __SSE2__
    {"sse2", dc_has_any, dc_pass_sse2},
#endif
    {"c", dc_has_any, dc_pass_c},
};

/* ============================================= 2. frame allocators */

struct palloc {
	uint64_t nframes; /* 4 KiB frames */
	uint64_t *bits;	  /* 1 = used */
	uint16_t *used2m; /* used frames per 2 MiB block */
	uint32_t *used1g; /* used frames per 1 GiB block */
	uint64_t rng;
	uint64_t next; /* the next random draw, drawn one ahead (pa_draw) */
	uint64_t used;
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static int pa_init(struct palloc *a, uint64_t bytes, uint64_t seed)
{
	memset(a, 0, sizeof(*a));
	a->nframes = bytes >> 12;
	a->bits = calloc((a->nframes + 63) / 64, 8);
	a->used2m = calloc((a->nframes >> 9) + 1, 2);
	a->used1g = calloc((a->nframes >> 18) + 1, 4);
	a->rng = seed * 0x9E3779B97F4A7C15ull + 0x1234567ull;
	if (!a->rng)
		a->rng = 1;
	a->next = rnd(&a->rng);
	return a->bits && a->used2m && a->used1g ? 0 : -ENOMEM;
}

/* The allocator's next random draw. The draws are the generator's in
 * order, one taken ahead so that pa_alloc knows where the next 4 KiB
 * allocation will look. */
static uint64_t pa_draw(struct palloc *a)
{
	uint64_t r = a->next;
	a->next = rnd(&a->rng);
	return r;
}

static void pa_destroy(struct palloc *a)
{
	free(a->bits);
	free(a->used2m);
	free(a->used1g);
}

static void pa_mark(struct palloc *a, uint64_t f, uint64_t n, int used)
{
	for (uint64_t i = f; i < f + n; i++) {
		if (used)
			a->bits[i / 64] |= 1ull << (i % 64);
		else
			a->bits[i / 64] &= ~(1ull << (i % 64));
	}
	a->used2m[f >> 9] = (uint16_t)(a->used2m[f >> 9] + (used ? n : -n) * (n <= 512));
	if (n > 512)
		for (uint64_t b = f >> 9; b < (f + n) >> 9; b++)
			a->used2m[b] = used ? 512 : 0;
	a->used1g[f >> 18] += (uint32_t)(used ? n : -n);
	a->used += used ? n : -n;
}

/*
 * A random free region of size bytes (4K, 2M or 1G), aligned; NONE when full.
 * A 4 KiB allocation reads a bitmap word and a 2 MiB block's count at a
 * random place, a miss in the host's caches, and first touches are mostly
 * that: so after one, the words the next will read (if it is 4 KiB: the
 * draw is known, pa_draw) are prefetched, and are in cache by then.
 */
static uint64_t pa_alloc(struct palloc *a, uint64_t size)
{
	uint64_t n = size >> 12;
	if (n == 1) {
		uint64_t words = (a->nframes + 63) / 64, w0 = pa_draw(a) % words;
		for (uint64_t i = 0; i < words; i++) {
			uint64_t w = (w0 + i) % words;
			if (a->bits[w] == ~0ull)
				continue;
			uint64_t f = w * 64 + (uint64_t)__builtin_ctzll(~a->bits[w]);
			if (f >= a->nframes)
				continue;
			pa_mark(a, f, 1, 1);
			uint64_t nw = a->next % words; /* frames nw * 64.. are in block nw / 8 */
			__builtin_prefetch(&a->bits[nw], 1);
			__builtin_prefetch(&a->used2m[nw / 8], 1);
			return f << 12;
		}
		return NONE;
	}
	uint64_t blocks = a->nframes / n;
	if (!blocks)
		return NONE;
	uint64_t b0 = pa_draw(a) % blocks;
	for (uint64_t i = 0; i < blocks; i++) {
		uint64_t b = (b0 + i) % blocks;
		if (n == 512 ? a->used2m[b] : a->used1g[b])
			continue;
		pa_mark(a, b * n, n, 1);
		return (b * n) << 12;
	}
	return NONE;
}

static void pa_free(struct palloc *a, uint64_t pa, uint64_t size)
{
	pa_mark(a, pa >> 12, size >> 12, 0);
}

/* ============================================= 3. radix page tables */

#define E_P	   1ull /* present */
#define E_LEAF	   2ull /* maps a page (4K at level 1, 2M at 2, 1G at 3) */
#define E_CHILD(x) ((uint32_t)((x) >> 12))
#define E_PA(x)	   ((x) & ~0xfffull)
#define E_RO	   4ull /* guest leaf: write-protected (copy-on-write after fork) */
#define E_SW	   8ull /* agile shadow entry: switch to nested; E_CHILD = guest table */
/* Guest leaf: the accessed bit as each mode's walker left it (the modes share
 * one guest table but each runs its own hardware), bits 5-8. */
#define E_AM(mode) (1ull << (5 + (mode)))
#define E_ABITS	   (15ull << 5)

/*
 * A pool of tables. A table's small fields (pt_meta) sit in one compact
 * array, apart from its 512 entries: a walk reads the table's address and one
 * entry, and a cold simulated table then costs the host one cache miss, not
 * two. Entries live in chunks of PT_CHUNK tables (2 MiB) that never move, so
 * an entry pointer survives pt_new and a growing pool is never copied (a
 * realloc'd array of 8000 host tables was copied at every doubling).
 */
struct pt_meta {
	uint64_t pa;	/* physical address of this table page (gPA or sPA) */
	uint32_t owner; /* guest tables: process index */
	uint8_t level;	/* 1 = page table ... 5 = PML5 */
	uint8_t wp;	/* guest table shadowed, so write-protected: bit 1 << mode
			 * (shadow, agile) */
	uint8_t unsync; /* guest leaf table left writable and out of sync */
	uint8_t ag;	/* agile: AG_NESTED, AG_WRITTEN, trapped writes this epoch */
};

#define AG_NESTED  0x80u /* agile: this table (and all below it) is walked nested */
#define AG_WRITTEN 0x40u /* agile: a nested table written during this epoch */
#define AG_COUNT   0x1fu /* agile: trapped writes to this shadowed table this epoch */

#define PT_CHUNK 512u /* tables per chunk of entries */

struct pt_pool {
	struct pt_meta *m;	/* per table */
	uint64_t (**ch)[512];	/* chunks of PT_CHUNK tables' entries */
	uint32_t cnt, cap, nch; /* tables used, meta capacity, chunks */
	uint32_t *fl;		/* free list */
	uint32_t nfl, flcap;
};

/* The 512 entries of table i. */
static inline uint64_t *pt_e(const struct pt_pool *p, uint32_t i)
{
	return p->ch[i / PT_CHUNK][i % PT_CHUNK];
}

static inline unsigned pt_idx(uint64_t va, unsigned level)
{
	return (unsigned)(va >> (12 + 9 * (level - 1))) & 511;
}

static inline unsigned shift_of_level(unsigned level)
{
	return 12 + 9 * (level - 1);
}

static unsigned level_of(uint64_t size)
{
	return size == 4096 ? 1 : size == (2u << 20) ? 2 : 3;
}

/* Room for one more table record in a growing array of used entries
 * (doubling, from 64): 0, or -1 without memory (the array is unchanged). */
static int meta_room(struct pt_meta **arr, uint32_t *cap, uint32_t used)
{
	if (used < *cap)
		return 0;
	uint32_t ncap = *cap ? *cap * 2 : 64;
	struct pt_meta *m = realloc(*arr, sizeof(*m) * ncap);
	if (!m)
		return -1;
	*arr = m;
	*cap = ncap;
	return 0;
}

/* A zeroed table at physical address pa; its index, or NONE32 without memory. */
static uint32_t pt_new(struct pt_pool *p, uint64_t pa, unsigned level, uint32_t owner)
{
	uint32_t i;
	if (p->nfl) {
		i = p->fl[--p->nfl];
	} else {
		if (meta_room(&p->m, &p->cap, p->cnt) < 0)
			return NONE32;
		if (p->cnt == p->nch * PT_CHUNK) {
			uint64_t(**ch)[512] = realloc(p->ch, sizeof(*ch) * (p->nch + 1));
			if (!ch)
				return NONE32;
			p->ch = ch;
			if (!(ch[p->nch] = malloc(sizeof(**ch) * PT_CHUNK)))
				return NONE32;
			p->nch++;
		}
		i = p->cnt++;
	}
	memset(pt_e(p, i), 0, sizeof(*p->ch[0]));
	p->m[i] = (struct pt_meta){.pa = pa, .owner = owner, .level = (uint8_t)level};
	return i;
}

static int pt_del(struct pt_pool *p, uint32_t i)
{
	if (p->nfl == p->flcap) {
		uint32_t cap = p->flcap ? p->flcap * 2 : 64;
		uint32_t *f = realloc(p->fl, sizeof(*f) * cap);
		if (!f)
			return -ENOMEM;
		p->fl = f;
		p->flcap = cap;
	}
	p->fl[p->nfl++] = i;
	return 0;
}

static void pt_destroy(struct pt_pool *p)
{
	for (uint32_t c = 0; c < p->nch; c++)
		free(p->ch[c]);
	free(p->ch);
	free(p->m);
	free(p->fl);
}

/* Leaf entry for va (0 if unmapped); path[level] = node read at that level. */
static uint64_t pt_find(const struct pt_pool *p, uint32_t root, unsigned levels, uint64_t va,
			uint32_t *path, unsigned *leaf_level)
{
	uint32_t node = root;
	for (unsigned l = levels; l >= 1; l--) {
		if (path)
			path[l] = node;
		uint64_t x = pt_e(p, node)[pt_idx(va, l)];
		if (!(x & E_P))
			return 0;
		if (x & E_LEAF) {
			if (leaf_level)
				*leaf_level = l;
			return x;
		}
		node = E_CHILD(x);
	}
	return 0;
}

/* ============================================= 4. guest-OS model */

struct proc {
	uint32_t pid;
	uint32_t root; /* guest table root node */
	uint8_t live;
	uint32_t tag[MM_MODE_N]; /* TLB tag per mode */
	uint64_t gen[MM_MODE_N]; /* tag generation it belongs to */
};

/* One guest page-table entry write. */
struct pw {
	uint64_t va;   /* an address the entry maps */
	uint32_t node; /* guest table written */
	uint8_t level;
	uint8_t was_present; /* a present entry changed (needs invalidation) */
};

#define MAX_PW 8

/* ============================================= 5. the MMU */

struct mmu {
	enum mm_mode mode;
	int on;
	struct lru l1d, l1i, l2;    /* TLBs (one page size per mode) */
	struct lru pwc;		    /* PA-tagged (pa, 2d) */
	struct lru psc[6], npsc[6]; /* VA-tagged, per level: guest/native/shadow and nested */
	struct lru ntlb;
	struct dcache dc1, dc2, dc3;
	unsigned tshift;      /* TLB page shift (12, 21, 30) */
	uint64_t last_key[2]; /* last L1 hit key, [0] data [1] ifetch: an MRU shortcut */
	uint64_t last_val[2]; /* its physical page (TLB entries hold the PA of their page) */
	uint64_t walk_pa;     /* physical address the last walk translated to */
	uint64_t lp_pa;	      /* physical 4 KiB page of the last data access */
	uint32_t tag;	      /* tag of the running address space: vmtag << 12 | process tag */
	uint32_t vmtag;	      /* the running VM's VPID/ASID (its id), 0 without VM tags */
	int vm_tagged;	      /* VMs other than VM 0 have run and are told apart by vmtag */
	uint32_t ntags;	      /* tags in the pool; <= 1: untagged */
	uint32_t tag_next;
	uint64_t gen;
	struct mm_stats st;
	/* shadow */
	struct pt_pool sp; /* shadow tables (sPA) */
	struct lru sroots; /* guest root gPA -> (proc << 32 | shadow root) */
	uint32_t sroot;	   /* current shadow root */
	uint32_t *unsync;  /* unsync guest leaf tables */
	uint32_t nunsync, unsync_cap;
	uint64_t *pend; /* vas whose guest PTE changed while unsync: zap on sync */
	uint32_t *pend_proc;
	uint32_t npend, pend_cap;
	/* walk log */
	struct mm_step steps[64];
	unsigned nsteps;
	unsigned row; /* current 2D grid row */
	int explained;
};

/* Modes that keep shadow tables (shadow paging, agile paging's upper levels). */
static inline int shadowed(int mode)
{
	return mode == MM_SHADOW || mode == MM_AGILE;
}

/*
 * What one VM owns while another runs (several VMs, division 7): its
 * processes, its host-table root and, under shadow paging, its shadow roots
 * and out-of-sync tables (KVM keeps shadow pages per VM). The table pools,
 * the allocators, the host leaf map and all the hardware (TLBs, PWC, nested
 * TLB, caches) are shared. While a VM runs these live in struct mm_sim and
 * its shadow mmu; vm_swap exchanges them with the saved copy.
 */
struct vm_save {
	int used;
	struct proc *procs;
	uint32_t nprocs, pcap, *phash, hcap, cur;
	int booted;
	uint32_t hroot;
	struct lru sroots;
	uint32_t sroot, *unsync, nunsync, unsync_cap;
	struct lru ag_sroots; /* agile paging's shadow roots (its upper levels) */
	uint32_t ag_sroot;
	uint64_t *pend;
	uint32_t *pend_proc, npend, pend_cap;
	struct mm_stats st[MM_MODE_N]; /* its statistics up to its last switch-out */
};

/* A host leaf entry (host table, division 5). */
struct hl_ent {
	uint64_t key; /* host page number + 1 (0 = empty) */
	uint64_t val; /* its leaf entry (sPA | E_P | E_LEAF, 0 = not yet backed) */
};

struct mm_sim {
	struct mm_config c;
	unsigned modes;
	/* guest */
	struct pt_pool gpt;
	struct palloc gmem;
	struct proc *procs;
	uint32_t nprocs, pcap;
	uint32_t *phash; /* pid -> proc index + 1, open addressing */
	uint32_t hcap;
	uint32_t cur; /* current process index, NONE32 before the first */
	int booted;   /* the first CR3 load (at boot, not in the trace) is done */
	/* pages known mapped: skips the guest-table lookup on most accesses */
	uint64_t mc_key[4096]; /* proc << 45 | vpn */
	uint64_t mc_gen[4096]; /* valid while equal to map_gen (| MC_RO: read-only) */
	uint64_t map_gen;      /* bumped whenever a mapping disappears or changes its write
				* permission (either way) */
	/* frames mapped by more than one PTE (fork): frame number + 1 -> extra
	 * mappings, open addressing; a frame absent here has one mapping */
	struct hl_ent *shr;
	uint64_t shr_mask, shr_n;
	/* the last page of each stream ([0] data, [1] ifetch): while tlb_gen is
	 * unchanged it is every mode's L1 MRU entry, so a repeat is an L1 hit */
	uint64_t lp_page[2], lp_gen[2];
	uint64_t tlb_gen;    /* bumped by every event and VM exit */
	uint64_t fast_hits;  /* repeats of lp_page not yet added to l1_hits */
	uint64_t dline;	     /* the last data access's virtual line while it is every
			      * mode's L1D MRU line (no page-table reference since), or NONE */
	uint64_t fast_dhits; /* repeats of dline not yet added (L1D hits) */
	unsigned gleaf;	     /* guest leaf level */
	/* host: tables above the leaf level in hpt; the leaf level apart (host_map) */
	struct pt_pool hpt;
	uint32_t hroot;
	struct pt_meta *hlt; /* host leaf-level tables (their entries: hl) */
	uint32_t nhlt, hltcap;
	struct hl_ent *hl; /* host leaf entries by page, open addressing */
	uint64_t hl_mask, hl_n;
	/* the host walk of each guest leaf entry's data page, by guest table
	 * (hmemo_slot): HM_WORDS words for each of its 512 entries, or NULL */
	uint64_t **hmemo;
	uint32_t hmemo_cap;
	struct palloc hmem;
	unsigned hleaf;
	uint64_t va_limit;
	struct mmu m[MM_MODE_N];
	uint64_t recs;	  /* records fed before the current batch */
	uint64_t ag_next; /* agile: record index that ends the epoch (0: no epochs) */
	/* several VMs: the saved state of each, the running one's id */
	struct vm_save vms[MM_MAX_VMS];
	uint32_t vm;
	unsigned vm_mask;		  /* VMs that ever ran */
	struct mm_stats vsnap[MM_MODE_N]; /* stats when the running VM was switched in */
	/* logging */
	mm_walk_fn log_fn;
	void *log_ctx;
	int log_all;
	uint64_t log_page;
	int ref;	    /* mm_sim_reference: every access the whole way, no shortcut */
	dc_pass_fn dc_pass; /* data_batch's version of dc_pass (dc_impls) */
	const struct mm_rec *(*run_scan)(const struct mm_rec *, const struct mm_rec *,
					 const struct run_scan *, uint64_t *, uint16_t *,
					 size_t *); /* feed_repeats' (run_impls) */
	struct ok_err *e;
	int err;
};

static int sim_oom(struct mm_sim *s, const char *what)
{
	if (!s->err)
		s->err = ok_err_at(
		    s->e, -ENOMEM, NULL, OK_ERR_NOPOS,
		    "%s exhausted; expected the working set to fit (raise guest_mem/host_mem)",
		    what);
	return s->err;
}

/* -------- host table: gPA -> sPA, filled on demand at no cost
 *
 * Guest frames are spread over all of guest memory, so the host table's leaf
 * level is thousands of 4 KiB tables holding a few entries each: 32 MiB for a
 * 256 MiB working set, and a cache miss on nearly every nested walk of a data
 * page. The leaf level is therefore kept apart: each leaf table keeps its
 * place (index, physical address, allocated in the same order, so every
 * reference is where it was), but its entries live in one hash map from
 * host page number to entry, which holds only the present ones.
 */

static inline uint64_t hl_hash(const struct mm_sim *s, uint64_t hpn)
{
	return (hpn * 0x9E3779B97F4A7C15ull >> 20) & s->hl_mask;
}

/* The leaf entry of host page hpn (0 if not backed). */
static inline uint64_t hl_get(const struct mm_sim *s, uint64_t hpn)
{
	for (uint64_t h = hl_hash(s, hpn);; h = (h + 1) & s->hl_mask) {
		if (s->hl[h].key == hpn + 1)
			return s->hl[h].val;
		if (!s->hl[h].key)
			return 0;
	}
}

/* The entry slot of host page hpn, added (0) if absent; NULL without memory. */
static uint64_t *hl_slot(struct mm_sim *s, uint64_t hpn)
{
	if (4 * (s->hl_n + 1) > 3 * (s->hl_mask + 1)) { /* at most 3/4 full */
		uint64_t cap = 2 * (s->hl_mask + 1);
		struct hl_ent *old = s->hl, *n = calloc(cap, sizeof(*n));
		if (!n)
			return NULL;
		s->hl = n;
		s->hl_mask = cap - 1;
		for (uint64_t i = 0; i < cap / 2; i++) {
			if (!old[i].key)
				continue;
			uint64_t h = hl_hash(s, old[i].key - 1);
			while (n[h].key)
				h = (h + 1) & s->hl_mask;
			n[h] = old[i];
		}
		free(old);
	}
	uint64_t h = hl_hash(s, hpn);
	for (; s->hl[h].key; h = (h + 1) & s->hl_mask)
		if (s->hl[h].key == hpn + 1)
			return &s->hl[h].val;
	s->hl[h].key = hpn + 1;
	s->hl_n++;
	return &s->hl[h].val;
}

/*
 * The host walk of a data page, remembered by the guest leaf entry that
 * mapped it. A nested walk reads the host table entries of the data gPA,
 * and guest frames lie anywhere in guest memory, so the host's loads of the
 * entry naming the leaf table, of the leaf entry (host_map's hash map) and
 * of the leaf table's address miss its caches on nearly every walk; the
 * guest leaf entries of a sequential sweep, and so their memo slots, are
 * consecutive. Slot words: [0] the key, gPA >> host page shift, + 1 (35
 * bits), and the VM (4 bits: each VM has its own host table), then the
 * leaf table's index (HM_TAB_BITS); [1] the host leaf entry; [2] the leaf
 * table's address. Host entries are never cleared or moved once present
 * (host memory is pre-backed, see the notes); only their EPT accessed flags
 * get set, so under ept_ad a copy without the walking mode's flag is not
 * used. A slot is only a copy and changes no count: its key says whether it
 * applies (a table freed and reused keeps stale slots, which then do not
 * match), and without memory for it the walk reads the host table.
 */
#define HM_WORDS     3
#define HM_VM_SHIFT  35
#define HM_TAB_SHIFT 39
#define HM_TAB_BITS  (64 - HM_TAB_SHIFT)
#define HM_KEY	     ((1ull << HM_TAB_SHIFT) - 1)

_Static_assert(MM_MAX_VMS <= 1 << (HM_TAB_SHIFT - HM_VM_SHIFT), "a VM id fits the memo key");

/* The memo slot of entry idx of guest table node, or NULL without memory. */
static uint64_t *hmemo_slot(struct mm_sim *s, uint32_t node, unsigned idx)
{
	if (node >= s->hmemo_cap) {
		uint32_t cap = s->hmemo_cap ? s->hmemo_cap : 64;
		while (cap <= node)
			cap *= 2;
		uint64_t **a = realloc(s->hmemo, sizeof(*a) * cap);
		if (!a)
			return NULL;
		memset(a + s->hmemo_cap, 0, sizeof(*a) * (cap - s->hmemo_cap));
		s->hmemo = a;
		s->hmemo_cap = cap;
	}
	if (!s->hmemo[node] && !(s->hmemo[node] = calloc(512 * HM_WORDS, sizeof(uint64_t))))
		return NULL;
	return s->hmemo[node] + HM_WORDS * idx;
}

/* The key of gpa's host page in the running VM (a slot's word 0 & HM_KEY). */
static inline uint64_t hmemo_key(const struct mm_sim *s, uint64_t gpa)
{
	return ((gpa >> shift_of_level(s->hleaf)) + 1) | (uint64_t)s->vm << HM_VM_SHIFT;
}

/* A new host leaf-level table at pa; its index, or NONE32 without memory. */
static uint32_t hl_table(struct mm_sim *s, uint64_t pa)
{
	if (meta_room(&s->hlt, &s->hltcap, s->nhlt) < 0)
		return NONE32;
	s->hlt[s->nhlt] = (struct pt_meta){.pa = pa, .level = (uint8_t)s->hleaf};
	return s->nhlt++;
}

/* Back gpa (tables, then the host page) if needed; its sPA. */
static uint64_t host_map(struct mm_sim *s, uint64_t gpa)
{
	uint32_t node = s->hroot;
	for (unsigned l = s->c.host_levels; l > s->hleaf; l--) {
		uint64_t *e = &pt_e(&s->hpt, node)[pt_idx(gpa, l)];
		if (!(*e & E_P)) {
			uint64_t pa = pa_alloc(&s->hmem, 4096);
			uint32_t c = pa == NONE		 ? NONE32
				     : l - 1 == s->hleaf ? hl_table(s, pa)
							 : pt_new(&s->hpt, pa, l - 1, 0);
			if (c == NONE32)
				return sim_oom(s, "host memory"), 0;
			*e = (uint64_t)c << 12 | E_P;
		}
		node = E_CHILD(*e);
	}
	uint64_t *x = hl_slot(s, gpa >> shift_of_level(s->hleaf));
	if (!x)
		return sim_oom(s, "host memory"), 0;
	if (!(*x & E_P)) {
		uint64_t pa = pa_alloc(&s->hmem, s->c.host_page);
		if (pa == NONE)
			return sim_oom(s, "host memory"), 0;
		*x = pa | E_P | E_LEAF;
	}
	return E_PA(*x) + (gpa & (s->c.host_page - 1));
}

/*
 * Prefetch the host entries a walk to the new guest frame gpa will read:
 * the entry naming its leaf table and its slot in the leaf hash map. A
 * first touch maps a frame at a random place in guest memory and the walks
 * of shadow (shadow_fill), nested and agile paging then back it and read
 * its host entries, a miss in the host's caches each; os_map calls this
 * as soon as the frame is chosen. The tables above are few and cached.
 */
static void host_prefetch(const struct mm_sim *s, uint64_t gpa)
{
	uint32_t node = s->hroot;
	for (unsigned l = s->c.host_levels; l > s->hleaf + 1; l--) {
		uint64_t x = pt_e(&s->hpt, node)[pt_idx(gpa, l)];
		if (!(x & E_P))
			return;
		node = E_CHILD(x);
	}
	__builtin_prefetch(&pt_e(&s->hpt, node)[pt_idx(gpa, s->hleaf + 1)]);
	__builtin_prefetch(&s->hl[hl_hash(s, gpa >> shift_of_level(s->hleaf))], 1);
}

/* -------- frames shared by copy-on-write (fork)
 *
 * Linux counts a page's mappings (mapcount): fork maps every private page
 * into the child too, a COW fault copies a page that is still shared and
 * reuses one that is not, and the frame is freed with its last mapping.
 * Only frames with more than one mapping are kept, in a small hash map.
 */

static inline uint64_t shr_hash(const struct mm_sim *s, uint64_t f)
{
	return (f * 0x9E3779B97F4A7C15ull >> 24) & s->shr_mask;
}

/* The slot of frame f, or the empty slot where it would go. */
static struct hl_ent *shr_find(const struct mm_sim *s, uint64_t f)
{
	uint64_t h = shr_hash(s, f);
	while (s->shr[h].key && s->shr[h].key != f + 1)
		h = (h + 1) & s->shr_mask;
	return &s->shr[h];
}

/* One more mapping of the frame at pa. */
static int frame_ref(struct mm_sim *s, uint64_t pa)
{
	if (4 * (s->shr_n + 1) > 3 * (s->shr_mask + 1)) { /* at most 3/4 full */
		uint64_t cap = 2 * (s->shr_mask + 1);
		struct hl_ent *old = s->shr, *n = calloc(cap, sizeof(*n));
		if (!n)
			return sim_oom(s, "shared-frame table");
		s->shr = n;
		s->shr_mask = cap - 1;
		for (uint64_t i = 0; i < cap / 2; i++)
			if (old[i].key)
				*shr_find(s, old[i].key - 1) = old[i];
		free(old);
	}
	struct hl_ent *x = shr_find(s, pa >> 12);
	if (!x->key) {
		x->key = (pa >> 12) + 1;
		s->shr_n++;
	}
	x->val++;
	return 0;
}

/* Whether the frame at pa has more than one mapping. */
static int frame_shared(const struct mm_sim *s, uint64_t pa)
{
	return shr_find(s, pa >> 12)->key != 0;
}

/* One mapping of the frame at pa (size bytes) goes; the last frees it.
 * A removed slot's followers move back (backward-shift deletion). */
static void frame_put(struct mm_sim *s, uint64_t pa, uint64_t size)
{
	struct hl_ent *x = shr_find(s, pa >> 12);
	if (!x->key) {
		pa_free(&s->gmem, pa, size);
		return;
	}
	if (--x->val)
		return;
	uint64_t i = (uint64_t)(x - s->shr);
	s->shr_n--;
	for (uint64_t j = (i + 1) & s->shr_mask; s->shr[j].key; j = (j + 1) & s->shr_mask) {
		uint64_t h = shr_hash(s, s->shr[j].key - 1);
		/* j's entry may fill hole i unless its home lies cyclically in (i, j] */
		if (((j - h) & s->shr_mask) >= ((j - i) & s->shr_mask)) {
			s->shr[i] = s->shr[j];
			i = j;
		}
	}
	s->shr[i] = (struct hl_ent){0, 0};
}

/* -------- processes */

static struct proc *proc_find(struct mm_sim *s, uint32_t pid)
{
	for (uint32_t h = (pid * 2654435761u) & (s->hcap - 1);; h = (h + 1) & (s->hcap - 1)) {
		if (!s->phash[h])
			return NULL;
		if (s->procs[s->phash[h] - 1].pid == pid)
			return &s->procs[s->phash[h] - 1];
	}
}

static int guest_table(struct mm_sim *s, unsigned level, uint32_t owner, uint32_t *out)
{
	uint64_t pa = pa_alloc(&s->gmem, 4096);
	uint32_t n = pa == NONE ? NONE32 : pt_new(&s->gpt, pa, level, owner);
	if (n == NONE32)
		return sim_oom(s, "guest memory");
	*out = n;
	return 0;
}

/* The live process pid, created (empty address space) if needed. */
static int proc_get(struct mm_sim *s, uint32_t pid, uint32_t *idx)
{
	struct proc *p = proc_find(s, pid);
	if (!p) {
		if (s->nprocs * 2 >= s->hcap) { /* grow the hash */
			uint32_t cap = s->hcap * 2, *h = calloc(cap, 4);
			if (!h)
				return sim_oom(s, "process table");
			free(s->phash);
			s->phash = h;
			s->hcap = cap;
			for (uint32_t i = 0; i < s->nprocs; i++) {
				uint32_t k = (s->procs[i].pid * 2654435761u) & (cap - 1);
				while (h[k])
					k = (k + 1) & (cap - 1);
				h[k] = i + 1;
			}
		}
		if (s->nprocs == s->pcap) {
			uint32_t cap = s->pcap ? s->pcap * 2 : 16;
			struct proc *n = realloc(s->procs, sizeof(*n) * cap);
			if (!n)
				return sim_oom(s, "process table");
			s->procs = n;
			s->pcap = cap;
		}
		p = &s->procs[s->nprocs];
		memset(p, 0, sizeof(*p));
		p->pid = pid;
		uint32_t k = (pid * 2654435761u) & (s->hcap - 1);
		while (s->phash[k])
			k = (k + 1) & (s->hcap - 1);
		s->phash[k] = ++s->nprocs;
	}
	if (!p->live) {
		int rc = guest_table(s, s->c.levels, (uint32_t)(p - s->procs), &p->root);
		if (rc < 0)
			return rc;
		p->live = 1;
		memset(p->gen, 0, sizeof(p->gen));
	}
	*idx = (uint32_t)(p - s->procs);
	return 0;
}

/* Map va in process pi (first touch): the PTE writes go to w[]; returns their count. */
static int os_map(struct mm_sim *s, uint32_t pi, uint64_t va, struct pw *w)
{
	int nw = 0;
	uint32_t node = s->procs[pi].root;
	for (unsigned l = s->c.levels; l >= s->gleaf; l--) {
		uint64_t x = pt_e(&s->gpt, node)[pt_idx(va, l)];
		if (l == s->gleaf) {
			uint64_t pa = pa_alloc(&s->gmem, s->c.guest_page);
			if (pa == NONE)
				return sim_oom(s, "guest memory");
			pt_e(&s->gpt, node)[pt_idx(va, l)] = pa | E_P | E_LEAF;
			w[nw++] = (struct pw){va, node, (uint8_t)l, 0};
			if (s->modes & ~(1u << MM_NATIVE)) /* a mode walks the host table */
				host_prefetch(s, pa);
			break;
		}
		if (!(x & E_P)) {
			uint32_t c = 0;
			int rc = guest_table(s, l - 1, pi, &c);
			if (rc < 0)
				return rc;
			x = (uint64_t)c << 12 | E_P;
			pt_e(&s->gpt, node)[pt_idx(va, l)] = x;
			w[nw++] = (struct pw){va, node, (uint8_t)l, 0};
		}
		node = E_CHILD(x);
	}
	return nw;
}

/* Free a guest subtree (tables and frames). */
static void os_free_tree(struct mm_sim *s, uint32_t node)
{
	const uint64_t *e = pt_e(&s->gpt, node);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t x = e[i];
		if (!(x & E_P))
			continue;
		if (x & E_LEAF)
			frame_put(s, E_PA(x), 1ull << shift_of_level(s->gpt.m[node].level));
		else
			os_free_tree(s, E_CHILD(x));
	}
	pa_free(&s->gmem, s->gpt.m[node].pa, 4096);
	s->gpt.m[node].ag = 0; /* a freed table is no longer in agile's nested set */
	pt_del(&s->gpt, node);
}

/* -------- tags and flushes */

static void flush_all(struct mmu *m, enum mm_flush why, int ntlb_too)
{
	m->st.flushes[why]++;
	lru_flush(&m->l1d);
	lru_flush(&m->l1i);
	lru_flush(&m->l2);
	lru_flush(&m->pwc);
	for (int i = 0; i < 6; i++) {
		lru_flush(&m->psc[i]);
		if (ntlb_too)
			lru_flush(&m->npsc[i]);
	}
	if (ntlb_too)
		lru_flush(&m->ntlb);
	m->last_key[0] = m->last_key[1] = NONE;
}

/* Drop the TLB and PSC entries of the running tag and the whole PA-tagged PWC. */
static void flush_tag(struct mmu *m, enum mm_flush why)
{
	m->st.flushes[why]++;
	lru_del_tag(&m->l1d, m->tag);
	lru_del_tag(&m->l1i, m->tag);
	lru_del_tag(&m->l2, m->tag);
	lru_flush(&m->pwc);
	for (int l = 0; l < 6; l++)
		lru_del_tag(&m->psc[l], m->tag);
	m->last_key[0] = m->last_key[1] = NONE;
}

/*
 * An untagged CR3 write. With VM tags in use (another VM than VM 0 has run
 * and this mode tags by VM) it drops only the running VM's entries, as a
 * CR3 write drops only the current VPID's; otherwise everything.
 */
static void flush_cr3(struct mmu *m, int vm_tagged)
{
	if (vm_tagged)
		flush_tag(m, MM_FLUSH_CR3);
	else
		flush_all(m, MM_FLUSH_CR3, 0);
}

/*
 * A trapped guest PTE write zapped a present shadow entry. KVM's
 * kvm_mmu_pte_write (arch/x86/kvm/mmu/mmu.c) then sets flush when the old
 * SPTE was present and ends in kvm_mmu_remote_flush_or_zap ->
 * kvm_flush_remote_tlbs: every vCPU of the VM flushes its TLB (VMX: an
 * INVVPID of the VM's VPID; SVM: the vCPU's ASID), so every entry of the VM,
 * whatever address space it belongs to, and its paging-structure caches go;
 * guest-physical (nested TLB) entries stay. The zapped translation itself
 * could be stale in the TLB otherwise.
 */
static void flush_vm(struct mmu *m)
{
	m->st.flushes[MM_FLUSH_PTWRITE]++;
	if (!m->vm_tagged) { /* only this VM has entries */
		lru_flush(&m->l1d);
		lru_flush(&m->l1i);
		lru_flush(&m->l2);
		lru_flush(&m->pwc);
		for (int l = 0; l < 6; l++)
			lru_flush(&m->psc[l]);
		m->last_key[0] = m->last_key[1] = NONE;
		return;
	}
	lru_del_tags(&m->l1d, m->vmtag, 12);
	lru_del_tags(&m->l1i, m->vmtag, 12);
	lru_del_tags(&m->l2, m->vmtag, 12);
	for (int l = 0; l < 6; l++)
		lru_del_tags(&m->psc[l], m->vmtag, 12);
	lru_flush(&m->pwc);
	m->last_key[0] = m->last_key[1] = NONE;
}

/* Give the mode the tag of process p (CR3 write): flush when untagged or on wrap. */
static void tag_switch(struct mmu *m, struct proc *p, int boot)
{
	if (m->ntags <= 1) {
		if (!boot)
			flush_cr3(m, m->vm_tagged);
		m->tag = m->vmtag << 12;
		return;
	}
	if (p->gen[m->mode] != m->gen) {
		if (m->tag_next >= m->ntags) {
			flush_all(m, MM_FLUSH_TAGWRAP, 0);
			m->gen++;
			m->tag_next = 1;
		}
		p->tag[m->mode] = m->tag_next++;
		p->gen[m->mode] = m->gen;
	}
	m->tag = m->vmtag << 12 | p->tag[m->mode];
	m->last_key[0] = m->last_key[1] = NONE;
}

/* A VM exit of the given reason with handler cycles; untagged: flush everything. */
static void vm_exit(struct mm_sim *s, struct mmu *m, enum mm_exit why, uint64_t handler)
{
	uint64_t c = s->c.c_exit + handler;
	s->tlb_gen++;
	m->st.exits[why]++;
	m->st.exit_cycles[why] += c;
	m->st.cyc_exit += c;
	if (!s->c.asids)
		flush_all(m, MM_FLUSH_VMEXIT, 1);
}

/* -------- page-table references */

static inline uint64_t tlb_key(const struct mmu *m, uint64_t va)
{
	return (uint64_t)m->tag << 48 | va >> m->tshift;
}

/* Read line through L1D, L2 and LLC (allocating on a miss at each level);
 * where it was found, its cycles added to *cyc. */
static inline enum mm_where cache_ref(struct mm_sim *s, struct mmu *m, uint64_t line, uint64_t *cyc)
{
	if (__builtin_expect(s->ref, 0)) {
		enum mm_where at = m->dc1.tag && dc_touch_ref(&m->dc1, line)   ? MM_AT_DC1
				   : m->dc2.tag && dc_touch_ref(&m->dc2, line) ? MM_AT_DC2
				   : m->dc3.tag && dc_touch_ref(&m->dc3, line) ? MM_AT_DC3
									       : MM_AT_MEM;
		const uint32_t cost[] = {0, s->c.c_dc1, s->c.c_dc2, s->c.c_dc3, s->c.c_mem};
		*cyc += cost[at];
		return at;
	}
	if (m->dc1.tag && dc_touch(&m->dc1, line)) {
		*cyc += s->c.c_dc1;
		return MM_AT_DC1;
	}
	if (m->dc2.tag && dc_touch(&m->dc2, line)) {
		*cyc += s->c.c_dc2;
		return MM_AT_DC2;
	}
	if (m->dc3.tag && dc_touch(&m->dc3, line)) {
		*cyc += s->c.c_dc3;
		return MM_AT_DC3;
	}
	*cyc += s->c.c_mem;
	return MM_AT_MEM;
}

/* A data access at physical address pa (data_refs=1). */
static inline void data_ref(struct mm_sim *s, struct mmu *m, uint64_t pa)
{
	m->st.data_refs++;
	m->st.data_at[cache_ref(s, m, pa >> 6, &m->st.cyc_data)]++;
}

/* One entry read at physical address pa. pwc_ok: the PA-tagged PWC may hold it. */
static void pt_ref(struct mm_sim *s, struct mmu *m, uint64_t pa, unsigned level, char dim,
		   unsigned col, int pwc_ok)
{
	enum mm_where at;
	if (pwc_ok && m->pwc.key) {
		m->st.pwc_lookups++;
		if (lru_touch(&m->pwc, pa >> 3, pa >> 3)) {
			m->st.pwc_hits++;
			at = MM_AT_PWC;
			m->st.cyc_walk += s->c.c_pwc;
			m->st.grid_pwc[m->row][col]++;
			goto done;
		}
	}
	s->dline = NONE;
	at = cache_ref(s, m, pa >> 6, &m->st.cyc_walk);
done:
	m->st.at[at]++;
	m->st.grid_refs[m->row][col]++;
	if (dim == 'n')
		m->st.nested_refs++;
	else
		m->st.guest_refs++;
	if (s->log_fn && m->nsteps < 64) /* only a logged walk needs its steps */
		m->steps[m->nsteps++] = (struct mm_step){
		    pa, (uint8_t)level, (uint8_t)dim, (uint8_t)m->row, (uint8_t)col, (uint8_t)at};
}

/* PSC: longest cached prefix of va above leaf; returns the level to start at and its node. */
static unsigned psc_start(struct mmu *m, struct lru *psc, uint64_t tag, uint64_t va, unsigned top,
			  unsigned leaf, uint32_t *node)
{
	if (!psc[2].key)
		return top;
	for (unsigned l = leaf + 1; l <= top; l++) {
		uint64_t pre = va >> shift_of_level(l), v;
		if (lru_get(&psc[l], tag << 48 | pre, pre, &v)) {
			*node = (uint32_t)v;
			m->st.psc_skipped += top - l + 1;
			return l - 1;
		}
	}
	return top;
}

static void psc_put(struct lru *psc, uint64_t tag, uint64_t va, unsigned l, uint32_t child)
{
	if (psc[2].key) {
		uint64_t pre = va >> shift_of_level(l);
		lru_put(&psc[l], tag << 48 | pre, pre, child, NULL);
	}
}

/*
 * The walker found a guest leaf whose accessed bit is clear (Linux installs
 * anonymous PTEs old: pte_sw_mkyoung is a no-op on x86; fork's child PTEs
 * are made old too): it sets the bit with a locked read-modify-write of the
 * entry just read (SDM 4.8), c_ad cycles, no further reference. Dirty bits
 * cost nothing here: Linux installs writable anonymous PTEs dirty.
 */
static inline void set_accessed(struct mm_sim *s, struct mmu *m, uint64_t *e)
{
	if (*e & E_AM(m->mode))
		return;
	*e |= E_AM(m->mode);
	m->st.ad_writes++;
	m->st.cyc_walk += s->c.c_ad;
}

/* Hardware walk of a one-dimensional table (native: guest table; shadow: shadow table). */
static void walk_1d(struct mm_sim *s, struct mmu *m, const struct pt_pool *p, uint32_t root,
		    uint64_t va, unsigned leaf, char dim)
{
	uint32_t node = root;
	unsigned top = s->c.levels;
	unsigned l = psc_start(m, m->psc, m->tag, va, top, leaf, &node);
	for (;; l--) {
		uint64_t x = pt_e(p, node)[pt_idx(va, l)];
		pt_ref(s, m, p->m[node].pa + 8ull * pt_idx(va, l), l, dim, top - l, l > leaf);
		if (x & E_LEAF) {
			m->walk_pa = E_PA(x) + (va & ((1ull << shift_of_level(l)) - 1));
			if (p == &s->gpt) /* native; shadow entries are made accessed */
				set_accessed(s, m, &pt_e(p, node)[pt_idx(va, l)]);
		}
		if ((x & E_LEAF) || l == 1 || !(x & E_P))
			break;
		psc_put(m->psc, m->tag, va, l, E_CHILD(x));
		node = E_CHILD(x);
	}
}

/* Translate gpa through the host table as hardware would (NTLB, then host
 * walk). memo: gpa's memo slot (hmemo_slot) or NULL. */
static uint64_t nested_xlate(struct mm_sim *s, struct mmu *m, uint64_t gpa, uint64_t *memo)
{
	unsigned mlev = s->c.host_levels, hsh = shift_of_level(s->hleaf);
	uint64_t key = gpa >> hsh, v;
	if (m->ntlb.key) {
		m->st.ntlb_lookups++;
		if (lru_get(&m->ntlb, key, key, &v)) {
			m->st.ntlb_hits++;
			for (unsigned c = 0; c <= mlev - s->hleaf; c++)
				m->st.grid_skip[m->row][c]++;
			return v + (gpa & ((1ull << hsh) - 1));
		}
	}
	uint64_t spa = 0, mkey = 0;
	int mhit = 0;
	if (memo) {
		mkey = hmemo_key(s, gpa);
		mhit = (memo[0] & HM_KEY) == mkey && (!s->c.ept_ad || (memo[1] & E_AM(m->mode)));
	}
	uint32_t node = s->hroot;
	unsigned l = psc_start(m, m->npsc, m->vmtag, gpa, mlev, s->hleaf, &node);
	for (unsigned k = l + 1; k <= mlev; k++)
		m->st.grid_skip[m->row][mlev - k]++;
	for (;; l--) {
		int leaf = l == s->hleaf;
		uint64_t x;
		if (mhit && l <= s->hleaf + 1) { /* the entries host_map wrote */
			x = leaf ? memo[1] : (memo[0] >> HM_TAB_SHIFT) << 12 | E_P;
		} else {
			x = leaf ? hl_get(s, gpa >> hsh) : pt_e(&s->hpt, node)[pt_idx(gpa, l)];
			if (!(x & E_P)) { /* first use of this gPA: back it (no cost, see notes) */
				host_map(s, gpa);
				if (s->err)
					return 0;
				x = leaf ? hl_get(s, gpa >> hsh)
					 : pt_e(&s->hpt, node)[pt_idx(gpa, l)];
			}
		}
		uint64_t table = !leaf ? s->hpt.m[node].pa : mhit ? memo[2] : s->hlt[node].pa;
		pt_ref(s, m, table + 8ull * pt_idx(gpa, l), l, 'n', mlev - l,
		       s->c.pwc == MM_PWC_2D && l > s->hleaf);
		if (leaf && s->c.ept_ad && !(x & E_AM(m->mode))) {
			/* EPT A/D on (SDM 28.3.5): the walker sets the leaf's
			 * accessed flag, and for a guest paging-structure page
			 * its dirty flag too, in one locked write; each mode
			 * keeps its own bit, as for guest PTEs */
			uint64_t *h = hl_slot(s, gpa >> hsh);
			if (h)
				*h |= E_AM(m->mode);
			x |= E_AM(m->mode);
			m->st.ad_writes++;
			m->st.cyc_walk += s->c.c_ad;
		}
		if (x & E_LEAF) {
			spa = E_PA(x) + (gpa & ((1ull << hsh) - 1));
			if (memo && !mhit && node < 1ull << HM_TAB_BITS) {
				memo[0] = mkey | (uint64_t)node << HM_TAB_SHIFT;
				memo[1] = x;
				memo[2] = table;
			}
			break;
		}
		psc_put(m->npsc, m->vmtag, gpa, l, E_CHILD(x));
		node = E_CHILD(x);
	}
	lru_put(&m->ntlb, key, key, spa & ~((1ull << hsh) - 1), NULL);
	return spa;
}

/*
 * The 2D part of a walk from guest table node at level l down: each guest
 * level preceded by a nested walk of its table's gPA, then one for the data
 * gPA. known: the first table's host-physical address is already known (a
 * combined PSC entry, or agile paging's switching entry), so its nested walk
 * is not made.
 */
static void walk_2d_from(struct mm_sim *s, struct mmu *m, uint64_t va, unsigned l, uint32_t node,
			 int known)
{
	unsigned n = s->c.levels, mlev = s->c.host_levels;
	uint64_t gpa_data = 0, *memo = NULL;
	for (;; l--) {
		m->row = n - l;
		uint64_t spa_table;
		if (known) {
			/* a PSC hit: with EPT its entry is a combined one and holds the
			 * host-physical address of the table (SDM 28.3.1), so this
			 * table's nested walk is not made */
			known = 0;
			spa_table = host_map(s, s->gpt.m[node].pa);
			for (unsigned c = 0; c < mlev; c++)
				m->st.grid_skip[m->row][c]++;
		} else {
			spa_table = nested_xlate(s, m, s->gpt.m[node].pa, NULL);
		}
		if (s->err)
			return;
		uint64_t x = pt_e(&s->gpt, node)[pt_idx(va, l)];
		pt_ref(s, m, spa_table + 8ull * pt_idx(va, l), l, 'g', mlev,
		       (s->c.pwc == MM_PWC_PA || s->c.pwc == MM_PWC_2D) && l > s->gleaf);
		if (x & E_LEAF) {
			gpa_data = E_PA(x) + (va & ((1ull << shift_of_level(l)) - 1));
			set_accessed(s, m, &pt_e(&s->gpt, node)[pt_idx(va, l)]);
			if (!s->ref) /* the reference form reads the host table every time */
				memo = hmemo_slot(s, node, pt_idx(va, l));
			break;
		}
		psc_put(m->psc, m->tag, va, l, E_CHILD(x));
		node = E_CHILD(x);
	}
	m->row = n;
	m->walk_pa = nested_xlate(s, m, gpa_data, memo);
	m->row = 0;
}

/* The 2D walk: n guest levels, each preceded by a nested walk, then one for the data gPA. */
static void walk_2d(struct mm_sim *s, struct mmu *m, const struct proc *p, uint64_t va)
{
	unsigned n = s->c.levels, mlev = s->c.host_levels;
	uint32_t node = p->root;
	unsigned l = psc_start(m, m->psc, m->tag, va, n, s->gleaf, &node);
	for (unsigned k = l + 1; k <= n; k++)
		for (unsigned c = 0; c <= mlev; c++)
			m->st.grid_skip[n - k][c]++;
	walk_2d_from(s, m, va, l, node, l < n);
}

/* -------- shadow paging (division 6) */

static void shadow_free_tree(struct mmu *m, struct mm_sim *s, uint32_t node)
{
	if (m->sp.m[node].level > 1)
		for (unsigned i = 0; i < 512; i++) {
			uint64_t x = pt_e(&m->sp, node)[i];
			if ((x & E_P) && !(x & (E_LEAF | E_SW))) /* E_SW: a guest table */
				shadow_free_tree(m, s, E_CHILD(x));
		}
	pa_free(&s->hmem, m->sp.m[node].pa, 4096);
	pt_del(&m->sp, node);
	m->st.shadow_pages--;
}

static uint32_t shadow_table(struct mm_sim *s, struct mmu *m, unsigned level)
{
	uint64_t pa = pa_alloc(&s->hmem, 4096);
	uint32_t n = pa == NONE ? NONE32 : pt_new(&m->sp, pa, level, 0);
	if (n == NONE32)
		sim_oom(s, "host memory (shadow tables)");
	else
		m->st.shadow_pages++;
	return n;
}

/* Zap the shadow leaf for va in shadow root r: 1 if a present leaf was
 * cleared (then hardware may still cache it), 0 if there was none. */
static int shadow_zap(struct mm_sim *s, struct mmu *m, uint32_t r, uint64_t va)
{
	uint32_t node = r;
	for (unsigned l = s->c.levels; l >= 1; l--) {
		uint64_t *x = &pt_e(&m->sp, node)[pt_idx(va, l)];
		if (!(*x & E_P) || (*x & E_SW)) /* E_SW: the rest is walked nested */
			return 0;
		if (*x & E_LEAF) {
			*x = 0;
			return 1;
		}
		node = E_CHILD(*x);
	}
	return 0;
}

/* The slot of va's shadow leaf in shadow root r, at level sleaf (where
 * shadow_fill puts it) or above it if a larger leaf is there; NULL if a
 * shadow table on the way is missing or a switch entry (E_SW) ends it. */
static uint64_t *shadow_slot(struct mm_sim *s, struct mmu *m, uint32_t r, uint64_t va,
			     unsigned sleaf, unsigned *level)
{
	uint32_t node = r;
	for (unsigned l = s->c.levels;; l--) {
		uint64_t *x = &pt_e(&m->sp, node)[pt_idx(va, l)];
		if (l == sleaf || (*x & E_LEAF)) {
			*level = l;
			return x;
		}
		if (!(*x & E_P) || (*x & E_SW))
			return NULL;
		node = E_CHILD(*x);
	}
}

/* Whether process p's guest PTE for va is present, accessed by mode m and
 * backed by the host: then *spa is va's host-physical address and *gl the
 * guest leaf level. The host side is only looked up, never allocated. */
static int gpte_spa(const struct mm_sim *s, const struct mmu *m, const struct proc *p, uint64_t va,
		    uint64_t *spa, unsigned *gl)
{
	*gl = 1;
	uint64_t x = pt_find(&s->gpt, p->root, s->c.levels, va, NULL, gl);
	if (!x || !(x & E_AM(m->mode)))
		return 0;
	uint64_t gpa = E_PA(x) + (va & ((1ull << shift_of_level(*gl)) - 1));
	uint64_t h = hl_get(s, gpa >> shift_of_level(s->hleaf));
	*spa = E_PA(h) + (gpa & (s->c.host_page - 1));
	return (h & E_P) != 0;
}

/*
 * Whether shadow leaf e (at level l) still holds what process p's guest
 * PTE for va says, as KVM's FNAME(sync_page) (arch/x86/kvm/mmu/
 * paging_tmpl.h) decides when it resyncs an out-of-sync table: an SPTE
 * whose guest PTE is not present or not accessed (prefetch_invalid_gpte)
 * or maps another frame (gfn != sp->gfns[i]) is dropped; otherwise it is
 * kept with the new permissions (make_spte), which mmusim's shadow entries
 * do not model (a frame not backed yet cannot be the one e maps).
 */
static int shadow_current(const struct mm_sim *s, const struct mmu *m, const struct proc *p,
			  uint64_t va, uint64_t e, unsigned l)
{
	uint64_t spa;
	unsigned gl;
	return (e & E_P) && (e & E_LEAF) && gpte_spa(s, m, p, va, &spa, &gl) &&
	       E_PA(e) == (spa & ~((1ull << shift_of_level(l)) - 1));
}

/* Shadow root of process pi, from the root cache or new (sets *hit). */
static uint32_t shadow_root(struct mm_sim *s, struct mmu *m, uint32_t pi, int *hit)
{
	uint64_t key = s->gpt.m[s->procs[pi].root].pa >> 12, v;
	if (lru_get(&m->sroots, key, key, &v)) {
		*hit = 1;
		return (uint32_t)v;
	}
	*hit = 0;
	uint32_t r = shadow_table(s, m, s->c.levels);
	if (r == NONE32)
		return r;
	struct lru_ent ev;
	if (lru_put(&m->sroots, key, key, (uint64_t)pi << 32 | r, &ev)) {
		shadow_free_tree(m, s, (uint32_t)ev.val);
		s->procs[ev.val >> 32].gen[m->mode] = 0; /* its ASID's entries are stale */
	}
	return r;
}

/* The guest leaf table that maps va in process p (NONE32 if none yet). */
static uint32_t guest_leaf_table(const struct mm_sim *s, const struct proc *p, uint64_t va)
{
	uint32_t node = p->root;
	for (unsigned l = s->c.levels; l > s->gleaf; l--) {
		uint64_t x = pt_e(&s->gpt, node)[pt_idx(va, l)];
		if (!(x & E_P) || (x & E_LEAF))
			return NONE32;
		node = E_CHILD(x);
	}
	return node;
}

/*
 * Resync the out-of-sync guest tables, as KVM's
 * kvm_mmu_sync_roots does at a CR3 write or a guest TLB flush: the shadow
 * entry of each PTE written meanwhile is dropped unless it still maps what
 * the PTE says (shadow_current), and the next access to a dropped one
 * takes a hidden fault. Returns the number of tables resynced.
 */
static uint64_t shadow_sync(struct mm_sim *s, struct mmu *m)
{
	uint64_t n = 0;
	for (uint32_t i = 0; i < m->nunsync;) {
		uint32_t g = m->unsync[i];
		s->gpt.m[g].unsync = 0;
		m->unsync[i] = m->unsync[--m->nunsync];
		m->st.syncs++;
		n++;
	}
	for (uint32_t i = 0; i < m->npend;) {
		const struct proc *p = &s->procs[m->pend_proc[i]];
		uint64_t va = m->pend[i], v;
		uint64_t key = s->gpt.m[p->root].pa >> 12;
		unsigned l;
		uint64_t *e;
		if (lru_get(&m->sroots, key, key, &v) &&
		    (e = shadow_slot(s, m, (uint32_t)v, va, 1, &l)) &&
		    !shadow_current(s, m, p, va, *e, l))
			*e = 0;
		m->pend[i] = m->pend[--m->npend];
		m->pend_proc[i] = m->pend_proc[m->npend];
	}
	return n;
}

static int pend_add(struct mm_sim *s, struct mmu *m, uint32_t pi, uint64_t va)
{
	if (m->npend == m->pend_cap) {
		uint32_t cap = m->pend_cap ? m->pend_cap * 2 : 64;
		uint64_t *a = realloc(m->pend, sizeof(*a) * cap);
		if (a)
			m->pend = a;
		uint32_t *b = a ? realloc(m->pend_proc, sizeof(*b) * cap) : NULL;
		if (!b)
			return sim_oom(s, "unsync list");
		m->pend_proc = b;
		m->pend_cap = cap;
	}
	m->pend[m->npend] = va;
	m->pend_proc[m->npend++] = pi;
	return 0;
}

/*
 * Agile paging (Gandhi, Hill and Swift, ISCA 2016). The walk starts in the
 * shadow table; a shadow entry with the switch bit (E_SW) holds the
 * host-physical address of the next guest table, and from that table down
 * the hardware walks the guest table in nested (2D) mode. What is modelled:
 *  - a guest table is in nested mode when it or a table above it on the
 *    path is (AG_NESTED, or its level <= agile_start); the rest is shadowed
 *    as under shadow paging: write-protected once filled, a trapped write a
 *    PT-write exit, a missing shadow entry a hidden fault; no unsync (the
 *    nested switch is agile paging's answer to frequently written tables);
 *  - writes to tables in nested mode, and guest faults whose missing entry
 *    is in one, cost no exit (the hardware walks the guest table);
 *  - cold references, 4-level guest and host: 4 (all shadowed), 8 (the leaf
 *    table nested: 3 shadow entries, the PTE, a 4-reference nested walk of
 *    the data gPA), 12 (from L2), 16 (from L3), 24 (the root: a plain
 *    nested walk from gCR3);
 *  - the policy: the agile_writes-th trapped write to one shadowed table in
 *    an epoch moves it (and so its subtree) to nested mode inside that exit
 *    (its shadow subtree is freed, the parent's shadow entry becomes a
 *    switch entry, its subtree no longer write-protected); at the end of
 *    each epoch (agile_epoch trace records) a table moved to nested mode and
 *    not itself written during the epoch returns to shadow mode (the paper
 *    detects this with dirty bits; the switch entry is dropped and the next
 *    walk refills the shadow by a hidden fault, the table write-protected
 *    again), so the switch point moves down to the tables actually written.
 *    Epoch scans cost no cycles here.
 * Several VMs: each VM keeps its own shadow roots (vm_save), and the switch
 * state lives in its own guest tables (struct pt_meta ag), so each VM's
 * switch points move with its own writes; epochs are the host's, one clock
 * for all VMs. INVLPG is an exit that leaves the shadow as it is (every
 * write to a shadowed table was trapped: mode_invlpg). Not modelled: CR3
 * writes without exits when the root is in nested mode, INVLPG without
 * exits.
 */

/* Level of the highest guest table in nested mode on va's path from root,
 * looking at levels down to stop (0: none); *at = that table. */
static unsigned ag_level(const struct mm_sim *s, uint32_t root, uint64_t va, unsigned stop,
			 uint32_t *at)
{
	uint32_t node = root;
	for (unsigned l = s->c.levels;; l--) {
		if (l <= s->c.agile_start || (s->gpt.m[node].ag & AG_NESTED)) {
			if (at)
				*at = node;
			return l;
		}
		if (l <= stop)
			return 0;
		uint64_t x = pt_e(&s->gpt, node)[pt_idx(va, l)];
		if (!(x & E_P) || (x & E_LEAF))
			return 0;
		node = E_CHILD(x);
	}
}

/* Clear shadow entry e, freeing the shadow subtree below it. */
static void sp_clear(struct mm_sim *s, struct mmu *m, uint64_t *e)
{
	if ((*e & E_P) && !(*e & (E_LEAF | E_SW)))
		shadow_free_tree(m, s, E_CHILD(*e));
	*e = 0;
}

/* Guest table node and everything below it are no longer shadowed by mode m. */
static void ag_unprotect(struct mm_sim *s, uint32_t node, unsigned bit)
{
	s->gpt.m[node].wp &= (uint8_t)~bit;
	if (s->gpt.m[node].level > s->gleaf)
		for (unsigned i = 0; i < 512; i++) {
			uint64_t x = pt_e(&s->gpt, node)[i];
			if ((x & E_P) && !(x & E_LEAF))
				ag_unprotect(s, E_CHILD(x), bit);
		}
}

/* The shadow root of process pi's address space, if still cached (NONE32). */
static uint32_t sroot_of(const struct mm_sim *s, struct mmu *m, uint32_t pi)
{
	uint64_t key = s->gpt.m[s->procs[pi].root].pa >> 12, v;
	return lru_get(&m->sroots, key, key, &v) ? (uint32_t)v : NONE32;
}

/* Drop every VA-tagged paging-structure-cache entry (the VMM changed the
 * shadow's structure: cached next-table pointers may name freed tables). */
static void psc_flush(struct mmu *m)
{
	for (int l = 0; l < 6; l++)
		lru_flush(&m->psc[l]);
}

/* The policy moves guest table node (mapping va) to nested mode. */
static void ag_to_nested(struct mm_sim *s, struct mmu *m, uint32_t node, uint64_t va)
{
	struct pt_meta *g = &s->gpt.m[node];
	unsigned lev = g->level, n = s->c.levels;
	g->ag = AG_NESTED | AG_WRITTEN;
	m->st.ag_to_nested++;
	ag_unprotect(s, node, 1u << m->mode);
	uint32_t r = sroot_of(s, m, s->gpt.m[node].owner);
	if (r != NONE32) {
		if (lev == n) { /* the root: the whole walk is nested */
			for (unsigned i = 0; i < 512; i++)
				sp_clear(s, m, &pt_e(&m->sp, r)[i]);
		} else {
			for (unsigned l = n; r != NONE32; l--) {
				uint64_t *e = &pt_e(&m->sp, r)[pt_idx(va, l)];
				if (l == lev + 1) {
					sp_clear(s, m, e);
					*e = (uint64_t)node << 12 | E_P | E_SW;
					break;
				}
				r = (*e & E_P) && !(*e & (E_LEAF | E_SW)) ? E_CHILD(*e) : NONE32;
			}
		}
	}
	psc_flush(m);
}

/* End of an agile epoch: nested tables not written since return to shadow;
 * every table's count of trapped writes restarts. */
static void ag_epoch(struct mm_sim *s)
{
	struct mmu *m = &s->m[MM_AGILE];
	int moved = 0;
	for (uint32_t i = 0; i < s->gpt.cnt; i++) {
		struct pt_meta *g = &s->gpt.m[i];
		if ((g->ag & (AG_NESTED | AG_WRITTEN)) == AG_NESTED) {
			g->ag = 0;
			m->st.ag_to_shadow++;
			moved = 1;
		} else {
			g->ag &= AG_NESTED;
		}
	}
	if (!moved)
		return;
	for (uint32_t t = 0; t < m->sp.cnt; t++) { /* drop their switch entries */
		uint64_t *e = pt_e(&m->sp, t);
		for (unsigned i = 0; i < 512; i++)
			if ((e[i] & E_SW) && !(s->gpt.m[E_CHILD(e[i])].ag & AG_NESTED))
				e[i] = 0;
	}
	psc_flush(m);
}

/* A guest fault whose first write (the entry found missing) is in a table in
 * nested mode goes straight to the guest under agile paging. */
static int ag_fault_nested(const struct mm_sim *s, const struct pw *w)
{
	const struct pt_meta *g = &s->gpt.m[w->node];
	return ag_level(s, s->procs[g->owner].root, w->va, g->level, NULL) != 0;
}

/* Guest PTE writes under shadow or agile paging: exits on write-protected
 * tables, or unsync (shadow), or the agile policy. */
static void shadow_writes(struct mm_sim *s, struct mmu *m, uint32_t pi, const struct pw *w, int nw)
{
	for (int i = 0; i < nw; i++) {
		struct pt_meta *g = &s->gpt.m[w[i].node];
		if (m->mode == MM_AGILE) {
			if (ag_fault_nested(s, &w[i])) {
				g->ag |= AG_WRITTEN; /* nested mode: no exit */
				continue;
			}
			if (!(g->wp & (1u << MM_AGILE)))
				continue;
			vm_exit(s, m, MM_EXIT_PTWRITE, s->c.c_ptwrite);
			if (w[i].was_present && w[i].level == s->gleaf &&
			    shadow_zap(s, m, m->sroot, w[i].va))
				flush_vm(m);
			g = &s->gpt.m[w[i].node];
			if (s->c.agile_writes && (g->ag & AG_COUNT) + 1u >= s->c.agile_writes)
				ag_to_nested(s, m, w[i].node, w[i].va);
			else if ((g->ag & AG_COUNT) < AG_COUNT)
				g->ag++;
			continue;
		}
		if (!(g->wp & (1u << MM_SHADOW)))
			continue; /* not shadowed yet: an ordinary write */
		if (s->c.unsync && g->level == s->gleaf) {
			if (!g->unsync) {
				vm_exit(s, m, MM_EXIT_PTWRITE, s->c.c_ptwrite);
				g = &s->gpt.m[w[i].node];
				g->unsync = 1;
				if (m->nunsync == m->unsync_cap) {
					uint32_t cap = m->unsync_cap ? m->unsync_cap * 2 : 64;
					uint32_t *a = realloc(m->unsync, sizeof(*a) * cap);
					if (!a) {
						sim_oom(s, "unsync list");
						return;
					}
					m->unsync = a;
					m->unsync_cap = cap;
				}
				m->unsync[m->nunsync++] = w[i].node;
			}
			if (w[i].was_present)
				pend_add(s, m, pi, w[i].va);
			continue;
		}
		vm_exit(s, m, MM_EXIT_PTWRITE, s->c.c_ptwrite);
		if (w[i].was_present && w[i].level == s->gleaf &&
		    shadow_zap(s, m, m->sroot, w[i].va))
			flush_vm(m);
	}
}

/*
 * Hidden fault: fill the shadow entry for va from the guest and host tables.
 * k > 0 (agile paging): guest tables at level k and below are in nested
 * mode, so the fill ends with a switch entry at level k + 1 holding guest
 * table path[k] (its host-physical address, for the hardware).
 */
static void shadow_fill(struct mm_sim *s, struct mmu *m, const struct proc *p, uint64_t va,
			unsigned k)
{
	vm_exit(s, m, MM_EXIT_HIDDEN, s->c.c_hidden);
	uint32_t path[6];
	unsigned gl = 1;
	uint64_t x = pt_find(&s->gpt, p->root, s->c.levels, va, path, &gl);
	for (unsigned l = s->c.levels; l >= (k ? k + 1 : gl); l--)
		s->gpt.m[path[l]].wp |= (uint8_t)(1u << m->mode); /* shadowed: write-protect */
	uint64_t spa = 0;
	if (!k) {
		uint64_t gpa = E_PA(x) + (va & ((1ull << shift_of_level(gl)) - 1));
		/* a walk (nested, or agile's nested part) may have left the host
		 * entries of the page in its memo slot (never made here): agile
		 * paging refills the shadow of every table an epoch returned to
		 * shadow mode, a host-cache miss per page otherwise */
		const uint64_t *memo = s->ref || path[gl] >= s->hmemo_cap || !s->hmemo[path[gl]]
					   ? NULL
					   : s->hmemo[path[gl]] + HM_WORDS * pt_idx(va, gl);
		if (memo && (memo[0] & HM_KEY) == hmemo_key(s, gpa))
			spa = E_PA(memo[1]) + (gpa & (s->c.host_page - 1));
		else
			spa = host_map(s, gpa);
		if (s->err)
			return;
		/* the guest's accessed bit, set by the VMM while it fills the
		 * shadow entry (KVM's FNAME(update_accessed_dirty_bits)) */
		pt_e(&s->gpt, path[gl])[pt_idx(va, gl)] |= E_AM(m->mode);
	}
	unsigned sleaf = gl > s->hleaf ? s->hleaf : gl;
	uint32_t node = m->sroot;
	for (unsigned l = s->c.levels;; l--) {
		uint64_t *e = &pt_e(&m->sp, node)[pt_idx(va, l)];
		if (k && l == k + 1) {
			sp_clear(s, m, e);
			*e = (uint64_t)path[k] << 12 | E_P | E_SW;
			return;
		}
		if (!k && l == sleaf) {
			sp_clear(s, m, e);
			*e = (spa & ~((1ull << shift_of_level(l)) - 1)) | E_P | E_LEAF;
			return;
		}
		if (!(*e & E_P)) {
			uint32_t c = shadow_table(s, m, l - 1);
			if (c == NONE32)
				return;
			*e = (uint64_t)c << 12 | E_P;
		}
		node = E_CHILD(*e);
	}
}

/* The shadow table maps va (to a page, or to a switch into nested mode). */
static int shadow_present(struct mm_sim *s, struct mmu *m, uint64_t va)
{
	uint32_t node = m->sroot;
	for (unsigned l = s->c.levels; l >= 1; l--) {
		uint64_t x = pt_e(&m->sp, node)[pt_idx(va, l)];
		if (!(x & E_P))
			return 0;
		if (x & (E_LEAF | E_SW))
			return 1;
		node = E_CHILD(x);
	}
	return 0;
}

/*
 * An agile walk: the shadow table from sCR3 down to a leaf or a switch
 * entry, then the 2D walk from the guest table the switch entry names (its
 * host-physical address is in the entry); with the root in nested mode, a
 * plain 2D walk. A VA-tagged PSC hit lands in the shadow part (a shadow
 * table) or the nested part (a guest table, combined entry) by level.
 */
static void agile_walk(struct mm_sim *s, struct mmu *m, const struct proc *p, uint64_t va,
		       unsigned sleaf)
{
	unsigned n = s->c.levels, k = ag_level(s, p->root, va, 1, NULL);
	if (k == n) {
		walk_2d(s, m, p, va);
		return;
	}
	if (!shadow_present(s, m, va))
		shadow_fill(s, m, p, va, k);
	if (s->err)
		return;
	uint32_t node = m->sroot;
	unsigned l = psc_start(m, m->psc, m->tag, va, n, sleaf, &node);
	if (l <= k) { /* a PSC hit below the switch: a guest table */
		walk_2d_from(s, m, va, l, node, 1);
		return;
	}
	for (;; l--) {
		uint64_t x = pt_e(&m->sp, node)[pt_idx(va, l)];
		pt_ref(s, m, m->sp.m[node].pa + 8ull * pt_idx(va, l), l, 's', n - l, l > sleaf);
		if (x & E_LEAF) {
			m->walk_pa = E_PA(x) + (va & ((1ull << shift_of_level(l)) - 1));
			return;
		}
		if (!(x & E_P) || l == 1)
			return;
		psc_put(m->psc, m->tag, va, l, E_CHILD(x));
		if (x & E_SW) {
			walk_2d_from(s, m, va, l - 1, E_CHILD(x), 1);
			return;
		}
		node = E_CHILD(x);
	}
}

/* -------- TLB lookup and the per-access path */

static void log_walk(struct mm_sim *s, struct mmu *m, uint64_t va)
{
	if (!s->log_fn)
		return;
	if (s->log_all || (!m->explained && (va >> 12) == s->log_page)) {
		m->explained = 1;
		s->log_fn(s->log_ctx, m->mode, va, m->steps, m->nsteps);
	}
}

static void walk(struct mm_sim *s, struct mmu *m, uint64_t va)
{
	const struct proc *p = &s->procs[s->cur];
	uint64_t before = m->st.guest_refs + m->st.nested_refs;
	m->nsteps = 0;
	m->st.walks++;
	switch (m->mode) {
	case MM_NATIVE:
		walk_1d(s, m, &s->gpt, p->root, va, s->gleaf, 'h');
		break;
	case MM_AGILE:
		agile_walk(s, m, p, va, m->tshift == 12 ? 1 : m->tshift == 21 ? 2 : 3);
		break;
	case MM_SHADOW:
		if (!shadow_present(s, m, va))
			shadow_fill(s, m, p, va, 0);
		if (s->err)
			return;
		walk_1d(s, m, &m->sp, m->sroot, va,
			m->tshift == 12	  ? 1
			: m->tshift == 21 ? 2
					  : 3,
			's');
		break;
	default:
		walk_2d(s, m, p, va);
		break;
	}
	uint64_t refs = m->st.guest_refs + m->st.nested_refs - before;
	m->st.walk_hist[refs < 39 ? refs : 39]++;
	log_walk(s, m, va);
}

static void translate(struct mm_sim *s, struct mmu *m, uint64_t va, int ifetch)
{
	uint64_t key = tlb_key(m, va), val;
	if (key == m->last_key[ifetch] && !s->ref) { /* same page as the last L1 hit: still MRU */
		m->st.l1_hits++;
		val = m->last_val[ifetch];
		goto data;
	}
	struct lru *l1 = ifetch ? &m->l1i : &m->l1d;
	uint64_t vpn = va >> m->tshift;
	if (lru_get(l1, key, vpn, &val)) {
		m->st.l1_hits++;
		goto hit;
	}
	m->st.l1_misses++;
	if (lru_get(&m->l2, key, vpn, &val)) {
		m->st.l2_hits++;
	} else {
		m->st.l2_misses++;
		walk(s, m, va);
		if (s->err)
			return;
		key = tlb_key(m, va); /* an untagged hidden-fault exit may have flushed */
		val = m->walk_pa & ~((1ull << m->tshift) - 1);
		lru_put(&m->l2, key, vpn, val, NULL);
	}
	lru_put(l1, key, vpn, val, NULL);
hit:
	m->last_key[ifetch] = key;
	m->last_val[ifetch] = val;
data:
	if (!ifetch && s->c.data_refs) {
		uint64_t pa = val | (va & ((1ull << m->tshift) - 1));
		m->lp_pa = pa & ~0xfffull;
		data_ref(s, m, pa);
	}
}

/* Drop the TLB entries of va's page in the running tag (a page fault does
 * this for its address, SDM 4.10.4.2; INVLPG does it and more). */
static void tlb_drop(struct mmu *m, uint64_t va)
{
	uint64_t key = tlb_key(m, va), vpn = va >> m->tshift;
	lru_del(&m->l1d, key, vpn);
	lru_del(&m->l1i, key, vpn);
	lru_del(&m->l2, key, vpn);
	m->last_key[0] = m->last_key[1] = NONE;
}

static void invlpg(struct mm_sim *s, struct mmu *m, uint64_t va)
{
	tlb_drop(m, va);
	/* SDM 4.10.4.1: INVLPG invalidates all paging-structure-cache entries
	 * of the current PCID, whatever linear address they map */
	for (unsigned l = 2; l <= s->c.levels; l++)
		lru_del_tag(&m->psc[l], m->tag);
	m->last_key[0] = m->last_key[1] = NONE;
}

/* ============================================= 7. events and the feed loop */

static void ev_switch(struct mm_sim *s, uint32_t pi)
{
	struct proc *p = &s->procs[pi];
	for (int i = 0; i < MM_MODE_N; i++) {
		struct mmu *m = &s->m[i];
		if (!m->on)
			continue;
		if (shadowed(i)) {
			int hit;
			uint32_t r = shadow_root(s, m, pi, &hit);
			if (r == NONE32)
				return;
			uint64_t nsync = shadow_sync(s, m);
			if (s->booted) /* the first CR3 load happens at boot, not in the trace */
				vm_exit(s, m, MM_EXIT_CR3,
					(hit ? s->c.c_cr3_hit : s->c.c_cr3_miss) +
					    nsync * s->c.c_sync);
			m->sroot = r;
			if (s->c.asids && s->c.shadow_as_tags)
				tag_switch(m, p, !s->booted);
			else if (s->c.asids &&
				 s->booted) /* one VM tag: the new root needs a flush */
				flush_cr3(m, m->vm_tagged);
			continue;
		}
		tag_switch(m, p, !s->booted);
	}
	s->cur = pi;
	s->booted = 1;
}

/* Guest page-table writes w[0..nw) (a guest fault first if guest_pf) as
 * mode i sees them. */
static void mode_writes(struct mm_sim *s, int i, const struct pw *w, int nw, int guest_pf)
{
	struct mmu *m = &s->m[i];
	if (guest_pf)
		m->st.guest_faults++;
	m->st.pt_writes += (uint64_t)nw;
	if (!shadowed(i))
		return;
	if (guest_pf && nw && (i == MM_SHADOW || !ag_fault_nested(s, &w[0])))
		vm_exit(s, m, MM_EXIT_GUESTPF, s->c.c_guestpf);
	shadow_writes(s, m, s->cur, w, nw);
}

static void ev_writes(struct mm_sim *s, const struct pw *w, int nw, int guest_pf)
{
	for (int i = 0; i < MM_MODE_N; i++)
		if (s->m[i].on)
			mode_writes(s, i, w, nw, guest_pf);
}

/*
 * Shadow paging's INVLPG of va in an out-of-sync table, as KVM's
 * FNAME(invlpg): va's shadow entry alone is dropped and refilled from the
 * guest PTE if that is present, accessed and backed (FNAME(prefetch_gpte),
 * no hidden fault then); the writes to va's page wait no longer, the other
 * writes to the table still do, and the table stays out of sync. Without a
 * shadow table for the entry on the way there is nothing to drop.
 */
static void shadow_invlpg_unsync(struct mm_sim *s, struct mmu *m, uint32_t pi, uint64_t va)
{
	const struct proc *p = &s->procs[pi];
	const unsigned sh = shift_of_level(s->gleaf);
	for (uint32_t i = 0; i < m->npend;) {
		if (m->pend_proc[i] != pi || m->pend[i] >> sh != va >> sh) {
			i++;
			continue;
		}
		m->pend[i] = m->pend[--m->npend];
		m->pend_proc[i] = m->pend_proc[m->npend];
	}
	unsigned l, gl;
	uint64_t spa, *e = shadow_slot(s, m, m->sroot, va, 1, &l);
	if (!e)
		return;
	*e = 0;
	if (gpte_spa(s, m, p, va, &spa, &gl) && l == (gl > s->hleaf ? s->hleaf : gl))
		*e = (spa & ~((1ull << shift_of_level(l)) - 1)) | E_P | E_LEAF;
}

/*
 * The guest's INVLPG of va as mode i runs it (an exit under shadow paging).
 * Shadow paging does what KVM's FNAME(invlpg) (arch/x86/kvm/mmu/
 * paging_tmpl.h) does: in an out-of-sync table see shadow_invlpg_unsync; a
 * table in sync had every write trapped, which already dropped the shadow
 * entry it changed, so nothing more is done. Agile paging's shadowed part
 * is always in sync (its tables are write-protected while shadowed, and a
 * table it stops trapping goes to nested mode with its shadow subtree), so
 * its INVLPG is the exit alone, as shadow paging's in a synced table.
 */
static void mode_invlpg(struct mm_sim *s, int i, uint64_t va)
{
	struct mmu *m = &s->m[i];
	if (i == MM_SHADOW) {
		uint32_t leafnode = guest_leaf_table(s, &s->procs[s->cur], va);
		vm_exit(s, m, MM_EXIT_INVLPG, s->c.c_invlpg);
		if (leafnode != NONE32 && s->gpt.m[leafnode].unsync)
			shadow_invlpg_unsync(s, m, s->cur, va);
	} else if (shadowed(i)) {
		vm_exit(s, m, MM_EXIT_INVLPG, s->c.c_invlpg);
	}
	invlpg(s, m, va);
}

static void ev_invlpg(struct mm_sim *s, uint64_t va)
{
	for (int i = 0; i < MM_MODE_N; i++)
		if (s->m[i].on)
			mode_invlpg(s, i, va);
}

/* Make sure some process is current (traces without events run as pid 0). */
static int need_proc(struct mm_sim *s)
{
	if (s->cur != NONE32 && s->procs[s->cur].live)
		return 0;
	uint32_t pi;
	int rc = proc_get(s, 0, &pi);
	if (rc < 0)
		return rc;
	ev_switch(s, pi);
	return s->err;
}

static int check_va(struct mm_sim *s, uint64_t va)
{
	if (va < s->va_limit)
		return 0;
	return s->err = ok_err_at(s->e, -EINVAL, NULL, OK_ERR_NOPOS,
				  "address 0x%llx is outside the %u-bit user address space of a "
				  "%u-level table; expected a user-space address",
				  (unsigned long long)va, 12 + 9 * s->c.levels, s->c.levels);
}

static void cow_fault(struct mm_sim *s, uint64_t va);

#define MC_RO (1ull << 63) /* mc_gen: the known-mapped page is write-protected */

/* One page translation of an access (write: a store or modify). */
static void access1(struct mm_sim *s, uint64_t va, int ifetch, int write)
{
	if (va >> 12 == s->lp_page[ifetch] && s->lp_gen[ifetch] == s->tlb_gen && !s->ref) {
		s->fast_hits++; /* an L1 hit in every mode, added after the batch */
		if (!ifetch && s->c.data_refs) { /* another line of the same page */
			for (int i = 0; i < MM_MODE_N; i++)
				if (s->m[i].on)
					data_ref(s, &s->m[i], s->m[i].lp_pa | (va & 0xfff));
			s->dline = s->c.dc1_kib ? va >> 6 : NONE;
		}
		return;
	}
	if (check_va(s, va))
		return;
	uint64_t mk = (uint64_t)s->cur << 45 | va >> 12, ro;
	unsigned h = (unsigned)(va >> 12) & 4095;
	if (s->mc_key[h] != mk || (s->mc_gen[h] & ~MC_RO) != s->map_gen || s->ref) {
		const struct proc *p = &s->procs[s->cur];
		uint64_t x = pt_find(&s->gpt, p->root, s->c.levels, va, NULL, NULL);
		if (!x) {
			struct pw w[MAX_PW];
			int nw = os_map(s, s->cur, va, w);
			if (nw < 0)
				return;
			ev_writes(s, w, nw, 1);
		}
		ro = x & E_RO ? MC_RO : 0;
		s->mc_key[h] = mk;
		s->mc_gen[h] = s->map_gen | ro;
	} else {
		ro = s->mc_gen[h] & MC_RO;
	}
	if (ro && write) { /* a store to a copy-on-write page */
		cow_fault(s, va);
		if (s->err)
			return;
		ro = 0;
		s->mc_key[h] = mk;
		s->mc_gen[h] = s->map_gen;
	}
	for (int i = 0; i < MM_MODE_N && !s->err; i++)
		if (s->m[i].on)
			translate(s, &s->m[i], va, ifetch);
	if (!ifetch && s->c.data_refs)
		s->dline = s->c.dc1_kib ? va >> 6 : NONE;
	s->lp_page[ifetch] = va >> 12;
	/* a write-protected data page is no repeat: a store to it must fault */
	s->lp_gen[ifetch] = ro && !ifetch ? s->tlb_gen - 1 : s->tlb_gen;
}

/* Rewrite (COW) or clear the leaf PTE of va in the current process. */
static void pte_change(struct mm_sim *s, uint64_t va, int clear)
{
	uint32_t path[6];
	unsigned ll = 1;
	const struct proc *p = &s->procs[s->cur];
	uint64_t x = pt_find(&s->gpt, p->root, s->c.levels, va, path, &ll);
	if (!x) {
		if (clear)
			return;
		struct pw w[MAX_PW];
		int nw = os_map(s, s->cur, va, w);
		if (nw >= 0)
			ev_writes(s, w, nw, 0);
		return;
	}
	uint64_t size = 1ull << shift_of_level(ll);
	uint64_t *e = &pt_e(&s->gpt, path[ll])[pt_idx(va, ll)];
	frame_put(s, E_PA(x), size);
	/* either way the known-mapped cache is stale: a clear unmaps the page, a
	 * rewrite maps a new, writable frame where a write-protected (say
	 * fork's copy-on-write) one was, and a store to it must not fault */
	s->map_gen++;
	if (clear) {
		*e = 0;
	} else {
		uint64_t pa = pa_alloc(&s->gmem, size);
		if (pa == NONE) {
			sim_oom(s, "guest memory");
			return;
		}
		*e = pa | E_P | E_LEAF;
	}
	struct pw w = {va, path[ll], (uint8_t)ll, 1};
	ev_writes(s, &w, 1, 0);
}

static void ev_exit(struct mm_sim *s, uint32_t pid)
{
	struct proc *p = proc_find(s, pid);
	if (!p || !p->live)
		return;
	uint32_t pi = (uint32_t)(p - s->procs);
	for (int i = MM_SHADOW; i < MM_MODE_N; i += MM_AGILE - MM_SHADOW) {
		struct mmu *m = &s->m[i];
		if (!m->on)
			continue;
		uint64_t key = s->gpt.m[p->root].pa >> 12, v;
		if (lru_get(&m->sroots, key, key, &v)) {
			lru_del(&m->sroots, key, key);
			if ((uint32_t)v == m->sroot)
				m->sroot = NONE32;
			shadow_free_tree(m, s, (uint32_t)v);
		}
		/* forget its unsync tables and pending zaps: they are freed with it */
		for (uint32_t i = 0; i < m->nunsync;)
			if (s->gpt.m[m->unsync[i]].owner == pi)
				m->unsync[i] = m->unsync[--m->nunsync];
			else
				i++;
		for (uint32_t i = 0; i < m->npend;)
			if (m->pend_proc[i] == pi) {
				m->pend[i] = m->pend[--m->npend];
				m->pend_proc[i] = m->pend_proc[m->npend];
			} else {
				i++;
			}
	}
	os_free_tree(s, p->root);
	p->live = 0;
	s->map_gen++;
	if (s->cur == pi)
		s->cur = NONE32;
}

/*
 * A guest full TLB flush of the current PCID (Linux flush_tlb_local: a CR3
 * reload). Every mode drops the current tag's TLB and VA-tagged PSC entries
 * and the PA-tagged PWC (the nested TLB's guest-physical entries stay, as
 * after any CR3 write); shadow paging takes a CR3 exit, which resyncs every
 * out-of-sync table, as an address-space switch does.
 */
static void ev_full_flush(struct mm_sim *s)
{
	for (int i = 0; i < MM_MODE_N; i++) {
		struct mmu *m = &s->m[i];
		if (!m->on)
			continue;
		if (shadowed(i)) {
			uint64_t nsync = shadow_sync(s, m);
			vm_exit(s, m, MM_EXIT_CR3, s->c.c_cr3_hit + nsync * s->c.c_sync);
		}
		flush_tag(m, MM_FLUSH_FULL);
	}
}

/*
 * A store to a write-protected (copy-on-write) page of the current process,
 * as Linux's do_wp_page handles it. The fault is a guest #PF (under shadow
 * paging an exit that reflects it). A frame still mapped elsewhere is
 * copied (wp_page_copy): the PTE is cleared, flushed (flush_tlb_page: one
 * INVLPG, ptep_clear_flush) and set to the new frame: two PTE writes. A
 * frame mapped only here is reused (wp_page_reuse): one PTE write making it
 * writable and no flush; the fault itself dropped the stale TLB entry
 * (SDM 4.10.4.2), and under shadow paging the read-only shadow entry faults
 * once more (a hidden fault) to be made writable.
 */
static void cow_fault(struct mm_sim *s, uint64_t va)
{
	uint32_t path[6];
	unsigned ll = 1;
	uint64_t x = pt_find(&s->gpt, s->procs[s->cur].root, s->c.levels, va, path, &ll);
	uint64_t size = 1ull << shift_of_level(ll), base = va & ~(size - 1);
	uint64_t *e = &pt_e(&s->gpt, path[ll])[pt_idx(va, ll)]; /* chunks never move */
	struct pw w = {base, path[ll], (uint8_t)ll, 1};
	s->tlb_gen++;
	s->map_gen++;
	if (frame_shared(s, E_PA(x))) {
		uint64_t pa = pa_alloc(&s->gmem, size);
		if (pa == NONE) {
			sim_oom(s, "guest memory");
			return;
		}
		frame_put(s, E_PA(x), size);
		*e = 0;
		ev_writes(s, &w, 1, 1);
		ev_invlpg(s, base);
		*e = pa | E_P | E_LEAF;
		w.was_present = 0;
		ev_writes(s, &w, 1, 0);
		return;
	}
	*e = (x & ~E_RO) | E_ABITS; /* pte_mkyoung: made accessed, by software */
	ev_writes(s, &w, 1, 1);
	for (int i = 0; i < MM_MODE_N; i++) {
		struct mmu *m = &s->m[i];
		if (!m->on)
			continue;
		tlb_drop(m, base);
		if (shadowed(i))
			shadow_zap(s, m, m->sroot, base);
	}
}

/*
 * Copy the subtree pnode (level l, first address base) of the current
 * process into cnode of process ci, as Linux's copy_page_range does for a
 * private writable mapping: a table for every table (its entry written in
 * the child), every leaf mapped in the child read-only, and every writable
 * leaf of the parent write-protected in place (ptep_set_wrprotect): a
 * write to the parent's table, which under shadow paging traps or unsyncs
 * like any other. The frames become shared (frame_ref).
 */
static void fork_copy(struct mm_sim *s, uint32_t pnode, uint32_t cnode, unsigned l, uint64_t base,
		      uint32_t ci)
{
	for (unsigned i = 0; i < 512 && !s->err; i++) {
		uint64_t x = pt_e(&s->gpt, pnode)[i], a = base + ((uint64_t)i << shift_of_level(l));
		if (!(x & E_P))
			continue;
		if (x & E_LEAF) {
			if (!(x & E_RO)) {
				pt_e(&s->gpt, pnode)[i] = x | E_RO;
				struct pw w = {a, pnode, (uint8_t)l, 1};
				ev_writes(s, &w, 1, 0);
			}
			if (frame_ref(s, E_PA(x)) < 0)
				return;
			pt_e(&s->gpt, cnode)[i] = (x | E_RO) & ~E_ABITS; /* pte_mkold */
		} else {
			uint32_t c = 0;
			if (guest_table(s, l - 1, ci, &c) < 0)
				return;
			pt_e(&s->gpt, cnode)[i] = (uint64_t)c << 12 | E_P;
			fork_copy(s, E_CHILD(x), c, l - 1, a, ci);
		}
		struct pw w = {a, cnode, (uint8_t)l, 0};
		ev_writes(s, &w, 1, 0);
	}
}

/*
 * fork: the running process gets a child pid with a copy-on-write copy of
 * its address space (fork_copy); then Linux's dup_mmap ends with
 * flush_tlb_mm(oldmm), a full flush of the parent's PCID (ev_full_flush),
 * so no writable TLB entry of a now write-protected page survives. The
 * parent keeps running. Forking into a live pid is refused.
 */
static void ev_fork(struct mm_sim *s, uint32_t pid)
{
	const struct proc *c = proc_find(s, pid);
	uint32_t ci;
	if (c && c->live) {
		s->err = ok_err_at(s->e, -EINVAL, NULL, OK_ERR_NOPOS,
				   "fork into process %u, which is live; expected a new pid", pid);
		return;
	}
	if (proc_get(s, pid, &ci) < 0)
		return;
	fork_copy(s, s->procs[s->cur].root, s->procs[ci].root, s->c.levels, 0, ci);
	s->map_gen++;
	if (!s->err)
		ev_full_flush(s);
}

/*
 * exec: process pid (switched to first if it is not running) drops its
 * address space (its shared frames lose a mapping) and loads a new, empty
 * one: a CR3 write to a new root, as exec_mmap's switch_mm does.
 */
static void ev_exec(struct mm_sim *s, uint32_t pid)
{
	uint32_t pi;
	if (proc_get(s, pid, &pi) < 0)
		return;
	ev_exit(s, pid);
	if (proc_get(s, pid, &pi) < 0)
		return;
	ev_switch(s, pi);
}

/* The span of leaf entries a munmap or mprotect changed (Linux's mmu_gather range). */
struct span {
	uint64_t first, last, stride; /* first and last leaf address; leaf size */
};

/*
 * Clear (munmap) or rewrite in place (mprotect) the present leaves of
 * [lo, hi) in the current process, walking only present subtrees. Linux
 * changes every PTE of the range first and flushes after (zap_pte_range or
 * change_pte_range, then tlb_finish_mmu), so no INVLPG comes between the
 * writes: under shadow paging an out-of-sync leaf table takes them all
 * without exits.
 */
static void range_ptes(struct mm_sim *s, uint32_t node, unsigned l, uint64_t base, uint64_t lo,
		       uint64_t hi, int protect, struct span *sp)
{
	uint64_t span = 1ull << shift_of_level(l);
	for (unsigned i = 0; i < 512 && !s->err; i++) {
		uint64_t a = base + i * span;
		if (a + span <= lo || a >= hi)
			continue;
		uint64_t x = pt_e(&s->gpt, node)[i];
		if (!(x & E_P))
			continue;
		if (x & E_LEAF) {
			if (protect) {
				struct pw w = {a, node, (uint8_t)l, 1};
				ev_writes(s, &w, 1, 0);
			} else {
				pte_change(s, a, 1);
			}
			if (sp->first == NONE)
				sp->first = a;
			sp->last = a;
			sp->stride = span;
		} else {
			range_ptes(s, E_CHILD(x), l - 1, a, lo, hi, protect, sp);
		}
	}
}

/*
 * munmap / mprotect of [lo, hi): the PTE writes, then Linux's
 * flush_tlb_mm_range (arch/x86/mm/tlb.c): a span of more than
 * tlb_single_page_flush_ceiling pages (flush_ceiling, 33) is one full flush,
 * a shorter one an INVLPG of every page in it; nothing changed, no flush.
 */
static void range_op(struct mm_sim *s, uint64_t lo, uint64_t hi, int protect)
{
	struct span sp = {NONE, 0, 4096};
	range_ptes(s, s->procs[s->cur].root, s->c.levels, 0, lo, hi, protect, &sp);
	if (sp.first == NONE || s->err)
		return;
	if ((sp.last - sp.first) / sp.stride + 1 > s->c.flush_ceiling)
		ev_full_flush(s);
	else
		for (uint64_t a = sp.first; a <= sp.last && !s->err; a += sp.stride)
			ev_invlpg(s, a);
}

/*
 * Page aging of [lo, hi) in the current process ("E age"), as Linux's
 * reclaim scan (folio_referenced -> ptep_clear_flush_young), idle page
 * tracking, MGLRU's page-table walk and DAMON age pages: every present leaf
 * whose accessed bit is set is made old by ptep_test_and_clear_young, which
 * writes the entry only if it is young (arch/x86/mm/pgtable.c). Each mode
 * sees the accessed bits its own hardware (or VMM) set (E_AM), so the PTEs
 * written differ by mode. On x86 since Linux 3.18 (b13b1d2d8692, "x86/mm:
 * In the PTE swapout page reclaim case clear the accessed bit instead of
 * flushing the TLB") ptep_clear_flush_young does not flush: a page still in
 * the TLB stays young in hardware, and only the next walk sets its bit
 * again (a locked write, c_ad). age_flush=1 adds the flush Linux did before
 * (and other architectures do): flush_tlb_page, one INVLPG, after each
 * young PTE cleared. Under shadow paging each clear is a write to a
 * write-protected guest table (a PT-write exit that zaps the shadow entry,
 * or the leaf table goes out of sync); the next walk to the page takes a
 * hidden fault in which the VMM sets the guest's bit again. The scan's own
 * reads of the tables are guest data references, not modelled.
 */
static void age_ptes(struct mm_sim *s, uint32_t node, unsigned l, uint64_t base, uint64_t lo,
		     uint64_t hi)
{
	uint64_t span = 1ull << shift_of_level(l);
	for (unsigned i = 0; i < 512 && !s->err; i++) {
		uint64_t a = base + i * span;
		if (a + span <= lo || a >= hi)
			continue;
		uint64_t *e = &pt_e(&s->gpt, node)[i]; /* chunks never move */
		if (!(*e & E_P))
			continue;
		if (!(*e & E_LEAF)) {
			age_ptes(s, E_CHILD(*e), l - 1, a, lo, hi);
			continue;
		}
		struct pw w = {a, node, (uint8_t)l, 1};
		for (int k = 0; k < MM_MODE_N && !s->err; k++) {
			if (!s->m[k].on || !(*e & E_AM(k)))
				continue;
			*e &= ~E_AM(k);
			s->m[k].st.aged++;
			mode_writes(s, k, &w, 1, 0);
			if (s->c.age_flush)
				mode_invlpg(s, k, a);
		}
	}
}

/* A record's pid, size, op and pad as one word: records with equal words
 * take the same repeat test. */
static inline uint64_t rec_tail(const struct mm_rec *o)
{
	uint64_t t;
	memcpy(&t, (const unsigned char *)o + offsetof(struct mm_rec, pid), sizeof(t));
	return t;
}
_Static_assert(offsetof(struct mm_rec, pad) == offsetof(struct mm_rec, pid) + 7 &&
		   sizeof(struct mm_rec) == offsetof(struct mm_rec, pid) + 8,
	       "rec_tail reads pid, size, op and pad");

/*
 * A sequential data run (feed_repeats, data_refs=1 with an L1D): from o
 * on, the records of tail's kind (rec_tail) whose first and last byte lie
 * on the data page (addr - dlo below dspan, see rep_bounds) are each a
 * repeat of the last line *dline (addr - (*dline << 6) - adj below span:
 * counted later as an L1D hit) or an access to another line of the page
 * (its page offset queued in q at *nq, and its line the last one; q has
 * room for 8 more than DQ_MAX). Stops at the first record of another kind
 * or off the page, or with the queue full (*nq == DQ_MAX); returns that
 * record. The hot loop of a sequential trace: one version per instruction
 * set, as dc_pass (run_impls).
 */
#define DQ_MAX 512 /* queued page offsets per data_batch */
struct run_scan {
	uint64_t tail, adj, span, dlo, dspan;
};
typedef const struct mm_rec *(*run_scan_fn)(const struct mm_rec *o, const struct mm_rec *end,
					    const struct run_scan *c, uint64_t *dline, uint16_t *q,
					    size_t *nq);

static const struct mm_rec *run_scan_c(const struct mm_rec *o, const struct mm_rec *end,
				       const struct run_scan *c, uint64_t *dline, uint16_t *q,
				       size_t *nq)
{
	uint64_t lo = (*dline << 6) + c->adj;
	for (;;) {
		while (o < end && rec_tail(o) == c->tail && o->addr - lo < c->span)
			o++;
		if (o == end || rec_tail(o) != c->tail || o->addr - c->dlo >= c->dspan ||
		    *nq == DQ_MAX)
			return o;
		q[(*nq)++] = (uint16_t)(o->addr & 0xfff);
		*dline = o->addr >> 6;
		lo = (*dline << 6) + c->adj;
		o++;
	}
}

#ifdef DC_X86
_Static_assert(sizeof(struct mm_rec) == 24 && offsetof(struct mm_rec, addr) == 0 &&
		   offsetof(struct mm_rec, pid) == 16,
	       "run_scan_avx512 reads addr and the tail as 64-bit words 0 and 2 of 3");

/* 8 records per step: 3 loads, 4 permutes for their addresses and tails,
 * each record's last line (the previous record's, which a run keeps as
 * its line whether repeat or queued) by one shift of the lanes. */
TGT_AVX512 static const struct mm_rec *run_scan_avx512(const struct mm_rec *o,
						       const struct mm_rec *end,
						       const struct run_scan *c, uint64_t *dline,
						       uint16_t *q, size_t *nq)
{
	/* record i's addr is word 3i of the 24, its tail 3i + 2; the first 16
	 * words come from x0 and x1, the rest from x2 */
	const __m512i a01 = _mm512_setr_epi64(0, 3, 6, 9, 12, 15, 0, 0),
		      a2 = _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 8 + 2, 8 + 5),
		      t01 = _mm512_setr_epi64(2, 5, 8, 11, 14, 0, 0, 0),
		      t2 = _mm512_setr_epi64(0, 1, 2, 3, 4, 8 + 1, 8 + 4, 8 + 7);
	const __m512i vt = _mm512_set1_epi64((long long)c->tail),
		      vadj = _mm512_set1_epi64((long long)c->adj),
		      vspan = _mm512_set1_epi64((long long)c->span),
		      vdlo = _mm512_set1_epi64((long long)c->dlo),
		      vdspan = _mm512_set1_epi64((long long)c->dspan),
		      voff = _mm512_set1_epi64(0xfff);
	size_t n = *nq; /* in locals: q's stores could alias *nq and *dline */
	__m512i last = _mm512_set1_epi64((long long)*dline);
	while (end - o >= 8 && n + 8 <= DQ_MAX) {
		const char *p = (const char *)(const void *)o;
		__m512i x0 = _mm512_loadu_si512((const void *)p),
			x1 = _mm512_loadu_si512((const void *)(p + 64)),
			x2 = _mm512_loadu_si512((const void *)(p + 128));
		__m512i a =
		    _mm512_permutex2var_epi64(_mm512_permutex2var_epi64(x0, a01, x1), a2, x2);
		__m512i t =
		    _mm512_permutex2var_epi64(_mm512_permutex2var_epi64(x0, t01, x1), t2, x2);
		unsigned in = _mm512_cmpeq_epi64_mask(t, vt) &
			      _mm512_cmplt_epu64_mask(_mm512_sub_epi64(a, vdlo), vdspan);
		/* lane i: the line before record i (lane 0: the last line) */
		__m512i line = _mm512_srli_epi64(a, 6);
		__m512i prev = _mm512_alignr_epi64(line, last, 7);
		__m512i rel =
		    _mm512_sub_epi64(a, _mm512_add_epi64(_mm512_slli_epi64(prev, 6), vadj));
		unsigned rep = _mm512_cmplt_epu64_mask(rel, vspan);
		if (in == 0xff) { /* the common case: all 8 in the run */
			__mmask8 qm = (__mmask8)~rep;
			/* the queued offsets, packed, 8 stored (q has room past DQ_MAX) */
			_mm_storeu_si128((__m128i *)(void *)(q + n),
					 _mm512_cvtepi64_epi16(_mm512_maskz_compress_epi64(
					     qm, _mm512_and_si512(a, voff))));
			n += (unsigned)__builtin_popcount(qm);
			last = _mm512_permutexvar_epi64(_mm512_set1_epi64(7), line);
			o += 8;
			continue;
		}
		unsigned k = (unsigned)__builtin_ctz(~in); /* records still in the run */
		__mmask8 qm = (__mmask8)(~rep & ((1u << k) - 1));
		_mm_storeu_si128((__m128i *)(void *)(q + n),
				 _mm512_cvtepi64_epi16(
				     _mm512_maskz_compress_epi64(qm, _mm512_and_si512(a, voff))));
		n += (unsigned)__builtin_popcount(qm);
		*nq = n;
		*dline = k ? o[k - 1].addr >> 6
			   : (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(last));
		return o + k;
	}
	*nq = n;
	*dline = (uint64_t)_mm_cvtsi128_si64(_mm512_castsi512_si128(last));
	return run_scan_c(o, end, c, dline, q, nq);
}
#endif

/* The versions, fastest first (the CPU check is dc_impls'). */
static const struct run_impl {
	const char *name;
	run_scan_fn scan;
} run_impls[] = {
#ifdef DC_X86
    {"avx512", run_scan_avx512},
#endif
    {"c", run_scan_c},
};

/*
 * Data accesses at these page offsets of the last data page (lp_pa), each an
 * L1 TLB hit in every mode, through every mode's caches: one mode at a time,
 * as the modes' caches are independent, and within a mode one level at a
 * time: all the lines through L1D, its misses through L2, theirs through
 * the LLC. That is what the line-by-line order gives, since a level sees
 * only the misses of the level above, in their order, and changes nothing
 * above it (no inclusion or back-invalidation is modelled): the same
 * counts, with one set array hot at a time.
 */
static void data_batch(struct mm_sim *s, const uint16_t *off, size_t n)
{
	uint64_t ln[512];
	for (size_t from = 0; from < n; from += 512) {
		size_t b = n - from < 512 ? n - from : 512;
		for (int i = 0; i < MM_MODE_N; i++) {
			struct mmu *m = &s->m[i];
			if (!m->on)
				continue;
			const uint64_t page = m->lp_pa >> 6;
			for (size_t k = 0; k < b; k++)
				ln[k] = page | off[from + k] >> 6;
			size_t m1 = m->dc1.tag ? s->dc_pass(&m->dc1, ln, b) : b;
			size_t m2 = m->dc2.tag ? s->dc_pass(&m->dc2, ln, m1) : m1;
			size_t m3 = m->dc3.tag ? s->dc_pass(&m->dc3, ln, m2) : m2;
			m->st.data_refs += b;
			m->st.data_at[MM_AT_DC1] += b - m1;
			m->st.data_at[MM_AT_DC2] += m1 - m2;
			m->st.data_at[MM_AT_DC3] += m2 - m3;
			m->st.data_at[MM_AT_MEM] += m3;
			m->st.cyc_data += (b - m1) * s->c.c_dc1 + (m1 - m2) * s->c.c_dc2 +
					  (m2 - m3) * s->c.c_dc3 + m3 * s->c.c_mem;
		}
	}
}

/* Whether the access o lies within [base, base + g): lo and span such that
 * addr - lo < span says it (see feed_repeats). */
static inline void rep_bounds(const struct mm_rec *o, uint64_t base, uint64_t g, uint64_t *lo,
			      uint64_t *span)
{
	if (o->size == 0) /* its last byte is addr - 1: offsets 1..g-1 */
		*lo = base + 1, *span = g - 1;
	else /* offsets 0..g - size */
		*lo = base, *span = o->size <= g ? g + 1 - o->size : 0;
}

/*
 * The common case, in a loop of its own: records from r[i] on that repeat
 * their stream's last page within one page (an L1 hit in every mode, see
 * lp_page) are only counted. A run of records of one kind (same op and size,
 * as a trace mostly is) is tested with one subtraction and one comparison
 * each: the access's first and last byte are on page pg exactly when
 * addr - lo < span for the lo and span below. With data_refs=1 a data
 * access repeating the last line (dline) is an L1D hit, only counted; one to
 * another line of the last data page is queued for data_batch. The hot loop
 * pays nothing for events, errors or the mode mix. Returns the index of the
 * first record that needs the full path (n if none).
 */
static size_t feed_repeats(struct mm_sim *s, const struct mm_rec *r, size_t i, size_t n)
{
	enum { QUEUE = DQ_MAX };
	uint16_t q[QUEUE + 8]; /* page offsets of data accesses for data_batch (+ 8:
				* run_scan_avx512 stores 8 at a time) */
	size_t nq = 0;
	/* lp_gen == tlb_gen implies no event since, so a live process */
	uint64_t d = s->lp_gen[0] == s->tlb_gen ? s->lp_page[0] << 12 : NONE, dg = 4096;
	/* data_refs=1: the data page, whose other lines go to the queue */
	const uint64_t dpage = s->c.data_refs ? d : NONE;
	if (s->c.data_refs) /* data: a repeat of the last line, not page */
		d = d != NONE && s->dline != NONE ? s->dline << 6 : NONE, dg = 64;
	/* the last page (line) by access op (ifetch, load, store, modify), and its size */
	uint64_t lp[4] = {s->lp_gen[1] == s->tlb_gen ? s->lp_page[1] << 12 : NONE, d, d, d};
	const uint64_t gran[4] = {4096, dg, dg, dg};
	const struct mm_rec *o = r + i, *end = r + n;
	uint64_t dhits = 0, lo, span;
	while (o < end && o->op <= MM_MODIFY) {
		const struct mm_rec *run = o;
		uint64_t queued = 0; /* records of this run queued, not line repeats */
		if (lp[o->op] != NONE && o->op != MM_IFETCH && dpage != NONE && s->c.dc1_kib) {
			/* a sequential data run: the repeats of each line, and each
			 * next line of the page queued, in one loop */
			struct run_scan c = {.tail = rec_tail(o)};
			rep_bounds(o, lp[o->op], 64, &lo, &c.span);
			rep_bounds(o, dpage, 4096, &c.dlo, &c.dspan);
			c.adj = lo & 63; /* 1 for size 0 (see rep_bounds) */
			uint64_t dline = s->dline;
			size_t nq0 = nq;
			for (;;) {
				o = s->run_scan(o, end, &c, &dline, q, &nq);
				queued += nq - nq0;
				if (nq < QUEUE)
					break;
				data_batch(s, q, nq);
				nq = nq0 = 0;
			}
			s->dline = dline, lp[1] = lp[2] = lp[3] = dline << 6;
		} else if (lp[o->op] != NONE) {
			uint64_t tail = rec_tail(o);
			rep_bounds(o, lp[o->op], gran[o->op], &lo, &span);
			while (o < end && rec_tail(o) == tail && o->addr - lo < span)
				o++;
		}
		if (o != run) {
			if (run->op != MM_IFETCH)
				dhits += (uint64_t)(o - run) - queued;
			continue;
		}
		/* another line of the data page */
		if (dpage == NONE || o->op == MM_IFETCH)
			break;
		rep_bounds(o, dpage, 4096, &lo, &span);
		if (o->addr - lo >= span)
			break;
		if (nq == QUEUE) {
			data_batch(s, q, nq);
			nq = 0;
		}
		q[nq++] = (uint16_t)(o->addr & 0xfff);
		if (s->c.dc1_kib) /* the new MRU line of every mode's L1D */
			s->dline = o->addr >> 6, lp[1] = lp[2] = lp[3] = s->dline << 6;
		o++;
	}
	data_batch(s, q, nq);
	if (s->c.data_refs)
		s->fast_dhits += dhits;
	s->fast_hits += (size_t)(o - r) - i;
	return (size_t)(o - r);
}

/* Add the counts kept out of the per-access path (fast hits, derived totals). */
static void settle(struct mm_sim *s)
{
	for (int i = 0; i < MM_MODE_N; i++) {
		struct mm_stats *st = &s->m[i].st;
		if (!s->m[i].on)
			continue;
		st->l1_hits += s->fast_hits;
		st->accesses = st->l1_hits + st->l1_misses;
		st->cyc_tlb = st->accesses * s->c.c_l1 + st->l1_misses * s->c.c_l2;
		st->data_refs += s->fast_dhits;
		st->data_at[MM_AT_DC1] += s->fast_dhits;
		st->cyc_data += s->fast_dhits * s->c.c_dc1;
	}
	s->fast_hits = s->fast_dhits = 0;
}

/* -------- several VMs */

#define SWAP(a, b)                                                                                 \
	do {                                                                                       \
		__typeof__(a) t_ = (a);                                                            \
		(a) = (b);                                                                         \
		(b) = t_;                                                                          \
	} while (0)

/* Exchange the running VM's state (in s) with the saved state v. */
static void vm_swap(struct mm_sim *s, struct vm_save *v)
{
	struct mmu *m = &s->m[MM_SHADOW], *a = &s->m[MM_AGILE];
	SWAP(a->sroots, v->ag_sroots);
	SWAP(a->sroot, v->ag_sroot);
	SWAP(s->procs, v->procs);
	SWAP(s->nprocs, v->nprocs);
	SWAP(s->pcap, v->pcap);
	SWAP(s->phash, v->phash);
	SWAP(s->hcap, v->hcap);
	SWAP(s->cur, v->cur);
	SWAP(s->booted, v->booted);
	SWAP(s->hroot, v->hroot);
	SWAP(m->sroots, v->sroots);
	SWAP(m->sroot, v->sroot);
	SWAP(m->unsync, v->unsync);
	SWAP(m->nunsync, v->nunsync);
	SWAP(m->unsync_cap, v->unsync_cap);
	SWAP(m->pend, v->pend);
	SWAP(m->pend_proc, v->pend_proc);
	SWAP(m->npend, v->npend);
	SWAP(m->pend_cap, v->pend_cap);
}

/* A new VM's saved state: no processes, an empty host table. */
static int vm_create(struct mm_sim *s, struct vm_save *v)
{
	v->used = 1;
	v->hcap = 64;
	v->cur = NONE32;
	v->sroot = v->ag_sroot = NONE32;
	v->phash = calloc(v->hcap, 4);
	if (!v->phash || (s->m[MM_SHADOW].on && lru_init(&v->sroots, s->c.shadow_roots, 0)) ||
	    (s->m[MM_AGILE].on && lru_init(&v->ag_sroots, s->c.shadow_roots, 0)))
		return sim_oom(s, "VM state");
	uint64_t pa = pa_alloc(&s->hmem, 4096);
	v->hroot = pa == NONE ? NONE32 : pt_new(&s->hpt, pa, s->c.host_levels, 0);
	return v->hroot == NONE32 ? sim_oom(s, "host memory") : 0;
}

/* The running VM's counts since it was switched in go to its own stats. */
static void vm_account(struct mm_sim *s)
{
	settle(s);
	for (int i = 0; i < MM_MODE_N; i++) {
		if (!s->m[i].on)
			continue;
		mm_sim_vm_stats(s, s->vm, (enum mm_mode)i, &s->vms[s->vm].st[i]);
		s->vsnap[i] = s->m[i].st;
	}
}

/*
 * The host runs VM id from now on. Natively (the same workloads as
 * processes of one machine) this is a CR3 write to that VM's process:
 * a flush without PCIDs. Shadow and nested keep the VMs' TLB, PWC and
 * nested-TLB entries apart by VM tag (VPID/ASID = the VM id, asids > 0;
 * shadow with shadow_as_tags draws one ASID per address space from the
 * shared pool instead), or flush them all without tags (asids=0), as on
 * every VM exit. The switch itself is the host's scheduling, the same for
 * shadow and nested, and charges no exit.
 */
static void ev_vm(struct mm_sim *s, uint32_t id)
{
	if (id >= MM_MAX_VMS || id == s->vm)
		return;
	if (!s->vms[id].used && vm_create(s, &s->vms[id]) < 0)
		return;
	vm_account(s);
	vm_swap(s, &s->vms[s->vm]); /* save the running VM */
	vm_swap(s, &s->vms[id]);    /* and load the next */
	s->vm = id;
	s->vm_mask |= 1u << id;
	s->map_gen++; /* the known-mapped cache is by process index */
	s->dline = NONE;
	const struct proc *p = s->cur != NONE32 && s->procs[s->cur].live ? &s->procs[s->cur] : NULL;
	for (int i = 0; i < MM_MODE_N; i++) {
		struct mmu *m = &s->m[i];
		if (!m->on)
			continue;
		m->last_key[0] = m->last_key[1] = NONE;
		if (i == MM_NATIVE) {
			if (m->ntags <= 1)
				flush_all(m, MM_FLUSH_CR3, 0);
		} else if (!s->c.asids) {
			flush_all(m, MM_FLUSH_VMEXIT, 1);
		} else if (i == MM_NESTED || !s->c.shadow_as_tags) {
			m->vmtag = id;
			m->vm_tagged = 1;
		}
		m->tag = m->vmtag << 12;
		if (i == MM_AGILE && !m->vmtag) /* ASIDs per address space: its nested
						 * part's PSC (by gPA) is not VM-tagged */
			for (int l = 0; l < 6; l++)
				lru_flush(&m->npsc[l]);
		if (p && (i != MM_SHADOW || (s->c.asids && s->c.shadow_as_tags)))
			tag_switch(m, (struct proc *)p, 1);
	}
}

int mm_sim_feed(struct mm_sim *s, const struct mm_rec *r, size_t n, struct ok_err *e)
{
	s->e = e;
	if (s->err)
		return s->err;
	for (size_t i = 0; i < n && !s->err; i++) {
		if (!s->ref)
			i = feed_repeats(s, r, i, n);
		if (i == n)
			break;
		/* repeats neither walk nor write, so the epoch may end at the next record */
		while (s->ag_next && s->recs + i >= s->ag_next) {
			ag_epoch(s);
			s->ag_next += s->c.agile_epoch;
		}
		const struct mm_rec *o = &r[i];
		uint32_t pi;
		if (o->op <= MM_MODIFY) {
			int ifetch = o->op == MM_IFETCH;
			uint64_t last = o->addr + o->size - 1;
			if (need_proc(s))
				break;
			int write = o->op >= MM_STORE;
			access1(s, o->addr, ifetch, write);
			if ((last ^ o->addr) >> 12 && !s->err) /* crosses into the next page */
				access1(s, last, ifetch, write);
			continue;
		}
		s->tlb_gen++; /* events may flush, invalidate or unmap */
		switch (o->op) {
		case MM_SWITCH:
			if (proc_get(s, o->pid, &pi) < 0)
				break;
			if (pi != s->cur)
				ev_switch(s, pi);
			break;
		case MM_CREATE:
			proc_get(s, o->pid, &pi);
			break;
		case MM_EXIT:
			ev_exit(s, o->pid);
			break;
		case MM_PTWRITE:
		case MM_FAULT:
			if (need_proc(s) || check_va(s, o->addr))
				break;
			if (o->op == MM_PTWRITE) {
				pte_change(s, o->addr, 0);
			} else if (!pt_find(&s->gpt, s->procs[s->cur].root, s->c.levels, o->addr,
					    NULL, NULL)) {
				struct pw w[MAX_PW];
				int nw = os_map(s, s->cur, o->addr, w);
				if (nw >= 0)
					ev_writes(s, w, nw, 1);
			}
			break;
		case MM_INVLPG:
			if (need_proc(s) || check_va(s, o->addr))
				break;
			ev_invlpg(s, o->addr);
			break;
		case MM_VM:
			ev_vm(s, o->pid);
			break;
		case MM_FORK:
			if (need_proc(s) == 0)
				ev_fork(s, o->pid);
			break;
		case MM_EXEC:
			ev_exec(s, o->pid);
			break;
		case MM_FLUSH:
			if (need_proc(s) == 0)
				ev_full_flush(s);
			break;
		case MM_UNMAP:
		case MM_MPROTECT:
		case MM_AGE:
			if (need_proc(s))
				break;
			{
				uint64_t hi = o->addr + o->len < o->addr ? NONE : o->addr + o->len;
				hi = hi > s->va_limit ? s->va_limit : hi;
				if (o->op == MM_AGE)
					age_ptes(s, s->procs[s->cur].root, s->c.levels, 0, o->addr,
						 hi);
				else
					range_op(s, o->addr, hi, o->op == MM_MPROTECT);
			}
			break;
		default:
			s->err =
			    ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "bad record op %u", o->op);
		}
	}
	s->recs += n;
	settle(s);
	return s->err;
}

/* ============================================= setup */

static int mmu_init(struct mm_sim *s, struct mmu *m, enum mm_mode mode)
{
	const struct mm_config *c = &s->c;
	memset(m, 0, sizeof(*m));
	m->mode = mode;
	m->on = 1;
	uint64_t tsize =
	    mode == MM_NATIVE || c->guest_page < c->host_page ? c->guest_page : c->host_page;
	m->tshift = tsize == 4096 ? 12 : tsize == (2u << 20) ? 21 : 30;
	uint32_t l2e = tsize == 4096	     ? c->l2_entries
		       : tsize == (2u << 20) ? c->l2_2m_entries
					     : c->l2_1g_entries;
	uint32_t l2w = tsize == 4096	     ? c->l2_ways
		       : tsize == (2u << 20) ? c->l2_2m_ways
					     : c->l2_1g_ways;
	int rc = lru_init(&m->l1d, c->l1d_entries, c->l1d_ways) |
		 lru_init(&m->l1i, c->l1i_entries, c->l1i_ways) | lru_init(&m->l2, l2e, l2w) |
		 dc_init(&m->dc1, c->dc1_kib * 16, c->dc1_ways) |
		 dc_init(&m->dc2, c->dc2_kib * 16, c->dc2_ways) |
		 dc_init(&m->dc3, c->dc3_kib * 16, c->dc3_ways);
	if (c->pwc == MM_PWC_PA || c->pwc == MM_PWC_2D)
		rc |= lru_init(&m->pwc, c->pwc_entries, c->pwc_ways);
	if (c->pwc == MM_PWC_VA)
		for (int l = 2; l <= 5; l++)
			rc |=
			    lru_init(&m->psc[l], c->pwc_entries, c->pwc_ways) |
			    (mode >= MM_NESTED ? lru_init(&m->npsc[l], c->pwc_entries, c->pwc_ways)
					       : 0);
	if (mode >= MM_NESTED) /* nested, and agile's nested part */
		rc |= lru_init(&m->ntlb, c->ntlb_entries, c->ntlb_ways);
	if (shadowed(mode))
		rc |= lru_init(&m->sroots, c->shadow_roots, 0);
	m->ntags = shadowed(mode) ? (c->shadow_as_tags ? c->asids : 0) : c->pcids;
	m->gen = 1;
	m->tag_next = 1;
	m->sroot = NONE32;
	m->last_key[0] = m->last_key[1] = NONE;
	return rc ? -ENOMEM : 0;
}

static void mmu_free(struct mmu *m)
{
	lru_free(&m->l1d);
	lru_free(&m->l1i);
	lru_free(&m->l2);
	lru_free(&m->pwc);
	for (int i = 0; i < 6; i++) {
		lru_free(&m->psc[i]);
		lru_free(&m->npsc[i]);
	}
	lru_free(&m->ntlb);
	dc_free(&m->dc1);
	dc_free(&m->dc2);
	dc_free(&m->dc3);
	lru_free(&m->sroots);
	pt_destroy(&m->sp);
	free(m->unsync);
	free(m->pend);
	free(m->pend_proc);
}

int mm_sim_new(struct mm_sim **sp, const struct mm_config *c, unsigned mask, uint64_t seed,
	       struct ok_err *e)
{
	*sp = NULL;
	int rc = mm_config_check(c, e);
	if (rc < 0)
		return rc;
	struct mm_sim *s = calloc(1, sizeof(*s));
	if (!s)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	s->c = *c;
	s->modes = mask & ((1u << MM_MODE_N) - 1);
	if (s->modes & (1u << MM_AGILE))
		s->ag_next = c->agile_epoch;
	s->cur = NONE32;
	s->gleaf = level_of(c->guest_page);
	s->hleaf = level_of(c->host_page);
	s->va_limit = 1ull << (12 + 9 * c->levels - 1); /* the lower (user) half */
	s->hcap = 64;
	s->vms[0].used = 1;
	s->vm_mask = 1;
	s->map_gen = 1;
	s->lp_page[0] = s->lp_page[1] = NONE;
	s->dline = NONE;
	for (size_t i = 0; !s->dc_pass; i++) /* the last version ("c") always runs */
		if (dc_impls[i].valid())
			mm_sim_dc_impl(s, dc_impls[i].name);
	s->phash = calloc(s->hcap, 4);
	s->hl_mask = 1023;
	s->hl = calloc(s->hl_mask + 1, sizeof(*s->hl));
	s->shr_mask = 63;
	s->shr = calloc(s->shr_mask + 1, sizeof(*s->shr));
	rc = s->phash && s->hl && s->shr ? 0 : -ENOMEM;
	if (!rc)
		rc = pa_init(&s->gmem, c->guest_mem, seed);
	if (!rc)
		rc = pa_init(&s->hmem, c->host_mem, seed ^ 0x5bd1e995ull);
	for (int i = 0; i < MM_MODE_N && !rc; i++)
		if (s->modes & (1u << i))
			rc = mmu_init(s, &s->m[i], (enum mm_mode)i);
	if (!rc) {
		uint64_t pa = pa_alloc(&s->hmem, 4096);
		s->hroot = pt_new(&s->hpt, pa, c->host_levels, 0);
		rc = s->hroot == NONE32 ? -ENOMEM : 0;
	}
	if (rc) {
		mm_sim_free(s);
		return ok_err_at(e, rc, NULL, OK_ERR_NOPOS, "cannot set up the simulator");
	}
	*sp = s;
	return 0;
}

void mm_sim_free(struct mm_sim *s)
{
	if (!s)
		return;
	for (unsigned k = 0; k < MM_MAX_VMS; k++) {
		struct vm_save *v = &s->vms[k];
		if (k == s->vm || !v->used)
			continue;
		free(v->procs);
		free(v->phash);
		lru_free(&v->sroots);
		lru_free(&v->ag_sroots);
		free(v->unsync);
		free(v->pend);
		free(v->pend_proc);
	}
	for (int i = 0; i < MM_MODE_N; i++)
		mmu_free(&s->m[i]);
	pt_destroy(&s->gpt);
	pt_destroy(&s->hpt);
	free(s->hlt);
	free(s->hl);
	for (uint32_t i = 0; i < s->hmemo_cap; i++)
		free(s->hmemo[i]);
	free(s->hmemo);
	free(s->shr);
	pa_destroy(&s->gmem);
	pa_destroy(&s->hmem);
	free(s->procs);
	free(s->phash);
	free(s);
}

void mm_sim_log(struct mm_sim *s, mm_walk_fn fn, void *ctx, int all, uint64_t addr)
{
	s->log_fn = fn;
	s->log_ctx = ctx;
	s->log_all = all;
	s->log_page = addr >> 12;
}

const struct mm_stats *mm_sim_stats(const struct mm_sim *s, enum mm_mode m)
{
	return &s->m[m].st;
}

void mm_sim_reference(struct mm_sim *s)
{
	s->ref = 1;
}

const char *mm_sim_dc_impl(struct mm_sim *s, const char *name)
{
	for (size_t i = 0; i < sizeof(dc_impls) / sizeof(dc_impls[0]); i++) {
		const struct dc_impl *d = &dc_impls[i];
		if (!name) {
			if (d->pass == s->dc_pass)
				return d->name;
		} else if (!strcmp(name, d->name)) {
			if (!d->valid())
				return NULL;
			s->dc_pass = d->pass;
			/* the run scan of the same name, else the C one (the last) */
			size_t r = 0;
			while (strcmp(run_impls[r].name, name) && strcmp(run_impls[r].name, "c"))
				r++;
			s->run_scan = run_impls[r].scan;
			return d->name;
		}
	}
	return NULL;
}

unsigned mm_sim_modes(const struct mm_sim *s)
{
	return s->modes;
}

const struct mm_config *mm_sim_config(const struct mm_sim *s)
{
	return &s->c;
}

void mm_sim_reset_stats(struct mm_sim *s)
{
	for (int i = 0; i < MM_MODE_N; i++) {
		uint64_t live = s->m[i].st.shadow_pages;
		memset(&s->m[i].st, 0, sizeof(s->m[i].st));
		s->m[i].st.shadow_pages = live;
		s->vsnap[i] = s->m[i].st;
		for (unsigned k = 0; k < MM_MAX_VMS; k++)
			memset(&s->vms[k].st[i], 0, sizeof(s->vms[k].st[i]));
	}
}

unsigned mm_sim_vms(const struct mm_sim *s)
{
	return s->vm_mask;
}

void mm_sim_vm_stats(const struct mm_sim *s, unsigned vm, enum mm_mode m, struct mm_stats *out)
{
	if (vm >= MM_MAX_VMS || !(s->vm_mask & (1u << vm)) || !s->m[m].on) {
		memset(out, 0, sizeof(*out));
		return;
	}
	if (vm != s->vm) {
		*out = s->vms[vm].st[m];
		return;
	}
	/* the running VM: its saved counts plus those since it was switched in
	 * (out may be its saved counts) */
	struct mm_stats d;
	mm_stats_sub(&d, &s->m[m].st, &s->vsnap[m]);
	uint64_t x[sizeof(d) / 8], y[sizeof(d) / 8];
	memcpy(x, &s->vms[vm].st[m], sizeof(x));
	memcpy(y, &d, sizeof(y));
	for (size_t k = 0; k < sizeof(x) / 8; k++)
		x[k] += y[k];
	memcpy(out, x, sizeof(x));
	out->shadow_pages = d.shadow_pages;
}

_Static_assert(sizeof(struct mm_stats) % sizeof(uint64_t) == 0, "mm_stats is all uint64_t");

void mm_stats_sub(struct mm_stats *d, const struct mm_stats *a, const struct mm_stats *b)
{
	uint64_t live = a->shadow_pages, x[sizeof(*a) / 8], y[sizeof(*a) / 8];
	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	for (size_t i = 0; i < sizeof(x) / 8; i++)
		x[i] -= y[i];
	memcpy(d, x, sizeof(x));
	d->shadow_pages = live;
}

uint64_t mm_stats_cycles(const struct mm_stats *st)
{
	return st->cyc_tlb + st->cyc_walk + st->cyc_exit;
}

uint64_t mm_stats_exits(const struct mm_stats *st)
{
	uint64_t n = 0;
	for (int i = 0; i < MM_EXIT_N; i++)
		n += st->exits[i];
	return n;
}
