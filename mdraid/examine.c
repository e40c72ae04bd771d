/*
 * examine.c: the text of `mdadm --examine` (mdadm 4.2 super1.c
 * examine_super1, brief_examine_super1, getinfo_super1's unused-space
 * figures; sizes and names from words.c) for one v1.x member, byte for byte, so that
 * scripts and people reading either tool see the same thing.
 *
 * mdadm reads the superblock without checking its checksum and prints
 * "Checksum : X - expected Y" when it is wrong; it drops feature bit 1
 * (bitmap) from its copy when the bitmap superblock's magic or uuid is bad,
 * before printing the feature map and computing the expected checksum. Both
 * quirks are kept here.
 */
#include "mdraid_int.h"
#include "super0.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* mdadm prints ctime() of the low 40 bits, cut to 24 characters. */
static void print_time(FILE *out, const char *label, uint64_t t)
{
	time_t tt = (time_t)(t & 0xFFFFFFFFFFULL);
	char buf[64];
	struct tm tm;
	if (!localtime_r(&tt, &tm) || !asctime_r(&tm, buf))
		strcpy(buf, "???");
	fprintf(out, "%s%.24s\n", label, buf);
}

/* getinfo_super1's space_before/space_after (1 = "none, but possible"). */
static void unused_space(const struct md_sb *sb, const struct md_bitmap *bm, uint64_t *before,
			 uint64_t *after)
{
	uint64_t so = sb->super_offset, data_size = sb->level <= 0 ? sb->data_size : sb->size;
	int64_t bitmap_offset = (sb->feature_map & MD_F_BITMAP_OFFSET) ? sb->bitmap_offset : 0;
	int64_t ppl_offset = 0, ppl_size = 0;
	if (!(sb->feature_map & MD_F_BITMAP_OFFSET) &&
	    (sb->feature_map & (MD_F_PPL | MD_F_MULTIPLE_PPLS))) {
		ppl_offset = (int16_t)(sb->bitmap_offset & 0xffff);
		ppl_size = (uint16_t)((uint32_t)sb->bitmap_offset >> 16);
	}
	*before = *after = 0;
	if (sb->data_offset < so) {
		uint64_t end = so;
		*before = sb->data_offset;
		if (sb->bblog_offset && sb->bblog_size) {
			uint64_t bb = so + (uint64_t)(int64_t)sb->bblog_offset;
			if (bb < end)
				end = bb;
		}
		if (so + (uint64_t)(bitmap_offset + ppl_offset) < end)
			end = so + (uint64_t)(bitmap_offset + ppl_offset);
		if (sb->data_offset + data_size < end)
			*after = end - data_size - sb->data_offset;
	} else {
		uint64_t earliest = so + (32 + 4) * 2;
		if (bitmap_offset > 0) {
			/* mdadm adds the bitmap size to the offset relative to the
			 * superblock, not to the device sector: kept as is. */
			uint64_t bmend = (uint64_t)bitmap_offset;
			if (bm)
				bmend += md_bitmap_bytes(bm, 4096) / 512;
			else
				bmend += 4096 / 512;
			if (bmend > earliest)
				earliest = bmend;
		} else if (ppl_offset > 0) {
			uint64_t pplend = (uint64_t)(ppl_offset + ppl_size);
			if (pplend > earliest)
				earliest = pplend;
		}
		if (sb->bblog_offset && sb->bblog_size) {
			uint64_t bbend = so + (uint64_t)(int64_t)sb->bblog_offset + sb->bblog_size;
			if (bbend > earliest)
				earliest = bbend;
		}
		*before = earliest < sb->data_offset ? sb->data_offset - earliest : 0;
		*after = sb->dev_sectors - data_size - sb->data_offset;
	}
	if (*before == 0 && *after == 0)
		*after = 1;
}

void md_examine_print(FILE *out, const char *path, const struct md_sb *sb_in,
		      const struct md_bitmap *bm, const char *homehost)
{
	if (sb_in->major_version == 0 && sb_in->magic == MD_SB_MAGIC) {
		md_sb0_examine_print(out, path, sb_in, bm, homehost);
		return;
	}
	struct md_sb *sb = (struct md_sb *)malloc(sizeof(*sb));
	char hs[64], u[40];
	if (!sb)
		return;
	memcpy(sb, sb_in, sizeof(*sb));
	if ((sb->feature_map & MD_F_BITMAP_OFFSET) &&
	    (!bm || bm->magic != MD_BITMAP_MAGIC || memcmp(bm->uuid, sb->set_uuid, 16) != 0)) {
		/* load_super1's no_bitmap: drop the bit from the in-memory copy */
		sb->feature_map &= ~(uint32_t)MD_F_BITMAP_OFFSET;
		md_put32(sb->raw + 8, sb->feature_map);
		sb->csum_calc = md_sb_csum(sb->raw);
		bm = NULL;
	}
	uint32_t fm = sb->feature_map;
	fprintf(out, "%s:\n", path);
	fprintf(out, "          Magic : %08x\n", sb->magic);
	fprintf(out, "        Version : 1%s\n",
		sb->super_offset <= 4	? ".1"
		: sb->super_offset <= 8 ? ".2"
					: ".0");
	fprintf(out, "    Feature Map : 0x%x\n", fm);
	md_uuid_str(u, sb->set_uuid);
	fprintf(out, "     Array UUID : %s\n", u);
	fprintf(out, "           Name : %.32s", sb->set_name);
	size_t l = homehost ? strlen(homehost) : 0;
	if (l > 0 && l < 32 && sb->set_name[l] == ':' && strncmp(sb->set_name, homehost, l) == 0)
		fprintf(out, "  (local to host %s)", homehost);
	fprintf(out, "\n");
	print_time(out, "  Creation Time : ", sb->ctime);
	const char *c = md_level_name(sb->level);
	fprintf(out, "     Raid Level : %s\n", c ? c : "-unknown-");
	fprintf(out, "   Raid Devices : %d\n", (int)sb->raid_disks);
	fprintf(out, "\n");
	md_human_size(hs, sizeof(hs), (long long)(sb->data_size << 9));
	fprintf(out, " Avail Dev Size : %llu sectors%s\n", (unsigned long long)sb->data_size, hs);
	if (sb->level > 0) {
		int ddsks = 0;
		switch (sb->level) {
		case 1:
			ddsks = 1;
			break;
		case 4:
		case 5:
			ddsks = (int)(sb->raid_disks - 1); /* mdadm's unsigned arithmetic */
			break;
		case 6:
			ddsks = (int)(sb->raid_disks - 2);
			break;
		case 10: /* layout-dependent; not handled by this engine */
			ddsks = 0;
			break;
		}
		if (ddsks) {
			/* mdadm's long long product, taken modulo 2^64 (defined
			 * when a hostile size makes it wrap) */
			long long asize =
			    (long long)((sb->size << 9) * (unsigned long long)(long long)ddsks);
			md_human_size(hs, sizeof(hs), asize);
			fprintf(out, "     Array Size : %llu KiB%s\n",
				(unsigned long long)asize >> 10, hs);
		}
		if (sb->size != sb->data_size) {
			md_human_size(hs, sizeof(hs), (long long)(sb->size << 9));
			fprintf(out, "  Used Dev Size : %llu sectors%s\n",
				(unsigned long long)sb->size, hs);
		}
	}
	if (sb->data_offset)
		fprintf(out, "    Data Offset : %llu sectors\n",
			(unsigned long long)sb->data_offset);
	if (sb->new_offset && (fm & MD_F_NEW_OFFSET))
		fprintf(out, "     New Offset : %llu sectors\n",
			(unsigned long long)(sb->data_offset + (uint64_t)(int64_t)sb->new_offset));
	fprintf(out, "   Super Offset : %llu sectors\n", (unsigned long long)sb->super_offset);
	if (fm & MD_F_RECOVERY_OFFSET)
		fprintf(out, "Recovery Offset : %llu sectors\n",
			(unsigned long long)sb->recovery_offset);
	uint64_t before, after;
	unused_space(sb, bm, &before, &after);
	if (after != 1 && !(fm & MD_F_NEW_OFFSET))
		fprintf(out, "   Unused Space : before=%llu sectors, after=%llu sectors\n",
			(unsigned long long)before, (unsigned long long)after);
	fprintf(out, "          State : %s\n", sb->resync_offset + 1 ? "active" : "clean");
	md_uuid_str(u, sb->device_uuid);
	fprintf(out, "    Device UUID : %s\n", u);
	fprintf(out, "\n");
	if (fm & MD_F_BITMAP_OFFSET)
		fprintf(out, "Internal Bitmap : %ld sectors from superblock\n",
			(long)sb->bitmap_offset);
	else if (fm & (MD_F_PPL | MD_F_MULTIPLE_PPLS))
		fprintf(out, "            PPL : %u sectors at offset %d sectors from superblock\n",
			(unsigned)((uint32_t)sb->bitmap_offset >> 16),
			(int)(int16_t)(sb->bitmap_offset & 0xffff));
	int delta_extra = 0;
	if (fm & MD_F_RESHAPE_ACTIVE) {
		md_human_size(hs, sizeof(hs), (long long)(sb->reshape_position << 9));
		fprintf(out, "  Reshape pos'n : %llu%s\n",
			(unsigned long long)(sb->reshape_position / 2), hs);
		if (sb->delta_disks) {
			fprintf(out, "  Delta Devices : %d", sb->delta_disks);
			/* mdadm subtracts the unsigned fields: wraps, never overflows */
			fprintf(out, " (%d->%d)\n",
				(int)(sb->raid_disks - (uint32_t)sb->delta_disks),
				(int)sb->raid_disks);
			if (sb->delta_disks < 0)
				delta_extra = (int)(0u - (uint32_t)sb->delta_disks);
		}
		if ((int32_t)sb->new_level != sb->level) {
			c = md_level_name((int32_t)sb->new_level);
			fprintf(out, "      New Level : %s\n", c ? c : "-unknown-");
		}
		if (sb->new_layout != sb->layout && (sb->level == 5 || sb->level == 6)) {
			c = md_layout_name(sb->level, (int)sb->new_layout);
			fprintf(out, "     New Layout : %s\n", c ? c : "-unknown-");
		}
		if (sb->new_chunk != sb->chunksize)
			fprintf(out, "  New Chunksize : %dK\n", (int)(sb->new_chunk / 2));
		fprintf(out, "\n");
	}
	if (sb->devflags) {
		fprintf(out, "          Flags :");
		if (sb->devflags & 1)
			fprintf(out, " write-mostly");
		if (sb->devflags & 2)
			fprintf(out, " failfast");
		fprintf(out, "\n");
	}
	print_time(out, "    Update Time : ", sb->utime);
	if (sb->bblog_size && sb->bblog_offset) {
		fprintf(out, "  Bad Block Log : %d entries available at offset %ld sectors",
			sb->bblog_size * 512 / 8, (long)sb->bblog_offset);
		if (fm & MD_F_BAD_BLOCKS)
			fprintf(out, " - bad blocks present.");
		fprintf(out, "\n");
	}
	if (sb->csum_calc == sb->sb_csum)
		fprintf(out, "       Checksum : %x - correct\n", sb->sb_csum);
	else
		fprintf(out, "       Checksum : %x - expected %x\n", sb->sb_csum, sb->csum_calc);
	fprintf(out, "         Events : %llu\n", (unsigned long long)sb->events);
	fprintf(out, "\n");
	if (sb->level == 5 || sb->level == 6) {
		c = md_layout_name(sb->level, (int)sb->layout);
		fprintf(out, "         Layout : %s\n", c ? c : "-unknown-");
	}
	switch (sb->level) {
	case 0:
	case 4:
	case 5:
	case 6:
	case 10:
		fprintf(out, "     Chunk Size : %dK\n", (int)(sb->chunksize / 2));
		break;
	case -1:
		fprintf(out, "       Rounding : %dK\n", (int)(sb->chunksize / 2));
		break;
	default:
		break;
	}
	fprintf(out, "\n");
	fprintf(out, "   Device Role : ");
	unsigned role = md_sb_role(sb);
	if (role >= MD_ROLE_FAULTY)
		fprintf(out, "spare\n");
	else if (role == MD_ROLE_JOURNAL)
		fprintf(out, "Journal\n");
	else if (fm & MD_F_REPLACEMENT)
		fprintf(out, "Replacement device %u\n", role);
	else
		fprintf(out, "Active device %u\n", role);
	fprintf(out, "   Array State : ");
	int inconsistent = 0;
	uint32_t max_dev = sb->max_dev > MD_SB_MAX_DEV ? MD_SB_MAX_DEV : sb->max_dev;
	/* how many devices claim each role, counted once (a hostile superblock
	 * may claim 65536 roles and 1920 devices: not 125 M comparisons) */
	uint8_t *claims = calloc(0x10000, 1);
	for (unsigned i = 0; claims && i < max_dev; i++)
		if (claims[sb->dev_roles[i]] < 3)
			claims[sb->dev_roles[i]]++;
	for (unsigned d = 0; d < sb->raid_disks + (unsigned)delta_extra && d < 0x10000; d++) {
		int cnt = 0;
		if (claims)
			cnt = claims[d];
		else
			for (unsigned i = 0; i < max_dev; i++)
				cnt += sb->dev_roles[i] == d;
		if (cnt == 2 && sb->level > 0)
			fputc('R', out);
		else if (cnt == 1)
			fputc('A', out);
		else if (cnt == 0)
			fputc('.', out);
		else {
			fputc('?', out);
			inconsistent = 1;
		}
	}
	free(claims);
	fprintf(out, " ('A' == active, '.' == missing, 'R' == replacing)\n");
	for (unsigned d = 0; d < max_dev; d++) {
		unsigned r = sb->dev_roles[d];
		if (r <= 0xfffd && r > sb->raid_disks + (unsigned)delta_extra)
			inconsistent = 1;
	}
	if (inconsistent) {
		fprintf(out, "WARNING Array state is inconsistent - each number should appear only "
			     "once\n");
		for (unsigned d = 0; d < max_dev; d++)
			if (sb->dev_roles[d] >= MD_ROLE_FAULTY)
				fprintf(out, " %u:-", d);
			else
				fprintf(out, " %u:%d", d, sb->dev_roles[d]);
		fprintf(out, "\n");
	}
	free(sb);
}

/* print_escape() for the /dev/md/ name, print_quoted() for name=. */
static void print_quoted(FILE *out, const char *s)
{
	char q = 0;
	for (const char *c = s; *c; c++) {
		if (*c == '\'' || *c == '"') {
			q = *c;
			break;
		}
		if (*c == ' ' || *c == '\t')
			q = *c;
	}
	if (!q) {
		fputs(s, out);
		return;
	}
	q = (q == '"') ? '\'' : '"';
	fputc(q, out);
	for (const char *c = s; *c; c++) {
		if (*c == q) {
			fputc(q, out);
			q = (q == '"') ? '\'' : '"';
			fputc(q, out);
		}
		fputc(*c, out);
	}
	fputc(q, out);
}

void md_examine_brief(FILE *out, const struct md_sb *sb)
{
	if (sb->major_version == 0 && sb->magic == MD_SB_MAGIC) {
		md_sb0_examine_brief(out, sb);
		return;
	}
	char u[40];
	const char *nm = strchr(sb->set_name, ':');
	if (nm)
		nm++;
	else if (sb->set_name[0])
		nm = sb->set_name;
	fprintf(out, "ARRAY ");
	if (nm) {
		fprintf(out, "/dev/md/");
		for (const char *c = nm; *c; c++)
			fputc(*c == ' ' || *c == '\t' ? '_' : *c == '/' ? '-' : *c, out);
		fputc(' ', out);
	}
	fprintf(out, " metadata=1.%s ",
		sb->super_offset <= 4	? "1"
		: sb->super_offset <= 8 ? "2"
					: "0");
	md_uuid_str(u, sb->set_uuid);
	fprintf(out, "UUID=%s", u);
	if (sb->set_name[0]) {
		fprintf(out, " name=");
		print_quoted(out, sb->set_name);
	}
	fprintf(out, "\n");
}
