/* users.prefs.get / users.prefs.set: the person's own preferences, as
 * Slack's web client keeps them (muted channels, collapsed sidebar
 * sections, ...). User tokens only; nobody reads another's.
 *
 *   users.prefs.get                      -> {"ok":true,"prefs":{...}}
 *   users.prefs.set  name + value, or prefs (a JSON object; a null value
 *                    removes that key)   -> {"ok":true,"prefs":{merged}}
 *
 * Keys are 1-64 characters of [a-z0-9_]; values strings (at most 4000
 * bytes), numbers or booleans (invalid_prefs otherwise, or for JSON that
 * does not parse). All of a person's preferences together stay within
 * STORE_WEB_PREFS_MAX bytes (prefs_too_large). The merge happens in the
 * store's writer (store_web.h), so concurrent sets keep each other's keys.
 * Every session of the person then gets {"type":"pref_change","name","value"}
 * per key (value null for a removed one), as on Slack, so their other
 * browsers follow at once.
 *
 * One key is more than a preference: "tz", an IANA zone name ("UTC",
 * "Europe/Berlin"), is the person's time zone (users.info tz, dates in
 * search.messages), as Slack's client sets it; an unknown zone is
 * invalid_prefs, null sets UTC back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/handlers.h"
#include "base/clock.h"
#include "base/xalloc.h"
#include "rt/bus.h"

#define PREF_KEY_MAX 64
#define PREF_VALUE_MAX 4000
#define PREFS_PATCH_KEYS 100

static bool key_ok(const char *k)
{
	size_t n = strlen(k);
	return n >= 1 && n <= PREF_KEY_MAX && strspn(k, "abcdefghijklmnopqrstuvwxyz0123456789_") == n;
}

static bool value_ok(const json_t *v)
{
	if (json_is_string(v))
		return json_string_length(v) <= PREF_VALUE_MAX;
	return json_is_null(v) || json_is_boolean(v) || json_is_integer(v) || json_is_real(v);
}

/* A zone the C library knows: a name under /usr/share/zoneinfo, never a
 * path out of it (TZ is read as a file name). */
static bool tz_ok(const json_t *v)
{
	const char *tz = json_string_value(v);
	if (!tz)
		return false;
	size_t n = strlen(tz);
	if (strcmp(tz, "UTC") == 0)
		return true;
	if (n < 2 || n > 64 || tz[0] == '/' || strstr(tz, "..")
	    || strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+-/") != n)
		return false;
	char path[128];
	snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", tz);
	return access(path, R_OK) == 0;
}

/* The stored object (new reference; {} when none). */
static int load(api_ctx *c, json_t **out)
{
	char *text = NULL;
	int err = store_web_prefs_get(c->env->store, c->me->id, &text);
	if (err)
		return err;
	json_t *o = text ? json_loads(text, 0, NULL) : NULL;
	free(text);
	*out = json_is_object(o) ? o : json_object();
	if (o && !json_is_object(o))
		json_decref(o);
	return 0;
}

int api_users_prefs_get(api_ctx *c)
{
	json_t *p;
	int err = load(c, &p);
	if (err)
		return err;
	json_object_set_new(c->out, "prefs", p);
	return 0;
}

int api_users_prefs_set(api_ctx *c)
{
	int err = 0;
	json_t *patch = api_json_arg(c, "prefs", ERR_INVALID_PREFS, &err);
	if (err)
		return err;
	if (!patch) {
		const char *name = api_str(c, "name");
		if (!name || !*name)
			return ERR_INVALID_ARGUMENTS;
		json_t *v = json_object_get(c->args, "value");
		patch = json_object();
		/* A form's value is text; a JSON body may give a bool or number. */
		json_object_set_new(patch, name, v ? json_deep_copy(v) : json_null());
	}
	if (!json_is_object(patch) || json_object_size(patch) == 0 ||
	    json_object_size(patch) > PREFS_PATCH_KEYS) {
		json_decref(patch);
		return ERR_INVALID_PREFS;
	}
	const char *k;
	json_t *v;
	json_object_foreach(patch, k, v) {
		if (!key_ok(k) || !value_ok(v) || (strcmp(k, "tz") == 0 && !json_is_null(v) && !tz_ok(v))) {
			json_decref(patch);
			return ERR_INVALID_PREFS;
		}
	}
	/* The answer: what the store will hold once this patch is merged. */
	json_t *cur;
	err = load(c, &cur);
	if (err) {
		json_decref(patch);
		return err;
	}
	json_object_foreach(patch, k, v) {
		if (json_is_null(v))
			json_object_del(cur, k);
		else
			json_object_set(cur, k, v);
	}
	char *merged = json_dumps(cur, JSON_COMPACT);
	size_t merged_len = merged ? strlen(merged) : 0;
	free(merged);
	if (merged_len > STORE_WEB_PREFS_MAX) {
		json_decref(cur);
		json_decref(patch);
		return ERR_PREFS_TOO_LARGE;
	}
	char *text = json_dumps(patch, JSON_COMPACT);
	store_web_prefs_merge(api_job(c), c->me->id, text, clock_now_s());
	free(text);
	json_t *tz = json_object_get(patch, "tz");
	if (tz) {
		/* null removes the zone: UTC again. */
		xstrset(&c->me->tz, json_is_string(tz) ? json_string_value(tz) : "UTC");
		c->me->updated = c->now_us / 1000000;
		store_put_user(api_job(c), c->me);
	}
	json_object_foreach(patch, k, v)
		api_emit(c, BUS_USER, c->me->id,
			 json_pack("{s:s,s:s,s:O}", "type", "pref_change", "name", k, "value", v), NULL);
	json_decref(patch);
	json_object_set_new(c->out, "prefs", cur);
	return 0;
}
