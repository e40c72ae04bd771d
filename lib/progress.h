/*
 * progress.h: a progress meter for long work (grow, rebuild, check, image
 * writes).
 *
 * On a terminal (stderr is a TTY) it redraws one line at most 4 times a
 * second: "label: 42.0% 812.0 MiB of 1.9 GiB, 96.3 MiB/s, ETA 0:11", never
 * wider than the terminal (TIOCGWINSZ) less one column: shorter forms
 * ("42.0% 96.3 MiB/s, ETA 0:11") when it would not fit. total may be
 * changed between updates (an estimate that improves).
 * Otherwise it is silent, unless the user asked for --progress, when it
 * prints a plain line every 10% (or every 10 s, whichever comes first), so
 * logs stay readable. progress_finish() ends the line. The meter never
 * writes to stdout.
 */
#ifndef OPSKIT_PROGRESS_H
#define OPSKIT_PROGRESS_H

#include <stdint.h>

enum progress_mode {
	PROGRESS_AUTO, /* meter on a TTY, silent otherwise */
	PROGRESS_ON,   /* --progress: always report */
	PROGRESS_OFF,  /* --quiet */
};

struct progress {
	const char *label; /* what is being done, e.g. "reshape" */
	uint64_t total;	   /* units of work (bytes), 0 if unknown */
	uint64_t done;	   /* units done so far */
	double t_start;	   /* monotonic seconds at progress_start */
	double t_last;	   /* last redraw */
	int tty;	   /* drawing on a terminal */
	int active;	   /* reporting at all */
	int last_decile;   /* last 10% step printed in plain mode */
	int drawn;	   /* a TTY line is on screen */
};

void progress_start(struct progress *p, const char *label, uint64_t total, enum progress_mode mode);
/* Report that done units are complete (absolute, not a delta). Cheap to call often. */
void progress_update(struct progress *p, uint64_t done);
/* Finish: clear the TTY line (or print nothing in plain mode). */
void progress_finish(struct progress *p);
/* Monotonic seconds, for callers that report elapsed time themselves. */
double progress_now(void);
/* Format n bytes as "812.0 MiB" into buf. */
void progress_human(uint64_t n, char *buf, unsigned long size);

#endif
