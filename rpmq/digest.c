/*
 * digest.c: rpm -K --nosignature. Placeholder.
 */
#include <errno.h>

#include "rpmq.h"

int rpm_check_digests(struct rpm_pkg *p, int verbose, FILE *out, struct ok_err *e)
{
	(void)verbose;
	(void)out;
	return ok_err_at(e, -ENOTSUP, p->path, OK_ERR_NOPOS, "-K is not implemented yet");
}
