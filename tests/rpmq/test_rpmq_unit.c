/*
 * test_rpmq_unit.c: unit tests of the rpmq library on headers built in
 * memory: the blob checks one rule at a time (each with rpm 4.18's verdict
 * from lib/header.c hdrblobVerifyInfo/hdrblobVerifyRegion), a legacy header
 * without a region, an unsorted index, lookups, the query-format parser's
 * errors and the small formatters. The byte-for-byte comparisons with the
 * real rpm are in tests/interop/rpmq/.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rpmq.h"

/* A tiny header builder: entries are added in order; data is appended with
 * the alignment its type needs. */
struct hb {
	uint8_t idx[16 * 16];
	uint8_t data[1024];
	uint32_t il, dl;
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void hb_add(struct hb *b, uint32_t tag, uint32_t type, const void *d, uint32_t len,
		   uint32_t count, uint32_t align)
{
	while (b->dl % align)
		b->data[b->dl++] = 0;
	uint8_t *e = b->idx + 16 * b->il++;
	put32(e, tag);
	put32(e + 4, type);
	put32(e + 8, b->dl);
	put32(e + 12, count);
	memcpy(b->data + b->dl, d, len);
	b->dl += len;
}

/* Finish with a region (tag 63) covering everything; returns a malloc'd blob. */
static uint8_t *hb_blob(struct hb *b, int region, size_t *len)
{
	struct hb r = {0};
	if (region) {
		/* region entry first, trailer at the end of the data */
		uint8_t *e = r.idx;
		put32(e, 63);
		put32(e + 4, 7);
		put32(e + 8, b->dl);
		put32(e + 12, 16);
		r.il = 1;
	}
	memcpy(r.idx + 16 * r.il, b->idx, 16 * b->il);
	r.il += b->il;
	memcpy(r.data, b->data, b->dl);
	r.dl = b->dl;
	if (region) {
		uint8_t *t = r.data + r.dl;
		put32(t, 63);
		put32(t + 4, 7);
		put32(t + 8, (uint32_t)(-(int32_t)(16 * r.il)));
		put32(t + 12, 16);
		r.dl += 16;
	}
	*len = 16 + 16 * r.il + r.dl;
	uint8_t *raw = malloc(*len);
	static const uint8_t magic[8] = {0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0};
	memcpy(raw, magic, 8);
	put32(raw + 8, r.il);
	put32(raw + 12, r.dl);
	memcpy(raw + 16, r.idx, 16 * r.il);
	memcpy(raw + 16 + 16 * r.il, r.data, r.dl);
	return raw;
}

static void basic(struct hb *b)
{
	memset(b, 0, sizeof(*b));
	hb_add(b, 1000, RPM_STRING, "hello", 6, 1, 1);
	hb_add(b, 1001, RPM_STRING, "2.0", 4, 1, 1);
	uint8_t t[4];
	put32(t, 1227355200);
	hb_add(b, 1006, RPM_INT32, t, 4, 1, 4);
	hb_add(b, 1049, RPM_STRING_ARRAY, "a\0bb\0ccc", 9, 3, 1);
}

static int parse(struct hb *b, int region, struct rpm_hdr *h, struct ok_err *e)
{
	size_t len;
	uint8_t *raw = hb_blob(b, region, &len);
	return rpm_hdr_parse(h, raw, len, 63, 1, "t.rpm", 1000, e);
}

static void test_good_header(void **state)
{
	(void)state;
	struct hb b;
	struct rpm_hdr h;
	struct ok_err e;
	basic(&b);
	assert_int_equal(parse(&b, 1, &h, &e), 0);
	assert_int_equal(h.region_tag, 63);
	const struct rpm_entry *en = rpm_hdr_find(&h, 1049);
	assert_non_null(en);
	assert_int_equal(en->count, 3);
	assert_string_equal(rpm_ent_str(&h, en, 2), "ccc");
	assert_string_equal(rpm_ent_str(&h, en, 1), "bb");
	assert_int_equal(rpm_ent_num(&h, rpm_hdr_find(&h, 1006), 0), 1227355200);
	assert_null(rpm_hdr_find(&h, 1002));
	rpm_hdr_free(&h);
	/* legacy: no region tag at all is accepted, as by rpm */
	basic(&b);
	assert_int_equal(parse(&b, 0, &h, &e), 0);
	assert_int_equal(h.region_tag, 0);
	rpm_hdr_free(&h);
}

static void expect_bad(struct hb *b, int region, const char *want)
{
	struct rpm_hdr h;
	struct ok_err e;
	ok_err_clear(&e);
	assert_int_equal(parse(b, region, &h, &e), -EINVAL);
	if (!strstr(e.msg, want))
		fail_msg("message '%s' lacks '%s'", e.msg, want);
	assert_string_equal(e.path, "t.rpm");
}

static void test_bad_entries(void **state)
{
	(void)state;
	struct hb b;
	uint8_t t[4] = {0};
	basic(&b);
	hb_add(&b, 99, RPM_INT32, t, 4, 1, 4); /* tag below 100 */
	expect_bad(&b, 1, "tag number below 100");
	basic(&b);
	hb_add(&b, 1100, 10, t, 4, 1, 4);
	expect_bad(&b, 1, "type outside 1..9");
	basic(&b);
	hb_add(&b, 1100, RPM_STRING, "abc", 3, 1, 1); /* no NUL before the trailer */
	expect_bad(&b, 0, "string not terminated");
	basic(&b);
	hb_add(&b, 1006, RPM_STRING, "x", 2, 1, 1); /* BUILDTIME must be INT32 */
	expect_bad(&b, 1, "type does not match");
	basic(&b);
	hb_add(&b, 1100, RPM_INT32, t, 4, 300, 4); /* count beyond the data */
	expect_bad(&b, 1, "BAD");
	basic(&b);
	put32(b.idx + 16 * 1 + 8, 0); /* VERSION's data at 0 overlaps NAME's */
	expect_bad(&b, 1, "overlaps the previous entry");
	basic(&b);
	put32(b.idx + 16 * 2 + 8, 13); /* INT32 at an odd offset */
	expect_bad(&b, 1, "not aligned");
}

static void test_unsorted_index(void **state)
{
	(void)state;
	struct hb b = {0};
	/* tags out of order but data in order: rpm 4.18 accepts (and sorts) */
	hb_add(&b, 1001, RPM_STRING, "2.0", 4, 1, 1);
	hb_add(&b, 1000, RPM_STRING, "hello", 6, 1, 1);
	struct rpm_hdr h;
	struct ok_err e;
	assert_int_equal(parse(&b, 1, &h, &e), 0);
	assert_string_equal(rpm_ent_str(&h, rpm_hdr_find(&h, 1000), 0), "hello");
	assert_string_equal(rpm_ent_str(&h, rpm_hdr_find(&h, 1001), 0), "2.0");
	rpm_hdr_free(&h);
}

static void test_region_checks(void **state)
{
	(void)state;
	struct hb b;
	size_t len;
	struct rpm_hdr h;
	struct ok_err e;
	basic(&b);
	uint8_t *raw = hb_blob(&b, 1, &len);
	raw[16 + 7] = 4; /* region entry type 4 */
	assert_int_equal(rpm_hdr_parse(&h, raw, len, 63, 1, "t.rpm", 0, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "region tag: BAD"));
	raw = hb_blob(&b, 1, &len);
	raw[len - 16 + 3] = 62; /* trailer names another region */
	assert_int_equal(rpm_hdr_parse(&h, raw, len, 63, 1, "t.rpm", 0, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "region trailer: BAD"));
	raw = hb_blob(&b, 1, &len);
	put32(raw + len - 8, (uint32_t)-16); /* the region claims one entry of five */
	assert_int_equal(rpm_hdr_parse(&h, raw, len, 63, 1, "t.rpm", 0, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "tag number mismatch"));
	raw = hb_blob(&b, 1, &len);
	assert_int_equal(rpm_hdr_parse(&h, raw, len - 1, 63, 1, "t.rpm", 0, &e), -EINVAL);
	assert_non_null(strstr(e.msg, "blob size"));
}

static void test_qf_errors(void **state)
{
	(void)state;
	static const struct {
		const char *fmt, *msg;
	} cases[] = {
	    {"%{NOSUCHTAG}", "unknown tag: \"NOSUCHTAG\""},
	    {"%{NAME:nosuch}", "unknown format: \"NAME\""},
	    {"%{NAME", "missing } after %{"},
	    {"%5x{NAME}", "invalid field width"},
	    {"[%{NAME}", "] expected at end of array"},
	    {"%|NAME?{a}", "} expected in expression"},
	    {"%|NAME{a}|", "? expected in expression"},
	    {"a]", "unexpected ]"},
	    {"a}", "unexpected }"},
	    {"%{}", "empty tag name"},
	    {"x\\", "escaped char expected after \\"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ok_err e;
		ok_err_clear(&e);
		struct rpm_qf *qf = rpm_qf_compile(cases[i].fmt, &e);
		assert_null(qf);
		if (!strstr(e.msg, cases[i].msg))
			fail_msg("%s: '%s' lacks '%s'", cases[i].fmt, e.msg, cases[i].msg);
	}
	struct ok_err e;
	struct rpm_qf *qf = rpm_qf_compile("%{1000} %-5{rpmtag_name}|\\n%%", &e);
	assert_non_null(qf);
	rpm_qf_free(qf);
}

static void test_formatters(void **state)
{
	(void)state;
	char p[11];
	assert_string_equal(rpm_perms_string(0104755, p), "-rwsr-xr-x");
	assert_string_equal(rpm_perms_string(041777, p), "drwxrwxrwt");
	assert_string_equal(rpm_perms_string(0120777, p), "lrwxrwxrwx");
	assert_string_equal(rpm_perms_string(0102644, p), "-rw-r-Sr--");
	assert_string_equal(rpm_perms_string(0020620, p), "crw--w----");
	char hx[9];
	hex_encode((const uint8_t *)"\x01\xab\xff\x00", 4, hx);
	assert_string_equal(hx, "01abff00");
	assert_non_null(rpm_alias_qf("scripts"));
	assert_null(rpm_alias_qf("nosuch"));
	assert_int_equal(rpm_tag_by_name("rpmtag_name")->tag, 1000);
	assert_string_equal(rpm_tag_by_num(1000)->name, "NAME");
	assert_int_equal(rpm_tag_by_name("PREUNTRANS")->tag, 5103);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good_header),	   cmocka_unit_test(test_bad_entries),
	    cmocka_unit_test(test_unsorted_index), cmocka_unit_test(test_region_checks),
	    cmocka_unit_test(test_qf_errors),	   cmocka_unit_test(test_formatters),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
