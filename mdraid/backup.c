/*
 * backup.c: mdadm's md_backup_data-1 header, the 512-byte record that says
 * which array sectors a grow's backup holds and where (Grow.c struct
 * mdp_backup_super, bsb_csum, grow_backup, forget_backup, Grow_restart).
 *
 * We write it byte for byte as mdadm does so that `mdadm --assemble
 * --backup-file=F` can restore a critical section mdraid saved, and we read
 * mdadm's with the checks Grow_restart makes. Layout (little-endian):
 *
 *   0 magic[16]  16 set_uuid[16]  32 mtime  40 devstart  48 arraystart
 *   56 length  64 sb_csum(u32)  68 pad1  72 devstart2  80 arraystart2
 *   88 length2  96 sb_csum2(u32)  100..511 zero
 *
 * The checksum is mdadm's bsb_csum, which folds csum = csum*8 + buf[0] len
 * times: it reads only the first byte, so it is the constant 0x24924915 for
 * "md_backup_data-*" and len 64 or 88 ([TESTED] in the spec). We compute it
 * the same way rather than hard-coding it, in 32-bit unsigned arithmetic
 * (mdadm's int overflows; the low 32 bits are the same).
 */
#include <errno.h>
#include <string.h>

#include "mdraid_int.h"
#include "reshape.h"

uint32_t backup_csum(const uint8_t *buf, size_t len)
{
	uint32_t csum = 0;
	/* mdadm: char buf[], so a first byte >= 0x80 is sign-extended. */
	uint32_t first = (uint32_t)(int32_t)(signed char)buf[0];
	for (size_t i = 0; i < len; i++)
		csum = (csum << 3) + first;
	return csum;
}

void backup_hdr_encode(const struct backup_hdr *h, uint8_t out[BACKUP_HDR_BYTES])
{
	memset(out, 0, BACKUP_HDR_BYTES);
	memcpy(out, h->magic, 16);
	memcpy(out + 16, h->set_uuid, 16);
	md_put64(out + 32, h->mtime);
	md_put64(out + 40, h->devstart);
	md_put64(out + 48, h->arraystart);
	md_put64(out + 56, h->length);
	md_put64(out + 72, h->devstart2);
	md_put64(out + 80, h->arraystart2);
	md_put64(out + 88, h->length2);
	md_put32(out + 64, backup_csum(out, 64));
	if (memcmp(h->magic, BACKUP_MAGIC2, 16) == 0)
		md_put32(out + 96, backup_csum(out, 96));
}

int backup_hdr_decode(const uint8_t *buf, size_t len, struct backup_hdr *h, const char *path,
		      long long off, struct ok_err *e)
{
	if (len < BACKUP_HDR_BYTES)
		return ok_err_at(e, -EINVAL, path, off,
				 "backup header truncated: %zu bytes, expected %d", len,
				 BACKUP_HDR_BYTES);
	int v2 = memcmp(buf, BACKUP_MAGIC2, 16) == 0;
	if (!v2 && memcmp(buf, BACKUP_MAGIC1, 16) != 0)
		return ok_err_at(e, -EINVAL, path, off, "no backup metadata: magic is not \"%s\"",
				 BACKUP_MAGIC1);
	uint32_t want = backup_csum(buf, 64);
	if (md_le32(buf + 64) != want)
		return ok_err_at(e, -EINVAL, path, off + 64,
				 "bad backup-metadata checksum 0x%08x, expected 0x%08x",
				 md_le32(buf + 64), want);
	if (v2 && md_le32(buf + 96) != backup_csum(buf, 96))
		return ok_err_at(e, -EINVAL, path, off + 96,
				 "bad backup-metadata checksum2 0x%08x, expected 0x%08x",
				 md_le32(buf + 96), backup_csum(buf, 96));
	memcpy(h->magic, buf, 16);
	memcpy(h->set_uuid, buf + 16, 16);
	h->mtime = md_le64(buf + 32);
	h->devstart = md_le64(buf + 40);
	h->arraystart = md_le64(buf + 48);
	h->length = md_le64(buf + 56);
	h->sb_csum = md_le32(buf + 64);
	h->devstart2 = md_le64(buf + 72);
	h->arraystart2 = md_le64(buf + 80);
	h->length2 = md_le64(buf + 88);
	h->sb_csum2 = md_le32(buf + 96);
	/* Bound what a later read may do with these numbers (they come from disk). */
	if (h->devstart > (UINT64_MAX >> 10) || h->length > (UINT64_MAX >> 10) ||
	    h->arraystart > (UINT64_MAX >> 10))
		return ok_err_at(e, -EINVAL, path, off + 40,
				 "backup header sectors out of range (devstart %llu, length %llu)",
				 (unsigned long long)h->devstart, (unsigned long long)h->length);
	return 0;
}
