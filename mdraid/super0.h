/*
 * super0.h: the md 0.90 superblock (mdp_super_t), internal to libmdraid.
 *
 * A 0.90 member is carried in the same struct md_sb as a v1.x member, so the
 * engine (selection, read/write, scrub, rebuild) does not care which format
 * it has: major_version is 0, minor is the 0.90 minor_version (90, or 91 while
 * reshaping), data_offset is 0, data_size is the superblock's sector, max_dev
 * is 27 and dev_roles[] is the 0.90 disk table turned into roles. raw keeps
 * the 4 KiB block as read, so the fields md_sb does not model (md_minor, the
 * disk table's major/minor numbers, patch_version) survive a rewrite.
 *
 * md_sb_read/md_sb_validate/md_sb_encode/md_sb_write and the examine and
 * detail printers dispatch here when major_version is 0.
 */
#ifndef MDRAID_SUPER0_H
#define MDRAID_SUPER0_H

#include "mdraid.h"

#define MD_SB0_DISKS		27  /* MD_SB_DISKS: entries in the disk table */
#define MD_SB0_RESERVED_SECTORS 128 /* 64 KiB: the superblock area at the end */
#define MD_SB0_STATE_CLEAN	0   /* sb state bits */
#define MD_SB0_STATE_BITMAP	8
#define MD_SB0_DISK_FAULTY	0 /* disk state bits */
#define MD_SB0_DISK_ACTIVE	1
#define MD_SB0_DISK_SYNC	2
#define MD_SB0_DISK_REMOVED	3
#define MD_SB0_DISK_WRITEMOSTLY 9
#define MD_SB0_DISK_FAILFAST	10

/* calc_sb_csum: 32-bit sum of the 1024 host-endian words with sb_csum as 0,
 * carries folded in once (mdadm and the kernel agree). */
uint32_t md_sb0_csum(const uint8_t *raw);
/* Decode a 0.90 block (raw[4096]) read from a member of dev_sectors into sb,
 * as super_90_load and super_90_validate see it. */
void md_sb0_decode(struct md_sb *sb, const uint8_t *raw, uint64_t dev_sectors);
/* Rebuild sb->raw from sb as super_90_sync does (whole block rewritten; the
 * disk table from dev_roles; md_minor, patch_version and device numbers kept
 * from the old raw block), with a fresh checksum. */
void md_sb0_encode(struct md_sb *sb);
/* super_90_load's checks: 0 or -EINVAL naming the field. */
int md_sb0_validate(const struct md_sb *sb, const char *path, struct ok_err *e);
/* For create: a zeroed 0.90 block with the preferred minor, and the device
 * numbers recorded for disk table entry i. */
void md_sb0_init_raw(struct md_sb *sb, uint32_t md_minor);
void md_sb0_set_dev(struct md_sb *sb, int i, uint32_t major, uint32_t minor);
/* Write sb as mdadm's create leaves it (init_super0: recovery_cp and the
 * checkpoint events 0), whole 4 KiB block, fdatasync. */
int md_sb0_write_init(int fd, const char *path, struct md_sb *sb, struct ok_err *e);
/* mdadm 4.2 examine_super0 / brief_examine_super0, byte for byte. */
void md_sb0_examine_print(FILE *out, const char *path, const struct md_sb *sb,
			  const struct md_bitmap *bm, const char *homehost);
void md_sb0_examine_brief(FILE *out, const struct md_sb *sb);
/* "xxxxxxxx:xxxxxxxx:xxxxxxxx:xxxxxxxx" as mdadm prints a 0.90 uuid (four
 * host-endian words), and whether uuid words 2-3 are the homehost's hash. */
void md_sb0_uuid_str(char out[36], const struct md_sb *sb);
bool md_sb0_local(const struct md_sb *sb, const char *homehost);
/* Preferred minor (md_minor) recorded in the block. */
uint32_t md_sb0_md_minor(const struct md_sb *sb);

#endif
