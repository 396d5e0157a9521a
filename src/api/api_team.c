/* team.info, bots.info and emoji.list: read-only facts about the caller's
 * organisation. Every lookup stays inside c->org: an id from another
 * organisation answers exactly like an unknown one, so ids leak nothing. */
#include <string.h>
#include <strings.h>

#include "api/handlers.h"

int api_team_info(api_ctx *c)
{
	const char *team = api_str(c, "team");
	const char *domain = api_str(c, "domain");

	if (team && *team && strcmp(team, c->org->id) != 0)
		return ERR_TEAM_NOT_FOUND;
	if (domain && *domain && (!c->org->domain || strcasecmp(domain, c->org->domain) != 0))
		return ERR_TEAM_NOT_FOUND;
	json_object_set_new(c->out, "team", api_render_team(c, c->org));
	return 0;
}

int api_bots_info(api_ctx *c)
{
	const char *id = api_str(c, "bot");
	app *a;

	if (!id || !*id)
		return ERR_BOT_NOT_FOUND;
	a = core_app_by_bot(c->env->state, id);
	if (!a || strcmp(a->org_id, c->org->id) != 0)
		return ERR_BOT_NOT_FOUND;
	/* Deleted apps stay addressable (deleted:true), as on Slack. */
	json_object_set_new(c->out, "bot", api_render_bot(c, a));
	return 0;
}

int api_emoji_list(api_ctx *c)
{
	bool categories;
	int e = api_bool(c, "include_categories", false, &categories);
	if (e)
		return e;
	/* No custom emoji yet: an empty map is the true answer for an
	 * organisation without any. cache_ts only has to be stable until the
	 * set changes, so the organisation's creation time serves. */
	json_object_set_new(c->out, "emoji", json_object());
	json_object_set_new(c->out, "cache_ts", api_ts_json(c->org->created * 1000000));
	if (categories) {
		json_object_set_new(c->out, "categories_version", json_string("1"));
		json_object_set_new(c->out, "categories", json_array());
	}
	return 0;
}
