/*
 * main.c: rpmq, query .rpm package files as `rpm -qp` does, without rpm.
 *
 * Options are declared once below (lib/cli.h); the help text is the
 * reference. main() turns them into a verb (query, check digests, extract,
 * write cpio), opens each package in turn through the library (rpmq.h),
 * prints, and picks the exit code (lib/err.h).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "io.h"
#include "rpmq.h"

static const char help[] =
    "usage: rpmq -qp [QUERY OPTIONS] FILE...\n"
    "       rpmq -K[v] FILE...\n"
    "       rpmq --extract [-C DIR] FILE [PATH...]\n"
    "       rpmq --cat PATH [--cat PATH...] FILE\n"
    "       rpmq --cpio FILE > ARCHIVE.cpio\n"
    "       rpmq --tar FILE > ARCHIVE.tar\n"
    "       rpmq --diff [--ignore COL]... [--exclude GLOB]... OLD.rpm NEW.rpm\n"
    "       rpmq --repo DIR [-R|-P|--conflicts|...|-l]\n"
    "\n"
    "Query .rpm package files without rpm, an rpm database or macros. Output is\n"
    "byte-identical to `rpm -qp ... --nosignature --nodigest` (rpm 4.18) for the\n"
    "same options. FILE may be '-' for standard input.\n";

/* After the option list. */
static const char footer[] =
    "Exit status (as rpm 4.18): 0 success (also after an error in a --qf\n"
    "format: nothing is read); 1 usage error; N: N packages failed (not a valid\n"
    "package, unreadable, a BAD digest, a payload path refused for safety).\n";

enum {
	OPT_SCRIPTS = 256,
	OPT_TRIGGERS,
	OPT_FILETRIGGERS,
	OPT_DUMP,
	OPT_CONFLICTS,
	OPT_OBSOLETES,
	OPT_RECOMMENDS,
	OPT_SUGGESTS,
	OPT_SUPPLEMENTS,
	OPT_ENHANCES,
	OPT_CHANGELOG,
	OPT_CHANGES,
	OPT_QF,
	OPT_JSON,
	OPT_NOSIG,
	OPT_NODIGEST,
	OPT_KEYRING,
	OPT_EXTRACT,
	OPT_CPIO,
	OPT_FILESBYPKG,
	OPT_FILECAPS,
	OPT_SAFE,
	OPT_XML,
	OPT_FILECOLOR,
	OPT_NOGHOST,
	OPT_NOCONFIG,
	OPT_NOARTIFACT,
	OPT_FILECLASS,
	OPT_FILEPROVIDE,
	OPT_FILEREQUIRE,
	OPT_LAST,
	OPT_DUPES,
	OPT_CAT,
	OPT_TAR,
	OPT_REPO,
	OPT_DIFF,
	OPT_IGNORE,
	OPT_EXCLUDE,
};

static const struct cli_opt opts[] = {
    {NULL, 0, 0, 0, NULL,
     "Query options (may be combined; query formats are printed in the order\n"
     "given, then the file list):"},
    {"query", 'q', CLI_FLAG, 'q', NULL, "query (accepted for rpm compatibility)"},
    {"package", 'p', CLI_FLAG, 'p', NULL, "the operands are package files (always true)"},
    {"scripts", 0, CLI_FLAG, OPT_SCRIPTS, NULL,
     "install/erase scriptlets, incl. preuntrans/postuntrans"},
    {"triggers", 0, CLI_FLAG, OPT_TRIGGERS, NULL, "trigger scriptlets"},
    {"triggerscripts", 0, CLI_FLAG, OPT_TRIGGERS, NULL, "the same as --triggers"},
    {"filetriggers", 0, CLI_FLAG, OPT_FILETRIGGERS, NULL, "file trigger scriptlets"},
    {"filetriggerscripts", 0, CLI_FLAG, OPT_FILETRIGGERS, NULL, "the same as --filetriggers"},
    {"list", 'l', CLI_FLAG, 'l', NULL, "list files; with -v as `ls -l` does"},
    {"configfiles", 'c', CLI_FLAG, 'c', NULL, "list config files only (these four filters add up)"},
    {"docfiles", 'd', CLI_FLAG, 'd', NULL, "list documentation files only"},
    {"licensefiles", 'L', CLI_FLAG, 'L', NULL, "list license files only"},
    {"artifactfiles", 'A', CLI_FLAG, 'A', NULL, "list artifact files only"},
    {"noghost", 0, CLI_FLAG, OPT_NOGHOST, NULL, "leave ghost files out of lists"},
    {"noconfig", 0, CLI_FLAG, OPT_NOCONFIG, NULL, "leave config files out of lists"},
    {"noartifact", 0, CLI_FLAG, OPT_NOARTIFACT, NULL, "leave artifact files out of lists"},
    {"state", 's', CLI_FLAG, 's', NULL,
     "list files with their state; a package file has\nnone: \"(no state)\" as rpm prints"},
    {"dump", 0, CLI_FLAG, OPT_DUMP, NULL, "list files with all their attributes"},
    {"filesbypkg", 0, CLI_FLAG, OPT_FILESBYPKG, NULL, "list files, each after its package's name"},
    {"filecaps", 0, CLI_FLAG, OPT_FILECAPS, NULL, "list files with their POSIX capabilities"},
    {"info", 'i', CLI_FLAG, 'i', NULL, "package information, incl. the Signature line"},
    {"requires", 'R', CLI_FLAG, 'R', NULL,
     "dependencies (with -v: prefixed by the dependency\ntype); so do the five below"},
    {"provides", 'P', CLI_FLAG, 'P', NULL, "provided capabilities"},
    {"conflicts", 0, CLI_FLAG, OPT_CONFLICTS, NULL, "conflicts"},
    {"obsoletes", 0, CLI_FLAG, OPT_OBSOLETES, NULL, "obsoleted packages"},
    {"recommends", 0, CLI_FLAG, OPT_RECOMMENDS, NULL, "weak dependencies: recommends"},
    {"suggests", 0, CLI_FLAG, OPT_SUGGESTS, NULL, "weak dependencies: suggests"},
    {"supplements", 0, CLI_FLAG, OPT_SUPPLEMENTS, NULL, "weak dependencies: supplements"},
    {"enhances", 0, CLI_FLAG, OPT_ENHANCES, NULL, "weak dependencies: enhances"},
    {"changelog", 0, CLI_FLAG, OPT_CHANGELOG, NULL, "change log"},
    {"changes", 0, CLI_FLAG, OPT_CHANGES, NULL, "change log with full time stamps"},
    {"qf", 0, CLI_ARG, OPT_QF, "FMT",
     "rpm query format: %{TAG}, %{TAG:fmt}, %-20{TAG},\n[arrays], %{=TAG}, %{#TAG},\n"
     "%|TAG?{present}:{absent}|; tags by name or number"},
    {"queryformat", 0, CLI_ARG, OPT_QF, "FMT", "the same as --qf"},
    {"json", 0, CLI_OPTARG, OPT_JSON, "FORM",
     "every header tag as JSON, each package rpm 4.20's\n--json object; FORM: (none) one "
     "package's object,\nor one array of them for two or more FILEs;\n\"array\" always an "
     "array; \"lines\" one object a line\n(NDJSON)"},
    {"xml", 0, CLI_FLAG, OPT_XML, NULL, "every header tag as XML (rpm's [%{*:xml}\\n])"},
    {"filecolor", 0, CLI_FLAG, OPT_FILECOLOR, NULL, "file names with their colors"},
    {"fileclass", 0, CLI_FLAG, OPT_FILECLASS, NULL, "file names with their classes"},
    {"fileprovide", 0, CLI_FLAG, OPT_FILEPROVIDE, NULL, "file names with their provides"},
    {"filerequire", 0, CLI_FLAG, OPT_FILEREQUIRE, NULL, "file names with their requires"},
    {"last", 0, CLI_FLAG, OPT_LAST, NULL,
     "the output sorted as rpm's alias pipes it (\"sort -r\n-n | sed | awk\": by install "
     "time, NVRA padded)"},
    {"dupes", 0, CLI_FLAG, OPT_DUPES, NULL,
     "names (name.arch) given more than once, as rpm's\n\"sort | uniq -d\" pipe; sort "
     "collates by LC_COLLATE"},
    {"verbose", 'v', CLI_FLAG, 'v', NULL, "verbose lists and -K output"},
    {"jobs", 'j', CLI_ARG, 'j', "N",
     "query N packages at a time in N worker threads\n(1-64; default 1, no threads); output "
     "stays in\nargument order, at most 64N packages' output held"},
    {"nosignature", 0, CLI_FLAG, OPT_NOSIG, NULL, "queries never verify; with -K: skip signatures"},
    {"nodigest", 0, CLI_FLAG, OPT_NODIGEST, NULL, "queries never verify; with -K: skip digests"},
    {"repo", 0, CLI_ARG, OPT_REPO, "DIR",
     "query a createrepo_c repository's metadata instead of\npackage files (no FILE operands): "
     "DIR/repodata/\nrepomd.xml, the primary.xml it names (NVRA, -R, -P,\n--conflicts, "
     "--obsoletes, --recommends, --suggests,\n--supplements, --enhances: createrepo_c's "
     "lists, as\ndnf sees them) and for -l its filelists.xml; each\nfile's size and "
     "checksums checked against repomd.xml;\nother query options are refused"},
    {NULL, 0, 0, 0, NULL, "Other verbs:"},
    {"checksig", 'K', CLI_FLAG, 'K', NULL,
     "check digests (header SHA256 and SHA1, payload SHA256\nand ALT, MD5) and signatures "
     "(RSA, DSA, EdDSA) as\nrpm -K does; with -v one line per item"},
    {"keyring", 0, CLI_ARG, OPT_KEYRING, "PATH",
     "with -K: the public keys, an ASCII-armored key file\nor a directory of them (as "
     "/etc/pki/rpm-gpg), read\nas `rpm --import` reads them; without it every\nsignature is "
     "NOKEY (rpm with an empty rpmdb)"},
    {"extract", 0, CLI_FLAG, OPT_EXTRACT, NULL,
     "unpack the payload (with PATHs: those files and what\nis beneath them) beneath DIR "
     "(default .); every\npath is opened beneath DIR, names "
     "must be in the header\nand each file is checked as it is written: its size\nand "
     "digest against the header (a mismatching file is\nremoved: exit 1, naming it), then "
     "the payload digest;\nmodes and mtimes from the header, owners never changed"},
    {"directory", 'C', CLI_ARG, 'C', "DIR", "target directory for --extract"},
    {"safe", 0, CLI_FLAG, OPT_SAFE, NULL,
     "with --extract: no device nodes, no setuid/setgid bits\n(for untrusted packages; not "
     "the default, so that a\ntree is the same whoever extracts it)"},
    {"cat", 0, CLI_ARG, OPT_CAT, "PATH",
     "write the content of the payload's regular file PATH\nto standard output, once its "
     "size and digest are\nchecked; several: in payload order"},
    {"tar", 0, CLI_FLAG, OPT_TAR, NULL,
     "write the payload as a pax tar archive, as\n`rpm2archive -n` does (each file and the "
     "payload\nchecked; a failed check stops it before its end)"},
    {"diff", 0, CLI_FLAG, OPT_DIFF, NULL,
     "compare two packages as rpmlint's rpmdiff does, its\noutput line for line: tags "
     "(NAME, SUMMARY, ...,\nscriptlets), dependencies, files (S size, M mode,\n5 digest, D "
     "rdev, N nlink, L state, V verify flags,\nU user, G group, F flags, T mtime); exit 0 "
     "same,\n1 different, 2 a package unreadable"},
    {"ignore", 0, CLI_ARG, OPT_IGNORE, "COL",
     "with --diff: leave file column COL (S, M, 5, D, N, L,\nV, U, G, F or T) out, as "
     "rpmdiff -i COL; one\ncolumn each time, repeat for more (-i is --info here)"},
    {"exclude", 0, CLI_ARG, OPT_EXCLUDE, "GLOB",
     "with --diff: leave the files GLOB matches out, as\nrpmdiff -e GLOB (Python's "
     "PurePath.match: from the\nright, part by part; a GLOB starting with '/' also\n"
     "excludes everything beneath a matching directory)"},
    {"cpio", 0, CLI_FLAG, OPT_CPIO, NULL,
     "write the payload as an uncompressed newc cpio archive\n(refused for delta rpms and "
     "other non-cpio payloads)"},
    {0},
};

static const struct cli_spec spec = {"rpmq", help, opts, 0, footer};

enum verb { VERB_QUERY, VERB_CHECK, VERB_EXTRACT, VERB_CPIO, VERB_CAT, VERB_TAR, VERB_DIFF };

/* --json[=FORM]: what is printed around rpm 4.20's per-package objects */
enum json_out {
	JSON_AUTO = 1, /* --json: JSON_RPM for one FILE, JSON_ARRAY for more */
	JSON_RPM,      /* rpm 4.20's output: the objects one after the other */
	JSON_ARRAY,    /* one JSON array of the objects, failed packages left out */
	JSON_LINES,    /* NDJSON: one compact object a line */
};

struct ctx {
	enum verb verb;
	char *qf;	    /* concatenated query formats, NULL if none */
	enum rpm_list list; /* file list mode */
	unsigned incattr;   /* -c/-d/-L/-A: enum rpm_file_attr bits */
	unsigned excattr;   /* --noghost/--noconfig/--noartifact */
	int state;	    /* -s */
	enum rpm_pipe pipe; /* --last, --dupes */
	int npipe;	    /* how many were given: rpm takes one --pipe */
	FILE *out;	    /* stdout, or a memory stream for the pipe */
	int verbose;
	int nosignature, nodigest; /* -K: rpm's vsflags */
	const char *keyring;	   /* --keyring PATH */
	int jobs;		   /* -j: worker threads (0: none) */
	int json;		   /* enum json_out, 0: no --json */
	int json_done;		   /* elements printed so far (array form) */
	const char *dir;
	unsigned xflags;  /* enum rpm_extract_flags */
	const char **cat; /* --cat PATHs */
	size_t ncat;
	char *const *xpaths; /* --extract's PATH operands */
	size_t nxpaths;
	const char *repo;	       /* --repo DIR */
	enum rpm_repo_mode rmodes[16]; /* --repo: the modes, in the order given */
	size_t nrmodes;
	int rbad; /* an option --repo cannot answer (its id), 0 if none */
	char ignore[sizeof(RPM_DIFF_COLUMNS)]; /* --diff --ignore columns */
	const char **exclude;		       /* --diff --exclude globs */
	size_t nexclude;
	int diffopt; /* --ignore or --exclude given */
};

/* --repo: what an option asks of the metadata (enum rpm_repo_mode), -1 for
 * an option that asks nothing of it, -2 for one the metadata cannot answer. */
static int repo_mode(int id)
{
	switch (id) {
	case 'q':
	case 'p':
	case OPT_REPO:
		return -1;
	case 'R':
		return REPO_REQUIRES;
	case 'P':
		return REPO_PROVIDES;
	case OPT_CONFLICTS:
		return REPO_CONFLICTS;
	case OPT_OBSOLETES:
		return REPO_OBSOLETES;
	case OPT_RECOMMENDS:
		return REPO_RECOMMENDS;
	case OPT_SUGGESTS:
		return REPO_SUGGESTS;
	case OPT_SUPPLEMENTS:
		return REPO_SUPPLEMENTS;
	case OPT_ENHANCES:
		return REPO_ENHANCES;
	case 'l':
		return REPO_LIST;
	default:
		return -2;
	}
}

/* The long name of option id (for messages). */
static const char *opt_name(int id)
{
	for (const struct cli_opt *o = opts; o->name || o->help; o++)
		if (o->name && o->id == id)
			return o->name;
	return "?";
}

static void add_qf(struct ctx *c, const char *q)
{
	size_t a = c->qf ? strlen(c->qf) : 0, b = strlen(q);
	char *n = realloc(c->qf, a + b + 1);
	if (!n)
		ok_die_class(OK_CLASS_IO, "out of memory");
	memcpy(n + a, q, b + 1);
	c->qf = n;
}

static int on_opt(void *vc, int id, const char *arg)
{
	struct ctx *c = vc;
	const char *alias = NULL;
	int rm = repo_mode(id);
	if (rm == -2 && !c->rbad)
		c->rbad = id;
	else if (rm >= 0 && c->nrmodes < sizeof(c->rmodes) / sizeof(c->rmodes[0]))
		c->rmodes[c->nrmodes++] = (enum rpm_repo_mode)rm;
	switch (id) {
	case 'q':
	case 'p':
		break;
	case OPT_NOSIG:
		c->nosignature = 1;
		break;
	case OPT_NODIGEST:
		c->nodigest = 1;
		break;
	case OPT_KEYRING:
		c->keyring = arg;
		break;
	case 'j': {
		char *end;
		long v = strtol(arg, &end, 10);
		if (*arg == 0 || *end || v < 1 || v > 64)
			return -EINVAL;
		c->jobs = (int)v;
		break;
	}
	case OPT_SCRIPTS:
		alias = "scripts";
		break;
	case OPT_TRIGGERS:
		alias = "triggers";
		break;
	case OPT_FILETRIGGERS:
		alias = "filetriggers";
		break;
	case 'i':
		alias = "info";
		break;
	case 'R':
		alias = "requires";
		break;
	case 'P':
		alias = "provides";
		break;
	case OPT_CONFLICTS:
		alias = "conflicts";
		break;
	case OPT_OBSOLETES:
		alias = "obsoletes";
		break;
	case OPT_RECOMMENDS:
		alias = "recommends";
		break;
	case OPT_SUGGESTS:
		alias = "suggests";
		break;
	case OPT_SUPPLEMENTS:
		alias = "supplements";
		break;
	case OPT_ENHANCES:
		alias = "enhances";
		break;
	case OPT_CHANGELOG:
		alias = "changelog";
		break;
	case OPT_CHANGES:
		alias = "changes";
		break;
	case OPT_FILESBYPKG:
		alias = "filesbypkg";
		break;
	case OPT_FILECAPS:
		alias = "filecaps";
		break;
	case OPT_XML:
		alias = "xml";
		break;
	case OPT_FILECOLOR:
		alias = "filecolor";
		break;
	case OPT_FILECLASS:
		alias = "fileclass";
		break;
	case OPT_FILEPROVIDE:
		alias = "fileprovide";
		break;
	case OPT_FILEREQUIRE:
		alias = "filerequire";
		break;
	case OPT_LAST:
		alias = "last";
		c->npipe++;
		c->pipe = PIPE_LAST;
		break;
	case OPT_DUPES:
		alias = "dupes";
		c->npipe++;
		c->pipe = PIPE_DUPES;
		break;
	case OPT_QF:
		add_qf(c, arg);
		break;
	case 'l':
		if (c->list == LIST_NONE)
			c->list = LIST_PLAIN;
		break;
	case 'c':
	case 'd':
	case 'L':
	case 'A':
		/* inclusion filters imply a list, as in showQueryPackage */
		c->incattr |= id == 'c'	  ? RPMFILE_CONFIG
			      : id == 'd' ? RPMFILE_DOC
			      : id == 'L' ? RPMFILE_LICENSE
					  : RPMFILE_ARTIFACT;
		if (c->list == LIST_NONE)
			c->list = LIST_PLAIN;
		break;
	case 's':
		c->state = 1;
		if (c->list == LIST_NONE)
			c->list = LIST_PLAIN;
		break;
	case OPT_NOGHOST:
		c->excattr |= RPMFILE_GHOST;
		break;
	case OPT_NOCONFIG:
		c->excattr |= RPMFILE_CONFIG;
		break;
	case OPT_NOARTIFACT:
		c->excattr |= RPMFILE_ARTIFACT;
		break;
	case OPT_DUMP:
		c->list = LIST_DUMP;
		break;
	case 'v':
		c->verbose = 1;
		break;
	case OPT_JSON:
		if (!arg)
			c->json = JSON_AUTO;
		else if (strcmp(arg, "array") == 0)
			c->json = JSON_ARRAY;
		else if (strcmp(arg, "lines") == 0)
			c->json = JSON_LINES;
		else
			return -EINVAL;
		break;
	case 'K':
		c->verb = VERB_CHECK;
		break;
	case OPT_EXTRACT:
		c->verb = VERB_EXTRACT;
		break;
	case OPT_CPIO:
		c->verb = VERB_CPIO;
		break;
	case OPT_TAR:
		c->verb = VERB_TAR;
		break;
	case OPT_CAT: {
		const char **n = realloc(c->cat, (c->ncat + 1) * sizeof(*n));
		if (!n)
			ok_die_class(OK_CLASS_IO, "out of memory");
		c->cat = n;
		c->cat[c->ncat++] = arg;
		c->verb = VERB_CAT;
		break;
	}
	case 'C':
		c->dir = arg;
		break;
	case OPT_SAFE:
		c->xflags |= RPM_X_SAFE;
		break;
	case OPT_REPO:
		c->repo = arg;
		break;
	case OPT_DIFF:
		c->verb = VERB_DIFF;
		break;
	case OPT_IGNORE: /* rpmdiff's choices: one column letter */
		if (strlen(arg) != 1 || !strchr(RPM_DIFF_COLUMNS, arg[0]))
			return -EINVAL;
		if (!strchr(c->ignore, arg[0]))
			c->ignore[strlen(c->ignore)] = arg[0];
		c->diffopt = 1;
		break;
	case OPT_EXCLUDE: {
		/* what Python's pathlib refuses ("empty pattern") */
		int m = rpm_diff_excluded("/", arg);
		if (m == -EINVAL || m == -E2BIG)
			return -EINVAL;
		const char **n = realloc(c->exclude, (c->nexclude + 1) * sizeof(*n));
		if (!n)
			ok_die_class(OK_CLASS_IO, "out of memory");
		c->exclude = n;
		c->exclude[c->nexclude++] = arg;
		c->diffopt = 1;
		break;
	}
	default:
		return -EINVAL;
	}
	if (alias)
		add_qf(c, rpm_alias_qf(alias));
	return 0;
}

/*
 * Exit status, as rpm gives it (ok_exit_rpm in lib/err.h): a usage error is 1,
 * and otherwise the status is the number of packages that failed, whatever
 * went wrong with each (not a package, a bad header, unreadable, a BAD digest,
 * an unsafe payload path), capped at 255 as rpm caps it; so scripts written
 * for `rpm -qp` and `rpm -K` test rpmq the same way.
 */
static int rpm_status(int failed)
{
	return failed > 255 ? 255 : failed;
}

/* One package for the query verb, its output written to out: 0, or a
 * negative errno with e filled (the caller prints it, in argument order).
 * The package is b's window entry i (b may be NULL). buf/cap: a reusable
 * expansion buffer. Thread-safe: workers call it, each with its own b. */
static int query_one(const struct ctx *c, const struct rpm_qf *qf, struct rpm_batch *b, unsigned i,
		     const char *path, long long now, FILE *out, char **buf, size_t *cap,
		     struct ok_err *e)
{
	struct rpm_pkg p;
	ok_err_clear(e);
	int rc = rpm_batch_open(b, i, path, &p, e);
	if (rc < 0)
		return rc;
	if (c->json) {
		rc = rpm_print_json(&p, c->json == JSON_LINES ? RPM_JSON_COMPACT : RPM_JSON_RPM,
				    out, e);
	} else {
		if (qf) {
			size_t len = 0;
			rc = rpm_qf_expand(qf, &p, c->verbose, buf, &len, cap, e);
			if (rc == 0)
				fwrite(*buf, 1, len, out);
		}
		enum rpm_list lm = c->list;
		if (lm == LIST_PLAIN && c->verbose)
			lm = LIST_LONG;
		if (rc == 0 && lm != LIST_NONE) {
			struct rpm_list_opts lo = {lm, c->incattr, c->excattr, c->state, now};
			rc = rpm_list_files(&p, &lo, out, e);
		}
	}
	rpm_pkg_close(&p);
	return rc;
}

/* Print one package's query output (out, len bytes) to c->out. In the array
 * form an object (ending "}\n") becomes an element: "[\n" before the first,
 * ",\n" between, the closing "\n]\n" printed by json_close(). */
static void emit(struct ctx *c, const char *out, size_t len)
{
	if (c->json == JSON_ARRAY && len > 0) {
		fputs(c->json_done++ ? ",\n" : "[\n", c->out);
		len--; /* the object's newline: the separator or the close follows */
	}
	fwrite(out, 1, len, c->out);
}

static void json_close(struct ctx *c)
{
	if (c->json == JSON_ARRAY)
		fputs(c->json_done ? "\n]\n" : "[\n]\n", c->out);
}

/* ---- many packages at once: worker threads, output in argument order ----
 *
 * Packages go out a chunk of CHUNK at a time. A worker takes the next
 * chunk, queries its packages one after the other into one memory stream
 * (one allocation for the chunk's output, not a stream per package) and
 * marks the chunk done; then, unless another worker is printing already,
 * it prints every done chunk from the next one due, in argument order.
 * The main thread is one of the workers (-j N: N - 1 threads more). Why
 * no printer thread: it slept and woke for each chunk, a futex wake and a
 * context switch a chunk that took a CPU from the two workers; the worker
 * that completes the chunk due prints it, with no hand-over at all. Chunk
 * c lives in chunks[c % window] from the moment a worker takes it until
 * it is printed: a worker whose chunk is window or more ahead of the
 * printed ones waits, so at most window * CHUNK packages' output is held,
 * whatever the number of packages. Work is handed out a chunk at a time
 * because a small package takes about as long to query as a contended
 * lock hand-over (a futex syscall) costs.
 *
 * Invariants (pl->mu guards next, printed, printing, each done):
 * (1) printed <= c < next for every chunk a worker holds, and
 *     c - printed < window, so no two live chunks share a slot;
 * (2) a slot's other fields are written only by the worker holding it
 *     while done is 0, and read and reset only by the printer once done
 *     is 1; the mutex hand-over orders the two;
 * (3) one printer at a time (printing); a printer stops only after seeing,
 *     under mu, that the chunk due is not done, and a worker marks its
 *     chunk done under mu and prints when nobody is printing: no done
 *     chunk is left behind.
 */
#define CHUNK 16
/* Packages a window of the one-thread query reads through io_uring: the
 * enters a package fall as 1/BATCH; 64 keeps the buffers' touched pages
 * (a few a package) well under rpm's RSS. */
#define BATCH 64

struct chunk {
	char *out;		/* the packages' output, one after the other (owned) */
	size_t len;		/* bytes in out */
	int n;			/* packages in the chunk, 1..CHUNK */
	size_t end[CHUNK];	/* package j's output is out[end[j-1] .. end[j]) */
	int rc[CHUNK];		/* query_one's, per package */
	struct ok_err e[CHUNK]; /* the error of a package whose rc < 0 */
	int done;		/* filled: the printer's turn */
};

struct pool {
	const struct ctx *c;
	const struct rpm_qf *qf;
	char **paths;
	int n; /* packages */
	long long now;
	int nchunks;	      /* (n + CHUNK - 1) / CHUNK */
	int next;	      /* next chunk to take */
	int printed;	      /* chunks printed so far */
	int window;	      /* slots */
	int printing;	      /* a worker is printing (invariant 3) */
	int failed;	      /* failed packages, counted by the printer */
	struct ctx *out;      /* where and how chunks are printed (emit) */
	unsigned ring;	      /* packages a worker's batch reader holds (ring_window) */
	struct chunk *chunks; /* chunk c in chunks[c % window] */
	pthread_mutex_t mu;
	pthread_cond_t space; /* a chunk was printed */
};

/* Query chunk c's packages into ck (the worker holds it, invariant 2). */
static void pool_fill(struct pool *pl, struct chunk *ck, int c, struct rpm_batch *b, char **buf,
		      size_t *cap)
{
	int first = c * CHUNK;
	ck->n = pl->n - first < CHUNK ? pl->n - first : CHUNK;
	rpm_batch_load(b, pl->paths + first, (unsigned)ck->n);
	ck->out = NULL;
	ck->len = 0;
	FILE *out = open_memstream(&ck->out, &ck->len);
	for (int j = 0; j < ck->n; j++) {
		const char *path = pl->paths[first + j];
		if (!out) {
			ck->rc[j] =
			    ok_err_at(&ck->e[j], -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
			ck->end[j] = 0;
			continue;
		}
		ck->rc[j] = query_one(pl->c, pl->qf, b, (unsigned)j, path, pl->now, out, buf, cap,
				      &ck->e[j]);
		if (fflush(out) != 0 && ck->rc[j] == 0) /* updates ck->len */
			ck->rc[j] =
			    ok_err_at(&ck->e[j], -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
		ck->end[j] = ck->len;
	}
	if (out && fclose(out) != 0) {
		for (int j = 0; j < ck->n; j++)
			if (ck->rc[j] == 0)
				ck->rc[j] = ok_err_at(&ck->e[j], -ENOMEM, pl->paths[first + j],
						      OK_ERR_NOPOS, "out of memory");
	}
	if (!ck->out)
		for (int j = 0; j < ck->n; j++)
			ck->end[j] = 0;
}

/* A batch reader for max packages, or NULL for the plain path: where
 * io_uring is missing (rpm_batch_new decides) or RPMQ_IO=sync asks for it
 * (read here, so the library never looks at the environment). */
static struct rpm_batch *batch_new(unsigned max)
{
	const char *io = getenv("RPMQ_IO");
	return rpm_batch_new(io && strcmp(io, "sync") == 0 ? 0 : max);
}

/* Descriptors open now (/proc/self/fd's entries less the one reading it),
 * or 16 where /proc cannot tell. */
static long open_descriptors(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return 16;
	long n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;
}

/* The largest window (at most want) that workers' batch readers can hold at
 * once under RLIMIT_NOFILE, 0 (the plain path) below 2. Why: a window's
 * descriptors are the process's; sized blindly, one worker's window takes
 * the descriptors another worker's plain open (of a package its ring could
 * not open) needs, and a missing file then reports "Too many open files"
 * where rpm says "No such file or directory". Each worker may hold two
 * windows while the old one's closes and the new one's opens share an
 * enter, plus its ring, one plain open and a spare. */
static unsigned ring_window(unsigned want, int workers)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
		return want;
	long spare = (long)rl.rlim_cur - open_descriptors() - 3L * workers - 4;
	long per = spare / (2L * workers);
	if (per < 2)
		return 0;
	return per < (long)want ? (unsigned)per : want;
}

/* Print the done chunks from the one due, in order (invariant 3): called
 * with pl->mu held by the worker that just marked a chunk done, which
 * returns with it held. The mutex is let go while a chunk is written, so
 * that a slow stdout holds up only the printer, not the others' marking. */
static void pool_print(struct pool *pl)
{
	if (pl->printing)
		return; /* that printer prints ours too */
	pl->printing = 1;
	int any = 0;
	while (pl->printed < pl->nchunks) {
		struct chunk *ck = &pl->chunks[pl->printed % pl->window];
		if (!ck->done)
			break;
		pthread_mutex_unlock(&pl->mu);
		for (int j = 0; j < ck->n; j++) {
			size_t from = j ? ck->end[j - 1] : 0, len = ck->end[j] - from;
			if (ck->rc[j] == 0)
				emit(pl->out, ck->out + from, len);
			else if (!pl->out->json)
				fwrite(ck->out + from, 1, len, pl->out->out); /* what rpm printed */
			if (ck->rc[j] < 0)				      /* before the error */
				pl->failed += ok_err_fail(&ck->e[j]) != 0;
		}
		free(ck->out);
		ck->out = NULL;
		pthread_mutex_lock(&pl->mu);
		ck->done = 0;
		pl->printed++;
		any = 1;
	}
	pl->printing = 0;
	if (any) /* workers waiting for a slot */
		pthread_cond_broadcast(&pl->space);
}

/* One worker's state: the pool, and its batch reader, which the main
 * thread frees after the join. */
struct worker {
	struct pool *pl;
	struct rpm_batch *b;
};

/* One worker: take chunks until none is left, query each, print what is
 * due (pool_print). The main thread runs it too. Its batch reader is ended
 * (the last closes submitted) but not freed: freeing munmaps the buffers
 * and the ring, which takes the address space's lock for writing and
 * flushes the other CPU's TLB while the other workers still read and
 * fault pages in (perf: the workers' sleeps were mostly on mmap_lock). */
static void *pool_worker(void *arg)
{
	struct worker *w = arg;
	struct pool *pl = w->pl;
	char *buf = NULL;
	size_t cap = 0;
	struct rpm_batch *b = w->b = batch_new(pl->ring); /* NULL: no io_uring here */
	for (;;) {
		pthread_mutex_lock(&pl->mu);
		int c = pl->next;
		if (c < pl->nchunks)
			pl->next++;
		while (c < pl->nchunks && c - pl->printed >= pl->window)
			pthread_cond_wait(&pl->space, &pl->mu);
		pthread_mutex_unlock(&pl->mu);
		if (c >= pl->nchunks)
			break;
		struct chunk *ck = &pl->chunks[c % pl->window];
		pool_fill(pl, ck, c, b, &buf, &cap);
		pthread_mutex_lock(&pl->mu);
		ck->done = 1;
		pool_print(pl);
		pthread_mutex_unlock(&pl->mu);
	}
	rpm_batch_end(b);
	free(buf);
	return NULL;
}

/* Query paths[0..n) with jobs workers (the main thread one of them),
 * printing to c->out in order; returns the number of failed packages. */
static int query_parallel(struct ctx *c, const struct rpm_qf *qf, char **paths, int n,
			  long long now, int jobs)
{
	struct pool pl = {.c = c, .qf = qf, .paths = paths, .n = n, .now = now, .out = c};
	pl.nchunks = (n + CHUNK - 1) / CHUNK;
	pl.window = 4 * jobs;
	pl.ring = ring_window(CHUNK, jobs);
	pl.chunks = calloc((size_t)pl.window, sizeof(*pl.chunks));
	pthread_t *th = calloc((size_t)jobs, sizeof(*th));
	struct worker *w = calloc((size_t)jobs, sizeof(*w));
	if (!pl.chunks || !th || !w)
		ok_die_class(OK_CLASS_IO, "out of memory");
	pthread_mutex_init(&pl.mu, NULL);
	pthread_cond_init(&pl.space, NULL);
	/* threads that cannot start leave their share to the others, the
	 * main thread at least (w[jobs - 1]) */
	int started = 0;
	for (; started < jobs - 1; started++) {
		w[started].pl = &pl;
		if (pthread_create(&th[started], NULL, pool_worker, &w[started]) != 0)
			break;
	}
	w[jobs - 1].pl = &pl;
	pool_worker(&w[jobs - 1]);
	for (int t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	for (int t = 0; t < jobs; t++)
		rpm_batch_free(w[t].b);
	pthread_cond_destroy(&pl.space);
	pthread_mutex_destroy(&pl.mu);
	free(w);
	free(th);
	free(pl.chunks);
	return pl.failed;
}

#ifdef RPMQ_QUERY_ONLY
/* -K, --extract, --cat, --cpio, --tar, --repo: run rpmq-payload from our own
 * directory with the same arguments (see rpmq/meson.build for why there are
 * two programs). */
static _Noreturn void exec_payload(char **argv)
{
	char self[PATH_MAX + 32];
	if (io_exe_sibling("rpmq-payload", self, sizeof(self)) == 0)
		execv(self, argv);
	execvp("rpmq-payload", argv);
	ok_die_class(
	    OK_CLASS_IO,
	    "cannot run rpmq-payload for -K, --extract, --cat, --cpio, --tar or --repo: %s",
	    strerror(errno));
}

#else
static int other_one(struct ctx *c, const struct rpm_keyring *kr, const char *path)
{
	struct rpm_pkg p;
	struct ok_err e;
	ok_err_clear(&e);
	int rc = rpm_pkg_open(&p, path, &e);
	if (rc < 0)
		return ok_err_fail(&e);
	switch (c->verb) {
	case VERB_CHECK:
		rc = rpm_check_sigs(
		    &p, &(struct rpm_check_opts){c->verbose, c->nosignature, c->nodigest, kr},
		    stdout, &e);
		break;
	case VERB_EXTRACT: {
		struct rpm_extract_opts o = {c->xflags, (const char *const *)c->xpaths, c->nxpaths,
					     -1};
		rc = rpm_extract_files(&p, c->dir ? c->dir : ".", &o, &e);
		break;
	}
	case VERB_CAT:
		fflush(stdout);
		rc = rpm_cat(&p, c->cat, c->ncat, STDOUT_FILENO, getenv("TMPDIR"), &e);
		break;
	case VERB_TAR:
		fflush(stdout);
		rc = rpm_write_tar(&p, STDOUT_FILENO, 0, &e);
		break;
	case VERB_CPIO:
		fflush(stdout);
		rc = rpm_write_cpio(&p, STDOUT_FILENO, &e);
		break;
	default:
		break;
	}
	rpm_pkg_close(&p);
	if (rc < 0)
		return ok_err_fail(&e);
	return rc == 1 ? ok_exit_class(OK_CLASS_NEGATIVE) : OK_EXIT_OK; /* a BAD digest */
}
#endif

/* --diff OLD NEW: rpmdiff's exit status (0 same, 1 different, 2 an error). */
static int diff_two(const struct ctx *c, const char *old, const char *new)
{
	const struct rpm_diff_opts o = {c->ignore, c->exclude, c->nexclude};
	struct rpm_pkg a, b;
	struct ok_err e;
	ok_err_clear(&e);
	(void)rpm_tag_by_num(0);
	if (rpm_pkg_open_headers(&a, old, &e) < 0) {
		ok_err_print(&e);
		return 2;
	}
	if (rpm_pkg_open_headers(&b, new, &e) < 0) {
		rpm_pkg_close(&a);
		ok_err_print(&e);
		return 2;
	}
	int rc = rpm_diff(&a, &b, &o, stdout, &e);
	rpm_pkg_close(&a);
	rpm_pkg_close(&b);
	if (rc < 0)
		ok_err_print(&e);
	if (fflush(stdout) != 0)
		return 2;
	return rc < 0 ? 2 : rc;
}

#ifndef RPMQ_QUERY_ONLY
/* --repo DIR: load the metadata the modes need, then print. */
static int repo_query(struct ctx *c)
{
	struct rpm_repo *r;
	struct ok_err e;
	ok_err_clear(&e);
	if (c->nrmodes == 0)
		c->rmodes[c->nrmodes++] = REPO_NVRA;
	int files = 0;
	for (size_t i = 0; i < c->nrmodes; i++)
		files |= c->rmodes[i] == REPO_LIST;
	if (rpm_repo_load(&r, c->repo, files, &e) < 0)
		return ok_err_fail(&e);
	rpm_repo_print(r, c->rmodes, c->nrmodes, stdout);
	rpm_repo_free(r);
	return fflush(stdout) != 0 ? ok_exit_class(OK_CLASS_IO) : OK_EXIT_OK;
}
#endif

/* Dates (%c, %b, %a) follow the user's LC_TIME as rpm's do. Only that
 * category matters to our output, and loading a C locale costs more than
 * a whole header query, so C, POSIX and C.* are not loaded at all. */
static void set_time_locale(void)
{
	const char *l = getenv("LC_ALL");
	if (!l || !*l)
		l = getenv("LC_TIME");
	if (!l || !*l)
		l = getenv("LANG");
	if (!l || !*l || strcmp(l, "C") == 0 || strcmp(l, "POSIX") == 0 || strncmp(l, "C.", 2) == 0)
		return;
	setlocale(LC_TIME, "");
}

int main(int argc, char **argv)
{
	set_time_locale();
	static char obuf[1 << 16];
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	struct ctx c = {0};
	ok_exit_map = &ok_exit_rpm;
	int first = cli_parse(&spec, argc, argv, on_opt, &c);
	if (c.diffopt && c.verb != VERB_DIFF)
		cli_usage_error(&spec, "--ignore and --exclude apply to --diff only");
	if (c.repo) {
		if (c.rbad)
			cli_usage_error(&spec,
					"--repo: --%s needs the package files (the repository's "
					"metadata does not hold its answer)",
					opt_name(c.rbad));
		if (first < argc)
			cli_usage_error(&spec, "--repo takes no FILE operands");
#ifdef RPMQ_QUERY_ONLY
		fflush(stdout);
		exec_payload(argv);
#else
		int rc = repo_query(&c);
		free(c.qf); /* the aliases' formats, unused here */
		return rc;
#endif
	}
	if (c.verb == VERB_DIFF) {
		if (argc - first != 2)
			cli_usage_error(&spec, "--diff takes two packages, OLD and NEW");
		if (c.qf || c.list != LIST_NONE || c.json || c.jobs || c.verbose || c.keyring ||
		    c.dir || c.xflags || c.repo)
			cli_usage_error(&spec, "--diff takes no other options");
		int rc = diff_two(&c, argv[first], argv[first + 1]);
		free(c.exclude);
		return rc;
	}
	if (first >= argc)
		cli_usage_error(&spec, "no package files given");
	if (c.npipe > 1)
		cli_usage_error(&spec, "more than one --pipe specified (--last, --dupes)");
	if (c.xflags && c.verb != VERB_EXTRACT)
		cli_usage_error(&spec, "--safe applies to --extract only");
	if (c.json && c.verb != VERB_QUERY)
		cli_usage_error(&spec, "--json applies to queries only");
	if (c.keyring && c.verb != VERB_CHECK)
		cli_usage_error(&spec, "--keyring applies to -K only");
	if ((c.verb == VERB_CPIO || c.verb == VERB_CAT || c.verb == VERB_TAR) && argc - first != 1)
		cli_usage_error(&spec, "--cpio, --cat and --tar take exactly one package");
	if (c.dir && c.verb != VERB_EXTRACT)
		cli_usage_error(&spec, "-C applies to --extract only");
	if (c.verb == VERB_TAR && isatty(STDOUT_FILENO))
		cli_usage_error(&spec, "--tar: refusing to write an archive to a terminal");
	if (c.verb == VERB_EXTRACT) {
		/* FILE [PATH...]: the files to take out of the package */
		c.xpaths = argv + first + 1;
		c.nxpaths = (size_t)(argc - first - 1);
		argc = first + 1;
	}
	int failed = 0;
	if (c.verb != VERB_QUERY) {
#ifdef RPMQ_QUERY_ONLY
		fflush(stdout);
		exec_payload(argv);
#else
		struct rpm_keyring kr = {0};
		if (c.keyring) {
			struct ok_err e;
			ok_err_clear(&e);
			if (rpm_keyring_load(&kr, c.keyring, &e) < 0) {
				rpm_keyring_free(&kr);
				free(c.qf);
				return ok_err_fail(&e);
			}
		}
		for (int i = first; i < argc; i++)
			failed += other_one(&c, &kr, argv[i]) != 0;
		fflush(stdout);
		rpm_keyring_free(&kr);
		free(c.qf);
		free(c.cat);
		return rpm_status(failed);
#endif
	}
	struct rpm_qf *qf = NULL;
	/* rpm 4.20's --json and --last/--dupes are all --qf aliases: rpm would
	 * run the JSON text through the alias's sort pipe and print garbage */
	if (c.json && c.pipe != PIPE_NONE)
		cli_usage_error(&spec, "--json cannot be combined with --last or --dupes (their "
				       "sort pipes reorder text lines, not JSON objects)");
	if (c.json && (c.qf || c.list != LIST_NONE))
		cli_usage_error(&spec,
				"--json cannot be combined with query formats or file lists");
	if (c.json == JSON_AUTO)
		c.json = argc - first > 1 ? JSON_ARRAY : JSON_RPM;
	if (!c.json && (c.qf || c.list == LIST_NONE)) {
		struct ok_err e;
		ok_err_clear(&e);
		qf = rpm_qf_compile(c.qf ? c.qf : rpm_alias_qf("default"), &e);
		if (!qf) {
			/* rpm 4.18 prints "error: incorrect format: ..." and exits
			 * 0 without reading a package; so does rpmq */
			ok_err_print(&e);
			free(c.qf);
			return fflush(stdout) != 0 ? ok_exit_class(OK_CLASS_IO) : OK_EXIT_OK;
		}
	}
	char *buf = NULL, *piped = NULL;
	size_t cap = 0, npiped = 0;
	c.out = stdout;
	if (c.pipe != PIPE_NONE) {
		/* sort collates in the user's locale */
		setlocale(LC_COLLATE, "");
		c.out = open_memstream(&piped, &npiped);
		if (!c.out)
			ok_die(OK_EXIT_IO, "out of memory");
	}
	long long now = (long long)time(NULL);
	int jobs = c.jobs ? c.jobs : 1;
	if (jobs > argc - first)
		jobs = argc - first;
	/* the tag tables are built on first use (pthread_once): build them
	 * before any worker, so that tools that do not model pthread_once
	 * (helgrind) see the writes happen before the threads start */
	(void)rpm_tag_by_num(0);
	(void)rpm_tag_type_418(0);
	if (jobs > 1) {
		failed = query_parallel(&c, qf, argv + first, argc - first, now, jobs);
	} else {
		/* windows of BATCH packages through one io_uring (batch.c) */
		int nb = argc - first < BATCH ? argc - first : BATCH;
		unsigned w = nb > 1 ? ring_window((unsigned)nb, 1) : 0;
		if (w >= 2) /* a low descriptor limit: smaller windows */
			nb = (int)w;
		struct rpm_batch *b = w >= 2 ? batch_new(w) : NULL;
		for (int i = first; i < argc; i++) {
			struct ok_err e;
			unsigned k = (unsigned)((i - first) % nb);
			if (k == 0)
				rpm_batch_load(b, argv + i,
					       argc - i < nb ? (unsigned)(argc - i) : (unsigned)nb);
			if (c.json == JSON_ARRAY) {
				/* an element is printed whole, or not at all */
				char *el = NULL;
				size_t len = 0;
				FILE *m = open_memstream(&el, &len);
				if (!m)
					ok_die_class(OK_CLASS_IO, "out of memory");
				int rc = query_one(&c, qf, b, k, argv[i], now, m, &buf, &cap, &e);
				if (fclose(m) != 0)
					ok_die_class(OK_CLASS_IO, "out of memory");
				if (rc < 0)
					failed += ok_err_fail(&e) != 0;
				else
					emit(&c, el, len);
				free(el);
			} else if (query_one(&c, qf, b, k, argv[i], now, c.out, &buf, &cap, &e) <
				   0) {
				failed += ok_err_fail(&e) != 0;
			}
		}
		rpm_batch_free(b);
	}
	json_close(&c);
	if (c.pipe != PIPE_NONE) {
		if (fclose(c.out) != 0 || rpm_pipe_apply(c.pipe, piped, npiped, stdout) < 0)
			ok_die(OK_EXIT_IO, "out of memory");
		free(piped);
	}
	free(buf);
	rpm_qf_free(qf);
	free(c.qf);
	free(c.cat);
	if (fflush(stdout) != 0)
		return ok_exit_class(OK_CLASS_IO);
	return rpm_status(failed);
}
