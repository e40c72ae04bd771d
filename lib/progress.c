/*
 * progress.c: the meter declared in progress.h.
 */
#include "progress.h"

#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

double progress_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void progress_human(uint64_t n, char *buf, unsigned long size)
{
	static const char *unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)n;
	int u = 0;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, size, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, size, "%.1f %s", v, unit[u]);
}

void progress_start(struct progress *p, const char *label, uint64_t total, enum progress_mode mode)
{
	p->label = label;
	p->total = total;
	p->done = 0;
	p->t_start = p->t_last = progress_now();
	p->tty = isatty(STDERR_FILENO);
	p->active = mode == PROGRESS_ON || (mode == PROGRESS_AUTO && p->tty);
	if (mode == PROGRESS_ON && !p->tty)
		p->tty = 0;
	p->last_decile = -1;
	p->drawn = 0;
}

/* Columns of the terminal on stderr (TIOCGWINSZ), else 80. */
static int progress_cols(void)
{
	struct winsize ws;
	if (ioctl(STDERR_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	return 80;
}

/*
 * One status line: percentage, amount, rate and ETA where known, in at most
 * max characters (a line that wraps on a terminal is redrawn as a new line
 * every time): the fullest form that fits, then shorter ones (no total, no
 * label, percent and ETA only), cut as a last resort.
 */
static void progress_line(const struct progress *p, double now, char *buf, unsigned long size,
			  int max)
{
	char done[32], total[32], rate[32], eta[32] = "";
	double el = now - p->t_start;
	double bps = el > 0 ? (double)p->done / el : 0;
	progress_human(p->done, done, sizeof(done));
	progress_human(p->total, total, sizeof(total));
	progress_human((uint64_t)bps, rate, sizeof(rate));
	char form[4][256];
	int nf = 0;
	if (p->total) {
		double pct = 100.0 * (double)p->done / (double)p->total;
		long e = bps > 0 ? (long)((double)(p->total - p->done) / bps) : -1;
		if (e >= 0)
			snprintf(eta, sizeof(eta), ", ETA %ld:%02ld", e / 60, e % 60);
		snprintf(form[nf++], sizeof(form[0]), "%s: %5.1f%% %s of %s, %s/s%s", p->label, pct,
			 done, total, rate, eta);
		snprintf(form[nf++], sizeof(form[0]), "%s: %5.1f%% %s, %s/s%s", p->label, pct, done,
			 rate, eta);
		snprintf(form[nf++], sizeof(form[0]), "%5.1f%% %s/s%s", pct, rate, eta);
		snprintf(form[nf++], sizeof(form[0]), "%5.1f%%%s", pct, eta);
	} else {
		snprintf(form[nf++], sizeof(form[0]), "%s: %s, %s/s", p->label, done, rate);
		snprintf(form[nf++], sizeof(form[0]), "%s, %s/s", done, rate);
	}
	int k = 0;
	while (k + 1 < nf && (int)strlen(form[k]) > max)
		k++;
	snprintf(buf, size, "%.*s", max > 0 ? max : 0, form[k]);
}

void progress_update(struct progress *p, uint64_t done)
{
	p->done = done > p->total && p->total ? p->total : done;
	if (!p->active)
		return;
	double now = progress_now();
	char line[256];
	if (p->tty) {
		if (now - p->t_last < 0.25 && p->drawn)
			return;
		/* one column short of the width: a full last column wraps on
		 * some terminals */
		int w = progress_cols() - 1;
		if (w > (int)sizeof(line) - 1)
			w = (int)sizeof(line) - 1;
		progress_line(p, now, line, sizeof(line), w);
		fprintf(stderr, "\r%-*s", w, line);
		fflush(stderr);
		p->drawn = 1;
		p->t_last = now;
		return;
	}
	int decile = p->total ? (int)(10 * p->done / p->total) : -1;
	if (decile > p->last_decile || now - p->t_last >= 10) {
		progress_line(p, now, line, sizeof(line), (int)sizeof(line) - 1);
		fprintf(stderr, "%s\n", line);
		p->last_decile = decile;
		p->t_last = now;
	}
}

void progress_finish(struct progress *p)
{
	if (p->active && p->tty && p->drawn) {
		int w = progress_cols() - 1;
		fprintf(stderr, "\r%-*s\r", w > 255 ? 255 : w, "");
		fflush(stderr);
	}
	p->drawn = 0;
}
