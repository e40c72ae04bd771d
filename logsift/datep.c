/*
 * datep.c: date-parser() as syslog-ng 3.38's modules/timestamp: the
 * input is read with 3.38's wall-clock strptime (lib/timeutils/
 * wallclocktime.c, NetBSD's strptime with %f and %z extended), missing
 * fields guessed as wall_clock_time_guess_missing_fields guesses them and
 * the result converted as convert_and_normalize_wall_clock_time_to_unix_
 * time_with_tz_hint converts it (the offset in the input, else
 * time-zone()'s offset at the receive time, else the local one).
 *
 * We wrote this rather than call strptime(3): glibc's differs from 3.38's
 * in %z forms, %f, the year guess and what a partial date means, and those
 * decide the stamp admins see.
 *
 * Only the conversions listed in ls_datep_check are taken; the others
 * (%c %r %x %X %C %s %U %W %g %G %V %E %O ...) are refused at start-up.
 *
 * Divisions: the format check, the reader, the conversion.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "ls_int.h"

/* ------------------------------------------------------------ check */

/* Conversions this reader implements as 3.38's does. */
static const char datep_convs[] = "%ntDFRTaAbBhdefHkIljMmpSYyzZwu";

int ls_datep_check(const char *fmt, char *bad)
{
	for (const char *p = fmt; *p; p++) {
		if (*p != '%')
			continue;
		p++;
		if (!*p || !strchr(datep_convs, *p)) {
			*bad = *p;
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ reader */

struct wct {
	int year, mon, mday, hour, min, sec, usec, yday, wday; /* tm-style; -1 unset */
	long gmtoff;					       /* -1: none in the input */
};

static const char *const abday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const day[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
				  "Thursday", "Friday", "Saturday"};
static const char *const abmon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
static const char *const mon[] = {"January",   "February", "March",    "April",
				  "May",       "June",	   "July",     "August",
				  "September", "October",  "November", "December"};
static const char *const am_pm[] = {"AM", "PM"};
static const char *const nast[] = {"EST", "CST", "MST", "PST"};
static const char *const nadt[] = {"EDT", "CDT", "MDT", "PDT"};
static const int start_of_month[2][13] = {
    {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
    {0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366}};

static int isleap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* conv_num: at most as many digits as ulim has, in [llim, ulim] */
static const unsigned char *conv_num(const unsigned char *in, int *dest, unsigned llim,
				     unsigned ulim)
{
	unsigned result = 0, rulim = ulim;
	unsigned char ch = *in;
	if (ch < '0' || ch > '9')
		return NULL;
	do {
		result = result * 10 + (ch - '0');
		rulim /= 10;
		ch = *++in;
	} while (result * 10 <= ulim && rulim && ch >= '0' && ch <= '9');
	if (result < llim || result > ulim)
		return NULL;
	*dest = (int)result;
	return in;
}

/* find_string: the full names, then n2's, case-insensitively */
static const unsigned char *find_string(const unsigned char *bp, int *tgt, const char *const *n1,
					const char *const *n2, int c)
{
	for (; n1; n1 = n2, n2 = NULL)
		for (int i = 0; i < c; i++) {
			size_t len = strlen(n1[i]);
			if (!strncasecmp(n1[i], (const char *)bp, len)) {
				*tgt = i;
				return bp + len;
			}
		}
	return NULL;
}

/* the system's zone names (tzname[]) as 3.38's cached_get_system_tznames */
static const unsigned char *system_zone(const unsigned char *bp, struct wct *w)
{
	tzset();
	const char *names[2] = {tzname[0], tzname[1]};
	int i;
	const unsigned char *ep = find_string(bp, &i, names, NULL, 2);
	if (ep)
		w->gmtoff = timezone * -1L + i * 3600L;
	return ep;
}

/* %z/%Z: Z, UT, GMT, [+-]hh[:]mm, [+-]hh, North American and military zones */
static const unsigned char *zone(const unsigned char *bp, struct wct *w, bool mandatory)
{
	if (mandatory)
		while (isspace(*bp))
			bp++;
	const unsigned char *zname = bp, *ep;
	int i, neg = 0;
	switch (*bp++) {
	case 'G':
		if (*bp++ != 'M')
			return NULL;
		/* fall through */
	case 'U':
		if (*bp++ != 'T')
			return NULL;
		/* fall through */
	case 'Z':
		w->gmtoff = 0;
		return bp;
	case '+':
		break;
	case '-':
		neg = 1;
		break;
	default:
		--bp;
		if ((ep = find_string(bp, &i, nast, NULL, 4))) {
			w->gmtoff = (-5 - i) * 3600L;
			return ep;
		}
		if ((ep = find_string(bp, &i, nadt, NULL, 4))) {
			w->gmtoff = (-4 - i) * 3600L;
			return ep;
		}
		if ((ep = system_zone(bp, w)))
			return ep;
		if ((*bp >= 'A' && *bp <= 'I') || (*bp >= 'L' && *bp <= 'Y')) {
			if (*bp >= 'A' && *bp <= 'I')
				w->gmtoff = (('A' - 1) - (int)*bp) * 3600L;
			else if (*bp >= 'L' && *bp <= 'M')
				w->gmtoff = ('A' - (int)*bp) * 3600L;
			else
				w->gmtoff = ((int)*bp - 'M') * 3600L;
			return bp + 1;
		}
		return mandatory ? NULL : zname;
	}
	long offs = 0;
	for (i = 0; i < 4;) {
		if (isdigit(*bp)) {
			offs = offs * 10 + (*bp++ - '0');
			i++;
		} else if (i == 2 && *bp == ':') {
			bp++;
		} else {
			break;
		}
	}
	if (i == 2) {
		offs *= 3600;
	} else if (i == 4 && offs % 100 < 60) {
		offs = offs / 100 * 3600 + offs % 100 * 60;
	} else {
		return mandatory ? NULL : zname;
	}
	w->gmtoff = neg ? -offs : offs;
	return bp;
}

enum { S_YEAR = 1, S_MON = 2, S_YDAY = 4, S_MDAY = 8, S_HOUR = 16, S_USEC = 32 };

/* wall_clock_time_strptime: the rest of the input, NULL when it does not fit */
static const unsigned char *wct_strptime(struct wct *w, const char *fmt, const unsigned char *bp,
					 int *state, int *split_year)
{
	unsigned char c;
	int i;
	while (bp && (c = (unsigned char)*fmt++)) {
		if (isspace(c)) {
			while (isspace(*bp))
				bp++;
			continue;
		}
		if (c != '%') {
			if (c != *bp++)
				return NULL;
			continue;
		}
		const char *sub = NULL;
		switch (c = (unsigned char)*fmt++) {
		case '%':
			if (c != *bp++)
				return NULL;
			continue;
		case 'D':
			sub = "%m/%d/%y";
			*state |= S_MON | S_MDAY | S_YEAR;
			break;
		case 'F':
			sub = "%Y-%m-%d";
			*state |= S_MON | S_MDAY | S_YEAR;
			break;
		case 'R':
			sub = "%H:%M";
			break;
		case 'T':
			sub = "%H:%M:%S";
			break;
		case 'A':
		case 'a':
			bp = find_string(bp, &w->wday, day, abday, 7);
			continue;
		case 'B':
		case 'b':
		case 'h':
			bp = find_string(bp, &w->mon, mon, abmon, 12);
			*state |= S_MON;
			continue;
		case 'd':
		case 'e':
			bp = conv_num(bp, &w->mday, 1, 31);
			*state |= S_MDAY;
			continue;
		case 'f': {
			const unsigned char *end = conv_num(bp, &w->usec, 0, 999999);
			if (!end)
				return NULL;
			long digits = end - bp;
			while (isdigit(*end))
				end++;
			while (digits++ < 6)
				w->usec *= 10;
			bp = end;
			*state |= S_USEC;
			continue;
		}
		case 'k':
		case 'H':
			bp = conv_num(bp, &w->hour, 0, 23);
			*state |= S_HOUR;
			continue;
		case 'l':
		case 'I':
			bp = conv_num(bp, &w->hour, 1, 12);
			if (w->hour == 12)
				w->hour = 0;
			*state |= S_HOUR;
			continue;
		case 'j':
			i = 1;
			bp = conv_num(bp, &i, 1, 366);
			w->yday = i - 1;
			*state |= S_YDAY;
			continue;
		case 'M':
			bp = conv_num(bp, &w->min, 0, 59);
			continue;
		case 'm':
			i = 1;
			bp = conv_num(bp, &i, 1, 12);
			w->mon = i - 1;
			*state |= S_MON;
			continue;
		case 'p':
			i = 0;
			bp = find_string(bp, &i, am_pm, NULL, 2);
			if ((*state & S_HOUR) && w->hour > 11)
				return NULL;
			w->hour += i * 12;
			continue;
		case 'S':
			bp = conv_num(bp, &w->sec, 0, 61);
			continue;
		case 'Y':
			i = 1900;
			bp = conv_num(bp, &i, 0, 9999);
			w->year = i - 1900;
			*state |= S_YEAR;
			continue;
		case 'y':
			i = 0;
			bp = conv_num(bp, &i, 0, 99);
			if (*split_year) {
				i += (w->year / 100) * 100;
			} else {
				*split_year = 1;
				i = i <= 68 ? i + 2000 - 1900 : i;
			}
			w->year = i;
			*state |= S_YEAR;
			continue;
		case 'z':
		case 'Z':
			bp = zone(bp, w, c == 'z');
			continue;
		case 'w':
			bp = conv_num(bp, &w->wday, 0, 6);
			continue;
		case 'u':
			i = 0;
			bp = conv_num(bp, &i, 1, 7);
			w->wday = i % 7;
			continue;
		case 'n':
		case 't':
			while (isspace(*bp))
				bp++;
			continue;
		default: /* refused at start-up (ls_datep_check) */
			return NULL;
		}
		bp = wct_strptime(w, sub, bp, state, split_year);
	}
	return bp;
}

/* the tail of wall_clock_time_strptime: month and day from %j */
static void wct_finish(struct wct *w, int state)
{
	if (!(state & S_YDAY) || !(state & S_YEAR))
		return;
	int leap = isleap(w->year % 400 + 1900 % 400);
	if (!(state & S_MON)) {
		int i = 0;
		/* 3.38 reads past the row for day 366 of a common year; it ends on
		 * the same next-year January 1st */
		while (i <= 12 && w->yday >= start_of_month[leap][i])
			i++;
		if (i > 12) {
			i = 1;
			w->yday -= start_of_month[leap][12];
			w->year++;
		}
		w->mon = i - 1;
	}
	if (!(state & S_MDAY))
		w->mday = w->yday - start_of_month[leap][w->mon] + 1;
}

/* determine_year_for_month: December in January is last year's, January in December next year's */
static int year_for_month(int month, const struct tm *now)
{
	if (month == 11 && now->tm_mon == 0)
		return now->tm_year - 1;
	if (month == 0 && now->tm_mon == 11)
		return now->tm_year + 1;
	return now->tm_year;
}

/* wall_clock_time_guess_missing_fields, against the current local date */
static void wct_guess(struct wct *w)
{
	time_t now = time(NULL);
	struct tm tm;
	localtime_r(&now, &tm);
	if (w->year == -1 && w->mon == -1 && w->mday == -1) {
		w->year = tm.tm_year;
		w->mon = tm.tm_mon;
		w->mday = tm.tm_mday;
	} else if (w->year == -1 && w->mon != -1 && w->mday != -1) {
		w->year = year_for_month(w->mon, &tm);
	} else {
		if (w->year == -1)
			w->year = tm.tm_year;
		if (w->mon == -1)
			w->mon = 0;
		if (w->mday == -1)
			w->mday = 1;
	}
	if (w->hour == -1)
		w->hour = 0;
	if (w->min == -1)
		w->min = 0;
	if (w->sec == -1)
		w->sec = 0;
}

/* ------------------------------------------------------------ conversion */

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; m 1..12, any d). */
static int64_t days_civil(int64_t y, int64_t m, int64_t d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * The local zone's offset for wall time t (the fields read as UTC), as 3.38
 * gets it: the offset at mktime()'s answer (tm_isdst -1) on Debian's glibc.
 * Away from a change, the one offset that fits. In the hour a change
 * repeats, standard time (the smaller offset: 01:30 on the first Sunday of
 * November in New York is -05:00). In the hour a change skips, glibc reads
 * the wall time with the offset before the change (02:30 CET), so the offset
 * at that instant is the one after it: 02:30+02:00. A change is looked for
 * within a day either side; local caches the offsets (ls_runtime's).
 */
static long local_offset_of_wall(struct ls_tz_span *local, int64_t t)
{
	long before = ls_tz_local(local, t - 86400), after = ls_tz_local(local, t + 86400);
	if (before == after)
		return before;
	bool fits_before = ls_tz_local(local, t - before) == before;
	bool fits_after = ls_tz_local(local, t - after) == after;
	if (fits_before && fits_after)
		return before < after ? before : after;
	if (fits_before || fits_after)
		return fits_before ? before : after;
	return ls_tz_local(local, t - before);
}

bool ls_datep_parse(const char *const *formats, size_t n_formats, const struct ls_tz *zone,
		    struct ls_tz_span *local, const char *input, int64_t recv_sec, int64_t *sec,
		    int *usec, int *gmtoff)
{
	struct wct w;
	for (size_t f = 0; f < n_formats; f++) {
		w = (struct wct){-1, -1, -1, -1, -1, -1, 0, -1, -1, -1};
		int state = 0, split = 0;
		const unsigned char *rest =
		    wct_strptime(&w, formats[f], (const unsigned char *)input, &state, &split);
		if (!rest || *rest)
			continue;
		wct_finish(&w, state);
		if (!(state & S_USEC))
			w.usec = 0;
		wct_guess(&w);
		/* the fields as UTC (mktime's normalisation: days_civil takes
		 * any day and month overflow), then the target offset: the
		 * input's, time-zone()'s at the receive time, else local */
		int64_t m0 = w.mon;
		int64_t y = w.year + 1900 + (m0 >= 0 ? m0 / 12 : (m0 - 11) / 12);
		m0 = ((m0 % 12) + 12) % 12;
		int64_t t = days_civil(y, m0 + 1, 1) * 86400 + (int64_t)(w.mday - 1) * 86400 +
			    (int64_t)w.hour * 3600 + (int64_t)w.min * 60 + w.sec;
		long target = w.gmtoff;
		if (target == -1 && zone)
			target = ls_tz_offset(zone, recv_sec, NULL);
		if (target == -1)
			target = local_offset_of_wall(local, t);
		/* 3.38 takes any change mktime made to the hour for a DST
		 * shift and undoes it: a normalised 23:59:60 becomes 23:00 of
		 * the next day (the hour as normalised in UTC here, which is
		 * the local zone's unless a DST change is near) */
		int64_t norm_hour = ((t % 86400 + 86400) % 86400) / 3600;
		*sec = t - (norm_hour - w.hour) * 3600 - target;
		*usec = w.usec;
		*gmtoff = (int)target;
		return true;
	}
	return false;
}
