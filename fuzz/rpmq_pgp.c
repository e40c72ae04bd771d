/*
 * rpmq_pgp.c: libFuzzer target for rpmq's OpenPGP signature parser (pgp.c),
 * the code :pgpsig and -i run over RSAHEADER/DSAHEADER/SIGPGP/SIGGPG blobs
 * taken from untrusted packages.
 */
#include <stdint.h>
#include <stdlib.h>

#include "rpmq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* a copy of exactly size bytes, so ASan sees any read past the blob */
	uint8_t *d = malloc(size ? size : 1);
	if (!d)
		return 0;
	for (size_t i = 0; i < size; i++)
		d[i] = data[i];
	struct rpm_pgp sig;
	rpm_pgp_sig_parse(d, size, &sig);
	free(d);
	return 0;
}
