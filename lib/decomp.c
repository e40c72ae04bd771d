/*
 * decomp.c: the libarchive-backed reader declared in decomp.h.
 */
#include "decomp.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct decomp {
	struct archive *a;   /* libarchive reader */
	char name[256];      /* input name for messages */
	uint64_t offset;     /* decompressed bytes handed out */
	int64_t entry_size;  /* entry size, or -1 */
	char *entry_name;    /* entry path (zip/tar), or NULL */
	const char *filter;  /* outermost compression, "none" if none */
	const char *format;  /* "raw", "zip", "tar", ... */
};

/* Turn libarchive's current error into ok_err. */
static int decomp_fail(struct decomp *d, struct ok_err *e, const char *what)
{
	int en = archive_errno(d->a);
	const char *s = archive_error_string(d->a);
	return ok_err_at(e, en > 0 ? -en : -EINVAL, d->name,
			 (long long)d->offset, "%s: %s", what, s ? s : "unknown libarchive error");
}

struct decomp *decomp_open(int fd, const char *name, unsigned flags, struct ok_err *e)
{
	struct decomp *d = calloc(1, sizeof(*d));
	if (!d) {
		ok_err_at(e, -ENOMEM, name, OK_ERR_NOPOS, "out of memory");
		return NULL;
	}
	snprintf(d->name, sizeof(d->name), "%s", name);
	d->entry_size = -1;
	d->a = archive_read_new();
	archive_read_support_filter_all(d->a);
	if (flags & DECOMP_UNPACK) {
		archive_read_support_format_zip(d->a);
		archive_read_support_format_tar(d->a);
	}
	archive_read_support_format_raw(d->a);
	if (archive_read_open_fd(d->a, fd, 1 << 20) != ARCHIVE_OK) {
		decomp_fail(d, e, "cannot open");
		decomp_close(d);
		return NULL;
	}
	struct archive_entry *ent;
	for (;;) {
		int r = archive_read_next_header(d->a, &ent);
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
		if (archive_format(d->a) == ARCHIVE_FORMAT_RAW ||
		    archive_entry_filetype(ent) == AE_IFREG)
			break;
	}
	d->format = archive_format(d->a) == ARCHIVE_FORMAT_RAW ? "raw"
		    : (archive_format(d->a) & ARCHIVE_FORMAT_BASE_MASK) == ARCHIVE_FORMAT_ZIP
			    ? "zip"
			    : "tar";
	int nf = archive_filter_count(d->a);
	d->filter = nf > 1 ? archive_filter_name(d->a, 0) : "none";
	if (strcmp(d->format, "raw")) {
		d->entry_name = strdup(archive_entry_pathname(ent) ? archive_entry_pathname(ent) : "");
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
	free(d->entry_name);
	free(d);
}
