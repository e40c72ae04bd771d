/*
 * parser.c: message parsers as syslog-ng 3.38's modules: kv-parser()
 * (modules/kvformat over lib/scanner/kv-scanner and lib/str-repr/decode)
 * and csv-parser() (modules/csvparser over lib/scanner/csv-scanner). The
 * scanners see a NUL-ended string and hand each name and value to a
 * callback, so the fuzz targets drive them without a message; ls_parser_run
 * feeds them $MESSAGE (or the template() input) and stores the values.
 *
 * 3.38's quirks are kept on purpose, they decide the bytes admins see: a kv
 * value whose quoting is broken is the raw rest of the input and the next
 * key is searched from where that value began; csv flags() replace the
 * default strip-whitespace instead of adding to it. json-parser() is
 * json.c's (the one user of json-c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls_int.h"

/* ------------------------------------------------------------ kv scanner */

struct kvs {
	const char *in;
	size_t pos;
	char vsep;
	const char *psep;
	size_t psep_len;
	bool quoted; /* the value being decoded started with a quote */
	struct ls_buf key, val;
};

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

static void buf_set(struct ls_buf *b, const char *p, size_t n)
{
	b->len = 0;
	ls_buf_add(b, p, n);
	ls_buf_addc(b, 0);
	b->len--;
}

/* _extract_key: the next "key=" from pos; words before it are stray. */
static bool kv_key(struct kvs *s)
{
	const char *input = s->in + s->pos;
	for (const char *sep = strchr(input, s->vsep); sep; sep = strchr(sep + 1, s->vsep)) {
		const char *end = sep, *start;
		while (end > input && end[-1] == ' ')
			end--;
		start = end;
		while (start > input && key_char(start[-1]))
			start--;
		if (end - start >= 1) {
			buf_set(&s->key, start, (size_t)(end - start));
			s->pos = (size_t)(sep - s->in) + 1;
			return true;
		}
	}
	return false;
}

static bool kv_key_follows(const struct kvs *s, const char *cur)
{
	const char *k = cur;
	while (key_char(*k))
		k++;
	while (*k == ' ')
		k++;
	return k != cur && *k == s->vsep;
}

static bool kv_psep(const struct kvs *s, const char *cur, const char **next)
{
	if (strncmp(cur, s->psep, s->psep_len))
		return false;
	*next = cur + s->psep_len;
	return true;
}

/* _match_delimiter of the kv scanner. */
static bool kv_delim(const struct kvs *s, const char *cur, const char **next)
{
	if (!s->quoted && *cur == ' ') {
		if (s->psep[0] == ' ' && kv_psep(s, cur, next))
			return true;
		while (*cur == ' ')
			cur++;
		if (!*cur || kv_key_follows(s, cur)) {
			*next = cur;
			return true;
		}
		return kv_psep(s, cur, next);
	}
	if (*cur == ' ') {
		*next = cur + 1;
		return true;
	}
	if (!*cur) {
		*next = cur;
		return true;
	}
	return kv_psep(s, cur, next);
}

/* str_repr_decode's delimiter test: only at ' ' or the pair separator's first byte. */
static bool kv_at_delim(const struct kvs *s, const char **cur)
{
	const char *next;
	if (**cur != ' ' && **cur != s->psep[0])
		return false;
	if (!kv_delim(s, *cur, &next))
		return false;
	*cur = next;
	return true;
}

enum { Q_INITIAL, Q_STRING, Q_BACKSLASH, Q_EXPECT_DELIM, Q_ERROR, Q_UNQUOTED, Q_OK, Q_FAIL };

/* str_repr_decode_with_options into s->val from s->in + s->pos. */
static void kv_value(struct kvs *s)
{
	s->quoted = false;
	const char *input = s->in + s->pos, *end;
	while (*input == ' ' && !kv_delim(s, input, &end))
		input++;
	s->pos = (size_t)(input - s->in);
	s->quoted = *input == '"' || *input == '\'';
	s->val.len = 0;
	const char *cur = input;
	char q = 0;
	int st = Q_INITIAL;
	for (; *cur; cur++) {
		switch (st) {
		case Q_INITIAL:
			if (kv_at_delim(s, &cur)) {
				st = Q_OK;
			} else if (*cur == '"' || *cur == '\'') {
				q = *cur;
				st = Q_STRING;
			} else {
				ls_buf_addc(&s->val, *cur);
				st = Q_UNQUOTED;
			}
			break;
		case Q_STRING:
			if (*cur == q)
				st = Q_EXPECT_DELIM;
			else if (*cur == '\\')
				st = Q_BACKSLASH;
			else
				ls_buf_addc(&s->val, *cur);
			break;
		case Q_BACKSLASH: {
			static const char from[] = "bfnrt\\", to[] = "\b\f\n\r\t\\";
			const char *e = strchr(from, *cur);
			if (e) {
				ls_buf_addc(&s->val, to[e - from]);
			} else {
				if (*cur != q)
					ls_buf_addc(&s->val, '\\');
				ls_buf_addc(&s->val, *cur);
			}
			st = Q_STRING;
			break;
		}
		case Q_EXPECT_DELIM:
			st = kv_at_delim(s, &cur) ? Q_OK : Q_ERROR;
			break;
		case Q_ERROR:
			if (kv_at_delim(s, &cur))
				st = Q_FAIL;
			break;
		case Q_UNQUOTED:
			if (kv_at_delim(s, &cur))
				st = Q_OK;
			else
				ls_buf_addc(&s->val, *cur);
			break;
		}
		if (st == Q_OK || st == Q_FAIL)
			break;
	}
	if (st == Q_INITIAL || st == Q_EXPECT_DELIM || st == Q_UNQUOTED || st == Q_OK) {
		s->pos = (size_t)(cur - s->in);
	} else {
		/* broken quoting: the raw text, and the scan goes on from its start */
		buf_set(&s->val, input, (size_t)(cur - input));
		s->quoted = false;
	}
	ls_buf_addc(&s->val, 0);
	s->val.len--;
}

void ls_kv_scan(const char *input, char vsep, const char *psep, ls_pair_fn fn, void *ctx)
{
	struct kvs s = {.in = input, .vsep = vsep, .psep = psep, .psep_len = strlen(psep)};
	while (s.in[s.pos] && kv_key(&s)) {
		kv_value(&s);
		fn(ctx, s.key.p, s.val.p ? s.val.p : "", s.val.len);
	}
	ls_buf_free(&s.key);
	ls_buf_free(&s.val);
}

/* ----------------------------------------------------------- csv scanner */

static bool csv_ws(char c)
{
	return c == ' ' || c == '\t';
}

/* A delimiter at *src (strings first, then characters): skipped, true. */
static bool csv_delim(const struct ls_csv_opts *o, const char **src)
{
	for (size_t i = 0; i < o->n_sdelims; i++) {
		size_t n = strlen(o->sdelims[i]);
		if (!strncmp(*src, o->sdelims[i], n)) {
			*src += n;
			return true;
		}
	}
	if (**src && strchr(o->delims, **src)) {
		(*src)++;
		return true;
	}
	return false;
}

bool ls_csv_scan(const struct ls_csv_opts *o, const char *input, ls_pair_fn fn, void *ctx)
{
	const char *src = input;
	struct ls_buf v = {0};
	bool finished = false;
	for (size_t c = 0; c < o->n_cols; c++) {
		v.len = 0;
		bool last = c + 1 == o->n_cols;
		if (last && (o->flags & LS_CSV_GREEDY)) {
			if (o->flags & LS_CSV_STRIP)
				while (csv_ws(*src))
					src++;
			ls_buf_add(&v, src, strlen(src));
			src += strlen(src);
		} else if (!*src) {
			break; /* partial input: the other columns stay unset */
		} else {
			char quote = 0;
			const char *qs = *src ? strchr(o->qstart, *src) : NULL;
			if (qs) {
				src++;
				quote = o->qend[qs - o->qstart];
			}
			if (o->flags & LS_CSV_STRIP)
				while (csv_ws(*src))
					src++;
			while (*src) {
				if (quote) {
					if (o->dialect == LS_CSV_ESC_BACKSLASH && *src == '\\' &&
					    src[1]) {
						src++;
					} else if (o->dialect == LS_CSV_ESC_DOUBLE &&
						   *src == quote && src[1] == quote) {
						src++;
					} else if (*src == quote) {
						quote = 0;
						src++;
						continue;
					}
					ls_buf_addc(&v, *src++);
				} else {
					if (csv_delim(o, &src))
						break;
					ls_buf_addc(&v, *src++);
				}
			}
		}
		if (o->flags & LS_CSV_STRIP)
			while (v.len && csv_ws(v.p[v.len - 1]))
				v.len--;
		ls_buf_addc(&v, 0);
		v.len--;
		if (o->null && !strcmp(v.p, o->null))
			v.p[v.len = 0] = 0;
		fn(ctx, o->cols[c], v.p, v.len);
		if (last)
			finished = true;
	}
	if (!o->n_cols)
		finished = true;
	ls_buf_free(&v);
	return finished && !*src;
}

/* ------------------------------------------------------------ in the path */

struct set_ctx {
	struct ls_msg *m;
	const char *prefix;
	struct ls_buf name;
	struct ls_trace *t; /* tracing: one line per value set */
};

static void set_value(void *ctx, const char *name, const char *v, size_t n)
{
	struct set_ctx *x = ctx;
	const char *key = name;
	if (x->prefix) {
		x->name.len = 0;
		ls_buf_add(&x->name, x->prefix, strlen(x->prefix));
		ls_buf_add(&x->name, name, strlen(name) + 1);
		key = x->name.p;
	}
	if (!v) {
		ls_msg_unset_name(x->m, key);
		return;
	}
	ls_msg_set_name(x->m, key, v, n);
	if (x->t) {
		ls_buf_addf(&x->t->line, "Parser value; name='%s', value='", key);
		ls_buf_add_escaped(&x->t->line, v, n);
		ls_buf_add(&x->t->line, "'\n", 2);
		fwrite(x->t->line.p, 1, x->t->line.len, x->t->out);
		x->t->line.len = 0;
	}
}

/*
 * regexp_parser_process: the first of the patterns that matches stores
 * $0..$N (its matcher has store-matches) and its named groups as
 * prefix+name (log_matcher_pcre_re_feed_named_substrings); false when
 * none matches (the message leaves the path).
 */
static bool regexp_run(const struct ls_parser *p, const char *in, size_t n, struct set_ctx *x)
{
	for (size_t i = 0; i < p->n_re; i++) {
		const struct fnode *mt = p->re[i];
		int rc = pcre2_match(mt->re, (PCRE2_SPTR)in, n, 0, 0, mt->md, NULL);
		if (rc < 0)
			continue;
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(mt->md);
		if (rc == 0)
			rc = (int)pcre2_get_ovector_count(mt->md);
		ls_msg_set_matches(x->m, in, ov, rc);
		ls_re_named(mt, in, ov, rc, set_value, x);
		return true;
	}
	return false;
}

/*
 * syslog_parser_process: the input parsed as a received record into the
 * same message by the sources' parser (ls_msg_parse), which replaces the
 * header fields it finds and leaves the others; a record that does not
 * parse becomes 3.38's error message, or with drop-invalid(yes) leaves the
 * path (msg_format_parse_conditional). in is NUL-ended: 3.38 reads up to
 * the first NUL (strlen).
 */
static bool syslog_run(const struct ls_parser *p, const char *in, struct ls_msg *m,
		       struct ls_tz_span *local)
{
	struct ls_parse_opts po = {
	    .flags = p->sys_flags,
	    .default_pri = p->sys_default_pri,
	    .self_pid = (int)getpid(),
	    .bad_hostname = p->sys_bad_hostname,
	    .recv_tz = p->date_tz,
	    .recv_zone = p->date_zone,
	    .local = local,
	    .zone_at = m->recv_sec ? m->recv_sec : 1,
	};
	/* 3.38's meta.sequenceId is the destination's count, not the record's */
	int seq = m->seq;
	m->parse_error = false;
	ls_msg_set(m, LS_MESSAGE, "", 0);	      /* an empty MSG part is an empty MSG */
	m->f[LS_LEGACY_MSGHDR] = (struct ls_span){0}; /* $MSGHDR: the new header's */
	struct ls_msg base;
	if (p->sys_flags & LS_P_SYSLOG_PROTOCOL) {
		ls_msg_init(&base);
		ls_msg_copy(&base, m);
		po.base = &base;
	}
	ls_msg_parse(m, in, strlen(in), &po);
	if (po.base)
		ls_msg_free(&base);
	if (!m->seq_cisco)
		m->seq = seq;
	return !(p->drop_invalid && m->parse_error);
}

bool ls_parser_run(const struct ls_parser *p, struct ls_msg *m, struct ls_trace *t,
		   struct ls_tz_span *local)
{
	bool tr = t && t->active && t->mode != LS_TRACE_OFF;
	if (tr) {
		ls_buf_addf(&t->line,
			    ">>>>>> parser rule evaluation begin; rule='%s', location='%s:%d:%d'\n",
			    p->name, p->file, p->line, p->col);
		fwrite(t->line.p, 1, t->line.len, t->out);
		t->line.len = 0;
	}
	struct ls_buf in = {0};
	if (p->tmpl) {
		ls_tmpl_format(p->tmpl, m, &in);
	} else {
		size_t n;
		const char *v = ls_msg_get(m, LS_MESSAGE, &n);
		ls_buf_add(&in, v, n);
	}
	ls_buf_addc(&in, 0); /* the scanners read up to the first NUL, as 3.38's */
	struct set_ctx x = {m, p->prefix, {0}, tr ? t : NULL};
	bool ok = true;
	if (p->kind == PS_KV)
		ls_kv_scan(in.p, p->vsep, p->psep, set_value, &x);
	else if (p->kind == PS_JSON)
		ok =
		    ls_json_scan(p, in.p, in.len - 1, set_value,
				 &(struct set_ctx){m, NULL, {0}, x.t}); /* prefixes its own names */
	else if (p->kind == PS_REGEXP)
		ok = regexp_run(p, in.p, in.len - 1, &x);
	else if (p->kind == PS_DATE) {
		/* date_parser_process: the message's stamp (or receive time) */
		int64_t sec;
		int usec, off;
		ok = ls_datep_parse((const char *const *)p->fmts, p->n_fmts, p->date_zone, local,
				    in.p, m->recv_sec, &sec, &usec, &off);
		if (ok && p->date_recvd) {
			m->recv_sec = sec;
			m->recv_usec = usec;
			m->recv_gmtoff = off;
		} else if (ok) {
			m->stamp_sec = sec;
			m->stamp_usec = usec;
			m->stamp_gmtoff = off;
		}
	} else if (p->kind == PS_SYSLOG)
		ok = syslog_run(p, in.p, m, local);
	else
		ok = ls_csv_scan(&p->csv, in.p, set_value, &x) || !p->drop_invalid;
	ls_buf_free(&x.name);
	ls_buf_free(&in);
	if (tr) {
		ls_buf_addf(&t->line,
			    "<<<<<< parser rule evaluation result; result='%s', rule='%s', "
			    "location='%s:%d:%d'\n",
			    ok ? "Forwarding message to the next LogPipe"
			       : "Dropping message from LogPipe",
			    p->name, p->file, p->line, p->col);
		fwrite(t->line.p, 1, t->line.len, t->out);
		t->line.len = 0;
	}
	return ok;
}

void ls_parser_free(struct ls_parser *p)
{
	if (!p)
		return;
	free(p->name);
	ls_tmpl_free(p->tmpl);
	free(p->prefix);
	free(p->psep);
	for (size_t i = 0; i < p->csv.n_cols; i++)
		free(p->csv.cols[i]);
	free(p->csv.cols);
	for (size_t i = 0; i < p->csv.n_sdelims; i++)
		free(p->csv.sdelims[i]);
	free(p->csv.sdelims);
	free(p->csv.delims);
	free(p->csv.qstart);
	free(p->csv.qend);
	free(p->csv.null);
	free(p->marker);
	free(p->extract);
	for (size_t i = 0; i < p->n_fmts; i++)
		free(p->fmts[i]);
	free(p->fmts);
	free(p->date_tz);
	for (size_t i = 0; i < p->n_re; i++)
		ls_fnode_free(p->re[i]); /* frees the node too */
	free(p->re);
	free(p);
}
