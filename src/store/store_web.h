/* The web client's per-person preferences (users.prefs.get / set): one
 * JSON object per person, merged by the writer (RFC 7386 merge patch, so a
 * null value removes a key and concurrent sets do not lose each other). */
#ifndef CANAL_STORE_STORE_WEB_H
#define CANAL_STORE_STORE_WEB_H
#include <stdint.h>

#define STORE_WEB_PREFS_MAX 16384   /* bytes of the stored JSON object */

/* The person's preferences as JSON text into *out (heap; NULL when none
 * were ever set). 0 or ERR_INTERNAL_ERROR. Read connection, loop thread. */
int store_web_prefs_get(store *st, const char *user_id, char **out);
/* Merges patch (a JSON object's text) into the person's preferences; the
 * job fails with ERR_PREFS_TOO_LARGE if the result would exceed
 * STORE_WEB_PREFS_MAX. */
void store_web_prefs_merge(store_job *job, const char *user_id, const char *patch, int64_t now);

#endif
