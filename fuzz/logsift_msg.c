/*
 * logsift_msg.c: libFuzzer target for the syslog message parser. The first
 * byte picks the parse flags (RFC 5424, expect-hostname, sanitize-utf8, ...;
 * syslog-protocol with no-parse, which would not parse at all, means
 * format(linux-kmsg)); the rest is one received record. Templates are formatted too, so every
 * macro reads the parsed fields. The record is then parsed again into the
 * filled message as syslog-parser() does (the message as base, time-zone()
 * at the receive time), RFC 5424 when the flags had it.
 */
#include <stddef.h>
#include <stdint.h>

#include "logsift.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct ls_tmpl *t;
	if (!t)
		t = ls_tmpl_new(
		    "$ISODATE $DATE $HOST $PROGRAM[$PID] $MSGHDR$MSG $SDATA $FACILITY "
		    "$LEVEL $TAG ${.SDATA.a.b} $MSGID ${.linux.timestamp} "
		    "${.linux.DEVICE.type} ${.linux.DEVICE.minor} ${.linux.DEVICE.name}\n",
		    NULL);
	if (!size)
		return 0;
	struct ls_msg m;
	ls_msg_init(&m);
	m.recv_sec = 1764000000;
	struct ls_parse_opts o = {.flags = data[0] & 0x1ff, .default_pri = 13, .self_pid = 1};
	o.flags |= (unsigned)(data[0] & 1) << 8;
	if ((o.flags & (LS_P_SYSLOG_PROTOCOL | LS_P_NO_PARSE)) ==
	    (LS_P_SYSLOG_PROTOCOL | LS_P_NO_PARSE))
		o.flags = (o.flags & ~(unsigned)LS_P_NO_PARSE) | LS_P_KMSG;
	ls_msg_parse(&m, (const char *)data + 1, size - 1, &o);
	struct ls_buf b = {0};
	ls_tmpl_format(t, &m, &b);
	if (!(o.flags & (LS_P_KMSG | LS_P_NO_PARSE))) {
		struct ls_msg base;
		ls_msg_init(&base);
		ls_msg_copy(&base, &m);
		struct ls_parse_opts po = {.flags = o.flags,
					   .default_pri = 13,
					   .self_pid = 1,
					   .recv_tz = "+01:00",
					   .zone_at = m.recv_sec,
					   .base = &base};
		ls_msg_parse(&m, (const char *)data + 1, size - 1, &po);
		b.len = 0;
		ls_tmpl_format(t, &m, &b);
		ls_msg_free(&base);
	}
	ls_buf_free(&b);
	ls_msg_free(&m);
	return 0;
}
