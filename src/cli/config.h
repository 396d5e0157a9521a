/* Server configuration: defaults, then a config file, then CANAL_*
 * environment variables, then command-line flags (later wins). Every
 * setting is one row in a table (config.c) that names its key in all
 * three places. */
#ifndef CANAL_CLI_CONFIG_H
#define CANAL_CLI_CONFIG_H
#include <stddef.h>

typedef struct canal_config {
	char *listen;          /* "127.0.0.1:8080" */
	char *data_dir;        /* "./canal-data" */
	char *log_level;       /* debug|info|warn|error */
	char *public_url;      /* base URL clients reach us at; default http://<listen> */
	char *web_root;        /* static files of the web client */
	char *sync;            /* full|normal|off */
	long max_body;         /* bytes */
	long max_header;       /* bytes */
	long max_connections;
	long idle_timeout_ms;
	long max_msg_chars;
	long batch_max;
	double rate_limit_factor;     /* x Slack's tier budgets; 0 = no rate limits */
	long max_connections_per_ip;  /* 0 = no per-address limit */
	long max_ws_connections;      /* 0 = only the open-file limit */
	long max_channels_per_org;    /* 0 = no limit */
	long signin_max_failures;     /* per address in 15 min; 0 = no lockout */
	long apps_connection_lifetime; /* Socket Mode connection lifetime, seconds */
	long presence_idle_seconds;   /* auto away after this long idle (Slack: 30 min) */
	long response_url_ttl;        /* seconds a response_url works (Slack: 30 min) */
	long signin_lockout_seconds;  /* the first lockout; doubles up to 60x */
	long retention_interval;      /* seconds between retention runs; 0 = only on demand */
	char *audit_syslog;           /* udp://HOST:PORT or tcp://HOST:PORT: stream the audit log (RFC 5424) */
	char *audit_http_url;         /* POST the audit log as JSON lines to this URL */
	long max_file_size;           /* largest uploaded file in bytes */
	char *search_index;           /* on|off: index messages for search (off: benchmarks only) */
	long search_time_scale;       /* benchmarks only: stretches the index's catch-up clocks */
} canal_config;

void config_defaults(canal_config *c);
void config_release(canal_config *c);
/* Applies "key = value" lines; '#' starts a comment. 0 or -1 with err. */
int config_load_file(canal_config *c, const char *path, char *err, size_t errlen);
/* Applies CANAL_* variables. */
int config_load_env(canal_config *c, char *err, size_t errlen);
/* Applies --flag value / --flag=value; unknown flags are errors.
 * Consumes argv[0..argc). --config FILE is handled here too (applied
 * before the other flags so flags win). */
int config_load_args(canal_config *c, int argc, char **argv, char *err, size_t errlen);
/* Splits listen into host and port. 0 or -1. */
int config_listen_split(const char *listen, char *host, size_t hostlen, int *port);
/* Help text listing every setting. */
const char *config_help(void);

#endif
