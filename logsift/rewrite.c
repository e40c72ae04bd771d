/*
 * rewrite.c: rewrite rules as syslog-ng 3.38's lib/rewrite: set(), unset(),
 * subst(), set-tag(), clear-tag(), groupset(), groupunset(), each with an
 * optional condition(). cfg.c builds the operations (struct ls_rwop); this
 * file runs them on a message. A rule's operations are separate pipes in
 * 3.38, each traced as its own "rewrite rule evaluation" with the rule's
 * name and the operation's location; the trace lines here are 3.38's -t
 * lines, plus one per set()/unset() naming the value and what it became.
 *
 * The caller (route.c) gives each branch of the pipeline its own copy of
 * the message, as 3.38's log_msg_make_writable does, so a rewrite changes
 * what follows it in its own path only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ls_int.h"

static bool tracing(const struct ls_trace *t)
{
	return t && t->active && t->mode != LS_TRACE_OFF;
}

/* Print t->line and a newline, then clear it. */
static void trace_flush(struct ls_trace *t)
{
	ls_buf_addc(&t->line, '\n');
	fwrite(t->line.p, 1, t->line.len, t->out);
	t->line.len = 0;
}

static void trace_rule(struct ls_trace *t, const struct ls_rewrite *r, const struct ls_rwop *op,
		       bool begin)
{
	ls_buf_addf(&t->line, "%s; rule='%s', location='%s:%d:%d'",
		    begin ? ">>>>>> rewrite rule evaluation begin"
			  : "<<<<<< rewrite rule evaluation finished",
		    r->name, op->file, op->line, op->col);
	trace_flush(t);
}

/* 3.38's LogMatcherString match: exact, prefix or substring; the match
 * start in v[0..n) or NULL. */
static const char *str_match(const struct fnode *mt, const char *v, size_t n)
{
	size_t pl = strlen(mt->pattern);
	bool ic = mt->mflags & MF_ICASE;
	if (pl > n)
		return NULL;
	if (!(mt->mflags & (MF_SUBSTRING | MF_PREFIX))) {
		/* strncmp(value, pattern, value_len): the whole value */
		if (pl != n)
			return NULL;
		return (ic ? !strncasecmp(v, mt->pattern, n) : !memcmp(v, mt->pattern, n)) ? v
											   : NULL;
	}
	if (mt->mflags & MF_PREFIX)
		return (ic ? !strncasecmp(v, mt->pattern, pl) : !memcmp(v, mt->pattern, pl)) ? v
											     : NULL;
	for (size_t i = 0; i + pl <= n; i++) {
		if (ic ? !strncasecmp(v + i, mt->pattern, pl) : !memcmp(v + i, mt->pattern, pl))
			return v + i;
		if (!ic && !v[i])
			break; /* g_strstr_len stops at a NUL */
	}
	return NULL;
}

/* log_matcher_string_replace: false when nothing matched. */
static bool str_replace(const struct ls_rwop *op, struct ls_msg *m, const char *v, size_t n,
			struct ls_buf *out)
{
	const struct fnode *mt = op->matcher;
	size_t pl = strlen(mt->pattern), cur = 0;
	bool first = true, any = false;
	const char *hit;
	do {
		if (cur == n)
			break;
		hit = str_match(mt, v + cur, n - cur);
		if (hit) {
			size_t start = (size_t)(hit - v), end = start + pl;
			if (start == end && !first) {
				start++;
				end++;
			}
			any = true;
			ls_buf_add(out, v + cur, start - cur);
			ls_tmpl_format(op->tmpl, m, out);
			cur = end;
			if (!(mt->mflags & MF_GLOBAL)) {
				ls_buf_add(out, v + cur, n - cur);
				break;
			}
		} else if (any) {
			ls_buf_add(out, v + cur, n - cur);
		}
		first = false;
	} while (hit && (mt->mflags & MF_GLOBAL));
	return any;
}

/* log_matcher_pcre_re_feed_backrefs: $0..$255 from a match, the later ones unset. */
static void feed_backrefs(struct ls_msg *m, const char *v, const PCRE2_SIZE *ov, int rc)
{
	ls_msg_set_matches(m, v, ov, rc);
}

/* Named groups as values of their names (feed_named_substrings); also regexp-parser()'s. */
void ls_re_named(const struct fnode *mt, const char *v, const PCRE2_SIZE *ov, int rc, ls_pair_fn fn,
		 void *ctx)
{
	uint32_t count = 0, size = 0;
	PCRE2_SPTR table;
	pcre2_pattern_info(mt->re, PCRE2_INFO_NAMECOUNT, &count);
	if (!count)
		return;
	pcre2_pattern_info(mt->re, PCRE2_INFO_NAMETABLE, &table);
	pcre2_pattern_info(mt->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
	for (uint32_t i = 0; i < count; i++) {
		const unsigned char *e = table + (size_t)i * size;
		int g = (e[0] << 8) | e[1];
		if (g >= rc || ov[2 * g] == PCRE2_UNSET)
			continue;
		fn(ctx, (const char *)e + 2, v + ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
	}
}

static void set_named(void *m, const char *name, const char *v, size_t n)
{
	ls_msg_set_name(m, name, v, n);
}

/* log_matcher_pcre_re_replace: false when nothing matched. v is a copy
 * (setting $N may move the message's store). */
static bool re_replace(const struct ls_rwop *op, struct ls_msg *m, const char *v, size_t n,
		       struct ls_buf *out)
{
	const struct fnode *mt = op->matcher;
	pcre2_match_data *md = mt->md;
	size_t start = 0, last = 0;
	bool empty = false, any = false;
	do {
		uint32_t opts = empty ? PCRE2_NOTEMPTY_ATSTART | PCRE2_ANCHORED : 0;
		int rc = pcre2_match(mt->re, (PCRE2_SPTR)v, n, start, opts, md, NULL);
		if (rc < 0) {
			if (!empty)
				break;
			start++; /* as 3.38: one byte on, not one character */
			empty = false;
			continue;
		}
		PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
		if (rc == 0)
			rc = (int)pcre2_get_ovector_count(md);
		feed_backrefs(m, v, ov, rc);
		ls_re_named(mt, v, ov, rc, set_named, m); /* feed_named_substrings */
		any = true;
		ls_buf_add(out, v + last, ov[0] - last);
		ls_tmpl_format(op->tmpl, m, out);
		empty = ov[0] == ov[1];
		start = last = ov[1];
	} while ((mt->mflags & MF_GLOBAL) && start < n);
	if (any)
		ls_buf_add(out, v + last, n - last);
	return any;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* groupset()/groupunset(): every set value whose name matches a values()
 * pattern, in name order (3.38's value_pairs_foreach sorts by strcmp). */
static void groupset(const struct ls_rwop *op, struct ls_msg *m, struct ls_trace *t)
{
	size_t n = ls_msg_names(m, NULL, 0);
	const char **names = calloc(n ? n : 1, sizeof *names);
	char **sel = calloc(n ? n : 1, sizeof *sel);
	if (!names || !sel)
		abort();
	ls_msg_names(m, names, n);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		bool inc = false;
		for (size_t j = 0; j < op->n_globs; j++)
			if (ls_glob_match(op->globs[j], names[i]))
				inc = true;
		if (inc && !(sel[k++] = strdup(names[i])))
			abort();
	}
	qsort(sel, k, sizeof *sel, cmp_names);
	struct ls_buf val = {0}, res = {0};
	for (size_t i = 0; i < k; i++) {
		if (op->kind == RW_GROUPUNSET) {
			ls_msg_unset_name(m, sel[i]);
		} else {
			size_t len;
			const char *v = ls_msg_get_name(m, sel[i], &len);
			val.len = res.len = 0;
			ls_buf_add(&val, v, len);
			m->ctx = val.p ? val.p : "";
			m->ctx_len = val.len;
			ls_tmpl_format(op->tmpl, m, &res);
			m->ctx = NULL;
			ls_msg_set_name(m, sel[i], res.p ? res.p : "", res.len);
		}
		if (tracing(t)) {
			ls_buf_addf(&t->line, "Rewrite %s; value='%s'",
				    op->kind == RW_GROUPSET ? "groupset" : "groupunset", sel[i]);
			if (op->kind == RW_GROUPSET) {
				ls_buf_add(&t->line, ", new_value='", 13);
				ls_buf_add_escaped(&t->line, res.p ? res.p : "", res.len);
				ls_buf_addc(&t->line, '\'');
			}
			trace_flush(t);
		}
		free(sel[i]);
	}
	ls_buf_free(&val);
	ls_buf_free(&res);
	free(sel);
	free(names);
}

static void trace_value(struct ls_trace *t, const char *what, const struct ls_rwop *op,
			const char *v, size_t n, bool set)
{
	ls_buf_addf(&t->line, "Rewrite %s; value='%s'", what, op->value);
	if (set) {
		ls_buf_add(&t->line, ", new_value='", 13);
		ls_buf_add_escaped(&t->line, v, n);
		ls_buf_addc(&t->line, '\'');
	}
	ls_buf_addf(&t->line, ", location='%s:%d:%d'", op->file, op->line, op->col);
	trace_flush(t);
}

/*
 * set-tag()/clear-tag() as 3.38's rewrite-set-tag.c: a literal name's id
 * was given out at load; a template's text, up to its first NUL (3.38
 * passes result->str), is looked up and registered now, so $TAGS order is
 * the order names were first seen. An id past what a message carries is
 * 3.38's error line, for clear-tag() as for set-tag(). With no registry
 * (a message not routed) a templated tag does nothing.
 */
static void set_tag(const struct ls_rwop *op, struct ls_msg *m, struct ls_runtime *rt)
{
	int id = op->tag;
	if (!op->tmpl) {
		/* literal */
	} else if (m->tagtab) {
		struct ls_buf name = {0};
		ls_tmpl_format(op->tmpl, m, &name);
		ls_buf_addc(&name, 0);
		id = ls_tags_id(m->tagtab, name.p);
		ls_buf_free(&name);
	} else {
		return;
	}
	if (!ls_msg_tag(m, id, op->kind == RW_SET_TAG))
		ls_rt_error(rt, "Maximum number of tags reached;");
}

static void run_op(const struct ls_rewrite *r, const struct ls_rwop *op, struct ls_msg *m,
		   struct ls_trace *t, struct ls_runtime *rt)
{
	struct ls_buf out = {0};
	switch (op->kind) {
	case RW_SET:
		ls_tmpl_format_opts(op->tmpl, m, &op->topts, &out);
		ls_msg_set_name(m, op->value, out.p ? out.p : "", out.len);
		if (tracing(t))
			trace_value(t, "set", op, out.p ? out.p : "", out.len, true);
		break;
	case RW_UNSET:
		ls_msg_unset_name(m, op->value);
		if (tracing(t))
			trace_value(t, "unset", op, NULL, 0, false);
		break;
	case RW_SUBST: {
		size_t n;
		const char *v0 = ls_msg_get_name(m, op->value, &n);
		char *v = malloc(n + 1);
		if (!v)
			abort();
		memcpy(v, v0, n);
		v[n] = 0;
		bool hit = op->matcher->mtype == MT_STRING ? str_replace(op, m, v, n, &out)
							   : re_replace(op, m, v, n, &out);
		if (hit)
			ls_msg_set_name(m, op->value, out.p ? out.p : "", out.len);
		if (tracing(t)) {
			ls_buf_addf(&t->line,
				    "Performing subst() rewrite%s; rule='%s', value='%s', input='",
				    hit ? "" : " failed, pattern did not match", r->name,
				    op->value);
			ls_buf_add_escaped(&t->line, v, n);
			ls_buf_addf(&t->line, "', type='%s', pattern='%s'",
				    op->matcher->mtype == MT_STRING ? "string" : "pcre",
				    op->matcher->pattern);
			if (hit) {
				ls_buf_add(&t->line, ", new_value='", 13);
				ls_buf_add_escaped(&t->line, out.p ? out.p : "", out.len);
				ls_buf_addc(&t->line, '\'');
			}
			ls_buf_addf(&t->line, ", location='%s:%d:%d'", op->file, op->line, op->col);
			trace_flush(t);
		}
		free(v);
		break;
	}
	case RW_SET_TAG:
	case RW_CLEAR_TAG:
		set_tag(op, m, rt);
		break;
	case RW_GROUPSET:
	case RW_GROUPUNSET:
		groupset(op, m, t);
		break;
	}
	ls_buf_free(&out);
}

void ls_rewrite_run(const struct ls_rewrite *r, struct ls_msg *m, struct ls_trace *t,
		    struct ls_runtime *rt)
{
	for (size_t i = 0; i < r->n_ops; i++) {
		const struct ls_rwop *op = &r->ops[i];
		if (tracing(t))
			trace_rule(t, r, op, true);
		if (op->cond && !ls_filter_eval(op->cond, m, t)) {
			if (tracing(t)) {
				ls_buf_addf(&t->line,
					    "Rewrite condition unmatched, skipping rewrite; "
					    "value='%s', rule='%s', location='%s:%d:%d'",
					    op->value ? op->value : "MESSAGE", r->name, op->file,
					    op->line, op->col);
				trace_flush(t);
			}
		} else {
			run_op(r, op, m, t, rt);
		}
		if (tracing(t))
			trace_rule(t, r, op, false);
	}
}

void ls_rewrite_free(struct ls_rewrite *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n_ops; i++) {
		struct ls_rwop *op = &r->ops[i];
		free(op->value);
		ls_tmpl_free(op->tmpl);
		free(op->topts.send_tz);
		if (op->matcher)
			ls_fnode_free(op->matcher);
		for (size_t k = 0; k < op->n_globs; k++)
			free(op->globs[k]);
		free(op->globs);
	}
	free(r->ops);
	free(r->name);
	free(r);
}
