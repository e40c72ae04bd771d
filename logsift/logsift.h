/*
 * logsift.h: the logsift library, a syslog daemon core that reads syslog-ng
 * 3.x configuration, parses messages as syslog-ng 3.38 does, evaluates
 * filters and prints the classic (3.2-era) per-node filter trace.
 *
 * Layers, each calling only the ones above it:
 *   messages   struct ls_msg, ls_msg_parse() (RFC 3164 / RFC 5424 as
 *              syslog-ng 3.38's syslogformat module), templates and macros
 *   config     ls_cfg_load() / ls_cfg_parse(): the configuration language
 *              into sources, destinations, filters and log paths
 *   filters    ls_filter_eval(): short-circuit evaluation, classic trace
 *   routing    ls_route(): one message through the log paths of its source,
 *              with final/fallback/catchall and junctions, into destinations
 *   daemon     ls_daemon_run(): sockets, poll loop, signals (daemon.c)
 *
 * Errors: every fallible call returns >= 0 or a negative errno and fills an
 * optional struct ok_err; config errors carry the syslog-ng wording and the
 * file:line:column in ok_err.msg. Nothing here prints except through the
 * caller-supplied trace sink (struct ls_trace).
 *
 * Invariants: an ls_msg owns all its strings (one growing store, fields are
 * offset+length into it, so a realloc never leaves a dangling pointer); a
 * loaded ls_cfg is immutable while messages are routed, except for counters.
 */
#ifndef LOGSIFT_H
#define LOGSIFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "err.h"
#include "tzfile.h"

/* ---- growing byte buffer ---- */
struct ls_buf {
	char *p;    /* NUL-ended when len < cap */
	size_t len; /* bytes used */
	size_t cap; /* bytes allocated */
};
void ls_buf_add(struct ls_buf *b, const void *p, size_t n);
void ls_buf_addc(struct ls_buf *b, char c);
void ls_buf_addf(struct ls_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append s as an eventlog "plain" value: bytes < 0x20 except TAB as \xNN, ' as \'. */
void ls_buf_add_escaped(struct ls_buf *b, const char *s, size_t n);
void ls_buf_free(struct ls_buf *b);

/* ---- messages ---- */
enum ls_field {
	LS_HOST,
	LS_HOST_FROM,
	LS_PROGRAM,
	LS_PID,
	LS_MSGID,
	LS_MESSAGE,
	LS_LEGACY_MSGHDR,
	LS_SDATA, /* raw RFC 5424 structured data, as received */
	LS_SOURCE,
	LS_FIELD_COUNT
};

struct ls_span {
	uint32_t off, len; /* into ls_msg.store */
	bool set;
};

struct ls_nv {
	char *name;
	struct ls_span v;
};

/*
 * ---- tags ----
 * The tag registry, as 3.38's lib/logmsg/tags.c: a name gets the next id
 * the first time it is seen (config time: tags() filters and options,
 * literal set-tag()/clear-tag(), ".source.NAME"; then each new name a
 * set-tag()/clear-tag() template expands to) and keeps it for the life of
 * the registry; $TAGS lists a message's tags in id order. Bounds, as 3.38
 * on 64-bit: LS_TAGS_MAX names, after which every new name is id 0 (the
 * first name registered); a message's set grows to ids below LS_MSG_TAGS
 * only (a higher one is 3.38's "Maximum number of tags reached" error, the
 * tag not set; ls_msg_tag has the exception). logsift's own bound on top: LS_TAGS_MAX_BYTES of
 * names in all (a hostile sender cannot make 16383 names of 64 KiB each); past it a new name is id
 * 0 as past the count.
 *
 * The daemon keeps one registry in its ls_runtime for the whole run, so a
 * reload finds the names and ids the old config and its messages made, as
 * 3.38's process-wide one; a config parsed alone owns its own.
 */
#define LS_TAGS_MAX	  16383	      /* 3.38: LOG_TAGS_MAX - 1 (64-bit glib) */
#define LS_MSG_TAGS	  8160	      /* ids that grow a message's set (3.38: id <= 8159) */
#define LS_TAGS_MAX_BYTES (64u << 20) /* logsift: name bytes in all */
#define LS_MSG_TAG_WORDS  128	      /* a tag set's words: ids up to 8191 (3.38's guint8 count) */

struct ls_tagtab {
	char **names;	/* names[id], NUL-ended */
	size_t n, cap;	/* ids used / slots allocated */
	size_t bytes;	/* name bytes in all (LS_TAGS_MAX_BYTES) */
	uint32_t *slot; /* open-addressing hash of names: id + 1, 0 = empty */
	size_t n_slot;	/* a power of two, at least 2 * n */
};
/* 3.38's log_tags_get_by_name: name's id, registered if new (0 when full). */
int ls_tags_id(struct ls_tagtab *t, const char *name);
/* Name of id, or NULL when id was never given out. */
const char *ls_tags_name(const struct ls_tagtab *t, int id);
void ls_tags_free(struct ls_tagtab *t);

struct ls_msg {
	int pri;			  /* facility << 3 | severity, no range check (3.38) */
	struct ls_span f[LS_FIELD_COUNT]; /* the well-known fields */
	struct ls_nv *nv;		  /* other name-value pairs (SD params, $0..$9) */
	size_t n_nv, cap_nv;		  /* entries used / allocated in nv */
	struct ls_buf store;		  /* all field bytes */
	int64_t stamp_sec, recv_sec;	  /* message and receive time, Unix seconds */
	int stamp_usec, recv_usec;	  /* microseconds */
	int stamp_gmtoff, recv_gmtoff;	  /* seconds east of UTC */
	struct sockaddr_storage saddr;	  /* sender (AF_UNIX/AF_UNSPEC = local) */
	uint64_t tagw[LS_MSG_TAG_WORDS];  /* bit i = tag id i of the registry */
	unsigned n_tagw;		  /* 3.38's num_tags: words in use, 0 = tagw[0] only */
	/* the registry the ids are from, for $TAGS and templated set-tag():
	 * set by ls_route, valid while the message is routed */
	struct ls_tagtab *tagtab;
	int seq;	/* .SDATA.meta.sequenceId (0 = none) */
	bool seq_cisco; /* sequenceId came from a Cisco "N: " prefix */
	uint32_t cisco_seq_off, cisco_seq_len;
	bool utf8;	   /* validated or BOM-marked UTF-8 */
	bool parse_error;  /* this is syslog-ng's "Error processing log message" */
	int time_quality;  /* Cisco stamp prefix: 1 = "*" (unsynced), 2 = "." (synced), 0 none */
	bool chained_host; /* chain-hostnames: HOST is "orig/relay" or "source@host" */
	const char *ctx;   /* $_ / $CONTEXT_ID: groupset()'s current value, or NULL */
	size_t ctx_len;
};

/* Parse flags: syslog-ng's source flags() plus what the source kind implies. */
enum ls_pflags {
	LS_P_EXPECT_HOSTNAME = 1 << 0, /* network sources, flags(expect-hostname) */
	LS_P_SYSLOG_PROTOCOL = 1 << 1, /* syslog() or flags(syslog-protocol): RFC 5424 */
	LS_P_NO_PARSE = 1 << 2,
	LS_P_SANITIZE_UTF8 = 1 << 3,
	LS_P_VALIDATE_UTF8 = 1 << 4,
	LS_P_NO_MULTI_LINE = 1 << 5,
	LS_P_NO_3164_FALLBACK = 1 << 6,
	LS_P_LOCAL = 1 << 7, /* unix/file/pipe/stdin: kernel messages get PROGRAM=kernel */
	LS_P_CHECK_HOSTNAME = 1 << 8,
	LS_P_EMPTY_LINES = 1 << 9,	 /* flags(empty-lines): empty stream records are messages */
	LS_P_KMSG = 1 << 10,		 /* format(linux-kmsg): /dev/kmsg records */
	LS_P_ASSUME_UTF8 = 1 << 11,	 /* flags(assume-utf8): every message is UTF-8 (BOM) */
	LS_P_NO_LEGACY_MSGHDR = 1 << 12, /* flags(dont-store-legacy-msghdr) */
	LS_P_KERNEL = 1 << 13, /* flags(kernel): kern.notice when no default given (cfg.c) */
};

struct ls_parse_opts {
	unsigned flags;		  /* enum ls_pflags */
	int default_pri;	  /* PRI for input without <N>, 13 (user.notice) by default */
	int self_pid;		  /* PID shown in "Error processing log message" */
	const void *bad_hostname; /* pcre2_code of bad-hostname(), or NULL */
	const char *recv_tz;	  /* recv-time-zone()/time-zone() for stamps without one, or NULL */
	/* recv_tz resolved (the config owns it); NULL with recv_tz set: the
	 * name is opened on each stamp (tests, fuzzers) */
	const struct ls_tz *recv_zone;
	/* the runtime's local-zone cache (tzfile.h), or NULL */
	struct ls_tz_span *local;
	/* linux-kmsg: the boot time as the caller read it once
	 * (ls_kmsg_boot_usec), when kmsg_boot_set; else read per record */
	bool kmsg_boot_set;
	int64_t kmsg_boot_usec;
	/* syslog-parser(): 3.38 takes recv_tz's offset once, at the time the
	 * parser runs (this), for every stamp without one and for an undated
	 * message's stamp; 0 = per stamp, as the sources do here */
	int64_t zone_at;
	/* syslog-parser(): the message as it was before the parse, which an
	 * RFC 5424 parse falling back to RFC 3164 starts again from (3.38
	 * parses into the message it has); NULL = an empty one */
	const struct ls_msg *base;
};

/* Boot time in microseconds as 3.38's kmsg source reads it at start-up:
 * now minus /proc/uptime (0 when unreadable). Reads the clock and the file
 * on each call: callers keep the answer (ls_runtime.kmsg_boot_usec). */
int64_t ls_kmsg_boot_usec(void);
void ls_msg_init(struct ls_msg *m);
void ls_msg_reset(struct ls_msg *m);
/* Set (on) or clear tag id on m: false when 3.38 refuses the id
 * ("Maximum number of tags reached"), m unchanged. */
bool ls_msg_tag(struct ls_msg *m, int id, bool on);
/* True when m carries tag id. */
bool ls_msg_has_tag(const struct ls_msg *m, int id);
void ls_msg_free(struct ls_msg *m);
/* The sender's address as text into buf (IPv4-mapped IPv6 as IPv4; a
 * non-IP sender is "127.0.0.1", as 3.38 shows local ones): 0 or -errno. */
int ls_addr_str(const struct sockaddr_storage *sa, char *buf, size_t n);
void ls_msg_set(struct ls_msg *m, enum ls_field f, const char *p, size_t n);
/* Value of field f (never NULL; "" when unset) and its length. */
const char *ls_msg_get(const struct ls_msg *m, enum ls_field f, size_t *n);
/* Value of any name: a field name (HOST, MESSAGE/MSG, ...), an SD or match name. */
const char *ls_msg_get_name(const struct ls_msg *m, const char *name, size_t *n);
void ls_msg_set_name(struct ls_msg *m, const char *name, const char *p, size_t n);
/* Unset a value (a field or a name-value pair): it reads as "" and is not listed. */
void ls_msg_unset_name(struct ls_msg *m, const char *name);
/* True for the names of the well-known fields (HOST, PROGRAM, MESSAGE, ...). */
bool ls_msg_name_is_field(const char *name);
/* dst becomes a deep copy of src (dst's buffers reused; ctx not copied). */
void ls_msg_copy(struct ls_msg *dst, const struct ls_msg *src);
/* The names of the set values (fields first, then name-value pairs in the
 * order they were made) into names[0..max); the count (may exceed max). */
size_t ls_msg_names(const struct ls_msg *m, const char **names, size_t max);
/* A regex match's groups as $0..$255 (ov: the ovector of rc pairs, unset
 * groups (size_t)-1 are left as they were) and every match past them
 * unset, as 3.38's feed_backrefs + log_msg_truncate_matches. s must not
 * point into m's own store. */
void ls_msg_set_matches(struct ls_msg *m, const char *s, const size_t *ov, int rc);
/*
 * Parse one received record (data, len) into m, as syslog-ng 3.38's
 * syslogformat module does: trailing NUL and \n removed, PRI, Cisco sequence
 * id, timestamp, host (only with LS_P_EXPECT_HOSTNAME), PROGRAM[PID]:, the
 * rest is MESSAGE. A bad PRI gives syslog-ng's "Error processing log message"
 * message (pri 43). recv_* must be set before. Never fails.
 */
void ls_msg_parse(struct ls_msg *m, const char *data, size_t len, const struct ls_parse_opts *o);

/* Facility and severity names, as syslog-ng's syslog-names tables. */
int ls_facility_by_name(const char *s); /* code (0..23) or -1 */
int ls_severity_by_name(const char *s); /* 0..7 or -1 */
const char *ls_facility_name(int fac);	/* NULL when unnamed */
extern const char *const ls_severity_names[8];

/* ---- templates ---- */
struct ls_tmpl;
/* Compile a template string ("$DATE ${HOST} $$"); NULL + e on error. */
struct ls_tmpl *ls_tmpl_new(const char *text, struct ok_err *e);
void ls_tmpl_free(struct ls_tmpl *t);
/* Append the formatted template to out. */
void ls_tmpl_format(const struct ls_tmpl *t, const struct ls_msg *m, struct ls_buf *out);
/* A destination's template options, as 3.38's LogTemplateOptions. */
struct ls_tmpl_opts {
	int ts_format;	 /* what $STAMP and the default file line use: an enum macro date
			    kind (ls_tmpl_ts_format() maps the ts-format() word) */
	int frac_digits; /* frac-digits(): 0..6 */
	char *send_tz;	 /* time-zone()/send-time-zone(), NULL = the stamp's own offset */
	/* send_tz resolved (the config owns it), or NULL: send_tz is opened
	 * on each use */
	const struct ls_tz *send_zone;
	bool escape;	       /* template-escape(yes) */
	uint32_t seq_num;      /* $SEQNUM of a local message: its writer's count (3.38's
				  LogWriter seq_num), 0 = none */
	int on_error;	       /* on-error(): enum ls_on_error, 0 = not set (drop-message) */
	struct ls_runtime *rt; /* where 3.38's "Casting error" line goes, or NULL */
};
/* on-error() of 3.38's template options: what a failed type-hint cast does. */
enum ls_on_error {
	LS_ONERR_DROP_MESSAGE = 1,  /* the whole $(format-json) expands to nothing */
	LS_ONERR_DROP_PROPERTY = 2, /* that pair is left out */
	LS_ONERR_FALLBACK = 3,	    /* fallback-to-string: the pair as a string */
	LS_ONERR_SILENT = 4,	    /* or'ed in by "silently-" */
};
/* ts-format() word (rfc3164 bsd rfc3339 iso full unix) to its value, or -1. */
int ls_tmpl_ts_format(const char *word);
/* As ls_tmpl_format, with destination options (NULL: 3.38's defaults). */
void ls_tmpl_format_opts(const struct ls_tmpl *t, const struct ls_msg *m,
			 const struct ls_tmpl_opts *o, struct ls_buf *out);
/* True when the template is a plain literal (no macro). */
bool ls_tmpl_is_literal(const struct ls_tmpl *t);
/* True when the template is one "$NAME" of a value (not a macro, no text). */
bool ls_tmpl_is_name(const struct ls_tmpl *t);
/* The literal text before the template's first macro, and its length. */
const char *ls_tmpl_fixed_prefix(const struct ls_tmpl *t, size_t *len);

/* ---- configuration ---- */
struct ls_cfg;
struct ls_filter;

/*
 * Load a configuration file (follows @include). Returns the config or NULL
 * with e filled: e->msg holds syslog-ng's wording and FILE:L:C, e->cls the
 * kind: OK_CLASS_IO (cannot read it), OK_CLASS_DATA (syntax) or
 * OK_CLASS_REFUSED (reference error, filter loop), which ok_exit_syslog_ng
 * turns into syslog-ng's exit codes 1, 1 and 2.
 */
struct ls_cfg *ls_cfg_load(const char *path, struct ok_err *e);
/* As ls_cfg_load, registering the config's tag names in tags (a running
 * daemon's registry, for a reload) instead of a registry of its own. */
struct ls_cfg *ls_cfg_load_tags(const char *path, struct ls_tagtab *tags, struct ok_err *e);
/* As ls_cfg_load, from a string; name is used as the file name in errors. */
struct ls_cfg *ls_cfg_parse(const char *text, size_t len, const char *name, struct ok_err *e);
void ls_cfg_free(struct ls_cfg *c);
/* Number of warnings recorded while loading, and the i-th one (no newline). */
size_t ls_cfg_warning_count(const struct ls_cfg *c);
const char *ls_cfg_warning(const struct ls_cfg *c, size_t i);

/* ---- trace ---- */
enum ls_trace_mode {
	LS_TRACE_OFF,
	LS_TRACE_CLASSIC, /* the 3.2-era lines */
	LS_TRACE_EXPLAIN, /* classic plus value, raw result, location, deliveries */
};

struct ls_trace {
	enum ls_trace_mode mode;
	FILE *out;		     /* where lines go */
	const struct ls_filter *sel; /* --trace-match: only messages it selects, or NULL */
	bool active;		     /* this message is being traced */
	struct ls_buf line;	     /* scratch */
};

/* Print "Incoming log entry; line='...'" for a raw record (up to NUL, 1023 bytes). */
void ls_trace_incoming(struct ls_trace *t, const char *data, size_t len);

/* Evaluate a named filter rule as one rule (begin, nodes, result lines). */
bool ls_filter_eval(const struct ls_filter *f, struct ls_msg *m, struct ls_trace *t);
/* Compile a standalone filter expression (for --trace-match) against cfg. */
struct ls_filter *ls_filter_compile(struct ls_cfg *c, const char *expr, struct ok_err *e);
void ls_filter_free(struct ls_filter *f);

/* ---- routing and destinations ---- */
struct ls_source;

struct ls_window;

/* Per-process state needed while routing (host name, resolver choices). */
struct ls_runtime {
	char hostname[256]; /* local short host name */
	bool dry_run;	    /* --test: report deliveries, write nothing */
	FILE *report;	    /* where --test prints deliveries */
	int self_pid;
	FILE *notices;	       /* destination errors and recoveries, or NULL */
	struct ls_window *win; /* flow-control window of the message being routed, or NULL */
	struct ls_buf pending_internal; /* NUL-ended internal() messages not yet routed */
	bool in_internal;		/* routing an internal() message: queue nothing */
	/* use-dns(yes): the last sender address looked up and its name (a
	 * one-entry cache: loopback tests and single peers always hit it) */
	struct sockaddr_storage dns_addr;
	char dns_name[256];
	bool dns_have;
	/* after every write that finished messages (their slots are back):
	 * daemon.c moves -R positions there, as 3.38 acknowledges per
	 * message. NULL: none. */
	void (*on_written)(void *);
	void *on_written_arg;
	/* the destinations' default formats (route.c), made on first use */
	struct ls_tmpl *def_tmpl[5];
	/* program() children sent SIGTERM, not yet reaped (dest.c waits for
	 * them without blocking) */
	int *reap;
	size_t n_reap, cap_reap;
	/* the local zone's last offset and the interval it holds for
	 * (ls_tz_local): receive times and stamps without a zone */
	struct ls_tz_span tz_local;
	/* linux-kmsg sources: the boot time, read at the first record (3.38
	 * reads it once at start-up) */
	bool kmsg_boot_have;
	int64_t kmsg_boot_usec;
	/* the tag registry of the run (ls_runtime_adopt), kept across reloads */
	struct ls_tagtab tags;
};

void ls_runtime_init(struct ls_runtime *rt);
/* A line of 3.38's error log (msg_error): on rt's notices stream and queued
 * for internal() (at most 64 KiB waiting; not while routing an internal()
 * message, which would loop). */
void ls_rt_error(struct ls_runtime *rt, const char *line);
/* Free what rt holds (the pending internal() messages, default formats,
 * the tag registry: a config that used it must not route after this). */
void ls_runtime_free(struct ls_runtime *rt);
/* Make c's tags rt's: the first config of a run hands its registry over
 * (ids unchanged); a config loaded by ls_cfg_load_tags(..., &rt->tags)
 * already uses it. Sets c->rt. */
void ls_runtime_adopt(struct ls_runtime *rt, struct ls_cfg *c);
/* The run is over: c (the config in use) takes the registry back, so it
 * outlives rt with ids that still mean something. Clears c->rt. */
void ls_runtime_release(struct ls_runtime *rt, struct ls_cfg *c);

/* Route one parsed message from source src through the config. */
void ls_route(struct ls_cfg *c, struct ls_source *src, struct ls_msg *m, struct ls_trace *t,
	      struct ls_runtime *rt);
/*
 * The output pipeline's side of the event loop (dest.c). Writers never
 * block: ls_dest_service() writes what each queue holds until the transport
 * would block, reopens/reconnects writers whose time-reopen() is due and
 * returns the milliseconds until the next such time (-1: none). With
 * flush_all false only writers whose batch is full are written.
 */
struct pollfd;
int ls_dest_service(struct ls_cfg *c, bool flush_all);
struct ls_writer;
/* Fill pf and ws with the writers waiting for their fd (at most max); the count. */
size_t ls_dest_pollfds(struct ls_cfg *c, struct pollfd *pf, struct ls_writer **ws, size_t max);
/* Act on the poll results of the writers ls_dest_pollfds() gave. */
void ls_dest_events(struct ls_cfg *c, const struct pollfd *pf, struct ls_writer **ws, size_t n);
/* Number of writers (poll set size for ls_dest_pollfds()). */
size_t ls_dest_writers(const struct ls_cfg *c);
/* Messages queued in writers that are open and not waiting for time-reopen()
 * (what an exit flush can still write). */
uint64_t ls_dest_pending(const struct ls_cfg *c);
/* Messages queued in all writers (for the exit flush and stats). */
uint64_t ls_dest_queued(const struct ls_cfg *c);
/* Close every writer; what is still queued is counted as dropped. */
void ls_dest_close_all(struct ls_cfg *c);
/*
 * Move the writers (queues, open fds, connections) of c's destinations to
 * the drivers of nc that have the same persist identity (kind and target),
 * as syslog-ng keeps them by persist name across a reload. Counters of
 * destinations and sources with the same name carry over.
 */
void ls_dest_adopt(struct ls_cfg *nc, struct ls_cfg *c);

/* Print per-source/filter/destination counters. */
void ls_stats_print(const struct ls_cfg *c, FILE *out);
/*
 * The counters as syslog-ng-ctl stats prints them (logsift-ctl stats): the
 * ones 3.38 shows at stats-level(0), header line first, config order (3.38
 * prints them in hash-table order).
 */
void ls_stats_ctl(struct ls_cfg *c, struct ls_buf *out);
/* logsift-ctl stats --reset: every counter but the queued gauges to 0, as
 * 3.38's RESET_STATS. */
void ls_stats_reset(struct ls_cfg *c);
/*
 * One control-socket query, cmd being what follows "QUERY " in 3.38's
 * protocol: "LIST|LIST_RESET|GET|GET_RESET|GET_SUM|GET_SUM_RESET [PATTERN]".
 * Appends 3.38's answer to out: NAME lines (list), NAME=VALUE lines (get)
 * or the sum, then "\nThe selected counters of syslog-ng have been reset
 * to 0." when a reset matched something. Names are component.id.instance.
 * type; PATTERN is a glob ('*', '?') over them, "*" when empty; without a
 * '*' or '?' only the first counter of that name answers (as 3.38). Nothing
 * is appended for no match, an unknown verb or a get without a pattern.
 * A reset zeroes the matched counters except queued (a live gauge here).
 */
void ls_stats_query(struct ls_cfg *c, const char *cmd, struct ls_buf *out);
/* Print the rules and paths that never matched (for --test). */
void ls_unmatched_print(const struct ls_cfg *c, FILE *out);

/* ---- daemon ---- */
struct ls_daemon_opts {
	const char *cfg_path;
	struct ls_trace *trace;
	bool stats_on_exit;
	const char *pidfile;
	const char *control; /* control socket path (logsift-ctl), or NULL */
	const char *persist; /* -R: file() sources' read positions (persist.c), or NULL */
};
/* Run until SIGTERM/SIGINT. Returns an exit code (0 or syslog-ng's). */
int ls_daemon_run(struct ls_cfg **cfgp, const struct ls_daemon_opts *o, struct ok_err *e);
/* --test: read newline-separated messages from in, as if from the first source. */
int ls_test_run(struct ls_cfg *c, FILE *in, struct ls_trace *t, FILE *out);

#endif
