/*
 * fixture.h: md arrays on image files for the grow tests, built and checked
 * by code that shares nothing with mdraid/reshape.c: its own superblock
 * writer (md_p.h's layout, checked against `mdadm --examine` in test_grow.sh), its
 * own stripe mapping written after the kernel's raid5_compute_sector, and a
 * byte-at-a-time GF(2^8) syndrome.
 *
 * The array's content is a function of (seed, chunk number), so a check
 * needs no copy of the data: after a grow, every data chunk must equal
 * fx_chunk() (zeros past the old end) and every P and Q must match.
 */
#ifndef GROW_FIXTURE_H
#define GROW_FIXTURE_H

#include <stdint.h>

struct fx_array {
	int n;		      /* members */
	int level;	      /* 5 or 6 */
	int layout;	      /* 0..3 */
	int minor;	      /* metadata 1.minor, or 90 for 0.90 */
	uint32_t chunk;	      /* sectors */
	uint64_t dev_bytes;   /* each member file */
	uint64_t data_offset; /* sectors (1.1/1.2); 0 for 1.0 */
	uint32_t seed;
	int bitmap;    /* internal bitmap (v1.1/1.2: 4 KiB after the sb; 0.90 likewise) */
	uint64_t size; /* sb size (set by fx_create) */
	uint64_t tail; /* sectors of data_size left unused after size (room a shrink's
			* data_offset moves up into); 0: size = data_size rounded */
};

/* Create members path[0..n-1]: superblocks plus content and parity. */
int fx_create(struct fx_array *a, char **paths);

/* Create a blank new member file of bytes (random garbage, no magic). */
int fx_blank(const char *path, uint64_t bytes, uint32_t seed);

/* The content of array sectors [at, at + len) of array a (laid out in
 * a->chunk pieces; zeros from sector old_end on), whatever the chunk the
 * array has now. */
void fx_content(const struct fx_array *a, uint64_t old_end, uint64_t at, uint64_t len,
		uint8_t *out);

/* Fill buf (chunk bytes) with the content of array chunk c. */
void fx_chunk(uint32_t seed, uint64_t c, uint8_t *buf, uint64_t chunk_bytes);

/*
 * Check a finished grow: every member's superblock (valid checksum, no
 * reshape bits, raid_disks n_new, same data_offset, roles), then every row:
 * data = content (old_array sectors of it, zeros after), P/Q right.
 * paths in slot order of the new array. Returns 0 or -1 with msg filled.
 */
int fx_verify(const struct fx_array *old, int n_new, char **paths, char *msg, unsigned msglen);

/*
 * After a component size change (mdraid grow --size) of a (members
 * enlarged, a->size the size before): rows [0, rows) of chunk a->chunk have
 * P/Q right, and those below a->size hold the content. grown: every
 * superblock also says size rows·chunk, clean, data_size = the member's
 * room after data_offset, one event count; 0: superblocks not checked (a
 * crash state; the caller judges them). 0 or -1 with msg filled.
 */
int fx_verify_rows(const struct fx_array *a, char **paths, uint64_t rows, int grown, char *msg,
		   unsigned msglen);

/* Superblock field readers for tests (the 4 KiB block at the sb). */
struct fx_sb {
	uint32_t feature, raid_disks, chunk, new_chunk, max_dev, csum_ok;
	int32_t delta, new_offset, level, layout, new_layout;
	uint64_t size, reshape_pos, data_offset, data_size, super_offset, events, utime, resync,
	    dev_number;
	uint16_t roles[64];
	int bm_ok;	    /* a bitmap is recorded and its superblock is sound (magic, uuid) */
	uint64_t bm_events; /* its event count */
	uint32_t minor90;   /* 0.90: minor_version (90, or 91 while reshaping) */
};
int fx_read_sb(const char *path, int minor, struct fx_sb *sb);

/* Set a superblock field (size 2, 4 or 8 bytes at byte off) and fix the
 * checksum, to build states the tests need (dirty, bitmap, ...). */
int fx_sb_patch(const char *path, int minor, unsigned off, unsigned size, uint64_t value);

/* One TAP case: "ok N - ..." or "not ok N - ..."; fx_tap_n counts them. */
extern int fx_tap_n;
void fx_ok(int cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* P and Q (Q when q >= 0) of one stripe given per-member chunk buffers
 * (P's and Q's own entries are not read). */
void fx_pq(int disks, int p, int q, uint8_t **chunk, uint64_t len, uint8_t *P, uint8_t *Q);

/* Reference mapping: the member of data block k of stripe s; P and Q. */
int fx_map(int level, int layout, int disks, uint64_t s, int k, int *pd, int *qd);

#endif
