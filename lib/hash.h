/*
 * hash.h: message digests through OpenSSL's libcrypto (EVP), the library the
 * field uses; we only give it an opskit-shaped face. Used by rpmq (header and
 * payload digests) and usbcopy (bmap range and image checksums).
 */
#ifndef OPSKIT_HASH_H
#define OPSKIT_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "hex.h"

enum hash_algo { HASH_MD5, HASH_SHA1, HASH_SHA224, HASH_SHA256, HASH_SHA384, HASH_SHA512 };

#define HASH_MAX 64 /* bytes in the longest digest */

struct hash_ctx {
	void *evp; /* EVP_MD_CTX */
	enum hash_algo algo;
};

/* 0 or -ENOMEM / -EINVAL. */
int hash_init(struct hash_ctx *h, enum hash_algo algo);
void hash_update(struct hash_ctx *h, const void *data, size_t n);
/* Write the digest to out (HASH_MAX bytes room); returns its length. Frees h. */
size_t hash_final(struct hash_ctx *h, uint8_t *out);
/* Release h without a result (error paths). */
void hash_abort(struct hash_ctx *h);
/* Digest length in bytes of algo. */
size_t hash_len(enum hash_algo algo);
/* "sha256" etc.; the algorithm whose name (case-insensitive) matches, or -1. */
int hash_from_name(const char *name);
const char *hash_name(enum hash_algo algo);
/* One call: digest of a buffer. Returns length. */
size_t hash_buf(enum hash_algo algo, const void *data, size_t n, uint8_t *out);
/* Printing and parsing digests: hex.h (in the core library). */

#endif
