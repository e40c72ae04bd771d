/*
 * rpmq_repo.c: libFuzzer target for rpmq's repository metadata reader
 * (repo.c), the XML `rpmq --repo DIR` takes from a repository it may not
 * trust: repomd.xml, primary.xml and filelists.xml through expat.
 *
 * Input: first byte even: the rest is a repomd.xml. Odd: the rest is a
 * primary.xml, then a NUL byte, then a filelists.xml for its packages; the
 * packages read are printed in every mode.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpmq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	struct rpm_repo *r = rpm_repo_new();
	if (!r)
		return 0;
	struct ok_err e;
	ok_err_clear(&e);
	const char *d = (const char *)data + 1;
	size_t n = size - 1;
	if (data[0] % 2 == 0) {
		rpm_repo_parse_mem(r, RPM_REPO_REPOMD, d, n, "repomd.xml", &e);
	} else {
		const char *nul = memchr(d, 0, n);
		size_t np = nul ? (size_t)(nul - d) : n;
		int rc = rpm_repo_parse_mem(r, RPM_REPO_PRIMARY, d, np, "primary.xml", &e);
		if (rc == 0 && nul)
			rc = rpm_repo_parse_mem(r, RPM_REPO_FILELISTS, nul + 1, n - np - 1,
						"filelists.xml", &e);
		if (rc == 0) {
			enum rpm_repo_mode all[] = {
			    REPO_NVRA,	    REPO_REQUIRES,   REPO_PROVIDES, REPO_CONFLICTS,
			    REPO_OBSOLETES, REPO_RECOMMENDS, REPO_SUGGESTS, REPO_SUPPLEMENTS,
			    REPO_ENHANCES,  REPO_LIST};
			char *out = NULL;
			size_t len = 0;
			FILE *f = open_memstream(&out, &len);
			if (f) {
				rpm_repo_print(r, all, sizeof(all) / sizeof(all[0]), f);
				fclose(f);
			}
			free(out);
		}
	}
	rpm_repo_free(r);
	return 0;
}
