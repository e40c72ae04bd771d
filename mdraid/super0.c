/*
 * super0.c: the md 0.90 superblock (mdp_super_t of md_p.h): checksum,
 * decoding into struct md_sb, encoding as the kernel's super_90_sync writes
 * it, super_90_load's checks, and mdadm 4.2's examine_super0 text.
 *
 * Arrays made by mdadm 2.x (RHEL5 and its peers) carry 0.90 metadata: a 4 KiB
 * block of host-endian 32-bit words at the member size rounded down to 64 KiB
 * minus 64 KiB, data from sector 0. Only little-endian hosts exist here, so
 * host order is read as little endian; a byte-swapped block (mdadm's "0.swap")
 * is not recognised.
 *
 * Divisions: layout and words; location; checksum; decode; encode; validate;
 * examine.
 * Written from md_p.h, the kernel's md.c (super_90_load/validate/sync) and
 * mdadm's super0.c, read for reference; none of their code is copied.
 */
#include "super0.h"

#include <errno.h>
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "hash.h"
#include "io.h"
#include "mdraid_int.h"

/* ---- layout (byte offsets in the 4 KiB block) ---- */

enum {
	O_MAGIC = 0,
	O_MAJOR = 4,
	O_MINOR = 8,
	O_PATCH = 12,
	O_GVALID = 16,
	O_UUID0 = 20,
	O_CTIME = 24,
	O_LEVEL = 28,
	O_SIZE = 32,
	O_NR_DISKS = 36,
	O_RAID_DISKS = 40,
	O_MD_MINOR = 44,
	O_NOT_PERSISTENT = 48,
	O_UUID1 = 52, /* uuid1..3 follow */
	O_UTIME = 128,
	O_STATE = 132,
	O_ACTIVE = 136,
	O_WORKING = 140,
	O_FAILED = 144,
	O_SPARE = 148,
	O_CSUM = 152,
	O_EVENTS_LO = 156,
	O_EVENTS_HI = 160,
	O_CP_EVENTS_LO = 164,
	O_CP_EVENTS_HI = 168,
	O_RECOVERY_CP = 172,
	O_RESHAPE_POS = 176, /* u64 */
	O_NEW_LEVEL = 184,
	O_DELTA_DISKS = 188,
	O_NEW_LAYOUT = 192,
	O_NEW_CHUNK = 196, /* bytes */
	O_LAYOUT = 256,
	O_CHUNK = 260, /* bytes */
	O_DISKS = 512, /* 27 descriptors of 128 bytes */
	O_THIS_DISK = 3968,
};
#define DESC 128
/* descriptor words */
enum { D_NUMBER = 0, D_MAJOR = 4, D_MINOR = 8, D_RAID_DISK = 12, D_STATE = 16 };

static uint32_t w(const uint8_t *raw, size_t off)
{
	return md_le32(raw + off);
}
static uint32_t dw(const uint8_t *raw, int d, int field)
{
	return md_le32(raw + O_DISKS + (size_t)d * DESC + (size_t)field);
}
static void dput(uint8_t *raw, int d, int field, uint32_t v)
{
	md_put32(raw + O_DISKS + (size_t)d * DESC + (size_t)field, v);
}

/* ---- location ---- */

uint64_t md_sb_090_location(uint64_t dev_sectors)
{
	/* MD_NEW_SIZE_SECTORS: round down to 64 KiB, minus 64 KiB */
	uint64_t s = dev_sectors & ~127ULL;
	return s < 128 ? 0 : s - 128;
}

/* ---- checksum ---- */

uint32_t md_sb0_csum(const uint8_t *raw)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < MD_SB_BLOCK; i += 4)
		sum += i == O_CSUM ? 0 : md_le32(raw + i);
	return (uint32_t)((sum & 0xffffffffULL) + (sum >> 32));
}

/* md_csum_fold: the kernel compares checksums folded to 16 bits (a relic of
 * alpha), so a block mdadm calls wrong may still load. */
static uint32_t csum_fold(uint32_t c)
{
	c = (c & 0xffff) + (c >> 16);
	return (c & 0xffff) + (c >> 16);
}

/* ---- decode ---- */

/* Role of disk table entry d as super_90_validate gives it to its device. */
static uint16_t entry_role(const uint8_t *raw, int d, uint32_t minor_version)
{
	uint32_t st = dw(raw, d, D_STATE), rd = dw(raw, d, D_RAID_DISK);
	if (st & 1u << MD_SB0_DISK_FAULTY)
		return MD_ROLE_FAULTY;
	if ((st & 1u << MD_SB0_DISK_SYNC) ||
	    ((st & 1u << MD_SB0_DISK_ACTIVE) && minor_version >= 91))
		return rd < MD_ROLE_MAX ? (uint16_t)rd : MD_ROLE_FAULTY;
	return MD_ROLE_SPARE;
}

void md_sb0_decode(struct md_sb *sb, const uint8_t *raw, uint64_t dev_sectors)
{
	if (sb->raw != raw)
		memcpy(sb->raw, raw, MD_SB_BLOCK);
	uint32_t mv = w(raw, O_MINOR);
	sb->magic = w(raw, O_MAGIC);
	sb->major_version = w(raw, O_MAJOR);
	sb->minor = (int)(mv > 1000 ? 1000 : mv);
	sb->pad0 = 0;
	memcpy(sb->set_uuid, raw + O_UUID0, 4);
	memcpy(sb->set_uuid + 4, raw + O_UUID1, 12);
	memset(sb->set_name, 0, sizeof(sb->set_name));
	sb->ctime = w(raw, O_CTIME);
	sb->utime = w(raw, O_UTIME);
	sb->level = (int32_t)w(raw, O_LEVEL);
	sb->layout = w(raw, O_LAYOUT);
	sb->size = (uint64_t)w(raw, O_SIZE) * 2;
	sb->chunksize = w(raw, O_CHUNK) >> 9;
	sb->raid_disks = w(raw, O_RAID_DISKS);
	sb->feature_map = 0;
	sb->bitmap_offset = 0;
	if (w(raw, O_STATE) & 1u << MD_SB0_STATE_BITMAP) {
		/* the bitmap follows the 4 KiB superblock */
		sb->feature_map |= MD_F_BITMAP_OFFSET;
		sb->bitmap_offset = MD_SB_BLOCK / 512;
	}
	uint64_t rp = md_le64(raw + O_RESHAPE_POS);
	if (mv > 90 && rp != UINT64_MAX) {
		sb->feature_map |= MD_F_RESHAPE_ACTIVE;
		sb->reshape_position = rp;
		sb->new_level = w(raw, O_NEW_LEVEL);
		sb->delta_disks = (int32_t)w(raw, O_DELTA_DISKS);
		sb->new_layout = w(raw, O_NEW_LAYOUT);
		sb->new_chunk = w(raw, O_NEW_CHUNK) >> 9;
		if (sb->delta_disks < 0)
			sb->feature_map |= MD_F_RESHAPE_BACKWARDS;
	} else {
		sb->reshape_position = 0;
		sb->new_level = (uint32_t)sb->level;
		sb->delta_disks = 0;
		sb->new_layout = sb->layout;
		sb->new_chunk = sb->chunksize;
	}
	sb->new_offset = 0;
	sb->dev_sectors = dev_sectors;
	sb->super_offset = md_sb_090_location(dev_sectors);
	sb->data_offset = 0;
	/* rdev->sectors = sb_start, limited to what a u32 of KiB can say */
	sb->data_size = sb->super_offset;
	if (sb->data_size >= 2ULL << 32 && sb->level >= 1)
		sb->data_size = (2ULL << 32) - 2;
	sb->recovery_offset = 0;
	sb->dev_number = w(raw, O_THIS_DISK + D_NUMBER);
	sb->cnt_corrected_read = 0;
	memset(sb->device_uuid, 0, sizeof(sb->device_uuid));
	sb->devflags = 0;
	uint32_t tst = w(raw, O_THIS_DISK + D_STATE);
	if (tst & 1u << MD_SB0_DISK_WRITEMOSTLY)
		sb->devflags |= 1;
	if (tst & 1u << MD_SB0_DISK_FAILFAST)
		sb->devflags |= 2;
	sb->bblog_shift = 0;
	sb->bblog_size = 0;
	sb->bblog_offset = 0;
	sb->events = (uint64_t)w(raw, O_EVENTS_HI) << 32 | w(raw, O_EVENTS_LO);
	uint64_t cp = (uint64_t)w(raw, O_CP_EVENTS_HI) << 32 | w(raw, O_CP_EVENTS_LO);
	if (w(raw, O_STATE) & 1u << MD_SB0_STATE_CLEAN)
		sb->resync_offset = MD_MAX_SECTOR;
	else if (cp == sb->events)
		sb->resync_offset = w(raw, O_RECOVERY_CP);
	else
		sb->resync_offset = 0;
	sb->sb_csum = w(raw, O_CSUM);
	sb->csum_calc = md_sb0_csum(raw);
	sb->max_dev = MD_SB0_DISKS;
	memset(sb->pad3, 0, sizeof(sb->pad3));
	for (int i = 0; i < MD_SB_MAX_DEV; i++)
		sb->dev_roles[i] = i < MD_SB0_DISKS ? entry_role(raw, i, mv) : MD_ROLE_SPARE;
}

/* ---- encode: super_90_sync ---- */

void md_sb0_init_raw(struct md_sb *sb, uint32_t md_minor)
{
	memset(sb->raw, 0, sizeof(sb->raw));
	md_put32(sb->raw + O_MD_MINOR, md_minor);
}

void md_sb0_set_dev(struct md_sb *sb, int i, uint32_t major, uint32_t minor)
{
	if (i < 0 || i >= MD_SB0_DISKS)
		return;
	dput(sb->raw, i, D_MAJOR, major);
	dput(sb->raw, i, D_MINOR, minor);
}

uint32_t md_sb0_md_minor(const struct md_sb *sb)
{
	return w(sb->raw, O_MD_MINOR);
}

void md_sb0_encode(struct md_sb *sb)
{
	static const uint8_t zero[MD_SB_BLOCK];
	uint8_t *old = malloc(MD_SB_BLOCK);
	const uint8_t *o = old ? old : zero;
	if (old)
		memcpy(old, sb->raw, MD_SB_BLOCK);
	uint8_t *raw = sb->raw;
	memset(raw, 0, MD_SB_BLOCK);
	md_put32(raw + O_MAGIC, MD_SB_MAGIC);
	md_put32(raw + O_MAJOR, 0);
	md_put32(raw + O_PATCH, w(o, O_PATCH));
	memcpy(raw + O_UUID0, sb->set_uuid, 4);
	memcpy(raw + O_UUID1, sb->set_uuid + 4, 12);
	md_put32(raw + O_CTIME, sb->ctime > UINT32_MAX ? UINT32_MAX : (uint32_t)sb->ctime);
	md_put32(raw + O_LEVEL, (uint32_t)sb->level);
	md_put32(raw + O_SIZE, (uint32_t)(sb->size / 2));
	md_put32(raw + O_RAID_DISKS, sb->raid_disks);
	md_put32(raw + O_MD_MINOR, w(o, O_MD_MINOR));
	md_put32(raw + O_UTIME, sb->utime > UINT32_MAX ? UINT32_MAX : (uint32_t)sb->utime);
	md_put32(raw + O_EVENTS_HI, (uint32_t)(sb->events >> 32));
	md_put32(raw + O_EVENTS_LO, (uint32_t)sb->events);
	uint32_t state = 0;
	if (sb->feature_map & MD_F_RESHAPE_ACTIVE) {
		md_put32(raw + O_MINOR, 91);
		md_put64(raw + O_RESHAPE_POS, sb->reshape_position);
		md_put32(raw + O_NEW_LEVEL, sb->new_level);
		md_put32(raw + O_DELTA_DISKS, (uint32_t)sb->delta_disks);
		md_put32(raw + O_NEW_LAYOUT, sb->new_layout);
		md_put32(raw + O_NEW_CHUNK, sb->new_chunk << 9);
		sb->minor = 91;
	} else {
		md_put32(raw + O_MINOR, 90);
		sb->minor = 90;
	}
	if (sb->sb0_clean_bit_only) {
		/* mdadm's update_super0 "force-array": state |= clean, nothing else */
		md_put32(raw + O_RECOVERY_CP, w(o, O_RECOVERY_CP));
		md_put32(raw + O_CP_EVENTS_HI, w(o, O_CP_EVENTS_HI));
		md_put32(raw + O_CP_EVENTS_LO, w(o, O_CP_EVENTS_LO));
		if (sb->resync_offset == MD_MAX_SECTOR)
			state |= 1u << MD_SB0_STATE_CLEAN;
		sb->sb0_clean_bit_only = false;
	} else if (sb->resync_offset != 0) {
		/* in_sync: recovery_cp and its events; clean when it is MaxSector */
		md_put32(raw + O_RECOVERY_CP, (uint32_t)sb->resync_offset);
		md_put32(raw + O_CP_EVENTS_HI, (uint32_t)(sb->events >> 32));
		md_put32(raw + O_CP_EVENTS_LO, (uint32_t)sb->events);
		if (sb->resync_offset == MD_MAX_SECTOR)
			state |= 1u << MD_SB0_STATE_CLEAN;
	}
	md_put32(raw + O_LAYOUT, sb->layout);
	md_put32(raw + O_CHUNK, sb->chunksize << 9);
	if (sb->feature_map & MD_F_BITMAP_OFFSET)
		state |= 1u << MD_SB0_STATE_BITMAP;
	md_put32(raw + O_STATE, state);

	/* the disk table: active members at their slot, others from raid_disks */
	dput(raw, 0, D_STATE, 1u << MD_SB0_DISK_REMOVED);
	uint32_t nd = sb->raid_disks, next_spare = nd;
	uint32_t active = 0, working = 0, failed = 0, spare = 0, nr = 0;
	uint32_t this_desc = UINT32_MAX;
	for (int i = 0; i < MD_SB0_DISKS; i++) {
		uint16_t role = sb->dev_roles[i];
		uint32_t ost = dw(o, i, D_STATE);
		/* a device the array holds: a role, a faulty device (not an empty
		 * slot, which is removed+faulty), or a spare entry kept from before */
		bool present = role < MD_ROLE_MAX ||
			       (role == MD_ROLE_FAULTY && !(ost & 1u << MD_SB0_DISK_REMOVED)) ||
			       (role == MD_ROLE_SPARE && i >= (int)nd && ost == 0 &&
				dw(o, i, D_NUMBER) == (uint32_t)i);
		if (!present)
			continue;
		bool is_active = role < MD_ROLE_MAX && role < nd;
		uint32_t desc = is_active ? role : next_spare++;
		if (desc >= MD_SB0_DISKS)
			continue;
		if ((uint32_t)i == sb->dev_number)
			this_desc = desc;
		nr++;
		dput(raw, (int)desc, D_NUMBER, desc);
		dput(raw, (int)desc, D_MAJOR, dw(o, i, D_MAJOR));
		dput(raw, (int)desc, D_MINOR, dw(o, i, D_MINOR));
		dput(raw, (int)desc, D_RAID_DISK, desc);
		uint32_t st;
		if (role == MD_ROLE_FAULTY) {
			st = 1u << MD_SB0_DISK_FAULTY;
		} else if (is_active) {
			st = 1u << MD_SB0_DISK_ACTIVE | 1u << MD_SB0_DISK_SYNC;
			active++;
			working++;
		} else {
			st = 0;
			spare++;
			working++;
		}
		st |= ost & (1u << MD_SB0_DISK_WRITEMOSTLY | 1u << MD_SB0_DISK_FAILFAST);
		dput(raw, (int)desc, D_STATE, st);
	}
	/* missing slots: removed and faulty (slot 0 was preset to removed) */
	for (uint32_t i = 0; i < nd && i < MD_SB0_DISKS; i++) {
		if (dw(raw, (int)i, D_STATE) == 0 && dw(raw, (int)i, D_NUMBER) == 0) {
			dput(raw, (int)i, D_NUMBER, i);
			dput(raw, (int)i, D_RAID_DISK, i);
			dput(raw, (int)i, D_STATE,
			     1u << MD_SB0_DISK_REMOVED | 1u << MD_SB0_DISK_FAULTY);
			failed++;
		}
	}
	md_put32(raw + O_NR_DISKS, nr);
	md_put32(raw + O_ACTIVE, active);
	md_put32(raw + O_WORKING, working);
	md_put32(raw + O_FAILED, failed);
	md_put32(raw + O_SPARE, spare);
	if (this_desc != UINT32_MAX) {
		memcpy(raw + O_THIS_DISK, raw + O_DISKS + (size_t)this_desc * DESC, DESC);
		sb->dev_number = this_desc;
	}
	/* keep dev_roles consistent with the table just written */
	for (int i = 0; i < MD_SB0_DISKS; i++)
		sb->dev_roles[i] = entry_role(raw, i, sb->minor > 90 ? 91 : 90);
	sb->max_dev = MD_SB0_DISKS;
	sb->data_offset = 0;
	sb->sb_csum = md_sb0_csum(raw);
	md_put32(raw + O_CSUM, sb->sb_csum);
	sb->csum_calc = sb->sb_csum;
	free(old);
}

/* mdadm's create writes init_super0's block and the kernel keeps it until
 * something changes: events 1 (as given), state clean only when asked,
 * recovery_cp and the checkpoint events 0. */
int md_sb0_write_init(int fd, const char *path, struct md_sb *sb, struct ok_err *e)
{
	md_sb0_encode(sb);
	md_put32(sb->raw + O_RECOVERY_CP, 0);
	md_put32(sb->raw + O_CP_EVENTS_LO, 0);
	md_put32(sb->raw + O_CP_EVENTS_HI, 0);
	sb->sb_csum = md_sb0_csum(sb->raw);
	md_put32(sb->raw + O_CSUM, sb->sb_csum);
	sb->csum_calc = sb->sb_csum;
	uint8_t *buf = io_alloc(MD_SB_BLOCK);
	if (!buf)
		return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
	memcpy(buf, sb->raw, MD_SB_BLOCK);
	off_t off = (off_t)(sb->super_offset * 512);
	int rc = 0;
	ssize_t wr = io_pwrite_full(fd, buf, MD_SB_BLOCK, off);
	if (wr < 0)
		rc = ok_err_at(e, (int)wr, path, off, "cannot write superblock");
	else if ((rc = io_fdatasync(fd)) < 0)
		rc = ok_err_at(e, rc, path, off, "cannot sync superblock");
	io_free(buf);
	return rc;
}

/* ---- validate: super_90_load ---- */

#define SB0_BAD(field, ...)                                                                        \
	ok_err_at(e, -EINVAL, path, (long long)(sb->super_offset * 512 + (field)), __VA_ARGS__)

int md_sb0_validate(const struct md_sb *sb, const char *path, struct ok_err *e)
{
	const uint8_t *raw = sb->raw;
	if (w(raw, O_MAGIC) != MD_SB_MAGIC)
		return SB0_BAD(O_MAGIC, "bad magic 0x%x, expected 0x%x", w(raw, O_MAGIC),
			       MD_SB_MAGIC);
	if (w(raw, O_MAJOR) != 0 || w(raw, O_MINOR) < 90 || w(raw, O_MINOR) > 91)
		return SB0_BAD(O_MAJOR, "bad version number %u.%u, expected 0.90 or 0.91",
			       w(raw, O_MAJOR), w(raw, O_MINOR));
	if (sb->dev_sectors < MD_SB0_RESERVED_SECTORS * 2)
		return SB0_BAD(0, "device of %llu sectors is too small for 0.90 metadata",
			       (unsigned long long)sb->dev_sectors);
	if (w(raw, O_RAID_DISKS) == 0 || (int32_t)w(raw, O_RAID_DISKS) < 0)
		return SB0_BAD(O_RAID_DISKS, "raid_disks %d, expected at least 1",
			       (int32_t)w(raw, O_RAID_DISKS));
	uint32_t calc = md_sb0_csum(raw);
	if (csum_fold(calc) != csum_fold(w(raw, O_CSUM)))
		return SB0_BAD(O_CSUM, "checksum 0x%x, expected 0x%x", w(raw, O_CSUM), calc);
	if (w(raw, O_THIS_DISK + D_NUMBER) >= MD_SB0_DISKS)
		return SB0_BAD(O_THIS_DISK, "this_disk.number %u, expected below %d",
			       w(raw, O_THIS_DISK + D_NUMBER), MD_SB0_DISKS);
	if (sb->level >= 1 && sb->size > sb->data_size)
		return SB0_BAD(O_SIZE, "size %llu KiB is beyond the superblock at sector %llu",
			       (unsigned long long)(sb->size / 2),
			       (unsigned long long)sb->super_offset);
	return 0;
}

/* ---- examine ---- */

static void print_r10(FILE *out, uint32_t layout)
{
	int near = layout & 255, far = (layout >> 8) & 255;
	const char *sep = "";
	if (near != 1) {
		fprintf(out, "%s near=%d", sep, near);
		sep = ",";
	}
	if (far != 1)
		fprintf(out, "%s %s=%d", sep, (layout & 0x10000) ? "offset" : "far", far);
	if (near * far == 1)
		fprintf(out, "NO REDUNDANCY");
}

/* map_dev(): the shortest /dev name of a block device number (a /dev/md/
 * name preferred), found by walking /dev as mdadm does. The list lives for
 * one md_sb0_examine_print call (walked at its first use), not the process. */
struct devname {
	unsigned maj, min;
	char *name;
};
struct devnames {
	struct devname *v;
	size_t n, cap;
	bool ready;
};

/* Add path (a block device, or a symlink to one) to the list. */
static void add_dev(struct devnames *dl, const char *path, const struct stat *lst)
{
	struct stat st;
	const struct stat *stb = lst;
	if (S_ISLNK(lst->st_mode)) {
		if (stat(path, &st) != 0)
			return;
		stb = &st;
	}
	if (!S_ISBLK(stb->st_mode))
		return;
	if (dl->n == dl->cap) {
		size_t cap = dl->cap ? 2 * dl->cap : 64;
		struct devname *d = realloc(dl->v, cap * sizeof(*d));
		if (!d)
			return;
		dl->v = d;
		dl->cap = cap;
	}
	char *n = strdup(path);
	if (!n)
		return;
	if (strncmp(n, "/dev/./", 7) == 0)
		memmove(n + 4, n + 6, strlen(n + 6) + 1);
	dl->v[dl->n++] = (struct devname){major(stb->st_rdev), minor(stb->st_rdev), n};
}

/* nftw(dir, ..., FTW_PHYS) order, with the list passed down: each entry in
 * readdir order, a directory (not a symlink to one) before its contents,
 * at most depth levels. */
static void walk_dev(struct devnames *dl, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		char path[PATH_MAX];
		struct stat st;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >=
			sizeof(path) ||
		    lstat(path, &st) != 0)
			continue;
		add_dev(dl, path, &st);
		if (S_ISDIR(st.st_mode) && depth > 1)
			walk_dev(dl, path, depth - 1);
	}
	closedir(d);
}

static const char *map_dev(struct devnames *dl, unsigned maj, unsigned min)
{
	if (maj == 0 && min == 0)
		return NULL;
	if (!dl->ready) {
		struct stat st;
		const char *dev = "/dev";
		if (lstat(dev, &st) == 0 && S_ISLNK(st.st_mode))
			dev = "/dev/.";
		walk_dev(dl, dev, 10);
		dl->ready = true;
	}
	const char *reg = NULL, *pref = NULL;
	/* mdadm prepends to its list: walk ours from the end */
	for (size_t k = dl->n; k-- > 0;) {
		const struct devname *d = &dl->v[k];
		if (d->maj != maj || d->min != min)
			continue;
		if (strncmp(d->name, "/dev/md/", 8) == 0) {
			if (!pref || strlen(d->name) < strlen(pref))
				pref = d->name;
		} else if (!reg || strlen(d->name) < strlen(reg)) {
			reg = d->name;
		}
	}
	return pref ? pref : reg;
}

static void devnames_free(struct devnames *dl)
{
	for (size_t k = 0; k < dl->n; k++)
		free(dl->v[k].name);
	free(dl->v);
}

void md_sb0_uuid_str(char out[36], const struct md_sb *sb)
{
	const uint8_t *r = sb->raw;
	snprintf(out, 36, "%08x:%08x:%08x:%08x", w(r, O_UUID0), w(r, O_UUID1), w(r, O_UUID1 + 4),
		 w(r, O_UUID1 + 8));
}

bool md_sb0_local(const struct md_sb *sb, const char *homehost)
{
	if (!homehost)
		return false;
	uint8_t h[HASH_MAX];
	if (hash_buf(HASH_SHA1, homehost, strlen(homehost), h) < 8)
		return false;
	return memcmp(sb->raw + O_UUID1 + 4, h, 8) == 0;
}

static void print_time(FILE *out, const char *label, uint32_t t32)
{
	time_t t = (time_t)t32;
	char buf[64];
	struct tm tm;
	fprintf(out, "%s : %.24s\n", label,
		localtime_r(&t, &tm) && asctime_r(&tm, buf) ? buf : "?");
}

void md_sb0_examine_print(FILE *out, const char *path, const struct md_sb *sb_in,
			  const struct md_bitmap *bm, const char *homehost)
{
	uint8_t *raw = malloc(MD_SB_BLOCK);
	if (!raw)
		return;
	memcpy(raw, sb_in->raw, MD_SB_BLOCK);
	struct devnames devs = {0};
	/* load_super0 drops the bitmap bit when the bitmap super is not ours */
	if ((w(raw, O_STATE) & 1u << MD_SB0_STATE_BITMAP) &&
	    (!bm || bm->magic != MD_BITMAP_MAGIC || memcmp(bm->uuid, sb_in->set_uuid, 16) != 0))
		md_put32(raw + O_STATE, w(raw, O_STATE) & ~(1u << MD_SB0_STATE_BITMAP));
	char hs[64], u[40];
	int level = (int32_t)w(raw, O_LEVEL);
	uint32_t minor_version = w(raw, O_MINOR), raid_disks = w(raw, O_RAID_DISKS);
	fprintf(out, "%s:\n", path);
	fprintf(out, "          Magic : %08x\n", w(raw, O_MAGIC));
	fprintf(out, "        Version : %d.%02d.%02d\n", (int)w(raw, O_MAJOR), (int)minor_version,
		(int)w(raw, O_PATCH));
	if (minor_version >= 90) {
		md_sb0_uuid_str(u, sb_in);
		fprintf(out, "           UUID : %s", u);
		if (md_sb0_local(sb_in, homehost))
			fprintf(out, " (local to host %s)", homehost);
		fprintf(out, "\n");
	} else {
		fprintf(out, "           UUID : %08x\n", w(raw, O_UUID0));
	}
	if (w(raw, O_NOT_PERSISTENT))
		fprintf(out, "           Eedk : not persistent\n");
	print_time(out, "  Creation Time", w(raw, O_CTIME));
	const char *c = md_level_name(level);
	fprintf(out, "     Raid Level : %s\n", c ? c : "-unknown-");
	uint32_t layout = w(raw, O_LAYOUT);
	if (level > 0) {
		uint32_t size = w(raw, O_SIZE);
		long long ddsks = 0, denom = 1;
		md_human_size(hs, sizeof(hs), (long long)size << 10);
		fprintf(out, "  Used Dev Size : %d%s\n", (int)size, hs);
		switch (level) {
		case 1:
			ddsks = 1;
			break;
		case 4:
		case 5:
			ddsks = (int)(raid_disks - 1); /* mdadm's unsigned arithmetic */
			break;
		case 6:
			ddsks = (int)(raid_disks - 2);
			break;
		case 10:
			ddsks = (int)raid_disks;
			denom = (layout & 255) * ((layout >> 8) & 255);
			break;
		}
		if (ddsks && denom) {
			/* mdadm computes in long long; the product is taken modulo
			 * 2^64 (the same bits, but defined when a hostile size makes
			 * it wrap), the division signed, as mdadm's */
			long long prod = (long long)(((unsigned long long)size << 10) *
						     (unsigned long long)(long long)ddsks);
			long long asize = prod / denom;
			md_human_size(hs, sizeof(hs), asize);
			fprintf(out, "     Array Size : %llu%s\n", (unsigned long long)asize >> 10,
				hs);
		}
	}
	fprintf(out, "   Raid Devices : %d\n", (int)raid_disks);
	fprintf(out, "  Total Devices : %d\n", (int)w(raw, O_NR_DISKS));
	fprintf(out, "Preferred Minor : %d\n", (int)w(raw, O_MD_MINOR));
	fprintf(out, "\n");
	int delta_extra = 0;
	uint64_t rp = md_le64(raw + O_RESHAPE_POS);
	if (minor_version > 90 && rp != UINT64_MAX) {
		md_human_size(hs, sizeof(hs), (long long)(rp << 9));
		fprintf(out, "  Reshape pos'n : %llu%s\n", (unsigned long long)rp / 2, hs);
		int32_t delta = (int32_t)w(raw, O_DELTA_DISKS);
		if (delta) {
			fprintf(out, "  Delta Devices : %d", delta);
			fprintf(out, " (%d->%d)\n", (int)(raid_disks - (uint32_t)delta),
				(int)raid_disks);
			if (delta < 0 && delta > -1000)
				delta_extra = -delta;
		}
		uint32_t nl = w(raw, O_NEW_LEVEL), nlay = w(raw, O_NEW_LAYOUT);
		if ((int32_t)nl != level) {
			c = md_level_name((int32_t)nl);
			fprintf(out, "      New Level : %s\n", c ? c : "-unknown-");
		}
		if (nlay != layout) {
			if (level == 5 || level == 6) {
				c = md_layout_name(level, (int)nlay);
				fprintf(out, "     New Layout : %s\n", c ? c : "-unknown-");
			}
			if (level == 10)
				fprintf(out, "     New Layout : near=%d, %s=%d\n", nlay & 255,
					(nlay & 0x10000) ? "offset" : "far", (nlay >> 8) & 255);
		}
		if (w(raw, O_NEW_CHUNK) != w(raw, O_CHUNK))
			fprintf(out, "  New Chunksize : %d\n", (int)w(raw, O_NEW_CHUNK));
		fprintf(out, "\n");
	}
	print_time(out, "    Update Time", w(raw, O_UTIME));
	uint32_t state = w(raw, O_STATE);
	fprintf(out, "          State : %s\n",
		(state & 1u << MD_SB0_STATE_CLEAN) ? "clean" : "active");
	if (state & 1u << MD_SB0_STATE_BITMAP)
		fprintf(out, "Internal Bitmap : present\n");
	fprintf(out, " Active Devices : %d\n", (int)w(raw, O_ACTIVE));
	fprintf(out, "Working Devices : %d\n", (int)w(raw, O_WORKING));
	fprintf(out, " Failed Devices : %d\n", (int)w(raw, O_FAILED));
	fprintf(out, "  Spare Devices : %d\n", (int)w(raw, O_SPARE));
	uint32_t calc = md_sb0_csum(raw);
	if (calc == w(raw, O_CSUM))
		fprintf(out, "       Checksum : %x - correct\n", w(raw, O_CSUM));
	else
		fprintf(out, "       Checksum : %x - expected %x\n", w(raw, O_CSUM), calc);
	fprintf(out, "         Events : %llu\n",
		(unsigned long long)w(raw, O_EVENTS_HI) << 32 | w(raw, O_EVENTS_LO));
	fprintf(out, "\n");
	if (level == 5 || level == 6) {
		c = md_layout_name(level, (int)layout);
		fprintf(out, "         Layout : %s\n", c ? c : "-unknown-");
	}
	if (level == 10) {
		fprintf(out, "         Layout :");
		print_r10(out, layout);
		fprintf(out, "\n");
	}
	switch (level) {
	case 0:
	case 4:
	case 5:
	case 6:
	case 10:
		fprintf(out, "     Chunk Size : %dK\n", (int)(w(raw, O_CHUNK) / 1024));
		break;
	case -1:
		fprintf(out, "       Rounding : %dK\n", (int)(w(raw, O_CHUNK) / 1024));
		break;
	default:
		break;
	}
	fprintf(out, "\n");
	fprintf(out, "      Number   Major   Minor   RaidDevice State\n");
	/* mdadm loops to raid_disks + delta + spares; entries past this_disk
	 * would be outside the block, so stop there */
	long long end = (long long)(int32_t)raid_disks + delta_extra + (int32_t)w(raw, O_SPARE);
	if (end > MD_SB0_DISKS + 1)
		end = MD_SB0_DISKS + 1;
	for (long long d = -1; d < end; d++) {
		size_t at = d < 0 ? O_THIS_DISK : O_DISKS + (size_t)d * DESC;
		char nb[16];
		snprintf(nb, sizeof(nb), "%4d", (int)d);
		fprintf(out, "%4s %5d   %5d    %5d    %5d     ", d < 0 ? "this" : nb,
			(int)w(raw, at + D_NUMBER), (int)w(raw, at + D_MAJOR),
			(int)w(raw, at + D_MINOR), (int)w(raw, at + D_RAID_DISK));
		uint32_t st = w(raw, at + D_STATE);
		uint32_t wonly = st & 1u << MD_SB0_DISK_WRITEMOSTLY;
		uint32_t ff = st & 1u << MD_SB0_DISK_FAILFAST;
		st &= ~(wonly | ff);
		if (st & 1u << MD_SB0_DISK_FAULTY)
			fprintf(out, " faulty");
		if (st & 1u << MD_SB0_DISK_ACTIVE)
			fprintf(out, " active");
		if (st & 1u << MD_SB0_DISK_SYNC)
			fprintf(out, " sync");
		if (st & 1u << MD_SB0_DISK_REMOVED)
			fprintf(out, " removed");
		if (wonly)
			fprintf(out, " write-mostly");
		if (ff)
			fprintf(out, " failfast");
		if (st == 0)
			fprintf(out, " spare");
		const char *dv = map_dev(&devs, w(raw, at + D_MAJOR), w(raw, at + D_MINOR));
		if (dv)
			fprintf(out, "   %s", dv);
		fprintf(out, "\n");
		if (d == -1)
			fprintf(out, "\n");
	}
	devnames_free(&devs);
	free(raw);
}

void md_sb0_examine_brief(FILE *out, const struct md_sb *sb)
{
	char u[40];
	fprintf(out, "ARRAY /dev/md%d", (int)w(sb->raw, O_MD_MINOR));
	if (w(sb->raw, O_MINOR) >= 90) {
		md_sb0_uuid_str(u, sb);
		fprintf(out, " UUID=%s\n", u);
	} else {
		fprintf(out, " UUID=%08x\n", w(sb->raw, O_UUID0));
	}
}
