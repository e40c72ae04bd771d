/*
 * query.c: the query modes.
 *
 * Divisions: the aliases (rpm 4.18's /usr/lib/rpm/rpmpopt-4.18.0, verbatim,
 * plus the preuntrans/postuntrans sections of rpm >= 4.19 in --scripts); the
 * file lists of lib/query.c showQueryPackage (-l, -lv, --dump, -c, -d); the
 * JSON object of rpm >= 4.20's `--json` (`[%{*:json}]` over every entry).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpmq.h"

/* ---- aliases -------------------------------------------------------------- */

#define SCRIPT(TAG, LABEL)                                                                         \
	"%|" TAG "?{" LABEL " scriptlet%|" TAG "PROG?{ (using[ %{" TAG "PROG}])}|:\\n%{" TAG       \
	"}\\n}:{%|" TAG "PROG?{" LABEL " program:[ %{" TAG "PROG}]\\n}|}|"

#define DEPS(T) "[%|VERBOSE?{%{" T "FLAGS:deptype}: }:{}|%{" T "NEVRS}\\n]"

static const struct {
	const char *name;
	const char *qf;
} aliases[] = {
    {"scripts",
     SCRIPT("PRETRANS", "pretrans") SCRIPT("PREIN", "preinstall") SCRIPT("POSTIN", "postinstall")
	 SCRIPT("PREUN", "preuninstall") SCRIPT("POSTUN", "postuninstall")
	     SCRIPT("POSTTRANS", "posttrans") SCRIPT("PREUNTRANS", "preuntrans")
		 SCRIPT("POSTUNTRANS", "postuntrans") SCRIPT("VERIFYSCRIPT", "verify")},
    {"conflicts", DEPS("CONFLICT")},
    {"obsoletes", DEPS("OBSOLETE")},
    {"provides", DEPS("PROVIDE")},
    {"requires", DEPS("REQUIRE")},
    {"recommends", DEPS("RECOMMEND")},
    {"suggests", DEPS("SUGGEST")},
    {"supplements", DEPS("SUPPLEMENT")},
    {"enhances", DEPS("ENHANCE")},
    {"info", "Name        : %{NAME}\\n"
	     "%|EPOCH?{Epoch       : %{EPOCH}\\n}|"
	     "Version     : %{VERSION}\\n"
	     "Release     : %{RELEASE}\\n"
	     "%|DISTTAG?{DistTag     : %{DISTTAG}\\n}|"
	     "Architecture: %{ARCH}\\n"
	     "Install Date: %|INSTALLTIME?{%{INSTALLTIME:date}}:{(not installed)}|\\n"
	     "Group       : %{GROUP}\\n"
	     "Size        : %{LONGSIZE}\\n"
	     "%|LICENSE?{License     : %{LICENSE}}|\\n"
	     "Signature   : "
	     "%|DSAHEADER?{%{DSAHEADER:pgpsig}}:{%|RSAHEADER?{%{RSAHEADER:pgpsig}}:{%|SIGGPG?{%{"
	     "SIGGPG:pgpsig}}:{%|SIGPGP?{%{SIGPGP:pgpsig}}:{(none)}|}|}|}|\\n"
	     "Source RPM  : %{SOURCERPM}\\n"
	     "Build Date  : %{BUILDTIME:date}\\n"
	     "Build Host  : %{BUILDHOST}\\n"
	     "%|PREFIXES?{Relocations : [%{PREFIXES} ]\\n}|"
	     "%|PACKAGER?{Packager    : %{PACKAGER}\\n}|"
	     "%|VENDOR?{Vendor      : %{VENDOR}\\n}|"
	     "%|URL?{URL         : %{URL}\\n}|"
	     "%|BUGURL?{Bug URL     : %{BUGURL}\\n}|"
	     "Summary     : %{SUMMARY}\\n"
	     "Description :\\n%{DESCRIPTION}\\n"},
    {"changelog", "[* %{CHANGELOGTIME:day} %{CHANGELOGNAME}\\n%{CHANGELOGTEXT}\\n\\n]"},
    {"changes", "[* %{CHANGELOGTIME:date} %{CHANGELOGNAME}\\n%{CHANGELOGTEXT}\\n\\n]"},
    {"triggers", "[trigger%{TRIGGERTYPE} scriptlet (using %{TRIGGERSCRIPTPROG}) -- "
		 "%{TRIGGERCONDS}\\n%{TRIGGERSCRIPTS}\\n]"},
    {"filetriggers", "[filetrigger%{FILETRIGGERTYPE} scriptlet (using %{FILETRIGGERSCRIPTPROG}) -- "
		     "%{FILETRIGGERCONDS}\\n%{FILETRIGGERSCRIPTS}\\n]"
		     "[transfiletrigger%{TRANSFILETRIGGERTYPE} scriptlet (using "
		     "%{TRANSFILETRIGGERSCRIPTPROG}) -- %{TRANSFILETRIGGERCONDS}\\n"
		     "%{TRANSFILETRIGGERSCRIPTS}\\n]"},
    {"filesbypkg", "[%-25{=NAME} %{FILENAMES}\\n]"},
    {"filecaps", "[%{FILENAMES}\\t%|FILECAPS?{%{FILECAPS}}|\\n]"},
    {"xml", "[%{*:xml}\\n]"},
    {"filecolor", "[%{FILENAMES}\\t%{FILECOLORS}\\n]"},
    {"fileclass", "[%{FILENAMES}\\t%{FILECLASS}\\n]"},
    {"fileprovide", "[%{FILENAMES}\\t%{FILEPROVIDE}\\n]"},
    {"filerequire", "[%{FILENAMES}\\t%{FILEREQUIRE}\\n]"},
    {"last", "%|INSTALLTIME?{%{INSTALLTIME}}:{000000000}| %{NVRA} "
	     "%|INSTALLTIME?{%{INSTALLTIME:date}}:{(not installed)}|\\n"},
    {"dupes", "%|SOURCERPM?{%{name}.%{arch}}:{%|ARCH?{%{name}}:{%{name}-%{version}}|}|\\n"},
    {"default", "%{NVR}%{ARCHSUFFIX}\\n"}, /* %_query_all_fmt */
};

const char *rpm_alias_qf(const char *name)
{
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++)
		if (strcmp(aliases[i].name, name) == 0)
			return aliases[i].qf;
	return NULL;
}

/* ---- file lists ----------------------------------------------------------- */

static void print_long(FILE *out, const struct rpm_file *f, uint32_t nlink, uint64_t size,
		       long long now)
{
	char perms[11], sizefield[24], timefield[100] = "";
	rpm_perms_string(f->mode, perms);
	snprintf(sizefield, sizeof(sizefield), "%20llu", (unsigned long long)size);
	uint32_t t = f->mode & 0170000;
	if (t == 0020000 || t == 0060000) {
		perms[0] = t == 0020000 ? 'c' : 'b';
		snprintf(sizefield, sizeof(sizefield), "%3u, %3u", (f->rdev >> 8) & 0xff,
			 f->rdev & 0xff);
	}
	time_t when = (time_t)f->mtime;
	struct tm tm;
	if (localtime_r(&when, &tm)) {
		const char *fmt = (now > (long long)when + 6LL * 30 * 24 * 60 * 60 ||
				   now < (long long)when - 60 * 60)
				      ? "%b %e  %Y"
				      : "%b %e %H:%M";
		strftime(timefield, sizeof(timefield) - 1, fmt, &tm);
	}
	char user[9], group[9];
	snprintf(user, sizeof(user), "%s", f->user);
	snprintf(group, sizeof(group), "%s", f->group);
	if (t == 0120000)
		fprintf(out, "%s %4d %-8s %-8s %10s %s %s -> %s\n", perms, (int)nlink, user, group,
			sizefield, timefield, f->path, f->linkto ? f->linkto : "");
	else
		fprintf(out, "%s %4d %-8s %-8s %10s %s %s\n", perms, (int)nlink, user, group,
			sizefield, timefield, f->path);
}

/* Digest hex as rpmfiFDigestHex gives it: stored hex, or zeros of the
 * algorithm's length when the file has none. */
static void print_digest(FILE *out, const struct rpm_pkg *p, const struct rpm_file *f)
{
	if (f->digest && *f->digest) {
		fputs(f->digest, out);
		return;
	}
	uint64_t algo = rpm_pkg_num(p, TAG_FILEDIGESTALGO, 1);
	int n = algo == 1    ? 16
		: algo == 2  ? 20
		: algo == 8  ? 32
		: algo == 9  ? 48
		: algo == 10 ? 64
		: algo == 11 ? 28
			     : 16;
	for (int i = 0; i < 2 * n; i++)
		fputc('0', out);
}

int rpm_list_files(const struct rpm_pkg *p, const struct rpm_list_opts *o, FILE *out,
		   struct ok_err *e)
{
	struct rpm_file *f;
	size_t n;
	int rc = rpm_files(p, &f, &n, e);
	if (rc == -ENOMEM)
		return rc;
	/* File tags that disagree (DIRINDEXES beyond DIRNAMES, ...): rpm's
	 * rpmfilesNew fails and rpm -ql says the package has no files. */
	if (rc < 0 || n == 0) {
		fputs("(contains no files)\n", out);
		return 0;
	}
	int have_digests = rpm_hdr_find(&p->hdr, TAG_FILEDIGESTS) != NULL;
	for (size_t i = 0; i < n; i++) {
		if (o->incattr && !(f[i].flags & o->incattr))
			continue;
		if (f[i].flags & o->excattr)
			continue;
		/* a package file has no FILESTATES: rpmfiFState is
		 * RPMFILE_STATE_MISSING for every file */
		if (o->state)
			fputs("(no state)    ", out);
		if (o->mode == LIST_DUMP) {
			fprintf(out, "%s %llu %d ", f[i].path, (unsigned long long)f[i].size,
				(int)f[i].mtime);
			if (have_digests)
				print_digest(out, p, &f[i]);
			fprintf(out, " 0%o %s %s %s %s %u %s\n", f[i].mode,
				f[i].user ? f[i].user : "", f[i].group ? f[i].group : "",
				f[i].flags & 1 ? "1" : "0", f[i].flags & 2 ? "1" : "0", f[i].rdev,
				f[i].linkto && *f[i].linkto ? f[i].linkto : "X");
		} else if (o->mode == LIST_LONG && f[i].user && f[i].group) {
			uint32_t nl = f[i].nlink;
			uint64_t size = f[i].size;
			if ((f[i].mode & 0170000) == 0040000) {
				nl++;
				size = 0;
			}
			print_long(out, &f[i], nl, size, o->now);
		} else {
			fprintf(out, "%s\n", f[i].path);
		}
	}
	rpm_files_free(f, n);
	return 0;
}

/* ---- --last and --dupes (rpmpopt's --pipe) -------------------------------- */

struct line {
	const char *s; /* not NUL-terminated */
	size_t n;
	size_t idx; /* input position: sort's merge sort is stable */
};

/* strcoll over two counted lines (sort's xmemcoll0), then input order. */
static int line_coll(const struct line *a, const struct line *b)
{
	char *x = strndup(a->s, a->n), *y = strndup(b->s, b->n);
	int d = 0;
	if (x && y) {
		d = strcoll(x, y);
	} else {
		d = memcmp(a->s, b->s, a->n < b->n ? a->n : b->n);
		if (d == 0 && a->n != b->n)
			d = a->n < b->n ? -1 : 1;
	}
	free(x);
	free(y);
	return d < 0 ? -1 : d > 0;
}

/* GNU sort -n's key in the C numeric locale: blanks, an optional '-',
 * digits, an optional '.' and digits; no number reads as 0. */
struct num {
	int neg;
	const char *ip, *fp; /* integer digits (no leading zeros), fraction */
	size_t in, fn;	     /* their lengths (fraction without trailing zeros) */
};

static struct num num_parse(const struct line *l)
{
	struct num v = {0};
	const char *s = l->s, *e = l->s + l->n;
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	if (s < e && *s == '-') {
		v.neg = 1;
		s++;
	}
	while (s < e && *s == '0')
		s++;
	v.ip = s;
	while (s < e && *s >= '0' && *s <= '9')
		s++;
	v.in = (size_t)(s - v.ip);
	if (s < e && *s == '.') {
		v.fp = ++s;
		while (s < e && *s >= '0' && *s <= '9')
			s++;
		v.fn = (size_t)(s - v.fp);
		while (v.fn && v.fp[v.fn - 1] == '0')
			v.fn--;
	}
	if (v.in == 0 && v.fn == 0)
		v.neg = 0; /* -0 is 0 */
	return v;
}

static int num_cmp(const struct line *a, const struct line *b)
{
	struct num x = num_parse(a), y = num_parse(b);
	if (x.neg != y.neg)
		return x.neg ? -1 : 1;
	int d = 0;
	if (x.in != y.in)
		d = x.in < y.in ? -1 : 1;
	else if ((d = memcmp(x.ip, y.ip, x.in)) == 0) {
		size_t m = x.fn < y.fn ? x.fn : y.fn;
		d = m ? memcmp(x.fp, y.fp, m) : 0;
		if (d == 0 && x.fn != y.fn)
			d = x.fn < y.fn ? -1 : 1;
	}
	d = d < 0 ? -1 : d > 0;
	return x.neg ? -d : d;
}

/* sort -r -n: the number, then the whole line, both reversed; equal
 * lines keep their order. */
static int cmp_last(const void *pa, const void *pb)
{
	const struct line *a = pa, *b = pb;
	int d = num_cmp(a, b);
	if (d == 0)
		d = line_coll(a, b);
	if (d)
		return -d;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* sort: the whole line, then input order. */
static int cmp_plain(const void *pa, const void *pb)
{
	const struct line *a = pa, *b = pb;
	int d = line_coll(a, b);
	if (d)
		return d;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

int rpm_pipe_apply(enum rpm_pipe pipe, const char *in, size_t n, FILE *out)
{
	size_t nl = 0, cap = 0;
	struct line *l = NULL;
	for (size_t a = 0; a < n;) {
		const char *nlp = memchr(in + a, '\n', n - a);
		size_t b = nlp ? (size_t)(nlp - in) : n;
		if (nl == cap) {
			cap = cap ? cap * 2 : 64;
			struct line *t = realloc(l, cap * sizeof(*l));
			if (!t) {
				free(l);
				return -ENOMEM;
			}
			l = t;
		}
		l[nl].s = in + a;
		l[nl].n = b - a;
		l[nl].idx = nl;
		nl++;
		a = b + 1;
	}
	qsort(l, nl, sizeof(*l), pipe == PIPE_LAST ? cmp_last : cmp_plain);
	for (size_t i = 0; i < nl; i++) {
		if (pipe == PIPE_DUPES) {
			/* uniq -d: one copy of each run of byte-equal lines */
			size_t j = i;
			while (j + 1 < nl && l[j + 1].n == l[i].n &&
			       !memcmp(l[j + 1].s, l[i].s, l[i].n))
				j++;
			if (j > i)
				fprintf(out, "%.*s\n", (int)l[i].n, l[i].s);
			i = j;
			continue;
		}
		/* sed 's,^[0-9]\+ ,,' */
		const char *s = l[i].s, *e = s + l[i].n, *d = s;
		while (d < e && *d >= '0' && *d <= '9')
			d++;
		if (d > s && d < e && *d == ' ')
			s = d + 1;
		/* awk: $1 is the first run of non-blanks; the rest starts
		 * length($1) + 1 bytes into the line, whatever precedes $1 */
		const char *f1 = s;
		while (f1 < e && (*f1 == ' ' || *f1 == '\t'))
			f1++;
		const char *f1e = f1;
		while (f1e < e && *f1e != ' ' && *f1e != '\t')
			f1e++;
		size_t len1 = (size_t)(f1e - f1), skip = len1 + 1;
		const char *rest = (size_t)(e - s) > skip ? s + skip : e;
		fprintf(out, "%-45.*s %.*s\n", (int)len1, f1, (int)(e - rest), rest);
	}
	free(l);
	return 0;
}

/* ---- JSON (rpm >= 4.20 --json) ------------------------------------------- */

static void json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		switch (*c) {
		case '\b':
			fputs("\\b", out);
			break;
		case '\f':
			fputs("\\f", out);
			break;
		case '\n':
			fputs("\\n", out);
			break;
		case '\r':
			fputs("\\r", out);
			break;
		case '\t':
			fputs("\\t", out);
			break;
		case '"':
			fputs("\\\"", out);
			break;
		case '\\':
			fputs("\\\\", out);
			break;
		default:
			if (*c < 0x20)
				fprintf(out, "\\u%04x", *c);
			else
				fputc(*c, out);
		}
	}
	fputc('"', out);
}

static void json_b64(FILE *out, const uint8_t *d, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	fputc('"', out);
	for (size_t k = 0; k < n; k += 3) {
		uint32_t v = (uint32_t)d[k] << 16;
		if (k + 1 < n)
			v |= (uint32_t)d[k + 1] << 8;
		if (k + 2 < n)
			v |= d[k + 2];
		fputc(b64[v >> 18 & 63], out);
		fputc(b64[v >> 12 & 63], out);
		fputc(k + 1 < n ? b64[v >> 6 & 63] : '=', out);
		fputc(k + 2 < n ? b64[v & 63] : '=', out);
	}
	fputc('"', out);
}

static void json_elem(FILE *out, const struct rpm_td *td, uint32_t i)
{
	switch (td->type) {
	case RPM_BIN:
		json_b64(out, rpm_td_bin(td), td->count);
		break;
	case RPM_STRING:
	case RPM_STRING_ARRAY:
	case RPM_I18NSTRING:
		json_str(out, rpm_td_str(td, i));
		break;
	default:
		fprintf(out, "%llu", (unsigned long long)rpm_td_num(td, i));
	}
}

/*
 * rpm 4.20's object is `[%{*:json}]` (rpmpopt.in): "{\n", one line per tag
 * `    "Name": \tVALUE` (a tag with several values: `    "Name": [` then one
 * "\tVALUE" line each and `    ]`), entries joined by ",\n", then "}\n".
 * The compact form (--json=lines) has the same keys, order and value text
 * with that layout whitespace left out, so that one object is one line.
 */
int rpm_print_json(const struct rpm_pkg *p, enum rpm_json_form form, FILE *out, struct ok_err *e)
{
	(void)e;
	const int compact = form == RPM_JSON_COMPACT;
	/* The tags `%{*}` iterates (as qf.c's headerFormat does): rpm's index
	 * order with the merged signature tags and load-time retrofits
	 * (SOURCEPACKAGE, ...), region tags left out, raw data. */
	const struct rpm_hdr *h = &p->hdr;
	int first = 1;
	fputs(compact ? "{" : "{\n", out);
	for (size_t k = 0; k < h->il + h->nvirt; k++) {
		uint32_t tag = h->virt ? h->virt[k].tag : h->ents[k].tag;
		if (tag >= TAG_HEADERIMAGE && tag <= TAG_HEADERIMMUTABLE)
			continue;
		struct rpm_td td;
		if (!rpm_td_get_raw(p, tag, &td))
			continue;
		/* rpm 4.20 names the tags 4.18 names (PAYLOADDIGEST, not rpm
		 * 6.0's PAYLOADSHA256) and the seven it added, 5103-5109
		 * (PREUNTRANS ... SYSUSERS: its rpmtag.h against 4.18's, less
		 * "internal"/"unimplemented" ones as its gentagtbl.sh does);
		 * any other tag is "[NUMBER]", headerfmt.c's tagName() */
		const struct rpm_tag_info *ti = rpm_tag_by_num(tag);
		const char *tn = rpm_tag_name418(tag);
		if (!tn && ti && tag >= 5103 && tag <= 5109)
			tn = ti->name;
		char name[64];
		if (tn) {
			size_t l = strlen(tn);
			if (l >= sizeof(name))
				l = sizeof(name) - 1;
			for (size_t c = 0; c < l; c++)
				name[c] = c == 0			   ? tn[c]
					  : (tn[c] >= 'A' && tn[c] <= 'Z') ? (char)(tn[c] + 32)
									   : tn[c];
			name[l] = 0;
		} else {
			snprintf(name, sizeof(name), "[%u]", tag);
		}
		uint32_t cnt = td.type == RPM_BIN ? 1 : td.count;
		if (!first)
			fputs(compact ? "," : ",\n", out);
		first = 0;
		fprintf(out, compact ? "\"%s\":" : "    \"%s\": ", name);
		if (cnt > 1)
			fputs(compact ? "[" : "[\n", out);
		for (uint32_t q = 0; q < cnt; q++) {
			if (!compact)
				fputc('\t', out);
			json_elem(out, &td, q);
			if (cnt > 1 && q < cnt - 1)
				fputs(compact ? "," : ",\n", out);
			else if (cnt > 1 && !compact)
				fputc('\n', out);
		}
		if (cnt > 1)
			fputs(compact ? "]" : "    ]", out);
		rpm_td_free(&td);
	}
	/* rpm 4.20's jsonFooter drops the last ",\n" and adds "\n}\n" (a
	 * header without tags, where it would drop the "{\n", cannot pass
	 * validation) */
	fputs(compact ? "}\n" : "\n}\n", out);
	return 0;
}
