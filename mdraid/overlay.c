/*
 * overlay.c: the copy-on-write overlay of overlay.h (format, crash rules and
 * invariants there). Array I/O goes through md_array_read/md_array_write
 * only: the overlay is a layer above the engine, not a second engine.
 *
 * Divisions: header; open and close; read and write; commit and discard.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "mdraid_int.h"
#include "overlay.h"

#define OV_MAGIC   "MDRAIDOV"
#define OV_VERSION 1
#define OV_HDR	   4096u
#define OV_PAGE	   4096u

/* ---- header ---- */

/* n bytes at file byte at, whole: 0 or -errno (-EIO: the file ends
 * before), e naming the overlay, the offset and what was being done. */
static int ov_pread(const struct md_overlay *ov, void *buf, size_t n, uint64_t at, const char *what,
		    struct ok_err *e)
{
	ssize_t r = io_pread_full(ov->fd, buf, n, (off_t)at);
	if (r == (ssize_t)n)
		return 0;
	return ok_err_at(e, r < 0 ? (int)r : -EIO, ov->path, (long long)at, "%s: %s", what,
			 r < 0 ? strerror((int)-r) : "the file ends before");
}

static int ov_pwrite(const struct md_overlay *ov, const void *buf, size_t n, uint64_t at,
		     const char *what, struct ok_err *e)
{
	ssize_t r = io_pwrite_full(ov->fd, buf, n, (off_t)at);
	if (r == (ssize_t)n)
		return 0;
	return ok_err_at(e, r < 0 ? (int)r : -EIO, ov->path, (long long)at, "%s: %s", what,
			 r < 0 ? strerror((int)-r) : "short write");
}

static int ov_datasync(const struct md_overlay *ov, struct ok_err *e)
{
	int rc = io_fdatasync(ov->fd);
	return rc < 0 ? ok_err_at(e, rc, ov->path, -1, "fdatasync: %s", strerror(-rc)) : 0;
}

/* Header layout (little-endian): 0 magic[8], 8 version u32, 12 block_bytes
 * u32, 16 array_bytes u64, 24 uuid[16], 40 events u64, 48 state u32,
 * 56 data_off u64. */
static void ov_encode(const struct md_overlay *ov, uint8_t *h)
{
	memset(h, 0, OV_HDR);
	memcpy(h, OV_MAGIC, 8);
	md_put32(h + 8, OV_VERSION);
	md_put32(h + 12, MD_OVERLAY_BLOCK);
	md_put64(h + 16, ov->array_bytes);
	memcpy(h + 24, ov->uuid, 16);
	md_put64(h + 40, ov->events);
	md_put32(h + 48, ov->state);
	md_put64(h + 56, ov->data_off);
}

/* Sizes that follow from array_bytes: nblocks, map_bytes, data_off. */
static void ov_sizes(struct md_overlay *ov)
{
	ov->nblocks = (ov->array_bytes + MD_OVERLAY_BLOCK - 1) / MD_OVERLAY_BLOCK;
	ov->map_bytes = (size_t)(((ov->nblocks + 7) / 8 + OV_PAGE - 1) / OV_PAGE * OV_PAGE);
	if (ov->map_bytes == 0)
		ov->map_bytes = OV_PAGE;
	ov->data_off =
	    ((uint64_t)OV_HDR + ov->map_bytes + (1u << 20) - 1) / (1u << 20) * (1u << 20);
}

static int ov_write_header(struct md_overlay *ov, struct ok_err *e)
{
	uint8_t h[OV_HDR];
	ov_encode(ov, h);
	int rc = ov_pwrite(ov, h, OV_HDR, 0, "writing the overlay header", e);
	return rc < 0 ? rc : ov_datasync(ov, e);
}

/* Parse and check a header read from the file against what ov_sizes makes
 * of its array_bytes (a file is trusted for nothing it says). */
static int ov_decode(struct md_overlay *ov, const uint8_t *h, uint64_t file_bytes, struct ok_err *e)
{
	if (memcmp(h, OV_MAGIC, 8) != 0)
		return ok_err_at(e, -EINVAL, ov->path, 0,
				 "not an mdraid overlay (magic '%.8s', expected '%s')",
				 (const char *)h, OV_MAGIC);
	if (md_le32(h + 8) != OV_VERSION || md_le32(h + 12) != MD_OVERLAY_BLOCK)
		return ok_err_at(e, -EINVAL, ov->path, 8,
				 "overlay version %u block %u, expected version %u block %u",
				 md_le32(h + 8), md_le32(h + 12), OV_VERSION, MD_OVERLAY_BLOCK);
	ov->array_bytes = md_le64(h + 16);
	if (ov->array_bytes == 0 || ov->array_bytes > ((uint64_t)1 << 56))
		return ok_err_at(e, -EINVAL, ov->path, 16, "array size %llu out of range",
				 (unsigned long long)ov->array_bytes);
	memcpy(ov->uuid, h + 24, 16);
	ov->events = md_le64(h + 40);
	ov->state = md_le32(h + 48);
	if (ov->state > 1)
		return ok_err_at(e, -EINVAL, ov->path, 48, "state %u, expected 0 or 1", ov->state);
	ov_sizes(ov);
	if (md_le64(h + 56) != ov->data_off)
		return ok_err_at(e, -EINVAL, ov->path, 56, "data offset %llu, expected %llu",
				 (unsigned long long)md_le64(h + 56),
				 (unsigned long long)ov->data_off);
	if (file_bytes < OV_HDR + ov->map_bytes)
		return ok_err_at(e, -EINVAL, ov->path, (long long)file_bytes,
				 "file ends inside the map (%llu bytes needed)",
				 (unsigned long long)(OV_HDR + ov->map_bytes));
	return 0;
}

/* ---- open and close ---- */

static void ov_free(struct md_overlay *ov)
{
	if (ov->fd >= 0)
		close(ov->fd);
	ov->fd = -1;
	free(ov->bits);
	free(ov->page_dirty);
	free(ov->block);
	ov->bits = ov->page_dirty = ov->block = NULL;
}

/* Open (or create) the file and load header and map, unchecked against an
 * array: what open, commit and discard share. */
static int ov_load(struct md_overlay *ov, const char *dir, const struct md_array *a, bool create,
		   struct ok_err *e)
{
	memset(ov, 0, sizeof(*ov));
	ov->fd = -1;
	if ((size_t)snprintf(ov->path, sizeof(ov->path), "%s/%s", dir, MD_OVERLAY_FILE) >=
	    sizeof(ov->path))
		return ok_err_at(e, -ENAMETOOLONG, dir, -1, "overlay directory name too long");
	bool made = false;
	ov->fd = open(ov->path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (ov->fd < 0 && errno == ENOENT && create && a) {
		ov->fd = open(ov->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		made = ov->fd >= 0;
	}
	if (ov->fd < 0)
		return ok_err_at(e, -errno, ov->path, -1, "%s", strerror(errno));
	if (made) {
		ov->array_bytes = md_array_bytes(a);
		memcpy(ov->uuid, a->ref.set_uuid, 16);
		ov->events = a->ref.events;
		ov_sizes(ov);
	} else {
		uint8_t h[OV_HDR];
		struct stat st;
		if (fstat(ov->fd, &st) < 0)
			return ok_err_at(e, -errno, ov->path, -1, "%s", strerror(errno));
		int rc = ov_pread(ov, h, OV_HDR, 0, "reading the overlay header", e);
		if (rc < 0)
			return rc;
		rc = ov_decode(ov, h, (uint64_t)st.st_size, e);
		if (rc < 0)
			return rc;
	}
	ov->bits = calloc(1, ov->map_bytes);
	ov->page_dirty = calloc(ov->map_bytes / OV_PAGE, 1);
	ov->block = malloc(MD_OVERLAY_BLOCK);
	if (!ov->bits || !ov->page_dirty || !ov->block)
		return ok_err_at(e, -ENOMEM, ov->path, -1, "out of memory for the overlay map");
	if (made) {
		/* header and an empty map before any data: the file is an
		 * overlay from its first synced byte on */
		int rc =
		    ov_pwrite(ov, ov->bits, ov->map_bytes, OV_HDR, "writing the overlay map", e);
		return rc < 0 ? rc : ov_write_header(ov, e);
	}
	int rc = ov_pread(ov, ov->bits, ov->map_bytes, OV_HDR, "reading the overlay map", e);
	if (rc < 0)
		return rc;
	/* bits past nblocks must be clear: a map that names blocks the
	 * array does not have is not ours */
	for (uint64_t b = ov->nblocks; b < (uint64_t)ov->map_bytes * 8; b++)
		if (ov->bits[b / 8] >> (b % 8) & 1)
			return ok_err_at(e, -EINVAL, ov->path, (long long)(OV_HDR + b / 8),
					 "map bit %llu set past the array's %llu blocks",
					 (unsigned long long)b, (unsigned long long)ov->nblocks);
	for (size_t i = 0; i < ov->map_bytes; i++)
		ov->mapped += (uint64_t)__builtin_popcount(ov->bits[i]);
	return 0;
}

/* The overlay was made over this array, as it is now. */
static int ov_match(const struct md_overlay *ov, const struct md_array *a, bool committing,
		    struct ok_err *e)
{
	char want[36], have[36];
	if (memcmp(ov->uuid, a->ref.set_uuid, 16) != 0) {
		md_uuid_str(want, ov->uuid);
		md_uuid_str(have, a->ref.set_uuid);
		return ok_err_at(e, -EINVAL, ov->path, 24,
				 "overlay of array %s, these members are %s", want, have);
	}
	if (ov->array_bytes != md_array_bytes(a))
		return ok_err_at(e, -EINVAL, ov->path, 16,
				 "overlay of a %llu-byte array, the array has %llu bytes",
				 (unsigned long long)ov->array_bytes,
				 (unsigned long long)md_array_bytes(a));
	/* a cut commit has bumped the members' events (active, clean): only
	 * then may they be ahead */
	if (committing ? a->ref.events < ov->events : a->ref.events != ov->events)
		return ok_err_at(e, -EINVAL, ov->path, 40,
				 "overlay made at events %llu, the members are at %llu (written "
				 "since: commit or discard it first)",
				 (unsigned long long)ov->events, (unsigned long long)a->ref.events);
	return 0;
}

int md_overlay_open(struct md_overlay *ov, const char *dir, const struct md_array *a, bool create,
		    struct ok_err *e)
{
	int rc = ov_load(ov, dir, a, create, e);
	if (rc == 0 && ov->state == 1)
		rc = ok_err_at(e, -EINVAL, ov->path, 48,
			       "a commit of this overlay began: run mdraid overlay commit again");
	if (rc == 0)
		rc = ov_match(ov, a, false, e);
	if (rc < 0)
		ov_free(ov);
	return rc;
}

int md_overlay_sync(struct md_overlay *ov, struct ok_err *e)
{
	if (ov->fd < 0 || !ov->dirty)
		return 0;
	int rc = ov_datasync(ov, e);
	if (rc < 0)
		return rc;
	for (size_t p = 0; p < ov->map_bytes / OV_PAGE; p++) {
		if (!ov->page_dirty[p])
			continue;
		rc = ov_pwrite(ov, ov->bits + p * OV_PAGE, OV_PAGE, OV_HDR + p * OV_PAGE,
			       "writing the overlay map", e);
		if (rc < 0)
			return rc;
		ov->page_dirty[p] = 0;
	}
	rc = ov_datasync(ov, e);
	if (rc < 0)
		return rc;
	ov->dirty = false;
	return 0;
}

int md_overlay_close(struct md_overlay *ov, struct ok_err *e)
{
	int rc = md_overlay_sync(ov, e);
	ov_free(ov);
	return rc;
}

/* ---- read and write ---- */

static bool ov_has(const struct md_overlay *ov, uint64_t b)
{
	return ov->bits[b / 8] >> (b % 8) & 1;
}

static int ov_range(const struct md_overlay *ov, uint64_t off, size_t len, struct ok_err *e)
{
	if (off > ov->array_bytes || len > ov->array_bytes - off)
		return ok_err_at(e, -EINVAL, ov->path, (long long)off,
				 "%zu bytes at %llu are past the array's end (%llu)", len,
				 (unsigned long long)off, (unsigned long long)ov->array_bytes);
	return 0;
}

int md_overlay_read(struct md_overlay *ov, struct md_array *a, uint64_t off, void *buf, size_t len,
		    struct ok_err *e)
{
	int rc = ov_range(ov, off, len, e);
	uint8_t *p = buf;
	while (rc == 0 && len > 0) {
		/* the longest run of blocks that are all mapped or all not */
		uint64_t b = off / MD_OVERLAY_BLOCK;
		bool in = ov_has(ov, b);
		uint64_t end = off;
		while (end < off + len && ov_has(ov, end / MD_OVERLAY_BLOCK) == in)
			end = (end / MD_OVERLAY_BLOCK + 1) * MD_OVERLAY_BLOCK;
		size_t n = (size_t)((end < off + len ? end : off + len) - off);
		if (in) {
			rc = ov_pread(ov, p, n, ov->data_off + off, "reading the overlay", e);
		} else {
			rc = md_array_read(a, off, p, n, e);
		}
		off += n;
		p += n;
		len -= n;
	}
	return rc;
}

int md_overlay_write(struct md_overlay *ov, struct md_array *a, uint64_t off, const void *buf,
		     size_t len, struct ok_err *e)
{
	int rc = ov_range(ov, off, len, e);
	const uint8_t *p = buf;
	while (rc == 0 && len > 0) {
		uint64_t b = off / MD_OVERLAY_BLOCK;
		uint64_t bstart = b * MD_OVERLAY_BLOCK;
		uint64_t bbytes = ov->array_bytes - bstart < MD_OVERLAY_BLOCK
				      ? ov->array_bytes - bstart
				      : MD_OVERLAY_BLOCK;
		size_t in_b = (size_t)(off - bstart);
		size_t n = len < bbytes - in_b ? len : (size_t)(bbytes - in_b);
		const void *src = p;
		uint64_t at = ov->data_off + off;
		size_t wn = n;
		if (!ov_has(ov, b) && n < bbytes) {
			/* first write into a block, partly: the rest from the
			 * array, so the block is whole before its bit is set */
			rc = md_array_read(a, bstart, ov->block, (size_t)bbytes, e);
			if (rc < 0)
				break;
			memcpy(ov->block + in_b, p, n);
			src = ov->block;
			at = ov->data_off + bstart;
			wn = (size_t)bbytes;
		}
		rc = ov_pwrite(ov, src, wn, at, "writing the overlay", e);
		if (rc < 0)
			break;
		if (!ov_has(ov, b)) {
			ov->bits[b / 8] |= (uint8_t)(1u << (b % 8));
			ov->page_dirty[b / 8 / OV_PAGE] = 1;
			ov->dirty = true;
			ov->mapped++;
		}
		off += n;
		p += n;
		len -= n;
	}
	return rc;
}

/* ---- commit and discard ---- */

/*
 * Commit order, each step durable before the next (a cut anywhere is judged
 * by tests/mdraid/test_overlay_commit.sh):
 *   1. header state 1 (synced): from here on the file is replayed, never
 *      reused by serve, never discarded;
 *   2. md_array_write per mapped block, as any array write: the first marks
 *      the array active (bitmap events, then every superblock: resync_offset
 *      0, events + 1), each window sets and syncs its bitmap bits before its
 *      data; a cut leaves an active array that md resyncs (the bitmap's
 *      regions, or all of it without one) or, degraded, refuses to start;
 *   3. members fdatasync'ed, then marked clean (md_array_mark_clean: bitmap
 *      cleared, then superblocks clean, events + 1);
 *   4. the file unlinked. A cut before this is a replay of steps 1-4 (the
 *      members' events are then ahead of the header's, which ov_match
 *      allows only for state 1).
 */

int md_overlay_commit(const char *dir, struct md_array *a, uint64_t *blocks, struct ok_err *e)
{
	struct md_overlay ov;
	*blocks = 0;
	int rc = ov_load(&ov, dir, NULL, false, e);
	if (rc == 0)
		rc = ov_match(&ov, a, ov.state == 1, e);
	if (rc == 0 && ov.state == 0) {
		ov.state = 1;
		rc = ov_write_header(&ov, e);
	}
	uint8_t *buf = rc == 0 ? malloc(MD_OVERLAY_BLOCK) : NULL;
	if (rc == 0 && !buf)
		rc = ok_err_at(e, -ENOMEM, ov.path, -1, "out of memory");
	for (uint64_t b = 0; rc == 0 && b < ov.nblocks; b++) {
		if (!ov_has(&ov, b))
			continue;
		uint64_t off = b * MD_OVERLAY_BLOCK;
		size_t n = ov.array_bytes - off < MD_OVERLAY_BLOCK ? (size_t)(ov.array_bytes - off)
								   : MD_OVERLAY_BLOCK;
		rc = ov_pread(&ov, buf, n, ov.data_off + off, "reading the overlay", e);
		if (rc == 0)
			rc = md_array_write(a, off, buf, n, e);
		if (rc == 0)
			(*blocks)++;
	}
	free(buf);
	/* the members clean before the file goes: a cut before the unlink is
	 * replayed whole (state 1), a cut after it left nothing undone */
	if (rc == 0)
		rc = md_array_sync(a, e);
	if (rc == 0)
		rc = md_array_mark_clean(a, e);
	if (rc == 0 && unlink(ov.path) < 0)
		rc = ok_err_at(e, -errno, ov.path, -1, "removing the committed overlay: %s",
			       strerror(errno));
	ov_free(&ov);
	return rc;
}

int md_overlay_discard(const char *dir, struct ok_err *e)
{
	struct md_overlay ov;
	int rc = ov_load(&ov, dir, NULL, false, e);
	/* a cut commit left part of the overlay on the members: dropping the
	 * file would leave them half old, half new */
	if (rc == 0 && ov.state == 1)
		rc = ok_err_at(e, -EBUSY, ov.path, 48,
			       "a commit of this overlay began and the members hold part of it: "
			       "run mdraid overlay commit again to finish it");
	if (rc == 0 && unlink(ov.path) < 0)
		rc = ok_err_at(e, -errno, ov.path, -1, "%s", strerror(errno));
	ov_free(&ov);
	return rc;
}
