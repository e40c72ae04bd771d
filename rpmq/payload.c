/*
 * payload.c: the cpio payload (--extract, --cpio). Placeholder until the
 * streaming reader lands.
 */
#include <errno.h>

#include "rpmq.h"

int rpm_extract(struct rpm_pkg *p, const char *dir, struct ok_err *e)
{
	(void)dir;
	return ok_err_at(e, -ENOTSUP, p->path, OK_ERR_NOPOS, "--extract is not implemented yet");
}

int rpm_write_cpio(struct rpm_pkg *p, int out_fd, struct ok_err *e)
{
	(void)out_fd;
	return ok_err_at(e, -ENOTSUP, p->path, OK_ERR_NOPOS, "--cpio is not implemented yet");
}
