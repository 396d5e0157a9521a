/* Files in-process: the store module (rows, shares, listings, purge), the
 * blob layer (an upload streamed raw and as multipart, committed on the
 * thread pool: content address, SHA-256, MIME sniffing, thumbnails),
 * api_file_purge for retention, and the small pure helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <stb_image.h>
#include <stb_image_write.h>

#include "api/api_files.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/store.h"

typedef struct fx {
	char dir[64];
	char files[96];
	uv_loop_t loop;
	store *st;
} fx;

static int setup(void **state)
{
	fx *f = xcalloc(1, sizeof *f);
	strcpy(f->dir, "/tmp/canal-files-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->files, sizeof f->files, "%s/files", f->dir);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	char err[256] = "";
	store_cfg cfg = {.dir = f->dir};
	f->st = store_open(&cfg, NULL, err, sizeof err);   /* offline: commits before returning */
	if (!f->st)
		fail_msg("store_open: %s", err);
	*state = f;
	return 0;
}

static int rm_cb(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static int teardown(void **state)
{
	fx *f = *state;
	store_close(f->st);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	nftw(f->dir, rm_cb, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void done_cb(void *ud, int err)
{
	*(int *)ud = err + 1000;   /* called: 1000 + err */
}

static void commit(fx *f, store_job *j)
{
	int got = -1;
	store_submit(f->st, j, done_cb, &got);
	assert_int_equal(got, 1000);
}

static void row(store_file *r, const char *id, const char *org_id, const char *user_id, const char *name,
		int64_t created, const char *sha)
{
	store_file_init(r);
	snprintf(r->id, sizeof r->id, "%s", id);
	snprintf(r->org_id, sizeof r->org_id, "%s", org_id);
	snprintf(r->user_id, sizeof r->user_id, "%s", user_id);
	r->name = xstrdup(name);
	r->title = xstrdup(name);
	r->mimetype = xstrdup("text/plain");
	r->filetype = xstrdup("text");
	r->created = created;
	r->state = FILE_COMPLETE;
	r->size = 3;
	snprintf(r->sha256, sizeof r->sha256, "%s", sha);
}

static void test_store_rows(void **state)
{
	fx *f = *state;
	store_job *j = store_job_new(f->st);
	store_file r;
	const char *sha = "aa00000000000000000000000000000000000000000000000000000000000000";
	for (int i = 0; i < 5; i++) {
		char id[16], name[32];
		snprintf(id, sizeof id, "F%d", i);
		snprintf(name, sizeof name, i == 3 ? "Report-%d.TXT" : "notes-%d.txt", i);
		row(&r, id, i == 4 ? "T2" : "T1", i % 2 ? "U1" : "U2", name, 100 + i, sha);
		if (i == 2)
			r.deleted = true;
		store_file_put(j, &r);
		store_file_release(&r);
	}
	store_file_share_add(j, "F1", "C1", 5000);
	store_file_share_add(j, "F1", "C2", 4000);
	store_file_share_add(j, "F1", "C2", 4000);   /* idempotent */
	store_file_share_add(j, "F3", "C1", 6000);
	commit(f, j);

	assert_int_equal(store_file_get(f->st, "F1", &r), 0);
	assert_string_equal(r.name, "notes-1.txt");
	assert_string_equal(r.user_id, "U1");
	assert_int_equal(r.created, 101);
	assert_int_equal(r.state, FILE_COMPLETE);
	assert_string_equal(r.sha256, sha);
	store_file_release(&r);
	assert_int_equal(store_file_get(f->st, "F9", &r), ERR_FILE_NOT_FOUND);
	store_file_release(&r);

	store_file_share *sh;
	size_t n = store_file_shares(f->st, "F1", &sh);
	assert_int_equal(n, 2);
	assert_string_equal(sh[0].channel_id, "C2");   /* oldest first */
	assert_int_equal(sh[1].ts, 5000);
	free(sh);

	/* Listings: org T1, live, newest first; filters; paging. */
	store_file *fs;
	store_file_query q = {.org_id = "T1", .limit = 10};
	assert_int_equal(store_file_list(f->st, &q, &fs, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(fs[0].id, "F3");
	assert_string_equal(fs[2].id, "F0");
	store_file_list_free(fs, n);
	q.text = "report";   /* case-insensitive */
	assert_int_equal(store_file_list(f->st, &q, &fs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(fs[0].id, "F3");
	store_file_list_free(fs, n);
	q.text = NULL;
	q.channel_id = "C1";
	assert_int_equal(store_file_list(f->st, &q, &fs, &n), 0);
	assert_int_equal(n, 2);
	store_file_list_free(fs, n);
	q.channel_id = NULL;
	q.user_id = "U2";
	assert_int_equal(store_file_list(f->st, &q, &fs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(fs[0].id, "F0");
	store_file_list_free(fs, n);
	q.user_id = NULL;
	q.before_created = 103;
	q.before_id = "F3";
	q.limit = 1;
	assert_int_equal(store_file_list(f->st, &q, &fs, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(fs[0].id, "F1");
	store_file_list_free(fs, n);
	q = (store_file_query){.org_id = "T1", .ts_from = 101, .ts_to = 101};
	assert_int_equal(store_file_list(f->st, &q, &fs, &n), 0);
	assert_int_equal(n, 1);
	store_file_list_free(fs, n);

	/* Blob references: deleted rows and the row itself do not count. */
	assert_int_equal(store_file_blob_refs(f->st, sha, "F1"), 3);   /* F0, F3, F4 */
	j = store_job_new(f->st);
	store_file_purge(j, "F1");
	commit(f, j);
	assert_int_equal(store_file_get(f->st, "F1", &r), ERR_FILE_NOT_FOUND);
	store_file_release(&r);
	assert_int_equal(store_file_shares(f->st, "F1", &sh), 0);
	free(sh);
}

/* ---- uploads through the blob layer ---- */

typedef struct got {
	int calls, err;
	files_blob_info info;
} got;

static void committed_cb(void *ud, int err, const files_blob_info *info)
{
	got *g = ud;
	g->calls++;
	g->err = err;
	g->info = *info;
}

static void sha_hex(const void *d, size_t n, char out[65])
{
	unsigned char h[32];
	crypto_hash_sha256(h, d, n);
	sodium_bin2hex(out, 65, h, 32);
}

/* Files left in the temp directory (uploads never finished or aborted). */
static size_t tmp_count(fx *f)
{
	char *p = xasprintf("%s/tmp", f->files);
	size_t n = 0;
	DIR *d = opendir(p);
	struct dirent *e;
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	free(p);
	return n;
}

static void test_upload_raw(void **state)
{
	fx *f = *state;
	int status = 0;
	files_upload *u = files_upload_new(f->files, FILES_RAW, NULL, 10, &status);
	assert_non_null(u);
	assert_int_equal(files_upload_write(u, "hello", 5), 0);
	assert_int_equal(files_upload_write(u, " you!", 5), 0);
	assert_int_equal(files_upload_write(u, "x", 1), 413);   /* past the limit */
	assert_int_equal(files_upload_write(u, "", 0), 413);    /* sticky */
	files_upload_abort(u);
	assert_int_equal(tmp_count(f), 0);

	u = files_upload_new(f->files, FILES_RAW, NULL, 100, &status);
	const char *text = "plain words, and more words\n";
	assert_int_equal(files_upload_write(u, text, strlen(text)), 0);
	assert_int_equal(files_upload_end(u), 0);
	assert_int_equal(files_upload_size(u), strlen(text));
	got g = {0};
	files_upload_commit(&f->loop, u, committed_cb, &g);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	files_blob_unpin(g.info.sha256);
	assert_int_equal(g.calls, 1);
	assert_int_equal(g.err, 0);
	char want[65];
	sha_hex(text, strlen(text), want);
	assert_string_equal(g.info.sha256, want);
	assert_int_equal(g.info.size, strlen(text));
	assert_int_equal(strncmp(g.info.mimetype, "text/", 5), 0);
	assert_int_equal(g.info.thumbs, 0);
	char *path = files_blob_path(f->files, want, 0);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, (off_t)strlen(text));
	free(path);
	assert_int_equal(tmp_count(f), 0);
}

static void write_cb(void *ctx, void *data, int size)
{
	buf_add(ctx, data, (size_t)size);
}

static void test_upload_multipart_image(void **state)
{
	fx *f = *state;
	/* A 300 x 120 RGB image, PNG-encoded by stb itself. */
	unsigned char *px = xmalloc(300 * 120 * 3);
	for (int i = 0; i < 300 * 120 * 3; i++)
		px[i] = (unsigned char)(i * 7);
	buf png = BUF_INIT;
	assert_true(stbi_write_png_to_func(write_cb, &png, 300, 120, 3, px, 300 * 3));
	free(px);

	buf body = BUF_INIT;
	buf_adds(&body, "--XX\r\nContent-Disposition: form-data; name=\"channels\"\r\n\r\nC1\r\n"
			"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"pic.png\"\r\n"
			"Content-Type: image/png\r\n\r\n");
	buf_add(&body, png.data, png.len);
	buf_adds(&body, "\r\n--XX\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nA picture\r\n--XX--\r\n");

	int status = 0;
	files_upload *u = files_upload_new(f->files, FILES_MULTIPART_FORM,
					   "multipart/form-data; boundary=XX", 1 << 20, &status);
	assert_non_null(u);
	/* fed in odd pieces, as the socket would */
	for (size_t off = 0; off < body.len; off += 333)
		assert_int_equal(files_upload_write(u, body.data + off, body.len - off < 333 ? body.len - off : 333), 0);
	assert_int_equal(files_upload_end(u), 0);
	assert_string_equal(files_upload_filename(u), "pic.png");
	json_t *fields = files_upload_fields(u);
	assert_string_equal(json_string_value(json_object_get(fields, "channels")), "C1");
	assert_string_equal(json_string_value(json_object_get(fields, "title")), "A picture");
	assert_int_equal(files_upload_size(u), png.len);
	got g = {0};
	files_upload_commit(&f->loop, u, committed_cb, &g);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	files_blob_unpin(g.info.sha256);
	assert_int_equal(g.err, 0);
	assert_string_equal(g.info.mimetype, "image/png");
	assert_int_equal(g.info.width, 300);
	assert_int_equal(g.info.height, 120);
	/* 64, 80, 160 always; 360 too (small sizes exist for every image) */
	assert_int_equal(g.info.thumbs & 0xf, 0xf);
	assert_int_equal(g.info.thumbs & ~0xf, 0);
	char *t64 = files_blob_path(f->files, g.info.sha256, 64);
	int w, h, comp;
	assert_true(stbi_info(t64, &w, &h, &comp));
	assert_int_equal(w, 64);
	assert_int_equal(h, 25);
	free(t64);

	/* The blob goes with its thumbnails. */
	files_blob_remove(f->files, g.info.sha256);
	char *p = files_blob_path(f->files, g.info.sha256, 0);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	p = files_blob_path(f->files, g.info.sha256, 360);
	assert_int_equal(access(p, F_OK), -1);
	free(p);
	buf_release(&png);
	buf_release(&body);
}

static void test_upload_multipart_errors(void **state)
{
	fx *f = *state;
	int status = 0;
	assert_null(files_upload_new(f->files, FILES_MULTIPART_FIRST, "multipart/form-data", 10, &status));
	assert_int_equal(status, 400);
	files_upload *u = files_upload_new(f->files, FILES_MULTIPART_FIRST,
					   "multipart/form-data; boundary=b", 4, &status);
	const char *cut = "--b\r\nContent-Disposition: form-data; name=body; filename=x\r\n\r\nabc";
	assert_int_equal(files_upload_write(u, cut, strlen(cut)), 0);
	assert_int_equal(files_upload_end(u), ERR_INVALID_FORM_DATA);   /* no closing delimiter */
	files_upload_abort(u);

	u = files_upload_new(f->files, FILES_MULTIPART_FIRST, "multipart/form-data; boundary=b", 4, &status);
	const char *big = "--b\r\nContent-Disposition: form-data; name=body\r\n\r\nabcde\r\n--b--";
	assert_int_equal(files_upload_write(u, big, strlen(big)), 413);
	files_upload_abort(u);

	/* Upload URL: the first part with a filename wins over earlier ones. */
	u = files_upload_new(f->files, FILES_MULTIPART_FIRST, "multipart/form-data; boundary=b", 4, &status);
	const char *two = "--b\r\nContent-Disposition: form-data; name=note\r\n\r\nzzz\r\n"
			  "--b\r\nContent-Disposition: form-data; name=body; filename=Untitled\r\n\r\nabcd\r\n"
			  "--b\r\nContent-Disposition: form-data; name=more; filename=later\r\n\r\nxy\r\n--b--";
	assert_int_equal(files_upload_write(u, two, strlen(two)), 0);
	assert_int_equal(files_upload_end(u), 0);
	assert_int_equal(files_upload_size(u), 4);
	assert_string_equal(files_upload_filename(u), "Untitled");
	got g = {0};
	files_upload_commit(&f->loop, u, committed_cb, &g);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	files_blob_unpin(g.info.sha256);
	char want[65];
	sha_hex("abcd", 4, want);
	assert_string_equal(g.info.sha256, want);

	u = files_upload_new(f->files, FILES_MULTIPART_FORM, "multipart/form-data; boundary=b", 4, &status);
	const char *nofile = "--b\r\nContent-Disposition: form-data; name=channels\r\n\r\nC1\r\n--b--";
	assert_int_equal(files_upload_write(u, nofile, strlen(nofile)), 0);
	assert_int_equal(files_upload_end(u), ERR_NO_FILE_DATA);
	files_upload_abort(u);

	u = files_upload_new(f->files, FILES_MULTIPART_FORM, "multipart/form-data; boundary=b", 4, &status);
	const char *garbage = "--b\r\nno header colon\r\n\r\n";
	assert_int_equal(files_upload_write(u, garbage, strlen(garbage)), 400);
	files_upload_abort(u);
	assert_int_equal(tmp_count(f), 0);
}

static void purged_cb(void *ud, int err)
{
	*(int *)ud = 1000 + err;
}

static void test_purge(void **state)
{
	fx *f = *state;
	/* Two rows on one blob: purging one keeps it; the last one removes it
	 * once the upload has let go of its pin. */
	int status;
	files_upload *u = files_upload_new(f->files, FILES_RAW, NULL, 100, &status);
	assert_int_equal(files_upload_write(u, "same", 4), 0);
	got g = {0};
	files_upload_commit(&f->loop, u, committed_cb, &g);
	uv_run(&f->loop, UV_RUN_DEFAULT);
	store_job *j = store_job_new(f->st);
	store_file r;
	row(&r, "FA", "T1", "U1", "a.txt", 1, g.info.sha256);
	store_file_put(j, &r);
	store_file_release(&r);
	row(&r, "FB", "T1", "U1", "b.txt", 2, g.info.sha256);
	store_file_put(j, &r);
	store_file_release(&r);
	store_file_share_add(j, "FA", "C1", 10);
	commit(f, j);

	api_env env = {.store = f->st, .files_dir = f->files};
	char *path = files_blob_path(f->files, g.info.sha256, 0);
	int res = -1;
	api_file_purge(&env, "FA", purged_cb, &res);
	assert_int_equal(res, 1000);
	assert_int_equal(store_file_get(f->st, "FA", &r), ERR_FILE_NOT_FOUND);
	store_file_release(&r);
	assert_int_equal(access(path, F_OK), 0);
	/* The upload still holds its pin (its row is not "committed" as far
	 * as the blob layer knows): even the last row going leaves the bytes. */
	res = -1;
	api_file_purge(&env, "FB", purged_cb, &res);
	assert_int_equal(res, 1000);
	assert_int_equal(access(path, F_OK), 0);
	/* Unpinned, a collection removes what nothing names. */
	files_blob_unpin(g.info.sha256);
	files_blob_gc(f->st, f->files, g.info.sha256);
	assert_int_equal(access(path, F_OK), -1);
	/* An unknown id is fine (nothing to do). */
	res = -1;
	api_file_purge(&env, "FNOPE", purged_cb, &res);
	assert_int_equal(res, 1000);
	free(path);
}

static void test_tmp_sweep(void **state)
{
	fx *f = *state;
	int status;
	/* Two uploads cut short by a "crash" (never aborted nor committed). */
	files_upload *a = files_upload_new(f->files, FILES_RAW, NULL, 100, &status);
	files_upload *b = files_upload_new(f->files, FILES_RAW, NULL, 100, &status);
	assert_int_equal(files_upload_write(a, "partial", 7), 0);
	assert_int_equal(tmp_count(f), 2);
	assert_int_equal(files_tmp_sweep(f->files), 2);
	assert_int_equal(tmp_count(f), 0);
	assert_int_equal(files_tmp_sweep(f->files), 0);
	files_upload_abort(a);   /* its file is gone already: fine */
	files_upload_abort(b);
	char *none = xasprintf("%s/nowhere", f->dir);
	assert_int_equal(files_tmp_sweep(none), 0);
	free(none);
}

static void test_helpers(void **state)
{
	assert_string_equal(files_mimetype("text/csv", "report.txt"), "text/plain");
	assert_string_equal(files_mimetype("text/plain", "data.csv"), "text/csv");
	assert_string_equal(files_mimetype("text/plain", "noext"), "text/plain");
	/* Binary types always come from the bytes, whatever the name says. */
	assert_string_equal(files_mimetype("image/png", "x.txt"), "image/png");
	assert_string_equal(files_mimetype("application/zip", "x.html"), "application/zip");
	assert_string_equal(files_filetype("text/plain", "a.txt"), "text");
	assert_string_equal(files_filetype("text/plain", "main.py"), "python");
	assert_string_equal(files_filetype("image/jpeg", "a.png"), "jpg");
	assert_string_equal(files_filetype("application/x-weird", "a"), "binary");
	assert_string_equal(files_filetype(NULL, NULL), "binary");
	int w, h;
	files_thumb_dims(500, 300, 64, &w, &h);
	assert_int_equal(w, 64);
	assert_int_equal(h, 38);
	files_thumb_dims(300, 500, 64, &w, &h);
	assert_int_equal(w, 38);
	assert_int_equal(h, 64);
	files_thumb_dims(10, 5, 64, &w, &h);   /* never enlarged */
	assert_int_equal(w, 10);
	assert_int_equal(h, 5);
	files_thumb_dims(5000, 1, 64, &w, &h);   /* at least a pixel */
	assert_int_equal(w, 64);
	assert_int_equal(h, 1);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_store_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_raw, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_multipart_image, setup, teardown),
		cmocka_unit_test_setup_teardown(test_upload_multipart_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tmp_sweep, setup, teardown),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
