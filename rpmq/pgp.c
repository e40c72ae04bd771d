/*
 * pgp.c: OpenPGP signature packets read as rpm 4.18 reads them.
 *
 * What :pgpsig prints (and -i's Signature line) depends on whether rpm
 * 4.18's parser (rpmio/rpmpgp_internal.c pgpPrtParams with its libgcrypt
 * backend, Debian's build) accepts the blob: exactly one signature packet
 * filling it, version 3 or 4, a hashed creation time, well-formed
 * subpackets (an unknown critical one refuses the packet), and exactly the
 * number of MPIs the backend knows for the key algorithm (RSA 1, DSA 2,
 * EdDSA 2; any other algorithm, ECDSA included, is refused). rpm's own
 * parser, not a general OpenPGP one: its quirks are the specification.
 */
#include <string.h>

#include "rpmq.h"

/* rpmpgp_internal.c's limit for a key or signature blob. */
#define PGP_MAX_BYTES 65535

static uint32_t grab(const uint8_t *s, size_t n)
{
	uint32_t v = 0;
	for (size_t i = 0; i < n; i++)
		v = v << 8 | s[i];
	return v;
}

/* pgpLen: a 1, 2 or 5 byte new-format length; bytes used, 0 on error
 * (partial lengths, or a length beyond slen). */
static size_t pgp_len(const uint8_t *s, size_t slen, size_t *lenp)
{
	size_t dlen = 0, lenlen = 0;
	if (*s < 192) {
		lenlen = 1;
		dlen = *s;
	} else if (*s < 224 && slen > 2) {
		lenlen = 2;
		dlen = ((size_t)(s[0] - 192) << 8) + s[1] + 192;
	} else if (*s == 255 && slen > 5) {
		lenlen = 5;
		dlen = grab(s + 1, 4);
	}
	if (slen - lenlen < dlen)
		lenlen = 0;
	if (lenlen)
		*lenp = dlen;
	return lenlen;
}

/* pgpGet: an nbytes-long length whose data must fit before send. */
static int pgp_get(const uint8_t *s, size_t nbytes, const uint8_t *send, size_t *valp)
{
	*valp = 0;
	if (nbytes <= 4 && (size_t)(send - s) >= nbytes) {
		uint32_t val = grab(s, nbytes);
		if ((size_t)(send - s) - nbytes >= val) {
			*valp = val;
			return 0;
		}
	}
	return -1;
}

enum {
	SAVED_TIME = 1,	   /* PGPDIG_SAVED_TIME */
	SAVED_ID = 2,	   /* PGPDIG_SAVED_ID */
	HAS_CTIME = 4,	   /* PGPDIG_SIG_HAS_CREATION_TIME */
	HAS_KEY_FLAGS = 8, /* PGPDIG_SIG_HAS_KEY_FLAGS */
};

struct pgp_state {
	unsigned saved;
	struct rpm_pgp_sig *sig;
};

/* pgpPrtSubType: 0, or 1 when rpm refuses the subpacket area. */
static int pgp_subtypes(const uint8_t *p, size_t hlen, unsigned sigtype, struct pgp_state *st,
			int hashed)
{
	int rc = 0;
	while (hlen > 0 && rc == 0) {
		int impl = 0;
		size_t plen = 0, i = pgp_len(p, hlen, &plen);
		if (i == 0 || plen < 1 || i + plen > hlen)
			break;
		p += i;
		hlen -= i;
		switch (p[0] & 0x7f) {
		case 2: /* signature creation time: hashed, 4 bytes, once */
			if (!hashed || plen - 1 != 4)
				break;
			if (st->saved & HAS_CTIME)
				return 1;
			impl = p[0];
			if (!(st->saved & SAVED_TIME))
				st->sig->time = grab(p + 1, 4);
			st->saved |= SAVED_TIME | HAS_CTIME;
			break;
		case 16: /* issuer key ID, for these signature types only */
			impl = p[0];
			if (!(st->saved & SAVED_ID) && (sigtype == 0x13 || sigtype == 0x00 ||
							sigtype == 0x01 || sigtype == 0x02)) {
				if (plen - 1 != 8)
					break;
				st->saved |= SAVED_ID;
				memcpy(st->sig->keyid, p + 1, 8);
			}
			break;
		case 27: /* key flags: hashed, once */
			if (!hashed)
				break;
			if (st->saved & HAS_KEY_FLAGS)
				return 1;
			impl = p[0];
			st->saved |= HAS_KEY_FLAGS;
			break;
		default: /* printed only; critical ones are not understood */
			break;
		}
		if (!impl && (p[0] & 0x80))
			rc = 1;
		p += plen;
		hlen -= plen;
	}
	if (hlen != 0)
		rc = 1;
	return rc;
}

/* processMpis with the libgcrypt backend's counts; gcry_mpi_scan refuses
 * an MPI of more than 16384 bits. */
static int pgp_mpis(unsigned algo, const uint8_t *p, const uint8_t *pend)
{
	int mpis = algo == 1 ? 1 : algo == 17 || algo == 22 ? 2 : -1, i = 0;
	for (; i < mpis && pend - p >= 2; i++) {
		unsigned bits = (unsigned)p[0] << 8 | p[1];
		size_t mpil = 2 + ((bits + 7) >> 3);
		if ((size_t)(pend - p) < mpil || bits > 16384)
			return 1;
		p += mpil;
	}
	return p == pend && i == mpis ? 0 : 1;
}

/* pgpPrtSig for a signature packet body h[0..hlen). */
static int pgp_sig_body(const uint8_t *h, size_t hlen, struct pgp_state *st)
{
	struct rpm_pgp_sig *sig = st->sig;
	if (hlen < 1)
		return 1;
	sig->version = h[0];
	if (h[0] == 3) {
		/* version, hashlen 5, sigtype, time[4], keyid[8], pubkey, hash,
		 * signhash16[2] */
		if (hlen <= 19 || h[1] != 5)
			return 1;
		sig->sigtype = h[2];
		sig->time = grab(h + 3, 4);
		memcpy(sig->keyid, h + 7, 8);
		sig->pubkey_algo = h[15];
		sig->hash_algo = h[16];
		return pgp_mpis(h[15], h + 19, h + hlen);
	}
	if (h[0] != 4)
		return 1; /* "Unsupported version of signature" (v6 too) */
	const uint8_t *hend = h + hlen, *p;
	size_t plen;
	if (hlen <= 6)
		return 1;
	sig->sigtype = h[1];
	sig->pubkey_algo = h[2];
	sig->hash_algo = h[3];
	if (pgp_get(h + 4, 2, hend, &plen))
		return 1;
	p = h + 6;
	if (pgp_subtypes(p, plen, h[1], st, 1))
		return 1;
	p += plen;
	if (!(st->saved & HAS_CTIME))
		return 1; /* RFC 4880 5.2.3.4: the creation time MUST be hashed */
	if (pgp_get(p, 2, hend, &plen))
		return 1;
	p += 2;
	if (pgp_subtypes(p, plen, h[1], st, 0))
		return 1;
	p += plen;
	if (hend - p < 2)
		return 1;
	p += 2; /* signhash16 */
	return pgp_mpis(h[2], p, hend);
}

int rpm_pgp_sig_parse(const uint8_t *d, size_t n, struct rpm_pgp_sig *sig)
{
	memset(sig, 0, sizeof(*sig));
	/* pgpPrtParams(PGPTAG_SIGNATURE) / decodePkt */
	if (n > PGP_MAX_BYTES || n < 2 || !(d[0] & 0x80))
		return -1;
	size_t lenlen, blen = 0;
	unsigned tag;
	if (d[0] & 0x40) {
		lenlen = pgp_len(d + 1, n - 1, &blen);
		tag = d[0] & 0x3f;
	} else {
		lenlen = (size_t)1 << (d[0] & 3);
		if (pgp_get(d + 1, lenlen, d + n, &blen))
			return -1;
		tag = (d[0] >> 2) & 0xf;
	}
	if (!lenlen || lenlen + 1 + blen > n || tag != 2)
		return -1;
	struct pgp_state st = {0, sig};
	if (pgp_sig_body(d + 1 + lenlen, blen, &st))
		return -1;
	/* one packet, filling the blob */
	return lenlen + 1 + blen == n ? 0 : -1;
}
