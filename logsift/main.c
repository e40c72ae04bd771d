/*
 * main.c: the logsift command: options, then one library call per verb
 * (daemon, --syntax-only, --test), printing and exit codes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "err.h"
#include "logsift.h"
#include "ls_int.h"

static const char help[] =
    "usage: logsift [-eFdvt] [-f CONF] [--syntax-only] [--test] [--trace=MODE]\n"
    "               [--trace-match=EXPR] [--stats] [-p PIDFILE]\n"
    "\n"
    "A syslog daemon that reads syslog-ng 3.x configuration, receives, filters\n"
    "and stores messages as syslog-ng 3.38 does, and prints the classic\n"
    "(syslog-ng 3.2) per-node filter trace.\n";

/* After the option list. */
static const char footer[] =
    "Signals: SIGTERM/SIGINT flush and exit, SIGHUP reloads the configuration\n"
    "(a bad one is reported and the old one kept), SIGUSR1 prints statistics.\n"
    "Exit: 0 ok, 1 configuration syntax error, 2 reference error or startup\n"
    "failure (syslog-ng's codes), 4 I/O error.\n";

enum {
	OPT_SYNTAX = 256,
	OPT_TEST,
	OPT_TRACE,
	OPT_TRACE_MATCH,
	OPT_STATS,
	OPT_IGNORE,
};

static const struct cli_opt opts[] = {
    {"cfgfile", 'f', CLI_ARG, 'f', "CONF",
     "configuration file (default /etc/syslog-ng/syslog-ng.conf)"},
    {"foreground", 'F', CLI_FLAG, 'F', NULL, "stay in the foreground (logsift always does)"},
    {"stderr", 'e', CLI_FLAG, 'e', NULL, "trace and messages go to stderr (else stdout)"},
    {"debug", 'd', CLI_FLAG, 'd', NULL,
     "trace every message: Incoming log entry, filter rules\nand nodes in the classic format"},
    {"verbose", 'v', CLI_FLAG, 'v', NULL, "accepted, as syslog-ng's -v"},
    {"trace-flag", 't', CLI_FLAG, 't', NULL, "same as -d (syslog-ng 3.38's trace switch)"},
    {"trace", 0, CLI_ARG, OPT_TRACE, "MODE",
     "classic (as -d), explain (adds raw results, values,\nlocations and deliveries) or off"},
    {"trace-match", 0, CLI_ARG, OPT_TRACE_MATCH, "EXPR",
     "trace only messages that the filter EXPR selects,\ne.g. --trace-match='program(\"sshd\")'"},
    {"syntax-only", 's', CLI_FLAG, OPT_SYNTAX, NULL,
     "check the configuration (references and filter loops\nincluded) and exit"},
    {"test", 0, CLI_FLAG, OPT_TEST, NULL,
     "no sockets: read messages from stdin, one a line, as\nif from the first source; print "
     "the trace and the\ndestinations each would reach, then the rules and\npaths that never "
     "matched"},
    {"stats", 0, CLI_FLAG, OPT_STATS, NULL,
     "print counters on exit (SIGUSR1 prints them any time)"},
    {"pidfile", 'p', CLI_ARG, 'p', "FILE", "write the PID to FILE"},
    {"control", 'c', CLI_ARG, 'c', "SOCK", "control socket for logsift-ctl (stats, reload, stop)"},
    {"no-caps", 0, CLI_FLAG, OPT_IGNORE, NULL, "accepted for syslog-ng command lines, ignored"},
    {"persist-file", 'R', CLI_ARG, 'R', "F",
     "keep where each file() source stopped in F, so a\nrestart neither re-reads nor skips lines"},
    {0},
};

static const struct cli_spec spec = {"logsift", help, opts, 0, footer};

struct ctx {
	const char *cfg;
	bool to_stderr, debug, syntax, test, stats;
	enum ls_trace_mode mode;
	bool mode_set;
	const char *match;
	const char *pidfile;
	const char *control;
	const char *persist;
};

static int on_opt(void *vctx, int id, const char *arg)
{
	struct ctx *c = vctx;
	switch (id) {
	case 'f':
		c->cfg = arg;
		break;
	case 'e':
		c->to_stderr = true;
		break;
	case 'd':
	case 't':
		c->debug = true;
		break;
	case OPT_TRACE:
		if (!strcmp(arg, "classic"))
			c->mode = LS_TRACE_CLASSIC;
		else if (!strcmp(arg, "explain"))
			c->mode = LS_TRACE_EXPLAIN;
		else if (!strcmp(arg, "off"))
			c->mode = LS_TRACE_OFF;
		else
			return -1;
		c->mode_set = true;
		break;
	case OPT_TRACE_MATCH:
		c->match = arg;
		break;
	case OPT_SYNTAX:
		c->syntax = true;
		break;
	case OPT_TEST:
		c->test = true;
		break;
	case OPT_STATS:
		c->stats = true;
		break;
	case 'p':
		c->pidfile = arg;
		break;
	case 'c':
		c->control = arg;
		break;
	case 'R':
		c->persist = arg;
		break;
	default:
		break;
	}
	return 0;
}

/*
 * After a syntax error "... in FILE:L1:C1-L2:C2:", show the lines around it
 * as syslog-ng does: "N       text", the bad line as "N-----> text" and a
 * caret line under the bad token.
 */
static void print_excerpt(const char *msg)
{
	const char *in = NULL;
	for (const char *p = strstr(msg, " in "); p; p = strstr(p + 1, " in "))
		in = p;
	if (!in)
		return;
	char path[4096];
	int l1, c1, l2, c2;
	const char *end = msg + strlen(msg);
	/* the position is the last four numbers: walk back over ":L1:C1-L2:C2:" */
	const char *q = end;
	int colons = 0;
	while (q > in + 4 && colons < 4) {
		q--;
		if (*q == ':')
			colons++;
	}
	if (colons < 4 || sscanf(q, ":%d:%d-%d:%d:", &l1, &c1, &l2, &c2) != 4)
		return;
	size_t plen = (size_t)(q - (in + 4));
	if (plen >= sizeof path)
		return;
	memcpy(path, in + 4, plen);
	path[plen] = 0;
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int no = 0;
	/* 3.38 shows no excerpt when the error is on the file's last line */
	while (getline(&line, &cap, f) >= 0)
		no++;
	if (no <= l2) {
		free(line);
		fclose(f);
		return;
	}
	rewind(f);
	no = 0;
	while ((n = getline(&line, &cap, f)) >= 0) {
		no++;
		if (no < l1 - 5 || no > l2 + 5)
			continue;
		if (n && line[n - 1] == '\n')
			line[--n] = 0;
		if (no >= l1 && no <= l2) {
			fprintf(stderr, "%d", no);
			for (int w = snprintf(NULL, 0, "%d", no); w < 6; w++)
				fputc('-', stderr);
			fprintf(stderr, "> %s\n", line);
			if (l1 == l2 && c2 > c1) {
				fprintf(stderr, "%d", no);
				for (int w = snprintf(NULL, 0, "%d", no); w < 6; w++)
					fputc('-', stderr);
				fprintf(stderr, ">%*s", c1, "");
				for (int k = c1; k < c2; k++)
					fputc('^', stderr);
				fputc('\n', stderr);
			}
		} else {
			fprintf(stderr, "%-8d%s\n", no, line);
		}
	}
	free(line);
	fclose(f);
	fputc('\n', stderr);
}

int main(int argc, char **argv)
{
	struct ctx ctx = {.cfg = "/etc/syslog-ng/syslog-ng.conf"};
	ok_exit_map = &ok_exit_syslog_ng; /* scripts test syslog-ng's 1 and 2 */
	int first = cli_parse(&spec, argc, argv, on_opt, &ctx);
	ls_tls_set_module(getenv("LOGSIFT_TLS_MODULE")); /* tls_mod.c; documented in logsift(1) */
	if (first < argc)
		cli_usage_error(&spec, "unexpected operand '%s'", argv[first]);
	struct ok_err e;
	ok_err_clear(&e);
	struct ls_cfg *cfg = ls_cfg_load(ctx.cfg, &e);
	if (!cfg) {
		/* as syslog-ng: each error line, then the excerpt its position names */
		for (char *line = e.msg, *nl; line; line = nl) {
			nl = strchr(line, '\n');
			if (nl)
				*nl++ = 0;
			fprintf(stderr, "%s\n", line);
			print_excerpt(line);
		}
		return ok_exit(&e);
	}
	for (size_t i = 0; i < ls_cfg_warning_count(cfg); i++)
		fprintf(stderr, "%s\n", ls_cfg_warning(cfg, i));
	if (ctx.syntax) {
		ls_cfg_free(cfg);
		return 0;
	}
	struct ls_trace trace = {0};
	trace.mode = ctx.mode_set ? ctx.mode : (ctx.debug ? LS_TRACE_CLASSIC : LS_TRACE_OFF);
	trace.out = ctx.to_stderr ? stderr : stdout;
	struct ls_filter *sel = NULL;
	if (ctx.match) {
		sel = ls_filter_compile(cfg, ctx.match, &e);
		if (!sel) {
			fprintf(stderr, "logsift: --trace-match: %s\n", e.msg);
			ls_cfg_free(cfg);
			return ok_exit_class(OK_CLASS_USAGE);
		}
		trace.sel = sel;
		if (trace.mode == LS_TRACE_OFF)
			trace.mode = LS_TRACE_CLASSIC;
	}
	int rc;
	if (ctx.test) {
		if (!ctx.mode_set && !ctx.debug && !ctx.match)
			trace.mode = LS_TRACE_CLASSIC;
		if (!ctx.to_stderr)
			trace.out = stdout;
		rc = ls_test_run(cfg, stdin, &trace, stdout);
		if (ctx.stats)
			ls_stats_print(cfg, stdout);
		if (rc == -ENOENT) {
			fprintf(stderr, "logsift: --test: the configuration has no source\n");
			rc = ok_exit_class(OK_CLASS_DATA);
		} else {
			rc = 0;
		}
	} else {
		struct ls_daemon_opts o = {ctx.cfg,	&trace,	     ctx.stats,
					   ctx.pidfile, ctx.control, ctx.persist};
		rc = ls_daemon_run(&cfg, &o, &e);
		if (rc) {
			fprintf(stderr, "%s%s%s%s%s\n", e.msg, e.path[0] ? ": " : "", e.path,
				e.errnum ? ": " : "", e.errnum ? strerror(e.errnum) : "");
			/* a daemon that cannot start (a source, the control
			 * socket or a disk-buffer cannot be opened) is
			 * syslog-ng's exit 2 */
			rc = ok_exit_class(OK_CLASS_REFUSED);
		}
	}
	ls_filter_free(sel);
	ls_cfg_free(cfg);
	return rc;
}
