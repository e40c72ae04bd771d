/*
 * legacy.c: the retrofits rpm 4.18 applies to old headers when it loads a
 * package (lib/package.c applyRetrofits, lib/headerutil.c headerConvert),
 * so that every query of a v3 package gives rpm's answer:
 *
 *   1. OLDFILENAMES (packages before rpm 3.0.4, or built --nodirtokens)
 *      becomes DIRINDEXES/BASENAMES/DIRNAMES (compressFilelist), always;
 *   2. SOURCERPM "(none)" or SOURCEPACKAGE 1 when the header has neither:
 *      added as a virtual tag by header.c (rpm_retro_kind), not here;
 *   3. a header without a HEADERIMMUTABLE region (a "truly ancient"
 *      package) that is not a source package gets the self-provide
 *      "Provides: NAME = [EPOCH:]VERSION-RELEASE" (providePackageNVR), and
 *      an unversioned provide list gets empty versions and flags first.
 *
 * rpm edits the header in memory; rpmq does the same to its parsed copy: a
 * new data store (the old one plus the added data) replaces h->data, the
 * entries are edited and sorted again. h->raw, the blob as read, stays as
 * it was (the digests of -K are computed over it, as rpm's are over the
 * blob it read before the retrofits). rpm's quirks are kept: glibc's
 * bsearch over unsorted directory names (a directory met again after
 * another gets a second DIRNAMES entry), a self-provide added even when
 * the package has it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpmq.h"

#define RPMSENSE_EQUAL 8u /* rpmds.h */

/* ---- editing a parsed header ------------------------------------------- */

/* The data store being rebuilt: the original bytes, then each added or
 * grown entry's data, 8-aligned (no reader needs that: numbers are read
 * bytewise, but it keeps the layout like a header's). */
struct store {
	uint8_t *d;
	size_t len, cap;
};

static long store_add(struct store *s, const void *p, size_t n)
{
	size_t at = (s->len + 7) & ~(size_t)7;
	if (at + n > 0x0fffffff) /* rpm's data limit; offsets are uint32 */
		return -EOVERFLOW;
	if (!s->d || at + n > s->cap) { /* never NULL after: an empty header too */
		size_t cap = s->cap * 2 > at + n + 64 ? s->cap * 2 : at + n + 64;
		uint8_t *d = realloc(s->d, cap);
		if (!d)
			return -ENOMEM;
		s->d = d;
		s->cap = cap;
	}
	memset(s->d + s->len, 0, at - s->len);
	if (p && n)
		memcpy(s->d + at, p, n);
	s->len = at + n;
	return (long)at;
}

struct edit {
	struct rpm_hdr *h;
	struct store st;
	uint32_t next_idx; /* index position of the next added entry */
};

/* After the store grew (and perhaps moved): the header reads the new one,
 * and no entry keeps string pointers into the old one. */
static void store_sync(struct edit *ed)
{
	struct rpm_hdr *h = ed->h;
	if (h->xdata == ed->st.d)
		return;
	for (uint32_t i = 0; i < h->il; i++) {
		free(h->ents[i].strs);
		h->ents[i].strs = NULL;
	}
	h->xdata = ed->st.d;
	h->data = ed->st.d;
}

/* rpm's findEntry(h, tag, type): an entry with this tag and type (any of
 * the duplicates), or NULL. */
static struct rpm_entry *find_typed(struct rpm_hdr *h, uint32_t tag, uint32_t type)
{
	const struct rpm_entry *en = rpm_hdr_find(h, tag);
	if (!en)
		return NULL;
	size_t i = (size_t)(en - h->ents);
	while (i > 0 && h->ents[i - 1].tag == tag)
		i--;
	for (; i < h->il && h->ents[i].tag == tag; i++)
		if (h->ents[i].type == type)
			return &h->ents[i];
	return NULL;
}

/* rpm's headerPut(..., HEADERPUT_APPEND): count elements (n bytes in the
 * header's on-disk encoding) appended to the entry of that tag and type, or
 * a new entry. The entries stay sorted (rpm sorts on the next lookup). */
static int put(struct edit *ed, uint32_t tag, uint32_t type, const void *p, size_t n,
	       uint32_t count)
{
	struct rpm_hdr *h = ed->h;
	struct rpm_entry *en = find_typed(h, tag, type);
	if (en && type != RPM_STRING && type != RPM_I18NSTRING) {
		long at = store_add(&ed->st, NULL, (size_t)en->len + n);
		if (at < 0)
			return (int)at;
		store_sync(ed);
		memcpy(ed->st.d + at, ed->st.d + en->off, en->len);
		memcpy(ed->st.d + at + en->len, p, n);
		en->off = (uint32_t)at;
		en->len += (uint32_t)n;
		en->count += count;
		free(en->strs);
		en->strs = NULL;
		return 0;
	}
	long at = store_add(&ed->st, p, n);
	if (at < 0)
		return (int)at;
	store_sync(ed);
	struct rpm_entry *ents = realloc(h->ents, (h->il + 1) * sizeof(*ents));
	if (!ents)
		return -ENOMEM;
	h->ents = ents;
	ents[h->il++] = (struct rpm_entry){.tag = tag,
					   .type = type,
					   .off = (uint32_t)at,
					   .count = count,
					   .len = (uint32_t)n,
					   .idx = ed->next_idx++};
	qsort(h->ents, h->il, sizeof(*h->ents), rpm_ent_cmp);
	return 0;
}

/* rpm's headerDel: every entry of the tag goes. */
static void del(struct rpm_hdr *h, uint32_t tag)
{
	uint32_t k = 0;
	for (uint32_t i = 0; i < h->il; i++) {
		if (h->ents[i].tag == tag)
			free(h->ents[i].strs);
		else
			h->ents[k++] = h->ents[i];
	}
	h->il = k;
}

static int put_str(struct edit *ed, uint32_t tag, const char *s)
{
	return put(ed, tag, RPM_STRING_ARRAY, s, strlen(s) + 1, 1);
}

static int put_u32(struct edit *ed, uint32_t tag, uint32_t v)
{
	uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return put(ed, tag, RPM_INT32, b, 4, 1);
}

/* ---- 1. compressFilelist ------------------------------------------------- */

/* glibc's bsearch of key in dirs[0..n) by strcmp, step for step: rpm
 * searches its directory list as if sorted, which it is only when the
 * file list was. */
static long dir_search(char *const *dirs, size_t n, const char *key)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(key, dirs[mid]);
		if (c < 0)
			hi = mid;
		else if (c > 0)
			lo = mid + 1;
		else
			return (long)mid;
	}
	return -1;
}

static int compress_filelist(struct edit *ed)
{
	struct rpm_hdr *h = ed->h;
	if (rpm_hdr_find(h, TAG_DIRNAMES)) {
		del(h, TAG_OLDFILENAMES); /* already converted */
		return 0;
	}
	const struct rpm_entry *old = rpm_hdr_find(h, TAG_OLDFILENAMES);
	if (!old)
		return 0;
	if (old->type != RPM_STRING && old->type != RPM_STRING_ARRAY &&
	    old->type != RPM_I18NSTRING) {
		/* rpm gets no names from it, adds nothing and deletes it */
		del(h, TAG_OLDFILENAMES);
		return 0;
	}
	/* headerGet gives an I18NSTRING as one (translated) string */
	uint32_t n = old->type == RPM_I18NSTRING ? 1 : old->count;
	char **dirs = calloc(n, sizeof(*dirs));
	uint8_t *di = malloc(4ull * n);
	size_t blen = 0;
	for (uint32_t i = 0; i < n; i++)
		blen += strlen(rpm_ent_str(h, old, i)) + 1;
	char *bases = malloc(blen);
	int rc = -ENOMEM;
	size_t nd = 0;
	blen = 0;
	if (!dirs || !di || !bases)
		goto out;
	const char *first = rpm_ent_str(h, old, 0);
	int src = *first != '/'; /* rpm's "HACK. Source RPM": one dir "" */
	if (src && !(dirs[nd++] = strdup("")))
		goto out;
	for (uint32_t i = 0; i < n; i++) {
		const char *fn = rpm_ent_str(h, old, i);
		const char *base = fn;
		long x = 0;
		if (!src) {
			const char *sl = strrchr(fn, '/');
			base = sl ? sl + 1 : fn;
			char *d = strndup(fn, (size_t)(base - fn));
			if (!d)
				goto out;
			x = nd ? dir_search(dirs, nd, d) : -1;
			if (x < 0) {
				x = (long)nd;
				dirs[nd++] = d;
			} else {
				free(d);
			}
		}
		di[4 * i] = (uint8_t)((uint32_t)x >> 24);
		di[4 * i + 1] = (uint8_t)((uint32_t)x >> 16);
		di[4 * i + 2] = (uint8_t)((uint32_t)x >> 8);
		di[4 * i + 3] = (uint8_t)x;
		size_t l = strlen(base) + 1;
		memcpy(bases + blen, base, l);
		blen += l;
	}
	size_t dlen = 0;
	for (size_t k = 0; k < nd; k++)
		dlen += strlen(dirs[k]) + 1;
	char *dn = malloc(dlen ? dlen : 1);
	if (!dn)
		goto out;
	dlen = 0;
	for (size_t k = 0; k < nd; k++) {
		size_t l = strlen(dirs[k]) + 1;
		memcpy(dn + dlen, dirs[k], l);
		dlen += l;
	}
	rc = put(ed, TAG_DIRINDEXES, RPM_INT32, di, 4ull * n, n);
	if (rc == 0)
		rc = put(ed, TAG_BASENAMES, RPM_STRING_ARRAY, bases, blen, n);
	if (rc == 0)
		rc = put(ed, TAG_DIRNAMES, RPM_STRING_ARRAY, dn, dlen, (uint32_t)nd);
	free(dn);
	if (rc == 0)
		del(h, TAG_OLDFILENAMES);
out:
	if (dirs)
		for (size_t k = 0; k < nd; k++)
			free(dirs[k]);
	free(dirs);
	free(di);
	free(bases);
	return rc;
}

/* ---- 3. providePackageNVR -------------------------------------------------- */

/* rpm's check whether the provide is already there (rpmdsFind of a
 * rpmdsSingle in rpmdsNew(PROVIDENAME)) never succeeds in 4.18: the single
 * dependency gets trigger index 0 (the provides' ixTag is 0, not
 * RPMTAG_NOT_FOUND), the header's get -1, and doFind compares those last.
 * So every v3 binary package gets the self-provide appended, even one that
 * already has it (verified with rpm 4.18 -P). */
static int provide_nvr(struct edit *ed, const struct rpm_pkg *p)
{
	struct rpm_hdr *h = ed->h;
	const char *nm = rpm_pkg_str(p, TAG_NAME);
	if (!nm)
		return 0;
	char *name = strdup(nm); /* put() may move the data store */
	char *evr = rpm_pkg_nevra(p, 0, 1, 1, 1, 0);
	int rc = -ENOMEM;
	if (!name || !evr)
		goto out;
	rc = 0;
	const struct rpm_entry *pn = rpm_hdr_find(h, TAG_PROVIDENAME);
	if (pn && !rpm_hdr_find(h, TAG_PROVIDEVERSION)) {
		/* rpm < 3.0.3: unversioned provides get "" and RPMSENSE_ANY */
		uint32_t n = pn->type == RPM_I18NSTRING ? 1 : pn->count;
		for (uint32_t i = 0; i < n && rc == 0; i++) {
			rc = put_str(ed, TAG_PROVIDEVERSION, "");
			if (rc == 0)
				rc = put_u32(ed, TAG_PROVIDEFLAGS, 0);
		}
	}
	if (rc == 0) {
		rc = put_str(ed, TAG_PROVIDENAME, name);
		if (rc == 0)
			rc = put_str(ed, TAG_PROVIDEVERSION, evr);
		if (rc == 0)
			rc = put_u32(ed, TAG_PROVIDEFLAGS, RPMSENSE_EQUAL);
	}
out:
	free(name);
	free(evr);
	return rc;
}

/* ---- the retrofits, in rpm's order ------------------------------------------ */

int rpm_legacy_retrofit(struct rpm_pkg *p, struct ok_err *e)
{
	struct rpm_hdr *h = &p->hdr;
	int v3 = !rpm_hdr_find(h, TAG_HEADERIMMUTABLE);
	if (!v3 && !rpm_hdr_find(h, TAG_OLDFILENAMES))
		return 0;
	struct edit ed = {.h = h, .next_idx = h->il};
	long at = store_add(&ed.st, h->data, h->dl);
	if (at < 0)
		return ok_err_at(e, (int)at, p->path, OK_ERR_NOPOS, "out of memory");
	/* the entries' offsets stay valid in the copy */
	free(h->xdata);
	h->xdata = NULL;
	store_sync(&ed);
	int rc = compress_filelist(&ed);
	/* headerIsSource after applyRetrofits' first part: no SOURCERPM, and
	 * none retrofitted */
	if (rc == 0 && v3 && !rpm_hdr_find(h, TAG_SOURCERPM) &&
	    rpm_retro_kind(p) != RETRO_SOURCERPM)
		v3 = 0;
	if (rc == 0 && v3)
		rc = provide_nvr(&ed, p);
	if (rc < 0)
		return ok_err_at(e, rc, p->path, h->file_off,
				 "header: legacy retrofit (v3 package): %s",
				 rc == -ENOMEM ? "out of memory" : "data beyond 256 MiB");
	return 0;
}
