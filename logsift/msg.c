/*
 * msg.c: syslog messages: storage, the RFC 3164/5424 parser and templates.
 *
 * Divisions: facility/severity tables; message storage; the parser
 * (PRI, Cisco sequence id, timestamps, host, PROGRAM[PID], RFC 5424); UTF-8
 * sanitizing; templates and macros.
 *
 * Why not a library: the point is to take apart a record exactly as
 * syslog-ng 3.38's syslogformat module does (its quirks included: no PRI
 * range check, host only with expect-hostname, "last message repeated"),
 * which no general syslog parser does. Each rule here was checked against
 * 3.38 on loopback (tests/interop/logsift, cases front-*).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <unistd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "ls_int.h"
#include "tzfile.h"

/* ------------------------------------------------- facility and severity */

static const struct {
	const char *name;
	int code;
} facilities[] = {
    {"kern", 0},	  {"user", 1},	  {"mail", 2},	  {"daemon", 3},    {"auth", 4},
    {"syslog", 5},	  {"lpr", 6},	  {"news", 7},	  {"uucp", 8},	    {"cron", 9},
    {"authpriv", 10},	  {"ftp", 11},	  {"ntp", 12},	  {"security", 13}, {"console", 14},
    {"solaris-cron", 15}, {"local0", 16}, {"local1", 17}, {"local2", 18},   {"local3", 19},
    {"local4", 20},	  {"local5", 21}, {"local6", 22}, {"local7", 23},
};

static const struct {
	const char *name;
	int code;
} severities[] = {
    {"emerg", 0},    {"emergency", 0}, {"panic", 0},	     {"alert", 1},   {"crit", 2},
    {"critical", 2}, {"err", 3},       {"error", 3},	     {"warning", 4}, {"warn", 4},
    {"notice", 5},   {"info", 6},      {"informational", 6}, {"debug", 7},
};

const char *const ls_severity_names[8] = {"emerg",   "alert",  "crit", "err",
					  "warning", "notice", "info", "debug"};

/* Keyword compare where '-' and '_' are the same, as syslog-ng's lexer does. */
static bool kw_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '_' ? '-' : (char)tolower((unsigned char)*a);
		char y = *b == '_' ? '-' : (char)tolower((unsigned char)*b);
		if (x != y)
			return false;
	}
	return *a == *b;
}

int ls_facility_by_name(const char *s)
{
	for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
		if (kw_eq(s, facilities[i].name))
			return facilities[i].code;
	return -1;
}

int ls_severity_by_name(const char *s)
{
	for (size_t i = 0; i < sizeof severities / sizeof severities[0]; i++)
		if (kw_eq(s, severities[i].name))
			return severities[i].code;
	return -1;
}

const char *ls_facility_name(int fac)
{
	for (size_t i = 0; i < sizeof facilities / sizeof facilities[0]; i++)
		if (facilities[i].code == fac)
			return facilities[i].name;
	return NULL;
}

/* ------------------------------------------------------- message storage */

void ls_msg_init(struct ls_msg *m)
{
	memset(m, 0, sizeof *m);
}

void ls_msg_reset(struct ls_msg *m)
{
	struct ls_buf store = m->store;
	struct ls_nv *nv = m->nv;
	size_t cap_nv = m->cap_nv;
	/* names stay allocated in their slots: the next message mostly sets the
	 * same ones (SD params, .unix.*), so ls_msg_set_name reuses them. The
	 * tag words past the ones in use are zero already (ls_msg_tag writes
	 * no other): 1 KiB not cleared per message */
	unsigned n_tagw = m->n_tagw ? m->n_tagw : 1;
	memset(m, 0, offsetof(struct ls_msg, tagw));
	memset(m->tagw, 0, n_tagw * sizeof m->tagw[0]);
	memset(&m->n_tagw, 0, sizeof *m - offsetof(struct ls_msg, n_tagw));
	store.len = 0;
	m->store = store;
	m->nv = nv;
	m->cap_nv = cap_nv;
}

void ls_msg_free(struct ls_msg *m)
{
	for (size_t i = 0; i < m->cap_nv; i++)
		free(m->nv[i].name);
	free(m->nv);
	ls_buf_free(&m->store);
	memset(m, 0, sizeof *m);
}

static struct ls_span store_add(struct ls_msg *m, const char *p, size_t n)
{
	struct ls_span s = {(uint32_t)m->store.len, (uint32_t)n, true};
	ls_buf_add(&m->store, p, n);
	return s;
}

void ls_msg_set(struct ls_msg *m, enum ls_field f, const char *p, size_t n)
{
	m->f[f] = store_add(m, p, n);
}

const char *ls_msg_get(const struct ls_msg *m, enum ls_field f, size_t *n)
{
	if (!m->f[f].set || !m->store.p) {
		*n = 0;
		return "";
	}
	*n = m->f[f].len;
	return m->store.p + m->f[f].off;
}

static const struct {
	const char *name;
	enum ls_field f;
} field_names[] = {
    {"HOST", LS_HOST},	     {"HOST_FROM", LS_HOST_FROM},
    {"PROGRAM", LS_PROGRAM}, {"PID", LS_PID},
    {"MSGID", LS_MSGID},     {"MESSAGE", LS_MESSAGE},
    {"MSG", LS_MESSAGE},     {"LEGACY_MSGHDR", LS_LEGACY_MSGHDR},
    {"SOURCE", LS_SOURCE},
};

static int field_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof field_names / sizeof field_names[0]; i++)
		if (!strcmp(name, field_names[i].name))
			return (int)field_names[i].f;
	return -1;
}

const char *ls_msg_get_name(const struct ls_msg *m, const char *name, size_t *n)
{
	int f = field_by_name(name);
	if (f >= 0)
		return ls_msg_get(m, (enum ls_field)f, n);
	if (m->ctx && (!strcmp(name, "_") || !strcmp(name, "CONTEXT_ID"))) {
		*n = m->ctx_len; /* groupset()'s current value (3.38's M_CONTEXT_ID) */
		return m->ctx;
	}
	for (size_t i = 0; i < m->n_nv; i++)
		if (m->nv[i].v.set && !strcmp(m->nv[i].name, name)) {
			*n = m->nv[i].v.len;
			return m->store.p + m->nv[i].v.off;
		}
	*n = 0;
	return "";
}

void ls_msg_set_name(struct ls_msg *m, const char *name, const char *p, size_t n)
{
	int f = field_by_name(name);
	if (f >= 0) {
		ls_msg_set(m, (enum ls_field)f, p, n);
		if (f == LS_PROGRAM || f == LS_PID) /* $MSGHDR is made from them now */
			m->f[LS_LEGACY_MSGHDR] = (struct ls_span){0};
		return;
	}
	for (size_t i = 0; i < m->n_nv; i++)
		if (!strcmp(m->nv[i].name, name)) {
			m->nv[i].v = store_add(m, p, n);
			return;
		}
	if (m->n_nv == m->cap_nv) {
		size_t cap = m->cap_nv ? m->cap_nv * 2 : 8;
		struct ls_nv *nv = realloc(m->nv, cap * sizeof *nv);
		if (!nv)
			abort();
		for (size_t i = m->cap_nv; i < cap; i++)
			nv[i].name = NULL;
		m->nv = nv;
		m->cap_nv = cap;
	}
	struct ls_nv *slot = &m->nv[m->n_nv];
	if (!slot->name || strcmp(slot->name, name)) {
		free(slot->name);
		slot->name = strdup(name);
		if (!slot->name)
			abort();
	}
	m->nv[m->n_nv].v = store_add(m, p, n);
	m->n_nv++;
}

void ls_msg_unset_name(struct ls_msg *m, const char *name)
{
	int f = field_by_name(name);
	if (f >= 0) {
		m->f[f] = (struct ls_span){0};
		if (f == LS_PROGRAM || f == LS_PID)
			m->f[LS_LEGACY_MSGHDR] = (struct ls_span){0};
		return;
	}
	for (size_t i = 0; i < m->n_nv; i++)
		if (!strcmp(m->nv[i].name, name))
			m->nv[i].v = (struct ls_span){0};
}

/* "0".."255": a match's name (log_msg_get_match_handle's range) */
static int match_index(const char *name)
{
	int i = 0;
	if (!name[0] || (name[0] == '0' && name[1]) || strlen(name) > 3)
		return -1;
	for (const char *p = name; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		i = i * 10 + (*p - '0');
	}
	return i < 256 ? i : -1;
}

void ls_msg_set_matches(struct ls_msg *m, const char *s, const size_t *ov, int rc)
{
	char name[12]; /* "0".."255"; room for any int keeps -Wformat-truncation quiet */
	for (int i = 0; i < rc && i < 256; i++) {
		if (ov[2 * i] == (size_t)-1) /* PCRE2_UNSET */
			continue;
		snprintf(name, sizeof name, "%d", i);
		ls_msg_set_name(m, name, s + ov[2 * i], ov[2 * i + 1] - ov[2 * i]);
	}
	/* log_msg_truncate_matches: the matches past this one's are unset */
	for (size_t k = 0; k < m->n_nv; k++)
		if (m->nv[k].v.set && match_index(m->nv[k].name) >= (rc < 0 ? 0 : rc))
			m->nv[k].v = (struct ls_span){0};
}

bool ls_msg_name_is_field(const char *name)
{
	return field_by_name(name) >= 0;
}

void ls_msg_copy(struct ls_msg *dst, const struct ls_msg *src)
{
	ls_msg_reset(dst);
	struct ls_buf store = dst->store;
	struct ls_nv *nv = dst->nv;
	size_t cap_nv = dst->cap_nv;
	*dst = *src;
	dst->store = store;
	dst->nv = nv;
	dst->cap_nv = cap_nv;
	dst->n_nv = 0;
	if (src->store.len)
		ls_buf_add(&dst->store, src->store.p, src->store.len);
	/* the spans stay valid: the store's bytes are copied whole */
	for (size_t i = 0; i < src->n_nv; i++) {
		if (!src->nv[i].v.set)
			continue;
		ls_msg_set_name(dst, src->nv[i].name, "", 0);
		dst->nv[dst->n_nv - 1].v = src->nv[i].v;
	}
	dst->store.len = src->store.len;
}

size_t ls_msg_names(const struct ls_msg *m, const char **names, size_t max)
{
	size_t k = 0;
	for (int f = 0; f < (int)(sizeof field_names / sizeof field_names[0]); f++) {
		if (!strcmp(field_names[f].name, "MSG") || !m->f[field_names[f].f].set)
			continue;
		if (k < max)
			names[k] = field_names[f].name;
		k++;
	}
	for (size_t i = 0; i < m->n_nv; i++)
		if (m->nv[i].v.set) {
			if (k < max)
				names[k] = m->nv[i].name;
			k++;
		}
	return k;
}

/* ------------------------------------------------------------- the parser */

struct cur {
	const unsigned char *p; /* next byte */
	size_t left;		/* bytes left */
};

static void skip_spaces(struct cur *c)
{
	while (c->left && *c->p == ' ') {
		c->p++;
		c->left--;
	}
}

/* <digits>: false on a non-digit (syslog-ng's parse error); default without '<'. */
static bool parse_pri(struct ls_msg *m, struct cur *c, int default_pri)
{
	if (c->left && *c->p == '<') {
		c->p++;
		c->left--;
		/* 3.38: int arithmetic that wraps, kept in a 16-bit field */
		unsigned pri = 0;
		while (c->left && *c->p != '>') {
			if (!isdigit(*c->p))
				return false;
			pri = pri * 10u + (unsigned)(*c->p - '0');
			c->p++;
			c->left--;
		}
		m->pri = (int)(pri & 0xffff);
		if (c->left) {
			c->p++;
			c->left--;
		}
	} else {
		m->pri = default_pri;
	}
	return true;
}

/* "123: " before the date, as Cisco devices send it: stored as sequenceId. */
static void parse_cisco_seq(struct ls_msg *m, struct cur *c)
{
	const unsigned char *p = c->p;
	size_t left = c->left;
	while (left && *p != ':') {
		if (!isdigit(*p))
			return;
		p++;
		left--;
	}
	if (!left)
		return;
	p++;
	left--;
	if (!left || *p != ' ')
		return;
	struct ls_span s = store_add(m, (const char *)c->p, (size_t)(p - c->p - 1));
	m->seq_cisco = true;
	m->cisco_seq_off = s.off;
	m->cisco_seq_len = s.len;
	c->p = p;
	c->left = left;
}

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int digits(const unsigned char *p, int n)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (!isdigit(p[i]))
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

static int64_t days_from_civil(int64_t y, unsigned mo, unsigned d)
{
	y -= mo <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const unsigned yoe = (unsigned)(y - era * 400);
	const unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

/* The local (year, month 0-11) at t, as localtime_r's: the local offset
 * through the runtime's cache, then plain UTC arithmetic. */
static void local_year_mon(struct ls_tz_span *local, int64_t t, int *year, int *mon)
{
	time_t lt = (time_t)(t + ls_tz_local(local, t));
	struct tm tm;
	if (!gmtime_r(&lt, &tm))
		tm = (struct tm){.tm_year = 70};
	*year = tm.tm_year + 1900;
	*mon = tm.tm_mon;
}

/* The offset of a stamp without one: recv-time-zone()'s zone (resolved by
 * the configuration, else by name on each call), else the local zone. */
static int recv_offset(const struct ls_parse_opts *o, int64_t t)
{
	if (o->zone_at && o->recv_tz)
		t = o->zone_at;
	if (o->recv_zone || !o->recv_tz)
		return ls_tz_gmtoff(o->recv_zone, o->local, t);
	struct ls_tz *z = ls_tz_open(NULL, o->recv_tz, NULL);
	int off = z ? ls_tz_offset(z, t, NULL) : 0;
	ls_tz_free(z);
	return off;
}

/* The offset of an undated message's stamp (the receive time): the
 * receive offset, or syslog-parser(time-zone())'s (zone_at). */
static int undated_offset(const struct ls_msg *m, const struct ls_parse_opts *o)
{
	return o->zone_at && o->recv_tz ? recv_offset(o, o->zone_at) : m->recv_gmtoff;
}

/* Fraction ".ddd" into microseconds; advances. */
static int parse_frac(struct cur *c)
{
	int usec = 0, scale = 100000;
	if (c->left && *c->p == '.') {
		c->p++;
		c->left--;
		while (c->left && isdigit(*c->p)) {
			usec += (*c->p - '0') * scale;
			scale /= 10;
			c->p++;
			c->left--;
		}
	}
	return usec;
}

/*
 * ISO 8601 (RFC 5424) or BSD "Mmm dd hh:mm:ss" timestamps, as syslog-ng's
 * scan_iso/scan_bsd: returns false and leaves c alone when none is there.
 * o's recv-time-zone() (none: local) is the zone of a stamp without one.
 */
static bool parse_date(struct ls_msg *m, struct cur *c, const struct ls_parse_opts *o)
{
	const unsigned char *p = c->p;
	size_t left = c->left;
	if (left >= 19 && p[4] == '-' && p[7] == '-' && (p[10] == 'T' || p[10] == ' ') &&
	    p[13] == ':' && p[16] == ':') {
		int y = digits(p, 4), mo = digits(p + 5, 2), d = digits(p + 8, 2);
		int h = digits(p + 11, 2), mi = digits(p + 14, 2), s = digits(p + 17, 2);
		if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
		    mi > 59 || s < 0 || s > 60)
			return false;
		struct cur t = {p + 19, left - 19};
		int usec = parse_frac(&t);
		int64_t local =
		    days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
		int off;
		if (t.left && (*t.p == 'Z' || *t.p == 'z')) {
			off = 0;
			t.p++;
			t.left--;
		} else if (t.left >= 6 && (*t.p == '+' || *t.p == '-') && t.p[3] == ':' &&
			   digits(t.p + 1, 2) >= 0 && digits(t.p + 4, 2) >= 0) {
			off = (digits(t.p + 1, 2) * 3600 + digits(t.p + 4, 2) * 60) *
			      (*t.p == '-' ? -1 : 1);
			t.p += 6;
			t.left -= 6;
		} else {
			off = recv_offset(o, local);
		}
		m->stamp_sec = local - off;
		m->stamp_usec = usec;
		m->stamp_gmtoff = off;
		*c = t;
		return true;
	}
	/* "Mmm dd yyyy hh:mm:ss": the year before the time */
	int ymid = -1;
	unsigned char tmp[15]; /* the stamp with its mid-line year cut out */
	if (left >= 20 && p[3] == ' ' && p[6] == ' ' && p[11] == ' ' && p[14] == ':' &&
	    p[17] == ':' && digits(p + 7, 4) >= 0) {
		ymid = digits(p + 7, 4);
		memcpy(tmp, p, 7);
		memcpy(tmp + 7, p + 12, 8);
		p = tmp;
	}
	if (left >= 15 && p[3] == ' ' && p[6] == ' ' && p[9] == ':' && p[12] == ':') {
		int mo = -1;
		for (int i = 0; i < 12; i++)
			if (!memcmp(p, months[i], 3))
				mo = i;
		int d = p[4] == ' ' ? digits(p + 5, 1) : digits(p + 4, 2);
		int h = digits(p + 7, 2), mi = digits(p + 10, 2), s = digits(p + 13, 2);
		if (mo < 0 || d < 0 || h < 0 || mi < 0 || s < 0)
			return false;
		struct cur t = ymid >= 0 ? (struct cur){c->p + 20, left - 20}
					 : (struct cur){p + 15, left - 15};
		int usec = parse_frac(&t);
		/* No year in the stamp: this year, or the neighbour across New Year. */
		int y, now_mon;
		local_year_mon(o->local, m->recv_sec, &y, &now_mon);
		if (mo == 11 && now_mon == 0)
			y--;
		else if (mo == 0 && now_mon == 11)
			y++;
		/* "Mmm dd yyyy hh:mm:ss"-style year after the time (syslog-ng accepts it) */
		if (t.left >= 5 && t.p[0] == ' ' && digits(t.p + 1, 4) >= 0 &&
		    (t.left == 5 || t.p[5] == ' ')) {
			y = digits(t.p + 1, 4);
			t.p += 5;
			t.left -= 5;
		}
		if (ymid >= 0)
			y = ymid;
		/* Cisco's "hh:mm:ss:" */
		if (t.left && *t.p == ':') {
			t.p++;
			t.left--;
		}
		/* Out-of-range fields ("Jan 32 25:61:61") are normalised as 3.38's
		 * mktime() does, then its DST correction adds back the difference
		 * between the written and the normalised hour: "Nov 24 25:15:55" is
		 * Nov 26 01:15:55 and "Jan 32 25:61:61" Feb 3 01:02:01 there. */
		int64_t local = days_from_civil(y, (unsigned)mo + 1, 1) * 86400 +
				(int64_t)(d - 1) * 86400 + h * 3600 + mi * 60 + s;
		int64_t norm_hour = ((local % 86400) + 86400) % 86400 / 3600;
		local += (h - norm_hour) * 3600;
		int off = recv_offset(o, local);
		m->stamp_sec = local - off;
		m->stamp_usec = usec;
		m->stamp_gmtoff = off;
		*c = t;
		return true;
	}
	return false;
}

static bool is_hostname_char(unsigned char ch)
{
	return isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == ':' || ch == '@' ||
	       ch == '/';
}

/* A word ended by a space is the host; otherwise nothing is consumed. */
static bool bad_host(const void *re, const unsigned char *p, size_t n)
{
	if (!re)
		return false;
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	int rc = pcre2_match(re, (PCRE2_SPTR)p, n, 0, 0, md, NULL);
	pcre2_match_data_free(md);
	return rc >= 0;
}

static void parse_hostname(struct ls_msg *m, struct cur *c, unsigned flags, const void *bad)
{
	const unsigned char *p = c->p;
	size_t left = c->left, n = 0;
	/* 3.38's IPv6 heuristics: ':' ends the host only once the word stopped
	 * looking like an IPv6 address (hex groups of <= 4 digits, < 8 colons) */
	int seg = 0, hexd = 0;
	bool not_v6 = false;
	while (left && *p != ' ' && *p != '[' && n < 255) {
		if (!not_v6) {
			if (*p != ':' && !isxdigit(*p))
				not_v6 = true;
			else if (*p != ':' && ++hexd > 4)
				not_v6 = true;
			else if (*p == ':' && (hexd = 0, ++seg >= 8))
				not_v6 = true;
		}
		if (*p == ':' && not_v6)
			break;
		if ((flags & LS_P_CHECK_HOSTNAME) && !is_hostname_char(*p))
			break;
		p++;
		left--;
		n++;
	}
	if (left && *p == ' ' && !bad_host(bad, c->p, n)) {
		ls_msg_set(m, LS_HOST, (const char *)c->p, n);
		c->p = p;
		c->left = left;
	}
}

/* PROGRAM[PID]: and one space; the consumed header becomes LEGACY_MSGHDR. */
static void parse_program(struct ls_msg *m, struct cur *c)
{
	const unsigned char *start = c->p, *p = c->p;
	size_t left = c->left;
	while (left && *p != ' ' && *p != '[' && *p != ':') {
		p++;
		left--;
	}
	ls_msg_set(m, LS_PROGRAM, (const char *)start, (size_t)(p - start));
	if (left && *p == '[') {
		const unsigned char *pid = p + 1;
		while (left && *p != ' ' && *p != ']' && *p != ':') {
			p++;
			left--;
		}
		if (left)
			ls_msg_set(m, LS_PID, (const char *)pid, (size_t)(p - pid));
		if (left && *p == ']') {
			p++;
			left--;
		}
	}
	if (left && *p == ':') {
		p++;
		left--;
	}
	if (left && *p == ' ') {
		p++;
		left--;
	}
	ls_msg_set(m, LS_LEGACY_MSGHDR, (const char *)start, (size_t)(p - start));
	c->p = p;
	c->left = left;
}

static bool parse_legacy(struct ls_msg *m, const unsigned char *data, size_t len,
			 const struct ls_parse_opts *o)
{
	struct cur c = {data, len};
	if (!parse_pri(m, &c, o->default_pri))
		return false;
	parse_cisco_seq(m, &c);
	skip_spaces(&c);
	/* Cisco: '*' before the stamp = clock not synced, '.' = synced */
	if (c.left && (*c.p == '*' || *c.p == '.')) {
		m->time_quality = *c.p == '*' ? 1 : 2;
		c.p++;
		c.left--;
	}
	if (parse_date(m, &c, o)) {
		skip_spaces(&c);
		static const char repeat[] = "last message repeated";
		if (c.left >= sizeof repeat - 1 && !memcmp(c.p, repeat, sizeof repeat - 1)) {
			ls_msg_set(m, LS_MESSAGE, (const char *)c.p, c.left);
			return true;
		}
		if (o->flags & LS_P_EXPECT_HOSTNAME) {
			parse_hostname(m, &c, o->flags, o->bad_hostname);
			skip_spaces(&c);
		}
		parse_program(m, &c);
	} else {
		if ((m->pri & 0x3f8) == 0 && (o->flags & LS_P_LOCAL))
			ls_msg_set(m, LS_PROGRAM, "kernel", 6);
		else
			parse_program(m, &c);
		m->stamp_sec = m->recv_sec;
		m->stamp_usec = m->recv_usec;
		m->stamp_gmtoff = undated_offset(m, o);
	}
	ls_msg_set(m, LS_MESSAGE, (const char *)c.p, c.left);
	return true;
}

/* One RFC 5424 column ("-" = empty) up to the next space, kept to max bytes. */
static void parse_column(struct ls_msg *m, enum ls_field f, struct cur *c, size_t max)
{
	const unsigned char *start = c->p;
	size_t n = 0;
	while (c->left && *c->p != ' ') {
		c->p++;
		c->left--;
		n++;
	}
	if (!(n == 1 && *start == '-'))
		ls_msg_set(m, f, (const char *)start, n < max ? n : max);
}

static bool skip_one_space(struct cur *c)
{
	if (!c->left || *c->p != ' ')
		return false;
	c->p++;
	c->left--;
	return true;
}

/* [id p="v" ...]... or "-"; params stored as .SDATA.id.p, the raw text as SDATA. */
static bool parse_sd(struct ls_msg *m, struct cur *c)
{
	if (c->left && *c->p == '-') {
		c->p++;
		c->left--;
		return true;
	}
	const unsigned char *start = c->p;
	char id[64], name[200];
	while (c->left && *c->p == '[') {
		c->p++;
		c->left--;
		size_t n = 0;
		while (c->left && *c->p != ' ' && *c->p != ']' && *c->p != '=' && *c->p != '"') {
			if (n < 32)
				id[n++] = (char)*c->p;
			c->p++;
			c->left--;
		}
		id[n] = 0;
		if (!n)
			return false;
		while (c->left && *c->p == ' ') {
			c->p++;
			c->left--;
			size_t pn = 0;
			char pname[40];
			while (c->left && *c->p != '=' && *c->p != ' ' && *c->p != ']' &&
			       *c->p != '"') {
				if (pn < 32)
					pname[pn++] = (char)*c->p;
				c->p++;
				c->left--;
			}
			pname[pn] = 0;
			if (!pn || !c->left || *c->p != '=')
				return false;
			c->p++;
			c->left--;
			if (!c->left || *c->p != '"')
				return false;
			c->p++;
			c->left--;
			struct ls_buf v = {0};
			bool bracket = false; /* 3.38: an unescaped ']' in a value is an error */
			while (c->left && *c->p != '"' && !bracket) {
				bool esc = *c->p == '\\' && c->left > 1 &&
					   (c->p[1] == '"' || c->p[1] == '\\' || c->p[1] == ']');
				if (esc) {
					c->p++;
					c->left--;
				}
				bracket = !esc && *c->p == ']';
				ls_buf_addc(&v, (char)*c->p);
				c->p++;
				c->left--;
			}
			if (!c->left || bracket) {
				ls_buf_free(&v);
				return false;
			}
			c->p++;
			c->left--;
			snprintf(name, sizeof name, ".SDATA.%s.%s", id, pname);
			ls_msg_set_name(m, name, v.p ? v.p : "", v.len);
			ls_buf_free(&v);
		}
		if (!c->left || *c->p != ']')
			return false;
		c->p++;
		c->left--;
	}
	if (c->p == start)
		return false;
	ls_msg_set(m, LS_SDATA, (const char *)start, (size_t)(c->p - start));
	return true;
}

/*
 * RFC 5424. On failure *errpos is syslog-ng's problem position (the offset
 * where parsing stopped, one further after a bad host), for the ">@<" marker.
 */
static bool parse_5424(struct ls_msg *m, const unsigned char *data, size_t len,
		       const struct ls_parse_opts *o, bool *fallback, size_t *errpos)
{
	struct cur c = {data, len};
	*fallback = false;
	*errpos = 0;
	if (!parse_pri(m, &c, o->default_pri)) {
		*fallback = !(o->flags & LS_P_NO_3164_FALLBACK);
		return false;
	}
	int version = 0;
	bool ok = c.left > 0;
	while (c.left && *c.p != ' ') {
		if (!isdigit(*c.p)) {
			ok = false;
			break;
		}
		version = version * 10 + (*c.p - '0');
		if (version > 1000)
			break;
		c.p++;
		c.left--;
	}
	if (!ok || version != 1) {
		*fallback = !(o->flags & LS_P_NO_3164_FALLBACK);
		return false;
	}
	if (!skip_one_space(&c))
		goto fail;
	if (c.left && *c.p == '-' && (c.left == 1 || c.p[1] == ' ')) {
		c.p++;
		c.left--;
		m->stamp_sec = m->recv_sec;
		m->stamp_usec = m->recv_usec;
		m->stamp_gmtoff = undated_offset(m, o);
	} else if (!parse_date(m, &c, o)) {
		goto fail;
	}
	if (!skip_one_space(&c))
		goto fail;
	{
		/* the host needs a space after it (3.38 takes IPv6 colons here) */
		const unsigned char *h = c.p;
		size_t n = 0;
		while (n < c.left && h[n] != ' ' && n < 255)
			n++;
		if (n < c.left && h[n] == ' ') {
			if (!(n == 1 && h[0] == '-'))
				ls_msg_set(m, LS_HOST, (const char *)h, n);
			c.p += n;
			c.left -= n;
		}
		if (!skip_one_space(&c)) {
			*errpos = (size_t)(c.p - data) + 1;
			return false;
		}
	}
	parse_column(m, LS_PROGRAM, &c, 48);
	if (!skip_one_space(&c))
		goto fail;
	parse_column(m, LS_PID, &c, 128);
	if (!skip_one_space(&c))
		goto fail;
	parse_column(m, LS_MSGID, &c, 32);
	if (!skip_one_space(&c))
		goto fail;
	if (!parse_sd(m, &c))
		goto fail;
	if (!c.left)
		return true; /* no MSG part: valid */
	if (!skip_one_space(&c))
		goto fail;
	if (c.left >= 3 && !memcmp(c.p, "\xEF\xBB\xBF", 3)) {
		m->utf8 = true;
		c.p += 3;
		c.left -= 3;
	}
	ls_msg_set(m, LS_MESSAGE, (const char *)c.p, c.left);
	return true;
fail:
	*errpos = (size_t)(c.p - data);
	return false;
}

/* Length of the valid UTF-8 sequence at p (0 when invalid). */
static size_t utf8_seq(const unsigned char *p, size_t left)
{
	unsigned char c = p[0];
	size_t n;
	unsigned cp;
	if (c < 0x80)
		return 1;
	if ((c & 0xe0) == 0xc0) {
		n = 2;
		cp = c & 0x1f;
	} else if ((c & 0xf0) == 0xe0) {
		n = 3;
		cp = c & 0x0f;
	} else if ((c & 0xf8) == 0xf0) {
		n = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static bool utf8_valid(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(p + i, n - i);
		if (!k || (k == 1 && p[i] == 0))
			return false;
		i += k;
	}
	return true;
}

/*
 * syslog-ng's sanitize-utf8 (append_unsafe_utf8_as_escaped_binary): invalid
 * bytes as \xNN; \b \f \n \r \t and backslash as C escapes; other control
 * characters as \xNN.
 */
static void utf8_sanitize(struct ls_buf *out, const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n;) {
		size_t k = utf8_seq(p + i, n - i);
		if (!k) {
			ls_buf_addf(out, "\\x%02x", p[i]);
			i++;
			continue;
		}
		const char *esc = NULL;
		switch (p[i]) {
		case '\b':
			esc = "\\b";
			break;
		case '\f':
			esc = "\\f";
			break;
		case '\n':
			esc = "\\n";
			break;
		case '\r':
			esc = "\\r";
			break;
		case '\t':
			esc = "\\t";
			break;
		case '\\':
			esc = "\\\\";
			break;
		default:
			break;
		}
		if (esc)
			ls_buf_add(out, esc, 2);
		else if (p[i] < 0x20)
			ls_buf_addf(out, "\\x%02x", p[i]);
		else
			ls_buf_add(out, p + i, k);
		i += k;
	}
}

/* ------------------------------------------------------ linux-kmsg format */

/*
 * format(linux-kmsg): one /dev/kmsg record, "PRI,SEQ,USEC[,FLAGS...];TEXT\n"
 * then " KEY=VALUE\n" lines (the kernel's Documentation/ABI/testing/
 * dev-kmsg), parsed as syslog-ng 3.38's modules/linux-kmsg-format does:
 * pri as given, MSGID the sequence number, .linux.timestamp the kernel's
 * microseconds, the stamp boot time plus those, MESSAGE the text, each
 * KEY=VALUE as .linux.KEY except DEVICE=, which becomes
 * .linux.DEVICE.{type,major,minor,name,index}. 3.38 looks at the byte
 * after the record's (newline-stripped) end, which is the stripped newline:
 * kbyte() reads up to the record's full length and gives NUL beyond it.
 */
static unsigned char kbyte(const unsigned char *d, size_t full, size_t i)
{
	return i < full ? d[i] : 0;
}

/*
 * Boot time in microseconds, as 3.38's kmsg_init_boot_time: now minus
 * /proc/uptime, where the digits after the dot are taken as microseconds
 * ("12.34" is 12 s + 34 us, its reading of the file); 0 when unreadable.
 */
int64_t ls_kmsg_boot_usec(void)
{
	int64_t boot = 0;
	char buf[128];
	FILE *f = fopen("/proc/uptime", "re");
	if (!f)
		return boot;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	int64_t sec = 0, usec = 0;
	size_t i = 0;
	for (; i < n && buf[i] != '.'; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return boot;
		sec = sec * 10 + (buf[i] - '0');
	}
	for (i++; i < n && buf[i] != ' '; i++) {
		if (buf[i] < '0' || buf[i] > '9')
			return boot;
		usec = usec * 10 + (buf[i] - '0');
	}
	struct timeval tv;
	gettimeofday(&tv, NULL);
	boot = ((int64_t)tv.tv_sec * 1000000 + tv.tv_usec) - (sec * 1000000 + usec);
	return boot;
}

/* DEVICE=b8:0, c4:1, n2, +pci:0000:00:01.0 or anything else, into .linux.DEVICE.*. */
static void kmsg_device(struct ls_msg *m, const unsigned char *v, size_t n)
{
	const char *type = NULL;
	switch (n ? v[0] : 0) {
	case 'b':
		type = "block";
		/* fallthrough */
	case 'c': {
		if (!type)
			type = "char";
		size_t sep = 1;
		while (sep < n && v[sep] != ':')
			sep++;
		ls_msg_set_name(m, ".linux.DEVICE.type", type, strlen(type));
		ls_msg_set_name(m, ".linux.DEVICE.major", (const char *)v + 1, sep - 1);
		/* 3.38 takes length - seppos - 1 bytes after the colon, even without one */
		size_t rest = n - 1 > sep - 1 ? n - 1 - (sep - 1) - 1 : 0;
		ls_msg_set_name(m, ".linux.DEVICE.minor", sep < n ? (const char *)v + sep + 1 : "",
				sep < n ? rest : 0);
		break;
	}
	case 'n':
		ls_msg_set_name(m, ".linux.DEVICE.type", "netdev", 6);
		ls_msg_set_name(m, ".linux.DEVICE.index", (const char *)v + 1, n - 1);
		break;
	case '+': {
		size_t sep = 1;
		while (sep < n && v[sep] != ':')
			sep++;
		ls_msg_set_name(m, ".linux.DEVICE.type", (const char *)v + 1, sep - 1);
		ls_msg_set_name(m, ".linux.DEVICE.name", sep < n ? (const char *)v + sep + 1 : "",
				sep < n ? n - sep - 1 : 0);
		break;
	}
	default:
		ls_msg_set_name(m, ".linux.DEVICE.type", "<unknown>", 9);
		ls_msg_set_name(m, ".linux.DEVICE.name", (const char *)v, n);
		break;
	}
}

/* One record into m: true, or false with *errpos where 3.38 gave up. */
static bool parse_kmsg(struct ls_msg *m, const unsigned char *d, size_t len, size_t full,
		       const struct ls_parse_opts *o, size_t *errpos)
{
	size_t pos = 0;
	uint32_t pri = 0; /* 3.38's gint wraps on overflow; unsigned here to do it defined */
	for (; pos < len && d[pos] != ','; pos++) {
		if (d[pos] < '0' || d[pos] > '9')
			goto error;
		pri = pri * 10 + (uint32_t)(d[pos] - '0');
	}
	if (kbyte(d, full, pos) != ',' || pos == len)
		goto error;
	m->pri = (int)(pri & 0xffff); /* LogMessage.pri is a guint16 */
	pos++;
	size_t start = pos;
	bool seq_digits = true;
	for (; pos < len && d[pos] != ','; pos++)
		if (d[pos] < '0' || d[pos] > '9') {
			seq_digits = false; /* 3.38 returns "fine" here, MSGID unset */
			break;
		}
	if (seq_digits) {
		if (kbyte(d, full, pos) != ',' || pos == len)
			goto error;
		ls_msg_set(m, LS_MSGID, (const char *)d + start, pos - start);
	}
	pos++;
	start = pos;
	uint64_t usec = 0;
	for (; pos < len && d[pos] != ',' && d[pos] != ';'; pos++) {
		if (d[pos] < '0' || d[pos] > '9')
			goto error;
		usec = usec * 10 + (uint64_t)(d[pos] - '0');
	}
	if ((kbyte(d, full, pos) != ',' && kbyte(d, full, pos) != ';') || pos == len)
		goto error;
	ls_msg_set_name(m, ".linux.timestamp", (const char *)d + start, pos - start);
	/* the boot time the caller read once (3.38 reads it at start-up) */
	int64_t boot = o->kmsg_boot_set ? o->kmsg_boot_usec : ls_kmsg_boot_usec();
	uint64_t t = (uint64_t)boot + usec; /* wraps as 3.38's guint64 */
	m->stamp_sec = (int64_t)(t / 1000000);
	m->stamp_usec = (int)(t % 1000000);
	m->stamp_gmtoff = ls_tz_local(o->local, m->stamp_sec);
	while (pos < len && d[pos] != ';')
		pos++;
	if (kbyte(d, full, pos) != ';' || pos == len)
		goto error;
	pos++;
	start = pos;
	while (pos < len && d[pos] != '\n')
		pos++;
	if (kbyte(d, full, pos) != '\n')
		goto error;
	ls_msg_set(m, LS_MESSAGE, (const char *)d + start, pos - start);
	if (pos + 1 >= len)
		return true;
	do {
		pos++;
		while (pos < len && (d[pos] == ' ' || d[pos] == '\t'))
			pos++;
		if (pos == len)
			goto error;
		size_t ns = pos;
		while (pos < len && d[pos] != '=')
			pos++;
		if (pos == len)
			goto error;
		size_t nl = pos - ns, vs = ++pos;
		while (pos < len && d[pos] != '\n')
			pos++;
		if (kbyte(d, full, pos) != '\n')
			goto error;
		/* 3.38 compares with strncmp(name, "DEVICE=", nl + 1) */
		if (nl == 6 && !memcmp(d + ns, "DEVICE", 6)) {
			kmsg_device(m, d + vs, pos - vs);
		} else {
			char name[256];
			int k = snprintf(name, sizeof name, ".linux.%.*s", (int)nl,
					 (const char *)d + ns);
			if (k > 0 && (size_t)k < sizeof name)
				ls_msg_set_name(m, name, (const char *)d + vs, pos - vs);
		}
	} while (pos < len);
	return true;
error:
	*errpos = pos;
	return false;
}

/* Forget what a failed parse set, keeping the receive time and sender. */
static void msg_restart(struct ls_msg *m)
{
	int64_t rs = m->recv_sec;
	int ru = m->recv_usec, rg = m->recv_gmtoff;
	struct sockaddr_storage sa = m->saddr;
	ls_msg_reset(m);
	m->recv_sec = rs;
	m->recv_usec = ru;
	m->recv_gmtoff = rg;
	m->saddr = sa;
}

void ls_msg_parse(struct ls_msg *m, const char *data, size_t len, const struct ls_parse_opts *o)
{
	const unsigned char *d = (const unsigned char *)data;
	struct ls_buf tmp = {0};
	size_t full = len; /* before the trailing newlines go (linux-kmsg looks at them) */
	if (o->flags & LS_P_ASSUME_UTF8)
		m->utf8 = true; /* 3.38's LF_UTF8, whatever the bytes */
	while (len && (d[len - 1] == '\n' || d[len - 1] == 0))
		len--;
	if ((o->flags & LS_P_SANITIZE_UTF8) && !utf8_valid(d, len)) {
		utf8_sanitize(&tmp, d, len);
		d = (const unsigned char *)tmp.p;
		len = full = tmp.len;
	}
	if (o->flags & LS_P_NO_PARSE) {
		m->pri = o->default_pri;
		ls_msg_set(m, LS_MESSAGE, (const char *)d, len);
		m->stamp_sec = m->recv_sec;
		m->stamp_usec = m->recv_usec;
		m->stamp_gmtoff = m->recv_gmtoff;
		ls_buf_free(&tmp);
		return;
	}
	bool ok, fallback = false;
	size_t errpos = 0;
	if (o->flags & LS_P_KMSG) {
		ok = parse_kmsg(m, d, len, full, o, &errpos);
	} else if (o->flags & LS_P_SYSLOG_PROTOCOL) {
		ok = parse_5424(m, d, len, o, &fallback, &errpos);
		if (!ok && fallback) {
			if (o->base)
				ls_msg_copy(m, o->base);
			else
				msg_restart(m);
			ok = parse_legacy(m, d, len, o);
		}
	} else {
		ok = parse_legacy(m, d, len, o);
	}
	if (!ok) {
		/* msg_format_inject_parse_error: the whole record in an error message */
		msg_restart(m);
		int64_t rs = m->recv_sec;
		int ru = m->recv_usec, rg = m->recv_gmtoff;
		m->stamp_sec = rs;
		m->stamp_usec = ru;
		m->stamp_gmtoff = rg;
		m->pri = 43;
		m->parse_error = true;
		struct ls_buf b = {0};
		ls_buf_add(&b, "Error processing log message: ", 30);
		if (errpos > 0 && errpos <= len + 1) {
			/* msg_format_inject_parse_error: ">@<" before byte errpos-1 */
			ls_buf_add(&b, d, errpos - 1);
			ls_buf_add(&b, ">@<", 3);
			ls_buf_add(&b, d + errpos - 1, len - (errpos - 1));
		} else {
			ls_buf_add(&b, d, len);
		}
		ls_msg_set(m, LS_MESSAGE, b.p, b.len);
		ls_msg_set(m, LS_PROGRAM, "syslog-ng", 9);
		ls_buf_free(&b);
		char pid[16];
		int n = snprintf(pid, sizeof pid, "%d", o->self_pid);
		ls_msg_set(m, LS_PID, pid, (size_t)n);
	}
	if ((o->flags & LS_P_NO_MULTI_LINE) && !m->parse_error && m->f[LS_MESSAGE].set) {
		/* 3.38 turns CR and LF into spaces in MESSAGE only, after parsing */
		char *v = m->store.p + m->f[LS_MESSAGE].off;
		for (uint32_t i = 0; i < m->f[LS_MESSAGE].len; i++)
			if (v[i] == '\n' || v[i] == '\r')
				v[i] = ' ';
	}
	if ((o->flags & LS_P_VALIDATE_UTF8) && !m->utf8) {
		size_t n;
		const char *v = ls_msg_get(m, LS_MESSAGE, &n);
		m->utf8 = utf8_valid((const unsigned char *)v, n);
	}
	if (o->flags & LS_P_NO_LEGACY_MSGHDR) /* $MSGHDR is then PROGRAM[PID]: */
		m->f[LS_LEGACY_MSGHDR] = (struct ls_span){0};
	ls_buf_free(&tmp);
}

/* ------------------------------------------------------- templates, macros */

enum macro {
	M_NONE,
	M_DATE,
	M_ISODATE,
	M_FULLDATE,
	M_UNIXTIME,
	M_STAMP,
	M_YEAR,
	M_MONTH,
	M_MONTH_NAME,
	M_DAY,
	M_HOUR,
	M_MIN,
	M_SEC,
	M_WEEKDAY,
	M_TZOFFSET,
	M_FACILITY,
	M_FACILITY_NUM,
	M_LEVEL,
	M_LEVEL_NUM,
	M_PRI,
	M_TAG,
	M_MSGHDR,
	M_SDATA,
	M_SOURCEIP,
	M_LOGHOST,
	M_TAGS,
	M_SEQNUM,
	M_MSEC,
	M_USEC,
	M_HOST,
	M_FULLHOST,
	M_FULLHOST_FROM,
	M_BSDTAG,
};

/* R_ and S_ prefixes pick the receive/stamp time; plain names use the stamp. */
static const struct {
	const char *name;
	enum macro m;
} macros[] = {
    {"DATE", M_DATE},
    {"ISODATE", M_ISODATE},
    {"FULLDATE", M_FULLDATE},
    {"UNIXTIME", M_UNIXTIME},
    {"STAMP", M_STAMP},
    {"YEAR", M_YEAR},
    {"MONTH", M_MONTH},
    {"MONTH_NAME", M_MONTH_NAME},
    {"MONTHNAME", M_MONTH_NAME},
    {"DAY", M_DAY},
    {"HOUR", M_HOUR},
    {"MIN", M_MIN},
    {"SEC", M_SEC},
    {"WEEKDAY", M_WEEKDAY},
    {"TZOFFSET", M_TZOFFSET},
    {"TZ", M_TZOFFSET},
    {"MSEC", M_MSEC},
    {"USEC", M_USEC},
    {"HOST", M_HOST},
    {"FULLHOST", M_FULLHOST},
    {"FULLHOST_FROM", M_FULLHOST_FROM},
    {"BSDTAG", M_BSDTAG},
    {"FACILITY", M_FACILITY},
    {"FACILITY_NUM", M_FACILITY_NUM},
    {"LEVEL", M_LEVEL},
    {"PRIORITY", M_LEVEL},
    {"SEVERITY", M_LEVEL},
    {"LEVEL_NUM", M_LEVEL_NUM},
    {"SEVERITY_NUM", M_LEVEL_NUM},
    {"PRI", M_PRI},
    {"TAG", M_TAG},
    {"MSGHDR", M_MSGHDR},
    {"SDATA", M_SDATA},
    {"SOURCEIP", M_SOURCEIP},
    {"LOGHOST", M_LOGHOST},
    {"TAGS", M_TAGS},
    {"SEQNUM", M_SEQNUM},
};

struct tmpl_elem {
	char *lit; /* literal text before the macro */
	size_t lit_len;
	enum macro m;		  /* M_NONE: value by name (or no value when !name) */
	int when;		  /* 0 stamp, 1 receive */
	char *name;		  /* name-value pair, or NULL */
	char *deflt;		  /* ${NAME:-default} */
	struct ls_tf *tf;	  /* $(function ...), or NULL */
	struct ls_tmpl **tf_args; /* its arguments that are templates */
	int tf_argc;
	struct ls_vp *vp; /* $(format-json ...), or NULL */
	void *cond;	  /* $(if)/$(grep)'s filter (cond_host's), or NULL */
	const struct ls_tmpl_cond_host *cond_host;
	int cond_kind; /* ls_tf_cond: 1 if, 2 grep */
};

struct ls_tmpl {
	struct tmpl_elem *e;
	size_t n;
};

static bool name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

static void tmpl_push(struct ls_tmpl *t, struct ls_buf *lit, enum macro m, int when, char *name,
		      char *deflt)
{
	struct tmpl_elem *e = realloc(t->e, (t->n + 1) * sizeof *e);
	if (!e)
		abort();
	t->e = e;
	e = &t->e[t->n++];
	e->lit = lit->p ? lit->p : strdup("");
	e->lit_len = lit->len;
	*lit = (struct ls_buf){0};
	e->m = m;
	e->when = when;
	e->name = name;
	e->deflt = deflt;
	e->tf = NULL;
	e->tf_args = NULL;
	e->tf_argc = 0;
	e->vp = NULL;
	e->cond = NULL;
	e->cond_host = NULL;
	e->cond_kind = 0;
}

/* The filter compiler $(if) and $(grep) use: the config's being parsed
 * (cfg.c sets it around the parse), NULL outside one. */
static const struct ls_tmpl_cond_host *cond_host;
static void *cond_ctx;

void ls_tmpl_set_cond_host(const struct ls_tmpl_cond_host *h, void *ctx)
{
	cond_host = h;
	cond_ctx = ctx;
}

/* What $(format-json) (vp.c) uses of this file: the template engine and
 * the message's name-value pairs (see struct ls_vp_host). */
static const struct ls_vp_host vp_host = {ls_tmpl_new,	       ls_tmpl_free,	ls_tmpl_format_opts,
					  ls_tmpl_macro_known, ls_msg_get_name, ls_msg_names};

/*
 * "$(name args...)" from p (at the '('), as 3.38's
 * log_template_compiler_process_arg_list: arguments split at top-level
 * white space, quotes removed at top level and kept inside nested
 * parentheses, a backslash takes the next byte as it is. The function is
 * prepared (tfunc.c) and its template arguments compiled. Returns the
 * position after ')' or NULL with e filled.
 */
static const char *tmpl_func(struct ls_tmpl *t, struct ls_buf *lit, const char *text, const char *p,
			     struct ok_err *e)
{
	char **argv = NULL;
	int argc = 0;
	struct ls_buf arg = {0};
	bool has = false;
	int parens = 1;
	const char *err = NULL;
	p++;
	while (*p && isspace((unsigned char)*p))
		p++;
	while (*p) {
		if (*p == '\\') {
			p++;
			if (!*p)
				break;
		} else if (*p == '(') {
			parens++;
		} else if (*p == ')') {
			if (--parens == 0)
				break;
		} else if (*p == '"' || *p == '\'') {
			const char *q = strchr(p + 1, *p);
			if (!q) {
				err =
				    "Invalid template function reference, missing function name or "
				    "imbalanced '('";
				break;
			}
			if (parens == 1)
				ls_buf_add(&arg, p + 1, (size_t)(q - p - 1));
			else
				ls_buf_add(&arg, p, (size_t)(q - p + 1));
			p = q + 1;
			has = true;
			continue;
		} else if (parens == 1 && isspace((unsigned char)*p)) {
			argv = realloc(argv, (size_t)(argc + 1) * sizeof *argv);
			if (!argv)
				abort();
			argv[argc++] = strndup(arg.p ? arg.p : "", arg.len);
			arg.len = 0;
			has = false;
			while (*p && isspace((unsigned char)*p))
				p++;
			continue;
		}
		ls_buf_addc(&arg, *p++);
		has = true;
	}
	if (has) {
		argv = realloc(argv, (size_t)(argc + 1) * sizeof *argv);
		if (!argv)
			abort();
		argv[argc++] = strndup(arg.p ? arg.p : "", arg.len);
	}
	ls_buf_free(&arg);
	if (!err && (*p != ')' || !argc))
		err = "Invalid template function reference, missing function name or imbalanced "
		      "'('";
	struct ls_tf *f = NULL;
	int *pos = NULL, npos = 0;
	char msg[200];
	if (!err && (!strcmp(argv[0], "format-json") || !strcmp(argv[0], "format-flat-json"))) {
		/* value-pairs need the message, not strings: vp.c */
		struct ls_vp *vp = ls_vp_prepare(argc, argv, &vp_host, e, msg, sizeof msg);
		for (int i = 0; i < argc; i++)
			free(argv[i]);
		free(argv);
		if (!vp) {
			if (msg[0])
				ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "%s, error_pos='%zu'",
					  msg, (size_t)(p - text));
			return NULL;
		}
		tmpl_push(t, lit, M_NONE, 0, NULL, NULL);
		t->e[t->n - 1].vp = vp;
		return p + 1;
	}
	if (!err) {
		pos = calloc((size_t)argc, sizeof *pos);
		if (!pos)
			abort();
		f = ls_tf_prepare(argc, argv, pos, &npos, msg, sizeof msg);
		if (!f)
			err = msg;
	}
	/* $(if)/$(grep): the first argument is a filter expression, as 3.38's
	 * tf_cond_prepare parses it with the configuration's filter grammar */
	void *cond = NULL;
	int cond_kind = f ? ls_tf_cond(f) : 0;
	if (cond_kind) {
		struct ok_err fe = {0};
		cond = cond_host ? cond_host->compile(cond_ctx, argv[pos[0]], &fe) : NULL;
		if (!cond) {
			snprintf(msg, sizeof msg,
				 cond_host
				     ? "$(%s) Error parsing conditional filter expression"
				     : "$(%s) needs a configuration's filters: not supported here",
				 argv[0]);
			err = msg;
		}
		memmove(pos, pos + 1, (size_t)(npos - 1) * sizeof *pos);
		npos--;
	}
	struct ls_tmpl **args = NULL;
	if (f && npos) {
		args = calloc((size_t)npos, sizeof *args);
		if (!args)
			abort();
		for (int i = 0; i < npos && !err; i++) {
			args[i] = ls_tmpl_new(argv[pos[i]], e);
			if (!args[i])
				err = "";
		}
	}
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	free(pos);
	if (err) {
		for (int i = 0; i < npos && args; i++)
			ls_tmpl_free(args[i]);
		free(args);
		ls_tf_free(f);
		if (cond)
			cond_host->free(cond);
		if (*err)
			ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "%s, error_pos='%zu'", err,
				  (size_t)(p - text));
		return NULL;
	}
	tmpl_push(t, lit, M_NONE, 0, NULL, NULL);
	struct tmpl_elem *el = &t->e[t->n - 1];
	el->tf = f;
	el->tf_args = args;
	el->tf_argc = npos;
	el->cond = cond;
	el->cond_host = cond ? cond_host : NULL;
	el->cond_kind = cond_kind;
	return p + 1;
}

bool ls_tmpl_macro_known(const char *name)
{
	const char *base = name;
	if (!strncmp(name, "R_", 2) || !strncmp(name, "S_", 2) || !strncmp(name, "C_", 2))
		base = name + 2;
	for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
		if (!strcmp(base, macros[i].name))
			return true;
	/* the values 3.38 has as macros too */
	return !strcmp(name, "MSG") || !strcmp(name, "MESSAGE") || field_by_name(name) >= 0;
}

static void tmpl_macro(struct ls_tmpl *t, struct ls_buf *lit, const char *name, char *deflt)
{
	const char *base = name;
	int when = 0;
	if (!strncmp(name, "R_", 2)) {
		base = name + 2;
		when = 1;
	} else if (!strncmp(name, "S_", 2) || !strncmp(name, "C_", 2)) {
		base = name + 2;
		when = name[0] == 'C' ? 1 : 0;
	}
	for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
		if (!strcmp(base, macros[i].name)) {
			tmpl_push(t, lit, macros[i].m, when, NULL, deflt);
			return;
		}
	char *n = strdup(name);
	if (!n)
		abort();
	tmpl_push(t, lit, M_NONE, 0, n, deflt);
}

struct ls_tmpl *ls_tmpl_new(const char *text, struct ok_err *e)
{
	struct ls_tmpl *t = calloc(1, sizeof *t);
	struct ls_buf lit = {0};
	if (!t)
		abort();
	for (const char *p = text; *p;) {
		if (*p != '$') {
			ls_buf_addc(&lit, *p++);
			continue;
		}
		p++;
		if (*p == '$') {
			ls_buf_addc(&lit, *p++);
		} else if (*p == '{') {
			const char *end = strchr(p, '}');
			if (!end) {
				ls_buf_free(&lit);
				ls_tmpl_free(t);
				ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
					  "Invalid macro, '}' is missing, error_pos='%zu'",
					  (size_t)(p - text));
				return NULL;
			}
			char *name = strndup(p + 1, (size_t)(end - p - 1));
			char *deflt = NULL;
			char *dd = strstr(name, ":-");
			if (dd) {
				deflt = strdup(dd + 2);
				*dd = 0;
			}
			tmpl_macro(t, &lit, name, deflt);
			free(name);
			p = end + 1;
		} else if (*p == '(') {
			p = tmpl_func(t, &lit, text, p, e);
			if (!p) {
				ls_buf_free(&lit);
				ls_tmpl_free(t);
				return NULL;
			}
		} else if (name_char(*p)) {
			const char *s = p;
			while (name_char(*p))
				p++;
			char *name = strndup(s, (size_t)(p - s));
			tmpl_macro(t, &lit, name, NULL);
			free(name);
		} else {
			ls_buf_addc(&lit, '$');
		}
	}
	if (lit.len || !t->n)
		tmpl_push(t, &lit, M_NONE, 0, NULL, NULL);
	ls_buf_free(&lit);
	return t;
}

void ls_tmpl_free(struct ls_tmpl *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		free(t->e[i].lit);
		free(t->e[i].name);
		free(t->e[i].deflt);
		for (int k = 0; k < t->e[i].tf_argc; k++)
			ls_tmpl_free(t->e[i].tf_args[k]);
		free(t->e[i].tf_args);
		ls_tf_free(t->e[i].tf);
		if (t->e[i].cond)
			t->e[i].cond_host->free(t->e[i].cond);
		ls_vp_free(t->e[i].vp);
	}
	free(t->e);
	free(t);
}

bool ls_tmpl_is_literal(const struct ls_tmpl *t)
{
	return t->n == 1 && t->e[0].m == M_NONE && !t->e[0].name && !t->e[0].tf && !t->e[0].vp;
}

bool ls_tmpl_is_name(const struct ls_tmpl *t)
{
	return t->n == 1 && t->e[0].m == M_NONE && t->e[0].name && !t->e[0].tf && !t->e[0].lit_len;
}

const char *ls_tmpl_fixed_prefix(const struct ls_tmpl *t, size_t *len)
{
	*len = t->e[0].lit_len;
	return t->e[0].lit;
}

/* frac-digits(): '.' and the first n digits of the microseconds (3.38 truncates) */
static void fmt_frac(struct ls_buf *out, int usec, int n)
{
	if (n <= 0)
		return;
	ls_buf_addc(out, '.');
	for (int x = 100000; n && x; x /= 10, n--) {
		ls_buf_addc(out, (char)('0' + usec / x));
		usec %= x;
	}
}

static void fmt_date(struct ls_buf *out, enum macro m, int64_t sec, int usec, int gmtoff,
		     const struct ls_tmpl_opts *o)
{
	static const char wdays[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	int frac = o ? o->frac_digits : 0;
	if (o && o->send_zone) {
		gmtoff = ls_tz_offset(o->send_zone, sec, NULL);
	} else if (o && o->send_tz) { /* opts not made by a config: by name, each time */
		struct ls_tz *z = ls_tz_open(NULL, o->send_tz, NULL);
		gmtoff = z ? ls_tz_offset(z, sec, NULL) : 0;
		ls_tz_free(z);
	}
	time_t t = (time_t)(sec + gmtoff);
	struct tm tm;
	gmtime_r(&t, &tm);
	int off = gmtoff < 0 ? -gmtoff : gmtoff;
	char sign = gmtoff < 0 ? '-' : '+';
	if (m == M_STAMP) /* ts-format(): rfc3164/bsd (default), rfc3339/iso, full, unix */
		m = !o ? M_DATE : o->ts_format;
	switch (m) {
	case M_DATE:
		ls_buf_addf(out, "%s %2d %02d:%02d:%02d", months[tm.tm_mon], tm.tm_mday, tm.tm_hour,
			    tm.tm_min, tm.tm_sec);
		fmt_frac(out, usec, frac);
		break;
	case M_ISODATE:
		ls_buf_addf(out, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		fmt_frac(out, usec, frac);
		ls_buf_addf(out, "%c%02d:%02d", sign, off / 3600, off / 60 % 60);
		break;
	case M_FULLDATE:
		ls_buf_addf(out, "%04d %s %2d %02d:%02d:%02d", tm.tm_year + 1900, months[tm.tm_mon],
			    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		fmt_frac(out, usec, frac);
		break;
	case M_UNIXTIME:
		ls_buf_addf(out, "%lld", (long long)sec);
		fmt_frac(out, usec, frac);
		break;
	case M_MSEC:
		ls_buf_addf(out, "%03d", usec / 1000);
		break;
	case M_USEC:
		ls_buf_addf(out, "%06d", usec);
		break;
	case M_YEAR:
		ls_buf_addf(out, "%04d", tm.tm_year + 1900);
		break;
	case M_MONTH:
		ls_buf_addf(out, "%02d", tm.tm_mon + 1);
		break;
	case M_MONTH_NAME: {
		static const char *const full[12] = {
		    "January", "February", "March",	"April",   "May",      "June",
		    "July",    "August",   "September", "October", "November", "December"};
		ls_buf_add(out, full[tm.tm_mon], strlen(full[tm.tm_mon]));
		break;
	}
	case M_DAY:
		ls_buf_addf(out, "%02d", tm.tm_mday);
		break;
	case M_HOUR:
		ls_buf_addf(out, "%02d", tm.tm_hour);
		break;
	case M_MIN:
		ls_buf_addf(out, "%02d", tm.tm_min);
		break;
	case M_SEC:
		ls_buf_addf(out, "%02d", tm.tm_sec);
		break;
	case M_WEEKDAY:
		ls_buf_add(out, wdays[tm.tm_wday], 3);
		break;
	case M_TZOFFSET:
		ls_buf_addf(out, "%c%02d:%02d", sign, off / 3600, off / 60 % 60);
		break;
	default:
		break;
	}
}

/* Host name of this machine, short form (use-fqdn(no)), into host. Asked
 * on each $LOGHOST (one uname() call) rather than kept in a static. */
static const char *local_host(char host[static 256])
{
	memset(host, 0, 256);
	if (gethostname(host, 255) < 0)
		strcpy(host, "localhost");
	char *dot = strchr(host, '.');
	if (dot)
		*dot = 0;
	return host;
}

static void fmt_macro(struct ls_buf *out, const struct tmpl_elem *e, const struct ls_msg *m,
		      const struct ls_tmpl_opts *o)
{
	size_t n;
	const char *v;
	int fac = (m->pri & 0x3f8) >> 3, sev = m->pri & 7; /* LOG_FACMASK */
	switch (e->m) {
	case M_NONE:
		if (!e->name)
			return;
		v = ls_msg_get_name(m, e->name, &n);
		if (!n && e->deflt)
			ls_buf_add(out, e->deflt, strlen(e->deflt));
		else
			ls_buf_add(out, v, n);
		return;
	case M_HOST:
	case M_FULLHOST:
		v = ls_msg_get(m, LS_HOST, &n);
		if (!n && e->deflt) {
			ls_buf_add(out, e->deflt, strlen(e->deflt));
			return;
		}
		if (e->m == M_HOST && m->chained_host) {
			/* chain-hostnames: "src@host" or "orig/relay"; $HOST is the first name */
			const char *at = memchr(v, '@', n);
			if (at) {
				n -= (size_t)(at + 1 - v);
				v = at + 1;
			}
			const char *sl = memchr(v, '/', n);
			if (sl)
				n = (size_t)(sl - v);
		}
		ls_buf_add(out, v, n);
		return;
	case M_FULLHOST_FROM:
		v = ls_msg_get(m, LS_HOST_FROM, &n);
		ls_buf_add(out, v, n);
		return;
	case M_BSDTAG:
		ls_buf_addf(out, "%d%c", sev, 'A' + fac);
		return;
	case M_FACILITY:
		v = ls_facility_name(fac);
		if (v)
			ls_buf_add(out, v, strlen(v));
		else
			ls_buf_addf(out, "%x", fac);
		return;
	case M_FACILITY_NUM:
		ls_buf_addf(out, "%d", fac);
		return;
	case M_LEVEL:
		ls_buf_add(out, ls_severity_names[sev], strlen(ls_severity_names[sev]));
		return;
	case M_LEVEL_NUM:
		ls_buf_addf(out, "%d", sev);
		return;
	case M_PRI:
		ls_buf_addf(out, "%d", m->pri);
		return;
	case M_TAG:
		ls_buf_addf(out, "%02x", m->pri);
		return;
	case M_MSGHDR:
		if (m->f[LS_LEGACY_MSGHDR].set) {
			v = ls_msg_get(m, LS_LEGACY_MSGHDR, &n);
			ls_buf_add(out, v, n);
		} else {
			v = ls_msg_get(m, LS_PROGRAM, &n);
			if (n) {
				ls_buf_add(out, v, n);
				v = ls_msg_get(m, LS_PID, &n);
				if (n) {
					ls_buf_addc(out, '[');
					ls_buf_add(out, v, n);
					ls_buf_addc(out, ']');
				}
				ls_buf_add(out, ": ", 2);
			}
		}
		return;
	case M_SDATA:
		/* SD elements in the order they were set: a Cisco sequence id and
		 * time quality while parsing, a unix source's sequence id after */
		v = ls_msg_get(m, LS_SDATA, &n);
		if (m->seq_cisco)
			ls_buf_addf(out, "[meta sequenceId=\"%.*s\"]", (int)m->cisco_seq_len,
				    m->store.p + m->cisco_seq_off);
		if (m->time_quality)
			ls_buf_addf(out, "[timeQuality isSynced=\"%d\"]", m->time_quality - 1);
		ls_buf_add(out, v, n);
		if (!m->seq_cisco && m->seq)
			ls_buf_addf(out, "[meta sequenceId=\"%d\"]", m->seq);
		return;
	case M_SOURCEIP: {
		char ip[64] = "127.0.0.1";
		if (m->saddr.ss_family == AF_INET || m->saddr.ss_family == AF_INET6) {
			ls_addr_str(&m->saddr, ip, sizeof ip);
		}
		ls_buf_add(out, ip, strlen(ip));
		return;
	}
	case M_LOGHOST: {
		char host[256];
		v = local_host(host);
		ls_buf_add(out, v, strlen(v));
		return;
	}
	case M_TAGS: {
		/* 3.38's log_msg_format_tags: set tags in id order, each
		 * str_repr-encoded ("" for an empty name, "a,b" quoted) */
		bool first = true;
		for (unsigned w = 0; w < (m->n_tagw ? m->n_tagw : 1); w++)
			for (uint64_t b = m->tagw[w]; b; b &= b - 1) {
				const char *name = ls_tags_name(
				    m->tagtab, (int)(w * 64 + (unsigned)__builtin_ctzll(b)));
				if (!name)
					continue;
				if (!first)
					ls_buf_addc(out, ',');
				ls_str_repr_encode(out, name, strlen(name), ",");
				first = false;
			}
		return;
	}
	case M_SEQNUM: {
		/* 3.38's log_writer_format_log: the writer's count for a local
		 * message, else meta.sequenceId as strtol reads it (0: nothing) */
		unsigned long s = 0;
		if (m->saddr.ss_family == AF_UNIX || m->saddr.ss_family == AF_UNSPEC) {
			s = o ? o->seq_num : 0;
		} else {
			char id[24] = "";
			if (m->seq_cisco) {
				snprintf(id, sizeof id, "%.*s", (int)m->cisco_seq_len,
					 m->store.p + m->cisco_seq_off);
			} else {
				v = ls_msg_get_name(m, ".SDATA.meta.sequenceId", &n);
				snprintf(id, sizeof id, "%.*s", (int)n, v);
			}
			s = (uint32_t)strtol(id, NULL, 10);
		}
		if (s)
			ls_buf_addf(out, "%lu", s);
		return;
	}
	default:
		if (e->when)
			fmt_date(out, e->m, m->recv_sec, m->recv_usec, m->recv_gmtoff, o);
		else
			fmt_date(out, e->m, m->stamp_sec, m->stamp_usec, m->stamp_gmtoff, o);
	}
}

/* template-escape(yes), as 3.38's result_append: \' \" \\ and octal \ooo below ' ' */
static void escape_tail(struct ls_buf *out, size_t from)
{
	size_t n = out->len - from;
	if (!n)
		return;
	char *v = malloc(n);
	if (!v)
		abort();
	memcpy(v, out->p + from, n);
	out->len = from;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)v[i];
		if (ch == '\'' || ch == '"' || ch == '\\') {
			ls_buf_addc(out, '\\');
			ls_buf_addc(out, (char)ch);
		} else if (ch < ' ') {
			ls_buf_addf(out, "\\%03o", ch);
		} else {
			ls_buf_addc(out, (char)ch);
		}
	}
	free(v);
}

void ls_tmpl_format_opts(const struct ls_tmpl *t, const struct ls_msg *m,
			 const struct ls_tmpl_opts *o, struct ls_buf *out)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct tmpl_elem *e = &t->e[i];
		if (e->lit_len)
			ls_buf_add(out, e->lit, e->lit_len);
		if (e->vp) {
			ls_vp_format_json(e->vp, m, o, out);
		} else if (e->cond && e->cond_kind == 1) {
			/* tf_if_call: the second or the third argument, as it formats */
			bool yes = e->cond_host->eval(e->cond, (struct ls_msg *)m);
			ls_tmpl_format_opts(e->tf_args[yes ? 0 : 1], m, o, out);
		} else if (e->cond) {
			/* tf_grep_call over a context of one message: its arguments,
			 * ','-separated, when it matches */
			if (e->cond_host->eval(e->cond, (struct ls_msg *)m))
				for (int k = 0; k < e->tf_argc; k++) {
					if (k)
						ls_buf_addc(out, ',');
					ls_tmpl_format_opts(e->tf_args[k], m, o, out);
				}
		} else if (e->tf) {
			/* arguments formatted (escaped) as templates, the result as it is */
			struct ls_buf av[16], *argv = e->tf_argc <= 16 ? av : NULL;
			if (!argv) {
				argv = calloc((size_t)e->tf_argc, sizeof *argv);
				if (!argv)
					abort();
			}
			for (int k = 0; k < e->tf_argc; k++) {
				argv[k] = (struct ls_buf){0};
				ls_tmpl_format_opts(e->tf_args[k], m, o, &argv[k]);
				ls_buf_addc(&argv[k], 0); /* NUL-ended for the functions */
				argv[k].len--;
			}
			ls_tf_call(e->tf, e->tf_argc, argv, out);
			for (int k = 0; k < e->tf_argc; k++)
				ls_buf_free(&argv[k]);
			if (argv != av)
				free(argv);
		} else if (e->m != M_NONE || e->name) {
			size_t from = out->len;
			fmt_macro(out, e, m, o);
			if (out->len == from && e->deflt) /* ${MACRO:-default} of any macro */
				ls_buf_add(out, e->deflt, strlen(e->deflt));
			if (o && o->escape)
				escape_tail(out, from);
		}
	}
}

void ls_tmpl_format(const struct ls_tmpl *t, const struct ls_msg *m, struct ls_buf *out)
{
	ls_tmpl_format_opts(t, m, NULL, out);
}

int ls_tmpl_ts_format(const char *w)
{
	if (!strcmp(w, "rfc3164") || !strcmp(w, "bsd"))
		return M_DATE;
	if (!strcmp(w, "rfc3339") || !strcmp(w, "iso"))
		return M_ISODATE;
	if (!strcmp(w, "full"))
		return M_FULLDATE;
	if (!strcmp(w, "unix") || !strcmp(w, "utc"))
		return M_UNIXTIME;
	return -1;
}

/* The sender's address as text (IPv4-mapped IPv6 as IPv4); anything not
 * IP is the local host, as 3.38 shows unix-socket senders. 0 or -errno. */
int ls_addr_str(const struct sockaddr_storage *sa, char *buf, size_t n)
{
	if (sa->ss_family == AF_INET)
		return inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf,
				 (socklen_t)n)
			   ? 0
			   : -errno;
	if (sa->ss_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			return inet_ntop(AF_INET, a->s6_addr + 12, buf, (socklen_t)n) ? 0 : -errno;
		return inet_ntop(AF_INET6, a, buf, (socklen_t)n) ? 0 : -errno;
	}
	snprintf(buf, n, "127.0.0.1");
	return 0;
}
