/*
 * main.c: the mdraid command. One verb per call, options declared once per
 * verb (lib/cli.h), each verb one library call (mdraid.h), then printing
 * and the exit code. No storage logic lives here.
 *
 *   mdraid create --level=6 --raid-devices=N [options] MEMBER...
 *   mdraid examine [--brief] MEMBER...
 *   mdraid detail [--brief] MEMBER...
 *   mdraid read [--offset=B] [--length=B] MEMBER...      > data
 *   mdraid write --offset=B MEMBER...                    < data
 *   mdraid check|repair MEMBER...
 *   mdraid rebuild --slot=K NEW MEMBER...
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "io.h"
#include "grow.h"
#include "mdraid.h"
#include "member.h"
#include "serve.h"

enum {
	OPT_LEVEL = 'l',
	OPT_DEVICES = 'n',
	OPT_CHUNK = 'c',
	OPT_METADATA = 'e',
	OPT_NAME = 'N',
	OPT_BITMAP = 'b',
	OPT_SIZE = 'z',
	OPT_FORCE = 'f',
	OPT_BRIEF = 's',
	OPT_LAYOUT = 256,
	OPT_HOMEHOST,
	OPT_ASSUME_CLEAN,
	OPT_OFFSET,
	OPT_LENGTH,
	OPT_SLOT,
	OPT_NO_DIRECT,
	OPT_STOP_AFTER,
	OPT_DRY_RUN,
	OPT_SPARES = 'x',
};

static const char usage_main[] =
    "Usage: mdraid COMMAND [OPTIONS] MEMBER...\n"
    "\n"
    "A user-space Linux md RAID6/RAID5 engine: works on the members (disks or\n"
    "image files) of an md array without the kernel's md driver. Arrays it makes\n"
    "assemble in the kernel; arrays the kernel made are read here.\n"
    "\n"
    "Commands:\n"
    "  create    make a new array (mdadm 4.2 defaults)\n"
    "  examine   print each member's superblock as mdadm --examine does\n"
    "  detail    print the array as mdadm --detail does\n"
    "  read      write the array's content to stdout\n"
    "  write     write stdin into the array at --offset\n"
    "  check     scrub P/Q of every stripe, report mismatches (exit 1 if any)\n"
    "  repair    as check, and rewrite wrong parity\n"
    "  rebuild   rebuild a missing member onto a new disk\n"
    "  grow      add members to the array (reshape; also --grow)\n"
    "  serve     serve the array over NBD (nbdkit with the mdraid plugin)\n"
    "  stop      stop a serve: writes finished, array marked clean\n"
    "  overlay   commit or discard the copy-on-write overlay of serve --overlay\n"
    "\n"
    "A member named 'missing' stands for an absent one. 'mdraid COMMAND --help'\n"
    "describes each command. See mdraid(1).\n"
    "\n"
    "Exit status: 0 ok, 1 mismatches found (check), 2 usage, 3 bad input,\n"
    "4 I/O error, 5 refused for safety (nothing written), 70 internal error.\n";

static const char help_create[] =
    "Usage: mdraid create --level=6 --raid-devices=N [OPTIONS] MEMBER...\n"
    "\n"
    "Create an md array on the members, in slot order, with mdadm 4.2's defaults.\n"
    "Unless --assume-clean, P/Q are written for every stripe before the array is\n"
    "marked clean.\n";

static const struct cli_opt create_opts[] = {
    {"level", 'l', CLI_ARG, OPT_LEVEL, "6|5", "RAID level (default 6)"},
    {"raid-devices", 'n', CLI_ARG, OPT_DEVICES, "N",
     "number of members (4..64 for RAID6, 3..64 for RAID5)"},
    {"chunk", 'c', CLI_ARG, OPT_CHUNK, "SIZE",
     "chunk size, 4K..64M, power of two (default 512K;\na bare number is KiB)"},
    {"layout", 0, CLI_ARG, OPT_LAYOUT, "NAME",
     "left-symmetric (default), right-symmetric,\nleft-asymmetric, right-asymmetric, "
     "parity-first,\nparity-last, and for RAID6 the *-6 layouts"},
    {"parity", 0, CLI_ARG, OPT_LAYOUT, "NAME", "the same as --layout (mdadm's other spelling)"},
    {"metadata", 'e', CLI_ARG, OPT_METADATA, "1.0|1.1|1.2|0.90",
     "superblock version (default 1.2; 0.90 is mdadm\n2.x's: at the end, data from sector 0; "
     "--name=N\nsets its preferred minor)"},
    {"name", 'N', CLI_ARG, OPT_NAME, "NAME", "array name (default 0, prefixed by the homehost)"},
    {"homehost", 0, CLI_ARG, OPT_HOMEHOST, "HOST",
     "homehost (default: this host; <none> for none)"},
    {"bitmap", 'b', CLI_ARG, OPT_BITMAP, "internal|none",
     "write-intent bitmap (default: internal only for\nmembers over 100 GiB)"},
    {"spare-devices", 'x', CLI_ARG, OPT_SPARES, "N", "the last N members given are spares (v1.x)"},
    {"size", 'z', CLI_ARG, OPT_SIZE, "SIZE",
     "space used on each member (a bare number is KiB;\nrounded down to the chunk; default "
     "max: all the\nsmallest member has), as mdadm's --size"},
    {"assume-clean", 0, CLI_FLAG, OPT_ASSUME_CLEAN, NULL,
     "do not compute parity (the data is already consistent)"},
    {"force", 'f', CLI_FLAG, OPT_FORCE, NULL, "overwrite members that hold md superblocks"},
    {0},
};

static const char help_examine[] =
    "Usage: mdraid examine [--brief] MEMBER...\n"
    "\n"
    "Print each member's md superblock exactly as mdadm --examine does, including\n"
    "a bad checksum ('Checksum : X - expected Y').\n";

static const struct cli_opt examine_opts[] = {
    {"brief", 's', CLI_FLAG, OPT_BRIEF, NULL, "print ARRAY lines for mdadm.conf"},
    {"homehost", 0, CLI_ARG, OPT_HOMEHOST, "H",
     "homehost for '(local to host H)' (default: this host)"},
    {0},
};

static const char help_detail[] =
    "Usage: mdraid detail [--brief] MEMBER...\n"
    "\n"
    "Assemble the members as the kernel would and print the array as\n"
    "mdadm --detail does (state, device counts, rebuild/reshape status, slots).\n";

static const struct cli_opt detail_opts[] = {
    {"brief", 's', CLI_FLAG, OPT_BRIEF, NULL, "print one ARRAY line for mdadm.conf"},
    {"homehost", 0, CLI_ARG, OPT_HOMEHOST, "H",
     "homehost for '(local to host H)' (default: this host)"},
    {"no-direct", 0, CLI_FLAG, OPT_NO_DIRECT, NULL,
     "open the members without O_DIRECT (through the page cache)"},
    {0},
};

static const char help_read[] =
    "Usage: mdraid read [--offset=B] [--length=B] MEMBER...\n"
    "\n"
    "Write the array's content to stdout. Missing or unreadable members (up to\n"
    "two for RAID6, one for RAID5) are reconstructed.\n";

static const struct cli_opt read_opts[] = {
    {"offset", 0, CLI_ARG, OPT_OFFSET, "B",
     "start at byte B of the array (default 0; K/M/G suffixes)"},
    {"length", 0, CLI_ARG, OPT_LENGTH, "B", "read B bytes (default: to the end)"},
    {"force", 'f', CLI_FLAG, OPT_FORCE, NULL,
     "use members that seem held by the kernel (read only);\nbring members kicked one after "
     "another up to date\nand mark a dirty degraded array clean as\nmdadm --assemble --force "
     "(their superblocks written)"},
    {"dry-run", 0, CLI_FLAG, OPT_DRY_RUN, NULL,
     "print what --force would write to stale members\n(mdadm --assemble --force's choice) and "
     "stop;\nnothing is written"},
    {"no-direct", 0, CLI_FLAG, OPT_NO_DIRECT, NULL,
     "open the members without O_DIRECT (through the page cache)"},
    {0},
};

static const char help_write[] =
    "Usage: mdraid write --offset=B MEMBER... < DATA\n"
    "\n"
    "Write stdin into the array at byte offset B, updating P and Q. The array is\n"
    "marked active and the write-intent bitmap set before any data is touched, and\n"
    "marked clean at the end, so an interrupted write is resynced by the kernel.\n";

static const struct cli_opt write_opts[] = {
    {"offset", 0, CLI_ARG, OPT_OFFSET, "B", "array byte offset (K/M/G suffixes)"},
    {"force", 'f', CLI_FLAG, OPT_FORCE, NULL,
     "write with bad members; stale members and a dirty\ndegraded array as mdadm --assemble "
     "--force"},
    {"dry-run", 0, CLI_FLAG, OPT_DRY_RUN, NULL,
     "print what --force would write to stale members\n(mdadm --assemble --force's choice) and "
     "stop;\nnothing is written"},
    {"no-direct", 0, CLI_FLAG, OPT_NO_DIRECT, NULL,
     "open the members without O_DIRECT (through the page cache)"},
    {0},
};

static const char help_check[] =
    "Usage: mdraid check|repair MEMBER...\n"
    "\n"
    "Scrub P and Q of every stripe. Mismatches are listed by array sector with a\n"
    "total in 512-byte sectors (as md's mismatch_cnt); repair rewrites them.\n"
    "Blocks that fail to read are rebuilt from P/Q, rewritten in place and read\n"
    "back (recorded in the member's bad-block log if they still fail), and counted\n"
    "in a 'read_errors' line. check exits 1 if there were mismatches or read\n"
    "errors; repair exits 1 if some read errors were not corrected.\n";

static const struct cli_opt check_opts[] = {
    {"force", 'f', CLI_FLAG, OPT_FORCE, NULL,
     "stale members and a dirty degraded array as\nmdadm --assemble --force"},
    {"dry-run", 0, CLI_FLAG, OPT_DRY_RUN, NULL,
     "print what --force would write to stale members\n(mdadm --assemble --force's choice) and "
     "stop;\nnothing is written"},
    {"no-direct", 0, CLI_FLAG, OPT_NO_DIRECT, NULL,
     "open the members without O_DIRECT (through the page cache)"},
    {0},
};

static const char help_rebuild[] =
    "Usage: mdraid rebuild --slot=K NEW MEMBER...\n"
    "\n"
    "Rebuild the missing member of slot K onto NEW (a disk or file), checkpointing\n"
    "recovery_offset in NEW's superblock so that an interrupted rebuild resumes\n"
    "where it stopped, by mdraid or by the kernel.\n";

static const struct cli_opt rebuild_opts[] = {
    {"slot", 0, CLI_ARG, OPT_SLOT, "K", "the slot to rebuild"},
    {"stop-after", 0, CLI_ARG, OPT_STOP_AFTER, "B",
     "stop at a checkpoint once B bytes of the member are\nrebuilt (leaves an interrupted "
     "rebuild, for tests)"},
    {"force", 'f', CLI_FLAG, OPT_FORCE, NULL,
     "overwrite a NEW that holds another array's superblock;\nstale members as mdadm --assemble "
     "--force"},
    {"dry-run", 0, CLI_FLAG, OPT_DRY_RUN, NULL,
     "print what --force would write to stale members\n(mdadm --assemble --force's choice) and "
     "stop;\nnothing is written"},
    {"no-direct", 0, CLI_FLAG, OPT_NO_DIRECT, NULL,
     "open the members without O_DIRECT (through the page cache)"},
    {0},
};

static struct {
	struct md_create_opts co;
	const char *layout;
	bool force, brief, no_direct, have_offset, dry_run;
	uint64_t offset, length, stop_after;
	bool have_length;
	int slot;
	const char *homehost;
} TT;

static int on_opt(void *ctx, int id, const char *arg)
{
	uint64_t v;
	(void)ctx;
	switch (id) {
	case OPT_LEVEL:
		if (!strcmp(arg, "6") || !strcmp(arg, "raid6"))
			TT.co.level = 6;
		else if (!strcmp(arg, "5") || !strcmp(arg, "raid5"))
			TT.co.level = 5;
		else
			return -1;
		return 0;
	case OPT_SPARES:
		if (cli_parse_uint(arg, 0, 1000, &v) < 0)
			return -1;
		TT.co.spare_disks = (int)v;
		return 0;
	case OPT_DEVICES:
		if (cli_parse_uint(arg, 1, 1000, &v) < 0)
			return -1;
		TT.co.raid_disks = (int)v;
		return 0;
	case OPT_CHUNK:
		if (cli_parse_size(arg, 1024, &v) < 0 || v < 4096 || v > (64u << 20) ||
		    (v & (v - 1)))
			return -1;
		TT.co.chunk_kib = (uint32_t)(v / 1024);
		return 0;
	case OPT_LAYOUT:
		TT.layout = arg;
		return 0;
	case OPT_METADATA:
		if (!strcmp(arg, "1.0") || !strcmp(arg, "1.00"))
			TT.co.minor = 0;
		else if (!strcmp(arg, "1.1") || !strcmp(arg, "1.01"))
			TT.co.minor = 1;
		else if (!strcmp(arg, "1.2") || !strcmp(arg, "1.02") || !strcmp(arg, "1") ||
			 !strcmp(arg, "default"))
			TT.co.minor = 2;
		else if (!strcmp(arg, "0.90") || !strcmp(arg, "00.90") || !strcmp(arg, "0"))
			TT.co.minor = 90; /* metadata 0.90 (super0.c) */
		else
			return -1;
		return 0;
	case OPT_NAME:
		TT.co.name = arg;
		return 0;
	case OPT_HOMEHOST:
		TT.co.homehost = TT.homehost = arg;
		return 0;
	case OPT_SIZE:
		/* mdadm's --size: KiB of each member (K/M/G/T suffixes), or max */
		if (!strcmp(arg, "max")) {
			TT.co.size_kib = 0;
			return 0;
		}
		if (cli_parse_size(arg, 1024, &v) < 0 || v < 4096)
			return -1;
		TT.co.size_kib = v / 1024;
		return 0;
	case OPT_BITMAP:
		if (!strcmp(arg, "internal"))
			TT.co.bitmap = 1;
		else if (!strcmp(arg, "none"))
			TT.co.bitmap = 0;
		else
			return -1;
		return 0;
	case OPT_ASSUME_CLEAN:
		TT.co.assume_clean = true;
		return 0;
	case OPT_FORCE:
		TT.force = TT.co.force = true;
		return 0;
	case OPT_BRIEF:
		TT.brief = true;
		return 0;
	case OPT_OFFSET:
		TT.have_offset = true;
		return cli_parse_size(arg, 1, &TT.offset) < 0 ? -1 : 0;
	case OPT_LENGTH:
		TT.have_length = true;
		return cli_parse_size(arg, 1, &TT.length) < 0 ? -1 : 0;
	case OPT_SLOT:
		if (cli_parse_uint(arg, 0, 63, &v) < 0)
			return -1;
		TT.slot = (int)v;
		return 0;
	case OPT_NO_DIRECT:
		TT.no_direct = true;
		return 0;
	case OPT_STOP_AFTER:
		return cli_parse_size(arg, 1, &TT.stop_after) < 0 ? -1 : 0;
	case OPT_DRY_RUN:
		TT.dry_run = true;
		return 0;
	}
	return -1;
}

/* ---- verbs ---- */

static int do_examine(int n, char **paths)
{
	int rv = 0;
	struct md_sb *sbs = calloc((size_t)n, sizeof(*sbs));
	bool *ok = calloc((size_t)n, sizeof(bool));
	char host[256] = "";
	const char *hh = TT.homehost;
	if (!sbs || !ok)
		ok_die_class(OK_CLASS_IO, "out of memory");
	if (!hh && gethostname(host, sizeof(host) - 1) == 0)
		hh = host;
	for (int i = 0; i < n; i++) {
		struct ok_err e;
		ok_err_clear(&e);
		int fd = open(paths[i], O_RDONLY | O_DIRECT | O_CLOEXEC);
		if (fd < 0)
			fd = open(paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ok_warn("cannot open %s: %s", paths[i], strerror(errno));
			rv = ok_exit_class(OK_CLASS_IO);
			continue;
		}
		int rc = md_sb_read(fd, paths[i], -1, &sbs[i], &e);
		if (rc == -ENOENT) {
			if (!TT.brief)
				ok_warn("No md superblock detected on %s.", paths[i]);
			rv = rv ? rv : 1;
			close(fd);
			continue;
		}
		if (rc < 0) {
			int x = ok_err_fail(&e);
			rv = rv > x ? rv : x;
			close(fd);
			continue;
		}
		struct md_bitmap bm;
		memset(&bm, 0, sizeof(bm));
		const struct md_bitmap *bmp = NULL;
		if (sbs[i].feature_map & MD_F_BITMAP_OFFSET) {
			int64_t at = (int64_t)sbs[i].super_offset + sbs[i].bitmap_offset;
			uint8_t *buf = io_alloc(4096);
			if (buf && at >= 0 &&
			    io_pread_full(fd, buf, 4096, (off_t)at * 512) >= 256) {
				md_bitmap_parse(&bm, buf, NULL, paths[i], at * 512, NULL);
				bmp = &bm;
			}
			io_free(buf);
		}
		close(fd);
		ok[i] = true;
		if (!TT.brief)
			md_examine_print(stdout, paths[i], &sbs[i], bmp, hh);
	}
	if (TT.brief) {
		/* one line per array, the last found first (mdadm prepends) */
		for (int i = n - 1; i >= 0; i--) {
			if (!ok[i])
				continue;
			bool seen = false;
			for (int j = i + 1; j < n; j++)
				if (ok[j] && !memcmp(sbs[j].set_uuid, sbs[i].set_uuid, 16))
					seen = true;
			if (seen)
				continue;
			int first = i;
			for (int j = 0; j < i; j++)
				if (ok[j] && !memcmp(sbs[j].set_uuid, sbs[i].set_uuid, 16)) {
					first = j;
					break;
				}
			int spares = 0;
			for (int j = 0; j < n; j++)
				if (ok[j] && !memcmp(sbs[j].set_uuid, sbs[i].set_uuid, 16) &&
				    md_sb_role(&sbs[j]) >= MD_ROLE_MAX)
					spares++;
			md_examine_brief(stdout, &sbs[first]);
			if (spares)
				printf("   spares=%d\n", spares);
		}
	}
	free(sbs);
	free(ok);
	fflush(stdout);
	return rv;
}

static unsigned open_flags(bool write)
{
	return (write ? MD_OPEN_WRITE : 0) |
	       (TT.force ? MD_OPEN_FORCE | MD_OPEN_ASSEMBLE_FORCE : 0) |
	       (TT.no_direct ? MD_OPEN_NO_DIRECT : 0);
}

/* The I/O buffer budget of MDRAID_MEM_MIB (MiB, 1-65536; documented in
 * mdraid(1)), or 0 for the default: read here, not in the library, so
 * library code sees no environment (lint). */
static size_t env_budget(void)
{
	const char *mem = getenv("MDRAID_MEM_MIB");
	if (mem && atoi(mem) >= 1 && atoi(mem) <= 65536)
		return (size_t)atoi(mem) << 20;
	return 0;
}

/* md_array_open, then env_budget() (buffers are sized at the first I/O).
 * With --dry-run the members are opened read-only, --force's choice for
 * stale members is printed and the program exits: nothing is written. */
static int array_open(struct md_array *a, int n, char **paths, unsigned flags, struct ok_err *e)
{
	if (TT.dry_run)
		flags =
		    (flags & ~(unsigned)MD_OPEN_WRITE) | MD_OPEN_ASSEMBLE_FORCE | MD_OPEN_DRY_RUN;
	int rc = md_array_open(a, n, paths, flags, e);
	if (rc == 0 && env_budget())
		a->budget_bytes = env_budget();
	if (rc == 0 && TT.dry_run) {
		md_forced_print(a->forced, "would: ");
		ok_warn("--dry-run: %s",
			a->forced[0] ? "nothing written" : "no member needs forcing");
		md_array_close(a, NULL);
		exit(0);
	}
	if (rc == 0)
		md_forced_print(a->forced, "");
	return rc;
}

/* Bytes per read/write call: whole stripes when they fit in the memory
 * budget (so calls after the first are stripe-aligned), else a bounded
 * slice (huge chunks: the library slices rows itself). *sd becomes the
 * alignment unit. */
static size_t io_chunk(const struct md_array *a, uint64_t *sd)
{
	uint64_t half = a->budget_bytes / 2;
	if (*sd <= half)
		return (size_t)((half / *sd + 1) * *sd);
	*sd = half & ~(uint64_t)(IO_ALIGN - 1);
	return (size_t)*sd;
}

/* The engine's warning as print_left_out showed it (print_new_warning). */
static char warn_shown[sizeof(((struct md_array *)0)->warn)];

static void print_left_out(const struct md_array *a)
{
	memcpy(warn_shown, a->warn, sizeof(warn_shown));
	for (int i = 0; i < a->nmembers; i++)
		if (a->m[i].why[0] && strcmp(a->m[i].path, "missing") != 0)
			ok_warn("%s: not used: %s", a->m[i].path, a->m[i].why);
	if (a->warn[0])
		ok_warn("warning: %s", a->warn);
}

/* A warning the engine raised while working (a member that failed a write
 * and was marked faulty), printed once the command is done. */
static void print_new_warning(const struct md_array *a)
{
	if (a->warn[0] && strcmp(a->warn, warn_shown) != 0)
		ok_warn("warning: %s", a->warn);
}

/* Blocks that did not read and were rebuilt from P/Q (md_win_fix_reads),
 * and what became of them; the data read or written is right either way.
 * hint: what the user can do about those left as they were, or "". */
static void print_read_errors(const struct md_array *a, const char *hint)
{
	uint64_t n = a->read_errors, left = n - a->read_fixed - a->read_logged;
	if (!n)
		return;
	ok_warn("warning: %llu unreadable 4 KiB block%s rebuilt from P/Q (the first at %s): %llu "
		"rewritten in place, %llu recorded in the bad-block log, %llu not corrected%s%s",
		(unsigned long long)n, n == 1 ? "" : "s", a->rerr_first,
		(unsigned long long)a->read_fixed, (unsigned long long)a->read_logged,
		(unsigned long long)left, a->read_failed ? " (the member was failed)" : "",
		left && !a->read_failed ? hint : "");
}

static int do_detail(int n, char **paths)
{
	struct md_array a;
	struct ok_err e;
	ok_err_clear(&e);
	unsigned fl = open_flags(false) | MD_OPEN_ALLOW_RESHAPE | MD_OPEN_FORCE;
	int rc = array_open(&a, n, paths, fl, &e);
	if (rc < 0)
		return ok_err_fail(&e);
	char host[256] = "";
	const char *hh = TT.homehost;
	if (!hh && gethostname(host, sizeof(host) - 1) == 0)
		hh = host;
	md_detail_print(stdout, &a, TT.brief, hh);
	md_array_close(&a, NULL);
	return 0;
}

static int do_read(int n, char **paths)
{
	struct md_array a;
	struct ok_err e;
	ok_err_clear(&e);
	int rc = array_open(&a, n, paths, open_flags(false), &e);
	if (rc < 0)
		return ok_err_fail(&e);
	print_left_out(&a);
	uint64_t total = md_array_bytes(&a);
	uint64_t off = TT.offset,
		 len = TT.have_length ? TT.length : total - (off < total ? off : total);
	if (off > total || len > total - off) {
		md_array_close(&a, NULL);
		ok_warn("read of %llu bytes at %llu is beyond the end of the array (%llu bytes)",
			(unsigned long long)len, (unsigned long long)off,
			(unsigned long long)total);
		return OK_EXIT_USAGE;
	}
	uint64_t sd = (uint64_t)a.geom.chunk_sectors * 512 * (uint64_t)md_geom_data_disks(&a.geom);
	size_t bsz = io_chunk(&a, &sd);
	uint8_t *buf = md_buf_alloc(bsz);
	if (!buf)
		ok_die_class(OK_CLASS_IO, "out of memory");
	while (len > 0 && rc == 0) {
		/* align the first piece to a stripe so later ones are whole */
		size_t now = (size_t)(bsz - off % sd);
		if (now > len)
			now = (size_t)len;
		rc = md_array_read(&a, off, buf, now, &e);
		if (rc == 0) {
			ssize_t w = io_write_full(STDOUT_FILENO, buf, now);
			if (w < 0)
				rc = ok_err_at(&e, (int)w, "stdout", OK_ERR_NOPOS, "write failed");
		}
		off += now;
		len -= now;
	}
	io_free(buf);
	print_read_errors(&a, " (read opens the members read-only; mdraid check rewrites them)");
	md_array_close(&a, NULL);
	return rc < 0 ? ok_err_fail(&e) : 0;
}

static int do_write(int n, char **paths)
{
	struct md_array a;
	struct ok_err e;
	ok_err_clear(&e);
	if (!TT.have_offset)
		ok_die_class(OK_CLASS_USAGE, "write: --offset is required");
	int rc = array_open(&a, n, paths, open_flags(true), &e);
	if (rc < 0)
		return ok_err_fail(&e);
	print_left_out(&a);
	uint64_t total = md_array_bytes(&a), off = TT.offset;
	/* a file on stdin that cannot fit is refused before anything is written */
	struct stat st;
	off_t here = lseek(STDIN_FILENO, 0, SEEK_CUR);
	if (fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) && here >= 0 &&
	    (off > total || (uint64_t)(st.st_size - here) > total - off)) {
		md_array_close(&a, NULL);
		ok_warn("write: %lld bytes at offset %llu do not fit in the array (%llu bytes); "
			"nothing written",
			(long long)(st.st_size - here), (unsigned long long)off,
			(unsigned long long)total);
		return OK_EXIT_USAGE;
	}
	uint64_t sd = (uint64_t)a.geom.chunk_sectors * 512 * (uint64_t)md_geom_data_disks(&a.geom);
	size_t bsz = io_chunk(&a, &sd);
	uint8_t *buf = md_buf_alloc(bsz);
	if (!buf)
		ok_die_class(OK_CLASS_IO, "out of memory");
	while (rc == 0) {
		size_t want = (size_t)(bsz - off % sd);
		ssize_t got = io_read_full(STDIN_FILENO, buf, want);
		if (got < 0) {
			rc = ok_err_at(&e, (int)got, "stdin", OK_ERR_NOPOS, "read failed");
			break;
		}
		if (got == 0)
			break;
		if (off > total || (uint64_t)got > total - off) {
			rc = ok_errc_at(&e, OK_CLASS_USAGE, -ENOSPC, "stdin",
					(long long)(off - TT.offset),
					"data goes beyond the end of the array (%llu bytes)",
					(unsigned long long)total);
			break;
		}
		rc = md_array_write(&a, off, buf, (size_t)got, &e);
		off += (uint64_t)got;
		if ((size_t)got < want)
			break;
	}
	io_free(buf);
	struct ok_err ce;
	int rc2 = md_array_close(&a, &ce);
	print_new_warning(&a);
	print_read_errors(&a, "");
	if (rc < 0)
		return ok_err_fail(&e);
	if (rc2 < 0)
		return ok_err_fail(&ce);
	return 0;
}

static void report(void *ctx, uint64_t sector, uint64_t sectors, const char *what)
{
	(void)ctx;
	printf("mismatch at array sector %llu (%llu sectors): %s\n", (unsigned long long)sector,
	       (unsigned long long)sectors, what);
}

static int do_check(int n, char **paths, bool repair)
{
	struct md_array a;
	struct ok_err e;
	ok_err_clear(&e);
	int rc = array_open(&a, n, paths, open_flags(repair), &e);
	if (rc < 0)
		return ok_err_fail(&e);
	print_left_out(&a);
	rc = md_array_check(&a, repair, report, NULL, &e);
	uint64_t mm = a.mismatches;
	struct ok_err ce;
	int rc2 = md_array_close(&a, &ce);
	print_new_warning(&a);
	print_read_errors(&a, "");
	if (rc < 0)
		return ok_err_fail(&e);
	if (rc2 < 0)
		return ok_err_fail(&ce);
	printf("mismatch_cnt %llu%s\n", (unsigned long long)mm, repair && mm ? " (repaired)" : "");
	/* a scrub must not hide unreadable sectors: they are counted (md's
	 * per-device "errors") and make check fail, repaired or not */
	uint64_t rerr = a.read_errors, left = rerr - a.read_fixed - a.read_logged;
	if (rerr)
		printf("read_errors %llu (corrected %llu, bad blocks recorded %llu, not corrected "
		       "%llu%s)\n",
		       (unsigned long long)rerr, (unsigned long long)a.read_fixed,
		       (unsigned long long)a.read_logged, (unsigned long long)left,
		       a.read_failed ? ", members failed" : "");
	return (mm && !repair) || (rerr && (!repair || left)) ? OK_EXIT_FAIL : 0;
}

static int do_rebuild(int n, char **paths)
{
	if (TT.slot < 0)
		ok_die_class(OK_CLASS_USAGE, "rebuild: --slot is required");
	if (n < 2)
		ok_die_class(OK_CLASS_USAGE, "rebuild: expected NEW and the members");
	struct md_array a;
	struct ok_err e;
	ok_err_clear(&e);
	int rc = array_open(&a, n - 1, paths + 1, open_flags(true), &e);
	if (rc < 0)
		return ok_err_fail(&e);
	print_left_out(&a);
	rc = md_array_rebuild(&a, TT.slot, paths[0],
			      TT.stop_after ? TT.stop_after / 512 : UINT64_MAX, &e);
	struct ok_err ce;
	int rc2 = md_array_close(&a, &ce);
	print_new_warning(&a);
	print_read_errors(&a, "");
	if (rc < 0)
		return ok_err_fail(&e);
	if (rc2 < 0)
		return ok_err_fail(&ce);
	return 0;
}

int main(int argc, char **argv)
{
	ok_progname = "mdraid";
	/* Test hook (mdraid(1), ENVIRONMENT): kernel files under this root; the
	 * library reads it from io_sys, never from the environment. */
	const char *sysroot = getenv("MDRAID_SYSROOT");
	if (sysroot && *sysroot)
		io_sys.sysroot = sysroot;
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		fputs(usage_main, argc < 2 ? stderr : stdout);
		return argc < 2 ? OK_EXIT_USAGE : 0;
	}
	if (!strcmp(argv[1], "--version")) {
		printf("mdraid (opskit) %s\n", OPSKIT_VERSION);
		return 0;
	}
	if (!strcmp(argv[1], "grow") || !strcmp(argv[1], "--grow"))
		return grow_main(argc - 1, argv + 1, env_budget()); /* grow.c */
	if (!strcmp(argv[1], "serve"))
		return serve_main(argc - 1, argv + 1); /* serve.c */
	if (!strcmp(argv[1], "stop"))
		return stop_main(argc - 1, argv + 1);
	if (!strcmp(argv[1], "overlay"))
		return overlay_main(argc - 1, argv + 1);
	/* Each verb takes only the options of its own table: another verb's
	 * option is a usage error (exit 2), not silently ignored. */
	static const struct {
		const char *verb, *name, *help;
		const struct cli_opt *opts;
	} verbs[] = {
	    {"create", "mdraid create", help_create, create_opts},
	    {"examine", "mdraid examine", help_examine, examine_opts},
	    {"detail", "mdraid detail", help_detail, detail_opts},
	    {"read", "mdraid read", help_read, read_opts},
	    {"write", "mdraid write", help_write, write_opts},
	    {"check", "mdraid check", help_check, check_opts},
	    {"repair", "mdraid repair", help_check, check_opts},
	    {"rebuild", "mdraid rebuild", help_rebuild, rebuild_opts},
	};
	int v = -1;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].verb))
			v = (int)i;
	if (v < 0) {
		fprintf(stderr, "mdraid: unknown command '%s'\n%s", argv[1], usage_main);
		return OK_EXIT_USAGE;
	}
	struct cli_spec spec = {verbs[v].name, verbs[v].help, verbs[v].opts, 0, NULL};
	TT.co.level = 6;
	TT.co.chunk_kib = 512;
	TT.co.minor = 2;
	TT.co.bitmap = -1;
	TT.slot = -1;
	int first = cli_parse(&spec, argc - 1, argv + 1, on_opt, NULL);
	ok_progname = "mdraid";
	int n = argc - 1 - first;
	char **paths = argv + 1 + first;
	if (n < 1)
		cli_usage_error(&spec, "no members given");
	const char *verb = verbs[v].verb;
	if (!strcmp(verb, "create")) {
		if (!TT.co.raid_disks)
			cli_usage_error(&spec, "--raid-devices is required");
		TT.co.layout = MD_LEFT_SYMMETRIC;
		if (TT.layout && (TT.co.layout = md_layout_parse(TT.co.level, TT.layout)) < 0)
			cli_usage_error(&spec, "unknown layout '%s' for RAID%d", TT.layout,
					TT.co.level);
		struct ok_err e;
		ok_err_clear(&e);
		int rc = md_create(&TT.co, n, paths, &e);
		return rc < 0 ? ok_err_fail(&e) : 0;
	}
	if (!strcmp(verb, "examine"))
		return do_examine(n, paths);
	if (!strcmp(verb, "detail"))
		return do_detail(n, paths);
	if (!strcmp(verb, "read"))
		return do_read(n, paths);
	if (!strcmp(verb, "write"))
		return do_write(n, paths);
	if (!strcmp(verb, "check") || !strcmp(verb, "repair"))
		return do_check(n, paths, !strcmp(verb, "repair"));
	return do_rebuild(n, paths);
}
