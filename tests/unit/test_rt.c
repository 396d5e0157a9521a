/* Real time, in-process: the rt module against hot state built in the test
 * and a fake WebSocket layer that records, per connection, the exact frames
 * queued to it (the ngircd way: run the core, check the bytes a fake
 * client would get).
 *
 * The fake: this file defines every ws_* function rt uses (and
 * http_respond), so the linker takes these instead of libcanal.a's ws.o /
 * http.o, which are then never pulled in. Frames are real refcounted
 * ws_frame values holding the bare payload (NUL-terminated for the
 * asserts), so tests can check that one delivery framed each variant once
 * and queued the same frame to everyone; ASan's leak check covers the
 * reference counting. Closes reach rt's on_close either synchronously
 * inside ws_close/ws_send (the worst case for re-entrancy) or when the
 * test says so. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "rt/rt_internal.h"

/* ---- fake ws ---- */

#define MAXF 4096

struct ws_conn {
	void *ud;
	const ws_callbacks *cb;
	ws_frame *frames[MAXF];   /* everything queued, in order (a ref each) */
	size_t nframes;
	bool closing;
	int close_code;
	bool close_on_send;       /* next ws_send closes it (output limit) */
	bool gone;                /* on_close delivered */
};

static struct {
	size_t frames_made;       /* ws_frame_text calls */
	size_t sends;             /* successful ws_send */
	bool sync_close;          /* ws_close calls on_close at once */
	bool accept_fail;
	ws_conn *conns[4096];
	size_t nconns;
	int status;               /* last http_respond */
	char body[256];
} fk;

static ws_frame *frame_new(const char *payload, size_t len)
{
	ws_frame *f = xmalloc(sizeof *f + len + 1);
	f->refs = 1;
	f->len = (uint32_t)len;
	memcpy(f->data, payload, len);
	f->data[len] = '\0';
	return f;
}

ws_frame *ws_frame_text(const char *payload, size_t len)
{
	fk.frames_made++;
	return frame_new(payload, len);
}

void ws_frame_ref(ws_frame *f)
{
	f->refs++;
}

void ws_frame_unref(ws_frame *f)
{
	if (--f->refs == 0)
		free(f);
}

static void fake_deliver_close(ws_conn *c)
{
	if (c->gone)
		return;
	c->gone = true;
	c->cb->on_close(c, c->close_code, c->ud);
}

void ws_close(ws_conn *c, int code, const char *reason)
{
	if (c->closing)
		return;
	c->closing = true;
	c->close_code = code;
	if (fk.sync_close)
		fake_deliver_close(c);
}

int ws_send(ws_conn *c, ws_frame *f)
{
	if (c->closing)
		return -1;
	if (c->close_on_send) {
		ws_close(c, 1008, "output limit");
		fake_deliver_close(c);
		return -1;
	}
	assert_true(c->nframes < MAXF);
	ws_frame_ref(f);
	c->frames[c->nframes++] = f;
	fk.sends++;
	return 0;
}

int ws_send_text(ws_conn *c, const char *msg, size_t len)
{
	ws_frame *f = frame_new(msg, len);
	int rc = ws_send(c, f);
	ws_frame_unref(f);
	return rc;
}

ws_conn *ws_accept(ws_ctx *x, http_req *req, const ws_callbacks *cb, void *ud)
{
	if (fk.accept_fail) {
		fk.status = 400;
		return NULL;
	}
	ws_conn *c = xcalloc(1, sizeof *c);
	c->cb = cb;
	c->ud = ud;
	fk.conns[fk.nconns++] = c;
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

static void fake_clear(ws_conn *c)
{
	for (size_t i = 0; i < c->nframes; i++)
		ws_frame_unref(c->frames[i]);
	c->nframes = 0;
}

static void fake_reset(void)
{
	for (size_t i = 0; i < fk.nconns; i++) {
		fake_clear(fk.conns[i]);
		free(fk.conns[i]);
	}
	memset(&fk, 0, sizeof fk);
}

/* The peer went away. */
static void fake_disconnect(ws_conn *c)
{
	c->closing = true;
	c->close_code = 1006;
	fake_deliver_close(c);
}

static void fake_client_send(ws_conn *c, const char *text)
{
	c->cb->on_message(c, text, strlen(text), c->ud);
}

static const char *frame(const ws_conn *c, size_t i)
{
	assert_true(i < c->nframes);
	return (const char *)c->frames[i]->data;
}

static const char *last(const ws_conn *c)
{
	assert_true(c->nframes > 0);
	return frame(c, c->nframes - 1);
}

/* ---- fixture: orgs T1 and T2, users, tokens, channels, a group ---- */

typedef struct fx {
	uv_loop_t loop;
	core_state st;
	rt *r;
	channel *pub, *priv;
} fx;

static user *mk_user(fx *f, const char *id, const char *org_id)
{
	user *u = core_user_new(id, org_id);
	core_user_add(&f->st, u);
	return u;
}

/* A token for user id of the given kind; its secret is "secret-<id>-<kind>". */
static token *mk_token(fx *f, const char *uid, token_kind kind)
{
	char secret[64], hash[TOKEN_HASH_HEX];
	snprintf(secret, sizeof secret, "secret-%s-%d", uid, (int)kind);
	ids_token_hash(secret, hash);
	token *t = core_token_get(&f->st, hash);
	if (t)
		return t;
	t = core_token_new(hash, kind);
	user *u = core_user_get(&f->st, uid);
	snprintf(t->user_id, sizeof t->user_id, "%s", uid);
	snprintf(t->org_id, sizeof t->org_id, "%s", u->org_id);
	core_token_add(&f->st, t);
	return t;
}

static int setup(void **state)
{
	fx *f = xcalloc(1, sizeof *f);
	fake_reset();
	clock_set_fake(1700000000LL * 1000000);
	uv_loop_init(&f->loop);
	core_state_init(&f->st);
	core_org_add(&f->st, core_org_new("T1"));
	core_org_add(&f->st, core_org_new("T2"));
	const char *t1[] = {"UA", "UB", "UC", "UD"};
	for (size_t i = 0; i < 4; i++)
		mk_user(f, t1[i], "T1");
	mk_user(f, "UE", "T2");
	f->pub = core_channel_new("CPUB", "T1", CHAN_PUBLIC);
	f->pub->name = xstrdup("general");
	core_channel_add(&f->st, f->pub);
	core_member_add(f->pub, "UA", 1);
	core_member_add(f->pub, "UB", 1);
	core_member_add(f->pub, "UD", 1);
	f->priv = core_channel_new("CPRIV", "T1", CHAN_PRIVATE);
	f->priv->name = xstrdup("secret");
	core_channel_add(&f->st, f->priv);
	core_member_add(f->priv, "UA", 1);
	core_member_add(f->priv, "UB", 1);
	usergroup *g = core_usergroup_new("S1", "T1");
	g->users = xstrdup("UB,UC,UD");
	core_usergroup_add(&f->st, g);
	f->r = rt_new(&f->loop, &f->st, NULL, "http://127.0.0.1:8080/");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	rt_free(f->r);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	core_state_release(&f->st);
	fake_reset();
	clock_set_fake(0);
	free(f);
	return 0;
}

static void req_init(http_req *req, const char *query, http_header *h, size_t nh)
{
	memset(req, 0, sizeof *req);
	req->method = "GET";
	req->path = "/rtm";
	req->query = (char *)(query ? query : "");
	req->headers = h;
	req->nheaders = nh;
}

/* Upgrade with a ticket URL's query; the new conn or NULL (fk.status). */
static ws_conn *upgrade_url(fx *f, const char *url)
{
	const char *q = strchr(url, '?');
	assert_non_null(q);
	http_req req;
	req_init(&req, q + 1, NULL, 0);
	size_t before = fk.nconns;
	fk.status = 0;
	rt_handle_upgrade(f->r, &req);
	return fk.nconns > before ? fk.conns[fk.nconns - 1] : NULL;
}

/* Connects uid through rtm.connect's ticket; checks hello comes first and
 * forgets what the socket got so far. */
static ws_conn *connect_user(fx *f, const char *uid)
{
	char *url = rt_ticket_url(f->r, mk_token(f, uid, TOKEN_USER));
	ws_conn *c = upgrade_url(f, url);
	free(url);
	assert_non_null(c);
	assert_string_equal(frame(c, 0), "{\"type\":\"hello\"}");
	fake_clear(c);
	return c;
}

static void clear_all(void)
{
	for (size_t i = 0; i < fk.nconns; i++)
		fake_clear(fk.conns[i]);
}

static void publish(fx *f, bus_scope scope, const char *channel_id, const char *user_id,
		    const char *org_id, const char *text, const char *mentions)
{
	json_t *ev = json_pack("{s:s,s:s,s:s}", "type", "message", "channel", channel_id ? channel_id : "",
			       "text", text);
	rt_publish_json(f->r, scope, org_id ? org_id : "T1", channel_id, user_id, ev, mentions);
	json_decref(ev);
}

static bool is_mention(const char *js)
{
	return strstr(js, "\"mentioned\":true") != NULL;
}

/* ---- tickets and upgrade ---- */

static void test_ticket_url(void **state)
{
	fx *f = *state;
	char *url = rt_ticket_url(f->r, mk_token(f, "UA", TOKEN_USER));
	const char *pre = "ws://127.0.0.1:8080/rtm?ticket=";
	assert_memory_equal(url, pre, strlen(pre));
	assert_int_equal(strlen(url + strlen(pre)), RT_TICKET_BYTES * 2);
	free(url);

	rt *r2 = rt_new(NULL, &f->st, NULL, "https://chat.example.com");
	url = rt_ticket_url(r2, mk_token(f, "UA", TOKEN_USER));
	assert_memory_equal(url, "wss://chat.example.com/rtm?ticket=", 34);
	free(url);
	/* A token without a user gets no ticket. */
	token *apptok = core_token_new("apphash", TOKEN_APP);
	assert_null(rt_ticket_url(r2, apptok));
	free(apptok);
	rt_free(r2);
}

static void test_ticket_single_use_and_hello(void **state)
{
	fx *f = *state;
	char *url = rt_ticket_url(f->r, mk_token(f, "UA", TOKEN_USER));
	ws_conn *c = upgrade_url(f, url);
	assert_non_null(c);
	/* hello first, then the user's own presence going active */
	assert_int_equal(c->nframes, 2);
	assert_string_equal(frame(c, 0), "{\"type\":\"hello\"}");
	assert_string_equal(frame(c, 1),
			    "{\"type\":\"presence_change\",\"user\":\"UA\",\"presence\":\"active\"}");
	assert_true(rt_user_online(f->r, "UA"));
	assert_int_equal(rt_user_connections(f->r, "UA"), 1);

	/* The same ticket again: refused. */
	assert_null(upgrade_url(f, url));
	assert_int_equal(fk.status, 401);
	assert_string_equal(fk.body, "{\"ok\":false,\"error\":\"invalid_ticket\"}");
	free(url);

	/* Garbage, missing, and wrong-length tickets. */
	assert_null(upgrade_url(f, "/rtm?ticket=zz"));
	assert_int_equal(fk.status, 401);
	assert_null(upgrade_url(f, "/rtm?ticket=00000000000000000000000000000000"));
	assert_int_equal(fk.status, 401);
	assert_null(upgrade_url(f, "/rtm?x=1"));
	assert_int_equal(fk.status, 401);

	rt_stats st;
	rt_stats_get(f->r, &st);
	assert_int_equal(st.sessions, 1);
}

static void test_ticket_expiry_and_revocation(void **state)
{
	fx *f = *state;
	int64_t t0 = clock_now_us();
	/* expired after 30 s */
	char *url = rt_ticket_url(f->r, mk_token(f, "UA", TOKEN_USER));
	clock_set_fake(t0 + RT_TICKET_TTL_US + 1);
	assert_null(upgrade_url(f, url));
	assert_int_equal(fk.status, 401);
	free(url);
	/* still fine just before */
	clock_set_fake(t0);
	url = rt_ticket_url(f->r, mk_token(f, "UA", TOKEN_USER));
	clock_set_fake(t0 + RT_TICKET_TTL_US - 1);
	assert_non_null(upgrade_url(f, url));
	free(url);
	/* token revoked between rtm.connect and the connect */
	token *t = mk_token(f, "UB", TOKEN_USER);
	url = rt_ticket_url(f->r, t);
	t->revoked = true;
	assert_null(upgrade_url(f, url));
	assert_int_equal(fk.status, 401);
	free(url);
	/* user deactivated in between */
	t = mk_token(f, "UC", TOKEN_USER);
	url = rt_ticket_url(f->r, t);
	core_user_get(&f->st, "UC")->deleted = true;
	assert_null(upgrade_url(f, url));
	free(url);
	/* token expired in between */
	t = mk_token(f, "UD", TOKEN_USER);
	t->expires = clock_now_s() + 5;
	url = rt_ticket_url(f->r, t);
	clock_set_fake(t0 + RT_TICKET_TTL_US - 1 + 6 * 1000000LL);
	assert_null(upgrade_url(f, url));
	free(url);
	/* ws_accept refusing (not an upgrade): no session, ticket consumed */
	url = rt_ticket_url(f->r, mk_token(f, "UA", TOKEN_USER));
	fk.accept_fail = true;
	assert_null(upgrade_url(f, url));
	assert_int_equal(fk.status, 400);
	fk.accept_fail = false;
	assert_null(upgrade_url(f, url));
	assert_int_equal(fk.status, 401);
	free(url);
	assert_int_equal(rt_user_connections(f->r, "UA"), 1);
}

static void test_ticket_purge(void **state)
{
	fx *f = *state;
	int64_t t0 = clock_now_us();
	for (int i = 0; i < 5; i++)
		free(rt_ticket_url(f->r, mk_token(f, "UA", TOKEN_USER)));
	clock_set_fake(t0 + 10 * 1000000LL);
	free(rt_ticket_url(f->r, mk_token(f, "UB", TOKEN_USER)));
	assert_int_equal(f->r->tickets.count, 6);
	rt__tickets_purge(f->r, t0 + RT_TICKET_TTL_US);
	assert_int_equal(f->r->tickets.count, 1);
	rt__tickets_purge(f->r, t0 + 10 * 1000000LL + RT_TICKET_TTL_US);
	assert_int_equal(f->r->tickets.count, 0);
}

static void test_cookie_session(void **state)
{
	fx *f = *state;
	mk_token(f, "UA", TOKEN_SESSION);
	mk_token(f, "UB", TOKEN_USER);
	http_header h = {"cookie", "theme=dark; canal_session=secret-UA-3; other=1"};
	http_req req;
	req_init(&req, "", &h, 1);
	rt_handle_upgrade(f->r, &req);
	assert_int_equal(fk.nconns, 1);
	assert_int_equal(rt_user_connections(f->r, "UA"), 1);

	/* A non-session token in the cookie, a lookalike name, no cookie. */
	const char *bad[] = {"canal_session=secret-UB-0", "xcanal_session=secret-UA-3",
			     "canal_session=", "canal_session=nope"};
	for (size_t i = 0; i < 4; i++) {
		h.value = (char *)bad[i];
		fk.status = 0;
		rt_handle_upgrade(f->r, &req);
		assert_int_equal(fk.status, 401);
	}
	req_init(&req, "", NULL, 0);
	rt_handle_upgrade(f->r, &req);
	assert_int_equal(fk.status, 401);
	assert_string_equal(fk.body, "{\"ok\":false,\"error\":\"not_authed\"}");
	assert_int_equal(fk.nconns, 1);
}

/* ---- delivery ---- */

static void test_channel_members_only(void **state)
{
	fx *f = *state;
	ws_conn *a = connect_user(f, "UA");
	ws_conn *b1 = connect_user(f, "UB");
	ws_conn *b2 = connect_user(f, "UB");
	ws_conn *c = connect_user(f, "UC");   /* same org, not a member */
	ws_conn *e = connect_user(f, "UE");   /* other org */
	clear_all();
	size_t made = fk.frames_made;
	publish(f, BUS_CHANNEL, "CPUB", NULL, "T1", "hi", NULL);
	assert_int_equal(fk.frames_made - made, 1);
	assert_int_equal(a->nframes, 1);
	assert_int_equal(b1->nframes, 1);
	assert_int_equal(b2->nframes, 1);
	assert_int_equal(c->nframes, 0);
	assert_int_equal(e->nframes, 0);
	/* one frame, shared */
	assert_ptr_equal(a->frames[0], b1->frames[0]);
	assert_ptr_equal(a->frames[0], b2->frames[0]);
	assert_string_equal(last(a), "{\"type\":\"message\",\"channel\":\"CPUB\",\"text\":\"hi\"}");

	/* A member whose account is deactivated gets nothing. */
	ws_conn *d = connect_user(f, "UD");
	core_user_get(&f->st, "UD")->deleted = true;
	clear_all();
	publish(f, BUS_CHANNEL, "CPUB", NULL, "T1", "again", NULL);
	assert_int_equal(d->nframes, 0);
	assert_int_equal(a->nframes, 1);

	/* Unknown channel, or a channel id claimed for another org: nobody. */
	clear_all();
	publish(f, BUS_CHANNEL, "CNOPE", NULL, "T1", "x", NULL);
	publish(f, BUS_CHANNEL, "CPUB", NULL, "T2", "x", NULL);
	assert_int_equal(a->nframes + b1->nframes + e->nframes, 0);

	rt_stats st;
	rt_stats_get(f->r, &st);
	assert_int_equal(st.sessions, 6);
	assert_int_equal(st.events_published, 4);
}

static void test_private_channel(void **state)
{
	fx *f = *state;
	ws_conn *a = connect_user(f, "UA");
	ws_conn *b = connect_user(f, "UB");
	ws_conn *c = connect_user(f, "UC");
	ws_conn *d = connect_user(f, "UD");
	clear_all();
	publish(f, BUS_CHANNEL, "CPRIV", NULL, "T1", "psst", "channel");
	assert_int_equal(a->nframes, 1);
	assert_int_equal(b->nframes, 1);
	assert_int_equal(c->nframes, 0);
	assert_int_equal(d->nframes, 0);
	/* Mentioning outsiders by name or group leaks nothing either. */
	publish(f, BUS_CHANNEL, "CPRIV", NULL, "T1", "psst", "UC,UD,subteam^S1,here,everyone");
	assert_int_equal(c->nframes, 0);
	assert_int_equal(d->nframes, 0);
	assert_true(is_mention(last(b)));
}

static void test_except_session(void **state)
{
	fx *f = *state;
	connect_user(f, "UA");
	ws_conn *b1 = connect_user(f, "UB");
	connect_user(f, "UB");
	rt_session *sb1 = ws_conn_ud(b1);
	bus_msg m = {.scope = BUS_CHANNEL, .channel_id = "CPUB", .org_id = "T1",
		     .except_session = sb1->id, .json = "{}", .len = 2};
	rt_session **rs;
	const uint8_t *mf;
	size_t n = rt__recipients(f->r, &m, &rs, &mf);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_ptr_not_equal(rs[i], sb1);
	m.except_session = 0;
	assert_int_equal(rt__recipients(f->r, &m, &rs, &mf), 3);
}

static void test_mentions(void **state)
{
	fx *f = *state;
	ws_conn *a = connect_user(f, "UA");
	ws_conn *b = connect_user(f, "UB");
	ws_conn *c = connect_user(f, "UC");  /* in S1, not in CPUB */
	ws_conn *d = connect_user(f, "UD");  /* in S1 and CPUB */

	/* an explicit user */
	clear_all();
	size_t made = fk.frames_made;
	publish(f, BUS_CHANNEL, "CPUB", "UA", "T1", "<@UB>", "UB");
	assert_int_equal(fk.frames_made - made, 2);
	assert_false(is_mention(last(a)));
	assert_true(is_mention(last(b)));
	assert_false(is_mention(last(d)));
	assert_int_equal(c->nframes, 0);

	/* a non-member mentioned by id gets nothing */
	clear_all();
	publish(f, BUS_CHANNEL, "CPUB", "UA", "T1", "<@UC>", "UC");
	assert_int_equal(c->nframes, 0);
	assert_false(is_mention(last(b)));

	/* @here: online members; D manually away gets the plain event */
	rt_set_manual_away(f->r, core_user_get(&f->st, "UD"), true);
	clear_all();
	publish(f, BUS_CHANNEL, "CPUB", "UA", "T1", "<!here>", "here");
	assert_true(is_mention(last(a)));
	assert_true(is_mention(last(b)));
	assert_false(is_mention(last(d)));
	assert_int_equal(c->nframes, 0);

	/* @channel / @everyone: every member */
	clear_all();
	publish(f, BUS_CHANNEL, "CPUB", "UA", "T1", "<!channel>", "channel");
	assert_true(is_mention(last(a)) && is_mention(last(b)) && is_mention(last(d)));
	clear_all();
	publish(f, BUS_CHANNEL, "CPUB", "UA", "T1", "<!everyone>", "everyone");
	assert_true(is_mention(last(a)) && is_mention(last(b)) && is_mention(last(d)));
	assert_int_equal(c->nframes, 0);

	/* a group: its members who are in the channel */
	clear_all();
	publish(f, BUS_CHANNEL, "CPUB", "UA", "T1", "<!subteam^S1>", "subteam^S1");
	assert_false(is_mention(last(a)));
	assert_true(is_mention(last(b)));
	assert_true(is_mention(last(d)));
	assert_int_equal(c->nframes, 0);
	/* a disabled group mentions nobody */
	core_usergroup_get(&f->st, "S1")->date_delete = 1;
	clear_all();
	publish(f, BUS_CHANNEL, "CPUB", "UA", "T1", "<!subteam^S1>", "subteam^S1,SNOPE,subteam^");
	assert_false(is_mention(last(b)));
	/* nothing mentioned: one frame only */
	clear_all();
	made = fk.frames_made;
	publish(f, BUS_CHANNEL, "CPUB", "UA", "T1", "plain", NULL);
	assert_int_equal(fk.frames_made - made, 1);
	assert_string_equal(last(a), last(b));
}

static void test_user_and_org_scope(void **state)
{
	fx *f = *state;
	ws_conn *a = connect_user(f, "UA");
	ws_conn *b1 = connect_user(f, "UB");
	ws_conn *b2 = connect_user(f, "UB");
	ws_conn *e = connect_user(f, "UE");
	clear_all();
	publish(f, BUS_USER, NULL, "UB", "T1", "for b", NULL);
	assert_int_equal(a->nframes, 0);
	assert_int_equal(b1->nframes, 1);
	assert_int_equal(b2->nframes, 1);
	assert_int_equal(e->nframes, 0);
	clear_all();
	publish(f, BUS_ORG, NULL, NULL, "T1", "for t1", NULL);
	assert_int_equal(a->nframes, 1);
	assert_int_equal(b1->nframes, 1);
	assert_int_equal(b2->nframes, 1);
	assert_int_equal(e->nframes, 0);
	clear_all();
	publish(f, BUS_ORG, NULL, NULL, "T2", "for t2", NULL);
	assert_int_equal(a->nframes, 0);
	assert_int_equal(e->nframes, 1);
}

/* 1,000 members all connected (the member map is walked): one frame,
 * 1,000 sends; then with half of a 2,000-member channel online the
 * org-side walk finds the same audience. */
static void test_fanout_once(void **state)
{
	fx *f = *state;
	channel *big = core_channel_new("CBIG", "T1", CHAN_PUBLIC);
	core_channel_add(&f->st, big);
	for (int i = 0; i < 2000; i++) {
		char id[ID_MAX];
		snprintf(id, sizeof id, "UX%04d", i);
		mk_user(f, id, "T1");
		if (i < 1000)
			core_member_add(big, id, 1);
	}
	for (int i = 0; i < 1000; i++) {
		char id[ID_MAX];
		snprintf(id, sizeof id, "UX%04d", i);
		connect_user(f, id);
	}
	connect_user(f, "UC");  /* online, not a member */
	clear_all();
	size_t made = fk.frames_made, sends = fk.sends;
	rt_stats before, after;
	rt_stats_get(f->r, &before);
	publish(f, BUS_CHANNEL, "CBIG", NULL, "T1", "to all", NULL);
	rt_stats_get(f->r, &after);
	assert_int_equal(fk.frames_made - made, 1);
	assert_int_equal(fk.sends - sends, 1000);
	assert_int_equal(after.deliveries - before.deliveries, 1000);
	assert_int_equal(fk.conns[fk.nconns - 1]->nframes, 0);

	/* 1,000 more members, offline: 1001 sessions < 2000 members, so
	 * the org's sessions are walked; the non-member is still skipped */
	for (int i = 1000; i < 2000; i++) {
		char id[ID_MAX];
		snprintf(id, sizeof id, "UX%04d", i);
		core_member_add(big, id, 1);
	}
	bus_msg m = {.scope = BUS_CHANNEL, .channel_id = "CBIG", .org_id = "T1",
		     .json = "{}", .len = 2, .mentions = "UX0005,UC,subteam^S1"};
	rt_session **rs;
	const uint8_t *mf;
	size_t n = rt__recipients(f->r, &m, &rs, &mf);
	assert_int_equal(n, 1000);
	size_t nm = 0;
	for (size_t i = 0; i < n; i++) {
		assert_string_not_equal(rs[i]->user_id, "UC");
		if (mf[i]) {
			nm++;
			assert_string_equal(rs[i]->user_id, "UX0005");
		}
	}
	assert_int_equal(nm, 1);
}

/* A recipient cut off inside ws_send (output limit) is reaped after the
 * delivery, while the others still get the event. */
static void test_close_during_send(void **state)
{
	fx *f = *state;
	ws_conn *a = connect_user(f, "UA");
	ws_conn *b = connect_user(f, "UB");
	ws_conn *d = connect_user(f, "UD");
	ws_conn *sub = connect_user(f, "UC");
	fake_client_send(sub, "{\"type\":\"presence_sub\",\"ids\":[\"UB\"]}");
	clear_all();
	b->close_on_send = true;
	publish(f, BUS_CHANNEL, "CPUB", NULL, "T1", "x", NULL);
	assert_true(b->gone);
	assert_int_equal(a->nframes, 1);
	assert_int_equal(d->nframes, 1);
	assert_int_equal(rt_user_connections(f->r, "UB"), 0);
	/* the reaping told B's subscriber */
	assert_string_equal(last(sub), "{\"type\":\"presence_change\",\"user\":\"UB\",\"presence\":\"away\"}");
	rt_stats st;
	rt_stats_get(f->r, &st);
	assert_int_equal(st.sessions, 3);
}

/* ---- presence ---- */

static void test_presence_transitions(void **state)
{
	fx *f = *state;
	const char *b_active = "{\"type\":\"presence_change\",\"user\":\"UB\",\"presence\":\"active\"}";
	const char *b_away = "{\"type\":\"presence_change\",\"user\":\"UB\",\"presence\":\"away\"}";
	ws_conn *s = connect_user(f, "UA");
	ws_conn *other = connect_user(f, "UD");  /* not subscribed */
	fake_client_send(s, "{\"type\":\"presence_sub\",\"ids\":[\"UB\",\"UE\",\"UNOPE\",\"UB\",7]}");
	assert_int_equal(s->nframes, 0);
	assert_int_equal(rt__presence_subscribers(f->r, "UB"), 1);
	assert_int_equal(rt__presence_subscribers(f->r, "UE"), 0);  /* other org */
	assert_false(rt_user_online(f->r, "UB"));

	ws_conn *b1 = upgrade_url(f, "x?ticket=none");  /* refused: no event */
	assert_null(b1);
	assert_int_equal(s->nframes, 0);

	b1 = connect_user(f, "UB");
	assert_int_equal(s->nframes, 1);
	assert_string_equal(last(s), b_active);
	assert_true(rt_user_online(f->r, "UB"));
	/* second tab: no change */
	ws_conn *b2 = connect_user(f, "UB");
	assert_int_equal(s->nframes, 1);
	assert_int_equal(rt_user_connections(f->r, "UB"), 2);
	/* one tab closes: still active */
	fake_disconnect(b1);
	assert_int_equal(s->nframes, 1);
	assert_int_equal(rt_user_connections(f->r, "UB"), 1);
	/* manual away while connected: away, to subscribers and own sessions */
	fake_clear(b2);
	rt_set_manual_away(f->r, core_user_get(&f->st, "UB"), true);
	assert_string_equal(last(s), b_away);
	assert_string_equal(last(b2), b_away);
	assert_false(rt_user_online(f->r, "UB"));
	rt_set_manual_away(f->r, core_user_get(&f->st, "UB"), true);  /* no change */
	assert_int_equal(s->nframes, 2);
	rt_set_manual_away(f->r, core_user_get(&f->st, "UB"), false);
	assert_string_equal(last(s), b_active);
	/* last tab closes: away */
	fake_disconnect(b2);
	assert_int_equal(s->nframes, 4);
	assert_string_equal(last(s), b_away);
	assert_int_equal(other->nframes, 0);
	/* manual away without a socket: nothing to tell, stays away */
	rt_set_manual_away(f->r, core_user_get(&f->st, "UC"), true);
	rt_set_manual_away(f->r, core_user_get(&f->st, "UC"), false);
	assert_int_equal(s->nframes, 4);
}

/* Auto away: idle for the timeout (client messages, API calls and new
 * sockets are activity), one change per transition, bots never idle,
 * 0 = never; @here follows (rt_user_online). */
/* The watcher w stays active: a ping from it now, then its socket is
 * emptied (the pong and anything before). */
static void keep_active(ws_conn *w)
{
	fake_client_send(w, "{\"type\":\"ping\",\"id\":9}");
	fake_clear(w);
}

static void test_presence_idle(void **state)
{
	fx *f = *state;
	const char *a_active = "{\"type\":\"presence_change\",\"user\":\"UA\",\"presence\":\"active\"}";
	const char *a_away = "{\"type\":\"presence_change\",\"user\":\"UA\",\"presence\":\"away\"}";
	user *bot = core_user_get(&f->st, "UD");
	bot->is_bot = true;
	rt_set_idle_timeout(f->r, 60);
	int64_t t0 = clock_now_us();
	ws_conn *w = connect_user(f, "UB");
	fake_client_send(w, "{\"type\":\"presence_sub\",\"ids\":[\"UA\",\"UD\"]}");
	ws_conn *a = connect_user(f, "UA");
	connect_user(f, "UD");
	assert_string_equal(last(w), "{\"type\":\"presence_change\",\"user\":\"UD\",\"presence\":\"active\"}");
	clear_all();

	/* Just under the timeout: nothing. */
	clock_set_fake(t0 + 59 * 1000000LL);
	keep_active(w);
	rt__idle_sweep(f->r, clock_now_us());
	assert_int_equal(w->nframes, 0);
	assert_true(rt_user_online(f->r, "UA"));
	/* At the timeout: away, to subscribers and the user's own sockets;
	 * the bot stays active; once only. */
	clock_set_fake(t0 + 60 * 1000000LL);
	rt__idle_sweep(f->r, clock_now_us());
	assert_int_equal(w->nframes, 1);
	assert_string_equal(last(w), a_away);
	assert_string_equal(last(a), a_away);
	assert_false(rt_user_online(f->r, "UA"));
	assert_true(rt_user_online(f->r, "UD"));
	assert_true(rt_user_online(f->r, "UB"));
	assert_int_equal(rt_user_connections(f->r, "UA"), 1);
	rt__idle_sweep(f->r, clock_now_us());
	assert_int_equal(w->nframes, 1);

	/* @here skips the idle user. */
	clear_all();
	publish(f, BUS_CHANNEL, "CPUB", "UB", "T1", "<!here>", "here");
	assert_false(is_mention(last(a)));

	/* A client message makes her active at once. */
	clear_all();
	fake_client_send(a, "{\"type\":\"ping\",\"id\":1}");
	assert_string_equal(last(w), a_active);
	assert_true(rt_user_online(f->r, "UA"));
	publish(f, BUS_CHANNEL, "CPUB", "UB", "T1", "<!here>", "here");
	assert_true(is_mention(last(a)));

	/* An API call of hers too, and it sets last activity. */
	clock_set_fake(t0 + 200 * 1000000LL);
	keep_active(w);
	rt__idle_sweep(f->r, clock_now_us());
	assert_string_equal(last(w), a_away);
	rt_user_activity(f->r, "UA", clock_now_us());
	assert_string_equal(last(w), a_active);
	assert_int_equal(rt_user_last_activity_us(f->r, "UA"), clock_now_us());
	rt_user_activity(f->r, "UC", clock_now_us());  /* no socket: nothing */
	assert_int_equal(rt_user_last_activity_us(f->r, "UC"), 0);

	/* A new socket of an idle user is activity. */
	clock_set_fake(t0 + 300 * 1000000LL);
	keep_active(w);
	rt__idle_sweep(f->r, clock_now_us());
	assert_string_equal(last(w), a_away);
	connect_user(f, "UA");
	assert_string_equal(last(w), a_active);

	/* 0 = never idle. */
	rt_set_idle_timeout(f->r, 0);
	clock_set_fake(t0 + 100000 * 1000000LL);
	size_t n = w->nframes;
	rt__idle_sweep(f->r, clock_now_us());
	assert_int_equal(w->nframes, n);
	assert_true(rt_user_online(f->r, "UA"));
	assert_true(rt_user_online(f->r, "UB"));
}

static void test_presence_self_once(void **state)
{
	fx *f = *state;
	ws_conn *a1 = connect_user(f, "UA");
	fake_client_send(a1, "{\"type\":\"presence_sub\",\"ids\":[\"UA\"]}");
	ws_conn *a2 = connect_user(f, "UA");
	fake_clear(a1);
	rt_set_manual_away(f->r, core_user_get(&f->st, "UA"), true);
	assert_int_equal(a1->nframes, 1);  /* subscribed to itself: still one copy */
	assert_int_equal(a2->nframes, 1);
	fake_disconnect(a1);
	fake_disconnect(a2);
	assert_int_equal(rt__presence_subscribers(f->r, "UA"), 0);
	assert_int_equal(f->r->users.count, 0);
}

static void test_presence_subscription_cleanup(void **state)
{
	fx *f = *state;
	ws_conn *s1 = connect_user(f, "UA");
	ws_conn *s2 = connect_user(f, "UD");
	fake_client_send(s1, "{\"type\":\"presence_sub\",\"ids\":[\"UB\",\"UC\"]}");
	fake_client_send(s2, "{\"type\":\"presence_sub\",\"ids\":[\"UC\",\"UB\"]}");
	assert_int_equal(rt__presence_subscribers(f->r, "UB"), 2);
	assert_int_equal(rt__presence_subscribers(f->r, "UC"), 2);
	/* re-subscribing replaces */
	fake_client_send(s1, "{\"type\":\"presence_sub\",\"ids\":[\"UC\"]}");
	assert_int_equal(rt__presence_subscribers(f->r, "UB"), 1);
	assert_int_equal(rt__presence_subscribers(f->r, "UC"), 2);
	ws_conn *b = connect_user(f, "UB");
	assert_int_equal(s1->nframes, 0);
	assert_string_equal(last(s2),
			    "{\"type\":\"presence_change\",\"user\":\"UB\",\"presence\":\"active\"}");
	/* a closing session leaves every index it was in */
	fake_disconnect(s2);
	assert_int_equal(rt__presence_subscribers(f->r, "UB"), 0);
	assert_int_equal(rt__presence_subscribers(f->r, "UC"), 1);
	fake_client_send(s1, "{\"type\":\"presence_sub\",\"ids\":[]}");
	assert_int_equal(rt__presence_subscribers(f->r, "UC"), 0);
	/* entries are freed once nobody is connected or subscribed: UA, UB */
	assert_int_equal(f->r->users.count, 2);
	assert_null(map_get(&f->r->users, "UC"));
	fake_disconnect(b);
	fake_disconnect(s1);
	assert_int_equal(f->r->users.count, 0);
	assert_int_equal(f->r->orgs.count, 0);
	/* too many ids: an error, subscriptions unchanged */
	ws_conn *s3 = connect_user(f, "UA");
	fake_client_send(s3, "{\"type\":\"presence_sub\",\"ids\":[\"UB\"]}");
	buf big = BUF_INIT;
	buf_adds(&big, "{\"type\":\"presence_sub\",\"id\":9,\"ids\":[");
	for (int i = 0; i <= RT_PRESENCE_MAX_IDS; i++)
		buf_printf(&big, "%s\"UB\"", i ? "," : "");
	buf_adds(&big, "]}");
	fake_client_send(s3, big.data);
	buf_release(&big);
	json_t *j = json_loads(last(s3), 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "error"), "code")), 6);
	assert_int_equal(json_integer_value(json_object_get(j, "reply_to")), 9);
	json_decref(j);
	assert_int_equal(rt__presence_subscribers(f->r, "UB"), 1);
}

static void test_presence_query(void **state)
{
	fx *f = *state;
	ws_conn *a = connect_user(f, "UA");
	ws_conn *b = connect_user(f, "UB");
	clear_all();
	fake_client_send(a, "{\"type\":\"presence_query\",\"ids\":[\"UB\",\"UC\",\"UE\",\"UA\"]}");
	assert_int_equal(a->nframes, 3);
	assert_string_equal(frame(a, 0), "{\"type\":\"presence_change\",\"user\":\"UB\",\"presence\":\"active\"}");
	assert_string_equal(frame(a, 1), "{\"type\":\"presence_change\",\"user\":\"UC\",\"presence\":\"away\"}");
	assert_string_equal(frame(a, 2), "{\"type\":\"presence_change\",\"user\":\"UA\",\"presence\":\"active\"}");
	assert_int_equal(b->nframes, 0);
	assert_int_equal(rt__presence_subscribers(f->r, "UB"), 0);
}

/* ---- client messages ---- */

static json_t *last_json(ws_conn *c)
{
	json_t *j = json_loads(last(c), 0, NULL);
	assert_non_null(j);
	return j;
}

static int err_code(json_t *j)
{
	assert_string_equal(json_string_value(json_object_get(j, "type")), "error");
	return (int)json_integer_value(json_object_get(json_object_get(j, "error"), "code"));
}

static void test_client_ping(void **state)
{
	fx *f = *state;
	ws_conn *a = connect_user(f, "UA");
	fake_client_send(a, "{\"type\":\"ping\",\"id\":7,\"time\":1234,\"x\":{\"y\":[1]}}");
	json_t *j = last_json(a);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "pong");
	assert_int_equal(json_integer_value(json_object_get(j, "reply_to")), 7);
	assert_int_equal(json_integer_value(json_object_get(j, "time")), 1234);
	assert_non_null(json_object_get(j, "x"));
	assert_null(json_object_get(j, "id"));
	json_decref(j);
	fake_client_send(a, "{\"type\":\"ping\"}");
	assert_string_equal(last(a), "{\"type\":\"pong\"}");
}

static void test_client_errors(void **state)
{
	fx *f = *state;
	ws_conn *a = connect_user(f, "UA");
	static const struct {
		const char *in;
		int code;
		int reply_to;  /* 0 = none */
	} cases[] = {
		{"{", 1, 0},
		{"[1,2]", 1, 0},
		{"\"ping\"", 1, 0},
		{"{\"id\":3}", 1, 3},
		{"{\"type\":5,\"id\":4}", 1, 4},
		{"{\"type\":\"nope\",\"id\":5}", 2, 5},
		{"{\"type\":\"message\"}", 2, 0},
		{"{\"type\":\"ping\",\"type\":\"ping\"}", 1, 0},
		{"{\"type\":\"typing\",\"channel\":\"CNOPE\",\"id\":6}", 4, 6},
		{"{\"type\":\"typing\",\"id\":7}", 4, 7},
		{"{\"type\":\"presence_sub\",\"ids\":\"UB\"}", 6, 0},
		{"{\"type\":\"presence_query\"}", 6, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t before = a->nframes;
		fake_client_send(a, cases[i].in);
		assert_int_equal(a->nframes, before + 1);
		json_t *j = last_json(a);
		assert_int_equal(err_code(j), cases[i].code);
		if (cases[i].reply_to) {
			assert_int_equal(json_integer_value(json_object_get(j, "reply_to")), cases[i].reply_to);
			assert_true(json_is_false(json_object_get(j, "ok")));
		} else {
			assert_null(json_object_get(j, "reply_to"));
		}
		json_decref(j);
	}
	/* too large */
	char *big = xmalloc(RT_CLIENT_MAX_BYTES + 2);
	memset(big, ' ', RT_CLIENT_MAX_BYTES + 1);
	big[RT_CLIENT_MAX_BYTES + 1] = '\0';
	fake_client_send(a, big);
	free(big);
	json_t *j = last_json(a);
	assert_int_equal(err_code(j), 5);
	json_decref(j);
	assert_false(a->closing);
	assert_int_equal(rt_user_connections(f->r, "UA"), 1);
}

static void test_client_typing(void **state)
{
	fx *f = *state;
	ws_conn *a1 = connect_user(f, "UA");
	ws_conn *a2 = connect_user(f, "UA");
	ws_conn *b = connect_user(f, "UB");
	ws_conn *c = connect_user(f, "UC");
	clear_all();
	fake_client_send(a1, "{\"type\":\"typing\",\"channel\":\"CPRIV\",\"id\":1}");
	const char *want = "{\"type\":\"user_typing\",\"channel\":\"CPRIV\",\"user\":\"UA\"}";
	assert_int_equal(a1->nframes, 0);  /* not to the sender */
	assert_string_equal(last(a2), want);  /* the sender's other tab sees it */
	assert_string_equal(last(b), want);
	assert_int_equal(c->nframes, 0);
	/* not a member: refused, nobody told */
	clear_all();
	fake_client_send(c, "{\"type\":\"typing\",\"channel\":\"CPRIV\"}");
	json_t *j = last_json(c);
	assert_int_equal(err_code(j), 4);
	json_decref(j);
	assert_int_equal(a1->nframes + b->nframes, 0);
	/* through the bus: counted as published */
	rt_stats st;
	rt_stats_get(f->r, &st);
	assert_int_equal(st.events_published, 1);
}

static void test_client_rate_limit(void **state)
{
	fx *f = *state;
	fk.sync_close = true;  /* the close arrives inside on_message */
	ws_conn *a = connect_user(f, "UA");
	for (int i = 0; i < RT_RATE_SOFT; i++)
		fake_client_send(a, "{\"type\":\"ping\"}");
	assert_int_equal(a->nframes, RT_RATE_SOFT);
	assert_string_equal(last(a), "{\"type\":\"pong\"}");
	fake_client_send(a, "{\"type\":\"ping\"}");
	json_t *j = last_json(a);
	assert_int_equal(err_code(j), 3);
	json_decref(j);
	/* next second: a fresh budget */
	clock_set_fake(clock_now_us() + 1000000);
	fake_client_send(a, "{\"type\":\"ping\"}");
	assert_string_equal(last(a), "{\"type\":\"pong\"}");
	for (int i = 1; i < RT_RATE_HARD; i++)
		fake_client_send(a, "{\"type\":\"ping\"}");
	assert_false(a->closing);
	fake_client_send(a, "{\"type\":\"ping\"}");
	assert_true(a->closing);
	assert_int_equal(a->close_code, 1008);
	assert_true(a->gone);
	assert_int_equal(rt_user_connections(f->r, "UA"), 0);
	rt_stats st;
	rt_stats_get(f->r, &st);
	assert_int_equal(st.sessions, 0);
}

/* ---- dropping sessions, freeing ---- */

static void test_drop_sessions(void **state)
{
	fx *f = *state;
	fk.sync_close = true;
	ws_conn *b1 = connect_user(f, "UB");
	mk_token(f, "UB", TOKEN_SESSION);
	http_header h = {"cookie", "canal_session=secret-UB-3"};
	http_req req;
	req_init(&req, "", &h, 1);
	rt_handle_upgrade(f->r, &req);
	ws_conn *b2 = fk.conns[fk.nconns - 1];
	ws_conn *a = connect_user(f, "UA");
	assert_int_equal(rt_user_connections(f->r, "UB"), 2);
	/* only the session opened with the revoked token */
	rt_drop_token_sessions(f->r, mk_token(f, "UB", TOKEN_SESSION));
	assert_true(b2->closing);
	assert_int_equal(b2->close_code, 1008);
	assert_false(b1->closing);
	assert_int_equal(rt_user_connections(f->r, "UB"), 1);
	/* every session of the user */
	connect_user(f, "UB");
	rt_drop_user_sessions(f->r, "UB");
	assert_int_equal(rt_user_connections(f->r, "UB"), 0);
	assert_true(b1->closing);
	assert_false(a->closing);
	rt_drop_user_sessions(f->r, "UNOPE");
}

static void test_free_with_open_sessions(void **state)
{
	fx *f = *state;
	ws_conn *a = connect_user(f, "UA");
	ws_conn *b = connect_user(f, "UB");
	fake_client_send(a, "{\"type\":\"presence_sub\",\"ids\":[\"UB\",\"UC\"]}");
	free(rt_ticket_url(f->r, mk_token(f, "UA", TOKEN_USER)));
	clear_all();
	rt_free(f->r);
	f->r = NULL;
	assert_true(a->closing && b->closing);
	assert_int_equal(a->close_code, 1001);
	assert_null(a->ud);
	assert_int_equal(a->nframes + b->nframes, 0);  /* no presence fan-out while freeing */
	/* a late close from the ws layer finds no session */
	fake_deliver_close(a);
}

int main(void)
{
	if (ids_init() != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ticket_url, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ticket_single_use_and_hello, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ticket_expiry_and_revocation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ticket_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cookie_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_channel_members_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_channel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_except_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mentions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_and_org_scope, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fanout_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_during_send, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_transitions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_self_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_subscription_cleanup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_query, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_ping, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_typing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_presence_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_client_rate_limit, setup, teardown),
		cmocka_unit_test_setup_teardown(test_drop_sessions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_with_open_sessions, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
