/*
 * package.c: reading a package file: the lead, the signature header, the
 * main header, the signature tags rpm merges into it and the retrofits rpm
 * applies on load (legacy.c), into one struct rpm_pkg.
 *
 * This sits above header.c (blob checks and lookups) and legacy.c, so that
 * neither of them calls back up into the reader.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"
#include "rpmq.h"

static const uint8_t lead_magic[4] = {0xed, 0xab, 0xee, 0xdb};

/* ---- package reader ------------------------------------------------------- */

/* A package file's bytes in order: first those already read ahead into
 * buf (rpm_pkg_open_headers), then from fd. */
struct pkg_rd {
	int fd;
	const uint8_t *buf; /* read-ahead bytes, or NULL */
	size_t len, pos;    /* bytes in buf, bytes of them consumed */
	int borrow;	    /* headers whole in buf are parsed there (lives on) */
	ssize_t (*more)(void *ctx, void *dst, size_t n); /* reads on, or NULL: fd */
	void *ctx;
};

/* Up to n bytes (fewer only at end of file), or a negative errno. */
static ssize_t rd_read(struct pkg_rd *r, void *dst, size_t n)
{
	size_t k = r->len - r->pos < n ? r->len - r->pos : n;
	if (k)
		memcpy(dst, r->buf + r->pos, k);
	r->pos += k;
	if (k == n)
		return (ssize_t)k;
	ssize_t m = r->more ? r->more(r->ctx, (uint8_t *)dst + k, n - k)
			    : io_read_full(r->fd, (uint8_t *)dst + k, n - k);
	return m < 0 ? m : (ssize_t)k + m;
}

/* Read exactly n bytes or fail with a message saying how many came. */
static int read_exact(struct pkg_rd *rd, void *buf, size_t n, const char *path, long long off,
		      const char *what, struct ok_err *e)
{
	ssize_t r = rd_read(rd, buf, n);
	if (r < 0)
		return ok_err_at(e, (int)r, path, off, "reading %s", what);
	if ((size_t)r != n)
		return ok_err_at(e, -EINVAL, path, off,
				 "%s: truncated, read %zd of %zu bytes (file ends at %lld)", what,
				 r, n, off + r);
	return 0;
}

/* Read one header. pre: its 16-byte intro when already read, else NULL.
 * With tail (signature headers), the zero padding and the next header's
 * 16-byte intro are read in the same call: *pad gets the padding length
 * and *tail_got the bytes of tail that came (fewer at end of file). Three
 * reads per package instead of six: per-package cost is mostly syscalls. */
static int read_hdr(struct pkg_rd *rd, struct rpm_hdr *h, uint32_t region, const char *path,
		    long long off, const uint8_t *pre, uint8_t tail[24], size_t *pad,
		    size_t *tail_got, struct ok_err *e)
{
	const char *what = region == TAG_HEADERSIGNATURES ? "signature header" : "header";
	uint8_t intro[16];
	int rc;
	if (pre) {
		memcpy(intro, pre, 16);
	} else {
		rc = read_exact(rd, intro, 16, path, off, what, e);
		if (rc < 0)
			return rc;
	}
	uint32_t il, dl;
	rc = rpm_hdr_intro(intro, region, path, off, &il, &dl, e);
	if (rc < 0)
		return rc;
	size_t len = 16 + 16ull * il + dl;
	size_t extra = 0;
	if (tail) {
		*pad = (8 - len % 8) % 8;
		extra = *pad + 16;
	}
	/* The intro (pre, a copy) is the 16 bytes consumed last: the end of
	 * the lead's read, or of the signature's tail. When they lie in the
	 * read-ahead buffer just before what is left of it (nothing came from
	 * fd yet, or the bytes compare equal) and the rest, with the padding
	 * and the next intro, lies there too, the blob is parsed in place. */
	if (rd->borrow && pre && rd->pos >= 16 && rd->len - rd->pos >= len - 16 + extra &&
	    memcmp(rd->buf + rd->pos - 16, pre, 16) == 0) {
		const uint8_t *in = rd->buf + rd->pos - 16;
		rd->pos += len - 16 + extra;
		if (tail) {
			*tail_got = extra;
			memcpy(tail, in + len, extra);
		}
		return rpm_hdr_parse_borrowed(h, in, len, region, region != TAG_HEADERSIGNATURES,
					      path, off, e);
	}
	uint8_t *raw = malloc(len + extra);
	if (!raw)
		return ok_err_at(e, -ENOMEM, path, off, "out of memory for a %zu-byte %s", len,
				 what);
	memcpy(raw, intro, 16);
	ssize_t r = rd_read(rd, raw + 16, len - 16 + extra);
	if (r < 0) {
		free(raw);
		return ok_err_at(e, (int)r, path, off + 16, "reading %s", what);
	}
	if ((size_t)r < len - 16) {
		free(raw);
		return ok_err_at(e, -EINVAL, path, off + 16,
				 "%s: truncated, read %zd of %zu bytes (file ends at %lld)", what,
				 r, len - 16, off + 16 + r);
	}
	if (tail) {
		*tail_got = (size_t)r - (len - 16);
		memcpy(tail, raw + len, *tail_got);
	}
	return rpm_hdr_parse(h, raw, len, region, region != TAG_HEADERSIGNATURES, path, off, e);
}

/* Signature tags rpm 4.18 merges into the main header (lib/package.c
 * xlateTags, in its order): signature number, number in the main header,
 * required count (0 any), and whether the tag may legitimately sit in
 * either header. */
static const struct {
	uint32_t stag, xtag, count;
	int quirk;
} xlate[] = {
    {1000, 257, 1, 0}, {1002, 259, 0, 0}, {1004, 261, 16, 0}, {1005, 262, 0, 0}, {1007, 1046, 1, 1},
    {274, 5090, 0, 1}, {275, 5091, 1, 1}, {276, 276, 0, 0},   {277, 277, 1, 0},	 {269, 269, 1, 0},
    {273, 273, 1, 0},  {267, 267, 0, 0},  {268, 268, 0, 0},   {270, 270, 1, 0},	 {271, 271, 1, 0},
};

/* The xlate rows (bit i for row i) whose tag h may hold: one pass over the
 * entries instead of a binary search per row, which was 6% of a
 * 2,000-package query. sig: the signature numbers, over its few entries;
 * else the main-header numbers, which are all below 300 but three (the
 * entries are sorted: the pass stops there; the three are looked up). A
 * set bit is only a candidate: rpm_hdr_find then picks the entry. */
static unsigned xlate_present(const struct rpm_hdr *h, int sig)
{
	size_t n = sizeof(xlate) / sizeof(xlate[0]);
	unsigned m = 0;
	if (h->virt) /* retrofitted: its index is h->virt, not looked at here */
		return (1u << n) - 1;
	for (uint32_t k = 0; k < h->il; k++) {
		uint32_t t = h->ents[k].tag;
		if (!sig && t >= 300)
			break;
		for (size_t i = 0; i < n; i++)
			if ((sig ? xlate[i].stag : xlate[i].xtag) == t)
				m |= 1u << i;
	}
	if (!sig)
		for (size_t i = 0; i < n; i++)
			if (xlate[i].xtag >= 300 && rpm_hdr_find(h, xlate[i].xtag))
				m |= 1u << i;
	return m;
}

static int merge_sigs(struct rpm_pkg *p, struct ok_err *e)
{
	size_t n = sizeof(xlate) / sizeof(xlate[0]);
	unsigned in_hdr = xlate_present(&p->hdr, 0), in_sig = xlate_present(&p->sig, 1);
	for (size_t i = 0; i < n; i++) {
		if ((in_hdr >> i & 1) && rpm_hdr_find(&p->hdr, xlate[i].xtag)) {
			if (xlate[i].quirk && !rpm_hdr_find(&p->sig, xlate[i].stag))
				continue;
			const struct rpm_tag_info *ti = rpm_tag_by_num(xlate[i].xtag);
			return ok_err_at(e, -EINVAL, p->path, p->sig.file_off,
					 "invalid signature tag %s (%u): also in the main header",
					 ti ? ti->name : "?", xlate[i].xtag);
		}
	}
	_Static_assert(sizeof(xlate) / sizeof(xlate[0]) <= RPM_XSIG_MAX, "xsig[] too small");
	for (size_t i = 0; i < n; i++) {
		const struct rpm_entry *en =
		    in_sig >> i & 1 ? rpm_hdr_find(&p->sig, xlate[i].stag) : NULL;
		if (!en)
			continue;
		/* a tag of the wrong shape fails the package, as in rpm 4.18 */
		if (rpm_tag_type_418(xlate[i].xtag) != en->type || en->count < 1 ||
		    en->count > 16u << 20 || (xlate[i].count && en->count != xlate[i].count)) {
			const struct rpm_tag_info *ti = rpm_tag_by_num(xlate[i].xtag);
			return ok_err_at(
			    e, -EINVAL, p->path, p->sig.file_off,
			    "invalid signature tag %s (%u): type %u count %u, expected "
			    "type %d%s",
			    ti ? ti->name : "?", xlate[i].xtag, en->type, en->count,
			    (int)rpm_tag_type_418(xlate[i].xtag),
			    xlate[i].count ? " and the count rpm requires" : "");
		}
		p->xsig[p->nxsig] = *en;
		p->xsig[p->nxsig].strs = NULL;
		p->xsig_tag[p->nxsig++] = xlate[i].xtag;
	}
	return 0;
}

static int virt_init(struct rpm_pkg *p);

static int pkg_read(struct rpm_pkg *p, struct pkg_rd *rd, const char *path, struct ok_err *e)
{
	memset(p, 0, sizeof(*p));
	p->fd = rd->fd;
	size_t pl = strnlen(path, sizeof(p->path) - 1); /* cut as snprintf would */
	memcpy(p->path, path, pl);
	p->path[pl] = 0;
	uint8_t lead[112]; /* the lead and the signature header's intro */
	ssize_t r = rd_read(rd, lead, sizeof(lead));
	if (r < 0)
		return ok_err_at(e, (int)r, path, 0, "reading the lead");
	if (r < 4 || memcmp(lead, lead_magic, 4) != 0)
		return ok_err_at(e, -EINVAL, path, 0,
				 "not an rpm package: lead magic %s, expected edabeedb",
				 r < 4 ? "missing (file shorter than 4 bytes)" : "BAD");
	if (r < 96)
		return ok_err_at(e, -EINVAL, path, r, "lead: truncated, read %zd of 96 bytes", r);
	if (r < 112)
		return ok_err_at(e, -EINVAL, path, 96,
				 "signature header: truncated, read %zd of 16 bytes (file ends at "
				 "%zd)",
				 r - 96, r);
	p->lead.major = lead[4];
	p->lead.minor = lead[5];
	p->lead.type = (int16_t)(lead[6] << 8 | lead[7]);
	p->lead.archnum = (int16_t)(lead[8] << 8 | lead[9]);
	memcpy(p->lead.name, lead + 10, 66);
	p->lead.name[66] = 0;
	p->lead.osnum = (int16_t)(lead[76] << 8 | lead[77]);
	p->lead.sigtype = (int16_t)(lead[78] << 8 | lead[79]);
	if (p->lead.sigtype != 5)
		return ok_err_at(e, -EINVAL, path, 78,
				 "illegal signature type %d in the lead, expected 5",
				 p->lead.sigtype);
	if (p->lead.major < 3 || p->lead.major > 4)
		return ok_err_at(e, -EINVAL, path, 4,
				 "unsupported RPM package version %u, expected 3 or 4",
				 p->lead.major);
	uint8_t tail[24];
	size_t pad = 0, got = 0;
	int rc = read_hdr(rd, &p->sig, TAG_HEADERSIGNATURES, path, 96, r == 112 ? lead + 96 : NULL,
			  tail, &pad, &got, e);
	if (rc < 0)
		return rc;
	long long off = 96 + (long long)p->sig.raw_len;
	if (got < pad) {
		rc = ok_err_at(e, -EINVAL, path, off,
			       "signature padding: truncated, read %zu of %zu bytes (file ends at "
			       "%lld)",
			       got, pad, off + (long long)got);
		goto fail;
	}
	off += (long long)pad;
	if (got - pad < 16) {
		rc = ok_err_at(e, -EINVAL, path, off,
			       "header: truncated, read %zu of 16 bytes (file ends at %lld)",
			       got - pad, off + (long long)(got - pad));
		goto fail;
	}
	rc = read_hdr(rd, &p->hdr, TAG_HEADERIMMUTABLE, path, off, tail + pad, NULL, NULL, NULL, e);
	if (rc < 0)
		goto fail;
	p->payload_off = off + (long long)p->hdr.raw_len;
	rc = merge_sigs(p, e);
	if (rc < 0)
		goto fail;
	rc = rpm_legacy_retrofit(p, e);
	if (rc < 0)
		goto fail;
	if (virt_init(p) < 0) {
		rc = ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
		goto fail;
	}
	return 0;
fail:
	rpm_hdr_free(&p->sig);
	rpm_hdr_free(&p->hdr);
	p->nxsig = 0;
	return rc;
}

int rpm_pkg_read(struct rpm_pkg *p, int fd, const char *path, struct ok_err *e)
{
	struct pkg_rd rd = {.fd = fd};
	return pkg_read(p, &rd, path, e);
}

int rpm_pkg_open(struct rpm_pkg *p, const char *path, struct ok_err *e)
{
	int fd = 0;
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			memset(p, 0, sizeof(*p));
			p->fd = -1;
			return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "open");
		}
	}
	int rc = rpm_pkg_read(p, fd, path, e);
	if (rc < 0) {
		if (fd > 0)
			close(fd);
		p->fd = -1;
		return rc;
	}
	return 0;
}

/* Read-ahead of rpm_pkg_open_headers: lead, signature and main header of
 * most packages in one read. */
#define HEADERS_AHEAD 16384

/* rpm_pkg_read_ahead and its variants: the bytes beyond ahead come from
 * more(ctx) when it is given, else from fd. */
static int read_ahead(struct rpm_pkg *p, int fd, const char *path, const uint8_t *ahead,
		      ssize_t got, int borrow, ssize_t (*more)(void *, void *, size_t), void *ctx,
		      struct ok_err *e)
{
	int rc;
	if (got < 0) {
		memset(p, 0, sizeof(*p));
		rc = ok_err_at(e, (int)got, path, 0, "reading the lead");
	} else {
		struct pkg_rd rd = {.fd = fd,
				    .buf = ahead,
				    .len = (size_t)got,
				    .borrow = borrow,
				    .more = more,
				    .ctx = ctx};
		rc = pkg_read(p, &rd, path, e);
	}
	p->fd = -1;
	return rc;
}

int rpm_pkg_read_ahead_from(struct rpm_pkg *p, ssize_t (*more)(void *ctx, void *dst, size_t n),
			    void *ctx, const char *path, const uint8_t *ahead, ssize_t got,
			    struct ok_err *e)
{
	return read_ahead(p, -1, path, ahead, got, 1, more, ctx, e);
}

int rpm_pkg_read_ahead(struct rpm_pkg *p, int fd, const char *path, const uint8_t *ahead,
		       ssize_t got, struct ok_err *e)
{
	return read_ahead(p, fd, path, ahead, got, 0, NULL, NULL, e);
}

int rpm_pkg_read_ahead_borrowed(struct rpm_pkg *p, int fd, const char *path, const uint8_t *ahead,
				ssize_t got, struct ok_err *e)
{
	return read_ahead(p, fd, path, ahead, got, 1, NULL, NULL, e);
}

int rpm_pkg_open_headers(struct rpm_pkg *p, const char *path, struct ok_err *e)
{
	if (strcmp(path, "-") == 0)
		return rpm_pkg_open(p, path, e);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		memset(p, 0, sizeof(*p));
		p->fd = -1;
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "open");
	}
	uint8_t ahead[HEADERS_AHEAD];
	ssize_t got;
	do
		got = read(fd, ahead, sizeof(ahead));
	while (got < 0 && errno == EINTR);
	int rc = rpm_pkg_read_ahead(p, fd, path, ahead, got < 0 ? -errno : got, e);
	close(fd);
	return rc;
}

void rpm_pkg_close(struct rpm_pkg *p)
{
	rpm_hdr_free(&p->sig);
	rpm_hdr_free(&p->hdr);
	for (unsigned i = 0; i < p->nxsig; i++)
		free(p->xsig[i].strs);
	p->nxsig = 0;
	if (p->fd > 0)
		close(p->fd);
	p->fd = -1;
}

/* rpm's index of a package's main header also holds the signature tags it
 * merged and the SOURCERPM it retrofits: build the same sorted list of
 * tags so that rpm_hdr_find probes as rpm's bsearch does. */
static int virt_init(struct rpm_pkg *p)
{
	p->retro = rpm_retro_kind(p);
	struct rpm_hdr *h = &p->hdr;
	uint32_t extra[32];
	unsigned nx = 0;
	for (unsigned i = 0; i < p->nxsig && nx < 31; i++)
		extra[nx++] = p->xsig_tag[i];
	if (p->retro == RETRO_SOURCERPM)
		extra[nx++] = TAG_SOURCERPM;
	else if (p->retro == RETRO_SOURCEPACKAGE)
		extra[nx++] = TAG_SOURCEPACKAGE;
	if (nx == 0)
		return 0;
	for (unsigned i = 1; i < nx; i++) /* insertion sort, stable */
		for (unsigned j = i; j > 0 && extra[j - 1] > extra[j]; j--) {
			uint32_t t = extra[j];
			extra[j] = extra[j - 1];
			extra[j - 1] = t;
		}
	h->virt = malloc((h->il + nx) * sizeof(*h->virt));
	if (!h->virt)
		return -ENOMEM;
	size_t a = 0, b = 0, k = 0;
	while (a < h->il || b < nx) {
		if (b == nx || (a < h->il && h->ents[a].tag <= extra[b]))
			h->virt[k++] = (struct rpm_virt){h->ents[a].tag, &h->ents[a]}, a++;
		else
			h->virt[k++] = (struct rpm_virt){extra[b++], NULL};
	}
	h->nvirt = nx;
	return 0;
}
