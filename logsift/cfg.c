/*
 * cfg.c: the syslog-ng 3.x configuration language, read into ls_int.h's
 * object model.
 *
 * Divisions: lexer (include stack, @define and `backtick` substitution,
 * strings, '-'=='_' keywords); generic option trees ("name(args...)");
 * parameterised blocks (kept as text, expanded at each use as syslog-ng
 * does); filter expressions (bison's precedence: or < and < not); source
 * and destination drivers; log paths; reference resolution and loop checks.
 *
 * Why hand-written: the grammar is syslog-ng's bison grammar, but its error
 * texts and the file:line:column ranges are what users grep for, so the
 * parser reproduces them ("Error parsing filter expression, syntax error,
 * unexpected KW_AND, ... in FILE:L:C-L:C:") instead of using a generator.
 * Unlike syslog-ng, references and filter loops are checked while parsing,
 * so --syntax-only catches them.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ls_int.h"

#define PUSH(arr, n, v)                                                                            \
	do {                                                                                       \
		void *p_ = realloc((arr), ((n) + 1) * sizeof *(arr));                              \
		if (!p_)                                                                           \
			abort();                                                                   \
		(arr) = p_;                                                                        \
		(arr)[(n)++] = (v);                                                                \
	} while (0)

/* ------------------------------------------------------------------ lexer */

enum tok {
	T_EOF,
	T_ID,
	T_STR,
	T_NUM,
	T_LP,
	T_RP,
	T_LB,
	T_RB,
	T_SEMI,
	T_COMMA,
	T_DOTDOT,
	T_OP, /* == != < <= > >= === !== */
	T_ERR,
};

struct src_buf {
	char *text;
	size_t len, pos;
	const char *file; /* owned by cfg->files */
	int line, col;
	struct src_buf *up;
};

struct define {
	char *name, *value;
	struct define *next;
};

struct lex {
	struct src_buf *in;
	struct define *defs;
	struct ls_cfg *cfg;
	/* current token */
	enum tok t;
	struct ls_buf s; /* identifier / string text */
	const char *file;
	int line, col, eline, ecol;
	bool peeked;
	int depth; /* include depth */
	size_t included; /* bytes read by @include so far (bounded) */
	bool saw_version;
	struct ok_err *e;
	int err_code; /* exit code for the error: 1 syntax, 2 reference */
	bool failed;
	struct block *blocks; /* block definitions, newest first */
	int expansions;	      /* guards against self-expanding blocks */
};

/* block TYPE NAME(param(default) ... [...]) { body }; */
struct block {
	char *type, *name;
	char **param, **deflt; /* parameter names and default texts */
	size_t n_param;
	bool varargs; /* "..." : other arguments go to `__VARARGS__` */
	char *body;   /* raw text, `param` substituted at expansion */
	const char *file;
	int line;
	struct block *next;
};

static const char *intern_file(struct ls_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_files; i++)
		if (!strcmp(c->files[i], name))
			return c->files[i];
	char **f = realloc(c->files, (c->n_files + 1) * sizeof *f);
	if (!f)
		abort();
	c->files = f;
	f[c->n_files] = strdup(name);
	return f[c->n_files++];
}

static void push_text(struct lex *L, char *text, size_t len, const char *file)
{
	struct src_buf *b = calloc(1, sizeof *b);
	if (!b)
		abort();
	b->text = text;
	b->len = len;
	b->file = intern_file(L->cfg, file);
	b->line = 1;
	b->col = 1;
	b->up = L->in;
	L->in = b;
}

static void pop_text(struct lex *L)
{
	struct src_buf *b = L->in;
	L->in = b->up;
	free(b->text);
	free(b);
}

static int peekc(struct lex *L, size_t ahead)
{
	struct src_buf *b = L->in;
	if (!b || b->pos + ahead >= b->len)
		return -1;
	return (unsigned char)b->text[b->pos + ahead];
}

static int getc_(struct lex *L)
{
	struct src_buf *b = L->in;
	if (!b || b->pos >= b->len)
		return -1;
	int c = (unsigned char)b->text[b->pos++];
	if (c == '\n') {
		b->line++;
		b->col = 1;
	} else {
		b->col++;
	}
	return c;
}

/* Record an error once: e->msg gets the text, e->errnum the exit code. */
static void lex_fail(struct lex *L, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lex_fail(struct lex *L, int code, const char *fmt, ...)
{
	if (L->failed)
		return;
	L->failed = true;
	L->err_code = code;
	if (L->e) {
		ok_err_clear(L->e);
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(L->e->msg, sizeof L->e->msg, fmt, ap);
		va_end(ap);
		snprintf(L->e->path, sizeof L->e->path, "%s", L->file ? L->file : "");
		L->e->line = L->line;
		L->e->errnum = code;
	}
}

/* Read a whole configuration file. Only regular files: an include that names
 * a directory is expanded by the caller, and a device or FIFO (an @include
 * glob over /dev, say) would block or never end; O_NONBLOCK keeps even the
 * open of a FIFO from waiting. */
/* All @include'd text of one configuration together: an include glob over
 * the root directory must not read the whole filesystem into memory. */
#define INCLUDE_MAX (64 << 20)

static int read_file(const char *path, char **text, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		close(fd);
		return -errno;
	}
	struct ls_buf b = {0};
	char tmp[8192];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
		ls_buf_add(&b, tmp, n);
		if (b.len > 16 << 20) {
			fclose(f);
			ls_buf_free(&b);
			return -EFBIG;
		}
	}
	fclose(f);
	if (!b.p)
		ls_buf_add(&b, "", 0);
	*text = b.p;
	*len = b.len;
	return 0;
}

static void do_include(struct lex *L, const char *name)
{
	char path[8400];
	if (name[0] == '/') {
		snprintf(path, sizeof path, "%s", name);
	} else {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s", L->in && L->in->file ? L->in->file : ".");
		char *d = dirname(dir);
		/* syslog-ng's include-path: the including file's folder, then
		 * /etc/syslog-ng and /usr/share/syslog-ng/include */
		const char *dirs[3] = {d, "/etc/syslog-ng", "/usr/share/syslog-ng/include"};
		for (int i = 0; i < 3; i++) {
			snprintf(path, sizeof path, "%s/%s", dirs[i], name);
			glob_t g;
			int r = glob(path, 0, NULL, &g);
			if (r == 0)
				globfree(&g);
			if (r == 0)
				break;
		}
	}
	if (L->depth > 15) {
		lex_fail(L, 1,
			 "Include file depth is too deep, increase MAX_INCLUDE_DEPTH; "
			 "include_depth='%d'",
			 L->depth);
		return;
	}
	glob_t g;
	int r = glob(path, 0, NULL, &g);
	if (r == GLOB_NOMATCH && strpbrk(name, "*?[")) {
		return; /* an empty wildcard include is fine */
	}
	if (r != 0) {
		lex_fail(L, 1,
			 "Include file/directory not found; filename='%s', "
			 "include-path='/etc/syslog-ng'",
			 name);
		return;
	}
	/* push in reverse so the first file is read first */
	for (size_t i = g.gl_pathc; i-- > 0;) {
		char *text;
		size_t len;
		if (read_file(g.gl_pathv[i], &text, &len) < 0) {
			/* a directory: its files, in order */
			char sub[4200];
			snprintf(sub, sizeof sub, "%s/*", g.gl_pathv[i]);
			glob_t g2;
			if (glob(sub, 0, NULL, &g2) == 0) {
				for (size_t k = g2.gl_pathc; k-- > 0;) {
					if (read_file(g2.gl_pathv[k], &text, &len) < 0)
						continue;
					if ((L->included += len) > INCLUDE_MAX) {
						free(text);
						globfree(&g2);
						globfree(&g);
						lex_fail(L, 1,
							 "Included files exceed %d MiB in total; "
							 "filename='%s'",
							 INCLUDE_MAX >> 20, name);
						return;
					}
					push_text(L, text, len, g2.gl_pathv[k]);
				}
				globfree(&g2);
			}
			continue;
		}
		if ((L->included += len) > INCLUDE_MAX) {
			free(text);
			globfree(&g);
			lex_fail(L, 1, "Included files exceed %d MiB in total; filename='%s'",
				 INCLUDE_MAX >> 20, name);
			return;
		}
		push_text(L, text, len, g.gl_pathv[i]);
	}
	globfree(&g);
	L->depth++;
}

static const char *define_get(struct lex *L, const char *name)
{
	for (struct define *d = L->defs; d; d = d->next)
		if (!strcmp(d->name, name))
			return d->value;
	return NULL;
}

static void define_set(struct lex *L, const char *name, const char *value)
{
	struct define *d = calloc(1, sizeof *d);
	if (!d)
		abort();
	d->name = strdup(name);
	d->value = strdup(value);
	d->next = L->defs;
	L->defs = d;
}

/* Rest of the current line (for @-pragmas). */
static void read_line(struct lex *L, struct ls_buf *out)
{
	int c;
	while ((c = peekc(L, 0)) >= 0 && c != '\n') {
		getc_(L);
		ls_buf_addc(out, (char)c);
	}
	while (out->len && isspace((unsigned char)out->p[out->len - 1]))
		out->p[--out->len] = 0;
}

static void pragma(struct lex *L)
{
	struct ls_buf word = {0}, rest = {0};
	int c;
	while ((c = peekc(L, 0)) >= 0 && (isalnum(c) || c == '-' || c == '_')) {
		getc_(L);
		ls_buf_addc(&word, (char)c);
	}
	if (peekc(L, 0) == ':')
		getc_(L);
	read_line(L, &rest);
	char *r = rest.p ? rest.p : "";
	while (*r == ' ' || *r == '\t')
		r++;
	const char *w = word.p ? word.p : "";
	if (!strcmp(w, "version")) {
		int maj = 0, min = 0;
		if (sscanf(r, "%d.%d", &maj, &min) < 1)
			lex_fail(L, 1, "Invalid @version value; version='%s'", r);
		if (!strcmp(r, "current"))
			maj = 3, min = 38;
		L->cfg->version = maj * 100 + min;
		L->saw_version = true;
	} else if (!strcmp(w, "include")) {
		char name[4096];
		size_t n = strlen(r);
		if (n >= 2 && (r[0] == '"' || r[0] == '\'') && r[n - 1] == r[0]) {
			snprintf(name, sizeof name, "%.*s", (int)(n - 2), r + 1);
		} else {
			snprintf(name, sizeof name, "%s", r);
		}
		do_include(L, name);
	} else if (!strcmp(w, "define")) {
		char *sp = r;
		while (*sp && !isspace((unsigned char)*sp))
			sp++;
		char *val = sp;
		if (*sp)
			*sp++ = 0, val = sp;
		while (*val == ' ' || *val == '\t')
			val++;
		size_t n = strlen(val);
		if (n >= 2 && val[0] == '"' && val[n - 1] == '"') {
			val[n - 1] = 0;
			val++;
		}
		define_set(L, r, val);
	} else if (!strcmp(w, "module") || !strcmp(w, "requires")) {
		/* modules are built in */
	} else {
		lex_fail(L, 1, "Unknown pragma; name='@%s'", w);
	}
	ls_buf_free(&word);
	ls_buf_free(&rest);
}

static bool id_char(int c)
{
	return c >= 0 && (isalnum(c) || c == '_' || c == '-' || c == '/' || c == '*' || c == '+' ||
			  c == '~' || c == '$' || c >= 0x80);
}

static const char *tok_name(enum tok t)
{
	switch (t) {
	case T_EOF:
		return "$end";
	case T_ID:
		return "LL_IDENTIFIER";
	case T_STR:
		return "LL_STRING";
	case T_NUM:
		return "LL_NUMBER";
	case T_LP:
		return "'('";
	case T_RP:
		return "')'";
	case T_LB:
		return "'{'";
	case T_RB:
		return "'}'";
	case T_SEMI:
		return "';'";
	case T_COMMA:
		return "','";
	case T_DOTDOT:
		return "LL_DOTDOT";
	case T_OP:
		return "operator";
	default:
		return "LL_ERROR";
	}
}

static void lex_next(struct lex *L);

/* Substitute `name` (a @define or an environment variable) into the input. */
static void backtick(struct lex *L)
{
	struct ls_buf name = {0};
	int c;
	getc_(L);
	while ((c = getc_(L)) >= 0 && c != '`')
		ls_buf_addc(&name, (char)c);
	const char *v = name.p ? define_get(L, name.p) : NULL;
	if (!v && name.p)
		v = getenv(name.p);
	if (!v)
		v = "";
	/* splice: the value becomes a new input on top */
	char *text = strdup(v);
	const char *file = L->in ? L->in->file : "?";
	int line = L->in ? L->in->line : 0, col = L->in ? L->in->col : 0;
	push_text(L, text, strlen(text), file);
	L->in->line = line;
	L->in->col = col;
	L->depth++;
	ls_buf_free(&name);
}

static void lex_next(struct lex *L)
{
	int c;
	if (L->peeked) {
		L->peeked = false;
		return;
	}
	L->s.len = 0;
	if (L->s.p)
		L->s.p[0] = 0;
again:
	if (!L->in) {
		L->t = T_EOF;
		return;
	}
	c = peekc(L, 0);
	if (c < 0) {
		if (L->in->up) {
			/* keep the position of the end of the including file */
			pop_text(L);
			if (L->depth)
				L->depth--;
			goto again;
		}
		L->t = T_EOF;
		L->file = L->in->file;
		L->line = L->eline = L->in->line;
		L->col = L->ecol = L->in->col;
		return;
	}
	if (isspace(c)) {
		getc_(L);
		goto again;
	}
	if (c == '#') {
		while ((c = peekc(L, 0)) >= 0 && c != '\n')
			getc_(L);
		goto again;
	}
	if (c == '`') {
		backtick(L);
		goto again;
	}
	L->file = L->in->file;
	L->line = L->in->line;
	L->col = L->in->col;
	if (c == '@' && L->in->col == 1) {
		getc_(L);
		pragma(L);
		goto again;
	}
	getc_(L);
	switch (c) {
	case '(':
		L->t = T_LP;
		break;
	case ')':
		L->t = T_RP;
		break;
	case '{':
		L->t = T_LB;
		break;
	case '}':
		L->t = T_RB;
		break;
	case ';':
		L->t = T_SEMI;
		break;
	case ',':
		L->t = T_COMMA;
		break;
	case '.':
		if (peekc(L, 0) == '.') {
			getc_(L);
			if (peekc(L, 0) == '.')
				getc_(L); /* "..." of a block's parameter list */
			L->t = T_DOTDOT;
		} else {
			L->t = T_ERR;
		}
		break;
	case '=':
	case '!':
	case '<':
	case '>':
		ls_buf_addc(&L->s, (char)c);
		while ((c = peekc(L, 0)) == '=') {
			getc_(L);
			ls_buf_addc(&L->s, '=');
		}
		L->t = T_OP;
		if (!strcmp(L->s.p, "=") || !strcmp(L->s.p, "!") || L->s.len > 3)
			L->t = T_ERR;
		break;
	case '"':
		L->t = T_STR;
		while ((c = getc_(L)) >= 0 && c != '"') {
			if (c == '\\') {
				c = getc_(L);
				switch (c) {
				case 'n':
					c = '\n';
					break;
				case 't':
					c = '\t';
					break;
				case 'r':
					c = '\r';
					break;
				case 'a':
					c = '\a';
					break;
				case 'v':
					c = '\v';
					break;
				case 'x': {
					int v = 0, k = 0;
					while (k < 2 && isxdigit(peekc(L, 0))) {
						int h = getc_(L);
						v = v * 16 +
						    (isdigit(h) ? h - '0' : tolower(h) - 'a' + 10);
						k++;
					}
					c = v;
					break;
				}
				case -1:
					break;
				default:
					break;
				}
			}
			if (c >= 0)
				ls_buf_addc(&L->s, (char)c);
		}
		if (c < 0)
			L->t = T_ERR;
		break;
	case '\'':
		L->t = T_STR;
		while ((c = getc_(L)) >= 0 && c != '\'')
			ls_buf_addc(&L->s, (char)c);
		if (c < 0)
			L->t = T_ERR;
		break;
	default:
		if (!id_char(c) && c != '.') {
			L->t = T_ERR;
			ls_buf_addc(&L->s, (char)c);
			break;
		}
		ls_buf_addc(&L->s, (char)c);
		for (;;) {
			c = peekc(L, 0);
			if (id_char(c) || c == ':') {
				getc_(L);
				ls_buf_addc(&L->s, (char)c);
			} else if (c == '.' && peekc(L, 1) != '.') {
				getc_(L);
				ls_buf_addc(&L->s, '.');
			} else {
				break;
			}
		}
		L->t = T_ID;
		{
			const char *s = L->s.p;
			size_t i = 0;
			if (s[0] == '-' || s[0] == '+')
				i = 1;
			bool num = s[i] != 0;
			if (s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X') && s[i + 2]) {
				for (size_t k = i + 2; s[k]; k++)
					if (!isxdigit((unsigned char)s[k]))
						num = false;
			} else {
				for (size_t k = i; s[k]; k++)
					if (!isdigit((unsigned char)s[k]))
						num = false;
			}
			if (num)
				L->t = T_NUM;
		}
	}
	L->eline = L->in ? L->in->line : L->line;
	L->ecol = L->in ? L->in->col : L->col;
}

static void lex_unget(struct lex *L)
{
	L->peeked = true;
}

/* Keyword compare ('-' == '_', case-sensitive as syslog-ng). */
static bool kw(const char *a, const char *b)
{
	for (; *a && *b; a++, b++) {
		char x = *a == '_' ? '-' : *a;
		char y = *b == '_' ? '-' : *b;
		if (x != y)
			return false;
	}
	return *a == *b;
}

static bool is_kw(struct lex *L, const char *k)
{
	return L->t == T_ID && kw(L->s.p, k);
}

/* bison's name for the current token (KW_AND for "and", LL_IDENTIFIER, ...). */
static void cur_tok_name(struct lex *L, char *out, size_t n)
{
	static const char *const kws[] = {"and",    "or",	"not",	   "source", "destination",
					  "filter", "log",	"options", "flags",  "junction",
					  "value",  "template", "type"};
	if (L->t == T_ID)
		for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
			if (kw(L->s.p, kws[i])) {
				snprintf(out, n, "KW_");
				for (size_t k = 0; kws[i][k] && k + 4 < n; k++)
					out[3 + k] = (char)toupper((unsigned char)kws[i][k]),
						out[4 + k] = 0;
				return;
			}
	snprintf(out, n, "%s", tok_name(L->t));
}

/* "Error parsing WHAT, syntax error, unexpected TOK[, expecting X] in F:L:C-L:C:" */
static void syntax_error(struct lex *L, const char *what, const char *expecting)
{
	char t[64];
	cur_tok_name(L, t, sizeof t);
	if (L->t == T_ERR)
		lex_fail(L, 1,
			 "Error parsing %s, syntax error, unexpected LL_ERROR in %s:%d:%d-%d:%d:",
			 what, L->file, L->line, L->col, L->eline, L->ecol);
	else if (expecting)
		lex_fail(L, 1,
			 "Error parsing %s, syntax error, unexpected %s, expecting %s in "
			 "%s:%d:%d-%d:%d:",
			 what, t, expecting, L->file, L->line, L->col, L->eline, L->ecol);
	else
		lex_fail(L, 1,
			 "Error parsing %s, syntax error, unexpected %s in %s:%d:%d-%d:%d:", what,
			 t, L->file, L->line, L->col, L->eline, L->ecol);
}

static void semantic_error(struct lex *L, const char *what, const char *msg)
{
	lex_fail(L, 1, "Error parsing %s, %s in %s:%d:%d-%d:%d:", what, msg, L->file, L->line,
		 L->col, L->eline, L->ecol);
}

static bool expect(struct lex *L, enum tok t, const char *what)
{
	lex_next(L);
	if (L->t != t) {
		syntax_error(L, what, tok_name(t));
		return false;
	}
	return true;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

/* ------------------------------------------------------------ option trees */

struct otree {
	char *name;	     /* NULL for a positional value */
	char *val;	     /* positional value text */
	enum tok vt;	     /* its token kind */
	struct otree **kids; /* arguments of name(...) */
	size_t n;
	const char *file;
	int line, col, eline, ecol; /* token range */
};

static void otree_free(struct otree *o)
{
	if (!o)
		return;
	for (size_t i = 0; i < o->n; i++)
		otree_free(o->kids[i]);
	free(o->kids);
	free(o->name);
	free(o->val);
	free(o);
}

static void otree_add(struct otree *p, struct otree *k)
{
	struct otree **v = realloc(p->kids, (p->n + 1) * sizeof *v);
	if (!v)
		abort();
	p->kids = v;
	v[p->n++] = k;
}

static bool otree_args_inner(struct lex *L, struct otree *o, const char *what);

/* After "name(" : values and nested options up to the matching ')'. On a
 * syntax error what was added to o is freed again, so callers own nothing. */
static bool otree_args(struct lex *L, struct otree *o, const char *what)
{
	size_t n0 = o->n;
	if (otree_args_inner(L, o, what))
		return true;
	for (size_t i = n0; i < o->n; i++)
		otree_free(o->kids[i]);
	o->n = n0;
	if (!n0) {
		free(o->kids);
		o->kids = NULL;
	}
	return false;
}

static bool otree_args_inner(struct lex *L, struct otree *o, const char *what)
{
	for (;;) {
		lex_next(L);
		if (L->failed)
			return false;
		if (L->t == T_RP)
			return true;
		if (L->t == T_COMMA)
			continue;
		if (L->t == T_STR || L->t == T_NUM || L->t == T_ID || L->t == T_DOTDOT) {
			struct otree *k = calloc(1, sizeof *k);
			if (!k)
				abort();
			k->file = L->file;
			k->line = L->line;
			k->col = L->col;
			k->eline = L->eline;
			k->ecol = L->ecol;
			enum tok vt = L->t;
			char *text = xstrdup(L->t == T_DOTDOT ? ".." : L->s.p);
			if (vt == T_ID) {
				lex_next(L);
				if (L->t == T_LP) {
					k->name = text;
					otree_add(o, k);
					if (!otree_args(L, k, what))
						return false;
					continue;
				}
				lex_unget(L);
			}
			k->val = text;
			k->vt = vt;
			otree_add(o, k);
			continue;
		}
		syntax_error(L, what, NULL);
		return false;
	}
}

static struct otree *opt_find(struct otree *o, const char *name)
{
	for (size_t i = 0; i < o->n; i++)
		if (o->kids[i]->name && kw(o->kids[i]->name, name))
			return o->kids[i];
	return NULL;
}

static const char *opt_str(struct otree *o, const char *name)
{
	struct otree *k = opt_find(o, name);
	if (!k || !k->n || !k->kids[0]->val)
		return NULL;
	return k->kids[0]->val;
}

static int opt_bool(struct otree *o, const char *name, int deflt)
{
	const char *v = opt_str(o, name);
	if (!v)
		return deflt;
	return !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1");
}

static long opt_num(struct otree *o, const char *name, long deflt)
{
	const char *v = opt_str(o, name);
	if (!v)
		return deflt;
	return strtol(v, NULL, 0);
}

/* First positional value. */
static const char *opt_pos(struct otree *o)
{
	for (size_t i = 0; i < o->n; i++)
		if (!o->kids[i]->name)
			return o->kids[i]->val;
	return NULL;
}

/* ------------------------------------------------------------------ blocks */

static void block_free_all(struct block *b)
{
	while (b) {
		struct block *n = b->next;
		for (size_t i = 0; i < b->n_param; i++) {
			free(b->param[i]);
			free(b->deflt[i]);
		}
		free(b->param);
		free(b->deflt);
		free(b->type);
		free(b->name);
		free(b->body);
		free(b);
		b = n;
	}
}

static struct block *block_find(struct lex *L, const char *type, const char *name)
{
	for (struct block *b = L->blocks; b; b = b->next)
		if (kw(b->type, type) && kw(b->name, name))
			return b;
	return NULL;
}

/* Text of an option tree value: a string's content, or name(args) rebuilt. */
static void otree_text(struct otree *o, struct ls_buf *out)
{
	if (!o->name) {
		if (o->vt == T_STR) {
			ls_buf_addc(out, '"');
			for (const char *p = o->val; *p; p++) {
				if (*p == '"' || *p == '\\')
					ls_buf_addc(out, '\\');
				ls_buf_addc(out, *p);
			}
			ls_buf_addc(out, '"');
		} else {
			ls_buf_add(out, o->val, strlen(o->val));
		}
		return;
	}
	ls_buf_add(out, o->name, strlen(o->name));
	ls_buf_addc(out, '(');
	for (size_t i = 0; i < o->n; i++) {
		if (i)
			ls_buf_addc(out, ' ');
		otree_text(o->kids[i], out);
	}
	ls_buf_addc(out, ')');
}

/*
 * After "block": TYPE NAME(params) { raw body } ; . The body is kept as text
 * (syslog-ng also expands blocks textually) and parsed at each use.
 */
static void block_define(struct lex *L)
{
	struct block *b = calloc(1, sizeof *b);
	if (!b)
		abort();
	b->file = L->file;
	b->line = L->line;
	lex_next(L);
	if (L->t != T_ID) {
		syntax_error(L, "block definition", "LL_IDENTIFIER");
		goto fail;
	}
	b->type = xstrdup(L->s.p);
	lex_next(L);
	if (L->t != T_ID && L->t != T_STR) {
		syntax_error(L, "block definition", "LL_IDENTIFIER");
		goto fail;
	}
	b->name = xstrdup(L->s.p);
	if (!expect(L, T_LP, "block definition"))
		goto fail;
	for (;;) {
		lex_next(L);
		if (L->failed)
			goto fail;
		if (L->t == T_RP)
			break;
		if (L->t == T_COMMA)
			continue;
		if (L->t == T_ERR && L->s.p && L->s.p[0] == '.') {
			/* "..." lexes as ".." + "." */
			continue;
		}
		if (L->t == T_DOTDOT) {
			b->varargs = true;
			continue;
		}
		if (L->t != T_ID) {
			syntax_error(L, "block definition", "LL_IDENTIFIER");
			goto fail;
		}
		char *pname = xstrdup(L->s.p);
		struct ls_buf d = {0};
		lex_next(L);
		if (L->t == T_LP) {
			struct otree o = {0};
			if (!otree_args(L, &o, "block definition")) {
				free(pname);
				goto fail;
			}
			for (size_t i = 0; i < o.n; i++) {
				if (i)
					ls_buf_addc(&d, ' ');
				if (!o.kids[i]->name && o.kids[i]->vt == T_STR)
					ls_buf_add(&d, o.kids[i]->val, strlen(o.kids[i]->val));
				else
					otree_text(o.kids[i], &d);
				otree_free(o.kids[i]);
			}
			free(o.kids);
		} else {
			lex_unget(L);
		}
		PUSH(b->param, b->n_param, pname);
		b->n_param--;
		PUSH(b->deflt, b->n_param, d.p ? d.p : xstrdup(""));
	}
	if (!expect(L, T_LB, "block definition"))
		goto fail;
	/* raw body up to the matching '}', skipping strings and comments */
	struct src_buf *in = L->in;
	size_t start = in->pos;
	int depth = 1;
	while (in->pos < in->len && depth) {
		int c = getc_(L);
		if (c == '"' || c == '\'') {
			int q = c;
			while (in->pos < in->len && (c = getc_(L)) != q)
				if (c == '\\' && q == '"')
					getc_(L);
		} else if (c == '#') {
			while (in->pos < in->len && peekc(L, 0) != '\n')
				getc_(L);
		} else if (c == '{') {
			depth++;
		} else if (c == '}') {
			depth--;
		}
	}
	if (depth) {
		lex_fail(L, 1, "Error parsing block definition, unexpected end of file in %s:%d",
			 b->file, b->line);
		goto fail;
	}
	b->body = strndup(in->text + start, in->pos - start - 1);
	b->next = L->blocks;
	L->blocks = b;
	return;
fail:
	b->next = NULL;
	block_free_all(b);
}

/*
 * Expand a block use whose arguments o were just parsed: push its body with
 * `param` replaced by the argument (or the default) onto the input.
 */
static void block_expand(struct lex *L, struct block *b, struct otree *o)
{
	if (++L->expansions > 10000) {
		lex_fail(L, 1, "Too many block expansions, is block '%s' recursive?", b->name);
		return;
	}
	char **val = calloc(b->n_param + 1, sizeof *val);
	struct ls_buf va = {0};
	if (!val)
		abort();
	for (size_t i = 0; i < o->n; i++) {
		struct otree *k = o->kids[i];
		size_t p = b->n_param;
		if (k->name)
			for (p = 0; p < b->n_param; p++)
				if (kw(k->name, b->param[p]))
					break;
		if (p == b->n_param) {
			if (!b->varargs) {
				lex_fail(L, 1,
					 "Unknown argument for block; block='%s', argument='%s', "
					 "location='%s:%d:%d'",
					 b->name, k->name ? k->name : k->val, k->file, k->line,
					 k->col);
				goto out;
			}
			if (va.len)
				ls_buf_addc(&va, ' ');
			otree_text(k, &va);
			continue;
		}
		struct ls_buf v = {0};
		for (size_t j = 0; j < k->n; j++) {
			if (j)
				ls_buf_addc(&v, ' ');
			if (!k->kids[j]->name && k->kids[j]->vt == T_STR)
				ls_buf_add(&v, k->kids[j]->val, strlen(k->kids[j]->val));
			else
				otree_text(k->kids[j], &v);
		}
		free(val[p]);
		val[p] = v.p ? v.p : xstrdup("");
	}
	struct ls_buf out = {0};
	for (const char *p = b->body; *p;) {
		if (*p == '`') {
			const char *e = strchr(p + 1, '`');
			if (e) {
				size_t n = (size_t)(e - p - 1);
				const char *rep = NULL;
				if (n == 11 && !strncmp(p + 1, "__VARARGS__", 11))
					rep = va.p ? va.p : "";
				for (size_t i = 0; !rep && i < b->n_param; i++)
					if (strlen(b->param[i]) == n &&
					    !strncmp(p + 1, b->param[i], n))
						rep = val[i] ? val[i] : b->deflt[i];
				if (rep) {
					ls_buf_add(&out, rep, strlen(rep));
					p = e + 1;
					continue;
				}
			}
		}
		ls_buf_addc(&out, *p++);
	}
	ls_buf_addc(&out, '\n');
	out.len--;
	push_text(L, out.p, out.len, b->file);
	L->in->line = b->line;
out:
	for (size_t i = 0; i < b->n_param; i++)
		free(val[i]);
	free(val);
	ls_buf_free(&va);
}

/* If name is a block of this type: parse "(args)" and expand it. */
static bool block_use(struct lex *L, const char *type, const char *name)
{
	struct block *b = block_find(L, type, name);
	if (!b)
		return false;
	if (!expect(L, T_LP, "block reference"))
		return true;
	struct otree o = {0};
	if (otree_args(L, &o, "block reference"))
		block_expand(L, b, &o);
	for (size_t i = 0; i < o.n; i++)
		otree_free(o.kids[i]);
	free(o.kids);
	return true;
}

/* ------------------------------------------------------- filter expressions */

struct fparse {
	struct lex *L;
	struct ls_cfg *c;
	const char *what; /* "filter expression" */
};

static struct fnode *fp_or(struct fparse *P);

static struct fnode *fnode_new(struct lex *L, enum fn_kind k)
{
	struct fnode *n = calloc(1, sizeof *n);
	if (!n)
		abort();
	n->kind = k;
	n->fac_num = -1;
	n->field = -1;
	n->file = L->file;
	n->line = L->line;
	n->col = L->col;
	return n;
}

/* Names, lists and a..b ranges of facility() / level(). */
static bool fp_names(struct fparse *P, struct fnode *n, bool fac)
{
	struct lex *L = P->L;
	int prev = -1;
	bool range = false, any = false;
	for (;;) {
		lex_next(L);
		if (L->t == T_RP && any)
			return true;
		if (L->t == T_COMMA)
			continue;
		if (L->t == T_DOTDOT && prev >= 0) {
			range = true;
			continue;
		}
		int v = -1;
		if (L->t == T_NUM && fac && !any) {
			n->fac_num = (int)strtol(L->s.p, NULL, 0);
			any = true;
			lex_next(L);
			if (L->t != T_RP) {
				syntax_error(L, P->what, "')'");
				return false;
			}
			return true;
		}
		if (L->t == T_ID || L->t == T_STR) {
			v = fac ? ls_facility_by_name(L->s.p) : ls_severity_by_name(L->s.p);
			if (v < 0) {
				char msg[300];
				snprintf(msg, sizeof msg, "Unknown %s\"%s\"",
					 fac ? "facility" : "priority level", L->s.p);
				semantic_error(L, P->what, msg);
				return false;
			}
		} else {
			syntax_error(L, P->what,
				     fac ? "LL_IDENTIFIER or LL_NUMBER" : "LL_IDENTIFIER");
			return false;
		}
		if (range) {
			int a = prev < v ? prev : v, b = prev < v ? v : prev;
			for (int i = a; i <= b; i++)
				n->mask |= 1u << i;
			range = false;
		} else {
			n->mask |= 1u << v;
		}
		prev = v;
		any = true;
	}
}

static void fp_match_opts(struct fparse *P, struct fnode *n, struct otree *o)
{
	struct lex *L = P->L;
	for (size_t i = 0; i < o->n; i++) {
		struct otree *k = o->kids[i];
		if (!k->name)
			continue;
		const char *v = k->n ? k->kids[0]->val : NULL;
		if (kw(k->name, "value")) {
			if (!v)
				continue;
			if (v[0] == '$') {
				ls_cfg_warn(P->c,
					    "value: the leading dollar sign in value-pairs is "
					    "not needed, please remove it; value='%s', "
					    "location='%s:%d:%d'",
					    v, k->file, k->line, k->col);
				v++;
			}
			free(n->value);
			n->value = xstrdup(v);
		} else if (kw(k->name, "template")) {
			struct ok_err e;
			ls_tmpl_free(n->tmpl);
			n->tmpl = ls_tmpl_new(v ? v : "", &e);
			if (!n->tmpl)
				semantic_error(L, P->what, e.msg);
		} else if (kw(k->name, "type")) {
			if (!v || !strcmp(v, "pcre") || !strcmp(v, "posix"))
				n->mtype = MT_PCRE;
			else if (!strcmp(v, "string"))
				n->mtype = MT_STRING;
			else if (!strcmp(v, "glob"))
				n->mtype = MT_GLOB;
			else {
				char msg[200];
				snprintf(msg, sizeof msg, "Unsupported matcher type; type='%s'", v);
				semantic_error(L, P->what, msg);
			}
		} else if (kw(k->name, "flags")) {
			for (size_t j = 0; j < k->n; j++) {
				const char *f = k->kids[j]->val;
				if (!f)
					continue;
				if (kw(f, "ignore-case") || kw(f, "icase"))
					n->mflags |= MF_ICASE;
				else if (kw(f, "prefix"))
					n->mflags |= MF_PREFIX;
				else if (kw(f, "substring"))
					n->mflags |= MF_SUBSTRING;
				else if (kw(f, "global"))
					n->mflags |= MF_GLOBAL;
				else if (kw(f, "utf8") || kw(f, "unicode"))
					n->mflags |= MF_UTF8;
				else if (kw(f, "store-matches"))
					n->mflags |= MF_STORE;
				else if (kw(f, "newline"))
					n->mflags |= MF_NEWLINE;
				else if (kw(f, "disable-jit"))
					n->mflags |= MF_NOJIT;
				else if (kw(f, "dupnames"))
					n->mflags |= MF_DUPNAMES;
				else if (kw(f, "nobackref") || kw(f, "nobackrefs") ||
					 kw(f, "ignore-case"))
					;
				else {
					struct otree *ft = k->kids[j];
					lex_fail(L, 1,
						 "Error parsing %s, unknown matcher flag \"%s\" in "
						 "%s:%d:%d-%d:%d:",
						 P->what, f, ft->file, ft->line, ft->col, ft->eline,
						 ft->ecol);
				}
			}
		} else {
			syntax_error(L, P->what, NULL);
		}
	}
}

/* A primary: leaf function, comparison, "(" expr ")", or "not" primary. */
static struct fnode *fp_primary(struct fparse *P)
{
	struct lex *L = P->L;
	lex_next(L);
	if (L->failed)
		return NULL;
	if (is_kw(L, "not")) {
		struct fnode *n = fp_primary(P);
		if (n)
			n->comp = !n->comp;
		return n;
	}
	if (L->t == T_LP) {
		struct fnode *n = fp_or(P);
		if (!n)
			return NULL;
		lex_next(L);
		if (L->t != T_RP) {
			syntax_error(L, P->what, "')'");
			ls_fnode_free(n);
			return NULL;
		}
		return n;
	}
	if (L->t == T_STR || L->t == T_NUM) {
		/* comparison: "tmpl" OP "tmpl" */
		struct fnode *n = fnode_new(L, FN_CMP);
		bool lnum = L->t == T_NUM;
		struct ok_err e;
		n->lt = ls_tmpl_new(L->s.p, &e);
		lex_next(L);
		const char *op = NULL;
		bool numeric = false;
		if (L->t == T_OP) {
			static const char *const ops[] = {
			    "==", "!=", "<", "<=", ">", ">=", "===", "!=="};
			for (int i = 0; i < 8; i++)
				if (!strcmp(L->s.p, ops[i]))
					op = ops[i];
			numeric = true;
		} else if (L->t == T_ID) {
			static const char *const ops[] = {"eq", "ne", "lt", "le", "gt", "ge"};
			for (int i = 0; i < 6; i++)
				if (!strcmp(L->s.p, ops[i]))
					op = ops[i];
		}
		if (!op) {
			syntax_error(L, P->what, NULL);
			ls_fnode_free(n);
			return NULL;
		}
		static const struct {
			const char *t;
			enum cmp_op op;
			const char *text;
		} opmap[] = {{"==", OP_EQ, "=="},   {"!=", OP_NE, "!="},   {"<", OP_LT, "<"},
			     {"<=", OP_LE, "<="},   {">", OP_GT, ">"},	   {">=", OP_GE, ">="},
			     {"===", OP_EQ, "==="}, {"!==", OP_NE, "!=="}, {"eq", OP_EQ, "eq"},
			     {"ne", OP_NE, "ne"},   {"lt", OP_LT, "lt"},   {"le", OP_LE, "le"},
			     {"gt", OP_GT, "gt"},   {"ge", OP_GE, "ge"}};
		for (size_t i = 0; i < sizeof opmap / sizeof opmap[0]; i++)
			if (!strcmp(op, opmap[i].t)) {
				n->op = opmap[i].op;
				n->op_text = opmap[i].text;
			}
		lex_next(L);
		if (L->t != T_STR && L->t != T_NUM) {
			syntax_error(L, P->what, "LL_STRING or LL_NUMBER");
			ls_fnode_free(n);
			return NULL;
		}
		bool rnum = L->t == T_NUM;
		n->rt = ls_tmpl_new(L->s.p, &e);
		if (!n->lt || !n->rt) {
			semantic_error(L, P->what, e.msg);
			ls_fnode_free(n);
			return NULL;
		}
		n->lnum = lnum;
		n->rnum = rnum;
		if (!numeric || (P->c->version && P->c->version < 308 && !lnum && !rnum))
			n->mode = CMP_STRING; /* before 3.8, == and friends compared strings */
		else if (P->c->version >= 400 || lnum || rnum || op[2] == '=')
			n->mode = CMP_TYPE_AWARE;
		else
			n->mode = CMP_NUMERIC;
		return n;
	}
	if (L->t != T_ID || is_kw(L, "and") || is_kw(L, "or")) {
		syntax_error(L, P->what, "LL_IDENTIFIER or LL_NUMBER or LL_FLOAT or LL_STRING");
		return NULL;
	}
	char name[64];
	snprintf(name, sizeof name, "%s", L->s.p);
	struct fnode *n = NULL;
	const char *file = L->file;
	int line = L->line, col = L->col;
	if (!expect(L, T_LP, P->what))
		return NULL;
	if (kw(name, "facility") || kw(name, "level") || kw(name, "priority") ||
	    kw(name, "severity")) {
		bool fac = kw(name, "facility");
		n = fnode_new(L, fac ? FN_FACILITY : FN_LEVEL);
		if (!fp_names(P, n, fac)) {
			ls_fnode_free(n);
			return NULL;
		}
	} else if (kw(name, "host") || kw(name, "program") || kw(name, "message") ||
		   kw(name, "match")) {
		struct otree o = {0};
		if (!otree_args(L, &o, P->what)) {
			for (size_t i = 0; i < o.n; i++)
				otree_free(o.kids[i]);
			free(o.kids);
			return NULL;
		}
		n = fnode_new(L, FN_MATCH);
		n->kw = kw(name, "host")      ? "host"
			: kw(name, "program") ? "program"
			: kw(name, "message") ? "message"
					      : "match";
		const char *pat = opt_pos(&o);
		const char *pat_file = L->file;
		int pat_line = L->line, pat_col = L->col, pat_eline = L->eline, pat_ecol = L->ecol;
		for (size_t i = 0; i < o.n; i++)
			if (!o.kids[i]->name) {
				pat_file = o.kids[i]->file;
				pat_line = o.kids[i]->line;
				pat_col = o.kids[i]->col;
				pat_eline = o.kids[i]->eline;
				pat_ecol = o.kids[i]->ecol;
				break;
			}
		n->pattern = xstrdup(pat);
		if (!pat)
			syntax_error(L, P->what, "LL_STRING");
		fp_match_opts(P, n, &o);
		if (n->kw[0] == 'h')
			n->field = LS_HOST;
		else if (n->kw[0] == 'p')
			n->field = LS_PROGRAM;
		else if (n->kw[1] == 'e')
			n->field = LS_MESSAGE;
		else if (n->value) {
			/* value("NAME"): any field, name-value pair or macro, as "${NAME}" */
			char t[300];
			struct ok_err e;
			snprintf(t, sizeof t, "${%s}", n->value);
			if (!n->tmpl)
				n->tmpl = ls_tmpl_new(t, &e);
		} else if (!n->tmpl) {
			n->legacy = true;
			ls_cfg_warn(P->c,
				    "WARNING: the match() filter without the use of the value() "
				    "option is deprecated and hinders performance, please "
				    "update your configuration; location='%s:%d:%d'",
				    file, line, col);
		}
		for (size_t i = 0; i < o.n; i++)
			otree_free(o.kids[i]);
		free(o.kids);
		struct ok_err e;
		if (!L->failed && ls_fnode_compile(n, &e) < 0)
			lex_fail(L, 1, "Error parsing %s, %s in %s:%d:%d-%d:%d:", P->what, e.msg,
				 pat_file, pat_line, pat_col, pat_eline, pat_ecol);
	} else if (kw(name, "source") || kw(name, "filter") || kw(name, "netmask") ||
		   kw(name, "netmask6") || kw(name, "in-list") || kw(name, "tags")) {
		struct otree o = {0};
		bool ok = otree_args(L, &o, P->what);
		const char *arg = opt_pos(&o);
		if (ok && !arg)
			syntax_error(L, P->what, "LL_STRING");
		if (ok && arg) {
			if (kw(name, "source")) {
				n = fnode_new(L, FN_SOURCE);
				n->name = xstrdup(arg);
			} else if (kw(name, "filter")) {
				n = fnode_new(L, FN_CALL);
				n->name = xstrdup(arg);
			} else if (kw(name, "netmask") || kw(name, "netmask6")) {
				bool v6 = kw(name, "netmask6");
				n = fnode_new(L, v6 ? FN_NETMASK6 : FN_NETMASK);
				n->name = xstrdup(arg);
				if (ls_netmask_parse(n, arg, v6) < 0)
					semantic_error(L, P->what,
						       v6 ? "Invalid netmask6" : "Invalid netmask");
			} else if (kw(name, "tags")) {
				n = fnode_new(L, FN_TAGS);
				for (size_t i = 0; i < o.n; i++)
					if (o.kids[i]->val) {
						int t = ls_cfg_tag(P->c, o.kids[i]->val);
						if (t >= 0)
							n->tagmask |= 1ull << t;
					}
			} else {
				n = fnode_new(L, FN_INLIST);
				n->name = xstrdup(arg);
				const char *v = opt_str(&o, "value");
				n->value = xstrdup(v ? (v[0] == '$' ? v + 1 : v) : "MESSAGE");
				n->field = -1;
				char *text;
				size_t len;
				if (read_file(arg, &text, &len) < 0) {
					char msg[600];
					snprintf(
					    msg, sizeof msg,
					    "Error opening in-list filter list file; filename='%s'",
					    arg);
					semantic_error(L, P->what, msg);
				} else {
					for (char *s = text, *e; s < text + len; s = e + 1) {
						e = memchr(s, '\n', (size_t)(text + len - s));
						if (!e)
							e = text + len;
						if (e > s) {
							n->list =
							    realloc(n->list, (n->n_list + 1) *
										 sizeof *n->list);
							if (!n->list)
								abort();
							n->list[n->n_list++] =
							    strndup(s, (size_t)(e - s));
						}
					}
					free(text);
				}
			}
		}
		for (size_t i = 0; i < o.n; i++)
			otree_free(o.kids[i]);
		free(o.kids);
	} else {
		char msg[200];
		snprintf(msg, sizeof msg, "syntax error, unexpected LL_IDENTIFIER ('%s')", name);
		lex_fail(L, 1, "Error parsing %s, %s in %s:%d:%d-%d:%d:", P->what, msg, file, line,
			 col, line, col + (int)strlen(name));
	}
	if (n) {
		n->file = file;
		n->line = line;
		n->col = col;
	}
	if (L->failed) {
		ls_fnode_free(n);
		return NULL;
	}
	return n;
}

static struct fnode *fp_and(struct fparse *P)
{
	struct fnode *l = fp_primary(P);
	while (l) {
		lex_next(P->L);
		if (!is_kw(P->L, "and")) {
			lex_unget(P->L);
			return l;
		}
		struct fnode *n = fnode_new(P->L, FN_AND);
		n->l = l;
		n->r = fp_primary(P);
		if (!n->r) {
			ls_fnode_free(n);
			return NULL;
		}
		l = n;
	}
	return l;
}

static struct fnode *fp_or(struct fparse *P)
{
	struct fnode *l = fp_and(P);
	while (l) {
		lex_next(P->L);
		if (!is_kw(P->L, "or")) {
			lex_unget(P->L);
			return l;
		}
		struct fnode *n = fnode_new(P->L, FN_OR);
		n->l = l;
		n->r = fp_and(P);
		if (!n->r) {
			ls_fnode_free(n);
			return NULL;
		}
		l = n;
	}
	return l;
}

/* A filter body: EXPR [; EXPR]... [;] up to '}' ("A; B" is "A and B"). */
static struct fnode *fp_body(struct fparse *P)
{
	struct lex *L = P->L;
	struct fnode *root = NULL;
	for (;;) {
		lex_next(L);
		if (L->t == T_RB && root) {
			lex_unget(L);
			return root;
		}
		lex_unget(L);
		struct fnode *e = fp_or(P);
		if (!e) {
			ls_fnode_free(root);
			return NULL;
		}
		if (root) {
			struct fnode *a = fnode_new(L, FN_AND);
			a->l = root;
			a->r = e;
			root = a;
		} else {
			root = e;
		}
		lex_next(L);
		if (L->t == T_SEMI)
			continue;
		if (L->t == T_RB) {
			lex_unget(L);
			return root;
		}
		syntax_error(L, P->what, "';'");
		ls_fnode_free(root);
		return NULL;
	}
}

/* ------------------------------------------------------------ config model */

void ls_cfg_warn(struct ls_cfg *c, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	char **w = realloc(c->warnings, (c->n_warnings + 1) * sizeof *w);
	if (!w)
		abort();
	c->warnings = w;
	w[c->n_warnings++] = xstrdup(buf);
}

int ls_cfg_tag(struct ls_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_tags; i++)
		if (!strcmp(c->tags[i], name))
			return (int)i;
	if (c->n_tags >= 64)
		return -1;
	char **t = realloc(c->tags, (c->n_tags + 1) * sizeof *t);
	if (!t)
		abort();
	c->tags = t;
	t[c->n_tags] = xstrdup(name);
	return (int)c->n_tags++;
}

size_t ls_cfg_warning_count(const struct ls_cfg *c)
{
	return c->n_warnings;
}

const char *ls_cfg_warning(const struct ls_cfg *c, size_t i)
{
	return i < c->n_warnings ? c->warnings[i] : NULL;
}

static struct ls_filter *find_filter(struct ls_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_flt; i++)
		if (!strcmp(c->flt[i]->name, name))
			return c->flt[i];
	return NULL;
}

static struct ls_source *find_source(struct ls_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_src; i++)
		if (!strcmp(c->src[i]->name, name))
			return c->src[i];
	return NULL;
}

static struct ls_dest *find_dest(struct ls_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_dst; i++)
		if (!strcmp(c->dst[i]->name, name))
			return c->dst[i];
	return NULL;
}

static char *anon_name(struct ls_cfg *c, int kind)
{
	static const char *const k[] = {"source", "filter", "destination", "log"};
	char buf[64];
	snprintf(buf, sizeof buf, "#anon-%s%d", k[kind], c->anon[kind]++);
	return xstrdup(buf);
}

/* --------------------------------------------------------- source drivers */

static const char *const src_drivers[] = {
    "unix-dgram",    "unix-stream", "udp",	"tcp",	  "udp6",
    "tcp6",	     "network",	    "syslog",	"file",	  "pipe",
    "wildcard-file", "stdin",	    "internal", "system", NULL};
static const char *const dst_drivers[] = {"file",    "pipe",   "usertty",	 "udp", "tcp",
					  "network", "syslog", "getvirtconsole", NULL};

static bool known_driver(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (kw(*list, name))
			return true;
	return false;
}

static unsigned parse_src_flags(struct lex *L, struct otree *f, unsigned flags)
{
	if (!f)
		return flags;
	for (size_t i = 0; i < f->n; i++) {
		const char *v = f->kids[i]->val;
		if (!v)
			continue;
		if (kw(v, "no-parse"))
			flags |= LS_P_NO_PARSE;
		else if (kw(v, "syslog-protocol"))
			flags |= LS_P_SYSLOG_PROTOCOL;
		else if (kw(v, "sanitize-utf8"))
			flags |= LS_P_SANITIZE_UTF8;
		else if (kw(v, "validate-utf8"))
			flags |= LS_P_VALIDATE_UTF8;
		else if (kw(v, "expect-hostname"))
			flags |= LS_P_EXPECT_HOSTNAME;
		else if (kw(v, "no-hostname"))
			flags &= ~(unsigned)LS_P_EXPECT_HOSTNAME;
		else if (kw(v, "no-multi-line"))
			flags |= LS_P_NO_MULTI_LINE;
		else if (kw(v, "no-rfc3164-fallback"))
			flags |= LS_P_NO_3164_FALLBACK;
		else if (kw(v, "check-hostname"))
			flags |= LS_P_CHECK_HOSTNAME;
		else if (kw(v, "kernel") || kw(v, "store-legacy-msghdr") || kw(v, "empty-lines") ||
			 kw(v, "threaded") || kw(v, "assume-utf8") ||
			 kw(v, "dont-store-legacy-msghdr"))
			;
		else {
			char msg[200];
			snprintf(msg, sizeof msg, "unknown parse flag; flag='%s'", v);
			semantic_error(L, "source", msg);
		}
	}
	return flags;
}

static void sdrv_common(struct lex *L, struct ls_cfg *c, struct ls_sdrv *d, struct otree *o)
{
	d->default_pri = 13;
	d->keep_hostname = opt_find(o, "keep-hostname") ? opt_bool(o, "keep-hostname", 0) : -1;
	d->use_dns = opt_find(o, "use-dns") ? opt_bool(o, "use-dns", 0) : -1;
	d->log_msg_size = (size_t)opt_num(o, "log-msg-size", 0);
	d->perm = (int)opt_num(o, "perm", -1);
	const char *po = opt_str(o, "program-override");
	if (po)
		d->program_override = xstrdup(po);
	const char *ho = opt_str(o, "host-override");
	if (ho)
		d->host_override = xstrdup(ho);
	const char *df = opt_str(o, "default-facility");
	const char *dl = opt_str(o, "default-priority");
	if (!dl)
		dl = opt_str(o, "default-level");
	if (df || dl) {
		int fac = df ? ls_facility_by_name(df) : 1;
		int sev = dl ? ls_severity_by_name(dl) : 5;
		if (fac < 0 || sev < 0)
			semantic_error(L, "source", "Unknown default facility or priority");
		d->default_pri = fac * 8 + sev;
	}
	struct otree *tg = opt_find(o, "tags");
	for (size_t i = 0; tg && i < tg->n; i++)
		if (tg->kids[i]->val) {
			int t = ls_cfg_tag(c, tg->kids[i]->val);
			if (t >= 0)
				d->tags |= 1ull << t;
		}
	d->fd = -1;
}

static bool source_driver(struct lex *L, struct ls_cfg *c, struct ls_source *s, const char *name,
			  struct otree *o)
{
	struct ls_sdrv d = {0};
	sdrv_common(L, c, &d, o);
	const char *pos = opt_pos(o);
	if (kw(name, "unix-dgram") || kw(name, "unix-stream")) {
		d.kind = kw(name, "unix-dgram") ? SRC_UNIX_DGRAM : SRC_UNIX_STREAM;
		d.path = xstrdup(pos ? pos : "/dev/log");
		d.pflags |= LS_P_LOCAL;
		if (!pos) {
			syntax_error(L, "source", "LL_STRING");
			return false;
		}
	} else if (kw(name, "udp") || kw(name, "tcp") || kw(name, "network") ||
		   kw(name, "syslog") || kw(name, "udp6") || kw(name, "tcp6")) {
		const char *tr = opt_str(o, "transport");
		bool udp = kw(name, "udp") || kw(name, "udp6") ||
			   ((kw(name, "network") || kw(name, "syslog")) && tr && kw(tr, "udp"));
		if (kw(name, "network") && !tr)
			udp = false;
		if (tr && (kw(tr, "tls") || kw(tr, "proxied-tcp"))) {
			semantic_error(L, "source", "transport(tls) is not supported by logsift");
			return false;
		}
		d.kind = udp ? SRC_UDP : SRC_TCP;
		d.ip6 = kw(name, "udp6") || kw(name, "tcp6") || opt_num(o, "ip-protocol", 4) == 6;
		const char *ip = opt_str(o, "ip");
		if (!ip)
			ip = opt_str(o, "localip");
		snprintf(d.ip, sizeof d.ip, "%s", ip ? ip : (d.ip6 ? "::" : "0.0.0.0"));
		long port = opt_num(o, "port", -1);
		if (port < 0)
			port = opt_num(o, "localport", kw(name, "syslog") && !udp ? 601 : 514);
		d.port = (int)port;
		d.pflags |= LS_P_EXPECT_HOSTNAME;
		if (kw(name, "syslog")) {
			d.pflags |= LS_P_SYSLOG_PROTOCOL;
			d.framed = !udp;
		}
	} else if (kw(name, "file") || kw(name, "pipe") || kw(name, "wildcard-file")) {
		d.kind = kw(name, "pipe") ? SRC_PIPE : SRC_FILE;
		if (!pos) {
			syntax_error(L, "source", "LL_STRING");
			return false;
		}
		d.path = xstrdup(pos);
		/* 3.38: only unix sockets stopped expecting a host name */
		d.pflags |= LS_P_LOCAL | LS_P_EXPECT_HOSTNAME;
	} else if (kw(name, "stdin")) {
		d.kind = SRC_STDIN;
		d.pflags |= LS_P_LOCAL | LS_P_EXPECT_HOSTNAME;
	} else if (kw(name, "internal")) {
		d.kind = SRC_INTERNAL;
	} else if (kw(name, "system")) {
		/* Linux system(): /dev/log (LOGSIFT_DEVLOG overrides it for tests). */
		d.kind = SRC_UNIX_DGRAM;
		const char *dl = getenv("LOGSIFT_DEVLOG");
		d.path = xstrdup(dl ? dl : "/dev/log");
		d.pflags |= LS_P_LOCAL;
	} else {
		char msg[300];
		snprintf(msg, sizeof msg, "syntax error, unexpected LL_IDENTIFIER ('%s')", name);
		lex_fail(L, 1, "Error parsing source, %s in %s:%d:%d-%d:%d:", msg, L->file, L->line,
			 L->col, L->eline, L->ecol);
		return false;
	}
	/* flags() last: no-hostname must undo what the driver kind implies */
	d.pflags = parse_src_flags(L, opt_find(o, "flags"), d.pflags);
	PUSH(s->drv, s->n_drv, d);
	return true;
}

/* source NAME { driver(...); ... }; body after '{' up to '}' */
static struct ls_source *source_body(struct lex *L, struct ls_cfg *c, char *name)
{
	struct ls_source *s = calloc(1, sizeof *s);
	if (!s)
		abort();
	s->name = name;
	for (;;) {
		lex_next(L);
		if (L->failed)
			break;
		if (L->t == T_RB)
			break;
		if (L->t == T_SEMI)
			continue;
		if (L->t != T_ID) {
			syntax_error(L, "source statement", NULL);
			break;
		}
		char dname[64];
		snprintf(dname, sizeof dname, "%s", L->s.p);
		if (block_use(L, "source", dname))
			continue;
		if (!known_driver(src_drivers, dname)) {
			/* bison: the driver keyword is what it could not shift */
			lex_fail(L, 1,
				 "Error parsing config, syntax error, unexpected LL_IDENTIFIER, "
				 "expecting '}' in %s:%d:%d-%d:%d:",
				 L->file, L->line, L->col, L->eline, L->ecol);
			break;
		}
		if (!expect(L, T_LP, "source statement"))
			break;
		struct otree o = {0};
		bool ok = otree_args(L, &o, "source");
		if (ok)
			source_driver(L, c, s, dname, &o);
		for (size_t i = 0; i < o.n; i++)
			otree_free(o.kids[i]);
		free(o.kids);
		if (!ok)
			break;
	}
	s->tag = -1; /* ".source.NAME", registered after parsing as 3.38 does */
	return s;
}

/* ---------------------------------------------------- destination drivers */

static bool dest_driver(struct lex *L, struct ls_cfg *c, struct ls_dest *dst, const char *name,
			struct otree *o)
{
	struct ls_ddrv d = {0};
	struct ok_err e;
	d.fd = -1;
	d.perm = (int)opt_num(o, "perm", -1);
	d.dir_perm = (int)opt_num(o, "dir-perm", -1);
	d.create_dirs = opt_find(o, "create-dirs") ? opt_bool(o, "create-dirs", 0) : -1;
	const char *pos = opt_pos(o);
	const char *t = opt_str(o, "template");
	if (t) {
		d.tmpl = ls_tmpl_new(t, &e);
		if (!d.tmpl) {
			semantic_error(L, "destination", e.msg);
			return false;
		}
	}
	if (kw(name, "file") || kw(name, "pipe")) {
		d.kind = kw(name, "file") ? DST_FILE : DST_PIPE;
		if (!pos) {
			syntax_error(L, "destination", "LL_STRING");
			return false;
		}
		d.path = ls_tmpl_new(pos, &e);
		if (!d.path) {
			semantic_error(L, "destination", e.msg);
			return false;
		}
	} else if (kw(name, "usertty")) {
		d.kind = DST_USERTTY;
		d.path = ls_tmpl_new(pos ? pos : "*", &e);
	} else if (kw(name, "stdout")) {
		if (c->version < 404) {
			char msg[300];
			snprintf(msg, sizeof msg,
				 "syntax error, unexpected LL_IDENTIFIER ('stdout')");
			lex_fail(L, 1, "Error parsing destination, %s in %s:%d:%d-%d:%d:", msg,
				 L->file, L->line, L->col, L->eline, L->ecol);
			return false;
		}
		d.kind = DST_STDOUT;
	} else if (kw(name, "udp") || kw(name, "tcp") || kw(name, "network") ||
		   kw(name, "syslog")) {
		const char *tr = opt_str(o, "transport");
		bool udp = kw(name, "udp") || (tr && kw(tr, "udp"));
		d.kind = udp ? DST_UDP : DST_TCP;
		if (!pos) {
			syntax_error(L, "destination", "LL_STRING");
			return false;
		}
		snprintf(d.ip, sizeof d.ip, "%s", pos);
		d.port = (int)opt_num(o, "port", kw(name, "syslog") && !udp ? 601 : 514);
		d.syslog_proto = kw(name, "syslog");
	} else {
		char msg[300];
		snprintf(msg, sizeof msg, "syntax error, unexpected LL_IDENTIFIER ('%s')", name);
		lex_fail(L, 1, "Error parsing destination, %s in %s:%d:%d-%d:%d:", msg, L->file,
			 L->line, L->col, L->eline, L->ecol);
		return false;
	}
	PUSH(dst->drv, dst->n_drv, d);
	return true;
}

/* getvirtconsole(), from Debian's scl: the active virtual console. */
static bool dest_scl_block(struct lex *L, struct ls_cfg *c, struct ls_dest *dst, const char *name)
{
	if (!kw(name, "getvirtconsole"))
		return false;
	struct otree o = {0};
	struct otree k = {0};
	k.val = "/dev/tty10";
	struct otree *kp = &k;
	o.kids = &kp;
	o.n = 1;
	return dest_driver(L, c, dst, "file", &o);
}

static struct ls_dest *dest_body(struct lex *L, struct ls_cfg *c, char *name)
{
	struct ls_dest *d = calloc(1, sizeof *d);
	if (!d)
		abort();
	d->name = name;
	for (;;) {
		lex_next(L);
		if (L->failed || L->t == T_RB)
			break;
		if (L->t == T_SEMI)
			continue;
		if (L->t != T_ID) {
			syntax_error(L, "destination statement", NULL);
			break;
		}
		char dname[64];
		snprintf(dname, sizeof dname, "%s", L->s.p);
		if (block_use(L, "destination", dname))
			continue;
		if (!known_driver(dst_drivers, dname) &&
		    !(kw(dname, "stdout") && c->version >= 404)) {
			lex_fail(L, 1,
				 "Error parsing config, syntax error, unexpected LL_IDENTIFIER, "
				 "expecting '}' in %s:%d:%d-%d:%d:",
				 L->file, L->line, L->col, L->eline, L->ecol);
			break;
		}
		if (!expect(L, T_LP, "destination statement"))
			break;
		struct otree o = {0};
		bool ok = otree_args(L, &o, "destination");
		if (ok && !dest_scl_block(L, c, d, dname))
			dest_driver(L, c, d, dname, &o);
		for (size_t i = 0; i < o.n; i++)
			otree_free(o.kids[i]);
		free(o.kids);
		if (!ok)
			break;
	}
	return d;
}

/* ------------------------------------------------------------- log paths */

static struct ls_filter *filter_new(struct lex *L, struct ls_cfg *c, char *name)
{
	struct ls_filter *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->name = name;
	f->cfg = c;
	lex_next(L);
	f->file = L->file;
	f->line = L->line;
	f->col = L->col;
	lex_unget(L);
	struct fparse P = {L, c, "filter expression"};
	f->root = fp_body(&P);
	return f;
}

void ls_filter_free(struct ls_filter *f)
{
	if (!f)
		return;
	ls_fnode_free(f->root);
	free(f->name);
	free(f);
}

static void elem_add(struct ls_path *p, struct ls_elem e)
{
	PUSH(p->el, p->n_el, e);
}

static struct ls_path *log_body(struct lex *L, struct ls_cfg *c, const char *file, int line,
				int col);

/* flags(final fallback catchall ...) of a log statement */
static void log_flags(struct lex *L, struct ls_cfg *c, struct ls_path *p)
{
	struct otree o = {0};
	if (otree_args(L, &o, "log flags")) {
		for (size_t i = 0; i < o.n; i++) {
			const char *v = o.kids[i]->val;
			if (!v)
				continue;
			if (kw(v, "final"))
				p->flags |= PF_FINAL;
			else if (kw(v, "fallback"))
				p->flags |= PF_FALLBACK;
			else if (kw(v, "catchall") || kw(v, "catch-all"))
				p->flags |= PF_CATCHALL;
			else if (kw(v, "flow-control"))
				p->flags |= PF_FLOW_CONTROL;
			else if (kw(v, "drop-unmatched"))
				p->flags |= PF_DROP_UNMATCHED;
			else
				ls_cfg_warn(c, "Unknown log statement flag; flag='%s'", v);
		}
	}
	for (size_t i = 0; i < o.n; i++)
		otree_free(o.kids[i]);
	free(o.kids);
}

/* One "source(...)" / "filter {...}" / "log {...}" / "junction {...}" item. */
static bool log_item(struct lex *L, struct ls_cfg *c, struct ls_path *p)
{
	char what[32];
	snprintf(what, sizeof what, "%s", L->s.p);
	struct ls_elem e = {0};
	e.file = L->file;
	e.line = L->line;
	e.col = L->col;
	if (kw(what, "flags")) {
		if (!expect(L, T_LP, "log"))
			return false;
		log_flags(L, c, p);
		return !L->failed;
	}
	if (kw(what, "log")) {
		if (!expect(L, T_LB, "log"))
			return false;
		struct ls_path *child = log_body(L, c, e.file, e.line, e.col);
		if (!child)
			return false;
		/* consecutive nested logs form one junction */
		if (p->n_el && p->el[p->n_el - 1].kind == EL_JUNCTION && !p->el[p->n_el - 1].ref) {
			PUSH(p->el[p->n_el - 1].br, p->el[p->n_el - 1].n_br, child);
		} else {
			e.kind = EL_JUNCTION;
			PUSH(e.br, e.n_br, child);
			elem_add(p, e);
		}
		return true;
	}
	if (kw(what, "junction")) {
		if (!expect(L, T_LB, "junction"))
			return false;
		e.kind = EL_JUNCTION;
		e.ref = NULL;
		/* On an error the branch array is freed here; the branches themselves
		 * belong to the configuration's list of all paths. */
		for (;;) {
			lex_next(L);
			if (L->failed)
				goto junction_fail;
			if (L->t == T_RB)
				break;
			if (L->t == T_SEMI)
				continue;
			if (!is_kw(L, "log") && !is_kw(L, "channel")) {
				syntax_error(L, "junction", "KW_LOG");
				goto junction_fail;
			}
			const char *f = L->file;
			int ln = L->line, cl = L->col;
			if (!expect(L, T_LB, "junction"))
				goto junction_fail;
			struct ls_path *child = log_body(L, c, f, ln, cl);
			if (!child)
				goto junction_fail;
			PUSH(e.br, e.n_br, child);
		}
		elem_add(p, e);
		/* mark it explicit: following nested log{}s must not merge into it */
		p->el[p->n_el - 1].ref = xstrdup("junction");
		return true;
	junction_fail:
		free(e.br);
		return false;
	}
	int kind = kw(what, "source")	     ? EL_SOURCE
		   : kw(what, "filter")	     ? EL_FILTER
		   : kw(what, "destination") ? EL_DEST
					     : -1;
	if (kind < 0) {
		if (block_use(L, "log", what))
			return !L->failed;
		if (kw(what, "parser") || kw(what, "rewrite")) {
			semantic_error(L, "log",
				       "parser() and rewrite() are not supported by logsift");
			return false;
		}
		syntax_error(L, "log statement", NULL);
		return false;
	}
	e.kind = (enum el_kind)kind;
	lex_next(L);
	if (L->t == T_LP) {
		lex_next(L);
		if (L->t != T_ID && L->t != T_STR) {
			syntax_error(L, "log statement", "LL_IDENTIFIER");
			return false;
		}
		e.ref = xstrdup(L->s.p);
		if (!expect(L, T_RP, "log statement")) {
			free(e.ref);
			return false;
		}
	} else if (L->t == T_LB) {
		if (kind == EL_SOURCE) {
			e.src = source_body(L, c, anon_name(c, 0));
			PUSH(c->src, c->n_src, e.src);
		} else if (kind == EL_FILTER) {
			e.flt = filter_new(L, c, anon_name(c, 1));
			if (!L->failed && !expect(L, T_RB, "filter expression")) {
				ls_filter_free(e.flt);
				return false;
			}
			if (L->failed) {
				ls_filter_free(e.flt);
				return false;
			}
			PUSH(c->flt, c->n_flt, e.flt);
		} else {
			e.dst = dest_body(L, c, anon_name(c, 2));
			PUSH(c->dst, c->n_dst, e.dst);
		}
		if (L->failed)
			return false;
	} else {
		syntax_error(L, "log statement", "'('");
		return false;
	}
	elem_add(p, e);
	return true;
}

static void path_free(struct ls_path *p);

static struct ls_path *log_body(struct lex *L, struct ls_cfg *c, const char *file, int line,
				int col)
{
	struct ls_path *p = calloc(1, sizeof *p);
	if (!p)
		abort();
	p->file = file;
	p->line = line;
	p->col = col;
	bool after_nested = false;
	for (;;) {
		lex_next(L);
		if (L->failed)
			break;
		if (L->t == T_RB) {
			lex_next(L);
			if (L->t != T_SEMI) {
				syntax_error(L, "log statement", "';'");
				break;
			}
			PUSH(c->all_paths, c->n_all_paths, p);
			p->index = (int)c->n_all_paths;
			return p;
		}
		if (L->t == T_SEMI)
			continue;
		if (L->t != T_ID) {
			syntax_error(L, "log statement", NULL);
			break;
		}
		if (after_nested && !is_kw(L, "log") && !is_kw(L, "flags")) {
			/* 3.38: nested log statements close a log path */
			syntax_error(L, "log statement", "'}'");
			break;
		}
		if (is_kw(L, "log"))
			after_nested = true;
		bool nested =
		    is_kw(L, "log") || is_kw(L, "junction") || block_find(L, "log", L->s.p);
		if (!log_item(L, c, p))
			break;
		if (nested)
			continue; /* log_body / junction consumed their ';' */
		/* every other item ends with ';' (bison: expecting ';') */
		lex_next(L);
		if (L->t != T_SEMI) {
			syntax_error(L, "log statement", "';'");
			break;
		}
	}
	path_free(p);
	return NULL;
}

/* ---------------------------------------------------------------- options */

static void global_options(struct lex *L, struct ls_cfg *c)
{
	for (;;) {
		lex_next(L);
		if (L->failed || L->t == T_RB)
			break;
		if (L->t == T_SEMI)
			continue;
		if (L->t != T_ID) {
			syntax_error(L, "options statement", NULL);
			return;
		}
		char name[64];
		snprintf(name, sizeof name, "%s", L->s.p);
		const char *file = L->file;
		int line = L->line, col = L->col;
		if (!expect(L, T_LP, "options statement"))
			return;
		struct otree o = {0};
		if (!otree_args(L, &o, "options statement"))
			return;
		const char *v = opt_pos(&o);
		bool yes = v && (!strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"));
		long num = v ? strtol(v, NULL, 0) : 0;
		static const char *const ignored[] = {"owner",
						      "group",
						      "dir-owner",
						      "dir-group",
						      "time-reopen",
						      "time-reap",
						      "log-fifo-size",
						      "mark-freq",
						      "mark-mode",
						      "ts-format",
						      "frac-digits",
						      "threaded",
						      "log-iw-size",
						      "log-fetch-limit",
						      "stats-level",
						      "stats-max-dynamics",
						      "normalize-hostnames",
						      "use-rcptid",
						      "use-uniqid",
						      "dns-cache-size",
						      "dns-cache-expire",
						      "dns-cache-expire-failed",
						      "dns-cache-hosts",
						      "keep-timestamp",
						      "recv-time-zone",
						      "send-time-zone",
						      "local-time-zone",
						      "time-zone",
						      "flush-timeout",
						      "file-template",
						      "proto-template",
						      "on-error",
						      "check-hostname",
						      "custom-domain",
						      "mark",
						      "sync",
						      "time-sleep",
						      "suppress",
						      "pass-unix-credentials",
						      "chain-hostnames"};
		if (kw(name, "keep-hostname"))
			c->o.keep_hostname = yes;
		else if (kw(name, "owner") || kw(name, "group")) {
			free(kw(name, "owner") ? c->o.owner : c->o.group);
			if (kw(name, "owner"))
				c->o.owner = v && *v ? xstrdup(v) : NULL;
			else
				c->o.group = v && *v ? xstrdup(v) : NULL;
		} else if (kw(name, "chain-hostnames"))
			c->o.chain_hostnames = yes;
		else if (kw(name, "use-dns"))
			c->o.use_dns = yes || (v && !strcmp(v, "persist_only"));
		else if (kw(name, "use-fqdn"))
			c->o.use_fqdn = yes;
		else if (kw(name, "dns-cache"))
			c->o.dns_cache = yes;
		else if (kw(name, "create-dirs"))
			c->o.create_dirs = yes;
		else if (kw(name, "log-msg-size"))
			c->o.log_msg_size = num > 0 ? (size_t)num : 65536;
		else if (kw(name, "flush-lines"))
			c->o.flush_lines = (int)num;
		else if (kw(name, "stats-freq") || kw(name, "stats"))
			c->o.stats_freq = (int)num;
		else if (kw(name, "perm"))
			c->o.perm = (int)num;
		else if (kw(name, "dir-perm"))
			c->o.dir_perm = (int)num;
		else if (kw(name, "bad-hostname")) {
			int err;
			PCRE2_SIZE off;
			if (v)
				c->o.bad_hostname = pcre2_compile(
				    (PCRE2_SPTR)v, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
		} else {
			bool ok = false;
			for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
				if (kw(name, ignored[i]))
					ok = true;
			if (!ok) {
				lex_fail(
				    L, 1,
				    "Error parsing options statement, syntax error, unexpected "
				    "LL_IDENTIFIER in %s:%d:%d-%d:%d:",
				    file, line, col, line, col + (int)strlen(name));
			}
		}
		for (size_t i = 0; i < o.n; i++)
			otree_free(o.kids[i]);
		free(o.kids);
	}
}

/* ------------------------------------------------------------- resolution */

static bool check_loops(struct ls_cfg *c, struct fnode *n, struct lex *L)
{
	if (!n)
		return true;
	if (n->kind == FN_AND || n->kind == FN_OR)
		return check_loops(c, n->l, L) && check_loops(c, n->r, L);
	if (n->kind != FN_CALL)
		return true;
	if (!n->target) {
		n->target = find_filter(c, n->name);
		if (!n->target) {
			lex_fail(
			    L, 2,
			    "Referenced filter rule not found in filter() expression; rule='%s'\n"
			    "Error initializing message pipeline; plugin_name='not a plugin', "
			    "location='%s:%d:%d'",
			    n->name, n->file, n->line, n->col);
			return false;
		}
	}
	/* as 3.38's filter-call init: the first call node met twice names the loop */
	if (n->visiting) {
		lex_fail(L, 2, "Loop detected in filter rule; rule='%s'", n->target->name);
		return false;
	}
	n->visiting = true;
	bool ok = check_loops(c, n->target->root, L);
	n->visiting = false;
	return ok;
}

static bool resolve_path(struct lex *L, struct ls_cfg *c, struct ls_path *p, bool top)
{
	for (size_t i = 0; i < p->n_el; i++) {
		struct ls_elem *e = &p->el[i];
		if (e->kind == EL_JUNCTION) {
			for (size_t k = 0; k < e->n_br; k++)
				if (!resolve_path(L, c, e->br[k], false))
					return false;
			continue;
		}
		static const char *const what[] = {"source", "filter", "destination"};
		if (e->ref) {
			if (e->kind == EL_SOURCE)
				e->src = find_source(c, e->ref);
			else if (e->kind == EL_FILTER)
				e->flt = find_filter(c, e->ref);
			else
				e->dst = find_dest(c, e->ref);
			if (!e->src && !e->flt && !e->dst) {
				lex_fail(L, 2,
					 "Error resolving reference; content='%s', name='%s', "
					 "location='%s:%d:%d'",
					 what[e->kind], e->ref, e->file, e->line, e->col);
				return false;
			}
		}
		if (e->kind == EL_SOURCE && top) {
			struct ls_source *s = e->src;
			bool dup = false;
			for (size_t k = 0; k < s->n_paths; k++)
				if (s->paths[k] == p)
					dup = true;
			if (!dup)
				PUSH(s->paths, s->n_paths, p);
		}
	}
	return true;
}

static bool resolve(struct lex *L, struct ls_cfg *c)
{
	for (size_t i = 0; i < c->n_flt; i++) {
		struct ls_filter *f = c->flt[i];
		f->visiting = true;
		bool ok = check_loops(c, f->root, L);
		f->visiting = false;
		if (!ok)
			return false;
	}
	for (size_t i = 0; i < c->n_paths; i++)
		if (!resolve_path(L, c, c->paths[i], true))
			return false;
	for (size_t i = 0; i < c->n_src; i++) {
		char tag[300];
		snprintf(tag, sizeof tag, ".source.%s", c->src[i]->name);
		c->src[i]->tag = ls_cfg_tag(c, tag);
	}
	ls_tmpl_set_tags((const char *const *)c->tags, c->n_tags);
	/* catchall paths take every source, in config order among the others */
	for (size_t s = 0; s < c->n_src; s++) {
		struct ls_source *src = c->src[s];
		struct ls_path **v = NULL;
		size_t n = 0;
		for (size_t i = 0; i < c->n_paths; i++) {
			struct ls_path *p = c->paths[i];
			bool has = (p->flags & PF_CATCHALL) != 0;
			for (size_t k = 0; k < src->n_paths; k++)
				if (src->paths[k] == p)
					has = true;
			if (has)
				PUSH(v, n, p);
		}
		free(src->paths);
		src->paths = v;
		src->n_paths = n;
	}
	return true;
}

/* ------------------------------------------------------------ top level */

static void parse_top(struct lex *L, struct ls_cfg *c)
{
	for (;;) {
		lex_next(L);
		if (L->failed || L->t == T_EOF)
			return;
		if (L->t == T_SEMI)
			continue;
		if (L->t != T_ID) {
			syntax_error(L, "config", NULL);
			return;
		}
		if (!L->saw_version) {
			lex_fail(
			    L, 1,
			    "ERROR: configuration files without a version number have become "
			    "unsupported in syslog-ng 3.13, please specify a version number using "
			    "@version as the first line in the configuration file;");
			return;
		}
		char what[32];
		snprintf(what, sizeof what, "%s", L->s.p);
		const char *file = L->file;
		int line = L->line, col = L->col;
		if (kw(what, "options")) {
			if (!expect(L, T_LB, "options statement"))
				return;
			global_options(L, c);
		} else if (kw(what, "source") || kw(what, "destination") || kw(what, "filter")) {
			lex_next(L);
			if (L->t != T_ID && L->t != T_STR) {
				syntax_error(L, what, "LL_IDENTIFIER");
				return;
			}
			char *name = xstrdup(L->s.p);
			if (!expect(L, T_LB, what)) {
				free(name);
				return;
			}
			if (kw(what, "source")) {
				if (find_source(c, name))
					ls_cfg_warn(c, "Duplicate source; name='%s'", name);
				struct ls_source *s = source_body(L, c, name);
				PUSH(c->src, c->n_src, s);
			} else if (kw(what, "destination")) {
				struct ls_dest *d = dest_body(L, c, name);
				PUSH(c->dst, c->n_dst, d);
			} else {
				struct ls_filter *f = filter_new(L, c, name);
				if (!L->failed)
					expect(L, T_RB, "filter expression");
				if (!f->root) {
					ls_filter_free(f);
					return;
				}
				PUSH(c->flt, c->n_flt, f);
			}
			if (L->failed)
				return;
		} else if (kw(what, "log")) {
			if (!expect(L, T_LB, "log statement"))
				return;
			struct ls_path *p = log_body(L, c, file, line, col);
			if (!p)
				return;
			PUSH(c->paths, c->n_paths, p);
			continue; /* log_body consumed the ';' */
		} else if (kw(what, "block")) {
			block_define(L);
			if (L->failed)
				return;
		} else if (block_find(L, "root", what)) {
			block_use(L, "root", what);
			if (L->failed)
				return;
			lex_next(L);
			if (L->t != T_SEMI)
				lex_unget(L);
			continue;
		} else if (kw(what, "parser") || kw(what, "rewrite") || kw(what, "template") ||
			   kw(what, "application") || kw(what, "python") ||
			   kw(what, "template-function")) {
			/* skip the statement: braces balanced */
			int depth = 0;
			for (;;) {
				lex_next(L);
				if (L->t == T_EOF || L->failed)
					return;
				if (L->t == T_LB)
					depth++;
				if (L->t == T_RB && --depth == 0)
					break;
			}
			if (kw(what, "parser") || kw(what, "rewrite") || kw(what, "template"))
				ls_cfg_warn(c, "logsift ignores %s statements; location='%s:%d:%d'",
					    what, file, line, col);
		} else {
			syntax_error(L, "config", NULL);
			return;
		}
		lex_next(L);
		if (L->t != T_SEMI) {
			syntax_error(L, what, "';'");
			return;
		}
	}
}

static struct ls_cfg *cfg_new(void)
{
	struct ls_cfg *c = calloc(1, sizeof *c);
	if (!c)
		abort();
	c->version = 0;
	c->o.use_dns = 1;
	c->o.dns_cache = 1;
	c->o.log_msg_size = 65536;
	c->o.perm = 0600;
	c->o.dir_perm = 0700;
	c->o.stats_freq = 600;
	return c;
}

static struct ls_cfg *parse_text(char *text, size_t len, const char *name, struct ok_err *e)
{
	struct ls_cfg *c = cfg_new();
	struct lex L = {0};
	L.cfg = c;
	L.e = e;
	push_text(&L, text, len, name);
	parse_top(&L, c);
	if (!L.failed)
		resolve(&L, c);
	while (L.in)
		pop_text(&L);
	for (struct define *d = L.defs, *n; d; d = n) {
		n = d->next;
		free(d->name);
		free(d->value);
		free(d);
	}
	ls_buf_free(&L.s);
	block_free_all(L.blocks);
	if (L.failed) {
		ls_cfg_free(c);
		return NULL;
	}
	return c;
}

struct ls_cfg *ls_cfg_parse(const char *text, size_t len, const char *name, struct ok_err *e)
{
	char *copy = malloc(len + 1);
	if (!copy)
		abort();
	memcpy(copy, text, len);
	copy[len] = 0;
	return parse_text(copy, len, name, e);
}

struct ls_cfg *ls_cfg_load(const char *path, struct ok_err *e)
{
	char *text;
	size_t len;
	int r = read_file(path, &text, &len);
	if (r < 0) {
		ok_err_at(e, r, path, OK_ERR_NOPOS,
			  "Error opening configuration file; filename='%s'", path);
		if (e)
			e->errnum = 1;
		return NULL;
	}
	return parse_text(text, len, path, e);
}

static void path_free(struct ls_path *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n_el; i++) {
		free(p->el[i].ref);
		free(p->el[i].br); /* branches are in all_paths */
	}
	free(p->el);
	free(p);
}

static void ddrv_close(struct ls_ddrv *d);

void ls_cfg_free(struct ls_cfg *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_src; i++) {
		struct ls_source *s = c->src[i];
		for (size_t k = 0; k < s->n_drv; k++) {
			free(s->drv[k].path);
			free(s->drv[k].program_override);
			free(s->drv[k].host_override);
			free(s->drv[k].line_buf);
		}
		free(s->drv);
		free(s->paths);
		free(s->name);
		free(s);
	}
	free(c->src);
	for (size_t i = 0; i < c->n_dst; i++) {
		struct ls_dest *d = c->dst[i];
		for (size_t k = 0; k < d->n_drv; k++)
			ddrv_close(&d->drv[k]);
		free(d->drv);
		free(d->name);
		free(d);
	}
	free(c->dst);
	for (size_t i = 0; i < c->n_flt; i++)
		ls_filter_free(c->flt[i]);
	free(c->flt);
	for (size_t i = 0; i < c->n_all_paths; i++)
		path_free(c->all_paths[i]);
	free(c->all_paths);
	free(c->paths);
	if (c->n_tags)
		ls_tmpl_forget_tags((const char *const *)c->tags);
	for (size_t i = 0; i < c->n_tags; i++)
		free(c->tags[i]);
	free(c->tags);
	for (size_t i = 0; i < c->n_files; i++)
		free(c->files[i]);
	free(c->files);
	for (size_t i = 0; i < c->n_warnings; i++)
		free(c->warnings[i]);
	free(c->warnings);
	if (c->o.bad_hostname)
		pcre2_code_free(c->o.bad_hostname);
	free(c->o.owner);
	free(c->o.group);
	free(c);
}

static void ddrv_close(struct ls_ddrv *d)
{
	for (struct open_file *f = d->files, *n; f; f = n) {
		n = f->next;
		free(f->path);
		ls_buf_free(&f->wbuf);
		free(f);
	}
	ls_tmpl_free(d->path);
	ls_tmpl_free(d->tmpl);
}

struct ls_filter *ls_filter_compile(struct ls_cfg *c, const char *expr, struct ok_err *e)
{
	struct lex L = {0};
	L.cfg = c;
	L.e = e;
	L.saw_version = true;
	struct ls_buf b = {0};
	ls_buf_add(&b, expr, strlen(expr));
	push_text(&L, b.p, b.len, "--trace-match");
	struct ls_filter *f = calloc(1, sizeof *f);
	if (!f)
		abort();
	f->name = xstrdup("--trace-match");
	f->cfg = c;
	f->file = L.in->file;
	f->line = f->col = 1;
	struct fparse P = {&L, c, "filter expression"};
	f->root = fp_or(&P);
	if (!L.failed) {
		lex_next(&L);
		if (L.t != T_EOF && L.t != T_SEMI)
			syntax_error(&L, "filter expression", "$end");
	}
	if (!L.failed)
		check_loops(c, f->root, &L);
	while (L.in)
		pop_text(&L);
	ls_buf_free(&L.s);
	if (L.failed) {
		ls_filter_free(f);
		return NULL;
	}
	return f;
}
