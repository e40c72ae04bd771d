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
 *
 * The same primitives read public keys for -K (keyring.c, which adds what
 * needs libcrypto: fingerprints and the signature check): packets
 * (decodePkt), signature and key bodies (pgpPrtSig, pgpPrtKey) with their
 * MPIs located but not interpreted, and the names rpm prints for algorithms.
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
	SAVED_TIME = RPM_PGP_SAVED_TIME,
	SAVED_ID = RPM_PGP_SAVED_ID,
	HAS_CTIME = RPM_PGP_HAS_CTIME,
	HAS_KEY_FLAGS = RPM_PGP_HAS_KEY_FLAGS,
};

/* pgpPrtSubType: 0, or 1 when rpm refuses the subpacket area. */
static int pgp_subtypes(const uint8_t *p, size_t hlen, unsigned sigtype, struct rpm_pgp *st,
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
				st->time = grab(p + 1, 4);
			st->saved |= SAVED_TIME | HAS_CTIME;
			break;
		case 16: /* issuer key ID, for these signature types only */
			impl = p[0];
			if (!(st->saved & SAVED_ID) && (sigtype == 0x13 || sigtype == 0x00 ||
							sigtype == 0x01 || sigtype == 0x02)) {
				if (plen - 1 != 8)
					break;
				st->saved |= SAVED_ID;
				memcpy(st->keyid, p + 1, 8);
			}
			break;
		case 27: /* key flags: hashed, once */
			if (!hashed)
				break;
			if (st->saved & HAS_KEY_FLAGS)
				return 1;
			impl = p[0];
			st->saved |= HAS_KEY_FLAGS;
			st->key_flags = plen >= 2 ? p[1] : 0;
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

/* The MPI counts of rpm 4.18's libgcrypt backend (pgpSignatureNew,
 * pgpPubkeyNew): -1 for an algorithm it has no code for (ECDSA, and EdDSA
 * keys on a curve other than Ed25519), which no MPI list can match. */
static int sig_mpis(unsigned algo)
{
	return algo == RPM_PGP_RSA ? 1 : algo == RPM_PGP_DSA || algo == RPM_PGP_EDDSA ? 2 : -1;
}

static int key_mpis(unsigned algo, int curve)
{
	switch (algo) {
	case RPM_PGP_RSA:
		return 2;
	case RPM_PGP_DSA:
		return 4;
	case RPM_PGP_EDDSA:
		return curve == RPM_PGP_ED25519 ? 1 : -1;
	default:
		return -1;
	}
}

/* processMpis: exactly mpis MPIs filling [p, pend). With st, each is
 * recorded and must be one gcry_mpi_scan accepts (at most 16384 bits);
 * without, only counted (getPubkeyFingerprint). 0 or 1. */
static int pgp_mpis(int mpis, const uint8_t *p, const uint8_t *pend, struct rpm_pgp *st)
{
	int i = 0;
	for (; i < mpis && pend - p >= 2; i++) {
		unsigned bits = (unsigned)p[0] << 8 | p[1];
		size_t mpil = 2 + ((bits + 7) >> 3);
		if ((size_t)(pend - p) < mpil)
			return 1;
		if (st) {
			if (bits > 16384 || i >= 4)
				return 1;
			st->mpi[i] = p;
		}
		p += mpil;
	}
	return p == pend && i == mpis ? 0 : 1;
}

int rpm_pgp_count_mpis(int mpis, const uint8_t *p, const uint8_t *pend)
{
	return pgp_mpis(mpis, p, pend, NULL);
}

/* pgpPrtSigParams: the signature MPIs; they are kept only by the params of
 * a signature packet (a key's certifications are parsed, then dropped). */
static int pgp_sig_params(unsigned algo, const uint8_t *p, const uint8_t *pend, struct rpm_pgp *st)
{
	if (st->tag == 0)
		return 0; /* parseSubkeySig's tag 0: the MPIs are not read */
	struct rpm_pgp tmp;
	int rc = pgp_mpis(sig_mpis(algo), p, pend, &tmp);
	if (rc == 0 && !st->has_alg && st->tag == RPM_PGP_TAG_SIGNATURE) {
		memcpy(st->mpi, tmp.mpi, sizeof(st->mpi));
		st->nmpi = (unsigned)sig_mpis(algo);
		st->has_alg = 1;
	}
	return rc;
}

int rpm_pgp_prt_sig(const uint8_t *h, size_t hlen, struct rpm_pgp *st)
{
	st->saved &= SAVED_TIME | SAVED_ID;
	st->key_flags = 0;
	if (hlen < 1)
		return 1;
	if (h[0] == 3) {
		/* version, hashlen 5, sigtype, time[4], keyid[8], pubkey, hash,
		 * signhash16[2] */
		if (hlen <= 19 || h[1] != 5)
			return 1;
		if (st->pubkey_algo == 0) {
			st->version = 3;
			st->hash = h + 2; /* sigtype and time */
			st->hashlen = 5;
			st->sigtype = h[2];
			if (!(st->saved & SAVED_TIME))
				st->time = grab(h + 3, 4);
			if (!(st->saved & SAVED_ID))
				memcpy(st->keyid, h + 7, 8);
			st->saved = SAVED_TIME | HAS_CTIME | SAVED_ID;
			st->pubkey_algo = h[15];
			st->hash_algo = h[16];
			memcpy(st->signhash16, h + 17, 2);
		}
		return pgp_sig_params(h[15], h + 19, h + hlen, st);
	}
	if (h[0] != 4)
		return 1; /* "Unsupported version of signature" (v6 too) */
	const uint8_t *hend = h + hlen, *p;
	size_t plen;
	if (hlen <= 6)
		return 1;
	if (pgp_get(h + 4, 2, hend, &plen))
		return 1;
	p = h + 6;
	if (st->pubkey_algo == 0) {
		st->hash = h; /* version .. the hashed subpackets */
		st->hashlen = 6 + plen;
	}
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
	if (st->pubkey_algo == 0) {
		st->version = 4;
		st->sigtype = h[1];
		st->pubkey_algo = h[2];
		st->hash_algo = h[3];
		memcpy(st->signhash16, p, 2);
	}
	p += 2;
	return pgp_sig_params(h[2], p, hend, st);
}

/* The curves rpm 4.18 knows by OID (pgpCurveByOid); only Ed25519 matters. */
static int pgp_curve(const uint8_t *p, size_t l)
{
	static const uint8_t ed25519[] = {0x2b, 0x06, 0x01, 0x04, 0x01, 0xda, 0x47, 0x0f, 0x01};
	if (l == sizeof(ed25519) && memcmp(p, ed25519, l) == 0)
		return RPM_PGP_ED25519;
	return 0;
}

int rpm_pgp_prt_key(const uint8_t *h, size_t hlen, struct rpm_pgp *st)
{
	/* only v4 keys: version, time[4], algorithm, then the MPIs */
	if (hlen < 1 || h[0] != 4 || hlen <= 6)
		return 1;
	if (st->hash == NULL) {
		st->version = 4;
		if (!(st->saved & SAVED_TIME))
			st->time = grab(h + 1, 4);
		st->pubkey_algo = h[5];
		st->saved |= SAVED_TIME | HAS_CTIME;
	}
	const uint8_t *p = h + 6, *pend = h + hlen;
	int curve = 0;
	if (h[5] == RPM_PGP_EDDSA) {
		size_t len = p[0];
		if (len == 0 || len == 0xff || len >= hlen)
			return 1;
		/* rpm checks len against the whole body, then reads the OID
		 * and fails on the MPIs when it ran past the end: the same
		 * verdict, without the read */
		if ((size_t)(pend - p) < 1 + len)
			return 1;
		curve = pgp_curve(p + 1, len);
		p += len + 1;
	}
	struct rpm_pgp tmp;
	int mpis = key_mpis(h[5], curve);
	int rc = pgp_mpis(mpis, p, pend, &tmp);
	if (rc == 0 && !st->has_alg &&
	    (st->tag == RPM_PGP_TAG_PUBLIC_KEY || st->tag == RPM_PGP_TAG_PUBLIC_SUBKEY)) {
		memcpy(st->mpi, tmp.mpi, sizeof(st->mpi));
		st->nmpi = (unsigned)mpis;
		st->curve = curve;
		st->has_alg = 1;
	}
	return rc;
}

int rpm_pgp_pkt_decode(const uint8_t *d, size_t n, struct rpm_pgp_pkt *pkt)
{
	if (n < 2 || !(d[0] & 0x80))
		return -1;
	size_t lenlen, blen = 0;
	if (d[0] & 0x40) {
		lenlen = pgp_len(d + 1, n - 1, &blen);
		pkt->tag = d[0] & 0x3f;
	} else {
		lenlen = (size_t)1 << (d[0] & 3);
		if (pgp_get(d + 1, lenlen, d + n, &blen))
			return -1;
		pkt->tag = (d[0] >> 2) & 0xf;
	}
	if (!lenlen || lenlen + 1 + blen > n)
		return -1;
	pkt->head = d;
	pkt->body = d + 1 + lenlen;
	pkt->blen = blen;
	pkt->len = 1 + lenlen + blen;
	return 0;
}

int rpm_pgp_sig_parse(const uint8_t *d, size_t n, struct rpm_pgp *sig)
{
	memset(sig, 0, sizeof(*sig));
	sig->tag = RPM_PGP_TAG_SIGNATURE;
	/* pgpPrtParams(PGPTAG_SIGNATURE): one signature packet, filling the
	 * blob */
	struct rpm_pgp_pkt pkt;
	if (n > PGP_MAX_BYTES || rpm_pgp_pkt_decode(d, n, &pkt) < 0 ||
	    pkt.tag != RPM_PGP_TAG_SIGNATURE)
		return -1;
	if (rpm_pgp_prt_sig(pkt.body, pkt.blen, sig))
		return -1;
	return pkt.len == n ? 0 : -1;
}

const char *rpm_pgp_pubkey_name(unsigned a)
{
	switch (a) {
	case 1:
		return "RSA";
	case 2:
		return "RSA(Encrypt-Only)";
	case 3:
		return "RSA(Sign-Only)";
	case 16:
		return "Elgamal(Encrypt-Only)";
	case 17:
		return "DSA";
	case 18:
		return "Elliptic Curve";
	case 19:
		return "ECDSA";
	case 20:
		return "Elgamal";
	case 21:
		return "Diffie-Hellman";
	case 22:
		return "EdDSA";
	default:
		return "Unknown public key algorithm";
	}
}

const char *rpm_pgp_hash_name(unsigned a)
{
	switch (a) {
	case 1:
		return "MD5";
	case 2:
		return "SHA1";
	case 3:
		return "RIPEMD160";
	case 5:
		return "MD2";
	case 6:
		return "TIGER192";
	case 7:
		return "HAVAL-5-160";
	case 8:
		return "SHA256";
	case 9:
		return "SHA384";
	case 10:
		return "SHA512";
	case 11:
		return "SHA224";
	default:
		return "Unknown hash algorithm";
	}
}
