/*
 * superblock.c: the md v1.x superblock (struct mdp_superblock_1): where it
 * sits, decoding and encoding, the checksum, the kernel's load checks, and
 * reading/writing it on a member. Also recognises a 0.90 superblock so that
 * it can be refused by name.
 *
 * Divisions: byte helpers; location and checksum; decode/encode; validate
 * (super_1_load's checks); read/write on a member.
 *
 * Written from the kernel's md_p.h and md.c (super_1_load, super_1_sync) and mdadm's
 * super1.c, because no library reads md metadata without the md driver.
 */
#include "mdraid_int.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "super0.h"

/* ---- location and checksum ---- */

uint64_t md_sb_location(int minor, uint64_t dev_sectors)
{
	if (minor >= 90) /* metadata 0.90 (0.91 mid-reshape): super0.c */
		return md_sb_090_location(dev_sectors);
	switch (minor) {
	case 0:
		return dev_sectors < 16 ? 0 : (dev_sectors - 16) & ~7ULL;
	case 1:
		return 0;
	default:
		return 8;
	}
}

bool md_sb_is_090(const uint8_t *buf)
{
	/* mdp_super_t: magic at 0 and major_version 0 at 4, host (little) endian */
	return md_le32(buf) == MD_SB_MAGIC && md_le32(buf + 4) == 0;
}

uint32_t md_sb_csum(const uint8_t *raw)
{
	uint32_t max_dev = md_le32(raw + 220);
	if (max_dev > MD_SB_MAX_DEV)
		max_dev = MD_SB_MAX_DEV;
	size_t size = 256 + 2 * (size_t)max_dev;
	uint64_t sum = 0;
	size_t i;
	for (i = 0; i + 4 <= size; i += 4)
		sum += i == 216 ? 0 : md_le32(raw + i);
	if (size - i == 2)
		sum += md_le16(raw + i);
	return (uint32_t)((sum & 0xffffffffULL) + (sum >> 32));
}

/* ---- decode / encode ---- */

void md_sb_decode(struct md_sb *sb, const uint8_t *raw)
{
	if (sb->raw != raw)
		memcpy(sb->raw, raw, MD_SB_BLOCK);
	sb->magic = md_le32(raw + 0);
	sb->major_version = md_le32(raw + 4);
	sb->feature_map = md_le32(raw + 8);
	sb->pad0 = md_le32(raw + 12);
	memcpy(sb->set_uuid, raw + 16, 16);
	memcpy(sb->set_name, raw + 32, 32);
	sb->set_name[32] = 0;
	sb->ctime = md_le64(raw + 64);
	sb->level = (int32_t)md_le32(raw + 72);
	sb->layout = md_le32(raw + 76);
	sb->size = md_le64(raw + 80);
	sb->chunksize = md_le32(raw + 88);
	sb->raid_disks = md_le32(raw + 92);
	sb->bitmap_offset = (int32_t)md_le32(raw + 96);
	sb->new_level = md_le32(raw + 100);
	sb->reshape_position = md_le64(raw + 104);
	sb->delta_disks = (int32_t)md_le32(raw + 112);
	sb->new_layout = md_le32(raw + 116);
	sb->new_chunk = md_le32(raw + 120);
	sb->new_offset = (int32_t)md_le32(raw + 124);
	sb->data_offset = md_le64(raw + 128);
	sb->data_size = md_le64(raw + 136);
	sb->super_offset = md_le64(raw + 144);
	sb->recovery_offset = md_le64(raw + 152);
	sb->dev_number = md_le32(raw + 160);
	sb->cnt_corrected_read = md_le32(raw + 164);
	memcpy(sb->device_uuid, raw + 168, 16);
	sb->devflags = raw[184];
	sb->bblog_shift = raw[185];
	sb->bblog_size = md_le16(raw + 186);
	sb->bblog_offset = (int32_t)md_le32(raw + 188);
	sb->utime = md_le64(raw + 192);
	sb->events = md_le64(raw + 200);
	sb->resync_offset = md_le64(raw + 208);
	sb->sb_csum = md_le32(raw + 216);
	sb->max_dev = md_le32(raw + 220);
	memcpy(sb->pad3, raw + 224, 32);
	for (int i = 0; i < MD_SB_MAX_DEV; i++)
		sb->dev_roles[i] = md_le16(raw + 256 + 2 * i);
	sb->csum_calc = md_sb_csum(raw);
	sb->minor = sb->super_offset == 0 ? 1 : sb->super_offset == 8 ? 2 : 0;
}

void md_sb_encode(struct md_sb *sb)
{
	if (sb->major_version == 0) {
		md_sb0_encode(sb);
		return;
	}
	uint8_t *raw = sb->raw;
	md_put32(raw + 0, sb->magic);
	md_put32(raw + 4, sb->major_version);
	md_put32(raw + 8, sb->feature_map);
	md_put32(raw + 12, sb->pad0);
	memcpy(raw + 16, sb->set_uuid, 16);
	memcpy(raw + 32, sb->set_name, 32);
	md_put64(raw + 64, sb->ctime);
	md_put32(raw + 72, (uint32_t)sb->level);
	md_put32(raw + 76, sb->layout);
	md_put64(raw + 80, sb->size);
	md_put32(raw + 88, sb->chunksize);
	md_put32(raw + 92, sb->raid_disks);
	md_put32(raw + 96, (uint32_t)sb->bitmap_offset);
	md_put32(raw + 100, sb->new_level);
	md_put64(raw + 104, sb->reshape_position);
	md_put32(raw + 112, (uint32_t)sb->delta_disks);
	md_put32(raw + 116, sb->new_layout);
	md_put32(raw + 120, sb->new_chunk);
	md_put32(raw + 124, (uint32_t)sb->new_offset);
	md_put64(raw + 128, sb->data_offset);
	md_put64(raw + 136, sb->data_size);
	md_put64(raw + 144, sb->super_offset);
	md_put64(raw + 152, sb->recovery_offset);
	md_put32(raw + 160, sb->dev_number);
	md_put32(raw + 164, sb->cnt_corrected_read);
	memcpy(raw + 168, sb->device_uuid, 16);
	raw[184] = sb->devflags;
	raw[185] = sb->bblog_shift;
	md_put16(raw + 186, sb->bblog_size);
	md_put32(raw + 188, (uint32_t)sb->bblog_offset);
	md_put64(raw + 192, sb->utime);
	md_put64(raw + 200, sb->events);
	md_put64(raw + 208, sb->resync_offset);
	md_put32(raw + 220, sb->max_dev);
	memcpy(raw + 224, sb->pad3, 32);
	for (int i = 0; i < MD_SB_MAX_DEV; i++)
		md_put16(raw + 256 + 2 * i, sb->dev_roles[i]);
	sb->sb_csum = md_sb_csum(raw);
	md_put32(raw + 216, sb->sb_csum);
	sb->csum_calc = sb->sb_csum;
}

unsigned md_sb_role(const struct md_sb *sb)
{
	if (sb->dev_number >= sb->max_dev || sb->dev_number >= MD_SB_MAX_DEV)
		return MD_ROLE_FAULTY;
	return sb->dev_roles[sb->dev_number];
}

/* A 0.90 superblock has no name, so messages that name the array (mdadm's
 * "Marking array %s as 'clean'") would print an empty string: such an array
 * is named as the kernel and mdadm name it, /dev/md<preferred minor>. */
const char *md_sb_array_name(const struct md_sb *sb, char *buf, size_t size)
{
	if (sb->major_version != 0)
		return sb->set_name;
	snprintf(buf, size, "/dev/md%u", md_sb0_md_minor(sb));
	return buf;
}

/* ---- validate: super_1_load ---- */

#define SB_BAD(field, ...)                                                                         \
	ok_err_at(e, -EINVAL, path, (long long)(sb->super_offset * 512 + (field)), __VA_ARGS__)

int md_sb_validate(const struct md_sb *sb, const char *path, struct ok_err *e)
{
	if (sb->major_version == 0 && sb->magic == MD_SB_MAGIC)
		return md_sb0_validate(sb, path, e);
	if (sb->magic != MD_SB_MAGIC)
		return SB_BAD(0, "bad magic 0x%x, expected 0x%x", sb->magic, MD_SB_MAGIC);
	if (sb->major_version != 1)
		return SB_BAD(4, "major_version %u, expected 1", sb->major_version);
	if (sb->max_dev > MD_SB_MAX_DEV)
		return SB_BAD(220, "max_dev %u, expected at most %d", sb->max_dev, MD_SB_MAX_DEV);
	uint64_t want = md_sb_location(sb->minor, sb->dev_sectors);
	if (sb->super_offset != want)
		return SB_BAD(144, "super_offset %llu, expected %llu",
			      (unsigned long long)sb->super_offset, (unsigned long long)want);
	if (sb->feature_map & ~(uint32_t)MD_F_ALL)
		return SB_BAD(8, "unknown feature bits 0x%x (known: 0x%x)",
			      sb->feature_map & ~(uint32_t)MD_F_ALL, MD_F_ALL);
	if (sb->sb_csum != sb->csum_calc)
		return SB_BAD(216, "checksum 0x%x, expected 0x%x", sb->sb_csum, sb->csum_calc);
	if (sb->pad0)
		return SB_BAD(12, "pad0 is 0x%x, expected 0", sb->pad0);
	for (int i = 0; i < 32; i++)
		if (sb->pad3[i])
			return SB_BAD(224 + i, "pad3 byte %d is 0x%x, expected 0", i, sb->pad3[i]);
	if (sb->data_size < 10)
		return SB_BAD(136, "data_size %llu, expected at least 10",
			      (unsigned long long)sb->data_size);
	uint64_t sb_sectors = (256 + 2 * (uint64_t)sb->max_dev + 511) / 512;
	if (sb->minor != 0) {
		if (sb->data_offset < sb->super_offset + sb_sectors)
			return SB_BAD(
			    128, "data_offset %llu overlaps the superblock (ends at sector %llu)",
			    (unsigned long long)sb->data_offset,
			    (unsigned long long)(sb->super_offset + sb_sectors));
		/* data_offset + new_offset below the superblock's end, in
		 * unsigned arithmetic (data_offset >= that end here) */
		if ((sb->feature_map & MD_F_NEW_OFFSET) && sb->new_offset < 0 &&
		    (uint64_t)(-(int64_t)sb->new_offset) >
			sb->data_offset - (sb->super_offset + sb_sectors))
			return SB_BAD(124,
				      "new_offset %d puts data before the end of the superblock",
				      sb->new_offset);
		if (sb->data_offset > sb->dev_sectors ||
		    sb->dev_sectors - sb->data_offset < sb->data_size)
			return SB_BAD(136,
				      "data_offset %llu + data_size %llu is beyond the device "
				      "(%llu sectors)",
				      (unsigned long long)sb->data_offset,
				      (unsigned long long)sb->data_size,
				      (unsigned long long)sb->dev_sectors);
	} else if (sb->super_offset < sb->data_size) {
		return SB_BAD(136, "data_size %llu is beyond the superblock at sector %llu",
			      (unsigned long long)sb->data_size,
			      (unsigned long long)sb->super_offset);
	}
	if ((sb->feature_map & MD_F_RAID0_LAYOUT) && sb->level != 0)
		return SB_BAD(8, "RAID0_LAYOUT feature on a level %d array", sb->level);
	if ((sb->feature_map & (MD_F_PPL | MD_F_MULTIPLE_PPLS)) &&
	    (sb->feature_map & (MD_F_BITMAP_OFFSET | MD_F_JOURNAL)))
		return SB_BAD(8, "PPL is not supported with bitmap or journal (feature map 0x%x)",
			      sb->feature_map);
	unsigned role = md_sb_role(sb);
	if (role == MD_ROLE_JOURNAL && !(sb->feature_map & MD_F_JOURNAL))
		return SB_BAD(160, "journal role without the JOURNAL feature");
	if (sb->size > sb->data_size && sb->level > 0 && role < MD_ROLE_MAX)
		return SB_BAD(80, "size %llu is larger than data_size %llu",
			      (unsigned long long)sb->size, (unsigned long long)sb->data_size);
	return 0;
}

/* ---- read / write ---- */

/* Read the aligned 4 KiB block at sector into buf (O_DIRECT safe). */
static int read_block(int fd, const char *path, uint64_t sector, uint8_t *buf, struct ok_err *e)
{
	ssize_t r = io_pread_full(fd, buf, MD_SB_BLOCK, (off_t)(sector * 512));
	if (r < 0)
		return ok_err_at(e, (int)r, path, (long long)(sector * 512),
				 "cannot read superblock");
	if (r < MD_SB_BLOCK)
		memset(buf + r, 0, (size_t)(MD_SB_BLOCK - r));
	return 0;
}

static int64_t dev_sectors_of(int fd, const char *path, struct ok_err *e)
{
	int64_t size = io_size(fd);
	if (size < 0)
		return ok_err_at(e, (int)size, path, OK_ERR_NOPOS, "cannot get the size");
	return size / 512;
}

int md_sb_read(int fd, const char *path, int minor, struct md_sb *sb, struct ok_err *e)
{
	int64_t ds = dev_sectors_of(fd, path, e);
	if (ds < 0)
		return (int)ds;
	if (ds < 24)
		return ok_errc_at(e, OK_CLASS_DATA, -ENOENT, path, OK_ERR_NOPOS,
				  "too small for md: size is %lld sectors", (long long)ds);
	uint8_t *buf = io_alloc(MD_SB_BLOCK);
	if (!buf)
		return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
	int best = -1, rc = 0;
	uint64_t best_ctime = 0;
	for (int mv = 0; mv <= 2; mv++) {
		if (minor >= 0 && mv != minor)
			continue;
		uint64_t loc = md_sb_location(mv, (uint64_t)ds);
		rc = read_block(fd, path, loc, buf, e);
		if (rc < 0)
			goto out;
		if (md_le32(buf) != MD_SB_MAGIC || md_le32(buf + 4) != 1 ||
		    md_le64(buf + 144) != loc)
			continue;
		if (best < 0 || md_le64(buf + 64) > best_ctime) {
			best = mv;
			best_ctime = md_le64(buf + 64);
		}
	}
	if (best < 0) {
		rc = read_block(fd, path, md_sb_090_location((uint64_t)ds), buf, e);
		if (rc < 0)
			goto out;
		if (md_sb_is_090(buf) && (minor < 0 || minor >= 90) &&
		    (uint64_t)ds >= 2 * MD_SB0_RESERVED_SECTORS) {
			md_sb0_decode(sb, buf, (uint64_t)ds);
			rc = 0;
			goto out;
		}
		if (md_sb_is_090(buf)) {
			rc = ok_err_at(e, -EPROTONOSUPPORT, path,
				       (long long)(md_sb_090_location((uint64_t)ds) * 512),
				       "metadata 0.90 superblock where metadata 1.%d was asked for",
				       minor);
			goto out;
		}
		uint64_t loc = md_sb_location(minor < 0 ? 2 : minor, (uint64_t)ds);
		rc = read_block(fd, path, loc, buf, e);
		if (rc < 0)
			goto out;
		rc = ok_errc_at(e, OK_CLASS_DATA, -ENOENT, path, (long long)(loc * 512),
				"no md superblock (magic 0x%08x, expected 0x%08x)", md_le32(buf),
				MD_SB_MAGIC);
		goto out;
	}
	rc = read_block(fd, path, md_sb_location(best, (uint64_t)ds), buf, e);
	if (rc < 0)
		goto out;
	md_sb_decode(sb, buf);
	sb->minor = best;
	sb->dev_sectors = (uint64_t)ds;
out:
	io_free(buf);
	return rc;
}

int md_sb_write(int fd, const char *path, struct md_sb *sb, struct ok_err *e)
{
	uint8_t *buf = io_alloc(MD_SB_BLOCK);
	if (!buf)
		return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
	md_sb_encode(sb);
	size_t n =
	    (256 + 2 * (size_t)(sb->max_dev > MD_SB_MAX_DEV ? MD_SB_MAX_DEV : sb->max_dev) + 511) &
	    ~(size_t)511;
	if (sb->major_version == 0)
		n = MD_SB_BLOCK; /* 0.90: the whole mdp_super_t */
	off_t off = (off_t)(sb->super_offset * 512);
	int rc = read_block(fd, path, sb->super_offset, buf, e);
	if (rc == 0) {
		memcpy(buf, sb->raw, n);
		ssize_t w = io_pwrite_full(fd, buf, MD_SB_BLOCK, off);
		if (w < 0)
			rc = ok_err_at(e, (int)w, path, off, "cannot write superblock");
		else if ((rc = io_fdatasync(fd)) < 0)
			rc = ok_err_at(e, rc, path, off, "cannot sync superblock");
	}
	io_free(buf);
	return rc;
}
