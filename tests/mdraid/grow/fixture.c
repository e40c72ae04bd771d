/*
 * fixture.c: see fixture.h. Deliberately simple and slow-but-obvious code:
 * it is the reference the engine is checked against.
 */
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

int fx_tap_n;

void fx_ok(int cond, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("%sok %d - ", cond ? "" : "not ", ++fx_tap_n);
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	fflush(stdout);
}

static void le64(uint8_t *b, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static void le32(uint8_t *b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[i] = (uint8_t)(v >> (8 * i));
}
static uint64_t rd64(const uint8_t *b)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | b[i];
	return v;
}
static uint32_t rd32(const uint8_t *b)
{
	return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* calc_sb_1_csum, written out again */
static uint32_t csum1(const uint8_t *sb)
{
	uint32_t maxdev = rd32(sb + 220);
	unsigned size = 256 + maxdev * 2;
	uint64_t newcsum = 0;
	uint8_t tmp[4096];
	memcpy(tmp, sb, size);
	memset(tmp + 216, 0, 4);
	unsigned i;
	for (i = 0; size - i >= 4; i += 4)
		newcsum += rd32(tmp + i);
	if (size - i == 2)
		newcsum += (uint32_t)tmp[i] | (uint32_t)tmp[i + 1] << 8;
	return (uint32_t)((newcsum & 0xffffffff) + (newcsum >> 32));
}

/* raid5_compute_sector (drivers/md/raid5.c), written out again: RAID5
 * layouts 0-5, RAID6 layouts 0-5 and 16-20 (the "_6" ones: a RAID5 layout
 * over the first disks-1 members, Q on the last). */
int fx_map(int level, int layout, int disks, uint64_t s, int k, int *pd, int *qd)
{
	int p, q = -1, dd = k;
	int rem = (int)(s % (uint64_t)disks);
	if (level == 5) {
		int data_disks = disks - 1;
		switch (layout) {
		case 0: /* ALGORITHM_LEFT_ASYMMETRIC */
			p = disks - 1 - rem;
			if (dd >= p)
				dd++;
			break;
		case 1: /* RIGHT_ASYMMETRIC */
			p = rem;
			if (dd >= p)
				dd++;
			break;
		case 2: /* LEFT_SYMMETRIC */
			p = disks - 1 - rem;
			dd = (p + 1 + dd) % disks;
			break;
		case 3: /* RIGHT_SYMMETRIC */
			p = rem;
			dd = (p + 1 + dd) % disks;
			break;
		case 4: /* PARITY_0 */
			p = 0;
			dd++;
			break;
		default: /* 5: PARITY_N */
			p = data_disks;
			break;
		}
	} else {
		int data_disks = disks - 2, rem1 = (int)(s % (uint64_t)(disks - 1));
		switch (layout) {
		case 0:
			p = disks - 1 - rem;
			q = p + 1;
			if (p == disks - 1) {
				dd++;
				q = 0;
			} else if (dd >= p) {
				dd += 2;
			}
			break;
		case 1:
			p = rem;
			q = p + 1;
			if (p == disks - 1) {
				dd++;
				q = 0;
			} else if (dd >= p) {
				dd += 2;
			}
			break;
		case 2:
			p = disks - 1 - rem;
			q = (p + 1) % disks;
			dd = (p + 2 + dd) % disks;
			break;
		case 3:
			p = rem;
			q = (p + 1) % disks;
			dd = (p + 2 + dd) % disks;
			break;
		case 4: /* PARITY_0 */
			p = 0;
			q = 1;
			dd += 2;
			break;
		case 5: /* PARITY_N */
			p = data_disks;
			q = data_disks + 1;
			break;
		case 16: /* LEFT_ASYMMETRIC_6 */
			p = data_disks - rem1;
			if (dd >= p)
				dd++;
			q = disks - 1;
			break;
		case 17: /* RIGHT_ASYMMETRIC_6 */
			p = rem1;
			if (dd >= p)
				dd++;
			q = disks - 1;
			break;
		case 18: /* LEFT_SYMMETRIC_6 */
			p = data_disks - rem1;
			dd = (p + 1 + dd) % (disks - 1);
			q = disks - 1;
			break;
		case 19: /* RIGHT_SYMMETRIC_6 */
			p = rem1;
			dd = (p + 1 + dd) % (disks - 1);
			q = disks - 1;
			break;
		default: /* 20: PARITY_0_6 */
			p = 0;
			dd++;
			q = disks - 1;
			break;
		}
	}
	*pd = p;
	*qd = q;
	return dd;
}

static uint8_t gfmul2(uint8_t a)
{
	return (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1d : 0));
}

/* P, Q over one stripe held as per-disk chunk buffers: data disks in the
 * kernel's raid6_d0/raid6_next_disk order from Q+1. */
static void ref_pq(int disks, int p, int q, uint8_t **chunk, uint64_t len, uint8_t *P, uint8_t *Q)
{
	int order[64], nd = 0;
	for (int i = 0; i < disks; i++) {
		int d = q >= 0 ? (q + 1 + i) % disks : i;
		if (d != p && d != q)
			order[nd++] = d;
	}
	/* eight bytes at a time: y = y*{02} ^ v per byte, with the carry bits
	 * turned into 0x1d by multiplication (not the engine's mask trick) */
	const uint64_t ones = 0x0101010101010101ull;
	for (uint64_t b = 0; b + 8 <= len; b += 8) {
		uint64_t x = 0, y = 0, v;
		for (int j = nd - 1; j >= 0; j--) {
			memcpy(&v, chunk[order[j]] + b, 8);
			uint64_t carry = (y >> 7) & ones;
			y = ((y & ~(ones * 0x80)) << 1) ^ (carry * 0x1d) ^ v;
			x ^= v;
		}
		memcpy(P + b, &x, 8);
		if (Q)
			memcpy(Q + b, &y, 8);
	}
	(void)gfmul2;
}

void fx_pq(int disks, int p, int q, uint8_t **chunk, uint64_t len, uint8_t *P, uint8_t *Q)
{
	ref_pq(disks, p, q, chunk, len, P, Q);
}

void fx_chunk(uint32_t seed, uint64_t c, uint8_t *buf, uint64_t chunk_bytes)
{
	uint64_t x = (uint64_t)seed * 0x9e3779b97f4a7c15ull ^ (c + 1) * 0xbf58476d1ce4e5b9ull;
	for (uint64_t i = 0; i < chunk_bytes; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
}

int fx_blank(const char *path, uint64_t bytes, uint32_t seed)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return -errno;
	uint8_t *b = malloc(1 << 20);
	for (uint64_t off = 0; off < bytes; off += 1 << 20) {
		uint64_t n = bytes - off < (1u << 20) ? bytes - off : 1u << 20;
		fx_chunk(seed ^ 0xabcdef, off >> 20, b, 1 << 20);
		if (pwrite(fd, b, n, (off_t)off) != (ssize_t)n) {
			free(b);
			close(fd);
			return -EIO;
		}
	}
	free(b);
	close(fd);
	return 0;
}

/* calc_sb_csum of md 0.90 (md.c), written out again: 32-bit sum of the
 * 1024 words with sb_csum (word 38) as zero, the carries added back once. */
static uint32_t csum0(const uint8_t *sb)
{
	uint64_t sum = 0;
	for (unsigned i = 0; i < 4096; i += 4)
		sum += i == 152 ? 0 : rd32(sb + i);
	return (uint32_t)((sum & 0xffffffff) + (sum >> 32));
}

/* minor 90: metadata 0.90, at the size rounded down to 64 KiB less 64 KiB */
static uint64_t sb_loc(int minor, uint64_t sectors)
{
	if (minor == 90)
		return (sectors & ~(uint64_t)127) - 128;
	return minor == 2 ? 8 : minor == 1 ? 0 : ((sectors - 16) & ~(uint64_t)7);
}

/* bitmap_super_t (md-bitmap.h) of a clean array: 64 KiB chunks, events 20. */
static void bitmap_write_super(const struct fx_array *a, const uint8_t *uuid, uint8_t *b)
{
	memset(b, 0, 4096);
	le32(b + 0, 0x6d746962); /* "bitm" */
	le32(b + 4, 4);		 /* version */
	memcpy(b + 8, uuid, 16);
	le64(b + 24, 20); /* events */
	le64(b + 32, 20); /* events_cleared */
	le64(b + 40, a->size);
	le32(b + 52, 65536); /* chunksize */
	le32(b + 56, 5);     /* daemon_sleep */
}

/* The 0.90 superblock (mdp_super_t, md_p.h) of member i of a clean array,
 * as mdadm 4.2's init_super0 + the kernel's super_90_sync leave it. */
static void sb0_write(const struct fx_array *a, int i, uint8_t *sb)
{
	memset(sb, 0, 4096);
	le32(sb + 0, 0xa92b4efc);			  /* md_magic */
	le32(sb + 8, 90);				  /* minor_version */
	le32(sb + 20, 0x01020304u * (a->seed % 251 + 1)); /* set_uuid0 */
	le32(sb + 24, 1700000000);			  /* ctime */
	le32(sb + 28, (uint32_t)a->level);
	le32(sb + 32, (uint32_t)(a->size / 2)); /* KiB */
	le32(sb + 36, (uint32_t)a->n);		/* nr_disks */
	le32(sb + 40, (uint32_t)a->n);		/* raid_disks */
	for (int j = 0; j < 3; j++)		/* set_uuid1..3 */
		le32(sb + 52 + 4 * j, a->seed * 2654435761u + (uint32_t)j);
	le32(sb + 128, 1700000000);		    /* utime */
	le32(sb + 132, a->bitmap ? 1 | 1 << 8 : 1); /* MD_SB_CLEAN, MD_SB_BITMAP_PRESENT */
	le32(sb + 136, (uint32_t)a->n);
	le32(sb + 140, (uint32_t)a->n);
	le32(sb + 156, 20);	     /* events_lo */
	le32(sb + 164, 20);	     /* cp_events_lo */
	le32(sb + 172, 0xffffffffu); /* recovery_cp: MaxSector, truncated */
	le32(sb + 256, (uint32_t)a->layout);
	le32(sb + 260, a->chunk * 512); /* bytes */
	for (int j = 0; j < a->n; j++) {
		uint8_t *d = sb + 512 + 128 * j;
		le32(d + 0, (uint32_t)j);  /* number */
		le32(d + 12, (uint32_t)j); /* raid_disk */
		le32(d + 16, 6);	   /* ACTIVE | SYNC */
	}
	memcpy(sb + 3968, sb + 512 + 128 * i, 128); /* this_disk */
	le32(sb + 152, csum0(sb));
}

int fx_create(struct fx_array *a, char **paths)
{
	uint64_t sectors = a->dev_bytes / 512;
	uint64_t so = sb_loc(a->minor, sectors);
	uint64_t doff = a->minor == 0 || a->minor == 90 ? 0 : a->data_offset;
	uint64_t dsize = a->minor == 90 ? so : a->minor == 0 ? so - 16 : sectors - doff;
	if (a->bitmap && (a->minor == 0 || (a->minor != 90 && doff < so + 16)))
		return -EINVAL; /* no room for the bitmap in this fixture */
	if (a->tail >= dsize)
		return -EINVAL;
	a->size = (dsize - a->tail) / a->chunk * a->chunk;
	uint64_t cb = (uint64_t)a->chunk * 512, rows = a->size / a->chunk;
	int par = a->level == 6 ? 2 : 1, nd = a->n - par;
	int fds[64];
	for (int i = 0; i < a->n; i++) {
		fds[i] = open(paths[i], O_RDWR | O_CREAT | O_TRUNC, 0644);
		if (fds[i] < 0 || ftruncate(fds[i], (off_t)a->dev_bytes) < 0)
			return -errno;
	}
	uint8_t *buf[64];
	for (int i = 0; i < a->n; i++)
		buf[i] = malloc(cb);
	for (uint64_t s = 0; s < rows; s++) {
		int p = 0, q = -1;
		for (int k = 0; k < nd; k++) {
			int d = fx_map(a->level, a->layout, a->n, s, k, &p, &q);
			fx_chunk(a->seed, s * (uint64_t)nd + (uint64_t)k, buf[d], cb);
		}
		ref_pq(a->n, p, q, buf, cb, buf[p], q >= 0 ? buf[q] : NULL);
		for (int i = 0; i < a->n; i++)
			if (pwrite(fds[i], buf[i], cb, (off_t)((doff + s * a->chunk) * 512)) !=
			    (ssize_t)cb)
				return -EIO;
	}
	uint8_t sb[4096];
	for (int i = 0; i < a->n; i++) {
		if (a->minor == 90) {
			sb0_write(a, i, sb);
			if (a->bitmap) {
				uint8_t u[16], bm[4096];
				memcpy(u, sb + 20, 4);
				memcpy(u + 4, sb + 52, 12);
				bitmap_write_super(a, u, bm);
				if (pwrite(fds[i], bm, 4096, (off_t)((so + 8) * 512)) != 4096)
					return -EIO;
			}
			goto write;
		}
		memset(sb, 0, sizeof sb);
		le32(sb, 0xa92b4efc);
		le32(sb + 4, 1);
		for (int j = 0; j < 16; j++)
			sb[16 + j] = (uint8_t)(a->seed * 7 + j * 13 + 1);
		snprintf((char *)sb + 32, 32, "fixture:%u", a->seed % 100);
		le64(sb + 64, 1700000000);
		le32(sb + 72, (uint32_t)a->level);
		le32(sb + 76, (uint32_t)a->layout);
		le64(sb + 80, a->size);
		le32(sb + 88, a->chunk);
		le32(sb + 92, (uint32_t)a->n);
		le64(sb + 128, doff);
		le64(sb + 136, dsize);
		le64(sb + 144, so);
		le32(sb + 160, (uint32_t)i);
		for (int j = 0; j < 16; j++)
			sb[168 + j] = (uint8_t)(i * 31 + j);
		sb[186] = 8; /* bblog_size 8 */
		le32(sb + 188, a->minor == 0 ? (uint32_t)-8 : 16);
		le64(sb + 192, 1700000000);
		le64(sb + 200, 20);
		le64(sb + 208, UINT64_MAX);
		le32(sb + 220, 128);
		for (int j = 0; j < 128; j++) {
			uint16_t role = j < a->n ? (uint16_t)j : 0xffff;
			sb[256 + 2 * j] = (uint8_t)role;
			sb[257 + 2 * j] = (uint8_t)(role >> 8);
		}
		if (a->bitmap) {
			uint8_t bm[4096];
			le32(sb + 8, 1);  /* MD_FEATURE_BITMAP_OFFSET */
			le32(sb + 96, 8); /* bitmap_offset: 4 KiB after the sb */
			bitmap_write_super(a, sb + 16, bm);
			if (pwrite(fds[i], bm, 4096, (off_t)((so + 8) * 512)) != 4096)
				return -EIO;
		}
		le32(sb + 216, csum1(sb));
	write:
		if (pwrite(fds[i], sb, 4096, (off_t)(so * 512)) != 4096)
			return -EIO;
		close(fds[i]);
		free(buf[i]);
	}
	return 0;
}

/* A 0.90 block in the fields of fx_sb, as super_90_validate reads it:
 * minor 91 with a reshape_position is RESHAPE_ACTIVE, the disk table's
 * active (minor 91) or in-sync entries give the roles. */
/* The bitmap superblock in bm (4 KiB after the sb here): sound when its
 * magic and the array's uuid are there; then its event count. */
static void bitmap_read(const uint8_t *bm, const uint8_t *uuid, struct fx_sb *o)
{
	o->bm_ok = rd32(bm) == 0x6d746962 && memcmp(bm + 8, uuid, 16) == 0;
	o->bm_events = rd64(bm + 24);
}

static int sb0_read(const uint8_t *sb, const uint8_t *bm, uint64_t so, struct fx_sb *o)
{
	if (rd32(sb + 4) != 0)
		return -EINVAL;
	uint32_t mv = rd32(sb + 8);
	o->minor90 = mv;
	o->level = (int32_t)rd32(sb + 28);
	o->layout = (int32_t)rd32(sb + 256);
	o->new_layout = o->layout;
	o->size = (uint64_t)rd32(sb + 32) * 2;
	o->chunk = rd32(sb + 260) >> 9;
	o->raid_disks = rd32(sb + 40);
	if (mv >= 91 && rd64(sb + 176) != UINT64_MAX) {
		o->feature = 4;
		o->reshape_pos = rd64(sb + 176);
		o->delta = (int32_t)rd32(sb + 188);
	}
	o->data_offset = 0;
	o->data_size = so;
	o->super_offset = so;
	o->dev_number = rd32(sb + 3968);
	o->utime = rd32(sb + 128);
	o->events = (uint64_t)rd32(sb + 160) << 32 | rd32(sb + 156);
	o->resync = (rd32(sb + 132) & 1) ? UINT64_MAX : 0;
	o->max_dev = 27;
	o->csum_ok = rd32(sb + 152) == csum0(sb);
	if (rd32(sb + 132) & 1 << 8) { /* the bitmap: 4 KiB after the sb */
		uint8_t u[16];
		memcpy(u, sb + 20, 4);
		memcpy(u + 4, sb + 52, 12);
		bitmap_read(bm, u, o);
	}
	for (int j = 0; j < 27; j++) {
		uint32_t st = rd32(sb + 512 + 128 * j + 16), rdk = rd32(sb + 512 + 128 * j + 12);
		o->roles[j] = (st & 1)				   ? 0xfffe
			      : (st & 4) || ((st & 2) && mv >= 91) ? (uint16_t)rdk
								   : 0xffff;
	}
	return 0;
}

int fx_read_sb(const char *path, int minor, struct fx_sb *o)
{
	uint8_t sb[4096], bm[4096];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -errno;
	off_t sz = lseek(fd, 0, SEEK_END);
	uint64_t so = sb_loc(minor, (uint64_t)sz / 512);
	ssize_t n = pread(fd, sb, 4096, (off_t)(so * 512));
	if (pread(fd, bm, 4096, (off_t)((so + 8) * 512)) != 4096)
		memset(bm, 0, sizeof bm);
	close(fd);
	if (n != 4096 || rd32(sb) != 0xa92b4efc)
		return -EINVAL;
	memset(o, 0, sizeof *o);
	if (minor == 90)
		return sb0_read(sb, bm, so, o);
	o->feature = rd32(sb + 8);
	o->level = (int32_t)rd32(sb + 72);
	o->layout = (int32_t)rd32(sb + 76);
	o->size = rd64(sb + 80);
	o->chunk = rd32(sb + 88);
	o->new_chunk = rd32(sb + 120);
	o->new_layout = (int32_t)rd32(sb + 116);
	o->raid_disks = rd32(sb + 92);
	o->reshape_pos = rd64(sb + 104);
	o->delta = (int32_t)rd32(sb + 112);
	o->new_offset = (int32_t)rd32(sb + 124);
	o->data_offset = rd64(sb + 128);
	o->data_size = rd64(sb + 136);
	o->super_offset = rd64(sb + 144);
	o->dev_number = rd32(sb + 160);
	o->utime = rd64(sb + 192);
	o->events = rd64(sb + 200);
	o->resync = rd64(sb + 208);
	o->max_dev = rd32(sb + 220);
	o->csum_ok = rd32(sb + 216) == csum1(sb);
	if ((o->feature & 1) && rd32(sb + 96) == 8) /* the fixture's bitmap place */
		bitmap_read(bm, sb + 16, o);
	for (int j = 0; j < 64 && j < (int)o->max_dev; j++)
		o->roles[j] = (uint16_t)(sb[256 + 2 * j] | sb[257 + 2 * j] << 8);
	return 0;
}

/* The original content of array sectors [at, at + len) (whole 512-byte
 * sectors) made of a->chunk-sized content chunks, zeros from old_end on. */
void fx_content(const struct fx_array *a, uint64_t old_end, uint64_t at, uint64_t len, uint8_t *out)
{
	uint64_t cc = a->chunk;
	uint8_t *tmp = malloc(cc * 512);
	while (len) {
		uint64_t c = at / cc, in = at % cc, n = cc - in < len ? cc - in : len;
		if (at >= old_end)
			memset(out, 0, n * 512);
		else {
			fx_chunk(a->seed, c, tmp, cc * 512);
			memcpy(out, tmp + in * 512, n * 512);
		}
		out += n * 512, at += n, len -= n;
	}
	free(tmp);
}

/* fx_verify, and fx_verify_rows with sbs 0 (superblocks left to the
 * caller) or 2 (a grown component size: size and data_size checked too). */
static int verify(const struct fx_array *a, int n_new, char **paths, uint64_t pq_rows, int sbs,
		  char *msg, unsigned msglen)
{
	int par = a->level == 6 ? 2 : 1, ond = a->n - par, nd = n_new - par;
	/* the chunk after the reshape is the superblocks' (a chunk change);
	 * the content is laid out in a->chunk pieces */
	uint32_t nc = a->chunk;
	for (int i = 0; i < n_new; i++) {
		struct fx_sb t;
		if (strcmp(paths[i], "missing") && fx_read_sb(paths[i], a->minor, &t) == 0 &&
		    t.chunk) {
			nc = t.chunk;
			break;
		}
	}
	uint64_t cb = (uint64_t)nc * 512, rows = pq_rows ? pq_rows : a->size / nc;
	uint64_t data_rows = a->size / nc;
	uint64_t old_end = a->size / a->chunk * (uint64_t)ond * a->chunk;
	struct fx_sb sb, sb0 = {0};
	int fds[64], rc = -1;
	uint8_t *buf[64], *want = malloc(cb), *P = malloc(cb), *Q = malloc(cb);
	for (int i = 0; i < n_new; i++) {
		fds[i] = -1;
		buf[i] = malloc(cb);
	}
	int missing[64] = {0}, first = 0;
	for (int i = 0; i < n_new; i++)
		missing[i] = !strcmp(paths[i], "missing");
	while (first < n_new && missing[first])
		first++;
	for (int i = 0; i < n_new; i++) {
		if (missing[i])
			continue; /* degraded: checked through parity below */
		if (fx_read_sb(paths[i], a->minor, &sb) < 0) {
			snprintf(msg, msglen, "%s: no superblock", paths[i]);
			goto out;
		}
		if (i == first)
			sb0 = sb;
		if (sbs == 2) {
			struct stat st;
			if (stat(paths[i], &st) < 0 || !sb.csum_ok || sb.feature & (4 | 64) ||
			    sb.size != rows * nc || sb.resync != UINT64_MAX ||
			    sb.events != sb0.events ||
			    sb.data_size != (uint64_t)st.st_size / 512 - sb.data_offset) {
				snprintf(
				    msg, msglen,
				    "%s: superblock: csum_ok %u feature 0x%x size %llu (want "
				    "%llu) data_size %llu resync %llx events %llu/%llu",
				    paths[i], sb.csum_ok, sb.feature, (unsigned long long)sb.size,
				    (unsigned long long)(rows * nc),
				    (unsigned long long)sb.data_size, (unsigned long long)sb.resync,
				    (unsigned long long)sb.events, (unsigned long long)sb0.events);
				goto out;
			}
		}
		if (sbs == 1 && a->bitmap && (!sb.bm_ok || sb.bm_events < sb.events)) {
			snprintf(msg, msglen,
				 "%s: bitmap %s (events %llu, the superblock's %llu): the "
				 "kernel would resync everything",
				 paths[i], sb.bm_ok ? "older than the superblock" : "missing",
				 (unsigned long long)sb.bm_events, (unsigned long long)sb.events);
			goto out;
		}
		if (sbs == 1 &&
		    (!sb.csum_ok || (sb.feature & (4 | 64)) || sb.raid_disks != (uint32_t)n_new ||
		     sb.chunk != nc || sb.data_offset != sb0.data_offset || sb.size != a->size ||
		     sb.resync != UINT64_MAX || sb.events != sb0.events ||
		     sb.roles[sb.dev_number] != i)) {
			snprintf(msg, msglen,
				 "%s: superblock: csum_ok %u feature 0x%x raid_disks %u doff %llu "
				 "(member0 %llu) size %llu resync %llx events %llu/%llu role %u",
				 paths[i], sb.csum_ok, sb.feature, sb.raid_disks,
				 (unsigned long long)sb.data_offset,
				 (unsigned long long)sb0.data_offset, (unsigned long long)sb.size,
				 (unsigned long long)sb.resync, (unsigned long long)sb.events,
				 (unsigned long long)sb0.events, sb.roles[sb.dev_number]);
			goto out;
		}
		if ((fds[i] = open(paths[i], O_RDONLY)) < 0)
			goto out;
	}
	/* rows are read BATCH at a time per member: few, large reads, into
	 * buffers kept from call to call (the crash replay verifies thousands
	 * of states; fresh ones cost more in page faults than the reads) */
	enum { BATCH = 64 };
	static uint8_t *blk[64];
	static uint64_t blk_len;
	uint8_t *row[64];
	if (blk_len < cb * BATCH) {
		for (int i = 0; i < 64; i++) {
			free(blk[i]);
			blk[i] = NULL;
		}
		blk_len = cb * BATCH;
	}
	for (int i = 0; i < n_new; i++)
		if (!blk[i] && !(blk[i] = malloc(blk_len))) {
			snprintf(msg, msglen, "out of memory");
			goto out;
		}
	for (uint64_t s0 = 0; s0 < rows; s0 += BATCH) {
		uint64_t nb = rows - s0 < BATCH ? rows - s0 : BATCH;
		for (int i = 0; i < n_new; i++)
			if (!missing[i] && pread(fds[i], blk[i], cb * nb,
						 (off_t)((sb0.data_offset + s0 * nc) * 512)) !=
					       (ssize_t)(cb * nb)) {
				snprintf(msg, msglen, "%s: short read", paths[i]);
				goto outb;
			}
		for (uint64_t s = s0; s < s0 + nb; s++) {
			for (int i = 0; i < n_new; i++)
				row[i] = blk[i] + (s - s0) * cb;
			int p = 0, q = -1;
			for (int k = 0; k < nd; k++) {
				uint64_t c = s * (uint64_t)nd + (uint64_t)k;
				int d = fx_map(a->level, a->layout, n_new, s, k, &p, &q);
				if (s >= data_rows)
					continue; /* added space: any data, P/Q checked */
				fx_content(a, old_end, c * nc, nc, want);
				if (missing[d])
					memcpy(row[d], want, cb);
				if (memcmp(want, row[d], cb)) {
					snprintf(msg, msglen,
						 "row %llu data %d (chunk %llu) on %s differs",
						 (unsigned long long)s, k, (unsigned long long)c,
						 paths[d]);
					goto outb;
				}
			}
			ref_pq(n_new, p, q, row, cb, P, q >= 0 ? Q : NULL);
			if ((!missing[p] && memcmp(P, row[p], cb)) ||
			    (q >= 0 && !missing[q] && memcmp(Q, row[q], cb))) {
				snprintf(msg, msglen, "row %llu: %s mismatch",
					 (unsigned long long)s, memcmp(P, row[p], cb) ? "P" : "Q");
				goto outb;
			}
		}
	}
	rc = 0;
outb:
out:
	for (int i = 0; i < n_new; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		free(buf[i]);
	}
	free(want);
	free(P);
	free(Q);
	return rc;
}

int fx_verify(const struct fx_array *a, int n_new, char **paths, char *msg, unsigned msglen)
{
	return verify(a, n_new, paths, 0, 1, msg, msglen);
}

int fx_verify_rows(const struct fx_array *a, char **paths, uint64_t rows, int grown, char *msg,
		   unsigned msglen)
{
	return verify(a, a->n, paths, rows, grown ? 2 : 0, msg, msglen);
}

int fx_sb_patch(const char *path, int minor, unsigned off, unsigned size, uint64_t value)
{
	uint8_t sb[4096];
	int fd = open(path, O_RDWR);
	if (fd < 0)
		return -errno;
	off_t sz = lseek(fd, 0, SEEK_END);
	uint64_t so = sb_loc(minor, (uint64_t)sz / 512);
	if (pread(fd, sb, 4096, (off_t)(so * 512)) != 4096) {
		close(fd);
		return -EIO;
	}
	if (size == 8)
		le64(sb + off, value);
	else if (size == 4)
		le32(sb + off, (uint32_t)value);
	else
		sb[off] = (uint8_t)value, sb[off + 1] = (uint8_t)(value >> 8);
	if (minor == 90)
		le32(sb + 152, csum0(sb));
	else
		le32(sb + 216, csum1(sb));
	int rc = pwrite(fd, sb, 4096, (off_t)(so * 512)) == 4096 ? 0 : -EIO;
	close(fd);
	return rc;
}
