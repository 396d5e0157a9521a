/* Messages, reactions and pins as the core sees them. Messages live in the
 * store, not in memory: these structs carry one message between the store
 * and the API layer. Structured payloads (blocks, attachments, metadata,
 * icons) are kept as the canonical JSON text the API layer validated, so
 * the core never parses JSON. Timestamps are int64 microseconds
 * (ts "1503435956.000247" == 1503435956000247). */
#ifndef CANAL_CORE_MESSAGE_H
#define CANAL_CORE_MESSAGE_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ids.h"

typedef struct reaction {
	char *name;            /* without colons */
	char **users;          /* user ids in order of reacting */
	size_t nusers;
} reaction;

typedef struct message {
	char channel_id[ID_MAX];
	char org_id[ID_MAX];
	int64_t ts;
	int64_t thread_ts;     /* 0 = not in a thread; == ts on a parent with replies */
	char *subtype;         /* NULL for a plain message */
	char user_id[ID_MAX];
	char bot_id[ID_MAX];
	char app_id[ID_MAX];
	char *text;
	char *blocks;          /* JSON array text or NULL */
	char *attachments;     /* JSON array text or NULL */
	char *metadata;        /* JSON object text or NULL */
	char *extra;           /* JSON object text of subtype-specific fields
	                          (username, icons, topic, old_name, inviter...) */
	char *client_msg_id;
	int64_t edited_ts;     /* 0 = never edited */
	char edited_user[ID_MAX];
	bool reply_broadcast;  /* a thread reply also shown in the channel */
	bool hidden;           /* tombstone of a deleted parent */
	/* filled on read */
	int reply_count;
	int64_t latest_reply;
	char **reply_users;    /* distinct repliers, first 5, in order of first reply */
	size_t nreply_users;
	int reply_users_count;
	reaction *reactions;
	size_t nreactions;
	char **pinned_to;      /* channel ids */
	size_t npinned;
} message;

void message_init(message *m);
void message_release(message *m);
void message_list_free(message *ms, size_t n);

/* Mention targets parsed out of message text, kept for notifications. */
typedef enum mention_kind {
	MENTION_USER,      /* <@U123> */
	MENTION_HERE,      /* <!here> */
	MENTION_CHANNEL,   /* <!channel> */
	MENTION_EVERYONE,  /* <!everyone> */
	MENTION_SUBTEAM,   /* <!subteam^S123> */
} mention_kind;

typedef struct mention {
	mention_kind kind;
	char id[ID_MAX];   /* user or subteam id; "" otherwise */
} mention;

/* Parses every mention in text (Slack's escaped mrkdwn form). Returns the
 * count; *out is a heap array (free()) of unique mentions in order. */
size_t mention_parse(const char *text, mention **out);

#endif
