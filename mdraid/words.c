/*
 * words.c: the sizes, uuids and level names mdadm 4.2 prints (util.c
 * human_size, __fname_from_uuid, map_num(pers, level)), shared by the v1.x
 * examine (examine.c), the 0.90 examine (super0.c) and detail (detail.c).
 * A leaf: it calls nothing else of libmdraid, so the printers that use it
 * do not call each other.
 */
#include "mdraid_int.h"

#include <stdio.h>

void md_human_size(char *buf, size_t size, long long bytes)
{
	if (bytes < 5000 * 1024) {
		buf[0] = 0;
	} else if (bytes < 2 * 1024LL * 1024LL * 1024LL) {
		long cMiB = (long)((bytes * 200LL / (1LL << 20) + 1) / 2);
		long cMB = (long)((bytes / (1000000LL / 200LL) + 1) / 2);
		snprintf(buf, size, " (%ld.%02ld MiB %ld.%02ld MB)", cMiB / 100, cMiB % 100,
			 cMB / 100, cMB % 100);
	} else if (bytes < 2 * 1024LL * 1024LL * 1024LL * 1024LL) {
		long cGiB = (long)((bytes * 200LL / (1LL << 30) + 1) / 2);
		long cGB = (long)((bytes / (1000000000LL / 200LL) + 1) / 2);
		snprintf(buf, size, " (%ld.%02ld GiB %ld.%02ld GB)", cGiB / 100, cGiB % 100,
			 cGB / 100, cGB % 100);
	} else {
		/* bytes * 200 / 2^40 without the overflow of mdadm's long long
		 * product (a superblock may claim up to 2^63 bytes): the same
		 * floor, from the quotient and the remainder */
		long long q = bytes >> 40, r = bytes & ((1LL << 40) - 1);
		long cTiB = (long)((q * 200 + (r * 200 >> 40) + 1) / 2);
		long cTB = (long)((bytes / (1000000000000LL / 200LL) + 1) / 2);
		snprintf(buf, size, " (%ld.%02ld TiB %ld.%02ld TB)", cTiB / 100, cTiB % 100,
			 cTB / 100, cTB % 100);
	}
}

void md_uuid_str(char out[36], const uint8_t uuid[16])
{
	char *p = out;
	for (int i = 0; i < 16; i++) {
		if ((i & 3) == 0 && i != 0)
			*p++ = ':';
		p += sprintf(p, "%02x", uuid[i]);
	}
}

/* See mdraid_int.h: one table for the v1.x and 0.90 examine printers and
 * detail. */
const char *md_level_name(int level)
{
	switch (level) {
	case -1:
		return "linear";
	case 0:
		return "raid0";
	case 1:
		return "raid1";
	case 4:
		return "raid4";
	case 5:
		return "raid5";
	case 6:
		return "raid6";
	case 10:
		return "raid10";
	case -4:
		return "multipath";
	case -5:
		return "faulty";
	default:
		return NULL;
	}
}
