/*
 * member.h: the member layer. Every verb that touches the members of an
 * array (read, write, check, repair, rebuild, detail through array.c and
 * rw.c; grow through reshape.c) opens, checks, selects, reads, writes and
 * syncs them through this one API, so that they refuse the same members
 * for the same reasons and run their I/O the same way.
 *
 * Layering: member.c calls only the superblock core (superblock.c,
 * super0.c, bitmap.c), safety.c and lib/io.h; nothing here knows an array's
 * geometry, windows or reshape. All member I/O goes through lib/io.h's
 * io_sys table, so tests inject EIO, short writes and kill points.
 *
 * Invariants of a struct md_member (mdraid.h) between these calls:
 *   (1) fd >= 0 exactly while the member is open; fd_buf is -1 or a second,
 *       buffered descriptor of the same file for unaligned I/O;
 *   (2) has_sb: sb holds a superblock with a right checksum (what
 *       md_members_select weighs); a member the array then uses has also
 *       passed md_member_check_sb (bm and bb loaded from it).
 *
 * Divisions of member.c: opening and load checks; member I/O and the
 * bad-block log; selection; forced assembly; parallel jobs; the memory
 * budget.
 */
#ifndef MDRAID_MEMBER_H
#define MDRAID_MEMBER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "err.h"
#include "mdraid.h"

/* ---- opening and load checks ---- */

/*
 * Open m->path (m->fd and m->fd_buf must be -1) as every verb does: O_DIRECT
 * when the file system has it (unless MD_OPEN_NO_DIRECT), O_EXCL on block
 * devices, a flock (LOCK_EX with MD_OPEN_WRITE, else LOCK_SH) so two mdraid
 * runs cannot interleave, then md_safety_check (member of a running md
 * array, held, mounted, backing a loop device) unless MD_OPEN_NO_SAFETY.
 * Fills fd, direct, dev_sectors. -EBUSY: held; other -errno from the
 * system; e names the path. On an error fd may be open: md_member_close.
 */
int md_member_open(struct md_member *m, unsigned flags, struct ok_err *e);

/*
 * After m->sb is read (md_sb_read): the kernel's load checks (md_sb_validate
 * against m->dev_sectors: a truncated member fails "data_offset + data_size
 * is beyond the device"), then the bitmap superblock and the bad-block log
 * read and checked to lie inside the device (m->bm, m->bb filled).
 * -EINVAL with e.
 */
int md_member_check_sb(struct md_member *m, struct ok_err *e);

/* Close both descriptors and free the bad-block list; safe to repeat. */
void md_member_close(struct md_member *m);

/* ---- member I/O ---- */

/*
 * The descriptor for len bytes at byte off of buf: fd when the transfer is
 * aligned for O_DIRECT (or fd is buffered), else fd_buf, opened on first
 * need (O_RDWR when write). -1 with errno when it cannot be opened.
 */
int md_member_fd(struct md_member *m, const void *buf, size_t len, uint64_t off, bool write);

/* len bytes at absolute device byte dev_byte, read whole or failed: 0,
 * -errno, -EIO for a short read ("member truncated?"); e names path and
 * offset. */
int md_member_read(struct md_member *m, void *buf, size_t len, uint64_t dev_byte, bool write,
		   struct ok_err *e);
/* len bytes written whole at dev_byte: 0 or -errno with e. A member
 * opened read-only (check rewriting a block that did not read, failing a
 * member) is written through a descriptor of its own, opened and closed
 * for this write. */
int md_member_write(struct md_member *m, const void *buf, size_t len, uint64_t dev_byte,
		    struct ok_err *e);

/*
 * The iovcnt buffers of iov written whole, one after the other, from
 * dev_byte (grow writes a new row's data chunks straight from the old rows
 * they came from, no copy): pwritev of up to IOV_MAX buffers per call when
 * every buffer is O_DIRECT aligned and io_sys holds the real system calls;
 * otherwise gathered into gather (room for the total, IO_ALIGN aligned; a
 * buffer may already be at its place there, others must not overlap it) and
 * written with md_member_write, so that a test's io_sys sees the same one
 * write per member as before. 0 or -errno with e.
 */
int md_member_writev(struct md_member *m, const struct iovec *iov, int iovcnt, uint64_t dev_byte,
		     void *gather, struct ok_err *e);

/* Encode and write m->sb at its place (md_sb_write), through m->fd or,
 * when that is read-only, a descriptor of its own. 0 or -errno with e. */
int md_member_sb_write(struct md_member *m, struct ok_err *e);

/*
 * Record device sectors [sector, sector+n) of m as bad: the entry is added
 * to m->bb (so reads avoid it from now on), the member's bad-block log
 * rewritten (le64 sector<<10 | count, shifted by bblog_shift, all ones after
 * the last) and its superblock written with feature BAD_BLOCKS, both through
 * a descriptor of its own (the array may be open read-only). The events
 * count is not bumped (the array's state is unchanged).
 * -ENOSPC: no log on the member (0.90, bblog_size 0) or the log is full.
 */
int md_member_badblock(struct md_member *m, uint64_t sector, uint64_t n, struct ok_err *e);

/* ---- selection ---- */

/*
 * Which members form the array, as mdadm --assemble and the kernel choose:
 * among members with has_sb, the array uuid most of them carry; among the
 * members with that uuid whose own role is a data slot (not spare, faulty,
 * journal), the one with the most events is the reference whose
 * superblock speaks for the array (super_1_validate takes the roles from
 * it). Returns its index; -ENOENT no member has a superblock; -EINVAL two
 * uuids tie for the majority; -ENODEV the majority holds only spares.
 * e says which.
 */
int md_members_select(const struct md_member *m, int n, struct ok_err *e);

/* ---- forced assembly (mdadm --assemble --force) ---- */

/*
 * What mdadm 4.2's Assemble.c would do to start the array from members
 * whose events diverge (kicked one after another): md_members_force_plan
 * decides, md_members_force_apply writes it. Both verbs that read and
 * verbs that write assemble through this, so each chooses the same members.
 *
 * The rules (Assemble.c, cited per field):
 *   - load_devices: mdadm's device index of a member is its place among the
 *     given members of the array (superblock with the array's uuid);
 *     most_recent is the member with the most events whose own role is a
 *     data slot; best[slot] is the freshest member claiming that slot
 *     (ties: the first given).
 *   - Assemble(): a best[] member within one event of most_recent is up to
 *     date; its slot counts as available when it is fully in sync
 *     (no recovery_offset).
 *   - force_array(): while enough() (RAID5: raid_disks-1 slots, RAID6:
 *     raid_disks-2, the clean rule) fails, the not-up-to-date best[] member
 *     of a data slot with the most events (ties: the lowest slot; members
 *     mid-recovery or with another reshape state skipped) gets most_recent's
 *     events ("force-one"), and with it every other such member of the same
 *     events ("If there are any other drives of the same vintage, add them
 *     in as well"). mdadm 4.2 marks avail[] at the chosen member's device
 *     index, not its slot (avail[chosen_drive] = 1); for members given in
 *     slot order that is the same thing, otherwise mdadm goes on forcing
 *     older members into the array. We count the slot (the rule's intent),
 *     and say so in mdraid(1).
 *   - Assemble() after force_array: chosen_drive, the up-to-date best[]
 *     member of the lowest slot with most_recent's events, gets the roles of
 *     the members in use written into its dev_roles ("assemble"; a role
 *     that was faulty or spare: "clearing FAULTY flag"), and is rewritten
 *     when one changed.
 *   - "force-array": when a member in use is dirty (resync_offset not
 *     MaxSector; 0.90: the clean bit unset) and not every slot is available
 *     (enough() with clean=0), chosen_drive's superblock is marked clean in
 *     the same write. mdadm leaves the other members dirty: the kernel,
 *     whose reference superblock is chosen_drive's (added last, so first in
 *     analyze_sbs), starts the array clean, and rewrites them at the first
 *     write to it. Until then (an array only looked at, or mdraid's case:
 *     no kernel start at all) a plain mdadm --assemble sees a dirty member
 *     and refuses ("not enough to start the array while not clean"), so
 *     mdraid marks every other member in use clean too, after chosen_drive
 *     (mdraid's addition: p->clean).
 * A member stays left out when the array can start without it.
 */
struct md_force_plan {
	int most_recent;	       /* member index: the freshest active member */
	uint64_t events;	       /* its events: what forced members get */
	int nbump;		       /* members forced ("force-one"), in mdadm's order */
	int bump[MD_MAX_MEMBERS];      /* their member indices */
	uint64_t from[MD_MAX_MEMBERS]; /* their events before */
	int chosen;		       /* chosen_drive: roles rewritten, marked clean; -1: none */
	int nclear;		       /* roles rewritten in chosen's superblock */
	int clear[2 * MD_MAX_MEMBERS]; /* the members whose role that is */
	uint16_t clear_was[2 * MD_MAX_MEMBERS]; /* the role chosen's superblock gave them */
	bool mark_clean;	       /* "force-array": chosen marked clean (dirty, degraded) */
	int nclean;		       /* other members in use marked clean after chosen */
	int clean[MD_MAX_MEMBERS];     /* their member indices */
	int nstale;		       /* members neither up to date nor forced */
	int stale[2 * MD_MAX_MEMBERS]; /* their member indices */
	int avail;		       /* slots available before forcing */
	int need;		       /* slots enough() wants */
	bool repair;		       /* mdadm starts a repair next (RAID6 one slot short) */
};

/*
 * Fill p with mdadm --assemble --force's choice for members m[0..n) (has_sb
 * members of the array of m[ref], ref from md_members_select). Returns the
 * number of superblocks the plan writes (nbump, plus 1 if chosen's roles
 * change or it is marked clean, plus nclean): 0 when mdadm would start the
 * array as it is. p->repair says that mdadm 4.2, having forced a RAID6 that
 * is then one slot short, writes "repair" to sync_action once the kernel
 * runs it (start_array: level 6, okcnt + 1 == raid_disks, was_forced):
 * the parity left is checked against the data and rewritten where they
 * disagree; mdraid writes only the superblocks (mdraid repair does the
 * pass). -ENODEV (e says
 * which members are stale and by how many events) when even forcing leaves
 * fewer than p->need slots.
 */
int md_members_force_plan(const struct md_member *m, int n, int ref, struct md_force_plan *p,
			  struct ok_err *e);

/*
 * Carry out plan p on m[i].sb, and with write on the members: each forced
 * member's superblock with the new events (one write each, in p->bump
 * order), then chosen's with the roles and the clean mark, then each of
 * p->clean marked clean. Every write is one superblock, so each prefix is a
 * state md accepts: a forced member is up to date (its own role is a data
 * slot) before any role says so; once chosen's write is done the members
 * are what mdadm --assemble --force leaves (which it and a second --force
 * start), and only after the last is every member clean for a plain
 * mdadm --assemble. Re-running the plan on a prefix finishes it. Without
 * write (--dry-run) nothing is written. 0 or -errno with e.
 */
int md_members_force_apply(struct md_member *m, const struct md_force_plan *p, bool write,
			   struct ok_err *e);

/*
 * Say what p chooses and why, mdadm's wording where it has one, one line
 * per member ("forcing event count in PATH(SLOT) from A up to B", "clearing
 * FAULTY flag for device I in ARRAY for PATH", "Marking array ARRAY as
 * 'clean'", "PATH(SLOT): left out, events A, N behind"), each line ending
 * in '\n', into out (truncated to
 * size). array names the array (mdadm's mddev).
 */
void md_force_plan_text(const struct md_member *m, const struct md_force_plan *p, const char *array,
			char *out, size_t size);

/* ---- parallel jobs ---- */

/*
 * Run fn(ctx, i, e_i) for every i in [0, n) (n <= MD_MAX_MEMBERS), one
 * thread each when parallel is true (members are separate disks: one
 * stream of O_DIRECT requests leaves all but one idle), inline otherwise
 * or when a thread cannot be created. Each job must touch only its own
 * member and buffers. rcs (may be NULL) gets every job's result. Returns 0
 * or the error of the lowest-numbered failed job, with its e.
 */
int md_par_run(int n, bool parallel, int (*fn)(void *ctx, int i, struct ok_err *e), void *ctx,
	       int *rcs, struct ok_err *e);

/*
 * pthread_create with the stack size every mdraid worker uses (1 MiB: the
 * deepest, an in-place rebuild, needs under 64 KiB). glibc keeps up to 40 MiB of
 * stacks of finished threads for reuse; at the default 8 MiB only five fit,
 * and the I/O threads every window and batch starts then cost an mmap,
 * page faults and an munmap each. 0 or an error number, as pthread_create.
 */
int md_thread_start(pthread_t *th, void *(*fn)(void *), void *arg);

/* One transfer (or fdatasync) on one member, for md_io_run. */
enum md_io_kind { MD_IO_READ, MD_IO_WRITE, MD_IO_SYNC, MD_IO_WRITEV };

struct md_io {
	struct md_member *m;
	enum md_io_kind kind;
	void *buf;		 /* MD_IO_WRITEV: md_member_writev's gather */
	uint64_t len;		 /* bytes */
	uint64_t dev_byte;	 /* absolute device byte */
	int rc;			 /* out: 0 or -errno (a short read is -EIO) */
	const struct iovec *iov; /* MD_IO_WRITEV: the buffers, len bytes in all */
	int iovcnt;
};

/* Run the transfers in parallel (one thread per job; small transfers,
 * under 1 MiB, inline: a thread costs more than it saves). Every job runs
 * to the end even when one fails. 0 or the first failed job's error, e
 * naming its member, offset and what failed. */
int md_io_run(struct md_io *io, int n, struct ok_err *e);

/* fdatasync every open member of m[0..n) not marked failed, in parallel;
 * all are synced even after a failure. 0 or the first error. */
int md_members_sync(struct md_member *m, int n, struct ok_err *e);

/* ---- memory budget ---- */

/* The default bound on I/O buffers of one verb. */
#define MD_BUDGET_BYTES (64u << 20)

/*
 * The I/O buffer budget every verb sizes its windows or steps from: want
 * when non-zero (grow's --mem, or MDRAID_MEM_MIB, which main.c reads: a
 * user and benchmark override documented in mdraid(1)), else
 * MD_BUDGET_BYTES.
 */
size_t md_budget_bytes(size_t want);

/*
 * An I/O buffer of n bytes (window rows, a verb's read/write buffer, grow's
 * step buffers), IO_ALIGN aligned and NOT zeroed: every byte used is read or
 * written first. Buffers of 2 MiB and more are 2 MiB aligned and advised
 * MADV_HUGEPAGE, so that faulting them in costs one fault per 2 MiB rather
 * than per 4 KiB (under load the page faults of a degraded read's buffers
 * cost more CPU than its reconstruction). Freed with io_free (free()).
 * NULL when out of memory.
 */
void *md_buf_alloc(size_t n);

#endif
