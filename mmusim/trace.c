/*
 * trace.c: where mmusim's memory references come from and how they are stored.
 *
 * Divisions (keep them):
 *   1. the reader object and its buffer (one MM_READ_BUF buffer, refilled;
 *      constant memory whatever the trace length, works on pipes)
 *   2. valgrind lackey text lines (+ mmusim "E ..." event lines)
 *   2b. perf script and DynamoRIO drmemtrace view lines
 *   3. the compact binary form (varint, delta-coded addresses)
 *   4. seeded synthetic workloads, presented as one more reader
 *   5. the binary writer (the converter's back end)
 *
 * Why our own parser: lackey's output is a trivial line format but arrives
 * interleaved with Valgrind's "==PID==" messages, at tens of millions of lines
 * per run, so it must be streamed, counted and checked line by line with
 * "file:line: expected ..." errors rather than slurped by a generic tool.
 */
#include "mmusim.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

const char *const mm_op_names[MM_OP_N] = {
    "ifetch", "load",  "store",	   "modify", "switch", "ptwrite", "fault", "invlpg", "create",
    "exit",   "unmap", "mprotect", "vm",     "fork",   "exec",	  "flush", "age"};
_Static_assert(MM_OP_N == MM_AGE + 1, "read_bin's tag message names every op above 15");
const char *const mm_fmt_names[] = {"auto", "lackey", "bin", "perf", "drmemtrace", NULL};
const char *const mm_synth_names[MM_SYN_N] = {"seq",  "random", "chase",   "multi",
					      "fork", "mmap",	"ptupdate"};

/* ====================================================== 1. reader object */

enum src { SRC_FD, SRC_MEM, SRC_SYNTH };

/* One VM's copy of a workload's state (several VMs each run the workload). */
struct synth_vm {
	uint64_t rng, phase, x;
	uint32_t pid, next_pid;
	int stage;
};

struct synth {
	struct mm_synth_cfg c;
	struct synth_vm vm[MM_MAX_VMS]; /* the other VMs' states while one runs */
	uint32_t cur_vm;
	uint64_t vm_phase;  /* accesses since the last VM switch */
	uint64_t age_phase; /* accesses since the last aging scan */
	uint64_t rng;	    /* xorshift64* state */
	uint64_t emitted;   /* accesses emitted */
	uint64_t phase;	    /* accesses since the last event */
	uint64_t x;	    /* chase cursor / seq cursor */
	uint64_t lines;	    /* chase: lines in the lap (power of two) */
	uint32_t pid;	    /* current process */
	uint32_t next_pid;
	int stage;	       /* workload-specific state */
	struct mm_rec pend[4]; /* events queued before the next access */
	unsigned npend, ipend;
};

struct mm_reader {
	enum src src;
	enum mm_fmt fmt;
	int fd, own_fd;
	char name[256];
	unsigned char *buf;   /* owned unless src == SRC_MEM */
	size_t cap, pos, end; /* valid bytes are buf[pos..end) */
	int eof;	      /* no more bytes will arrive */
	uint64_t off;	      /* file offset of buf[0] */
	uint64_t lines, banner;
	uint64_t prev_i, prev_d; /* binary: previous address per stream */
	uint64_t pid;		 /* perf: the pid of the last sample, or UINT64_MAX */
	struct mm_rec q[3];	 /* perf: records of one line not yet handed out */
	unsigned nq, iq;
	struct synth syn;
};

/* Move the unread tail to the front and read more; 0, or -errno. */
static int rd_fill(struct mm_reader *r, struct ok_err *e)
{
	if (r->eof)
		return 0;
	if (r->pos) {
		memmove(r->buf, r->buf + r->pos, r->end - r->pos);
		r->end -= r->pos;
		r->off += r->pos;
		r->pos = 0;
	}
	while (r->end < r->cap) {
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return ok_err_at(e, -errno, r->name, (long long)(r->off + r->end), "read");
		if (n == 0) {
			r->eof = 1;
			break;
		}
		r->end += (size_t)n;
		/* A pipe delivers little at a time: parse what we have once it is a fair chunk. */
		if (r->end - r->pos >= 65536)
			break;
	}
	return 0;
}

/* Settle r->fmt from the first bytes. */
static void rd_detect(struct mm_reader *r, enum mm_fmt fmt)
{
	r->fmt = fmt;
	if (fmt == MM_FMT_AUTO)
		r->fmt = (r->end - r->pos >= 8 && !memcmp(r->buf + r->pos, MM_BIN_MAGIC, 8))
			     ? MM_FMT_BIN
			     : MM_FMT_LACKEY;
}

/* Check and skip the binary header. */
static int rd_bin_header(struct mm_reader *r, struct ok_err *e)
{
	if (r->end - r->pos < MM_BIN_HDR || memcmp(r->buf + r->pos, MM_BIN_MAGIC, 8))
		return ok_err_at(
		    e, -EINVAL, r->name, 0,
		    "expected the mmusim binary trace magic \"%s\" and a 16-byte header",
		    MM_BIN_MAGIC);
	const unsigned char *h = r->buf + r->pos + 8;
	uint32_t ver = h[0] | h[1] << 8 | h[2] << 16 | (uint32_t)h[3] << 24;
	if (ver != 1)
		return ok_err_at(e, -EINVAL, r->name, 8, "binary trace version %u, expected 1",
				 ver);
	r->pos += MM_BIN_HDR;
	return 0;
}

static int rd_start(struct mm_reader *r, enum mm_fmt fmt, struct ok_err *e)
{
	int rc = rd_fill(r, e);
	if (rc < 0)
		return rc;
	rd_detect(r, fmt);
	return r->fmt == MM_FMT_BIN ? rd_bin_header(r, e) : 0;
}

int mm_reader_open(struct mm_reader **rp, const char *path, enum mm_fmt fmt, struct ok_err *e)
{
	*rp = NULL;
	struct mm_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
	r->src = SRC_FD;
	r->pid = UINT64_MAX;
	snprintf(r->name, sizeof(r->name), "%s", strcmp(path, "-") ? path : "<stdin>");
	if (!strcmp(path, "-")) {
		r->fd = 0;
	} else {
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
		if (r->fd < 0) {
			int rc = ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot open");
			free(r);
			return rc;
		}
		r->own_fd = 1;
	}
	r->cap = MM_READ_BUF;
	r->buf = malloc(r->cap);
	int rc = r->buf ? rd_start(r, fmt, e)
			: ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
	if (rc < 0) {
		mm_reader_close(r);
		return rc;
	}
	*rp = r;
	return 0;
}

int mm_reader_open_mem(struct mm_reader **rp, const void *buf, size_t len, enum mm_fmt fmt,
		       const char *name, struct ok_err *e)
{
	*rp = NULL;
	struct mm_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return ok_err_at(e, -ENOMEM, name, OK_ERR_NOPOS, "out of memory");
	r->src = SRC_MEM;
	r->pid = UINT64_MAX;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->buf = (unsigned char *)(uintptr_t)buf; /* never written: SRC_MEM never refills */
	r->cap = r->end = len;
	r->eof = 1;
	rd_detect(r, fmt);
	int rc = r->fmt == MM_FMT_BIN ? rd_bin_header(r, e) : 0;
	if (rc < 0) {
		free(r);
		return rc;
	}
	*rp = r;
	return 0;
}

enum mm_fmt mm_reader_format(const struct mm_reader *r)
{
	return r->fmt;
}

void mm_reader_counts(const struct mm_reader *r, uint64_t *lines, uint64_t *banner)
{
	*lines = r->lines;
	*banner = r->banner;
}

void mm_reader_close(struct mm_reader *r)
{
	if (!r)
		return;
	if (r->own_fd)
		close(r->fd);
	if (r->src != SRC_MEM)
		free(r->buf);
	free(r);
}

/* ================================================= 2. lackey text lines */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c |= 0x20;
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Parse hex digits (optional 0x) at *p; 0 on success. */
static int parse_hex(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	if (end - s > 2 && s[0] == '0' && (s[1] | 0x20) == 'x')
		s += 2;
	uint64_t x = 0;
	int n = 0, d;
	while (s < end && (d = hexval((unsigned char)*s)) >= 0) {
		if (++n > 16)
			return -1;
		x = x << 4 | (uint64_t)d;
		s++;
	}
	if (!n)
		return -1;
	*p = s;
	*v = x;
	return 0;
}

static int parse_dec(const char **p, const char *end, uint64_t max, uint64_t *v)
{
	const char *s = *p;
	if (end - s > 2 && s[0] == '0' && (s[1] | 0x20) == 'x')
		return parse_hex(p, end, v) || *v > max ? -1 : 0;
	uint64_t x = 0;
	int n = 0;
	while (s < end && *s >= '0' && *s <= '9') {
		x = x * 10 + (uint64_t)(*s - '0');
		if (x > max)
			return -1;
		s++;
		n++;
	}
	if (!n)
		return -1;
	*p = s;
	*v = x;
	return 0;
}

static const char *skip_sp(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/* "E word args": an mmusim event line. */
static int parse_event(struct mm_reader *r, const char *s, const char *end, struct mm_rec *o,
		       struct ok_err *e)
{
	s = skip_sp(s, end);
	const char *w = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	size_t wl = (size_t)(s - w);
	int op = -1;
	for (int i = MM_SWITCH; i < MM_OP_N; i++)
		if (strlen(mm_op_names[i]) == wl && !memcmp(w, mm_op_names[i], wl))
			op = i;
	if (op < 0)
		return ok_err_line(
		    e, -EINVAL, r->name, (long long)r->lines,
		    "expected an event name (switch, ptwrite, fault, invlpg, create, "
		    "exit, unmap, mprotect, vm, fork, exec, flush, age) after 'E'");
	memset(o, 0, sizeof(*o));
	o->op = (uint8_t)op;
	s = skip_sp(s, end);
	uint64_t v;
	if (op == MM_FLUSH) {
		/* no argument */
	} else if (op == MM_VM) {
		if (parse_dec(&s, end, MM_MAX_VMS - 1, &v))
			return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
					   "expected a VM id 0..%d after 'E vm'", MM_MAX_VMS - 1);
		o->pid = (uint32_t)v;
	} else if (mm_op_has_pid((unsigned)op)) {
		if (parse_dec(&s, end, UINT32_MAX, &v))
			return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
					   "expected a process id after 'E %s'", mm_op_names[op]);
		o->pid = (uint32_t)v;
	} else {
		if (parse_hex(&s, end, &o->addr))
			return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
					   "expected a hex address after 'E %s'", mm_op_names[op]);
		if (mm_op_has_len((unsigned)op)) {
			s = skip_sp(s, end);
			if (parse_dec(&s, end, UINT64_MAX / 2, &o->len) || !o->len)
				return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
						   "expected a length after 'E %s ADDR'",
						   mm_op_names[op]);
		}
	}
	if (skip_sp(s, end) != end)
		return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
				   "expected end of line after 'E %s' and its argument",
				   mm_op_names[op]);
	return 1;
}

/*
 * One line without its newline: 1 and *o filled for a record, 0 for a line
 * that carries none (banner, blank), negative errno on a malformed line.
 */
static int parse_line(struct mm_reader *r, const char *s, const char *end, struct mm_rec *o,
		      struct ok_err *e)
{
	if (end > s && end[-1] == '\r')
		end--;
	if (end - s >= 2 && ((s[0] == '=' && s[1] == '=') || (s[0] == '-' && s[1] == '-'))) {
		r->banner++;
		return 0;
	}
	const char *p = skip_sp(s, end);
	if (p == end)
		return 0;
	int op;
	if (end - p > 2 && p[0] == 'S' && p[1] == 'B' && p[2] == ' ') {
		/* lackey --trace-superblocks=yes: "SB ADDR" starts a superblock;
		 * it carries no access */
		const char *q = skip_sp(p + 2, end);
		uint64_t sb;
		if (parse_hex(&q, end, &sb) || skip_sp(q, end) != end)
			return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
					   "expected a hex address after 'SB'");
		return 0;
	}
	switch (*p) {
	case 'I':
		op = MM_IFETCH;
		break;
	case 'L':
		op = MM_LOAD;
		break;
	case 'S':
		op = MM_STORE;
		break;
	case 'M':
		op = MM_MODIFY;
		break;
	case 'E':
		return parse_event(r, p + 1, end, o, e);
	default:
		return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
				   "expected a lackey line (I, L, S or M, then ADDR,SIZE), an 'E' "
				   "event line or a ==PID== message");
	}
	const char *q = skip_sp(p + 1, end);
	uint64_t addr, size;
	if (q == p + 1 || parse_hex(&q, end, &addr))
		return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
				   "expected a hex address after '%c'", *p);
	if (q == end || *q != ',')
		return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
				   "expected ',' and a size after the address");
	q++;
	if (parse_dec(&q, end, 65535, &size) || !size)
		return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
				   "expected a decimal size 1..65535 after ','");
	if (skip_sp(q, end) != end)
		return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
				   "expected end of line after the size");
	o->addr = addr;
	o->len = 0;
	o->pid = 0;
	o->size = (uint16_t)size;
	o->op = (uint8_t)op;
	o->pad = 0;
	return 1;
}

/*
 * The next line of a text trace: 1 with its bytes [*sp, *nlp) (without the
 * newline; still valid until the next call), 0 at the end or when the
 * buffer must move while the caller holds records (have > 0: it hands
 * them back first), or a negative errno.
 */
static int next_line(struct mm_reader *r, size_t have, const char **sp, const char **nlp,
		     struct ok_err *e)
{
	for (;;) {
		const char *s = (const char *)r->buf + r->pos;
		size_t avail = r->end - r->pos;
		const char *nl = memchr(s, '\n', avail);
		if (!nl) {
			if (avail > MM_MAX_LINE)
				return ok_err_line(e, -EINVAL, r->name, (long long)r->lines + 1,
						   "line longer than %d bytes; expected a %s line",
						   MM_MAX_LINE, mm_fmt_names[r->fmt]);
			if (!r->eof) {
				if (have)
					return 0;
				int rc = rd_fill(r, e);
				if (rc < 0)
					return rc;
				continue;
			}
			if (!avail)
				return 0;
			nl = s + avail; /* last line without newline */
		}
		r->lines++;
		r->pos += (size_t)(nl - s) + (nl < s + avail ? 1 : 0);
		*sp = s;
		*nlp = nl;
		return 1;
	}
}

static ssize_t read_lackey(struct mm_reader *r, struct mm_rec *recs, size_t max, struct ok_err *e)
{
	size_t n = 0;
	while (n < max) {
		const char *s, *nl;
		int rc = next_line(r, n, &s, &nl, e);
		if (rc <= 0)
			return rc < 0 ? rc : (ssize_t)n;
		rc = parse_line(r, s, nl, &recs[n], e);
		if (rc < 0)
			return rc;
		n += (size_t)rc;
	}
	return (ssize_t)n;
}

/* ============================== 2b. perf script and drmemtrace view lines */

/* A field of s..end: *w its start, returns its end (after skipping blanks). */
static const char *field(const char *s, const char *end, const char **w)
{
	s = skip_sp(s, end);
	*w = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	return s;
}

static int all_digits(const char *w, const char *we)
{
	if (w == we)
		return 0;
	for (; w < we; w++)
		if (*w < '0' || *w > '9')
			return 0;
	return 1;
}

/* Whether [w, we) holds needle. */
static int has(const char *w, const char *we, const char *needle)
{
	size_t n = strlen(needle);
	for (; (size_t)(we - w) >= n; w++)
		if (!memcmp(w, needle, n))
			return 1;
	return 0;
}

static struct mm_rec ev_rec(enum mm_op op, uint32_t pid)
{
	return (struct mm_rec){.pid = pid, .op = (uint8_t)op};
}

/* "(A:B)" at *p: A and B; 0 on success. */
static int perf_pair(const char **p, const char *end, uint64_t *a, uint64_t *b)
{
	const char *s = *p;
	if (s == end || *s++ != '(' || parse_dec(&s, end, UINT32_MAX, a) || s == end ||
	    *s++ != ':' || parse_dec(&s, end, UINT32_MAX, b) || s == end || *s++ != ')')
		return -1;
	*p = s;
	return 0;
}

/* A PERF_RECORD_ task event at w (the line ends at end): its records in o. */
static int perf_task(struct mm_reader *r, const char *w, const char *end, struct mm_rec *o,
		     struct ok_err *e)
{
	uint64_t c, ct, p, pt;
	const char *s = w + strlen("PERF_RECORD_");
	int fork = end - s >= 5 && !memcmp(s, "FORK(", 5),
	    ex = end - s >= 5 && !memcmp(s, "EXIT(", 5);
	if (fork || ex) {
		s += 4;
		if (perf_pair(&s, end, &c, &ct) || s == end || *s++ != ':' ||
		    perf_pair(&s, end, &p, &pt) || (s < end && *s != ' ' && *s != '\t'))
			return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
					   "expected PERF_RECORD_%s(PID:TID):(PID:TID)",
					   fork ? "FORK" : "EXIT");
		if (c != ct) /* a thread: the address space stays */
			return 0;
		int n = 0;
		if (ex) {
			o[n++] = ev_rec(MM_EXIT, (uint32_t)c);
			if (r->pid == c)
				r->pid = UINT64_MAX;
			return n;
		}
		if (r->pid != p)
			o[n++] = ev_rec(MM_SWITCH, (uint32_t)p);
		o[n++] = ev_rec(MM_FORK, (uint32_t)c);
		r->pid = p;
		return n;
	}
	if (end - s >= 11 && !memcmp(s, "COMM exec: ", 11)) {
		/* "COMM exec: NAME:PID/TID": the name may hold ':', the pid follows the last */
		const char *q = end;
		while (q > s && q[-1] != ':')
			q--;
		uint64_t pid, tid;
		if (q == s || parse_dec(&q, end, UINT32_MAX, &pid) || q == end || *q++ != '/' ||
		    parse_dec(&q, end, UINT32_MAX, &tid) || skip_sp(q, end) != end)
			return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
					   "expected PERF_RECORD_COMM exec: NAME:PID/TID");
		r->pid = pid;
		o[0] = ev_rec(MM_EXEC, (uint32_t)pid);
		return 1;
	}
	r->banner++; /* COMM, MMAP, ...: nothing the model uses */
	return 0;
}

static int fault_event(const char *w, const char *we)
{
	static const char *const names[] = {
	    "page-faults:", "faults:", "minor-faults:", "major-faults:"};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((size_t)(we - w) == strlen(names[i]) && !memcmp(w, names[i], (size_t)(we - w)))
			return 1;
	return 0;
}

/*
 * One perf script line (see mmusim.h): its records in o (up to 3: a
 * switch, then the sample's; a fork: a switch and the fork), or negative.
 */
static int parse_perf(struct mm_reader *r, const char *s, const char *end, struct mm_rec *o,
		      struct ok_err *e)
{
	if (end > s && end[-1] == '\r')
		end--;
	const char *p = skip_sp(s, end), *w, *we;
	if (p == end || *p == '#') {
		r->banner += p != end;
		return 0;
	}
	/* the fields before the event: the pid is the first of digits (or PID/TID) */
	uint64_t pid = UINT64_MAX;
	for (;;) {
		p = field(p, end, &w);
		we = p;
		if (w == end)
			return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
					   "expected a perf script sample 'PID EVENT: ADDR' (perf "
					   "script -F pid,tid,event,addr) or a PERF_RECORD_ line");
		if (we - w > 12 && !memcmp(w, "PERF_RECORD_", 12))
			return perf_task(r, w, end, o, e);
		const char *slash = memchr(w, '/', (size_t)(we - w));
		if (pid == UINT64_MAX && all_digits(w, slash ? slash : we) &&
		    (!slash || all_digits(slash + 1, we))) {
			const char *q = w;
			if (parse_dec(&q, slash ? slash : we, UINT32_MAX, &pid))
				return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
						   "expected a pid below 2^32");
			continue;
		}
		/* the event: a field ending in ':' that is not the time (digits.digits:) */
		if (we[-1] == ':' &&
		    !(we - w > 1 && w[0] >= '0' && w[0] <= '9' && memchr(w, '.', (size_t)(we - w))))
			break;
	}
	if (pid == UINT64_MAX)
		return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
				   "expected the pid before the event name (perf script -F "
				   "pid,tid,event,addr)");
	const char *a = skip_sp(we, end);
	uint64_t addr;
	if (parse_hex(&a, end, &addr) || (a < end && *a != ' ' && *a != '\t'))
		return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
				   "expected a hex data address after the event name (perf script "
				   "-F ...,addr; record with -d or perf mem)");
	if (!addr || addr >> 63) { /* no data address, or the kernel's */
		r->banner++;
		return 0;
	}
	int n = 0;
	if (r->pid != pid)
		o[n++] = ev_rec(MM_SWITCH, (uint32_t)pid);
	r->pid = pid;
	struct mm_rec *x = &o[n++];
	*x = (struct mm_rec){.addr = addr};
	if (fault_event(w, we))
		x->op = MM_FAULT;
	else if (has(a, end, "|OP STORE|") || has(w, we, "store"))
		x->op = MM_STORE, x->size = 8;
	else
		x->op = MM_LOAD, x->size = 8;
	return n;
}

/* One drmemtrace view line (see mmusim.h): 1 and *o, 0, or negative. */
static int parse_drmem(struct mm_reader *r, const char *s, const char *end, struct mm_rec *o,
		       struct ok_err *e)
{
	if (end > s && end[-1] == '\r')
		end--;
	const char *p = skip_sp(s, end), *w, *we;
	if (p == end)
		return 0;
	/* the header, dividers, and the results at the end ("view results:",
	 * "N : total instructions") */
	if (*p == '-' || (end - p >= 3 && !memcmp(p, "<--", 3)) ||
	    (end - p >= 14 && !memcmp(p, "Output format:", 14)) || has(p, end, " results:") ||
	    has(p, end, " : total instructions")) {
		r->banner++;
		return 0;
	}
	uint64_t v;
	p = field(p, end, &w);
	const char *q = w;
	if (parse_dec(&q, p, UINT64_MAX, &v) || q != p)
		goto bad;
	p = field(p, end, &w);
	q = w;
	if (parse_dec(&q, p, UINT64_MAX, &v) || q + 1 != p || *q != ':')
		goto bad;
	p = field(p, end, &w); /* thread id, or W0.T292 */
	if (w == p)
		goto bad;
	p = skip_sp(p, end);
	if (p < end && *p == '<') { /* a marker, "<thread N exited>" */
		r->banner++;
		return 0;
	}
	p = field(p, end, &w);
	we = p;
	if (we - w == 2 && hexval((unsigned char)w[0]) >= 0 && hexval((unsigned char)w[1]) >= 0) {
		/* a long instruction's encoding bytes spilled onto a line of their own */
		r->banner++;
		return 0;
	}
	int op = (we - w == 6 && !memcmp(w, "ifetch", 6))  ? MM_IFETCH
		 : (we - w == 4 && !memcmp(w, "read", 4))  ? MM_LOAD
		 : (we - w == 5 && !memcmp(w, "write", 5)) ? MM_STORE
							   : -1;
	uint64_t size, addr;
	if (op < 0 && !(we - w >= 4 && !memcmp(w, "pref", 4)) &&
	    !(we - w == 6 && (!memcmp(w, "iflush", 6) || !memcmp(w, "dflush", 6))))
		goto bad;
	p = skip_sp(p, end);
	if (parse_dec(&p, end, 65535, &size))
		goto bad;
	p = skip_sp(p, end);
	if (end - p < 10 || memcmp(p, "byte(s) @ ", 10))
		goto bad;
	p += 10;
	if (parse_hex(&p, end, &addr) || (p < end && *p != ' ' && *p != '\t'))
		goto bad;
	if (op < 0) { /* prefetch, flush: no translation modelled */
		r->banner++;
		return 0;
	}
	if (!size)
		return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
				   "expected a size 1..65535 before 'byte(s)'");
	*o = (struct mm_rec){.addr = addr, .size = (uint16_t)size, .op = (uint8_t)op};
	return 1;
bad:
	return ok_err_line(e, -EINVAL, r->name, (long long)r->lines,
			   "expected a drmemtrace view line 'RECORD INSTR: TID ifetch|read|write "
			   "N byte(s) @ 0xADDR', a <marker: ...> or a header line");
}

/* Text formats whose line may make several records (perf) or whose
 * parsing is not on lackey's hot path: lines as in read_lackey, records
 * of a line that do not fit recs wait in r->q. */
static ssize_t read_other(struct mm_reader *r, struct mm_rec *recs, size_t max, struct ok_err *e)
{
	size_t n = 0;
	while (n < max && r->iq < r->nq)
		recs[n++] = r->q[r->iq++];
	while (n < max) {
		const char *s, *nl;
		int rc = next_line(r, n, &s, &nl, e);
		if (rc <= 0)
			return rc < 0 ? rc : (ssize_t)n;
		struct mm_rec o[3];
		rc = r->fmt == MM_FMT_PERF ? parse_perf(r, s, nl, o, e)
					   : parse_drmem(r, s, nl, o, e);
		if (rc < 0)
			return rc;
		r->nq = r->iq = 0;
		for (int i = 0; i < rc; i++) {
			if (n < max)
				recs[n++] = o[i];
			else
				r->q[r->nq++] = o[i];
		}
	}
	return (ssize_t)n;
}

/* ================================================ 3. compact binary form */

static int get_varint(const unsigned char **p, const unsigned char *end, uint64_t *v)
{
	uint64_t x = 0;
	for (int sh = 0; sh < 64; sh += 7) {
		if (*p == end)
			return -1;
		unsigned b = *(*p)++;
		x |= (uint64_t)(b & 0x7f) << sh;
		if (!(b & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return -1;
}

/*
 * The common record, an access whose size fits the tag, decoded while at
 * least 32 bytes remain (more than any such record: tag + a 10-byte
 * varint), so without per-byte end checks. Returns records decoded into
 * recs[0..max); stops at anything else, which read_bin's general path
 * decodes or reports.
 */
static size_t read_bin_fast(struct mm_reader *r, struct mm_rec *recs, size_t max)
{
	const unsigned char *p = r->buf + r->pos, *end = r->buf + r->end;
	size_t n = 0;
	while (n < max && end - p >= 32) {
		unsigned tag = p[0], op = tag & 15, size = tag >> 4;
		if (op > MM_MODIFY || !size || size == 15)
			break;
		const unsigned char *q = p + 1;
		uint64_t v = 0;
		unsigned sh = 0, b;
		do
			b = *q++, v |= (uint64_t)(b & 0x7f) << sh, sh += 7;
		while ((b & 0x80) && sh < 70);
		if (b & 0x80) /* longer than 10 bytes: the general path reports it */
			break;
		uint64_t *prev = op == MM_IFETCH ? &r->prev_i : &r->prev_d;
		*prev += (v >> 1) ^ (0 - (v & 1));
		recs[n++] =
		    (struct mm_rec){.addr = *prev, .size = (uint16_t)size, .op = (uint8_t)op};
		p = q;
	}
	r->pos = (size_t)(p - r->buf);
	return n;
}

static ssize_t read_bin(struct mm_reader *r, struct mm_rec *recs, size_t max, struct ok_err *e)
{
	size_t n = 0;
	while (n < max) {
		n += read_bin_fast(r, recs + n, max - n);
		if (n == max)
			break;
		if (r->end - r->pos < 32 && !r->eof) {
			if (n)
				return (ssize_t)n;
			int rc = rd_fill(r, e);
			if (rc < 0)
				return rc;
			continue;
		}
		if (r->pos == r->end)
			break;
		const unsigned char *p = r->buf + r->pos, *end = r->buf + r->end;
		long long at = (long long)(r->off + r->pos);
		unsigned tag = *p++;
		unsigned op = tag & 15;
		struct mm_rec *o = &recs[n];
		uint64_t v, v2;
		if (op == 15 && tag >> 4) /* an op above 15: 15 + the high nibble */
			op = 15 + (tag >> 4);
		if (op >= MM_OP_N ||
		    (op > MM_MODIFY && op < 15 && tag >> 4)) /* events carry no size */
			return ok_err_at(e, -EINVAL, r->name, at,
					 "record tag 0x%02x, expected an access (op 0..3, size in "
					 "the high nibble), an event (op 4..15, high nibble 0) or "
					 "age (tag 0x1f)",
					 tag);
		o->op = (uint8_t)op;
		o->pad = 0;
		o->len = 0;
		o->pid = 0;
		o->size = 0;
		if (op <= MM_MODIFY) {
			uint64_t size = tag >> 4;
			if (size == 15 && (get_varint(&p, end, &size) || size > 65535))
				goto trunc;
			if (!size)
				return ok_err_at(e, -EINVAL, r->name, at,
						 "access of size 0, expected 1..65535");
			if (get_varint(&p, end, &v))
				goto trunc;
			uint64_t *prev = op == MM_IFETCH ? &r->prev_i : &r->prev_d;
			*prev += (v >> 1) ^ (0 - (v & 1));
			o->addr = *prev;
			o->size = (uint16_t)size;
		} else if (op == MM_FLUSH) {
			o->addr = 0; /* no fields */
		} else if (mm_op_has_pid(op)) {
			o->addr = 0;
			if (get_varint(&p, end, &v) ||
			    v > (op == MM_VM ? MM_MAX_VMS - 1 : UINT32_MAX))
				goto trunc;
			o->pid = (uint32_t)v;
		} else {
			if (get_varint(&p, end, &v))
				goto trunc;
			o->addr = v;
			if (mm_op_has_len(op)) {
				if (get_varint(&p, end, &v2) || !v2)
					goto trunc;
				o->len = v2;
			}
		}
		r->pos = (size_t)(p - r->buf);
		n++;
		continue;
	trunc:
		return ok_err_at(e, -EINVAL, r->name, at,
				 "truncated or malformed %s record, expected its varint fields",
				 mm_op_names[op]);
	}
	return (ssize_t)n;
}

/* ============================================= 4. synthetic workloads */

#define SYN_BASE 0x555500000000ull /* where a typical PIE heap lives */

static uint64_t rng_next(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

int mm_reader_open_synth(struct mm_reader **rp, const struct mm_synth_cfg *c, struct ok_err *e)
{
	*rp = NULL;
	if (c->kind >= MM_SYN_N || c->ws < 4096 || (c->kind == MM_SYN_MULTI && !c->procs) ||
	    c->vms > MM_MAX_VMS)
		return ok_err_at(e, -EINVAL, NULL, OK_ERR_NOPOS,
				 "synthetic workload: expected a known kind, a working set of at "
				 "least 4 KiB, at least one process and at most %d VMs",
				 MM_MAX_VMS);
	struct mm_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->src = SRC_SYNTH;
	r->fmt = MM_FMT_BIN;
	snprintf(r->name, sizeof(r->name), "synth:%s", mm_synth_names[c->kind]);
	struct synth *y = &r->syn;
	y->c = *c;
	if (!y->c.quantum)
		y->c.quantum = c->kind == MM_SYN_PTUPDATE ? 200
			       : c->kind == MM_SYN_FORK	  ? 2000
							  : 10000;
	y->rng = c->seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
	if (!y->rng)
		y->rng = 1;
	y->lines = 1;
	while (y->lines * 2 * 64 <= c->ws)
		y->lines *= 2;
	y->pid = 1;
	y->next_pid = 2;
	if (!y->c.vm_quantum)
		y->c.vm_quantum = 100000;
	for (uint32_t k = 1; k < y->c.vms; k++) { /* VM k: the same workload, its own seed */
		y->vm[k] = (struct synth_vm){
		    .rng = y->rng ^ (k * 0xD1B54A32D192ED03ull), .pid = 1, .next_pid = 2};
		if (!y->vm[k].rng)
			y->vm[k].rng = 1;
	}
	*rp = r;
	return 0;
}

static void syn_event(struct synth *y, enum mm_op op, uint32_t pid, uint64_t addr, uint64_t len);

/* Hand the host to the next VM (round robin): save this VM's workload
 * state, load the next one's and queue the switch event. */
static void syn_vm_switch(struct synth *y)
{
	y->vm[y->cur_vm] = (struct synth_vm){y->rng, y->phase, y->x, y->pid, y->next_pid, y->stage};
	y->cur_vm = (y->cur_vm + 1) % y->c.vms;
	const struct synth_vm *v = &y->vm[y->cur_vm];
	y->rng = v->rng, y->phase = v->phase, y->x = v->x;
	y->pid = v->pid, y->next_pid = v->next_pid, y->stage = v->stage;
	y->vm_phase = 0;
	syn_event(y, MM_VM, y->cur_vm, 0, 0);
}

static void syn_event(struct synth *y, enum mm_op op, uint32_t pid, uint64_t addr, uint64_t len)
{
	struct mm_rec *o = &y->pend[y->npend++];
	memset(o, 0, sizeof(*o));
	o->op = (uint8_t)op;
	o->pid = pid;
	o->addr = addr;
	o->len = len;
}

/* Queue the events due before the next access (context switches, churn). */
static void syn_events(struct synth *y)
{
	const struct mm_synth_cfg *c = &y->c;
	if (c->vms > 1 && y->vm_phase >= c->vm_quantum)
		syn_vm_switch(y);
	if (c->age && y->age_phase >= c->age) { /* the running process's whole data area */
		y->age_phase = 0;
		syn_event(y, MM_AGE, 0, SYN_BASE, (c->kind == MM_SYN_MMAP ? 16 : 1) * c->ws);
	}
	if (y->phase < c->quantum)
		return;
	y->phase = 0;
	uint64_t page = rng_next(&y->rng) % (c->ws / 4096);
	switch (c->kind) {
	case MM_SYN_MULTI:
		y->pid = y->pid % c->procs + 1;
		syn_event(y, MM_SWITCH, y->pid, 0, 0);
		break;
	case MM_SYN_FORK:
		/* stage 0: the parent (pid 0, where a trace starts) runs, then forks a
		 * child that execs at once (fork copies the parent's page tables
		 * copy-on-write, as Linux's fork does), runs and exits */
		if (y->stage == 0) {
			y->pid = y->next_pid++;
			syn_event(y, MM_FORK, y->pid, 0, 0);
			syn_event(y, MM_EXEC, y->pid, 0, 0);
			y->stage = 1;
		} else {
			syn_event(y, MM_EXIT, y->pid, 0, 0);
			y->pid = 0;
			syn_event(y, MM_SWITCH, 0, 0, 0);
			y->stage = 0;
		}
		break;
	case MM_SYN_MMAP:
		syn_event(y, MM_UNMAP, 1, SYN_BASE + (y->x % 16) * c->ws, c->ws);
		y->x++;
		break;
	case MM_SYN_PTUPDATE:
		syn_event(y, MM_PTWRITE, 0, SYN_BASE + page * 4096, 0);
		syn_event(y, MM_INVLPG, 0, SYN_BASE + page * 4096, 0);
		break;
	default:
		break;
	}
}

static ssize_t read_synth(struct mm_reader *r, struct mm_rec *recs, size_t max)
{
	struct synth *y = &r->syn;
	const struct mm_synth_cfg *c = &y->c;
	size_t n = 0;
	uint64_t words = c->ws / 8;
	while (n < max) {
		if (y->ipend < y->npend) {
			recs[n++] = y->pend[y->ipend++];
			continue;
		}
		y->npend = y->ipend = 0;
		if (y->emitted >= c->refs)
			break;
		syn_events(y);
		if (y->npend)
			continue;
		struct mm_rec *o = &recs[n++];
		uint64_t rnd = rng_next(&y->rng);
		o->len = 0;
		o->pid = 0;
		o->size = 8;
		o->pad = 0;
		o->op = MM_LOAD;
		switch (c->kind) {
		case MM_SYN_SEQ:
			o->addr = SYN_BASE + (y->x++ % words) * 8;
			break;
		case MM_SYN_CHASE:
			y->x = (y->x * 6364136223846793005ull + 1442695040888963407ull) &
			       (y->lines - 1);
			o->addr = SYN_BASE + y->x * 64;
			break;
		case MM_SYN_MMAP:
			o->addr = SYN_BASE + (y->x % 16) * c->ws + (rnd >> 8) % words * 8;
			o->op = (rnd & 3) ? MM_LOAD : MM_STORE;
			break;
		default: /* random, multi, fork, ptupdate */
			o->addr = SYN_BASE + (rnd >> 8) % words * 8;
			o->op = (rnd & 3) ? MM_LOAD : MM_STORE;
			break;
		}
		y->emitted++;
		y->phase++;
		y->vm_phase++;
		y->age_phase++;
	}
	return (ssize_t)n;
}

ssize_t mm_reader_read(struct mm_reader *r, struct mm_rec *recs, size_t max, struct ok_err *e)
{
	if (r->src == SRC_SYNTH)
		return read_synth(r, recs, max);
	if (r->fmt == MM_FMT_PERF || r->fmt == MM_FMT_DRMEM)
		return read_other(r, recs, max, e);
	return r->fmt == MM_FMT_BIN ? read_bin(r, recs, max, e) : read_lackey(r, recs, max, e);
}

/* ==================================================== 5. binary writer */

struct mm_writer {
	int fd, own_fd;
	char name[256];
	unsigned char *buf;
	size_t n;
	uint64_t prev_i, prev_d;
};

static int wr_flush(struct mm_writer *w, struct ok_err *e)
{
	if (!w->n)
		return 0;
	ssize_t rc = io_write_full(w->fd, w->buf, w->n);
	if (rc < 0)
		return ok_err_at(e, (int)rc, w->name, OK_ERR_NOPOS, "write");
	w->n = 0;
	return 0;
}

int mm_writer_open(struct mm_writer **wp, const char *path, struct ok_err *e)
{
	*wp = NULL;
	struct mm_writer *w = calloc(1, sizeof(*w));
	if (!w || !(w->buf = malloc(MM_READ_BUF))) {
		free(w);
		return ok_err_at(e, -ENOMEM, path, OK_ERR_NOPOS, "out of memory");
	}
	snprintf(w->name, sizeof(w->name), "%s", path);
	if (!strcmp(path, "-")) {
		w->fd = 1;
	} else {
		w->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
		if (w->fd < 0) {
			int rc = ok_err_at(e, -errno, path, OK_ERR_NOPOS, "cannot create");
			free(w->buf);
			free(w);
			return rc;
		}
		w->own_fd = 1;
	}
	memcpy(w->buf, MM_BIN_MAGIC, 8);
	memset(w->buf + 8, 0, 8);
	w->buf[8] = 1; /* version 1, little-endian u32; flags 0 */
	w->n = MM_BIN_HDR;
	*wp = w;
	return 0;
}

static unsigned char *put_varint(unsigned char *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (unsigned char)(v | 0x80);
		v >>= 7;
	}
	*p++ = (unsigned char)v;
	return p;
}

int mm_writer_put(struct mm_writer *w, const struct mm_rec *recs, size_t n, struct ok_err *e)
{
	for (size_t i = 0; i < n; i++) {
		if (w->n > MM_READ_BUF - 40) {
			int rc = wr_flush(w, e);
			if (rc < 0)
				return rc;
		}
		const struct mm_rec *o = &recs[i];
		unsigned char *p = w->buf + w->n;
		if (o->op <= MM_MODIFY) {
			unsigned sz = o->size < 15 ? o->size : 15;
			*p++ = (unsigned char)(o->op | sz << 4);
			if (sz == 15)
				p = put_varint(p, o->size);
			uint64_t *prev = o->op == MM_IFETCH ? &w->prev_i : &w->prev_d;
			int64_t d = (int64_t)(o->addr - *prev);
			p = put_varint(p, ((uint64_t)d << 1) ^ (uint64_t)(d >> 63));
			*prev = o->addr;
		} else {
			*p++ = o->op < 15 ? o->op : (unsigned char)(15 | (o->op - 15) << 4);
			if (o->op == MM_FLUSH) {
				/* no fields */
			} else if (mm_op_has_pid(o->op)) {
				p = put_varint(p, o->pid);
			} else {
				p = put_varint(p, o->addr);
				if (mm_op_has_len(o->op))
					p = put_varint(p, o->len);
			}
		}
		w->n = (size_t)(p - w->buf);
	}
	return 0;
}

int mm_writer_close(struct mm_writer *w, struct ok_err *e)
{
	int rc = wr_flush(w, e);
	if (w->own_fd && close(w->fd) < 0 && rc == 0)
		rc = ok_err_at(e, -errno, w->name, OK_ERR_NOPOS, "close");
	free(w->buf);
	free(w);
	return rc;
}
