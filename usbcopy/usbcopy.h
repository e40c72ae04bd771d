/*
 * usbcopy.h: write a disk image to a USB stick or SD card, verified from the
 * device. The public API of libusbcopy and its manual.
 *
 * The command (main.c) is a thin layer over four parts, one file each:
 *
 *   devices.c  which disks exist (sysfs), which of them are candidates (USB,
 *              removable, mmcblk), and the guards: system disk, mounted,
 *              swap, dm/md holders, read-only, the disk the image lives on.
 *   bmap.c     bmaptool's block map (XML, formats 1.x and 2.0).
 *   source.c   the image as a sequence of chunks, each a list of extents
 *              (data to write, holes to zero, or - with a bmap - only the
 *              mapped ranges); raw, sparse, compressed or packed
 *              (lib/decomp.h), checked by SHA-256 when asked.
 *   engine.c   the write/verify/rewrite state machine (see the diagram
 *              there), one thread per target, the source read in parallel.
 *
 * Layering: main.c calls these; engine.c calls source.c and lib/io.h;
 * devices.c and bmap.c call nothing of ours but lib/. Library code returns
 * >= 0 or a negative errno and fills struct ok_err; it never prints or exits.
 *
 * Units: sizes and offsets are bytes (uint64_t), "chunk" is the unit of
 * write, flush, repair (and, with --verify-chunks, read-back and compare;
 * default 4 MiB), and what the original's
 * summary calls a "block" is one chunk: block N covers bytes
 * [N * chunk, (N + 1) * chunk) of the image.
 */
#ifndef USBCOPY_H
#define USBCOPY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "hash.h"

/* ------------------------------------------------------------------ */
/* Devices (devices.c)                                                  */
/* ------------------------------------------------------------------ */

/* Where the kernel's views live; tests point these at fake trees. */
struct uc_env {
	const char *sysfs_root; /* "/sys": reads block/NAME/... */
	const char *proc_root;	/* "/proc": reads self/mountinfo and swaps */
};

/* One whole disk as sysfs describes it. */
struct uc_dev {
	char name[64];	       /* kernel name: "sdb", "mmcblk0", "loop3" */
	char path[128];	       /* "/dev/" name */
	unsigned major, minor; /* from block/NAME/dev */
	uint64_t size_bytes;   /* block/NAME/size * 512 */
	char vendor[64];       /* device/vendor trimmed, or "SD" for mmc */
	char model[128];       /* device/model (or mmc device/name) trimmed */
	char serial[128];      /* USB or mmc serial, "" if none */
	char backing[512];     /* loop devices: loop/backing_file, else "" */
	int removable;	       /* block/NAME/removable == 1 */
	int usb;	       /* the sysfs device path runs through a USB bus */
	int mmc;	       /* an mmcblk (SD/MMC slot, built-in or not) */
	int loop;	       /* a loop device */
	int ro;		       /* block/NAME/ro == 1 */
};

/* "vendor model" with single spaces, as the original prints it. */
void uc_dev_desc(const struct uc_dev *d, char *buf, size_t size);
/* True for disks usbcopy offers without --force: USB, removable or mmc. */
int uc_dev_is_candidate(const struct uc_dev *d);

/*
 * Read block/NAME into d. Returns 0, -ENOENT if there is no such disk, or
 * -EINVAL if NAME is a partition (fills e).
 */
int uc_dev_read(const struct uc_env *env, const char *name, struct uc_dev *d, struct ok_err *e);

/*
 * Candidate disks (uc_dev_is_candidate), sorted by name. *devs is malloc'd
 * (free it); loop, ram, zram, dm, md and optical drives are never listed.
 */
int uc_dev_scan(const struct uc_env *env, struct uc_dev **devs, size_t *n, struct ok_err *e);

/*
 * Resolve a target path. Returns 1 and fills d for a whole-disk block device
 * (a /dev/NAME that exists in the sysfs tree is taken by name, so fake trees
 * work without device nodes), 0 for a regular file (or a path that does not
 * exist yet: it will be created), or a negative errno: -EINVAL for a
 * partition, -ENODEV for other special files.
 */
int uc_dev_resolve(const struct uc_env *env, const char *path, struct uc_dev *d, struct ok_err *e);

/* Why a disk may not be written. */
enum uc_use {
	UC_USE_FREE = 0,    /* nothing uses it */
	UC_USE_MOUNTED = 1, /* a filesystem on it is mounted (--unmount may help) */
	UC_USE_HELD = 2,    /* a dm/md/loop device is stacked on it, or a process
			       holds one of its partitions or holders open */
	UC_USE_SYSTEM = 3,  /* backs /, /boot or swap: never written */
};

/* A mount found on the disk, its partitions or its holders. */
struct uc_mount {
	char source[64];  /* kernel name of the mounted block device */
	char target[256]; /* mount point, unescaped */
};

/*
 * Who uses disk d: its partitions (block/NAME/NAME*), every holder stacked
 * on them (holders/, recursively: dm, md) and every loop device set up over
 * any of these (block/loop*\/loop/backing_file; the kernel lists loops as no
 * holder and O_EXCL on d does not see them), with the loops' own partitions,
 * holders and loops, looked up in mountinfo, swaps and /proc/PID/fd (a
 * member other than d held open by a process). A holder or an open member
 * is UC_USE_HELD ("loop5 (a loop device over sdb at offset 1048576) is
 * mounted on /mnt", "sdb1 is open by process 42 (fsck)"). Fills
 * why (a one-line reason, "" when free) and up to nmax mounts (*nm set).
 * Returns the worst enum uc_use found, or a negative errno.
 */
int uc_dev_usage(const struct uc_env *env, const struct uc_dev *d, char *why, size_t whysize,
		 struct uc_mount *mounts, size_t nmax, size_t *nm, struct ok_err *e);

/*
 * Does the file at image_path live on disk d (or on a partition or holder of
 * it, or is it d's loop backing file)? 1 yes (why filled), 0 no, <0 errno.
 */
int uc_dev_holds_file(const struct uc_env *env, const struct uc_dev *d, const char *image_path,
		      char *why, size_t whysize);

/* ------------------------------------------------------------------ */
/* Block maps (bmap.c)                                                  */
/* ------------------------------------------------------------------ */

struct uc_bmap_range {
	uint64_t first, last;  /* inclusive block numbers */
	uint8_t sum[HASH_MAX]; /* expected digest of the range's bytes */
	int has_sum;	       /* the Range carried a checksum */
	int line;	       /* line of the Range element, for messages */
};

struct uc_bmap {
	int major, minor;	 /* format version, "2.0" -> 2, 0 */
	uint64_t image_size;	 /* bytes */
	uint64_t block_size;	 /* bytes */
	uint64_t blocks_count;	 /* ceil(image_size / block_size) */
	uint64_t mapped_count;	 /* blocks in all ranges */
	int algo;		 /* enum hash_algo of range sums, -1 if none */
	struct uc_bmap_range *r; /* ranges, ascending, disjoint */
	size_t n;		 /* number of ranges */
};

/*
 * Parse a bmap file's text (formats 1.0-1.4 and 2.0): checks the version,
 * BlocksCount against ImageSize, ranges ascending/disjoint/in bounds, their
 * total against MappedBlocksCount and the file's own checksum
 * (BmapFileChecksum / BmapFileSHA1, computed with the value zeroed).
 * path is for messages (line numbers). Returns 0 or -EINVAL with e filled;
 * free b with uc_bmap_free even on failure.
 */
int uc_bmap_parse(const char *text, size_t len, const char *path, struct uc_bmap *b,
		  struct ok_err *e);
/* Read and parse a bmap file (at most 256 MiB). */
int uc_bmap_load(const char *path, struct uc_bmap *b, struct ok_err *e);
void uc_bmap_free(struct uc_bmap *b);

/* ------------------------------------------------------------------ */
/* Sources (source.c)                                                   */
/* ------------------------------------------------------------------ */

/* A run of bytes inside a chunk, relative to the chunk's start. */
struct uc_ext {
	uint32_t off; /* from the chunk start */
	uint32_t len; /* bytes */
	uint8_t zero; /* a hole: buf holds zeros here, the device may be zeroed */
};

/*
 * One chunk of the image: the extents to write inside
 * [start, start + chunk_bytes). buf mirrors the chunk (buf[x] is image byte
 * start + x); only the bytes inside extents are meaningful. Bytes between
 * extents (bmap holes) are left alone on the device.
 */
struct uc_chunk {
	uint64_t index;	    /* block number: start / chunk_bytes */
	uint64_t start;	    /* image offset of buf[0] */
	uint8_t *buf;	    /* chunk_bytes, IO_ALIGN aligned */
	struct uc_ext *ext; /* extents, ascending */
	uint32_t next;	    /* number of extents */
	uint32_t ext_cap;   /* room in ext */
};

struct uc_src;

enum uc_src_flags {
	UC_SRC_NO_SPARSE = 1, /* read holes as data (no SEEK_HOLE) */
};

/*
 * Open an image. bmap (may be NULL) restricts the writes to its ranges and
 * checks each range's checksum as it is read. Compressed and packed images
 * are recognised by content. In a zip or tar the image is the entry named
 * entry (--entry; may be NULL) or, as etcher-sdk chooses, the largest file
 * whose name ends in a disk image's extension (.img, .iso, .bin, .dsk,
 * .hddimg, .raw, .dmg, .sdcard, .rpi-sdimg, .wic; on a pipe the first one),
 * or the archive's only file; otherwise -EINVAL, e listing the entries.
 *
 * sha256 (32 bytes, may be NULL; not with a bmap) is the digest of the file
 * as stored (a .img.xz, as download pages publish it) or of the unpacked
 * image. For a regular file it is checked here, before anything is written
 * (the file hashed, and if that differs and the image is compressed, the
 * image unpacked once more and hashed): -EBADMSG on a mismatch. Either way
 * both digests are kept while the image is read and checked again at its end
 * (for a pipe that is the only check), before uc_src_next reports the end.
 * Returns 0 or -errno with e.
 */
int uc_src_open(const char *path, const struct uc_bmap *bmap, const char *entry,
		const uint8_t *sha256, uint32_t chunk_bytes, unsigned flags, struct uc_src **out,
		struct ok_err *e);
/*
 * A second, independent reader of the same image (a regular file only;
 * -ESPIPE for a pipe): the path, bmap, entry, chunk size and flags of s,
 * without the --sha256 check. The engine re-reads the chunks its final pass
 * found damaged from it, and trusts them only when their digests match what
 * was read the first time (so a file changed meanwhile is noticed).
 * 0 or -errno with e; close *out with uc_src_close.
 */
int uc_src_reopen(const struct uc_src *s, struct uc_src **out, struct ok_err *e);
/* 1 when --sha256 was already checked by uc_src_open (a regular file). */
int uc_src_sha256_early(const struct uc_src *s);
/*
 * The SHA-256 for image out of a checksum file's text (path for messages):
 * GNU sha256sum lines ("HEX  NAME", "HEX *NAME", "\\HEX  NAME" with escapes)
 * and BSD ones ("SHA256 (NAME) = HEX", sha256sum --tag), matched by the
 * image's file name (the last component on both sides); a file holding one
 * bare hash is that hash. Comments, other algorithms' BSD lines and a
 * clearsigned file's PGP armor are skipped; the signature is checked only
 * by uc_sums_verify, whose output this then reads.
 * 0 or -EINVAL (no line names the image, a malformed line, two
 * different hashes for the image), e naming the line.
 */
int uc_sums_lookup(const char *text, size_t len, const char *path, const char *image,
		   uint8_t out[32], struct ok_err *e);
/*
 * Check the OpenPGP clearsignature of the checksum file sums with gpgv(1)
 * against the keys in keyring (a file, as gpg --export writes it) and hand
 * back the signed text (malloc'd, *len bytes; free it) for uc_sums_lookup.
 * 0; -EBADMSG (class DATA) for a bad, unknown-key or missing signature,
 * with gpgv's reason; -ENOENT when gpgv cannot be run; -errno otherwise.
 */
int uc_sums_verify(const char *sums, const char *keyring, char **text, size_t *len,
		   struct ok_err *e);
/* Image size in bytes if known before reading (raw, bmap, some zips), else -1. */
int64_t uc_src_size(const struct uc_src *s);
/* Bytes that will be written if known (mapped bytes for a bmap), else -1. */
int64_t uc_src_write_size(const struct uc_src *s);
/* "raw", "sparse", "gzip", "xz+tar", "bmap" ...: what was detected. */
const char *uc_src_kind(const struct uc_src *s);
/*
 * Fill c with the next chunk that has something to write. Returns 1, 0 at
 * the end (after the whole-image checksum, if any, matched), or -errno
 * (-EBADMSG for a checksum mismatch) with e filled.
 */
int uc_src_next(struct uc_src *s, struct uc_chunk *c, struct ok_err *e);
/*
 * The image's size for a progress meter: uc_src_size when known (raw, zip
 * and tar entries record it), else, for a compressed regular file, an
 * estimate from how far into the file the decompressor has read (image
 * bytes so far * file size / file bytes read); 0 when there is no telling
 * (a pipe). Call from the thread that calls uc_src_next.
 */
uint64_t uc_src_size_estimate(const struct uc_src *s);
/* Image bytes consumed so far (the image size once uc_src_next returned 0). */
uint64_t uc_src_offset(const struct uc_src *s);
void uc_src_close(struct uc_src *s);

/* A zeroed buffer for I/O (IO_ALIGN-aligned; from 2 MiB on, in transparent
 * huge pages where the kernel gives them). Free with io_free. */
void *uc_buf_alloc(size_t n);
/* Allocate / free a chunk with room for chunk_bytes of data. */
int uc_chunk_alloc(struct uc_chunk *c, uint32_t chunk_bytes);
void uc_chunk_free(struct uc_chunk *c);

/* ------------------------------------------------------------------ */
/* Fault hook (engine.c)                                                */
/* ------------------------------------------------------------------ */

/*
 * Test faults, parsed from USBCOPY_TEST_FAULTS by main.c, e.g.
 * "corrupt@3x1,drop@5,eio@7,kill@9": KIND@BLOCK[xCOUNT], COUNT default
 * unlimited. Kinds:
 *   corrupt  the write of block N puts wrong bytes on the device
 *   drop     the write of block N is skipped but reported as done
 *   eio      the write of block N fails with EIO
 *   rdeio    the read-back of block N fails with EIO
 *   backing  after block N is written, its bytes are changed behind the
 *            device (in a loop device's backing file, or in the target file)
 *   kill     the process is killed (SIGKILL) right after block N is written
 *   sigint   SIGINT is raised right after block N is written (Ctrl-C)
 *   slow     block N's write takes 0.3 s longer (a slow stick: tests that
 *            must see the progress meter redrawn)
 * This works in every build; it costs one branch per chunk when unset.
 */
enum uc_fault_kind {
	UC_F_CORRUPT,
	UC_F_DROP,
	UC_F_EIO,
	UC_F_RDEIO,
	UC_F_BACKING,
	UC_F_KILL,
	UC_F_SIGINT,
	UC_F_SLOW,
};

struct uc_fault {
	enum uc_fault_kind kind;
	uint64_t block; /* chunk number */
	int count;	/* remaining firings, -1 = always */
};

#define UC_MAX_FAULTS 16

struct uc_faults {
	struct uc_fault f[UC_MAX_FAULTS];
	int n;
};

/* Parse a fault list; 0 or -EINVAL with e filled. */
int uc_faults_parse(const char *spec, struct uc_faults *fl, struct ok_err *e);

/* ------------------------------------------------------------------ */
/* Targets and the engine (engine.c)                                    */
/* ------------------------------------------------------------------ */

struct uc_target {
	/* set by the caller */
	const char *path;  /* device node or regular file */
	char backing[512]; /* loop backing file (for the backing fault), or "" */
	/* set by uc_target_open (rrpart is set by uc_write) */
	int fd;		     /* O_EXCL, flock'd; -1 when closed */
	int is_blk;	     /* a block device */
	int direct;	     /* fd is O_DIRECT (reads bypass the page cache) */
	uint64_t size_bytes; /* device or file size */
	uint32_t align;	     /* O_DIRECT granularity (logical block size) */
	/* results of uc_write */
	uint64_t rewritten; /* chunks that needed more than one write */
	uint64_t written;   /* bytes written (counting each try) */
	uint64_t verified;  /* bytes read back and found equal */
	uint64_t bad_block; /* the chunk that failed, when err is set */
	int err;	    /* 0, or -errno of the failure (-EILSEQ: verify) */
	struct ok_err e;    /* the failure's message */
	int rrpart;	    /* BLKRRPART result: 0, -errno, or 1 if not tried */
	void *priv;	    /* engine state */
};

/*
 * Open a target for writing: O_RDWR | O_EXCL (block devices; EBUSY if
 * mounted or held), O_DIRECT when the device accepts it, flock(LOCK_EX) so
 * udev keeps away. A regular file is created if missing. 0 or -errno.
 */
int uc_target_open(struct uc_target *t, struct ok_err *e);
void uc_target_close(struct uc_target *t);

struct uc_write_opts {
	uint32_t chunk_bytes; /* multiple of IO_ALIGN */
	int tries;	      /* writes per chunk before giving up (3) */
	int verify;	      /* read each chunk back right after writing it and compare
				 (--verify-chunks, or --no-final-verify); a chunk that
				 differs is re-written at once */
	int zero_tail;	      /* zero the device's last MiB when the image ends before it */
	int final_verify;     /* after the first chunk: read every extent back and compare
				 XXH3-128 digests (catches wrap-around); damaged chunks
				 are repaired and everything read once more */
	unsigned workers;     /* threads per target (0: 2, so one chunk is flushed or
				 read back while the next is written); 1 keeps chunks
				 in order */
	const struct uc_faults *faults; /* test faults, or NULL */
	/* called from the calling thread about 4 times a second and at the end */
	void (*progress)(void *ctx, uint64_t written,
			 uint64_t verified); /* bytes, averaged over targets */
	void *ctx;
	volatile int *stop; /* set (e.g. by SIGINT) to stop between chunks */
};

/*
 * Write src to every target (opened with uc_target_open): one reader (this
 * thread), opts->workers writer threads per target taking alternate chunks;
 * each chunk is written and flushed (write errors retried up to opts->tries
 * times), and with opts->verify read back from the device at once, compared
 * and rewritten up to opts->tries times. Before anything is written, the
 * first and last MiB of every block device are zeroed (so an interrupted
 * write leaves a blank stick). The first chunk is held back and written only
 * after every other chunk of that target was written (and, with verify,
 * verified) and the source's checksums matched. Then the tail is zeroed (and
 * read back), the device flushed, and with final_verify every written extent
 * read back (O_DIRECT) and its XXH3-128 digest compared with the image's:
 * the one read of the device without verify. Up to 16 damaged chunks are
 * re-read from a second reader of the image (uc_src_reopen: a regular file),
 * re-written and read back (tries 2..opts->tries, counted in rewritten), then
 * the whole image is read back once more; otherwise -EILSEQ "Final
 * verification failed on block B", and the ends are zeroed again. Last, the
 * partition table is re-read.
 *
 * Returns 0 if every target succeeded; otherwise the first failure's
 * negative errno: a source error fills e and stops all targets; a target's
 * own failure is in t->err / t->e (-EILSEQ: "Verification failed after N
 * attempts on block B") and the other targets carry on.
 */
int uc_write(struct uc_src *src, struct uc_target *t, size_t nt, const struct uc_write_opts *o,
	     struct ok_err *e);

/* What the fake-capacity probe found. */
struct uc_probe_result {
	int fake;	     /* 1: data is lost somewhere below the advertised size */
	uint64_t real_bytes; /* bytes that hold data (the advertised size if good) */
	char kind[16];	     /* "good", "wraparound", "limbo" (writes dropped), "damaged" */
	char why[256];	     /* one line for the user when fake */
};

/*
 * Fake-capacity probe after f3probe (engine.c explains the method): signed
 * 4 KiB blocks find wrap-around at any power of two by reading only, and
 * dropped writes (or wrap-around at any other size) by 64 spread samples and
 * a bisection down to one block; about 100 blocks are written, each saved
 * first and restored at the end, also when *stop (may be NULL) is set
 * between steps (then -EINTR). Returns 0 (good), 1 (fake: res says how much
 * is real) or -errno with e filled.
 */
int uc_probe(struct uc_target *t, struct uc_probe_result *res, volatile int *stop,
	     struct ok_err *e);

#endif
