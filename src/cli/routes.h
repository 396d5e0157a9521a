/* The running server's context and its URL routes. */
#ifndef CANAL_CLI_ROUTES_H
#define CANAL_CLI_ROUTES_H
#include <uv.h>

#include "api/api_http.h"
#include "cli/config.h"
#include "core/state.h"
#include "net/http.h"
#include "net/fetch.h"
#include "net/ws.h"
#include "rt/apps.h"
#include "rt/rt.h"
#include "store/store.h"

typedef struct canal_server {
	uv_loop_t *loop;
	canal_config cfg;
	core_state state;
	store *store;
	http_server *http;
	api_env env;
	api_metrics *metrics;
	ws_ctx *ws;
	rt *rt;
	fetch_ctx *fetch;       /* outbound HTTP (apps' request URLs) */
	struct api_reminders *reminders; /* the timer firing reminders */
	int pending_stops;      /* HTTP and WebSocket draining at shutdown */
	char *base_url;
	char *web_root;
	char *files_dir;        /* DATA/files */
	uv_signal_t sigint, sigterm;
	uv_pipe_t admin;
	char *admin_path;
	int admin_open;
	int stopping;
	struct retention *retention;   /* the retention job (compliance/retention.h) */
	struct audit_sink *audit_sink; /* audit log streaming to a SIEM (audit/audit_sink.h) */
} canal_server;

/* http_request_cb for every request (ud = canal_server*). */
void routes_dispatch(http_req *req, void *ud);

/* Admin socket (admin_server.c). */
int admin_server_start(canal_server *s, char *err, size_t errlen);
void admin_server_stop(canal_server *s);

#endif
