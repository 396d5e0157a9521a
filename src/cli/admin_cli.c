/* `canal admin`: through the admin socket of a running server, else
 * offline on the data directory (store opened without a loop, so every
 * commit is synchronous). */
#include "cli/admin_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "admin/admin.h"
#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"

static int print_result(int ok, json_t *result, int as_json)
{
	const char *jsonl = json_string_value(json_object_get(result, "jsonl"));
	if (ok && jsonl) {
		/* audit export without --out: the JSON lines themselves. */
		fputs(jsonl, stdout);
		return 0;
	}
	if (as_json) {
		char *s = json_dumps(result ? result : json_null(), JSON_COMPACT | JSON_ENCODE_ANY);
		printf("%s\n", s);
		free(s);
	} else if (ok) {
		char *s = admin_format_human(result);
		fputs(s, stdout);
		free(s);
	}
	if (!ok) {
		const char *e = json_string_value(json_object_get(result, "error"));
		const char *usage = json_string_value(json_object_get(result, "usage"));
		fprintf(stderr, "canal admin: %s\n%s", e ? e : "failed", usage ? usage : "");
		/* invalid_manifest: Slack's list of {message, pointer}. */
		size_t i;
		json_t *x;
		json_array_foreach(json_object_get(result, "errors"), i, x) {
			const char *p = json_string_value(json_object_get(x, "pointer"));
			const char *m = json_string_value(json_object_get(x, "message"));
			fprintf(stderr, "  %s: %s\n", p ? p : "", m ? m : "");
		}
	}
	return ok ? 0 : 1;
}

/* Returns 1 if the command ran through a live server (rc set), 0 if no
 * server is listening. */
static int via_socket(const char *path, int argc, char **argv, int as_json, int *rc)
{
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0)
		return 0;
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
		close(fd);
		return 0;
	}
	json_t *req = json_array();
	for (int i = 0; i < argc; i++)
		json_array_append_new(req, json_string(argv[i]));
	char *line = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	buf out = BUF_INIT;
	buf_adds(&out, line);
	buf_addc(&out, '\n');
	free(line);
	size_t off = 0;
	while (off < out.len) {
		ssize_t w = write(fd, out.data + off, out.len - off);
		if (w <= 0 && errno != EINTR)
			break;
		if (w > 0)
			off += (size_t)w;
	}
	buf_release(&out);
	buf in = BUF_INIT;
	char tmp[4096];
	for (;;) {
		ssize_t r = read(fd, tmp, sizeof tmp);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		buf_add(&in, tmp, (size_t)r);
	}
	close(fd);
	json_t *ans = in.len ? json_loadb(in.data, in.len, 0, NULL) : NULL;
	buf_release(&in);
	if (!ans) {
		fprintf(stderr, "canal admin: the server closed the admin connection without an answer\n");
		*rc = 1;
		return 1;
	}
	*rc = print_result(json_is_true(json_object_get(ans, "ok")), json_object_get(ans, "result"),
			   as_json);
	json_decref(ans);
	return 1;
}

static void offline_done(void *ud, int err)
{
	*(int *)ud = err ? err : 1;
}

static void offline_later_done(void *ud, int rc, json_t *result)
{
	*(json_t **)ud = result;
}

static int offline(const char *dir, int argc, char **argv, int as_json)
{
	char err[512];
	if (ids_init() != 0)
		return 1;
	store_cfg sc = {.dir = dir, .sync = STORE_SYNC_FULL};
	store *st = store_open(&sc, NULL, err, sizeof err);
	if (!st) {
		fprintf(stderr, "canal admin: cannot open data directory %s: %s\n", dir, err);
		return 1;
	}
	core_state state;
	core_state_init(&state);
	int rc = 1;
	if (store_load(st, &state) != 0) {
		fprintf(stderr, "canal admin: cannot load %s\n", dir);
		goto out;
	}
	store_state_attach(st, &state); /* a refused command leaves state as on disk */
	admin_env e = {.state = &state, .store = st, .data_dir = dir};
	store_job *job = store_job_new(st);
	json_t *result = NULL;
	int r = admin_exec(&e, job, argc, argv, &result);
	int done = 0;
	store_submit(st, job, offline_done, &done);
	if (r == 0 && done != 1) {
		json_decref(result);
		result = json_pack("{s:s}", "error", err_name(done));
		r = done;
	}
	if (e.later) {
		/* The rest of the command (retention run, export), synchronous here. */
		admin_later *l = e.later;
		if (r == 0) {
			json_decref(result);
			result = NULL;
			admin_later_start(l, offline_later_done, &result);
			r = json_object_get(result, "error") ? -1 : 0;
		} else {
			admin_later_free(l);
		}
	}
	rc = print_result(r == 0, result, as_json);
	json_decref(result);
out:
	store_close(st);
	core_state_release(&state);
	return rc;
}

/* `--manifest FILE`: the file is read here, by the CLI, and sent as
 * `--manifest-json TEXT`, so a relative path means the same thing whether
 * the command then runs offline or inside a running server (whose
 * working directory is its own). Heap string or NULL (message printed). */
static char *read_manifest(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "canal admin: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	buf b = BUF_INIT;
	char tmp[4096];
	size_t n;
	while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
		buf_add(&b, tmp, n);
	fclose(f);
	buf_addc(&b, '\0');
	return buf_detach(&b, NULL);
}

int admin_cli_main(int argc, char **argv)
{
	/* Pull out the options every admin command shares. */
	const char *dir = getenv("CANAL_DATA");
	int as_json = 0;
	char *manifest = NULL;
	char *outpath = NULL;
	int has_out = 0;
	char cwd[4096];
	char **rest = xcalloc((size_t)argc + 2, sizeof *rest);
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--data") && i + 1 < argc)
			dir = argv[++i];
		else if (!strncmp(argv[i], "--data=", 7))
			dir = argv[i] + 7;
		else if (!strcmp(argv[i], "--json"))
			as_json = 1;
		else if ((!strcmp(argv[i], "--manifest") && i + 1 < argc) ||
			 !strncmp(argv[i], "--manifest=", 11)) {
			const char *path = argv[i][10] == '=' ? argv[i] + 11 : argv[++i];
			if (manifest)
				fprintf(stderr, "canal admin: --manifest given twice\n");
			if (manifest || !(manifest = read_manifest(path))) {
				free(manifest);
				free(outpath);
				free(rest);
				return 1;
			}
			rest[n++] = "--manifest-json";
			rest[n++] = manifest;
		} else if ((!strcmp(argv[i], "--out") && i + 1 < argc) ||
			   !strncmp(argv[i], "--out=", 6)) {
			/* Written by the server when it runs: a relative path must
			 * mean the caller's directory, as for --manifest. */
			const char *path = argv[i][5] == '=' ? argv[i] + 6 : argv[++i];
			if (outpath || has_out) {
				fprintf(stderr, "canal admin: --out given twice\n");
				free(manifest);
				free(outpath);
				free(rest);
				return 1;
			}
			has_out = 1;
			rest[n++] = "--out";
			if (path[0] == '/' || !getcwd(cwd, sizeof cwd)) {
				rest[n++] = (char *)path;
			} else {
				outpath = xasprintf("%s/%s", cwd, path);
				rest[n++] = outpath;
			}
		} else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(admin_usage(), stdout);
			free(manifest);
			free(outpath);
			free(rest);
			return 0;
		} else
			rest[n++] = argv[i];
	}
	if (!dir || !*dir)
		dir = "./canal-data";
	if (n < 2) {
		fputs(admin_usage(), stderr);
		free(manifest);
		free(outpath);
		free(rest);
		return 2;
	}
	log_set_level(LOG_WARN);
	char *sock = admin_socket_path(dir);
	int rc;
	if (!via_socket(sock, n, rest, as_json, &rc))
		rc = offline(dir, n, rest, as_json);
	free(sock);
	free(manifest);
	free(outpath);
	free(rest);
	return rc;
}
