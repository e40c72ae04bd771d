/*
 * logsift_amqp.c: libFuzzer target for the amqp() queue record
 * (dest_amqp.c): arbitrary bytes, as a damaged disk-buffer file could hand
 * back, either parse or are refused, never read past their end. Then the
 * input as a message (first line the routing-key template, second the
 * body template, the rest the message text) is formatted through an
 * amqp() destination parsed from a config, and the record it makes must
 * parse, with the routing key and body the templates give.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ls_buf out = {0};
	ls_amqp_record_check((const char *)data, size, &out);
	ls_buf_free(&out);

	static struct ls_cfg *c;
	if (!c) {
		static const char conf[] = "@version: 3.38\n"
					   "destination d { amqp(username(\"u\") password(\"p\") "
					   "routing-key(\"$PROGRAM.$LEVEL\")\n"
					   "  body(\"$HOST $MSG\") value-pairs(scope(rfc5424 "
					   "nv-pairs sdata) pair(\"x\" \"$PID\"))); };\n";
		struct ok_err e;
		c = ls_cfg_parse(conf, sizeof conf - 1, "fuzz.conf", &e);
		if (!c)
			return 0; /* librabbitmq cannot be loaded here */
	}
	struct ls_ddrv *d = &c->dst[0]->drv[0];
	struct ls_msg m;
	ls_msg_init(&m);
	struct ls_parse_opts o = {.flags = LS_P_EXPECT_HOSTNAME, .default_pri = 13};
	ls_msg_parse(&m, (const char *)data, size, &o);
	struct ls_buf rec = {0}, want = {0};
	ls_amqp_format(d, &m, &rec);
	if (ls_amqp_record_check(rec.p, rec.len, &out) != 0)
		abort();
	/* the routing key leads the parsed form, cut at its first NUL */
	struct ls_tmpl *rk = ls_tmpl_new("$PROGRAM.$LEVEL", NULL);
	ls_tmpl_format(rk, &m, &want);
	size_t n = strnlen(want.p ? want.p : "", want.len);
	if (out.len < n + 1 || (n && memcmp(out.p, want.p, n)) || out.p[n] != '\n')
		abort();
	ls_tmpl_free(rk);
	ls_buf_free(&rec);
	ls_buf_free(&want);
	ls_buf_free(&out);
	ls_msg_free(&m);
	return 0;
}
