/*
 * collect.c: gathering lockstat's events on Linux with perf_event_open(2),
 * system-wide, while a command runs, as Solaris lockstat(1M) reports them.
 *
 *   -I  one PERF_COUNT_SW_CPU_CLOCK sampling event per online CPU at the
 *       profiling rate; a kernel sample's IP is the Caller, a user-mode
 *       sample is "(usermode)", the Lock column is the fake cpu[N].
 *   -C  the lock:contention_begin/end tracepoints on every CPU (both events
 *       of a CPU share one ring buffer). Samples from all CPUs are merged
 *       by time in rounds and paired per (thread, lock) by pair.c.
 *
 * Ring buffers are drained every 20 ms while the child runs, or sooner when
 * one is a quarter full (no per-sample wakeups: see ring_wakeup). The kernel
 * never overwrites unread data (PROT_WRITE mapping); what it drops is
 * reported in PERF_RECORD_LOST and counted.
 */
#include "lockstat.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define RING_PAGES 128 /* data pages per CPU (power of two) */
#define MAX_CPUS   1024

int lk_online_cpus(int *ncpu, int *cpus, int max)
{
	FILE *f = fopen("/sys/devices/system/cpu/online", "r");
	if (!f)
		return -errno;
	char buf[4096];
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return -EIO;
	}
	fclose(f);
	int n = 0, hi_all = -1;
	char *p = buf;
	while (*p && *p != '\n') {
		char *end;
		long lo = strtol(p, &end, 10), hi = lo;
		if (end == p)
			return -EINVAL;
		p = end;
		if (*p == '-') {
			hi = strtol(p + 1, &end, 10);
			p = end;
		}
		for (long c = lo; c <= hi && n < max; c++)
			cpus[n++] = (int)c;
		if (hi > hi_all)
			hi_all = (int)hi;
		if (*p == ',')
			p++;
	}
	*ncpu = hi_all + 1;
	return n;
}

/* ---- privileges --------------------------------------------------------------- */

/* An integer sysctl from /proc/sys, or def when unreadable. */
static int sysctl_int(const char *path, int def)
{
	FILE *f = fopen(path, "r");
	int v = def;
	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = def;
		fclose(f);
	}
	return v;
}

/* Is capability cap in this process's effective set (/proc/self/status)? */
static int have_cap(int cap)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	unsigned long long eff = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1)
			break;
	fclose(f);
	return (int)((eff >> cap) & 1);
}

#define CAP_SYS_ADMIN_BIT 21
#define CAP_SYSLOG_BIT	  34
#define CAP_PERFMON_BIT	  38

int lk_check_access(int contention, struct ok_err *e)
{
	int paranoid = sysctl_int("/proc/sys/kernel/perf_event_paranoid", 2);
	int kptr = sysctl_int("/proc/sys/kernel/kptr_restrict", 0);
	int perfmon = have_cap(CAP_PERFMON_BIT) || have_cap(CAP_SYS_ADMIN_BIT);
	int syslog = have_cap(CAP_SYSLOG_BIT);
	/* kernel/events/core.c: CPU-wide events need paranoid <= 0, tracepoint
	 * raw data <= -1, unless the process has CAP_PERFMON (or CAP_SYS_ADMIN). */
	int need = contention ? -1 : 0;
	if (!perfmon && paranoid > need)
		return ok_err_at(
		    e, -EPERM, NULL, OK_ERR_NOPOS,
		    "system-wide perf events are not allowed: kernel.perf_event_paranoid "
		    "is %d and this process lacks CAP_PERFMON; run as root, grant "
		    "CAP_PERFMON, or 'sysctl kernel.perf_event_paranoid=%d'",
		    paranoid, need);
	/* kernel/kallsyms.c kallsyms_show_value(): kptr_restrict 0 shows addresses
	 * when perf_event_paranoid <= 1, else (and at 1) only with CAP_SYSLOG; at
	 * 2 never. */
	if (kptr >= 2)
		return ok_err_at(e, -EPERM, "/proc/kallsyms", OK_ERR_NOPOS,
				 "kernel.kptr_restrict is %d, which hides kernel addresses even "
				 "from root; 'sysctl kernel.kptr_restrict=1'",
				 kptr);
	if (!syslog && kptr == 1)
		return ok_err_at(e, -EPERM, "/proc/kallsyms", OK_ERR_NOPOS,
				 "kernel.kptr_restrict is 1, which shows kernel addresses only to "
				 "CAP_SYSLOG; run as root, grant CAP_SYSLOG, or 'sysctl "
				 "kernel.kptr_restrict=0'");
	if (!syslog && paranoid > 1)
		return ok_err_at(
		    e, -EPERM, "/proc/kallsyms", OK_ERR_NOPOS,
		    "kernel addresses are hidden: kernel.perf_event_paranoid is %d (> 1) "
		    "and this process lacks CAP_SYSLOG; run as root, grant CAP_SYSLOG, "
		    "or 'sysctl kernel.perf_event_paranoid=1'",
		    paranoid);
	return 0;
}

/* ---- tracepoint discovery --------------------------------------------------- */

struct tp_format {
	int id;
	int off_lock, off_arg; /* lock_addr; flags (begin) or ret (end) */
};

/* Where tracefs is, mounting it if it is nowhere; NULL with *denied set when
 * it is there but this process may not search it (mode 0700 for non-root). */
static const char *tracefs_root(int *denied)
{
	static const char *roots[] = {"/sys/kernel/tracing", "/sys/kernel/debug/tracing"};
	struct stat st;
	*denied = 0;
	for (int i = 0; i < 2; i++) {
		char p[128];
		snprintf(p, sizeof(p), "%s/events", roots[i]);
		if (!stat(p, &st))
			return roots[i];
		if (errno == EACCES)
			*denied = 1;
	}
	if (*denied)
		return NULL;
	/* Not mounted: mount tracefs where the kernel expects it. */
	if (!mount("nodev", "/sys/kernel/tracing", "tracefs", 0, NULL))
		return roots[0];
	return NULL;
}

static int tp_read(const char *event, const char *argname, struct tp_format *tp, struct ok_err *e)
{
	int denied;
	const char *root = tracefs_root(&denied);
	struct stat st;
	if (!root && denied && !stat("/sys/kernel/tracing", &st))
		return ok_err_at(e, -EACCES, "/sys/kernel/tracing", OK_ERR_NOPOS,
				 "cannot read the tracepoint ids: tracefs is mode %04o, owner uid "
				 "%u; run as root, or let others in with 'mount -o "
				 "remount,mode=755 /sys/kernel/tracing'",
				 (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
	if (!root)
		return ok_err_at(e, denied ? -EACCES : -ENOENT, "/sys/kernel/tracing", OK_ERR_NOPOS,
				 denied ? "permission denied reading tracefs (run as root)"
					: "tracefs is not mounted and cannot be mounted (mount -t "
					  "tracefs nodev /sys/kernel/tracing)");
	char path[256], line[512];
	snprintf(path, sizeof(path), "%s/events/lock/%s/format", root, event);
	FILE *f = fopen(path, "r");
	if (!f)
		return ok_err_at(e, -errno, path, OK_ERR_NOPOS,
				 "no lock:%s tracepoint (needs Linux >= 5.19 with "
				 "CONFIG_TRACEPOINTS)",
				 event);
	tp->id = -1;
	tp->off_lock = tp->off_arg = -1;
	while (fgets(line, sizeof(line), f)) {
		int v;
		char *fld;
		if (sscanf(line, "ID: %d", &v) == 1)
			tp->id = v;
		else if ((fld = strstr(line, "field:")) && strstr(fld, "offset:")) {
			int off = atoi(strstr(fld, "offset:") + 7);
			if (strstr(fld, " lock_addr;"))
				tp->off_lock = off;
			char want[64];
			snprintf(want, sizeof(want), " %s;", argname);
			if (strstr(fld, want))
				tp->off_arg = off;
		}
	}
	fclose(f);
	if (tp->id < 0 || tp->off_lock < 0 || tp->off_arg < 0)
		return ok_err_at(e, -EINVAL, path, OK_ERR_NOPOS,
				 "expected ID and fields lock_addr and %s", argname);
	return 0;
}

/* ---- ring buffers ------------------------------------------------------------ */

struct ring {
	int fd;
	int cpu;
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	uint64_t size;
};

static long perf_open(struct perf_event_attr *a, int cpu)
{
	return syscall(SYS_perf_event_open, a, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
}

static int perf_error(int err, struct ok_err *e, const char *what)
{
	if (err == -EACCES || err == -EPERM)
		return ok_err_at(e, -EPERM, NULL, OK_ERR_NOPOS,
				 "%s: permission denied: system-wide events need root (CAP_PERFMON "
				 "or CAP_SYS_ADMIN) or kernel.perf_event_paranoid <= -1 "
				 "(sysctl kernel.perf_event_paranoid)",
				 what);
	return ok_err_at(e, err, NULL, OK_ERR_NOPOS, "perf_event_open (%s)", what);
}

/*
 * When the kernel wakes a reader. wakeup_events = 1 would queue an irq_work
 * (a self-IPI) on every sample, inside the lock's contention window, though
 * nobody waits on it (it made each sample cost several times what perf's
 * does). Instead: one wakeup per quarter ring of data, which poll() in the
 * drain loop waits for, with a 20 ms timeout.
 */
static void ring_wakeup(struct perf_event_attr *a)
{
	a->watermark = 1;
	a->wakeup_watermark = (uint32_t)(sysconf(_SC_PAGESIZE) * RING_PAGES / 4);
}

static int ring_map(struct ring *r, struct ok_err *e)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t len = (size_t)pg * (RING_PAGES + 1);
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd, 0);
	if (m == MAP_FAILED)
		return ok_err_at(e, -errno, NULL, OK_ERR_NOPOS, "mmap of the perf ring buffer");
	r->meta = m;
	r->data = (uint8_t *)m + pg;
	r->size = (uint64_t)pg * RING_PAGES;
	return 0;
}

struct collector {
	const struct lk_collect_opts *o;
	const struct lk_symtab *t;
	lk_event_fn fn;
	void *ctx;
	struct tp_format begin, end;
	int id_begin, id_end;
	uint64_t lost;
	int stop;
	struct lk_pair pair; /* contention samples to events */
	uint64_t round_max;  /* newest sample time of this drain pass */
	/* pid -> comm cache for --comm */
	struct {
		uint32_t pid;
		char comm[16];
	} comms[4096];
};

static void comm_of(struct collector *c, uint32_t pid, char *out)
{
	size_t i = pid % 4096;
	if (c->comms[i].pid == pid && c->comms[i].comm[0]) {
		memcpy(out, c->comms[i].comm, 16);
		return;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/comm", pid);
	out[0] = 0;
	FILE *f = fopen(path, "r");
	if (f) {
		if (fgets(out, 16, f))
			out[strcspn(out, "\n")] = 0;
		fclose(f);
	}
	if (!pid)
		snprintf(out, 16, "swapper");
	c->comms[i].pid = pid;
	memcpy(c->comms[i].comm, out, 16);
}

static int emit_profile(struct collector *c, const struct lk_sample *s)
{
	struct lk_raw ev;
	memset(&ev, 0, sizeof(ev));
	ev.event = LK_EV_PROFILE;
	ev.lock = LK_CPU_ADDR(s->cpu);
	int kernel = (s->misc & PERF_RECORD_MISC_CPUMODE_MASK) == PERF_RECORD_MISC_KERNEL;
	ev.caller = kernel ? s->ip : 0;
	if (kernel) {
		uint64_t fr[LK_MAX_STACK + 8];
		int n = lk_sample_frames(s, fr, LK_MAX_STACK + 8);
		/* fr[0] is the sampled IP itself; the stack is its callers. */
		for (int i = 1; i < n && ev.depth < c->o->depth; i++)
			ev.stack[ev.depth++] = fr[i];
	} else {
		comm_of(c, s->pid, ev.comm);
	}
	return c->fn(c->ctx, &ev);
}

/* Decode one PERF_RECORD_SAMPLE body (layout fixed by our sample_type). */
static int decode_sample(struct collector *c, const uint8_t *p, size_t len, uint16_t misc,
			 int tracepoint, struct lk_sample *s)
{
	const uint8_t *end = p + len;
#define TAKE(dst, n)                                                                               \
	do {                                                                                       \
		if ((size_t)(end - p) < (n))                                                       \
			return -1;                                                                 \
		memcpy((dst), p, (n));                                                             \
		p += (n);                                                                          \
	} while (0)
	uint64_t nr;
	uint32_t raw_size;
	s->misc = misc;
	TAKE(&s->ip, 8);
	TAKE(&s->pid, 4);
	TAKE(&s->tid, 4);
	TAKE(&s->time, 8);
	TAKE(&s->cpu, 4);
	p += 4;
	if (!tracepoint)
		p += 8; /* period */
	TAKE(&nr, 8);
	s->nchain = 0;
	for (uint64_t i = 0; i < nr; i++) {
		uint64_t pc;
		TAKE(&pc, 8);
		if (s->nchain < (int)(sizeof(s->chain) / sizeof(s->chain[0])))
			s->chain[s->nchain++] = pc;
	}
	s->kind = LK_SAMPLE_PROFILE;
	if (tracepoint) {
		TAKE(&raw_size, 4);
		if ((size_t)(end - p) < raw_size || raw_size < 8)
			return -1;
		uint16_t type;
		memcpy(&type, p, 2);
		const struct tp_format *f = type == c->id_begin ? &c->begin
					    : type == c->id_end ? &c->end
								: NULL;
		if (!f || (size_t)f->off_lock + 8 > raw_size || (size_t)f->off_arg + 4 > raw_size)
			return -1;
		memcpy(&s->lock, p + f->off_lock, 8);
		memcpy(&s->arg, p + f->off_arg, 4);
		s->kind = f == &c->begin ? LK_SAMPLE_BEGIN : LK_SAMPLE_END;
	}
#undef TAKE
	return 0;
}

/* Consume everything between tail and head of one ring. */
static int ring_drain(struct collector *c, struct ring *r, int tracepoint)
{
	uint64_t head = __atomic_load_n(&r->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = r->meta->data_tail;
	uint8_t rec[65536];
	int rc = 0;
	while (tail < head && !rc) {
		struct perf_event_header h;
		for (size_t i = 0; i < sizeof(h); i++)
			((uint8_t *)&h)[i] = r->data[(tail + i) % r->size];
		if (h.size < sizeof(h))
			break;
		for (size_t i = 0; i < h.size; i++)
			rec[i] = r->data[(tail + i) % r->size];
		tail += h.size;
		if (h.type == PERF_RECORD_LOST) {
			uint64_t lost;
			memcpy(&lost, rec + sizeof(h) + 8, 8);
			c->lost += lost;
			continue;
		}
		if (h.type != PERF_RECORD_SAMPLE)
			continue;
		struct lk_sample s;
		if (decode_sample(c, rec + sizeof(h), h.size - sizeof(h), h.misc, tracepoint, &s) <
		    0)
			continue;
		if (!tracepoint) {
			rc = emit_profile(c, &s);
			continue;
		}
		if (s.time > c->round_max)
			c->round_max = s.time;
		if ((rc = lk_pair_queue(&c->pair, &s)) < 0)
			break;
	}
	__atomic_store_n(&r->meta->data_tail, tail, __ATOMIC_RELEASE);
	return rc;
}

/* The signal that asked the measurement to stop (SIGINT, SIGTERM), or 0. */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
	stop_signal = sig;
}

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int lk_collect(const struct lk_collect_opts *o, const struct lk_symtab *t, char **argv,
	       lk_event_fn fn, void *ctx, struct lk_collect_result *res, struct ok_err *e)
{
	int cpus[MAX_CPUS]; /* 4 KiB: the online CPUs' numbers */
	int ncpu_max;
	int ncpu = lk_online_cpus(&ncpu_max, cpus, MAX_CPUS);
	if (ncpu <= 0)
		return ok_err_at(e, ncpu < 0 ? ncpu : -EINVAL, "/sys/devices/system/cpu/online",
				 OK_ERR_NOPOS, "cannot read the online CPUs");
	memset(res, 0, sizeof(*res));
	res->ncpu = ncpu_max;
	struct collector *c = calloc(1, sizeof(*c));
	struct ring *prof = calloc((size_t)ncpu, sizeof(*prof));
	struct ring *cont = calloc((size_t)ncpu, sizeof(*cont));
	int *endfds = calloc((size_t)ncpu, sizeof(int));
	struct pollfd *pfds = calloc(2 * (size_t)ncpu, sizeof(*pfds));
	int rc = 0;
	struct lk_bpf *bpf = NULL;	  /* the contention backend, if BPF */
	struct lk_bpf_prof *bprof = NULL; /* the profiling backend, if BPF */
	if (!c || !prof || !cont || !endfds || !pfds) {
		rc = ok_err_at(e, -ENOMEM, NULL, OK_ERR_NOPOS, "out of memory");
		goto out;
	}
	c->o = o;
	c->t = t;
	c->fn = fn;
	c->ctx = ctx;
	lk_pair_init(&c->pair, t, o->depth, o->linux_types, fn, ctx);
	for (int i = 0; i < ncpu; i++)
		prof[i].fd = cont[i].fd = endfds[i] = -1;
	int want_rings = o->contention;
	if (o->contention && o->backend != LK_BACKEND_RING) {
		struct ok_err be;
		ok_err_clear(&be);
		int br = lk_bpf_open(&bpf, o->min_duration, o->lock_owner, &be);
		if (br == 0) {
			want_rings = 0;
			res->bpf = 1;
		} else if (o->backend == LK_BACKEND_BPF || o->lock_owner) {
			/* owners are read in the kernel: no ring fallback */
			*e = be;
			rc = br;
			goto out;
		} else {
			snprintf(res->bpf_why, sizeof(res->bpf_why), "%s", be.msg);
		}
	}
	/* Profiling: counted in the kernel where the program loads. */
	int want_prof_rings = o->profile;
	if (o->profile && o->backend != LK_BACKEND_RING) {
		struct ok_err be;
		ok_err_clear(&be);
		int br = lk_bpf_prof_open(&bprof, cpus, ncpu, o->rate_hz, o->depth > 0, &be);
		if (br == 0) {
			want_prof_rings = 0;
			res->bpf_prof = 1;
		} else if (o->backend == LK_BACKEND_BPF) {
			*e = be;
			rc = br;
			goto out;
		} else if (!res->bpf_why[0]) {
			snprintf(res->bpf_why, sizeof(res->bpf_why), "%s", be.msg);
		}
	}
	if (want_rings) {
		if ((rc = tp_read("contention_begin", "flags", &c->begin, e)) < 0 ||
		    (rc = tp_read("contention_end", "ret", &c->end, e)) < 0)
			goto out;
		c->id_begin = c->begin.id;
		c->id_end = c->end.id;
	}
	for (int i = 0; i < ncpu; i++) {
		struct perf_event_attr a;
		if (want_prof_rings) {
			memset(&a, 0, sizeof(a));
			a.size = sizeof(a);
			a.type = PERF_TYPE_SOFTWARE;
			a.config = PERF_COUNT_SW_CPU_CLOCK;
			a.sample_period = 1000000000ULL / (o->rate_hz ? o->rate_hz : 97);
			a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
					PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD |
					PERF_SAMPLE_CALLCHAIN;
			a.exclude_callchain_user = 1;
			a.sample_max_stack = (uint16_t)(o->depth + 4);
			a.disabled = 1;
			ring_wakeup(&a);
			prof[i].cpu = cpus[i];
			prof[i].fd = (int)perf_open(&a, cpus[i]);
			if (prof[i].fd < 0) {
				rc = perf_error(-errno, e, "cpu-clock sampling");
				goto out;
			}
			if ((rc = ring_map(&prof[i], e)) < 0)
				goto out;
		}
		if (want_rings) {
			memset(&a, 0, sizeof(a));
			a.size = sizeof(a);
			a.type = PERF_TYPE_TRACEPOINT;
			a.config = (uint64_t)c->id_begin;
			a.sample_period = 1;
			a.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
					PERF_SAMPLE_CPU | PERF_SAMPLE_CALLCHAIN | PERF_SAMPLE_RAW;
			a.exclude_callchain_user = 1;
			a.sample_max_stack = (uint16_t)(o->depth + 16);
			a.disabled = 1;
			ring_wakeup(&a);
			cont[i].cpu = cpus[i];
			cont[i].fd = (int)perf_open(&a, cpus[i]);
			if (cont[i].fd < 0) {
				rc = perf_error(-errno, e, "lock:contention_begin");
				goto out;
			}
			if ((rc = ring_map(&cont[i], e)) < 0)
				goto out;
			a.config = (uint64_t)c->id_end;
			endfds[i] = (int)perf_open(&a, cpus[i]);
			if (endfds[i] < 0) {
				rc = perf_error(-errno, e, "lock:contention_end");
				goto out;
			}
			if (ioctl(endfds[i], PERF_EVENT_IOC_SET_OUTPUT, cont[i].fd) < 0) {
				rc = ok_err_at(e, -errno, NULL, OK_ERR_NOPOS,
					       "PERF_EVENT_IOC_SET_OUTPUT");
				goto out;
			}
		}
	}

	/* The child waits on a pipe until the events are enabled, then execs. */
	int go[2];
	if (pipe2(go, O_CLOEXEC) < 0) {
		rc = ok_err_at(e, -errno, NULL, OK_ERR_NOPOS, "pipe");
		goto out;
	}
	/* From here on SIGINT and SIGTERM end the measurement, not lockstat. */
	struct sigaction act, old_int, old_term;
	memset(&act, 0, sizeof(act));
	act.sa_handler = on_stop_signal;
	sigemptyset(&act.sa_mask);
	stop_signal = 0;
	sigaction(SIGINT, &act, &old_int);
	sigaction(SIGTERM, &act, &old_term);
	double t0 = now_ns();
	pid_t pid = fork();
	if (pid < 0) {
		rc = ok_err_at(e, -errno, NULL, OK_ERR_NOPOS, "fork");
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		goto out;
	}
	if (pid == 0) {
		char b;
		close(go[1]);
		if (read(go[0], &b, 1) != 1)
			_exit(127);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(go[0]);
	if (bpf)
		lk_bpf_enable(bpf, 1);
	if (bprof)
		lk_bpf_prof_enable(bprof, 1);
	for (int i = 0; i < ncpu; i++) {
		if (prof[i].fd >= 0)
			ioctl(prof[i].fd, PERF_EVENT_IOC_ENABLE, 0);
		if (cont[i].fd >= 0)
			ioctl(cont[i].fd, PERF_EVENT_IOC_ENABLE, 0);
		if (endfds[i] >= 0)
			ioctl(endfds[i], PERF_EVENT_IOC_ENABLE, 0);
	}
	if (write(go[1], "g", 1) != 1) {
		/* The child is gone; waitpid below reports it. */
	}
	close(go[1]);
	int status = 0, done = 0, cbrc = 0, npfds = 0;
	for (int i = 0; i < ncpu; i++) {
		if (prof[i].fd >= 0)
			pfds[npfds++] = (struct pollfd){.fd = prof[i].fd, .events = POLLIN};
		if (cont[i].fd >= 0)
			pfds[npfds++] = (struct pollfd){.fd = cont[i].fd, .events = POLLIN};
	}
	uint64_t prev_round_max = 0;
	while (!done) {
		/* Drain every 20 ms, or sooner when a ring is a quarter full. */
		poll(pfds, (nfds_t)npfds, 20);
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid)
			done = 1;
		else if (stop_signal)
			done = 2;
		else if (w < 0 && errno != EINTR) {
			rc = ok_err_at(e, -errno, NULL, OK_ERR_NOPOS, "waitpid");
			break;
		}
		if (done) {
			res->elapsed_ns = (uint64_t)(now_ns() - t0);
			if (bpf)
				lk_bpf_enable(bpf, 0);
			if (bprof)
				lk_bpf_prof_enable(bprof, 0);
			for (int i = 0; i < ncpu; i++) {
				if (prof[i].fd >= 0)
					ioctl(prof[i].fd, PERF_EVENT_IOC_DISABLE, 0);
				if (cont[i].fd >= 0)
					ioctl(cont[i].fd, PERF_EVENT_IOC_DISABLE, 0);
				if (endfds[i] >= 0)
					ioctl(endfds[i], PERF_EVENT_IOC_DISABLE, 0);
			}
		}
		if (done == 2) {
			/* SIGINT/SIGTERM: the measurement has ended; the command is
			 * asked to end too (as perf record does) and reaped. A second
			 * signal while it lingers kills it. */
			res->stop_signal = stop_signal;
			stop_signal = 0;
			kill(pid, SIGTERM);
			while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
				if (stop_signal)
					kill(pid, SIGKILL);
		}
		for (int i = 0; i < ncpu && !cbrc; i++) {
			if (prof[i].fd >= 0)
				cbrc = ring_drain(c, &prof[i], 0);
			if (cont[i].fd >= 0 && !cbrc)
				cbrc = ring_drain(c, &cont[i], 1);
		}
		/* Pair what no later pass can precede (see lk_pair_flush); all of it
		 * once the events are disabled. */
		if (!cbrc)
			cbrc = lk_pair_flush(&c->pair, done ? UINT64_MAX : prev_round_max);
		prev_round_max = c->round_max;
	}
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (bpf && !cbrc && !rc) {
		cbrc = lk_bpf_read(bpf, t, o->depth, o->linux_types, fn, ctx, &res->bpf_counts);
		c->lost += res->bpf_counts.open_full + res->bpf_counts.agg_full;
	}
	if (bprof && !cbrc && !rc) {
		uint64_t lost = 0;
		cbrc = lk_bpf_prof_read(bprof, t, o->depth, fn, ctx, &lost);
		c->lost += lost;
	}
	if (WIFEXITED(status)) {
		res->exited = 1;
		res->status = WEXITSTATUS(status);
	} else if (WIFSIGNALED(status)) {
		res->status = WTERMSIG(status);
	}
	res->lost = c->lost;
out:
	for (int i = 0; prof && cont && endfds && i < ncpu; i++) {
		long pg = sysconf(_SC_PAGESIZE);
		if (prof[i].meta)
			munmap(prof[i].meta, (size_t)pg * (RING_PAGES + 1));
		if (cont[i].meta)
			munmap(cont[i].meta, (size_t)pg * (RING_PAGES + 1));
		if (prof[i].fd >= 0)
			close(prof[i].fd);
		if (cont[i].fd >= 0)
			close(cont[i].fd);
		if (endfds[i] >= 0)
			close(endfds[i]);
	}
	if (c)
		lk_pair_free(&c->pair);
	lk_bpf_close(bpf);
	lk_bpf_prof_close(bprof);
	free(c);
	free(prof);
	free(cont);
	free(endfds);
	free(pfds);
	return rc;
}
