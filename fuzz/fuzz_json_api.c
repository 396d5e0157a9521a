/* libFuzzer harness for the whole Web API dispatcher without HTTP:
 * api_call (src/api/api_dispatch.c) with arbitrary arguments, through
 * authentication and scope checks into every handler's validation and
 * state changes (Block Kit checks of chat.postMessage included), the
 * store writes they queue, the events they emit and the answers they
 * render.
 *
 * Setup per input: a fresh hot state (core_state) holding a new
 * organisation made with the admin functions, with an owner ("alice"), a
 * member ("bob") and two bots in #general, one with the default scopes and
 * one with chat:write only. The store is opened without a loop (offline
 * mode: every job commits before store_submit returns, so api_call answers
 * before it returns) with synchronous=OFF, in a temporary directory that
 * is replaced every STORE_ROUNDS inputs to bound its size (opening one
 * costs ~10 ms, too much for every input); the ids of each input's
 * organisation, people and channels are fresh, so inputs do not see each
 * other's rows. The wall clock is frozen, so ts values repeat. Events go
 * to an in-process bus whose deliverer checks each one.
 *
 * Write-through check: on the first input of each fresh store (so on the
 * only input when a crasher is replayed), the store is loaded back into a
 * second hot state after the calls (store_load, as a restart does) and
 * every entity must be identical to the live one. A difference is a write
 * a handler made in memory but not on disk (or the reverse): what a
 * restart would lose.
 *
 * Input: up to MAX_CALLS records separated by NUL bytes. A record is a
 * method byte (index into api_methods), a caller byte (modulo 6: alice,
 * bob, bot, narrow bot, no token, unknown token) and the arguments: a
 * JSON object, or else a form-urlencoded string. A record that starts
 * with a lowercase letter names its method instead, for readable seeds
 * that survive changes to the method table: "chat.postMessage 2 <args>"
 * (the caller digit '0'..'5' is taken modulo 6 as well: '0' = alice,
 * '1' = bob, '2' = bot ...). Before parsing, placeholders are
 * replaced so that inputs can name what exists: $O org, $G #general, $U
 * alice, $V bob, $B the bot user, $C the last channel id an answer named,
 * $T the last ts, $S the last user group id, $A the last app id.
 *
 * Every answer must be a JSON object with a boolean "ok", and an error
 * answer must carry a known error name other than internal_error (which
 * would mean a handler let a store write fail, or hot state and store
 * disagree). */
#include <dirent.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "api/api.h"
#include "api/api_http.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "rt/bus.h"

#define MAX_CALLS 4
#define STORE_ROUNDS 64

typedef struct harness {
	char dir[64];
	store *st;
	unsigned rounds;
	bus *bus;
} harness;

static harness H;

typedef struct input_env {
	core_state s;
	api_env env;
	char *tokens[4];        /* alice, bob, bot, narrow bot */
	char org[ID_MAX], general[ID_MAX], alice[ID_MAX], bob[ID_MAX], botu[ID_MAX];
	char last_channel[ID_MAX], last_ts[32], last_group[ID_MAX], last_app[ID_MAX];
} input_env;

/* The store's directory holds only files. No system("rm -rf"): forking a
 * process with ASan's address space costs more than the fuzzing. */
static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		abort();
	struct dirent *e;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && unlinkat(dirfd(d), e->d_name, 0))
			abort();
	closedir(d);
	if (rmdir(dir))
		abort();
}

static void store_fresh(void)
{
	if (H.st) {
		store_close(H.st);
		rm_rf(H.dir);
	}
	snprintf(H.dir, sizeof H.dir, "/tmp/canal-fuzz-api-XXXXXX");
	if (!mkdtemp(H.dir))
		abort();
	store_cfg cfg = {.dir = H.dir, .sync = STORE_SYNC_OFF};
	char err[256];
	H.st = store_open(&cfg, NULL, err, sizeof err);
	if (!H.st) {
		fprintf(stderr, "fuzz_json_api: store_open: %s\n", err);
		abort();
	}
	H.rounds = 0;
}

static void at_exit(void)
{
	if (H.st) {
		store_close(H.st);
		H.st = NULL;
		rm_rf(H.dir);
	}
	bus_free(H.bus);
	H.bus = NULL;
}

/* The bus's deliverer: every event is a JSON object with a type. */
static void deliver(void *ud, const bus_msg *m)
{
	(void)ud;
	json_error_t je;
	json_t *e = json_loadb(m->json, m->len, 0, &je);
	if (!json_is_object(e) || !json_is_string(json_object_get(e, "type"))) {
		fprintf(stderr, "fuzz_json_api: bad event %.*s\n", (int)m->len, m->json);
		abort();
	}
	json_decref(e);
	if (m->mentions && !m->mention_json)
		abort();
}

static void commit_cb(void *ud, int err)
{
	*(int *)ud = err ? err : 1;
}

static void submit(store_job *j)
{
	int done = 0;
	store_submit(H.st, j, commit_cb, &done);
	if (done != 1) {
		fprintf(stderr, "fuzz_json_api: setup commit failed (%d)\n", done);
		abort();
	}
}

static void setup(input_env *ie)
{
	memset(ie, 0, sizeof *ie);
	core_state_init(&ie->s);
	ie->env = (api_env){.state = &ie->s, .store = H.st, .base_url = "http://canal.test",
			    .max_msg_chars = 4000, .bus = H.bus};
	admin_env ae = {.state = &ie->s, .store = H.st, .base_url = "http://canal.test"};
	store_job *j = store_job_new(H.st);
	org *o;
	user *alice, *bob;
	app *bot, *narrow;
	char *inv = NULL, *apptok = NULL;
	if (admin_org_create(&ae, j, "Fuzz Corp", NULL, &o) ||
	    admin_user_create(&ae, j, o->id, "alice", "alice@fuzz.test", NULL, "Alice", true, true,
			      &alice, &ie->tokens[0], &inv))
		abort();
	free(inv);
	inv = NULL;
	if (admin_user_create(&ae, j, o->id, "bob", "bob@fuzz.test", NULL, NULL, false, false, &bob,
			      &ie->tokens[1], &inv))
		abort();
	free(inv);
	if (admin_app_create(&ae, j, o->id, "fuzzbot", NULL, &bot, &ie->tokens[2], &apptok))
		abort();
	free(apptok);
	if (admin_app_create(&ae, j, o->id, "narrow", "chat:write", &narrow, &ie->tokens[3], &apptok))
		abort();
	free(apptok);
	/* The bots were invited to #general. */
	channel *g = core_channel_get(&ie->s, o->general_id);
	store_put_member(j, g->id, core_member_add(g, bot->bot_user_id, o->created));
	store_put_member(j, g->id, core_member_add(g, narrow->bot_user_id, o->created));
	submit(j);
	snprintf(ie->org, sizeof ie->org, "%s", o->id);
	snprintf(ie->general, sizeof ie->general, "%s", o->general_id);
	snprintf(ie->alice, sizeof ie->alice, "%s", alice->id);
	snprintf(ie->bob, sizeof ie->bob, "%s", bob->id);
	snprintf(ie->botu, sizeof ie->botu, "%s", bot->bot_user_id);
	snprintf(ie->last_channel, sizeof ie->last_channel, "%s", o->general_id);
	snprintf(ie->last_ts, sizeof ie->last_ts, "1700000000.000000");
}

/* ---- write-through check ---- */

static void s_(buf *b, const char *k, const char *v)
{
	buf_printf(b, " %s=%s", k, v ? v : "(null)");
}

static void i_(buf *b, const char *k, long long v)
{
	buf_printf(b, " %s=%lld", k, v);
}

/* Every persisted field of every entity, in key order. */
static void dump_state(core_state *cs, buf *b)
{
	size_t n;
	const char **keys = core_sorted_keys(&cs->orgs, &n);
	for (size_t i = 0; i < n; i++) {
		org *o = core_org_get(cs, keys[i]);
		buf_printf(b, "org %s", o->id);
		s_(b, "name", o->name), s_(b, "domain", o->domain), i_(b, "created", o->created);
		s_(b, "general", o->general_id);
		buf_addc(b, '\n');
	}
	free(keys);
	keys = core_sorted_keys(&cs->users, &n);
	for (size_t i = 0; i < n; i++) {
		user *u = core_user_get(cs, keys[i]);
		buf_printf(b, "user %s", u->id);
		s_(b, "org", u->org_id), s_(b, "name", u->name), s_(b, "real_name", u->real_name);
		s_(b, "display_name", u->display_name), s_(b, "email", u->email), s_(b, "title", u->title);
		s_(b, "phone", u->phone), s_(b, "tz", u->tz), s_(b, "status_text", u->status_text);
		s_(b, "status_emoji", u->status_emoji), s_(b, "avatar", u->avatar_hash);
		s_(b, "pw", u->pwhash), i_(b, "admin", u->is_admin), i_(b, "owner", u->is_owner);
		i_(b, "primary", u->is_primary_owner), i_(b, "bot", u->is_bot), i_(b, "deleted", u->deleted);
		s_(b, "bot_id", u->bot_id), s_(b, "app_id", u->app_id), i_(b, "created", u->created);
		i_(b, "updated", u->updated);
		buf_addc(b, '\n');
	}
	free(keys);
	keys = core_sorted_keys(&cs->channels, &n);
	for (size_t i = 0; i < n; i++) {
		channel *c = core_channel_get(cs, keys[i]);
		buf_printf(b, "channel %s", c->id);
		s_(b, "org", c->org_id), s_(b, "name", c->name), i_(b, "kind", c->kind);
		s_(b, "creator", c->creator), i_(b, "created", c->created), i_(b, "archived", c->archived);
		i_(b, "general", c->is_general), s_(b, "topic", c->topic), s_(b, "purpose", c->purpose);
		s_(b, "topic_creator", c->topic_creator), s_(b, "purpose_creator", c->purpose_creator);
		i_(b, "topic_set", c->topic_last_set), i_(b, "purpose_set", c->purpose_last_set);
		s_(b, "previous_names", c->previous_names), s_(b, "im_user", c->im_user);
		i_(b, "updated", c->updated);
		buf_addc(b, '\n');
		size_t nm;
		const char **mk = core_sorted_keys(&c->members, &nm);
		for (size_t k = 0; k < nm; k++) {
			chan_member *m = core_member_get(c, mk[k]);
			buf_printf(b, "  member %s", m->user_id);
			i_(b, "joined", m->joined), i_(b, "last_read", m->last_read), i_(b, "open", m->open);
			buf_addc(b, '\n');
		}
		free(mk);
	}
	free(keys);
	keys = core_sorted_keys(&cs->usergroups, &n);
	for (size_t i = 0; i < n; i++) {
		usergroup *g = core_usergroup_get(cs, keys[i]);
		buf_printf(b, "usergroup %s", g->id);
		s_(b, "org", g->org_id), s_(b, "name", g->name), s_(b, "handle", g->handle);
		s_(b, "description", g->description), s_(b, "created_by", g->created_by);
		s_(b, "updated_by", g->updated_by), s_(b, "deleted_by", g->deleted_by);
		i_(b, "date_create", g->date_create), i_(b, "date_update", g->date_update);
		i_(b, "date_delete", g->date_delete), s_(b, "users", g->users);
		s_(b, "channels", g->channels);
		buf_addc(b, '\n');
	}
	free(keys);
	keys = core_sorted_keys(&cs->apps, &n);
	for (size_t i = 0; i < n; i++) {
		app *a = core_app_get(cs, keys[i]);
		buf_printf(b, "app %s", a->id);
		s_(b, "org", a->org_id), s_(b, "name", a->name), s_(b, "bot_id", a->bot_id);
		s_(b, "bot_user", a->bot_user_id), s_(b, "scopes", a->scopes);
		i_(b, "created", a->created), i_(b, "updated", a->updated), i_(b, "deleted", a->deleted);
		s_(b, "signing_secret", a->signing_secret), s_(b, "vtoken", a->verification_token);
		s_(b, "manifest", a->manifest), s_(b, "description", a->description);
		s_(b, "bot_events", a->bot_events), s_(b, "event_url", a->event_url);
		s_(b, "interactivity_url", a->interactivity_url);
		i_(b, "interactivity", a->interactivity), i_(b, "socket_mode", a->socket_mode);
		buf_addc(b, '\n');
	}
	free(keys);
	keys = core_sorted_keys(&cs->commands, &n);
	for (size_t i = 0; i < n; i++) {
		app_command *c = map_get(&cs->commands, keys[i]);
		buf_printf(b, "command %s", keys[i]);
		s_(b, "org", c->org_id), s_(b, "command", c->command), s_(b, "app", c->app_id);
		s_(b, "url", c->url), s_(b, "description", c->description);
		s_(b, "usage_hint", c->usage_hint), i_(b, "escape", c->should_escape);
		buf_addc(b, '\n');
	}
	free(keys);
	keys = core_sorted_keys(&cs->webhooks, &n);
	for (size_t i = 0; i < n; i++) {
		webhook *w = map_get(&cs->webhooks, keys[i]);
		buf_printf(b, "webhook %s", w->id);
		s_(b, "org", w->org_id), s_(b, "app", w->app_id), s_(b, "channel", w->channel_id);
		s_(b, "hash", w->hash), s_(b, "created_by", w->created_by), i_(b, "created", w->created);
		i_(b, "revoked", w->revoked);
		buf_addc(b, '\n');
	}
	free(keys);
	keys = core_sorted_keys(&cs->tokens, &n);
	for (size_t i = 0; i < n; i++) {
		token *t = core_token_get(cs, keys[i]);
		buf_printf(b, "token %s", t->hash);
		i_(b, "kind", t->kind), s_(b, "org", t->org_id), s_(b, "user", t->user_id);
		s_(b, "app", t->app_id), s_(b, "scopes", t->scopes), i_(b, "created", t->created);
		i_(b, "expires", t->expires), i_(b, "revoked", t->revoked);
		buf_addc(b, '\n');
	}
	free(keys);
}

static void check_write_through(input_env *ie)
{
	core_state disk;
	core_state_init(&disk);
	if (store_load(H.st, &disk) != 0)
		abort();
	buf live = BUF_INIT, loaded = BUF_INIT;
	dump_state(&ie->s, &live);
	dump_state(&disk, &loaded);
	if (live.len != loaded.len || memcmp(live.data, loaded.data, live.len) != 0) {
		fprintf(stderr, "fuzz_json_api: hot state and store differ after the calls\n"
				"--- in memory\n%s--- loaded from the store\n%s", live.data, loaded.data);
		abort();
	}
	buf_release(&live);
	buf_release(&loaded);
	core_state_release(&disk);
}

static void teardown(input_env *ie)
{
	for (size_t i = 0; i < 4; i++)
		free(ie->tokens[i]);
	core_state_release(&ie->s);
}

/* Replaces $X placeholders (see the top of the file). */
static char *expand(input_env *ie, const char *p, size_t n)
{
	buf b = BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		const char *v = NULL;
		if (p[i] == '$' && i + 1 < n) {
			switch (p[i + 1]) {
			case 'O': v = ie->org; break;
			case 'G': v = ie->general; break;
			case 'U': v = ie->alice; break;
			case 'V': v = ie->bob; break;
			case 'B': v = ie->botu; break;
			case 'C': v = ie->last_channel; break;
			case 'T': v = ie->last_ts; break;
			case 'S': v = ie->last_group; break;
			case 'A': v = ie->last_app; break;
			}
		}
		if (v) {
			buf_adds(&b, v);
			i++;
		} else {
			buf_addc(&b, p[i]);
		}
	}
	buf_add(&b, "", 0);
	return buf_detach(&b, NULL);
}

static void remember(char *dst, size_t cap, json_t *v)
{
	const char *s = json_string_value(v);
	if (s && *s && strlen(s) < cap)
		snprintf(dst, cap, "%s", s);
}

typedef struct answer {
	int called;
	json_t *json;
} answer;

static void answer_cb(void *ud, json_t *a, int status)
{
	answer *an = ud;
	(void)status;
	an->called++;
	an->json = a;
}

static void call_one(input_env *ie, const uint8_t *rec, size_t n)
{
	char name[64];
	const char *method;
	unsigned who;
	size_t skip;
	const uint8_t *sp = rec[0] >= 'a' && rec[0] <= 'z' ? memchr(rec, ' ', n) : NULL;
	if (sp && (size_t)(sp - rec) < sizeof name && (size_t)(sp - rec) + 2 <= n) {
		/* Text form: "chat.postMessage 2 channel=$G&text=hi". */
		size_t k = (size_t)(sp - rec);
		memcpy(name, rec, k);
		name[k] = '\0';
		method = name;
		who = sp[1] % 6;
		skip = k + 2 + (k + 2 < n && sp[2] == ' ');
	} else {
		if (n < 2)
			return;
		method = rec[0] == 0xff ? "no.such.method" : api_methods[rec[0] % api_nmethods].name;
		who = rec[1] % 6;
		skip = 2;
	}
	static const char bogus[] = "xoxb-0-0-notatoken";
	const char *tok = who < 4 ? ie->tokens[who] : who == 4 ? NULL : bogus;
	char *text = expand(ie, (const char *)rec + skip, n - skip);
	size_t tlen = strlen(text);
	json_error_t je;
	json_t *args = json_loadb(text, tlen, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(args)) {
		json_decref(args);
		args = json_object();
		if (api_form_parse(text, tlen, args) != 0)
			json_object_clear(args);
	}
	free(text);
	answer an = {0};
	api_call(&ie->env, method, args, tok, answer_cb, &an);
	json_decref(args);
	if (an.called != 1) {
		fprintf(stderr, "fuzz_json_api: %s answered %d times before returning\n", method,
			an.called);
		abort();
	}
	json_t *a = an.json;
	json_t *ok = json_object_get(a, "ok");
	if (!json_is_object(a) || !json_is_boolean(ok)) {
		fprintf(stderr, "fuzz_json_api: %s: answer without a boolean ok\n", method);
		abort();
	}
	char *dump = json_dumps(a, JSON_COMPACT);
	if (!dump)
		abort();
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "%s (caller %u) -> %s\n", method, who, dump);
	if (!json_is_true(ok)) {
		const char *e = json_string_value(json_object_get(a, "error"));
		/* api.test answers with the error it was given. */
		bool echo = strcmp(method, "api.test") == 0;
		if (!e || (!echo && !err_from_name(e)) || strcmp(e, "internal_error") == 0) {
			fprintf(stderr, "fuzz_json_api: %s: bad error answer %s\n", method, dump);
			abort();
		}
	}
	free(dump);
	/* What later calls of this input may name. */
	json_t *ch = json_object_get(a, "channel");
	if (json_is_object(ch))
		ch = json_object_get(ch, "id");
	remember(ie->last_channel, sizeof ie->last_channel, ch);
	remember(ie->last_ts, sizeof ie->last_ts, json_object_get(a, "ts"));
	remember(ie->last_app, sizeof ie->last_app, json_object_get(a, "app_id"));
	json_t *g = json_object_get(a, "usergroup");
	if (json_is_object(g))
		remember(ie->last_group, sizeof ie->last_group, json_object_get(g, "id"));
	json_decref(a);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	/* SQLite's page cache in a static pool instead of malloc: the cache
	 * grows with the database across inputs, and every input that leaves
	 * more mallocs than frees makes libFuzzer re-run it under a full
	 * LeakSanitizer scan (5x slower overall). Only the allocator of the
	 * cache changes; the store's code and SQL are the same. */
	static char pagecache[4096 * 1024] __attribute__((aligned(8)));
	int hdr = 0;
	sqlite3_config(SQLITE_CONFIG_PCACHE_HDRSZ, &hdr);
	int sz = 4096 + hdr;
	sqlite3_config(SQLITE_CONFIG_PAGECACHE, pagecache, sz, (int)(sizeof pagecache / (size_t)sz));
	if (ids_init() != 0)
		abort();
	clock_set_fake(1700000000LL * 1000000);
	H.bus = bus_local_new(deliver, NULL);
	store_fresh();
	atexit(at_exit);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	if (H.rounds >= STORE_ROUNDS)
		store_fresh();
	bool check = H.rounds++ == 0;
	input_env ie;
	setup(&ie);
	const uint8_t *p = in, *end = in + size;
	for (int k = 0; k < MAX_CALLS && p < end; k++) {
		const uint8_t *z = memchr(p, '\0', (size_t)(end - p));
		size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
		call_one(&ie, p, n);
		p += n + 1;
	}
	if (check)
		check_write_through(&ie);
	teardown(&ie);
	return 0;
}
