/*
 * decomp.h: a streaming decompressing reader over libarchive, the library
 * the field uses for this (we write no codec of our own).
 *
 * decomp_open() looks at the content, not the name: gzip, bzip2, xz, lzma,
 * zstd, lz4 and compress streams are undone; with DECOMP_UNPACK a .zip or
 * .tar (itself possibly compressed) yields its first regular file; input that
 * starts with zero blocks (a blank first sector) is data, not an empty tar
 * archive. Anything else is passed through unchanged (decomp_is_plain() then says so, so a
 * caller such as usbcopy can fall back to sparse-aware direct reads).
 * Memory is bounded by libarchive's buffers; nothing is held whole.
 */
#ifndef OPSKIT_DECOMP_H
#define OPSKIT_DECOMP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

struct decomp;

enum decomp_flags {
	DECOMP_UNPACK = 1, /* open the first regular file inside zip/tar */
	DECOMP_VERIFY = 2, /* every format's own integrity check must pass (see
			      decomp_finish): gzip CRC32 + ISIZE of every member
			      (checked with zlib: libarchive skips the trailer),
			      a zip entry's CRC (libarchive's ARCHIVE_WARN is a
			      failure), tar header checksums up to the end */
};

/* Read from fd (not closed by decomp_close); name is used in messages.
 * Returns NULL and fills e on failure. */
struct decomp *decomp_open(int fd, const char *name, unsigned flags, struct ok_err *e);
/* Called with each block read from fd, once and in order, before it is
 * decompressed: for a digest over the stored bytes (rpm's payload digest). */
typedef void (*decomp_tap_fn)(void *arg, const void *buf, size_t n);
/* decomp_open, with tap(arg, ...) seeing every byte taken from fd. */
struct decomp *decomp_open_tap(int fd, const char *name, unsigned flags, decomp_tap_fn tap,
			       void *arg, struct ok_err *e);
/*
 * Which regular file of a zip or tar to unpack: called for each one in
 * archive order (index counts regular files from 0; size is -1 when the
 * header does not record it; is_zip tells the container). Return 1 to take
 * it, 0 to skip to the next. Not called for input that is no archive.
 */
typedef int (*decomp_pick_fn)(void *arg, unsigned index, const char *path, int64_t size,
			      int is_zip);
/*
 * decomp_open_tap with the entry chosen by pick (NULL: the first regular
 * file, as decomp_open). When pick takes none, returns NULL with e filled
 * and e->errnum == ENOENT ("no entry chosen"): the caller saw every entry
 * through pick and may rewind fd and call again with its choice.
 */
struct decomp *decomp_open_pick(int fd, const char *name, unsigned flags, decomp_tap_fn tap,
				void *tap_arg, decomp_pick_fn pick, void *pick_arg,
				struct ok_err *e);
/* Up to n bytes of decompressed data: the count (0 at the end) or -errno with e filled. */
ssize_t decomp_read(struct decomp *d, void *buf, size_t n, struct ok_err *e);
/*
 * With DECOMP_VERIFY, after decomp_read returned 0: read the rest of the
 * container (every later tar/zip header, so their checksums are checked and
 * a truncated archive is found) and of the input (every gzip member's CRC32
 * and ISIZE), then require that the input ended at a member boundary.
 * 0, or -EINVAL (damaged data: e names the format and the input offset) or
 * -errno (read error). Without DECOMP_VERIFY it returns 0 at once.
 */
int decomp_finish(struct decomp *d, struct ok_err *e);
/* Input (compressed) bytes read so far, libarchive's read-ahead included. */
uint64_t decomp_input_offset(const struct decomp *d);
/* The compression ("gzip", "xz", ..., "none") and container ("zip", "tar", "raw"). */
const char *decomp_filter_name(const struct decomp *d);
const char *decomp_format_name(const struct decomp *d);
/* Size of the unpacked entry when the container records it, else -1. */
int64_t decomp_entry_size(const struct decomp *d);
/* True when the input is neither compressed nor packed. */
int decomp_is_plain(const struct decomp *d);
void decomp_close(struct decomp *d);

#endif
