/* File routes (see files_route.h). Uploads stream to disk through the
 * HTTP server's body sink (files_route_sink picks the requests at
 * headers-complete); the rest of an upload, moving the bytes into place,
 * happens on the thread pool (api_files_blob.c), and the row is updated
 * through a store job before the answer. */
#include "cli/files_route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_files.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/xalloc.h"

#define MULTIPART_SLACK (1u << 20)   /* multipart framing and fields beyond the file */

static void respond_text(http_req *req, int status, const char *msg)
{
	char *body = xasprintf("%s\n", msg);
	http_respond_owned(req, status, "text/plain; charset=utf-8", NULL, body, strlen(body));
}

static bool is_multipart(const char *ct)
{
	if (!ct)
		return false;
	while (*ct == ' ')
		ct++;
	return strncasecmp(ct, "multipart/", 10) == 0;
}

/* Parsers of request data (declared in files_route.h for the fuzzer). */
int files_route__upload_path(const char *rest, char *id, size_t idcap, char *secret, size_t scap)
{
	const char *slash = strchr(rest, '/');
	if (!slash || slash == rest || (size_t)(slash - rest) >= idcap || !slash[1] ||
	    strlen(slash + 1) >= scap || strchr(slash + 1, '/'))
		return -1;
	memcpy(id, rest, (size_t)(slash - rest));
	id[slash - rest] = '\0';
	strcpy(secret, slash + 1);
	return 0;
}

/* The pending upload an upload URL names, into f; 0 or -1. */
static int upload_lookup(canal_server *s, const char *rest, store_file *f)
{
	char id[ID_MAX], secret[128], hash[TOKEN_HASH_HEX];
	store_file_init(f);
	if (files_route__upload_path(rest, id, sizeof id, secret, sizeof secret) != 0)
		return -1;
	if (store_file_get(s->store, id, f) != 0)
		return -1;
	ids_token_hash(secret, hash);
	if (f->state != FILE_PENDING || f->deleted || !f->upload_key[0] ||
	    !ids_equal_ct(hash, f->upload_key)) {
		store_file_release(f);
		return -1;
	}
	return 0;
}

/* The live token of a bearer Authorization header, or NULL. */
static token *bearer_token(canal_server *s, const http_req *r)
{
	const char *auth = http_req_header(r, "authorization");
	if (!auth || strncasecmp(auth, "Bearer ", 7) != 0)
		return NULL;
	const char *tok = auth + 7;
	while (*tok == ' ')
		tok++;
	char hash[TOKEN_HASH_HEX];
	ids_token_hash(tok, hash);
	token *t = core_token_get(&s->state, hash);
	if (!t || t->revoked || t->kind == TOKEN_INVITE || !t->user_id[0])
		return NULL;
	if (t->expires && t->expires < clock_now_s())
		return NULL;
	return t;
}

int files_route_sink(http_req *r, http_body_sink *sink, void *ud)
{
	canal_server *s = ud;
	if (strcmp(r->method, "POST") != 0 || !s->files_dir)
		return 0;
	const char *ct = http_req_header(r, "content-type");
	files_upload_mode mode;
	uint64_t max_file, max_body;
	if (!strncmp(r->path, "/upload/v1/", 11)) {
		store_file f;
		if (upload_lookup(s, r->path + 11, &f) != 0)
			return 0;   /* the route answers 404 */
		/* Never more than announced: the length is the limit. */
		max_file = (uint64_t)f.length;
		store_file_release(&f);
		mode = is_multipart(ct) ? FILES_MULTIPART_FIRST : FILES_RAW;
	} else if (!strcmp(r->path, "/api/files.upload") && is_multipart(ct)) {
		/* A caller known from the headers may send up to the file limit;
		 * one whose token is in the form (curl -F token=...) is known
		 * only at the end, so it gets no more than any request body. */
		mode = FILES_MULTIPART_FORM;
		max_file = (uint64_t)s->cfg.max_file_size;
		max_body = max_file + MULTIPART_SLACK;
		if (!bearer_token(s, r)) {
			max_body = (uint64_t)s->cfg.max_body;
			if (max_file > max_body)
				max_file = max_body;
		}
		goto open;
	} else {
		return 0;
	}
	max_body = mode == FILES_RAW ? max_file : max_file + MULTIPART_SLACK;
open:;
	int status = 0;
	files_upload *u = files_upload_new(s->files_dir, mode, ct, max_file, &status);
	if (!u)
		return 0;   /* buffered; the route answers the error */
	sink->write = files_upload_write;
	sink->abort = files_upload_abort;
	sink->ctx = u;
	sink->max_bytes = max_body;
	return 1;
}

/* ---- the upload URL ---- */

typedef struct upload_ctx {
	canal_server *s;
	http_req *req;
	char id[ID_MAX];
	char sha[65];
} upload_ctx;

static void upload_stored_cb(void *ud, int err)
{
	upload_ctx *x = ud;
	files_blob_unpin(x->sha);
	if (err) {
		files_blob_gc(x->s->store, x->s->files_dir, x->sha);
		log_error("upload row update failed", "file=%s err=%s", x->id, err_name(err));
		respond_text(x->req, 500, "internal error");
	} else {
		store_file f;
		int64_t size = 0;
		if (store_file_get(x->s->store, x->id, &f) == 0)
			size = f.size;
		store_file_release(&f);
		char *body = xasprintf("OK - %lld", (long long)size);
		http_respond_owned(x->req, 200, "text/plain; charset=utf-8", NULL, body, strlen(body));
	}
	free(x);
}

static void upload_committed_cb(void *ud, int err, const files_blob_info *info)
{
	upload_ctx *x = ud;
	store_file f;
	snprintf(x->sha, sizeof x->sha, "%s", info->sha256);
	if (err) {
		files_blob_unpin(x->sha);
		respond_text(x->req, 500, "internal error");
		free(x);
		return;
	}
	/* The row may have changed while the bytes moved (a second upload
	 * to the same URL finished first): only a still pending one takes
	 * these bytes. */
	if (store_file_get(x->s->store, x->id, &f) != 0 || f.state != FILE_PENDING || f.deleted) {
		store_file_release(&f);
		files_blob_unpin(x->sha);
		files_blob_gc(x->s->store, x->s->files_dir, x->sha);
		respond_text(x->req, 409, "upload already received");
		free(x);
		return;
	}
	snprintf(f.sha256, sizeof f.sha256, "%s", info->sha256);
	f.size = (int64_t)info->size;
	free(f.mimetype);
	f.mimetype = xstrdup(files_mimetype(info->mimetype, f.name));
	free(f.filetype);
	f.filetype = xstrdup(files_filetype(f.mimetype, f.name));
	if (f.snippet_type && strcmp(f.filetype, "binary") != 0 && !strncmp(info->mimetype, "text/", 5)) {
		free(f.filetype);
		f.filetype = xstrdup(f.snippet_type);
	}
	f.width = info->width;
	f.height = info->height;
	f.thumbs = info->thumbs;
	f.state = FILE_UPLOADED;
	f.upload_key[0] = '\0';   /* the URL is spent */
	store_job *j = store_job_new(x->s->store);
	store_file_put(j, &f);
	store_file_release(&f);
	store_submit(x->s->store, j, upload_stored_cb, x);
}

void files_route_upload(canal_server *s, http_req *req, const char *rest)
{
	if (strcmp(req->method, "POST") != 0) {
		http_respond(req, 405, "text/plain; charset=utf-8", "Allow: POST\r\n", "method not allowed\n",
			     19);
		return;
	}
	files_upload *u = req->body_ctx;
	if (!u) {
		store_file f;
		int known = upload_lookup(s, rest, &f) == 0;
		store_file_release(&f);
		if (known)
			respond_text(req, 400, "no file data");
		else
			respond_text(req, 404, "upload not found");
		return;
	}
	req->body_ctx = NULL;
	store_file f;
	if (upload_lookup(s, rest, &f) != 0) {
		files_upload_abort(u);
		respond_text(req, 404, "upload not found");
		return;
	}
	int rc = files_upload_end(u);
	int64_t want = f.length;
	upload_ctx *x = xcalloc(1, sizeof *x);
	x->s = s;
	x->req = req;
	snprintf(x->id, sizeof x->id, "%s", f.id);
	store_file_release(&f);
	if (rc || (int64_t)files_upload_size(u) != want) {
		files_upload_abort(u);
		respond_text(req, 400, rc ? "malformed multipart body" : "size differs from the announced length");
		free(x);
		return;
	}
	files_upload_commit(s->loop, u, upload_committed_cb, x);
}

/* ---- downloads ---- */

int files_route__cookie(const char *hdr, const char *name, char *out, size_t cap)
{
	size_t nl = strlen(name);
	while (hdr && *hdr) {
		while (*hdr == ' ' || *hdr == ';')
			hdr++;
		size_t seg = strcspn(hdr, ";");
		if (seg > nl && !strncmp(hdr, name, nl) && hdr[nl] == '=') {
			size_t vl = seg - nl - 1;
			if (vl >= cap)
				return -1;
			memcpy(out, hdr + nl + 1, vl);
			out[vl] = '\0';
			return 0;
		}
		hdr += seg;
	}
	return -1;
}

/* The person asking: bearer token, else browser session cookie. */
static user *requester(canal_server *s, const http_req *req)
{
	token *t = bearer_token(s, req);
	if (!t) {
		char secret[256], hash[TOKEN_HASH_HEX];
		if (files_route__cookie(http_req_header(req, "cookie"), "canal_session", secret, sizeof secret) != 0)
			return NULL;
		ids_token_hash(secret, hash);
		t = core_token_get(&s->state, hash);
		if (!t || t->revoked || t->kind != TOKEN_SESSION ||
		    (t->expires && t->expires < clock_now_s()))
			return NULL;
	}
	user *u = core_user_get(&s->state, t->user_id);
	if (!u || u->deleted || strcmp(u->org_id, t->org_id) != 0)
		return NULL;
	return u;
}

int files_route__file_path(const char *rest, char *org_id, char *id, char *tail, size_t tcap,
		     const char **after)
{
	const char *slash = strchr(rest, '/');
	size_t seg = slash ? (size_t)(slash - rest) : strlen(rest);
	*after = slash ? slash + 1 : rest + seg;
	const char *d1 = memchr(rest, '-', seg);
	if (!d1 || (size_t)(d1 - rest) >= ID_MAX)
		return -1;
	memcpy(org_id, rest, (size_t)(d1 - rest));
	org_id[d1 - rest] = '\0';
	const char *p = d1 + 1;
	size_t left = seg - (size_t)(p - rest);
	const char *d2 = memchr(p, '-', left);
	size_t idl = d2 ? (size_t)(d2 - p) : left;
	if (!idl || idl >= ID_MAX)
		return -1;
	memcpy(id, p, idl);
	id[idl] = '\0';
	tail[0] = '\0';
	if (d2) {
		size_t tl = left - idl - 1;
		if (tl >= tcap)
			return -1;
		memcpy(tail, d2 + 1, tl);
		tail[tl] = '\0';
	}
	return 0;
}

static bool inline_type(const char *mt)
{
	static const char *const ok[] = {"image/png", "image/jpeg", "image/gif", "image/webp",
					 "application/pdf", "text/plain", "video/mp4", "audio/mpeg"};
	for (size_t i = 0; mt && i < sizeof ok / sizeof ok[0]; i++)
		if (!strcmp(mt, ok[i]))
			return true;
	return false;
}

/* Sends path with the headers that keep an uploaded file from acting as
 * a page of this origin: nosniff, a sandbox CSP, and an attachment
 * disposition for anything not known to be inert. */
static void serve(http_req *req, const char *path, const char *mimetype, const char *name,
		  bool download, const char *cache)
{
	bool inl = !download && inline_type(mimetype);
	buf h = BUF_INIT;
	buf_printf(&h,
		   "X-Content-Type-Options: nosniff\r\nContent-Security-Policy: sandbox; default-src 'none'; "
		   "img-src 'self'; media-src 'self'\r\nCache-Control: %s\r\nContent-Disposition: %s; "
		   "filename*=UTF-8''",
		   cache, inl ? "inline" : "attachment");
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)(name && *name ? name : "file"); *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p))
			buf_addc(&h, (char)*p);
		else
			buf_printf(&h, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
	buf_adds(&h, "\r\n");
	http_respond_file_as(req, path, inl ? mimetype : "application/octet-stream", h.data);
	buf_release(&h);
}

/* The file a private or thumbnail URL names, if the requester may have
 * its bytes; otherwise answered (401/403/404) and -1. */
static int private_file(canal_server *s, http_req *req, const char *rest, store_file *f,
			char *tail, size_t tcap, const char **after)
{
	char org_id[ID_MAX], id[ID_MAX];
	store_file_init(f);
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_respond(req, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n",
			     "method not allowed\n", 19);
		return -1;
	}
	user *u = requester(s, req);
	if (!u) {
		respond_text(req, 401, "not_authed");
		return -1;
	}
	if (files_route__file_path(rest, org_id, id, tail, tcap, after) != 0 || store_file_get(s->store, id, f) != 0 ||
	    strcmp(f->org_id, org_id) != 0 || f->state == FILE_PENDING || !f->sha256[0]) {
		store_file_release(f);
		respond_text(req, 404, "file_not_found");
		return -1;
	}
	if (!api_file_visible(&s->state, s->store, u, f)) {
		/* Someone who could see it before the revocation learns why. */
		bool revoked_for_them = f->revoked && !f->deleted && !strcmp(f->org_id, u->org_id);
		store_file_release(f);
		if (revoked_for_them)
			respond_text(req, 403, "file_access_revoked");
		else
			respond_text(req, 404, "file_not_found");
		return -1;
	}
	return 0;
}

void files_route_private(canal_server *s, http_req *req, const char *rest)
{
	store_file f;
	char tail[8];
	const char *after;
	if (private_file(s, req, rest, &f, tail, sizeof tail, &after) != 0)
		return;
	if (tail[0]) {
		store_file_release(&f);
		respond_text(req, 404, "file_not_found");
		return;
	}
	char *path = files_blob_path(s->files_dir, f.sha256, 0);
	serve(req, path, f.mimetype, f.name, !strncmp(after, "download/", 9), "private, max-age=3600");
	free(path);
	store_file_release(&f);
}

void files_route_thumb(canal_server *s, http_req *req, const char *rest)
{
	store_file f;
	char tail[8];
	const char *after;
	if (private_file(s, req, rest, &f, tail, sizeof tail, &after) != 0)
		return;
	int size = atoi(tail), idx = -1;
	for (int i = 0; i < FILES_NTHUMBS; i++)
		if (files_thumb_sizes[i] == size && (f.thumbs & (1 << i)))
			idx = i;
	if (idx < 0) {
		store_file_release(&f);
		respond_text(req, 404, "file_not_found");
		return;
	}
	char *path = files_blob_path(s->files_dir, f.sha256, size);
	const char *mt = f.mimetype && !strcmp(f.mimetype, "image/jpeg") ? "image/jpeg" : "image/png";
	serve(req, path, mt, f.name, false, "private, max-age=3600");
	free(path);
	store_file_release(&f);
}

void files_route_public(canal_server *s, http_req *req, const char *rest)
{
	char org_id[ID_MAX], id[ID_MAX], secret[40];
	const char *after;
	store_file f;
	store_file_init(&f);
	if (strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0) {
		http_respond(req, 405, "text/plain; charset=utf-8", "Allow: GET, HEAD\r\n",
			     "method not allowed\n", 19);
		return;
	}
	if (files_route__file_path(rest, org_id, id, secret, sizeof secret, &after) != 0 ||
	    store_file_get(s->store, id, &f) != 0 || strcmp(f.org_id, org_id) != 0 || f.deleted ||
	    f.revoked || !f.public_url_shared || !f.public_secret[0] || !f.sha256[0] ||
	    !ids_equal_ct(secret, f.public_secret)) {
		store_file_release(&f);
		respond_text(req, 404, "file_not_found");
		return;
	}
	char *path = files_blob_path(s->files_dir, f.sha256, 0);
	serve(req, path, f.mimetype, f.name, false, "no-cache");
	free(path);
	store_file_release(&f);
}

/* ---- files.upload with a streamed multipart body ---- */

typedef struct api_upload {
	canal_server *s;
	http_req *req;
	json_t *args;
	char *token;
	char *key;
	char sha[65];
} api_upload;

static void respond_json(http_req *req, json_t *a)
{
	char *body = json_dumps(a, JSON_COMPACT);
	http_respond_owned(req, 200, "application/json; charset=utf-8", NULL, body, strlen(body));
}

static void api_upload_answered_cb(void *ud, json_t *answer, int http_status)
{
	api_upload *x = ud;
	api_files_unpark(x->key);
	/* Bytes nobody's row names (the call failed) go again. */
	files_blob_unpin(x->sha);
	files_blob_gc(x->s->store, x->s->files_dir, x->sha);
	char *body = json_dumps(answer, JSON_COMPACT);
	http_respond_owned(x->req, http_status ? http_status : 200, "application/json; charset=utf-8",
			   NULL, body, strlen(body));
	json_decref(answer);
	json_decref(x->args);
	free(x->token);
	free(x->key);
	free(x);
}

static void api_upload_committed_cb(void *ud, int err, const files_blob_info *info)
{
	api_upload *x = ud;
	if (err) {
		files_blob_unpin(info->sha256);
		json_t *a = json_pack("{s:b,s:s}", "ok", 0, "error", err_name(err));
		respond_json(x->req, a);
		json_decref(a);
		json_decref(x->args);
		free(x->token);
		free(x);
		return;
	}
	snprintf(x->sha, sizeof x->sha, "%s", info->sha256);
	const char *fname = json_string_value(json_object_get(x->args, "_filename"));
	x->key = api_files_park(info, fname);
	json_object_del(x->args, "_filename");
	json_object_set_new(x->args, "_canal_upload", json_string(x->key));
	api_call(&x->s->env, "files.upload", x->args, x->token, api_upload_answered_cb, x);
}

void files_route_api_upload(canal_server *s, http_req *req)
{
	files_upload *u = req->body_ctx;
	req->body_ctx = NULL;
	int rc = files_upload_end(u);
	json_t *args = json_object();
	if (!rc)
		rc = api_form_parse(req->query, strlen(req->query), args);
	if (rc) {
		files_upload_abort(u);
		json_t *a = json_pack("{s:b,s:s}", "ok", 0, "error", err_name(rc));
		respond_json(req, a);
		json_decref(a);
		json_decref(args);
		return;
	}
	json_object_update(args, files_upload_fields(u));
	json_object_del(args, "_canal_upload");
	/* The header wins over a `token` field, as for every method; the
	 * dispatcher authenticates it (not_authed, invalid_auth...). */
	const char *tok = NULL;
	const char *auth = http_req_header(req, "authorization");
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
		tok = auth + 7;
		while (*tok == ' ')
			tok++;
	}
	if (!tok || !*tok)
		tok = json_string_value(json_object_get(args, "token"));
	json_object_set_new(args, "_filename", json_string(files_upload_filename(u)));
	api_upload *x = xcalloc(1, sizeof *x);
	x->s = s;
	x->req = req;
	x->args = args;
	x->token = tok ? xstrdup(tok) : NULL;
	files_upload_commit(s->loop, u, api_upload_committed_cb, x);
}
