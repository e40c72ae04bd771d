/*
 * main.c: the usbcopy command. Options and help are declared once here; the
 * work is in libusbcopy (usbcopy.h). This file lists, prompts, confirms,
 * applies the guards' verdicts, prints the original's texts and picks the
 * exit code.
 *
 * The texts of OpenSolaris usbcopy kept word for word (its usbcopy script):
 *   Found the following USB devices:
 *   0:<TAB>/dev/sdb<TAB>7.6 GB<TAB>Patriot Memory
 *   Enter the number of your choice:
 *   WARNING: All data on your USB storage will be lost.
 *   Are you sure you want to install to
 *   Patriot Memory, 7600 MB at /dev/sdb ?  (y/n)
 *   Copying and verifying image to USB device
 *   Finished 824 MB in 336 seconds (2.4MB/s)
 *   0 block(s) re-written due to verification failure
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "hash.h"
#include "io.h"
#include "progress.h"
#include "usbcopy.h"

#define MAX_TARGETS 8

static const char help[] =
    "usage: usbcopy [options] IMAGE\n"
    "       usbcopy --list [--json]\n"
    "\n"
    "Write a disk image to a USB stick or SD card, verified from the device: every\n"
    "chunk is written and flushed, then the whole image is read back once\n"
    "bypassing the page cache (O_DIRECT) and compared with the image's digests;\n"
    "a chunk that differs is re-written and read back, up to 3 tries in all.\n"
    "The first chunk is written last, so a half-written stick never boots.\n"
    "\n"
    "Without --device, usbcopy lists the USB and removable disks and SD cards and\n"
    "asks for a number, then asks for confirmation.\n"
    "\n"
    "IMAGE may be raw, sparse, compressed (gzip, bzip2, xz, zstd, lz4) or packed\n"
    "(.zip, .tar.*): recognised by content.\n";

/* After the option list. */
static const char footer[] =
    "Refused (exit 5): the system disk (backing /, /boot or swap), a disk with a\n"
    "mounted filesystem (unless --unmount), a disk used by dm/md, the disk the image\n"
    "lives on, a read-only device, one smaller than the image.\n"
    "\n"
    "Exit status: 0 done, 1 verification or checksum failed, 2 usage, 3 bad image\n"
    "data, 4 I/O error, 5 refused.\n"
    "Test hook: USBCOPY_TEST_FAULTS=corrupt@3x1,drop@5,eio@7,rdeio@8,backing@4,kill@9\n";

enum {
	OPT_JSON = 256,
	OPT_SHA256,
	OPT_ENTRY,
	OPT_NO_VERIFY,
	OPT_NO_FINAL,
	OPT_VERIFY_CHUNKS,
	OPT_KEYRING,
	OPT_UNMOUNT,
	OPT_FORCE,
	OPT_PROBE,
	OPT_PROGRESS,
	OPT_SYSFS,
	OPT_PROC,
};

static const struct cli_opt opts[] = {
    {NULL, 0, 0, 0, NULL, "Options:"},
    {"device", 'd', CLI_ARG, 'd', "DEV",
     "write to DEV (a disk, a loop device or a regular file);\ngive it several times to write "
     "several targets at once"},
    {"yes", 'y', CLI_FLAG, 'y', NULL, "do not ask for confirmation (needs --device)"},
    {"list", 'l', CLI_FLAG, 'l', NULL, "list candidate devices and exit"},
    {"json", 0, CLI_FLAG, OPT_JSON, NULL, "with --list: print JSON"},
    {"bmap", 'b', CLI_ARG, 'b', "FILE",
     "bmaptool block map: write only the mapped ranges, each\nchecked against its checksum "
     "(formats 1.x and 2.0)"},
    {"sha256", 0, CLI_ARG, OPT_SHA256, "HEX|FILE",
     "check the whole image's SHA-256 (FILE: sha256sum\noutput) before the first chunk is "
     "written"},
    {"entry", 0, CLI_ARG, OPT_ENTRY, "NAME",
     "in a zip or tar, write the entry with this exact path"},
    {"keyring", 0, CLI_ARG, OPT_KEYRING, "FILE",
     "with --sha256=FILE: the file must be clearsigned by a\nkey in FILE (gpg --export output), "
     "checked with gpgv;\na bad or missing signature exits 3 before anything\nis written"},
    {"chunk", 'c', CLI_ARG, 'c', "SIZE", "write/verify unit (default 4M, multiple of 4K)"},
    {"no-verify", 0, CLI_FLAG, OPT_NO_VERIFY, NULL, "write and flush only, no read-back"},
    {"verify-chunks", 0, CLI_FLAG, OPT_VERIFY_CHUNKS, NULL,
     "also read each chunk back right after writing it (as\nthe original did): a bad chunk is "
     "re-written at once,\nand a dying stick fails early, not after the whole\nwrite; the "
     "device is read twice (slower)"},
    {"no-final-verify", 0, CLI_FLAG, OPT_NO_FINAL, NULL,
     "no final pass; each chunk is read back right after\nit is written instead (misses a fake "
     "card's\nwrap-around: a later chunk landing on an earlier one)"},
    {"unmount", 0, CLI_FLAG, OPT_UNMOUNT, NULL, "unmount the target's mounted filesystems first"},
    {"force", 0, CLI_FLAG, OPT_FORCE, NULL, "allow an internal, non-removable disk (asks again)"},
    {"probe", 0, CLI_FLAG, OPT_PROBE, NULL,
     "check for a fake-capacity card before writing (as\nf3probe: wrap-around and dropped "
     "writes; exit 1 and\nthe real capacity when fake)"},
    {"progress", 0, CLI_FLAG, OPT_PROGRESS, NULL,
     "report progress even when stderr is not a terminal"},
    {"quiet", 'q', CLI_FLAG, 'q', NULL, "no progress meter"},
    {"sysfs-root", 0, CLI_ARG, OPT_SYSFS, "DIR", "read DIR instead of /sys (tests)"},
    {"proc-root", 0, CLI_ARG, OPT_PROC, "DIR", "read DIR instead of /proc (tests)"},
    {0},
};

static const struct cli_spec spec = {"usbcopy", help, opts, 0, footer};

struct ctx {
	const char *dev[MAX_TARGETS]; /* --device */
	int ndev;
	int yes, list, json, verify, final_verify, verify_chunks, unmount, force, probe, quiet,
	    progress;
	const char *bmap, *sha256, *entry, *keyring;
	uint64_t chunk;
	struct uc_env env;
};

static int on_opt(void *vc, int id, const char *arg)
{
	struct ctx *c = vc;
	switch (id) {
	case 'd':
		if (c->ndev == MAX_TARGETS)
			return -1;
		c->dev[c->ndev++] = arg;
		break;
	case 'y':
		c->yes = 1;
		break;
	case 'l':
		c->list = 1;
		break;
	case OPT_JSON:
		c->json = 1;
		break;
	case 'b':
		c->bmap = arg;
		break;
	case OPT_SHA256:
		c->sha256 = arg;
		break;
	case OPT_ENTRY:
		c->entry = arg;
		break;
	case 'c':
		if (cli_parse_size(arg, 1, &c->chunk) < 0 || c->chunk < IO_ALIGN ||
		    c->chunk % IO_ALIGN || c->chunk > (256u << 20))
			return -1;
		break;
	case OPT_NO_VERIFY:
		c->verify = 0;
		break;
	case OPT_NO_FINAL:
		c->final_verify = 0;
		break;
	case OPT_VERIFY_CHUNKS:
		c->verify_chunks = 1;
		break;
	case OPT_KEYRING:
		c->keyring = arg;
		break;
	case OPT_UNMOUNT:
		c->unmount = 1;
		break;
	case OPT_FORCE:
		c->force = 1;
		break;
	case OPT_PROBE:
		c->probe = 1;
		break;
	case OPT_PROGRESS:
		c->progress = 1;
		break;
	case 'q':
		c->quiet = 1;
		break;
	case OPT_SYSFS:
		c->env.sysfs_root = arg;
		break;
	case OPT_PROC:
		c->env.proc_root = arg;
		break;
	default:
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- listing */

/* "7.6 GB" as rmformat printed it: decimal units, truncated to a tenth. */
static void size_str(uint64_t bytes, char *buf, size_t n)
{
	if (bytes >= 1000000000ULL) {
		uint64_t t = bytes / 100000000ULL;
		snprintf(buf, n, "%llu.%llu GB", (unsigned long long)(t / 10),
			 (unsigned long long)(t % 10));
	} else {
		uint64_t t = bytes / 100000ULL;
		snprintf(buf, n, "%llu.%llu MB", (unsigned long long)(t / 10),
			 (unsigned long long)(t % 10));
	}
}

/* The original's MB: a GB value a.b becomes a*1000 + b*100. */
static uint64_t size_mb(uint64_t bytes)
{
	if (bytes >= 1000000000ULL)
		return bytes / 100000000ULL * 100;
	return bytes / 1000000ULL;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void print_list(const struct ctx *c, const struct uc_dev *d, size_t n)
{
	if (c->json) {
		printf("[");
		for (size_t i = 0; i < n; i++) {
			char why[512], desc[256];
			struct uc_mount m[8];
			size_t nm;
			int use = uc_dev_usage(&c->env, &d[i], why, sizeof(why), m, 8, &nm, NULL);
			uc_dev_desc(&d[i], desc, sizeof(desc));
			printf("%s\n  {\"index\": %zu, \"device\": ", i ? "," : "", i);
			json_str(d[i].path);
			printf(", \"size_bytes\": %llu, \"vendor\": ",
			       (unsigned long long)d[i].size_bytes);
			json_str(d[i].vendor);
			printf(", \"model\": ");
			json_str(d[i].model);
			printf(", \"description\": ");
			json_str(desc);
			printf(", \"serial\": ");
			json_str(d[i].serial);
			printf(", \"usb\": %s, \"removable\": %s, \"mmc\": %s, \"read_only\": %s, "
			       "\"in_use\": ",
			       d[i].usb ? "true" : "false", d[i].removable ? "true" : "false",
			       d[i].mmc ? "true" : "false", d[i].ro ? "true" : "false");
			if (use > 0)
				json_str(why);
			else
				printf("null");
			printf("}");
		}
		printf("%s]\n", n ? "\n" : "");
		return;
	}
	printf("Found the following USB devices:\n");
	for (size_t i = 0; i < n; i++) {
		char sz[32], desc[256];
		size_str(d[i].size_bytes, sz, sizeof(sz));
		uc_dev_desc(&d[i], desc, sizeof(desc));
		printf("%zu:\t%s\t%s\t%s\n", i, d[i].path, sz, desc);
	}
}

/* A line from stdin without its newline; NULL at end of input. */
static char *read_answer(char *buf, size_t n)
{
	fflush(stdout);
	if (!fgets(buf, (int)n, stdin))
		return NULL;
	buf[strcspn(buf, "\r\n")] = 0;
	return buf;
}

/* ---------------------------------------------------------------- guards */

/*
 * Everything that must be true before a target is opened. Returns 0, or an
 * exit code after printing why.
 */
static int check_target(const struct ctx *c, const char *path, const char *image,
			uint64_t image_bytes, struct uc_dev *d, int *is_dev, int *confirmed)
{
	struct ok_err e;
	ok_err_clear(&e);
	int r = uc_dev_resolve(&c->env, path, d, &e);
	if (r < 0)
		return ok_err_fail(&e);
	*is_dev = r;
	char why[512];
	if (!r) {
		struct stat a, b;
		snprintf(d->path, sizeof(d->path), "%s", path);
		if (stat(path, &a) == 0 && stat(image, &b) == 0 && a.st_dev == b.st_dev &&
		    a.st_ino == b.st_ino) {
			ok_warn("%s: refusing: this is the image itself", path);
			return OK_EXIT_REFUSED;
		}
		return 0;
	}
	if (uc_dev_holds_file(&c->env, d, image, why, sizeof(why)) == 1) {
		ok_warn("%s: refusing: %s", d->path, why);
		return OK_EXIT_REFUSED;
	}
	struct uc_mount m[32];
	size_t nm;
	int use = uc_dev_usage(&c->env, d, why, sizeof(why), m, 32, &nm, &e);
	if (use < 0) {
		ok_err_print(&e);
		return OK_EXIT_IO;
	}
	if (use == UC_USE_SYSTEM) {
		ok_warn("%s: refusing: this is the system disk (%s)", d->path, why);
		return OK_EXIT_REFUSED;
	}
	if (use == UC_USE_HELD) {
		ok_warn("%s: refusing: %s", d->path, why);
		return OK_EXIT_REFUSED;
	}
	if (use == UC_USE_MOUNTED && !c->unmount) {
		ok_warn("%s: refusing: %s (use --unmount to unmount it first)", d->path, why);
		return OK_EXIT_REFUSED;
	}
	if (d->ro) {
		ok_warn("Device %s is not writable", d->path);
		printf("Installation aborted\n");
		return OK_EXIT_REFUSED;
	}
	if (image_bytes && image_bytes > d->size_bytes) {
		ok_warn("Image (%llu MB) is larger than the device (%llu MB)",
			(unsigned long long)(image_bytes >> 20),
			(unsigned long long)(d->size_bytes >> 20));
		printf("Installation aborted\n");
		return OK_EXIT_REFUSED;
	}
	if (!uc_dev_is_candidate(d) && !d->loop) {
		if (!c->force) {
			ok_warn("%s: refusing: an internal, non-removable disk (use --force if you "
				"really mean it)",
				d->path);
			return OK_EXIT_REFUSED;
		}
		if (!c->yes) {
			char ans[64];
			printf("\nWARNING: %s is an internal, non-removable disk.\n"
			       "Type YES to erase it: ",
			       d->path);
			if (!read_answer(ans, sizeof(ans)) || strcmp(ans, "YES")) {
				printf("Installation aborted\n");
				return OK_EXIT_REFUSED;
			}
			*confirmed = 1;
		}
	}
	if (use == UC_USE_MOUNTED) {
		for (size_t i = nm; i-- > 0;) {
			if (umount2(m[i].target, 0) < 0) {
				ok_warn("%s: cannot unmount %s: %s", d->path, m[i].target,
					strerror(errno));
				return OK_EXIT_REFUSED;
			}
			printf("Unmounted %s\n", m[i].target);
		}
	}
	return 0;
}

/* Same disk as when we checked it? (a re-plugged stick gets a new identity) */
static int same_identity(const struct ctx *c, const struct uc_dev *was)
{
	struct uc_dev now;
	if (uc_dev_read(&c->env, was->name, &now, NULL) < 0)
		return 0;
	return now.major == was->major && now.minor == was->minor &&
	       now.size_bytes == was->size_bytes && !strcmp(now.serial, was->serial);
}

/* ---------------------------------------------------------------- writing */

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

struct prog {
	struct progress p;
	const struct uc_src *src; /* for a compressed image's size estimate */
	int estimate;		  /* the size is not known up front */
	int two_phase;		  /* "written", then "verified" by the final pass */
	enum progress_mode mode;
};

/* The meter: "verified: 40.0% 780.0 MiB of 1.9 GiB, 96.3 MiB/s, ETA 0:11"
 * (written bytes with --no-verify), within the terminal's width (lib/progress).
 * Without --verify-chunks it counts written bytes until the final pass
 * starts, then starts again counting verified bytes: two meters, each with
 * its own rate and ETA.
 * For a compressed image whose size is not recorded, the total is estimated
 * from the compressed file's position and refined as it is read. */
static void on_progress(void *vp, uint64_t written, uint64_t verified)
{
	struct prog *pg = vp;
	if (pg->estimate) {
		uint64_t est = uc_src_size_estimate(pg->src);
		if (est)
			pg->p.total = est;
	}
	if (pg->two_phase && verified && pg->p.label[0] == 'w') {
		uint64_t total = pg->p.total;
		progress_finish(&pg->p);
		progress_start(&pg->p, "verified", total, pg->mode);
	}
	progress_update(&pg->p, pg->p.label[0] == 'w' ? written : verified);
}

/* --sha256: 64 hex digits, or a checksum file's line for image. 0 or the
 * exit code after printing why. */
static int parse_sha256(const char *arg, const char *keyring, const char *image, uint8_t out[32])
{
	struct ok_err e;
	ok_err_clear(&e);
	if (strlen(arg) == 64 && hex_decode(arg, out, 32) == 0) {
		if (!keyring)
			return 0;
		ok_err_at(&e, -EINVAL, arg, OK_ERR_NOPOS,
			  "--keyring checks a signed checksum file; a bare hash has no signature");
		ok_err_print(&e);
		return OK_EXIT_USAGE;
	}
	size_t cap = 1u << 20; /* SHA256SUMS files are small; a bound, not a guess */
	char *text = NULL;
	size_t n = 0;
	int r;
	if (keyring) { /* only the text gpgv vouches for */
		r = uc_sums_verify(arg, keyring, &text, &n, &e);
		if (r < 0) {
			ok_err_print(&e);
			return ok_exit(&e);
		}
		r = uc_sums_lookup(text, n, arg, image, out, &e);
		goto done;
	}
	FILE *f = fopen(arg, "re");
	if (!f) {
		ok_err_at(&e, -errno, arg, OK_ERR_NOPOS,
			  "--sha256: neither 64 hex digits nor a readable file");
		ok_err_print(&e);
		return OK_EXIT_USAGE;
	}
	text = malloc(cap);
	n = text ? fread(text, 1, cap, f) : 0;
	int big = n == cap && fgetc(f) != EOF;
	int rerr = ferror(f);
	fclose(f);
	r = !text  ? ok_err_at(&e, -ENOMEM, arg, OK_ERR_NOPOS, "out of memory")
	    : big  ? ok_err_at(&e, -EFBIG, arg, OK_ERR_NOPOS, "checksum file over 1 MiB")
	    : rerr ? ok_err_at(&e, -EIO, arg, OK_ERR_NOPOS, "cannot read")
		   : uc_sums_lookup(text, n, arg, image, out, &e);
done:
	free(text);
	if (r < 0) {
		ok_err_print(&e);
		return OK_EXIT_USAGE;
	}
	return 0;
}

static int run(int argc, char **argv);

/* run(), then make sure stdout reached its file: a script reading our output
 * must not get exit 0 when it was lost (stdout on /dev/full). */
int main(int argc, char **argv)
{
	int rc = run(argc, argv);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		ok_warn("write error on standard output: %s", strerror(errno ? errno : EIO));
		if (rc < OK_EXIT_IO)
			rc = OK_EXIT_IO;
	}
	return rc;
}

static int run(int argc, char **argv)
{
	struct ctx c = {
	    .verify = 1, .final_verify = 1, .chunk = 4u << 20, .env = {"/sys", "/proc"}};
	int first = cli_parse(&spec, argc, argv, on_opt, &c);
	struct ok_err e;
	ok_err_clear(&e);
	setvbuf(stdout, NULL, _IOLBF, 0);

	if (c.list) {
		if (first != argc)
			cli_usage_error(&spec, "--list takes no image");
		struct uc_dev *d;
		size_t n;
		if (uc_dev_scan(&c.env, &d, &n, &e) < 0) {
			ok_err_print(&e);
			return OK_EXIT_IO;
		}
		print_list(&c, d, n);
		free(d);
		return 0;
	}
	if (argc - first != 1)
		cli_usage_error(&spec, argc == first ? "missing IMAGE" : "one IMAGE only");
	if (c.yes && !c.ndev)
		cli_usage_error(&spec, "--yes needs --device");
	if (c.keyring && !c.sha256)
		cli_usage_error(&spec, "--keyring needs --sha256=FILE (a clearsigned SHA256SUMS)");
	if (!c.verify && c.verify_chunks)
		cli_usage_error(&spec, "--verify-chunks contradicts --no-verify");
	const char *image = argv[first];

	uint8_t want[32];
	if (c.sha256) {
		int r = parse_sha256(c.sha256, c.keyring, image, want);
		if (r)
			return r;
	}
	struct uc_bmap bm;
	memset(&bm, 0, sizeof(bm));
	if (c.bmap && uc_bmap_load(c.bmap, &bm, &e) < 0) {
		ok_err_print(&e);
		uc_bmap_free(&bm);
		return ok_exit(&e);
	}
	struct uc_src *src;
	int r = uc_src_open(image, c.bmap ? &bm : NULL, c.entry, c.sha256 ? want : NULL,
			    (uint32_t)c.chunk, 0, &src, &e);
	if (r < 0) {
		if (r == -EINVAL && c.bmap && c.sha256) /* the two checksums contradict */
			ok_err_set_class(&e, OK_CLASS_USAGE, r);
		uc_bmap_free(&bm);
		return ok_err_fail(&e);
	}
	if (c.sha256 && !uc_src_sha256_early(src))
		ok_warn("%s: not a regular file: its SHA-256 is checked at the end, before the "
			"first chunk is written",
			image);
	int64_t isz = uc_src_size(src);
	uint64_t image_bytes = isz > 0 ? (uint64_t)isz : 0;
	int rc = 0;

	/* choose */
	struct uc_dev devs[MAX_TARGETS];
	int is_dev[MAX_TARGETS] = {0}, confirmed = 0;
	const char *paths[MAX_TARGETS];
	int nt = c.ndev;
	for (int i = 0; i < nt; i++)
		paths[i] = c.dev[i];
	if (!nt) {
		struct uc_dev *d;
		size_t n;
		if (uc_dev_scan(&c.env, &d, &n, &e) < 0) {
			ok_err_print(&e);
			rc = OK_EXIT_IO;
			goto out;
		}
		if (!n) {
			printf(
			    "INFORMATION: No USB selected/found.. Please plug in and try again\n");
			free(d);
			rc = OK_EXIT_FAIL;
			goto out;
		}
		print_list(&c, d, n);
		char ans[64];
		for (;;) {
			printf("Enter the number of your choice: ");
			if (!read_answer(ans, sizeof(ans))) {
				printf("\nInstallation aborted\n");
				free(d);
				rc = OK_EXIT_REFUSED;
				goto out;
			}
			if (!ans[0])
				continue;
			uint64_t k;
			if (cli_parse_uint(ans, 0, n - 1, &k) == 0) {
				devs[0] = d[k];
				break;
			}
			printf("Invalid choice\n");
		}
		free(d);
		static char chosen[128];
		snprintf(chosen, sizeof(chosen), "%s", devs[0].path);
		paths[0] = chosen;
		nt = 1;
	}
	for (int i = 0; i < nt; i++) {
		rc = check_target(&c, paths[i], image, image_bytes, &devs[i], &is_dev[i],
				  &confirmed);
		if (rc)
			goto out;
	}
	if (!c.yes && !confirmed) {
		printf("\nWARNING: All data on your USB storage will be lost.\n"
		       "Are you sure you want to install to\n");
		for (int i = 0; i < nt; i++) {
			char desc[256];
			if (is_dev[i])
				uc_dev_desc(&devs[i], desc, sizeof(desc));
			else
				snprintf(desc, sizeof(desc), "regular file");
			struct stat st;
			uint64_t bytes = is_dev[i]		    ? devs[i].size_bytes
					 : stat(paths[i], &st) == 0 ? (uint64_t)st.st_size
								    : 0;
			printf("%s, %llu MB at %s%s", desc, (unsigned long long)size_mb(bytes),
			       paths[i], i + 1 < nt ? ",\n" : " ?  (y/n) ");
		}
		char ans[64];
		if (!read_answer(ans, sizeof(ans))) { /* end of input: nothing was agreed */
			printf("\nInstallation aborted\n");
			rc = OK_EXIT_REFUSED;
			goto out;
		}
		if (ans[0] != 'y' && ans[0] != 'n') {
			printf("Invalid choice.. Exiting\n");
			rc = OK_EXIT_REFUSED;
			goto out;
		}
		if (ans[0] == 'n') {
			printf("Installation aborted\n");
			rc = OK_EXIT_OK;
			goto out;
		}
	}

	/* open: re-check identity first, so a re-plugged stick is never confused */
	struct uc_target t[MAX_TARGETS];
	memset(t, 0, sizeof(t));
	int opened = 0;
	for (int i = 0; i < nt; i++) {
		if (is_dev[i] && !same_identity(&c, &devs[i])) {
			ok_warn(
			    "%s: refusing: the device changed since it was chosen (re-plugged?)",
			    paths[i]);
			rc = OK_EXIT_REFUSED;
			goto close;
		}
		struct stat st;
		if (is_dev[i] && (stat(paths[i], &st) < 0 || !S_ISBLK(st.st_mode))) {
			ok_warn("%s: refusing: not a block device (%s)", paths[i],
				errno ? strerror(errno) : "gone?");
			rc = OK_EXIT_REFUSED;
			goto close;
		}
		t[i].path = paths[i];
		if (is_dev[i])
			snprintf(t[i].backing, sizeof(t[i].backing), "%s", devs[i].backing);
		int orr = uc_target_open(&t[i], &e);
		if (orr < 0) { /* EBUSY (held open exclusively) is refused, the rest I/O */
			rc = ok_err_fail(&e);
			goto close;
		}
		opened = i + 1;
		if (is_dev[i] && (fstat(t[i].fd, &st) < 0 ||
				  st.st_rdev != makedev(devs[i].major, devs[i].minor))) {
			ok_warn("%s: refusing: device node does not match %s", paths[i],
				devs[i].name);
			rc = OK_EXIT_REFUSED;
			goto close;
		}
		if (c.probe) {
			/* the handlers first: Ctrl-C mid-probe restores the blocks */
			signal(SIGINT, on_signal);
			signal(SIGTERM, on_signal);
			signal(SIGHUP, on_signal);
			struct uc_probe_result pres;
			int pr = uc_probe(&t[i], &pres, &stop_flag, &e);
			if (pr < 0) {
				ok_err_print(&e);
				rc = OK_EXIT_IO;
				goto close;
			}
			if (pr) {
				ok_warn("%s: %s", paths[i], pres.why);
				rc = OK_EXIT_FAIL;
				goto close;
			}
			if (stop_flag) { /* the signal came as the probe ended: write nothing */
				ok_warn("%s: interrupted after the probe; nothing was written",
					paths[i]);
				rc = OK_EXIT_IO;
				goto close;
			}
			printf("%s: probe passed: all %llu MB hold data (no wrap-around, no "
			       "dropped writes)\n",
			       paths[i], (unsigned long long)(t[i].size_bytes >> 20));
		}
	}

	struct uc_faults faults;
	const char *fs = getenv("USBCOPY_TEST_FAULTS");
	if (fs && *fs && uc_faults_parse(fs, &faults, &e) < 0) {
		ok_err_print(&e);
		rc = OK_EXIT_USAGE;
		goto close;
	}
	signal(SIGPIPE, SIG_IGN); /* a closed stdout must not stop a write halfway */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	struct prog pg = {.src = src};
	int64_t wsz = uc_src_write_size(src);
	pg.estimate = wsz <= 0;
	pg.mode = c.quiet ? PROGRESS_OFF : c.progress ? PROGRESS_ON : PROGRESS_AUTO;
	pg.two_phase = c.verify && c.final_verify && !c.verify_chunks;
	progress_start(&pg.p, c.verify && !pg.two_phase ? "verified" : "written",
		       wsz > 0 ? (uint64_t)wsz : 0, pg.mode);
	struct uc_write_opts wo = {
	    .chunk_bytes = (uint32_t)c.chunk,
	    .tries = 3,
	    .verify = c.verify && (c.verify_chunks || !c.final_verify),
	    .zero_tail = 1,
	    .final_verify = c.verify && c.final_verify,
	    .faults = fs && *fs ? &faults : NULL,
	    .progress = on_progress,
	    .ctx = &pg,
	    .stop = &stop_flag,
	};
	printf("%s image to USB device\n", c.verify ? "Copying and verifying" : "Copying");
	double t0 = progress_now();
	r = uc_write(src, t, (size_t)nt, &wo, &e);
	double secs = progress_now() - t0;
	progress_finish(&pg.p);
	int intr = r == -EINTR, any_t = 0, any_ok = 0;
	for (int i = 0; i < nt; i++) {
		intr |= t[i].err == -EINTR;
		any_t |= t[i].err != 0;
		any_ok |= t[i].err == 0;
	}
	if (intr) {
		ok_warn("interrupted: the first chunk was not written, so the device will "
			"not boot");
		rc = OK_EXIT_IO;
		goto close;
	}
	if (r < 0 && !any_t) { /* the source failed: every target stopped */
		/* -ENOSPC here: a stream turned out larger than the device, after
		 * some chunks were written (known sizes are refused up front); a
		 * checksum that did not match is a negative answer, a stream that
		 * fails its own integrity check bad data */
		rc = ok_err_fail(&e);
		goto close;
	}
	uint64_t img = uc_src_offset(src);
	if (any_ok)
		printf("Finished %llu MB in %lld seconds (%.1fMB/s)\n",
		       (unsigned long long)(img >> 20), (long long)secs,
		       secs > 0 ? (double)img / 1048576.0 / secs : 0.0);
	for (int i = 0; i < nt; i++) {
		const char *pre = nt > 1 ? t[i].path : "", *sep = nt > 1 ? ": " : "";
		if (!t[i].err) {
			printf("%s%s%llu block(s) re-written due to verification failure\n", pre,
			       sep, (unsigned long long)t[i].rewritten);
		} else if (t[i].err == -EILSEQ) {
			/* the original's own words for a chunk that would not verify */
			printf("%s%s%s\n", pre, sep, t[i].e.msg);
		} else {
			ok_err_print(&t[i].e);
		}
		/* the worst target's code is the exit status */
		int code = t[i].err ? ok_exit(&t[i].e) : OK_EXIT_OK;
		if (code > rc)
			rc = code;
	}
	for (int i = 0; i < nt; i++)
		if (!t[i].err && t[i].is_blk && t[i].rrpart < 0 && t[i].rrpart != -EINVAL)
			ok_warn("%s: cannot re-read the partition table: %s", t[i].path,
				strerror(-t[i].rrpart));
	if (nt == 1 && !t[0].err)
		printf("Completed copy to USB\n");
	for (int i = 0; nt > 1 && i < nt; i++) /* one status line per target */
		printf("%s: %s\n", t[i].path,
		       t[i].err ? "FAILED, the device does not hold the image"
				: "Completed copy to USB");
	for (int i = 0; i < nt; i++)
		if (t[i].is_blk && !t[i].err)
			printf("%s can now be removed\n", t[i].path);
close:
	for (int i = 0; i < opened; i++)
		uc_target_close(&t[i]);
out:
	uc_src_close(src);
	uc_bmap_free(&bm);
	return rc;
}
