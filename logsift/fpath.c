/*
 * fpath.c: confinement of file names made from templates.
 *
 * file("/var/log/hosts/$HOST/$PROGRAM.log" create-dirs(yes)) runs as root
 * and takes HOST and PROGRAM from whoever can send a datagram. syslog-ng
 * 3.38 (modules/affile/file-opener.c, _is_path_spurious) refuses any
 * expanded name that contains "../" or "/.." with "Spurious path, logfile
 * not created" and creates neither the file nor its directories. We apply
 * the same rule, plus two that 3.38 lacks and that only a hostile value
 * can trigger: a name that is exactly "..", and an absolute name made from
 * a template whose fixed text is relative (a value that starts with '/').
 * A NUL from a macro ends the name (3.38 passes its GString to open() and
 * writes "base/nul" for host "nul\0x"), so the checks look at that name.
 * A template without macros is the administrator's own text and is not
 * checked. Refusals are counted per destination (refused=) and reported on
 * the notices stream and, with the sender's address, as an internal()
 * message queued in the runtime (routed by the daemon once the message in
 * hand is finished, so an internal() message never re-enters a write).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "ls_int.h"

/* Why the expanded name may not be used, or NULL when it may. */
static const char *fpath_fault(const struct ls_tmpl *t, const char *path, size_t len)
{
	if (ls_tmpl_is_literal(t))
		return NULL;
	len = strnlen(path, len); /* open() stops at a NUL from a macro, as 3.38's does */
	if (strstr(path, "../") || strstr(path, "/..") || !strcmp(path, ".."))
		return "a .. component";
	size_t fixed_len;
	const char *fixed = ls_tmpl_fixed_prefix(t, &fixed_len);
	if (len < fixed_len || memcmp(path, fixed, fixed_len) != 0)
		return "the expanded name leaves the template's fixed prefix";
	if ((!fixed_len || fixed[0] != '/') && path[0] == '/')
		return "a macro value made a relative template absolute";
	return NULL;
}

int ls_fpath_check(const struct ls_dest *dst, const struct ls_ddrv *d, const struct ls_msg *m,
		   const struct ls_buf *path, struct ls_runtime *rt)
{
	const char *why = fpath_fault(d->path, path->p ? path->p : "", path->len);
	if (!why)
		return 0;
	char sender[INET6_ADDRSTRLEN + 8] = "local";
	if (m->saddr.ss_family == AF_INET || m->saddr.ss_family == AF_INET6)
		ls_addr_str(&m->saddr, sender, sizeof sender);
	struct ls_buf line = {0};
	ls_buf_addf(&line, "Spurious path, logfile not created; path='");
	ls_buf_add_escaped(&line, path->p ? path->p : "", path->len);
	ls_buf_addf(&line, "', sender='%s', destination='%s', reason='%s'", sender, dst->name, why);
	ls_rt_error(rt, line.p);
	ls_buf_free(&line);
	return -EPERM;
}
