/*
 * logsift_tmpl.c: libFuzzer target for the template compiler: the input is
 * a template (macros, ${...}, $(function args...) with quotes, nesting,
 * options); when it compiles it is formatted against a fixed parsed
 * message, plain and with template-escape(yes). The output is then what a
 * set-tag() template makes: a name registered in a tag registry (hashed,
 * any bytes), set on the message, listed by $TAGS (str_repr quoting) and
 * cleared again.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "logsift.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ls_msg m;
	static int ready;
	if (!ready) {
		static const char rec[] = "<13>1 2026-11-24T05:15:55Z h1 app 12 ID1 "
					  "[ip@1 a=\"10.0.0.1\"] Hello \xc3\x89t\xc3\xa9 a,b";
		ls_msg_init(&m);
		m.recv_sec = 1764000000;
		struct ls_parse_opts o = {
		    .flags = LS_P_SYSLOG_PROTOCOL, .default_pri = 13, .self_pid = 1};
		ls_msg_parse(&m, rec, sizeof rec - 1, &o);
		ready = 1;
	}
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = 0;
	struct ls_tmpl *t = ls_tmpl_new(text, NULL);
	free(text);
	if (!t)
		return 0;
	struct ls_buf b = {0};
	struct ls_tmpl_opts esc = {.ts_format = ls_tmpl_ts_format("rfc3164"), .escape = true};
	ls_tmpl_format(t, &m, &b);
	ls_tmpl_format_opts(t, &m, &esc, &b);
	static struct ls_tagtab tags;
	static struct ls_tmpl *list;
	if (!list)
		list = ls_tmpl_new("$TAGS", NULL);
	if (tags.n > 4096) /* a fresh registry now and then: bounded memory */
		ls_tags_free(&tags);
	ls_buf_addc(&b, 0);
	int id = ls_tags_id(&tags, b.p);
	m.tagtab = &tags;
	ls_msg_tag(&m, id, true);
	b.len = 0;
	ls_tmpl_format(list, &m, &b);
	ls_msg_tag(&m, id, false);
	ls_buf_free(&b);
	ls_tmpl_free(t);
	return 0;
}
