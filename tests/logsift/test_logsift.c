/*
 * test_logsift.c: unit tests of the message parser and templates. Expected
 * values are what syslog-ng 3.38.1 wrote for the same records (captured on
 * loopback with the template
 * "$HOST|$PROGRAM|$PID|$MSGHDR|$MSG|$FACILITY|$LEVEL|$PRI|$TAG|$SDATA",
 * unix-dgram source = local flags, udp source = expect-hostname; see
 * tests/interop/logsift for the live comparison).
 */
#include <ctype.h>
#include <glob.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "logsift.h"

static char out[4096];

/* Parse rec with flags and format tmpl into out. */
static const char *fmt(const char *rec, size_t len, unsigned flags, const char *tmpl)
{
	struct ls_msg m;
	ls_msg_init(&m);
	m.recv_sec = 1763961335; /* 2025-11-24T05:15:35Z */
	struct ls_parse_opts o = {.flags = flags, .default_pri = 13, .self_pid = 4242};
	ls_msg_parse(&m, rec, len, &o);
	ls_msg_set(&m, LS_HOST, "vm", 2);
	struct ok_err e;
	struct ls_tmpl *t = ls_tmpl_new(tmpl, &e);
	assert_non_null(t);
	struct ls_buf b = {0};
	ls_tmpl_format(t, &m, &b);
	snprintf(out, sizeof out, "%s", b.p ? b.p : "");
	ls_buf_free(&b);
	ls_tmpl_free(t);
	ls_msg_free(&m);
	return out;
}

#define T    "$PROGRAM|$PID|$MSGHDR|$MSG|$FACILITY|$LEVEL|$PRI|$TAG"
#define S(x) x, sizeof(x) - 1

static void test_spec_example(void **state)
{
	(void)state;
	assert_string_equal(
	    fmt(S("<85>sshd2[382]: Public key /root/.ssh/ used.\n"), LS_P_LOCAL, T),
	    "sshd2|382|sshd2[382]: |Public key /root/.ssh/ used.|authpriv|notice|85|55");
}

static void test_pri(void **state)
{
	(void)state;
	assert_string_equal(fmt(S("<999>x: y"), LS_P_LOCAL, T), "x||x: |y|7c|debug|999|3e7");
	assert_string_equal(fmt(S("no pri at all"), LS_P_LOCAL, T),
			    "no||no |pri at all|user|notice|13|0d");
	assert_string_equal(fmt(S("<abc>bad pri"), LS_P_LOCAL, T),
			    "syslog-ng|4242|syslog-ng[4242]: |Error processing log message: "
			    "<abc>bad pri|syslog|err|43|2b");
	assert_string_equal(fmt(S("<0>kernel line"), LS_P_LOCAL, T),
			    "kernel||kernel: |kernel line|kern|emerg|0|00");
}

static void test_local_no_hostname(void **state)
{
	(void)state;
	/* local sources: the word after the timestamp is PROGRAM */
	assert_string_equal(
	    fmt(S("<13>Nov  4 05:15:55 myhost prog[1]: hi there"), LS_P_LOCAL, "$ISODATE|" T),
	    "2025-11-04T05:15:55+00:00|myhost||myhost |prog[1]: hi there|user|notice|13|0d");
}

static void test_network_hostname(void **state)
{
	(void)state;
	assert_string_equal(
	    fmt(S("<13>Nov 24 05:15:55 myhost prog[1]:nospace"), LS_P_EXPECT_HOSTNAME, T),
	    "prog|1|prog[1]:|nospace|user|notice|13|0d");
	assert_string_equal(fmt(S("<13>Nov 24 05:15:55 prog: x"), LS_P_EXPECT_HOSTNAME, T),
			    "prog||prog: |x|user|notice|13|0d");
}

static void test_cisco_and_iso(void **state)
{
	(void)state;
	assert_string_equal(
	    fmt(S("<14>123: Nov 24 05:15:55 h p[2]: cisco"), LS_P_LOCAL, "$PROGRAM|$MSG|$SDATA"),
	    "h|p[2]: cisco|[meta sequenceId=\"123\"]");
	assert_string_equal(
	    fmt(S("<13>2026-11-24T05:15:55Z isohost p: iso"), LS_P_LOCAL, "$ISODATE|$PROGRAM|$MSG"),
	    "2026-11-24T05:15:55+00:00|isohost|p: iso");
}

static void test_5424(void **state)
{
	(void)state;
	const char *r = "<165>1 2026-11-24T05:15:55.123+02:00 h5 app 77 ID1 [ex@1 a=\"b\"] body";
	assert_string_equal(
	    fmt(r, strlen(r), LS_P_SYSLOG_PROTOCOL | LS_P_EXPECT_HOSTNAME,
		"$ISODATE|$PROGRAM|$PID|$MSGID|$SDATA|${.SDATA.ex@1.a}|$MSGHDR|$MSG"),
	    "2026-11-24T05:15:55+02:00|app|77|ID1|[ex@1 a=\"b\"]|b|app[77]: |body");
	/* without syslog-protocol a 5424 line is RFC 3164 with PROGRAM=1 */
	assert_string_equal(fmt(r, strlen(r), LS_P_EXPECT_HOSTNAME, "$PROGRAM"), "1");
	/* all NILVALUEs */
	assert_string_equal(
	    fmt(S("<165>1 - - - - - -"), LS_P_SYSLOG_PROTOCOL, "[$PROGRAM|$MSGHDR|$MSG]"), "[||]");
}

static void test_utf8(void **state)
{
	(void)state;
	assert_string_equal(fmt(S("<13>p: bad \xff\xfe utf8 ok \xc3\xa9 tab\there cr\rx"),
				LS_P_LOCAL | LS_P_SANITIZE_UTF8, "$MSG"),
			    "bad \\xff\\xfe utf8 ok \xc3\xa9 tab\\there cr\\rx");
	assert_string_equal(fmt(S("<13>p: raw \xff"), LS_P_LOCAL, "$MSG"), "raw \xff");
}

static void test_trailing(void **state)
{
	(void)state;
	assert_string_equal(fmt(S("<13>p: x\n\n\0\0"), LS_P_LOCAL, "[$MSG]"), "[x]");
	assert_string_equal(fmt(S("<13>p: a\nb"), LS_P_LOCAL | LS_P_NO_MULTI_LINE, "[$MSG]"),
			    "[a b]");
}

static void test_cfg_errors(void **state)
{
	(void)state;
	struct ok_err e;
	const char *c = "@version: 3.38\nfilter f { level(5); };\n";
	assert_null(ls_cfg_parse(c, strlen(c), "x.conf", &e));
	assert_non_null(strstr(e.msg, "x.conf:2:18"));
	/* syslog-ng 3.38: "Error parsing config, ... LL_ERROR ... in x.conf:1:1-1:2:"
	 * (and no signed overflow in major * 100) */
	c = "@version: 1335432988.1\nsource s { internal(); };\n";
	assert_null(ls_cfg_parse(c, strlen(c), "x.conf", &e));
	assert_non_null(
	    strstr(e.msg, "unexpected LL_ERROR, expecting end of file in x.conf:1:1-1:2:"));
	c = "@version: 3.38\nfilter f { facility(10) and level(err..emerg) or not host(\"a\") };\n";
	struct ls_cfg *cfg = ls_cfg_parse(c, strlen(c), "x.conf", &e);
	assert_non_null(cfg);
	ls_cfg_free(cfg);
}

static bool word_char(int c)
{
	return isalnum(c) || c == '_' || c == '-' || c == '.' || c == '$';
}

/* A malformed configuration must parse, or fail with exit code 1 or 2 and
 * a message that names name:LINE (or, for the few syslog-ng texts without a
 * position, a location in e). Leaks and memory errors on these error paths
 * fail the sanitizer build. */
static void parse_malformed(const char *text, size_t len, const char *name, const char *how,
			    size_t at)
{
	char want[300];
	snprintf(want, sizeof want, "%s:", name);
	struct ok_err e;
	memset(&e, 0, sizeof e);
	struct ls_cfg *c = ls_cfg_parse(text, len, name, &e);
	if (c) {
		ls_cfg_free(c);
		return;
	}
	if (e.cls != OK_CLASS_DATA && e.cls != OK_CLASS_REFUSED) /* syslog-ng's exit 1 or 2 */
		fail_msg("%s %s at %zu: error class %d: %s", name, how, at, (int)e.cls, e.msg);
	const char *pos = strstr(e.msg, want);
	bool named = pos && isdigit((unsigned char)pos[strlen(want)]);
	if (!named && !(e.line > 0 && !strcmp(e.path, name)))
		fail_msg("%s %s at %zu: no file:line in \"%s\"", name, how, at, e.msg);
}

/* End of the token that starts at i: a word, a quoted string or one
 * character. */
static size_t token_end(const char *text, size_t len, size_t i)
{
	if (word_char((unsigned char)text[i])) {
		while (i < len && word_char((unsigned char)text[i]))
			i++;
		return i;
	}
	if (text[i] == '"' || text[i] == '\'') {
		const char *q = memchr(text + i + 1, text[i], len - i - 1);
		return q ? (size_t)(q - text) + 1 : len;
	}
	return i + 1;
}

/* At every token boundary of text: the text cut off there, and the text
 * without the token that starts there. Returns the number of parses. */
static size_t malformed_variants(const char *text, size_t len, const char *name)
{
	char *buf = malloc(len + 1);
	assert_non_null(buf);
	size_t n = 0;
	for (size_t cut = 0; cut < len; cut++) {
		if (cut && word_char((unsigned char)text[cut - 1]) &&
		    word_char((unsigned char)text[cut]))
			continue; /* inside a word */
		parse_malformed(text, cut, name, "cut", cut);
		size_t end = token_end(text, len, cut);
		memcpy(buf, text, cut);
		memcpy(buf + cut, text + end, len - end);
		parse_malformed(buf, cut + len - end, name, "token deleted", cut);
		n += 2;
	}
	free(buf);
	return n;
}

/* The interop configurations (real syslog-ng 3.38 configs, checked against
 * the peer there) cut at every token, and with each token deleted. */
static void test_cfg_malformed(void **state)
{
	(void)state;
	const char *src = getenv("OPSKIT_SOURCE");
	if (!src)
		skip();
	char pat[4096];
	snprintf(pat, sizeof pat, "%s/tests/interop/logsift/*/*.conf", src);
	glob_t g;
	assert_int_equal(glob(pat, 0, NULL, &g), 0);
	size_t cuts = 0;
	for (size_t i = 0; i < g.gl_pathc; i++) {
		FILE *f = fopen(g.gl_pathv[i], "rb");
		assert_non_null(f);
		static char text[1 << 16];
		size_t len = fread(text, 1, sizeof text, f);
		fclose(f);
		cuts += malformed_variants(text, len, g.gl_pathv[i]);
	}
	print_message("# %zu malformed variants of %zu configs\n", cuts, g.gl_pathc);
	assert_true(g.gl_pathc >= 20);
	globfree(&g);
}

/* --trace-match expressions cut at every byte: a filter, or an error that
 * names where; nothing leaks either way (sanitizer build). */
static void test_filter_compile_malformed(void **state)
{
	(void)state;
	const char *c = "@version: 3.38\nfilter f_a { level(err); };\n";
	struct ok_err e;
	struct ls_cfg *cfg = ls_cfg_parse(c, strlen(c), "x.conf", &e);
	assert_non_null(cfg);
	static const char *const exprs[] = {
	    "level(err..emerg) and not (facility(mail, kern) or host(\"a\" flags(ignore-case)))",
	    "filter(f_a) or match(\"x(y)\" value(\"MSG\") type(pcre) flags(store-matches))",
	    "\"${PID}\" >= 100 and netmask(\"10.0.0.0/8\") or tags(\"t1\", \"t2\")",
	    "in-list(\"/nonexistent/list\", value(\"HOST\")) or program(\"p\" type(glob))",
	};
	char buf[256];
	for (size_t i = 0; i < sizeof exprs / sizeof exprs[0]; i++) {
		size_t len = strlen(exprs[i]);
		assert_true(len < sizeof buf);
		for (size_t cut = 0; cut <= len; cut++) {
			memcpy(buf, exprs[i], cut);
			buf[cut] = 0;
			memset(&e, 0, sizeof e);
			struct ls_filter *f = ls_filter_compile(cfg, buf, &e);
			if (f)
				ls_filter_free(f);
			else if (e.cls != OK_CLASS_DATA && e.cls != OK_CLASS_REFUSED)
				fail_msg("\"%s\": error class %d: %s", buf, (int)e.cls, e.msg);
		}
	}
	ls_cfg_free(cfg);
}

/*
 * The tag registry across a reload and at its bounds, as 3.38's
 * lib/logmsg/tags.c and log_msg_set_tag_by_id_onoff (the expected ids are
 * derived from that code: one process-wide registry, names in the order
 * first seen, id 0 once 16383 names exist; a message's set grows to ids
 * below 8160, and up to 8191 once its 128th word exists).
 */
static void test_tag_registry(void **state)
{
	(void)state;
	const char *a = "@version: 3.38\nsource s { stdin(); };\n"
			"filter f { tags(\"x\", \"y\"); };\nlog { source(s); filter(f); };\n";
	struct ok_err e;
	struct ls_cfg *ca = ls_cfg_parse(a, strlen(a), "a.conf", &e);
	assert_non_null(ca);
	struct ls_runtime rt;
	ls_runtime_init(&rt);
	ls_runtime_adopt(&rt, ca);
	assert_int_equal(rt.tags.n, 3);
	assert_string_equal(ls_tags_name(&rt.tags, 0), "x");
	assert_string_equal(ls_tags_name(&rt.tags, 2), ".source.s");
	assert_int_equal(ls_tags_id(&rt.tags, "dyn"), 3); /* a set-tag() template's name */
	/* the reload: known names keep their ids, new ones come after */
	char path[] = "/tmp/logsift-tags-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	const char *b =
	    "@version: 3.38\nsource s2 { stdin(); };\n"
	    "filter f { tags(\"z\", \"y\", \"dyn\"); };\nlog { source(s2); filter(f); };\n";
	assert_int_equal(write(fd, b, strlen(b)), (ssize_t)strlen(b));
	close(fd);
	struct ls_cfg *cb = ls_cfg_load_tags(path, &rt.tags, &e);
	unlink(path);
	assert_non_null(cb);
	ls_runtime_adopt(&rt, cb);
	assert_int_equal(ls_tags_id(&rt.tags, "z"), 4);
	assert_int_equal(ls_tags_id(&rt.tags, "y"), 1);
	assert_int_equal(ls_tags_id(&rt.tags, "dyn"), 3);
	assert_int_equal(ls_tags_id(&rt.tags, ".source.s2"), 5);
	ls_cfg_free(cb);
	ls_cfg_free(ca);
	/* the count bound */
	char name[32];
	while (rt.tags.n < LS_TAGS_MAX) {
		int want = (int)rt.tags.n;
		snprintf(name, sizeof name, "n%d", want);
		assert_int_equal(ls_tags_id(&rt.tags, name), want);
	}
	assert_int_equal(ls_tags_id(&rt.tags, "one-too-many"), 0);
	assert_int_equal(ls_tags_id(&rt.tags, "z"), 4);
	assert_null(ls_tags_name(&rt.tags, LS_TAGS_MAX));
	ls_runtime_free(&rt);
	/* a message's set */
	struct ls_msg m;
	ls_msg_init(&m);
	assert_false(ls_msg_tag(&m, 8160, true));
	assert_true(ls_msg_tag(&m, 8159, false)); /* a clear grows it too */
	assert_true(ls_msg_tag(&m, 8191, true));
	assert_false(ls_msg_tag(&m, 8192, true));
	assert_true(ls_msg_tag(&m, 3, true));
	assert_true(ls_msg_has_tag(&m, 3));
	assert_false(ls_msg_has_tag(&m, 8191)); /* 3.38: "Invalid tag" past 8159 */
	ls_msg_free(&m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_example),
	    cmocka_unit_test(test_pri),
	    cmocka_unit_test(test_local_no_hostname),
	    cmocka_unit_test(test_network_hostname),
	    cmocka_unit_test(test_cisco_and_iso),
	    cmocka_unit_test(test_5424),
	    cmocka_unit_test(test_utf8),
	    cmocka_unit_test(test_trailing),
	    cmocka_unit_test(test_cfg_errors),
	    cmocka_unit_test(test_cfg_malformed),
	    cmocka_unit_test(test_filter_compile_malformed),
	    cmocka_unit_test(test_tag_registry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
