/*
 * logsift_regexp.c: libFuzzer target for regexp-parser() (parser.c). The
 * input up to the first NUL is the pattern (hostile: it may not compile,
 * may backtrack, may name groups oddly), its first byte's low bits picking
 * matcher flags (ignore-case, utf8, newline, dupnames); the rest is the
 * message. When the pattern compiles the parser runs on the message with
 * prefix("p."), and every value it set must be a piece of the message:
 * no longer than it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ls_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	if (!nul || nul == data)
		return 0;
	size_t plen = (size_t)(nul - data) - 1, mlen = size - plen - 2;
	static const unsigned flags[] = {MF_ICASE, MF_UTF8, MF_NEWLINE, MF_DUPNAMES};
	struct fnode *mt = calloc(1, sizeof *mt);
	struct ls_parser p = {.kind = PS_REGEXP, .name = "p", .prefix = "p.", .file = "fuzz"};
	if (!mt)
		abort();
	mt->mtype = MT_PCRE;
	mt->mflags = MF_STORE;
	for (unsigned i = 0; i < 4; i++)
		if (data[0] & (1u << i))
			mt->mflags |= flags[i];
	mt->pattern = strndup((const char *)data + 1, plen);
	if (!mt->pattern)
		abort();
	struct ok_err e;
	if (ls_fnode_compile(mt, &e) == 0) {
		struct ls_msg m;
		ls_msg_init(&m);
		ls_msg_set(&m, LS_MESSAGE, (const char *)nul + 1, mlen);
		p.re = &mt;
		p.n_re = 1;
		ls_parser_run(&p, &m, NULL, NULL);
		const char *names[64];
		size_t n = ls_msg_names(&m, names, 64);
		for (size_t i = 0; i < n && i < 64; i++) {
			size_t vl;
			ls_msg_get_name(&m, names[i], &vl);
			if (vl > mlen)
				abort();
		}
		ls_msg_free(&m);
	}
	ls_fnode_free(mt);
	return 0;
}
