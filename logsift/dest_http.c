/*
 * dest_http.c: the http() destination as syslog-ng 3.38's modules/http
 * (HTTPDestinationDriver + HTTPDestinationWorker + HTTPLoadBalancer over
 * LogThreadedDestDriver), sending through libcurl as 3.38 does.
 *
 * Divisions: options (what cfg.c hands over, refusals), formatting (one
 * queue entry per message), the load balancer, the worker thread, the
 * event-loop side (batches, results, retries).
 *
 * Why a thread per worker: 3.38 runs each worker as a thread calling
 * cu.easy_perform(); doing the same keeps libcurl's blocking calls (DNS,
 * TLS handshakes, a server that never answers) off logsift's event loop,
 * and workers() means what it means in 3.38: that many requests in flight.
 * The thread only ever touches its own copy of a request; the queue, the
 * disk buffer and the counters stay in the event loop's thread.
 *
 * Design notes:
 *   (1) Each worker is one writer (dest.c) with its own queue and, with a
 *       disk-buffer(), its own file; messages go round robin to the
 *       workers, as 3.38's _lookup_worker() does.
 *   (2) A queue entry is one formatted message: a marker byte, then (only
 *       without batching) the four X-Syslog-* header values NUL-ended, then
 *       the body() of the message. The marker keeps entries readable when
 *       a disk-buffer written by one configuration is sent by another.
 *   (3) At-least-once: a batch is a copy of the first N entries; they leave
 *       the queue (and their disk records are acknowledged) only when the
 *       request ends in success (2xx, or response-action(N => success));
 *       a drop counts them in "dropped"; anything else leaves them where
 *       they are, to be sent again after time-reopen(). So a restart or a
 *       lost response sends at most the batches in flight twice.
 *   (4) Results as 3.38's LogThreadedResult: SUCCESS retires the batch;
 *       DROP retires it as dropped and suspends the worker; ERROR counts a
 *       retry and drops the batch after retries() of them; NOT_CONNECTED
 *       (connection errors, most 4xx and 5xx) retries forever, each time
 *       after time-reopen().
 *
 * Worker state (main thread view):
 *
 *    idle --batch due--> in flight (w->blocked, eventfd polled)
 *      ^                     | result
 *      +--- SUCCESS/ERROR<max retries ... suspended (w->retry_ms) ---+
 */
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <poll.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ls_int.h"

enum { R_SUCCESS, R_DROP, R_ERROR, R_NOT_CONNECTED }; /* 3.38's LTR_* that http uses */
enum { A_SUCCESS, A_RETRY, A_DROP, A_DISCONNECT };    /* response-action() verbs */
enum { T_OPERATIONAL, T_FAILED };		      /* load balancer target state */
enum { ENT_SINGLE = 1, ENT_BODY = 2 };		      /* queue entry markers (note 2) */

struct target {
	char *url;
	int state;	 /* T_OPERATIONAL or T_FAILED */
	int max_clients; /* workers it should have */
	int clients;	 /* workers on it now */
	time_t last_failure;
};

struct action {
	long code;
	int action; /* A_* */
};

struct ls_http {
	struct target *t; /* url(): every url of every string, in order */
	size_t n_t;
	char *user, *password, *user_agent, *proxy;
	char **headers;
	size_t n_headers;
	bool put;	      /* method(PUT) */
	struct ls_buf prefix; /* body-prefix() */
	struct ls_buf suffix; /* body-suffix() */
	struct ls_buf delim;  /* delimiter() ("\n") */
	struct ls_tmpl *body; /* body(), or NULL: $MESSAGE */
	bool accept_redirects;
	long timeout_s;	       /* timeout(): 0 = none (libcurl's default, as 3.38) */
	long batch_bytes;      /* 0: no limit */
	long batch_lines;      /* 0: no batching (one request per message) */
	long batch_timeout_ms; /* -1: flush when the queue runs dry */
	long workers;	       /* threads, each one request in flight (1) */
	long retries;	       /* retries(): ERROR results before a drop (3) */
	char *ca_dir, *ca_file, *cert_file, *key_file, *ciphers, *tls13_ciphers;
	long ssl_version;    /* CURL_SSLVERSION_* */
	bool peer_verify;    /* peer-verify() (yes) */
	const char *tls_opt; /* the first TLS option given, for the https check */
	struct action *act;  /* response-action() */
	size_t n_act;
	/* load balancer (3.38's HTTPLoadBalancer), shared by the worker threads */
	pthread_mutex_t lb_mu;
	int lb_clients, lb_failed;
	time_t lb_last_recovery;
	int recovery_s;	    /* time-reopen() */
	size_t next_worker; /* round robin (note 1) */
};

/* One worker: the thread, its request and its retry state. */
struct ls_http_w {
	struct ls_http *h;
	int index; /* worker number, 0-based */
	int efd;   /* eventfd: the thread says "done" */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool job, quit;	   /* main -> thread, under mu */
	atomic_bool abort; /* stop a transfer now (close) */
	CURL *curl;
	/* the request: filled by the main thread while !job */
	struct ls_buf body;
	struct curl_slist *hdrs;
	size_t n_msgs, n_bytes; /* entries it covers and their queue bytes */
	/* the result: filled by the thread before the eventfd write */
	int result;	 /* R_* */
	long code;	 /* HTTP status, 0 when none came */
	const char *url; /* the target that gave the result */
	char err[CURL_ERROR_SIZE];
	FILE *notices; /* its writer's runtime's, set with each job (NULL: none) */
	/* main thread */
	int retries_on_error;	/* ERROR results in a row */
	int64_t batch_start_ms; /* when the batch being collected started */
	int lb_target;		/* load balancer client: target index, -1 none (under lb_mu) */
};

/*
 * libcurl, dlopen()ed at the first http() in a configuration, as tls_mod.c
 * loads libssl: linking it costs every logsift start (with or without
 * http()) about 140 million cycles in the dynamic loader for libcurl's 30
 * libraries (LD_DEBUG=statistics: 155M against 15M). The headers give the
 * constants and types; these are the only calls made.
 */
#define CURL_FUNCS(X)                                                                              \
	X(global_init, CURLcode, (long))                                                           \
	X(easy_init, CURL *, (void))                                                               \
	X(easy_setopt, CURLcode, (CURL *, CURLoption, ...))                                        \
	X(easy_perform, CURLcode, (CURL *))                                                        \
	X(easy_getinfo, CURLcode, (CURL *, CURLINFO, ...))                                         \
	X(easy_cleanup, void, (CURL *))                                                            \
	X(easy_strerror, const char *, (CURLcode))                                                 \
	X(slist_append, struct curl_slist *, (struct curl_slist *, const char *))                  \
	X(slist_free_all, void, (struct curl_slist *))                                             \
	X(version_info, curl_version_info_data *, (CURLversion))

static struct {
#define X(name, ret, args) ret(*name) args;
	CURL_FUNCS(X)
#undef X
} cu;
static char curl_error[300]; /* why libcurl could not be loaded, "" when it is */
static bool curl_loaded;

/* Load libcurl once (main thread, while parsing): NULL or why not. */
static const char *curl_load(void)
{
	if (curl_loaded)
		return NULL;
	if (curl_error[0])
		return curl_error;
	void *so = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!so) {
		snprintf(curl_error, sizeof curl_error, "%s", dlerror());
		return curl_error;
	}
#define X(name, ret, args)                                                                         \
	if (!(*(void **)&cu.name = dlsym(so, "curl_" #name))) {                                    \
		snprintf(curl_error, sizeof curl_error, "libcurl.so.4 has no curl_" #name);        \
		return curl_error;                                                                 \
	}
	CURL_FUNCS(X)
#undef X
	if (cu.global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
		snprintf(curl_error, sizeof curl_error, "curl_global_init failed");
		return curl_error;
	}
	curl_loaded = true;
	return NULL; /* never unloaded: worker threads of later configs use it */
}

/* ----------------------------------------------------------------- options */

static char *sdup(const char *s)
{
	char *p = strdup(s);
	if (!p)
		abort();
	return p;
}

struct ls_http *ls_http_new(void)
{
	struct ls_http *h = calloc(1, sizeof *h);
	if (!h)
		abort();
	ls_buf_add(&h->prefix, "", 0);
	ls_buf_add(&h->suffix, "", 0);
	ls_buf_add(&h->delim, "\n", 1);
	h->batch_timeout_ms = -1;
	h->workers = 1;
	h->retries = 3;
	h->ssl_version = CURL_SSLVERSION_DEFAULT;
	h->peer_verify = true;
	h->recovery_s = 60;
	pthread_mutex_init(&h->lb_mu, NULL);
	return h;
}

void ls_http_free(struct ls_http *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_t; i++)
		free(h->t[i].url);
	free(h->t);
	for (size_t i = 0; i < h->n_headers; i++)
		free(h->headers[i]);
	free(h->headers);
	free(h->user);
	free(h->password);
	free(h->user_agent);
	free(h->proxy);
	free(h->ca_dir);
	free(h->ca_file);
	free(h->cert_file);
	free(h->key_file);
	free(h->ciphers);
	free(h->tls13_ciphers);
	free(h->act);
	ls_buf_free(&h->prefix);
	ls_buf_free(&h->suffix);
	ls_buf_free(&h->delim);
	ls_tmpl_free(h->body);
	pthread_mutex_destroy(&h->lb_mu);
	free(h);
}

/* Replace *dst by a copy of s. */
static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = sdup(s);
}

/* A number option's value: 0, or -EINVAL with err saying what 3.38 wants. */
static int num(const char *name, const char *v, long min, long *out, char *err, size_t errlen)
{
	char *end = NULL;
	long n = v ? strtol(v, &end, 0) : 0;
	if (!v || !*v || *end || n < min) {
		snprintf(err, errlen, "%s() needs a %s integer", name,
			 min > 0 ? "positive" : "non-negative");
		return -EINVAL;
	}
	*out = n;
	return 0;
}

static bool kw_is(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '_' ? '-' : *a, y = *b == '_' ? '-' : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

/* ssl-version() words as 3.38's http_dd_set_ssl_version (libcurl 7.88 has all). */
static const struct {
	const char *name;
	long v;
} ssl_versions[] = {
    {"default", CURL_SSLVERSION_DEFAULT}, {"tlsv1", CURL_SSLVERSION_TLSv1},
    {"sslv2", CURL_SSLVERSION_SSLv2},	  {"sslv3", CURL_SSLVERSION_SSLv3},
    {"tlsv1_0", CURL_SSLVERSION_TLSv1_0}, {"tlsv1_1", CURL_SSLVERSION_TLSv1_1},
    {"tlsv1_2", CURL_SSLVERSION_TLSv1_2}, {"tlsv1_3", CURL_SSLVERSION_TLSv1_3},
};

/* response-action(CODE => VERB ...): vals is "404" "=>" "drop" ... */
static int response_action(struct ls_http *h, const char *const *vals, size_t n, char *err,
			   size_t errlen)
{
	static const char *const verbs[] = {"success", "retry", "drop", "disconnect"};
	for (size_t i = 0; i < n; i += 3) {
		long code;
		if (num("response-action", vals[i], 1, &code, err, errlen) < 0 || i + 2 >= n ||
		    strcmp(vals[i + 1], "=>")) {
			snprintf(err, errlen,
				 "response-action() takes CODE => success|retry|drop|disconnect");
			return -EINVAL;
		}
		int a = -1;
		for (int k = 0; k < 4; k++)
			if (kw_is(vals[i + 2], verbs[k]))
				a = k;
		if (a < 0) {
			snprintf(err, errlen,
				 "response-action(): '%s' is not one of success, retry, drop, "
				 "disconnect",
				 vals[i + 2]);
			return -EINVAL;
		}
		/* a code given twice: the last one wins (3.38's hash table insert) */
		size_t k = 0;
		while (k < h->n_act && h->act[k].code != code)
			k++;
		if (k == h->n_act) {
			struct action *p = realloc(h->act, (h->n_act + 1) * sizeof *p);
			if (!p)
				abort();
			h->act = p;
			h->n_act++;
		}
		h->act[k] = (struct action){code, a};
	}
	return 0;
}

/* The TLS options, allowed at the top of http() and inside its tls() block. */
static int tls_opt(struct ls_http *h, const char *name, const char *v, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
	} strs[] = {
	    {"ca-dir", offsetof(struct ls_http, ca_dir)},
	    {"ca-file", offsetof(struct ls_http, ca_file)},
	    {"cert-file", offsetof(struct ls_http, cert_file)},
	    {"key-file", offsetof(struct ls_http, key_file)},
	    {"cipher-suite", offsetof(struct ls_http, ciphers)},
	};
	if (!h->tls_opt)
		h->tls_opt = name; /* one of ls_http_opt's static names */
	/* cfg.c's path_check has found the files of ca-file(), cert-file() and
	 * key-file() there, as 3.38's grammar does */
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
		if (!strcmp(name, strs[i].name)) {
			set_str((char **)((char *)h + strs[i].off), v);
			return 0;
		}
	if (kw_is(name, "ssl-version")) {
		for (size_t i = 0; i < sizeof ssl_versions / sizeof *ssl_versions; i++)
			if (!strcmp(v, ssl_versions[i].name)) {
				h->ssl_version = ssl_versions[i].v;
				return 0;
			}
		snprintf(err, errlen, "curl: unsupported SSL version: %s", v);
		return -EINVAL;
	}
	if (kw_is(name, "peer-verify")) {
		h->peer_verify = !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1");
		return 0;
	}
	/* use-system-cert-store(yes): 3.38's autodetect-ca-location lists */
	if (!strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1")) {
		static const char *const files[] = {
		    "/etc/ssl/certs/ca-certificates.crt", "/etc/pki/tls/certs/ca-bundle.crt",
		    "/usr/share/ssl/certs/ca-bundle.crt", "/usr/local/share/certs/ca-root-nss.crt",
		    "/etc/ssl/cert.pem"};
		const char *file = NULL,
			   *dir = access("/etc/ssl/certs", R_OK) == 0 ? "/etc/ssl/certs" : NULL;
		for (size_t i = 0; i < sizeof files / sizeof *files && !file; i++)
			if (access(files[i], R_OK) == 0)
				file = files[i];
		if (!file && !dir) {
			snprintf(err, errlen, "Failed to autodect system cert store");
			return -EINVAL;
		}
		if (file)
			set_str(&h->ca_file, file);
		if (dir)
			set_str(&h->ca_dir, dir);
	}
	return 0;
}

int ls_http_opt(struct ls_http *h, const char *name, const char *const *vals, size_t n, char *err,
		size_t errlen)
{
	static const char *const tls_names[] = {
	    "ca-dir",	    "ca-file",	   "cert-file",	  "key-file",
	    "cipher-suite", "ssl-version", "peer-verify", "use-system-cert-store"};
	const char *v = n ? vals[0] : NULL;
	if (kw_is(name, "response-action"))
		return response_action(h, vals, n, err, errlen);
	if (kw_is(name, "tls12-and-older") && v) /* cipher-suite(tls12-and-older("...")) */
		return tls_opt(h, "cipher-suite", v, err, errlen);
	if (kw_is(name, "tls13") && v) { /* cipher-suite(tls13("...")) */
		set_str(&h->tls13_ciphers, v);
		if (!h->tls_opt)
			h->tls_opt = "cipher-suite";
		return 0;
	}
	if (kw_is(name, "url")) {
		if (!n) {
			snprintf(err, errlen, "url() needs at least one url");
			return -EINVAL;
		}
		for (size_t i = 0; i < h->n_t; i++)
			free(h->t[i].url);
		h->n_t = 0;
		/* each string may hold several urls separated by spaces (3.38) */
		for (size_t i = 0; i < n; i++) {
			char *s = sdup(vals[i]), *save = NULL;
			for (char *u = strtok_r(s, " ", &save); u; u = strtok_r(NULL, " ", &save)) {
				struct target *t = realloc(h->t, (h->n_t + 1) * sizeof *t);
				if (!t)
					abort();
				h->t = t;
				h->t[h->n_t++] = (struct target){.url = sdup(u)};
			}
			free(s);
		}
		return 0;
	}
	if (kw_is(name, "headers")) {
		for (size_t i = 0; i < h->n_headers; i++)
			free(h->headers[i]);
		free(h->headers);
		h->n_headers = 0; /* counted as they come: an error leaves a freeable list */
		h->headers = calloc(n ? n : 1, sizeof *h->headers);
		if (!h->headers)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (strpbrk(vals[i], "\r\n")) {
				snprintf(err, errlen,
					 "headers(): a header may not contain CR or LF");
				return -EINVAL;
			}
			h->headers[h->n_headers++] = sdup(vals[i]);
		}
		return 0;
	}
	if (!v) {
		snprintf(err, errlen, "%s() needs a value", name);
		return -EINVAL;
	}
	if (kw_is(name, "tls")) {
		snprintf(err, errlen, "tls() takes options, not values");
		return -EINVAL;
	}
	for (size_t i = 0; i < sizeof tls_names / sizeof *tls_names; i++)
		if (kw_is(name, tls_names[i]))
			return tls_opt(h, tls_names[i], v, err, errlen);
	if (kw_is(name, "user"))
		set_str(&h->user, v);
	else if (kw_is(name, "password"))
		set_str(&h->password, v);
	else if (kw_is(name, "user-agent"))
		set_str(&h->user_agent, v);
	else if (kw_is(name, "proxy"))
		set_str(&h->proxy, v);
	else if (kw_is(name, "method")) {
		if (!strcasecmp(v, "PUT") || !strcasecmp(v, "POST")) {
			h->put = !strcasecmp(v, "PUT");
		} else {
			/* 3.38 warns and posts; the warning is the caller's to print */
			h->put = false;
			snprintf(
			    err, errlen,
			    "Unsupported method is set(Only POST and PUT are supported), default "
			    "method POST will be used; method='%s'",
			    v);
			return 1;
		}
	} else if (kw_is(name, "body-prefix") || kw_is(name, "body-suffix") ||
		   kw_is(name, "delimiter")) {
		struct ls_buf *b = kw_is(name, "body-prefix")	? &h->prefix
				   : kw_is(name, "body-suffix") ? &h->suffix
								: &h->delim;
		b->len = 0;
		ls_buf_add(b, v, strlen(v));
	} else if (kw_is(name, "body")) {
		struct ok_err e;
		struct ls_tmpl *t = ls_tmpl_new(v, &e);
		if (!t) {
			snprintf(err, errlen, "%s", e.msg);
			return -EINVAL;
		}
		ls_tmpl_free(h->body);
		h->body = t;
	} else if (kw_is(name, "accept-redirects")) {
		h->accept_redirects = !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1");
	} else if (kw_is(name, "timeout")) {
		return num(name, v, 0, &h->timeout_s, err, errlen);
	} else if (kw_is(name, "batch-bytes")) {
		return num(name, v, 0, &h->batch_bytes, err, errlen);
	} else if (kw_is(name, "batch-lines")) {
		return num(name, v, 0, &h->batch_lines, err, errlen);
	} else if (kw_is(name, "batch-timeout")) {
		return num(name, v, 1, &h->batch_timeout_ms, err, errlen);
	} else if (kw_is(name, "workers")) {
		int r = num(name, v, 1, &h->workers, err, errlen);
		if (r == 0 && h->workers > 256) {
			snprintf(err, errlen, "workers() above 256 is not supported by logsift");
			return -EINVAL;
		}
		return r;
	} else if (kw_is(name, "retries")) {
		return num(name, v, 1, &h->retries, err, errlen);
	} else {
		snprintf(err, errlen, "%s() is not an http() option", name);
		return -ENOENT;
	}
	return 0;
}

int ls_http_check(struct ls_http *h, int time_reopen_s, char *err, size_t errlen)
{
	const char *why = curl_load();
	if (why) {
		snprintf(err, errlen, "http() is not available: libcurl cannot be loaded (%s)",
			 why);
		return -ENOSYS;
	}
	if (!h->n_t) {
		h->t = calloc(1, sizeof *h->t);
		if (!h->t)
			abort();
		h->t[0].url = sdup("http://localhost/"); /* 3.38's HTTP_DEFAULT_URL */
		h->n_t = 1;
	}
	h->recovery_s = time_reopen_s;
	for (size_t i = 0; i < h->n_t; i++) {
		const char *u = h->t[i].url;
		bool https = !strncasecmp(u, "https://", 8);
		if (!https && strncasecmp(u, "http://", 7)) {
			snprintf(err, errlen,
				 "url('%s'): only http:// and https:// urls are supported", u);
			return -EINVAL;
		}
		/* TLS asked for is TLS: never a cleartext request with tls options */
		if (!https && h->tls_opt) {
			snprintf(err, errlen,
				 "%s() given, but url('%s') is not https://: logsift does not send "
				 "in cleartext what is configured for TLS",
				 h->tls_opt, u);
			return -EINVAL;
		}
	}
	return 0;
}

bool ls_http_same(const struct ls_http *a, const struct ls_http *b)
{
	if (!a || !b || a->n_t != b->n_t || a->workers != b->workers)
		return false;
	for (size_t i = 0; i < a->n_t; i++)
		if (strcmp(a->t[i].url, b->t[i].url))
			return false;
	return true;
}

/* -------------------------------------------------------------- formatting */

static const char *const fac_names[24] = {
    "kern",   "user",	"mail",	    "daemon", "auth",	"syslog",   "lpr",     "news",
    "uucp",   "cron",	"authpriv", "ftp",    "ntp",	"security", "console", "solaris-cron",
    "local0", "local1", "local2",   "local3", "local4", "local5",   "local6",  "local7"};

/* A header value from a message: CR and LF would end the header line and
 * start one the sender chose, so they become spaces (3.38 sends them raw). */
static void add_hval(struct ls_buf *out, const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		ls_buf_addc(out, v[i] == '\r' || v[i] == '\n' || !v[i] ? ' ' : v[i]);
	ls_buf_addc(out, 0);
}

void ls_http_format(const struct ls_ddrv *d, const struct ls_msg *m, struct ls_buf *out)
{
	const struct ls_http *h = d->http;
	bool batched = h->batch_lines > 0 || h->batch_bytes > 0;
	ls_buf_addc(out, batched ? ENT_BODY : ENT_SINGLE);
	if (!batched) {
		size_t n;
		const char *v = ls_msg_get(m, LS_HOST, &n);
		add_hval(out, v, n);
		v = ls_msg_get(m, LS_PROGRAM, &n);
		add_hval(out, v, n);
		int fac = (m->pri >> 3) & 0xff;
		const char *f = fac < 24 ? fac_names[fac] : "";
		add_hval(out, f, strlen(f));
		const char *s = ls_severity_names[m->pri & 7];
		add_hval(out, s, strlen(s));
	}
	if (h->body) {
		ls_tmpl_format_opts(h->body, m, &d->topts, out);
	} else {
		size_t n;
		const char *v = ls_msg_get(m, LS_MESSAGE, &n);
		ls_buf_add(out, v, n);
	}
}

/* ------------------------------------------------------------ load balancer */

/* 3.38's _recalculate_clients_per_target_goals (lb_mu held). */
static void lb_recalc(struct ls_http *h)
{
	int ops = (int)h->n_t - h->lb_failed;
	if (ops <= 0)
		return;
	int per = h->lb_clients / ops, rem = h->lb_clients % ops;
	for (size_t i = 0; i < h->n_t; i++) {
		if (h->t[i].state != T_OPERATIONAL)
			continue;
		h->t[i].max_clients = per + (rem > 0);
		if (rem > 0)
			rem--;
	}
}

static int lb_least_recently_failed(struct ls_http *h)
{
	int idx = -1;
	for (size_t i = 0; i < h->n_t; i++)
		if (h->t[i].state == T_FAILED &&
		    (idx < 0 || h->t[idx].last_failure > h->t[i].last_failure))
			idx = (int)i;
	return idx >= 0 ? idx : 0;
}

static int lb_recover(struct ls_http *h)
{
	h->lb_last_recovery = time(NULL);
	return lb_least_recently_failed(h);
}

/* The target for worker hw, as http_load_balancer_choose_target(). */
static int lb_choose(struct ls_http *h, struct ls_http_w *hw)
{
	pthread_mutex_lock(&h->lb_mu);
	int cur = hw->lb_target, nt = cur;
	bool change = false;
	if (h->lb_failed > 0) {
		time_t now = time(NULL);
		if (!h->lb_last_recovery)
			h->lb_last_recovery = now;
		if (now - h->lb_last_recovery >= h->recovery_s) {
			nt = lb_recover(h);
			change = true;
		}
	}
	if (!change && (cur < 0 || h->t[cur].state != T_OPERATIONAL ||
			h->t[cur].clients > h->t[cur].max_clients)) {
		size_t start = cur >= 0 ? ((size_t)cur + 1) % h->n_t : 0;
		nt = -1;
		for (size_t i = 0; i < h->n_t && nt < 0; i++) {
			struct target *t = &h->t[(i + start) % h->n_t];
			if (t->state == T_OPERATIONAL && t->clients < t->max_clients)
				nt = (int)((i + start) % h->n_t);
		}
		if (nt < 0)
			nt = lb_recover(h);
		change = true;
	}
	if (change && nt != cur) {
		if (cur >= 0)
			h->t[cur].clients--;
		h->t[nt].clients++;
		hw->lb_target = nt;
	}
	pthread_mutex_unlock(&h->lb_mu);
	return hw->lb_target;
}

static void lb_set(struct ls_http *h, int t, bool ok)
{
	pthread_mutex_lock(&h->lb_mu);
	if (!ok) {
		if (h->t[t].state != T_FAILED) {
			h->lb_failed++;
			h->t[t].state = T_FAILED;
			lb_recalc(h);
		}
		h->t[t].last_failure = time(NULL);
	} else if (h->t[t].state != T_OPERATIONAL) {
		h->lb_failed--;
		h->t[t].state = T_OPERATIONAL;
		lb_recalc(h);
	}
	pthread_mutex_unlock(&h->lb_mu);
}

/* ----------------------------------------------------------- worker thread */

/* 3.38's default_map_http_status_to_worker_status(). */
static int map_status(const struct ls_http *h, long code)
{
	for (size_t i = 0; i < h->n_act; i++)
		if (h->act[i].code == code)
			return h->act[i].action == A_SUCCESS ? R_SUCCESS
			       : h->act[i].action == A_RETRY ? R_ERROR
			       : h->act[i].action == A_DROP  ? R_DROP
							     : R_NOT_CONNECTED;
	switch (code / 100) {
	case 1:
		return code == 102 || code == 103 ? R_ERROR : R_NOT_CONNECTED;
	case 2:
		return R_SUCCESS;
	case 3:
		return code == 304 ? R_ERROR : R_NOT_CONNECTED;
	case 4:
		if (code == 428)
			return R_ERROR;
		if (code == 410 || code == 416 || code == 422 || code == 424 || code == 425 ||
		    code == 451)
			return R_DROP;
		return R_NOT_CONNECTED;
	case 5:
		return code == 508 ? R_DROP : code == 504 ? R_ERROR : R_NOT_CONNECTED;
	default:
		return R_ERROR;
	}
}

static size_t discard(char *p, size_t size, size_t n, void *u)
{
	(void)p;
	(void)u;
	return size * n;
}

/* libcurl asks often during a transfer: a nonzero answer ends it (close). */
static int progress(void *u, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
	(void)a, (void)b, (void)c, (void)d;
	return atomic_load(&((struct ls_http_w *)u)->abort);
}

/* 3.38's _setup_static_options_in_curl, plus what a thread needs. */
static void curl_static(struct ls_http_w *hw)
{
	const struct ls_http *h = hw->h;
	CURL *c = hw->curl;
	cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	cu.easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress);
	cu.easy_setopt(c, CURLOPT_XFERINFODATA, hw);
	cu.easy_setopt(c, CURLOPT_ERRORBUFFER, hw->err);
	cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	/* the string options, set when given */
	static const struct {
		CURLoption opt;
		size_t off;
	} strs[] = {
	    {CURLOPT_USERNAME, offsetof(struct ls_http, user)},
	    {CURLOPT_PASSWORD, offsetof(struct ls_http, password)},
	    {CURLOPT_USERAGENT, offsetof(struct ls_http, user_agent)},
	    {CURLOPT_CAPATH, offsetof(struct ls_http, ca_dir)},
	    {CURLOPT_CAINFO, offsetof(struct ls_http, ca_file)},
	    {CURLOPT_SSLCERT, offsetof(struct ls_http, cert_file)},
	    {CURLOPT_SSLKEY, offsetof(struct ls_http, key_file)},
	    {CURLOPT_SSL_CIPHER_LIST, offsetof(struct ls_http, ciphers)},
	    {CURLOPT_TLS13_CIPHERS, offsetof(struct ls_http, tls13_ciphers)},
	    {CURLOPT_PROXY, offsetof(struct ls_http, proxy)},
	};
	if (!h->user_agent) {
		char ua[128];
		snprintf(ua, sizeof ua, "logsift/libcurl %s",
			 cu.version_info(CURLVERSION_NOW)->version);
		cu.easy_setopt(c, CURLOPT_USERAGENT, ua); /* copied by libcurl */
	}
	for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
		const char *v = *(char *const *)((const char *)h + strs[i].off);
		if (v)
			cu.easy_setopt(c, strs[i].opt, v);
	}
	cu.easy_setopt(c, CURLOPT_SSLVERSION, h->ssl_version);
	cu.easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->peer_verify ? 2L : 0L);
	cu.easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->peer_verify ? 1L : 0L);
	if (h->accept_redirects) {
		cu.easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
		cu.easy_setopt(c, CURLOPT_POSTREDIR, (long)CURL_REDIR_POST_ALL);
		/* https only once TLS is configured: a redirect is no way around it */
		cu.easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, h->tls_opt ? "https" : "http,https");
		cu.easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	}
	cu.easy_setopt(c, CURLOPT_TIMEOUT, h->timeout_s);
	if (h->put)
		cu.easy_setopt(c, CURLOPT_CUSTOMREQUEST, "PUT");
}

/* One request on target t: R_*, as 3.38's _flush_on_target(). */
static int flush_on_target(struct ls_http_w *hw, int t)
{
	CURL *c = hw->curl;
	hw->err[0] = 0;
	hw->code = 0;
	cu.easy_setopt(c, CURLOPT_URL, hw->h->t[t].url);
	cu.easy_setopt(c, CURLOPT_HTTPHEADER, hw->hdrs);
	cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)hw->body.len);
	cu.easy_setopt(c, CURLOPT_POSTFIELDS, hw->body.p);
	CURLcode r = cu.easy_perform(c);
	if (r != CURLE_OK) {
		if (!hw->err[0])
			snprintf(hw->err, sizeof hw->err, "%s", cu.easy_strerror(r));
		return R_NOT_CONNECTED;
	}
	if (cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &hw->code) != CURLE_OK)
		return R_NOT_CONNECTED;
	return map_status(hw->h, hw->code);
}

/* 3.38's _flush(): the next target after a failure, each target once. */
static void flush_batch(struct ls_http_w *hw)
{
	struct ls_http *h = hw->h;
	int t = lb_choose(h, hw), r = R_NOT_CONNECTED;
	for (size_t attempts = h->n_t; attempts > 0; attempts--) {
		r = flush_on_target(hw, t);
		if (r == R_SUCCESS) {
			lb_set(h, t, true);
			break;
		}
		lb_set(h, t, false);
		if (atomic_load(&hw->abort))
			break;
		int alt = lb_choose(h, hw);
		if (alt == t)
			break;
		hw->url = h->t[t].url;
		if (hw->notices && hw->code)
			fprintf(hw->notices,
				"Target server down, trying an alternative server; url='%s', "
				"status_code='%ld', alternative_url='%s', worker_index='%d'\n",
				h->t[t].url, hw->code, h->t[alt].url, hw->index);
		t = alt;
	}
	hw->url = h->t[t].url;
	hw->result = r;
}

static void *worker_main(void *arg)
{
	struct ls_http_w *hw = arg;
	for (;;) {
		pthread_mutex_lock(&hw->mu);
		while (!hw->job && !hw->quit)
			pthread_cond_wait(&hw->cv, &hw->mu);
		bool quit = hw->quit;
		pthread_mutex_unlock(&hw->mu);
		if (quit)
			break;
		flush_batch(hw);
		pthread_mutex_lock(&hw->mu);
		hw->job = false;
		pthread_mutex_unlock(&hw->mu);
		uint64_t one = 1;
		(void)!write(hw->efd, &one, sizeof one);
	}
	return NULL;
}

/* --------------------------------------------------------- event-loop side */

static ssize_t http_write(struct ls_writer *w, const void *p, size_t n)
{
	(void)w, (void)p, (void)n;
	return -EINVAL; /* dest.c never writes bytes to an http() writer */
}

/* Stop the thread (a transfer in flight is ended), free the worker. */
static void http_close(struct ls_writer *w)
{
	struct ls_http_w *hw = w->hw;
	if (hw) {
		atomic_store(&hw->abort, true);
		pthread_mutex_lock(&hw->mu);
		hw->quit = true;
		pthread_cond_signal(&hw->cv);
		pthread_mutex_unlock(&hw->mu);
		pthread_join(hw->th, NULL);
		pthread_mutex_lock(&hw->h->lb_mu);
		if (hw->lb_target >= 0)
			hw->h->t[hw->lb_target].clients--;
		hw->h->lb_clients--;
		lb_recalc(hw->h);
		pthread_mutex_unlock(&hw->h->lb_mu);
		cu.easy_cleanup(hw->curl);
		cu.slist_free_all(hw->hdrs);
		ls_buf_free(&hw->body);
		pthread_mutex_destroy(&hw->mu);
		pthread_cond_destroy(&hw->cv);
		close(hw->efd);
		free(hw);
		w->hw = NULL;
	}
	w->fd = -1;
	w->blocked = false;
}

static const struct ls_wops http_ops = {http_write, http_close};

int ls_http_open(struct ls_writer *w)
{
	struct ls_http *h = w->drv->http;
	/* worker N > 0 is "URL worker N" (a url has no spaces: url() splits there) */
	const char *sp = strstr(w->path, " worker ");
	int index = sp ? atoi(sp + 8) : 0;
	if (curl_load())
		return -ENOSYS; /* ls_http_check() refused the config already */
	struct ls_http_w *hw = calloc(1, sizeof *hw);
	if (!hw)
		abort();
	hw->h = h;
	hw->index = index;
	hw->lb_target = -1;
	hw->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	hw->curl = cu.easy_init();
	if (hw->efd < 0 || !hw->curl) {
		int err = hw->efd < 0 ? errno : ENOMEM;
		if (hw->efd >= 0)
			close(hw->efd);
		if (hw->curl)
			cu.easy_cleanup(hw->curl);
		free(hw);
		return -err;
	}
	curl_static(hw);
	pthread_mutex_init(&hw->mu, NULL);
	pthread_cond_init(&hw->cv, NULL);
	if (pthread_create(&hw->th, NULL, worker_main, hw) != 0) {
		cu.easy_cleanup(hw->curl);
		close(hw->efd);
		pthread_mutex_destroy(&hw->mu);
		pthread_cond_destroy(&hw->cv);
		free(hw);
		return -EAGAIN;
	}
	pthread_mutex_lock(&h->lb_mu);
	h->lb_clients++;
	lb_recalc(h);
	pthread_mutex_unlock(&h->lb_mu);
	w->hw = hw;
	w->fd = hw->efd;
	w->ops = &http_ops;
	w->events = POLLIN; /* the eventfd, polled while a request is in flight */
	return 0;
}

struct ls_writer *ls_http_writer(struct ls_cfg *c, struct ls_dest *dst, struct ls_ddrv *d)
{
	struct ls_http *h = d->http;
	struct ls_writer *first = NULL;
	/* every worker at once, so that what their disk-buffers kept goes out */
	size_t pick = h->next_worker++ % (size_t)h->workers;
	struct ls_writer *pw = NULL;
	for (long i = 0; i < h->workers; i++) {
		char name[4200];
		if (i)
			snprintf(name, sizeof name, "%s worker %ld", h->t[0].url, i);
		else
			snprintf(name, sizeof name, "%s", h->t[0].url);
		struct ls_writer *w = ls_writer_get(c, dst, d, name);
		if (!first)
			first = w;
		if ((size_t)i == pick)
			pw = w;
	}
	return pw ? pw : first;
}

/* Entry at p (len bytes): its body and, for ENT_SINGLE, the four header values. */
static void entry_parse(const char *p, size_t len, const char **body, size_t *blen,
			const char *hv[4])
{
	size_t off = 1;
	for (int i = 0; i < 4; i++)
		hv[i] = "";
	if (len && p[0] == ENT_SINGLE)
		for (int i = 0; i < 4 && off < len; i++) {
			hv[i] = p + off;
			const char *z = memchr(p + off, 0, len - off);
			off = z ? (size_t)(z - p) + 1 : len;
		}
	if (off > len)
		off = len;
	*body = p + off;
	*blen = len - off;
}

static void add_header(struct ls_http_w *hw, const char *name, const char *v)
{
	struct ls_buf b = {0};
	ls_buf_addf(&b, "%s: %s", name, v);
	struct curl_slist *n = cu.slist_append(hw->hdrs, b.p);
	ls_buf_free(&b);
	if (!n)
		abort();
	hw->hdrs = n;
}

int ls_http_send(struct ls_cfg *c, struct ls_writer *w, bool idle)
{
	struct ls_http_w *hw = w->hw;
	struct ls_http *h = w->drv->http;
	(void)c;
	if (!hw || w->blocked)
		return -1;
	if (!w->qn) {
		hw->batch_start_ms = 0;
		return -1;
	}
	int64_t now = ls_now_ms();
	if (!hw->batch_start_ms)
		hw->batch_start_ms = now;
	bool batched = h->batch_lines > 0 || h->batch_bytes > 0;
	size_t lines = h->batch_lines > 0 ? (size_t)h->batch_lines : 1;
	hw->body.len = 0;
	ls_buf_add(&hw->body, h->prefix.p, h->prefix.len);
	const char *hv[4] = {"", "", "", ""};
	size_t k = 0, bytes = 0, off = w->head - w->done;
	bool full = false;
	while (k < w->qn && k < lines) {
		const struct ls_qent *e = &w->q[(w->qh + k) & (w->qcap - 1)];
		const char *body;
		size_t blen;
		entry_parse(w->buf.p + off, e->len, &body, &blen, hv);
		if (k)
			ls_buf_add(&hw->body, h->delim.p, h->delim.len);
		ls_buf_add(&hw->body, body, blen);
		k++;
		bytes += e->len;
		off += e->len;
		if (h->batch_bytes && hw->body.len + h->suffix.len >= (size_t)h->batch_bytes) {
			full = true;
			break;
		}
	}
	if (k == lines)
		full = true;
	/* a partial batch waits for the queue to run dry, and batch-timeout()
	 * from its first message (3.38's _should_flush_now) */
	if (!full) {
		int64_t due = hw->batch_start_ms + h->batch_timeout_ms;
		if (!idle)
			return -1;
		if (h->batch_timeout_ms > 0 && lines > 1 && now < due)
			return (int)(due - now);
	}
	ls_buf_add(&hw->body, h->suffix.p, h->suffix.len);
	cu.slist_free_all(hw->hdrs);
	hw->hdrs = NULL;
	if (!batched) {
		add_header(hw, "X-Syslog-Host", hv[0]);
		add_header(hw, "X-Syslog-Program", hv[1]);
		add_header(hw, "X-Syslog-Facility", hv[2]);
		add_header(hw, "X-Syslog-Level", hv[3]);
	}
	add_header(hw, "Expect", "");
	for (size_t i = 0; i < h->n_headers; i++) {
		struct curl_slist *n = cu.slist_append(hw->hdrs, h->headers[i]);
		if (!n)
			abort();
		hw->hdrs = n;
	}
	hw->n_msgs = k;
	hw->n_bytes = bytes;
	hw->notices = w->rt ? w->rt->notices : NULL;
	pthread_mutex_lock(&hw->mu);
	hw->job = true;
	pthread_cond_signal(&hw->cv);
	pthread_mutex_unlock(&hw->mu);
	w->blocked = true;
	return -1;
}

/* Suspend w for time-reopen(): the queue stays, nothing is sent before. */
static void suspend(struct ls_cfg *c, struct ls_writer *w)
{
	int s = w->drv->time_reopen >= 0 ? w->drv->time_reopen : c->o.time_reopen;
	w->retry_ms = ls_now_ms() + 1000LL * s;
	w->failing = true;
}

void ls_http_event(struct ls_cfg *c, struct ls_writer *w)
{
	struct ls_http_w *hw = w->hw;
	uint64_t v;
	if (!hw || read(hw->efd, &v, sizeof v) != sizeof v)
		return;
	pthread_mutex_lock(&hw->mu);
	bool busy = hw->job;
	pthread_mutex_unlock(&hw->mu);
	if (busy)
		return;
	w->blocked = false;
	FILE *notices = w->rt ? w->rt->notices : NULL;
	int s = w->drv->time_reopen >= 0 ? w->drv->time_reopen : c->o.time_reopen;
	char why[CURL_ERROR_SIZE + 64];
	if (hw->code)
		snprintf(why, sizeof why, "status_code='%ld'", hw->code);
	else
		snprintf(why, sizeof why, "error='%s'", hw->err);
	switch (hw->result) {
	case R_SUCCESS:
		hw->retries_on_error = 0;
		if (w->failing && notices)
			fprintf(notices,
				"Destination recovered, sending queued messages; url='%s', "
				"destination='%s', worker_index='%d', queued='%zu'\n",
				hw->url, w->dst->name, hw->index, ls_writer_queued(w));
		w->failing = false;
		ls_writer_retire(w, hw->n_msgs, true);
		hw->batch_start_ms = 0;
		break;
	case R_DROP:
		if (notices)
			fprintf(
			    notices,
			    "Message(s) dropped while sending message to destination; url='%s', "
			    "%s, destination='%s', worker_index='%d', time_reopen='%d', "
			    "batch_size='%zu'\n",
			    hw->url, why, w->dst->name, hw->index, s, hw->n_msgs);
		hw->retries_on_error = 0;
		ls_writer_retire(w, hw->n_msgs, false);
		hw->batch_start_ms = 0;
		suspend(c, w);
		break;
	case R_ERROR:
		if (++hw->retries_on_error >= hw->h->retries) {
			if (notices)
				fprintf(
				    notices,
				    "Multiple failures while sending message(s) to destination, "
				    "message(s) dropped; url='%s', %s, destination='%s', "
				    "worker_index='%d', retries='%d', batch_size='%zu'\n",
				    hw->url, why, w->dst->name, hw->index, hw->retries_on_error,
				    hw->n_msgs);
			hw->retries_on_error = 0;
			ls_writer_retire(w, hw->n_msgs, false);
			hw->batch_start_ms = 0;
		} else {
			if (notices)
				fprintf(
				    notices,
				    "Error occurred while trying to send a message, trying again; "
				    "url='%s', %s, destination='%s', worker_index='%d', "
				    "retries='%d', time_reopen='%d', batch_size='%zu'\n",
				    hw->url, why, w->dst->name, hw->index, hw->retries_on_error, s,
				    hw->n_msgs);
			w->dst->failed++;
			suspend(c, w);
		}
		break;
	default:
		if (notices && !w->failing)
			fprintf(notices,
				"Server disconnected while preparing messages for sending, trying "
				"again; url='%s', %s, destination='%s', worker_index='%d', "
				"time_reopen='%d', batch_size='%zu'\n",
				hw->url, why, w->dst->name, hw->index, s, hw->n_msgs);
		w->dst->failed++;
		suspend(c, w);
	}
}

static int http_wd_open(struct ls_cfg *c, struct ls_writer *w)
{
	(void)c;
	return ls_http_open(w);
}

static bool http_wd_same(const struct ls_ddrv *a, const struct ls_ddrv *b)
{
	return ls_http_same(a->http, b->http);
}

const struct ls_wdriver ls_http_wdriver = {
    ls_http_writer, http_wd_open, ls_http_send, ls_http_event, NULL, NULL, http_wd_same};
