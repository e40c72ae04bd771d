/*
 * test_force.c: members kicked one after another, assembled as mdadm 4.2's
 * Assemble.c does with --assemble --force (member.h's md_members_force_plan
 * through md_array_open).
 *
 * The arrays are made by mdraid itself: create, then writes with members
 * given as "missing" (each write session bumps the events of the members
 * present, so the absent ones fall behind, as after a power cut), then the
 * last kick as the kernel's md_error leaves it: the survivors' events bumped
 * and the kicked member's role faulty in their superblocks. Every expected
 * choice below is derived by hand from Assemble.c (mdadm 4.2): load_devices
 * (most_recent, best[]), Assemble() (up to date within one event, avail[]),
 * force_array() (freshest stale data-slot member, its vintage, until
 * enough()), and the "assemble" update of chosen_drive's roles. The crash
 * cases cut the superblock writes after every prefix (lib/io.h's io_sys) and
 * judge each state by the kernel's rules (super_1_validate: a member at the
 * freshest events takes its own role) and by a second --force.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io.h"
#include "mdraid.h"

#define MIB (1u << 20)
static char dir[256];
static char *paths[6], *snaps[6], *rev[6];
static uint8_t *expect; /* the array's first 5 MiB as written */

static void fill(uint8_t *b, size_t n, uint32_t seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1664525 + 1013904223;
		b[i] = (uint8_t)(seed >> 24);
	}
}

static void make_members(int n)
{
	for (int i = 0; i < n; i++) {
		int fd = open(paths[i], O_RDWR | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(ftruncate(fd, 4 * MIB), 0);
		close(fd);
	}
}

static void create(int level, int n, int minor)
{
	struct md_create_opts o = {0};
	struct ok_err e;
	o.level = level;
	o.raid_disks = n;
	o.chunk_kib = 64;
	o.layout = MD_LEFT_SYMMETRIC;
	o.minor = minor;
	o.homehost = "testhost";
	o.bitmap = 0;
	o.assume_clean = true;
	o.force = true;
	o.no_safety = true;
	make_members(n);
	int rc = md_create(&o, n, paths, &e);
	if (rc)
		fprintf(stderr, "create: %s\n", e.msg);
	assert_int_equal(rc, 0);
}

/* One write session of len bytes at off (seed's bytes, also put in expect)
 * with the members of mask absent. */
static void session(int n, unsigned absent, size_t off, size_t len, uint32_t seed)
{
	char *p[6];
	struct md_array a;
	struct ok_err e;
	for (int i = 0; i < n; i++)
		p[i] = (absent >> i) & 1 ? "missing" : paths[i];
	fill(expect + off, len, seed);
	assert_int_equal(md_array_open(&a, n, p, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(md_array_write(&a, off, expect + off, len, &e), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
}

static void sb_get(int i, struct md_sb *sb)
{
	struct ok_err e;
	int fd = open(paths[i], O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(md_sb_read(fd, paths[i], -1, sb, &e), 0);
	close(fd);
}

static void sb_put(int i, struct md_sb *sb)
{
	struct ok_err e;
	int fd = open(paths[i], O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(md_sb_write(fd, paths[i], sb, &e), 0);
	close(fd);
}

/* events of member i as its superblock says (0.90 and 1.x alike) */
static uint64_t events_of(int i)
{
	static struct md_sb sb;
	sb_get(i, &sb);
	return sb.events;
}

/* role member i's superblock gives device number d */
static unsigned role_in(int i, unsigned d)
{
	static struct md_sb sb;
	sb_get(i, &sb);
	return sb.dev_roles[d];
}

/* The kernel's md_error for member k on the running array of the members
 * in mask: their events + 2 (the fault, then the stop), k faulty there. */
static void kick(unsigned mask, int k)
{
	static struct md_sb sb, ks;
	sb_get(k, &ks);
	for (int i = 0; i < 6; i++) {
		if (!((mask >> i) & 1))
			continue;
		sb_get(i, &sb);
		sb.events += 2;
		sb.dev_roles[ks.dev_number] = MD_ROLE_FAULTY;
		sb_put(i, &sb);
	}
}

static void set_events(int i, uint64_t ev)
{
	static struct md_sb sb;
	sb_get(i, &sb);
	sb.events = ev;
	sb_put(i, &sb);
}

static void copy_file(const char *from, const char *to)
{
	FILE *f = fopen(from, "rb"), *t = fopen(to, "wb");
	assert_non_null(f);
	assert_non_null(t);
	static uint8_t buf[1 << 16];
	size_t r;
	while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
		assert_int_equal(fwrite(buf, 1, r, t), r);
	fclose(f);
	assert_int_equal(fclose(t), 0);
}

static void snapshot(int n)
{
	for (int i = 0; i < n; i++)
		copy_file(paths[i], snaps[i]);
}

static void restore(int n)
{
	for (int i = 0; i < n; i++)
		copy_file(snaps[i], paths[i]);
}

static bool same_file(const char *a, const char *b)
{
	FILE *f = fopen(a, "rb"), *g = fopen(b, "rb");
	static uint8_t x[1 << 16], y[1 << 16];
	bool same = f && g;
	size_t r, s;
	while (same && (r = fread(x, 1, sizeof(x), f)) > 0) {
		s = fread(y, 1, sizeof(y), g);
		same = r == s && !memcmp(x, y, r);
	}
	same = same && fread(y, 1, 1, g) == 0;
	if (f)
		fclose(f);
	if (g)
		fclose(g);
	return same;
}

/* open (flags | NO_SAFETY), check the first len bytes against expect */
static int open_read(char **p, int n, unsigned flags, struct md_array *a, struct ok_err *e,
		     size_t len)
{
	int rc = md_array_open(a, n, p, flags | MD_OPEN_NO_SAFETY, e);
	if (rc < 0 || !len)
		return rc;
	uint8_t *got = malloc(len);
	assert_non_null(got);
	assert_int_equal(md_array_read(a, 0, got, len, e), 0);
	assert_memory_equal(got, expect, len);
	free(got);
	return rc;
}

static void assert_has(const char *text, const char *fmt, ...)
{
	char want[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(want, sizeof(want), fmt, ap);
	va_end(ap);
	if (!strstr(text, want))
		fail_msg("missing \"%s\" in:\n%s", want, text);
}

/*
 * RAID6, 6 members: session A with all, B without m5, C without m4 and m5,
 * then the kernel kicks m3 from the four: m0..m2 at E, m3 at E-2, m4 and m5
 * further behind (E-4, E-6).
 */
static uint64_t base6(void)
{
	create(6, 6, 2);
	session(6, 0, 0, 3 * MIB, 1);
	session(6, 1u << 5, 1 * MIB, 1 * MIB, 2);
	session(6, 3u << 4, 2 * MIB, 3 * MIB, 3);
	kick(7, 3);
	assert_int_equal(events_of(3), events_of(0) - 2);
	assert_int_equal(events_of(4), events_of(0) - 4);
	assert_int_equal(events_of(5), events_of(0) - 6);
	return events_of(0);
}

/* Without --force: refused, every stale member named with its lag;
 * --dry-run: mdadm's choice printed, the members unchanged; --force:
 * force_array takes m3 (the freshest stale: E-2 over E-4 and E-6), then
 * enough() holds (4 of 6 slots), so m4 and m5 stay out; chosen_drive is m0
 * (the lowest slot at E), whose role for m3 goes from faulty to 3. */
static void test_force_one(void **state)
{
	(void)state;
	uint64_t E = base6();
	snapshot(6);
	struct md_array a;
	struct ok_err e;
	assert_int_equal(open_read(paths, 6, 0, &a, &e, 0), -ENODEV);
	assert_has(e.msg, "not enough to start the array (4 needed)");
	assert_has(e.msg, "%s (slot 3) events %llu, 2 behind", paths[3], (unsigned long long)E - 2);
	assert_has(e.msg, "%s (slot 4) events %llu, 4 behind", paths[4], (unsigned long long)E - 4);
	assert_has(e.msg, "%s (slot 5) events %llu, 6 behind", paths[5], (unsigned long long)E - 6);
	assert_has(e.msg, "--force");

	unsigned dry = MD_OPEN_ASSEMBLE_FORCE | MD_OPEN_DRY_RUN;
	assert_int_equal(open_read(paths, 6, dry, &a, &e, 5 * MIB), 0);
	assert_has(a.forced, "forcing event count in %s(3) from %llu up to %llu\n", paths[3],
		   (unsigned long long)E - 2, (unsigned long long)E);
	assert_has(a.forced, "clearing FAULTY flag for device 3 in testhost:0 for %s", paths[3]);
	assert_has(a.forced, "%s(4): left out: events %llu, 4 behind", paths[4],
		   (unsigned long long)E - 4);
	char not4[320];
	snprintf(not4, sizeof(not4), "forcing event count in %s(4)", paths[4]);
	assert_null(strstr(a.forced, not4));
	assert_int_equal(md_array_close(&a, &e), 0);
	for (int i = 0; i < 6; i++)
		assert_true(same_file(paths[i], snaps[i]));

	assert_int_equal(open_read(paths, 6, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 5 * MIB), 0);
	assert_has(a.forced, "forcing event count in %s(3) from %llu up to %llu\n", paths[3],
		   (unsigned long long)E - 2, (unsigned long long)E);
	assert_int_equal(a.missing, 2);
	assert_int_equal(md_array_close(&a, &e), 0);
	assert_int_equal(events_of(3), E);
	assert_int_equal(role_in(0, 3), 3);		 /* chosen_drive's roles */
	assert_int_equal(role_in(1, 3), MD_ROLE_FAULTY); /* only chosen's are rewritten */
	assert_true(same_file(paths[4], snaps[4]));
	assert_true(same_file(paths[5], snaps[5]));
	/* now the array starts as it is: nothing more to force */
	assert_int_equal(open_read(paths, 6, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 5 * MIB), 0);
	assert_string_equal(a.forced, "");
	assert_int_equal(md_array_close(&a, &e), 0);
	assert_int_equal(open_read(paths, 6, 0, &a, &e, 5 * MIB), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
}

/* Members given in another order choose the same (mdadm 4.2 counts avail[]
 * by the device index there and would force m4 and m5 too: mdraid(1)). */
static void test_force_any_order(void **state)
{
	(void)state;
	uint64_t E = base6();
	snapshot(6);
	struct md_array a;
	struct ok_err e;
	for (int i = 0; i < 6; i++)
		rev[i] = paths[5 - i];
	assert_int_equal(open_read(rev, 6, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 5 * MIB), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
	assert_int_equal(events_of(3), E);
	assert_true(same_file(paths[4], snaps[4]));
	assert_true(same_file(paths[5], snaps[5]));
}

/* Ties and vintage: m3 and m4 both at E-4. force_array's scan takes the
 * lowest slot (m3), then "any other drives of the same vintage" (m4), though
 * enough() held after m3; m5 (E-6) stays out. m0's roles for both change
 * (m3's from faulty, m4's from spare: mdraid wrote that session). */
static void test_force_vintage(void **state)
{
	(void)state;
	uint64_t E = base6();
	set_events(3, E - 4);
	struct md_array a;
	struct ok_err e;
	assert_int_equal(open_read(paths, 6, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 0), 0);
	const char *f = a.forced;
	char *l3 = strstr(f, "forcing event count in"), *l4 = l3 ? strstr(l3 + 1, "forcing") : NULL;
	assert_non_null(l4);
	assert_has(l3, "in %s(3) from %llu up to %llu\nforcing event count in %s(4) from %llu",
		   paths[3], (unsigned long long)E - 4, (unsigned long long)E, paths[4],
		   (unsigned long long)E - 4);
	assert_has(f, "clearing FAULTY flag for device 3 in testhost:0 for %s", paths[3]);
	assert_has(f, "clearing FAULTY flag for device 4 in testhost:0 for %s", paths[4]);
	assert_int_equal(md_array_close(&a, &e), 0);
	assert_int_equal(events_of(3), E);
	assert_int_equal(events_of(4), E);
	assert_int_equal(events_of(5), E - 6);
	assert_int_equal(role_in(0, 4), 4);
}

/* The freshest stale first: m3 at E-5 is older than m4 (E-4), so m4 is
 * forced and m3 stays out. */
static void test_force_freshest(void **state)
{
	(void)state;
	uint64_t E = base6();
	set_events(3, E - 5);
	struct md_array a;
	struct ok_err e;
	assert_int_equal(open_read(paths, 6, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 0), 0);
	assert_has(a.forced, "forcing event count in %s(4) from %llu up to %llu\n", paths[4],
		   (unsigned long long)E - 4, (unsigned long long)E);
	assert_has(a.forced, "%s(3): left out: events %llu, 5 behind", paths[3],
		   (unsigned long long)E - 5);
	assert_int_equal(md_array_close(&a, &e), 0);
	assert_int_equal(events_of(3), E - 5);
	assert_int_equal(events_of(4), E);
}

/* RAID5 (1.2 and 0.90): B without m3, then m2 kicked from m0..m2: m2 is
 * forced (3 of 4 slots), m3 stays out; the content is A then B. */
static void raid5_case(int minor)
{
	create(5, 4, minor);
	session(4, 0, 0, 3 * MIB, 11);
	session(4, 1u << 3, 1 * MIB, 2 * MIB, 12);
	kick(3, 2);
	uint64_t E = events_of(0);
	assert_int_equal(events_of(2), E - 2);
	struct md_array a;
	struct ok_err e;
	assert_int_equal(open_read(paths, 4, 0, &a, &e, 0), -ENODEV);
	assert_int_equal(open_read(paths, 4, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 3 * MIB), 0);
	assert_has(a.forced, "forcing event count in %s(2) from %llu up to %llu\n", paths[2],
		   (unsigned long long)E - 2, (unsigned long long)E);
	assert_int_equal(md_array_close(&a, &e), 0);
	assert_int_equal(events_of(2), E);
	assert_int_equal(role_in(0, 2), 2);
	assert_int_equal(events_of(3), E - 4);
	assert_int_equal(open_read(paths, 4, 0, &a, &e, 3 * MIB), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
}

static void test_force_raid5(void **state)
{
	(void)state;
	raid5_case(2);
}

static void test_force_raid5_090(void **state)
{
	(void)state;
	raid5_case(90);
}

static int writes_left = -1;
static ssize_t crash_pwrite(int fd, const void *b, size_t n, off_t off)
{
	if (writes_left == 0) {
		errno = EIO;
		return -1;
	}
	if (writes_left > 0)
		writes_left--;
	return pwrite(fd, b, n, off);
}

/* events and roles of every member, for comparing end states */
struct sbs {
	uint64_t ev[6];
	uint16_t roles[6][8];
};

static void sbs_get(int n, struct sbs *s)
{
	static struct md_sb sb;
	for (int i = 0; i < n; i++) {
		sb_get(i, &sb);
		struct ok_err e;
		assert_int_equal(md_sb_validate(&sb, paths[i], &e), 0); /* checksum, fields */
		s->ev[i] = sb.events;
		memcpy(s->roles[i], sb.dev_roles, sizeof(s->roles[i]));
	}
}

/*
 * Crash after every prefix of --force's superblock writes (m3's events,
 * then m0's roles). Each prefix is judged by the kernel's rules and a
 * second --force: every superblock still valid; after m3's write the array
 * starts even without --force (m3 at the freshest events takes its own
 * role, super_1_validate), with the same content; a second --force ends in
 * the superblocks of the run that was not cut.
 */
static void test_force_crash_prefixes(void **state)
{
	(void)state;
	base6();
	snapshot(6);
	struct md_array a;
	struct ok_err e;
	struct sbs done, got;
	assert_int_equal(open_read(paths, 6, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 0), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
	sbs_get(6, &done);
	for (int k = 0; k < 2; k++) {
		restore(6);
		writes_left = k;
		io_sys.pwrite = crash_pwrite;
		assert_true(open_read(paths, 6, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 0) < 0);
		io_sys = io_sys_default;
		writes_left = -1;
		sbs_get(6, &got);
		assert_int_equal(open_read(paths, 6, 0, &a, &e, k ? 5 * MIB : 0), k ? 0 : -ENODEV);
		if (k)
			assert_int_equal(md_array_close(&a, &e), 0);
		assert_int_equal(open_read(paths, 6, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 5 * MIB), 0);
		assert_int_equal(md_array_close(&a, &e), 0);
		sbs_get(6, &got);
		assert_memory_equal(&got, &done, sizeof(got));
	}
}

/*
 * The vintage plan writes three superblocks (m3, m4, m0). On a prefix a
 * second --force makes mdadm's choice for that state: after m3's write
 * enough() holds without m4, which then stays out; after m3's and m4's only
 * the roles are left to write.
 */
static void test_force_crash_vintage(void **state)
{
	(void)state;
	uint64_t E = base6();
	set_events(3, E - 4);
	snapshot(6);
	struct md_array a;
	struct ok_err e;
	for (int k = 0; k < 3; k++) {
		restore(6);
		writes_left = k;
		io_sys.pwrite = crash_pwrite;
		assert_true(open_read(paths, 6, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 0) < 0);
		io_sys = io_sys_default;
		writes_left = -1;
		assert_int_equal(events_of(3), k >= 1 ? E : E - 4);
		assert_int_equal(events_of(4), k >= 2 ? E : E - 4);
		assert_int_equal(open_read(paths, 6, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 0), 0);
		if (k == 1)
			assert_null(strstr(a.forced, "forcing"));
		assert_int_equal(md_array_close(&a, &e), 0);
		assert_int_equal(events_of(3), E);
		assert_int_equal(events_of(4), k == 1 ? E - 4 : E);
		assert_int_equal(role_in(0, 3), 3);
		assert_int_equal(role_in(0, 4), k == 1 ? MD_ROLE_SPARE : 4);
	}
}

/* resync_offset of member i's superblock (0.90: MaxSector when clean) */
static uint64_t resync_of(int i)
{
	static struct md_sb sb;
	sb_get(i, &sb);
	return sb.resync_offset;
}

/* Mark member i dirty as the kernel leaves an active array (super_1_sync /
 * super_90_sync with in_sync unset: resync_offset 0, 0.90 clean bit off). */
static void set_dirty(int i)
{
	static struct md_sb sb;
	sb_get(i, &sb);
	sb.resync_offset = 0;
	sb_put(i, &sb);
}

/* What a plain mdadm --assemble (no --force) decides from the superblocks
 * (Assemble.c, mdadm 4.2): the members in use are those within one event of
 * the freshest; clean = every one of them clean (array.state bit 0, from
 * resync_offset == MaxSector); it starts when enough(clean): all raid_disks
 * slots when not clean, raid_disks - parity when clean. */
static bool plain_mdadm_starts(int n, int raid_disks, int parity)
{
	static struct md_sb sb;
	uint64_t top = 0;
	for (int i = 0; i < n; i++)
		if (events_of(i) > top)
			top = events_of(i);
	bool clean = true;
	int avail = 0;
	for (int i = 0; i < n; i++) {
		sb_get(i, &sb);
		if (sb.events + 1 < top)
			continue;
		avail++;
		clean &= sb.resync_offset == MD_MAX_SECTOR;
	}
	return avail >= (clean ? raid_disks - parity : raid_disks);
}

/*
 * RAID5 of 4 kicked while dirty: session A with all, B without m3, then the
 * kernel kicks m2 from m0..m2 while the array is active (writes in flight):
 * the survivors' superblocks say resync_offset 0, and m2's last one (the
 * array marked active before the kick) too. mdadm --force: m2 forced (E-2
 * up to E), chosen_drive m0 gets m2's role back and, the array being dirty
 * and degraded (3 of 4 slots; enough(clean=0) wants 4), "force-array"
 * marks it clean (resync_offset MaxSector) in the same write. mdraid then
 * marks m1 and m2 clean too, which mdadm leaves to the kernel's start; m3
 * (left out) stays as it was. A plain open (and a plain mdadm --assemble,
 * judged by plain_mdadm_starts) then starts the array for writing.
 */
static uint64_t dirty5(int minor)
{
	create(5, 4, minor);
	session(4, 0, 0, 3 * MIB, 21);
	session(4, 1u << 3, 1 * MIB, 2 * MIB, 22);
	kick(3, 2);
	for (int i = 0; i < 3; i++)
		set_dirty(i);
	uint64_t E = events_of(0);
	assert_int_equal(events_of(2), E - 2);
	assert_false(plain_mdadm_starts(4, 4, 1));
	return E;
}

static void dirty_case(int minor)
{
	uint64_t E = dirty5(minor);
	snapshot(4);
	struct md_array a;
	struct ok_err e;
	assert_int_equal(open_read(paths, 4, 0, &a, &e, 0), -ENODEV);
	unsigned dry = MD_OPEN_ASSEMBLE_FORCE | MD_OPEN_DRY_RUN;
	assert_int_equal(open_read(paths, 4, dry, &a, &e, 3 * MIB), 0);
	assert_has(a.forced, "forcing event count in %s(2) from %llu up to %llu\n", paths[2],
		   (unsigned long long)E - 2, (unsigned long long)E);
	assert_has(a.forced, "Marking array %s as 'clean'",
		   minor == 90 ? "/dev/md0" : "testhost:0");
	assert_has(a.forced, "in %s's superblock\n", paths[0]);
	assert_has(a.forced, "marking %s clean too", paths[1]);
	assert_has(a.forced, "marking %s clean too", paths[2]);
	assert_int_equal(md_array_close(&a, &e), 0);
	for (int i = 0; i < 4; i++)
		assert_true(same_file(paths[i], snaps[i]));
	uint64_t r3 = resync_of(3);
	assert_int_equal(open_read(paths, 4, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 3 * MIB), 0);
	assert_false(a.dirty);
	assert_string_equal(a.warn, "");
	assert_int_equal(md_array_close(&a, &e), 0);
	for (int i = 0; i < 3; i++)
		assert_true(resync_of(i) == MD_MAX_SECTOR);
	assert_true(resync_of(3) == r3);
	assert_int_equal(events_of(2), E);
	assert_int_equal(role_in(0, 2), 2);
	assert_true(plain_mdadm_starts(4, 4, 1));
	/* plain: writable without --force, nothing left to force */
	assert_int_equal(open_read(paths, 4, MD_OPEN_WRITE, &a, &e, 3 * MIB), 0);
	assert_string_equal(a.forced, "");
	assert_int_equal(md_array_close(&a, &e), 0);
}

static void test_force_dirty(void **state)
{
	(void)state;
	dirty_case(2);
}

static void test_force_dirty_090(void **state)
{
	(void)state;
	dirty_case(90);
}

/* A dirty degraded array with nothing stale: --force alone marks it clean
 * (mdadm: c->force && !clean && !enough(clean=0), chosen_drive m0), and
 * the rest in use (m1, m2) after it; without --force a write is refused. */
static void test_force_dirty_only(void **state)
{
	(void)state;
	create(5, 4, 2);
	session(4, 0, 0, 3 * MIB, 31);
	for (int i = 0; i < 3; i++)
		set_dirty(i);
	char *p[4] = {paths[0], paths[1], paths[2], "missing"};
	struct md_array a;
	struct ok_err e;
	assert_int_equal(md_array_open(&a, 4, p, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), -EPERM);
	assert_int_equal(md_array_open(&a, 4, p, MD_OPEN_ASSEMBLE_FORCE | MD_OPEN_NO_SAFETY, &e),
			 0);
	assert_has(a.forced, "Marking array testhost:0 as 'clean'");
	assert_null(strstr(a.forced, "forcing"));
	assert_int_equal(md_array_close(&a, &e), 0);
	for (int i = 0; i < 3; i++)
		assert_true(resync_of(i) == MD_MAX_SECTOR);
	assert_int_equal(md_array_open(&a, 4, p, MD_OPEN_WRITE | MD_OPEN_NO_SAFETY, &e), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
	/* not degraded: dirty stays dirty (the kernel resyncs), --force or not */
	for (int i = 0; i < 4; i++)
		set_dirty(i);
	assert_int_equal(open_read(paths, 4, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 3 * MIB), 0);
	assert_string_equal(a.forced, "");
	assert_true(a.dirty);
	assert_int_equal(md_array_close(&a, &e), 0);
	assert_true(resync_of(0) != MD_MAX_SECTOR);
}

/* resync_offset of each member, for comparing end states */
static void resyncs_get(int n, uint64_t *r)
{
	for (int i = 0; i < n; i++)
		r[i] = resync_of(i);
}

/*
 * Crash after every prefix of the dirty plan's four writes (m2's events,
 * m0's roles and clean mark, m1 clean, m2 clean). Each state is judged by
 * mdadm's rules: every superblock valid; a plain mdadm --assemble refuses
 * every prefix (a member in use is still dirty, the array degraded) and so
 * does a plain mdraid write; after m0's write the members are exactly what
 * mdadm --assemble --force leaves; a second --force (mdadm's choice for that
 * state, finishing mdraid's part) reads the same content and ends in the
 * uncut run's events, roles and clean marks.
 */
static void test_force_crash_dirty(void **state)
{
	(void)state;
	uint64_t E = dirty5(2);
	snapshot(4);
	struct md_array a;
	struct ok_err e;
	struct sbs done, got;
	uint64_t rdone[4], rgot[4];
	memset(&done, 0, sizeof(done));
	memset(&got, 0, sizeof(got));
	assert_int_equal(open_read(paths, 4, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 0), 0);
	assert_int_equal(md_array_close(&a, &e), 0);
	sbs_get(4, &done);
	resyncs_get(4, rdone);
	for (int k = 0; k < 4; k++) {
		restore(4);
		writes_left = k;
		io_sys.pwrite = crash_pwrite;
		assert_true(open_read(paths, 4, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 0) < 0);
		io_sys = io_sys_default;
		writes_left = -1;
		sbs_get(4, &got);
		assert_int_equal(events_of(2), k >= 1 ? E : E - 2);
		assert_true((resync_of(0) == MD_MAX_SECTOR) == (k >= 2));
		assert_true((resync_of(1) == MD_MAX_SECTOR) == (k >= 3));
		assert_false(plain_mdadm_starts(4, 4, 1));
		int rc = open_read(paths, 4, MD_OPEN_WRITE, &a, &e, 0);
		assert_int_equal(rc, k >= 1 ? -EPERM : -ENODEV);
		assert_int_equal(open_read(paths, 4, MD_OPEN_ASSEMBLE_FORCE, &a, &e, 3 * MIB), 0);
		assert_int_equal(md_array_close(&a, &e), 0);
		sbs_get(4, &got);
		resyncs_get(4, rgot);
		assert_memory_equal(&got, &done, sizeof(got));
		assert_memory_equal(rgot, rdone, sizeof(rgot));
		assert_true(plain_mdadm_starts(4, 4, 1));
	}
}

static int setup(void **state)
{
	(void)state;
	const char *tmp = getenv("TMPDIR");
	snprintf(dir, sizeof(dir), "%s/mdraid-force.XXXXXX", tmp ? tmp : "/tmp");
	assert_non_null(mkdtemp(dir));
	for (int i = 0; i < 6; i++) {
		paths[i] = malloc(300);
		snaps[i] = malloc(300);
		snprintf(paths[i], 300, "%s/m%d.img", dir, i);
		snprintf(snaps[i], 300, "%s/s%d.img", dir, i);
	}
	expect = calloc(1, 5 * MIB);
	return expect ? 0 : 1;
}

static int teardown(void **state)
{
	(void)state;
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	for (int i = 0; i < 6; i++) {
		free(paths[i]);
		free(snaps[i]);
	}
	free(expect);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_force_one),
	    cmocka_unit_test(test_force_any_order),
	    cmocka_unit_test(test_force_vintage),
	    cmocka_unit_test(test_force_freshest),
	    cmocka_unit_test(test_force_raid5),
	    cmocka_unit_test(test_force_raid5_090),
	    cmocka_unit_test(test_force_crash_prefixes),
	    cmocka_unit_test(test_force_crash_vintage),
	    cmocka_unit_test(test_force_dirty),
	    cmocka_unit_test(test_force_dirty_090),
	    cmocka_unit_test(test_force_dirty_only),
	    cmocka_unit_test(test_force_crash_dirty),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
