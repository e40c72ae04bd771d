/*
 * tls_mod.c: the ls_tls_* calls of ls_int.h (TLS, and the digests of the
 * $(hash) template functions), forwarded to tls.c built as the module
 * logsift-tls.so, which alone links libssl and libcrypto. dlopen()ed on the
 * first call, so a daemon (or --syntax-only run) whose configuration has no
 * tls() and no $(md5)/$(sha1)/... never loads OpenSSL: linking libssl and libcrypto cost every
 * start about 17 million cycles of relocation in the dynamic loader (measured with
 * LD_DEBUG=statistics; 3 ms of CPU a start, paid by every test run).
 *
 * The module is looked for where ls_tls_set_module() said (main.c passes
 * $LOGSIFT_TLS_MODULE), next to the running executable, where meson installs it, then in the build
 * tree. When it cannot be loaded, a tls() block is refused with the config's file:line (never
 * cleartext): ls_tls_opts_new() returns NULL and says why.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "ls_int.h"

#define TLS_FUNCS(X)                                                                               \
	X(opts_new, struct ls_tls *, (bool, const char *, int))                                    \
	X(opt_set, int,                                                                            \
	  (struct ls_tls *, const char *, const char *const *, size_t, char *, size_t))            \
	X(new, int, (struct ls_tls *, char *, size_t))                                             \
	X(free, void, (struct ls_tls *))                                                           \
	X(conn_new, struct ls_tls_conn *,                                                          \
	  (const struct ls_tls *, int, const char *, const char *))                                \
	X(handshake, int, (struct ls_tls_conn *))                                                  \
	X(read, ssize_t, (struct ls_tls_conn *, void *, size_t))                                   \
	X(write, ssize_t, (struct ls_tls_conn *, const void *, size_t))                            \
	X(want, int, (const struct ls_tls_conn *))                                                 \
	X(error, const char *, (const struct ls_tls_conn *))                                       \
	X(conn_free, void, (struct ls_tls_conn *))                                                 \
	X(md, const void *, (const char *, int *))                                                 \
	X(digest, unsigned, (const void *, const void *, size_t, unsigned char *))

#define FIELD(name, ret, args) ret(*name) args;
static struct {
	TLS_FUNCS(FIELD)
} mod;
static char why[512];		/* the last failure to load */
static char override[PATH_MAX]; /* ls_tls_set_module's path, or "" */

/* The module is one per process (dlopen), so its location is too: set by
 * main() from the user's LOGSIFT_TLS_MODULE before the first TLS call. */
void ls_tls_set_module(const char *path)
{
	snprintf(override, sizeof override, "%s", path ? path : "");
}

/* True once mod is filled; the candidates in the header's order. */
static bool load(void)
{
	if (mod.opts_new)
		return true;
	char cand[4][PATH_MAX + 32];
	size_t n = 0;
	if (override[0])
		snprintf(cand[n++], sizeof cand[0], "%s", override);
	if (io_exe_sibling("logsift-tls.so", cand[n], sizeof cand[0]) == 0)
		n++;
	snprintf(cand[n++], sizeof cand[0], "%s", LS_TLS_MODULE_INSTALLED);
	snprintf(cand[n++], sizeof cand[0], "%s", LS_TLS_MODULE_BUILT);
	void *h = NULL;
	for (size_t i = 0; i < n && !h; i++) {
		h = dlopen(cand[i], RTLD_NOW | RTLD_LOCAL);
		if (!h && i == 0)
			snprintf(why, sizeof why, "%s", dlerror());
	}
	if (!h)
		return false;
#define LOOKUP(name, ret, args)                                                                    \
	*(void **)&mod.name = dlsym(h, "ls_tls_" #name);                                           \
	if (!mod.name) {                                                                           \
		snprintf(why, sizeof why, "%s", dlerror());                                        \
		mod.opts_new = NULL;                                                               \
		return false;                                                                      \
	}
	TLS_FUNCS(LOOKUP)
	return true;
}

struct ls_tls *ls_tls_opts_new(bool server, const char *file, int line)
{
	return load() ? mod.opts_new(server, file, line) : NULL;
}

const char *ls_tls_load_error(void)
{
	return why;
}

int ls_tls_opt_set(struct ls_tls *t, const char *name, const char *const *vals, size_t n, char *err,
		   size_t errlen)
{
	return mod.opt_set(t, name, vals, n, err, errlen);
}

int ls_tls_new(struct ls_tls *t, char *err, size_t errlen)
{
	return mod.new(t, err, errlen);
}

void ls_tls_free(struct ls_tls *t)
{
	if (t)
		mod.free(t); /* a tls() exists only when the module loaded */
}

struct ls_tls_conn *ls_tls_conn_new(const struct ls_tls *t, int fd, const char *peer,
				    const char *host)
{
	return mod.conn_new(t, fd, peer, host);
}

int ls_tls_handshake(struct ls_tls_conn *c)
{
	return mod.handshake(c);
}

ssize_t ls_tls_read(struct ls_tls_conn *c, void *buf, size_t n)
{
	return mod.read(c, buf, n);
}

ssize_t ls_tls_write(struct ls_tls_conn *c, const void *buf, size_t n)
{
	return mod.write(c, buf, n);
}

int ls_tls_want(const struct ls_tls_conn *c)
{
	return mod.want(c);
}

const char *ls_tls_error(const struct ls_tls_conn *c)
{
	return mod.error(c);
}

void ls_tls_conn_free(struct ls_tls_conn *c)
{
	if (c)
		mod.conn_free(c);
}

const void *ls_tls_md(const char *name, int *size)
{
	return load() ? mod.md(name, size) : NULL;
}

unsigned ls_tls_digest(const void *md, const void *p, size_t n, unsigned char *out)
{
	return mod.digest(md, p, n, out); /* md came from a loaded module */
}
