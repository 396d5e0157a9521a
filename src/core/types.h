/* The domain model held in memory (hot state). Plain C structs with no
 * network, JSON or SQL types. Every entity belongs to one organisation
 * (multi-organisation from the start). Strings are heap-owned by the
 * entity; NULL means "not set" and is rendered as "".
 *
 * Ownership: a core_state owns every entity it indexes; pointers between
 * entities (user->org, member->user) are borrowed and stay valid for the
 * life of the state, because entities are never freed while the server
 * runs: deletion is a flag (Slack keeps deleted users and archived
 * channels addressable). */
#ifndef CANAL_CORE_TYPES_H
#define CANAL_CORE_TYPES_H
#include <stdbool.h>
#include <stdint.h>

#include "base/ids.h"
#include "base/map.h"

typedef struct org {
	char id[ID_MAX];
	char *name;
	char *domain;
	int64_t created;       /* unix seconds */
	char general_id[ID_MAX]; /* the #general channel, "" until created */
} org;

typedef struct user {
	char id[ID_MAX];
	char org_id[ID_MAX];
	char *name;            /* handle, unique per org */
	char *real_name;
	char *display_name;
	char *email;           /* unique per org, lowercase */
	char *title;
	char *phone;
	char *tz;              /* IANA name, default "UTC" */
	char *status_text;
	char *status_emoji;
	char *avatar_hash;
	char *pwhash;          /* argon2id string; NULL for bots and invitees */
	bool is_admin, is_owner, is_primary_owner, is_bot, deleted;
	char bot_id[ID_MAX];   /* bot users: their B... id */
	char app_id[ID_MAX];   /* bot users: their A... id */
	int64_t created, updated;
	/* not persisted */
	int manual_away;       /* users.setPresence away */
} user;

typedef enum chan_kind {
	CHAN_PUBLIC = 0,
	CHAN_PRIVATE = 1,
	CHAN_IM = 2,
	CHAN_MPIM = 3,
} chan_kind;

typedef struct chan_member {
	char user_id[ID_MAX];
	int64_t joined;        /* unix seconds */
	int64_t last_read;     /* ts in microseconds, 0 = never */
	bool open;             /* IMs: shown in the sidebar (conversations.open/close) */
} chan_member;

typedef struct channel {
	char id[ID_MAX];
	char org_id[ID_MAX];
	char *name;            /* public/private: channel name; IM: "" ; MPIM: mpdm-a--b-1 */
	chan_kind kind;
	char creator[ID_MAX];
	int64_t created;
	bool archived, is_general;
	char *topic, *purpose;
	char topic_creator[ID_MAX], purpose_creator[ID_MAX];
	int64_t topic_last_set, purpose_last_set;
	char *previous_names;  /* comma-separated, newest last */
	char im_user[ID_MAX];  /* IM: the other user; for the pair lookup see core_state */
	int64_t updated;       /* unix ms */
	map members;           /* user id -> chan_member* */
	/* Changes whenever members does (core_member_add/remove), to values
	 * never used by any channel before: a cache of something derived from
	 * the members (rt's recipient lists) is valid while it matches. */
	uint64_t members_gen;
} channel;

typedef struct usergroup {
	char id[ID_MAX];
	char org_id[ID_MAX];
	char *name, *handle, *description;
	char created_by[ID_MAX], updated_by[ID_MAX], deleted_by[ID_MAX];
	int64_t date_create, date_update, date_delete; /* date_delete != 0: disabled */
	char *users;           /* comma-separated user ids, in order */
	char *channels;        /* comma-separated default channel ids */
} usergroup;

typedef struct app {
	char id[ID_MAX];
	char org_id[ID_MAX];
	char *name;
	char bot_id[ID_MAX];
	char bot_user_id[ID_MAX];
	char *scopes;          /* comma-separated bot scopes */
	char *signing_secret;
	char *verification_token;
	int64_t created, updated;
	bool deleted;
	/* From the app's manifest (Slack's app manifest format). */
	char *manifest;          /* the manifest as last accepted (JSON text) */
	char *description;
	char *bot_events;        /* comma list: message.channels,app_mention,... */
	char *event_url;         /* Events API request URL; NULL: Socket Mode or none */
	char *interactivity_url; /* interactivity request URL; NULL: Socket Mode or none */
	bool interactivity;      /* interactivity enabled */
	bool socket_mode;        /* deliver over Socket Mode instead of HTTP */
} app;

/* A slash command an app registered (manifest features.slash_commands). */
typedef struct app_command {
	char org_id[ID_MAX];
	char *command;           /* "/wheatley", lowercase, unique per org */
	char app_id[ID_MAX];
	char *url;               /* HTTP mode request URL; NULL: Socket Mode */
	char *description;
	char *usage_hint;
	bool should_escape;
} app_command;

/* An incoming webhook: POST {base}/services/<T>/<B>/<secret> posts into
 * channel_id as the app's bot. Only the secret's hash is kept. */
typedef struct webhook {
	char id[ID_MAX];         /* "W..."-style id for listing and revoking */
	char org_id[ID_MAX];
	char app_id[ID_MAX];
	char channel_id[ID_MAX];
	char hash[TOKEN_HASH_HEX];
	char created_by[ID_MAX];
	int64_t created;
	bool revoked;
} webhook;

typedef enum token_kind {
	TOKEN_USER = 0,  /* xoxp- */
	TOKEN_BOT = 1,   /* xoxb- */
	TOKEN_APP = 2,   /* xapp- */
	TOKEN_SESSION = 3, /* browser session (acts as the user) */
	TOKEN_INVITE = 4,  /* one-time invite code for a user without a password */
} token_kind;

typedef struct token {
	char hash[TOKEN_HASH_HEX]; /* sha256 of the secret; the secret is never stored */
	token_kind kind;
	char org_id[ID_MAX];
	char user_id[ID_MAX];  /* acting user (the bot user for bot tokens) */
	char app_id[ID_MAX];   /* bot and app tokens */
	char *scopes;          /* comma-separated; "*" for full user access */
	int64_t created;
	int64_t expires;       /* unix seconds, 0 = never */
	bool revoked;
} token;

#endif
