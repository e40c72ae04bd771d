/* cli_demo.c: a minimal command over cli_parse, driven by test_cli.sh. */
#include <stdio.h>

#include "cli.h"

static const struct cli_opt opts[] = {
    {"verbose", 'v', CLI_FLAG, 'v', NULL, "print v"},
    {"size", 's', CLI_ARG, 's', "N", "print size=N (K/M/G suffixes)"},
    {0},
};
static const struct cli_spec spec = {"cli_demo", "usage: cli_demo [-v] [--size=N] FILE...\n", opts,
				     0, NULL};

static int on_opt(void *ctx, int id, const char *arg)
{
	(void)ctx;
	uint64_t v;
	if (id == 'v') {
		printf("v\n");
		return 0;
	}
	if (cli_parse_size(arg, 1, &v) < 0)
		return -1;
	printf("size=%llu\n", (unsigned long long)v);
	return 0;
}

int main(int argc, char **argv)
{
	int first = cli_parse(&spec, argc, argv, on_opt, NULL);
	for (int i = first; i < argc; i++)
		printf("operand %s\n", argv[i]);
	return 0;
}
