/*
 * diskq.h: the file under disk-buffer(): a ring of checksummed, numbered
 * records behind a two-slot header (format and crash rules in diskq.c's
 * header). dest.c decides what goes to disk and when (syslog-ng 3.38's
 * reliable and non-reliable policies); this layer only stores records.
 *
 * Layering: diskq.c knows nothing of writers or windows; it is used by
 * dest.c, the crash-state test (tests/logsift/test_diskq.c) and the fuzz
 * target (fuzz/logsift_diskq.c).
 *
 * Invariants (checked by ls_qf_assert_ok() in debug builds):
 *   (1) ack_seq <= read_seq <= write_seq; a seq names one record forever.
 *   (2) records [safe_seq, write_seq) lie in the ring from safe_off on, in
 *       seq order, each starting where the one before ended (or at
 *       LS_QF_RESERVED after a wrap);
 *   (3) no byte from safe_off up to write_off's lap is written: space is
 *       reused only once a header that no longer points at it is written
 *       (and, in reliable mode, fdatasync'ed).
 */
#ifndef LOGSIFT_DISKQ_H
#define LOGSIFT_DISKQ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

#define LS_QF_RESERVED 4096	  /* header area; records start here */
#define LS_QF_REC_HDR  16	  /* len, crc, seq before each payload */
#define LS_QF_MAX_REC  (1u << 24) /* a record longer than this is damage */

struct ls_qf_job;

/*
 * The file calls, overridable so the crash-state test can journal every
 * write and cut the file at any of them (SQLite's aSyscall[] idea).
 */
struct ls_qf_io {
	ssize_t (*pwrite)(int fd, const void *p, size_t n, off_t off);
	ssize_t (*pread)(int fd, void *p, size_t n, off_t off);
	int (*fdatasync)(int fd);
	int (*ftruncate)(int fd, off_t len);
};
extern const struct ls_qf_io *ls_qf_io;

struct ls_qf {
	char *path;
	int fd;
	bool reliable;	       /* fdatasync records and headers (reliable(yes)) */
	int64_t max;	       /* disk-buf-size(): the ring ends here */
	int64_t file_size;     /* bytes the file has (truncated when empty) */
	double truncate_ratio; /* truncate-size-ratio(): shrink when it saves this much of max */
	uint64_t gen;	       /* generation of the newest header slot */
	int64_t safe_off;      /* the chain start the newest written header names */
	uint64_t safe_seq;
	int64_t ack_off; /* first record not acknowledged (backlog head) */
	uint64_t ack_seq;
	int64_t read_off; /* next record to read */
	uint64_t read_seq;
	int64_t write_off; /* where the next record goes */
	uint64_t write_seq;
	bool dirty;	       /* acknowledgements not yet in a header */
	bool unsynced;	       /* records written since the last fdatasync */
	uint64_t synced_seq;   /* records before this seq are durable (reliable) */
	struct ls_qf_job *job; /* the group-commit thread (diskq.c), or NULL */
	int64_t *ends;	       /* where each read, unacknowledged record ends (ring) */
	size_t eh, en, ecap;
	bool ends_lost; /* a grow failed: acks walk the file until none is read */
	char *rec;	/* scratch for one record */
	size_t rec_cap;
	int64_t bad_off; /* load: where the chain ended on damage, else -1 */
};

/*
 * Open or create path as a ring of max bytes (at least 2 * LS_QF_RESERVED).
 * An existing file is walked from its newest valid header: every record that
 * follows in sequence is queued again (reliable: the unacknowledged backlog
 * too). A file that has records keeps the size it was made with. Returns 0
 * (q->bad_off >= 0 when a damaged record ended the walk early: the records
 * after it are skipped; the caller reports path and offset) or a negative
 * errno with e filled (no valid header, cannot open).
 */
int ls_qf_open(struct ls_qf *q, const char *path, int64_t max, bool reliable, double ratio,
	       struct ok_err *e);
/* Append one record: 0, -ENOSPC when the ring has no room, or -errno. */
int ls_qf_push(struct ls_qf *q, const void *p, uint32_t len);
/* The next unread record into q->rec: its length, 0 when none is left, -EIO on damage. */
ssize_t ls_qf_read(struct ls_qf *q);
/* The one unread record (the one just pushed) counts as read: the caller
 * kept it in memory, so it is not read back (3.38's qout fast path). */
void ls_qf_read_skip(struct ls_qf *q);
/* Mark the oldest n read records acknowledged (their space is freed at the next sync). */
void ls_qf_ack(struct ls_qf *q, uint64_t n);
/* Records in the file not yet acknowledged / not yet read. */
static inline uint64_t ls_qf_length(const struct ls_qf *q)
{
	return q->write_seq - q->ack_seq;
}
static inline uint64_t ls_qf_unread(const struct ls_qf *q)
{
	return q->write_seq - q->read_seq;
}
/* Bytes free for new records (as syslog-ng's qdisk_get_empty_space). */
int64_t ls_qf_empty_space(const struct ls_qf *q);
/*
 * Make what was written durable: reliable: fdatasync the records; then, when
 * acknowledgements moved, write the other header slot (reliable: and
 * fdatasync it) and let the freed space be reused. An empty ring restarts
 * at LS_QF_RESERVED and the file is truncated by truncate-size-ratio().
 * Returns 0 or -errno.
 */
int ls_qf_sync(struct ls_qf *q);
/*
 * Group commit (reliable(yes)): the same work as ls_qf_sync() for every
 * record pushed and every acknowledgement made so far, done by a sync thread
 * while the caller goes on pushing. ls_qf_sync_start() hands the job over
 * when records wait for their fdatasync (acknowledgements ride along); a
 * job for acknowledgements alone (a header slot) only when idle or when
 * the ring is more than half full, so that a job never holds back the
 * records read right after it started:
 * 1 started, 0 nothing to do or a job still in flight, or -errno (no
 * thread). ls_qf_sync_done() applies a finished job (q->synced_seq moves,
 * freed space becomes reusable): 1 applied, 0 none finished, or the job's
 * -errno (its records and header are tried again by the next job).
 * ls_qf_sync_fd() is readable when a job has finished (-1: no thread).
 * Non-reliable queues never fsync: start does ls_qf_sync() at once.
 * ls_qf_sync() and ls_qf_close() wait for a job in flight first.
 */
int ls_qf_sync_start(struct ls_qf *q, bool idle);
int ls_qf_sync_done(struct ls_qf *q);
int ls_qf_sync_fd(const struct ls_qf *q);
bool ls_qf_sync_busy(const struct ls_qf *q);
/* Sync and close (the file stays for the next start). */
void ls_qf_close(struct ls_qf *q);
#ifndef NDEBUG
void ls_qf_assert_ok(const struct ls_qf *q);
#else
#define ls_qf_assert_ok(q) ((void)0)
#endif

#endif
