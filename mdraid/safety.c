/*
 * safety.c: refuse members the running kernel is using. A member held by
 * the md driver (listed in /proc/mdstat or with entries under
 * /sys/dev/block/M:m/holders) or an image file backing a loop device must
 * not be written behind the kernel's back: its caches and superblock
 * updates would undo ours. O_EXCL (array.c) catches most block devices;
 * this catches the rest and names the holder.
 */
#include "mdraid_int.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* Is kernel device name dev listed as a member in /proc/mdstat? Returns the
 * md name in md (size 32) if so. */
static bool in_mdstat(const char *dev, char *md)
{
	FILE *f = fopen("/proc/mdstat", "r");
	char line[4096];
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
	char sys[128], link[PATH_MAX], md[32];
	snprintf(sys, sizeof(sys), "/sys/dev/block/%u:%u", major(st->st_rdev), minor(st->st_rdev));
	ssize_t n = readlink(sys, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		const char *dev = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
		if (in_mdstat(dev, md))
			return ok_err_at(e, -EBUSY, path, OK_ERR_NOPOS,
					 "is a member of running array %s (/proc/mdstat)", md);
	}
	char holders[160];
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
	DIR *d = opendir("/sys/block");
	if (!d)
		return 0;
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (strncmp(de->d_name, "loop", 4) != 0)
			continue;
		char bf[300], back[PATH_MAX];
		snprintf(bf, sizeof(bf), "/sys/block/%s/loop/backing_file", de->d_name);
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
