/*
 * buf.c: struct ls_buf, the growing byte buffer every layer of logsift
 * writes into (logsift.h documents it). A file of its own so that leaf
 * files (tfunc.c) can use it without calling into msg.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logsift.h"

static void buf_grow(struct ls_buf *b, size_t n)
{
	if (b->len + n + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + n + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		abort(); /* out of memory: a daemon cannot do better */
	b->p = p;
	b->cap = cap;
}

void ls_buf_add(struct ls_buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	if (n)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = 0;
}

void ls_buf_addc(struct ls_buf *b, char c)
{
	buf_grow(b, 1);
	b->p[b->len++] = c;
	b->p[b->len] = 0;
}

void ls_buf_addf(struct ls_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof tmp) {
		ls_buf_add(b, tmp, (size_t)n);
		return;
	}
	buf_grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void ls_buf_add_escaped(struct ls_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 && c != '\t') {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			ls_buf_add(b, e, 4);
		} else if (c == '\'') {
			ls_buf_add(b, "\\'", 2);
		} else {
			ls_buf_addc(b, (char)c);
		}
	}
}

void ls_buf_free(struct ls_buf *b)
{
	free(b->p);
	b->p = NULL;
	b->len = b->cap = 0;
}
