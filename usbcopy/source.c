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
#include <sys/stat.h>
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
	int done;		    /* end reached and checked */
};

int uc_chunk_alloc(struct uc_chunk *c, uint32_t chunk_bytes)
{
	memset(c, 0, sizeof(*c));
	c->buf = io_alloc(chunk_bytes);
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
	io_free(s->skip);
	free(s);
}

int uc_src_open(const char *path, const struct uc_bmap *bmap, const uint8_t *sha256,
		uint32_t chunk_bytes, unsigned flags, struct uc_src **out, struct ok_err *e)
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
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		int r = ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot open image");
		free(s);
		return r;
	}
	struct stat st;
	if (fstat(s->fd, &st) < 0 || S_ISDIR(st.st_mode)) {
		int r = ok_err_at(e, S_ISDIR(st.st_mode) ? -EISDIR : -errno, path, OK_ERR_NOPOS,
				  "cannot use as an image");
		uc_src_close(s);
		return r;
	}
	/* decomp reads a zero-led image (blank first sectors) as raw data, not as
	 * an empty tar archive */
	s->d = decomp_open(s->fd, path, DECOMP_UNPACK | DECOMP_VERIFY, e);
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
	if (sha256) {
		s->check_sha = 1;
		memcpy(s->want, sha256, 32);
		if (hash_init(&s->wh, HASH_SHA256) < 0) {
			uc_src_close(s);
			return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "cannot hash");
		}
	}
	*out = s;
	return 0;
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
	uint8_t got[HASH_MAX];
	hash_final(&s->wh, got);
	if (memcmp(got, s->want, 32)) {
		char gh[65], wh[65];
		hash_hex(got, 32, gh);
		hash_hex(s->want, 32, wh);
		return ok_errc_at(e, OK_CLASS_NEGATIVE, -EBADMSG, s->path, OK_ERR_NOPOS,
				  "SHA-256 mismatch: image is %s, expected %s", gh, wh);
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
				hash_hex(got, hl, gh);
				hash_hex(rg->sum, hl, wh);
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
