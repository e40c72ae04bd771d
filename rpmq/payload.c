/*
 * payload.c: the cpio payload: --extract, --cat, --cpio and --tar.
 *
 * Divisions: the decompressed stream (lib/decomp.h over libarchive, so every
 * compressor rpm writes is handled without a codec of ours; 64 KiB window);
 * the cpio reader (newc "070701"/"070702" entries, and the stripped
 * "07070X" entries of v6 and >= 4 GiB packages, whose metadata is in the
 * header); extraction beneath a directory (or of chosen files, or their
 * contents to standard output); the cpio writer; the tar writer
 * (libarchive's, as rpm2archive).
 *
 * Safety rules for --extract (the archive is hostile until proven not):
 *   1. every payload name must be a file of the header ("Archive file not
 *      in header", as rpm says); type, mode, mtime and link target come from
 *      the header, never from the cpio header;
 *   2. every path is opened beneath DIR, one component at a time, with
 *      openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS),
 *      so "..", absolute names and a symlink planted earlier in the archive
 *      cannot lead outside DIR;
 *   3. files are created O_EXCL|O_NOFOLLOW after unlinking what was there,
 *      so a pre-existing symlink is replaced, never followed;
 *   4. what is written is checked as it is written: a cpio entry's size
 *      must be the header's FILESIZES (a symlink's content its FILELINKTOS,
 *      other kinds carry none) before anything is created, a regular file's
 *      content must match its FILEDIGESTS (FILEDIGESTALGO) when it is
 *      closed, or it is removed before its hard links are made; the stored
 *      payload bytes must match PAYLOADDIGEST (PAYLOADDIGESTALGO), or for
 *      packages older than rpm 4.14 the signature header's MD5 over header
 *      and payload, checked once the archive has ended. The header itself is
 *      not checked here (-K does that), so a header rewritten together with
 *      its digests is believed, as by rpm2cpio.
 * Memory: one 64 KiB buffer plus the header's file table.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "decomp.h"
#include "hash.h"
#include "io.h"
#include "rpmq.h"

#define NAME_MAX_BYTES 4096

/* ---- decompressed stream --------------------------------------------------- */

struct stream {
	struct decomp *d;
	const char *path;
	uint8_t buf[1 << 16];
	size_t pos, len;
	uint64_t off;	     /* bytes consumed from the decompressed payload */
	struct hash_ctx *fh; /* digest of what st_read writes to a file, or NULL */
	struct archive *ar;  /* st_read(..., ST_TAR, ...) writes here (--tar) */
};

#define ST_TAR (-2) /* st_read's fd: the data goes to s->ar */

static int st_fill(struct stream *s, struct ok_err *e)
{
	if (s->pos < s->len)
		return 0;
	ssize_t r = decomp_read(s->d, s->buf, sizeof(s->buf), e);
	if (r < 0)
		return (int)r;
	s->pos = 0;
	s->len = (size_t)r;
	return 0;
}

/* Read exactly n bytes into out (or discard them when out is NULL, or hand
 * them to fd when fd >= 0). */
static int st_read(struct stream *s, void *out, uint64_t n, int fd, struct ok_err *e)
{
	uint8_t *o = out;
	while (n > 0) {
		int rc = st_fill(s, e);
		if (rc < 0)
			return rc;
		if (s->len == 0)
			return ok_err_at(e, -EINVAL, s->path, OK_ERR_NOPOS,
					 "payload offset %llu: truncated, %llu more bytes expected",
					 (unsigned long long)s->off, (unsigned long long)n);
		size_t k = s->len - s->pos;
		if (k > n)
			k = (size_t)n;
		if (o) {
			memcpy(o, s->buf + s->pos, k);
			o += k;
		}
		if (fd >= 0 || fd == ST_TAR) {
			if (s->fh)
				hash_update(s->fh, s->buf + s->pos, k);
			ssize_t w = fd == ST_TAR ? archive_write_data(s->ar, s->buf + s->pos, k)
						 : io_write_full(fd, s->buf + s->pos, k);
			if (fd == ST_TAR && w != (ssize_t)k)
				w = -EIO;
			if (w < 0)
				return ok_err_at(e, (int)w, s->path, OK_ERR_NOPOS,
						 "payload offset %llu: writing extracted data",
						 (unsigned long long)s->off);
		}
		s->pos += k;
		s->off += k;
		n -= k;
	}
	return 0;
}

static int st_align4(struct stream *s, struct ok_err *e)
{
	uint64_t pad = (4 - s->off % 4) % 4;
	return pad ? st_read(s, NULL, pad, -1, e) : 0;
}

/* decomp's tap: every stored payload byte goes through the payload digest. */
static void st_tap(void *arg, const void *buf, size_t n)
{
	hash_update(arg, buf, n);
}

/* Open the decompressed payload of p; pay (or NULL) digests the stored
 * bytes as they are read. */
static int st_open(struct stream *s, struct rpm_pkg *p, struct hash_ctx *pay, struct ok_err *e)
{
	memset(s, 0, sizeof(*s));
	s->path = p->path;
	if (io_size(p->fd) >= 0 && lseek(p->fd, 0, SEEK_CUR) >= 0 &&
	    lseek(p->fd, 0, SEEK_END) == p->payload_off)
		return ok_err_at(e, -EINVAL, p->path, p->payload_off,
				 "payload: missing, the file ends after the header");
	if (lseek(p->fd, p->payload_off, SEEK_SET) < 0 && errno != ESPIPE)
		return ok_err_at(e, -errno, p->path, p->payload_off, "seek to the payload");
	struct ok_err de;
	s->d = decomp_open_tap(p->fd, p->path, 0, pay ? st_tap : NULL, pay, &de);
	if (!s->d)
		return ok_err_at(e, -EINVAL, p->path, p->payload_off, "payload: %s", de.msg);
	return 0;
}

/* Only cpio payloads are read (rpm's headerCheckPayloadFormat): a delta
 * rpm ("drpm") holds a DLT stream that rpm2cpio 4.18 copies out and then
 * fails on (exit 1); rpmq refuses before writing anything. rpm 3.x headers
 * have no PAYLOADFORMAT and are cpio. */
static int check_format(const struct rpm_pkg *p, struct ok_err *e)
{
	const char *fmt = rpm_pkg_str(p, TAG_PAYLOADFORMAT);
	if (!fmt || strcmp(fmt, "cpio") == 0)
		return 0;
	if (strcmp(fmt, "drpm") == 0)
		return ok_err_at(e, -EINVAL, p->path, p->payload_off,
				 "payload: a Delta RPM (PAYLOADFORMAT \"drpm\"), not a cpio "
				 "archive; rebuild the package with applydeltarpm first");
	return ok_err_at(e, -EINVAL, p->path, p->payload_off,
			 "payload: unsupported PAYLOADFORMAT \"%.100s\", expected \"cpio\"", fmt);
}

/* ---- cpio entries ------------------------------------------------------------ */

struct entry {
	int stripped; /* 07070X: metadata from the header */
	int trailer;  /* TRAILER!!! */
	long fx;      /* file index in the header, -1 if unknown */
	char name[NAME_MAX_BYTES + 1];
	uint64_t size;	  /* data bytes that follow */
	uint32_t f[13];	  /* newc fields */
	uint64_t hdr_off; /* entry offset in the decompressed payload */
};

static uint32_t hex8(const char *h, int *bad)
{
	uint32_t v = 0;
	for (int i = 0; i < 8; i++) {
		char c = h[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			*bad = 1;
	}
	return v;
}

/* Payload size of a stripped entry (spec: hard-link members but the last
 * carry no data). */
static uint64_t stripped_size(const struct rpm_file *f, size_t n, size_t fx)
{
	uint32_t t = f[fx].mode & 0170000;
	if (t == 0120000)
		return f[fx].size;
	if (t != 0100000)
		return 0;
	if (f[fx].nlink > 1)
		for (size_t j = fx + 1; j < n; j++)
			if ((f[j].mode & 0170000) == 0100000 && !(f[j].flags & 64) &&
			    f[j].dev == f[fx].dev && f[j].ino == f[fx].ino)
				return 0;
	return f[fx].size;
}

static int next_entry(struct stream *s, struct entry *en, const struct rpm_file *f, size_t n,
		      struct ok_err *e)
{
	char magic[6];
	memset(en, 0, sizeof(*en));
	en->fx = -1;
	en->hdr_off = s->off;
	int rc = st_read(s, magic, 6, -1, e);
	if (rc < 0)
		return rc;
	if (memcmp(magic, "07070X", 6) == 0) {
		char h[8];
		int bad = 0;
		if ((rc = st_read(s, h, 8, -1, e)) < 0)
			return rc;
		uint32_t fx = hex8(h, &bad);
		if (bad)
			return ok_err_at(e, -EINVAL, s->path, OK_ERR_NOPOS,
					 "payload offset %llu: bad hex in stripped cpio entry",
					 (unsigned long long)en->hdr_off);
		if (fx == 0xffffffffu) {
			en->trailer = 1;
			return 0;
		}
		if (fx >= n)
			return ok_err_at(
			    e, -EINVAL, s->path, (long long)en->hdr_off,
			    "payload: stripped entry file index %u, header has %zu files", fx, n);
		en->stripped = 1;
		en->fx = fx;
		en->size = stripped_size(f, n, fx);
		snprintf(en->name, sizeof(en->name), ".%s", f[fx].path);
		return st_align4(s, e);
	}
	if (memcmp(magic, "070701", 6) != 0 && memcmp(magic, "070702", 6) != 0)
		return ok_err_at(
		    e, -EINVAL, s->path, OK_ERR_NOPOS,
		    "payload offset %llu: bad cpio magic \"%.6s\", expected 070701 or 07070X",
		    (unsigned long long)en->hdr_off, magic);
	char h[104];
	int bad = 0;
	if ((rc = st_read(s, h, 104, -1, e)) < 0)
		return rc;
	for (int i = 0; i < 13; i++)
		en->f[i] = hex8(h + 8 * i, &bad);
	if (bad)
		return ok_err_at(e, -EINVAL, s->path, OK_ERR_NOPOS,
				 "payload offset %llu: bad hex digits in cpio header",
				 (unsigned long long)en->hdr_off);
	uint32_t namesize = en->f[11];
	if (namesize < 1 || namesize > NAME_MAX_BYTES)
		return ok_err_at(e, -EINVAL, s->path, OK_ERR_NOPOS,
				 "payload offset %llu: cpio name size %u, expected 1..%d",
				 (unsigned long long)en->hdr_off, namesize, NAME_MAX_BYTES);
	if ((rc = st_read(s, en->name, namesize, -1, e)) < 0)
		return rc;
	if (en->name[namesize - 1] != 0 || strlen(en->name) != namesize - 1)
		return ok_err_at(
		    e, -EINVAL, s->path, OK_ERR_NOPOS,
		    "payload offset %llu: cpio name not NUL-terminated where its size says",
		    (unsigned long long)en->hdr_off);
	en->size = en->f[6];
	if (strcmp(en->name, "TRAILER!!!") == 0)
		en->trailer = 1;
	return st_align4(s, e);
}

/* ---- header file lookup ------------------------------------------------------ */

struct fileidx {
	const struct rpm_file *f;
	size_t n;
	size_t *order; /* indices sorted by path */
};

static const struct rpm_file *g_files; /* for qsort's comparator */

/* Header paths are "/usr/bin/x" (source packages: "x"), payload names
 * "./usr/bin/x" (before rpm 4.0: "usr/bin/x"): compare without those. */
static const char *norm(const char *s)
{
	if (s[0] == '.' && s[1] == '/')
		s++;
	while (*s == '/')
		s++;
	return s;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(norm(g_files[*(const size_t *)a].path),
		      norm(g_files[*(const size_t *)b].path));
}

static int idx_init(struct fileidx *x, const struct rpm_file *f, size_t n)
{
	x->f = f;
	x->n = n;
	x->order = malloc((n ? n : 1) * sizeof(size_t));
	if (!x->order)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		x->order[i] = i;
	g_files = f;
	qsort(x->order, n, sizeof(size_t), cmp_path);
	return 0;
}

/* The header index of a payload name ("./usr/bin/x", "usr/bin/x"), or -1. */
static long idx_find(const struct fileidx *x, const char *name)
{
	name = norm(name);
	size_t lo = 0, hi = x->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(norm(x->f[x->order[mid]].path), name);
		if (c == 0)
			return (long)x->order[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* ---- safe paths beneath DIR ---------------------------------------------------- */

static int openat2_beneath(int dirfd, const char *name, int flags, mode_t mode)
{
	struct open_how how = {
	    .flags = (uint64_t)flags | O_CLOEXEC,
	    .mode = (flags & O_CREAT) ? mode : 0,
	    .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long r = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
	return r < 0 ? -errno : (int)r;
}

/* Open the parent directory of rel (a header path without its leading '/')
 * beneath root, creating missing directories; *last gets the final
 * component. Returns an fd or -errno. */
static int open_parent(int root, const char *rel, char *comp_buf, const char **last)
{
	snprintf(comp_buf, NAME_MAX_BYTES + 1, "%s", rel);
	char *p = comp_buf;
	int fd = dup(root);
	if (fd < 0)
		return -errno;
	for (;;) {
		char *slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = 0;
		if (*p && strcmp(p, ".") != 0) {
			if (strcmp(p, "..") == 0) {
				close(fd);
				return -EXDEV;
			}
			if (mkdirat(fd, p, 0755) < 0 && errno != EEXIST) {
				int err = -errno;
				close(fd);
				return err;
			}
			int nfd = openat2_beneath(fd, p, O_PATH | O_DIRECTORY | O_NOFOLLOW, 0);
			close(fd);
			if (nfd < 0)
				return nfd;
			fd = nfd;
		}
		p = slash + 1;
	}
	if (!*p || strcmp(p, "..") == 0 || strcmp(p, ".") == 0) {
		close(fd);
		return *p ? -EXDEV : -EINVAL;
	}
	*last = p;
	return fd;
}

/* ---- integrity ------------------------------------------------------------------- */

struct verify {
	int on;				 /* check sizes and digests at all */
	int file_algo;			 /* enum hash_algo of FILEDIGESTS, -1 unknown */
	uint64_t file_algo_num;		 /* FILEDIGESTALGO as stored, for messages */
	int pay_on;			 /* a payload digest to compare at the end */
	struct hash_ctx pay;		 /* over the stored payload (and header for MD5) */
	const char *pay_what;		 /* "PAYLOADDIGEST" or "signature MD5" */
	char pay_want[2 * HASH_MAX + 1]; /* expected, lower-case hex */
};

/* Set up the payload digest p carries (none: v->pay_on stays 0). */
static int verify_init(struct verify *v, const struct rpm_pkg *p, struct ok_err *e)
{
	uint64_t fa = rpm_pkg_num(p, TAG_FILEDIGESTALGO, 1);
	v->file_algo = rpm_hash_algo(fa);
	v->file_algo_num = fa;
	const struct rpm_entry *pd = rpm_hdr_find(&p->hdr, TAG_PAYLOADDIGEST);
	const struct rpm_entry *md5 = rpm_hdr_find(&p->sig, SIGTAG_MD5);
	if (pd && pd->type == RPM_STRING_ARRAY && pd->count >= 1) {
		uint64_t pa = rpm_pkg_num(p, TAG_PAYLOADDIGESTALGO, 8);
		int algo = rpm_hash_algo(pa);
		const char *want = rpm_ent_str(&p->hdr, pd, 0);
		if (algo < 0 || strlen(want) != 2 * hash_len((enum hash_algo)algo))
			return ok_err_at(e, -EINVAL, p->path, p->hdr.file_off,
					 "header: PAYLOADDIGEST \"%.140s\" with PAYLOADDIGESTALGO "
					 "%llu, expected a digest rpmq can check",
					 want, (unsigned long long)pa);
		snprintf(v->pay_want, sizeof(v->pay_want), "%s", want);
		for (char *c = v->pay_want; *c; c++)
			if (*c >= 'A' && *c <= 'F')
				*c = (char)(*c + 32);
		v->pay_what = "PAYLOADDIGEST";
		if (hash_init(&v->pay, (enum hash_algo)algo) < 0)
			return ok_err_at(e, -ENOMEM, p->path, OK_ERR_NOPOS, "out of memory");
		v->pay_on = 1;
	} else if (md5 && md5->type == RPM_BIN && md5->count == 16) {
		hex_encode(p->sig.data + md5->off, 16, v->pay_want);
		v->pay_what = "signature header MD5";
		if (hash_init(&v->pay, HASH_MD5) < 0)
			return ok_err_at(e, -ENOMEM, p->path, OK_ERR_NOPOS, "out of memory");
		hash_update(&v->pay, p->hdr.raw, p->hdr.raw_len);
		v->pay_on = 1;
	}
	return 0;
}

/* After the archive: the rest of the file through the payload digest, then
 * the comparison. 0 or -EBADMSG with e filled. */
static int verify_payload(struct verify *v, struct rpm_pkg *p, struct ok_err *e)
{
	uint8_t buf[1 << 14];
	for (;;) {
		ssize_t r = read(p->fd, buf, sizeof(buf));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ok_err_at(e, -errno, p->path, OK_ERR_NOPOS, "reading the payload");
		if (r == 0)
			break;
		hash_update(&v->pay, buf, (size_t)r);
	}
	uint8_t d[HASH_MAX];
	size_t n = hash_final(&v->pay, d);
	v->pay_on = 0;
	char got[2 * HASH_MAX + 1];
	hex_encode(d, n, got);
	if (strcmp(got, v->pay_want) != 0)
		return ok_err_at(e, -EBADMSG, p->path, p->payload_off,
				 "payload: digest BAD: %s is %s, the payload's is %s "
				 "(every file matched its own digest)",
				 v->pay_what, v->pay_want, got);
	return 0;
}

/* ---- extraction ------------------------------------------------------------------ */

struct xstate {
	struct rpm_pkg *p;
	int root;
	unsigned flags; /* enum rpm_extract_flags */
	struct verify v;
	const struct rpm_file *f;
	size_t n;
	const char *want;   /* per file: 1 if selected (PATH operands), or NULL: all */
	int cat_fd;	    /* --cat: selected contents go here, nothing is created */
	const char *tmpdir; /* --cat: where the unnamed check files live */
	const char *fate;   /* what a file failing its check becomes, for messages */
	char *done;	    /* per file: 1 once created (hard-link targets) */
	size_t *dirs;	    /* directories, to fix mode/mtime at the end */
	size_t ndirs;
	char comp[NAME_MAX_BYTES + 1];
	char comp2[NAME_MAX_BYTES + 1];
};

static int set_times(int pfd, const char *name, uint32_t mtime, int nofollow)
{
	struct timespec ts[2] = {{mtime, 0}, {mtime, 0}};
	return utimensat(pfd, name, ts, nofollow ? AT_SYMLINK_NOFOLLOW : 0) < 0 ? -errno : 0;
}

/* The mode bits a file gets: the header's, without set-id bits under
 * RPM_X_SAFE. */
static mode_t file_perms(const struct xstate *x, const struct rpm_file *f)
{
	mode_t m = f->mode & 07777;
	return (x->flags & RPM_X_SAFE) ? m & ~(mode_t)(S_ISUID | S_ISGID) : m;
}

/* Before anything is created: the cpio entry's data must be what the header
 * says the file holds (rule 4). Stripped entries take their size from the
 * header, so only newc entries can lie. */
static int check_size(struct xstate *x, struct stream *s, const struct entry *en,
		      const struct rpm_file *f, struct ok_err *e)
{
	if (!x->v.on || en->stripped)
		return 0;
	uint32_t t = f->mode & 0170000;
	uint64_t want = 0;
	if (t == 0100000)
		want = f->nlink > 1 && en->size == 0 ? 0 : f->size;
	else if (t == 0120000)
		want = strlen(f->linkto ? f->linkto : "");
	if (en->size == want)
		return 0;
	return ok_err_at(e, -EBADMSG, s->path, OK_ERR_NOPOS,
			 "payload offset %llu: %s: the cpio entry holds %llu bytes, the header "
			 "says %llu (%s); not extracted",
			 (unsigned long long)en->hdr_off, f->path, (unsigned long long)en->size,
			 (unsigned long long)want,
			 t == 0100000	? "FILESIZES"
			 : t == 0120000 ? "FILELINKTOS"
					: "no data");
}

/* A symlink's content must be its header target (read into x->comp2). */
static int check_link(struct xstate *x, struct stream *s, const struct entry *en,
		      const struct rpm_file *f, struct ok_err *e)
{
	if (!x->v.on || en->stripped)
		return st_read(s, NULL, en->size, -1, e);
	if (en->size > NAME_MAX_BYTES)
		return ok_err_at(e, -EBADMSG, s->path, OK_ERR_NOPOS,
				 "payload offset %llu: %s: symlink target of %llu bytes, expected "
				 "at most %d",
				 (unsigned long long)en->hdr_off, f->path,
				 (unsigned long long)en->size, NAME_MAX_BYTES);
	int rc = st_read(s, x->comp2, en->size, -1, e);
	if (rc < 0)
		return rc;
	if (memcmp(x->comp2, f->linkto ? f->linkto : "", en->size) != 0)
		return ok_err_at(e, -EBADMSG, s->path, OK_ERR_NOPOS,
				 "payload offset %llu: %s: the payload's symlink target differs "
				 "from the header's FILELINKTOS; %s",
				 (unsigned long long)en->hdr_off, f->path, x->fate);
	return 0;
}

/* Copy a regular file's data from the stream to fd, checking it against
 * the header's FILEDIGESTS as it goes: 0, or -EBADMSG naming the file. */
static int copy_checked(struct xstate *x, struct stream *s, const struct entry *en,
			const struct rpm_file *f, int fd, struct ok_err *e)
{
	struct hash_ctx h;
	int check = x->v.on && f->digest && f->digest[0];
	if (check && x->v.file_algo < 0)
		return ok_err_at(e, -EBADMSG, s->path, OK_ERR_NOPOS,
				 "%s: FILEDIGESTALGO %llu, expected one rpmq can check "
				 "(1, 2, 8, 9, 10, 11); %s",
				 f->path, (unsigned long long)x->v.file_algo_num, x->fate);
	if (check && hash_init(&h, (enum hash_algo)x->v.file_algo) < 0)
		return -ENOMEM;
	s->fh = check ? &h : NULL;
	int rc = st_read(s, NULL, en->size, fd, e);
	s->fh = NULL;
	char got[2 * HASH_MAX + 1] = "";
	if (check) {
		uint8_t d[HASH_MAX];
		hex_encode(d, hash_final(&h, d), got);
	}
	if (rc == 0 && check && strcasecmp(got, f->digest) != 0)
		rc = ok_err_at(e, -EBADMSG, s->path, OK_ERR_NOPOS,
			       "payload offset %llu: %s: content does not match the header's "
			       "FILEDIGESTS (expected %s, got %s); %s",
			       (unsigned long long)en->hdr_off, f->path, f->digest, got, x->fate);
	return rc;
}

/* Write a regular file's data to a new file `last` in pfd, checking its
 * digest; a mismatch removes the file. */
static int write_file(struct xstate *x, struct stream *s, const struct entry *en,
		      const struct rpm_file *f, int pfd, const char *last, struct ok_err *e)
{
	int fd = openat2_beneath(pfd, last, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600);
	if (fd < 0)
		return fd;
	int rc = copy_checked(x, s, en, f, fd, e);
	if (rc == 0 && fchmod(fd, file_perms(x, f)) < 0)
		rc = -errno;
	struct timespec ts[2] = {{f->mtime, 0}, {f->mtime, 0}};
	if (rc == 0 && futimens(fd, ts) < 0)
		rc = -errno;
	close(fd);
	if (rc < 0)
		unlinkat(pfd, last, 0);
	return rc;
}

/* The members of f[fx]'s hard-link set (regular, not %ghost, same device
 * and inode; rpm's rpmfilesFLinks) are those j for which in_set() holds. */
static int in_set(const struct rpm_file *f, size_t fx, size_t j)
{
	return (f[j].mode & 0170000) == 0100000 && !(f[j].flags & 64) && f[j].dev == f[fx].dev &&
	       f[j].ino == f[fx].ino;
}

/* --cat: a selected regular file's content, checked against its digest in
 * an unnamed temporary file before a byte of it reaches cat_fd; as often as
 * members of its hard-link set were asked for. Other entries are read over. */
static int cat_one(struct xstate *x, struct stream *s, struct entry *en, struct ok_err *e)
{
	const struct rpm_file *f = &x->f[en->fx];
	int rc = check_size(x, s, en, f, e);
	if (rc < 0)
		return rc;
	int times = 0;
	if ((f->mode & 0170000) == 0100000 && !(f->nlink > 1 && en->size == 0 && f->size > 0)) {
		if (f->nlink > 1) {
			for (size_t j = 0; j < x->n; j++)
				times += in_set(x->f, (size_t)en->fx, j) && x->want[j];
		} else {
			times = x->want[en->fx];
		}
	}
	if (times == 0) {
		rc = st_read(s, NULL, en->size, -1, e);
		return rc < 0 ? rc : st_align4(s, e);
	}
	const char *tmp = x->tmpdir;
	int fd = open(tmp, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0) {
		char name[4096];
		snprintf(name, sizeof(name), "%s/rpmq-cat-XXXXXX", tmp);
		fd = mkstemp(name);
		if (fd >= 0)
			unlink(name);
	}
	if (fd < 0)
		return ok_err_at(e, -errno, tmp, OK_ERR_NOPOS,
				 "cannot create a temporary file for --cat");
	rc = copy_checked(x, s, en, f, fd, e);
	for (int t = 0; t < times && rc == 0; t++) {
		if (lseek(fd, 0, SEEK_SET) < 0) {
			rc = -errno;
			break;
		}
		uint8_t buf[1 << 14];
		ssize_t r;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			if (io_write_full(x->cat_fd, buf, (size_t)r) < 0) {
				rc = ok_err_at(e, -EIO, s->path, OK_ERR_NOPOS,
					       "writing %s to standard output", f->path);
				break;
			}
		if (r < 0 && rc == 0)
			rc = -errno;
	}
	close(fd);
	return rc < 0 ? rc : st_align4(s, e);
}

/* Mark in want[] the files paths[] select: with prefix, a path selects
 * itself and everything beneath it, else only itself (leading "/" and "./"
 * ignored on both sides). A path that selects nothing is an error
 * (-EINVAL); with prefix a hard-linked file brings its whole link set,
 * whose content the payload holds once. */
static int select_files(const struct rpm_pkg *p, const struct rpm_file *f, size_t n,
			const char *const *paths, size_t npaths, int prefix, char *want,
			struct ok_err *e)
{
	for (size_t k = 0; k < npaths; k++) {
		const char *q = norm(paths[k]);
		size_t ql = strlen(q);
		while (ql > 0 && q[ql - 1] == '/')
			ql--;
		int hit = 0;
		for (size_t i = 0; i < n; i++) {
			const char *fp = norm(f[i].path);
			if (strncmp(fp, q, ql) == 0 &&
			    (fp[ql] == 0 || (prefix && (ql == 0 || fp[ql] == '/')))) {
				want[i] = 1;
				hit = 1;
			}
		}
		if (!hit)
			return ok_err_at(e, -EINVAL, p->path, OK_ERR_NOPOS,
					 "%s: no such file in the package", paths[k]);
	}
	if (prefix)
		for (size_t i = 0; i < n; i++)
			if (want[i] == 1 && f[i].nlink > 1 && (f[i].mode & 0170000) == 0100000)
				for (size_t j = 0; j < n; j++)
					if (!want[j] && in_set(f, i, j))
						want[j] = 2;
	return 0;
}

static int extract_one(struct xstate *x, struct stream *s, struct entry *en, struct ok_err *e)
{
	const struct rpm_file *f = &x->f[en->fx];
	if (e)
		e->msg[0] = 0;
	int rc = check_size(x, s, en, f, e);
	if (rc < 0)
		return rc;
	const char *rel = f->path;
	while (*rel == '/')
		rel++;
	const char *last;
	int pfd = open_parent(x->root, rel, x->comp, &last);
	if (pfd < 0)
		return ok_err_at(e, -EPERM, s->path, OK_ERR_NOPOS,
				 "payload offset %llu: refusing %s: it would not stay beneath the "
				 "target directory (%s)",
				 (unsigned long long)en->hdr_off, f->path, strerror(-pfd));
	uint32_t t = f->mode & 0170000;
	if (t == 0040000) {
		if (mkdirat(pfd, last, 0700) < 0 && errno != EEXIST)
			rc = -errno;
		x->dirs[x->ndirs++] = (size_t)en->fx;
		if (rc == 0)
			rc = st_read(s, NULL, en->size, -1, e);
	} else if (t == 0120000) {
		if (unlinkat(pfd, last, 0) < 0 && errno != ENOENT)
			rc = -errno;
		else if ((rc = check_link(x, s, en, f, e)) < 0)
			;
		else if (symlinkat(f->linkto ? f->linkto : "", pfd, last) < 0)
			rc = -errno;
		else
			set_times(pfd, last, f->mtime, 1);
	} else if (t == 0100000) {
		/* A hard-link member without data waits for the member with it. */
		if (f->nlink > 1 && en->size == 0 && f->size > 0) {
			close(pfd);
			return st_align4(s, e);
		}
		if (unlinkat(pfd, last, 0) < 0 && errno != ENOENT)
			rc = -errno;
		else
			rc = write_file(x, s, en, f, pfd, last, e);
		if (rc == 0)
			x->done[en->fx] = 1;
		/* Link the other members of its hard-link set to it. */
		if (rc == 0 && f->nlink > 1) {
			for (size_t j = 0; j < x->n && rc == 0; j++) {
				const struct rpm_file *g = &x->f[j];
				if (j == (size_t)en->fx || (g->mode & 0170000) != 0100000 ||
				    (g->flags & 64) || g->dev != f->dev || g->ino != f->ino ||
				    x->done[j])
					continue;
				const char *rel2 = g->path, *last2;
				while (*rel2 == '/')
					rel2++;
				int qfd = open_parent(x->root, rel2, x->comp2, &last2);
				if (qfd < 0) {
					rc = qfd;
					break;
				}
				unlinkat(qfd, last2, 0);
				if (linkat(pfd, last, qfd, last2, 0) < 0)
					rc = -errno;
				close(qfd);
				x->done[j] = 1;
			}
		}
	} else if (t == 0010000 || t == 0020000 || t == 0060000 || t == 0140000) {
		/* Devices, FIFOs, sockets: mode and mtime from the header, as rpm
		 * sets them (mknod's mode goes through the umask). */
		if ((x->flags & RPM_X_SAFE) && (t == 0020000 || t == 0060000)) {
			fprintf(stderr, "rpmq: %s: --safe: not creating the %s device %s\n",
				s->path, t == 0020000 ? "character" : "block", f->path);
		} else if (unlinkat(pfd, last, 0) < 0 && errno != ENOENT) {
			rc = -errno;
		} else if (mknodat(pfd, last, t | 0600, f->rdev) < 0) {
			rc = -errno;
		} else if (fchmodat(pfd, last, file_perms(x, f), 0) < 0 ||
			   set_times(pfd, last, f->mtime, 1) < 0) {
			rc = -errno;
		}
		if (rc == 0)
			rc = st_read(s, NULL, en->size, -1, e);
	} else {
		rc = st_read(s, NULL, en->size, -1, e);
	}
	close(pfd);
	if (rc < 0) {
		if (e && e->msg[0]) /* the stream already said what went wrong */
			return rc;
		return ok_err_at(e, rc, s->path, OK_ERR_NOPOS, "payload offset %llu: extracting %s",
				 (unsigned long long)en->hdr_off, f->path);
	}
	return st_align4(s, e);
}

int rpm_extract(struct rpm_pkg *p, const char *dir, unsigned flags, struct ok_err *e)
{
	struct rpm_extract_opts o = {flags, NULL, 0, -1};
	return rpm_extract_files(p, dir, &o, e);
}

int rpm_cat(struct rpm_pkg *p, const char *const *paths, size_t npaths, int out_fd,
	    const char *tmpdir, struct ok_err *e)
{
	struct rpm_extract_opts o = {0, paths, npaths, out_fd};
	return rpm_extract_files(p, tmpdir, &o, e);
}

int rpm_extract_files(struct rpm_pkg *p, const char *dir, const struct rpm_extract_opts *o,
		      struct ok_err *e)
{
	unsigned flags = o->flags;
	struct rpm_file *f = NULL;
	size_t n = 0;
	int rc = check_format(p, e);
	if (rc == 0)
		rc = rpm_files(p, &f, &n, e);
	if (rc < 0)
		return rc;
	struct stream *s = malloc(sizeof(*s));
	struct xstate *x = calloc(1, sizeof(*x));
	struct fileidx idx = {0};
	if (!s || !x || idx_init(&idx, f, n) < 0) {
		rc = ok_err_at(e, -ENOMEM, p->path, OK_ERR_NOPOS, "out of memory");
		goto out;
	}
	if (e)
		e->msg[0] = 0;
	x->p = p;
	x->f = f;
	x->n = n;
	x->flags = flags;
	x->v.on = !(flags & RPM_X_NOVERIFY);
	x->cat_fd = o->cat_fd;
	x->tmpdir = dir && *dir ? dir : "/tmp";
	x->fate = o->cat_fd >= 0 ? "not written" : "removed";
	x->root = -1;
	x->done = calloc(n ? n : 1, 1);
	x->dirs = calloc(n ? n : 1, sizeof(size_t));
	int choose = o->npaths > 0 || o->cat_fd >= 0; /* else every file */
	char *want = choose ? calloc(n ? n : 1, 1) : NULL;
	x->want = want;
	if (!x->done || !x->dirs || (!want && choose)) {
		rc = ok_err_at(e, -ENOMEM, p->path, OK_ERR_NOPOS, "out of memory");
		goto out;
	}
	if (want && (rc = select_files(p, f, n, o->paths, o->npaths, o->cat_fd < 0, want, e)) < 0)
		goto out;
	for (size_t i = 0; o->cat_fd >= 0 && i < n; i++) {
		if (!want[i])
			continue;
		if ((f[i].mode & 0170000) != 0100000) {
			rc = ok_err_at(e, -EINVAL, p->path, OK_ERR_NOPOS,
				       "%s: not a regular file (mode %06o)", f[i].path, f[i].mode);
			goto out;
		}
		if (f[i].flags & 64) {
			rc = ok_err_at(e, -EINVAL, p->path, OK_ERR_NOPOS,
				       "%s: a %%ghost file, not in the payload", f[i].path);
			goto out;
		}
	}
	if (x->v.on && (rc = verify_init(&x->v, p, e)) < 0)
		goto out;
	if (o->cat_fd < 0) {
		if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
			rc = ok_err_at(e, -errno, dir, OK_ERR_NOPOS,
				       "cannot create the target directory");
			goto out;
		}
		x->root = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (x->root < 0) {
			rc = ok_err_at(e, -errno, dir, OK_ERR_NOPOS,
				       "cannot open the target directory");
			goto out;
		}
	}
	rc = st_open(s, p, x->v.pay_on ? &x->v.pay : NULL, e);
	if (rc < 0)
		goto out_root;
	struct entry *en = malloc(sizeof(*en));
	if (!en) {
		rc = -ENOMEM;
		goto out_stream;
	}
	for (;;) {
		rc = next_entry(s, en, f, n, e);
		if (rc < 0)
			break;
		if (en->trailer)
			break;
		if (!en->stripped) {
			en->fx = idx_find(&idx, en->name);
			if (en->fx < 0) {
				rc =
				    ok_err_at(e, -EPERM, p->path, (long long)en->hdr_off,
					      "payload offset %llu: Archive file not in header: %s",
					      (unsigned long long)en->hdr_off, en->name);
				break;
			}
		}
		if (x->cat_fd >= 0) {
			rc = cat_one(x, s, en, e);
		} else if (want && !want[en->fx]) {
			rc = st_read(s, NULL, en->size, -1, e);
			if (rc == 0)
				rc = st_align4(s, e);
		} else {
			rc = extract_one(x, s, en, e);
		}
		if (rc < 0)
			break;
	}
	free(en);
	/* Directories last: their mode and mtime, now that nothing more is
	 * created inside them. */
	for (size_t i = 0; rc == 0 && i < x->ndirs; i++) {
		const struct rpm_file *d = &f[x->dirs[i]];
		const char *rel = d->path;
		while (*rel == '/')
			rel++;
		int fd = openat2_beneath(x->root, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
		if (fd < 0)
			continue;
		fchmod(fd, file_perms(x, d));
		struct timespec ts[2] = {{d->mtime, 0}, {d->mtime, 0}};
		futimens(fd, ts);
		close(fd);
	}
	if (rc == 0 && x->v.pay_on)
		rc = verify_payload(&x->v, p, e);
out_stream:
	decomp_close(s->d);
out_root:
	if (x->root >= 0)
		close(x->root);
out:
	if (x) {
		free((char *)x->want);
		if (x->v.pay_on)
			hash_abort(&x->v.pay);
		free(x->done);
		free(x->dirs);
	}
	free(x);
	free(s);
	free(idx.order);
	rpm_files_free(f, n);
	return rc < 0 ? rc : 0;
}

/* ---- --cpio ---------------------------------------------------------------------- */

static int put_newc(int fd, const struct rpm_file *f, size_t fx, uint64_t size, const char *name,
		    uint64_t *off, struct ok_err *e, const char *path)
{
	char hdr[111 + NAME_MAX_BYTES + 8];
	size_t nl = strlen(name) + 1;
	int k = snprintf(
	    hdr, sizeof(hdr), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
	    f ? (unsigned)(f[fx].ino ? f[fx].ino : fx + 1) : 0, f ? f[fx].mode : 0, 0u, 0u,
	    f ? f[fx].nlink : 1, f ? f[fx].mtime : 0, (unsigned)size,
	    f ? (f[fx].dev >> 8) & 0xfff : 0, f ? f[fx].dev & 0xff : 0,
	    f ? (f[fx].rdev >> 8) & 0xfff : 0, f ? f[fx].rdev & 0xff : 0, (unsigned)nl, 0u);
	memcpy(hdr + k, name, nl);
	size_t len = (size_t)k + nl;
	while ((*off + len) % 4)
		hdr[len++] = 0;
	ssize_t w = io_write_full(fd, hdr, len);
	if (w < 0)
		return ok_err_at(e, (int)w, path, OK_ERR_NOPOS, "writing the cpio archive");
	*off += len;
	return 0;
}

int rpm_write_cpio(struct rpm_pkg *p, int out_fd, struct ok_err *e)
{
	int rc = check_format(p, e);
	if (rc < 0)
		return rc;
	struct stream *s = malloc(sizeof(*s));
	if (!s)
		return ok_err_at(e, -ENOMEM, p->path, OK_ERR_NOPOS, "out of memory");
	rc = st_open(s, p, NULL, e);
	if (rc < 0) {
		free(s);
		return rc;
	}
	struct rpm_file *f = NULL;
	size_t n = 0;
	rc = rpm_files(p, &f, &n, e);
	/* Peek: a newc payload is copied as is, as rpm2cpio does. */
	if (rc == 0)
		rc = st_fill(s, e);
	if (rc == 0 && !(s->len >= 6 && memcmp(s->buf, "07070X", 6) == 0)) {
		for (;;) {
			if (s->pos == s->len) {
				rc = st_fill(s, e);
				if (rc < 0 || s->len == 0)
					break;
			}
			ssize_t w = io_write_full(out_fd, s->buf + s->pos, s->len - s->pos);
			if (w < 0) {
				rc = ok_err_at(e, (int)w, p->path, OK_ERR_NOPOS,
					       "writing the cpio archive");
				break;
			}
			s->pos = s->len;
		}
	} else if (rc == 0) {
		/* Stripped: rebuild newc headers from the header (rpm >= 4.20's
		 * rpm2cpio); files of 4 GiB or more cannot be described. */
		struct entry *en = malloc(sizeof(*en));
		uint64_t off = 0;
		while (en && (rc = next_entry(s, en, f, n, e)) == 0 && !en->trailer) {
			if (!en->stripped) {
				rc = ok_err_at(
				    e, -EINVAL, p->path, OK_ERR_NOPOS,
				    "payload offset %llu: newc entry in a stripped payload, "
				    "expected 07070X",
				    (unsigned long long)en->hdr_off);
				break;
			}
			if (en->size >= 0xffffffffull) {
				fprintf(stderr, "rpmq: %s: skipping %s: 4 GiB or larger\n", p->path,
					en->name);
				rc = st_read(s, NULL, en->size, -1, e);
			} else {
				rc = put_newc(out_fd, f, (size_t)en->fx, en->size, en->name, &off,
					      e, p->path);
				if (rc == 0)
					rc = st_read(s, NULL, en->size, out_fd, e);
				off += en->size;
				static const char zero[4];
				size_t pad = (4 - off % 4) % 4;
				if (rc == 0 && pad && io_write_full(out_fd, zero, pad) < 0)
					rc = -EIO;
				off += pad;
			}
			if (rc == 0)
				rc = st_align4(s, e);
			if (rc < 0)
				break;
		}
		free(en);
		if (rc == 0)
			rc = put_newc(out_fd, NULL, 0, 0, "TRAILER!!!", &off, e, p->path);
	}
	rpm_files_free(f, n);
	decomp_close(s->d);
	free(s);
	return rc;
}

/* ---- --tar ----------------------------------------------------------------------- */

/* Fill ae for file f as rpm2archive's fill_archive_entry() does: name "."
 * + the header path, size FILESIZES (libarchive writes none for what is not
 * a regular file), type and permissions, owner and group names (ids 0),
 * rdev, mtime, symlink target. */
static void tar_entry(struct archive_entry *ae, const struct rpm_file *f)
{
	archive_entry_clear(ae);
	char name[NAME_MAX_BYTES + 3];
	snprintf(name, sizeof(name), "%s%s", f->path[0] == '/' ? "." : "./", f->path);
	archive_entry_copy_pathname(ae, name);
	archive_entry_set_size(ae, (la_int64_t)f->size);
	archive_entry_set_filetype(ae, f->mode & 0170000);
	archive_entry_set_perm(ae, f->mode);
	archive_entry_copy_uname(ae, f->user ? f->user : "");
	archive_entry_copy_gname(ae, f->group ? f->group : "");
	archive_entry_set_rdev(ae, f->rdev);
	archive_entry_set_mtime(ae, f->mtime, 0);
	if ((f->mode & 0170000) == 0120000)
		archive_entry_copy_symlink(ae, f->linkto ? f->linkto : "");
}

/* The archive's output: archive_write_open_fd()'s, with a switch to drop
 * everything after a failed check (the end blocks included), which
 * archive_write_fail() would do at the cost of leaking libarchive's
 * client buffer. */
struct tar_out {
	int fd;
	int failed; /* 1: write nothing more */
};

static la_ssize_t tar_write(struct archive *a, void *arg, const void *buf, size_t n)
{
	struct tar_out *o = arg;
	if (o->failed)
		return (la_ssize_t)n;
	ssize_t w = io_write_full(o->fd, buf, n);
	if (w < 0) {
		archive_set_error(a, (int)-w, "%s", strerror((int)-w));
		return -1;
	}
	return (la_ssize_t)n;
}

/* As archive_write_open_fd's file_open: the last block padded in full for
 * devices, FIFOs and stdout (so the bytes are rpm2archive's), the output
 * file itself never archived. */
static int tar_open(struct archive *a, void *arg)
{
	struct tar_out *o = arg;
	struct stat st;
	if (fstat(o->fd, &st) != 0) {
		archive_set_error(a, errno, "cannot stat the output");
		return ARCHIVE_FATAL;
	}
	if (S_ISREG(st.st_mode))
		archive_write_set_skip_file(a, st.st_dev, st.st_ino);
	if (archive_write_get_bytes_in_last_block(a) < 0)
		archive_write_set_bytes_in_last_block(a, S_ISCHR(st.st_mode) ||
								 S_ISBLK(st.st_mode) ||
								 S_ISFIFO(st.st_mode) || o->fd == 1
							     ? 0
							     : 1);
	return ARCHIVE_OK;
}

static int tar_header(struct archive *a, struct archive_entry *ae, const char *path,
		      struct ok_err *e)
{
	if (archive_write_header(a, ae) == ARCHIVE_OK)
		return 0;
	return ok_err_at(e, -EIO, path, OK_ERR_NOPOS, "writing the tar archive: %s",
			 archive_error_string(a));
}

/* The names a tar of p would carry must stay beneath the directory it is
 * unpacked in, whatever unpacks it (GNU tar follows a symlink the archive
 * made earlier): no ".." component, nothing beneath one of the package's
 * own symlinks. rpm2archive writes such names as they are; rpmq refuses
 * the package (-EPERM) before writing anything. */
static int tar_check_names(const struct rpm_pkg *p, const struct rpm_file *f, size_t n,
			   const struct fileidx *idx, struct ok_err *e)
{
	char buf[NAME_MAX_BYTES + 1];
	for (size_t i = 0; i < n; i++) {
		if (f[i].flags & 64)
			continue; /* %ghost: not in the payload */
		snprintf(buf, sizeof(buf), "%s", f[i].path);
		for (char *c = buf;;) {
			char *slash = strchr(c, '/');
			size_t len = slash ? (size_t)(slash - c) : strlen(c);
			if (len == 2 && c[0] == '.' && c[1] == '.')
				return ok_err_at(e, -EPERM, p->path, OK_ERR_NOPOS,
						 "refusing %s: a \"..\" component would lead "
						 "outside the archive's directory",
						 f[i].path);
			if (!slash)
				break;
			if (slash > buf) {
				*slash = 0;
				long d = idx_find(idx, buf);
				*slash = '/';
				if (d >= 0 && (f[d].mode & 0170000) == 0120000)
					return ok_err_at(e, -EPERM, p->path, OK_ERR_NOPOS,
							 "refusing %s: it lies beneath the "
							 "package's symlink %s",
							 f[i].path, f[d].path);
			}
			c = slash + 1;
		}
	}
	return 0;
}

int rpm_write_tar(struct rpm_pkg *p, int out_fd, unsigned flags, struct ok_err *e)
{
	struct tar_out to = {out_fd, 0};
	struct rpm_file *f = NULL;
	size_t n = 0;
	int rc = check_format(p, e);
	if (rc == 0)
		rc = rpm_files(p, &f, &n, e);
	if (rc < 0)
		return rc;
	struct stream *s = malloc(sizeof(*s));
	struct xstate *x = calloc(1, sizeof(*x));
	struct fileidx idx = {0};
	struct archive *a = archive_write_new();
	struct archive_entry *ae = archive_entry_new();
	size_t *links = malloc((n ? n : 1) * sizeof(size_t));
	struct entry *en = malloc(sizeof(*en));
	if (!s || !x || !a || !ae || !links || !en || idx_init(&idx, f, n) < 0) {
		rc = ok_err_at(e, -ENOMEM, p->path, OK_ERR_NOPOS, "out of memory");
		goto out;
	}
	x->p = p;
	x->f = f;
	x->n = n;
	x->v.on = !(flags & RPM_X_NOVERIFY);
	x->fate = "the archive stops before it";
	if ((rc = tar_check_names(p, f, n, &idx, e)) < 0 ||
	    (x->v.on && (rc = verify_init(&x->v, p, e)) < 0))
		goto out;
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open2(a, &to, tar_open, tar_write, NULL, NULL) != ARCHIVE_OK) {
		rc = ok_err_at(e, -EIO, p->path, OK_ERR_NOPOS, "starting the tar archive: %s",
			       archive_error_string(a));
		goto out;
	}
	rc = st_open(s, p, x->v.pay_on ? &x->v.pay : NULL, e);
	if (rc < 0)
		goto out;
	s->ar = a;
	while ((rc = next_entry(s, en, f, n, e)) == 0 && !en->trailer) {
		if (!en->stripped && (en->fx = idx_find(&idx, en->name)) < 0) {
			rc = ok_err_at(e, -EPERM, p->path, (long long)en->hdr_off,
				       "payload offset %llu: Archive file not in header: %s",
				       (unsigned long long)en->hdr_off, en->name);
			break;
		}
		const struct rpm_file *g = &f[en->fx];
		uint32_t t = g->mode & 0170000;
		if ((g->flags & 64) || (rc = check_size(x, s, en, g, e)) < 0) {
			/* a %ghost in the payload (rpm < 4.11): rpm skips it */
			if (rc == 0)
				rc = st_read(s, NULL, en->size, -1, e);
		} else if (t == 0100000 && g->nlink > 1) {
			/* rpm2archive's content-first order: when the member with
			 * the data comes, the link set's first file with the data,
			 * then the others as hard links to it */
			if (en->size == 0 && g->size > 0) {
				rc = st_align4(s, e);
				continue;
			}
			size_t nl = 0;
			for (size_t j = 0; j < n; j++)
				if (in_set(f, (size_t)en->fx, j))
					links[nl++] = j;
			tar_entry(ae, &f[links[0]]);
			char *first = strdup(archive_entry_pathname(ae));
			if (!first) {
				rc = -ENOMEM;
				break;
			}
			rc = tar_header(a, ae, p->path, e);
			if (rc == 0)
				rc = copy_checked(x, s, en, g, ST_TAR, e);
			for (size_t k = 1; k < nl && rc == 0; k++) {
				tar_entry(ae, &f[links[k]]);
				archive_entry_copy_hardlink(ae, first);
				rc = tar_header(a, ae, p->path, e);
			}
			free(first);
		} else {
			tar_entry(ae, g);
			rc = tar_header(a, ae, p->path, e);
			if (rc == 0 && t == 0100000)
				rc = copy_checked(x, s, en, g, ST_TAR, e);
			else if (rc == 0 && t == 0120000)
				rc = check_link(x, s, en, g, e);
			else if (rc == 0)
				rc = st_read(s, NULL, en->size, -1, e);
		}
		if (rc == 0)
			rc = st_align4(s, e);
		if (rc < 0)
			break;
	}
	if (rc == 0 && x->v.pay_on)
		rc = verify_payload(&x->v, p, e);
	/* A failed check leaves the archive without its end blocks (and
	 * without the data libarchive still buffers), so that it does not
	 * pass for complete. */
	if (rc < 0)
		to.failed = 1;
	if (archive_write_close(a) != ARCHIVE_OK && rc == 0)
		rc = ok_err_at(e, -EIO, p->path, OK_ERR_NOPOS, "writing the tar archive: %s",
			       archive_error_string(a));
	if (s->d)
		decomp_close(s->d);
out:
	if (x && x->v.pay_on)
		hash_abort(&x->v.pay);
	if (rc < 0)
		to.failed = 1; /* archive_write_free closes what is still open */
	if (a)
		archive_write_free(a);
	if (ae)
		archive_entry_free(ae);
	free(en);
	free(links);
	free(x);
	free(s);
	free(idx.order);
	rpm_files_free(f, n);
	return rc;
}
