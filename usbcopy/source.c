/*
 * source.c: the image as a sequence of chunks to write.
 *
 * Three shapes, one interface (uc_src_next):
 *   raw      a plain file read with pread; holes found with SEEK_DATA /
 *            SEEK_HOLE become zero extents (written as zeros, verified);
 *   stream   anything lib/decomp.h undoes (gzip, bzip2, xz, zstd, zip, tar):
 *            read forward, one data extent per chunk;
 *   bmap     only the bmap's mapped ranges, clipped to chunks, each range's
 *            checksum computed as its bytes go by (the image itself may be
 *            raw or compressed: a stream is skipped forward between ranges).
 * The whole-image SHA-256 (--sha256) is folded in as chunks are produced and
 * checked when the end is reached, before uc_src_next reports the end; the
 * engine writes the held-back first chunk only after that.
 *
 * Memory: one chunk buffer (the caller's) plus a 1 MiB skip buffer for
 * streams; nothing grows with the image.
 */
#include "usbcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decomp.h"
#include "io.h"

#define SKIP_BYTES (1u << 20)

struct uc_src {
	int fd;			    /* the image file */
	char path[256];		    /* for messages */
	char kind[48];		    /* what was detected */
	struct decomp *d;	    /* NULL for plain files */
	int sparse;		    /* plain and SEEK_DATA usable */
	int64_t size;		    /* image bytes if known, else -1 */
	uint32_t chunk;		    /* chunk bytes */
	uint64_t pos;		    /* image bytes produced (raw/stream) */
	uint64_t stream_pos;	    /* decompressed bytes consumed (stream) */
	uint8_t *skip;		    /* discard buffer for forward skips */
	const struct uc_bmap *bmap; /* or NULL */
	size_t ri;		    /* current bmap range */
	uint64_t rdone;		    /* bytes of range ri already produced */
	struct hash_ctx rh;	    /* digest of range ri so far */
	int rh_live;		    /* rh initialised */
	int check_sha;		    /* --sha256 given */
	uint8_t want[32];	    /* its value */
	struct hash_ctx wh;	    /* running whole-image digest */
	struct hash_ctx sh;	    /* running digest of the file as stored (streams) */
	int sh_live;		    /* sh initialised */
	int sha_early;		    /* --sha256 matched before anything was written */
	int done;		    /* end reached and checked */
	uint64_t file_bytes;	    /* st_size of a regular file, else 0 */
	char *open_path;	    /* path as given, for uc_src_reopen */
	char *entry;		    /* --entry as given, or NULL */
	unsigned flags;		    /* enum uc_src_flags as given */
};

/* decomp_tap_fn: the stored bytes, for a --sha256 of the compressed file. */
static void tap_stored(void *arg, const void *buf, size_t n)
{
	struct uc_src *s = arg;
	if (s->sh_live)
		hash_update(&s->sh, buf, n);
}

/* The input is read again from its start: so is its digest. */
static void tap_restart(struct uc_src *s)
{
	if (!s->sh_live)
		return;
	hash_abort(&s->sh);
	s->sh_live = hash_init(&s->sh, HASH_SHA256) == 0;
}

/*
 * Which file of a zip or tar is the image, as etcher-sdk chooses (its
 * SourceDestination.imageExtensions and zip.ts): a regular file whose
 * extension is a disk image's: in a zip file the largest of them (a listing
 * pass first, which skips entries without inflating them where the local
 * headers record sizes), in a tar or on a pipe the first of them (a tar is
 * listed only by decompressing all of it). A lone regular file is the image
 * whatever its name (found by a rewind when the input is a file).
 * Anything else is ambiguous: refused, the candidates listed, --entry NAME
 * chooses.
 */
static const char *const image_exts[] = {"img", "iso", "bin",	 "dsk",	      "hddimg",
					 "raw", "dmg", "sdcard", "rpi-sdimg", "wic"};

#define PICK_LIST_MAX 64 /* entries remembered for the message */

struct pick {
	const char *want; /* --entry, or NULL */
	int list_all;	  /* pass 1 on a seekable input: take none, list all */
	long take;	  /* pass 2: take regular file number take */
	unsigned n;	  /* regular files seen */
	struct {
		char name[128];
		int64_t size;
		int image; /* has an image extension */
	} e[PICK_LIST_MAX];
};

static int has_image_ext(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash + 1 : path, '.');
	if (!dot || !dot[1])
		return 0;
	for (size_t i = 0; i < sizeof(image_exts) / sizeof(image_exts[0]); i++)
		if (!strcasecmp(dot + 1, image_exts[i]))
			return 1;
	return 0;
}

/* decomp_pick_fn: remember every entry; take by --entry, by number (pass
 * 2), or the first image on a stream. */
static int pick_entry(void *arg, unsigned index, const char *path, int64_t size, int is_zip)
{
	struct pick *pk = arg;
	int image = has_image_ext(path);
	if (pk->n < PICK_LIST_MAX) {
		snprintf(pk->e[pk->n].name, sizeof(pk->e[pk->n].name), "%s", path);
		pk->e[pk->n].size = size;
		pk->e[pk->n].image = image;
	}
	pk->n++;
	if (pk->take >= 0)
		return (long)index == pk->take;
	if (pk->want)
		return !strcmp(path, pk->want);
	/* a tar is listed only by reading (and decompressing) all of it: its
	 * first image is taken, as on a pipe */
	return (!pk->list_all || !is_zip) && image;
}

/* After pass 1 took nothing: the entry number to take, or -1 (ambiguous). */
static long pick_choose(const struct pick *pk)
{
	long best = -1;
	int tie = 0, images = 0;
	unsigned n = pk->n < PICK_LIST_MAX ? pk->n : PICK_LIST_MAX;
	for (unsigned i = 0; i < n; i++) {
		if (!pk->e[i].image)
			continue;
		images++;
		if (best < 0 || pk->e[i].size > pk->e[best].size)
			best = (long)i, tie = 0;
		else if (pk->e[i].size == pk->e[best].size)
			tie = 1;
	}
	if (pk->n > PICK_LIST_MAX || pk->want)
		return -1;
	for (unsigned i = 0; images > 1 && i < n; i++)
		if (pk->e[i].image && pk->e[i].size < 0)
			return -1; /* a size unknown: no way to tell the largest */
	if (images)
		return tie ? -1 : best;
	return pk->n == 1 ? 0 : -1;
}

/* "README.txt (7 bytes), a.img (4194304 bytes)" for the error message. */
static void pick_list(const struct pick *pk, char *buf, size_t size)
{
	size_t o = 0;
	buf[0] = 0;
	unsigned n = pk->n < PICK_LIST_MAX ? pk->n : PICK_LIST_MAX;
	for (unsigned i = 0; i < n && o < size; i++) {
		int w = pk->e[i].size >= 0
			    ? snprintf(buf + o, size - o, "%s%s (%lld bytes)", i ? ", " : "",
				       pk->e[i].name, (long long)pk->e[i].size)
			    : snprintf(buf + o, size - o, "%s%s", i ? ", " : "", pk->e[i].name);
		if (w < 0)
			break;
		o += (size_t)w;
	}
	if (pk->n > n && o < size)
		snprintf(buf + o, size - o, " and %u more", pk->n - n);
}

/*
 * Open the decompressor on s->fd with the image entry chosen (see
 * image_exts). A seekable input is listed whole first, then rewound and
 * opened again at the chosen entry; a pipe takes the first image.
 */
static struct decomp *open_image(struct uc_src *s, const char *entry, int seekable,
				 struct ok_err *e)
{
	struct pick *pk = calloc(1, sizeof(*pk));
	if (!pk) {
		ok_err_at(e, -ENOMEM, s->path, OK_ERR_NOPOS, "out of memory");
		return NULL;
	}
	pk->want = entry;
	pk->list_all = seekable;
	pk->take = -1;
	unsigned fl = DECOMP_UNPACK | DECOMP_VERIFY;
	struct decomp *d = decomp_open_pick(s->fd, s->path, fl, tap_stored, s, pick_entry, pk, e);
	if (!d && e && e->errnum == ENOENT) {
		long k = pick_choose(pk);
		if (k >= 0 && seekable && lseek(s->fd, 0, SEEK_SET) == 0) {
			tap_restart(s);
			ok_err_clear(e);
			memset(pk->e, 0, sizeof(pk->e));
			pk->n = 0;
			pk->take = k;
			d = decomp_open_pick(s->fd, s->path, fl, tap_stored, s, pick_entry, pk, e);
		} else {
			char list[2048];
			pick_list(pk, list, sizeof(list));
			if (entry)
				ok_err_at(e, -EINVAL, s->path, OK_ERR_NOPOS,
					  "no entry named \"%s\" in the archive; it holds: %s",
					  entry, list);
			else
				ok_err_at(e, -EINVAL, s->path, OK_ERR_NOPOS,
					  "cannot tell which entry is the image%s; it holds: %s; "
					  "choose one with --entry NAME",
					  seekable ? ""
						   : " (no name ends in .img, .iso, ... and a pipe "
						     "cannot be read twice)",
					  list);
		}
	}
	if (d && entry && !strcmp(decomp_format_name(d), "raw")) {
		decomp_close(d);
		d = NULL;
		ok_err_at(e, -EINVAL, s->path, OK_ERR_NOPOS,
			  "--entry %s: the image is not a zip or tar archive", entry);
	}
	free(pk);
	return d;
}

/*
 * Chunk-sized buffers in 2 MiB pages where the kernel has them (transparent
 * huge pages on madvise): a 4 MiB buffer is then 2 page faults, not 1024.
 * On a busy host the faults of usbcopy's ~29 MiB of buffers took 2 s of a
 * 7 s write of 256 MiB (strace: the gaps after each mmap); dd's one 4 MiB
 * buffer costs a seventh of that.
 */
#define HUGE_BYTES (2u << 20)
void *uc_buf_alloc(size_t n)
{
	if (n < HUGE_BYTES)
		return io_alloc(n);
	void *p = NULL;
	size_t r = (n + HUGE_BYTES - 1) / HUGE_BYTES * HUGE_BYTES;
	if (posix_memalign(&p, HUGE_BYTES, r))
		return NULL;
	madvise(p, r, MADV_HUGEPAGE); /* a hint: without it, 4 KiB pages */
	memset(p, 0, n);
	return p;
}

int uc_chunk_alloc(struct uc_chunk *c, uint32_t chunk_bytes)
{
	memset(c, 0, sizeof(*c));
	c->buf = uc_buf_alloc(chunk_bytes);
	c->ext_cap = chunk_bytes / 1024 + 2;
	c->ext = calloc(c->ext_cap, sizeof(*c->ext));
	if (!c->buf || !c->ext) {
		uc_chunk_free(c);
		return -ENOMEM;
	}
	return 0;
}

void uc_chunk_free(struct uc_chunk *c)
{
	io_free(c->buf);
	free(c->ext);
	memset(c, 0, sizeof(*c));
}

void uc_src_close(struct uc_src *s)
{
	if (!s)
		return;
	decomp_close(s->d);
	if (s->fd >= 0)
		close(s->fd);
	if (s->rh_live)
		hash_abort(&s->rh);
	if (s->check_sha && !s->done)
		hash_abort(&s->wh);
	if (s->sh_live)
		hash_abort(&s->sh);
	io_free(s->skip);
	free(s->open_path);
	free(s->entry);
	free(s);
}

/* SHA-256 of the whole file as stored, by pread (the source's fd is left
 * where it was). 0, or -errno with e. */
static int hash_file(struct uc_src *s, uint8_t out[32], struct ok_err *e)
{
	struct hash_ctx h;
	uint8_t *buf = io_alloc(SKIP_BYTES);
	if (!buf || hash_init(&h, HASH_SHA256) < 0) {
		io_free(buf);
		return ok_err_at(e, -ENOMEM, s->path, OK_ERR_NOPOS, "cannot hash");
	}
	uint64_t off = 0;
	for (;;) {
		ssize_t n = io_pread_full(s->fd, buf, SKIP_BYTES, (off_t)off);
		if (n < 0) {
			hash_abort(&h);
			io_free(buf);
			return ok_err_at(e, (int)n, s->path, (long long)off, "cannot read image");
		}
		hash_update(&h, buf, (size_t)n);
		off += (uint64_t)n;
		if ((size_t)n < SKIP_BYTES)
			break;
	}
	hash_final(&h, out);
	io_free(buf);
	return 0;
}

/* SHA-256 of the unpacked image (entry as chosen), read through a second
 * source on the same path: the check a compressed file's hash did not pass. */
static int hash_unpacked(struct uc_src *s, const char *entry, uint8_t out[32], struct ok_err *e)
{
	struct uc_src *t;
	struct uc_chunk c;
	int r = uc_src_open(s->path, NULL, entry, NULL, s->chunk, 0, &t, e);
	if (r < 0)
		return r;
	struct hash_ctx h;
	if (uc_chunk_alloc(&c, s->chunk) < 0 || hash_init(&h, HASH_SHA256) < 0) {
		uc_chunk_free(&c);
		uc_src_close(t);
		return ok_err_at(e, -ENOMEM, s->path, OK_ERR_NOPOS, "cannot hash");
	}
	while ((r = uc_src_next(t, &c, e)) > 0) {
		uint32_t end = c.next ? c.ext[c.next - 1].off + c.ext[c.next - 1].len : 0;
		hash_update(&h, c.buf, end);
	}
	hash_final(&h, out);
	uc_chunk_free(&c);
	uc_src_close(t);
	return r;
}

/*
 * --sha256 before anything is written, when the source is a regular file:
 * the hash download pages publish is the file's as stored (a .img.xz, a
 * .zip); failing that, a compressed image's unpacked bytes are hashed (one
 * more decompression). 0 on a match (sha_early set), -EBADMSG naming both
 * digests, or -errno.
 */
static int sha_precheck(struct uc_src *s, const char *entry, struct ok_err *e)
{
	uint8_t got[32], img[32];
	int r = hash_file(s, got, e);
	if (r < 0)
		return r;
	if (!memcmp(got, s->want, 32)) {
		s->sha_early = 1;
		return 0;
	}
	char gh[65], wh[65], ih[65];
	hex_encode(got, 32, gh);
	hex_encode(s->want, 32, wh);
	if (!s->d)
		return ok_errc_at(e, OK_CLASS_NEGATIVE, -EBADMSG, s->path, OK_ERR_NOPOS,
				  "SHA-256 mismatch: image is %s, expected %s", gh, wh);
	r = hash_unpacked(s, entry, img, e);
	if (r < 0)
		return r;
	if (!memcmp(img, s->want, 32)) {
		s->sha_early = 1;
		return 0;
	}
	hex_encode(img, 32, ih);
	return ok_errc_at(e, OK_CLASS_NEGATIVE, -EBADMSG, s->path, OK_ERR_NOPOS,
			  "SHA-256 mismatch: the file is %s, unpacked (%s) %s, expected %s", gh,
			  s->kind, ih, wh);
}

int uc_src_open(const char *path, const struct uc_bmap *bmap, const char *entry,
		const uint8_t *sha256, uint32_t chunk_bytes, unsigned flags, struct uc_src **out,
		struct ok_err *e)
{
	*out = NULL;
	if (bmap && sha256)
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "--sha256 cannot be checked with --bmap (only mapped ranges are "
				 "read; their checksums are in the bmap)");
	struct uc_src *s = calloc(1, sizeof(*s));
	if (!s)
		return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->chunk = chunk_bytes;
	s->bmap = bmap;
	s->flags = flags;
	s->open_path = strdup(path);
	s->entry = entry ? strdup(entry) : NULL;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0 || !s->open_path || (entry && !s->entry)) {
		int r = ok_err_at(e, s->fd < 0 ? -errno : -ENOMEM, path, OK_ERR_NOPOS,
				  "cannot open image");
		uc_src_close(s);
		return r;
	}
	struct stat st;
	if (fstat(s->fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		int r = ok_err_at(e, S_ISDIR(st.st_mode) ? -EISDIR : -errno, path, OK_ERR_NOPOS,
				  "cannot use as an image");
		uc_src_close(s);
		return r;
	}
	if (S_ISREG(st.st_mode))
		s->file_bytes = (uint64_t)st.st_size;
	if (sha256) {
		s->check_sha = 1;
		memcpy(s->want, sha256, 32);
		if (hash_init(&s->wh, HASH_SHA256) < 0) {
			uc_src_close(s);
			return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "cannot hash");
		}
		s->sh_live = hash_init(&s->sh, HASH_SHA256) == 0;
	}
	/* decomp reads a zero-led image (blank first sectors) as raw data, not as
	 * an empty tar archive */
	s->d = open_image(s, entry, S_ISREG(st.st_mode), e);
	if (!s->d) {
		uc_src_close(s);
		return e && e->err ? e->err : -EINVAL;
	}
	if (decomp_is_plain(s->d) && S_ISREG(st.st_mode)) {
		ok_err_clear(e);
		decomp_close(s->d);
		s->d = NULL;
		s->size = st.st_size;
		off_t h = lseek(s->fd, 0, SEEK_HOLE);
		s->sparse = !(flags & UC_SRC_NO_SPARSE) && h >= 0;
		snprintf(s->kind, sizeof(s->kind), "%s",
			 s->sparse && h < st.st_size ? "sparse" : "raw");
	} else {
		s->size = decomp_entry_size(s->d);
		if (!strcmp(decomp_format_name(s->d), "raw"))
			snprintf(s->kind, sizeof(s->kind), "%s", decomp_filter_name(s->d));
		else if (!strcmp(decomp_filter_name(s->d), "none"))
			snprintf(s->kind, sizeof(s->kind), "%s", decomp_format_name(s->d));
		else
			snprintf(s->kind, sizeof(s->kind), "%s+%s", decomp_filter_name(s->d),
				 decomp_format_name(s->d));
		s->skip = io_alloc(SKIP_BYTES);
		if (!s->skip) {
			uc_src_close(s);
			return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
		}
	}
	if (bmap) {
		if (!s->d && (uint64_t)s->size != bmap->image_size) {
			int r = ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
					  "image is %lld bytes, the bmap says %llu",
					  (long long)s->size, (unsigned long long)bmap->image_size);
			uc_src_close(s);
			return r;
		}
		s->size = (int64_t)bmap->image_size;
		char k[48];
		snprintf(k, sizeof(k), "bmap%s%s", s->d ? "+" : "", s->d ? s->kind : "");
		memcpy(s->kind, k, sizeof(k));
	}
	if (sha256 && S_ISREG(st.st_mode)) {
		int r = sha_precheck(s, entry, e);
		if (r < 0) {
			uc_src_close(s);
			return r;
		}
	}
	*out = s;
	return 0;
}

int uc_src_reopen(const struct uc_src *s, struct uc_src **out, struct ok_err *e)
{
	*out = NULL;
	if (!s->file_bytes)
		return ok_err_at(e, -ESPIPE, s->path, OK_ERR_NOPOS,
				 "not a regular file: cannot be read a second time");
	return uc_src_open(s->open_path, s->bmap, s->entry, NULL, s->chunk, s->flags, out, e);
}

int uc_src_sha256_early(const struct uc_src *s)
{
	return s->sha_early;
}

int64_t uc_src_size(const struct uc_src *s)
{
	return s->size;
}

int64_t uc_src_write_size(const struct uc_src *s)
{
	if (!s->bmap)
		return s->size;
	uint64_t n = 0, bs = s->bmap->block_size;
	for (size_t i = 0; i < s->bmap->n; i++) {
		uint64_t a = s->bmap->r[i].first * bs, b = (s->bmap->r[i].last + 1) * bs;
		if (b > s->bmap->image_size)
			b = s->bmap->image_size;
		n += b - a;
	}
	return (int64_t)n;
}

const char *uc_src_kind(const struct uc_src *s)
{
	return s->kind;
}

uint64_t uc_src_size_estimate(const struct uc_src *s)
{
	if (s->size > 0)
		return (uint64_t)s->size;
	uint64_t in = s->d ? decomp_input_offset(s->d) : 0;
	if (!s->d || !s->file_bytes || !in || !s->stream_pos)
		return 0;
	if (in >= s->file_bytes) /* all read: the end is near, the estimate exact enough */
		in = s->file_bytes;
	return (uint64_t)((double)s->stream_pos * (double)s->file_bytes / (double)in);
}

uint64_t uc_src_offset(const struct uc_src *s)
{
	return s->bmap ? (s->done ? s->bmap->image_size : 0) : s->pos;
}

/*
 * Read image bytes [off, off + n) into buf: pread for plain files; for
 * streams skip forward to off first (bmap ranges only move forward).
 * A short image is an error naming where it ended.
 */
static int read_at(struct uc_src *s, uint8_t *buf, uint64_t off, size_t n, struct ok_err *e)
{
	if (!s->d) {
		ssize_t r = io_pread_full(s->fd, buf, n, (off_t)off);
		if (r < 0)
			return ok_err_at(e, (int)r, s->path, (long long)off, "cannot read image");
		if ((size_t)r < n)
			return ok_err_at(e, -EINVAL, s->path, (long long)(off + (uint64_t)r),
					 "image ends here, expected %zu more bytes", n - (size_t)r);
		return 0;
	}
	while (s->stream_pos < off) {
		uint64_t want = off - s->stream_pos;
		ssize_t r = decomp_read(s->d, s->skip, want < SKIP_BYTES ? want : SKIP_BYTES, e);
		if (r < 0)
			return (int)r;
		if (r == 0)
			return ok_err_at(e, -EINVAL, s->path, (long long)s->stream_pos,
					 "decompressed image ends here, expected data up to %llu",
					 (unsigned long long)(off + n));
		s->stream_pos += (uint64_t)r;
	}
	ssize_t r = decomp_read(s->d, buf, n, e);
	if (r < 0)
		return (int)r;
	s->stream_pos += (uint64_t)r;
	if ((size_t)r < n)
		return ok_err_at(e, -EINVAL, s->path, (long long)s->stream_pos,
				 "decompressed image ends here, expected %zu more bytes",
				 n - (size_t)r);
	return 0;
}

static void add_ext(struct uc_chunk *c, uint32_t off, uint32_t len, int zero)
{
	if (c->next && c->ext[c->next - 1].zero == zero &&
	    c->ext[c->next - 1].off + c->ext[c->next - 1].len == off) {
		c->ext[c->next - 1].len += len;
		return;
	}
	c->ext[c->next].off = off;
	c->ext[c->next].len = len;
	c->ext[c->next].zero = (uint8_t)zero;
	c->next++;
}

/*
 * The end: a stream is read to its end (past the last bmap range, too) and
 * its format's own checks must pass (decomp_finish: gzip trailers, zip CRC,
 * tar headers); then the whole-image digest. All before uc_src_next reports
 * the end, so before the engine writes the held-back first chunk.
 */
static int finish(struct uc_src *s, struct ok_err *e)
{
	if (s->done)
		return 0;
	if (s->d) {
		ssize_t r;
		while ((r = decomp_read(s->d, s->skip, SKIP_BYTES, e)) > 0)
			s->stream_pos += (uint64_t)r;
		if (r < 0 || (r = decomp_finish(s->d, e)) < 0)
			return (int)r;
	}
	s->done = 1;
	if (!s->check_sha)
		return 0;
	uint8_t got[HASH_MAX], stored[HASH_MAX];
	hash_final(&s->wh, got);
	int stored_ok = 0;
	if (s->sh_live && s->d) {
		/* what the decompressor did not need (a trailer, padding) */
		ssize_t n;
		while ((n = read(s->fd, s->skip, SKIP_BYTES)) > 0)
			hash_update(&s->sh, s->skip, (size_t)n);
		hash_final(&s->sh, stored);
		s->sh_live = 0;
		stored_ok = n == 0 && !memcmp(stored, s->want, 32);
	}
	if (memcmp(got, s->want, 32) && !stored_ok) {
		char gh[65], wh[65];
		hex_encode(got, 32, gh);
		hex_encode(s->want, 32, wh);
		/* the early check passed and the file changed while it was read */
		return ok_errc_at(e, OK_CLASS_NEGATIVE, -EBADMSG, s->path, OK_ERR_NOPOS,
				  "SHA-256 mismatch%s: image is %s, expected %s",
				  s->sha_early ? " (the file changed while it was written)" : "",
				  gh, wh);
	}
	return 0;
}

/* Plain file: data and holes of [start, start + len). */
static int next_plain(struct uc_src *s, struct uc_chunk *c, uint32_t len, struct ok_err *e)
{
	uint64_t cur = c->start, end = c->start + len;
	while (cur < end) {
		uint64_t dstart = cur, dend = end;
		if (s->sparse) {
			off_t d = lseek(s->fd, (off_t)cur, SEEK_DATA);
			if (d < 0 && errno != ENXIO)
				return ok_err_at(e, -errno, s->path, (long long)cur,
						 "cannot find data (SEEK_DATA)");
			dstart = d < 0 || (uint64_t)d > end ? end : (uint64_t)d;
			if (dstart < end) {
				off_t h = lseek(s->fd, (off_t)dstart, SEEK_HOLE);
				dend = h < 0 || (uint64_t)h > end ? end : (uint64_t)h;
			}
		}
		if (dstart > cur) {
			memset(c->buf + (cur - c->start), 0, dstart - cur);
			add_ext(c, (uint32_t)(cur - c->start), (uint32_t)(dstart - cur), 1);
		}
		if (dend > dstart) {
			int r = read_at(s, c->buf + (dstart - c->start), dstart, dend - dstart, e);
			if (r < 0)
				return r;
			add_ext(c, (uint32_t)(dstart - c->start), (uint32_t)(dend - dstart), 0);
		}
		cur = dend;
	}
	return 0;
}

/* Bmap: the mapped pieces inside the chunk holding range ri's next byte. */
static int next_bmap(struct uc_src *s, struct uc_chunk *c, struct ok_err *e)
{
	const struct uc_bmap *b = s->bmap;
	if (s->ri >= b->n)
		return 0;
	uint64_t bs = b->block_size;
	uint64_t rs = b->r[s->ri].first * bs + s->rdone;
	c->index = rs / s->chunk;
	c->start = c->index * s->chunk;
	uint64_t cend = c->start + s->chunk;
	while (s->ri < b->n && c->next < c->ext_cap) {
		const struct uc_bmap_range *rg = &b->r[s->ri];
		uint64_t ra = rg->first * bs, rb = (rg->last + 1) * bs;
		if (rb > b->image_size)
			rb = b->image_size;
		uint64_t a = ra + s->rdone;
		if (a >= cend)
			break;
		uint64_t z = rb < cend ? rb : cend;
		if (rg->has_sum && !s->rh_live) {
			if (hash_init(&s->rh, (enum hash_algo)b->algo) < 0)
				return ok_err_at(e, -ENOMEM, s->path, OK_ERR_NOPOS, "cannot hash");
			s->rh_live = 1;
		}
		if (z > a) {
			int r = read_at(s, c->buf + (a - c->start), a, z - a, e);
			if (r < 0)
				return r;
			if (s->rh_live)
				hash_update(&s->rh, c->buf + (a - c->start), z - a);
			add_ext(c, (uint32_t)(a - c->start), (uint32_t)(z - a), 0);
		}
		s->rdone += z - a;
		if (z < rb)
			break; /* the range goes on in the next chunk */
		if (s->rh_live) {
			uint8_t got[HASH_MAX];
			size_t hl = hash_final(&s->rh, got);
			s->rh_live = 0;
			if (memcmp(got, rg->sum, hl)) {
				char gh[2 * HASH_MAX + 1], wh[2 * HASH_MAX + 1];
				hex_encode(got, hl, gh);
				hex_encode(rg->sum, hl, wh);
				return ok_errc_at(e, OK_CLASS_NEGATIVE, -EBADMSG, s->path,
						  (long long)ra,
						  "checksum mismatch for blocks range %llu-%llu: "
						  "calculated %s, should be %s",
						  (unsigned long long)rg->first,
						  (unsigned long long)rg->last, gh, wh);
			}
		}
		s->ri++;
		s->rdone = 0;
	}
	return 1;
}

int uc_src_next(struct uc_src *s, struct uc_chunk *c, struct ok_err *e)
{
	c->next = 0;
	if (s->done)
		return 0;
	if (s->bmap) {
		int r = next_bmap(s, c, e);
		if (r == 0)
			r = finish(s, e);
		if (r <= 0)
			return r;
		if (!c->next) /* only empty ranges were left */
			return uc_src_next(s, c, e);
		return 1;
	}
	c->index = s->pos / s->chunk;
	c->start = s->pos;
	if (!s->d) {
		if (s->pos >= (uint64_t)s->size) {
			int r = finish(s, e);
			return r < 0 ? r : 0;
		}
		uint64_t left = (uint64_t)s->size - s->pos;
		uint32_t len = left < s->chunk ? (uint32_t)left : s->chunk;
		int r = next_plain(s, c, len, e);
		if (r < 0)
			return r;
		s->pos += len;
		if (s->check_sha)
			hash_update(&s->wh, c->buf, len);
		return 1;
	}
	ssize_t n = decomp_read(s->d, c->buf, s->chunk, e);
	if (n < 0)
		return (int)n;
	if (n == 0) {
		int r = finish(s, e);
		return r < 0 ? r : 0;
	}
	add_ext(c, 0, (uint32_t)n, 0);
	s->pos += (uint64_t)n;
	s->stream_pos += (uint64_t)n;
	if (s->check_sha)
		hash_update(&s->wh, c->buf, (size_t)n);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Checksum files                                                       */
/* ------------------------------------------------------------------ */

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');
	return s ? s + 1 : p;
}

/* 64 hex digits at p followed by end or a space/tab? */
static int is_hex64(const char *p, size_t n)
{
	if (n < 64)
		return 0;
	for (int i = 0; i < 64; i++)
		if (!strchr("0123456789abcdefABCDEF", p[i]))
			return 0;
	return n == 64 || p[64] == ' ' || p[64] == '\t';
}

/*
 * One line of a checksum file: fills hex (65 bytes) and name (size bytes,
 * "" for a bare hash). Returns 1 for a SHA-256 line, 0 for a line to skip
 * (blank, comment, another algorithm's BSD line), -1 if malformed.
 */
static int sums_line(const char *l, size_t n, char *hex, char *name, size_t size)
{
	while (n && (l[n - 1] == '\r' || l[n - 1] == ' ' || l[n - 1] == '\t'))
		n--;
	if (!n || l[0] == '#')
		return 0;
	if (n > 7 && !memcmp(l, "SHA256 (", 8)) { /* BSD, sha256sum --tag */
		const char *eq = NULL;
		for (size_t i = n; i-- > 8;)
			if (i + 4 <= n && !memcmp(l + i, ") = ", 4)) {
				eq = l + i;
				break;
			}
		if (!eq || !is_hex64(eq + 4, n - (size_t)(eq + 4 - l)) ||
		    (size_t)(eq - l - 8) >= size)
			return -1;
		memcpy(hex, eq + 4, 64);
		memcpy(name, l + 8, (size_t)(eq - l - 8));
		name[eq - l - 8] = 0;
		hex[64] = 0;
		return 1;
	}
	if (n > 4 && l[0] >= 'A' && l[0] <= 'Z' && memchr(l, '(', n > 16 ? 16 : n) &&
	    !is_hex64(l, n))
		return 0;	/* "MD5 (x) = ..." and friends */
	int esc = l[0] == '\\'; /* GNU: a name with \n or \\ in it */
	if (!is_hex64(l + esc, n - (size_t)esc))
		return -1;
	memcpy(hex, l + esc, 64);
	hex[64] = 0;
	size_t i = (size_t)esc + 64;
	if (i == n) {
		name[0] = 0;
		return 1;
	}
	if (i + 2 > n || l[i] != ' ' || (l[i + 1] != ' ' && l[i + 1] != '*'))
		return -1;
	i += 2;
	size_t o = 0;
	for (; i < n && o + 1 < size; i++) {
		char ch = l[i];
		if (esc && ch == '\\' && i + 1 < n) {
			ch = l[++i] == 'n' ? '\n' : l[i];
		}
		name[o++] = ch;
	}
	if (i < n)
		return -1;
	name[o] = 0;
	return o ? 1 : -1;
}

int uc_sums_lookup(const char *text, size_t len, const char *sums_path, const char *image,
		   uint8_t out[32], struct ok_err *e)
{
	const char *want = base_name(image);
	int found = 0, bare = 0, lines = 0, pgp_sig = 0, pgp_head = 0, lineno = 0;
	char hex[65], name[512], got[65] = "";
	for (size_t pos = 0; pos < len;) {
		const char *l = text + pos, *nl = memchr(l, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - l) : len - pos;
		pos += n + 1;
		lineno++;
		/* a clearsigned file (gpg --clearsign): its armor is not ours to
		 * read; the signature is not checked here */
		if (n >= 5 && !memcmp(l, "-----", 5)) {
			pgp_sig = n >= 29 && !memcmp(l, "-----BEGIN PGP SIGNATURE-----", 29);
			pgp_head = n >= 34 && !memcmp(l, "-----BEGIN PGP SIGNED MESSAGE-----", 34);
			continue;
		}
		if (pgp_sig)
			continue;
		if (pgp_head) {
			pgp_head = n > 0; /* "Hash: SHA256" lines up to a blank one */
			continue;
		}
		int r = sums_line(l, n, hex, name, sizeof(name));
		if (r < 0)
			return ok_err_line(
			    e, -EINVAL, sums_path, lineno,
			    "expected \"HEX  NAME\" (sha256sum) or \"SHA256 (NAME) = "
			    "HEX\" (sha256sum --tag)");
		if (!r)
			continue;
		lines++;
		if (!name[0]) {
			bare++;
			if (!found)
				memcpy(got, hex, 65);
			continue;
		}
		if (strcmp(base_name(name), want))
			continue;
		if (found && strcasecmp(got, hex))
			return ok_err_line(e, -EINVAL, sums_path, lineno,
					   "a second, different SHA-256 for %s", want);
		memcpy(got, hex, 65);
		found = 1;
	}
	if (!found && !(bare == 1 && lines == 1))
		return ok_err_at(e, -EINVAL, sums_path, OK_ERR_NOPOS,
				 "no SHA-256 for %s (%d SHA-256 line%s, none names it)", want,
				 lines, lines == 1 ? "" : "s");
	return hex_decode(got, out, 32) < 0
		   ? ok_err_at(e, -EINVAL, sums_path, OK_ERR_NOPOS, "bad hex digits")
		   : 0;
}

/*
 * The signed text of a clearsigned checksum file, as gpgv(1) hands it out
 * after checking the signature against keyring: gpgv is the verifier Debian
 * ships for exactly this (apt uses it), so no OpenPGP code of ours. Only
 * the text gpgv vouches for is returned: lines outside the signed block are
 * never seen by uc_sums_lookup.
 */
#define SUMS_MAX (1u << 20)
int uc_sums_verify(const char *sums, const char *keyring, char **text, size_t *len,
		   struct ok_err *e)
{
	char kr[PATH_MAX];
	int out[2] = {-1, -1};
	*text = NULL;
	*len = 0;
	/* gpgv takes a name without a slash as relative to GNUPGHOME */
	if (!realpath(keyring, kr))
		return ok_err_at(e, -errno, keyring, OK_ERR_NOPOS, "cannot open keyring");
	FILE *errf = tmpfile();
	char *buf = malloc(SUMS_MAX + 1);
	if (!errf || !buf || pipe2(out, O_CLOEXEC) < 0) {
		int r =
		    ok_err_at(e, errno ? -errno : -ENOMEM, sums, OK_ERR_NOPOS, "cannot run gpgv");
		if (errf)
			fclose(errf);
		free(buf);
		return r;
	}
	pid_t pid = fork();
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(out[1], 1) < 0 || dup2(fileno(errf), 2) < 0)
			_exit(126);
		execlp("gpgv", "gpgv", "--quiet", "--keyring", kr, "--output", "-", "--", sums,
		       (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	size_t n = 0;
	int big = 0;
	for (;;) { /* read to the end, keep at most SUMS_MAX + 1 bytes */
		char sink[4096];
		char *dst = n <= SUMS_MAX ? buf + n : sink;
		size_t room = n <= SUMS_MAX ? SUMS_MAX + 1 - n : sizeof(sink);
		ssize_t k = read(out[0], dst, room);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		if (dst == buf + n)
			n += (size_t)k;
		else
			big = 1;
	}
	close(out[0]);
	int st = 0;
	while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	char why[256] = "";
	rewind(errf);
	while (fgets(why, sizeof(why), errf)) /* gpgv's last line says why */
		if (strstr(why, "BAD signature") || strstr(why, "Can't check") ||
		    strstr(why, "no valid OpenPGP") || strstr(why, "not found"))
			break;
	why[strcspn(why, "\n")] = 0;
	fclose(errf);
	int r = 0;
	if (pid < 0)
		r = ok_err_at(e, -errno, sums, OK_ERR_NOPOS, "cannot run gpgv");
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		r = ok_err_at(e, -ENOENT, sums, OK_ERR_NOPOS,
			      "cannot run gpgv (Debian's gpgv package) to check the signature");
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		r = ok_errc_at(e, OK_CLASS_DATA, -EBADMSG, sums, OK_ERR_NOPOS,
			       "OpenPGP signature not good for keyring %s%s%s", keyring,
			       why[0] ? ": " : "", why);
	else if (big || n > SUMS_MAX)
		r = ok_err_at(e, -EFBIG, sums, OK_ERR_NOPOS, "checksum file over 1 MiB");
	if (r < 0) {
		free(buf);
		return r;
	}
	*text = buf;
	*len = n;
	return 0;
}
