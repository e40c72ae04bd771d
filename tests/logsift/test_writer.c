/*
 * test_writer.c: exact partial-write accounting of the output pipeline
 * (dest.c), with a fake transport under a writer (struct ls_wops is the
 * fault-injection table). For every byte k of a three-message queue the
 * transport takes k bytes and then fails in one way (EAGAIN, EINTR, ENOSPC
 * on a file; EPIPE on a pipe, which reopens) before taking the rest. The
 * bytes the transport saw must be the queue exactly: a file resumes at byte
 * k (no byte twice, nothing lost); a reopened pipe's new reader gets whole
 * messages starting with the one byte k was in. The expected bytes are the
 * messages themselves, not output of the code under test.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ls_int.h"

static const char *const msgs[] = {"alpha 1\n", "bravo bravo 2\n", "c3\n"};
#define NMSG 3

/* The fake transport: what each connection received, and the fault plan. */
static struct {
	struct ls_buf conn[4]; /* bytes per connection (a close starts the next) */
	int nconn;
	size_t take; /* bytes to accept before the fault */
	int fault;   /* -errno returned once at byte take */
	bool faulted;
} fk;

static ssize_t fake_write(struct ls_writer *w, const void *p, size_t n)
{
	(void)w;
	size_t have = 0;
	for (int i = 0; i <= fk.nconn; i++)
		have += fk.conn[i].len;
	if (!fk.faulted && have + n > fk.take) {
		size_t part = fk.take - have;
		if (part) {
			ls_buf_add(&fk.conn[fk.nconn], p, part);
			return (ssize_t)part;
		}
		fk.faulted = true;
		return fk.fault;
	}
	ls_buf_add(&fk.conn[fk.nconn], p, n);
	return (ssize_t)n;
}

static void fake_close(struct ls_writer *w)
{
	close(w->fd);
	w->fd = -1;
	fk.nconn++;
}

static const struct ls_wops fake_ops = {fake_write, fake_close};

static char dir[64];
static char all[64]; /* the messages back to back: what must arrive */

/* Forget what the fake transport received. */
static void fk_free(void)
{
	for (int i = 0; i < 4; i++)
		ls_buf_free(&fk.conn[i]);
}

/* A config with one destination of kind ("file" or "pipe") at path. */
static struct ls_cfg *cfg_for(const char *kind, const char *path)
{
	char text[512];
	snprintf(text, sizeof text,
		 "@version: 3.38\n"
		 "source s { unix-dgram(\"%s/s.sock\"); };\n"
		 "destination d { %s(\"%s\" time-reopen(0)); };\n"
		 "log { source(s); destination(d); };\n",
		 dir, kind, path);
	struct ok_err e;
	struct ls_cfg *c = ls_cfg_parse(text, strlen(text), "test.conf", &e);
	assert_non_null(c);
	return c;
}

/* Queue the three messages, fault at byte k, drain; return the writer's cfg. */
static void run_one(const char *kind, const char *path, size_t k, int fault)
{
	memset(&fk, 0, sizeof fk);
	fk.take = k;
	fk.fault = fault;
	struct ls_cfg *c = cfg_for(kind, path);
	struct ls_dest *dst = c->dst[0];
	struct ls_writer *w = ls_writer_get(c, dst, &dst->drv[0], path);
	assert_true(w->fd >= 0);
	w->ops = &fake_ops;
	for (int i = 0; i < NMSG; i++) {
		ls_buf_add(&w->buf, msgs[i], strlen(msgs[i]));
		assert_int_equal(ls_writer_commit(c, w, NULL), 1);
	}
	for (int round = 0; round < 20 && w->qn; round++) {
		w->blocked = false; /* the poll said writable */
		w->retry_ms = 0;    /* time-reopen() has passed */
		ls_dest_service(c, true);
	}
	assert_int_equal(w->qn, 0);
	assert_int_equal(dst->written, NMSG);
	assert_int_equal(dst->dropped, 0);
	ls_cfg_free(c);
}

static void test_file_every_split(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/out.log", dir);
	static const int faults[] = {-EAGAIN, -EINTR, -ENOSPC};
	for (size_t f = 0; f < 3; f++)
		for (size_t k = 0; k <= strlen(all); k++) {
			run_one("file", path, k, faults[f]);
			/* one file, every byte once, in order */
			struct ls_buf got = {0};
			for (int i = 0; i <= fk.nconn; i++)
				ls_buf_add(&got, fk.conn[i].p, fk.conn[i].len);
			assert_int_equal(got.len, strlen(all));
			assert_memory_equal(got.p, all, strlen(all));
			ls_buf_free(&got);
			fk_free();
		}
}

static void test_pipe_reopen_every_split(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	/* a reader keeps the FIFO openable for writing; the fake takes the bytes */
	int rd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	for (size_t k = 0; k < strlen(all); k++) {
		run_one("pipe", path, k, -EPIPE);
		/* the first reader got k bytes; the next one whole messages from
		 * the message byte k was in */
		assert_int_equal(fk.conn[0].len, k);
		assert_memory_equal(fk.conn[0].p, all, k);
		size_t start = 0;
		for (int i = 0; i < NMSG; i++) {
			size_t l = strlen(msgs[i]);
			if (start + l > k)
				break;
			start += l;
		}
		assert_int_equal(fk.conn[1].len, strlen(all) - start);
		assert_memory_equal(fk.conn[1].p, all + start, strlen(all) - start);
		fk_free();
	}
	close(rd);
	unlink(path);
}

/* log-fifo-size(): a full queue takes no more (counted), a window is never refused. */
static void test_fifo_bound(void **state)
{
	(void)state;
	char path[128], text[512];
	snprintf(path, sizeof path, "%s/bound.log", dir);
	snprintf(text, sizeof text,
		 "@version: 3.38\n"
		 "source s { unix-dgram(\"%s/s.sock\"); };\n"
		 "destination d { file(\"%s\" log-fifo-size(2)); };\n"
		 "log { source(s); destination(d); };\n",
		 dir, path);
	struct ok_err e;
	struct ls_cfg *c = ls_cfg_parse(text, strlen(text), "test.conf", &e);
	assert_non_null(c);
	struct ls_dest *dst = c->dst[0];
	struct ls_writer *w = ls_writer_get(c, dst, &dst->drv[0], path);
	memset(&fk, 0, sizeof fk);
	fk.take = 0;
	fk.fault = -EAGAIN;
	w->ops = &fake_ops;
	w->blocked = true; /* a stalled reader */
	struct ls_window *win = calloc(1, sizeof *win);
	win->avail = 1;
	int took = 0;
	for (int i = 0; i < 5; i++) {
		ls_buf_add(&w->buf, "m\n", 2);
		took += ls_writer_commit(c, w, NULL);
	}
	assert_int_equal(took, 2);
	assert_int_equal(dst->dropped, 3);
	ls_buf_add(&w->buf, "fc\n", 3);
	assert_int_equal(ls_writer_commit(c, w, win), 1); /* flow-controlled: queued */
	assert_int_equal(win->avail, 0);
	assert_int_equal(w->qn, 3);
	win->gone = true;
	ls_cfg_free(c); /* frees the window with its last queue entry */
	fk_free();
}

/* An empty line (template("")) is written as nothing, not as a disk error. */
static void test_empty_message(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof path, "%s/empty.log", dir);
	struct ls_cfg *c = cfg_for("file", path);
	struct ls_dest *dst = c->dst[0];
	struct ls_writer *w = ls_writer_get(c, dst, &dst->drv[0], path);
	assert_int_equal(ls_writer_commit(c, w, NULL), 1);
	ls_buf_add(&w->buf, "x\n", 2);
	assert_int_equal(ls_writer_commit(c, w, NULL), 1);
	ls_dest_service(c, true);
	assert_int_equal(w->qn, 0);
	assert_int_equal(dst->written, 2);
	assert_int_equal(dst->failed, 0);
	ls_cfg_free(c);
}

int main(void)
{
	snprintf(dir, sizeof dir, "%s/lswriter.XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir))
		return 1;
	for (int i = 0; i < NMSG; i++)
		strcat(all, msgs[i]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_file_every_split),
	    cmocka_unit_test(test_pipe_reopen_every_split),
	    cmocka_unit_test(test_fifo_bound),
	    cmocka_unit_test(test_empty_message),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		rc = 1;
	return rc;
}
