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
 * For every state we check:
 *   - what the kernel would do with the superblocks alone: a RESHAPE_ACTIVE
 *     position on a stripe boundary; with NEW_OFFSET or past the critical
 *     section raid5_run's restart check passes, the old-geometry rows from
 *     L(pos) on are byte-identical to the original (what the kernel reads)
 *     and the new rows below pos hold the right data and parity; before
 *     the critical section's end a valid backup of it exists;
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
	int exhaustive_max; /* pieces up to which all subsets are tried */
	unsigned missing;   /* old members given as "missing" (degraded, --force) */
	int bitmap;	    /* an internal write-intent bitmap */
};

/* file index in R of member i, -1 when it is missing */
static int fidx[64];

static int kernel_view(const struct scen *sc, const struct fx_array *a, char **paths, char *why,
		       size_t wl)
{
	struct fx_sb sb, best = {0};
	int have = 0;
	for (int i = 0; i < sc->n_new; i++) {
		if (fx_read_sb(paths[i], sc->minor, &sb) < 0 || !sb.csum_ok)
			continue;
		if (sc->bitmap && (!sb.bm_ok || sb.bm_events < sb.events)) {
			snprintf(why, wl, "%s: bitmap %s (events %llu < superblock's %llu)",
				 paths[i], sb.bm_ok ? "stale" : "missing",
				 (unsigned long long)sb.bm_events, (unsigned long long)sb.events);
			return -1;
		}
		if ((!have || sb.events > best.events))
			best = sb, have = 1;
	}
	if (!have) {
		snprintf(why, wl, "no valid superblock");
		return -1;
	}
	if (!(best.feature & 4))
		return 0; /* not reshaping: checked by the continue step */
	int par = sc->level == 6 ? 2 : 1, od = sc->n_old - par, nd = sc->n_new - par;
	uint64_t cs = a->chunk, unit = cs * (uint64_t)nd, pos = best.reshape_pos;
	uint64_t bb = reshape_backup_blocks(a->chunk, a->chunk, od, nd);
	uint64_t shift = (best.feature & 64) ? (uint64_t)(-(int64_t)best.new_offset) : 0;
	uint64_t rows = a->size / cs;
	if (pos % unit) {
		snprintf(why, wl, "reshape_position %llu not on a stripe boundary",
			 (unsigned long long)pos);
		return -1;
	}
	uint64_t here_new = pos / unit, here_old = pos / (cs * (uint64_t)od);
	int kernel_ok = !(here_new * cs >= here_old * cs + shift) || pos >= a->size * (uint64_t)nd;
	if (!shift && pos < bb) {
		if (kernel_ok) {
			snprintf(why, wl, "kernel would accept position %llu < B",
				 (unsigned long long)pos);
			return -1;
		}
		return 1; /* the backup is needed: --continue checks it */
	}
	if (!kernel_ok) {
		snprintf(why, wl, "raid5_run would refuse position %llu", (unsigned long long)pos);
		return -1;
	}
	/* old rows from L(pos) on, on the old members, as before the grow */
	uint64_t L = pos / (cs * (uint64_t)od);
	uint64_t doff = best.data_offset;
	for (int i = 0; i < sc->n_old && L < rows; i++) {
		uint64_t b0 = (doff + L * cs) * 512, b1 = (doff + rows * cs) * 512;
		if (fidx[i] < 0)
			continue;
		if (memcmp(state_buf[fidx[i]] + b0, R.init[fidx[i]] + b0, b1 - b0)) {
			snprintf(why, wl, "%s: old rows from %llu changed at dpos %llu", paths[i],
				 (unsigned long long)L, (unsigned long long)pos);
			return -1;
		}
	}
	/* new rows below pos: right data, right parity */
	uint64_t cb = cs * 512, ndoff = doff - shift;
	uint8_t *chunk[64], Pb[1 << 16], Qb[1 << 16];
	for (uint64_t s = 0; s < here_new; s++) {
		for (int i = 0; i < sc->n_new; i++)
			chunk[i] = fidx[i] < 0 ? NULL : state_buf[fidx[i]] + (ndoff + s * cs) * 512;
		int p = 0, q = -1;
		uint8_t want[1 << 16];
		for (int k = 0; k < nd; k++) {
			uint64_t c = s * (uint64_t)nd + (uint64_t)k;
			int d = fx_map(sc->level, sc->layout, sc->n_new, s, k, &p, &q);
			if (c < rows * (uint64_t)od)
				fx_chunk(a->seed, c, want, cb);
			else
				memset(want, 0, cb);
			if (chunk[d] && memcmp(want, chunk[d], cb)) {
				snprintf(why, wl, "new row %llu below dpos %llu has wrong data",
					 (unsigned long long)s, (unsigned long long)pos);
				return -1;
			}
		} /* parity: XOR check (P) is enough to catch a torn row here
		   * (degraded scenarios: fx_verify checks parity after continue) */
		if (sc->missing)
			continue;
		memset(Pb, 0, cb);
		for (int i = 0; i < sc->n_new; i++)
			if (i != q)
				for (uint64_t b = 0; b < cb; b += 8) {
					uint64_t x, y;
					memcpy(&x, Pb + b, 8);
					memcpy(&y, chunk[i] + b, 8);
					x ^= y;
					memcpy(Pb + b, &x, 8);
				}
		(void)Qb;
		for (uint64_t b = 0; b < cb; b++)
			if (Pb[b]) {
				snprintf(why, wl, "new row %llu below dpos: P inconsistent",
					 (unsigned long long)s);
				return -1;
			}
	}
	return 0;
}

static long long total_states;

/* Under ASan every state costs several times more; the release build
 * replays the full set, the sanitizer build a thinner one. */
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
	for (int i = 0; i < sc->n_new; i++) {
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
	for (int i = 0; i < sc->n_new; i++) {
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

	struct reshape_opts o = {.raid_disks = sc->n_new,
				 .force = !!sc->missing,
				 .backup_file = sc->backup_file ? bkp : NULL,
				 .max_step_rows = sc->step_rows,
				 .checkpoint_secs = 1e9};
	struct reshape *r;
	struct ok_err e;
	io_sys.pwrite = rec_pwrite;
	io_sys.fdatasync = rec_flush;
	io_sys.fsync = rec_flush;
	int rc = reshape_open(&r, (const char *const *)paths, sc->n_new, &o, &e);
	if (rc == 0)
		rc = reshape_run(r, &e);
	io_sys = io_sys_default;
	reshape_close(r);
	char msg[512];
	fx_ok(rc == 0, "%s: recorded grow %d -> %d (%zu events)%s%s", sc->name, sc->n_old,
	      sc->n_new, R.nev, rc ? ": " : "", rc ? e.msg : "");
	if (rc)
		return -1;
	fx_ok(fx_verify(&a, sc->n_new, paths, msg, sizeof msg) == 0, "%s: recorded grow verifies",
	      sc->name);

	/* pieces of every write */
	size_t *base = calloc(R.nev + 1, sizeof *base), npieces = 0;
	for (size_t i = 0; i < R.nev; i++) {
		base[i] = npieces;
		if (!R.ev[i].flush)
			npieces += (R.ev[i].len + 4095) / 4096;
	}
	uint8_t *durable = calloc(R.nev + 1, 1), *mask = calloc(npieces + 1, 1);
	long long states = 0, fails = 0, kernel_checked = 0, resumed = 0, untouched = 0;
	char first_fail[700] = "";
	for (size_t at = 0; at <= R.nev; at++) {
		if (at < R.nev && !R.ev[at].flush)
			continue;
		/* durable: a flush of the same file between the write and `at` */
		int flushed[MAXF] = {0};
		size_t pend_pieces = 0;
		for (size_t i = at; i-- > 0;) {
			if (R.ev[i].flush) {
				flushed[R.ev[i].file] = 1;
				continue;
			}
			durable[i] = at == R.nev || flushed[R.ev[i].file];
			if (!durable[i])
				pend_pieces += (R.ev[i].len + 4095) / 4096;
		}
		int variants;
		int exh_max = THIN_REPLAY ? 3 : sc->exhaustive_max;
		int exhaustive = pend_pieces <= (size_t)exh_max;
		variants =
		    exhaustive ? 1 << pend_pieces : 2 + (THIN_REPLAY ? 1 : sc->random_subsets);
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
					else
						keep = v == 0 ? 0 : v == 1 ? 1 : (int)(rnd() & 1);
					mask[base[i] + p] = (uint8_t)keep;
				}
			}
			materialize(at, durable, mask, base);
			states++;
			char why[600] = "";
			int kv = kernel_view(sc, &a, paths, why, sizeof why);
			if (kv == 0)
				kernel_checked++;
			int bad = kv < 0;
			if (!bad) {
				struct reshape_opts c = {.cont = 1,
							 .force = !!sc->missing,
							 .backup_file =
							     sc->backup_file ? bkp : NULL,
							 .max_step_rows = sc->step_rows + 1,
							 .checkpoint_secs = 1e9};
				io_sys.fdatasync = no_flush;
				io_sys.fsync = no_flush;
				rc =
				    reshape_open(&r, (const char *const *)paths, sc->n_new, &c, &e);
				if (rc == 0) {
					rc = reshape_run(r, &e);
					reshape_close(r);
					resumed++;
					io_sys = io_sys_default;
					if (rc ||
					    fx_verify(&a, sc->n_new, paths, msg, sizeof msg)) {
						bad = 1;
						snprintf(why, sizeof why,
							 "continue rc %d %.250s / %.250s", rc,
							 rc ? e.msg : "", rc ? "" : msg);
					}
				} else {
					reshape_close(r);
					io_sys = io_sys_default;
					/* no reshape recorded: the old array must be intact,
					 * or the grow is complete */
					char m2[512];
					if (strstr(e.msg, "no reshape in progress") &&
					    (fx_verify(&a, sc->n_old, paths, msg, sizeof msg) ==
						 0 ||
					     fx_verify(&a, sc->n_new, paths, m2, sizeof m2) == 0)) {
						untouched++;
					} else {
						bad = 1;
						snprintf(why, sizeof why,
							 "continue refused: %.250s (%.250s)", e.msg,
							 msg);
					}
				}
			}
			if (bad) {
				fails++;
				if (!first_fail[0])
					snprintf(first_fail, sizeof first_fail,
						 "event %zu/%zu v%d: %.500s", at, R.nev, v, why);
			}
		}
	}
	total_states += states;
	fx_ok(
	    fails == 0,
	    "%s: %lld crash states (%lld checked as the kernel would resume, %lld continued, %lld "
	    "before the reshape began or after it ended)%s%s",
	    sc->name, states, kernel_checked, resumed, untouched, fails ? ": first failure " : "",
	    first_fail);
	free(base);
	free(durable);
	free(mask);
	for (int i = 0; i < sc->n_new; i++)
		if (fidx[i] >= 0)
			unlink(paths[i]);
	unlink(bkp);
	return 0;
}

int main(void)
{
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
	static const struct scen sc[] = {
	    /* name         lvl lay min old new chunk bytes   doff bkf step rnd exh missing bitmap
	     */
	    {"new-offset", 6, 2, 2, 4, 5, 8, 384 << 10, 128, 0, 2, 4, 6, 0, 0},
	    {"backup-file", 6, 2, 2, 4, 5, 8, 384 << 10, 128, 1, 3, 4, 6, 0, 0},
	    {"backup-member", 6, 2, 2, 4, 6, 8, 384 << 10, 80, 0, 2, 4, 5, 0, 0},
	    {"v1.0-raid6-5to7", 6, 0, 0, 5, 7, 16, 512 << 10, 0, 0, 3, 3, 4, 0, 0},
	    {"raid5-3to4", 5, 2, 2, 3, 4, 8, 256 << 10, 128, 0, 2, 4, 6, 0, 0},
	    {"degraded-r6-4to5-slot1-file", 6, 2, 2, 4, 5, 8, 384 << 10, 128, 1, 3, 2, 4, 1u << 1,
	     0},
	    /* metadata 0.90 (issue 11): superblock at the end, data from 0, no
	     * data_offset to move: the backup in a file or on a new member */
	    {"v0.90-backup-file", 6, 2, 90, 4, 5, 8, 384 << 10, 0, 1, 3, 4, 6, 0, 0},
	    {"v0.90-backup-member-r6-4to6", 6, 1, 90, 4, 6, 8, 512 << 10, 0, 0, 2, 4, 5, 0, 0},
	    {"v0.90-raid5-3to4-member", 5, 0, 90, 3, 4, 8, 256 << 10, 0, 0, 2, 4, 6, 0, 0},
	    /* a "_6" layout (left-symmetric-6: Q on the last member) */
	    {"left-symmetric-6-file", 6, 18, 2, 4, 5, 8, 384 << 10, 128, 1, 3, 4, 6, 0, 0},
	    /* an internal bitmap: kept, its events never behind the superblocks' */
	    {"bitmap-v1.2-new-offset", 6, 2, 2, 4, 5, 8, 384 << 10, 128, 0, 2, 4, 6, 0, 1},
	    {"bitmap-v0.90-member", 6, 2, 90, 4, 5, 8, 384 << 10, 0, 0, 3, 4, 6, 0, 1},
	};
	for (size_t i = 0; i < sizeof sc / sizeof sc[0]; i++)
		run_scenario(&sc[i], d);
	printf("# %lld crash states replayed in all\n", total_states);
	rmdir(d);
	printf("1..%d\n", fx_tap_n);
	return 0;
}
