/*
 * devices.c: which disks exist and who uses them, from sysfs and procfs.
 *
 * Divisions: sysfs helpers; reading one disk (uc_dev_read); the candidate
 * list (uc_dev_scan); resolving a --device path; the guards (uc_dev_usage,
 * uc_dev_holds_file).
 *
 * Why not libudev or lsblk: the facts we need are a handful of sysfs files,
 * udev may not run at all (containers, rescue systems), and tests must be
 * able to hand us a fake tree (struct uc_env) describing a USB stick, a card
 * reader, an internal disk, a mounted partition, swap and md/dm holders.
 * Everything here is read-only.
 */
#include "usbcopy.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

/* ---------------------------------------------------------------- sysfs helpers */

/* Read a small attribute file into buf, trimmed of surrounding white space.
 * Returns its length or -errno. */
static int read_attr(const char *dir, const char *name, char *buf, size_t size)
{
	char p[PATH_MAX];
	if (snprintf(p, sizeof(p), "%s/%s", dir, name) >= (int)sizeof(p))
		return -ENAMETOOLONG;
	FILE *f = fopen(p, "re");
	if (!f)
		return -errno;
	size_t n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = 0;
	while (n && isspace((unsigned char)buf[n - 1]))
		buf[--n] = 0;
	size_t lead = 0;
	while (buf[lead] && isspace((unsigned char)buf[lead]))
		lead++;
	memmove(buf, buf + lead, n - lead + 1);
	return (int)(n - lead);
}

static int read_u64(const char *dir, const char *name, uint64_t *v)
{
	char b[64];
	int r = read_attr(dir, name, b, sizeof(b));
	if (r < 0)
		return r;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(b, &end, 10);
	if (end == b || errno)
		return -EINVAL;
	*v = x;
	return 0;
}

static int file_exists(const char *dir, const char *name)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	return access(p, F_OK) == 0;
}

/* Collapse runs of blanks into one space (SCSI INQUIRY strings are padded). */
static void squeeze(char *s)
{
	char *w = s;
	int sp = 0;
	for (char *r = s; *r; r++) {
		if (isspace((unsigned char)*r)) {
			sp = 1;
			continue;
		}
		if (sp && w != s)
			*w++ = ' ';
		sp = 0;
		*w++ = *r;
	}
	*w = 0;
}

static int skip_name(const char *n)
{
	static const char *const skip[] = {"loop", "ram", "zram", "dm-", "md", "sr", "nbd", NULL};
	if (n[0] == '.')
		return 1;
	for (int i = 0; skip[i]; i++)
		if (!strncmp(n, skip[i], strlen(skip[i])))
			return 1;
	return 0;
}

/* ---------------------------------------------------------------- one disk */

void uc_dev_desc(const struct uc_dev *d, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s", d->vendor, d->vendor[0] && d->model[0] ? " " : "", d->model);
	if (!buf[0])
		snprintf(buf, size, "%s", d->name);
}

int uc_dev_is_candidate(const struct uc_dev *d)
{
	return d->usb || d->removable || d->mmc;
}

/*
 * Find the USB device directory above a disk's sysfs device (the first
 * ancestor with idVendor) and read its serial; "" if none.
 */
static void usb_serial(const char *sysfs_root, const char *real, char *serial, size_t size)
{
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s", real);
	size_t rootlen = strlen(sysfs_root);
	for (;;) {
		char *slash = strrchr(p, '/');
		if (!slash || (size_t)(slash - p) <= rootlen)
			return;
		*slash = 0;
		if (file_exists(p, "idVendor")) {
			if (read_attr(p, "serial", serial, size) < 0)
				serial[0] = 0;
			return;
		}
	}
}

int uc_dev_read(const struct uc_env *env, const char *name, struct uc_dev *d, struct ok_err *e)
{
	char dir[PATH_MAX], b[256];
	memset(d, 0, sizeof(*d));
	if (strchr(name, '/') ||
	    snprintf(dir, sizeof(dir), "%s/block/%s", env->sysfs_root, name) >= (int)sizeof(dir))
		return ok_err_at(e, -EINVAL, name, OK_ERR_NOPOS, "not a disk name");
	if (access(dir, F_OK) < 0)
		return ok_err_at(e, -ENOENT, dir, OK_ERR_NOPOS, "no such disk");
	if (file_exists(dir, "partition"))
		return ok_err_at(e, -EINVAL, name, OK_ERR_NOPOS,
				 "is a partition; name the whole disk");
	snprintf(d->name, sizeof(d->name), "%s", name);
	snprintf(d->path, sizeof(d->path), "/dev/%s", name);
	if (read_attr(dir, "dev", b, sizeof(b)) < 0 ||
	    sscanf(b, "%u:%u", &d->major, &d->minor) != 2)
		return ok_err_at(e, -EINVAL, dir, OK_ERR_NOPOS, "cannot read dev (major:minor)");
	uint64_t v;
	if (read_u64(dir, "size", &v) < 0)
		return ok_err_at(e, -EINVAL, dir, OK_ERR_NOPOS, "cannot read size");
	d->size_bytes = v * 512; /* always 512-byte units, whatever the sector size */
	d->removable = read_u64(dir, "removable", &v) == 0 && v == 1;
	d->ro = read_u64(dir, "ro", &v) == 0 && v == 1;
	d->mmc = !strncmp(name, "mmcblk", 6);
	d->loop = !strncmp(name, "loop", 4);
	char real[PATH_MAX], root[PATH_MAX];
	if (realpath(dir, real) && realpath(env->sysfs_root, root)) {
		/* look below the sysfs root only: a fake tree may live in /tmp/usb... */
		size_t rl = strlen(root);
		if (!strncmp(real, root, rl) && strstr(real + rl, "/usb"))
			d->usb = 1;
	}
	char devdir[PATH_MAX];
	snprintf(devdir, sizeof(devdir), "%s/device", dir);
	if (d->mmc) {
		if (read_attr(devdir, "type", d->vendor, sizeof(d->vendor)) <= 0)
			snprintf(d->vendor, sizeof(d->vendor), "SD");
		read_attr(devdir, "name", d->model, sizeof(d->model));
		read_attr(devdir, "serial", d->serial, sizeof(d->serial));
	} else {
		if (read_attr(devdir, "vendor", d->vendor, sizeof(d->vendor)) < 0)
			d->vendor[0] = 0;
		if (read_attr(devdir, "model", d->model, sizeof(d->model)) < 0)
			d->model[0] = 0;
		char rdev[PATH_MAX];
		if (d->usb && realpath(devdir, rdev))
			usb_serial(env->sysfs_root, rdev, d->serial, sizeof(d->serial));
	}
	if (d->loop && read_attr(dir, "loop/backing_file", d->backing, sizeof(d->backing)) < 0)
		d->backing[0] = 0;
	squeeze(d->vendor);
	squeeze(d->model);
	return 0;
}

/* ---------------------------------------------------------------- the list */

static int cmp_dev(const void *a, const void *b)
{
	const struct uc_dev *x = a, *y = b;
	size_t lx = strlen(x->name), ly = strlen(y->name);
	if (lx != ly) /* sdb before sdaa, as the kernel numbers them */
		return lx < ly ? -1 : 1;
	return strcmp(x->name, y->name);
}

int uc_dev_scan(const struct uc_env *env, struct uc_dev **devs, size_t *n, struct ok_err *e)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/block", env->sysfs_root);
	*devs = NULL;
	*n = 0;
	DIR *dp = opendir(dir);
	if (!dp)
		return ok_err_at(e, -errno, dir, OK_ERR_NOPOS, "cannot list disks");
	size_t cap = 0;
	struct dirent *de;
	int r = 0;
	while ((de = readdir(dp))) {
		if (skip_name(de->d_name))
			continue;
		struct uc_dev d;
		if (uc_dev_read(env, de->d_name, &d, NULL) < 0 || !uc_dev_is_candidate(&d))
			continue;
		if (d.size_bytes == 0) /* an empty card reader slot */
			continue;
		if (*n == cap) {
			cap = cap ? 2 * cap : 8;
			struct uc_dev *nd = realloc(*devs, cap * sizeof(**devs));
			if (!nd) {
				r = ok_err_at(e, -ENOMEM, dir, OK_ERR_NOPOS, "out of memory");
				break;
			}
			*devs = nd;
		}
		(*devs)[(*n)++] = d;
	}
	closedir(dp);
	if (r < 0) {
		free(*devs);
		*devs = NULL;
		*n = 0;
		return r;
	}
	if (*n)
		qsort(*devs, *n, sizeof(**devs), cmp_dev);
	return 0;
}

/* ---------------------------------------------------------------- resolving a path */

/* Is name a partition of some disk in the tree (block/DISK/name/partition)? */
static int is_partition(const struct uc_env *env, const char *name)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/block", env->sysfs_root);
	DIR *dp = opendir(dir);
	if (!dp)
		return 0;
	struct dirent *de;
	int found = 0;
	while (!found && (de = readdir(dp))) {
		char p[PATH_MAX];
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s/%s", dir, de->d_name, name);
		found = file_exists(p, "partition");
	}
	closedir(dp);
	return found;
}

int uc_dev_resolve(const struct uc_env *env, const char *path, struct uc_dev *d, struct ok_err *e)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	if (!strncmp(path, "/dev/", 5) && *base) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s/block/%s", env->sysfs_root, base);
		if (access(dir, F_OK) == 0)
			return uc_dev_read(env, base, d, e) < 0
				   ? ok_err_set_class(e, OK_CLASS_REFUSED, -EINVAL)
				   : 1;
		if (is_partition(env, base))
			return ok_errc_at(e, OK_CLASS_REFUSED, -EINVAL, path, OK_ERR_NOPOS,
					  "is a partition; name the whole disk");
	}
	struct stat st;
	if (stat(path, &st) < 0) {
		if (errno == ENOENT && strncmp(path, "/dev/", 5))
			return 0; /* a new image file */
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot open device");
	}
	if (S_ISREG(st.st_mode))
		return 0;
	if (!S_ISBLK(st.st_mode))
		return ok_errc_at(e, OK_CLASS_IO, -ENODEV, path, OK_ERR_NOPOS,
				  "not a block device or regular file");
	char link[PATH_MAX], real[PATH_MAX];
	snprintf(link, sizeof(link), "%s/dev/block/%u:%u", env->sysfs_root, major(st.st_rdev),
		 minor(st.st_rdev));
	if (!realpath(link, real))
		return ok_errc_at(e, OK_CLASS_IO, -ENODEV, path, OK_ERR_NOPOS, "no sysfs entry %s",
				  link);
	if (file_exists(real, "partition"))
		return ok_errc_at(e, OK_CLASS_REFUSED, -EINVAL, path, OK_ERR_NOPOS,
				  "is a partition; name the whole disk");
	const char *name = strrchr(real, '/') + 1;
	return uc_dev_read(env, name, d, e) < 0 ? -EINVAL : 1;
}

/* ---------------------------------------------------------------- the guards */

/* The disk, its partitions and everything stacked on them. */
struct devset {
	struct {
		char name[64];
		unsigned major, minor;
		int holder;	   /* 1: a dm/md holder, 2: a loop device over a member,
				      0: the disk or a partition of it or of a holder */
		char over[64];	   /* loops: the member it is set up over */
		char offset[24];   /* loops: loop/offset, bytes */
		char mounted[256]; /* where it is mounted, "" if not */
		int pid;	   /* a process holding it open (not us), or 0 */
	} v[128];
	int n;
};

static void set_add(const struct uc_env *env, struct devset *s, const char *name, int holder)
{
	for (int i = 0; i < s->n; i++)
		if (!strcmp(s->v[i].name, name))
			return;
	if (s->n == (int)(sizeof(s->v) / sizeof(s->v[0])))
		return;
	char dir[PATH_MAX], b[64];
	/* partitions live under their disk; holders at block/NAME */
	snprintf(dir, sizeof(dir), "%s/class/block/%s", env->sysfs_root, name);
	if (access(dir, F_OK) < 0)
		snprintf(dir, sizeof(dir), "%s/block/%s", env->sysfs_root, name);
	int i = s->n++;
	memset(&s->v[i], 0, sizeof(s->v[i]));
	snprintf(s->v[i].name, sizeof(s->v[i].name), "%s", name);
	s->v[i].holder = holder;
	s->v[i].major = s->v[i].minor = ~0u;
	if (read_attr(dir, "dev", b, sizeof(b)) >= 0)
		sscanf(b, "%u:%u", &s->v[i].major, &s->v[i].minor);
}

/* Add every holder listed in dir/holders (and theirs, recursively). */
static void add_holders(const struct uc_env *env, struct devset *s, const char *dir, int depth)
{
	char hd[PATH_MAX];
	snprintf(hd, sizeof(hd), "%s/holders", dir);
	DIR *dp = opendir(hd);
	if (!dp)
		return;
	struct dirent *de;
	while ((de = readdir(dp))) {
		if (de->d_name[0] == '.')
			continue;
		set_add(env, s, de->d_name, 1);
		if (depth < 8) {
			char sub[PATH_MAX];
			snprintf(sub, sizeof(sub), "%s/block/%s", env->sysfs_root, de->d_name);
			add_holders(env, s, sub, depth + 1);
		}
	}
	closedir(dp);
}

/* Add the partitions of block device name (sysfs dir) and their holders. */
static void add_parts(const struct uc_env *env, struct devset *s, const char *dir, const char *name)
{
	DIR *dp = opendir(dir);
	if (!dp)
		return;
	struct dirent *de;
	size_t nl = strlen(name);
	while ((de = readdir(dp))) {
		if (strncmp(de->d_name, name, nl))
			continue;
		char pd[PATH_MAX], b[64];
		snprintf(pd, sizeof(pd), "%s/%s", dir, de->d_name);
		if (!file_exists(pd, "partition"))
			continue;
		if (s->n < (int)(sizeof(s->v) / sizeof(s->v[0]))) {
			int i = s->n++;
			memset(&s->v[i], 0, sizeof(s->v[i]));
			snprintf(s->v[i].name, sizeof(s->v[i].name), "%s", de->d_name);
			s->v[i].major = s->v[i].minor = ~0u;
			if (read_attr(pd, "dev", b, sizeof(b)) >= 0)
				sscanf(b, "%u:%u", &s->v[i].major, &s->v[i].minor);
		}
		add_holders(env, s, pd, 0);
	}
	closedir(dp);
}

static int set_find(const struct devset *s, const char *devpath, unsigned ma, unsigned mi);

/*
 * Loop devices set up over a member of s: the kernel lists no holder for
 * them (only dm and md register), so block/loop*\/loop/backing_file is read;
 * a device path there is matched by name and by its device number. Each one
 * found brings its own partitions, holders and loops, up to a fixpoint.
 */
static void add_loops(const struct uc_env *env, struct devset *s)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/block", env->sysfs_root);
	for (int changed = 1, round = 0; changed && round < 8; round++) {
		changed = 0;
		DIR *dp = opendir(dir);
		if (!dp)
			return;
		struct dirent *de;
		while ((de = readdir(dp))) {
			if (strncmp(de->d_name, "loop", 4))
				continue;
			int known = 0;
			for (int i = 0; i < s->n && !known; i++)
				known = !strcmp(s->v[i].name, de->d_name);
			char ld[PATH_MAX], back[512];
			snprintf(ld, sizeof(ld), "%s/%s", dir, de->d_name);
			if (known || read_attr(ld, "loop/backing_file", back, sizeof(back)) < 0 ||
			    strncmp(back, "/dev/", 5))
				continue;
			struct stat st;
			unsigned ma = ~0u, mi = ~0u;
			if (stat(back, &st) == 0 && S_ISBLK(st.st_mode))
				ma = major(st.st_rdev), mi = minor(st.st_rdev);
			int m = set_find(s, back, ma, mi);
			if (m < 0 || s->n == (int)(sizeof(s->v) / sizeof(s->v[0])))
				continue;
			char over[64];
			snprintf(over, sizeof(over), "%s", s->v[m].name);
			set_add(env, s, de->d_name, 2);
			int i = s->n - 1;
			snprintf(s->v[i].over, sizeof(s->v[i].over), "%s", over);
			if (read_attr(ld, "loop/offset", s->v[i].offset, sizeof(s->v[i].offset)) <
			    0)
				s->v[i].offset[0] = 0;
			add_holders(env, s, ld, 0);
			add_parts(env, s, ld, de->d_name);
			changed = 1;
		}
		closedir(dp);
	}
}

static void collect(const struct uc_env *env, const struct uc_dev *d, struct devset *s)
{
	char dir[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s/block/%s", env->sysfs_root, d->name);
	s->n = 0;
	set_add(env, s, d->name, 0);
	s->v[0].major = d->major;
	s->v[0].minor = d->minor;
	add_holders(env, s, dir, 0);
	add_parts(env, s, dir, d->name);
	add_loops(env, s);
}

/*
 * Members other than the disk itself that a process holds open (a loop
 * partition read by fsck, a dm device used by a VM): /proc/PID/fd links to
 * their device nodes. The disk itself is left to O_EXCL at open time.
 */
static void find_openers(const struct uc_env *env, struct devset *s)
{
	if (s->n < 2)
		return;
	DIR *pd = opendir(env->proc_root);
	if (!pd)
		return;
	struct dirent *de;
	int self = getpid();
	while ((de = readdir(pd))) {
		int pid = atoi(de->d_name);
		if (pid <= 0 || pid == self)
			continue;
		char fdd[PATH_MAX];
		snprintf(fdd, sizeof(fdd), "%s/%d/fd", env->proc_root, pid);
		DIR *fp = opendir(fdd);
		if (!fp)
			continue;
		struct dirent *fe;
		while ((fe = readdir(fp))) {
			char lp[PATH_MAX + 300];
			struct stat st;
			snprintf(lp, sizeof(lp), "%s/%s", fdd, fe->d_name);
			if (fe->d_name[0] == '.' || stat(lp, &st) < 0 || !S_ISBLK(st.st_mode))
				continue;
			int i = set_find(s, NULL, major(st.st_rdev), minor(st.st_rdev));
			if (i > 0 && !s->v[i].pid)
				s->v[i].pid = pid;
		}
		closedir(fp);
	}
	closedir(pd);
}

/* The member of s named by a /dev path or a major:minor, or -1. */
static int set_find(const struct devset *s, const char *devpath, unsigned ma, unsigned mi)
{
	const char *base = NULL;
	if (devpath && !strncmp(devpath, "/dev/", 5)) {
		base = strrchr(devpath, '/') + 1;
		if (!strncmp(devpath, "/dev/mapper/", 12))
			base = NULL; /* names differ from dm-N: go by numbers */
	}
	for (int i = 0; i < s->n; i++) {
		if (base && !strcmp(base, s->v[i].name))
			return i;
		if (s->v[i].major == ma && s->v[i].minor == mi && ma != ~0u)
			return i;
	}
	return -1;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
	char *w = s;
	for (char *r = s; *r; r++) {
		if (r[0] == '\\' && r[1] >= '0' && r[1] <= '3' && r[2] >= '0' && r[2] <= '7' &&
		    r[3] >= '0' && r[3] <= '7') {
			*w++ = (char)((r[1] - '0') * 64 + (r[2] - '0') * 8 + (r[3] - '0'));
			r += 3;
		} else {
			*w++ = *r;
		}
	}
	*w = 0;
}

static int is_system_mount(const char *target)
{
	return !strcmp(target, "/") || !strcmp(target, "/boot") || !strncmp(target, "/boot/", 6) ||
	       !strcmp(target, "/usr");
}

/* "loop5 (a loop device over sdb1 at offset 1048576)" or just the name. */
static void member_desc(const struct devset *s, int i, char *buf, size_t n)
{
	if (s->v[i].holder == 2)
		snprintf(buf, n, "%s (a loop device over %s%s%s)", s->v[i].name, s->v[i].over,
			 s->v[i].offset[0] && strcmp(s->v[i].offset, "0") ? " at offset " : "",
			 s->v[i].offset[0] && strcmp(s->v[i].offset, "0") ? s->v[i].offset : "");
	else
		snprintf(buf, n, "%s", s->v[i].name);
}

int uc_dev_usage(const struct uc_env *env, const struct uc_dev *d, char *why, size_t whysize,
		 struct uc_mount *mounts, size_t nmax, size_t *nm, struct ok_err *e)
{
	struct devset *s = calloc(1, sizeof(*s));
	if (!s)
		return ok_err_at(e, -ENOMEM, d->path, OK_ERR_NOPOS, "out of memory");
	collect(env, d, s);
	find_openers(env, s);
	int worst = UC_USE_FREE;
	why[0] = 0;
	*nm = 0;
	char p[PATH_MAX];
	snprintf(p, sizeof(p), "%s/swaps", env->proc_root);
	FILE *f = fopen(p, "re");
	char line[4096];
	while (f && fgets(line, sizeof(line), f)) {
		char dev[1024];
		if (sscanf(line, "%1023s", dev) != 1 || strncmp(dev, "/dev/", 5))
			continue;
		unescape(dev);
		int i = set_find(s, dev, ~0u, ~0u);
		if (i >= 0 && worst < UC_USE_SYSTEM) {
			worst = UC_USE_SYSTEM;
			snprintf(why, whysize, "%s is in use as swap", s->v[i].name);
		}
	}
	if (f)
		fclose(f);
	snprintf(p, sizeof(p), "%s/self/mountinfo", env->proc_root);
	f = fopen(p, "re");
	if (!f) {
		int r = ok_err_at(e, -errno, p, OK_ERR_NOPOS, "cannot read the mount table");
		free(s);
		return r;
	}
	char first_mount[512] = "";
	while (fgets(line, sizeof(line), f)) {
		/* ID PARENT MAJ:MIN ROOT TARGET OPTS [OPTIONAL...] - FSTYPE SOURCE SUPER */
		unsigned ma, mi;
		char target[1024];
		if (sscanf(line, "%*s %*s %u:%u %*s %1023s", &ma, &mi, target) != 3)
			continue;
		char *sep = strstr(line, " - ");
		char fstype[64] = "", source[1024] = "";
		if (sep)
			sscanf(sep + 3, "%63s %1023s", fstype, source);
		unescape(target);
		unescape(source);
		int i = set_find(s, source, ma, mi);
		if (i < 0)
			continue;
		if (!s->v[i].mounted[0])
			snprintf(s->v[i].mounted, sizeof(s->v[i].mounted), "%s", target);
		if (is_system_mount(target) && worst < UC_USE_SYSTEM) {
			worst = UC_USE_SYSTEM;
			snprintf(why, whysize, "%s is mounted on %s", s->v[i].name, target);
		}
		if (!first_mount[0])
			snprintf(first_mount, sizeof(first_mount), "%s is mounted on %s",
				 s->v[i].name, target);
		if (*nm < nmax) {
			snprintf(mounts[*nm].source, sizeof(mounts[*nm].source), "%s",
				 s->v[i].name);
			snprintf(mounts[*nm].target, sizeof(mounts[*nm].target), "%s", target);
			(*nm)++;
		}
	}
	fclose(f);
	/* held: a holder stacked on the disk (mounted ones named first), or a
	 * member some process has open; --unmount cannot help with these */
	int held = -1, rank = 0;
	for (int i = 1; i < s->n; i++) {
		int r = s->v[i].holder && s->v[i].mounted[0] ? 3
			: s->v[i].pid			     ? 2
			: s->v[i].holder		     ? 1
							     : 0;
		if (r > rank)
			rank = r, held = i;
	}
	if (held > 0 && worst < UC_USE_HELD) {
		char desc[160], comm[64] = "?";
		member_desc(s, held, desc, sizeof(desc));
		worst = UC_USE_HELD;
		if (rank == 3) {
			snprintf(why, whysize, "%s is mounted on %s", desc, s->v[held].mounted);
		} else if (rank == 2) {
			char cp[PATH_MAX];
			snprintf(cp, sizeof(cp), "%s/%d", env->proc_root, s->v[held].pid);
			read_attr(cp, "comm", comm, sizeof(comm));
			snprintf(why, whysize, "%s is open by process %d (%s)", desc,
				 s->v[held].pid, comm);
		} else if (s->v[held].holder == 2) {
			snprintf(why, whysize, "%s is set up over it", desc);
		} else {
			snprintf(why, whysize, "%s is in use by %s", d->path, s->v[held].name);
		}
	}
	if (worst < UC_USE_MOUNTED && first_mount[0]) {
		worst = UC_USE_MOUNTED;
		snprintf(why, whysize, "%s", first_mount);
	}
	free(s);
	return worst;
}

int uc_dev_holds_file(const struct uc_env *env, const struct uc_dev *d, const char *image_path,
		      char *why, size_t whysize)
{
	struct stat st;
	if (stat(image_path, &st) < 0)
		return -errno;
	char real[PATH_MAX];
	if (d->backing[0] && realpath(image_path, real) && !strcmp(real, d->backing)) {
		snprintf(why, whysize, "the image %s is the backing file of %s", image_path,
			 d->path);
		return 1;
	}
	struct devset *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	collect(env, d, s);
	int i = set_find(s, NULL, major(st.st_dev), minor(st.st_dev));
	if (i >= 0)
		snprintf(why, whysize, "the image %s lives on %s (%s)", image_path, d->path,
			 s->v[i].name);
	free(s);
	return i >= 0;
}
