/*
 * ctl.c: logsift-ctl, the control client: sends one command to a running
 * logsift's control socket (logsift --control=SOCK) and prints the answer,
 * as syslog-ng-ctl 3.38 does: same verbs and options, same protocol (a
 * command line out; answer lines in up to a "." line, an "OK " or "FAIL "
 * prefix taken off), same output, so scripts carry over and either client
 * talks to either daemon.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "err.h"
#include "io.h"

static const char help[] = "usage: logsift-ctl [-c SOCK] stats [--reset] [--remove-orphans]\n"
			   "       logsift-ctl [-c SOCK] query list [PATTERN] [--reset]\n"
			   "       logsift-ctl [-c SOCK] query get [--sum] [--reset] PATTERN\n"
			   "       logsift-ctl [-c SOCK] reload|stop\n"
			   "\n"
			   "Talks to a running logsift through its control socket.\n";

/* After the option list. */
static const char footer[] =
    "Commands:\n"
    "  stats    counters as syslog-ng-ctl stats prints them:\n"
    "           SourceName;SourceId;SourceInstance;State;Type;Number\n"
    "  query    counters by name (component.id.instance.type, e.g.\n"
    "           center.received.processed); PATTERN is a glob of '*' and '?'\n"
    "    list      the names matching PATTERN (default '*')\n"
    "    get       NAME=VALUE of each match; --sum: their sum\n"
    "  reload   re-read the configuration (as SIGHUP); answers when done\n"
    "  stop     stop the daemon (as SIGTERM)\n"
    "Exit (as syslog-ng-ctl): 0 ok, 1 usage error, the daemon answered FAIL or\n"
    "could not be reached.\n";

enum { OPT_SUM = 256, OPT_RESET, OPT_ORPHANS };
static const struct cli_opt opts[] = {
    {"control", 'c', CLI_ARG, 'c', "SOCK",
     "the daemon's --control socket (default /run/logsift.ctl)"},
    {"sum", 0, CLI_FLAG, OPT_SUM, NULL, "query get: print the sum of the matches"},
    {"reset", 'r', CLI_FLAG, OPT_RESET, NULL,
     "stats: set every counter but queued to 0; query: set\nthe matched counters to 0 after "
     "answering"},
    {"remove-orphans", 'o', CLI_FLAG, OPT_ORPHANS, NULL,
     "stats: as syslog-ng-ctl (logsift keeps no orphans)"},
    {0},
};
static const struct cli_spec spec = {"logsift-ctl", help, opts, 0, footer};

struct ctl_args {
	const char *sock;
	bool sum, reset, orphans;
};

static int on_opt(void *ctx, int id, const char *arg)
{
	struct ctl_args *a = ctx;
	if (id == 'c')
		a->sock = arg;
	else if (id == OPT_SUM)
		a->sum = true;
	else if (id == OPT_RESET)
		a->reset = true;
	else
		a->orphans = true;
	return 0;
}

/*
 * The protocol command for argv[first..] (syslog-ng-ctl's words), written
 * into cmd; false for what syslog-ng-ctl answers with exit 1 and no output
 * (an unknown query verb, list --sum), after printing its error where it
 * prints one (a get without a pattern).
 */
static bool build_cmd(const struct ctl_args *a, int argc, char **argv, int first, char *cmd,
		      size_t size)
{
	const char *verb = argv[first];
	if (!strcmp(verb, "stats") || !strcmp(verb, "reload") || !strcmp(verb, "stop")) {
		if (first != argc - 1)
			cli_usage_error(&spec, "%s takes no operands", verb);
		const char *c = !strcmp(verb, "reload") ? "RELOAD"
				: !strcmp(verb, "stop") ? "STOP"
				: a->reset		? "RESET_STATS"
				: a->orphans		? "REMOVE_ORPHANED_STATS"
							: "STATS";
		snprintf(cmd, size, "%s\n", c);
		return true;
	}
	if (strcmp(verb, "query"))
		cli_usage_error(&spec, "expected one of stats, query, reload, stop");
	if (first + 1 >= argc)
		return false;
	const char *sub = argv[first + 1];
	const char *q;
	if (!strcmp(sub, "list") && !a->sum)
		q = a->reset ? "LIST_RESET" : "LIST";
	else if (!strcmp(sub, "get"))
		q = a->sum     ? (a->reset ? "GET_SUM_RESET" : "GET_SUM")
		    : a->reset ? "GET_RESET"
			       : "GET";
	else
		return false;
	if (q[0] == 'G' && first + 2 >= argc) {
		fprintf(stderr, "error: need a path argument\n");
		return false;
	}
	/* the patterns joined by spaces, as g_strjoinv: 3.38 then takes the
	 * whole rest of the line as one pattern */
	size_t n = (size_t)snprintf(cmd, size, "QUERY %s", q);
	for (int i = first + 2; i < argc && n < size; i++)
		n += (size_t)snprintf(cmd + n, size - n, " %s", argv[i]);
	if (n + 2 > size)
		cli_usage_error(&spec, "pattern too long");
	memcpy(cmd + n, "\n", 2);
	return true;
}

int main(int argc, char **argv)
{
	struct ctl_args a = {"/run/logsift.ctl", false, false, false};
	ok_exit_map = &ok_exit_syslog_ng; /* syslog-ng-ctl: 1 for every failure */
	int first = cli_parse(&spec, argc, argv, on_opt, &a);
	if (first >= argc)
		cli_usage_error(&spec, "expected one of stats, query, reload, stop");
	char cmd[4096];
	if (!build_cmd(&a, argc, argv, first, cmd, sizeof cmd))
		return ok_exit_class(OK_CLASS_NEGATIVE);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(a.sock) >= sizeof sa.sun_path)
		cli_usage_error(&spec, "%s: path too long", a.sock);
	strcpy(sa.sun_path, a.sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		/* syslog-ng-ctl's words, on stderr */
		fprintf(stderr, "Error connecting control socket, socket='%s', error='%s'\n",
			a.sock, strerror(errno));
		return ok_exit_class(OK_CLASS_IO);
	}
	if (io_write_full(fd, cmd, strlen(cmd)) < 0)
		ok_die_class(OK_CLASS_IO, "%s: %s", a.sock, strerror(errno));
	FILE *in = fdopen(fd, "r");
	if (!in)
		ok_die_class(OK_CLASS_IO, "%s: %s", a.sock, strerror(errno));
	/* line by line up to ".": each line loses an "OK " or "FAIL " prefix
	 * (syslog-ng-ctl checks every line, not only the first) */
	char line[8192];
	int rc = 0;
	for (;;) {
		if (!fgets(line, sizeof line, in)) {
			fprintf(stderr, "Error reading or EOF occured on socket, error='%s'\n",
				strerror(errno));
			fclose(in);
			return ok_exit_class(OK_CLASS_IO);
		}
		if (!strcmp(line, ".\n"))
			break;
		const char *p = line;
		if (!strncmp(p, "FAIL ", 5)) {
			p += 5;
			if (!rc)
				rc = ok_exit_class(OK_CLASS_NEGATIVE);
		} else if (!strncmp(p, "OK ", 3)) {
			p += 3;
		}
		fputs(p, stdout);
	}
	fclose(in);
	return rc;
}
