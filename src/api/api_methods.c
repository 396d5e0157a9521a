/* The method table: every Web API method, who may call it and the scope a
 * bot token needs. Methods whose scope depends on the channel type
 * (channels:history vs groups:history ...) have scope NULL here and check
 * with api_need_chan_scope once the channel is known. The last column is
 * the method's rate-limit tier (Slack's, see api_ratelimit.h). Sorted by name:
 * api_method_find does a binary search. */
#include "api/api_ratelimit.h"
#include "api/handlers.h"

#define U API_USER
#define B API_BOT
/* Rate-limit tiers, as Slack documents each method ("special" methods:
 * TP = chat.postMessage, per channel; TH = hundreds a minute). */
#define T1 API_TIER_1
#define T2 API_TIER_2
#define T3 API_TIER_3
#define T4 API_TIER_4
#define TP API_TIER_POST
#define TH API_TIER_HIGH

const api_method api_methods[] = {
	{"admin.conversations.getCustomRetention", api_admin_conversations_get_custom_retention, U, NULL, false, T3},
	{"admin.conversations.removeCustomRetention", api_admin_conversations_remove_custom_retention, U, NULL, true, T2},
	{"admin.conversations.setCustomRetention", api_admin_conversations_set_custom_retention, U, NULL, true, T2},
	{"admin.files.restoreAccess", api_admin_files_restore_access, U, NULL, true, T2},
	{"admin.files.revokeAccess", api_admin_files_revoke_access, U, NULL, true, T2},
	{"admin.legalHolds.create", api_admin_legal_holds_create, U, NULL, true, T2},
	{"admin.legalHolds.list", api_admin_legal_holds_list, U, NULL, false, T3},
	{"admin.legalHolds.release", api_admin_legal_holds_release, U, NULL, true, T2},
	{"admin.retention.get", api_admin_retention_get, U, NULL, false, T3},
	{"admin.retention.remove", api_admin_retention_remove, U, NULL, true, T2},
	{"admin.retention.set", api_admin_retention_set, U, NULL, true, T2},
	{"api.test", api_api_test, API_NOAUTH | U | B | API_APP, NULL, false, T4},
	{"apps.connections.open", api_apps_connections_open, API_APP, "connections:write", false, T1},
	{"apps.manifest.create", api_apps_manifest_create, U, NULL, true, T1},
	{"apps.manifest.delete", api_apps_manifest_delete, U, NULL, true, T1},
	{"apps.manifest.export", api_apps_manifest_export, U, NULL, false, T3},
	{"apps.manifest.update", api_apps_manifest_update, U, NULL, true, T1},
	{"apps.manifest.validate", api_apps_manifest_validate, U, NULL, false, T3},
	{"auth.revoke", api_auth_revoke, U | B, NULL, true, T3},
	{"auth.test", api_auth_test, U | B | API_APP, NULL, false, TH},
	{"blocks.action", api_blocks_action, U, NULL, true, T3},
	{"blocks.suggest", api_blocks_suggest, U, NULL, false, T4},
	{"bots.info", api_bots_info, U | B, "users:read", false, T3},
	{"chat.command", api_chat_command, U, NULL, true, T3},
	{"chat.delete", api_chat_delete, U | B, "chat:write", true, T3},
	{"chat.getPermalink", api_chat_get_permalink, U | B, NULL, false, TH},
	{"chat.meMessage", api_chat_me_message, U | B, "chat:write", true, T3},
	{"chat.postEphemeral", api_chat_post_ephemeral, U | B, "chat:write", false, T4},
	{"chat.postMessage", api_chat_post_message, U | B, "chat:write", true, TP},
	{"chat.update", api_chat_update, U | B, "chat:write", true, T3},
	{"client.counts", api_client_counts, U | B, NULL, false, T3},
	{"conversations.archive", api_conversations_archive, U | B, NULL, true, T2},
	{"conversations.close", api_conversations_close, U | B, NULL, true, T2},
	{"conversations.create", api_conversations_create, U | B, NULL, true, T2},
	{"conversations.history", api_conversations_history, U | B, NULL, false, T3},
	{"conversations.info", api_conversations_info, U | B, NULL, false, T3},
	{"conversations.invite", api_conversations_invite, U | B, NULL, true, T3},
	{"conversations.join", api_conversations_join, U | B, "channels:join", true, T3},
	{"conversations.kick", api_conversations_kick, U | B, NULL, true, T3},
	{"conversations.leave", api_conversations_leave, U | B, NULL, true, T3},
	{"conversations.list", api_conversations_list, U | B, NULL, false, T2},
	{"conversations.mark", api_conversations_mark, U | B, NULL, true, T3},
	{"conversations.members", api_conversations_members, U | B, NULL, false, T4},
	{"conversations.open", api_conversations_open, U | B, NULL, true, T3},
	{"conversations.rename", api_conversations_rename, U | B, NULL, true, T2},
	{"conversations.replies", api_conversations_replies, U | B, NULL, false, T3},
	{"conversations.setPurpose", api_conversations_set_purpose, U | B, NULL, true, T2},
	{"conversations.setTopic", api_conversations_set_topic, U | B, NULL, true, T2},
	{"conversations.unarchive", api_conversations_unarchive, U | B, NULL, true, T2},
	{"emoji.list", api_emoji_list, U | B, "emoji:read", false, T2},
	{"files.completeUploadExternal", api_files_complete_upload_external, U | B, "files:write", true, T4},
	{"files.delete", api_files_delete, U | B, "files:write", true, T3},
	{"files.getUploadURLExternal", api_files_get_upload_url_external, U | B, "files:write", true, T4},
	{"files.info", api_files_info, U | B, "files:read", false, T4},
	{"files.list", api_files_list, U | B, "files:read", false, T3},
	{"files.revokePublicURL", api_files_revoke_public_url, U, NULL, true, T3},
	{"files.sharedPublicURL", api_files_shared_public_url, U, NULL, true, T3},
	{"files.upload", api_files_upload, U | B, "files:write", true, T2},
	{"pins.add", api_pins_add, U | B, "pins:write", true, T2},
	{"pins.list", api_pins_list, U | B, "pins:read", false, T2},
	{"pins.remove", api_pins_remove, U | B, "pins:write", true, T2},
	{"reactions.add", api_reactions_add, U | B, "reactions:write", true, T3},
	{"reactions.get", api_reactions_get, U | B, "reactions:read", false, T3},
	{"reactions.list", api_reactions_list, U | B, "reactions:read", false, T2},
	{"reactions.remove", api_reactions_remove, U | B, "reactions:write", true, T2},
	{"reminders.add", api_reminders_add, U, NULL, true, T2},
	{"reminders.complete", api_reminders_complete, U, NULL, true, T2},
	{"reminders.delete", api_reminders_delete, U, NULL, true, T2},
	{"reminders.info", api_reminders_info, U, NULL, false, T2},
	{"reminders.list", api_reminders_list, U, NULL, false, T2},
	{"rtm.connect", api_rtm_connect, U | B, NULL, false, T1},
	{"search.all", api_search_all, U, "search:read", false, T2},
	{"search.files", api_search_files, U, "search:read", false, T2},
	{"search.messages", api_search_messages, U, "search:read", false, T2},
	{"shortcuts.run", api_shortcuts_run, U, NULL, true, T3},
	{"team.info", api_team_info, U | B, "team:read", false, T3},
	{"usergroups.create", api_usergroups_create, U | B, "usergroups:write", true, T2},
	{"usergroups.disable", api_usergroups_disable, U | B, "usergroups:write", true, T2},
	{"usergroups.enable", api_usergroups_enable, U | B, "usergroups:write", true, T2},
	{"usergroups.list", api_usergroups_list, U | B, "usergroups:read", false, T2},
	{"usergroups.update", api_usergroups_update, U | B, "usergroups:write", true, T2},
	{"usergroups.users.list", api_usergroups_users_list, U | B, "usergroups:read", false, T2},
	{"usergroups.users.update", api_usergroups_users_update, U | B, "usergroups:write", true, T2},
	{"users.conversations", api_users_conversations, U | B, NULL, false, T3},
	{"users.getPresence", api_users_get_presence, U | B, "users:read", false, T3},
	{"users.info", api_users_info, U | B, "users:read", false, T4},
	{"users.list", api_users_list, U | B, "users:read", false, T2},
	{"users.lookupByEmail", api_users_lookup_by_email, U | B, "users:read.email", false, T3},
	{"users.prefs.get", api_users_prefs_get, U, NULL, false, T3},
	{"users.prefs.set", api_users_prefs_set, U, NULL, true, T3},
	{"users.profile.get", api_users_profile_get, U | B, "users.profile:read", false, T4},
	{"users.profile.set", api_users_profile_set, U, NULL, true, T3},
	{"users.setPresence", api_users_set_presence, U, NULL, true, T2},
	{"views.close", api_views_close, U, NULL, false, T4},
	{"views.open", api_views_open, B, NULL, false, T4},
	{"views.publish", api_views_publish, B, NULL, false, T4},
	{"views.push", api_views_push, B, NULL, false, T4},
	{"views.submit", api_views_submit, U, NULL, true, T4},
	{"views.update", api_views_update, B, NULL, false, T4},
};

const size_t api_nmethods = sizeof api_methods / sizeof api_methods[0];
