/*
 * serve.c: the `mdraid serve` and `mdraid stop` verbs, the front end of
 * nbdkit-mdraid-plugin.so (nbdkit_plugin.c).
 *
 *   mdraid serve --socket=PATH [--readonly] [--force] [--no-direct]
 *                [--sync-speed-min=KIB] [--sync-speed-max=KIB] MEMBER...
 *   mdraid serve --status --socket=PATH
 *   mdraid stop --socket=PATH
 *   mdraid overlay commit [--force] [--no-direct] DIR MEMBER...
 *   mdraid overlay discard DIR
 *
 * serve replaces itself with `nbdkit -f -U PATH PLUGIN member=...`: the
 * field's NBD server stays the server (its protocol, its signals, its
 * logging), and the process the user started is the one that serves, so
 * SIGTERM or Ctrl-C reach nbdkit, whose normal exit makes the plugin finish
 * the writes and mark the array clean. The plugin is looked for next to this
 * executable first (a build tree: build/mdraid/ holds both), then in
 * nbdkit's plugin directory it was installed to (MDRAID_PLUGIN_DIR).
 *
 * stop finds the server through the socket itself (SO_PEERCRED names the
 * process that listens), checks that it is nbdkit running this plugin, sends
 * SIGTERM and waits until the process is gone: when stop returns 0 the
 * plugin's cleanup (flush, members synced, superblocks clean) has run.
 * No pid file: the socket is the one name both sides already share.
 *
 * overlay commit|discard end what `serve --overlay=DIR` began (overlay.h):
 * commit writes the overlay's blocks into the array, discard drops them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "io.h"
#include "mdraid.h"
#include "overlay.h"
#include "serve.h"

#ifndef MDRAID_PLUGIN_DIR
#define MDRAID_PLUGIN_DIR "/usr/lib/x86_64-linux-gnu/nbdkit/plugins"
#endif
#define PLUGIN_NAME "nbdkit-mdraid-plugin.so"

static const char serve_help[] =
    "Usage: mdraid serve --socket=PATH [OPTIONS] MEMBER...\n"
    "\n"
    "Serve the array over NBD on the unix socket PATH: runs nbdkit (in the\n"
    "foreground) with nbdkit-mdraid-plugin.so. Any NBD client can use it:\n"
    "nbdfuse, nbdcopy, qemu (nbd+unix:///?socket=PATH), nbd-client.\n"
    "The first write marks the array active and sets the write-intent bitmap\n"
    "as md does; SIGTERM, Ctrl-C or `mdraid stop --socket=PATH` finish the\n"
    "writes, sync the members and mark the array clean.\n"
    "An array md would resync (not stopped cleanly) or repair (--force left\n"
    "RAID6 one member short) gets that pass in the background while it is\n"
    "served, checkpointed in resync_offset as md does; its progress is in\n"
    "PATH.status (`mdraid serve --status --socket=PATH` prints it).\n";

static const char overlay_help[] =
    "Usage: mdraid overlay commit [--force] [--no-direct] DIR MEMBER...\n"
    "       mdraid overlay discard DIR\n"
    "\n"
    "End the copy-on-write overlay that `mdraid serve --overlay=DIR` (or the\n"
    "plugin's overlay=DIR) kept in DIR/mdraid-overlay.cow. commit writes its\n"
    "blocks into the array as `mdraid write` would (bitmap, events, clean at\n"
    "the end), then removes the file; a commit that was cut is run again whole.\n"
    "discard removes the file; the members keep what they had.\n";

static const char stop_help[] =
    "Usage: mdraid stop --socket=PATH\n"
    "\n"
    "Stop the `mdraid serve` (or nbdkit with the mdraid plugin) listening on\n"
    "PATH: SIGTERM, then wait until it has exited, which it does after the\n"
    "writes are on the members and the array is marked clean.\n";

enum {
	OPT_SOCKET = 'U',
	OPT_READONLY = 'r',
	OPT_FORCE = 'f',
	OPT_OVERLAY = 256,
	OPT_NO_DIRECT,
	OPT_DRY_RUN,
	OPT_STATUS,
	OPT_SPEED_MIN,
	OPT_SPEED_MAX
};

static const struct cli_opt serve_opts[] = {
    {"socket", 'U', CLI_ARG, OPT_SOCKET, "PATH", "the unix socket to listen on (required)"},
    {"readonly", 'r', CLI_FLAG, OPT_READONLY, NULL,
     "export read-only; nothing on the members changes"},
    {"force", 'f', CLI_FLAG, OPT_FORCE, NULL,
     "as mdraid read/write --force (dirty degraded array)"},
    {"overlay", 0, CLI_ARG, OPT_OVERLAY, "DIR",
     "writes go to DIR/mdraid-overlay.cow, the members stay\nuntouched (then: mdraid overlay "
     "commit|discard DIR)"},
    {"no-direct", 0, CLI_FLAG, OPT_NO_DIRECT, NULL, "buffered member I/O instead of O_DIRECT"},
    {"dry-run", 0, CLI_FLAG, OPT_DRY_RUN, NULL,
     "print what --force would write to stale members\n(mdadm --assemble --force's choice) and "
     "stop;\nnothing is written, nbdkit is not started"},
    {"sync-speed-min", 0, CLI_ARG, OPT_SPEED_MIN, "KIB",
     "resync/repair pass: KiB/s of each member it keeps\nwhile clients are busy (md's "
     "speed_limit_min, 1000)"},
    {"sync-speed-max", 0, CLI_ARG, OPT_SPEED_MAX, "KIB",
     "resync/repair pass: KiB/s at most (md's\nspeed_limit_max, 200000)"},
    {"status", 0, CLI_FLAG, OPT_STATUS, NULL,
     "print the pass's progress (PATH.status) of the\nserver on --socket and exit"},
    {0},
};

static const struct cli_opt overlay_opts[] = {
    {"force", 'f', CLI_FLAG, OPT_FORCE, NULL, "as mdraid write --force (a dirty degraded array)"},
    {"no-direct", 0, CLI_FLAG, OPT_NO_DIRECT, NULL, "buffered member I/O instead of O_DIRECT"},
    {0},
};

static const struct cli_opt stop_opts[] = {
    {"socket", 'U', CLI_ARG, OPT_SOCKET, "PATH", "the server's unix socket (required)"},
    {0},
};

static struct {
	const char *socket, *overlay, *speed_min, *speed_max;
	bool readonly, force, no_direct, dry_run, status;
} TT;

static int on_opt(void *ctx, int id, const char *arg)
{
	(void)ctx;
	switch (id) {
	case OPT_SOCKET:
		if (!*arg)
			return -1;
		TT.socket = arg;
		return 0;
	case OPT_OVERLAY:
		if (!*arg)
			return -1;
		TT.overlay = arg;
		return 0;
	case OPT_READONLY:
		TT.readonly = true;
		return 0;
	case OPT_FORCE:
		TT.force = true;
		return 0;
	case OPT_NO_DIRECT:
		TT.no_direct = true;
		return 0;
	case OPT_DRY_RUN:
		TT.dry_run = true;
		return 0;
	case OPT_STATUS:
		TT.status = true;
		return 0;
	case OPT_SPEED_MIN:
	case OPT_SPEED_MAX: {
		/* KiB/s, as md's speed_limit_* take them: a positive number */
		char *end;
		errno = 0;
		unsigned long long v = strtoull(arg, &end, 10);
		if (errno || end == arg || *end || v == 0 || arg[0] == '-')
			return -1;
		*(id == OPT_SPEED_MIN ? &TT.speed_min : &TT.speed_max) = arg;
		return 0;
	}
	}
	return -1;
}

static void nbd_abort(int fd);

/* The plugin beside /proc/self/exe, else the installed one; NULL if
 * neither exists (the message names both places). */
static const char *plugin_path(char *buf, size_t size)
{
	if (io_exe_sibling(PLUGIN_NAME, buf, size) == 0 && access(buf, R_OK) == 0)
		return buf;
	if (snprintf(buf, size, "%s/%s", MDRAID_PLUGIN_DIR, PLUGIN_NAME) < (int)size &&
	    access(buf, R_OK) == 0)
		return buf;
	fprintf(stderr,
		"mdraid: %s not found next to the mdraid executable nor in %s "
		"(built only where nbdkit-plugin-dev is installed)\n",
		PLUGIN_NAME, MDRAID_PLUGIN_DIR);
	return NULL;
}

/* nbdkit leaves its socket behind when it exits and will not bind over
 * it: a socket at path that nobody answers is removed; one that answers is
 * a server already running (-1, said). Anything else is left to nbdkit. */
static int stale_socket_remove(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0 || !S_ISSOCK(st.st_mode))
		return 0;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path))
		return 0;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	int rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	int err = errno;
	if (rc == 0)
		nbd_abort(fd);
	close(fd);
	if (rc == 0) {
		fprintf(stderr, "mdraid: %s: a server is already listening there\n", path);
		return -1;
	}
	if (err == ECONNREFUSED)
		unlink(path);
	return 0;
}

void md_forced_print(const char *forced, const char *prefix)
{
	for (const char *l = forced; *l;) {
		const char *nl = strchr(l, '\n');
		int len = nl ? (int)(nl - l) : (int)strlen(l);
		ok_warn("%s%.*s", prefix, len, l);
		l += len + (nl != NULL);
	}
}

/* serve --dry-run: the members opened read-only and chosen as the plugin
 * with force=true chooses (mdadm --assemble --force), the choice printed
 * with "would: ", nothing written and nbdkit not run. An exit code. */
static int serve_dry_run(int n, char **paths)
{
	struct md_array a;
	struct ok_err e;
	ok_err_clear(&e);
	if (md_array_open(&a, n, paths,
			  MD_OPEN_ASSEMBLE_FORCE | MD_OPEN_DRY_RUN |
			      (TT.no_direct ? MD_OPEN_NO_DIRECT : 0),
			  &e) < 0)
		return ok_err_fail(&e);
	md_forced_print(a.forced, "would: ");
	ok_warn("--dry-run: %s; nbdkit not started",
		a.forced[0] ? "nothing written" : "no member needs forcing");
	md_array_close(&a, NULL);
	return 0;
}

/* serve --status: the plugin's status file beside the socket, printed. */
static int serve_status(void)
{
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s.status", TT.socket) >= (int)sizeof(path)) {
		fprintf(stderr, "mdraid: %s: path too long\n", TT.socket);
		return OK_EXIT_USAGE;
	}
	FILE *f = fopen(path, "r");
	if (!f) {
		fprintf(stderr, "mdraid: %s: %s (no mdraid serve on %s?)\n", path, strerror(errno),
			TT.socket);
		return OK_EXIT_FAIL;
	}
	char line[1024];
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	fclose(f);
	return 0;
}

/* "key=value" for the plugin's command line, malloc'd (exits when out of
 * memory: serve is about to exec). */
static char *kv_arg(const char *key, const char *value)
{
	size_t len = strlen(key) + strlen(value) + 2;
	char *kv = malloc(len);
	if (!kv) {
		fprintf(stderr, "mdraid: out of memory\n");
		exit(OK_EXIT_INTERNAL);
	}
	snprintf(kv, len, "%s=%s", key, value);
	return kv;
}

int serve_main(int argc, char **argv)
{
	struct cli_spec spec = {"mdraid serve", serve_help, serve_opts, 0, NULL};
	int first = cli_parse(&spec, argc, argv, on_opt, NULL);
	int n = argc - first;
	if (!TT.socket)
		cli_usage_error(&spec, "--socket=PATH is required");
	if (TT.status) {
		if (n > 0)
			cli_usage_error(&spec, "--status takes no members");
		return serve_status();
	}
	if (n < 2)
		cli_usage_error(&spec,
				"give every member (at least two; 'missing' for an absent one)");
	if (TT.readonly && TT.overlay)
		cli_usage_error(&spec, "--overlay takes the writes: it cannot go with --readonly");
	if (TT.dry_run)
		return serve_dry_run(n, argv + first);
	char plugin[PATH_MAX];
	if (!plugin_path(plugin, sizeof(plugin)))
		return OK_EXIT_REFUSED;
	if (stale_socket_remove(TT.socket) < 0)
		return OK_EXIT_REFUSED;
	/* nbdkit -f -U SOCKET PLUGIN member=... [readonly=true] ...: at most
	 * MD_MAX_MEMBERS members are accepted by the plugin, which says so */
	size_t max = (size_t)n + 16;
	char **av = calloc(max, sizeof(*av));
	if (!av) {
		fprintf(stderr, "mdraid: out of memory\n");
		return OK_EXIT_INTERNAL;
	}
	size_t k = 0;
	av[k++] = "nbdkit";
	av[k++] = "-f";
	av[k++] = "-U";
	av[k++] = (char *)TT.socket;
	av[k++] = plugin;
	for (int i = 0; i < n; i++) {
		size_t len = strlen(argv[first + i]) + sizeof("member=");
		char *kv = malloc(len);
		if (!kv) {
			fprintf(stderr, "mdraid: out of memory\n");
			return OK_EXIT_INTERNAL;
		}
		snprintf(kv, len, "member=%s", argv[first + i]);
		av[k++] = kv;
	}
	if (TT.readonly)
		av[k++] = "readonly=true";
	if (TT.force)
		av[k++] = "force=true";
	if (TT.no_direct)
		av[k++] = "direct=false";
	char *ov = NULL;
	if (TT.overlay) {
		size_t len = strlen(TT.overlay) + sizeof("overlay=");
		if (!(ov = malloc(len))) {
			fprintf(stderr, "mdraid: out of memory\n");
			return OK_EXIT_INTERNAL;
		}
		snprintf(ov, len, "overlay=%s", TT.overlay);
		av[k++] = ov;
	}
	if (TT.speed_min)
		av[k++] = kv_arg("sync_speed_min", TT.speed_min);
	if (TT.speed_max)
		av[k++] = kv_arg("sync_speed_max", TT.speed_max);
	/* the pass's progress beside the socket (serve --status); an old
	 * one is removed, the plugin writes its own */
	char *status = kv_arg("status", TT.socket);
	status = realloc(status, strlen(status) + sizeof(".status"));
	if (!status) {
		fprintf(stderr, "mdraid: out of memory\n");
		return OK_EXIT_INTERNAL;
	}
	strcat(status, ".status");
	unlink(status + strlen("status="));
	av[k++] = status;
	av[k] = NULL;
	fflush(stdout);
	execvp("nbdkit", av);
	fprintf(stderr, "mdraid: cannot run nbdkit: %s%s\n", strerror(errno),
		errno == ENOENT ? " (Debian package nbdkit)" : "");
	return OK_EXIT_REFUSED;
}

/* Leave an NBD server politely (the newstyle handshake, then
 * NBD_OPT_ABORT), so that it logs no broken handshake for the connection
 * stop made only to learn the server's pid. Best effort, 5 s at most. */
static void nbd_abort(int fd)
{
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	unsigned char greet[18]; /* "NBDMAGIC" "IHAVEOPT" handshake flags */
	size_t got = 0;
	while (got < sizeof(greet)) {
		ssize_t r = read(fd, greet + got, sizeof(greet) - got);
		if (r <= 0)
			return;
		got += (size_t)r;
	}
	if (memcmp(greet, "NBDMAGICIHAVEOPT", 16) != 0)
		return;
	/* client flags FIXED_NEWSTYLE | NO_ZEROES, then option 2 (ABORT),
	 * no data; the reply (an ACK) is read and dropped */
	static const unsigned char msg[] = {0,	 0,   0, 3, 'I', 'H', 'A', 'V', 'E', 'O',
					    'P', 'T', 0, 0, 0,	 2,   0,   0,	0,   0};
	if (write(fd, msg, sizeof(msg)) != (ssize_t)sizeof(msg))
		return;
	unsigned char reply[20];
	(void)!read(fd, reply, sizeof(reply));
}

/* The pid listening on the unix socket at path (SO_PEERCRED of a connection
 * to it), or -1 with a message printed. */
static pid_t socket_server_pid(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "mdraid: %s: socket path too long (at most %zu bytes)\n", path,
			sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "mdraid: %s: cannot connect: %s (no server there?)\n", path,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int rc = getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
	int err = errno;
	nbd_abort(fd);
	close(fd);
	if (rc < 0 || cred.pid <= 0) {
		fprintf(stderr, "mdraid: %s: cannot tell which process listens: %s\n", path,
			strerror(err));
		return -1;
	}
	return cred.pid;
}

/* Whether pid runs nbdkit with this plugin (its command line names both):
 * stop signals nothing else. */
static bool is_mdraid_nbdkit(pid_t pid)
{
	char p[64], cmd[8192];
	snprintf(p, sizeof(p), "/proc/%d/cmdline", (int)pid);
	int fd = open(p, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	ssize_t n = read(fd, cmd, sizeof(cmd) - 1);
	close(fd);
	if (n <= 0)
		return false;
	cmd[n] = 0;
	bool nbdkit = false, plugin = false;
	for (ssize_t i = 0; i < n; i += (ssize_t)strlen(cmd + i) + 1) {
		const char *base = strrchr(cmd + i, '/');
		base = base ? base + 1 : cmd + i;
		if (i == 0 && strcmp(base, "nbdkit") == 0)
			nbdkit = true;
		if (strcmp(base, PLUGIN_NAME) == 0 || strcmp(cmd + i, "mdraid") == 0)
			plugin = true;
	}
	return nbdkit && plugin;
}

int stop_main(int argc, char **argv)
{
	struct cli_spec spec = {"mdraid stop", stop_help, stop_opts, 0, NULL};
	int first = cli_parse(&spec, argc, argv, on_opt, NULL);
	if (!TT.socket)
		cli_usage_error(&spec, "--socket=PATH is required");
	if (first < argc)
		cli_usage_error(&spec, "unexpected operand '%s'", argv[first]);
	pid_t pid = socket_server_pid(TT.socket);
	if (pid < 0)
		return OK_EXIT_FAIL;
	if (!is_mdraid_nbdkit(pid)) {
		fprintf(
		    stderr,
		    "mdraid: %s: process %d is not nbdkit with the mdraid plugin; not stopped\n",
		    TT.socket, (int)pid);
		return OK_EXIT_REFUSED;
	}
	/* a pidfd: the wait below cannot be fooled by the pid being reused */
	int pfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (kill(pid, SIGTERM) < 0) {
		fprintf(stderr, "mdraid: cannot signal process %d: %s\n", (int)pid,
			strerror(errno));
		return OK_EXIT_FAIL;
	}
	if (pfd >= 0) {
		struct pollfd pf = {.fd = pfd, .events = POLLIN};
		while (poll(&pf, 1, -1) < 0 && errno == EINTR)
			;
		close(pfd);
	} else {
		while (kill(pid, 0) == 0)
			usleep(20000);
	}
	stale_socket_remove(TT.socket); /* nbdkit leaves it behind */
	return 0;
}

int overlay_main(int argc, char **argv)
{
	struct cli_spec spec = {"mdraid overlay", overlay_help, overlay_opts, 0, NULL};
	int first = cli_parse(&spec, argc, argv, on_opt, NULL);
	int n = argc - first;
	if (n < 2)
		cli_usage_error(&spec, "give commit or discard, and the overlay directory");
	const char *what = argv[first], *dir = argv[first + 1];
	struct ok_err e;
	ok_err_clear(&e);
	if (strcmp(what, "discard") == 0) {
		if (n != 2)
			cli_usage_error(&spec, "discard takes only the directory");
		return md_overlay_discard(dir, &e) < 0 ? ok_err_fail(&e) : 0;
	}
	if (strcmp(what, "commit") != 0)
		cli_usage_error(&spec, "'%s': expected commit or discard", what);
	if (n < 4)
		cli_usage_error(&spec, "commit needs the directory and every member");
	struct md_array a;
	unsigned flags =
	    MD_OPEN_WRITE | (TT.force ? MD_OPEN_FORCE : 0) | (TT.no_direct ? MD_OPEN_NO_DIRECT : 0);
	if (md_array_open(&a, n - 2, argv + first + 2, flags, &e) < 0)
		return ok_err_fail(&e);
	uint64_t blocks = 0;
	bool was_dirty = a.dirty;
	int rc = md_overlay_commit(dir, &a, &blocks, &e);
	struct ok_err ce;
	ok_err_clear(&ce);
	int rc2 = md_array_close(&a, &ce);
	if (rc < 0)
		return ok_err_fail(&e);
	if (rc2 < 0)
		return ok_err_fail(&ce);
	fprintf(stderr, "mdraid: overlay committed: %llu blocks of %u KiB written into the array\n",
		(unsigned long long)blocks, MD_OVERLAY_BLOCK >> 10);
	if (was_dirty)
		fprintf(stderr,
			"mdraid: the array was active (dirty) before, as a cut commit leaves "
			"it: it stays so, and md resyncs it at its next assembly (the "
			"bitmap's regions)\n");
	return 0;
}
