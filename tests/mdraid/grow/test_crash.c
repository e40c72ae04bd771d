/*
 * test_crash.c: crash-state replay of `mdraid grow` (issue 5, "Tests").
 *
 * A grow runs once with lib/io.h's io_sys table replaced by a recorder that
 * logs every pwrite (file, offset, bytes) and every fdatasync/fsync. A crash
 * state at event i is: the files as they were before the grow, plus every
 * write before i that a later flush of its file (still before i) made
 * durable, plus any subset of the other writes before i, each torn into
 * 4 KiB pieces that land or not independently. Crash points are every
 * flush (just before it: the most pending writes), which covers the backup,
 * the START round, the critical section, every checkpoint, the
 * invalidation of the backup and the FINAL superblock round; at each point
 * we replay no pending piece, all of them, and random subsets (all subsets
 * when there are few).
 *
 * Superblock rounds (groups of 4 KiB writes) at the START of the grow and
 * at its end (the last checkpoint, the data_offset round, the final round)
 * are replayed in every subset up to 7 members, else every in-order prefix
 * (each single write) plus random subsets. The mid-copy points between them
 * are a fixed-seed sample (one in four); MDRAID_EXHAUSTIVE=1 replays every
 * point, and every subset of up to 12 pending pieces everywhere (minutes).
 * The sanitizer build (ASan+UBSan, several times slower a state) replays a
 * thinner fixed-seed sample of the same kinds of state (see THIN_REPLAY):
 * it is there for memory safety, which the same code paths on the same
 * shapes of state show as well as every state does; the release build
 * judges every state listed above.
 *
 * For every state we check:
 *   - what the kernel does given every member (kernel_view: which members
 *     it takes by events, the shape from the freshest superblock, each
 *     member's data_offset/new_offset from its own, raid5_run's restart
 *     checks) and, when it assembles, that reading every chunk of the
 *     original content where it reads it (degraded: what P/Q determine)
 *     gives that content: never an assembly with other data;
 *   - whether mdadm 4.2 --assemble refuses it (compare_super1/0: raid_disks,
 *     0.90 minor_version) or hands it to the kernel as above;
 *   - `grow --continue` (reshape_open with cont) then gives the grown array
 *     with the original content and consistent P/Q (fx_verify), or, when
 *     the crash came before any superblock said "reshaping", the old array
 *     is intact.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "io.h"
#include "reshape.h"

/* ---- the recorder ---- */

#define MAXF 16
struct ev {
	int file;     /* index into files[] */
	int flush;    /* 1 = fdatasync/fsync */
	uint64_t off; /* write: byte offset */
	uint64_t len;
	uint8_t *data;
};

static struct {
	char path[MAXF][512];
	int n;
	dev_t dev[MAXF];
	ino_t ino[MAXF];
	int known[MAXF];
	uint8_t *init[MAXF]; /* content before the grow (NULL: absent) */
	uint64_t init_len[MAXF];
	struct ev *ev;
	size_t nev, cap;
} R;

static int file_of(int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	for (int i = 0; i < R.n; i++) {
		if (!R.known[i]) {
			struct stat ps;
			if (stat(R.path[i], &ps) == 0) {
				R.dev[i] = ps.st_dev, R.ino[i] = ps.st_ino, R.known[i] = 1;
			}
		}
		if (R.known[i] && R.dev[i] == st.st_dev && R.ino[i] == st.st_ino)
			return i;
	}
	return -1;
}

static void push(struct ev e)
{
	if (R.nev == R.cap) {
		R.cap = R.cap ? 2 * R.cap : 1024;
		R.ev = realloc(R.ev, R.cap * sizeof *R.ev);
	}
	R.ev[R.nev++] = e;
}

/* The engine writes members from several threads: one lock orders the log. */
static pthread_mutex_t rec_lock = PTHREAD_MUTEX_INITIALIZER;

static ssize_t rec_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	pthread_mutex_lock(&rec_lock);
	ssize_t r = io_sys_default.pwrite(fd, buf, n, off);
	int f = file_of(fd);
	if (r > 0 && f >= 0) {
		struct ev e = {f, 0, (uint64_t)off, (uint64_t)r, malloc((size_t)r)};
		memcpy(e.data, buf, (size_t)r);
		push(e);
	}
	pthread_mutex_unlock(&rec_lock);
	return r;
}

static int rec_flush(int fd)
{
	pthread_mutex_lock(&rec_lock);
	int f = file_of(fd);
	if (f >= 0)
		push((struct ev){f, 1, 0, 0, NULL});
	int rc = io_sys_default.fdatasync(fd);
	pthread_mutex_unlock(&rec_lock);
	return rc;
}

/* Durability is modelled by the replay; the continue runs need none. */
static int no_flush(int fd)
{
	(void)fd;
	return 0;
}

static void rec_reset(void)
{
	for (size_t i = 0; i < R.nev; i++)
		free(R.ev[i].data);
	R.nev = 0;
	for (int i = 0; i < R.n; i++) {
		free(R.init[i]);
		R.init[i] = NULL;
	}
	R.n = 0;
}

static void add_file(const char *path)
{
	int i = R.n++;
	snprintf(R.path[i], sizeof R.path[i], "%s", path);
	R.known[i] = 0;
	R.init[i] = NULL;
	R.init_len[i] = 0;
	int fd = open(path, O_RDONLY);
	if (fd >= 0) {
		off_t sz = lseek(fd, 0, SEEK_END);
		R.init[i] = malloc((size_t)sz);
		R.init_len[i] = (uint64_t)sz;
		if (pread(fd, R.init[i], (size_t)sz, 0) != sz)
			abort();
		close(fd);
	}
}

/* ---- states ---- */

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* Write the state "crash before event `at`" to the files; keep(w, piece)
 * says whether a pending write's piece lands. */
static uint8_t *state_buf[MAXF];
static uint64_t state_len[MAXF];

static void materialize(size_t at, const uint8_t *durable, const uint8_t *pending_mask,
			const size_t *piece_base)
{
	for (int f = 0; f < R.n; f++) {
		uint64_t len = R.init_len[f];
		for (size_t i = 0; i < at; i++)
			if (!R.ev[i].flush && R.ev[i].file == f && R.ev[i].off + R.ev[i].len > len)
				len = R.ev[i].off + R.ev[i].len;
		if (state_len[f] < len) {
			state_buf[f] = realloc(state_buf[f], len);
		}
		state_len[f] = len;
		memset(state_buf[f], 0, len);
		if (R.init[f])
			memcpy(state_buf[f], R.init[f], R.init_len[f]);
	}
	for (size_t i = 0; i < at; i++) {
		struct ev *e = &R.ev[i];
		if (e->flush)
			continue;
		if (durable[i]) {
			memcpy(state_buf[e->file] + e->off, e->data, e->len);
			continue;
		}
		uint64_t pieces = (e->len + 4095) / 4096;
		for (uint64_t p = 0; p < pieces; p++)
			if (pending_mask[piece_base[i] + p]) {
				uint64_t n = e->len - p * 4096 < 4096 ? e->len - p * 4096 : 4096;
				memcpy(state_buf[e->file] + e->off + p * 4096, e->data + p * 4096,
				       n);
			}
	}
	for (int f = 0; f < R.n; f++) {
		/* no O_TRUNC: ext4 flushes files truncated to 0 on close */
		int fd = open(R.path[f], O_WRONLY | O_CREAT, 0644);
		if (fd < 0 || pwrite(fd, state_buf[f], state_len[f], 0) != (ssize_t)state_len[f] ||
		    ftruncate(fd, (off_t)state_len[f]) < 0)
			abort();
		close(fd);
	}
}

/* ---- the kernel's view of a crash state ---- */

struct scen {
	const char *name;
	int level, layout, minor, n_old, n_new;
	uint32_t chunk;
	uint64_t bytes, doff;
	int backup_file;
	uint32_t step_rows;
	int random_subsets;
	int exhaustive_max;	/* pieces up to which all subsets are tried */
	unsigned missing;	/* old members given as "missing" (degraded, --force) */
	int bitmap;		/* an internal write-intent bitmap */
	uint32_t new_chunk;	/* a chunk change to this (sectors); 0 = a grow */
	int takeover;		/* RAID5 -> RAID6 --layout=preserve (n_new = n_old + 1); 2: without
				 * --layout (grow.c: the conversion, then --layout=normalise) */
	const char *new_layout; /* a layout change to this (mdadm's name); NULL = none */
	int new_layout_num;	/* its number (md_p.h), written here independently */
	uint64_t grow_bytes;	/* --size=max after each member grew by this (resize.c) */
	uint64_t tail;		/* sectors left free after the data (a.tail): mdadm 4.2
				 * moves data_offset up into them when they exceed the
				 * head-room, and the chunk or layout change runs backwards */
};

/* file index in R of member i, -1 when it is missing */
static int fidx[64];

/*
 * The kernel's assembly of a crash state given every member (md.c
 * analyze_sbs with super_1_load/validate or super_90_load/validate,
 * raid5.c raid5_run), then its reading of the original content:
 *   - members in the order given; a superblock with a bad checksum is not
 *     loaded; v1.x: the freshest is the first with the highest events;
 *     0.90: a member whose constant words (minor_version, raid_disks)
 *     differ from the freshest so far is kicked (md_sb_equal);
 *   - active members with events + 1 < the freshest's are kicked (stale);
 *   - the array's shape and reshape state come from the freshest; each
 *     member's data_offset from its OWN superblock, and its new_data_offset
 *     = data_offset + new_offset only when its own superblock has
 *     RESHAPE_ACTIVE and NEW_OFFSET; roles (v1.x) from the freshest's table,
 *     (0.90) from the member's own;
 *   - raid5_run: position on a new-stripe boundary, and not "too early":
 *     here_new*cs >= here_old*cs + min_offset_diff refuses (min_offset_diff
 *     = the smallest data_offset - new_data_offset over the members);
 *     more missing slots than parity in either geometry refuses;
 *   - then every chunk of the original content is read where the kernel
 *     reads it: below the position in the new geometry at new_data_offset,
 *     from it on in the old geometry at data_offset (not reshaping: the
 *     freshest's geometry at data_offset); a missing member's chunk is what
 *     P (or Q, or P and Q) determine from the present members.
 * Returns 0 (assembled, every chunk original), 1 (refused: why says so),
 * -1 (assembled but a chunk differs: silent wrong data).
 */

struct kmember {
	int present;
	uint64_t doff, ndoff;
	struct fx_sb sb;
};

/* What the kernel returns for array sectors [at, at + len) (within one
 * chunk) in a geometry of `disks` members and chunk cs, reading member d
 * at off[d] (sectors); the original is fx_content's. Returns 1 if it reads
 * the original, 0 if not, -1 if it cannot be read (too many missing). */
static const struct fx_array *k_array;
static uint64_t k_old_end;    /* array sectors of original content; zeros after */
static int k_level, k_layout; /* the freshest superblock's (a takeover changes them) */
static int kread(const struct scen *sc, const struct kmember *km, int disks, const uint64_t *off,
		 uint64_t at, uint64_t len, uint64_t cs, int layout)
{
	(void)sc;
	int par = k_level == 6 ? 2 : 1, nd = disks - par;
	uint64_t s = at / (cs * (uint64_t)nd), in = at % cs, cb = len * 512;
	int k = (int)(at / cs % (uint64_t)nd);
	static uint8_t want[1 << 16];
	fx_content(k_array, k_old_end, at, len, want);
	int p = 0, q = -1, d = fx_map(k_level, layout, disks, s, k, &p, &q);
	if (km[d].present)
		return memcmp(state_buf[fidx[d]] + (off[d] + s * cs + in) * 512, want, cb) == 0;
	/* degraded: the data the present parity determines; with the original
	 * in the missing data places, the present P and Q must match */
	static uint8_t bufs[64][1 << 16], P[1 << 16], Q[1 << 16];
	uint8_t *ch[64];
	int miss = 0;
	for (int kk = 0; kk < nd; kk++) {
		int pp, qq, dd = fx_map(k_level, layout, disks, s, kk, &pp, &qq);
		ch[dd] = bufs[dd];
		if (km[dd].present)
			memcpy(bufs[dd], state_buf[fidx[dd]] + (off[dd] + s * cs + in) * 512, cb);
		else {
			miss++;
			fx_content(k_array, k_old_end, (s * (uint64_t)nd + (uint64_t)kk) * cs + in,
				   len, bufs[dd]);
		}
	}
	int haveP = km[p].present, haveQ = q >= 0 && km[q].present;
	if (miss > haveP + haveQ)
		return -1;
	fx_pq(disks, p, q, ch, cb, P, q >= 0 ? Q : NULL);
	/* raid5/6 recovery: one missing data block from P when P is there,
	 * else from Q; two from P and Q */
	int ok = 1;
	if (haveP)
		ok &= memcmp(P, state_buf[fidx[p]] + (off[p] + s * cs + in) * 512, cb) == 0;
	if (haveQ && (miss == 2 || !haveP))
		ok &= memcmp(Q, state_buf[fidx[q]] + (off[q] + s * cs + in) * 512, cb) == 0;
	return ok;
}

static int kernel_view(const struct scen *sc, const struct fx_array *a, char **paths, char *why,
		       size_t wl)
{
	struct kmember km[64];
	int fresh = -1, nm = sc->n_old > sc->n_new ? sc->n_old : sc->n_new;
	memset(km, 0, sizeof km);
	for (int i = 0; i < nm; i++) {
		struct fx_sb sb;
		if (fidx[i] < 0 || fx_read_sb(paths[i], sc->minor, &sb) < 0 || !sb.csum_ok)
			continue;
		if (sc->bitmap && (!sb.bm_ok || sb.bm_events < sb.events)) {
			snprintf(why, wl, "%s: bitmap %s (events %llu < superblock's %llu)",
				 paths[i], sb.bm_ok ? "stale" : "missing",
				 (unsigned long long)sb.bm_events, (unsigned long long)sb.events);
			return -1;
		}
		if (sc->minor == 90 && fresh >= 0 &&
		    (sb.minor90 != km[fresh].sb.minor90 ||
		     sb.raid_disks != km[fresh].sb.raid_disks))
			continue; /* md_sb_equal: kicked */
		km[i].present = 1;
		km[i].sb = sb;
		if (fresh < 0 || sb.events > km[fresh].sb.events)
			fresh = i;
	}
	if (fresh < 0) {
		snprintf(why, wl, "no valid superblock");
		return 1;
	}
	const struct fx_sb *F = &km[fresh].sb;
	int reshaping = !!(F->feature & 4);
	/* a shrink (delta < 0) and a chunk or layout change with
	 * RESHAPE_BACKWARDS (bit 32, delta 0) run backwards: below the
	 * position the old geometry, from it on the new one */
	int back = reshaping && (F->delta < 0 || (F->delta == 0 && (F->feature & 32)));
	int disks = (int)F->raid_disks, odisks = reshaping ? disks - F->delta : disks;
	/* the shape is the freshest's: a RAID5 -> RAID6 takeover changes level
	 * and layout with no reshape bits */
	k_level = F->level;
	k_layout = F->layout;
	int par = k_level == 6 ? 2 : 1, nd = disks - par, od = odisks - par;
	int opar = sc->level == 6 ? 2 : 1; /* the original array's */
	/* old chunk: the sb's chunksize; new: new_chunk while reshaping */
	uint64_t ocs = F->chunk, ncs = reshaping && F->new_chunk ? F->new_chunk : F->chunk;
	uint64_t maxc = ocs > ncs ? ocs : ncs;
	uint64_t off_new[64] = {0}, off_old[64] = {0};
	int slot_of[64];
	for (int s = 0; s < 64; s++)
		slot_of[s] = -1;
	/* raid5_run's min_offset_diff over the members: forwards the one
	 * nearest zero of new - old (here as old - new, clamped), backwards
	 * the smallest new - old */
	uint64_t mod = UINT64_MAX;
	int64_t modb = INT64_MAX;
	for (int i = 0; i < nm; i++) {
		struct kmember *m = &km[i];
		if (!m->present)
			continue;
		if (m->sb.events + 1 < F->events) {
			m->present = 0; /* stale: kicked */
			continue;
		}
		if (m->sb.feature & 2) {
			/* RECOVERY_OFFSET: being rebuilt; nothing read from it here
			 * (its recovery goes on), so count it missing */
			m->present = 0;
			continue;
		}
		unsigned role = sc->minor == 90 || m->sb.dev_number >= 64
				    ? m->sb.roles[m->sb.dev_number < 64 ? m->sb.dev_number : 0]
				    : F->roles[m->sb.dev_number];
		if (role >= (unsigned)(disks > odisks ? disks : odisks) || slot_of[role] >= 0) {
			m->present = 0;
			continue;
		}
		slot_of[role] = i;
		m->doff = m->sb.data_offset;
		m->ndoff = m->doff;
		if ((m->sb.feature & 4) && (m->sb.feature & 64))
			m->ndoff = m->doff + (uint64_t)(int64_t)m->sb.new_offset;
		uint64_t diff = m->doff > m->ndoff ? m->doff - m->ndoff : 0;
		if (diff < mod)
			mod = diff;
		if ((int64_t)(m->ndoff - m->doff) < modb)
			modb = (int64_t)(m->ndoff - m->doff);
	}
	/* by slot: km indexed by slot from here on */
	struct kmember ks[64];
	memset(ks, 0, sizeof ks);
	int missing_new = 0, missing_old = 0;
	for (int s = 0; s < (disks > odisks ? disks : odisks); s++) {
		if (slot_of[s] >= 0) {
			ks[s] = km[slot_of[s]];
			off_new[s] = ks[s].ndoff;
			off_old[s] = ks[s].doff;
		} else {
			missing_new += s < disks;
			missing_old += s < odisks;
		}
	}
	int kf[64];
	for (int s = 0; s < 64; s++)
		kf[s] = slot_of[s] >= 0 ? fidx[slot_of[s]] : -1;
	if (missing_new > par || missing_old > par) {
		snprintf(why, wl, "not enough members (%d/%d slots missing)", missing_new,
			 missing_old);
		return 1;
	}
	uint64_t pos = reshaping ? F->reshape_pos : 0;
	if (reshaping) {
		uint64_t unit = maxc * (uint64_t)nd;
		if (pos % unit) {
			snprintf(why, wl, "reshape_position %llu not on a stripe boundary",
				 (unsigned long long)pos);
			return 1;
		}
		uint64_t here_new = pos / unit, here_old = pos / (maxc * (uint64_t)od);
		if (mod == UINT64_MAX)
			mod = 0;
		/* raid5_run at delta 0: |min_offset_diff| must be at least both
		 * chunks, or the reshape is in place (read-only start) */
		uint64_t amod = back ? (modb > 0 && modb != INT64_MAX ? (uint64_t)modb : 0) : mod;
		if (disks == odisks && (amod < ocs || amod < ncs)) {
			snprintf(why, wl,
				 "raid5_run: in-place reshape must be started in read-only mode");
			return 1;
		}
		if (back && (int64_t)(here_new * maxc) + modb <= (int64_t)(here_old * maxc)) {
			snprintf(why, wl, "raid5_run: reshape_position %llu too early (backwards)",
				 (unsigned long long)pos);
			return 1;
		}
		if (!back && disks != odisks && here_new * maxc >= here_old * maxc + mod) {
			snprintf(why, wl, "raid5_run: reshape_position %llu too early",
				 (unsigned long long)pos);
			return 1;
		}
	}
	/* read every chunk of the original content */
	int save[64];
	memcpy(save, fidx, sizeof save);
	memcpy(fidx, kf, sizeof fidx);
	uint64_t g = ocs < ncs ? ocs : ncs; /* pieces within one chunk of both */
	if ((uint64_t)a->chunk < g)
		g = a->chunk;
	uint64_t old_end = a->size / a->chunk * a->chunk * (uint64_t)(sc->n_old - opar);
	k_array = a;
	k_old_end = old_end;
	int rc = 0;
	/* a shrink keeps what the smaller geometry holds (raid5_size with the
	 * fewer data disks, while reshaping too); before it, all */
	uint64_t check_end = old_end;
	if (back || (!reshaping && disks < sc->n_old))
		check_end = a->size / maxc * maxc * (uint64_t)(back ? nd : disks - par);
	for (uint64_t at = 0; at < check_end && rc == 0; at += g) {
		uint64_t c = at / a->chunk;
		int r;
		if (back && at >= pos)
			r = kread(sc, ks, disks, off_new, at, g, ncs, F->new_layout);
		else if (back)
			r = kread(sc, ks, odisks, off_old, at, g, ocs, k_layout);
		else if (reshaping && at < pos)
			r = kread(sc, ks, disks, off_new, at, g, ncs, F->new_layout);
		else if (reshaping)
			r = kread(sc, ks, odisks, off_old, at, g, ocs, k_layout);
		else
			r = kread(sc, ks, disks, off_old, at, g, F->chunk, k_layout);
		if (r == 0) {
			snprintf(
			    why, wl,
			    "the kernel assembles (freshest %s: %s, position %llu, %d members) "
			    "and reads WRONG data at chunk %llu",
			    paths[fresh], reshaping ? "reshaping" : "not reshaping",
			    (unsigned long long)pos, disks, (unsigned long long)c);
			rc = -1;
		} else if (r < 0) {
			snprintf(why, wl, "chunk %llu unreadable", (unsigned long long)c);
			rc = 1;
		}
	}
	memcpy(fidx, save, sizeof save);
	return rc;
}

/* mdadm 4.2 --assemble given every member: load_super1/0 skips a bad
 * checksum; compare_super1 (ctime, level, layout, size, chunk, raid_disks)
 * or compare_super0 (also minor_version) against the first loaded aborts
 * the whole assembly ("superblock on X doesn't match others"). Otherwise it
 * passes the members within one event of the freshest to the kernel, which
 * kernel_view judges (a needed backup is restored first: Grow_restart,
 * judged by the continue step). Returns 1 when mdadm refuses. */
static int mdadm_refuses(const struct scen *sc, char **paths, char *why, size_t wl)
{
	struct fx_sb first = {0}, sb;
	int have = 0, nm = sc->n_old > sc->n_new ? sc->n_old : sc->n_new;
	for (int i = 0; i < nm; i++) {
		if (fidx[i] < 0 || fx_read_sb(paths[i], sc->minor, &sb) < 0 || !sb.csum_ok)
			continue;
		if (!have) {
			first = sb, have = 1;
			continue;
		}
		if (sb.raid_disks != first.raid_disks || sb.level != first.level ||
		    sb.layout != first.layout || sb.size != first.size || sb.chunk != first.chunk ||
		    (sc->minor == 90 && sb.minor90 != first.minor90)) {
			snprintf(why, wl, "mdadm: superblock on %s doesn't match others", paths[i]);
			return 1;
		}
	}
	return 0;
}

static long long total_states;
/* MDRAID_EXHAUSTIVE=1: every subset of up to 12 pending pieces, 8x the
 * random subsets elsewhere (minutes; make check replays the default set) */
static int exhaustive_env;

/* Under ASan every state costs several times more; the release build
 * replays the full set, the sanitizer build a thinner one: one in 16
 * mid-copy points, all subsets only up to 3 pieces, one random subset a
 * point, and then one in THIN_KEEP of the resulting states (a fixed-seed
 * choice; START and end rounds included, the final state always). Every
 * scenario, crash point kind and check still runs under the sanitizers:
 * 4,952 states took 174 s of make check's ASan pass, about 1,700 now. */
#if defined(__SANITIZE_ADDRESS__)
#define THIN_REPLAY 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define THIN_REPLAY 1
#endif
#endif
#ifndef THIN_REPLAY
#define THIN_REPLAY 0
#endif
enum { THIN_KEEP = 3 };

/*
 * A crash state of `grow --size=max` (resize.c), as md assembles it: the
 * freshest superblock (most events; every member within one event of it,
 * or md kicks it) gives size S and resync_offset R; every member's
 * data_size must hold S (super_1_load refuses less), the old rows must hold
 * the original content and rows below min(R, S) consistent P/Q (md resyncs
 * from R and trusts what is below it). Returns 0, or -1 with why filled.
 */
static int resize_view(const struct fx_array *a, char **paths, char *why, size_t wl)
{
	struct fx_sb sb[64];
	uint64_t top = 0;
	int fresh = -1;
	for (int i = 0; i < a->n; i++) {
		if (fx_read_sb(paths[i], a->minor, &sb[i]) < 0 || !sb[i].csum_ok) {
			snprintf(why, wl, "%s: superblock unreadable or torn", paths[i]);
			return -1;
		}
		if (fresh < 0 || sb[i].events > top)
			top = sb[i].events, fresh = i;
	}
	uint64_t S = sb[fresh].size, R = sb[fresh].resync;
	for (int i = 0; i < a->n; i++) {
		if (sb[i].events + 1 < top) {
			snprintf(why, wl, "%s: events %llu, the freshest %llu: md kicks it",
				 paths[i], (unsigned long long)sb[i].events,
				 (unsigned long long)top);
			return -1;
		}
		if (sb[i].data_size < S || sb[i].feature & (4 | 64)) {
			snprintf(why, wl, "%s: data_size %llu below size %llu (or reshaping)",
				 paths[i], (unsigned long long)sb[i].data_size,
				 (unsigned long long)S);
			return -1;
		}
	}
	if (S < a->size || (R != UINT64_MAX && R < a->size)) {
		snprintf(why, wl, "size %llu / resync_offset %llu below the old size %llu",
			 (unsigned long long)S, (unsigned long long)R, (unsigned long long)a->size);
		return -1;
	}
	uint64_t good = R < S ? R : S;
	return fx_verify_rows(a, paths, good / a->chunk, 0, why, (unsigned)wl);
}

/* Record `grow --size=max` (resize.c) or run it again on a crash state. */
static int resize_once(const struct scen *sc, char **paths, struct ok_err *e)
{
	struct resize *rs;
	struct resize_opts o = {.batch_stripes = sc->step_rows};
	int rc = resize_open(&rs, (const char *const *)paths, sc->n_old, &o, e);
	if (rc == 0)
		rc = resize_run(rs, e);
	resize_close(rs);
	return rc == -EALREADY ? 0 : rc; /* done already: fx_verify_rows judges */
}

/* `mdraid grow --level=6 -n N` again on a crash state of its default path
 * (grow.c grow_main): the conversion with --layout=preserve (starting,
 * continuing, or continuing the restripe in progress), then, only when it
 * was a conversion, --layout=normalise; "nothing to do" is success. */
static int combined_again(const struct scen *sc, char **paths, int nm, struct ok_err *e)
{
	struct reshape_opts o = {.raid_disks = sc->n_new,
				 .level = 6,
				 .layout = "preserve",
				 .max_step_rows = sc->step_rows + 1,
				 .checkpoint_secs = 1e9};
	struct reshape *r;
	int tk = 0, rc = reshape_open(&r, (const char *const *)paths, nm, &o, e);
	if (rc == 0) {
		tk = reshape_plan(r)->takeover;
		rc = reshape_run(r, e);
	}
	reshape_close(r);
	if (rc == -EALREADY)
		return 0;
	if (rc || !tk)
		return rc;
	struct reshape_opts o2 = {
	    .layout = "normalise", .max_step_rows = sc->step_rows + 1, .checkpoint_secs = 1e9};
	rc = reshape_open(&r, (const char *const *)paths, nm, &o2, e);
	if (rc == 0)
		rc = reshape_run(r, e);
	reshape_close(r);
	return rc == -EALREADY ? 0 : rc;
}

static int run_scenario(const struct scen *sc, const char *dir)
{
	char pbuf[20][512], *paths[20];
	char bkp[600];
	struct fx_array a = {.n = sc->n_old,
			     .level = sc->level,
			     .layout = sc->layout,
			     .minor = sc->minor,
			     .chunk = sc->chunk,
			     .dev_bytes = sc->bytes,
			     .data_offset = sc->doff,
			     .bitmap = sc->bitmap,
			     .seed = (uint32_t)(sc->n_new * 100 + sc->chunk)};
	/* a shrink: members (all given) and data_offset's move up, min =
	 * LCM(old, new stripe) / old data disks, as mdadm's, left free after
	 * size so that md's new_offset store accepts it */
	int nm = sc->n_old > sc->n_new ? sc->n_old : sc->n_new;
	int par = sc->level == 6 ? 2 : 1, od = sc->n_old - par, nd = sc->n_new - par;
	if (sc->n_new < sc->n_old) {
		uint64_t x = (uint64_t)sc->chunk * od, y = (uint64_t)sc->chunk * nd, g = x, t = y;
		while (t) {
			uint64_t m = g % t;
			g = t;
			t = m;
		}
		a.tail = x / g * y / (uint64_t)od;
	}
	if (sc->tail)
		a.tail = sc->tail;
	for (int i = 0; i < nm; i++) {
		snprintf(pbuf[i], sizeof pbuf[i], "%s/%s-m%d", dir, sc->name, i);
		paths[i] = pbuf[i];
	}
	snprintf(bkp, sizeof bkp, "%s/%s-backup", dir, sc->name);
	unlink(bkp);
	if (fx_create(&a, paths) < 0)
		return -1;
	for (int i = sc->n_old; i < sc->n_new; i++)
		fx_blank(paths[i], sc->bytes, (uint32_t)i);
	rec_reset();
	for (int i = 0; i < nm; i++) {
		if (sc->missing >> i & 1) {
			unlink(paths[i]);
			paths[i] = "missing";
			fidx[i] = -1;
			continue;
		}
		fidx[i] = R.n;
		add_file(paths[i]);
	}
	if (sc->backup_file)
		add_file(bkp);

	/* after a takeover: RAID6 in the RAID5 layout's -6 form, same data */
	struct fx_array a6 = a;
	a6.level = 6;
	a6.n = sc->n_new;
	a6.layout = sc->layout <= 4 ? sc->layout + 16 : 5;
	/* after a layout change: the new layout */
	struct fx_array al = a;
	if (sc->new_layout)
		al.layout = sc->new_layout_num;
	/* after the default path (takeover 2): RAID6 in the RAID5 layout's number */
	struct fx_array a6n = a6;
	a6n.layout = sc->layout;
	const struct fx_array *after = sc->takeover == 2 ? &a6n
				       : sc->takeover	 ? &a6
				       : sc->new_layout	 ? &al
							 : &a;
	size_t phase2 = 0; /* takeover 2: the first event of the restripe */
	struct reshape_opts o = {.raid_disks = sc->n_new,
				 .level = sc->takeover ? 6 : 0,
				 .layout = sc->takeover ? "preserve" : sc->new_layout,
				 .chunk = sc->new_chunk,
				 .force = !!sc->missing,
				 .backup_file = sc->backup_file ? bkp : NULL,
				 .max_step_rows = sc->step_rows,
				 .checkpoint_secs = 1e9};
	if (sc->n_new < sc->n_old) /* the new size: nothing above it is lost */
		o.array_size = a.size * (uint64_t)nd;
	struct reshape *r;
	struct ok_err e;
	io_sys.pwrite = rec_pwrite;
	io_sys.fdatasync = rec_flush;
	io_sys.fsync = rec_flush;
	int rc;
	uint64_t new_rows = 0;
	if (sc->grow_bytes) {
		/* the members grow; the space they gain holds other bytes */
		new_rows = (sc->bytes + sc->grow_bytes) / 512 - a.data_offset;
		new_rows /= a.chunk;
		for (int i = 0; i < sc->n_new; i++) {
			io_sys = io_sys_default;
			int fd = open(paths[i], O_RDWR);
			uint8_t *t = malloc(sc->grow_bytes);
			for (uint64_t b = 0; b < sc->grow_bytes; b++)
				t[b] = (uint8_t)(b * 131 + (uint64_t)i * 7 + 1);
			if (fd < 0 || pwrite(fd, t, sc->grow_bytes, (off_t)sc->bytes) !=
					  (ssize_t)sc->grow_bytes)
				abort();
			close(fd);
			free(t);
		}
		rec_reset();
		for (int i = 0; i < sc->n_new; i++)
			add_file(paths[i]);
		io_sys.pwrite = rec_pwrite;
		io_sys.fdatasync = rec_flush;
		io_sys.fsync = rec_flush;
		rc = resize_once(sc, paths, &e);
		r = NULL;
	} else {
		rc = reshape_open(&r, (const char *const *)paths, nm, &o, &e);
		if (rc == 0)
			rc = reshape_run(r, &e);
		if (rc == 0 && sc->takeover == 2) {
			/* grow_main's second half: the restripe, recorded too */
			struct reshape_opts o2 = {.layout = "normalise",
						  .max_step_rows = sc->step_rows,
						  .checkpoint_secs = 1e9};
			reshape_close(r);
			phase2 = R.nev;
			rc = reshape_open(&r, (const char *const *)paths, nm, &o2, &e);
			if (rc == 0)
				rc = reshape_run(r, &e);
		}
	}
	io_sys = io_sys_default;
	reshape_close(r);
	char msg[512] = "";
	fx_ok(rc == 0, "%s: recorded %s %d -> %d (%zu events)%s%s", sc->name,
	      sc->grow_bytes	      ? "--size=max"
	      : sc->new_chunk	      ? "chunk change"
	      : sc->takeover == 2     ? "RAID5 -> RAID6, then the restripe"
	      : sc->takeover	      ? "RAID5 -> RAID6"
	      : sc->n_new < sc->n_old ? "shrink"
				      : "grow",
	      sc->new_chunk ? (int)sc->chunk : sc->n_old,
	      sc->new_chunk ? (int)sc->new_chunk : sc->n_new, R.nev, rc ? ": " : "",
	      rc ? e.msg : "");
	if (rc)
		return -1;
	fx_ok((sc->grow_bytes ? fx_verify_rows(&a, paths, new_rows, 1, msg, sizeof msg)
			      : fx_verify(after, sc->n_new, paths, msg, sizeof msg)) == 0,
	      "%s: recorded grow verifies%s%s", sc->name, msg[0] ? ": " : "", msg);

	/* pieces of every write */
	size_t *base = calloc(R.nev + 1, sizeof *base), npieces = 0;
	for (size_t i = 0; i < R.nev; i++) {
		base[i] = npieces;
		if (!R.ev[i].flush)
			npieces += (R.ev[i].len + 4095) / 4096;
	}
	uint8_t *durable = calloc(R.nev + 1, 1), *mask = calloc(npieces + 1, 1);
	long long states = 0, fails = 0, kernel_checked = 0, kernel_refused = 0, kernel_wrong = 0,
		  mdadm_refused = 0, resumed = 0, untouched = 0;
	char first_fail[700] = "";
	/* Flush points whose pending writes are all 4 KiB (a superblock
	 * round, a bitmap's, a backup header's) and that start a run of
	 * flushes (the later flushes of a run leave subsets of its pending
	 * set), numbered in a first pass so that the START round's (among the
	 * first 4) and the last checkpoint's and end rounds' (among the last
	 * 6) are known. */
	int sb_total = 0, sb_seen = 0;
	/* --size=max syncs each superblock alone: its first two rounds
	 * (data_size, size) are 2n groups, its last two (the last checkpoint,
	 * clean) 2n more */
	int head = sc->grow_bytes ? 2 * sc->n_old : 4, tail = sc->grow_bytes ? 2 * sc->n_old : 6;
	/* The data-copy points strictly between the 4th and the 6th-last of
	 * those groups (checkpoints in mid-copy, each like its neighbours) are
	 * a fixed-seed sample of one in MID_KEEP by default, so that make check
	 * stays within its time; everything before (the backup, the START
	 * round, the critical section, the first copy step) and after (the last
	 * checkpoint, the data_offset and FINAL rounds, the invalidation of the
	 * backup) is replayed in full, and MDRAID_EXHAUSTIVE=1 replays all.
	 * The sanitizer build keeps one in 16: it runs the same code on the
	 * same kinds of state, several times slower each. */
	enum { MID_KEEP = THIN_REPLAY ? 16 : 4 };
	uint64_t mid_rng = 0x9e3779b97f4a7c15ull;
	for (const char *c = sc->name; *c; c++)
		mid_rng = (mid_rng ^ (uint8_t)*c) * 0x100000001b3ull;
	long long mid_points = 0, mid_kept = 0, thinned = 0;
	uint64_t thin_rng = mid_rng ^ 0x5bd1e995u;
	for (int pass = 0; pass < 2; pass++) {
		for (size_t at = 0; at <= R.nev; at++) {
			if (at < R.nev && !R.ev[at].flush)
				continue;
			/* durable: a flush of the same file between the write and `at` */
			int flushed[MAXF] = {0};
			size_t pend_pieces = 0;
			int all4k = 1;
			for (size_t i = at; i-- > 0;) {
				if (R.ev[i].flush) {
					flushed[R.ev[i].file] = 1;
					continue;
				}
				durable[i] = at == R.nev || flushed[R.ev[i].file];
				if (!durable[i]) {
					pend_pieces += (R.ev[i].len + 4095) / 4096;
					all4k &= R.ev[i].len == 4096;
				}
			}
			int sb_group = pend_pieces > 0 && all4k && at < R.nev &&
				       (at == 0 || !R.ev[at - 1].flush);
			if (pass == 0) {
				sb_total += sb_group;
				continue;
			}
			/* the START round (with its bitmap and backup-header groups) is
			 * among the first 4 such groups, the last checkpoint and the two
			 * end rounds among the last 6; the checkpoints between are
			 * sampled as before */
			if (sb_group) {
				sb_seen++;
				sb_group = sb_seen <= head || sb_seen > sb_total - tail;
			}
			if (at < R.nev && sb_seen > head && sb_seen < sb_total - tail) {
				mid_points++;
				mid_rng ^= mid_rng << 13;
				mid_rng ^= mid_rng >> 7;
				mid_rng ^= mid_rng << 17;
				if (!exhaustive_env && mid_rng % MID_KEEP)
					continue;
				mid_kept++;
			}
			int exh_max = exhaustive_env ? 12 : THIN_REPLAY ? 3 : sc->exhaustive_max;
			if (sb_group && !THIN_REPLAY && exh_max < 7)
				exh_max = 7;
			int exhaustive = pend_pieces <= (size_t)exh_max;
			int nrand = exhaustive_env ? 8 * sc->random_subsets
				    : THIN_REPLAY  ? 1
						   : sc->random_subsets;
			int nprefix = sb_group && !exhaustive ? (int)pend_pieces + 1 : 0;
			int variants = exhaustive ? 1 << pend_pieces : 2 + nprefix + nrand;
			if (at == R.nev)
				variants = 1;
			for (int v = 0; v < variants; v++) {
				size_t bit = 0;
				for (size_t i = 0; i < at; i++) {
					if (R.ev[i].flush || durable[i])
						continue;
					uint64_t pieces = (R.ev[i].len + 4095) / 4096;
					for (uint64_t p = 0; p < pieces; p++, bit++) {
						int keep;
						if (exhaustive)
							keep = (v >> bit) & 1;
						else if (v < 2)
							keep = v;
						else if (v < 2 + nprefix)
							keep = bit < (size_t)(v - 2);
						else
							keep = (int)(rnd() & 1);
						mask[base[i] + p] = (uint8_t)keep;
					}
				}
				if (THIN_REPLAY && !exhaustive_env && at < R.nev) {
					thin_rng ^= thin_rng << 13;
					thin_rng ^= thin_rng >> 7;
					thin_rng ^= thin_rng << 17;
					if (thin_rng % THIN_KEEP) {
						thinned++;
						continue;
					}
				}
				materialize(at, durable, mask, base);
				states++;
				char why[600] = "";
				if (sc->grow_bytes) {
					/* md's view, then the same command again;
					 * mdadm's compare_super1 first: a torn SIZE
					 * round (members of two sizes) it refuses, as
					 * mdadm 4.2 in the guest does
					 * (tests/interop/mdraid/test_grow_crash.sh,
					 * kind sizemax), before md sees it */
					char mwhy[300];
					if (mdadm_refuses(sc, paths, mwhy, sizeof mwhy))
						mdadm_refused++;
					int bad = resize_view(&a, paths, why, sizeof why) < 0;
					if (bad)
						kernel_wrong++;
					else
						kernel_checked++;
					io_sys.fdatasync = no_flush;
					io_sys.fsync = no_flush;
					rc = bad ? 0 : resize_once(sc, paths, &e);
					io_sys = io_sys_default;
					resumed += !bad;
					if (!bad && (rc || fx_verify_rows(&a, paths, new_rows, 1,
									  msg, sizeof msg))) {
						bad = 1;
						snprintf(why, sizeof why,
							 "again: rc %d %.250s / %.250s", rc,
							 rc ? e.msg : "", rc ? "" : msg);
					}
					if (bad && !fails++)
						snprintf(first_fail, sizeof first_fail,
							 "event %zu/%zu v%d: %.500s", at, R.nev, v,
							 why);
					continue;
				}
				int kv = kernel_view(sc, &a, paths, why, sizeof why);
				if (kv == 0)
					kernel_checked++;
				else if (kv == 1)
					kernel_refused++;
				else
					kernel_wrong++;
				char mwhy[300];
				if (mdadm_refuses(sc, paths, mwhy, sizeof mwhy))
					mdadm_refused++;
				int bad = kv < 0;
				if (!bad && sc->takeover == 2) {
					/* the same command again (grow_main): the
					 * conversion (or its continuation, or the
					 * restripe's: a RAID6 in a reshape), then the
					 * restripe only after a conversion; a crash
					 * between the two leaves a clean RAID6 -6, on
					 * which, as mdadm, it finds nothing to do */
					io_sys.fdatasync = no_flush;
					io_sys.fsync = no_flush;
					rc = combined_again(sc, paths, nm, &e);
					io_sys = io_sys_default;
					resumed++;
					if (rc ||
					    (fx_verify(after, sc->n_new, paths, msg, sizeof msg) &&
					     (at > phase2 ||
					      fx_verify(&a6, sc->n_new, paths, msg, sizeof msg)))) {
						bad = 1;
						snprintf(why, sizeof why,
							 "again: rc %d %.250s / %.250s", rc,
							 rc ? e.msg : "", rc ? "" : msg);
					}
				} else if (!bad) {
					struct reshape_opts c = {.cont = 1,
								 .force = !!sc->missing,
								 .backup_file =
								     sc->backup_file ? bkp : NULL,
								 .max_step_rows = sc->step_rows + 1,
								 .checkpoint_secs = 1e9};
					io_sys.fdatasync = no_flush;
					io_sys.fsync = no_flush;
					rc = reshape_open(&r, (const char *const *)paths, nm, &c,
							  &e);
					if (rc == 0) {
						rc = reshape_run(r, &e);
						reshape_close(r);
						resumed++;
						io_sys = io_sys_default;
						if (rc || fx_verify(after, sc->n_new, paths, msg,
								    sizeof msg)) {
							bad = 1;
							snprintf(why, sizeof why,
								 "continue rc %d %.250s / %.250s",
								 rc, rc ? e.msg : "",
								 rc ? "" : msg);
						}
					} else {
						reshape_close(r);
						io_sys = io_sys_default;
						/* no reshape recorded: the old array must be
						 * intact, or the grow is complete */
						char m2[512];
						if (strstr(e.msg, "no reshape in progress") &&
						    (fx_verify(&a, sc->n_old, paths, msg,
							       sizeof msg) == 0 ||
						     fx_verify(after, sc->n_new, paths, m2,
							       sizeof m2) == 0)) {
							untouched++;
						} else {
							bad = 1;
							snprintf(
							    why, sizeof why,
							    "continue refused: %.250s (%.250s)",
							    e.msg, msg);
						}
					}
				}
				if (bad) {
					fails++;
					if (!first_fail[0])
						snprintf(first_fail, sizeof first_fail,
							 "event %zu/%zu v%d: %.500s", at, R.nev, v,
							 why);
				}
			}
		}
	}
	total_states += states;
	printf("# %s: %lld of %lld mid-copy crash points replayed (%s)\n", sc->name, mid_kept,
	       mid_points, exhaustive_env ? "MDRAID_EXHAUSTIVE" : "fixed-seed sample");
	if (thinned)
		printf("# %s: sanitizer build: %lld of %lld states replayed (fixed-seed sample; "
		       "the release build replays every one)\n",
		       sc->name, states, states + thinned);
	fx_ok(fails == 0,
	      "%s: %lld crash states: the kernel reads the original content in %lld, refuses "
	      "%lld, reads wrong data in %lld; mdadm 4.2 refuses %lld (superblocks differ); "
	      "%lld continued, %lld before the reshape began or after it ended%s%s",
	      sc->name, states, kernel_checked, kernel_refused, kernel_wrong, mdadm_refused,
	      resumed, untouched, fails ? ": first failure " : "", first_fail);
	free(base);
	free(durable);
	free(mask);
	for (int i = 0; i < nm; i++)
		if (fidx[i] >= 0)
			unlink(paths[i]);
	unlink(bkp);
	return 0;
}

int main(void)
{
	const char *ex = getenv("MDRAID_EXHAUSTIVE");
	exhaustive_env = ex && *ex && strcmp(ex, "0") != 0;
	char dir[] = "/tmp/mdraid-grow-crash.XXXXXX";
	/* Thousands of states are written and read back with O_DIRECT: keep
	 * them in memory (tmpfs) when we can. */
	const char *tmp = getenv("GROW_TEST_DIR");
	if (!tmp && access("/dev/shm", W_OK) == 0)
		tmp = "/dev/shm";
	if (!tmp)
		tmp = getenv("TMPDIR");
	char dbuf[512];
	if (tmp) {
		snprintf(dbuf, sizeof dbuf, "%s/mdraid-grow-crash.XXXXXX", tmp);
		if (!mkdtemp(dbuf))
			return 1;
	} else if (!mkdtemp(dir)) {
		return 1;
	}
	const char *d = tmp ? dbuf : dir;
	/* Small arrays with 4 KiB chunks and 2-3 rows per step, so a grow
	 * has many checkpoints and every crash state is cheap to replay. */
	/* clang-format off */
	static const struct scen sc[] = {
	    /* name         lvl lay min old new chunk bytes   doff bkf step rnd exh missing bitmap
	     */
	    {"new-offset", 6, 2, 2, 4, 5, 8, 384 << 10, 128, 0, 2, 4, 6, 0, 0, 0, 0, NULL, 0, 0, 0},
	    {"backup-file", 6, 2, 2, 4, 5, 8, 384 << 10, 128, 1, 3, 4, 6, 0, 0, 0, 0, NULL, 0, 0, 0},
	    {"backup-member", 6, 2, 2, 4, 6, 8, 384 << 10, 80, 0, 2, 4, 5, 0, 0, 0, 0, NULL, 0, 0, 0},
	    {"v1.0-raid6-5to7", 6, 0, 0, 5, 7, 16, 512 << 10, 0, 0, 3, 3, 4, 0, 0, 0, 0, NULL, 0, 0, 0},
	    {"raid5-3to4", 5, 2, 2, 3, 4, 8, 256 << 10, 128, 0, 2, 4, 6, 0, 0, 0, 0, NULL, 0, 0, 0},
	    {"degraded-r6-4to5-slot1-file", 6, 2, 2, 4, 5, 8, 384 << 10, 128, 1, 3, 2, 4, 1u << 1,
	     0, 0, 0, NULL, 0, 0, 0},
	    /* metadata 0.90 (issue 11): superblock at the end, data from 0, no
	     * data_offset to move: the backup in a file or on a new member */
	    {"v0.90-backup-file", 6, 2, 90, 4, 5, 8, 384 << 10, 0, 1, 3, 4, 6, 0, 0, 0, 0, NULL, 0, 0, 0},
	    {"v0.90-backup-member-r6-4to6", 6, 1, 90, 4, 6, 8, 512 << 10, 0, 0, 2, 4, 5, 0, 0, 0, 0,
	     NULL, 0, 0, 0},
	    {"v0.90-raid5-3to4-member", 5, 0, 90, 3, 4, 8, 256 << 10, 0, 0, 2, 4, 6, 0, 0, 0, 0,
	     NULL, 0, 0, 0},
	    /* a "_6" layout (left-symmetric-6: Q on the last member) */
	    {"left-symmetric-6-file", 6, 18, 2, 4, 5, 8, 384 << 10, 128, 1, 3, 4, 6, 0, 0, 0, 0,
	     NULL, 0, 0, 0},
	    /* an internal bitmap: kept, its events never behind the superblocks' */
	    {"bitmap-v1.2-new-offset", 6, 2, 2, 4, 5, 8, 384 << 10, 128, 0, 2, 4, 6, 0, 1, 0, 0,
	     NULL, 0, 0, 0},
	    {"bitmap-v0.90-member", 6, 2, 90, 4, 5, 8, 384 << 10, 0, 0, 3, 4, 6, 0, 1, 0, 0, NULL,
	     0, 0, 0},
	    /* chunk changes at constant raid-devices (issue 24): data_offset moves
	     * down as mdadm's choose_offset picks (128 -> 96), forwards */
	    {"chunk-r6-4k-to-16k", 6, 2, 2, 4, 4, 8, 384 << 10, 128, 0, 3, 4, 6, 0, 0, 32, 0, NULL,
	     0, 0, 0},
	    {"chunk-r6-16k-to-4k", 6, 2, 2, 4, 4, 32, 384 << 10, 128, 0, 4, 4, 6, 0, 0, 8, 0, NULL,
	     0, 0, 0},
	    {"chunk-r5-4k-to-16k", 5, 0, 2, 4, 4, 8, 256 << 10, 128, 0, 2, 4, 6, 0, 0, 32, 0, NULL,
	     0, 0, 0},
	    /* RAID5 -> RAID6 --layout=preserve (issue 24): the level round, then
	     * Q rebuilt onto the new member (recovery_offset checkpoints) */
	    {"takeover-r5-4-to-r6-5", 5, 2, 2, 4, 5, 8, 384 << 10, 128, 0, 2, 4, 6, 0, 0, 0, 1,
	     NULL, 0, 0, 0},
	    {"takeover-r5-3-to-r6-4-v1.1", 5, 0, 1, 3, 4, 8, 256 << 10, 64, 0, 2, 4, 6, 0, 0, 0, 1,
	     NULL, 0, 0, 0},
	    /* layout changes at constant raid-devices (issue 24): data_offset
	     * moves down by a chunk or more, forwards, as a chunk change */
	    {"layout-r6-ls-to-ra", 6, 2, 2, 4, 4, 8, 384 << 10, 128, 0, 3, 4, 6, 0, 0, 0, 0,
	     "right-asymmetric", 1, 0, 0},
	    {"layout-r6-ls6-normalise", 6, 18, 2, 5, 5, 8, 384 << 10, 128, 0, 2, 4, 6, 0, 0, 0, 0,
	     "normalise", 2, 0, 0},
	    {"layout-r5-la-to-rs", 5, 0, 2, 4, 4, 8, 256 << 10, 128, 0, 2, 4, 6, 0, 0, 0, 0,
	     "right-symmetric", 3, 0, 0},
	    /* --size=max after every member grew (issue 24): data_size, size,
	     * resync_offset checkpoints of the added rows, clean */
	    {"size-max-r6-v1.2", 6, 2, 2, 4, 4, 8, 256 << 10, 128, 0, 4, 4, 6, 0, 0, 0, 0, NULL, 0,
	     64 << 10, 0},
	    {"size-max-r5-v1.1", 5, 0, 1, 3, 3, 8, 256 << 10, 64, 0, 4, 4, 6, 0, 0, 0, 0, NULL, 0,
	     96 << 10, 0},
	    /* shrinks (issue 24): --array-size given, data_offset up by
	     * backup_blocks / old data disks, backwards from the end */
	    /* RAID5 -> RAID6 without --layout (issue 24): the conversion into
	     * left-symmetric-6, then the restripe into left-symmetric, killed in
	     * either and the same command run again */
	    {"r5-4-to-r6-5-default", 5, 2, 2, 4, 5, 8, 384 << 10, 128, 0, 2, 4, 6, 0, 0, 0, 2,
	     NULL, 0, 0, 0},
	    {"shrink-r6-6to5", 6, 2, 2, 6, 5, 8, 384 << 10, 128, 0, 2, 4, 6, 0, 0, 0, 0, NULL, 0, 0, 0},
	    {"shrink-r5-5to4-v1.1", 5, 0, 1, 5, 4, 8, 256 << 10, 64, 0, 3, 4, 6, 0, 0, 0, 0, NULL, 0,
	     0, 0},
	    /* chunk and layout changes with more room after the data than
	     * before it (issue 24): mdadm 4.2 moves data_offset UP (choose_offset
	     * in [doff + min, doff + after]) and the kernel reshapes backwards,
	     * RESHAPE_BACKWARDS set, from the end down to 0 */
	    {"chunk-r6-4k-to-16k-back", 6, 2, 2, 4, 4, 8, 384 << 10, 96, 0, 3, 4, 6, 0, 0, 32, 0,
	     NULL, 0, 0, 160},
	    {"chunk-r5-16k-to-4k-back-v1.1", 5, 0, 1, 4, 4, 32, 256 << 10, 64, 0, 4, 4, 6, 0, 0, 8,
	     0, NULL, 0, 0, 128},
	    /* metadata 1.0: no room before the data (data_offset 0), the room
	     * after it up to the bad-block log below the superblock */
	    {"chunk-r6-4k-to-16k-back-v1.0", 6, 2, 0, 4, 4, 8, 384 << 10, 0, 0, 3, 4, 6, 0, 0, 32, 0,
	     NULL, 0, 0, 96},
	    {"layout-r6-ls-to-ra-back", 6, 2, 2, 4, 4, 8, 384 << 10, 96, 0, 3, 4, 6, 0, 0, 0, 0,
	     "right-asymmetric", 1, 0, 96},
	};
	/* clang-format on */
	/* MDRAID_CRASH_ONLY=name: one scenario (debugging) */
	const char *only = getenv("MDRAID_CRASH_ONLY");
	for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++)
		if (!only || !strcmp(only, sc[i].name))
			run_scenario(&sc[i], d);
	printf("# %lld crash states replayed in all\n", total_states);
	rmdir(d);
	printf("1..%d\n", fx_tap_n);
	return 0;
}
