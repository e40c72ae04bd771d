/*
 * rpmq_qf.c: libFuzzer target for rpmq's query-format language: the input's
 * first byte picks a package, the rest is compiled as a --qf string and
 * expanded over it (verbose or not, by the first byte's top bit).
 *
 * The packages are the shared corpus ($OPSKIT_SHARED/corpus/rpm, every v3,
 * v4, v6, source and signed one there), loaded once: formats meet real
 * arrays, i18n strings, dependencies, triggers, file lists and signatures,
 * not only lookups that miss. Without the corpus (OPSKIT_SHARED unset) an
 * empty package is used, as before.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpmq.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PKGS_MAX 64
static struct rpm_pkg pkgs[PKGS_MAX]; /* [0] is the empty package */
static unsigned npkgs = 1;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	pkgs[0].fd = -1;
	const char *shared = getenv("OPSKIT_SHARED");
	if (!shared)
		return 0;
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s/corpus/rpm", shared);
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *de;
	while ((de = readdir(d)) && npkgs < PKGS_MAX) {
		size_t l = strlen(de->d_name);
		if (l < 5 || strcmp(de->d_name + l - 4, ".rpm") != 0)
			continue;
		char path[4096 + 256];
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		struct ok_err e;
		if (rpm_pkg_open(&pkgs[npkgs], path, &e) == 0)
			npkgs++;
	}
	closedir(d);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const struct rpm_pkg *p = &pkgs[(data[0] & 0x7f) % npkgs];
	int verbose = data[0] >> 7;
	char *s = malloc(size);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = 0;
	struct ok_err e;
	struct rpm_qf *qf = rpm_qf_compile(s, &e);
	if (qf) {
		char *buf = NULL;
		size_t len = 0, cap = 0;
		rpm_qf_expand(qf, p, verbose, &buf, &len, &cap, &e);
		free(buf);
		rpm_qf_free(qf);
	}
	free(s);
	return 0;
}
