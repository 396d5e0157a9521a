/* Files: the bytes on disk, uploads as they stream in, who may see a file
 * and the Slack shape of a file object. Shared by the Web API methods
 * (api_files.c), the upload and download routes (cli/files_route.c) and
 * message rendering (files[] of a message).
 *
 * On disk, under the data directory:
 *   files/tmp/up-XXXXXX             an upload being received
 *   files/ab/cdef...                the bytes, named by their SHA-256 (hex)
 *   files/ab/cdef....t<N>.<png|jpg> thumbnail N px (thumb_N) of an image
 * Two uploads of the same bytes share one blob; a blob goes when no row
 * (deleted ones aside) names it any more. */
#ifndef CANAL_API_API_FILES_H
#define CANAL_API_API_FILES_H
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "api/api.h"
#include "store/store.h"

/* Thumbnail sizes (px, the longer side), Slack's thumb_<N> keys; bit i of
 * store_file.thumbs says size i was made. */
#define FILES_NTHUMBS 9
extern const int files_thumb_sizes[FILES_NTHUMBS];
/* Images with more pixels than this get no thumbnails: decoding one
 * costs 4 bytes a pixel on a thread-pool thread (25 Mpx = 100 MB). */
#define FILES_THUMB_MAX_PIXELS (25 * 1000 * 1000)

/* ---- an upload being received (api_files_blob.c) ---- */
typedef struct files_upload files_upload;
typedef enum files_upload_mode {
	FILES_RAW,        /* the body is the file */
	FILES_MULTIPART_FIRST, /* multipart: the first part with a filename is the file,
	                          else the first part (upload URL) */
	FILES_MULTIPART_FORM,  /* multipart: the part with a filename (or named "file") is
	                          the file, other parts are form fields (files.upload) */
} files_upload_mode;
/* Opens a temp file under files_dir/tmp. content_type is the request's
 * (for the multipart boundary). NULL if the temp file cannot be made or
 * a multipart body has no usable boundary (*status gets 500 / 400). */
files_upload *files_upload_new(const char *files_dir, files_upload_mode mode,
			       const char *content_type, uint64_t max_file_bytes, int *status);
/* http_body_sink callbacks (ctx = the files_upload). write returns 0, 413
 * past the file limit, 400 for a malformed multipart body, 500 on a disk
 * error. abort removes the temp file and frees. */
int files_upload_write(void *ctx, const char *data, size_t len);
void files_upload_abort(void *ctx);
/* After the whole body: 0, or ERR_INVALID_FORM_DATA (multipart cut short),
 * ERR_NO_FILE_DATA (no file part). */
int files_upload_end(files_upload *u);
uint64_t files_upload_size(const files_upload *u);
/* The form fields of a FILES_MULTIPART_FORM body (borrowed object of
 * strings) and the file part's filename ("" if none). */
json_t *files_upload_fields(files_upload *u);
const char *files_upload_filename(const files_upload *u);

/* What committing an upload found. */
typedef struct files_blob_info {
	char sha256[65];
	uint64_t size;
	char mimetype[128];
	int width, height;   /* images */
	int thumbs;          /* bitmask over files_thumb_sizes */
} files_blob_info;
typedef void (*files_commit_cb)(void *ud, int err, const files_blob_info *info);
/* On the thread pool: fsync, move the temp file to its content address,
 * sniff the MIME type (libmagic) and make thumbnails of images; then
 * cb(ud, 0 | ERR_INTERNAL_ERROR, info) on the loop. Takes u (freed; its
 * temp file is gone either way).
 * The blob is PINNED from the call on (info.sha256 names it, also on
 * error): no removal (files_blob_gc) touches it until the caller, once
 * the row naming it is committed or given up, calls files_blob_unpin.
 * That closes the window between the bytes landing and their row
 * committing, when another file with the same bytes may be deleted. */
void files_upload_commit(uv_loop_t *loop, files_upload *u, files_commit_cb cb, void *ud);
void files_blob_unpin(const char *sha256);
/* Removes the blob (and thumbnails) if no live row names it and no
 * upload holds it pinned. Loop thread. */
void files_blob_gc(store *st, const char *files_dir, const char *sha256);

/* files_blob_gc with the unlinks on the thread pool (loop NULL: right
 * here): the check is a read on the loop, the removal is skipped if an
 * upload pins the same bytes before it runs. Loop thread. */
void files_blob_gc_async(uv_loop_t *loop, store *st, const char *files_dir, const char *sha256);

/* Size of thumbnail `size` of a w x h image (the longer side fits). */
void files_thumb_dims(int w, int h, int size, int *tw, int *th);
/* Removes what uploads interrupted by a crash left in files_dir/tmp (no
 * upload is under way when the server starts). Returns the count. */
int files_tmp_sweep(const char *files_dir);
/* Heap path of a blob (thumb 0) or of its thumbnail of that size. */
char *files_blob_path(const char *files_dir, const char *sha256, int thumb);
/* Removes a blob and its thumbnails (missing ones are fine). */
void files_blob_remove(const char *files_dir, const char *sha256);
/* The MIME type to record for sniffed bytes named name: for text, the
 * name's extension decides between text formats (libmagic calls a .txt
 * with commas text/csv); binary types always come from the bytes.
 * Static or sniffed itself. */
const char *files_mimetype(const char *sniffed, const char *name);
/* Slack's filetype ("png", "text", "pdf", "binary"...) for a MIME type and
 * file name. Static string. */
const char *files_filetype(const char *mimetype, const char *name);

/* ---- visibility and shape (api_files.c) ---- */
/* May u see f: its uploader, a member of (or, for a public channel, anyone
 * in the org of) a channel it is shared in; a revoked file only org
 * admins; a deleted one nobody. */
bool api_file_visible(core_state *s, store *st, const user *u, const store_file *f);
/* The file object in Slack's shape (url_private, thumbs, shares...). */
json_t *api_file_json(api_env *env, const store_file *f, bool with_shares);
/* files[] of a message from the ids it keeps, as the viewer (c->me) may
 * see them: a deleted file is {"id","mode":"tombstone"} (Slack's shape),
 * a revoked one {"id","mode":"hidden","file_access":"revoked"} except for
 * admins. New reference. */
json_t *api_message_files(api_ctx *c, json_t *ids);
/* files.upload with a streamed multipart body (cli/files_route.c): the
 * blob already in place is parked under a fresh random key (heap string),
 * passed to the method as the "_canal_upload" argument; the handler
 * claims it. unpark drops it after the answer and returns 1 if it was
 * claimed (else the caller removes the blob when nothing names it). */
char *api_files_park(const files_blob_info *info, const char *filename);
int api_files_unpark(const char *key);
/* Deletes the file's row and shares and, once committed, its bytes if no
 * other file has the same ones (for retention). cb(ud, 0|ERR_*) after. */
/* Files of the caller's org visible to the caller whose name or title
 * contains text: Slack's search.files section ({matches,total,paging,
 * pagination}); NULL with *err set on a read error. */
json_t *api_files_search_section(api_ctx *c, const char *text, long count, long page, int *err);
void api_file_purge(api_env *env, const char *file_id, store_done_cb cb, void *ud);

#endif
