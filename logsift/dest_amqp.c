/*
 * dest_amqp.c: the amqp() destination, as syslog-ng 3.38's afamqp module
 * (modules/afamqp/afamqp.c) publishes, over librabbitmq (rabbitmq-c, the
 * library afamqp uses), plus publisher confirms, which 3.38 does not have.
 *
 * Divisions: loading librabbitmq, options (amqp() and its value-pairs()),
 * the queued record (routing key, headers, body), the connection, the
 * event-loop side (flush, events, service).
 *
 * Why dlopen: librabbitmq links libssl and libcrypto; linking it would make
 * every logsift start pay their relocations (tls_mod.c measured 3 ms of CPU
 * a start). It is loaded when a config has an amqp() destination; when it
 * cannot be, the amqp() is refused at start-up with file:line.
 *
 * What is published for one message, as 3.38 (afamqp_worker_publish):
 * exchange() (syslog), routing-key() formatted (""), body() formatted ("" when
 * not given), properties content-type "text/plain", delivery-mode 2
 * (persistent(yes)) or 1, and as headers the value-pairs() (3.38's default:
 * scope(selected-macros nv-pairs sdata)) sorted by name (strcmp), each a
 * longstr; every string ends at its first NUL, as 3.38's
 * cbytes() cuts it. $SEQNUM is the destination's own sequence
 * number from 1, as 3.38's threaded destinations count.
 *
 * Delivery (design notes):
 *   (1) A message is formatted once, at routing, into the writer's byte FIFO
 *       as one record (struct layout below), so queues, log-fifo-size() and
 *       disk-buffer() hold it like any other destination's line.
 *   (2) The channel is in confirm mode (confirm.select). Messages from the
 *       FIFO's head on are published; the first `inflight` entries of the
 *       queue are the published ones, delivery tags tag0.. in order. A
 *       message leaves the queue (and its disk-buffer record is
 *       acknowledged) only when the broker confirmed it (basic.ack, single
 *       or multiple), so the head of the queue is always the oldest
 *       unconfirmed message.
 *   (3) At most WINDOW messages and WINDOW_BYTES bytes are unconfirmed. The
 *       socket's send buffer is set larger than WINDOW_BYTES, so a publish
 *       never blocks the event loop, even when the broker stops reading (a
 *       memory alarm): the bytes the broker has not read are at most the
 *       unconfirmed ones. A message larger than the window goes alone.
 *   (4) Any error (connect, login, publish, a nack, a channel or
 *       connection close from the broker, a missed heartbeat) closes the
 *       connection; after time-reopen() a new one publishes from the queue's
 *       head again. So nothing is lost, and a message is published twice
 *       only when it was unconfirmed when the connection died: duplicates
 *       are bounded by the window.
 *   (5) Connecting and login are blocking calls (as 3.38's worker thread
 *       makes them) bounded by timeouts: TCP connect 1 s (3.38's), AMQP
 *       handshake and RPCs 5 s. During them the event loop waits.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_ssl_socket.h>
#include <amqp_tcp_socket.h>

#include "ls_int.h"

#define WINDOW	      1000	  /* unconfirmed messages at most */
#define WINDOW_BYTES  (256 << 10) /* unconfirmed bytes at most (design note 3) */
#define SNDBUF_BYTES  (512 << 10) /* asked for; above WINDOW_BYTES */
#define RPC_TIMEOUT_S 5

/* ------------------------------------------------------ loading librabbitmq */

#define AMQP_FUNCS(X)                                                                              \
	X(amqp_new_connection)                                                                     \
	X(amqp_destroy_connection)                                                                 \
	X(amqp_tcp_socket_new)                                                                     \
	X(amqp_ssl_socket_new)                                                                     \
	X(amqp_ssl_socket_set_cacert)                                                              \
	X(amqp_ssl_socket_set_key)                                                                 \
	X(amqp_ssl_socket_set_verify_peer)                                                         \
	X(amqp_ssl_socket_set_verify_hostname)                                                     \
	X(amqp_socket_open_noblock)                                                                \
	X(amqp_set_handshake_timeout)                                                              \
	X(amqp_set_rpc_timeout)                                                                    \
	X(amqp_login)                                                                              \
	X(amqp_channel_open)                                                                       \
	X(amqp_get_rpc_reply)                                                                      \
	X(amqp_exchange_declare)                                                                   \
	X(amqp_confirm_select)                                                                     \
	X(amqp_basic_publish)                                                                      \
	X(amqp_simple_wait_frame_noblock)                                                          \
	X(amqp_get_sockfd)                                                                         \
	X(amqp_get_heartbeat)                                                                      \
	X(amqp_error_string2)                                                                      \
	X(amqp_connection_close)                                                                   \
	X(amqp_maybe_release_buffers)

#define FIELD(name) __typeof__(name) *name;
static struct {
	AMQP_FUNCS(FIELD)
} rmq;
static char load_why[300];

/* True once rmq is filled from librabbitmq.so.4 (load_why says why not). */
static bool rmq_load(void)
{
	if (rmq.amqp_new_connection)
		return true;
	void *h = dlopen("librabbitmq.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		snprintf(load_why, sizeof load_why, "%s", dlerror());
		return false;
	}
#define LOOKUP(name)                                                                               \
	*(void **)&rmq.name = dlsym(h, #name);                                                     \
	if (!rmq.name) {                                                                           \
		snprintf(load_why, sizeof load_why, "%s", dlerror());                              \
		memset(&rmq, 0, sizeof rmq);                                                       \
		return false;                                                                      \
	}
	AMQP_FUNCS(LOOKUP)
	return true;
}

/* amqp_cstring_bytes() without calling into the library. */
static amqp_bytes_t cbytes(const char *s)
{
	return (amqp_bytes_t){strlen(s), (void *)s};
}

/* ----------------------------------------------------------------- options */

enum {
	VPS_NV = 1,
	VPS_DOT_NV = 2,
	VPS_RFC3164 = 4,
	VPS_RFC5424 = 8,
	VPS_SELECTED = 16,
	VPS_SDATA = 32
};

struct vp_pattern {
	char *glob;
	bool include; /* key() (true) or exclude() (false) */
};
struct vp_pair {
	char *name;
	struct ls_tmpl *tmpl;
};

struct ls_amqp {
	const char *file; /* where the amqp() is, for messages */
	int line;
	char *host, *vhost, *exchange, *exchange_type, *user, *password;
	int port;
	bool declare, persistent;
	bool external; /* auth-method(external), else plain */
	int max_channel, frame_size, heartbeat;
	struct ls_tmpl *routing_key, *body; /* body NULL: empty body (3.38) */
	char *ca_file, *cert_file, *key_file;
	bool peer_verify;
	bool tls_opt; /* some TLS option given (then ca-file() is required) */
	unsigned scopes;
	struct vp_pattern *pat;
	size_t n_pat;
	struct vp_pair *pairs;
	size_t n_pairs;
};

static char *xdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

struct ls_amqp *ls_amqp_new(const char *file, int line, char *err, size_t errlen)
{
	if (!rmq_load()) {
		snprintf(err, errlen, "amqp() needs librabbitmq, which cannot be loaded (%s)",
			 load_why);
		return NULL;
	}
	struct ls_amqp *a = calloc(1, sizeof *a);
	if (!a)
		abort();
	a->file = file;
	a->line = line;
	/* 3.38's afamqp_dd_new() defaults */
	a->host = xdup("127.0.0.1");
	a->port = 5672;
	a->vhost = xdup("/");
	a->exchange = xdup("syslog");
	a->exchange_type = xdup("fanout");
	a->persistent = true;
	a->max_channel = AMQP_DEFAULT_MAX_CHANNELS;
	a->frame_size = AMQP_DEFAULT_FRAME_SIZE;
	a->peer_verify = true;
	a->routing_key = ls_tmpl_new("", NULL);
	a->scopes = VPS_SELECTED | VPS_NV | VPS_SDATA;
	return a;
}

void ls_amqp_free(struct ls_amqp *a)
{
	if (!a)
		return;
	free(a->host);
	free(a->vhost);
	free(a->exchange);
	free(a->exchange_type);
	free(a->user);
	free(a->password);
	free(a->ca_file);
	free(a->cert_file);
	free(a->key_file);
	ls_tmpl_free(a->routing_key);
	ls_tmpl_free(a->body);
	for (size_t i = 0; i < a->n_pat; i++)
		free(a->pat[i].glob);
	free(a->pat);
	for (size_t i = 0; i < a->n_pairs; i++) {
		free(a->pairs[i].name);
		ls_tmpl_free(a->pairs[i].tmpl);
	}
	free(a->pairs);
	free(a);
}

/* Option names compare with '_' and '-' alike, as the config lexer does. */
static bool is(const char *a, const char *b)
{
	for (; *a && *b; a++, b++)
		if ((*a == '_' ? '-' : *a) != (*b == '_' ? '-' : *b))
			return false;
	return *a == *b;
}

static int yesno(const char *v, bool *out)
{
	if (!strcasecmp(v, "yes") || !strcasecmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcasecmp(v, "no") || !strcasecmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -EINVAL;
	return 0;
}

/* A number in [min, INT_MAX]: 0 or -EINVAL. */
static int number(const char *v, long min, int *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 0);
	if (errno || end == v || *end || n < min || n > 0x7fffffff)
		return -EINVAL;
	*out = (int)n;
	return 0;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xdup(v);
}

static int set_tmpl(struct ls_tmpl **dst, const char *v, char *err, size_t errlen)
{
	struct ok_err e;
	struct ls_tmpl *t = ls_tmpl_new(v, &e);
	if (!t) {
		snprintf(err, errlen, "%s", e.msg);
		return -EINVAL;
	}
	ls_tmpl_free(*dst);
	*dst = t;
	return 0;
}

int ls_amqp_opt_set(struct ls_amqp *a, const char *name, const char *const *vals, size_t n,
		    char *err, size_t errlen)
{
	static const char *const strs[] = {"host",     "vhost",	      "exchange", "exchange-type",
					   "username", "password",    "ca-file",  "cert-file",
					   "key-file", "auth-method", NULL};
	static const char *const nums[] = {"port", "max-channel", "frame-size", "heartbeat", NULL};
	static const char *const bools[] = {"exchange-declare", "persistent", "peer-verify", NULL};
	static const char *const tmpls[] = {"routing-key", "body", NULL};
	const char *const *lists[] = {strs, nums, bools, tmpls};
	bool known = false;
	for (size_t l = 0; l < 4 && !known; l++)
		for (const char *const *p = lists[l]; *p && !known; p++)
			known = is(name, *p);
	if (!known) {
		snprintf(err, errlen, "unknown amqp() option %s()", name);
		return -ENOENT;
	}
	if (n != 1 || !vals[0]) {
		snprintf(err, errlen, "%s() takes one value", name);
		return -EINVAL;
	}
	const char *v = vals[0];
	int r = 0;
	if (is(name, "host"))
		set_str(&a->host, v);
	else if (is(name, "vhost"))
		set_str(&a->vhost, v);
	else if (is(name, "exchange"))
		set_str(&a->exchange, v);
	else if (is(name, "exchange-type"))
		set_str(&a->exchange_type, v);
	else if (is(name, "username"))
		set_str(&a->user, v);
	else if (is(name, "password"))
		set_str(&a->password, v);
	else if (is(name, "ca-file") || is(name, "cert-file") || is(name, "key-file")) {
		set_str(is(name, "ca-file")	? &a->ca_file
			: is(name, "cert-file") ? &a->cert_file
						: &a->key_file,
			v);
		a->tls_opt = true;
	} else if (is(name, "auth-method")) {
		if (!strcasecmp(v, "plain"))
			a->external = false;
		else if (!strcasecmp(v, "external"))
			a->external = true;
		else
			r = -EINVAL;
		if (r)
			snprintf(err, errlen, "unknown auth-method() argument");
		return r;
	} else if (is(name, "port") || is(name, "max-channel") || is(name, "frame-size")) {
		r = number(v, 1,
			   is(name, "port")	     ? &a->port
			   : is(name, "max-channel") ? &a->max_channel
						     : &a->frame_size);
		if (r)
			snprintf(err, errlen, "%s() needs a positive integer", name);
	} else if (is(name, "heartbeat")) {
		r = number(v, 0, &a->heartbeat);
		if (r)
			snprintf(err, errlen, "heartbeat() needs a non-negative integer");
	} else if (is(name, "exchange-declare") || is(name, "persistent") ||
		   is(name, "peer-verify")) {
		r = yesno(v, is(name, "exchange-declare") ? &a->declare
			     : is(name, "persistent")	  ? &a->persistent
							  : &a->peer_verify);
		if (r)
			snprintf(err, errlen, "%s() needs yes or no", name);
		if (is(name, "peer-verify"))
			a->tls_opt = true;
	} else {
		r = set_tmpl(is(name, "body") ? &a->body : &a->routing_key, v, err, errlen);
	}
	return r;
}

/* The value-pairs scopes, as 3.38's value_pair_scope[] table. */
static const struct {
	const char *name;
	unsigned bits;
} scopes[] = {
    {"nv-pairs", VPS_NV},     {"dot-nv-pairs", VPS_DOT_NV},  {"all-nv-pairs", VPS_NV | VPS_DOT_NV},
    {"rfc3164", VPS_RFC3164}, {"core", VPS_RFC3164},	     {"base", VPS_RFC3164},
    {"rfc5424", VPS_RFC5424}, {"syslog-proto", VPS_RFC5424}, {"selected-macros", VPS_SELECTED},
    {"sdata", VPS_SDATA},
};

int ls_amqp_vp_reset(struct ls_amqp *a)
{
	a->scopes = 0; /* value-pairs() replaces the default set (3.38) */
	return 0;
}

int ls_amqp_vp_set(struct ls_amqp *a, const char *name, const char *const *vals, size_t n,
		   char *err, size_t errlen)
{
	if (is(name, "scope")) {
		for (size_t i = 0; i < n; i++) {
			size_t k = 0;
			while (k < sizeof scopes / sizeof scopes[0] && !is(vals[i], scopes[k].name))
				k++;
			if (k == sizeof scopes / sizeof scopes[0]) {
				snprintf(err, errlen,
					 is(vals[i], "all-macros") || is(vals[i], "everything")
					     ? "value-pairs scope %s is not supported by logsift"
					     : "unknown value-pairs scope %s",
					 vals[i]);
				return is(vals[i], "all-macros") || is(vals[i], "everything")
					   ? -ENOTSUP
					   : -EINVAL;
			}
			a->scopes |= scopes[k].bits;
		}
		return 0;
	}
	if (is(name, "key") || is(name, "exclude")) {
		for (size_t i = 0; i < n; i++) {
			struct vp_pattern *p = realloc(a->pat, (a->n_pat + 1) * sizeof *p);
			if (!p)
				abort();
			a->pat = p;
			a->pat[a->n_pat++] = (struct vp_pattern){xdup(vals[i]), is(name, "key")};
		}
		return 0;
	}
	if (is(name, "pair")) {
		if (n != 2) {
			snprintf(err, errlen, "pair() takes a name and a value");
			return -EINVAL;
		}
		struct ls_tmpl *t = NULL;
		if (set_tmpl(&t, vals[1], err, errlen) < 0)
			return -EINVAL;
		struct vp_pair *p = realloc(a->pairs, (a->n_pairs + 1) * sizeof *p);
		if (!p)
			abort();
		a->pairs = p;
		a->pairs[a->n_pairs++] = (struct vp_pair){xdup(vals[0]), t};
		return 0;
	}
	snprintf(err, errlen, "value-pairs() option %s() is not supported by logsift", name);
	return -ENOTSUP;
}

/* The last matching pattern decides; deflt when none matches (3.38's vp_find_in_set). */
static bool vp_included(const struct ls_amqp *a, const char *name, bool deflt)
{
	for (size_t i = 0; i < a->n_pat; i++)
		if (ls_glob_match(a->pat[i].glob, name))
			deflt = a->pat[i].include;
	return deflt;
}

/* The macros 3.38 sets (rfc3164, rfc5424, selected-macros) that logsift has. */
static const char *const set3164[] = {"FACILITY", "PRIORITY", "HOST", "PROGRAM",
				      "PID",	  "MESSAGE",  "DATE", NULL};
static const char *const set5424[] = {"MSGID", NULL};
static const char *const set_selected[] = {"TAGS", "SOURCEIP", "SEQNUM", NULL};

/* 3.38's macro names (lib/template/macros.c): a key() pattern adds those it
 * matches; logsift refuses a pattern matching one it does not have. */
static const char *const sng_macros[] = {"FACILITY_NUM",
					 "SEVERITY",
					 "SEVERITY_NUM",
					 "LEVEL",
					 "LEVEL_NUM",
					 "TAG",
					 "BSDTAG",
					 "PRI",
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
					 "R_*",
					 "S_*",
					 "C_*",
					 "P_*",
					 "SDATA",
					 "MSGHDR",
					 "DESTIP",
					 "DESTPORT",
					 "PROTO",
					 "CONTEXT_ID",
					 "_",
					 "RCPTID",
					 "RUNID",
					 "HOSTID",
					 "UNIQID",
					 "MSG",
					 "LOGHOST",
					 NULL};

int ls_amqp_check(struct ls_amqp *a, char *err, size_t errlen)
{
	if (!a->external && (!a->user || !a->password)) {
		snprintf(err, errlen,
			 "Error initializing AMQP destination: username and password MUST be set!");
		return -EINVAL;
	}
	if (a->tls_opt && !a->ca_file) {
		/* 3.38 connects in cleartext then: refused, never cleartext */
		snprintf(err, errlen,
			 "TLS options without ca-file() (syslog-ng 3.38 would connect in "
			 "cleartext) are not supported by logsift");
		return -ENOTSUP;
	}
	if (a->ca_file && !a->cert_file != !a->key_file) {
		snprintf(err, errlen,
			 "cert-file() and key-file() go together (syslog-ng 3.38 ignores one "
			 "alone); not supported by logsift");
		return -ENOTSUP;
	}
	for (size_t i = 0; i < a->n_pat; i++) {
		if (!a->pat[i].include)
			continue;
		for (const char *const *m = sng_macros; *m; m++) {
			/* "R_*" stands for the R_ macros: a pattern that can match one */
			bool fam = (*m)[1] == '_' && (*m)[2] == '*';
			char probe[8];
			snprintf(probe, sizeof probe, "%c_DATE", (*m)[0]);
			if (ls_glob_match(a->pat[i].glob, fam ? probe : *m)) {
				snprintf(err, errlen,
					 "value-pairs key(\"%s\") matches the macro %s, which "
					 "logsift's value-pairs() does not have; not supported "
					 "by logsift",
					 a->pat[i].glob, fam ? probe : *m);
				return -ENOTSUP;
			}
		}
	}
	return 0;
}

const char *ls_amqp_host(const struct ls_amqp *a)
{
	return a->host;
}

int ls_amqp_port(const struct ls_amqp *a)
{
	return a->port;
}

/* Same broker and exchange (a reload keeps the writer and its queue). */
static bool amqp_same(const struct ls_ddrv *da, const struct ls_ddrv *db)
{
	const struct ls_amqp *a = da->amqp, *b = db->amqp;
	return a && b && !strcmp(a->host, b->host) && a->port == b->port &&
	       !strcmp(a->vhost, b->vhost) && !strcmp(a->exchange, b->exchange) &&
	       !strcmp(a->exchange_type, b->exchange_type);
}

/* ------------------------------------------------------------------ record */

/*
 * One queued message (design note 1), host byte order (the disk buffer is
 * local): u32 routing key length, the key; u32 header count; per header u32
 * name length, name, u32 value length, value; then the body to the end.
 */
static void put32(struct ls_buf *b, size_t v)
{
	uint32_t x = (uint32_t)v;
	ls_buf_add(b, &x, 4);
}

/* The bytes of out from `from` on cut at their first NUL (amqp_cstring_bytes). */
static void cut_nul(struct ls_buf *out, size_t from)
{
	char *z = memchr(out->p + from, 0, out->len - from);
	if (z)
		out->len = (size_t)(z - out->p);
}

/* A string field: length word, then the bytes fn appends (cut at NUL). */
#define FIELD_BEGIN(out, at)                                                                       \
	size_t at = (out)->len;                                                                    \
	put32(out, 0)
static void field_end(struct ls_buf *out, size_t at)
{
	cut_nul(out, at + 4);
	uint32_t n = (uint32_t)(out->len - at - 4);
	memcpy(out->p + at, &n, 4);
}

struct hdr {
	const char *name;
	uint32_t off, len; /* value in the scratch buffer */
};

static int hdr_cmp(const void *x, const void *y)
{
	const struct hdr *a = x, *b = y;
	int c = strcmp(a->name, b->name);
	/* equal names: the later insertion wins (GTree replaces the value) */
	return c ? c : (a->off < b->off ? -1 : a->off > b->off);
}

/* Format a value by name ("${NAME}") with the destination's options. */
static void fmt_name(const char *name, const struct ls_msg *m, const struct ls_tmpl_opts *o,
		     struct ls_buf *out)
{
	char t[300];
	snprintf(t, sizeof t, "${%s}", name);
	struct ls_tmpl *tp = ls_tmpl_new(t, NULL);
	if (tp) {
		ls_tmpl_format_opts(tp, m, o, out);
		ls_tmpl_free(tp);
	}
}

static void add_hdr(struct hdr **h, size_t *n, size_t *cap, const char *name, uint32_t off,
		    uint32_t len)
{
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 32;
		*h = realloc(*h, *cap * sizeof **h);
		if (!*h)
			abort();
	}
	(*h)[(*n)++] = (struct hdr){name, off, len};
}

/* The builtins of one set, unless a pattern excludes them (vp_merge_set). */
static void add_set(struct ls_amqp *a, const char *const *set, const struct ls_msg *m,
		    const struct ls_tmpl_opts *o, struct ls_buf *vals, struct hdr **h, size_t *n,
		    size_t *cap)
{
	for (; *set; set++) {
		if (!vp_included(a, *set, true))
			continue;
		size_t at = vals->len;
		fmt_name(*set, m, o, vals);
		cut_nul(vals, at);
		if (vals->len == at)
			continue; /* 3.38 skips empty builtins */
		add_hdr(h, n, cap, *set, (uint32_t)at, (uint32_t)(vals->len - at));
	}
}

void ls_amqp_format(struct ls_ddrv *d, const struct ls_msg *m, struct ls_buf *out)
{
	struct ls_amqp *a = d->amqp;
	const struct ls_tmpl_opts *o = &d->topts;
	FIELD_BEGIN(out, rk);
	struct ls_tmpl_opts lo = *o;
	lo.send_tz = NULL; /* 3.38 formats the routing key in local-time-zone() */
	ls_tmpl_format_opts(a->routing_key, m, &lo, out);
	field_end(out, rk);

	/* value-pairs: nv-pairs, builtins, pair()s; sorted, the last of a name wins */
	struct ls_buf vals = {0};
	struct hdr *h = NULL;
	size_t n = 0, cap = 0;
	if (a->scopes & (VPS_NV | VPS_DOT_NV | VPS_SDATA | VPS_RFC5424) || a->n_pat) {
		const char *names[256];
		size_t k = ls_msg_names(m, names, 256);
		for (size_t i = 0; i < k && i < 256; i++) {
			const char *nm = names[i];
			bool sd = !strncmp(nm, ".SDATA.", 7);
			bool inc = (nm[0] == '.' && (a->scopes & VPS_DOT_NV)) ||
				   (nm[0] != '.' && (a->scopes & VPS_NV)) ||
				   (sd && (a->scopes & (VPS_SDATA | VPS_RFC5424)));
			if (!vp_included(a, nm, inc))
				continue;
			size_t len, at = vals.len;
			const char *v = ls_msg_get_name(m, nm, &len);
			ls_buf_add(&vals, v, len);
			cut_nul(&vals, at);
			add_hdr(&h, &n, &cap, nm, (uint32_t)at, (uint32_t)(vals.len - at));
		}
	}
	if (a->n_pat) {
		/* vp_merge_macros: macros a key() names (ls_amqp_check allowed only these) */
		static const char *const *sets[] = {set3164, set5424, set_selected};
		for (size_t s = 0; s < 3; s++)
			for (const char *const *p = sets[s]; *p; p++) {
				const char *one[2] = {*p, NULL};
				if (vp_included(a, *p, false))
					add_set(a, one, m, o, &vals, &h, &n, &cap);
			}
	}
	if (a->scopes & (VPS_RFC3164 | VPS_RFC5424 | VPS_SELECTED))
		add_set(a, set3164, m, o, &vals, &h, &n, &cap);
	if (a->scopes & VPS_RFC5424)
		add_set(a, set5424, m, o, &vals, &h, &n, &cap);
	if (a->scopes & VPS_SELECTED)
		add_set(a, set_selected, m, o, &vals, &h, &n, &cap);
	for (size_t i = 0; i < a->n_pairs; i++) {
		size_t at = vals.len;
		ls_tmpl_format_opts(a->pairs[i].tmpl, m, o, &vals);
		cut_nul(&vals, at);
		add_hdr(&h, &n, &cap, a->pairs[i].name, (uint32_t)at, (uint32_t)(vals.len - at));
	}
	qsort(h, n, sizeof *h, hdr_cmp);
	size_t uniq = 0;
	for (size_t i = 0; i < n; i++)
		if (i + 1 == n || strcmp(h[i].name, h[i + 1].name))
			uniq++;
	put32(out, uniq);
	for (size_t i = 0; i < n; i++) {
		if (i + 1 < n && !strcmp(h[i].name, h[i + 1].name))
			continue;
		size_t nl = strlen(h[i].name);
		put32(out, nl);
		ls_buf_add(out, h[i].name, nl);
		put32(out, h[i].len);
		ls_buf_add(out, vals.p + h[i].off, h[i].len);
	}
	free(h);
	ls_buf_free(&vals);
	if (a->body) {
		size_t at = out->len;
		ls_tmpl_format_opts(a->body, m, o, out);
		cut_nul(out, at);
	}
}

/* ------------------------------------------------------------- connection */

/* A writer's connection (w->wctx): exists while connected. */
struct amqp_conn {
	amqp_connection_state_t conn;
	uint64_t tag0;	      /* delivery tag of q[qh], the oldest unconfirmed */
	size_t inflight;      /* published, unconfirmed: q[qh .. qh + inflight) */
	size_t sent_bytes;    /* their bytes, from w->head on */
	unsigned char *acked; /* [i]: tag0 + i confirmed (out of order) */
	amqp_table_entry_t *ent;
	size_t ent_cap;
	int heartbeat;	/* negotiated, seconds (0: none) */
	int64_t hb_ms;	/* when to look at the socket for heartbeats next */
	bool recovered; /* said "recovered" since the last error */
};

static const char *dname(const struct ls_writer *w)
{
	return w->dst->name;
}

static int reopen_s(struct ls_cfg *c, const struct ls_ddrv *d)
{
	return d->time_reopen >= 0 ? d->time_reopen : c->o.time_reopen;
}

static void conn_free(struct ls_writer *w, bool polite)
{
	struct amqp_conn *s = w->wctx;
	if (!s)
		return;
	if (polite) {
		/* a stop must not wait for a broker that does not answer */
		struct timeval tv = {0, 500000};
		rmq.amqp_set_rpc_timeout(s->conn, &tv);
		rmq.amqp_connection_close(s->conn, AMQP_REPLY_SUCCESS);
	}
	rmq.amqp_destroy_connection(s->conn);
	free(s->acked);
	free(s->ent);
	free(s);
	w->wctx = NULL;
	w->fd = -1;
}

/*
 * Give up the connection after an error (design note 4): said once per
 * run of failures on the notices stream in 3.38's words, counted in failed,
 * retried time-reopen() seconds later from the queue's head.
 */
static void fail(struct ls_cfg *c, struct ls_writer *w, const char *what, const char *error)
{
	FILE *f = w->rt ? w->rt->notices : NULL;
	w->dst->failed++;
	if (f && !w->failing)
		fprintf(f, "%s; server='%s', error='%s', destination='%s', time_reopen='%d'\n",
			what, w->path, error, dname(w), reopen_s(c, w->drv));
	w->failing = true;
	conn_free(w, false);
	w->retry_ms = ls_now_ms() + 1000LL * reopen_s(c, w->drv);
}

/* A broker reply: ok, or its words in buf (afamqp_is_ok's cases). */
static bool reply_ok(amqp_rpc_reply_t r, char *buf, size_t n)
{
	switch (r.reply_type) {
	case AMQP_RESPONSE_NORMAL:
		return true;
	case AMQP_RESPONSE_LIBRARY_EXCEPTION:
		snprintf(buf, n, "%s", rmq.amqp_error_string2(r.library_error));
		return false;
	case AMQP_RESPONSE_SERVER_EXCEPTION:
		if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_connection_close_t *m = r.reply.decoded;
			snprintf(buf, n, "server connection error %u: %.*s", m->reply_code,
				 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
		} else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
			amqp_channel_close_t *m = r.reply.decoded;
			snprintf(buf, n, "server channel error %u: %.*s", m->reply_code,
				 (int)m->reply_text.len, (const char *)m->reply_text.bytes);
		} else {
			snprintf(buf, n, "unknown server error 0x%08X", r.reply.id);
		}
		return false;
	default:
		snprintf(buf, n, "missing RPC reply type");
		return false;
	}
}

static ssize_t no_write(struct ls_writer *w, const void *p, size_t n)
{
	(void)w, (void)p, (void)n;
	return -EIO; /* never called: amqp_flush publishes */
}

static void amqp_close(struct ls_writer *w)
{
	conn_free(w, true);
}

static const struct ls_wops amqp_ops = {no_write, amqp_close};

static void amqp_open(struct ls_cfg *c, struct ls_writer *w)
{
	struct ls_amqp *a = w->drv->amqp;
	char why[512];
	w->ops = &amqp_ops;
	struct amqp_conn *s = calloc(1, sizeof *s);
	if (!s || !(s->acked = calloc(WINDOW, 1)))
		abort();
	s->conn = rmq.amqp_new_connection();
	if (!s->conn)
		abort();
	w->wctx = s;
	amqp_socket_t *sock;
	if (a->ca_file) {
		sock = rmq.amqp_ssl_socket_new(s->conn);
		int r =
		    sock ? rmq.amqp_ssl_socket_set_cacert(sock, a->ca_file) : AMQP_STATUS_NO_MEMORY;
		if (r == AMQP_STATUS_OK && a->cert_file)
			r = rmq.amqp_ssl_socket_set_key(sock, a->cert_file, a->key_file);
		if (r != AMQP_STATUS_OK) {
			fail(c, w, "Error connecting to AMQP server while setting up TLS",
			     rmq.amqp_error_string2(r));
			return;
		}
		rmq.amqp_ssl_socket_set_verify_peer(sock, a->peer_verify);
		rmq.amqp_ssl_socket_set_verify_hostname(sock, a->peer_verify);
	} else {
		sock = rmq.amqp_tcp_socket_new(s->conn);
		if (!sock)
			abort();
	}
	struct timeval conn_to = {1, 0}, rpc_to = {RPC_TIMEOUT_S, 0};
	rmq.amqp_set_handshake_timeout(s->conn, &rpc_to);
	rmq.amqp_set_rpc_timeout(s->conn, &rpc_to);
	int r = rmq.amqp_socket_open_noblock(sock, a->host, a->port, &conn_to);
	if (r != AMQP_STATUS_OK) {
		fail(c, w, "Error connecting to AMQP server", rmq.amqp_error_string2(r));
		return;
	}
	int sndbuf = SNDBUF_BYTES;
	setsockopt(rmq.amqp_get_sockfd(s->conn), SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	amqp_rpc_reply_t rep =
	    a->external
		? rmq.amqp_login(s->conn, a->vhost, a->max_channel, a->frame_size, a->heartbeat,
				 AMQP_SASL_METHOD_EXTERNAL, a->user && a->user[0] ? a->user : ".")
		: rmq.amqp_login(s->conn, a->vhost, a->max_channel, a->frame_size, a->heartbeat,
				 AMQP_SASL_METHOD_PLAIN, a->user, a->password);
	if (!reply_ok(rep, why, sizeof why)) {
		fail(c, w, "Error during AMQP login", why);
		return;
	}
	rmq.amqp_channel_open(s->conn, 1);
	if (!reply_ok(rmq.amqp_get_rpc_reply(s->conn), why, sizeof why)) {
		fail(c, w, "Error during AMQP channel open", why);
		return;
	}
	if (a->declare) {
		rmq.amqp_exchange_declare(s->conn, 1, cbytes(a->exchange), cbytes(a->exchange_type),
					  0, 0, 0, 0, (amqp_table_t){0, NULL});
		if (!reply_ok(rmq.amqp_get_rpc_reply(s->conn), why, sizeof why)) {
			fail(c, w, "Error during AMQP exchange declaration", why);
			return;
		}
	}
	rmq.amqp_confirm_select(s->conn, 1);
	if (!reply_ok(rmq.amqp_get_rpc_reply(s->conn), why, sizeof why)) {
		fail(c, w, "Error during AMQP confirm.select", why);
		return;
	}
	s->heartbeat = rmq.amqp_get_heartbeat(s->conn);
	s->hb_ms = ls_now_ms();
	s->tag0 = 1; /* a channel in confirm mode numbers publishes from 1 */
	w->fd = rmq.amqp_get_sockfd(s->conn);
	w->retry_ms = 0;
	w->blocked = w->connecting = false;
	FILE *f = w->rt ? w->rt->notices : NULL;
	if (w->failing && f)
		fprintf(f,
			"Destination recovered, writing queued messages; server='%s', "
			"destination='%s', queued='%zu'\n",
			w->path, dname(w), ls_writer_queued(w));
	w->failing = false;
}

/* --------------------------------------------------------- the event loop */

static size_t qlen(const struct ls_writer *w, size_t i)
{
	return w->q[(w->qh + i) & (w->qcap - 1)].len;
}

static uint32_t get32(const char *p)
{
	uint32_t x;
	memcpy(&x, p, 4);
	return x;
}

/*
 * Split record p[0..len) (design note 1): the routing key, *nh headers into
 * *ent (grown to *cap; the entries point into p) and the body. 0, or
 * -EINVAL when it does not parse (a damaged disk-buffer record).
 */
static int record_split(const char *p, size_t len, amqp_bytes_t *rk, amqp_table_entry_t **ent,
			size_t *cap, uint32_t *nh, amqp_bytes_t *body)
{
	size_t off = 0;
#define NEED(n)                                                                                    \
	if (len - off < (n))                                                                       \
	return -EINVAL
	NEED(4);
	uint32_t rkl = get32(p);
	off = 4;
	NEED(rkl);
	*rk = (amqp_bytes_t){rkl, (void *)(p + off)};
	off += rkl;
	NEED(4);
	*nh = get32(p + off);
	off += 4;
	if (*nh > (len - off) / 8)
		return -EINVAL;
	if (*nh > *cap) {
		*ent = realloc(*ent, *nh * sizeof **ent);
		if (!*ent)
			abort();
		*cap = *nh;
	}
	for (uint32_t i = 0; i < *nh; i++) {
		NEED(4);
		uint32_t kl = get32(p + off);
		off += 4;
		NEED(kl);
		(*ent)[i].key = (amqp_bytes_t){kl, (void *)(p + off)};
		off += kl;
		NEED(4);
		uint32_t vl = get32(p + off);
		off += 4;
		NEED(vl);
		(*ent)[i].value.kind = AMQP_FIELD_KIND_UTF8;
		(*ent)[i].value.value.bytes = (amqp_bytes_t){vl, (void *)(p + off)};
		off += vl;
	}
#undef NEED
	*body = (amqp_bytes_t){len - off, (void *)(p + off)};
	return 0;
}

int ls_amqp_record_check(const char *p, size_t len, struct ls_buf *out)
{
	amqp_bytes_t rk, body;
	amqp_table_entry_t *ent = NULL;
	size_t cap = 0;
	uint32_t nh = 0;
	int r = record_split(p, len, &rk, &ent, &cap, &nh, &body);
	if (r == 0 && out) {
		ls_buf_add(out, rk.bytes, rk.len);
		ls_buf_addc(out, '\n');
		for (uint32_t i = 0; i < nh; i++) {
			ls_buf_add(out, ent[i].key.bytes, ent[i].key.len);
			ls_buf_addc(out, '=');
			ls_buf_add(out, ent[i].value.value.bytes.bytes,
				   ent[i].value.value.bytes.len);
			ls_buf_addc(out, '\n');
		}
		ls_buf_add(out, body.bytes, body.len);
	}
	free(ent);
	return r;
}

/* Publish record p[0..len): an amqp status; AMQP_STATUS_BAD_AMQP_DATA
 * when it does not parse. */
static int publish(struct ls_writer *w, struct amqp_conn *s, const char *p, size_t len)
{
	struct ls_amqp *a = w->drv->amqp;
	amqp_bytes_t rk, body;
	uint32_t nh;
	if (record_split(p, len, &rk, &s->ent, &s->ent_cap, &nh, &body) < 0)
		return AMQP_STATUS_BAD_AMQP_DATA;
	amqp_basic_properties_t props = {0};
	props._flags =
	    AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_HEADERS_FLAG;
	props.content_type = cbytes("text/plain");
	props.delivery_mode = a->persistent ? 2 : 1;
	props.headers = (amqp_table_t){(int)nh, s->ent};
	return rmq.amqp_basic_publish(s->conn, 1, cbytes(a->exchange), rk, 0, 0, &props, body);
}

/* Confirmed messages at the head leave the queue (design note 2). */
static void retire_acked(struct ls_writer *w, struct amqp_conn *s)
{
	size_t n = 0, bytes = 0;
	while (n < s->inflight && s->acked[n])
		bytes += qlen(w, n++);
	if (!n)
		return;
	memmove(s->acked, s->acked + n, s->inflight - n);
	memset(s->acked + s->inflight - n, 0, n);
	s->inflight -= n;
	s->sent_bytes -= bytes;
	s->tag0 += n;
	ls_writer_advance(w, bytes);
}

static void on_ack(struct amqp_conn *s, uint64_t tag, bool multiple)
{
	if (tag < s->tag0 || tag - s->tag0 >= s->inflight)
		return; /* not ours (already retired, or never sent on this channel) */
	size_t i = (size_t)(tag - s->tag0);
	if (multiple)
		memset(s->acked, 1, i + 1);
	else
		s->acked[i] = 1;
}

/* Read what the broker sent: confirms, closes; heartbeats go out here too.
 * False when the connection failed (w->wctx is gone). */
static bool drain(struct ls_cfg *c, struct ls_writer *w)
{
	struct amqp_conn *s = w->wctx;
	char why[300];
	for (;;) {
		amqp_frame_t fr;
		struct timeval tv = {0, 0};
		int r = rmq.amqp_simple_wait_frame_noblock(s->conn, &fr, &tv);
		if (r == AMQP_STATUS_TIMEOUT)
			break;
		if (r != AMQP_STATUS_OK) {
			fail(c, w, "Unexpected error while reading from amqp server",
			     rmq.amqp_error_string2(r));
			return false;
		}
		if (fr.frame_type != AMQP_FRAME_METHOD)
			continue;
		amqp_method_t *mt = &fr.payload.method;
		if (mt->id == AMQP_BASIC_ACK_METHOD) {
			amqp_basic_ack_t *ack = mt->decoded;
			on_ack(s, ack->delivery_tag, ack->multiple);
		} else if (mt->id == AMQP_BASIC_NACK_METHOD) {
			fail(c, w, "AMQP server refused a message (basic.nack)", "nack");
			return false;
		} else if (mt->id == AMQP_CHANNEL_CLOSE_METHOD ||
			   mt->id == AMQP_CONNECTION_CLOSE_METHOD) {
			amqp_rpc_reply_t rep = {.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION,
						.reply = *mt};
			reply_ok(rep, why, sizeof why);
			fail(c, w, "AMQP server closed the channel", why);
			return false;
		}
	}
	retire_acked(w, s);
	rmq.amqp_maybe_release_buffers(s->conn);
	return true;
}

static void amqp_flush(struct ls_cfg *c, struct ls_writer *w)
{
	struct amqp_conn *s = w->wctx;
	if (!s)
		return;
	while (s->inflight < w->qn && s->inflight < WINDOW) {
		size_t len = qlen(w, s->inflight);
		if (s->inflight && s->sent_bytes + len > WINDOW_BYTES)
			break;
		int r = publish(w, s, w->buf.p + w->head + s->sent_bytes, len);
		if (r == AMQP_STATUS_TABLE_TOO_BIG || r == AMQP_STATUS_BAD_AMQP_DATA) {
			/* never publishable (3.38 drops it: LTR_DROP); at the
			 * head once the ones before it are confirmed */
			if (s->inflight)
				break;
			FILE *f = w->rt ? w->rt->notices : NULL;
			if (f)
				fprintf(f, "Message dropped: %s; destination='%s'\n",
					rmq.amqp_error_string2(r), dname(w));
			ls_writer_drop_head(w);
			continue;
		}
		if (r != AMQP_STATUS_OK) {
			fail(c, w, "Network error while inserting into AMQP server",
			     rmq.amqp_error_string2(r));
			return;
		}
		s->acked[s->inflight++] = 0;
		s->sent_bytes += len;
	}
	drain(c, w);
}

static void amqp_event(struct ls_cfg *c, struct ls_writer *w)
{
	if (w->wctx && drain(c, w))
		amqp_flush(c, w); /* confirms made room in the window */
}

static int amqp_service(struct ls_cfg *c, struct ls_writer *w)
{
	struct amqp_conn *s = w->wctx;
	if (!s || !s->heartbeat)
		return -1;
	int64_t now = ls_now_ms();
	if (now >= s->hb_ms) {
		/* heartbeats are sent and checked inside librabbitmq's reads */
		if (!drain(c, w))
			return -1;
		s->hb_ms = now + 500LL * s->heartbeat;
	}
	return (int)(s->hb_ms - now);
}

static void amqp_writer_free(struct ls_writer *w)
{
	conn_free(w, false);
}

const struct ls_wdriver ls_amqp_wdriver = {amqp_open,	 amqp_flush,	   amqp_event,
					   amqp_service, amqp_writer_free, amqp_same};
