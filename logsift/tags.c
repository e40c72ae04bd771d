/*
 * tags.c: the tag registry (struct ls_tagtab) and a message's tag set, as
 * syslog-ng 3.38's lib/logmsg/tags.c and log_msg_set_tag_by_id_onoff
 * (logsift.h documents the bounds). A file of its own, below msg.c and
 * route.c: rewrite.c, filter.c and the $TAGS macro all use it.
 *
 * Divisions: the registry (name -> id, hashed; id -> name, an array), then
 * the per-message bit set.
 */
#include <stdlib.h>
#include <string.h>

#include "logsift.h"

/* ------------------------------------------------------------- registry */

/* FNV-1a: the registry's hash (names come from senders, the table is
 * private, a plain hash is enough: the probe length is bounded by the
 * load factor of 1/2) */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The slot of name in t's hash: the one holding it, or the empty one
 * where it would go. t->n_slot is a power of two with free slots. */
static size_t find_slot(const struct ls_tagtab *t, const char *name)
{
	size_t mask = t->n_slot - 1;
	for (size_t i = name_hash(name) & mask;; i = (i + 1) & mask)
		if (!t->slot[i] || !strcmp(t->names[t->slot[i] - 1], name))
			return i;
}

/* Double the hash (or make its first 64 slots) and put every name back. */
static void rehash(struct ls_tagtab *t)
{
	size_t n_slot = t->n_slot ? t->n_slot * 2 : 64;
	uint32_t *old = t->slot;
	t->slot = calloc(n_slot, sizeof *t->slot);
	if (!t->slot)
		abort();
	t->n_slot = n_slot;
	for (size_t id = 0; id < t->n; id++)
		t->slot[find_slot(t, t->names[id])] = (uint32_t)id + 1;
	free(old);
}

int ls_tags_id(struct ls_tagtab *t, const char *name)
{
	if (!t->n_slot)
		rehash(t);
	size_t i = find_slot(t, name);
	if (t->slot[i])
		return (int)t->slot[i] - 1;
	size_t len = strlen(name);
	/* 3.38 gives id 0 to every name past its table's end; logsift does the
	 * same past its byte budget */
	if (t->n >= LS_TAGS_MAX || t->bytes + len + 1 > LS_TAGS_MAX_BYTES)
		return 0;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 16;
		char **v = realloc(t->names, cap * sizeof *v);
		if (!v)
			abort();
		t->names = v;
		t->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy)
		abort();
	memcpy(copy, name, len + 1);
	t->names[t->n] = copy;
	t->bytes += len + 1;
	t->slot[i] = (uint32_t)++t->n;
	if (2 * t->n > t->n_slot)
		rehash(t);
	return (int)t->n - 1;
}

const char *ls_tags_name(const struct ls_tagtab *t, int id)
{
	return t && id >= 0 && (size_t)id < t->n ? t->names[id] : NULL;
}

void ls_tags_free(struct ls_tagtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->names[i]);
	free(t->names);
	free(t->slot);
	memset(t, 0, sizeof *t);
}

/* --------------------------------------------------------- message tags */

/*
 * 3.38's log_msg_set_tag_by_id_onoff: ids below 64 live in one inline word
 * (n_tagw 0); a higher one makes the message's array id / 64 + 1 words,
 * unless id is past 8159, which 3.38 refuses. The check is made only when
 * the array grows, so once a message has its 128th word (an id of 8128 to
 * 8159 set or cleared on it) ids up to 8191 are set on it too, as in 3.38.
 */
bool ls_msg_tag(struct ls_msg *m, int id, bool on)
{
	if (id < 0)
		return false;
	if (m->n_tagw || id >= 64) {
		if ((unsigned)id >= m->n_tagw * 64u) {
			if (id >= LS_MSG_TAGS)
				return false;
			m->n_tagw = (unsigned)id / 64 + 1;
		}
	}
	uint64_t bit = 1ull << (id % 64);
	if (on)
		m->tagw[id / 64] |= bit;
	else
		m->tagw[id / 64] &= ~bit;
	return true;
}

/* 3.38's log_msg_is_tag_by_id: ids past 8159 are never set ("Invalid tag"). */
bool ls_msg_has_tag(const struct ls_msg *m, int id)
{
	if (id < 0 || id >= LS_MSG_TAGS || (unsigned)id / 64 >= (m->n_tagw ? m->n_tagw : 1))
		return false;
	return (m->tagw[id / 64] >> (id % 64)) & 1;
}
