/* Hot state: indexing, lookups, re-indexing, membership, ts and listings.
 * Every test releases its state, so ASan's leak check covers ownership. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "core/state.h"

static user *mk_user(core_state *s, const char *id, const char *org_id, const char *name, const char *email)
{
	user *u = core_user_new(id, org_id);
	u->name = xstrdup(name);
	u->email = xstrdup(email);
	u->real_name = xstrdup("Real Name");
	u->tz = xstrdup("UTC");
	core_user_add(s, u);
	return u;
}

static channel *mk_chan(core_state *s, const char *id, const char *org_id, chan_kind kind, const char *name)
{
	channel *c = core_channel_new(id, org_id, kind);
	c->name = xstrdup(name);
	c->topic = xstrdup("topic");
	core_channel_add(s, c);
	return c;
}

static void test_constructors(void **st)
{
	channel *c = core_channel_new("C1", "T1", CHAN_PRIVATE);
	assert_string_equal(c->id, "C1");
	assert_string_equal(c->org_id, "T1");
	assert_int_equal(c->kind, CHAN_PRIVATE);
	assert_null(c->name);
	assert_int_equal(core_member_count(c), 0);
	/* Owned by a state from here on, so the state frees it. */
	core_state s;
	core_state_init(&s);
	core_channel_add(&s, c);
	token *t = core_token_new("abcdef", TOKEN_BOT);
	assert_string_equal(t->hash, "abcdef");
	assert_int_equal(t->kind, TOKEN_BOT);
	core_token_add(&s, t);
	/* An overlong id is truncated, never overflowing the field. */
	char longid[100];
	memset(longid, 'X', sizeof longid - 1);
	longid[sizeof longid - 1] = '\0';
	org *o = core_org_new(longid);
	assert_int_equal(strlen(o->id), ID_MAX - 1);
	core_org_add(&s, o);
	core_state_release(&s);
}

static void test_entity_lookups(void **st)
{
	core_state s;
	core_state_init(&s);
	org *o = core_org_new("T1");
	o->name = xstrdup("Acme");
	o->domain = xstrdup("acme");
	core_org_add(&s, o);
	user *u = mk_user(&s, "U1", "T1", "alice", "Alice@Example.com");
	usergroup *g = core_usergroup_new("S1", "T1");
	g->handle = xstrdup("oncall");
	g->users = xstrdup("U1");
	core_usergroup_add(&s, g);
	app *a = core_app_new("A1", "T1");
	strcpy(a->bot_id, "B1");
	a->name = xstrdup("bot");
	a->scopes = xstrdup("chat:write");
	a->signing_secret = xstrdup("sec");
	core_app_add(&s, a);
	app *a2 = core_app_new("A2", "T1"); /* no bot: not in the bots index */
	core_app_add(&s, a2);
	token *t = core_token_new("h1", TOKEN_USER);
	t->scopes = xstrdup("*");
	core_token_add(&s, t);

	assert_ptr_equal(core_org_get(&s, "T1"), o);
	assert_null(core_org_get(&s, "T2"));
	assert_null(core_org_get(&s, NULL));
	assert_ptr_equal(core_user_get(&s, "U1"), u);
	assert_null(core_user_get(&s, "U2"));
	assert_ptr_equal(core_usergroup_get(&s, "S1"), g);
	assert_ptr_equal(core_app_get(&s, "A1"), a);
	assert_ptr_equal(core_app_get(&s, "A2"), a2);
	assert_ptr_equal(core_app_by_bot(&s, "B1"), a);
	assert_null(core_app_by_bot(&s, ""));
	assert_ptr_equal(core_token_get(&s, "h1"), t);
	assert_null(core_token_get(&s, "h2"));
	core_state_release(&s);
}

static void test_user_name_email_per_org(void **st)
{
	core_state s;
	core_state_init(&s);
	user *a = mk_user(&s, "U1", "T1", "alice", "Alice@Example.com");
	user *b = mk_user(&s, "U2", "T2", "alice", "alice@example.com");
	user *nomail = core_user_new("U3", "T1");
	core_user_add(&s, nomail); /* no name, no email: only the id index */

	assert_ptr_equal(core_user_by_name(&s, "T1", "alice"), a);
	assert_ptr_equal(core_user_by_name(&s, "T2", "alice"), b);
	assert_null(core_user_by_name(&s, "T3", "alice"));
	/* Emails match case-insensitively, per org. */
	assert_ptr_equal(core_user_by_email(&s, "T1", "alice@example.com"), a);
	assert_ptr_equal(core_user_by_email(&s, "T1", "ALICE@EXAMPLE.COM"), a);
	assert_ptr_equal(core_user_by_email(&s, "T2", "Alice@Example.com"), b);
	assert_null(core_user_by_email(&s, "T1", "bob@example.com"));
	assert_null(core_user_by_email(&s, NULL, "x"));
	assert_ptr_equal(core_user_get(&s, "U3"), nomail);
	core_state_release(&s);
}

static void test_user_reindex(void **st)
{
	core_state s;
	core_state_init(&s);
	user *u = mk_user(&s, "U1", "T1", "alice", "alice@example.com");
	char *old_name = u->name, *old_email = u->email;
	u->name = xstrdup("alicia");
	u->email = xstrdup("Alicia@Example.com");
	core_user_reindex(&s, u, old_name, old_email);
	free(old_name);
	free(old_email);
	assert_null(core_user_by_name(&s, "T1", "alice"));
	assert_null(core_user_by_email(&s, "T1", "alice@example.com"));
	assert_ptr_equal(core_user_by_name(&s, "T1", "alicia"), u);
	assert_ptr_equal(core_user_by_email(&s, "T1", "alicia@example.com"), u);

	/* A stale old value that now belongs to somebody else stays theirs. */
	user *v = mk_user(&s, "U2", "T1", "alice", "alice@example.com");
	core_user_reindex(&s, u, "alice", "alice@example.com");
	assert_ptr_equal(core_user_by_name(&s, "T1", "alice"), v);
	assert_ptr_equal(core_user_by_email(&s, "T1", "alice@example.com"), v);
	assert_ptr_equal(core_user_by_name(&s, "T1", "alicia"), u);
	core_state_release(&s);
}

static void test_channel_name_index(void **st)
{
	core_state s;
	core_state_init(&s);
	channel *pub = mk_chan(&s, "C1", "T1", CHAN_PUBLIC, "general");
	channel *priv = mk_chan(&s, "C2", "T1", CHAN_PRIVATE, "secret");
	channel *other = mk_chan(&s, "C3", "T2", CHAN_PUBLIC, "general");
	channel *mpim = mk_chan(&s, "C4", "T1", CHAN_MPIM, "mpdm-a--b-1");

	assert_ptr_equal(core_channel_get(&s, "C1"), pub);
	assert_ptr_equal(core_channel_by_name(&s, "T1", "general"), pub);
	assert_ptr_equal(core_channel_by_name(&s, "T1", "secret"), priv);
	assert_ptr_equal(core_channel_by_name(&s, "T2", "general"), other);
	assert_null(core_channel_by_name(&s, "T2", "secret"));
	/* MPIMs are found by id only: their names are generated, not taken. */
	assert_ptr_equal(core_channel_get(&s, "C4"), mpim);
	assert_null(core_channel_by_name(&s, "T1", "mpdm-a--b-1"));
	assert_null(core_channel_by_name(&s, NULL, "general"));
	core_state_release(&s);
}

static void test_channel_rename(void **st)
{
	core_state s;
	core_state_init(&s);
	channel *c = mk_chan(&s, "C1", "T1", CHAN_PUBLIC, "one");
	core_channel_rename(&s, c, "two");
	assert_string_equal(c->name, "two");
	assert_null(core_channel_by_name(&s, "T1", "one"));
	assert_ptr_equal(core_channel_by_name(&s, "T1", "two"), c);
	assert_string_equal(c->previous_names, "one");
	core_channel_rename(&s, c, "three");
	assert_string_equal(c->previous_names, "one,two");
	assert_ptr_equal(core_channel_by_name(&s, "T1", "three"), c);
	/* Renaming to the same name records nothing. */
	core_channel_rename(&s, c, "three");
	assert_string_equal(c->previous_names, "one,two");
	assert_ptr_equal(core_channel_by_name(&s, "T1", "three"), c);
	/* The old name is free for another channel. */
	channel *d = mk_chan(&s, "C2", "T1", CHAN_PUBLIC, "one");
	assert_ptr_equal(core_channel_by_name(&s, "T1", "one"), d);
	core_state_release(&s);
}

static void test_im_pairs(void **st)
{
	core_state s;
	core_state_init(&s);
	channel *im = core_channel_new("D1", "T1", CHAN_IM);
	strcpy(im->creator, "U2");
	strcpy(im->im_user, "U1");
	core_channel_add(&s, im);
	channel *self = core_channel_new("D2", "T1", CHAN_IM);
	strcpy(self->creator, "U3");
	strcpy(self->im_user, "U3");
	core_channel_add(&s, self);
	channel *self2 = core_channel_new("D3", "T1", CHAN_IM);
	strcpy(self2->creator, "U4"); /* self-DM with im_user left empty */
	core_channel_add(&s, self2);

	assert_ptr_equal(core_im_get(&s, "T1", "U1", "U2"), im);
	assert_ptr_equal(core_im_get(&s, "T1", "U2", "U1"), im);
	assert_null(core_im_get(&s, "T2", "U1", "U2"));
	assert_null(core_im_get(&s, "T1", "U1", "U3"));
	assert_ptr_equal(core_im_get(&s, "T1", "U3", "U3"), self);
	assert_ptr_equal(core_im_get(&s, "T1", "U4", "U4"), self2);
	assert_null(core_im_get(&s, "T1", NULL, "U1"));
	/* IMs have no name index. */
	assert_ptr_equal(core_channel_get(&s, "D1"), im);
	core_state_release(&s);
}

static void test_members(void **st)
{
	core_state s;
	core_state_init(&s);
	channel *c = mk_chan(&s, "C1", "T1", CHAN_PUBLIC, "general");
	chan_member *m1 = core_member_add(c, "U1", 100);
	assert_string_equal(m1->user_id, "U1");
	assert_int_equal(m1->joined, 100);
	assert_int_equal(m1->last_read, 0);
	assert_int_equal(core_member_count(c), 1);
	/* Adding again returns the existing membership untouched. */
	m1->last_read = 42;
	assert_ptr_equal(core_member_add(c, "U1", 999), m1);
	assert_int_equal(m1->joined, 100);
	assert_int_equal(core_member_count(c), 1);
	core_member_add(c, "U2", 101);
	core_member_add(c, "U3", 102);
	assert_int_equal(core_member_count(c), 3);
	assert_ptr_equal(core_member_get(c, "U1"), m1);
	assert_null(core_member_get(c, "U9"));
	assert_null(core_member_get(c, NULL));
	core_member_remove(c, "U2");
	assert_null(core_member_get(c, "U2"));
	assert_int_equal(core_member_count(c), 2);
	core_member_remove(c, "U2"); /* absent: no-op */
	assert_int_equal(core_member_count(c), 2);
	/* Re-joining gives a fresh membership. */
	chan_member *again = core_member_add(c, "U2", 200);
	assert_int_equal(again->joined, 200);
	assert_int_equal(core_member_count(c), 3);
	core_state_release(&s); /* frees remaining members */
}

static void test_ts_monotonic(void **st)
{
	core_state s;
	core_state_init(&s);
	int64_t clock = 1700000000000000; /* fake clock, µs */
	assert_int_equal(core_ts_next(&s, clock), clock);
	/* Same instant: bumped by one µs. */
	assert_int_equal(core_ts_next(&s, clock), clock + 1);
	assert_int_equal(core_ts_next(&s, clock), clock + 2);
	/* Clock stepping backwards never reuses or reorders a ts. */
	assert_int_equal(core_ts_next(&s, clock - 5000000), clock + 3);
	/* Clock moving ahead is followed. */
	assert_int_equal(core_ts_next(&s, clock + 10), clock + 10);
	assert_int_equal(s.last_ts, clock + 10);
	int64_t prev = s.last_ts;
	for (int i = 0; i < 1000; i++) {
		int64_t t = core_ts_next(&s, clock + (i % 7));
		assert_true(t > prev);
		prev = t;
	}
	core_state_release(&s);
}

static void test_sorted_keys(void **st)
{
	core_state s;
	core_state_init(&s);
	const char *ids[] = {"U5", "U1", "U30", "U2", "U10", "A0"};
	for (size_t i = 0; i < 6; i++)
		mk_user(&s, ids[i], "T1", ids[i], NULL);
	size_t n;
	const char **keys = core_sorted_keys(&s.users, &n);
	assert_int_equal(n, 6);
	const char *want[] = {"A0", "U1", "U10", "U2", "U30", "U5"};
	for (size_t i = 0; i < n; i++)
		assert_string_equal(keys[i], want[i]);
	free(keys);

	keys = core_sorted_keys(&s.channels, &n); /* empty map */
	assert_int_equal(n, 0);
	assert_non_null(keys);
	free(keys);
	core_state_release(&s);
}

static void test_release_empty_and_reinit(void **st)
{
	core_state s;
	core_state_init(&s);
	core_state_release(&s);
	core_state_init(&s);
	mk_user(&s, "U1", "T1", "a", "a@b.c");
	core_state_release(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_constructors),
		cmocka_unit_test(test_entity_lookups),
		cmocka_unit_test(test_user_name_email_per_org),
		cmocka_unit_test(test_user_reindex),
		cmocka_unit_test(test_channel_name_index),
		cmocka_unit_test(test_channel_rename),
		cmocka_unit_test(test_im_pairs),
		cmocka_unit_test(test_members),
		cmocka_unit_test(test_ts_monotonic),
		cmocka_unit_test(test_sorted_keys),
		cmocka_unit_test(test_release_empty_and_reinit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
