/*
 * detail.c: the text of `mdadm --detail` (mdadm 4.2 Detail.c and
 * detail_super1) for an array assembled here instead of by the kernel. The
 * array device name is the md name the superblock suggests (/dev/md/NAME);
 * sizes, states and the per-slot table follow mdadm's wording.
 */
#include "mdraid_int.h"
#include "super0.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>

static void dev_numbers(const char *path, unsigned *maj, unsigned *min)
{
	struct stat st;
	*maj = *min = 0;
	if (stat(path, &st) == 0 && S_ISBLK(st.st_mode)) {
		*maj = major(st.st_rdev);
		*min = minor(st.st_rdev);
	}
}

/* The percentage mdadm shows: the kernel's status_resync() per-mille
 * (shifted to stay in 32 bits), cut to whole percent by mdadm's parser. */
static int sync_percent(uint64_t done, uint64_t max)
{
	unsigned scale = 10;
	while (max / 2 > (1ULL << (scale + 32)))
		scale++;
	uint64_t per_milli = (done >> scale) * 1000 / ((max >> scale) + 1);
	return (int)(per_milli / 10);
}

/* A member of this array whose role is spare (array.c leaves it out). */
static bool is_spare(const struct md_member *m)
{
	return m->slot < 0 && m->sb.magic == MD_SB_MAGIC && strstr(m->why, "role is spare");
}

static void array_name(char *buf, size_t size, const struct md_sb *sb)
{
	if (sb->major_version == 0) { /* 0.90: the preferred minor names it */
		snprintf(buf, size, "/dev/md%u", md_sb0_md_minor(sb));
		return;
	}
	const char *nm = strchr(sb->set_name, ':');
	nm = nm ? nm + 1 : sb->set_name;
	snprintf(buf, size, "/dev/md/%s", nm[0] ? nm : "0");
	for (char *c = buf + 8; *c; c++)
		if (*c == ' ' || *c == '\t')
			*c = '_';
		else if (*c == '/')
			*c = '-';
}

/* "Array Size" is the md device's size (mdadm reads BLKGETSIZE64). During
 * a reshape the kernel sets it from raid5_size() with the smaller of the
 * old and new member counts and the size rounded down to both chunk sizes,
 * so a grow shows the old size until the reshape finishes (then
 * raid5_finish_reshape sets the new one) and a shrink the new size. */
static uint64_t detail_array_bytes(const struct md_array *a)
{
	const struct md_sb *sb = &a->ref;
	if (!(sb->feature_map & MD_F_RESHAPE_ACTIVE))
		return md_array_bytes(a);
	/* in 64 bits: hostile counts cannot overflow */
	int64_t disks = sb->raid_disks, prev = (int64_t)sb->raid_disks - sb->delta_disks;
	if (prev < disks)
		disks = prev;
	disks -= sb->new_level == 6 ? 2 : 1;
	uint64_t sectors = sb->size;
	if (sb->chunksize)
		sectors -= sectors % sb->chunksize;
	if (sb->new_chunk)
		sectors -= sectors % sb->new_chunk;
	return disks > 0 ? sectors * (uint64_t)disks * 512 : 0;
}

void md_detail_print(FILE *out, const struct md_array *a, bool brief, const char *homehost)
{
	const struct md_sb *sb = &a->ref;
	char name[64], u[40], hs[64];
	array_name(name, sizeof(name), sb);
	md_uuid_str(u, sb->set_uuid);
	bool v090 = sb->major_version == 0;
	if (v090)
		md_sb0_uuid_str(u, sb);
	int n = a->geom.raid_disks, active = 0, working = 0, failed = 0, spare = 0;
	bool recovering = false;
	for (int i = 0; i < a->nmembers; i++) {
		const struct md_member *m = &a->m[i];
		if (m->failed) {
			failed++;
			continue;
		}
		if (m->slot >= 0 && a->slot_member[m->slot] == i) {
			working++;
			if (m->valid_below_rel == UINT64_MAX)
				active++;
			else {
				spare++;
				recovering = true;
			}
		} else if (is_spare(m)) {
			working++;
			spare++;
		}
	}
	if (brief) {
		/* mdadm counts a member being rebuilt as a spare */
		fprintf(out, "ARRAY %s metadata=%d.%d", name, v090 ? 0 : 1, sb->minor);
		if (spare)
			fprintf(out, " spares=%d", spare);
		if (sb->set_name[0] && !v090)
			fprintf(out, " name=%s", sb->set_name);
		fprintf(out, " UUID=%s\n", u);
		return;
	}
	fprintf(out, "%s:\n", name);
	if (v090)
		fprintf(out, "           Version : 0.%d\n", sb->minor);
	else
		fprintf(out, "           Version : 1.%d\n", sb->minor);
	time_t t = (time_t)(sb->ctime & 0xFFFFFFFFFFULL);
	char tb[64];
	struct tm tm;
	fprintf(out, "     Creation Time : %.24s\n",
		localtime_r(&t, &tm) && asctime_r(&tm, tb) ? tb : "?");
	fprintf(out, "        Raid Level : raid%d\n", sb->level);
	uint64_t bytes = detail_array_bytes(a);
	md_human_size(hs, sizeof(hs), (long long)bytes);
	fprintf(out, "        Array Size : %llu%s\n", (unsigned long long)(bytes >> 10), hs);
	md_human_size(hs, sizeof(hs), (long long)(a->geom.dev_sectors << 9));
	fprintf(out, "     Used Dev Size : %llu%s\n", (unsigned long long)(a->geom.dev_sectors / 2),
		hs);
	fprintf(out, "      Raid Devices : %d\n", n);
	fprintf(out, "     Total Devices : %d\n", working + failed);
	if (v090)
		fprintf(out, "   Preferred Minor : %u\n", md_sb0_md_minor(sb));
	fprintf(out, "       Persistence : Superblock is persistent\n\n");
	if (a->has_bitmap)
		fprintf(out, "     Intent Bitmap : Internal\n\n");
	t = (time_t)(sb->utime & 0xFFFFFFFFFFULL);
	fprintf(out, "       Update Time : %.24s\n",
		localtime_r(&t, &tm) && asctime_r(&tm, tb) ? tb : "?");
	bool reshaping = sb->feature_map & MD_F_RESHAPE_ACTIVE;
	const char *st = active == n ? "" : ", degraded";
	const char *act = reshaping ? ", reshaping" : recovering ? ", recovering" : "";
	fprintf(out, "             State : %s%s%s \n",
		sb->resync_offset == MD_MAX_SECTOR ? "clean" : "active", st, act);
	fprintf(out, "    Active Devices : %d\n", active);
	fprintf(out, "   Working Devices : %d\n", working);
	fprintf(out, "    Failed Devices : %d\n", failed);
	fprintf(out, "     Spare Devices : %d\n\n", spare);
	const char *ln = md_layout_name(sb->level, (int)sb->layout);
	fprintf(out, "            Layout : %s\n", ln ? ln : "-unknown-");
	fprintf(out, "        Chunk Size : %dK\n\n", (int)(sb->chunksize / 2));
	fprintf(out, "Consistency Policy : %s\n\n", a->has_bitmap ? "bitmap" : "resync");
	if (reshaping) {
		uint64_t total = md_geom_array_sectors(&a->geom);
		if (total)
			fprintf(out, "    Reshape Status : %d%% complete\n",
				sync_percent(sb->reshape_position, total));
		if (sb->delta_disks)
			fprintf(out, "     Delta Devices : %d, (%d->%d)\n", sb->delta_disks,
				(int)((uint32_t)n - (uint32_t)sb->delta_disks), n);
		if ((int32_t)sb->new_level != sb->level)
			fprintf(out, "         New Level : raid%u\n", sb->new_level);
		if ((int32_t)sb->new_level != sb->level || sb->new_layout != sb->layout) {
			ln = md_layout_name((int)sb->new_level, (int)sb->new_layout);
			fprintf(out, "        New Layout : %s\n", ln ? ln : "-unknown-");
		}
		if (sb->new_chunk != sb->chunksize)
			fprintf(out, "     New Chunksize : %dK\n", (int)(sb->new_chunk / 2));
		fprintf(out, "\n");
	} else if (recovering) {
		for (int i = 0; i < a->nmembers; i++) {
			const struct md_member *m = &a->m[i];
			if (m->slot >= 0 && m->valid_below_rel != UINT64_MAX &&
			    a->geom.dev_sectors) {
				fprintf(out, "    Rebuild Status : %d%% complete\n\n",
					sync_percent(m->valid_below_rel, a->geom.dev_sectors));
				break;
			}
		}
	}
	if (v090) { /* detail_super0 */
		fprintf(out, "              UUID : %s", u);
		if (md_sb0_local(sb, homehost))
			fprintf(out, " (local to host %s)", homehost);
		fprintf(out, "\n            Events : %u.%u\n\n", (unsigned)(sb->events >> 32),
			(unsigned)sb->events);
	}
	size_t l = homehost ? strlen(homehost) : 0;
	if (!v090) {
		fprintf(out, "              Name : %.32s", sb->set_name);
		if (l > 0 && l < 32 && sb->set_name[l] == ':' &&
		    strncmp(sb->set_name, homehost, l) == 0)
			fprintf(out, "  (local to host %s)", homehost);
		fprintf(out, "\n");
		fprintf(out, "              UUID : %s\n", u);
		fprintf(out, "            Events : %llu\n\n", (unsigned long long)sb->events);
	}
	fprintf(out, "    Number   Major   Minor   RaidDevice State\n");
	for (int s = 0; s < n; s++) {
		int mi = a->slot_member[s];
		if (mi < 0) {
			fprintf(out, "       -       0        0    %5d      removed\n", s);
			continue;
		}
		const struct md_member *m = &a->m[mi];
		unsigned maj, min;
		dev_numbers(m->path, &maj, &min);
		fprintf(out, "   %5u   %5u    %5u    %5d     ", m->sb.dev_number, maj, min, s);
		if (m->failed)
			fprintf(out, " faulty");
		else if (m->valid_below_rel != UINT64_MAX)
			fprintf(out, " spare rebuilding");
		else
			fprintf(out, " active sync");
		if (m->sb.devflags & 1)
			fprintf(out, " writemostly");
		if (m->sb.devflags & 2)
			fprintf(out, " failfast");
		fprintf(out, "   %s\n", m->path);
	}
	bool first = true;
	for (int i = 0; i < a->nmembers; i++) {
		const struct md_member *m = &a->m[i];
		if (!is_spare(m))
			continue;
		if (first)
			fprintf(out, "\n");
		first = false;
		unsigned maj, min;
		dev_numbers(m->path, &maj, &min);
		fprintf(out, "   %5u   %5u    %5u        -      spare   %s\n", m->sb.dev_number,
			maj, min, m->path);
	}
}
