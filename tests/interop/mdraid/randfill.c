/*
 * randfill.c: fill ranges of an image file with reproducible pseudo-random
 * bytes, fast enough for gigabytes of test members.
 *
 *   randfill SEED FILE [OFFSET:LENGTH]...
 *
 * Without ranges the whole file (its current size) is filled. The 8-byte word
 * at byte offset 8·i is splitmix64(SEED·2^32 + i), so a byte depends only on
 * the seed and its position: the same call twice gives the same file, and two
 * seeds never share content. OFFSET and LENGTH take a K/M/G suffix and must be
 * multiples of 8.
 *
 * Why not /dev/urandom: the interop tests fill every member with random bytes
 * before each create (so zero parity can never pass by accident), several GiB
 * per run; urandom gives ~200 MB/s here, this gives several GB/s and lets a
 * failing case be rerun with the same content.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUF_WORDS (1u << 17) /* 1 MiB per write */

static uint64_t splitmix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

/* A size with an optional K/M/G suffix; -1 when it is not one. */
static int64_t parse_size(const char *s, char **end)
{
	errno = 0;
	unsigned long long v = strtoull(s, end, 10);
	if (errno || *end == s)
		return -1;
	switch (**end) {
	case 'G':
		v <<= 10;
		/* fall through */
	case 'M':
		v <<= 10;
		/* fall through */
	case 'K':
		v <<= 10;
		(*end)++;
		break;
	default:
		break;
	}
	return (int64_t)v;
}

static int fill(int fd, const char *path, uint64_t seed, int64_t off, int64_t len)
{
	static uint64_t buf[BUF_WORDS];
	uint64_t word = (uint64_t)off / 8;

	while (len > 0) {
		size_t n = len > (int64_t)sizeof(buf) ? sizeof(buf) : (size_t)len;
		for (size_t i = 0; i < n / 8; i++)
			buf[i] = splitmix64((seed << 32) + word + i);
		ssize_t w = pwrite(fd, buf, n, off);
		if (w != (ssize_t)n) {
			fprintf(stderr, "randfill: %s: offset %" PRId64 ": %s\n", path, off,
				w < 0 ? strerror(errno) : "short write");
			return -1;
		}
		word += n / 8;
		off += (int64_t)n;
		len -= (int64_t)n;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: randfill SEED FILE [OFFSET:LENGTH]...\n");
		return 2;
	}
	uint64_t seed = strtoull(argv[1], NULL, 0);
	int fd = open(argv[2], O_WRONLY);
	if (fd < 0) {
		fprintf(stderr, "randfill: %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	int rc = 0;
	if (argc == 3) {
		struct stat st;
		if (fstat(fd, &st) < 0 || fill(fd, argv[2], seed, 0, st.st_size & ~(off_t)7) < 0)
			rc = 1;
	}
	for (int a = 3; a < argc && rc == 0; a++) {
		char *end;
		int64_t off = parse_size(argv[a], &end);
		int64_t len = *end == ':' ? parse_size(end + 1, &end) : -1;
		if (off < 0 || len < 0 || *end || off % 8 || len % 8) {
			fprintf(
			    stderr,
			    "randfill: bad range '%s', expected OFFSET:LENGTH (multiples of 8)\n",
			    argv[a]);
			rc = 2;
			break;
		}
		if (fill(fd, argv[2], seed, off, len) < 0)
			rc = 1;
	}
	if (close(fd) < 0 && rc == 0) {
		fprintf(stderr, "randfill: %s: %s\n", argv[2], strerror(errno));
		rc = 1;
	}
	return rc;
}
