/*
 * tfunc.c: template functions, $(name arg...), as syslog-ng 3.38's
 * modules/basicfuncs and modules/cryptofuncs define them. The template
 * compiler (msg.c) splits the argument list as 3.38's compiler does, asks
 * ls_tf_prepare() which arguments are options (parsed here, at start-up, as
 * GOption parses them in 3.38) and which are templates, formats those per
 * message and hands the results to ls_tf_call(). This file sees strings
 * only, never a message, so it calls nothing in msg.c.
 *
 * Divisions: the function table, option parsing, the functions.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "ls_int.h"

enum tf_kind {
	TF_ECHO,
	TF_LENGTH,
	TF_SUBSTR,
	TF_STRIP,
	TF_SANITIZE,
	TF_LOWERCASE,
	TF_UPPERCASE,
	TF_REPLACE_DELIMITER,
	TF_PADDING,
	TF_IPV4_TO_INT,
	TF_HASH,
	TF_ENV,
	TF_CONTEXT_LENGTH,
	TF_OR,
	TF_IF,
	TF_GREP,
	TF_LIST_CONCAT,
	TF_LIST_APPEND,
	TF_LIST_HEAD,
	TF_LIST_NTH,
	TF_LIST_TAIL,
	TF_LIST_COUNT,
	TF_LIST_SLICE,
	TF_IMPLODE,
	TF_EXPLODE,
	TF_LIST_SEARCH,
	TF_URL_ENCODE,
	TF_URL_DECODE,
	TF_NUM, /* + - * / %: op says which */
};

/* $(list-search --mode): 3.38's StringMatchMode */
enum tf_smm { SMM_LITERAL, SMM_PREFIX, SMM_SUBSTRING, SMM_GLOB, SMM_PCRE };

struct ls_tf {
	enum tf_kind kind;
	/* sanitize */
	bool ctrl_chars;     /* --ctrl-chars (default) / --no-ctrl-chars */
	char *invalid_chars; /* --invalid-chars, "/" by default */
	char replacement;    /* --replacement's first byte, '_' by default */
	/* padding */
	long long width;
	struct ls_buf pattern; /* the padding, width bytes */
	/* hash */
	const void *md; /* the module's (tls_mod.c) EVP_MD */
	int length;	/* hex digits kept */
	/* grep */
	int max_count; /* --max-count: one message here, so any value lets it match once */
	/* list-search */
	enum tf_smm mode; /* --mode (literal) */
	int start_index;  /* --start-index (0) */
	char *needle;	  /* the pattern: the raw argument, not a template (as 3.38) */
	pcre2_code *re;	  /* --mode pcre: the pattern anchored */
	/* + - * / % */
	char op;
};

/* g_pattern_match_string: '*' any run, '?' one UTF-8 character. */
static bool gpattern(const char *p, const char *s)
{
	for (; *p; p++) {
		if (*p == '*') {
			while (p[1] == '*')
				p++;
			if (!p[1])
				return true;
			for (; *s; s++)
				if (gpattern(p + 1, s))
					return true;
			return gpattern(p + 1, s);
		}
		if (!*s)
			return false;
		if (*p == '?') {
			s++;
			while ((*s & 0xc0) == 0x80)
				s++;
			continue;
		}
		if (*p != *s)
			return false;
		s++;
	}
	return !*s;
}

/* ls_int.h; here, below both of its users (rewrite.c's groupset(), this
 * file's $(list-search --mode glob)), so neither calls into the other. */
bool ls_glob_match(const char *pattern, const char *s)
{
	return gpattern(pattern, s);
}

static const struct {
	const char *name;
	enum tf_kind kind;
} tf_table[] = {
    {"echo", TF_ECHO},
    {"length", TF_LENGTH},
    {"substr", TF_SUBSTR},
    {"strip", TF_STRIP},
    {"sanitize", TF_SANITIZE},
    {"lowercase", TF_LOWERCASE},
    {"uppercase", TF_UPPERCASE},
    {"replace-delimiter", TF_REPLACE_DELIMITER},
    {"padding", TF_PADDING},
    {"ipv4-to-int", TF_IPV4_TO_INT},
    {"hash", TF_HASH},
    {"sha1", TF_HASH},
    {"sha256", TF_HASH},
    {"sha512", TF_HASH},
    {"md5", TF_HASH},
    {"env", TF_ENV},
    {"context-length", TF_CONTEXT_LENGTH},
    {"or", TF_OR},
    {"if", TF_IF},
    {"grep", TF_GREP},
    {"list-concat", TF_LIST_CONCAT},
    {"list-append", TF_LIST_APPEND},
    {"list-head", TF_LIST_HEAD},
    {"list-nth", TF_LIST_NTH},
    {"list-tail", TF_LIST_TAIL},
    {"list-count", TF_LIST_COUNT},
    {"list-slice", TF_LIST_SLICE},
    {"implode", TF_IMPLODE},
    {"explode", TF_EXPLODE},
    {"list-search", TF_LIST_SEARCH},
    {"url-encode", TF_URL_ENCODE},
    {"url-decode", TF_URL_DECODE},
    {"+", TF_NUM},
    {"-", TF_NUM},
    {"*", TF_NUM},
    {"/", TF_NUM},
    {"%", TF_NUM},
};

/* 3.38 functions logsift does not have: refused by name, not "unknown". */
static const char *const tf_missing[] = {"format-cef-extension",
					 "geoip",
					 "geoip2",
					 "template",
					 "values",
					 "names",
					 "dirname",
					 "basename",
					 "binary",
					 "urlencode",
					 "base64-encode",
					 "indent-multi-line",
					 "round",
					 "ceil",
					 "floor",
					 "sum",
					 "min",
					 "max",
					 "average",
					 "uuid",
					 "md4",
					 "iterate",
					 "map",
					 "filter",
					 "context-lookup",
					 "context-values",
					 "graphite-output",
					 "dns-resolve-ip",
					 "format-welf",
					 "format-cim",
					 "format-gelf",
					 "python",
					 "tag",
					 "tags-head",
					 "unset-empties",
					 "ipv6-to-int",
					 "strptime",
					 "format-date",
					 "padding-left"};

/* ------------------------------------------------------------ options */

/*
 * GOption's reading of a long option: "--name=V" or "--name V"; short ones
 * only as "-c V" (3.38's GOption takes "-c=V" as unknown). Returns the
 * value (NULL for a flag) and advances *i past it; *ok false when a value
 * is missing.
 */
static const char *opt_value(int argc, char **argv, int *i, size_t skip, bool takes, bool *ok)
{
	const char *a = argv[*i];
	*ok = true;
	if (!takes)
		return NULL;
	if (a[1] == '-' && a[skip] == '=')
		return a + skip + 1;
	if (*i + 1 >= argc) {
		*ok = false;
		return NULL;
	}
	return argv[++*i];
}

/* Which option of the function's set argv[i] is: its index, -1 for a
 * positional argument, -2 for an unknown option. */
static int opt_match(const char *a, const char *const *longs, const char *shorts, size_t *skip)
{
	if (a[0] != '-' || !a[1])
		return -1;
	if (a[1] == '-') {
		for (int k = 0; longs[k]; k++) {
			size_t n = strlen(longs[k]);
			if (!strncmp(a + 2, longs[k], n) && (a[2 + n] == 0 || a[2 + n] == '=')) {
				*skip = 2 + n;
				return k;
			}
		}
		return -2;
	}
	const char *s = a[2] ? NULL : strchr(shorts, a[1]);
	if (!s)
		return -2;
	*skip = 2;
	return (int)(s - shorts);
}

/* ------------------------------------------------------------ prepare */

/*
 * $(list-search [--mode M] [--start-index N] PATTERN list...) as 3.38's
 * list-funcs.c: the pattern is the raw argument (no macros expand in it),
 * the lists after it are templates; pcre is anchored at the element's start
 * (PCRE_ANCHORED), glob is GLib's pattern. False with 3.38's message.
 */
static bool search_prepare(struct ls_tf *f, char **argv, int *pos, int *npos, const char *mode,
			   char *err, size_t errlen)
{
	static const char *const modes[] = {"literal", "prefix", "substring", "glob", "pcre"};
	f->mode = SMM_LITERAL;
	if (mode) {
		int m = -1;
		for (int i = 0; i < 5; i++)
			if (!strcmp(mode, modes[i]))
				m = i;
		if (m < 0) {
			snprintf(err, errlen,
				 "$(list-search) Invalid list-search mode: %s. Valid modes are: "
				 "literal, prefix, substring, glob, pcre",
				 mode);
			return false;
		}
		f->mode = (enum tf_smm)m;
	}
	if (*npos < 1) {
		snprintf(err, errlen,
			 "$(list-search) Pattern is missing. Usage: $(list-search "
			 "[options] <pattern> ${list})");
		return false;
	}
	if (*npos < 2) {
		/* sic: 3.38's message lacks the closing parenthesis */
		snprintf(err, errlen,
			 "$(list-search) List is missing. Usage: $(list-search "
			 "[options] <pattern> ${list}");
		return false;
	}
	f->needle = strdup(argv[pos[0]]);
	if (!f->needle)
		abort();
	if (f->mode == SMM_PCRE) {
		int rc;
		PCRE2_SIZE off;
		f->re = pcre2_compile((PCRE2_SPTR)f->needle, PCRE2_ZERO_TERMINATED, PCRE2_ANCHORED,
				      &rc, &off, NULL);
		if (!f->re) {
			snprintf(err, errlen, "$(list-search) Failed to prepare pattern: %s",
				 f->needle);
			return false;
		}
	}
	/* the lists are the templates */
	for (int i = 1; i < *npos; i++)
		pos[i - 1] = pos[i];
	(*npos)--;
	return true;
}

int ls_tf_lookup(const char *name)
{
	for (size_t i = 0; i < sizeof tf_table / sizeof tf_table[0]; i++)
		if (!strcmp(tf_table[i].name, name))
			return (int)i;
	return -1;
}

struct ls_tf *ls_tf_prepare(int argc, char **argv, int *pos, int *npos, char *err, size_t errlen)
{
	int idx = ls_tf_lookup(argv[0]);
	if (idx < 0) {
		bool known = false;
		for (size_t i = 0; i < sizeof tf_missing / sizeof tf_missing[0]; i++)
			known |= !strcmp(tf_missing[i], argv[0]);
		snprintf(err, errlen,
			 known ? "template function $(%s) is not supported by logsift"
			       : "Unknown template function \"%s\"",
			 argv[0]);
		return NULL;
	}
	struct ls_tf *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->kind = tf_table[idx].kind;
	f->ctrl_chars = true;
	f->replacement = '_';
	static const char *const san_long[] = {"ctrl-chars", "no-ctrl-chars", "invalid-chars",
					       "replacement", NULL};
	static const char *const hash_long[] = {"length", NULL};
	static const char *const grep_long[] = {"max-count", NULL};
	static const char *const search_long[] = {"mode", "start-index", NULL};
	const char *const *longs = NULL;
	const char *shorts = "";
	if (f->kind == TF_SANITIZE) {
		longs = san_long;
		shorts = "cCir";
	} else if (f->kind == TF_HASH) {
		longs = hash_long;
		shorts = "l";
	} else if (f->kind == TF_GREP) {
		longs = grep_long;
		shorts = "m";
	} else if (f->kind == TF_LIST_SEARCH) {
		longs = search_long;
	}
	f->op = argv[0][0];
	const char *inv = NULL, *rep = NULL, *mode = NULL;
	*npos = 0;
	bool dashdash = false;
	for (int i = 1; i < argc; i++) {
		size_t skip = 0;
		int k = longs && !dashdash ? opt_match(argv[i], longs, shorts, &skip) : -1;
		if (longs && !dashdash && !strcmp(argv[i], "--")) {
			dashdash = true;
			continue;
		}
		if (k == -2) {
			snprintf(err, errlen, "Unknown option %s", argv[i]);
			goto fail;
		}
		if (k < 0) {
			pos[(*npos)++] = i;
			continue;
		}
		bool ok;
		bool takes =
		    f->kind == TF_HASH || f->kind == TF_GREP || f->kind == TF_LIST_SEARCH || k >= 2;
		const char *v = opt_value(argc, argv, &i, skip, takes, &ok);
		if (!ok) {
			snprintf(err, errlen, "Missing argument for %s", argv[i]);
			goto fail;
		}
		if (f->kind == TF_LIST_SEARCH && k == 0) {
			mode = v;
		} else if (f->kind == TF_HASH || f->kind == TF_GREP || f->kind == TF_LIST_SEARCH) {
			char *end;
			errno = 0;
			long n = strtol(v, &end, 10);
			if (!*v || *end || errno || n < INT_MIN || n > INT_MAX) {
				snprintf(err, errlen, "Cannot parse integer value “%s” for --%s", v,
					 longs[k]);
				goto fail;
			}
			if (f->kind == TF_HASH)
				f->length = (int)n;
			else if (f->kind == TF_GREP)
				f->max_count = (int)n;
			else
				f->start_index = (int)n;
		} else if (k == 0 || k == 1) {
			f->ctrl_chars = k == 0;
		} else if (k == 2) {
			inv = v;
		} else {
			rep = v;
		}
	}
	switch (f->kind) {
	case TF_SANITIZE:
		f->invalid_chars = strdup(inv ? inv : "/");
		f->replacement = rep ? rep[0] : '_';
		break;
	case TF_PADDING: {
		/* 3.38: $(padding input width [pattern]); only input is a template */
		if (argc < 3) {
			snprintf(err, errlen,
				 "$(padding) Not enough arguments, usage $(padding <input> <width> "
				 "[padding string])");
			goto fail;
		}
		char *end;
		errno = 0;
		f->width = strtoll(argv[2], &end, 10);
		if (!*argv[2] || *end || errno || f->width < 0) {
			snprintf(err, errlen,
				 "Padding template function requires a number as second argument!");
			goto fail;
		}
		if (f->width > 1 << 20) {
			snprintf(err, errlen,
				 "$(padding) widths over 1048576 are not supported by logsift");
			goto fail;
		}
		const char *pat = argc >= 4 && argv[3][0] ? argv[3] : " ";
		size_t pl = strlen(pat);
		for (long long w = 0; w < f->width; w++)
			ls_buf_addc(&f->pattern, pat[(size_t)w % pl]);
		pos[0] = 1;
		*npos = 1;
		break;
	}
	case TF_HASH: {
		if (*npos < 1) {
			snprintf(err, errlen,
				 "$(hash) parsing failed, invalid number of arguments");
			goto fail;
		}
		const char *dn = !strcmp(argv[0], "hash") ? "sha256" : argv[0];
		int size = 0;
		f->md = ls_tls_md(dn, &size);
		if (!f->md) {
			snprintf(err, errlen, "$(hash) parsing failed, unknown digest type");
			goto fail;
		}
		if (f->length <= 0 || f->length > size * 2)
			f->length = size * 2;
		break;
	}
	case TF_CONTEXT_LENGTH:
		*npos = 0;
		break;
	case TF_IF:
		/* the filter expression (pos[0]) is the compiler's: see ls_tf_cond */
		if (argc != 4) {
			snprintf(err, errlen, "$(if) requires three arguments");
			goto fail;
		}
		break;
	case TF_GREP:
		if (*npos < 2) {
			snprintf(err, errlen, "$(grep) requires at least two arguments");
			goto fail;
		}
		break;
	case TF_LIST_SEARCH:
		if (!search_prepare(f, argv, pos, npos, mode, err, errlen))
			goto fail;
		break;
	default:
		break;
	}
	return f;
fail:
	ls_tf_free(f);
	return NULL;
}

int ls_tf_cond(const struct ls_tf *f)
{
	return f->kind == TF_IF ? 1 : f->kind == TF_GREP ? 2 : 0;
}

void ls_tf_free(struct ls_tf *f)
{
	if (!f)
		return;
	free(f->invalid_chars);
	free(f->needle);
	pcre2_code_free(f->re);
	ls_buf_free(&f->pattern);
	free(f);
}

/* ------------------------------------------------------------ functions */

/* The C.UTF-8 locale for case mapping (g_utf8_strup/strdown are Unicode). */
static locale_t utf8_locale(void)
{
	static locale_t loc;
	if (!loc)
		loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	return loc;
}

/* Decode one UTF-8 sequence at p (n bytes left): the code point, or -1 (one byte used). */
static long utf8_next(const unsigned char *p, size_t n, size_t *used)
{
	*used = 1;
	if (p[0] < 0x80)
		return p[0];
	int k = p[0] >= 0xf0 ? 3 : p[0] >= 0xe0 ? 2 : p[0] >= 0xc0 ? 1 : -1;
	if (k < 0 || (size_t)k >= n)
		return -1;
	long c = p[0] & (0x3f >> k);
	for (int i = 1; i <= k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		c = c << 6 | (p[i] & 0x3f);
	}
	*used = (size_t)k + 1;
	return c;
}

static void utf8_put(struct ls_buf *out, long c)
{
	if (c < 0x80) {
		ls_buf_addc(out, (char)c);
	} else if (c < 0x800) {
		ls_buf_addc(out, (char)(0xc0 | c >> 6));
		ls_buf_addc(out, (char)(0x80 | (c & 0x3f)));
	} else if (c < 0x10000) {
		ls_buf_addc(out, (char)(0xe0 | c >> 12));
		ls_buf_addc(out, (char)(0x80 | (c >> 6 & 0x3f)));
		ls_buf_addc(out, (char)(0x80 | (c & 0x3f)));
	} else {
		ls_buf_addc(out, (char)(0xf0 | c >> 18));
		ls_buf_addc(out, (char)(0x80 | (c >> 12 & 0x3f)));
		ls_buf_addc(out, (char)(0x80 | (c >> 6 & 0x3f)));
		ls_buf_addc(out, (char)(0x80 | (c & 0x3f)));
	}
}

/* g_utf8_strup/strdown of valid UTF-8 (glib's special casing: ß up to SS, İ down to i̇). */
static void change_case(struct ls_buf *out, const struct ls_buf *in, bool up)
{
	const unsigned char *p = (const unsigned char *)in->p;
	locale_t loc = utf8_locale();
	for (size_t i = 0; i < in->len;) {
		size_t used;
		long c = utf8_next(p + i, in->len - i, &used);
		if (c < 0) {
			ls_buf_addc(out, (char)p[i]);
		} else if (up && c == 0xdf) {
			ls_buf_add(out, "SS", 2);
		} else if (!up && c == 0x130) {
			ls_buf_add(out, "i\xcc\x87", 3); /* İ: i + combining dot above */
		} else if (loc) {
			utf8_put(out, (long)(up ? towupper_l((wint_t)c, loc)
						: towlower_l((wint_t)c, loc)));
		} else {
			utf8_put(out, c < 0x80 ? (up ? toupper((int)c) : tolower((int)c)) : c);
		}
		i += used;
	}
}

/* 3.38's tf_substr: byte offsets, negative ones from the end. */
static void substr(struct ls_buf *out, int argc, const struct ls_buf *argv)
{
	if (argc < 2 || argc > 3)
		return;
	long long L = (long long)argv[0].len, start, len;
	char *end;
	start = strtoll(argv[1].p ? argv[1].p : "", &end, 10);
	if (!argv[1].len || *end)
		return;
	if (argc > 2) {
		len = strtoll(argv[2].p ? argv[2].p : "", &end, 10);
		if (!argv[2].len || *end)
			return;
	} else {
		len = L;
	}
	if (len < 0 && -len > L)
		return;
	if (len > L)
		len = L;
	if (start >= L || (start < 0 && -start > L))
		return;
	if (len < 0 && ((start < 0 && start > len) || (start >= 0 && len + L - start < 0)))
		return;
	if (start < 0)
		start += L;
	if (len < 0) {
		len = L - start + len;
		if (len < 0)
			return;
	}
	if (start + len > L)
		len = L - start;
	if (len > 0)
		ls_buf_add(out, argv[0].p + start, (size_t)len);
}

/*
 * 3.38's ListScanner over argv[0..argc): each argument a list, elements
 * split at ',' as str-repr decodes them (vp.c's ls_list_elem), empty
 * unquoted ones skipped, the next argument taken when one ends.
 */
struct lscan {
	int argc, i;
	const struct ls_buf *argv;
	const char *p;	 /* where the next element starts */
	struct ls_buf v; /* the current element */
};

static void lscan_init(struct lscan *s, int argc, const struct ls_buf *argv)
{
	*s = (struct lscan){.argc = argc, .argv = argv};
	s->p = argc > 0 && argv[0].p ? argv[0].p : "";
}

/* The next element into s->v (NUL-ended): false at the end of the last argument. */
static bool lscan_next(struct lscan *s)
{
	for (;;) {
		if (s->i >= s->argc)
			return false;
		if (!*s->p) {
			s->i++;
			s->p = s->i < s->argc && s->argv[s->i].p ? s->argv[s->i].p : "";
		} else if (*s->p == ',') {
			s->p++;
		} else {
			break;
		}
	}
	s->p = ls_list_elem(s->p, &s->v);
	ls_buf_addc(&s->v, 0);
	s->v.len--;
	return true;
}

static int list_count(int argc, const struct ls_buf *argv)
{
	struct lscan s;
	int n = 0;
	lscan_init(&s, argc, argv);
	while (lscan_next(&s))
		n++;
	ls_buf_free(&s.v);
	return n;
}

/* _append_comma_between_list_elements_if_needed: none first, none after a ',' */
static void list_comma(struct ls_buf *out, size_t initial)
{
	if (out->len != initial && out->p[out->len - 1] != ',')
		ls_buf_addc(out, ',');
}

/* _list_slice: elements first..last-1 (negative ones from the end), encoded */
static void list_slice(struct ls_buf *out, int argc, const struct ls_buf *argv, int first, int last)
{
	if (argc == 0)
		return;
	if (first < 0 || last < 0) {
		int count = list_count(argc, argv);
		if (first < 0)
			first += count;
		if (last < 0)
			last += count;
	}
	size_t initial = out->len;
	struct lscan s;
	lscan_init(&s, argc, argv);
	int i = 0;
	while (i < first && lscan_next(&s))
		i++;
	while (i >= first && i < last && lscan_next(&s)) {
		list_comma(out, initial);
		ls_str_repr_encode(out, s.v.p, strlen(s.v.p), ",");
		i++;
	}
	ls_buf_free(&s.v);
}

/* _list_nth: element ndx (negative from the end), decoded */
static void list_nth(struct ls_buf *out, int argc, const struct ls_buf *argv, int ndx)
{
	if (argc == 0)
		return;
	if (ndx < 0)
		ndx += list_count(argc, argv);
	struct lscan s;
	lscan_init(&s, argc, argv);
	int i = 0;
	while (i < ndx && lscan_next(&s))
		i++;
	if (i == ndx && lscan_next(&s))
		ls_buf_add(out, s.v.p, strlen(s.v.p));
	ls_buf_free(&s.v);
}

/* parse_int64: strtoll over the whole string, no range error */
static bool parse_int64(const char *p, long long *v)
{
	char *end;
	errno = 0;
	*v = strtoll(p, &end, 10);
	return errno != ERANGE && errno != EINVAL && end != p && !*end;
}

/* $(list-slice FIRST:LAST list...): either side may be empty */
static void list_slice_call(struct ls_buf *out, int argc, const struct ls_buf *argv)
{
	if (argc < 1)
		return;
	long long first = 0, last = INT_MAX;
	char *spec = strdup(argv[0].p ? argv[0].p : ""), *colon = strchr(spec, ':');
	if (!spec)
		abort();
	if (colon)
		*colon = 0;
	bool ok = (!spec[0] || parse_int64(spec, &first)) &&
		  (!colon || !colon[1] || parse_int64(colon + 1, &last));
	free(spec);
	if (ok) /* 3.38 logs "parsing failed" and writes nothing */
		list_slice(out, argc - 1, argv + 1, (int)first, (int)last);
}

/* g_strsplit(s, sep, -1) as list elements: "" splits into nothing */
static void explode(struct ls_buf *out, size_t initial, const char *s, const char *sep)
{
	size_t sl = strlen(sep);
	if (!*s || !sl) /* an empty separator: 3.38 crashes (g_strsplit returns NULL) */
		return;
	for (;;) {
		const char *hit = strstr(s, sep);
		size_t n = hit ? (size_t)(hit - s) : strlen(s);
		list_comma(out, initial);
		ls_str_repr_encode(out, s, n, ",");
		if (!hit)
			break;
		s = hit + sl;
	}
}

/* One element of $(list-search) against the pattern (3.38's string_matcher_match). */
static bool search_match(const struct ls_tf *f, const char *v, size_t len)
{
	switch (f->mode) {
	case SMM_LITERAL:
		return !strcmp(v, f->needle);
	case SMM_PREFIX:
		return !strncmp(v, f->needle, strlen(f->needle));
	case SMM_SUBSTRING:
		return strstr(v, f->needle) != NULL;
	case SMM_GLOB:
		return ls_glob_match(f->needle, v);
	case SMM_PCRE: {
		pcre2_match_data *md = pcre2_match_data_create_from_pattern(f->re, NULL);
		if (!md)
			abort();
		int rc = pcre2_match(f->re, (PCRE2_SPTR)v, len, 0, 0, md, NULL);
		pcre2_match_data_free(md);
		return rc >= 0;
	}
	}
	return false;
}

/* $(list-search): the index of the first element from --start-index that
 * matches (counted from 0 over all the lists), or nothing. */
static void list_search(const struct ls_tf *f, struct ls_buf *out, int argc,
			const struct ls_buf *argv)
{
	struct lscan s;
	int ndx = f->start_index;
	lscan_init(&s, argc, argv);
	for (int i = 0; i < ndx && lscan_next(&s); i++)
		;
	while (lscan_next(&s)) {
		if (search_match(f, s.v.p, s.v.len)) {
			ls_buf_addf(out, "%d", ndx);
			break;
		}
		ndx++;
	}
	ls_buf_free(&s.v);
}

/*
 * $(url-encode): GLib's g_uri_escape_string(s, NULL, FALSE) over each
 * argument up to its first NUL, back to back: the unreserved bytes
 * (alphanumerics, "-._~") as they are, every other byte %XX.
 */
static void url_encode(struct ls_buf *out, int argc, const struct ls_buf *argv)
{
	static const char hex[] = "0123456789ABCDEF";
	for (int i = 0; i < argc; i++) {
		const unsigned char *p = (const unsigned char *)(argv[i].p ? argv[i].p : "");
		for (size_t k = 0, n = strnlen((const char *)p, argv[i].len); k < n; k++) {
			unsigned char c = p[k];
			if (isalnum(c) && c < 0x80)
				ls_buf_addc(out, (char)c);
			else if (c == '-' || c == '.' || c == '_' || c == '~')
				ls_buf_addc(out, (char)c);
			else
				ls_buf_addf(out, "%%%c%c", hex[c >> 4], hex[c & 15]);
		}
	}
}

static int hexval(unsigned char c)
{
	return isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10);
}

/*
 * $(url-decode): GLib's g_uri_unescape_string(s, NULL) over each argument:
 * an argument with a '%' not followed by two hex digits, or that decodes
 * to a NUL, adds nothing (3.38 logs "Could not urldecode"); the bytes are
 * not checked for UTF-8.
 */
static void url_decode(struct ls_buf *out, int argc, const struct ls_buf *argv)
{
	for (int i = 0; i < argc; i++) {
		const unsigned char *p = (const unsigned char *)(argv[i].p ? argv[i].p : "");
		size_t n = strnlen((const char *)p, argv[i].len), at = out->len;
		for (size_t k = 0; k < n; k++) {
			if (p[k] != '%') {
				ls_buf_addc(out, (char)p[k]);
				continue;
			}
			if (k + 2 >= n || !isxdigit(p[k + 1]) || !isxdigit(p[k + 2]) ||
			    (p[k + 1] == '0' && p[k + 2] == '0')) {
				out->len = at; /* the whole argument is refused */
				break;
			}
			ls_buf_addc(out, (char)(hexval(p[k + 1]) << 4 | hexval(p[k + 2])));
			k += 2;
		}
	}
}

/* 3.38's parse_generic_number: a whole decimal int64, else a whole strtod
 * double; *is_int says which. */
static bool parse_number(const struct ls_buf *a, long long *i, double *d, bool *is_int)
{
	const char *s = a->p ? a->p : "";
	char *end;
	errno = 0;
	*i = strtoll(s, &end, 10);
	if (errno != ERANGE && errno != EINVAL && end != s && !*end) {
		*is_int = true;
		*d = (double)*i;
		return true;
	}
	errno = 0;
	*d = strtod(s, &end);
	*is_int = false;
	return errno != ERANGE && end != s && !*end;
}

/*
 * $(+ a b) $(- a b) $(* a b) $(/ a b) $(% a b) as 3.38's numeric-funcs.c
 * over GenericNumber: two int64s give an int64 (wrapping as 3.38's
 * compiled code does), else doubles printed "%.20f"; a wrong argument
 * count, a non-number or a zero divisor (|x| < DBL_EPSILON for a double)
 * gives "NaN". INT64_MIN / -1, which kills 3.38 (SIGFPE), wraps here.
 */
static void num_op(const struct ls_tf *f, struct ls_buf *out, int argc, const struct ls_buf *argv)
{
	long long a, b;
	double x, y;
	bool ia, ib;
	if (argc != 2 || !parse_number(&argv[0], &a, &x, &ia) ||
	    !parse_number(&argv[1], &b, &y, &ib)) {
		ls_buf_add(out, "NaN", 3);
		return;
	}
	bool ints = ia && ib;
	if ((f->op == '/' || f->op == '%') && (ints ? b == 0 : fabs(y) < DBL_EPSILON)) {
		ls_buf_add(out, "NaN", 3);
		return;
	}
	if (ints) {
		unsigned long long ua = (unsigned long long)a, ub = (unsigned long long)b, r;
		switch (f->op) {
		case '+':
			r = ua + ub;
			break;
		case '-':
			r = ua - ub;
			break;
		case '*':
			r = ua * ub;
			break;
		case '/':
			r = a == LLONG_MIN && b == -1 ? ua : (unsigned long long)(a / b);
			break;
		default:
			r = b == -1 ? 0 : (unsigned long long)(a % b);
			break;
		}
		ls_buf_addf(out, "%lld", (long long)r);
		return;
	}
	double r = f->op == '+'	  ? x + y
		   : f->op == '-' ? x - y
		   : f->op == '*' ? x * y
		   : f->op == '/' ? x / y
				  : fmod(x, y);
	ls_buf_addf(out, "%.20f", r);
}

void ls_tf_call(const struct ls_tf *f, int argc, const struct ls_buf *argv, struct ls_buf *out)
{
	size_t initial = out->len;
	switch (f->kind) {
	case TF_ECHO:
		for (int i = 0; i < argc; i++) {
			ls_buf_add(out, argv[i].p, argv[i].len);
			if (i < argc - 1)
				ls_buf_addc(out, ' ');
		}
		break;
	case TF_LENGTH:
		for (int i = 0; i < argc; i++)
			ls_buf_addf(out, i < argc - 1 ? "%zu " : "%zu", argv[i].len);
		break;
	case TF_SUBSTR:
		substr(out, argc, argv);
		break;
	case TF_STRIP: {
		size_t initial = out->len;
		for (int i = 0; i < argc; i++) {
			const unsigned char *s = (const unsigned char *)argv[i].p;
			size_t n = argv[i].len, e = 0, b = 0;
			while (e < n && isspace(s[n - e - 1]))
				e++;
			if (e == n)
				continue;
			while (isspace(s[b]))
				b++;
			if (out->len > initial)
				ls_buf_addc(out, ' ');
			ls_buf_add(out, s + b, n - e - b);
		}
		break;
	}
	case TF_SANITIZE:
		for (int i = 0; i < argc; i++) {
			for (size_t k = 0; k < argv[i].len; k++) {
				unsigned char c = (unsigned char)argv[i].p[k];
				bool bad = (f->ctrl_chars && c < 32) ||
					   (c ? strchr(f->invalid_chars, (char)c) != NULL : true);
				ls_buf_addc(out, bad ? f->replacement : (char)c);
			}
			if (i < argc - 1)
				ls_buf_addc(out, '/');
		}
		break;
	case TF_LOWERCASE:
	case TF_UPPERCASE:
		for (int i = 0; i < argc; i++) {
			change_case(out, &argv[i], f->kind == TF_UPPERCASE);
			if (i < argc - 1)
				ls_buf_addc(out, ' ');
		}
		break;
	case TF_REPLACE_DELIMITER: {
		if (argc != 3)
			break;
		const char *dl = argv[0].p ? argv[0].p : "";
		char nd = argv[1].len ? argv[1].p[0] : 0;
		/* g_strdelimit works up to the first NUL of the haystack */
		size_t n = argv[2].p ? strnlen(argv[2].p, argv[2].len) : 0;
		for (size_t k = 0; k < n; k++) {
			char c = argv[2].p[k];
			ls_buf_addc(out, strchr(dl, c) ? nd : c);
		}
		break;
	}
	case TF_PADDING:
		if (argc < 1)
			break;
		if ((long long)argv[0].len <= f->width)
			ls_buf_add(out, f->pattern.p, (size_t)(f->width - (long long)argv[0].len));
		ls_buf_add(out, argv[0].p, argv[0].len);
		break;
	case TF_IPV4_TO_INT:
		for (int i = 0; i < argc; i++) {
			struct in_addr a = {0};
			inet_aton(argv[i].p ? argv[i].p : "", &a);
			ls_buf_addf(out, i < argc - 1 ? "%lu," : "%lu",
				    (unsigned long)ntohl(a.s_addr));
		}
		break;
	case TF_HASH: {
		/* the arguments' digest is their concatenation's */
		struct ls_buf all = {0};
		for (int i = 0; i < argc; i++)
			ls_buf_add(&all, argv[i].p ? argv[i].p : "", argv[i].len);
		unsigned char md[64];
		unsigned n = ls_tls_digest(f->md, all.p ? all.p : "", all.len, md);
		ls_buf_free(&all);
		char hex[64 * 2 + 1];
		for (unsigned int i = 0; i < n; i++)
			snprintf(hex + 2 * i, 3, "%02x", md[i]);
		ls_buf_add(out, hex, (size_t)f->length < 2 * n ? (size_t)f->length : 2 * n);
		break;
	}
	case TF_ENV:
		for (int i = 0; i < argc; i++) {
			/* $(env NAME): the daemon's environment, as 3.38 reads it per message */
			const char *v = getenv(argv[i].p ? argv[i].p : "");
			if (!v)
				continue;
			ls_buf_add(out, v, strlen(v));
			if (i < argc - 1)
				ls_buf_addc(out, ' ');
		}
		break;
	case TF_CONTEXT_LENGTH:
		ls_buf_addc(out, '1'); /* one message: logsift has no correlation contexts */
		break;
	case TF_OR:
		for (int i = 0; i < argc; i++)
			if (argv[i].len) {
				ls_buf_add(out, argv[i].p, argv[i].len);
				break;
			}
		break;
	case TF_IF:
	case TF_GREP:
		break; /* the compiler's (msg.c): they need the message */
	case TF_LIST_CONCAT: {
		struct lscan s;
		lscan_init(&s, argc, argv);
		while (lscan_next(&s)) {
			list_comma(out, initial);
			ls_str_repr_encode(out, s.v.p, strlen(s.v.p), ",");
		}
		ls_buf_free(&s.v);
		break;
	}
	case TF_LIST_APPEND:
		if (argc == 0)
			break;
		ls_buf_add(out, argv[0].p, argv[0].len);
		for (int i = 1; i < argc; i++) {
			list_comma(out, initial);
			ls_str_repr_encode(out, argv[i].p ? argv[i].p : "", argv[i].len, ",");
		}
		break;
	case TF_LIST_HEAD:
		list_nth(out, argc, argv, 0);
		break;
	case TF_LIST_NTH: {
		long long ndx;
		if (argc >= 1 && parse_int64(argv[0].p ? argv[0].p : "", &ndx))
			list_nth(out, argc - 1, argv + 1, (int)ndx);
		break;
	}
	case TF_LIST_TAIL:
		list_slice(out, argc, argv, 1, INT_MAX);
		break;
	case TF_LIST_COUNT:
		ls_buf_addf(out, "%d", argc ? list_count(argc, argv) : 0);
		break;
	case TF_LIST_SLICE:
		list_slice_call(out, argc, argv);
		break;
	case TF_IMPLODE: {
		if (argc < 1)
			break;
		struct lscan s;
		lscan_init(&s, argc - 1, argv + 1);
		while (lscan_next(&s)) {
			if (out->len > initial)
				ls_buf_add(out, argv[0].p, argv[0].len);
			ls_buf_add(out, s.v.p, s.v.len);
		}
		ls_buf_free(&s.v);
		break;
	}
	case TF_EXPLODE:
		for (int i = 1; i < argc; i++)
			explode(out, initial, argv[i].p ? argv[i].p : "",
				argv[0].p ? argv[0].p : "");
		break;
	case TF_LIST_SEARCH:
		list_search(f, out, argc, argv);
		break;
	case TF_URL_ENCODE:
		url_encode(out, argc, argv);
		break;
	case TF_URL_DECODE:
		url_decode(out, argc, argv);
		break;
	case TF_NUM:
		num_op(f, out, argc, argv);
		break;
	}
}
