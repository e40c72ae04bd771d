/*
 * persist.c: the persist file (-R/--persist-file): where each followed
 * file() source stopped, so that a restart neither re-reads nor skips lines.
 * syslog-ng 3.38 keeps the same state (affile_sd_curpos) in its own binary
 * mmap'ed file; logsift's file is its own, small text format, replaced
 * whole on every save (format and crash rules below).
 *
 * Format (one record a line, '\n'-terminated):
 *   logsift-persist 1
 *   file DEV INO OFFSET PATH      (decimal numbers; PATH with bytes below
 *   ...                            0x21, above 0x7e and '%' as %XX)
 *   crc32 XXXXXXXX                (zlib crc32 of every byte before this
 *                                  line, 8 lowercase hex digits)
 * Nothing may follow the crc32 line.
 *
 * Crash rules: a save writes PATH.tmp whole, fsyncs it, renames it over
 * PATH and fsyncs the directory. A crash leaves either the old PATH
 * (with a PATH.tmp cut anywhere, which loading never reads) or the new
 * one; a PATH cut short by anything else lacks its crc32 line and is
 * reported with its line, never half-used. tests/logsift/test_persist.c
 * checks every prefix; fuzz/logsift_persist.c the parser.
 *
 * PATH.now: the same format, rewritten in place (pwrite at 0, then
 * ftruncate when shorter) each time a position moves, never fsynced. A
 * process killed at any point leaves its last complete rewrite in the page
 * cache (a kill between the pwrite and the ftruncate leaves bytes after
 * the crc32 line: refused), so after kill -9 the positions are exact, as
 * syslog-ng 3.38's mmap'ed persist file is. Only PATH is fsynced (every
 * 100 ms and at exit): a power loss may leave PATH.now torn (refused: its
 * checksum) or older than PATH (positions only move forward for a file, so
 * older means lines read twice, never skipped). Loading takes PATH.now when
 * it parses, else PATH.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io.h"
#include "ls_int.h"

#define PST_MAGIC	"logsift-persist 1\n"
#define PST_MAX_ENTRIES 65536
#define PST_MAX_PATH	4096

void ls_pst_free(struct ls_pst *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->e[i].path);
	free(p->e);
	*p = (struct ls_pst){0};
}

struct ls_pst_ent *ls_pst_find(struct ls_pst *p, const char *path)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->e[i].path, path))
			return &p->e[i];
	return NULL;
}

struct ls_pst_ent *ls_pst_set(struct ls_pst *p, const char *path, uint64_t dev, uint64_t ino,
			      uint64_t off)
{
	struct ls_pst_ent *e = ls_pst_find(p, path);
	if (!e) {
		if (p->n >= PST_MAX_ENTRIES)
			return NULL;
		struct ls_pst_ent *ne = realloc(p->e, (p->n + 1) * sizeof *ne);
		char *dup = strdup(path);
		if (!ne || !dup) {
			free(dup);
			if (ne)
				p->e = ne;
			return NULL;
		}
		p->e = ne;
		e = &p->e[p->n++];
		e->path = dup;
	}
	e->dev = dev;
	e->ino = ino;
	e->off = off;
	return e;
}

/* A decimal u64 at *s (advanced past it); false for none or overflow. */
static bool parse_u64(const char **s, const char *end, uint64_t *out)
{
	const char *p = *s;
	uint64_t v = 0;
	if (p == end || *p < '0' || *p > '9')
		return false;
	if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
		return false; /* one spelling per number: no leading zeros */
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*s = p;
	*out = v;
	return true;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* PATH (s..end, %XX-escaped) decoded into out (PST_MAX_PATH + 1 bytes). */
static bool parse_path(const char *s, const char *end, char *out)
{
	size_t n = 0;
	if (s == end)
		return false;
	while (s < end) {
		unsigned char c = (unsigned char)*s++;
		if (c == '%') {
			if (end - s < 2 || hexval(s[0]) < 0 || hexval(s[1]) < 0)
				return false;
			c = (unsigned char)(hexval(s[0]) * 16 + hexval(s[1]));
			s += 2;
			if (!c || (c >= 0x21 && c <= 0x7e && c != '%'))
				return false; /* no NUL; one spelling: only what must be */
		} else if (c < 0x21 || c > 0x7e) {
			return false;
		}
		if (n == PST_MAX_PATH)
			return false;
		out[n++] = (char)c;
	}
	out[n] = 0;
	return true;
}

int ls_pst_parse(const char *data, size_t len, const char *name, struct ls_pst *p, struct ok_err *e)
{
	*p = (struct ls_pst){0};
	const char *s = data, *end = data + len;
	long long line = 1;
	char path[PST_MAX_PATH + 1];
	if (len < sizeof PST_MAGIC - 1 || memcmp(data, PST_MAGIC, sizeof PST_MAGIC - 1))
		return ok_err_line(e, -EINVAL, name, 1, "expected 'logsift-persist 1'");
	s += sizeof PST_MAGIC - 1;
	for (;;) {
		line++;
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl) {
			ls_pst_free(p);
			return ok_err_line(e, -EINVAL, name, line,
					   "cut short: expected a 'file' or 'crc32' line");
		}
		if ((size_t)(nl - s) >= 6 && !memcmp(s, "crc32 ", 6)) {
			uint32_t want = (uint32_t)crc32(0L, (const Bytef *)data, (uInt)(s - data));
			char hex[9];
			snprintf(hex, sizeof hex, "%08x", want);
			if (nl - s != 14 || memcmp(s + 6, hex, 8)) {
				ls_pst_free(p);
				return ok_err_line(e, -EINVAL, name, line,
						   "checksum mismatch: expected crc32 %s", hex);
			}
			if (nl + 1 != end) {
				ls_pst_free(p);
				return ok_err_line(e, -EINVAL, name, line + 1,
						   "expected the end of the file after crc32");
			}
			return 0;
		}
		uint64_t dev, ino, off;
		const char *q = s + 5;
		if ((size_t)(nl - s) < 5 || memcmp(s, "file ", 5) || !parse_u64(&q, nl, &dev) ||
		    q == nl || *q++ != ' ' || !parse_u64(&q, nl, &ino) || q == nl || *q++ != ' ' ||
		    !parse_u64(&q, nl, &off) || q == nl || *q++ != ' ' ||
		    !parse_path(q, nl, path)) {
			ls_pst_free(p);
			return ok_err_line(
			    e, -EINVAL, name, line,
			    "expected 'file DEV INO OFFSET PATH' or 'crc32 XXXXXXXX'");
		}
		if (ls_pst_find(p, path) || !ls_pst_set(p, path, dev, ino, off)) {
			ls_pst_free(p);
			return ok_err_line(e, -EINVAL, name, line,
					   "a second entry for this path, or more than %d entries",
					   PST_MAX_ENTRIES);
		}
		s = nl + 1;
	}
}

void ls_pst_format(const struct ls_pst *p, struct ls_buf *out)
{
	size_t start = out->len;
	ls_buf_addf(out, "%s", PST_MAGIC);
	for (size_t i = 0; i < p->n; i++) {
		const struct ls_pst_ent *e = &p->e[i];
		ls_buf_addf(out, "file %llu %llu %llu ", (unsigned long long)e->dev,
			    (unsigned long long)e->ino, (unsigned long long)e->off);
		for (const unsigned char *c = (const unsigned char *)e->path; *c; c++)
			if (*c < 0x21 || *c > 0x7e || *c == '%')
				ls_buf_addf(out, "%%%02x", *c);
			else
				ls_buf_addc(out, (char)*c);
		ls_buf_addc(out, '\n');
	}
	uint32_t crc = (uint32_t)crc32(0L, (const Bytef *)out->p + start, (uInt)(out->len - start));
	ls_buf_addf(out, "crc32 %08x\n", crc);
}

static int load_one(const char *path, struct ls_pst *p, struct ok_err *e);

int ls_pst_load(const char *path, struct ls_pst *p, struct ok_err *e)
{
	char now[PST_MAX_PATH + 16];
	struct ok_err ne;
	if ((size_t)snprintf(now, sizeof now, "%s.now", path) < sizeof now &&
	    load_one(now, p, &ne) == 0 && p->n)
		return 0;
	ls_pst_free(p);
	return load_one(path, p, e);
}

/* One file into *p, as ls_pst_load. */
static int load_one(const char *path, struct ls_pst *p, struct ok_err *e)
{
	*p = (struct ls_pst){0};
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : ok_err_at(e, -errno, path, OK_ERR_NOPOS, "open");
	struct ls_buf b = {0};
	char chunk[65536];
	ssize_t r;
	while ((r = read(fd, chunk, sizeof chunk)) > 0) {
		if (b.len + (size_t)r > (size_t)PST_MAX_ENTRIES * (PST_MAX_PATH * 3 + 80)) {
			close(fd);
			ls_buf_free(&b);
			return ok_err_at(e, -EFBIG, path, OK_ERR_NOPOS,
					 "larger than a persist file can be");
		}
		ls_buf_add(&b, chunk, (size_t)r);
	}
	int err = r < 0 ? -errno : 0;
	close(fd);
	if (err < 0) {
		ls_buf_free(&b);
		return ok_err_at(e, err, path, OK_ERR_NOPOS, "read");
	}
	int rc = ls_pst_parse(b.p ? b.p : "", b.len, path, p, e);
	ls_buf_free(&b);
	return rc;
}

int ls_pst_save_now(const char *path, int *fd, size_t *len, const struct ls_pst *p)
{
	if (*fd < 0) {
		char now[PST_MAX_PATH + 16];
		if ((size_t)snprintf(now, sizeof now, "%s.now", path) >= sizeof now)
			return -ENAMETOOLONG;
		*fd = open(now, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (*fd < 0)
			return -errno;
		struct stat st;
		*len = fstat(*fd, &st) == 0 ? (size_t)st.st_size : SIZE_MAX;
	}
	struct ls_buf b = {0};
	ls_pst_format(p, &b);
	int err = 0;
	if (pwrite(*fd, b.p, b.len, 0) != (ssize_t)b.len)
		err = errno ? -errno : -ENOSPC;
	else if (b.len < *len && ftruncate(*fd, (off_t)b.len) < 0)
		err = -errno;
	else
		*len = b.len;
	ls_buf_free(&b);
	return err;
}

int ls_pst_save(const char *path, const struct ls_pst *p, struct ok_err *e)
{
	char tmp[PST_MAX_PATH + 16];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
		return ok_err_at(e, -ENAMETOOLONG, path, OK_ERR_NOPOS, "path too long");
	struct ls_buf b = {0};
	ls_pst_format(p, &b);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err = 0;
	if (fd < 0)
		err = -errno;
	else if (io_write_full(fd, b.p, b.len) < 0 || fsync(fd) < 0)
		err = -errno;
	if (fd >= 0 && close(fd) < 0 && !err)
		err = -errno;
	ls_buf_free(&b);
	if (err < 0)
		return ok_err_at(e, err, tmp, OK_ERR_NOPOS, "write");
	if (rename(tmp, path) < 0)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "rename from %s", tmp);
	/* the rename itself must reach the disk before we count on it */
	char dir[PST_MAX_PATH + 16];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		slash[slash == dir ? 1 : 0] = 0;
	int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}
