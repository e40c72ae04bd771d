/*
 * rw.c: array I/O. Reads and writes go through windows (mdraid_int.h): a
 * batch of whole stripes, or for huge chunks a slice of rows of one stripe,
 * so that every member is read or written with one system call per
 * contiguous run and memory stays within the array's budget.
 *
 * Divisions: windows (alloc, read runs, reconstruct, write runs); direct
 * read (whole healthy stripes, members straight into the caller's buffer,
 * no copy); read through windows; write (full stripes, read-modify-write,
 * reconstruct-write).
 *
 * Reconstruction works in Q slots (geometry.c) with the syndrome functions
 * of mdraid/pq/pq.h; the cases are the kernel's (raid5.c's compute cases and
 * lib/raid6/recov.c's raid6_2data_recov, raid6_datap_recov).
 */
#include "mdraid_int.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "io.h"
#include "pq.h"

/* ---- windows ---- */

int md_win_init(struct md_win *w, struct md_array *a)
{
	return md_win_init_budget(w, a, a->budget_bytes);
}

int md_win_init_budget(struct md_win *w, struct md_array *a, size_t budget)
{
	memset(w, 0, sizeof(*w));
	w->a = a;
	int n = a->geom.raid_disks;
	uint64_t chunk = (uint64_t)a->geom.chunk_sectors * 512;
	/* the scratch rows are few next to n members' rows */
	uint64_t per = budget / (size_t)(n + 1);
	per &= ~(uint64_t)(IO_ALIGN - 1);
	if (per < IO_ALIGN)
		per = IO_ALIGN;
	if (chunk <= per) {
		w->ns_max = per / chunk;
		w->row_max = (uint32_t)chunk;
		per = w->ns_max * chunk;
	} else {
		w->ns_max = 1;
		w->row_max = (uint32_t)per;
	}
	for (int s = 0; s < n; s++) {
		/* not zeroed (io_alloc would touch every page twice); every
		 * byte used is read or written first */
		if (!(w->buf[s] = md_buf_alloc((size_t)per)))
			goto nomem;
	}
	w->scratch = io_alloc(3 * (size_t)w->row_max);
	w->mode = malloc(w->ns_max);
	if (!w->mode)
		goto nomem;
	w->have = calloc((size_t)n * w->ns_max, 4);
	if (!w->scratch || !w->have)
		goto nomem;
	w->need = w->have + (size_t)n * w->ns_max;
	w->dirty = w->need + (size_t)n * w->ns_max;
	w->bad = w->dirty + (size_t)n * w->ns_max;
	return 0;
nomem:
	md_win_free(w);
	return -ENOMEM;
}

void md_win_free(struct md_win *w)
{
	for (int s = 0; s < MD_MAX_MEMBERS; s++) {
		io_free(w->buf[s]);
		w->buf[s] = NULL;
	}
	io_free(w->scratch);
	free(w->have);
	for (int s = 0; s < MD_MAX_MEMBERS; s++) {
		free(w->rerr[s]);
		w->rerr[s] = NULL;
		w->nrerr[s] = w->rerr_cap[s] = 0;
	}
	free(w->mode);
	w->mode = NULL;
	w->scratch = NULL;
	w->have = NULL;
}

void md_win_set(struct md_win *w, uint64_t s0, uint64_t ns, uint32_t r0, uint32_t rlen)
{
	w->s0 = s0;
	w->ns = ns;
	w->r0 = r0;
	w->rlen = rlen;
	memset(w->have, 0, (size_t)w->a->geom.raid_disks * w->ns_max * 4);
	memset(w->nrerr, 0, sizeof(w->nrerr));
}

static uint64_t rel_of(const struct md_win *w, uint64_t i)
{
	return (w->s0 + i) * w->a->geom.chunk_sectors + w->r0 / 512;
}

static uint64_t dev_byte(const struct md_win *w, int slot, uint64_t i)
{
	const struct md_member *m = &w->a->m[w->a->slot_member[slot]];
	return (m->sb.data_offset + rel_of(w, i)) * 512;
}

void md_win_need_all(struct md_win *w, uint64_t i)
{
	for (int s = 0; s < w->a->geom.raid_disks; s++)
		w->need[WIX(w, s, i)] = 1;
}

/* Note the 4 KiB block at byte off of row i of slot as unreadable (the
 * slot's own list: each slot is read by its own thread). */
static void note_read_error(struct md_win *w, int slot, uint64_t i, uint32_t off)
{
	if (w->nrerr[slot] == w->rerr_cap[slot]) {
		int cap = w->rerr_cap[slot] ? 2 * w->rerr_cap[slot] : 16;
		struct md_rerr *n = realloc(w->rerr[slot], (size_t)cap * sizeof(*n));
		if (!n)
			return; /* still rebuilt from P/Q, just not rewritten */
		w->rerr[slot] = n;
		w->rerr_cap[slot] = cap;
	}
	w->rerr[slot][w->nrerr[slot]++] = (struct md_rerr){i, off};
}

/* Read one run of stripes [i, j) of slot; on an error, stripe by stripe so
 * that one bad spot loses only its own stripes, and within a failed row
 * 4 KiB by 4 KiB to find the unreadable blocks (md's stripe unit), which
 * md_win_fix_reads rewrites once the row is rebuilt. */
static void read_run(struct md_win *w, int slot, uint64_t i, uint64_t j)
{
	struct md_array *a = w->a;
	if (md_member_pread(a, slot, md_win_ptr(w, slot, i), (size_t)((j - i) * w->rlen),
			    dev_byte(w, slot, i), NULL) == 0) {
		for (uint64_t x = i; x < j; x++)
			w->have[WIX(w, slot, x)] = 1;
		return;
	}
	for (uint64_t x = i; x < j; x++) {
		struct ok_err e;
		if (md_member_pread(a, slot, md_win_ptr(w, slot, x), w->rlen, dev_byte(w, slot, x),
				    &e) == 0) {
			w->have[WIX(w, slot, x)] = 1;
			continue;
		}
		w->bad[WIX(w, slot, x)] = 1;
		int found = 0;
		struct md_member *m = &a->m[a->slot_member[slot]];
		if (__atomic_load_n(&m->read_errors, __ATOMIC_RELAXED) > MD_MAX_READ_ERRORS)
			continue; /* past md's threshold: just rebuilt */
		for (uint32_t b = 0; b < w->rlen; b += 4096) {
			uint32_t bl = w->rlen - b < 4096 ? w->rlen - b : 4096;
			if (md_member_pread(a, slot, md_win_ptr(w, slot, x) + b, bl,
					    dev_byte(w, slot, x) + b, NULL) < 0) {
				note_read_error(w, slot, x, b);
				found++;
			}
		}
		if (!found) /* the whole read failed, its pieces did not */
			note_read_error(w, slot, x, 0);
	}
}

/* Read the wanted rows of one slot, one pread per run. */
static int read_slot(struct md_win *w, int s, struct ok_err *e)
{
	struct md_array *a = w->a;
	(void)e;
	uint64_t i = 0;
	while (i < w->ns) {
		size_t ix = WIX(w, s, i);
		if (!w->need[ix] || w->have[ix] || w->bad[ix] ||
		    !md_slot_readable(a, s, rel_of(w, i), w->rlen / 512)) {
			i++;
			continue;
		}
		uint64_t j = i + 1;
		while (j < w->ns && w->need[WIX(w, s, j)] && !w->have[WIX(w, s, j)] &&
		       !w->bad[WIX(w, s, j)] && md_slot_readable(a, s, rel_of(w, j), w->rlen / 512))
			j++;
		read_run(w, s, i, j);
		i = j;
	}
	return 0;
}

/* Write the dirty rows of one slot, one pwrite per run. */
static int write_slot(struct md_win *w, int s, struct ok_err *e)
{
	struct md_array *a = w->a;
	int mi = a->slot_member[s];
	if (mi < 0 || a->m[mi].failed)
		return 0;
	uint64_t i = 0;
	while (i < w->ns) {
		if (!w->dirty[WIX(w, s, i)]) {
			i++;
			continue;
		}
		uint64_t j = i + 1;
		while (j < w->ns && w->dirty[WIX(w, s, j)])
			j++;
		int rc = md_member_pwrite(a, s, md_win_ptr(w, s, i), (size_t)((j - i) * w->rlen),
					  dev_byte(w, s, i), e);
		if (rc < 0)
			return rc;
		/* what we wrote is now what the member holds */
		for (uint64_t x = i; x < j; x++)
			w->have[WIX(w, s, x)] = 1;
		i = j;
	}
	return 0;
}

/*
 * Run fn for every slot, the slots in parallel (md_par_run, member.h: one
 * thread each). Each job touches only its slot's buffer and flags, and its
 * member's fds.
 */
struct slot_ctx {
	struct md_win *w;
	int (*fn)(struct md_win *, int, struct ok_err *);
};

static int slot_job(void *ctx, int s, struct ok_err *e)
{
	struct slot_ctx *c = ctx;
	return c->fn(c->w, s, e);
}

static int for_each_slot(struct md_win *w, int (*fn)(struct md_win *, int, struct ok_err *),
			 struct ok_err *e)
{
	struct slot_ctx c = {w, fn};
	int n = w->a->geom.raid_disks;
	return md_par_run(n, n > 1, slot_job, &c, w->slot_rc, e);
}

int md_win_read(struct md_win *w, struct ok_err *e)
{
	return for_each_slot(w, read_slot, e);
}

int md_win_write(struct md_win *w, struct ok_err *e)
{
	return for_each_slot(w, write_slot, e);
}

void md_win_gen(struct md_win *w, uint64_t i, uint8_t *p, uint8_t *q)
{
	struct md_stripe st;
	void *data[MD_MAX_MEMBERS];
	md_stripe_layout(&w->a->geom, w->s0 + i, &st);
	for (int k = 0; k < st.nd; k++)
		data[st.qslot[k]] = md_win_ptr(w, st.data_dev[k], i);
	if (st.qd < 0)
		pq_xor(st.nd, w->rlen, data, p);
	else
		pq_gen(st.nd, w->rlen, data, p, q);
}

int md_win_reconstruct(struct md_win *w, uint64_t i, uint64_t *lost_mask, struct ok_err *e)
{
	struct md_array *a = w->a;
	struct md_stripe st;
	void *data[MD_MAX_MEMBERS + 1];
	int lost_slot[MD_MAX_MEMBERS], nlost = 0; /* Q slots of lost data */
	md_stripe_layout(&a->geom, w->s0 + i, &st);
	int nd = st.nd;
	size_t len = w->rlen;
	uint8_t *p = md_win_ptr(w, st.pd, i);
	uint8_t *q = st.qd >= 0 ? md_win_ptr(w, st.qd, i) : NULL;
	bool p_lost = !w->have[WIX(w, st.pd, i)];
	bool q_lost = st.qd >= 0 && !w->have[WIX(w, st.qd, i)];
	uint64_t mask = 0;
	for (int k = 0; k < nd; k++) {
		int d = st.data_dev[k];
		data[st.qslot[k]] = md_win_ptr(w, d, i);
		if (!w->have[WIX(w, d, i)]) {
			lost_slot[nlost++] = st.qslot[k];
			mask |= 1ULL << d;
		}
	}
	if (p_lost)
		mask |= 1ULL << st.pd;
	if (q_lost)
		mask |= 1ULL << st.qd;
	if (lost_mask)
		*lost_mask = mask;
	int total = nlost + p_lost + q_lost;
	if (total == 0)
		return 0;
	if (total > (st.qd >= 0 ? 2 : 1)) {
		char list[200] = "";
		size_t o = 0;
		for (int s = 0; s < a->geom.raid_disks; s++)
			if (mask & (1ULL << s))
				o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%d",
						      o ? "," : "", s);
		return ok_err_at(
		    e, -EIO, NULL, OK_ERR_NOPOS,
		    "stripe %llu: slots %s are unreadable, more than RAID%d can rebuild",
		    (unsigned long long)(w->s0 + i), list, a->geom.level);
	}
	if (nlost == 0) {
		/* only parity lost: regenerate it (both, as pq_gen writes both) */
		if (q_lost || st.qd < 0 || p_lost) {
			uint8_t *pp = p_lost ? p : w->scratch;
			uint8_t *qq = q_lost ? q : w->scratch + len;
			if (st.qd < 0)
				pq_xor(nd, len, data, pp);
			else
				pq_gen(nd, len, data, pp, qq);
		}
	} else if (nlost == 1 && !p_lost) {
		/* one data block from P (RAID5 way), then Q if it was lost too */
		int a0 = lost_slot[0];
		void *src[MD_MAX_MEMBERS + 1];
		int ns = 0;
		for (int j = 0; j < nd; j++)
			if (j != a0)
				src[ns++] = data[j];
		src[ns++] = p;
		pq_xor(ns, len, src, data[a0]);
		if (q_lost)
			pq_gen(nd, len, data, w->scratch, q);
	} else if (nlost == 1) {
		pq_recov_data_p(nd, len, lost_slot[0], data, p, q);
	} else {
		int x = lost_slot[0], y = lost_slot[1];
		if (x > y) {
			int t = x;
			x = y;
			y = t;
		}
		pq_recov_2data(nd, len, x, y, data, p, q);
	}
	for (int s = 0; s < a->geom.raid_disks; s++)
		if (mask & (1ULL << s))
			w->have[WIX(w, s, i)] = 2; /* 2: rebuilt in memory */
	return 0;
}

/* ---- read errors ---- */

/* Rewrite one rebuilt block in place and read it back, as md does after a
 * read error (R5_ReWrite, then a re-read). Through a descriptor of its own
 * (the array may be open read-only, as check is), O_DIRECT when aligned so
 * the read-back comes from the device and not the page cache. 0 when the
 * block now reads back as written. tmp: len bytes, IO_ALIGN aligned. */
static int rewrite_block(const struct md_member *m, const uint8_t *buf, size_t len, uint64_t at,
			 uint8_t *tmp)
{
	bool direct = (((uintptr_t)buf | len | at) & (IO_ALIGN - 1)) == 0;
	int fd = direct ? open(m->path, O_RDWR | O_CLOEXEC | O_DIRECT) : -1;
	if (fd < 0) {
		direct = false;
		fd = open(m->path, O_RDWR | O_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	ssize_t r = io_pwrite_full(fd, buf, len, (off_t)at);
	int rc = r < 0 ? (int)r : io_fdatasync(fd);
	if (rc == 0) {
		if (!direct)
			posix_fadvise(fd, (off_t)at, (off_t)len, POSIX_FADV_DONTNEED);
		r = io_pread_full(fd, tmp, len, (off_t)at);
		rc = r == (ssize_t)len && memcmp(tmp, buf, len) == 0 ? 0 : -EIO;
	}
	close(fd);
	return rc;
}

int md_win_fix_reads(struct md_win *w, struct ok_err *e)
{
	struct md_array *a = w->a;
	bool rewrite = (a->flags & MD_OPEN_WRITE) || a->fix_reads;
	int nfail = 0, fail[MD_MAX_MEMBERS], err[MD_MAX_MEMBERS];
	for (int s = 0; s < a->geom.raid_disks; s++) {
		int mi = a->slot_member[s];
		bool corrected = false, lost = false;
		for (int k = 0; k < w->nrerr[s] && mi >= 0; k++) {
			const struct md_rerr *x = &w->rerr[s][k];
			if (w->have[WIX(w, s, x->i)] != 2)
				continue; /* not rebuilt: the caller fails the stripe */
			struct md_member *m = &a->m[mi];
			uint32_t bl = w->rlen - x->off < 4096 ? w->rlen - x->off : 4096;
			uint64_t at = dev_byte(w, s, x->i) + x->off;
			a->read_errors++;
			if (!a->rerr_first[0])
				snprintf(a->rerr_first, sizeof(a->rerr_first),
					 "%.250s: offset %llu", m->path, (unsigned long long)at);
			if (__atomic_add_fetch(&m->read_errors, 1, __ATOMIC_RELAXED) >
				MD_MAX_READ_ERRORS ||
			    !rewrite || m->failed || lost)
				continue;
			if (rewrite_block(m, md_win_ptr(w, s, x->i) + x->off, bl, at, w->scratch) ==
			    0) {
				/* raid5_end_read_request: "read error corrected",
				 * corrected_errors += the block's sectors, which
				 * super_1_sync stores as cnt_corrected_read */
				a->read_fixed++;
				if (m->sb.major_version == 1)
					m->sb.cnt_corrected_read += bl / 512;
				corrected = true;
				continue;
			}
			/* the disk cannot take it back: a bad block, as
			 * rdev_set_badblocks records it (reads avoid it) */
			if (md_member_badblock(m, at / 512, bl / 512, NULL) == 0) {
				a->read_logged++;
				continue;
			}
			/* neither rewritten nor recorded: md_error() fails the
			 * member (raid5_end_read_request, "read error NOT
			 * corrected!!" when rdev_set_badblocks fails) */
			lost = true;
			fail[nfail] = mi;
			err[nfail++] = -EIO;
		}
		w->nrerr[s] = 0;
		if (corrected && !lost) {
			/* the counter is the member's own field: its superblock
			 * alone, events unchanged (as md_member_badblock) */
			struct md_member *m = &a->m[mi];
			md_member_sb_write(m, NULL);
		}
	}
	if (nfail) {
		int rc = md_array_fail_members(a, nfail, fail, err, -EIO, e);
		for (int k = 0; k < nfail && rc == 0; k++) {
			a->read_failed++;
			snprintf(a->warn, sizeof(a->warn),
				 "%.100s: a block that did not read could be neither rewritten nor "
				 "recorded as bad; the member was marked faulty (md_error), the "
				 "array is degraded",
				 a->m[fail[k]].path);
		}
		if (rc < 0 && e)
			ok_err_clear(e); /* more than the level can lose: left uncorrected */
	}
	return 0;
}

/* The window read and write reuse between calls (callers loop over big
 * inputs; allocating and faulting in the buffers each time costs more than
 * the I/O). A shallow copy is handed out; md_win_release frees it. */
static struct md_win *win_get(struct md_array *a, int idx)
{
	struct md_win *c = a->win_cache;
	if (c && c[0].budget != a->budget_bytes) {
		md_win_release(a);
		c = NULL;
	}
	if (!c) {
		c = calloc(2, sizeof(*c));
		if (!c)
			return NULL;
		a->win_cache = c;
		c[0].budget = c[1].budget = a->budget_bytes;
	}
	if (!c[idx].buf[0]) {
		/* two windows in flight: each gets half the budget */
		if (md_win_init_budget(&c[idx], a, a->budget_bytes / 2) < 0)
			return NULL;
		c[idx].budget = a->budget_bytes;
	}
	return &c[idx];
}

/* ---- background I/O of a window ---- */

static void *async_main(void *arg)
{
	struct md_win *w = arg;
	w->arc = w->afn(w, &w->ae);
	return NULL;
}

static void async_start(struct md_win *w, int (*fn)(struct md_win *, struct ok_err *))
{
	w->afn = fn;
	w->arc = 0;
	w->running = md_thread_start(&w->th, async_main, w) == 0;
	if (!w->running)
		async_main(w);
}

/* Wait for w's background I/O; its result (0 or negative errno, e filled). */
static int async_join(struct md_win *w, struct ok_err *e)
{
	if (w->running)
		pthread_join(w->th, NULL);
	w->running = false;
	int rc = w->arc;
	w->arc = 0;
	if (rc < 0 && e)
		*e = w->ae;
	return rc;
}

/*
 * A member that fails a write is marked faulty, as the kernel's md_error()
 * does, so the write still lands: the stripes it missed are whole on the
 * others (data, P and Q were all computed), and from now on its slot is
 * read by reconstruction. The superblocks say so at once (role faulty,
 * events + 1) before anything is reported written, so a later assembly,
 * ours or the kernel's, never takes the stale member for current. Only
 * when more members fail than the level can lose does the write fail.
 * Called in the caller's thread with no window I/O running.
 */
static int absorb_write_failures(struct md_array *a, struct md_win *w, int rc, struct ok_err *e)
{
	int nfail = 0, fail[MD_MAX_MEMBERS], err[MD_MAX_MEMBERS];
	for (int s = 0; s < a->geom.raid_disks; s++) {
		int mi = a->slot_member[s];
		if (w->slot_rc[s] >= 0 || mi < 0 || a->m[mi].failed)
			continue;
		if (w->slot_rc[s] == -ENOMEM)
			return rc;
		err[nfail] = w->slot_rc[s];
		fail[nfail++] = mi;
		w->slot_rc[s] = 0;
	}
	if (nfail == 0)
		return rc;
	return md_array_fail_members(a, nfail, fail, err, rc, e);
}

/* Wait for w's background I/O; a write's failed members are absorbed
 * (absorb_write_failures) once no other window is writing. */
static int join_window(struct md_array *a, struct md_win *w, struct ok_err *e)
{
	bool was_write = w->afn == md_win_write;
	int rc = async_join(w, e);
	if (rc < 0 && was_write) {
		/* the other window first: no I/O may run while members change */
		struct md_win *c = a->win_cache;
		for (int i = 0; c && i < 2; i++) {
			int r2 = &c[i] != w && c[i].running ? join_window(a, &c[i], e) : 0;
			if (r2 < 0)
				return r2;
		}
		rc = absorb_write_failures(a, w, rc, e);
	}
	return rc;
}

int md_win_sync(struct md_array *a, struct ok_err *e)
{
	struct md_win *c = a->win_cache;
	int rc = 0;
	for (int i = 0; c && i < 2; i++) {
		int r = join_window(a, &c[i], rc < 0 ? NULL : e);
		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

void md_win_release(struct md_array *a)
{
	if (a->win_cache) {
		struct md_win *c = a->win_cache;
		md_win_sync(a, NULL);
		md_win_free(&c[0]);
		md_win_free(&c[1]);
		free(a->win_cache);
		a->win_cache = NULL;
	}
}

/* ---- read ---- */

/* Plan the window that starts at array byte pos: its stripes or rows and
 * the data rows wanted (all rows of a stripe whose wanted block is known to
 * be unreadable, so one round of reads suffices). Returns the array byte
 * where the next window starts; *only_k is the chunk index in slice mode. */
static uint64_t plan_read(struct md_array *a, struct md_win *w, uint64_t pos, uint64_t end,
			  int *only_k)
{
	const struct md_geom *g = &a->geom;
	uint64_t chunk = (uint64_t)g->chunk_sectors * 512;
	int nd = md_geom_data_disks(g);
	uint64_t sd = chunk * (uint64_t)nd, s0 = pos / sd, next;
	*only_k = -1;
	if (w->ns_max > 1 || w->row_max == chunk) {
		uint64_t ns = (end + sd - 1) / sd - s0;
		if (ns > w->ns_max)
			ns = w->ns_max;
		md_win_set(w, s0, ns, 0, (uint32_t)chunk);
		next = (s0 + ns) * sd;
	} else {
		uint64_t in = pos % chunk;
		uint32_t r0 = (uint32_t)(in & ~(uint64_t)(IO_ALIGN - 1));
		uint32_t rlen = w->row_max;
		if (r0 + (uint64_t)rlen > chunk)
			rlen = (uint32_t)(chunk - r0);
		md_win_set(w, s0, 1, r0, rlen);
		*only_k = (int)((pos / chunk) % (uint64_t)nd);
		next = pos - in + r0 + rlen;
	}
	struct md_stripe st;
	for (uint64_t i = 0; i < w->ns; i++) {
		md_stripe_layout(g, s0 + i, &st);
		for (int k = 0; k < nd; k++) {
			uint64_t c0 = ((s0 + i) * (uint64_t)nd + (uint64_t)k) * chunk + w->r0;
			if (c0 >= end || c0 + w->rlen <= pos || (*only_k >= 0 && k != *only_k))
				continue;
			int d = st.data_dev[k];
			w->need[WIX(w, d, i)] = 1;
			if (!md_slot_readable(a, d, rel_of(w, i), w->rlen / 512))
				md_win_need_all(w, i);
		}
	}
	return next < end ? next : end;
}

/* ---- direct read: data chunks straight into the caller's buffer ---- */

/*
 * Whole stripes whose slots are each either readable over the range or gone
 * (missing or failed member) are read straight into the caller's buffer:
 * present data chunks into their place, and the parity a stripe needs to
 * rebuild its lost data chunks into the place of those lost chunks (P into
 * the first lost one, Q into the second, or into the only one when P is
 * lost too). The lost chunks are then rebuilt in place from it
 * (rebuild_direct), so a degraded read needs no window buffers and no copy.
 * Reads of the next batch of stripes run while the previous batch is
 * rebuilt (read_direct).
 */

/* Where slot's chunk of stripe st goes, as an index of data chunk k (its
 * own when it holds data; for parity, the lost data chunk it is read into:
 * P into the lost one of lower Q slot, Q into the other, or into the only
 * one when P is lost too), or -1 when it is not needed. lost: mask of gone
 * slots. */
static int direct_dest(const struct md_stripe *st, int slot, uint64_t lost)
{
	int lk[2], nl = 0;
	for (int k = 0; k < st->nd; k++) {
		if (st->data_dev[k] == slot)
			return k;
		if ((lost >> st->data_dev[k]) & 1 && nl < 2)
			lk[nl++] = k;
	}
	if (nl == 2 && st->qslot[lk[0]] > st->qslot[lk[1]]) {
		int t = lk[0];
		lk[0] = lk[1];
		lk[1] = t;
	}
	bool p_lost = (lost >> st->pd) & 1;
	if (slot == st->pd && nl > 0)
		return lk[0];
	if (slot == st->qd && (nl == 2 || (nl == 1 && p_lost)))
		return lk[nl - 1];
	return -1;
}

/* One slot's share of stripes [s0, s1): its chunks that direct_dest places,
 * read with one preadv per contiguous run on the member straight into out
 * (which holds array bytes from off). */
struct direct_job {
	struct md_array *a;
	int slot;
	uint64_t s0, s1, off, lost;
	uint8_t *out;
	int rc;
};

/* Read iov[0..cnt) from fd at dev: preadv when the system calls are the
 * real ones, else (fault injection in the tests) one io_pread_full per
 * chunk so that io_sys sees every read. 0 or -EIO. */
static int direct_run(int fd, struct iovec *iov, int cnt, uint64_t dev)
{
	if (io_sys.pread == io_sys_default.pread) {
		size_t want = 0;
		for (int i = 0; i < cnt; i++)
			want += iov[i].iov_len;
		ssize_t r = preadv(fd, iov, cnt, (off_t)dev);
		if (r == (ssize_t)want)
			return 0;
	}
	for (int i = 0; i < cnt; i++) {
		ssize_t r = io_pread_full(fd, iov[i].iov_base, iov[i].iov_len, (off_t)dev);
		if (r != (ssize_t)iov[i].iov_len)
			return -EIO;
		dev += iov[i].iov_len;
	}
	return 0;
}

static int direct_slot(void *ctx, int slot, struct ok_err *e)
{
	struct direct_job *j = (struct direct_job *)ctx + slot;
	(void)e;
	j->rc = 0;
	if ((j->lost >> slot) & 1)
		return 0;
	struct md_array *a = j->a;
	const struct md_geom *g = &a->geom;
	const struct md_member *m = &a->m[a->slot_member[j->slot]];
	uint64_t chunk = (uint64_t)g->chunk_sectors * 512;
	int nd = md_geom_data_disks(g), cnt = 0;
	enum { MAXV = 256 };
	struct iovec iov[MAXV];
	uint64_t run_dev = 0, next_dev = 0;
	struct md_stripe st;
	for (uint64_t i = j->s0; i < j->s1 && j->rc == 0; i++) {
		md_stripe_layout(g, i, &st);
		int k = direct_dest(&st, j->slot, j->lost);
		uint64_t dev = (m->sb.data_offset + i * g->chunk_sectors) * 512;
		if (cnt && (k < 0 || dev != next_dev || cnt == MAXV)) {
			j->rc = direct_run(m->fd, iov, cnt, run_dev);
			cnt = 0;
		}
		if (k < 0)
			continue;
		if (!cnt)
			run_dev = dev;
		iov[cnt].iov_base = j->out + ((i * (uint64_t)nd + (uint64_t)k) * chunk - j->off);
		iov[cnt].iov_len = (size_t)chunk;
		cnt++;
		next_dev = dev + chunk;
	}
	if (cnt && j->rc == 0)
		j->rc = direct_run(m->fd, iov, cnt, run_dev);
	return j->rc;
}

/* Rebuild the lost data chunks of stripes [s0, s1) in out from the parity
 * direct_slot read into them (direct_dest says where). */
struct rebuild_job {
	const struct md_geom *g;
	uint64_t s0, s1, off, lost;
	uint8_t *out;
	pthread_t th;
	bool running;
};

/* Rebuild the lost data of one stripe in place: chunk[k] points at data
 * chunk k's len bytes, the parity already read into the lost ones' places
 * (direct_dest); lost is the mask of gone slots. */
static void rebuild_inplace(const struct md_stripe *st, uint8_t *const *chunk, uint64_t lost,
			    size_t len)
{
	void *data[MD_MAX_MEMBERS];
	int nd = st->nd, lk[2], nl = 0;
	for (int k = 0; k < nd; k++) {
		data[st->qslot[k]] = chunk[k];
		if ((lost >> st->data_dev[k]) & 1 && nl < 2)
			lk[nl++] = st->qslot[k];
	}
	if (nl == 2) /* P in the lower Q slot, Q in the higher (direct_dest) */
		pq_recov_2data_inplace(nd, len, lk[0] < lk[1] ? lk[0] : lk[1],
				       lk[0] < lk[1] ? lk[1] : lk[0], data);
	else if (nl == 1)
		pq_recov_data_inplace(nd, len, lk[0], (lost >> st->pd) & 1, data);
}

static void *rebuild_direct(void *arg)
{
	struct rebuild_job *r = arg;
	const struct md_geom *g = r->g;
	uint64_t chunk = (uint64_t)g->chunk_sectors * 512;
	struct md_stripe st;
	uint8_t *cp[MD_MAX_MEMBERS];
	for (uint64_t i = r->s0; i < r->s1; i++) {
		md_stripe_layout(g, i, &st);
		for (int k = 0; k < st.nd; k++)
			cp[k] = r->out + ((i * (uint64_t)st.nd + (uint64_t)k) * chunk - r->off);
		rebuild_inplace(&st, cp, r->lost, (size_t)chunk);
	}
	return NULL;
}

/* Read whole stripes [s0, s1) straight into out, the members in parallel
 * (one thread each), lost: the mask of gone slots, whose data chunks are
 * rebuilt in place. Batches of stripes are read while the batch before is
 * rebuilt in a thread of its own. 0, or -EIO when any read failed (the
 * caller then reads the range through windows, which reconstruct). */
static int read_direct(struct md_array *a, uint64_t s0, uint64_t s1, uint8_t *out, uint64_t off,
		       uint64_t lost)
{
	int n = a->geom.raid_disks, rc = 0;
	struct direct_job jobs[MD_MAX_MEMBERS];
	/* without lost slots nothing is rebuilt: one batch */
	uint64_t batch = lost ? (s1 - s0 + 3) / 4 : s1 - s0;
	struct rebuild_job rb = {.g = &a->geom, .off = off, .lost = lost, .out = out};
	for (uint64_t b0 = s0; b0 < s1; b0 += batch) {
		uint64_t b1 = s1 - b0 < batch ? s1 : b0 + batch;
		for (int s = 0; s < n; s++)
			jobs[s] = (struct direct_job){a, s, b0, b1, off, lost, out, 0};
		int r = md_par_run(n, true, direct_slot, jobs, NULL, NULL);
		if (rb.running)
			pthread_join(rb.th, NULL);
		rb.running = false;
		if (r < 0) {
			rc = r; /* the caller rereads the whole range */
			break;
		}
		if (!lost)
			continue;
		rb.s0 = b0;
		rb.s1 = b1;
		if (b1 < s1 && md_thread_start(&rb.th, rebuild_direct, &rb) == 0)
			rb.running = true;
		else
			rebuild_direct(&rb);
	}
	if (rb.running)
		pthread_join(rb.th, NULL);
	return rc;
}

static int read_windows(struct md_array *a, uint64_t off, void *out, size_t len, struct ok_err *e);

/*
 * Bytes [in, in+n) of array data chunk c into out from the chunk's own
 * member: the 4 KiB-aligned span around them, straight into out when out
 * and the span line up, else through a bounce buffer. 0; -EAGAIN when the
 * member is not readable over the span or the read fails (the caller
 * rebuilds the piece or reads through the windows); -ENOMEM. Nothing of
 * the array is written, so read_small (holding the array) and the shared
 * read (read_piece_shared) both read a healthy chunk here.
 */
static int read_chunk_span(struct md_array *a, uint64_t c, uint64_t in, size_t n, uint8_t *out)
{
	const struct md_geom *g = &a->geom;
	uint64_t nd = (uint64_t)md_geom_data_disks(g);
	uint64_t rel = c / nd * g->chunk_sectors;
	uint64_t a0 = in & ~(uint64_t)(IO_ALIGN - 1);
	size_t span = (size_t)(((in + n + IO_ALIGN - 1) & ~(uint64_t)(IO_ALIGN - 1)) - a0);
	struct md_stripe st;
	md_stripe_layout(g, c / nd, &st);
	int slot = st.data_dev[c % nd];
	if (!md_slot_readable(a, slot, rel + a0 / 512, span / 512))
		return -EAGAIN;
	const struct md_member *m = &a->m[a->slot_member[slot]];
	uint64_t dev = (m->sb.data_offset + rel) * 512 + a0;
	if (a0 == in && span == n && (uintptr_t)out % IO_ALIGN == 0)
		return md_member_pread(a, slot, out, n, dev, NULL) < 0 ? -EAGAIN : 0;
	uint8_t *b = md_buf_alloc(span);
	if (!b)
		return -ENOMEM;
	int rc = md_member_pread(a, slot, b, span, dev, NULL) < 0 ? -EAGAIN : 0;
	if (rc == 0)
		memcpy(out, b + (in - a0), n);
	io_free(b);
	return rc;
}

/* A small read (at most 64 KiB: md_array_read) inside one data chunk whose
 * member is readable there (an NBD client's random 4 KiB reads): one pread
 * of the 4 KiB-aligned span around it (read_chunk_span), where a window
 * would read the whole chunk. Bigger reads keep the windows, whose buffers
 * are reused (a fresh bounce buffer of 256 KiB per nbdcopy request cost
 * more than the chunk-sized read it saved). 0, or negative
 * (not readable here, a failed read): the caller then reads through the
 * windows, which reconstruct and rewrite what did not read. */
static int read_small(struct md_array *a, uint64_t off, void *out, size_t len)
{
	uint64_t chunk = (uint64_t)a->geom.chunk_sectors * 512;
	if ((off % chunk + len + IO_ALIGN - 1) / IO_ALIGN * IO_ALIGN > chunk)
		return -EAGAIN;
	int rc = md_win_sync(a, NULL); /* writes still in flight land first */
	if (rc < 0)
		return rc;
	return read_chunk_span(a, off / chunk, off % chunk, len, out);
}

/* Bytes of array data in one stripe. */
static uint64_t md_stripe_data_bytes(const struct md_geom *g)
{
	return (uint64_t)g->chunk_sectors * 512 * (uint64_t)md_geom_data_disks(g);
}

/*
 * The whole stripes [*s0, *s1) inside [off, off+len) that read_direct can
 * read straight from the members into out: true when there is one, out
 * lines up for O_DIRECT there, and every member is either readable over
 * them or gone (*lost, its data chunks rebuilt), no more gone than the
 * level rebuilds. md_array_read and md_array_read_shared decide alike here.
 */
static bool direct_stripes(const struct md_array *a, uint64_t off, size_t len, const void *out,
			   uint64_t *s0, uint64_t *s1, uint64_t *lost)
{
	const struct md_geom *g = &a->geom;
	uint64_t cs = g->chunk_sectors, sd = md_stripe_data_bytes(g);
	*s0 = (off + sd - 1) / sd;
	*s1 = (off + len) / sd;
	*lost = 0;
	if (*s1 <= *s0 || ((uintptr_t)out + (*s0 * sd - off)) % IO_ALIGN != 0)
		return false;
	int nlost = 0;
	for (int s = 0; s < g->raid_disks; s++) {
		int mi = a->slot_member[s];
		if (mi < 0 || a->m[mi].failed || a->m[mi].fd < 0) {
			*lost |= 1ULL << s;
			nlost++;
		} else if (!md_slot_readable(a, s, *s0 * cs, (*s1 - *s0) * cs)) {
			return false;
		}
	}
	return nlost <= (g->level == 6 ? 2 : 1);
}

int md_array_read(struct md_array *a, uint64_t off, void *out, size_t len, struct ok_err *e)
{
	uint64_t total = md_array_bytes(a);
	if (off > total || len > total - off)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
				 "read of %zu bytes at %llu is beyond the array (%llu bytes)", len,
				 (unsigned long long)off, (unsigned long long)total);
	uint64_t chunk_bytes = (uint64_t)a->geom.chunk_sectors * 512;
	if (len > 0 && len <= (64u << 10) && off / chunk_bytes == (off + len - 1) / chunk_bytes &&
	    read_small(a, off, out, len) == 0)
		return 0;
	/*
	 * Whole stripes in the middle, when every member is readable there
	 * and the buffer is aligned for O_DIRECT, go straight from the members
	 * into out: no window buffers, no copy. The rest (edges, degraded or
	 * bad-block ranges, a failed direct read) goes through windows.
	 */
	uint64_t sd = md_stripe_data_bytes(&a->geom), s0, s1, lost;
	if (!direct_stripes(a, off, len, out, &s0, &s1, &lost))
		return read_windows(a, off, out, len, e); /* they say what cannot be rebuilt */
	int rc = md_win_sync(a, e);			  /* writes still in flight land first */
	if (rc < 0)
		return rc;
	if (s0 * sd > off && (rc = read_windows(a, off, out, (size_t)(s0 * sd - off), e)) < 0)
		return rc;
	if (read_direct(a, s0, s1, (uint8_t *)out + (s0 * sd - off), s0 * sd, lost) < 0 &&
	    (rc = read_windows(a, s0 * sd, (uint8_t *)out + (s0 * sd - off),
			       (size_t)((s1 - s0) * sd), e)) < 0)
		return rc;
	if (off + len > s1 * sd)
		return read_windows(a, s1 * sd, (uint8_t *)out + (s1 * sd - off),
				    (size_t)(off + len - s1 * sd), e);
	return 0;
}

/* ---- shared read: nothing of the array written (md_array_read_shared) ---- */

/*
 * Bytes [in, in+n) of array data chunk c into out: the 4 KiB-aligned span
 * around them from the chunk's member when it is readable there (straight
 * into out when out and the span line up, else through a bounce buffer of
 * its own), else rebuilt as a degraded read of that span of the stripe: the
 * other members' rows read into a stripe-sized buffer, parity into the
 * places of the lost data (direct_dest), and the lost data rebuilt in place,
 * as raid5.c's degraded read computes a block from the rest of its stripe.
 * Every read is aligned for O_DIRECT, so only m->fd is used (never the
 * lazily opened fd_buf). -EAGAIN when a read fails or more is lost than
 * the level rebuilds (the windows then read, rebuild and rewrite it).
 */
static int read_piece_shared(struct md_array *a, uint64_t c, uint64_t in, size_t n, uint8_t *out)
{
	const struct md_geom *g = &a->geom;
	uint64_t nd = (uint64_t)md_geom_data_disks(g);
	uint64_t rel = c / nd * g->chunk_sectors;
	uint64_t a0 = in & ~(uint64_t)(IO_ALIGN - 1);
	size_t span = (size_t)(((in + n + IO_ALIGN - 1) & ~(uint64_t)(IO_ALIGN - 1)) - a0);
	uint64_t r0 = rel + a0 / 512, rn = span / 512;
	struct md_stripe st;
	md_stripe_layout(g, c / nd, &st);
	int slot = st.data_dev[c % nd], rc;
	if (md_slot_readable(a, slot, r0, rn))
		return read_chunk_span(a, c, in, n, out);
	uint64_t lost = 0;
	int nlost = 0;
	for (int s = 0; s < g->raid_disks; s++)
		if (!md_slot_readable(a, s, r0, rn)) {
			lost |= 1ULL << s;
			nlost++;
		}
	if (nlost > (g->level == 6 ? 2 : 1))
		return -EAGAIN;
	uint8_t *b = md_buf_alloc(span * (size_t)nd), *cp[MD_MAX_MEMBERS];
	if (!b)
		return -ENOMEM;
	for (uint64_t k = 0; k < nd; k++)
		cp[k] = b + k * span;
	rc = 0;
	for (int s = 0; s < g->raid_disks && rc == 0; s++) {
		int k = (lost >> s) & 1 ? -1 : direct_dest(&st, s, lost);
		if (k < 0)
			continue;
		const struct md_member *m = &a->m[a->slot_member[s]];
		if (md_member_pread(a, s, cp[k], span, (m->sb.data_offset + rel) * 512 + a0, NULL) <
		    0)
			rc = -EAGAIN;
	}
	if (rc == 0) {
		rebuild_inplace(&st, cp, lost, span);
		memcpy(out, cp[c % nd] + (in - a0), n);
	}
	io_free(b);
	return rc;
}

/* Bytes [off, off+len) chunk piece by chunk piece (read_piece_shared). */
static int read_pieces_shared(struct md_array *a, uint64_t off, uint8_t *out, size_t len)
{
	uint64_t chunk = (uint64_t)a->geom.chunk_sectors * 512;
	for (uint64_t pos = off, end = off + len; pos < end;) {
		uint64_t in = pos % chunk, n = chunk - in < end - pos ? chunk - in : end - pos;
		int rc = read_piece_shared(a, pos / chunk, in, (size_t)n, out + (pos - off));
		if (rc < 0)
			return rc;
		pos += n;
	}
	return 0;
}

int md_array_read_shared(struct md_array *a, uint64_t off, void *out, size_t len, struct ok_err *e)
{
	uint64_t total = md_array_bytes(a);
	if (off > total || len > total - off)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
				 "read of %zu bytes at %llu is beyond the array (%llu bytes)", len,
				 (unsigned long long)off, (unsigned long long)total);
	const struct md_geom *g = &a->geom;
	/* a member whose data does not start 4 KiB-aligned would need the
	 * buffered descriptor md_member_fd opens on first use: not here */
	for (int s = 0; s < g->raid_disks; s++) {
		int mi = a->slot_member[s];
		if (mi >= 0 && a->m[mi].direct && a->m[mi].sb.data_offset % (IO_ALIGN / 512))
			return -EAGAIN;
	}
	/* whole stripes as md_array_read reads them (read_direct), the edges
	 * piece by piece */
	uint64_t sd = md_stripe_data_bytes(g), s0, s1, lost;
	if (!direct_stripes(a, off, len, out, &s0, &s1, &lost))
		return read_pieces_shared(a, off, out, len);
	uint8_t *o = out;
	int rc = read_pieces_shared(a, off, o, (size_t)(s0 * sd - off));
	if (rc == 0 && read_direct(a, s0, s1, o + (s0 * sd - off), s0 * sd, lost) < 0)
		rc = -EAGAIN;
	if (rc == 0)
		rc = read_pieces_shared(a, s1 * sd, o + (s1 * sd - off),
					(size_t)(off + len - s1 * sd));
	return rc;
}

static int read_windows(struct md_array *a, uint64_t off, void *out, size_t len, struct ok_err *e)
{
	uint64_t total = md_array_bytes(a);
	if (off > total || len > total - off)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
				 "read of %zu bytes at %llu is beyond the array (%llu bytes)", len,
				 (unsigned long long)off, (unsigned long long)total);
	if (len == 0)
		return 0;
	int rc = md_win_sync(a, e); /* writes still in flight land first */
	if (rc < 0)
		return rc;
	struct md_win *win[2] = {win_get(a, 0), win_get(a, 1)};
	if (!win[0] || !win[1])
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	const struct md_geom *g = &a->geom;
	uint64_t chunk = (uint64_t)g->chunk_sectors * 512;
	int nd = md_geom_data_disks(g);
	uint64_t end = off + len;
	int cur = 0, only_k[2];
	uint64_t pos = off, next[2];
	next[0] = plan_read(a, win[0], pos, end, &only_k[0]);
	async_start(win[0], md_win_read);
	while (pos < end) {
		struct md_win *w = win[cur];
		async_join(w, NULL);
		int nx = 1 - cur;
		if (next[cur] < end) {
			next[nx] = plan_read(a, win[nx], next[cur], end, &only_k[nx]);
			async_start(win[nx], md_win_read);
		}
		/* a wanted block that did not come: its stripe gets everything */
		bool again = false;
		for (uint64_t i = 0; i < w->ns; i++)
			for (int s = 0; s < g->raid_disks; s++)
				if (w->need[WIX(w, s, i)] && !w->have[WIX(w, s, i)]) {
					md_win_need_all(w, i);
					again = true;
					break;
				}
		if (again)
			md_win_read(w, e);
		for (uint64_t i = 0; i < w->ns && rc == 0; i++) {
			bool lost = false;
			for (int s = 0; s < g->raid_disks; s++)
				if (w->need[WIX(w, s, i)] && !w->have[WIX(w, s, i)])
					lost = true;
			if (lost)
				rc = md_win_reconstruct(w, i, NULL, e);
		}
		if (rc == 0)
			rc = md_win_fix_reads(w, e);
		if (rc < 0)
			break;
		/* copy out in array order */
		struct md_stripe st;
		for (uint64_t i = 0; i < w->ns; i++) {
			md_stripe_layout(g, w->s0 + i, &st);
			for (int k = 0; k < nd; k++) {
				uint64_t c0 =
				    ((w->s0 + i) * (uint64_t)nd + (uint64_t)k) * chunk + w->r0;
				uint64_t x0 = c0 > pos ? c0 : pos, x1 = c0 + w->rlen;
				if (x1 > end)
					x1 = end;
				if (x0 >= x1 || (only_k[cur] >= 0 && k != only_k[cur]))
					continue;
				memcpy((uint8_t *)out + (x0 - off),
				       md_win_ptr(w, st.data_dev[k], i) + (x0 - c0),
				       (size_t)(x1 - x0));
			}
		}
		if (next[cur] <= pos) {
			rc = ok_err_at(e, -EIO, NULL, OK_ERR_NOPOS, "read made no progress at %llu",
				       (unsigned long long)pos);
			break;
		}
		pos = next[cur];
		cur = nx;
	}
	async_join(win[0], NULL);
	async_join(win[1], NULL);
	return rc;
}

/* ---- write ---- */

/* One window of a write of [off, end) from src (src[0] is array byte off). */
static int write_window(struct md_array *a, struct md_win *w, uint64_t off, uint64_t end,
			const uint8_t *src, struct ok_err *e)
{
	const struct md_geom *g = &a->geom;
	uint64_t chunk = (uint64_t)g->chunk_sectors * 512;
	int nd = md_geom_data_disks(g), n = g->raid_disks;
	int npar = g->level == 6 ? 2 : 1;
	struct md_stripe st;
	int rc;
	/* which rows are touched, and how each stripe will be updated */
	uint8_t *mode = w->mode; /* per stripe: 0 untouched, 1 full, 2 rmw, 3 rcw */
	bool any = false;
	for (uint64_t i = 0; i < w->ns; i++) {
		md_stripe_layout(g, w->s0 + i, &st);
		int touched = 0, full = 0;
		bool degraded = false;
		for (int s = 0; s < n; s++)
			if (!md_slot_readable(a, s, rel_of(w, i), w->rlen / 512))
				degraded = true;
		for (int k = 0; k < nd; k++) {
			uint64_t c0 = ((w->s0 + i) * (uint64_t)nd + (uint64_t)k) * chunk + w->r0;
			uint64_t x0 = c0 > off ? c0 : off,
				 x1 = c0 + w->rlen < end ? c0 + w->rlen : end;
			if (x0 >= x1)
				continue;
			touched++;
			if (x0 == c0 && x1 == c0 + w->rlen)
				full++;
		}
		if (!touched) {
			mode[i] = 0;
			continue;
		}
		any = true;
		/* handle_stripe_dirtying: a stripe at or past recovery_cp may
		 * have stale parity, which rmw would carry on; reconstruct-write
		 * makes it right (raid5.c forces rcw there when none failed) */
		bool unsynced = rel_of(w, i) + w->rlen / 512 > a->resync_cp;
		if (full == nd)
			mode[i] = 1;
		else if (!degraded && !unsynced && touched + npar < nd - full)
			mode[i] = 2;
		else
			mode[i] = 3;
		for (int k = 0; k < nd; k++) {
			uint64_t c0 = ((w->s0 + i) * (uint64_t)nd + (uint64_t)k) * chunk + w->r0;
			uint64_t x0 = c0 > off ? c0 : off,
				 x1 = c0 + w->rlen < end ? c0 + w->rlen : end;
			bool t = x0 < x1, f = t && x0 == c0 && x1 == c0 + w->rlen;
			if (mode[i] == 2 && t)
				w->need[WIX(w, st.data_dev[k], i)] = 1;
			if (mode[i] == 3 && !f)
				w->need[WIX(w, st.data_dev[k], i)] = 1;
		}
		if (mode[i] == 2) {
			w->need[WIX(w, st.pd, i)] = 1;
			if (st.qd >= 0)
				w->need[WIX(w, st.qd, i)] = 1;
		}
		if (mode[i] == 3 && degraded)
			md_win_need_all(w, i);
	}
	if (!any)
		return 0;
	md_win_read(w, e);
	/* a needed block that did not come: rebuild the stripe from the rest */
	for (uint64_t i = 0; i < w->ns; i++) {
		if (mode[i] < 2)
			continue;
		bool lost = false;
		for (int s = 0; s < n; s++)
			if (w->need[WIX(w, s, i)] && !w->have[WIX(w, s, i)])
				lost = true;
		if (!lost)
			continue;
		if (mode[i] == 2) {
			mode[i] = 3;
			md_win_need_all(w, i);
		} else {
			md_win_need_all(w, i);
		}
	}
	md_win_read(w, e);
	for (uint64_t i = 0; i < w->ns; i++) {
		if (mode[i] != 3)
			continue;
		md_stripe_layout(g, w->s0 + i, &st);
		/* P/Q will be regenerated: do not count them as needed */
		bool need_rebuild = false;
		for (int k = 0; k < nd; k++) {
			int d = st.data_dev[k];
			if (w->need[WIX(w, d, i)] && !w->have[WIX(w, d, i)])
				need_rebuild = true;
		}
		if (need_rebuild && (rc = md_win_reconstruct(w, i, NULL, e)) < 0)
			return rc;
	}
	if ((rc = md_win_fix_reads(w, e)) < 0)
		return rc;
	/* bitmap, then data */
	uint64_t rel0 = rel_of(w, 0), rel1 = rel_of(w, w->ns - 1) + w->rlen / 512;
	if ((rc = md_array_bitmap_mark(a, rel0, rel1 - rel0, e)) < 0)
		return rc;
	uint8_t *delta = w->scratch + 2 * (size_t)w->row_max;
	for (uint64_t i = 0; i < w->ns; i++) {
		if (!mode[i])
			continue;
		md_stripe_layout(g, w->s0 + i, &st);
		uint8_t *p = md_win_ptr(w, st.pd, i);
		uint8_t *q = st.qd >= 0 ? md_win_ptr(w, st.qd, i) : NULL;
		for (int k = 0; k < nd; k++) {
			uint64_t c0 = ((w->s0 + i) * (uint64_t)nd + (uint64_t)k) * chunk + w->r0;
			uint64_t x0 = c0 > off ? c0 : off,
				 x1 = c0 + w->rlen < end ? c0 + w->rlen : end;
			if (x0 >= x1)
				continue;
			uint8_t *dst = md_win_ptr(w, st.data_dev[k], i);
			const uint8_t *in = src + (x0 - off);
			size_t b0 = (size_t)(x0 - c0), blen = (size_t)(x1 - x0);
			if (mode[i] == 2) {
				/* delta over the 64-byte aligned span that holds the change */
				size_t a0 = b0 & ~(size_t)63, a1 = (b0 + blen + 63) & ~(size_t)63;
				memset(delta + a0, 0, a1 - a0);
				for (size_t j = 0; j < blen; j++)
					delta[b0 + j] = dst[b0 + j] ^ in[j];
				if (q)
					pq_update(st.qslot[k], a1 - a0, delta + a0, p + a0, q + a0);
				else {
					void *two[2] = {delta + a0, p + a0};
					pq_xor(2, a1 - a0, two, p + a0);
				}
			}
			memcpy(dst + b0, in, blen);
			w->dirty[WIX(w, st.data_dev[k], i)] = 1;
		}
		if (mode[i] != 2)
			md_win_gen(w, i, p, q);
		w->dirty[WIX(w, st.pd, i)] = 1;
		if (st.qd >= 0)
			w->dirty[WIX(w, st.qd, i)] = 1;
	}
	return 0; /* the caller writes (md_win_write), maybe in the background */
}

/* The next of the two windows takes stripes [s0, s0+ns), rows [r0,
 * r0+rlen), of the write of [off, end): prepared while the other one may
 * still be writing, and left writing in the background. */
static int write_next(struct md_array *a, struct md_win *win[2], uint64_t s0, uint64_t ns,
		      uint64_t r0, uint64_t rlen, uint64_t off, uint64_t end, const uint8_t *buf,
		      struct ok_err *e)
{
	int k = a->win_next;
	a->win_next = 1 - k;
	struct md_win *w = win[k], *o = win[1 - k];
	int rc = join_window(a, w, e);
	if (rc < 0)
		return rc;
	md_win_set(w, s0, ns, (uint32_t)r0, (uint32_t)rlen);
	/* the other window may still be writing stripes this one reads (an
	 * earlier call's last batch): let it land */
	if (o->running && o->s0 < w->s0 + w->ns && w->s0 < o->s0 + o->ns)
		rc = join_window(a, o, e);
	if (rc == 0)
		rc = write_window(a, w, off, end, buf, e);
	if (rc == 0)
		async_start(w, md_win_write);
	return rc;
}

int md_array_write(struct md_array *a, uint64_t off, const void *buf, size_t len, struct ok_err *e)
{
	uint64_t total = md_array_bytes(a);
	if (off > total || len > total - off)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
				 "write of %zu bytes at %llu is beyond the array (%llu bytes)", len,
				 (unsigned long long)off, (unsigned long long)total);
	if (len == 0)
		return 0;
	int rc = md_array_mark_active(a, e);
	if (rc < 0)
		return rc;
	struct md_win *win[2] = {win_get(a, 0), win_get(a, 1)};
	if (!win[0] || !win[1])
		return ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
	const struct md_geom *g = &a->geom;
	uint64_t chunk = (uint64_t)g->chunk_sectors * 512;
	uint64_t sd = chunk * (uint64_t)md_geom_data_disks(g), end = off + len;
	/*
	 * Window k is prepared while window k-1 is being written, and the last
	 * write is left running when we return (the caller reads its next input
	 * meanwhile); md_win_sync, any read, check or close waits for it.
	 */
	uint64_t s_end = (end + sd - 1) / sd;
	uint64_t c0 = off / chunk * chunk;
	if (end <= c0 + chunk && len < chunk) {
		/*
		 * Part of one chunk: md works in 4 KiB stripe units (raid5.c's
		 * stripe_heads), so a 4 KiB write reads and writes 4 KiB of each
		 * member it needs, not whole chunk rows: the window is the row
		 * slice of the 4 KiB blocks the write meets.
		 */
		uint64_t b0 = (off - c0) & ~(uint64_t)4095;
		uint64_t b1 = (end - c0 + 4095) & ~(uint64_t)4095;
		if (b1 > chunk)
			b1 = chunk;
		if (b1 - b0 <= win[0]->row_max)
			return write_next(a, win, off / sd, 1, b0, b1 - b0, off, end, buf, e);
	}
	for (uint64_t s = off / sd; s < s_end && rc == 0;) {
		uint64_t rows = win[0]->row_max == chunk ? chunk : win[0]->row_max;
		for (uint64_t r = 0; r < chunk && rc == 0; r += rows) {
			if (rows == chunk) {
				uint64_t ns =
				    s_end - s < win[0]->ns_max ? s_end - s : win[0]->ns_max;
				rc = write_next(a, win, s, ns, 0, chunk, off, end, buf, e);
			} else {
				/* huge chunks: every row slice of every stripe met */
				rc =
				    write_next(a, win, s, 1, r, chunk - r < rows ? chunk - r : rows,
					       off, end, buf, e);
			}
		}
		s += win[0]->row_max == chunk ? win[0]->ns_max : 1;
	}
	return rc;
}

/* ---- close: windows drained, members synced, marked clean ---- */

int md_array_sync(struct md_array *a, struct ok_err *e)
{
	int rc = md_win_sync(a, e);
	return rc < 0 ? rc : md_members_sync(a->m, a->nmembers, e);
}

int md_array_close(struct md_array *a, struct ok_err *e)
{
	if (!a->m)
		return 0;
	/* writes still in flight first; if one failed, stay active (dirty) */
	int rc = md_win_sync(a, e);
	if (rc < 0)
		a->active = false;
	else
		rc = md_array_mark_clean(a, e);
	md_win_release(a);
	md_array_free(a);
	return rc;
}

int md_array_flush(struct md_array *a, struct ok_err *e)
{
	return md_win_sync(a, e);
}

void md_array_abandon(struct md_array *a)
{
	if (!a->m)
		return;
	md_win_release(a);
	md_array_free(a);
}
