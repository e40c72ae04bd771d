/*
 * nbdkit_plugin.c: nbdkit-mdraid-plugin.so, an md RAID6/RAID5 array served
 * over NBD by nbdkit (the field's NBD server), on a machine without the md
 * driver or where the md driver must not touch the members.
 *
 *   nbdkit [-r] -U SOCKET nbdkit-mdraid-plugin.so member=PATH member=PATH ...
 *          [readonly=true] [force=true] [direct=false] [overlay=DIR]
 *
 * member=   one per member, in any order ("missing" for an absent one); the
 *           members are selected and checked exactly as `mdraid read/write`
 *           do (md_array_open: uuid, events, geometry, held/mounted members)
 * readonly= open the members read-only (also implied by nbdkit -r: the
 *           array is then opened without MD_OPEN_WRITE, so nothing on the
 *           members changes, not even the superblock's events)
 * force=    as `mdraid --force` (a dirty degraded array, stale members);
 *           with overlay= or readonly=true only in memory
 * direct=   false: buffered member I/O instead of O_DIRECT
 * sync_speed_min=, sync_speed_max=   KiB/s per member for the resync or
 *           repair pass (md's speed_limit_min/max, defaults 1000 and
 *           200000): above max the pass sleeps; above min it gives way to
 *           client I/O (a request in the last half second)
 * status=   a file the pass's progress is written to (replaced as a whole
 *           each time, one line of key=value: pass, state, done, total,
 *           checkpoint_sector, mismatch_cnt, speed_kib)
 * overlay=  a directory: the array is opened read-only (nothing on the
 *           members changes) and writes go to DIR/mdraid-overlay.cow
 *           (overlay.h: made on first use, reused while the members are
 *           unchanged; `mdraid overlay commit|discard` end it); a flush
 *           syncs the overlay file and its map
 *
 * Like a kernel array that is started and stopped: the first write marks the
 * array active (events + 1, the write-intent bitmap bits set before the data
 * they cover); the plugin's unload (nbdkit exiting normally) marks it clean.
 * A killed nbdkit leaves it as a crash leaves a kernel array: active, with
 * the bitmap naming the regions the kernel's md resyncs at its next assembly.
 * Writes go through a stripe cache (wcache.h): requests smaller than a
 * stripe are collected until their stripe is whole and then written once
 * (P/Q computed once, nothing read), as a disk's volatile write cache; the
 * export says it has one (can_flush). NBD flush and FUA: the held stripes
 * are written, every write in flight finished and every member fdatasync'ed
 * before the reply, so an acknowledged flush is on the members. FUA is
 * nbdkit's emulation (a flush after the write).
 *
 * Thread model: PARALLEL (nbdkit-plugin(3)), with a readers-writer lock of
 * our own over the array, the stripe cache and the overlay. Reads take it
 * shared and go through md_array_read_shared / md_wcache_read_shared, which
 * write nothing the array shares (each read its own buffers), so nbdcopy's
 * parallel requests reach the members together instead of one at a time.
 * Writes, flush, the resync pass's batches, overlay reads, and a read the
 * shared path hands back (-EAGAIN: a member read failed, to be rebuilt and
 * rewritten, or more lost than the level rebuilds) take it exclusively and
 * run as before: every write still goes through the stripe cache and
 * md_array_write (bitmap bits before the data, the array marked active), so
 * crash safety is what it was. A write's last window may still be writing
 * when it returns (rw.c); `in_flight` says so, and the first reader after it
 * waits for it under the exclusive lock (md_array_flush) before readers
 * share the array again. So a read sees every write acknowledged before it
 * began (a write excludes every read, not only those of its stripes: the
 * simple correct choice, nbdcopy's writes come one stripe at a time through
 * the cache anyway). Multi-conn (can_multi_conn): every connection reads
 * the one array and cache, and a flush on any connection writes the held
 * stripes and syncs every member before its reply, so its effect is seen
 * by all connections, as nbdkit-plugin(3) asks.
 *
 * No trim (mdraid_can_trim says why); write zeroes as written zeroes.
 *
 * Resync and repair (resync.h): an array the kernel would resync at start
 * (not stopped cleanly) or repair (--force left RAID6 one member short)
 * gets that pass from a thread of the plugin while it serves, one batch of
 * stripes at a time under the same lock as the requests, throttled as md
 * throttles it, checkpointed in resync_offset as md_do_sync checkpoints;
 * nbdkit's exit stops it and records where it got to (the kernel, or the
 * next nbdkit, goes on from there). Not with overlay= or readonly: the
 * members are not written then, and the pass is left for later (said).
 */
#define NBDKIT_API_VERSION 2
#include <nbdkit-plugin.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mdraid.h"
#include "overlay.h"
#include "resync.h"
#include "wcache.h"

#define THREAD_MODEL NBDKIT_THREAD_MODEL_PARALLEL

static struct {
	char *paths[MD_MAX_MEMBERS]; /* member= values, in the given order */
	int n;
	bool readonly; /* readonly=true, or every connection nbdkit -r */
	bool force;
	bool no_direct;
	bool open; /* arr holds an open array */
	struct md_array arr;
	char *overlay_dir; /* overlay=, NULL when none */
	bool ov_open;	   /* ov is open */
	struct md_overlay ov;
	bool wc_open; /* wc is set up (writable, no overlay) */
	struct md_wcache wc;
	/* the resync/repair pass */
	/* the array, the cache and the overlay: reads shared, the rest
	 * exclusive (set up in mdraid_load: writers preferred) */
	pthread_rwlock_t lock;
	bool in_flight; /* window writes may be in flight (under lock, written
			 * only exclusive) */
	int lost_rc;	/* such a write failed, seen by a reader: the next
			 * flush reports it (under lock, exclusive) */
	struct ok_err lost_e;
	pthread_t thread;	 /* runs pass_main */
	bool thread_on;		 /* thread was started */
	atomic_bool stop;	 /* cleanup asks the pass to stop */
	struct md_pass pass;	 /* what the pass is and where it got to */
	uint64_t speed_min_kib;	 /* sync_speed_min= (md: speed_limit_min) */
	uint64_t speed_max_kib;	 /* sync_speed_max= (md: speed_limit_max) */
	char *status_path;	 /* status=, NULL when none */
	atomic_llong last_io_ms; /* monotonic ms of the last client request */
} S = {.speed_min_kib = 1000, .speed_max_kib = 200000};

/*
 * Each nbdkit thread's aligned read buffer. nbdkit hands .pread a buffer of
 * its own, malloc'd (16-byte aligned), which O_DIRECT member reads cannot
 * take, so md_array_read_shared would bounce each request through a fresh
 * buffer of its own: for nbdcopy's 256 KiB requests an mmap whose pages are
 * zero-filled and unmapped every time (perf: clear_page, page faults,
 * mmap_lock contention with the O_DIRECT reads' page pinning). Kept per
 * thread instead (nbdkit's threads live as long as their connection), grown
 * to the largest request up to BOUNCE_KEEP; a larger one gets a buffer for
 * the call. The member reads then go straight into it, one copy out.
 */
#define BOUNCE_ALIGN 4096	/* lib/io.h's IO_ALIGN: what O_DIRECT takes */
#define BOUNCE_KEEP  (4u << 20) /* bytes kept per thread, at most */
struct bounce {
	size_t size;
	void *p;
};
static pthread_key_t bounce_key;
static bool bounce_key_ok;

static void bounce_free(void *arg)
{
	struct bounce *b = arg;
	free(b->p);
	free(b);
}

/* An aligned buffer of n bytes: the thread's own (*own false) or one for
 * this call (*own true: the caller frees it). NULL when out of memory. */
static void *bounce_get(size_t n, bool *own)
{
	void *p = NULL;
	*own = true;
	if (n > BOUNCE_KEEP || !bounce_key_ok)
		return posix_memalign(&p, BOUNCE_ALIGN, n ? n : 1) ? NULL : p;
	struct bounce *b = pthread_getspecific(bounce_key);
	if (!b) {
		if (!(b = calloc(1, sizeof(*b))))
			return NULL;
		if (pthread_setspecific(bounce_key, b) != 0) {
			free(b);
			return NULL;
		}
	}
	if (b->size < n) {
		if (posix_memalign(&p, BOUNCE_ALIGN, n))
			return NULL;
		free(b->p);
		b->p = p;
		b->size = n;
	}
	*own = false;
	return b->p;
}

/*
 * At load: the per-thread read buffers' key, and the lock, which prefers
 * writers: glibc's default rwlock lets a steady stream of readers (nbdcopy
 * keeps dozens of reads in flight) starve a writer forever
 * (pthread_rwlockattr_setkind_np(3)); a flush must get through.
 */
static void mdraid_load(void)
{
	bounce_key_ok = pthread_key_create(&bounce_key, bounce_free) == 0;
	pthread_rwlockattr_t at;
	pthread_rwlockattr_init(&at);
	pthread_rwlockattr_setkind_np(&at, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&S.lock, &at);
	pthread_rwlockattr_destroy(&at);
}

/* nbdkit_error with the library's formatted ok_err; errno for the client. */
static int fail(const struct ok_err *e, int rc, const char *what)
{
	char msg[512];
	ok_err_format(e, msg, sizeof(msg));
	nbdkit_error("mdraid: %s: %s", what, msg[0] ? msg : strerror(-rc));
	nbdkit_set_error(rc < 0 ? -rc : EIO);
	return -1;
}

/* key=value from the command line; member= may repeat (order kept). */
static int mdraid_config(const char *key, const char *value)
{
	if (strcmp(key, "member") == 0) {
		if (S.n >= MD_MAX_MEMBERS) {
			nbdkit_error("mdraid: more than %d member= parameters", MD_MAX_MEMBERS);
			return -1;
		}
		if (strcmp(value, "missing") == 0)
			S.paths[S.n] = strdup(value);
		else
			S.paths[S.n] = nbdkit_absolute_path(value);
		if (!S.paths[S.n])
			return -1;
		S.n++;
		return 0;
	}
	if (strcmp(key, "sync_speed_min") == 0 || strcmp(key, "sync_speed_max") == 0) {
		uint64_t v;
		if (nbdkit_parse_uint64_t(key, value, &v) < 0)
			return -1;
		if (v == 0) {
			nbdkit_error("mdraid: %s=%s: expected KiB/s above 0", key, value);
			return -1;
		}
		*(strcmp(key, "sync_speed_min") == 0 ? &S.speed_min_kib : &S.speed_max_kib) = v;
		return 0;
	}
	if (strcmp(key, "status") == 0) {
		free(S.status_path);
		S.status_path = nbdkit_absolute_path(value);
		return S.status_path ? 0 : -1;
	}
	if (strcmp(key, "overlay") == 0) {
		free(S.overlay_dir);
		S.overlay_dir = nbdkit_realpath(value);
		return S.overlay_dir ? 0 : -1;
	}
	bool *flag = strcmp(key, "readonly") == 0 ? &S.readonly
		     : strcmp(key, "force") == 0  ? &S.force
		     : strcmp(key, "direct") == 0 ? &S.no_direct
						  : NULL;
	if (!flag) {
		nbdkit_error("mdraid: unknown parameter '%s' (member=, readonly=, force=, direct=, "
			     "overlay=, sync_speed_min=, sync_speed_max=, status=)",
			     key);
		return -1;
	}
	int v = nbdkit_parse_bool(value);
	if (v < 0)
		return -1;
	*flag = strcmp(key, "direct") == 0 ? !v : v;
	return 0;
}

static int mdraid_config_complete(void)
{
	if (S.n < 2) {
		nbdkit_error("mdraid: give every member with member=PATH (at least two)");
		return -1;
	}
	if (S.overlay_dir && S.readonly) {
		nbdkit_error("mdraid: overlay= takes the writes: it cannot go with readonly=true");
		return -1;
	}
	return 0;
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The status file, replaced whole (written beside it, then renamed), so a
 * reader never sees half a line. Best effort: the pass goes on without. */
static void status_write(const char *state, uint64_t speed_kib)
{
	if (!S.status_path)
		return;
	char tmp[4200];
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", S.status_path) >= (int)sizeof(tmp))
		return;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return;
	uint64_t done, total;
	md_pass_progress(&S.pass, &done, &total);
	uint64_t cs = S.arr.geom.chunk_sectors;
	fprintf(f,
		"pass=%s state=%s done=%llu total=%llu checkpoint_sector=%llu mismatch_cnt=%llu "
		"speed_kib=%llu why=\"%s\"\n",
		md_pass_name(&S.pass), state, (unsigned long long)done, (unsigned long long)total,
		(unsigned long long)(S.pass.ckpt * cs), (unsigned long long)S.pass.mismatches,
		(unsigned long long)speed_kib, S.pass.why);
	if (fclose(f) == 0)
		rename(tmp, S.status_path);
	else
		unlink(tmp);
}

/* Sleep up to ms, less when cleanup asks the pass to stop. */
static void pass_nap(long ms)
{
	for (; ms > 0 && !atomic_load(&S.stop); ms -= 50)
		usleep((useconds_t)(ms < 50 ? ms : 50) * 1000);
}

/*
 * The pass's thread: md_do_sync's loop. Batches of about 1 MiB of each
 * member, each under the request lock. Speed (KiB/s of each member, as md
 * counts it) is measured over windows of 3 s (md's SYNC_MARK_STEP); above
 * sync_speed_max it sleeps until back at it; above sync_speed_min it waits
 * while clients are busy (a request in the last 500 ms: md's
 * is_mddev_idle), so the pass takes what the clients leave.
 */
static void *pass_main(void *arg)
{
	(void)arg;
	uint64_t cs = S.arr.geom.chunk_sectors;
	uint64_t batch = cs >= 2048 ? 1 : 2048 / cs;
	size_t budget = (size_t)batch * cs * 512 * (size_t)(S.arr.geom.raid_disks + 1);
	long long mark_ms = now_ms();
	uint64_t mark_done = 0, speed = 0;
	const char *state = "running";
	status_write(state, 0);
	for (;;) {
		if (atomic_load(&S.stop)) {
			state = "stopped";
			break;
		}
		long long t = now_ms(), el = t - mark_ms;
		uint64_t sofar = S.pass.synced * cs / 2; /* KiB of each member */
		speed = el > 0 ? (sofar - mark_done) * 1000 / (uint64_t)el : 0;
		if (el >= 3000) {
			mark_ms = t;
			mark_done = sofar;
		}
		if (speed > S.speed_min_kib) {
			if (speed > S.speed_max_kib) {
				/* until the window's average is back at max */
				long long need =
				    (long long)((sofar - mark_done) * 1000 / S.speed_max_kib);
				pass_nap(need - el > 500 ? 500 : need - el > 10 ? need - el : 10);
				continue;
			}
			if (t - atomic_load(&S.last_io_ms) < 500) {
				pass_nap(100);
				continue;
			}
		}
		struct ok_err e;
		ok_err_clear(&e);
		pthread_rwlock_wrlock(&S.lock);
		int rc = md_pass_step(&S.pass, &S.arr, batch, budget, &e);
		S.in_flight = true;
		pthread_rwlock_unlock(&S.lock);
		if (rc < 0) {
			char msg[512];
			ok_err_format(&e, msg, sizeof(msg));
			nbdkit_error(
			    "mdraid: the %s pass failed and stops (the array stays dirty): %s",
			    md_pass_name(&S.pass), msg[0] ? msg : strerror(-rc));
			state = "failed";
			break;
		}
		if (rc == 0) {
			state = "done";
			nbdkit_debug("mdraid: %s done: %llu stripes, mismatch_cnt %llu",
				     md_pass_name(&S.pass), (unsigned long long)S.pass.synced,
				     (unsigned long long)S.pass.mismatches);
			break;
		}
		status_write(state, speed);
	}
	status_write(state, speed);
	return NULL;
}

/* Plan the pass md would run on this array and start its thread. */
static int pass_start(void)
{
	struct ok_err e;
	ok_err_clear(&e);
	bool writes = !S.readonly && !S.overlay_dir;
	if (!writes) {
		/* nothing may be written: say what md would have done */
		if (S.arr.dirty || S.arr.want_repair)
			fprintf(stderr,
				"mdraid: a %s is due; not run (%s: the members are not written)\n",
				S.arr.want_repair ? "repair" : "resync",
				S.overlay_dir ? "overlay" : "read-only");
		return 0;
	}
	int rc = md_pass_plan(&S.pass, &S.arr, &e);
	if (rc < 0)
		return fail(&e, rc, "cannot plan the resync");
	if (S.pass.kind == MD_PASS_NONE) {
		nbdkit_debug("mdraid: no pass: %s", S.pass.why);
		status_write("idle", 0);
		return 0;
	}
	fprintf(stderr, "mdraid: %s started in the background: %s\n", md_pass_name(&S.pass),
		S.pass.why);
	if ((rc = pthread_create(&S.thread, NULL, pass_main, NULL)) != 0) {
		nbdkit_error("mdraid: cannot start the %s thread: %s", md_pass_name(&S.pass),
			     strerror(rc));
		return -1;
	}
	S.thread_on = true;
	return 0;
}

/* Stop the pass (nbdkit is exiting): its thread joined, where it got to
 * recorded. */
static void pass_stop(void)
{
	if (!S.thread_on)
		return;
	atomic_store(&S.stop, true);
	pthread_join(S.thread, NULL);
	S.thread_on = false;
	struct ok_err e;
	ok_err_clear(&e);
	int rc = md_pass_stop(&S.pass, &S.arr, &e);
	if (rc < 0)
		fail(&e, rc, "recording where the resync got to");
	if (!S.pass.done)
		fprintf(stderr, "mdraid: %s stopped at sector %llu of %llu\n",
			md_pass_name(&S.pass),
			(unsigned long long)(S.pass.pos * S.arr.geom.chunk_sectors),
			(unsigned long long)S.arr.geom.dev_sectors);
}

/* The array is opened after nbdkit has forked into the background (the
 * engine's threads would not survive the fork) and before the first
 * connection; a refusal (wrong members, held by the kernel) stops nbdkit with
 * the library's message. */
static int mdraid_after_fork(void)
{
	struct ok_err e;
	ok_err_clear(&e);
	/* force: stale members (and a dirty degraded array's clean mark) as
	 * mdadm --assemble --force; with an overlay or readonly=true only in
	 * memory (the members are never written) */
	unsigned flags = (S.readonly || S.overlay_dir ? 0 : MD_OPEN_WRITE) |
			 (S.force ? MD_OPEN_FORCE | MD_OPEN_ASSEMBLE_FORCE : 0) |
			 (S.force && (S.overlay_dir || S.readonly) ? MD_OPEN_DRY_RUN : 0) |
			 (S.no_direct ? MD_OPEN_NO_DIRECT : 0);
	int rc = md_array_open(&S.arr, S.n, S.paths, flags, &e);
	if (rc < 0)
		return fail(&e, rc, "cannot open the array");
	S.open = true;
	/*
	 * I/O windows of one chunk row (1 MiB at most) of each member, two in
	 * flight: requests are small (nbdcopy 256 KiB, the kernel's nbd 128
	 * KiB) and the stripe cache hands over a stripe at a time, so the
	 * engine's default 64 MiB only cost memory: its per-member buffers are
	 * big enough for huge pages, and the first random writes made 8 of
	 * them (16 MiB) resident. These stay under 2 MiB each (no huge pages),
	 * touched only as far as requests reach.
	 */
	uint64_t row = (uint64_t)S.arr.geom.chunk_sectors * 512;
	if (row > (1u << 20))
		row = 1u << 20;
	S.arr.budget_bytes = (size_t)(2 * (uint64_t)(S.arr.geom.raid_disks + 1) * row);
	if (!S.readonly && !S.overlay_dir) {
		if (md_wcache_init(&S.wc, &S.arr, MD_WCACHE_BUDGET) < 0) {
			nbdkit_error("mdraid: out of memory for the stripe cache");
			return -1;
		}
		S.wc_open = true;
		nbdkit_debug("mdraid: stripe cache of %d stripes of %llu bytes", S.wc.nslots,
			     (unsigned long long)S.wc.stripe_bytes);
	}
	if (S.overlay_dir) {
		rc = md_overlay_open(&S.ov, S.overlay_dir, &S.arr, true, &e);
		if (rc < 0)
			return fail(&e, rc, "cannot use the overlay");
		S.ov_open = true;
		nbdkit_debug("mdraid: overlay %s holds %llu blocks", S.ov.path,
			     (unsigned long long)S.ov.mapped);
	}
	for (int i = 0; i < S.arr.nmembers; i++)
		if (S.arr.m[i].why[0])
			nbdkit_debug("mdraid: %s left out: %s", S.arr.m[i].path, S.arr.m[i].why);
	if (S.arr.warn[0])
		nbdkit_debug("mdraid: %s", S.arr.warn);
	/* what force chose, one line per member as mdadm prints it */
	for (const char *l = S.arr.forced; *l;) {
		int len = (int)strcspn(l, "\n");
		fprintf(stderr, "mdraid: %.*s%s\n", len, l,
			S.overlay_dir ? " (in memory: overlay)" : "");
		l += len + (l[len] == '\n');
	}
	return pass_start();
}

/* nbdkit exits normally: finish the writes, mark the array clean. */
static void mdraid_cleanup(void)
{
	pass_stop();
	if (S.ov_open) {
		struct ok_err e;
		ok_err_clear(&e);
		int rc = md_overlay_close(&S.ov, &e);
		if (rc < 0)
			fail(&e, rc, "closing the overlay");
		S.ov_open = false;
	}
	if (S.wc_open) {
		struct ok_err e;
		ok_err_clear(&e);
		int rc = md_wcache_flush(&S.wc, &e);
		if (rc < 0) {
			/* writes were lost: leave the array active (dirty) */
			fail(&e, rc, "writing the stripe cache back");
			md_array_abandon(&S.arr);
			S.open = false;
		}
		md_wcache_free(&S.wc);
		S.wc_open = false;
	}
	if (S.open) {
		struct ok_err e;
		ok_err_clear(&e);
		int rc = md_array_close(&S.arr, &e);
		if (rc < 0)
			fail(&e, rc, "closing the array");
		S.open = false;
	}
}

static void mdraid_unload(void)
{
	for (int i = 0; i < S.n; i++)
		free(S.paths[i]);
	free(S.overlay_dir);
	free(S.status_path);
	md_pass_free(&S.pass);
	pthread_rwlock_destroy(&S.lock);
	if (bounce_key_ok)
		pthread_key_delete(bounce_key);
}

static void *mdraid_open(int readonly)
{
	(void)readonly; /* can_write says what this export allows */
	return NBDKIT_HANDLE_NOT_NEEDED;
}

static int64_t mdraid_get_size(void *h)
{
	(void)h;
	return (int64_t)md_array_bytes(&S.arr);
}

static int mdraid_can_write(void *h)
{
	(void)h;
	return !S.readonly;
}

static int mdraid_can_flush(void *h)
{
	(void)h;
	return 1;
}

/* FUA as a flush after the write: the engine has no per-request FUA. */
static int mdraid_can_fua(void *h)
{
	(void)h;
	return NBDKIT_FUA_EMULATE;
}

/*
 * No trim. md's raid456 passes discards down only with the module
 * parameter devices_handle_discard_safely=Y (default N: raid5.c clears
 * QUEUE_FLAG_DISCARD otherwise), and then only for whole stripes, because
 * parity stays right across a discard only when every member returns zeros
 * for discarded blocks, which no member here promises (an image file on a
 * file system, a disk whose discard zeroes nothing). So the export does not
 * advertise it, as a kernel array by default does not.
 */
static int mdraid_can_trim(void *h)
{
	(void)h;
	return 0;
}

/* Write zeroes: false means no .zero callback to call, and nbdkit still
 * advertises write zeroes, writing a zero buffer through pwrite, which the
 * stripe cache turns into whole-stripe writes; nothing faster is possible
 * (the zeroes must be on the members, P and Q with them), so no fast zero
 * either. */
static int mdraid_can_zero(void *h)
{
	(void)h;
	return 0;
}

static int mdraid_can_fast_zero(void *h)
{
	(void)h;
	return 0;
}

static int mdraid_can_multi_conn(void *h)
{
	(void)h;
	return 1; /* one shared array and cache; a flush writes and syncs all */
}

/*
 * Wait for window writes still in flight (lock held exclusive). A failed
 * one is kept for the next flush: a reader cannot tell which write it was,
 * and the flush is what promises durability.
 */
static void settle(void)
{
	if (!S.in_flight)
		return;
	struct ok_err e;
	ok_err_clear(&e);
	int rc = md_array_flush(&S.arr, &e);
	if (rc < 0 && S.lost_rc == 0) {
		S.lost_rc = rc;
		S.lost_e = e;
	}
	S.in_flight = false;
}

/* Take the lock shared with no window write in flight: the first reader
 * after a write settles it alone, so readers never meet a member still
 * being written. */
static void read_lock(void)
{
	pthread_rwlock_rdlock(&S.lock);
	while (S.in_flight) {
		pthread_rwlock_unlock(&S.lock);
		pthread_rwlock_wrlock(&S.lock);
		settle();
		pthread_rwlock_unlock(&S.lock);
		pthread_rwlock_rdlock(&S.lock);
	}
}

static int mdraid_pread(void *h, void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)h;
	(void)flags;
	struct ok_err e;
	ok_err_clear(&e);
	atomic_store(&S.last_io_ms, now_ms());
	int rc = -EAGAIN;
	if (!S.ov_open) {
		bool own = false;
		void *dst = (uintptr_t)buf % BOUNCE_ALIGN ? bounce_get(count, &own) : buf;
		if (!dst)
			dst = buf; /* the library bounces it piece by piece */
		read_lock();
		rc = S.wc_open ? md_wcache_read_shared(&S.wc, offset, dst, count, &e)
			       : md_array_read_shared(&S.arr, offset, dst, count, &e);
		pthread_rwlock_unlock(&S.lock);
		if (rc == 0 && dst != buf)
			memcpy(buf, dst, count);
		if (own)
			free(dst);
	}
	if (rc == -EAGAIN) {
		/* alone: the engine's windows rebuild and rewrite what did
		 * not read, as md does */
		ok_err_clear(&e);
		pthread_rwlock_wrlock(&S.lock);
		settle();
		rc = S.ov_open	 ? md_overlay_read(&S.ov, &S.arr, offset, buf, count, &e)
		     : S.wc_open ? md_wcache_read(&S.wc, offset, buf, count, &e)
				 : md_array_read(&S.arr, offset, buf, count, &e);
		pthread_rwlock_unlock(&S.lock);
	}
	return rc < 0 ? fail(&e, rc, "read") : 0;
}

static int mdraid_pwrite(void *h, const void *buf, uint32_t count, uint64_t offset, uint32_t flags)
{
	(void)h;
	(void)flags; /* FUA is emulated by nbdkit as a flush */
	struct ok_err e;
	ok_err_clear(&e);
	atomic_store(&S.last_io_ms, now_ms());
	pthread_rwlock_wrlock(&S.lock);
	int rc = S.ov_open ? md_overlay_write(&S.ov, &S.arr, offset, buf, count, &e)
			   : md_wcache_write(&S.wc, offset, buf, count, &e);
	S.in_flight = true;
	pthread_rwlock_unlock(&S.lock);
	return rc < 0 ? fail(&e, rc, "write") : 0;
}

/* Writes still in flight finished, then every member in use synced. */
static int mdraid_flush(void *h, uint32_t flags)
{
	(void)h;
	(void)flags;
	struct ok_err e;
	ok_err_clear(&e);
	atomic_store(&S.last_io_ms, now_ms());
	pthread_rwlock_wrlock(&S.lock);
	int rc = S.ov_open ? md_overlay_sync(&S.ov, &e) : md_wcache_flush(&S.wc, &e);
	if (rc == 0 && !S.ov_open)
		rc = md_array_sync(&S.arr, &e);
	if (rc == 0 && S.lost_rc < 0) {
		rc = S.lost_rc;
		e = S.lost_e;
	}
	S.lost_rc = 0;
	S.in_flight = false;
	pthread_rwlock_unlock(&S.lock);
	return rc < 0 ? fail(&e, rc, "flush") : 0;
}

static struct nbdkit_plugin plugin = {
    .name = "mdraid",
    .longname = "opskit mdraid: Linux md RAID6/RAID5 members served as the array",
    .version = OPSKIT_VERSION,
    .description = "Serves the array made by Linux md RAID6/RAID5 members (v1.x, 0.90).",
    .config = mdraid_config,
    .config_complete = mdraid_config_complete,
    .config_help = "member=PATH      (repeat) an array member, or 'missing'\n"
		   "readonly=true    never write the members\n"
		   "force=true       as mdraid --force (dirty degraded, stale members)\n"
		   "direct=false     buffered member I/O instead of O_DIRECT\n"
		   "overlay=DIR      writes to DIR/mdraid-overlay.cow, members untouched\n"
		   "sync_speed_min=KIB  resync/repair pass: KiB/s it keeps under load (1000)\n"
		   "sync_speed_max=KIB  resync/repair pass: KiB/s at most (200000)\n"
		   "status=FILE      the pass's progress, one line of key=value",
    .magic_config_key = "member",
    .load = mdraid_load,
    .after_fork = mdraid_after_fork,
    .cleanup = mdraid_cleanup,
    .unload = mdraid_unload,
    .open = mdraid_open,
    .get_size = mdraid_get_size,
    .can_write = mdraid_can_write,
    .can_flush = mdraid_can_flush,
    .can_fua = mdraid_can_fua,
    .can_trim = mdraid_can_trim,
    .can_zero = mdraid_can_zero,
    .can_fast_zero = mdraid_can_fast_zero,
    .can_multi_conn = mdraid_can_multi_conn,
    .pread = mdraid_pread,
    .pwrite = mdraid_pwrite,
    .flush = mdraid_flush,
    .errno_is_preserved = 0,
};

NBDKIT_REGISTER_PLUGIN(plugin)
