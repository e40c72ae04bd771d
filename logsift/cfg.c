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
 *
 * Ownership (why no error path frees anything): the parser stops at the
 * first error and unwinds by plain returns, so every allocation has an owner
 * from the moment it is made, never a local variable:
 *   1. option trees and other statement-local text live in the parse's
 *      scratch list (scratch_*), freed as a whole after each top-level
 *      statement and when the parse ends;
 *   2. a source, destination, filter or block is linked into its list (the
 *      configuration's, or the lexer's for blocks) when it is created, a
 *      driver or a log element into its parent before it is filled in;
 *   3. a filter owns every node parsed for it (the fnode owned_next list),
 *      linked into the tree or not;
 *   4. a log path is on the lexer's stack of open paths until its '}' ;'
 *      moves it to cfg->all_paths.
 * lex_done() frees what the lexer owns and ls_cfg_free() the rest, on
 * success and failure alike.
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
#include <poll.h>
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

/* calloc() that aborts when out of memory, as PUSH does. */
static void *xcalloc(size_t n)
{
	void *p = calloc(1, n);
	if (!p)
		abort();
	return p;
}

/* strdup() of s, or of "" for NULL, that aborts when out of memory. */
static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

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
	int depth;	 /* include depth */
	size_t included; /* bytes read by @include so far (bounded) */
	bool saw_version;
	struct ok_err *e;
	int err_code; /* syslog-ng's exit code for the error: 1 syntax, 2 reference */
	bool failed;
	struct block *blocks; /* block definitions, newest first */
	int expansions;	      /* guards against self-expanding blocks */
	void **scratch;	      /* statement-local allocations (scratch_*) */
	size_t n_scratch, cap_scratch;
	struct ls_path **open; /* log paths still being parsed, innermost last */
	size_t n_open;
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

/* Scratch: memory that lives until scratch_free(), the end of the current
 * top-level statement (or of the parse). */
static void *scratch_keep(struct lex *L, void *p)
{
	if (!p)
		abort();
	if (L->n_scratch == L->cap_scratch) {
		size_t cap = L->cap_scratch ? 2 * L->cap_scratch : 64;
		void **v = realloc(L->scratch, cap * sizeof *v);
		if (!v)
			abort();
		L->scratch = v;
		L->cap_scratch = cap;
	}
	L->scratch[L->n_scratch++] = p;
	return p;
}

static void *scratch_alloc(struct lex *L, size_t n)
{
	return scratch_keep(L, calloc(1, n));
}

static char *scratch_strdup(struct lex *L, const char *s)
{
	return scratch_keep(L, strdup(s ? s : ""));
}

static void scratch_free(struct lex *L)
{
	for (size_t i = 0; i < L->n_scratch; i++)
		free(L->scratch[i]);
	free(L->scratch);
	L->scratch = NULL;
	L->n_scratch = L->cap_scratch = 0;
}

static const char *intern_file(struct ls_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_files; i++)
		if (!strcmp(c->files[i], name))
			return c->files[i];
	char **f = realloc(c->files, (c->n_files + 1) * sizeof *f);
	if (!f)
		abort();
	c->files = f;
	f[c->n_files] = xstrdup(name);
	return f[c->n_files++];
}

static void push_text(struct lex *L, char *text, size_t len, const char *file)
{
	struct src_buf *b = xcalloc(sizeof *b);
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

/* Record an error once: e->msg gets the text, e->cls the kind: bad data for
 * syslog-ng's code 1 (syntax), refused for its code 2 (a reference error or a
 * loop in a configuration that parsed: the daemon will not start with it). */
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
		L->e->err = -EINVAL;
		L->e->cls = code == 2 ? OK_CLASS_REFUSED : OK_CLASS_DATA;
	}
}

/* What syslog-ng 3.38 adds to the error of a failed @-line: its parser
 * resyncs on the '@' and fails again at the line's first column. */
#define RESYNC_ERROR                                                                               \
	"Error parsing config, syntax error, unexpected LL_ERROR, expecting end of file in "       \
	"%s:%d:1-%d:2:"
#define PRAGMA_RESYNC "\n" RESYNC_ERROR

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

/* Push one included file for reading: 0, -errno if it is no readable
 * regular file, or -EFBIG (error recorded) once all included text together
 * passes INCLUDE_MAX. */
static int include_file(struct lex *L, const char *path, const char *name)
{
	char *text;
	size_t len;
	int r = read_file(path, &text, &len);
	if (r < 0)
		return r;
	if ((L->included += len) > INCLUDE_MAX) {
		free(text);
		lex_fail(L, 1, "Included files exceed %d MiB in total; filename='%s'",
			 INCLUDE_MAX >> 20, name);
		return -EFBIG;
	}
	push_text(L, text, len, path);
	return 0;
}

/* @include NAME (at columns c1-c2 of its line): a file, a directory's
 * files or a glob's matches, pushed so that they are read in order. */
static void do_include(struct lex *L, const char *name, int c1, int c2)
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
		lex_fail(
		    L, 1,
		    "Include file/directory not found; filename='%s', "
		    "include-path='/etc/syslog-ng'\n"
		    "Error parsing pragma, Error including %s in %s:%d:%d-%d:%d:" PRAGMA_RESYNC,
		    name, name, L->file, L->line, c1, L->line, c2, L->file, L->line, L->line);
		return;
	}
	/* push in reverse so the first file is read first */
	for (size_t i = g.gl_pathc; i-- > 0 && !L->failed;) {
		if (include_file(L, g.gl_pathv[i], name) == 0 || L->failed)
			continue;
		/* not a regular file: a directory's files, in order */
		char sub[4200];
		snprintf(sub, sizeof sub, "%s/*", g.gl_pathv[i]);
		glob_t g2;
		if (glob(sub, 0, NULL, &g2) != 0)
			continue;
		for (size_t k = g2.gl_pathc; k-- > 0 && !L->failed;)
			include_file(L, g2.gl_pathv[k], name);
		globfree(&g2);
	}
	globfree(&g);
	if (!L->failed)
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
	struct define *d = xcalloc(sizeof *d);
	d->name = xstrdup(name);
	d->value = xstrdup(value);
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

/* syslog-ng's error for a malformed @-line: "unexpected WHAT[, expecting
 * X]" at columns c1-c2 of the pragma's line. */
static void pragma_error(struct lex *L, const char *what, const char *expecting, int c1, int c2)
{
	lex_fail(L, 1,
		 "Error parsing pragma, syntax error, unexpected %s%s%s in "
		 "%s:%d:%d-%d:%d:" PRAGMA_RESYNC,
		 what, expecting ? ", expecting " : "", expecting ? expecting : "", L->file,
		 L->line, c1, L->line, c2, L->file, L->line, L->line);
}

/* A pragma line that ends where expecting was due: bison sees LL_EOL at
 * the newline, or the end of the file at the last token (the pragma's name
 * from word_col, or the last character). */
static void pragma_eol_error(struct lex *L, const char *expecting, int word_col)
{
	int c = L->in->col;
	if (peekc(L, 0) == '\n')
		pragma_error(L, "LL_EOL", expecting, c, c + 1);
	else
		pragma_error(L, "end of file", expecting, word_col < c ? word_col : c - 1, c);
}

/* After '@' in column 1: @version, @include, @define, @module, @requires. */
static void pragma(struct lex *L)
{
	struct ls_buf word = {0}, rest = {0};
	int c, word_col = L->in->col;
	while ((c = peekc(L, 0)) >= 0 && (isalnum(c) || c == '-' || c == '_' || c >= 0x80)) {
		getc_(L);
		ls_buf_addc(&word, (char)c);
	}
	bool colon = peekc(L, 0) == ':';
	if (colon)
		getc_(L);
	int rest_col = L->in->col;
	read_line(L, &rest);
	char *r = rest.p ? rest.p : "";
	while (*r == ' ' || *r == '\t')
		r++, rest_col++;
	const char *w = word.p ? word.p : "";
	/* at the end of the file, bison's last token is the name if nothing follows */
	int eof_col = !colon && !*r ? word_col : L->in->col + 1;
	if (!*w && !*r) {
		pragma_eol_error(L, NULL, eof_col);
	} else if (!strcmp(w, "version")) {
		/* MAJOR.MINOR, digits only (at most 4 each: no overflow) */
		unsigned maj = 0, min = 0;
		int len = 0;
		if (!*r)
			pragma_eol_error(L, colon ? NULL : "':'", eof_col);
		else if (!isdigit((unsigned char)*r) ||
			 sscanf(r, "%4u.%4u%n", &maj, &min, &len) < 2 ||
			 (r[len] && !isspace((unsigned char)r[len])))
			lex_fail(L, 1, RESYNC_ERROR, L->file, L->line, L->line);
		L->cfg->version = (int)(maj * 100 + min);
		L->saw_version = true;
	} else if (!strcmp(w, "include")) {
		char name[4096];
		size_t n = strlen(r);
		if (n >= 2 && (r[0] == '"' || r[0] == '\'') && r[n - 1] == r[0]) {
			snprintf(name, sizeof name, "%.*s", (int)(n - 2), r + 1);
		} else {
			snprintf(name, sizeof name, "%s", r);
		}
		if (!*r)
			pragma_eol_error(L, "LL_IDENTIFIER or LL_STRING", eof_col);
		else if ((r[0] == '"' || r[0] == '\'') && (n < 2 || r[n - 1] != r[0]))
			pragma_error(L, peekc(L, 0) == '\n' ? "LL_EOL" : "end of file",
				     "LL_IDENTIFIER or LL_STRING", rest_col, rest_col + (int)n);
		else
			do_include(L, name, rest_col, rest_col + (int)n);
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
		if (!*r)
			pragma_eol_error(L, "LL_IDENTIFIER", eof_col);
		else if (!n)
			pragma_eol_error(L, "LL_IDENTIFIER or LL_NUMBER or LL_FLOAT or LL_STRING",
					 eof_col);
		else
			define_set(L, r, val);
	} else if (!strcmp(w, "module") || !strcmp(w, "requires")) {
		/* modules are built in */
		if (!*r)
			pragma_eol_error(L, "LL_IDENTIFIER or LL_STRING", eof_col);
	} else {
		pragma_error(L, *w ? "LL_IDENTIFIER" : "LL_ERROR", NULL, word_col,
			     word_col + (int)(*w ? strlen(w) : 1));
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
	char *text = xstrdup(v);
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
		if (peekc(L, 0) == '>') {
			/* "=>", the arrow of http()'s response-action(404 => drop) */
			getc_(L);
			ls_buf_add(&L->s, "=>", 2);
			L->t = T_OP;
			break;
		}
		/* fall through */
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

/* bison's "unexpected LL_IDENTIFIER ('name')": a word it has no rule for. */
static void unexpected_id(struct lex *L, const char *what, const char *name, const char *file,
			  int line, int col, int eline, int ecol)
{
	lex_fail(L, 1,
		 "Error parsing %s, syntax error, unexpected LL_IDENTIFIER ('%s') in "
		 "%s:%d:%d-%d:%d:",
		 what, name, file, line, col, eline, ecol);
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

/* ------------------------------------------------------------ option trees */

/* "name(args...)" as parsed, before a driver or block gives it meaning. All
 * of it (nodes, arrays, text) lives in the parse's scratch list. */
struct otree {
	char *name;	     /* NULL for a positional value */
	char *val;	     /* positional value text */
	enum tok vt;	     /* its token kind */
	struct otree **kids; /* arguments of name(...) */
	size_t n, cap;
	const char *file;
	int line, col, eline, ecol; /* token range */
};

static void otree_add(struct lex *L, struct otree *p, struct otree *k)
{
	if (p->n == p->cap) {
		/* the old array stays in scratch until the statement ends */
		size_t cap = p->cap ? 2 * p->cap : 4;
		struct otree **v = scratch_alloc(L, cap * sizeof *v);
		if (p->n)
			memcpy(v, p->kids, p->n * sizeof *v);
		p->kids = v;
		p->cap = cap;
	}
	p->kids[p->n++] = k;
}

/* After "name(" : values and nested options up to the matching ')'. */
static bool otree_args(struct lex *L, struct otree *o, const char *what)
{
	for (;;) {
		lex_next(L);
		if (L->failed)
			return false;
		if (L->t == T_RP)
			return true;
		if (L->t == T_COMMA)
			continue;
		if (L->t != T_STR && L->t != T_NUM && L->t != T_ID && L->t != T_DOTDOT &&
		    !(L->t == T_OP && !strcmp(L->s.p, "=>"))) {
			syntax_error(L, what, NULL);
			return false;
		}
		struct otree *k = scratch_alloc(L, sizeof *k);
		k->file = L->file;
		k->line = L->line;
		k->col = L->col;
		k->eline = L->eline;
		k->ecol = L->ecol;
		k->vt = L->t;
		char *text = scratch_strdup(L, L->t == T_DOTDOT ? ".." : L->s.p);
		otree_add(L, o, k);
		if (k->vt == T_ID) {
			lex_next(L);
			if (L->t == T_LP) {
				k->name = text;
				k->vt = 0;
				if (!otree_args(L, k, what))
					return false;
				continue;
			}
			lex_unget(L);
		}
		k->val = text;
	}
}

/* "(args...)" after a name: a new option tree, or NULL after an error. */
static struct otree *otree_parse(struct lex *L, const char *what)
{
	struct otree *o = scratch_alloc(L, sizeof *o);
	return otree_args(L, o, what) ? o : NULL;
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

/* A flags() word and what it does to a bit set. */
struct flag_name {
	const char *name;
	unsigned set, clear;
};

/* The entry for word v in a table ended by a NULL name, or NULL. */
static const struct flag_name *flag_find(const struct flag_name *t, const char *v)
{
	for (; t->name; t++)
		if (kw(v, t->name))
			return t;
	return NULL;
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

/* A block that is still being defined (no body yet) is not found. */
static struct block *block_find(struct lex *L, const char *type, const char *name)
{
	for (struct block *b = L->blocks; b; b = b->next)
		if (b->body && kw(b->type, type) && kw(b->name, name))
			return b;
	return NULL;
}

static void otree_join(const struct otree *o, bool raw, struct ls_buf *out);

/* Text of an option tree value: a quoted string, a bare word or number, or
 * name(args) rebuilt. */
static void otree_text(const struct otree *o, struct ls_buf *out)
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
	otree_join(o, false, out);
	ls_buf_addc(out, ')');
}

/* o's arguments as config text, space-separated. With raw a string argument
 * is its bare content: what a block parameter's `name` expands to. */
static void otree_join(const struct otree *o, bool raw, struct ls_buf *out)
{
	for (size_t i = 0; i < o->n; i++) {
		const struct otree *k = o->kids[i];
		if (i)
			ls_buf_addc(out, ' ');
		if (raw && !k->name && k->vt == T_STR)
			ls_buf_add(out, k->val, strlen(k->val));
		else
			otree_text(k, out);
	}
}

/*
 * After "block": TYPE NAME(params) { raw body } ; . The body is kept as text
 * (syslog-ng also expands blocks textually) and parsed at each use. The
 * block is on L->blocks from the start; block_find() takes it once its body
 * is read.
 */
static void block_define(struct lex *L)
{
	struct block *b = xcalloc(sizeof *b);
	b->file = L->file;
	b->line = L->line;
	b->next = L->blocks;
	L->blocks = b;
	lex_next(L);
	if (L->t != T_ID) {
		syntax_error(L, "block definition", "LL_IDENTIFIER");
		return;
	}
	b->type = xstrdup(L->s.p);
	lex_next(L);
	if (L->t != T_ID && L->t != T_STR) {
		syntax_error(L, "block definition", "LL_IDENTIFIER");
		return;
	}
	b->name = xstrdup(L->s.p);
	if (!expect(L, T_LP, "block definition"))
		return;
	for (;;) {
		lex_next(L);
		if (L->failed)
			return;
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
			return;
		}
		/* name and default slot first, the default's text after */
		PUSH(b->param, b->n_param, xstrdup(L->s.p));
		b->n_param--;
		PUSH(b->deflt, b->n_param, NULL);
		struct ls_buf d = {0};
		lex_next(L);
		if (L->t == T_LP) {
			struct otree *o = otree_parse(L, "block definition");
			if (!o)
				return;
			otree_join(o, true, &d);
		} else {
			lex_unget(L);
		}
		b->deflt[b->n_param - 1] = d.p ? d.p : xstrdup("");
	}
	if (!expect(L, T_LB, "block definition"))
		return;
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
		return;
	}
	b->body = strndup(in->text + start, in->pos - start - 1);
	if (!b->body)
		abort();
}

/* The text of `name` (n bytes) in a body of b: an argument, a default or
 * the extra arguments; false if name is none of b's. */
static bool block_subst(const struct block *b, struct otree *const *arg, const struct otree *va,
			const char *name, size_t n, struct ls_buf *out)
{
	if (n == 11 && !strncmp(name, "__VARARGS__", 11)) {
		otree_join(va, false, out);
		return true;
	}
	for (size_t i = 0; i < b->n_param; i++)
		if (strlen(b->param[i]) == n && !strncmp(name, b->param[i], n)) {
			if (arg[i])
				otree_join(arg[i], true, out);
			else
				ls_buf_add(out, b->deflt[i], strlen(b->deflt[i]));
			return true;
		}
	return false;
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
	struct otree **arg = scratch_alloc(L, (b->n_param + 1) * sizeof *arg);
	struct otree *va = scratch_alloc(L, sizeof *va); /* arguments for `__VARARGS__` */
	for (size_t i = 0; i < o->n; i++) {
		struct otree *k = o->kids[i];
		size_t p = b->n_param;
		if (k->name)
			for (p = 0; p < b->n_param; p++)
				if (kw(k->name, b->param[p]))
					break;
		if (p < b->n_param) {
			arg[p] = k;
		} else if (b->varargs) {
			otree_add(L, va, k);
		} else {
			lex_fail(L, 1,
				 "Unknown argument for block; block='%s', argument='%s', "
				 "location='%s:%d:%d'",
				 b->name, k->name ? k->name : k->val, k->file, k->line, k->col);
			return;
		}
	}
	struct ls_buf out = {0};
	for (const char *p = b->body; *p;) {
		const char *e = *p == '`' ? strchr(p + 1, '`') : NULL;
		if (e && block_subst(b, arg, va, p + 1, (size_t)(e - p - 1), &out)) {
			p = e + 1;
			continue;
		}
		ls_buf_addc(&out, *p++);
	}
	ls_buf_addc(&out, '\n');
	out.len--;
	push_text(L, out.p, out.len, b->file);
	L->in->line = b->line;
}

/* If name is a block of this type: parse "(args)" and expand it. */
static bool block_use(struct lex *L, const char *type, const char *name)
{
	struct block *b = block_find(L, type, name);
	if (!b)
		return false;
	if (!expect(L, T_LP, "block reference"))
		return true;
	struct otree *o = otree_parse(L, "block reference");
	if (o)
		block_expand(L, b, o);
	return true;
}

/* ------------------------------------------------------- filter expressions */

/* One filter's parse. Every node is made by fnode_new() and so owned by the
 * filter f from its first moment: an fp_* function that fails just returns
 * NULL, whatever it built stays on f's list for ls_filter_free(). */
struct fparse {
	struct lex *L;
	struct ls_cfg *c;
	struct ls_filter *f; /* owner of every node */
	const char *what;    /* "filter expression" */
};

static struct fnode *fp_chain(struct fparse *P, bool or);

static struct fnode *fnode_new(struct fparse *P, enum fn_kind k)
{
	struct lex *L = P->L;
	struct fnode *n = xcalloc(sizeof *n);
	n->owned_next = P->f->nodes;
	P->f->nodes = n;
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

static const struct flag_name match_flags[] = {
    {"ignore-case", MF_ICASE, 0}, {"icase", MF_ICASE, 0},
    {"prefix", MF_PREFIX, 0},	  {"substring", MF_SUBSTRING, 0},
    {"global", MF_GLOBAL, 0},	  {"utf8", MF_UTF8, 0},
    {"unicode", MF_UTF8, 0},	  {"store-matches", MF_STORE, 0},
    {"newline", MF_NEWLINE, 0},	  {"disable-jit", MF_NOJIT, 0},
    {"dupnames", MF_DUPNAMES, 0}, {"nobackref", 0, 0},
    {"nobackrefs", 0, 0},	  {NULL, 0, 0}};

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
				struct otree *ft = k->kids[j];
				if (!ft->val)
					continue;
				const struct flag_name *fl = flag_find(match_flags, ft->val);
				if (fl)
					n->mflags |= fl->set;
				else
					lex_fail(L, 1,
						 "Error parsing %s, unknown matcher flag \"%s\" in "
						 "%s:%d:%d-%d:%d:",
						 P->what, ft->val, ft->file, ft->line, ft->col,
						 ft->eline, ft->ecol);
			}
		} else {
			syntax_error(L, P->what, NULL);
		}
	}
}

/* A comparison after its left operand: "tmpl" OP "tmpl". */
static struct fnode *fp_cmp(struct fparse *P)
{
	static const struct {
		enum tok t;
		const char *text;
		enum cmp_op op;
	} ops[] = {{T_OP, "==", OP_EQ},	 {T_OP, "!=", OP_NE},  {T_OP, "<", OP_LT},
		   {T_OP, "<=", OP_LE},	 {T_OP, ">", OP_GT},   {T_OP, ">=", OP_GE},
		   {T_OP, "===", OP_EQ}, {T_OP, "!==", OP_NE}, {T_ID, "eq", OP_EQ},
		   {T_ID, "ne", OP_NE},	 {T_ID, "lt", OP_LT},  {T_ID, "le", OP_LE},
		   {T_ID, "gt", OP_GT},	 {T_ID, "ge", OP_GE}};
	struct lex *L = P->L;
	struct fnode *n = fnode_new(P, FN_CMP);
	struct ok_err e;
	n->lnum = L->t == T_NUM;
	n->lt = ls_tmpl_new(L->s.p ? L->s.p : "", &e);
	lex_next(L);
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (L->t == ops[i].t && !strcmp(L->s.p, ops[i].text)) {
			n->op = ops[i].op;
			n->op_text = ops[i].text;
		}
	if (!n->op_text) {
		syntax_error(L, P->what, NULL);
		return NULL;
	}
	bool numeric = L->t == T_OP;
	lex_next(L);
	if (L->t != T_STR && L->t != T_NUM) {
		syntax_error(L, P->what, "LL_STRING or LL_NUMBER");
		return NULL;
	}
	n->rnum = L->t == T_NUM;
	n->rt = ls_tmpl_new(L->s.p ? L->s.p : "", &e);
	if (!n->lt || !n->rt) {
		semantic_error(L, P->what, e.msg);
		return NULL;
	}
	if (!numeric || (P->c->version && P->c->version < 308 && !n->lnum && !n->rnum))
		n->mode = CMP_STRING; /* before 3.8, == and friends compared strings */
	else if (P->c->version >= 400 || n->lnum || n->rnum || strlen(n->op_text) == 3)
		n->mode = CMP_TYPE_AWARE;
	else
		n->mode = CMP_NUMERIC;
	return n;
}

/* host(), program(), message(), match() after "name(". */
static struct fnode *fp_match(struct fparse *P, const char *name, const char *file, int line,
			      int col)
{
	struct lex *L = P->L;
	struct otree *o = otree_parse(L, P->what);
	if (!o)
		return NULL;
	struct fnode *n = fnode_new(P, FN_MATCH);
	n->kw = kw(name, "host")      ? "host"
		: kw(name, "program") ? "program"
		: kw(name, "message") ? "message"
				      : "match";
	/* compile errors point at the pattern, or at the ')' without one */
	const struct otree pat_at = {
	    .file = L->file, .line = L->line, .col = L->col, .eline = L->eline, .ecol = L->ecol};
	const struct otree *pat = &pat_at;
	for (size_t i = 0; i < o->n; i++)
		if (!o->kids[i]->name) {
			pat = o->kids[i];
			break;
		}
	n->pattern = xstrdup(pat->val);
	if (!pat->val)
		syntax_error(L, P->what, "LL_STRING");
	fp_match_opts(P, n, o);
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
	struct ok_err e;
	if (!L->failed && ls_fnode_compile(n, &e) < 0)
		lex_fail(L, 1, "Error parsing %s, %s in %s:%d:%d-%d:%d:", P->what, e.msg, pat->file,
			 pat->line, pat->col, pat->eline, pat->ecol);
	return n;
}

/* in-list("FILE", value("NAME")): one entry per non-empty line of FILE. */
static void fp_inlist(struct fparse *P, struct fnode *n, const char *arg, struct otree *o)
{
	n->name = xstrdup(arg);
	const char *v = opt_str(o, "value");
	n->value = xstrdup(v ? (v[0] == '$' ? v + 1 : v) : "MESSAGE");
	n->field = -1;
	char *text;
	size_t len;
	if (read_file(arg, &text, &len) < 0) {
		char msg[600];
		snprintf(msg, sizeof msg, "Error opening in-list filter list file; filename='%s'",
			 arg);
		semantic_error(P->L, P->what, msg);
		return;
	}
	for (char *s = text, *e; s < text + len; s = e + 1) {
		e = memchr(s, '\n', (size_t)(text + len - s));
		if (!e)
			e = text + len;
		if (e > s) {
			char *entry = strndup(s, (size_t)(e - s));
			if (!entry)
				abort();
			PUSH(n->list, n->n_list, entry);
		}
	}
	free(text);
}

/* source(), filter(), netmask(), netmask6(), in-list(), tags() after "name(". */
static struct fnode *fp_ref(struct fparse *P, const char *name)
{
	struct lex *L = P->L;
	struct otree *o = otree_parse(L, P->what);
	if (!o)
		return NULL;
	const char *arg = opt_pos(o);
	if (!arg) {
		syntax_error(L, P->what, "LL_STRING");
		return NULL;
	}
	struct fnode *n;
	if (kw(name, "source") || kw(name, "filter")) {
		n = fnode_new(P, kw(name, "source") ? FN_SOURCE : FN_CALL);
		n->name = xstrdup(arg);
	} else if (kw(name, "netmask") || kw(name, "netmask6")) {
		bool v6 = kw(name, "netmask6");
		n = fnode_new(P, v6 ? FN_NETMASK6 : FN_NETMASK);
		n->name = xstrdup(arg);
		if (ls_netmask_parse(n, arg, v6) < 0)
			semantic_error(L, P->what, v6 ? "Invalid netmask6" : "Invalid netmask");
	} else if (kw(name, "tags")) {
		n = fnode_new(P, FN_TAGS);
		for (size_t i = 0; i < o->n; i++)
			if (o->kids[i]->val) {
				PUSH(n->tagids, n->n_tagids, ls_cfg_tag(P->c, o->kids[i]->val));
			}
	} else {
		n = fnode_new(P, FN_INLIST);
		fp_inlist(P, n, arg, o);
	}
	return n;
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
		struct fnode *n = fp_chain(P, true);
		if (!n)
			return NULL;
		lex_next(L);
		if (L->t != T_RP) {
			syntax_error(L, P->what, "')'");
			return NULL;
		}
		return n;
	}
	if (L->t == T_STR || L->t == T_NUM)
		return fp_cmp(P);
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
		n = fnode_new(P, fac ? FN_FACILITY : FN_LEVEL);
		fp_names(P, n, fac);
	} else if (kw(name, "host") || kw(name, "program") || kw(name, "message") ||
		   kw(name, "match")) {
		n = fp_match(P, name, file, line, col);
	} else if (kw(name, "source") || kw(name, "filter") || kw(name, "netmask") ||
		   kw(name, "netmask6") || kw(name, "in-list") || kw(name, "tags")) {
		n = fp_ref(P, name);
	} else {
		unexpected_id(L, P->what, name, file, line, col, line, col + (int)strlen(name));
	}
	if (!n || L->failed)
		return NULL;
	n->file = file;
	n->line = line;
	n->col = col;
	return n;
}

/* "and" (or == false) or "or" chains, left-associative: bison's precedence
 * or < and < not. */
static struct fnode *fp_chain(struct fparse *P, bool or)
{
	struct fnode *l = or ? fp_chain(P, false) : fp_primary(P);
	while (l) {
		lex_next(P->L);
		if (!is_kw(P->L, or ? "or" : "and")) {
			lex_unget(P->L);
			return l;
		}
		struct fnode *n = fnode_new(P, or ? FN_OR : FN_AND);
		n->l = l;
		n->r = or ? fp_chain(P, false) : fp_primary(P);
		if (!n->r)
			return NULL;
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
		struct fnode *e = fp_chain(P, true);
		if (!e)
			return NULL;
		if (root) {
			struct fnode *a = fnode_new(P, FN_AND);
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
	return ls_tags_id(c->tags, name);
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
	static const char *const k[] = {"source", "filter",  "destination",
					"log",	  "rewrite", "parser"};
	char buf[64];
	snprintf(buf, sizeof buf, "#anon-%s%d", k[kind], c->anon[kind]++);
	return xstrdup(buf);
}

/* --------------------------------------------------------- source drivers */

static const char *const src_drivers[] = {
    "unix-dgram",    "unix-stream", "udp",	"tcp",	  "udp6",
    "tcp6",	     "network",	    "syslog",	"file",	  "pipe",
    "wildcard-file", "stdin",	    "internal", "system", NULL};
static const char *const dst_drivers[] = {"file", "pipe",    "usertty", "udp",
					  "tcp",  "network", "syslog",	"getvirtconsole",
					  "http", "amqp",    "program", NULL};

/* 3.38's drivers (of Debian's syslog-ng-core modules) logsift does not
 * have: refused by name, not taken for a typo (a syntax error). */
static const char *const sng_src_drivers[] = {"program", "systemd-journal", "systemd-syslog", NULL};
static const char *const sng_dst_drivers[] = {"unix-dgram", "unix-stream", "pseudofile", NULL};

static bool known_driver(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (kw(*list, name))
			return true;
	return false;
}

/* flags() of a source. threaded and store-legacy-msghdr (3.38's default)
 * change nothing logsift does; every other word has its bit. */
static const struct flag_name src_flags[] = {{"no-parse", LS_P_NO_PARSE, 0},
					     {"syslog-protocol", LS_P_SYSLOG_PROTOCOL, 0},
					     {"sanitize-utf8", LS_P_SANITIZE_UTF8, 0},
					     {"validate-utf8", LS_P_VALIDATE_UTF8, 0},
					     {"expect-hostname", LS_P_EXPECT_HOSTNAME, 0},
					     {"no-hostname", 0, LS_P_EXPECT_HOSTNAME},
					     {"no-multi-line", LS_P_NO_MULTI_LINE, 0},
					     {"no-rfc3164-fallback", LS_P_NO_3164_FALLBACK, 0},
					     {"check-hostname", LS_P_CHECK_HOSTNAME, 0},
					     {"kernel", LS_P_KERNEL, 0},
					     {"store-legacy-msghdr", 0, 0},
					     {"empty-lines", LS_P_EMPTY_LINES, 0},
					     {"threaded", 0, 0},
					     {"assume-utf8", LS_P_ASSUME_UTF8, 0},
					     {"dont-store-legacy-msghdr", LS_P_NO_LEGACY_MSGHDR, 0},
					     {NULL, 0, 0}};

static unsigned parse_src_flags(struct lex *L, struct otree *f, unsigned flags)
{
	for (size_t i = 0; f && i < f->n; i++) {
		const char *v = f->kids[i]->val;
		if (!v)
			continue;
		const struct flag_name *fl = flag_find(src_flags, v);
		if (fl) {
			flags = (flags | fl->set) & ~fl->clear;
		} else {
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
	d->iw_size = (int)opt_num(o, "log-iw-size", -1);
	d->max_conns = (int)opt_num(o, "max-connections", 10);
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
			PUSH(d->tags, d->n_tags, ls_cfg_tag(c, tg->kids[i]->val));
		}
	d->fd = -1;
}

/*
 * Driver options. Every option name syslog-ng 3.38's grammar knows for
 * sources and destinations (lib/cfg-parser.c, modules/afsocket, affile,
 * afprog, diskq) is either implemented (the impl_* lists) or refused at
 * start-up with "not supported by logsift"; a name 3.38 does not know is
 * its syntax error (rc 1). Nothing is accepted and ignored. The man page
 * has the table.
 */
static const char *const sng_driver_opts[] = {"flags",
					      "pad-size",
					      "truncate-size",
					      "mark-freq",
					      "mark-mode",
					      "flush-lines",
					      "flush-timeout",
					      "suppress",
					      "chain-hostnames",
					      "normalize-hostnames",
					      "keep-hostname",
					      "check-hostname",
					      "bad-hostname",
					      "keep-timestamp",
					      "encoding",
					      "ts-format",
					      "frac-digits",
					      "time-zone",
					      "recv-time-zone",
					      "send-time-zone",
					      "local-time-zone",
					      "format",
					      "use-time-recvd",
					      "use-fqdn",
					      "use-dns",
					      "time-reopen",
					      "time-reap",
					      "default-level",
					      "default-priority",
					      "default-severity",
					      "default-facility",
					      "threaded",
					      "log-fifo-size",
					      "log-fetch-limit",
					      "log-iw-size",
					      "log-msg-size",
					      "trim-large-messages",
					      "log-prefix",
					      "program-override",
					      "host-override",
					      "throttle",
					      "create-dirs",
					      "optional",
					      "owner",
					      "group",
					      "perm",
					      "dir-owner",
					      "dir-group",
					      "dir-perm",
					      "template",
					      "template-escape",
					      "on-error",
					      "dns-cache",
					      "persist-name",
					      "retries",
					      "workers",
					      "batch-lines",
					      "batch-timeout",
					      "read-old-records",
					      "use-syslogng-pid",
					      "tags",
					      "tls",
					      "localip",
					      "ip",
					      "interface",
					      "localport",
					      "port",
					      "destport",
					      "ip-ttl",
					      "ip-tos",
					      "ip-freebind",
					      "so-broadcast",
					      "so-rcvbuf",
					      "so-sndbuf",
					      "so-keepalive",
					      "so-reuseport",
					      "tcp-keep-alive",
					      "tcp-keepalive",
					      "tcp-keepalive-time",
					      "tcp-keepalive-probes",
					      "tcp-keepalive-intvl",
					      "so-passcred",
					      "local-creds",
					      "spoof-source",
					      "spoof-source-max-msglen",
					      "transport",
					      "ip-protocol",
					      "max-connections",
					      "listen-backlog",
					      "keep-alive",
					      "close-on-input",
					      "failover-servers",
					      "failover",
					      "dynamic-window-size",
					      "dynamic-window-stats-freq",
					      "dynamic-window-realloc-ticks",
					      "fsync",
					      "follow-freq",
					      "multi-line-mode",
					      "multi-line-prefix",
					      "multi-line-garbage",
					      "multi-line-suffix",
					      "multi-line-timeout",
					      "base-dir",
					      "filename-pattern",
					      "recursive",
					      "max-files",
					      "monitor-method",
					      "remove-if-older",
					      "overwrite-if-older",
					      "symlink-as",
					      "inherit-environment",
					      "disk-buffer",
					      "hook-commands",
					      "frac-digits",
					      NULL};
static const char *const impl_src_opts[] = {"flags",
					    "tags",
					    "program-override",
					    "host-override",
					    "default-facility",
					    "default-priority",
					    "default-level",
					    "default-severity",
					    "keep-hostname",
					    "use-dns",
					    "log-msg-size",
					    "perm",
					    "transport",
					    "ip",
					    "localip",
					    "port",
					    "localport",
					    "ip-protocol",
					    "tls",
					    "follow-freq",
					    "keep-timestamp",
					    "time-zone",
					    "persist-name",
					    "log-iw-size",
					    "format",
					    NULL};
/*
 * Destination options every file-like driver takes (3.38's dest_driver() and
 * template options, LogQueue's disk-buffer(), on-error()); each driver adds
 * its own list below, and check_driver_opts() takes both.
 */
static const char *const dst_common_opts[] = {"template",      "template-escape", "ts-format",
					      "frac-digits",   "time-zone",	  "send-time-zone",
					      "log-fifo-size", "time-reopen",	  "persist-name",
					      "disk-buffer",   "on-error",	  NULL};

/* The other destination drivers' own (file(), pipe(), network(), syslog(), tcp(), ...). */
static const char *const impl_dst_opts[] = {"perm", "dir-perm", "create-dirs", "transport",
					    "port", "tls",	"failover",    NULL};

/* program()'s own: 3.38's afprogram destination options logsift implements. */
static const char *const prog_dst_opts[] = {"keep-alive", "inherit-environment", NULL};

static bool in_list(const char *const *l, const char *name)
{
	for (; *l; l++)
		if (kw(*l, name))
			return true;
	return false;
}

static void opt_error(struct lex *L, const char *what, const struct otree *k, const char *msg);

/*
 * Refuse what logsift does not implement; a misspelt name is 3.38's syntax
 * error. The driver takes the names in shared (NULL for none) and in own, so
 * options common to several drivers are declared once.
 */
static bool check_driver_opts(struct lex *L, struct otree *o, const char *what,
			      const char *const *shared, const char *const *own)
{
	for (size_t i = 0; i < o->n; i++) {
		struct otree *k = o->kids[i];
		if (!k->name || (shared && in_list(shared, k->name)) || in_list(own, k->name))
			continue;
		char msg[160];
		if (in_list(sng_driver_opts, k->name)) {
			snprintf(msg, sizeof msg, "%s() is not supported by logsift", k->name);
			opt_error(L, what, k, msg);
		} else {
			lex_fail(
			    L, 1,
			    "Error parsing within %s, syntax error, unexpected LL_IDENTIFIER in "
			    "%s:%d:%d-%d:%d:",
			    what, k->file, k->line, k->col, k->line, k->col + (int)strlen(k->name));
		}
		return false;
	}
	return true;
}

/* An error about option k, at k's own location (bison's @N range). */
static void opt_error(struct lex *L, const char *what, const struct otree *k, const char *msg)
{
	lex_fail(L, 1, "Error parsing %s, %s in %s:%d:%d-%d:%d:", what, msg, k->file, k->line,
		 k->col, k->eline, k->ecol);
}

/*
 * 3.38's path_check (cfg-grammar.y): the file a ca-file(), cert-file() or
 * key-file() names must exist when the configuration is read, in amqp(),
 * http() and tls() alike, and the error points at the value. True when k is
 * no such option or its file is there.
 */
static bool path_check(struct lex *L, const char *what, const struct otree *k)
{
	if (!k->name ||
	    !(kw(k->name, "ca-file") || kw(k->name, "cert-file") || kw(k->name, "key-file")))
		return true;
	for (size_t j = 0; j < k->n; j++) {
		const struct otree *v = k->kids[j];
		struct stat st;
		if (!v->val || stat(v->val, &st) == 0)
			continue;
		char within[64], msg[4200];
		snprintf(within, sizeof within, "within %s", what);
		snprintf(msg, sizeof msg, "File \"%.4096s\" not found: %s", v->val,
			 strerror(errno));
		opt_error(L, within, v, msg);
		return false;
	}
	return true;
}

/*
 * The tls() block of a network driver, as 3.38's transport mappers decide:
 * required (tcp()/tcp6() with tls(), transport("tls")) gives a context or an
 * error; tls() where 3.38 would not encrypt (udp, or plain tcp on network()/
 * syslog(), which 3.38 only upgrades on request) is refused, so a config
 * that asks for TLS never runs in cleartext. Returns true when *out is set
 * or no TLS is wanted; false after an error.
 */
static bool driver_tls(struct lex *L, struct otree *o, const char *what, bool server, bool required,
		       bool udp, struct ls_tls **out)
{
	struct otree *k = opt_find(o, "tls");
	*out = NULL;
	if (!k && !required)
		return true;
	if (!k) {
		semantic_error(L, what, "transport(tls) was specified, but tls() options missing");
		return false;
	}
	if (!required) {
		opt_error(L, what, k,
			  udp ? "tls() options specified for a transport that doesn't allow TLS "
				"encryption"
			      : "tls() without transport(\"tls\") is not supported by logsift");
		return false;
	}
	struct ls_tls *t = ls_tls_opts_new(server, k->file, k->line);
	char err[600];
	if (!t) {
		snprintf(
		    err, sizeof err,
		    "tls() is not available: the TLS module logsift-tls.so cannot be loaded (%s)",
		    ls_tls_load_error());
		opt_error(L, what, k, err);
		return false;
	}
	for (size_t i = 0; i < k->n; i++) {
		struct otree *x = k->kids[i];
		const char *vals[16];
		size_t n = 0;
		for (size_t j = 0; j < x->n && n < 16; j++)
			if (x->kids[j]->val)
				vals[n++] = x->kids[j]->val;
		if (!x->name) {
			opt_error(L, what, x, "tls() takes options, not values");
			ls_tls_free(t);
			return false;
		}
		if (!path_check(L, what, x)) {
			ls_tls_free(t);
			return false;
		}
		if (ls_tls_opt_set(t, x->name, vals, n, err, sizeof err) < 0) {
			opt_error(L, what, x, err);
			ls_tls_free(t);
			return false;
		}
	}
	if (ls_tls_new(t, err, sizeof err) < 0) {
		opt_error(L, what, k, err);
		ls_tls_free(t);
		return false;
	}
	*out = t;
	return true;
}

/*
 * True when /dev/kmsg opens, seeks and polls, as 3.38's
 * _detect_linux_dev_kmsg() decides whether system() reads it.
 */
static bool dev_kmsg_usable(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = lseek(fd, 0, SEEK_END) != -1;
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	ok = ok && poll(&pf, 1, 0) >= 0 && !(pf.revents & POLLNVAL);
	close(fd);
	return ok;
}

/*
 * system() on Linux, as 3.38's modules/system-source expands it (see
 * `syslog-ng --preprocess-into`): under systemd (/run/systemd/system is a
 * directory) it is systemd-journal(), which logsift refuses; otherwise
 *   unix-dgram("/dev/log" so_rcvbuf(8192) flags(syslog-protocol)) with PID
 *     set from the sender's credentials (${.unix.pid}) when there are any,
 *   file("/dev/kmsg" program-override("kernel") flags(kernel)
 *     format(linux-kmsg) keep-timestamp(no)) when /dev/kmsg is usable;
 * 3.38 falls back to /proc/kmsg, which logsift refuses.
 */
static bool system_source(struct lex *L, struct ls_cfg *c, struct ls_source *s, struct otree *o)
{
	if (o->n) {
		semantic_error(L, "source", "system() takes no options");
		return false;
	}
	struct stat st;
	if (lstat("/run/systemd/system/", &st) == 0 && S_ISDIR(st.st_mode)) {
		semantic_error(L, "source",
			       "system() under systemd is systemd-journal() in 3.38, which is not "
			       "supported by logsift; use unix-dgram(\"/dev/log\")");
		return false;
	}
	struct ls_sdrv *d = &s->drv[s->n_drv - 1];
	d->kind = SRC_UNIX_DGRAM;
	d->path = xstrdup("/dev/log");
	d->pflags |= LS_P_LOCAL | LS_P_SYSLOG_PROTOCOL;
	d->rcvbuf = 8192;
	d->creds = true;
	d->pid_from_creds = true;
	if (dev_kmsg_usable()) {
		PUSH(s->drv, s->n_drv, (struct ls_sdrv){0});
		d = &s->drv[s->n_drv - 1];
		sdrv_common(L, c, d, o);
		d->kind = SRC_KMSG;
		d->path = xstrdup("/dev/kmsg");
		d->program_override = xstrdup("kernel");
		d->keep_timestamp = 0;
		d->pflags |= LS_P_LOCAL | LS_P_EXPECT_HOSTNAME | LS_P_KMSG;
	} else if (access("/proc/kmsg", R_OK) == 0) {
		semantic_error(
		    L, "source",
		    "system() without a usable /dev/kmsg reads /proc/kmsg in 3.38, which is "
		    "not supported by logsift");
		return false;
	}
	return true;
}

/* A source driver name(o...): added to s first, then filled in. */
static bool source_driver(struct lex *L, struct ls_cfg *c, struct ls_source *s, const char *name,
			  struct otree *o)
{
	PUSH(s->drv, s->n_drv, (struct ls_sdrv){0});
	struct ls_sdrv *d = &s->drv[s->n_drv - 1];
	sdrv_common(L, c, d, o);
	if (!check_driver_opts(L, o, "source", NULL, impl_src_opts))
		return false;
	d->keep_timestamp = opt_find(o, "keep-timestamp") ? opt_bool(o, "keep-timestamp", 1) : -1;
	const char *rtz = opt_str(o, "time-zone");
	if (rtz)
		d->recv_tz = xstrdup(rtz);
	const char *pos = opt_pos(o);
	if (kw(name, "unix-dgram") || kw(name, "unix-stream")) {
		d->kind = kw(name, "unix-dgram") ? SRC_UNIX_DGRAM : SRC_UNIX_STREAM;
		d->path = xstrdup(pos ? pos : "/dev/log");
		d->pflags |= LS_P_LOCAL;
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
		if (tr && !kw(tr, "tls") && !kw(tr, "tcp") && !kw(tr, "udp")) {
			semantic_error(L, "source", "this transport() is not supported by logsift");
			return false;
		}
		bool tls_req = (tr && kw(tr, "tls")) ||
			       ((kw(name, "tcp") || kw(name, "tcp6")) && opt_find(o, "tls"));
		if (!driver_tls(L, o, "source", true, tls_req, udp, &d->tls))
			return false;
		d->kind = udp ? SRC_UDP : SRC_TCP;
		d->ip6 = kw(name, "udp6") || kw(name, "tcp6") || opt_num(o, "ip-protocol", 4) == 6;
		const char *ip = opt_str(o, "ip");
		if (!ip)
			ip = opt_str(o, "localip");
		snprintf(d->ip, sizeof d->ip, "%s", ip ? ip : (d->ip6 ? "::" : "0.0.0.0"));
		long port = opt_num(o, "port", -1);
		if (port < 0)
			port = opt_num(o, "localport",
				       kw(name, "syslog") && !udp ? (d->tls ? 6514 : 601) : 514);
		d->port = (int)port;
		d->pflags |= LS_P_EXPECT_HOSTNAME;
		if (kw(name, "syslog")) {
			d->pflags |= LS_P_SYSLOG_PROTOCOL;
			d->framed = !udp;
		}
	} else if (kw(name, "file") || kw(name, "pipe") || kw(name, "wildcard-file")) {
		d->kind = kw(name, "pipe") ? SRC_PIPE : SRC_FILE;
		if (!pos) {
			syntax_error(L, "source", "LL_STRING");
			return false;
		}
		d->path = xstrdup(pos);
		/* 3.38: only unix sockets stopped expecting a host name */
		d->pflags |= LS_P_LOCAL | LS_P_EXPECT_HOSTNAME;
	} else if (kw(name, "stdin")) {
		d->kind = SRC_STDIN;
		d->pflags |= LS_P_LOCAL | LS_P_EXPECT_HOSTNAME;
	} else if (kw(name, "internal")) {
		d->kind = SRC_INTERNAL;
	} else if (kw(name, "system")) {
		return system_source(L, c, s, o);
	} else {
		unexpected_id(L, "source", name, L->file, L->line, L->col, L->eline, L->ecol);
		return false;
	}
	if (d->kind == SRC_UNIX_DGRAM)
		d->creds = true; /* 3.38's so-passcred(yes) default (unix-stream: not yet) */
	const char *fmt = opt_str(o, "format");
	if (fmt && kw(fmt, "linux-kmsg")) {
		d->pflags |= LS_P_KMSG;
	} else if (fmt && !kw(fmt, "syslog")) {
		opt_error(L, "source", opt_find(o, "format"),
			  "this format() is not supported by logsift (syslog, linux-kmsg are)");
		return false;
	}
	/* flags() last: no-hostname must undo what the driver kind implies */
	d->pflags = parse_src_flags(L, opt_find(o, "flags"), d->pflags);
	/* 3.38's log_reader_options_init: flags(kernel) makes the default
	 * kern.notice when no default-facility()/-priority() set one */
	if ((d->pflags & LS_P_KERNEL) && !opt_find(o, "default-facility") &&
	    !opt_find(o, "default-priority") && !opt_find(o, "default-level") &&
	    !opt_find(o, "default-severity"))
		d->default_pri = 5;
	return true;
}

/* ---------------------------------------------------- destination drivers */

/* The template object called name, defined before this point, or NULL. */
static const struct ls_named_tmpl *named_tmpl(const struct ls_cfg *c, const char *name)
{
	for (size_t i = 0; name && i < c->n_ntmpl; i++)
		if (!strcmp(c->ntmpl[i].name, name))
			return &c->ntmpl[i];
	return NULL;
}

/*
 * A template() argument as 3.38's cfg_tree_check_inline_template: the
 * template object of that name when one is defined above, else the text
 * itself as an inline template. *escape is set from the object.
 */
static const char *tmpl_text(const struct ls_cfg *c, const char *arg, bool *escape, bool *named)
{
	const struct ls_named_tmpl *t = named_tmpl(c, arg);
	if (named)
		*named = t != NULL;
	if (!t)
		return arg;
	if (escape)
		*escape = t->escape;
	return t->text;
}

/*
 * template NAME { template("..."); template-escape(yes|no); }; or
 * template NAME "...";  (3.38's template_block and template_simple; a
 * type hint such as template(int("...")) is refused, as is a name used
 * twice: 3.38's "duplicate template").
 */
static void template_stmt(struct lex *L, struct ls_cfg *c)
{
	lex_next(L);
	if (L->t != T_ID && L->t != T_STR) {
		syntax_error(L, "template", "LL_IDENTIFIER");
		return;
	}
	const char *name = scratch_strdup(L, L->s.p);
	const char *file = L->file;
	int line = L->line, col = L->col, eline = L->eline, ecol = L->ecol;
	struct ls_named_tmpl t = {0};
	lex_next(L);
	if (L->t == T_STR) {
		t.text = xstrdup(L->s.p);
	} else if (L->t == T_LB) {
		for (;;) {
			lex_next(L);
			if (L->failed)
				return;
			if (L->t == T_RB)
				break;
			if (L->t == T_SEMI)
				continue;
			if (L->t != T_ID ||
			    (!kw(L->s.p, "template") && !kw(L->s.p, "template-escape"))) {
				syntax_error(L, "template", NULL);
				free(t.text);
				return;
			}
			bool esc = kw(L->s.p, "template-escape");
			if (!expect(L, T_LP, "template"))
				break;
			struct otree *o = otree_parse(L, "template");
			if (!o)
				break;
			if (esc) {
				const char *v = opt_pos(o);
				t.escape =
				    v && (!strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"));
				continue;
			}
			const char *v = opt_pos(o);
			if (!v || o->n != 1) {
				const struct otree *k = o->n ? o->kids[0] : NULL;
				if (k)
					opt_error(
					    L, "template", k,
					    "template type hints are not supported by logsift");
				else
					syntax_error(L, "template", "LL_STRING");
				break;
			}
			free(t.text);
			t.text = xstrdup(v);
		}
		if (L->failed) {
			free(t.text);
			return;
		}
	} else {
		syntax_error(L, "template", "'{'");
		return;
	}
	if (!t.text)
		t.text = xstrdup("");
	struct ok_err e;
	struct ls_tmpl *probe = ls_tmpl_new(t.text, &e);
	if (!probe) {
		lex_fail(L, 1, "Error parsing template, %s in %s:%d:%d-%d:%d:", e.msg, file, line,
			 col, eline, ecol);
		free(t.text);
		return;
	}
	ls_tmpl_free(probe);
	if (named_tmpl(c, name)) {
		lex_fail(L, 1,
			 "Error parsing template, duplicate template in %s:%d:%d-%d:%d:", file,
			 line, col, eline, ecol);
		free(t.text);
		return;
	}
	t.name = xstrdup(name);
	PUSH(c->ntmpl, c->n_ntmpl, t);
}

/* ts-format() frac-digits() time-zone()/send-time-zone() template-escape() into t. */
static bool tmpl_opts(struct lex *L, const struct ls_cfg *c, struct otree *o, const char *what,
		      struct ls_tmpl_opts *t)
{
	struct otree *k;
	if ((k = opt_find(o, "ts-format"))) {
		const char *v = opt_str(o, "ts-format");
		t->ts_format = v ? ls_tmpl_ts_format(v) : -1;
		if (t->ts_format < 0) {
			opt_error(L, what, k, "unknown ts-format() value");
			return false;
		}
	}
	if ((k = opt_find(o, "frac-digits"))) {
		long n = opt_num(o, "frac-digits", -1);
		if (n < 0) {
			opt_error(L, what, k, "frac-digits() needs a non-negative number");
			return false;
		}
		t->frac_digits = n > 6 ? 6 : (int)n;
	}
	const char *tz = opt_str(o, "send-time-zone");
	if (!tz)
		tz = opt_str(o, "time-zone");
	if (tz) {
		free(t->send_tz);
		t->send_tz = xstrdup(tz);
	}
	if ((k = opt_find(o, "on-error"))) {
		/* log_template_on_error_parse */
		const char *v = opt_str(o, "on-error"), *p = v ? v : "";
		int silent = 0;
		if (!strncmp(p, "silently-", 9)) {
			silent = LS_ONERR_SILENT;
			p += 9;
		}
		t->on_error = !strcmp(p, "drop-message")	 ? LS_ONERR_DROP_MESSAGE
			      : !strcmp(p, "drop-property")	 ? LS_ONERR_DROP_PROPERTY
			      : !strcmp(p, "fallback-to-string") ? LS_ONERR_FALLBACK
								 : 0;
		if (!t->on_error) {
			char msg[200];
			snprintf(msg, sizeof msg, "Invalid on-error() setting \"%s\"", v ? v : "");
			opt_error(L, what, k, msg);
			return false;
		}
		t->on_error |= silent;
	}
	if ((k = opt_find(o, "template-escape"))) {
		/* 3.38 escapes only an inline template() given before it; elsewhere it
		 * logs "Macro escaping can only be specified for inline templates" and
		 * escapes nothing: refused here rather than ignored */
		bool before = false;
		for (size_t i = 0; i < o->n && o->kids[i] != k; i++)
			if (o->kids[i]->name && kw(o->kids[i]->name, "template") &&
			    !(o->kids[i]->n && named_tmpl(c, o->kids[i]->kids[0]->val)))
				before = true;
		if (!before) {
			opt_error(L, what, k,
				  "Macro escaping can only be specified for inline templates "
				  "(template() before template-escape())");
			return false;
		}
		t->escape = opt_bool(o, "template-escape", 0);
	}
	return true;
}

/*
 * failover(servers("b" ...) failback(tcp-probe-interval(N)
 * successful-probes-required(N))) of a network destination, as 3.38's
 * grammar takes it: servers() first, failback() optional, numbers positive
 * (defaults 60 and 3). The servers share the primary's port. UDP cannot
 * tell that a server is gone: refused there.
 */
static bool failover(struct lex *L, struct ls_ddrv *d, struct otree *k)
{
	const char *what = "within destination";
	if (d->kind != DST_TCP) {
		opt_error(L, "destination", k,
			  "failover() with a UDP transport is not supported by logsift");
		return false;
	}
	if (d->n_servers) {
		opt_error(L, "destination", k, "failover() given twice");
		return false;
	}
	PUSH(d->servers, d->n_servers, xstrdup(d->ip));
	d->probe_interval = 60;
	d->probes_required = 3;
	for (size_t i = 0; i < k->n; i++) {
		struct otree *x = k->kids[i];
		bool servers = x->name && kw(x->name, "servers");
		if (servers && i == 0) {
			for (size_t j = 0; j < x->n; j++)
				if (x->kids[j]->val)
					PUSH(d->servers, d->n_servers, xstrdup(x->kids[j]->val));
			continue;
		}
		if (x->name && kw(x->name, "failback") && i > 0) {
			d->failback = true;
			for (size_t j = 0; j < x->n; j++) {
				struct otree *y = x->kids[j];
				bool pi = y->name && kw(y->name, "tcp-probe-interval");
				bool pr = y->name && kw(y->name, "successful-probes-required");
				if (!pi && !pr) {
					lex_fail(
					    L, 1,
					    "Error parsing %s, syntax error, unexpected "
					    "LL_IDENTIFIER, expecting KW_TCP_PROBE_INTERVAL or "
					    "KW_SUCCESSFUL_PROBES_REQUIRED or ')' in "
					    "%s:%d:%d-%d:%d:",
					    what, y->file, y->line, y->col, y->line,
					    y->col + (int)strlen(y->name ? y->name : y->val));
					return false;
				}
				const char *v = y->n ? y->kids[0]->val : NULL;
				char *end = NULL;
				long n = v ? strtol(v, &end, 0) : 0;
				if (!v || *end || n <= 0 || n > 86400) {
					opt_error(L, what, y->n ? y->kids[0] : y,
						  "Must be positive");
					return false;
				}
				if (pi)
					d->probe_interval = (int)n;
				else
					d->probes_required = (int)n;
			}
			continue;
		}
		lex_fail(L, 1,
			 "Error parsing %s, syntax error, unexpected LL_IDENTIFIER, expecting "
			 "KW_SERVERS in %s:%d:%d-%d:%d:",
			 what, x->file, x->line, x->col, x->line,
			 x->col + (int)strlen(x->name  ? x->name
					      : x->val ? x->val
						       : ""));
		return false;
	}
	return true;
}

/*
 * disk-buffer(...) of destination driver d, as 3.38's diskq grammar and
 * _attach() take it: disk-buf-size() is required (raised to 1 MiB with
 * 3.38's warning), mem-buf-length() is ignored with a warning by a reliable
 * queue and mem-buf-size() by a non-reliable one, truncate-size-ratio()
 * is 0..1. compaction() (3.38 parses it, nothing uses it) is refused;
 * names 3.38 does not know (prealloc() came in 4.x) are its syntax error.
 * A file() whose name is a template would need one queue per expanded
 * name: refused.
 */
static bool disk_buffer(struct lex *L, struct ls_cfg *c, struct ls_ddrv *d, struct otree *k,
			const char *persist)
{
	static const char *const known[] = {
	    "reliable",	 "disk-buf-size", "mem-buf-size",	 "mem-buf-length",
	    "qout-size", "dir",		  "truncate-size-ratio", NULL};
	const char *what = "disk_buffer";
	for (size_t i = 0; i < k->n; i++) {
		struct otree *x = k->kids[i];
		if (x->name && in_list(known, x->name))
			continue;
		if (x->name && kw(x->name, "compaction")) {
			opt_error(L, what, x, "compaction() is not supported by logsift");
			return false;
		}
		lex_fail(
		    L, 1,
		    "Error parsing %s, syntax error, unexpected LL_IDENTIFIER, expecting ')' in "
		    "%s:%d:%d-%d:%d:",
		    what, x->file, x->line, x->col, x->line,
		    x->col + (int)strlen(x->name  ? x->name
					 : x->val ? x->val
						  : ""));
		return false;
	}
	if (d->kind == DST_USERTTY || d->kind == DST_STDOUT ||
	    (d->kind == DST_FILE && !ls_tmpl_is_literal(d->path))) {
		opt_error(L, "destination", k,
			  d->kind == DST_FILE
			      ? "disk-buffer() on a file() whose name is a template "
				"is not supported by logsift"
			      : "disk-buffer() is not supported by logsift here");
		return false;
	}
	struct ls_dq_opts *q = xcalloc(sizeof *q);
	d->dq = q;
	q->reliable = opt_bool(k, "reliable", 0);
	q->mem_buf_size = opt_find(k, "mem-buf-size") ? opt_num(k, "mem-buf-size", -1) : -1;
	q->mem_buf_length = opt_find(k, "mem-buf-length") ? opt_num(k, "mem-buf-length", -1) : -1;
	q->qout_size = opt_find(k, "qout-size") ? opt_num(k, "qout-size", -1) : -1;
	q->truncate_ratio = -1;
	struct otree *x;
	static const char *const nonneg[] = {"disk-buf-size", "mem-buf-size", "mem-buf-length",
					     "qout-size", NULL};
	for (size_t i = 0; nonneg[i]; i++) {
		const char *v = opt_str(k, nonneg[i]);
		char *end;
		if (v && (strtoll(v, &end, 0) < 0 || *end)) {
			opt_error(L, what, opt_find(k, nonneg[i]),
				  "syntax error, expecting a non-negative integer");
			return false;
		}
	}
	if ((x = opt_find(k, "truncate-size-ratio"))) {
		const char *v = opt_str(k, "truncate-size-ratio");
		char *end = NULL;
		double r = v ? strtod(v, &end) : -1;
		if (!v || *end || r < 0 || r > 1) {
			opt_error(L, what, x->n ? x->kids[0] : x, "It cannot be bigger, than 1");
			return false;
		}
		q->truncate_ratio = r;
	}
	const char *dir = opt_str(k, "dir");
	q->dir = xstrdup(dir ? dir : "/var/lib/logsift");
	size_t dl = strlen(q->dir);
	while (dl > 1 && q->dir[dl - 1] == '/')
		q->dir[--dl] = 0; /* 3.38 normalizes "dir/" */
	q->persist = persist ? xstrdup(persist) : NULL;
	const char *sz = opt_str(k, "disk-buf-size");
	if (!sz) {
		opt_error(
		    L, what, k,
		    "The required 'disk_buf_size()' parameter of diskq module has not been set");
		return false;
	}
	q->disk_buf_size = strtoll(sz, NULL, 0);
	if (q->disk_buf_size == 0) {
		opt_error(L, what, opt_find(k, "disk-buf-size"),
			  "disk-buf-size(0) (no disk part) is not supported by logsift");
		return false;
	}
	if (q->disk_buf_size < 1048576) {
		ls_cfg_warn(c,
			    "WARNING: The configured disk buffer size is smaller than the minimum "
			    "allowed; configured_size='%lld', minimum_allowed_size='1048576', "
			    "new_size='1048576'",
			    q->disk_buf_size);
		q->disk_buf_size = 1048576;
	}
	if (q->reliable && q->mem_buf_length >= 0)
		ls_cfg_warn(c,
			    "WARNING: mem-buf-length parameter was ignored as it is not compatible "
			    "with reliable queue. Did you mean mem-buf-size?");
	if (!q->reliable && q->mem_buf_size >= 0)
		ls_cfg_warn(c,
			    "WARNING: mem-buf-size parameter was ignored as it is not compatible "
			    "with non-reliable queue. Did you mean mem-buf-length?");
	return true;
}

/*
 * http(...) as 3.38's http-grammar.ym: dest_http.c takes each of its
 * options and says what it refuses; the generic ones (log-fifo-size,
 * time-reopen, persist-name, disk-buffer, template options) stay
 * dest_driver()'s. TLS options may stand at the top or inside tls(), and
 * cipher-suite() may hold tls12-and-older() and tls13(). dst_generic_opts
 * (dest_driver()'s options, which amqp() takes too) is the shared list given
 * to check_driver_opts(), http_opts http()'s own.
 */
static const char *const dst_generic_opts[] = {"time-reopen", "log-fifo-size",	"persist-name",
					       "disk-buffer", "ts-format",	"frac-digits",
					       "time-zone",   "send-time-zone", NULL};
static const char *const http_opts[] = {"url",	       "user",
					"password",    "user-agent",
					"headers",     "method",
					"body-prefix", "body-suffix",
					"delimiter",   "proxy",
					"body",	       "accept-redirects",
					"timeout",     "batch-bytes",
					"batch-lines", "batch-timeout",
					"workers",     "retries",
					"tls",	       "ca-dir",
					"ca-file",     "cert-file",
					"key-file",    "cipher-suite",
					"ssl-version", "use-system-cert-store",
					"peer-verify", "response-action",
					NULL};

/* One option k of http() (or of its tls() or cipher-suite()) into h. */
static bool http_opt(struct lex *L, struct ls_cfg *c, struct ls_http *h, struct otree *k)
{
	char err[600];
	if (!k->name) {
		opt_error(L, "destination", k, "http() takes options, not values");
		return false;
	}
	bool nest = kw(k->name, "tls") || kw(k->name, "cipher-suite");
	if (nest && k->n && k->kids[0]->name) {
		for (size_t i = 0; i < k->n; i++)
			if (!http_opt(L, c, h, k->kids[i]))
				return false;
		return true;
	}
	const char *vals[64];
	size_t n = 0;
	for (size_t j = 0; j < k->n && n < 64; j++)
		if (k->kids[j]->val)
			vals[n++] = k->kids[j]->val;
	if (kw(k->name, "body") && n)
		vals[0] = tmpl_text(c, vals[0], NULL, NULL);
	if (!path_check(L, "destination", k))
		return false;
	int r = ls_http_opt(h, k->name, vals, n, err, sizeof err);
	if (r == 1)
		ls_cfg_warn(c, "WARNING: %s", err);
	if (r < 0)
		opt_error(L, "destination", k, err);
	return r >= 0;
}

static bool http_driver(struct lex *L, struct ls_cfg *c, struct ls_ddrv *d, struct otree *o)
{
	d->kind = DST_HTTP;
	d->http = ls_http_new();
	d->wd = &ls_http_wdriver;
	if (!check_driver_opts(L, o, "destination", dst_generic_opts, http_opts))
		return false;
	for (size_t i = 0; i < o->n; i++)
		if (!o->kids[i]->name || !in_list(dst_generic_opts, o->kids[i]->name))
			if (!http_opt(L, c, d->http, o->kids[i]))
				return false;
	char err[600];
	if (ls_http_check(d->http, d->time_reopen >= 0 ? d->time_reopen : c->o.time_reopen, err,
			  sizeof err) < 0) {
		struct otree *u = opt_find(o, "url"); /* what is wrong is a url */
		if (u)
			opt_error(L, "destination", u, err);
		else
			semantic_error(L, "destination", err);
		return false;
	}
	if (!tmpl_opts(L, c, o, "destination", &d->topts))
		return false;
	struct otree *dbk = opt_find(o, "disk-buffer");
	return !dbk || disk_buffer(L, c, d, dbk, opt_str(o, "persist-name"));
}

/*
 * amqp(...) as 3.38's afamqp grammar: its own options and tls() members go
 * to dest_amqp.c, value-pairs() members too; of the threaded-destination
 * options, log-fifo-size, time-reopen, persist-name, disk-buffer and the
 * template options are logsift's common ones, the rest (retries, throttle,
 * local-time-zone, on-error) are refused; a name 3.38's amqp() does not
 * know is its syntax error.
 */
static bool amqp_driver(struct lex *L, struct ls_dest *dst, struct ls_ddrv *d, struct otree *o)
{
	static const char *const refused[] = {"retries", "throttle", "local-time-zone", "on-error",
					      NULL};
	static const char *const tls_members[] = {"ca-file", "cert-file", "key-file", "peer-verify",
						  NULL};
	const char *what = "amqp";
	char err[400];
	d->kind = DST_AMQP;
	d->wd = &ls_amqp_wdriver;
	d->amqp = ls_amqp_new(L->file, L->line, err, sizeof err);
	if (!d->amqp) {
		semantic_error(L, "destination", err);
		return false;
	}
	for (size_t i = 0; i < o->n; i++) {
		struct otree *k = o->kids[i];
		if (!k->name) {
			opt_error(L, what, k, "syntax error, unexpected LL_STRING");
			return false;
		}
		if (in_list(dst_generic_opts, k->name))
			continue;
		if (in_list(refused, k->name)) {
			snprintf(err, sizeof err, "%s() is not supported by logsift", k->name);
			opt_error(L, what, k, err);
			return false;
		}
		bool vp = kw(k->name, "value-pairs"), tls = kw(k->name, "tls");
		if (vp)
			ls_amqp_vp_reset(d->amqp);
		struct otree one = {.kids = &k, .n = 1};
		struct otree *list = vp || tls ? k : &one;
		for (size_t j = 0; j < list->n; j++) {
			struct otree *x = list->kids[j];
			const char *vals[8];
			size_t n = 0;
			for (size_t v = 0; v < x->n && n < 8; v++)
				if (x->kids[v]->val)
					vals[n++] = x->kids[v]->val;
			if (!vp && !path_check(L, "destination", x))
				return false;
			int r = !x->name ? -ENOENT
				: vp ? ls_amqp_vp_set(d->amqp, x->name, vals, n, err, sizeof err)
				     : ls_amqp_opt_set(d->amqp, x->name, vals, n, err, sizeof err);
			if (r == -ENOENT || (tls && !in_list(tls_members, x->name))) {
				lex_fail(
				    L, 1,
				    "Error parsing %s, syntax error, unexpected LL_IDENTIFIER in "
				    "%s:%d:%d-%d:%d:",
				    what, x->file, x->line, x->col, x->line,
				    x->col + (int)strlen(x->name ? x->name : x->val));
				return false;
			}
			if (r < 0) {
				opt_error(L, what, x, err);
				return false;
			}
		}
	}
	if (ls_amqp_check(d->amqp, err, sizeof err) < 0) {
		snprintf(err + strlen(err), sizeof err - strlen(err), "; destination='%s'",
			 dst->name);
		semantic_error(L, "destination", err);
		return false;
	}
	snprintf(d->ip, sizeof d->ip, "%s", ls_amqp_host(d->amqp));
	d->port = ls_amqp_port(d->amqp);
	return true;
}

/* A destination driver name(o...): added to dst first, then filled in. */
static bool dest_driver(struct lex *L, struct ls_cfg *c, struct ls_dest *dst, const char *name,
			struct otree *o)
{
	PUSH(dst->drv, dst->n_drv, (struct ls_ddrv){0});
	struct ls_ddrv *d = &dst->drv[dst->n_drv - 1];
	struct ok_err e;
	d->fd = -1;
	d->fifo_size = opt_num(o, "log-fifo-size", -1);
	d->time_reopen = (int)opt_num(o, "time-reopen", -1);
	d->topts.ts_format = -1;
	d->topts.frac_digits = -1;
	if (kw(name, "http"))
		return http_driver(L, c, d, o);
	if (kw(name, "amqp") ? !amqp_driver(L, dst, d, o)
	    : kw(name, "program")
		? !check_driver_opts(L, o, "destination", dst_common_opts, prog_dst_opts)
		: !check_driver_opts(L, o, "destination", dst_common_opts, impl_dst_opts))
		return false;
	if (!tmpl_opts(L, c, o, "destination", &d->topts))
		return false;
	d->perm = (int)opt_num(o, "perm", -1);
	d->dir_perm = (int)opt_num(o, "dir-perm", -1);
	d->create_dirs = opt_find(o, "create-dirs") ? opt_bool(o, "create-dirs", 0) : -1;
	const char *pos = opt_pos(o);
	const char *t = opt_str(o, "template");
	if (t) {
		bool esc = false, named = false;
		t = tmpl_text(c, t, &esc, &named);
		if (named)
			d->topts.escape = esc;
		d->tmpl = ls_tmpl_new(t, &e);
		if (!d->tmpl) {
			semantic_error(L, "destination", e.msg);
			return false;
		}
	}
	if (kw(name, "file") || kw(name, "pipe")) {
		d->kind = kw(name, "file") ? DST_FILE : DST_PIPE;
		if (!pos) {
			syntax_error(L, "destination", "LL_STRING");
			return false;
		}
		d->path = ls_tmpl_new(pos, &e);
		if (!d->path) {
			semantic_error(L, "destination", e.msg);
			return false;
		}
	} else if (kw(name, "program")) {
		/* 3.38's afprogram: the command line is not a template */
		d->kind = DST_PROGRAM;
		if (!pos) {
			syntax_error(L, "destination", "LL_STRING");
			return false;
		}
		d->cmd = xstrdup(pos);
		d->keep_alive = opt_bool(o, "keep-alive", 0);
		d->inherit_env = opt_bool(o, "inherit-environment", 1);
	} else if (kw(name, "amqp")) {
		/* amqp_driver() above */
	} else if (kw(name, "usertty")) {
		d->kind = DST_USERTTY;
		d->path = ls_tmpl_new(pos ? pos : "*", &e);
	} else if (kw(name, "stdout") && c->version >= 404) {
		d->kind = DST_STDOUT;
	} else if (kw(name, "udp") || kw(name, "tcp") || kw(name, "network") ||
		   kw(name, "syslog")) {
		const char *tr = opt_str(o, "transport");
		bool udp = kw(name, "udp") || kw(name, "udp6") || (tr && kw(tr, "udp"));
		d->kind = udp ? DST_UDP : DST_TCP;
		if (!pos) {
			syntax_error(L, "destination", "LL_STRING");
			return false;
		}
		if (tr && !kw(tr, "tls") && !kw(tr, "tcp") && !kw(tr, "udp")) {
			semantic_error(L, "destination",
				       "this transport() is not supported by logsift");
			return false;
		}
		bool tls_req = (tr && kw(tr, "tls")) ||
			       ((kw(name, "tcp") || kw(name, "tcp6")) && opt_find(o, "tls"));
		if (!driver_tls(L, o, "destination", false, tls_req, udp, &d->tls))
			return false;
		snprintf(d->ip, sizeof d->ip, "%s", pos);
		d->port = (int)opt_num(o, "port",
				       kw(name, "syslog") && !udp ? (d->tls ? 6514 : 601) : 514);
		d->syslog_proto = kw(name, "syslog");
	} else {
		unexpected_id(L, "destination", name, L->file, L->line, L->col, L->eline, L->ecol);
		return false;
	}
	struct otree *fok = opt_find(o, "failover");
	if (fok && !failover(L, d, fok))
		return false;
	struct otree *dbk = opt_find(o, "disk-buffer");
	if (dbk && !disk_buffer(L, c, d, dbk, opt_str(o, "persist-name")))
		return false;
	return true;
}

/* getvirtconsole(), from Debian's scl: the active virtual console. */
static bool dest_scl_block(struct lex *L, struct ls_cfg *c, struct ls_dest *dst, const char *name)
{
	if (!kw(name, "getvirtconsole"))
		return false;
	struct otree k = {.val = "/dev/tty10"};
	struct otree *kp = &k;
	struct otree o = {.kids = &kp, .n = 1};
	return dest_driver(L, c, dst, "file", &o);
}

/* The drivers of a source (s) or destination (dst) body, after '{' up to
 * '}'. */
static void driver_list(struct lex *L, struct ls_cfg *c, struct ls_source *s, struct ls_dest *dst)
{
	const char *type = s ? "source" : "destination";
	const char *stmt = s ? "source statement" : "destination statement";
	while (!L->failed) {
		lex_next(L);
		if (L->t == T_RB)
			break;
		if (L->t == T_SEMI)
			continue;
		if (L->t != T_ID) {
			syntax_error(L, stmt, NULL);
			break;
		}
		char dname[64];
		snprintf(dname, sizeof dname, "%s", L->s.p);
		if (block_use(L, type, dname))
			continue;
		bool known = s ? known_driver(src_drivers, dname)
			       : known_driver(dst_drivers, dname) ||
				     (kw(dname, "stdout") && c->version >= 404);
		if (!known && known_driver(s ? sng_src_drivers : sng_dst_drivers, dname)) {
			lex_fail(L, 1,
				 "Error parsing %s, %s() %s driver is not supported by logsift in "
				 "%s:%d:%d-%d:%d:",
				 type, dname, s ? "source" : "destination", L->file, L->line,
				 L->col, L->eline, L->ecol);
			break;
		}
		if (!known) {
			/* bison: the driver keyword is what it could not shift */
			lex_fail(L, 1,
				 "Error parsing config, syntax error, unexpected LL_IDENTIFIER, "
				 "expecting '}' in %s:%d:%d-%d:%d:",
				 L->file, L->line, L->col, L->eline, L->ecol);
			break;
		}
		if (!expect(L, T_LP, stmt))
			break;
		struct otree *o = otree_parse(L, type);
		if (!o)
			break;
		if (s)
			source_driver(L, c, s, dname, o);
		else if (!dest_scl_block(L, c, dst, dname))
			dest_driver(L, c, dst, dname, o);
	}
}

/* source NAME { driver(...); ... }: a new source in c (which owns name from
 * here), its body after '{' up to '}'. */
static struct ls_source *source_body(struct lex *L, struct ls_cfg *c, char *name)
{
	struct ls_source *s = xcalloc(sizeof *s);
	s->name = name;
	s->tag = -1; /* ".source.NAME", registered after parsing as 3.38 does */
	PUSH(c->src, c->n_src, s);
	driver_list(L, c, s, NULL);
	return s;
}

/* destination NAME { driver(...); ... }: as source_body(). */
static struct ls_dest *dest_body(struct lex *L, struct ls_cfg *c, char *name)
{
	struct ls_dest *d = xcalloc(sizeof *d);
	d->name = name;
	PUSH(c->dst, c->n_dst, d);
	driver_list(L, c, NULL, d);
	return d;
}

/* ------------------------------------------------------------- log paths */

/* A filter body after '{': a new filter in c (which owns name from here);
 * its root is NULL after a syntax error. */
static struct ls_filter *filter_new(struct lex *L, struct ls_cfg *c, char *name)
{
	struct ls_filter *f = xcalloc(sizeof *f);
	f->name = name;
	f->cfg = c;
	PUSH(c->flt, c->n_flt, f);
	lex_next(L);
	f->file = L->file;
	f->line = L->line;
	f->col = L->col;
	lex_unget(L);
	struct fparse P = {L, c, f, "filter expression"};
	f->root = fp_body(&P);
	return f;
}

void ls_filter_free(struct ls_filter *f)
{
	if (!f)
		return;
	for (struct fnode *n = f->nodes, *next; n; n = next) {
		next = n->owned_next;
		ls_fnode_free(n);
	}
	free(f->name);
	free(f);
}

/* "Error parsing WHAT, FEATURE is not supported by logsift in F:L:C-L:C:"
 * (exit 1, as the other refusals): a 3.38 feature logsift does not run. */
static void refuse(struct lex *L, const char *what, const char *feature, const char *file, int line,
		   int col, int len)
{
	lex_fail(L, 1, "Error parsing %s, %s is not supported by logsift in %s:%d:%d-%d:%d:", what,
		 feature, file, line, col, line, col + len);
}

/* ---------------------------------------------------------------- rewrite */

static struct ls_rewrite *find_rewrite(struct ls_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_rw; i++)
		if (!strcmp(c->rw[i]->name, name))
			return c->rw[i];
	return NULL;
}

/* condition( expr ) after "condition": the expression as an anonymous
 * filter of c (so filter() references in it are resolved and checked for
 * loops with the others). */
static struct ls_filter *rw_condition_body(struct lex *L, struct ls_cfg *c);

static struct ls_filter *rw_condition(struct lex *L, struct ls_cfg *c)
{
	if (!expect(L, T_LP, "rewrite expression"))
		return NULL;
	return rw_condition_body(L, c);
}

/* A filter expression up to ')' (the '(' read): a new anonymous filter. */
static struct ls_filter *rw_condition_body(struct lex *L, struct ls_cfg *c)
{
	struct ls_filter *f = xcalloc(sizeof *f);
	f->name = anon_name(c, 1);
	f->cfg = c;
	PUSH(c->flt, c->n_flt, f);
	lex_next(L);
	f->file = L->file;
	f->line = L->line;
	f->col = L->col;
	lex_unget(L);
	struct fparse P = {L, c, f, "filter expression"};
	f->root = fp_chain(&P, true);
	if (!f->root || L->failed)
		return NULL;
	return expect(L, T_RP, "filter expression") ? f : NULL;
}

/* value("NAME") of a rewrite operation, checked as 3.38's rewrite_expr_opt. */
static bool rw_value(struct lex *L, struct ls_cfg *c, struct ls_rwop *op, struct otree *k)
{
	const char *v = k->n ? k->kids[0]->val : NULL;
	if (!v) {
		syntax_error(L, "rewrite expression", "LL_STRING");
		return false;
	}
	if (v[0] == '$') {
		ls_cfg_warn(c,
			    "Value references in rewrite rules should not use the '$' prefix, "
			    "those are only needed in templates; value='%s', location='%s:%d:%d'",
			    v, k->kids[0]->file, k->kids[0]->line, k->kids[0]->col);
		v++;
	}
	/* macros (DATE, FACILITY, ...) are computed, not stored: 3.38 refuses them */
	char t[300];
	snprintf(t, sizeof t, "${%s}", v);
	struct ok_err e;
	struct ls_tmpl *probe = ls_tmpl_new(t, &e);
	bool macro = probe && !ls_msg_name_is_field(v) && !ls_tmpl_is_name(probe);
	ls_tmpl_free(probe);
	if (macro || !*v) {
		const struct otree *a = k->kids[0];
		lex_fail(L, 1, "Error parsing rewrite expression, %s %s in %s:%d:%d-%d:%d:", v,
			 *v ? "is read-only, it cannot be changed in rewrite rules"
			    : "is not a valid name for a name-value pair, perhaps a misspelled "
			      ".SDATA reference?",
			 a->file, a->line, a->col, a->eline, a->ecol);
		return false;
	}
	free(op->value);
	op->value = xstrdup(v);
	return true;
}

/* A template argument of a rewrite operation, 3.38's template_content: the
 * text itself, never a template object of that name; false after an error. */
static bool rw_tmpl(struct lex *L, struct ls_cfg *c, struct ls_tmpl **out, const char *text)
{
	(void)c;
	struct ok_err e;
	*out = ls_tmpl_new(text, &e);
	if (!*out) {
		semantic_error(L, "rewrite expression", e.msg);
		return false;
	}
	return true;
}

/* One operation after its name: "(" strings and options ")". */
static bool rw_op(struct lex *L, struct ls_cfg *c, struct ls_rewrite *r, const char *name)
{
	static const struct {
		const char *name;
		enum rw_kind kind;
		int nstr; /* positional strings it takes */
	} ops[] = {{"set", RW_SET, 1},
		   {"unset", RW_UNSET, 0},
		   {"subst", RW_SUBST, 2},
		   {"set-tag", RW_SET_TAG, 1},
		   {"clear-tag", RW_CLEAR_TAG, 1},
		   {"groupset", RW_GROUPSET, 1},
		   {"groupunset", RW_GROUPUNSET, 0}};
	int which = -1;
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
		if (kw(name, ops[i].name))
			which = (int)i;
	if (which < 0) {
		/* set-pri, rename, credit-card-mask, plugins: not in logsift */
		{
			char f[64];
			snprintf(f, sizeof f, "rewrite %s()", name);
			refuse(L, "rewrite expression", f, L->file, L->line, L->col,
			       (int)strlen(name));
		}
		return false;
	}
	PUSH(r->ops, r->n_ops, (struct ls_rwop){0});
	struct ls_rwop *op = &r->ops[r->n_ops - 1];
	op->kind = ops[which].kind;
	op->file = L->file;
	op->line = L->line;
	op->col = L->col;
	op->tag = -1;
	op->topts = (struct ls_tmpl_opts){.ts_format = -1, .frac_digits = -1};
	if (!expect(L, T_LP, "rewrite expression"))
		return false;
	const char *str[2] = {NULL, NULL};
	int nstr = 0;
	struct otree *opts = scratch_alloc(L, sizeof *opts);
	for (;;) {
		lex_next(L);
		if (L->failed)
			return false;
		if (L->t == T_RP)
			break;
		if (L->t == T_STR || L->t == T_NUM) {
			if (nstr >= ops[which].nstr) {
				syntax_error(L, "rewrite expression", NULL);
				return false;
			}
			str[nstr++] = scratch_strdup(L, L->s.p);
			continue;
		}
		if (L->t != T_ID || nstr < ops[which].nstr) {
			syntax_error(L, "rewrite expression",
				     nstr < ops[which].nstr ? "LL_STRING" : NULL);
			return false;
		}
		if (kw(L->s.p, "condition")) {
			if (op->cond) {
				syntax_error(L, "rewrite expression", NULL);
				return false;
			}
			op->cond = rw_condition(L, c);
			if (!op->cond)
				return false;
			continue;
		}
		struct otree *k = scratch_alloc(L, sizeof *k);
		k->name = scratch_strdup(L, L->s.p);
		k->file = L->file;
		k->line = L->line;
		k->col = L->col;
		k->eline = L->eline;
		k->ecol = L->ecol;
		if (!expect(L, T_LP, "rewrite expression") ||
		    !otree_args(L, k, "rewrite expression"))
			return false;
		otree_add(L, opts, k);
	}
	if (nstr < ops[which].nstr) {
		syntax_error(L, "rewrite expression", "LL_STRING");
		return false;
	}
	op->value = xstrdup("MESSAGE");
	struct fnode *mt = NULL;
	if (op->kind == RW_SUBST) {
		mt = op->matcher = xcalloc(sizeof *mt);
		mt->kind = FN_MATCH;
		mt->field = -1;
		mt->mtype = MT_PCRE;
		mt->pattern = xstrdup(str[0]);
		if (!rw_tmpl(L, c, &op->tmpl, str[1]))
			return false;
	} else if (op->kind == RW_SET || op->kind == RW_GROUPSET) {
		if (!rw_tmpl(L, c, &op->tmpl, str[0]))
			return false;
	} else if (op->kind == RW_SET_TAG || op->kind == RW_CLEAR_TAG) {
		/* 3.38's log_rewrite_set_tag_new: a literal name is registered
		 * now, a template's per message (rewrite.c) */
		if (!rw_tmpl(L, c, &op->tmpl, str[0]))
			return false;
		if (ls_tmpl_is_literal(op->tmpl)) {
			size_t n;
			const char *lit = ls_tmpl_fixed_prefix(op->tmpl, &n);
			struct ls_buf name = {0};
			ls_buf_add(&name, lit ? lit : "", n);
			ls_buf_addc(&name, 0);
			op->tag = ls_cfg_tag(c, name.p);
			ls_buf_free(&name);
			ls_tmpl_free(op->tmpl);
			op->tmpl = NULL;
		}
	}
	for (size_t i = 0; i < opts->n; i++) {
		struct otree *k = opts->kids[i];
		bool ok = false;
		if (kw(k->name, "value") && op->kind <= RW_SUBST) {
			ok = rw_value(L, c, op, k);
			if (!ok)
				return false;
		} else if (kw(k->name, "values") &&
			   (op->kind == RW_GROUPSET || op->kind == RW_GROUPUNSET)) {
			for (size_t j = 0; j < k->n; j++)
				if (k->kids[j]->val)
					PUSH(op->globs, op->n_globs, xstrdup(k->kids[j]->val));
			ok = true;
		} else if (op->kind == RW_SUBST && (kw(k->name, "type") || kw(k->name, "flags"))) {
			struct otree one = {.kids = &opts->kids[i], .n = 1, .cap = 1};
			struct fparse P = {L, c, NULL, "rewrite expression"};
			fp_match_opts(&P, mt, &one);
			if (L->failed)
				return false;
			if (mt->mtype == MT_GLOB) {
				lex_fail(L, 1,
					 "Error parsing rewrite expression, error compiling search "
					 "pattern: subst() only supports matchers that allow "
					 "replacement, glob is not one of these in %s:%d:%d-%d:%d:",
					 k->file, k->line, k->col, k->eline, k->ecol);
				return false;
			}
			ok = true;
		} else if (op->kind == RW_SET &&
			   (kw(k->name, "ts-format") || kw(k->name, "frac-digits") ||
			    kw(k->name, "time-zone") || kw(k->name, "send-time-zone"))) {
			struct otree one = {.kids = &opts->kids[i], .n = 1, .cap = 1};
			ok = tmpl_opts(L, c, &one, "rewrite expression", &op->topts);
			if (!ok)
				return false;
		}
		if (!ok) {
			unexpected_id(L, "rewrite expression", k->name, k->file, k->line, k->col,
				      k->eline, k->col + (int)strlen(k->name));
			return false;
		}
	}
	if (mt) {
		struct ok_err e;
		if (ls_fnode_compile(mt, &e) < 0) {
			lex_fail(L, 1,
				 "Error parsing rewrite expression, error compiling search "
				 "pattern: %s in %s:%d:%d:",
				 e.msg, op->file, op->line, op->col);
			return false;
		}
	}
	return true;
}

/* A rewrite body after '{': operations up to '}' (the ';' after it is the
 * caller's). The rule is added to c->rw; NULL after an error. */
static struct ls_rewrite *rewrite_body(struct lex *L, struct ls_cfg *c, char *name,
				       const char *file, int line, int col)
{
	struct ls_rewrite *r = xcalloc(sizeof *r);
	r->name = name;
	r->file = file;
	r->line = line;
	r->col = col;
	PUSH(c->rw, c->n_rw, r);
	for (;;) {
		lex_next(L);
		if (L->failed)
			return NULL;
		if (L->t == T_RB)
			return r;
		if (L->t == T_SEMI)
			continue;
		if (L->t != T_ID) {
			syntax_error(L, "rewrite expression", NULL);
			return NULL;
		}
		char what[32];
		snprintf(what, sizeof what, "%s", L->s.p);
		if (!rw_op(L, c, r, what))
			return NULL;
		lex_next(L);
		if (L->t == T_RB)
			return r;
		if (L->t != T_SEMI) {
			syntax_error(L, "rewrite expression", "';'");
			return NULL;
		}
	}
}

/* ---------------------------------------------------------------- parsers */

static struct ls_parser *find_parser(struct ls_cfg *c, const char *name)
{
	for (size_t i = 0; i < c->n_ps; i++)
		if (!strcmp(c->ps[i]->name, name))
			return c->ps[i];
	return NULL;
}

/* "Error parsing parser expression, MSG in F:L:C-L:C:" at option k. */
static void ps_error(struct lex *L, const struct otree *k, const char *msg)
{
	lex_fail(L, 1, "Error parsing parser expression, %s in %s:%d:%d-%d:%d:", msg, k->file,
		 k->line, k->col, k->eline, k->ecol);
}

/* The one string argument of option k, or NULL after an error. */
static const char *ps_str(struct lex *L, const struct otree *k)
{
	if (k->n != 1 || !k->kids[0]->val || k->kids[0]->name) {
		ps_error(L, k, "syntax error, expecting one string");
		return NULL;
	}
	return k->kids[0]->val;
}

static void csv_defaults(struct ls_csv_opts *o)
{
	o->delims = xstrdup(" ");
	o->qstart = xstrdup("\"'");
	o->qend = xstrdup("\"'");
	o->flags = LS_CSV_STRIP;
	o->dialect = LS_CSV_ESC_NONE;
}

/* quote-pairs("<>[]"): opening and closing bytes by pairs (an odd last one dropped). */
static void csv_quote_pairs(struct ls_csv_opts *o, const char *v)
{
	size_t n = strlen(v) / 2;
	free(o->qstart);
	free(o->qend);
	o->qstart = xcalloc(n + 1);
	o->qend = xcalloc(n + 1);
	for (size_t i = 0; i < n; i++) {
		o->qstart[i] = v[2 * i];
		o->qend[i] = v[2 * i + 1];
	}
}

/* One csv-parser() option; false after an error. */
static bool csv_opt(struct lex *L, struct ls_parser *p, struct otree *k)
{
	struct ls_csv_opts *o = &p->csv;
	const char *v;
	if (kw(k->name, "columns")) {
		for (size_t i = 0; i < k->n; i++)
			if (k->kids[i]->val)
				PUSH(o->cols, o->n_cols, xstrdup(k->kids[i]->val));
	} else if (kw(k->name, "flags")) {
		static const char *const words[] = {
		    "escape-none",	"escape-backslash", "escape-double-char",
		    "strip-whitespace", "greedy",	    "drop-invalid"};
		unsigned flags = 0;
		int dialects = 0, dialect = -1;
		for (size_t i = 0; i < k->n; i++) {
			const char *w = k->kids[i]->val;
			size_t j = 0;
			while (w && j < 6 && !kw(w, words[j]))
				j++;
			if (!w || j == 6) {
				char msg[200];
				snprintf(msg, sizeof msg, "unknown csv-parser() flag %s",
					 w ? w : "");
				ps_error(L, k->kids[i], msg);
				return false;
			}
			if (j < 3) {
				dialects |= 1 << j;
				dialect = (int)j;
			} else if (j == 3) {
				flags |= LS_CSV_STRIP;
			} else if (j == 4) {
				flags |= LS_CSV_GREEDY;
			} else {
				p->drop_invalid = true;
			}
		}
		if (dialects & (dialects - 1)) {
			ps_error(L, k, "only one escape style can be used in the flags argument");
			return false;
		}
		o->flags = flags; /* as 3.38: replaces the default strip-whitespace */
		if (dialect >= 0)
			o->dialect = dialect;
	} else if (kw(k->name, "dialect")) {
		static const char *const d[] = {"escape-none", "escape-backslash",
						"escape-double-char"};
		if (!(v = ps_str(L, k)))
			return false;
		int j = 0;
		while (j < 3 && !kw(v, d[j]))
			j++;
		if (j == 3) {
			ps_error(L, k, "unknown dialect() argument for csv-parser()");
			return false;
		}
		o->dialect = j;
	} else if (kw(k->name, "drop-invalid")) {
		if (!(v = ps_str(L, k)))
			return false;
		p->drop_invalid = !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1");
	} else if (kw(k->name, "delimiters")) {
		for (size_t i = 0; i < k->n; i++) {
			struct otree *d = k->kids[i];
			if (!d->name) {
				free(o->delims);
				o->delims = xstrdup(d->val);
			} else if (kw(d->name, "chars")) {
				if (!(v = ps_str(L, d)))
					return false;
				free(o->delims);
				o->delims = xstrdup(v);
			} else if (kw(d->name, "strings")) {
				for (size_t j = 0; j < d->n; j++)
					if (d->kids[j]->val)
						PUSH(o->sdelims, o->n_sdelims,
						     xstrdup(d->kids[j]->val));
			} else {
				unexpected_id(L, "parser expression", d->name, d->file, d->line,
					      d->col, d->eline, d->col + (int)strlen(d->name));
				return false;
			}
		}
	} else if (kw(k->name, "quotes")) {
		if (!(v = ps_str(L, k)))
			return false;
		free(o->qstart);
		free(o->qend);
		o->qstart = xstrdup(v);
		o->qend = xstrdup(v);
	} else if (kw(k->name, "quote-pairs")) {
		if (!(v = ps_str(L, k)))
			return false;
		csv_quote_pairs(o, v);
	} else if (kw(k->name, "null")) {
		if (!(v = ps_str(L, k)))
			return false;
		free(o->null);
		o->null = v[0] ? xstrdup(v) : NULL;
	} else {
		return false;
	}
	return true;
}

/* One kv-parser() option; false when unknown or after an error. */
static bool kv_opt(struct lex *L, struct ls_parser *p, struct otree *k)
{
	const char *v;
	if (kw(k->name, "value-separator")) {
		if (!(v = ps_str(L, k)))
			return false;
		if (strlen(v) != 1) {
			ps_error(L, k->kids[0],
				 "kv-parser() only supports single-character values for "
				 "value-separator()");
			return false;
		}
		if (v[0] == ' ' || v[0] == '\'' || v[0] == '"') {
			ps_error(L, k->kids[0],
				 "kv-parser() unsupported character for value-separator()");
			return false;
		}
		p->vsep = v[0];
	} else if (kw(k->name, "pair-separator")) {
		if (!(v = ps_str(L, k)))
			return false;
		free(p->psep);
		p->psep = xstrdup(v);
	} else if (kw(k->name, "allow-pair-separator-in-value")) {
		/* 3.38's grammar takes it and does nothing with it */
	} else if (kw(k->name, "extract-stray-words-into")) {
		refuse(L, "parser expression", "kv-parser(extract-stray-words-into())", k->file,
		       k->line, k->col, (int)strlen(k->name));
		return false;
	} else {
		return false;
	}
	return true;
}

/* One json-parser() option; false when unknown or after an error. */
static bool json_opt(struct lex *L, struct ls_parser *p, struct otree *k)
{
	const char *v;
	if (kw(k->name, "marker") || kw(k->name, "extract-prefix")) {
		if (!(v = ps_str(L, k)))
			return false;
		char **dst = kw(k->name, "marker") ? &p->marker : &p->extract;
		free(*dst);
		*dst = xstrdup(v);
	} else if (kw(k->name, "key-delimiter")) {
		if (!(v = ps_str(L, k)))
			return false;
		if (strlen(v) != 1) {
			ps_error(L, k->kids[0], "key-delimiter() only supports single characters");
			return false;
		}
		p->json_delim = v[0];
	} else {
		return false;
	}
	return true;
}

/* One date-parser() option; false when unknown or after an error. */
static bool date_opt(struct lex *L, struct ls_parser *p, struct otree *k)
{
	const char *v;
	if (kw(k->name, "format")) {
		/* a later format() replaces the list, as date_parser_set_formats */
		for (size_t i = 0; i < p->n_fmts; i++)
			free(p->fmts[i]);
		p->n_fmts = 0;
		for (size_t j = 0; j < k->n; j++) {
			const char *f = k->kids[j]->val;
			char bad;
			if (!f)
				continue;
			if (ls_datep_check(f, &bad) < 0) {
				char what[64];
				snprintf(what, sizeof what, "date-parser(format()) conversion %%%c",
					 bad ? bad : ' ');
				refuse(L, "parser expression", what, k->kids[j]->file,
				       k->kids[j]->line, k->kids[j]->col, (int)strlen(f) + 2);
				return false;
			}
			PUSH(p->fmts, p->n_fmts, xstrdup(f));
		}
	} else if (kw(k->name, "time-zone")) {
		if (!(v = ps_str(L, k)))
			return false;
		free(p->date_tz);
		p->date_tz = xstrdup(v);
	} else if (kw(k->name, "time-stamp")) {
		if (!(v = ps_str(L, k)))
			return false;
		if (!strcmp(v, "stamp") || !strcmp(v, "recvd")) {
			p->date_recvd = !strcmp(v, "recvd");
		} else {
			syntax_error(L, "parser expression", NULL);
			return false;
		}
	} else if (kw(k->name, "flags")) {
		for (size_t j = 0; j < k->n; j++) {
			const char *f = k->kids[j]->val;
			if (!f)
				continue;
			if (kw(f, "guess-timezone")) {
				/* its result depends on the clock at the time of arrival */
				refuse(L, "parser expression", "date-parser(flags(guess-timezone))",
				       k->file, k->line, k->col, (int)strlen(k->name));
			} else {
				lex_fail(L, 1,
					 "Error parsing parser expression, Unknown flag %s in "
					 "%s:%d:%d-%d:%d:",
					 f, k->kids[j]->file, k->kids[j]->line, k->kids[j]->col,
					 k->kids[j]->eline, k->kids[j]->ecol);
			}
			return false;
		}
	} else {
		return false;
	}
	return true;
}

/*
 * One syslog-parser() option as 3.38's grammar (parser_opt, flags(),
 * drop-invalid(), msg_format_option): false when unknown or after an
 * error. flags() are the source's words; default-priority() and
 * default-facility() combine as a source's do.
 */
static bool syslog_opt(struct lex *L, struct ls_parser *p, struct otree *k, int *fac, int *sev)
{
	const char *v;
	if (kw(k->name, "flags")) {
		for (size_t j = 0; j < k->n; j++) {
			const struct otree *f = k->kids[j];
			const struct flag_name *fl = f->val ? flag_find(src_flags, f->val) : NULL;
			if (!f->val)
				continue;
			if (kw(f->val, "store-raw-message") || kw(f->val, "guess-timezone") ||
			    kw(f->val, "no-header")) {
				char what[64];
				snprintf(what, sizeof what, "syslog-parser(flags(%s))", f->val);
				refuse(L, "parser expression", what, f->file, f->line, f->col,
				       (int)strlen(f->val));
				return false;
			}
			/* the reader's flags are not msg-format flags in 3.38 */
			if (!fl || kw(f->val, "threaded") || kw(f->val, "kernel") ||
			    kw(f->val, "empty-lines")) {
				lex_fail(L, 1,
					 "Error parsing parser expression, Unknown flag %s in "
					 "%s:%d:%d-%d:%d:",
					 f->val, f->file, f->line, f->col, f->eline, f->ecol);
				return false;
			}
			p->sys_flags = (p->sys_flags | fl->set) & ~fl->clear;
		}
		return true;
	}
	if (kw(k->name, "drop-invalid")) {
		if (!(v = ps_str(L, k)))
			return false;
		bool yes = kw(v, "yes") || kw(v, "on") || !strcmp(v, "1");
		if (!yes && !kw(v, "no") && !kw(v, "off") && strcmp(v, "0")) {
			ps_error(L, k, "syntax error, expecting yes or no");
			return false;
		}
		p->drop_invalid = yes;
	} else if (kw(k->name, "time-zone")) {
		if (!(v = ps_str(L, k)))
			return false;
		free(p->date_tz);
		p->date_tz = xstrdup(v);
	} else if (kw(k->name, "default-facility")) {
		if (!(v = ps_str(L, k)) || (*fac = ls_facility_by_name(v)) < 0) {
			ps_error(L, k, "Unknown default facility or priority");
			return false;
		}
	} else if (kw(k->name, "default-priority") || kw(k->name, "default-level") ||
		   kw(k->name, "default-severity")) {
		if (!(v = ps_str(L, k)) || (*sev = ls_severity_by_name(v)) < 0) {
			ps_error(L, k, "Unknown default facility or priority");
			return false;
		}
	} else {
		return false;
	}
	return true;
}

/* One parser after its name ("kv-parser", ...): "(" options ")". */
static struct ls_parser *ps_one(struct lex *L, struct ls_cfg *c, const char *name, const char *rule)
{
	const char *file = L->file;
	int line = L->line, col = L->col;
	bool kv = kw(name, "kv-parser"), csv = kw(name, "csv-parser"),
	     json = kw(name, "json-parser"), re = kw(name, "regexp-parser"),
	     date = kw(name, "date-parser"), sys = kw(name, "syslog-parser");
	int fac = 1, sev = 5; /* syslog: user.notice unless set */
	if (!kv && !csv && !json && !re && !date && !sys) {
		{
			char f[64];
			snprintf(f, sizeof f, "%s()", name);
			refuse(L, "parser expression", f, file, line, col, (int)strlen(name));
		}
		return NULL;
	}
	if (!expect(L, T_LP, "parser expression"))
		return NULL;
	struct otree *o = otree_parse(L, "parser expression");
	if (!o)
		return NULL;
	struct ls_parser *p = xcalloc(sizeof *p);
	p->kind = kv	 ? PS_KV
		  : csv	 ? PS_CSV
		  : json ? PS_JSON
		  : re	 ? PS_REGEXP
		  : date ? PS_DATE
			 : PS_SYSLOG;
	/* regexp-parser(): its matcher options, for every pattern */
	struct fnode mopt = {.mtype = MT_PCRE, .mflags = MF_STORE};
	const char **pats = NULL;
	size_t n_pats = 0;
	p->json_delim = '.';
	p->name = xstrdup(rule);
	p->file = file;
	p->line = line;
	p->col = col;
	p->vsep = '=';
	p->psep = xstrdup(", ");
	if (sys) /* 3.38's syslog-parser() reads a host unless flags(no-hostname) */
		p->sys_flags = LS_P_EXPECT_HOSTNAME;
	if (csv)
		csv_defaults(&p->csv);
	for (size_t i = 0; i < o->n; i++) {
		struct otree *k = o->kids[i];
		bool ok = false;
		if (!k->name) {
			syntax_error(L, "parser expression", NULL);
		} else if (kw(k->name, "prefix") && !date && !sys) {
			const char *v = ps_str(L, k);
			if (v) {
				free(p->prefix);
				p->prefix = xstrdup(v);
				ok = true;
			}
		} else if (kw(k->name, "template")) {
			const char *v = ps_str(L, k);
			struct ok_err e;
			if (v) {
				ls_tmpl_free(p->tmpl);
				p->tmpl = ls_tmpl_new(tmpl_text(c, v, NULL, NULL), &e);
				if (!p->tmpl)
					ps_error(L, k, e.msg);
				ok = p->tmpl != NULL;
			}
		} else if (re && kw(k->name, "patterns")) {
			for (size_t j = 0; j < k->n; j++)
				if (k->kids[j]->val)
					PUSH(pats, n_pats, k->kids[j]->val);
			ok = true;
		} else if (re && (kw(k->name, "type") || kw(k->name, "flags"))) {
			struct otree one = {.kids = &o->kids[i], .n = 1, .cap = 1};
			struct fparse P = {L, c, NULL, "parser expression"};
			fp_match_opts(&P, &mopt, &one);
			ok = !L->failed;
			if (ok && mopt.mtype != MT_PCRE) {
				/* 3.38 would run a string or glob matcher, which stores nothing */
				refuse(L, "parser expression",
				       "regexp-parser(type()) other than pcre", k->file, k->line,
				       k->col, (int)strlen(k->name));
				ok = false;
			}
		} else if (sys) {
			ok = syslog_opt(L, p, k, &fac, &sev);
			if (!ok && !L->failed)
				unexpected_id(L, "parser expression", k->name, k->file, k->line,
					      k->col, k->eline, k->col + (int)strlen(k->name));
		} else if (date) {
			ok = date_opt(L, p, k);
			if (!ok && !L->failed)
				unexpected_id(L, "parser expression", k->name, k->file, k->line,
					      k->col, k->eline, k->col + (int)strlen(k->name));
		} else if (re) {
			ok = false;
			if (!L->failed)
				unexpected_id(L, "parser expression", k->name, k->file, k->line,
					      k->col, k->eline, k->col + (int)strlen(k->name));
		} else {
			ok = kv ? kv_opt(L, p, k) : csv ? csv_opt(L, p, k) : json_opt(L, p, k);
			if (!ok && !L->failed)
				unexpected_id(L, "parser expression", k->name, k->file, k->line,
					      k->col, k->eline, k->col + (int)strlen(k->name));
		}
		if (!ok) {
			free(pats);
			ls_parser_free(p);
			return NULL;
		}
	}
	p->sys_default_pri = fac * 8 + sev;
	if (date && !p->n_fmts)
		PUSH(p->fmts, p->n_fmts, xstrdup("%FT%T%z")); /* date_parser_new's default */
	/* regexp_parser_compile: one matcher per pattern, the options all share */
	for (size_t i = 0; i < n_pats; i++) {
		struct fnode *mt = xcalloc(sizeof *mt);
		mt->mtype = MT_PCRE;
		mt->mflags = mopt.mflags;
		mt->pattern = xstrdup(pats[i]);
		PUSH(p->re, p->n_re, mt);
		struct ok_err e;
		if (ls_fnode_compile(mt, &e) < 0) {
			lex_fail(L, 1, "Error parsing parser expression, %s in %s:%d:%d:", e.msg,
				 file, line, col);
			free(pats);
			ls_parser_free(p);
			return NULL;
		}
	}
	free(pats);
	return p;
}

/* A parser body after '{': parsers up to '}' (the ';' after it is the
 * caller's). The rule (its first parser) is added to c->ps; NULL after an
 * error. */
static struct ls_parser *parser_body(struct lex *L, struct ls_cfg *c, char *name)
{
	struct ls_parser *first = NULL, **tail = &first;
	for (;;) {
		lex_next(L);
		if (L->failed)
			break;
		if (L->t == T_RB) {
			if (!first) {
				lex_fail(
				    L, 1,
				    "Error parsing parser statement, empty parser in %s:%d:%d:",
				    L->file, L->line, L->col);
				break;
			}
			PUSH(c->ps, c->n_ps, first);
			free(name);
			return first;
		}
		if (L->t == T_SEMI)
			continue;
		if (L->t != T_ID) {
			syntax_error(L, "parser expression", NULL);
			break;
		}
		char what[32];
		snprintf(what, sizeof what, "%s", L->s.p);
		struct ls_parser *p = ps_one(L, c, what, name);
		if (!p)
			break;
		*tail = p;
		tail = &p->next;
	}
	while (first) {
		struct ls_parser *n = first->next;
		ls_parser_free(first);
		first = n;
	}
	free(name);
	return NULL;
}

/* A new element at the end of p, for the caller to fill in. */
static struct ls_elem *elem_new(struct ls_path *p, enum el_kind kind, const struct ls_elem *at)
{
	PUSH(p->el, p->n_el, (struct ls_elem){0});
	struct ls_elem *e = &p->el[p->n_el - 1];
	e->kind = kind;
	e->file = at->file;
	e->line = at->line;
	e->col = at->col;
	return e;
}

static struct ls_path *log_body(struct lex *L, struct ls_cfg *c, const char *file, int line,
				int col);
static struct ls_path *log_body_x(struct lex *L, struct ls_cfg *c, const char *file, int line,
				  int col, bool semi);

static const struct flag_name log_flag_names[] = {{"final", PF_FINAL, 0},
						  {"fallback", PF_FALLBACK, 0},
						  {"catchall", PF_CATCHALL, 0},
						  {"catch-all", PF_CATCHALL, 0},
						  {"flow-control", PF_FLOW_CONTROL, 0},
						  {"drop-unmatched", PF_DROP_UNMATCHED, 0},
						  {NULL, 0, 0}};

/* flags(final fallback catchall ...) of a log statement */
static void log_flags(struct lex *L, struct ls_cfg *c, struct ls_path *p)
{
	struct otree *o = otree_parse(L, "log flags");
	for (size_t i = 0; o && i < o->n; i++) {
		const char *v = o->kids[i]->val;
		if (!v)
			continue;
		const struct flag_name *fl = flag_find(log_flag_names, v);
		if (fl)
			p->flags |= fl->set;
		else
			ls_cfg_warn(c, "Unknown log statement flag; flag='%s'", v);
	}
}

/* junction { log {...}; ... } after "junction": its branches in e. */
static bool log_junction(struct lex *L, struct ls_cfg *c, struct ls_elem *e)
{
	if (!expect(L, T_LB, "junction"))
		return false;
	for (;;) {
		lex_next(L);
		if (L->failed)
			return false;
		if (L->t == T_RB)
			return true;
		if (L->t == T_SEMI)
			continue;
		if (!is_kw(L, "log") && !is_kw(L, "channel")) {
			syntax_error(L, "junction", "KW_LOG");
			return false;
		}
		const char *f = L->file;
		int ln = L->line, cl = L->col;
		if (!expect(L, T_LB, "junction"))
			return false;
		struct ls_path *child = log_body(L, c, f, ln, cl);
		if (!child)
			return false;
		PUSH(e->br, e->n_br, child);
	}
}

/* A path made here (not by log_body): registered for stats and freeing. */
static struct ls_path *path_new(struct ls_cfg *c, const struct ls_elem *at, unsigned flags)
{
	struct ls_path *p = xcalloc(sizeof *p);
	p->file = at->file;
	p->line = at->line;
	p->col = at->col;
	p->flags = flags;
	PUSH(c->all_paths, c->n_all_paths, p);
	p->index = (int)c->n_all_paths;
	return p;
}

/* An explicit junction at the end of p with one branch, child. */
static void path_nest(struct ls_path *p, const struct ls_elem *at, struct ls_path *child)
{
	struct ls_elem *j = elem_new(p, EL_JUNCTION, at);
	j->ref = xstrdup("junction");
	PUSH(j->br, j->n_br, child);
}

/*
 * if (EXPR) { ... } [elif (EXPR) { ... }]... [else { ... }] after "if", as
 * 3.38's log_expr_node_new_conditional_with_filter builds it: a junction of
 * two final branches, the first "filter EXPR; log { ... flags(drop-
 * unmatched) }", the second the else block (empty: the message goes on
 * after the if) or the next elif's junction. The ';' after it is the
 * caller's.
 */
static bool log_if(struct lex *L, struct ls_cfg *c, struct ls_path *p, const struct ls_elem *at)
{
	struct ls_elem *j = elem_new(p, EL_JUNCTION, at);
	j->ref = xstrdup("junction");
	for (;;) {
		lex_next(L);
		if (L->t != T_LP) {
			if (L->t == T_LB)
				refuse(L, "log statement", "if { ... } without a condition",
				       L->file, L->line, L->col, 1);
			else
				syntax_error(L, "log statement", "'('");
			return false;
		}
		struct ls_filter *f = rw_condition_body(L, c);
		if (!f)
			return false;
		const struct ls_elem here = {.file = L->file, .line = L->line, .col = L->col};
		if (!expect(L, T_LB, "log statement"))
			return false;
		struct ls_path *inner = log_body_x(L, c, here.file, here.line, here.col, false);
		if (!inner)
			return false;
		inner->flags |= PF_DROP_UNMATCHED;
		struct ls_path *tb = path_new(c, at, PF_FINAL);
		struct ls_elem *fe = elem_new(tb, EL_FILTER, at);
		fe->flt = f;
		path_nest(tb, &here, inner);
		struct ls_path *fb = path_new(c, at, PF_FINAL);
		PUSH(j->br, j->n_br, tb);
		PUSH(j->br, j->n_br, fb);
		lex_next(L);
		if (is_kw(L, "elif")) {
			j = elem_new(fb, EL_JUNCTION, at);
			j->ref = xstrdup("junction");
			continue;
		}
		if (is_kw(L, "else")) {
			const struct ls_elem el = {.file = L->file, .line = L->line, .col = L->col};
			if (!expect(L, T_LB, "log statement"))
				return false;
			struct ls_path *eb = log_body_x(L, c, el.file, el.line, el.col, false);
			if (!eb)
				return false;
			path_nest(fb, &el, eb);
			return true;
		}
		lex_unget(L);
		return true;
	}
}

/* One "source(...)" / "filter {...}" / "log {...}" / "junction {...}" item. */
static bool log_item(struct lex *L, struct ls_cfg *c, struct ls_path *p)
{
	char what[32];
	snprintf(what, sizeof what, "%s", L->s.p);
	const struct ls_elem at = {.file = L->file, .line = L->line, .col = L->col};
	if (kw(what, "flags")) {
		if (!expect(L, T_LP, "log"))
			return false;
		log_flags(L, c, p);
		return !L->failed;
	}
	if (kw(what, "log")) {
		if (!expect(L, T_LB, "log"))
			return false;
		struct ls_path *child = log_body(L, c, at.file, at.line, at.col);
		if (!child)
			return false;
		/* consecutive nested logs form one junction */
		struct ls_elem *j = p->n_el ? &p->el[p->n_el - 1] : NULL;
		if (!j || j->kind != EL_JUNCTION || j->ref)
			j = elem_new(p, EL_JUNCTION, &at);
		PUSH(j->br, j->n_br, child);
		return true;
	}
	if (kw(what, "if"))
		return log_if(L, c, p, &at);
	if (kw(what, "junction")) {
		struct ls_elem *e = elem_new(p, EL_JUNCTION, &at);
		/* marked explicit: following nested log{}s must not merge into it */
		e->ref = xstrdup("junction");
		return log_junction(L, c, e);
	}
	int kind = kw(what, "source")	     ? EL_SOURCE
		   : kw(what, "filter")	     ? EL_FILTER
		   : kw(what, "destination") ? EL_DEST
					     : -1;
	if (kind < 0) {
		if (block_use(L, "log", what))
			return !L->failed;
		if (kw(what, "rewrite") || kw(what, "parser")) {
			/* rewrite(NAME), rewrite { ... }, parser(NAME), parser { ... } */
			bool rw = kw(what, "rewrite");
			lex_next(L);
			struct ls_elem *e = elem_new(p, rw ? EL_REWRITE : EL_PARSER, &at);
			c->mutates = true;
			if (L->t == T_LP) {
				lex_next(L);
				if (L->t != T_ID && L->t != T_STR) {
					syntax_error(L, "log statement", "LL_IDENTIFIER");
					return false;
				}
				e->ref = xstrdup(L->s.p);
				return expect(L, T_RP, "log statement");
			}
			if (L->t != T_LB) {
				syntax_error(L, "log statement", "'('");
				return false;
			}
			if (rw)
				e->rw =
				    rewrite_body(L, c, anon_name(c, 4), at.file, at.line, at.col);
			else
				e->ps = parser_body(L, c, anon_name(c, 5));
			return rw ? e->rw != NULL : e->ps != NULL;
		}
		syntax_error(L, "log statement", NULL);
		return false;
	}
	lex_next(L);
	if (L->t == T_LP) {
		lex_next(L);
		if (L->t != T_ID && L->t != T_STR) {
			syntax_error(L, "log statement", "LL_IDENTIFIER");
			return false;
		}
		struct ls_elem *e = elem_new(p, (enum el_kind)kind, &at);
		e->ref = xstrdup(L->s.p);
		return expect(L, T_RP, "log statement");
	}
	if (L->t != T_LB) {
		syntax_error(L, "log statement", "'('");
		return false;
	}
	struct ls_elem *e = elem_new(p, (enum el_kind)kind, &at);
	if (kind == EL_SOURCE) {
		e->src = source_body(L, c, anon_name(c, 0));
	} else if (kind == EL_FILTER) {
		e->flt = filter_new(L, c, anon_name(c, 1));
		if (!L->failed)
			expect(L, T_RB, "filter expression");
	} else {
		e->dst = dest_body(L, c, anon_name(c, 2));
	}
	return !L->failed;
}

/* A log path's items after '{' up to "};". The path is on L->open until
 * then, and in c->all_paths (children first) after. */
static struct ls_path *log_body(struct lex *L, struct ls_cfg *c, const char *file, int line,
				int col)
{
	return log_body_x(L, c, file, line, col, true);
}

/* As log_body; semi false: the body ends at '}' (an if/elif/else block). */
static struct ls_path *log_body_x(struct lex *L, struct ls_cfg *c, const char *file, int line,
				  int col, bool semi)
{
	struct ls_path *p = xcalloc(sizeof *p);
	PUSH(L->open, L->n_open, p);
	p->file = file;
	p->line = line;
	p->col = col;
	bool after_nested = false;
	for (;;) {
		lex_next(L);
		if (L->failed)
			return NULL;
		if (L->t == T_RB) {
			if (semi)
				lex_next(L);
			if (semi && L->t != T_SEMI) {
				syntax_error(L, "log statement", "';'");
				return NULL;
			}
			if (!L->n_open || L->open[L->n_open - 1] != p)
				BUG("log path %s:%d is not the innermost open one", file, line);
			L->n_open--; /* ownership rule 4: children closed before it */
			PUSH(c->all_paths, c->n_all_paths, p);
			p->index = (int)c->n_all_paths;
			return p;
		}
		if (L->t == T_SEMI)
			continue;
		if (L->t != T_ID) {
			syntax_error(L, "log statement", NULL);
			return NULL;
		}
		if (after_nested && !is_kw(L, "log") && !is_kw(L, "flags")) {
			/* 3.38: nested log statements close a log path */
			syntax_error(L, "log statement", "'}'");
			return NULL;
		}
		if (is_kw(L, "log"))
			after_nested = true;
		bool nested =
		    is_kw(L, "log") || is_kw(L, "junction") || block_find(L, "log", L->s.p);
		if (!log_item(L, c, p))
			return NULL;
		if (nested)
			continue; /* log_body / junction consumed their ';' */
		/* every other item ends with ';' (bison: expecting ';') */
		lex_next(L);
		if (L->t != T_SEMI) {
			syntax_error(L, "log statement", "';'");
			return NULL;
		}
	}
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
		struct otree *o = otree_parse(L, "options statement");
		if (!o)
			return;
		const char *v = opt_pos(o);
		bool yes = v && (!strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"));
		long num = v ? strtol(v, NULL, 0) : 0;
		/* options{} names 3.38 knows that logsift does not implement: refused */
		static const char *const refused[] = {"dir-owner",
						      "dir-group",
						      "time-reap",
						      "mark-freq",
						      "mark-mode",
						      "mark",
						      "threaded",
						      "log-fetch-limit",
						      "stats-level",
						      "stats-lifetime",
						      "stats-max-dynamics",
						      "normalize-hostnames",
						      "use-rcptid",
						      "use-uniqid",
						      "dns-cache-size",
						      "dns-cache-expire",
						      "dns-cache-expire-failed",
						      "dns-cache-hosts",
						      "local-time-zone",
						      "flush-timeout",
						      "file-template",
						      "proto-template",
						      "check-hostname",
						      "custom-domain",
						      "sync",
						      "sync-freq",
						      "time-sleep",
						      "suppress",
						      "pass-unix-credentials",
						      "long-hostnames",
						      "min-iw-size-per-reader",
						      "encoding",
						      "use-time-recvd",
						      "log-prefix",
						      "trim-large-messages",
						      "keep-alive",
						      NULL};
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
		else if (kw(name, "keep-timestamp"))
			c->o.keep_timestamp = yes;
		else if (kw(name, "recv-time-zone")) {
			free(c->o.recv_tz);
			c->o.recv_tz = v ? xstrdup(v) : NULL;
		} else if (kw(name, "ts-format") || kw(name, "frac-digits") ||
			   kw(name, "time-zone") || kw(name, "send-time-zone") ||
			   kw(name, "on-error")) {
			struct otree *kp = o;
			struct otree wrap = {.name = name,
					     .kids = &kp,
					     .n = 1,
					     .file = file,
					     .line = line,
					     .col = col,
					     .eline = line,
					     .ecol = col + (int)strlen(name)};
			struct otree *wp = &wrap;
			struct otree top = {.kids = &wp, .n = 1};
			wrap.kids = o->kids;
			wrap.n = o->n;
			if (!tmpl_opts(L, c, &top, "options statement", &c->o.topts))
				return;
		} else if (kw(name, "use-dns"))
			c->o.use_dns = yes || (v && !strcmp(v, "persist_only"));
		else if (kw(name, "use-fqdn"))
			c->o.use_fqdn = yes;
		else if (kw(name, "dns-cache"))
			c->o.dns_cache = yes;
		else if (kw(name, "create-dirs"))
			c->o.create_dirs = yes;
		else if (kw(name, "log-msg-size"))
			c->o.log_msg_size = num > 0 ? (size_t)num : 65536;
		else if (kw(name, "log-fifo-size"))
			c->o.log_fifo_size = num > 0 ? num : 10000;
		else if (kw(name, "time-reopen"))
			c->o.time_reopen = num > 0 ? (int)num : 60;
		else if (kw(name, "log-iw-size"))
			c->o.log_iw_size = num > 0 ? (int)num : 100;
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
			if (c->o.bad_hostname)
				pcre2_code_free(c->o.bad_hostname);
			c->o.bad_hostname = NULL;
			if (v)
				c->o.bad_hostname = pcre2_compile(
				    (PCRE2_SPTR)v, PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
		} else if (in_list(refused, name)) {
			char msg[160];
			snprintf(msg, sizeof msg, "%s() is not supported by logsift", name);
			lex_fail(L, 1,
				 "Error parsing options statement, %s in %s:%d:%d-%d:%d:", msg,
				 file, line, col, line, col + (int)strlen(name));
			return;
		} else {
			lex_fail(L, 1,
				 "Error parsing options statement, syntax error, unexpected "
				 "LL_IDENTIFIER in %s:%d:%d-%d:%d:",
				 file, line, col, line, col + (int)strlen(name));
		}
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
		if (e->kind == EL_PARSER) {
			if (e->ref && !(e->ps = find_parser(c, e->ref))) {
				lex_fail(L, 2,
					 "Error resolving reference; content='parser', name='%s', "
					 "location='%s:%d:%d'",
					 e->ref, e->file, e->line, e->col);
				return false;
			}
			continue;
		}
		if (e->kind == EL_REWRITE) {
			if (e->ref && !(e->rw = find_rewrite(c, e->ref))) {
				lex_fail(L, 2,
					 "Error resolving reference; content='rewrite', name='%s', "
					 "location='%s:%d:%d'",
					 e->ref, e->file, e->line, e->col);
				return false;
			}
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

/* Destination template options not set on the driver come from options{}
 * (which may follow the destination in the file, as in 3.38). */
static void inherit_tmpl_opts(struct ls_cfg *c)
{
	for (size_t i = 0; i < c->n_rw; i++)
		for (size_t k = 0; k < c->rw[i]->n_ops; k++) {
			struct ls_tmpl_opts *t = &c->rw[i]->ops[k].topts;
			if (!t->on_error)
				t->on_error = c->o.topts.on_error;
			if (t->ts_format < 0)
				t->ts_format = c->o.topts.ts_format;
			if (t->frac_digits < 0)
				t->frac_digits = c->o.topts.frac_digits;
			if (!t->send_tz && c->o.topts.send_tz)
				t->send_tz = xstrdup(c->o.topts.send_tz);
		}
	for (size_t i = 0; i < c->n_dst; i++)
		for (size_t k = 0; k < c->dst[i]->n_drv; k++) {
			struct ls_tmpl_opts *t = &c->dst[i]->drv[k].topts;
			if (!t->on_error)
				t->on_error = c->o.topts.on_error;
			if (t->ts_format < 0)
				t->ts_format = c->o.topts.ts_format;
			if (t->frac_digits < 0)
				t->frac_digits = c->o.topts.frac_digits;
			if (!t->send_tz && c->o.topts.send_tz)
				t->send_tz = xstrdup(c->o.topts.send_tz);
		}
}

/* The zone named name from c's zone table, opened (tzfile.h) the first
 * time a name is seen; NULL for NULL. An unknown or refused name is UTC,
 * with 3.38's two warnings (its wording). */
static const struct ls_tz *cfg_zone(struct ls_cfg *c, const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < c->n_zones; i++)
		if (!strcmp(c->zones[i].name, name))
			return c->zones[i].tz;
	struct ok_err e = {0};
	struct ls_tz *z = ls_tz_open(NULL, name, &e);
	if (!z)
		abort(); /* out of memory, as PUSH */
	if (e.err) {
		char why[600];
		ok_err_format(&e, why, sizeof why);
		ls_cfg_warn(c, "Failed to open the time zone file; filename='%s/%s', message='%s'",
			    LS_TZ_DIR, name, why);
		ls_cfg_warn(c,
			    "Bogus timezone spec, must be in the format [+-]HH:MM, offset must be "
			    "less than 24:00; value='%s'",
			    name);
	}
	PUSH(c->zones, c->n_zones, ((struct ls_cfg_zone){xstrdup(name), z}));
	return z;
}

/* Every time-zone() name of c opened once, so messages are converted
 * from immutable zone data (no per-process TZ switching). */
static void resolve_zones(struct ls_cfg *c)
{
	c->o.recv_zone = cfg_zone(c, c->o.recv_tz);
	c->o.topts.send_zone = cfg_zone(c, c->o.topts.send_tz);
	for (size_t i = 0; i < c->n_src; i++)
		for (size_t k = 0; k < c->src[i]->n_drv; k++)
			c->src[i]->drv[k].recv_zone = cfg_zone(c, c->src[i]->drv[k].recv_tz);
	for (size_t i = 0; i < c->n_rw; i++)
		for (size_t k = 0; k < c->rw[i]->n_ops; k++) {
			struct ls_tmpl_opts *t = &c->rw[i]->ops[k].topts;
			t->send_zone = cfg_zone(c, t->send_tz);
		}
	for (size_t i = 0; i < c->n_dst; i++)
		for (size_t k = 0; k < c->dst[i]->n_drv; k++) {
			struct ls_tmpl_opts *t = &c->dst[i]->drv[k].topts;
			t->send_zone = cfg_zone(c, t->send_tz);
		}
	for (size_t i = 0; i < c->n_ps; i++)
		for (struct ls_parser *p = c->ps[i]; p; p = p->next) {
			p->date_zone = cfg_zone(c, p->date_tz);
			p->sys_bad_hostname = c->o.bad_hostname;
		}
}

static bool resolve(struct lex *L, struct ls_cfg *c)
{
	inherit_tmpl_opts(c);
	resolve_zones(c);
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
		struct ls_buf tag = {0};
		ls_buf_addf(&tag, ".source.%s", c->src[i]->name);
		c->src[i]->tag = ls_cfg_tag(c, tag.p);
		ls_buf_free(&tag);
	}
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

#define NO_VERSION                                                                                 \
	"ERROR: configuration files without a version number have become unsupported in "          \
	"syslog-ng 3.13, please specify a version number using @version as the first line in "     \
	"the configuration file;"

/* Statements parse_top() knows (the ones logsift skips included). */
static bool top_statement(struct lex *L, const char *what)
{
	static const char *const kws[] = {
	    "options", "source",  "destination", "filter",	"log",	  "block",
	    "parser",  "rewrite", "template",	 "application", "python", "template-function"};
	for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++)
		if (kw(what, kws[i]))
			return true;
	return block_find(L, "root", what) != NULL;
}

static void parse_top(struct lex *L, struct ls_cfg *c)
{
	for (;;) {
		scratch_free(L); /* nothing of a statement's scratch outlives it */
		lex_next(L);
		if (L->failed || L->t == T_EOF)
			return;
		if (L->t == T_SEMI)
			continue;
		if (L->t != T_ID) {
			syntax_error(L, "config", NULL);
			return;
		}
		char what[32];
		snprintf(what, sizeof what, "%s", L->s.p);
		const char *file = L->file;
		int line = L->line, col = L->col;
		if (!top_statement(L, what)) {
			/* bison: no statement starts so; its token ends before a ':' */
			int ecol = col + (int)strcspn(L->s.p, ":");
			lex_fail(L, 1,
				 "Error parsing config, syntax error, unexpected LL_IDENTIFIER, "
				 "expecting end of file in %s:%d:%d-%d:%d:",
				 file, line, col, line, ecol);
			return;
		}
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
			const char *name = scratch_strdup(L, L->s.p);
			if (!expect(L, T_LB, what))
				return;
			if (kw(what, "source")) {
				if (find_source(c, name))
					ls_cfg_warn(c, "Duplicate source; name='%s'", name);
				source_body(L, c, xstrdup(name));
			} else if (kw(what, "destination")) {
				dest_body(L, c, xstrdup(name));
			} else {
				filter_new(L, c, xstrdup(name));
				if (!L->failed)
					expect(L, T_RB, "filter expression");
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
		} else if (kw(what, "template")) {
			template_stmt(L, c);
			if (L->failed)
				return;
		} else if (kw(what, "rewrite") || kw(what, "parser")) {
			bool rw = kw(what, "rewrite");
			lex_next(L);
			if (L->t != T_ID && L->t != T_STR) {
				syntax_error(L, what, "LL_IDENTIFIER");
				return;
			}
			char *name = xstrdup(L->s.p);
			if (!expect(L, T_LB, rw ? "rewrite statement" : "parser statement")) {
				free(name);
				return;
			}
			if (rw ? !rewrite_body(L, c, name, file, line, col)
			       : !parser_body(L, c, name))
				return;
		} else if (kw(what, "application") || kw(what, "python") ||
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
	struct ls_cfg *c = xcalloc(sizeof *c);
	c->tags = &c->own_tags;
	c->version = 0;
	c->o.use_dns = 1;
	c->o.dns_cache = 1;
	c->o.log_msg_size = 65536;
	c->o.perm = 0600;
	c->o.dir_perm = 0700;
	c->o.stats_freq = 600;
	c->o.log_fifo_size = 10000; /* syslog-ng 3.38's defaults */
	c->o.time_reopen = 60;
	c->o.log_iw_size = 100;
	c->o.keep_timestamp = 1;
	c->o.topts.ts_format = ls_tmpl_ts_format("rfc3164");
	return c;
}

static void path_free(struct ls_path *p);

/* Free what the lexer owns: the input stack, @defines, blocks, scratch and
 * the log paths an error left open. */
static void lex_done(struct lex *L)
{
	while (L->in)
		pop_text(L);
	for (struct define *d = L->defs, *n; d; d = n) {
		n = d->next;
		free(d->name);
		free(d->value);
		free(d);
	}
	ls_buf_free(&L->s);
	block_free_all(L->blocks);
	scratch_free(L);
	for (size_t i = 0; i < L->n_open; i++)
		path_free(L->open[i]);
	free(L->open);
}

/* $(if)/$(grep)'s filters (msg.c's struct ls_tmpl_cond_host) */
static void *cond_compile(void *ctx, const char *expr, struct ok_err *e)
{
	return ls_filter_compile(ctx, expr, e);
}

static bool cond_eval(const void *f, struct ls_msg *m)
{
	return ls_filter_eval(f, m, NULL);
}

static void cond_free(void *f)
{
	ls_filter_free(f);
}

static struct ls_cfg *parse_text(char *text, size_t len, const char *name, struct ls_tagtab *tags,
				 struct ok_err *e)
{
	struct ls_cfg *c = cfg_new();
	if (tags)
		c->tags = tags;
	struct lex L = {0};
	L.cfg = c;
	L.e = e;
	push_text(&L, text, len, name);
	static const struct ls_tmpl_cond_host host = {cond_compile, cond_eval, cond_free};
	ls_tmpl_set_cond_host(&host, c);
	parse_top(&L, c);
	/* as 3.38: a missing @version is reported after the whole parse, after
	 * any syntax error */
	if (!L.saw_version && !L.failed)
		lex_fail(&L, 1, "%s", NO_VERSION);
	else if (!L.saw_version && e && strlen(e->msg) + sizeof NO_VERSION + 1 < sizeof e->msg)
		strcat(strcat(e->msg, "\n"), NO_VERSION);
	if (!L.failed)
		resolve(&L, c);
	ls_tmpl_set_cond_host(NULL, NULL);
	lex_done(&L);
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
	return parse_text(copy, len, name, NULL, e);
}

struct ls_cfg *ls_cfg_load(const char *path, struct ok_err *e)
{
	return ls_cfg_load_tags(path, NULL, e);
}

struct ls_cfg *ls_cfg_load_tags(const char *path, struct ls_tagtab *tags, struct ok_err *e)
{
	char *text;
	size_t len;
	int r = read_file(path, &text, &len);
	if (r < 0) {
		/* as syslog-ng: no strerror, the message is its whole line */
		ok_errc_at(e, OK_CLASS_IO, r, path, OK_ERR_NOPOS,
			   "Error opening configuration file; filename='%s'", path);
		if (e)
			e->errnum = 0;
		return NULL;
	}
	return parse_text(text, len, path, tags, e);
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
			free(s->drv[k].tags);
			free(s->drv[k].host_override);
			free(s->drv[k].line_buf);
			ls_tls_free(s->drv[k].tls);
			free(s->drv[k].recv_tz);
		}
		free(s->drv);
		free(s->paths);
		free(s->name);
		free(s);
	}
	free(c->src);
	for (size_t i = 0; i < c->n_ntmpl; i++) {
		free(c->ntmpl[i].name);
		free(c->ntmpl[i].text);
	}
	free(c->ntmpl);
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
	for (size_t i = 0; i < c->n_rw; i++)
		ls_rewrite_free(c->rw[i]);
	free(c->rw);
	for (size_t i = 0; i < c->n_ps; i++)
		for (struct ls_parser *p = c->ps[i], *n; p; p = n) {
			n = p->next;
			ls_parser_free(p);
		}
	free(c->ps);
	for (size_t i = 0; i < c->n_all_paths; i++)
		path_free(c->all_paths[i]);
	free(c->all_paths);
	free(c->paths);
	ls_tags_free(&c->own_tags);
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
	free(c->o.recv_tz);
	free(c->o.topts.send_tz);
	for (size_t i = 0; i < c->n_zones; i++) {
		free(c->zones[i].name);
		ls_tz_free(c->zones[i].tz);
	}
	free(c->zones);
	free(c);
}

static void ddrv_close(struct ls_ddrv *d)
{
	ls_writers_free(d);
	ls_tmpl_free(d->path);
	ls_tmpl_free(d->tmpl);
	ls_tls_free(d->tls);
	ls_http_free(d->http);
	ls_amqp_free(d->amqp);
	free(d->cmd);
	free(d->topts.send_tz);
	for (size_t i = 0; i < d->n_servers; i++)
		free(d->servers[i]);
	free(d->servers);
	if (d->dq) {
		free(d->dq->dir);
		free(d->dq->persist);
		free(d->dq);
	}
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
	struct ls_filter *f = xcalloc(sizeof *f);
	f->name = xstrdup("--trace-match");
	f->cfg = c;
	f->file = L.in->file;
	f->line = f->col = 1;
	struct fparse P = {&L, c, f, "filter expression"};
	f->root = fp_chain(&P, true);
	if (!L.failed) {
		lex_next(&L);
		if (L.t != T_EOF && L.t != T_SEMI)
			syntax_error(&L, "filter expression", "$end");
	}
	if (!L.failed)
		check_loops(c, f->root, &L);
	lex_done(&L);
	if (L.failed) {
		ls_filter_free(f);
		return NULL;
	}
	return f;
}
