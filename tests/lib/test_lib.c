/*
 * test_lib.c: unit tests of lib/ (cli sizes, error formatting, the I/O loops
 * under injected short transfers and EINTR, hashes against known vectors,
 * the decompressing reader on gzip/xz/zstd/tar made by the real tools).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli.h"
#include "decomp.h"
#include "err.h"
#include "hash.h"
#include "io.h"

static void test_parse_size(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(cli_parse_size("512K", 1, &v), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(cli_parse_size("64", 1024, &v), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(cli_parse_size("2GiB", 1, &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(cli_parse_size("8s", 1, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(cli_parse_size("12Q", 1, &v), -EINVAL);
	assert_int_equal(cli_parse_size("-1", 1, &v), -EINVAL);
	assert_int_equal(cli_parse_size("99999999999999999999", 1, &v), -ERANGE);
	assert_int_equal(cli_parse_size("20000000000T", 1, &v), -ERANGE);
	assert_int_equal(cli_parse_uint("0x10", 0, 100, &v), 0);
	assert_int_equal(v, 16);
	assert_int_equal(cli_parse_uint("101", 0, 100, &v), -ERANGE);
}

static void test_err_format(void **state)
{
	(void)state;
	struct ok_err e;
	char buf[1024];
	ok_err_clear(&e);
	assert_int_equal(
	    ok_err_at(&e, -EINVAL, "d2.img", 4096, "bad magic 0x0, expected 0xa92b4efc"), -EINVAL);
	ok_err_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "d2.img: offset 4096: bad magic 0x0, expected 0xa92b4efc");
	ok_err_line(&e, -EINVAL, "x.conf", 12, "expected ';'");
	ok_err_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "x.conf:12: expected ';'");
	ok_err_at(&e, -ENOENT, "nope", OK_ERR_NOPOS, "cannot open");
	ok_err_format(&e, buf, sizeof(buf));
	assert_string_equal(buf, "nope: cannot open: No such file or directory");
	assert_int_equal(ok_exit_code(-EINVAL), OK_EXIT_DATA);
	assert_int_equal(ok_exit_code(-EIO), OK_EXIT_IO);
	assert_int_equal(ok_exit(&e), OK_EXIT_IO); /* ENOENT: a missing file */
	/* EBUSY prints no strerror, yet the errno and the class survive */
	ok_err_at(&e, -EBUSY, "/dev/sdz", OK_ERR_NOPOS, "held open exclusively");
	assert_int_equal(e.errnum, 0);
	assert_int_equal(e.err, -EBUSY);
	assert_int_equal(ok_exit(&e), OK_EXIT_REFUSED);
	/* the class given where the error happens wins over the errno */
	ok_errc_at(&e, OK_CLASS_DATA, -ENOENT, "d0.img", 4096, "no md superblock");
	assert_int_equal(ok_exit(&e), OK_EXIT_DATA);
	ok_err_set_class(&e, OK_CLASS_REFUSED, -ENOENT);
	assert_int_equal(ok_exit(&e), OK_EXIT_REFUSED);
	/* a peer's table: rpm says 1 for everything, syslog-ng 2 for start-up failures */
	ok_exit_map = &ok_exit_rpm;
	assert_int_equal(ok_exit_class(OK_CLASS_USAGE), 1);
	assert_int_equal(ok_exit(&e), 1);
	ok_exit_map = &ok_exit_syslog_ng;
	assert_int_equal(ok_exit_class(OK_CLASS_DATA), 1);
	assert_int_equal(ok_exit_class(OK_CLASS_IO), 1);
	assert_int_equal(ok_exit_class(OK_CLASS_REFUSED), 2);
	ok_exit_map = &ok_exit_opskit;
}

/* Fault injection: every transfer moves at most 3 bytes, and every other call is EINTR. */
static int calls;
static ssize_t short_pwrite(int fd, const void *b, size_t n, off_t off)
{
	if (calls++ % 2 == 0) {
		errno = EINTR;
		return -1;
	}
	return pwrite(fd, b, n > 3 ? 3 : n, off);
}
static ssize_t short_pread(int fd, void *b, size_t n, off_t off)
{
	if (calls++ % 2 == 0) {
		errno = EINTR;
		return -1;
	}
	return pread(fd, b, n > 3 ? 3 : n, off);
}

static void test_io_short(void **state)
{
	(void)state;
	char path[] = "/tmp/opskit-io-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	io_sys.pwrite = short_pwrite;
	io_sys.pread = short_pread;
	const char msg[] = "the quick brown fox jumps over the lazy dog";
	assert_int_equal(io_pwrite_full(fd, msg, sizeof(msg), 100), sizeof(msg));
	char back[sizeof(msg) + 10] = {0};
	/* Reading past the end returns only what exists. */
	assert_int_equal(io_pread_full(fd, back, sizeof(back), 100), sizeof(msg));
	assert_memory_equal(back, msg, sizeof(msg));
	io_sys = io_sys_default;
	assert_int_equal(io_size(fd), 100 + sizeof(msg));
	void *p = io_alloc(8192);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % IO_ALIGN, 0);
	io_free(p);
	close(fd);
}

static void test_hash_vectors(void **state)
{
	(void)state;
	uint8_t d[HASH_MAX];
	char hex[2 * HASH_MAX + 1];
	/* FIPS 180-2 / RFC 1321 test vectors for "abc". */
	hex_encode(d, hash_buf(HASH_SHA256, "abc", 3, d), hex);
	assert_string_equal(hex,
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex_encode(d, hash_buf(HASH_MD5, "abc", 3, d), hex);
	assert_string_equal(hex, "900150983cd24fb0d6963f7d28e17f72");
	hex_encode(d, hash_buf(HASH_SHA1, "abc", 3, d), hex);
	assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
	assert_int_equal(hash_from_name("SHA256"), HASH_SHA256);
	uint8_t u[4];
	assert_int_equal(hex_decode("DEADbeef", u, 4), 0);
	assert_int_equal(u[0], 0xde);
	assert_int_equal(hex_decode("xx", u, 1), -EINVAL);
}

/* Compress a known stream with the real tool, read it back through decomp
 * (from the file, or with via_pipe from a pipe that cannot seek back). */
static void decomp_roundtrip_ex(const char *cmd, const char *want_filter, const char *want_format,
				int via_pipe)
{
	char dir[] = "/tmp/opskit-dc-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sh[1024];
	snprintf(sh, sizeof(sh), "cd %s && seq 1 200000 > data && (%s) 2>/dev/null", dir, cmd);
	if (system(sh) != 0) {
		snprintf(sh, sizeof(sh), "rm -rf %s", dir);
		(void)system(sh);
		skip();
	}
	if (via_pipe)
		snprintf(sh, sizeof(sh), "cat %s/out", dir);
	else
		snprintf(sh, sizeof(sh), "%s/out", dir);
	FILE *f = via_pipe ? popen(sh, "r") : fopen(sh, "rb");
	assert_non_null(f);
	struct ok_err e;
	ok_err_clear(&e);
	struct decomp *d = decomp_open(fileno(f), "out", DECOMP_UNPACK, &e);
	if (!d)
		ok_err_print(&e);
	assert_non_null(d);
	assert_string_equal(decomp_filter_name(d), want_filter);
	assert_string_equal(decomp_format_name(d), want_format);
	/* Compare against the original, in odd-sized pieces. */
	snprintf(sh, sizeof(sh), "%s/data", dir);
	FILE *o = fopen(sh, "rb");
	char a[777], b[777];
	for (;;) {
		ssize_t n = decomp_read(d, a, sizeof(a), &e);
		assert_true(n >= 0);
		size_t m = fread(b, 1, sizeof(b), o);
		assert_int_equal((size_t)n, m);
		assert_memory_equal(a, b, m);
		if (!n)
			break;
	}
	fclose(o);
	decomp_close(d);
	if (via_pipe)
		pclose(f);
	else
		fclose(f);
	snprintf(sh, sizeof(sh), "rm -rf %s", dir);
	(void)system(sh);
}

static void decomp_roundtrip(const char *cmd, const char *want_filter, const char *want_format)
{
	decomp_roundtrip_ex(cmd, want_filter, want_format, 0);
}

/* A disk image with a blank first MiB: libarchive's tar reader takes the
 * zero blocks for an empty archive; decomp must give the data back. */
#define ZERO_LED "{ head -c 1048576 /dev/zero; cat data; } > z && mv z data && "

static void test_decomp_zero_led_raw(void **s)
{
	(void)s;
	decomp_roundtrip(ZERO_LED "cp data out", "none", "raw");
}
static void test_decomp_zero_led_gzip(void **s)
{
	(void)s;
	decomp_roundtrip(ZERO_LED "gzip -c data > out", "gzip", "raw");
}
static void test_decomp_zero_led_pipe(void **s)
{
	(void)s;
	decomp_roundtrip_ex(ZERO_LED "cp data out", "none", "raw", 1);
}
static void test_decomp_zero_led_xz_pipe(void **s)
{
	(void)s;
	decomp_roundtrip_ex(ZERO_LED "xz -c data > out", "xz", "raw", 1);
}

static void test_decomp_gzip(void **s)
{
	(void)s;
	decomp_roundtrip("gzip -c data > out", "gzip", "raw");
}
static void test_decomp_xz(void **s)
{
	(void)s;
	decomp_roundtrip("xz -c data > out", "xz", "raw");
}
static void test_decomp_zstd(void **s)
{
	(void)s;
	decomp_roundtrip("zstd -q -c data > out", "zstd", "raw");
}
static void test_decomp_bzip2(void **s)
{
	(void)s;
	decomp_roundtrip("bzip2 -c data > out", "bzip2", "raw");
}
static void test_decomp_tar_gz(void **s)
{
	(void)s;
	decomp_roundtrip("tar czf out data", "gzip", "tar");
}
static void test_decomp_plain(void **s)
{
	(void)s;
	decomp_roundtrip("cp data out", "none", "raw");
}

static void test_decomp_truncated(void **state)
{
	(void)state;
	char dir[] = "/tmp/opskit-dt-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char sh[512];
	snprintf(sh, sizeof(sh),
		 "cd %s && seq 1 100000 | xz -c > full && head -c $(($(stat -c%%s full) / 2)) full "
		 "> out",
		 dir);
	assert_int_equal(system(sh), 0);
	snprintf(sh, sizeof(sh), "%s/out", dir);
	FILE *f = fopen(sh, "rb");
	struct ok_err e;
	ok_err_clear(&e);
	struct decomp *d = decomp_open(fileno(f), "out", 0, &e);
	assert_non_null(d);
	char buf[65536];
	ssize_t n;
	while ((n = decomp_read(d, buf, sizeof(buf), &e)) > 0)
		;
	assert_true(n < 0);
	assert_string_equal(e.path, "out");
	decomp_close(d);
	fclose(f);
	snprintf(sh, sizeof(sh), "rm -rf %s", dir);
	(void)system(sh);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_size),
	    cmocka_unit_test(test_err_format),
	    cmocka_unit_test(test_io_short),
	    cmocka_unit_test(test_hash_vectors),
	    cmocka_unit_test(test_decomp_gzip),
	    cmocka_unit_test(test_decomp_xz),
	    cmocka_unit_test(test_decomp_zstd),
	    cmocka_unit_test(test_decomp_bzip2),
	    cmocka_unit_test(test_decomp_tar_gz),
	    cmocka_unit_test(test_decomp_plain),
	    cmocka_unit_test(test_decomp_truncated),
	    cmocka_unit_test(test_decomp_zero_led_raw),
	    cmocka_unit_test(test_decomp_zero_led_gzip),
	    cmocka_unit_test(test_decomp_zero_led_pipe),
	    cmocka_unit_test(test_decomp_zero_led_xz_pipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
