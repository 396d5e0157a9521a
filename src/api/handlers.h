/* Every Web API handler, named after its method (chat.postMessage ->
 * api_chat_post_message in api_chat.c). Grep the method, find the code. */
#ifndef CANAL_API_HANDLERS_H
#define CANAL_API_HANDLERS_H
#include "api/api.h"

/* api_apps.c */
int api_apps_manifest_create(api_ctx *c);
int api_apps_manifest_update(api_ctx *c);
int api_apps_manifest_export(api_ctx *c);
int api_apps_manifest_validate(api_ctx *c);
int api_apps_manifest_delete(api_ctx *c);
/* api_apps_conn.c */
int api_apps_connections_open(api_ctx *c);
/* api_auth.c */
int api_auth_test(api_ctx *c);
int api_auth_revoke(api_ctx *c);
int api_api_test(api_ctx *c);
/* api_chat.c */
int api_chat_post_message(api_ctx *c);
int api_chat_update(api_ctx *c);
int api_chat_delete(api_ctx *c);
int api_chat_get_permalink(api_ctx *c);
int api_chat_me_message(api_ctx *c);
/* api_client.c */
int api_client_counts(api_ctx *c);
/* Unread mention counts of the caller in chans[0..n) after each member's
 * read cursor (counts[i]; 0 where the caller is not a member). */
int api_client_mention_counts(api_ctx *c, channel *const *chans, size_t n, int64_t *counts);
/* api_conversations.c (manage) and api_conversations_read.c */
int api_conversations_create(api_ctx *c);
int api_conversations_info(api_ctx *c);
int api_conversations_list(api_ctx *c);
int api_conversations_history(api_ctx *c);
int api_conversations_replies(api_ctx *c);
int api_conversations_join(api_ctx *c);
int api_conversations_leave(api_ctx *c);
int api_conversations_invite(api_ctx *c);
int api_conversations_kick(api_ctx *c);
int api_conversations_members(api_ctx *c);
int api_conversations_open(api_ctx *c);
int api_conversations_close(api_ctx *c);
int api_conversations_archive(api_ctx *c);
int api_conversations_unarchive(api_ctx *c);
int api_conversations_rename(api_ctx *c);
int api_conversations_set_topic(api_ctx *c);
int api_conversations_set_purpose(api_ctx *c);
int api_conversations_mark(api_ctx *c);
/* api_rtm.c */
int api_rtm_connect(api_ctx *c);
/* api_users.c */
int api_users_list(api_ctx *c);
int api_users_info(api_ctx *c);
int api_users_lookup_by_email(api_ctx *c);
int api_users_conversations(api_ctx *c);
int api_users_profile_get(api_ctx *c);
int api_users_profile_set(api_ctx *c);
int api_users_get_presence(api_ctx *c);
int api_users_set_presence(api_ctx *c);
/* api_reactions.c */
int api_reactions_add(api_ctx *c);
int api_reactions_remove(api_ctx *c);
int api_reactions_get(api_ctx *c);
int api_reactions_list(api_ctx *c);
/* api_pins.c */
int api_pins_add(api_ctx *c);
int api_pins_remove(api_ctx *c);
int api_pins_list(api_ctx *c);
/* api_usergroups.c */
int api_usergroups_create(api_ctx *c);
int api_usergroups_list(api_ctx *c);
int api_usergroups_update(api_ctx *c);
int api_usergroups_disable(api_ctx *c);
int api_usergroups_enable(api_ctx *c);
int api_usergroups_users_list(api_ctx *c);
int api_usergroups_users_update(api_ctx *c);
/* api_team.c */
int api_team_info(api_ctx *c);
int api_bots_info(api_ctx *c);
int api_emoji_list(api_ctx *c);
/* Interactivity (api_interact.h): api_command.c, api_ephemeral.c,
 * api_interact.c, api_views.c */
int api_chat_command(api_ctx *c);
int api_chat_post_ephemeral(api_ctx *c);
int api_blocks_action(api_ctx *c);
int api_shortcuts_run(api_ctx *c);
int api_views_open(api_ctx *c);
int api_views_push(api_ctx *c);
int api_views_update(api_ctx *c);
int api_views_publish(api_ctx *c);
int api_views_submit(api_ctx *c);
int api_views_close(api_ctx *c);
/* api_compliance.c */
int api_admin_conversations_get_custom_retention(api_ctx *c);
int api_admin_conversations_remove_custom_retention(api_ctx *c);
int api_admin_conversations_set_custom_retention(api_ctx *c);
int api_admin_legal_holds_create(api_ctx *c);
int api_admin_legal_holds_list(api_ctx *c);
int api_admin_legal_holds_release(api_ctx *c);
int api_admin_retention_get(api_ctx *c);
int api_admin_retention_remove(api_ctx *c);
int api_admin_retention_set(api_ctx *c);

/* api_files.c */
int api_files_get_upload_url_external(api_ctx *c);
int api_files_complete_upload_external(api_ctx *c);
int api_files_upload(api_ctx *c);
int api_files_info(api_ctx *c);
int api_files_list(api_ctx *c);
int api_files_delete(api_ctx *c);
int api_files_shared_public_url(api_ctx *c);
int api_files_revoke_public_url(api_ctx *c);
int api_admin_files_revoke_access(api_ctx *c);
int api_admin_files_restore_access(api_ctx *c);
int api_search_files(api_ctx *c);

/* api_prefs.c */
int api_users_prefs_get(api_ctx *c);
int api_users_prefs_set(api_ctx *c);
/* api_search.c */
struct search_query;
int api_search_messages(api_ctx *c);
int api_search_all(api_ctx *c);
/* search.all's "files" section ({matches, total, paging, pagination}):
 * empty until file search is wired in here. New reference. */
json_t *api_search_files_section(api_ctx *c, const struct search_query *q, long count, long page);
/* api_reminders.c */
int api_reminders_add(api_ctx *c);
int api_reminders_complete(api_ctx *c);
int api_reminders_delete(api_ctx *c);
int api_reminders_info(api_ctx *c);
int api_reminders_list(api_ctx *c);
/* api_suggest.c */
int api_blocks_suggest(api_ctx *c);

#endif
