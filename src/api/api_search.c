/* search.messages and search.all: "has this been solved before?" across
 * every conversation the caller may see.
 *
 * Who sees what (never decided by the store): the caller's org's public
 * channels, archived or not, joined or not, and the private channels,
 * DMs and group DMs they are a member of (rules_can_see). That set is
 * computed from hot state for every call; in:, -in: and to: narrow it,
 * names that resolve to nothing or to something the caller cannot see
 * narrow it to nothing (Slack answers an unknown in:#x with no results,
 * and an invisible channel must look exactly like an unknown one). The
 * store then matches, filters, counts and pages in one query over exactly
 * that set, so totals and pages never count what the caller cannot see.
 *
 * Only people search: bot tokens get not_allowed_token_type from the
 * method table (Slack's rule); user tokens act with their own rights.
 *
 * Mentions: the index holds a mention <@U1> as the id U1. A word that
 * is somebody's name (handle, display name, or a word of their real name,
 * in the caller's org) also matches their id (search_term_add_id), here at
 * query time and not in the index at write time, so that renaming a person
 * never leaves old messages findable only by the old name, and nothing
 * need be re-indexed.
 *
 * Dates: before:/after:/on:/during: are days in the caller's time zone
 * (user.tz, set through users.prefs.set tz; UTC when unset), as Slack
 * does: on:2024-05-01 for someone in Tokyo starts at 15:00 UTC the day
 * before. The zone's rules come from the C library (TZ and mktime, on the
 * loop thread, as api_render.c's tz_offset), so DST is right on every
 * date. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/api_files.h"
#include "api/api.h"
#include "api/handlers.h"
#include "base/buf.h"
#include "base/xalloc.h"
#include "core/search_query.h"

#define SEARCH_COUNT_DEFAULT 20
#define SEARCH_COUNT_MAX 100
#define SEARCH_PAGE_MAX 100     /* Slack's last reachable page */

/* A growing list of borrowed ids. */
typedef struct idlist {
	const char **v;
	size_t n, cap;
} idlist;

static void idl_add(idlist *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], id) == 0)
			return;
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 16;
		l->v = xrealloc(l->v, l->cap * sizeof *l->v);
	}
	l->v[l->n++] = id;
}

static bool idl_has(const idlist *l, const char *id)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i], id) == 0)
			return true;
	return false;
}

/* "<@U1|bob>" -> "U1", "<#C1|x>" -> "C1" (sigil given); else NULL. The
 * id goes to out. */
static bool markup_id(const char *v, char sigil, char out[ID_MAX])
{
	size_t n = strlen(v);
	if (n < 4 || v[0] != '<' || v[1] != sigil || v[n - 1] != '>')
		return false;
	size_t k = 0;
	for (const char *p = v + 2; *p && *p != '|' && *p != '>'; p++) {
		if (k + 1 >= ID_MAX)
			return false;
		out[k++] = *p;
	}
	out[k] = '\0';
	return k > 0;
}

static bool looks_like_id(const char *v, const char *prefixes)
{
	if (!strchr(prefixes, v[0]) || strlen(v) < 2 || strlen(v) >= ID_MAX)
		return false;
	for (const char *p = v; *p; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
			return false;
	return true;
}

/* A person named in from:/to:/in:@ : "me", "@bob", "bob", "<@U1>", "U1";
 * NULL if nobody in the caller's org. */
static user *resolve_user(api_ctx *c, const char *v)
{
	core_state *s = c->env->state;
	char id[ID_MAX];
	user *u = NULL;
	if (strcmp(v, "me") == 0 || strcmp(v, "@me") == 0)
		return c->me;
	if (markup_id(v, '@', id))
		u = core_user_get(s, id);
	else if (looks_like_id(v, "UW"))
		u = core_user_get(s, v);
	if (!u) {
		const char *name = v[0] == '@' ? v + 1 : v;
		if (*name) {
			char *low = xstrdup(name);
			for (char *p = low; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					*p = (char)(*p - 'A' + 'a');
			u = core_user_by_name(s, c->org->id, low);
			free(low);
		}
	}
	return u && strcmp(u->org_id, c->org->id) == 0 ? u : NULL;
}

/* The conversation an in: value names, if the caller may see it:
 * "#general", "general", "<#C1|general>", "C1", or "@bob" (the caller's
 * DM with bob). NULL otherwise. */
static channel *resolve_channel(api_ctx *c, const char *v)
{
	core_state *s = c->env->state;
	char id[ID_MAX];
	channel *ch = NULL;
	if (v[0] == '@' || (v[0] == '<' && v[1] == '@')) {
		user *u = resolve_user(c, v);
		if (u)
			ch = core_im_get(s, c->org->id, c->me->id, u->id);
	} else if (markup_id(v, '#', id)) {
		ch = core_channel_get(s, id);
	} else if (looks_like_id(v, "CGD") && (ch = core_channel_get(s, v))) {
		/* an id */
	} else {
		const char *name = v[0] == '#' ? v + 1 : v;
		char *low = xstrdup(name);
		for (char *p = low; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		ch = core_channel_by_name(s, c->org->id, low);
		free(low);
	}
	return ch && rules_can_see(c->me, ch) ? ch : NULL;
}

/* The channels to search: what the caller sees, narrowed by in:, -in:
 * and to:. Borrowed ids into l. */
static void search_channels(api_ctx *c, const search_query *q, idlist *l)
{
	core_state *s = c->env->state;
	idlist in = {0}, out = {0};
	for (size_t i = 0; i < q->in.n; i++) {
		channel *ch = resolve_channel(c, q->in.v[i]);
		if (ch)
			idl_add(&in, ch->id);
	}
	for (size_t i = 0; i < q->not_in.n; i++) {
		channel *ch = resolve_channel(c, q->not_in.v[i]);
		if (ch)
			idl_add(&out, ch->id);
	}
	/* to:@bob is what was said to bob in DMs and group DMs he is in;
	 * each to: narrows further. */
	user **to = q->to.n ? xcalloc(q->to.n, sizeof *to) : NULL;
	bool to_unknown = false;
	for (size_t i = 0; i < q->to.n; i++)
		to_unknown |= !(to[i] = resolve_user(c, q->to.v[i]));
	if (!(q->in.n && !in.n) && !to_unknown) {
		size_t it = 0;
		const char *key;
		void *val;
		while (map_next(&s->channels, &it, &key, &val)) {
			channel *ch = val;
			if (!rules_can_see(c->me, ch))
				continue;
			if (q->in.n && !idl_has(&in, ch->id))
				continue;
			if (idl_has(&out, ch->id))
				continue;
			bool ok = true;
			for (size_t i = 0; i < q->to.n && ok; i++)
				ok = (ch->kind == CHAN_IM || ch->kind == CHAN_MPIM)
				     && core_member_get(ch, to[i]->id);
			if (ok)
				idl_add(l, ch->id);
		}
	}
	free(to);
	free(in.v);
	free(out.v);
}

/* Slack's channel object inside a search match. */
static json_t *match_channel(api_ctx *c, const channel *ch)
{
	json_t *o = json_object();
	json_object_set_new(o, "id", json_string(ch->id));
	json_object_set_new(o, "is_channel", json_boolean(ch->kind == CHAN_PUBLIC));
	json_object_set_new(o, "is_group", json_boolean(ch->kind == CHAN_PRIVATE));
	json_object_set_new(o, "is_im", json_boolean(ch->kind == CHAN_IM));
	json_object_set_new(o, "is_mpim", json_boolean(ch->kind == CHAN_MPIM));
	json_object_set_new(o, "is_private", json_boolean(ch->kind != CHAN_PUBLIC));
	json_object_set_new(o, "is_archived", json_boolean(ch->archived));
	json_object_set_new(o, "is_shared", json_false());
	json_object_set_new(o, "is_org_shared", json_false());
	json_object_set_new(o, "is_ext_shared", json_false());
	json_object_set_new(o, "is_pending_ext_shared", json_false());
	json_object_set_new(o, "pending_shared", json_array());
	const char *name = ch->name ? ch->name : "";
	if (ch->kind == CHAN_IM) {
		/* A DM is named after the other participant, from the
		 * caller's side. */
		name = strcmp(ch->im_user, c->me->id) == 0 ? ch->creator : ch->im_user;
		json_object_set_new(o, "user", json_string(name));
	}
	json_object_set_new(o, "name", json_string(name));
	return o;
}

/* A stable id for one match, shaped like Slack's iid (a UUID). */
static json_t *match_iid(const message *m)
{
	uint64_t h1 = 1469598103934665603ULL, h2 = 1099511628211ULL ^ (uint64_t)m->ts;
	for (const char *p = m->channel_id; *p; p++) {
		h1 = (h1 ^ (unsigned char)*p) * 1099511628211ULL;
		h2 = (h2 ^ (unsigned char)*p) * 14029467366897019727ULL;
	}
	h1 ^= (uint64_t)m->ts * 0x9e3779b97f4a7c15ULL;
	char s[40];
	snprintf(s, sizeof s, "%08x-%04x-4%03x-%04x-%012llx", (unsigned)(h1 >> 32),
		 (unsigned)(h1 >> 16) & 0xffff, (unsigned)h1 & 0xfff,
		 (unsigned)(0x8000 | ((h2 >> 48) & 0x3fff)), (unsigned long long)(h2 & 0xffffffffffffULL));
	return json_string(s);
}

static json_t *render_match(api_ctx *c, const store_search_hit *h, const search_query *q,
			    bool highlight)
{
	const message *m = &h->msg;
	channel *ch = core_channel_get(c->env->state, m->channel_id);
	json_t *o = api_render_message(c, m);
	if (highlight && m->text) {
		char *t = search_highlight(m->text, q);
		json_t *v = json_string(t);  /* NULL only for text that is not UTF-8 */
		if (v)
			json_object_set_new(o, "text", v);
		free(t);
	}
	user *u = m->user_id[0] ? core_user_get(c->env->state, m->user_id) : NULL;
	if (u && u->name)
		json_object_set_new(o, "username", json_string(u->name));
	else if (!json_object_get(o, "username"))
		json_object_set_new(o, "username", json_string(""));
	if (!json_object_get(o, "team"))
		json_object_set_new(o, "team", json_string(c->org->id));
	json_object_set_new(o, "iid", match_iid(m));
	json_object_set_new(o, "score", json_real(h->score));
	if (ch) {
		json_object_set_new(o, "channel", match_channel(c, ch));
		char *link = api_permalink(c, ch, m->ts, m->thread_ts != m->ts ? m->thread_ts : 0);
		json_object_set_new(o, "permalink", json_string(link));
		free(link);
	}
	return o;
}

/* paging / pagination objects of a result section (Slack sends both). */
static void set_paging(json_t *sec, size_t total, long count, long page, size_t shown)
{
	size_t pages = total ? (total + (size_t)count - 1) / (size_t)count : 0;
	size_t first = shown ? (size_t)(page - 1) * (size_t)count + 1 : 0;
	size_t last = shown ? first + shown - 1 : 0;
	json_object_set_new(sec, "total", json_integer((json_int_t)total));
	json_object_set_new(sec, "paging",
			    json_pack("{s:I,s:I,s:I,s:I}", "count", (json_int_t)count, "total",
				      (json_int_t)total, "page", (json_int_t)page, "pages",
				      (json_int_t)pages));
	json_object_set_new(sec, "pagination",
			    json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}", "total_count", (json_int_t)total,
				      "page", (json_int_t)page, "per_page", (json_int_t)count,
				      "page_count", (json_int_t)pages, "first", (json_int_t)first,
				      "last", (json_int_t)last));
}

/* The request's common arguments. */
typedef struct search_args {
	const char *query;
	search_query q;
	long count, page;
	size_t offset;
	bool cursor;        /* cursormark paging (cursor=*, then next_cursor) */
	bool highlight;
	store_search_sort sort;
	bool ascending;
} search_args;

/* ---- the caller's calendar (search_tz) ---- */

static int64_t tz_today(void *arg, int64_t now_us)
{
	(void)arg;
	time_t t = (time_t)(now_us / 1000000);
	struct tm tm;
	if (!localtime_r(&t, &tm))
		return now_us / 86400000000LL;
	return search_days_from_civil(tm.tm_year + 1900LL, (unsigned)tm.tm_mon + 1,
				      (unsigned)tm.tm_mday);
}

static int64_t tz_day_start(void *arg, int64_t day)
{
	(void)arg;
	time_t t = (time_t)(day * 86400);
	struct tm tm;
	if (!gmtime_r(&t, &tm))
		return day * 86400000000LL;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_isdst = -1;  /* whatever the zone says on that day */
	time_t u = mktime(&tm);
	if (u == (time_t)-1)
		return day * 86400000000LL;
	return (int64_t)u * 1000000;
}

/* search_query_parse_tz in the caller's zone: TZ is set for the parse
 * only (the zone functions above run inside it), and put back. */
static int parse_in_tz(api_ctx *c, const char *query, search_query *q, char *err, size_t errlen)
{
	const char *tz = c->me->tz;
	if (!tz || !*tz || strcmp(tz, "UTC") == 0)
		return search_query_parse(query, c->now_us, q, err, errlen);
	char *old = getenv("TZ") ? xstrdup(getenv("TZ")) : NULL;
	setenv("TZ", tz, 1);
	tzset();
	search_tz z = {.day_start = tz_day_start, .today = tz_today, .arg = NULL};
	int rc = search_query_parse_tz(query, c->now_us, &z, q, err, errlen);
	if (old) {
		setenv("TZ", old, 1);
		free(old);
	} else {
		unsetenv("TZ");
	}
	tzset();
	return rc;
}

/* ---- names in words ---- */

/* Whether w (ASCII case-insensitive) is s, or one of s's words. */
static bool names(const char *s, const char *w, size_t wn)
{
	if (!s)
		return false;
	const char *p = s;
	while (*p) {
		while (*p == ' ')
			p++;
		const char *e = p;
		while (*e && *e != ' ')
			e++;
		if ((size_t)(e - p) == wn && strncasecmp(p, w, wn) == 0)
			return true;
		p = e;
	}
	return strcasecmp(s, w) == 0;
}

/* Each word term that names people in the caller's org (deactivated
 * people too: their mentions stay) also matches their mentions. */
static void expand_names(api_ctx *c, search_query *q)
{
	core_state *s = c->env->state;
	for (size_t i = 0; i < q->nterms; i++) {
		sq_term *t = &q->terms[i];
		if (t->prefix)
			continue;
		const char *w = t->text[0] == '@' ? t->text + 1 : t->text;
		size_t wn = strlen(w);
		if (!wn || wn > 80)
			continue;
		size_t it = 0;
		const char *key;
		void *val;
		while (map_next(&s->users, &it, &key, &val)) {
			user *u = val;
			if (strcmp(u->org_id, c->org->id) != 0)
				continue;
			if ((u->name && strcasecmp(u->name, w) == 0) || names(u->display_name, w, wn)
			    || names(u->real_name, w, wn))
				search_term_add_id(t, u->id);
		}
	}
}

static int parse_args(api_ctx *c, search_args *a)
{
	int rc;
	memset(a, 0, sizeof *a);
	a->query = api_str(c, "query");
	bool blank = true;
	for (const char *p = a->query; p && *p && blank; p++)
		blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
	if (blank)
		return ERR_NO_QUERY;
	if ((rc = api_int(c, "count", SEARCH_COUNT_DEFAULT, 1, SEARCH_COUNT_MAX, &a->count)))
		return rc;
	if ((rc = api_int(c, "page", 1, 1, SEARCH_PAGE_MAX, &a->page)))
		return rc;
	if ((rc = api_bool(c, "highlight", false, &a->highlight)))
		return rc;
	const char *sort = api_str(c, "sort");
	a->sort = sort && strcmp(sort, "timestamp") == 0 ? STORE_SEARCH_TIMESTAMP : STORE_SEARCH_SCORE;
	const char *dir = api_str(c, "sort_dir");
	a->ascending = dir && strcmp(dir, "asc") == 0;
	a->offset = (size_t)(a->page - 1) * (size_t)a->count;
	const char *cur = api_str(c, "cursor");
	if (cur && *cur) {
		a->cursor = true;
		a->offset = 0;
		if (strcmp(cur, "*") != 0) {
			char *v = NULL, *end = NULL;
			if (rules_cursor_decode(cur, "search", &v) != 0)
				return ERR_INVALID_CURSOR;
			unsigned long long off = strtoull(v, &end, 10);
			bool bad = !*v || *end || off > 1000000;
			free(v);
			if (bad)
				return ERR_INVALID_CURSOR;
			a->offset = (size_t)off;
		}
		a->page = (long)(a->offset / (size_t)a->count) + 1;
	}
	char err[256];
	if ((rc = parse_in_tz(c, a->query, &a->q, err, sizeof err))) {
		if (!c->err_extra)
			c->err_extra = json_object();
		char *msg = xasprintf("[ERROR] %s", err);
		json_object_set_new(c->err_extra, "response_metadata",
				    json_pack("{s:[s]}", "messages", msg));
		free(msg);
		return rc;
	}
	expand_names(c, &a->q);
	return 0;
}

/* The messages section of search.messages / search.all. */
static int messages_section(api_ctx *c, search_args *a, json_t **out)
{
	idlist chans = {0}, from = {0}, not_from = {0};
	store_search_hit *hits = NULL;
	size_t n = 0, total = 0;
	int rc = 0;
	const search_query *q = &a->q;

	if (!search_query_empty(q)) {
		search_channels(c, q, &chans);
		for (size_t i = 0; i < q->from.n; i++) {
			user *u = resolve_user(c, q->from.v[i]);
			if (u)
				idl_add(&from, u->id);
		}
		for (size_t i = 0; i < q->not_from.n; i++) {
			user *u = resolve_user(c, q->not_from.v[i]);
			if (u)
				idl_add(&not_from, u->id);
		}
		for (size_t i = 0; i < q->to.n; i++) {
			/* What bob said himself is not "to" him. */
			user *u = resolve_user(c, q->to.v[i]);
			if (u)
				idl_add(&not_from, u->id);
		}
		store_search_req r = {
			.q = q,
			.channels = chans.v,
			.nchannels = chans.n,
			.from_set = q->from.n > 0,
			.from = from.v,
			.nfrom = from.n,
			.not_from = not_from.v,
			.nnot_from = not_from.n,
			.sort = a->sort,
			.ascending = a->ascending,
			.offset = a->offset,
			.limit = (size_t)a->count,
		};
		rc = store_search_messages(c->env->store, &r, &hits, &n, &total);
		if (rc)
			goto out;
	}
	json_t *sec = json_object();
	json_t *matches = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(matches, render_match(c, &hits[i], q, a->highlight));
	json_object_set_new(sec, "matches", matches);
	set_paging(sec, total, a->count, a->page, n);
	if (a->cursor) {
		char off[32];
		bool more = a->offset + n < total;
		snprintf(off, sizeof off, "%zu", a->offset + n);
		char *next = more ? rules_cursor_encode("search", off) : NULL;
		json_object_set_new(c->out, "response_metadata",
				    json_pack("{s:s}", "next_cursor", next ? next : ""));
		free(next);
	}
	*out = sec;
out:
	store_search_hits_free(hits, n);
	free(chans.v);
	free(from.v);
	free(not_from.v);
	return rc;
}

/* The files section of search.all: files whose name or title contains the
 * query's words (the positive ones, joined by spaces, as one substring —
 * the file search matches names, not message text). A query of modifiers
 * only matches no file. */
json_t *api_search_files_section(api_ctx *c, const search_query *q, long count, long page)
{
	buf b = BUF_INIT;
	for (size_t i = 0; i < q->nterms; i++)
		if (!q->terms[i].negate)
			buf_printf(&b, "%s%s", b.len ? " " : "", q->terms[i].text);
	int err = 0;
	json_t *sec = b.len ? api_files_search_section(c, b.data, count, page, &err) : NULL;
	buf_release(&b);
	if (!sec) {
		sec = json_object();
		json_object_set_new(sec, "matches", json_array());
		set_paging(sec, 0, count, page, 0);
	}
	return sec;
}

/* search.messages, and search.all with files and posts sections too. */
static int search_run(api_ctx *c, bool all)
{
	search_args a;
	json_t *sec = NULL;
	int rc = parse_args(c, &a);
	if (!rc)
		rc = messages_section(c, &a, &sec);
	if (!rc) {
		json_object_set_new(c->out, "query", json_string(a.query));
		json_object_set_new(c->out, "messages", sec);
	}
	if (!rc && all) {
		json_object_set_new(c->out, "files",
				    api_search_files_section(c, &a.q, a.count, a.page));
		json_t *posts = json_object();
		json_object_set_new(posts, "matches", json_array());
		json_object_set_new(posts, "total", json_integer(0));
		json_object_set_new(c->out, "posts", posts);
	}
	search_query_release(&a.q);
	return rc;
}

int api_search_messages(api_ctx *c)
{
	return search_run(c, false);
}

int api_search_all(api_ctx *c)
{
	return search_run(c, true);
}
