/* Files: the metadata rows of uploaded files and where each is shared
 * (src/store/sqlite/sqlite_files.c). The bytes are not here: they live
 * content-addressed on disk (api/api_files_blob.c). Rows are written
 * through store jobs like every other write and read synchronously on
 * the read connection (committed data only). */
#ifndef CANAL_STORE_STORE_FILES_H
#define CANAL_STORE_STORE_FILES_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/ids.h"

struct store;
struct store_job;

enum { FILE_PENDING = 0, FILE_UPLOADED = 1, FILE_COMPLETE = 2 };

typedef struct store_file {
	char id[ID_MAX];
	char org_id[ID_MAX];
	char user_id[ID_MAX];
	char *name, *title, *alt_txt, *snippet_type;
	char *mimetype, *filetype;
	int64_t length;           /* announced by getUploadURLExternal */
	int64_t size;             /* bytes received */
	char sha256[65];          /* hex, "" until uploaded */
	char upload_key[65];      /* hash of the upload URL's secret */
	int state;                /* FILE_PENDING / FILE_UPLOADED / FILE_COMPLETE */
	int64_t created;          /* unix seconds */
	char public_secret[33];   /* "" = never shared publicly */
	bool public_url_shared;
	bool revoked;             /* an admin took access away */
	char revoked_by[ID_MAX];
	int64_t revoked_at;
	bool deleted;
	int width, height;        /* images */
	int thumbs;               /* bitmask over the thumbnail sizes made */
} store_file;

typedef struct store_file_share {
	char channel_id[ID_MAX];
	int64_t ts;               /* the message that shares it */
} store_file_share;

/* A listing: completed, not deleted files of an org, newest first. */
typedef struct store_file_query {
	const char *org_id;
	const char *user_id;      /* uploaded by; NULL = anyone */
	const char *channel_id;   /* shared in; NULL = anywhere */
	const char *text;         /* name or title contains (case-insensitive); NULL = all */
	int64_t ts_from, ts_to;   /* created within, 0 = open */
	int64_t before_created;   /* page start: strictly older than (before_created, before_id) */
	const char *before_id;    /* NULL = from the newest */
	size_t limit;
} store_file_query;

void store_file_init(store_file *f);
void store_file_release(store_file *f);
void store_file_list_free(store_file *fs, size_t n);

/* Upserts the whole row. */
void store_file_put(struct store_job *j, const store_file *f);
void store_file_share_add(struct store_job *j, const char *file_id, const char *channel_id,
			  int64_t ts);
/* Deletes the row and its shares (retention, purge). The bytes are the
 * caller's (api_file_purge removes them once no row refers to them). */
void store_file_purge(struct store_job *j, const char *file_id);

/* 0, ERR_FILE_NOT_FOUND or ERR_INTERNAL_ERROR. */
int store_file_get(struct store *st, const char *id, store_file *out);
/* Where the file is shared, oldest first; *out heap (free()). Count. */
size_t store_file_shares(struct store *st, const char *file_id, store_file_share **out);
/* Files matching q into *out (heap; store_file_list_free); 0 or
 * ERR_INTERNAL_ERROR. */
int store_file_list(struct store *st, const store_file_query *q, store_file **out, size_t *n);
/* Rows other than except_id whose bytes are sha256 (deleted ones
 * excluded): 0 means the blob may go. */
int store_file_blob_refs(struct store *st, const char *sha256, const char *except_id);

/* ---- retention (sqlite_files_retention.c) ---- */
typedef struct store_file_candidate {
	int64_t ts;               /* the share's message ts (µs) */
	char file_id[ID_MAX];
	char user_id[ID_MAX];     /* uploader */
	int64_t created;          /* unix seconds */
	char sha256[65];
} store_file_candidate;
/* Up to limit shares of channel_id with ts < cutoff (µs) after the
 * cursor (after_ts, after_id), oldest first, with their files (deleted
 * ones too). One indexed range read. 0 or ERR_INTERNAL_ERROR. */
int store_file_retention_candidates(struct store *st, const char *channel_id, int64_t after_ts,
				    const char *after_id, int64_t cutoff, size_t limit,
				    store_file_candidate *out, size_t *n);
/* Deletes the file's row and shares, unless by commit time a live legal
 * hold covers its uploader or a channel it is shared in, or it has a
 * share newer than newest_share_ts (shared again since). */
void store_file_retention_delete(struct store_job *j, const char *file_id,
				 int64_t newest_share_ts);

#endif
