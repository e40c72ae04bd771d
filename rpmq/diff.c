/*
 * diff.c: `rpmq --diff OLD NEW`, what rpmlint 2.4's rpmdiff prints for two
 * package files, line for line, from the headers alone.
 *
 * rpmdiff (rpmlint/rpmdiff.py) compares, in this order:
 *   1. twelve single tags (NAME, SUMMARY, DESCRIPTION, GROUP, LICENSE, URL and
 *      the six install scriptlets PREIN ... POSTTRANS): "added", "removed" or
 *      "S.5....." and the tag's name, '%-12s%s';
 *   2. the eight dependency kinds (REQUIRES, PROVIDES, CONFLICTS, OBSOLETES,
 *      RECOMMENDS, SUGGESTS, ENHANCES, SUPPLEMENTS): every (name, flags,
 *      version) of OLD not in NEW's list is "removed", then every one of NEW
 *      not in OLD's "added", '%-12s%s %s %s %s' (kind, name, relation of
 *      <, >, = in that order, version); a requirement's kind is PREREQ when
 *      the legacy PREREQ bit (64) is set, else REQUIRES, followed by
 *      "(pre,post,preun,postun,pretrans,posttrans)" for the scriptlet bits;
 *      its self-provide filter never matches under Python 3 (it compares
 *      bytes with str), so no provide is left out here either;
 *   3. the files, the sorted union of both lists (a path listed twice: its
 *      last entry): "added", "removed", or one column per attribute, the
 *      letter where they differ: S size, M mode, 5 digest, D rdev, N nlink,
 *      L state (a package file has none: never differs), V verify flags,
 *      U user, G group, F file flags, T mtime.
 * Why not run rpmdiff: it needs Python and rpm's Python bindings and reads
 * the whole package; this reads the two headers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpmq.h"

static const char *const single_tags[] = {
    "NAME",  "SUMMARY", "DESCRIPTION", "GROUP",	 "LICENSE",  "URL",
    "PREIN", "POSTIN",	"PREUN",       "POSTUN", "PRETRANS", "POSTTRANS",
};

/* rpmdiff's PRCO order; the tags are NAME, FLAGS, VERSION of each. */
static const char *const dep_kinds[] = {
    "REQUIRE", "PROVIDE", "CONFLICT", "OBSOLETE", "RECOMMEND", "SUGGEST", "ENHANCE", "SUPPLEMENT",
};

enum {
	SENSE_LESS = 2,
	SENSE_GREATER = 4,
	SENSE_EQUAL = 8,
	SENSE_POSTTRANS = 1 << 5,
	SENSE_PREREQ = 1 << 6,
	SENSE_PRETRANS = 1 << 7,
	SENSE_SCRIPT_PRE = 1 << 9,
	SENSE_SCRIPT_POST = 1 << 10,
	SENSE_SCRIPT_PREUN = 1 << 11,
	SENSE_SCRIPT_POSTUN = 1 << 12,
};

static uint32_t tag_of(const char *name)
{
	const struct rpm_tag_info *t = rpm_tag_by_name(name);
	if (!t)
		BUG("rpm tag %s missing from the table", name);
	return t->tag;
}

/* A single tag as Python's hdr[tag] gives it: the (locale's) string, or
 * NULL; td is to be freed either way. */
static const char *tag_str(const struct rpm_pkg *p, const char *name, struct rpm_td *td)
{
	if (!rpm_td_get(p, tag_of(name), 0, td))
		return NULL;
	return td->count ? rpm_td_str(td, 0) : NULL;
}

struct dep {
	const char *name, *version;
	uint64_t flags;
};

/* The (name, flags, version) triples of one kind, zip()ped as rpmdiff does:
 * as many as the shortest of the three lists. */
static size_t deps_of(const struct rpm_pkg *p, const char *kind, struct rpm_td td[3],
		      struct dep **out)
{
	static const char *const suffix[3] = {"NAME", "FLAGS", "VERSION"};
	size_t n = SIZE_MAX;
	for (int i = 0; i < 3; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%s%s", kind, suffix[i]);
		if (!rpm_td_get(p, tag_of(name), 0, &td[i]))
			n = 0;
		else if (td[i].count < n)
			n = td[i].count;
	}
	*out = n ? calloc(n, sizeof(**out)) : NULL;
	if (n && !*out)
		return SIZE_MAX;
	for (size_t i = 0; i < n; i++)
		(*out)[i] =
		    (struct dep){rpm_td_str(&td[0], (uint32_t)i), rpm_td_str(&td[2], (uint32_t)i),
				 rpm_td_num(&td[1], (uint32_t)i)};
	return n;
}

static int dep_eq(const struct dep *a, const struct dep *b)
{
	return a->flags == b->flags && strcmp(a->name, b->name) == 0 &&
	       strcmp(a->version, b->version) == 0;
}

static int dep_in(const struct dep *d, const struct dep *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (dep_eq(d, &v[i]))
			return 1;
	return 0;
}

static void print_dep(FILE *out, const char *what, const char *kind, const struct dep *d)
{
	char k[64], sense[4];
	size_t ns = 0;
	if (strcmp(kind, "REQUIRES") == 0) {
		static const struct {
			uint64_t bit;
			const char *name;
		} scr[] = {{SENSE_SCRIPT_PRE, "pre"},	  {SENSE_SCRIPT_POST, "post"},
			   {SENSE_SCRIPT_PREUN, "preun"}, {SENSE_SCRIPT_POSTUN, "postun"},
			   {SENSE_PRETRANS, "pretrans"},  {SENSE_POSTTRANS, "posttrans"}};
		size_t len = (size_t)snprintf(k, sizeof(k), "%s",
					      d->flags & SENSE_PREREQ ? "PREREQ" : "REQUIRES");
		int first = 1;
		for (size_t i = 0; i < sizeof(scr) / sizeof(scr[0]); i++)
			if (d->flags & scr[i].bit) {
				len += (size_t)snprintf(k + len, sizeof(k) - len, "%s%s",
							first ? "(" : ",", scr[i].name);
				first = 0;
			}
		if (!first)
			snprintf(k + len, sizeof(k) - len, ")");
		kind = k;
	}
	if (d->flags & SENSE_LESS)
		sense[ns++] = '<';
	if (d->flags & SENSE_GREATER)
		sense[ns++] = '>';
	if (d->flags & SENSE_EQUAL)
		sense[ns++] = '=';
	sense[ns] = 0;
	fprintf(out, "%-12s%s %s %s %s\n", what, kind, d->name, sense, d->version);
}

/* Files by path, sorted, a repeated path's last entry kept (a Python dict). */
struct fent {
	const struct rpm_file *f;
	uint32_t vflags;
	size_t idx;
};

static int fent_cmp(const void *a, const void *b)
{
	const struct fent *x = a, *y = b;
	int c = strcmp(x->f->path, y->f->path);
	return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

/* Sorted entries, a path's last one only; returns how many or SIZE_MAX. */
static size_t file_index(const struct rpm_pkg *p, const struct rpm_file *f, size_t n,
			 struct fent **out)
{
	struct rpm_td td;
	int have_v = rpm_td_get(p, tag_of("FILEVERIFYFLAGS"), 0, &td);
	struct fent *v = calloc(n ? n : 1, sizeof(*v));
	if (!v) {
		if (have_v)
			rpm_td_free(&td);
		return SIZE_MAX;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].f = &f[i];
		v[i].idx = i;
		/* rpmfi: a missing VERIFYFLAGS is -1 for every file */
		v[i].vflags =
		    have_v && i < td.count ? (uint32_t)rpm_td_num(&td, (uint32_t)i) : UINT32_MAX;
	}
	if (have_v)
		rpm_td_free(&td);
	qsort(v, n, sizeof(*v), fent_cmp);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k && strcmp(v[k - 1].f->path, v[i].f->path) == 0)
			k--;
		v[k++] = v[i];
	}
	*out = v;
	return k;
}

static int str_ne(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") != 0;
}

/* One changed file's columns: "S.5........" (a letter where they differ). */
static int file_cols(const struct fent *a, const struct fent *b, char cols[12])
{
	const struct rpm_file *x = a->f, *y = b->f;
	int d[11] = {
	    x->size != y->size,	    x->mode != y->mode,	      str_ne(x->digest, y->digest),
	    x->rdev != y->rdev,	    x->nlink != y->nlink,     0 /* state */,
	    a->vflags != b->vflags, str_ne(x->user, y->user), str_ne(x->group, y->group),
	    x->flags != y->flags,   x->mtime != y->mtime,
	};
	static const char col[11] = {'S', 'M', '5', 'D', 'N', 'L', 'V', 'U', 'G', 'F', 'T'};
	int any = 0;
	for (int i = 0; i < 11; i++) {
		cols[i] = d[i] ? col[i] : '.';
		any |= d[i];
	}
	cols[11] = 0;
	return any;
}

int rpm_diff(const struct rpm_pkg *a, const struct rpm_pkg *b, FILE *out, struct ok_err *e)
{
	int differs = 0;
	/* 1. single tags */
	for (size_t i = 0; i < sizeof(single_tags) / sizeof(single_tags[0]); i++) {
		struct rpm_td ta, tb;
		const char *x = tag_str(a, single_tags[i], &ta);
		const char *y = tag_str(b, single_tags[i], &tb);
		const char *what = !x && !y	       ? NULL
				   : !x		       ? "added"
				   : !y		       ? "removed"
				   : strcmp(x, y) != 0 ? "S.5....."
						       : NULL;
		if (what) {
			fprintf(out, "%-12s%s\n", what, single_tags[i]);
			differs = 1;
		}
		rpm_td_free(&ta);
		rpm_td_free(&tb);
	}
	/* 2. dependencies */
	for (size_t k = 0; k < sizeof(dep_kinds) / sizeof(dep_kinds[0]); k++) {
		struct rpm_td ta[3] = {0}, tb[3] = {0};
		struct dep *da, *db;
		size_t na = deps_of(a, dep_kinds[k], ta, &da);
		size_t nb = deps_of(b, dep_kinds[k], tb, &db);
		char kind[32];
		snprintf(kind, sizeof(kind), "%sS", dep_kinds[k]);
		int rc = 0;
		if (na == SIZE_MAX || nb == SIZE_MAX)
			rc = ok_err_at(e, -ENOMEM, "", OK_ERR_NOPOS, "out of memory");
		for (size_t i = 0; rc == 0 && i < na; i++)
			if (!dep_in(&da[i], db, nb)) {
				print_dep(out, "removed", kind, &da[i]);
				differs = 1;
			}
		for (size_t i = 0; rc == 0 && i < nb; i++)
			if (!dep_in(&db[i], da, na)) {
				print_dep(out, "added", kind, &db[i]);
				differs = 1;
			}
		if (na != SIZE_MAX)
			free(da);
		if (nb != SIZE_MAX)
			free(db);
		for (int i = 0; i < 3; i++) {
			rpm_td_free(&ta[i]);
			rpm_td_free(&tb[i]);
		}
		if (rc < 0)
			return rc;
	}
	/* 3. files */
	struct rpm_file *fa = NULL, *fb = NULL;
	size_t nfa = 0, nfb = 0;
	int rc = rpm_files(a, &fa, &nfa, e);
	if (rc < 0)
		return rc;
	rc = rpm_files(b, &fb, &nfb, e);
	if (rc < 0) {
		rpm_files_free(fa, nfa);
		return rc;
	}
	struct fent *xa = NULL, *xb = NULL;
	size_t na = file_index(a, fa, nfa, &xa), nb = file_index(b, fb, nfb, &xb);
	if (na == SIZE_MAX || nb == SIZE_MAX) {
		rc = ok_err_at(e, -ENOMEM, "", OK_ERR_NOPOS, "out of memory");
	} else {
		size_t i = 0, j = 0;
		while (i < na || j < nb) {
			int c = i == na ? 1 : j == nb ? -1 : strcmp(xa[i].f->path, xb[j].f->path);
			char cols[12];
			if (c < 0) {
				fprintf(out, "%-12s%s\n", "removed", xa[i++].f->path);
				differs = 1;
			} else if (c > 0) {
				fprintf(out, "%-12s%s\n", "added", xb[j++].f->path);
				differs = 1;
			} else {
				if (file_cols(&xa[i], &xb[j], cols)) {
					fprintf(out, "%-12s%s\n", cols, xa[i].f->path);
					differs = 1;
				}
				i++, j++;
			}
		}
	}
	if (na != SIZE_MAX)
		free(xa);
	if (nb != SIZE_MAX)
		free(xb);
	rpm_files_free(fa, nfa);
	rpm_files_free(fb, nfb);
	return rc < 0 ? rc : differs;
}
