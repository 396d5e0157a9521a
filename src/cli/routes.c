/* URL routes: one table from path prefix to handler. */
#include "cli/routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "cli/audit_route.h"
#include "cli/files_route.h"
#include "cli/invite.h"
#include "cli/respond_route.h"
#include "cli/signin.h"
#include "cli/webhook_route.h"

typedef void (*route_fn)(canal_server *s, http_req *req, const char *rest);

static void route_healthz(canal_server *s, http_req *req, const char *rest)
{
	static const char ok[] = "{\"ok\":true,\"status\":\"healthy\"}";
	http_respond(req, 200, "application/json; charset=utf-8", "Cache-Control: no-store\r\n", ok,
		     sizeof ok - 1);
}

static void route_metrics(canal_server *s, http_req *req, const char *rest)
{
	buf b = BUF_INIT;
	http_stats hs;
	http_server_stats(s->http, &hs);
	buf_printf(&b,
		   "# HELP canal_http_connections_open Open HTTP connections.\n"
		   "# TYPE canal_http_connections_open gauge\n"
		   "canal_http_connections_open %llu\n"
		   "# HELP canal_http_connections_total Accepted HTTP connections.\n"
		   "# TYPE canal_http_connections_total counter\n"
		   "canal_http_connections_total %llu\n"
		   "# HELP canal_http_connections_refused_total Connections refused at the limit.\n"
		   "# TYPE canal_http_connections_refused_total counter\n"
		   "canal_http_connections_refused_total %llu\n"
		   "# HELP canal_http_requests_total HTTP requests parsed.\n"
		   "# TYPE canal_http_requests_total counter\n"
		   "canal_http_requests_total %llu\n"
		   "# HELP canal_http_bad_requests_total Requests refused by the HTTP layer (400/408/413/431).\n"
		   "# TYPE canal_http_bad_requests_total counter\n"
		   "canal_http_bad_requests_total %llu\n",
		   (unsigned long long)hs.connections_open, (unsigned long long)hs.connections_total,
		   (unsigned long long)hs.connections_refused, (unsigned long long)hs.requests_total,
		   (unsigned long long)hs.bad_requests);
	api_metrics_render(s->metrics, &b);
	ws_stats ws;
	ws_ctx_stats(s->ws, &ws);
	rt_stats rs;
	rt_stats_get(s->rt, &rs);
	buf_printf(&b,
		   "# HELP canal_ws_connections_open Open WebSocket connections.\n"
		   "# TYPE canal_ws_connections_open gauge\n"
		   "canal_ws_connections_open %llu\n"
		   "# HELP canal_ws_accepted_total WebSocket connections accepted.\n"
		   "# TYPE canal_ws_accepted_total counter\n"
		   "canal_ws_accepted_total %llu\n"
		   "# HELP canal_ws_frames_out_total Frames queued to sockets (one per delivery).\n"
		   "# TYPE canal_ws_frames_out_total counter\n"
		   "canal_ws_frames_out_total %llu\n"
		   "# HELP canal_ws_writes_total Socket writes (one per connection per loop turn).\n"
		   "# TYPE canal_ws_writes_total counter\n"
		   "canal_ws_writes_total %llu\n"
		   "# HELP canal_ws_bytes_out_total Bytes queued to WebSocket clients.\n"
		   "# TYPE canal_ws_bytes_out_total counter\n"
		   "canal_ws_bytes_out_total %llu\n"
		   "# HELP canal_ws_closed_total WebSocket connections closed by the server, by reason.\n"
		   "# TYPE canal_ws_closed_total counter\n"
		   "canal_ws_closed_total{reason=\"output_limit\"} %llu\n"
		   "canal_ws_closed_total{reason=\"protocol\"} %llu\n"
		   "canal_ws_closed_total{reason=\"dead\"} %llu\n"
		   "# HELP canal_rt_sessions Real-time sessions open.\n"
		   "# TYPE canal_rt_sessions gauge\n"
		   "canal_rt_sessions %llu\n"
		   "# HELP canal_rt_events_published_total Events published through the bus.\n"
		   "# TYPE canal_rt_events_published_total counter\n"
		   "canal_rt_events_published_total %llu\n"
		   "# HELP canal_rt_deliveries_total Events queued to sessions.\n"
		   "# TYPE canal_rt_deliveries_total counter\n"
		   "canal_rt_deliveries_total %llu\n",
		   (unsigned long long)ws.open, (unsigned long long)ws.accepted,
		   (unsigned long long)ws.frames_out, (unsigned long long)ws.writes,
		   (unsigned long long)ws.bytes_out, (unsigned long long)ws.closed_output_limit,
		   (unsigned long long)ws.closed_protocol, (unsigned long long)ws.closed_dead,
		   (unsigned long long)rs.sessions, (unsigned long long)rs.events_published,
		   (unsigned long long)rs.deliveries);
	if (s->env.apps) {
		apps_stats as;
		apps_stats_get(s->env.apps, &as);
		buf_printf(&b,
			   "# HELP canal_apps_socket_connections Open Socket Mode connections.\n"
			   "# TYPE canal_apps_socket_connections gauge\n"
			   "canal_apps_socket_connections %llu\n"
			   "# HELP canal_apps_events_total App event envelopes by outcome.\n"
			   "# TYPE canal_apps_events_total counter\n"
			   "canal_apps_events_total{outcome=\"queued\"} %llu\n"
			   "canal_apps_events_total{outcome=\"delivered\"} %llu\n"
			   "canal_apps_events_total{outcome=\"failed\"} %llu\n"
			   "canal_apps_events_total{outcome=\"dropped\"} %llu\n"
			   "# HELP canal_apps_retries_total Envelopes sent again.\n"
			   "# TYPE canal_apps_retries_total counter\n"
			   "canal_apps_retries_total %llu\n"
			   "# HELP canal_apps_http_requests_total POSTs to apps (events, commands, interactions).\n"
			   "# TYPE canal_apps_http_requests_total counter\n"
			   "canal_apps_http_requests_total %llu\n"
			   "# HELP canal_apps_http_failures_total POSTs to apps that failed.\n"
			   "# TYPE canal_apps_http_failures_total counter\n"
			   "canal_apps_http_failures_total %llu\n"
			   "# HELP canal_apps_dispatches_total Slash commands and interactions sent to apps.\n"
			   "# TYPE canal_apps_dispatches_total counter\n"
			   "canal_apps_dispatches_total %llu\n"
			   "# HELP canal_apps_dispatch_failures_total Dispatches that timed out or failed.\n"
			   "# TYPE canal_apps_dispatch_failures_total counter\n"
			   "canal_apps_dispatch_failures_total %llu\n",
			   (unsigned long long)as.socket_connections, (unsigned long long)as.events_queued,
			   (unsigned long long)as.events_delivered, (unsigned long long)as.events_failed,
			   (unsigned long long)as.events_dropped, (unsigned long long)as.retries,
			   (unsigned long long)as.http_requests, (unsigned long long)as.http_failures,
			   (unsigned long long)as.dispatches, (unsigned long long)as.dispatch_failures);
	}
	store_stats ss;
	store_get_stats(s->store, &ss);
	buf_printf(&b,
		   "# HELP canal_store_commits_total Store transactions committed.\n"
		   "# TYPE canal_store_commits_total counter\n"
		   "canal_store_commits_total %llu\n"
		   "# HELP canal_store_jobs_total Write jobs (one per writing request) committed.\n"
		   "# TYPE canal_store_jobs_total counter\n"
		   "canal_store_jobs_total %llu\n"
		   "# HELP canal_store_failed_jobs_total Write jobs that failed.\n"
		   "# TYPE canal_store_failed_jobs_total counter\n"
		   "canal_store_failed_jobs_total %llu\n"
		   "# HELP canal_store_queue_depth Write jobs waiting for the writer.\n"
		   "# TYPE canal_store_queue_depth gauge\n"
		   "canal_store_queue_depth %llu\n",
		   (unsigned long long)ss.commits, (unsigned long long)ss.jobs,
		   (unsigned long long)ss.failed_jobs, (unsigned long long)ss.queue_depth);
	buf_printf(&b,
		   "# HELP canal_store_checkpoints_total WAL checkpoints run by the checkpointer thread.\n"
		   "# TYPE canal_store_checkpoints_total counter\n"
		   "canal_store_checkpoints_total %llu\n"
		   "# HELP canal_store_checkpoint_seconds_total Time spent checkpointing (off the commit path).\n"
		   "# TYPE canal_store_checkpoint_seconds_total counter\n"
		   "canal_store_checkpoint_seconds_total %.6f\n"
		   "# HELP canal_store_checkpoint_holds_total Short writer pauses to let a checkpoint finish.\n"
		   "# TYPE canal_store_checkpoint_holds_total counter\n"
		   "canal_store_checkpoint_holds_total %llu\n"
		   "# HELP canal_store_checkpoint_hold_seconds_total Writer time spent in those pauses.\n"
		   "# TYPE canal_store_checkpoint_hold_seconds_total counter\n"
		   "canal_store_checkpoint_hold_seconds_total %.6f\n"
		   "# HELP canal_store_wal_pages WAL pages not yet checkpointed.\n"
		   "# TYPE canal_store_wal_pages gauge\n"
		   "canal_store_wal_pages %llu\n",
		   (unsigned long long)ss.checkpoints, (double)ss.checkpoint_us_sum / 1e6,
		   (unsigned long long)ss.checkpoint_holds, (double)ss.checkpoint_hold_us_sum / 1e6,
		   (unsigned long long)ss.wal_pages);
	/* Histograms: cumulative buckets as Prometheus wants them. */
	static const char *const batch_le[] = {"1", "3", "7", "15", "31", "63", "127", "+Inf"};
	buf_adds(&b, "# HELP canal_store_commit_batch_size Jobs per committed transaction.\n"
		     "# TYPE canal_store_commit_batch_size histogram\n");
	uint64_t cum = 0;
	for (int i = 0; i < 8; i++) {
		cum += ss.batch_hist[i];
		buf_printf(&b, "canal_store_commit_batch_size_bucket{le=\"%s\"} %llu\n", batch_le[i],
			   (unsigned long long)cum);
	}
	buf_printf(&b, "canal_store_commit_batch_size_sum %llu\ncanal_store_commit_batch_size_count %llu\n",
		   (unsigned long long)ss.jobs, (unsigned long long)ss.commits);
	static const char *const lat_le[] = {"0.0001", "0.00025", "0.0005", "0.001",
					     "0.0025", "0.005",   "0.01",   "+Inf"};
	buf_adds(&b, "# HELP canal_store_commit_latency_seconds Time to commit one transaction.\n"
		     "# TYPE canal_store_commit_latency_seconds histogram\n");
	cum = 0;
	for (int i = 0; i < 8; i++) {
		cum += ss.commit_us_hist[i];
		buf_printf(&b, "canal_store_commit_latency_seconds_bucket{le=\"%s\"} %llu\n", lat_le[i],
			   (unsigned long long)cum);
	}
	buf_printf(&b,
		   "canal_store_commit_latency_seconds_sum %.6f\ncanal_store_commit_latency_seconds_count %llu\n",
		   (double)ss.commit_us_sum / 1e6, (unsigned long long)ss.commits);
	size_t len;
	char *body = buf_detach(&b, &len);
	http_respond_owned(req, 200, "text/plain; version=0.0.4; charset=utf-8", NULL, body, len);
}

static void route_rtm(canal_server *s, http_req *req, const char *rest)
{
	rt_handle_upgrade(s->rt, req);
}

static void route_link(canal_server *s, http_req *req, const char *rest)
{
	apps_handle_upgrade(s->env.apps, req);
}

static void route_api(canal_server *s, http_req *req, const char *rest)
{
	if (!*rest || strchr(rest, '/')) {
		static const char body[] = "{\"ok\":false,\"error\":\"unknown_method\"}";
		http_respond(req, 200, "application/json; charset=utf-8", NULL, body, sizeof body - 1);
		return;
	}
	if (req->body_ctx) {
		files_route_api_upload(s, req);   /* the only streamed API body */
		return;
	}
	api_http_handle(&s->env, req, rest);
}

/* A generated avatar: initials on a colour derived from the id, so every
 * person and team has a recognisable picture without uploads. */
static void route_avatar(canal_server *s, http_req *req, const char *rest)
{
	static const char *const colors[] = {"#9f69e7", "#4bbe2e", "#e7392d", "#3c989f", "#674b1b",
					     "#e96699", "#5a4592", "#db3150", "#235e5b", "#53b759"};
	const char *slash = strchr(rest, '/');
	const char *id = slash ? slash + 1 : "";
	const char *label = NULL;
	if (!strncmp(rest, "users/", 6)) {
		user *u = core_user_get(&s->state, id);
		label = u ? (u->real_name && *u->real_name ? u->real_name : u->name) : NULL;
	} else if (!strncmp(rest, "teams/", 6)) {
		org *o = core_org_get(&s->state, id);
		label = o ? o->name : NULL;
	}
	if (!label) {
		http_respond(req, 404, "text/plain; charset=utf-8", NULL, "not found\n", 10);
		return;
	}
	unsigned h = 0;
	for (const char *p = id; *p; p++)
		h = h * 31 + (unsigned char)*p;
	char ini[8] = {0};
	int n = 0;
	for (const char *p = label; *p && n < 2; p++)
		if ((p == label || p[-1] == ' ') && ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
						      (*p >= '0' && *p <= '9')))
			ini[n++] = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 : *p);
	if (!n)
		ini[0] = '?';
	char *svg = xasprintf("<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 64 64\">"
			      "<rect width=\"64\" height=\"64\" rx=\"10\" fill=\"%s\"/>"
			      "<text x=\"32\" y=\"42\" font-family=\"sans-serif\" font-size=\"28\" "
			      "font-weight=\"bold\" fill=\"#fff\" text-anchor=\"middle\">%s</text></svg>",
			      colors[h % 10], ini);
	http_respond_owned(req, 200, "image/svg+xml", "Cache-Control: public, max-age=3600\r\n", svg,
			   strlen(svg));
}

static void route_static(canal_server *s, http_req *req, const char *rest)
{
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_respond(req, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n",
			     "method not allowed\n", 19);
		return;
	}
	if (!s->web_root) {
		static const char msg[] = "Canal is running. The Web API is at /api/.\n";
		http_respond(req, 200, "text/plain; charset=utf-8", NULL, msg, sizeof msg - 1);
		return;
	}
	/* Permalinks (/archives/C../p..) and client routes load the app shell. */
	const char *path = req->path;
	if (!strncmp(path, "/archives/", 10) || !strncmp(path, "/client", 7) ||
	    !strncmp(path, "/invite/", 8))
		path = "/index.html";
	char *file = http_safe_path(s->web_root, path);
	if (!file) {
		http_respond(req, 400, "text/plain; charset=utf-8", NULL, "bad path\n", 9);
		return;
	}
	http_respond_file(req, file);
	free(file);
}

static const struct route {
	const char *prefix;
	bool exact;
	route_fn fn;
} routes[] = {
	{"/healthz", true, route_healthz},
	{"/metrics", true, route_metrics},
	{"/api/", false, route_api},
	{"/rtm", true, route_rtm},
	{"/link/", false, route_link},
	{"/auth/signin", true, signin_route},
	{"/auth/signout", true, signout_route},
	{"/auth/session", true, session_route},
	{"/auth/invite", true, invite_route},
	{"/avatars/", false, route_avatar},
	{"/services/", false, webhook_route},
	{"/respond/", false, respond_route},
	{"/audit/v1/", false, audit_route},
	{"/upload/v1/", false, files_route_upload},
	{"/files-pri/", false, files_route_private},
	{"/files-tmb/", false, files_route_thumb},
	{"/files-pub/", false, files_route_public},
	{"/", false, route_static},
};

void routes_dispatch(http_req *req, void *ud)
{
	canal_server *s = ud;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		const struct route *r = &routes[i];
		size_t n = strlen(r->prefix);
		if (r->exact ? strcmp(req->path, r->prefix) == 0 : strncmp(req->path, r->prefix, n) == 0) {
			r->fn(s, req, req->path + n);
			return;
		}
	}
	http_respond(req, 404, "text/plain; charset=utf-8", NULL, "not found\n", 10);
}
