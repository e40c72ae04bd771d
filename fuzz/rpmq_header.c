/*
 * rpmq_header.c: libFuzzer target for rpmq's package reader: lead,
 * signature header and main header from arbitrary bytes, then every query
 * the tool offers (scripts, triggers, info, file lists, --json) over
 * whatever parsed, so the tag-data and extension code is fuzzed too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rpmq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds[2];
	FILE *in = fmemopen((void *)data, size ? size : 1, "rb");
	if (!in)
		return 0;
	(void)fds;
	int fd = fileno(in);
	struct rpm_pkg p;
	struct ok_err e;
	FILE *devnull = fopen("/dev/null", "w");
	/* fmemopen has no descriptor: go through a temporary file instead */
	fclose(in);
	char tmpl[] = "/tmp/rpmq-fuzz-XXXXXX";
	fd = mkstemp(tmpl);
	if (fd < 0) {
		fclose(devnull);
		return 0;
	}
	unlink(tmpl);
	if (write(fd, data, size) != (ssize_t)size || lseek(fd, 0, SEEK_SET) != 0) {
		close(fd);
		fclose(devnull);
		return 0;
	}
	if (rpm_pkg_read(&p, fd, "fuzz", &e) == 0) {
		static const char *modes[] = {"scripts",     "triggers",    "filetriggers",
					      "info",	     "requires",    "provides",
					      "changelog",   "filesbypkg",  "fileclass",
					      "fileprovide", "filerequire", "dupes"};
		char *buf = NULL;
		size_t cap = 0;
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
			struct rpm_qf *qf = rpm_qf_compile(rpm_alias_qf(modes[i]), &e);
			size_t len = 0;
			if (qf)
				rpm_qf_expand(qf, &p, 1, &buf, &len, &cap, &e);
			rpm_qf_free(qf);
		}
		free(buf);
		{
			struct rpm_list_opts lo = {LIST_LONG, 0, 0, 1, 0};
			rpm_list_files(&p, &lo, devnull, &e);
		}
		{
			struct rpm_list_opts lo = {LIST_DUMP, RPMFILE_CONFIG, RPMFILE_GHOST, 0, 0};
			rpm_list_files(&p, &lo, devnull, &e);
		}
		rpm_print_json(&p, RPM_JSON_RPM, devnull, &e);
		rpm_print_json(&p, RPM_JSON_COMPACT, devnull, &e);
		p.fd = -1;
		rpm_pkg_close(&p);
	}
	close(fd);
	fclose(devnull);
	return 0;
}
