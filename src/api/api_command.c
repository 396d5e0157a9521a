/* chat.command: a person runs a slash command (the method Slack's own
 * client uses; slack-api.md §8). User tokens only.
 *
 *   channel, command ("/wheatley"), text  ->  {"ok":true, "response":{...}?}
 *
 * The caller must see the channel (channel_not_found) and it must not be
 * archived (is_archived). Built-in commands come first, in the same
 * dispatcher, each with the semantics of its method:
 *   /invite @user... [#channel]  conversations.invite
 *   /topic text                  conversations.setTopic
 *   /purpose text                conversations.setPurpose
 *   /me text                     chat.meMessage
 *   /shrug [text]                chat.postMessage with text + ¯\_(ツ)_/¯
 *   /leave (/part)               conversations.leave
 *   /remind me [to] WHAT WHEN    reminders.add (api_reminders.c), confirmed
 *                                by an ephemeral message
 * Their errors are those methods' errors.
 *
 * Any other command is looked up in the org's registry (apps' manifests);
 * unknown: invalid_command. The app gets Slack's payload (all strings:
 * token, team_id, team_domain, channel_id, channel_name, user_id,
 * user_name, command, text, api_app_id, is_enterprise_install,
 * response_url, trigger_id) over Socket Mode or HTTP, and chat.command
 * answers once the app acknowledged (3 s at most: operation_timeout; not
 * reachable: dispatch_failed). The acknowledgement's payload is the
 * immediate response: empty shows nothing; text, or {"text","blocks",
 * "attachments","response_type"} shows a message: ephemeral (default) live
 * to the caller only and never stored, in_channel a real message by the
 * app's bot. The answer's "response" carries what was shown (with its ts)
 * so the client can display it at once. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_interact.h"
#include "api/api_pending.h"
#include "api/api_reminders.h"
#include "api/handlers.h"
#include "base/buf.h"
#include "base/xalloc.h"

/* A word of the text naming a user: "@name", "<@U123>", "<@U123|name>",
 * "U123". NULL if none. */
static user *word_user(api_ctx *c, const char *w, size_t n)
{
	char w0[128];
	if (n >= sizeof w0)
		return NULL;
	memcpy(w0, w, n);
	w0[n] = '\0';
	core_state *s = c->env->state;
	user *u = NULL;
	if (!strncmp(w0, "<@", 2)) {
		char *end = strpbrk(w0 + 2, "|>");
		if (end)
			*end = '\0';
		u = core_user_get(s, w0 + 2);
	} else if (w0[0] == '@') {
		u = core_user_by_name(s, c->org->id, w0 + 1);
	} else {
		u = core_user_get(s, w0);
		if (!u)
			u = core_user_by_name(s, c->org->id, w0);
	}
	return u && !strcmp(u->org_id, c->org->id) ? u : NULL;
}

/* "#name" or "<#C123|name>": the channel, or NULL. */
static channel *word_channel(api_ctx *c, const char *w, size_t n)
{
	char w0[128];
	if (n >= sizeof w0)
		return NULL;
	memcpy(w0, w, n);
	w0[n] = '\0';
	channel *ch = NULL;
	if (!strncmp(w0, "<#", 2)) {
		char *end = strpbrk(w0 + 2, "|>");
		if (end)
			*end = '\0';
		ch = core_channel_get(c->env->state, w0 + 2);
	} else if (w0[0] == '#') {
		ch = core_channel_by_name(c->env->state, c->org->id, w0 + 1);
	}
	return ch && rules_can_see(c->me, ch) ? ch : NULL;
}

static int builtin_invite(api_ctx *c, channel *ch, const char *text)
{
	buf users = BUF_INIT;
	const char *target = ch->id;
	int rc = 0;
	for (const char *p = text; *p;) {
		while (*p && isspace((unsigned char)*p))
			p++;
		const char *w = p;
		while (*p && !isspace((unsigned char)*p) && *p != ',')
			p++;
		size_t n = (size_t)(p - w);
		if (*p == ',')
			p++;
		if (!n)
			continue;
		if (*w == '#' || !strncmp(w, "<#", 2)) {
			channel *other = word_channel(c, w, n);
			if (!other) {
				rc = ERR_CHANNEL_NOT_FOUND;
				break;
			}
			target = other->id;
			continue;
		}
		user *u = word_user(c, w, n);
		if (!u) {
			rc = ERR_USER_NOT_FOUND;
			break;
		}
		if (users.len)
			buf_addc(&users, ',');
		buf_adds(&users, u->id);
	}
	if (!rc && !users.len)
		rc = ERR_NO_USER;
	if (!rc)
		rc = api_run_with_args(c, api_conversations_invite,
			    json_pack("{s:s,s:s}", "channel", target, "users", users.data));
	buf_release(&users);
	return rc;
}

static int builtin_topic(api_ctx *c, channel *ch, const char *text)
{
	return api_run_with_args(c, api_conversations_set_topic, json_pack("{s:s,s:s}", "channel", ch->id, "topic", text));
}

static int builtin_purpose(api_ctx *c, channel *ch, const char *text)
{
	return api_run_with_args(c, api_conversations_set_purpose,
		      json_pack("{s:s,s:s}", "channel", ch->id, "purpose", text));
}

static int builtin_me(api_ctx *c, channel *ch, const char *text)
{
	return api_run_with_args(c, api_chat_me_message, json_pack("{s:s,s:s}", "channel", ch->id, "text", text));
}

static int builtin_shrug(api_ctx *c, channel *ch, const char *text)
{
	char *t = xasprintf("%s%s\xC2\xAF\\_(\xE3\x83\x84)_/\xC2\xAF", text, *text ? " " : "");
	int rc = api_run_with_args(c, api_chat_post_message, json_pack("{s:s,s:s}", "channel", ch->id, "text", t));
	free(t);
	return rc;
}

static int builtin_leave(api_ctx *c, channel *ch, const char *text)
{
	return api_run_with_args(c, api_conversations_leave, json_pack("{s:s}", "channel", ch->id));
}

static const struct builtin {
	const char *command;
	int (*fn)(api_ctx *c, channel *ch, const char *text);
} builtins[] = {
	{"/invite", builtin_invite}, {"/leave", builtin_leave}, {"/me", builtin_me},
	{"/part", builtin_leave},    {"/purpose", builtin_purpose}, {"/remind", api_remind_command},
	{"/shrug", builtin_shrug},
	{"/topic", builtin_topic},
};

/* Slack's escaping for commands registered with should_escape: @handles
 * and #channels become <@U...|handle> and <#C...|name>. Heap string. */
static char *escape_text(api_ctx *c, const char *text)
{
	buf b = BUF_INIT;
	for (const char *p = text; *p;) {
		if ((*p == '@' || *p == '#') && (p == text || isspace((unsigned char)p[-1]))) {
			const char *w = p + 1;
			const char *e = w;
			while (*e && (isalnum((unsigned char)*e) || strchr("._-", *e)))
				e++;
			/* Trailing punctuation is not part of the name. */
			while (e > w && strchr("._-", e[-1]))
				e--;
			char name[96];
			size_t n = (size_t)(e - w);
			if (n && n < sizeof name) {
				memcpy(name, w, n);
				name[n] = '\0';
				if (*p == '@') {
					user *u = core_user_by_name(c->env->state, c->org->id, name);
					if (u) {
						buf_printf(&b, "<@%s|%s>", u->id, u->name);
						p = e;
						continue;
					}
				} else {
					channel *ch = core_channel_by_name(c->env->state, c->org->id, name);
					if (ch && rules_can_see(c->me, ch)) {
						buf_printf(&b, "<#%s|%s>", ch->id, ch->name);
						p = e;
						continue;
					}
				}
			}
		}
		buf_addc(&b, *p++);
	}
	return buf_detach(&b, NULL);
}

typedef struct command_wait {
	channel *ch;
	app *a;
} command_wait;

static int command_acked(api_ctx *c, int err, json_t *response, void *ud)
{
	command_wait *w = ud;
	json_t *shown = NULL;
	int rc = err;
	if (!rc)
		rc = api_respond_show(c, w->a, w->ch, c->me->id, response, &shown);
	if (!rc && shown)
		json_object_set_new(c->out, "response", shown);
	else
		json_decref(shown);
	free(w);
	return rc;
}

int api_chat_command(api_ctx *c)
{
	channel *ch;
	const char *cmd_arg;
	int rc;
	if ((rc = api_channel(c, "channel", false, &ch)) || (rc = api_str_req(c, "command", &cmd_arg)))
		return rc;
	const char *text = api_str(c, "text");
	if (!text)
		text = "";
	/* Commands are case-insensitive; the leading slash is part of them. */
	char cmd[64];
	size_t n = strlen(cmd_arg);
	if (cmd_arg[0] != '/' || n < 2 || n >= sizeof cmd)
		return ERR_INVALID_COMMAND;
	for (size_t i = 0; i <= n; i++)
		cmd[i] = (char)tolower((unsigned char)cmd_arg[i]);
	if (ch->archived)
		return ERR_IS_ARCHIVED;

	for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
		if (!strcmp(builtins[i].command, cmd))
			return builtins[i].fn(c, ch, text);

	app_command *ac = core_command_get(c->env->state, c->org->id, cmd);
	app *a = ac ? core_app_get(c->env->state, ac->app_id) : NULL;
	if (!a || a->deleted)
		return ERR_INVALID_COMMAND;

	pend_response *r = api_pending_response_new(c->now_us, c->org->id, a->id, c->me->id, ch->id, 0,
						     false);
	char *url = xasprintf("%s/respond/%s", c->env->base_url ? c->env->base_url : "", r->id);
	char trigger[PEND_ID_MAX];
	api_interact_trigger(c, a, c->me->id, NULL, trigger);
	char *sent = ac->should_escape ? escape_text(c, text) : xstrdup(text);
	const char *chan_name = ch->kind == CHAN_IM ? "directmessage" : ch->name ? ch->name : "";
	json_t *p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "token",
			      a->verification_token ? a->verification_token : "", "team_id", c->org->id,
			      "team_domain", c->org->domain ? c->org->domain : "", "channel_id", ch->id,
			      "channel_name", chan_name, "user_id", c->me->id, "user_name",
			      c->me->name ? c->me->name : "", "command", cmd, "text", sent, "api_app_id",
			      a->id, "is_enterprise_install", "false", "response_url", url, "trigger_id",
			      trigger);
	free(sent);
	free(url);
	command_wait *w = xcalloc(1, sizeof *w);
	w->ch = ch;
	w->a = a;
	return api_interact_dispatch(c, a, "slash_commands", p, ac->url, command_acked, w);
}
