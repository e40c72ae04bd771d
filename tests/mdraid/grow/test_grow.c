/*
 * test_grow.c: grows through the library (reshape.h) on image files, checked
 * with the independent fixture (fixture.h): content unchanged, P/Q right,
 * superblocks as the kernel leaves them after a reshape; the placement and
 * mdadm's figures; stop at a checkpoint and continue; every precondition
 * refused with nothing written.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "reshape.h"

static char dir[512];
static char pbuf[64][600];
static char *paths[64];
static char bkp[600];

static void setup_paths(const char *tag, int n)
{
	for (int i = 0; i < n; i++) {
		snprintf(pbuf[i], sizeof pbuf[i], "%s/%s-%d", dir, tag, i);
		paths[i] = pbuf[i];
	}
	snprintf(bkp, sizeof bkp, "%s/%s-backup", dir, tag);
	unlink(bkp);
}

static void cleanup(int n)
{
	for (int i = 0; i < n; i++)
		unlink(paths[i]);
	unlink(bkp);
}

/* A simple digest of all files, to show a refusal wrote nothing. */
static uint64_t digest(int n)
{
	uint64_t h = 1469598103934665603ull;
	static uint8_t buf[1 << 16];
	for (int i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDONLY);
		ssize_t got;
		if (fd < 0)
			continue;
		while ((got = read(fd, buf, sizeof buf)) > 0)
			for (ssize_t j = 0; j < got; j++)
				h = (h ^ buf[j]) * 1099511628211ull;
		close(fd);
	}
	return h;
}

static struct fx_array make(const char *tag, int level, int layout, int minor, int n_old, int n_new,
			    uint32_t chunk, uint64_t bytes, uint64_t doff)
{
	struct fx_array a = {.n = n_old,
			     .level = level,
			     .layout = layout,
			     .minor = minor,
			     .chunk = chunk,
			     .dev_bytes = bytes,
			     .data_offset = doff,
			     .seed = (uint32_t)(fx_tap_n * 7 + 3)};
	setup_paths(tag, n_new);
	if (fx_create(&a, paths) < 0)
		abort();
	for (int i = n_old; i < n_new; i++)
		fx_blank(paths[i], bytes, (uint32_t)i);
	return a;
}

struct grow_case {
	const char *name;
	int level, layout, minor, n_old, n_new;
	uint32_t chunk;
	uint64_t bytes, doff;
	int backup_file;
	enum reshape_method want;
	uint64_t want_bb; /* sectors, 0 = do not check */
};

static void grow_one(const struct grow_case *c)
{
	struct fx_array a = make(c->name, c->level, c->layout, c->minor, c->n_old, c->n_new,
				 c->chunk, c->bytes, c->doff);
	struct reshape_opts o = {.raid_disks = c->n_new,
				 .backup_file = c->backup_file ? bkp : NULL,
				 .mem_bytes = 4 << 20};
	struct reshape *r;
	struct ok_err e;
	char msg[512];
	int rc = reshape_open(&r, (const char *const *)paths, c->n_new, &o, &e);
	const struct reshape_plan *pl = rc == 0 ? reshape_plan(r) : NULL;
	fx_ok(rc == 0 && pl->method == c->want && (!c->want_bb || pl->backup_blocks == c->want_bb),
	      "%s: plan (method %d, backup %lluK)%s%s", c->name, pl ? (int)pl->method : -1,
	      pl ? (unsigned long long)pl->backup_blocks / 2 : 0, rc ? ": " : "", rc ? e.msg : "");
	if (rc == 0)
		rc = reshape_run(r, &e);
	reshape_close(r);
	fx_ok(rc == 0, "%s: grow %d -> %d%s%s", c->name, c->n_old, c->n_new, rc ? ": " : "",
	      rc ? e.msg : "");
	int v = fx_verify(&a, c->n_new, paths, msg, sizeof msg);
	fx_ok(v == 0, "%s: content unchanged, P/Q consistent, superblocks final%s%s", c->name,
	      v ? ": " : "", v ? msg : "");
	struct fx_sb sb;
	fx_read_sb(paths[c->n_new - 1], c->minor, &sb);
	uint64_t moved = c->want == RESHAPE_NEW_OFFSET
			     ? c->want_bb / (uint64_t)(c->n_old - (c->level == 6 ? 2 : 1))
			     : 0;
	uint64_t doff = c->minor == 0 ? 0 : c->doff;
	fx_ok(sb.data_offset == doff - moved && (!c->backup_file || access(bkp, F_OK) != 0),
	      "%s: data_offset %llu (expected %llu)%s", c->name, (unsigned long long)sb.data_offset,
	      (unsigned long long)(doff - moved), c->backup_file ? ", backup file removed" : "");
	cleanup(c->n_new);
}

static int stop_after;
static volatile sig_atomic_t stop_flag;
static void count_progress(void *ctx, uint64_t done, uint64_t total)
{
	(void)ctx;
	(void)done;
	(void)total;
	if (--stop_after <= 0)
		stop_flag = 1;
}

/* Stop at a checkpoint, look at the on-disk state, continue. */
static void stop_and_continue(const char *tag, int backup_file, int minor, uint64_t doff)
{
	struct fx_array a = make(tag, 6, 2, minor, 4, 5, 8, 2 << 20, doff);
	struct reshape_opts o = {.raid_disks = 5,
				 .backup_file = backup_file ? bkp : NULL,
				 .max_step_rows = 2,
				 .stop = &stop_flag,
				 .progress = count_progress};
	struct reshape *r;
	struct ok_err e;
	char msg[512];
	stop_flag = 0;
	stop_after = 4;
	int rc = reshape_open(&r, (const char *const *)paths, 5, &o, &e);
	uint64_t end = rc == 0 ? reshape_plan(r)->new_array : 0;
	uint64_t bb = rc == 0 ? reshape_plan(r)->backup_blocks : 0;
	if (rc == 0)
		rc = reshape_run(r, &e);
	reshape_close(r);
	fx_ok(rc == -EINTR, "%s: stopped by the flag (rc %d %s)", tag, rc,
	      rc == -EINTR ? "" : e.msg);
	struct fx_sb sb;
	int consistent = 1;
	for (int i = 0; i < 5; i++) {
		fx_read_sb(paths[i], minor, &sb);
		consistent &= sb.csum_ok && (sb.feature & 4) && sb.reshape_pos > 0 &&
			      sb.reshape_pos < end && sb.raid_disks == 5 && sb.delta == 1 &&
			      (!backup_file || sb.reshape_pos >= bb);
	}
	fx_ok(consistent, "%s: on disk RESHAPE_ACTIVE, 0 < reshape_position %llu < %llu%s", tag,
	      (unsigned long long)sb.reshape_pos, (unsigned long long)end,
	      backup_file ? ", past the critical section" : "");
	struct reshape_opts c = {.cont = 1, .backup_file = backup_file ? bkp : NULL};
	rc = reshape_open(&r, (const char *const *)paths, 5, &c, &e);
	int resuming =
	    rc == 0 && reshape_plan(r)->resuming && reshape_plan(r)->position == sb.reshape_pos;
	if (rc == 0)
		rc = reshape_run(r, &e);
	reshape_close(r);
	fx_ok(rc == 0 && resuming, "%s: --continue resumes at the checkpoint%s%s", tag,
	      rc ? ": " : "", rc ? e.msg : "");
	int v = fx_verify(&a, 5, paths, msg, sizeof msg);
	fx_ok(v == 0, "%s: content after continue%s%s", tag, v ? ": " : "", v ? msg : "");
	cleanup(5);
}

/* Copy len bytes at off from file src to file dst (whole files: len 0). */
static void copy_bytes(const char *src, const char *dst, uint64_t off, uint64_t len)
{
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT, 0600);
	static uint8_t buf[1 << 16];
	struct stat st;
	if (in < 0 || out < 0 || fstat(in, &st) < 0)
		abort();
	if (!len)
		len = (uint64_t)st.st_size;
	for (uint64_t at = off; at < off + len;) {
		size_t n = off + len - at < sizeof buf ? (size_t)(off + len - at) : sizeof buf;
		if (pread(in, buf, n, (off_t)at) != (ssize_t)n ||
		    pwrite(out, buf, n, (off_t)at) != (ssize_t)n)
			abort();
		at += n;
	}
	close(in);
	close(out);
}

/* Run a chunk or layout change (NEW_OFFSET, either way) on paths[0..n-1]
 * with the stop flag raised after steps steps (1 new row each): -EINTR
 * and the durable position in *pos, or the error. */
static int run_stopped(int n, const struct reshape_opts *base, int steps, uint64_t *pos,
		       struct ok_err *e)
{
	struct reshape_opts o = *base;
	o.max_step_rows = 1;
	o.checkpoint_secs = 1e9;
	o.stop = &stop_flag;
	o.progress = count_progress;
	stop_flag = 0;
	stop_after = steps + 1; /* the first progress call comes before any step */
	struct reshape *r;
	int rc = reshape_open(&r, (const char *const *)paths, n, &o, e);
	if (rc == 0)
		rc = reshape_run(r, e);
	if (pos)
		*pos = r ? reshape_position(r) : 0;
	reshape_close(r);
	return rc;
}

/* Continue the reshape on paths[0..n-1] to the end (reshape_open, its plan
 * copied into *pl, zeroed when it does not open; reshape_run), then the
 * content against *after on nn members: NULL, or why not (e's or msg's
 * text). */
static const char *continue_verify(int n, int nn, const struct reshape_opts *c,
				   const struct fx_array *after, struct reshape_plan *pl, char *msg,
				   unsigned msglen, struct ok_err *e)
{
	struct reshape *r;
	int rc = reshape_open(&r, (const char *const *)paths, n, c, e);
	memset(pl, 0, sizeof *pl);
	if (rc == 0)
		*pl = *reshape_plan(r);
	if (rc == 0)
		rc = reshape_run(r, e);
	reshape_close(r);
	if (rc < 0)
		return e->msg;
	return fx_verify(after, nn, paths, msg, msglen) == 0 ? NULL : msg;
}

/*
 * Issue 24: a change the kernel was stopped in while running, its
 * reshape_position behind rows it had written over old data: forwards
 * (tail 0: the room before the data, data_offset down) or backwards (tail
 * sectors left after the data, more than before it: mdadm 4.2 moves
 * data_offset up and the reshape runs from the end down; drop > 0: a
 * shrink by that many members, also from the end down). Built with
 * mdraid's own engine: stop at a checkpoint (state A), keep A's
 * superblocks, go on `more` rows and stop again (B), then write A's
 * superblocks back over B's. --continue must find the real frontier
 * (every row from A's position to it in the new geometry, old data after
 * it) and finish byte for byte, or refuse; never shift. hole: one row
 * inside the run is zeroed on every member (both parities hold there: no
 * proof), so the frontier is ambiguous and --continue must refuse with
 * nothing written. A itself (a fixed point) continues from its position.
 */
static void torn_state(const char *tag, int level, int layout, uint32_t new_chunk,
		       const char *new_layout, int new_layout_num, int hole, int want_frontier,
		       uint64_t tail, int drop)
{
	/* drop members: a shrink to nn (a RAID5 keeps at least 4 here) */
	int par = level == 6 ? 2 : 1, nn = par + 2 + (drop && level == 5), n = nn + drop;
	struct fx_array a = {.n = n,
			     .level = level,
			     .layout = layout,
			     .minor = 2,
			     .chunk = 16,
			     .dev_bytes = 4 << 20,
			     .data_offset = 256,
			     .seed = (uint32_t)(fx_tap_n * 7 + 3),
			     .tail = tail};
	setup_paths(tag, n);
	if (fx_create(&a, paths) < 0)
		abort();
	struct fx_array after = a;
	after.n = nn; /* a shrink: what the smaller array holds */
	if (new_layout)
		after.layout = new_layout_num;
	struct reshape_opts o = {.chunk = new_chunk, .layout = new_layout};
	if (drop) { /* a shrink, after --array-size (mdadm's order) */
		o.raid_disks = nn;
		o.array_size = a.size * (uint64_t)(nn - par);
	}
	struct ok_err e;
	char msg[512], sbk[64][640];
	uint64_t pa = 0, pb = 0;
	int rc = run_stopped(n, &o, 6, &pa, &e);
	fx_ok(rc == -EINTR && pa > 0, "%s: stopped at %llu (rc %d %s)", tag, (unsigned long long)pa,
	      rc, rc == -EINTR ? "" : e.msg);
	for (int i = 0; i < n; i++) { /* state A's superblocks (v1.2: 4 KiB at 4 KiB) */
		snprintf(sbk[i], sizeof sbk[i], "%s.a", paths[i]);
		unlink(sbk[i]);
		copy_bytes(paths[i], sbk[i], 0, 0);
	}
	/* on past the rows a restart at A's position may find written (the
	 * data moved down by -new_offset, or up by new_offset backwards:
	 * mdraid's own write limit or floor) */
	struct fx_sb sb;
	fx_read_sb(paths[0], 2, &sb);
	int back = sb.new_offset > 0;
	fx_ok(back == (tail > 0), "%s: runs %s (new_offset %d)", tag,
	      back ? "backwards" : "forwards", sb.new_offset);
	int64_t doff_new = (int64_t)sb.data_offset + sb.new_offset;
	uint64_t cs = new_chunk ? new_chunk : 16, od = (uint64_t)(n - par),
		 nd = (uint64_t)(nn - par);
	int more = (int)(-(int64_t)sb.new_offset / (int64_t)cs) + 5;
	if (back) {
		/* new row w lands on old member sector w·cs + new_offset, which
		 * a restart at A reads below ceil(pa / (od·16))·16: go 5 rows
		 * below that from A's row (a shrink's gap grows with pa) */
		uint64_t live = (pa + od * 16 - 1) / (od * 16) * 16;
		uint64_t floor = (live - (uint64_t)sb.new_offset + cs - 1) / cs;
		more = (int)(pa / (cs * nd) - floor) + 5;
	}
	struct reshape_opts c = {.cont = 1};
	rc = run_stopped(n, &c, more, &pb, &e);
	fx_ok(rc == -EINTR && (back ? pb < pa : pb > pa), "%s: went on to %llu (rc %d %s)", tag,
	      (unsigned long long)pb, rc, rc == -EINTR ? "" : e.msg);
	for (int i = 0; i < n; i++)
		copy_bytes(sbk[i], paths[i], 4096, 4096);
	fx_read_sb(paths[0], 2, &sb);
	fx_ok(sb.csum_ok && sb.reshape_pos == pa, "%s: torn state: reshape_position %llu (A's)",
	      tag, (unsigned long long)sb.reshape_pos);
	if (hole || !want_frontier) {
		/* hole: zero a new row inside the run, just short of B's
		 * position (below it forwards, above it backwards), on every
		 * member */
		uint64_t ch = new_chunk ? new_chunk : 16;
		uint64_t row = pb / (ch * (uint64_t)(nn - par));
		row = back ? row + 2 : row - 2;
		uint64_t at = ((uint64_t)doff_new + row * ch) * 512;
		static uint8_t z[1 << 16];
		for (int i = 0; i < n && hole; i++) {
			int fd = open(paths[i], O_WRONLY);
			if (fd < 0 || pwrite(fd, z, (size_t)ch * 512, (off_t)at) < 0)
				abort();
			close(fd);
		}
		uint64_t before = digest(n);
		struct reshape *r;
		rc = reshape_open(&r, (const char *const *)paths, n, &c, &e);
		reshape_close(r);
		fx_ok(rc == -EPERM && strstr(e.msg, "shift") && digest(n) == before,
		      "%s: refused (%s), nothing written (rc %d: %s)", tag,
		      hole ? "a zero row inside the run" : "no contiguous proof", rc,
		      rc ? e.msg : "opened");
	} else {
		struct reshape_plan pl;
		const char *why = continue_verify(n, nn, &c, &after, &pl, msg, sizeof msg, &e);
		fx_ok(pl.frontier && pl.recorded == pa && pl.position == pb,
		      "%s: frontier found at %llu (recorded %llu)", tag,
		      (unsigned long long)pl.position, (unsigned long long)pl.recorded);
		fx_ok(!why, "%s: --continue from the frontier: content byte for byte%s%s", tag,
		      why ? ": " : "", why ? why : "");
	}
	/* the fixed point A: continued from its own position, unchanged */
	for (int i = 0; i < n; i++)
		copy_bytes(sbk[i], paths[i], 0, 0);
	struct reshape_plan pl;
	const char *why = continue_verify(n, nn, &c, &after, &pl, msg, sizeof msg, &e);
	fx_ok(!pl.frontier && pl.position == pa && !why,
	      "%s: fixed point continued from %llu, content byte for byte%s%s", tag,
	      (unsigned long long)pa, why ? ": " : "", why ? why : "");
	for (int i = 0; i < n; i++)
		unlink(sbk[i]);
	cleanup(n);
}

/* A degraded grow with --force: the missing members stay missing; what is on
 * the others must be the content and the parity of the full new layout.
 * With stop > 0 it is stopped after that many steps and continued. */
static void grow_degraded(const char *tag, int level, int layout, int n_old, int n_new,
			  uint32_t chunk, uint64_t doff, int backup_file, unsigned missing_mask,
			  int stop)
{
	struct fx_array a = make(tag, level, layout, 2, n_old, n_new, chunk, 4 << 20, doff);
	for (int i = 0; i < n_old; i++)
		if (missing_mask >> i & 1) {
			unlink(paths[i]);
			paths[i] = "missing";
		}
	struct reshape_opts o = {.raid_disks = n_new,
				 .backup_file = backup_file ? bkp : NULL,
				 .force = 1,
				 .max_step_rows = 3};
	if (stop) {
		o.stop = &stop_flag;
		o.progress = count_progress;
		stop_flag = 0;
		stop_after = stop;
	}
	struct reshape *r;
	struct ok_err e;
	char msg[512];
	int rc = reshape_open(&r, (const char *const *)paths, n_new, &o, &e);
	if (rc == 0)
		rc = reshape_run(r, &e);
	reshape_close(r);
	if (stop) {
		fx_ok(rc == -EINTR, "%s: degraded grow stopped (rc %d %s)", tag, rc,
		      rc == -EINTR ? "" : e.msg);
		struct reshape_opts c = {.cont = 1, .force = 1, .backup_file = o.backup_file};
		rc = reshape_open(&r, (const char *const *)paths, n_new, &c, &e);
		if (rc == 0)
			rc = reshape_run(r, &e);
		reshape_close(r);
	}
	fx_ok(rc == 0, "%s: degraded grow %d -> %d with --force%s%s", tag, n_old, n_new,
	      rc ? ": " : "", rc ? e.msg : "");
	int v = fx_verify(&a, n_new, paths, msg, sizeof msg);
	fx_ok(v == 0, "%s: content and parity of the full layout on the present members%s%s", tag,
	      v ? ": " : "", v ? msg : "");
	for (int i = 0; i < n_new; i++)
		paths[i] = pbuf[i];
	cleanup(n_new);
}

/* A refusal: the error, its words, nothing written. */
static void refuse(const char *name, int n, const struct reshape_opts *o, int want_rc,
		   const char *want_words)
{
	uint64_t before = digest(n);
	struct reshape *r;
	struct ok_err e;
	ok_err_clear(&e);
	int rc = reshape_open(&r, (const char *const *)paths, n, o, &e);
	if (rc == 0) {
		rc = 1;
		snprintf(e.msg, sizeof e.msg, "accepted");
	}
	reshape_close(r);
	fx_ok(rc == want_rc && strstr(e.msg, want_words) && digest(n) == before,
	      "refused: %s (rc %d: %s)", name, rc, e.msg);
}

int main(void)
{
	const char *t = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(dir, sizeof dir, "%s/mdraid-grow-test.XXXXXX", t);
	if (!mkdtemp(dir))
		return 1;
	const uint64_t M = 1 << 20;
	static const struct grow_case cases[] = {
	    /* name, level, layout, minor, old, new, chunk, bytes, doff, file, method, B */
	    {"r6-4to5-64K-newoffset", 6, 2, 2, 4, 5, 128, 8 * M, 2048, 0, RESHAPE_NEW_OFFSET, 768},
	    {"r6-4to5-64K-backupfile", 6, 2, 2, 4, 5, 128, 8 * M, 2048, 1, RESHAPE_BACKUP_FILE,
	     768},
	    {"r6-4to5-64K-backupmember", 6, 2, 2, 4, 5, 128, 8 * M, 128, 0, RESHAPE_BACKUP_MEMBER,
	     768},
	    {"r6-4to6-64K", 6, 2, 2, 4, 6, 128, 8 * M, 2048, 0, RESHAPE_NEW_OFFSET, 512},
	    {"r6-5to8-64K", 6, 2, 2, 5, 8, 128, 8 * M, 2048, 0, RESHAPE_NEW_OFFSET, 768},
	    {"r6-4to5-512K-newoffset", 6, 2, 2, 4, 5, 1024, 16 * M, 4096, 0, RESHAPE_NEW_OFFSET,
	     6144},
	    {"r6-4to5-512K-backupfile", 6, 2, 2, 4, 5, 1024, 16 * M, 4096, 1, RESHAPE_BACKUP_FILE,
	     6144},
	    {"r6-4to6-512K-backupmember", 6, 2, 2, 4, 6, 1024, 24 * M, 2048, 0,
	     RESHAPE_BACKUP_MEMBER, 4096},
	    {"r6-5to8-512K-backupfile", 6, 2, 2, 5, 8, 1024, 24 * M, 4096, 1, RESHAPE_BACKUP_FILE,
	     6144},
	    {"r6-layout0-4to5", 6, 0, 2, 4, 5, 16, 2 * M, 2048, 0, RESHAPE_NEW_OFFSET, 96},
	    {"r6-layout1-4to6", 6, 1, 2, 4, 6, 16, 2 * M, 2048, 0, RESHAPE_NEW_OFFSET, 64},
	    {"r6-layout3-5to7", 6, 3, 2, 5, 7, 16, 2 * M, 2048, 1, RESHAPE_BACKUP_FILE, 240},
	    {"r6-v1.0-4to5", 6, 2, 0, 4, 5, 128, 8 * M, 0, 0, RESHAPE_BACKUP_MEMBER, 768},
	    {"r6-v1.0-4to5-file", 6, 2, 0, 4, 5, 128, 8 * M, 0, 1, RESHAPE_BACKUP_FILE, 768},
	    {"r6-v1.1-4to5", 6, 2, 1, 4, 5, 128, 8 * M, 2048, 0, RESHAPE_NEW_OFFSET, 768},
	    {"r5-ls-3to4", 5, 2, 2, 3, 4, 128, 4 * M, 2048, 0, RESHAPE_NEW_OFFSET, 768},
	    {"r5-la-3to5-file", 5, 0, 2, 3, 5, 16, 2 * M, 2048, 1, RESHAPE_BACKUP_FILE, 64},
	    {"r5-ra-4to5-member", 5, 1, 2, 4, 5, 16, 2 * M, 128, 0, RESHAPE_BACKUP_MEMBER, 192},
	    {"r5-rs-3to4-v1.0", 5, 3, 0, 3, 4, 16, 2 * M, 0, 0, RESHAPE_BACKUP_MEMBER, 96},
	    /* parity-first/last and the RAID6 "_6" layouts (Q on the last member;
	     * what mdadm --grow --level=6 leaves after a RAID5 -> RAID6 change) */
	    {"r5-parity-first-3to4", 5, 4, 2, 3, 4, 16, 2 * M, 2048, 0, RESHAPE_NEW_OFFSET, 96},
	    {"r5-parity-last-3to5-file", 5, 5, 2, 3, 5, 16, 2 * M, 2048, 1, RESHAPE_BACKUP_FILE,
	     64},
	    {"r6-parity-first-4to5", 6, 4, 2, 4, 5, 16, 2 * M, 2048, 0, RESHAPE_NEW_OFFSET, 96},
	    {"r6-parity-last-4to6-member", 6, 5, 2, 4, 6, 16, 2 * M, 80, 0, RESHAPE_BACKUP_MEMBER,
	     64},
	    {"r6-left-asymmetric-6-4to5", 6, 16, 2, 4, 5, 16, 2 * M, 2048, 0, RESHAPE_NEW_OFFSET,
	     96},
	    {"r6-right-asymmetric-6-5to7", 6, 17, 2, 5, 7, 16, 2 * M, 2048, 1, RESHAPE_BACKUP_FILE,
	     240},
	    {"r6-left-symmetric-6-4to5-v1.0", 6, 18, 0, 4, 5, 16, 2 * M, 0, 0,
	     RESHAPE_BACKUP_MEMBER, 96},
	    {"r6-right-symmetric-6-4to6", 6, 19, 2, 4, 6, 16, 2 * M, 2048, 0, RESHAPE_NEW_OFFSET,
	     64},
	    {"r6-parity-first-6-4to5", 6, 20, 2, 4, 5, 16, 2 * M, 2048, 0, RESHAPE_NEW_OFFSET, 96},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		grow_one(&cases[i]);

	stop_and_continue("stop-newoffset", 0, 2, 2048);
	stop_and_continue("stop-backupfile", 1, 2, 2048);
	stop_and_continue("stop-backupmember", 0, 2, 128);
	stop_and_continue("stop-v1.0", 0, 0, 0);
	torn_state("torn-r6-chunk", 6, 2, 128, NULL, 0, 0, 1, 0, 0);
	torn_state("torn-r6-layout", 6, 2, 0, "right-asymmetric", 1, 0, 1, 0, 0);
	torn_state("torn-r5-chunk", 5, 2, 128, NULL, 0, 0, 0, 0, 0);
	torn_state("torn-r5-layout", 5, 2, 0, "right-asymmetric", 1, 0, 0, 0, 0);
	torn_state("torn-r6-hole", 6, 2, 128, NULL, 0, 1, 0, 0, 0);
	/* the same backwards: room after the data (512 sectors) */
	torn_state("torn-back-r6-chunk", 6, 2, 128, NULL, 0, 0, 1, 512, 0);
	torn_state("torn-back-r6-layout", 6, 2, 0, "right-asymmetric", 1, 0, 1, 512, 0);
	torn_state("torn-back-r5-chunk", 5, 2, 128, NULL, 0, 0, 0, 512, 0);
	torn_state("torn-back-r5-layout", 5, 2, 0, "right-asymmetric", 1, 0, 0, 512, 0);
	torn_state("torn-back-r6-hole", 6, 2, 128, NULL, 0, 1, 0, 512, 0);
	/* a shrink (RAID6 5 -> 4, RAID5 5 -> 4) also runs from the end down */
	torn_state("torn-shrink-r6", 6, 2, 0, NULL, 0, 0, 1, 512, 1);
	torn_state("torn-shrink-r5", 5, 2, 0, NULL, 0, 0, 1, 512, 1);

	/* degraded, with --force: one or two data/parity members missing */
	grow_degraded("deg-r6-4to5-slot1", 6, 2, 4, 5, 16, 2048, 0, 1u << 1, 0);
	grow_degraded("deg-r6-4to6-slots0,3-file", 6, 2, 4, 6, 16, 2048, 1, 1u << 0 | 1u << 3, 0);
	grow_degraded("deg-r6-5to7-slots1,2-member", 6, 2, 5, 7, 16, 128, 0, 1u << 1 | 1u << 2, 0);
	grow_degraded("deg-r5-3to4-slot2", 5, 2, 3, 4, 16, 2048, 0, 1u << 2, 0);
	grow_degraded("deg-r6-4to5-slot2-stopped", 6, 2, 4, 5, 8, 2048, 0, 1u << 2, 4);
	/* the "_6" layouts keep Q on the last member: lose it and a data member */
	grow_degraded("deg-r6-ls6-5to6-slots3,4", 6, 18, 5, 6, 16, 2048, 0, 1u << 3 | 1u << 4, 0);
	grow_degraded("deg-r6-pf6-5to7-slots1,3", 6, 20, 5, 7, 16, 2048, 1, 1u << 1 | 1u << 3, 0);

	/* preconditions */
	struct reshape_opts o = {.raid_disks = 5};
	make("ref", 6, 2, 2, 4, 5, 16, 2 * M, 2048);
	o.raid_disks = 4;
	refuse("already 4 members", 4, &o, -EALREADY, "already has 4");
	o.raid_disks = 3;
	refuse("shrinking RAID6 below 4 members", 4, &o, -EPERM, "keeps at least 4 members");
	o.raid_disks = 6;
	refuse("too few new members", 5, &o, -EINVAL, "needs 2 new members");
	o.raid_disks = 5;
	struct reshape_opts oc = {.cont = 1};
	refuse("--continue without a reshape", 5, &oc, -EPERM, "no reshape in progress");
	/* degraded: slot 3 absent (member 3 replaced by a blank disk) */
	char *keep = paths[3];
	paths[3] = paths[4];
	fx_blank(pbuf[4], 2 * M, 9);
	char extra[600];
	snprintf(extra, sizeof extra, "%s/ref-extra", dir);
	fx_blank(extra, 2 * M, 10);
	paths[4] = extra;
	refuse("degraded array without --force", 5, &o, -EPERM, "--force");
	paths[3] = keep;
	paths[4] = pbuf[4];
	unlink(extra);
	/* another array's superblock on the new member */
	struct fx_array other = {.n = 4,
				 .level = 6,
				 .layout = 2,
				 .minor = 2,
				 .chunk = 16,
				 .dev_bytes = 2 * M,
				 .data_offset = 2048,
				 .seed = 999};
	char opbuf[4][600], *op[4];
	for (int i = 0; i < 4; i++) {
		snprintf(opbuf[i], sizeof opbuf[i], "%s/other-%d", dir, i);
		op[i] = opbuf[i];
	}
	fx_create(&other, op);
	char *save4 = paths[4];
	paths[4] = op[0];
	refuse("new member holds another array's superblock", 5, &o, -EPERM, "--force");
	paths[4] = save4;
	for (int i = 0; i < 4; i++)
		unlink(op[i]);
	/* backup file exists */
	int fd = open(bkp, O_WRONLY | O_CREAT, 0600);
	close(fd);
	o.backup_file = bkp;
	refuse("backup file exists", 5, &o, -EEXIST, "exists");
	unlink(bkp);
	o.backup_file = NULL;
	/* new member too small */
	truncate(paths[4], 1 * M);
	refuse("new member smaller than the others", 5, &o, -EPERM, "too small");
	truncate(paths[4], 2 * M);
	/* dirty array */
	for (int i = 0; i < 4; i++)
		fx_sb_patch(paths[i], 2, 208, 8, 0);
	refuse("array not clean", 5, &o, -EPERM, "not clean");
	for (int i = 0; i < 4; i++)
		fx_sb_patch(paths[i], 2, 208, 8, UINT64_MAX);
	/* a bitmap recorded where there is none (bitmap_offset 0: the sb) */
	for (int m = 0; m < 4; m++)
		fx_sb_patch(paths[m], 2, 8, 4, 1);
	refuse("bitmap feature without a bitmap", 5, &o, -EINVAL, "bitmap");
	for (int m = 0; m < 4; m++)
		fx_sb_patch(paths[m], 2, 8, 4, 0);
	/* PPL, journal, a member being rebuilt */
	static const struct {
		uint32_t bit;
		const char *words;
	} feats[] = {{1024, "PPL"}, {512, "journal"}, {2, "rebuilt"}};
	for (size_t i = 0; i < 3; i++) {
		for (int m = 0; m < 4; m++)
			fx_sb_patch(paths[m], 2, 8, 4, feats[i].bit);
		char nm[64];
		snprintf(nm, sizeof nm, "feature 0x%x", feats[i].bit);
		refuse(nm, 5, &o, -EPERM, feats[i].words);
		for (int m = 0; m < 4; m++)
			fx_sb_patch(paths[m], 2, 8, 4, 0);
	}
	/* a stale member (events two behind) */
	fx_sb_patch(paths[2], 2, 200, 8, 18);
	refuse("stale member", 5, &o, -EPERM, "stale");
	fx_sb_patch(paths[2], 2, 200, 8, 20);
	/* an unsupported layout (DDF) */
	for (int m = 0; m < 4; m++)
		fx_sb_patch(paths[m], 2, 76, 4, 8);
	refuse("layout 8 (DDF)", 5, &o, -EPERM, "layout");
	for (int m = 0; m < 4; m++)
		fx_sb_patch(paths[m], 2, 76, 4, 2);
	/* same file twice */
	char *save3 = paths[4];
	paths[4] = paths[0];
	refuse("a member given twice", 5, &o, -EINVAL, "given twice");
	paths[4] = save3;
	cleanup(5);
	rmdir(dir);
	printf("1..%d\n", fx_tap_n);
	return 0;
}
