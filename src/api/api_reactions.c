/* reactions.*: emoji reactions on messages.
 *
 * A reaction is (channel, ts, name, user). Anyone who can see a channel
 * may react in it: for a public channel that is every member of the
 * organisation, joined or not (as on Slack); for private conversations it
 * is their members. Items are messages only: Slack's file and
 * file_comment items need files, which Canal does not have yet, so a call
 * naming one answers no_item_specified.
 *
 * Races: two requests may both see "not reacted yet" before either
 * commits. The store's uniqueness constraint is the backstop, and
 * store_job_on_conflict turns its failure into already_reacted. */
#include "api/handlers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "rt/bus.h"

#define LIST_DEFAULT 100
#define LIST_MAX 1000
#define PAGE_MAX 100000 /* keeps (page-1)*count far from overflow */
#define COUNT_BOUND 1000 /* most rows read to count a past-the-end page */

/* The message named by channel + timestamp. Both are needed before any
 * lookup: without them Slack answers no_item_specified, whatever else is
 * wrong. Tombstones are no longer messages one can react to. */
static int item_get(api_ctx *c, channel **ch, message *m)
{
	const char *chan = api_str(c, "channel"), *ts_s = api_str(c, "timestamp");
	int64_t ts = 0;
	int rc;
	if (!chan || !*chan || !ts_s || !*ts_s)
		return ERR_NO_ITEM_SPECIFIED;
	if ((rc = api_channel(c, "channel", false, ch)))
		return rc;
	if ((rc = api_ts(c, "timestamp", ERR_BAD_TIMESTAMP, &ts)))
		return rc;
	rc = store_msg_get(c->env->store, (*ch)->id, ts, m);
	if (!rc && m->hidden)
		rc = ERR_MESSAGE_NOT_FOUND;
	return rc;
}

/* The reaction name without the colons clients often keep (":+1:"), into
 * a heap string. ERR_INVALID_NAME when absent or not an emoji name. */
static int reaction_name(api_ctx *c, char **out)
{
	const char *s = api_str(c, "name");
	*out = NULL;
	if (!s)
		return ERR_INVALID_NAME;
	size_t len = strlen(s);
	if (len && s[0] == ':')
		s++, len--;
	if (len && s[len - 1] == ':')
		len--;
	char *name = xstrndup(s, len);
	if (!rules_emoji_name_ok(name)) {
		free(name);
		return ERR_INVALID_NAME;
	}
	*out = name;
	return 0;
}

static const reaction *find_reaction(const message *m, const char *name)
{
	for (size_t i = 0; i < m->nreactions; i++)
		if (strcmp(m->reactions[i].name, name) == 0)
			return &m->reactions[i];
	return NULL;
}

static bool reacted(const reaction *r, const char *user_id)
{
	for (size_t i = 0; r && i < r->nusers; i++)
		if (strcmp(r->users[i], user_id) == 0)
			return true;
	return false;
}

/* Rendered message with its permalink, as reactions.get/list show it. */
static json_t *render_item_message(api_ctx *c, const channel *ch, const message *m)
{
	json_t *j = api_render_message(c, m);
	if (ch) {
		char *link = api_permalink(c, ch, m->ts, m->thread_ts != m->ts ? m->thread_ts : 0);
		json_object_set_new(j, "permalink", json_string(link));
		free(link);
	}
	return j;
}

/* reaction_added / reaction_removed, to everyone in the channel. */
static void emit_reaction(api_ctx *c, const channel *ch, const message *m, const char *name, bool add)
{
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string(add ? "reaction_added" : "reaction_removed"));
	json_object_set_new(e, "user", json_string(c->me->id));
	json_object_set_new(e, "reaction", json_string(name));
	if (m->user_id[0])
		json_object_set_new(e, "item_user", json_string(m->user_id));
	json_object_set_new(e, "item", json_pack("{s:s,s:s,s:o}", "type", "message", "channel", ch->id,
						 "ts", api_ts_json(m->ts)));
	api_emit(c, BUS_CHANNEL, ch->id, e, NULL);
}

/* add and remove share everything but the final check and op. */
static int react(api_ctx *c, bool add)
{
	channel *ch = NULL;
	message m;
	message_init(&m);
	char *name = NULL;
	int rc;

	if ((rc = item_get(c, &ch, &m)))
		goto out;
	if (ch->archived) {
		rc = ERR_IS_ARCHIVED;
		goto out;
	}
	if ((rc = reaction_name(c, &name)))
		goto out;
	const reaction *r = find_reaction(&m, name);
	bool mine = reacted(r, c->me->id);
	store_job *job;
	if (add) {
		if (mine) {
			rc = ERR_ALREADY_REACTED;
			goto out;
		}
		if (!r && m.nreactions >= RULES_MAX_REACTIONS_PER_MSG) {
			rc = ERR_TOO_MANY_REACTIONS;
			goto out;
		}
		job = api_job(c);
		store_job_on_conflict(job, ERR_ALREADY_REACTED);
		store_reaction_add(job, ch->id, m.ts, name, c->me->id);
	} else {
		if (!mine) {
			rc = ERR_NO_REACTION;
			goto out;
		}
		store_reaction_remove(api_job(c), ch->id, m.ts, name, c->me->id);
	}
	emit_reaction(c, ch, &m, name, add);
out:
	free(name);
	message_release(&m);
	return rc;
}

int api_reactions_add(api_ctx *c)
{
	return react(c, true);
}

int api_reactions_remove(api_ctx *c)
{
	return react(c, false);
}

int api_reactions_get(api_ctx *c)
{
	channel *ch = NULL;
	message m;
	message_init(&m);
	bool full;
	int rc;

	/* full=false lets Slack truncate long user lists; Canal always
	 * returns them whole, which every client accepts. Still validated. */
	if ((rc = api_bool(c, "full", false, &full)))
		goto out;
	if ((rc = item_get(c, &ch, &m)))
		goto out;
	json_object_set_new(c->out, "type", json_string("message"));
	json_object_set_new(c->out, "channel", json_string(ch->id));
	json_object_set_new(c->out, "message", render_item_message(c, ch, &m));
out:
	message_release(&m);
	return rc;
}

/* Ids of every channel the caller can see: reactions.list never reveals a
 * message from a conversation the caller is not in, even when listing
 * somebody else's reactions. Heap array of borrowed ids. */
static const char **visible_channels(api_ctx *c, size_t *n)
{
	map *chans = &c->env->state->channels;
	const char **ids = xmalloc((chans->count + 1) * sizeof *ids);
	const char *key;
	void *val;
	*n = 0;
	for (size_t it = 0; map_next(chans, &it, &key, &val);) {
		channel *ch = val;
		if (rules_can_see(c->me, ch))
			ids[(*n)++] = ch->id;
	}
	return ids;
}

/* Offset encoded in a reactions.list cursor. */
static int cursor_offset(const char *cursor, size_t *offset)
{
	char *val = NULL, *end;
	int rc = rules_cursor_decode(cursor, "reactions", &val);
	if (rc)
		return rc;
	errno = 0;
	unsigned long long off = strtoull(val, &end, 10);
	if (errno || end == val || *end || val[0] == '-')
		rc = ERR_INVALID_CURSOR;
	else
		*offset = (size_t)off;
	free(val);
	return rc;
}

/* How many items there are, counting no further than bound: a page asked
 * for past the end still reports the real total and page count. */
static size_t count_upto(api_ctx *c, const user *u, const char **ids, size_t nids, size_t bound)
{
	message *msgs = NULL;
	size_t n = 0;
	bool more;
	if (bound > COUNT_BOUND)
		bound = COUNT_BOUND;
	if (!nids || store_reactions_by_user(c->env->store, u->id, ids, nids, 0, bound, &msgs, &n, &more))
		return 0;
	message_list_free(msgs, n);
	return n;
}

/* reactions.list pages two ways, as Slack does: count/page with a
 * "paging" object (the default), or limit/cursor with
 * response_metadata.next_cursor (when either is given, which is what
 * the SDKs' paginate() sends). */
int api_reactions_list(api_ctx *c)
{
	user *u = c->me;
	const char **ids = NULL;
	size_t nids = 0, offset = 0, n = 0;
	message *msgs = NULL;
	bool more = false, full;
	long count = LIST_DEFAULT, page = 1;
	int rc;

	const char *cursor = api_str(c, "cursor"), *limit = api_str(c, "limit");
	bool by_cursor = (cursor && *cursor) || (limit && *limit);

	if (api_str(c, "user") && (rc = api_user(c, "user", &u)))
		goto out;
	if ((rc = api_bool(c, "full", false, &full)))
		goto out;
	if (by_cursor) {
		if ((rc = api_int(c, "limit", LIST_DEFAULT, 1, LIST_MAX, &count)))
			goto out;
		if (cursor && *cursor && (rc = cursor_offset(cursor, &offset)))
			goto out;
	} else {
		if ((rc = api_int(c, "count", LIST_DEFAULT, 1, LIST_MAX, &count))
		    || (rc = api_int(c, "page", 1, 1, PAGE_MAX, &page)))
			goto out;
		offset = (size_t)(page - 1) * (size_t)count;
	}

	ids = visible_channels(c, &nids);
	/* No visible channel: nothing to list, and no empty filter to hand
	 * the store (where "no ids" could read as "no restriction"). */
	if (nids && (rc = store_reactions_by_user(c->env->store, u->id, ids, nids, offset,
						 (size_t)count, &msgs, &n, &more)))
		goto out;

	json_t *items = json_array();
	for (size_t i = 0; i < n; i++) {
		const channel *ch = core_channel_get(c->env->state, msgs[i].channel_id);
		json_t *item = json_object();
		json_object_set_new(item, "type", json_string("message"));
		json_object_set_new(item, "channel", json_string(msgs[i].channel_id));
		json_object_set_new(item, "message", render_item_message(c, ch, &msgs[i]));
		json_array_append_new(items, item);
	}
	json_object_set_new(c->out, "items", items);

	if (by_cursor) {
		char next[24];
		snprintf(next, sizeof next, "%zu", offset + n);
		api_set_next_cursor(c, "reactions", more ? next : NULL);
	} else {
		/* The store says only whether more follow, not how many: total
		 * is exact on the last page and a lower bound before it. */
		size_t total = offset + n + (more ? 1 : 0);
		if (!n && offset)
			total = count_upto(c, u, ids, nids, offset);
		long pages = more ? page + 1 : (long)((total + (size_t)count - 1) / (size_t)count);
		json_t *paging = json_object();
		json_object_set_new(paging, "count", json_integer(count));
		json_object_set_new(paging, "total", json_integer((json_int_t)total));
		json_object_set_new(paging, "page", json_integer(page));
		json_object_set_new(paging, "pages", json_integer(pages));
		json_object_set_new(c->out, "paging", paging);
	}
out:
	message_list_free(msgs, n);
	free(ids);
	return rc;
}
