/*
 * safety.c: refuse members the running kernel is using. A member held by
 * the md driver (listed in /proc/mdstat or with entries under
 * /sys/dev/block/M:m/holders) or an image file backing a loop device must
 * not be written behind the kernel's back: its caches and superblock
 * updates would undo ours. O_EXCL (array.c) catches most block devices;
 * this catches the rest and names the holder.
 *
 * io_sys.sysroot (lib/io.h; main.c sets it from MDRAID_SYSROOT, a test
 * hook documented in the man page): a directory read instead of / for
 * proc/mdstat, sys/dev/block and sys/block, so the tests can show a fake
 * running array or holder on a host without the md driver.
 */
#include "io.h"
#include "mdraid_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* The path of the kernel file rel ("/proc/mdstat") under io_sys.sysroot. */
static void sys_path(char *out, size_t n, const char *rel)
{
	const char *root = io_sys.sysroot;
	snprintf(out, n, "%s%s", root ? root : "", rel);
}

/* Is kernel device name dev listed as a member in /proc/mdstat? Returns the
 * md name in md (size 32) if so. */
static bool in_mdstat(const char *dev, char *md)
{
	char line[4096];
	sys_path(line, sizeof(line), "/proc/mdstat");
	FILE *f = fopen(line, "r");
	bool found = false;
	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		char name[32];
		if (sscanf(line, "%31s :", name) != 1 || strncmp(name, "md", 2) != 0)
			continue;
		/* "md0 : active raid6 sdd[3] sdc[2](F) ..." */
		for (char *tok = strtok(line, " \n"); tok; tok = strtok(NULL, " \n")) {
			char *br = strchr(tok, '[');
			if (!br)
				continue;
			*br = 0;
			if (strcmp(tok, dev) == 0) {
				snprintf(md, 32, "%s", name);
				found = true;
				break;
			}
		}
	}
	fclose(f);
	return found;
}

static int check_blockdev(const char *path, const struct stat *st, struct ok_err *e)
{
	char rel[64], sys[PATH_MAX], link[PATH_MAX], md[32];
	snprintf(rel, sizeof(rel), "/sys/dev/block/%u:%u", major(st->st_rdev), minor(st->st_rdev));
	sys_path(sys, sizeof(sys), rel);
	ssize_t n = readlink(sys, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		const char *dev = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
		if (in_mdstat(dev, md))
			return ok_err_at(e, -EBUSY, path, OK_ERR_NOPOS,
					 "is a member of running array %s (/proc/mdstat)", md);
	}
	char holders[PATH_MAX + 16];
	snprintf(holders, sizeof(holders), "%s/holders", sys);
	DIR *d = opendir(holders);
	if (d) {
		struct dirent *de;
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			int rc = ok_err_at(e, -EBUSY, path, OK_ERR_NOPOS, "is held by %s (%s)",
					   de->d_name, holders);
			closedir(d);
			return rc;
		}
		closedir(d);
	}
	return 0;
}

static int check_file(const char *path, struct ok_err *e)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return 0;
	char sysblock[PATH_MAX];
	sys_path(sysblock, sizeof(sysblock), "/sys/block");
	DIR *d = opendir(sysblock);
	if (!d)
		return 0;
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		char bf[PATH_MAX + 300], back[PATH_MAX];
		snprintf(bf, sizeof(bf), "%s/%s/loop/backing_file", sysblock, de->d_name);
		FILE *f = fopen(bf, "r");
		if (!f)
			continue;
		if (fgets(back, sizeof(back), f)) {
			back[strcspn(back, "\n")] = 0;
			if (strcmp(back, real) == 0)
				rc = ok_err_at(e, -EBUSY, path, OK_ERR_NOPOS,
					       "backs loop device /dev/%s: use that device, or "
					       "detach it first",
					       de->d_name);
		}
		fclose(f);
	}
	closedir(d);
	return rc;
}

int md_safety_check(const char *path, int fd, struct ok_err *e)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot stat");
	if (S_ISBLK(st.st_mode))
		return check_blockdev(path, &st, e);
	if (S_ISREG(st.st_mode))
		return check_file(path, e);
	return 0;
}
