/* File bytes: uploads streamed to a temp file, then moved to their
 * content address; MIME sniffing and thumbnails (see api_files.h).
 *
 * Design note
 *
 * Disk writes on the loop. Each piece the HTTP server hands over is at most
 * one socket read (64 KiB) and is written with one write(2) to the page
 * cache right away, hashed as it goes (SHA-256, libsodium's incremental
 * API). A page-cache write of 64 KiB costs tens of microseconds, about
 * what parsing the bytes costs, so the loop never waits long and no
 * read-side back-pressure plumbing is needed (an uv_fs_write per piece
 * would need the parser paused until each write lands, and a thread
 * round trip per 64 KiB). What may take long, fsync and the rename into
 * place, MIME sniffing and thumbnails, runs on the thread pool
 * (files_upload_commit). The cost of this choice: when the kernel throttles
 * dirty pages, a write can block the loop for that moment.
 *
 * MIME type: libmagic (Debian libmagic-dev), not a home-made table: it
 * knows thousands of formats, and text vs. binary is its strength. Its
 * database is loaded once (see sniff) and used under a lock from the
 * thread pool.
 *
 * Thumbnails: stb_image / stb_image_resize / stb_image_write (Debian
 * libstb-dev), only for PNG, JPEG and GIF as sniffed, only after
 * stbi_info says the image has at most FILES_THUMB_MAX_PIXELS pixels.
 *
 * Invariants.
 *  1. A files_upload owns its temp file until commit or abort, which
 *     unlink it (commit by renaming it away); nothing else ever names it.
 *  2. At most one part's header block (multipart.h) and 64 KiB of form
 *     fields are held in memory per upload, whatever the file size. */
#include "api/api_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <magic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image.h>
#include <stb_image_resize.h>
#include <stb_image_write.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/map.h"
#include "base/xalloc.h"
#include "net/http.h"
#include "net/multipart.h"

#define FIELDS_MAX (64u << 10)   /* form field bytes of a files.upload body */

const int files_thumb_sizes[FILES_NTHUMBS] = {64, 80, 160, 360, 480, 720, 800, 960, 1024};

struct files_upload {
	char *dir;             /* files_dir */
	char *tmp;             /* temp file path */
	int fd;
	files_upload_mode mode;
	uint64_t max_bytes, size;
	crypto_hash_sha256_state sha;
	multipart *mp;
	int in_file;           /* the current part is the file */
	int file_done;         /* the file part was seen (and ended) */
	int file_parts;
	int file_named;        /* the file part had a filename */
	json_t *fields;
	char *cur_field;       /* name of the form field being read */
	buf cur_val;
	size_t field_bytes;
	char *filename;
	int status;            /* sticky error of write */
};

static int mkdir_p(const char *dir)
{
	char *p = xstrdup(dir);
	int rc = 0;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) < 0 && errno != EEXIST)
			rc = -1;
		*s = '/';
	}
	if (mkdir(p, 0700) < 0 && errno != EEXIST)
		rc = -1;
	free(p);
	return rc;
}

static int file_bytes(files_upload *u, const char *d, size_t n)
{
	if (n > u->max_bytes - u->size)
		return 413;
	u->size += n;
	crypto_hash_sha256_update(&u->sha, (const unsigned char *)d, n);
	while (n) {
		ssize_t w = write(u->fd, d, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			log_error("upload write failed", "path=%s err=\"%s\"", u->tmp, strerror(errno));
			return 500;
		}
		d += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Starts the file over (a better candidate part came along). */
static int file_reset(files_upload *u)
{
	if (ftruncate(u->fd, 0) < 0 || lseek(u->fd, 0, SEEK_SET) < 0)
		return 500;
	u->size = 0;
	crypto_hash_sha256_init(&u->sha);
	return 0;
}

static int part_begin(void *ud, const multipart_part *p)
{
	files_upload *u = ud;
	int is_file;
	if (u->mode == FILES_MULTIPART_FIRST) {
		/* The first part with a filename; until one comes, the first
		 * part (raw fields posted as a form). */
		is_file = !u->file_parts || (p->filename && !u->file_named);
		if (is_file && u->file_parts && file_reset(u))
			return 500;
		if (is_file)
			u->file_named = p->filename != NULL;
	} else {
		is_file = (p->filename != NULL || strcmp(p->name, "file") == 0) && !u->file_parts;
	}
	if (is_file) {
		u->in_file = 1;
		u->file_parts++;
		free(u->filename);
		u->filename = xstrdup(p->filename ? p->filename : "");
		return 0;
	}
	u->in_file = 0;
	if (u->mode == FILES_MULTIPART_FORM) {
		free(u->cur_field);
		u->cur_field = xstrdup(p->name);
		buf_reset(&u->cur_val);
		if ((u->field_bytes += strlen(p->name)) > FIELDS_MAX)
			return 413;
	}
	return 0;
}

static int part_data(void *ud, const char *d, size_t n)
{
	files_upload *u = ud;
	if (u->in_file)
		return file_bytes(u, d, n);
	if (u->mode != FILES_MULTIPART_FORM)
		return 0;   /* other parts of an upload-URL body are ignored */
	if ((u->field_bytes += n) > FIELDS_MAX)
		return 413;
	buf_add(&u->cur_val, d, n);
	return 0;
}

static int part_end(void *ud)
{
	files_upload *u = ud;
	if (u->in_file) {
		u->in_file = 0;
		u->file_done = 1;
	} else if (u->cur_field) {
		json_t *v = json_stringn(u->cur_val.len ? u->cur_val.data : "", u->cur_val.len);
		if (!v)
			return 400;   /* not UTF-8 */
		json_object_set_new(u->fields, u->cur_field, v);
		free(u->cur_field);
		u->cur_field = NULL;
	}
	return 0;
}

static const multipart_cb mp_cbs = {part_begin, part_data, part_end};

files_upload *files_upload_new(const char *files_dir, files_upload_mode mode,
			       const char *content_type, uint64_t max_file_bytes, int *status)
{
	char boundary[MULTIPART_MAX_BOUNDARY + 1];
	if (mode != FILES_RAW && multipart_boundary(content_type, boundary, sizeof boundary) != 0) {
		*status = 400;
		return NULL;
	}
	char *tdir = xasprintf("%s/tmp", files_dir);
	mkdir_p(tdir);
	char *tmp = xasprintf("%s/up-XXXXXX", tdir);
	free(tdir);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		log_error("upload temp file failed", "path=%s err=\"%s\"", tmp, strerror(errno));
		free(tmp);
		*status = 500;
		return NULL;
	}
	files_upload *u = xcalloc(1, sizeof *u);
	u->dir = xstrdup(files_dir);
	u->tmp = tmp;
	u->fd = fd;
	u->mode = mode;
	u->max_bytes = max_file_bytes;
	u->fields = json_object();
	buf_init(&u->cur_val);
	crypto_hash_sha256_init(&u->sha);
	if (mode != FILES_RAW)
		u->mp = multipart_new(boundary, &mp_cbs, u);
	return u;
}

static void upload_free(files_upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	if (u->tmp)
		unlink(u->tmp);
	free(u->tmp);
	free(u->dir);
	if (u->mp)
		multipart_free(u->mp);
	json_decref(u->fields);
	free(u->cur_field);
	buf_release(&u->cur_val);
	free(u->filename);
	free(u);
}

int files_upload_write(void *ctx, const char *data, size_t len)
{
	files_upload *u = ctx;
	if (u->status)
		return u->status;
	int rc;
	if (!u->mp) {
		rc = file_bytes(u, data, len);
	} else {
		rc = multipart_feed(u->mp, data, len);
		if (rc == MULTIPART_ESYNTAX)
			rc = 400;
	}
	u->status = rc;
	return rc;
}

void files_upload_abort(void *ctx)
{
	upload_free(ctx);
}

int files_upload_end(files_upload *u)
{
	if (u->mp) {
		if (multipart_finish(u->mp) != 0)
			return ERR_INVALID_FORM_DATA;
		if (!u->file_done)
			return ERR_NO_FILE_DATA;
	}
	return 0;
}

uint64_t files_upload_size(const files_upload *u)
{
	return u->size;
}

json_t *files_upload_fields(files_upload *u)
{
	return u->fields;
}

const char *files_upload_filename(const files_upload *u)
{
	return u->filename ? u->filename : "";
}

int files_tmp_sweep(const char *files_dir)
{
	char *tdir = xasprintf("%s/tmp", files_dir);
	DIR *d = opendir(tdir);
	int n = 0;
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (strncmp(e->d_name, "up-", 3) != 0)
			continue;
		char *p = xasprintf("%s/%s", tdir, e->d_name);
		n += unlink(p) == 0;
		free(p);
	}
	if (d)
		closedir(d);
	free(tdir);
	return n;
}

char *files_blob_path(const char *files_dir, const char *sha256, int thumb)
{
	if (!thumb)
		return xasprintf("%s/%.2s/%s", files_dir, sha256, sha256 + 2);
	return xasprintf("%s/%.2s/%s.t%d", files_dir, sha256, sha256 + 2, thumb);
}

void files_blob_remove(const char *files_dir, const char *sha256)
{
	for (int i = -1; i < FILES_NTHUMBS; i++) {
		char *p = files_blob_path(files_dir, sha256, i < 0 ? 0 : files_thumb_sizes[i]);
		unlink(p);
		free(p);
	}
}

static const struct {
	const char *mime, *type;
} mime_types[] = {
	{"image/png", "png"},         {"image/jpeg", "jpg"},        {"image/gif", "gif"},
	{"image/webp", "webp"},       {"image/svg+xml", "svg"},     {"image/bmp", "bmp"},
	{"image/tiff", "tiff"},       {"application/pdf", "pdf"},   {"application/zip", "zip"},
	{"application/gzip", "gzip"}, {"application/json", "json"}, {"text/csv", "csv"},
	{"text/html", "html"},        {"text/xml", "xml"},          {"application/xml", "xml"},
	{"text/x-c", "c"},            {"text/x-python", "python"},  {"text/x-shellscript", "shell"},
	{"video/mp4", "mp4"},         {"audio/mpeg", "mp3"},        {"text/markdown", "markdown"},
};

const char *files_mimetype(const char *sniffed, const char *name)
{
	if (!sniffed || strncmp(sniffed, "text/", 5) != 0 || !name || !strrchr(name, '.'))
		return sniffed;
	static const char *const text_types[] = {"text/plain", "text/csv", "text/markdown",
						  "text/html", "text/css", "text/xml"};
	const char *byname = http_mime_type(name);
	for (size_t i = 0; i < sizeof text_types / sizeof text_types[0]; i++) {
		size_t n = strlen(text_types[i]);
		if (!strncmp(byname, text_types[i], n) && (byname[n] == '\0' || byname[n] == ';'))
			return text_types[i];
	}
	return sniffed;
}

const char *files_filetype(const char *mimetype, const char *name)
{
	/* A name's extension says more than libmagic about text formats. */
	static const struct {
		const char *ext, *type;
	} exts[] = {{"md", "markdown"}, {"csv", "csv"},   {"json", "json"}, {"js", "javascript"},
		    {"py", "python"},   {"c", "c"},       {"h", "c"},       {"go", "go"},
		    {"rs", "rust"},     {"sh", "shell"},  {"yaml", "yaml"}, {"yml", "yaml"},
		    {"html", "html"},   {"xml", "xml"},   {"sql", "sql"},   {"diff", "diff"}};
	const char *dot = name ? strrchr(name, '.') : NULL;
	if (mimetype && !strncmp(mimetype, "text/", 5) && dot)
		for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
			if (strcasecmp(dot + 1, exts[i].ext) == 0)
				return exts[i].type;
	for (size_t i = 0; mimetype && i < sizeof mime_types / sizeof mime_types[0]; i++)
		if (strcmp(mimetype, mime_types[i].mime) == 0)
			return mime_types[i].type;
	if (mimetype && !strncmp(mimetype, "text/", 5))
		return "text";
	return "binary";
}

/* ---- commit on the thread pool ---- */

typedef struct commit_work {
	uv_work_t w;
	files_upload *u;
	files_commit_cb cb;
	void *ud;
	int err;
	files_blob_info info;
} commit_work;

/* One magic database for the process, loaded on first use: loading it
 * costs ~60 MB and a few ms, too much per upload. A magic_t is not
 * thread-safe, so sniffs take turns (each reads at most the file's first
 * megabyte). */
static uv_once_t magic_once = UV_ONCE_INIT;
static uv_mutex_t magic_lock;
static magic_t magic_db;

static void magic_init(void)
{
	uv_mutex_init(&magic_lock);
	magic_db = magic_open(MAGIC_MIME_TYPE | MAGIC_ERROR);
	if (magic_db && magic_load(magic_db, NULL) != 0) {
		log_error("libmagic database failed to load", "err=\"%s\"", magic_error(magic_db));
		magic_close(magic_db);
		magic_db = NULL;
	}
}

static void sniff(const char *path, char *out, size_t cap)
{
	snprintf(out, cap, "application/octet-stream");
	uv_once(&magic_once, magic_init);
	if (!magic_db)
		return;
	uv_mutex_lock(&magic_lock);
	const char *t = magic_file(magic_db, path);
	if (t && *t && strchr(t, '/'))
		snprintf(out, cap, "%s", t);
	uv_mutex_unlock(&magic_lock);
}

void files_thumb_dims(int w, int h, int size, int *tw, int *th)
{
	int longer = w > h ? w : h;
	*tw = w;
	*th = h;
	if (longer > size) {
		*tw = w >= h ? size : (int)((int64_t)w * size / h);
		*th = h >= w ? size : (int)((int64_t)h * size / w);
		if (*tw < 1)
			*tw = 1;
		if (*th < 1)
			*th = 1;
	}
}

/* Thumbnails of the image at path (already in place); sets info->width,
 * height and thumbs. Failures leave fewer thumbnails, never an error. */
static void make_thumbs(const char *dir, files_blob_info *info, const char *path)
{
	int w, h, comp;
	if (!stbi_info(path, &w, &h, &comp) || w <= 0 || h <= 0)
		return;
	info->width = w;
	info->height = h;
	if ((int64_t)w * h > FILES_THUMB_MAX_PIXELS)
		return;
	unsigned char *px = stbi_load(path, &w, &h, &comp, 0);
	if (!px)
		return;
	int png = strcmp(info->mimetype, "image/jpeg") != 0;
	int longer = w > h ? w : h;
	for (int i = 0; i < FILES_NTHUMBS; i++) {
		int size = files_thumb_sizes[i];
		/* Small sizes always exist (clients expect thumb_64..360);
		 * bigger ones only when the image is bigger. */
		if (size > 360 && size >= longer)
			continue;
		int tw, th;
		files_thumb_dims(w, h, size, &tw, &th);
		unsigned char *out = xmalloc((size_t)tw * (size_t)th * (size_t)comp);
		int ok = stbir_resize_uint8(px, w, h, 0, out, tw, th, 0, comp);
		char *tp = files_blob_path(dir, info->sha256, size);
		char *tmp = xasprintf("%s.tmp", tp);
		if (ok)
			ok = png ? stbi_write_png(tmp, tw, th, comp, out, tw * comp)
				 : stbi_write_jpg(tmp, tw, th, comp, out, 85);
		if (ok && rename(tmp, tp) == 0)
			info->thumbs |= 1 << i;
		else
			unlink(tmp);
		free(tmp);
		free(tp);
		free(out);
	}
	stbi_image_free(px);
}

static void commit_work_cb(uv_work_t *w)
{
	commit_work *cw = w->data;
	files_upload *u = cw->u;
	files_blob_info *info = &cw->info;
	info->size = u->size;
	if (fsync(u->fd) < 0) {
		log_error("upload fsync failed", "path=%s err=\"%s\"", u->tmp, strerror(errno));
		cw->err = ERR_INTERNAL_ERROR;
		return;
	}
	close(u->fd);
	u->fd = -1;
	char *sub = xasprintf("%s/%.2s", u->dir, info->sha256);
	mkdir_p(sub);
	free(sub);
	char *dst = files_blob_path(u->dir, info->sha256, 0);
	/* Same bytes, same name: replacing an existing blob is harmless. */
	if (rename(u->tmp, dst) < 0) {
		log_error("upload rename failed", "path=%s err=\"%s\"", dst, strerror(errno));
		cw->err = ERR_INTERNAL_ERROR;
		free(dst);
		return;
	}
	free(u->tmp);
	u->tmp = NULL;
	sniff(dst, info->mimetype, sizeof info->mimetype);
	if (!strcmp(info->mimetype, "image/png") || !strcmp(info->mimetype, "image/jpeg") ||
	    !strcmp(info->mimetype, "image/gif"))
		make_thumbs(u->dir, info, dst);
	free(dst);
}

/* Blobs pinned by uploads in progress: sha -> count (loop thread only). */
static map pins;
static bool pins_init;

/* Blobs whose removal runs on the thread pool (files_blob_gc_async): sha
 * -> gc_work, under gc_mu, which the removing thread holds across its
 * unlink. A pin taken meanwhile marks the removal stale and it skips the
 * unlink: an upload of the same bytes (pinned before its bytes land) is
 * never undone, even if it commits and unpins before the removal runs. */
typedef struct gc_work {
	uv_work_t w;
	char *files_dir;
	char sha[65];
	bool stale;
} gc_work;
static map removing;
static uv_mutex_t gc_mu;
static uv_once_t gc_once = UV_ONCE_INIT;

static void gc_init(void)
{
	uv_mutex_init(&gc_mu);
	map_init(&removing);
}

static void blob_pin(const char *sha)
{
	if (!pins_init) {
		map_init(&pins);
		pins_init = true;
	}
	uintptr_t n = (uintptr_t)map_get(&pins, sha);
	map_put(&pins, sha, (void *)(n + 1));
	uv_once(&gc_once, gc_init);
	uv_mutex_lock(&gc_mu);
	gc_work *g = map_get(&removing, sha);
	if (g)
		g->stale = true;
	uv_mutex_unlock(&gc_mu);
}

void files_blob_unpin(const char *sha256)
{
	uintptr_t n = pins_init ? (uintptr_t)map_get(&pins, sha256) : 0;
	if (n > 1)
		map_put(&pins, sha256, (void *)(n - 1));
	else if (n == 1)
		map_del(&pins, sha256);
}

void files_blob_gc(store *st, const char *files_dir, const char *sha256)
{
	if (!sha256 || !sha256[0] || !files_dir)
		return;
	if (pins_init && map_get(&pins, sha256))
		return;
	if (store_file_blob_refs(st, sha256, "") == 0)
		files_blob_remove(files_dir, sha256);
}

static void commit_after_cb(uv_work_t *w, int status)
{
	commit_work *cw = w->data;
	upload_free(cw->u);
	cw->cb(cw->ud, status < 0 ? ERR_INTERNAL_ERROR : cw->err, &cw->info);
	free(cw);
}

void files_upload_commit(uv_loop_t *loop, files_upload *u, files_commit_cb cb, void *ud)
{
	commit_work *cw = xcalloc(1, sizeof *cw);
	cw->u = u;
	cw->cb = cb;
	cw->ud = ud;
	cw->w.data = cw;
	/* The name is known now: pinned before the bytes can land there. */
	unsigned char sha[crypto_hash_sha256_BYTES];
	crypto_hash_sha256_final(&u->sha, sha);
	sodium_bin2hex(cw->info.sha256, sizeof cw->info.sha256, sha, sizeof sha);
	blob_pin(cw->info.sha256);
	if (uv_queue_work(loop, &cw->w, commit_work_cb, commit_after_cb) < 0) {
		upload_free(u);
		cb(ud, ERR_INTERNAL_ERROR, &cw->info);
		free(cw);
	}
}

static void gc_work_cb(uv_work_t *w)
{
	gc_work *g = w->data;
	uv_mutex_lock(&gc_mu);
	if (!g->stale)
		files_blob_remove(g->files_dir, g->sha);
	uv_mutex_unlock(&gc_mu);
}

static void gc_after_cb(uv_work_t *w, int status)
{
	(void)status;
	gc_work *g = w->data;
	uv_mutex_lock(&gc_mu);
	map_del(&removing, g->sha);
	uv_mutex_unlock(&gc_mu);
	free(g->files_dir);
	free(g);
}

void files_blob_gc_async(uv_loop_t *loop, store *st, const char *files_dir, const char *sha256)
{
	if (!loop) {
		files_blob_gc(st, files_dir, sha256);
		return;
	}
	if (!sha256 || !sha256[0] || !files_dir)
		return;
	if (pins_init && map_get(&pins, sha256))
		return;
	if (store_file_blob_refs(st, sha256, "") != 0)
		return;
	uv_once(&gc_once, gc_init);
	uv_mutex_lock(&gc_mu);
	bool busy = map_get(&removing, sha256) != NULL;
	gc_work *g = NULL;
	if (!busy) {
		g = xcalloc(1, sizeof *g);
		g->w.data = g;
		g->files_dir = xstrdup(files_dir);
		snprintf(g->sha, sizeof g->sha, "%s", sha256);
		map_put(&removing, g->sha, g);
	}
	uv_mutex_unlock(&gc_mu);
	if (!g)
		return;   /* a removal of these bytes is already queued */
	if (uv_queue_work(loop, &g->w, gc_work_cb, gc_after_cb) < 0) {
		/* No thread pool: remove here, as files_blob_gc would. */
		gc_work_cb(&g->w);
		gc_after_cb(&g->w, 0);
	}
}
