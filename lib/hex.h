/*
 * hex.h: bytes to and from lower-case hex, for digests, keys and ids. In the
 * core library (no libcrypto) so that rpmq's query-only program and any tool
 * can print a digest it did not compute.
 */
#ifndef OPSKIT_HEX_H
#define OPSKIT_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Lower-case hex of n bytes into hex (2n+1 bytes room, NUL-terminated). */
void hex_encode(const uint8_t *d, size_t n, char *hex);
/* Parse exactly 2n hex digits (either case) into out; 0 or -EINVAL. */
int hex_decode(const char *hex, uint8_t *out, size_t n);

#endif
