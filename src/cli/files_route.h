/* File routes: the upload URL files.getUploadURLExternal hands out, the
 * streamed multipart files.upload, and the download URLs of a file object
 * (url_private / url_private_download, thumbnails, the public link).
 *
 *   POST /upload/v1/<F>/<secret>      the bytes of a pending upload: raw
 *                                     body or the first part of a
 *                                     multipart body; 200 "OK - <size>"
 *   GET  /files-pri/<T>-<F>/<name>    the file, inline for images
 *   GET  /files-pri/<T>-<F>/download/<name>   as an attachment
 *   GET  /files-tmb/<T>-<F>-<N>/<name>        thumbnail thumb_<N>
 *   GET  /files-pub/<T>-<F>-<secret>/<name>   public link (no auth)
 *
 * Private URLs take `Authorization: Bearer <token>` or the browser's
 * canal_session cookie, and answer only someone who may see the file
 * (api_file_visible): 401 without credentials, 404 otherwise, so that a
 * file's existence never leaks. */
#ifndef CANAL_CLI_FILES_ROUTE_H
#define CANAL_CLI_FILES_ROUTE_H
#include "cli/routes.h"

/* http_sink_cb (ud = canal_server*): streams the bodies of the upload URL
 * and of multipart files.upload to disk. */
int files_route_sink(http_req *r, http_body_sink *sink, void *ud);

void files_route_upload(canal_server *s, http_req *req, const char *rest);
void files_route_private(canal_server *s, http_req *req, const char *rest);
void files_route_thumb(canal_server *s, http_req *req, const char *rest);
void files_route_public(canal_server *s, http_req *req, const char *rest);
/* POST /api/files.upload whose multipart body was streamed (body_ctx). */
void files_route_api_upload(canal_server *s, http_req *req);

/* The parsers of the routes' URLs and cookie, for fuzz/fuzz_files_route.c.
 * upload_path: "<F>/<secret>" into id and secret. file_path: "<T>-<F>[-<tail>]"
 * up to the first '/' of rest into org_id and id (ID_MAX each) and tail
 * ("" if none), *after what follows the '/'. cookie: the value of cookie
 * name in a Cookie header. Each 0, or -1 if malformed or too long. */
int files_route__upload_path(const char *rest, char *id, size_t idcap, char *secret, size_t scap);
int files_route__file_path(const char *rest, char *org_id, char *id, char *tail, size_t tcap,
			   const char **after);
int files_route__cookie(const char *hdr, const char *name, char *out, size_t cap);

#endif
