/*
 * test_persist.c: the persist file (persist.c) in every crash state.
 *
 * A save is: PATH.tmp written, fsynced, renamed over PATH. The states a
 * crash can leave are therefore the old PATH with PATH.tmp holding any
 * prefix of the new bytes, or the new PATH. Each is built here and loaded:
 * the old state must come back exactly (PATH.tmp is never read), then the
 * new one. A PATH cut short by anything else (a copy, a filesystem without
 * atomic rename), at every byte, must be refused with a line number, never
 * half-used; every single-bit flip too (the crc32 line). The expected states
 * are the ones the test wrote, not what the code under test computes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ls_int.h"

static int t, failures;

static void ok(int cond, const char *what)
{
	printf("%s %d - %s\n", cond ? "ok" : "not ok", ++t, what);
	failures += !cond;
}

/* path holding p[0..n) (a new file: ext4 flushes a file truncated with
 * unwritten data, which made this test wait on the disk) */
static void put(const char *path, const void *p, size_t n)
{
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0 || write(fd, p, n) != (ssize_t)n)
		abort();
	close(fd);
}

static bool same(const struct ls_pst *a, const struct ls_pst *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (strcmp(a->e[i].path, b->e[i].path) || a->e[i].dev != b->e[i].dev ||
		    a->e[i].ino != b->e[i].ino || a->e[i].off != b->e[i].off)
			return false;
	return true;
}

int main(void)
{
	char dir[] = "/tmp/test_persist.XXXXXX";
	const char *tmpdir = getenv("TAP_TMP");
	char path[512], tmp[520];
	if (tmpdir) {
		snprintf(dir, sizeof dir, "%s", "");
		snprintf(path, sizeof path, "%s/p.persist", tmpdir);
	} else {
		if (!mkdtemp(dir))
			return 1;
		snprintf(path, sizeof path, "%s/p.persist", dir);
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	printf("1..8\n");

	/* states with paths a template can make: spaces, '%', newline, UTF-8 */
	struct ls_pst old = {0}, nw = {0}, got;
	struct ok_err e;
	ls_pst_set(&old, "/var/log/messages", 2049, 131, 4096);
	ls_pst_set(&nw, "/var/log/messages", 2049, 131, 123456789);
	ls_pst_set(&nw, "/srv/log/a b%20c\nd\xc3\xa9", 18446744073709551615u, 7, 0);
	ls_pst_set(&nw, "/x", 1, 2, 3);

	ok(ls_pst_save(path, &old, &e) == 0 && ls_pst_load(path, &got, &e) == 0 &&
	       same(&got, &old) && access(tmp, F_OK) < 0,
	   "save then load gives the state back; no .tmp left");
	ls_pst_free(&got);

	struct ls_buf ob = {0}, nb = {0};
	ls_pst_format(&old, &ob);
	ls_pst_format(&nw, &nb);
	/* crash before the rename: old PATH, PATH.tmp any prefix of the new */
	int bad = 0;
	for (size_t k = 0; k <= nb.len; k++) {
		put(path, ob.p, ob.len);
		put(tmp, nb.p, k);
		if (ls_pst_load(path, &got, &e) != 0 || !same(&got, &old))
			bad++;
		ls_pst_free(&got);
	}
	char what[200];
	snprintf(what, sizeof what,
		 "crash before the rename (.tmp cut at each of %zu bytes): the old state",
		 nb.len + 1);
	ok(!bad, what);
	/* after the rename: the new state */
	put(path, nb.p, nb.len);
	ok(ls_pst_load(path, &got, &e) == 0 && same(&got, &nw), "after the rename: the new state");
	ls_pst_free(&got);

	/* PATH itself cut at every byte: refused with a line, never a state */
	bad = 0;
	for (size_t k = 0; k < nb.len; k++) {
		put(path, nb.p, k);
		ok_err_clear(&e);
		int rc = ls_pst_load(path, &got, &e);
		if (rc != -EINVAL || e.line < 1 || got.n)
			bad++;
		ls_pst_free(&got);
	}
	snprintf(what, sizeof what, "the file cut at each of %zu bytes: refused with its line",
		 nb.len);
	ok(!bad, what);

	/* every single-bit flip: refused (crc32 finds them all) */
	bad = 0;
	for (size_t k = 0; k < nb.len; k++)
		for (int b = 0; b < 8; b++) {
			nb.p[k] ^= (char)(1 << b);
			put(path, nb.p, nb.len);
			if (ls_pst_load(path, &got, &e) == 0)
				bad++;
			ls_pst_free(&got);
			nb.p[k] ^= (char)(1 << b);
		}
	snprintf(what, sizeof what, "each of %zu single-bit flips refused", nb.len * 8);
	ok(!bad, what);

	/* a one-line error naming the file, the line and what was expected */
	const char text[] = "logsift-persist 1\nfile 1 2 x /a\ncrc32 00000000\n";
	put(path, text, sizeof text - 1);
	ok_err_clear(&e);
	char msg[800];
	ls_pst_load(path, &got, &e);
	ok_err_format(&e, msg, sizeof msg);
	ok(e.line == 2 && strstr(msg, "expected 'file DEV INO OFFSET PATH'") &&
	       strstr(msg, "p.persist"),
	   "a bad line: the file, line 2 and what was expected");
	printf("# %s\n", msg);

	/*
	 * PATH.now, rewritten in place without fsync: PATH holds old (its last
	 * fsynced save), PATH.now holds nw and is being rewritten with old2
	 * (shorter). What a kill or power loss can leave: the pwrite cut at
	 * every byte over nw's bytes, then the whole pwrite before the
	 * ftruncate, then after it. Expected: nw while unchanged, old2 once
	 * truncated, PATH's old in every state between (refused by its crc32 or
	 * the bytes after the crc32 line), never a mixture.
	 */
	char now[530];
	snprintf(now, sizeof now, "%s.now", path);
	struct ls_pst old2 = {0};
	ls_pst_set(&old2, "/var/log/messages", 2049, 131, 8192);
	struct ls_buf o2 = {0};
	ls_pst_format(&old2, &o2);
	put(path, ob.p, ob.len);
	bad = 0;
	for (size_t k = 0; k <= o2.len; k++) {
		char *mix = malloc(nb.len);
		memcpy(mix, nb.p, nb.len);
		memcpy(mix, o2.p, k);
		put(now, mix, nb.len);
		/* while the bytes written so far equal nw's, it is nw */
		const struct ls_pst *want = !memcmp(mix, nb.p, nb.len) ? &nw : &old;
		free(mix);
		if (ls_pst_load(path, &got, &e) != 0 || !same(&got, want))
			bad++;
		ls_pst_free(&got);
	}
	snprintf(what, sizeof what,
		 "PATH.now rewrite cut at each of %zu bytes, then before its ftruncate: "
		 "nw while unchanged, else PATH's state",
		 o2.len + 1);
	ok(!bad, what);
	int fd = -1;
	size_t len = 0;
	unlink(now);
	int r1 = ls_pst_save_now(path, &fd, &len, &nw);
	int r2 = ls_pst_save_now(path, &fd, &len, &old2);
	ok(r1 == 0 && r2 == 0 && len == o2.len && ls_pst_load(path, &got, &e) == 0 &&
	       same(&got, &old2),
	   "ls_pst_save_now: a shorter state over a longer one loads back exactly");
	ls_pst_free(&got);
	if (fd >= 0)
		close(fd);
	unlink(now);
	ls_buf_free(&o2);
	ls_pst_free(&old2);

	ls_buf_free(&ob);
	ls_buf_free(&nb);
	ls_pst_free(&old);
	ls_pst_free(&nw);
	unlink(path);
	unlink(tmp);
	if (!tmpdir)
		rmdir(dir);
	return 0;
}
