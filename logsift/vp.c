/*
 * vp.c: value-pairs and $(format-json), as syslog-ng 3.38's
 * lib/value-pairs/ (value-pairs.c, cmdline.c, transforms.c) and
 * modules/json/format-json.c. A value-pairs set is chosen at start-up from
 * a command line (--scope, --key, --exclude, --pair, --rekey with
 * --add-prefix/--replace-prefix/--shift/--shift-levels, ...); per message
 * the chosen name-value pairs and macros are collected, renamed, sorted as
 * 3.38 sorts them (descending strcmp: the walker's tree order) and written
 * as one JSON object, dotted names nested as 3.38's walker nests them.
 *
 * 3.38 with "@version: 3.x" casts every value to a string (cast_to_strings)
 * except --pair templates with an explicit type hint (int(), int64(),
 * double(), boolean(), literal()/json(), list(), null(), datetime(),
 * string()); a hint that does not fit the value is on-error's business,
 * 3.38's default drop-message: the whole $(format-json) expands to nothing.
 *
 * Divisions: sets and globs, transforms, the command line, collecting,
 * the walker and the JSON writer.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_int.h"

enum vp_scope {
	VPS_NV_PAIRS = 0x01,
	VPS_DOT_NV_PAIRS = 0x02,
	VPS_RFC3164 = 0x04,
	VPS_RFC5424 = 0x08,
	VPS_ALL_MACROS = 0x10,
	VPS_SELECTED_MACROS = 0x20,
	VPS_SDATA = 0x40,
	VPS_EVERYTHING = 0x7f,
};

/* LogMessageValueType, as far as format-json tells them apart */
enum vp_type {
	VT_NONE,
	VT_STRING,
	VT_JSON,
	VT_BOOLEAN,
	VT_INT32,
	VT_INT64,
	VT_DOUBLE,
	VT_DATETIME,
	VT_LIST,
	VT_NULL,
};

enum vp_trans_kind { TR_ADD_PREFIX, TR_SHIFT, TR_SHIFT_LEVELS, TR_REPLACE_PREFIX };

struct vp_trans {
	enum vp_trans_kind kind;
	char *a, *b; /* prefix; old and new prefix */
	int amount;  /* shift, shift-levels */
};

/* --rekey GLOB and the transforms that follow it (a ValuePairsTransformSet) */
struct vp_tset {
	char *glob;
	struct vp_trans *t;
	size_t n;
};

struct vp_pattern {
	char *glob;
	bool include;
};

struct vp_pair {
	char *name;
	struct ls_tmpl *tmpl;
	enum vp_type hint; /* VT_NONE: no explicit hint (a string in 3.x) */
};

struct ls_vp {
	const struct ls_vp_host *h; /* msg.c's template engine and names */
	unsigned scopes;
	struct vp_pattern *pat;
	size_t n_pat;
	struct vp_pair *pairs;
	size_t n_pairs;
	struct vp_tset *sets;
	size_t n_sets;
	const char **builtin; /* macro names, in 3.38's merge order */
	struct ls_tmpl **builtin_t;
	size_t n_builtin;
	bool omit_empty;
	char key_delim;
	bool flat; /* $(format-flat-json): every pair at the top level, names as they are */
};

/* ------------------------------------------------------ sets and globs */

static const char *const rfc3164_set[] = {"FACILITY", "PRIORITY", "HOST", "PROGRAM",
					  "PID",      "MESSAGE",  "DATE", NULL};
static const char *const rfc5424_set[] = {"MSGID", NULL};
static const char *const selected_set[] = {"TAGS", "SOURCEIP", "SEQNUM", NULL};
/* lib/template/macros.c's table, 3.38.1: what all-macros and a --key glob reach */
static const char *const all_macros[] = {"FACILITY",
					 "FACILITY_NUM",
					 "SEVERITY",
					 "SEVERITY_NUM",
					 "PRIORITY",
					 "LEVEL",
					 "LEVEL_NUM",
					 "TAG",
					 "TAGS",
					 "BSDTAG",
					 "PRI",
					 "DATE",
					 "FULLDATE",
					 "ISODATE",
					 "STAMP",
					 "YEAR",
					 "YEAR_DAY",
					 "MONTH",
					 "MONTH_WEEK",
					 "MONTH_ABBREV",
					 "MONTH_NAME",
					 "DAY",
					 "HOUR",
					 "HOUR12",
					 "MIN",
					 "SEC",
					 "USEC",
					 "MSEC",
					 "AMPM",
					 "WEEKDAY",
					 "WEEK_DAY",
					 "WEEK_DAY_ABBREV",
					 "WEEK_DAY_NAME",
					 "WEEK",
					 "ISOWEEK",
					 "TZOFFSET",
					 "TZ",
					 "SYSUPTIME",
					 "UNIXTIME",
					 "R_DATE",
					 "R_FULLDATE",
					 "R_ISODATE",
					 "R_STAMP",
					 "R_YEAR",
					 "R_YEAR_DAY",
					 "R_MONTH",
					 "R_MONTH_WEEK",
					 "R_MONTH_ABBREV",
					 "R_MONTH_NAME",
					 "R_DAY",
					 "R_HOUR",
					 "R_HOUR12",
					 "R_MIN",
					 "R_SEC",
					 "R_MSEC",
					 "R_USEC",
					 "R_AMPM",
					 "R_WEEKDAY",
					 "R_WEEK_DAY",
					 "R_WEEK_DAY_ABBREV",
					 "R_WEEK_DAY_NAME",
					 "R_WEEK",
					 "R_ISOWEEK",
					 "R_TZOFFSET",
					 "R_TZ",
					 "R_UNIXTIME",
					 "S_DATE",
					 "S_FULLDATE",
					 "S_ISODATE",
					 "S_STAMP",
					 "S_YEAR",
					 "S_YEAR_DAY",
					 "S_MONTH",
					 "S_MONTH_WEEK",
					 "S_MONTH_ABBREV",
					 "S_MONTH_NAME",
					 "S_DAY",
					 "S_HOUR",
					 "S_HOUR12",
					 "S_MIN",
					 "S_SEC",
					 "S_MSEC",
					 "S_USEC",
					 "S_AMPM",
					 "S_WEEKDAY",
					 "S_WEEK_DAY",
					 "S_WEEK_DAY_ABBREV",
					 "S_WEEK_DAY_NAME",
					 "S_WEEK",
					 "S_ISOWEEK",
					 "S_TZOFFSET",
					 "S_TZ",
					 "S_UNIXTIME",
					 "C_DATE",
					 "C_FULLDATE",
					 "C_ISODATE",
					 "C_STAMP",
					 "C_YEAR",
					 "C_YEAR_DAY",
					 "C_MONTH",
					 "C_MONTH_WEEK",
					 "C_MONTH_ABBREV",
					 "C_MONTH_NAME",
					 "C_DAY",
					 "C_HOUR",
					 "C_HOUR12",
					 "C_MIN",
					 "C_SEC",
					 "C_MSEC",
					 "C_USEC",
					 "C_AMPM",
					 "C_WEEKDAY",
					 "C_WEEK_DAY",
					 "C_WEEK_DAY_ABBREV",
					 "C_WEEK_DAY_NAME",
					 "C_WEEK",
					 "C_ISOWEEK",
					 "C_TZOFFSET",
					 "C_TZ",
					 "C_UNIXTIME",
					 "P_DATE",
					 "P_FULLDATE",
					 "P_ISODATE",
					 "P_STAMP",
					 "P_YEAR",
					 "P_YEAR_DAY",
					 "P_MONTH",
					 "P_MONTH_WEEK",
					 "P_MONTH_ABBREV",
					 "P_MONTH_NAME",
					 "P_DAY",
					 "P_HOUR",
					 "P_HOUR12",
					 "P_MIN",
					 "P_SEC",
					 "P_MSEC",
					 "P_USEC",
					 "P_AMPM",
					 "P_WEEKDAY",
					 "P_WEEK_DAY",
					 "P_WEEK_DAY_ABBREV",
					 "P_WEEK_DAY_NAME",
					 "P_WEEK",
					 "P_ISOWEEK",
					 "P_TZOFFSET",
					 "P_TZ",
					 "P_UNIXTIME",
					 "SDATA",
					 "MSGHDR",
					 "SOURCEIP",
					 "DESTIP",
					 "DESTPORT",
					 "PROTO",
					 "SEQNUM",
					 "CONTEXT_ID",
					 "_",
					 "RCPTID",
					 "RUNID",
					 "HOSTID",
					 "UNIQID",
					 "MSG",
					 "MESSAGE",
					 "HOST",
					 "LOGHOST",
					 NULL};

static const struct {
	const char *name;
	unsigned bits;
} scope_names[] = {
    {"nv-pairs", VPS_NV_PAIRS},
    {"dot-nv-pairs", VPS_DOT_NV_PAIRS},
    {"all-nv-pairs", VPS_NV_PAIRS | VPS_DOT_NV_PAIRS},
    {"rfc3164", VPS_RFC3164},
    {"core", VPS_RFC3164},
    {"base", VPS_RFC3164},
    {"rfc5424", VPS_RFC5424},
    {"syslog-proto", VPS_RFC5424},
    {"all-macros", VPS_ALL_MACROS},
    {"selected-macros", VPS_SELECTED_MACROS},
    {"sdata", VPS_SDATA},
    {"everything", VPS_EVERYTHING},
};

/* One UTF-8 character's length at s (1 for a stray byte), as g_utf8_next_char. */
static size_t utf8_len(const unsigned char *s)
{
	static const unsigned char skip[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
	size_t n = skip[s[0] >> 4];
	for (size_t i = 1; i < n; i++)
		if (!s[i])
			return i;
	return n;
}

/* GPatternSpec's match: '*' any run, '?' one character, no escapes. */
static bool glob_match(const char *g, const char *s)
{
	while (*g) {
		if (*g == '*') {
			while (*g == '*')
				g++;
			if (!*g)
				return true;
			for (; *s; s += utf8_len((const unsigned char *)s))
				if (glob_match(g, s))
					return true;
			return false;
		}
		if (!*s)
			return false;
		if (*g == '?') {
			g++;
			s += utf8_len((const unsigned char *)s);
			continue;
		}
		if (*g != *s)
			return false;
		g++;
		s++;
	}
	return !*s;
}

/* vp_find_in_set: start from dflt, the last matching pattern decides */
static bool vp_included(const struct ls_vp *vp, const char *name, bool dflt)
{
	bool inc = dflt;
	for (size_t j = 0; j < vp->n_pat; j++)
		if (glob_match(vp->pat[j].glob, name))
			inc = vp->pat[j].include;
	return inc;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		abort();
	return p;
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

/*
 * vp_update_builtin_list_of_values: the macros this set formats, in 3.38's
 * order. Each gets a "${NAME}" template; a macro logsift lacks is an error
 * at start-up (the name in err), never an empty value.
 */
static int vp_merge(struct ls_vp *vp, const char *const *set, bool dflt, char *err, size_t errlen)
{
	for (size_t i = 0; set[i]; i++) {
		if (!vp_included(vp, set[i], dflt))
			continue;
		if (!vp->h->macro_known(set[i])) {
			snprintf(err, errlen,
				 "$(format-json): macro %s is not supported by logsift", set[i]);
			return -1;
		}
		char text[64];
		snprintf(text, sizeof text, "${%s}", set[i]);
		struct ls_tmpl *t = vp->h->tmpl_new(text, NULL);
		if (!t)
			abort();
		vp->builtin = xrealloc(vp->builtin, (vp->n_builtin + 1) * sizeof *vp->builtin);
		vp->builtin_t =
		    xrealloc(vp->builtin_t, (vp->n_builtin + 1) * sizeof *vp->builtin_t);
		vp->builtin[vp->n_builtin] = set[i];
		vp->builtin_t[vp->n_builtin++] = t;
	}
	return 0;
}

static int vp_builtins(struct ls_vp *vp, char *err, size_t errlen)
{
	if (vp->n_pat && vp_merge(vp, all_macros, false, err, errlen) < 0)
		return -1;
	if ((vp->scopes & (VPS_RFC3164 | VPS_RFC5424 | VPS_SELECTED_MACROS)) &&
	    vp_merge(vp, rfc3164_set, true, err, errlen) < 0)
		return -1;
	if ((vp->scopes & VPS_RFC5424) && vp_merge(vp, rfc5424_set, true, err, errlen) < 0)
		return -1;
	if ((vp->scopes & VPS_SELECTED_MACROS) && vp_merge(vp, selected_set, true, err, errlen) < 0)
		return -1;
	if ((vp->scopes & VPS_ALL_MACROS) && vp_merge(vp, all_macros, true, err, errlen) < 0)
		return -1;
	return 0;
}

/* ------------------------------------------------------------ transforms */

static void trans_apply(const struct vp_trans *t, struct ls_buf *key)
{
	switch (t->kind) {
	case TR_ADD_PREFIX: {
		size_t n = strlen(t->a);
		ls_buf_add(key, t->a, n); /* room */
		memmove(key->p + n, key->p, key->len - n);
		memcpy(key->p, t->a, n);
		break;
	}
	case TR_SHIFT:
		/* g_string_erase refuses (and keeps the key) past its end */
		if ((size_t)t->amount <= key->len) {
			memmove(key->p, key->p + t->amount, key->len - (size_t)t->amount);
			key->len -= (size_t)t->amount;
		}
		break;
	case TR_SHIFT_LEVELS: {
		const char *dot = memchr(key->p, '.', key->len);
		int left = t->amount - 1;
		while (dot && left > 0) {
			dot = memchr(dot + 1, '.', key->len - (size_t)(dot + 1 - key->p));
			left--;
		}
		if (dot) {
			size_t cut = (size_t)(dot + 1 - key->p);
			memmove(key->p, key->p + cut, key->len - cut);
			key->len -= cut;
		}
		break;
	}
	case TR_REPLACE_PREFIX: {
		size_t on = strlen(t->a), nn = strlen(t->b);
		if (key->len < on || memcmp(key->p, t->a, on))
			break;
		struct ls_buf k = {0};
		ls_buf_add(&k, t->b, nn);
		ls_buf_add(&k, key->p + on, key->len - on);
		key->len = 0;
		ls_buf_add(key, k.p, k.len);
		ls_buf_free(&k);
		break;
	}
	}
	ls_buf_addc(key, 0);
	key->len--;
}

/* vp_transform_apply: every set whose glob matches the key as it is by then */
static void vp_rename(const struct ls_vp *vp, const char *name, struct ls_buf *key)
{
	key->len = 0;
	ls_buf_add(key, name, strlen(name));
	ls_buf_addc(key, 0);
	key->len--;
	for (size_t i = 0; i < vp->n_sets; i++) {
		if (!glob_match(vp->sets[i].glob, key->p))
			continue;
		for (size_t k = 0; k < vp->sets[i].n; k++)
			trans_apply(&vp->sets[i].t[k], key);
	}
}

/* ------------------------------------------------------ the command line */

static struct vp_tset *tset_new(struct ls_vp *vp, const char *glob)
{
	vp->sets = xrealloc(vp->sets, (vp->n_sets + 1) * sizeof *vp->sets);
	struct vp_tset *s = &vp->sets[vp->n_sets++];
	s->glob = xstrdup(glob);
	s->t = NULL;
	s->n = 0;
	return s;
}

static void tset_add(struct vp_tset *s, struct vp_trans t)
{
	s->t = xrealloc(s->t, (s->n + 1) * sizeof *s->t);
	s->t[s->n++] = t;
}

/* cmdline.c's rekey state: the key given last and the set made for it */
struct rekey {
	char *key;
	ptrdiff_t set_i; /* index of its set in vp->sets, -1: none yet */
};

static void rekey_finish(struct rekey *r)
{
	free(r->key);
	r->key = NULL;
	r->set_i = -1;
}

static void rekey_start(struct rekey *r, const char *key)
{
	rekey_finish(r);
	r->key = xstrdup(key);
}

/* vp_cmdline_rekey_verify: the current set, made from the last key */
static struct vp_tset *rekey_set(struct ls_vp *vp, struct rekey *r)
{
	if (r->set_i >= 0)
		return &vp->sets[r->set_i];
	if (!r->key)
		return NULL;
	char *key = r->key;
	r->key = NULL;
	tset_new(vp, key);
	free(key);
	r->set_i = (ptrdiff_t)vp->n_sets - 1;
	return &vp->sets[r->set_i];
}

static void add_pattern(struct ls_vp *vp, const char *glob, bool include)
{
	vp->pat = xrealloc(vp->pat, (vp->n_pat + 1) * sizeof *vp->pat);
	vp->pat[vp->n_pat].glob = xstrdup(glob);
	vp->pat[vp->n_pat++].include = include;
}

/* g_strsplit(value, ",", -1) applied to each piece */
static void add_patterns(struct ls_vp *vp, const char *list, bool include)
{
	char *dup = xstrdup(list), *p = dup;
	for (;;) {
		char *c = strchr(p, ',');
		if (c)
			*c = 0;
		add_pattern(vp, p, include);
		if (!c)
			break;
		p = c + 1;
	}
	free(dup);
}

static const struct {
	const char *name;
	enum vp_type t;
} type_names[] = {
    {"string", VT_STRING}, {"json", VT_JSON},	      {"literal", VT_JSON}, {"boolean", VT_BOOLEAN},
    {"int32", VT_INT32},   {"int", VT_INT32},	      {"int64", VT_INT64},  {"double", VT_DOUBLE},
    {"float", VT_DOUBLE},  {"datetime", VT_DATETIME}, {"list", VT_LIST},    {"null", VT_NULL},
};

/*
 * --pair NAME=TEMPLATE, the template with an optional type hint as 3.38's
 * _split_type_and_template: "word(...)" with the ')' last.
 */
static int add_pair(struct ls_vp *vp, const char *value, struct ok_err *e, char *err, size_t errlen)
{
	const char *eq = strchr(value, '=');
	if (!eq) {
		snprintf(err, errlen,
			 "Error parsing value-pairs: expected an equal sign in key=value pair");
		return -1;
	}
	char *name = strndup(value, (size_t)(eq - value));
	char *spec = xstrdup(eq + 1), *text = spec, *hint = NULL;
	if (!name)
		abort();
	char *sp = spec;
	while (isalnum((unsigned char)*sp) || *sp == '_')
		sp++;
	while (*sp == ' ' || *sp == '\t')
		sp++;
	if (*sp == '(' && (isalpha((unsigned char)spec[0]) || spec[0] == '_')) {
		char *ep = strrchr(sp, ')');
		if (ep && !ep[1]) {
			text = sp + 1;
			hint = spec;
			*ep = 0;
			*sp = 0;
			/* the hint word ends at the first blank too */
			hint[strcspn(hint, " \t")] = 0;
		}
	}
	enum vp_type t = VT_NONE;
	if (hint) {
		bool found = false;
		for (size_t i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
			if (!strcmp(hint, type_names[i].name)) {
				t = type_names[i].t;
				found = true;
			}
		if (!found) { /* "none" too: type_hint_parse refuses LM_VT_NONE */
			snprintf(err, errlen, "Unknown type specified in type hinting: %s", hint);
			free(name);
			free(spec);
			return -1;
		}
	}
	struct ls_tmpl *tm = vp->h->tmpl_new(text, e);
	free(spec);
	if (!tm) {
		free(name);
		err[0] = 0;
		return -1;
	}
	vp->pairs = xrealloc(vp->pairs, (vp->n_pairs + 1) * sizeof *vp->pairs);
	vp->pairs[vp->n_pairs++] = (struct vp_pair){name, tm, t};
	return 0;
}

enum vp_opt {
	O_SCOPE,
	O_EXCLUDE,
	O_KEY,
	O_REKEY,
	O_PAIR,
	O_SHIFT,
	O_SHIFT_LEVELS,
	O_ADD_PREFIX,
	O_REPLACE_PREFIX,
	O_REPLACE,
	O_SUBKEYS,
	O_OMIT_EMPTY,
	O_CAST,
	O_NO_CAST,
	O_AUTO_CAST,
	O_LEAVE_DOT,
	O_KEY_DELIM,
};

static const struct {
	const char *name;
	char short_name;
	bool takes;
} vp_opts[] = {
    [O_SCOPE] = {"scope", 's', true},
    [O_EXCLUDE] = {"exclude", 'x', true},
    [O_KEY] = {"key", 'k', true},
    [O_REKEY] = {"rekey", 'r', true},
    [O_PAIR] = {"pair", 'p', true},
    [O_SHIFT] = {"shift", 'S', true},
    [O_SHIFT_LEVELS] = {"shift-levels", 0, true},
    [O_ADD_PREFIX] = {"add-prefix", 'A', true},
    [O_REPLACE_PREFIX] = {"replace-prefix", 'R', true},
    [O_REPLACE] = {"replace", 0, true},
    [O_SUBKEYS] = {"subkeys", 0, true},
    [O_OMIT_EMPTY] = {"omit-empty-values", 0, false},
    [O_CAST] = {"cast", 0, false},
    [O_NO_CAST] = {"no-cast", 0, false},
    [O_AUTO_CAST] = {"auto-cast", 0, false},
    [O_LEAVE_DOT] = {"leave-initial-dot", 0, false},
    [O_KEY_DELIM] = {"key-delimiter", 0, true},
};

/* Which option argv[i] is (GOption's reading): its index, -1 positional, -2 unknown. */
static int vp_opt_match(const char *a, const char **val)
{
	*val = NULL;
	if (a[0] != '-' || !a[1])
		return -1;
	for (int k = 0; k < (int)(sizeof vp_opts / sizeof vp_opts[0]); k++) {
		if (a[1] == '-') {
			size_t n = strlen(vp_opts[k].name);
			if (!strncmp(a + 2, vp_opts[k].name, n) && (!a[2 + n] || a[2 + n] == '=')) {
				if (a[2 + n] == '=')
					*val = a + 3 + n;
				return k;
			}
		} else if (vp_opts[k].short_name && a[1] == vp_opts[k].short_name && !a[2]) {
			return k;
		}
	}
	return -2;
}

/* One option with its value: 0, or -1 with err filled (e for a template). */
static int vp_option(struct ls_vp *vp, struct rekey *r, int k, const char *v, bool *leave_dot,
		     struct ok_err *e, char *err, size_t errlen)
{
	struct vp_tset *s;
	char *end;
	long n;
	switch ((enum vp_opt)k) {
	case O_SCOPE: {
		rekey_finish(r);
		char *dup = xstrdup(v), *p = dup;
		for (;;) {
			char *c = strchr(p, ',');
			if (c)
				*c = 0;
			bool found = !strcmp(p, "none");
			if (found)
				vp->scopes = 0;
			for (size_t i = 0; i < sizeof scope_names / sizeof scope_names[0]; i++)
				if (!strcmp(p, scope_names[i].name)) {
					vp->scopes |= scope_names[i].bits;
					found = true;
				}
			if (!found) {
				snprintf(err, errlen, "Error parsing value-pairs: unknown scope %s",
					 p);
				free(dup);
				return -1;
			}
			if (!c)
				break;
			p = c + 1;
		}
		free(dup);
		return 0;
	}
	case O_EXCLUDE:
		rekey_finish(r);
		add_patterns(vp, v, false);
		return 0;
	case O_KEY:
		rekey_start(r, v);
		add_patterns(vp, v, true);
		return 0;
	case O_REKEY:
		rekey_start(r, v);
		return 0;
	case O_PAIR:
		rekey_finish(r);
		return add_pair(vp, v, e, err, errlen);
	case O_SHIFT:
	case O_SHIFT_LEVELS:
		errno = 0;
		n = strtol(v, &end, 0);
		if (n <= 0 || *end || n > 1 << 30) {
			snprintf(
			    err, errlen,
			    "Error parsing value-pairs, argument to --%s is not numeric or not a "
			    "positive number",
			    vp_opts[k].name);
			return -1;
		}
		s = rekey_set(vp, r);
		if (!s) {
			snprintf(err, errlen,
				 "Error parsing value-pairs: --%s used without --key or --rekey",
				 vp_opts[k].name);
			return -1;
		}
		tset_add(s, (struct vp_trans){k == O_SHIFT ? TR_SHIFT : TR_SHIFT_LEVELS, NULL, NULL,
					      (int)n});
		return 0;
	case O_ADD_PREFIX:
		s = rekey_set(vp, r);
		if (!s) {
			snprintf(err, errlen,
				 "Error parsing value-pairs: --add-prefix used without --key or "
				 "--rekey");
			return -1;
		}
		tset_add(s, (struct vp_trans){TR_ADD_PREFIX, xstrdup(v), NULL, 0});
		return 0;
	case O_REPLACE_PREFIX:
	case O_REPLACE: {
		s = rekey_set(vp, r);
		if (!s) {
			snprintf(
			    err, errlen,
			    "Error parsing value-pairs: --replace-prefix used without --key or "
			    "--rekey");
			return -1;
		}
		const char *eq = strchr(v, '=');
		if (!eq) {
			snprintf(
			    err, errlen,
			    "Error parsing value-pairs: rekey replace-prefix construct should be "
			    "in the format string=replacement");
			return -1;
		}
		char *old = strndup(v, (size_t)(eq - v));
		if (!old)
			abort();
		tset_add(s, (struct vp_trans){TR_REPLACE_PREFIX, old, xstrdup(eq + 1), 0});
		return 0;
	}
	case O_SUBKEYS: {
		if (!v[0]) {
			snprintf(
			    err, errlen,
			    "Error parsing value-pairs: --subkeys requires a non-empty argument");
			return -1;
		}
		char *g = xrealloc(NULL, strlen(v) + 2);
		strcpy(g, v);
		strcat(g, "*");
		add_pattern(vp, g, true);
		rekey_start(r, g);
		free(g);
		s = rekey_set(vp, r);
		tset_add(s, (struct vp_trans){TR_REPLACE_PREFIX, xstrdup(v), xstrdup(""), 0});
		return 0;
	}
	case O_OMIT_EMPTY:
		vp->omit_empty = true;
		return 0;
	case O_CAST:
		return 0; /* 3.x casts to strings anyway */
	case O_NO_CAST:
	case O_AUTO_CAST:
		/* typed values from parsers: logsift keeps strings only */
		snprintf(err, errlen, "$(format-json) --%s is not supported by logsift",
			 vp_opts[k].name);
		return -1;
	case O_LEAVE_DOT:
		*leave_dot = true;
		return 0;
	case O_KEY_DELIM:
		if (strlen(v) != 1) {
			snprintf(err, errlen,
				 "$(format-json) --key-delimiter only accepts a single character, "
				 "found: '%s'",
				 v);
			return -1;
		}
		vp->key_delim = v[0];
		return 0;
	}
	return 0;
}

struct ls_vp *ls_vp_prepare(int argc, char **argv, const struct ls_vp_host *host, struct ok_err *e,
			    char *err, size_t errlen)
{
	struct ls_vp *vp = calloc(1, sizeof *vp);
	if (!vp)
		abort();
	vp->h = host;
	vp->key_delim = '.';
	vp->flat = !strcmp(argv[0], "format-flat-json");
	struct rekey r = {NULL, -1};
	bool leave_dot = false, dashdash = false;
	err[0] = 0;
	for (int i = 1; i < argc; i++) {
		const char *v = NULL;
		int k = dashdash ? -1 : vp_opt_match(argv[i], &v);
		if (!dashdash && !strcmp(argv[i], "--")) {
			dashdash = true;
			continue;
		}
		if (k == -2) {
			snprintf(err, errlen, "Unknown option %s", argv[i]);
			goto fail;
		}
		if (k == -1) {
			/* G_OPTION_REMAINING: a pair when it has '=', else a key */
			int rc =
			    strchr(argv[i], '=')
				? vp_option(vp, &r, O_PAIR, argv[i], &leave_dot, e, err, errlen)
				: vp_option(vp, &r, O_KEY, argv[i], &leave_dot, e, err, errlen);
			if (rc < 0)
				goto fail;
			continue;
		}
		if (vp_opts[k].takes && !v) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "Missing argument for %s", argv[i]);
				goto fail;
			}
			v = argv[++i];
		}
		if (vp_option(vp, &r, k, v, &leave_dot, e, err, errlen) < 0)
			goto fail;
	}
	rekey_finish(&r);
	if (!leave_dot && vp->key_delim == '.') {
		/* a leading dot becomes '_' (".SDATA.x" -> "_SDATA.x") */
		struct vp_tset *s = tset_new(vp, ".*");
		tset_add(s, (struct vp_trans){TR_REPLACE_PREFIX, xstrdup("."), xstrdup("_"), 0});
	}
	if (vp_builtins(vp, err, errlen) < 0)
		goto fail;
	return vp;
fail:
	rekey_finish(&r);
	ls_vp_free(vp);
	return NULL;
}

void ls_vp_free(struct ls_vp *vp)
{
	if (!vp)
		return;
	for (size_t i = 0; i < vp->n_pat; i++)
		free(vp->pat[i].glob);
	free(vp->pat);
	for (size_t i = 0; i < vp->n_pairs; i++) {
		free(vp->pairs[i].name);
		vp->h->tmpl_free(vp->pairs[i].tmpl);
	}
	free(vp->pairs);
	for (size_t i = 0; i < vp->n_sets; i++) {
		for (size_t k = 0; k < vp->sets[i].n; k++) {
			free(vp->sets[i].t[k].a);
			free(vp->sets[i].t[k].b);
		}
		free(vp->sets[i].t);
		free(vp->sets[i].glob);
	}
	free(vp->sets);
	for (size_t i = 0; i < vp->n_builtin; i++)
		vp->h->tmpl_free(vp->builtin_t[i]);
	free(vp->builtin);
	free(vp->builtin_t);
	free(vp);
}

/* ------------------------------------------------------------ collecting */

struct vp_res {
	char *key;
	size_t val_off, val_len; /* in the collection's value buffer */
	enum vp_type type;
};

struct vp_coll {
	struct vp_res *r;
	size_t n, cap;
	struct ls_buf vals;
};

/* g_tree_insert: a key already there keeps its place and takes the new value */
static void coll_insert(struct vp_coll *c, const struct ls_buf *key, const char *v, size_t n,
			enum vp_type t)
{
	size_t off = c->vals.len;
	ls_buf_add(&c->vals, v, n);
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->r[i].key, key->p)) {
			c->r[i].val_off = off;
			c->r[i].val_len = n;
			c->r[i].type = t;
			return;
		}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->r = xrealloc(c->r, c->cap * sizeof *c->r);
	}
	c->r[c->n++] = (struct vp_res){xstrdup(key->p), off, n, t};
}

static int res_cmp(const void *a, const void *b)
{
	/* vp_walk_cmp: strcmp(s2, s1), the tree walked in that order */
	return strcmp(((const struct vp_res *)b)->key, ((const struct vp_res *)a)->key);
}

/* ------------------------------------------------ the walker, the writer */

/*
 * lib/utf8utils.c's escapers: \b \f \n \r \t \\, a byte of unsafe as
 * backslash + byte, other controls \u00XX (text) or \xXX (binary), bytes
 * that are not valid UTF-8 (glib's validation: no overlong forms,
 * surrogates, NUL or code points past U+10FFFF) "\\xXX" (text: the
 * backslash doubled, as 3.38 writes it) or \xXX (binary).
 */
void ls_utf8_escape(struct ls_buf *out, const char *s, size_t n, const char *unsafe, bool binary)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + n;
	const char *ctl = binary ? "\\x%02x" : "\\u%04x";
	const char *bad = binary ? "\\x%02x" : "\\\\x%02x";
	while (p < end) {
		unsigned c = *p;
		if (c >= 0x20 && c < 0x80 && c != '\\' && !(unsafe && strchr(unsafe, (int)c))) {
			const unsigned char *q = p;
			while (q < end && *q >= 0x20 && *q < 0x80 && *q != '\\' &&
			       !(unsafe && strchr(unsafe, *q)))
				q++;
			ls_buf_add(out, p, (size_t)(q - p));
			p = q;
			continue;
		}
		if (c < 0x80) {
			static const char named[] = "\b\f\n\r\t\\", letter[] = "bfnrt\\";
			const char *k = c ? strchr(named, (int)c) : NULL;
			if (!c) {
				ls_buf_addf(out, bad, c); /* glib: U+0000 is not valid */
			} else if (k) {
				ls_buf_addc(out, '\\');
				ls_buf_addc(out, letter[k - named]);
			} else if (c < 0x20) {
				ls_buf_addf(out, ctl, c);
			} else {
				ls_buf_addc(out, '\\');
				ls_buf_addc(out, (char)c);
			}
			p++;
			continue;
		}
		/* g_utf8_get_char_extended + UNICODE_VALID */
		int len = c >= 0xfc   ? 6
			  : c >= 0xf8 ? 5
			  : c >= 0xf0 ? 4
			  : c >= 0xe0 ? 3
			  : c >= 0xc0 ? 2
				      : 0;
		unsigned long u = len ? c & (0x7fu >> len) : 0;
		static const unsigned long min_code[7] = {0,	   0,	     0x80,     0x800,
							  0x10000, 0x200000, 0x4000000};
		bool ok = len > 0 && (size_t)(end - p) >= (size_t)len;
		for (int i = 1; ok && i < len; i++) {
			if ((p[i] & 0xc0) != 0x80)
				ok = false;
			else
				u = u << 6 | (p[i] & 0x3f);
		}
		if (ok && (u < min_code[len] || u >= 0x110000 || (u >= 0xd800 && u <= 0xdfff)))
			ok = false;
		if (!ok) {
			ls_buf_addf(out, bad, c);
			p++;
			continue;
		}
		ls_buf_add(out, p, (size_t)len);
		p += len;
	}
}

static void json_escape(struct ls_buf *out, const char *s, size_t n)
{
	ls_utf8_escape(out, s, n, "\"", false);
}

/* One frame of the walker's stack: the object's key and its dotted prefix. */
struct vp_frame {
	char *key;
	char *prefix;
	size_t prefix_len;
};

struct vp_walk {
	struct vp_frame *st;
	size_t depth, cap;
	char delim;
	bool need_comma;
	struct ls_buf *out;
	char **tok; /* the current name's tokens */
	size_t n_tok, cap_tok;
	int on_error;	       /* on-error(): enum ls_on_error */
	struct ls_runtime *rt; /* "Casting error" lines, or NULL */
};

static void walk_obj_end(struct vp_walk *w)
{
	ls_buf_addc(w->out, '}');
	w->need_comma = true;
}

/* vp_walker_stack_unwind_containers_until: close objects name is not in */
static void walk_unwind(struct vp_walk *w, const char *name)
{
	while (w->depth) {
		struct vp_frame *t = &w->st[w->depth - 1];
		if (name && !strncmp(name, t->prefix, t->prefix_len))
			break;
		walk_obj_end(w);
		free(t->key);
		free(t->prefix);
		w->depth--;
	}
}

static void tok_add(struct vp_walk *w, const char *s, size_t n)
{
	if (w->n_tok == w->cap_tok) {
		w->cap_tok = w->cap_tok ? 2 * w->cap_tok : 16;
		w->tok = xrealloc(w->tok, w->cap_tok * sizeof *w->tok);
	}
	w->tok[w->n_tok] = strndup(s, n);
	if (!w->tok[w->n_tok])
		abort();
	w->n_tok++;
}

/* vp_walker_skip_sdata_enterprise_id: "@1234.56.678" stays in its token */
static const char *skip_enterprise_id(const char *name)
{
	do {
		++name;
		name += strspn(name, "0123456789");
	} while (*name == '.' && isdigit((unsigned char)name[1]));
	return name;
}

/* vp_walker_split_name_to_tokens */
static void walk_split(struct vp_walk *w, const char *name)
{
	const char *ts = name, *te = name;
	w->n_tok = 0;
	if (w->delim == '.') {
		while (*te) {
			if (*te == '@') {
				te = skip_enterprise_id(te);
			} else if (*te == '.' && ts != te) {
				tok_add(w, ts, (size_t)(te - ts));
				ts = ++te;
			} else {
				te++;
				te += strcspn(te, "@.");
			}
		}
	} else {
		while (*te) {
			if (*te == w->delim && ts != te) {
				tok_add(w, ts, (size_t)(te - ts));
				ts = ++te;
			} else {
				const char *sep = strchr(te + 1, w->delim);
				te = sep ? sep : te + strlen(te);
			}
		}
	}
	if (ts != te)
		tok_add(w, ts, (size_t)(te - ts));
}

static void walk_key(struct vp_walk *w, const char *key)
{
	if (w->need_comma)
		ls_buf_addc(w->out, ',');
	ls_buf_addc(w->out, '"');
	json_escape(w->out, key, strlen(key));
	ls_buf_addc(w->out, '"');
}

static void walk_quoted(struct vp_walk *w, const char *key, const char *v, size_t n)
{
	walk_key(w, key);
	ls_buf_add(w->out, ":\"", 2);
	json_escape(w->out, v, n);
	ls_buf_addc(w->out, '"');
}

static void walk_bare(struct vp_walk *w, const char *key, const char *v, size_t n)
{
	walk_key(w, key);
	ls_buf_addc(w->out, ':');
	json_escape(w->out, v, n);
}

/*
 * One element of a list from s, as 3.38's str_repr_decode with ","
 * as delimiter: unquoted up to ',', or '...'/"..." with \b \f \n \r
 * \t \\ and \quote read (another \x kept as it is). A broken element
 * (open quote, junk after the closing one) is the raw text up to where
 * the decoder stopped, the ',' included. Returns where the next one starts.
 */
const char *ls_list_elem(const char *s, struct ls_buf *v)
{
	enum { INIT, QSTR, QBS, EXPECT, QERR, UNQ, OK, FAIL } st = INIT;
	const char *cur = s;
	char q = 0;
	v->len = 0;
	for (; *cur; cur++) {
		char c = *cur;
		switch (st) {
		case INIT:
			if (c == ',') {
				st = OK;
			} else if (c == '"' || c == '\'') {
				q = c;
				st = QSTR;
			} else {
				ls_buf_addc(v, c);
				st = UNQ;
			}
			break;
		case QSTR:
			if (c == q)
				st = EXPECT;
			else if (c == '\\')
				st = QBS;
			else
				ls_buf_addc(v, c);
			break;
		case QBS: {
			static const char from[] = "bfnrt\\", to[] = "\b\f\n\r\t\\";
			const char *k = strchr(from, c);
			if (k && c) {
				ls_buf_addc(v, to[k - from]);
			} else {
				if (c != q)
					ls_buf_addc(v, '\\');
				ls_buf_addc(v, c);
			}
			st = QSTR;
			break;
		}
		case EXPECT:
			st = c == ',' ? OK : QERR;
			break;
		case QERR:
			if (c == ',')
				st = FAIL;
			break;
		case UNQ:
			if (c == ',')
				st = OK;
			else
				ls_buf_addc(v, c);
			break;
		default:
			break;
		}
		if (st == OK || st == FAIL) {
			cur++;
			break;
		}
	}
	if (!(st == INIT || st == EXPECT || st == UNQ || st == OK)) {
		v->len = 0;
		ls_buf_add(v, s, (size_t)(cur - s));
	}
	return cur;
}

void ls_str_repr_encode(struct ls_buf *out, const char *s, size_t n, const char *forbidden)
{
	if (!n) {
		ls_buf_add(out, "\"\"", 2);
		return;
	}
	bool apos = memchr(s, '\'', n) != NULL, quote = memchr(s, '"', n) != NULL;
	/* strcspn, as 3.38's: s must be NUL-ended at or after n */
	if (!apos && !quote && strcspn(s, "\b\f\n\r\t\\ ") >= n &&
	    (!forbidden || strcspn(s, forbidden) >= n)) {
		ls_buf_add(out, s, n);
		return;
	}
	char q = !apos && quote ? '\'' : '"';
	ls_buf_addc(out, q);
	ls_utf8_escape(out, s, n, apos && quote ? "\"" : NULL, true);
	ls_buf_addc(out, q);
}

/* tf_json_append_list: the list scanner's elements (empty ones skipped) as strings */
static void walk_list(struct vp_walk *w, const char *key, const char *v)
{
	walk_key(w, key);
	ls_buf_add(w->out, ":[", 2);
	struct ls_buf e = {0};
	bool first = true;
	while (*v) {
		if (*v == ',') {
			v++;
			continue;
		}
		v = ls_list_elem(v, &e);
		if (!first)
			ls_buf_addc(w->out, ',');
		first = false;
		ls_buf_addc(w->out, '"');
		/* escaped up to a NUL, as 3.38 passes the element's str */
		json_escape(w->out, e.p ? e.p : "", e.p ? strnlen(e.p, e.len) : 0);
		ls_buf_addc(w->out, '"');
	}
	ls_buf_free(&e);
	ls_buf_addc(w->out, ']');
}

/*
 * A value its type hint does not fit, as on-error() says (3.38's
 * type_cast_drop_helper): fallback-to-string writes it as a string,
 * drop-property writes nothing (and, as 3.38's tf_json_value, still sets
 * need_comma: the next pair starts with ",,"), drop-message (the default)
 * returns false. silently- changes only 3.38's "Casting error" log line.
 */
static bool cast_failed(struct vp_walk *w, const char *key, enum vp_type t, const char *v, size_t n)
{
	if ((w->on_error & ~LS_ONERR_SILENT) != LS_ONERR_FALLBACK &&
	    !(w->on_error & LS_ONERR_SILENT) && w->rt) {
		/* type_cast_drop_helper's msg_error: the value up to its NUL */
		struct ls_buf line = {0};
		ls_buf_addf(&line, "Casting error; value='");
		ls_buf_add_escaped(&line, v, strnlen(v, n));
		ls_buf_addf(&line, "', type-hint='%s'",
			    t == VT_INT32    ? "int32"
			    : t == VT_INT64  ? "int64"
			    : t == VT_DOUBLE ? "double"
					     : "boolean");
		ls_rt_error(w->rt, line.p);
		ls_buf_free(&line);
	}
	switch (w->on_error & ~LS_ONERR_SILENT) {
	case LS_ONERR_FALLBACK:
		walk_quoted(w, key, v, n);
		break;
	case LS_ONERR_DROP_PROPERTY:
		break;
	default:
		return false;
	}
	w->need_comma = true;
	return true;
}

/* tf_json_append_with_type_hint: false when the message is to be dropped */
static bool walk_value(struct vp_walk *w, const char *key, enum vp_type t, const char *v, size_t n)
{
	char *end;
	switch (t) {
	case VT_JSON:
		walk_key(w, key);
		ls_buf_addc(w->out, ':');
		ls_buf_add(w->out, v, n);
		break;
	case VT_LIST:
		walk_list(w, key, v);
		break;
	case VT_INT32:
	case VT_INT64:
		/* strtol/strtoll to the end of the string, an empty one refused */
		errno = 0;
		(void)strtoll(v, &end, 10);
		if (!v[0] || *end)
			return cast_failed(w, key, t, v, n);
		walk_bare(w, key, v, n);
		break;
	case VT_DOUBLE: {
		errno = 0;
		double d = strtod(v, &end);
		if ((errno == ERANGE && (d >= HUGE_VAL || d <= -HUGE_VAL)) || end == v || *end)
			return cast_failed(w, key, t, v, n);
		walk_bare(w, key, v, n);
		break;
	}
	case VT_BOOLEAN:
		if (v[0] == 'T' || v[0] == 't' || v[0] == '1')
			walk_bare(w, key, "true", 4);
		else if (v[0] == 'F' || v[0] == 'f' || v[0] == '0')
			walk_bare(w, key, "false", 5);
		else
			return cast_failed(w, key, t, v, n);
		break;
	case VT_NULL:
		walk_bare(w, key, "null", 4);
		break;
	default:
		walk_quoted(w, key, v, n);
	}
	w->need_comma = true;
	return true;
}

/* value_pairs_walker: close, open, then the value under the innermost object */
static bool walk_one(struct vp_walk *w, const char *name, enum vp_type t, const char *v, size_t n)
{
	walk_unwind(w, name);
	walk_split(w, name);
	if (!w->n_tok)
		return walk_value(w, "", t, v,
				  n); /* 3.38 would crash here; names are never empty */
	for (size_t i = w->depth; i + 1 < w->n_tok; i++) {
		struct ls_buf pre = {0};
		for (size_t k = 0; k < i; k++) {
			ls_buf_add(&pre, w->tok[k], strlen(w->tok[k]));
			ls_buf_addc(&pre, '.');
		}
		ls_buf_add(&pre, w->tok[i], strlen(w->tok[i]));
		ls_buf_addc(&pre, 0);
		if (w->depth == w->cap) {
			w->cap = w->cap ? 2 * w->cap : 8;
			w->st = xrealloc(w->st, w->cap * sizeof *w->st);
		}
		w->st[w->depth++] = (struct vp_frame){xstrdup(w->tok[i]), pre.p, pre.len - 1};
		/* tf_json_obj_start */
		if (w->need_comma)
			ls_buf_addc(w->out, ',');
		ls_buf_addc(w->out, '"');
		json_escape(w->out, w->tok[i], strlen(w->tok[i]));
		ls_buf_add(w->out, "\":{", 3);
		w->need_comma = false;
	}
	bool ok = walk_value(w, w->tok[w->n_tok - 1], t, v, n);
	for (size_t i = 0; i < w->n_tok; i++)
		free(w->tok[i]);
	w->n_tok = 0;
	return ok;
}

/* The chosen pairs of m, renamed, into c (unsorted): what both value-pairs
 * consumers (format-json, ls_vp_foreach) start from. */
static void vp_collect(const struct ls_vp *vp, const struct ls_msg *m, const struct ls_tmpl_opts *o,
		       struct vp_coll *cp)
{
	struct vp_coll c = *cp;
	struct ls_buf key = {0}, val = {0};
	/* the pairs' own templates are not template-escaped */
	struct ls_tmpl_opts po = {0};
	if (o)
		po = *o;
	po.escape = false;
	if ((vp->scopes & (VPS_NV_PAIRS | VPS_DOT_NV_PAIRS | VPS_SDATA | VPS_RFC5424)) ||
	    vp->n_pat) {
		const char *names[256], **nm = names;
		size_t nn = vp->h->names(m, NULL, 0);
		if (nn > 256) {
			nm = xrealloc(NULL, nn * sizeof *nm);
		}
		vp->h->names(m, nm, nn);
		for (size_t i = 0; i < nn; i++) {
			size_t n;
			const char *v = vp->h->get_name(m, nm[i], &n);
			if (vp->omit_empty && !n)
				continue;
			bool inc = (nm[i][0] == '.' && (vp->scopes & VPS_DOT_NV_PAIRS)) ||
				   (nm[i][0] != '.' && (vp->scopes & VPS_NV_PAIRS)) ||
				   (!strncmp(nm[i], ".SDATA.", 7) &&
				    (vp->scopes & (VPS_SDATA | VPS_RFC5424)));
			if (!vp_included(vp, nm[i], inc))
				continue;
			vp_rename(vp, nm[i], &key);
			coll_insert(&c, &key, v, n, VT_STRING);
		}
		if (nm != names)
			free(nm);
	}
	for (size_t i = 0; i < vp->n_builtin; i++) {
		val.len = 0;
		vp->h->tmpl_format(vp->builtin_t[i], m, &po, &val);
		if (!val.len)
			continue;
		vp_rename(vp, vp->builtin[i], &key);
		coll_insert(&c, &key, val.p, val.len, VT_STRING);
	}
	for (size_t i = 0; i < vp->n_pairs; i++) {
		val.len = 0;
		vp->h->tmpl_format(vp->pairs[i].tmpl, m, &po, &val);
		if (vp->omit_empty && !val.len)
			continue;
		vp_rename(vp, vp->pairs[i].name, &key);
		coll_insert(&c, &key, val.p ? val.p : "", val.len,
			    vp->pairs[i].hint == VT_NONE ? VT_STRING : vp->pairs[i].hint);
	}
	ls_buf_free(&key);
	ls_buf_free(&val);
	*cp = c;
}

static void coll_free(struct vp_coll *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->r[i].key);
	free(c->r);
	ls_buf_free(&c->vals);
}

static int res_cmp_up(const void *a, const void *b)
{
	return strcmp(((const struct vp_res *)a)->key, ((const struct vp_res *)b)->key);
}

void ls_vp_foreach(const struct ls_vp *vp, const struct ls_msg *m, const struct ls_tmpl_opts *o,
		   void (*fn)(void *ctx, const char *name, const char *v, size_t n), void *ctx)
{
	struct vp_coll c = {0};
	vp_collect(vp, m, o, &c);
	if (c.n > 1)
		qsort(c.r, c.n, sizeof *c.r, res_cmp_up);
	for (size_t i = 0; i < c.n; i++)
		fn(ctx, c.r[i].key, c.vals.p + c.r[i].val_off, c.r[i].val_len);
	coll_free(&c);
}

void ls_vp_format_json(const struct ls_vp *vp, const struct ls_msg *m, const struct ls_tmpl_opts *o,
		       struct ls_buf *out)
{
	struct vp_coll c = {0};
	vp_collect(vp, m, o, &c);
	if (c.n > 1)
		qsort(c.r, c.n, sizeof *c.r, res_cmp);
	/* NUL after each value for the casts (strtol & co.) */
	struct ls_buf z = {0};
	size_t from = out->len;
	struct vp_walk w = {.delim = vp->key_delim,
			    .out = out,
			    .on_error = o ? o->on_error : 0,
			    .rt = o ? o->rt : NULL};
	ls_buf_addc(out, '{');
	bool ok = true;
	for (size_t i = 0; i < c.n && ok; i++) {
		z.len = 0;
		if (c.r[i].val_len)
			ls_buf_add(&z, c.vals.p + c.r[i].val_off, c.r[i].val_len);
		ls_buf_addc(&z, 0);
		/* tf_flat_json_value: the same order, no walker */
		ok = vp->flat ? walk_value(&w, c.r[i].key, c.r[i].type, z.p, c.r[i].val_len)
			      : walk_one(&w, c.r[i].key, c.r[i].type, z.p, c.r[i].val_len);
	}
	walk_unwind(&w, NULL);
	ls_buf_addc(out, '}');
	if (!ok)
		out->len = from; /* on-error(drop-message): nothing */
	coll_free(&c);
	free(w.st);
	free(w.tok);
	ls_buf_free(&z);
}
