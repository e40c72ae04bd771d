/*
 * bmap.c: bmaptool's block map files, formats 1.0-1.4 and 2.0.
 *
 * A bmap is a small XML file (bmaptool's docs/README and bmaptools/BmapCreate.py):
 *
 *   <bmap version="2.0">
 *     <ImageSize> 821752 </ImageSize>  <BlockSize> 4096 </BlockSize>
 *     <BlocksCount> 201 </BlocksCount>  <MappedBlocksCount> 117 </MappedBlocksCount>
 *     <ChecksumType> sha256 </ChecksumType>   <BmapFileChecksum> hex </BmapFileChecksum>
 *     <BlockMap> <Range chksum="hex"> 0-1 </Range> <Range chksum="hex"> 12 </Range> </BlockMap>
 *   </bmap>
 *
 * Format 1.3 names the checksums sha1 (attribute sha1=, <BmapFileSHA1>),
 * 1.0-1.2 have none (1.2 may carry sha1= attributes, which we check), 1.4 is
 * 2.0 by mistake. The file checksum is taken over the file with its own value
 * replaced by '0' characters.
 *
 * Why a hand-written scanner rather than libxml2: the format is flat, five
 * scalar tags and one list; a 150-line scanner that knows exactly these tags
 * is easier to fuzz and has no entity/DTD surface. Anything it does not
 * understand is an error naming the line.
 */
#include "usbcopy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"

struct scan {
	const char *text, *p, *end; /* the whole text, the cursor, its end */
	const char *path;	    /* for messages */
	struct ok_err *e;
	char snip[64]; /* snip()'s copy, for the message it is passed to */
};

static long long line_of(const struct scan *s, const char *at)
{
	long long n = 1;
	for (const char *q = s->text; q < at && q < s->end; q++)
		n += *q == '\n';
	return n;
}

static int fail(struct scan *s, const char *at, const char *fmt, const char *arg)
{
	return ok_err_line(s->e, -EINVAL, s->path, line_of(s, at), fmt, arg);
}

/* A NUL-terminated copy of at most n bytes at p, never past the input's end:
 * the input is not NUL-terminated, so "%.20s" on it could read beyond it. */
static const char *snip(struct scan *s, const char *p, size_t n)
{
	char *buf = s->snip;
	size_t m = p < s->end ? (size_t)(s->end - p) : 0;
	if (m > n)
		m = n;
	if (m > sizeof(s->snip) - 1)
		m = sizeof(s->snip) - 1;
	memcpy(buf, p, m);
	buf[m] = 0;
	return buf;
}

/* Find needle in [p, end), or NULL. */
static const char *find(const char *p, const char *end, const char *needle)
{
	size_t n = strlen(needle);
	for (; p + n <= end; p++)
		if (!memcmp(p, needle, n))
			return p;
	return NULL;
}

/* The trimmed text [*a, *b) of [a, b). */
static void trim(const char **a, const char **b)
{
	while (*a < *b && isspace((unsigned char)**a))
		(*a)++;
	while (*b > *a && isspace((unsigned char)(*b)[-1]))
		(*b)--;
}

/* A whole decimal u64 in [a, b) (surrounding blanks allowed). */
static int parse_u64(const char *a, const char *b, uint64_t *v)
{
	trim(&a, &b);
	if (a == b || b - a > 20)
		return -EINVAL;
	uint64_t x = 0;
	for (const char *q = a; q < b; q++) {
		if (!isdigit((unsigned char)*q))
			return -EINVAL;
		uint64_t d = (uint64_t)(*q - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -ERANGE;
		x = x * 10 + d;
	}
	*v = x;
	return 0;
}

/* Value of attribute name in the attribute text [a, b): sets [*va, *vb). */
static int get_attr(const char *a, const char *b, const char *name, const char **va,
		    const char **vb)
{
	size_t n = strlen(name);
	const char *q = a;
	while (q < b) {
		while (q < b && isspace((unsigned char)*q))
			q++;
		const char *ns = q;
		while (q < b && *q != '=' && !isspace((unsigned char)*q))
			q++;
		const char *ne = q;
		while (q < b && isspace((unsigned char)*q))
			q++;
		if (q >= b || *q != '=')
			return 0;
		q++;
		while (q < b && isspace((unsigned char)*q))
			q++;
		if (q >= b || (*q != '"' && *q != '\''))
			return 0;
		char quote = *q++;
		const char *vs = q;
		while (q < b && *q != quote)
			q++;
		if (q >= b)
			return 0;
		if ((size_t)(ne - ns) == n && !memcmp(ns, name, n)) {
			*va = vs;
			*vb = q;
			return 1;
		}
		q++;
	}
	return 0;
}

/* Hex digest in [a, b) of exactly 2*len digits into out. */
static int parse_hex(const char *a, const char *b, uint8_t *out, size_t len)
{
	trim(&a, &b);
	if ((size_t)(b - a) != 2 * len)
		return -EINVAL;
	char tmp[2 * HASH_MAX + 1];
	memcpy(tmp, a, 2 * len);
	tmp[2 * len] = 0;
	return hex_decode(tmp, out, len);
}

struct elem {
	char name[32];		     /* tag name */
	const char *tag;	     /* the '<' of the open tag */
	const char *attr, *attr_end; /* attribute text */
	const char *text, *text_end; /* content */
};

/*
 * Next element of interest: skips the XML declaration, comments and any tag
 * named in skip ("bmap", "BlockMap" open/close); returns 1 with el filled for
 * an element "<X attrs> text </X>", 0 at the end, <0 on error.
 */
static int next_elem(struct scan *s, struct elem *el)
{
	for (;;) {
		while (s->p < s->end && *s->p != '<') {
			if (!isspace((unsigned char)*s->p))
				return fail(s, s->p, "unexpected text '%s'", snip(s, s->p, 20));
			s->p++;
		}
		if (s->p >= s->end)
			return 0;
		const char *lt = s->p;
		if (s->end - lt >= 4 && !memcmp(lt, "<!--", 4)) {
			const char *c = find(lt + 4, s->end, "-->");
			if (!c)
				return fail(s, lt, "%s", "unterminated comment");
			s->p = c + 3;
			continue;
		}
		if (s->end - lt >= 2 && (lt[1] == '?' || lt[1] == '!')) {
			const char *c = find(lt, s->end, ">");
			if (!c)
				return fail(s, lt, "%s", "unterminated declaration");
			s->p = c + 1;
			continue;
		}
		const char *gt = find(lt, s->end, ">");
		if (!gt)
			return fail(s, lt, "%s", "unterminated tag");
		const char *n = lt + 1;
		int closing = n < gt && *n == '/';
		if (closing)
			n++;
		const char *ne = n;
		while (ne < gt &&
		       (isalnum((unsigned char)*ne) || *ne == '_' || *ne == '-' || *ne == ':'))
			ne++;
		if (ne == n || (size_t)(ne - n) >= sizeof(el->name))
			return fail(s, lt, "bad tag '%s'", snip(s, lt, 20));
		memcpy(el->name, n, (size_t)(ne - n));
		el->name[ne - n] = 0;
		s->p = gt + 1;
		if (!strcmp(el->name, "bmap") || !strcmp(el->name, "BlockMap")) {
			if (!closing && !strcmp(el->name, "bmap")) {
				el->tag = lt;
				el->attr = ne;
				el->attr_end = gt;
				el->text = el->text_end = NULL;
				return 1;
			}
			continue;
		}
		if (closing)
			return fail(s, lt, "unexpected closing tag '%s'", snip(s, lt, 30));
		el->tag = lt;
		el->attr = ne;
		el->attr_end = gt;
		if (gt > lt && gt[-1] == '/') { /* <X/> */
			el->attr_end = gt - 1;
			el->text = el->text_end = gt;
			return 1;
		}
		char close[40];
		snprintf(close, sizeof(close), "</%s", el->name);
		const char *c = find(s->p, s->end, close);
		if (!c)
			return fail(s, lt, "missing closing tag for <%s>", el->name);
		el->text = s->p;
		el->text_end = c;
		if (memchr(el->text, '<', (size_t)(c - el->text)))
			return fail(s, el->text, "markup inside <%s>", el->name);
		const char *cg = find(c, s->end, ">");
		if (!cg)
			return fail(s, c, "%s", "unterminated closing tag");
		s->p = cg + 1;
		return 1;
	}
}

void uc_bmap_free(struct uc_bmap *b)
{
	free(b->r);
	b->r = NULL;
	b->n = 0;
}

int uc_bmap_parse(const char *text, size_t len, const char *path, struct uc_bmap *b,
		  struct ok_err *e)
{
	memset(b, 0, sizeof(*b));
	b->algo = -1;
	struct scan s = {.text = text, .p = text, .end = text + len, .path = path, .e = e};
	struct elem el;
	int r, have_version = 0, have[4] = {0, 0, 0, 0};
	char cstype[32] = "";
	const char *fsum_a = NULL, *fsum_b = NULL, *fsum_tag = NULL;
	size_t cap = 0;
	const char *range_attr = "chksum";
	while ((r = next_elem(&s, &el)) > 0) {
		if (!strcmp(el.name, "bmap")) {
			const char *va, *vb;
			/* sscanf needs a terminated string: the input is not one. */
			if (!get_attr(el.attr, el.attr_end, "version", &va, &vb) ||
			    sscanf(snip(&s, va, (size_t)(vb - va)), "%d.%d", &b->major,
				   &b->minor) != 2 ||
			    b->major < 1)
				return fail(&s, el.tag, "%s", "missing or bad bmap version");
			if (b->major > 2)
				return ok_err_line(e, -EINVAL, path, line_of(&s, el.tag),
						   "bmap format version %d.%d, expected 1.x or 2.x",
						   b->major, b->minor);
			have_version = 1;
			if (b->major == 1 && b->minor < 4)
				range_attr = "sha1";
			continue;
		}
		if (!have_version)
			return fail(&s, el.tag, "<%s> before <bmap version=...>", el.name);
		static const char *const scalars[] = {"ImageSize", "BlockSize", "BlocksCount",
						      "MappedBlocksCount"};
		uint64_t *dst[] = {&b->image_size, &b->block_size, &b->blocks_count,
				   &b->mapped_count};
		int k;
		for (k = 0; k < 4; k++)
			if (!strcmp(el.name, scalars[k]))
				break;
		if (k < 4) {
			if (parse_u64(el.text, el.text_end, dst[k]) < 0)
				return fail(&s, el.text, "bad number in <%s>", scalars[k]);
			have[k] = 1;
			continue;
		}
		if (!strcmp(el.name, "ChecksumType")) {
			const char *a = el.text, *z = el.text_end;
			trim(&a, &z);
			snprintf(cstype, sizeof(cstype), "%.*s", (int)(z - a), a);
			continue;
		}
		if (!strcmp(el.name, "BmapFileChecksum") || !strcmp(el.name, "BmapFileSHA1")) {
			fsum_a = el.text;
			fsum_b = el.text_end;
			trim(&fsum_a, &fsum_b);
			fsum_tag = el.tag;
			continue;
		}
		if (strcmp(el.name, "Range"))
			continue; /* unknown tags are ignored, as bmaptool does */
		struct uc_bmap_range rg;
		memset(&rg, 0, sizeof(rg));
		rg.line = (int)line_of(&s, el.tag);
		const char *a = el.text, *z = el.text_end;
		trim(&a, &z);
		const char *dash = memchr(a, '-', (size_t)(z - a));
		if (parse_u64(a, dash ? dash : z, &rg.first) < 0 ||
		    parse_u64(dash ? dash + 1 : a, z, &rg.last) < 0)
			return fail(&s, el.text, "bad block range '%s', expected N or N-M",
				    snip(&s, a, 40));
		if (rg.first > rg.last)
			return fail(&s, el.text, "block range '%s' runs backwards",
				    snip(&s, a, 40));
		const char *va, *vb;
		if (get_attr(el.attr, el.attr_end, range_attr, &va, &vb)) {
			if (b->algo < 0 && b->major == 1 && b->minor < 4)
				b->algo = HASH_SHA1;
			if (b->algo < 0) {
				if (!cstype[0])
					return fail(
					    &s, el.tag, "%s",
					    "range checksum but no <ChecksumType> before it");
				b->algo = hash_from_name(cstype);
				if (b->algo < 0)
					return fail(&s, el.tag, "unknown checksum type '%s'",
						    cstype);
			}
			if (parse_hex(va, vb, rg.sum, hash_len((enum hash_algo)b->algo)) < 0)
				return fail(&s, va, "bad %s checksum", hash_name(b->algo));
			rg.has_sum = 1;
		}
		if (b->n && rg.first <= b->r[b->n - 1].last)
			return fail(&s, el.text,
				    "block range '%s' overlaps or precedes the one before",
				    snip(&s, a, 40));
		if (b->n == cap) {
			cap = cap ? 2 * cap : 64;
			if (cap > (1u << 26))
				return fail(&s, el.tag, "%s", "too many ranges");
			struct uc_bmap_range *nr = realloc(b->r, cap * sizeof(*nr));
			if (!nr)
				return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
			b->r = nr;
		}
		b->r[b->n++] = rg;
	}
	if (r < 0)
		return r;
	if (!have_version)
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS, "not a bmap file (no <bmap>)");
	static const char *const names[] = {"ImageSize", "BlockSize", "BlocksCount",
					    "MappedBlocksCount"};
	for (int k = 0; k < 4; k++)
		if (!have[k])
			return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS, "missing <%s>", names[k]);
	if (b->block_size == 0 || b->block_size > (1u << 30))
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "BlockSize %llu, expected 1 to 1 GiB",
				 (unsigned long long)b->block_size);
	uint64_t want = b->image_size / b->block_size + (b->image_size % b->block_size != 0);
	if (b->blocks_count != want)
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "BlocksCount %llu does not match ImageSize %llu / BlockSize %llu "
				 "(expected %llu)",
				 (unsigned long long)b->blocks_count,
				 (unsigned long long)b->image_size,
				 (unsigned long long)b->block_size, (unsigned long long)want);
	uint64_t mapped = 0;
	for (size_t i = 0; i < b->n; i++) {
		if (b->r[i].last >= b->blocks_count)
			return ok_err_line(
			    e, -EINVAL, path, b->r[i].line,
			    "range ends at block %llu, beyond the image's %llu blocks",
			    (unsigned long long)b->r[i].last, (unsigned long long)b->blocks_count);
		mapped += b->r[i].last - b->r[i].first + 1;
	}
	if (mapped != b->mapped_count)
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "ranges map %llu blocks, MappedBlocksCount says %llu",
				 (unsigned long long)mapped, (unsigned long long)b->mapped_count);
	if (fsum_tag) {
		int algo = b->major == 1 && b->minor < 4 ? HASH_SHA1 : hash_from_name(cstype);
		if (algo < 0)
			return ok_err_line(e, -EINVAL, path, line_of(&s, fsum_tag),
					   "file checksum without a known <ChecksumType>");
		uint8_t want_sum[HASH_MAX], got[HASH_MAX];
		size_t hl = hash_len((enum hash_algo)algo);
		if (parse_hex(fsum_a, fsum_b, want_sum, hl) < 0)
			return ok_err_line(e, -EINVAL, path, line_of(&s, fsum_tag),
					   "bad bmap file checksum, expected %zu hex digits",
					   2 * hl);
		struct hash_ctx h;
		if (hash_init(&h, (enum hash_algo)algo) < 0)
			return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "cannot hash");
		char zeros[2 * HASH_MAX];
		memset(zeros, '0', sizeof(zeros));
		hash_update(&h, text, (size_t)(fsum_a - text));
		hash_update(&h, zeros, (size_t)(fsum_b - fsum_a));
		hash_update(&h, fsum_b, (size_t)(text + len - fsum_b));
		hash_final(&h, got);
		if (memcmp(got, want_sum, hl)) {
			char gh[2 * HASH_MAX + 1];
			hex_encode(got, hl, gh);
			return ok_err_line(e, -EINVAL, path, line_of(&s, fsum_tag),
					   "bmap file checksum mismatch: calculated %s, should be "
					   "%.*s",
					   gh, (int)(fsum_b - fsum_a), fsum_a);
		}
	}
	return 0;
}

int uc_bmap_load(const char *path, struct uc_bmap *b, struct ok_err *e)
{
	memset(b, 0, sizeof(*b));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot open bmap");
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (256 << 20)) {
		close(fd);
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "not a regular file of at most 256 MiB");
	}
	char *text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
	}
	ssize_t n = io_read_full(fd, text, (size_t)st.st_size);
	close(fd);
	if (n < 0) {
		free(text);
		return ok_err_at(e, (int)n, path, OK_ERR_NOPOS, "cannot read bmap");
	}
	text[n] = 0;
	int r = uc_bmap_parse(text, (size_t)n, path, b, e);
	free(text);
	return r;
}
