/*
 * img_array.h: the set-up the C tests of tests/mdraid share: a temporary
 * directory with n sparse image files, made into a RAID6 (64 KiB chunks,
 * left-symmetric, v1.2) by md_create. Header-only: each test is one file.
 */
#ifndef TESTS_MDRAID_IMG_ARRAY_H
#define TESTS_MDRAID_IMG_ARRAY_H

#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "mdraid.h"

/*
 * mkdtemp TMPDIR/NAME.XXXXXX into dir (256 bytes), n files dir/mI.img of
 * bytes each in pb (paths points at them), then md_create with bitmap
 * (0/1). 0; 1 when the directory or a file could not be made; 2 when
 * md_create refused (e says why).
 */
static inline int img_array_make(char *dir, const char *name, int n, char pb[][300], char **paths,
				 off_t bytes, int bitmap, struct ok_err *e)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, 256, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	if (!mkdtemp(dir))
		return 1;
	for (int i = 0; i < n; i++) {
		snprintf(pb[i], 300, "%s/m%d.img", dir, i);
		paths[i] = pb[i];
		int fd = open(paths[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
		if (fd < 0 || ftruncate(fd, bytes) < 0)
			return 1;
		close(fd);
	}
	struct md_create_opts o = {.level = 6,
				   .raid_disks = n,
				   .chunk_kib = 64,
				   .layout = MD_LEFT_SYMMETRIC,
				   .minor = 2,
				   .homehost = "<none>",
				   .bitmap = bitmap,
				   .assume_clean = true,
				   .force = true,
				   .no_safety = true};
	ok_err_clear(e);
	return md_create(&o, n, paths, e) < 0 ? 2 : 0;
}

#endif
