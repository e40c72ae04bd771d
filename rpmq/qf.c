/*
 * qf.c: rpm's query-format language (--qf), a port of rpm 4.18's
 * lib/headerfmt.c parser and evaluator plus the lib/formats.c formatters.
 *
 * Grammar (rpm-queryformat(7)):
 *   format  := (text | '%%' | tag | '[' format ']' | cond)*
 *   tag     := '%' [-]WIDTH '{' ['=' | '#'] NAME [':' FORMAT] '}'
 *   cond    := '%|' NAME '?{' format '}' [':{' format '}'] '|'
 *   text escapes \n \t \a \b \f \r \v, and \X for any other X.
 * Semantics kept from rpm: a missing tag prints "(none)"; '[...]' iterates
 * all its non-'=' tags in lockstep and fails when their counts differ; a
 * conditional is true when the tag exists (extensions included); widths are
 * printf's "%<width>s". Names are case-insensitive, "RPMTAG_" optional, and
 * (an rpmq extension) a decimal number names a tag by number.
 *
 * Why a port: --scripts, --triggers, -i, -R, --changelog ... are query
 * formats in rpm (rpmpopt), so byte-identical output follows from the same
 * engine running the same formats.
 */
#include <errno.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rpmq.h"

enum tok_kind { TOK_NONE, TOK_TAG, TOK_ARRAY, TOK_STRING, TOK_COND };
enum fmt_class { CLS_ANY, CLS_NUM, CLS_STR, CLS_BIN };

struct tok;
typedef char *(*fmt_fn)(const struct rpm_td *td, uint32_t i);

struct fmt {
	const char *name;
	enum fmt_class cls;
	fmt_fn fn;
};

struct qtag {
	uint32_t tag;	       /* tag number; 0 when unknown (conditions) */
	int just_one;	       /* %{=TAG}: element 0 inside arrays */
	const char *width;     /* "-25" or "" */
	const struct fmt *fmt; /* formatter */
};

struct tok {
	enum tok_kind kind;
	struct qtag t; /* TOK_TAG, TOK_COND */
	const char *s; /* TOK_STRING */
	size_t len;
	struct tok *a, *b; /* TOK_ARRAY body / TOK_COND if, else */
	int na, nb;
};

struct rpm_qf {
	char *copy; /* the format, tokens point into it */
	struct tok *toks;
	int n;
};

/* ---- formatters (lib/formats.c) ----------------------------------------- */

static char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static enum fmt_class td_class(const struct rpm_td *td)
{
	switch (td->type) {
	case RPM_CHAR:
	case RPM_INT8:
	case RPM_INT16:
	case RPM_INT32:
	case RPM_INT64:
		return CLS_NUM;
	case RPM_STRING:
	case RPM_STRING_ARRAY:
	case RPM_I18NSTRING:
		return CLS_STR;
	case RPM_BIN:
		return CLS_BIN;
	default:
		return CLS_ANY;
	}
}

static char *f_string(const struct rpm_td *td, uint32_t i)
{
	switch (td_class(td)) {
	case CLS_NUM:
		return xasprintf("%llu", (unsigned long long)rpm_td_num(td, i));
	case CLS_STR:
		return strdup(rpm_td_str(td, i));
	case CLS_BIN: {
		char *s = malloc(2 * (size_t)td->count + 1);
		if (s)
			hex_encode(rpm_td_bin(td), td->count, s);
		return s;
	}
	default:
		return strdup("(unknown type)");
	}
}

static char *f_octal(const struct rpm_td *td, uint32_t i)
{
	return xasprintf("%llo", (unsigned long long)rpm_td_num(td, i));
}

static char *f_hex(const struct rpm_td *td, uint32_t i)
{
	return xasprintf("%llx", (unsigned long long)rpm_td_num(td, i));
}

static char *date_fmt(time_t t, const char *f)
{
	struct tm tm;
	char buf[1024] = "";
	if (localtime_r(&t, &tm))
		strftime(buf, sizeof(buf) - 1, f, &tm);
	return strdup(buf);
}

static char *f_date(const struct rpm_td *td, uint32_t i)
{
	return date_fmt((time_t)rpm_td_num(td, i), "%c");
}

static char *f_day(const struct rpm_td *td, uint32_t i)
{
	return date_fmt((time_t)rpm_td_num(td, i), "%a %b %d %Y");
}

static char *f_shescape(const struct rpm_td *td, uint32_t i)
{
	if (td_class(td) == CLS_NUM)
		return f_string(td, i);
	if (td_class(td) != CLS_STR)
		return strdup("(invalid type)");
	const char *s = rpm_td_str(td, i);
	size_t n = 3;
	for (const char *q = s; *q; q++)
		n += *q == '\'' ? 4 : 1;
	char *r = malloc(n), *o = r;
	if (!r)
		return NULL;
	*o++ = '\'';
	for (const char *q = s; *q; q++) {
		if (*q == '\'') {
			memcpy(o, "'\\''", 4);
			o += 4;
		} else {
			*o++ = *q;
		}
	}
	*o++ = '\'';
	*o = 0;
	return r;
}

static char *f_triggertype(const struct rpm_td *td, uint32_t i)
{
	uint64_t f = rpm_td_num(td, i);
	return strdup(f & (1u << 25)   ? "prein"
		      : f & (1u << 16) ? "in"
		      : f & (1u << 17) ? "un"
		      : f & (1u << 18) ? "postun"
				       : "");
}

static char *f_deptype(const struct rpm_td *td, uint32_t i)
{
	static const struct {
		uint64_t bit;
		const char *name;
	} t[] = {
	    {1u << 9, "pre"},	     {1u << 10, "post"},     {1u << 11, "preun"},
	    {1u << 12, "postun"},    {1u << 13, "verify"},   {1u << 8, "interp"},
	    {1u << 24, "rpmlib"},    {3u << 14, "auto"},     {1u << 6, "prereq"},
	    {1u << 7, "pretrans"},   {1u << 5, "posttrans"}, {1u << 28, "config"},
	    {1u << 19, "missingok"}, {1u << 29, "meta"},
	};
	uint64_t f = rpm_td_num(td, i);
	char buf[256] = "";
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++)
		if (f & t[k].bit) {
			if (*buf)
				strcat(buf, ",");
			strcat(buf, t[k].name);
		}
	return strdup(*buf ? buf : "manual");
}

char *rpm_perms_string(uint32_t mode, char p[11])
{
	memcpy(p, "----------", 11);
	switch (mode & 0170000) {
	case 0100000:
		p[0] = '-';
		break;
	case 0040000:
		p[0] = 'd';
		break;
	case 0120000:
		p[0] = 'l';
		break;
	case 0010000:
		p[0] = 'p';
		break;
	case 0140000:
		p[0] = 's';
		break;
	case 0020000:
		p[0] = 'c';
		break;
	case 0060000:
		p[0] = 'b';
		break;
	default:
		p[0] = '?';
		break;
	}
	static const char rwx[] = "rwxrwxrwx";
	for (int k = 0; k < 9; k++)
		if (mode & (0400u >> k))
			p[1 + k] = rwx[k];
	if (mode & 04000)
		p[3] = (mode & 0100) ? 's' : 'S';
	if (mode & 02000)
		p[6] = (mode & 010) ? 's' : 'S';
	if (mode & 01000)
		p[9] = (mode & 01) ? 't' : 'T';
	return p;
}

static char *f_perms(const struct rpm_td *td, uint32_t i)
{
	char p[11];
	return strdup(rpm_perms_string((uint32_t)rpm_td_num(td, i), p));
}

static char *f_fflags(const struct rpm_td *td, uint32_t i)
{
	static const struct {
		uint32_t bit;
		char c;
	} t[] = {{2, 'd'},  {1, 'c'},	{32, 's'},  {8, 'm'},	{16, 'n'},
		 {64, 'g'}, {128, 'l'}, {256, 'r'}, {4096, 'a'}};
	uint64_t f = rpm_td_num(td, i);
	char buf[16], *o = buf;
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++)
		if (f & t[k].bit)
			*o++ = t[k].c;
	*o = 0;
	return strdup(buf);
}

static char *f_depflags(const struct rpm_td *td, uint32_t i)
{
	uint64_t f = rpm_td_num(td, i);
	char buf[4], *o = buf;
	if (f & 2)
		*o++ = '<';
	if (f & 4)
		*o++ = '>';
	if (f & 8)
		*o++ = '=';
	*o = 0;
	return strdup(buf);
}

static char *f_arraysize(const struct rpm_td *td, uint32_t i)
{
	(void)i;
	return xasprintf("%u", td->type == RPM_BIN ? 1 : td->count);
}

static char *f_fstate(const struct rpm_td *td, uint32_t i)
{
	static const char *n[] = {"normal",	"replaced",    "not installed",
				  "net shared", "wrong color", "missing"};
	uint64_t v = rpm_td_num(td, i);
	if (td->type == RPM_CHAR || td->type == RPM_INT8)
		v = (uint64_t)(int8_t)v;
	if (v == (uint64_t)-1)
		return strdup("missing");
	return strdup(v < 5 ? n[v] : "(unknown)");
}

static char *verify_string(uint64_t r, const char *pad)
{
	static const struct {
		uint32_t bit;
		const char *c;
	} t[] = {{2, "S"}, {64, "M"}, {1, "5"},	 {128, "D"}, {4, "L"},
		 {8, "U"}, {16, "G"}, {32, "T"}, {256, "P"}};
	char buf[64] = "";
	for (size_t k = 0; k < sizeof(t) / sizeof(t[0]); k++) {
		const char *c = r & t[k].bit ? t[k].c : pad;
		if ((k == 2 && (r & 0x20000000)) || (k == 4 && (r & 0x10000000)))
			c = "?";
		strcat(buf, c);
	}
	return strdup(buf);
}

static char *f_vflags(const struct rpm_td *td, uint32_t i)
{
	return verify_string(rpm_td_num(td, i), "");
}

static char *f_fstatus(const struct rpm_td *td, uint32_t i)
{
	return verify_string(rpm_td_num(td, i), ".");
}

static char *human(const struct rpm_td *td, uint32_t i, int kilo)
{
	static const char *units[] = {"", "K", "M", "G", "T", "P", "E", "Z", "Y"};
	int u = 0, dec = 0;
	float x = (float)rpm_td_num(td, i);
	while (x >= kilo && u < 8) {
		x /= (float)kilo;
		u++;
	}
	if (x > 0.05f && x < 9.95f)
		dec = 1;
	return xasprintf("%.*f%s", dec, (double)x, units[u]);
}

static char *f_humansi(const struct rpm_td *td, uint32_t i)
{
	return human(td, i, 1000);
}

static char *f_humaniec(const struct rpm_td *td, uint32_t i)
{
	return human(td, i, 1024);
}

/* rpm's rpmBase64Encode(data, n, -1): lines of 64 characters (48 bytes),
 * each ending in a newline, the last one too; nothing for no bytes. */
static char *b64_lines(const uint8_t *d, size_t n)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *s = malloc(4 * ((n + 2) / 3) + n / 48 + 2), *o = s;
	if (!s)
		return NULL;
	for (size_t k = 0; k < n; k += 3) {
		uint32_t v = (uint32_t)d[k] << 16;
		if (k + 1 < n)
			v |= (uint32_t)d[k + 1] << 8;
		if (k + 2 < n)
			v |= d[k + 2];
		*o++ = b64[v >> 18 & 63];
		*o++ = b64[v >> 12 & 63];
		*o++ = k + 1 < n ? b64[v >> 6 & 63] : '=';
		*o++ = k + 2 < n ? b64[v & 63] : '=';
		if ((k + 3) % 48 == 0 || k + 3 >= n)
			*o++ = '\n';
	}
	*o = 0;
	return s;
}

static char *f_base64(const struct rpm_td *td, uint32_t i)
{
	(void)i;
	return b64_lines(rpm_td_bin(td), td->count);
}

/* rpm's base64_decode_value: 0..63, -2 for '=', -1 for anything else. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : c == '=' ? -2 : -1;
}

/* :armor (rpm 4.18's pgpArmorWrap): binary data as an ASCII-armored OpenPGP
 * signature, a base64 string (a stored public key) as a public key block;
 * the Version line is rpm 4.18's. */
static char *f_armor(const struct rpm_td *td, uint32_t i)
{
	const uint8_t *d;
	size_t n;
	uint8_t *dec = NULL;
	const char *what;
	if (td->type == RPM_BIN) {
		d = rpm_td_bin(td);
		n = td->count;
		what = "SIGNATURE";
	} else if (td->type == RPM_STRING || td->type == RPM_STRING_ARRAY) {
		/* rpmBase64Decode: bytes above 32 must be base64 or '=' and
		 * number a multiple of 4; anything else is skipped */
		const char *e = rpm_td_str(td, i);
		size_t cnt = 0;
		for (const signed char *c = (const signed char *)e; *c; c++)
			if (*c > 32 && b64_value((unsigned char)*c) == -1)
				return strdup("(not base64)");
			else if (*c > 32)
				cnt++;
		if (cnt % 4)
			return strdup("(not base64)");
		dec = malloc(cnt / 4 * 3 + 1);
		if (!dec)
			return NULL;
		n = 0;
		uint32_t v = 0;
		int bits = 0;
		for (const unsigned char *c = (const unsigned char *)e; *c; c++) {
			int f = b64_value(*c);
			if (f < 0)
				continue;
			v = v << 6 | (uint32_t)f;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				dec[n++] = (uint8_t)(v >> bits);
			}
		}
		d = dec;
		what = "PUBLIC KEY BLOCK";
	} else {
		return strdup("(invalid type)");
	}
	/* CRC-24 of RFC 4880 6.1 */
	uint32_t crc = 0xb704ce;
	for (size_t k = 0; k < n; k++) {
		crc ^= (uint32_t)d[k] << 16;
		for (int b = 0; b < 8; b++) {
			crc <<= 1;
			if (crc & 0x1000000)
				crc ^= 0x1864cfb;
		}
	}
	uint8_t c3[3] = {(uint8_t)(crc >> 16), (uint8_t)(crc >> 8), (uint8_t)crc};
	char *body = b64_lines(d, n), *sum = b64_lines(c3, 3);
	char *r = body && sum ? xasprintf("-----BEGIN PGP %s-----\nVersion: rpm-4.18.0\n\n%s=%s"
					  "-----END PGP %s-----\n",
					  what, body, sum, what)
			      : NULL;
	free(body);
	free(sum);
	free(dec);
	return r;
}

/* rpm 4.18's pgpsigFormat: "(not an OpenPGP signature)" for whatever its
 * parser refuses (pgp.c), else algorithms, date and key ID. */
static char *f_pgpsig(const struct rpm_td *td, uint32_t i)
{
	(void)i;
	struct rpm_pgp sig;
	if (rpm_pgp_sig_parse(rpm_td_bin(td), td->count, &sig) < 0)
		return strdup("(not an OpenPGP signature)");
	uint32_t ctime = sig.time;
	unsigned pk = sig.pubkey_algo, ha = sig.hash_algo;
	const uint8_t *keyid = sig.keyid;
	char kid[17], *dt = date_fmt((time_t)ctime, "%c");
	hex_encode(keyid, 8, kid);
	char *r = xasprintf("%s/%s, %s, Key ID %s", rpm_pgp_pubkey_name(pk), rpm_pgp_hash_name(ha),
			    dt ? dt : "", kid);
	free(dt);
	return r;
}

static char *f_xml(const struct rpm_td *td, uint32_t i)
{
	const char *xtag;
	char *s;
	switch (td_class(td)) {
	case CLS_STR:
		xtag = "string";
		s = f_string(td, i);
		break;
	case CLS_BIN:
		xtag = "base64";
		s = f_base64(td, i);
		break;
	case CLS_NUM:
		xtag = "integer";
		s = f_string(td, i);
		break;
	default:
		return strdup("(invalid xml type)");
	}
	if (!s)
		return NULL;
	if (!*s) {
		free(s);
		return xasprintf("\t<%s/>", xtag);
	}
	size_t n = 0;
	for (const char *q = s; *q; q++)
		n += *q == '<' || *q == '>' ? 4 : *q == '&' ? 5 : 1;
	char *e = malloc(n + 1), *o = e;
	if (!e) {
		free(s);
		return NULL;
	}
	for (const char *q = s; *q; q++)
		o = stpcpy(o, *q == '<'	  ? "&lt;"
			      : *q == '>' ? "&gt;"
			      : *q == '&' ? "&amp;"
					  : (char[]){*q, 0});
	free(s);
	char *r = xasprintf("\t<%s>%s</%s>", xtag, e, xtag);
	free(e);
	return r;
}

/* rpm 4.18's rpmTagGetName, capitalised; "(unknown)" for a tag 4.18 does
 * not know. */
static char *tag_name_418(uint32_t tag)
{
	const char *best = rpm_tag_name418(tag);
	if (!best)
		return strdup("(unknown)");
	char *r = strdup(best);
	for (char *c = r ? r + 1 : NULL; c && *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c + 32);
	return r;
}

static char *f_tagname(const struct rpm_td *td, uint32_t i)
{
	(void)i;
	return tag_name_418(td->tag);
}

static char *f_tagnum(const struct rpm_td *td, uint32_t i)
{
	(void)i;
	return xasprintf("%u", td->tag);
}

static char *f_expand(const struct rpm_td *td, uint32_t i)
{
	/* rpmq has no macros: the string is shown as stored. */
	return strdup(rpm_td_str(td, i));
}

static const struct fmt formats[] = {
    {"string", CLS_ANY, f_string},
    {"base64", CLS_BIN, f_base64},
    {"pgpsig", CLS_BIN, f_pgpsig},
    {"armor", CLS_ANY, f_armor},
    {"depflags", CLS_NUM, f_depflags},
    {"deptype", CLS_NUM, f_deptype},
    {"fflags", CLS_NUM, f_fflags},
    {"perms", CLS_NUM, f_perms},
    {"permissions", CLS_NUM, f_perms},
    {"triggertype", CLS_NUM, f_triggertype},
    {"xml", CLS_ANY, f_xml},
    {"octal", CLS_NUM, f_octal},
    {"hex", CLS_NUM, f_hex},
    {"date", CLS_NUM, f_date},
    {"day", CLS_NUM, f_day},
    {"shescape", CLS_ANY, f_shescape},
    {"arraysize", CLS_ANY, f_arraysize},
    {"fstate", CLS_NUM, f_fstate},
    {"vflags", CLS_NUM, f_vflags},
    {"expand", CLS_STR, f_expand},
    {"fstatus", CLS_NUM, f_fstatus},
    {"humansi", CLS_NUM, f_humansi},
    {"humaniec", CLS_NUM, f_humaniec},
    {"tagname", CLS_ANY, f_tagname},
    {"tagnum", CLS_ANY, f_tagnum},
};

static const struct fmt *fmt_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++)
		if (strcmp(formats[i].name, name) == 0)
			return &formats[i];
	return NULL;
}

static char *fmt_call(const struct fmt *f, const struct rpm_td *td, uint32_t i)
{
	enum fmt_class c = td_class(td);
	if (f->cls != CLS_ANY && c != f->cls)
		return strdup(f->cls == CLS_BIN	  ? "(not a blob)"
			      : f->cls == CLS_NUM ? "(not a number)"
						  : "(not a string)");
	return f->fn(td, i);
}

/* ---- parser (parseFormat / parseExpression) ----------------------------- */

struct parse {
	const char *err; /* what went wrong, NULL if nothing */
	char msg[300];	 /* room for messages that name the tag */
};

static char escaped(char c)
{
	switch (c) {
	case 'a':
		return '\a';
	case 'b':
		return '\b';
	case 'f':
		return '\f';
	case 'n':
		return '\n';
	case 'r':
		return '\r';
	case 't':
		return '\t';
	case 'v':
		return '\v';
	default:
		return c;
	}
}

static void free_toks(struct tok *t, int n)
{
	if (!t)
		return;
	for (int i = 0; i < n; i++) {
		free_toks(t[i].a, t[i].na);
		free_toks(t[i].b, t[i].nb);
	}
	free(t);
}

/* Resolve a tag name (or number); 0 if unknown. */
#define TAG_STAR 0xfffffffeu /* %{*}: every tag of the header in turn */

static uint32_t find_tag(const char *name)
{
	if (strcmp(name, "*") == 0)
		return TAG_STAR;
	if (*name >= '0' && *name <= '9') {
		char *end;
		unsigned long v = strtoul(name, &end, 10);
		return *end || v == 0 || v > 0xffffffffUL ? 0 : (uint32_t)v;
	}
	const struct rpm_tag_info *ti = rpm_tag_by_name(name);
	return ti ? ti->tag : 0;
}

enum { ST_BEGIN, ST_ARRAY, ST_EXPR };

static int parse_expr(struct parse *ps, struct tok *tok, char *str, char **endp);

/* The next token of fmt, zeroed (n counts it). */
#define NEW_TOK(fmt, n) ((struct tok *)memset(&(fmt)[(n)++], 0, sizeof(struct tok)))

static int parse_format(struct parse *ps, char *str, struct tok **out, int *nout, char **endp,
			int state)
{
	int cap = 1;
	if (str)
		for (char *c = str; *c; c++)
			if (*c == '%' || *c == '[')
				cap++;
	cap = cap * 2 + 1;
	/* rpm's bound (headerfmt.c parseFormat): every '%' and '[' to the end
	 * of the whole string, so nested levels are given far more than they
	 * use; tokens are zeroed as they are taken (NEW_TOK), not all up front
	 * (a calloc: 6% of --scripts' start-up in memset and page faults) */
	struct tok *fmt = malloc((size_t)cap * sizeof(*fmt));
	if (!fmt) {
		ps->err = "out of memory";
		return 1;
	}
	int n = 0;
	struct tok *tok = NULL;
	char *start = str, *dst = str;
	if (endp)
		*endp = NULL;
	int done = 0;
	while (start && *start && !done) {
		switch (*start) {
		case '%': {
			if (start[1] == '%') {
				if (!tok || tok->kind != TOK_STRING) {
					tok = NEW_TOK(fmt, n);
					tok->kind = TOK_STRING;
					tok->s = dst = start;
				}
				start++;
				*dst++ = *start++;
				break;
			}
			tok = NEW_TOK(fmt, n);
			*dst++ = 0;
			start++;
			if (*start == '|') {
				char *ne;
				start++;
				if (parse_expr(ps, tok, start, &ne))
					goto fail;
				start = ne;
				break;
			}
			char *w = start, *c = start;
			while (*c && *c != '{' && *c != '%') {
				if (!(*c >= '0' && *c <= '9') && *c != '-') {
					ps->err = "invalid field width";
					goto fail;
				}
				c++;
			}
			if (!*c || *c == '%') {
				ps->err = "missing { after %";
				goto fail;
			}
			*c++ = 0;
			tok->t.width = w;
			start = c;
			const char *type = NULL;
			if (*start == '=') {
				tok->t.just_one = 1;
				start++;
			} else if (*start == '#') {
				tok->t.just_one = 1;
				type = "arraysize";
				start++;
			}
			char *next = start;
			while (*next && *next != '}')
				next++;
			if (!*next) {
				ps->err = "missing } after %{";
				goto fail;
			}
			*next++ = 0;
			char *colon = start;
			while (*colon && *colon != ':')
				colon++;
			if (*colon) {
				*colon++ = 0;
				if (!*colon) {
					ps->err = "empty tag format";
					goto fail;
				}
				type = colon;
			}
			if (!type)
				type = "string";
			if (!*start) {
				ps->err = "empty tag name";
				goto fail;
			}
			tok->kind = TOK_TAG;
			tok->t.tag = find_tag(start);
			tok->t.fmt = fmt_by_name(type);
			if (!tok->t.tag || !tok->t.fmt) {
				snprintf(ps->msg, sizeof(ps->msg), "%s: \"%s\"",
					 tok->t.tag ? "unknown format" : "unknown tag", start);
				ps->err = ps->msg;
				goto fail;
			}
			start = next;
			break;
		}
		case '[':
			*dst++ = 0;
			*start++ = 0;
			tok = NEW_TOK(fmt, n);
			if (parse_format(ps, start, &tok->a, &tok->na, &start, ST_ARRAY))
				goto fail;
			if (!start) {
				ps->err = "] expected at end of array";
				goto fail;
			}
			dst = start;
			tok->kind = TOK_ARRAY;
			break;
		case ']':
			if (state != ST_ARRAY) {
				ps->err = "unexpected ]";
				goto fail;
			}
			*start++ = 0;
			if (endp)
				*endp = start;
			done = 1;
			break;
		case '}':
			if (state != ST_EXPR) {
				ps->err = "unexpected }";
				goto fail;
			}
			*start++ = 0;
			if (endp)
				*endp = start;
			done = 1;
			break;
		default:
			if (!tok || tok->kind != TOK_STRING) {
				tok = NEW_TOK(fmt, n);
				tok->kind = TOK_STRING;
				tok->s = dst = start;
			}
			if (*start == '\\') {
				start++;
				if (!*start) {
					ps->err = "escaped char expected after \\";
					goto fail;
				}
				*dst++ = escaped(*start++);
			} else {
				*dst++ = *start++;
			}
			break;
		}
	}
	if (dst)
		*dst = 0;
	for (int i = 0; i < n; i++)
		if (fmt[i].kind == TOK_STRING)
			fmt[i].len = strlen(fmt[i].s);
	*out = fmt;
	*nout = n;
	return 0;
fail:
	free_toks(fmt, n);
	return 1;
}

static int parse_expr(struct parse *ps, struct tok *tok, char *str, char **endp)
{
	char *c = str, *end;
	while (*c && *c != '?')
		c++;
	if (*c != '?') {
		ps->err = "? expected in expression";
		return 1;
	}
	*c++ = 0;
	if (*c != '{') {
		ps->err = "{ expected after ? in expression";
		return 1;
	}
	c++;
	if (parse_format(ps, c, &tok->a, &tok->na, &end, ST_EXPR))
		return 1;
	if (!(end && *end)) {
		ps->err = "} expected in expression";
		return 1;
	}
	c = end;
	if (*c != ':' && *c != '|') {
		ps->err = ": expected following ? subexpression";
		return 1;
	}
	if (*c == '|') {
		tok->b = NULL;
		tok->nb = 0;
	} else {
		c++;
		if (*c != '{') {
			ps->err = "{ expected after : in expression";
			return 1;
		}
		c++;
		if (parse_format(ps, c, &tok->b, &tok->nb, &end, ST_EXPR))
			return 1;
		if (!(end && *end)) {
			ps->err = "} expected in expression";
			return 1;
		}
		c = end;
		if (*c != '|') {
			ps->err = "| expected at end of expression";
			return 1;
		}
	}
	c++;
	*endp = c;
	tok->kind = TOK_COND;
	tok->t.tag = find_tag(str);
	return 0;
}

struct rpm_qf *rpm_qf_compile(const char *fmt, struct ok_err *e)
{
	struct rpm_qf *qf = calloc(1, sizeof(*qf));
	if (!qf || !(qf->copy = strdup(fmt))) {
		free(qf);
		ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
		return NULL;
	}
	struct parse ps = {NULL, ""};
	if (parse_format(&ps, qf->copy, &qf->toks, &qf->n, NULL, ST_BEGIN)) {
		ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "incorrect format: %s",
			  ps.err ? ps.err : "syntax error");
		free(qf->copy);
		free(qf);
		return NULL;
	}
	return qf;
}

void rpm_qf_free(struct rpm_qf *qf)
{
	if (!qf)
		return;
	free_toks(qf->toks, qf->n);
	free(qf->copy);
	free(qf);
}

/* ---- evaluation (singleSprintf) ----------------------------------------- */

#define CACHE_MAX 64

struct eval {
	const struct rpm_pkg *p;
	int verbose;
	char **buf;
	size_t *len, *cap;
	struct ok_err *e;
	int ncache;
	int raw;		 /* %{*} iteration: HEADERGET_RAW data */
	uint32_t star_tag;	 /* the tag %{*} stands for now */
	const struct qtag *star; /* the one %{*} that does (the first token) */
	struct {		 /* last: rpm_qf_expand clears what is before */
		uint32_t tag;
		int found;
		struct rpm_td td;
	} cache[CACHE_MAX]; /* ncache used, each cleared by get_data */
};

/* The tag a token reads: only the first token's %{*} takes the header's
 * tags in turn (rpm rewrites that token alone); any other %{*} finds
 * nothing. */
static uint32_t tag_of(const struct eval *ev, const struct qtag *t)
{
	return t == ev->star ? ev->star_tag : t->tag;
}

static const struct rpm_td *get_data(struct eval *ev, uint32_t tag)
{
	if (!tag || tag == TAG_STAR)
		return NULL;
	for (int i = 0; i < ev->ncache; i++)
		if (ev->cache[i].tag == tag)
			return ev->cache[i].found ? &ev->cache[i].td : NULL;
	int slot = CACHE_MAX - 1; /* full: the last slot is reused */
	if (ev->ncache < CACHE_MAX)
		slot = ev->ncache++;
	else
		rpm_td_free(&ev->cache[slot].td);
	memset(&ev->cache[slot], 0, sizeof(ev->cache[slot]));
	ev->cache[slot].tag = tag;
	ev->cache[slot].found = ev->raw ? rpm_td_get_raw(ev->p, tag, &ev->cache[slot].td)
					: rpm_td_get(ev->p, tag, ev->verbose, &ev->cache[slot].td);
	return ev->cache[slot].found ? &ev->cache[slot].td : NULL;
}

static int put(struct eval *ev, const char *s, size_t n)
{
	if (*ev->len + n + 1 > *ev->cap) {
		size_t c = (*ev->cap ? *ev->cap : 256);
		while (c < *ev->len + n + 1)
			c *= 2;
		char *b = realloc(*ev->buf, c);
		if (!b)
			return -ENOMEM;
		*ev->buf = b;
		*ev->cap = c;
	}
	memcpy(*ev->buf + *ev->len, s, n);
	*ev->len += n;
	(*ev->buf)[*ev->len] = 0;
	return 0;
}

static int format_value(struct eval *ev, const struct qtag *t, uint32_t elem)
{
	const struct rpm_td *td = get_data(ev, tag_of(ev, t));
	char *val;
	if (td && td->count > elem && t->fmt->fn == f_string && !(t->width && *t->width) &&
	    td_class(td) == CLS_STR) {
		/* a plain string (a scriptlet, a name): straight to the output,
		 * not through f_string's copy */
		const char *s = rpm_td_str(td, elem);
		return put(ev, s, strlen(s));
	}
	if (td && td->count > elem)
		val = fmt_call(t->fmt, td, elem);
	else
		val = strdup("(none)");
	if (!val)
		return -ENOMEM;
	if (t->width && *t->width) {
		int left = strchr(t->width, '-') != NULL;
		long w = 0;
		/* Widths are capped at 4096 columns (rpm would try any size). */
		for (const char *c = t->width; *c && w <= 4096; c++)
			if (*c >= '0' && *c <= '9')
				w = w * 10 + (*c - '0');
		if (w > 4096)
			w = 4096;
		char *pad = xasprintf(left ? "%-*s" : "%*s", (int)w, val);
		free(val);
		if (!pad)
			return -ENOMEM;
		val = pad;
	}
	int rc = put(ev, val, strlen(val));
	free(val);
	return rc;
}

static int single(struct eval *ev, const struct tok *tok, uint32_t elem)
{
	int rc = 0;
	switch (tok->kind) {
	case TOK_NONE:
		break;
	case TOK_STRING:
		rc = put(ev, tok->s, tok->len);
		break;
	case TOK_TAG:
		rc = format_value(ev, &tok->t, tok->t.just_one ? 0 : elem);
		break;
	case TOK_COND: {
		const struct tok *sub = tok->a;
		int n = tok->na;
		if (!get_data(ev, tag_of(ev, &tok->t))) {
			sub = tok->b;
			n = tok->nb;
		}
		for (int i = 0; i < n && rc == 0; i++)
			rc = single(ev, &sub[i], elem);
		break;
	}
	case TOK_ARRAY: {
		uint32_t num = 0;
		int found = 0;
		for (int i = 0; i < tok->na; i++) {
			const struct tok *s = &tok->a[i];
			if (s->kind != TOK_TAG || s->t.just_one)
				continue;
			const struct rpm_td *td = get_data(ev, tag_of(ev, &s->t));
			if (!td)
				continue;
			found = 1;
			uint32_t cnt = td->type == RPM_BIN ? 1 : td->count; /* rpmtdCount */
			if (num > 0 && cnt != num)
				return ok_err_at(ev->e, -EINVAL, ev->p->path, OK_ERR_NOPOS,
						 "array iterator used with different sized arrays");
			if (cnt > num)
				num = cnt;
		}
		if (!found || num == 0)
			break;
		/* [%{TAG:xml}...]: rpm wraps the elements in an rpmTag element */
		const struct tok *t0 = &tok->a[0];
		int isxml = t0->kind == TOK_TAG && t0->t.fmt && strcmp(t0->t.fmt->name, "xml") == 0;
		if (isxml) {
			char *tn = tag_name_418(tag_of(ev, &t0->t));
			char *w = tn ? xasprintf("  <rpmTag name=\"%s\">\n", tn) : NULL;
			rc = w ? put(ev, w, strlen(w)) : -ENOMEM;
			free(tn);
			free(w);
		}
		for (uint32_t j = 0; j < num && rc == 0; j++)
			for (int i = 0; i < tok->na && rc == 0; i++)
				rc = single(ev, &tok->a[i], j);
		if (isxml && rc == 0)
			rc = put(ev, "  </rpmTag>\n", 12);
		break;
	}
	}
	return rc;
}

int rpm_qf_expand(const struct rpm_qf *qf, const struct rpm_pkg *p, int verbose, char **buf,
		  size_t *len, size_t *cap, struct ok_err *e)
{
	/* Only the fields before the tag cache are cleared: get_data clears a
	 * cache slot when it takes it (a calloc of the whole 4.6 KiB cache was
	 * a tenth of the instructions of a 2,000-package --scripts query). */
	struct eval *ev = malloc(sizeof(*ev));
	if (!ev)
		return -ENOMEM;
	memset(ev, 0, offsetof(struct eval, cache));
	ev->p = p;
	ev->verbose = verbose;
	ev->buf = buf;
	ev->len = len;
	ev->cap = cap;
	ev->e = e;
	int rc = put(ev, "", 0);
	/* headerFormat: a format whose first token is %{*} (or [%{*}...])
	 * repeats that token alone for every tag of the header, in rpm's index
	 * order without the region tags, with raw data; for :xml inside an
	 * rpmHeader element. */
	const struct tok *t0 = qf->n > 0 ? &qf->toks[0] : NULL;
	const struct tok *st = !t0				     ? NULL
			       : t0->kind == TOK_TAG		     ? t0
			       : t0->kind == TOK_ARRAY && t0->na > 0 ? &t0->a[0]
								     : NULL;
	if (st && st->kind == TOK_TAG && st->t.tag == TAG_STAR) {
		const struct rpm_hdr *h = &p->hdr;
		int isxml = st->t.fmt && strcmp(st->t.fmt->name, "xml") == 0;
		ev->raw = 1;
		ev->star = &st->t;
		if (isxml)
			rc = put(ev, "<rpmHeader>\n", 12);
		for (size_t k = 0; k < h->il + h->nvirt && rc == 0; k++) {
			uint32_t tag = h->virt ? h->virt[k].tag : h->ents[k].tag;
			if (tag >= TAG_HEADERIMAGE && tag <= TAG_HEADERIMMUTABLE)
				continue;
			ev->star_tag = tag;
			rc = single(ev, t0, 0);
		}
		if (isxml && rc == 0)
			rc = put(ev, "</rpmHeader>\n", 13);
	} else {
		for (int i = 0; i < qf->n && rc == 0; i++)
			rc = single(ev, &qf->toks[i], 0);
	}
	for (int i = 0; i < ev->ncache; i++)
		rpm_td_free(&ev->cache[i].td);
	free(ev);
	return rc;
}
