/*
 * header.c: the .rpm container: lead, signature header, main header.
 *
 * Divisions: the header blob checks
 * (rpm 4.18's hdrblobInit, hdrblobVerifyRegion, hdrblobVerifyInfo, with the
 * same limits, in the same order); lookups. The package reader is package.c.
 *
 * We wrote this rather than link librpm because librpm wants its macro
 * configuration, a keyring and an rpmdb even to read one file, and costs
 * milliseconds per package to initialise; the format itself is small.
 * Every message names the byte offset in the file and what was expected.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "io.h"
#include "rpmq.h"

static const uint8_t hdr_magic[8] = {0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0};

#define HDR_TAGS_MAX  0xffff	 /* main header il limit */
#define HDR_DATA_MAX  0x0fffffff /* main header dl limit, 256 MiB - 1 */
#define SIG_TAGS_MAX  32
#define SIG_DATA_MAX  (64u << 20)
#define HDR_BYTES_MAX (256u << 20) /* headerMaxbytes */
#define ARRAY_MAX     0x000fffff

static const int type_size[] = {0, 1, 1, 2, 4, 8, -1, 1, -1, -1};
static const int type_align[] = {1, 1, 1, 2, 4, 8, 1, 1, 1, 1};

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* ---- tag table lookups ---------------------------------------------------- */

const struct rpm_tag_info *rpm_tag_by_name(const char *name)
{
	if (strncasecmp(name, "RPMTAG_", 7) == 0)
		name += 7;
	for (unsigned i = 0; i < rpm_tag_table_n; i++)
		if (strcasecmp(rpm_tag_table[i].name, name) == 0)
			return &rpm_tag_table[i];
	/* rpm 4.18's names that newer rpm renamed or dropped (PAYLOADDIGEST,
	 * HDRID, PKGID, SOURCEPKGID, HEADERIMAGE, ...): same numbers */
	for (unsigned i = 0; i < rpm418_tag_table_n; i++)
		if (strcasecmp(rpm418_tag_table[i].name, name) == 0)
			return &rpm418_tag_table[i];
	return NULL;
}

const char *rpm_tag_name418(uint32_t tag)
{
	const char *best = NULL;
	for (unsigned k = 0; k < rpm418_tag_table_n; k++)
		if (rpm418_tag_table[k].tag == tag &&
		    (!best || strlen(rpm418_tag_table[k].name) > strlen(best)))
			best = rpm418_tag_table[k].name;
	return best;
}

static int cmp_tagnum(const void *a, const void *b)
{
	const struct rpm_tag_info *x = *(const struct rpm_tag_info *const *)a;
	const struct rpm_tag_info *y = *(const struct rpm_tag_info *const *)b;
	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x < y ? -1 : x > y; /* the canonical name comes first in the table */
}

static const struct rpm_tag_info *by_num[1024];
static unsigned by_num_n;
static pthread_once_t by_num_once = PTHREAD_ONCE_INIT;

/* Once per process (pthread_once: -j's worker threads look tags up too). */
static void by_num_init(void)
{
	for (unsigned i = 0; i < rpm_tag_table_n && i < 1024; i++)
		by_num[i] = &rpm_tag_table[i];
	by_num_n = rpm_tag_table_n < 1024 ? rpm_tag_table_n : 1024;
	qsort(by_num, by_num_n, sizeof(by_num[0]), cmp_tagnum);
}

/* By number: binary search in a by-number index built on first use (every
 * header entry is type-checked, so a linear scan showed in profiles). */
const struct rpm_tag_info *rpm_tag_by_num(uint32_t tag)
{
	pthread_once(&by_num_once, by_num_init);
	size_t lo = 0, hi = by_num_n;
	const struct rpm_tag_info *const *idx = by_num;
	unsigned n = by_num_n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (idx[mid]->tag < tag)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && idx[lo]->tag == tag ? idx[lo] : NULL;
}

static int is_string_type(uint32_t t)
{
	return t == RPM_STRING || t == RPM_STRING_ARRAY || t == RPM_I18NSTRING;
}

/* rpm 4.18's tag numbers run from 61 to 5101: types by number in a dense
 * table, built once (every entry of every header is type-checked, and the
 * binary search this replaces was 6% of a 2,000-package query). */
#define TYPE418_TAGS 8192
static uint8_t type418[TYPE418_TAGS];
static pthread_once_t type418_once = PTHREAD_ONCE_INIT;

static void type418_init(void)
{
	/* backwards: with two names for one number the first one's type wins,
	 * as it did in the binary search */
	for (unsigned i = rpm418_tag_table_n; i-- > 0;) {
		const struct rpm_tag_info *t = &rpm418_tag_table[i];
		if (t->tag >= TYPE418_TAGS)
			abort(); /* BUG: a generated table beyond the dense range */
		type418[t->tag] = (uint8_t)t->type;
	}
}

/* rpm 4.18's hdrchkTagType: a known tag stored with another type is
 * refused, except among string types; tags rpm 4.18 does not know, or
 * knows without a type (its "internal" ones), pass. */
enum rpm_type rpm_tag_type_418(uint32_t tag)
{
	pthread_once(&type418_once, type418_init);
	return tag < TYPE418_TAGS ? (enum rpm_type)type418[tag] : RPM_NULL;
}

/* The check for one entry; the caller has run type418_init (once per
 * header, not per entry: pthread_once on every entry was 3% of a
 * 2,000-package query). */
static int tag_type_ok_418(uint32_t tag, uint32_t type)
{
	enum rpm_type t = tag < TYPE418_TAGS ? (enum rpm_type)type418[tag] : RPM_NULL;
	return t == RPM_NULL || t == type || (is_string_type(t) && is_string_type(type));
}

/* ---- blob checks ---------------------------------------------------------- */

/* Bytes taken by count strings at p, or -1 when a NUL is missing before end
 * (rpm's strtaglen). */
static long str_len(const uint8_t *p, uint32_t count, const uint8_t *end)
{
	const uint8_t *s = p;
	while (count-- > 0) {
		const uint8_t *z = memchr(s, 0, (size_t)(end - s));
		if (!z)
			return -1;
		s = z + 1;
	}
	return s - p;
}

static long data_len(uint32_t type, const uint8_t *p, uint32_t count, const uint8_t *end)
{
	switch (type) {
	case RPM_STRING:
		if (count != 1)
			return -1;
		return str_len(p, 1, end);
	case RPM_STRING_ARRAY:
	case RPM_I18NSTRING:
		return str_len(p, count, end);
	default: {
		uint64_t len = (uint64_t)type_size[type] * count;
		if (len > (uint64_t)(end - p))
			return -1;
		return (long)len;
	}
	}
}

/* Entries sort by tag, equal tags in index order: rpm's headerSort is
 * glibc's qsort, a merge sort (stable) for headers of this size. */
int rpm_ent_cmp(const void *a, const void *b)
{
	const struct rpm_entry *x = a, *y = b;
	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* The data bytes rpm's hdrblobImport accounts for entries [from, to): each
 * entry's length after aligning a running total for its type (regionSwab
 * with fast = 0), starting at dl0. rpm then
 * demands that the total (plus the 16-byte region trailer) is exactly the
 * header's dl: "hdr load: BAD" otherwise. That catches data the index does
 * not account for: an early NUL inside a string, a reduced count. */
static int64_t swab_len(const struct rpm_hdr *h, uint32_t from, uint32_t to, int64_t dl0)
{
	/* Every entry here passed the hdrblobVerifyInfo loop, which implies
	 * regionSwab's own checks (type 1..9, aligned offset below dl, count
	 * and length within dl) and measured en->len with the same strtaglen
	 * rule: the lengths are reused, not measured twice. */
	int64_t dl = dl0;
	for (uint32_t i = from; i < to; i++) {
		const struct rpm_entry *en = &h->ents[i];
		int ts = type_size[en->type];
		if (ts > 1 && dl % ts)
			dl += ts - dl % ts;
		dl += en->len;
	}
	return dl;
}

/* rpm_hdr_parse and rpm_hdr_parse_borrowed: own says whether h takes raw
 * (freed by rpm_hdr_free, or here on failure). */
static int hdr_parse(struct rpm_hdr *h, uint8_t *raw, size_t len, uint32_t region, int exact,
		     const char *path, long long file_off, int own, struct ok_err *e)
{
	const char *what = region == TAG_HEADERSIGNATURES ? "signature header" : "header";
	memset(h, 0, sizeof(*h));
	h->borrowed = !own;
	h->raw = raw;
	h->raw_len = len;
	h->file_off = file_off;
	int rc = -EINVAL;
	if (len < 16) {
		rc = ok_err_at(e, -EINVAL, path, file_off, "%s: truncated, %zu of 16 bytes", what,
			       len);
		goto bad;
	}
	if (memcmp(raw, hdr_magic, 8) != 0) {
		rc =
		    ok_err_at(e, -EINVAL, path, file_off,
			      "%s magic: BAD, found %02x%02x%02x%02x%02x%02x%02x%02x, expected "
			      "8eade80100000000",
			      what, raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7]);
		goto bad;
	}
	uint32_t il = be32(raw + 8), dl = be32(raw + 12);
	uint32_t il_max = region == TAG_HEADERSIGNATURES ? SIG_TAGS_MAX : HDR_TAGS_MAX;
	uint32_t dl_max = region == TAG_HEADERSIGNATURES ? SIG_DATA_MAX : HDR_DATA_MAX;
	if (il > il_max) {
		rc = ok_err_at(e, -EINVAL, path, file_off + 8,
			       "%s tags: BAD, no. of tags(%u) out of range, expected <= %u", what,
			       il, il_max);
		goto bad;
	}
	if (dl > dl_max) {
		rc = ok_err_at(e, -EINVAL, path, file_off + 12,
			       "%s data: BAD, no. of bytes(%u) out of range, expected <= %u", what,
			       dl, dl_max);
		goto bad;
	}
	uint64_t need = 16 + 16ull * il + dl;
	if (need - 8 >= HDR_BYTES_MAX || need != len) {
		rc = ok_err_at(e, -EINVAL, path, file_off,
			       "%s blob size(%llu): BAD, 8 + 16 * il(%u) + dl(%u), have %zu bytes",
			       what, (unsigned long long)(need - 8), il, dl, len - 8);
		goto bad;
	}
	h->il = il;
	h->dl = dl;
	h->data = raw + 16 + 16ull * il;
	const uint8_t *ds = h->data, *de = h->data + dl;
	const uint8_t *pe = raw + 16;
	long long idx_off = file_off + 16;
	long long data_off = file_off + 16 + 16ll * il;

	/* Region (hdrblobVerifyRegion). */
	uint32_t ril = 0, rdl = 0;
	if (il < 1) {
		rc =
		    ok_err_at(e, -EINVAL, path, idx_off, "%s region: no tags, expected >= 1", what);
		goto bad;
	}
	uint32_t t0 = be32(pe), ty0 = be32(pe + 4), cnt0 = be32(pe + 12);
	int32_t off0 = (int32_t)be32(pe + 8);
	uint32_t rtag = region;
	/* No region tag first: a legacy header, accepted as rpm does. */
	if (t0 == rtag) {
		if (ty0 != RPM_BIN || cnt0 != 16) {
			rc = ok_err_at(e, -EINVAL, path, idx_off,
				       "%s region tag: BAD, tag %u type %u offset %d count %u, "
				       "expected type 7 count 16",
				       what, t0, ty0, off0, cnt0);
			goto bad;
		}
		if (off0 < 0 || (int64_t)off0 + 16 > dl) {
			rc = ok_err_at(e, -EINVAL, path, idx_off,
				       "%s region offset: BAD, tag %u type %u offset %d count %u, "
				       "expected offset + 16 <= dl %u",
				       what, t0, ty0, off0, cnt0, dl);
			goto bad;
		}
		const uint8_t *tr = ds + off0;
		uint32_t tt = be32(tr), tty = be32(tr + 4), tcnt = be32(tr + 12);
		int64_t toff = -(int64_t)(int32_t)be32(tr + 8);
		rdl = (uint32_t)off0 + 16;
		if (rtag == TAG_HEADERSIGNATURES && tt == TAG_HEADERIMAGE)
			tt = TAG_HEADERSIGNATURES;
		if (tt != rtag || tty != RPM_BIN || tcnt != 16) {
			rc = ok_err_at(e, -EINVAL, path, data_off + off0,
				       "%s region trailer: BAD, tag %u type %u offset %lld count "
				       "%u, expected tag %u type 7 count 16",
				       what, tt, tty, (long long)toff, tcnt, rtag);
			goto bad;
		}
		if (toff < 0 || toff % 16 || toff / 16 > il || rdl > dl) {
			rc = ok_err_at(e, -EINVAL, path, data_off + off0,
				       "%s region %u size: BAD, ril %lld il %u rdl %u dl %u", what,
				       rtag, (long long)(toff / 16), il, rdl, dl);
			goto bad;
		}
		ril = (uint32_t)(toff / 16);
		if (exact && !(il == ril && dl == rdl)) {
			rc = ok_err_at(e, -EINVAL, path, data_off + off0,
				       "%s region %u: tag number mismatch il %u ril %u dl %u rdl "
				       "%u, expected the region to cover the header",
				       what, rtag, il, ril, dl, rdl);
			goto bad;
		}
		h->region_tag = rtag;
	}

	/* Entries (hdrblobVerifyInfo). */
	int typechk = h->region_tag == TAG_HEADERIMMUTABLE || h->region_tag == TAG_HEADERIMAGE;
	if (typechk)
		pthread_once(&type418_once, type418_init);
	/* every field is set below (no calloc: zeroing the array first cost
	 * as much as filling it) */
	h->ents = malloc(il * sizeof(*h->ents));
	if (!h->ents) {
		rc = ok_err_at(e, -ENOMEM, path, file_off, "out of memory");
		goto bad;
	}
	int64_t end = 0;
	for (uint32_t i = 0; i < il; i++) {
		const uint8_t *q = pe + 16ull * i;
		struct rpm_entry *en = &h->ents[i];
		en->tag = be32(q);
		en->type = be32(q + 4);
		int32_t off = (int32_t)be32(q + 8);
		en->count = be32(q + 12);
		en->off = (uint32_t)off;
		en->idx = i;
		en->strs = NULL;
		en->len = 0;
		if (i == 0 && h->region_tag) {
			en->len = 16;
			continue;
		}
		const char *why = NULL;
		long l = 0;
		if (end > off)
			why = "data overlaps the previous entry";
		else if ((int32_t)en->tag < TAG_I18NTABLE) /* rpm's tags are int32 */
			why = "tag number below 100 (or 2^31 and above)";
		else if (en->type < 1 || en->type > 9)
			why = "type outside 1..9";
		else if (en->count < 1 || en->count > dl)
			why = "count outside 1..dl";
		else if (off & (type_align[en->type] - 1))
			why = "offset not aligned for its type";
		else if (off < 0 || (uint32_t)off > dl)
			why = "offset outside the data";
		else if (en->type != RPM_BIN && (en->count & ~ARRAY_MAX))
			why = "count beyond 0xfffff";
		else if (typechk && !tag_type_ok_418(en->tag, en->type))
			why = "type does not match the tag's (rpm 4.18's tag table)";
		if (!why) {
			l = data_len(en->type, ds + off, en->count, de);
			end = (int64_t)off + l;
			if (l <= 0 || end > dl)
				why = en->type >= RPM_STRING && en->type != RPM_BIN
					  ? "string not terminated within the data"
					  : "data extends past the data store";
			else if (h->region_tag && end > (int64_t)rdl - 16 && (uint32_t)off < rdl)
				why = "data overlaps the region trailer";
		}
		if (why) {
			rc = ok_err_at(e, -EINVAL, path, idx_off + 16ll * i,
				       "%s tag[%u]: BAD, tag %u type %u offset %d count %u len "
				       "%ld: %s",
				       what, i, en->tag, en->type, off, en->count, l, why);
			goto bad;
		}
		en->len = (uint32_t)l;
	}
	/* hdrblobImport: the data the index accounts for must be all of it. The
	 * region entry itself (or, in a legacy header, nothing) is left out; a
	 * region with ril < il is followed by "dribble" entries counted on. */
	{
		int64_t rd;
		if (!h->region_tag) {
			rd = swab_len(h, 0, il, 0);
		} else {
			uint32_t r = off0 != 0 ? ril : il;
			rd = swab_len(h, 1, r, 0);
			if (rd >= 0 && r < il)
				rd = swab_len(h, r, il, rd);
			if (rd >= 0)
				rd += 16;
		}
		if (rd != (int64_t)dl) {
			rc = ok_err_at(e, -EINVAL, path, data_off,
				       "%s: hdr load: BAD, the index accounts for %lld data bytes, "
				       "dl is %u (a hole in the data store)",
				       what, (long long)rd, dl);
			goto bad;
		}
	}
	/* Lookups go by tag; rpm 4.18 sorts too (and tolerates an unsorted
	 * signature index, as in hello-2.0-1.x86_64-corrupted.rpm). */
	uint32_t k = 1; /* rpm_ent_cmp's order; idx rises along the index */
	while (k < il && h->ents[k - 1].tag <= h->ents[k].tag)
		k++;
	if (k < il) /* writers sort; only damaged or odd files need this */
		qsort(h->ents, il, sizeof(*h->ents), rpm_ent_cmp);
	return 0;
bad:
	free(h->ents);
	if (own)
		free(raw);
	memset(h, 0, sizeof(*h));
	return rc;
}

int rpm_hdr_parse(struct rpm_hdr *h, uint8_t *raw, size_t len, uint32_t region, int exact,
		  const char *path, long long file_off, struct ok_err *e)
{
	return hdr_parse(h, raw, len, region, exact, path, file_off, 1, e);
}

/* Why a cast: h->raw is writable for the owned case only; nothing writes
 * through it (legacy.c rebuilds into xdata), so a borrowed blob stays as
 * read. */
int rpm_hdr_parse_borrowed(struct rpm_hdr *h, const uint8_t *raw, size_t len, uint32_t region,
			   int exact, const char *path, long long file_off, struct ok_err *e)
{
	return hdr_parse(h, (uint8_t *)raw, len, region, exact, path, file_off, 0, e);
}

/* The 16-byte intro of a header blob (magic, tag count il, data length dl)
 * checked against rpm 4.18's limits for the region it heads: the package
 * reader calls this before it reads (and allocates) the rest. */
int rpm_hdr_intro(const uint8_t intro[16], uint32_t region, const char *path, long long off,
		  uint32_t *il_out, uint32_t *dl_out, struct ok_err *e)
{
	const char *what = region == TAG_HEADERSIGNATURES ? "signature header" : "header";
	if (memcmp(intro, hdr_magic, 8) != 0)
		return ok_err_at(e, -EINVAL, path, off,
				 "%s magic: BAD, found %02x%02x%02x%02x%02x%02x%02x%02x, "
				 "expected 8eade80100000000",
				 what, intro[0], intro[1], intro[2], intro[3], intro[4], intro[5],
				 intro[6], intro[7]);
	uint32_t il = be32(intro + 8), dl = be32(intro + 12);
	uint32_t il_max = region == TAG_HEADERSIGNATURES ? SIG_TAGS_MAX : HDR_TAGS_MAX;
	uint32_t dl_max = region == TAG_HEADERSIGNATURES ? SIG_DATA_MAX : HDR_DATA_MAX;
	if (il > il_max)
		return ok_err_at(e, -EINVAL, path, off + 8,
				 "%s tags: BAD, no. of tags(%u) out of range, expected <= %u", what,
				 il, il_max);
	if (dl > dl_max)
		return ok_err_at(e, -EINVAL, path, off + 12,
				 "%s data: BAD, no. of bytes(%u) out of range, expected <= %u",
				 what, dl, dl_max);
	*il_out = il;
	*dl_out = dl;
	return 0;
}

void rpm_hdr_free(struct rpm_hdr *h)
{
	if (h->ents) /* most entries never built strs: no call for those */
		for (uint32_t i = 0; i < h->il; i++)
			if (h->ents[i].strs)
				free(h->ents[i].strs);
	free(h->ents);
	free(h->virt);
	free(h->xdata);
	if (!h->borrowed)
		free(h->raw);
	memset(h, 0, sizeof(*h));
}

/* ---- lookups -------------------------------------------------------------- */

/* glibc's bsearch, step for step: with a duplicated tag rpm's findEntry
 * returns whichever copy this probe lands on first, so rpmq does too. */
const struct rpm_entry *rpm_hdr_find(const struct rpm_hdr *h, uint32_t tag)
{
	size_t lo = 0, hi = h->il + h->nvirt;
	if (!h->virt) { /* the common case, without the test in the loop */
		const struct rpm_entry *en = h->ents;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			uint32_t t = en[mid].tag;
			if (tag < t)
				hi = mid;
			else if (tag > t)
				lo = mid + 1;
			else
				return &en[mid];
		}
		return NULL;
	}
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		uint32_t t = h->virt[mid].tag;
		if (tag < t)
			hi = mid;
		else if (tag > t)
			lo = mid + 1;
		else
			return h->virt[mid].en; /* NULL: rpm finds what it merged */
	}
	return NULL;
}

/* headerIsSourceHeuristic, on the header after rpm_legacy_retrofit has
 * compressed OLDFILENAMES into DIRNAMES (as rpm does before asking). */
enum rpm_retro rpm_retro_kind(const struct rpm_pkg *p)
{
	const struct rpm_hdr *h = &p->hdr;
	if (rpm_hdr_find(h, TAG_SOURCERPM) || rpm_hdr_find(h, TAG_SOURCEPACKAGE))
		return RETRO_NONE;
	const struct rpm_entry *dn = rpm_hdr_find(h, TAG_DIRNAMES);
	int src = dn && dn->type == RPM_STRING_ARRAY && dn->count == 1 && !*rpm_ent_str(h, dn, 0);
	return src ? RETRO_SOURCEPACKAGE : RETRO_SOURCERPM;
}

uint64_t rpm_ent_num(const struct rpm_hdr *h, const struct rpm_entry *en, uint32_t i)
{
	const uint8_t *d = h->data + en->off;
	switch (en->type) {
	case RPM_CHAR:
	case RPM_INT8:
	case RPM_BIN:
		return d[i];
	case RPM_INT16:
		return (uint64_t)d[2 * i] << 8 | d[2 * i + 1];
	case RPM_INT32:
		return be32(d + 4 * i);
	case RPM_INT64:
		return (uint64_t)be32(d + 8 * i) << 32 | be32(d + 8 * i + 4);
	default:
		return 0;
	}
}

const char *rpm_ent_str(const struct rpm_hdr *h, const struct rpm_entry *en, uint32_t i)
{
	const char *s = (const char *)h->data + en->off;
	if (en->type == RPM_STRING || i == 0)
		return s;
	struct rpm_entry *me = (struct rpm_entry *)en; /* the cache is logically const */
	if (!me->strs) {
		me->strs = malloc(sizeof(*me->strs) * en->count);
		if (!me->strs) {
			for (uint32_t k = 0; k < i; k++)
				s += strlen(s) + 1;
			return s;
		}
		const char *q = s;
		for (uint32_t k = 0; k < en->count; k++) {
			me->strs[k] = q;
			q += strlen(q) + 1;
		}
	}
	return me->strs[i];
}

const char *rpm_pkg_str(const struct rpm_pkg *p, uint32_t tag)
{
	const struct rpm_entry *en = rpm_hdr_find(&p->hdr, tag);
	if (!en || !is_string_type(en->type))
		return NULL;
	return rpm_ent_str(&p->hdr, en, 0);
}

uint64_t rpm_pkg_num(const struct rpm_pkg *p, uint32_t tag, uint64_t dflt)
{
	const struct rpm_entry *en = rpm_hdr_find(&p->hdr, tag);
	if (!en || en->type < RPM_CHAR || en->type > RPM_INT64)
		return dflt;
	return rpm_ent_num(&p->hdr, en, 0);
}
