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
 *       makes them) bounded by timeouts: TCP connect 1 s (3.38's), then
 *       the AMQP handshake and the RPCs of the open (login, channel.open,
 *       exchange.declare, confirm.select) together at most OPEN_BUDGET_MS,
 *       not 5 s each: a broker that accepts but does not answer holds the
 *       event loop at most 1 s + OPEN_BUDGET_MS per time-reopen().
 *   (6) Over plain TCP the frames of every message one flush publishes
 *       (basic.publish, content header, body) are encoded into one buffer
 *       with librabbitmq's own encoders and written with one send(), not
 *       three sends a message as amqp_basic_publish() makes them: the
 *       syscalls were most of logsift's CPU per message (bench/logsift/run
 *       amqp-cpu). Over TLS each message goes through amqp_basic_publish().
 */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
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

#define WINDOW	       1000	   /* unconfirmed messages at most */
#define WINDOW_BYTES   (256 << 10) /* unconfirmed bytes at most (design note 3) */
#define SNDBUF_BYTES   (512 << 10) /* asked for; above WINDOW_BYTES */
#define RPC_TIMEOUT_S  5
#define OPEN_BUDGET_MS 3000 /* the open's handshake and RPCs together (design note 5) */

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
	X(amqp_encode_method)                                                                      \
	X(amqp_encode_properties)                                                                  \
	X(amqp_get_frame_max)                                                                      \
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
	/* value-pairs(): its options as vp.c's command line, made a set
	 * (vp) by ls_amqp_check */
	char **vpargv;
	int vpargc;
	struct ls_vp *vp;
};

static char *xdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

/* One more word of the value-pairs() command line. */
static void vp_arg(struct ls_amqp *a, const char *w)
{
	char **v = realloc(a->vpargv, (size_t)(a->vpargc + 1) * sizeof *v);
	if (!v)
		abort();
	a->vpargv = v;
	a->vpargv[a->vpargc++] = xdup(w);
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
	/* 3.38's afamqp_dd_new(): scope(selected-macros nv-pairs sdata) */
	ls_amqp_vp_reset(a);
	vp_arg(a, "--scope");
	vp_arg(a, "selected-macros,nv-pairs,sdata");
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
	for (int i = 0; i < a->vpargc; i++)
		free(a->vpargv[i]);
	free(a->vpargv);
	ls_vp_free(a->vp);
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

/* What vp.c uses of msg.c: the template engine and the message's pairs. */
static const struct ls_vp_host vp_host = {ls_tmpl_new,	       ls_tmpl_free,	ls_tmpl_format_opts,
					  ls_tmpl_macro_known, ls_msg_get_name, ls_msg_names};

int ls_amqp_vp_reset(struct ls_amqp *a)
{
	/* value-pairs() replaces the default set (3.38); its names keep their
	 * leading dot (".SDATA.x"), as 3.38's value_pairs_new() leaves them */
	for (int i = 0; i < a->vpargc; i++)
		free(a->vpargv[i]);
	a->vpargc = 0;
	vp_arg(a, "value-pairs");
	vp_arg(a, "--leave-initial-dot");
	return 0;
}

/* vp.c says its errors for $(format-json): for amqp() they are value-pairs()'s. */
static void vp_err_name(char *err, size_t errlen)
{
	if (strncmp(err, "$(format-json)", 14))
		return;
	char tmp[400];
	snprintf(tmp, sizeof tmp, "value-pairs()%s", err + 14);
	snprintf(err, errlen, "%s", tmp);
}

/* Whether vp.c takes "--opt val" alone: 0, or -EINVAL with its words in err
 * (so that a bad option is reported at its own file:line). */
static int vp_try(const char *opt, const char *val, char *err, size_t errlen)
{
	char *argv[] = {(char *)"value-pairs", (char *)"--leave-initial-dot", (char *)opt,
			(char *)val};
	struct ls_vp *vp = ls_vp_prepare(4, argv, &vp_host, NULL, err, errlen);
	if (!vp) {
		if (!err[0])
			snprintf(err, errlen, "syntax error in %s", val);
		vp_err_name(err, errlen);
		return -EINVAL;
	}
	ls_vp_free(vp);
	return 0;
}

int ls_amqp_vp_set(struct ls_amqp *a, const char *name, const char *const *vals, size_t n,
		   char *err, size_t errlen)
{
	if (is(name, "scope") || is(name, "key") || is(name, "exclude")) {
		for (size_t i = 0; i < n; i++) {
			if (!is(name, "scope") && strchr(vals[i], ',')) {
				/* the command line splits a glob at commas; 3.38's
				 * value-pairs() block does not */
				snprintf(err, errlen,
					 "value-pairs %s(\"%s\"): a glob with a comma is not "
					 "supported by logsift",
					 name, vals[i]);
				return -ENOTSUP;
			}
			char opt[16];
			snprintf(opt, sizeof opt, "--%s", name);
			if (vp_try(opt, vals[i], err, errlen) < 0)
				return -EINVAL;
			vp_arg(a, opt);
			vp_arg(a, vals[i]);
		}
		return 0;
	}
	if (is(name, "pair")) {
		if (n != 2) {
			snprintf(err, errlen, "pair() takes a name and a value");
			return -EINVAL;
		}
		if (strchr(vals[0], '=')) {
			snprintf(err, errlen,
				 "value-pairs pair(\"%s\"): a name with '=' is not supported by "
				 "logsift",
				 vals[0]);
			return -ENOTSUP;
		}
		struct ls_tmpl *t = NULL;
		if (set_tmpl(&t, vals[1], err, errlen) < 0)
			return -EINVAL;
		ls_tmpl_free(t);
		size_t l = strlen(vals[0]) + strlen(vals[1]) + 2;
		char *pv = malloc(l);
		if (!pv)
			abort();
		snprintf(pv, l, "%s=%s", vals[0], vals[1]);
		int r = vp_try("--pair", pv, err, errlen);
		if (r == 0) {
			vp_arg(a, "--pair");
			vp_arg(a, pv);
		}
		free(pv);
		return r;
	}
	snprintf(err, errlen, "value-pairs() option %s() is not supported by logsift", name);
	return -ENOTSUP;
}

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
	ls_vp_free(a->vp);
	a->vp = ls_vp_prepare(a->vpargc, a->vpargv, &vp_host, NULL, err, errlen);
	if (!a->vp) {
		vp_err_name(err, errlen);
		return -EINVAL;
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

void ls_amqp_stats_instance(const struct ls_amqp *a, char *buf, size_t n)
{
	snprintf(buf, n, "amqp,%s,%s,%d,%s,%s", a->vhost, a->host, a->port, a->exchange,
		 a->exchange_type);
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

/* A header from vp.c (ls_vp_foreach): name and value as fields of the
 * record, each cut at its first NUL (amqp_cstring_bytes); counted in *ctx. */
struct hdr_ctx {
	struct ls_buf *out;
	uint32_t n;
};

static void add_hdr(void *ctx, const char *name, const char *v, size_t n)
{
	struct hdr_ctx *h = ctx;
	size_t nl = strlen(name);
	put32(h->out, nl);
	ls_buf_add(h->out, name, nl);
	FIELD_BEGIN(h->out, at);
	ls_buf_add(h->out, v, n);
	field_end(h->out, at);
	h->n++;
}

void ls_amqp_format(struct ls_ddrv *d, const struct ls_msg *m, struct ls_buf *out)
{
	struct ls_amqp *a = d->amqp;
	const struct ls_tmpl_opts *o = &d->topts;
	FIELD_BEGIN(out, rk);
	struct ls_tmpl_opts lo = *o;
	lo.send_tz = NULL; /* 3.38 formats the routing key in local-time-zone() */
	lo.send_zone = NULL;
	ls_tmpl_format_opts(a->routing_key, m, &lo, out);
	field_end(out, rk);

	/* value-pairs: as 3.38's value_pairs_foreach, sorted by name */
	size_t count_at = out->len;
	put32(out, 0);
	struct hdr_ctx hc = {out, 0};
	ls_vp_foreach(a->vp, m, o, add_hdr, &hc);
	memcpy(out->p + count_at, &hc.n, 4);
	if (a->body) {
		size_t at = out->len;
		ls_tmpl_format_opts(a->body, m, o, out);
		cut_nul(out, at);
	}
}

/* ------------------------------------------------------------- connection */

/* Give the next blocking step of the open what is left of its budget
 * (design note 5): false when nothing is. */
static bool open_budget(amqp_connection_state_t conn, int64_t end)
{
	int64_t left = end - ls_now_ms();
	if (left <= 0)
		return false;
	struct timeval tv = {(time_t)(left / 1000), (suseconds_t)(left % 1000) * 1000};
	rmq.amqp_set_handshake_timeout(conn, &tv);
	rmq.amqp_set_rpc_timeout(conn, &tv);
	return true;
}

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
	bool raw;	/* plain TCP: frames batched into out (design note 6) */
	struct ls_buf out;
	char *scratch; /* frame_max bytes: one method or header frame */
	size_t frame_max;
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
	free(s->scratch);
	ls_buf_free(&s->out);
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

static void amqp_connect(struct ls_cfg *c, struct ls_writer *w)
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
	int64_t end = ls_now_ms() + OPEN_BUDGET_MS;
	open_budget(s->conn, end);
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
	if (!open_budget(s->conn, end)) {
		fail(c, w, "Error during AMQP channel open", "timeout");
		return;
	}
	rmq.amqp_channel_open(s->conn, 1);
	if (!reply_ok(rmq.amqp_get_rpc_reply(s->conn), why, sizeof why)) {
		fail(c, w, "Error during AMQP channel open", why);
		return;
	}
	if (a->declare) {
		if (!open_budget(s->conn, end)) {
			fail(c, w, "Error during AMQP exchange declaration", "timeout");
			return;
		}
		rmq.amqp_exchange_declare(s->conn, 1, cbytes(a->exchange), cbytes(a->exchange_type),
					  0, 0, 0, 0, (amqp_table_t){0, NULL});
		if (!reply_ok(rmq.amqp_get_rpc_reply(s->conn), why, sizeof why)) {
			fail(c, w, "Error during AMQP exchange declaration", why);
			return;
		}
	}
	if (!open_budget(s->conn, end)) {
		fail(c, w, "Error during AMQP confirm.select", "timeout");
		return;
	}
	rmq.amqp_confirm_select(s->conn, 1);
	if (!reply_ok(rmq.amqp_get_rpc_reply(s->conn), why, sizeof why)) {
		fail(c, w, "Error during AMQP confirm.select", why);
		return;
	}
	rmq.amqp_set_rpc_timeout(s->conn, &rpc_to);
	s->heartbeat = rmq.amqp_get_heartbeat(s->conn);
	s->hb_ms = ls_now_ms();
	s->tag0 = 1; /* a channel in confirm mode numbers publishes from 1 */
	s->frame_max = (size_t)rmq.amqp_get_frame_max(s->conn);
	if (s->frame_max < AMQP_FRAME_MIN_SIZE)
		s->frame_max = AMQP_FRAME_MIN_SIZE;
	s->raw = !a->ca_file;
	if (s->raw && !(s->scratch = malloc(s->frame_max)))
		abort();
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

static void put_be(char *p, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--, v >>= 8)
		p[i] = (char)(v & 0xff);
}

/* One frame's 7-byte head (type, channel 1, payload size), as
 * librabbitmq's amqp_frame_to_bytes() writes it. */
static void frame_head(char *p, int type, size_t size)
{
	p[0] = (char)type;
	put_be(p + 1, 1, 2);
	put_be(p + 3, size, 4);
}

/*
 * Append the frames of one basic.publish to s->out (design note 6): the
 * method, the content header and the body in frames of at most
 * frame_max, byte for byte what amqp_basic_publish() sends. An amqp
 * status; on an error nothing is appended (a routing key or a header table
 * too big for a frame: AMQP_STATUS_BAD_AMQP_DATA or _TABLE_TOO_BIG, as the
 * library says them).
 */
static int encode_publish(struct amqp_conn *s, amqp_basic_publish_t *m,
			  amqp_basic_properties_t *props, amqp_bytes_t body)
{
	size_t room = s->frame_max - 8, at = s->out.len; /* 7-byte head, 0xCE end */
	char *f = s->scratch;
	int n =
	    rmq.amqp_encode_method(AMQP_BASIC_PUBLISH_METHOD, m, (amqp_bytes_t){room - 4, f + 11});
	if (n < 0)
		return n;
	put_be(f + 7, AMQP_BASIC_PUBLISH_METHOD, 4);
	frame_head(f, AMQP_FRAME_METHOD, 4 + (size_t)n);
	f[11 + n] = (char)AMQP_FRAME_END;
	ls_buf_add(&s->out, f, 12 + (size_t)n);
	n = rmq.amqp_encode_properties(AMQP_BASIC_CLASS, props, (amqp_bytes_t){room - 12, f + 19});
	if (n < 0) {
		s->out.len = at;
		return n;
	}
	put_be(f + 7, AMQP_BASIC_CLASS, 2);
	put_be(f + 9, 0, 2); /* weight */
	put_be(f + 11, body.len, 8);
	frame_head(f, AMQP_FRAME_HEADER, 12 + (size_t)n);
	f[19 + n] = (char)AMQP_FRAME_END;
	ls_buf_add(&s->out, f, 20 + (size_t)n);
	for (size_t off = 0; off < body.len; off += room) {
		size_t k = body.len - off < room ? body.len - off : room;
		char h[7];
		frame_head(h, AMQP_FRAME_BODY, k);
		ls_buf_add(&s->out, h, 7);
		ls_buf_add(&s->out, (const char *)body.bytes + off, k);
		ls_buf_addc(&s->out, (char)AMQP_FRAME_END);
	}
	return AMQP_STATUS_OK;
}

/* Write s->out whole to the socket (librabbitmq's is non-blocking), waiting
 * for room at most RPC_TIMEOUT_S (design note 3 makes waiting rare): an
 * amqp status. */
static int send_out(struct amqp_conn *s)
{
	int fd = rmq.amqp_get_sockfd(s->conn);
	size_t off = 0;
	int64_t end = ls_now_ms() + 1000LL * RPC_TIMEOUT_S;
	while (off < s->out.len) {
		ssize_t r = send(fd, s->out.p + off, s->out.len - off, MSG_NOSIGNAL);
		if (r > 0) {
			off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			int64_t left = end - ls_now_ms();
			if (left <= 0)
				return AMQP_STATUS_TIMEOUT;
			struct pollfd p = {fd, POLLOUT, 0};
			poll(&p, 1, (int)left);
			continue;
		}
		return AMQP_STATUS_SOCKET_ERROR;
	}
	s->out.len = 0;
	return AMQP_STATUS_OK;
}

/* Publish record p[0..len): an amqp status; AMQP_STATUS_BAD_AMQP_DATA
 * when it does not parse. Over plain TCP it is only encoded into s->out
 * (send_out() writes it). */
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
	if (s->raw) {
		amqp_basic_publish_t m = {.exchange = cbytes(a->exchange), .routing_key = rk};
		return encode_publish(s, &m, &props, body);
	}
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

static void amqp_publish(struct ls_cfg *c, struct ls_writer *w)
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
	if (s->out.len) {
		int r = send_out(s);
		if (r != AMQP_STATUS_OK) {
			fail(c, w, "Network error while inserting into AMQP server",
			     rmq.amqp_error_string2(r));
			return;
		}
	}
	drain(c, w);
}

static void amqp_event(struct ls_cfg *c, struct ls_writer *w)
{
	if (w->wctx && drain(c, w))
		amqp_publish(c, w); /* confirms made room in the window */
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

/* The table's open: connect now (design note 5). */
static int amqp_open(struct ls_cfg *c, struct ls_writer *w)
{
	amqp_connect(c, w);
	return 0; /* it reports and schedules itself */
}

/* The table's flush: publish what the window allows. */
static int amqp_flush(struct ls_cfg *c, struct ls_writer *w, bool idle)
{
	(void)idle;
	amqp_publish(c, w);
	return -1;
}

const struct ls_wdriver ls_amqp_wdriver = {NULL,	 amqp_open,	   amqp_flush, amqp_event,
					   amqp_service, amqp_writer_free, amqp_same};
