/* files.*: uploads (getUploadURLExternal + completeUploadExternal, the
 * legacy files.upload), files.info / list / delete, public links,
 * admin.files.revokeAccess, search.files; who may see a file and its
 * Slack shape.
 *
 * File rows are not hot state: they are read from the store (committed
 * data) when needed. A message keeps only the ids of its files (extra
 * "file_ids"); files[] is rendered from the rows at read time, so a
 * deletion or a revocation shows in every later read of the message. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_files.h"

#include "api/api_audit.h"
#include "api/handlers.h"
#include "base/buf.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/map.h"
#include "base/xalloc.h"
#include "core/rules.h"
#include "rt/bus.h"

#define ALT_TXT_MAX 1000
#define TITLE_MAX 1000  /* longer titles and names are cut (Slack does too) */

/* ---- visibility ---- */

static bool is_admin(const user *u)
{
	return u->is_admin || u->is_owner || u->is_primary_owner;
}

/* May u see the file's metadata: uploader, admin of its org, or someone
 * who can see a channel it is shared in. */
static bool can_see_meta(core_state *s, store *st, const user *u, const store_file *f)
{
	if (!u || f->deleted || strcmp(u->org_id, f->org_id) != 0)
		return false;
	if (!strcmp(f->user_id, u->id) || is_admin(u))
		return true;
	if (f->state != FILE_COMPLETE)
		return false;
	store_file_share *sh;
	size_t n = store_file_shares(st, f->id, &sh);
	bool ok = false;
	for (size_t i = 0; i < n && !ok; i++) {
		channel *ch = core_channel_get(s, sh[i].channel_id);
		ok = ch && rules_can_see(u, ch);
	}
	free(sh);
	return ok;
}

bool api_file_visible(core_state *s, store *st, const user *u, const store_file *f)
{
	if (!can_see_meta(s, st, u, f))
		return false;
	return !f->revoked || is_admin(u);
}

/* ---- shape ---- */

/* Percent-encodes a file name for a URL path segment. */
static void url_name(buf *b, const char *name)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)(name && *name ? name : "file"); *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		    strchr("-._~", *p))
			buf_addc(b, (char)*p);
		else
			buf_printf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
	}
}

static json_t *url_json(api_env *env, const char *fmt1, const store_file *f, const char *mid)
{
	buf b = BUF_INIT;
	buf_printf(&b, "%s%s%s-%s%s/", env->base_url ? env->base_url : "", fmt1, f->org_id, f->id,
		   mid ? mid : "");
	url_name(&b, f->name);
	buf_add(&b, "", 0);
	json_t *j = json_string(b.data);
	buf_release(&b);
	return j;
}

static const char *pretty_type(const char *filetype)
{
	static const struct {
		const char *t, *p;
	} names[] = {{"text", "Plain Text"}, {"png", "PNG"},      {"jpg", "JPEG"},
		     {"gif", "GIF"},         {"pdf", "PDF"},      {"zip", "Zip"},
		     {"json", "JSON"},       {"csv", "CSV"},      {"markdown", "Markdown (raw)"},
		     {"html", "HTML"},       {"binary", "Binary"}};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (filetype && !strcmp(filetype, names[i].t))
			return names[i].p;
	return filetype ? filetype : "Binary";
}

json_t *api_file_json(api_env *env, const store_file *f, bool with_shares)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(f->id));
	json_object_set_new(o, "created", json_integer(f->created));
	json_object_set_new(o, "timestamp", json_integer(f->created));
	json_object_set_new(o, "name", json_string(f->name ? f->name : ""));
	json_object_set_new(o, "title", json_string(f->title ? f->title : f->name ? f->name : ""));
	json_object_set_new(o, "mimetype", json_string(f->mimetype ? f->mimetype : ""));
	json_object_set_new(o, "filetype", json_string(f->filetype ? f->filetype : ""));
	json_object_set_new(o, "pretty_type", json_string(pretty_type(f->filetype)));
	json_object_set_new(o, "user", json_string(f->user_id));
	json_object_set_new(o, "user_team", json_string(f->org_id));
	json_object_set_new(o, "editable", json_false());
	json_object_set_new(o, "size", json_integer(f->size));
	json_object_set_new(o, "mode", json_string("hosted"));
	json_object_set_new(o, "is_external", json_false());
	json_object_set_new(o, "external_type", json_string(""));
	json_object_set_new(o, "public_url_shared", json_boolean(f->public_url_shared));
	json_object_set_new(o, "display_as_bot", json_false());
	json_object_set_new(o, "username", json_string(""));
	if (f->alt_txt)
		json_object_set_new(o, "alt_txt", json_string(f->alt_txt));
	json_object_set_new(o, "url_private", url_json(env, "/files-pri/", f, NULL));
	json_object_set_new(o, "url_private_download", url_json(env, "/files-pri/", f, "/download"));
	buf b = BUF_INIT;
	buf_printf(&b, "%s/files/%s/%s/", env->base_url ? env->base_url : "", f->user_id, f->id);
	url_name(&b, f->name);
	buf_add(&b, "", 0);
	json_object_set_new(o, "permalink", json_string(b.data));
	buf_release(&b);
	if (f->public_secret[0]) {
		char *mid = xasprintf("-%s", f->public_secret);
		json_object_set_new(o, "permalink_public", url_json(env, "/files-pub/", f, mid));
		free(mid);
	}
	for (int i = 0; i < FILES_NTHUMBS; i++) {
		if (!(f->thumbs & (1 << i)))
			continue;
		int size = files_thumb_sizes[i], tw, th;
		files_thumb_dims(f->width, f->height, size, &tw, &th);
		char key[32], *mid = xasprintf("-%d", size);
		snprintf(key, sizeof key, "thumb_%d", size);
		json_object_set_new(o, key, url_json(env, "/files-tmb/", f, mid));
		free(mid);
		snprintf(key, sizeof key, "thumb_%d_w", size);
		json_object_set_new(o, key, json_integer(tw));
		snprintf(key, sizeof key, "thumb_%d_h", size);
		json_object_set_new(o, key, json_integer(th));
	}
	if (f->width && f->height) {
		json_object_set_new(o, "original_w", json_integer(f->width));
		json_object_set_new(o, "original_h", json_integer(f->height));
	}
	json_object_set_new(o, "file_access", json_string(f->revoked ? "revoked" : "visible"));
	json_object_set_new(o, "is_access_revoked", json_boolean(f->revoked));
	json_object_set_new(o, "comments_count", json_integer(0));
	if (!with_shares)
		return o;
	json_t *chans = json_array(), *groups = json_array(), *ims = json_array();
	json_t *pub = json_object(), *priv = json_object();
	bool is_public = false;
	store_file_share *sh;
	size_t n = store_file_shares(env->store, f->id, &sh);
	for (size_t i = 0; i < n; i++) {
		channel *ch = core_channel_get(env->state, sh[i].channel_id);
		if (!ch)
			continue;
		json_t *list = ch->kind == CHAN_PUBLIC ? chans : ch->kind == CHAN_PRIVATE ? groups : ims;
		bool seen = false;
		for (size_t k = 0; k < json_array_size(list); k++)
			seen |= !strcmp(json_string_value(json_array_get(list, k)), ch->id);
		if (!seen)
			json_array_append_new(list, json_string(ch->id));
		is_public |= ch->kind == CHAN_PUBLIC;
		json_t *where = ch->kind == CHAN_PUBLIC ? pub : priv;
		json_t *arr = json_object_get(where, ch->id);
		if (!arr) {
			arr = json_array();
			json_object_set_new(where, ch->id, arr);
		}
		json_t *share = json_object();
		json_object_set_new(share, "ts", api_ts_json(sh[i].ts));
		if (ch->kind == CHAN_PUBLIC || ch->kind == CHAN_PRIVATE)
			json_object_set_new(share, "channel_name", json_string(ch->name ? ch->name : ""));
		json_object_set_new(share, "team_id", json_string(ch->org_id));
		json_object_set_new(share, "share_user_id", json_string(f->user_id));
		json_array_append_new(arr, share);
	}
	free(sh);
	json_object_set_new(o, "is_public", json_boolean(is_public));
	json_object_set_new(o, "channels", chans);
	json_object_set_new(o, "groups", groups);
	json_object_set_new(o, "ims", ims);
	json_t *shares = json_object();
	if (json_object_size(pub))
		json_object_set(shares, "public", pub);
	if (json_object_size(priv))
		json_object_set(shares, "private", priv);
	json_decref(pub);
	json_decref(priv);
	json_object_set_new(o, "shares", shares);
	return o;
}

json_t *api_message_files(api_ctx *c, json_t *ids)
{
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		if (!id)
			continue;
		store_file f;
		if (store_file_get(c->env->store, id, &f) != 0 || f.deleted) {
			json_array_append_new(out, json_pack("{s:s,s:s}", "id", id, "mode", "tombstone"));
		} else if (f.revoked && !(c->me && is_admin(c->me))) {
			/* The message stays; what the file was does not show. */
			json_array_append_new(out, json_pack("{s:s,s:s,s:s}", "id", id, "mode", "hidden",
							     "file_access", "revoked"));
		} else {
			json_array_append_new(out, api_file_json(c->env, &f, false));
		}
		store_file_release(&f);
	}
	return out;
}

/* ---- shared steps ---- */

static int uploads_on(api_ctx *c)
{
	return c->env->files_dir && c->env->loop ? 0 : ERR_FILE_UPLOADS_DISABLED;
}

/* The caller's file: in their org, not deleted, visible to them. */
static int file_arg(api_ctx *c, const char *name, store_file *f)
{
	store_file_init(f);
	const char *id;
	int rc = api_str_req(c, name, &id);
	if (rc)
		return rc;
	rc = store_file_get(c->env->store, id, f);
	if (rc)
		return rc;
	if (strcmp(f->org_id, c->org->id) != 0 || !can_see_meta(c->env->state, c->env->store, c->me, f))
		return f->deleted && !strcmp(f->org_id, c->org->id) && !strcmp(f->user_id, c->me->id)
			       ? ERR_FILE_DELETED
			       : ERR_FILE_NOT_FOUND;
	return 0;
}

static char *cut(const char *s, size_t max)
{
	if (!s)
		return NULL;
	size_t n = strlen(s);
	if (n <= max)
		return xstrdup(s);
	/* back off to a UTF-8 boundary */
	while (n > max || (n && ((unsigned char)s[n] & 0xc0) == 0x80))
		n = n > max ? max : n - 1;
	return xstrndup(s, n);
}

/* A new row for an upload by the caller. */
static void file_new(api_ctx *c, store_file *f, const char *name)
{
	store_file_init(f);
	ids_new(f->id, "F");
	snprintf(f->org_id, sizeof f->org_id, "%s", c->org->id);
	snprintf(f->user_id, sizeof f->user_id, "%s", c->me->id);
	f->name = cut(name && *name ? name : "file", TITLE_MAX);
	f->title = xstrdup(f->name);
	f->created = c->now_us / 1000000;
	char *pub = ids_secret_hex(10);
	snprintf(f->public_secret, sizeof f->public_secret, "%s", pub);
	free(pub);
}

/* ---- files.getUploadURLExternal ---- */

int api_files_get_upload_url_external(api_ctx *c)
{
	const char *filename;
	long length;
	int rc;
	if ((rc = uploads_on(c)) || (rc = api_str_req(c, "filename", &filename)))
		return rc;
	if (!api_str(c, "length"))
		return api_missing(c, "length");
	if ((rc = api_int(c, "length", 0, 0, LONG_MAX, &length)))
		return rc;
	if (length == 0)
		return ERR_MISSING_ARGUMENT;   /* Slack's answer to length=0 */
	if ((uint64_t)length > c->env->max_file_bytes)
		return ERR_FILE_UPLOAD_SIZE_RESTRICTED;
	const char *alt = api_str(c, "alt_txt");
	if (!alt)
		alt = api_str(c, "alt_text");   /* the SDK's spelling */
	if (alt && rules_utf8_len(alt) > ALT_TXT_MAX)
		return ERR_ALT_TXT_TOO_LARGE;

	store_file f;
	file_new(c, &f, filename);
	f.alt_txt = alt && *alt ? xstrdup(alt) : NULL;
	const char *snippet = api_str(c, "snippet_type");
	f.snippet_type = snippet && *snippet ? cut(snippet, 64) : NULL;
	f.length = length;
	f.state = FILE_PENDING;
	char *secret = ids_secret_hex(24);
	ids_token_hash(secret, f.upload_key);
	store_file_put(api_job(c), &f);
	char *url = xasprintf("%s/upload/v1/%s/%s", c->env->base_url ? c->env->base_url : "", f.id,
			      secret);
	json_object_set_new(c->out, "upload_url", json_string(url));
	json_object_set_new(c->out, "file_id", json_string(f.id));
	free(url);
	free(secret);
	store_file_release(&f);
	return 0;
}

/* ---- sharing a completed upload ---- */

/* file_created (a new upload) and file_shared for file_id shared into ch
 * by the caller, in Slack's shapes. ch NULL: created only, told to the
 * uploader alone (nobody else can see it). */
static void emit_file_new(api_ctx *c, const channel *ch, const char *file_id, bool created)
{
	if (created) {
		json_t *e = json_pack("{s:s,s:s,s:s,s:{s:s}}", "type", "file_created", "file_id",
				      file_id, "user_id", c->me->id, "file", "id", file_id);
		if (ch)
			api_emit(c, BUS_CHANNEL, ch->id, e, NULL);
		else
			api_emit(c, BUS_USER, c->me->id, e, NULL);
	}
	if (ch)
		api_emit(c, BUS_CHANNEL, ch->id,
			 json_pack("{s:s,s:s,s:s,s:s,s:{s:s}}", "type", "file_shared", "channel_id",
				   ch->id, "file_id", file_id, "user_id", c->me->id, "file", "id",
				   file_id),
			 NULL);
}

/* Posts the message that shares files (ids) into ch and records the
 * shares; text is the initial comment (may be ""). The files are new:
 * file_created and file_shared go out with the message. */
static int share_files(api_ctx *c, channel *ch, json_t *ids, const char *text, const char *blocks,
		       int64_t thread_ts)
{
	message m;
	message_init(&m);
	m.text = xstrdup(text ? text : "");
	m.blocks = blocks ? xstrdup(blocks) : NULL;
	json_t *x = json_pack("{s:O,s:b,s:b}", "file_ids", ids, "upload", 1, "display_as_bot", 0);
	m.extra = json_dumps(x, JSON_COMPACT);
	json_decref(x);
	int rc = api_chat_post_built(c, ch, &m, thread_ts);
	if (!rc) {
		size_t i;
		json_t *v;
		json_array_foreach(ids, i, v) {
			store_file_share_add(api_job(c), json_string_value(v), ch->id, m.ts);
			emit_file_new(c, ch, json_string_value(v), true);
		}
	}
	message_release(&m);
	return rc;
}

/* The conversations a completion or files.upload shares into: channel_id,
 * else the first of channels (csv). *out NULL when none was given. */
static int share_target(api_ctx *c, channel **out)
{
	*out = NULL;
	const char *one = api_str(c, "channel_id");
	if (one && *one)
		return api_channel(c, "channel_id", false, out);
	char **list;
	size_t n = api_list(c, "channels", &list);
	int rc = 0;
	if (n) {
		/* Slack's SDK refuses several channels; so does this. */
		if (n > 1) {
			rc = ERR_INVALID_ARGUMENTS;
		} else {
			json_object_set_new(c->args, "channel_id", json_string(list[0]));
			rc = api_channel(c, "channel_id", false, out);
		}
	}
	api_list_free(list, n);
	return rc;
}

/* Completion waits for its file rows to commit before posting, so the
 * message event renders files[] from the committed rows. */
typedef struct complete_wait {
	api_ctx *c;
	channel *ch;
	json_t *ids;
	char *text, *blocks;
	int64_t thread_ts;
	store_file *files;
	size_t nfiles;
} complete_wait;

static void complete_wait_free(complete_wait *w)
{
	json_decref(w->ids);
	free(w->text);
	free(w->blocks);
	store_file_list_free(w->files, w->nfiles);
	free(w);
}

static void complete_out(api_ctx *c, complete_wait *w)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < w->nfiles; i++) {
		store_file *f = &w->files[i];
		json_t *o = api_file_json(c->env, f, false);
		json_array_append_new(arr, o);
	}
	json_object_set_new(c->out, "files", arr);
}

static void complete_committed_cb(void *ud, int err)
{
	complete_wait *w = ud;
	api_ctx *c = w->c;
	if (!err && w->ch)
		err = share_files(c, w->ch, w->ids, w->text, w->blocks, w->thread_ts);
	if (!err && !w->ch)
		for (size_t i = 0; i < w->nfiles; i++)
			emit_file_new(c, NULL, w->files[i].id, true);
	if (!err)
		complete_out(c, w);
	complete_wait_free(w);
	api_resume(c, err);
}

int api_files_complete_upload_external(api_ctx *c)
{
	int rc, bad = 0;
	if ((rc = uploads_on(c)))
		return rc;
	json_t *files = api_json_arg(c, "files", ERR_INVALID_ARGUMENTS, &bad);
	if (bad)
		return bad;
	if (!files)
		return api_missing(c, "files");
	complete_wait *w = xcalloc(1, sizeof *w);
	w->c = c;
	w->ids = json_array();
	if (!json_is_array(files) || !json_array_size(files) || json_array_size(files) > 100) {
		rc = ERR_INVALID_ARGUMENTS;
		goto fail;
	}
	w->files = xcalloc(json_array_size(files), sizeof *w->files);
	size_t i;
	json_t *v;
	json_array_foreach(files, i, v) {
		const char *id = json_string_value(json_object_get(v, "id"));
		json_t *title = json_object_get(v, "title");
		if (!id || (title && !json_is_string(title) && !json_is_null(title))) {
			rc = ERR_INVALID_ARGUMENTS;
			goto fail;
		}
		store_file *f = &w->files[w->nfiles];
		if ((rc = store_file_get(c->env->store, id, f)))
			goto fail;
		w->nfiles++;
		/* Only the uploader completes an upload, once its bytes are in. */
		if (strcmp(f->org_id, c->org->id) != 0 || strcmp(f->user_id, c->me->id) != 0 ||
		    f->deleted || f->state == FILE_PENDING) {
			rc = ERR_FILE_NOT_FOUND;
			goto fail;
		}
		for (size_t k = 0; k < json_array_size(w->ids); k++)
			if (!strcmp(json_string_value(json_array_get(w->ids, k)), id)) {
				rc = ERR_INVALID_ARGUMENTS;
				goto fail;
			}
		if (json_string_value(title) && *json_string_value(title)) {
			free(f->title);
			f->title = cut(json_string_value(title), TITLE_MAX);
		}
		f->state = FILE_COMPLETE;
		json_array_append_new(w->ids, json_string(id));
	}
	if ((rc = share_target(c, &w->ch)))
		goto fail;
	if ((rc = api_ts(c, "thread_ts", ERR_INVALID_THREAD_TS, &w->thread_ts)))
		goto fail;
	if (w->thread_ts && !w->ch) {
		rc = api_missing(c, "channel_id");
		goto fail;
	}
	/* Refuse before the files change: a completion that cannot post
	 * leaves them as they were. */
	if (w->ch && (rc = api_chat_check_post(c, w->ch, w->thread_ts)))
		goto fail;
	const char *comment = api_str(c, "initial_comment");
	w->text = xstrdup(comment ? comment : "");
	/* blocks are ignored when there is an initial comment (Slack). */
	json_t *blocks = comment && *comment ? NULL : api_json_arg(c, "blocks", ERR_INVALID_BLOCKS, &bad);
	if (bad) {
		rc = bad;
		goto fail;
	}
	if (blocks && !json_is_array(blocks)) {
		json_decref(blocks);
		rc = ERR_INVALID_BLOCKS;
		goto fail;
	}
	if (blocks) {
		w->blocks = json_dumps(blocks, JSON_COMPACT);
		json_decref(blocks);
	}
	store_job *j = store_job_new(c->env->store);
	for (size_t k = 0; k < w->nfiles; k++)
		store_file_put(j, &w->files[k]);
	json_decref(files);
	api_defer(c);
	store_submit(c->env->store, j, complete_committed_cb, w);
	return 0;
fail:
	json_decref(files);
	complete_wait_free(w);
	return rc;
}

/* ---- files.upload (legacy): multipart file or `content` ---- */

/* Blobs that files_route.c has put in place for a multipart files.upload
 * request, waiting for its handler: key (random, in the args as
 * "_canal_upload") -> files_parked. A client cannot name one it did not
 * upload: the key is 128 random bits and lives only for the request. */
static map parked;
static bool parked_init;

typedef struct files_parked {
	files_blob_info info;
	char *filename;
	bool claimed;
} files_parked;

char *api_files_park(const files_blob_info *info, const char *filename)
{
	if (!parked_init) {
		map_init(&parked);
		parked_init = true;
	}
	files_parked *p = xcalloc(1, sizeof *p);
	p->info = *info;
	p->filename = xstrdup(filename ? filename : "");
	char *key = ids_secret_hex(16);
	map_put(&parked, key, p);
	return key;
}

int api_files_unpark(const char *key)
{
	files_parked *p = parked_init ? map_get(&parked, key) : NULL;
	if (!p)
		return 0;
	int claimed = p->claimed;
	map_del(&parked, key);
	free(p->filename);
	free(p);
	return claimed;
}

/* files.upload, once the bytes are in place: the row is committed first
 * (in a job of its own, so its outcome is known here whatever happens),
 * then the message that shares it goes into the request's job. */
typedef struct upload_wait {
	api_ctx *c;
	store_file *f;
	channel *ch;
	int64_t thread_ts;
	bool unpin;            /* the blob is this request's to unpin (content) */
} upload_wait;

static void upload_row_cb(void *ud, int err)
{
	upload_wait *w = ud;
	api_ctx *c = w->c;
	if (w->unpin) {
		files_blob_unpin(w->f->sha256);
		if (err)
			files_blob_gc(c->env->store, c->env->files_dir, w->f->sha256);
	}
	if (!err && w->ch) {
		json_t *ids = json_pack("[s]", w->f->id);
		err = share_files(c, w->ch, ids, api_str(c, "initial_comment"), NULL, w->thread_ts);
		json_decref(ids);
	} else if (!err) {
		emit_file_new(c, NULL, w->f->id, true);
	}
	if (!err)
		json_object_set_new(c->out, "file", api_file_json(c->env, w->f, false));
	store_file_release(w->f);
	free(w->f);
	free(w);
	api_resume(c, err);
}

static void upload_done(api_ctx *c, store_file *f, channel *ch, int64_t thread_ts, bool unpin)
{
	upload_wait *w = xcalloc(1, sizeof *w);
	w->c = c;
	w->f = f;
	w->ch = ch;
	w->thread_ts = thread_ts;
	w->unpin = unpin;
	store_job *j = store_job_new(c->env->store);
	store_file_put(j, f);
	store_submit(c->env->store, j, upload_row_cb, w);
}

typedef struct content_wait {
	api_ctx *c;
	store_file *f;
	channel *ch;
	int64_t thread_ts;
} content_wait;

static void fill_from_blob(store_file *f, const files_blob_info *info)
{
	snprintf(f->sha256, sizeof f->sha256, "%s", info->sha256);
	f->size = f->length = (int64_t)info->size;
	free(f->mimetype);
	f->mimetype = xstrdup(files_mimetype(info->mimetype, f->name));
	free(f->filetype);
	f->filetype = xstrdup(files_filetype(f->mimetype, f->name));
	f->width = info->width;
	f->height = info->height;
	f->thumbs = info->thumbs;
	f->state = FILE_COMPLETE;
}

static void content_committed_cb(void *ud, int err, const files_blob_info *info)
{
	content_wait *w = ud;
	api_ctx *c = w->c;
	if (err) {
		files_blob_unpin(info->sha256);
		store_file_release(w->f);
		free(w->f);
		free(w);
		api_resume(c, err);
		return;
	}
	fill_from_blob(w->f, info);
	upload_done(c, w->f, w->ch, w->thread_ts, true);
	free(w);
}

int api_files_upload(api_ctx *c)
{
	int rc;
	if ((rc = uploads_on(c)))
		return rc;
	channel *ch = NULL;
	int64_t thread_ts = 0;
	if ((rc = share_target(c, &ch)))
		return rc;
	if ((rc = api_ts(c, "thread_ts", ERR_INVALID_THREAD_TS, &thread_ts)))
		return rc;
	if (thread_ts && !ch)
		return api_missing(c, "channels");
	if (ch && (rc = api_chat_check_post(c, ch, thread_ts)))
		return rc;
	const char *key = api_str(c, "_canal_upload");
	files_parked *p = key && parked_init ? map_get(&parked, key) : NULL;
	const char *content = api_str(c, "content");
	if (!p && (!content || !*content))
		return ERR_NO_FILE_DATA;
	const char *fname = api_str(c, "filename");
	if (!fname || !*fname)
		fname = p && *p->filename ? p->filename : "file";
	store_file *f = xcalloc(1, sizeof *f);
	file_new(c, f, fname);
	const char *title = api_str(c, "title");
	if (title && *title) {
		free(f->title);
		f->title = cut(title, TITLE_MAX);
	}
	if (p && !p->claimed) {
		p->claimed = true;
		fill_from_blob(f, &p->info);
		const char *ft = api_str(c, "filetype");
		if (ft && *ft && strcmp(ft, "auto") != 0) {
			free(f->filetype);
			f->filetype = cut(ft, 32);
		}
		api_defer(c);
		upload_done(c, f, ch, thread_ts, false);   /* the route unpins at its answer */
		return 0;
	}
	if (p) {
		store_file_release(f);
		free(f);
		return ERR_NO_FILE_DATA;
	}
	/* `content`: a text file made from the argument, written and
	 * hashed like any upload, on the thread pool. */
	size_t len = strlen(content);
	if (len > c->env->max_file_bytes) {
		store_file_release(f);
		free(f);
		return ERR_FILE_UPLOAD_SIZE_RESTRICTED;
	}
	int status = 0;
	files_upload *u = files_upload_new(c->env->files_dir, FILES_RAW, NULL, c->env->max_file_bytes,
					   &status);
	if (!u || files_upload_write(u, content, len) != 0) {
		if (u)
			files_upload_abort(u);
		store_file_release(f);
		free(f);
		return ERR_INTERNAL_ERROR;
	}
	content_wait *w = xcalloc(1, sizeof *w);
	w->c = c;
	w->f = f;
	w->ch = ch;
	w->thread_ts = thread_ts;
	api_defer(c);
	files_upload_commit(c->env->loop, u, content_committed_cb, w);
	return 0;
}

/* ---- files.info / files.list ---- */

int api_files_info(api_ctx *c)
{
	store_file f;
	int rc = file_arg(c, "file", &f);
	if (!rc) {
		json_object_set_new(c->out, "file", api_file_json(c->env, &f, true));
		json_object_set_new(c->out, "comments", json_array());
		json_object_set_new(c->out, "response_metadata", json_pack("{s:s}", "next_cursor", ""));
	}
	store_file_release(&f);
	return rc;
}

static bool type_matches(const store_file *f, const char *types)
{
	if (!types || !*types || strstr(types, "all"))
		return true;
	const char *ft = f->filetype ? f->filetype : "";
	const char *mt = f->mimetype ? f->mimetype : "";
	if (strstr(types, "images") && !strncmp(mt, "image/", 6))
		return true;
	if (strstr(types, "pdfs") && !strcmp(ft, "pdf"))
		return true;
	if (strstr(types, "zips") && !strcmp(ft, "zip"))
		return true;
	if (strstr(types, "snippets") && f->snippet_type)
		return true;
	return false;
}

/* Visible files matching q (and types), newest first: the page'th page
 * of count. *total counts every visible match. */
static int list_visible(api_ctx *c, store_file_query *q, const char *types, long count, long page,
			json_t *out, long *total)
{
	*total = 0;
	long skip = (page - 1) * count;
	char before_id[ID_MAX] = "";
	q->limit = 200;
	for (;;) {
		store_file *fs;
		size_t n;
		q->before_id = before_id[0] ? before_id : NULL;
		int rc = store_file_list(c->env->store, q, &fs, &n);
		if (rc)
			return rc;
		for (size_t i = 0; i < n; i++) {
			if (!type_matches(&fs[i], types) ||
			    !can_see_meta(c->env->state, c->env->store, c->me, &fs[i]))
				continue;
			if (*total >= skip && *total < skip + count)
				json_array_append_new(out, api_file_json(c->env, &fs[i], true));
			(*total)++;
		}
		if (n) {
			snprintf(before_id, sizeof before_id, "%s", fs[n - 1].id);
			q->before_created = fs[n - 1].created;
		}
		store_file_list_free(fs, n);
		if (n < q->limit)
			return 0;
	}
}

static void set_paging(json_t *o, long count, long page, long total)
{
	long pages = total ? (total + count - 1) / count : 0;
	json_object_set_new(o, "paging", json_pack("{s:I,s:I,s:I,s:I}", "count", (json_int_t)count,
						     "total", (json_int_t)total, "page", (json_int_t)page,
						     "pages", (json_int_t)pages));
}

int api_files_list(api_ctx *c)
{
	store_file_query q = {.org_id = c->org->id};
	long count, page, from, to;
	int rc;
	if ((rc = api_int(c, "count", 100, 1, 1000, &count)) || (rc = api_int(c, "page", 1, 1, 100000, &page)) ||
	    (rc = api_int(c, "ts_from", 0, 0, LONG_MAX, &from)) ||
	    (rc = api_int(c, "ts_to", 0, 0, LONG_MAX, &to)))
		return rc;
	q.ts_from = from;
	q.ts_to = to;
	user *u = NULL;
	if (api_str(c, "user") && *api_str(c, "user")) {
		if ((rc = api_user(c, "user", &u)))
			return rc;
		q.user_id = u->id;
	}
	channel *ch = NULL;
	if (api_str(c, "channel") && *api_str(c, "channel")) {
		if ((rc = api_channel(c, "channel", false, &ch)))
			return rc;
		q.channel_id = ch->id;
	}
	json_t *arr = json_array();
	long total;
	if ((rc = list_visible(c, &q, api_str(c, "types"), count, page, arr, &total))) {
		json_decref(arr);
		return rc;
	}
	json_object_set_new(c->out, "files", arr);
	set_paging(c->out, count, page, total);
	return 0;
}

json_t *api_files_search_section(api_ctx *c, const char *text, long count, long page, int *err)
{
	store_file_query q = {.org_id = c->org->id, .text = text};
	json_t *arr = json_array();
	long total;
	if ((*err = list_visible(c, &q, NULL, count, page, arr, &total))) {
		json_decref(arr);
		return NULL;
	}
	json_t *files = json_object();
	json_object_set_new(files, "matches", arr);
	json_object_set_new(files, "total", json_integer(total));
	set_paging(files, count, page, total);
	long pages = total ? (total + count - 1) / count : 0;
	long first = total ? (page - 1) * count + 1 : 0;
	long last = (page - 1) * count + (long)json_array_size(arr);
	json_object_set_new(files, "pagination",
			    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "total_count", (json_int_t)total,
				      "page", (json_int_t)page, "per_page", (json_int_t)count,
				      "page_count", (json_int_t)pages, "first", (json_int_t)first,
				      "last", (json_int_t)last));
	return files;
}

int api_search_files(api_ctx *c)
{
	const char *query;
	long count, page;
	int rc;
	if ((rc = api_str_req(c, "query", &query)) || (rc = api_int(c, "count", 20, 1, 100, &count)) ||
	    (rc = api_int(c, "page", 1, 1, 100, &page)))
		return rc;
	json_t *files = api_files_search_section(c, query, count, page, &rc);
	if (!files)
		return rc;
	json_object_set_new(c->out, "query", json_string(query));
	json_object_set_new(c->out, "files", files);
	return 0;
}

/* ---- changes to a file ---- */

/* Tells the channels a file is shared in (file_change / file_deleted ...),
 * one copy per channel with one event_ts: apps that see the file in
 * several get it once (rt/apps_events.c). Slack's shapes: {type, file_id,
 * file:{id}} (file_public also user_id), file_deleted {type, file_id,
 * channel_ids}. */
static void emit_file_event(api_ctx *c, const store_file *f, const char *type)
{
	if (!c->env->bus)
		return;
	store_file_share *sh;
	size_t n = store_file_shares(c->env->store, f->id, &sh);
	json_t *chans = json_array();
	for (size_t i = 0; i < n; i++) {
		bool dup = false;
		for (size_t k = 0; k < i; k++)
			dup |= !strcmp(sh[k].channel_id, sh[i].channel_id);
		if (!dup)
			json_array_append_new(chans, json_string(sh[i].channel_id));
	}
	json_t *ets = api_ts_json(core_ts_next(c->env->state, c->now_us));
	size_t i;
	json_t *v;
	json_array_foreach(chans, i, v) {
		json_t *e = json_pack("{s:s,s:s}", "type", type, "file_id", f->id);
		if (!strcmp(type, "file_deleted")) {
			/* This conversation only: the others may be private. */
			json_object_set_new(e, "channel_ids", json_pack("[O]", v));
		} else {
			json_object_set_new(e, "file", json_pack("{s:s}", "id", f->id));
			if (!strcmp(type, "file_public"))
				json_object_set_new(e, "user_id", json_string(c->me->id));
		}
		json_object_set(e, "event_ts", ets);
		api_emit(c, BUS_CHANNEL, json_string_value(v), e, NULL);
	}
	json_decref(ets);
	json_decref(chans);
	free(sh);
}

typedef struct blob_gc {
	char sha[65];
	char id[ID_MAX];
} blob_gc;

static void delete_committed(api_ctx *c, void *ud)
{
	blob_gc *g = ud;
	files_blob_gc(c->env->store, c->env->files_dir, g->sha);
	free(g);
}

/* An audit entry about f, in the request's job (Slack's actions:
 * file_deleted, file_public_link_created / _revoked; Canal's own for an
 * admin's revocation, which Slack has no action for). */
static void file_audit(api_ctx *c, const char *action, const store_file *f)
{
	audit_entity en = {.file_id = f->id,
			   .file_name = f->name,
			   .file_title = f->title,
			   .file_type = f->filetype};
	api_audit(c, action, &en, NULL);
}

/* Only the uploader or an org admin may change a file. */
static int may_manage(api_ctx *c, const store_file *f)
{
	if (!strcmp(f->user_id, c->me->id) || is_admin(c->me))
		return 0;
	return ERR_CANT_DELETE_FILE;
}

int api_files_delete(api_ctx *c)
{
	store_file f;
	int rc = file_arg(c, "file", &f);
	if (!rc && !(rc = may_manage(c, &f))) {
		f.deleted = true;
		f.public_url_shared = false;
		store_file_put(api_job(c), &f);
		file_audit(c, "file_deleted", &f);
		emit_file_event(c, &f, "file_deleted");
		blob_gc *g = xcalloc(1, sizeof *g);
		snprintf(g->sha, sizeof g->sha, "%s", f.sha256);
		snprintf(g->id, sizeof g->id, "%s", f.id);
		api_on_commit(c, delete_committed, g);
	}
	store_file_release(&f);
	return rc;
}

static int set_public(api_ctx *c, bool on)
{
	store_file f;
	int rc = file_arg(c, "file", &f);
	if (rc)
		goto out;
	if (strcmp(f.user_id, c->me->id) != 0 && !is_admin(c->me)) {
		rc = ERR_NO_PERMISSION;
		goto out;
	}
	if (f.revoked) {
		rc = ERR_FILE_ACCESS_REVOKED;
		goto out;
	}
	if (f.public_url_shared != on) {
		f.public_url_shared = on;
		if (!on) {
			/* A new secret: the old public link stays dead if shared again. */
			char *pub = ids_secret_hex(10);
			snprintf(f.public_secret, sizeof f.public_secret, "%s", pub);
			free(pub);
		}
		store_file_put(api_job(c), &f);
		file_audit(c, on ? "file_public_link_created" : "file_public_link_revoked", &f);
		/* A public link revoked changes the file (Slack's file_unshared
		 * is about a file leaving a conversation). */
		emit_file_event(c, &f, on ? "file_public" : "file_change");
	}
	json_object_set_new(c->out, "file", api_file_json(c->env, &f, true));
out:
	store_file_release(&f);
	return rc;
}

int api_files_shared_public_url(api_ctx *c)
{
	return set_public(c, true);
}

int api_files_revoke_public_url(api_ctx *c)
{
	return set_public(c, false);
}

/* admin.files.revokeAccess / restoreAccess (Canal's own; Slack has no
 * Web API for this): an org admin takes everyone's access to one file
 * away, or gives it back. Downloads, thumbnails and the public link stop;
 * messages show the file as hidden; admins still see it. */
static int set_revoked(api_ctx *c, bool on)
{
	if (!is_admin(c->me))
		return ERR_NOT_ADMIN;
	store_file f;
	int rc = file_arg(c, "file", &f);
	if (!rc) {
		if (f.revoked != on) {
			f.revoked = on;
			snprintf(f.revoked_by, sizeof f.revoked_by, "%s", on ? c->me->id : "");
			f.revoked_at = on ? c->now_us / 1000000 : 0;
			if (on)
				f.public_url_shared = false;
			store_file_put(api_job(c), &f);
			file_audit(c, on ? "file_access_revoked" : "file_access_restored", &f);
			emit_file_event(c, &f, "file_change");
		}
		json_object_set_new(c->out, "file", api_file_json(c->env, &f, true));
	}
	store_file_release(&f);
	return rc;
}

int api_admin_files_revoke_access(api_ctx *c)
{
	return set_revoked(c, true);
}

int api_admin_files_restore_access(api_ctx *c)
{
	return set_revoked(c, false);
}

/* ---- purge (retention) ---- */

typedef struct purge_wait {
	api_env *env;
	char sha[65];
	char id[ID_MAX];
	store_done_cb cb;
	void *ud;
} purge_wait;

static void purge_done_cb(void *ud, int err)
{
	purge_wait *w = ud;
	if (!err)
		files_blob_gc(w->env->store, w->env->files_dir, w->sha);
	if (w->cb)
		w->cb(w->ud, err);
	free(w);
}

void api_file_purge(api_env *env, const char *file_id, store_done_cb cb, void *ud)
{
	purge_wait *w = xcalloc(1, sizeof *w);
	w->env = env;
	w->cb = cb;
	w->ud = ud;
	snprintf(w->id, sizeof w->id, "%s", file_id);
	store_file f;
	if (store_file_get(env->store, file_id, &f) == 0)
		snprintf(w->sha, sizeof w->sha, "%s", f.sha256);
	store_file_release(&f);
	store_job *j = store_job_new(env->store);
	store_file_purge(j, file_id);
	store_submit(env->store, j, purge_done_cb, w);
}
