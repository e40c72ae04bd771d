/*
 * framer.c: records out of a byte stream, as syslog-ng 3.38's source
 * protocols cut them.
 *
 * Text streams (tcp(), unix-stream(), network(), file(), pipe()): 3.38's
 * LogProtoTextServer with find_eom(): a record ends at '\n' or at a NUL
 * byte; trailing '\r', '\n' and NULs are removed; a record that is empty
 * after that is skipped (unless flags(empty-lines)); a line longer than
 * log-msg-size() is cut into log-msg-size() pieces; at the end of input the
 * rest is one record.
 *
 * syslog() on TCP/TLS (RFC 6587 octet counting, 3.38's "framed" protocol,
 * with no fallback to text): "LEN SP MSG". A header that is not 1-10 digits
 * and a space ("Invalid frame header") or a LEN above log-msg-size()
 * ("Incoming frame larger than log_msg_size()") is an error and the
 * connection is closed, as 3.38 does.
 *
 * A pure function over a buffer, so the daemon and the fuzzer share it.
 */
#include <errno.h>
#include <string.h>

#include "ls_int.h"

ssize_t ls_frame_next(const char *buf, size_t len, const struct ls_frame_opts *o, const char **rec,
		      size_t *rec_len, char *err, size_t errlen)
{
	*rec = NULL;
	*rec_len = 0;
	if (!len)
		return 0;
	if (o->framed) {
		size_t k = 0, n = 0;
		while (k < len && k < 10 && buf[k] >= '0' && buf[k] <= '9')
			n = n * 10 + (size_t)(buf[k++] - '0');
		if (k == len && k < 10)
			return 0; /* header not complete yet */
		if (buf[k] != ' ') {
			snprintf(err, errlen, "Invalid frame header; header='%.*s'",
				 (int)(k < 40 ? k : 40), buf);
			return -EPROTO;
		}
		if (n > o->max) {
			snprintf(err, errlen,
				 "Incoming frame larger than log_msg_size(); log_msg_size='%zu', "
				 "frame_length='%zu'",
				 o->max, n);
			return -EMSGSIZE;
		}
		if (len - k - 1 < n)
			return 0;
		*rec = n || o->empty_lines ? buf + k + 1 : NULL; /* "0 ": skipped as empty */
		*rec_len = n;
		return (ssize_t)(k + 1 + n);
	}
	size_t lim = len < o->max ? len : o->max;
	const char *nl = memchr(buf, '\n', lim);
	const char *nul = memchr(buf, 0, nl ? (size_t)(nl - buf) : lim);
	const char *eom = nul ? nul : nl;
	size_t used;
	if (eom) {
		used = (size_t)(eom - buf) + 1;
		*rec_len = (size_t)(eom - buf);
	} else if (len >= o->max) {
		used = o->max; /* too long: cut at log-msg-size(), as 3.38 */
		*rec_len = o->max;
	} else if (o->eof) {
		used = len;
		*rec_len = len;
	} else {
		return 0;
	}
	*rec = buf;
	if (eom)
		while (*rec_len && (buf[*rec_len - 1] == '\r' || buf[*rec_len - 1] == '\n' ||
				    buf[*rec_len - 1] == 0))
			(*rec_len)--;
	if (!*rec_len && !o->empty_lines)
		*rec = NULL; /* 3.38 skips empty records */
	return (ssize_t)used;
}
