/*
 * route.c: log paths and destinations.
 *
 * Routing is syslog-ng's LogMultiplexer: each source feeds the top-level
 * log paths that name it (and catchall paths) in config order. For every
 * path: matched = true; run its elements; a filter that rejects sets
 * matched = false and stops the path. A matched path with flags(final)
 * stops the later paths; flags(fallback) paths run only when no other path
 * matched. Nested log statements and junction{} are forks: each branch is a
 * path with the same final/fallback rules, and elements after a junction
 * run once for every branch that reached its end (fork and join). A
 * junction with nothing after it reports "not matched" to its parent when
 * no branch matched.
 *
 * Destinations: file() and pipe() with a path template (opened on demand,
 * create-dirs, perm), usertty(), udp()/tcp()/network()/syslog()
 * forwarding. Writes are buffered per file and flushed when the daemon is
 * idle, on flush-lines, on SIGTERM; a failed write is counted, reported once
 * and retried (the buffer is kept) so messages are not lost while we live.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "ls_int.h"

void ls_runtime_init(struct ls_runtime *rt)
{
	memset(rt, 0, sizeof *rt);
	if (gethostname(rt->hostname, sizeof rt->hostname - 1) < 0)
		strcpy(rt->hostname, "localhost");
	rt->self_pid = (int)getpid();
}

void ls_runtime_free(struct ls_runtime *rt)
{
	ls_buf_free(&rt->pending_internal);
	for (size_t i = 0; i < sizeof rt->def_tmpl / sizeof rt->def_tmpl[0]; i++) {
		ls_tmpl_free(rt->def_tmpl[i]);
		rt->def_tmpl[i] = NULL;
	}
	free(rt->reap);
	rt->reap = NULL;
	rt->n_reap = rt->cap_reap = 0;
	ls_tags_free(&rt->tags);
}

void ls_runtime_adopt(struct ls_runtime *rt, struct ls_cfg *c)
{
	c->rt = rt;
	if (c->tags == &rt->tags)
		return;
	if (rt->tags.n == 0) {
		/* the run's first config: its ids become the run's */
		ls_tags_free(&rt->tags);
		rt->tags = c->own_tags;
		memset(&c->own_tags, 0, sizeof c->own_tags);
		c->tags = &rt->tags;
	}
	/* else c was parsed on its own registry next to a running one: it
	 * keeps its own (its ids mean nothing in rt's) */
}

void ls_runtime_release(struct ls_runtime *rt, struct ls_cfg *c)
{
	c->rt = NULL;
	if (c->tags != &rt->tags)
		return;
	ls_tags_free(&c->own_tags);
	c->own_tags = rt->tags;
	memset(&rt->tags, 0, sizeof rt->tags);
	c->tags = &c->own_tags;
}

/* Host name for a sender: the local name for unix senders, else DNS or IP. */
static void resolve_host(struct ls_cfg *c, const struct ls_sdrv *d, const struct ls_msg *m,
			 struct ls_runtime *rt, char *out, size_t n)
{
	int use_dns = d->use_dns >= 0 ? d->use_dns : c->o.use_dns;
	if (m->saddr.ss_family != AF_INET && m->saddr.ss_family != AF_INET6) {
		snprintf(out, n, "%s", rt->hostname);
		if (!c->o.use_fqdn) {
			char *dot = strchr(out, '.');
			if (dot)
				*dot = 0;
		}
		return;
	}
	if (use_dns) {
		/* the one-entry cache in rt (dns-cache(no) turns it off) */
		socklen_t len = m->saddr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
							      : sizeof(struct sockaddr_in6);
		struct sockaddr_storage key = m->saddr;
		if (key.ss_family == AF_INET)
			((struct sockaddr_in *)&key)->sin_port = 0;
		else
			((struct sockaddr_in6 *)&key)->sin6_port = 0;
		if (!(rt->dns_have && c->o.dns_cache && !memcmp(&key, &rt->dns_addr, len))) {
			char host[256];
			if (getnameinfo((const struct sockaddr *)&key, len, host, sizeof host, NULL,
					0, NI_NAMEREQD) != 0)
				ls_addr_str(&m->saddr, host, sizeof host);
			snprintf(rt->dns_name, sizeof rt->dns_name, "%s", host);
			rt->dns_addr = key;
			rt->dns_have = true;
		}
		snprintf(out, n, "%s", rt->dns_name);
		if (!c->o.use_fqdn) {
			char *dot = strchr(out, '.');
			/* an IP address is not shortened */
			struct in6_addr tmp;
			if (dot && inet_pton(AF_INET, out, &tmp) != 1 &&
			    inet_pton(AF_INET6, out, &tmp) != 1)
				*dot = 0;
		}
		return;
	}
	ls_addr_str(&m->saddr, out, n);
}

/* HOST_FROM, HOST (keep-hostname), SOURCE, overrides: syslog-ng's LogSource. */
void ls_source_prepare(struct ls_cfg *c, struct ls_source *s, struct ls_sdrv *d, struct ls_msg *m,
		       struct ls_runtime *rt)
{
	char host[256];
	resolve_host(c, d, m, rt, host, sizeof host);
	ls_msg_set(m, LS_HOST_FROM, host, strlen(host));
	size_t hl;
	ls_msg_get(m, LS_HOST, &hl);
	int keep = d->keep_hostname >= 0 ? d->keep_hostname : c->o.keep_hostname;
	if (!keep || !hl) {
		if (c->o.chain_hostnames) {
			/* 3.38's log_source_mangle_hostname: "orig/relay", "relay/relay"
			 * without a host, "source@host" for local input; internal()
			 * messages keep the plain name. $HOST shows the first name,
			 * $FULLHOST and the default file line the whole chain. */
			struct ls_buf chain = {0};
			size_t ol;
			const char *orig = ls_msg_get(m, LS_HOST, &ol);
			if (d->kind == SRC_INTERNAL)
				ls_buf_addf(&chain, "%s", host);
			else if (d->pflags & LS_P_LOCAL)
				ls_buf_addf(&chain, "%s@%s", s->name, host);
			else if (!ol)
				ls_buf_addf(&chain, "%s/%s", host, host);
			else
				ls_buf_addf(&chain, "%.*s/%s", (int)ol, orig, host);
			/* 3.38 builds it in a 256-byte buffer */
			ls_msg_set(m, LS_HOST, chain.p, chain.len < 255 ? chain.len : 255);
			ls_buf_free(&chain);
			m->chained_host = true;
		} else {
			ls_msg_set(m, LS_HOST, host, strlen(host));
		}
	}
	if ((d->keep_timestamp >= 0 ? d->keep_timestamp : c->o.keep_timestamp) == 0) {
		m->stamp_sec = m->recv_sec; /* keep-timestamp(no): the receive time */
		m->stamp_usec = m->recv_usec;
		m->stamp_gmtoff = m->recv_gmtoff;
	}
	if (d->host_override)
		ls_msg_set(m, LS_HOST, d->host_override, strlen(d->host_override));
	if (d->program_override) {
		ls_msg_set(m, LS_PROGRAM, d->program_override, strlen(d->program_override));
		m->f[LS_LEGACY_MSGHDR].set = false;
	}
	ls_msg_set(m, LS_SOURCE, s->name, strlen(s->name));
	/* ids of config-time names: the first ones given out, within what a
	 * message carries unless a config names thousands of tags */
	for (size_t i = 0; i < d->n_tags; i++)
		ls_msg_tag(m, d->tags[i], true);
	if (s->tag >= 0)
		ls_msg_tag(m, s->tag, true);
}

/* ------------------------------------------------------------ destinations */

/* A syslog() header field as 3.38's log_writer_append_value: up to the first space, "-" when empty.
 */
static void proto_field(struct ls_buf *out, const struct ls_msg *m, enum ls_field f)
{
	size_t n;
	const char *v = ls_msg_get(m, f, &n);
	const char *sp = memchr(v, ' ', n);
	if (sp)
		n = (size_t)(sp - v);
	if (n)
		ls_buf_add(out, v, n);
	else
		ls_buf_addc(out, '-');
	ls_buf_addc(out, ' ');
}

/*
 * The line a destination writes for m, as 3.38's log_writer_format_log:
 * template() when given; else file() writes "$STAMP $FULLHOST
 * $MSGHDR$MSG\n" (ts-format applies), network destinations "<PRI>$DATE
 * $FULLHOST $MSGHDR$MSG\n", and syslog() "<PRI>1 $ISODATE HOST PROGRAM PID
 * MSGID SD MSG\n" with "-" for empty header fields and SD, the BOM before a
 * UTF-8 MSG (the space before MSG even when it is empty), and template() (if
 * any) as MSG; on TCP it is octet-counted
 * ("LEN " in front, the newline counted).
 */
enum { DEF_FILE, DEF_NET, DEF_DATE, DEF_SDATA, DEF_MSG, N_DEF };
static const char *const def_text[N_DEF] = {
    "${STAMP} ${FULLHOST} ${MSGHDR}${MESSAGE}\n",
    "<${PRI}>${DATE} ${FULLHOST} ${MSGHDR}${MESSAGE}\n",
    "<${PRI}>1 ${ISODATE} ",
    "${SDATA}",
    "${MESSAGE}",
};

static void dest_format_with(struct ls_tmpl *const *T, struct ls_ddrv *d, const struct ls_msg *m,
			     struct ls_buf *out)
{
	struct ls_tmpl *def_file = T[DEF_FILE], *def_net = T[DEF_NET], *def_date = T[DEF_DATE],
		       *def_sdata = T[DEF_SDATA], *def_msg = T[DEF_MSG];
	const struct ls_tmpl_opts *o = &d->topts;
	if (d->kind == DST_AMQP) {
		ls_amqp_format(d, m, out); /* routing key, headers, body: one record */
		return;
	}
	if (d->kind == DST_UDP || d->kind == DST_TCP) {
		if (d->syslog_proto) {
			struct ls_buf b = {0};
			ls_tmpl_format_opts(def_date, m, o, &b);
			proto_field(&b, m, LS_HOST);
			proto_field(&b, m, LS_PROGRAM);
			proto_field(&b, m, LS_PID);
			proto_field(&b, m, LS_MSGID);
			size_t at = b.len;
			ls_tmpl_format(def_sdata, m, &b);
			if (b.len == at)
				ls_buf_addc(&b, '-');
			at = b.len;
			ls_buf_add(&b, " \xEF\xBB\xBF", 4);
			size_t body = b.len;
			ls_tmpl_format_opts(d->tmpl ? d->tmpl : def_msg, m, o, &b);
			if (!d->tmpl && b.len == body)
				b.len = at + 1; /* no MSG: the space (as 3.38) but no BOM */
			else if (!m->utf8) {
				memmove(b.p + at + 1, b.p + body, b.len - body);
				b.len -= 3;
			}
			ls_buf_addc(&b, '\n');
			if (d->kind == DST_TCP)
				ls_buf_addf(out, "%zu ", b.len);
			ls_buf_add(out, b.p, b.len);
			ls_buf_free(&b);
			return;
		}
		ls_tmpl_format_opts(d->tmpl ? d->tmpl : def_net, m, o, out);
		return;
	}
	ls_tmpl_format_opts(d->tmpl ? d->tmpl : def_file, m, o, out);
}

/* The default formats are compiled once per runtime (rt->def_tmpl), or for
 * this one message when there is no runtime. */
static void dest_format(struct ls_runtime *rt, struct ls_ddrv *d, const struct ls_msg *m,
			struct ls_buf *out)
{
	struct ls_tmpl *own[N_DEF] = {0}, **T = rt ? rt->def_tmpl : own;
	for (int i = 0; i < N_DEF; i++)
		if (!T[i])
			T[i] = ls_tmpl_new(def_text[i], NULL);
	dest_format_with(T, d, m, out);
	for (int i = 0; i < N_DEF; i++)
		ls_tmpl_free(own[i]);
}

/*
 * Queue m for every driver of dst (dest.c writes it): formatted straight into
 * the writer's queue; fc when a flags(flow-control) path led here, then the
 * message holds a slot of its connection's window until it is written.
 */
static void dest_write(struct ls_cfg *c, struct ls_dest *dst, const struct ls_msg *m,
		       struct ls_runtime *rt, bool fc)
{
	dst->processed++;
	c->center_queued++;
	if (rt && rt->dry_run) {
		if (rt->report)
			fprintf(rt->report, "-> destination '%s'\n", dst->name);
		dst->written++;
		return;
	}
	struct ls_buf path = {0};
	for (size_t i = 0; i < dst->n_drv; i++) {
		struct ls_ddrv *d = &dst->drv[i];
		d->processed++;
		if (d->kind == DST_STDOUT) {
			struct ls_buf line = {0};
			dest_format(rt, d, m, &line);
			fwrite(line.p, 1, line.len, stdout);
			ls_buf_free(&line);
			continue;
		}
		if (d->kind == DST_USERTTY)
			continue; /* no terminals to write to in a test daemon */
		struct ls_writer *w;
		if (d->kind == DST_HTTP) {
			w = ls_http_writer(c, dst, d); /* a worker, round robin */
			ls_http_format(d, m, &w->buf);
			ls_writer_commit(c, w, fc && rt ? rt->win : NULL);
			continue;
		}
		if (d->kind == DST_UDP || d->kind == DST_TCP || d->kind == DST_AMQP) {
			w = ls_writer_get(c, dst, d, NULL);
		} else if (d->kind == DST_PROGRAM) {
			w = ls_writer_get(c, dst, d, d->cmd); /* the one child */
		} else if (ls_tmpl_is_literal(d->path) && d->files) {
			w = d->files; /* fixed file name: the one writer */
		} else {
			path.len = 0;
			ls_tmpl_format(d->path, m, &path);
			if (!path.p || ls_fpath_check(dst, d, m, &path, rt) < 0) {
				dst->refused++;
				continue;
			}
			w = ls_writer_get(c, dst, d, path.p);
		}
		/* $SEQNUM: 3.38 steps its writer's count for local messages only */
		d->topts.seq_num = w->local_msgs % 0x7fffffffu + 1;
		d->topts.rt = rt;
		if (m->saddr.ss_family == AF_UNIX || m->saddr.ss_family == AF_UNSPEC)
			w->local_msgs++;
		dest_format(rt, d, m, &w->buf);
		ls_writer_commit(c, w, fc && rt ? rt->win : NULL);
	}
	ls_buf_free(&path);
}

/* ---------------------------------------------------------------- routing */

/* What runs after a junction: the rest of the parent sequence. */
struct cont {
	const struct ls_path *p;
	size_t i;
	const struct cont *up;
	bool *matched;
};

struct rctx {
	struct ls_cfg *c;
	struct ls_msg *m;
	struct ls_trace *t;
	struct ls_runtime *rt;
	int delivered;
	bool fc; /* inside a flags(flow-control) path */
};

static void run_seq(struct rctx *x, const struct ls_path *p, size_t i, bool *matched,
		    const struct cont *up);

/* syslog-ng's log_multiplexer_queue over branches; returns delivered. */
static bool mux(struct rctx *x, struct ls_path *const *br, size_t n, const struct cont *up)
{
	bool delivered = false, has_fallback = false;
	for (size_t k = 0; k < n; k++)
		if (br[k]->flags & PF_FALLBACK)
			has_fallback = true;
	/* rewrites and parsers change the message: each branch starts from
	 * what the junction got (3.38's log_msg_make_writable copies) */
	bool cow = x->c->mutates && n > 1, used = false;
	struct ls_msg saved;
	if (cow) {
		ls_msg_init(&saved);
		ls_msg_copy(&saved, x->m);
	}
	for (int fb = 0; fb == 0 || (fb == 1 && has_fallback && !delivered); fb++) {
		for (size_t k = 0; k < n; k++) {
			const struct ls_path *p = br[k];
			if (!fb != !(p->flags & PF_FALLBACK))
				continue;
			if (cow && used)
				ls_msg_copy(x->m, &saved);
			used = true;
			bool matched = true, fc = x->fc;
			x->fc = fc || (p->flags & PF_FLOW_CONTROL);
			run_seq(x, p, 0, &matched, up);
			x->fc = fc;
			if (p->flags & PF_DROP_UNMATCHED)
				matched = true; /* 3.38's PIF_DROP_UNMATCHED */
			if (matched) {
				((struct ls_path *)p)->matched++;
				delivered = true;
				if (x->t && x->t->active && x->t->mode == LS_TRACE_EXPLAIN)
					fprintf(x->t->out, "Log path matched; path='%s:%d:%d'%s\n",
						p->file, p->line, p->col,
						(p->flags & PF_FINAL) ? ", flags='final'" : "");
				if (p->flags & PF_FINAL)
					break;
			}
		}
	}
	if (cow)
		ls_msg_free(&saved);
	return delivered;
}

static void run_seq(struct rctx *x, const struct ls_path *p, size_t i, bool *matched,
		    const struct cont *up)
{
	for (; i < p->n_el; i++) {
		const struct ls_elem *e = &p->el[i];
		switch (e->kind) {
		case EL_SOURCE:
			break;
		case EL_FILTER:
			if (!ls_filter_eval(e->flt, x->m, x->t)) {
				*matched = false;
				return;
			}
			break;
		case EL_DEST:
			if (x->t && x->t->active && x->t->mode == LS_TRACE_EXPLAIN)
				fprintf(x->t->out,
					"Delivering to destination; destination='%s', "
					"path='%s:%d:%d'\n",
					e->dst->name, p->file, p->line, p->col);
			dest_write(x->c, e->dst, x->m, x->rt, x->fc);
			x->delivered++;
			break;
		case EL_REWRITE:
			ls_rewrite_run(e->rw, x->m, x->t, x->rt);
			break;
		case EL_PARSER:
			for (const struct ls_parser *ps = e->ps; ps; ps = ps->next)
				if (!ls_parser_run(ps, x->m, x->t,
						   x->rt ? &x->rt->tz_local : NULL)) {
					*matched = false;
					return;
				}
			break;
		case EL_JUNCTION: {
			bool last = i + 1 == p->n_el;
			struct cont here = {p, i + 1, up, matched};
			bool d = mux(x, e->br, e->n_br, last ? up : &here);
			if (!d) /* no branch (its continuation included) matched */
				*matched = false;
			return;
		}
		}
	}
	/* end of this sequence: continue with what follows the enclosing junction */
	if (up) {
		bool m2 = true;
		run_seq(x, up->p, up->i, &m2, up->up);
		if (!m2)
			*matched = false;
	}
}

void ls_route(struct ls_cfg *c, struct ls_source *src, struct ls_msg *m, struct ls_trace *t,
	      struct ls_runtime *rt)
{
	struct rctx x = {c, m, t, rt, 0, false};
	m->tagtab = c->tags;
	src->received++;
	c->center_received++;
	mux(&x, src->paths, src->n_paths, NULL);
	if (x.delivered)
		src->delivered++;
	if (t && t->active && t->mode == LS_TRACE_EXPLAIN && !x.delivered)
		fprintf(t->out, "Message reached no destination; source='%s'\n", src->name);
	if (rt && rt->dry_run && rt->report && !x.delivered)
		fprintf(rt->report, "-> no destination\n");
}

/* ------------------------------------------------------------------ stats */

void ls_stats_print(const struct ls_cfg *c, FILE *out)
{
	for (size_t i = 0; i < c->n_src; i++)
		fprintf(out, "source;%s;received=%llu;dropped=%llu;delivered=%llu\n",
			c->src[i]->name, (unsigned long long)c->src[i]->received,
			(unsigned long long)c->src[i]->dropped,
			(unsigned long long)c->src[i]->delivered);
	for (size_t i = 0; i < c->n_flt; i++)
		fprintf(out, "filter;%s;evaluated=%llu;matched=%llu\n", c->flt[i]->name,
			(unsigned long long)c->flt[i]->evaluated,
			(unsigned long long)c->flt[i]->matched);
	for (size_t i = 0; i < c->n_dst; i++) {
		uint64_t queued = 0;
		for (size_t k = 0; k < c->dst[i]->n_drv; k++)
			for (const struct ls_writer *w = c->dst[i]->drv[k].files; w; w = w->next)
				queued += ls_writer_queued(w);
		fprintf(out,
			"destination;%s;written=%llu;dropped=%llu;failed=%llu;processed=%llu;"
			"queued=%llu;refused=%llu\n",
			c->dst[i]->name, (unsigned long long)c->dst[i]->written,
			(unsigned long long)c->dst[i]->dropped,
			(unsigned long long)c->dst[i]->failed,
			(unsigned long long)c->dst[i]->processed, (unsigned long long)queued,
			(unsigned long long)c->dst[i]->refused);
	}
	for (size_t i = 0; i < c->n_all_paths; i++)
		fprintf(out, "log;%s:%d:%d;matched=%llu\n", c->all_paths[i]->file,
			c->all_paths[i]->line, c->all_paths[i]->col,
			(unsigned long long)c->all_paths[i]->matched);
}

/*
 * The counters syslog-ng 3.38 shows at stats-level(0), in config order, as
 * (component, id, instance, type, value): center received/queued, source
 * and destination totals, and per network() driver dst.network;NAME#i;
 * tcp,IP:PORT dropped/processed/queued/written (and the same four for
 * amqp() as dst.amqp;NAME#i;amqp,VHOST,HOST,PORT,EXCHANGE,TYPE). file() and pipe() drivers
 * are not there (3.38 registers them at stats-level(1)), nor the sources'
 * datagram drops (3.38 has no such counter): --stats and SIGUSR1 show both.
 * p is what a reset zeroes; NULL for queued, a gauge logsift derives from
 * the live queues.
 */
struct ctr {
	const char *comp, *id, *inst, *type;
	uint64_t value;
	uint64_t *p;
};

typedef void (*ctr_fn)(void *ctx, const struct ctr *k);

static void stats_each(struct ls_cfg *c, ctr_fn fn, void *ctx)
{
	fn(ctx, &(struct ctr){"center", "", "received", "processed", c->center_received,
			      &c->center_received});
	fn(ctx,
	   &(struct ctr){"center", "", "queued", "processed", c->center_queued, &c->center_queued});
	for (size_t i = 0; i < c->n_src; i++) {
		struct ls_source *s = c->src[i];
		fn(ctx,
		   &(struct ctr){"source", s->name, "", "processed", s->received, &s->received});
	}
	for (size_t i = 0; i < c->n_dst; i++) {
		struct ls_dest *dst = c->dst[i];
		fn(ctx, &(struct ctr){"destination", dst->name, "", "processed", dst->processed,
				      &dst->processed});
		for (size_t k = 0; k < dst->n_drv; k++) {
			struct ls_ddrv *d = &dst->drv[k];
			if (d->kind != DST_TCP && d->kind != DST_UDP && d->kind != DST_AMQP)
				continue;
			uint64_t queued = 0;
			for (const struct ls_writer *w = d->files; w; w = w->next)
				queued += ls_writer_queued(w);
			char id[300], inst[300];
			snprintf(id, sizeof id, "%s#%zu", dst->name, k);
			if (d->kind == DST_AMQP)
				ls_amqp_stats_instance(d->amqp, inst, sizeof inst);
			else
				snprintf(inst, sizeof inst, "%s,%s:%d",
					 d->kind == DST_TCP ? "tcp" : "udp", d->ip, d->port);
			const char *type[] = {"dropped", "processed", "queued", "written"};
			uint64_t *p[] = {&d->dropped, &d->processed, NULL, &d->written};
			for (size_t t = 0; t < 4; t++)
				fn(ctx,
				   &(struct ctr){d->kind == DST_AMQP ? "dst.amqp" : "dst.network",
						 id, inst, type[t], p[t] ? *p[t] : queued, p[t]});
		}
	}
}

static void ctl_line(void *ctx, const struct ctr *k)
{
	ls_buf_addf(ctx, "%s;%s;%s;a;%s;%llu\n", k->comp, k->id, k->inst, k->type,
		    (unsigned long long)k->value);
}

void ls_stats_ctl(struct ls_cfg *c, struct ls_buf *out)
{
	ls_buf_addf(out, "SourceName;SourceId;SourceInstance;State;Type;Number\n");
	stats_each(c, ctl_line, out);
}

static void reset_one(void *ctx, const struct ctr *k)
{
	(void)ctx;
	if (k->p)
		*k->p = 0;
}

void ls_stats_reset(struct ls_cfg *c)
{
	stats_each(c, reset_one, NULL);
}

/*
 * GLib's g_pattern_match_simple(), which 3.38's query uses: '*' is any run,
 * '?' any one character, nothing else is special. Iterative: the last '*'
 * is the only backtrack point needed.
 */
static bool glob_match(const char *pat, const char *s)
{
	const char *star = NULL, *resume = NULL;
	while (*s) {
		if (*pat == '?' || (*pat && *pat != '*' && *pat == *s)) {
			pat++;
			s++;
		} else if (*pat == '*') {
			star = pat++;
			resume = s;
		} else if (star) {
			pat = star + 1;
			s = ++resume;
		} else {
			return false;
		}
	}
	while (*pat == '*')
		pat++;
	return !*pat;
}

struct query {
	const char *pat;
	bool single; /* no '*' or '?': the first counter of that name only */
	bool get, sum, reset;
	size_t found;
	int64_t total;
	struct ls_buf *out;
};

static void query_one(void *ctx, const struct ctr *k)
{
	struct query *q = ctx;
	if (q->single && q->found)
		return;
	/* the counter's name: component.id.instance.type, empty parts left out */
	char name[1024];
	snprintf(name, sizeof name, "%s%s%s%s%s.%s", k->comp, *k->id ? "." : "", k->id,
		 *k->inst ? "." : "", k->inst, k->type);
	if (!glob_match(q->pat, name))
		return;
	q->found++;
	q->total += (int64_t)k->value; /* G_GINT64_FORMAT, as 3.38 sums */
	if (q->get && !q->sum)
		ls_buf_addf(q->out, "%s=%llu\n", name, (unsigned long long)k->value);
	else if (!q->get)
		ls_buf_addf(q->out, "%s\n", name);
	if (q->reset && k->p)
		*k->p = 0;
}

void ls_stats_query(struct ls_cfg *c, const char *cmd, struct ls_buf *out)
{
	static const char *const verbs[] = {"GET",	     "GET_RESET", "GET_SUM",
					    "GET_SUM_RESET", "LIST",	  "LIST_RESET"};
	size_t vlen = strcspn(cmd, " ");
	const char *pat = cmd[vlen] ? cmd + vlen + 1 : NULL;
	size_t v = 0;
	while (v < 6 && (strlen(verbs[v]) != vlen || strncmp(cmd, verbs[v], vlen)))
		v++;
	/* 3.38: an unknown verb and a get without a pattern answer nothing */
	if (v == 6 || (v < 4 && !pat))
		return;
	if (!pat || !*pat)
		pat = "*";
	struct query q = {pat, !strpbrk(pat, "*?"), v < 4, v == 2 || v == 3, v % 2 == 1, 0, 0, out};
	stats_each(c, query_one, &q);
	if (q.sum && q.found)
		ls_buf_addf(out, "%lld\n", (long long)q.total);
	if (q.reset && q.found)
		ls_buf_addf(out, "\nThe selected counters of syslog-ng have been reset to 0.");
}

void ls_unmatched_print(const struct ls_cfg *c, FILE *out)
{
	for (size_t i = 0; i < c->n_flt; i++)
		if (!c->flt[i]->matched)
			fprintf(out,
				"never matched: filter '%s' (%s:%d:%d, evaluated %llu times)\n",
				c->flt[i]->name, c->flt[i]->file, c->flt[i]->line, c->flt[i]->col,
				(unsigned long long)c->flt[i]->evaluated);
	for (size_t i = 0; i < c->n_all_paths; i++)
		if (!c->all_paths[i]->matched)
			fprintf(out, "never matched: log path at %s:%d:%d\n", c->all_paths[i]->file,
				c->all_paths[i]->line, c->all_paths[i]->col);
}
