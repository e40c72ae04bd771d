/*
 * digest.c: rpm -K[v] --nosignature: check the digests a package carries.
 *
 * The checks and their report follow rpm 4.18's lib/rpmvs.c and
 * lib/rpmchecksig.c:
 *   - digests: header SHA256 (signature tag 273) and SHA1 (269) over the
 *     main header blob; payload SHA256 (main tag PAYLOADDIGEST 5092) and its
 *     ALT form (5097) over the payload bytes as stored in the file; MD5
 *     (signature tag 1004) over header and payload. Like rpm 4.18, the ALT
 *     digest is computed over the stored bytes, so for a compressed payload
 *     it fails and is then hidden because its alternative (5092) verified.
 *   - order: by range (header, payload, header+payload), newer tag first.
 *   - a digest that is absent is shown as NOTFOUND only when nothing else
 *     covers its range; a failed one is forgiven when an alternative with
 *     the same disabler verified.
 * Signatures (RSA, DSA, OpenPGP) are out of scope, as under --nosignature.
 * The payload is streamed in 64 KiB reads; nothing is held whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hash.h"
#include "io.h"
#include "rpmq.h"

enum { RANGE_HEADER = 1, RANGE_PAYLOAD = 2 };
enum { T_DIGEST = 1, T_SIGNATURE = 2 };
enum rc { RC_OK, RC_BAD, RC_NOTFOUND };

struct sinfo {
	int type;     /* T_DIGEST / T_SIGNATURE */
	int range;    /* RANGE_* bits */
	uint32_t id;  /* tag << 16 | element */
	int disabler; /* items sharing one are alternatives */
	int alt;      /* the ALT payload digest */
	enum hash_algo algo;
	const char *name; /* "SHA256" */
	enum rc rc;
	char want[160]; /* expected digest, lower-case hex */
	char msg[400];	/* why BAD */
};

/* The verifiable signature-header items rpm always lists (lib/rpmvs.c). */
static const struct {
	uint32_t tag;
	int type, range, disabler;
	enum hash_algo algo;
	const char *name;
} sig_items[] = {
    {SIGTAG_PGP, T_SIGNATURE, 3, 1, HASH_SHA256, "RSA"},
    {SIGTAG_MD5, T_DIGEST, 3, 2, HASH_MD5, "MD5"},
    {SIGTAG_GPG, T_SIGNATURE, 3, 3, HASH_SHA256, "DSA"},
    {SIGTAG_DSA, T_SIGNATURE, 1, 4, HASH_SHA256, "DSA"},
    {SIGTAG_RSA, T_SIGNATURE, 1, 5, HASH_SHA256, "RSA"},
    {SIGTAG_SHA1, T_DIGEST, 1, 6, HASH_SHA1, "SHA1"},
    {SIGTAG_SHA256, T_DIGEST, 1, 7, HASH_SHA256, "SHA256"},
};

static int valid_hex(const char *s)
{
	size_t n = strlen(s);
	if (n % 2 || n < 40)
		return 0;
	return strspn(s, "0123456789abcdefABCDEF") == n;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s + 32);
}

/* Fill si from a stored digest entry (rpmsinfoInit's checks). */
static void init_digest(struct sinfo *si, const struct rpm_hdr *h, const struct rpm_entry *en,
			uint32_t elem, const char *origin)
{
	si->rc = RC_BAD;
	if (en->type == RPM_BIN) {
		if (en->count < 16) {
			snprintf(si->msg, sizeof(si->msg), "%s tag %u: invalid data (%u)", origin,
				 en->tag, en->count);
			return;
		}
		size_t n = en->count > 64 ? 64 : en->count;
		hex_encode(h->data + en->off, n, si->want);
	} else {
		const char *s = rpm_ent_str(h, en, elem);
		if (strlen(s) < 16) {
			snprintf(si->msg, sizeof(si->msg), "%s tag %u: invalid data (%zu)", origin,
				 en->tag, strlen(s));
			return;
		}
		if (!valid_hex(s) || strlen(s) >= sizeof(si->want)) {
			snprintf(si->msg, sizeof(si->msg), "%s: tag %u: invalid hex", origin,
				 en->tag);
			return;
		}
		snprintf(si->want, sizeof(si->want), "%s", s);
		lower(si->want);
	}
	si->rc = RC_OK;
}

static int cmp_sinfo(const void *a, const void *b)
{
	const struct sinfo *x = a, *y = b;
	if (x->range != y->range)
		return x->range - y->range;
	if (x->type != y->type)
		return y->type - x->type;
	if (x->id != y->id)
		return x->id < y->id ? 1 : -1;
	return y->disabler - x->disabler;
}

int rpm_check_digests(struct rpm_pkg *p, int verbose, FILE *out, struct ok_err *e)
{
	struct sinfo si[32];
	int n = 0;
	const char *origin = p->sig.il > 0 ? "package" : "header";
	/* Signature-header items. */
	for (size_t k = 0; k < sizeof(sig_items) / sizeof(sig_items[0]); k++) {
		struct sinfo *s = &si[n++];
		memset(s, 0, sizeof(*s));
		s->type = sig_items[k].type;
		s->range = sig_items[k].range;
		s->disabler = sig_items[k].disabler;
		s->algo = sig_items[k].algo;
		s->name = sig_items[k].name;
		s->id = 0; /* rpm sets the id only for a usable digest */
		s->rc = RC_NOTFOUND;
		const struct rpm_entry *en = rpm_hdr_find(&p->sig, sig_items[k].tag);
		if (!en || s->type == T_SIGNATURE)
			continue; /* signatures: disabled, as under --nosignature */
		uint32_t want_type = sig_items[k].tag == SIGTAG_MD5 ? RPM_BIN : RPM_STRING;
		if (en->type != want_type) {
			s->rc = RC_BAD;
			snprintf(s->msg, sizeof(s->msg), "%s tag %u: invalid type %u", origin,
				 en->tag, en->type);
			continue;
		}
		init_digest(s, &p->sig, en, 0, origin);
		if (s->rc == RC_OK)
			s->id = sig_items[k].tag << 16;
	}
	/* Payload digests from the main header (every element is one item). */
	static const uint32_t ptags[2] = {TAG_PAYLOADDIGEST, TAG_PAYLOADDIGESTALT};
	for (int k = 0; k < 2; k++) {
		const struct rpm_entry *en = rpm_hdr_find(&p->hdr, ptags[k]);
		uint32_t cnt = en && en->type == RPM_STRING_ARRAY ? en->count : 1;
		for (uint32_t j = 0; j < cnt && n < 32; j++) {
			struct sinfo *s = &si[n++];
			memset(s, 0, sizeof(*s));
			s->type = T_DIGEST;
			s->range = RANGE_PAYLOAD;
			s->disabler = 8;
			s->alt = k == 1;
			s->algo = HASH_SHA256;
			s->name = "SHA256";
			s->rc = RC_NOTFOUND;
			if (!en)
				continue;
			if (en->type != RPM_STRING_ARRAY) {
				s->rc = RC_BAD;
				snprintf(s->msg, sizeof(s->msg), "header tag %u: invalid type %u",
					 en->tag, en->type);
				continue;
			}
			init_digest(s, &p->hdr, en, j, "header");
			if (s->rc == RC_OK)
				s->id = ptags[k] << 16 | j;
		}
	}

	/* Digest the header, then stream the payload. */
	struct hash_ctx hs256, hs1, pay, md5;
	uint8_t d_hs256[HASH_MAX], d_hs1[HASH_MAX], d_pay[HASH_MAX], d_md5[HASH_MAX];
	if (hash_init(&hs256, HASH_SHA256) < 0 || hash_init(&hs1, HASH_SHA1) < 0 ||
	    hash_init(&pay, HASH_SHA256) < 0 || hash_init(&md5, HASH_MD5) < 0)
		return ok_err_at(e, -ENOMEM, p->path, OK_ERR_NOPOS, "cannot set up digests");
	hash_update(&hs256, p->hdr.raw, p->hdr.raw_len);
	hash_update(&hs1, p->hdr.raw, p->hdr.raw_len);
	hash_update(&md5, p->hdr.raw, p->hdr.raw_len);
	uint8_t *buf = malloc(1 << 16);
	if (!buf) {
		hash_abort(&hs256);
		hash_abort(&hs1);
		hash_abort(&pay);
		hash_abort(&md5);
		return ok_err_at(e, -ENOMEM, p->path, OK_ERR_NOPOS, "out of memory");
	}
	long long off = p->payload_off;
	for (;;) {
		ssize_t r = read(p->fd, buf, 1 << 16);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = -errno;
			free(buf);
			hash_abort(&hs256);
			hash_abort(&hs1);
			hash_abort(&pay);
			hash_abort(&md5);
			return ok_err_at(e, err, p->path, off, "reading the payload");
		}
		if (r == 0)
			break;
		hash_update(&pay, buf, (size_t)r);
		hash_update(&md5, buf, (size_t)r);
		off += r;
	}
	free(buf);
	hash_final(&hs256, d_hs256);
	hash_final(&hs1, d_hs1);
	hash_final(&pay, d_pay);
	hash_final(&md5, d_md5);

	int verified = 0;
	for (int i = 0; i < n; i++) {
		struct sinfo *s = &si[i];
		if (s->type != T_DIGEST || s->rc != RC_OK)
			continue;
		const uint8_t *d = s->range == RANGE_PAYLOAD ? d_pay
				   : s->range == 3	     ? d_md5
				   : s->algo == HASH_SHA1    ? d_hs1
							     : d_hs256;
		char got[2 * HASH_MAX + 1];
		hex_encode(d, hash_len(s->algo), got);
		if (strcmp(got, s->want) != 0) {
			s->rc = RC_BAD;
			char want[sizeof(s->want)];
			memcpy(want, s->want, sizeof(want));
			snprintf(s->msg, sizeof(s->msg), "Expected %s != %s", want, got);
		} else {
			verified |= s->range;
		}
	}
	qsort(si, (size_t)n, sizeof(si[0]), cmp_sinfo);
	int range = 3, failed = 0, seen = 0, bad = 0;
	for (int i = 0; i < n; i++) {
		struct sinfo *s = &si[i];
		if (s->rc == RC_BAD) {
			for (int j = 0; j < n; j++)
				if (si[j].id != s->id && si[j].disabler == s->disabler) {
					if (si[j].rc == RC_OK)
						s->rc = RC_NOTFOUND;
					break;
				}
		}
	}
	fprintf(out, "%s:%s", p->path, verbose ? "\n" : "");
	for (int i = 0; i < n; i++) {
		struct sinfo *s = &si[i];
		int required = 0;
		if (s->type == T_DIGEST)
			required = (range & ~verified) & s->range;
		if (!required && s->rc == RC_NOTFOUND)
			continue;
		seen |= s->type;
		if (s->rc != RC_OK) {
			bad |= s->type;
			failed = 1;
		}
		if (verbose) {
			const char *rng = s->range == RANGE_HEADER    ? "Header "
					  : s->range == RANGE_PAYLOAD ? "Payload "
								      : "";
			const char *rcs = s->rc == RC_OK    ? "OK"
					  : s->rc == RC_BAD ? "BAD"
							    : "NOTFOUND";
			fprintf(out, "    %s%s%s %s: %s", rng, s->name, s->alt ? " ALT" : "",
				s->type == T_DIGEST ? "digest" : "signature", rcs);
			if (s->msg[0] && s->rc != RC_OK)
				fprintf(out, " (%s)", s->msg);
			fputc('\n', out);
		}
	}
	if (!verbose) {
		if (seen & T_DIGEST)
			fprintf(out, " %s", bad & T_DIGEST ? "DIGESTS" : "digests");
		fprintf(out, " %s\n", failed ? "NOT OK" : "OK");
	}
	return failed;
}
