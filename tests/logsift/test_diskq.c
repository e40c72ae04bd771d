/*
 * test_diskq.c: crash states of the disk-buffer file (diskq.c). A seeded
 * run of pushes, reads, acknowledgements and syncs on a small ring (it
 * wraps many times) goes through a journaling ls_qf_io that records every
 * pwrite and ftruncate, with some writes cut short (a full disk). Then for
 * every prefix of that journal, and for the next write torn inside it, the
 * file as the prefix left it is loaded and judged by syslog-ng's rule for a
 * reliable disk-buffer: nothing that was stored is lost, nothing that was
 * never stored appears, and what comes back beyond the unacknowledged
 * window is a duplicate only from the last persisted backlog head on.
 *
 * The expected queue is derived from the journal itself, not from the code
 * under test: the newest complete header write names the chain start
 * (bytes 24..40 of a slot, as diskq.c's header documents), every complete
 * record write (bytes 8..16: its seq) adds its seq; the queue must be
 * [start .. newest stored seq], each payload the one pushed, plus at most
 * the records that a failed (cut short) push left whole after all: its
 * bytes completed by an earlier attempt at the same place.
 *
 * Default: one seed, cuts at 1 byte and mid-write. LOGSIFT_EXHAUSTIVE=1:
 * 4 seeds, both reliable modes, every byte cut of every write (about 15 min).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diskq.h"

#define RING 16384

struct jent {
	int64_t off;	  /* -1: ftruncate to len */
	size_t len;	  /* bytes written (a short write journals what landed) */
	size_t want;	  /* bytes asked for */
	unsigned char *p; /* copy of all want bytes asked for (len of them landed) */
};
static struct jent *J;
static size_t nj, capj;
static unsigned rng_state;
static int short_pct; /* chance of a cut-short pwrite while journaling */

static unsigned rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return (rng_state >> 8) & 0xffffff;
}

static void jadd(int64_t off, const void *p, size_t len, size_t want)
{
	if (nj == capj) {
		capj = capj ? capj * 2 : 1024;
		J = realloc(J, capj * sizeof *J);
	}
	J[nj].off = off;
	J[nj].len = len;
	J[nj].want = want;
	J[nj].p = malloc(want ? want : 1);
	memcpy(J[nj].p, p, want); /* all that was asked: completeness is judged by content */
	nj++;
}

static ssize_t j_pwrite(int fd, const void *p, size_t n, off_t off)
{
	size_t take = n;
	if (short_pct && n > 1 && (int)(rnd() % 100) < short_pct)
		take = rnd() % n; /* the disk filled up mid-write */
	ssize_t r = pwrite(fd, p, take, off);
	if (r > 0)
		jadd(off, p, (size_t)r, n);
	return r;
}
static ssize_t j_pread(int fd, void *p, size_t n, off_t off)
{
	return pread(fd, p, n, off);
}
static int j_sync(int fd)
{
	(void)fd;
	return 0;
}
static int j_trunc(int fd, off_t len)
{
	jadd(-1, "", 0, 0);
	J[nj - 1].want = (size_t)len;
	return ftruncate(fd, len);
}
static const struct ls_qf_io jio = {j_pwrite, j_pread, j_sync, j_trunc};
static const struct ls_qf_io *sysio;

static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* Payload of seq: its number, then a pattern, len bytes in all. */
static size_t payload(uint64_t seq, size_t len, char *out)
{
	char head[32];
	int n = snprintf(head, sizeof head, "m%llu:", (unsigned long long)seq);
	for (size_t i = 0; i < len; i++)
		out[i] = i < (size_t)n ? head[i] : (char)('a' + (seq + i) % 26);
	return len;
}

static size_t lens[1 << 16];	 /* payload length of each pushed seq */
static size_t img_lens[1 << 16]; /* the same, as the image at hand holds it */
static int failures;
static unsigned long loads;

static void fail(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputs("\n", stdout);
	va_end(ap);
	failures++;
}

/* The run: a seeded mix of operations on a journaled queue. */
static uint64_t run(const char *path, unsigned seed, bool reliable, int ops, uint64_t *acked_mem)
{
	rng_state = seed;
	short_pct = 0; /* the file is made whole; cut-short writes start after */
	ls_qf_io = &jio;
	struct ls_qf q;
	struct ok_err e;
	unlink(path);
	if (ls_qf_open(&q, path, RING, reliable, 0.5, &e) < 0) {
		fail("open: %s", e.msg);
		return 0;
	}
	short_pct = 3;
	char buf[400];
	for (int i = 0; i < ops; i++) {
		unsigned r = rnd() % 100;
		if (r < 55) {
			uint64_t seq = q.write_seq;
			size_t len = 1 + rnd() % 300;
			payload(seq, len, buf);
			if (ls_qf_push(&q, buf, (uint32_t)len) == 0 && seq < (1 << 16))
				lens[seq] = len;
		} else if (r < 80) {
			for (unsigned k = rnd() % 6; k; k--) {
				uint64_t seq = q.read_seq;
				ssize_t n = ls_qf_read(&q);
				if (n == 0)
					break;
				payload(seq, lens[seq], buf);
				if (n < 0 || (size_t)n != lens[seq] ||
				    memcmp(q.rec, buf, lens[seq]))
					fail("seed %u: read of seq %llu gave %zd bytes", seed,
					     (unsigned long long)seq, n);
			}
		} else if (r < 95) {
			ls_qf_ack(&q, rnd() % (q.read_seq - q.ack_seq + 1));
		} else if (r < 97) {
			ls_qf_sync(&q);
		} else {
			/* group commit (dest.c's path): the sync thread's job, waited
			 * for here so that the journal stays in one order */
			if (ls_qf_sync_start(&q, rnd() % 2) == 1) {
				struct pollfd pf = {ls_qf_sync_fd(&q), POLLIN, 0};
				poll(&pf, 1, -1);
				if (ls_qf_sync_done(&q) != 1 ||
				    (reliable && q.synced_seq != q.write_seq))
					fail("seed %u: sync job not applied", seed);
			}
		}
	}
	*acked_mem = q.ack_seq;
	short_pct = 0;
	ls_qf_close(&q);
	ls_qf_io = sysio;
	return q.write_seq;
}

/* Load the image img (size n) and judge it against the journal's prefix. */
static void judge(const char *path, const unsigned char *img, size_t n, uint64_t start,
		  uint64_t last_ok, uint64_t last, bool have_hdr, const char *what)
{
	/* one file rewritten in place: no create, no truncate to zero (ext4
	 * flushes a file truncated to zero and rewritten, at every close) */
	static int fd = -1;
	static char open_path[300];
	if (fd < 0 || strcmp(open_path, path)) {
		if (fd >= 0)
			close(fd);
		snprintf(open_path, sizeof open_path, "%s", path);
		fd = open(path, O_RDWR | O_CREAT, 0600);
	}
	if (fd < 0 || (n && pwrite(fd, img, n, 0) != (ssize_t)n) || ftruncate(fd, (off_t)n) < 0) {
		fail("cannot write image");
		return;
	}
	struct ls_qf q;
	struct ok_err e;
	loads++;
	int r = ls_qf_open(&q, path, RING, true, 0.5, &e);
	if (r < 0) {
		/* only before any header is complete, when nothing was stored */
		if (have_hdr || last >= start)
			fail("%s: load failed with records stored: %s", what, e.msg);
		return;
	}
	if (!have_hdr) {
		ls_qf_close(&q);
		return;
	}
	/* every stored record (push succeeded), and at most the records a
	 * failed push left whole by chance after them */
	uint64_t lo = last_ok >= start ? last_ok - start + 1 : 0;
	uint64_t hi = last >= start ? last - start + 1 : 0;
	if (q.ack_seq != start || ls_qf_length(&q) < lo || ls_qf_length(&q) > hi) {
		fail("%s: queue [%llu, %llu) expected [%llu, %llu..%llu]", what,
		     (unsigned long long)q.ack_seq, (unsigned long long)q.write_seq,
		     (unsigned long long)start, (unsigned long long)last_ok,
		     (unsigned long long)last);
		ls_qf_close(&q);
		return;
	}
	char buf[400];
	for (uint64_t s = start; s < q.write_seq; s++) {
		ssize_t got = ls_qf_read(&q);
		payload(s, img_lens[s], buf);
		if (got != (ssize_t)img_lens[s] || memcmp(q.rec, buf, img_lens[s])) {
			fail("%s: seq %llu: %zd bytes, expected %zu", what, (unsigned long long)s,
			     got, img_lens[s]);
			break;
		}
	}
	ls_qf_close(&q);
}

/* Every prefix of the journal, and the next write torn at the given cuts. */
static void sweep(const char *path, unsigned seed, bool exhaustive, uint64_t acked_mem)
{
	unsigned char *img = calloc(1, RING + 4096);
	size_t size = 0;
	uint64_t start = 1, last = 0, last_ok = 0, gen = 0;
	bool have_hdr = false;
	char what[96];
	for (size_t k = 0; k <= nj; k++) {
		snprintf(what, sizeof what, "seed %u after write %zu", seed, k);
		judge(path, img, size, start, last_ok, last, have_hdr, what);
		if (k == nj)
			break;
		struct jent *j = &J[k];
		if (j->off < 0) {
			if (j->want < size)
				size = j->want;
			continue;
		}
		/* torn versions of write k: its first c bytes over the old image */
		unsigned char *tmp = malloc(RING + 4096);
		size_t cuts[] = {1, j->len / 2, j->len - 1};
		size_t nc = exhaustive ? j->len : 3;
		for (size_t ci = 0; ci < nc; ci++) {
			size_t c = exhaustive ? ci : cuts[ci];
			if (c == 0 || c >= j->len)
				continue;
			memset(tmp, 0, RING + 4096);
			memcpy(tmp, img, size);
			/* the bytes after the cut already hold what the write would
			 * put there: that is the whole write, judged as prefix k+1 */
			if (!memcmp(tmp + j->off + c, j->p + c, j->len - c))
				continue;
			memcpy(tmp + j->off, j->p, c);
			size_t tsize = (size_t)j->off + c > size ? (size_t)j->off + c : size;
			snprintf(what, sizeof what, "seed %u write %zu torn at %zu", seed, k, c);
			judge(path, tmp, tsize, start, last_ok, last, have_hdr, what);
		}
		free(tmp);
		/* apply write k whole (as far as it landed) */
		if ((size_t)j->off > size)
			memset(img + size, 0, (size_t)j->off - size);
		memcpy(img + j->off, j->p, j->len);
		if ((size_t)j->off + j->len > size)
			size = (size_t)j->off + j->len;
		/* complete when the file holds every byte asked for: a short write
		 * may be completed by bytes already there (an earlier attempt at
		 * the same seq), and then the record is whole */
		bool complete = j->len == j->want || ((size_t)j->off + j->want <= size &&
						      !memcmp(img + j->off, j->p, j->want));
		if (j->off < 128 && j->want == 64 && complete) {
			uint64_t g = get64(j->p + 8);
			if (g > gen) {
				gen = g;
				start = get64(j->p + 32);
				have_hdr = true;
			}
		} else if (j->off >= LS_QF_RESERVED && complete && j->len > 16 &&
			   (j->p[0] | j->p[1] << 8 | j->p[2] << 16 | (unsigned)j->p[3] << 24) !=
			       0xffffffffu) {
			last = get64(j->p + 8);
			if (last < (1 << 16))
				img_lens[last] = j->want - 16;
			if (j->len == j->want)
				last_ok = last;
			else if (last_ok >= last)
				last_ok = last - 1; /* a failed push's seq is pushed again */
		}
		if (start > acked_mem + 1 && acked_mem)
			fail("seed %u: header past the acknowledged records", seed);
	}
	free(img);
}

int main(void)
{
	sysio = ls_qf_io;
	bool ex = getenv("LOGSIFT_EXHAUSTIVE") && *getenv("LOGSIFT_EXHAUSTIVE") == '1';
	char dir[256];
	snprintf(dir, sizeof dir, "%s/lsdiskq.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	char path[300], jpath[300];
	snprintf(path, sizeof path, "%s/q", dir);
	snprintf(jpath, sizeof jpath, "%s/run", dir);
	unsigned seeds = ex ? 4 : 1;
	int t = 0;
	/* LOGSIFT_DISKQ_SEED=N: that seed alone (to reproduce a failure) */
	unsigned first = 1;
	if (getenv("LOGSIFT_DISKQ_SEED")) {
		first = (unsigned)atoi(getenv("LOGSIFT_DISKQ_SEED")) - 1000;
		seeds = first;
	}
	printf("1..%u\n", (seeds - first + 1) * 2);
	for (unsigned s = first; s <= seeds; s++)
		for (int rel = 0; rel < 2; rel++) {
			failures = 0;
			nj = 0;
			uint64_t acked = 0;
			uint64_t pushed = run(jpath, 1000 + s, rel, ex ? 1500 : 700, &acked) - 1;
			size_t writes = nj;
			sweep(path, 1000 + s, ex, acked);
			printf(
			    "%s %d - seed %u reliable(%s): %zu writes, %llu records, every prefix "
			    "and torn write loads as the journal says (%lu loads)\n",
			    failures ? "not ok" : "ok", ++t, 1000 + s, rel ? "yes" : "no", writes,
			    (unsigned long long)pushed, loads);
			for (size_t i = 0; i < nj; i++)
				free(J[i].p);
		}
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	return 0;
}
