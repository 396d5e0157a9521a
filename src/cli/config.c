#include "cli/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"

typedef enum { T_STR, T_LONG, T_DOUBLE } kind;

static const struct setting {
	const char *key;   /* file key and --flag name */
	const char *env;
	kind type;
	size_t off;
	const char *help;
} settings[] = {
	{"listen", "CANAL_LISTEN", T_STR, offsetof(canal_config, listen), "address:port to listen on (127.0.0.1:8080)"},
	{"data", "CANAL_DATA", T_STR, offsetof(canal_config, data_dir), "data directory (./canal-data)"},
	{"log-level", "CANAL_LOG_LEVEL", T_STR, offsetof(canal_config, log_level), "debug, info, warn or error (info)"},
	{"public-url", "CANAL_PUBLIC_URL", T_STR, offsetof(canal_config, public_url), "URL clients use to reach this server (http://LISTEN)"},
	{"web-root", "CANAL_WEB_ROOT", T_STR, offsetof(canal_config, web_root), "directory of the web client's files (web/ next to the binary's repo)"},
	{"sync", "CANAL_SYNC", T_STR, offsetof(canal_config, sync), "SQLite synchronous mode: full, normal or off (full)"},
	{"max-body", "CANAL_MAX_BODY", T_LONG, offsetof(canal_config, max_body), "largest request body in bytes (10485760)"},
	{"max-header", "CANAL_MAX_HEADER", T_LONG, offsetof(canal_config, max_header), "largest request header block in bytes (16384)"},
	{"max-connections", "CANAL_MAX_CONNECTIONS", T_LONG, offsetof(canal_config, max_connections), "open connections before new ones are refused (10000)"},
	{"idle-timeout-ms", "CANAL_IDLE_TIMEOUT_MS", T_LONG, offsetof(canal_config, idle_timeout_ms), "close idle keep-alive connections after this (60000)"},
	{"max-msg-chars", "CANAL_MAX_MSG_CHARS", T_LONG, offsetof(canal_config, max_msg_chars), "longest message text in characters (40000)"},
	{"batch-max", "CANAL_BATCH_MAX", T_LONG, offsetof(canal_config, batch_max), "most writes committed in one transaction (256)"},
	{"rate-limit-factor", "CANAL_RATE_LIMIT_FACTOR", T_DOUBLE, offsetof(canal_config, rate_limit_factor), "Web API budgets as a multiple of Slack's tiers; 0 = off (50)"},
	{"max-connections-per-ip", "CANAL_MAX_CONNECTIONS_PER_IP", T_LONG, offsetof(canal_config, max_connections_per_ip), "open HTTP connections per client address; 0 = no limit (256)"},
	{"max-ws-connections", "CANAL_MAX_WS_CONNECTIONS", T_LONG, offsetof(canal_config, max_ws_connections), "open WebSockets before upgrades get 503; 0 = open-file limit only (50000)"},
	{"max-channels-per-org", "CANAL_MAX_CHANNELS_PER_ORG", T_LONG, offsetof(canal_config, max_channels_per_org), "channels an organisation may create; 0 = no limit (10000)"},
	{"signin-max-failures", "CANAL_SIGNIN_MAX_FAILURES", T_LONG, offsetof(canal_config, signin_max_failures), "failed sign-ins per address in 15 min before a lockout; 0 = off (5)"},
	{"apps-connection-lifetime", "CANAL_APPS_CONNECTION_LIFETIME", T_LONG, offsetof(canal_config, apps_connection_lifetime), "Socket Mode connection lifetime in seconds before a refresh disconnect (3600)"},
	{"response-url-ttl", "CANAL_RESPONSE_URL_TTL", T_LONG, offsetof(canal_config, response_url_ttl), "seconds a slash command's or action's response_url stays usable (1800)"},
	{"max-file-size", "CANAL_MAX_FILE_SIZE", T_LONG, offsetof(canal_config, max_file_size), "largest uploaded file in bytes (1073741824)"},
	{"presence-idle-seconds", "CANAL_PRESENCE_IDLE_SECONDS", T_LONG, offsetof(canal_config, presence_idle_seconds), "a connected person with no activity this long is auto away; 0 = never (1800)"},
	{"signin-lockout-seconds", "CANAL_SIGNIN_LOCKOUT_SECONDS", T_LONG, offsetof(canal_config, signin_lockout_seconds), "first lockout; doubles with each one, up to 60 times this (60)"},
	{"retention-interval", "CANAL_RETENTION_INTERVAL", T_LONG, offsetof(canal_config, retention_interval), "seconds between retention runs; 0 = only `canal admin retention run` (3600)"},
	{"audit-syslog", "CANAL_AUDIT_SYSLOG", T_STR, offsetof(canal_config, audit_syslog), "stream the audit log to syslog (RFC 5424): udp://HOST:PORT or tcp://HOST:PORT"},
	{"audit-http-url", "CANAL_AUDIT_HTTP_URL", T_STR, offsetof(canal_config, audit_http_url), "stream the audit log to this URL as POSTed JSON lines"},
	{"search-index", "CANAL_SEARCH_INDEX", T_STR, offsetof(canal_config, search_index), "on or off: index new messages for search; off is for benchmarks only, messages posted meanwhile are never found (on)"},
	{"search-time-scale", "CANAL_SEARCH_TIME_SCALE", T_LONG, offsetof(canal_config, search_time_scale), "benchmarks only: stretch the search index's catch-up clocks by this factor, for a server slowed down as much (valgrind) (1)"},
};
#define NSETTINGS (sizeof settings / sizeof settings[0])

void config_defaults(canal_config *c)
{
	memset(c, 0, sizeof *c);
	c->listen = xstrdup("127.0.0.1:8080");
	c->data_dir = xstrdup("./canal-data");
	c->log_level = xstrdup("info");
	c->sync = xstrdup("full");
	c->search_index = xstrdup("on");
	c->max_body = 10L << 20;
	c->max_file_size = 1L << 30;
	c->max_header = 16 << 10;
	c->max_connections = 10000;
	c->idle_timeout_ms = 60000;
	c->max_msg_chars = 40000;
	c->batch_max = 256;
	c->rate_limit_factor = 50;
	c->max_connections_per_ip = 256;
	c->max_ws_connections = 50000;
	c->max_channels_per_org = 10000;
	c->signin_max_failures = 5;
	c->apps_connection_lifetime = 3600;
	c->response_url_ttl = 1800;
	c->signin_lockout_seconds = 60;
	c->retention_interval = 3600;
	c->search_time_scale = 1;
	c->presence_idle_seconds = 1800;
}

void config_release(canal_config *c)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (settings[i].type == T_STR) {
			char **p = (char **)((char *)c + settings[i].off);
			free(*p);
			*p = NULL;
		}
}

static const struct setting *find(const char *key, size_t n)
{
	for (size_t i = 0; i < NSETTINGS; i++)
		if (strlen(settings[i].key) == n && strncmp(settings[i].key, key, n) == 0)
			return &settings[i];
	return NULL;
}

static int apply(canal_config *c, const struct setting *s, const char *val, char *err, size_t errlen)
{
	void *field = (char *)c + s->off;
	if (s->type == T_STR) {
		xstrset((char **)field, val);
		return 0;
	}
	char *end;
	errno = 0;
	if (s->type == T_DOUBLE) {
		double d = strtod(val, &end);
		if (errno || end == val || *end || !(d >= 0) || d > 1e9) {
			snprintf(err, errlen, "%s: not a non-negative number: %s", s->key, val);
			return -1;
		}
		*(double *)field = d;
		return 0;
	}
	long v = strtol(val, &end, 10);
	if (errno || end == val || *end || v < 0) {
		snprintf(err, errlen, "%s: not a non-negative number: %s", s->key, val);
		return -1;
	}
	*(long *)field = v;
	return 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int config_load_file(canal_config *c, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "cannot open config file %s: %s", path, strerror(errno));
		return -1;
	}
	char line[4096];
	int lineno = 0, rc = 0;
	while (fgets(line, sizeof line, f)) {
		lineno++;
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		char *l = trim(line);
		if (!*l)
			continue;
		char *eq = strchr(l, '=');
		if (!eq) {
			snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		char *k = trim(l), *v = trim(eq + 1);
		/* Allow "key = "quoted value"". */
		size_t vn = strlen(v);
		if (vn >= 2 && v[0] == '"' && v[vn - 1] == '"') {
			v[vn - 1] = '\0';
			v++;
		}
		const struct setting *s = find(k, strlen(k));
		if (!s) {
			snprintf(err, errlen, "%s:%d: unknown setting '%s'", path, lineno, k);
			rc = -1;
			break;
		}
		if (apply(c, s, v, err, errlen) != 0) {
			rc = -1;
			break;
		}
	}
	fclose(f);
	return rc;
}

int config_load_env(canal_config *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < NSETTINGS; i++) {
		const char *v = getenv(settings[i].env);
		if (v && *v && apply(c, &settings[i], v, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int config_load_args(canal_config *c, int argc, char **argv, char *err, size_t errlen)
{
	/* --config first, so flags override the file whatever their order. */
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
			if (config_load_file(c, argv[i + 1], err, errlen) != 0)
				return -1;
		} else if (strncmp(argv[i], "--config=", 9) == 0) {
			if (config_load_file(c, argv[i] + 9, err, errlen) != 0)
				return -1;
		}
	}
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) != 0) {
			snprintf(err, errlen, "unexpected argument '%s'", a);
			return -1;
		}
		a += 2;
		const char *eq = strchr(a, '=');
		size_t n = eq ? (size_t)(eq - a) : strlen(a);
		const char *val = eq ? eq + 1 : NULL;
		if (n == 6 && strncmp(a, "config", 6) == 0) {
			if (!eq)
				i++;
			continue;
		}
		const struct setting *s = find(a, n);
		if (!s) {
			snprintf(err, errlen, "unknown option '--%.*s'", (int)n, a);
			return -1;
		}
		if (!val) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "option '--%s' needs a value", s->key);
				return -1;
			}
			val = argv[++i];
		}
		if (apply(c, s, val, err, errlen) != 0)
			return -1;
	}
	return 0;
}

int config_listen_split(const char *listen, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(listen, ':');
	if (!colon || colon == listen)
		return -1;
	const char *h = listen;
	size_t hn = (size_t)(colon - listen);
	if (h[0] == '[' && hn >= 2 && h[hn - 1] == ']') {
		h++;
		hn -= 2;
	}
	if (hn + 1 > hostlen)
		return -1;
	char *end;
	long p = strtol(colon + 1, &end, 10);
	if (*end || end == colon + 1 || p < 0 || p > 65535)
		return -1;
	memcpy(host, h, hn);
	host[hn] = '\0';
	*port = (int)p;
	return 0;
}

const char *config_help(void)
{
	static char text[8192];
	if (!text[0]) {
		buf b = BUF_INIT;
		buf_adds(&b, "settings (--flag VALUE, CANAL_ENV, or 'key = value' in --config FILE):\n");
		for (size_t i = 0; i < NSETTINGS; i++)
			buf_printf(&b, "  --%-24s %-30s %s\n", settings[i].key, settings[i].env,
				   settings[i].help);
		snprintf(text, sizeof text, "%s", b.data);
		buf_release(&b);
	}
	return text;
}
