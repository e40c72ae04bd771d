/*
 * test_mdraid.c: unit tests of libmdraid: superblock encode/decode, the
 * checksum and the kernel's load checks; the stripe tables of the spec
 * (§2, [TESTED] against the kernel); bitmap and bad-block log parsing;
 * and the array engine under injected faults (lib/io.h's io_sys table):
 * EIO on reads is reconstructed, a crash mid-write leaves the array active
 * with its bitmap bits set (and mdadm --examine agrees with our examine),
 * tiny memory budgets exercise the sliced paths; the I/O thread pool keeps
 * md_par_run's contract.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io.h"
#include "iopool.h"
#include "mdraid.h"

static char dir[256];
static char *paths[8];

/* n members of bytes each, filled with pseudo-random bytes. */
static void make_members(int n, size_t bytes)
{
	uint8_t *buf = malloc(1 << 20);
	uint32_t x = 12345;
	assert_non_null(buf);
	for (int i = 0; i < n; i++) {
		if (!paths[i]) {
			paths[i] = malloc(300);
			snprintf(paths[i], 300, "%s/m%d.img", dir, i);
		}
		FILE *f = fopen(paths[i], "wb");
		assert_non_null(f);
		for (size_t done = 0; done < bytes; done += 1 << 20) {
			for (size_t j = 0; j < 1 << 20; j++) {
				x = x * 1103515245 + 12345;
				buf[j] = (uint8_t)(x >> 16);
			}
			fwrite(buf, 1, bytes - done < (1 << 20) ? bytes - done : 1 << 20, f);
		}
		fclose(f);
	}
	free(buf);
}

static void create(int level, int n, uint32_t chunk_kib, int bitmap, bool clean)
{
	struct md_create_opts o = {0};
	struct ok_err e;
	o.level = level;
	o.raid_disks = n;
	o.chunk_kib = chunk_kib;
	o.layout = MD_LEFT_SYMMETRIC;
	o.minor = 2;
	o.homehost = "testhost";
	o.bitmap = bitmap;
	o.assume_clean = clean;
	o.force = true;
	o.no_safety = true;
	int rc = md_create(&o, n, paths, &e);
	if (rc)
		fprintf(stderr, "create: %s\n", e.msg);
	assert_int_equal(rc, 0);
}

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525 + 1013904223;
		b[i] = (uint8_t)(seed >> 24);
	}
}

/* ---- superblock ---- */

static void test_sb_roundtrip(void **state)
{
	(void)state;
	static struct md_sb sb, back;
	memset(&sb, 0, sizeof(sb));
	sb.magic = MD_SB_MAGIC;
	sb.major_version = 1;
	sb.feature_map = MD_F_RESHAPE_ACTIVE | MD_F_NEW_OFFSET;
	sb.level = 6;
	sb.layout = 2;
	sb.size = 126976;
	sb.chunksize = 1024;
	sb.raid_disks = 5;
	sb.new_level = 6;
	sb.reshape_position = 46080;
	sb.delta_disks = 1;
	sb.new_layout = 2;
	sb.new_chunk = 1024;
	sb.new_offset = -3072;
	sb.data_offset = 4096;
	sb.data_size = 126976;
	sb.super_offset = 8;
	sb.max_dev = 129; /* odd: the checksum adds a trailing le16 */
	sb.events = 0x123456789ULL;
	sb.resync_offset = MD_MAX_SECTOR;
	for (int i = 0; i < MD_SB_MAX_DEV; i++)
		sb.dev_roles[i] = i < 5 ? (uint16_t)i : MD_ROLE_SPARE;
	memset(sb.raw, 0, sizeof(sb.raw));
	md_sb_encode(&sb);
	md_sb_decode(&back, sb.raw);
	assert_int_equal(back.new_offset, -3072);
	assert_int_equal(back.delta_disks, 1);
	assert_int_equal(back.reshape_position, 46080);
	assert_int_equal(back.feature_map, MD_F_RESHAPE_ACTIVE | MD_F_NEW_OFFSET);
	assert_int_equal(back.sb_csum, back.csum_calc);
	assert_int_equal(back.minor, 2);
	assert_memory_equal(back.dev_roles, sb.dev_roles, sizeof(sb.dev_roles));
	/* the checksum covers the last role entry (byte 256 + 2*128) */
	back.raw[256 + 2 * 128] ^= 1;
	assert_int_not_equal(md_sb_csum(back.raw), back.sb_csum);
	/* geometry before and after the reshape coexist */
	struct md_geom g_old, g_new;
	md_geom_from_sb(&g_old, &sb, MD_GEOM_OLD);
	md_geom_from_sb(&g_new, &sb, MD_GEOM_NEW);
	assert_int_equal(g_old.raid_disks, 4);
	assert_int_equal(g_new.raid_disks, 5);
	assert_int_equal(md_geom_array_sectors(&g_old), 2 * 126976);
	assert_int_equal(md_geom_array_sectors(&g_new), 3 * 126976);
}

static void test_sb_validate(void **state)
{
	(void)state;
	static struct md_sb sb;
	struct ok_err e;
	memset(&sb, 0, sizeof(sb));
	sb.magic = MD_SB_MAGIC;
	sb.major_version = 1;
	sb.level = 6;
	sb.size = 126976;
	sb.chunksize = 1024;
	sb.raid_disks = 4;
	sb.data_offset = 4096;
	sb.data_size = 126976;
	sb.super_offset = 8;
	sb.max_dev = 128;
	sb.dev_sectors = 131072;
	sb.minor = 2;
	md_sb_encode(&sb);
	assert_int_equal(md_sb_validate(&sb, "x", &e), 0);
	struct {
		size_t off;
		uint32_t val;
		const char *word;
	} bad[] = {
	    {0, 1, "magic"},	      {4, 2, "major_version"},	       {220, 4000, "max_dev"},
	    {144, 0, "super_offset"}, {8, 0x8000, "feature"},	       {12, 1, "pad0"},
	    {230, 7, "pad3"},	      {136, 5, "data_size"},	       {128, 8, "data_offset"},
	    {136, 200000, "beyond"},  {8, MD_F_RAID0_LAYOUT, "RAID0"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		static struct md_sb c;
		memcpy(&c, &sb, sizeof(c));
		uint8_t *p = c.raw + bad[i].off;
		if (bad[i].off == 230)
			p[0] = (uint8_t)bad[i].val;
		else if (bad[i].off == 136)
			for (int k = 0; k < 8; k++)
				p[k] = (uint8_t)((uint64_t)bad[i].val >> (8 * k));
		else
			for (int k = 0; k < 4; k++)
				p[k] = (uint8_t)(bad[i].val >> (8 * k));
		md_sb_decode(&c, c.raw);
		c.dev_sectors = sb.dev_sectors;
		c.minor = 2;
		md_sb_encode(&c); /* valid checksum, so the field check speaks */
		ok_err_clear(&e);
		assert_int_equal(md_sb_validate(&c, "x", &e), -EINVAL);
		if (!strstr(e.msg, bad[i].word))
			fail_msg("%s: message '%s'", bad[i].word, e.msg);
	}
	/* a wrong checksum */
	static struct md_sb c;
	memcpy(&c, &sb, sizeof(c));
	c.sb_csum ^= 1;
	assert_int_equal(md_sb_validate(&c, "x", &e), -EINVAL);
	assert_non_null(strstr(e.msg, "checksum"));
	assert_int_equal(e.offset, 8 * 512 + 216);
}

/* ---- geometry: raid5.c's layout tables (tested against the kernel) ---- */

static void test_stripe_tables(void **state)
{
	(void)state;
	/* "Q D0 D1 P" ... : for each stripe, what each disk holds */
	static const char *four[] = {"Q 0 1 P", "2 3 P Q", "5 P Q 4",
				     "P Q 6 7", "Q 8 9 P", "10 11 P Q"};
	static const char *five[] = {"Q 0 1 2 P",   "3 4 5 P Q",    "7 8 P Q 6",
				     "11 P Q 9 10", "P Q 12 13 14", "Q 15 16 17 P"};
	for (int t = 0; t < 2; t++) {
		int n = t ? 5 : 4;
		struct md_geom g = {6, MD_LEFT_SYMMETRIC, n, 8, 8 * 100};
		for (int s = 0; s < 6; s++) {
			struct md_stripe st;
			char got[64] = "";
			md_stripe_layout(&g, (uint64_t)s, &st);
			for (int d = 0; d < n; d++) {
				char w[16];
				if (d == st.pd)
					strcpy(w, "P");
				else if (d == st.qd)
					strcpy(w, "Q");
				for (int k = 0; k < st.nd; k++)
					if (st.data_dev[k] == d)
						snprintf(w, sizeof(w), "%d", s * st.nd + k);
				strcat(got, d ? " " : "");
				strcat(got, w);
			}
			assert_string_equal(got, t ? five[s] : four[s]);
			/* left-symmetric: slot j is the logical index k */
			for (int k = 0; k < st.nd; k++)
				assert_int_equal(st.qslot[k], k);
		}
	}
	/* stripe_map agrees with the table: array chunk 7 of 5 disks is on
	 * disk 0 of stripe 2 */
	struct md_geom g = {6, MD_LEFT_SYMMETRIC, 5, 8, 800};
	struct md_map m;
	stripe_map(&g, 7 * 8 + 3, &m);
	assert_int_equal(m.stripe, 2);
	assert_int_equal(m.dev, 0);
	assert_int_equal(m.rel_sector, 2 * 8 + 3);
	/* *_6 layouts: the slot follows the device walk, not k */
	struct md_geom g6 = {6, MD_LEFT_SYMMETRIC_6, 5, 8, 800};
	struct md_stripe st;
	md_stripe_layout(&g6, 1, &st);
	assert_int_equal(st.qd, 4);
	assert_int_equal(st.pd, 2);
	assert_int_equal(st.data_dev[0], 3);
	assert_int_equal(st.qslot[0], 2);
	assert_int_equal(st.data_dev[1], 0);
	assert_int_equal(st.qslot[1], 0);
	assert_string_equal(md_layout_name(6, 18), "left-symmetric-6");
	assert_int_equal(md_layout_parse(6, "parity-first-6"), 20);
	assert_int_equal(md_layout_parse(5, "parity-first-6"), -1);
	struct ok_err e;
	struct md_geom bad = {6, 2, 3, 8, 8};
	assert_int_equal(md_geom_check(&bad, NULL, &e), -EINVAL);
	bad.raid_disks = 4;
	bad.chunk_sectors = 12;
	assert_int_equal(md_geom_check(&bad, NULL, &e), -EINVAL);
}

static void test_human_size(void **state)
{
	(void)state;
	char b[64];
	md_human_size(b, sizeof(b), 126976LL * 512);
	assert_string_equal(b, " (62.00 MiB 65.01 MB)");
	md_human_size(b, sizeof(b), 4096);
	assert_string_equal(b, "");
	md_human_size(b, sizeof(b), 16LL << 30);
	assert_string_equal(b, " (16.00 GiB 17.18 GB)");
}

/* ---- bitmap and bad-block log ---- */

static void test_bblog(void **state)
{
	(void)state;
	uint8_t buf[64];
	struct md_bblog log;
	struct ok_err e;
	memset(buf, 0xff, sizeof(buf));
	uint64_t v = (1000ULL << 10) | 8;
	for (int i = 0; i < 8; i++)
		buf[i] = (uint8_t)(v >> (8 * i));
	v = (5000ULL << 10) | 1;
	for (int i = 0; i < 8; i++)
		buf[8 + i] = (uint8_t)(v >> (8 * i));
	assert_int_equal(md_bblog_parse(&log, buf, sizeof(buf), 0, "x", 0, &e), 0);
	assert_int_equal(log.n, 2);
	assert_true(md_bblog_hits(&log, 1007, 1));
	assert_false(md_bblog_hits(&log, 1008, 100));
	assert_true(md_bblog_hits(&log, 4990, 11));
	md_bblog_free(&log);
	assert_int_equal(md_bblog_parse(&log, buf, sizeof(buf), 3, "x", 0, &e), 0);
	assert_true(md_bblog_hits(&log, 8000 + 63, 1));
	md_bblog_free(&log);
	buf[8] = 0; /* length 0 is refused, as the kernel's badblocks_set does */
	buf[9] = 0;
	buf[8] = (uint8_t)(5000ULL << 10);
	assert_int_equal(md_bblog_parse(&log, buf, sizeof(buf), 0, "x", 0, &e), -EINVAL);
	assert_int_equal(e.offset, 8);
}

static void test_bitmap_parse(void **state)
{
	(void)state;
	struct md_bitmap bm = {0}, back;
	uint8_t buf[256], uuid[16] = {1, 2, 3};
	struct ok_err e;
	bm.magic = MD_BITMAP_MAGIC;
	bm.version = 4;
	memcpy(bm.uuid, uuid, 16);
	bm.chunksize = 64 << 20;
	bm.daemon_sleep = 5;
	bm.sync_size = 30720;
	md_bitmap_encode(&bm, buf);
	assert_int_equal(md_bitmap_parse(&back, buf, uuid, "x", 8192, &e), 0);
	assert_int_equal(md_bitmap_bits(&back), 1);
	assert_int_equal(md_bitmap_bytes(&back, 4096), 4096);
	uuid[0] = 9;
	assert_int_equal(md_bitmap_parse(&back, buf, uuid, "x", 8192, &e), -EINVAL);
	assert_int_equal(e.offset, 8192 + 8);
	buf[52] = 3; /* chunksize not a power of two */
	assert_int_equal(md_bitmap_parse(&back, buf, NULL, "x", 0, &e), -EINVAL);
}

/* ---- the engine under injected faults ---- */

static int fail_fd = -1;
static int writes_left = -1;
static int eio_reads;
static ssize_t fake_pread(int fd, void *b, size_t n, off_t off)
{
	if (fd == fail_fd) {
		eio_reads++;
		errno = EIO;
		return -1;
	}
	return pread(fd, b, n, off);
}
static ssize_t crash_pwrite(int fd, const void *b, size_t n, off_t off)
{
	if (writes_left == 0) {
		errno = EIO;
		return -1;
	}
	if (writes_left > 0)
		writes_left--;
	return pwrite(fd, b, n, off);
}

static void test_eio_read_reconstructs(void **state)
{
	(void)state;
	make_members(5, 4 << 20);
	create(6, 5, 16, 0, false);
	struct md_array a;
	struct ok_err e;
	assert_int_equal(md_array_open(&a, 5, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	size_t len = 1000000;
	uint8_t *in = malloc(len), *out = malloc(len);
	fill(in, len, 7);
	assert_int_equal(md_array_write(&a, 33333, in, len, &e), 0);
	/* every read of slot 3 fails with EIO: the data comes from P/Q */
	fail_fd = a.m[a.slot_member[3]].fd;
	io_sys.pread = fake_pread;
	eio_reads = 0;
	memset(out, 0, len);
	assert_int_equal(md_array_read(&a, 33333, out, len, &e), 0);
	io_sys = io_sys_default;
	fail_fd = -1;
	assert_true(eio_reads > 0);
	assert_memory_equal(in, out, len);
	assert_int_equal(md_array_close(&a, &e), 0);
	free(in);
	free(out);
}

/* Writes to the members whose fds are listed fail with EIO. */
static int bad_fds[4], n_bad_fds;
static ssize_t eio_pwrite(int fd, const void *b, size_t n, off_t off)
{
	for (int i = 0; i < n_bad_fds; i++)
		if (fd == bad_fds[i]) {
			errno = EIO;
			return -1;
		}
	return pwrite(fd, b, n, off);
}

/* A member that fails a write is marked faulty, as the kernel's md_error()
 * does: the write succeeds, the others' superblocks say "faulty" at once,
 * the data reads back (reconstructed) now and after a reopen. More failures
 * than RAID6 can lose fail the write. */
static void write_eio_marks_faulty(int bitmap)
{
	make_members(5, 4 << 20);
	create(6, 5, 16, bitmap, false);
	struct md_array a;
	struct ok_err e;
	size_t len = 1500000;
	uint8_t *in = malloc(len), *out = malloc(len);
	fill(in, len, 11);
	assert_int_equal(md_array_open(&a, 5, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	int victim = a.slot_member[2];
	bad_fds[0] = a.m[victim].fd;
	n_bad_fds = 1;
	io_sys.pwrite = eio_pwrite;
	int rc = md_array_write(&a, 77777, in, len, &e);
	if (rc == 0)
		rc = md_array_flush(&a, &e);
	io_sys = io_sys_default;
	n_bad_fds = 0;
	assert_int_equal(rc, 0);
	assert_true(a.m[victim].failed);
	assert_non_null(strstr(a.warn, "marked faulty"));
	memset(out, 0, len);
	assert_int_equal(md_array_read(&a, 77777, out, len, &e), 0);
	assert_memory_equal(in, out, len);
	assert_int_equal(md_array_close(&a, &e), 0);
	/* on disk: the others call it faulty; a reopen leaves it out */
	int fd = open(paths[0], O_RDONLY);
	static struct md_sb sb;
	assert_int_equal(md_sb_read(fd, paths[0], -1, &sb, &e), 0);
	close(fd);
	assert_int_equal(sb.dev_roles[2], MD_ROLE_FAULTY);
	assert_int_equal(sb.resync_offset, MD_MAX_SECTOR);
	assert_int_equal(md_array_open(&a, 5, paths, MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(a.missing, 1);
	memset(out, 0, len);
	assert_int_equal(md_array_read(&a, 77777, out, len, &e), 0);
	assert_memory_equal(in, out, len);
	assert_int_equal(md_array_close(&a, &e), 0);

	/* three members failing a RAID6 write: the write fails */
	create(6, 5, 16, 0, false);
	assert_int_equal(md_array_open(&a, 5, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	for (int k = 0; k < 3; k++)
		bad_fds[k] = a.m[a.slot_member[k]].fd;
	n_bad_fds = 3;
	io_sys.pwrite = eio_pwrite;
	rc = md_array_write(&a, 0, in, len, &e);
	if (rc == 0)
		rc = md_array_flush(&a, &e);
	io_sys = io_sys_default;
	n_bad_fds = 0;
	assert_int_equal(rc, -EIO);
	md_array_abandon(&a);
	free(in);
	free(out);
}

static void test_write_eio_marks_faulty(void **state)
{
	(void)state;
	write_eio_marks_faulty(0);
}

/* The same with a write-intent bitmap: its write fails first. */
static void test_write_eio_marks_faulty_bitmap(void **state)
{
	(void)state;
	write_eio_marks_faulty(1);
}

/* A crash mid-write: superblocks say active and the bitmap bits covering
 * the write are set; mdadm --examine of the member equals ours. */
static void test_crash_leaves_active_with_bits(void **state)
{
	(void)state;
	make_members(4, 8 << 20);
	create(6, 4, 64, 1, true);
	struct md_array a;
	struct ok_err e;
	size_t len = 3 << 20;
	uint8_t *in = malloc(len);
	fill(in, len, 9);
	/* a clean write first: the close clears mdadm's initial all-set bits */
	assert_int_equal(md_array_open(&a, 4, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(md_array_write(&a, 0, in, 4096, &e), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
	assert_int_equal(md_array_open(&a, 4, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	assert_true(a.has_bitmap);
	assert_int_equal(a.bm.events, 2);
	io_sys.pwrite = crash_pwrite;
	writes_left = 4 + 4 + 4 + 2; /* bitmap sb, superblocks, bits, then some data */
	int rc = md_array_write(&a, 0, in, len, &e);
	if (rc == 0)
		rc = md_array_flush(&a, &e); /* the last batch is written in the background */
	io_sys = io_sys_default;
	writes_left = -1;
	assert_int_equal(rc, -EIO);
	/* "crash": drop the array without closing it cleanly */
	md_array_abandon(&a);
	/* on disk: active, events bumped, bitmap bit 0 set, events in step */
	int fd = open(paths[0], O_RDONLY);
	static struct md_sb sb;
	assert_int_equal(md_sb_read(fd, paths[0], -1, &sb, &e), 0);
	assert_int_equal(sb.resync_offset, 0);
	assert_int_equal(sb.events, 3);
	uint8_t buf[512];
	assert_int_equal(pread(fd, buf, 512, (off_t)(sb.super_offset + 8) * 512), 512);
	struct md_bitmap bm;
	assert_int_equal(md_bitmap_parse(&bm, buf, sb.set_uuid, "x", 0, &e), 0);
	assert_int_equal(bm.events, 3);
	assert_int_equal(buf[256] & 1, 1);
	/* examine agrees with mdadm on this state */
	char cmd[800], ours[300];
	snprintf(ours, sizeof(ours), "%s/ours.txt", dir);
	FILE *f = fopen(ours, "w");
	md_examine_print(f, paths[0], &sb, &bm, "testhost");
	fclose(f);
	close(fd);
	snprintf(cmd, sizeof(cmd),
		 "command -v mdadm >/dev/null || exit 77; TZ=UTC mdadm --examine "
		 "--homehost=testhost %s | cmp -s - %s",
		 paths[0], ours);
	setenv("TZ", "UTC", 1);
	rc = system(cmd);
	if (WEXITSTATUS(rc) != 77)
		assert_int_equal(WEXITSTATUS(rc), 0);
	/* the kernel would resync it; a write now must refuse nothing (not
	 * degraded) and a clean close keeps it dirty (resync still due) */
	assert_int_equal(md_array_open(&a, 4, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	assert_true(a.dirty);
	assert_int_equal(md_array_write(&a, 0, in, 4096, &e), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
	fd = open(paths[1], O_RDONLY);
	assert_int_equal(md_sb_read(fd, paths[1], -1, &sb, &e), 0);
	assert_int_equal(sb.resync_offset, 0);
	close(fd);
	free(in);
}

/* Bits are set before the data they cover is written. */
static int order_fd_bitmap_seen;
static int order_data_before_bits;
static uint64_t bm_byte;
static ssize_t order_pwrite(int fd, const void *b, size_t n, off_t off)
{
	(void)fd;
	if ((uint64_t)off == bm_byte)
		order_fd_bitmap_seen = 1;
	else if (off >= 2048 * 512 && !order_fd_bitmap_seen)
		order_data_before_bits = 1;
	return pwrite(fd, b, n, off);
}

static void test_bits_before_data(void **state)
{
	(void)state;
	make_members(4, 8 << 20);
	create(6, 4, 64, 1, true);
	struct md_array a;
	struct ok_err e;
	uint8_t buf[8192];
	fill(buf, sizeof(buf), 3);
	/* a clean cycle clears the bits create set */
	assert_int_equal(md_array_open(&a, 4, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(md_array_write(&a, 0, buf, 512, &e), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
	assert_int_equal(md_array_open(&a, 4, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(md_array_mark_active(&a, &e), 0);
	bm_byte = a.m[0].bm.start * 512;
	order_fd_bitmap_seen = order_data_before_bits = 0;
	io_sys.pwrite = order_pwrite;
	assert_int_equal(md_array_write(&a, 100000, buf, sizeof(buf), &e), 0);
	assert_int_equal(md_array_flush(&a, &e), 0);
	io_sys = io_sys_default;
	assert_int_equal(order_fd_bitmap_seen, 1);
	assert_int_equal(order_data_before_bits, 0);
	assert_int_equal(md_array_close(&a, &e), 0);
}

/* Tiny budgets force row slices (as 64 MiB chunks do) on every path. */
static void test_sliced_paths(void **state)
{
	(void)state;
	make_members(4, 4 << 20);
	create(6, 4, 64, 0, false);
	struct md_array a;
	struct ok_err e;
	assert_int_equal(md_array_open(&a, 4, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	a.budget_bytes = 7 * 8192; /* 8 KiB rows of a 64 KiB chunk */
	size_t len = 700000;
	uint8_t *in = malloc(len), *out = malloc(len);
	fill(in, len, 5);
	assert_int_equal(md_array_write(&a, 5000, in, len, &e), 0);
	assert_int_equal(md_array_read(&a, 5000, out, len, &e), 0);
	assert_memory_equal(in, out, len);
	assert_int_equal(md_array_check(&a, false, NULL, NULL, &e), 0);
	assert_int_equal(a.mismatches, 0);
	assert_int_equal(md_array_close(&a, &e), 0);
	/* degraded, sliced */
	char *deg[4] = {paths[0], "missing", paths[2], "missing"};
	assert_int_equal(md_array_open(&a, 4, deg, MD_OPEN_NO_SAFETY, &e), 0);
	a.budget_bytes = 7 * 8192;
	memset(out, 0, len);
	assert_int_equal(md_array_read(&a, 5000, out, len, &e), 0);
	assert_memory_equal(in, out, len);
	assert_int_equal(md_array_close(&a, &e), 0);
	free(in);
	free(out);
}

/* One unreadable 4 KiB block (of whichever fd reads that file) that a
 * pwrite covering it heals, as a disk remaps a sector on write. */
static struct stat bad_st;
static off_t bad_off = -1;
static int bad_reads;
static bool on_bad(int fd, off_t off, size_t n)
{
	struct stat st;
	return bad_off >= 0 && fstat(fd, &st) == 0 && st.st_dev == bad_st.st_dev &&
	       st.st_ino == bad_st.st_ino && off < bad_off + 4096 && off + (off_t)n > bad_off;
}
static ssize_t bad_pread(int fd, void *b, size_t n, off_t off)
{
	if (on_bad(fd, off, n)) {
		__atomic_add_fetch(&bad_reads, 1, __ATOMIC_SEQ_CST);
		errno = EIO;
		return -1;
	}
	return pread(fd, b, n, off);
}
static ssize_t heal_pwrite(int fd, const void *b, size_t n, off_t off)
{
	if (on_bad(fd, off, n) && off <= bad_off && off + (off_t)n >= bad_off + 4096)
		bad_off = -1;
	return pwrite(fd, b, n, off);
}
/* Zero the block at off of path on disk and make its reads fail. */
static void break_block(const char *path, off_t off)
{
	uint8_t z[4096] = {0};
	int fd = open(path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, z, sizeof(z), off), (ssize_t)sizeof(z));
	assert_int_equal(fstat(fd, &bad_st), 0);
	close(fd);
	bad_off = off;
	bad_reads = 0;
	io_sys.pread = bad_pread;
	io_sys.pwrite = heal_pwrite;
}
static void block_equals(const char *path, off_t off, const uint8_t *want)
{
	uint8_t got[4096];
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(pread(fd, got, sizeof(got), off), (ssize_t)sizeof(got));
	close(fd);
	assert_memory_equal(got, want, sizeof(got));
}

/* A member's superblock as it is on disk. */
static void sb_of(const char *path, struct md_sb *sb)
{
	struct ok_err e;
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(md_sb_read(fd, path, -1, sb, &e), 0);
	close(fd);
}

/*
 * md_array_read_shared (the nbdkit plugin's concurrent reads) against the
 * bytes md_array_write wrote, for a fixed-seed sample of ranges (inside a
 * chunk, across chunks, whole stripes, unaligned buffers and offsets), the
 * array healthy, one and two members missing, and from four threads at
 * once; -EAGAIN where it must leave the read to md_array_read (a member
 * read that fails), which then rebuilds the data.
 */
struct shared_job {
	struct md_array *a;
	const uint8_t *in;
	size_t len;
	uint32_t seed;
	int bad; /* ranges that differed or failed */
};

static void *shared_reads(void *arg)
{
	struct shared_job *j = arg;
	uint8_t *buf = NULL;
	assert_int_equal(posix_memalign((void **)&buf, 4096, (1 << 20) + 8192), 0);
	for (int i = 0; i < 200; i++) {
		j->seed = j->seed * 1664525 + 1013904223;
		uint32_t r = j->seed >> 8;
		/* a quarter whole stripes (192 KiB here), the rest up to 300 KiB */
		size_t n = i % 4 == 0 ? 3 * 65536 * (1 + r % 3) : 1 + r % 300000;
		uint64_t off = i % 4 == 0 ? (uint64_t)(r % 16) * 3 * 65536 : r % (j->len - n);
		if (off + n > j->len)
			off = j->len - n;
		size_t mis = i % 3 == 0 ? 0 : 1 + r % 4095; /* buffer misalignment */
		struct ok_err e;
		if (md_array_read_shared(j->a, off, buf + mis, n, &e) != 0 ||
		    memcmp(buf + mis, j->in + off, n) != 0)
			j->bad++;
	}
	free(buf);
	return NULL;
}

static void shared_check(struct md_array *a, const uint8_t *in, size_t len, int threads)
{
	struct shared_job jobs[4];
	pthread_t th[4];
	for (int t = 0; t < threads; t++) {
		jobs[t] = (struct shared_job){a, in, len, 77u + (uint32_t)t, 0};
		assert_int_equal(pthread_create(&th[t], NULL, shared_reads, &jobs[t]), 0);
	}
	for (int t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		assert_int_equal(jobs[t].bad, 0);
	}
}

static void test_read_shared(void **state)
{
	(void)state;
	make_members(5, 4 << 20);
	create(6, 5, 64, 1, false);
	struct md_array a;
	struct ok_err e;
	assert_int_equal(md_array_open(&a, 5, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	size_t len = (size_t)md_array_bytes(&a);
	uint8_t *in = malloc(len), *out = malloc(len);
	assert_non_null(in);
	assert_non_null(out);
	fill(in, len, 21);
	assert_int_equal(md_array_write(&a, 0, in, len, &e), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
	char *h[5] = {paths[0], paths[1], paths[2], paths[3], paths[4]};
	char *d1[5] = {paths[0], paths[1], "missing", paths[3], paths[4]};
	char *d2[5] = {"missing", paths[1], paths[2], "missing", paths[4]};
	char **sets[3] = {h, d1, d2};
	for (int k = 0; k < 3; k++) {
		assert_int_equal(md_array_open(&a, 5, sets[k], MD_OPEN_NO_SAFETY, &e), 0);
		shared_check(&a, in, len, 1);
		shared_check(&a, in, len, 4);
		/* the whole array in one call, aligned: read_direct's stripes */
		memset(out, 0, len);
		assert_int_equal(md_array_read_shared(&a, 0, out, len, &e), 0);
		assert_memory_equal(out, in, len);
		assert_int_equal(md_array_close(&a, &e), 0);
	}
	/* a member read that fails: -EAGAIN, and md_array_read rebuilds it */
	assert_int_equal(md_array_open(&a, 5, h, MD_OPEN_NO_SAFETY, &e), 0);
	off_t blk = (off_t)a.m[1].sb.data_offset * 512 + 8192;
	assert_int_equal(md_array_close(&a, &e), 0);
	break_block(paths[1], blk);
	assert_int_equal(md_array_open(&a, 5, h, MD_OPEN_NO_SAFETY, &e), 0);
	/* stripe 0 of left-symmetric RAID6 on 5: data chunk 0 on member 1 */
	assert_int_equal(md_array_read_shared(&a, 4096, out, 16384, &e), -EAGAIN);
	assert_int_equal(md_array_read(&a, 4096, out, 16384, &e), 0);
	assert_memory_equal(out, in + 4096, 16384);
	assert_int_equal(md_array_close(&a, &e), 0);
	io_sys = io_sys_default;
	assert_true(bad_reads > 0);
	free(in);
	free(out);
}

/* A block that fails to read under write (read-modify-write of its stripe)
 * and under rebuild is rebuilt from P/Q, rewritten in place with the
 * original bytes, and counted (issue 15). */
static void test_read_error_rewritten(void **state)
{
	(void)state;
	make_members(4, 4 << 20);
	create(6, 4, 64, 0, false);
	struct md_array a;
	struct ok_err e;
	size_t len = 1000000;
	uint8_t *in = malloc(len), *out = malloc(len), orig[4096];
	fill(in, len, 9);
	assert_int_equal(md_array_open(&a, 4, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(md_array_write(&a, 0, in, len, &e), 0);
	/* stripe 0 of RAID6 left-symmetric on 4: Q on 0, data on 1 and 2, P on 3 */
	off_t blk = (off_t)a.m[1].sb.data_offset * 512 + 8192;
	assert_int_equal(md_array_close(&a, &e), 0);
	block_equals(paths[1], blk, in + 8192); /* data block 0 of stripe 0 */
	memcpy(orig, in + 8192, sizeof(orig));

	/* write 100 bytes into the other data chunk of stripe 0, in the 4 KiB
	 * row of the broken block (md's stripe unit: a reconstruct-write
	 * reads that row of the other data chunk, and only that row) */
	break_block(paths[1], blk);
	assert_int_equal(md_array_open(&a, 4, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	fill(in + 65536 + 8192 + 300, 100, 10);
	assert_int_equal(md_array_write(&a, 65536 + 8192 + 300, in + 65536 + 8192 + 300, 100, &e),
			 0);
	assert_int_equal(md_array_close(&a, &e), 0);
	io_sys = io_sys_default;
	assert_true(bad_reads > 0);
	assert_int_equal(a.read_errors, 1);
	assert_int_equal(a.read_fixed, 1);
	block_equals(paths[1], blk, orig);
	/* raid5_end_read_request adds RAID5_STRIPE_SECTORS (8 for the 4 KiB
	 * block) to corrected_errors, which super_1_sync stores as
	 * cnt_corrected_read; the others' counters stay 0 */
	struct md_sb sb;
	sb_of(paths[1], &sb);
	assert_int_equal(sb.cnt_corrected_read, 8);
	sb_of(paths[0], &sb);
	assert_int_equal(sb.cnt_corrected_read, 0);

	/* rebuild slot 3 onto a new file while slot 1's block fails */
	char newp[300], *deg[4] = {paths[0], paths[1], paths[2], "missing"};
	snprintf(newp, sizeof(newp), "%s/new.img", dir);
	int nfd = open(newp, O_CREAT | O_RDWR | O_TRUNC, 0600);
	assert_true(nfd >= 0);
	assert_int_equal(ftruncate(nfd, 4 << 20), 0);
	close(nfd);
	break_block(paths[1], blk);
	assert_int_equal(md_array_open(&a, 4, deg, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(md_array_rebuild(&a, 3, newp, UINT64_MAX, &e), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
	io_sys = io_sys_default;
	assert_int_equal(a.read_errors, 1);
	assert_int_equal(a.read_fixed, 1);
	block_equals(paths[1], blk, orig);
	sb_of(paths[1], &sb); /* loaded (super_1_validate) and added to */
	assert_int_equal(sb.cnt_corrected_read, 16);
	/* the rebuilt member carries the right data: read without slot 1, 2 */
	char *two[4] = {paths[0], "missing", "missing", newp};
	assert_int_equal(md_array_open(&a, 4, two, MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(md_array_read(&a, 0, out, len, &e), 0);
	assert_memory_equal(in, out, len);
	assert_int_equal(md_array_close(&a, &e), 0);
	free(in);
	free(out);
}

/* Writes to the broken file fail everywhere (the block cannot be
 * rewritten, the bad-block log not written): md_error's case. */
static ssize_t dead_pwrite(int fd, const void *b, size_t n, off_t off)
{
	struct stat st;
	if (fstat(fd, &st) == 0 && st.st_dev == bad_st.st_dev && st.st_ino == bad_st.st_ino) {
		errno = EIO;
		return -1;
	}
	return pwrite(fd, b, n, off);
}

/* A block that can be neither rewritten nor recorded in the bad-block log
 * fails its member as raid5_end_read_request does (md_error when
 * rdev_set_badblocks fails): check (opened read-only) marks it faulty in
 * the other members' superblocks (events + 1), reports it, and a read
 * after that goes on degraded with the right data. */
static void test_read_error_fails_member(void **state)
{
	(void)state;
	make_members(4, 4 << 20);
	create(6, 4, 64, 0, false);
	struct md_array a;
	struct ok_err e;
	size_t len = 1000000;
	uint8_t *in = malloc(len), *out = malloc(len);
	fill(in, len, 11);
	assert_int_equal(md_array_open(&a, 4, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(md_array_write(&a, 0, in, len, &e), 0);
	off_t blk = (off_t)a.m[1].sb.data_offset * 512 + 8192;
	assert_int_equal(md_array_close(&a, &e), 0);
	struct md_sb before, sb;
	sb_of(paths[0], &before);
	break_block(paths[1], blk);
	io_sys.pwrite = dead_pwrite;
	assert_int_equal(md_array_open(&a, 4, paths, MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(md_array_check(&a, false, NULL, NULL, &e), 0);
	assert_int_equal(a.read_errors, 1);
	assert_int_equal(a.read_fixed, 0);
	assert_int_equal(a.read_logged, 0);
	assert_int_equal(a.read_failed, 1);
	assert_true(a.m[1].failed);
	assert_non_null(strstr(a.warn, "marked faulty"));
	assert_int_equal(md_array_close(&a, &e), 0);
	io_sys = io_sys_default;
	sb_of(paths[0], &sb);
	assert_int_equal(sb.events, before.events + 1);
	assert_int_equal(sb.dev_roles[before.dev_number], 0); /* itself still slot 0 */
	sb_of(paths[1], &before);
	assert_int_equal(sb.dev_roles[before.dev_number], MD_ROLE_FAULTY);
	/* the array opens without it (its superblock is stale) and reads right */
	assert_int_equal(md_array_open(&a, 4, paths, MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(a.missing, 1);
	assert_int_equal(md_array_read(&a, 0, out, len, &e), 0);
	assert_memory_equal(in, out, len);
	assert_int_equal(md_array_close(&a, &e), 0);
	free(in);
	free(out);
}

/* Read-modify-write and reconstruct-write give the same parity as a
 * full-stripe write of the same content. */
static void test_rmw_equals_rcw(void **state)
{
	(void)state;
	make_members(8, 2 << 20);
	create(6, 8, 4, 0, false);
	struct md_array a;
	struct ok_err e;
	assert_int_equal(md_array_open(&a, 8, paths, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	uint8_t buf[24576];
	for (int t = 0; t < 40; t++) {
		size_t off = (size_t)(t * 7919) % 1000000, len = 1 + (size_t)(t * 131) % 20000;
		fill(buf, len, (uint32_t)t);
		assert_int_equal(md_array_write(&a, off, buf, len, &e), 0);
	}
	assert_int_equal(md_array_check(&a, false, NULL, NULL, &e), 0);
	assert_int_equal(a.mismatches, 0);
	assert_int_equal(md_array_close(&a, &e), 0);
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/mdraid-unit.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	for (int i = 0; i < 8; i++)
		free(paths[i]);
	return 0;
}

/* iopool.h's contract, which is md_par_run's (member.h): every job runs
 * exactly once even when some fail, the lowest-numbered failure is returned
 * with its e, rcs gets each job's result; batches reuse the threads; a
 * background batch is finished by md_pool_wait; inline batches run in
 * order, in the caller. */
struct pool_ctx {
	pthread_mutex_t mu;
	int ran[8];
	int order[8];
	int seq;
	pthread_t caller;
	int on_caller;
};

static int pool_job(void *ctx, int i, struct ok_err *e)
{
	struct pool_ctx *c = ctx;
	pthread_mutex_lock(&c->mu);
	c->ran[i]++;
	c->order[c->seq++] = i;
	c->on_caller += pthread_equal(pthread_self(), c->caller) != 0;
	pthread_mutex_unlock(&c->mu);
	if (i == 2 || i == 5)
		return ok_err_at(e, -(EIO + i), "job", i, "job %d failed", i);
	return 0;
}

static void pool_reset(struct pool_ctx *c)
{
	memset(c->ran, 0, sizeof c->ran);
	c->seq = c->on_caller = 0;
	c->caller = pthread_self();
}

static void test_pool(void **state)
{
	(void)state;
	struct md_pool *p = md_pool_new(6);
	struct pool_ctx c;
	struct ok_err e;
	int rcs[8];
	assert_non_null(p);
	pthread_mutex_init(&c.mu, NULL);
	for (int round = 0; round < 200; round++) {
		pool_reset(&c);
		ok_err_clear(&e);
		assert_int_equal(md_pool_run(p, 6, true, pool_job, &c, rcs, &e), -(EIO + 2));
		assert_string_equal(e.path, "job");
		assert_int_equal(e.offset, 2);
		for (int i = 0; i < 6; i++) {
			assert_int_equal(c.ran[i], 1);
			assert_int_equal(rcs[i], i == 2 || i == 5 ? -(EIO + i) : 0);
		}
	}
	/* in the background: md_pool_start runs nothing in the caller (the
	 * caller may take what is left in md_pool_wait); then waited for */
	pool_reset(&c);
	md_pool_start(p, 4, true, pool_job, &c);
	pthread_mutex_lock(&c.mu);
	assert_int_equal(c.on_caller, 0);
	pthread_mutex_unlock(&c.mu);
	assert_int_equal(md_pool_wait(p, rcs, &e), -(EIO + 2));
	for (int i = 0; i < 4; i++)
		assert_int_equal(c.ran[i], 1);
	assert_int_equal(md_pool_wait(p, NULL, NULL), 0); /* none running */
	/* inline: in order, in the caller, started or run */
	pool_reset(&c);
	md_pool_start(p, 5, false, pool_job, &c);
	assert_int_equal(c.seq, 5);
	assert_int_equal(md_pool_wait(p, NULL, NULL), -(EIO + 2));
	pool_reset(&c);
	assert_int_equal(md_pool_run(p, 2, false, pool_job, &c, NULL, NULL), 0);
	for (int i = 0; i < 5; i++)
		assert_int_equal(i < 2 ? c.order[i] : i, i);
	assert_int_equal(c.on_caller, 2);
	md_pool_free(p);
	pthread_mutex_destroy(&c.mu);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sb_roundtrip),
	    cmocka_unit_test(test_sb_validate),
	    cmocka_unit_test(test_stripe_tables),
	    cmocka_unit_test(test_human_size),
	    cmocka_unit_test(test_bblog),
	    cmocka_unit_test(test_bitmap_parse),
	    cmocka_unit_test(test_eio_read_reconstructs),
	    cmocka_unit_test(test_write_eio_marks_faulty),
	    cmocka_unit_test(test_write_eio_marks_faulty_bitmap),
	    cmocka_unit_test(test_crash_leaves_active_with_bits),
	    cmocka_unit_test(test_bits_before_data),
	    cmocka_unit_test(test_sliced_paths),
	    cmocka_unit_test(test_rmw_equals_rcw),
	    cmocka_unit_test(test_read_error_rewritten),
	    cmocka_unit_test(test_read_error_fails_member),
	    cmocka_unit_test(test_read_shared),
	    cmocka_unit_test(test_pool),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
