/*
 * array.c: an md array assembled in user space. Opens the members (O_DIRECT
 * when the file system allows it, O_EXCL for block devices, flock), reads
 * and validates their superblocks, selects members as the kernel's
 * super_1_validate does, and keeps the on-disk state honest while writing:
 * active before the first write, bitmap bits set before data is touched,
 * clean with a bumped event count at close.
 *
 * State of an open array (invariants, checked by assert_array_ok):
 *   (1) slot_member[s] is -1 or a member with fd >= 0 whose slot is s;
 *   (2) missing = number of slots with slot_member -1 (plus failed members);
 *   (3) active implies every present member's superblock says resync 0;
 *   (4) bitmap bits on disk cover every region written since active.
 *
 *      open --(first write: mark_active)--> ACTIVE --(close: sync, clean)--> closed
 *        \-----------------------(close, no writes)-------------------------/
 */
#include "mdraid_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io.h"

void md_random(void *buf, size_t n)
{
	uint8_t *p = buf;
	while (n) {
		ssize_t r = getrandom(p, n, 0);
		if (r <= 0) {
			/* very old kernels: fall back to a weak source, never fail */
			for (size_t i = 0; i < n; i++)
				p[i] = (uint8_t)(rand() ^ (int)time(NULL));
			return;
		}
		p += r;
		n -= (size_t)r;
	}
}

static void assert_array_ok(const struct md_array *a)
{
#ifndef NDEBUG
	int miss = 0;
	for (int s = 0; s < a->geom.raid_disks; s++) {
		int mi = a->slot_member[s];
		if (mi < 0 || a->m[mi].failed) {
			miss++;
			continue;
		}
		assert(a->m[mi].fd >= 0 && a->m[mi].slot == s);
	}
	assert(miss == a->missing);
#else
	(void)a;
#endif
}

/* ---- slots ---- */

int md_member_pread(struct md_array *a, int slot, void *buf, size_t len, uint64_t dev_byte,
		    struct ok_err *e)
{
	int mi = slot >= 0 && slot < MD_MAX_MEMBERS ? a->slot_member[slot] : -1;
	if (mi < 0)
		return ok_err_at(e, -ENODEV, NULL, OK_ERR_NOPOS, "slot %d is missing", slot);
	return md_member_read(&a->m[mi], buf, len, dev_byte, (a->flags & MD_OPEN_WRITE) != 0, e);
}

int md_member_pwrite(struct md_array *a, int slot, const void *buf, size_t len, uint64_t dev_byte,
		     struct ok_err *e)
{
	int mi = slot >= 0 && slot < MD_MAX_MEMBERS ? a->slot_member[slot] : -1;
	if (mi < 0)
		return ok_err_at(e, -ENODEV, NULL, OK_ERR_NOPOS, "slot %d is missing", slot);
	return md_member_write(&a->m[mi], buf, len, dev_byte, e);
}

bool md_slot_readable(const struct md_array *a, int slot, uint64_t rel, uint64_t n)
{
	int mi = a->slot_member[slot];
	if (mi < 0)
		return false;
	const struct md_member *m = &a->m[mi];
	if (m->failed || m->fd < 0)
		return false;
	if (rel + n > m->valid_below_rel)
		return false;
	return !md_bblog_hits(&m->bb, m->sb.data_offset + rel, n);
}

static const char *role_word(unsigned role)
{
	return role == MD_ROLE_SPARE ? "spare" : role == MD_ROLE_FAULTY ? "faulty" : "journal";
}

/* ---- members that disagree about the array's shape ---- */

/*
 * Why a member within one event of the freshest (so the kernel would take
 * it in) cannot be read with it: "" when they agree. The kernel takes the
 * shape and reshape state from the freshest superblock but each member's
 * data_offset (and new_offset while ITS superblock says RESHAPE_ACTIVE with
 * NEW_OFFSET) from the member's own, so a torn grow round (raid_disks or
 * the reshape flag changed on some members only, or data_offset moved on
 * some) is read at the wrong place without a word. Members that differ only
 * in data_offset, with no reshape on either, are the kernel's normal
 * per-device offsets and agree.
 */
static void shape_disagreement(const struct md_sb *sb, const struct md_sb *ref, char *out, size_t n)
{
	bool ra = sb->feature_map & MD_F_RESHAPE_ACTIVE,
	     rr = ref->feature_map & MD_F_RESHAPE_ACTIVE;
	out[0] = 0;
	if (sb->raid_disks != ref->raid_disks) {
		snprintf(out, n, "raid_disks (%u, the freshest says %u)", sb->raid_disks,
			 ref->raid_disks);
	} else if (ra != rr) {
		snprintf(out, n, "the reshape (%s, the freshest %s)",
			 ra ? "reshaping" : "not reshaping", rr ? "reshaping" : "not reshaping");
	} else if (ra) {
		bool na = sb->feature_map & MD_F_NEW_OFFSET,
		     nr = ref->feature_map & MD_F_NEW_OFFSET;
		int64_t no_s = na ? sb->new_offset : 0, no_r = nr ? ref->new_offset : 0;
		if (sb->reshape_position != ref->reshape_position ||
		    sb->delta_disks != ref->delta_disks || sb->new_level != ref->new_level ||
		    sb->new_layout != ref->new_layout || sb->new_chunk != ref->new_chunk)
			snprintf(out, n,
				 "the reshape (position %llu delta %d, the freshest %llu delta %d)",
				 (unsigned long long)sb->reshape_position, sb->delta_disks,
				 (unsigned long long)ref->reshape_position, ref->delta_disks);
		else if (sb->data_offset != ref->data_offset || no_s != no_r)
			snprintf(
			    out, n,
			    "data_offset (%llu new_offset %lld, the freshest %llu new_offset %lld)",
			    (unsigned long long)sb->data_offset, (long long)no_s,
			    (unsigned long long)ref->data_offset, (long long)no_r);
	}
}

/*
 * Members whose events diverged (kicked one after another): when too few
 * are up to date to start the array, refuse as mdadm --assemble does,
 * naming each stale member and by how many events, or with
 * MD_OPEN_ASSEMBLE_FORCE carry out mdadm --assemble --force's choice
 * (md_members_force_plan) and say it in a->forced. 0 or a refusal.
 */
static int force_stale(struct md_array *a, unsigned flags, struct ok_err *e)
{
	struct md_force_plan *p = malloc(sizeof(*p));
	struct ok_err pe;
	ok_err_clear(&pe);
	if (!p)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	int rc = md_members_force_plan(a->m, a->nmembers, a->ref_member, p, &pe);
	bool force = flags & MD_OPEN_ASSEMBLE_FORCE;
	if ((rc < 0 && p->nstale == 0) || (rc >= 0 && p->nbump == 0 && (!force || rc == 0))) {
		/* nothing stale to speak of: the selection below decides */
		free(p);
		return 0;
	}
	if (rc < 0 || !force) {
		char list[1200] = "";
		size_t k = 0;
		const struct md_member *mr = &a->m[p->most_recent];
		/* the members force would bring up to date, then the rest */
		for (int s = 0; s < p->nbump + p->nstale && k < sizeof(list); s++) {
			int j = s < p->nbump ? p->bump[s] : p->stale[s - p->nbump];
			const struct md_member *m = &a->m[j];
			uint64_t ev = s < p->nbump ? p->from[s] : m->sb.events;
			int w = snprintf(
			    list + k, sizeof(list) - k, "%s%s (slot %u) events %llu, %llu %s",
			    s ? "; " : "", m->path, md_sb_role(&m->sb), (unsigned long long)ev,
			    (unsigned long long)(ev < p->events ? p->events - ev : ev - p->events),
			    ev < p->events ? "behind" : "ahead");
			k += w > 0 ? (size_t)w : 0;
		}
		if (rc < 0)
			rc = ok_err_at(e, -ENODEV, NULL, OK_ERR_NOPOS,
				       "%s; stale: %s (the freshest, %s, has %llu)", pe.msg, list,
				       mr->path, (unsigned long long)p->events);
		else
			rc = ok_err_at(
			    e, -ENODEV, NULL, OK_ERR_NOPOS,
			    "assembled from %d members - not enough to start the array (%d "
			    "needed); stale: %s (the freshest, %s, has %llu); --force brings "
			    "the freshest stale up to date as mdadm --assemble --force does "
			    "(--force --dry-run shows what it would write)",
			    p->avail, p->need, list, mr->path, (unsigned long long)p->events);
		if (e)
			e->errnum = 0; /* the message says it all */
		free(p);
		return rc;
	}
	char nm[24];
	md_force_plan_text(a->m, p, md_sb_array_name(&a->m[a->ref_member].sb, nm, sizeof(nm)),
			   a->forced, sizeof(a->forced));
	rc = md_members_force_apply(a->m, p, !(flags & MD_OPEN_DRY_RUN), e);
	a->want_repair = p->repair;
	free(p);
	return rc;
}

int md_array_open(struct md_array *a, int n, char **paths, unsigned flags, struct ok_err *e)
{
	bool write = flags & MD_OPEN_WRITE, force = flags & MD_OPEN_FORCE;
	int rc = 0;
	memset(a, 0, sizeof(*a));
	a->flags = flags;
	a->budget_bytes = md_budget_bytes(0); /* the caller may change it before the first I/O */
	a->ref_member = -1;
	for (int s = 0; s < MD_MAX_MEMBERS; s++)
		a->slot_member[s] = -1;
	if (n < 1 || n > 4 * MD_MAX_MEMBERS)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS, "%d members given", n);
	a->m = calloc((size_t)n, sizeof(*a->m));
	if (!a->m)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	a->nmembers = n;
	for (int i = 0; i < n; i++) {
		struct md_member *m = &a->m[i];
		m->fd = m->fd_buf = -1;
		m->slot = -1;
		snprintf(m->path, sizeof(m->path), "%s", paths[i]);
	}
	/* 1. open and load every member; the first failure is the error if none is usable */
	struct ok_err first;
	ok_err_clear(&first);
	for (int i = 0; i < n; i++) {
		struct md_member *m = &a->m[i];
		struct ok_err me;
		ok_err_clear(&me);
		if (strcmp(m->path, "missing") == 0) {
			snprintf(m->why, sizeof(m->why), "given as missing");
			continue;
		}
		rc = md_member_open(m, flags, &me);
		if (rc == -EBUSY && !(force && !write)) {
			if (e)
				*e = me;
			goto fail;
		}
		if (rc == 0)
			rc = md_sb_read(m->fd, m->path, -1, &m->sb, &me);
		if (rc == 0)
			rc = md_member_check_sb(m, &me);
		if (rc < 0) {
			/* a bad member: missing for reading, a refusal for writing */
			if (write && !force) {
				if (e)
					*e = me;
				goto fail;
			}
			ok_err_format(&me, m->why, sizeof(m->why));
			if (!first.err)
				first = me;
			md_member_close(m);
			rc = 0;
			continue;
		}
		m->has_sb = true;
	}
	/* 2. the array (majority uuid) and its freshest active member */
	struct ok_err se;
	ok_err_clear(&se);
	a->ref_member = md_members_select(a->m, n, &se);
	if (a->ref_member < 0) {
		rc = a->ref_member;
		a->ref_member = -1;
		if (rc == -EINVAL) {
			if (e)
				*e = se;
			goto fail;
		}
		if (first.err) {
			/* that member's own error, path and class (a missing file is
			 * I/O, a member without a superblock bad data), said once */
			rc = first.err;
			if (e) {
				*e = first;
				if (snprintf(e->msg, sizeof(e->msg), "no usable member: %s",
					     first.msg) >= (int)sizeof(e->msg))
					e->msg[sizeof(e->msg) - 1] = 0;
			}
			goto fail;
		}
		rc =
		    ok_err_at(e, -ENODEV, NULL, OK_ERR_NOPOS, "no active member with a superblock");
		goto fail;
	}
	/* 2b. members kicked one after another: mdadm --assemble --force */
	rc = force_stale(a, flags, e);
	if (rc < 0)
		goto fail;
	struct md_member *refm = &a->m[a->ref_member];
	memcpy(&a->ref, &refm->sb, sizeof(a->ref));
	const struct md_sb *ref = &a->ref;
	/* 3. every member against the reference */
	for (int i = 0; i < n; i++) {
		struct md_member *m = &a->m[i];
		if (!m->has_sb)
			continue;
		const struct md_sb *sb = &m->sb;
		if (memcmp(sb->set_uuid, ref->set_uuid, 16) != 0 || sb->level != ref->level ||
		    sb->layout != ref->layout || sb->chunksize != ref->chunksize) {
			rc = ok_err_at(e, -EINVAL, m->path, (long long)(sb->super_offset * 512),
				       "has strangely different superblock to %s (%s differs)",
				       refm->path,
				       memcmp(sb->set_uuid, ref->set_uuid, 16) ? "array uuid"
				       : sb->level != ref->level	       ? "level"
				       : sb->layout != ref->layout	       ? "layout"
									       : "chunk size");
			goto fail;
		}
		unsigned own = md_sb_role(sb);
		unsigned role = own;
		if ((own < MD_ROLE_MAX || own == MD_ROLE_JOURNAL) && sb->events + 1 < ref->events) {
			snprintf(m->why, sizeof(m->why),
				 "stale: events %llu, the freshest member has %llu",
				 (unsigned long long)sb->events, (unsigned long long)ref->events);
			md_member_close(m);
			m->has_sb = false;
			continue;
		}
		/* super_90_validate takes the role from the member's own disk
		 * table (after the events check); 1.x from the freshest's roles */
		if (sb->events < ref->events && sb->major_version != 0)
			role = sb->dev_number < ref->max_dev && sb->dev_number < MD_SB_MAX_DEV
				   ? ref->dev_roles[sb->dev_number]
				   : MD_ROLE_FAULTY;
		char differ[200];
		shape_disagreement(sb, ref, differ, sizeof(differ));
		if (differ[0] && role < MD_ROLE_MAX) {
			/* the events rule (within one event: in sync) cannot say
			 * where this member's data is: refuse, never guess */
			char cmd[200];
			int k = snprintf(cmd, sizeof(cmd), "mdraid grow --continue");
			for (int j = 0; j < n && k > 0 && (size_t)k < sizeof(cmd); j++)
				k += snprintf(cmd + k, sizeof(cmd) - (size_t)k, " %s", paths[j]);
			rc = ok_err_at(
			    e, -EBUSY, m->path, OK_ERR_NOPOS,
			    "events %llu, the freshest (%s) %llu: disagrees about %s; "
			    "a grow was interrupted in a superblock round: finish it with "
			    "`%s`",
			    (unsigned long long)sb->events, refm->path,
			    (unsigned long long)ref->events, differ, cmd);
			goto fail;
		}
		/* mid-reshape (shrinking), slots up to the old count are in use */
		uint32_t nslots = ref->raid_disks;
		if ((ref->feature_map & MD_F_RESHAPE_ACTIVE) && ref->delta_disks < 0 &&
		    ref->raid_disks - (uint32_t)ref->delta_disks <= MD_MAX_MEMBERS)
			nslots = ref->raid_disks - (uint32_t)ref->delta_disks;
		if (role >= MD_ROLE_MAX || role >= nslots) {
			if (role >= MD_ROLE_MAX)
				snprintf(m->why, sizeof(m->why), "its role is %s", role_word(role));
			else
				snprintf(m->why, sizeof(m->why),
					 "its role %u is beyond raid_disks %u", role,
					 ref->raid_disks);
			md_member_close(m);
			m->has_sb = false;
			continue;
		}
		m->slot = (int)role;
		m->replacement = sb->feature_map & MD_F_REPLACEMENT;
		m->valid_below_rel =
		    (sb->feature_map & MD_F_RECOVERY_OFFSET) ? sb->recovery_offset : UINT64_MAX;
		if (sb->data_size < ref->size) {
			rc = ok_err_at(
			    e, -EINVAL, m->path, (long long)(sb->super_offset * 512 + 136),
			    "data_size %llu is smaller than the array's size %llu",
			    (unsigned long long)sb->data_size, (unsigned long long)ref->size);
			goto fail;
		}
	}
	/* 4. slots; two claimants only if exactly one is a replacement */
	md_geom_from_sb(&a->geom, ref, MD_GEOM_NEW);
	if ((ref->feature_map & MD_F_RESHAPE_ACTIVE) && !(flags & MD_OPEN_ALLOW_RESHAPE)) {
		rc = ok_err_at(
		    e, -EBUSY, refm->path, OK_ERR_NOPOS,
		    "a reshape is in progress (position %llu): finish it with mdraid grow "
		    "or the kernel",
		    (unsigned long long)ref->reshape_position);
		goto fail;
	}
	rc = md_geom_check(&a->geom, refm->path, e);
	if (rc < 0)
		goto fail;
	for (int i = 0; i < n; i++) {
		struct md_member *m = &a->m[i];
		if (m->slot < 0)
			continue;
		int other = a->slot_member[m->slot];
		if (other < 0) {
			a->slot_member[m->slot] = i;
			continue;
		}
		struct md_member *o = &a->m[other];
		if (o->replacement != m->replacement) {
			struct md_member *rep = m->replacement ? m : o;
			snprintf(rep->why, sizeof(rep->why),
				 "replacement for slot %d (the original is read)", m->slot);
			if (rep == o)
				a->slot_member[m->slot] = i;
			rep->slot = -1;
			continue;
		}
		rc = ok_err_at(e, -EINVAL, m->path, OK_ERR_NOPOS, "claims slot %d, as does %s",
			       m->slot, o->path);
		goto fail;
	}
	for (int s = 0; s < a->geom.raid_disks; s++)
		if (a->slot_member[s] < 0)
			a->missing++;
	int redundancy = a->geom.level == 6 ? 2 : 1;
	if (a->missing > redundancy) {
		char why[480] = "";
		for (int i = 0; i < n; i++)
			if (a->m[i].why[0] && !why[0])
				snprintf(why, sizeof(why), " (%.200s: %.160s)", a->m[i].path,
					 a->m[i].why);
		rc = ok_err_at(e, -ENODEV, NULL, OK_ERR_NOPOS,
			       "not enough members to use the array: %d of %d slots missing%s",
			       a->missing, a->geom.raid_disks, why);
		goto fail;
	}
	if (write && (ref->feature_map & (MD_F_PPL | MD_F_MULTIPLE_PPLS | MD_F_JOURNAL))) {
		/* their consistency comes from the log, which we do not write */
		rc = ok_err_at(e, -EPERM, refm->path, (long long)(ref->super_offset * 512 + 8),
			       "arrays with a %s are not written by mdraid (feature map 0x%x)",
			       (ref->feature_map & MD_F_JOURNAL) ? "write journal"
								 : "partial parity log",
			       ref->feature_map);
		goto fail;
	}
	/* dirty as mdadm's Assemble() judges it: any member in use (not only
	 * the kernel's reference) not clean; a plain mdadm --assemble refuses
	 * such an array when degraded */
	a->dirty = ref->resync_offset != MD_MAX_SECTOR;
	for (int i = 0; i < n; i++)
		a->dirty |= a->m[i].slot >= 0 && a->m[i].sb.resync_offset != MD_MAX_SECTOR;
	a->degraded_dirty = a->dirty && a->missing > 0;
	/* super_1_validate: recovery_cp from the freshest superblock; a
	 * member dirty where the freshest is clean counts from 0 */
	a->resync_cp = !a->dirty			     ? MD_MAX_SECTOR
		       : ref->resync_offset != MD_MAX_SECTOR ? ref->resync_offset
							     : 0;
	if (a->degraded_dirty) {
		if (write && !force) {
			rc = ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				       "cannot start dirty degraded array (use --force to write "
				       "anyway)");
			goto fail;
		}
		snprintf(a->warn, sizeof(a->warn),
			 "array is dirty and degraded: data may be inconsistent where writes were "
			 "interrupted");
	}
	if (refm->bm.valid) {
		a->has_bitmap = true;
		a->bm = refm->bm;
	}
	assert_array_ok(a);
	return 0;
fail:
	for (int i = 0; i < n; i++)
		md_member_close(&a->m[i]);
	free(a->m);
	a->m = NULL;
	return rc;
}

/* ---- superblock state ---- */

static int bitmap_write(struct md_array *a, bool bits, struct ok_err *e);

int md_array_crash_point(struct md_array *a, struct ok_err *e)
{
	if (!a->crash_at || a->crash_round != a->crash_at || a->crash_count++ != a->crash_write)
		return 0;
	/* the rounds' callers have no array write in flight (they sync
	 * before each round); the members' own writes made durable */
	int rc = md_members_sync(a->m, a->nmembers, e);
	if (rc < 0)
		return rc;
	return ok_err_at(e, -ECANCELED, NULL, OK_ERR_NOPOS,
			 "simulated crash before superblock write %d of the %s", a->crash_write,
			 a->crash_at == MD_CRASH_FINAL ? "end rounds" : "start rounds");
}

int md_array_sb_write_all(struct md_array *a, struct ok_err *e)
{
	struct md_sb *ref = &a->ref;
	/* the bitmap's event count goes first and never lags the
	 * superblocks', else the kernel resyncs everything ("bitmap file is
	 * out of date") */
	if (a->has_bitmap && a->bm.events != ref->events) {
		a->bm.events = ref->events;
		int rc = bitmap_write(a, false, e);
		if (rc < 0)
			return rc;
	}
	uint32_t max_dev = ref->max_dev > MD_SB_MAX_DEV ? MD_SB_MAX_DEV : ref->max_dev;
	uint16_t roles[MD_SB_MAX_DEV];
	/* super_1_sync: all entries spare, then one per member we hold */
	for (uint32_t i = 0; i < MD_SB_MAX_DEV; i++)
		roles[i] = i < max_dev ? MD_ROLE_SPARE : ref->dev_roles[i];
	for (int i = 0; i < a->nmembers; i++) {
		struct md_member *m = &a->m[i];
		if (!m->has_sb || m->sb.dev_number >= max_dev)
			continue;
		roles[m->sb.dev_number] = m->failed	 ? MD_ROLE_FAULTY
					  : m->slot >= 0 ? (uint16_t)m->slot
					  : m->replacement
					      ? (uint16_t)m->sb.dev_roles[m->sb.dev_number]
					      : MD_ROLE_SPARE;
	}
	memcpy(ref->dev_roles, roles, sizeof(roles));
	int first = 0, nfail = 0, fail[MD_MAX_MEMBERS], err[MD_MAX_MEMBERS];
	for (int i = 0; i < a->nmembers; i++) {
		struct md_member *m = &a->m[i];
		if (!m->has_sb || m->fd < 0 || m->failed)
			continue;
		struct md_sb *sb = &m->sb;
		memcpy(sb->dev_roles, roles, sizeof(roles));
		sb->events = ref->events;
		sb->utime = ref->utime;
		sb->resync_offset = ref->resync_offset;
		int rc = md_array_crash_point(a, e);
		if (rc < 0)
			return rc; /* a simulated crash: nothing more is written */
		rc = md_member_sb_write(m, e);
		if (rc < 0 && !first)
			first = rc;
		if (rc < 0 && m->slot >= 0 && rc != -ENOMEM && nfail < MD_MAX_MEMBERS) {
			err[nfail] = rc;
			fail[nfail++] = i;
		}
	}
	/* a member whose superblock cannot be written is faulty (md_error) */
	if (first && nfail)
		return md_array_fail_members(a, nfail, fail, err, first, e);
	return first;
}

int md_array_fail_members(struct md_array *a, int n, const int *mi, const int *err, int first_rc,
			  struct ok_err *e)
{
	int redundancy = a->geom.level == 6 ? 2 : 1;
	/* check opens read-only but rewrites what did not read (fix_reads) */
	if (!(a->flags & MD_OPEN_WRITE) && !a->fix_reads)
		return first_rc;
	if (a->missing + n > redundancy)
		return first_rc; /* more than the level can lose: the write fails */
	for (int k = 0; k < n; k++) {
		struct md_member *m = &a->m[mi[k]];
		m->failed = true;
		a->missing++;
		snprintf(a->warn, sizeof(a->warn),
			 "%.100s failed a write (%.80s) and was marked faulty; the array is "
			 "degraded",
			 m->path, strerror(-err[k]));
	}
	a->ref.events++;
	a->ref.utime = (uint64_t)time(NULL);
	if (e)
		ok_err_clear(e);
	int rc = md_array_sb_write_all(a, e);
	if (rc < 0)
		return rc;
	/*
	 * Then the failed members' own superblocks, where they still take a
	 * write (a member failed for one block usually does). md writes no
	 * superblock to a Faulty device and leaves it one event behind; for
	 * 0.90 mdadm 4.2 and the kernel (super_90_validate reads the state
	 * from the member's own disk table) take such a member back in
	 * ("device 1 has wrong state in superblock, but ... seems ok") with
	 * its stale block, as tests/interop/mdraid/test_read_errors.sh saw.
	 * A member whose own superblock says faulty is Faulty to both
	 * (super_90_validate, super_1_validate) and to md_members_select.
	 * Best effort: a member that cannot take it is failed already.
	 */
	for (int k = 0; k < n; k++) {
		struct md_member *m = &a->m[mi[k]];
		if (!m->has_sb || m->fd < 0)
			continue;
		memcpy(m->sb.dev_roles, a->ref.dev_roles, sizeof(m->sb.dev_roles));
		m->sb.events = a->ref.events;
		m->sb.utime = a->ref.utime;
		(void)md_member_sb_write(m, NULL);
	}
	return 0;
}

/* Write the bitmap super (events in step with the array) and the bit bytes. */
static int bitmap_write(struct md_array *a, bool bits, struct ok_err *e)
{
	if (!a->has_bitmap)
		return 0;
	size_t bytes = (size_t)md_bitmap_bytes(&a->bm, 4096);
	uint8_t *buf = io_alloc(bits ? bytes : 4096);
	if (!buf)
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	int first = 0, nfail = 0, fail[MD_MAX_MEMBERS], err[MD_MAX_MEMBERS];
	for (int i = 0; i < a->nmembers; i++) {
		struct md_member *m = &a->m[i];
		if (!m->has_sb || m->fd < 0 || m->failed || !m->bm.valid)
			continue;
		uint64_t at = m->bm.start * 512;
		size_t len = bits ? bytes : 4096;
		if (md_member_pread(a, m->slot >= 0 ? m->slot : 0, buf, len, at, NULL) < 0 &&
		    m->slot >= 0) {
			memset(buf, 0, len);
		}
		if (m->slot < 0)
			continue;
		m->bm.events = a->bm.events;
		m->bm.events_cleared = a->bm.events_cleared;
		md_bitmap_encode(&m->bm, buf);
		if (bits && a->bm_bits)
			memcpy(buf + 256, a->bm_bits, a->bm_bytes);
		int rc = md_member_pwrite(a, m->slot, buf, len, at, e);
		if (rc == 0)
			rc = io_fdatasync(m->fd) < 0 ? -EIO : 0;
		if (rc < 0 && !first)
			first = rc;
		if (rc < 0 && rc != -ENOMEM && nfail < MD_MAX_MEMBERS) {
			err[nfail] = rc;
			fail[nfail++] = i;
		}
	}
	io_free(buf);
	/* a member whose bitmap cannot be written is faulty (md_error) */
	if (first && nfail)
		return md_array_fail_members(a, nfail, fail, err, first, e);
	return first;
}

int md_array_mark_active(struct md_array *a, struct ok_err *e)
{
	if (a->active)
		return 0;
	if (!(a->flags & MD_OPEN_WRITE))
		return ok_err_at(e, -EBADF, NULL, OK_ERR_NOPOS, "array opened read-only");
	a->ref.events++;
	a->ref.utime = (uint64_t)time(NULL);
	a->ref.resync_offset = 0;
	if (a->has_bitmap) {
		/* the bitmap's events go first, so it is never older than the sb */
		a->bm.events = a->ref.events;
		if (!a->bm_bits) {
			a->bm_bytes = (size_t)((md_bitmap_bits(&a->bm) + 7) / 8);
			a->bm_bits = calloc(1, a->bm_bytes + 1);
			if (!a->bm_bits)
				return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
			/* start from the bits on disk (a previous crash may have left some) */
			int mi = a->ref_member;
			size_t bytes = (size_t)md_bitmap_bytes(&a->bm, 4096);
			uint8_t *buf = io_alloc(bytes);
			if (buf && a->m[mi].slot >= 0 &&
			    md_member_pread(a, a->m[mi].slot, buf, bytes, a->m[mi].bm.start * 512,
					    NULL) == 0)
				memcpy(a->bm_bits, buf + 256, a->bm_bytes);
			io_free(buf);
		}
		int rc = bitmap_write(a, false, e);
		if (rc < 0)
			return rc;
	}
	int rc = md_array_sb_write_all(a, e);
	if (rc == 0)
		a->active = true;
	return rc;
}

int md_array_bitmap_mark(struct md_array *a, uint64_t rel, uint64_t n, struct ok_err *e)
{
	if (!a->has_bitmap || n == 0)
		return 0;
	uint64_t cs = a->bm.chunksize / 512;
	uint64_t b0 = rel / cs, b1 = (rel + n - 1) / cs;
	bool changed = false;
	for (uint64_t b = b0; b <= b1 && b / 8 < a->bm_bytes; b++) {
		if (!(a->bm_bits[b / 8] & (1u << (b % 8)))) {
			a->bm_bits[b / 8] |= (uint8_t)(1u << (b % 8));
			changed = true;
		}
	}
	if (!changed)
		return 0;
	a->bm_dirty = true;
	return bitmap_write(a, true, e);
}

/* ---- clean and free ---- */

int md_array_mark_clean(struct md_array *a, struct ok_err *e)
{
	if (!a->active)
		return 0;
	a->active = false;
	int rc = md_members_sync(a->m, a->nmembers, e);
	if (rc < 0)
		return rc;
	a->ref.events++;
	a->ref.utime = (uint64_t)time(NULL);
	bool degraded = a->missing > 0;
	for (int i = 0; i < a->nmembers; i++)
		if (a->m[i].failed)
			degraded = true;
	/* stay dirty if it was dirty before we started (a resync is due),
	 * from where a resync pass got to (md's checkpoint on a clean stop) */
	a->ref.resync_offset = !a->dirty		       ? MD_MAX_SECTOR
			       : a->resync_cp != MD_MAX_SECTOR ? a->resync_cp
							       : 0;
	if (a->has_bitmap) {
		a->bm.events = a->ref.events;
		if (!degraded && !a->dirty && a->bm_bits) {
			/* bits are cleared only when every member has the data */
			memset(a->bm_bits, 0, a->bm_bytes);
			a->bm.events_cleared = a->ref.events;
		}
		rc = bitmap_write(a, true, e);
	}
	if (rc == 0)
		rc = md_array_sb_write_all(a, e);
	return rc;
}

int md_array_mark_synced(struct md_array *a, struct ok_err *e)
{
	int rc;
	a->dirty = false;
	a->degraded_dirty = false;
	a->resync_cp = MD_MAX_SECTOR;
	if (a->active)
		return 0; /* close marks it clean and clears the bits */
	a->ref.events++;
	a->ref.utime = (uint64_t)time(NULL);
	a->ref.resync_offset = MD_MAX_SECTOR;
	bool degraded = a->missing > 0;
	if (a->has_bitmap && !degraded) {
		/* every member has the data: the bits mean nothing now, and
		 * md's bitmap daemon clears them once the resync is done */
		free(a->bm_bits);
		a->bm_bytes = (size_t)((md_bitmap_bits(&a->bm) + 7) / 8);
		if (!(a->bm_bits = calloc(1, a->bm_bytes + 1)))
			return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
		a->bm.events = a->ref.events;
		a->bm.events_cleared = a->ref.events;
		if ((rc = bitmap_write(a, true, e)) < 0)
			return rc;
	}
	return md_array_sb_write_all(a, e);
}

void md_array_free(struct md_array *a)
{
	if (!a->m)
		return;
	for (int i = 0; i < a->nmembers; i++)
		md_member_close(&a->m[i]);
	free(a->m);
	free(a->bm_bits);
	a->m = NULL;
	a->bm_bits = NULL;
}

uint64_t md_array_bytes(const struct md_array *a)
{
	return md_geom_array_sectors(&a->geom) * 512;
}
