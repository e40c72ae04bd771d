/*
 * logsift_diskq.c: libFuzzer target for the disk-buffer file (diskq.c).
 * The input is the file: it is loaded as a queue file of 8 KiB to 64 KiB
 * (first byte), every record it yields is read, one more is pushed and the
 * queue synced. A hostile or damaged file must load up to its damage or be
 * refused; never a read outside the ring, a crash or an endless walk.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "diskq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[256];
	if (!path[0])
		snprintf(path, sizeof path, "%s/logsift_diskq.%d",
			 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
	if (size < 1)
		return 0;
	unlink(path);
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0600);
	if (fd < 0)
		return 0;
	if (write(fd, data + 1, size - 1) != (ssize_t)(size - 1)) {
		close(fd);
		return 0;
	}
	close(fd);
	struct ls_qf q;
	struct ok_err e;
	if (ls_qf_open(&q, path, (int64_t)(1 + data[0] % 8) * 8192, false, 0.5, &e) == 0) {
		uint64_t n = ls_qf_length(&q);
		for (uint64_t i = 0; i < n; i++)
			if (ls_qf_read(&q) < 0)
				abort(); /* the walk at open said this record is whole */
		ls_qf_ack(&q, n);
		ls_qf_push(&q, "x", 1);
		ls_qf_sync(&q);
		ls_qf_close(&q);
	}
	unlink(path);
	return 0;
}
