/*
 * rpmq_qf.c: libFuzzer target for rpmq's query-format parser: compile the
 * input as a --qf string and expand it over a built-in package.
 */
#include <stdlib.h>
#include <string.h>

#include "rpmq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	struct ok_err e;
	struct rpm_qf *qf = rpm_qf_compile(s, &e);
	if (qf) {
		/* An empty package: lookups all miss, formatting paths still run. */
		struct rpm_pkg p;
		memset(&p, 0, sizeof(p));
		p.fd = -1;
		char *buf = NULL;
		size_t len = 0, cap = 0;
		rpm_qf_expand(qf, &p, 1, &buf, &len, &cap, &e);
		free(buf);
		rpm_qf_free(qf);
	}
	free(s);
	return 0;
}
