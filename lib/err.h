/*
 * err.h: how opskit reports errors.
 *
 * Layering rule (as in git's strbuf.h): library code never prints and never
 * exits. A fallible library function returns >= 0 on success or a negative
 * errno, and where context helps the caller it fills an optional struct
 * ok_err (may be NULL) with the file, the byte offset or line, and a message
 * saying what was found and what was expected. Only main.c and tests print
 * (ok_err_print, ok_warn) or exit (ok_die).
 *
 * Message forms (one per line, on stderr):
 *   tool: path: offset N: message            (binary inputs: byte offset)
 *   tool: path:LINE: message                 (text inputs: 1-based line)
 *   tool: path: message                      (no position)
 *   tool: message
 * When errnum is set and the message does not already say it, ": strerror"
 * is appended.
 *
 * Every error has a class, set where the error happens (ok_errc_at and
 * ok_errc_line take it; ok_err_at and ok_err_line derive it from the errno
 * with ok_class_of; ok_err_set_class corrects it where the caller knows
 * better, e.g. "no usable member" is bad data whatever errno the member gave).
 * main() turns the class into the exit code through one table, ok_exit_map:
 *
 *   class              opskit code   meaning
 *   (none)             0             success
 *   OK_CLASS_NEGATIVE  1             the command ran but its answer is negative
 *                                    (mismatches found, a digest is BAD, a
 *                                    verify failed, a filter did not match)
 *   OK_CLASS_USAGE     2             usage error (bad option or operand)
 *   OK_CLASS_DATA      3             bad input data (not in the expected format)
 *   OK_CLASS_IO        4             I/O or system error (incl. a missing file)
 *   OK_CLASS_REFUSED   5             refused for safety (nothing was written)
 *   OK_CLASS_INTERNAL  70            internal error (a bug: please report)
 *
 * A tool whose peer's exit codes are a contract scripts rely on installs the
 * peer's table instead (ok_exit_map = &ok_exit_rpm, &ok_exit_syslog_ng,
 * &ok_exit_lockstat); the README's table lists them side by side.
 */
#ifndef OPSKIT_ERR_H
#define OPSKIT_ERR_H

#include <stdarg.h>
#include <stdnoreturn.h>

enum ok_exit {
	OK_EXIT_OK = 0,
	OK_EXIT_FAIL = 1,
	OK_EXIT_USAGE = 2,
	OK_EXIT_DATA = 3,
	OK_EXIT_IO = 4,
	OK_EXIT_REFUSED = 5,
	OK_EXIT_INTERNAL = 70,
};

/* The kind of an error, which picks the exit code (see above). */
enum ok_class {
	OK_CLASS_NONE = 0, /* no error */
	OK_CLASS_NEGATIVE, /* ran, answer is "no" */
	OK_CLASS_USAGE,	   /* bad option or operand */
	OK_CLASS_DATA,	   /* input not in the expected format */
	OK_CLASS_IO,	   /* I/O or system error, missing file */
	OK_CLASS_REFUSED,  /* refused for safety, nothing written */
	OK_CLASS_INTERNAL, /* broken invariant */
	OK_CLASS_N,
};

/* No position known: offset and line are both OK_ERR_NOPOS. */
#define OK_ERR_NOPOS (-1LL)

struct ok_err {
	char path[256];	   /* file the error is about, "" if none */
	long long offset;  /* byte offset in path, or OK_ERR_NOPOS */
	long long line;	   /* 1-based line in path, or OK_ERR_NOPOS */
	int errnum;	   /* errno whose strerror is printed, 0 if the message says it all */
	char msg[512];	   /* what was found and what was expected */
	int err;	   /* the negative errno as returned, always kept (EBUSY too) */
	enum ok_class cls; /* what kind of error: picks the exit code */
};

/* Exit code per class, and the peer whose codes they are (NULL: opskit's own). */
struct ok_exit_map {
	const char *peer;
	int code[OK_CLASS_N];
};
/* opskit's codes (the table above). */
extern const struct ok_exit_map ok_exit_opskit;
/* rpm -qp/-K: 1 for a usage error and for every failed package (rpmq returns
 * the count of failed packages, as rpm does). */
extern const struct ok_exit_map ok_exit_rpm;
/* syslog-ng 3.38 and syslog-ng-ctl: 1 for a bad option, a configuration that
 * cannot be read or does not parse, a daemon that cannot be reached; 2 when
 * the daemon refuses to start (a reference error or filter loop in a
 * configuration that parsed, a source that cannot be opened). */
extern const struct ok_exit_map ok_exit_syslog_ng;
/* Solaris lockstat(1M): 1 usage error, 2 any other error. */
extern const struct ok_exit_map ok_exit_lockstat;
/* The table main() uses; &ok_exit_opskit unless main() sets a peer's. */
extern const struct ok_exit_map *ok_exit_map;

/* Program name used as the message prefix; set by cli_parse() or by hand. */
extern const char *ok_progname;

/*
 * Fill e (if not NULL) and return err (a negative errno, kept as e->errnum
 * when it is an OS error rather than a format error). path may be NULL.
 * offset is a byte offset or OK_ERR_NOPOS.
 */
int ok_err_at(struct ok_err *e, int err, const char *path, long long offset, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* As ok_err_at, for text inputs: line is 1-based. */
int ok_err_line(struct ok_err *e, int err, const char *path, long long line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Clear e to "no error". */
void ok_err_clear(struct ok_err *e);
/* Format e as one line without the program prefix into buf (always NUL-ended). */
void ok_err_format(const struct ok_err *e, char *buf, unsigned long size);

/* Print e (with the program prefix) on stderr. */
void ok_err_print(const struct ok_err *e);
/* Print "prog: message" on stderr. */
void ok_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "prog: message" on stderr and exit with code. */
noreturn void ok_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * As ok_err_at and ok_err_line, with the class given by the caller (the place
 * that knows what went wrong) instead of derived from err. A class other than
 * OK_CLASS_IO or OK_CLASS_INTERNAL makes err a code, not an OS error: no
 * strerror is appended.
 */
int ok_errc_at(struct ok_err *e, enum ok_class cls, int err, const char *path, long long offset,
	       const char *fmt, ...) __attribute__((format(printf, 6, 7)));
int ok_errc_line(struct ok_err *e, enum ok_class cls, int err, const char *path, long long line,
		 const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Set e's class (if e is not NULL) and return err, for a caller that knows the
 * kind of an error a lower layer filled in. */
int ok_err_set_class(struct ok_err *e, enum ok_class cls, int err);
/* The class a bare negative errno implies when nobody said better: format
 * errors (EINVAL, EBADMSG, ERANGE, EPROTO, ENOTSUP, EUCLEAN, ENODEV,
 * EPROTONOSUPPORT) are bad data, EBUSY/EEXIST/EPERM refused (opskit libraries
 * return EPERM for a refusal), anything else I/O. 0 is OK_CLASS_NONE. */
enum ok_class ok_class_of(int err);

/* The exit code for a class, from ok_exit_map. */
int ok_exit_class(enum ok_class cls);
/* The exit code for e: its class (or, unset, ok_class_of(e->err)). */
int ok_exit(const struct ok_err *e);
/* Print e and return ok_exit(e): the usual last line of a verb in main.c. */
int ok_err_fail(const struct ok_err *e);
/* Print "prog: message" on stderr and exit with ok_exit_class(cls). */
noreturn void ok_die_class(enum ok_class cls, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Map a negative errno to an exit code: ok_exit_class(ok_class_of(err)). */
int ok_exit_code(int err);

/* A broken internal invariant: print where and abort (git's BUG()). */
noreturn void ok_bug(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define BUG(...) ok_bug(__FILE__, __LINE__, __VA_ARGS__)

#endif
