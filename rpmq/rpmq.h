/*
 * rpmq.h: read .rpm package files without rpm, an rpm database or macros.
 *
 * This header is rpmq's manual. The library has four layers, each calling
 * only the ones above it:
 *
 *   1. package  (header.c)  lead, signature header and main header: read,
 *                           validated with rpm 4.18's rules, looked up by tag
 *   2. tag data (tagdata.c) one tag's values as rpm's headerGet() gives them,
 *                           extension tags (FILENAMES, TRIGGERCONDS, ...)
 *                           computed, signature tags merged as rpm does
 *   3. output   (qf.c)      rpm's query-format language; (query.c) the query
 *                           modes (--scripts, -i, -R ... are query formats, as
 *                           in rpm's rpmpopt; -l, -lv, --dump are file lists;
 *                           --json); (digest.c) -K
 *   4. payload  (payload.c) the cpio payload, streamed through libarchive:
 *                           --extract and --cpio
 *
 * Invariants: a struct rpm_pkg holds the signature and main header whole
 * (each bounded by rpm's limits: 64 MiB and 256 MiB) and nothing of the
 * payload; every entry of a parsed header has passed the checks in
 * rpm_hdr_parse, so later code may index its data without re-checking
 * bounds. Functions return >= 0 or a negative errno and fill struct ok_err.
 */
#ifndef OPSKIT_RPMQ_H
#define OPSKIT_RPMQ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "err.h"
#include "hex.h"

/* ---- tag types and the tag table -------------------------------------- */

enum rpm_type {
	RPM_NULL = 0,
	RPM_CHAR = 1,
	RPM_INT8 = 2,
	RPM_INT16 = 3,
	RPM_INT32 = 4,
	RPM_INT64 = 5,
	RPM_STRING = 6,
	RPM_BIN = 7,
	RPM_STRING_ARRAY = 8,
	RPM_I18NSTRING = 9,
};

enum rpm_tag_flags {
	TAGF_ARRAY = 1, /* the tag holds an array */
	TAGF_EXT = 2,	/* computed, never stored */
};

struct rpm_tag_info {
	const char *name;   /* without "RPMTAG_" */
	uint32_t tag;	    /* number */
	enum rpm_type type; /* declared type */
	unsigned flags;	    /* enum rpm_tag_flags */
};

extern const struct rpm_tag_info rpm_tag_table[];
extern const unsigned rpm_tag_table_n;
/* rpm 4.18.0's own table, sorted by number (tagtbl418.c): the types its
 * header check enforces. */
extern const struct rpm_tag_info rpm418_tag_table[];
extern const unsigned rpm418_tag_table_n;

/* The table row for a tag name (case-insensitive, "RPMTAG_" optional; the
 * current names, then rpm 4.18's) or a number, or NULL. */
const struct rpm_tag_info *rpm_tag_by_name(const char *name);
const struct rpm_tag_info *rpm_tag_by_num(uint32_t tag);
/* rpm 4.18's rpmTagGetName: of the names its table has for the number, the
 * longest ("SIGMD5", not "PKGID"), uncapitalised; NULL for a tag 4.18 does
 * not know. */
const char *rpm_tag_name418(uint32_t tag);

/* Tag numbers rpmq itself uses. */
enum {
	TAG_HEADERIMAGE = 61,
	TAG_HEADERSIGNATURES = 62,
	TAG_HEADERIMMUTABLE = 63,
	TAG_I18NTABLE = 100,
	SIGTAG_SIZE = 1000,
	SIGTAG_PGP = 1002,
	SIGTAG_MD5 = 1004,
	SIGTAG_GPG = 1005,
	SIGTAG_PAYLOADSIZE = 1007,
	SIGTAG_DSA = 267,
	SIGTAG_RSA = 268,
	SIGTAG_SHA1 = 269,
	SIGTAG_LONGSIZE = 270,
	SIGTAG_SHA256 = 273,
	TAG_NAME = 1000,
	TAG_VERSION = 1001,
	TAG_RELEASE = 1002,
	TAG_EPOCH = 1003,
	TAG_SUMMARY = 1004,
	TAG_DESCRIPTION = 1005,
	TAG_BUILDTIME = 1006,
	TAG_SIZE = 1009,
	TAG_GROUP = 1016,
	TAG_ARCH = 1022,
	TAG_OLDFILENAMES = 1027,
	TAG_FILESIZES = 1028,
	TAG_FILEMODES = 1030,
	TAG_FILERDEVS = 1033,
	TAG_FILEMTIMES = 1034,
	TAG_FILEDIGESTS = 1035,
	TAG_FILELINKTOS = 1036,
	TAG_FILEFLAGS = 1037,
	TAG_FILEUSERNAME = 1039,
	TAG_FILEGROUPNAME = 1040,
	TAG_SOURCERPM = 1044,
	TAG_ARCHIVESIZE = 1046,
	TAG_PROVIDENAME = 1047,
	TAG_FILEDEVICES = 1095,
	TAG_FILEINODES = 1096,
	TAG_SOURCEPACKAGE = 1106,
	TAG_PROVIDEFLAGS = 1112,
	TAG_PROVIDEVERSION = 1113,
	TAG_DIRINDEXES = 1116,
	TAG_BASENAMES = 1117,
	TAG_DIRNAMES = 1118,
	TAG_PAYLOADFORMAT = 1124,
	TAG_PAYLOADCOMPRESSOR = 1125,
	TAG_PAYLOADFLAGS = 1126,
	TAG_FILENAMES = 5000,
	TAG_LONGFILESIZES = 5008,
	TAG_LONGSIZE = 5009,
	TAG_FILEDIGESTALGO = 5011,
	TAG_PAYLOADDIGEST = 5092,
	TAG_PAYLOADDIGESTALGO = 5093,
	TAG_PAYLOADDIGESTALT = 5097,
	TAG_RPMFORMAT = 5114,
};

/* ---- layer 1: package and headers ------------------------------------- */

struct rpm_entry {
	uint32_t tag;	   /* tag number */
	uint32_t type;	   /* enum rpm_type */
	uint32_t off;	   /* data offset in the data store */
	uint32_t count;	   /* element count (bytes for BIN) */
	uint32_t len;	   /* data length in bytes, validated */
	uint32_t idx;	   /* position in the on-disk index */
	const char **strs; /* string elements, built on first use (owned) */
};

struct rpm_virt {
	uint32_t tag;		    /* tag number */
	const struct rpm_entry *en; /* the entry, or NULL: added by rpm on load */
};

struct rpm_hdr {
	uint8_t *raw;		/* magic(8) il(4) dl(4) index data: the blob (owned */
				/* unless borrowed) */
	int borrowed;		/* raw lies in the reader's buffer: not freed */
	size_t raw_len;		/* 16 + 16*il + dl */
	const uint8_t *data;	/* data store inside raw */
	uint8_t *xdata;		/* data store rebuilt by the legacy retrofits, */
				/* or NULL: then data lies inside raw (owned) */
	uint32_t il, dl;	/* index entries, data bytes */
	uint32_t region_tag;	/* 62/63/61, or 0 for a legacy header */
	struct rpm_entry *ents; /* il entries sorted by tag (owned) */
	long long file_off;	/* where the header starts in the file */
	struct rpm_virt *virt;	/* il + nvirt tags as rpm's index holds them, */
	unsigned nvirt;		/* or NULL (owned) */
};

struct rpm_lead {
	uint8_t major, minor; /* format version: 3 for rpm 4.x, 4 for v6 */
	int16_t type;	      /* 0 binary, 1 source */
	int16_t archnum, osnum, sigtype;
	char name[67]; /* NUL-terminated "N-V-R" (historical) */
};

/* Tags rpm 4.18 adds on load (applyRetrofits) that the file lacks. */
enum rpm_retro {
	RETRO_NONE = 0,
	RETRO_SOURCERPM,     /* SOURCERPM "(none)": a binary package */
	RETRO_SOURCEPACKAGE, /* SOURCEPACKAGE 1: a source package */
};

/* Signature tags rpm 4.18 merges into the main header (package.c's xlate
 * table has 15): held in struct rpm_pkg, not allocated per package. */
#define RPM_XSIG_MAX 16

struct rpm_pkg {
	char path[256]; /* for messages */
	int fd;		/* open package, positioned at the payload */
	struct rpm_lead lead;
	struct rpm_hdr sig;		     /* signature header */
	struct rpm_hdr hdr;		     /* main header */
	long long payload_off;		     /* first payload byte */
	struct rpm_entry xsig[RPM_XSIG_MAX]; /* signature entries rpm merges */
	uint32_t xsig_tag[RPM_XSIG_MAX];     /* into the main header, and the */
	unsigned nxsig;			     /* tag numbers they get there */
	enum rpm_retro retro;		     /* what rpm adds on load */
};

/* Validate and parse a header blob (starting at its 8-byte magic) of len
 * bytes, taking ownership of raw (freed on failure too). region is the
 * expected region tag (62 for a signature, 63 for a main header); exact
 * demands region == whole header (package main headers). file_off is where
 * the blob sits in path, for messages. */
int rpm_hdr_parse(struct rpm_hdr *h, uint8_t *raw, size_t len, uint32_t region, int exact,
		  const char *path, long long file_off, struct ok_err *e);
/* rpm_hdr_parse without taking raw: h points into it (h->borrowed), so raw
 * must outlive h and stay unchanged; nothing is freed on failure. */
int rpm_hdr_parse_borrowed(struct rpm_hdr *h, const uint8_t *raw, size_t len, uint32_t region,
			   int exact, const char *path, long long file_off, struct ok_err *e);
void rpm_hdr_free(struct rpm_hdr *h);
/* The type rpm 4.18's tag table gives tag, RPM_NULL for a tag it does not
 * know or knows without a type (hdrchkTagType's view). */
enum rpm_type rpm_tag_type_418(uint32_t tag);
/* Check a header blob's 16-byte intro (magic, il, dl within rpm 4.18's
 * limits for region) before the rest is read; il and dl out. 0, or
 * -EINVAL with e naming path and the offset off of the intro. */
int rpm_hdr_intro(const uint8_t intro[16], uint32_t region, const char *path, long long off,
		  uint32_t *il, uint32_t *dl, struct ok_err *e);

/* package.c: read lead, signature and main header from fd (path for messages; "-" is
 * stdin). Leaves fd at the payload; the caller keeps owning fd. */
int rpm_pkg_read(struct rpm_pkg *p, int fd, const char *path, struct ok_err *e);
/* Open path (or stdin for "-") and read it. */
int rpm_pkg_open(struct rpm_pkg *p, const char *path, struct ok_err *e);
/* Read path's headers for a query: as rpm_pkg_open, but the file is read
 * ahead (one read for most packages: per-package cost is mostly syscalls)
 * and closed before returning; p->fd is -1, so nothing of the payload can
 * be read from p. */
int rpm_pkg_open_headers(struct rpm_pkg *p, const char *path, struct ok_err *e);
/* The reading half of rpm_pkg_open_headers, for callers that opened path
 * and read its first bytes themselves (batch.c): got is how many bytes of
 * the file ahead holds (or a negative errno from reading them); what the
 * headers need beyond them is read from fd, which the caller keeps owning
 * and closes. Same result and messages as rpm_pkg_open_headers. */
int rpm_pkg_read_ahead(struct rpm_pkg *p, int fd, const char *path, const uint8_t *ahead,
		       ssize_t got, struct ok_err *e);
/* rpm_pkg_read_ahead, but a header lying whole in ahead is parsed where it
 * is, not copied (rpm_hdr_parse_borrowed): ahead must stay unchanged until
 * rpm_pkg_close(p). batch.c's buffers do, for the packages of a window. */
int rpm_pkg_read_ahead_borrowed(struct rpm_pkg *p, int fd, const char *path, const uint8_t *ahead,
				ssize_t got, struct ok_err *e);
/* rpm_pkg_read_ahead_borrowed for a file that has no descriptor (an
 * io_uring direct descriptor, batch.c): what the headers need beyond ahead
 * comes from more(ctx, dst, n), which reads on from the file's position
 * until n bytes or the end, as io_read_full does (bytes, or -errno). */
int rpm_pkg_read_ahead_from(struct rpm_pkg *p, ssize_t (*more)(void *ctx, void *dst, size_t n),
			    void *ctx, const char *path, const uint8_t *ahead, ssize_t got,
			    struct ok_err *e);

/* batch.c: headers of many packages with few system calls, for queries over
 * thousands of files (-qp FILE...). One io_uring_enter opens a window of
 * packages, one reads the first RPM_BATCH_AHEAD bytes of each (lead,
 * signature and main header of most packages), and their closes go with
 * the next window's opens: three system calls a window instead of three a
 * package. Where io_uring cannot be used (an old kernel, seccomp,
 * kernel.io_uring_disabled; or max 0: main.c passes 0 for RPMQ_IO=sync)
 * rpm_batch_new returns NULL and rpm_batch_open reads with
 * rpm_pkg_open_headers; a package whose open or read fails in the ring is
 * retried the same way, so results and messages never depend on the ring.
 * A batch is used by one thread. */
#define RPM_BATCH_AHEAD 65536
struct rpm_batch;
/* A reader for windows of up to max packages, or NULL (see above). */
struct rpm_batch *rpm_batch_new(unsigned max);
/* Open and read ahead paths[0..n) (n <= max; "-" is left to
 * rpm_batch_open), ending the previous window (its files are closed).
 * The paths must live until the window ends. No-op when b is NULL. */
void rpm_batch_load(struct rpm_batch *b, char *const *paths, unsigned n);
/* Package i of the window (path is paths[i]), as rpm_pkg_open_headers
 * returns it; with b NULL, rpm_pkg_open_headers(path). Its headers may lie
 * in the window's buffer (rpm_pkg_read_ahead_borrowed): rpm_pkg_close(p)
 * before the next rpm_batch_load or rpm_batch_free. */
int rpm_batch_open(struct rpm_batch *b, unsigned i, const char *path, struct rpm_pkg *p,
		   struct ok_err *e);
/* Close the window's files (submitted now, from the ring's own thread, as
 * IORING_SETUP_SINGLE_ISSUER requires); the batch takes no more windows.
 * rpm_batch_free may then run in another thread. NULL is fine. */
void rpm_batch_end(struct rpm_batch *b);
/* rpm_batch_end if not done, then free the ring and the buffers; NULL is
 * fine. */
void rpm_batch_free(struct rpm_batch *b);

/* Free the headers; closes fd if rpm_pkg_open opened it. */
void rpm_pkg_close(struct rpm_pkg *p);

/* Entry order in a parsed header: by tag, duplicates in index order (as
 * rpm's headerSort leaves them). */
int rpm_ent_cmp(const void *a, const void *b);
/* What rpm 4.18 adds on load to a main header that has neither SOURCERPM
 * nor SOURCEPACKAGE (applyRetrofits, first part): RETRO_SOURCEPACKAGE when
 * it looks like a source package (its one directory is ""), else
 * RETRO_SOURCERPM; RETRO_NONE when it has either tag. */
enum rpm_retro rpm_retro_kind(const struct rpm_pkg *p);
/* legacy.c: rpm 4.18's retrofits of old headers (OLDFILENAMES compressed,
 * the self-provide of a v3 binary package), applied to p->hdr in memory,
 * as rpm applies them on load; h->raw stays as read. rpm_pkg_read calls it.
 * 0, or a negative errno (out of memory) with e filled. */
int rpm_legacy_retrofit(struct rpm_pkg *p, struct ok_err *e);
/* "[N-][E:][V-][R][.A]" with the parts asked for, as rpm's NEVRA, EVR, ...
 * extensions build them (EPOCH only when the tag exists). Caller frees;
 * NULL when out of memory. */
char *rpm_pkg_nevra(const struct rpm_pkg *p, int n, int e, int v, int r, int a);

/* Entry lookup in one header: NULL if absent. */
const struct rpm_entry *rpm_hdr_find(const struct rpm_hdr *h, uint32_t tag);
/* Element i of a numeric entry (CHAR..INT64), zero-extended. */
uint64_t rpm_ent_num(const struct rpm_hdr *h, const struct rpm_entry *en, uint32_t i);
/* Element i of a string entry (STRING, STRING_ARRAY, I18NSTRING). */
const char *rpm_ent_str(const struct rpm_hdr *h, const struct rpm_entry *en, uint32_t i);
/* Main-header string (first element; i18n strings in the C locale), or NULL. */
const char *rpm_pkg_str(const struct rpm_pkg *p, uint32_t tag);
/* Main-header number element 0, or dflt when absent. */
uint64_t rpm_pkg_num(const struct rpm_pkg *p, uint32_t tag, uint64_t dflt);

/* ---- layer 2: tag data ------------------------------------------------- */

/* One tag's data as headerGet() returns it: numbers or strings or bytes. */
struct rpm_td {
	uint32_t tag;
	enum rpm_type type;
	uint32_t count;
	const struct rpm_hdr *h; /* stored data: entry in h */
	const struct rpm_entry *en;
	uint64_t *nums;	    /* or computed numbers (owned) */
	char **strs;	    /* or computed strings (owned, each owned) */
	int verbose;	    /* what VERBOSE answers */
	const uint8_t *bin; /* or bytes elsewhere (HEADERIMMUTABLE) */
};

/* Fill td for tag (stored, merged signature or extension). 1 found, 0 not. */
int rpm_td_get(const struct rpm_pkg *p, uint32_t tag, int verbose, struct rpm_td *td);
/* The tag as rpm's HEADERGET_RAW gives it (what %{*} iterates over): stored
 * or merged signature data only, i18n strings with every translation;
 * td->verbose is kept. */
int rpm_td_get_raw(const struct rpm_pkg *p, uint32_t tag, struct rpm_td *td);
void rpm_td_free(struct rpm_td *td);
uint64_t rpm_td_num(const struct rpm_td *td, uint32_t i);
const char *rpm_td_str(const struct rpm_td *td, uint32_t i);
/* The bytes of a BIN td. */
const uint8_t *rpm_td_bin(const struct rpm_td *td);

/* ---- layer 2b: files ---------------------------------------------------- */

struct rpm_file {
	char *path; /* owned */
	uint64_t size;
	uint32_t mode, mtime, flags, rdev, nlink, dev, ino;
	const char *user, *group, *linkto, *digest; /* in the header */
};

/* All files of a package in header order; *out owned (rpm_files_free). */
int rpm_files(const struct rpm_pkg *p, struct rpm_file **out, size_t *n, struct ok_err *e);
void rpm_files_free(struct rpm_file *f, size_t n);

/* ---- layer 2c: OpenPGP packets (pgp.c) ------------------------------------ */

enum {
	RPM_PGP_TAG_SIGNATURE = 2,
	RPM_PGP_TAG_PUBLIC_KEY = 6,
	RPM_PGP_TAG_USER_ID = 13,
	RPM_PGP_TAG_PUBLIC_SUBKEY = 14,
	RPM_PGP_RSA = 1,
	RPM_PGP_DSA = 17,
	RPM_PGP_EDDSA = 22,
	RPM_PGP_ED25519 = 6, /* rpm's PGPCURVE_ED25519 */
	RPM_PGP_SIGTYPE_BINARY = 0x00,
	RPM_PGP_SIGTYPE_SUBKEY_BINDING = 0x18,
	RPM_PGP_SIGTYPE_SUBKEY_REVOKE = 0x28,
	/* rpm's PGPDIG_* bits in saved */
	RPM_PGP_SAVED_TIME = 1,
	RPM_PGP_SAVED_ID = 2,
	RPM_PGP_HAS_CTIME = 4,
	RPM_PGP_HAS_KEY_FLAGS = 8,
};

/* One packet's parameters as rpm 4.18's pgpDigParams holds them: a
 * signature, or a public key or subkey. Pointers point into the parsed
 * buffer, which must outlive the struct. */
struct rpm_pgp {
	uint8_t tag;	       /* RPM_PGP_TAG_*: what the params describe */
	uint8_t version;       /* 3 or 4 */
	uint8_t sigtype;       /* 0 binary document, 0x18 subkey binding, ... */
	uint8_t pubkey_algo;   /* 1 RSA, 17 DSA, 22 EdDSA */
	uint8_t hash_algo;     /* 2 SHA1, 8 SHA256, ... */
	uint8_t key_flags;     /* key flags subpacket, first byte */
	unsigned saved;	       /* RPM_PGP_SAVED_* / HAS_* */
	uint32_t time;	       /* creation time */
	uint8_t keyid[8];      /* issuer key ID (signature) or key ID (key) */
	const uint8_t *hash;   /* signature: the hashed part (v4: version to */
	size_t hashlen;	       /* the hashed subpackets; v3: sigtype, time) */
	uint8_t signhash16[2]; /* first two bytes of the signed digest */
	int has_alg;	       /* the MPIs below are set (rpm's alg) */
	unsigned nmpi;	       /* RSA sig 1 (s), key 2 (n e); DSA 2 (r s) / 4 */
	const uint8_t *mpi[4]; /* (p q g y); EdDSA 2 (r s) / 1 (q): each at */
	int curve;	       /* its 2-byte bit count; key curve (Ed25519) */
};

/* One packet of a buffer (decodePkt): head, body and total length. */
struct rpm_pgp_pkt {
	uint8_t tag;
	const uint8_t *head, *body;
	size_t blen, len; /* body bytes; header and body bytes */
};
/* 0, or -1 when d[0..n) does not start with a whole packet rpm accepts
 * (partial and indefinite lengths included). */
int rpm_pgp_pkt_decode(const uint8_t *d, size_t n, struct rpm_pgp_pkt *pkt);

/* Parse a signature blob (RSAHEADER, DSAHEADER, SIGPGP, SIGGPG) as rpm
 * 4.18's pgpPrtParams(PGPTAG_SIGNATURE) does: 0 when rpm accepts it, -1
 * when rpm calls it "(not an OpenPGP signature)". */
int rpm_pgp_sig_parse(const uint8_t *d, size_t n, struct rpm_pgp *sig);
/* pgpPrtSig and pgpPrtKey over one packet body, into st (whose tag the
 * caller set; fields already set are kept as rpm keeps them): 0 or 1. */
int rpm_pgp_prt_sig(const uint8_t *body, size_t blen, struct rpm_pgp *st);
int rpm_pgp_prt_key(const uint8_t *body, size_t blen, struct rpm_pgp *st);
/* processMpis without recording: exactly mpis MPIs fill [p, pend)? 0/1. */
int rpm_pgp_count_mpis(int mpis, const uint8_t *p, const uint8_t *pend);
/* The names rpm prints (pgpPubkeyTbl, pgpHashTbl). */
const char *rpm_pgp_pubkey_name(unsigned algo);
const char *rpm_pgp_hash_name(unsigned algo);

/* ---- layer 2d: keys and signature checks (keyring.c, with libcrypto) ----- */

/* What a signature check gives, rpm's rpmRC for it. */
enum rpm_sig_rc { RPM_SIG_OK, RPM_SIG_BAD, RPM_SIG_NOKEY };

/* Public keys and signing subkeys, as rpm's keyring holds them after
 * `rpm --import`: one entry per key ID, the first one kept. */
struct rpm_keyring {
	struct rpm_pgp *keys; /* params point into bufs (owned) */
	size_t n, cap;
	uint8_t **bufs; /* the decoded key blocks (owned) */
	size_t nbufs;
};
/* Import every key of an ASCII-armored key file's text buf[0..len) as
 * `rpm --import` does (doImport: each "-----BEGIN PGP " block, each
 * certificate in it); name is for messages. A key rpm would refuse fails
 * the call: -EBADMSG, e saying "key N import failed" or "key N not an
 * armored public key" as rpm does; -ENOMEM. */
int rpm_keyring_import(struct rpm_keyring *kr, const char *buf, size_t len, const char *name,
		       struct ok_err *e);
/* The same for the binary packets of one armored block (copied): every
 * certificate in them; keyno numbers the block in messages. */
int rpm_keyring_add_pkts(struct rpm_keyring *kr, const uint8_t *pkts, size_t len, int keyno,
			 const char *name, struct ok_err *e);
/* Import a key file, or every regular file (not starting with '.') of a
 * directory in name order. */
int rpm_keyring_load(struct rpm_keyring *kr, const char *path, struct ok_err *e);
void rpm_keyring_free(struct rpm_keyring *kr);
/* rpm's findbySig: the key with the signature's issuer key ID, if its
 * algorithm is the signature's; or NULL. */
const struct rpm_pgp *rpm_keyring_find(const struct rpm_keyring *kr, const struct rpm_pgp *sig);

/* rpm's hash algorithm numbers (PGPHASHALGO_*, also FILEDIGESTALGO and
 * PAYLOADDIGESTALGO: the libgcrypt backend's list) as lib/hash.h's enum
 * hash_algo; -1 for one rpm 4.18 cannot compute. */
int rpm_hash_algo(uint64_t pgp_algo);

struct hash_ctx;
/* Start a digest for an OpenPGP hash algorithm rpm 4.18 supports (MD5,
 * SHA1, SHA224, SHA256, SHA384, SHA512): 0, or -EINVAL for another. */
int rpm_pgp_hash_init(struct hash_ctx *h, unsigned pgp_algo);
/* pgpVerifySignature: finish ctx (the signed data so far; consumed) with
 * the signature's hashed part and trailer; BAD when the first 16 bits
 * differ from the signature's, NOKEY without a key, else the public-key
 * check's verdict. */
enum rpm_sig_rc rpm_pgp_verify(const struct rpm_pgp *key, const struct rpm_pgp *sig,
			       struct hash_ctx *ctx);

/* ---- layer 3: query formats and modes ----------------------------------- */

struct rpm_qf;
/* Compile a query format; NULL and e->msg set on a syntax error. */
struct rpm_qf *rpm_qf_compile(const char *fmt, struct ok_err *e);
void rpm_qf_free(struct rpm_qf *qf);
/* Expand qf for p, appending to *buf (realloc'd, *len bytes used).
 * 0, or -EINVAL with e filled (e.g. arrays of different sizes). */
int rpm_qf_expand(const struct rpm_qf *qf, const struct rpm_pkg *p, int verbose, char **buf,
		  size_t *len, size_t *cap, struct ok_err *e);

/* The query format behind a named alias ("scripts", "triggers", "info",
 * "requires", ...), or NULL. */
const char *rpm_alias_qf(const char *name);

enum rpm_list {
	LIST_NONE = 0,
	LIST_PLAIN, /* -l */
	LIST_LONG,  /* -lv */
	LIST_DUMP,  /* --dump */
};
/* File attribute bits (rpm's RPMFILE_*) the list filters test. */
enum rpm_file_attr {
	RPMFILE_CONFIG = 1,	 /* -c, --noconfig */
	RPMFILE_DOC = 2,	 /* -d */
	RPMFILE_GHOST = 64,	 /* --noghost */
	RPMFILE_LICENSE = 128,	 /* -L */
	RPMFILE_ARTIFACT = 4096, /* -A, --noartifact */
};
struct rpm_list_opts {
	enum rpm_list mode;
	unsigned incattr; /* list only files with one of these bits (0: all) */
	unsigned excattr; /* leave out files with any of these bits */
	int state;	  /* -s: each line after the file's state column */
	long long now;	  /* the time -lv compares with (to choose "%b %e  %Y"
			   * or "%b %e %H:%M") */
};
/* Print the file list as rpm -qpl[v]/--dump (lib/query.c showQueryPackage)
 * would, filtered by attributes as -c/-d/-L/-A and --noghost/--noconfig/
 * --noartifact do. */
int rpm_list_files(const struct rpm_pkg *p, const struct rpm_list_opts *o, FILE *out,
		   struct ok_err *e);

/* rpm's --last and --dupes pipe their query output through a shell
 * pipeline (rpmpopt's --pipe); these do the same to in[0..n): --last is
 * `LC_NUMERIC=C sort -r -n | sed 's,^[0-9]\+ ,,' | awk '{printf("%-45s
 * %-s\n", $1, substr($0,length($1)+2))}'`, --dupes `sort | uniq -d`; sort
 * collates with strcoll (the caller sets LC_COLLATE as sort would), awk
 * counts bytes as Debian's mawk. 0 or -ENOMEM. */
enum rpm_pipe { PIPE_NONE = 0, PIPE_LAST, PIPE_DUPES };
int rpm_pipe_apply(enum rpm_pipe pipe, const char *in, size_t n, FILE *out);

/* Print rpm >= 4.20's `rpm -q --json` object for p, ending in a newline:
 * RPM_JSON_RPM as rpm 4.20 lays it out (one tag a line, tab-indented
 * values), RPM_JSON_COMPACT the same keys and values on one line (NDJSON).
 * 0 or -ENOMEM. */
enum rpm_json_form { RPM_JSON_RPM = 1, RPM_JSON_COMPACT };
int rpm_print_json(const struct rpm_pkg *p, enum rpm_json_form form, FILE *out, struct ok_err *e);

/* -K: check every digest and signature as rpm 4.18's rpm -K[v] does
 * (digest.c), printing its lines to out; signatures against keyring (NULL
 * or empty: every signature is NOKEY, as with an empty rpmdb). */
struct rpm_check_opts {
	int verbose;	 /* -Kv: one line per item */
	int nosignature; /* --nosignature */
	int nodigest;	 /* --nodigest */
	const struct rpm_keyring *keyring;
};
/* Returns 0 all OK, 1 something is not (BAD, NOKEY, a required item
 * NOTFOUND), or a negative errno. */
int rpm_check_sigs(struct rpm_pkg *p, const struct rpm_check_opts *o, FILE *out, struct ok_err *e);

/* ---- layer 4: payload --------------------------------------------------- */

enum rpm_extract_flags {
	RPM_X_SAFE = 1,	    /* no device nodes, no setuid/setgid bits */
	RPM_X_NOVERIFY = 2, /* skip size and digest checks (fuzzing only: a
			     * fuzzer cannot forge digests) */
};
/* Extract the payload beneath dir (every path opened beneath it), checking
 * each cpio entry's size against FILESIZES, each regular file against
 * FILEDIGESTS (a mismatching file is removed) and, once the archive has
 * ended, the stored payload against PAYLOADDIGEST (or the signature MD5).
 * Ownership is never changed: files belong to the caller. flags: enum
 * rpm_extract_flags. 0, or a negative errno with e naming the file
 * (-EBADMSG for a failed check, -EPERM for a refused path). */
int rpm_extract(struct rpm_pkg *p, const char *dir, unsigned flags, struct ok_err *e);
/* rpm_extract with a choice of files: only those o->paths select (a header
 * path, "/" and "./" prefixes optional, and everything beneath it; a
 * hard-linked file brings its link set), each must select something
 * (-EINVAL; for --cat each must name a regular file in the payload). With o->cat_fd >= 0 nothing is
 * created (dir: where the unnamed check files live, NULL: /tmp): the contents of exactly the
 * regular files o->paths name go to cat_fd in payload order, each only once its size and digest
 * have been checked. */
struct rpm_extract_opts {
	unsigned flags;		  /* enum rpm_extract_flags */
	const char *const *paths; /* selected header paths (none: all) */
	size_t npaths;
	int cat_fd; /* --cat: output fd, or -1 */
};
int rpm_extract_files(struct rpm_pkg *p, const char *dir, const struct rpm_extract_opts *o,
		      struct ok_err *e);
/* --cat: rpm_extract_files with cat_fd = out_fd; tmpdir (NULL: /tmp) holds
 * the unnamed files each content is checked in before it is written. */
int rpm_cat(struct rpm_pkg *p, const char *const *paths, size_t npaths, int out_fd,
	    const char *tmpdir, struct ok_err *e);
/* Write the payload as an uncompressed newc cpio archive to out_fd. */
int rpm_write_cpio(struct rpm_pkg *p, int out_fd, struct ok_err *e);
/* Write the payload as an uncompressed pax tar archive to out_fd, the
 * members, order and fields rpm2archive 4.18 writes (names "./PATH", owner
 * names from the header, hard links after their set's first file). Each
 * file's size, digest and symlink target, and the payload digest, are
 * checked as it goes; a failure stops the archive before its end blocks.
 * flags: RPM_X_NOVERIFY or 0. 0 or a negative errno with e filled. */
int rpm_write_tar(struct rpm_pkg *p, int out_fd, unsigned flags, struct ok_err *e);

/* rpmlint 2.4's `rpmdiff [-i COL...] [-e GLOB...] OLD NEW` (diff.c): the
 * single tags, dependencies and files that differ, printed to out in
 * rpmdiff's format and order. o may be NULL (nothing ignored or excluded).
 * 1 if anything differs, 0 if not, or a negative errno with e filled. */
struct rpm_diff_opts {
	const char *ignore;	    /* file columns not compared ("S5T"; NULL: none) */
	const char *const *exclude; /* rpmdiff's --exclude globs */
	size_t nexclude;
};
int rpm_diff(const struct rpm_pkg *a, const struct rpm_pkg *b, const struct rpm_diff_opts *o,
	     FILE *out, struct ok_err *e);
/* The file columns --ignore takes: rpmdiff's choices, in column order. */
#define RPM_DIFF_COLUMNS "SM5DNLVUGFT"
/* Whether rpmdiff's --exclude GLOB leaves path out (its _excluded: Python
 * 3.11's PurePosixPath(path).match(GLOB), matched from the right part by
 * part with fnmatch, and for a GLOB starting with '/' also any parent
 * directory matching it): 1 or 0. -EINVAL for a GLOB with no parts ("",
 * ".", "./"), where Python raises ValueError; -E2BIG for a GLOB over 4096
 * bytes (refused: its parts are kept on the stack); -ENOMEM. */
int rpm_diff_excluded(const char *path, const char *glob);

/* ---- repositories (repo.c): createrepo_c's metadata ---------------------
 *
 * rpm_repo_load reads DIR/repodata/repomd.xml, then the primary.xml (and,
 * with files, filelists.xml) it names, each compressed or plain; each file's
 * size and checksum are checked against repomd.xml before it is parsed, its
 * open-size and open-checksum before the load succeeds. Nothing is read from
 * the package files: the answers are what the metadata holds, which is what
 * dnf repoquery sees (primary.xml's dependencies are createrepo_c's list:
 * no rpmlib() requirements, none the package provides itself, libc.so.6's
 * only at its highest GLIBC version). Bounds: see repo.c's header. */
enum rpm_repo_mode {
	/* dependency kinds first: they index the package's lists */
	REPO_REQUIRES = 0,
	REPO_PROVIDES,
	REPO_CONFLICTS,
	REPO_OBSOLETES,
	REPO_RECOMMENDS,
	REPO_SUGGESTS,
	REPO_SUPPLEMENTS,
	REPO_ENHANCES,
	REPO_NDEPS,
	REPO_NVRA = REPO_NDEPS, /* rpm's default query: %{NVRA} */
	REPO_LIST,		/* -l: filelists.xml */
};
struct rpm_repo;
/* 0 with *out set (free with rpm_repo_free), or a negative errno with e
 * naming the file, line or offset and what was expected. */
int rpm_repo_load(struct rpm_repo **out, const char *dir, int files, struct ok_err *e);
/* Print each package (primary.xml's order) as rpm -qp prints those modes:
 * the NVRA and dependency lines in the order given, then the file list. */
void rpm_repo_print(const struct rpm_repo *r, const enum rpm_repo_mode *modes, size_t nmodes,
		    FILE *out);
size_t rpm_repo_count(const struct rpm_repo *r);
void rpm_repo_free(struct rpm_repo *r);
/* For the fuzz target: an empty repository, one document parsed from memory
 * into it (name for messages; filelists need the primary's packages,
 * indexed by rpm_repo_index, which rpm_repo_parse_mem calls if needed). */
enum rpm_repo_doc { RPM_REPO_REPOMD, RPM_REPO_PRIMARY, RPM_REPO_FILELISTS };
struct rpm_repo *rpm_repo_new(void);
int rpm_repo_parse_mem(struct rpm_repo *r, enum rpm_repo_doc doc, const void *buf, size_t n,
		       const char *name, struct ok_err *e);
int rpm_repo_index(struct rpm_repo *r, struct ok_err *e);

/* Small helpers shared by the files above. */
char *rpm_perms_string(uint32_t mode, char buf[11]);

#endif
