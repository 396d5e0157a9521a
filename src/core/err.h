/* The one error enum. Fallible functions across Canal return 0 or one of
 * these (negative). err_name() gives Slack's error string, err_http() the
 * HTTP status the Web API answers with (200 for every API-level error, as
 * Slack's clients require; transport errors keep their own status).
 * Adding an error: one line in ERR_LIST. */
#ifndef CANAL_CORE_ERR_H
#define CANAL_CORE_ERR_H

#define ERR_LIST(X) \
	X(NOT_AUTHED, "not_authed", 200) \
	X(INVALID_AUTH, "invalid_auth", 200) \
	X(ACCOUNT_INACTIVE, "account_inactive", 200) \
	X(TOKEN_REVOKED, "token_revoked", 200) \
	X(TOKEN_EXPIRED, "token_expired", 200) \
	X(NOT_AUTHORIZED, "not_authorized", 200) \
	X(NOT_ADMIN, "not_admin", 200) \
	X(NOT_ALLOWED_TOKEN_TYPE, "not_allowed_token_type", 200) \
	X(MISSING_SCOPE, "missing_scope", 200) \
	X(NO_PERMISSION, "no_permission", 200) \
	X(RESTRICTED_ACTION, "restricted_action", 200) \
	X(PERMISSION_DENIED, "permission_denied", 200) \
	X(INVALID_ARGUMENTS, "invalid_arguments", 200) \
	X(INVALID_ARG_NAME, "invalid_arg_name", 200) \
	X(INVALID_JSON, "invalid_json", 200) \
	X(JSON_NOT_OBJECT, "json_not_object", 200) \
	X(INVALID_FORM_DATA, "invalid_form_data", 200) \
	X(INVALID_POST_TYPE, "invalid_post_type", 200) \
	X(INVALID_CHARSET, "invalid_charset", 200) \
	X(MISSING_ARGUMENT, "missing_argument", 200) \
	X(INVALID_CURSOR, "invalid_cursor", 200) \
	X(INVALID_LIMIT, "invalid_limit", 200) \
	X(UNKNOWN_METHOD, "unknown_method", 200) \
	X(INTERNAL_ERROR, "internal_error", 200) \
	X(FATAL_ERROR, "fatal_error", 200) \
	X(SERVICE_UNAVAILABLE, "service_unavailable", 200) \
	X(OPERATION_TIMEOUT, "operation_timeout", 200) \
	X(DISPATCH_FAILED, "dispatch_failed", 200) \
	X(RATELIMITED, "ratelimited", 429) \
	X(CHANNEL_NOT_FOUND, "channel_not_found", 200) \
	X(NOT_IN_CHANNEL, "not_in_channel", 200) \
	X(IS_ARCHIVED, "is_archived", 200) \
	X(ALREADY_ARCHIVED, "already_archived", 200) \
	X(NOT_ARCHIVED, "not_archived", 200) \
	X(NAME_TAKEN, "name_taken", 200) \
	X(INVALID_NAME, "invalid_name", 200) \
	X(INVALID_NAME_REQUIRED, "invalid_name_required", 200) \
	X(INVALID_NAME_PUNCTUATION, "invalid_name_punctuation", 200) \
	X(INVALID_NAME_MAXLENGTH, "invalid_name_maxlength", 200) \
	X(INVALID_NAME_SPECIALS, "invalid_name_specials", 200) \
	X(CANT_ARCHIVE_GENERAL, "cant_archive_general", 200) \
	X(CANT_LEAVE_GENERAL, "cant_leave_general", 200) \
	X(LAST_MEMBER, "last_member", 200) \
	X(ALREADY_IN_CHANNEL, "already_in_channel", 200) \
	X(CANT_INVITE_SELF, "cant_invite_self", 200) \
	X(CANT_INVITE, "cant_invite", 200) \
	X(CANT_KICK_SELF, "cant_kick_self", 200) \
	X(CANT_KICK_FROM_GENERAL, "cant_kick_from_general", 200) \
	X(NO_USER, "no_user", 200) \
	X(USER_NOT_FOUND, "user_not_found", 200) \
	X(USERS_NOT_FOUND, "users_not_found", 200) \
	X(USER_NOT_IN_CHANNEL, "user_not_in_channel", 200) \
	X(METHOD_NOT_SUPPORTED_FOR_CHANNEL_TYPE, "method_not_supported_for_channel_type", 200) \
	X(TOO_LONG, "too_long", 200) \
	X(INVALID_TIMESTAMP, "invalid_timestamp", 200) \
	X(USERS_LIST_NOT_SUPPLIED, "users_list_not_supplied", 200) \
	X(NOT_ENOUGH_USERS, "not_enough_users", 200) \
	X(TOO_MANY_USERS, "too_many_users", 200) \
	X(NO_TEXT, "no_text", 200) \
	X(MSG_TOO_LONG, "msg_too_long", 200) \
	X(TOO_MANY_ATTACHMENTS, "too_many_attachments", 200) \
	X(INVALID_BLOCKS, "invalid_blocks", 200) \
	X(INVALID_ATTACHMENTS, "invalid_attachments", 200) \
	X(INVALID_METADATA_FORMAT, "invalid_metadata_format", 200) \
	X(INVALID_METADATA_SCHEMA, "invalid_metadata_schema", 200) \
	X(MESSAGE_NOT_FOUND, "message_not_found", 200) \
	X(CANT_UPDATE_MESSAGE, "cant_update_message", 200) \
	X(CANT_DELETE_MESSAGE, "cant_delete_message", 200) \
	X(THREAD_NOT_FOUND, "thread_not_found", 200) \
	X(INVALID_TS_LATEST, "invalid_ts_latest", 200) \
	X(INVALID_TS_OLDEST, "invalid_ts_oldest", 200) \
	X(INVALID_THREAD_TS, "invalid_thread_ts", 200) \
	X(CANNOT_REPLY_TO_MESSAGE, "cannot_reply_to_message", 200) \
	X(ALREADY_REACTED, "already_reacted", 200) \
	X(NO_REACTION, "no_reaction", 200) \
	X(TOO_MANY_REACTIONS, "too_many_reactions", 200) \
	X(BAD_TIMESTAMP, "bad_timestamp", 200) \
	X(NO_ITEM_SPECIFIED, "no_item_specified", 200) \
	X(ALREADY_PINNED, "already_pinned", 200) \
	X(NOT_PINNED, "not_pinned", 200) \
	X(NOT_PINNABLE, "not_pinnable", 200) \
	X(BOT_NOT_FOUND, "bot_not_found", 200) \
	X(TEAM_NOT_FOUND, "team_not_found", 200) \
	X(NAME_ALREADY_EXISTS, "name_already_exists", 200) \
	X(HANDLE_ALREADY_EXISTS, "handle_already_exists", 200) \
	X(NO_SUCH_SUBTEAM, "no_such_subteam", 200) \
	X(NO_USERS_PROVIDED, "no_users_provided", 200) \
	X(INVALID_USERS, "invalid_users", 200) \
	X(INVALID_PRESENCE, "invalid_presence", 200) \
	X(INVALID_PROFILE, "invalid_profile", 200) \
	X(INVALID_PREFS, "invalid_prefs", 200) \
	X(PREFS_TOO_LARGE, "prefs_too_large", 200) \
	X(INVALID_TYPES, "invalid_types", 200) \
	X(CANNOT_UPDATE_ADMIN_USER, "cannot_update_admin_user", 200) \
	X(NOT_FOUND, "not_found", 200) \
	X(CANNOT_PARSE, "cannot_parse", 200) \
	X(CANNOT_ADD_BOT, "cannot_add_bot", 200) \
	X(CANNOT_ADD_OTHERS, "cannot_add_others", 200) \
	X(CANNOT_COMPLETE_RECURRING, "cannot_complete_recurring", 200) \
	X(INVALID_MANIFEST, "invalid_manifest", 200) \
	X(INVALID_APP_ID, "invalid_app_id", 200) \
	X(ALREADY_EXISTS, "already_exists", 200) \
	X(INVALID_EMAIL, "invalid_email", 200) \
	X(EMAIL_TAKEN, "email_taken", 200) \
	X(BAD_REQUEST, "bad_request", 400) \
	X(TOO_LARGE, "request_too_large", 413) \
	X(STORAGE_FULL, "storage_full", 200) \
	X(CHANNEL_LIMIT, "too_many_channels", 200) \
	X(INVALID_COMMAND, "invalid_command", 200) \
	X(INVALID_TRIGGER_ID, "invalid_trigger_id", 200) \
	X(EXPIRED_TRIGGER_ID, "expired_trigger_id", 200) \
	X(EXCHANGED_TRIGGER_ID, "exchanged_trigger_id", 200) \
	X(VIEW_TOO_LARGE, "view_too_large", 200) \
	X(DUPLICATE_EXTERNAL_ID, "duplicate_external_id", 200) \
	X(HASH_CONFLICT, "hash_conflict", 200) \
	X(PUSH_LIMIT_REACHED, "push_limit_reached", 200) \
	X(NOT_AN_ADMIN, "not_an_admin", 200) \
	X(INVALID_DURATION_DAYS, "invalid_duration_days", 200) \
	X(FILE_NOT_FOUND, "file_not_found", 200) \
	X(FILE_DELETED, "file_deleted", 200) \
	X(FILE_UPLOADS_DISABLED, "file_uploads_disabled", 200) \
	X(FILE_UPLOAD_SIZE_RESTRICTED, "file_upload_size_restricted", 200) \
	X(ALT_TXT_TOO_LARGE, "alt_txt_too_large", 200) \
	X(NO_FILE_DATA, "no_file_data", 200) \
	X(FILE_ACCESS_REVOKED, "file_access_revoked", 200) \
	X(CANT_DELETE_FILE, "cant_delete_file", 200) \
	X(NO_QUERY, "no_query", 200) \
	X(INVALID_QUERY, "invalid_query", 200)

enum err {
	ERR_OK = 0,
#define X(sym, name, http) ERR_##sym,
	ERR__FIRST_PLACEHOLDER = -1000,
	ERR_LIST(X)
#undef X
	ERR__END
};

/* Slack's error name for e ("ok" for 0, "internal_error" if unknown). */
const char *err_name(int e);
/* HTTP status for e. */
int err_http(int e);
/* Reverse lookup for tests and the CLI; 0 if unknown. */
int err_from_name(const char *name);

#endif
