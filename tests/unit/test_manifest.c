/* App manifests (src/api/api_manifest.c): validation with Slack's
 * {"message","pointer"} errors, application to an app (fields, scopes,
 * bot tokens, slash commands), export; and the registry's persistence
 * through the SQLite store (offline store: synchronous commits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ftw.h>
#include <unistd.h>

#include "api/api_manifest.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/err.h"

static const char *const good_json =
	"{\"display_information\":{\"name\":\"Wheatley\",\"description\":\"FAQ\"},"
	"\"features\":{\"bot_user\":{\"display_name\":\"wheatley-bot\",\"always_online\":true},"
	"\"slash_commands\":[{\"command\":\"/wheatley\",\"url\":\"https://x.test/c\","
	"\"description\":\"Ask\",\"usage_hint\":\"help\",\"should_escape\":true}],"
	"\"shortcuts\":[{\"name\":\"Ticket\",\"type\":\"message\",\"callback_id\":\"t\","
	"\"description\":\"From a message\"}],"
	"\"app_home\":{\"home_tab_enabled\":true,\"messages_tab_enabled\":false}},"
	"\"oauth_config\":{\"scopes\":{\"bot\":[\"chat:write\",\"commands\"]}},"
	"\"settings\":{\"event_subscriptions\":{\"request_url\":\"https://x.test/e\","
	"\"bot_events\":[\"app_mention\",\"message.channels\"]},"
	"\"interactivity\":{\"is_enabled\":true,\"request_url\":\"https://x.test/i\"},"
	"\"socket_mode_enabled\":false}}";

static json_t *load(const char *text)
{
	json_t *m = json_loads(text, 0, NULL);
	assert_non_null(m);
	return m;
}

/* Validates m; returns the pointers reported, comma-joined (heap). */
static char *pointers(const json_t *m, core_state *s, const char *org_id, const char *app_id)
{
	json_t *errors = json_array();
	int rc = api_manifest_validate(m, s, org_id, app_id, errors);
	assert_int_equal(rc, json_array_size(errors) ? ERR_INVALID_MANIFEST : 0);
	char *out = xstrdup("");
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e) {
		assert_non_null(json_string_value(json_object_get(e, "message")));
		const char *p = json_string_value(json_object_get(e, "pointer"));
		assert_non_null(p);
		char *n = xasprintf("%s%s%s", out, i ? "," : "", p);
		free(out);
		out = n;
	}
	json_decref(errors);
	return out;
}

static void expect_pointers(const char *text, const char *want)
{
	json_t *m = load(text);
	char *got = pointers(m, NULL, NULL, NULL);
	if (strcmp(got, want) != 0)
		fail_msg("manifest %s\n  pointers: %s\n  expected: %s", text, got, want);
	free(got);
	json_decref(m);
}

static void test_valid(void **st)
{
	expect_pointers(good_json, "");
	/* The smallest manifest. */
	expect_pointers("{\"display_information\":{\"name\":\"a\"}}", "");
	/* Socket Mode needs no request URLs. */
	expect_pointers("{\"display_information\":{\"name\":\"a\"},"
			"\"features\":{\"slash_commands\":[{\"command\":\"/a\",\"description\":\"d\"}]},"
			"\"settings\":{\"socket_mode_enabled\":true,"
			"\"event_subscriptions\":{\"bot_events\":[\"app_mention\"]},"
			"\"interactivity\":{\"is_enabled\":true}}}",
			"");
	/* Unknown keys are kept, not refused. */
	expect_pointers("{\"display_information\":{\"name\":\"a\"},\"functions\":{},"
			"\"_metadata\":{\"major_version\":1}}",
			"");
}

static void test_display_information(void **st)
{
	expect_pointers("{}", "/display_information");
	expect_pointers("[]", "/");
	expect_pointers("{\"display_information\":[]}", "/display_information");
	expect_pointers("{\"display_information\":{}}", "/display_information/name");
	expect_pointers("{\"display_information\":{\"name\":\"\"}}", "/display_information/name");
	expect_pointers("{\"display_information\":{\"name\":7}}", "/display_information/name");
	/* 35 characters fit, 36 do not; characters, not bytes. */
	expect_pointers("{\"display_information\":{\"name\":\"12345678901234567890123456789012345\"}}", "");
	expect_pointers("{\"display_information\":{\"name\":\"123456789012345678901234567890123456\"}}",
			"/display_information/name");
	expect_pointers("{\"display_information\":{\"name\":"
			"\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
			"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}}",
			"");
	expect_pointers("{\"display_information\":{\"name\":\"a\",\"background_color\":\"red\"}}",
			"/display_information/background_color");
	expect_pointers("{\"display_information\":{\"name\":\"a\"},\"features\":{\"bot_user\":{}}}",
			"/features/bot_user/display_name");
}

static void test_commands(void **st)
{
	const char *pre = "{\"display_information\":{\"name\":\"a\"},\"features\":{\"slash_commands\":[";
	const char *post = "]}}";
	struct {
		const char *cmds, *want;
	} cases[] = {
		{"{\"command\":\"/ok\",\"url\":\"https://x.test\",\"description\":\"d\"}", ""},
		{"{\"command\":\"ok\",\"url\":\"https://x.test\",\"description\":\"d\"}",
		 "/features/slash_commands/0/command"},
		{"{\"command\":\"/Up\",\"url\":\"https://x.test\",\"description\":\"d\"}",
		 "/features/slash_commands/0/command"},
		{"{\"command\":\"/a b\",\"url\":\"https://x.test\",\"description\":\"d\"}",
		 "/features/slash_commands/0/command"},
		{"{\"command\":\"/\",\"url\":\"https://x.test\",\"description\":\"d\"}",
		 "/features/slash_commands/0/command"},
		/* 32 characters with the slash fit, 33 do not. */
		{"{\"command\":\"/1234567890123456789012345678901\",\"url\":\"https://x.test\",\"description\":\"d\"}",
		 ""},
		{"{\"command\":\"/12345678901234567890123456789012\",\"url\":\"https://x.test\",\"description\":\"d\"}",
		 "/features/slash_commands/0/command"},
		{"{\"command\":\"/ok\",\"description\":\"d\"}", "/features/slash_commands/0/url"},
		{"{\"command\":\"/ok\",\"url\":\"\",\"description\":\"d\"}", "/features/slash_commands/0/url"},
		{"{\"command\":\"/ok\",\"url\":\"mailto:x@y\",\"description\":\"d\"}",
		 "/features/slash_commands/0/url"},
		{"{\"command\":\"/ok\",\"url\":\"https://\",\"description\":\"d\"}",
		 "/features/slash_commands/0/url"},
		{"{\"command\":\"/ok\",\"url\":\"https://x.test\"}", "/features/slash_commands/0/description"},
		{"{\"command\":\"/ok\",\"url\":\"https://x.test\",\"description\":\"d\",\"should_escape\":\"yes\"}",
		 "/features/slash_commands/0/should_escape"},
		{"{\"command\":\"/a\",\"url\":\"https://x.test\",\"description\":\"d\"},"
		 "{\"command\":\"/b\",\"url\":\"https://x.test\",\"description\":\"d\"},"
		 "{\"command\":\"/a\",\"url\":\"https://x.test\",\"description\":\"d\"}",
		 "/features/slash_commands/2/command"},
		{"7", "/features/slash_commands/0"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *text = xasprintf("%s%s%s", pre, cases[i].cmds, post);
		expect_pointers(text, cases[i].want);
		free(text);
	}
	expect_pointers("{\"display_information\":{\"name\":\"a\"},\"features\":{\"slash_commands\":{}}}",
			"/features/slash_commands");
}

static void test_scopes_events_settings(void **st)
{
	expect_pointers("{\"display_information\":{\"name\":\"a\"},"
			"\"oauth_config\":{\"scopes\":{\"bot\":[\"chat:write\",\"chat:wrote\",3],"
			"\"user\":[\"search:read\",\"nope\"]}}}",
			"/oauth_config/scopes/bot/1,/oauth_config/scopes/bot/2,/oauth_config/scopes/user/1");
	expect_pointers("{\"display_information\":{\"name\":\"a\"},\"settings\":{\"event_subscriptions\":"
			"{\"request_url\":\"https://x.test/e\",\"bot_events\":[\"message.channels\",\"message.everything\"]}}}",
			"/settings/event_subscriptions/bot_events/1");
	expect_pointers("{\"display_information\":{\"name\":\"a\"},\"settings\":{\"event_subscriptions\":"
			"{\"bot_events\":[\"app_mention\"]}}}",
			"/settings/event_subscriptions");
	/* No events, no URL needed. */
	expect_pointers("{\"display_information\":{\"name\":\"a\"},\"settings\":{\"event_subscriptions\":{}}}",
			"");
	expect_pointers("{\"display_information\":{\"name\":\"a\"},\"settings\":{\"event_subscriptions\":"
			"{\"request_url\":\"not a url\",\"bot_events\":[]}}}",
			"/settings/event_subscriptions/request_url");
	expect_pointers("{\"display_information\":{\"name\":\"a\"},\"settings\":{\"interactivity\":"
			"{\"is_enabled\":true}}}",
			"/settings/interactivity");
	expect_pointers("{\"display_information\":{\"name\":\"a\"},\"settings\":{\"interactivity\":"
			"{\"is_enabled\":false}}}",
			"");
	expect_pointers("{\"display_information\":{\"name\":\"a\"},\"settings\":{\"socket_mode_enabled\":\"true\"}}",
			"/settings/socket_mode_enabled");
	expect_pointers("{\"display_information\":{\"name\":\"a\"},\"features\":{\"shortcuts\":["
			"{\"name\":\"n\",\"type\":\"global\",\"callback_id\":\"c\",\"description\":\"d\"},"
			"{\"name\":\"n\",\"type\":\"inline\",\"callback_id\":\"c\",\"description\":\"d\"},"
			"{\"type\":\"message\",\"callback_id\":\"e\"}]}}",
			"/features/shortcuts/1/type,/features/shortcuts/1/callback_id,"
			"/features/shortcuts/2/name,/features/shortcuts/2/description");
	assert_true(api_manifest_scope_known("users:read.email"));
	assert_false(api_manifest_scope_known("users:read.mail"));
	assert_true(api_manifest_event_known("member_joined_channel"));
	assert_false(api_manifest_event_known("member_joined"));
}

static void test_parse(void **st)
{
	json_t *errors = json_array();
	json_t *arg = json_string(good_json);
	json_t *m = api_manifest_parse(arg, errors);
	assert_non_null(m);
	assert_int_equal(json_array_size(errors), 0);
	json_t *again = api_manifest_parse(m, errors);
	assert_ptr_equal(again, m);
	json_decref(again);
	json_decref(m);
	json_decref(arg);
	const char *bad[] = {"{nope", "[1]", "\"str\""};
	for (size_t i = 0; i < 3; i++) {
		arg = json_string(bad[i]);
		assert_null(api_manifest_parse(arg, errors));
		json_decref(arg);
	}
	arg = json_integer(4);
	assert_null(api_manifest_parse(arg, errors));
	json_decref(arg);
	assert_int_equal(json_array_size(errors), 4);
	assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "pointer")), "/");
	json_decref(errors);
}

/* ---- application ---- */

static org *mk_org(core_state *s, const char *id)
{
	org *o = core_org_new(id);
	o->name = xstrdup(id);
	o->domain = xstrdup("d");
	core_org_add(s, o);
	return o;
}

static size_t count_commands(core_state *s, const char *app_id)
{
	size_t n = 0, it = 0;
	void *v;
	while (map_next(&s->commands, &it, NULL, &v))
		n += strcmp(((app_command *)v)->app_id, app_id) == 0;
	return n;
}

static token *bot_token_of(core_state *s, const char *secret)
{
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(secret, hash);
	return core_token_get(s, hash);
}

static void test_apply_and_export(void **st)
{
	core_state s;
	core_state_init(&s);
	mk_org(&s, "T1");
	mk_org(&s, "T2");
	store_job *job = store_job_new(NULL);
	json_t *m = load(good_json);
	app *a;
	char *bt, *at;
	assert_int_equal(api_app_install(&s, job, "T1", api_manifest_bot_name(m), NULL, &a, &bt, &at), 0);
	/* Before the manifest: the default scopes. */
	assert_string_equal(a->scopes, API_APP_DEFAULT_SCOPES);
	bool changed = false;
	api_manifest_apply(&s, job, a, m, &changed);
	assert_true(changed);
	assert_string_equal(a->name, "Wheatley");
	assert_string_equal(a->description, "FAQ");
	assert_string_equal(a->scopes, "chat:write,commands");
	assert_string_equal(bot_token_of(&s, bt)->scopes, "chat:write,commands");
	assert_string_equal(bot_token_of(&s, at)->scopes, "connections:write");
	assert_string_equal(a->bot_events, "app_mention,message.channels");
	assert_string_equal(a->event_url, "https://x.test/e");
	assert_string_equal(a->interactivity_url, "https://x.test/i");
	assert_true(a->interactivity);
	assert_false(a->socket_mode);
	assert_non_null(a->manifest);
	user *u = core_user_get(&s, a->bot_user_id);
	assert_string_equal(u->name, "wheatley-bot");
	assert_string_equal(u->real_name, "wheatley-bot");
	assert_true(u->is_bot);
	app_command *c = core_command_get(&s, "T1", "/wheatley");
	assert_non_null(c);
	assert_string_equal(c->app_id, a->id);
	assert_string_equal(c->url, "https://x.test/c");
	assert_string_equal(c->usage_hint, "help");
	assert_true(c->should_escape);

	/* Another app may not take /wheatley in T1; it may in T2. */
	char *p = pointers(m, &s, "T1", NULL);
	assert_string_equal(p, "/features/slash_commands/0/command");
	free(p);
	p = pointers(m, &s, "T1", a->id);
	assert_string_equal(p, "");
	free(p);
	p = pointers(m, &s, "T2", NULL);
	assert_string_equal(p, "");
	free(p);

	/* Export gives back what was applied. */
	json_t *ex = api_manifest_export(&s, a);
	assert_true(json_equal(ex, m));
	json_decref(ex);

	/* Update: Socket Mode, new command set, same scopes. */
	json_t *m2 = load("{\"display_information\":{\"name\":\"Wheatley 2\"},"
			  "\"features\":{\"slash_commands\":[{\"command\":\"/w2\",\"description\":\"d\","
			  "\"url\":\"https://x.test/ignored\"},{\"command\":\"/w3\",\"description\":\"d\"}]},"
			  "\"oauth_config\":{\"scopes\":{\"bot\":[\"chat:write\",\"commands\"]}},"
			  "\"settings\":{\"socket_mode_enabled\":true,\"event_subscriptions\":"
			  "{\"request_url\":\"https://x.test/e\",\"bot_events\":[\"app_mention\"]},"
			  "\"interactivity\":{\"is_enabled\":true,\"request_url\":\"https://x.test/i\"}}}");
	p = pointers(m2, &s, "T1", a->id);
	assert_string_equal(p, "");
	free(p);
	api_manifest_apply(&s, job, a, m2, &changed);
	assert_false(changed);
	assert_string_equal(a->name, "Wheatley 2");
	assert_null(a->description);
	assert_true(a->socket_mode);
	assert_null(a->event_url);         /* Socket Mode: URLs unused */
	assert_null(a->interactivity_url);
	assert_string_equal(a->bot_events, "app_mention");
	assert_null(core_command_get(&s, "T1", "/wheatley"));
	assert_non_null(core_command_get(&s, "T1", "/w2"));
	assert_null(core_command_get(&s, "T1", "/w2")->url);
	assert_int_equal(count_commands(&s, a->id), 2);
	/* Bot display name gone: the app name is the bot's name. */
	assert_string_equal(u->real_name, "Wheatley 2");

	/* A manifest without scopes leaves them as they are. */
	json_t *m3 = load("{\"display_information\":{\"name\":\"W\"}}");
	api_manifest_apply(&s, job, a, m3, &changed);
	assert_false(changed);
	assert_string_equal(a->scopes, "chat:write,commands");
	assert_int_equal(count_commands(&s, a->id), 0);
	assert_false(a->socket_mode);
	assert_null(a->bot_events);

	/* Uninstall: deleted, tokens revoked. */
	api_manifest_apply(&s, job, a, m2, NULL);
	api_app_uninstall(&s, job, a);
	assert_true(a->deleted);
	assert_true(u->deleted);
	assert_true(bot_token_of(&s, bt)->revoked);
	assert_true(bot_token_of(&s, at)->revoked);
	assert_int_equal(count_commands(&s, a->id), 0);

	json_decref(m);
	json_decref(m2);
	json_decref(m3);
	free(bt);
	free(at);
	store_job_free(job);
	core_state_release(&s);
}

static void test_export_without_manifest(void **st)
{
	core_state s;
	core_state_init(&s);
	mk_org(&s, "T1");
	store_job *job = store_job_new(NULL);
	app *a;
	char *bt, *at;
	assert_int_equal(api_app_install(&s, job, "T1", "Plain Bot", "chat:write,users:read", &a, &bt, &at), 0);
	json_t *ex = api_manifest_export(&s, a);
	assert_string_equal(json_string_value(json_object_get(json_object_get(ex, "display_information"), "name")),
			    "Plain Bot");
	json_t *bot = json_object_get(json_object_get(json_object_get(ex, "oauth_config"), "scopes"), "bot");
	assert_int_equal(json_array_size(bot), 2);
	assert_string_equal(json_string_value(json_array_get(bot, 1)), "users:read");
	/* What export says validates. */
	char *p = pointers(ex, &s, "T1", a->id);
	assert_string_equal(p, "");
	free(p);
	json_decref(ex);
	/* Handles stay unique per org. */
	app *b;
	char *bt2, *at2;
	assert_int_equal(api_app_install(&s, job, "T1", "Plain Bot", NULL, &b, &bt2, &at2), 0);
	assert_string_equal(core_user_get(&s, b->bot_user_id)->name, "plain-bot2");
	free(bt2);
	free(at2);
	assert_int_equal(api_app_install(&s, job, "T9", "x", NULL, &b, &bt2, &at2), ERR_TEAM_NOT_FOUND);
	assert_int_equal(api_app_install(&s, job, "T1", "", NULL, &b, &bt2, &at2),
			 ERR_INVALID_NAME_REQUIRED);
	free(bt);
	free(at);
	store_job_free(job);
	core_state_release(&s);
}

/* ---- persistence ---- */

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void done_cb(void *ud, int err)
{
	*(int *)ud = err ? err : 1;
}

static void test_store_roundtrip(void **st)
{
	char dir[] = "/tmp/canal-manifest-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char err[256];
	store_cfg cfg = {.dir = dir, .sync = STORE_SYNC_OFF};
	store *sto = store_open(&cfg, NULL, err, sizeof err);
	assert_non_null(sto);
	core_state s;
	core_state_init(&s);
	mk_org(&s, "T1");
	store_job *job = store_job_new(sto);
	org *o = core_org_get(&s, "T1");
	store_put_org(job, o);
	json_t *m = load(good_json);
	app *a;
	char *bt, *at;
	assert_int_equal(api_app_install(&s, job, "T1", "wheatley", NULL, &a, &bt, &at), 0);
	api_manifest_apply(&s, job, a, m, NULL);
	webhook *w = xcalloc(1, sizeof *w);
	snprintf(w->id, sizeof w->id, "W1");
	snprintf(w->org_id, sizeof w->org_id, "T1");
	snprintf(w->app_id, sizeof w->app_id, "%s", a->id);
	snprintf(w->channel_id, sizeof w->channel_id, "C1");
	ids_token_hash("secret", w->hash);
	w->created = 42;
	core_webhook_add(&s, w);
	store_put_webhook(job, w);
	/* A command registered, then dropped: gone on disk too. */
	app_command *tmp = xcalloc(1, sizeof *tmp);
	snprintf(tmp->org_id, sizeof tmp->org_id, "T1");
	snprintf(tmp->app_id, sizeof tmp->app_id, "%s", a->id);
	tmp->command = xstrdup("/gone");
	store_put_command(job, tmp);
	store_del_command(job, "T1", "/gone");
	free(tmp->command);
	free(tmp);
	int done = 0;
	store_submit(sto, job, done_cb, &done);
	assert_int_equal(done, 1);
	/* Revoking is an update of the same row. */
	w->revoked = true;
	job = store_job_new(sto);
	store_put_webhook(job, w);
	done = 0;
	store_submit(sto, job, done_cb, &done);
	assert_int_equal(done, 1);
	char app_id[ID_MAX];
	snprintf(app_id, sizeof app_id, "%s", a->id);
	core_state_release(&s);
	store_close(sto);

	sto = store_open(&cfg, NULL, err, sizeof err);
	assert_non_null(sto);
	core_state_init(&s);
	assert_int_equal(store_load(sto, &s), 0);
	a = core_app_get(&s, app_id);
	assert_non_null(a);
	assert_string_equal(a->name, "Wheatley");
	assert_string_equal(a->description, "FAQ");
	assert_string_equal(a->bot_events, "app_mention,message.channels");
	assert_string_equal(a->event_url, "https://x.test/e");
	assert_string_equal(a->interactivity_url, "https://x.test/i");
	assert_true(a->interactivity);
	assert_false(a->socket_mode);
	json_t *stored = load(a->manifest);
	assert_true(json_equal(stored, m));
	json_decref(stored);
	app_command *c = core_command_get(&s, "T1", "/wheatley");
	assert_non_null(c);
	assert_string_equal(c->app_id, app_id);
	assert_string_equal(c->description, "Ask");
	assert_true(c->should_escape);
	assert_null(core_command_get(&s, "T1", "/gone"));
	char hash[TOKEN_HASH_HEX];
	ids_token_hash("secret", hash);
	w = core_webhook_get(&s, hash);
	assert_non_null(w);
	assert_string_equal(w->id, "W1");
	assert_string_equal(w->channel_id, "C1");
	assert_string_equal(w->created_by, "");
	assert_int_equal(w->created, 42);
	assert_true(w->revoked);
	assert_string_equal(bot_token_of(&s, bt)->scopes, "chat:write,commands");
	core_state_release(&s);
	store_close(sto);
	json_decref(m);
	free(bt);
	free(at);
	nftw(dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	log_set_level(LOG_ERROR);
	if (ids_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_display_information),
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_scopes_events_settings),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_apply_and_export),
		cmocka_unit_test(test_export_without_manifest),
		cmocka_unit_test(test_store_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
