/* The admin socket: a Unix socket in the data directory through which
 * `canal admin` reaches a running server, so admin changes go through the
 * server's hot state instead of behind its back. The socket is mode 0600
 * inside a 0700 directory: whoever can use it can already read the data.
 * Protocol: one request line (a JSON array: the command's argv), one
 * answer line ({"ok":bool,"result":...}), then the server closes. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "admin/admin.h"
#include "base/buf.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "cli/admin_cli.h"
#include "cli/routes.h"

#define ADMIN_MAX_REQUEST (64 * 1024)

typedef struct admin_conn {
	uv_pipe_t pipe;
	canal_server *s;
	buf in;
	json_t *result;
	int rc;
	int busy;
	admin_later *later;  /* the rest of the command, after its commit */
} admin_conn;

char *admin_socket_path(const char *data_dir)
{
	return xasprintf("%s/admin.sock", data_dir);
}

static void conn_closed(uv_handle_t *h)
{
	admin_conn *c = h->data;
	buf_release(&c->in);
	json_decref(c->result);
	free(c);
}

static void write_done(uv_write_t *w, int status)
{
	admin_conn *c = w->data;
	free(w);
	uv_close((uv_handle_t *)&c->pipe, conn_closed);
}

static void reply(admin_conn *c)
{
	json_t *a = json_pack("{s:b,s:O}", "ok", c->rc == 0, "result",
			      c->result ? c->result : json_null());
	char *s = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	size_t n = strlen(s);
	uv_write_t *w = xmalloc(sizeof *w + n + 1);
	char *data = (char *)(w + 1);
	memcpy(data, s, n);
	data[n] = '\n';
	free(s);
	w->data = c;
	uv_buf_t b = uv_buf_init(data, (unsigned)n + 1);
	if (uv_write(w, (uv_stream_t *)&c->pipe, &b, 1, write_done) != 0) {
		free(w);
		uv_close((uv_handle_t *)&c->pipe, conn_closed);
	}
}

/* A command's later part is over (retention run, export). */
static void later_done(void *ud, int rc, json_t *result)
{
	admin_conn *c = ud;
	json_decref(c->result);
	c->result = result;
	c->rc = rc;
	reply(c);
}

static void committed(void *ud, int err)
{
	admin_conn *c = ud;
	/* A deactivated user, a revoked token or a deleted app loses its live
	 * sockets now, not only at its next call. */
	if (!err && c->rc == 0 && c->s->rt)
		rt_revalidate(c->s->rt);
	if (!err && c->rc == 0)
		apps_revalidate(c->s->env.apps);  /* also: manifest changes reach the index */
	if (err && c->rc == 0) {
		c->rc = err;
		json_decref(c->result);
		c->result = json_pack("{s:s}", "error", err_name(err));
	}
	if (c->later) {
		admin_later *l = c->later;
		c->later = NULL;
		if (!err && c->rc == 0) {
			admin_later_start(l, later_done, c);
			return;
		}
		admin_later_free(l);
	}
	reply(c);
}

static void exec_argv(admin_conn *c, int argc, char **argv)
{
	admin_env e = {.state = &c->s->state,
		       .store = c->s->store,
		       .base_url = c->s->base_url,
		       .loop = c->s->loop,
		       .data_dir = c->s->cfg.data_dir,
		       .retention = c->s->retention};
	store_job *job = store_job_new(c->s->store);
	c->rc = admin_exec(&e, job, argc, argv, &c->result);
	c->later = e.later;
	log_info("admin command", "command=\"%s %s\" ok=%d", argv[0], argc > 1 ? argv[1] : "",
		 c->rc == 0);
	/* Even a failed command may have queued nothing or something; the job
	 * is committed either way so memory and disk agree. */
	store_submit(c->s->store, job, committed, c);
}

static void argv_free(char **argv, int argc)
{
	for (int i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
}

/* ---- `app create` with an Events API request URL ----
 * The URL must pass Slack's url_verification first (rt/apps_verify.c),
 * as through apps.manifest.create. The challenge is signed with the
 * app's signing secret-to-be: --signing-secret if given (an app moved
 * from Slack keeps its secret, so its Bolt receiver can check the
 * challenge), else one generated here and handed to the command. */

typedef struct admin_wait {
	admin_conn *c;
	char **argv;
	int argc;
} admin_wait;

/* The value of --name VALUE or --name=VALUE (the first, as admin.c's
 * option parser takes it), or NULL. */
static const char *argv_opt(char **argv, int argc, const char *name)
{
	size_t n = strlen(name);
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, name, n) != 0)
			continue;
		if (a[2 + n] == '=')
			return a + 3 + n;
		if (!a[2 + n] && i + 1 < argc)
			return argv[i + 1];
	}
	return NULL;
}

static void admin_verified_cb(void *ud, int ok, const char *why)
{
	admin_wait *w = ud;
	admin_conn *c = w->c;
	if (ok) {
		exec_argv(c, w->argc, w->argv);
	} else {
		c->rc = ERR_INVALID_MANIFEST;
		c->result = json_pack("{s:s,s:[{s:s,s:s}]}", "error", err_name(ERR_INVALID_MANIFEST),
				      "errors", "message", why, "pointer",
				      "/settings/event_subscriptions/request_url");
		reply(c);
	}
	argv_free(w->argv, w->argc);
	free(w);
}

/* 1 when the command now waits for a verification (argv taken over). */
static int verify_first(admin_conn *c, char ***argvp, int *argcp)
{
	char **argv = *argvp;
	int argc = *argcp;
	if (argc < 2 || strcmp(argv[0], "app") || strcmp(argv[1], "create") || !c->s->env.apps)
		return 0;
	const char *text = argv_opt(argv, argc, "manifest-json");
	json_error_t je;
	json_t *m = text ? json_loads(text, 0, &je) : NULL;
	json_t *settings = json_object_get(m, "settings");
	const char *url = json_string_value(
		json_object_get(json_object_get(settings, "event_subscriptions"), "request_url"));
	int wait = 0;
	if (url && *url && !json_is_true(json_object_get(settings, "socket_mode_enabled"))) {
		char *gen_secret = NULL, *gen_token = NULL;
		const char *secret = argv_opt(argv, argc, "signing-secret");
		const char *vtoken = argv_opt(argv, argc, "verification-token");
		if (!secret || !*secret)
			secret = gen_secret = ids_secret_hex(16);
		if (!vtoken || !*vtoken)
			vtoken = gen_token = ids_secret_hex(12);
		admin_wait *w = xcalloc(1, sizeof *w);
		w->c = c;
		w->argv = xcalloc((size_t)argc + 4, sizeof *w->argv);
		for (int i = 0; i < argc; i++)
			w->argv[w->argc++] = xstrdup(argv[i]);
		if (gen_secret) {
			w->argv[w->argc++] = xstrdup("--signing-secret");
			w->argv[w->argc++] = xstrdup(gen_secret);
		}
		if (gen_token) {
			w->argv[w->argc++] = xstrdup("--verification-token");
			w->argv[w->argc++] = xstrdup(gen_token);
		}
		if (apps_verify_url(c->s->env.apps, url, secret, vtoken, admin_verified_cb, w) == 0) {
			wait = 1;
		} else {
			argv_free(w->argv, w->argc);
			free(w);
		}
		free(gen_secret);
		free(gen_token);
	}
	json_decref(m);
	return wait;
}

static void run(admin_conn *c)
{
	json_error_t je;
	json_t *req = json_loadb(c->in.data, c->in.len, 0, &je);
	size_t argc = json_array_size(req);
	if (!json_is_array(req) || argc == 0 || argc > 64) {
		c->rc = -1;
		c->result = json_pack("{s:s}", "error", "bad admin request");
		json_decref(req);
		reply(c);
		return;
	}
	char **argv = xcalloc(argc, sizeof *argv);
	for (size_t i = 0; i < argc; i++) {
		const char *v = json_string_value(json_array_get(req, i));
		argv[i] = xstrdup(v ? v : "");
	}
	json_decref(req);
	int n = (int)argc;
	if (!verify_first(c, &argv, &n))
		exec_argv(c, n, argv);
	argv_free(argv, n);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	static char slab[4096];
	*b = uv_buf_init(slab, sizeof slab);
}

static void read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	admin_conn *c = st->data;
	if (n < 0) {
		if (!c->busy)
			uv_close((uv_handle_t *)st, conn_closed);
		else
			uv_read_stop(st);
		return;
	}
	buf_add(&c->in, b->base, (size_t)n);
	char *nl = memchr(c->in.data, '\n', c->in.len);
	if (c->in.len > ADMIN_MAX_REQUEST) {
		uv_close((uv_handle_t *)st, conn_closed);
		return;
	}
	if (nl && !c->busy) {
		c->in.len = (size_t)(nl - c->in.data);
		c->busy = 1;
		uv_read_stop(st);
		run(c);
	}
}

static void on_connection(uv_stream_t *server, int status)
{
	canal_server *s = server->data;
	if (status < 0)
		return;
	admin_conn *c = xcalloc(1, sizeof *c);
	c->s = s;
	uv_pipe_init(s->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		uv_close((uv_handle_t *)&c->pipe, conn_closed);
		return;
	}
	uv_read_start((uv_stream_t *)&c->pipe, alloc_cb, read_cb);
}

/* A socket file left by a crashed server is removed only if nothing
 * answers on it; a live one means another server owns this directory. */
static int socket_in_use(const char *path)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	int r = connect(fd, (struct sockaddr *)&a, sizeof a);
	close(fd);
	return r == 0;
}

int admin_server_start(canal_server *s, char *err, size_t errlen)
{
	s->admin_path = admin_socket_path(s->cfg.data_dir);
	if (strlen(s->admin_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		snprintf(err, errlen, "data directory path too long for the admin socket: %s",
			 s->admin_path);
		return -1;
	}
	if (socket_in_use(s->admin_path)) {
		snprintf(err, errlen, "another canal server is using %s", s->cfg.data_dir);
		return -1;
	}
	unlink(s->admin_path);
	uv_pipe_init(s->loop, &s->admin, 0);
	s->admin.data = s;
	mode_t old = umask(0077);
	int r = uv_pipe_bind(&s->admin, s->admin_path);
	umask(old);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&s->admin, 16, on_connection);
	if (r != 0) {
		snprintf(err, errlen, "cannot create admin socket %s: %s", s->admin_path, uv_strerror(r));
		uv_close((uv_handle_t *)&s->admin, NULL);
		return -1;
	}
	s->admin_open = 1;
	return 0;
}

void admin_server_stop(canal_server *s)
{
	if (s->admin_open) {
		uv_close((uv_handle_t *)&s->admin, NULL);
		unlink(s->admin_path);
		s->admin_open = 0;
	}
	free(s->admin_path);
	s->admin_path = NULL;
}
