/*
 * rterr.c: ls_rt_error, the one way library code reports a line of 3.38's
 * error log (logsift.h). A file of its own, below everything that reports
 * (fpath.c, vp.c, msg.c's casts), so that reporting never calls back into
 * route.c, which calls them.
 */
#include <stdio.h>
#include <string.h>

#include "logsift.h"

void ls_rt_error(struct ls_runtime *rt, const char *line)
{
	size_t len = strlen(line);
	if (rt && rt->notices)
		fprintf(rt->notices, "%s\n", line);
	if (rt && !rt->in_internal && rt->pending_internal.len + len < 65536)
		ls_buf_add(&rt->pending_internal, line, len + 1);
}
