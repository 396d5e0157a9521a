/* URL pieces both WebSocket endpoints need: the /rtm socket of people
 * (rt.c) and the Socket Mode socket of apps (apps_socket.c). */
#ifndef CANAL_RT_RT_URL_H
#define CANAL_RT_RT_URL_H
#include <stddef.h>

/* "http://h:p/x/" -> "ws://h:p/x"; "https://..." -> "wss://..."; NULL or
 * "" -> "ws://localhost". Heap string. */
char *rt_ws_base_from(const char *base_url);
/* Value of name=... in a raw query string into out; 0, or -1 if absent or
 * too long. No percent-decoding: tickets are hex and app ids alphanumeric. */
int rt_query_param(const char *q, const char *name, char *out, size_t cap);

#endif
