/*
 * tzfile.h: time zones by name, read from the zoneinfo files (RFC 8536
 * TZif), and the local zone's offset through the C library.
 *
 * A struct ls_tz is one zone: a fixed offset ("+05:30"), a zoneinfo file
 * (its 64-bit transition table, and the POSIX TZ string of its footer for
 * times after the last transition) or a bare POSIX TZ string
 * ("JST-9", "CET-1CEST,M3.5.0,M10.5.0/3"). Once made it is immutable:
 * lookups (ls_tz_offset) are pure functions of it and t, so any number of
 * threads may share one. The configuration owns the zones its options
 * name (ls_cfg's zone table, made at load); nothing here keeps state
 * between calls.
 *
 * The local zone is the C library's (TZ, /etc/localtime): localtime_r is
 * its only interface, so ls_tz_local() asks it and keeps the answer in a
 * caller-owned struct ls_tz_span (the runtime's), valid over the interval
 * it was checked for.
 *
 * Errors: parse and load functions return 0 or a negative errno and fill
 * an optional ok_err (file, byte offset, what was expected).
 */
#ifndef LS_TZFILE_H
#define LS_TZFILE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define LS_TZ_DIR	"/usr/share/zoneinfo" /* where zone names are looked up */
#define LS_TZ_NAME_MAX	255		      /* longest zone name accepted */
#define LS_TZ_FILE_MAX	(256 * 1024)	      /* largest TZif file read (real ones: < 4 KiB) */
#define LS_TZ_POSIX_MAX 255		      /* longest POSIX TZ string (footer) */

struct ls_tz;

/* The interval [lo, hi) of Unix seconds over which the offset off
 * (seconds east of UTC) holds; INT64_MIN and INT64_MAX are open ends.
 * lo >= hi is an empty span (all zero). */
struct ls_tz_span {
	int64_t lo, hi; /* Unix seconds */
	int off;	/* seconds east of UTC */
};

/*
 * Parse a TZif image (buf, len; RFC 8536 version 1, 2, 3 or 4). Version 2+
 * files are read from their 64-bit block and footer. path names the file
 * in errors (may be NULL). Returns 0 and *out (free with ls_tz_free), or
 * -EINVAL with e holding the byte offset and what was expected, -ENOMEM.
 * Hostile input is expected: every count is checked against the size,
 * transition times must ascend, type indexes and offsets be in range.
 */
int ls_tz_parse(const void *buf, size_t len, const char *path, struct ls_tz **out,
		struct ok_err *e);

/* A POSIX TZ string ("EST5EDT,M3.2.0,M11.1.0"; RFC 8536 section 3.3's
 * extensions: hours up to 167 in rule times, negative ones) as a zone. DST
 * without rules takes the POSIX default ",M3.2.0,M11.1.0". Returns 0 and
 * *out, or -EINVAL with e. */
int ls_tz_parse_posix(const char *s, struct ls_tz **out, struct ok_err *e);

/*
 * Read zone name ("Europe/Budapest") from directory dir (NULL: LS_TZ_DIR).
 * The name comes from configuration, so it is confined: 1..LS_TZ_NAME_MAX
 * bytes of [A-Za-z0-9._+-/], relative, no empty, "." or ".." component;
 * the file is opened beneath dir (openat2 RESOLVE_BENEATH where the kernel
 * has it), must be a regular file of at most LS_TZ_FILE_MAX bytes.
 * Returns 0 and *out; -EPERM (refused name), -ENOENT and other -errno from
 * the open/read, or ls_tz_parse's errors, with e.
 */
int ls_tz_load(const char *dir, const char *name, struct ls_tz **out, struct ok_err *e);

/*
 * A zone as a configuration names it, as syslog-ng 3.38 reads time-zone():
 * "+hh:mm" or "-hh:mm" (hh < 24) is a fixed offset; otherwise a zoneinfo
 * name under dir (NULL: LS_TZ_DIR), else UTC (3.38's "Bogus timezone
 * spec"; it takes no POSIX TZ string either). Returns the zone, with e
 * filled when it fell back to UTC (the load's error); NULL only when out
 * of memory.
 */
struct ls_tz *ls_tz_open(const char *dir, const char *name, struct ok_err *e);

/* Offset of zone z (seconds east of UTC) at Unix time t; when span is not
 * NULL, also the interval around t over which it holds. */
int ls_tz_offset(const struct ls_tz *z, int64_t t, struct ls_tz_span *span);

void ls_tz_free(struct ls_tz *z);

/*
 * The local zone's offset at t (localtime_r's tm_gmtoff; 0 where it
 * cannot convert t). cache (may be NULL) holds the last answer with the
 * 15-minute slot it was checked to hold for (both ends of the slot
 * asked: offsets change at most once in 15 minutes), so a run of
 * messages costs one localtime_r per slot. A zeroed cache is empty.
 */
int ls_tz_local(struct ls_tz_span *cache, int64_t t);

/* Offset at t of z, or of the local zone when z is NULL (through cache). */
int ls_tz_gmtoff(const struct ls_tz *z, struct ls_tz_span *cache, int64_t t);

#endif
