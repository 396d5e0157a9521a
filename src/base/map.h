/* A string-keyed hash map of pointers (open addressing, linear probing).
 * Keys are copied and owned by the map; values are borrowed: the map never
 * frees them. Iteration order is unspecified. Not thread-safe. */
#ifndef CANAL_BASE_MAP_H
#define CANAL_BASE_MAP_H
#include <stddef.h>

typedef struct map_entry {
	char *key; /* NULL = empty slot, MAP_TOMB = deleted */
	void *val;
} map_entry;

typedef struct map {
	map_entry *slots;
	size_t cap;   /* power of two */
	size_t count; /* live entries */
	size_t used;  /* live + tombstones */
} map;

void map_init(map *m);
void map_release(map *m);
void *map_get(const map *m, const char *key);
/* Sets key -> val; returns the previous value or NULL. */
void *map_put(map *m, const char *key, void *val);
/* Removes key; returns its value or NULL. */
void *map_del(map *m, const char *key);
/* Iteration: for (size_t i = 0; map_next(m, &i, &k, &v);) {...}
 * Deleting the current key during iteration is allowed. */
int map_next(const map *m, size_t *iter, const char **key, void **val);

#endif
