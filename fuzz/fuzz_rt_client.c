/* libFuzzer harness for the messages clients send over an RTM WebSocket:
 * session_message_cb -> rt__client_message (src/rt/rt_client.c) with its
 * JSON parsing, type dispatch, error replies, rate limit, ping/pong,
 * typing (through the bus and rt_deliver to the other members) and
 * presence_sub / presence_query (src/rt/rt_presence.c).
 *
 * The WebSocket layer is a fake, the way tests/unit/test_rt.c does it:
 * this file defines every ws_* function the rt files call (and
 * http_respond), so the linker resolves them here and never pulls ws.o or
 * http.o out of libcanal.a (the harness object comes first on the link
 * line; an archive member is only taken for a symbol still undefined).
 * The fake records every frame queued to each connection (a reference
 * each), so the harness sees exactly the bytes a client would get.
 *
 * Setup, once (LLVMFuzzerInitialize): hot state with org T1 (users UA, UB,
 * UC; public CPUB with all three, private CPRIV with UA and UB, private
 * CHIDE with UB and UC only) and org T2 (user UX, public CX): the foreign
 * org and the hidden channel are there so leaks across them can be seen.
 * An rt on uv_default_loop (never run: everything here is synchronous)
 * with the fake ws, and two sessions opened the production way, through
 * an rtm.connect ticket and rt_handle_upgrade: A for UA, B for UB. The
 * wall clock is frozen.
 *
 * Input: split at NUL bytes into at most MAX_MSGS messages (the last one
 * takes the rest, NULs included), each delivered as one text message from
 * A's socket through the callback the ws layer calls. The bytes are passed
 * as they are: the real ws layer only hands over valid UTF-8, but the
 * handler must not rely on it.
 *
 * FUZZ_VERBOSE=1 build-fuzz/fuzz_rt_client FILE prints every message and
 * the frames A and B got for it.
 *
 * Checked after every message, besides memory safety and leaks:
 *  - every frame queued to A or B is valid JSON (duplicate keys refused),
 *    an object with a string "type";
 *  - A gets only pong, error and presence_change; an error has a known
 *    code and message, and "ok":false exactly when it has "reply_to"; a
 *    presence_change names a T1 user with its true presence; one message
 *    gets at most one reply, except presence_query (presence_change only,
 *    at most RT_PRESENCE_MAX_IDS);
 *  - B gets only user_typing from UA in CPUB or CPRIV (never CHIDE or
 *    another org's channel), byte for byte as the server formats it, with
 *    a canonical thread_ts when there is one;
 *  - A's subscriptions: at most RT_PRESENCE_MAX_IDS, distinct, T1 users
 *    only, and the two-way index (s->subs[i] <-> target->subscribers[pos])
 *    consistent, with no other subscriber anywhere;
 *  - both sessions stay open and indexed (8 messages never reach the
 *    hard rate limit).
 *
 * Between inputs (so every input starts from the same state and
 * LeakSanitizer's per-input check sees everything an input allocated
 * freed): A's subscriptions are dropped (rt__presence_unsub_all) and its
 * subs array freed, which must leave the rt with only UA's and UB's user
 * entries; the recorded frames are released; and A's rate-limit window
 * (rt_session.rl_window / rl_count) is zeroed, since with a frozen clock
 * every input falls in the same second and the fuzzer would otherwise
 * only ever see "rate limited" after the first few inputs. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/rules.h"
#include "rt/rt_internal.h"

#define MAX_MSGS 8

static bool verbose;  /* FUZZ_VERBOSE=1: print every message and frame */

static void fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_rt_client: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	abort();
}

/* ---- fake ws (see tests/unit/test_rt.c) ---- */

struct ws_conn {
	void *ud;
	const ws_callbacks *cb;
	ws_frame **frames;        /* everything queued, in order (a ref each) */
	size_t nframes, cap;
	bool closing;
	bool gone;                /* on_close delivered */
};

static ws_conn *last_accepted;

ws_frame *ws_frame_text(const char *payload, size_t len)
{
	ws_frame *f = xmalloc(sizeof *f + len + 1);
	f->refs = 1;
	f->len = (uint32_t)len;
	memcpy(f->data, payload, len);
	f->data[len] = '\0';
	return f;
}

void ws_frame_ref(ws_frame *f)
{
	f->refs++;
}

void ws_frame_unref(ws_frame *f)
{
	if (f->refs == 0)
		fail("frame unreferenced once too often", NULL);
	if (--f->refs == 0)
		free(f);
}

void ws_close(ws_conn *c, int code, const char *reason)
{
	(void)code;
	(void)reason;
	c->closing = true;  /* on_close is never delivered: a close is a failure here */
}

int ws_send(ws_conn *c, ws_frame *f)
{
	if (c->closing)
		return -1;
	if (c->nframes == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 64;
		c->frames = xrealloc(c->frames, c->cap * sizeof *c->frames);
	}
	ws_frame_ref(f);
	c->frames[c->nframes++] = f;
	return 0;
}

int ws_send_text(ws_conn *c, const char *msg, size_t len)
{
	ws_frame *f = ws_frame_text(msg, len);
	int rc = ws_send(c, f);
	ws_frame_unref(f);
	return rc;
}

ws_conn *ws_accept(ws_ctx *x, http_req *req, const ws_callbacks *cb, void *ud)
{
	(void)x;
	(void)req;
	ws_conn *c = xcalloc(1, sizeof *c);
	c->cb = cb;
	c->ud = ud;
	last_accepted = c;
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
	(void)r;
	(void)content_type;
	(void)extra_headers;
	fprintf(stderr, "fuzz_rt_client: upgrade refused: %d %.*s\n", status, (int)len,
		(const char *)body);
	abort();
}

static void fake_clear(ws_conn *c)
{
	for (size_t i = 0; i < c->nframes; i++)
		ws_frame_unref(c->frames[i]);
	c->nframes = 0;
}

/* ---- the fixture ---- */

static struct {
	core_state st;
	rt *r;
	ws_conn *a, *b;
	rt_session *sa, *sb;
} H;

static void mk_user(const char *id, const char *org_id)
{
	core_user_add(&H.st, core_user_new(id, org_id));
}

static void mk_channel(const char *id, const char *org_id, chan_kind kind, const char *name,
		       const char *const *members)
{
	channel *ch = core_channel_new(id, org_id, kind);
	ch->name = xstrdup(name);
	core_channel_add(&H.st, ch);
	for (; *members; members++)
		core_member_add(ch, *members, 1);
}

/* Opens a session for uid through an rtm.connect ticket, as a client does. */
static ws_conn *connect_user(const char *uid)
{
	char secret[64], hash[TOKEN_HASH_HEX];
	snprintf(secret, sizeof secret, "secret-%s", uid);
	ids_token_hash(secret, hash);
	token *t = core_token_new(hash, TOKEN_USER);
	snprintf(t->user_id, sizeof t->user_id, "%s", uid);
	snprintf(t->org_id, sizeof t->org_id, "%s", core_user_get(&H.st, uid)->org_id);
	core_token_add(&H.st, t);

	char *url = rt_ticket_url(H.r, t);
	const char *q = url ? strchr(url, '?') : NULL;
	if (!q)
		fail("no ticket url", url);
	http_req req;
	memset(&req, 0, sizeof req);
	req.method = "GET";
	req.path = "/rtm";
	req.query = (char *)(q + 1);
	last_accepted = NULL;
	rt_handle_upgrade(H.r, &req);
	free(url);
	ws_conn *c = last_accepted;
	if (!c || c->nframes == 0 || strcmp((const char *)c->frames[0]->data, "{\"type\":\"hello\"}") != 0)
		fail("session did not open with hello", uid);
	return c;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	log_set_level(LOG_ERROR);
	verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (ids_init() != 0)
		abort();
	clock_set_fake(1700000000LL * 1000000);
	core_state_init(&H.st);
	core_org_add(&H.st, core_org_new("T1"));
	core_org_add(&H.st, core_org_new("T2"));
	mk_user("UA", "T1");
	mk_user("UB", "T1");
	mk_user("UC", "T1");
	mk_user("UX", "T2");
	mk_channel("CPUB", "T1", CHAN_PUBLIC, "general", (const char *const[]){"UA", "UB", "UC", NULL});
	mk_channel("CPRIV", "T1", CHAN_PRIVATE, "secret", (const char *const[]){"UA", "UB", NULL});
	mk_channel("CHIDE", "T1", CHAN_PRIVATE, "hidden", (const char *const[]){"UB", "UC", NULL});
	mk_channel("CX", "T2", CHAN_PUBLIC, "general", (const char *const[]){"UX", NULL});
	H.r = rt_new(uv_default_loop(), &H.st, NULL, "http://127.0.0.1:8080/");
	H.a = connect_user("UA");
	H.b = connect_user("UB");
	H.sa = ws_conn_ud(H.a);
	H.sb = ws_conn_ud(H.b);
	/* Grow the delivery scratch now, not inside the first typing input
	 * (it lives as long as the rt; LeakSanitizer would re-check that
	 * input for nothing). */
	H.a->cb->on_message(H.a, "{\"type\":\"typing\",\"channel\":\"CPUB\"}", 35, H.a->ud);
	fake_clear(H.a);
	fake_clear(H.b);
	H.sa->rl_window = H.sa->rl_count = 0;
	return 0;
}

/* ---- checks ---- */

static json_t *frame_json(const ws_frame *f, const char *who)
{
	json_error_t err;
	json_t *j = json_loadb((const char *)f->data, f->len, JSON_REJECT_DUPLICATES, &err);
	if (!j) {
		fprintf(stderr, "fuzz_rt_client: %s got invalid JSON (%s): %.*s\n", who, err.text,
			(int)(f->len > 2000 ? 2000 : f->len), (const char *)f->data);
		abort();
	}
	if (!json_is_object(j) || !json_is_string(json_object_get(j, "type")))
		fail("frame without a type", (const char *)f->data);
	return j;
}

static const char *jstr(json_t *j, const char *key)
{
	return json_string_value(json_object_get(j, key));
}

/* A frame to A: a reply to its own message. */
static void check_a_frame(const ws_frame *f, size_t nframes_for_msg)
{
	json_t *j = frame_json(f, "A");
	const char *type = jstr(j, "type");
	const char *d = (const char *)f->data;
	if (strcmp(type, "presence_change") == 0) {
		const char *u = jstr(j, "user"), *p = jstr(j, "presence");
		if (!u || !p || json_object_size(j) != 3)
			fail("bad presence_change", d);
		const char *want = strcmp(u, "UA") == 0 || strcmp(u, "UB") == 0 ? "active"
				   : strcmp(u, "UC") == 0                          ? "away"
										   : NULL;
		if (!want)
			fail("presence_change for a user not in A's org", d);
		if (strcmp(p, want) != 0)
			fail("wrong presence", d);
	} else if (nframes_for_msg > 1) {
		fail("several replies to one message", d);
	} else if (strcmp(type, "error") == 0) {
		json_t *e = json_object_get(j, "error");
		json_int_t code = json_integer_value(json_object_get(e, "code"));
		if (!json_is_integer(json_object_get(e, "code")) || code < 1 || code > 6 ||
		    !jstr(e, "msg"))
			fail("bad error", d);
		json_t *ok = json_object_get(j, "ok");
		json_t *rt = json_object_get(j, "reply_to");
		if ((rt != NULL) != (ok != NULL) || (ok && !json_is_false(ok)))
			fail("error with reply_to and ok out of step", d);
		if (rt && !json_is_string(rt) && !json_is_integer(rt) && !json_is_real(rt))
			fail("error replying to a non-scalar id", d);
		if (json_object_size(j) != (rt ? 4u : 2u))
			fail("error with extra fields", d);
	} else if (strcmp(type, "pong") != 0) {
		fail("unexpected frame to A", d);
	} else if (json_object_get(j, "id")) {
		fail("pong kept the id", d);
	}
	json_decref(j);
}

/* The thread_ts of a typing frame: a canonical ts (what rules_ts_format
 * writes for a positive value) followed by the rest of the frame. */
static int canonical_ts_then(const char *d, const char *rest)
{
	const char *q = strchr(d, '"');
	if (!q || strcmp(q, rest) != 0 || (size_t)(q - d) >= 24)
		return 0;
	char ts[24];
	memcpy(ts, d, (size_t)(q - d));
	ts[q - d] = '\0';
	int64_t v;
	char again[24];
	if (rules_ts_parse(ts, &v) != 0 || v <= 0)
		return 0;
	rules_ts_format(v, again);
	return strcmp(ts, again) == 0;
}

/* A frame to B: only A's typing in a channel both are in, byte for byte,
 * with or without a thread_ts. */
static void check_b_frame(const ws_frame *f)
{
	json_decref(frame_json(f, "B"));
	const char *d = (const char *)f->data;
	static const char *const chans[] = {"CPUB", "CPRIV"};
	for (size_t i = 0; i < 2; i++) {
		char plain[96], thread[96];
		snprintf(plain, sizeof plain, "{\"type\":\"user_typing\",\"channel\":\"%s\",\"user\":\"UA\"}",
			 chans[i]);
		snprintf(thread, sizeof thread, "{\"type\":\"user_typing\",\"channel\":\"%s\",\"thread_ts\":\"",
			 chans[i]);
		if (strcmp(d, plain) == 0)
			return;
		size_t n = strlen(thread);
		if (strncmp(d, thread, n) == 0 && canonical_ts_then(d + n, "\",\"user\":\"UA\"}"))
			return;
	}
	fail("unexpected frame to B", d);
}

static void check_subs(void)
{
	rt_session *s = H.sa;
	if (s->nsubs > RT_PRESENCE_MAX_IDS || s->nsubs > s->subs_cap)
		fail("too many presence subscriptions", NULL);
	if (H.sb->nsubs != 0)
		fail("B got subscriptions", NULL);
	for (uint32_t i = 0; i < s->nsubs; i++) {
		rt_user *t = s->subs[i].target;
		if (map_get(&H.r->users, t->id) != t)
			fail("subscription to a user entry not in the rt", t->id);
		user *u = core_user_get(&H.st, t->id);
		if (!u || strcmp(u->org_id, "T1") != 0)
			fail("subscription to a user outside A's org", t->id);
		if (s->subs[i].pos >= t->nsubscribers || t->subscribers[s->subs[i].pos].s != s ||
		    t->subscribers[s->subs[i].pos].idx != i)
			fail("subscription index out of step", t->id);
		for (uint32_t k = 0; k < i; k++)
			if (s->subs[k].target == t)
				fail("subscribed twice", t->id);
	}
	size_t total = 0, it = 0;
	void *v;
	while (map_next(&H.r->users, &it, NULL, &v))
		total += ((rt_user *)v)->nsubscribers;
	if (total != s->nsubs)
		fail("subscriber arrays and subscriptions disagree", NULL);
}

static void check_sessions(void)
{
	if (H.a->closing || H.b->closing || H.sa->closed || H.sb->closed || !H.sa->indexed ||
	    !H.sb->indexed || H.sa->ws != H.a || H.sb->ws != H.b)
		fail("a session was closed", NULL);
	rt_stats st;
	rt_stats_get(H.r, &st);
	if (st.sessions != 2 || rt_user_connections(H.r, "UA") != 1 ||
	    rt_user_connections(H.r, "UB") != 1)
		fail("session indexes changed", NULL);
}

/* ---- one input ---- */

static void reset(void)
{
	rt_session *s = H.sa;
	rt__presence_unsub_all(H.r, s);
	free(s->subs);
	s->subs = NULL;
	s->subs_cap = 0;
	s->rl_window = 0;
	s->rl_count = 0;
	fake_clear(H.a);
	fake_clear(H.b);
	if (H.r->users.count != 2 || !map_get(&H.r->users, "UA") || !map_get(&H.r->users, "UB"))
		fail("user entries left behind by subscriptions", NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t size)
{
	const char *p = (const char *)in, *end = p + size;
	for (int k = 0; k < MAX_MSGS && p <= end; k++) {
		const char *z = k < MAX_MSGS - 1 ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		size_t n = z ? (size_t)(z - p) : (size_t)(end - p);
		size_t before_a = H.a->nframes, before_b = H.b->nframes;
		/* Exactly n bytes, in their own allocation: ASan catches a read
		 * past the message (the ws layer's buffer is not NUL-terminated
		 * either). */
		char *msg = xmalloc(n ? n : 1);
		memcpy(msg, p, n);
		H.a->cb->on_message(H.a, msg, n, H.a->ud);
		free(msg);
		check_sessions();
		if (verbose) {
			fprintf(stderr, "> %.*s\n", (int)(n > 300 ? 300 : n), p);
			for (size_t i = before_a; i < H.a->nframes; i++)
				fprintf(stderr, "  A< %.300s\n", (const char *)H.a->frames[i]->data);
			for (size_t i = before_b; i < H.b->nframes; i++)
				fprintf(stderr, "  B< %.300s\n", (const char *)H.b->frames[i]->data);
		}
		size_t got = H.a->nframes - before_a;
		if (got > RT_PRESENCE_MAX_IDS)
			fail("too many replies to one message", NULL);
		for (size_t i = before_a; i < H.a->nframes; i++)
			check_a_frame(H.a->frames[i], got);
		for (size_t i = before_b; i < H.b->nframes; i++)
			check_b_frame(H.b->frames[i]);
		check_subs();
		if (!z)
			break;
		p = z + 1;
	}
	reset();
	return 0;
}
