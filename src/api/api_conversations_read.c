/* conversations.info / list / history / replies / members: the read side of
 * the conversations family.
 *
 * Visibility: api_channel() already answers channel_not_found for a
 * private channel, IM or MPIM the caller is not in, so nothing here can
 * reveal one. On top of that Slack lets a *bot* read the history of a
 * public channel only once it is a member (not_in_channel), while a user
 * may read any public channel of their workspace.
 *
 * Pagination:
 *  - list and members page over ids sorted with strcmp; the cursor names
 *    the first id of the next page (api_cursor_start / api_set_next_cursor).
 *  - history and replies page over timestamps; the cursor names the last
 *    ts returned and the next page continues strictly past it (older for
 *    history, newer for replies). The caller re-sends its other arguments
 *    with the cursor, as Slack's SDKs do, so the cursor only moves the one
 *    bound it replaces. A cursor is never repeated because each page moves
 *    the bound past at least one message. */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "base/xalloc.h"

#define TS_CURSOR_KIND "next_ts"

/* limit: absent or 0 gives the default, above max is clamped (Slack does
 * both), anything that is not a non-negative integer is invalid_limit. */
static int get_limit(api_ctx *c, long def, long max, size_t *out)
{
	long n;
	if (api_int(c, "limit", def, 0, max, &n) != 0)
		return ERR_INVALID_LIMIT;
	*out = (size_t)(n ? n : def);
	return 0;
}

/* A channel the caller may read with the given scope verb. For "history"
 * a bot must also be a member, whatever the channel's kind. */
static int chan_for_read(api_ctx *c, const char *verb, channel **out)
{
	channel *ch;
	int rc = api_channel(c, "channel", false, &ch);
	if (rc)
		return rc;
	rc = api_need_chan_scope(c, ch, verb);
	if (rc)
		return rc;
	if (strcmp(verb, "history") == 0 && c->tok->kind == TOKEN_BOT && !rules_is_member(c->me, ch))
		return ERR_NOT_IN_CHANNEL;
	*out = ch;
	return 0;
}

/* The ts a history/replies cursor carries, or 0 when there is no cursor. */
static int ts_cursor(api_ctx *c, int64_t *out)
{
	*out = 0;
	const char *cur = api_str(c, "cursor");
	if (!cur || !*cur)
		return 0;
	char *val = NULL;
	int rc = rules_cursor_decode(cur, TS_CURSOR_KIND, &val);
	/* We never hand out the largest ts (no message has it); a forged one
	 * would overflow the "strictly newer" bound of conversations.replies
	 * (fuzz/corpus/fuzz_json_api/crash-cursor-max). */
	if (rc == 0 && (rules_ts_parse(val, out) != 0 || *out <= 0 || *out == INT64_MAX))
		rc = ERR_INVALID_CURSOR;
	free(val);
	return rc;
}

static void set_ts_cursor(api_ctx *c, bool more, int64_t last_ts)
{
	char ts[24];
	rules_ts_format(last_ts, ts);
	api_set_next_cursor(c, TS_CURSOR_KIND, more ? ts : NULL);
}

/* latest / oldest / inclusive as a store_range. */
static int range_args(api_ctx *c, store_range *r)
{
	memset(r, 0, sizeof *r);
	int rc = api_ts(c, "latest", ERR_INVALID_TS_LATEST, &r->latest);
	if (!rc)
		rc = api_ts(c, "oldest", ERR_INVALID_TS_OLDEST, &r->oldest);
	if (!rc && api_bool(c, "inclusive", false, &r->inclusive) != 0)
		rc = ERR_INVALID_ARGUMENTS;
	return rc;
}

/* Metadata is Slack's opt-in: without include_all_metadata an app sees
 * only the metadata it attached itself. */
static json_t *render_msg(api_ctx *c, const message *m, bool all_metadata)
{
	json_t *o = api_render_message(c, m);
	if (!all_metadata && (!c->app || strcmp(m->app_id, c->app->id) != 0))
		json_object_del(o, "metadata");
	return o;
}

int api_conversations_info(api_ctx *c)
{
	channel *ch;
	int rc = api_channel(c, "channel", false, &ch);
	if (rc)
		return rc;
	rc = api_need_chan_scope(c, ch, "read");
	if (rc)
		return rc;
	bool num;
	if (api_bool(c, "include_num_members", false, &num) != 0)
		return ERR_INVALID_ARGUMENTS;
	json_t *o = api_render_channel(c, ch);
	if (num && ch->kind != CHAN_IM)
		json_object_set_new(o, "num_members", json_integer((json_int_t)core_member_count(ch)));
	chan_member *me = core_member_get(ch, c->me->id);
	int64_t unread;
	if (me && store_msg_count_after(c->env->store, ch->id, me->last_read, &unread) == 0) {
		json_object_set_new(o, "unread_count", json_integer(unread));
		json_object_set_new(o, "unread_count_display", json_integer(unread));
	}
	int64_t mentions;
	if (me && api_client_mention_counts(c, &ch, 1, &mentions) == 0) {
		json_object_set_new(o, "mention_count", json_integer(mentions));
		json_object_set_new(o, "mention_count_display", json_integer(mentions));
	}
	json_object_set_new(c->out, "channel", o);
	return 0;
}

/* conversations.list types=, as a bit per chan_kind. */
static const struct {
	const char *name;
	chan_kind kind;
	const char *scope;
} list_types[] = {
	{"public_channel", CHAN_PUBLIC, "channels:read"},
	{"private_channel", CHAN_PRIVATE, "groups:read"},
	{"im", CHAN_IM, "im:read"},
	{"mpim", CHAN_MPIM, "mpim:read"},
};

static int parse_types(api_ctx *c, unsigned *mask)
{
	char **l;
	size_t n = api_list(c, "types", &l);
	int rc = 0;
	*mask = n ? 0 : 1u << CHAN_PUBLIC;
	for (size_t i = 0; i < n && !rc; i++) {
		size_t k = 0, nt = sizeof list_types / sizeof list_types[0];
		while (k < nt && strcmp(l[i], list_types[k].name) != 0)
			k++;
		if (k == nt)
			rc = ERR_INVALID_TYPES;
		else
			*mask |= 1u << list_types[k].kind;
	}
	for (size_t k = 0; !rc && k < sizeof list_types / sizeof list_types[0]; k++)
		if (*mask & (1u << list_types[k].kind))
			rc = api_need_scope(c, list_types[k].scope);
	api_list_free(l, n);
	return rc;
}

static int cmp_chan_id(const void *a, const void *b)
{
	return strcmp((*(channel *const *)a)->id, (*(channel *const *)b)->id);
}

int api_conversations_list(api_ctx *c)
{
	unsigned mask;
	bool no_archived;
	size_t limit;
	int rc = parse_types(c, &mask);
	if (rc)
		return rc;
	if (api_bool(c, "exclude_archived", false, &no_archived) != 0)
		return ERR_INVALID_ARGUMENTS;
	rc = get_limit(c, 100, 1000, &limit);
	if (rc)
		return rc;

	/* Only this org's channels of the wanted kinds that the caller may
	 * see (non-public kinds: members only), sorted by id for the cursor. */
	core_state *s = c->env->state;
	size_t n = 0, cap = 64;
	channel **chans = xmalloc(cap * sizeof *chans);
	const char **keys = NULL;
	void *v;
	for (size_t i = 0; map_next(&s->channels, &i, NULL, &v);) {
		channel *ch = v;
		if (strcmp(ch->org_id, c->org->id) != 0 || !(mask & (1u << ch->kind)))
			continue;
		if ((no_archived && ch->archived) || !rules_can_see(c->me, ch))
			continue;
		if (n == cap)
			chans = xrealloc(chans, (cap *= 2) * sizeof *chans);
		chans[n++] = ch;
	}
	qsort(chans, n, sizeof *chans, cmp_chan_id);
	keys = xmalloc((n ? n : 1) * sizeof *keys);
	for (size_t i = 0; i < n; i++)
		keys[i] = chans[i]->id;
	size_t start;
	rc = api_cursor_start(c, "channel", keys, n, &start);
	if (rc)
		goto out;
	json_t *arr = json_array();
	size_t end = start + limit < n ? start + limit : n;
	for (size_t i = start; i < end; i++)
		json_array_append_new(arr, api_render_channel(c, chans[i]));
	json_object_set_new(c->out, "channels", arr);
	api_set_next_cursor(c, "channel", end < n ? keys[end] : NULL);
out:
	free(keys);
	free(chans);
	return rc;
}

int api_conversations_history(api_ctx *c)
{
	channel *ch;
	store_range r;
	bool all_meta;
	int64_t cur;
	message *msgs = NULL;
	size_t n = 0;
	bool more = false;
	int rc = chan_for_read(c, "history", &ch);
	if (rc)
		return rc;
	if ((rc = range_args(c, &r)) != 0)
		return rc;
	if ((rc = get_limit(c, 100, 999, &r.limit)) != 0)
		return rc;
	if (api_bool(c, "include_all_metadata", false, &all_meta) != 0)
		return ERR_INVALID_ARGUMENTS;
	if ((rc = ts_cursor(c, &cur)) != 0)
		return rc;
	if (cur) {
		/* Strictly older than the last ts of the previous page; one
		 * inclusive flag serves both bounds, so shift by 1µs when the
		 * caller asked for an inclusive oldest. */
		int64_t latest = r.inclusive ? cur - 1 : cur;
		if (!r.latest || latest < r.latest)
			r.latest = latest;
	}
	if (cur && r.latest <= 0) {
		/* Nothing can be older than ts 0 (and 0 would mean "now"). */
		json_object_set_new(c->out, "messages", json_array());
		json_object_set_new(c->out, "has_more", json_false());
	} else {
		rc = store_msg_history(c->env->store, ch->id, &r, &msgs, &n, &more);
		if (rc)
			goto out;
		json_t *arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, render_msg(c, &msgs[i], all_meta));
		json_object_set_new(c->out, "messages", arr);
		json_object_set_new(c->out, "has_more", json_boolean(more));
	}
	store_pin *pins = NULL;
	size_t npins = 0;
	if (store_pins_list(c->env->store, ch->id, &pins, &npins) == 0)
		store_pin_list_free(pins, npins);
	json_object_set_new(c->out, "pin_count", json_integer((json_int_t)npins));
	json_object_set_new(c->out, "channel_actions_ts", json_null());
	json_object_set_new(c->out, "channel_actions_count", json_integer(0));
	set_ts_cursor(c, more && n, n ? msgs[n - 1].ts : 0);
out:
	message_list_free(msgs, n);
	return rc;
}

int api_conversations_replies(api_ctx *c)
{
	channel *ch;
	store_range r;
	bool all_meta;
	int64_t ts, cur;
	const char *ts_s;
	message parent, *msgs = NULL;
	size_t n = 0;
	bool more = false;
	message_init(&parent);
	int rc = chan_for_read(c, "history", &ch);
	if (rc)
		return rc;
	if ((rc = api_str_req(c, "ts", &ts_s)) != 0)
		return rc;
	if (rules_ts_parse(ts_s, &ts) != 0)
		return ERR_THREAD_NOT_FOUND;
	if ((rc = range_args(c, &r)) != 0)
		return rc;
	if ((rc = get_limit(c, 1000, 1000, &r.limit)) != 0)
		return rc;
	if (api_bool(c, "include_all_metadata", false, &all_meta) != 0)
		return ERR_INVALID_ARGUMENTS;
	if ((rc = ts_cursor(c, &cur)) != 0)
		return rc;

	rc = store_msg_get(c->env->store, ch->id, ts, &parent);
	if (rc == ERR_MESSAGE_NOT_FOUND)
		rc = ERR_THREAD_NOT_FOUND;
	if (rc)
		goto out;
	json_t *arr = json_array();
	json_object_set_new(c->out, "messages", arr);
	if (!parent.thread_ts) {
		/* A message nobody replied to is a thread of one. */
		if (!cur)
			json_array_append_new(arr, render_msg(c, &parent, all_meta));
	} else {
		if (cur) {
			/* Strictly newer than the last ts of the previous page. */
			int64_t oldest = r.inclusive ? cur + 1 : cur;
			if (oldest > r.oldest)
				r.oldest = oldest;
		}
		/* ts may name any reply: the thread is its parent's. */
		rc = store_msg_replies(c->env->store, ch->id, parent.thread_ts, &r, &msgs, &n, &more);
		if (rc)
			goto out;
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, render_msg(c, &msgs[i], all_meta));
	}
	json_object_set_new(c->out, "has_more", json_boolean(more));
	set_ts_cursor(c, more && n, n ? msgs[n - 1].ts : 0);
out:
	message_release(&parent);
	message_list_free(msgs, n);
	return rc;
}

int api_conversations_members(api_ctx *c)
{
	channel *ch;
	size_t limit, n, start;
	int rc = api_channel(c, "channel", false, &ch);
	if (rc)
		return rc;
	if ((rc = api_need_chan_scope(c, ch, "read")) != 0)
		return rc;
	if ((rc = get_limit(c, 100, 1000, &limit)) != 0)
		return rc;
	const char **keys = core_sorted_keys(&ch->members, &n);
	rc = api_cursor_start(c, "user", keys, n, &start);
	if (rc)
		goto out;
	json_t *arr = json_array();
	size_t end = start + limit < n ? start + limit : n;
	for (size_t i = start; i < end; i++)
		json_array_append_new(arr, json_string(keys[i]));
	json_object_set_new(c->out, "members", arr);
	api_set_next_cursor(c, "user", end < n ? keys[end] : NULL);
out:
	free(keys);
	return rc;
}
