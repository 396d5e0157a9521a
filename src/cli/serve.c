/* `canal serve`: wires the loop, the store, hot state, the HTTP server,
 * the admin socket and signal handling together.
 *
 * Start-up: config -> store_open (migrations) -> store_load (hot state) ->
 * first-run bootstrap if the store is empty -> listen -> print
 * "listening on ..." (scripts and tests wait for that line).
 * Shutdown (SIGINT/SIGTERM): stop accepting, let in-flight requests finish
 * (their commits included), close the admin socket, drain and close the
 * store, then leave the loop. */
#include "cli/serve.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "admin/admin.h"
#include "api/api_files.h"
#include "api/api_http.h"
#include "api/api_pending.h"
#include "api/api_ratelimit.h"
#include "api/api_reminders.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "cli/admin_cli.h"
#include "cli/config.h"
#include "cli/files_route.h"
#include "cli/invite.h"
#include "cli/routes.h"
#include "cli/signin.h"
#include "audit/audit_sink.h"
#include "compliance/retention.h"

static void on_signal(uv_signal_t *h, int signum);

static int find_web_root(canal_config *cfg, char **out)
{
	if (cfg->web_root) {
		*out = realpath(cfg->web_root, NULL);
		return *out ? 0 : -1;
	}
	/* build/canal lives one level below the repo's web/ directory. */
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			char *cand = xasprintf("%s/../web", exe);
			*out = realpath(cand, NULL);
			free(cand);
			if (*out)
				return 0;
		}
	}
	*out = realpath("web", NULL);
	return *out ? 0 : -1;
}

/* ---- open files ---- */

/* Descriptors that are not client sockets: the store, the admin socket,
 * the loop, the thread pool, plus HTTP's 503 answers in flight. */
#define FD_RESERVE 320

/* Raises the open-file limit to the hard limit and makes the connection
 * limits fit in it, so that a flood of connections is refused with 503
 * instead of running the process out of descriptors. */
static void fd_limits(canal_config *c)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max && rl.rlim_max != RLIM_INFINITY) {
		struct rlimit raised = {rl.rlim_max, rl.rlim_max};
		if (setrlimit(RLIMIT_NOFILE, &raised) == 0)
			rl.rlim_cur = rl.rlim_max;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (rlim_t)LONG_MAX / 2)
		return;
	long avail = (long)rl.rlim_cur - FD_RESERVE;
	if (avail < 64)
		avail = 64;
	long http = c->max_connections, ws = c->max_ws_connections;
	if (ws == 0) {
		/* "No limit" for WebSockets: up to the open-file limit itself (a
		 * flood may then leave HTTP short of descriptors; benchmarks). */
		c->max_ws_connections = avail;
		return;
	}
	if (http + ws <= avail)
		return;
	if (avail - http >= avail / 2) {
		c->max_ws_connections = avail - http;
	} else {
		c->max_connections = http < avail / 2 ? http : avail / 2;
		c->max_ws_connections = avail - c->max_connections;
		if (c->max_ws_connections > ws)
			c->max_ws_connections = ws;
	}
	log_warn("connection limits exceed the open-file limit; lowered to fit",
		 "nofile=%ld max_connections=%ld->%ld max_ws_connections=%ld->%ld",
		 (long)rl.rlim_cur, http, c->max_connections, ws, c->max_ws_connections);
}

/* ---- first start ---- */
static void bootstrap_done(void *ud, int err)
{
	*(int *)ud = err ? err : 1;
}

static int bootstrap(canal_server *s)
{
	if (s->state.orgs.count)
		return 0;
	admin_env e = {.state = &s->state, .store = s->store, .base_url = s->env.base_url};
	store_job *job = store_job_new(s->store);
	org *o;
	user *u;
	app *a;
	char *utok = NULL, *bt = NULL, *at = NULL;
	char *pw = ids_secret_hex(8);
	int err = admin_org_create(&e, job, "Canal", "canal", &o);
	if (!err)
		err = admin_user_create(&e, job, o->id, "admin", "admin@canal.local", pw, "Admin", true,
					true, &u, &utok, NULL);
	if (!err)
		err = admin_app_create(&e, job, o->id, "starter-bot", NULL, &a, &bt, &at);
	/* The owner's first-run page: a one-time link to choose a password. */
	char *setup = err ? NULL : invite_issue(s, job, u);
	if (err) {
		store_job_free(job);
		goto out;
	}
	int done = 0;
	store_submit(s->store, job, bootstrap_done, &done);
	while (!done)
		uv_run(s->loop, UV_RUN_ONCE);
	if (done != 1) {
		err = done;
		goto out;
	}
	/* Printed once, on stdout: what a newcomer needs to try Canal. */
	printf("\nCanal: first start, created organisation \"%s\" (%s).\n"
	       "  Sign in at %s/ as admin@canal.local with password: %s\n"
	       "  (change it: canal admin user password --user %s --password NEW --data %s)\n"
	       "  First-run page (choose your own password): %s/invite/%s\n"
	       "  Owner's user token:   %s\n"
	       "  Starter bot token:    %s\n"
	       "  Try the API:  curl -s -H 'Authorization: Bearer %s' %s/api/auth.test\n\n",
	       o->name, o->id, s->env.base_url, pw, u->id, s->cfg.data_dir, s->env.base_url, setup, utok,
	       bt, bt,
	       s->env.base_url);
	fflush(stdout);
out:
	free(setup);
	free(pw);
	free(utok);
	free(bt);
	free(at);
	if (err)
		log_error("first-start setup failed", "error=%s", err_name(err));
	return err;
}

/* ---- shutdown ---- */
static void close_walk_cb(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Both the HTTP server and the WebSocket sessions drain; the store
 * closes after the last of them, so every in-flight write commits. */
static void part_stopped(void *ud);

/* An export running on a worker thread holds the store (its completion
 * is audited): shutdown goes on when the last one is over. */
static void exports_done(void *ud)
{
	canal_server *s = ud;
	s->pending_stops = 1;
	part_stopped(s);
}

static void part_stopped(void *ud)
{
	canal_server *s = ud;
	if (--s->pending_stops > 0)
		return;
	if (admin_later_wait(exports_done, s))
		return;
	admin_server_stop(s);
	retention_free(s->retention);   /* a batch in flight completes in store_close */
	s->retention = NULL;
	audit_sink_free(s->audit_sink);
	s->audit_sink = NULL;
	api_reminders_stop(s->reminders);   /* no reminder fires into a closed store */
	s->reminders = NULL;
	store_close(s->store);
	s->store = NULL;
	apps_free(s->env.apps);   /* before rt_free: it leaves the rt's bus */
	s->env.apps = NULL;
	fetch_ctx_free(s->fetch); /* in-flight deliveries hear "shutdown" */
	s->fetch = NULL;
	rt_free(s->rt);   /* closes its own timer: before the walk below */
	s->rt = NULL;
	uv_walk(s->loop, close_walk_cb, NULL);
}

/* ws_ctx_set_hold's view of the store (ws does not know the store). */
static void ws_hold_counts(void *ud, uint64_t *submitted, uint64_t *delivered)
{
	store_job_counts(ud, submitted, delivered);
}

static void on_signal(uv_signal_t *h, int signum)
{
	canal_server *s = h->data;
	if (s->stopping)
		return;
	s->stopping = 1;
	log_info("shutting down", "signal=%d", signum);
	s->pending_stops = 2;
	ws_ctx_shutdown(s->ws, part_stopped, s);
	http_server_stop(s->http, part_stopped, s);
}

int serve_main(int argc, char **argv)
{
	static canal_server srv;
	canal_server *s = &srv;
	char err[512];
	int rc = 1;
	config_defaults(&s->cfg);
	if (config_load_env(&s->cfg, err, sizeof err) != 0 ||
	    config_load_args(&s->cfg, argc, argv, err, sizeof err) != 0) {
		fprintf(stderr, "canal serve: %s\n%s", err, config_help());
		config_release(&s->cfg);
		return 2;
	}
	log_level lvl;
	if (log_level_parse(s->cfg.log_level, &lvl) != 0) {
		fprintf(stderr, "canal serve: unknown log level '%s'\n", s->cfg.log_level);
		config_release(&s->cfg);
		return 2;
	}
	log_set_level(lvl);
	char host[256];
	int port;
	if (config_listen_split(s->cfg.listen, host, sizeof host, &port) != 0) {
		fprintf(stderr, "canal serve: bad --listen '%s' (want HOST:PORT)\n", s->cfg.listen);
		config_release(&s->cfg);
		return 2;
	}
	store_sync sync = STORE_SYNC_FULL;
	if (!strcmp(s->cfg.sync, "normal"))
		sync = STORE_SYNC_NORMAL;
	else if (!strcmp(s->cfg.sync, "off"))
		sync = STORE_SYNC_OFF;
	else if (strcmp(s->cfg.sync, "full") != 0) {
		fprintf(stderr, "canal serve: --sync must be full, normal or off\n");
		config_release(&s->cfg);
		return 2;
	}
	if (strcmp(s->cfg.search_index, "on") != 0 && strcmp(s->cfg.search_index, "off") != 0) {
		fprintf(stderr, "canal serve: --search-index must be on or off\n");
		config_release(&s->cfg);
		return 2;
	}
	if (s->cfg.search_time_scale < 1 || s->cfg.search_time_scale > 1000) {
		fprintf(stderr, "canal serve: --search-time-scale must be 1..1000\n");
		config_release(&s->cfg);
		return 2;
	}
	if (ids_init() != 0) {
		fprintf(stderr, "canal serve: libsodium failed to initialise\n");
		return 1;
	}
	s->files_dir = xasprintf("%s/files", s->cfg.data_dir);
	int swept = files_tmp_sweep(s->files_dir);
	if (swept)
		log_info("removed interrupted uploads", "count=%d", swept);
	if (find_web_root(&s->cfg, &s->web_root) != 0)
		log_warn("web client files not found; only the API is served",
			 "hint=\"set --web-root DIR\"");

	s->loop = uv_default_loop();
	store_cfg sc = {.dir = s->cfg.data_dir, .sync = sync, .batch_max = (int)s->cfg.batch_max,
			.search_index_off = strcmp(s->cfg.search_index, "off") == 0,
			.search_time_scale = (int)s->cfg.search_time_scale};
	s->store = store_open(&sc, s->loop, err, sizeof err);
	if (!s->store) {
		fprintf(stderr, "canal serve: cannot open data directory %s: %s\n", s->cfg.data_dir, err);
		goto out;
	}
	core_state_init(&s->state);
	if (store_load(s->store, &s->state) != 0) {
		fprintf(stderr, "canal serve: cannot load data from %s\n", s->cfg.data_dir);
		goto out;
	}
	/* A failed job's changes to hot state are undone from the database
	 * before its callback answers (every writer: API, admin, sign-in). */
	store_state_attach(s->store, &s->state);

	fd_limits(&s->cfg);
	http_cfg hc = {.host = host,
		       .port = port,
		       .max_body_bytes = (size_t)s->cfg.max_body,
		       .max_header_bytes = (size_t)s->cfg.max_header,
		       .idle_timeout_ms = (int)s->cfg.idle_timeout_ms,
		       .max_connections = (int)s->cfg.max_connections,
		       .max_connections_per_ip = s->cfg.max_connections_per_ip
							 ? (int)s->cfg.max_connections_per_ip
							 : -1,
		       .sink_cb = files_route_sink,
		       .sink_ud = s};
	s->http = http_server_new(s->loop, &hc, routes_dispatch, s, err, sizeof err);
	if (!s->http) {
		fprintf(stderr, "canal serve: cannot listen on %s: %s\n", s->cfg.listen, err);
		goto out;
	}
	port = http_server_port(s->http);
	s->base_url = s->cfg.public_url ? xstrdup(s->cfg.public_url)
					: xasprintf("http://%s:%d", strchr(host, ':') ? "[::1]" : host, port);
	size_t bl = strlen(s->base_url);
	if (bl && s->base_url[bl - 1] == '/')
		s->base_url[bl - 1] = '\0';
	s->metrics = api_metrics_new();
	ws_cfg wc = {.max_connections = (uint64_t)s->cfg.max_ws_connections};
	s->ws = ws_ctx_new(s->loop, &wc);
	ws_ctx_set_hold(s->ws, ws_hold_counts, s->store);   /* fan-out flushes wait for commits in flight */
	s->rt = rt_new(s->loop, &s->state, s->ws, s->base_url);
	rt_set_idle_timeout(s->rt, s->cfg.presence_idle_seconds);
	s->fetch = fetch_ctx_new(s->loop, NULL);
	apps *ap = apps_new(s->loop, &s->state, s->ws, s->fetch, rt_bus(s->rt), s->base_url);
	apps_set_connection_lifetime(ap, (int)s->cfg.apps_connection_lifetime);
	api_pending_set_response_ttl(s->cfg.response_url_ttl);
	if (api_pending_load(s->store, clock_now_us()) != 0)
		log_warn("interaction state partly lost", "what=%s", "store read failed");
	s->env = (api_env){.state = &s->state,
			   .store = s->store,
			   .base_url = s->base_url,
			   .max_msg_chars = (size_t)s->cfg.max_msg_chars,
			   .metrics = s->metrics,
			   .bus = rt_bus(s->rt),
			   .rt = s->rt,
			   .apps = ap,
			   .ratelimit = api_ratelimit_new(s->cfg.rate_limit_factor, 0),
			   .max_channels_per_org = (size_t)s->cfg.max_channels_per_org,
			   .loop = s->loop,
			   .files_dir = s->files_dir,
			   .max_file_bytes = (uint64_t)s->cfg.max_file_size};
	if (bootstrap(s) != 0)
		goto out;
	s->retention = retention_new(&s->state, s->store, s->loop, s->cfg.retention_interval);
	retention_set_files_dir(s->retention, s->files_dir);
	s->audit_sink = audit_sink_new(s->loop, s->store, s->fetch, s->cfg.audit_syslog,
				       s->cfg.audit_http_url, err, sizeof err);
	if (!s->audit_sink && err[0]) {
		fprintf(stderr, "canal serve: %s\n", err);
		goto out;
	}
	s->reminders = api_reminders_start(&s->env, s->loop);
	if (admin_server_start(s, err, sizeof err) != 0) {
		fprintf(stderr, "canal serve: %s\n", err);
		goto out;
	}
	uv_signal_init(s->loop, &s->sigint);
	uv_signal_init(s->loop, &s->sigterm);
	s->sigint.data = s->sigterm.data = s;
	uv_signal_start(&s->sigint, on_signal, SIGINT);
	uv_signal_start(&s->sigterm, on_signal, SIGTERM);
	signal(SIGPIPE, SIG_IGN);

	log_info("canal started", "data=%s web_root=%s sync=%s", s->cfg.data_dir,
		 s->web_root ? s->web_root : "-", s->cfg.sync);
	log_info("limits", "rate_limit_factor=%g max_connections=%ld per_ip=%ld max_ws_connections=%ld",
		 s->cfg.rate_limit_factor, s->cfg.max_connections, s->cfg.max_connections_per_ip,
		 s->cfg.max_ws_connections);
	fprintf(stderr, "listening on http://%s:%d\n", host, port);
	fflush(stderr);
	uv_run(s->loop, UV_RUN_DEFAULT);
	log_info("stopped", NULL);
	rc = 0;
out:
	retention_free(s->retention);
	s->retention = NULL;
	audit_sink_free(s->audit_sink);
	s->audit_sink = NULL;
	api_reminders_stop(s->reminders);
	s->reminders = NULL;
	if (s->http) {
		http_server_free(s->http);
		s->http = NULL;
	}
	if (s->store)
		store_close(s->store);
	apps_free(s->env.apps);
	if (s->fetch)
		fetch_ctx_free(s->fetch);
	if (s->rt)
		rt_free(s->rt);
	uv_walk(s->loop, close_walk_cb, NULL);
	uv_run(s->loop, UV_RUN_DEFAULT);
	uv_loop_close(s->loop);
	if (s->ws)
		ws_ctx_free(s->ws);
	core_state_release(&s->state);
	api_metrics_free(s->metrics);
	api_ratelimit_free(s->env.ratelimit);
	signin_limits_free();
	free(s->base_url);
	free(s->web_root);
	free(s->files_dir);
	config_release(&s->cfg);
	return rc;
}
