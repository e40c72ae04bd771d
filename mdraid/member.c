/*
 * member.c: the member layer (member.h is the manual): open a member with
 * the checks every verb makes, load and check what its superblock points
 * at, read and write it, record bad blocks, choose the array's members,
 * run per-member I/O in parallel, and size the I/O buffers.
 *
 * Why one file: read/write (array.c, rw.c) and grow (reshape.c) used to
 * open, select and drive members each their own way, and a truncated member
 * that read refused made grow stop half-way (issue 15). Whatever a verb
 * refuses, every verb refuses, because it is decided here.
 *
 * Divisions (keep them): opening and load checks; member I/O and the
 * bad-block log; selection; forced assembly; parallel jobs; the memory
 * budget.
 */
#include "member.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "mdraid_int.h"

/* ------------------------------------------------------------------ */
/* Opening and load checks */

/* Open path for reading or writing: O_DIRECT unless refused (tmpfs before
 * 6.6 says EINVAL), O_EXCL for block devices (the kernel's own claim makes
 * that fail with EBUSY while md or a mount holds it). */
static int open_member(struct md_member *m, bool write, bool direct, struct ok_err *e)
{
	struct stat st;
	int flags = (write ? O_RDWR : O_RDONLY) | O_CLOEXEC;
	if (stat(m->path, &st) < 0)
		return ok_err_at(e, -errno, m->path, OK_ERR_NOPOS, "cannot open");
	if (S_ISBLK(st.st_mode))
		flags |= O_EXCL;
	else if (!S_ISREG(st.st_mode))
		return ok_err_at(e, -EINVAL, m->path, OK_ERR_NOPOS,
				 "not a regular file or block device");
	m->fd = -1;
	if (direct)
		m->fd = open(m->path, flags | O_DIRECT);
	m->direct = m->fd >= 0;
	if (m->fd < 0)
		m->fd = open(m->path, flags);
	if (m->fd < 0)
		return ok_err_at(e, errno == EBUSY ? -EBUSY : -errno, m->path, OK_ERR_NOPOS,
				 errno == EBUSY ? "in use (opened exclusively by the kernel or "
						  "another program)"
						: "cannot open");
	if (flock(m->fd, (write ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0)
		return ok_err_at(e, -EBUSY, m->path, OK_ERR_NOPOS,
				 "locked by another program (flock)");
	int64_t size = io_size(m->fd);
	if (size < 0)
		return ok_err_at(e, (int)size, m->path, OK_ERR_NOPOS, "cannot get the size");
	m->dev_sectors = (uint64_t)size / 512;
	m->fd_buf = -1;
	return 0;
}

int md_member_open(struct md_member *m, unsigned flags, struct ok_err *e)
{
	int rc = open_member(m, flags & MD_OPEN_WRITE, !(flags & MD_OPEN_NO_DIRECT), e);
	if (rc == 0 && !(flags & MD_OPEN_NO_SAFETY))
		rc = md_safety_check(m->path, m->fd, e);
	return rc;
}

/* Read bitmap super and bad-block log of a member whose sb is loaded. */
static int load_extras(struct md_member *m, struct ok_err *e)
{
	struct md_sb *sb = &m->sb;
	uint8_t *buf = io_alloc(MD_SB_BLOCK);
	int rc = 0;
	if (!buf)
		return -ENOMEM;
	memset(&m->bm, 0, sizeof(m->bm));
	if (sb->feature_map & MD_F_BITMAP_OFFSET) {
		int64_t at = (int64_t)sb->super_offset + sb->bitmap_offset;
		if (at < 0 || (uint64_t)at + 8 > m->dev_sectors) {
			rc = ok_err_at(
			    e, -EINVAL, m->path, (long long)(sb->super_offset * 512 + 96),
			    "bitmap_offset %d points outside the device", sb->bitmap_offset);
			goto out;
		}
		int fd = md_member_fd(m, buf, MD_SB_BLOCK, (uint64_t)at * 512, false);
		ssize_t r = fd < 0 ? -errno : io_pread_full(fd, buf, MD_SB_BLOCK, (off_t)at * 512);
		if (r < 256) {
			rc = ok_err_at(e, r < 0 ? (int)r : -EIO, m->path, (long long)at * 512,
				       "cannot read the bitmap superblock");
			goto out;
		}
		rc = md_bitmap_parse(&m->bm, buf, sb->set_uuid, m->path, (long long)at * 512, e);
		if (rc < 0)
			goto out;
		m->bm.start = (uint64_t)at;
	}
	if ((sb->feature_map & MD_F_BAD_BLOCKS) && sb->bblog_offset && sb->bblog_size) {
		int64_t at = (int64_t)sb->super_offset + sb->bblog_offset;
		size_t bytes = (size_t)sb->bblog_size * 512;
		if (at < 0 || (uint64_t)at + sb->bblog_size > m->dev_sectors ||
		    bytes > MD_SB_BLOCK * 16) {
			rc = ok_err_at(e, -EINVAL, m->path,
				       (long long)(sb->super_offset * 512 + 188),
				       "bad-block log (%u sectors at %d) outside the device",
				       sb->bblog_size, sb->bblog_offset);
			goto out;
		}
		size_t rd = (bytes + 4095) & ~(size_t)4095;
		uint8_t *bb = io_alloc(rd);
		if (!bb) {
			rc = -ENOMEM;
			goto out;
		}
		int fd = md_member_fd(m, bb, rd, (uint64_t)at * 512, false);
		ssize_t r = fd < 0 ? -errno : io_pread_full(fd, bb, rd, (off_t)at * 512);
		if (r < (ssize_t)bytes)
			rc = ok_err_at(e, r < 0 ? (int)r : -EIO, m->path, (long long)at * 512,
				       "cannot read the bad-block log");
		else
			rc = md_bblog_parse(&m->bb, bb, bytes, sb->bblog_shift, m->path,
					    (long long)at * 512, e);
		io_free(bb);
	}
out:
	io_free(buf);
	return rc;
}

int md_member_check_sb(struct md_member *m, struct ok_err *e)
{
	m->sb.dev_sectors = m->dev_sectors;
	int rc = md_sb_validate(&m->sb, m->path, e);
	return rc < 0 ? rc : load_extras(m, e);
}

void md_member_close(struct md_member *m)
{
	if (m->fd >= 0)
		close(m->fd);
	if (m->fd_buf >= 0)
		close(m->fd_buf);
	m->fd = m->fd_buf = -1;
	md_bblog_free(&m->bb);
}

/* ------------------------------------------------------------------ */
/* Member I/O and the bad-block log */

int md_member_fd(struct md_member *m, const void *buf, size_t len, uint64_t off, bool write)
{
	if (!m->direct || (((uintptr_t)buf | len | off) & (IO_ALIGN - 1)) == 0)
		return m->fd;
	if (m->fd_buf < 0)
		m->fd_buf = open(m->path, (write ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	return m->fd_buf;
}

int md_member_read(struct md_member *m, void *buf, size_t len, uint64_t dev_byte, bool write,
		   struct ok_err *e)
{
	int fd = md_member_fd(m, buf, len, dev_byte, write);
	if (fd < 0)
		return ok_err_at(e, -errno, m->path, OK_ERR_NOPOS, "cannot open");
	ssize_t r = io_pread_full(fd, buf, len, (off_t)dev_byte);
	if (r < 0)
		return ok_err_at(e, (int)r, m->path, (long long)dev_byte,
				 "read of %zu bytes failed", len);
	if ((size_t)r < len)
		return ok_err_at(e, -EIO, m->path, (long long)dev_byte,
				 "short read: %zd of %zu bytes (member truncated?)", r, len);
	return 0;
}

/* A writable descriptor for m: m->fd when it is one, else a new O_RDWR
 * descriptor (*own set: the caller closes it). -1 with errno. */
static int writable_fd(struct md_member *m, int fd, bool *own)
{
	*own = false;
	if (fd >= 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) != O_RDONLY)
		return fd;
	*own = true;
	return open(m->path, O_RDWR | O_CLOEXEC);
}

int md_member_write(struct md_member *m, const void *buf, size_t len, uint64_t dev_byte,
		    struct ok_err *e)
{
	bool own;
	int fd = writable_fd(m, md_member_fd(m, buf, len, dev_byte, true), &own);
	if (fd < 0)
		return ok_err_at(e, -errno, m->path, OK_ERR_NOPOS, "cannot open for writing");
	ssize_t r = io_pwrite_full(fd, buf, len, (off_t)dev_byte);
	if (own)
		close(fd);
	if (r < 0)
		return ok_err_at(e, (int)r, m->path, (long long)dev_byte,
				 "write of %zu bytes failed", len);
	return 0;
}

int md_member_writev(struct md_member *m, const struct iovec *iov, int iovcnt, uint64_t dev_byte,
		     void *gather, struct ok_err *e)
{
	bool fast = io_sys.pwrite == io_sys_default.pwrite && (dev_byte & (IO_ALIGN - 1)) == 0;
	for (int i = 0; fast && i < iovcnt; i++)
		fast = (((uintptr_t)iov[i].iov_base | iov[i].iov_len) & (IO_ALIGN - 1)) == 0;
	if (!fast) {
		size_t len = 0;
		for (int i = 0; i < iovcnt; i++) {
			uint8_t *to = (uint8_t *)gather + len;
			if (to != iov[i].iov_base) /* a buffer may already sit in place */
				memcpy(to, iov[i].iov_base, iov[i].iov_len);
			len += iov[i].iov_len;
		}
		return md_member_write(m, gather, len, dev_byte, e);
	}
	bool own;
	int fd = writable_fd(m, m->fd, &own);
	if (fd < 0)
		return ok_err_at(e, -errno, m->path, OK_ERR_NOPOS, "cannot open for writing");
	enum { MAXV = 1024 }; /* Linux's UIO_MAXIOV */
	int rc = 0;
	uint64_t at = dev_byte;
	for (int i = 0; i < iovcnt && rc == 0;) {
		int cnt = iovcnt - i < MAXV ? iovcnt - i : MAXV;
		size_t want = 0;
		for (int j = 0; j < cnt; j++)
			want += iov[i + j].iov_len;
		ssize_t r = pwritev(fd, iov + i, cnt, (off_t)at);
		if (r != (ssize_t)want) { /* short or failed: buffer by buffer */
			for (int j = 0; j < cnt && rc == 0; j++) {
				ssize_t w = io_pwrite_full(fd, iov[i + j].iov_base,
							   iov[i + j].iov_len, (off_t)at);
				if (w < 0)
					rc = ok_err_at(e, (int)w, m->path, (long long)at,
						       "write of %zu bytes failed",
						       iov[i + j].iov_len);
				at += iov[i + j].iov_len;
			}
		} else {
			at += want;
		}
		i += cnt;
	}
	if (own)
		close(fd);
	return rc;
}

int md_member_sb_write(struct md_member *m, struct ok_err *e)
{
	bool own;
	int fd = writable_fd(m, m->fd, &own);
	if (fd < 0)
		return ok_err_at(e, -errno, m->path, OK_ERR_NOPOS, "cannot open for writing");
	int rc = md_sb_write(fd, m->path, &m->sb, e);
	if (own)
		close(fd);
	return rc;
}

int md_member_badblock(struct md_member *m, uint64_t sector, uint64_t n, struct ok_err *e)
{
	struct md_sb *sb = &m->sb;
	unsigned sh = sb->bblog_shift;
	size_t bytes = (size_t)sb->bblog_size * 512;
	if (sb->major_version != 1 || !sb->bblog_offset || !sb->bblog_size || sh > 40 ||
	    bytes > MD_SB_BLOCK * 16)
		return ok_err_at(e, -ENOSPC, m->path, OK_ERR_NOPOS, "no bad-block log");
	/* the entry in the log's units (1 << shift sectors), at most 512 */
	uint64_t s0 = sector >> sh, s1 = (sector + n + (1ULL << sh) - 1) >> sh;
	if (s1 - s0 > 512 || (size_t)(m->bb.n + 2) * 8 > bytes)
		return ok_err_at(e, -ENOSPC, m->path, OK_ERR_NOPOS, "bad-block log full");
	struct md_bb *nb = realloc(m->bb.bb, (size_t)(m->bb.n + 1) * sizeof(*nb));
	if (!nb)
		return ok_err_at(e, -ENOMEM, m->path, OK_ERR_NOPOS, "out of memory");
	m->bb.bb = nb;
	int at = m->bb.n;
	while (at > 0 && nb[at - 1].sector > s0 << sh) {
		nb[at] = nb[at - 1];
		at--;
	}
	nb[at] = (struct md_bb){s0 << sh, (s1 - s0) << sh};
	m->bb.n++;
	size_t len = (bytes + IO_ALIGN - 1) & ~(size_t)(IO_ALIGN - 1);
	uint8_t *buf = io_alloc(len);
	if (!buf)
		return ok_err_at(e, -ENOMEM, m->path, OK_ERR_NOPOS, "out of memory");
	memset(buf, 0xff, len);
	for (int i = 0; i < m->bb.n; i++)
		md_put64(buf + 8 * i, (nb[i].sector >> sh) << 10 | (nb[i].len >> sh));
	uint64_t log_at = (uint64_t)((int64_t)sb->super_offset + sb->bblog_offset) * 512;
	int fd = open(m->path, O_RDWR | O_CLOEXEC);
	int rc = fd < 0 ? -errno : 0;
	if (rc == 0) {
		ssize_t r = io_pwrite_full(fd, buf, bytes, (off_t)log_at);
		rc = r < 0 ? (int)r : io_fdatasync(fd);
	}
	io_free(buf);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return ok_err_at(e, rc, m->path, (long long)log_at,
				 "cannot write the bad-block log");
	}
	sb->feature_map |= MD_F_BAD_BLOCKS;
	rc = md_sb_write(fd, m->path, sb, e);
	close(fd);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Selection */

int md_members_select(const struct md_member *m, int n, struct ok_err *e)
{
	/* the uuid most members carry (mdadm --assemble groups by uuid) */
	int best = -1, bestc = 0, tie = 0;
	for (int i = 0; i < n; i++) {
		if (!m[i].has_sb)
			continue;
		int c = 0;
		for (int j = 0; j < n; j++)
			c += m[j].has_sb && !memcmp(m[i].sb.set_uuid, m[j].sb.set_uuid, 16);
		if (c > bestc)
			best = i, bestc = c, tie = 0;
		else if (c == bestc && memcmp(m[i].sb.set_uuid, m[best].sb.set_uuid, 16))
			tie = 1;
	}
	if (best < 0)
		return ok_err_at(e, -ENOENT, NULL, OK_ERR_NOPOS,
				 "no member holds an md superblock (v1.x or 0.90)");
	if (tie)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
				 "members of different arrays, none in the majority");
	/* the freshest of its members with a data role (super_1_validate) */
	int ref = -1;
	for (int i = 0; i < n; i++) {
		if (!m[i].has_sb || memcmp(m[i].sb.set_uuid, m[best].sb.set_uuid, 16) ||
		    md_sb_role(&m[i].sb) >= MD_ROLE_MAX)
			continue;
		if (ref < 0 || m[i].sb.events > m[ref].sb.events)
			ref = i;
	}
	if (ref < 0)
		return ok_err_at(e, -ENODEV, NULL, OK_ERR_NOPOS,
				 "no active member with a superblock (only spares)");
	return ref;
}

/* ------------------------------------------------------------------ */
/* Forced assembly */

/* Assemble.c's best[] for one array: per slot*2 (+1 for a replacement) the
 * freshest member claiming it, -1 none; devices in mdadm's order. */
struct force_view {
	const struct md_member *m;
	const struct md_sb *mr; /* most_recent's superblock */
	int rd;			/* raid_disks of most_recent (content) */
	int best[2 * MD_MAX_MEMBERS];
	bool uptodate[4 * MD_MAX_MEMBERS];
	bool avail[MD_MAX_MEMBERS];
};

static bool reshape_on(const struct md_sb *sb)
{
	return sb->feature_map & MD_F_RESHAPE_ACTIVE;
}

/* enough() of util.c for RAID4/5/6 with clean=1 (force_array's test), and
 * for a growing reshape the same for the old member count. */
static bool force_enough(const struct force_view *v, int *have, int *need)
{
	int par = v->mr->level == 6 ? 2 : 1, cnt = 0;
	for (int s = 0; s < v->rd; s++)
		cnt += v->avail[s];
	*have = cnt;
	*need = v->rd - par;
	if (cnt < v->rd - par)
		return false;
	if (reshape_on(v->mr) && v->mr->delta_disks > 0)
		return cnt >= v->rd - v->mr->delta_disks - par;
	return true;
}

/* force_array's candidate test for best[i] (i even): not up to date, fully
 * in sync (or a new slot of a growing reshape, which is no source of data),
 * and the same reshape state and position as most_recent. */
static bool force_candidate(const struct force_view *v, int i)
{
	int j = v->best[i];
	if (j < 0 || v->uptodate[j])
		return false;
	const struct md_sb *sb = &v->m[j].sb;
	if (sb->feature_map & MD_F_RECOVERY_OFFSET)
		return reshape_on(sb) && sb->delta_disks > 0 && sb->level >= 4 && sb->level <= 6 &&
		       i / 2 >= v->rd - sb->delta_disks;
	if (reshape_on(sb) != reshape_on(v->mr))
		return false;
	return !reshape_on(sb) || sb->reshape_position == v->mr->reshape_position;
}

/* "force-array" (Assemble() after the roles): a member in use dirty and
 * enough() with clean=0 failing (a slot missing) marks chosen clean; then
 * mdraid's addition, the other members in use (slot members up to date,
 * spares of the array within one event) that are dirty, in member order. */
static void force_clean(const struct md_member *m, int n, const struct force_view *fv,
			struct md_force_plan *p)
{
	bool clean = true;
	int slots = 0, mark[MD_MAX_MEMBERS], nmark = 0;
	for (int s = 0; s < fv->rd; s++)
		slots += fv->avail[s];
	for (int j = 0; j < n && j < MD_MAX_MEMBERS; j++) {
		const struct md_sb *sb = &m[j].sb;
		unsigned role = m[j].has_sb ? md_sb_role(sb) : MD_ROLE_SPARE;
		bool in_use;
		if (!m[j].has_sb || memcmp(sb->set_uuid, fv->mr->set_uuid, 16))
			continue;
		if (role < (unsigned)fv->rd)
			in_use = fv->uptodate[j] &&
				 fv->best[2 * role + !!(sb->feature_map & MD_F_REPLACEMENT)] == j;
		else
			in_use = role == MD_ROLE_SPARE && sb->events + 1 >= p->events &&
				 sb->events <= p->events;
		if (!in_use || sb->resync_offset == MD_MAX_SECTOR)
			continue;
		clean = false;
		if (j != p->chosen)
			mark[nmark++] = j;
	}
	if (clean || slots >= fv->rd || p->chosen < 0 || fv->mr->level < 4)
		return;
	/* mdadm's was_forced, whether or not chosen was already clean */
	p->repair = fv->mr->level == 6 && slots + 1 == fv->rd;
	p->mark_clean = m[p->chosen].sb.resync_offset != MD_MAX_SECTOR;
	memcpy(p->clean, mark, sizeof(mark[0]) * (size_t)nmark);
	p->nclean = nmark;
}

int md_members_force_plan(const struct md_member *m, int n, int ref, struct md_force_plan *p,
			  struct ok_err *e)
{
	struct force_view fv;
	memset(&fv, 0, sizeof(fv));
	memset(p, 0, sizeof(*p));
	p->most_recent = p->chosen = -1;
	fv.m = m;
	for (int i = 0; i < 2 * MD_MAX_MEMBERS; i++)
		fv.best[i] = -1;
	const uint8_t *uuid = m[ref].sb.set_uuid;
	/* load_devices: most_recent among members whose own state is active
	 * and in sync (a replacement is not) */
	for (int i = 0; i < n; i++) {
		const struct md_sb *sb = &m[i].sb;
		if (!m[i].has_sb || memcmp(sb->set_uuid, uuid, 16) ||
		    md_sb_role(sb) >= MD_ROLE_MAX || (sb->feature_map & MD_F_REPLACEMENT))
			continue;
		if (p->most_recent < 0 || sb->events > m[p->most_recent].sb.events)
			p->most_recent = i;
	}
	if (p->most_recent < 0)
		return ok_err_at(e, -ENODEV, NULL, OK_ERR_NOPOS,
				 "no active member with a superblock (only spares)");
	fv.mr = &m[p->most_recent].sb;
	p->events = fv.mr->events;
	fv.rd = fv.mr->raid_disks > MD_MAX_MEMBERS ? MD_MAX_MEMBERS : (int)fv.mr->raid_disks;
	for (int i = 0; i < n; i++) {
		const struct md_sb *sb = &m[i].sb;
		unsigned role = m[i].has_sb ? md_sb_role(sb) : MD_ROLE_SPARE;
		if (!m[i].has_sb || memcmp(sb->set_uuid, uuid, 16) || role >= (unsigned)fv.rd)
			continue;
		int k = 2 * (int)role + !!(sb->feature_map & MD_F_REPLACEMENT);
		if (fv.best[k] < 0 || m[fv.best[k]].sb.events < sb->events)
			fv.best[k] = i;
	}
	/* Assemble(): up to date within one event; a slot in sync is available */
	for (int k = 0; k < 2 * fv.rd; k++) {
		int j = fv.best[k];
		if (j < 0)
			continue;
		const struct md_sb *sb = &m[j].sb;
		if (sb->events + 1 >= p->events && sb->events <= p->events) {
			fv.uptodate[j] = true;
			if (!(sb->feature_map & MD_F_RECOVERY_OFFSET) ||
			    (reshape_on(fv.mr) && k >= fv.rd - fv.mr->delta_disks))
				fv.avail[k / 2] = true;
		}
	}
	int have, need;
	force_enough(&fv, &have, &need);
	p->avail = have;
	p->need = need;
	/* force_array(): the freshest stale slot member, then its vintage */
	while (!force_enough(&fv, &have, &need)) {
		int pick = -1;
		for (int i = 0; i < 2 * fv.rd; i += 2)
			if (force_candidate(&fv, i) &&
			    (pick < 0 || m[fv.best[i]].sb.events > m[pick].sb.events))
				pick = fv.best[i];
		if (pick < 0)
			break;
		uint64_t vintage = m[pick].sb.events;
		for (bool again = true; again;) {
			p->from[p->nbump] = m[pick].sb.events;
			p->bump[p->nbump++] = pick;
			fv.uptodate[pick] = true;
			fv.avail[md_sb_role(&m[pick].sb)] = true; /* mdadm: avail[chosen_drive] */
			again = false;
			for (int i = 0; i < 2 * fv.rd && !again; i += 2)
				if (force_candidate(&fv, i) && m[fv.best[i]].sb.events == vintage) {
					pick = fv.best[i];
					again = true;
				}
		}
	}
	for (int k = 0; k < 2 * fv.rd; k++) {
		int j = fv.best[k];
		if (j >= 0 && !fv.uptodate[j])
			p->stale[p->nstale++] = j;
	}
	if (!force_enough(&fv, &have, &need))
		return ok_err_at(e, -ENODEV, NULL, OK_ERR_NOPOS,
				 "not enough members to start the array even with --force: %d of "
				 "%d slots in sync, %d needed",
				 have, fv.rd, need);
	/* chosen_drive: the lowest slot up to date at most_recent's events;
	 * forced members count as there */
	for (int i = 0; i < 2 * fv.rd && p->chosen < 0; i += 2) {
		int j = fv.best[i];
		if (j < 0 || !fv.uptodate[j])
			continue;
		bool forced = false;
		for (int b = 0; b < p->nbump; b++)
			forced |= p->bump[b] == j;
		if (forced || m[j].sb.events >= p->events)
			p->chosen = j;
	}
	/* "assemble": the roles of the members in use, in chosen's superblock */
	const struct md_sb *csb = p->chosen >= 0 ? &m[p->chosen].sb : NULL;
	force_clean(m, n, &fv, p);
	/* start_array(): RAID6 forced (members bumped or force-array) and one
	 * slot short: mdadm sets sync_action to repair */
	if (fv.mr->level == 6 && p->nbump > 0 && have + 1 == fv.rd)
		p->repair = true;
	for (int k = 0; csb && k < 2 * fv.rd; k++) {
		int j = fv.best[k];
		uint32_t d = j >= 0 ? m[j].sb.dev_number : 0;
		if (j < 0 || !fv.uptodate[j] || d >= csb->max_dev || d >= MD_SB_MAX_DEV)
			continue;
		if (csb->dev_roles[d] != (uint16_t)(k / 2)) {
			p->clear_was[p->nclear] = csb->dev_roles[d];
			p->clear[p->nclear++] = j;
		}
	}
	return p->nbump + (p->nclear > 0 || p->mark_clean) + p->nclean;
}

int md_members_force_apply(struct md_member *m, const struct md_force_plan *p, bool write,
			   struct ok_err *e)
{
	for (int b = 0; b < p->nbump; b++) {
		struct md_member *fm = &m[p->bump[b]];
		fm->sb.events = p->events;
		int rc = write ? md_member_sb_write(fm, e) : 0;
		if (rc < 0)
			return rc;
	}
	if (p->chosen >= 0 && (p->nclear || p->mark_clean)) {
		struct md_sb *csb = &m[p->chosen].sb;
		for (int c = 0; c < p->nclear; c++)
			csb->dev_roles[m[p->clear[c]].sb.dev_number] =
			    (uint16_t)md_sb_role(&m[p->clear[c]].sb);
		if (p->mark_clean) {
			csb->resync_offset = MD_MAX_SECTOR;
			csb->sb0_clean_bit_only = true; /* mdadm's super0 mark */
		}
		int rc = write ? md_member_sb_write(&m[p->chosen], e) : 0;
		if (rc < 0)
			return rc;
	}
	for (int c = 0; c < p->nclean; c++) {
		m[p->clean[c]].sb.resync_offset = MD_MAX_SECTOR;
		m[p->clean[c]].sb.sb0_clean_bit_only = true;
		int rc = write ? md_member_sb_write(&m[p->clean[c]], e) : 0;
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Slot of member j as the text names it, mdadm's "(N)". */
static int text_slot(const struct md_member *m, int j)
{
	unsigned r = md_sb_role(&m[j].sb);
	return r < MD_ROLE_MAX ? (int)r : -1;
}

/* Device index of member j as mdadm numbers it (its place among the
 * given members of the array). */
static int text_devindex(const struct md_member *m, int j)
{
	int k = 0;
	for (int i = 0; i < j; i++)
		k += m[i].has_sb && !memcmp(m[i].sb.set_uuid, m[j].sb.set_uuid, 16);
	return k;
}

void md_force_plan_text(const struct md_member *m, const struct md_force_plan *p, const char *array,
			char *out, size_t size)
{
	size_t k = 0;
	out[0] = 0;
#define ADD(...)                                                                                   \
	do {                                                                                       \
		if (k < size) {                                                                    \
			int w_ = snprintf(out + k, size - k, __VA_ARGS__);                         \
			k += w_ > 0 ? (size_t)w_ : 0;                                              \
		}                                                                                  \
	} while (0)
	for (int b = 0; b < p->nbump; b++)
		ADD("forcing event count in %s(%d) from %llu up to %llu\n", m[p->bump[b]].path,
		    text_slot(m, p->bump[b]), (unsigned long long)p->from[b],
		    (unsigned long long)p->events);
	for (int c = 0; c < p->nclear; c++)
		ADD("clearing FAULTY flag for device %d in %s for %s (role 0x%x in %s's "
		    "superblock, "
		    "now slot %d)\n",
		    text_devindex(m, p->clear[c]), array, m[p->clear[c]].path, p->clear_was[c],
		    m[p->chosen].path, text_slot(m, p->clear[c]));
	if (p->mark_clean)
		ADD("Marking array %s as 'clean' (dirty and degraded: the kernel refuses to start "
		    "it otherwise; parity where writes were cut is not checked) in %s's "
		    "superblock\n",
		    array, m[p->chosen].path);
	for (int c = 0; c < p->nclean; c++)
		ADD("marking %s clean too (mdadm leaves it dirty until the first write; a "
		    "plain mdadm --assemble needs it clean)\n",
		    m[p->clean[c]].path);
	if (p->repair)
		ADD("mdadm 4.2 then starts a repair (sync_action=repair: RAID6 one member short "
		    "after a forced assembly); the nbdkit plugin (mdraid serve) runs it in the "
		    "background, the other verbs write only the superblocks: mdraid repair on "
		    "these members is the same pass\n");
	for (int s = 0; s < p->nstale; s++) {
		int j = p->stale[s];
		uint64_t ev = m[j].sb.events;
		ADD("%s(%d): left out: events %llu, %llu %s %s (%llu), not needed to start the "
		    "array\n",
		    m[j].path, text_slot(m, j), (unsigned long long)ev,
		    (unsigned long long)(ev < p->events ? p->events - ev : ev - p->events),
		    ev < p->events ? "behind" : "ahead of", m[p->most_recent].path,
		    (unsigned long long)p->events);
	}
#undef ADD
	if (k >= size && size > 4)
		memcpy(out + size - 5, "...\n", 5);
}

/* ------------------------------------------------------------------ */
/* Parallel jobs */

struct par_job {
	int (*fn)(void *ctx, int i, struct ok_err *e);
	void *ctx;
	int i;
	int rc;
	struct ok_err e;
};

static void *par_thread(void *arg)
{
	struct par_job *j = arg;
	j->rc = j->fn(j->ctx, j->i, &j->e);
	return NULL;
}

static pthread_attr_t thread_attr;
static bool thread_attr_ok;

static void thread_attr_init(void)
{
	thread_attr_ok = pthread_attr_init(&thread_attr) == 0 &&
			 pthread_attr_setstacksize(&thread_attr, 1u << 20) == 0;
}

int md_thread_start(pthread_t *th, void *(*fn)(void *), void *arg)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, thread_attr_init);
	return pthread_create(th, thread_attr_ok ? &thread_attr : NULL, fn, arg);
}

int md_par_run(int n, bool parallel, int (*fn)(void *ctx, int i, struct ok_err *e), void *ctx,
	       int *rcs, struct ok_err *e)
{
	struct par_job jobs[MD_MAX_MEMBERS];
	pthread_t th[MD_MAX_MEMBERS];
	bool started[MD_MAX_MEMBERS];
	int rc = 0;
	if (n > MD_MAX_MEMBERS)
		BUG("md_par_run: %d jobs", n);
	/* job 0 runs in this thread: one thread fewer to create and join */
	for (int i = 0; i < n; i++) {
		jobs[i] = (struct par_job){.fn = fn, .ctx = ctx, .i = i};
		ok_err_clear(&jobs[i].e);
		started[i] =
		    parallel && i > 0 && md_thread_start(&th[i], par_thread, &jobs[i]) == 0;
	}
	for (int i = 0; i < n; i++)
		if (!started[i])
			par_thread(&jobs[i]);
	for (int i = 0; i < n; i++) {
		if (started[i])
			pthread_join(th[i], NULL);
		if (rcs)
			rcs[i] = jobs[i].rc;
		if (jobs[i].rc < 0 && rc == 0) {
			rc = jobs[i].rc;
			if (e)
				*e = jobs[i].e;
		}
	}
	return rc;
}

static int io_one(void *ctx, int i, struct ok_err *e)
{
	struct md_io *j = (struct md_io *)ctx + i;
	if (j->kind == MD_IO_READ)
		j->rc = md_member_read(j->m, j->buf, j->len, j->dev_byte, true, e);
	else if (j->kind == MD_IO_WRITE)
		j->rc = md_member_write(j->m, j->buf, j->len, j->dev_byte, e);
	else if (j->kind == MD_IO_WRITEV)
		j->rc = md_member_writev(j->m, j->iov, j->iovcnt, j->dev_byte, j->buf, e);
	else if ((j->rc = io_fdatasync(j->m->fd)) < 0)
		ok_err_at(e, j->rc, j->m->path, OK_ERR_NOPOS, "fdatasync failed");
	return j->rc;
}

int md_io_run(struct md_io *io, int n, struct ok_err *e)
{
	/* small transfers: a thread costs more than it saves. A flush runs one
	 * thread per member to overlap the devices' cache flushes, unless a
	 * test has replaced fdatasync (lib/io.h: a recorder or a no-op, as the
	 * crash replay's thousands of runs do): there is no device latency to
	 * hide, only ~25 thread creations per run, and serial calls keep the
	 * recorded order of flushes the same from run to run. */
	bool sync_par = io_sys.fdatasync == io_sys_default.fdatasync;
	bool par = n > 1 && (io[0].kind == MD_IO_SYNC ? sync_par : io[0].len >= (1u << 20));
	return md_par_run(n, par, io_one, io, NULL, e);
}

int md_members_sync(struct md_member *m, int n, struct ok_err *e)
{
	struct md_io io[MD_MAX_MEMBERS];
	int k = 0, rc = 0;
	for (int i = 0; i < n; i++) {
		if (m[i].fd < 0 || m[i].failed)
			continue;
		io[k++] = (struct md_io){.m = &m[i], .kind = MD_IO_SYNC};
		if (k == MD_MAX_MEMBERS || i == n - 1) {
			int r = md_io_run(io, k, rc ? NULL : e);
			rc = rc ? rc : r;
			k = 0;
		}
	}
	if (k) {
		int r = md_io_run(io, k, rc ? NULL : e);
		rc = rc ? rc : r;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* The memory budget */

size_t md_budget_bytes(size_t want)
{
	return want ? want : MD_BUDGET_BYTES;
}

void *md_buf_alloc(size_t n)
{
	const size_t huge = 2u << 20;
	void *p = NULL;
	bool big = n >= huge;
	if (posix_memalign(&p, big ? huge : IO_ALIGN, n ? n : IO_ALIGN))
		return NULL;
	if (big) /* only advice: a kernel without THP just ignores it */
		(void)madvise(p, n & ~(huge - 1), MADV_HUGEPAGE);
	return p;
}
