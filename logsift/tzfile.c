/*
 * tzfile.c: time zones by name: a reader of the zoneinfo files (RFC 8536
 * TZif) and of POSIX TZ strings, and the local zone through localtime_r.
 *
 * Divisions: calendar arithmetic; POSIX TZ strings (the footer's rules);
 * the TZif parser; loading a named file, confined to the zoneinfo
 * directory; lookups; the local zone.
 *
 * Why our own reader: glibc has no per-zone API. localtime_r knows one
 * zone per process (TZ), so converting in a second zone (time-zone(),
 * recv-time-zone(), send-time-zone(), date-parser's time-zone()) meant
 * setenv("TZ") + tzset() around each lookup: not thread-safe, and it
 * changes localtime for the rest of the process while switched. syslog-ng
 * 3.38 reads the files itself for the same reason (lib/timeutils/
 * zoneinfo.c). Here a zone is parsed once into an immutable struct and a
 * lookup is a binary search over its transitions, with the footer's POSIX
 * rule evaluated for times after the last one (RFC 8536 section 3.3).
 * Leap-second records ("right/" zones) are checked for size and ignored,
 * as glibc's localtime ignores them for tm_gmtoff.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tzfile.h"

/* One transition rule of a POSIX TZ string: a date form and the local
 * time of day (seconds, may be negative or past 24 h) it happens at. */
struct tz_date {
	char kind;    /* 'J': Jn, day 1..365 without Feb 29; 'D': n, 0..365; 'M': Mm.w.d */
	int n;	      /* J/D: the day number */
	int m, w, d;  /* M: month 1..12, week 1..5 (5 = last), weekday 0..6 (Sunday 0) */
	int32_t secs; /* local time of day of the change */
};

/* A POSIX TZ string's meaning. */
struct tz_rule {
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;		  /* DST part present (then start/end are set) */
	struct tz_date start, end;
};

struct ls_tz {
	size_t n;      /* transitions */
	int64_t *at;   /* transition times, strictly ascending (Unix seconds) */
	int32_t *off;  /* offset in effect from at[i] on */
	int32_t off0;  /* offset before at[0] (time type 0), or the fixed offset */
	bool has_rule; /* rule applies from at[n-1] on (from always when n == 0) */
	struct tz_rule rule;
};

/* RFC 8536 section 3.2: offsets SHOULD be in -89999..93599; we require it,
 * so t + offset can never overflow what the callers add it to. */
#define OFF_MIN (-89999)
#define OFF_MAX 93599

/* -------------------------------------------------- calendar arithmetic */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian, m 1..12). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	const int64_t era = (y >= 0 ? y : y - 399) / 400;
	const int64_t yoe = y - era * 400;
	const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The (UTC) year of day number days since 1970-01-01. */
static int64_t year_of_days(int64_t days)
{
	days += 719468;
	const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
	const int64_t doe = days - era * 146097;
	const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	const int64_t mp = (5 * doy + 2) / 153;
	return yoe + era * 400 + (mp >= 10);
}

static bool is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Local seconds (as if UTC) at which rule date r happens in year y. */
static int64_t rule_local(const struct tz_date *r, int64_t y)
{
	int64_t days;
	if (r->kind == 'J')
		days = days_from_civil(y, 1, 1) + r->n - 1 + (is_leap(y) && r->n >= 60);
	else if (r->kind == 'D')
		days = days_from_civil(y, 1, 1) + r->n;
	else {
		int64_t first = days_from_civil(y, r->m, 1);
		int64_t next =
		    r->m == 12 ? days_from_civil(y + 1, 1, 1) : days_from_civil(y, r->m + 1, 1);
		int wday = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
		days = first + (r->d - wday + 7) % 7 + 7 * (r->w - 1);
		while (days >= next)
			days -= 7;
	}
	return days * 86400 + r->secs;
}

/* ------------------------------------------------------ POSIX TZ strings */

/* A zone abbreviation: <...> of [A-Za-z0-9+-] or 3+ letters. */
static const char *posix_name(const char *s)
{
	const char *p = s;
	if (*p == '<') {
		for (p++; *p && *p != '>'; p++)
			if (!(*p >= 'A' && *p <= 'Z') && !(*p >= 'a' && *p <= 'z') &&
			    !(*p >= '0' && *p <= '9') && *p != '+' && *p != '-')
				return NULL;
		return *p == '>' && p - s >= 4 ? p + 1 : NULL;
	}
	while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
		p++;
	return p - s >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h, into *secs (the sign as written). */
static const char *posix_hms(const char *p, int max_h, int32_t *secs)
{
	int sign = 1;
	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	int v[3] = {0, 0, 0};
	for (int i = 0; i < 3; i++) {
		if (i && *p != ':')
			break;
		if (i)
			p++;
		if (*p < '0' || *p > '9')
			return NULL;
		int digits = 0;
		while (*p >= '0' && *p <= '9' && digits < 3) {
			v[i] = v[i] * 10 + (*p++ - '0');
			digits++;
		}
		if ((i && (digits != 2 || v[i] > 59)) || (!i && v[0] > max_h))
			return NULL;
	}
	*secs = sign * (v[0] * 3600 + v[1] * 60 + v[2]);
	return p;
}

/* ",date[/time]": Jn, n or Mm.w.d, time 02:00 by default. */
static const char *posix_date(const char *p, struct tz_date *r)
{
	int *fields[3] = {&r->m, &r->w, &r->d};
	static const int lo[3] = {1, 1, 0}, hi[3] = {12, 5, 6};
	memset(r, 0, sizeof *r);
	if (*p == 'M') {
		r->kind = 'M';
		p++;
		for (int i = 0; i < 3; i++) {
			if (i && *p++ != '.')
				return NULL;
			if (*p < '0' || *p > '9')
				return NULL;
			int v = 0;
			for (int k = 0; *p >= '0' && *p <= '9' && k < 2; k++)
				v = v * 10 + (*p++ - '0');
			if (v < lo[i] || v > hi[i])
				return NULL;
			*fields[i] = v;
		}
	} else {
		r->kind = *p == 'J' ? 'J' : 'D';
		if (*p == 'J')
			p++;
		if (*p < '0' || *p > '9')
			return NULL;
		int v = 0;
		for (int k = 0; *p >= '0' && *p <= '9' && k < 3; k++)
			v = v * 10 + (*p++ - '0');
		if (r->kind == 'J' ? v < 1 || v > 365 : v > 365)
			return NULL;
		r->n = v;
	}
	r->secs = 7200;
	if (*p == '/')
		return posix_hms(p + 1, 167, &r->secs);
	return p;
}

/* The whole string s into r; false when it is not a POSIX TZ string. */
static bool posix_rule(const char *s, struct tz_rule *r)
{
	memset(r, 0, sizeof *r);
	const char *p = posix_name(s);
	int32_t v;
	if (!p || !(p = posix_hms(p, 24, &v)))
		return false;
	r->std_off = -v; /* POSIX counts west */
	r->dst_off = r->std_off;
	if (!*p)
		return true;
	if (!(p = posix_name(p)))
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*p && *p != ',') {
		if (!(p = posix_hms(p, 24, &v)))
			return false;
		r->dst_off = -v;
	}
	if (!*p) { /* no rules: POSIX's default, the US ones */
		r->start = (struct tz_date){'M', 0, 3, 2, 0, 7200};
		r->end = (struct tz_date){'M', 0, 11, 1, 0, 7200};
		return true;
	}
	if (*p++ != ',' || !(p = posix_date(p, &r->start)) || *p++ != ',' ||
	    !(p = posix_date(p, &r->end)))
		return false;
	return !*p;
}

int ls_tz_parse_posix(const char *s, struct ls_tz **out, struct ok_err *e)
{
	struct tz_rule r;
	if (strlen(s) > LS_TZ_POSIX_MAX || !posix_rule(s, &r))
		return ok_errc_at(
		    e, OK_CLASS_DATA, -EINVAL, NULL, OK_ERR_NOPOS,
		    "'%.64s' is not a POSIX TZ string (std offset[dst[offset][,rule,rule]])", s);
	struct ls_tz *z = calloc(1, sizeof *z);
	if (!z)
		return ok_errc_at(e, OK_CLASS_INTERNAL, -ENOMEM, NULL, OK_ERR_NOPOS, "zone");
	z->has_rule = true;
	z->rule = r;
	z->off0 = r.std_off;
	*out = z;
	return 0;
}

/* ------------------------------------------------------------ TZif files */

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* A TZif header's counts (RFC 8536 section 3.1), in its order. */
struct tzif_hdr {
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
	char version; /* 0, '2', '3', '4' */
};

#define HDR_BYTES 44

/* The header at buf + at; the size of the data block after it into *blk. */
static int tzif_hdr(const unsigned char *buf, size_t len, size_t at, int tsize, const char *path,
		    struct tzif_hdr *h, uint64_t *blk, struct ok_err *e)
{
	if (len - at < HDR_BYTES)
		return ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, (long long)at,
				  "TZif header cut short (%zu bytes, expected 44)", len - at);
	const unsigned char *p = buf + at;
	if (memcmp(p, "TZif", 4))
		return ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, (long long)at,
				  "bad magic, expected \"TZif\"");
	h->version = (char)p[4];
	if (h->version != 0 && (h->version < '2' || h->version > '4'))
		return ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, (long long)at + 4,
				  "TZif version 0x%02x, expected 0, '2', '3' or '4'", p[4]);
	h->isutcnt = be32(p + 20);
	h->isstdcnt = be32(p + 24);
	h->leapcnt = be32(p + 28);
	h->timecnt = be32(p + 32);
	h->typecnt = be32(p + 36);
	h->charcnt = be32(p + 40);
	if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0)
		return ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, (long long)at + 36,
				  "typecnt %u, charcnt %u: expected 1..256 and at least 1",
				  h->typecnt, h->charcnt);
	if ((h->isutcnt && h->isutcnt != h->typecnt) || (h->isstdcnt && h->isstdcnt != h->typecnt))
		return ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, (long long)at + 20,
				  "isutcnt %u, isstdcnt %u: expected 0 or typecnt (%u)", h->isutcnt,
				  h->isstdcnt, h->typecnt);
	/* each count < 2^32: the sum fits in 64 bits */
	*blk = (uint64_t)h->timecnt * ((uint64_t)tsize + 1) + (uint64_t)h->typecnt * 6 +
	       h->charcnt + (uint64_t)h->leapcnt * ((uint64_t)tsize + 4) + h->isstdcnt + h->isutcnt;
	if (*blk > len - at - HDR_BYTES)
		return ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, (long long)at + HDR_BYTES,
				  "data block of %llu bytes expected, only %zu in the file",
				  (unsigned long long)*blk, len - at - HDR_BYTES);
	return 0;
}

/* The data block at p (after header h) into z. */
static int tzif_data(const unsigned char *buf, size_t at, int tsize, const struct tzif_hdr *h,
		     const char *path, struct ls_tz *z, struct ok_err *e)
{
	const unsigned char *times = buf + at, *idx = times + (size_t)h->timecnt * tsize;
	const unsigned char *types = idx + h->timecnt;
	const unsigned char *leaps = types + (size_t)h->typecnt * 6 + h->charcnt;
	const unsigned char *ind = leaps + (size_t)h->leapcnt * (tsize + 4);
	int32_t off[256];
	for (uint32_t i = 0; i < h->typecnt; i++) {
		const unsigned char *t = types + (size_t)i * 6;
		int32_t o = (int32_t)be32(t);
		if (o < OFF_MIN || o > OFF_MAX || t[4] > 1 || t[5] >= h->charcnt)
			return ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, (long long)(t - buf),
					  "time type %u: utoff %d, isdst %u, desigidx %u: expected "
					  "%d..%d, 0/1, < charcnt %u",
					  i, o, t[4], t[5], OFF_MIN, OFF_MAX, h->charcnt);
		off[i] = o;
	}
	for (uint32_t i = 0; i < h->isstdcnt + h->isutcnt; i++)
		if (ind[i] > 1)
			return ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path,
					  (long long)(ind + i - buf),
					  "standard/UT indicator %u, expected 0 or 1", ind[i]);
	z->n = h->timecnt;
	z->off0 = off[0];
	if (!h->timecnt)
		return 0;
	z->at = malloc(h->timecnt * sizeof *z->at);
	z->off = malloc(h->timecnt * sizeof *z->off);
	if (!z->at || !z->off)
		return ok_errc_at(e, OK_CLASS_INTERNAL, -ENOMEM, path, OK_ERR_NOPOS, "zone");
	for (uint32_t i = 0; i < h->timecnt; i++) {
		const unsigned char *t = times + (size_t)i * tsize;
		z->at[i] = tsize == 8 ? be64(t) : (int64_t)(int32_t)be32(t);
		if (i && z->at[i] <= z->at[i - 1])
			return ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, (long long)(t - buf),
					  "transition %u at %lld, expected after %lld", i,
					  (long long)z->at[i], (long long)z->at[i - 1]);
		if (idx[i] >= h->typecnt)
			return ok_errc_at(
			    e, OK_CLASS_DATA, -EINVAL, path, (long long)(idx + i - buf),
			    "transition %u: type %u, expected < typecnt %u", i, idx[i], h->typecnt);
		z->off[i] = off[idx[i]];
	}
	return 0;
}

int ls_tz_parse(const void *vbuf, size_t len, const char *path, struct ls_tz **out,
		struct ok_err *e)
{
	const unsigned char *buf = vbuf;
	struct tzif_hdr h;
	uint64_t blk;
	int rc = tzif_hdr(buf, len, 0, 4, path, &h, &blk, e);
	if (rc < 0)
		return rc;
	size_t at = HDR_BYTES;
	int tsize = 4;
	if (h.version) { /* v2+: skip the 32-bit block, read the 64-bit one */
		at += (size_t)blk;
		tsize = 8;
		if ((rc = tzif_hdr(buf, len, at, 8, path, &h, &blk, e)) < 0)
			return rc;
		at += HDR_BYTES;
	}
	struct ls_tz *z = calloc(1, sizeof *z);
	if (!z)
		return ok_errc_at(e, OK_CLASS_INTERNAL, -ENOMEM, path, OK_ERR_NOPOS, "zone");
	if ((rc = tzif_data(buf, at, tsize, &h, path, z, e)) < 0)
		goto fail;
	at += (size_t)blk;
	if (tsize == 8) { /* footer: "\n" POSIX-TZ "\n", the TZ string may be empty */
		const unsigned char *nl =
		    at < len ? memchr(buf + at + 1, '\n', len - at - 1) : NULL;
		if (at >= len || buf[at] != '\n' || !nl) {
			rc = ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, (long long)at,
					"footer: expected a POSIX TZ string between two newlines");
			goto fail;
		}
		size_t n = (size_t)(nl - (buf + at + 1));
		char tz[LS_TZ_POSIX_MAX + 1];
		if (n > LS_TZ_POSIX_MAX || memchr(buf + at + 1, 0, n)) {
			rc = ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, (long long)at + 1,
					"footer: %zu bytes, expected a TZ string of at most %d", n,
					LS_TZ_POSIX_MAX);
			goto fail;
		}
		memcpy(tz, buf + at + 1, n);
		tz[n] = 0;
		if (n) {
			if (!posix_rule(tz, &z->rule)) {
				rc = ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, (long long)at + 1,
						"footer '%.64s': expected a POSIX TZ string", tz);
				goto fail;
			}
			z->has_rule = true;
			if (!z->n)
				z->off0 = z->rule.std_off;
		}
	}
	*out = z;
	return 0;
fail:
	ls_tz_free(z);
	return rc;
}

void ls_tz_free(struct ls_tz *z)
{
	if (!z)
		return;
	free(z->at);
	free(z->off);
	free(z);
}

/* --------------------------------------------------- loading a named zone */

/* True for a name that stays inside the zoneinfo directory. */
static bool name_ok(const char *name)
{
	size_t n = strlen(name);
	if (!n || n > LS_TZ_NAME_MAX || name[0] == '/')
		return false;
	for (const char *c = name; *c;) {
		const char *end = strchr(c, '/');
		size_t len = end ? (size_t)(end - c) : strlen(c);
		if (!len || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return false;
		for (size_t i = 0; i < len; i++) {
			char ch = c[i];
			if (!(ch >= 'A' && ch <= 'Z') && !(ch >= 'a' && ch <= 'z') &&
			    !(ch >= '0' && ch <= '9') && ch != '.' && ch != '_' && ch != '+' &&
			    ch != '-')
				return false;
		}
		c += len + (end != NULL);
		if (end && !*c)
			return false; /* trailing '/' */
	}
	return true;
}

/* name opened beneath dirfd: openat2 RESOLVE_BENEATH (symlinks must stay
 * inside too); plain openat where the kernel lacks it (the name was
 * checked, only a symlink the administrator placed can lead out). */
static int open_beneath(int dirfd, const char *name)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY,
			       .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
	long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof how);
	if (fd < 0 && (errno == ENOSYS || errno == EPERM))
		fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	return (int)fd;
}

int ls_tz_load(const char *dir, const char *name, struct ls_tz **out, struct ok_err *e)
{
	if (!dir)
		dir = LS_TZ_DIR;
	if (!name_ok(name))
		return ok_errc_at(e, OK_CLASS_REFUSED, -EPERM, NULL, OK_ERR_NOPOS,
				  "time zone '%.64s': expected a relative name of at most %d "
				  "bytes of [A-Za-z0-9._+-/] without '.' or '..' components",
				  name, LS_TZ_NAME_MAX);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return ok_err_at(e, -errno, dir, OK_ERR_NOPOS, "zoneinfo directory");
	int fd = open_beneath(dfd, name);
	int err = errno;
	close(dfd);
	char path[LS_TZ_NAME_MAX + 1];
	snprintf(path, sizeof path, "%s", name);
	if (fd < 0)
		return ok_err_at(e, -err, path, OK_ERR_NOPOS, "time zone");
	struct stat st;
	unsigned char *buf = NULL;
	int rc;
	if (fstat(fd, &st) < 0) {
		rc = ok_err_at(e, -errno, path, OK_ERR_NOPOS, "time zone");
		goto out;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > LS_TZ_FILE_MAX) {
		rc = ok_errc_at(e, OK_CLASS_DATA, -EINVAL, path, OK_ERR_NOPOS,
				"expected a regular file of at most %d bytes", LS_TZ_FILE_MAX);
		goto out;
	}
	size_t len = (size_t)st.st_size, got = 0;
	if (!(buf = malloc(len ? len : 1))) {
		rc = ok_errc_at(e, OK_CLASS_INTERNAL, -ENOMEM, path, OK_ERR_NOPOS, "zone");
		goto out;
	}
	while (got < len) { /* the size was read once: a file growing meanwhile is cut there */
		ssize_t r = pread(fd, buf + got, len - got, (off_t)got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = ok_err_at(e, -errno, path, (long long)got, "read");
			goto out;
		}
		if (!r)
			break;
		got += (size_t)r;
	}
	rc = ls_tz_parse(buf, got, path, out, e);
out:
	free(buf);
	close(fd);
	return rc;
}

/* "+hh:mm" / "-hh:mm" (hh < 24, mm < 60, as 3.38's
 * time_zone_info_parse_offset) as seconds east; false when s is not one. */
static bool fixed_offset(const char *s, int32_t *off)
{
	if ((s[0] != '+' && s[0] != '-') || strlen(s) != 6 || s[3] != ':')
		return false;
	for (int i = 1; i < 6; i++)
		if (i != 3 && (s[i] < '0' || s[i] > '9'))
			return false;
	if ((s[1] - '0') * 10 + (s[2] - '0') > 23 || s[4] > '5')
		return false;
	*off =
	    ((s[1] - '0') * 36000 + (s[2] - '0') * 3600 + (s[4] - '0') * 600 + (s[5] - '0') * 60) *
	    (s[0] == '-' ? -1 : 1);
	return true;
}

struct ls_tz *ls_tz_open(const char *dir, const char *name, struct ok_err *e)
{
	struct ls_tz *z = NULL;
	int32_t off;
	if (fixed_offset(name, &off)) {
		if ((z = calloc(1, sizeof *z)))
			z->off0 = off;
		return z;
	}
	if (ls_tz_load(dir, name, &z, e) == 0)
		return z;
	return calloc(1, sizeof *z); /* UTC, as 3.38 takes a "bogus timezone spec" */
}

/* ----------------------------------------------------------------- lookups */

/* The rule's offset at t, and the span around it (not before lo). */
static int rule_offset(const struct tz_rule *r, int64_t t, int64_t lo, struct ls_tz_span *sp)
{
	struct ls_tz_span s = {lo, INT64_MAX, r->std_off};
	if (r->has_dst) {
		/* the changes of the years around t's, in time order: the
		 * last one at or before t gives the offset (this holds for
		 * southern zones, and for rule times past midnight or
		 * negative that move a change into a neighbouring year) */
		const int64_t lim = (int64_t)1 << 55; /* years stay far from overflow */
		int64_t tc = t < -lim ? -lim : t > lim ? lim : t;
		int64_t y = year_of_days(floor_div(tc, 86400));
		struct {
			int64_t at;
			int32_t off;
		} ev[6];
		int n = 0;
		for (int64_t k = y - 1; k <= y + 1; k++) {
			/* start: local standard time; end: local daylight time */
			int64_t s0 = rule_local(&r->start, k) - r->std_off;
			int64_t e0 = rule_local(&r->end, k) - r->dst_off;
			ev[n].at = s0, ev[n++].off = r->dst_off;
			ev[n].at = e0, ev[n++].off = r->std_off;
		}
		/* insertion sort, stable: equal times keep year, then start-before-end order */
		for (int i = 1; i < n; i++)
			for (int j = i; j > 0 && ev[j].at < ev[j - 1].at; j--) {
				__typeof__(ev[0]) x = ev[j];
				ev[j] = ev[j - 1];
				ev[j - 1] = x;
			}
		int last = -1;
		for (int i = 0; i < n && ev[i].at <= t; i++)
			last = i;
		if (last < 0) {
			s.off = ev[0].off == r->dst_off ? r->std_off : r->dst_off;
			s.hi = ev[0].at;
		} else {
			s.off = ev[last].off;
			if (ev[last].at > s.lo)
				s.lo = ev[last].at;
			for (int i = last + 1; i < n; i++)
				if (ev[i].at > t) {
					s.hi = ev[i].at;
					break;
				}
			/* past the last change known (t near y+1's end): hold
			 * until the next lookup rather than claim the year */
			if (s.hi == INT64_MAX && t < INT64_MAX)
				s.hi = t + 1;
		}
	}
	if (sp)
		*sp = s;
	return s.off;
}

int ls_tz_offset(const struct ls_tz *z, int64_t t, struct ls_tz_span *sp)
{
	if (z->has_rule && (!z->n || t >= z->at[z->n - 1]))
		return rule_offset(&z->rule, t, z->n ? z->at[z->n - 1] : INT64_MIN, sp);
	struct ls_tz_span s;
	if (!z->n || t < z->at[0]) {
		s = (struct ls_tz_span){INT64_MIN, z->n ? z->at[0] : INT64_MAX, z->off0};
	} else {
		size_t a = 0, b = z->n; /* at[a] <= t < at[b] (at[n] = +inf) */
		while (b - a > 1) {
			size_t m = a + (b - a) / 2;
			if (z->at[m] <= t)
				a = m;
			else
				b = m;
		}
		s = (struct ls_tz_span){z->at[a], b < z->n ? z->at[b] : INT64_MAX, z->off[a]};
	}
	if (sp)
		*sp = s;
	return s.off;
}

/* ------------------------------------------------------------- local zone */

static int local_at(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	return localtime_r(&tt, &tm) ? (int)tm.tm_gmtoff : 0;
}

int ls_tz_local(struct ls_tz_span *c, int64_t t)
{
	if (c && c->lo <= t && t < c->hi)
		return c->off;
	int off = local_at(t);
	if (c && t > INT64_MIN + 900 && t < INT64_MAX - 900) {
		int64_t lo = floor_div(t, 900) * 900;
		if (local_at(lo) == off && local_at(lo + 899) == off)
			*c = (struct ls_tz_span){lo, lo + 900, off};
	}
	return off;
}

int ls_tz_gmtoff(const struct ls_tz *z, struct ls_tz_span *cache, int64_t t)
{
	return z ? ls_tz_offset(z, t, NULL) : ls_tz_local(cache, t);
}
