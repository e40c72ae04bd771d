/*
 * rpmq_diffglob.c: libFuzzer target for rpmq --diff --exclude's matcher
 * (diff.c: pathlib's part splitting and fnmatch's classes and ranges), run
 * over globs from the command line and file paths from untrusted packages.
 * Input: PATH, a tab, GLOB (no tab: the whole input is the glob, the path
 * "/usr/share/doc/x").
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpmq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* exact-size NUL-terminated copies, so ASan sees any read past them */
	const uint8_t *tab = memchr(data, '\t', size);
	size_t pl = tab ? (size_t)(tab - data) : 0;
	size_t gl = tab ? size - pl - 1 : size;
	char *path = tab ? malloc(pl + 1) : strdup("/usr/share/doc/x");
	char *glob = malloc(gl + 1);
	if (path && glob) {
		if (tab)
			memcpy(path, data, pl), path[pl] = 0;
		memcpy(glob, tab ? tab + 1 : data, gl);
		glob[gl] = 0;
		rpm_diff_excluded(path, glob);
	}
	free(path);
	free(glob);
	return 0;
}
