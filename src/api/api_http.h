/* The Web API over HTTP: turns an http_req for /api/<method> into an
 * api_call and its answer into a response, and keeps the per-method
 * request counters /metrics shows. */
#ifndef CANAL_API_API_HTTP_H
#define CANAL_API_API_HTTP_H
#include <jansson.h>

#include "api/api.h"
#include "base/buf.h"
#include "net/http.h"

typedef struct api_metrics api_metrics;
api_metrics *api_metrics_new(void);
void api_metrics_free(api_metrics *m);
void api_metrics_count(api_metrics *m, const char *method, const char *outcome);
/* Appends canal_api_requests_total{method=..,outcome=..} lines. */
void api_metrics_render(const api_metrics *m, buf *out);

/* Handles POST|GET /api/<method>. */
void api_http_handle(api_env *env, http_req *req, const char *method);

/* Parses a form-urlencoded string into obj (string values; later keys
 * win). 0, ERR_INVALID_FORM_DATA (bad escape) or ERR_INVALID_CHARSET. */
int api_form_parse(const char *s, size_t len, json_t *obj);
/* Builds the argument object from query string and body.
 * 0 or ERR_INVALID_JSON / ERR_JSON_NOT_OBJECT / ERR_INVALID_FORM_DATA /
 * ERR_INVALID_CHARSET / ERR_INVALID_POST_TYPE. *out is a new object. */
int api_args_from_http(const char *query, const char *content_type, const char *body,
		       size_t body_len, json_t **out);

#endif
