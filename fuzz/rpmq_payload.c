/*
 * rpmq_payload.c: libFuzzer target for rpmq's payload reader: the input is
 * a whole package; whatever parses is written out with --cpio and --tar,
 * its first regular file with --cat (to /dev/null) and extracted (all
 * files, and all files selected by the PATH "/") beneath a fresh temporary directory, which is
 * then removed. Exercises the decompressor hand-off, newc and stripped cpio
 * parsing, header lookups and the beneath-DIR path walker. A fuzzer cannot
 * forge digests, so odd-sized inputs are extracted without the size and
 * digest checks (RPM_X_NOVERIFY) to reach the code behind them; --safe
 * always, so no device node is made.
 */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpmq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int pkg_fd(const uint8_t *data, size_t size)
{
	char tmpl[] = "/tmp/rpmq-fuzz-XXXXXX";
	int fd = mkstemp(tmpl);
	if (fd < 0)
		return -1;
	unlink(tmpl);
	if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rpm_pkg p;
	struct ok_err e;
	int fd = pkg_fd(data, size);
	if (fd < 0)
		return 0;
	if (rpm_pkg_read(&p, fd, "fuzz", &e) == 0) {
		unsigned nov = size & 1 ? RPM_X_NOVERIFY : 0;
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			rpm_write_cpio(&p, null, &e);
			rpm_write_tar(&p, null, nov, &e);
			/* --cat of the first regular file, --extract of "/" */
			struct rpm_file *f = NULL;
			size_t n = 0;
			if (rpm_files(&p, &f, &n, &e) == 0) {
				for (size_t i = 0; i < n; i++)
					if ((f[i].mode & 0170000) == 0100000 &&
					    !(f[i].flags & 64)) {
						const char *path = f[i].path;
						struct rpm_extract_opts o = {nov, &path, 1, null};
						rpm_extract_files(&p, NULL, &o, &e);
						break;
					}
				rpm_files_free(f, n);
			}
			close(null);
		}
		char dir[] = "/tmp/rpmq-fuzz-x-XXXXXX";
		if (mkdtemp(dir)) {
			rpm_extract(&p, dir, RPM_X_SAFE | nov, &e);
			static const char *const all[] = {"/"};
			struct rpm_extract_opts o = {RPM_X_SAFE | nov, all, 1, -1};
			rpm_extract_files(&p, dir, &o, &e);
			nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		}
		p.fd = -1;
		rpm_pkg_close(&p);
	}
	close(fd);
	return 0;
}
