/*
 * diskq.c: the disk-buffer() file: a ring of records behind a two-slot
 * header. API and invariants in diskq.h.
 *
 * Why not syslog-ng's own .qf/.rqf format (which dqtool reads): its records
 * are syslog-ng's in-memory LogMessage serialized (log_msg_serialize: the
 * NVTable layout, name-value handles from its registry, tag and SDATA
 * tables, version 26 of that encoding), and its header is an mmap'ed struct
 * updated in place with no checksum, so a torn header is not even
 * detectable. logsift queues formatted lines, not LogMessages; writing the
 * NVTable encoding would mean re-implementing syslog-ng's message object to
 * fill a file dqtool can print. So the format is our own, with the same
 * shape (reserved header area, a ring of length-prefixed records, read,
 * backlog and write heads, disk-buf-size as the ring's end) and two things
 * qdisk lacks: checksums and a header that cannot be torn.
 *
 * Layout (all integers little-endian):
 *
 *   0      header slot 0 (even generations)   64 bytes
 *   64     header slot 1 (odd generations)    64 bytes
 *   128    "logsift disk-buffer\n" text, for whoever runs head(1) on it
 *   4096   records ... up to max (disk-buf-size), then from 4096 again
 *
 *   header slot: "LSDQ" | u32 version (1) | u64 gen | u64 max | u64 off |
 *                u64 seq | u32 reliable | 16 bytes zero | u32 crc32(0..59)
 *                off/seq: where the chain of live records starts
 *   record:      u32 len | u32 crc32(seq bytes, payload) | u64 seq | payload
 *                len 0xffffffff: wrap marker (the chain goes on at 4096 with
 *                the same seq); a record never straddles max: when the
 *                16-byte head does not fit before max, the wrap is implicit.
 *
 * Loading walks the chain from the newest valid header: a record belongs
 * when its seq is the next one and its checksum holds. Anything else ends
 * the queue: a stale record from an earlier lap has an older seq, a torn
 * tail fails its checksum. So the header is written only when the backlog
 * head moves (acknowledgements), never per message: a push is exactly one
 * pwrite (two when it wraps).
 *
 * Crash rules (tests/logsift/test_diskq.c cuts the file at every write):
 *   - after any prefix of the writes, the file loads; the queue it gives
 *     starts at the newest complete header's chain start and holds every
 *     record whose pwrite completed, in order, nothing else.
 *   - a torn header slot fails its checksum: the other slot (one step older,
 *     so only more duplicates) is used.
 *   - space is reused only after a header no longer naming it is written
 *     (diskq.h invariant 3), so the chain start never points into
 *     overwritten bytes.
 * Durability: reliable(yes) fdatasyncs the records before dest.c gives the
 * source's window slots back and fdatasyncs each header before the space it
 * frees is reused: power loss loses nothing that was acknowledged to a
 * flow-controlled source. reliable(no) never fsyncs (as 3.38): a crash of
 * the daemon loses its memory part, power loss may lose more.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "diskq.h"

#define SLOT_SIZE 64
#define WRAP	  0xffffffffu
#define VERSION	  1

static const char banner[] = "logsift disk-buffer (see logsift(8), disk-buffer())\n";

static ssize_t sys_pwrite(int fd, const void *p, size_t n, off_t off)
{
	return pwrite(fd, p, n, off);
}
static ssize_t sys_pread(int fd, void *p, size_t n, off_t off)
{
	return pread(fd, p, n, off);
}
static const struct ls_qf_io sys_io = {sys_pwrite, sys_pread, fdatasync, ftruncate};
const struct ls_qf_io *ls_qf_io = &sys_io;

/* ---------------------------------------------------------------- encoding */

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static void put64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get32(const unsigned char *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}
static uint64_t get64(const unsigned char *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The record checksum: over the seq bytes and the payload. */
static uint32_t rec_crc(const unsigned char *seq8, const void *p, uint32_t len)
{
	uLong c = crc32(0L, seq8, 8);
	if (len)
		c = crc32(c, p, len);
	return (uint32_t)c;
}

/* Write all of p at off: 0 or -errno (a short write is -ENOSPC, as qdisk's pwrite_strict). */
static int pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	ssize_t r;
	do
		r = ls_qf_io->pwrite(fd, p, n, off);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == n ? 0 : -ENOSPC;
}

/* Read exactly n bytes at off: 0, or -EIO when the file is shorter or fails. */
static int pread_all(int fd, void *p, size_t n, off_t off)
{
	ssize_t r;
	do
		r = ls_qf_io->pread(fd, p, n, off);
	while (r < 0 && errno == EINTR);
	return r >= 0 && (size_t)r == n ? 0 : -EIO;
}

/* ------------------------------------------------------------------ header */

struct hdr {
	uint64_t gen, max, off, seq;
	bool reliable;
};

static void hdr_encode(unsigned char s[SLOT_SIZE], const struct hdr *h)
{
	memset(s, 0, SLOT_SIZE);
	memcpy(s, "LSDQ", 4);
	put32(s + 4, VERSION);
	put64(s + 8, h->gen);
	put64(s + 16, h->max);
	put64(s + 24, h->off);
	put64(s + 32, h->seq);
	put32(s + 40, h->reliable);
	put32(s + 60, (uint32_t)crc32(0L, s, 60));
}

static bool hdr_decode(const unsigned char s[SLOT_SIZE], struct hdr *h)
{
	if (memcmp(s, "LSDQ", 4) || get32(s + 4) != VERSION ||
	    get32(s + 60) != (uint32_t)crc32(0L, s, 60))
		return false;
	h->gen = get64(s + 8);
	h->max = get64(s + 16);
	h->off = get64(s + 24);
	h->seq = get64(s + 32);
	h->reliable = get32(s + 40) != 0;
	return h->max >= 2 * LS_QF_RESERVED && h->max <= (1ull << 48) && h->off >= LS_QF_RESERVED &&
	       h->off <= h->max;
}

/* Write the next generation's slot naming the chain start (off, seq). */
static int hdr_write(struct ls_qf *q, int64_t off, uint64_t seq)
{
	unsigned char s[SLOT_SIZE];
	struct hdr h = {q->gen + 1, (uint64_t)q->max, (uint64_t)off, seq, q->reliable};
	hdr_encode(s, &h);
	int r = pwrite_all(q->fd, s, SLOT_SIZE, (off_t)((h.gen & 1) * SLOT_SIZE));
	if (r == 0 && q->reliable && ls_qf_io->fdatasync(q->fd) < 0)
		r = -errno;
	if (r == 0)
		q->gen = h.gen;
	return r;
}

/* ----------------------------------------------------------------- records */

static int grow_rec(struct ls_qf *q, size_t n)
{
	if (n <= q->rec_cap)
		return 0;
	char *p = realloc(q->rec, n);
	if (!p)
		return -ENOMEM;
	q->rec = p;
	q->rec_cap = n;
	return 0;
}

enum rec_state { REC_OK, REC_WRAP, REC_END, REC_BAD };

/*
 * The record expected at *off with seq: REC_OK (payload in q->rec, *len,
 * *off moved past it), REC_WRAP (*off moved to LS_QF_RESERVED), REC_END (not
 * the next record: end of the chain) or REC_BAD (the next seq, but damaged).
 */
static enum rec_state rec_at(struct ls_qf *q, int64_t *off, uint64_t seq, uint32_t *len)
{
	if (*off + LS_QF_REC_HDR > q->max) {
		*off = LS_QF_RESERVED;
		return REC_WRAP;
	}
	/* head and (most) payloads in one read: loading walks every record */
	unsigned char a[LS_QF_REC_HDR + 1024];
	size_t want = sizeof a;
	if ((int64_t)want > q->max - *off)
		want = (size_t)(q->max - *off);
	ssize_t got;
	do
		got = ls_qf_io->pread(q->fd, a, want, *off);
	while (got < 0 && errno == EINTR);
	if (got < LS_QF_REC_HDR)
		return REC_END;
	uint32_t n = get32(a), crc = get32(a + 4);
	if (get64(a + 8) != seq)
		return REC_END;
	if (n == WRAP) {
		if (crc != rec_crc(a + 8, NULL, 0))
			return REC_BAD;
		*off = LS_QF_RESERVED;
		return REC_WRAP;
	}
	if (n > LS_QF_MAX_REC || *off + LS_QF_REC_HDR + (int64_t)n > q->max || grow_rec(q, n + 1))
		return REC_BAD;
	size_t have = (size_t)got - LS_QF_REC_HDR;
	if (have > n)
		have = n;
	memcpy(q->rec, a + LS_QF_REC_HDR, have);
	if (have < n &&
	    pread_all(q->fd, q->rec + have, n - have, *off + LS_QF_REC_HDR + (int64_t)have) < 0)
		return REC_BAD;
	if (crc != rec_crc(a + 8, q->rec, n))
		return REC_BAD;
	*off += LS_QF_REC_HDR + n;
	*len = n;
	return REC_OK;
}

/* The next record from *off (wraps followed): as rec_at, never REC_WRAP. */
static enum rec_state rec_next(struct ls_qf *q, int64_t *off, uint64_t seq, uint32_t *len)
{
	for (int wraps = 0; wraps < 2; wraps++) {
		enum rec_state s = rec_at(q, off, seq, len);
		if (s != REC_WRAP)
			return s;
	}
	return REC_END; /* two wraps in a row: nothing there */
}

/* ------------------------------------------------------------------- open */

int ls_qf_open(struct ls_qf *q, const char *path, int64_t max, bool reliable, double ratio,
	       struct ok_err *e)
{
	memset(q, 0, sizeof *q);
	q->fd = -1;
	q->bad_off = -1;
	q->reliable = reliable;
	q->truncate_ratio = ratio;
	q->max = max < 2 * LS_QF_RESERVED ? 2 * LS_QF_RESERVED : max;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS, "Error opening disk-queue file");
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "Error opening disk-queue file: not a regular file");
	}
	q->fd = fd;
	q->path = strdup(path);
	if (!q->path) {
		close(fd);
		return -ENOMEM;
	}
	q->file_size = st.st_size;
	int r;
	if (st.st_size == 0) {
		/* new: both slots, so that a torn first update still has one */
		q->gen = 0;
		q->write_off = q->ack_off = q->read_off = q->safe_off = LS_QF_RESERVED;
		q->write_seq = q->ack_seq = q->read_seq = q->safe_seq = 1;
		if ((r = hdr_write(q, LS_QF_RESERVED, 1)) < 0 ||
		    (r = hdr_write(q, LS_QF_RESERVED, 1)) < 0 ||
		    (r = pwrite_all(fd, banner, sizeof banner - 1, 2 * SLOT_SIZE)) < 0) {
			ls_qf_close(q);
			return ok_err_at(e, r, path, 0, "Error initializing disk-queue file");
		}
		q->file_size = 2 * SLOT_SIZE + (int64_t)sizeof banner - 1;
		q->synced_seq = 1;
		return 0;
	}
	unsigned char s[2][SLOT_SIZE];
	struct hdr h[2];
	bool ok[2];
	for (int i = 0; i < 2; i++)
		ok[i] = pread_all(fd, s[i], SLOT_SIZE, i * SLOT_SIZE) == 0 &&
			hdr_decode(s[i], &h[i]) && (h[i].gen & 1) == (uint64_t)i;
	if (!ok[0] && !ok[1]) {
		ls_qf_close(q);
		return ok_err_at(e, -EINVAL, path, 0,
				 "Error loading disk-queue file: no valid header, expected "
				 "\"LSDQ\" version %d with a good checksum",
				 VERSION);
	}
	const struct hdr *b = !ok[0] ? &h[1] : !ok[1] ? &h[0] : h[0].gen > h[1].gen ? &h[0] : &h[1];
	q->gen = b->gen;
	q->max = (int64_t)b->max; /* records lie in the ring they were written to */
	q->safe_off = q->ack_off = q->read_off = (int64_t)b->off;
	q->safe_seq = q->ack_seq = q->read_seq = b->seq;
	int64_t off = q->safe_off;
	uint64_t seq = q->safe_seq;
	uint32_t len;
	enum rec_state st2;
	/* bounded: each record moves forward and the ring holds at most max/16 */
	for (uint64_t n = 0; n <= (uint64_t)q->max / LS_QF_REC_HDR; n++) {
		int64_t at = off;
		st2 = rec_next(q, &off, seq, &len);
		if (st2 != REC_OK) {
			if (st2 == REC_BAD)
				q->bad_off = at + LS_QF_REC_HDR > q->max ? LS_QF_RESERVED : at;
			break;
		}
		q->write_off = off;
		seq++;
	}
	if (seq == q->safe_seq)
		q->write_off = q->safe_off;
	q->write_seq = seq;
	if (!ls_qf_length(q) && max >= 2 * LS_QF_RESERVED && max != q->max) {
		/* empty: the configured size applies again, from the ring's start */
		q->max = max;
		q->write_off = q->ack_off = q->read_off = LS_QF_RESERVED;
		if ((r = hdr_write(q, LS_QF_RESERVED, q->write_seq)) < 0) {
			ls_qf_close(q);
			return ok_err_at(e, r, path, 0, "Error resizing disk-queue file");
		}
		q->safe_off = LS_QF_RESERVED;
	}
	q->synced_seq = q->write_seq; /* what a load found is in the file already */
	ls_qf_assert_ok(q);
	return 0;
}

/* ------------------------------------------------------------------ space */

/*
 * Where a record of need bytes goes: its offset, with *wrap set when the
 * write head must wrap first, or -1 when it does not fit before the space
 * the newest header still protects (safe_off).
 */
static int64_t place(const struct ls_qf *q, int64_t need, bool *wrap)
{
	int64_t w = q->write_off, b = q->safe_off;
	bool live = q->write_seq != q->safe_seq;
	*wrap = false;
	if (w > b || !live) {
		if (w + need <= q->max)
			return w;
		/* wrap: the start must stay short of b, or w == b would mean empty */
		if (LS_QF_RESERVED + need < b) {
			*wrap = true;
			return LS_QF_RESERVED;
		}
		return -1;
	}
	return w + need < b ? w : -1;
}

int64_t ls_qf_empty_space(const struct ls_qf *q)
{
	int64_t w = q->write_off, b = q->safe_off;
	if (q->write_seq == q->safe_seq)
		return q->max - LS_QF_RESERVED;
	if (w > b)
		return (q->max - w) + (b - LS_QF_RESERVED);
	return b - w;
}

int ls_qf_push(struct ls_qf *q, const void *p, uint32_t len)
{
	if (len > LS_QF_MAX_REC)
		return -EMSGSIZE;
	int64_t need = LS_QF_REC_HDR + (int64_t)len;
	bool wrap;
	int64_t at = place(q, need, &wrap);
	if (at < 0)
		return -ENOSPC;
	int r;
	unsigned char seq8[8];
	put64(seq8, q->write_seq);
	if (wrap && q->write_off + LS_QF_REC_HDR <= q->max) {
		unsigned char m[LS_QF_REC_HDR];
		put32(m, WRAP);
		put32(m + 4, rec_crc(seq8, NULL, 0));
		memcpy(m + 8, seq8, 8);
		if ((r = pwrite_all(q->fd, m, sizeof m, q->write_off)) < 0)
			return r;
	}
	if ((r = grow_rec(q, (size_t)need)) < 0)
		return r;
	unsigned char *h = (unsigned char *)q->rec;
	put32(h, len);
	put32(h + 4, rec_crc(seq8, p, len));
	memcpy(h + 8, seq8, 8);
	memcpy(h + LS_QF_REC_HDR, p, len);
	if ((r = pwrite_all(q->fd, h, (size_t)need, at)) < 0)
		return r;
	q->write_off = at + need;
	q->write_seq++;
	q->unsynced = true;
	if (q->write_off > q->file_size)
		q->file_size = q->write_off;
	ls_qf_assert_ok(q);
	return 0;
}

/*
 * Remember where the record just read ends, so that acknowledging it moves
 * ack_off without reading its head back (a pread per message otherwise).
 * Failing to grow only costs that pread: ls_qf_ack walks the file until
 * every read record is acknowledged (the ring would miss one otherwise).
 */
static void end_push(struct ls_qf *q)
{
	if (q->ends_lost)
		return;
	if (q->en == q->ecap) {
		size_t cap = q->ecap ? q->ecap * 2 : 64;
		int64_t *e = malloc(cap * sizeof *e);
		if (!e) {
			q->ends_lost = true;
			return;
		}
		for (size_t i = 0; i < q->en; i++)
			e[i] = q->ends[(q->eh + i) & (q->ecap - 1)];
		free(q->ends);
		q->ends = e;
		q->eh = 0;
		q->ecap = cap;
	}
	q->ends[(q->eh + q->en++) & (q->ecap - 1)] = q->read_off;
}

ssize_t ls_qf_read(struct ls_qf *q)
{
	if (!ls_qf_unread(q))
		return 0;
	uint32_t len;
	int64_t off = q->read_off;
	if (rec_next(q, &off, q->read_seq, &len) != REC_OK)
		return -EIO;
	q->read_off = off;
	q->read_seq++;
	end_push(q);
	return len;
}

void ls_qf_read_skip(struct ls_qf *q)
{
	if (ls_qf_unread(q) == 1) {
		q->read_off = q->write_off;
		q->read_seq = q->write_seq;
		end_push(q);
	}
}

void ls_qf_ack(struct ls_qf *q, uint64_t n)
{
	for (; n && q->ack_seq < q->read_seq; n--) {
		if (!q->ends_lost && q->en == q->read_seq - q->ack_seq) {
			/* its end was noted when it was read */
			q->ack_off = q->ends[q->eh];
			q->eh = (q->eh + 1) & (q->ecap - 1);
			q->en--;
			q->ack_seq++;
			q->dirty = true;
			continue;
		}
		/* only the head is needed to skip; the payload is not re-read */
		for (int wraps = 0; wraps < 2; wraps++) {
			if (q->ack_off + LS_QF_REC_HDR > q->max) {
				q->ack_off = LS_QF_RESERVED;
				continue;
			}
			unsigned char h[LS_QF_REC_HDR];
			if (pread_all(q->fd, h, sizeof h, q->ack_off) < 0)
				break;
			uint32_t len = get32(h);
			if (len == WRAP) {
				q->ack_off = LS_QF_RESERVED;
				continue;
			}
			q->ack_off += LS_QF_REC_HDR + (int64_t)len;
			break;
		}
		q->ack_seq++;
		q->dirty = true;
	}
	if (q->ack_seq == q->read_seq) {
		q->ack_off = q->read_off; /* exact, whatever the walk above met */
		q->eh = q->en = 0;
		q->ends_lost = false;
	}
}

/* ------------------------------------------------------------ group commit */

/*
 * One job at a time: when acknowledgements moved, write the next header
 * slot; then one fdatasync for it and every record pushed before the job
 * started. One fdatasync is enough for both: the header names the first
 * unacknowledged record, which is either durable from an earlier job or
 * one of this job's records, and then everything after it is this job's
 * too: a power loss that keeps the header and tears such a record ends the
 * chain there, losing only records whose slots were not given back yet.
 * The space the header frees is reused only once the job is applied
 * (safe_off moves then: invariant 3). The main thread meanwhile pushes
 * more records (other offsets) and reads; it never writes a header slot
 * while a job is in flight (ls_qf_sync waits). So one fdatasync covers
 * every record pushed while the one before ran: about 1 / fsync latency
 * syncs a second whatever the message rate, and the caller gives window
 * slots back per finished job.
 */
struct ls_qf_job {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv; /* work, quit, or done (broadcast) */
	int fd;		   /* the queue file */
	int efd;	   /* eventfd: a job finished */
	bool busy;	   /* started, not yet applied (main thread only) */
	bool work, done, quit;
	/* the job, fixed when it starts */
	bool data;    /* records to fdatasync */
	uint64_t seq; /* records before it are durable once done */
	bool hdr;     /* a header slot to write */
	unsigned char slot[SLOT_SIZE];
	uint64_t gen, hoff, hseq; /* that header's generation and chain start */
	int err;		  /* 0 or -errno of the finished job */
};

static void *job_main(void *arg)
{
	struct ls_qf_job *j = arg;
	pthread_mutex_lock(&j->mu);
	for (;;) {
		while (!j->work && !j->quit)
			pthread_cond_wait(&j->cv, &j->mu);
		if (!j->work)
			break;
		j->work = false;
		pthread_mutex_unlock(&j->mu);
		int r = 0;
		if (j->hdr)
			r = pwrite_all(j->fd, j->slot, SLOT_SIZE,
				       (off_t)((j->gen & 1) * SLOT_SIZE));
		if (!r && ls_qf_io->fdatasync(j->fd) < 0)
			r = -errno;
		pthread_mutex_lock(&j->mu);
		j->err = r;
		j->done = true;
		pthread_cond_broadcast(&j->cv);
		uint64_t one = 1;
		if (write(j->efd, &one, sizeof one) < 0) {
			/* the counter is full: it is readable anyway */
		}
	}
	pthread_mutex_unlock(&j->mu);
	return NULL;
}

static int job_new(struct ls_qf *q)
{
	struct ls_qf_job *j = calloc(1, sizeof *j);
	if (!j)
		return -ENOMEM;
	j->fd = q->fd;
	j->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (j->efd < 0) {
		int r = -errno;
		free(j);
		return r;
	}
	pthread_mutex_init(&j->mu, NULL);
	pthread_cond_init(&j->cv, NULL);
	int r = pthread_create(&j->thread, NULL, job_main, j);
	if (r) {
		close(j->efd);
		pthread_mutex_destroy(&j->mu);
		pthread_cond_destroy(&j->cv);
		free(j);
		return -r;
	}
	q->job = j;
	return 0;
}

/* Stop the thread (no job may be in flight: ls_qf_sync waited). */
static void job_free(struct ls_qf *q)
{
	struct ls_qf_job *j = q->job;
	if (!j)
		return;
	pthread_mutex_lock(&j->mu);
	j->quit = true;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	pthread_join(j->thread, NULL);
	close(j->efd);
	pthread_mutex_destroy(&j->mu);
	pthread_cond_destroy(&j->cv);
	free(j);
	q->job = NULL;
}

int ls_qf_sync_fd(const struct ls_qf *q)
{
	return q->job ? q->job->efd : -1;
}

bool ls_qf_sync_busy(const struct ls_qf *q)
{
	return q->job && q->job->busy;
}

int ls_qf_sync_done(struct ls_qf *q)
{
	struct ls_qf_job *j = q->job;
	if (!j || !j->busy)
		return 0;
	pthread_mutex_lock(&j->mu);
	bool done = j->done;
	j->done = false;
	pthread_mutex_unlock(&j->mu);
	if (!done)
		return 0;
	uint64_t v;
	if (read(j->efd, &v, sizeof v) < 0) {
		/* EAGAIN: already drained by an earlier call */
	}
	j->busy = false;
	if (j->err) {
		/* tried again by the next job */
		q->unsynced |= j->data;
		q->dirty |= j->hdr;
		return j->err;
	}
	if (j->data)
		q->synced_seq = j->seq;
	if (j->hdr) {
		q->gen = j->gen;
		q->safe_off = (int64_t)j->hoff;
		q->safe_seq = j->hseq;
	}
	ls_qf_assert_ok(q);
	return 1;
}

/* Wait for a job in flight and apply it (its error is left to the next sync). */
static void job_wait(struct ls_qf *q)
{
	struct ls_qf_job *j = q->job;
	if (!j || !j->busy)
		return;
	pthread_mutex_lock(&j->mu);
	while (!j->done)
		pthread_cond_wait(&j->cv, &j->mu);
	pthread_mutex_unlock(&j->mu);
	ls_qf_sync_done(q);
}

int ls_qf_sync_start(struct ls_qf *q, bool idle)
{
	if (q->fd < 0)
		return -EBADF;
	if (!q->reliable) {
		/* no fsync to wait for: the header write alone is cheap */
		int r = ls_qf_sync(q);
		return r < 0 ? r : 0;
	}
	if ((!q->unsynced && !q->dirty) || (q->job && q->job->busy))
		return 0;
	if (!q->unsynced && !idle && ls_qf_empty_space(q) > (q->max - LS_QF_RESERVED) / 2)
		return 0; /* acknowledgements alone can wait for records or idleness */
	int64_t keep = 2 * SLOT_SIZE + (int64_t)sizeof banner - 1;
	if (q->dirty && !ls_qf_length(q) && q->file_size > keep &&
	    q->file_size - LS_QF_RESERVED >= (int64_t)((double)q->max * q->truncate_ratio)) {
		/* empty and worth truncating: the ring restarts, synchronously
		 * (rare: once per truncate-size-ratio() of disk-buf-size()) */
		int r = ls_qf_sync(q);
		return r < 0 ? r : 0;
	}
	if (!q->job && job_new(q) < 0) {
		/* no thread: the caller's loop waits for the disk instead */
		int r = ls_qf_sync(q);
		return r < 0 ? r : 0;
	}
	struct ls_qf_job *j = q->job;
	j->data = q->unsynced;
	j->seq = q->write_seq;
	j->hdr = q->dirty;
	if (j->hdr) {
		struct hdr h = {q->gen + 1, (uint64_t)q->max, (uint64_t)q->ack_off, q->ack_seq,
				q->reliable};
		hdr_encode(j->slot, &h);
		j->gen = h.gen;
		j->hoff = h.off;
		j->hseq = h.seq;
	}
	q->unsynced = false;
	q->dirty = false;
	j->busy = true;
	pthread_mutex_lock(&j->mu);
	j->work = true;
	pthread_cond_broadcast(&j->cv);
	pthread_mutex_unlock(&j->mu);
	return 1;
}

int ls_qf_sync(struct ls_qf *q)
{
	int r;
	if (q->fd < 0)
		return -EBADF;
	job_wait(q);
	if (q->unsynced && q->reliable && ls_qf_io->fdatasync(q->fd) < 0)
		return -errno;
	q->unsynced = false;
	q->synced_seq = q->write_seq;
	if (!q->dirty)
		return 0;
	bool empty = !ls_qf_length(q);
	if (empty)
		q->ack_off = q->read_off = q->write_off = LS_QF_RESERVED;
	if ((r = hdr_write(q, q->ack_off, q->ack_seq)) < 0)
		return r;
	q->safe_off = q->ack_off;
	q->safe_seq = q->ack_seq;
	q->dirty = false;
	int64_t keep = 2 * SLOT_SIZE + (int64_t)sizeof banner - 1;
	if (empty && q->file_size > keep &&
	    q->file_size - LS_QF_RESERVED >= (int64_t)((double)q->max * q->truncate_ratio) &&
	    ls_qf_io->ftruncate(q->fd, keep) == 0)
		q->file_size = keep;
	ls_qf_assert_ok(q);
	return 0;
}

void ls_qf_close(struct ls_qf *q)
{
	if (q->fd >= 0) {
		ls_qf_sync(q);
		close(q->fd);
	}
	job_free(q);
	q->fd = -1;
	free(q->path);
	free(q->rec);
	free(q->ends);
	q->ends = NULL;
	q->eh = q->en = q->ecap = 0;
	q->path = NULL;
	q->rec = NULL;
	q->rec_cap = 0;
}

#ifndef NDEBUG
#include <assert.h>
void ls_qf_assert_ok(const struct ls_qf *q)
{
	assert(q->safe_seq <= q->ack_seq && q->ack_seq <= q->read_seq &&
	       q->read_seq <= q->write_seq);
	assert(q->write_off >= LS_QF_RESERVED && q->write_off <= q->max);
	assert(q->safe_off >= LS_QF_RESERVED && q->safe_off <= q->max);
}
#endif
