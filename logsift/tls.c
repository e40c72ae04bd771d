/*
 * tls.c: TLS for network()/syslog()/tcp() sources and destinations, with
 * OpenSSL (libssl), the library syslog-ng 3.38 uses; and the digests of
 * the $(hash) template functions. Built as the module logsift-tls.so, loaded
 * only when a configuration uses either (tls_mod.c).
 *
 * Divisions: the tls() option block as 3.38 documents it (ls_tls_opt_set),
 * the context (ls_tls_new: keys, CAs, CRLs, verify mode, ciphers, protocol
 * options, all loaded at start-up so a bad file stops the daemon with the
 * config's file:line), and the connection, a small non-blocking transport:
 * ls_tls_conn_new on a connected or accepted socket, then ls_tls_read /
 * ls_tls_write, which run the handshake first and return -EAGAIN when the
 * socket would block (ls_tls_want says for which direction). Callers poll
 * and call again; nothing here blocks.
 *
 * Verification follows 3.38's lib/tlscontext.c: peer-verify() is
 * required|optional (must the peer send a certificate) x trusted|untrusted
 * (must it verify against ca-dir()/ca-file()); a trusted client also checks
 * the server certificate's subjectAltName DNS/IP entries (else its CN)
 * against the destination's host name; a CRL that cannot be found in
 * crl-dir() is not an error (3.38: "CRL directory is set but no CRLs
 * found"). A failure is one line naming the certificate (subject, issuer),
 * the peer and OpenSSL's reason.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "ls_int.h"

/* peer-verify() bits, as 3.38's TVM_* */
enum { TLS_OPTIONAL = 1, TLS_REQUIRED = 2, TLS_TRUSTED = 4, TLS_UNTRUSTED = 8 };

struct ls_tls {
	char *key_file, *cert_file, *ca_dir, *ca_file, *crl_dir, *cipher_suite;
	int verify;	  /* TLS_* bits; default required-trusted */
	long ssl_ops;	  /* SSL_OP_NO_* from ssl-options() */
	bool server;	  /* source side */
	SSL_CTX *ctx;	  /* built by ls_tls_new */
	const char *file; /* config location of tls(), for errors */
	int line;
};

struct ls_tls_conn {
	SSL *ssl;
	const struct ls_tls *t;
	char peer[96];	/* "addr:port" or host name, for messages */
	char host[256]; /* name the server certificate must match (client) */
	int want;	/* POLLIN/POLLOUT after -EAGAIN */
	bool done;	/* handshake finished */
	char err[1024]; /* last failure, one line */
};

/* ------------------------------------------------------------- options */

struct ls_tls *ls_tls_opts_new(bool server, const char *file, int line)
{
	struct ls_tls *t = calloc(1, sizeof *t);
	if (!t)
		abort();
	t->verify = TLS_REQUIRED | TLS_TRUSTED;
	t->server = server;
	t->file = file;
	t->line = line;
	return t;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = strdup(v);
	if (!*dst)
		abort();
	return 0;
}

/* ssl-options() words, as 3.38's tls_context_set_ssl_options_by_name */
static const struct {
	const char *name;
	long op;
} ssl_option_names[] = {
    {"none", 0},
    {"no-sslv2", SSL_OP_NO_SSLv2},
    {"no-sslv3", SSL_OP_NO_SSLv3},
    {"no-tlsv1", SSL_OP_NO_TLSv1},
    {"no-tlsv11", SSL_OP_NO_TLSv1_1},
    {"no-tlsv12", SSL_OP_NO_TLSv1_2},
    {"no-tlsv13", SSL_OP_NO_TLSv1_3},
};

/* Compare a config word, '-' and '_' alike, case-insensitively (3.38 uses strcasecmp). */
static bool word_eq(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '_' ? '-' : *a, y = *b == '_' ? '-' : *b;
		if ((x | 0x20) != (y | 0x20))
			return false;
	}
	return !*a && !*b;
}

int ls_tls_opt_set(struct ls_tls *t, const char *name, const char *const *vals, size_t n, char *err,
		   size_t errlen)
{
	if (!n) {
		snprintf(err, errlen, "tls(%s()) needs a value", name);
		return -EINVAL;
	}
	if (word_eq(name, "key-file"))
		return set_str(&t->key_file, vals[0]);
	if (word_eq(name, "cert-file"))
		return set_str(&t->cert_file, vals[0]);
	if (word_eq(name, "ca-dir"))
		return set_str(&t->ca_dir, vals[0]);
	if (word_eq(name, "ca-file"))
		return set_str(&t->ca_file, vals[0]);
	if (word_eq(name, "crl-dir"))
		return set_str(&t->crl_dir, vals[0]);
	if (word_eq(name, "cipher-suite"))
		return set_str(&t->cipher_suite, vals[0]);
	if (word_eq(name, "peer-verify")) {
		const char *v = vals[0];
		if (word_eq(v, "optional-trusted"))
			t->verify = TLS_OPTIONAL | TLS_TRUSTED;
		else if (word_eq(v, "optional-untrusted") || word_eq(v, "none") || word_eq(v, "no"))
			t->verify = TLS_OPTIONAL | TLS_UNTRUSTED;
		else if (word_eq(v, "required-trusted") || word_eq(v, "yes"))
			t->verify = TLS_REQUIRED | TLS_TRUSTED;
		else if (word_eq(v, "required-untrusted"))
			t->verify = TLS_REQUIRED | TLS_UNTRUSTED;
		else {
			snprintf(err, errlen, "unknown peer-verify() argument");
			return -EINVAL;
		}
		return 0;
	}
	if (word_eq(name, "ssl-options")) {
		t->ssl_ops = 0;
		for (size_t i = 0; i < n; i++) {
			size_t k = 0;
			while (k < sizeof ssl_option_names / sizeof ssl_option_names[0] &&
			       !word_eq(vals[i], ssl_option_names[k].name))
				k++;
			if (k == sizeof ssl_option_names / sizeof ssl_option_names[0]) {
				snprintf(err, errlen, "unknown ssl-options() argument");
				return -EINVAL;
			}
			t->ssl_ops |= ssl_option_names[k].op;
		}
		return 0;
	}
	snprintf(err, errlen, "tls(%s()) is not supported by logsift", name);
	return -ENOTSUP;
}

/* ------------------------------------------------------------- context */

static int tls_ex_index = -1; /* SSL ex_data slot holding the ls_tls_conn */

/* The first OpenSSL error queued, as text, or fallback. */
static void ssl_err_text(char *buf, size_t n, const char *fallback)
{
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, buf, n);
	else
		snprintf(buf, n, "%s", fallback);
	ERR_clear_error();
}

/* name as 3.38's tls_x509_format_dn prints it ("CN=a,O=b", most specific first) */
static void dn_text(X509_NAME *name, char *buf, size_t n)
{
	buf[0] = 0;
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return;
	X509_NAME_print_ex(b, name, 0,
			   ASN1_STRFLGS_ESC_2253 | ASN1_STRFLGS_UTF8_CONVERT |
			       XN_FLAG_SEP_CPLUS_SPC | XN_FLAG_DN_REV);
	int k = BIO_read(b, buf, (int)n - 1);
	buf[k > 0 ? k : 0] = 0;
	BIO_free(b);
}

/* The verify callback: 3.38's tls_session_verify, and the failure message. */
static int verify_cb(int ok, X509_STORE_CTX *xs)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(xs, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct ls_tls_conn *c = ssl ? SSL_get_ex_data(ssl, tls_ex_index) : NULL;
	if (!c)
		return ok;
	if (c->t->verify & TLS_UNTRUSTED)
		return 1;
	int e = X509_STORE_CTX_get_error(xs);
	if (!ok && e == X509_V_ERR_UNABLE_TO_GET_CRL)
		return 1;
	if (!ok && !c->err[0]) {
		X509 *cert = X509_STORE_CTX_get_current_cert(xs);
		char subj[256] = "", iss[256] = "";
		if (cert) {
			dn_text(X509_get_subject_name(cert), subj, sizeof subj);
			dn_text(X509_get_issuer_name(cert), iss, sizeof iss);
		}
		snprintf(c->err, sizeof c->err,
			 "Certificate validation failed; subject='%s', issuer='%s', error='%s', "
			 "depth='%d', peer='%s'",
			 subj, iss, X509_verify_cert_error_string(e),
			 X509_STORE_CTX_get_error_depth(xs), c->peer);
	}
	return ok;
}

int ls_tls_new(struct ls_tls *t, char *err, size_t errlen)
{
	if (tls_ex_index < 0)
		tls_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
	SSL_CTX *ctx = SSL_CTX_new(t->server ? TLS_server_method() : TLS_client_method());
	char why[256];
	if (!ctx) {
		ssl_err_text(why, sizeof why, "SSL_CTX_new failed");
		snprintf(err, errlen, "Error setting up TLS session context; tls_error='%s'", why);
		return -ENOMEM;
	}
	SSL_CTX_set_options(ctx, (uint64_t)t->ssl_ops | SSL_OP_NO_SSLv2 | SSL_OP_NO_SSLv3);
	if (t->server && (!t->key_file || !t->cert_file)) {
		snprintf(err, errlen, "TLS source needs key-file() and cert-file()");
		goto fail;
	}
	if (t->cert_file && SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
		ssl_err_text(why, sizeof why, "cannot load");
		snprintf(err, errlen,
			 "Error opening TLS related key or certificate file; filename='%s', "
			 "tls_error='%s'",
			 t->cert_file, why);
		goto fail;
	}
	if (t->key_file) {
		if (SSL_CTX_use_PrivateKey_file(ctx, t->key_file, SSL_FILETYPE_PEM) != 1) {
			ssl_err_text(why, sizeof why, "cannot load");
			snprintf(
			    err, errlen,
			    "Error opening TLS related key or certificate file; filename='%s', "
			    "tls_error='%s'",
			    t->key_file, why);
			goto fail;
		}
		if (!t->cert_file || SSL_CTX_check_private_key(ctx) != 1) {
			snprintf(err, errlen,
				 "Error checking the consistency of the key and certificate; "
				 "key_file='%s', cert_file='%s'",
				 t->key_file, t->cert_file ? t->cert_file : "");
			goto fail;
		}
	}
	if ((t->ca_file || t->ca_dir) &&
	    SSL_CTX_load_verify_locations(ctx, t->ca_file, t->ca_dir) != 1) {
		ssl_err_text(why, sizeof why, "cannot load");
		snprintf(err, errlen,
			 "Error loading CA certificates; ca_file='%s', ca_dir='%s', tls_error='%s'",
			 t->ca_file ? t->ca_file : "", t->ca_dir ? t->ca_dir : "", why);
		goto fail;
	}
	if (t->crl_dir) {
		X509_STORE *st = SSL_CTX_get_cert_store(ctx);
		X509_LOOKUP *lk = X509_STORE_add_lookup(st, X509_LOOKUP_hash_dir());
		if (!lk || X509_LOOKUP_add_dir(lk, t->crl_dir, X509_FILETYPE_PEM) != 1) {
			snprintf(err, errlen, "Error loading CRL directory; crl_dir='%s'",
				 t->crl_dir);
			goto fail;
		}
		X509_STORE_set_flags(st, X509_V_FLAG_CRL_CHECK);
	}
	if (t->cipher_suite && SSL_CTX_set_cipher_list(ctx, t->cipher_suite) != 1) {
		snprintf(err, errlen, "Error setting cipher suite; cipher_suite='%s'",
			 t->cipher_suite);
		goto fail;
	}
	int mode = SSL_VERIFY_NONE;
	if (t->server) {
		mode = SSL_VERIFY_PEER;
		if (t->verify & TLS_REQUIRED)
			mode |= SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
	} else if (t->verify & TLS_TRUSTED) {
		mode = SSL_VERIFY_PEER;
	}
	SSL_CTX_set_verify(ctx, mode, verify_cb);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	t->ctx = ctx;
	return 0;
fail:
	SSL_CTX_free(ctx);
	return -EINVAL;
}

void ls_tls_free(struct ls_tls *t)
{
	if (!t)
		return;
	SSL_CTX_free(t->ctx);
	free(t->key_file);
	free(t->cert_file);
	free(t->ca_dir);
	free(t->ca_file);
	free(t->crl_dir);
	free(t->cipher_suite);
	free(t);
}

/* ---------------------------------------------------------- connections */

struct ls_tls_conn *ls_tls_conn_new(const struct ls_tls *t, int fd, const char *peer,
				    const char *host)
{
	struct ls_tls_conn *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->t = t;
	snprintf(c->peer, sizeof c->peer, "%s", peer);
	c->ssl = SSL_new(t->ctx);
	if (!c->ssl)
		abort();
	SSL_set_ex_data(c->ssl, tls_ex_index, c);
	SSL_set_fd(c->ssl, fd);
	if (t->server) {
		SSL_set_accept_state(c->ssl);
	} else {
		SSL_set_connect_state(c->ssl);
		snprintf(c->host, sizeof c->host, "%s", host ? host : "");
		if (host && (t->verify & TLS_TRUSTED)) {
			/* 3.38 checks subjectAltName DNS and IP entries, else the CN */
			X509_VERIFY_PARAM *vp = SSL_get0_param(c->ssl);
			struct in6_addr a;
			if (inet_pton(AF_INET, host, &a) == 1 || inet_pton(AF_INET6, host, &a) == 1)
				X509_VERIFY_PARAM_set1_ip_asc(vp, host);
			else
				X509_VERIFY_PARAM_set1_host(vp, host, 0);
		}
		if (host)
			SSL_set_tlsext_host_name(c->ssl, host);
	}
	return c;
}

/* Map an SSL_* result to 0 (progress), -EAGAIN (poll c->want) or an error. */
static int ssl_result(struct ls_tls_conn *c, int r, const char *what)
{
	int e = SSL_get_error(c->ssl, r);
	switch (e) {
	case SSL_ERROR_WANT_READ:
		c->want = POLLIN;
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		c->want = POLLOUT;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return -EPIPE;
	default:
		break;
	}
	if (!c->err[0]) {
		char why[256];
		long vr = SSL_get_verify_result(c->ssl);
		if (vr != X509_V_OK && e == SSL_ERROR_SSL) {
			X509 *cert = SSL_get1_peer_certificate(c->ssl);
			char subj[256] = "";
			if (cert)
				dn_text(X509_get_subject_name(cert), subj, sizeof subj);
			X509_free(cert);
			snprintf(
			    c->err, sizeof c->err,
			    "Certificate validation failed; subject='%s', error='%s', peer='%s'",
			    subj, X509_verify_cert_error_string(vr), c->peer);
		} else {
			ssl_err_text(why, sizeof why,
				     e == SSL_ERROR_SYSCALL ? "connection closed" : "unknown");
			snprintf(c->err, sizeof c->err,
				 "SSL error while %s; tls_error='%s', peer='%s'", what, why,
				 c->peer);
		}
	}
	ERR_clear_error();
	return -EPROTO;
}

int ls_tls_handshake(struct ls_tls_conn *c)
{
	if (c->done)
		return 0;
	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);
	if (r == 1) {
		c->done = true;
		return 0;
	}
	return ssl_result(c, r, c->t->server ? "accepting" : "connecting");
}

ssize_t ls_tls_read(struct ls_tls_conn *c, void *buf, size_t n)
{
	int r = ls_tls_handshake(c);
	if (r < 0)
		return r;
	/* drain what OpenSSL has decrypted: poll() cannot see its buffer */
	size_t got = 0;
	while (got < n) {
		size_t k = 0;
		ERR_clear_error();
		r = SSL_read_ex(c->ssl, (char *)buf + got, n - got, &k);
		if (r != 1) {
			r = ssl_result(c, r, "reading stream");
			if (got && r == -EAGAIN)
				break;
			if (r == -EPIPE)
				return (ssize_t)got; /* close_notify: 0 = end */
			if (got && r < 0) {
				/* deliver what came before the error; it repeats next call */
				return (ssize_t)got;
			}
			return r;
		}
		got += k;
	}
	return (ssize_t)got;
}

ssize_t ls_tls_write(struct ls_tls_conn *c, const void *buf, size_t n)
{
	int r = ls_tls_handshake(c);
	if (r < 0)
		return r;
	size_t k = 0;
	ERR_clear_error();
	r = SSL_write_ex(c->ssl, buf, n, &k);
	if (r != 1)
		return ssl_result(c, r, "writing stream");
	return (ssize_t)k;
}

int ls_tls_want(const struct ls_tls_conn *c)
{
	return c->want;
}

const char *ls_tls_error(const struct ls_tls_conn *c)
{
	return c->err[0] ? c->err : "TLS connection failed";
}

/* ------------------------------------------------------------- digests */

/* For tfunc.c's $(hash) functions, which reach OpenSSL through this module. */
const void *ls_tls_md(const char *name, int *size)
{
	const EVP_MD *md = EVP_get_digestbyname(name);
	if (md)
		*size = EVP_MD_size(md);
	return md;
}

unsigned ls_tls_digest(const void *md, const void *p, size_t n, unsigned char *out)
{
	unsigned len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		abort();
	EVP_DigestInit_ex(ctx, md, NULL);
	EVP_DigestUpdate(ctx, p, n);
	EVP_DigestFinal_ex(ctx, out, &len);
	EVP_MD_CTX_free(ctx);
	return len;
}

void ls_tls_conn_free(struct ls_tls_conn *c)
{
	if (!c)
		return;
	if (c->done)
		SSL_shutdown(c->ssl); /* best effort close_notify, never waits */
	SSL_free(c->ssl);
	ERR_clear_error();
	free(c);
}
