/*
 * test_usbcopy.c: unit tests of libusbcopy.
 *
 * - bmap parser: the fixture tests/usbcopy/data/sample.bmap (made by
 *   `bmaptool create` from data/mkimg.sh's image, bmap-tools 3.6), format
 *   1.3 and 1.2 variants derived from it here, and broken variants, each with
 *   the message and line it must give;
 * - the fault-list parser;
 * - sources: a sparse file's data and hole extents, short images;
 * - the engine through lib/io.h's io_sys table: a write that lands wrong once
 *   is caught and re-written (rewritten == 1), one that always lands wrong
 *   fails after 3 tries on the right block, EIO on write and on read-back,
 *   the first chunk written last and never when the write failed.
 * Targets are regular files prefilled with a pattern, so a skipped write
 * cannot pass for a good one.
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
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hash.h"
#include "io.h"
#include "usbcopy.h"

#define CHUNK (64 * 1024)

static char tmpdir[256];

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return b;
}

static char *fixture(const char *name, size_t *len)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/tests/usbcopy/data/%s", getenv("OPSKIT_SOURCE"), name);
	return slurp(p, len);
}

/* Replace the first occurrence of from by to (a new string). */
static char *subst(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	assert_non_null(at);
	size_t n = strlen(s) - strlen(from) + strlen(to);
	char *r = malloc(n + 1);
	memcpy(r, s, (size_t)(at - s));
	strcpy(r + (at - s), to);
	strcat(r, at + strlen(from));
	return r;
}

static int parse(const char *text, struct uc_bmap *b, struct ok_err *e)
{
	ok_err_clear(e);
	int r = uc_bmap_parse(text, strlen(text), "t.bmap", b, e);
	return r;
}

/* ---------------------------------------------------------------- bmap */

static void test_bmap_v2(void **state)
{
	(void)state;
	size_t n;
	char *t = fixture("sample.bmap", &n);
	struct uc_bmap b;
	struct ok_err e;
	assert_int_equal(parse(t, &b, &e), 0);
	assert_int_equal(b.major, 2);
	assert_int_equal(b.image_size, 1049576);
	assert_int_equal(b.block_size, 4096);
	assert_int_equal(b.blocks_count, 257);
	assert_int_equal(b.mapped_count, 24);
	assert_int_equal(b.algo, HASH_SHA256);
	assert_int_equal(b.n, 4);
	assert_int_equal(b.r[0].first, 0);
	assert_int_equal(b.r[0].last, 1);
	assert_int_equal(b.r[1].first, 10);
	assert_int_equal(b.r[1].last, 10);
	assert_int_equal(b.r[2].first, 100);
	assert_int_equal(b.r[2].last, 119);
	assert_int_equal(b.r[3].first, 256);
	assert_true(b.r[3].has_sum);
	uint8_t want[32];
	hex_decode("c9b21de9bf7f8e4e195d9b384b2a52fb2802596a9415a392688100b0e6171614", want, 32);
	assert_memory_equal(b.r[3].sum, want, 32);
	uc_bmap_free(&b);
	free(t);
}

/* The v2 fixture rewritten into format 1.3 / 1.2 (sha1 sums made here). */
static char *make_v1(int minor, const char *img_path)
{
	size_t n;
	char *img = slurp(img_path, &n);
	static const uint64_t r[4][2] = {{0, 1}, {10, 10}, {100, 119}, {256, 256}};
	char *t = malloc(8192);
	int k = sprintf(t,
			"<?xml version=\"1.0\" ?>\n<!-- comment -->\n<bmap version=\"1.%d\">\n"
			"    <ImageSize> 1049576 </ImageSize>\n    <BlockSize> 4096 </BlockSize>\n"
			"    <BlocksCount> 257 </BlocksCount>\n",
			minor);
	if (minor == 3)
		k += sprintf(t + k, "    <BmapFileSHA1> %040d </BmapFileSHA1>\n", 0);
	k += sprintf(t + k, "    <BlockMap>\n");
	for (int i = 0; i < 4; i++) {
		uint64_t a = r[i][0] * 4096, z = (r[i][1] + 1) * 4096;
		if (z > n)
			z = n;
		uint8_t d[HASH_MAX];
		char hex[HASH_MAX * 2 + 1];
		hash_buf(HASH_SHA1, img + a, z - a, d);
		hex_encode(d, 20, hex);
		if (r[i][0] == r[i][1])
			k += sprintf(t + k, "        <Range sha1=\"%s\"> %llu </Range>\n", hex,
				     (unsigned long long)r[i][0]);
		else
			k += sprintf(t + k, "        <Range sha1=\"%s\"> %llu-%llu </Range>\n", hex,
				     (unsigned long long)r[i][0], (unsigned long long)r[i][1]);
	}
	k += sprintf(t + k, "    </BlockMap>\n    <MappedBlocksCount> 24 </MappedBlocksCount>\n"
			    "</bmap>\n");
	if (minor == 3) { /* the file checksum over the text with its value zeroed */
		uint8_t d[HASH_MAX];
		char hex[41];
		hash_buf(HASH_SHA1, t, (size_t)k, d);
		hex_encode(d, 20, hex);
		char *z = strstr(t, "<BmapFileSHA1> ") + 15;
		memcpy(z, hex, 40);
	}
	free(img);
	return t;
}

static char sample_img[512];

static void test_bmap_v1(void **state)
{
	(void)state;
	struct uc_bmap b;
	struct ok_err e;
	for (int minor = 2; minor <= 3; minor++) {
		char *t = make_v1(minor, sample_img);
		assert_int_equal(parse(t, &b, &e), 0);
		assert_int_equal(b.major, 1);
		assert_int_equal(b.minor, minor);
		assert_int_equal(b.algo, HASH_SHA1);
		assert_int_equal(b.mapped_count, 24);
		assert_int_equal(b.n, 4);
		uc_bmap_free(&b);
		/* and it drives a source whose range checks pass */
		assert_int_equal(parse(t, &b, &e), 0);
		struct uc_src *s;
		assert_int_equal(uc_src_open(sample_img, &b, NULL, NULL, CHUNK, 0, &s, &e), 0);
		struct uc_chunk c;
		assert_int_equal(uc_chunk_alloc(&c, CHUNK), 0);
		int r, chunks = 0;
		uint64_t bytes = 0;
		while ((r = uc_src_next(s, &c, &e)) > 0) {
			chunks++;
			for (uint32_t i = 0; i < c.next; i++)
				bytes += c.ext[i].len;
		}
		assert_int_equal(r, 0);
		/* 16-block chunks: 0-1 and 10 | 100-111 | 112-119 | 256 */
		assert_int_equal(chunks, 4);
		assert_int_equal(bytes, (uint64_t)(2 + 1 + 20) * 4096 + (1049576 - 256 * 4096));
		uc_chunk_free(&c);
		uc_src_close(s);
		uc_bmap_free(&b);
		free(t);
	}
	/* a 1.3 file whose own checksum is off */
	char *t = make_v1(3, sample_img);
	char *bad = subst(t, "<ImageSize> 1049576", "<ImageSize>  1049576");
	assert_int_equal(parse(bad, &b, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "bmap file checksum mismatch"));
	assert_int_equal(e.line, 7); /* the <BmapFileSHA1> line */
	uc_bmap_free(&b);
	free(bad);
	free(t);
}

static void test_bmap_errors(void **state)
{
	(void)state;
	size_t n;
	char *t = fixture("sample.bmap", &n);
	static const struct {
		const char *from, *to, *msg;
	} cases[] = {
	    {"version=\"2.0\"", "version=\"3.0\"", "bmap format version 3.0, expected 1.x or 2.x"},
	    {"<BlocksCount> 257", "<BlocksCount> 258", "BlocksCount 258 does not match"},
	    {"> 10 </Range>", "> 1 </Range>", "overlaps or precedes"},
	    {"> 256 </Range>", "> 257 </Range>", "beyond the image's 257 blocks"},
	    {"> 100-119 <", "> 119-100 <", "runs backwards"},
	    {"> 100-119 <", "> 100-1x9 <", "bad block range"},
	    {"<MappedBlocksCount> 24", "<MappedBlocksCount> 25", "MappedBlocksCount says 25"},
	    {"<BlockSize> 4096 </BlockSize>", "", "missing <BlockSize>"},
	    {"sha256 </ChecksumType>", "md4 </ChecksumType>", "unknown checksum type"},
	    {"</ImageSize>", "</Imagesize>", "missing closing tag for <ImageSize>"},
	    {"<BlockMap>", "<BlockMap> junk", "unexpected text 'junk"},
	    /* a changed range sum leaves the file checksum wrong */
	    {"c9b21de9", "d9b21de9", "bmap file checksum mismatch"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *bad = subst(t, cases[i].from, cases[i].to);
		struct uc_bmap b;
		struct ok_err e;
		int r = parse(bad, &b, &e);
		if (r != -EINVAL || !strstr(e.msg, cases[i].msg))
			fail_msg("case %zu: got %d '%s', expected '%s'", i, r, e.msg, cases[i].msg);
		uc_bmap_free(&b);
		free(bad);
	}
	struct uc_bmap b;
	struct ok_err e;
	assert_int_equal(parse("", &b, &e), -EINVAL);
	assert_string_equal(e.msg, "not a bmap file (no <bmap>)");
	uc_bmap_free(&b);
	free(t);
}

/* A range whose bytes differ from its checksum is caught while reading. */
static void test_bmap_range_mismatch(void **state)
{
	(void)state;
	char img[600];
	snprintf(img, sizeof(img), "%s/changed.img", tmpdir);
	char cmd[1400];
	snprintf(cmd, sizeof(cmd),
		 "cp %s %s && printf X | dd of=%s bs=1 seek=409700 conv=notrunc status=none",
		 sample_img, img, img);
	assert_int_equal(system(cmd), 0);
	size_t n;
	char *t = fixture("sample.bmap", &n);
	struct uc_bmap b;
	struct ok_err e;
	assert_int_equal(parse(t, &b, &e), 0);
	struct uc_src *s;
	assert_int_equal(uc_src_open(img, &b, NULL, NULL, CHUNK, 0, &s, &e), 0);
	struct uc_chunk c;
	assert_int_equal(uc_chunk_alloc(&c, CHUNK), 0);
	int r;
	while ((r = uc_src_next(s, &c, &e)) > 0)
		;
	assert_int_equal(r, -EBADMSG);
	assert_non_null(strstr(e.msg, "checksum mismatch for blocks range 100-119: calculated "));
	assert_int_equal(e.offset, 409600);
	uc_chunk_free(&c);
	uc_src_close(s);
	uc_bmap_free(&b);
	free(t);
}

/* ---------------------------------------------------------------- faults */

static void test_faults_parse(void **state)
{
	(void)state;
	struct uc_faults f;
	struct ok_err e;
	assert_int_equal(uc_faults_parse("corrupt@3x1,drop@5,eio@7,kill@9", &f, &e), 0);
	assert_int_equal(f.n, 4);
	assert_int_equal(f.f[0].kind, UC_F_CORRUPT);
	assert_int_equal(f.f[0].block, 3);
	assert_int_equal(f.f[0].count, 1);
	assert_int_equal(f.f[1].count, -1);
	assert_int_equal(f.f[3].kind, UC_F_KILL);
	assert_int_equal(uc_faults_parse("rdeio@1,backing@2x2", &f, &e), 0);
	assert_int_equal(f.f[1].kind, UC_F_BACKING);
	assert_int_equal(f.f[1].count, 2);
	assert_int_equal(uc_faults_parse("sigint@4", &f, &e), 0);
	assert_int_equal(f.f[0].kind, UC_F_SIGINT);
	assert_int_equal(uc_faults_parse("melt@1", &f, &e), -EINVAL);
	assert_string_equal(e.msg, "unknown fault kind 'melt'");
	assert_int_equal(uc_faults_parse("eio@x", &f, &e), -EINVAL);
	assert_int_equal(uc_faults_parse("eio@1x0", &f, &e), -EINVAL);
	assert_int_equal(uc_faults_parse("eio@1;", &f, &e), -EINVAL);
}

/* ---------------------------------------------------------------- sources */

static void test_src_sparse(void **state)
{
	(void)state;
	struct uc_src *s;
	struct ok_err e;
	assert_int_equal(uc_src_open(sample_img, NULL, NULL, NULL, CHUNK, 0, &s, &e), 0);
	assert_string_equal(uc_src_kind(s), "sparse");
	assert_int_equal(uc_src_size(s), 1049576);
	struct uc_chunk c;
	assert_int_equal(uc_chunk_alloc(&c, CHUNK), 0);
	assert_int_equal(uc_src_next(s, &c, &e), 1);
	/* chunk 0: blocks 0-1 data, 2-9 hole, 10 data, 11-15 hole */
	assert_int_equal(c.index, 0);
	assert_int_equal(c.next, 4);
	assert_int_equal(c.ext[0].zero, 0);
	assert_int_equal(c.ext[0].len, 8192);
	assert_int_equal(c.ext[1].zero, 1);
	assert_int_equal(c.ext[1].off, 8192);
	assert_int_equal(c.ext[2].off, 40960);
	assert_int_equal(c.ext[2].zero, 0);
	assert_int_equal(c.ext[3].zero, 1);
	assert_int_equal(c.buf[40960], 'a');
	assert_int_equal(c.buf[8192], 0);
	int chunks = 1, r;
	while ((r = uc_src_next(s, &c, &e)) > 0)
		chunks++;
	assert_int_equal(r, 0);
	assert_int_equal(chunks, 17); /* 16 full chunks and 1000 bytes */
	assert_int_equal(uc_src_offset(s), 1049576);
	uc_chunk_free(&c);
	uc_src_close(s);

	/* --sha256 of a regular file: a wrong digest is found at open, before
	 * anything could be written; the right one (sha256 of the file, from
	 * hash_buf, an independent path) passes early */
	uint8_t bad[32] = {1};
	assert_int_equal(uc_src_open(sample_img, NULL, NULL, bad, CHUNK, UC_SRC_NO_SPARSE, &s, &e),
			 -EBADMSG);
	assert_non_null(strstr(e.msg, "SHA-256 mismatch: image is "));
	assert_null(s);
	{
		FILE *f = fopen(sample_img, "rb");
		assert_non_null(f);
		static uint8_t whole[1049576 + 1];
		size_t got = fread(whole, 1, sizeof(whole), f);
		fclose(f);
		assert_int_equal(got, 1049576);
		uint8_t good[32];
		hash_buf(HASH_SHA256, whole, got, good);
		assert_int_equal(uc_src_open(sample_img, NULL, NULL, good, CHUNK, 0, &s, &e), 0);
		assert_int_equal(uc_src_sha256_early(s), 1);
		assert_int_equal(uc_chunk_alloc(&c, CHUNK), 0);
		while ((r = uc_src_next(s, &c, &e)) > 0)
			;
		assert_int_equal(r, 0);
		uc_chunk_free(&c);
		uc_src_close(s);
	}

	assert_int_equal(uc_src_open("/nonexistent/x.img", NULL, NULL, NULL, CHUNK, 0, &s, &e),
			 -ENOENT);
	assert_string_equal(e.path, "/nonexistent/x.img");
}

/* ---------------------------------------------------------------- engine */

static int target_fd = -1;
static uint64_t bad_off = UINT64_MAX; /* a write covering this offset ... */
static int bad_left;		      /* ... is corrupted this many times (-1 always) */
static int eio_write_left, eio_read_left, eio_sync_left;
static uint64_t order[64]; /* offsets of the target's writes, in order */
static int norder;

static ssize_t fake_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (fd != target_fd)
		return io_sys_default.pwrite(fd, buf, n, off);
	if (norder < 64)
		order[norder++] = (uint64_t)off;
	if ((uint64_t)off <= bad_off && bad_off < (uint64_t)off + n) {
		if (eio_write_left) {
			eio_write_left--;
			errno = EIO;
			return -1;
		}
		if (bad_left) {
			if (bad_left > 0)
				bad_left--;
			uint8_t *copy = malloc(n);
			memcpy(copy, buf, n);
			copy[bad_off - (uint64_t)off] ^= 0xff;
			ssize_t r = io_sys_default.pwrite(fd, copy, n, off);
			free(copy);
			return r;
		}
	}
	return io_sys_default.pwrite(fd, buf, n, off);
}

static ssize_t fake_pread(int fd, void *buf, size_t n, off_t off)
{
	if (fd == target_fd && eio_read_left && (uint64_t)off <= bad_off &&
	    bad_off < (uint64_t)off + n) {
		eio_read_left--;
		errno = EIO;
		return -1;
	}
	return io_sys_default.pread(fd, buf, n, off);
}

static int fake_fdatasync(int fd)
{
	if (fd == target_fd && eio_sync_left) {
		eio_sync_left--;
		errno = EIO;
		return -1;
	}
	return io_sys_default.fdatasync(fd);
}

struct run {
	char img[512], dev[512];
	struct uc_target t;
	int r;
	struct ok_err e;
};

/* Write a 8-chunk random image onto a target prefilled with 0xee. */
static unsigned workers = 1; /* 1: strict chunk order, as the asserts below expect */

static void run_engine(struct run *R, int nchunks)
{
	snprintf(R->img, sizeof(R->img), "%s/eng.img", tmpdir);
	snprintf(R->dev, sizeof(R->dev), "%s/eng.dev", tmpdir);
	uint8_t *b = malloc((size_t)nchunks * CHUNK);
	for (size_t i = 0; i < (size_t)nchunks * CHUNK; i++)
		b[i] = (uint8_t)(i * 2654435761u >> 13);
	FILE *f = fopen(R->img, "wb");
	fwrite(b, 1, (size_t)nchunks * CHUNK, f);
	fclose(f);
	memset(b, 0xee, (size_t)nchunks * CHUNK);
	f = fopen(R->dev, "wb");
	fwrite(b, 1, (size_t)nchunks * CHUNK, f);
	fclose(f);
	free(b);
	memset(&R->t, 0, sizeof(R->t));
	R->t.path = R->dev;
	assert_int_equal(uc_target_open(&R->t, &R->e), 0);
	target_fd = R->t.fd;
	norder = 0;
	struct uc_src *s;
	assert_int_equal(uc_src_open(R->img, NULL, NULL, NULL, CHUNK, 0, &s, &R->e), 0);
	struct uc_write_opts o = {
	    .chunk_bytes = CHUNK, .tries = 3, .verify = 1, .zero_tail = 1, .workers = workers};
	io_sys.pwrite = fake_pwrite;
	io_sys.pread = fake_pread;
	io_sys.fdatasync = fake_fdatasync;
	R->r = uc_write(s, &R->t, 1, &o, &R->e);
	io_sys = io_sys_default;
	uc_src_close(s);
	uc_target_close(&R->t);
	target_fd = -1;
}

static int same_files(const char *a, const char *b)
{
	size_t na, nb;
	char *x = slurp(a, &na), *y = slurp(b, &nb);
	int same = na == nb && !memcmp(x, y, na);
	free(x);
	free(y);
	return same;
}

static void reset_faults(void)
{
	bad_off = UINT64_MAX;
	bad_left = eio_write_left = eio_read_left = eio_sync_left = 0;
}

static void test_engine_clean(void **state)
{
	(void)state;
	struct run R;
	reset_faults();
	run_engine(&R, 8);
	assert_int_equal(R.r, 0);
	assert_int_equal(R.t.rewritten, 0);
	assert_int_equal(R.t.verified, 8 * CHUNK);
	assert_true(same_files(R.img, R.dev));
	/* the first chunk went last: 1..7, then 0 */
	assert_int_equal(norder, 8);
	for (int i = 0; i < 7; i++)
		assert_int_equal(order[i], (uint64_t)(i + 1) * CHUNK);
	assert_int_equal(order[7], 0);
}

static void test_engine_corrupt_once(void **state)
{
	(void)state;
	struct run R;
	reset_faults();
	bad_off = 3 * CHUNK + 100;
	bad_left = 1;
	run_engine(&R, 8);
	assert_int_equal(R.r, 0);
	assert_int_equal(R.t.rewritten, 1);
	assert_int_equal(R.t.written, 9 * CHUNK);
	assert_true(same_files(R.img, R.dev));
}

static void test_engine_corrupt_always(void **state)
{
	(void)state;
	struct run R;
	reset_faults();
	bad_off = 5 * CHUNK + 7;
	bad_left = -1;
	run_engine(&R, 8);
	assert_int_equal(R.r, -EILSEQ);
	assert_int_equal(R.t.bad_block, 5);
	assert_string_equal(R.t.e.msg, "Verification failed after 3 attempts on block 5");
	assert_false(same_files(R.img, R.dev));
	/* chunk 0 was never written: the device still holds the old pattern */
	size_t n;
	uint8_t *d = (uint8_t *)slurp(R.dev, &n);
	for (int i = 0; i < CHUNK; i++)
		if (d[i] != 0xee)
			fail_msg("byte %d of chunk 0 was written", i);
	free(d);
	/* chunks 6 and 7 were not touched either: nothing after a failure */
	for (int i = 0; i < norder; i++)
		assert_true(order[i] <= 5 * CHUNK);
}

static void test_engine_eio(void **state)
{
	(void)state;
	struct run R;
	/* a write error, then success: counted as a re-write */
	reset_faults();
	bad_off = 2 * CHUNK;
	eio_write_left = 1;
	run_engine(&R, 4);
	assert_int_equal(R.r, 0);
	assert_int_equal(R.t.rewritten, 1);
	assert_true(same_files(R.img, R.dev));
	/* read-back errors twice, then good */
	reset_faults();
	bad_off = 1 * CHUNK;
	eio_read_left = 2;
	run_engine(&R, 4);
	assert_int_equal(R.r, 0);
	assert_int_equal(R.t.rewritten, 1);
	/* a write error every time: an I/O failure naming the block */
	reset_faults();
	bad_off = 3 * CHUNK + 1;
	eio_write_left = 3;
	run_engine(&R, 4);
	assert_int_equal(R.r, -EIO);
	assert_string_equal(R.t.e.msg, "Write to device failed after 3 attempts on block 3");
	assert_int_equal(R.t.e.errnum, EIO);
	/* fdatasync failing: the data may not be on the device: not good */
	reset_faults();
	eio_sync_left = 3;
	run_engine(&R, 4);
	assert_int_equal(R.r, -EIO);
	assert_int_equal(R.t.bad_block, 1);
	assert_int_equal(R.t.verified, 0);
}

/* Two workers per target: the same results, chunks in any order but 0 last. */
static void test_engine_two_workers(void **state)
{
	(void)state;
	struct run R;
	workers = 2;
	reset_faults();
	run_engine(&R, 8);
	assert_int_equal(R.r, 0);
	assert_int_equal(R.t.rewritten, 0);
	assert_true(same_files(R.img, R.dev));
	assert_int_equal(norder, 8);
	assert_int_equal(order[7], 0);
	reset_faults();
	bad_off = 6 * CHUNK + 5;
	bad_left = 2;
	run_engine(&R, 8);
	assert_int_equal(R.r, 0);
	assert_int_equal(R.t.rewritten, 1);
	assert_true(same_files(R.img, R.dev));
	reset_faults();
	bad_off = 4 * CHUNK + 5;
	bad_left = -1;
	run_engine(&R, 8);
	assert_int_equal(R.r, -EILSEQ);
	assert_string_equal(R.t.e.msg, "Verification failed after 3 attempts on block 4");
	for (int i = 0; i < norder; i++)
		assert_true(order[i] != 0); /* (4) chunk 0 never written */
	workers = 1;
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "%s/ucunit.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(tmpdir));
	snprintf(sample_img, sizeof(sample_img), "%s/sample.img", tmpdir);
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "sh %s/tests/usbcopy/data/mkimg.sh %s", getenv("OPSKIT_SOURCE"),
		 sample_img);
	return system(cmd);
}

static int teardown(void **state)
{
	(void)state;
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bmap_v2),
	    cmocka_unit_test(test_bmap_v1),
	    cmocka_unit_test(test_bmap_errors),
	    cmocka_unit_test(test_bmap_range_mismatch),
	    cmocka_unit_test(test_faults_parse),
	    cmocka_unit_test(test_src_sparse),
	    cmocka_unit_test(test_engine_clean),
	    cmocka_unit_test(test_engine_corrupt_once),
	    cmocka_unit_test(test_engine_corrupt_always),
	    cmocka_unit_test(test_engine_eio),
	    cmocka_unit_test(test_engine_two_workers),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
