/*
 * hash.c: the libcrypto wrapper declared in hash.h.
 */
#include "hash.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <strings.h>

static const struct {
	const char *name;
	size_t len;
} algos[] = {
    [HASH_MD5] = {"md5", 16},	    [HASH_SHA1] = {"sha1", 20},	    [HASH_SHA224] = {"sha224", 28},
    [HASH_SHA256] = {"sha256", 32}, [HASH_SHA384] = {"sha384", 48}, [HASH_SHA512] = {"sha512", 64},
};

static const EVP_MD *evp_md(enum hash_algo a)
{
	switch (a) {
	case HASH_MD5:
		return EVP_md5();
	case HASH_SHA1:
		return EVP_sha1();
	case HASH_SHA224:
		return EVP_sha224();
	case HASH_SHA256:
		return EVP_sha256();
	case HASH_SHA384:
		return EVP_sha384();
	case HASH_SHA512:
		return EVP_sha512();
	}
	return NULL;
}

int hash_init(struct hash_ctx *h, enum hash_algo algo)
{
	const EVP_MD *md = evp_md(algo);
	if (!md)
		return -EINVAL;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	if (!c)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(c, md, NULL)) {
		EVP_MD_CTX_free(c);
		return -EINVAL;
	}
	h->evp = c;
	h->algo = algo;
	return 0;
}

void hash_update(struct hash_ctx *h, const void *data, size_t n)
{
	EVP_DigestUpdate(h->evp, data, n);
}

size_t hash_final(struct hash_ctx *h, uint8_t *out)
{
	unsigned int len = 0;
	EVP_DigestFinal_ex(h->evp, out, &len);
	EVP_MD_CTX_free(h->evp);
	h->evp = NULL;
	return len;
}

void hash_abort(struct hash_ctx *h)
{
	EVP_MD_CTX_free(h->evp);
	h->evp = NULL;
}

size_t hash_len(enum hash_algo algo)
{
	return algos[algo].len;
}

int hash_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++)
		if (!strcasecmp(name, algos[i].name))
			return (int)i;
	return -1;
}

const char *hash_name(enum hash_algo algo)
{
	return algos[algo].name;
}

size_t hash_buf(enum hash_algo algo, const void *data, size_t n, uint8_t *out)
{
	struct hash_ctx h;
	if (hash_init(&h, algo) < 0)
		return 0;
	hash_update(&h, data, n);
	return hash_final(&h, out);
}
