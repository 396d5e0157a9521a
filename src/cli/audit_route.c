/* GET /audit/v1/logs (Slack's Audit Logs API) for one organisation.
 *
 * Who may read: a user token (xoxp-, or a browser session) of an admin or
 * owner of the organisation, whose scopes are full access ("*", what
 * Canal issues to people) or include auditlogs:read. Slack itself wants
 * an org owner's token with auditlogs:read; Canal also lets admins in,
 * since they are the ones who run a self-hosted server. Bot and app
 * tokens never. The entries are those of the caller's organisation.
 *
 * Parameters (query string): action (one or a comma list), actor (user
 * id), entity (id of a user, channel, app, file or workspace), oldest,
 * latest (unix seconds, inclusive), limit (1..9999, default 100), cursor
 * (response_metadata.next_cursor of the previous page). Newest first.
 * Errors, with Slack's HTTP statuses: 401 not_authed / invalid_auth /
 * token_revoked / token_expired, 403 not_an_admin / missing_scope,
 * 400 invalid_arguments / invalid_cursor, 405 for other verbs,
 * 404 unknown_method, 500 internal_error.
 * GET /audit/v1/actions and /schemas (no token, as Slack's) list what
 * Canal records. */
#include "cli/audit_route.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_http.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "core/rules.h"
#include <time.h>

#define AUDIT_LIMIT_DEFAULT 100
#define AUDIT_LIMIT_MAX 9999

static void answer_json(http_req *req, int status, json_t *body)
{
	char *s = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	http_respond_owned(req, status, "application/json; charset=utf-8", NULL, s, strlen(s));
}

static void answer_err(http_req *req, int status, const char *error)
{
	answer_json(req, status, json_pack("{s:b,s:s}", "ok", 0, "error", error));
}

static bool has_scope(const char *scopes, const char *want)
{
	if (!scopes)
		return false;
	size_t wn = strlen(want);
	for (const char *p = scopes; *p;) {
		size_t n = strcspn(p, ",");
		if ((n == 1 && *p == '*') || (n == wn && strncmp(p, want, n) == 0))
			return true;
		p += n + (p[n] == ',');
	}
	return false;
}

/* The caller's admin user, or an error answered. */
static user *authorise(canal_server *s, http_req *req, json_t *args)
{
	const char *auth = http_req_header(req, "authorization");
	const char *tok = NULL;
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
		tok = auth + 7;
	else
		tok = json_string_value(json_object_get(args, "token"));
	if (!tok || !*tok) {
		answer_err(req, 401, "not_authed");
		return NULL;
	}
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(tok, hash);
	token *t = core_token_get(&s->state, hash);
	user *u = t ? core_user_get(&s->state, t->user_id) : NULL;
	if (!t || !u || (t->kind != TOKEN_USER && t->kind != TOKEN_SESSION && t->kind != TOKEN_BOT)) {
		answer_err(req, 401, "invalid_auth");
		return NULL;
	}
	if (t->revoked) {
		answer_err(req, 401, "token_revoked");
		return NULL;
	}
	if (t->expires && t->expires < (int64_t)time(NULL)) {
		answer_err(req, 401, "token_expired");
		return NULL;
	}
	if (u->deleted) {
		answer_err(req, 401, "account_inactive");
		return NULL;
	}
	if (t->kind == TOKEN_BOT) {
		answer_err(req, 403, "not_allowed_token_type");
		return NULL;
	}
	if (!u->is_admin && !u->is_owner) {
		answer_err(req, 403, "not_an_admin");
		return NULL;
	}
	if (!has_scope(t->scopes, "auditlogs:read")) {
		answer_json(req, 403, json_pack("{s:b,s:s,s:s,s:s}", "ok", 0, "error", "missing_scope",
						"needed", "auditlogs:read", "provided",
						t->scopes ? t->scopes : ""));
		return NULL;
	}
	return u;
}

/* A non-negative integer argument, or -1 if absent; -2 if malformed. */
static long long int_arg(json_t *args, const char *name)
{
	const char *v = json_string_value(json_object_get(args, name));
	if (!v)
		return json_object_get(args, name) ? -2 : -1;
	char *end;
	long long n = strtoll(v, &end, 10);
	return end == v || *end || n < 0 ? -2 : n;
}

static const char *str_arg(json_t *args, const char *name)
{
	const char *v = json_string_value(json_object_get(args, name));
	return v && *v ? v : NULL;
}

/* Cursors: rules_cursor_encode("seq", N), opaque as Slack's are. */
static char *cursor_make(int64_t seq)
{
	char v[24];
	snprintf(v, sizeof v, "%lld", (long long)seq);
	return rules_cursor_encode("seq", v);
}

static int cursor_parse(const char *c, int64_t *seq)
{
	char *v;
	if (rules_cursor_decode(c, "seq", &v) != 0)
		return -1;
	char *end;
	long long n = strtoll(v, &end, 10);
	int rc = end == v || *end || n <= 0 ? -1 : 0;
	free(v);
	*seq = n;
	return rc;
}

static void logs(canal_server *s, http_req *req, json_t *args)
{
	user *u = authorise(s, req, args);
	if (!u)
		return;
	long long limit = int_arg(args, "limit"), oldest = int_arg(args, "oldest"),
		  latest = int_arg(args, "latest");
	if (limit == -2 || oldest == -2 || latest == -2 || limit == 0) {
		answer_err(req, 400, "invalid_arguments");
		return;
	}
	store_audit_query q = {.org_id = u->org_id,
			       .oldest = oldest > 0 ? oldest : 0,
			       .latest = latest > 0 ? latest : 0,
			       .action = str_arg(args, "action"),
			       .actor_id = str_arg(args, "actor"),
			       .entity_id = str_arg(args, "entity"),
			       .limit = limit < 0 ? AUDIT_LIMIT_DEFAULT
						  : (size_t)(limit > AUDIT_LIMIT_MAX ? AUDIT_LIMIT_MAX
										     : limit)};
	const char *cur = str_arg(args, "cursor");
	if (cur && cursor_parse(cur, &q.before) != 0) {
		answer_err(req, 400, "invalid_cursor");
		return;
	}
	store_audit_row *rows;
	size_t n;
	int64_t next;
	if (store_audit_find(s->store, &q, &rows, &n, &next) != 0) {
		answer_err(req, 500, "internal_error");
		return;
	}
	json_t *entries = json_array();
	for (size_t i = 0; i < n; i++) {
		json_t *e = rows[i].entry ? json_loads(rows[i].entry, 0, NULL) : NULL;
		if (e)
			json_array_append_new(entries, e);
	}
	store_audit_rows_free(rows, n);
	char *nc = next ? cursor_make(next) : xstrdup("");
	answer_json(req, 200, json_pack("{s:b,s:o,s:{s:s}}", "ok", 1, "entries", entries,
					"response_metadata", "next_cursor", nc));
	free(nc);
}

static void actions(http_req *req)
{
	static const char *const user_actions[] = {
		"user_login", "user_login_failed", "user_logout", "user_created", "user_deactivated",
		"role_change_to_admin", "role_change_to_owner", "role_change_to_user",
		"user_token_created", "user_token_revoked", "legal_hold_policy_created",
		"legal_hold_policy_released", NULL};
	static const char *const channel_actions[] = {
		"public_channel_archive", "private_channel_archive", "public_channel_unarchive",
		"private_channel_unarchive", "channel_converted_to_private",
		"channel_retention_changed", NULL};
	static const char *const ws_actions[] = {"workspace_retention_changed",
						 "manual_export_started",
						 "manual_export_completed", NULL};
	static const char *const app_actions[] = {"app_installed", "app_uninstalled", NULL};
	static const char *const file_actions[] = {
		"file_deleted", "file_public_link_created", "file_public_link_revoked",
		"file_access_revoked", "file_access_restored", NULL};
	static const struct { const char *name; const char *const *list; } groups[] = {
		{"user", user_actions}, {"channel", channel_actions}, {"workspace_or_org", ws_actions},
		{"app", app_actions},   {"file", file_actions},
	};
	json_t *o = json_object();
	for (size_t g = 0; g < sizeof groups / sizeof groups[0]; g++) {
		json_t *a = json_array();
		for (size_t i = 0; groups[g].list[i]; i++)
			json_array_append_new(a, json_string(groups[g].list[i]));
		json_object_set_new(o, groups[g].name, a);
	}
	answer_json(req, 200, json_pack("{s:o}", "actions", o));
}

static void schemas(http_req *req)
{
	static const char *const types[][2] = {
		{"user", "A person or bot of the organisation"},
		{"channel", "A conversation: public, private, DM or group DM"},
		{"workspace", "The organisation"},
		{"app", "An installed app"},
		{"file", "A shared file"},
	};
	json_t *a = json_array();
	for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
		json_array_append_new(a, json_pack("{s:s,s:s}", "type", types[i][0], "description",
						   types[i][1]));
	answer_json(req, 200, json_pack("{s:o}", "schemas", a));
}

void audit_route(canal_server *s, http_req *req, const char *rest)
{
	if (strcmp(req->method, "GET") != 0) {
		http_respond(req, 405, "application/json; charset=utf-8", "Allow: GET\r\n",
			     "{\"ok\":false,\"error\":\"method_not_allowed\"}", 41);
		return;
	}
	if (strcmp(rest, "actions") == 0) {
		actions(req);
		return;
	}
	if (strcmp(rest, "schemas") == 0) {
		schemas(req);
		return;
	}
	if (strcmp(rest, "logs") != 0) {
		answer_err(req, 404, "unknown_method");
		return;
	}
	json_t *args = json_object();
	if (api_form_parse(req->query, strlen(req->query), args) != 0) {
		json_decref(args);
		answer_err(req, 400, "invalid_arguments");
		return;
	}
	logs(s, req, args);
	json_decref(args);
}
