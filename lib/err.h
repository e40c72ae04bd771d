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
 * Exit codes, shared by every tool and listed in each man page:
 *   0  success
 *   1  the command ran but its answer is negative (mismatches found, a digest
 *      is BAD, a verify failed, a filter did not match)
 *   2  usage error (bad option or operand)
 *   3  bad input data (a file is not in the expected format)
 *   4  I/O or system error
 *   5  refused for safety (nothing was written)
 *   70 internal error (a bug: please report)
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

/* No position known: offset and line are both OK_ERR_NOPOS. */
#define OK_ERR_NOPOS (-1LL)

struct ok_err {
	char path[256];	  /* file the error is about, "" if none */
	long long offset; /* byte offset in path, or OK_ERR_NOPOS */
	long long line;	  /* 1-based line in path, or OK_ERR_NOPOS */
	int errnum;	  /* errno behind the error, 0 if none */
	char msg[512];	  /* what was found and what was expected */
};

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
/* Map a negative errno from a library call to an exit code (EINVAL-like format
 * errors to OK_EXIT_DATA, the rest to OK_EXIT_IO). */
int ok_exit_code(int err);

/* A broken internal invariant: print where and abort (git's BUG()). */
noreturn void ok_bug(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define BUG(...) ok_bug(__FILE__, __LINE__, __VA_ARGS__)

#endif
