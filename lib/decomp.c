/*
 * decomp.c: the libarchive-backed reader declared in decomp.h.
 *
 * One trap is handled here: libarchive's tar reader bids on a stream that
 * starts with a zero block (tar's end-of-archive mark) and then reports an
 * empty archive. A disk image often starts with blank sectors, compressed
 * or not, so with DECOMP_UNPACK an "archive" that ends before its first
 * header is read again as raw data. The input is read through our own
 * callback that keeps a copy of what libarchive took until that decision
 * (at most TAPE_MAX bytes), so the second reading works on pipes too.
 *
 * With DECOMP_VERIFY a second trap is closed: libarchive's gzip filter
 * never compares a member's trailer (CRC32, ISIZE) with what it inflated,
 * so one changed byte in a stored block passes. Every input byte read from
 * the file also goes through zlib's own gzip inflater (struct gzcheck),
 * which checks each member's trailer; its output is thrown away. That costs
 * a second inflate, the price of knowing (gzip -t does the same work).
 */
#include "decomp.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define BLOCK_BYTES (1 << 20) /* one read() from the input */
#define TAPE_MAX    (8 << 20) /* input kept for a second reading */

/* zlib's check of a gzip input, member by member (DECOMP_VERIFY). */
struct gzcheck {
	z_stream z;		    /* inflater, gzip wrapper only (16 + 15) */
	int live;		    /* z initialised */
	int in_member;		    /* inside a member (not at a boundary) */
	int zeros;		    /* trailing zero bytes seen after the last member */
	uint64_t members;	    /* members ended with a good trailer */
	uint64_t pos;		    /* input offset of the next byte fed */
	uint64_t member_start;	    /* input offset of the current member */
	int bad;		    /* a check failed: msg and bad_off say where */
	uint64_t bad_off;	    /* input offset of the failure */
	char msg[160];		    /* what failed */
	unsigned char out[1 << 15]; /* inflated bytes, discarded */
};

/* The input as libarchive sees it: read() blocks, after a replay of the tape. */
struct feed {
	int fd;
	char *blk;	    /* BLOCK_BYTES read buffer */
	char *tape;	    /* input read so far, while recording */
	size_t tape_len;    /* bytes on the tape */
	size_t replay;	    /* tape bytes handed out again; == tape_len when done */
	int recording;	    /* keep what is read on the tape (off past TAPE_MAX) */
	int tape_out;	    /* the last block handed out is the tape (still in use) */
	int verify;	    /* DECOMP_VERIFY: start gz on a gzip magic */
	uint64_t pos;	    /* input bytes read from fd */
	int eof;	    /* read() returned 0 */
	struct gzcheck *gz; /* the gzip check, or NULL (not gzip, or no VERIFY) */
	decomp_tap_fn tap;  /* sees every block read from fd, or NULL */
	void *tap_arg;
};

struct decomp {
	struct archive *a;  /* libarchive reader */
	struct feed in;	    /* its input */
	char name[256];	    /* input name for messages */
	uint64_t offset;    /* decompressed bytes handed out */
	int64_t entry_size; /* entry size, or -1 */
	const char *filter; /* outermost compression, "none" if none */
	const char *format; /* "raw", "zip", "tar", ... */
	unsigned flags;	    /* enum decomp_flags */
};

/* Feed n input bytes at gz->pos to the gzip check; sets gz->bad on a failure. */
static void gz_feed(struct gzcheck *gz, const unsigned char *p, size_t n)
{
	while (n && !gz->bad) {
		if (!gz->in_member) {
			/* between members: zero padding may end the file, a new
			 * member may start; anything else is garbage */
			if (*p == 0 && gz->members) {
				gz->zeros = 1;
				p++, n--, gz->pos++;
				continue;
			}
			if (gz->zeros || (gz->members && *p != 0x1f)) {
				/* gzip -t: "trailing garbage ignored"; we do not write it */
				gz->bad = 1;
				gz->bad_off = gz->pos;
				snprintf(gz->msg, sizeof(gz->msg),
					 "trailing data after member %llu is not a gzip member",
					 (unsigned long long)gz->members);
				return;
			}
			if (inflateReset(&gz->z) != Z_OK)
				break;
			gz->in_member = 1;
			gz->member_start = gz->pos;
		}
		gz->z.next_in = (unsigned char *)p;
		gz->z.avail_in = n > (1u << 30) ? 1u << 30 : (uInt)n;
		uInt fed = gz->z.avail_in;
		int r;
		do {
			gz->z.next_out = gz->out;
			gz->z.avail_out = sizeof(gz->out);
			r = inflate(&gz->z, Z_NO_FLUSH);
		} while (r == Z_OK && gz->z.avail_in);
		size_t used = fed - gz->z.avail_in;
		if (r == Z_STREAM_END) {
			gz->in_member = 0;
			gz->members++;
		} else if (r != Z_OK && r != Z_BUF_ERROR) {
			const char *m = gz->z.msg ? gz->z.msg : "bad data";
			gz->bad = 1;
			gz->bad_off = gz->pos + used;
			snprintf(gz->msg, sizeof(gz->msg), "member %llu at offset %llu: %s",
				 (unsigned long long)gz->members + 1,
				 (unsigned long long)gz->member_start,
				 !strcmp(m, "incorrect data check")	? "CRC32 mismatch (trailer)"
				 : !strcmp(m, "incorrect length check") ? "ISIZE mismatch (trailer)"
									: m);
		}
		p += used;
		n -= used;
		gz->pos += used;
	}
}

/* Start the gzip check if the input's first bytes are a gzip header: 0, or
 * -1 when zlib cannot start (no check must not pass as a good check). */
static int gz_start(struct feed *f, const unsigned char *p, size_t n)
{
	if (n < 2 || p[0] != 0x1f || p[1] != 0x8b)
		return 0;
	f->gz = calloc(1, sizeof(*f->gz));
	if (!f->gz)
		return -1;
	if (inflateInit2(&f->gz->z, 16 + 15) != Z_OK) {
		free(f->gz);
		f->gz = NULL;
		return -1;
	}
	f->gz->live = 1;
	return 0;
}

static void gz_free(struct gzcheck *gz)
{
	if (gz && gz->live)
		inflateEnd(&gz->z);
	free(gz);
}

static la_ssize_t feed_read(struct archive *a, void *client, const void **out)
{
	struct feed *f = client;
	if (f->replay < f->tape_len) {
		*out = f->tape + f->replay;
		size_t n = f->tape_len - f->replay;
		f->replay = f->tape_len;
		f->tape_out = 1;
		return (la_ssize_t)n;
	}
	if (!f->recording && f->tape) {
		/* the replay is consumed: libarchive holds no pointer into it now */
		free(f->tape);
		f->tape = NULL;
		f->tape_len = f->replay = 0;
	}
	f->tape_out = 0;
	ssize_t n;
	do
		n = read(f->fd, f->blk, BLOCK_BYTES);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(a, errno, "read error");
		return -1;
	}
	if (f->tap && n > 0)
		f->tap(f->tap_arg, f->blk, (size_t)n);
	if (f->verify && f->pos == 0 && gz_start(f, (unsigned char *)f->blk, (size_t)n) < 0) {
		archive_set_error(a, ENOMEM, "read error"); /* kept as an OS error */
		return -1;
	}
	f->pos += (uint64_t)n;
	f->eof = n == 0;
	if (f->gz) {
		gz_feed(f->gz, (unsigned char *)f->blk, (size_t)n);
		if (f->gz->bad) {
			archive_set_error(a, EINVAL, "gzip: %s", f->gz->msg);
			return -1;
		}
	}
	if (f->recording && n > 0) {
		char *t = f->tape_len + (size_t)n <= TAPE_MAX
			      ? realloc(f->tape, f->tape_len + (size_t)n)
			      : NULL;
		if (!t) {
			f->recording = 0; /* too much for a second reading */
		} else {
			memcpy(t + f->tape_len, f->blk, (size_t)n);
			f->tape = t;
			f->tape_len += (size_t)n;
			f->replay = f->tape_len;
		}
	}
	*out = f->blk;
	return n;
}

/* "gzip", "xz+tar", "zip": the input's format, for messages. */
static void decomp_kind(const struct decomp *d, char *buf, size_t n)
{
	int nf = d->a ? archive_filter_count(d->a) : 0;
	const char *flt = nf > 1 ? archive_filter_name(d->a, 0) : NULL;
	const char *fmt = d->format && strcmp(d->format, "raw") ? d->format : NULL;
	snprintf(buf, n, "%s%s%s", flt ? flt : "", flt && fmt ? "+" : "",
		 fmt ? fmt : (flt ? "" : "data"));
}

/*
 * Turn libarchive's current error into ok_err. With DECOMP_VERIFY damaged
 * data is -EINVAL
 * (exit 3: bad input), naming the format, the input offset (the gzip check
 * knows it exactly, libarchive only up to its read block) and the
 * decompressed offset; a failed read() keeps its errno.
 */
static int decomp_fail(struct decomp *d, struct ok_err *e, const char *what)
{
	if (!(d->flags & DECOMP_VERIFY)) { /* the message other tools know */
		int en = archive_errno(d->a);
		const char *s = archive_error_string(d->a);
		return ok_err_at(e, en > 0 ? -en : -EINVAL, d->name, (long long)d->offset, "%s: %s",
				 what, s ? s : "unknown libarchive error");
	}
	char kind[64];
	decomp_kind(d, kind, sizeof(kind));
	if (d->in.gz && d->in.gz->bad)
		return ok_err_at(e, -EINVAL, d->name, (long long)d->in.gz->bad_off,
				 "%s: %s (decompressed offset %llu)", kind, d->in.gz->msg,
				 (unsigned long long)d->offset);
	struct gzcheck *gz = d->in.gz;
	if (gz && d->in.eof && gz->in_member)
		/* libarchive's gzip reader gives no reason for a cut-off member */
		return ok_err_at(e, -EINVAL, d->name, (long long)gz->pos,
				 "%s: member %llu at offset %llu: input ends before its trailer "
				 "(decompressed offset %llu)",
				 kind, (unsigned long long)gz->members + 1,
				 (unsigned long long)gz->member_start,
				 (unsigned long long)d->offset);
	int en = archive_errno(d->a);
	const char *s = archive_error_string(d->a);
	int io = s && !strcmp(s, "read error") && en > 0;
	return ok_err_at(e, io ? -en : -EINVAL, d->name, (long long)d->in.pos,
			 "%s: %s: %s (decompressed offset %llu, input read up to here)", kind, what,
			 s ? s : "unknown libarchive error", (unsigned long long)d->offset);
}

/* A new libarchive reader over d->in: every filter, and raw or also zip and
 * tar. */
static int decomp_start(struct decomp *d, int unpack, struct ok_err *e)
{
	if (d->a)
		archive_read_free(d->a);
	d->a = archive_read_new();
	if (!d->a)
		return ok_err_at(e, -ENOMEM, d->name, OK_ERR_NOPOS, "out of memory");
	archive_read_support_filter_all(d->a);
	if (unpack) {
		archive_read_support_format_zip(d->a);
		archive_read_support_format_tar(d->a);
	}
	archive_read_support_format_raw(d->a);
	if (archive_read_open(d->a, &d->in, NULL, feed_read, NULL) != ARCHIVE_OK)
		return decomp_fail(d, e, "cannot open");
	return 0;
}

struct decomp *decomp_open(int fd, const char *name, unsigned flags, struct ok_err *e)
{
	return decomp_open_tap(fd, name, flags, NULL, NULL, e);
}

struct decomp *decomp_open_tap(int fd, const char *name, unsigned flags, decomp_tap_fn tap,
			       void *arg, struct ok_err *e)
{
	return decomp_open_pick(fd, name, flags, tap, arg, NULL, NULL, e);
}

struct decomp *decomp_open_pick(int fd, const char *name, unsigned flags, decomp_tap_fn tap,
				void *arg, decomp_pick_fn pick, void *pick_arg, struct ok_err *e)
{
	struct decomp *d = calloc(1, sizeof(*d));
	if (!d) {
		ok_err_at(e, -ENOMEM, name, OK_ERR_NOPOS, "out of memory");
		return NULL;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->entry_size = -1;
	d->in.fd = fd;
	d->in.tap = tap;
	d->in.tap_arg = arg;
	d->in.blk = malloc(BLOCK_BYTES);
	d->in.recording = (flags & DECOMP_UNPACK) != 0;
	d->in.verify = (flags & DECOMP_VERIFY) != 0;
	d->flags = flags;
	if (!d->in.blk) {
		ok_err_at(e, -ENOMEM, name, OK_ERR_NOPOS, "out of memory");
		decomp_close(d);
		return NULL;
	}
	if (decomp_start(d, flags & DECOMP_UNPACK, e) < 0) {
		decomp_close(d);
		return NULL;
	}
	struct archive_entry *ent;
	int headers = 0;
	unsigned regular = 0; /* regular files offered to pick */
	for (;;) {
		int r = archive_read_next_header(d->a, &ent);
		if (r == ARCHIVE_EOF && !headers && archive_format(d->a) != ARCHIVE_FORMAT_RAW &&
		    d->in.recording) {
			/* leading zero blocks, not an empty tar: read it again as raw */
			d->in.recording = 0;
			d->in.replay = 0;
			if (decomp_start(d, 0, e) < 0) {
				decomp_close(d);
				return NULL;
			}
			continue;
		}
		if (r == ARCHIVE_EOF && regular && pick) {
			ok_err_at(e, -ENOENT, name, OK_ERR_NOPOS, "no entry chosen");
			decomp_close(d);
			return NULL;
		}
		if (r == ARCHIVE_EOF) {
			ok_err_at(e, -EINVAL, name, 0, "archive holds no regular file");
			decomp_close(d);
			return NULL;
		}
		/* ARCHIVE_RETRY: a tar header with a bad checksum, skipped */
		if (r < ARCHIVE_WARN || (r == ARCHIVE_RETRY && (flags & DECOMP_VERIFY))) {
			decomp_fail(d, e, "cannot read header");
			decomp_close(d);
			return NULL;
		}
		headers++;
		if (archive_format(d->a) == ARCHIVE_FORMAT_RAW)
			break;
		if (archive_entry_filetype(ent) != AE_IFREG)
			continue;
		if (!pick)
			break;
		const char *p = archive_entry_pathname(ent);
		int is_zip =
		    (archive_format(d->a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP;
		if (pick(pick_arg, regular++, p ? p : "",
			 archive_entry_size_is_set(ent) ? archive_entry_size(ent) : -1, is_zip))
			break;
	}
	d->in.recording = 0;
	if (!d->in.tape_out) {
		/* libarchive holds no pointer into it */
		free(d->in.tape);
		d->in.tape = NULL;
		d->in.tape_len = d->in.replay = 0;
	}
	d->format = archive_format(d->a) == ARCHIVE_FORMAT_RAW ? "raw"
		    : (archive_format(d->a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP
			? "zip"
			: "tar";
	int nf = archive_filter_count(d->a);
	d->filter = nf > 1 ? archive_filter_name(d->a, 0) : "none";
	if (strcmp(d->format, "raw") && archive_entry_size_is_set(ent))
		d->entry_size = archive_entry_size(ent);
	return d;
}

ssize_t decomp_read(struct decomp *d, void *buf, size_t n, struct ok_err *e)
{
	size_t done = 0;
	while (done < n) {
		la_ssize_t r = archive_read_data(d->a, (char *)buf + done, n - done);
		if (r == 0)
			break;
		if (r < 0 && (r != ARCHIVE_WARN || (d->flags & DECOMP_VERIFY)))
			return decomp_fail(d, e, "cannot decompress");
		if (r > 0) {
			done += (size_t)r;
			d->offset += (uint64_t)r;
		}
	}
	return (ssize_t)done;
}

int decomp_finish(struct decomp *d, struct ok_err *e)
{
	if (!(d->flags & DECOMP_VERIFY))
		return 0;
	if (strcmp(d->format, "raw")) {
		/* later headers: libarchive checks tar header checksums and
		 * finds a truncated archive while skipping to them */
		struct archive_entry *ent;
		int r;
		while ((r = archive_read_next_header(d->a, &ent)) != ARCHIVE_EOF)
			if (r < ARCHIVE_WARN || r == ARCHIVE_RETRY)
				return decomp_fail(d, e, "damaged after the image");
	}
	if (d->in.gz) {
		/* the rest of the input: trailers libarchive did not need */
		while (!d->in.eof && !d->in.gz->bad) {
			ssize_t n = read(d->in.fd, d->in.blk, BLOCK_BYTES);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return ok_err_at(e, -errno, d->name, (long long)d->in.pos,
						 "read error");
			d->in.eof = n == 0;
			d->in.pos += (uint64_t)n;
			gz_feed(d->in.gz, (unsigned char *)d->in.blk, (size_t)n);
		}
		struct gzcheck *gz = d->in.gz;
		if (!gz->bad && (gz->in_member || !gz->members)) {
			gz->bad = 1;
			gz->bad_off = gz->pos;
			snprintf(gz->msg, sizeof(gz->msg),
				 "member %llu at offset %llu: input ends before its trailer",
				 (unsigned long long)gz->members + 1,
				 (unsigned long long)gz->member_start);
		}
		if (gz->bad)
			return decomp_fail(d, e, "");
	}
	return 0;
}

uint64_t decomp_input_offset(const struct decomp *d)
{
	return d->in.pos;
}

const char *decomp_filter_name(const struct decomp *d)
{
	return d->filter;
}

const char *decomp_format_name(const struct decomp *d)
{
	return d->format;
}

int64_t decomp_entry_size(const struct decomp *d)
{
	return d->entry_size;
}

int decomp_is_plain(const struct decomp *d)
{
	return !strcmp(d->format, "raw") && !strcmp(d->filter, "none");
}

void decomp_close(struct decomp *d)
{
	if (!d)
		return;
	if (d->a)
		archive_read_free(d->a);
	free(d->in.blk);
	free(d->in.tape);
	gz_free(d->in.gz);
	free(d);
}
