/* The method table: every Web API method, who may call it and the scope a
 * bot token needs. Methods whose scope depends on the channel type
 * (channels:history vs groups:history ...) have scope NULL here and check
 * with api_need_chan_scope once the channel is known. Sorted by name:
 * api_method_find does a binary search. */
#include "api/handlers.h"

#define U API_USER
#define B API_BOT

const api_method api_methods[] = {
	{"api.test", api_api_test, API_NOAUTH | U | B | API_APP, NULL, false},
	{"auth.revoke", api_auth_revoke, U | B, NULL, true},
	{"auth.test", api_auth_test, U | B | API_APP, NULL, false},
	{"bots.info", api_bots_info, U | B, "users:read", false},
	{"chat.delete", api_chat_delete, U | B, "chat:write", true},
	{"chat.getPermalink", api_chat_get_permalink, U | B, NULL, false},
	{"chat.meMessage", api_chat_me_message, U | B, "chat:write", true},
	{"chat.postMessage", api_chat_post_message, U | B, "chat:write", true},
	{"chat.update", api_chat_update, U | B, "chat:write", true},
	{"client.counts", api_client_counts, U | B, NULL, false},
	{"conversations.archive", api_conversations_archive, U | B, NULL, true},
	{"conversations.close", api_conversations_close, U | B, NULL, true},
	{"conversations.create", api_conversations_create, U | B, NULL, true},
	{"conversations.history", api_conversations_history, U | B, NULL, false},
	{"conversations.info", api_conversations_info, U | B, NULL, false},
	{"conversations.invite", api_conversations_invite, U | B, NULL, true},
	{"conversations.join", api_conversations_join, U | B, "channels:join", true},
	{"conversations.kick", api_conversations_kick, U | B, NULL, true},
	{"conversations.leave", api_conversations_leave, U | B, NULL, true},
	{"conversations.list", api_conversations_list, U | B, NULL, false},
	{"conversations.mark", api_conversations_mark, U | B, NULL, true},
	{"conversations.members", api_conversations_members, U | B, NULL, false},
	{"conversations.open", api_conversations_open, U | B, NULL, true},
	{"conversations.rename", api_conversations_rename, U | B, NULL, true},
	{"conversations.replies", api_conversations_replies, U | B, NULL, false},
	{"conversations.setPurpose", api_conversations_set_purpose, U | B, NULL, true},
	{"conversations.setTopic", api_conversations_set_topic, U | B, NULL, true},
	{"conversations.unarchive", api_conversations_unarchive, U | B, NULL, true},
	{"emoji.list", api_emoji_list, U | B, "emoji:read", false},
	{"pins.add", api_pins_add, U | B, "pins:write", true},
	{"pins.list", api_pins_list, U | B, "pins:read", false},
	{"pins.remove", api_pins_remove, U | B, "pins:write", true},
	{"reactions.add", api_reactions_add, U | B, "reactions:write", true},
	{"reactions.get", api_reactions_get, U | B, "reactions:read", false},
	{"reactions.list", api_reactions_list, U | B, "reactions:read", false},
	{"reactions.remove", api_reactions_remove, U | B, "reactions:write", true},
	{"rtm.connect", api_rtm_connect, U | B, NULL, false},
	{"team.info", api_team_info, U | B, "team:read", false},
	{"usergroups.create", api_usergroups_create, U | B, "usergroups:write", true},
	{"usergroups.disable", api_usergroups_disable, U | B, "usergroups:write", true},
	{"usergroups.enable", api_usergroups_enable, U | B, "usergroups:write", true},
	{"usergroups.list", api_usergroups_list, U | B, "usergroups:read", false},
	{"usergroups.update", api_usergroups_update, U | B, "usergroups:write", true},
	{"usergroups.users.list", api_usergroups_users_list, U | B, "usergroups:read", false},
	{"usergroups.users.update", api_usergroups_users_update, U | B, "usergroups:write", true},
	{"users.conversations", api_users_conversations, U | B, NULL, false},
	{"users.getPresence", api_users_get_presence, U | B, "users:read", false},
	{"users.info", api_users_info, U | B, "users:read", false},
	{"users.list", api_users_list, U | B, "users:read", false},
	{"users.lookupByEmail", api_users_lookup_by_email, U | B, "users:read.email", false},
	{"users.profile.get", api_users_profile_get, U | B, "users.profile:read", false},
	{"users.profile.set", api_users_profile_set, U, NULL, true},
	{"users.setPresence", api_users_set_presence, U, NULL, true},
};

const size_t api_nmethods = sizeof api_methods / sizeof api_methods[0];
