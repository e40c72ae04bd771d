/*
 * filter.c: filter evaluation and the classic per-node trace.
 *
 * Evaluation follows syslog-ng: AND/OR short-circuit left to right (C's
 * && and ||); "not" is a comp bit on the node, which returns raw XOR comp.
 * The trace follows syslog-ng 3.2/3.3's debug lines (a real 3.2-era
 * capture, tests/logsift/test_trace.sh):
 *
 *   Filter rule evaluation begins; filter_rule='NAME'
 *   Filter node evaluation result; filter_result='match', filter_type='level'
 *   Filter node evaluation result; filter_result='not-match'       (typeless node)
 *   Filter rule evaluation result; filter_result='match', filter_rule='NAME'
 *
 * Nodes print after their children (post-order), skipped children print
 * nothing, a negated node prints its negated result under its own type,
 * typed nodes are OR, AND, CMP, facility, level and filter(NAME); host(),
 * program(), message(), match(), source(), netmask(), netmask6(), in-list()
 * and tags() print no filter_type at all.
 *
 * --trace=explain appends, per node: raw= (the result before negation),
 * value= (what was tested) and location= (FILE:LINE:COL).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "ls_int.h"

/* ------------------------------------------------------------- compiling */

int ls_fnode_compile(struct fnode *n, struct ok_err *e)
{
	if (n->mtype != MT_PCRE)
		return 0;
	uint32_t opts = 0;
	if (n->mflags & MF_ICASE)
		opts |= PCRE2_CASELESS;
	if (n->mflags & MF_UTF8)
		opts |= PCRE2_UTF;
	if (n->mflags & MF_NEWLINE)
		opts |= PCRE2_MULTILINE;
	if (n->mflags & MF_DUPNAMES)
		opts |= PCRE2_DUPNAMES;
	int err;
	PCRE2_SIZE off;
	n->re =
	    pcre2_compile((PCRE2_SPTR)n->pattern, PCRE2_ZERO_TERMINATED, opts, &err, &off, NULL);
	if (!n->re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		/* 3.38 links PCRE1: use its words where PCRE2 reworded them */
		static const struct {
			int code;
			const char *pcre1;
		} words[] = {{114, "missing )"},
			     {122, "unmatched parentheses"},
			     {106, "missing terminating ] for character class"},
			     {109, "nothing to repeat"},
			     {101, "\\ at end of pattern"}};
		for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
			if (words[i].code == err)
				snprintf((char *)msg, sizeof msg, "%s", words[i].pcre1);
		return ok_err_at(
		    e, -EINVAL, NULL, OK_ERR_NOPOS,
		    "compiling the regexp failed, error=Failed to compile PCRE expression "
		    ">>>%s<<< `%s' at character %zu",
		    n->pattern, (char *)msg, (size_t)off);
	}
	if (!(n->mflags & MF_NOJIT))
		pcre2_jit_compile(n->re, PCRE2_JIT_COMPLETE);
	/* one match block per node: the daemon evaluates on one thread */
	n->md = pcre2_match_data_create_from_pattern(n->re, NULL);
	if (!n->md)
		abort();
	return 0;
}

void ls_fnode_free(struct fnode *n)
{
	if (!n)
		return;
	free(n->value);
	ls_tmpl_free(n->tmpl);
	free(n->pattern);
	if (n->re)
		pcre2_code_free(n->re);
	if (n->md)
		pcre2_match_data_free(n->md);
	free(n->name);
	for (size_t i = 0; i < n->n_list; i++)
		free(n->list[i]);
	free(n->list);
	free(n->tagids);
	ls_tmpl_free(n->lt);
	ls_tmpl_free(n->rt);
	free(n);
}

int ls_netmask_parse(struct fnode *n, const char *s, bool v6)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	if (alen >= sizeof addr)
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = 0;
	memset(n->netmask, 0, sizeof n->netmask);
	if (v6) {
		if (inet_pton(AF_INET6, addr, n->addr) != 1)
			return -EINVAL;
		int prefix = slash ? atoi(slash + 1) : 128;
		if (prefix < 0 || prefix > 128)
			return -EINVAL;
		n->prefix = prefix;
		for (int i = 0; i < prefix; i++)
			n->netmask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
	} else {
		if (inet_pton(AF_INET, addr, n->addr) != 1)
			return -EINVAL;
		if (slash && strchr(slash + 1, '.')) {
			if (inet_pton(AF_INET, slash + 1, n->netmask) != 1)
				return -EINVAL;
		} else {
			int prefix = slash ? atoi(slash + 1) : 32;
			if (prefix < 0 || prefix > 32)
				return -EINVAL;
			for (int i = 0; i < prefix; i++)
				n->netmask[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		}
	}
	for (int i = 0; i < 16; i++)
		n->addr[i] &= n->netmask[i];
	return 0;
}

/* ------------------------------------------------------------- evaluating */

/* The string a match()-like node tests; may format into tmp. */
static const char *match_input(const struct fnode *n, const struct ls_msg *m, struct ls_buf *tmp,
			       size_t *len)
{
	if (n->tmpl) {
		ls_tmpl_format(n->tmpl, m, tmp);
		*len = tmp->len;
		return tmp->p ? tmp->p : "";
	}
	if (n->field >= 0)
		return ls_msg_get(m, (enum ls_field)n->field, len);
	if (n->value)
		return ls_msg_get_name(m, n->value, len);
	/* legacy match(): "PROGRAM[PID]: MESSAGE" */
	size_t k;
	const char *v = ls_msg_get(m, LS_PROGRAM, &k);
	if (k) {
		ls_buf_add(tmp, v, k);
		v = ls_msg_get(m, LS_PID, &k);
		if (k) {
			ls_buf_addc(tmp, '[');
			ls_buf_add(tmp, v, k);
			ls_buf_addc(tmp, ']');
		}
		ls_buf_add(tmp, ": ", 2);
	}
	v = ls_msg_get(m, LS_MESSAGE, &k);
	ls_buf_add(tmp, v, k);
	*len = tmp->len;
	return tmp->p ? tmp->p : "";
}

static bool match_string(const struct fnode *n, const char *s, size_t len)
{
	size_t pl = strlen(n->pattern);
	bool ic = n->mflags & MF_ICASE;
	if (n->mflags & MF_PREFIX) {
		if (len < pl)
			return false;
		return ic ? !strncasecmp(s, n->pattern, pl) : !memcmp(s, n->pattern, pl);
	}
	if (n->mflags & MF_SUBSTRING) {
		if (!pl)
			return true;
		for (size_t i = 0; i + pl <= len; i++)
			if (ic ? !strncasecmp(s + i, n->pattern, pl)
			       : !memcmp(s + i, n->pattern, pl))
				return true;
		return false;
	}
	if (len != pl)
		return false;
	return ic ? !strncasecmp(s, n->pattern, pl) : !memcmp(s, n->pattern, pl);
}

static bool eval_match(const struct fnode *n, struct ls_msg *m, struct ls_buf *val)
{
	struct ls_buf tmp = {0};
	size_t len;
	const char *s = match_input(n, m, &tmp, &len);
	if (val)
		ls_buf_add(val, s, len);
	bool r;
	if (n->mtype == MT_STRING) {
		r = match_string(n, s, len);
	} else if (n->mtype == MT_GLOB) {
		char *z = strndup(s, len);
		r = z && fnmatch(n->pattern, z, 0) == 0;
		free(z);
	} else {
		pcre2_match_data *md = n->md;
		int rc = pcre2_match(n->re, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
		r = rc >= 0;
		if (r && (n->mflags & MF_STORE)) {
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			/* s may point into m->store: copied before storing */
			char *cp = malloc(len + 1);
			if (cp) {
				memcpy(cp, s, len);
				ls_msg_set_matches(m, cp, ov, rc);
				free(cp);
			}
		}
	}
	ls_buf_free(&tmp);
	return r;
}

static bool addr_of(const struct ls_msg *m, int fam, uint8_t out[16])
{
	memset(out, 0, 16);
	const struct sockaddr_storage *sa = &m->saddr;
	if (fam == AF_INET) {
		if (sa->ss_family == AF_INET) {
			memcpy(out, &((const struct sockaddr_in *)sa)->sin_addr, 4);
			return true;
		}
		if (sa->ss_family == AF_INET6) {
			const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
			static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
							   0, 0, 0, 0, 0xff, 0xff};
			if (!memcmp(a, mapped, 12)) {
				memcpy(out, a + 12, 4);
				return true;
			}
			return false;
		}
		/* unix or unknown senders count as 127.0.0.1 */
		out[0] = 127;
		out[3] = 1;
		return true;
	}
	if (sa->ss_family == AF_INET6) {
		memcpy(out, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr, 16);
		return true;
	}
	return false;
}

static bool eval_netmask(const struct fnode *n, const struct ls_msg *m, bool v6)
{
	uint8_t a[16];
	if (!addr_of(m, v6 ? AF_INET6 : AF_INET, a))
		return false;
	int len = v6 ? 16 : 4;
	for (int i = 0; i < len; i++)
		if ((a[i] & n->netmask[i]) != n->addr[i])
			return false;
	return true;
}

/* Number of a template result for numeric compares (atoi, as 3.38). */
static bool parse_num(const char *s, double *out)
{
	char *end;
	if (!*s)
		return false;
	*out = strtod(s, &end);
	return *end == 0;
}

static bool eval_cmp(const struct fnode *n, const struct ls_msg *m, struct ls_buf *val)
{
	struct ls_buf a = {0}, b = {0};
	ls_tmpl_format(n->lt, m, &a);
	ls_tmpl_format(n->rt, m, &b);
	const char *sa = a.p ? a.p : "", *sb = b.p ? b.p : "";
	if (val) {
		ls_buf_add(val, sa, strlen(sa));
		ls_buf_addf(val, " %s ", n->op_text);
		ls_buf_add(val, sb, strlen(sb));
	}
	int c;
	bool nan = false;
	if (n->mode == CMP_STRING) {
		c = strcmp(sa, sb);
	} else if (n->mode == CMP_NUMERIC) {
		long x = atol(sa), y = atol(sb);
		c = x < y ? -1 : x > y;
	} else {
		/* type-aware (JS-like): templates are strings, bare numbers int64;
		 * two strings compare as strings, a number against anything as
		 * numbers, and a non-number there is NaN */
		double x = 0, y = 0;
		if (n->lnum || n->rnum) {
			bool nx = parse_num(sa, &x), ny = parse_num(sb, &y);
			if (!nx || !ny) {
				nan = true;
				c = 0;
			} else {
				c = x < y ? -1 : x > y;
			}
		} else {
			c = strcmp(sa, sb);
		}
	}
	ls_buf_free(&a);
	ls_buf_free(&b);
	if (nan)
		return n->op == OP_NE;
	switch (n->op) {
	case OP_EQ:
		return c == 0;
	case OP_NE:
		return c != 0;
	case OP_LT:
		return c < 0;
	case OP_LE:
		return c <= 0;
	case OP_GT:
		return c > 0;
	case OP_GE:
		return c >= 0;
	}
	return false;
}

static bool eval_inlist(const struct fnode *n, const struct ls_msg *m, struct ls_buf *val)
{
	size_t len;
	const char *v = ls_msg_get_name(m, n->value, &len);
	if (val)
		ls_buf_add(val, v, len);
	for (size_t i = 0; i < n->n_list; i++)
		if (strlen(n->list[i]) == len && !memcmp(n->list[i], v, len))
			return true;
	return false;
}

static void trace_line_end(struct ls_trace *t)
{
	ls_buf_addc(&t->line, '\n');
	fwrite(t->line.p, 1, t->line.len, t->out);
	t->line.len = 0;
}

static void trace_node(struct ls_trace *t, const struct fnode *n, bool res, bool raw,
		       const struct ls_buf *val)
{
	t->line.len = 0;
	ls_buf_addf(&t->line, "Filter node evaluation result; filter_result='%s'",
		    res ? "match" : "not-match");
	switch (n->kind) {
	case FN_AND:
		ls_buf_add(&t->line, ", filter_type='AND'", 19);
		break;
	case FN_OR:
		ls_buf_add(&t->line, ", filter_type='OR'", 18);
		break;
	case FN_FACILITY:
		ls_buf_add(&t->line, ", filter_type='facility'", 24);
		break;
	case FN_LEVEL:
		ls_buf_add(&t->line, ", filter_type='level'", 21);
		break;
	case FN_CMP:
		ls_buf_add(&t->line, ", filter_type='CMP'", 19);
		break;
	case FN_CALL:
		ls_buf_add(&t->line, ", filter_type='filter(", 22);
		ls_buf_add_escaped(&t->line, n->name, strlen(n->name));
		ls_buf_add(&t->line, ")'", 2);
		break;
	default:
		break; /* typeless: no filter_type tag at all, as in the 3.2-era capture */
	}
	if (t->mode == LS_TRACE_EXPLAIN) {
		if (n->kind == FN_MATCH)
			ls_buf_addf(&t->line, ", function='%s'", n->kw);
		else if (n->kind == FN_SOURCE || n->kind == FN_NETMASK || n->kind == FN_NETMASK6 ||
			 n->kind == FN_INLIST || n->kind == FN_TAGS)
			ls_buf_addf(&t->line, ", function='%s'",
				    n->kind == FN_SOURCE     ? "source"
				    : n->kind == FN_NETMASK  ? "netmask"
				    : n->kind == FN_NETMASK6 ? "netmask6"
				    : n->kind == FN_INLIST   ? "in-list"
							     : "tags");
		ls_buf_addf(&t->line, ", raw_result='%s', negated='%s'",
			    raw ? "match" : "not-match", n->comp ? "yes" : "no");
		if (val) {
			ls_buf_add(&t->line, ", value='", 9);
			ls_buf_add_escaped(&t->line, val->p ? val->p : "", val->len);
			ls_buf_addc(&t->line, '\'');
		}
		if (n->kind == FN_MATCH) {
			ls_buf_add(&t->line, ", pattern='", 11);
			ls_buf_add_escaped(&t->line, n->pattern, strlen(n->pattern));
			ls_buf_addc(&t->line, '\'');
		}
		ls_buf_addf(&t->line, ", location='%s:%d:%d'", n->file, n->line, n->col);
	}
	trace_line_end(t);
}

bool ls_fnode_eval(const struct fnode *n, struct ls_msg *m, struct ls_trace *t)
{
	bool raw = false;
	bool tr = t && t->active;
	bool explain = tr && t->mode == LS_TRACE_EXPLAIN;
	struct ls_buf val = {0};
	struct ls_buf *vp = explain ? &val : NULL;
	switch (n->kind) {
	case FN_AND:
		raw = ls_fnode_eval(n->l, m, t) && ls_fnode_eval(n->r, m, t);
		vp = NULL;
		break;
	case FN_OR:
		raw = ls_fnode_eval(n->l, m, t) || ls_fnode_eval(n->r, m, t);
		vp = NULL;
		break;
	case FN_FACILITY: {
		unsigned fac = ((unsigned)m->pri & 0x3f8) >> 3; /* LOG_FACMASK */
		if (n->fac_num >= 0)
			raw = (unsigned)n->fac_num == fac;
		else
			raw = (n->mask >> (fac & 31)) & 1; /* x86 shift, as 3.38's 1 << fac */
		if (vp)
			ls_buf_addf(vp, "%u", fac);
		break;
	}
	case FN_LEVEL:
		raw = (n->mask >> (m->pri & 7)) & 1;
		if (vp)
			ls_buf_addf(vp, "%d", m->pri & 7);
		break;
	case FN_MATCH:
		raw = eval_match(n, m, vp);
		break;
	case FN_SOURCE: {
		size_t len;
		const char *s = ls_msg_get(m, LS_SOURCE, &len);
		raw = strlen(n->name) == len && !memcmp(s, n->name, len);
		if (vp)
			ls_buf_add(vp, s, len);
		break;
	}
	case FN_NETMASK:
	case FN_NETMASK6:
		raw = eval_netmask(n, m, n->kind == FN_NETMASK6);
		if (vp) {
			char ip[64] = "127.0.0.1";
			if (m->saddr.ss_family == AF_INET || m->saddr.ss_family == AF_INET6)
				ls_addr_str(&m->saddr, ip, sizeof ip);
			ls_buf_add(vp, ip, strlen(ip));
		}
		break;
	case FN_INLIST:
		raw = eval_inlist(n, m, vp);
		break;
	case FN_TAGS:
		/* 3.38's filter_tags_eval: any of the names */
		raw = false;
		for (size_t i = 0; i < n->n_tagids && !raw; i++)
			raw = ls_msg_has_tag(m, n->tagids[i]);
		break;
	case FN_CALL:
		raw = n->target ? ls_fnode_eval(n->target->root, m, t) : false;
		if (n->target) {
			n->target->evaluated++;
			n->target->matched += raw;
		}
		vp = NULL;
		break;
	case FN_CMP:
		raw = eval_cmp(n, m, vp);
		break;
	}
	bool res = raw ^ n->comp;
	if (tr)
		trace_node(t, n, res, raw, vp);
	ls_buf_free(&val);
	return res;
}

bool ls_filter_eval(const struct ls_filter *f, struct ls_msg *m, struct ls_trace *t)
{
	bool tr = t && t->active;
	if (tr) {
		t->line.len = 0;
		ls_buf_add(&t->line, "Filter rule evaluation begins; filter_rule='", 44);
		ls_buf_add_escaped(&t->line, f->name, strlen(f->name));
		ls_buf_addc(&t->line, '\'');
		if (t->mode == LS_TRACE_EXPLAIN)
			ls_buf_addf(&t->line, ", location='%s:%d:%d'", f->file, f->line, f->col);
		trace_line_end(t);
	}
	bool r = ls_fnode_eval(f->root, m, t);
	((struct ls_filter *)f)->evaluated++;
	if (r)
		((struct ls_filter *)f)->matched++;
	if (tr) {
		t->line.len = 0;
		ls_buf_addf(&t->line,
			    "Filter rule evaluation result; filter_result='%s', filter_rule='",
			    r ? "match" : "not-match");
		ls_buf_add_escaped(&t->line, f->name, strlen(f->name));
		ls_buf_addc(&t->line, '\'');
		trace_line_end(t);
	}
	return r;
}

void ls_trace_incoming(struct ls_trace *t, const char *data, size_t len)
{
	if (!t || !t->active)
		return;
	const char *nul = memchr(data, 0, len);
	if (nul)
		len = (size_t)(nul - data);
	if (len > 1023)
		len = 1023;
	t->line.len = 0;
	ls_buf_add(&t->line, "Incoming log entry; line='", 26);
	ls_buf_add_escaped(&t->line, data, len);
	ls_buf_addc(&t->line, '\'');
	trace_line_end(t);
}
