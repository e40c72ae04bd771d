/*
 * bitmap.c: the two small on-disk structures that sit next to the v1.x
 * superblock: the internal write-intent bitmap's superblock (bitmap_super_t,
 * 256 bytes, followed by one bit per bitmap chunk) and the bad-block log
 * (le64 entries). Parsing only; array.c decides when to set bits.
 *
 * Bits: bit i (little-endian bit order, byte i/8, bit i%8) covers member
 * data sectors [i*chunk, (i+1)*chunk) relative to data_offset; a set bit
 * means "may differ between members, resync it" (md-bitmap.c).
 */
#include "mdraid_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int md_bitmap_parse(struct md_bitmap *bm, const uint8_t *buf, const uint8_t *uuid, const char *path,
		    long long offset, struct ok_err *e)
{
	memset(bm, 0, sizeof(*bm));
	bm->magic = md_le32(buf);
	bm->version = md_le32(buf + 4);
	memcpy(bm->uuid, buf + 8, 16);
	bm->events = md_le64(buf + 24);
	bm->events_cleared = md_le64(buf + 32);
	bm->sync_size = md_le64(buf + 40);
	bm->state = md_le32(buf + 48);
	bm->chunksize = md_le32(buf + 52);
	bm->daemon_sleep = md_le32(buf + 56);
	bm->write_behind = md_le32(buf + 60);
	bm->sectors_reserved = md_le32(buf + 64);
	bm->nodes = md_le32(buf + 68);
	memcpy(bm->cluster_name, buf + 72, 64);
	if (bm->magic != MD_BITMAP_MAGIC)
		return ok_err_at(e, -EINVAL, path, offset, "bitmap magic 0x%x, expected 0x%x",
				 bm->magic, MD_BITMAP_MAGIC);
	if (bm->version < 3 || bm->version > 5)
		return ok_err_at(e, -EINVAL, path, offset + 4, "bitmap version %u, expected 3..5",
				 bm->version);
	if (uuid && memcmp(uuid, bm->uuid, 16) != 0)
		return ok_err_at(e, -EINVAL, path, offset + 8,
				 "bitmap superblock UUID differs from the array's");
	if (bm->chunksize < 512 || (bm->chunksize & (bm->chunksize - 1)))
		return ok_err_at(e, -EINVAL, path, offset + 52,
				 "bitmap chunksize %u, expected a power of two >= 512",
				 bm->chunksize);
	if (bm->write_behind > 16383)
		return ok_err_at(e, -EINVAL, path, offset + 60,
				 "bitmap write-behind %u out of range (0 - 16383)",
				 bm->write_behind);
	if (bm->nodes > 1)
		return ok_err_at(e, -EINVAL, path, offset + 68,
				 "clustered bitmap (%u nodes) is not supported", bm->nodes);
	if (bm->sync_size > (UINT64_MAX >> 10))
		return ok_err_at(e, -EINVAL, path, offset + 40, "bitmap sync_size %llu too large",
				 (unsigned long long)bm->sync_size);
	bm->valid = true;
	return 0;
}

void md_bitmap_encode(const struct md_bitmap *bm, uint8_t *buf)
{
	memset(buf, 0, 256);
	md_put32(buf, bm->magic);
	md_put32(buf + 4, bm->version);
	memcpy(buf + 8, bm->uuid, 16);
	md_put64(buf + 24, bm->events);
	md_put64(buf + 32, bm->events_cleared);
	md_put64(buf + 40, bm->sync_size);
	md_put32(buf + 48, bm->state);
	md_put32(buf + 52, bm->chunksize);
	md_put32(buf + 56, bm->daemon_sleep);
	md_put32(buf + 60, bm->write_behind);
	md_put32(buf + 64, bm->sectors_reserved);
	md_put32(buf + 68, bm->nodes);
	memcpy(buf + 72, bm->cluster_name, 64);
}

uint64_t md_bitmap_bits(const struct md_bitmap *bm)
{
	/* mdadm's bitmap_bits(): sync_size sectors in chunks, rounded up */
	if (!bm->chunksize)
		return 0;
	return (bm->sync_size * 512 + bm->chunksize - 1) / bm->chunksize;
}

uint64_t md_bitmap_bytes(const struct md_bitmap *bm, unsigned boundary)
{
	uint64_t bytes = (md_bitmap_bits(bm) + 7) / 8 + 256;
	return (bytes + boundary - 1) / boundary * boundary;
}

/* ---- bad-block log ---- */

int md_bblog_parse(struct md_bblog *log, const uint8_t *buf, size_t size, unsigned shift,
		   const char *path, long long offset, struct ok_err *e)
{
	log->n = 0;
	log->bb = NULL;
	size_t max = size / 8;
	if (shift > 40)
		return ok_err_at(e, -EINVAL, path, offset, "bad-block log shift %u too large",
				 shift);
	for (size_t i = 0; i < max; i++) {
		uint64_t v = md_le64(buf + 8 * i);
		if (v == UINT64_MAX)
			break;
		uint64_t count = (v & 0x3ff) << shift;
		uint64_t sector = (v >> 10) << shift;
		if (count == 0) {
			md_bblog_free(log);
			return ok_err_at(e, -EINVAL, path, offset + (long long)(8 * i),
					 "bad-block entry %zu has length 0", i);
		}
		if ((v >> 10) > (UINT64_MAX >> (10 + shift)) || sector + count < sector) {
			md_bblog_free(log);
			return ok_err_at(e, -EINVAL, path, offset + (long long)(8 * i),
					 "bad-block entry %zu overflows", i);
		}
		if (log->n % 16 == 0) {
			struct md_bb *nb = realloc(log->bb, (size_t)(log->n + 16) * sizeof(*nb));
			if (!nb) {
				md_bblog_free(log);
				return ok_err_at(e, -ENOMEM, path, offset, "out of memory");
			}
			log->bb = nb;
		}
		log->bb[log->n].sector = sector;
		log->bb[log->n].len = count;
		log->n++;
	}
	return 0;
}

void md_bblog_free(struct md_bblog *log)
{
	free(log->bb);
	log->bb = NULL;
	log->n = 0;
}

bool md_bblog_hits(const struct md_bblog *log, uint64_t sector, uint64_t n)
{
	for (int i = 0; i < log->n; i++)
		if (log->bb[i].sector < sector + n && sector < log->bb[i].sector + log->bb[i].len)
			return true;
	return false;
}
