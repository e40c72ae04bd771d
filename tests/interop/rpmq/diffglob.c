/*
 * diffglob.c: rpm_diff_excluded over many (path, glob) pairs, for
 * test_diff.sh to compare with rpmdiff's own matcher (Python's pathlib):
 * each stdin line "PATH<TAB>GLOB" gives one line out, 1 excluded, 0 not,
 * -22 for a glob Python refuses ("empty pattern").
 *
 * usage: diffglob < PAIRS
 */
#include <stdio.h>
#include <string.h>

#include "rpmq.h"

int main(void)
{
	static char line[16384];
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = 0;
		char *tab = strchr(line, '\t');
		if (!tab) {
			fprintf(stderr, "diffglob: a line without a tab\n");
			return 2;
		}
		*tab = 0;
		printf("%d\n", rpm_diff_excluded(line, tab + 1));
	}
	return ferror(stdout) || fflush(stdout) != 0;
}
