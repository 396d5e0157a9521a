#include "base/map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

static char tomb_mark;
#define MAP_TOMB (&tomb_mark)

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

void map_init(map *m)
{
	memset(m, 0, sizeof *m);
}

void map_release(map *m)
{
	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].key && m->slots[i].key != MAP_TOMB)
			free(m->slots[i].key);
	free(m->slots);
	map_init(m);
}

static map_entry *find(const map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	size_t mask = m->cap - 1;
	for (size_t i = hash(key) & mask;; i = (i + 1) & mask) {
		map_entry *e = &m->slots[i];
		if (!e->key)
			return NULL;
		if (e->key != MAP_TOMB && strcmp(e->key, key) == 0)
			return e;
	}
}

static void grow(map *m)
{
	map old = *m;
	/* Sized by the live entries, not the old capacity: a table filled
	 * with tombstones by churn (insert, delete, insert...) is rehashed at
	 * its size instead of doubling forever. Load is at most 1/2 after. */
	m->cap = 16;
	while (old.count * 2 >= m->cap)
		m->cap *= 2;
	m->slots = xcalloc(m->cap, sizeof *m->slots);
	m->count = m->used = 0;
	for (size_t i = 0; i < old.cap; i++) {
		map_entry *e = &old.slots[i];
		if (e->key && e->key != MAP_TOMB) {
			size_t mask = m->cap - 1, j = hash(e->key) & mask;
			while (m->slots[j].key)
				j = (j + 1) & mask;
			m->slots[j] = *e;
			m->count++;
			m->used++;
		}
	}
	free(old.slots);
}

void *map_get(const map *m, const char *key)
{
	map_entry *e = find(m, key);
	return e ? e->val : NULL;
}

void *map_put(map *m, const char *key, void *val)
{
	map_entry *e = find(m, key);
	if (e) {
		void *prev = e->val;
		e->val = val;
		return prev;
	}
	if ((m->used + 1) * 4 >= m->cap * 3)
		grow(m);
	size_t mask = m->cap - 1, i = hash(key) & mask;
	while (m->slots[i].key && m->slots[i].key != MAP_TOMB)
		i = (i + 1) & mask;
	if (!m->slots[i].key)
		m->used++;
	m->slots[i].key = xstrdup(key);
	m->slots[i].val = val;
	m->count++;
	return NULL;
}

void *map_del(map *m, const char *key)
{
	map_entry *e = find(m, key);
	if (!e)
		return NULL;
	void *v = e->val;
	free(e->key);
	e->key = MAP_TOMB;
	e->val = NULL;
	m->count--;
	return v;
}

int map_next(const map *m, size_t *iter, const char **key, void **val)
{
	for (; *iter < m->cap; (*iter)++) {
		map_entry *e = &m->slots[*iter];
		if (e->key && e->key != MAP_TOMB) {
			if (key)
				*key = e->key;
			if (val)
				*val = e->val;
			(*iter)++;
			return 1;
		}
	}
	return 0;
}
