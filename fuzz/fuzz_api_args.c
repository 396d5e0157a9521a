/* libFuzzer harness for Web API argument decoding (api_args_from_http and
 * api_form_parse in src/api/api_http.c) and the argument accessors of
 * src/api/api_args.c that every handler uses.
 *
 * Input: byte 0 picks the Content-Type (form, JSON, text/plain, none, and
 * spellings with parameters, odd case or an unsupported type); then the
 * query string up to the first '\n' (a request target never holds a raw
 * newline); the rest is the body, any bytes. If the arguments decode, the
 * accessors run over a fixed set of names, the ones handlers ask for, and
 * their documented promises are checked: api_str gives a string for
 * scalars, api_list items are non-empty and trimmed, api_int stays in its
 * range, api_ts only accepts what rules_ts_parse accepts. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_http.h"

static const char *const ctypes[] = {
	"application/x-www-form-urlencoded",
	"application/json",
	"text/plain",
	NULL,
	"application/json; charset=utf-8",
	" APPLICATION/X-WWW-FORM-URLENCODED ;charset=UTF-8",
	"multipart/form-data; boundary=x",
	"application/jsonx",
};

static const char *const names[] = {
	"channel", "text", "ts", "thread_ts", "limit", "cursor", "blocks", "attachments",
	"users", "inclusive", "latest", "oldest", "name", "token", "metadata", "", "a",
};

static void check_accessors(api_ctx *c)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *n = names[i];
		json_t *raw = json_object_get(c->args, n);
		int scalar = raw && (json_is_string(raw) || json_is_number(raw) || json_is_boolean(raw));
		const char *s = api_str(c, n);
		if (scalar != (s != NULL))
			abort();
		const char *req = NULL;
		int rc = api_str_req(c, n, &req);
		if (rc == 0 && (!req || !*req))
			abort();
		bool b;
		api_bool(c, n, true, &b);
		long v;
		if (api_int(c, n, 7, -5, 1000, &v) == 0 && (v < -5 || v > 1000))
			abort();
		int err;
		json_t *j = api_json_arg(c, n, ERR_INVALID_BLOCKS, &err);
		if (j && err)
			abort();
		json_decref(j);
		int64_t ts;
		if (api_ts(c, n, ERR_INVALID_THREAD_TS, &ts) == 0 && ts) {
			int64_t again;
			const char *t = api_str(c, n);
			if (!t || rules_ts_parse(t, &again) != 0 || again != ts)
				abort();
		}
		char **l;
		size_t k = api_list(c, n, &l);
		for (size_t x = 0; x < k; x++) {
			size_t len = strlen(l[x]);
			if (!len)
				abort();
			if (!json_is_array(json_object_get(c->args, n)) &&
			    (isspace((unsigned char)l[x][0]) || isspace((unsigned char)l[x][len - 1]) ||
			     strchr(l[x], ',')))
				abort();
		}
		api_list_free(l, k);
		const char *keys[] = {"C1", "C2", "U9"};
		size_t start;
		if (api_cursor_start(c, "channel", keys, 3, &start) == 0 && start > 3)
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	if (size < 1)
		return 0;
	const char *ct = ctypes[in[0] % (sizeof ctypes / sizeof ctypes[0])];
	in++;
	size--;
	const uint8_t *nl = memchr(in, '\n', size);
	size_t qlen = nl ? (size_t)(nl - in) : 0;
	char *query = malloc(qlen + 1);
	memcpy(query, in, qlen);
	query[qlen] = '\0';
	/* The query string of a real request is a C string: a NUL ends it. */
	const uint8_t *body = nl ? nl + 1 : in;
	size_t blen = size - (size_t)(body - in);
	/* Bodies reach the decoder NUL-terminated (http.c guarantees it). */
	char *b = malloc(blen + 1);
	memcpy(b, body, blen);
	b[blen] = '\0';

	json_t *args = NULL;
	int rc = api_args_from_http(query, ct, b, blen, &args);
	if (rc == 0) {
		if (!json_is_object(args))
			abort();
		api_ctx c;
		memset(&c, 0, sizeof c);
		c.args = args;
		check_accessors(&c);
		char *dump = json_dumps(args, JSON_COMPACT);
		free(dump);
		json_decref(c.err_extra);
		json_decref(args);
	} else if (args) {
		abort();        /* no object on failure */
	} else if (rc != ERR_INVALID_JSON && rc != ERR_JSON_NOT_OBJECT && rc != ERR_INVALID_FORM_DATA &&
		   rc != ERR_INVALID_CHARSET && rc != ERR_INVALID_POST_TYPE) {
		abort();
	}
	free(query);
	free(b);
	return 0;
}
