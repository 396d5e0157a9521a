/* Static files: http_respond_file.
 *
 * Design note
 *
 * Validators. The ETag is "<size>-<mtime in ns>" in hex: cheap (one fstat),
 * and it changes whenever an editor or a deploy rewrites the file.
 * If-None-Match (weak comparison, "*" allowed) wins over If-Modified-Since,
 * as RFC 9110 13.2.2 orders them; either gives 304. If-Range must match
 * the ETag strongly or equal Last-Modified, else the Range is ignored.
 * Range is honoured for GET only (the one method RFC 9110 defines it for),
 * a single range (see http_parse_range); unsatisfiable gives 416 with
 * "Content-Range: bytes * /size".
 *
 * Body transport (a deliberate choice, not sendfile):
 *  - Bodies up to HTTP_FILE_SMALL (1 MiB) are read with pread on the loop
 *    thread into one buffer, and leave with the headers in one write.
 *    These are static assets, normally in the page cache; a short blocking
 *    read costs less than a thread-pool round trip and a second write.
 *  - Larger bodies are streamed: uv_fs_read on libuv's thread pool in
 *    HTTP_FILE_CHUNK pieces, at most two pieces queued on the socket, the
 *    next read issued as a piece is written. The loop never waits on the
 *    disk and a slow client holds at most two pieces of memory.
 *  sendfile(2) was rejected: the socket is non-blocking and polled by
 *  libuv, so a partial sendfile would need a writability watcher on an fd
 *  libuv already watches (uv_poll cannot share it), and uv_fs_sendfile on
 *  the thread pool would spin on EAGAIN. The price is one copy through
 *  user space.
 *
 * The file is opened with O_NONBLOCK so that a FIFO planted in the web root
 * cannot block open(); anything but a regular file is a 404.
 */
#include "net/http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/xalloc.h"

#define HTTP_FILE_SMALL   (1u << 20)
#define HTTP_FILE_CHUNK   (256u << 10)
#define HTTP_FILE_QUEUED  2

typedef struct file_stream {
	http_req *r;
	uv_fs_t fs;
	int fd;
	uint64_t off;           /* next byte to read */
	uint64_t left;          /* bytes still to read */
	char *chunk;            /* the read in flight */
	int reading;
	int queued;             /* pieces handed to the socket, not yet written */
	int failed;
} file_stream;

/* Weak comparison (W/ ignored on both sides) against a list of entity tags. */
static int etag_list_match(const char *list, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = list;
	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (!*p)
			return 0;
		if (*p == '*')
			return 1;
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		if (*p == '"') {
			const char *q = strchr(p + 1, '"');
			if (!q)
				return 0;
			size_t n = (size_t)(q - p) + 1;
			if (n == elen && memcmp(p, etag, n) == 0)
				return 1;
			p = q + 1;
		} else {
			p += strcspn(p, ",");
		}
	}
}

/* IMF-fixdate only ("Sun, 06 Nov 1994 08:49:37 GMT"), the one form HTTP
 * senders must generate; -1 if it is something else. Field widths bound
 * what sscanf converts and the ranges are checked before any arithmetic:
 * a client's "-2147483648" year must not overflow tm_year (crasher kept in
 * fuzz/corpus/fuzz_http/crash-ims-year). */
static int64_t parse_http_date(const char *s)
{
	static const char mons[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char wd[4], mo[4];
	int d, y, hh, mm, ss, used = 0;
	if (sscanf(s, "%3[A-Za-z], %2d %3s %4d %2d:%2d:%2d GMT%n", wd, &d, mo, &y, &hh, &mm, &ss,
		   &used) != 7 ||
	    !used)
		return -1;
	if (d < 1 || d > 31 || y < 1000 || hh < 0 || hh > 23 || mm < 0 || mm > 59 || ss < 0 || ss > 60)
		return -1;
	const char *m = strstr(mons, mo);
	if (!m || strlen(mo) != 3 || (m - mons) % 3)
		return -1;
	struct tm tm = {0};
	tm.tm_year = y - 1900;
	tm.tm_mon = (int)((m - mons) / 3);
	tm.tm_mday = d;
	tm.tm_hour = hh;
	tm.tm_min = mm;
	tm.tm_sec = ss;
	return (int64_t)timegm(&tm);
}

/* Reads len bytes at off into a fresh buffer; NULL on error or a file that
 * shrank under us. */
static char *read_small(int fd, uint64_t off, size_t len)
{
	char *data = xmalloc(len ? len : 1);
	size_t got = 0;
	while (got < len) {
		ssize_t n = pread(fd, data + got, len - got, (off_t)(off + got));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(data);
			return NULL;
		}
		got += (size_t)n;
	}
	return data;
}

static void stream_pump(file_stream *fs);

static void stream_finish(file_stream *fs, int ok)
{
	close(fs->fd);
	http__stream_end(fs->r, ok);
	free(fs);
}

static void stream_written_cb(http_req *r, int status, void *ud)
{
	file_stream *fs = ud;
	fs->queued--;
	if (status < 0)
		fs->failed = 1;
	stream_pump(fs);
}

static void stream_read_cb(uv_fs_t *req)
{
	file_stream *fs = req->data;
	ssize_t n = req->result;
	uv_fs_req_cleanup(req);
	fs->reading = 0;
	char *chunk = fs->chunk;
	fs->chunk = NULL;
	if (n <= 0 || fs->failed) {
		/* 0: the file shrank after fstat; the body cannot be completed. */
		if (n < 0)
			log_warn("http file read failed", "err=%s", uv_err_name((int)n));
		free(chunk);
		fs->failed = 1;
		stream_pump(fs);
		return;
	}
	fs->off += (uint64_t)n;
	fs->left -= (uint64_t)n;
	if (http__stream_write(fs->r, chunk, (size_t)n, stream_written_cb, fs) < 0)
		fs->failed = 1;
	else
		fs->queued++;
	stream_pump(fs);
}

/* Moves the stream one step: finish when everything is read and written
 * (or failed and nothing is in flight), else start the next read if the
 * socket queue has room. */
static void stream_pump(file_stream *fs)
{
	if (fs->reading)
		return;
	if (fs->failed || fs->left == 0) {
		if (fs->queued == 0)
			stream_finish(fs, !fs->failed);
		return;
	}
	if (fs->queued >= HTTP_FILE_QUEUED)
		return;
	size_t n = fs->left < HTTP_FILE_CHUNK ? (size_t)fs->left : HTTP_FILE_CHUNK;
	fs->chunk = xmalloc(n);
	uv_buf_t b = uv_buf_init(fs->chunk, (unsigned)n);
	fs->fs.data = fs;
	int rc = uv_fs_read(http__req_loop(fs->r), &fs->fs, fs->fd, &b, 1, (int64_t)fs->off,
			    stream_read_cb);
	if (rc < 0) {
		free(fs->chunk);
		fs->chunk = NULL;
		fs->failed = 1;
		if (fs->queued == 0)
			stream_finish(fs, 0);
		return;
	}
	fs->reading = 1;
}

static void respond_text(http_req *r, int status)
{
	char *body = xasprintf("%s\n", http_reason(status));
	http_respond_owned(r, status, "text/plain; charset=utf-8", NULL, body, strlen(body));
}

void http_respond_file(http_req *r, const char *path)
{
	http_respond_file_as(r, path, NULL, NULL);
}

void http_respond_file_as(http_req *r, const char *path, const char *content_type,
			  const char *extra_headers)
{
	if (!http__req_conn_alive(r)) {
		http_respond_owned(r, 404, NULL, NULL, NULL, 0);   /* discarded anyway */
		return;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		respond_text(r, 404);
		return;
	}
	uint64_t size = (uint64_t)st.st_size;
	uint64_t mtime_ns = (uint64_t)st.st_mtim.tv_sec * 1000000000u + (uint64_t)st.st_mtim.tv_nsec;
	char etag[64], lastmod[40];
	snprintf(etag, sizeof etag, "\"%" PRIx64 "-%" PRIx64 "\"", size, mtime_ns);
	http__fmt_date((int64_t)st.st_mtim.tv_sec, lastmod, sizeof lastmod);
	buf extra = BUF_INIT;
	buf_printf(&extra, "ETag: %s\r\nLast-Modified: %s\r\n", etag, lastmod);
	if (extra_headers)
		buf_adds(&extra, extra_headers);

	int is_get = strcmp(r->method, "GET") == 0;
	int is_head = strcmp(r->method, "HEAD") == 0;
	const char *inm = http_req_header(r, "if-none-match");
	const char *ims = http_req_header(r, "if-modified-since");
	int not_modified = 0;
	if (is_get || is_head) {
		if (inm) {
			not_modified = etag_list_match(inm, etag);
		} else if (ims) {
			int64_t t = parse_http_date(ims);
			not_modified = t >= 0 && (int64_t)st.st_mtim.tv_sec <= t;
		}
	}
	if (not_modified) {
		close(fd);
		http_respond_owned(r, 304, NULL, extra.data, NULL, 0);
		buf_release(&extra);
		return;
	}
	buf_adds(&extra, "Accept-Ranges: bytes\r\n");

	int status = 200;
	uint64_t start = 0, len = size;
	const char *range = is_get ? http_req_header(r, "range") : NULL;
	const char *if_range = http_req_header(r, "if-range");
	if (range && if_range) {
		int match = if_range[0] == '"' ? strcmp(if_range, etag) == 0
			  : parse_http_date(if_range) == (int64_t)st.st_mtim.tv_sec;
		if (!match)
			range = NULL;   /* changed since: send it all */
	}
	if (range) {
		uint64_t end = 0;
		int rc = http_parse_range(range, size, &start, &end);
		if (rc < 0) {
			close(fd);
			buf_printf(&extra, "Content-Range: bytes */%" PRIu64 "\r\n", size);
			http_respond_owned(r, 416, NULL, extra.data, NULL, 0);
			buf_release(&extra);
			return;
		}
		if (rc > 0) {
			status = 206;
			len = end - start + 1;
			buf_printf(&extra, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n",
				   start, end, size);
		}
	}
	const char *ctype = content_type ? content_type : http_mime_type(path);

	if (is_head || len == 0) {
		close(fd);
		http__stream_begin(r, status, ctype, extra.data, len);
		http__stream_end(r, 1);
	} else if (len <= HTTP_FILE_SMALL) {
		char *data = read_small(fd, start, (size_t)len);
		close(fd);
		if (data)
			http_respond_owned(r, status, ctype, extra.data, data, (size_t)len);
		else
			respond_text(r, 500);
	} else {
		file_stream *fs = xcalloc(1, sizeof *fs);
		fs->r = r;
		fs->fd = fd;
		fs->off = start;
		fs->left = len;
		http__stream_begin(r, status, ctype, extra.data, len);
		stream_pump(fs);
	}
	buf_release(&extra);
}
