/* canal-wsload: a real-time load client for bench/rt-run.
 *
 * One thread, one epoll loop, non-blocking sockets, loopback only. It
 * speaks just enough HTTP/1.1 (keep-alive, Content-Length), RFC 6455
 * (client side: masked frames, ping -> pong, close) and IRC (RFC 2812
 * registration, JOIN, PRIVMSG, PING -> PONG) to drive three workloads:
 *
 *   --mode fanout  N receivers in one channel, one sender posting
 *                  --messages M with at most --window W in flight. A
 *                  message is in flight from its post until EVERY receiver
 *                  has it. Canal: each receiver gets a single-use ticket
 *                  from POST /api/rtm.connect and opens the WebSocket it
 *                  names; the sender posts through POST
 *                  /api/chat.postMessage on --http-conns keep-alive
 *                  connections (the durable path: committed, then
 *                  delivered). IRC (--irc): receivers JOIN the channel, the
 *                  sender PRIVMSGs it on one connection.
 *                  With --socket-mode the receivers are Socket Mode apps
 *                  (--tokens holds xapp- tokens): each gets its URL from
 *                  POST /api/apps.connections.open, acks every envelope at
 *                  once and reads the message from the payload's event.
 *                  --rate R paces the posts at R per second (the window
 *                  still bounds what is in flight).
 *                  --busy-poll: the loop never sleeps while messages
 *                  flow (client_cpu then reads ~1.0 whatever the work). On
 *                  loopback a write to a sleeping reader makes the writer,
 *                  the server under test, pay for waking it up, which
 *                  receivers on other machines would pay themselves.
 *   --mode pairs   (Canal) --clients C in C/2 two-person channels (line k
 *                  of --channels is the channel of clients 2k and 2k+1).
 *                  Every client posts as itself for --duration seconds,
 *                  one message in flight per client (the next one leaves
 *                  when the previous has reached every member socket),
 *                  each on its own keep-alive connection (--http-conns
 *                  fewer: that many shared, one request in flight each).
 *   --mode idle    open --clients sockets (WebSocket up to "hello", or IRC
 *                  registration), wait --settle seconds and report the RSS
 *                  growth of --server-pid per socket.
 *
 * Message text: t<send time, CLOCK_REALTIME us>-<sender>-<seq>[-xxx pad].
 * Every receiver checks what it gets (seq_errors):
 *   - IRC: seq from the one sender is exactly last + 1 (one TCP stream,
 *     so the order is the send order).
 *   - Canal fan-out: posts run concurrently on several connections, so the
 *     server's commit order is the order: each receiver's "ts" must be
 *     strictly increasing, and every receiver must see the same ts for a
 *     given seq (same total order everywhere, no duplicates).
 *   - Canal pairs: per receiver, each member's seq is exactly last + 1
 *     (one post in flight per client), ts strictly increasing.
 *   - the message must come from the receiver's own channel.
 * Deliveries that never arrive are counted as missing at the end.
 * Latency = receive time - the send time embedded in the text.
 *
 * Output, one line on stdout (key=value), e.g. for fan-out:
 *   proto=ws mode=fanout receivers=1000 messages=5000 window=32
 *   deliveries=5000000 expected=5000000 missing=0 seq_errors=0 ...
 *   deliveries_per_s=X p50_ms=X p99_ms=X max_ms=X client_cpu=X server_cpu=X
 *   other_cpu=X post_p50_ms=X post_p99_ms=X
 * client_cpu/server_cpu: CPU seconds / wall seconds of this process and of
 * --server-pid over the run; other_cpu: cores busy with anything else
 * (a busy machine makes every figure low). post_*: HTTP answer time of
 * chat.postMessage, i.e. Canal's commit latency.
 * Exit status: 0 when the run completed (errors are in the figures), 1 on
 * setup failure or timeout (the figures so far are still printed), 2 on
 * bad usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define READ_BUF (1u << 20)      /* one read() takes at most this much */
#define MAX_PENDING_INPUT (READ_BUF / 2)
#define DRAIN_GRACE_S 5.0        /* pairs: time allowed for the last deliveries */

/* ------------------------------------------------------------------ */
/* Latency histogram (microseconds), log-linear as in bench/load.c:
 * exact below SUB, then each power of two split in SUB/2 buckets
 * (relative error < 0.2%); percentiles report the bucket's upper edge. */

#define SUB_BITS 10
#define SUB (1u << SUB_BITS)
#define HALF (SUB / 2)
#define NBUCKETS (SUB + (64 - SUB_BITS) * HALF)

typedef struct histo {
	uint64_t b[NBUCKETS];
	uint64_t total, max;
} histo;

static histo lat;        /* post -> receive, per delivery */
static histo post_lat;   /* HTTP post -> its answer (Canal: the commit) */

static size_t hist_index(uint64_t v)
{
	if (v < SUB)
		return (size_t)v;
	int msb = 63 - __builtin_clzll(v);
	int shift = msb - (SUB_BITS - 1);
	return SUB + (size_t)(shift - 1) * HALF + (size_t)((v >> shift) - HALF);
}

static uint64_t hist_upper(size_t i)
{
	if (i < SUB)
		return i;
	size_t shift = (i - SUB) / HALF + 1;
	uint64_t sub = (i - SUB) % HALF + HALF;
	return ((sub + 1) << shift) - 1;
}

static void hist_record(histo *h, uint64_t v)
{
	h->b[hist_index(v)]++;
	h->total++;
	if (v > h->max)
		h->max = v;
}

static uint64_t hist_percentile(const histo *h, double p)
{
	if (h->total == 0)
		return 0;
	uint64_t want = (uint64_t)ceil(p / 100.0 * (double)h->total);
	if (want < 1)
		want = 1;
	uint64_t seen = 0;
	for (size_t i = 0; i < NBUCKETS; i++) {
		seen += h->b[i];
		if (seen >= want) {
			uint64_t u = hist_upper(i);
			return u < h->max ? u : h->max;
		}
	}
	return h->max;
}

/* ------------------------------------------------------------------ */
/* Options */

enum proto { P_WS, P_IRC };
enum mode { M_FANOUT, M_PAIRS, M_IDLE };

static struct {
	enum proto proto;
	enum mode mode;
	struct sockaddr_in addr;        /* Canal HTTP, or the IRC server */
	char hostport[80];              /* for Host: headers */
	char **tokens;
	size_t ntokens;
	const char *sender_token;
	const char *channel;            /* fanout: Canal channel id / IRC channel */
	char **channels;                /* pairs */
	size_t nchannels;
	int clients;
	long messages;
	int window;
	int http_conns;
	int ticket_conns;
	int max_pending;
	int recipients;                 /* pairs: sockets that get each message */
	double duration, settle, hold, timeout;
	int server_pid;
	const char *oper;               /* IRC: NAME:PASSWORD */
	int src_addrs;                  /* -1: auto */
	int pad;
	bool socket_mode;               /* receivers are Socket Mode apps (xapp- tokens) */
	bool busy_poll;                 /* never sleep in epoll_wait while messages flow */
	double rate;                    /* fanout: posts per second, 0 = as the window allows */
} opt = {
	.proto = P_WS, .mode = M_FANOUT, .channel = NULL, .clients = 1000,
	.messages = 2000, .window = 32, .http_conns = 0, .ticket_conns = 8,
	.max_pending = 0, .recipients = 2, .duration = 10, .settle = 2, .hold = 0,
	.timeout = 120, .server_pid = 0, .src_addrs = -1, .pad = 0,
};

__attribute__((noreturn, format(printf, 1, 2)))
static void die_usage(const char *fmt, ...)
{
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		fputs("canal-wsload: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	fprintf(stderr,
		"usage: canal-wsload (--url http://127.0.0.1:PORT | --irc 127.0.0.1:PORT)\n"
		"         [--mode fanout|pairs|idle] [--clients N] [--tokens FILE]\n"
		"         fanout: [--sender-token T] --channel C [--messages M] [--window W]\n"
		"                 [--socket-mode] [--rate MSGS_PER_S]\n"
		"                 [--http-conns H] [--oper NAME:PW (irc)]\n"
		"         pairs:  --channels FILE [--duration S] [--http-conns H (default: --clients)] [--recipients R]\n"
		"         idle:   [--settle S] [--hold S] --server-pid P\n"
		"         [--server-pid P] [--timeout S] [--max-pending N] [--src-addrs N] [--pad N]\n");
	exit(2);
}

__attribute__((noreturn, format(printf, 1, 2)))
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("canal-wsload: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory");
	return p;
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz ? sz : 1);
	if (!p)
		die("out of memory");
	return p;
}

/* Loopback only: this tool must never load anything but this host. */
static void parse_hostport(const char *s, const char *what)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	if (!colon || (size_t)(colon - s) >= sizeof host || colon == s)
		die_usage("%s: want HOST:PORT", what);
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = 0;
	if (!strcmp(host, "localhost"))
		strcpy(host, "127.0.0.1");
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if ((*end && *end != '/') || port < 1 || port > 65535)
		die_usage("%s: bad port", what);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	if (inet_pton(AF_INET, host, &a.sin_addr) != 1)
		die_usage("%s: host must be an IPv4 loopback address", what);
	if ((ntohl(a.sin_addr.s_addr) >> 24) != 127)
		die_usage("%s: %s is not a loopback address; this tool only loads this host", what,
			  host);
	opt.addr = a;
	snprintf(opt.hostport, sizeof opt.hostport, "%s:%ld", host, port);
}

static char **read_lines(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot open %s: %s", path, strerror(errno));
	char **v = NULL;
	size_t cap = 0, len = 0;
	char *line = NULL;
	size_t lcap = 0;
	ssize_t r;
	while ((r = getline(&line, &lcap, f)) >= 0) {
		while (r > 0 && (line[r - 1] == '\n' || line[r - 1] == '\r' || line[r - 1] == ' '))
			line[--r] = 0;
		if (r == 0)
			continue;
		if (len == cap) {
			cap = cap ? cap * 2 : 1024;
			v = xrealloc(v, cap * sizeof *v);
		}
		v[len++] = strdup(line);
	}
	free(line);
	fclose(f);
	*n = len;
	return v;
}

/* ------------------------------------------------------------------ */
/* Clocks */

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t real_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static double cpu_self_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* utime + stime of a process in seconds, from /proc/PID/stat; -1 if gone. */
/* CPU seconds of a process (all its threads), or with main_thread of its
 * main thread only (Canal's event loop; the store's writer and
 * checkpointer are other threads). */
static double cpu_of(int pid, bool main_thread)
{
	if (pid <= 0)
		return -1;
	char path[64], buf[2048];
	if (main_thread)
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, pid);
	else
		snprintf(path, sizeof path, "/proc/%d/stat", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = 0;
	const char *p = strrchr(buf, ')');   /* comm may contain spaces */
	if (!p)
		return -1;
	unsigned long ut = 0, st = 0;
	/* after ")": state(3) ... utime is field 14, stime 15 */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double cpu_of_pid(int pid)
{
	return cpu_of(pid, false);
}

/* Busy CPU seconds of the whole machine (all CPUs), from /proc/stat. */
static double cpu_busy_all_s(void)
{
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	unsigned long long v[10] = {0};
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1],
		       &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 8)
		return -1;
	/* user nice system [idle iowait] irq softirq steal; guest is in user */
	unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
	return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static long rss_kb_of_pid(int pid)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long kb = -1;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, "VmRSS:", 6)) {
			kb = strtol(line + 6, NULL, 10);
			break;
		}
	fclose(f);
	return kb;
}

/* ------------------------------------------------------------------ */
/* Connections */

enum kind { K_TICKET, K_POST, K_WS, K_IRC, K_IRCSEND };
enum cstate { S_NONE, S_CONNECTING, S_UPGRADE, S_REGISTER, S_READY, S_DEAD };

typedef struct conn {
	int fd;
	uint8_t kind, state;
	bool busy;                  /* HTTP: a request is in flight */
	bool want_out;              /* EPOLLOUT is armed */
	bool counted;               /* receiver: settled (ready or failed) */
	bool queued;                /* HTTP post: on the free stack */
	int idx;                    /* receiver/client index; HTTP: request subject */
	uint32_t req_seq;           /* HTTP post: the seq it carries */
	uint64_t t_req;             /* HTTP: when the request was written */
	char *out;                  /* pending output */
	uint32_t olen, ooff, ocap;
	char *in;                   /* unconsumed input */
	uint32_t ilen, icap;
	char *frag;                 /* WS: fragmented message so far */
	uint32_t flen;
	char *path;                 /* WS: request path from the ticket, until upgraded */
	uint64_t last_ts;           /* receiver checks */
	int64_t last_seq[2];
} conn;

static int ep = -1;
static conn *rx;                 /* receivers / clients / idle sockets */
static conn *http;               /* post connections */
static int *http_free;           /* pairs: stack of idle post connections */
static int n_http_free;
static conn *tickets;            /* rtm.connect connections */
static conn ircsend;             /* IRC sender */
static char *rbuf;               /* READ_BUF */

/* Setup progress */
static int next_conn;            /* next receiver to start */
static int in_progress;          /* receivers started, not yet settled */
static int n_ready, n_failed;
static int n_lost;               /* receivers closed after being ready */
static uint64_t n_ticket_errors;

/* Run state */
static enum { PH_SETUP, PH_SENDER, PH_RUN, PH_DRAIN, PH_SETTLE, PH_HOLD, PH_DONE } phase;
static uint64_t t_begin, t_ready, t_run, t_send_end, t_first_send, t_last_recv, t_deadline;
static uint64_t t_phase_end;
static double cpu0_self, cpu0_server, cpu0_server_main, cpu0_all;
static uint64_t deliveries, seq_errors, post_errors, post_ok, other_frames;
static uint64_t sent_msgs, done_msgs;
static uint32_t *recv_count;     /* fanout: deliveries per seq */
static uint64_t *ts_of_seq;      /* fanout ws: the ts every receiver must agree on */
static bool *failed_seq;         /* fanout: posts that failed */
static uint64_t now_real;        /* CLOCK_REALTIME at the last read() */
static uint64_t now_mono;        /* CLOCK_MONOTONIC at the last read() */
static bool timed_out, interrupted, sender_relaxed, setup_failed;
static const char *setup_error;
static long rss_before = -1, rss_after = -1;
static int idle_connected_at_measure;

/* pairs */
typedef struct client {
	uint32_t seq;          /* seq of the message in flight / last sent */
	uint8_t remaining;     /* deliveries still expected for it */
	bool inflight;
	uint64_t sent;
} client;
static client *cl;
static int *ready_q;             /* ring of clients free to send */
static int rq_head, rq_len;
static uint64_t pairs_expected;

static volatile sig_atomic_t got_signal;
static void on_signal(int s)
{
	(void)s;
	got_signal = 1;
}

static void ep_set(conn *c, bool out)
{
	struct epoll_event ev = {.events = EPOLLIN | (out ? EPOLLOUT : 0), .data.ptr = c};
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		die("epoll_ctl: %s", strerror(errno));
	c->want_out = out;
}

static void conn_close(conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->state = S_DEAD;
	c->olen = c->ooff = c->ilen = c->flen = 0;
	c->busy = false;
	free(c->out);
	free(c->in);
	free(c->frag);
	free(c->path);
	c->out = c->in = c->frag = c->path = NULL;
	c->ocap = c->icap = 0;
}

static int src_index;
static bool conn_open(conn *c, const struct sockaddr_in *to, bool spread)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "canal-wsload: socket: %s\n", strerror(errno));
		return false;
	}
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (spread && opt.src_addrs > 0) {
		/* Many sockets to one server port: spread them over several
		 * loopback source addresses so the ephemeral port range is not
		 * exhausted; NO_PORT lets connect() pick per 4-tuple. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
		struct sockaddr_in src = {.sin_family = AF_INET};
		src.sin_addr.s_addr = htonl(0x7f000002u + (uint32_t)(src_index++ % opt.src_addrs));
		if (bind(fd, (struct sockaddr *)&src, sizeof src) < 0) {
			fprintf(stderr, "canal-wsload: bind: %s\n", strerror(errno));
			close(fd);
			return false;
		}
	}
	if (connect(fd, (const struct sockaddr *)to, sizeof *to) < 0 && errno != EINPROGRESS) {
		fprintf(stderr, "canal-wsload: connect %s: %s\n", opt.hostport, strerror(errno));
		close(fd);
		return false;
	}
	c->fd = fd;
	c->state = S_CONNECTING;
	c->want_out = true;
	struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT, .data.ptr = c};
	if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
		die("epoll_ctl add: %s", strerror(errno));
	return true;
}

/* The connection whose input is being handled: what it writes meanwhile
 * (Socket Mode acks, pongs) is queued and leaves in one write after the
 * whole read is handled (one syscall per read, not one per envelope:
 * a write per ack was most of this tool's CPU in the apps bench). */
static conn *corked;

/* Writes now what the socket takes, queues the rest. */
static void conn_write(conn *c, const char *d, size_t n)
{
	if (c->fd < 0)
		return;
	if (c->olen == c->ooff && c->state != S_CONNECTING && c != corked) {
		ssize_t w = write(c->fd, d, n);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return;   /* the read side notices the broken connection */
		if (w > 0) {
			d += w;
			n -= (size_t)w;
		}
		if (n == 0)
			return;
	}
	if (c->ooff > 0 && c->ooff == c->olen)
		c->ooff = c->olen = 0;
	if (c->olen + n > c->ocap) {
		c->ocap = (uint32_t)((c->olen + n) * 2);
		c->out = xrealloc(c->out, c->ocap);
	}
	memcpy(c->out + c->olen, d, n);
	c->olen += (uint32_t)n;
	if (!c->want_out && c != corked)
		ep_set(c, true);
}

static void conn_flush(conn *c)
{
	while (c->ooff < c->olen) {
		ssize_t w = write(c->fd, c->out + c->ooff, c->olen - c->ooff);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			return;   /* reported by the read side */
		}
		c->ooff += (uint32_t)w;
	}
	c->ooff = c->olen = 0;
	if (c->ocap > 65536) {
		free(c->out);
		c->out = NULL;
		c->ocap = 0;
	}
	ep_set(c, false);
}

/* ------------------------------------------------------------------ */
/* Small helpers for the message text and JSON scanning */

static const char *find(const char *h, size_t n, const char *needle, size_t nl)
{
	return memmem(h, n, needle, nl);
}

/* Value of a string field "key":"..." (first occurrence, optional spaces
 * after the colon); returns its start and sets *len, or NULL. */
static const char *json_str(const char *b, size_t n, const char *key, size_t *len)
{
	char pat[32];
	size_t kl = strlen(key);
	if (kl + 3 > sizeof pat)
		return NULL;
	pat[0] = '"';
	memcpy(pat + 1, key, kl);
	memcpy(pat + 1 + kl, "\":", 2);
	size_t pl = kl + 3;
	const char *p = find(b, n, pat, pl);
	if (!p)
		return NULL;
	const char *e = b + n;
	p += pl;
	while (p < e && *p == ' ')
		p++;
	if (p >= e || *p != '"')
		return NULL;
	p++;
	const char *q = memchr(p, '"', (size_t)(e - p));
	if (!q)
		return NULL;
	*len = (size_t)(q - p);
	return p;
}

static bool parse_u64(const char **pp, const char *e, uint64_t *v)
{
	const char *p = *pp;
	uint64_t x = 0;
	if (p >= e || *p < '0' || *p > '9')
		return false;
	while (p < e && *p >= '0' && *p <= '9')
		x = x * 10 + (uint64_t)(*p++ - '0');
	*pp = p;
	*v = x;
	return true;
}

/* End of the JSON string whose body starts at s (after the opening
 * quote): the closing quote, skipping escaped ones; NULL if unterminated. */
static const char *str_end(const char *s, const char *e)
{
	for (const char *q = s; q < e; q++) {
		while (q < e && *q != '"')   /* short strings: a loop beats memchr */
			q++;
		if (q >= e)
			return NULL;
		const char *b = q;
		while (b > s && b[-1] == '\\')
			b--;
		if (((q - b) & 1) == 0)
			return q;
	}
	return NULL;
}

/* The fields of a message event, found in one pass over the JSON:
 * string-valued keys only, first occurrence wins. The hot path of the
 * client (one call per delivery), so no allocation and no sscanf. */
typedef struct fields {
	const char *type, *ts, *text, *channel;
	size_t type_l, ts_l, text_l, channel_l;
	bool subtype;
} fields;

/* Is the key at q (its opening quote) exactly "name": ? */
#define IS_KEY(q, e, name)                                                                    \
	((size_t)((e) - (q)) > sizeof "\"" name "\":" - 1 &&                                   \
	 !memcmp((q), "\"" name "\":", sizeof "\"" name "\":" - 1))

/* One candidate key at q (a quote right after '{' or ','): the first char
 * decides, then one fixed-size compare (a byte loop over each key name
 * mispredicted its way to a quarter of this tool's CPU). */
static void scan_key(const char *q, const char *e, fields *f)
{
	const char **slot;
	size_t *len, kl;
	switch (q[1]) {
	case 't':
		if (IS_KEY(q, e, "type"))
			slot = &f->type, len = &f->type_l, kl = 4;
		else if (IS_KEY(q, e, "ts"))
			slot = &f->ts, len = &f->ts_l, kl = 2;
		else if (IS_KEY(q, e, "text"))
			slot = &f->text, len = &f->text_l, kl = 4;
		else
			return;
		break;
	case 'c':
		if (!IS_KEY(q, e, "channel"))
			return;
		slot = &f->channel, len = &f->channel_l, kl = 7;
		break;
	case 's':
		if (IS_KEY(q, e, "subtype"))
			f->subtype = true;
		return;
	default:
		return;
	}
	if (*slot)
		return;
	const char *v = q + kl + 3;
	while (v < e && *v == ' ')
		v++;
	if (v >= e || *v != '"')
		return;
	const char *vs = v + 1, *ve = str_end(vs, e);
	if (!ve)
		return;
	*slot = vs;
	*len = (size_t)(ve - vs);
}

/* Finds the first "type", "ts", "text" and "channel" keys with a string
 * value, and whether there is a "subtype" key. A key's opening quote is
 * the one right after '{' or ',' (Canal writes compact JSON; inside a
 * string a quote is escaped, so nothing in a value looks like that), so
 * the scan looks only at those: 16 bytes at a time with SSE2. Walking
 * every string byte by byte was half of this tool's CPU in fan-out (a
 * bot's message event is ~600 bytes: bot_profile, icons; channel comes
 * last), and so was glibc's memmem, tried instead. */
static void scan_fields(const char *m, size_t n, fields *f)
{
	const char *e = m + n;
	memset(f, 0, sizeof *f);
	size_t i = 1;
#ifdef __SSE2__
	const __m128i quote = _mm_set1_epi8('"'), comma = _mm_set1_epi8(','),
		      brace = _mm_set1_epi8('{');
	for (; i + 16 <= n; i += 16) {
		__m128i cur = _mm_loadu_si128((const __m128i *)(m + i));
		__m128i prev = _mm_loadu_si128((const __m128i *)(m + i - 1));
		__m128i hit = _mm_and_si128(_mm_cmpeq_epi8(cur, quote),
					    _mm_or_si128(_mm_cmpeq_epi8(prev, comma),
							 _mm_cmpeq_epi8(prev, brace)));
		unsigned bits = (unsigned)_mm_movemask_epi8(hit);
		while (bits) {
			scan_key(m + i + (size_t)__builtin_ctz(bits), e, f);
			bits &= bits - 1;
		}
		if (f->type && f->ts && f->text && f->channel)
			return;
	}
#endif
	for (; i < n; i++)
		if (m[i] == '"' && (m[i - 1] == ',' || m[i - 1] == '{'))
			scan_key(m + i, e, f);
}

/* "t<us>-<sender>-<seq>" at p (p points at the 't'). */
static bool parse_text(const char *p, const char *e, uint64_t *t_us, uint64_t *sender,
		       uint64_t *seq)
{
	if (p >= e || *p++ != 't')
		return false;
	if (!parse_u64(&p, e, t_us) || p >= e || *p++ != '-')
		return false;
	if (!parse_u64(&p, e, sender) || p >= e || *p++ != '-')
		return false;
	return parse_u64(&p, e, seq);
}

/* Slack ts "1700000000.000123" -> microseconds (any fraction length). */
static bool parse_ts(const char *p, size_t n, uint64_t *out)
{
	const char *e = p + n;
	uint64_t sec, frac = 0;
	if (!parse_u64(&p, e, &sec))
		return false;
	int digits = 0;
	if (p < e && *p == '.') {
		p++;
		while (p < e && *p >= '0' && *p <= '9') {
			if (digits < 6) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				digits++;
			}
			p++;
		}
	}
	while (digits++ < 6)
		frac *= 10;
	*out = sec * 1000000u + frac;
	return p == e;
}

/* ------------------------------------------------------------------ */
/* Delivery accounting */

static void seq_error(const char *what, int idx)
{
	if (++seq_errors <= 5)
		fprintf(stderr, "canal-wsload: receiver %d: %s\n", idx, what);
	if (seq_errors == 5)
		fprintf(stderr, "canal-wsload: further seq errors not shown\n");
}

/* A pairs post connection is idle and ready: offer it to the next sender.
 * A stack, not a scan: with one connection per client (2000) a scan per
 * loop turn would cost more than the posts it sends. */
static void http_idle(conn *c)
{
	if (!http_free || c->kind != K_POST || c->queued || c->busy || c->state != S_READY)
		return;
	c->queued = true;
	http_free[n_http_free++] = (int)(c - http);
}

static void pairs_client_ready(int k)
{
	ready_q[(rq_head + rq_len) % opt.clients] = k;
	rq_len++;
}

/* A bench message reached receiver c. ts: 0 for IRC. */
static void delivered(conn *c, uint64_t t_us, uint64_t sender, uint64_t seq, uint64_t ts)
{
	t_last_recv = now_mono;
	hist_record(&lat, now_real > t_us ? now_real - t_us : 0);
	deliveries++;

	if (opt.mode == M_FANOUT) {
		if (seq >= (uint64_t)opt.messages || sender != 0) {
			seq_error("message with an unknown seq", c->idx);
			return;
		}
		if (opt.proto == P_IRC) {
			if ((int64_t)seq != c->last_seq[0] + 1)
				seq_error("seq out of order or missing", c->idx);
			c->last_seq[0] = (int64_t)seq;
		} else {
			if (ts <= c->last_ts)
				seq_error("ts not strictly increasing (reordered or duplicate)", c->idx);
			c->last_ts = ts;
			if (ts_of_seq[seq] == 0)
				ts_of_seq[seq] = ts;
			else if (ts_of_seq[seq] != ts)
				seq_error("receivers disagree on a message's ts", c->idx);
		}
		if (++recv_count[seq] == (uint32_t)opt.clients)
			done_msgs++;
		else if (recv_count[seq] > (uint32_t)opt.clients)
			seq_error("more deliveries than receivers (duplicate)", c->idx);
		return;
	}
	/* pairs: the sender must be this receiver or its partner */
	if (sender >= (uint64_t)opt.clients || (int)(sender / 2) != c->idx / 2) {
		seq_error("message from outside the receiver's channel", c->idx);
		return;
	}
	int slot = (int)(sender & 1);
	if ((int64_t)seq != c->last_seq[slot] + 1)
		seq_error("a member's seq out of order or missing", c->idx);
	c->last_seq[slot] = (int64_t)seq;
	if (ts <= c->last_ts)
		seq_error("ts not strictly increasing", c->idx);
	c->last_ts = ts;
	client *s = &cl[sender];
	if (s->inflight && s->seq == seq && s->remaining > 0 && --s->remaining == 0) {
		s->inflight = false;
		done_msgs++;
		if (phase == PH_RUN)
			pairs_client_ready((int)sender);
	}
}

/* ------------------------------------------------------------------ */
/* Receivers: WebSocket */

static void receiver_settled(conn *c, bool ok)
{
	if (c->counted)
		return;
	c->counted = true;
	in_progress--;
	if (ok)
		n_ready++;
	else
		n_failed++;
}

static void receiver_failed(conn *c, const char *why)
{
	if (!c->counted) {
		if (n_failed < 5)
			fprintf(stderr, "canal-wsload: receiver %d: %s\n", c->idx, why);
		receiver_settled(c, false);
	} else if (c->state == S_READY && phase != PH_DONE) {
		if (++n_lost <= 5)
			fprintf(stderr, "canal-wsload: receiver %d lost: %s\n", c->idx, why);
	}
	conn_close(c);
}

static uint32_t rng_state = 0x9e3779b9u;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/* A masked client frame (pong or close). */
static void ws_send(conn *c, int opcode, const char *p, size_t n)
{
	unsigned char f[14 + 125];
	if (n > 125)
		n = 125;
	uint32_t key = rng();
	unsigned char *m = (unsigned char *)&key;
	f[0] = (unsigned char)(0x80 | opcode);
	f[1] = (unsigned char)(0x80 | n);
	memcpy(f + 2, m, 4);
	for (size_t i = 0; i < n; i++)
		f[6 + i] = (unsigned char)p[i] ^ m[i & 3];
	conn_write(c, (char *)f, 6 + n);
}

/* Socket Mode: every envelope is acked at once (as Bolt acks events
 * before running listeners); the message event is the payload's "event". */
static bool socket_envelope(conn *c, const char **m, size_t *n)
{
	size_t il;
	const char *id = json_str(*m, *n, "envelope_id", &il);
	if (!id || il > 64)
		return false;
	char ack[96];
	int al = snprintf(ack, sizeof ack, "{\"envelope_id\":\"%.*s\"}", (int)il, id);
	ws_send(c, 1, ack, (size_t)al);
	const char *ev = find(*m, *n, "\"event\":{", 9);
	if (!ev)
		return false;
	*n -= (size_t)(ev + 8 - *m);
	*m = ev + 8;
	return true;
}

static void ws_message(conn *c, const char *m, size_t n)
{
	if (c->state == S_REGISTER) {
		if (find(m, n, "\"hello\"", 7)) {
			c->state = S_READY;
			receiver_settled(c, true);
		} else {
			other_frames++;
		}
		return;
	}
	if (opt.socket_mode && !socket_envelope(c, &m, &n)) {
		other_frames++;
		return;
	}
	fields f;
	scan_fields(m, n, &f);
	uint64_t t_us, sender, seq, ts = 0;
	if (!f.type || f.type_l != 7 || memcmp(f.type, "message", 7) != 0 || f.subtype || !f.text ||
	    !parse_text(f.text, f.text + f.text_l, &t_us, &sender, &seq)) {
		other_frames++;
		return;
	}
	const char *want = opt.mode == M_FANOUT ? opt.channel : opt.channels[c->idx / 2];
	if (!f.channel || f.channel_l != strlen(want) || memcmp(f.channel, want, f.channel_l) != 0) {
		seq_error("message from another channel", c->idx);
		return;
	}
	if (!f.ts || !parse_ts(f.ts, f.ts_l, &ts)) {
		seq_error("message without a valid ts", c->idx);
		return;
	}
	delivered(c, t_us, sender, seq, ts);
}

/* Parses frames from b; returns bytes consumed, or -1 to drop. */
static ssize_t ws_frames(conn *c, const char *b, size_t n)
{
	size_t off = 0;
	while (n - off >= 2) {
		const unsigned char *h = (const unsigned char *)b + off;
		int fin = h[0] & 0x80, op = h[0] & 0x0f;
		bool masked = h[1] & 0x80;
		uint64_t len = h[1] & 0x7f;
		size_t hl = 2;
		if (len == 126) {
			if (n - off < 4)
				break;
			len = ((uint64_t)h[2] << 8) | h[3];
			hl = 4;
		} else if (len == 127) {
			if (n - off < 10)
				break;
			len = 0;
			for (int i = 0; i < 8; i++)
				len = (len << 8) | h[2 + i];
			hl = 10;
		}
		if (masked)
			hl += 4;
		if (len > MAX_PENDING_INPUT - 16) {
			receiver_failed(c, "frame too large");
			return -1;
		}
		if (n - off < hl + len)
			break;
		char *p = (char *)b + off + hl;
		if (masked) {   /* servers must not mask; tolerate it */
			const unsigned char *k = h + hl - 4;
			for (uint64_t i = 0; i < len; i++)
				p[i] ^= (char)k[i & 3];
		}
		off += hl + (size_t)len;
		switch (op) {
		case 0x1:
		case 0x2:
		case 0x0:
			if (op != 0 && c->flen) {
				receiver_failed(c, "new message inside a fragmented one");
				return -1;
			}
			if (fin && c->flen == 0) {
				if (op == 0x1)
					ws_message(c, p, (size_t)len);
				else
					other_frames++;
			} else {
				c->frag = xrealloc(c->frag, c->flen + len);
				memcpy(c->frag + c->flen, p, len);
				c->flen += (uint32_t)len;
				if (fin) {
					ws_message(c, c->frag, c->flen);
					free(c->frag);
					c->frag = NULL;
					c->flen = 0;
				}
			}
			break;
		case 0x8: {
			char why[96];
			int code = len >= 2 ? ((unsigned char)p[0] << 8 | (unsigned char)p[1]) : 1005;
			snprintf(why, sizeof why, "server closed the WebSocket (code %d%s%.*s)", code,
				 len > 2 ? ": " : "", len > 2 ? (int)(len - 2 > 60 ? 60 : len - 2) : 0,
				 len > 2 ? p + 2 : "");
			ws_send(c, 0x8, p, len >= 2 ? 2 : 0);
			receiver_failed(c, why);
			return -1;
		}
		case 0x9:
			ws_send(c, 0xA, p, (size_t)len);
			break;
		case 0xA:
			break;
		default:
			receiver_failed(c, "unknown opcode");
			return -1;
		}
	}
	return (ssize_t)off;
}

static void ws_start(conn *c)
{
	static const char fmt[] =
		"GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
		"Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n";
	/* The key only has to be 16 bytes in base64; the accept is not
	 * checked (the 101 is). */
	char req[4096];
	int n = snprintf(req, sizeof req, fmt, c->path, opt.hostport, "dGhlIHNhbXBsZSBub25jZQ==");
	free(c->path);
	c->path = NULL;
	c->state = S_UPGRADE;
	conn_write(c, req, (size_t)n);
}

static ssize_t ws_input(conn *c, const char *b, size_t n)
{
	size_t off = 0;
	if (c->state == S_UPGRADE) {
		const char *e = find(b, n, "\r\n\r\n", 4);
		if (!e)
			return n > 16384 ? -1 : 0;
		if (n < 12 || strncmp(b, "HTTP/1.1 101", 12) != 0) {
			char why[160];
			const char *eol = memchr(b, '\r', n);
			snprintf(why, sizeof why, "upgrade refused: %.*s", (int)(eol ? eol - b : 40),
				 b);
			receiver_failed(c, why);
			return -1;
		}
		off = (size_t)(e - b) + 4;
		c->state = S_REGISTER;
	}
	ssize_t r = ws_frames(c, b + off, n - off);
	return r < 0 ? -1 : (ssize_t)off + r;
}

/* ------------------------------------------------------------------ */
/* Receivers and sender: IRC */

static const char *irc_chan(void)
{
	return opt.channel ? opt.channel : "#bench";
}

static void irc_start(conn *c)
{
	char buf[256];
	int n;
	if (c->kind == K_IRCSEND)
		n = snprintf(buf, sizeof buf, "NICK sender\r\nUSER sender 0 * :sender\r\n");
	else
		n = snprintf(buf, sizeof buf, "NICK r%d\r\nUSER r%d 0 * :r\r\n", c->idx, c->idx);
	c->state = S_REGISTER;
	conn_write(c, buf, (size_t)n);
}

/* Numerics that mean registration or JOIN failed. */
static bool irc_fatal(const char *cmd)
{
	static const char *const codes[] = {"431", "432", "433", "436", "437", "451", "461",
					    "462", "465", "471", "473", "474", "475", "477"};
	for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
		if (!memcmp(cmd, codes[i], 3))
			return true;
	return false;
}

static void irc_line(conn *c, char *l, size_t n)
{
	char buf[600];
	if (n >= 4 && !memcmp(l, "PING", 4)) {
		int k = snprintf(buf, sizeof buf, "PONG%.*s\r\n", (int)(n - 4), l + 4);
		conn_write(c, buf, (size_t)k);
		return;
	}
	if (n >= 5 && !memcmp(l, "ERROR", 5)) {
		snprintf(buf, sizeof buf, "server: %.*s", (int)(n > 200 ? 200 : n), l);
		if (c->kind == K_IRCSEND) {
			setup_error = "the IRC sender was disconnected";
			fprintf(stderr, "canal-wsload: sender: %s\n", buf);
			conn_close(c);
		} else {
			receiver_failed(c, buf);
		}
		return;
	}
	/* ":prefix CMD args" */
	const char *e = l + n;
	const char *sp = memchr(l, ' ', n);
	if (!sp)
		return;
	const char *cmd = sp + 1;
	if (c->state == S_READY && c->kind == K_IRC) {
		const char *pm = find(l, n, " PRIVMSG ", 9);
		if (pm) {
			const char *t = find(pm, (size_t)(e - pm), " :t", 3);
			uint64_t t_us, sender, seq;
			if (t && parse_text(t + 2, e, &t_us, &sender, &seq))
				delivered(c, t_us, sender, seq, 0);
			else
				other_frames++;
			return;
		}
		other_frames++;
		return;
	}
	if (e - cmd < 3)
		return;
	if (!memcmp(cmd, "001", 3)) {
		if (opt.mode == M_IDLE) {
			/* idle: registration is the session; no JOIN, which would
			 * make every connect and disconnect an O(n) broadcast */
		} else if (c->kind == K_IRCSEND && opt.oper) {
			const char *colon = strchr(opt.oper, ':');
			int k = snprintf(buf, sizeof buf, "OPER %.*s %s\r\n",
					 (int)(colon ? colon - opt.oper : 0), opt.oper,
					 colon ? colon + 1 : "");
			conn_write(c, buf, (size_t)k);
		} else {
			int k = snprintf(buf, sizeof buf, "JOIN %s\r\n", irc_chan());
			conn_write(c, buf, (size_t)k);
		}
	} else if (!memcmp(cmd, "381", 3) && c->kind == K_IRCSEND) {
		/* An IRC operator may set user mode F ("relaxed flood
		 * protection"): ngIRCd then processes 10 instead of 3 lines per
		 * loop turn from this client and never throttles it. */
		sender_relaxed = true;
		int k = snprintf(buf, sizeof buf, "MODE sender +F\r\nJOIN %s\r\n", irc_chan());
		conn_write(c, buf, (size_t)k);
	} else if ((!memcmp(cmd, "491", 3) || !memcmp(cmd, "464", 3)) && c->kind == K_IRCSEND) {
		fprintf(stderr, "canal-wsload: OPER refused (%.*s); sender stays flood-limited\n",
			(int)(e - cmd > 120 ? 120 : e - cmd), cmd);
		int k = snprintf(buf, sizeof buf, "JOIN %s\r\n", irc_chan());
		conn_write(c, buf, (size_t)k);
	} else if (opt.mode == M_IDLE && (!memcmp(cmd, "376", 3) || !memcmp(cmd, "422", 3))) {
		c->state = S_READY;   /* end of MOTD (or none): registered */
		receiver_settled(c, true);
	} else if (!memcmp(cmd, "366", 3)) {   /* end of NAMES: joined */
		c->state = S_READY;
		if (c->kind == K_IRC)
			receiver_settled(c, true);
	} else if (c->state != S_READY && irc_fatal(cmd)) {
		/* registration or JOIN refused (433 nick in use, 471 full...) */
		snprintf(buf, sizeof buf, "IRC error: %.*s", (int)(e - cmd > 120 ? 120 : e - cmd), cmd);
		if (c->kind == K_IRCSEND) {
			setup_error = "the IRC sender could not register or join";
			fprintf(stderr, "canal-wsload: sender: %s\n", buf);
		} else {
			receiver_failed(c, buf);
		}
	}
}

static ssize_t irc_input(conn *c, char *b, size_t n)
{
	size_t off = 0;
	for (;;) {
		char *nl = memchr(b + off, '\n', n - off);
		if (!nl)
			break;
		size_t len = (size_t)(nl - (b + off));
		if (len && b[off + len - 1] == '\r')
			len--;
		irc_line(c, b + off, len);
		if (c->fd < 0)
			return -1;
		off = (size_t)(nl - b) + 1;
	}
	return (ssize_t)off;
}

/* ------------------------------------------------------------------ */
/* HTTP client (rtm.connect tickets and chat.postMessage) */

static void http_request(conn *c, const char *path, const char *token, const char *body,
			 size_t blen)
{
	char req[8192];
	int n = snprintf(req, sizeof req,
			 "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
			 "Content-Type: application/x-www-form-urlencoded\r\n"
			 "Content-Length: %zu\r\n\r\n",
			 path, opt.hostport, token, blen);
	if (n < 0 || (size_t)n + blen > sizeof req)
		die("request too large");
	memcpy(req + n, body, blen);
	c->busy = true;
	c->t_req = mono_us();
	conn_write(c, req, (size_t)n + blen);
}

/* One complete response? Returns bytes consumed (0: incomplete, -1 bad). */
static ssize_t http_response(const char *b, size_t n, int *status, const char **body,
			     size_t *blen)
{
	const char *he = find(b, n, "\r\n\r\n", 4);
	if (!he)
		return n > 65536 ? -1 : 0;
	if (n < 12 || strncmp(b, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(b + 9);
	size_t hl = (size_t)(he - b) + 4;
	const char *cl_h = NULL;
	for (const char *p = b; p && p < he; p = memchr(p, '\n', (size_t)(he - p))) {
		if (*p == '\n')
			p++;
		if (!strncasecmp(p, "content-length:", 15)) {
			cl_h = p + 15;
			break;
		}
	}
	if (!cl_h)
		return -1;   /* Canal always sends Content-Length */
	size_t clen = (size_t)strtoull(cl_h, NULL, 10);
	if (n < hl + clen)
		return 0;
	*body = b + hl;
	*blen = clen;
	return (ssize_t)(hl + clen);
}

static bool body_ok(const char *b, size_t n)
{
	return find(b, n, "\"ok\":true", 9) || find(b, n, "\"ok\": true", 10);
}

static void http_reopen(conn *c)
{
	int kind = c->kind;
	conn_close(c);
	c->kind = (uint8_t)kind;
	if (phase != PH_DONE && !conn_open(c, &opt.addr, false))
		die("cannot reconnect to %s", opt.hostport);
}

static void start_receiver_ws(int i, const char *url, size_t ulen);

static void ticket_done(conn *c, int status, const char *b, size_t n)
{
	int i = c->idx;
	size_t l;
	const char *u = json_str(b, n, "url", &l);
	if (status != 200 || !body_ok(b, n) || !u) {
		if (++n_ticket_errors <= 3)
			fprintf(stderr, "canal-wsload: rtm.connect for client %d: HTTP %d %.*s\n", i,
				status, (int)(n > 200 ? 200 : n), b);
		receiver_settled(&rx[i], false);
		return;
	}
	start_receiver_ws(i, u, l);
}

static void post_done(conn *c, int status, const char *b, size_t n)
{
	bool ok = status == 200 && body_ok(b, n);
	if (ok) {
		post_ok++;
		hist_record(&post_lat, mono_us() - c->t_req);
		return;
	}
	if (++post_errors <= 3)
		fprintf(stderr, "canal-wsload: chat.postMessage: HTTP %d %.*s\n", status,
			(int)(n > 200 ? 200 : n), b);
	/* This message will never arrive: stop waiting for it. */
	if (opt.mode == M_FANOUT) {
		failed_seq[c->req_seq] = true;
		done_msgs++;
	} else {
		client *s = &cl[c->idx];
		if (s->inflight && s->seq == c->req_seq) {
			s->inflight = false;
			done_msgs++;
			if (phase == PH_RUN)
				pairs_client_ready(c->idx);
		}
	}
}

/* The connection broke: its request (if any) failed; open a new one. */
static void http_fail(conn *c, const char *why)
{
	if (c->busy) {
		c->busy = false;
		if (c->kind == K_TICKET)
			ticket_done(c, 0, why, strlen(why));
		else
			post_done(c, 0, why, strlen(why));
	}
	http_reopen(c);
}

static ssize_t http_input(conn *c, const char *b, size_t n)
{
	size_t off = 0;
	for (;;) {
		int status;
		const char *body;
		size_t blen;
		ssize_t r = http_response(b + off, n - off, &status, &body, &blen);
		if (r < 0) {
			fprintf(stderr, "canal-wsload: malformed HTTP response\n");
			return -1;
		}
		if (r == 0)
			break;
		off += (size_t)r;
		if (!c->busy)
			continue;
		c->busy = false;
		if (c->kind == K_TICKET) {
			ticket_done(c, status, body, blen);
		} else {
			post_done(c, status, body, blen);
			http_idle(c);
		}
	}
	return (ssize_t)off;
}

/* ------------------------------------------------------------------ */
/* Setup pumps */

static void start_receiver_ws(int i, const char *url, size_t ulen)
{
	conn *c = &rx[i];
	/* ws://HOST:PORT/PATH -> PATH; the host must be the server we test */
	char tmp[1024];
	if (ulen >= sizeof tmp) {
		receiver_settled(c, false);
		return;
	}
	size_t k = 0;
	for (size_t j = 0; j < ulen; j++) {   /* undo JSON's optional \/ */
		if (url[j] == '\\' && j + 1 < ulen && url[j + 1] == '/')
			continue;
		tmp[k++] = url[j];
	}
	tmp[k] = 0;
	if (strncmp(tmp, "ws://", 5) != 0) {
		receiver_failed(c, "rtm.connect url is not ws://");
		return;
	}
	char *slash = strchr(tmp + 5, '/');
	if (!slash) {
		receiver_failed(c, "rtm.connect url has no path");
		return;
	}
	*slash = 0;
	struct sockaddr_in saved = opt.addr;
	char savedhp[sizeof opt.hostport];
	memcpy(savedhp, opt.hostport, sizeof savedhp);
	parse_hostport(tmp + 5, "rtm.connect url");   /* enforces loopback */
	struct sockaddr_in to = opt.addr;
	opt.addr = saved;
	memcpy(opt.hostport, savedhp, sizeof savedhp);
	*slash = '/';
	c->kind = K_WS;
	c->path = strdup(slash);
	if (!conn_open(c, &to, true)) {
		receiver_settled(c, false);
		c->state = S_DEAD;
	}
}

static void pump_setup(void)
{
	int limit = opt.max_pending;
	if (opt.proto == P_IRC) {
		while (next_conn < opt.clients && in_progress < limit) {
			conn *c = &rx[next_conn];
			c->idx = next_conn++;
			c->kind = K_IRC;
			in_progress++;
			if (!conn_open(c, &opt.addr, true))
				receiver_settled(c, false);
		}
		return;
	}
	for (int h = 0; h < opt.ticket_conns && next_conn < opt.clients && in_progress < limit;
	     h++) {
		conn *t = &tickets[h];
		if (t->busy || t->state != S_READY)
			continue;
		int i = next_conn++;
		in_progress++;
		rx[i].idx = i;
		t->idx = i;
		http_request(t, opt.socket_mode ? "/api/apps.connections.open" : "/api/rtm.connect",
			     opt.tokens[(size_t)i % opt.ntokens], "", 0);
	}
}

/* ------------------------------------------------------------------ */
/* Senders */

static char *pad_str;

static void pump_fanout(void)
{
	char body[1024], text[512];
	if (opt.proto == P_IRC) {
		if (ircsend.state != S_READY)
			return;
		char lines[65536];
		size_t len = 0;
		while (sent_msgs < (uint64_t)opt.messages &&
		       sent_msgs - done_msgs < (uint64_t)opt.window && len < sizeof lines - 600) {
			if (!t_first_send)
				t_first_send = mono_us();
			len += (size_t)snprintf(lines + len, sizeof lines - len,
						"PRIVMSG %s :t%llu-0-%llu%s\r\n", irc_chan(),
						(unsigned long long)real_us(),
						(unsigned long long)sent_msgs, pad_str);
			sent_msgs++;
		}
		if (len)
			conn_write(&ircsend, lines, len);
		return;
	}
	for (int h = 0; h < opt.http_conns; h++) {
		conn *c = &http[h];
		if (sent_msgs >= (uint64_t)opt.messages || sent_msgs - done_msgs >= (uint64_t)opt.window)
			return;
		if (c->busy || c->state != S_READY)
			continue;
		if (!t_first_send)
			t_first_send = mono_us();
		/* --rate: the schedule says how many may have left by now */
		if (opt.rate > 0 &&
		    (double)sent_msgs >= (double)(mono_us() - t_first_send) * opt.rate / 1e6 + 1)
			return;
		snprintf(text, sizeof text, "t%llu-0-%llu%s", (unsigned long long)real_us(),
			 (unsigned long long)sent_msgs, pad_str);
		int n = snprintf(body, sizeof body, "channel=%s&text=%s", opt.channel, text);
		c->req_seq = (uint32_t)sent_msgs++;
		http_request(c, "/api/chat.postMessage", opt.sender_token, body, (size_t)n);
	}
}

static void pump_pairs(void)
{
	char body[1024], text[512];
	while (rq_len > 0 && n_http_free > 0) {
		conn *c = &http[http_free[--n_http_free]];
		c->queued = false;
		if (c->busy || c->state != S_READY || c->fd < 0)
			continue;   /* broke since; http_idle offers it again once reconnected */
		int k = ready_q[rq_head];
		rq_head = (rq_head + 1) % opt.clients;
		rq_len--;
		client *s = &cl[k];
		s->seq = (uint32_t)s->sent++;
		s->inflight = true;
		s->remaining = (uint8_t)opt.recipients;
		pairs_expected += (uint64_t)opt.recipients;
		sent_msgs++;
		if (!t_first_send)
			t_first_send = mono_us();
		snprintf(text, sizeof text, "t%llu-%d-%u%s", (unsigned long long)real_us(), k, s->seq,
			 pad_str);
		int n = snprintf(body, sizeof body, "channel=%s&text=%s", opt.channels[k / 2], text);
		c->req_seq = s->seq;
		c->idx = k;
		http_request(c, "/api/chat.postMessage", opt.tokens[(size_t)k % opt.ntokens], body,
			     (size_t)n);
	}
}

/* ------------------------------------------------------------------ */
/* Event handling */

static void on_connected(conn *c)
{
	int err = 0;
	socklen_t l = sizeof err;
	getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
	if (err) {
		char why[128];
		snprintf(why, sizeof why, "connect: %s", strerror(err));
		if (c->kind == K_WS || c->kind == K_IRC)
			receiver_failed(c, why);
		else
			die("%s %s", opt.hostport, why);
		return;
	}
	switch (c->kind) {
	case K_WS:
		ws_start(c);
		break;
	case K_IRC:
	case K_IRCSEND:
		irc_start(c);
		break;
	default:
		c->state = S_READY;
		http_idle(c);
		break;
	}
	if (c->olen == c->ooff)
		ep_set(c, false);
}

/* Writes what c queued while corked; arms EPOLLOUT for any rest. */
static void conn_uncork(conn *c)
{
	if (c->state != S_CONNECTING) {
		while (c->ooff < c->olen) {
			ssize_t w = write(c->fd, c->out + c->ooff, c->olen - c->ooff);
			if (w <= 0)
				break;   /* EAGAIN: EPOLLOUT below; errors: the read side */
			c->ooff += (uint32_t)w;
		}
		if (c->ooff == c->olen) {
			c->ooff = c->olen = 0;
			return;
		}
	}
	if (!c->want_out)
		ep_set(c, true);
}

static void on_readable(conn *c)
{
	size_t have = c->ilen;
	if (have)
		memcpy(rbuf, c->in, have);
	ssize_t r = read(c->fd, rbuf + have, READ_BUF - have);
	if (r < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (r <= 0) {
		const char *why = r == 0 ? "connection closed by the server" : strerror(errno);
		if (c->kind == K_WS || c->kind == K_IRC) {
			receiver_failed(c, why);
		} else if (c->kind == K_IRCSEND) {
			fprintf(stderr, "canal-wsload: IRC sender: %s\n", why);
			setup_error = "the IRC sender was disconnected";
			conn_close(c);
		} else {
			http_fail(c, "connection closed");
		}
		return;
	}
	now_real = real_us();
	now_mono = mono_us();
	size_t n = have + (size_t)r;
	ssize_t used;
	switch (c->kind) {
	case K_WS:
		corked = c;
		used = ws_input(c, rbuf, n);
		corked = NULL;
		if (c->fd >= 0 && c->olen > c->ooff)
			conn_uncork(c);
		break;
	case K_IRC:
	case K_IRCSEND:
		used = irc_input(c, rbuf, n);
		break;
	default:
		used = http_input(c, rbuf, n);
		if (used < 0) {
			http_fail(c, "malformed response");
			return;
		}
		break;
	}
	if (used < 0 || c->fd < 0) {
		if (c->fd >= 0)
			receiver_failed(c, "protocol error");
		return;
	}
	size_t left = n - (size_t)used;
	if (left > MAX_PENDING_INPUT) {
		receiver_failed(c, "input does not parse");
		return;
	}
	if (left > c->icap) {
		c->icap = (uint32_t)(left < 4096 ? 4096 : left);
		c->in = xrealloc(c->in, c->icap);
	}
	if (left)
		memcpy(c->in, rbuf + used, left);
	c->ilen = (uint32_t)left;
	if (!left && c->icap > 65536) {
		free(c->in);
		c->in = NULL;
		c->icap = 0;
	}
}

static void on_event(conn *c, uint32_t ev)
{
	if (c->fd < 0)
		return;
	if (c->state == S_CONNECTING) {
		if (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))
			on_connected(c);
		return;
	}
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
		on_readable(c);
	if (c->fd >= 0 && (ev & EPOLLOUT))
		conn_flush(c);
}

/* ------------------------------------------------------------------ */
/* Report */

static double secs(uint64_t a, uint64_t b)
{
	return b > a ? (double)(b - a) / 1e6 : 0.0;
}

static void report(void)
{
	double cpu_self = cpu_self_s() - cpu0_self;
	double srv = cpu_of_pid(opt.server_pid);
	const char *proto = opt.proto == P_IRC ? "irc" : "ws";
	double run_wall = secs(t_run, mono_us());   /* the span the CPU figures cover */
	char cpu[160];
	double srv_cpu_s = -1;
	snprintf(cpu, sizeof cpu, "client_cpu=%.2f server_cpu=%s", run_wall > 0 ? cpu_self / run_wall : 0,
		 "n/a");
	double all = cpu_busy_all_s();
	if (srv >= 0 && cpu0_server >= 0 && run_wall > 0) {
		/* other_cpu: cores busy with anything but these two processes
		 * (other work on the machine, plus a little kernel softirq
		 * time charged to no process). Well above 0.1 means the
		 * figures were taken on a busy machine. */
		double srv_s = srv - cpu0_server;
		srv_cpu_s = srv_s;
		double other = all >= 0 && cpu0_all >= 0 ? (all - cpu0_all - srv_s - cpu_self) / run_wall : -1;
		snprintf(cpu, sizeof cpu, "client_cpu=%.2f server_cpu=%.2f other_cpu=%.2f",
			 cpu_self / run_wall, srv_s / run_wall, other < 0 ? 0.0 : other);
	}

	if (opt.mode == M_IDLE) {
		long delta = rss_after >= 0 && rss_before >= 0 ? rss_after - rss_before : -1;
		int nconn = idle_connected_at_measure;
		printf("proto=%s mode=idle sockets=%d requested=%d failed=%d connect_s=%.2f "
		       "rss_before_kb=%ld rss_after_kb=%ld bytes_per_socket=%.0f%s\n",
		       proto, nconn, opt.clients, n_failed, secs(t_begin, t_ready), rss_before,
		       rss_after, delta >= 0 && nconn > 0 ? (double)delta * 1024.0 / nconn : -1.0,
		       timed_out ? " timed_out=1" : "");
		fflush(stdout);
		return;
	}
	uint64_t expected;
	if (opt.mode == M_FANOUT) {
		uint64_t ok_msgs = 0;
		for (long s = 0; s < opt.messages && (uint64_t)s < sent_msgs; s++)
			if (!failed_seq[s])
				ok_msgs++;
		expected = ok_msgs * (uint64_t)opt.clients;
	} else {
		expected = pairs_expected;
		/* posts that failed will never be delivered */
		expected -= post_errors * (uint64_t)opt.recipients;
	}
	uint64_t missing = expected > deliveries ? expected - deliveries : 0;
	double dur = secs(t_first_send, t_last_recv);
	double rate = dur > 0 ? (double)deliveries / dur : 0;
	if (opt.mode == M_FANOUT)
		printf("proto=%s mode=fanout receivers=%d messages=%llu window=%d ", proto, opt.clients,
		       (unsigned long long)sent_msgs, opt.window);
	else
		printf("proto=%s mode=pairs clients=%d channels=%d messages=%llu recipients=%d ",
		       proto, opt.clients, opt.clients / 2, (unsigned long long)sent_msgs,
		       opt.recipients);
	printf("deliveries=%llu expected=%llu missing=%llu seq_errors=%llu post_errors=%llu "
	       "lost_receivers=%d duration=%.3f deliveries_per_s=%.0f msgs_per_s=%.0f "
	       "p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f setup_s=%.2f %s",
	       (unsigned long long)deliveries, (unsigned long long)expected,
	       (unsigned long long)missing, (unsigned long long)seq_errors,
	       (unsigned long long)post_errors, n_lost, dur, rate,
	       dur > 0 ? (double)sent_msgs / dur : 0, (double)hist_percentile(&lat, 50) / 1e3,
	       (double)hist_percentile(&lat, 90) / 1e3, (double)hist_percentile(&lat, 99) / 1e3,
	       (double)lat.max / 1e3, secs(t_begin, t_ready), cpu);
	/* Server CPU per delivery: the figure to compare changes by on a
	 * shared machine, where wall-clock throughput depends on neighbours. */
	if (srv_cpu_s >= 0)
		printf(" server_cpu_s=%.3f server_ns_per_delivery=%.0f", srv_cpu_s,
		       deliveries ? srv_cpu_s * 1e9 / (double)deliveries : 0.0);
	/* The main thread alone: the one that cannot spread over CPUs. */
	double srv_main = cpu_of(opt.server_pid, true);
	if (srv_main >= 0 && cpu0_server_main >= 0 && run_wall > 0)
		printf(" server_main_cpu=%.2f server_main_ns_per_delivery=%.0f",
		       (srv_main - cpu0_server_main) / run_wall,
		       deliveries ? (srv_main - cpu0_server_main) * 1e9 / (double)deliveries : 0.0);
	/* The same for this tool: it shares the machine with the server, so
	 * its cost per delivery bounds what a run can show. */
	printf(" client_cpu_s=%.3f client_ns_per_delivery=%.0f", cpu_self,
	       deliveries ? cpu_self * 1e9 / (double)deliveries : 0.0);
	if (opt.proto == P_WS)
		printf(" post_p50_ms=%.3f post_p99_ms=%.3f", (double)hist_percentile(&post_lat, 50) / 1e3,
		       (double)hist_percentile(&post_lat, 99) / 1e3);
	if (opt.proto == P_IRC)
		printf(" sender_relaxed=%d", sender_relaxed ? 1 : 0);
	if (timed_out)
		printf(" timed_out=1");
	if (interrupted)
		printf(" interrupted=1");
	printf("\n");
	fflush(stdout);
}

/* ------------------------------------------------------------------ */
/* Phases */

static void begin_run(void)
{
	phase = PH_RUN;
	t_run = mono_us();
	cpu0_self = cpu_self_s();
	cpu0_server = cpu_of_pid(opt.server_pid);
	cpu0_server_main = cpu_of(opt.server_pid, true);
	cpu0_all = cpu_busy_all_s();
	if (opt.mode == M_PAIRS) {
		t_send_end = t_run + (uint64_t)(opt.duration * 1e6);
		for (int k = 0; k < opt.clients; k++)
			pairs_client_ready(k);
	}
}

static void setup_complete(void)
{
	t_ready = mono_us();
	if (n_failed > 0 && opt.mode != M_IDLE) {
		fprintf(stderr, "canal-wsload: %d of %d receivers could not connect\n", n_failed,
			opt.clients);
		setup_failed = true;
		phase = PH_DONE;
		return;
	}
	if (opt.mode == M_IDLE) {
		phase = PH_SETTLE;
		t_phase_end = t_ready + (uint64_t)(opt.settle * 1e6);
		return;
	}
	if (opt.proto == P_IRC) {
		phase = PH_SENDER;
		ircsend.kind = K_IRCSEND;
		ircsend.idx = -1;
		if (!conn_open(&ircsend, &opt.addr, false))
			die("cannot connect the IRC sender");
		return;
	}
	begin_run();
}

static void tick(void)
{
	uint64_t now = mono_us();
	if (got_signal && phase != PH_DONE) {
		interrupted = true;
		phase = PH_DONE;
		return;
	}
	if (now >= t_deadline && phase != PH_DONE) {
		fprintf(stderr, "canal-wsload: timed out after %.0f s (phase %d)\n", opt.timeout,
			(int)phase);
		timed_out = true;
		phase = PH_DONE;
		return;
	}
	if (setup_error && phase != PH_DONE) {
		fprintf(stderr, "canal-wsload: %s\n", setup_error);
		setup_failed = true;
		phase = PH_DONE;
		return;
	}
	switch (phase) {
	case PH_SETUP:
		pump_setup();
		if (next_conn == opt.clients && in_progress == 0)
			setup_complete();
		break;
	case PH_SENDER:
		if (ircsend.state == S_READY)
			begin_run();
		break;
	case PH_RUN:
		if (opt.mode == M_FANOUT) {
			pump_fanout();
			if (done_msgs >= (uint64_t)opt.messages)
				phase = PH_DONE;
		} else {
			if (now >= t_send_end) {
				phase = PH_DRAIN;
				t_phase_end = now + (uint64_t)(DRAIN_GRACE_S * 1e6);
			} else {
				pump_pairs();
			}
		}
		break;
	case PH_DRAIN:
		if (done_msgs >= sent_msgs || now >= t_phase_end)
			phase = PH_DONE;
		break;
	case PH_SETTLE:
		if (now >= t_phase_end) {
			idle_connected_at_measure = n_ready - n_lost;
			rss_after = opt.server_pid ? rss_kb_of_pid(opt.server_pid) : -1;
			phase = PH_HOLD;
			t_phase_end = now + (uint64_t)(opt.hold * 1e6);
		}
		break;
	case PH_HOLD:
		if (now >= t_phase_end)
			phase = PH_DONE;
		break;
	case PH_DONE:
		break;
	}
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"url", required_argument, NULL, 'u'},
		{"irc", required_argument, NULL, 'i'},
		{"mode", required_argument, NULL, 'm'},
		{"clients", required_argument, NULL, 'c'},
		{"receivers", required_argument, NULL, 'c'},
		{"tokens", required_argument, NULL, 'T'},
		{"sender-token", required_argument, NULL, 's'},
		{"channel", required_argument, NULL, 'C'},
		{"channels", required_argument, NULL, 'L'},
		{"messages", required_argument, NULL, 'n'},
		{"window", required_argument, NULL, 'w'},
		{"http-conns", required_argument, NULL, 'H'},
		{"ticket-conns", required_argument, NULL, 'K'},
		{"max-pending", required_argument, NULL, 'P'},
		{"recipients", required_argument, NULL, 'R'},
		{"duration", required_argument, NULL, 'd'},
		{"settle", required_argument, NULL, 'S'},
		{"hold", required_argument, NULL, 'h'},
		{"timeout", required_argument, NULL, 't'},
		{"server-pid", required_argument, NULL, 'p'},
		{"oper", required_argument, NULL, 'o'},
		{"src-addrs", required_argument, NULL, 'a'},
		{"pad", required_argument, NULL, 'x'},
		{"socket-mode", no_argument, NULL, 'M'},
		{"busy-poll", no_argument, NULL, 'B'},
		{"rate", required_argument, NULL, 'r'},
		{"help", no_argument, NULL, '?'},
		{NULL, 0, NULL, 0},
	};
	const char *url = NULL, *irc = NULL, *tokens_file = NULL, *channels_file = NULL;
	int ch;
	char *end;
#define NUM(var, lo, hi, conv)                                                                 \
	do {                                                                                   \
		var = conv(optarg, &end);                                                      \
		if (*end || !(var >= (lo) && var <= (hi)))                                     \
			die_usage("--%s must be in [%g, %g]", longopts[li].name, (double)(lo), \
				  (double)(hi));                                               \
	} while (0)
#define STRTOL(s, e) strtol(s, e, 10)
	int li = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, &li)) != -1) {
		switch (ch) {
		case 'u': url = optarg; break;
		case 'i': irc = optarg; break;
		case 'm':
			if (!strcmp(optarg, "fanout")) opt.mode = M_FANOUT;
			else if (!strcmp(optarg, "pairs")) opt.mode = M_PAIRS;
			else if (!strcmp(optarg, "idle")) opt.mode = M_IDLE;
			else die_usage("--mode: fanout, pairs or idle");
			break;
		case 'c': NUM(opt.clients, 1, 1000000, STRTOL); break;
		case 'T': tokens_file = optarg; break;
		case 's': opt.sender_token = optarg; break;
		case 'C': opt.channel = optarg; break;
		case 'L': channels_file = optarg; break;
		case 'n': NUM(opt.messages, 1, 100000000, STRTOL); break;
		case 'w': NUM(opt.window, 1, 1000000, STRTOL); break;
		case 'H': NUM(opt.http_conns, 1, 10000, STRTOL); break;
		case 'K': NUM(opt.ticket_conns, 1, 1000, STRTOL); break;
		case 'P': NUM(opt.max_pending, 1, 100000, STRTOL); break;
		case 'R': NUM(opt.recipients, 1, 2, STRTOL); break;
		case 'd': NUM(opt.duration, 0.1, 3600, strtod); break;
		case 'S': NUM(opt.settle, 0, 600, strtod); break;
		case 'h': NUM(opt.hold, 0, 3600, strtod); break;
		case 't': NUM(opt.timeout, 1, 7200, strtod); break;
		case 'p': NUM(opt.server_pid, 1, 1 << 30, STRTOL); break;
		case 'o': opt.oper = optarg; break;
		case 'a': NUM(opt.src_addrs, 0, 250, STRTOL); break;
		case 'x': NUM(opt.pad, 0, 300, STRTOL); break;
		case 'M': opt.socket_mode = true; break;
		case 'B': opt.busy_poll = true; break;
		case 'r': NUM(opt.rate, 1, 1e7, strtod); break;
		default: die_usage(NULL);
		}
	}
	if (optind != argc)
		die_usage("unexpected argument %s", argv[optind]);
	if (!!url == !!irc)
		die_usage("give exactly one of --url and --irc");
	if (url) {
		if (strncmp(url, "http://", 7) != 0)
			die_usage("--url must start with http://");
		parse_hostport(url + 7, "--url");
		opt.proto = P_WS;
		if (!tokens_file)
			die_usage("--tokens is required with --url");
		opt.tokens = read_lines(tokens_file, &opt.ntokens);
		if (opt.ntokens == 0)
			die_usage("%s holds no tokens", tokens_file);
		if (opt.mode == M_FANOUT && (!opt.channel || !opt.sender_token))
			die_usage("fanout needs --channel and --sender-token");
		if (opt.mode == M_PAIRS) {
			if (!channels_file)
				die_usage("pairs needs --channels");
			opt.channels = read_lines(channels_file, &opt.nchannels);
			if (opt.clients % 2 || opt.nchannels < (size_t)opt.clients / 2)
				die_usage("pairs: --clients must be even and --channels must list "
					  "clients/2 channels");
			if (opt.ntokens < (size_t)opt.clients)
				die_usage("pairs: --tokens must list one token per client");
		}
	} else {
		parse_hostport(irc, "--irc");
		opt.proto = P_IRC;
		if (opt.mode == M_PAIRS)
			die_usage("--mode pairs is for Canal (--url) only");
	}
	if (opt.mode == M_IDLE && !opt.server_pid)
		die_usage("idle needs --server-pid (its RSS is what is measured)");
	if (!opt.http_conns)   /* idle posts nothing: no post connections to count */
		opt.http_conns = opt.mode == M_FANOUT ? opt.window : opt.mode == M_PAIRS ? opt.clients : 0;
	if (!opt.max_pending)
		opt.max_pending = opt.proto == P_IRC ? 8 : 128;   /* ngircd listens with backlog 10 */
	if (opt.src_addrs < 0)
		opt.src_addrs = opt.clients > 20000 ? 8 : 0;
	pad_str = xcalloc((size_t)opt.pad + 2, 1);
	if (opt.pad) {
		pad_str[0] = '-';
		memset(pad_str + 1, 'x', (size_t)opt.pad - 1);
	}

	struct rlimit rl;
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);
	if ((rlim_t)opt.clients + (rlim_t)opt.http_conns + 64 > rl.rlim_cur)
		die("%d sockets need more than the open-file limit (%llu); raise ulimit -n",
		    opt.clients, (unsigned long long)rl.rlim_cur);

	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	rbuf = xcalloc(READ_BUF, 1);
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (ep < 0)
		die("epoll_create1: %s", strerror(errno));
	rx = xcalloc((size_t)opt.clients, sizeof *rx);
	for (int i = 0; i < opt.clients; i++) {
		rx[i].fd = -1;
		rx[i].idx = i;
		rx[i].last_seq[0] = rx[i].last_seq[1] = -1;
	}
	ircsend.fd = -1;
	if (opt.mode == M_FANOUT) {
		recv_count = xcalloc((size_t)opt.messages, sizeof *recv_count);
		ts_of_seq = xcalloc((size_t)opt.messages, sizeof *ts_of_seq);
		failed_seq = xcalloc((size_t)opt.messages, sizeof *failed_seq);
	}
	if (opt.mode == M_PAIRS) {
		cl = xcalloc((size_t)opt.clients, sizeof *cl);
		ready_q = xcalloc((size_t)opt.clients, sizeof *ready_q);
	}

	t_begin = mono_us();
	t_deadline = t_begin + (uint64_t)(opt.timeout * 1e6);
	if (opt.mode == M_IDLE)
		rss_before = rss_kb_of_pid(opt.server_pid);

	/* HTTP connections: tickets (Canal setup) and posts (Canal senders). */
	if (opt.proto == P_WS) {
		tickets = xcalloc((size_t)opt.ticket_conns, sizeof *tickets);
		for (int h = 0; h < opt.ticket_conns; h++) {
			tickets[h].kind = K_TICKET;
			if (!conn_open(&tickets[h], &opt.addr, false))
				die("cannot connect to %s", opt.hostport);
		}
		if (opt.mode != M_IDLE) {
			http = xcalloc((size_t)opt.http_conns, sizeof *http);
			if (opt.mode == M_PAIRS)
				http_free = xcalloc((size_t)opt.http_conns, sizeof *http_free);
			for (int h = 0; h < opt.http_conns; h++) {
				http[h].kind = K_POST;
				if (!conn_open(&http[h], &opt.addr, false))
					die("cannot connect to %s", opt.hostport);
			}
		}
	}

	static struct epoll_event evs[4096];
	phase = PH_SETUP;
	while (phase != PH_DONE) {
		/* --busy-poll: on loopback, every write to a sleeping reader
		 * makes the writer (the server under test) pay for waking it, a
		 * cost that receivers on other machines would pay themselves. */
		bool spin = opt.busy_poll && (phase == PH_RUN || phase == PH_DRAIN);
		int n = epoll_wait(ep, evs, 4096, spin ? 0 : 2);
		if (n < 0 && errno != EINTR)
			die("epoll_wait: %s", strerror(errno));
		for (int i = 0; i < n; i++)
			on_event(evs[i].data.ptr, evs[i].events);
		tick();
	}
	if (opt.mode != M_IDLE && phase == PH_DONE && !t_run && setup_failed) {
		fprintf(stderr, "canal-wsload: setup failed (%d ready, %d failed)\n", n_ready,
			n_failed);
	}
	if (!setup_failed || t_run)
		report();
	for (int i = 0; i < opt.clients; i++)
		if (rx[i].fd >= 0)
			conn_close(&rx[i]);
	return (setup_failed || timed_out) ? 1 : 0;
}
