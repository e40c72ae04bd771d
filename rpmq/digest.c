/*
 * digest.c: rpm -K[v]: check the digests and signatures a package carries.
 *
 * A port of rpm 4.18's lib/rpmvs.c and lib/rpmchecksig.c:
 *   - items: the signature header's PGP (1002), MD5, GPG (1005), DSA and
 *     RSA header signatures, SHA1 and SHA256 header digests, then the main
 *     header's payload digests (every element one item); each gets a digest
 *     of its range: header, payload, or both (the signatures' hash is their
 *     own algorithm's). Like rpm 4.18, the ALT payload digest is computed
 *     over the stored bytes, so for a compressed payload it fails and is
 *     then hidden because its alternative (5092) verified.
 *   - signatures are checked against a keyring (keyring.c): NOKEY without
 *     the key, BAD when the digest's first 16 bits or the public-key check
 *     fail; digests inside a header whose signature verified count as
 *     signatures (rpm's "strength").
 *   - order: by range, signatures first, newer tag first; an item that is
 *     absent is shown as NOTFOUND only when the verify level requires its
 *     range and nothing else covers it (rpm's default level is "digest"; a
 *     verified signature makes signatures required too); a failed one is
 *     forgiven when an alternative with the same disabler verified.
 * --nosignature and --nodigest disable items as rpm's vsflags do. The
 * payload is streamed in 64 KiB reads; nothing is held whole.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "hash.h"
#include "io.h"
#include "rpmq.h"

enum { RANGE_HEADER = 1, RANGE_PAYLOAD = 2 };
enum { T_DIGEST = 1, T_SIGNATURE = 2 };
enum rc { RC_OK, RC_BAD, RC_NOKEY, RC_NOTFOUND };

/* rpm's RPMVSF_* disablers (their values order equal items). */
enum {
	VSF_NOSHA1HEADER = 1 << 8,
	VSF_NOSHA256HEADER = 1 << 9,
	VSF_NODSAHEADER = 1 << 10,
	VSF_NORSAHEADER = 1 << 11,
	VSF_NOPAYLOAD = 1 << 16,
	VSF_NOMD5 = 1 << 17,
	VSF_NODSA = 1 << 18,
	VSF_NORSA = 1 << 19,
};

struct sinfo {
	int type;		    /* T_DIGEST / T_SIGNATURE */
	int strength;		    /* type, or T_SIGNATURE for a digest a signature covers */
	int range;		    /* RANGE_* bits */
	int wrapped;		    /* stored in the main header (signed with it) */
	uint32_t id;		    /* tag << 16 | element, for a usable item */
	int disabler;		    /* VSF_*: items sharing one are alternatives */
	int alt;		    /* the ALT payload digest */
	unsigned hashalgo, sigalgo; /* OpenPGP ids */
	enum rc rc;
	int has_ctx;
	struct hash_ctx ctx; /* the digest over the item's range */
	struct rpm_pgp sig;  /* a signature that parsed */
	int has_sig;
	char want[160]; /* expected digest, as stored */
	char msg[400];	/* why BAD */
};

/* The verifiable items in rpmvfyitems order (lib/rpmvs.c): tag, kind,
 * range, disabler, hash or key algorithm, required type, count and size. */
static const struct vitem {
	uint32_t tag;
	int sigh; /* in the signature header (else the main header) */
	int type, range, disabler;
	unsigned hashalgo, sigalgo;
	uint32_t tagtype, tagcount, tagsize;
	int alt;
} vitems[] = {
    {SIGTAG_PGP, 1, T_SIGNATURE, 3, VSF_NORSA, 0, RPM_PGP_RSA, RPM_BIN, 0, 0, 0},
    {SIGTAG_MD5, 1, T_DIGEST, 3, VSF_NOMD5, 1, 0, RPM_BIN, 0, 16, 0},
    {SIGTAG_GPG, 1, T_SIGNATURE, 3, VSF_NODSA, 0, RPM_PGP_DSA, RPM_BIN, 0, 0, 0},
    {SIGTAG_DSA, 1, T_SIGNATURE, 1, VSF_NODSAHEADER, 0, RPM_PGP_DSA, RPM_BIN, 0, 0, 0},
    {SIGTAG_RSA, 1, T_SIGNATURE, 1, VSF_NORSAHEADER, 0, RPM_PGP_RSA, RPM_BIN, 0, 0, 0},
    {SIGTAG_SHA1, 1, T_DIGEST, 1, VSF_NOSHA1HEADER, 2, 0, RPM_STRING, 1, 41, 0},
    {SIGTAG_SHA256, 1, T_DIGEST, 1, VSF_NOSHA256HEADER, 8, 0, RPM_STRING, 1, 65, 0},
    {TAG_PAYLOADDIGEST, 0, T_DIGEST, 2, VSF_NOPAYLOAD, 8, 0, RPM_STRING_ARRAY, 0, 0, 0},
    {TAG_PAYLOADDIGESTALT, 0, T_DIGEST, 2, VSF_NOPAYLOAD, 8, 0, RPM_STRING_ARRAY, 0, 0, 1},
};

static int valid_hex(const char *s)
{
	size_t n = strlen(s);
	if (n % 2 || n < 40)
		return 0;
	return strspn(s, "0123456789abcdefABCDEF") == n;
}

/* rpmsinfoInit for element elem of entry en (NULL: absent or disabled). */
static void sinfo_init(struct sinfo *si, const struct vitem *vi, const struct rpm_hdr *h,
		       const struct rpm_entry *en, uint32_t elem, const char *origin)
{
	memset(si, 0, sizeof(*si));
	si->type = si->strength = vi->type;
	si->range = vi->range;
	si->wrapped = !vi->sigh;
	si->disabler = vi->disabler;
	si->alt = vi->alt;
	si->hashalgo = vi->hashalgo;
	si->sigalgo = vi->sigalgo;
	si->rc = RC_BAD;
	if (!en) {
		si->rc = RC_NOTFOUND;
		return;
	}
	if (en->type != vi->tagtype) {
		snprintf(si->msg, sizeof(si->msg), "%s tag %u: invalid type %u", origin, en->tag,
			 en->type);
		return;
	}
	if (vi->tagcount && vi->tagcount != en->count) {
		snprintf(si->msg, sizeof(si->msg), "%s: tag %u: invalid count %u", origin, en->tag,
			 en->count);
		return;
	}
	const uint8_t *data;
	size_t dlen, size;
	if (en->type == RPM_BIN) {
		data = h->data + en->off;
		dlen = size = en->count;
	} else {
		const char *str = rpm_ent_str(h, en, elem);
		data = (const uint8_t *)str;
		dlen = strlen(str);
		size = dlen + 1;
	}
	if (si->hashalgo && dlen < 16) {
		/* rpm prints the data's address here, which no one can repeat */
		snprintf(si->msg, sizeof(si->msg), "%s tag %u: invalid data (%zu)", origin, en->tag,
			 dlen);
		return;
	}
	if (vi->tagsize && vi->tagsize != size) {
		snprintf(si->msg, sizeof(si->msg), "%s tag %u: invalid size %zu", origin, en->tag,
			 size);
		return;
	}
	if (si->type == T_SIGNATURE) {
		if (rpm_pgp_sig_parse(data, dlen, &si->sig) < 0) {
			snprintf(si->msg, sizeof(si->msg), "%s tag %u: invalid OpenPGP signature",
				 origin, en->tag);
			return;
		}
		si->has_sig = 1;
		si->hashalgo = si->sig.hash_algo;
	} else if (en->type == RPM_BIN) {
		size_t n = dlen > 64 ? 64 : dlen;
		hex_encode(data, n, si->want);
	} else {
		if (!valid_hex((const char *)data) || dlen >= sizeof(si->want)) {
			snprintf(si->msg, sizeof(si->msg), "%s: tag %u: invalid hex", origin,
				 en->tag);
			return;
		}
		memcpy(si->want, data, dlen + 1);
	}
	if (si->hashalgo)
		si->id = en->tag << 16 | elem;
	si->rc = RC_OK;
}

/* rpmvsAppend: one item per element of the tag (BIN: one), or one
 * NOTFOUND item when the tag is absent, unreadable or disabled. */
static int add_items(struct sinfo *si, int n, int max, const struct vitem *vi,
		     const struct rpm_hdr *h, const char *origin, unsigned vsflags)
{
	const struct rpm_entry *en = rpm_hdr_find(h, vi->tag);
	/* hdrblobGet refuses the byte-swapped types */
	if (en && (en->type == RPM_INT16 || en->type == RPM_INT32 || en->type == RPM_INT64))
		en = NULL;
	uint32_t cnt = en && en->type != RPM_BIN ? en->count : 1;
	if (!en || (vsflags & (unsigned)vi->disabler) || cnt == 0) {
		if (n < max)
			sinfo_init(&si[n++], vi, h, NULL, 0, origin);
		return n;
	}
	for (uint32_t j = 0; j < cnt && n < max; j++)
		sinfo_init(&si[n++], vi, h, en, j, origin);
	return n;
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

/* rpmsinfoDescr: "Header SHA256 digest", "V4 RSA/SHA256 Signature, key ID
 * 1964c5fc", or "RSA signature" for one that did not parse. */
static void descr(const struct sinfo *s, char *buf, size_t n)
{
	const char *rng = s->range == RANGE_HEADER    ? "Header "
			  : s->range == RANGE_PAYLOAD ? "Payload "
						      : "";
	if (s->type == T_DIGEST)
		snprintf(buf, n, "%s%s%s digest", rng, rpm_pgp_hash_name(s->hashalgo),
			 s->alt ? " ALT" : "");
	else if (s->has_sig) {
		char kid[9];
		hex_encode(s->sig.keyid + 4, 4, kid);
		snprintf(buf, n, "%sV%d %s/%s Signature, key ID %s", rng, s->sig.version,
			 rpm_pgp_pubkey_name(s->sig.pubkey_algo),
			 rpm_pgp_hash_name(s->sig.hash_algo), kid);
	} else
		snprintf(buf, n, "%s%s signature", rng, rpm_pgp_pubkey_name(s->sigalgo));
}

/* Start the digest of every usable item of range. */
static void init_range(struct sinfo *si, int n, int range)
{
	for (int i = 0; i < n; i++) {
		if (si[i].range != range || si[i].rc != RC_OK)
			continue;
		if (rpm_pgp_hash_init(&si[i].ctx, si[i].hashalgo) == 0)
			si[i].has_ctx = 1;
		else
			si[i].rc = RC_NOTFOUND; /* unsupported: as if disabled */
	}
}

static void update_range(struct sinfo *si, int n, int range_bit, const void *d, size_t len)
{
	for (int i = 0; i < n; i++)
		if (si[i].has_ctx && (si[i].range & range_bit))
			hash_update(&si[i].ctx, d, len);
}

/* verifyDigest / verifySignature: consumes the item's digest. */
static void verify_item(struct sinfo *s, const struct rpm_keyring *kr)
{
	s->has_ctx = 0;
	if (s->type == T_DIGEST) {
		uint8_t d[HASH_MAX];
		char got[2 * HASH_MAX + 1];
		size_t len = hash_final(&s->ctx, d);
		hex_encode(d, len, got);
		if (strcasecmp(s->want, got) == 0) {
			s->rc = RC_OK;
		} else {
			s->rc = RC_BAD;
			char want[sizeof(s->want)];
			memcpy(want, s->want, sizeof(want));
			snprintf(s->msg, sizeof(s->msg), "Expected %s != %s", want, got);
		}
		return;
	}
	if (s->sig.sigtype != RPM_PGP_SIGTYPE_BINARY) {
		hash_abort(&s->ctx);
		s->rc = RC_BAD;
		return;
	}
	enum rpm_sig_rc r = rpm_pgp_verify(rpm_keyring_find(kr, &s->sig), &s->sig, &s->ctx);
	s->rc = r == RPM_SIG_OK ? RC_OK : r == RPM_SIG_NOKEY ? RC_NOKEY : RC_BAD;
}

int rpm_check_sigs(struct rpm_pkg *p, const struct rpm_check_opts *o, FILE *out, struct ok_err *e)
{
	struct sinfo si[48];
	int n = 0, max = (int)(sizeof(si) / sizeof(si[0]));
	unsigned vsflags = 0;
	int vfylevel = T_DIGEST;
	if (o->nosignature) {
		vsflags |= VSF_NODSAHEADER | VSF_NORSAHEADER | VSF_NODSA | VSF_NORSA;
		vfylevel &= ~T_SIGNATURE;
	}
	if (o->nodigest) {
		vsflags |= VSF_NOSHA1HEADER | VSF_NOSHA256HEADER | VSF_NOPAYLOAD | VSF_NOMD5;
		vfylevel &= ~T_DIGEST;
	}
	const char *origin = p->sig.il > 0 ? "package" : "header";
	size_t nv = sizeof(vitems) / sizeof(vitems[0]);
	for (size_t k = 0; k < nv; k++)
		if (vitems[k].sigh)
			n = add_items(si, n, max, &vitems[k], &p->sig, origin, vsflags);
	init_range(si, n, RANGE_HEADER);
	init_range(si, n, RANGE_HEADER | RANGE_PAYLOAD);
	update_range(si, n, RANGE_HEADER, p->hdr.raw, p->hdr.raw_len);
	for (size_t k = 0; k < nv; k++)
		if (!vitems[k].sigh)
			n = add_items(si, n, max, &vitems[k], &p->hdr, "header", vsflags);
	/* rpmvsRange: the payload is read when an enabled item covers it */
	int range = 0;
	for (int i = 0; i < n; i++)
		if (!(vsflags & (unsigned)si[i].disabler))
			range |= si[i].range;
	int rc = 0;
	if (range & RANGE_PAYLOAD) {
		init_range(si, n, RANGE_PAYLOAD);
		uint8_t *buf = malloc(1 << 16);
		long long off = p->payload_off;
		if (!buf)
			rc = ok_err_at(e, -ENOMEM, p->path, OK_ERR_NOPOS, "out of memory");
		while (rc == 0) {
			ssize_t r = read(p->fd, buf, 1 << 16);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0)
				rc = ok_err_at(e, -errno, p->path, off, "reading the payload");
			if (r <= 0)
				break;
			update_range(si, n, RANGE_PAYLOAD, buf, (size_t)r);
			off += r;
		}
		free(buf);
	} else {
		/* rpm never finalises a digest whose range was not read */
		for (int i = 0; i < n; i++)
			if (si[i].has_ctx && (si[i].range & RANGE_PAYLOAD)) {
				hash_abort(&si[i].ctx);
				si[i].has_ctx = 0;
			}
	}
	if (rc < 0) {
		for (int i = 0; i < n; i++)
			if (si[i].has_ctx)
				hash_abort(&si[i].ctx);
		return rc;
	}

	/* rpmvsVerify */
	qsort(si, (size_t)n, sizeof(si[0]), cmp_sinfo);
	int verified[3] = {0, 0, 0}, vrange = 0;
	for (int i = 0; i < n; i++) {
		struct sinfo *s = &si[i];
		/* digests in a signed header are signature strength */
		if (s->wrapped && (verified[T_SIGNATURE] & RANGE_HEADER))
			s->strength = T_SIGNATURE;
		if (s->has_ctx) {
			verify_item(s, o->keyring);
			if (s->rc == RC_OK) {
				verified[s->type] |= s->range;
				verified[s->strength] |= s->range;
			}
		}
		vrange |= s->range;
	}
	/* unconditionally reject partially signed packages */
	if (verified[T_SIGNATURE])
		vfylevel |= T_SIGNATURE;
	int failed = 0, seen = 0, bad = 0;
	fprintf(out, "%s:%s", p->path, o->verbose ? "\n" : "");
	for (int i = 0; i < n; i++) {
		struct sinfo *s = &si[i];
		int strength = s->type | s->strength, required = 0;
		if (s->rc == RC_BAD) {
			/* getAlt: the first other item with the same disabler */
			for (int j = 0; j < n; j++)
				if (si[j].id != s->id && si[j].disabler == s->disabler) {
					if (si[j].rc == RC_OK)
						s->rc = RC_NOTFOUND;
					break;
				}
		}
		if (vfylevel & strength & T_DIGEST)
			required |= vrange & ~verified[T_DIGEST] & s->range;
		if (vfylevel & strength & T_SIGNATURE)
			required |= vrange & ~verified[T_SIGNATURE] & s->range;
		if (!required && s->rc == RC_NOTFOUND)
			continue;
		seen |= s->type;
		if (s->rc != RC_OK) {
			bad |= s->type;
			failed = 1;
		}
		if (o->verbose) {
			static const char *const rcs[] = {"OK", "BAD", "NOKEY", "NOTFOUND"};
			char d[200];
			descr(s, d, sizeof(d));
			fprintf(out, "    %s: %s", d, rcs[s->rc]);
			if (s->msg[0])
				fprintf(out, " (%s)", s->msg);
			fputc('\n', out);
		}
	}
	if (!o->verbose) {
		if (seen & T_DIGEST)
			fprintf(out, " %s", bad & T_DIGEST ? "DIGESTS" : "digests");
		if (seen & T_SIGNATURE)
			fprintf(out, " %s", bad & T_SIGNATURE ? "SIGNATURES" : "signatures");
		fprintf(out, " %s\n", failed ? "NOT OK" : "OK");
	}
	return failed;
}
