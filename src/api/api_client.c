/* client.counts: the caller's unread and mention badges for every
 * conversation it is in, the way Slack's own client asks for them at
 * start and after a reconnect.
 *
 * Counts follow the member's read cursor (chan_member.last_read, moved by
 * conversations.mark and by the member's own posts):
 *  - unread_count: top-level messages after it (thread replies have their
 *    own view, as on Slack);
 *  - mention_count: of those, the ones written by someone else that
 *    mention the member, @here, @channel, @everyone or a user group the
 *    member is in now (store_msg_mention_counts).
 * Counts are per member, so a conversation the caller cannot see never
 * shows up here. */
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "base/xalloc.h"

/* Does the comma list csv hold id? */
static bool csv_has(const char *csv, const char *id)
{
	size_t n = strlen(id);
	for (const char *p = csv; p && *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && memcmp(p, id, n) == 0)
			return true;
		p += len;
		if (*p == ',')
			p++;
	}
	return false;
}

/* Ids of the enabled user groups of c's org the caller belongs to (heap
 * array of borrowed ids). */
static const char **my_subteams(api_ctx *c, size_t *n)
{
	map *groups = &c->env->state->usergroups;
	const char **ids = xmalloc((groups->count + 1) * sizeof *ids);
	void *v;
	*n = 0;
	for (size_t i = 0; map_next(groups, &i, NULL, &v);) {
		const usergroup *g = v;
		if (!g->date_delete && strcmp(g->org_id, c->org->id) == 0 && csv_has(g->users, c->me->id))
			ids[(*n)++] = g->id;
	}
	return ids;
}

int api_client_mention_counts(api_ctx *c, channel *const *chans, size_t n, int64_t *counts)
{
	const char **ids = xmalloc((n ? n : 1) * sizeof *ids);
	int64_t *after = xmalloc((n ? n : 1) * sizeof *after);
	size_t k = 0, nsubs;
	for (size_t i = 0; i < n; i++) {
		const chan_member *m = core_member_get(chans[i], c->me->id);
		counts[i] = 0;
		if (m) {
			ids[k] = chans[i]->id;
			after[k++] = m->last_read;
		}
	}
	const char **subs = my_subteams(c, &nsubs);
	int64_t *got = xmalloc((k ? k : 1) * sizeof *got);
	int rc = store_msg_mention_counts(c->env->store, c->me->id, subs, nsubs, ids, after, k, got);
	/* Spread the results back over chans, skipping non-members. */
	for (size_t i = 0, j = 0; i < n && j < k; i++)
		if (chans[i]->id == ids[j])
			counts[i] = got[j++];
	free(got);
	free(subs);
	free(after);
	free(ids);
	return rc;
}

static int cmp_chan_id(const void *a, const void *b)
{
	return strcmp((*(channel *const *)a)->id, (*(channel *const *)b)->id);
}

/* One entry of client.counts. */
static json_t *render_counts(api_ctx *c, const channel *ch, int64_t mentions)
{
	const chan_member *m = core_member_get(ch, c->me->id);
	int64_t unread = 0, latest = 0;
	store_msg_count_after(c->env->store, ch->id, m->last_read, &unread);
	store_msg_latest_ts(c->env->store, ch->id, &latest);
	int64_t updated = ch->updated * 1000 > latest ? ch->updated * 1000 : latest;
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(ch->id));
	json_object_set_new(o, "last_read", api_ts_json(m->last_read));
	json_object_set_new(o, "latest", api_ts_json(latest));
	json_object_set_new(o, "updated", api_ts_json(updated));
	json_object_set_new(o, "history_invalid", api_ts_json(0));
	json_object_set_new(o, "mention_count", json_integer(mentions));
	json_object_set_new(o, "mention_count_display", json_integer(mentions));
	json_object_set_new(o, "has_unreads", json_boolean(unread > 0));
	json_object_set_new(o, "unread_count", json_integer(unread));
	json_object_set_new(o, "unread_count_display", json_integer(unread));
	return o;
}

int api_client_counts(api_ctx *c)
{
	core_state *s = c->env->state;
	size_t n = 0, cap = 16;
	channel **chans = xmalloc(cap * sizeof *chans);
	void *v;
	for (size_t i = 0; map_next(&s->channels, &i, NULL, &v);) {
		channel *ch = v;
		if (strcmp(ch->org_id, c->org->id) != 0 || !core_member_get(ch, c->me->id))
			continue;
		if (n == cap)
			chans = xrealloc(chans, (cap *= 2) * sizeof *chans);
		chans[n++] = ch;
	}
	qsort(chans, n, sizeof *chans, cmp_chan_id);
	int64_t *mentions = xmalloc((n ? n : 1) * sizeof *mentions);
	int rc = api_client_mention_counts(c, chans, n, mentions);
	if (rc)
		goto out;
	json_t *lists[] = {json_array(), json_array(), json_array()};
	for (size_t i = 0; i < n; i++) {
		int which = chans[i]->kind == CHAN_MPIM ? 1 : chans[i]->kind == CHAN_IM ? 2 : 0;
		json_array_append_new(lists[which], render_counts(c, chans[i], mentions[i]));
	}
	json_object_set_new(c->out, "channels", lists[0]);
	json_object_set_new(c->out, "mpims", lists[1]);
	json_object_set_new(c->out, "ims", lists[2]);
out:
	free(mentions);
	free(chans);
	return rc;
}
