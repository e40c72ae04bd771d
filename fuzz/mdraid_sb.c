/*
 * mdraid_sb.c: fuzz the v1.x superblock decoder, the kernel load checks and
 * the examine printer with arbitrary 4 KiB blocks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdraid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct md_sb sb;
	uint8_t raw[MD_SB_BLOCK];
	memset(raw, 0, sizeof(raw));
	memcpy(raw, data, size < sizeof(raw) ? size : sizeof(raw));
	md_sb_decode(&sb, raw);
	sb.dev_sectors = size > 8 ? (uint64_t)data[size - 1] << 12 | data[size - 2] : 65536;
	sb.minor = sb.super_offset == 0 ? 1 : sb.super_offset == 8 ? 2 : 0;
	struct ok_err e;
	(void)md_sb_validate(&sb, "fuzz", &e);
	FILE *out = fopen("/dev/null", "w");
	if (out) {
		md_examine_print(out, "fuzz", &sb, NULL, "host");
		md_examine_brief(out, &sb);
		fclose(out);
	}
	struct md_geom g;
	md_geom_from_sb(&g, &sb, MD_GEOM_CUR);
	if (md_geom_check(&g, NULL, NULL) == 0) {
		struct md_map m;
		stripe_map(&g, sb.events % (md_geom_array_sectors(&g) + 1), &m);
	}
	return 0;
}
