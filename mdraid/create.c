/*
 * create.c: `mdadm --create` for RAID5/6 with metadata 1.x, as mdadm 4.2
 * computes it (super1.c init_super1, validate_geometry1, write_init_super1,
 * add_internal_bitmap1, write_bitmap1; Create.c size rounding and the
 * automatic bitmap), so that the superblocks equal mdadm's byte for byte
 * except uuids, times, events and checksum. Unlike mdadm, which lets the
 * kernel resync, create writes P/Q itself unless --assume-clean.
 */
#include "mdraid_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "hash.h"
#include "io.h"
#include "super0.h"

uint64_t md_choose_bm_space(uint64_t devsize)
{
	if (devsize < 64 * 2)
		return 0;
	if (devsize - 64 * 2 >= 200ULL * 1024 * 1024 * 2)
		return 128 * 2;
	if (devsize - 4 * 2 > 8ULL * 1024 * 1024 * 2)
		return 64 * 2;
	return 4 * 2;
}

/* add_internal_bitmap0: the bitmap follows the 0.90 superblock and may use
 * at most 60 KiB (the rest of the 64 KiB reserved area), header included;
 * the chunk doubles from 4 KiB until the bits fit, and is at least 64 MiB. */
static uint32_t plan_bitmap0(uint64_t size)
{
	uint64_t max_bits = (60 * 1024 - 256) * 8;
	uint64_t min_chunk = 4096, bits = size * 512 / min_chunk + 1;
	while (bits > max_bits) {
		min_chunk *= 2;
		bits = (bits + 1) / 2;
	}
	return (uint32_t)(min_chunk < 64 * 1024 * 1024 ? 64 * 1024 * 1024 : min_chunk);
}

/* add_internal_bitmap1 while creating: bitmap chunk and offset. */
static void plan_bitmap(int minor, uint64_t size, uint32_t *chunk_bytes, int32_t *offset)
{
	uint64_t room = md_choose_bm_space(size); /* + bbl 8 - bbl 8 */
	if (room > 128 * 2)
		room = 128 * 2;
	uint64_t max_bits = (room * 512 - 256) * 8;
	uint64_t min_chunk = 4096, bits = size * 512 / min_chunk + 1;
	while (bits > max_bits) {
		min_chunk *= 2;
		bits = (bits + 1) / 2;
	}
	uint64_t chunk = min_chunk < 64 * 1024 * 1024 ? 64 * 1024 * 1024 : min_chunk;
	*chunk_bytes = (uint32_t)chunk;
	if (minor == 0) {
		bits = size * 512 / chunk + 1;
		uint64_t r = ((bits + 7) / 8 + 256 + 4095) / 4096 * 8;
		*offset = -(int32_t)r - 8;
	} else {
		*offset = 8;
	}
}

struct cmember {
	const char *path;
	int fd;
	uint64_t sectors;
};

static int open_for_create(struct cmember *c, const struct md_create_opts *o, struct ok_err *e)
{
	struct stat st;
	if (stat(c->path, &st) < 0)
		return ok_err_at(e, -errno, c->path, OK_ERR_NOPOS, "cannot open");
	int flags = O_RDWR | O_CLOEXEC | (S_ISBLK(st.st_mode) ? O_EXCL : 0);
	if (!S_ISBLK(st.st_mode) && !S_ISREG(st.st_mode))
		return ok_err_at(e, -EINVAL, c->path, OK_ERR_NOPOS,
				 "not a regular file or block device");
	c->fd = open(c->path, flags);
	if (c->fd < 0)
		return ok_err_at(e, errno == EBUSY ? -EBUSY : -errno, c->path, OK_ERR_NOPOS,
				 errno == EBUSY ? "in use by the kernel or another program"
						: "cannot open");
	if (flock(c->fd, LOCK_EX | LOCK_NB) < 0)
		return ok_err_at(e, -EBUSY, c->path, OK_ERR_NOPOS, "locked by another program");
	int rc;
	if (!o->no_safety && (rc = md_safety_check(c->path, c->fd, e)) < 0)
		return rc;
	int64_t size = io_size(c->fd);
	if (size < 0)
		return ok_err_at(e, (int)size, c->path, OK_ERR_NOPOS, "cannot get the size");
	c->sectors = (uint64_t)size / 512;
	if (c->sectors < 24)
		return ok_errc_at(e, OK_CLASS_REFUSED, -ENOSPC, c->path, OK_ERR_NOPOS,
				  "is too small for md: size is %llu sectors",
				  (unsigned long long)c->sectors);
	if (!o->force) {
		struct md_sb old;
		struct ok_err ign;
		int r = md_sb_read(c->fd, c->path, -1, &old, &ign);
		if (r == 0 || r == -EPROTONOSUPPORT) {
			char u[40] = "?";
			if (r == 0)
				md_uuid_str(u, old.set_uuid);
			return ok_err_at(
			    e, -EPERM, c->path, OK_ERR_NOPOS,
			    "appears to be part of a raid array (%s%s): use --force to "
			    "overwrite it",
			    r == 0 ? "uuid " : "metadata 0.90", r == 0 ? u : "");
		}
	}
	return 0;
}

int md_create(const struct md_create_opts *o, int n, char **paths, struct ok_err *e)
{
	int level = o->level ? o->level : 6;
	uint32_t chunk_kib = o->chunk_kib ? o->chunk_kib : 512;
	int minor = o->minor;
	int rc = 0;
	struct md_geom g = {level, o->layout, o->raid_disks, chunk_kib * 2, 0};
	if (o->raid_disks + o->spare_disks != n)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
				 "%d members given, --raid-devices is %d and --spare-devices %d", n,
				 o->raid_disks, o->spare_disks);
	if ((rc = md_geom_check(&g, NULL, e)) < 0)
		return rc;
	bool v090 = minor == 90; /* metadata 0.90: super0.c */
	if ((minor < 0 || minor > 2) && !v090)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "metadata 1.%d is not supported",
				 minor);
	if (v090 && o->spare_disks)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
				 "spares at create are supported with metadata 1.x only");
	if (v090 && n > MD_SB0_DISKS)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
				 "0.90 metadata supports at most %d devices per array",
				 MD_SB0_DISKS);
	struct cmember *c = calloc((size_t)n, sizeof(*c));
	if (!c)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	int present = 0, first = -1;
	for (int i = 0; i < n; i++) {
		c[i].path = paths[i];
		c[i].fd = -1;
	}
	for (int i = 0; i < n && rc == 0; i++) {
		if (strcmp(paths[i], "missing") == 0) {
			if (i >= o->raid_disks)
				rc = ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
					       "a spare cannot be \"missing\"");
			continue;
		}
		for (int j = 0; j < i; j++)
			if (strcmp(paths[i], paths[j]) == 0)
				rc = ok_err_at(e, -EINVAL, paths[i], OK_ERR_NOPOS, "given twice");
		if (rc == 0)
			rc = open_for_create(&c[i], o, e);
		if (rc == 0 && first < 0)
			first = i;
		present++;
	}
	if (rc == 0 && n - present > (level == 6 ? 2 : 1))
		rc = ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
			       "%d members missing: RAID%d can lose at most %d", n - present, level,
			       level == 6 ? 2 : 1);
	/* the active members that are present (spares never count) */
	present -= o->spare_disks;
	if (rc < 0)
		goto out;
	/* data_offset from the first member (validate_geometry1) */
	uint64_t data_offset = 0;
	if (minor != 0 && !v090) {
		uint64_t devsize = c[first].sectors, headroom = 128 * 1024 * 2;
		while ((headroom << 10) > devsize && headroom / 2 >= (uint64_t)chunk_kib * 2 * 2)
			headroom >>= 1;
		data_offset = 12 * 2 + md_choose_bm_space(devsize) + headroom;
		data_offset = (data_offset + 2047) / 2048 * 2048;
	}
	/* size: the smallest member's free space, in KiB rounded to the chunk */
	uint64_t size_kib = UINT64_MAX;
	for (int i = 0; i < n; i++) {
		if (c[i].fd < 0)
			continue;
		uint64_t ds = c[i].sectors, free_s;
		if (v090) {
			/* avail_size0: MD_NEW_SIZE_SECTORS */
			free_s = md_sb_090_location(ds);
		} else if (minor == 0) {
			ds &= ~7ULL;
			uint64_t over = 8 * 2 + 8 + md_choose_bm_space(c[i].sectors);
			free_s = ds > over ? ds - over : 0;
		} else {
			free_s = ds > data_offset ? ds - data_offset : 0;
		}
		uint64_t kib = free_s / 2 & ~(uint64_t)(chunk_kib - 1);
		if (kib == 0) {
			rc = ok_errc_at(e, OK_CLASS_REFUSED, -ENOSPC, c[i].path, OK_ERR_NOPOS,
					"no free space left (%llu sectors, data offset %llu)",
					(unsigned long long)c[i].sectors,
					(unsigned long long)data_offset);
			goto out;
		}
		if (kib < size_kib)
			size_kib = kib;
	}
	if (o->size_kib) {
		/* mdadm's --size: rounded down to the chunk, and every member must
		 * have that much room after its metadata */
		uint64_t want = o->size_kib & ~(uint64_t)(chunk_kib - 1);
		if (want == 0) {
			rc = ok_errc_at(e, OK_CLASS_USAGE, -EINVAL, NULL, OK_ERR_NOPOS,
					"--size %lluK is less than one chunk (%uK)",
					(unsigned long long)o->size_kib, chunk_kib);
			goto out;
		}
		if (want > size_kib) {
			rc = ok_errc_at(e, OK_CLASS_REFUSED, -ENOSPC, NULL, OK_ERR_NOPOS,
					"--size %lluK: the smallest member has room for %lluK",
					(unsigned long long)want, (unsigned long long)size_kib);
			goto out;
		}
		size_kib = want;
	}
	if (v090 && size_kib > UINT32_MAX) {
		rc = ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
			       "0.90 metadata supports at most 4 TiB per device");
		goto out;
	}
	uint64_t size = size_kib * 2;
	/* mdadm adds one on its own for members over 100 GiB, 0.90 included */
	bool bitmap = o->bitmap == 1 || (o->bitmap < 0 && size_kib > 100ULL * 1024 * 1024);
	/* the superblock all members share */
	struct md_sb *sb = calloc(1, sizeof(*sb));
	if (!sb) {
		rc = ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
		goto out;
	}
	time_t now = o->now ? o->now : time(NULL);
	sb->magic = MD_SB_MAGIC;
	sb->major_version = 1;
	if (o->uuid)
		memcpy(sb->set_uuid, o->uuid, 16);
	else
		md_random(sb->set_uuid, 16);
	char host[256] = "";
	const char *hh = o->homehost;
	if (!hh || strcasecmp(hh, "<system>") == 0) {
		if (gethostname(host, sizeof(host) - 1) == 0)
			hh = host;
		else
			hh = NULL;
	}
	if (hh && (!hh[0] || strcasecmp(hh, "<none>") == 0))
		hh = NULL;
	if (v090) {
		/* init_super0: uuid words 2-3 are the homehost's sha1, unless the uuid
		 * was given; the name is not stored (a number names the minor) */
		if (hh && !o->uuid) {
			uint8_t h[HASH_MAX];
			if (hash_buf(HASH_SHA1, hh, strlen(hh), h) >= 8)
				memcpy(sb->set_uuid + 8, h, 8);
		}
		hh = NULL;
	}
	const char *name = o->name && o->name[0] ? o->name : "0";
	char full[600];
	if (hh && !strchr(name, ':') && strlen(hh) + 1 + strlen(name) < 32)
		snprintf(full, sizeof(full), "%.255s:%.255s", hh, name);
	else
		snprintf(full, sizeof(full), "%.31s", name);
	memset(sb->set_name, 0, sizeof(sb->set_name));
	memcpy(sb->set_name, full, strlen(full) < 32 ? strlen(full) : 32);
	sb->ctime = sb->utime = (uint64_t)now;
	sb->level = level;
	sb->layout = (uint32_t)o->layout;
	sb->size = size;
	sb->chunksize = chunk_kib * 2;
	sb->raid_disks = (uint32_t)o->raid_disks;
	sb->events = 0;
	sb->resync_offset = (o->assume_clean || present < o->raid_disks) ? MD_MAX_SECTOR : 0;
	sb->max_dev = (uint32_t)((((256 + 2 * (uint64_t)n) + 511) / 512 * 512 - 256) / 2);
	for (int i = 0; i < MD_SB_MAX_DEV; i++)
		sb->dev_roles[i] = MD_ROLE_SPARE;
	for (int i = 0; i < o->raid_disks; i++) /* spares keep MD_ROLE_SPARE */
		if (c[i].fd >= 0)
			sb->dev_roles[i] = (uint16_t)i;
	memset(sb->raw, 0, sizeof(sb->raw));
	if (v090) {
		char *end = NULL;
		unsigned long mm = o->name ? strtoul(o->name, &end, 10) : 0;
		md_sb0_init_raw(sb, end && !*end && mm < 256 ? (uint32_t)mm : 0);
		sb->major_version = 0;
		sb->max_dev = MD_SB0_DISKS;
		sb->events = 1; /* init_super0 */
		memset(sb->set_name, 0, sizeof(sb->set_name));
		sb->ctime &= UINT32_MAX;
		sb->utime = sb->ctime;
		for (int i = 0; i < n; i++) {
			struct stat st;
			if (c[i].fd >= 0 && fstat(c[i].fd, &st) == 0 && S_ISBLK(st.st_mode))
				md_sb0_set_dev(sb, i, major(st.st_rdev), minor(st.st_rdev));
		}
	}
	struct md_bitmap bm;
	memset(&bm, 0, sizeof(bm));
	if (bitmap) {
		uint32_t bchunk;
		int32_t boff;
		if (v090) { /* 4 KiB after the superblock (MD_SB_BITMAP_PRESENT) */
			bchunk = plan_bitmap0(size);
			boff = MD_SB_BLOCK / 512;
		} else {
			plan_bitmap(minor, size, &bchunk, &boff);
		}
		sb->feature_map |= MD_F_BITMAP_OFFSET;
		sb->bitmap_offset = boff;
		bm.magic = MD_BITMAP_MAGIC;
		bm.version = 4;
		memcpy(bm.uuid, sb->set_uuid, 16);
		bm.chunksize = bchunk;
		bm.daemon_sleep = 5;
		bm.sync_size = size;
	}
	uint8_t *bmbuf = NULL;
	size_t bmbytes = 0;
	if (bitmap) {
		/* write_bitmap0 fills all 60 KiB; write_bitmap1 what the bits need */
		bmbytes = v090 ? 60 * 1024 : (size_t)md_bitmap_bytes(&bm, 4096);
		bmbuf = io_alloc(bmbytes);
		if (!bmbuf) {
			rc = ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
			free(sb);
			goto out;
		}
		/* write_bitmap1: header, then every bit set (all needs resync) */
		memset(bmbuf, 0xff, bmbytes);
		md_bitmap_encode(&bm, bmbuf);
	}
	/* per member: offsets, bad-block log, then bitmap and superblock */
	for (int i = 0; i < n && rc == 0; i++) {
		if (c[i].fd < 0)
			continue;
		uint64_t dsize = c[i].sectors;
		uint64_t bm_space = bitmap ? bmbytes / 512 : md_choose_bm_space(size);
		int64_t bm_offset = bitmap ? sb->bitmap_offset : 8;
		sb->dev_number = (uint32_t)i;
		md_random(sb->device_uuid, 16);
		sb->bblog_size = 0;
		sb->bblog_offset = 0;
		if (v090) {
			sb->data_offset = 0;
			sb->super_offset = md_sb_090_location(dsize);
			sb->data_size = sb->super_offset;
		} else if (minor == 0) {
			bm_space += 8;
			uint64_t so = (dsize - 8 * 2) & ~(uint64_t)(4 * 2 - 1);
			sb->data_offset = 0;
			sb->super_offset = so;
			if (so < size + bm_space)
				bm_space = so - size;
			sb->data_size = so - bm_space;
			if (bm_space >= 8) {
				sb->bblog_size = 8;
				sb->bblog_offset = -8;
			}
		} else {
			uint64_t so = minor == 2 ? 8 : 0;
			sb->super_offset = so;
			sb->data_offset = data_offset;
			sb->data_size = dsize - data_offset;
			if (data_offset >= so + (uint64_t)bm_offset + bm_space + 8) {
				sb->bblog_size = 8;
				sb->bblog_offset = (int32_t)(bm_offset + (int64_t)bm_space);
			} else if (data_offset >= so + 16) {
				sb->bblog_size = 8;
				sb->bblog_offset = (int32_t)(data_offset - 8 - so);
			}
		}
		if (bitmap) {
			uint64_t at =
			    (uint64_t)((int64_t)sb->super_offset + sb->bitmap_offset) * 512;
			ssize_t w = io_pwrite_full(c[i].fd, bmbuf, bmbytes, (off_t)at);
			if (w < 0)
				rc = ok_err_at(e, (int)w, c[i].path, (long long)at,
					       "cannot write the bitmap");
		}
		sb->dev_sectors = dsize;
		sb->minor = minor;
		if (rc == 0)
			rc = v090 ? md_sb0_write_init(c[i].fd, c[i].path, sb, e)
				  : md_sb_write(c[i].fd, c[i].path, sb, e);
	}
	io_free(bmbuf);
	free(sb);
	for (int i = 0; i < n; i++)
		if (c[i].fd >= 0) {
			close(c[i].fd);
			c[i].fd = -1;
		}
	if (rc < 0 || o->assume_clean)
		goto out;
	/* make it consistent: P/Q for every stripe, then clean */
	struct md_array a;
	unsigned fl = MD_OPEN_WRITE | MD_OPEN_FORCE | (o->no_safety ? MD_OPEN_NO_SAFETY : 0);
	rc = md_array_open(&a, n, paths, fl, e);
	if (rc < 0)
		goto out;
	rc = md_array_resync(&a, e);
	int rc2 = md_array_close(&a, rc < 0 ? NULL : e);
	if (rc == 0)
		rc = rc2;
out:
	for (int i = 0; i < n; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	free(c);
	return rc;
}
