/*
 * err.c: filling and printing struct ok_err (see err.h for the contract).
 */
#include "err.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *ok_progname = "opskit";

/* Exit codes per class, in enum ok_class order:
 *                             none neg usage data io  refused internal */
const struct ok_exit_map ok_exit_opskit = {NULL, {0, 1, 2, 3, 4, 5, 70}};
const struct ok_exit_map ok_exit_rpm = {"rpm 4.18", {0, 1, 1, 1, 1, 1, 1}};
const struct ok_exit_map ok_exit_syslog_ng = {"syslog-ng 3.38", {0, 1, 1, 1, 1, 2, 2}};
const struct ok_exit_map ok_exit_lockstat = {"Solaris lockstat", {0, 2, 1, 2, 2, 2, 2}};
const struct ok_exit_map *ok_exit_map = &ok_exit_opskit;

enum ok_class ok_class_of(int err)
{
	switch (err) {
	case 0:
		return OK_CLASS_NONE;
	case -EINVAL:
	case -EBADMSG:
	case -ERANGE:
	case -EPROTO:
	case -ENOTSUP:
	case -EUCLEAN:
	case -ENODEV:
	case -EPROTONOSUPPORT:
		return OK_CLASS_DATA;
	case -EBUSY:
	case -EEXIST:
	case -EPERM: /* opskit libraries return it for "refused"; open(2) says EACCES */
		return OK_CLASS_REFUSED;
	default:
		return OK_CLASS_IO;
	}
}

/* Shared body of the ok_err* fillers: cls OK_CLASS_NONE means "derive from err". */
static int err_fill(struct ok_err *e, enum ok_class cls, int err, const char *path,
		    long long offset, long long line, const char *fmt, va_list ap)
{
	if (!e)
		return err;
	snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
	e->offset = offset;
	e->line = line;
	e->err = err;
	e->cls = cls != OK_CLASS_NONE ? cls : ok_class_of(err);
	/* Format and policy errors (EINVAL, EBADMSG, EBUSY, ...) and errors the
	 * caller classed as other than I/O (no superblock is ENOENT, not "No such
	 * file") print no strerror: the message says it all. e->err keeps it. */
	bool quiet = err == -EINVAL || err == -EBADMSG || err == -ERANGE || err == -EPROTO ||
		     err == -ENOTSUP || err == -EEXIST || err == -EBUSY || err == -EPERM ||
		     (cls != OK_CLASS_NONE && cls != OK_CLASS_IO && cls != OK_CLASS_INTERNAL);
	e->errnum = quiet ? 0 : -err;
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	return err;
}

int ok_err_at(struct ok_err *e, int err, const char *path, long long offset, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_fill(e, OK_CLASS_NONE, err, path, offset, OK_ERR_NOPOS, fmt, ap);
	va_end(ap);
	return err;
}

int ok_err_line(struct ok_err *e, int err, const char *path, long long line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_fill(e, OK_CLASS_NONE, err, path, OK_ERR_NOPOS, line, fmt, ap);
	va_end(ap);
	return err;
}

int ok_errc_at(struct ok_err *e, enum ok_class cls, int err, const char *path, long long offset,
	       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_fill(e, cls, err, path, offset, OK_ERR_NOPOS, fmt, ap);
	va_end(ap);
	return err;
}

int ok_errc_line(struct ok_err *e, enum ok_class cls, int err, const char *path, long long line,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	err_fill(e, cls, err, path, OK_ERR_NOPOS, line, fmt, ap);
	va_end(ap);
	return err;
}

int ok_err_set_class(struct ok_err *e, enum ok_class cls, int err)
{
	if (e)
		e->cls = cls;
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

int ok_exit_class(enum ok_class cls)
{
	if ((unsigned)cls >= OK_CLASS_N)
		cls = OK_CLASS_INTERNAL;
	return ok_exit_map->code[cls];
}

int ok_exit(const struct ok_err *e)
{
	enum ok_class cls = e->cls != OK_CLASS_NONE ? e->cls : ok_class_of(e->err);
	/* an error nobody classed or numbered is still an error, never exit 0 */
	return ok_exit_class(cls != OK_CLASS_NONE ? cls : OK_CLASS_IO);
}

int ok_err_fail(const struct ok_err *e)
{
	ok_err_print(e);
	return ok_exit(e);
}

void ok_die_class(enum ok_class cls, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", ok_progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(ok_exit_class(cls));
}

int ok_exit_code(int err)
{
	return ok_exit_class(ok_class_of(err));
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
