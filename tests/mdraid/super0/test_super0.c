/*
 * test_super0.c: unit tests of super0.c, the md 0.90 superblock. Blocks are
 * built here word by word at the offsets of md_p.h's mdp_super_t (written
 * out independently of super0.c's table), then decoded, validated, encoded
 * and read from a file through md_sb_read.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "super0.h"

/* word index -> value, host (little) endian as the kernel writes it */
static void put(uint8_t *b, int word, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[word * 4 + i] = (uint8_t)(v >> (8 * i));
}
static uint32_t get(const uint8_t *b, int word)
{
	return (uint32_t)b[word * 4] | (uint32_t)b[word * 4 + 1] << 8 |
	       (uint32_t)b[word * 4 + 2] << 16 | (uint32_t)b[word * 4 + 3] << 24;
}
/* descriptor d (0..26; 27 is this_disk at word 992) */
static void disk(uint8_t *b, int d, uint32_t number, uint32_t maj, uint32_t min, uint32_t rd,
		 uint32_t state)
{
	int base = d == 27 ? 992 : 128 + 32 * d;
	put(b, base, number);
	put(b, base + 1, maj);
	put(b, base + 2, min);
	put(b, base + 3, rd);
	put(b, base + 4, state);
}
static uint32_t sum(const uint8_t *b)
{
	uint64_t s = 0;
	for (int i = 0; i < 1024; i++)
		s += i == 38 ? 0 : get(b, i);
	return (uint32_t)((s & 0xffffffff) + (s >> 32));
}

/* A clean RAID6 of 4 members as super_90_sync writes it, for member me. */
static void kernel_block(uint8_t *b, int me)
{
	memset(b, 0, 4096);
	put(b, 0, 0xa92b4efc);
	put(b, 2, 90);
	put(b, 5, 0x11223344); /* uuid0 */
	put(b, 6, 1700000000); /* ctime */
	put(b, 7, 6);
	put(b, 8, 65472); /* KiB */
	put(b, 9, 4);
	put(b, 10, 4);
	put(b, 11, 0);
	put(b, 13, 0x55667788);
	put(b, 14, 0x99aabbcc);
	put(b, 15, 0xddeeff00);
	put(b, 32, 1700000100); /* utime */
	put(b, 33, 1);		/* clean */
	put(b, 34, 4);
	put(b, 35, 4);
	put(b, 39, 20); /* events_lo */
	put(b, 40, 1);	/* events_hi */
	put(b, 41, 20);
	put(b, 42, 1);
	put(b, 43, 0xffffffff);
	put(b, 64, 2);	   /* left-symmetric */
	put(b, 65, 65536); /* chunk bytes */
	for (int d = 0; d < 4; d++)
		disk(b, d, (uint32_t)d, 254, (uint32_t)(16 * d), (uint32_t)d, 6);
	disk(b, 27, (uint32_t)me, 254, (uint32_t)(16 * me), (uint32_t)me, 6);
	put(b, 38, sum(b));
}

#define DEV (131072 + 100) /* sectors: not a multiple of 64 KiB */

static void test_location_and_csum(void **state)
{
	(void)state;
	assert_int_equal(md_sb_090_location(DEV), 131072 - 128);
	assert_int_equal(md_sb_location(90, DEV), 131072 - 128);
	assert_int_equal(md_sb_location(91, 131072), 131072 - 128);
	uint8_t b[4096];
	kernel_block(b, 1);
	assert_int_equal(md_sb0_csum(b), get(b, 38));
	/* the stored checksum word does not count; carries are folded in */
	memset(b, 0xff, sizeof(b));
	put(b, 38, 0);
	uint64_t s = 1023ULL * 0xffffffffULL;
	assert_int_equal(md_sb0_csum(b), (uint32_t)((s & 0xffffffff) + (s >> 32)));
}

static void test_decode(void **state)
{
	(void)state;
	uint8_t b[4096];
	struct md_sb *sb = calloc(1, sizeof(*sb));
	assert_non_null(sb);
	kernel_block(b, 2);
	md_sb0_decode(sb, b, DEV);
	assert_int_equal(sb->major_version, 0);
	assert_int_equal(sb->minor, 90);
	assert_int_equal(sb->size, 65472 * 2);
	assert_int_equal(sb->chunksize, 128);
	assert_int_equal(sb->level, 6);
	assert_int_equal(sb->layout, 2);
	assert_int_equal(sb->raid_disks, 4);
	assert_int_equal(sb->events, (1ULL << 32) | 20);
	assert_true(sb->resync_offset == MD_MAX_SECTOR);
	assert_int_equal(sb->data_offset, 0);
	assert_int_equal(sb->super_offset, 131072 - 128);
	assert_int_equal(sb->data_size, 131072 - 128);
	assert_int_equal(sb->dev_number, 2);
	assert_int_equal(md_sb_role(sb), 2);
	assert_int_equal(sb->feature_map, 0);
	/* the uuid's bytes in memory order, as the kernel's mddev->uuid */
	static const uint8_t u[16] = {0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55,
				      0xcc, 0xbb, 0xaa, 0x99, 0x00, 0xff, 0xee, 0xdd};
	assert_memory_equal(sb->set_uuid, u, 16);
	char us[40];
	md_sb0_uuid_str(us, sb);
	assert_string_equal(us, "11223344:55667788:99aabbcc:ddeeff00");
	assert_int_equal(md_sb_validate(sb, "m", NULL), 0);

	/* active, with cp_events == events: recovery_cp is the resync point */
	put(b, 33, 0);
	put(b, 43, 4096);
	put(b, 38, sum(b));
	md_sb0_decode(sb, b, DEV);
	assert_int_equal(sb->resync_offset, 4096);
	/* cp_events behind: resync from 0 */
	put(b, 41, 19);
	put(b, 38, sum(b));
	md_sb0_decode(sb, b, DEV);
	assert_int_equal(sb->resync_offset, 0);

	/* disk states -> roles: faulty, removed+faulty, spare */
	disk(b, 1, 1, 0, 0, 1, 1);
	disk(b, 3, 3, 0, 0, 3, 9);
	disk(b, 4, 4, 8, 64, 4, 0);
	md_sb0_decode(sb, b, DEV);
	assert_int_equal(sb->dev_roles[0], 0);
	assert_int_equal(sb->dev_roles[1], MD_ROLE_FAULTY);
	assert_int_equal(sb->dev_roles[3], MD_ROLE_FAULTY);
	assert_int_equal(sb->dev_roles[4], MD_ROLE_SPARE);

	/* 0.91: the reshape fields; bitmap present: 4 KiB after the sb */
	kernel_block(b, 0);
	put(b, 2, 91);
	put(b, 44, 3072); /* reshape_position low word */
	put(b, 45, 0);
	put(b, 46, 6);
	put(b, 47, 1);
	put(b, 48, 2);
	put(b, 49, 65536);
	put(b, 10, 5);
	put(b, 33, 1 | 1 << 8);
	put(b, 38, sum(b));
	md_sb0_decode(sb, b, DEV);
	assert_int_equal(sb->feature_map, MD_F_RESHAPE_ACTIVE | MD_F_BITMAP_OFFSET);
	assert_int_equal(sb->reshape_position, 3072);
	assert_int_equal(sb->delta_disks, 1);
	assert_int_equal(sb->new_chunk, 128);
	assert_int_equal(sb->bitmap_offset, 8);
	/* 0.90 with a reshape position is not reshaping */
	put(b, 2, 90);
	put(b, 38, sum(b));
	md_sb0_decode(sb, b, DEV);
	assert_int_equal(sb->feature_map, MD_F_BITMAP_OFFSET);
	free(sb);
}

static void test_validate(void **state)
{
	(void)state;
	uint8_t b[4096];
	struct md_sb *sb = calloc(1, sizeof(*sb));
	struct ok_err e;
	assert_non_null(sb);
	struct {
		int word;
		uint32_t value;
		const char *what;
	} bad[] = {
	    {1, 1, "version"},	     {2, 89, "version"},     {2, 92, "version"},
	    {10, 0, "raid_disks"},   {992, 27, "this_disk"}, {8, 65537, "size"},
	    {8, 0x7fffffff, "size"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		kernel_block(b, 1);
		put(b, bad[i].word, bad[i].value);
		put(b, 38, sum(b));
		md_sb0_decode(sb, b, DEV);
		ok_err_clear(&e);
		assert_int_equal(md_sb0_validate(sb, "m.img", &e), -EINVAL);
		assert_non_null(strstr(e.msg, bad[i].what));
	}
	/* a wrong checksum is refused, unless it folds to the same 16 bits */
	kernel_block(b, 1);
	uint32_t c = get(b, 38);
	put(b, 38, c + 1);
	md_sb0_decode(sb, b, DEV);
	ok_err_clear(&e);
	assert_int_equal(md_sb0_validate(sb, "m.img", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "checksum"));
	/* (c + 0xffff) folds like c whenever the low half does not carry */
	if ((c & 0xffff) == 0) {
		put(b, 38, c + 0xffff);
		md_sb0_decode(sb, b, DEV);
		assert_int_equal(md_sb0_validate(sb, "m.img", NULL), 0);
	}
	/* too small for 0.90 */
	kernel_block(b, 1);
	md_sb0_decode(sb, b, 200);
	assert_int_equal(md_sb0_validate(sb, "m.img", NULL), -EINVAL);
	free(sb);
}

static void test_encode_roundtrip(void **state)
{
	(void)state;
	uint8_t b[4096];
	struct md_sb *sb = calloc(1, sizeof(*sb));
	assert_non_null(sb);
	/* a block as the kernel writes it encodes back to the same bytes */
	for (int me = 0; me < 4; me++) {
		kernel_block(b, me);
		md_sb0_decode(sb, b, DEV);
		md_sb0_encode(sb);
		assert_memory_equal(sb->raw, b, 4096);
	}
	/* slot 2's member gone: removed+faulty, failed 1, nr_disks 3 */
	kernel_block(b, 0);
	md_sb0_decode(sb, b, DEV);
	sb->dev_roles[2] = MD_ROLE_SPARE;
	sb->events++;
	md_sb0_encode(sb);
	assert_int_equal(get(sb->raw, 128 + 64 + 4), 9); /* disks[2].state */
	assert_int_equal(get(sb->raw, 128 + 64 + 2), 0); /* minor cleared */
	assert_int_equal(get(sb->raw, 9), 3);		 /* nr_disks */
	assert_int_equal(get(sb->raw, 34), 3);		 /* active */
	assert_int_equal(get(sb->raw, 36), 1);		 /* failed */
	assert_int_equal(get(sb->raw, 39), 21);
	assert_int_equal(get(sb->raw, 38), md_sb0_csum(sb->raw));
	/* slot 0 gone: disks[0] stays "removed" only and is not counted */
	kernel_block(b, 1);
	md_sb0_decode(sb, b, DEV);
	sb->dev_roles[0] = MD_ROLE_SPARE;
	md_sb0_encode(sb);
	assert_int_equal(get(sb->raw, 128 + 4), 8);
	assert_int_equal(get(sb->raw, 36), 0);
	/* active (resync_offset 0): not clean, no checkpoint events */
	kernel_block(b, 1);
	md_sb0_decode(sb, b, DEV);
	sb->resync_offset = 0;
	md_sb0_encode(sb);
	assert_int_equal(get(sb->raw, 33), 0);
	assert_int_equal(get(sb->raw, 41), 0);
	assert_int_equal(get(sb->raw, 43), 0);
	/* reshaping: minor 91 and the reshape words */
	kernel_block(b, 1);
	md_sb0_decode(sb, b, DEV);
	sb->feature_map |= MD_F_RESHAPE_ACTIVE;
	sb->reshape_position = 6144;
	sb->delta_disks = 1;
	sb->raid_disks = 5;
	sb->new_chunk = 128;
	sb->new_layout = 2;
	sb->new_level = 6;
	md_sb0_encode(sb);
	assert_int_equal(get(sb->raw, 2), 91);
	assert_int_equal(get(sb->raw, 44), 6144);
	assert_int_equal(get(sb->raw, 47), 1);
	assert_int_equal(get(sb->raw, 49), 65536);
	assert_int_equal(get(sb->raw, 36), 1); /* slot 4 has no member yet */
	free(sb);
}

static void test_read_file(void **state)
{
	(void)state;
	char path[] = "/var/tmp/test_super0.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0) {
		strcpy(path, "test_super0.img");
		fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	}
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)DEV * 512), 0);
	uint8_t b[4096];
	kernel_block(b, 3);
	assert_int_equal(pwrite(fd, b, 4096, (off_t)(131072 - 128) * 512), 4096);
	struct md_sb *sb = calloc(1, sizeof(*sb));
	assert_non_null(sb);
	assert_int_equal(md_sb_read(fd, path, -1, sb, NULL), 0);
	assert_int_equal(sb->major_version, 0);
	assert_int_equal(md_sb_role(sb), 3);
	assert_int_equal(sb->dev_sectors, DEV);
	struct ok_err e;
	ok_err_clear(&e);
	assert_int_equal(md_sb_read(fd, path, 2, sb, &e), -EPROTONOSUPPORT);
	/* md_sb_write puts the whole 4 KiB block back, byte-equal */
	assert_int_equal(md_sb_read(fd, path, -1, sb, NULL), 0);
	assert_int_equal(md_sb_write(fd, path, sb, NULL), 0);
	uint8_t r[4096];
	assert_int_equal(pread(fd, r, 4096, (off_t)(131072 - 128) * 512), 4096);
	assert_memory_equal(r, b, 4096);
	close(fd);
	unlink(path);
	free(sb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_location_and_csum), cmocka_unit_test(test_decode),
	    cmocka_unit_test(test_validate),	      cmocka_unit_test(test_encode_roundtrip),
	    cmocka_unit_test(test_read_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
