/* libFuzzer harness for api_json_dump (src/api/api_json.c), the writer of
 * every Web API answer and real-time event: for any JSON document jansson
 * accepts (the input, parsed with JSON_DECODE_ANY | JSON_ALLOW_NUL, so
 * strings may hold NUL and any escaped control character), the bytes it
 * writes must be exactly json_dumps(v, JSON_COMPACT)'s, and its length
 * must match. Scalars at the top level must give NULL, as json_dumps
 * without JSON_ENCODE_ANY does. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_error_t e;
	json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	if (!v)
		return 0;
	size_t len = 0;
	char *got = api_json_dump(v, &len);
	char *want = json_dumps(v, JSON_COMPACT);
	if (!json_is_object(v) && !json_is_array(v)) {
		if (got)
			abort();
	} else if (!got || !want || len != strlen(want) || memcmp(got, want, len + 1) != 0) {
		abort();
	}
	free(got);
	free(want);
	json_decref(v);
	return 0;
}
