/* The apps runtime, in-process: subscription matching and scope rules
 * against hot state built here, event_callback envelopes, the bounded
 * queue, Socket Mode (hello, envelopes, acks, retries, refresh, the
 * connection limit), Events API over HTTP (signing, retries, in-flight
 * bound, backoff) and interactive dispatch.
 *
 * Fakes: this file defines the ws_* functions the apps code uses (and
 * http_respond) and fetch_post / fetch_slack_signature, so the linker
 * takes these instead of libcanal.a's ws.o, http.o and fetch.o. Fake
 * sockets record the text frames queued to them; fake fetches record the
 * requests and are answered by the test. Time is the apps' fake loop time
 * (a->fake_now_ms) and the tick is called by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "rt/apps_internal.h"

/* ---- fake ws ---- */

#define MAXF 256

struct ws_conn {
	void *ud;
	const ws_callbacks *cb;
	char *frames[MAXF];
	size_t nframes;
	bool closing;
	int close_code;
	bool fail_send;
};

static struct {
	ws_conn *conns[64];
	size_t nconns;
	int status;
	char body[256];
} fk;

int ws_send_text(ws_conn *c, const char *msg, size_t len)
{
	if (c->closing || c->fail_send)
		return -1;
	assert_true(c->nframes < MAXF);
	c->frames[c->nframes++] = xstrndup(msg, len);
	return 0;
}

/* A whole frame (the envelopes are framed by the apps code): its text. */
int ws_send(ws_conn *c, ws_frame *f)
{
	size_t hl = (f->data[1] & 0x7f) < 126 ? 2 : (f->data[1] & 0x7f) == 126 ? 4 : 10;
	if (!f->blob[0])
		return ws_send_text(c, (const char *)f->data + hl, f->len - hl);
	/* A frame with spliced blobs: its bytes in wire order. */
	char *flat = xmalloc(f->len);
	ws_frame_copy(f, 0, f->len, flat);
	int rc = ws_send_text(c, flat + hl, f->len - hl);
	free(flat);
	return rc;
}

void ws_close(ws_conn *c, int code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_code = code;
}

ws_conn *ws_accept(ws_ctx *x, http_req *req, const ws_callbacks *cb, void *ud)
{
	ws_conn *c = xcalloc(1, sizeof *c);
	c->cb = cb;
	c->ud = ud;
	fk.conns[fk.nconns++] = c;
	fk.status = 101;
	return c;
}

void *ws_conn_ud(const ws_conn *c)
{
	return c->ud;
}

void ws_conn_set_ud(ws_conn *c, void *ud)
{
	c->ud = ud;
}

void http_respond(http_req *r, int status, const char *content_type, const char *extra_headers,
		  const void *body, size_t len)
{
	fk.status = status;
	snprintf(fk.body, sizeof fk.body, "%.*s", (int)len, (const char *)body);
}

/* The peer closed (or the ws layer finished our close). */
static void fake_closed(ws_conn *c)
{
	c->closing = true;
	c->cb->on_close(c, 1000, c->ud);
}

static void fake_client_send(ws_conn *c, const char *text)
{
	c->cb->on_message(c, text, strlen(text), c->ud);
}

static json_t *frame_json(const ws_conn *c, size_t i)
{
	assert_true(i < c->nframes);
	json_error_t e;
	json_t *j = json_loads(c->frames[i], 0, &e);
	assert_non_null(j);
	return j;
}

static void fake_reset(void)
{
	for (size_t i = 0; i < fk.nconns; i++) {
		for (size_t k = 0; k < fk.conns[i]->nframes; k++)
			free(fk.conns[i]->frames[k]);
		free(fk.conns[i]);
	}
	memset(&fk, 0, sizeof fk);
}

/* ---- fake fetch ---- */

typedef struct freq {
	char *url, *content_type, *body;
	size_t len;
	char *headers[8];
	int nheaders;
	int timeout_ms;
	fetch_cb cb;
	void *ud;
	bool answered;
} freq;

static struct {
	freq r[256];
	int n;
} ff;

void fetch_post(fetch_ctx *x, const char *url, const char *content_type,
		const char *const *headers, const char *body, size_t len, int timeout_ms, fetch_cb cb,
		void *ud)
{
	assert_true(ff.n < 256);
	freq *q = &ff.r[ff.n++];
	memset(q, 0, sizeof *q);
	q->url = xstrdup(url);
	q->content_type = xstrdup(content_type);
	q->body = xstrndup(body, len);
	q->len = len;
	for (int i = 0; headers && headers[i]; i++)
		q->headers[q->nheaders++] = xstrdup(headers[i]);
	q->timeout_ms = timeout_ms;
	q->cb = cb;
	q->ud = ud;
}

void fetch_slack_signature(const char *secret, long long timestamp, const char *body, size_t len,
			   char out[68])
{
	buf b = BUF_INIT;
	buf_printf(&b, "v0:%lld:", timestamp);
	buf_add(&b, body, len);
	unsigned char mac[32];
	unsigned int ml = 0;
	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)b.data, b.len, mac, &ml);
	buf_release(&b);
	strcpy(out, "v0=");
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 3 + 2 * i, "%02x", mac[i]);
}

static const char *fheader(const freq *q, const char *name)
{
	size_t n = strlen(name);
	for (int i = 0; i < q->nheaders; i++)
		if (!strncasecmp(q->headers[i], name, n) && q->headers[i][n] == ':')
			return q->headers[i] + n + 2;
	return NULL;
}

static void fanswer(int i, int status, const char *err, const char *ctype, const char *body)
{
	freq *q = &ff.r[i];
	assert_false(q->answered);
	q->answered = true;
	fetch_result r = {.status = status, .err = err, .body = body ? body : "",
			  .body_len = body ? strlen(body) : 0, .content_type = ctype};
	q->cb(q->ud, &r);
}

static void ff_reset(void)
{
	for (int i = 0; i < ff.n; i++) {
		free(ff.r[i].url);
		free(ff.r[i].content_type);
		free(ff.r[i].body);
		for (int k = 0; k < ff.r[i].nheaders; k++)
			free(ff.r[i].headers[k]);
	}
	memset(&ff, 0, sizeof ff);
}

/* ---- fixture ---- */

typedef struct fx {
	core_state st;
	bus *b;
	apps *a;
	app *bot;            /* T1, bot user UBOT, all read scopes, message.* + app_mention */
	channel *pub, *pub2, *priv, *im;
} fx;

static user *mk_user(fx *f, const char *id, const char *org_id)
{
	user *u = core_user_new(id, org_id);
	core_user_add(&f->st, u);
	return u;
}

static app *mk_app(fx *f, const char *id, const char *bot_user, const char *events,
		   const char *scopes)
{
	app *ap = core_app_new(id, "T1");
	ap->name = xstrdup(id);
	snprintf(ap->bot_user_id, sizeof ap->bot_user_id, "%s", bot_user);
	snprintf(ap->bot_id, sizeof ap->bot_id, "B%s", id + 1);
	ap->scopes = xstrdup(scopes);
	ap->bot_events = xstrdup(events);
	ap->signing_secret = xstrdup("test-signing-secret-123");
	ap->verification_token = xstrdup("vtok");
	ap->socket_mode = true;
	core_app_add(&f->st, ap);
	user *u = mk_user(f, bot_user, "T1");
	u->is_bot = true;
	return ap;
}

#define ALL_READ                                                                               \
	"channels:history,groups:history,im:history,mpim:history,app_mentions:read,"           \
	"reactions:read,channels:read,groups:read,pins:read,users:read"

static int setup(void **state)
{
	fx *f = xcalloc(1, sizeof *f);
	fake_reset();
	ff_reset();
	clock_set_fake(1700000000LL * 1000000);
	core_state_init(&f->st);
	core_org_add(&f->st, core_org_new("T1"));
	core_org_add(&f->st, core_org_new("T2"));
	mk_user(f, "UA", "T1");
	mk_user(f, "UB", "T1");
	f->bot = mk_app(f, "AONE", "UBOT",
			"message.channels,message.groups,message.im,message.mpim,app_mention,"
			"reaction_added,member_joined_channel,channel_created,user_change",
			ALL_READ);
	f->pub = core_channel_new("CPUB", "T1", CHAN_PUBLIC);
	f->pub->name = xstrdup("general");
	core_channel_add(&f->st, f->pub);
	core_member_add(f->pub, "UA", 1);
	core_member_add(f->pub, "UBOT", 1);
	f->pub2 = core_channel_new("CPUB2", "T1", CHAN_PUBLIC);
	f->pub2->name = xstrdup("random");
	core_channel_add(&f->st, f->pub2);
	core_member_add(f->pub2, "UA", 1);
	f->priv = core_channel_new("CPRIV", "T1", CHAN_PRIVATE);
	f->priv->name = xstrdup("secret");
	core_channel_add(&f->st, f->priv);
	core_member_add(f->priv, "UA", 1);
	f->im = core_channel_new("DIM", "T1", CHAN_IM);
	core_channel_add(&f->st, f->im);
	core_member_add(f->im, "UA", 1);
	core_member_add(f->im, "UBOT", 1);
	f->b = bus_local_new(NULL, NULL);
	f->a = apps_new(NULL, &f->st, (ws_ctx *)f, (fetch_ctx *)f, f->b, "http://127.0.0.1:9/");
	f->a->fake_now_ms = 1000000;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	apps_free(f->a);
	/* What fetch_ctx_free does: every request still in flight hears
	 * "shutdown". */
	for (int i = 0; i < ff.n; i++)
		if (!ff.r[i].answered)
			fanswer(i, 0, "shutdown", NULL, NULL);
	bus_free(f->b);
	core_state_release(&f->st);
	fake_reset();
	ff_reset();
	clock_set_fake(0);
	free(f);
	return 0;
}

/* Publishes a channel event (through the bus, as the API does). */
static void pub_chan(fx *f, const channel *ch, const char *json)
{
	bus_msg m = {.scope = BUS_CHANNEL, .json = json, .len = strlen(json)};
	snprintf(m.org_id, sizeof m.org_id, "%s", ch->org_id);
	snprintf(m.channel_id, sizeof m.channel_id, "%s", ch->id);
	bus_publish(f->b, &m);
}

static void pub_org(fx *f, const char *json)
{
	bus_msg m = {.scope = BUS_ORG, .json = json, .len = strlen(json)};
	snprintf(m.org_id, sizeof m.org_id, "T1");
	bus_publish(f->b, &m);
}

static apps_app *entry(fx *f, const app *ap)
{
	return map_get(&f->a->entries, ap->id);
}

static size_t queued(fx *f, const app *ap)
{
	apps_app *e = entry(f, ap);
	return e ? e->queue.n : 0;
}

/* The inner event of the n-th queued envelope of ap (new reference). */
static json_t *queued_env(fx *f, const app *ap, size_t n)
{
	apps_app *e = entry(f, ap);
	assert_non_null(e);
	apps_item *it = e->queue.head;
	for (size_t i = 0; i < n; i++)
		it = it->next;
	assert_non_null(it);
	json_error_t err;
	size_t blen;
	const char *body = apps__item_body(it, &blen);
	json_t *j = json_loadb(body, blen, 0, &err);
	assert_non_null(j);
	return j;
}

static const char *jstr(json_t *o, const char *path)
{
	/* "a.b" paths, objects only */
	char key[64];
	const char *dot;
	while ((dot = strchr(path, '.'))) {
		snprintf(key, sizeof key, "%.*s", (int)(dot - path), path);
		o = json_object_get(o, key);
		path = dot + 1;
	}
	return json_string_value(json_object_get(o, path));
}

#define MSG(ch, user, text)                                                                   \
	"{\"type\":\"message\",\"user\":\"" user "\",\"text\":\"" text                          \
	"\",\"ts\":\"1700000000.000100\",\"channel\":\"" ch "\",\"event_ts\":\"1700000000.000100\","\
	"\"channel_type\":\"channel\"}"

/* ---- names ---- */

static void test_parse(void **state)
{
	assert_int_equal(apps__parse_subs("message.channels, app_mention,bogus"),
			 SUB_MSG_CHANNELS | SUB_APP_MENTION);
	assert_int_equal(apps__parse_subs(NULL), 0);
	assert_int_equal(apps__parse_scopes("chat:write,channels:history,users:read"),
			 SC_CHANNELS_HISTORY | SC_USERS_READ);
	assert_int_equal(apps__parse_scopes("*"), ~0u);
}

/* ---- matching ---- */

/* The app's opening is JSON like any other: a token that needs escaping
 * comes out whole (ids and tokens never do in practice). */
static void test_envelope_escapes(void **state)
{
	fx *f = *state;
	xstrset(&f->bot->verification_token, "v\"t\\ok\n");
	apps_app_changed(f->a, f->bot);
	pub_chan(f, f->pub, MSG("CPUB", "UA", "hello"));
	assert_int_equal(queued(f, f->bot), 1);
	json_t *env = queued_env(f, f->bot, 0);
	assert_string_equal(jstr(env, "token"), "v\"t\\ok\n");
	assert_string_equal(jstr(env, "event_context"), "4-T1-AONE-message-CPUB");
	assert_string_equal(jstr(env, "event.text"), "hello");
	json_decref(env);
}

static void test_message_member_public(void **state)
{
	fx *f = *state;
	pub_chan(f, f->pub, MSG("CPUB", "UA", "hello"));
	assert_int_equal(queued(f, f->bot), 1);
	json_t *env = queued_env(f, f->bot, 0);
	/* The event_callback envelope, field by field. */
	assert_string_equal(jstr(env, "type"), "event_callback");
	assert_string_equal(jstr(env, "token"), "vtok");
	assert_string_equal(jstr(env, "team_id"), "T1");
	assert_string_equal(jstr(env, "api_app_id"), "AONE");
	assert_string_equal(jstr(env, "event.type"), "message");
	assert_string_equal(jstr(env, "event.text"), "hello");
	assert_string_equal(jstr(env, "event.channel"), "CPUB");
	assert_string_equal(jstr(env, "event.channel_type"), "channel");
	assert_int_equal(strncmp(jstr(env, "event_id"), "Ev", 2), 0);
	assert_true(json_is_integer(json_object_get(env, "event_time")));
	assert_int_equal(json_integer_value(json_object_get(env, "event_time")), 1700000000);
	json_t *au = json_array_get(json_object_get(env, "authorizations"), 0);
	assert_non_null(au);
	assert_true(json_is_null(json_object_get(au, "enterprise_id")));
	assert_string_equal(jstr(au, "team_id"), "T1");
	assert_string_equal(jstr(au, "user_id"), "UBOT");
	assert_true(json_is_true(json_object_get(au, "is_bot")));
	assert_true(json_is_false(json_object_get(au, "is_enterprise_install")));
	assert_true(json_is_false(json_object_get(env, "is_ext_shared_channel")));
	assert_non_null(jstr(env, "event_context"));
	/* Byte for byte: the app's opening, the event's shared middle, its
	 * event_id, the inner event last. */
	apps_item *it = entry(f, f->bot)->queue.head;
	size_t blen;
	const char *body = apps__item_body(it, &blen);
	char *ref = xasprintf(
		"{\"token\":\"vtok\",\"team_id\":\"T1\",\"api_app_id\":\"AONE\",\"authorizations\":"
		"[{\"enterprise_id\":null,\"team_id\":\"T1\",\"user_id\":\"UBOT\",\"is_bot\":true,"
		"\"is_enterprise_install\":false}],\"is_ext_shared_channel\":false,\"event_context\":"
		"\"4-T1-AONE-message-CPUB\",\"type\":\"event_callback\",\"event_time\":1700000000,"
		"\"event_id\":\"%s\",\"event\":%s}",
		jstr(env, "event_id"), MSG("CPUB", "UA", "hello"));
	assert_int_equal(strlen(ref), blen);
	assert_memory_equal(ref, body, blen);
	assert_string_equal(jstr(env, "event_context"), "4-T1-AONE-message-CPUB");
	free(ref);
	json_decref(env);
	/* The bot's own messages are delivered too (Bolt's ignoreSelf drops them). */
	pub_chan(f, f->pub, MSG("CPUB", "UBOT", "my own"));
	assert_int_equal(queued(f, f->bot), 2);
	/* Hidden subtypes follow the same message.* rule. */
	pub_chan(f, f->pub,
		 "{\"type\":\"message\",\"subtype\":\"message_changed\",\"hidden\":true,"
		 "\"channel\":\"CPUB\",\"ts\":\"1.000002\",\"message\":{\"text\":\"x\"}}");
	assert_int_equal(queued(f, f->bot), 3);
}

static void test_message_not_member(void **state)
{
	fx *f = *state;
	pub_chan(f, f->pub2, MSG("CPUB2", "UA", "hello"));
	pub_chan(f, f->priv, MSG("CPRIV", "UA", "secret stuff"));
	assert_int_equal(queued(f, f->bot), 0);
	/* Joins the private channel: message.groups. */
	core_member_add(f->priv, "UBOT", 2);
	pub_chan(f, f->priv, MSG("CPRIV", "UA", "now you see it"));
	assert_int_equal(queued(f, f->bot), 1);
	/* The IM: message.im. */
	pub_chan(f, f->im, MSG("DIM", "UA", "psst"));
	assert_int_equal(queued(f, f->bot), 2);
	/* Another org's channel with the same bot id in it: nothing. */
	channel *other = core_channel_new("COTHER", "T2", CHAN_PUBLIC);
	core_channel_add(&f->st, other);
	core_member_add(other, "UBOT", 1);
	pub_chan(f, other, MSG("COTHER", "UA", "elsewhere"));
	assert_int_equal(queued(f, f->bot), 2);
}

static void test_missing_scope(void **state)
{
	fx *f = *state;
	/* Subscribed, a member, but without channels:history. */
	app *noscope = mk_app(f, "ANOSCOPE", "UNOSCOPE", "message.channels,app_mention,reaction_added",
			      "chat:write,channels:read");
	core_member_add(f->pub, "UNOSCOPE", 1);
	pub_chan(f, f->pub, MSG("CPUB", "UA", "hello <@UNOSCOPE>"));
	pub_chan(f, f->pub,
		 "{\"type\":\"reaction_added\",\"user\":\"UA\",\"reaction\":\"x\","
		 "\"item\":{\"type\":\"message\",\"channel\":\"CPUB\",\"ts\":\"1.000001\"}}");
	assert_int_equal(queued(f, noscope), 0);
	/* Not subscribed to private messages although it has the scope. */
	app *pubonly = mk_app(f, "APUBONLY", "UPUBONLY", "message.channels",
			      "channels:history,groups:history");
	core_member_add(f->priv, "UPUBONLY", 1);
	pub_chan(f, f->priv, MSG("CPRIV", "UA", "hidden"));
	assert_int_equal(queued(f, pubonly), 0);
	/* A deleted app gets nothing. */
	core_member_add(f->pub, "UPUBONLY", 1);
	pubonly->deleted = true;
	apps_app_changed(f->a, pubonly);
	pub_chan(f, f->pub, MSG("CPUB", "UA", "hi"));
	assert_int_equal(queued(f, pubonly), 0);
}

static void test_app_mention(void **state)
{
	fx *f = *state;
	/* A member: the message and the app_mention. */
	pub_chan(f, f->pub, MSG("CPUB", "UA", "<@UBOT> help"));
	assert_int_equal(queued(f, f->bot), 2);
	json_t *e1 = queued_env(f, f->bot, 0), *e2 = queued_env(f, f->bot, 1);
	assert_string_equal(jstr(e1, "event.type"), "message");
	assert_string_equal(jstr(e2, "event.type"), "app_mention");
	assert_string_equal(jstr(e2, "event.text"), "<@UBOT> help");
	assert_string_equal(jstr(e2, "event.user"), "UA");
	assert_string_equal(jstr(e2, "event.channel"), "CPUB");
	assert_null(json_object_get(json_object_get(e2, "event"), "channel_type"));
	assert_string_not_equal(jstr(e1, "event_id"), jstr(e2, "event_id"));
	json_decref(e1);
	json_decref(e2);
	/* A public channel the bot is not in: app_mention only. */
	pub_chan(f, f->pub2, MSG("CPUB2", "UA", "hey <@UBOT|bot> there"));
	assert_int_equal(queued(f, f->bot), 3);
	json_t *e3 = queued_env(f, f->bot, 2);
	assert_string_equal(jstr(e3, "event.type"), "app_mention");
	json_decref(e3);
	/* A private channel it is not in: nothing. */
	pub_chan(f, f->priv, MSG("CPRIV", "UA", "<@UBOT> psst"));
	/* A prefix of the id is not a mention; system messages never are. */
	pub_chan(f, f->pub2, MSG("CPUB2", "UA", "<@UBOTX> no"));
	pub_chan(f, f->pub2,
		 "{\"type\":\"message\",\"subtype\":\"channel_join\",\"user\":\"UBOT\","
		 "\"text\":\"<@UBOT> has joined the channel\",\"channel\":\"CPUB2\",\"ts\":\"1.1\"}");
	assert_int_equal(queued(f, f->bot), 3);
}

static void test_mentioned_stripped(void **state)
{
	fx *f = *state;
	const char *js = "{\"type\":\"message\",\"user\":\"UA\",\"text\":\"x\",\"channel\":\"CPUB\","
			 "\"ts\":\"1.000001\",\"mentioned\":true}";
	pub_chan(f, f->pub, js);
	assert_int_equal(queued(f, f->bot), 1);
	json_t *e = queued_env(f, f->bot, 0);
	assert_null(json_object_get(json_object_get(e, "event"), "mentioned"));
	assert_string_equal(jstr(e, "event.text"), "x");
	json_decref(e);
}

static void test_other_events(void **state)
{
	fx *f = *state;
	/* reaction_added in a channel the bot is in; not in one it is not in. */
	pub_chan(f, f->pub,
		 "{\"type\":\"reaction_added\",\"user\":\"UA\",\"reaction\":\"x\","
		 "\"item\":{\"type\":\"message\",\"channel\":\"CPUB\",\"ts\":\"1.000001\"}}");
	pub_chan(f, f->pub2,
		 "{\"type\":\"reaction_added\",\"user\":\"UA\",\"reaction\":\"x\","
		 "\"item\":{\"type\":\"message\",\"channel\":\"CPUB2\",\"ts\":\"1.000001\"}}");
	assert_int_equal(queued(f, f->bot), 1);
	/* Not subscribed: reaction_removed, pin_added. */
	pub_chan(f, f->pub, "{\"type\":\"reaction_removed\",\"user\":\"UA\",\"reaction\":\"x\"}");
	pub_chan(f, f->pub, "{\"type\":\"pin_added\",\"user\":\"UA\",\"channel_id\":\"CPUB\"}");
	assert_int_equal(queued(f, f->bot), 1);
	/* member_joined_channel. */
	pub_chan(f, f->pub,
		 "{\"type\":\"member_joined_channel\",\"user\":\"UB\",\"channel\":\"CPUB\","
		 "\"channel_type\":\"C\",\"team\":\"T1\"}");
	assert_int_equal(queued(f, f->bot), 2);
	/* Org-wide: channel_created (channels:read), user_change (users:read). */
	pub_org(f, "{\"type\":\"channel_created\",\"channel\":{\"id\":\"CNEW\",\"name\":\"new\"}}");
	pub_org(f, "{\"type\":\"user_change\",\"user\":{\"id\":\"UA\"}}");
	/* Never: per-user and unsubscribed org events. */
	pub_org(f, "{\"type\":\"channel_rename\",\"channel\":{\"id\":\"CPUB\",\"name\":\"n\"}}");
	pub_org(f, "{\"type\":\"subteam_created\",\"subteam\":{}}");
	bus_msg m = {.scope = BUS_USER, .json = "{\"type\":\"channel_joined\"}", .len = 25};
	snprintf(m.org_id, sizeof m.org_id, "T1");
	snprintf(m.user_id, sizeof m.user_id, "UBOT");
	bus_publish(f->b, &m);
	assert_int_equal(queued(f, f->bot), 4);
	json_t *e = queued_env(f, f->bot, 2);
	assert_string_equal(jstr(e, "event.type"), "channel_created");
	json_decref(e);
}

static void test_unreachable_not_queued(void **state)
{
	fx *f = *state;
	f->bot->socket_mode = false;
	pub_chan(f, f->pub, MSG("CPUB", "UA", "hello"));
	assert_int_equal(queued(f, f->bot), 0);
}

static void test_queue_bound(void **state)
{
	fx *f = *state;
	for (int i = 0; i < APPS_QUEUE_MAX + 5; i++) {
		char js[256];
		snprintf(js, sizeof js,
			 "{\"type\":\"message\",\"user\":\"UA\",\"text\":\"n%d\",\"channel\":\"CPUB\","
			 "\"ts\":\"1.%06d\"}",
			 i, i);
		pub_chan(f, f->pub, js);
	}
	apps_app *e = entry(f, f->bot);
	assert_int_equal(e->queue.n, APPS_QUEUE_MAX);
	assert_int_equal(e->dropped, 5);
	json_t *first = queued_env(f, f->bot, 0);
	assert_string_equal(jstr(first, "event.text"), "n5");
	json_decref(first);
	json_t *st = apps_status(f->a, f->bot);
	assert_int_equal(json_integer_value(json_object_get(st, "queued")), APPS_QUEUE_MAX);
	assert_int_equal(json_integer_value(json_object_get(st, "dropped")), 5);
	assert_true(json_is_string(json_object_get(st, "last_error")));
	json_decref(st);
}

/* ---- Socket Mode ---- */

/* Opens a connection for ap through a ticket; returns the fake socket. */
static ws_conn *connect_app(fx *f, const app *ap)
{
	char *url = apps_socket_url(f->a, ap);
	assert_non_null(url);
	assert_int_equal(strncmp(url, "ws://127.0.0.1:9/link/?ticket=", 30), 0);
	char *q = strchr(url, '?') + 1;
	http_req req = {.method = "GET", .query = q};
	size_t before = fk.nconns;
	apps_handle_upgrade(f->a, &req);
	free(url);
	if (fk.nconns == before)
		return NULL;
	return fk.conns[fk.nconns - 1];
}

static void ack(ws_conn *c, const char *envelope_id, const char *payload)
{
	char *m = xasprintf("{\"envelope_id\":\"%s\"%s%s}", envelope_id, payload ? ",\"payload\":" : "",
			    payload ? payload : "");
	fake_client_send(c, m);
	free(m);
}

static void test_socket_hello_events_ack(void **state)
{
	fx *f = *state;
	pub_chan(f, f->pub, MSG("CPUB", "UA", "queued before connect"));
	ws_conn *c = connect_app(f, f->bot);
	assert_non_null(c);
	assert_true(c->nframes >= 2);
	json_t *hello = frame_json(c, 0);
	assert_string_equal(jstr(hello, "type"), "hello");
	assert_int_equal(json_integer_value(json_object_get(hello, "num_connections")), 1);
	assert_string_equal(jstr(hello, "connection_info.app_id"), "AONE");
	assert_string_equal(jstr(hello, "debug_info.host"), "canal");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(hello, "debug_info"),
							    "approximate_connection_time")),
			 3600);
	json_decref(hello);
	/* The queued event arrives right after hello. */
	json_t *env = frame_json(c, 1);
	assert_string_equal(jstr(env, "type"), "events_api");
	assert_true(json_is_false(json_object_get(env, "accepts_response_payload")));
	assert_int_equal(json_integer_value(json_object_get(env, "retry_attempt")), 0);
	assert_string_equal(jstr(env, "retry_reason"), "");
	assert_string_equal(jstr(env, "payload.type"), "event_callback");
	assert_string_equal(jstr(env, "payload.event.text"), "queued before connect");
	assert_int_equal(strlen(jstr(env, "envelope_id")), 36);
	ack(c, jstr(env, "envelope_id"), "{}");
	json_decref(env);
	apps_app *e = entry(f, f->bot);
	assert_int_equal(e->delivered, 1);
	assert_int_equal(e->npending, 0);
	/* A new event goes out at once. */
	pub_chan(f, f->pub, MSG("CPUB", "UA", "live"));
	assert_int_equal(c->nframes, 3);
	env = frame_json(c, 2);
	/* Garbage and unknown envelope ids are ignored. */
	fake_client_send(c, "not json");
	fake_client_send(c, "{\"envelope_id\":\"nope\",\"payload\":{}}");
	fake_client_send(c, "{\"type\":\"something\"}");
	assert_int_equal(e->npending, 1);
	ack(c, jstr(env, "envelope_id"), NULL);
	assert_int_equal(e->npending, 0);
	assert_int_equal(e->delivered, 2);
	json_decref(env);
	/* The ticket was single-use. */
	char *url = apps_socket_url(f->a, f->bot);
	http_req req = {.method = "GET", .query = strchr(url, '?') + 1};
	apps_handle_upgrade(f->a, &req);
	size_t n = fk.nconns;
	apps_handle_upgrade(f->a, &req);
	assert_int_equal(fk.nconns, n);
	assert_int_equal(fk.status, 401);
	free(url);
	http_req bogus = {.method = "GET", .query = "ticket=00&app_id=AONE"};
	apps_handle_upgrade(f->a, &bogus);
	assert_int_equal(fk.status, 401);
}

static void test_socket_retry(void **state)
{
	fx *f = *state;
	ws_conn *c1 = connect_app(f, f->bot);
	ws_conn *c2 = connect_app(f, f->bot);
	json_t *h2 = frame_json(c2, 0);
	assert_int_equal(json_integer_value(json_object_get(h2, "num_connections")), 2);
	json_decref(h2);
	pub_chan(f, f->pub, MSG("CPUB", "UA", "one"));
	pub_chan(f, f->pub, MSG("CPUB", "UA", "two"));
	/* Round robin: one envelope each. */
	assert_int_equal(c1->nframes, 2);
	assert_int_equal(c2->nframes, 2);
	json_t *a1 = frame_json(c1, 1), *a2 = frame_json(c2, 1);
	ack(c2, jstr(a2, "envelope_id"), "{}");
	/* Nothing for 3 s: the unacked one is sent again, attempt 1. */
	f->a->fake_now_ms += 2900;
	apps__tick(f->a, f->a->fake_now_ms);
	assert_int_equal(c1->nframes + c2->nframes, 4);
	f->a->fake_now_ms += 200;
	apps__tick(f->a, f->a->fake_now_ms);
	assert_int_equal(c1->nframes + c2->nframes, 5);
	ws_conn *rc = c1->nframes == 3 ? c1 : c2;
	json_t *r = frame_json(rc, rc->nframes - 1);
	assert_int_equal(json_integer_value(json_object_get(r, "retry_attempt")), 1);
	assert_string_equal(jstr(r, "retry_reason"), "timeout");
	assert_string_equal(jstr(r, "payload.event_id"), jstr(a1, "payload.event_id"));
	assert_string_equal(jstr(r, "payload.event.text"), "one");
	json_decref(r);
	/* Three more deadlines: attempts 2 and 3, then failed. */
	for (int i = 0; i < 3; i++) {
		f->a->fake_now_ms += 3100;
		apps__tick(f->a, f->a->fake_now_ms);
	}
	apps_app *e = entry(f, f->bot);
	assert_int_equal(c1->nframes + c2->nframes, 7);
	assert_int_equal(e->failed, 1);
	assert_int_equal(e->delivered, 1);
	assert_int_equal(e->npending, 0);
	json_decref(a1);
	json_decref(a2);
}

static void test_socket_queue_while_disconnected(void **state)
{
	fx *f = *state;
	ws_conn *c = connect_app(f, f->bot);
	pub_chan(f, f->pub, MSG("CPUB", "UA", "sent, never acked"));
	fake_closed(c);
	pub_chan(f, f->pub, MSG("CPUB", "UA", "while away"));
	apps_app *e = entry(f, f->bot);
	assert_int_equal(e->queue.n, 1);
	assert_int_equal(e->nconns, 0);
	/* Reconnect: the waiting one goes out; the lost one after its deadline. */
	ws_conn *c2 = connect_app(f, f->bot);
	assert_int_equal(c2->nframes, 2);
	json_t *env = frame_json(c2, 1);
	assert_string_equal(jstr(env, "payload.event.text"), "while away");
	ack(c2, jstr(env, "envelope_id"), "{}");
	json_decref(env);
	f->a->fake_now_ms += 3001;
	apps__tick(f->a, f->a->fake_now_ms);
	assert_int_equal(c2->nframes, 3);
	env = frame_json(c2, 2);
	assert_string_equal(jstr(env, "payload.event.text"), "sent, never acked");
	assert_int_equal(json_integer_value(json_object_get(env, "retry_attempt")), 1);
	json_decref(env);
}

static void test_socket_limit_and_refresh(void **state)
{
	fx *f = *state;
	apps_set_connection_lifetime(f->a, 30);
	ws_conn *c[APPS_MAX_CONNS];
	for (int i = 0; i < APPS_MAX_CONNS; i++) {
		c[i] = connect_app(f, f->bot);
		assert_non_null(c[i]);
	}
	assert_null(connect_app(f, f->bot));
	assert_int_equal(fk.status, 429);
	assert_non_null(strstr(fk.body, "too_many_connections"));
	/* 20 s in (30 - 10): disconnect refresh_requested to each. */
	f->a->fake_now_ms += 19900;
	apps__tick(f->a, f->a->fake_now_ms);
	assert_int_equal(c[0]->nframes, 1);
	f->a->fake_now_ms += 200;
	apps__tick(f->a, f->a->fake_now_ms);
	json_t *d = frame_json(c[0], 1);
	assert_string_equal(jstr(d, "type"), "disconnect");
	assert_string_equal(jstr(d, "reason"), "refresh_requested");
	assert_string_equal(jstr(d, "debug_info.host"), "canal");
	json_decref(d);
	/* Refreshing connections get no envelopes: queued instead. */
	pub_chan(f, f->pub, MSG("CPUB", "UA", "during refresh"));
	assert_int_equal(entry(f, f->bot)->queue.n, 1);
	/* One client closes by itself; the others are closed 5 s later. */
	fake_closed(c[0]);
	assert_int_equal(entry(f, f->bot)->nconns, APPS_MAX_CONNS - 1);
	f->a->fake_now_ms += 5000;
	apps__tick(f->a, f->a->fake_now_ms);
	for (int i = 1; i < APPS_MAX_CONNS; i++) {
		assert_true(c[i]->closing);
		assert_int_equal(c[i]->close_code, 1000);
		fake_closed(c[i]);
	}
	/* A fresh connection gets the queued event. */
	ws_conn *n = connect_app(f, f->bot);
	assert_int_equal(n->nframes, 2);
}

static void test_socket_drop_app(void **state)
{
	fx *f = *state;
	ws_conn *c = connect_app(f, f->bot);
	char *url = apps_socket_url(f->a, f->bot);
	apps_drop_app(f->a, f->bot->id);
	json_t *d = frame_json(c, c->nframes - 1);
	assert_string_equal(jstr(d, "reason"), "link_disabled");
	json_decref(d);
	assert_true(c->closing);
	assert_int_equal(c->close_code, 1008);
	/* Its outstanding ticket is gone too. */
	http_req req = {.method = "GET", .query = strchr(url, '?') + 1};
	apps_handle_upgrade(f->a, &req);
	assert_int_equal(fk.status, 401);
	free(url);
	fake_closed(c);
}

static void test_socket_revalidate(void **state)
{
	fx *f = *state;
	token *t = core_token_new("hash-app-token", TOKEN_APP);
	snprintf(t->org_id, sizeof t->org_id, "T1");
	snprintf(t->app_id, sizeof t->app_id, "%s", f->bot->id);
	core_token_add(&f->st, t);
	ws_conn *c = connect_app(f, f->bot);
	apps_revalidate(f->a);
	assert_false(c->closing);
	t->revoked = true;
	apps_revalidate(f->a);
	assert_true(c->closing);
	assert_int_equal(c->close_code, 1008);
	fake_closed(c);
	/* A manifest change nobody announced is picked up within a second. */
	pub_chan(f, f->pub, MSG("CPUB", "UA", "subscribed"));
	assert_int_equal(queued(f, f->bot), 1);
	free(f->bot->bot_events);
	f->bot->bot_events = xstrdup("reaction_added");
	pub_chan(f, f->pub, MSG("CPUB", "UA", "still, for now"));
	assert_int_equal(queued(f, f->bot), 2);
	f->a->fake_now_ms += APPS_INDEX_MAX_AGE_MS;
	pub_chan(f, f->pub, MSG("CPUB", "UA", "not any more"));
	assert_int_equal(queued(f, f->bot), 2);
	/* apps_app_changed: at once. */
	free(f->bot->bot_events);
	f->bot->bot_events = xstrdup("message.channels");
	apps_app_changed(f->a, f->bot);
	pub_chan(f, f->pub, MSG("CPUB", "UA", "back"));
	assert_int_equal(queued(f, f->bot), 3);
}

/* ---- dispatch ---- */

typedef struct got {
	int calls, err;
	char *resp;
} got;

static void got_cb(void *ud, int err, json_t *response)
{
	got *g = ud;
	g->calls++;
	g->err = err;
	free(g->resp);
	g->resp = response ? json_dumps(response, JSON_COMPACT) : NULL;
}

static void test_dispatch_socket(void **state)
{
	fx *f = *state;
	ws_conn *c = connect_app(f, f->bot);
	got g = {0};
	apps_dispatch(f->a, f->bot, "slash_commands",
		      json_pack("{s:s,s:s}", "command", "/wheatley", "text", "help"), NULL, got_cb, &g);
	assert_int_equal(g.calls, 0);
	json_t *env = frame_json(c, c->nframes - 1);
	assert_string_equal(jstr(env, "type"), "slash_commands");
	assert_true(json_is_true(json_object_get(env, "accepts_response_payload")));
	assert_string_equal(jstr(env, "payload.command"), "/wheatley");
	assert_null(json_object_get(env, "retry_attempt"));
	ack(c, jstr(env, "envelope_id"), "{\"text\":\"pong\"}");
	json_decref(env);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.err, 0);
	assert_string_equal(g.resp, "{\"text\":\"pong\"}");
	/* block_actions: no response payload; never acked: operation_timeout. */
	apps_dispatch(f->a, f->bot, "interactive", json_pack("{s:s}", "type", "block_actions"), NULL,
		      got_cb, &g);
	env = frame_json(c, c->nframes - 1);
	assert_string_equal(jstr(env, "type"), "interactive");
	assert_true(json_is_false(json_object_get(env, "accepts_response_payload")));
	json_decref(env);
	apps_dispatch(f->a, f->bot, "interactive", json_pack("{s:s}", "type", "view_submission"), NULL,
		      got_cb, &g);
	env = frame_json(c, c->nframes - 1);
	assert_true(json_is_true(json_object_get(env, "accepts_response_payload")));
	ack(c, jstr(env, "envelope_id"), NULL);  /* no payload: NULL */
	json_decref(env);
	assert_int_equal(g.calls, 2);
	assert_null(g.resp);
	f->a->fake_now_ms += 3001;
	apps__tick(f->a, f->a->fake_now_ms);
	assert_int_equal(g.calls, 3);
	assert_int_equal(g.err, ERR_OPERATION_TIMEOUT);
	/* No socket, no URL: dispatch_failed, from the tick, not inline. */
	fake_closed(c);
	apps_dispatch(f->a, f->bot, "slash_commands", json_object(), NULL, got_cb, &g);
	assert_int_equal(g.calls, 3);
	apps__tick(f->a, f->a->fake_now_ms);
	assert_int_equal(g.calls, 4);
	assert_int_equal(g.err, ERR_DISPATCH_FAILED);
	free(g.resp);
}

static void test_dispatch_http(void **state)
{
	fx *f = *state;
	got g = {0};
	apps_dispatch(f->a, f->bot, "slash_commands",
		      json_pack("{s:s,s:s,s:s}", "command", "/wheatley", "text", "hello world", "user_id",
				"U1"),
		      "http://app.test/slack/events", got_cb, &g);
	assert_int_equal(ff.n, 1);
	freq *q = &ff.r[0];
	assert_string_equal(q->content_type, "application/x-www-form-urlencoded");
	assert_string_equal(q->url, "http://app.test/slack/events");
	assert_string_equal(q->body, "command=%2Fwheatley&text=hello%20world&user_id=U1");
	assert_string_equal(fheader(q, "X-Slack-Request-Timestamp"), "1700000000");
	/* The vector of slack-api.md section 6.2. */
	assert_string_equal(fheader(q, "X-Slack-Signature"),
			    "v0=3e817cb46e179be16f76a14b4b7de473b51475dd536363c0d89b754578d8d54d");
	assert_null(fheader(q, "X-Slack-Retry-Num"));
	fanswer(0, 200, NULL, "application/json", "{\"response_type\":\"ephemeral\",\"text\":\"pong\"}");
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.err, 0);
	assert_string_equal(g.resp, "{\"response_type\":\"ephemeral\",\"text\":\"pong\"}");
	/* Interactions: payload=<json>; a text answer; an empty one. */
	apps_dispatch(f->a, f->bot, "interactive", json_pack("{s:s}", "type", "block_actions"),
		      "http://app.test/i", got_cb, &g);
	assert_string_equal(ff.r[1].body, "payload=%7B%22type%22%3A%22block_actions%22%7D");
	fanswer(1, 200, NULL, NULL, "thanks");
	assert_string_equal(g.resp, "{\"text\":\"thanks\"}");
	apps_dispatch(f->a, f->bot, "interactive", json_object(), "http://app.test/i", got_cb, &g);
	fanswer(2, 200, NULL, NULL, "");
	assert_int_equal(g.err, 0);
	assert_null(g.resp);
	apps_dispatch(f->a, f->bot, "interactive", json_object(), "http://app.test/i", got_cb, &g);
	fanswer(3, 404, NULL, NULL, "");
	assert_int_equal(g.err, ERR_DISPATCH_FAILED);
	apps_dispatch(f->a, f->bot, "interactive", json_object(), "http://app.test/i", got_cb, &g);
	fanswer(4, 0, "http_timeout", NULL, NULL);
	assert_int_equal(g.err, ERR_OPERATION_TIMEOUT);
	assert_int_equal(g.calls, 5);
	/* Still in flight when the runtime goes: answered once, at apps_free. */
	apps_dispatch(f->a, f->bot, "interactive", json_object(), "http://app.test/i", got_cb, &g);
	apps_free(f->a);
	f->a = NULL;
	assert_int_equal(g.calls, 6);
	assert_int_equal(g.err, ERR_DISPATCH_FAILED);
	fanswer(5, 0, "shutdown", NULL, NULL);  /* fetch's late callback: no second call */
	assert_int_equal(g.calls, 6);
	free(g.resp);
}

/* ---- Events API over HTTP ---- */

static void test_http_events(void **state)
{
	fx *f = *state;
	static const int sched[] = {1000, 60000, 300000};
	apps_set_retry_schedule(f->a, sched, 3);
	f->bot->socket_mode = false;
	f->bot->event_url = xstrdup("http://app.test/slack/events");
	pub_chan(f, f->pub, MSG("CPUB", "UA", "hello"));
	assert_int_equal(ff.n, 1);
	freq *q = &ff.r[0];
	assert_string_equal(q->content_type, "application/json");
	assert_string_equal(q->url, "http://app.test/slack/events");
	assert_int_equal(q->timeout_ms, 3000);
	char sig[68];
	fetch_slack_signature("test-signing-secret-123", 1700000000, q->body, q->len, sig);
	assert_string_equal(fheader(q, "X-Slack-Signature"), sig);
	assert_string_equal(fheader(q, "X-Slack-Request-Timestamp"), "1700000000");
	json_error_t jerr;
	json_t *body = json_loads(q->body, 0, &jerr);
	assert_string_equal(jstr(body, "event.text"), "hello");
	assert_string_equal(jstr(body, "type"), "event_callback");
	char *event_id = xstrdup(jstr(body, "event_id"));
	json_decref(body);
	/* 500: retried after 1 s with Retry-Num 1, same event_id. */
	fanswer(0, 500, NULL, "text/plain", "oops");
	assert_int_equal(ff.n, 1);
	f->a->fake_now_ms += 999;
	apps__tick(f->a, f->a->fake_now_ms);
	assert_int_equal(ff.n, 1);
	f->a->fake_now_ms += 1;
	apps__tick(f->a, f->a->fake_now_ms);
	assert_int_equal(ff.n, 2);
	assert_string_equal(fheader(&ff.r[1], "X-Slack-Retry-Num"), "1");
	assert_string_equal(fheader(&ff.r[1], "X-Slack-Retry-Reason"), "http_error");
	body = json_loads(ff.r[1].body, 0, &jerr);
	assert_string_equal(jstr(body, "event_id"), event_id);
	json_decref(body);
	/* A timeout: the next retry a minute later, reason http_timeout. */
	fanswer(1, 0, "http_timeout", NULL, NULL);
	f->a->fake_now_ms += 60000;
	apps__tick(f->a, f->a->fake_now_ms);
	assert_int_equal(ff.n, 3);
	assert_string_equal(fheader(&ff.r[2], "X-Slack-Retry-Num"), "2");
	assert_string_equal(fheader(&ff.r[2], "X-Slack-Retry-Reason"), "http_timeout");
	fanswer(2, 200, NULL, NULL, "");
	apps_app *e = entry(f, f->bot);
	assert_int_equal(e->delivered, 1);
	assert_int_equal(e->retried, 2);
	json_t *st = apps_status(f->a, f->bot);
	assert_int_equal(json_integer_value(json_object_get(st, "delivered")), 1);
	assert_non_null(strstr(json_string_value(json_object_get(st, "last_error")), "timeout"));
	json_decref(st);
	free(event_id);
}

static void test_http_in_flight_and_backoff(void **state)
{
	fx *f = *state;
	static const int sched[] = {10, 20, 30};
	apps_set_retry_schedule(f->a, sched, 3);
	f->bot->socket_mode = false;
	f->bot->event_url = xstrdup("http://hung.test/");
	app *other = mk_app(f, "AOTHER", "UOTHER", "message.channels", ALL_READ);
	other->socket_mode = false;
	other->event_url = xstrdup("http://ok.test/");
	core_member_add(f->pub, "UOTHER", 1);
	for (int i = 0; i < 12; i++)
		pub_chan(f, f->pub, MSG("CPUB", "UA", "x"));
	/* Four in flight for the hung app, while the other's all leave. */
	int hung = 0, ok = 0;
	for (int i = 0; i < ff.n; i++)
		!strcmp(ff.r[i].url, "http://hung.test/") ? hung++ : ok++;
	assert_int_equal(hung, APPS_HTTP_IN_FLIGHT);
	assert_int_equal(ok, APPS_HTTP_IN_FLIGHT);
	for (int i = 0; i < ff.n; i++)
		if (!strcmp(ff.r[i].url, "http://ok.test/") && !ff.r[i].answered)
			fanswer(i, 200, NULL, NULL, "");
	ok = 0;
	for (int i = 0; i < ff.n; i++)
		ok += !strcmp(ff.r[i].url, "http://ok.test/");
	assert_int_equal(ok, 12);
	/* Timeouts, retries on the schedule, until three events are out of
	 * retries: then the whole app backs off for a minute. */
	apps_app *e = entry(f, f->bot);
	for (int round = 0; round < 50 && e->failed < 3; round++) {
		for (int i = 0; i < ff.n; i++)
			if (!ff.r[i].answered)
				fanswer(i, 0, "http_timeout", NULL, NULL);
		f->a->fake_now_ms += 40;
		apps__tick(f->a, f->a->fake_now_ms);
	}
	assert_true(e->failed >= 3);
	assert_int_equal(e->backoff_until_ms, f->a->fake_now_ms - 40 + 60000);
	json_t *st = apps_status(f->a, f->bot);
	assert_true(json_integer_value(json_object_get(st, "backoff_until")) > 1700000000);
	json_decref(st);
	/* Requests in flight end; nothing new leaves during the backoff. */
	for (int i = 0; i < ff.n; i++)
		if (!ff.r[i].answered)
			fanswer(i, 0, "http_timeout", NULL, NULL);
	int n = ff.n;
	size_t left = e->queue.n + e->delayed.n;
	assert_true(left > 0);
	f->a->fake_now_ms += 30000;
	apps__tick(f->a, f->a->fake_now_ms);
	assert_int_equal(ff.n, n);
	f->a->fake_now_ms += 30000;
	apps__tick(f->a, f->a->fake_now_ms);
	assert_int_equal(ff.n, n + (left < APPS_HTTP_IN_FLIGHT ? (int)left : APPS_HTTP_IN_FLIGHT));
	/* A 2xx ends it. */
	fanswer(n, 200, NULL, NULL, "");
	assert_int_equal(e->consecutive_failures, 0);
	assert_int_equal(entry(f, other)->delivered, 12);
}

/* Envelope ids name their slot: random holds and drops checked against
 * a plain array; ids are UUID-shaped and never repeat; a dropped item's
 * id (its slot since reused) finds nothing; release detaches the rest. */
static void test_pendset(void **state)
{
	(void)state;
	enum { N = 3000 };
	apps_pendset s = {0};
	apps_item *items = calloc(N, sizeof *items);
	char (*old)[40] = calloc(N, sizeof *old);   /* each item's previous id */
	bool in[N] = {0};
	unsigned seed = 12345;
	uint64_t r = 99;
	for (int round = 0; round < 20 * N; round++) {
		seed = seed * 1103515245u + 12345u;
		int k = (int)((seed >> 8) % N);
		if (in[k]) {
			assert_ptr_equal(apps__pend_get(&s, items[k].envelope_id), &items[k]);
			memcpy(old[k], items[k].envelope_id, sizeof old[k]);
			apps__pend_drop(&items[k]);
			assert_null(items[k].pset);
			in[k] = false;
		} else {
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			apps__pend_id(&s, &items[k], r, r >> 17 ^ r << 9);
			const char *id = items[k].envelope_id;
			assert_int_equal(strlen(id), 36);
			assert_true(id[8] == '-' && id[13] == '-' && id[18] == '-' && id[23] == '-');
			assert_true(id[14] == '4' && strchr("89ab", id[19]));
			assert_string_not_equal(id, old[k]);
			in[k] = true;
		}
		if (round % 997 == 0) {
			uint32_t n = 0;
			for (int j = 0; j < N; j++) {
				if (in[j])
					assert_ptr_equal(apps__pend_get(&s, items[j].envelope_id), &items[j]);
				if (old[j][0])
					assert_null(apps__pend_get(&s, old[j]));
				n += in[j];
			}
			assert_int_equal(s.n, n);
			assert_true(s.top <= N);   /* slots are reused */
		}
	}
	assert_null(apps__pend_get(&s, "not-there"));
	assert_null(apps__pend_get(&s, "ffffffff-0000-4000-8000-000000000000"));
	assert_null(apps__pend_get(&s, ""));
	apps__pend_release(&s);
	for (int j = 0; j < N; j++) {
		assert_null(items[j].pset);
		apps__pend_drop(&items[j]);   /* detached: a no-op */
	}
	assert_null(apps__pend_get(&s, items[0].envelope_id));
	free(old);
	free(items);
}

int main(void)
{
	ids_init();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_pendset),
		cmocka_unit_test_setup_teardown(test_message_member_public, setup, teardown),
		cmocka_unit_test_setup_teardown(test_envelope_escapes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_message_not_member, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_app_mention, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mentioned_stripped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unreachable_not_queued, setup, teardown),
		cmocka_unit_test_setup_teardown(test_queue_bound, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_hello_events_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_retry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_queue_while_disconnected, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_limit_and_refresh, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_drop_app, setup, teardown),
		cmocka_unit_test_setup_teardown(test_socket_revalidate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dispatch_http, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_http_in_flight_and_backoff, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
