/*
 * overlay.h: a copy-on-write overlay over an md array (overlay.c), the
 * linux-raid wiki's "overlay before you experiment" procedure built in: the
 * array is opened read-only (nothing on the members changes, not even a
 * superblock), every write goes to one sparse file DIR/mdraid-overlay.cow,
 * and reads take the overlay's blocks where it has them. `mdraid overlay
 * commit` later writes those blocks into the array as ordinary array
 * writes (bitmap, events and clean/active as every write), `discard` drops
 * the file.
 *
 * The file (all integers little-endian):
 *   [0, 4096)        header: magic "MDRAIDOV", version 1, block_bytes,
 *                    array_bytes, the array uuid and the events of the
 *                    members it was made over, state (0 open, 1 a commit
 *                    began), data_off; every field checked on open
 *   [4096, data_off) the map: one bit per block, set = the overlay holds it
 *   [data_off, ...)  block i at data_off + i * block_bytes (sparse)
 *
 * Crash rules (what a killed server leaves): a block's data is written
 * before its map bit, and the map is written only by md_overlay_sync (an
 * NBD flush) after an fdatasync of the data; a block mapped once is
 * overwritten in place. So every flushed write survives, an unflushed one
 * may be lost or partly there (as on a disk), and the map never names a
 * block whose data was not written. A commit is replayed whole if cut: the
 * file stays until every block is on the members and synced.
 *
 * Invariants: bits holds nblocks bits, a bit set only after its block's data
 * was written to fd; page_dirty names the 4 KiB pages of bits that changed
 * since the last map write.
 */
#ifndef MDRAID_OVERLAY_H
#define MDRAID_OVERLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "mdraid.h"

#define MD_OVERLAY_FILE	 "mdraid-overlay.cow"
#define MD_OVERLAY_BLOCK (64u << 10) /* bytes per overlay block */

struct md_overlay {
	int fd;		      /* the .cow file, -1 when closed */
	char path[4096];      /* DIR/mdraid-overlay.cow */
	uint64_t array_bytes; /* the array's size when it was made */
	uint64_t nblocks;     /* ceil(array_bytes / MD_OVERLAY_BLOCK) */
	uint64_t data_off;    /* file byte of block 0 */
	uint64_t events;      /* members' events when it was made */
	uint8_t uuid[16];     /* the array's uuid */
	uint32_t state;	      /* 0 open, 1 a commit began */
	uint8_t *bits;	      /* the map, map_bytes long */
	size_t map_bytes;     /* rounded up to 4 KiB pages */
	uint8_t *page_dirty;  /* one byte per map page: changed since written */
	bool dirty;	      /* some page_dirty set */
	uint8_t *block;	      /* one block of scratch for partial writes */
	uint64_t mapped;      /* blocks with their bit set */
};

/*
 * Open DIR/mdraid-overlay.cow over array a (opened read-only by the
 * caller), or create it (DIR must exist) when there is none and create is
 * true. An existing file must be an overlay of this array (uuid, size) at
 * the members' events now; one whose commit began is refused (finish it
 * with md_overlay_commit). 0, -ENOENT (none and !create), -EINVAL (not an
 * overlay, another array, the members changed since), -errno; e says which.
 */
int md_overlay_open(struct md_overlay *ov, const char *dir, const struct md_array *a, bool create,
		    struct ok_err *e);
/* len bytes at array byte off: overlay blocks where mapped, the array
 * elsewhere. 0 or -errno with e. */
int md_overlay_read(struct md_overlay *ov, struct md_array *a, uint64_t off, void *buf, size_t len,
		    struct ok_err *e);
/* Write into the overlay (a block first written partly is filled from the
 * array). The map bit is set in memory; md_overlay_sync makes it durable. */
int md_overlay_write(struct md_overlay *ov, struct md_array *a, uint64_t off, const void *buf,
		     size_t len, struct ok_err *e);
/* fdatasync the data, write the changed map pages, fdatasync again: every
 * write so far survives a crash. */
int md_overlay_sync(struct md_overlay *ov, struct ok_err *e);
/* md_overlay_sync, then close and free; safe to repeat. */
int md_overlay_close(struct md_overlay *ov, struct ok_err *e);

/*
 * Write the overlay in DIR into array a (opened with MD_OPEN_WRITE): the
 * header's state becomes "commit began" (synced), every mapped block is
 * written with md_array_write, the array synced and marked clean, then the
 * file removed. A cut commit is run again whole (the members' events may
 * then be ahead of the overlay's); until then the members are active, so md
 * resyncs them (bitmap regions) rather than trust them. *blocks gets the
 * number of blocks written.
 */
int md_overlay_commit(const char *dir, struct md_array *a, uint64_t *blocks, struct ok_err *e);
/* Remove DIR/mdraid-overlay.cow after checking that it is an overlay; one
 * whose commit began is refused (-EBUSY): the members hold part of it. */
int md_overlay_discard(const char *dir, struct ok_err *e);

#endif
