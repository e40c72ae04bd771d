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
 */
#include "decomp.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BLOCK_BYTES (1 << 20) /* one read() from the input */
#define TAPE_MAX    (8 << 20) /* input kept for a second reading */

/* The input as libarchive sees it: read() blocks, after a replay of the tape. */
struct feed {
	int fd;
	char *blk;	   /* BLOCK_BYTES read buffer */
	char *tape;	   /* input read so far, while recording */
	size_t tape_len;   /* bytes on the tape */
	size_t replay;	   /* tape bytes handed out again; == tape_len when done */
	int recording;	   /* keep what is read on the tape (off past TAPE_MAX) */
	int tape_out;	   /* the last block handed out is the tape (still in use) */
	decomp_tap_fn tap; /* sees every block read from fd, or NULL */
	void *tap_arg;
};

struct decomp {
	struct archive *a;  /* libarchive reader */
	struct feed in;	    /* its input */
	char name[256];	    /* input name for messages */
	uint64_t offset;    /* decompressed bytes handed out */
	int64_t entry_size; /* entry size, or -1 */
	char *entry_name;   /* entry path (zip/tar), or NULL */
	const char *filter; /* outermost compression, "none" if none */
	const char *format; /* "raw", "zip", "tar", ... */
};

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

/* Turn libarchive's current error into ok_err. */
static int decomp_fail(struct decomp *d, struct ok_err *e, const char *what)
{
	int en = archive_errno(d->a);
	const char *s = archive_error_string(d->a);
	return ok_err_at(e, en > 0 ? -en : -EINVAL, d->name, (long long)d->offset, "%s: %s", what,
			 s ? s : "unknown libarchive error");
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
		if (r == ARCHIVE_EOF) {
			ok_err_at(e, -EINVAL, name, 0, "archive holds no regular file");
			decomp_close(d);
			return NULL;
		}
		if (r < ARCHIVE_WARN) {
			decomp_fail(d, e, "cannot read header");
			decomp_close(d);
			return NULL;
		}
		headers++;
		if (archive_format(d->a) == ARCHIVE_FORMAT_RAW ||
		    archive_entry_filetype(ent) == AE_IFREG)
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
	if (strcmp(d->format, "raw")) {
		d->entry_name =
		    strdup(archive_entry_pathname(ent) ? archive_entry_pathname(ent) : "");
		if (archive_entry_size_is_set(ent))
			d->entry_size = archive_entry_size(ent);
	}
	return d;
}

ssize_t decomp_read(struct decomp *d, void *buf, size_t n, struct ok_err *e)
{
	size_t done = 0;
	while (done < n) {
		la_ssize_t r = archive_read_data(d->a, (char *)buf + done, n - done);
		if (r == 0)
			break;
		if (r < 0 && r != ARCHIVE_WARN)
			return decomp_fail(d, e, "cannot decompress");
		if (r > 0) {
			done += (size_t)r;
			d->offset += (uint64_t)r;
		}
	}
	return (ssize_t)done;
}

uint64_t decomp_offset(const struct decomp *d)
{
	return d->offset;
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

const char *decomp_entry_name(const struct decomp *d)
{
	return d->entry_name;
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
	free(d->entry_name);
	free(d);
}
