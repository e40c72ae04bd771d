/*
 * ctl.c: logsift-ctl, the control client: sends one command to a running
 * logsift's control socket (logsift --control=SOCK) and prints the answer,
 * as syslog-ng-ctl does (same verbs, same "stats" output shape, so scripts
 * carry over).
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

static const char help[] = "usage: logsift-ctl [-c SOCK] stats|reload|stop\n"
			   "\n"
			   "Talks to a running logsift through its control socket.\n";

/* After the option list. */
static const char footer[] =
    "  stats    counters as syslog-ng-ctl stats prints them:\n"
    "           SourceName;SourceId;SourceInstance;State;Type;Number\n"
    "  reload   re-read the configuration (as SIGHUP)\n"
    "  stop     stop the daemon (as SIGTERM)\n"
    "Exit (as syslog-ng-ctl): 0 ok, 1 usage error, the daemon answered FAIL or\n"
    "could not be reached.\n";

static const struct cli_opt opts[] = {
    {"control", 'c', CLI_ARG, 'c', "SOCK",
     "the daemon's --control socket (default /run/logsift.ctl)"},
    {0},
};
static const struct cli_spec spec = {"logsift-ctl", help, opts, 0, footer};

static int on_opt(void *ctx, int id, const char *arg)
{
	if (id == 'c')
		*(const char **)ctx = arg;
	return 0;
}

int main(int argc, char **argv)
{
	const char *sock = "/run/logsift.ctl";
	ok_exit_map = &ok_exit_syslog_ng; /* syslog-ng-ctl: 1 for every failure */
	int first = cli_parse(&spec, argc, argv, on_opt, &sock);
	static const char *const verbs[][2] = {
	    {"stats", "STATS\n"}, {"reload", "RELOAD\n"}, {"stop", "STOP\n"}};
	const char *cmd = NULL;
	for (size_t i = 0; first == argc - 1 && i < 3; i++)
		if (!strcmp(argv[first], verbs[i][0]))
			cmd = verbs[i][1];
	if (!cmd)
		cli_usage_error(&spec, "expected one of stats, reload, stop");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(sock) >= sizeof sa.sun_path)
		cli_usage_error(&spec, "%s: path too long", sock);
	strcpy(sa.sun_path, sock);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		ok_die_class(OK_CLASS_IO, "%s: %s", sock, strerror(errno));
	if (io_write_full(fd, cmd, strlen(cmd)) < 0)
		ok_die_class(OK_CLASS_IO, "%s: %s", sock, strerror(errno));
	char buf[65536];
	ssize_t r;
	int rc = 0;
	bool first_chunk = true;
	while ((r = read(fd, buf, sizeof buf)) > 0) {
		if (first_chunk && r >= 4 && !memcmp(buf, "FAIL", 4))
			rc = ok_exit_class(OK_CLASS_NEGATIVE);
		first_chunk = false;
		fwrite(buf, 1, (size_t)r, stdout);
	}
	close(fd);
	return rc;
}
