/*
 * logsift_cfg.c: libFuzzer target for the configuration parser: any bytes
 * as a config file must give a config or an error, never a crash or hang.
 * @include is relative to a name that does not exist, so nothing is read.
 */
#include <stddef.h>
#include <stdint.h>

#include "logsift.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ok_err e;
	struct ls_cfg *c = ls_cfg_parse((const char *)data, size, "/nonexistent/fuzz.conf", &e);
	ls_cfg_free(c);
	return 0;
}
