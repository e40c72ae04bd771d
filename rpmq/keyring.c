/*
 * keyring.c: OpenPGP public keys for -K, read and used as rpm 4.18 does.
 *
 * Divisions:
 *   1. armor     rpm's decodePkts: the first "PUBLIC KEY BLOCK" from a
 *                "-----BEGIN PGP " mark on, its CRC-24 checked
 *   2. keys      rpmPubkeyNew (pgpPubkeyKeyID + pgpPrtParams(PUBLIC_KEY),
 *                which verifies every subkey binding signature) and
 *                pgpPrtParamsSubkeys (signing subkeys join the keyring)
 *   3. import    doImport: every armored block of a file, every certificate
 *                of a block (pgpPubKeyCertLen), as `rpm --import FILE` does
 *   4. verify    pgpVerifySignature: the hashed trailer, the 16-bit quick
 *                check, then the public-key operation through OpenSSL's EVP
 *                (rpm 4.18 on Debian uses libgcrypt: the same PKCS#1 v1.5,
 *                DSA and Ed25519 arithmetic, inputs prepared as its
 *                digest_libgcrypt.c prepares them)
 * Packet bodies are parsed by pgp.c; this file adds what needs libcrypto.
 * rpm's parser is the specification, including what it refuses: v3 keys,
 * ECDSA, EdDSA on curves other than Ed25519, unverifiable subkey bindings.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/dsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>

#include "hash.h"
#include "io.h"
#include "rpmq.h"

/* rpm's RPM_MAX_OPENPGP_BYTES: a larger key is refused whole. */
#define PGP_MAX_BYTES 65535
/* A key file larger than this, or with more armor marks, is refused (rpm
 * slurps any size; its decodePkts scans from each mark to the end, so the
 * work grows as marks times size: these bound it to ~256 MiB of scanning). */
#define KEY_FILE_MAX   (1u << 20)
#define KEY_BLOCKS_MAX 256

/* ---- 1. armor ------------------------------------------------------------ */

/* rpmBase64Decode: characters <= ' ' are skipped, any other must be base64
 * or '='; their number a multiple of 4; '=' is skipped while decoding. 0 or
 * -1; *out owned by the caller. */
static int b64_decode(const char *in, uint8_t **out, size_t *outlen)
{
	static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t cnt = 0, n = 0;
	for (const char *s = in; *s; s++)
		if ((unsigned char)*s > 32) {
			if (*s != '=' && !strchr(al, *s))
				return -1;
			cnt++;
		}
	if (cnt % 4)
		return -1;
	uint8_t *o = malloc(cnt / 4 * 3 + 1);
	if (!o)
		return -1;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (const char *s = in; *s; s++) {
		const char *c = (unsigned char)*s > 32 && *s != '=' ? strchr(al, *s) : NULL;
		if (!c)
			continue;
		acc = acc << 6 | (uint32_t)(c - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (uint8_t)(acc >> bits);
		}
	}
	*out = o;
	*outlen = n;
	return 0;
}

/* pgpCRC: CRC-24 of RFC 4880 6.1. */
static uint32_t crc24(const uint8_t *d, size_t n)
{
	uint32_t crc = 0xb704ce;
	while (n--) {
		crc ^= (uint32_t)*d++ << 16;
		for (int i = 0; i < 8; i++) {
			crc <<= 1;
			if (crc & 0x1000000)
				crc ^= 0x1864cfb;
		}
	}
	return crc & 0xffffff;
}

/* pgpValTok over rpm's armor tables: the index of the first entry that
 * starts [s, se), or -1. */
static int val_tok(const char *const *tbl, const char *s, const char *se)
{
	for (int i = 0; tbl[i]; i++) {
		size_t l = strlen(tbl[i]);
		if (l <= (size_t)(se - s) && strncmp(s, tbl[i], l) == 0)
			return i;
	}
	return -1;
}

enum { ARMOR_PUBKEY = 1 };
static const char *const armor_tbl[] = {
    "MESSAGE",	    "PUBLIC KEY BLOCK",	 "SIGNATURE",	     "SIGNED MESSAGE",
    "ARMORED FILE", "PRIVATE KEY BLOCK", "SECRET KEY BLOCK", NULL};
static const char *const armor_key_tbl[] = {
    "Version: ", "Comment: ", "MessageID: ", "Hash: ", "Charset: ", NULL};

#define TOKEQ(s, tok) (strncmp((s), (tok), sizeof(tok) - 1) == 0)

/* decodePkts on the NUL-terminated, writable b: 0 and the packets of the
 * first public key block, or -1 (no block, a bad header, CRC or base64). */
static int armor_decode(char *b, uint8_t **pkt, size_t *pktlen)
{
	char *t, *te, *enc = NULL, *crcenc = NULL;
	int pstate = 0;
	const char *armortype = NULL;
	for (t = b; t && *t; t = te) {
		te = strchr(t, '\n');
		te = te ? te + 1 : t + strlen(t);
		switch (pstate) {
		case 0: {
			armortype = NULL;
			if (!TOKEQ(t, "-----BEGIN PGP "))
				continue;
			t += sizeof("-----BEGIN PGP ") - 1;
			int rc = val_tok(armor_tbl, t, te);
			if (rc < 0)
				return -1;
			if (rc != ARMOR_PUBKEY)
				continue;
			armortype = armor_tbl[rc];
			t += strlen(armortype);
			if (!TOKEQ(t, "-----"))
				continue;
			t += 5;
			if (*t != '\n' && *t != '\r')
				continue;
			*t = '\0';
			pstate++;
			break;
		}
		case 1:
			enc = NULL;
			if (val_tok(armor_key_tbl, t, te) >= 0)
				continue;
			if (*t != '\n' && *t != '\r') {
				pstate = 0;
				continue;
			}
			enc = te;
			pstate++;
			break;
		case 2:
			crcenc = NULL;
			if (*t != '=')
				continue;
			*t++ = '\0';
			crcenc = t;
			pstate++;
			break;
		case 3: {
			pstate = 0;
			if (!TOKEQ(t, "-----END PGP "))
				return -1;
			*t = '\0';
			t += sizeof("-----END PGP ") - 1;
			if (t >= te || !armortype)
				continue;
			if (strncmp(t, armortype, strlen(armortype)) != 0)
				continue;
			t += strlen(armortype);
			if (t >= te)
				continue;
			if (!TOKEQ(t, "-----"))
				return -1;
			t += 5;
			if (*t && t >= te)
				continue;
			if (!(*t == '\n' || *t == '\r' || *t == '\0'))
				continue;
			uint8_t *crcd = NULL, *dec = NULL;
			size_t crclen = 0, declen = 0;
			if (b64_decode(crcenc, &crcd, &crclen) < 0 || crclen != 3) {
				free(crcd);
				return -1;
			}
			uint32_t want = (uint32_t)crcd[0] << 16 | crcd[1] << 8 | crcd[2];
			free(crcd);
			if (b64_decode(enc, &dec, &declen) < 0)
				return -1;
			if (crc24(dec, declen) != want) {
				free(dec);
				return -1;
			}
			*pkt = dec;
			*pktlen = declen;
			return 0;
		}
		}
	}
	return -1;
}

/* ---- 2. keys ------------------------------------------------------------- */

int rpm_hash_algo(uint64_t algo)
{
	switch (algo) {
	case 1:
		return HASH_MD5;
	case 2:
		return HASH_SHA1;
	case 8:
		return HASH_SHA256;
	case 9:
		return HASH_SHA384;
	case 10:
		return HASH_SHA512;
	case 11:
		return HASH_SHA224;
	default:
		return -1;
	}
}

int rpm_pgp_hash_init(struct hash_ctx *h, unsigned pgp_algo)
{
	int a = rpm_hash_algo(pgp_algo);
	if (a < 0)
		return -EINVAL;
	return hash_init(h, (enum hash_algo)a);
}

/* getKeyID: the v4 fingerprint (SHA1 over 0x99, the 16-bit length and the
 * body) of a key whose MPI count suits its algorithm; its last 8 bytes. */
static int key_id(const uint8_t *h, size_t hlen, uint8_t keyid[8])
{
	if (hlen < 1 || h[0] != 4 || hlen < 7)
		return -1;
	const uint8_t *se = h + 6, *pend = h + hlen;
	int mpis;
	switch (h[5]) {
	case RPM_PGP_EDDSA:
		if (se[0] == 0x00 || se[0] == 0xff || pend - se < 1 + se[0])
			return -1;
		se += 1 + se[0];
		mpis = 1;
		break;
	case RPM_PGP_RSA:
		mpis = 2;
		break;
	case RPM_PGP_DSA:
		mpis = 4;
		break;
	default:
		return -1;
	}
	if (rpm_pgp_count_mpis(mpis, se, pend))
		return -1;
	uint8_t in[3] = {0x99, (uint8_t)(hlen >> 8), (uint8_t)hlen}, fp[HASH_MAX];
	struct hash_ctx c;
	if (hash_init(&c, HASH_SHA1) < 0)
		return -1;
	hash_update(&c, in, 3);
	hash_update(&c, h, hlen);
	hash_final(&c, fp);
	memcpy(keyid, fp + 12, 8);
	return 0;
}

/* hashKey: a key packet as v4 signatures hash it. */
static int hash_key(struct hash_ctx *c, const struct rpm_pgp_pkt *pkt, unsigned exptag)
{
	if (pkt->tag != exptag)
		return -1;
	uint8_t head[3] = {0x99, (uint8_t)(pkt->blen >> 8), (uint8_t)pkt->blen};
	hash_update(c, head, 3);
	hash_update(c, pkt->body, pkt->blen);
	return 0;
}

/* pgpPrtPkt with rpm's verdicts per packet type. */
static int prt_pkt(const struct rpm_pgp_pkt *pkt, struct rpm_pgp *st)
{
	switch (pkt->tag) {
	case RPM_PGP_TAG_SIGNATURE:
		return rpm_pgp_prt_sig(pkt->body, pkt->blen, st);
	case RPM_PGP_TAG_PUBLIC_KEY:
		if (key_id(pkt->body, pkt->blen, st->keyid)) {
			memset(st->keyid, 0, 8);
			return 1;
		}
		st->saved |= RPM_PGP_SAVED_ID;
		return rpm_pgp_prt_key(pkt->body, pkt->blen, st);
	case 0: /* reserved */
		return 1;
	default: /* user IDs, subkeys (read later), trust, ... */
		return 0;
	}
}

/* pgpVerifySelf for the subkey binding at all[i]: main key, subkey, then
 * the signature, verified with the main key. */
static int verify_self(const struct rpm_pgp *key, const struct rpm_pgp *selfsig,
		       const struct rpm_pgp_pkt *all, int i)
{
	if (selfsig->sigtype != RPM_PGP_SIGTYPE_SUBKEY_BINDING)
		return 0; /* ignore types we can't handle */
	struct hash_ctx c;
	if (rpm_pgp_hash_init(&c, selfsig->hash_algo) < 0)
		return -1;
	if (hash_key(&c, &all[0], RPM_PGP_TAG_PUBLIC_KEY) ||
	    hash_key(&c, &all[i - 1], RPM_PGP_TAG_PUBLIC_SUBKEY)) {
		hash_abort(&c);
		return -1;
	}
	return rpm_pgp_verify(key, selfsig, &c) == RPM_SIG_OK ? 0 : -1;
}

/* pgpPrtParams(PGPTAG_PUBLIC_KEY): the first packet is a public key,
 * every packet parses, and each subkey is followed by a binding signature
 * the main key verifies. 0 with *key filled, or -1. */
static int key_params(const uint8_t *pkts, size_t pktlen, struct rpm_pgp *key)
{
	const uint8_t *p = pkts, *pend = pkts + pktlen;
	if (pktlen > PGP_MAX_BYTES)
		return -1;
	struct rpm_pgp_pkt *all = NULL;
	int i = 0, alloced = 0, expect = 0, prevtag = 0, have = 0;
	memset(key, 0, sizeof(*key));
	while (p < pend) {
		if (i >= alloced) {
			alloced = alloced ? alloced * 2 : 16;
			struct rpm_pgp_pkt *n = realloc(all, (size_t)alloced * sizeof(*all));
			if (!n)
				break;
			all = n;
		}
		struct rpm_pgp_pkt *pkt = &all[i];
		if (rpm_pgp_pkt_decode(p, (size_t)(pend - p), pkt))
			break;
		if (!have) {
			if (pkt->tag != RPM_PGP_TAG_PUBLIC_KEY)
				break;
			key->tag = RPM_PGP_TAG_PUBLIC_KEY;
			have = 1;
		}
		struct rpm_pgp selfsig, *st = key;
		if (expect) {
			if (pkt->tag != expect)
				break;
			memset(&selfsig, 0, sizeof(selfsig));
			selfsig.tag = pkt->tag;
			st = &selfsig;
		}
		if (prt_pkt(pkt, st))
			break;
		if (st == &selfsig) {
			/* subkeys must be followed by a binding signature */
			int xx = 1;
			if (!(prevtag == RPM_PGP_TAG_PUBLIC_SUBKEY &&
			      selfsig.sigtype != RPM_PGP_SIGTYPE_SUBKEY_BINDING))
				xx = verify_self(key, &selfsig, all, i);
			if (xx)
				break;
			expect = 0;
		}
		if (pkt->tag == RPM_PGP_TAG_PUBLIC_SUBKEY)
			expect = RPM_PGP_TAG_SIGNATURE;
		prevtag = pkt->tag;
		i++;
		p += pkt->len;
	}
	free(all);
	return have && p == pend && expect == 0 ? 0 : -1;
}

/* ---- 3. import ----------------------------------------------------------- */

/* rpmKeyringAddKey: a key ID already present keeps its first key. */
static int ring_add(struct rpm_keyring *kr, const struct rpm_pgp *k)
{
	for (size_t i = 0; i < kr->n; i++)
		if (memcmp(kr->keys[i].keyid, k->keyid, 8) == 0)
			return 0;
	if (kr->n == kr->cap) {
		size_t cap = kr->cap ? kr->cap * 2 : 8;
		struct rpm_pgp *n = realloc(kr->keys, cap * sizeof(*n));
		if (!n)
			return -ENOMEM;
		kr->keys = n;
		kr->cap = cap;
	}
	kr->keys[kr->n++] = *k;
	return 0;
}

/* Keep a certificate's bytes for as long as the keyring (its keys point
 * into them). */
static int ring_keep(struct rpm_keyring *kr, uint8_t *buf)
{
	uint8_t **n = realloc(kr->bufs, (kr->nbufs + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	kr->bufs = n;
	kr->bufs[kr->nbufs++] = buf;
	return 0;
}

/* rpmtsImportPubkey for one certificate: rpmPubkeyNew, then the subkeys
 * (pgpPrtParamsSubkeys: those with a binding signature, not revoked, able
 * to sign). 0, -EBADMSG when rpm refuses the key, -ENOMEM. */
static int import_cert(struct rpm_keyring *kr, const uint8_t *cert, size_t len)
{
	struct rpm_pgp_pkt pkt;
	struct rpm_pgp key;
	uint8_t id[8];
	if (len == 0 || rpm_pgp_pkt_decode(cert, len, &pkt) || key_id(pkt.body, pkt.blen, id) ||
	    key_params(cert, len, &key))
		return -EBADMSG;
	/* the subkeys, read first: rpm adds nothing when they do not parse */
	struct rpm_pgp sub[64];
	int nsub = 0;
	const uint8_t *p = cert, *pend = cert + len;
	while (p < pend) {
		if (rpm_pgp_pkt_decode(p, (size_t)(pend - p), &pkt))
			break;
		p += pkt.len;
		if (pkt.tag != RPM_PGP_TAG_PUBLIC_SUBKEY)
			continue;
		struct rpm_pgp sk;
		memset(&sk, 0, sizeof(sk));
		sk.tag = RPM_PGP_TAG_PUBLIC_SUBKEY;
		if (key_id(pkt.body, pkt.blen, sk.keyid) ||
		    rpm_pgp_prt_key(pkt.body, pkt.blen, &sk))
			continue;
		/* parseSubkeySig: the next packet, a binding or revocation
		 * (parsed without its MPIs, as rpm's tag 0 does) */
		struct rpm_pgp_pkt spkt;
		struct rpm_pgp ss;
		memset(&ss, 0, sizeof(ss));
		if (rpm_pgp_pkt_decode(p, (size_t)(pend - p), &spkt) ||
		    spkt.tag != RPM_PGP_TAG_SIGNATURE ||
		    rpm_pgp_prt_sig(spkt.body, spkt.blen, &ss) ||
		    (ss.sigtype != RPM_PGP_SIGTYPE_SUBKEY_BINDING &&
		     ss.sigtype != RPM_PGP_SIGTYPE_SUBKEY_REVOKE))
			break;
		int ignore = ss.sigtype != RPM_PGP_SIGTYPE_SUBKEY_BINDING ||
			     !((ss.saved & RPM_PGP_HAS_KEY_FLAGS) && (ss.key_flags & 0x02));
		if (!ignore && nsub < (int)(sizeof(sub) / sizeof(sub[0]))) {
			sk.key_flags = ss.key_flags;
			sk.saved |= RPM_PGP_HAS_KEY_FLAGS;
			sub[nsub++] = sk;
		}
		p += spkt.len;
	}
	if (p != pend)
		return -EBADMSG;
	memcpy(key.keyid, id, 8);
	int rc = ring_add(kr, &key);
	for (int i = 0; i < nsub && rc == 0; i++)
		rc = ring_add(kr, &sub[i]);
	return rc;
}

int rpm_keyring_add_pkts(struct rpm_keyring *kr, const uint8_t *pkts, size_t len, int keyno,
			 const char *name, struct ok_err *e)
{
	uint8_t *own = malloc(len ? len : 1);
	if (!own || ring_keep(kr, own) < 0) {
		free(own);
		return ok_err_at(e, -ENOMEM, name, OK_ERR_NOPOS, "out of memory");
	}
	memcpy(own, pkts, len);
	const uint8_t *pk = own;
	size_t left = len;
	while (left > 0) {
		/* pgpPubKeyCertLen: up to the next public key packet */
		const uint8_t *q = pk, *qend = pk + left;
		size_t certlen = left;
		struct rpm_pgp_pkt pp;
		while (q < qend) {
			if (rpm_pgp_pkt_decode(q, (size_t)(qend - q), &pp)) {
				certlen = 0;
				break;
			}
			if (pp.tag == RPM_PGP_TAG_PUBLIC_KEY && q != pk) {
				certlen = (size_t)(q - pk);
				break;
			}
			q += pp.len;
		}
		int irc = certlen ? import_cert(kr, pk, certlen) : -EBADMSG;
		if (irc == -ENOMEM)
			return ok_err_at(e, irc, name, OK_ERR_NOPOS, "out of memory");
		if (irc < 0)
			return ok_err_at(e, irc, name, OK_ERR_NOPOS, "key %d import failed", keyno);
		pk += certlen;
		left -= certlen;
	}
	return 0;
}

int rpm_keyring_import(struct rpm_keyring *kr, const char *buf, size_t blen, const char *name,
		       struct ok_err *e)
{
	static const char mark[] = "-----BEGIN PGP ";
	const size_t marklen = sizeof(mark) - 1;
	if (blen < 64)
		return ok_err_at(e, -EBADMSG, name, OK_ERR_NOPOS,
				 "import read failed: not a key file (%zu bytes)", blen);
	char *copy = malloc(blen + 1);
	if (!copy)
		return ok_err_at(e, -ENOMEM, name, OK_ERR_NOPOS, "out of memory");
	memcpy(copy, buf, blen);
	copy[blen] = 0;
	const char *start = strstr(copy, mark);
	int keyno = 1, rc = 0;
	do {
		uint8_t *pkt = NULL;
		size_t pktlen = 0;
		if (keyno > KEY_BLOCKS_MAX) {
			rc = ok_err_at(e, -EFBIG, name, OK_ERR_NOPOS, "more than %d armored blocks",
				       KEY_BLOCKS_MAX);
			break;
		}
		char *b = start ? strdup(start) : NULL;
		if (start && !b) {
			rc = ok_err_at(e, -ENOMEM, name, OK_ERR_NOPOS, "out of memory");
			break;
		}
		int arc = b ? armor_decode(b, &pkt, &pktlen) : -1;
		free(b);
		if (arc < 0) {
			rc = ok_err_at(e, -EBADMSG, name, OK_ERR_NOPOS,
				       "key %d not an armored public key", keyno);
			break;
		}
		rc = rpm_keyring_add_pkts(kr, pkt, pktlen, keyno, name, e);
		free(pkt);
		if (rc)
			break;
		start =
		    start && start + marklen < copy + blen ? strstr(start + marklen, mark) : NULL;
		keyno++;
	} while (start);
	free(copy);
	return rc;
}

/* Read a key file whole (bounded). */
static int read_file(const char *path, char **buf, size_t *len, struct ok_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot open the key file");
	int64_t sz = io_size(fd);
	if (sz < 0 || (uint64_t)sz > KEY_FILE_MAX) {
		close(fd);
		return ok_err_at(e, -EFBIG, path, OK_ERR_NOPOS, "not a key file (over %u bytes)",
				 KEY_FILE_MAX);
	}
	char *b = malloc((size_t)sz + 1);
	ssize_t r = b ? io_read_full(fd, b, (size_t)sz) : -ENOMEM;
	close(fd);
	if (r < 0) {
		free(b);
		return ok_err_at(e, (int)r, path, OK_ERR_NOPOS, "reading the key file");
	}
	*buf = b;
	*len = (size_t)r;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int rpm_keyring_load(struct rpm_keyring *kr, const char *path, struct ok_err *e)
{
	struct stat st;
	if (stat(path, &st) < 0)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot read the keyring");
	if (!S_ISDIR(st.st_mode)) {
		char *buf;
		size_t len;
		int rc = read_file(path, &buf, &len, e);
		if (rc == 0) {
			rc = rpm_keyring_import(kr, buf, len, path, e);
			free(buf);
		}
		return rc;
	}
	/* a directory: its regular files not starting with '.', by name */
	DIR *d = opendir(path);
	if (!d)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot read the keyring");
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL && rc == 0) {
		if (de->d_name[0] == '.')
			continue;
		char *f = malloc(strlen(path) + strlen(de->d_name) + 2);
		char **nn = f ? realloc(names, (n + 1) * sizeof(*names)) : NULL;
		if (!nn) {
			free(f);
			rc = ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
			break;
		}
		names = nn;
		sprintf(f, "%s/%s", path, de->d_name);
		if (stat(f, &st) == 0 && S_ISREG(st.st_mode))
			names[n++] = f;
		else
			free(f);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0) {
			char *buf;
			size_t len;
			rc = read_file(names[i], &buf, &len, e);
			if (rc == 0) {
				rc = rpm_keyring_import(kr, buf, len, names[i], e);
				free(buf);
			}
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

void rpm_keyring_free(struct rpm_keyring *kr)
{
	for (size_t i = 0; i < kr->nbufs; i++)
		free(kr->bufs[i]);
	free(kr->bufs);
	free(kr->keys);
	memset(kr, 0, sizeof(*kr));
}

const struct rpm_pgp *rpm_keyring_find(const struct rpm_keyring *kr, const struct rpm_pgp *sig)
{
	for (size_t i = 0; kr && i < kr->n; i++)
		if (memcmp(kr->keys[i].keyid, sig->keyid, 8) == 0)
			return kr->keys[i].pubkey_algo == sig->pubkey_algo ? &kr->keys[i] : NULL;
	return NULL;
}

/* ---- 4. verify ----------------------------------------------------------- */

/* An MPI (at its bit count) as a BIGNUM. */
static BIGNUM *mpi_bn(const uint8_t *m)
{
	unsigned bits = (unsigned)m[0] << 8 | m[1];
	return BN_bin2bn(m + 2, (int)((bits + 7) >> 3), NULL);
}

static EVP_PKEY *pkey_fromdata(const char *type, const char *const *names,
			       const uint8_t *const *mpis, int n)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	BIGNUM *bn[4] = {0};
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *kctx = NULL;
	EVP_PKEY *pkey = NULL;
	int ok = bld != NULL;
	for (int i = 0; i < n && ok; i++) {
		bn[i] = mpi_bn(mpis[i]);
		ok = bn[i] && OSSL_PARAM_BLD_push_BN(bld, names[i], bn[i]);
	}
	if (ok && (params = OSSL_PARAM_BLD_to_param(bld)) &&
	    (kctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) &&
	    EVP_PKEY_fromdata_init(kctx) > 0)
		EVP_PKEY_fromdata(kctx, &pkey, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(kctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	for (int i = 0; i < n; i++)
		BN_free(bn[i]);
	return pkey;
}

/* EVP_PKEY_verify of hash against sig[0..siglen) with pkey; md for RSA's
 * DigestInfo, NULL otherwise. 0 when it verifies. */
static int pkey_verify(EVP_PKEY *pkey, const EVP_MD *md, const uint8_t *sig, size_t siglen,
		       const uint8_t *hash, size_t hashlen)
{
	int ok = 0;
	EVP_PKEY_CTX *c = pkey ? EVP_PKEY_CTX_new(pkey, NULL) : NULL;
	if (c && EVP_PKEY_verify_init(c) > 0 &&
	    (!md || (EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0 &&
		     EVP_PKEY_CTX_set_signature_md(c, md) > 0)))
		ok = EVP_PKEY_verify(c, sig, siglen, hash, hashlen) == 1;
	EVP_PKEY_CTX_free(c);
	return ok ? 0 : 1;
}

/* pgpVerifySigRSA: PKCS#1 v1.5 with the signature's hash; s as wide as n. */
static int verify_rsa(const struct rpm_pgp *key, const struct rpm_pgp *sig, const uint8_t *hash,
		      size_t hashlen)
{
	static const char *const names[] = {OSSL_PKEY_PARAM_RSA_N, OSSL_PKEY_PARAM_RSA_E};
	static const char *const mds[] = {[1] = "MD5",	  [2] = "SHA1",	   [8] = "SHA256",
					  [9] = "SHA384", [10] = "SHA512", [11] = "SHA224"};
	if (sig->hash_algo >= sizeof(mds) / sizeof(mds[0]) || !mds[sig->hash_algo])
		return 1;
	EVP_PKEY *pkey = pkey_fromdata("RSA", names, key->mpi, 2);
	BIGNUM *s = mpi_bn(sig->mpi[0]);
	EVP_MD *md = EVP_MD_fetch(NULL, mds[sig->hash_algo], NULL);
	int rc = 1, size = pkey ? EVP_PKEY_get_size(pkey) : 0;
	uint8_t *buf = size > 0 ? malloc((size_t)size) : NULL;
	if (buf && s && md && BN_num_bytes(s) <= size && BN_bn2binpad(s, buf, size) == size)
		rc = pkey_verify(pkey, md, buf, (size_t)size, hash, hashlen);
	free(buf);
	EVP_MD_free(md);
	BN_free(s);
	EVP_PKEY_free(pkey);
	return rc;
}

/* pgpVerifySigDSA: the hash cut to q's length (at least 20 bytes). */
static int verify_dsa(const struct rpm_pgp *key, const struct rpm_pgp *sig, const uint8_t *hash,
		      size_t hashlen)
{
	static const char *const names[] = {OSSL_PKEY_PARAM_FFC_P, OSSL_PKEY_PARAM_FFC_Q,
					    OSSL_PKEY_PARAM_FFC_G, OSSL_PKEY_PARAM_PUB_KEY};
	EVP_PKEY *pkey = pkey_fromdata("DSA", names, key->mpi, 4);
	BIGNUM *q = mpi_bn(key->mpi[1]);
	DSA_SIG *ds = DSA_SIG_new();
	BIGNUM *r = mpi_bn(sig->mpi[0]), *s = mpi_bn(sig->mpi[1]);
	unsigned char *der = NULL;
	int rc = 1, derlen = 0;
	if (ds && r && s && DSA_SIG_set0(ds, r, s)) {
		r = s = NULL;
		derlen = i2d_DSA_SIG(ds, &der);
	}
	if (pkey && q && derlen > 0) {
		size_t qlen = ((size_t)BN_num_bits(q) + 7) / 8;
		if (qlen < 20)
			qlen = 20;
		rc = pkey_verify(pkey, NULL, der, (size_t)derlen, hash,
				 hashlen > qlen ? qlen : hashlen);
	}
	OPENSSL_free(der);
	DSA_SIG_free(ds);
	BN_free(r);
	BN_free(s);
	BN_free(q);
	EVP_PKEY_free(pkey);
	return rc;
}

/* ed25519_zero_extend: an MPI as 32 big-endian bytes; 1 if it is zero or
 * wider. */
static int zero_extend(const uint8_t *m, uint8_t out[32])
{
	BIGNUM *b = mpi_bn(m);
	int n = b ? BN_num_bytes(b) : 0, rc = 1;
	if (n > 0 && n <= 32 && BN_bn2binpad(b, out, 32) == 32)
		rc = 0;
	BN_free(b);
	return rc;
}

/* pgpVerifySigEDDSA: Ed25519 over the hash as the message; the key's
 * point as OpenPGP stores it (0x40 and 32 bytes). */
static int verify_eddsa(const struct rpm_pgp *key, const struct rpm_pgp *sig, const uint8_t *hash,
			size_t hashlen)
{
	uint8_t rs[64], pub[32];
	if (key->curve != RPM_PGP_ED25519 || zero_extend(sig->mpi[0], rs) ||
	    zero_extend(sig->mpi[1], rs + 32))
		return 1;
	const uint8_t *q = key->mpi[0];
	size_t qlen = ((size_t)(q[0] << 8 | q[1]) + 7) / 8;
	if (qlen == 33 && q[2] == 0x40)
		memcpy(pub, q + 3, 32);
	else if (qlen == 32)
		memcpy(pub, q + 2, 32);
	else
		return 1;
	EVP_PKEY *pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, 32);
	EVP_MD_CTX *c = pkey ? EVP_MD_CTX_new() : NULL;
	int rc = 1;
	if (c && EVP_DigestVerifyInit(c, NULL, NULL, NULL, pkey) > 0)
		rc = EVP_DigestVerify(c, rs, 64, hash, hashlen) == 1 ? 0 : 1;
	EVP_MD_CTX_free(c);
	EVP_PKEY_free(pkey);
	return rc;
}

enum rpm_sig_rc rpm_pgp_verify(const struct rpm_pgp *key, const struct rpm_pgp *sig,
			       struct hash_ctx *ctx)
{
	uint8_t hash[HASH_MAX];
	if (sig->hash)
		hash_update(ctx, sig->hash, sig->hashlen);
	if (sig->version == 4) {
		/* the v4 trailer (RFC 4880 5.2.4) */
		uint8_t tr[6] = {4,
				 0xff,
				 (uint8_t)(sig->hashlen >> 24),
				 (uint8_t)(sig->hashlen >> 16),
				 (uint8_t)(sig->hashlen >> 8),
				 (uint8_t)sig->hashlen};
		hash_update(ctx, tr, sizeof(tr));
	}
	size_t hashlen = hash_final(ctx, hash);
	/* the leading 16 bits first: a mismatch is BAD even without a key */
	if (memcmp(hash, sig->signhash16, 2) != 0)
		return RPM_SIG_BAD;
	if (!key || !key->has_alg)
		return RPM_SIG_NOKEY;
	/* rpm picks the check by the signature's algorithm and reads the
	 * key's data as that algorithm's: a key of another kind never
	 * verifies */
	if (!sig->has_alg || key->pubkey_algo != sig->pubkey_algo)
		return RPM_SIG_BAD;
	int rc = 1;
	switch (sig->pubkey_algo) {
	case RPM_PGP_RSA:
		rc = verify_rsa(key, sig, hash, hashlen);
		break;
	case RPM_PGP_DSA:
		rc = verify_dsa(key, sig, hash, hashlen);
		break;
	case RPM_PGP_EDDSA:
		rc = verify_eddsa(key, sig, hash, hashlen);
		break;
	}
	return rc == 0 ? RPM_SIG_OK : RPM_SIG_BAD;
}
