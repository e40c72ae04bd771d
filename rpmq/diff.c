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
 * Options (rpmdiff's): --ignore COL leaves file column COL out of the
 * comparison (its letter becomes '.'; added and removed files still show),
 * --exclude GLOB leaves the files GLOB matches out of part 3, as Python
 * 3.11's pathlib matches them (see rpm_diff_excluded).
 * Why not run rpmdiff: it needs Python and rpm's Python bindings and reads
 * the whole package; this reads the two headers.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rpmq.h"

/* The longest --exclude GLOB taken (bytes): parts are kept on the stack. */
#define GLOB_MAX 4096

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

/* ---- --exclude: Python 3.11's PurePosixPath.match and fnmatchcase -------- */

/* The next code point of s at *i (UTF-8, as Python decodes a path; a byte
 * that is not UTF-8 is its surrogateescape code point U+DC80..U+DCFF). */
static uint32_t next_cp(const char *s, size_t *i)
{
	const uint8_t *u = (const uint8_t *)s + *i;
	int n = u[0] < 0x80		      ? 1
		: u[0] >= 0xc2 && u[0] < 0xe0 ? 2
		: u[0] >= 0xe0 && u[0] < 0xf0 ? 3
		: u[0] >= 0xf0 && u[0] < 0xf5 ? 4
					      : 0;
	uint32_t cp = n == 1 ? u[0] : n == 2 ? u[0] & 0x1fu : n == 3 ? u[0] & 0xfu : u[0] & 7u;
	for (int k = 1; k < n; k++) {
		if ((u[k] & 0xc0) != 0x80) {
			n = 0;
			break;
		}
		cp = cp << 6 | (u[k] & 0x3fu);
	}
	if (n == 0 || (n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp < 0xe000))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff))) {
		*i += 1;
		return 0xdc00u + u[0];
	}
	*i += (size_t)n;
	return cp;
}

/* Code points of s[0..len) into out (at most len of them); how many. s
 * need not be NUL-terminated: next_cp looks at most at the bytes a lead
 * byte announces, and stops at one that is not a continuation byte. */
static size_t to_cps(const char *s, size_t len, uint32_t *out)
{
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		uint32_t c = next_cp(s, &j);
		if (j > len) { /* a sequence cut by the part's end */
			c = 0xdc00u + (uint8_t)s[i];
			j = i + 1;
		}
		out[n++] = c;
		i = j;
	}
	return n;
}

/* The first and last character of chunk [s, e) of a class that merging
 * has not removed (dead), or e when there is none. */
static size_t first_live(const uint8_t *dead, size_t s, size_t e)
{
	while (s < e && dead[s])
		s++;
	return s;
}

static size_t last_live(const uint8_t *dead, size_t s, size_t e)
{
	for (size_t j = e; j-- > s;)
		if (!dead[j])
			return j;
	return e;
}

/* Does code point c belong to the class fnmatch.translate builds from the
 * pattern text between '[' and ']' (p[0..n)): its chunks split at the '-'
 * that make ranges, empty ranges removed with both their ends (chunks[k-1]
 * = chunks[k-1][:-1] + chunks[k][1:]), every other character literal, a
 * leading '!' negating. Chunks are spans of p; a merge marks the two ends
 * and the '-' between them dead and joins the spans, in place. */
static int class_has(const uint32_t *p, size_t n, uint32_t c)
{
	if (n == 0)
		return 0; /* empty: never matches */
	int neg = p[0] == '!';
	if (neg && n == 1)
		return 1; /* "!": any character */
	/* chunk k is p[cs[k]..ce[k]); a '-' between two chunks is in neither */
	size_t *cs = malloc(2 * (n + 1) * sizeof(size_t));
	uint8_t *dead = calloc(n + 1, 1);
	if (!cs || !dead) {
		free(cs);
		free(dead);
		return 0;
	}
	size_t *ce = cs + n + 1, m = 0;
	int has_dash = 0;
	for (size_t i = 0; i < n; i++)
		has_dash |= p[i] == '-';
	if (!has_dash) {
		cs[0] = 0, ce[0] = n, m = 1;
	} else {
		size_t i = 0, k = neg ? 2 : 1;
		for (;;) {
			size_t d = k;
			while (d < n && p[d] != '-')
				d++;
			if (k >= n || d >= n)
				break;
			cs[m] = i, ce[m] = d, m++;
			i = d + 1;
			k = d + 3;
		}
		if (i < n)
			cs[m] = i, ce[m] = n, m++;
		else
			ce[m - 1]++; /* chunks[-1] += '-': the '-' at n - 1 */
	}
	for (size_t k = m - 1; k >= 1 && k < m; k--) {
		size_t a = last_live(dead, cs[k - 1], ce[k - 1]),
		       b = first_live(dead, cs[k], ce[k]);
		if (a == ce[k - 1] || b == ce[k])
			continue; /* an empty chunk: Python would fail (IndexError) */
		if (p[a] > p[b]) {
			dead[a] = dead[b] = 1;
			for (size_t j = ce[k - 1]; j < cs[k]; j++)
				dead[j] = 1; /* the '-' between them */
			ce[k - 1] = ce[k];
			for (size_t j = k; j + 1 < m; j++)
				cs[j] = cs[j + 1], ce[j] = ce[j + 1];
			m--;
		}
	}
	int in = 0;
	for (size_t k = 0; k < m && !in; k++) {
		for (size_t j = cs[k]; j < ce[k]; j++)
			if (!dead[j] && !(neg && j == 0) && p[j] == c)
				in = 1;
		if (k > 0) {
			size_t a = last_live(dead, cs[k - 1], ce[k - 1]);
			size_t b = first_live(dead, cs[k], ce[k]);
			if (a < ce[k - 1] && b < ce[k] && p[a] <= c && c <= p[b])
				in = 1;
		}
	}
	free(cs);
	free(dead);
	return neg ? !in : in;
}

/* fnmatch.fnmatchcase(s, pat) on code points: '*', '?', '[...]', all else
 * literal (no backslash escapes). */
static int fnmatch_py(const uint32_t *s, size_t ns, const uint32_t *p, size_t np)
{
	size_t si = 0, pi = 0, star_p = SIZE_MAX, star_s = 0;
	while (si < ns) {
		if (pi < np && p[pi] == '*') {
			while (pi < np && p[pi] == '*')
				pi++;
			star_p = pi, star_s = si;
			continue;
		}
		if (pi < np) {
			size_t adv = 1;
			int ok;
			if (p[pi] == '?') {
				ok = 1;
			} else if (p[pi] == '[') {
				size_t j = pi + 1;
				if (j < np && p[j] == '!')
					j++;
				if (j < np && p[j] == ']')
					j++;
				while (j < np && p[j] != ']')
					j++;
				if (j >= np) { /* no closing ']': a literal '[' */
					ok = s[si] == '[';
				} else {
					ok = class_has(p + pi + 1, j - pi - 1, s[si]);
					adv = j - pi + 1;
				}
			} else {
				ok = p[pi] == s[si];
			}
			if (ok) {
				si++;
				pi += adv;
				continue;
			}
		}
		if (star_p == SIZE_MAX)
			return 0;
		pi = star_p;
		si = ++star_s;
	}
	while (pi < np && p[pi] == '*')
		pi++;
	return pi == np;
}

/* pathlib's parse_parts on a POSIX path s[0..n): its root (0, 1 for "/"
 * or 2 for exactly two slashes "//") and its parts, empty and "." ones
 * dropped; part k is s[off[k]..off[k]+len[k]). How many parts (root not
 * counted); off and len hold n / 2 + 1 entries. */
static size_t path_parts(const char *s, size_t n, size_t *root, size_t *off, size_t *len)
{
	size_t i = 0;
	while (i < n && s[i] == '/')
		i++;
	*root = i == 0 ? 0 : i == 2 ? 2 : 1;
	size_t k = 0;
	while (i < n) {
		size_t b = i;
		while (i < n && s[i] != '/')
			i++;
		if (!(i - b == 1 && s[b] == '.'))
			off[k] = b, len[k] = i - b, k++;
		while (i < n && s[i] == '/')
			i++;
	}
	return k;
}

/* A glob's parts, taken apart once per match. */
struct glob_parts {
	const char *s;
	size_t root, n, off[GLOB_MAX / 2 + 1], len[GLOB_MAX / 2 + 1];
};

/* PurePosixPath(path[0..plen)).match(glob) (a parent directory is a
 * prefix of path); cps is scratch for plen + GLOB_MAX code points. */
static int path_match(const char *path, size_t plen, const struct glob_parts *g, size_t *poff,
		      size_t *plens, uint32_t *cps)
{
	size_t proot, np = path_parts(path, plen, &proot, poff, plens);
	if (g->root && g->root != proot)
		return 0;
	/* the root is a part of its own in both lists */
	size_t tp = np + (proot ? 1 : 0), tg = g->n + (g->root ? 1 : 0);
	if (g->root ? tg != tp : tg > tp)
		return 0;
	size_t cmp = g->root ? g->n : tg; /* a rooted glob's root is not compared */
	for (size_t k = 0; k < cmp; k++) {
		/* the k-th part from the right of each; without a root in the
		 * glob, k < g->n always (cmp == tg) */
		const char *ps = k < np ? path + poff[np - 1 - k] : proot == 2 ? "//" : "/";
		size_t pl = k < np ? plens[np - 1 - k] : proot;
		size_t nsc = to_cps(ps, pl, cps);
		size_t ngc = to_cps(g->s + g->off[g->n - 1 - k], g->len[g->n - 1 - k], cps + nsc);
		if (!fnmatch_py(cps, nsc, cps + nsc, ngc))
			return 0;
	}
	return 1;
}

int rpm_diff_excluded(const char *path, const char *glob)
{
	size_t plen = strlen(path), gl = strlen(glob);
	if (gl > GLOB_MAX)
		return -E2BIG;
	struct glob_parts g = {.s = glob};
	g.n = path_parts(glob, gl, &g.root, g.off, g.len);
	if (g.n == 0 && g.root == 0)
		return -EINVAL; /* Python: ValueError("empty pattern") */
	size_t *poff = malloc((plen / 2 + 1) * 2 * sizeof(size_t));
	uint32_t *cps = malloc((plen + GLOB_MAX + 1) * sizeof(uint32_t));
	int m = poff && cps ? 0 : -ENOMEM;
	size_t *plens = poff ? poff + plen / 2 + 1 : NULL;
	if (m == 0)
		m = path_match(path, plen, &g, poff, plens, cps);
	if (m == 0 && glob[0] == '/') {
		/* path's parents, nearest first: the prefix up to the end
		 * of each part but the last, then the root alone (pathlib's
		 * parents end at the root; a relative path's at ".", which
		 * has no parts and matches nothing) */
		size_t root, n = path_parts(path, plen, &root, poff, plens);
		size_t *ends = malloc((n + 1) * sizeof(size_t));
		if (!ends)
			m = -ENOMEM;
		for (size_t k = 0; ends && k + 1 < n; k++)
			ends[k] = poff[k] + plens[k];
		for (size_t k = n > 0 ? n - 1 : 0; ends && k-- > 0 && m == 0;)
			m = path_match(path, ends[k], &g, poff, plens, cps);
		if (ends && m == 0 && n > 0 && root)
			m = path_match(path, root, &g, poff, plens, cps);
		free(ends);
	}
	free(poff);
	free(cps);
	return m;
}

/* 1 when one of o's globs excludes path, 0 if none, or a negative errno. */
static int excluded(const struct rpm_diff_opts *o, const char *path)
{
	for (size_t i = 0; o && i < o->nexclude; i++) {
		int m = rpm_diff_excluded(path, o->exclude[i]);
		if (m != 0)
			return m;
	}
	return 0;
}

/* One changed file's columns: "S.5........" (a letter where they differ,
 * '.' where they do not or the column is ignored). */
static int file_cols(const struct fent *a, const struct fent *b, const char *ignore, char cols[12])
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
		if (ignore && strchr(ignore, col[i]))
			d[i] = 0;
		cols[i] = d[i] ? col[i] : '.';
		any |= d[i];
	}
	cols[11] = 0;
	return any;
}

int rpm_diff(const struct rpm_pkg *a, const struct rpm_pkg *b, const struct rpm_diff_opts *o,
	     FILE *out, struct ok_err *e)
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
			const char *path = c > 0 ? xb[j].f->path : xa[i].f->path;
			int x = excluded(o, path);
			if (x < 0) {
				rc = ok_err_at(e, x, path, OK_ERR_NOPOS, "--exclude: %s",
					       strerror(-x));
				break;
			}
			if (x) {
				i += c <= 0;
				j += c >= 0;
				continue;
			}
			if (c < 0) {
				fprintf(out, "%-12s%s\n", "removed", xa[i++].f->path);
				differs = 1;
			} else if (c > 0) {
				fprintf(out, "%-12s%s\n", "added", xb[j++].f->path);
				differs = 1;
			} else {
				if (file_cols(&xa[i], &xb[j], o ? o->ignore : NULL, cols)) {
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
