/*
 * grow.c: the `mdraid grow` verb (also `mdraid --grow`, mdadm's spelling):
 * options and help declared once, then one call into reshape.h, printing
 * and the exit code. No storage code here.
 *
 * Messages follow mdadm where mdadm has one ("Need to backup 384K of
 * critical section..", "restoring critical section"); the rest say what
 * was decided and, when stopped, how to continue.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "progress.h"
#include "grow.h"
#include "mdraid.h"
#include "reshape.h"
#include "serve.h"

static const char grow_help[] =
    "usage: mdraid grow --raid-devices=N [--backup-file=F] [--force] [--dry-run] MEMBER... "
    "NEW-MEMBER...\n"
    "       mdraid grow --chunk=SIZE MEMBER...\n"
    "       mdraid grow --level=6 --layout=preserve MEMBER... NEW-MEMBER\n"
    "       mdraid grow --layout=NAME|normalise MEMBER...\n"
    "       mdraid grow --size=max|KiB MEMBER...\n"
    "       mdraid grow --raid-devices=N --array-size=KiB MEMBER...\n"
    "       mdraid grow --continue [--backup-file=F] MEMBER...\n"
    "       mdraid --grow --raid-devices=N [--backup-file=F] MEMBER... NEW-MEMBER...\n"
    "\n"
    "Grow a RAID6 or RAID5 array offline by adding members, in the Linux md\n"
    "on-disk format: the content stays the same, the array size becomes\n"
    "(N-2)*size (RAID5: (N-1)*size). MEMBERs are the array's members (files or\n"
    "block devices, any order); NEW-MEMBERs are the disks to add (those without\n"
    "this array's superblock; they take the new slots in the order given).\n"
    "\n"
    "Where the critical section (the first stripes, which cannot be protected\n"
    "by a superblock checkpoint) goes, as mdadm decides:\n"
    "  no --backup-file, members have head-room before the data:\n"
    "      data_offset moves down (NEW_OFFSET); no backup needed.\n"
    "  --backup-file=F: the critical section is saved to F (mdadm's\n"
    "      md_backup_data-1 format); F must not exist nor sit on a member.\n"
    "  neither (always for metadata 1.0 and 0.90): saved on the new members.\n"
    "Metadata 0.90 arrays have no data offset to move: they always take a\n"
    "backup, and carry minor version 91 while the grow is under way.\n"
    "\n"
    "Every md layout but DDF's is grown in place (RAID5 0-5, RAID6 0-5 and the\n"
    "-6 layouts 16-20 a RAID5 -> RAID6 conversion leaves). An internal\n"
    "write-intent bitmap is kept: it covers each member's own sectors, which a\n"
    "grow does not change; its events follow the superblocks' and the new\n"
    "members get a copy. Refused, with nothing written: other level\n"
    "and layout changes, PPL or journal, a dirty or\n"
    "rebuilding array, members that read or write would refuse (truncated,\n"
    "mounted, held,\n"
    "backing a loop device).\n"
    "\n"
    "--chunk=SIZE changes the chunk at constant raid-devices (RAID6 and RAID5,\n"
    "metadata 1.x): as mdadm 4.2 without --backup-file, data_offset moves by\n"
    "at least backup_blocks / data disks towards the side with more room,\n"
    "to the offset mdadm's choose_offset picks: down, and the reshape runs\n"
    "forwards, or up (more room after the data than before it), and it runs\n"
    "backwards from the end (RESHAPE_BACKWARDS), checkpointed either way. What\n"
    "mdadm would do otherwise is refused: an in-place reshape with a sliding\n"
    "backup file (no room, metadata 0.90, --backup-file), a move down on 1.0,\n"
    "a size the new chunk does not divide, chunk and raid-devices together.\n"
    "--layout=NAME changes the layout at constant raid-devices the same way\n"
    "(normalise: a RAID6 -6 layout becomes the plain one, as mdadm's).\n"
    "--level=6 --layout=preserve converts a RAID5 of N members to a RAID6 of N+1\n"
    "as mdadm 4.2 does: the layout becomes the RAID5 layout's -6 form (data and\n"
    "P stay, Q on the new member, no restripe); the superblocks change level,\n"
    "then Q is computed onto the new member with recovery_offset checkpoints the\n"
    "kernel continues. Without --layout, as mdadm 4.2: that conversion, then a\n"
    "restripe into the plain RAID6 layout of the same number (the -6 dropped,\n"
    "as --layout=normalise). Refused: other layouts, more members, a bitmap,\n"
    "0.90.\n"
    "--raid-devices=N below the current count shrinks the array, as mdadm 4.2 +\n"
    "md: --array-size=S (KiB, at most (N-2)*size, RAID5 (N-1)*size) is required\n"
    "with it (mdadm's --grow --array-size first, which md keeps in memory only)\n"
    "and the data above S is lost. data_offset moves up by backup_blocks / old\n"
    "data disks (a member short of room gets data_size = max first, as mdadm)\n"
    "and the reshape runs backwards from the end, checkpointed; the removed\n"
    "members stay as spares. Refused: metadata 1.0/0.90 or --backup-file\n"
    "(mdadm's in-place shrink), no room after the data, a bitmap, degraded.\n"
    "--size=max (or KiB) after every member was enlarged: data_size and size\n"
    "as mdadm 4.2 + the kernel set them, then P/Q of the added stripes computed\n"
    "(md's resync of the new space, resync_offset checkpoints the kernel\n"
    "continues); the same command finishes a stopped one. Refused: with other\n"
    "changes, shrinking, metadata 1.0/0.90, a bitmap, a degraded array.\n"
    "A block of an old member that fails to read is rebuilt from P/Q; the grow\n"
    "goes on and reports such blocks at the end.\n"
    "\n"
    "The grow checkpoints its position in the superblocks as the kernel does.\n"
    "SIGINT or SIGTERM stop it at the next checkpoint; `mdraid grow --continue`\n"
    "(or the same grow command again) resumes, and so does the kernel once the\n"
    "critical section is past. --continue also finishes a grow the kernel\n"
    "started and was stopped in. A kill inside the first superblock round\n"
    "leaves members with different raid_disks, which mdadm refuses to assemble:\n"
    "only `mdraid grow --continue` (all members) finishes that (mdraid(1),\n"
    "CRASH SAFETY).\n";

/* After the option list. */
static const char grow_footer[] =
    "Environment: MDADM_GROW_ALLOW_OLD=1 accepts a backup whose time does not\n"
    "match the superblocks (as mdadm).\n"
    "\n"
    "Exit status: 0 grown (or nothing to do), 1 stopped by a signal at a\n"
    "checkpoint, 2 usage, 3 bad superblocks, 4 I/O error, 5 refused (nothing\n"
    "written).\n";

enum {
	OPT_BACKUP = 256,
	OPT_CONTINUE,
	OPT_FORCE,
	OPT_DRY_RUN,
	OPT_PROGRESS,
	OPT_MEM,
	OPT_GROW,
	OPT_STOP_AFTER,
	OPT_CRASH,
	OPT_CHUNK,
	OPT_LEVEL,
	OPT_LAYOUT,
	OPT_SIZE,
	OPT_ARRAY_SIZE
};

static const struct cli_opt grow_opts[] = {
    {NULL, 0, 0, 0, NULL, "Options:"},
    {"raid-devices", 'n', CLI_ARG, 'n', "N",
     "members after the grow (fewer: a shrink, with\n--array-size)"},
    {"chunk", 'c', CLI_ARG, OPT_CHUNK, "SIZE",
     "new chunk, 4K..64M, power of two (a bare number is\nKiB); raid-devices unchanged"},
    {"level", 'l', CLI_ARG, OPT_LEVEL, "L",
     "6 (or raid6): RAID5 -> RAID6, one new member for Q\n(with --layout=preserve); other levels "
     "refused"},
    {"layout", 0, CLI_ARG, OPT_LAYOUT, "L",
     "with --level=6: preserve (or the -6 name); alone: a\nlayout change (a name, or "
     "normalise for RAID6 -6)"},
    {"size", 'z', CLI_ARG, OPT_SIZE, "S",
     "max (all the room each member has) or KiB per member\n(K/M/G/T suffixes): the "
     "component size grows"},
    {"array-size", 0, CLI_ARG, OPT_ARRAY_SIZE, "S",
     "with a smaller --raid-devices: the array size (KiB,\nK/M/G/T) the shrink truncates to "
     "(mdadm's\n--grow --array-size first); data above it is lost"},
    {"backup-file", 0, CLI_ARG, OPT_BACKUP, "F",
     "save the critical section to F (created, O_EXCL);\nwith --continue: the backup to "
     "restore from"},
    {"continue", 0, CLI_FLAG, OPT_CONTINUE, NULL,
     "resume an interrupted grow from the on-disk state"},
    {"force", 0, CLI_FLAG, OPT_FORCE, NULL,
     "overwrite another array's superblock on a new member;\ngrow a degraded array (members "
     "named 'missing');\nstale members as mdadm --assemble --force"},
    {"dry-run", 0, CLI_FLAG, OPT_DRY_RUN, NULL,
     "print what --force would write to stale members\n(mdadm --assemble --force's choice) and "
     "stop;\nnothing is written"},
    {"progress", 0, CLI_FLAG, OPT_PROGRESS, NULL,
     "report progress even when stderr is not a terminal"},
    {"quiet", 'q', CLI_FLAG, 'q', NULL, "no progress meter"},
    {"mem", 0, CLI_ARG, OPT_MEM, "SIZE", "buffer memory (default 64M)"},
    {"grow", 0, CLI_FLAG, OPT_GROW, NULL, "mdadm's spelling: mdraid --grow ... is mdraid grow ..."},
    {"stop-after", 0, CLI_ARG, OPT_STOP_AFTER, "N",
     "stop as SIGINT would after N checkpoint steps (tests)"},
    {"simulate-crash", 0, CLI_ARG, OPT_CRASH, "WHEN",
     "stop dead, as a power cut, at critical|final|start:K|\nfinal:K (crash tests)"},
    {0},
};

static const struct cli_spec grow_spec = {"mdraid grow", grow_help, grow_opts, 0, grow_footer};

struct grow_ctx {
	struct reshape_opts o;
	enum progress_mode pmode;
	long stop_after;     /* hidden --stop-after=N: raise the stop flag after N steps */
	const char *refused; /* an mdadm reshape option not implemented here */
	int size_set;	     /* --size given (size_sectors 0: max) */
	int restripe;	     /* --level=6 without --layout: then normalise (grow_main) */
	uint64_t size_sectors;
	struct progress meter;
	int meter_on;
};

static volatile sig_atomic_t grow_stop;

static void on_signal(int sig)
{
	(void)sig;
	grow_stop = 1;
}

static int on_opt(void *vctx, int id, const char *arg)
{
	struct grow_ctx *c = vctx;
	uint64_t v;
	switch (id) {
	case 'n':
		if (cli_parse_uint(arg, 2, RESHAPE_MAX_DISKS, &v) < 0)
			return -1;
		c->o.raid_disks = (int)v;
		return 0;
	case OPT_BACKUP:
		if (!*arg)
			return -1;
		c->o.backup_file = arg;
		return 0;
	case OPT_CONTINUE:
		c->o.cont = 1;
		return 0;
	case OPT_FORCE:
		c->o.force = 1;
		return 0;
	case OPT_DRY_RUN:
		c->o.dry_run = 1;
		return 0;
	case OPT_PROGRESS:
		c->pmode = PROGRESS_ON;
		return 0;
	case 'q':
		c->pmode = PROGRESS_OFF;
		return 0;
	case OPT_MEM:
		if (cli_parse_size(arg, 1, &v) < 0 || v < (1u << 20))
			return -1;
		c->o.mem_bytes = (size_t)v;
		return 0;
	case OPT_GROW:
		return 0;
	case OPT_CHUNK:
		if (cli_parse_size(arg, 1024, &v) < 0 || v < 4096 || v > (64u << 20) ||
		    (v & (v - 1)))
			return -1;
		c->o.chunk = (uint32_t)(v / 512);
		return 0;
	case OPT_LEVEL:
		/* mdadm's spellings of the one conversion done: 6, raid6 */
		if (!strcmp(arg, "6") || !strcmp(arg, "raid6")) {
			c->o.level = 6;
			return 0;
		}
		if (!strcmp(arg, "5") || !strcmp(arg, "raid5") || !strcmp(arg, "4") ||
		    !strcmp(arg, "raid4") || !strcmp(arg, "0") || !strcmp(arg, "raid0") ||
		    !strcmp(arg, "1") || !strcmp(arg, "raid1") || !strcmp(arg, "10") ||
		    !strcmp(arg, "raid10")) {
			c->refused = "--level other than 6 (RAID5 -> RAID6)";
			return 0;
		}
		return -1;
	case OPT_LAYOUT:
		if (!*arg)
			return -1;
		c->o.layout = arg;
		return 0;
	case OPT_SIZE:
		/* mdadm's --size: KiB per member (K/M/G/T suffixes), or max */
		c->size_set = 1;
		if (!strcmp(arg, "max")) {
			c->size_sectors = 0;
			return 0;
		}
		if (cli_parse_size(arg, 1024, &v) < 0 || v < 1024 || v % 1024)
			return -1;
		c->size_sectors = v / 512;
		return 0;
	case OPT_ARRAY_SIZE:
		/* mdadm's --array-size: KiB (K/M/G/T suffixes); only with a
		 * shrink (reshape.h: md keeps it in memory only) */
		if (cli_parse_size(arg, 1024, &v) < 0 || v < 1024 || v % 1024)
			return -1;
		c->o.array_size = v / 512;
		return 0;
	case OPT_CRASH:
		if (!strcmp(arg, "critical"))
			c->o.crash_at = RESHAPE_CRASH_CRITICAL;
		else if (!strcmp(arg, "final"))
			c->o.crash_at = RESHAPE_CRASH_FINAL, c->o.crash_write = 1;
		else if (!strncmp(arg, "start:", 6) && cli_parse_uint(arg + 6, 0, 1024, &v) == 0)
			c->o.crash_at = RESHAPE_CRASH_START, c->o.crash_write = (int)v;
		else if (!strncmp(arg, "final:", 6) && cli_parse_uint(arg + 6, 0, 1024, &v) == 0)
			c->o.crash_at = RESHAPE_CRASH_FINAL, c->o.crash_write = (int)v;
		else
			return -1;
		return 0;
	case OPT_STOP_AFTER:
		if (cli_parse_uint(arg, 1, 1u << 30, &v) < 0)
			return -1;
		c->stop_after = (long)v;
		return 0;
	}
	return -1;
}

static void on_progress(void *vctx, uint64_t done, uint64_t total)
{
	struct grow_ctx *c = vctx;
	if (!c->meter_on) {
		progress_start(&c->meter, "grow", total * 512, c->pmode);
		c->meter_on = 1;
	}
	progress_update(&c->meter, done * 512);
	if (c->stop_after && --c->stop_after == 0)
		grow_stop = 1;
}

/* Array sectors reshaped so far: a reshape that moves data_offset up
 * (new_offset > 0: a shrink, a backwards chunk or layout change) counts
 * its position down from the end. */
static uint64_t plan_done(const struct reshape_plan *pl)
{
	return pl->new_offset > 0 ? pl->new_array - pl->position : pl->position;
}

static const char *level_name(int level)
{
	return level == 6 ? "RAID6" : "RAID5";
}

/* Blocks that did not read and were rebuilt from P/Q: the grow went on, as
 * md's reshape does, and said so here, once, at the end. */
static void print_read_errors(const struct reshape *r)
{
	const char *first;
	uint64_t n = reshape_read_errors(r, &first);
	if (n)
		fprintf(stderr,
			"%s: warning: %llu unreadable 4 KiB block%s rebuilt from P/Q (the first at "
			"%s); their data was written in the new layout\n",
			ok_progname, (unsigned long long)n, n == 1 ? "" : "s", first);
}

/* Print the continue command with the members as given. */
static void print_continue_hint(const struct grow_ctx *c, int n, char **members)
{
	fprintf(stderr, "%s: continue with: mdraid grow --continue", ok_progname);
	if (c->o.backup_file)
		fprintf(stderr, " --backup-file=%s", c->o.backup_file);
	for (int i = 0; i < n; i++)
		fprintf(stderr, " %s", members[i]);
	fputc('\n', stderr);
}

/* `grow --size`: the component size change (reshape.h, resize.c). */
static int grow_size(struct grow_ctx *c, int n, char **members)
{
	struct ok_err e;
	struct resize *rs = NULL;
	struct resize_opts o = {.size_sectors = c->size_sectors,
				.force = c->o.force,
				.stop = &grow_stop,
				.progress = on_progress,
				.progress_ctx = c,
				.crash_at = c->o.crash_at,
				.crash_write = c->o.crash_write};
	ok_err_clear(&e);
	if (c->o.crash_at == RESHAPE_CRASH_CRITICAL) {
		fprintf(stderr,
			"%s: --simulate-crash=critical: a size change has no critical section\n",
			ok_progname);
		return OK_EXIT_USAGE;
	}
	int rc = resize_open(&rs, (const char *const *)members, n, &o, &e);
	if (rc == -EALREADY) {
		printf("%s: %s\n", ok_progname, e.msg);
		resize_close(rs);
		return OK_EXIT_OK;
	}
	if (rc < 0) {
		ok_err_print(&e);
		resize_close(rs);
		return ok_exit(&e);
	}
	const struct resize_plan *pl = resize_plan(rs);
	if (pl->resuming)
		fprintf(stderr, "%s: the array is not clean: resyncing from %lluK of each member\n",
			ok_progname, (unsigned long long)pl->resync_from / 2);
	if (pl->new_size != pl->old_size)
		fprintf(stderr,
			"%s: component size %lluK -> %lluK (array %lluK -> %lluK); the added "
			"space is resynced\n",
			ok_progname, (unsigned long long)pl->old_size / 2,
			(unsigned long long)pl->new_size / 2, (unsigned long long)pl->old_array / 2,
			(unsigned long long)pl->new_array / 2);
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	rc = resize_run(rs, &e);
	if (c->meter_on)
		progress_finish(&c->meter);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (rc == -EINTR) {
		fprintf(stderr,
			"%s: stopped at a checkpoint: resynced up to %lluK of each member (the "
			"kernel or the same command finishes it)\n",
			ok_progname, (unsigned long long)pl->position / 2);
		resize_close(rs);
		return OK_EXIT_FAIL;
	}
	if (rc == -ECANCELED) { /* --simulate-crash */
		ok_err_print(&e);
		resize_close(rs);
		return OK_EXIT_FAIL;
	}
	if (rc < 0) {
		ok_err_print(&e);
		fprintf(stderr,
			"%s: the size change stopped; the kernel resyncs the rest at assembly, "
			"or run the same command again\n",
			ok_progname);
		resize_close(rs);
		return ok_exit(&e);
	}
	/* mdadm's words */
	if (pl->new_size == pl->old_size)
		printf("%s: component size unchanged at %lluK\n", ok_progname,
		       (unsigned long long)pl->new_size / 2);
	else
		printf("%s: component size has been set to %lluK\n", ok_progname,
		       (unsigned long long)pl->new_size / 2);
	resize_close(rs);
	return OK_EXIT_OK;
}

static int grow_run(struct grow_ctx *cp, int n, char **members, int *takeover);

int grow_main(int argc, char **argv, size_t mem_bytes)
{
	struct grow_ctx c = {.pmode = PROGRESS_AUTO};
	int first = cli_parse(&grow_spec, argc, argv, on_opt, &c);
	ok_progname = "mdraid";
	int n = argc - first;
	char **members = argv + first;
	if (n < 1)
		cli_usage_error(&grow_spec, "no members given");
	if (c.refused) {
		fprintf(stderr,
			"%s: %s is not supported by mdraid grow (raid-devices and chunk changes "
			"only); nothing was written\n",
			ok_progname, c.refused);
		return OK_EXIT_REFUSED;
	}
	if (c.size_set && (c.o.raid_disks || c.o.chunk || c.o.level || c.o.layout || c.o.cont)) {
		/* mdadm 4.2 Grow_reshape, word for word */
		fprintf(stderr,
			"%s: cannot change component size at the same time as other "
			"changes.\n   Change size first, then check data is intact before "
			"making other changes.\n",
			ok_progname);
		return OK_EXIT_REFUSED;
	}
	if (c.o.array_size && (c.size_set || !c.o.raid_disks || c.o.cont)) {
		fprintf(
		    stderr,
		    "%s: --array-size is only taken with a shrinking --raid-devices: md keeps it "
		    "in memory, nothing on disk records it\n",
		    ok_progname);
		return OK_EXIT_REFUSED;
	}
	if (c.size_set && c.o.dry_run) {
		fprintf(stderr, "%s: --dry-run is not supported with --size\n", ok_progname);
		return OK_EXIT_USAGE;
	}
	if (c.size_set) {
		if (!c.o.mem_bytes)
			c.o.mem_bytes = mem_bytes;
		return grow_size(&c, n, members);
	}
	if (!c.o.cont && !c.o.raid_disks && !c.o.chunk && !c.o.level && !c.o.layout)
		cli_usage_error(&grow_spec, "--raid-devices=N, --chunk=SIZE, --level=6, --layout=L "
					    "(or --continue) is required");
	if (!c.o.mem_bytes)
		c.o.mem_bytes = mem_bytes;
	c.o.stop = &grow_stop;
	c.o.progress = on_progress;
	c.o.progress_ctx = &c;
	/* --level=6 without --layout: mdadm 4.2's analyse_change keeps the
	 * RAID5 layout's number (after.layout = array.layout), so a RAID5 in
	 * left-symmetric becomes a RAID6 in left-symmetric: the level change
	 * into the -6 form (before.layout), then a restripe into the plain
	 * layout at the same data disks. Here: the conversion, then
	 * --layout=normalise, each crash-safe on its own; the state between
	 * (RAID6 -6, clean) is one mdadm also leaves when stopped there, and
	 * on it mdadm --grow --level=6 finds nothing to change, as we do. */
	if (c.o.level == 6 && !c.o.layout && !c.o.cont) {
		int tk = 0;
		c.o.layout = "preserve";
		c.restripe = 1;
		int rc = grow_run(&c, n, members, &tk);
		if (rc != OK_EXIT_OK || !tk)
			return rc;
		c.o.level = 0;
		c.o.raid_disks = 0;
		c.o.layout = "normalise";
		return grow_run(&c, n, members, NULL);
	}
	return grow_run(&c, n, members, NULL);
}

/* One reshape_open + reshape_run with the options in c, printing as mdadm;
 * *takeover (may be NULL) says whether it was a RAID5 -> RAID6 conversion. */
static int grow_run(struct grow_ctx *cp, int n, char **members, int *takeover)
{
	struct ok_err e;
	struct reshape *r = NULL;
	ok_err_clear(&e);

	int rc = reshape_open(&r, (const char *const *)members, n, &cp->o, &e);
	if (rc == 1) { /* --dry-run: --force's choice, as the other verbs print it */
		md_forced_print(reshape_forced(r), "would: ");
		ok_warn("--dry-run: %s",
			*reshape_forced(r) ? "nothing written" : "no member needs forcing");
		reshape_close(r);
		return OK_EXIT_OK;
	}
	if (rc == -EALREADY) {
		printf("%s: %s: nothing to do\n", ok_progname, e.msg);
		reshape_close(r);
		return OK_EXIT_OK;
	}
	if (rc < 0) {
		ok_err_print(&e);
		reshape_close(r);
		return ok_exit(&e);
	}
	md_forced_print(reshape_forced(r), ""); /* what --force did, as mdadm prints it */
	const struct reshape_plan *pl = reshape_plan(r);
	if (pl->unchecked)
		fprintf(stderr,
			"%s: warning: too many members missing to check by parity that the kernel "
			"did not reshape past reshape_position %llu (a reshape stopped while "
			"running); continuing from there as recorded\n",
			ok_progname, (unsigned long long)pl->recorded);
	if (pl->frontier) /* reshape.c torn_check: the kernel went past its record */
		fprintf(stderr,
			"%s: the kernel reshaped past its recorded reshape_position %llu: every "
			"stripe %s array sector %llu is in the new geometry (parity right in "
			"it, wrong in the old one), old data %s; continuing from %llu\n",
			ok_progname, (unsigned long long)pl->recorded,
			pl->position < pl->recorded ? "from" : "up to",
			(unsigned long long)pl->position,
			pl->position < pl->recorded ? "below it" : "from there on",
			(unsigned long long)pl->position);
	if (takeover)
		*takeover = pl->takeover;
	if (pl->takeover && cp->restripe && pl->new_layout >= 16)
		fprintf(stderr,
			"%s: without --layout, as mdadm 4.2: RAID6 %s first, then a restripe "
			"into %s\n",
			ok_progname, md_layout_name(6, pl->new_layout),
			md_layout_name(6, pl->new_layout - 16));
	if (pl->takeover && pl->resuming) {
		fprintf(stderr,
			"%s: continuing RAID5 -> RAID6 (%s, %d members): %s Q onto %d at "
			"%lluK\n",
			ok_progname, md_layout_name(6, pl->new_layout), pl->new_disks,
			pl->level_round ? "level round, then" : "computing", pl->new_disks - 1,
			(unsigned long long)pl->recovered / 2);
	} else if (pl->takeover) {
		fprintf(stderr,
			"%s: converting RAID5 (%d members) to RAID6 %s (%d members): Q is computed "
			"onto the new member, no data moves\n",
			ok_progname, pl->old_disks, md_layout_name(6, pl->new_layout),
			pl->new_disks);
	} else if (pl->finish_only) {
		fprintf(stderr,
			"%s: finishing the reshape to %d members, chunk %uK (final "
			"superblock round)\n",
			ok_progname, pl->new_disks, pl->new_chunk / 2);
	} else if (pl->resuming && pl->layout != pl->new_layout) {
		fprintf(stderr,
			"%s: continuing the layout change %s -> %s at array sector %llu "
			"(%.1f%%)\n",
			ok_progname, md_layout_name(pl->level, pl->layout),
			md_layout_name(pl->level, pl->new_layout), (unsigned long long)pl->position,
			100.0 * (double)plan_done(pl) / (double)pl->new_array);
	} else if (pl->resuming && pl->chunk != pl->new_chunk) {
		fprintf(stderr,
			"%s: continuing the chunk change %uK -> %uK at array sector %llu "
			"(%.1f%%)\n",
			ok_progname, pl->chunk / 2, pl->new_chunk / 2,
			(unsigned long long)pl->position,
			100.0 * (double)plan_done(pl) / (double)pl->new_array);
	} else if (pl->resuming && pl->new_disks < pl->old_disks) {
		fprintf(stderr,
			"%s: continuing the shrink %d -> %d (backwards) at array sector %llu "
			"(%.1f%%)\n",
			ok_progname, pl->old_disks, pl->new_disks, (unsigned long long)pl->position,
			100.0 * (double)(pl->new_array - pl->position) / (double)pl->new_array);
	} else if (pl->resuming) {
		fprintf(stderr, "%s: continuing the grow %d -> %d at array sector %llu (%.1f%%)\n",
			ok_progname, pl->old_disks, pl->new_disks, (unsigned long long)pl->position,
			100.0 * (double)pl->position / (double)pl->new_array);
		if (pl->restore_backup)
			printf("%s: restoring critical section\n", ok_progname);
	} else if (pl->chunk != pl->new_chunk || pl->layout != pl->new_layout) {
		if (pl->chunk != pl->new_chunk)
			fprintf(stderr, "%s: changing the chunk of %s (%d members) %uK -> %uK\n",
				ok_progname, level_name(pl->level), pl->old_disks, pl->chunk / 2,
				pl->new_chunk / 2);
		else
			fprintf(stderr, "%s: changing the layout of %s (%d members) %s -> %s\n",
				ok_progname, level_name(pl->level), pl->old_disks,
				md_layout_name(pl->level, pl->layout),
				md_layout_name(pl->level, pl->new_layout));
		fprintf(stderr,
			"%s: data moves from offset %llu to %llu sectors%s (no backup needed)\n",
			ok_progname, (unsigned long long)pl->data_offset,
			(unsigned long long)(pl->data_offset + (uint64_t)pl->new_offset),
			pl->new_offset > 0 ? ", backwards" : "");
	} else if (pl->new_disks < pl->old_disks) {
		fprintf(stderr,
			"%s: shrinking %s %d -> %d members, chunk %uK: array %lluK -> %lluK (the "
			"data above %lluK is lost)\n",
			ok_progname, level_name(pl->level), pl->old_disks, pl->new_disks,
			pl->chunk / 2, (unsigned long long)pl->old_array / 2,
			(unsigned long long)pl->new_array / 2,
			(unsigned long long)cp->o.array_size / 2);
		fprintf(stderr,
			"%s: data moves from offset %llu to %llu sectors, backwards (no backup "
			"needed)\n",
			ok_progname, (unsigned long long)pl->data_offset,
			(unsigned long long)(pl->data_offset + (uint64_t)pl->new_offset));
	} else {
		fprintf(
		    stderr, "%s: growing %s %d -> %d members, chunk %uK: array %lluK -> %lluK\n",
		    ok_progname, level_name(pl->level), pl->old_disks, pl->new_disks, pl->chunk / 2,
		    (unsigned long long)pl->old_array / 2, (unsigned long long)pl->new_array / 2);
		if (pl->method == RESHAPE_NEW_OFFSET)
			fprintf(
			    stderr,
			    "%s: data moves from offset %llu to %llu sectors (no backup needed)\n",
			    ok_progname, (unsigned long long)pl->data_offset,
			    (unsigned long long)(pl->data_offset - (uint64_t)(-pl->new_offset)));
		else
			fprintf(stderr, "%s: Need to backup %lluK of critical section..\n",
				ok_progname, (unsigned long long)pl->backup_blocks / 2);
		if (pl->method == RESHAPE_BACKUP_MEMBER)
			fprintf(stderr,
				"%s: no head-room before the data: the backup goes on the new "
				"members\n",
				ok_progname);
	}
	fflush(stdout);

	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	rc = reshape_run(r, &e);
	if (cp->meter_on)
		progress_finish(&cp->meter);
	cp->meter_on = 0;
	print_read_errors(r);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	if (rc == -EINTR) {
		uint64_t at = reshape_position(r);
		fprintf(stderr,
			"%s: grow stopped at a checkpoint: array sector %llu of %llu (%.1f%%%s)\n",
			ok_progname, (unsigned long long)at, (unsigned long long)pl->new_array,
			100.0 * (double)(pl->new_offset > 0 ? pl->new_array - at : at) /
			    (double)pl->new_array,
			pl->new_offset > 0 ? ", backwards" : "");
		print_continue_hint(cp, n, members);
		reshape_close(r);
		return OK_EXIT_FAIL;
	}
	if (rc == -ECANCELED) {
		ok_err_print(&e);
		reshape_close(r);
		return OK_EXIT_FAIL;
	}
	if (rc < 0) {
		ok_err_print(&e);
		fprintf(stderr, "%s: the grow stopped; the members hold the last checkpoint\n",
			ok_progname);
		print_continue_hint(cp, n, members);
		reshape_close(r);
		return ok_exit(&e);
	}
	/* a second phase (--layout=normalise) counts --simulate-crash's K on */
	cp->o.crash_count = reshape_crash_count(r);
	if (pl->takeover)
		printf("%s: level changed to RAID6 (%s, %d members): array size %lluK\n",
		       ok_progname, md_layout_name(6, pl->new_layout), pl->new_disks,
		       (unsigned long long)pl->new_array / 2);
	else if (pl->layout != pl->new_layout)
		printf("%s: layout changed to %s: array size %lluK\n", ok_progname,
		       md_layout_name(pl->level, pl->new_layout),
		       (unsigned long long)pl->new_array / 2);
	else if (pl->chunk != pl->new_chunk)
		printf("%s: chunk changed to %uK: array size %lluK\n", ok_progname,
		       pl->new_chunk / 2, (unsigned long long)pl->new_array / 2);
	else if (pl->new_disks < pl->old_disks)
		printf("%s: shrunk to %d members: array size %lluK (was %lluK); %d spare%s\n",
		       ok_progname, pl->new_disks, (unsigned long long)pl->new_array / 2,
		       (unsigned long long)pl->old_array / 2, pl->old_disks - pl->new_disks,
		       pl->old_disks - pl->new_disks == 1 ? "" : "s");
	else
		printf("%s: grown to %d members: array size %lluK (was %lluK)\n", ok_progname,
		       pl->new_disks, (unsigned long long)pl->new_array / 2,
		       (unsigned long long)pl->old_array / 2);
	reshape_close(r);
	return OK_EXIT_OK;
}
