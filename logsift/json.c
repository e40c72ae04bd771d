/*
 * json.c: json-parser() as syslog-ng 3.38's modules/json/json-parser.c and
 * dot-notation.c, over json-c (the library 3.38 itself parses with, so
 * numbers, escapes, depth limits and duplicate keys come out the same).
 * Members become name-value pairs: nested objects flattened with the key
 * delimiter, numbers as 3.38 prints them (%f doubles, int64 integers),
 * true/false, null as an empty value, an array of simple values as a
 * list (each element quoted as lib/str-repr/encode.c quotes it), any other
 * array as its plain JSON text; a top-level array sets $1..$N instead.
 * The only file that includes json-c.
 */
#include <ctype.h>
#include <inttypes.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ls_int.h"

struct jctx {
	const struct ls_parser *p;
	ls_pair_fn fn;
	void *ctx;
	struct ls_buf key;
};

/* json_parser_extract_string_from_simple_json_object: false for arrays and objects */
static bool simple_value(struct json_object *j, struct ls_buf *v)
{
	v->len = 0;
	switch (json_object_get_type(j)) {
	case json_type_boolean:
		ls_buf_addf(v, "%s", json_object_get_boolean(j) ? "true" : "false");
		break;
	case json_type_double:
		ls_buf_addf(v, "%f", json_object_get_double(j));
		break;
	case json_type_int:
		ls_buf_addf(v, "%" PRId64, json_object_get_int64(j));
		break;
	case json_type_string: {
		/* g_string_assign: up to the first NUL */
		const char *s = json_object_get_string(j);
		ls_buf_add(v, s, strlen(s));
		break;
	}
	case json_type_null:
		break;
	default:
		return false;
	}
	ls_buf_addc(v, 0); /* NUL-ended for ls_str_repr_encode's strcspn */
	v->len--;
	return true;
}

static void set_pair(struct jctx *x, const char *prefix, const char *key, const struct ls_buf *v)
{
	x->key.len = 0;
	if (prefix)
		ls_buf_add(&x->key, prefix, strlen(prefix));
	ls_buf_add(&x->key, key, strlen(key));
	ls_buf_addc(&x->key, 0);
	x->fn(x->ctx, x->key.p, v->p ? v->p : "", v->len);
}

static void process_object(struct jctx *x, struct json_object *j, const char *prefix);

/* json_parser_process_attribute */
static void process_attr(struct jctx *x, struct json_object *j, const char *prefix, const char *key)
{
	struct ls_buf v = {0};
	if (simple_value(j, &v)) {
		set_pair(x, prefix, key, &v);
	} else if (json_object_get_type(j) == json_type_object) {
		struct ls_buf sub = {0};
		if (prefix)
			ls_buf_add(&sub, prefix, strlen(prefix));
		ls_buf_add(&sub, key, strlen(key));
		ls_buf_addc(&sub, x->p->json_delim);
		ls_buf_addc(&sub, 0);
		process_object(x, j, sub.p);
		ls_buf_free(&sub);
	} else if (json_object_get_type(j) == json_type_array) {
		struct ls_buf el = {0};
		size_t n = json_object_array_length(j);
		for (size_t i = 0; i < n; i++) {
			if (!simple_value(json_object_array_get_idx(j, i), &el)) {
				/* an array or object inside: the whole array as JSON */
				v.len = 0;
				const char *s =
				    json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);
				ls_buf_add(&v, s, strlen(s));
				break;
			}
			if (i)
				ls_buf_addc(&v, ',');
			ls_str_repr_encode(&v, el.p ? el.p : "", el.len, NULL);
		}
		ls_buf_free(&el);
		set_pair(x, prefix, key, &v);
	}
	ls_buf_free(&v);
}

static void process_object(struct jctx *x, struct json_object *j, const char *prefix)
{
	struct json_object_iter it;
	json_object_object_foreachC(j, it) process_attr(x, it.val, prefix, it.key);
}

/* json_parser_process_array: $1..$N (at most 255), $0 and the rest unset */
static void process_array(struct jctx *x, struct json_object *j)
{
	struct ls_buf v = {0};
	char name[8];
	size_t n = json_object_array_length(j), i;
	x->fn(x->ctx, "0", NULL, 0); /* NULL: unset */
	for (i = 0; i < n && i < 255; i++) {
		struct json_object *el = json_object_array_get_idx(j, i);
		if (!simple_value(el, &v)) {
			v.len = 0;
			const char *s = json_object_to_json_string_ext(el, JSON_C_TO_STRING_PLAIN);
			ls_buf_add(&v, s, strlen(s));
		}
		snprintf(name, sizeof name, "%zu", i + 1);
		x->fn(x->ctx, name, v.p ? v.p : "", v.len);
	}
	for (i = i + 1; i < 256; i++) {
		snprintf(name, sizeof name, "%zu", i);
		x->fn(x->ctx, name, NULL, 0);
	}
	ls_buf_free(&v);
}

/*
 * json_extract: "a.b[2].c" from j, as dot-notation.c splits and compiles
 * it: a level starts after '.' or at '['; an empty first level is skipped;
 * "[N]" is an index (N >= 0, nothing after ']'), anything else a member
 * name of printable ASCII without ".[]". NULL when the path does not
 * compile or a step is missing.
 */
static struct json_object *extract(struct json_object *j, const char *path)
{
	if (!path[0])
		return j;
	char **lv = NULL;
	size_t n = 0;
	const char *p = path, *last = path;
	for (;; p++) {
		if (*p == '.' || *p == '[' || !*p) {
			lv = realloc(lv, (n + 1) * sizeof *lv);
			if (!lv || !(lv[n] = strndup(last, (size_t)(p - last))))
				abort();
			n++;
			if (!*p)
				break;
			last = *p == '.' ? p + 1 : p;
		}
	}
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		const char *l = lv[i];
		if (i == 0 && !l[0])
			continue;
		if (l[0] == '[') {
			char *e;
			long idx = strtol(l + 1, &e, 10);
			ok = *e == ']' && idx >= 0 && !e[1];
			if (ok && j &&
			    (!json_object_is_type(j, json_type_array) ||
			     (size_t)idx >= json_object_array_length(j)))
				j = NULL;
			else if (ok && j)
				j = json_object_array_get_idx(j, (size_t)idx);
		} else {
			ok = l[0] != 0;
			for (const char *c = l; *c && ok; c++)
				ok = *c >= 0x20 && *c < 0x7f && !strchr(".[]", *c);
			if (ok && j && !json_object_is_type(j, json_type_object)) {
				j = NULL;
			} else if (ok && j) {
				struct json_object *v = NULL;
				json_object_object_get_ex(j, l, &v);
				j = v;
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		free(lv[i]);
	free(lv);
	return ok ? j : NULL;
}

bool ls_json_scan(const struct ls_parser *p, const char *input, size_t len, ls_pair_fn fn,
		  void *ctx)
{
	const char *in = input;
	size_t skip = 0;
	if (p->marker) {
		size_t ml = strlen(p->marker);
		if (strncmp(input, p->marker, ml))
			return false;
		skip = ml;
		while (isspace((unsigned char)input[skip]))
			skip++;
	}
	/* 3.38 parses input_len bytes from after the marker: NULs here past the end */
	struct ls_buf pad = {0};
	if (skip) {
		ls_buf_add(&pad, input + skip, len - skip);
		for (size_t i = 0; i <= skip; i++)
			ls_buf_addc(&pad, 0);
		in = pad.p;
	}
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		abort();
	struct json_object *j =
	    json_tokener_parse_ex(tok, in, (int)(len > INT32_MAX ? INT32_MAX : len));
	bool ok = json_tokener_get_error(tok) == json_tokener_success && j;
	json_tokener_free(tok);
	ls_buf_free(&pad);
	if (!ok) {
		json_object_put(j);
		return false;
	}
	struct json_object *root = p->extract ? extract(j, p->extract) : j;
	struct jctx x = {p, fn, ctx, {0}};
	if (root && json_object_is_type(root, json_type_object))
		process_object(&x, root, p->prefix);
	else if (root && json_object_is_type(root, json_type_array))
		process_array(&x, root);
	else
		ok = false;
	ls_buf_free(&x.key);
	json_object_put(j);
	return ok;
}
