/* Exports (design note in export.h). */
#include "compliance/export.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "api/api.h"
#include "api/api_files.h"
#include "base/buf.h"
#include "base/map.h"
#include "base/xalloc.h"
#include "core/err.h"
#include "store/store.h"

typedef struct conv {
	char id[ID_MAX];
	char *dir;          /* folder name */
} conv;

struct export_job {
	bool audit;
	char *data_dir;
	char *base_url;     /* of the files' url_private links */
	char *org_id;
	char *out;          /* directory (org) or file (audit); NULL: in memory */
	int64_t since;
	/* org export: rendered on the loop thread */
	json_t *users, *channels, *groups, *dms, *mpims;
	conv *convs;
	size_t nconvs;
	/* outcome */
	int err;
	char errmsg[256];
	int64_t messages, files_written, entries;
	buf mem;            /* in-memory audit lines */
};

static const char *nz(const char *s)
{
	return s ? s : "";
}

static bool dir_empty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return false;
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

static json_t *members_json(const channel *ch)
{
	size_t n;
	const char **keys = core_sorted_keys(&ch->members, &n);
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(keys[i]));
	free(keys);
	return a;
}

static json_t *topic_json(const char *v, const char *creator, int64_t last_set)
{
	return json_pack("{s:s,s:s,s:I}", "value", nz(v), "creator", nz(creator), "last_set",
			 (json_int_t)last_set);
}

static json_t *channel_json(const channel *ch)
{
	json_t *o = json_pack("{s:s,s:s,s:I,s:s,s:b,s:b,s:o,s:o,s:o}", "id", ch->id, "name",
			      nz(ch->name), "created", (json_int_t)ch->created, "creator", ch->creator,
			      "is_archived", ch->archived, "is_general", ch->is_general, "members",
			      members_json(ch), "topic",
			      topic_json(ch->topic, ch->topic_creator, ch->topic_last_set), "purpose",
			      topic_json(ch->purpose, ch->purpose_creator, ch->purpose_last_set));
	return o;
}

export_job *export_org_prepare(core_state *s, const char *base_url, const char *data_dir,
			       const char *org_id, const char *out_dir, int *err)
{
	org *o = org_id ? core_org_get(s, org_id) : NULL;
	if (!o) {
		*err = ERR_TEAM_NOT_FOUND;
		return NULL;
	}
	if (!out_dir || !*out_dir) {
		*err = ERR_INVALID_ARGUMENTS;
		return NULL;
	}
	struct stat sb;
	if (stat(out_dir, &sb) == 0 && (!S_ISDIR(sb.st_mode) || !dir_empty(out_dir))) {
		*err = ERR_ALREADY_EXISTS;
		return NULL;
	}
	export_job *x = xcalloc(1, sizeof *x);
	x->data_dir = xstrdup(data_dir);
	x->base_url = xstrdup(base_url ? base_url : "");
	x->org_id = xstrdup(o->id);
	x->out = xstrdup(out_dir);
	x->users = json_array();
	x->channels = json_array();
	x->groups = json_array();
	x->dms = json_array();
	x->mpims = json_array();

	/* Users in Slack's shape, as users.list shows them. */
	api_env env = {.state = s, .base_url = base_url ? base_url : ""};
	api_ctx ctx;
	memset(&ctx, 0, sizeof ctx);
	ctx.env = &env;
	size_t n;
	const char **keys = core_sorted_keys(&s->users, &n);
	for (size_t i = 0; i < n; i++) {
		user *u = core_user_get(s, keys[i]);
		if (u && strcmp(u->org_id, o->id) == 0)
			json_array_append_new(x->users, api_render_user(&ctx, u));
	}
	free(keys);

	keys = core_sorted_keys(&s->channels, &n);
	x->convs = xcalloc(n + 1, sizeof *x->convs);
	for (size_t i = 0; i < n; i++) {
		channel *ch = core_channel_get(s, keys[i]);
		if (!ch || strcmp(ch->org_id, o->id) != 0)
			continue;
		conv *cv = &x->convs[x->nconvs++];
		snprintf(cv->id, sizeof cv->id, "%s", ch->id);
		switch (ch->kind) {
		case CHAN_PUBLIC:
			json_array_append_new(x->channels, channel_json(ch));
			cv->dir = xstrdup(ch->name && *ch->name ? ch->name : ch->id);
			break;
		case CHAN_PRIVATE:
			json_array_append_new(x->groups, channel_json(ch));
			cv->dir = xstrdup(ch->name && *ch->name ? ch->name : ch->id);
			break;
		case CHAN_MPIM:
			json_array_append_new(x->mpims, channel_json(ch));
			cv->dir = xstrdup(ch->name && *ch->name ? ch->name : ch->id);
			break;
		case CHAN_IM:
			json_array_append_new(x->dms, json_pack("{s:s,s:I,s:o}", "id", ch->id,
								"created", (json_int_t)ch->created,
								"members", members_json(ch)));
			cv->dir = xstrdup(ch->id);
			break;
		}
		/* Names are [a-z0-9_-]; anything else (an imported oddity)
		 * must still not leave the export directory. */
		for (char *p = cv->dir; *p; p++)
			if (*p == '/' || *p == '.' || *p == '\\')
				*p = '_';
	}
	free(keys);
	*err = 0;
	return x;
}

export_job *export_audit_prepare(const char *data_dir, const char *org_id, int64_t since,
				 const char *out_path)
{
	export_job *x = xcalloc(1, sizeof *x);
	x->audit = true;
	x->data_dir = xstrdup(data_dir);
	x->org_id = org_id ? xstrdup(org_id) : NULL;
	x->out = out_path ? xstrdup(out_path) : NULL;
	x->since = since;
	return x;
}

static int fail(export_job *x, int err, const char *what, const char *path)
{
	x->err = err;
	snprintf(x->errmsg, sizeof x->errmsg, "%s %.120s: %.100s", what, path ? path : "",
		 errno ? strerror(errno) : "failed");
	return err;
}

static int write_json(export_job *x, const char *name, json_t *v)
{
	char *path = xasprintf("%s/%s", x->out, name);
	int rc = json_dump_file(v, path, JSON_INDENT(4) | JSON_ENSURE_ASCII);
	if (rc != 0)
		fail(x, ERR_INTERNAL_ERROR, "cannot write", path);
	else
		x->files_written++;
	free(path);
	return rc != 0 ? ERR_INTERNAL_ERROR : 0;
}

static json_t *ts_json(int64_t ts)
{
	return json_sprintf("%lld.%06lld", (long long)(ts / 1000000), (long long)(ts % 1000000));
}

static json_t *str_list(char **v, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

/* The day files of one conversation. */
typedef struct day_writer {
	export_job *x;
	store_reader *r;
	const conv *cv;
	FILE *f;
	char day[16];
	size_t in_day;
	map parents;        /* thread ts (text) -> heap user id: parent_user_id of replies */
} day_writer;

static int day_close(day_writer *w)
{
	if (!w->f)
		return 0;
	fputs("\n]\n", w->f);
	int bad = ferror(w->f);
	bad |= fclose(w->f) != 0;
	w->f = NULL;
	return bad ? ERR_INTERNAL_ERROR : 0;
}

/* files[] of an exported message, as Slack's export has it: the file
 * objects, whose url_private links point at this server (the bytes are
 * not copied into the export; whoever downloads them needs a token that
 * may see them). A file deleted since is {"id","mode":"tombstone"}. The
 * exporter is the organisation's operator: revoked files are shown
 * (file_access "revoked"). Worker thread: api_file_json without shares
 * reads nothing but its arguments. */
static json_t *files_json(day_writer *w, json_t *ids)
{
	api_env env = {.base_url = w->x->base_url};
	json_t *out = json_array();
	size_t i;
	json_t *v;
	json_array_foreach(ids, i, v) {
		const char *id = json_string_value(v);
		if (!id)
			continue;
		store_file f;
		if (store_reader_file(w->r, id, &f) != 0 || f.deleted ||
		    strcmp(f.org_id, w->x->org_id) != 0)
			json_array_append_new(out, json_pack("{s:s,s:s}", "id", id, "mode", "tombstone"));
		else
			json_array_append_new(out, api_file_json(&env, &f, false));
		store_file_release(&f);
	}
	return out;
}

static json_t *message_json(day_writer *w, const message *m)
{
	json_t *o = json_object();
	json_object_set_new(o, "type", json_string("message"));
	if (m->subtype)
		json_object_set_new(o, "subtype", json_string(m->subtype));
	if (m->user_id[0])
		json_object_set_new(o, "user", json_string(m->user_id));
	if (m->bot_id[0])
		json_object_set_new(o, "bot_id", json_string(m->bot_id));
	if (m->app_id[0])
		json_object_set_new(o, "app_id", json_string(m->app_id));
	json_object_set_new(o, "text", json_string(nz(m->text)));
	json_object_set_new(o, "ts", ts_json(m->ts));
	json_object_set_new(o, "team", json_string(m->org_id[0] ? m->org_id : w->x->org_id));
	if (m->client_msg_id)
		json_object_set_new(o, "client_msg_id", json_string(m->client_msg_id));
	static const struct { const char *key; size_t off; } js[] = {
		{"blocks", offsetof(message, blocks)},
		{"attachments", offsetof(message, attachments)},
		{"metadata", offsetof(message, metadata)},
	};
	for (size_t i = 0; i < sizeof js / sizeof js[0]; i++) {
		const char *t = *(char *const *)((const char *)m + js[i].off);
		json_t *v = t && *t ? json_loads(t, 0, NULL) : NULL;
		if (v)
			json_object_set_new(o, js[i].key, v);
	}
	if (m->extra && *m->extra) {
		json_t *v = json_loads(m->extra, 0, NULL);
		if (json_is_object(v))
			json_object_update_missing(o, v);
		json_decref(v);
	}
	json_t *ids = json_object_get(o, "file_ids");
	if (json_is_array(ids))
		json_object_set_new(o, "files", files_json(w, ids));
	json_object_del(o, "file_ids");
	if (m->edited_ts)
		json_object_set_new(o, "edited", json_pack("{s:s,s:o}", "user", m->edited_user, "ts",
							   ts_json(m->edited_ts)));
	if (m->thread_ts) {
		json_object_set_new(o, "thread_ts", ts_json(m->thread_ts));
		char key[32];
		snprintf(key, sizeof key, "%lld", (long long)m->thread_ts);
		if (m->thread_ts == m->ts) {
			if (!map_get(&w->parents, key))
				map_put(&w->parents, key, xstrdup(m->user_id));
			json_object_set_new(o, "reply_count", json_integer(m->reply_count));
			json_object_set_new(o, "reply_users_count", json_integer(m->reply_users_count));
			if (m->latest_reply)
				json_object_set_new(o, "latest_reply", ts_json(m->latest_reply));
			json_object_set_new(o, "reply_users", str_list(m->reply_users, m->nreply_users));
		} else {
			const char *pu = map_get(&w->parents, key);
			if (pu && *pu)
				json_object_set_new(o, "parent_user_id", json_string(pu));
			if (m->reply_broadcast)
				json_object_set_new(o, "subtype", json_string("thread_broadcast"));
		}
	}
	if (m->nreactions) {
		json_t *rs = json_array();
		for (size_t i = 0; i < m->nreactions; i++)
			json_array_append_new(
				rs, json_pack("{s:s,s:o,s:i}", "name", m->reactions[i].name, "users",
					      str_list(m->reactions[i].users, m->reactions[i].nusers),
					      "count", (int)m->reactions[i].nusers));
		json_object_set_new(o, "reactions", rs);
	}
	return o;
}

static int on_message(void *ud, const message *m)
{
	day_writer *w = ud;
	if (m->hidden)
		return 0;   /* a deleted parent's tombstone: Slack's export leaves it out */
	time_t secs = (time_t)(m->ts / 1000000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	char day[16];
	strftime(day, sizeof day, "%Y-%m-%d", &tm);
	if (!w->f || strcmp(day, w->day) != 0) {
		if (day_close(w) != 0)
			return fail(w->x, ERR_INTERNAL_ERROR, "cannot write", w->day), 1;
		char *dir = xasprintf("%s/%s", w->x->out, w->cv->dir);
		if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
			fail(w->x, ERR_INTERNAL_ERROR, "cannot create", dir);
			free(dir);
			return 1;
		}
		char *path = xasprintf("%s/%s.json", dir, day);
		free(dir);
		w->f = fopen(path, "w");
		if (!w->f) {
			fail(w->x, ERR_INTERNAL_ERROR, "cannot write", path);
			free(path);
			return 1;
		}
		free(path);
		snprintf(w->day, sizeof w->day, "%s", day);
		w->in_day = 0;
		w->x->files_written++;
		fputs("[\n", w->f);
	}
	json_t *o = message_json(w, m);
	char *s = json_dumps(o, JSON_INDENT(4) | JSON_ENSURE_ASCII);
	json_decref(o);
	fputs(w->in_day++ ? ",\n" : "", w->f);
	fputs(s, w->f);
	free(s);
	w->x->messages++;
	return 0;
}

static int run_org(export_job *x)
{
	if (mkdir(x->out, 0700) != 0 && errno != EEXIST)
		return fail(x, ERR_INTERNAL_ERROR, "cannot create", x->out);
	int err = write_json(x, "users.json", x->users);
	if (!err)
		err = write_json(x, "channels.json", x->channels);
	if (!err)
		err = write_json(x, "groups.json", x->groups);
	if (!err)
		err = write_json(x, "dms.json", x->dms);
	if (!err)
		err = write_json(x, "mpims.json", x->mpims);
	if (err)
		return err;
	char emsg[256];
	store_reader *r = store_reader_open(x->data_dir, emsg, sizeof emsg);
	if (!r) {
		x->err = ERR_INTERNAL_ERROR;
		snprintf(x->errmsg, sizeof x->errmsg, "cannot read the data: %.200s", emsg);
		return x->err;
	}
	for (size_t i = 0; i < x->nconvs && !x->err; i++) {
		day_writer w = {.x = x, .r = r, .cv = &x->convs[i]};
		map_init(&w.parents);
		int rc = store_reader_messages(r, x->convs[i].id, on_message, &w);
		if (day_close(&w) != 0 && !x->err)
			fail(x, ERR_INTERNAL_ERROR, "cannot write", x->convs[i].dir);
		if (rc && !x->err) {
			x->err = rc;
			snprintf(x->errmsg, sizeof x->errmsg, "reading messages failed");
		}
		size_t it = 0;
		void *v;
		while (map_next(&w.parents, &it, NULL, &v))
			free(v);
		map_release(&w.parents);
	}
	store_reader_close(r);
	return x->err;
}

typedef struct audit_out {
	export_job *x;
	FILE *f;
} audit_out;

static int on_entry(void *ud, const char *entry)
{
	audit_out *a = ud;
	if (a->f) {
		fputs(entry, a->f);
		fputc('\n', a->f);
	} else {
		buf_adds(&a->x->mem, entry);
		buf_addc(&a->x->mem, '\n');
	}
	a->x->entries++;
	return 0;
}

static int run_audit(export_job *x)
{
	char emsg[256];
	store_reader *r = store_reader_open(x->data_dir, emsg, sizeof emsg);
	if (!r) {
		x->err = ERR_INTERNAL_ERROR;
		snprintf(x->errmsg, sizeof x->errmsg, "cannot read the data: %.200s", emsg);
		return x->err;
	}
	audit_out a = {x, NULL};
	if (x->out && !(a.f = fopen(x->out, "w"))) {
		store_reader_close(r);
		return fail(x, ERR_INTERNAL_ERROR, "cannot write", x->out);
	}
	int rc = store_reader_audit(r, x->org_id, x->since, on_entry, &a);
	store_reader_close(r);
	if (a.f && (ferror(a.f) | (fclose(a.f) != 0)) && !rc)
		return fail(x, ERR_INTERNAL_ERROR, "cannot write", x->out);
	if (rc) {
		x->err = rc;
		snprintf(x->errmsg, sizeof x->errmsg, "reading the audit log failed");
	}
	return x->err;
}

int export_run(export_job *x)
{
	errno = 0;
	return x->audit ? run_audit(x) : run_org(x);
}

json_t *export_result(export_job *x)
{
	if (x->err)
		return json_pack("{s:s,s:s}", "error", err_name(x->err), "detail", x->errmsg);
	if (x->audit) {
		json_t *o = json_pack("{s:b,s:I}", "ok", 1, "entries", (json_int_t)x->entries);
		if (x->out)
			json_object_set_new(o, "path", json_string(x->out));
		else
			json_object_set_new(o, "jsonl", json_stringn(x->mem.data ? x->mem.data : "",
								      x->mem.len));
		return o;
	}
	return json_pack("{s:b,s:s,s:s,s:s,s:I,s:I,s:I,s:I}", "ok", 1, "team_id", x->org_id, "path",
			 x->out, "format", "slack-export-directory", "channels",
			 (json_int_t)json_array_size(x->channels), "conversations",
			 (json_int_t)x->nconvs, "messages", (json_int_t)x->messages, "files",
			 (json_int_t)x->files_written);
}

int export_run_result(export_job *x)
{
	return x->err;
}

const char *export_org_id(export_job *x)
{
	return x->org_id;
}

void export_free(export_job *x)
{
	if (!x)
		return;
	json_decref(x->users);
	json_decref(x->channels);
	json_decref(x->groups);
	json_decref(x->dms);
	json_decref(x->mpims);
	for (size_t i = 0; i < x->nconvs; i++)
		free(x->convs[i].dir);
	free(x->convs);
	free(x->data_dir);
	free(x->base_url);
	free(x->org_id);
	free(x->out);
	buf_release(&x->mem);
	free(x);
}
