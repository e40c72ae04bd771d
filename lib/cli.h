/*
 * cli.h: option parsing declared once per tool, as toybox's NEWTOY line does.
 *
 * A tool (or each verb of one) declares one table of struct cli_opt, each
 * entry with its help line, and a usage text; cli_parse() walks argv with
 * getopt_long, answers --help (the usage text, then the option list made
 * from the table, then the footer; exit 0) and --version ("tool (opskit)
 * 0.1.0", exit 0) itself, reports unknown
 * options and missing arguments as "tool: ..." plus "Try 'tool --help'." with
 * exit 2, and hands every other option to the tool's callback as (id, arg).
 *
 * Example:
 *   static const struct cli_opt opts[] = {
 *       { "chunk", 'c', CLI_ARG, 'c', "SIZE", "chunk size (default 512K)" },
 *       { "force", 'f', CLI_FLAG, 'f', NULL, "overwrite members" },
 *       { NULL, 0, 0, 0, NULL, "Rarely needed:" },      a heading line
 *       { "assume-clean", 0, CLI_FLAG, OPT_ASSUME_CLEAN, NULL,
 *         "do not compute parity\n(the data is already consistent)" },
 *       { 0 } };
 *   static const struct cli_spec spec = { "mdraid create", usage, opts, 0 };
 * --help prints usage, a blank line, then one entry per line:
 *     -c, --chunk=SIZE      chunk size (default 512K)
 * (a '\n' in a help string continues it on the next line, indented), then
 * --help and --version, then the footer. Every option appears there: an
 * option without a help string fails tests/lint/cli-help.py.
 *   int first = cli_parse(&spec, argc, argv, on_opt, &ctx);
 *   argv[first..argc-1] are the operands.
 * The callback returns 0, or a negative value after it has printed nothing:
 * cli_parse then prints "invalid argument 'ARG' for '--NAME'" and exits 2.
 * Operands and options may be mixed unless CLI_STOP_AT_OPERAND is set (for
 * lockstat-style "tool [opts] command args...").
 */
#ifndef OPSKIT_CLI_H
#define OPSKIT_CLI_H

#include <stdint.h>
#include <stdio.h>

enum cli_arg {
	CLI_FLAG,   /* no argument */
	CLI_ARG,    /* required argument: --opt=X, --opt X, -oX, -o X */
	CLI_OPTARG, /* optional argument: --opt[=X], -o[X] */
};

struct cli_opt {
	const char *name;    /* long name without "--", or NULL */
	int letter;	     /* short option letter, or 0 */
	enum cli_arg arg;    /* argument kind */
	int id;		     /* handed to the callback; use the letter, or values >= 256 */
	const char *argname; /* the argument in --help ("N", "SIZE"); NULL: "ARG" */
	const char *help;    /* its --help line(s); with no name and no letter: a heading */
};

enum cli_flags {
	CLI_STOP_AT_OPERAND = 1, /* the first operand ends option parsing */
};

struct cli_spec {
	const char *name;	    /* program name in messages ("mdraid create") */
	const char *help;	    /* --help's usage and description, before the options */
	const struct cli_opt *opts; /* ends with an all-zero entry */
	unsigned flags;		    /* enum cli_flags */
	const char *footer;	    /* --help's text after the options (exit status...), or NULL */
};

typedef int (*cli_fn)(void *ctx, int id, const char *arg);

/* Parse argv[1..]; returns the index of the first operand. Exits on --help,
 * --version and usage errors. Sets ok_progname to the spec's first word. */
int cli_parse(const struct cli_spec *spec, int argc, char **argv, cli_fn fn, void *ctx);

/* Print the --help text (usage, the table's option list, footer) to f. */
void cli_print_help(const struct cli_spec *spec, FILE *f);

/* Print "name: message" and "Try 'name --help' for more information." and exit
 * with ok_exit_class(OK_CLASS_USAGE): 2, or the peer's code (err.h). */
_Noreturn void cli_usage_error(const struct cli_spec *spec, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Parse a size: digits with an optional suffix K, M, G, T (powers of 1024,
 * also KiB/MiB/..., case-insensitive) or "s" (512-byte sectors); a bare number
 * is multiplied by unit (1 for bytes, 1024 where mdadm reads KiB).
 * Returns 0 and sets *out, or -EINVAL (garbage) / -ERANGE (overflow).
 */
int cli_parse_size(const char *s, uint64_t unit, uint64_t *out);
/* Parse a decimal (or 0x hex) unsigned integer in [min, max]. */
int cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
