/*
 * rpmq_key.c: libFuzzer target for rpmq's OpenPGP public key reader
 * (keyring.c and pgp.c): the first byte picks ASCII armor (what --keyring
 * files hold) or the binary packets of one block (so the fuzzer reaches the
 * packet parser without forging a CRC-24); then every imported key checks a
 * made-up signature with its own algorithm, so the OpenSSL side sees the
 * key's MPIs as -K would hand them over.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "rpmq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	/* a copy of exactly size - 1 bytes, so ASan sees any read past it */
	uint8_t *d = malloc(size);
	if (!d)
		return 0;
	memcpy(d, data + 1, size - 1);
	struct rpm_keyring kr = {0};
	struct ok_err e;
	ok_err_clear(&e);
	if (data[0] & 1)
		rpm_keyring_import(&kr, (const char *)d, size - 1, "fuzz", &e);
	else
		rpm_keyring_add_pkts(&kr, d, size - 1, 1, "fuzz", &e);
	/* each key against a signature made to look like its own: the
	 * public-key code runs on whatever MPIs the key holds */
	for (size_t i = 0; i < kr.n; i++) {
		struct rpm_pgp sig = kr.keys[i];
		static const uint8_t m[] = {0x00, 0x08, 0x5a}; /* an 8-bit MPI */
		static const uint8_t tr[] = {4, 0xff, 0, 0, 0, sizeof(m)};
		sig.tag = RPM_PGP_TAG_SIGNATURE;
		sig.version = 4;
		sig.hash_algo = 8;
		sig.hash = m;
		sig.hashlen = sizeof(m);
		sig.mpi[0] = sig.mpi[1] = m;
		/* the quick check passes: the public-key code runs */
		uint8_t dg[HASH_MAX];
		struct hash_ctx h;
		if (rpm_pgp_hash_init(&h, sig.hash_algo) < 0)
			continue;
		hash_update(&h, m, sizeof(m));
		hash_update(&h, tr, sizeof(tr));
		hash_final(&h, dg);
		memcpy(sig.signhash16, dg, 2);
		if (rpm_pgp_hash_init(&h, sig.hash_algo) == 0)
			rpm_pgp_verify(&kr.keys[i], &sig, &h);
	}
	rpm_keyring_free(&kr);
	free(d);
	return 0;
}
