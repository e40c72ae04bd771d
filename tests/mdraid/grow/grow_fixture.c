/*
 * grow_fixture: the fixture (fixture.h) as a command, for the shell tests and
 * the bench:
 *   grow_fixture create level=6 layout=2 chunk=128 minor=2 bytes=N doff=D seed=S [bitmap=1]
 *                       [tail=T] FILE...
 *   grow_fixture blank bytes=N seed=S FILE...
 *   grow_fixture verify level=.. layout=.. chunk=.. minor=.. bytes=.. doff=.. seed=.. old=n FILE...
 * (chunk, doff and tail in sectors: tail is room left after size for a
 * shrink's data_offset move; verify takes the members in new slot order.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

int main(int argc, char **argv)
{
	struct fx_array a = {.level = 6,
			     .layout = 2,
			     .minor = 2,
			     .chunk = 128,
			     .dev_bytes = 8 << 20,
			     .data_offset = 2048,
			     .seed = 1};
	int old = 0, first = 2;
	if (argc < 3)
		goto usage;
	for (; first < argc && strchr(argv[first], '='); first++) {
		char *k = argv[first], *v = strchr(k, '=') + 1;
		unsigned long long x = strtoull(v, NULL, 0);
		if (!strncmp(k, "level=", 6))
			a.level = (int)x;
		else if (!strncmp(k, "layout=", 7))
			a.layout = (int)x;
		else if (!strncmp(k, "chunk=", 6))
			a.chunk = (uint32_t)x;
		else if (!strncmp(k, "minor=", 6))
			a.minor = (int)x;
		else if (!strncmp(k, "bytes=", 6))
			a.dev_bytes = x;
		else if (!strncmp(k, "doff=", 5))
			a.data_offset = x;
		else if (!strncmp(k, "tail=", 5))
			a.tail = x;
		else if (!strncmp(k, "bitmap=", 7))
			a.bitmap = (int)x;
		else if (!strncmp(k, "seed=", 5))
			a.seed = (uint32_t)x;
		else if (!strncmp(k, "old=", 4))
			old = (int)x;
		else
			goto usage;
	}
	int n = argc - first;
	if (!strcmp(argv[1], "create")) {
		a.n = n;
		return fx_create(&a, argv + first) < 0;
	}
	if (!strcmp(argv[1], "blank")) {
		for (int i = first; i < argc; i++)
			if (fx_blank(argv[i], a.dev_bytes, a.seed + (uint32_t)i) < 0)
				return 1;
		return 0;
	}
	if (!strcmp(argv[1], "verify")) {
		char msg[512];
		struct fx_sb sb;
		a.n = old;
		if (fx_read_sb(argv[first], a.minor, &sb) < 0)
			return 1;
		a.size = sb.size;
		if (fx_verify(&a, n, argv + first, msg, sizeof msg) < 0) {
			fprintf(stderr, "verify: %s\n", msg);
			return 1;
		}
		return 0;
	}
usage:
	fprintf(stderr, "usage: grow_fixture create|blank|verify key=value... FILE...\n");
	return 2;
}
