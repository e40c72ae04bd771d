/*
 * tagdata.c: one tag's values as rpm's headerGet(HEADERGET_EXT) returns them.
 *
 * Divisions: stored tags (i18n strings resolved for the locale as rpm's
 * copyI18NEntry does); signature tags merged into the main header; the
 * extension tags of rpm 4.18's lib/tagexts.c that queries use (file names,
 * trigger conditions and types, dependency strings, 64-bit sizes, NEVRA
 * forms, VERBOSE); the file list (rpmfi's view: paths, sizes, link counts).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpmq.h"

/* ---- td helpers ----------------------------------------------------------- */

void rpm_td_free(struct rpm_td *td)
{
	if (td->strs)
		for (uint32_t i = 0; i < td->count; i++)
			free(td->strs[i]);
	free(td->strs);
	free(td->nums);
	memset(td, 0, sizeof(*td));
}

uint64_t rpm_td_num(const struct rpm_td *td, uint32_t i)
{
	if (td->nums)
		return td->nums[i];
	if (td->en)
		return rpm_ent_num(td->h, td->en, i);
	return 0;
}

const char *rpm_td_str(const struct rpm_td *td, uint32_t i)
{
	if (td->strs)
		return td->strs[i];
	if (td->en)
		return rpm_ent_str(td->h, td->en, i);
	return "";
}

const uint8_t *rpm_td_bin(const struct rpm_td *td)
{
	if (td->bin)
		return td->bin;
	return td->en ? td->h->data + td->en->off : (const uint8_t *)"";
}

static int td_strs(struct rpm_td *td, uint32_t tag, uint32_t n)
{
	td->tag = tag;
	td->type = n == 1 ? RPM_STRING : RPM_STRING_ARRAY;
	td->count = n;
	td->strs = calloc(n ? n : 1, sizeof(char *));
	return td->strs ? 0 : -ENOMEM;
}

static int td_one_str(struct rpm_td *td, uint32_t tag, char *s)
{
	if (!s || td_strs(td, tag, 1) < 0) {
		free(s);
		return 0;
	}
	td->strs[0] = s;
	return 1;
}

static int td_nums(struct rpm_td *td, uint32_t tag, enum rpm_type type, uint32_t n)
{
	td->tag = tag;
	td->type = type;
	td->count = n;
	td->nums = calloc(n ? n : 1, sizeof(uint64_t));
	return td->nums ? 0 : -ENOMEM;
}

/* ---- stored and merged tags ----------------------------------------------- */

/* rpm's headerMatchLocale: 1 exact (or without @dialect / .codeset), 2 weak
 * (language without country), 0 none. */
static int match_locale(const char *td, const char *l, const char *le)
{
	size_t n = (size_t)(le - l);
	if (strlen(td) == n && strncmp(td, l, n) == 0)
		return 1;
	const char *fe;
	for (fe = l; fe < le && *fe != '@'; fe++)
		;
	if (fe < le && strncmp(td, l, (size_t)(fe - l)) == 0)
		return 1;
	for (fe = l; fe < le && *fe != '.'; fe++)
		;
	if (fe < le && strncmp(td, l, (size_t)(fe - l)) == 0)
		return 1;
	for (fe = l; fe < le && *fe != '_'; fe++)
		;
	if (fe < le && strncmp(td, l, (size_t)(fe - l)) == 0)
		return 2;
	return 0;
}

static uint32_t i18n_index(const struct rpm_pkg *p, const struct rpm_entry *en)
{
	const char *lang = getenv("LANGUAGE");
	if (!lang)
		lang = getenv("LC_ALL");
	if (!lang)
		lang = getenv("LC_MESSAGES");
	if (!lang)
		lang = getenv("LANG");
	const struct rpm_entry *tbl = rpm_hdr_find(&p->hdr, TAG_I18NTABLE);
	if (!lang || !tbl || tbl->type != RPM_STRING_ARRAY)
		return 0;
	for (const char *l = lang, *le; *l; l = le) {
		while (*l == ':')
			l++;
		if (!*l)
			break;
		for (le = l; *le && *le != ':'; le++)
			;
		long weak = -1;
		for (uint32_t i = 0; i < en->count && i < tbl->count; i++) {
			int m = match_locale(rpm_ent_str(&p->hdr, tbl, i), l, le);
			if (m == 1)
				return i;
			if (m == 2)
				weak = i;
		}
		if (weak >= 0)
			return (uint32_t)weak;
	}
	return 0;
}

/* A tag rpm adds on load (enum rpm_retro), as stored data would read. */
static int get_retro(const struct rpm_pkg *p, uint32_t tag, struct rpm_td *td)
{
	if (tag == TAG_SOURCERPM && p->retro == RETRO_SOURCERPM)
		return td_one_str(td, tag, strdup("(none)"));
	if (tag == TAG_SOURCEPACKAGE && p->retro == RETRO_SOURCEPACKAGE) {
		if (td_nums(td, tag, RPM_INT32, 1) < 0)
			return 0;
		td->nums[0] = 1;
		return 1;
	}
	return 0;
}

int rpm_td_get_raw(const struct rpm_pkg *p, uint32_t tag, struct rpm_td *td)
{
	int verbose = td->verbose;
	memset(td, 0, sizeof(*td));
	td->verbose = verbose;
	const struct rpm_entry *en = rpm_hdr_find(&p->hdr, tag);
	const struct rpm_hdr *h = &p->hdr;
	for (unsigned i = 0; !en && i < p->nxsig; i++)
		if (p->xsig_tag[i] == tag) {
			en = &p->xsig[i];
			h = &p->sig;
		}
	if (!en)
		return get_retro(p, tag, td);
	td->tag = tag;
	td->h = h;
	td->en = en;
	td->type = en->type;
	td->count = en->count;
	return 1;
}

/* A stored main-header tag, or a merged signature tag, with an i18n string
 * in the user's language (headerGet's default). */
static int get_stored(const struct rpm_pkg *p, uint32_t tag, struct rpm_td *td)
{
	if (!rpm_td_get_raw(p, tag, td))
		return 0;
	const struct rpm_entry *en = td->en;
	if (en && en->type == RPM_I18NSTRING) {
		uint32_t k = i18n_index(p, en);
		if (k) {
			char *s = strdup(rpm_ent_str(td->h, en, k));
			td->en = NULL;
			return td_one_str(td, tag, s);
		}
		td->type = RPM_STRING;
		td->count = 1;
	}
	return 1;
}

/* ---- extension tags ------------------------------------------------------- */

/* The file list and a string td with one slot per file: rpm's extensions
 * that build on rpmfi (absent when it would have no files). 1, or 0 with
 * nothing to free. */
static int files_strs(const struct rpm_pkg *p, uint32_t tag, struct rpm_td *td, struct rpm_file **f,
		      size_t *n)
{
	if (rpm_files(p, f, n, NULL) < 0 || *n == 0)
		return 0;
	if (td_strs(td, tag, (uint32_t)*n) < 0) {
		rpm_files_free(*f, *n);
		return 0;
	}
	td->type = RPM_STRING_ARRAY;
	return 1;
}

static int ext_filenames(const struct rpm_pkg *p, uint32_t tag, struct rpm_td *td)
{
	struct rpm_file *f;
	size_t n;
	if (!files_strs(p, tag, td, &f, &n))
		return 0;
	for (size_t i = 0; i < n; i++) {
		td->strs[i] = f[i].path;
		f[i].path = NULL;
	}
	rpm_files_free(f, n);
	return 1;
}

static int ext_filenlinks(const struct rpm_pkg *p, uint32_t tag, struct rpm_td *td)
{
	struct rpm_file *f;
	size_t n;
	if (rpm_files(p, &f, &n, NULL) < 0 || n == 0)
		return 0;
	if (td_nums(td, tag, RPM_INT32, (uint32_t)n) == 0)
		for (size_t i = 0; i < n; i++)
			td->nums[i] = f[i].nlink;
	rpm_files_free(f, n);
	return td->nums != NULL;
}

/* Trigger tag sets: scripts, name, version, flags, index. */
static const uint32_t trig_tags[3][5] = {
    {1065, 1066, 1067, 1068, 1069},
    {5066, 5069, 5071, 5072, 5070},
    {5076, 5079, 5081, 5082, 5080},
};

static void depflags(uint64_t f, char *op)
{
	char *o = op;
	if (f & 2)
		*o++ = '<';
	if (f & 4)
		*o++ = '>';
	if (f & 8)
		*o++ = '=';
	*o = 0;
}

static int ext_trigconds(const struct rpm_pkg *p, int kind, uint32_t tag, struct rpm_td *td)
{
	const struct rpm_hdr *h = &p->hdr;
	const struct rpm_entry *sc = rpm_hdr_find(h, trig_tags[kind][0]);
	const struct rpm_entry *nm = rpm_hdr_find(h, trig_tags[kind][1]);
	const struct rpm_entry *ver = rpm_hdr_find(h, trig_tags[kind][2]);
	const struct rpm_entry *fl = rpm_hdr_find(h, trig_tags[kind][3]);
	const struct rpm_entry *ix = rpm_hdr_find(h, trig_tags[kind][4]);
	if (!nm || nm->type != RPM_STRING_ARRAY)
		return 0;
	uint32_t ns = sc && sc->type == RPM_STRING_ARRAY ? sc->count : 0;
	if (td_strs(td, tag, ns) < 0)
		return 0;
	td->type = RPM_STRING_ARRAY;
	for (uint32_t i = 0; i < ns; i++) {
		size_t cap = 64, len = 0;
		char *s = malloc(cap);
		if (!s)
			break;
		s[0] = 0;
		for (uint32_t j = 0; j < nm->count; j++) {
			if (!ix || j >= ix->count || rpm_ent_num(h, ix, j) != i)
				continue;
			uint64_t f = fl && j < fl->count ? rpm_ent_num(h, fl, j) : 0;
			const char *n = rpm_ent_str(h, nm, j);
			const char *v = ver && ver->type == RPM_STRING_ARRAY && j < ver->count
					    ? rpm_ent_str(h, ver, j)
					    : "";
			char op[4];
			depflags(f, op);
			size_t need = len + strlen(n) + strlen(v) + 12;
			if (need > cap) {
				cap = need * 2;
				char *t = realloc(s, cap);
				if (!t)
					break;
				s = t;
			}
			len += (size_t)sprintf(s + len, "%s%s", len ? ", " : "", n);
			if (f & 15)
				len += (size_t)sprintf(s + len, " %s %s", op, v);
		}
		td->strs[i] = s;
	}
	return 1;
}

static int ext_trigtype(const struct rpm_pkg *p, int kind, uint32_t tag, struct rpm_td *td)
{
	const struct rpm_hdr *h = &p->hdr;
	const struct rpm_entry *sc = rpm_hdr_find(h, trig_tags[kind][0]);
	const struct rpm_entry *fl = rpm_hdr_find(h, trig_tags[kind][3]);
	const struct rpm_entry *ix = rpm_hdr_find(h, trig_tags[kind][4]);
	if (!ix)
		return 0;
	uint32_t ns = sc && sc->type == RPM_STRING_ARRAY ? sc->count : 0;
	if (td_strs(td, tag, ns) < 0)
		return 0;
	td->type = RPM_STRING_ARRAY;
	for (uint32_t i = 0; i < ns; i++) {
		const char *t = "";
		for (uint32_t j = 0; j < ix->count && fl && j < fl->count; j++) {
			if (rpm_ent_num(h, ix, j) != i)
				continue;
			uint64_t f = rpm_ent_num(h, fl, j);
			t = f & (1u << 25)   ? "prein"
			    : f & (1u << 16) ? "in"
			    : f & (1u << 17) ? "un"
			    : f & (1u << 18) ? "postun"
					     : "";
			break;
		}
		td->strs[i] = strdup(t);
	}
	return 1;
}

/* Dependency sets: name, version, flags. */
static int ext_depnevrs(const struct rpm_pkg *p, uint32_t name_tag, int strong_filter, uint32_t tag,
			struct rpm_td *td)
{
	const struct rpm_hdr *h = &p->hdr;
	const struct rpm_entry *nm = rpm_hdr_find(h, name_tag);
	const struct rpm_entry *ver = rpm_hdr_find(h, name_tag + 1);
	const struct rpm_entry *fl = rpm_hdr_find(h, name_tag - 1);
	if (name_tag >= 5046) { /* weak deps: name, version, flags in that order */
		ver = rpm_hdr_find(h, name_tag + 1);
		fl = rpm_hdr_find(h, name_tag + 2);
	} else if (name_tag == 1047) {
		ver = rpm_hdr_find(h, 1113);
		fl = rpm_hdr_find(h, 1112);
	} else if (name_tag == 1090) {
		ver = rpm_hdr_find(h, 1115);
		fl = rpm_hdr_find(h, 1114);
	} else if (name_tag == 1156 || name_tag == 1159) {
		ver = rpm_hdr_find(h, name_tag + 1);
		fl = rpm_hdr_find(h, name_tag + 2);
	}
	if (!nm || nm->type != RPM_STRING_ARRAY)
		return 0;
	if ((ver && ver->count != nm->count) || (fl && fl->count != nm->count))
		return 0;
	if (td_strs(td, tag, nm->count) < 0)
		return 0;
	td->type = RPM_STRING_ARRAY;
	uint32_t k = 0;
	for (uint32_t i = 0; i < nm->count; i++) {
		uint64_t f = fl ? rpm_ent_num(h, fl, i) : 0;
		if (strong_filter >= 0 && !!(f & (1u << 27)) != strong_filter)
			continue;
		const char *n = rpm_ent_str(h, nm, i);
		const char *v = ver && ver->type == RPM_STRING_ARRAY ? rpm_ent_str(h, ver, i) : "";
		char op[4];
		depflags(f, op);
		size_t need = strlen(n) + strlen(v) + 8;
		char *s = malloc(need), *o = s;
		if (!s)
			break;
		o = stpcpy(o, n);
		if (f & 15) {
			if (o != s)
				*o++ = ' ';
			o = stpcpy(o, op);
		}
		if (*v) {
			if (o != s)
				*o++ = ' ';
			o = stpcpy(o, v);
		}
		*o = 0;
		td->strs[k++] = s;
	}
	td->count = k;
	if (k == 0) {
		rpm_td_free(td);
		return 0;
	}
	td->type = RPM_STRING_ARRAY;
	return 1;
}

/* FILECLASS as rpm 4.18's fileclassTag (lib/tagexts.c makeFClass): the
 * CLASSDICT string FILECLASS points at, or for an empty or missing one a
 * name from the file type. Absent when rpmfi would have no files. */
static int ext_fileclass(const struct rpm_pkg *p, uint32_t tag, struct rpm_td *td)
{
	const struct rpm_hdr *h = &p->hdr;
	struct rpm_file *f;
	size_t n;
	if (!files_strs(p, tag, td, &f, &n))
		return 0;
	const struct rpm_entry *cd = rpm_hdr_find(h, 1142), *fc = rpm_hdr_find(h, 1141);
	for (size_t i = 0; i < n; i++) {
		const char *hc = NULL;
		/* rpmfilesFClass: the index is read as a signed int */
		int32_t x = fc && i < fc->count ? (int32_t)rpm_ent_num(h, fc, (uint32_t)i) : -1;
		if (cd && cd->type == RPM_STRING_ARRAY && x >= 0 && (uint32_t)x < cd->count)
			hc = rpm_ent_str(h, cd, (uint32_t)x);
		char *s;
		if (hc && *hc) {
			s = strdup(hc);
		} else {
			switch (f[i].mode & 0170000) {
			case 0060000:
				s = strdup("block special");
				break;
			case 0020000:
				s = strdup("character special");
				break;
			case 0040000:
				s = strdup("directory");
				break;
			case 0010000:
				s = strdup("fifo (named pipe)");
				break;
			case 0140000:
				s = strdup("socket");
				break;
			case 0120000: {
				const char *l = f[i].linkto ? f[i].linkto : "";
				size_t ll = strlen(l);
				s = malloc(ll + 21);
				if (s)
					snprintf(s, ll + 21, "symbolic link to `%s'", l);
				break;
			}
			default:
				s = strdup("");
			}
		}
		td->strs[i] = s ? s : strdup("");
	}
	rpm_files_free(f, n);
	return 1;
}

/* FILEPROVIDE / FILEREQUIRE as rpm 4.18's filedepTag: per file, the
 * dependencies its FILEDEPENDSX/N slice of DEPENDSDICT names with the given
 * type ('P' or 'R'), each as rpmdsDNEVR without its "P " prefix, joined by
 * spaces. A dictionary entry's low 24 bits index the package's provides or
 * requires (rpmdsSetIx(dix - 1) then rpmdsNext). */
static int ext_filedeps(const struct rpm_pkg *p, char deptype, uint32_t tag, struct rpm_td *td)
{
	const struct rpm_hdr *h = &p->hdr;
	struct rpm_file *f;
	size_t n;
	if (!files_strs(p, tag, td, &f, &n))
		return 0;
	rpm_files_free(f, n);
	/* rpmdsNew: names, and versions and flags of the same count, or none */
	const struct rpm_entry *nm = rpm_hdr_find(h, deptype == 'P' ? 1047 : 1049);
	const struct rpm_entry *ver = rpm_hdr_find(h, deptype == 'P' ? 1113 : 1050);
	const struct rpm_entry *fl = rpm_hdr_find(h, deptype == 'P' ? 1112 : 1048);
	if (!nm || nm->type != RPM_STRING_ARRAY || (ver && ver->count != nm->count) ||
	    (fl && fl->count != nm->count))
		nm = NULL;
	const struct rpm_entry *dd = rpm_hdr_find(h, 1145); /* DEPENDSDICT */
	const struct rpm_entry *dx = rpm_hdr_find(h, 1143); /* FILEDEPENDSX */
	const struct rpm_entry *dn = rpm_hdr_find(h, 1144); /* FILEDEPENDSN */
	for (size_t i = 0; i < n; i++) {
		/* rpmfilesFDepends, its int arithmetic included */
		int32_t cnt = dn && i < dn->count ? (int32_t)rpm_ent_num(h, dn, (uint32_t)i) : 0;
		int32_t x =
		    cnt > 0 && dx && i < dx->count ? (int32_t)rpm_ent_num(h, dx, (uint32_t)i) : -1;
		int ok = dd && x >= 0 && (int64_t)x + cnt <= (int64_t)dd->count;
		size_t cap = 1, len = 0, nd = 0;
		char *s = calloc(1, cap);
		for (int32_t k = 0; ok && s && k < cnt; k++) {
			uint32_t dix = (uint32_t)rpm_ent_num(h, dd, (uint32_t)(x + k));
			if ((char)(dix >> 24) != deptype || !nm)
				continue;
			dix &= 0x00ffffff;
			if (dix >= nm->count)
				continue;
			const char *name = rpm_ent_str(h, nm, dix);
			const char *evr =
			    ver && ver->type == RPM_STRING_ARRAY ? rpm_ent_str(h, ver, dix) : "";
			uint64_t fv = fl ? rpm_ent_num(h, fl, dix) : 0;
			char op[4];
			depflags(fv, op);
			size_t need = len + strlen(name) + strlen(evr) + 8;
			if (need > cap) {
				char *t = realloc(s, need * 2);
				if (!t)
					break;
				s = t;
				cap = need * 2;
			}
			/* rpmdsNewDNEVR after its prefix: a separator always */
			len += (size_t)sprintf(s + len, "%s%s", nd++ ? " " : "", name);
			if (fv & 15)
				len += (size_t)sprintf(s + len, " %s", op);
			if (*evr)
				len += (size_t)sprintf(s + len, " %s", evr);
		}
		td->strs[i] = s ? s : strdup("");
	}
	return 1;
}

/* rpm's get64: the 64-bit tag if stored, else the 32-bit one widened. */
static int ext_get64(const struct rpm_pkg *p, uint32_t newtag, uint32_t oldtag, uint32_t tag,
		     struct rpm_td *td)
{
	if (get_stored(p, newtag, td))
		return 1;
	struct rpm_td old = {0};
	if (!get_stored(p, oldtag, &old) || old.type != RPM_INT32)
		return 0;
	if (td_nums(td, tag, RPM_INT64, old.count) < 0)
		return 0;
	for (uint32_t i = 0; i < old.count; i++)
		td->nums[i] = rpm_td_num(&old, i);
	return 1;
}

char *rpm_pkg_nevra(const struct rpm_pkg *p, int n, int e, int v, int r, int a)
{
	char buf[4096] = "";
	const char *s;
	if (n && (s = rpm_pkg_str(p, TAG_NAME)))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s-", s);
	if (e && rpm_hdr_find(&p->hdr, TAG_EPOCH))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf),
			 "%llu:", (unsigned long long)rpm_pkg_num(p, TAG_EPOCH, 0));
	if (v && (s = rpm_pkg_str(p, TAG_VERSION)))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s-", s);
	if (r && (s = rpm_pkg_str(p, TAG_RELEASE)))
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s", s);
	if (a) {
		s = rpm_pkg_str(p, TAG_ARCH);
		if (!s && !rpm_hdr_find(&p->hdr, TAG_SOURCERPM) && p->retro != RETRO_SOURCERPM)
			s = "src";
		if (s)
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), ".%s", s);
	}
	return strdup(buf);
}

int rpm_td_get(const struct rpm_pkg *p, uint32_t tag, int verbose, struct rpm_td *td)
{
	memset(td, 0, sizeof(*td));
	td->verbose = verbose;
	switch (tag) {
	case TAG_FILENAMES:
		return ext_filenames(p, tag, td);
	case 5045:
		return ext_filenlinks(p, tag, td);
	case 5005:
		return ext_trigconds(p, 0, tag, td);
	case 5086:
		return ext_trigconds(p, 1, tag, td);
	case 5088:
		return ext_trigconds(p, 2, tag, td);
	case 5006:
		return ext_trigtype(p, 0, tag, td);
	case 5087:
		return ext_trigtype(p, 1, tag, td);
	case 5089:
		return ext_trigtype(p, 2, tag, td);
	case TAG_LONGFILESIZES:
		return ext_get64(p, TAG_LONGFILESIZES, TAG_FILESIZES, tag, td);
	case 271:
		return ext_get64(p, 271, TAG_ARCHIVESIZE, tag, td);
	case TAG_LONGSIZE:
		return ext_get64(p, TAG_LONGSIZE, TAG_SIZE, tag, td);
	case 270:
		return ext_get64(p, 270, 257, tag, td);
	case 5013:
		return td_one_str(td, tag, rpm_pkg_nevra(p, 0, 1, 1, 1, 0));
	case 5014:
		return td_one_str(td, tag, rpm_pkg_nevra(p, 1, 0, 1, 1, 0));
	case 5015:
		return td_one_str(td, tag, rpm_pkg_nevra(p, 1, 1, 1, 1, 0));
	case 1196:
		return td_one_str(td, tag, rpm_pkg_nevra(p, 1, 0, 1, 1, 1));
	case 5016:
		return td_one_str(td, tag, rpm_pkg_nevra(p, 1, 1, 1, 1, 1));
	case 5098: { /* ARCHSUFFIX */
		const char *a;
		char buf[256];
		if (!rpm_hdr_find(&p->hdr, TAG_SOURCERPM) && p->retro != RETRO_SOURCERPM)
			a = rpm_hdr_find(&p->hdr, 1051) || rpm_hdr_find(&p->hdr, 1052) ? "nosrc"
										       : "src";
		else
			a = rpm_pkg_str(p, TAG_ARCH);
		snprintf(buf, sizeof(buf), "%s%s", a ? "." : "", a ? a : "");
		return td_one_str(td, tag, strdup(buf));
	}
	case 1195: /* DBINSTANCE: a package file has no rpmdb instance, 0 */
		if (td_nums(td, tag, RPM_INT32, 1) < 0)
			return 0;
		td->nums[0] = 0;
		return 1;
	case TAG_HEADERIMMUTABLE: /* the region as rpm exports it: il dl index data */
		if (p->hdr.region_tag != TAG_HEADERIMMUTABLE)
			return 0;
		td->tag = tag;
		td->type = RPM_BIN;
		td->bin = p->hdr.raw + 8;
		td->count = (uint32_t)(p->hdr.raw_len - 8);
		return 1;
	case 5017: { /* HEADERCOLOR */
		uint64_t c = 0;
		const struct rpm_entry *en = rpm_hdr_find(&p->hdr, 1140);
		for (uint32_t i = 0; en && i < en->count; i++)
			c |= rpm_ent_num(&p->hdr, en, i);
		if (td_nums(td, tag, RPM_INT32, 1) < 0)
			return 0;
		td->nums[0] = c & 0x0f;
		return 1;
	}
	case 5018: /* VERBOSE */
		if (!verbose || td_nums(td, tag, RPM_INT32, 1) < 0)
			return 0;
		td->nums[0] = 1;
		return 1;
	case 5019: /* EPOCHNUM */
		if (td_nums(td, tag, RPM_INT32, 1) < 0)
			return 0;
		td->nums[0] = rpm_pkg_num(p, TAG_EPOCH, 0);
		return 1;
	case 5041:
		return ext_depnevrs(p, 1049, -1, tag, td);
	case 5042:
		return ext_depnevrs(p, 1047, -1, tag, td);
	case 5043:
		return ext_depnevrs(p, 1090, -1, tag, td);
	case 5044:
		return ext_depnevrs(p, 1054, -1, tag, td);
	case 5058:
		return ext_depnevrs(p, 5046, -1, tag, td) || ext_depnevrs(p, 1156, 1, tag, td);
	case 5059:
		return ext_depnevrs(p, 5049, -1, tag, td) || ext_depnevrs(p, 1156, 0, tag, td);
	case 5060:
		return ext_depnevrs(p, 5052, -1, tag, td) || ext_depnevrs(p, 1159, 1, tag, td);
	case 5061:
		return ext_depnevrs(p, 5055, -1, tag, td) || ext_depnevrs(p, 1159, 0, tag, td);
	case 1141: /* FILECLASS: the class strings, not the stored indices */
		return ext_fileclass(p, tag, td);
	case 5001:
		return ext_filedeps(p, 'P', tag, td);
	case 5002:
		return ext_filedeps(p, 'R', tag, td);
	case 5040: /* INSTFILENAMES: package files have no FILESTATES */
		return 0;
	default:
		return get_stored(p, tag, td);
	}
}

/* ---- files ---------------------------------------------------------------- */

static int cmp_u32pair(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return *x < *y ? -1 : *x > *y;
}

void rpm_files_free(struct rpm_file *f, size_t n)
{
	if (!f)
		return;
	for (size_t i = 0; i < n; i++)
		free(f[i].path);
	free(f);
}

static const char *str_at(const struct rpm_hdr *h, const struct rpm_entry *en, size_t i)
{
	if (!en || (en->type != RPM_STRING_ARRAY && en->type != RPM_I18NSTRING) || i >= en->count)
		return NULL;
	return rpm_ent_str(h, en, (uint32_t)i);
}

static uint64_t num_at(const struct rpm_hdr *h, const struct rpm_entry *en, size_t i)
{
	if (!en || en->type < RPM_CHAR || en->type > RPM_INT64 || i >= en->count)
		return 0;
	return rpm_ent_num(h, en, (uint32_t)i);
}

int rpm_files(const struct rpm_pkg *p, struct rpm_file **out, size_t *np, struct ok_err *e)
{
	const struct rpm_hdr *h = &p->hdr;
	const struct rpm_entry *bn = rpm_hdr_find(h, TAG_BASENAMES);
	const struct rpm_entry *dn = rpm_hdr_find(h, TAG_DIRNAMES);
	const struct rpm_entry *di = rpm_hdr_find(h, TAG_DIRINDEXES);
	*out = NULL;
	*np = 0;
	/* OLDFILENAMES never gets here: rpm_legacy_retrofit compressed it */
	if (!bn || bn->type != RPM_STRING_ARRAY)
		return 0;
	size_t n = bn->count;
	if (!dn || !di || di->count != n || dn->count < 1 || dn->count > n ||
	    dn->type != RPM_STRING_ARRAY)
		return ok_err_at(e, -EINVAL, p->path, h->file_off,
				 "header: file name tags BASENAMES/DIRNAMES/DIRINDEXES "
				 "disagree");
	struct rpm_file *f = calloc(n, sizeof(*f));
	if (!f)
		return ok_err_at(e, -ENOMEM, p->path, OK_ERR_NOPOS, "out of memory");
	const struct rpm_entry *sz = rpm_hdr_find(h, TAG_LONGFILESIZES);
	if (!sz)
		sz = rpm_hdr_find(h, TAG_FILESIZES);
	const struct rpm_entry *md = rpm_hdr_find(h, TAG_FILEMODES);
	const struct rpm_entry *mt = rpm_hdr_find(h, TAG_FILEMTIMES);
	const struct rpm_entry *ff = rpm_hdr_find(h, TAG_FILEFLAGS);
	const struct rpm_entry *rd = rpm_hdr_find(h, TAG_FILERDEVS);
	const struct rpm_entry *us = rpm_hdr_find(h, TAG_FILEUSERNAME);
	const struct rpm_entry *gr = rpm_hdr_find(h, TAG_FILEGROUPNAME);
	const struct rpm_entry *lk = rpm_hdr_find(h, TAG_FILELINKTOS);
	const struct rpm_entry *dg = rpm_hdr_find(h, TAG_FILEDIGESTS);
	const struct rpm_entry *dv = rpm_hdr_find(h, TAG_FILEDEVICES);
	const struct rpm_entry *in = rpm_hdr_find(h, TAG_FILEINODES);
	for (size_t i = 0; i < n; i++) {
		uint64_t d = num_at(h, di, i);
		if (d >= dn->count) {
			rpm_files_free(f, i);
			return ok_err_at(e, -EINVAL, p->path, h->file_off,
					 "header: file %zu: DIRINDEXES %llu beyond %u DIRNAMES", i,
					 (unsigned long long)d, dn->count);
		}
		const char *a = rpm_ent_str(h, dn, (uint32_t)d), *b = str_at(h, bn, i);
		size_t la = strlen(a), lb = strlen(b);
		f[i].path = malloc(la + lb + 1);
		if (f[i].path) {
			memcpy(f[i].path, a, la);
			memcpy(f[i].path + la, b, lb + 1);
		}
		if (!f[i].path) {
			rpm_files_free(f, i + 1);
			return ok_err_at(e, -ENOMEM, p->path, OK_ERR_NOPOS, "out of memory");
		}
		f[i].size = num_at(h, sz, i);
		f[i].mode = (uint32_t)num_at(h, md, i);
		f[i].mtime = (uint32_t)num_at(h, mt, i);
		f[i].flags = (uint32_t)num_at(h, ff, i);
		f[i].rdev = (uint32_t)num_at(h, rd, i);
		f[i].dev = (uint32_t)num_at(h, dv, i);
		f[i].ino = (uint32_t)num_at(h, in, i);
		f[i].user = str_at(h, us, i);
		f[i].group = str_at(h, gr, i);
		f[i].linkto = str_at(h, lk, i);
		f[i].digest = str_at(h, dg, i);
		f[i].nlink = 1;
	}
	/* Link counts: regular files sharing (device, inode), as rpmfi counts
	 * hard-link sets. Sort (dev<<32|ino, index) pairs to find the sets. */
	if (in && dv && n > 1) {
		uint64_t(*k)[2] = malloc(n * sizeof(*k));
		if (k) {
			size_t m = 0;
			for (size_t i = 0; i < n; i++)
				if ((f[i].mode & 0170000) == 0100000 && !(f[i].flags & 64)) {
					k[m][0] = (uint64_t)f[i].dev << 32 | f[i].ino;
					k[m][1] = i;
					m++;
				}
			qsort(k, m, sizeof(*k), cmp_u32pair);
			for (size_t a = 0; a < m;) {
				size_t b = a;
				while (b < m && k[b][0] == k[a][0])
					b++;
				for (size_t c = a; c < b; c++)
					f[k[c][1]].nlink = (uint32_t)(b - a);
				a = b;
			}
			free(k);
		}
	}
	*out = f;
	*np = n;
	return 0;
}
