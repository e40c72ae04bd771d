/*
 * err.c: filling and printing struct ok_err (see err.h for the contract).
 */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ok_progname = "opskit";

/* Shared body of ok_err_at and ok_err_line. */
static int err_fill(struct ok_err *e, int err, const char *path, long long offset, long long line,
		    const char *fmt, va_list ap)
{
	if (!e)
		return err;
	snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
	e->offset = offset;
	e->line = line;
	/* Format errors (EINVAL, EBADMSG, ...) carry no strerror: the message says it all. */
	e->errnum = (err == -EINVAL || err == -EBADMSG || err == -ERANGE || err == -EPROTO ||
		     err == -ENOTSUP || err == -EEXIST || err == -EBUSY || err == -EPERM)
			? 0
			: -err;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return err;
}

int ok_err_at(struct ok_err *e, int err, const char *path, long long offset, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_fill(e, err, path, offset, OK_ERR_NOPOS, fmt, ap);
	va_end(ap);
	return err;
}

int ok_err_line(struct ok_err *e, int err, const char *path, long long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_fill(e, err, path, OK_ERR_NOPOS, line, fmt, ap);
	va_end(ap);
	return err;
}

void ok_err_clear(struct ok_err *e)
{
	if (e) {
		memset(e, 0, sizeof(*e));
		e->offset = e->line = OK_ERR_NOPOS;
	}
}

void ok_err_format(const struct ok_err *e, char *buf, unsigned long size)
{
	char pos[320] = "";
	if (e->path[0] && e->line != OK_ERR_NOPOS)
		snprintf(pos, sizeof(pos), "%s:%lld: ", e->path, e->line);
	else if (e->path[0] && e->offset != OK_ERR_NOPOS)
		snprintf(pos, sizeof(pos), "%s: offset %lld: ", e->path, e->offset);
	else if (e->path[0])
		snprintf(pos, sizeof(pos), "%s: ", e->path);
	const char *why = e->errnum ? strerror(e->errnum) : NULL;
	if (why && strstr(e->msg, why))
		why = NULL;
	snprintf(buf, size, "%s%s%s%s", pos, e->msg[0] ? e->msg : (why ? "" : "error"),
		 why && e->msg[0] ? ": " : "", why ? why : "");
}

void ok_err_print(const struct ok_err *e)
{
	char buf[1024];
	ok_err_format(e, buf, sizeof(buf));
	fprintf(stderr, "%s: %s\n", ok_progname, buf);
}

void ok_warn(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", ok_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void ok_die(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", ok_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

int ok_exit_code(int err)
{
	switch (err) {
	case 0:
		return OK_EXIT_OK;
	case -EINVAL:
	case -EBADMSG:
	case -ERANGE:
	case -EPROTO:
	case -ENOTSUP:
		return OK_EXIT_DATA;
	case -EBUSY:
	case -EEXIST:
	case -EPERM:
		return OK_EXIT_REFUSED;
	default:
		return OK_EXIT_IO;
	}
}

void ok_bug(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: BUG at %s:%d: ", ok_progname, file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	abort();
}
