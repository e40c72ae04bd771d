/*
 * iopool.c: persistent I/O threads (iopool.h is the manual).
 *
 * One mutex and two condition variables: `go` wakes the workers when a
 * batch is posted (gen changes), `done` wakes the owner when the last job
 * of the batch finishes. Jobs are taken by index (next++) under the mutex,
 * so a worker that wakes late simply finds none left; the owner takes jobs
 * too in md_pool_run. Why not md_par_run: see iopool.h.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "iopool.h"
#include "member.h"

struct md_pool {
	pthread_mutex_t mu;
	pthread_cond_t go;   /* a batch was posted, or stop */
	pthread_cond_t done; /* the batch's last job finished */
	pthread_t th[MD_MAX_MEMBERS];
	int want;     /* threads asked for, made at the first parallel batch */
	int nthreads; /* threads running */
	int stop;     /* md_pool_free: workers exit */
	/* the batch (valid while busy) */
	int (*fn)(void *ctx, int i, struct ok_err *e);
	void *ctx;
	int n;	      /* jobs */
	int next;     /* first job not taken */
	int finished; /* jobs done */
	int busy;     /* a batch was started and not yet waited for */
	int rc[MD_MAX_MEMBERS];
	struct ok_err e[MD_MAX_MEMBERS];
};

/* Take and run jobs of the current batch until none is left; called with
 * p->mu held, returns with it held. */
static void take_jobs(struct md_pool *p)
{
	while (p->next < p->n) {
		int i = p->next++;
		pthread_mutex_unlock(&p->mu);
		ok_err_clear(&p->e[i]);
		int rc = p->fn(p->ctx, i, &p->e[i]);
		pthread_mutex_lock(&p->mu);
		p->rc[i] = rc;
		if (++p->finished == p->n)
			pthread_cond_signal(&p->done);
	}
}

static void *worker(void *arg)
{
	struct md_pool *p = arg;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop && p->next >= p->n)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->stop)
			break;
		take_jobs(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct md_pool *md_pool_new(int nthreads)
{
	struct md_pool *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	if (nthreads > MD_MAX_MEMBERS)
		nthreads = MD_MAX_MEMBERS;
	if (pthread_mutex_init(&p->mu, NULL)) {
		free(p);
		return NULL;
	}
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	p->want = nthreads;
	return p;
}

/* Make the threads, once: a pool whose batches all run inline (a test's
 * io_sys, thousands of short runs) never pays for them. */
static void start_threads(struct md_pool *p)
{
	for (; p->want > 0; p->want--) {
		if (md_thread_start(&p->th[p->nthreads], worker, p)) {
			p->want = 0; /* fewer threads: the rest runs inline */
			break;
		}
		p->nthreads++;
	}
}

/* Post a batch: inline (all jobs run here, now) unless parallel and there
 * are threads to take it. */
static void post(struct md_pool *p, int n, bool parallel,
		 int (*fn)(void *ctx, int i, struct ok_err *e), void *ctx)
{
	if (n > MD_MAX_MEMBERS)
		BUG("md_pool: %d jobs", n);
	if (parallel && n > 1)
		start_threads(p);
	pthread_mutex_lock(&p->mu);
	if (p->busy)
		BUG("md_pool: a batch is still running");
	p->busy = 1;
	p->fn = fn;
	p->ctx = ctx;
	p->finished = 0;
	p->next = 0;
	p->n = n;
	if (parallel && p->nthreads && n > 1)
		pthread_cond_broadcast(&p->go);
	else
		take_jobs(p); /* the workers find nothing left */
	pthread_mutex_unlock(&p->mu);
}

void md_pool_start(struct md_pool *p, int n, bool parallel,
		   int (*fn)(void *ctx, int i, struct ok_err *e), void *ctx)
{
	post(p, n, parallel && n <= p->nthreads + p->want, fn, ctx);
}

int md_pool_wait(struct md_pool *p, int *rcs, struct ok_err *e)
{
	int rc = 0;
	pthread_mutex_lock(&p->mu);
	if (!p->busy) {
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	take_jobs(p); /* any a short pool left (or the owner's share) */
	while (p->finished < p->n)
		pthread_cond_wait(&p->done, &p->mu);
	p->busy = 0;
	for (int i = 0; i < p->n; i++) {
		if (rcs)
			rcs[i] = p->rc[i];
		if (p->rc[i] < 0 && rc == 0) {
			rc = p->rc[i];
			if (e)
				*e = p->e[i];
		}
	}
	pthread_mutex_unlock(&p->mu);
	return rc;
}

int md_pool_run(struct md_pool *p, int n, bool parallel,
		int (*fn)(void *ctx, int i, struct ok_err *e), void *ctx, int *rcs,
		struct ok_err *e)
{
	post(p, n, parallel, fn, ctx);
	return md_pool_wait(p, rcs, e);
}

void md_pool_free(struct md_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = 1;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nthreads; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->go);
	pthread_cond_destroy(&p->done);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
