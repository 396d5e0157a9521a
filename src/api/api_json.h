/* Fast compact JSON serialization (api_json.c): the same bytes as
 * json_dumps(v, JSON_COMPACT), for the per-request hot paths. */
#ifndef CANAL_API_API_JSON_H
#define CANAL_API_API_JSON_H
#include <jansson.h>
#include <stddef.h>

/* v serialized compactly (heap string, free()), its length in *len (may
 * be NULL); NULL for anything but an object or an array, as json_dumps. */
char *api_json_dump(const json_t *v, size_t *len);

#endif
