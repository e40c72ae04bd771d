/*
 * ls_int.h: logsift's internal object model, shared by cfg.c (which builds
 * it), filter.c (which evaluates filters), route.c (log paths and
 * destinations) and daemon.c (sockets). Not installed; logsift.h is the API.
 */
#ifndef LOGSIFT_INT_H
#define LOGSIFT_INT_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <sys/types.h>

#include "logsift.h"

/* ---- filter expression nodes ---- */
enum fn_kind {
	FN_AND,
	FN_OR,
	FN_FACILITY,
	FN_LEVEL,
	FN_MATCH, /* host(), program(), message(), match() */
	FN_SOURCE,
	FN_NETMASK,
	FN_NETMASK6,
	FN_INLIST,
	FN_TAGS,
	FN_CALL, /* filter(NAME) */
	FN_CMP,
};

enum match_type { MT_PCRE, MT_STRING, MT_GLOB };
enum match_flags {
	MF_ICASE = 1,
	MF_PREFIX = 2,
	MF_SUBSTRING = 4,
	MF_GLOBAL = 8,
	MF_UTF8 = 16,
	MF_STORE = 32,
	MF_NEWLINE = 64,
	MF_NOJIT = 128,
	MF_DUPNAMES = 256,
};
enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };
enum cmp_mode { CMP_STRING, CMP_NUMERIC, CMP_TYPE_AWARE };

struct fnode {
	enum fn_kind kind;
	bool comp;	     /* "not": result is raw XOR comp */
	bool visiting;	     /* filter(): loop check in progress */
	struct fnode *l, *r; /* AND/OR children */
	const char *file;    /* config location of the node */
	int line, col;
	/* facility/level */
	uint32_t mask; /* bit n = facility/severity n */
	int fac_num;   /* facility(N): exact number, else -1 */
	/* match */
	const char *kw;	      /* "host", "program", "message", "match" */
	char *value;	      /* value("NAME") or NULL */
	struct ls_tmpl *tmpl; /* template("...") or NULL */
	int field;	      /* enum ls_field for the fast path, or -1 */
	bool legacy;	      /* match() without value(): "PROGRAM[PID]: MESSAGE" */
	enum match_type mtype;
	unsigned mflags; /* enum match_flags */
	char *pattern;
	pcre2_code *re;
	pcre2_match_data *md; /* reused by every evaluation */
	/* source/call/tags/in-list */
	char *name;		  /* source name, filter name, in-list file */
	struct ls_filter *target; /* filter(NAME) resolved */
	char **list;		  /* in-list entries (lines of the file) */
	size_t n_list;
	int *tagids; /* tags(): the names' registry ids */
	size_t n_tagids;
	/* netmask */
	uint8_t addr[16], netmask[16];
	int prefix;
	/* comparison */
	struct ls_tmpl *lt, *rt;
	enum cmp_op op;
	enum cmp_mode mode;
	bool lnum, rnum; /* a side is a bare number literal (typed int64) */
	const char *op_text;
	struct fnode *owned_next; /* the filter's list of all its nodes */
};

struct ls_filter {
	char *name; /* "f_auth" or "#anon-filterN" */
	struct fnode *root;
	struct fnode *nodes; /* every node parsed for it, in or out of the tree */
	const char *file;    /* location of the rule's expression */
	int line, col;
	bool visiting;		     /* loop check */
	uint64_t evaluated, matched; /* counters */
	struct ls_cfg *cfg;
};

/* ---- sources ---- */
enum src_kind {
	SRC_UNIX_DGRAM,
	SRC_UNIX_STREAM,
	SRC_UDP,
	SRC_TCP,
	SRC_FILE,
	SRC_PIPE,
	SRC_STDIN,
	SRC_INTERNAL,
	SRC_KMSG, /* /dev/kmsg: one record per read(), from its end on (3.38's devkmsg opener) */
};

struct ls_tls; /* tls.c */

struct ls_sdrv {
	enum src_kind kind;
	struct ls_tls *tls; /* TLS source (tcp, network/syslog transport(tls)), or NULL */
	char *path;	    /* unix socket, file or pipe path */
	char ip[64];	    /* listen address */
	int port;
	bool ip6;
	bool framed;	 /* syslog() on a stream: octet counting when it starts with a digit */
	unsigned pflags; /* enum ls_pflags */
	int default_pri;
	int keep_hostname;   /* -1 = global option */
	int use_dns;	     /* -1 = global option */
	size_t log_msg_size; /* 0 = global option */
	int keep_timestamp;  /* -1 = global option */
	char *recv_tz;	     /* time-zone(): zone of stamps without one, or NULL */
	/* recv_tz resolved, in the config's zone table */
	const struct ls_tz *recv_zone;
	char *program_override, *host_override;
	int *tags; /* tags() added to each message: registry ids */
	size_t n_tags;
	int perm;	     /* socket file mode, -1 default */
	int iw_size;	     /* log-iw-size(): flow-control window, -1 = global option */
	int max_conns;	     /* max-connections(): the window is shared by this many */
	int rcvbuf;	     /* SO_RCVBUF of a datagram socket, 0 = logsift's default */
	bool creds;	     /* unix socket: SCM_CREDENTIALS into .unix.pid/uid/gid/cmdline/exe */
	bool pid_from_creds; /* system(): PID is the sender's .unix.pid (3.38's rewrite) */
	/* runtime */
	int fd;
	int seq;	/* unix-dgram sequence counter */
	int err_seq;	/* parse-error messages so far (their sequenceId) */
	char *line_buf; /* stdin/file/pipe partial line */
	size_t line_len;
	long long file_off;
};

struct path_ref; /* a top-level path that a source feeds */

struct ls_source {
	char *name;
	struct ls_sdrv *drv;
	size_t n_drv;
	struct ls_path **paths; /* top-level paths fed by this source, config order */
	size_t n_paths;
	uint64_t received, dropped; /* records read; datagrams the kernel dropped */
	uint64_t delivered;	    /* messages that reached a destination */
	int tag;		    /* index of the ".source.NAME" tag */
};

/* ---- destinations ---- */
enum dst_kind {
	DST_FILE,
	DST_PIPE,
	DST_USERTTY,
	DST_UDP,
	DST_TCP,
	DST_STDOUT,
	DST_HTTP,
	DST_AMQP,
	DST_PROGRAM
};

/*
 * Flow-control window of one stream connection (syslog-ng's LogSource
 * window): every message it sends down a flags(flow-control) path takes a
 * slot until its destination wrote it (or dropped it on close). At zero
 * slots the connection is not read. Shared by queue entries, so it outlives
 * its connection until the last entry lets go.
 */
struct ls_window {
	int avail;		  /* slots left; reading pauses at 0 */
	int refs;		  /* queue entries holding a slot */
	bool gone;		  /* its connection closed: free at refs == 0 */
	struct ls_window *parent; /* an epoch's connection window (daemon.c's persist
				     tracking): slots are taken and given back there too */
};

struct ls_writer;

/*
 * The transport under a writer: plain fd calls by default; TLS sits here
 * too. write returns bytes taken (>= 0) or -errno, -EAGAIN when it would
 * block (then the loop polls w->events, POLLOUT unless the transport set
 * it). close releases the transport and the fd.
 */
struct ls_wops {
	ssize_t (*write)(struct ls_writer *w, const void *p, size_t n);
	void (*close)(struct ls_writer *w);
};

/* One queued message: its length in the writer's byte FIFO, its window. */
struct ls_qent {
	uint32_t len;
	bool disk;	       /* reliable disk-buffer(): its record awaits this write */
	struct ls_window *win; /* flow-controlled: slot to give back, else NULL */
};

/* disk-buffer() of a destination driver, as 3.38's DiskQueueOptions (-1: default). */
struct ls_dq_opts {
	bool reliable;
	long long disk_buf_size; /* bytes, at least 1 MiB */
	long long mem_buf_size;	 /* reliable: bytes (163840000) */
	long mem_buf_length;	 /* non-reliable: messages (log-fifo-size) */
	long qout_size;		 /* messages read ahead into memory (1000) */
	char *dir;		 /* where the file lives */
	double truncate_ratio;	 /* truncate-size-ratio() (0.1) */
	char *persist;		 /* persist-name() of the driver, or NULL */
};
struct ls_dqw; /* dest.c: a writer's disk-buffer state */

/*
 * A writer: one open file, pipe or socket of a destination driver and its
 * queue (syslog-ng's LogWriter + LogQueueFifo). Bytes [head, buf.len) of
 * buf are the queued messages back to back; q holds their lengths, q[0]
 * being the one at head, of which done bytes are already written. A write
 * that took N bytes moves head by exactly N, so nothing is written twice and
 * a stream resumes mid-line; a socket that is reconnected starts q[0] over
 * (the old connection's part of it is lost with that connection, never
 * half a line on the new one).
 */
struct ls_writer {
	struct ls_runtime *rt;	   /* its config's (notices, on_written), or NULL */
	char *path;		   /* file or pipe name, "ip:port" for sockets */
	int fd;			   /* -1 while closed */
	const struct ls_wops *ops; /* transport */
	void *tctx;		   /* transport state (TLS), or NULL */
	short events;		   /* poll events wanted while would-block */
	bool blocked;		   /* the last write would block */
	bool connecting;	   /* non-blocking connect() in progress */
	bool failing;		   /* an error was reported, not yet recovered */
	bool is_stream_sock;	   /* tcp socket or pipe: restart q[0] on reconnect */
	bool dgram;		   /* udp: one send() per message */
	struct ls_buf buf;	   /* queued bytes [head, tail); a message being formatted after */
	size_t tail;		   /* end of the queued bytes */
	size_t head;		   /* first unwritten byte */
	size_t done;		   /* bytes of q[0] already written */
	struct ls_qent *q;	   /* ring of queued messages */
	size_t qh, qn, qcap;	   /* ring head, count, capacity (power of two) */
	int64_t retry_ms;	   /* when a closed writer may reopen (monotonic ms) */
	struct ls_dest *dst;	   /* counters */
	struct ls_ddrv *drv;	   /* owner */
	struct ls_writer *next;	   /* the driver's other writers (file templates) */
	struct ls_dqw *dq;	   /* disk-buffer() state, or NULL */
	size_t server;		   /* failover(): index of the current server */
	int opens;		   /* failover(): connects so far (from the third one, step) */
	int probe_fd;		   /* failback(): connect probe towards the primary, or -1 */
	int probes;		   /* failback(): successful probes in a row */
	uint32_t local_msgs;	   /* local messages formatted: $SEQNUM is this + 1 */
	int64_t probe_ms;	   /* failback(): when the next probe starts (0: none) */
	struct ls_http_w *hw;	   /* http(): the worker thread and its request, or NULL */
	void *wctx;		   /* the driver's wdriver state (amqp(): its connection) */
	int pid;		   /* program(): the running child (its process group), or -1 */
	bool stopped;		   /* program(): exited 127 (not found): never restarted */
};

/*
 * A destination whose writer is not a byte stream (amqp(), dest_amqp.c;
 * http(), dest_http.c): dest.c keeps its queue, disk buffer, retries and
 * counters, and calls these instead of its own transport (through the
 * driver, which cfg.c points at the kind's table, so that dest.c does not
 * call into the kinds' files, which call dest.c's writer functions).
 * writer picks the writer a message goes to (NULL: the driver's one);
 * open connects or starts the worker (<0: dest.c reports the error and
 * retries; amqp() reports and schedules itself), flush sends what is
 * queued (idle: the loop has nothing else to do) and returns the ms until
 * it is due again or -1, event acts on the fd being readable, service
 * (NULL: none) returns the ms until it wants to be called again (-1:
 * never), free (NULL: none) drops the connection, same tells a reload
 * that two drivers are one target.
 */
struct ls_wdriver {
	struct ls_writer *(*writer)(struct ls_cfg *c, struct ls_dest *dst, struct ls_ddrv *d);
	int (*open)(struct ls_cfg *c, struct ls_writer *w);
	int (*flush)(struct ls_cfg *c, struct ls_writer *w, bool idle);
	void (*event)(struct ls_cfg *c, struct ls_writer *w);
	int (*service)(struct ls_cfg *c, struct ls_writer *w);
	void (*free)(struct ls_writer *w);
	bool (*same)(const struct ls_ddrv *a, const struct ls_ddrv *b);
};

struct ls_ddrv {
	enum dst_kind kind;
	struct ls_tmpl *path; /* file name template */
	struct ls_tmpl *tmpl; /* line template (NULL = default or syslog format) */
	char ip[64];
	int port;
	int perm, dir_perm;
	int create_dirs;	   /* -1 = global option */
	bool syslog_proto;	   /* syslog(): RFC 5424 framing */
	struct ls_tmpl_opts topts; /* ts-format, frac-digits, time-zone, template-escape */
	struct ls_tls *tls;	   /* TLS destination (its sessions live in the writers), or NULL */
	long fifo_size;		   /* log-fifo-size(): queue bound in messages, -1 = global */
	int time_reopen;	   /* time-reopen() in seconds, -1 = global */
	struct ls_writer *files;   /* writers: one per file name, or the socket */
	int fd;			   /* unused (kept for cfg.c) */
	long long last_fail;	   /* unused */
	char *persist;		   /* unused */
	struct ls_dq_opts *dq;	   /* disk-buffer(), or NULL */
	char **servers;		   /* failover(): the primary (ip), then servers() */
	size_t n_servers;	   /* 0: no failover() */
	bool failback;		   /* failback(): probe the primary, return to it */
	int probe_interval;	   /* tcp-probe-interval() seconds (60) */
	int probes_required;	   /* successful-probes-required() (3) */
	uint64_t processed, written, dropped; /* this driver's share of the counters */
	struct ls_http *http;		      /* http(): its options (dest_http.c), or NULL */
	struct ls_amqp *amqp;		      /* amqp(): its options (dest_amqp.c), or NULL */
	const struct ls_wdriver *wd;	      /* its writer's transport, or NULL (a byte stream) */
	char *cmd;			      /* program(): the command line for /bin/sh -c */
	bool keep_alive;  /* program(): keep-alive(yes): the child outlives a reload */
	bool inherit_env; /* program(): inherit-environment() (yes) */
};

struct ls_dest {
	char *name;
	struct ls_ddrv *drv;
	size_t n_drv;
	uint64_t processed;	   /* messages routed to it */
	uint64_t written, dropped; /* written whole; dropped (queue full or lost at exit) */
	uint64_t failed;	   /* open/connect/write errors */
	uint64_t refused;	   /* expanded file names refused by fpath.c */
	bool flow;		   /* some flags(flow-control) path feeds it */
};

/* ---- rewrite rules (rewrite.c runs them; cfg.c builds them) ---- */
enum rw_kind { RW_SET, RW_UNSET, RW_SUBST, RW_SET_TAG, RW_CLEAR_TAG, RW_GROUPSET, RW_GROUPUNSET };

/* One rewrite operation, as 3.38's LogRewrite subclasses. */
struct ls_rwop {
	enum rw_kind kind;
	char *value;		   /* value(): the name changed ("MESSAGE" by default) */
	struct ls_tmpl *tmpl;	   /* set()'s value, subst()'s replacement, groupset()'s template */
	struct ls_tmpl_opts topts; /* set(): template options (global ones inherited) */
	struct fnode *matcher;	   /* subst(): pattern, type() and flags() */
	int tag;		   /* set-tag()/clear-tag(): a literal name's tag id, else -1
				      and tmpl names the tag per message */
	char **globs;		   /* groupset()/groupunset(): values() patterns */
	size_t n_globs;
	struct ls_filter *cond; /* condition(), or NULL */
	const char *file;	/* location of the operation */
	int line, col;
};

/* rewrite NAME { ops }; or an inline rewrite { ops }; in a log path. */
struct ls_rewrite {
	char *name; /* "r_name" or "#anon-rewriteN" */
	struct ls_rwop *ops;
	size_t n_ops;
	const char *file;
	int line, col;
};

/* glib's g_pattern_match_string(): '*' any run, '?' one UTF-8 character. */
bool ls_glob_match(const char *pattern, const char *s);
/* Run rule r on m (rule lines and per-operation lines on t when tracing);
 * a tag id past what a message carries is 3.38's error line on rt. */
void ls_rewrite_run(const struct ls_rewrite *r, struct ls_msg *m, struct ls_trace *t,
		    struct ls_runtime *rt);
void ls_rewrite_free(struct ls_rewrite *r);

/* ---- parsers (parser.c runs them; cfg.c builds them) ---- */
/* Called with each name and value a scanner found (v NUL-ended, n its length). */
typedef void (*ls_pair_fn)(void *ctx, const char *name, const char *v, size_t n);

enum { LS_CSV_STRIP = 1, LS_CSV_GREEDY = 2 }; /* csv scanner flags, as 3.38's */
enum { LS_CSV_ESC_NONE, LS_CSV_ESC_BACKSLASH, LS_CSV_ESC_DOUBLE };

/* csv-parser()'s scanner options (3.38's CSVScannerOptions). */
struct ls_csv_opts {
	char **cols; /* columns(): the names, in order */
	size_t n_cols;
	char *delims;	/* delimiters(chars()): one byte each (" ") */
	char **sdelims; /* delimiters(strings()), tried first */
	size_t n_sdelims;
	char *qstart, *qend; /* quote-pairs(): opening and closing bytes, same index */
	char *null;	     /* null(): a value equal to it becomes empty, or NULL */
	unsigned flags;	     /* LS_CSV_STRIP (the default) | LS_CSV_GREEDY */
	int dialect;	     /* LS_CSV_ESC_* */
};

/*
 * kv-parser() as 3.38's kv-scanner: each "key=value" of input (a key is
 * [A-Za-z0-9_.-]+, value quoted with ' or " or up to the pair separator) to
 * fn. input is NUL-ended; vsep the value separator, psep the pair separator.
 */
void ls_kv_scan(const char *input, char vsep, const char *psep, ls_pair_fn fn, void *ctx);
/* csv-parser() as 3.38's csv-scanner: one value per column to fn. True when
 * every column got a value and the input was used up (drop-invalid's test). */
bool ls_csv_scan(const struct ls_csv_opts *o, const char *input, ls_pair_fn fn, void *ctx);

enum ps_kind { PS_KV, PS_CSV, PS_JSON, PS_REGEXP, PS_DATE, PS_SYSLOG };

/* One parser of a parser rule; rules of several parsers chain by next. */
struct ls_parser {
	enum ps_kind kind;
	char *name;	      /* the rule's name: "p_name" or "#anon-parserN" */
	struct ls_tmpl *tmpl; /* template(): the input, NULL = $MESSAGE */
	char *prefix;	      /* prefix() of the names it sets, or NULL */
	char vsep;	      /* kv: value-separator() ('=') */
	char *psep;	      /* kv: pair-separator() (", ") */
	struct ls_csv_opts csv;
	bool drop_invalid; /* csv: drop-invalid() or flags(drop-invalid) */
	char *marker;	   /* json: marker() before the JSON, or NULL */
	char *extract;	   /* json: extract-prefix() dot notation, or NULL */
	char json_delim;   /* json: key-delimiter() between nested names ('.') */
	struct fnode **re; /* regexp: patterns(), compiled, tried in order */
	size_t n_re;
	char **fmts; /* date: format()s, tried in order ("%FT%T%z" by default) */
	size_t n_fmts;
	char *date_tz; /* date: time-zone() for input without an offset, or NULL */
	/* date_tz resolved, in the config's zone table */
	const struct ls_tz *date_zone;
	bool date_recvd; /* date: time-stamp(recvd) instead of stamp */
	/* syslog: the source parser's flags() and default-priority()/
	 * default-facility(), time-zone() in date_tz; bad-hostname() of the
	 * config's options (set with the zones) */
	unsigned sys_flags;
	int sys_default_pri;
	const void *sys_bad_hostname;
	const char *file; /* location of the parser */
	int line, col;
	struct ls_parser *next;
};

/*
 * json.c: json-parser() over input[0..len) (NUL-ended): fn gets each
 * name (prefix included) and value, or a NULL value for a name to unset
 * ($0 and the matches past a top-level array's). False when the marker is
 * missing, the JSON does not parse or extract-prefix() finds no object or
 * array: the message leaves the path, as in 3.38.
 */
bool ls_json_scan(const struct ls_parser *p, const char *input, size_t len, ls_pair_fn fn,
		  void *ctx);

/*
 * datep.c: date-parser() as 3.38's. ls_datep_check: 0, or -1 with *bad
 * the conversion character of fmt logsift does not read (refused at
 * start-up). ls_datep_parse: the first of the formats the whole input
 * fits, as Unix seconds, microseconds and the UTC offset (the input's,
 * else zone's at recv_sec, else the local zone's through the cache local,
 * which may be NULL); false when none fits.
 */
int ls_datep_check(const char *fmt, char *bad);
bool ls_datep_parse(const char *const *formats, size_t n_formats, const struct ls_tz *zone,
		    struct ls_tz_span *local, const char *input, int64_t recv_sec, int64_t *sec,
		    int *usec, int *gmtoff);

/* rewrite.c: a match's named groups (3.38's feed_named_substrings): fn
 * gets each set one's name and value, v the subject ov indexes. */
void ls_re_named(const struct fnode *mt, const char *v, const PCRE2_SIZE *ov, int rc, ls_pair_fn fn,
		 void *ctx);

/* Run one parser on m: false when the message is dropped from the path.
 * local: the runtime's local-zone cache (date-parser()), or NULL. */
bool ls_parser_run(const struct ls_parser *p, struct ls_msg *m, struct ls_trace *t,
		   struct ls_tz_span *local);
void ls_parser_free(struct ls_parser *p);

/* ---- log paths ---- */
enum el_kind { EL_SOURCE, EL_FILTER, EL_DEST, EL_JUNCTION, EL_REWRITE, EL_PARSER };

struct ls_path;

struct ls_elem {
	enum el_kind kind;
	char *ref; /* referenced name until resolved */
	const char *file;
	int line, col;
	struct ls_source *src;
	struct ls_filter *flt;
	struct ls_dest *dst;
	struct ls_rewrite *rw; /* rewrite rule */
	struct ls_parser *ps;  /* parser rule (its first parser) */
	struct ls_path **br;   /* junction branches */
	size_t n_br;
};

enum path_flags {
	PF_FINAL = 1,
	PF_FALLBACK = 2,
	PF_CATCHALL = 4,
	PF_FLOW_CONTROL = 8,
	PF_DROP_UNMATCHED = 16,
};

struct ls_path {
	struct ls_elem *el;
	size_t n_el;
	unsigned flags; /* enum path_flags (with children's flags folded in) */
	const char *file;
	int line, col;
	uint64_t matched;
	int index; /* 1-based among all paths, for traces */
};

/* ---- the configuration ---- */
struct ls_opts {
	int keep_hostname, chain_hostnames, use_dns, use_fqdn, dns_cache, create_dirs;
	int keep_timestamp; /* keep-timestamp(), yes by default */
	char *recv_tz;	    /* recv-time-zone(), or NULL */
	/* recv_tz resolved, in the zone table */
	const struct ls_tz *recv_zone;
	struct ls_tmpl_opts topts; /* global ts-format, frac-digits, send-time-zone */
	size_t log_msg_size;
	int flush_lines, stats_freq;
	long log_fifo_size; /* destination queue bound, messages (10000) */
	int time_reopen;    /* seconds before a failed destination is retried (60) */
	int log_iw_size;    /* source flow-control window, messages (100) */
	int perm, dir_perm;
	pcre2_code *bad_hostname; /* bad-hostname(): words never taken as HOST */
	char *owner, *group;	  /* owner()/group() of created files, or NULL */
};

/* A template object: template NAME { template("..."); template-escape(yes); }; */
struct ls_named_tmpl {
	char *name;
	char *text;  /* the template() string ("" when it has none) */
	bool escape; /* template-escape(yes) */
};

struct ls_cfg {
	/* the process's runtime (destination notices and hooks), set by the
	 * daemon; NULL: notices go nowhere (tests, --syntax-only) */
	struct ls_runtime *rt;
	int version;		     /* major * 100 + minor, e.g. 338 */
	struct ls_named_tmpl *ntmpl; /* template objects, in definition order */
	size_t n_ntmpl;
	struct ls_opts o;
	struct ls_source **src;
	size_t n_src;
	struct ls_dest **dst;
	size_t n_dst;
	struct ls_filter **flt;
	size_t n_flt;
	struct ls_rewrite **rw; /* rewrite rules, named and inline */
	size_t n_rw;
	struct ls_parser **ps; /* parser rules (first parser of each), named and inline */
	size_t n_ps;
	bool mutates;		/* some path rewrites or parses: branches get their own copy */
	struct ls_path **paths; /* top-level log statements */
	size_t n_paths;
	struct ls_path **all_paths; /* every path incl. nested, for stats */
	size_t n_all_paths;
	/* the tag registry the config's ids are from: own_tags, or a running
	 * daemon's (ls_cfg_load_tags, ls_runtime_adopt) */
	struct ls_tagtab *tags;
	struct ls_tagtab own_tags;
	char **files; /* file names that locations point to */
	size_t n_files;
	char **warnings;
	size_t n_warnings;
	/* the zones the options name (time-zone() and kin), each opened once
	 * at load (tzfile.h) and shared by the structs that name them */
	struct ls_cfg_zone {
		char *name;	  /* as written in the option */
		struct ls_tz *tz; /* opened by ls_tz_open */
	} * zones;
	size_t n_zones;
	int anon[6]; /* #anon-source/-filter/-destination/-log/-rewrite/-parser counters */
	uint64_t center_received; /* syslog-ng's center;;received (reset on its own) */
	uint64_t center_queued;	  /* center;;queued: messages routed to destinations */
};

/* Tag id of name in the config's registry (registered if new; 0 when full). */
int ls_cfg_tag(struct ls_cfg *c, const char *name);
void ls_cfg_warn(struct ls_cfg *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* filter.c */
/* Free one node, not its children: a filter frees all of its nodes. */
void ls_fnode_free(struct fnode *n);
/* Compile a match() pattern; 0 or -EINVAL with syslog-ng's message in e. */
int ls_fnode_compile(struct fnode *n, struct ok_err *e);
/* Evaluate a node (no rule lines), printing node lines when t is active. */
bool ls_fnode_eval(const struct fnode *n, struct ls_msg *m, struct ls_trace *t);
/* Parse "a.b.c.d/len" or "/mask", "addr/prefix" for IPv6; 0 or -EINVAL. */
int ls_netmask_parse(struct fnode *n, const char *s, bool v6);

/* dest.c: writers, queues and transports */
/* The writer of d for path (a file name, or NULL for its socket); made if new. */
struct ls_writer *ls_writer_get(struct ls_cfg *c, struct ls_dest *dst, struct ls_ddrv *d,
				const char *path);
/* Queue the bytes formatted at w->buf from w->tail on as one message:
 * accepted (1), or dropped and counted (0) when the queue is full and win is
 * NULL (a flow-controlled message is never dropped: its window bounds the
 * queue). Writes at once when the batch is large. */
int ls_writer_commit(struct ls_cfg *c, struct ls_writer *w, struct ls_window *win);
/* Free every writer of d (queued messages are dropped, windows released). */
void ls_writers_free(struct ls_ddrv *d);
/* Open a file or pipe destination's fd: fd or -errno. */
int ls_file_open(struct ls_cfg *c, struct ls_ddrv *d, const char *path);
/* Give one window slot back (an entry written or dropped). */
void ls_window_release(struct ls_window *w);
/* Monotonic milliseconds. */
int64_t ls_now_ms(void);
/* Open the writers of drivers with a disk-buffer(), so that what a previous
 * run left on disk is sent without waiting for a new message. 0, or -1 with
 * e naming the first destination whose disk-buffer file could not be opened
 * (3.38 does not start then: "Error initializing log queue"; on a reload
 * the caller keeps going and says that destination runs without it). */
int ls_dest_start(struct ls_cfg *c, struct ok_err *e);
/* Messages w holds: its FIFO plus, with a disk-buffer, the file's unread
 * records and the overflow (syslog-ng's "queued"). */
size_t ls_writer_queued(const struct ls_writer *w);
/* Retire the first n queued messages of w whole: written (counted, disk
 * records acknowledged) or dropped (counted; their records acknowledged
 * too, so that they are not sent again). For writers that learn the fate
 * of a batch later than its write (http()). */
void ls_writer_retire(struct ls_writer *w, size_t n, bool written);

/*
 * dest_http.c: the http() destination (3.38's modules/http over libcurl;
 * design notes in the file). cfg.c: ls_http_new, then ls_http_opt for
 * every option (0; 1 with a warning in err, as 3.38 warns; -EINVAL with
 * err saying why; -ENOENT for a name http() does not have), then
 * ls_http_check once (defaults, https wherever TLS is configured).
 * route.c: ls_http_writer picks the worker (round robin) and
 * ls_http_format writes the message's queue entry. dest.c: ls_http_open
 * starts a writer's worker thread (its eventfd becomes w->fd),
 * ls_http_send posts the next batch when one is due (idle: the loop has
 * nothing else to do, so a partial batch may go; returns ms until its
 * batch-timeout() or -1), ls_http_event applies a finished request.
 * dest.c reaches those through ls_http_wdriver (struct ls_wdriver), which
 * cfg.c puts in the driver (d->wd).
 */
struct ls_http;
struct ls_http_w;
struct ls_http *ls_http_new(void);
void ls_http_free(struct ls_http *h);
int ls_http_opt(struct ls_http *h, const char *name, const char *const *vals, size_t n, char *err,
		size_t errlen);
int ls_http_check(struct ls_http *h, int time_reopen_s, char *err, size_t errlen);
bool ls_http_same(const struct ls_http *a, const struct ls_http *b);
struct ls_writer *ls_http_writer(struct ls_cfg *c, struct ls_dest *dst, struct ls_ddrv *d);
void ls_http_format(const struct ls_ddrv *d, const struct ls_msg *m, struct ls_buf *out);
int ls_http_open(struct ls_writer *w);
int ls_http_send(struct ls_cfg *c, struct ls_writer *w, bool idle);
void ls_http_event(struct ls_cfg *c, struct ls_writer *w);
extern const struct ls_wdriver ls_http_wdriver;
/* The destination took the writer's first messages whole (bytes of them): they leave the queue
 * as written (counted, disk records acknowledged, windows released). */
void ls_writer_advance(struct ls_writer *w, size_t bytes);
/* The writer's first message leaves the queue as dropped (counted; its
 * disk record acknowledged: it can never be written). */
void ls_writer_drop_head(struct ls_writer *w);

/*
 * dest_amqp.c: the amqp() destination (syslog-ng 3.38's afamqp over
 * librabbitmq, loaded on first use, plus publisher confirms; the file's
 * header has the design). Options: ls_amqp_new (NULL with err when
 * librabbitmq cannot be loaded), then ls_amqp_opt_set per amqp() option
 * (tls() members included) and ls_amqp_vp_reset + ls_amqp_vp_set per
 * value-pairs() member: 0, -ENOENT (a name amqp() does not have), -EINVAL
 * (a bad value) or -ENOTSUP (3.38 has it, logsift does not), err filled;
 * ls_amqp_check when all are in (refusals that need all of them).
 */
struct ls_amqp;
struct ls_amqp *ls_amqp_new(const char *file, int line, char *err, size_t errlen);
int ls_amqp_opt_set(struct ls_amqp *a, const char *name, const char *const *vals, size_t n,
		    char *err, size_t errlen);
int ls_amqp_vp_reset(struct ls_amqp *a);
int ls_amqp_vp_set(struct ls_amqp *a, const char *name, const char *const *vals, size_t n,
		   char *err, size_t errlen);
int ls_amqp_check(struct ls_amqp *a, char *err, size_t errlen);
void ls_amqp_free(struct ls_amqp *a);
const char *ls_amqp_host(const struct ls_amqp *a);
int ls_amqp_port(const struct ls_amqp *a);
/* The driver's stats instance as 3.38's afamqp_dd_format_stats_instance:
 * "amqp,VHOST,HOST,PORT,EXCHANGE,EXCHANGE-TYPE". */
void ls_amqp_stats_instance(const struct ls_amqp *a, char *buf, size_t n);
/* m as one queued record (routing key, headers, body) appended to out. */
void ls_amqp_format(struct ls_ddrv *d, const struct ls_msg *m, struct ls_buf *out);
/* 0 when p[0..len) is a whole record (then, when out is not NULL, "KEY\n",
 * "NAME=VALUE\n" per header and the body are appended to it), -EINVAL when
 * not: what publishing a damaged disk-buffer record checks first. */
int ls_amqp_record_check(const char *p, size_t len, struct ls_buf *out);
/* The writer side for dest.c: connect (or fail and schedule the retry),
 * publish from the queue, take confirms, keep heartbeats, disconnect. */
extern const struct ls_wdriver ls_amqp_wdriver;

/* fpath.c */
/*
 * 0 when the expanded file name path (from d's name template, for m) may
 * be opened; -EPERM when it is refused (".." components, NUL, a relative
 * template made absolute): the caller skips the write and counts it in
 * dst->refused; the refusal is printed to rt->notices and queued in
 * rt->pending_internal for internal() sources.
 */
int ls_fpath_check(const struct ls_dest *dst, const struct ls_ddrv *d, const struct ls_msg *m,
		   const struct ls_buf *path, struct ls_runtime *rt);

/*
 * tls.c: TLS as syslog-ng 3.38's tls() block, over OpenSSL. Options are
 * collected with ls_tls_opt_set (0, or -EINVAL/-ENOTSUP with err filled:
 * an option logsift does not implement is refused, never ignored), then
 * ls_tls_new loads keys, certificates, CAs and CRLs (0 or an error line).
 * A connection wraps a connected non-blocking socket: read/write run the
 * handshake first and return bytes, 0 at the end (read), -EAGAIN when the
 * socket would block in the direction ls_tls_want() gives (POLLIN or
 * POLLOUT), or another negative errno with ls_tls_error() saying why
 * (certificate subject, peer and reason for verification failures).
 */
struct ls_tls_conn;
/* Load the TLS module from path first (NULL or "": the default places). */
void ls_tls_set_module(const char *path);
/* NULL when the TLS module (tls_mod.c) cannot be loaded: ls_tls_load_error() says why. */
struct ls_tls *ls_tls_opts_new(bool server, const char *file, int line);
const char *ls_tls_load_error(void);
int ls_tls_opt_set(struct ls_tls *t, const char *name, const char *const *vals, size_t n, char *err,
		   size_t errlen);
int ls_tls_new(struct ls_tls *t, char *err, size_t errlen);
void ls_tls_free(struct ls_tls *t);
/* peer: "addr:port" for messages; host: the name a server certificate must match (client). */
struct ls_tls_conn *ls_tls_conn_new(const struct ls_tls *t, int fd, const char *peer,
				    const char *host);
int ls_tls_handshake(struct ls_tls_conn *c);
ssize_t ls_tls_read(struct ls_tls_conn *c, void *buf, size_t n);
ssize_t ls_tls_write(struct ls_tls_conn *c, const void *buf, size_t n);
int ls_tls_want(const struct ls_tls_conn *c);
const char *ls_tls_error(const struct ls_tls_conn *c);
void ls_tls_conn_free(struct ls_tls_conn *c);
/* The digest called name (OpenSSL's names: md5, sha1, sha256, ...) and its
 * size in bytes, or NULL (unknown, or the module cannot be loaded). */
const void *ls_tls_md(const char *name, int *size);
/* md's digest of p[0..n) into out (64 bytes); its length in bytes. */
unsigned ls_tls_digest(const void *md, const void *p, size_t n, unsigned char *out);

/* framer.c: stream records as 3.38 cuts them (see the file's header). */
struct ls_frame_opts {
	bool framed;	  /* syslog() on a stream: RFC 6587 octet counting only */
	bool empty_lines; /* flags(empty-lines): keep empty records */
	bool eof;	  /* no more input: the rest is a record */
	size_t max;	  /* log-msg-size() */
};
/*
 * The next record of buf[0..len): returns the bytes it used (0 = need more
 * input) with rec and rec_len set (rec NULL: nothing to deliver, e.g. an
 * empty line), or a negative errno after a framing error (err says what;
 * the connection must be closed).
 */
ssize_t ls_frame_next(const char *buf, size_t len, const struct ls_frame_opts *o, const char **rec,
		      size_t *rec_len, char *err, size_t errlen);

/*
 * tfunc.c: template functions as 3.38's basicfuncs/cryptofuncs. The
 * compiler (msg.c) gives ls_tf_prepare the raw argument list (argv[0] the
 * name): options are parsed there; the indices of the arguments to compile
 * as templates come back in pos[0..*npos) (pos has room for argc). NULL
 * with err filled: unknown function, one logsift lacks, bad option. Then
 * ls_tf_call gets the formatted arguments and appends the result.
 */
struct ls_tf;
int ls_tf_lookup(const char *name);
struct ls_tf *ls_tf_prepare(int argc, char **argv, int *pos, int *npos, char *err, size_t errlen);
void ls_tf_call(const struct ls_tf *f, int argc, const struct ls_buf *argv, struct ls_buf *out);
void ls_tf_free(struct ls_tf *f);
/* 1 for $(if), 2 for $(grep), else 0: their first argument (pos[0]) is a
 * filter expression the compiler compiles, and they need the message, so
 * the compiler (msg.c) evaluates them, not ls_tf_call. */
int ls_tf_cond(const struct ls_tf *f);

/*
 * vp.c: value-pairs and $(format-json) as 3.38's. ls_vp_prepare takes the
 * function's raw argument list (argv[0] "format-json"): NULL with err
 * filled (or e, for a --pair template that does not compile; then err is
 * empty) on a bad option or a 3.38 feature logsift lacks.
 * ls_vp_format_json appends m's JSON object (nothing when a type hint's
 * cast fails: on-error(drop-message)).
 * Templates hold format-json and format-json holds templates: vp.c reaches
 * the template engine and the message's names through host (msg.c's
 * table), so that the two files do not call each other.
 */
struct ls_vp;
struct ls_vp_host {
	struct ls_tmpl *(*tmpl_new)(const char *text, struct ok_err *e);
	void (*tmpl_free)(struct ls_tmpl *t);
	void (*tmpl_format)(const struct ls_tmpl *t, const struct ls_msg *m,
			    const struct ls_tmpl_opts *o, struct ls_buf *out);
	bool (*macro_known)(const char *name);
	const char *(*get_name)(const struct ls_msg *m, const char *name, size_t *n);
	size_t (*names)(const struct ls_msg *m, const char **names, size_t max);
};
struct ls_vp *ls_vp_prepare(int argc, char **argv, const struct ls_vp_host *host, struct ok_err *e,
			    char *err, size_t errlen);
void ls_vp_format_json(const struct ls_vp *vp, const struct ls_msg *m, const struct ls_tmpl_opts *o,
		       struct ls_buf *out);
void ls_vp_free(struct ls_vp *vp);
/*
 * 3.38's value_pairs_foreach (what amqp() makes its headers from): fn gets
 * each chosen pair of m, renamed, in ascending strcmp order of the names,
 * a name once (the last value set wins); v is not NUL-ended.
 */
void ls_vp_foreach(const struct ls_vp *vp, const struct ls_msg *m, const struct ls_tmpl_opts *o,
		   void (*fn)(void *ctx, const char *name, const char *v, size_t n), void *ctx);
/*
 * 3.38's append_unsafe_utf8_as_escaped_text (binary false: what
 * format-json writes) or _binary (true: what str-repr encodes lists with):
 * s[0..n) with controls, a backslash, the bytes of unsafe and invalid
 * UTF-8 escaped.
 */
void ls_utf8_escape(struct ls_buf *out, const char *s, size_t n, const char *unsafe, bool binary);
/*
 * 3.38's str_repr_decode of one list element at s (',' the delimiter): its
 * decoded value into v (replaced), or for a broken one (an open quote,
 * junk after the closing one) the raw text the decoder read. Returns
 * where the next element starts (past the ',').
 */
const char *ls_list_elem(const char *s, struct ls_buf *v);
/*
 * 3.38's str_repr_encode_append: s[0..n) (NUL-ended at or after n) as it
 * is, or quoted when empty, when it holds a quote, an apostrophe, a
 * control of \b\f\n\r\t, a backslash, a space or a byte of forbidden
 * (NULL: none): in the quote it does not hold ("..." with \" when it
 * holds both), escaped as binary.
 */
void ls_str_repr_encode(struct ls_buf *out, const char *s, size_t n, const char *forbidden);
/*
 * msg.c's reach into the filters for $(if) and $(grep), so that msg.c and
 * the filter files do not call each other: compile a filter expression
 * (NULL when it does not parse), evaluate it on a message, free it. cfg.c
 * sets it (ctx its config) while it parses; outside that the two
 * functions are refused.
 */
struct ls_tmpl_cond_host {
	void *(*compile)(void *ctx, const char *expr, struct ok_err *e);
	bool (*eval)(const void *flt, struct ls_msg *m);
	void (*free)(void *flt);
};
/* h must outlive the templates compiled under it; ctx goes to compile. */
void ls_tmpl_set_cond_host(const struct ls_tmpl_cond_host *h, void *ctx);
/* True when a "$NAME" of this 3.38 macro is something logsift can expand. */
bool ls_tmpl_macro_known(const char *name);

/* daemon.c / route.c helpers */
void ls_source_prepare(struct ls_cfg *c, struct ls_source *s, struct ls_sdrv *d, struct ls_msg *m,
		       struct ls_runtime *rt);

/* ---- persist file (persist.c; format and crash rules there) ---- */
struct ls_pst_ent {
	char *path;	   /* the file() source's file */
	uint64_t dev, ino; /* its st_dev, st_ino when the offset was taken */
	uint64_t off;	   /* bytes before the first line not yet delivered */
};
struct ls_pst {
	struct ls_pst_ent *e;
	size_t n;
};
/* Parse a persist file's bytes (name for messages) into *p (freed on
 * error). 0, or -EINVAL with e naming the line and what was expected. */
int ls_pst_parse(const char *data, size_t len, const char *name, struct ls_pst *p,
		 struct ok_err *e);
/* Load path into *p: PATH.now when it is there and whole, else path: 0 (an
 * absent file is empty state) or a negative errno with e filled (a damaged
 * path: the line and what was expected). */
int ls_pst_load(const char *path, struct ls_pst *p, struct ok_err *e);
/* p's bytes in the file format, appended to out. */
void ls_pst_format(const struct ls_pst *p, struct ls_buf *out);
/* Replace path by p: PATH.tmp written and fsynced, renamed over path, the
 * directory fsynced. 0 or a negative errno with e filled. */
int ls_pst_save(const char *path, const struct ls_pst *p, struct ok_err *e);
/* Rewrite PATH.now in place with p (one pwrite from offset 0, ftruncate when
 * shorter than *len; no fsync): what a kill -9 leaves is the last call's
 * state. *fd is opened on first use (-1 before); *len tracks its size.
 * 0 or a negative errno. */
int ls_pst_save_now(const char *path, int *fd, size_t *len, const struct ls_pst *p);
/* The entry for path, or NULL. */
struct ls_pst_ent *ls_pst_find(struct ls_pst *p, const char *path);
/* Set (add or update) path's entry; NULL when out of memory or entries. */
struct ls_pst_ent *ls_pst_set(struct ls_pst *p, const char *path, uint64_t dev, uint64_t ino,
			      uint64_t off);
void ls_pst_free(struct ls_pst *p);

#endif
