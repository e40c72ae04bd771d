/*
 * mdraid_super0.c: fuzz the metadata 0.90 superblock: decode, the kernel's
 * load checks, encode (super_90_sync) and the examine/brief printers, with
 * arbitrary 4 KiB blocks and member sizes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "super0.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct md_sb sb;
	uint8_t raw[MD_SB_BLOCK];
	memset(raw, 0, sizeof(raw));
	memcpy(raw, data, size < sizeof(raw) ? size : sizeof(raw));
	uint64_t dev = size > 4100
			   ? (uint64_t)data[4096] << 16 | (uint64_t)data[4097] << 8 | data[4098]
			   : 131072;
	md_sb0_decode(&sb, raw, dev);
	struct ok_err e;
	int valid = md_sb_validate(&sb, "fuzz", &e);
	FILE *out = fopen("/dev/null", "w");
	if (out) {
		md_examine_print(out, "fuzz", &sb, NULL, "host");
		md_examine_brief(out, &sb);
		fclose(out);
	}
	struct md_geom g;
	md_geom_from_sb(&g, &sb, MD_GEOM_CUR);
	if (valid == 0 && md_geom_check(&g, NULL, NULL) == 0) {
		struct md_map m;
		stripe_map(&g, sb.events % (md_geom_array_sectors(&g) + 1), &m);
	}
	/* re-encoding what was decoded must give a block that decodes and
	 * passes the checksum check */
	md_sb0_encode(&sb);
	static struct md_sb again;
	md_sb0_decode(&again, sb.raw, dev);
	if (again.sb_csum != again.csum_calc)
		abort();
	return 0;
}
