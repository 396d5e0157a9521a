/* pins.*: messages pinned to a channel.
 *
 * Pinning changes the channel for everyone in it, so only its members
 * pin and unpin; anyone who can see the channel may list its pins. A pin
 * is (channel, ts) with who pinned it and when. Slack's clients also show
 * a "pinned_item" system message; Canal posts none (the API never
 * required one). File items are not supported: Canal has no files yet.
 *
 * Races: two pins.add of the same message may both pass the "already
 * pinned" check; the store's uniqueness constraint catches the second,
 * reported as already_pinned via store_job_on_conflict. */
#include "api/handlers.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "rt/bus.h"

/* The message channel + timestamp name, for pins.add / pins.remove. */
static int item_get(api_ctx *c, channel **ch, message *m)
{
	const char *ts_s;
	int64_t ts = 0;
	int rc;
	if ((rc = api_channel(c, "channel", false, ch)))
		return rc;
	ts_s = api_str(c, "timestamp");
	if (!ts_s || !*ts_s)
		return ERR_NO_ITEM_SPECIFIED;
	if ((rc = api_ts(c, "timestamp", ERR_BAD_TIMESTAMP, &ts)))
		return rc;
	if ((*ch)->archived)
		return ERR_IS_ARCHIVED;
	if (!rules_is_member(c->me, *ch))
		return (*ch)->kind == CHAN_PUBLIC ? ERR_NOT_IN_CHANNEL : ERR_CHANNEL_NOT_FOUND;
	return store_msg_get(c->env->store, (*ch)->id, ts, m);
}

static bool pinned_here(const message *m, const char *channel_id)
{
	for (size_t i = 0; i < m->npinned; i++)
		if (strcmp(m->pinned_to[i], channel_id) == 0)
			return true;
	return false;
}

/* pin_added / pin_removed, to everyone in the channel. The item is the
 * pin as pins.list shows it; has_pins says whether any pin is left. */
static void emit_pin(api_ctx *c, const channel *ch, const message *m, const char *created_by,
		     int64_t created, bool add, int has_pins)
{
	json_t *msg = api_render_message(c, m);
	/* m was read before this change: pinned_to as it is after it. */
	json_object_del(msg, "pinned_to");
	if (add)
		json_object_set_new(msg, "pinned_to", json_pack("[s]", ch->id));
	json_t *item = json_object();
	json_object_set_new(item, "type", json_string("message"));
	json_object_set_new(item, "channel", json_string(ch->id));
	json_object_set_new(item, "created", json_integer(created));
	json_object_set_new(item, "created_by", json_string(created_by));
	json_object_set_new(item, "message", msg);
	json_t *e = json_object();
	json_object_set_new(e, "type", json_string(add ? "pin_added" : "pin_removed"));
	json_object_set_new(e, "user", json_string(c->me->id));
	json_object_set_new(e, "channel_id", json_string(ch->id));
	json_object_set_new(e, "item", item);
	if (has_pins >= 0)
		json_object_set_new(e, "has_pins", json_boolean(has_pins));
	api_emit(c, BUS_CHANNEL, ch->id, e, NULL);
}

int api_pins_add(api_ctx *c)
{
	channel *ch = NULL;
	message m;
	message_init(&m);
	int rc;

	if ((rc = item_get(c, &ch, &m)))
		goto out;
	/* What is left of a deleted message is not worth keeping in view. */
	if (m.hidden) {
		rc = ERR_NOT_PINNABLE;
		goto out;
	}
	if (pinned_here(&m, ch->id)) {
		rc = ERR_ALREADY_PINNED;
		goto out;
	}
	store_job *job = api_job(c);
	store_job_on_conflict(job, ERR_ALREADY_PINNED);
	store_pin_add(job, ch->id, m.ts, c->me->id, c->now_us / 1000000);
	emit_pin(c, ch, &m, c->me->id, c->now_us / 1000000, true, -1);
out:
	message_release(&m);
	return rc;
}

int api_pins_remove(api_ctx *c)
{
	channel *ch = NULL;
	message m;
	message_init(&m);
	int rc;

	if ((rc = item_get(c, &ch, &m)))
		goto out;
	if (!pinned_here(&m, ch->id)) {
		rc = ERR_NOT_PINNED;
		goto out;
	}
	store_pin_remove(api_job(c), ch->id, m.ts);
	if (c->env->bus) {
		/* Who pinned it and when: from the channel's pins (a short list). */
		store_pin *pins = NULL;
		size_t n = 0;
		const store_pin *p = NULL;
		if (store_pins_list(c->env->store, ch->id, &pins, &n) == 0)
			for (size_t i = 0; i < n && !p; i++)
				if (pins[i].msg.ts == m.ts)
					p = &pins[i];
		emit_pin(c, ch, &m, p ? p->created_by : c->me->id, p ? p->created : c->now_us / 1000000,
			 false, n > (p ? 1 : 0));
		store_pin_list_free(pins, n);
	}
out:
	message_release(&m);
	return rc;
}

static json_t *render_pin(api_ctx *c, const channel *ch, const store_pin *p)
{
	const message *m = &p->msg;
	json_t *msg = api_render_message(c, m);
	char *link = api_permalink(c, ch, m->ts, m->thread_ts != m->ts ? m->thread_ts : 0);
	json_object_set_new(msg, "permalink", json_string(link));
	free(link);
	/* The item is in this channel's pins by definition, whatever the
	 * store's read of pinned_to raced with. */
	if (!json_object_get(msg, "pinned_to")) {
		json_t *to = json_array();
		json_array_append_new(to, json_string(ch->id));
		json_object_set_new(msg, "pinned_to", to);
	}
	json_t *item = json_object();
	json_object_set_new(item, "type", json_string("message"));
	json_object_set_new(item, "channel", json_string(ch->id));
	json_object_set_new(item, "created", json_integer(p->created));
	json_object_set_new(item, "created_by", json_string(p->created_by));
	json_object_set_new(item, "message", msg);
	return item;
}

int api_pins_list(api_ctx *c)
{
	channel *ch = NULL;
	store_pin *pins = NULL;
	size_t n = 0;
	int rc;

	if ((rc = api_channel(c, "channel", false, &ch)))
		goto out;
	if ((rc = store_pins_list(c->env->store, ch->id, &pins, &n)))
		goto out;
	json_t *items = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(items, render_pin(c, ch, &pins[i]));
	json_object_set_new(c->out, "items", items);
out:
	store_pin_list_free(pins, n);
	return rc;
}
