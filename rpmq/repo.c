/*
 * repo.c: a package repository's metadata as createrepo_c writes it
 * (repodata/repomd.xml naming primary.xml and filelists.xml, each gz, zst,
 * xz, bz2 or plain), read to answer `rpmq --repo DIR` queries without opening
 * a package file: what `dnf repoquery` sees of the repository.
 *
 * Divisions: strings and vectors; the XML driver (expat, the parser libsolv
 * reads these files with, fed from lib/decomp.c); the three documents'
 * element handlers; loading (checksums against repomd.xml first); printing.
 *
 * Why expat and not our own parser: the metadata is the field's XML, with
 * namespaces, entities (&amp; in a summary) and CDATA; expat handles those,
 * and we bound what it may hold (below). Element names are matched as
 * written ("rpm:entry"), as libsolv matches them: createrepo_c, dnf and
 * yum all use these prefixes.
 *
 * Hostile metadata is bounded: a DOCTYPE (so any entity declaration) is
 * refused; elements nest at most REPO_MAX_DEPTH deep; one token (a text
 * run, a tag with its attributes) at most REPO_MAX_TOKEN bytes, so expat's
 * buffer stays bounded; a document at most its repomd.xml open-size, and
 * that at most REPO_MAX_XML; repomd.xml itself at most REPO_MAX_REPOMD.
 * Files are opened beneath DIR (openat2 RESOLVE_BENEATH): an href with ..
 * or an absolute path, or a symlink out of DIR, is refused. Each file's
 * size and checksum are checked against repomd.xml before a byte of it is
 * parsed, and its open-size and open-checksum before anything is printed.
 */
#include <errno.h>
#include <expat.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "decomp.h"
#include "hash.h"
#include "hex.h"
#include "io.h"
#include "rpmq.h"

#define REPO_MAX_DEPTH	64
#define REPO_MAX_TOKEN	(16u << 20)  /* bytes in one text run or tag */
#define REPO_MAX_XML	(4ull << 30) /* decompressed bytes in one document */
#define REPO_MAX_REPOMD (4u << 20)   /* bytes in repomd.xml */
#define REPO_MAX_PKGS	(16u << 20)  /* packages in one primary.xml */

/* ---- strings and vectors -------------------------------------------- */

struct strv {
	char **v;
	size_t n, cap;
};

struct repo_pkg {
	char *name, *arch, *epoch, *ver, *rel; /* <name>, <arch>, <version .../> */
	char *pkgid;			       /* <checksum pkgid="YES">: the key into filelists */
	struct strv deps[REPO_NDEPS];	       /* each entry as rpm prints it: "name >= e:v-r" */
	struct strv files;		       /* filelists.xml's <file>s, in its order */
	int have_files;			       /* filelists.xml had the package */
};

/* A metadata file as repomd.xml describes it. */
struct repo_data {
	char *href;	     /* <location href>, relative to DIR */
	int algo, open_algo; /* enum hash_algo, -1: none given */
	uint8_t sum[HASH_MAX], open_sum[HASH_MAX];
	long long size, open_size; /* -1: none given */
};

struct rpm_repo {
	struct repo_pkg *pkgs;
	size_t n, cap;
	size_t *by_pkgid; /* indices into pkgs sorted by pkgid (filelists lookup) */
	struct repo_data primary, filelists;
};

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

static int strv_push(struct strv *sv, char *s)
{
	if (!s)
		return -ENOMEM;
	if (sv->n == sv->cap) {
		size_t nc = sv->cap ? 2 * sv->cap : 8;
		char **nv = realloc(sv->v, nc * sizeof(*nv));
		if (!nv) {
			free(s);
			return -ENOMEM;
		}
		sv->v = nv;
		sv->cap = nc;
	}
	sv->v[sv->n++] = s;
	return 0;
}

static void strv_free(struct strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
}

/* ---- the XML driver ---------------------------------------------------
 *
 * One struct xp per document. Handlers see the element path through
 * depth; text is collected only inside an element that wants it (want).
 */

enum doc { DOC_REPOMD, DOC_PRIMARY, DOC_FILELISTS };

struct xp {
	XML_Parser p;
	enum doc doc;
	struct rpm_repo *r;
	const char *path; /* for messages */
	struct ok_err *e;
	int err; /* first error: handlers stop the parser */
	int depth;
	long long last_event; /* byte index of the latest event: token bound */
	char *text;	      /* collected character data */
	size_t ntext, captext;
	int want; /* collect text for the current element */
	/* primary/filelists */
	struct repo_pkg *cur; /* package being read, NULL outside one */
	int dep;	      /* enum rpm_repo_mode of the open <rpm:requires> etc., -1 */
	int in_format;
	/* repomd */
	struct repo_data *data; /* <data type=...> being read, NULL if ignored */
	int in_data;
	const char *elem; /* repomd: "checksum", "open-checksum", "size", "open-size" */
	int elem_algo;
};

/* Record the first error (at the parser's current line) and stop. */
static void xp_fail(struct xp *x, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xp_fail(struct xp *x, const char *fmt, ...)
{
	if (x->err)
		return;
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	x->err = ok_err_line(x->e, -EINVAL, x->path, (long long)XML_GetCurrentLineNumber(x->p),
			     "%s", msg);
	XML_StopParser(x->p, XML_FALSE);
}

static void xp_nomem(struct xp *x)
{
	if (x->err)
		return;
	x->err = ok_err_at(x->e, -ENOMEM, x->path, OK_ERR_NOPOS, "out of memory");
	XML_StopParser(x->p, XML_FALSE);
}

static const char *attr(const XML_Char **a, const char *name)
{
	for (; a && a[0]; a += 2)
		if (strcmp(a[0], name) == 0)
			return a[1];
	return NULL;
}

static void on_text(void *ud, const XML_Char *s, int len)
{
	struct xp *x = ud;
	x->last_event = XML_GetCurrentByteIndex(x->p);
	if (!x->want || x->err)
		return;
	if (x->ntext + (size_t)len + 1 > REPO_MAX_TOKEN) {
		xp_fail(x, "element text longer than %u bytes", REPO_MAX_TOKEN);
		return;
	}
	if (x->ntext + (size_t)len + 1 > x->captext) {
		size_t nc = (x->ntext + (size_t)len + 1) * 2;
		char *n = realloc(x->text, nc);
		if (!n) {
			xp_nomem(x);
			return;
		}
		x->text = n;
		x->captext = nc;
	}
	memcpy(x->text + x->ntext, s, (size_t)len);
	x->ntext += (size_t)len;
	x->text[x->ntext] = 0;
}

static void want_text(struct xp *x)
{
	x->want = 1;
	x->ntext = 0;
	if (x->text)
		x->text[0] = 0;
}

/* The collected text (never NULL), ending collection. */
static const char *take_text(struct xp *x)
{
	x->want = 0;
	return x->ntext ? x->text : "";
}

/* A DOCTYPE may declare entities (billion laughs, external files): no
 * metadata createrepo_c writes has one, so none is accepted. */
static void on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
		       int has_internal)
{
	(void)name, (void)sysid, (void)pubid, (void)has_internal;
	xp_fail(ud, "a DOCTYPE declaration (refused: repository metadata has none)");
}

/* ---- repomd.xml -------------------------------------------------------- */

static void repomd_start(struct xp *x, const char *el, const XML_Char **a)
{
	if (x->depth == 2 && strcmp(el, "data") == 0) {
		const char *t = attr(a, "type");
		x->in_data = 1;
		x->data = !t				? NULL
			  : strcmp(t, "primary") == 0	? &x->r->primary
			  : strcmp(t, "filelists") == 0 ? &x->r->filelists
							: NULL;
		if (x->data && x->data->href)
			xp_fail(x, "a second <data type=\"%s\">", t);
		return;
	}
	if (x->depth != 3 || !x->data)
		return;
	if (strcmp(el, "location") == 0) {
		const char *h = attr(a, "href");
		if (!h || !*h) {
			xp_fail(x, "<location> without href");
			return;
		}
		free(x->data->href);
		if (!(x->data->href = strdup(h)))
			xp_nomem(x);
	} else if (strcmp(el, "checksum") == 0 || strcmp(el, "open-checksum") == 0) {
		const char *t = attr(a, "type");
		/* "sha" is yum's name for SHA-1 */
		int algo = !t ? -1 : strcmp(t, "sha") == 0 ? HASH_SHA1 : hash_from_name(t);
		if (algo < 0) {
			xp_fail(x, "<%s type=\"%s\">: unknown checksum type", el, t ? t : "");
			return;
		}
		x->elem = el[0] == 'c' ? "checksum" : "open-checksum";
		x->elem_algo = algo;
		want_text(x);
	} else if (strcmp(el, "size") == 0 || strcmp(el, "open-size") == 0) {
		x->elem = el[0] == 's' ? "size" : "open-size";
		want_text(x);
	}
}

static void repomd_end(struct xp *x, const char *el)
{
	if (x->depth == 2 && strcmp(el, "data") == 0) {
		if (x->data && !x->data->href)
			xp_fail(x, "<data> without <location href>");
		x->data = NULL;
		x->in_data = 0;
		return;
	}
	if (x->depth != 3 || !x->data || !x->want)
		return;
	const char *t = take_text(x);
	if (strcmp(x->elem, "checksum") == 0 || strcmp(x->elem, "open-checksum") == 0) {
		int open = x->elem[0] == 'o';
		size_t len = hash_len((enum hash_algo)x->elem_algo);
		if (strlen(t) != 2 * len ||
		    hex_decode(t, open ? x->data->open_sum : x->data->sum, len) != 0) {
			xp_fail(x, "<%s>: expected %zu hex digits", x->elem, 2 * len);
			return;
		}
		*(open ? &x->data->open_algo : &x->data->algo) = x->elem_algo;
	} else {
		char *end;
		errno = 0;
		long long v = strtoll(t, &end, 10);
		if (!*t || *end || v < 0 || errno) {
			xp_fail(x, "<%s>: expected a byte count, found \"%.40s\"", x->elem, t);
			return;
		}
		*(x->elem[0] == 's' ? &x->data->size : &x->data->open_size) = v;
	}
}

/* ---- primary.xml ------------------------------------------------------- */

static const char *const dep_elems[REPO_NDEPS] = {
    "rpm:requires",   "rpm:provides", "rpm:conflicts",	 "rpm:obsoletes",
    "rpm:recommends", "rpm:suggests", "rpm:supplements", "rpm:enhances",
};

/* An <rpm:entry> as rpm -R prints the dependency: name, then the relation
 * and [epoch:]version[-release]. createrepo_c writes epoch="0" for every
 * versioned entry (also when the package said no epoch), so epoch 0 is left
 * out, as dnf prints it. */
static char *dep_string(const XML_Char **a)
{
	static const struct {
		const char *xml, *rpm;
	} rel[] = {{"EQ", "="}, {"LT", "<"}, {"GT", ">"}, {"LE", "<="}, {"GE", ">="}};
	const char *name = attr(a, "name"), *flags = attr(a, "flags");
	const char *ep = attr(a, "epoch"), *ver = attr(a, "ver"), *r = attr(a, "rel");
	const char *op = NULL;
	for (size_t i = 0; flags && i < sizeof(rel) / sizeof(rel[0]); i++)
		if (strcmp(flags, rel[i].xml) == 0)
			op = rel[i].rpm;
	char *s = NULL;
	int rc;
	if (!op)
		rc = asprintf(&s, "%s", name);
	else
		rc = asprintf(&s, "%s %s %s%s%s%s%s", name, op, ep && strcmp(ep, "0") ? ep : "",
			      ep && strcmp(ep, "0") ? ":" : "", ver ? ver : "", r ? "-" : "",
			      r ? r : "");
	return rc < 0 ? NULL : s;
}

static struct repo_pkg *pkg_new(struct xp *x)
{
	struct rpm_repo *r = x->r;
	if (r->n >= REPO_MAX_PKGS) {
		xp_fail(x, "more than %u packages", REPO_MAX_PKGS);
		return NULL;
	}
	if (r->n == r->cap) {
		size_t nc = r->cap ? 2 * r->cap : 64;
		struct repo_pkg *np = realloc(r->pkgs, nc * sizeof(*np));
		if (!np) {
			xp_nomem(x);
			return NULL;
		}
		r->pkgs = np;
		r->cap = nc;
	}
	struct repo_pkg *p = &r->pkgs[r->n++];
	memset(p, 0, sizeof(*p));
	return p;
}

static void primary_start(struct xp *x, const char *el, const XML_Char **a)
{
	if (x->depth == 2) {
		if (strcmp(el, "package") == 0)
			x->cur = pkg_new(x);
		return;
	}
	struct repo_pkg *p = x->cur;
	if (!p)
		return;
	if (x->depth == 3) {
		if (strcmp(el, "name") == 0 || strcmp(el, "arch") == 0)
			want_text(x);
		else if (strcmp(el, "checksum") == 0 && attr(a, "pkgid"))
			want_text(x);
		else if (strcmp(el, "version") == 0) {
			free(p->epoch), free(p->ver), free(p->rel);
			p->epoch = xstrdup(attr(a, "epoch"));
			p->ver = xstrdup(attr(a, "ver"));
			p->rel = xstrdup(attr(a, "rel"));
			if (!p->epoch || !p->ver || !p->rel)
				xp_nomem(x);
		} else if (strcmp(el, "format") == 0)
			x->in_format = 1;
		return;
	}
	if (x->depth == 4 && x->in_format) {
		x->dep = -1;
		for (int i = 0; i < REPO_NDEPS; i++)
			if (strcmp(el, dep_elems[i]) == 0)
				x->dep = i;
		return;
	}
	if (x->depth == 5 && x->dep >= 0 && strcmp(el, "rpm:entry") == 0) {
		if (!attr(a, "name")) {
			xp_fail(x, "<rpm:entry> without a name");
			return;
		}
		if (strv_push(&p->deps[x->dep], dep_string(a)) < 0)
			xp_nomem(x);
	}
}

static void primary_end(struct xp *x, const char *el)
{
	struct repo_pkg *p = x->cur;
	if (x->depth == 2 && p && strcmp(el, "package") == 0) {
		if (!p->name || !p->arch || !p->ver || !p->pkgid)
			xp_fail(x, "<package> without %s",
				!p->name   ? "<name>"
				: !p->arch ? "<arch>"
				: !p->ver  ? "<version>"
					   : "<checksum pkgid=...>");
		x->cur = NULL;
	} else if (x->depth == 3 && p) {
		char **slot = strcmp(el, "name") == 0	    ? &p->name
			      : strcmp(el, "arch") == 0	    ? &p->arch
			      : strcmp(el, "checksum") == 0 ? &p->pkgid
							    : NULL;
		if (slot && x->want) {
			free(*slot);
			if (!(*slot = strdup(take_text(x))))
				xp_nomem(x);
		} else if (strcmp(el, "format") == 0) {
			x->in_format = 0;
		}
	} else if (x->depth == 4) {
		x->dep = -1;
	}
}

/* ---- filelists.xml ------------------------------------------------------ */

static const struct rpm_repo *sort_repo; /* qsort has no context argument */

static int cmp_pkgid(const void *a, const void *b)
{
	return strcmp(sort_repo->pkgs[*(const size_t *)a].pkgid,
		      sort_repo->pkgs[*(const size_t *)b].pkgid);
}

/* The package whose pkgid is id and whose files are not read yet (a
 * repository may hold the same package file twice), or NULL. */
static struct repo_pkg *pkg_by_id(struct rpm_repo *r, const char *id)
{
	size_t lo = 0, hi = r->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(r->pkgs[r->by_pkgid[mid]].pkgid, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < r->n && strcmp(r->pkgs[r->by_pkgid[lo]].pkgid, id) == 0; lo++)
		if (!r->pkgs[r->by_pkgid[lo]].have_files)
			return &r->pkgs[r->by_pkgid[lo]];
	return NULL;
}

static void filelists_start(struct xp *x, const char *el, const XML_Char **a)
{
	if (x->depth == 2 && strcmp(el, "package") == 0) {
		const char *id = attr(a, "pkgid");
		if (!id) {
			xp_fail(x, "<package> without pkgid");
			return;
		}
		if (!(x->cur = pkg_by_id(x->r, id))) {
			xp_fail(x, "package %.80s is not in primary.xml (or listed twice)", id);
			return;
		}
		x->cur->have_files = 1;
	} else if (x->depth == 3 && x->cur && strcmp(el, "file") == 0) {
		want_text(x);
	}
}

static void filelists_end(struct xp *x, const char *el)
{
	if (x->depth == 2)
		x->cur = NULL;
	else if (x->depth == 3 && x->cur && x->want && strcmp(el, "file") == 0) {
		const char *t = take_text(x);
		if (strv_push(&x->cur->files, strdup(t)) < 0)
			xp_nomem(x);
	}
}

/* ---- dispatch ------------------------------------------------------------ */

static void on_start(void *ud, const XML_Char *el, const XML_Char **a)
{
	struct xp *x = ud;
	x->last_event = XML_GetCurrentByteIndex(x->p);
	if (x->err)
		return;
	if (++x->depth > REPO_MAX_DEPTH) {
		xp_fail(x, "elements nested deeper than %d", REPO_MAX_DEPTH);
		return;
	}
	x->want = 0; /* mixed content: text only directly inside a wanted leaf */
	if (x->depth == 1) {
		static const char *const roots[] = {"repomd", "metadata", "filelists"};
		if (strcmp(el, roots[x->doc]) != 0)
			xp_fail(x, "root element <%s>, expected <%s>", el, roots[x->doc]);
		return;
	}
	switch (x->doc) {
	case DOC_REPOMD:
		repomd_start(x, el, a);
		break;
	case DOC_PRIMARY:
		primary_start(x, el, a);
		break;
	case DOC_FILELISTS:
		filelists_start(x, el, a);
		break;
	}
}

static void on_end(void *ud, const XML_Char *el)
{
	struct xp *x = ud;
	x->last_event = XML_GetCurrentByteIndex(x->p);
	if (x->err)
		return;
	switch (x->doc) {
	case DOC_REPOMD:
		repomd_end(x, el);
		break;
	case DOC_PRIMARY:
		primary_end(x, el);
		break;
	case DOC_FILELISTS:
		filelists_end(x, el);
		break;
	}
	x->want = 0;
	x->depth--;
}

static int xp_init(struct xp *x, enum doc doc, struct rpm_repo *r, const char *path,
		   struct ok_err *e)
{
	memset(x, 0, sizeof(*x));
	x->doc = doc;
	x->r = r;
	x->path = path;
	x->e = e;
	x->dep = -1;
	x->p = XML_ParserCreate(NULL);
	if (!x->p)
		return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
	XML_SetUserData(x->p, x);
	XML_SetElementHandler(x->p, on_start, on_end);
	XML_SetCharacterDataHandler(x->p, on_text);
	XML_SetStartDoctypeDeclHandler(x->p, on_doctype);
	XML_SetParamEntityParsing(x->p, XML_PARAM_ENTITY_PARSING_NEVER);
	return 0;
}

/* Feed n bytes (final: the last call). 0 or the first error. */
static int xp_feed(struct xp *x, const char *buf, size_t n, long long fed, int final)
{
	if (x->err)
		return x->err;
	if (XML_Parse(x->p, buf, (int)n, final) == XML_STATUS_ERROR && !x->err)
		x->err =
		    ok_err_line(x->e, -EINVAL, x->path, (long long)XML_GetCurrentLineNumber(x->p),
				"XML: %s", XML_ErrorString(XML_GetErrorCode(x->p)));
	/* expat holds an unfinished token whole: bound it */
	if (!x->err && fed - x->last_event > (long long)REPO_MAX_TOKEN)
		x->err = ok_err_at(x->e, -EINVAL, x->path, x->last_event,
				   "one XML token longer than %u bytes", REPO_MAX_TOKEN);
	if (!x->err && final && x->depth != 0)
		x->err = ok_err_at(x->e, -EINVAL, x->path, fed, "document ends inside an element");
	return x->err;
}

static void xp_free(struct xp *x)
{
	if (x->p)
		XML_ParserFree(x->p);
	free(x->text);
}

int rpm_repo_parse_mem(struct rpm_repo *r, enum rpm_repo_doc doc, const void *buf, size_t n,
		       const char *name, struct ok_err *e)
{
	struct xp x;
	enum doc d = doc == RPM_REPO_REPOMD    ? DOC_REPOMD
		     : doc == RPM_REPO_PRIMARY ? DOC_PRIMARY
					       : DOC_FILELISTS;
	if (d == DOC_FILELISTS && !r->by_pkgid) {
		int rc = rpm_repo_index(r, e);
		if (rc < 0)
			return rc;
	}
	int rc = xp_init(&x, d, r, name, e);
	if (rc == 0) {
		/* in pieces, as a file is fed, so the token bound is exercised */
		const char *p = buf;
		size_t done = 0;
		while (rc == 0 && done < n) {
			size_t k = n - done < 65536 ? n - done : 65536;
			done += k;
			rc = xp_feed(&x, p + done - k, k, (long long)done, 0);
		}
		if (rc == 0)
			rc = xp_feed(&x, "", 0, (long long)done, 1);
	}
	xp_free(&x);
	return rc;
}

/* ---- loading ------------------------------------------------------------- */

struct rpm_repo *rpm_repo_new(void)
{
	return calloc(1, sizeof(struct rpm_repo));
}

int rpm_repo_index(struct rpm_repo *r, struct ok_err *e)
{
	free(r->by_pkgid);
	r->by_pkgid = malloc((r->n ? r->n : 1) * sizeof(size_t));
	if (!r->by_pkgid)
		return ok_err_at(e, -ENOMEM, "", OK_ERR_NOPOS, "out of memory");
	for (size_t i = 0; i < r->n; i++)
		r->by_pkgid[i] = i;
	sort_repo = r;
	qsort(r->by_pkgid, r->n, sizeof(size_t), cmp_pkgid);
	return 0;
}

/* Open href beneath dirfd: no "..", no absolute path, no symlink out. */
static int open_beneath(int dirfd, const char *href)
{
	struct open_how how = {
	    .flags = O_RDONLY | O_CLOEXEC,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd = syscall(SYS_openat2, dirfd, href, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* "DIR/href" for messages. */
static void join(char *out, size_t size, const char *dir, const char *href)
{
	snprintf(out, size, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", href);
}

/* Read and check one metadata file that repomd.xml names, through buf
 * (REPO_READ_BUF bytes). */
enum { REPO_READ_BUF = 1 << 16 };
static int load_doc_with(struct rpm_repo *r, int dirfd, const char *dir, const struct repo_data *d,
			 enum doc doc, char *buf, struct ok_err *e)
{
	char path[4096];
	join(path, sizeof(path), dir, d->href);
	if (d->algo < 0 || d->size < 0)
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "repomd.xml gives it no %s: refusing unverified metadata",
				 d->algo < 0 ? "<checksum>" : "<size>");
	int fd = open_beneath(dirfd, d->href);
	if (fd < 0) {
		int rc = ok_err_at(e, fd, path, OK_ERR_NOPOS, "cannot open (beneath %s)", dir);
		e->errnum = -fd;
		return rc;
	}
	/* 1. the stored file against <size> and <checksum>, before parsing */
	struct hash_ctx h;
	int rc = hash_init(&h, (enum hash_algo)d->algo);
	if (rc < 0) {
		close(fd);
		return ok_err_at(e, rc, path, OK_ERR_NOPOS, "cannot start a digest");
	}
	long long n = 0;
	ssize_t k;
	while ((k = read(fd, buf, REPO_READ_BUF)) > 0) {
		hash_update(&h, buf, (size_t)k);
		n += k;
	}
	uint8_t sum[HASH_MAX];
	size_t len = hash_final(&h, sum);
	if (k < 0) {
		rc = -errno;
		close(fd);
		ok_err_at(e, rc, path, n, "read error");
		e->errnum = -rc;
		return rc;
	}
	char want[2 * HASH_MAX + 1], got[2 * HASH_MAX + 1];
	if (n != d->size) {
		close(fd);
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "%lld bytes, repomd.xml's <size> says %lld", n, d->size);
	}
	if (memcmp(sum, d->sum, len) != 0) {
		hex_encode(d->sum, len, want);
		hex_encode(sum, len, got);
		close(fd);
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "%s checksum %s, repomd.xml's <checksum> says %s",
				 hash_name((enum hash_algo)d->algo), got, want);
	}
	/* 2. decompress and parse, checking <open-size> and <open-checksum> */
	if (lseek(fd, 0, SEEK_SET) != 0) {
		rc = -errno;
		close(fd);
		return ok_err_at(e, rc, path, OK_ERR_NOPOS, "cannot rewind");
	}
	struct decomp *dc = decomp_open(fd, path, DECOMP_VERIFY, e);
	if (!dc) {
		close(fd);
		return e->err ? e->err : -EINVAL;
	}
	long long cap = d->open_size >= 0 ? d->open_size : (long long)REPO_MAX_XML;
	if (cap > (long long)REPO_MAX_XML)
		cap = (long long)REPO_MAX_XML;
	int oalgo = d->open_algo;
	if (oalgo >= 0 && hash_init(&h, (enum hash_algo)oalgo) < 0)
		oalgo = -1;
	struct xp x;
	rc = xp_init(&x, doc, r, path, e);
	long long open_n = 0;
	while (rc == 0) {
		ssize_t got_n = decomp_read(dc, buf, REPO_READ_BUF, e);
		if (got_n < 0) {
			rc = (int)got_n;
			break;
		}
		if (got_n == 0) {
			rc = decomp_finish(dc, e);
			if (rc == 0)
				rc = xp_feed(&x, "", 0, open_n, 1);
			break;
		}
		open_n += got_n;
		if (open_n > cap) {
			rc = ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				       "decompresses to more than %lld bytes (%s)", cap,
				       d->open_size >= 0 ? "repomd.xml's <open-size>"
							 : "rpmq's limit");
			break;
		}
		if (oalgo >= 0)
			hash_update(&h, buf, (size_t)got_n);
		rc = xp_feed(&x, buf, (size_t)got_n, open_n, 0);
	}
	xp_free(&x);
	decomp_close(dc);
	close(fd);
	if (oalgo >= 0) {
		len = hash_final(&h, sum);
		if (rc == 0 && memcmp(sum, d->open_sum, len) != 0) {
			hex_encode(d->open_sum, len, want);
			hex_encode(sum, len, got);
			rc = ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				       "decompressed %s checksum %s, repomd.xml's <open-checksum> "
				       "says %s",
				       hash_name((enum hash_algo)oalgo), got, want);
		}
	}
	if (rc == 0 && d->open_size >= 0 && open_n != d->open_size)
		rc = ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
			       "decompresses to %lld bytes, repomd.xml's <open-size> says %lld",
			       open_n, d->open_size);
	return rc;
}

/* load_doc_with with a buffer of its own: not a static one, so two
 * repositories can be loaded at once (threads, a library caller). */
static int load_doc(struct rpm_repo *r, int dirfd, const char *dir, const struct repo_data *d,
		    enum doc doc, struct ok_err *e)
{
	char *buf = malloc(REPO_READ_BUF);
	if (!buf)
		return ok_err_at(e, -ENOMEM, dir, OK_ERR_NOPOS, "out of memory");
	int rc = load_doc_with(r, dirfd, dir, d, doc, buf, e);
	free(buf);
	return rc;
}

static void data_init(struct repo_data *d)
{
	memset(d, 0, sizeof(*d));
	d->algo = d->open_algo = -1;
	d->size = d->open_size = -1;
}

int rpm_repo_load(struct rpm_repo **out, const char *dir, int files, struct ok_err *e)
{
	*out = NULL;
	struct rpm_repo *r = rpm_repo_new();
	if (!r)
		return ok_err_at(e, -ENOMEM, dir, OK_ERR_NOPOS, "out of memory");
	data_init(&r->primary);
	data_init(&r->filelists);
	char path[4096];
	join(path, sizeof(path), dir, "repodata/repomd.xml");
	int rc = 0, dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0) {
		rc = ok_err_at(e, -errno, dir, OK_ERR_NOPOS, "cannot open the repository");
		e->errnum = -rc;
		goto out;
	}
	int fd = open_beneath(dirfd, "repodata/repomd.xml");
	if (fd < 0) {
		rc = ok_err_at(e, fd, path, OK_ERR_NOPOS, "cannot open");
		e->errnum = -fd;
		goto out;
	}
	char *md = malloc(REPO_MAX_REPOMD + 1);
	ssize_t n = md ? io_read_full(fd, md, REPO_MAX_REPOMD + 1) : -ENOMEM;
	close(fd);
	if (n < 0)
		rc = ok_err_at(e, (int)n, path, OK_ERR_NOPOS, "cannot read");
	else if (n > REPO_MAX_REPOMD)
		rc = ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS, "longer than %u bytes",
			       REPO_MAX_REPOMD);
	else
		rc = rpm_repo_parse_mem(r, RPM_REPO_REPOMD, md, (size_t)n, path, e);
	free(md);
	if (rc < 0)
		goto out;
	if (!r->primary.href || (files && !r->filelists.href)) {
		rc = ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS, "no <data type=\"%s\">",
			       !r->primary.href ? "primary" : "filelists");
		goto out;
	}
	rc = load_doc(r, dirfd, dir, &r->primary, DOC_PRIMARY, e);
	if (rc == 0 && files) {
		rc = rpm_repo_index(r, e);
		if (rc == 0)
			rc = load_doc(r, dirfd, dir, &r->filelists, DOC_FILELISTS, e);
		for (size_t i = 0; rc == 0 && i < r->n; i++)
			if (!r->pkgs[i].have_files) {
				join(path, sizeof(path), dir, r->filelists.href);
				rc = ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
					       "no files for %s-%s-%s.%s (pkgid %.80s) of "
					       "primary.xml",
					       r->pkgs[i].name, r->pkgs[i].ver, r->pkgs[i].rel,
					       r->pkgs[i].arch, r->pkgs[i].pkgid);
			}
	}
out:
	if (dirfd >= 0)
		close(dirfd);
	if (rc < 0) {
		rpm_repo_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

size_t rpm_repo_count(const struct rpm_repo *r)
{
	return r->n;
}

void rpm_repo_free(struct rpm_repo *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		struct repo_pkg *p = &r->pkgs[i];
		free(p->name), free(p->arch), free(p->epoch), free(p->ver), free(p->rel);
		free(p->pkgid);
		for (int d = 0; d < REPO_NDEPS; d++)
			strv_free(&p->deps[d]);
		strv_free(&p->files);
	}
	free(r->pkgs);
	free(r->by_pkgid);
	free(r->primary.href);
	free(r->filelists.href);
	free(r);
}

/* ---- printing ------------------------------------------------------------ */

void rpm_repo_print(const struct rpm_repo *r, const enum rpm_repo_mode *modes, size_t nmodes,
		    FILE *out)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct repo_pkg *p = &r->pkgs[i];
		int list = 0;
		for (size_t m = 0; m < nmodes; m++) {
			if (modes[m] == REPO_LIST) {
				list = 1; /* rpm: query formats first, then the file list */
			} else if (modes[m] == REPO_NVRA) {
				fprintf(out, "%s-%s%s%s.%s\n", p->name, p->ver, *p->rel ? "-" : "",
					p->rel, p->arch);
			} else {
				const struct strv *sv = &p->deps[modes[m]];
				for (size_t k = 0; k < sv->n; k++)
					fprintf(out, "%s\n", sv->v[k]);
			}
		}
		if (!list)
			continue;
		if (p->files.n == 0)
			fputs("(contains no files)\n", out);
		for (size_t k = 0; k < p->files.n; k++)
			fprintf(out, "%s\n", p->files.v[k]);
	}
}
