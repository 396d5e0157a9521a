/* Hot state: every org, user, channel, membership, user group, app and
 * token, in memory, indexed. Rebuilt from the store at start and kept in
 * step by the API layer, which changes state here first and then queues
 * the same change to the store (write-through).
 *
 * Invariants:
 *  1. An entity is indexed under its id for its whole life (never freed
 *     before core_state_release), unless retired: a create the store
 *     refused is taken out of every index but stays allocated until
 *     core_state_release, since borrowed pointers to it may remain.
 *  2. users_by_name / users_by_email / chans_by_name are keyed
 *     "<org_id>/<value>" so names are unique per organisation only.
 *  3. ims are keyed "<org_id>/<lower user id>/<higher user id>".
 *  4. Only the event-loop thread touches a core_state. */
#ifndef CANAL_CORE_STATE_H
#define CANAL_CORE_STATE_H
#include <stddef.h>

#include "base/map.h"
#include "core/types.h"

/* Entity kinds, for core_state_retire. */
typedef enum core_kind {
	CORE_ORG,
	CORE_USER,
	CORE_CHANNEL,
	CORE_USERGROUP,
	CORE_APP,
	CORE_TOKEN,
	CORE_WEBHOOK,
} core_kind;

typedef struct core_state {
	map orgs;            /* id -> org* */
	map users;           /* id -> user* */
	map users_by_name;   /* org/name -> user* */
	map users_by_email;  /* org/email -> user* */
	map bots;            /* B id -> app* */
	map channels;        /* id -> channel* */
	map chans_by_name;   /* org/name -> channel* (public and private) */
	map ims;             /* org/u1/u2 -> channel* */
	map usergroups;      /* id -> usergroup* */
	map apps;            /* id -> app* */
	map tokens;          /* hash -> token* */
	map commands;        /* org/command -> app_command* */
	map webhooks;        /* secret hash -> webhook* */
	int64_t last_ts;     /* last message ts handed out (µs) */
	struct core_retired { core_kind kind; void *e; } *retired; /* unindexed, freed at release */
	size_t nretired, capretired;
} core_state;

void core_state_init(core_state *s);
void core_state_release(core_state *s);

/* Adders take ownership of the entity and index it. Re-adding an id
 * replaces nothing: callers must not add twice. */
void core_org_add(core_state *s, org *o);
void core_user_add(core_state *s, user *u);
void core_channel_add(core_state *s, channel *c);
void core_usergroup_add(core_state *s, usergroup *g);
void core_app_add(core_state *s, app *a);
void core_token_add(core_state *s, token *t);

/* Apps' slash commands and incoming webhooks. command_add replaces an
 * existing registration of the same command in the org (and frees it);
 * command_remove frees it. */
void core_command_add(core_state *s, app_command *c);
void core_command_remove(core_state *s, const char *org_id, const char *command);
app_command *core_command_get(core_state *s, const char *org_id, const char *command);
void core_webhook_add(core_state *s, webhook *w);
webhook *core_webhook_get(core_state *s, const char *hash);

/* Unlinking takes an entity out of every index that still points at it,
 * without freeing it: unlink, change its fields, add it again to re-index
 * it (store_restore does so). core_state_retire unlinks e (of the given
 * kind, not retired yet) for good and keeps it allocated until
 * core_state_release. */
void core_org_unlink(core_state *s, org *o);
void core_user_unlink(core_state *s, user *u);
void core_channel_unlink(core_state *s, channel *c);
void core_usergroup_unlink(core_state *s, usergroup *g);
void core_app_unlink(core_state *s, app *a);
void core_token_unlink(core_state *s, token *t);
void core_webhook_unlink(core_state *s, webhook *w);
void core_state_retire(core_state *s, core_kind kind, void *e);

/* Re-index after a rename / email change (old values given). */
void core_user_reindex(core_state *s, user *u, const char *old_name, const char *old_email);
void core_channel_rename(core_state *s, channel *c, const char *new_name);

org *core_org_get(core_state *s, const char *id);
user *core_user_get(core_state *s, const char *id);
user *core_user_by_name(core_state *s, const char *org_id, const char *name);
user *core_user_by_email(core_state *s, const char *org_id, const char *email);
channel *core_channel_get(core_state *s, const char *id);
channel *core_channel_by_name(core_state *s, const char *org_id, const char *name);
channel *core_im_get(core_state *s, const char *org_id, const char *u1, const char *u2);
usergroup *core_usergroup_get(core_state *s, const char *id);
app *core_app_get(core_state *s, const char *id);
app *core_app_by_bot(core_state *s, const char *bot_id);
token *core_token_get(core_state *s, const char *hash);

/* Membership. member_add returns the member (new or existing). */
chan_member *core_member_get(const channel *c, const char *user_id);
chan_member *core_member_add(channel *c, const char *user_id, int64_t joined);
void core_member_remove(channel *c, const char *user_id);
size_t core_member_count(const channel *c);

/* Entity constructors (zeroed, id set, strings NULL). */
org *core_org_new(const char *id);
user *core_user_new(const char *id, const char *org_id);
channel *core_channel_new(const char *id, const char *org_id, chan_kind kind);
usergroup *core_usergroup_new(const char *id, const char *org_id);
app *core_app_new(const char *id, const char *org_id);
token *core_token_new(const char *hash, token_kind kind);

/* Next message ts: max(now, last + 1) in µs, strictly increasing across
 * the whole server (so unique per channel). */
int64_t core_ts_next(core_state *s, int64_t now_us);
/* Sorted array of ids of a map (stable listing for cursors); heap array of
 * borrowed keys, *n set. */
const char **core_sorted_keys(const map *m, size_t *n);

#endif
