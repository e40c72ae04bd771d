/*
 * cli.c: cli_parse() over getopt_long, built from the tool's table (cli.h).
 */
#include "cli.h"
#include "err.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CLI_ID_HELP    (-1000)
#define CLI_ID_VERSION (-1001)

void cli_usage_error(const struct cli_spec *spec, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", spec->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", spec->name);
	exit(ok_exit_class(OK_CLASS_USAGE));
}

/* The first word of spec->name is the program name for ok_* messages. */
static void set_progname(const char *name)
{
	static char prog[64];
	size_t n = strcspn(name, " ");
	if (n >= sizeof(prog))
		n = sizeof(prog) - 1;
	memcpy(prog, name, n);
	prog[n] = 0;
	ok_progname = prog;
}

/* A table ends at the first entry with no name, no letter and no help (a
 * heading has help only). */
static size_t table_len(const struct cli_opt *opts)
{
	size_t n = 0;
	while (opts && (opts[n].name || opts[n].letter || opts[n].help))
		n++;
	return n;
}

/* "-c, --chunk=SIZE" as the option's head in --help. */
static int opt_head(const struct cli_opt *o, char *buf, size_t size)
{
	const char *a = o->argname ? o->argname : "ARG";
	int len;
	if (o->name) {
		len = snprintf(buf, size, "%c%c%c --%s%s%s%s", o->letter ? '-' : ' ',
			       o->letter ? o->letter : ' ', o->letter ? ',' : ' ', o->name,
			       o->arg == CLI_OPTARG ? "[="
			       : o->arg == CLI_ARG  ? "="
						    : "",
			       o->arg == CLI_FLAG ? "" : a, o->arg == CLI_OPTARG ? "]" : "");
	} else {
		len = snprintf(buf, size, "-%c%s%s%s", o->letter,
			       o->arg == CLI_OPTARG ? "["
			       : o->arg == CLI_ARG  ? " "
						    : "",
			       o->arg == CLI_FLAG ? "" : a, o->arg == CLI_OPTARG ? "]" : "");
	}
	return len;
}

/* One "  head   help" entry; help lines after the first are indented to col. */
static void print_entry(FILE *f, const char *head, const char *help, int col)
{
	int len = fprintf(f, "  %s", head);
	const char *h = help ? help : "";
	if (len + 2 > col && *h) {
		fputc('\n', f);
		len = 0;
	}
	for (int line = 0;; line++) {
		size_t n = strcspn(h, "\n");
		if (line > 0 || *h)
			fprintf(f, "%*s%.*s", col - len, "", (int)n, h);
		fputc('\n', f);
		len = 0;
		if (!h[n])
			break;
		h += n + 1;
	}
}

void cli_print_help(const struct cli_spec *spec, FILE *f)
{
	size_t n = table_len(spec->opts);
	char head[128];
	int col = 0;
	for (size_t i = 0; i < n; i++)
		if (spec->opts[i].name || spec->opts[i].letter) {
			int len = opt_head(&spec->opts[i], head, sizeof(head)) + 4;
			if (len > col)
				col = len;
		}
	/* Long heads (over 26 columns) take a line of their own rather than
	 * pushing every description right. */
	if (col < 18)
		col = 18;
	if (col > 26)
		col = 26;
	fputs(spec->help, f);
	if (n && (spec->opts[0].name || spec->opts[0].letter))
		fputc('\n', f);
	for (size_t i = 0; i < n; i++) {
		const struct cli_opt *o = &spec->opts[i];
		if (!o->name && !o->letter) {
			fprintf(f, "\n%s\n", o->help);
			continue;
		}
		opt_head(o, head, sizeof(head));
		print_entry(f, head, o->help, col);
	}
	if (!n)
		fputc('\n', f);
	print_entry(f, "    --help", "print this help and exit", col);
	print_entry(f, "    --version", "print the version and exit", col);
	if (spec->footer) {
		fputc('\n', f);
		fputs(spec->footer, f);
	}
}

int cli_parse(const struct cli_spec *spec, int argc, char **argv, cli_fn fn, void *ctx)
{
	size_t n = table_len(spec->opts);
	struct option *lo = calloc(n + 3, sizeof(*lo));
	char *so = calloc(3 * n + 4, 1);
	if (!lo || !so)
		ok_die(OK_EXIT_IO, "out of memory");
	set_progname(spec->name);

	size_t nl = 0, ns = 0;
	so[ns++] = (spec->flags & CLI_STOP_AT_OPERAND) ? '+' : '-';
	so[ns++] = ':';
	for (size_t i = 0; i < n; i++) {
		const struct cli_opt *o = &spec->opts[i];
		if (!o->name && !o->letter)
			continue; /* a heading */
		int has = o->arg == CLI_FLAG  ? no_argument
			  : o->arg == CLI_ARG ? required_argument
					      : optional_argument;
		if (o->name)
			lo[nl++] = (struct option){o->name, has, NULL, 0x10000 + (int)i};
		if (o->letter) {
			so[ns++] = (char)o->letter;
			if (o->arg != CLI_FLAG)
				so[ns++] = ':';
			if (o->arg == CLI_OPTARG)
				so[ns++] = ':';
		}
	}
	lo[nl++] = (struct option){"help", no_argument, NULL, CLI_ID_HELP};
	lo[nl++] = (struct option){"version", no_argument, NULL, CLI_ID_VERSION};

	/* With '-' getopt returns operands as 1; collect them in order, as permuting would. */
	char **operands = calloc((size_t)argc + 1, sizeof(char *));
	int nop = 0;
	optind = 1;
	opterr = 0;
	for (;;) {
		int li = -1;
		int c = getopt_long(argc, argv, so, lo, &li);
		if (c == -1)
			break;
		if (c == 1) {
			operands[nop++] = optarg;
			continue;
		}
		if (c == CLI_ID_HELP) {
			cli_print_help(spec, stdout);
			exit(OK_EXIT_OK);
		}
		if (c == CLI_ID_VERSION) {
			printf("%s (opskit) %s\n", ok_progname, OPSKIT_VERSION);
			exit(OK_EXIT_OK);
		}
		if (c == '?') {
			/* optopt: the letter of an unknown short option, the val of a
			 * long option given an argument it does not take (printing
			 * that as %c gave "invalid option -- '!'"), 0 otherwise */
			const char *arg = argv[optind - 1];
			if (optopt > 0 && optopt < 0x10000)
				cli_usage_error(spec, "invalid option -- '%c'", optopt);
			if (optopt)
				cli_usage_error(spec, "option '%.*s' doesn't allow an argument",
						(int)strcspn(arg, "="), arg);
			cli_usage_error(spec, "unrecognized option '%s'", arg);
		}
		if (c == ':') {
			if (optopt && optopt < 0x10000)
				cli_usage_error(spec, "option requires an argument -- '%c'",
						optopt);
			cli_usage_error(spec, "option '%s' requires an argument", argv[optind - 1]);
		}
		const struct cli_opt *o = NULL;
		if (c >= 0x10000)
			o = &spec->opts[c - 0x10000];
		else
			for (size_t i = 0; i < n; i++)
				if (spec->opts[i].letter && spec->opts[i].letter == c)
					o = &spec->opts[i];
		if (!o)
			cli_usage_error(spec, "internal: unknown option %d", c);
		if (fn(ctx, o->id, optarg) < 0) {
			if (o->name)
				cli_usage_error(spec, "invalid argument '%s' for '--%s'",
						optarg ? optarg : "", o->name);
			cli_usage_error(spec, "invalid argument '%s' for '-%c'",
					optarg ? optarg : "", o->letter);
		}
	}
	/* Put operands (and, after "--" or the first operand with '+', the rest) at the end. */
	int first = argc - nop - (argc - optind);
	char **rest = argv + optind;
	int nrest = argc - optind;
	char **tmp = calloc((size_t)argc + 1, sizeof(char *));
	memcpy(tmp, operands, (size_t)nop * sizeof(char *));
	memcpy(tmp + nop, rest, (size_t)nrest * sizeof(char *));
	memcpy(argv + first, tmp, (size_t)(nop + nrest) * sizeof(char *));
	free(tmp);
	free(operands);
	free(lo);
	free(so);
	return first;
}

int cli_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno == ERANGE)
		return -ERANGE;
	if (*end)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}

int cli_parse_size(const char *s, uint64_t unit, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno == ERANGE)
		return -ERANGE;
	uint64_t mul = unit;
	if (*end) {
		switch (tolower((unsigned char)*end)) {
		case 's':
			mul = 512;
			break;
		case 'k':
			mul = 1ULL << 10;
			break;
		case 'm':
			mul = 1ULL << 20;
			break;
		case 'g':
			mul = 1ULL << 30;
			break;
		case 't':
			mul = 1ULL << 40;
			break;
		default:
			return -EINVAL;
		}
		end++;
		if (mul != 512 && (!strcasecmp(end, "ib") || !strcasecmp(end, "b")))
			end += strlen(end);
		if (*end)
			return -EINVAL;
	}
	if (mul && v > UINT64_MAX / mul)
		return -ERANGE;
	*out = v * mul;
	return 0;
}
