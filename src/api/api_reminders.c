/* Reminders: reminders.add / list / info / complete / delete in Slack's
 * shapes, the /remind built-in command, and the timer that fires them.
 *
 *   reminders.add       text, time (a Unix ts or the natural-language
 *                       forms core/remind.h lists), user? (only the caller:
 *                       cannot_add_others; a bot: cannot_add_bot),
 *                       recurrence? (accepted as part of time: "every ...")
 *                       -> {"ok":true,"reminder":{...}}
 *   reminders.list      -> {"ok":true,"reminders":[...]}  (the caller's)
 *   reminders.info      reminder -> {"ok":true,"reminder":{...}}
 *   reminders.complete  reminder (not recurring: cannot_complete_recurring)
 *   reminders.delete    reminder
 * A reminder object: {"id","creator","user","text","recurring":false,
 * "time","complete_ts"} or, recurring, {"id","creator","user","text",
 * "recurring":true,"recurrence":{"frequency":"daily"|"weekly",
 * "weekdays":["monday",...]}} (Slack omits time/complete_ts for those).
 * Unknown ids and other people's reminders are not_found; an unparseable
 * time cannot_parse. User tokens only (Slack's reminders:* are user
 * scopes).
 *
 * Delivery: a timer on the loop (every REMIND_TICK_MS) asks the store for
 * due reminders and fires each as Slackbot: a message "Reminder: <text>."
 * in the person's DM with the org's Slackbot user (a bot user with no app,
 * created on first use), posted through the ordinary path (stored,
 * announced live). A one-off reminder is then marked fired (it stays in
 * reminders.list, incomplete, as on Slack); a recurring one moves to its
 * next time. Reminders live in the database (migration slot 6), so they
 * survive restarts; one that came due while the server was down fires at
 * start. Clock times are UTC (users' time zones are not applied yet). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_interact.h"
#include "api/api_reminders.h"
#include "api/handlers.h"
#include "base/buf.h"
#include "base/clock.h"
#include "base/ids.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "core/remind.h"

#define REMIND_TICK_MS 500
#define REMIND_BATCH 64
#define REMIND_TEXT_MAX 4000

/* ---- rendering ---- */

static json_t *render(const reminder *r)
{
	json_t *o = json_pack("{s:s,s:s,s:s,s:s}", "id", r->id, "creator", r->creator, "user",
			      r->user_id, "text", r->text);
	remind_when w;
	if (r->recurrence[0] && remind_recurrence_parse(r->recurrence, &w) == 0) {
		json_object_set_new(o, "recurring", json_true());
		json_t *rec = json_object();
		if (w.freq == REMIND_DAILY) {
			json_object_set_new(rec, "frequency", json_string("daily"));
		} else {
			json_t *days = json_array();
			if (w.freq == REMIND_WEEKLY)
				json_array_append_new(days, json_string(remind_weekday_name(w.weekday)));
			else
				for (int d = 1; d <= 5; d++)
					json_array_append_new(days, json_string(remind_weekday_name(d)));
			json_object_set_new(rec, "frequency", json_string("weekly"));
			json_object_set_new(rec, "weekdays", days);
		}
		json_object_set_new(o, "recurrence", rec);
		return o;
	}
	json_object_set_new(o, "recurring", json_false());
	json_object_set_new(o, "time", json_integer(r->time));
	json_object_set_new(o, "complete_ts", json_integer(r->complete_ts));
	return o;
}

/* ---- methods ---- */

/* The "reminder" argument: one of the caller's reminders. */
static int reminder_arg(api_ctx *c, reminder *out)
{
	const char *id;
	int rc = api_str_req(c, "reminder", &id);
	if (rc)
		return rc;
	rc = store_reminder_get(c->env->store, id, out);
	if (rc)
		return rc;
	if (strcmp(out->user_id, c->me->id) != 0 || strcmp(out->org_id, c->org->id) != 0) {
		reminder_release(out);
		return ERR_NOT_FOUND;
	}
	return 0;
}

int api_reminders_add(api_ctx *c)
{
	const char *text, *time_s;
	int rc;
	if ((rc = api_str_req(c, "text", &text)) || (rc = api_str_req(c, "time", &time_s)))
		return rc;
	if (strlen(text) > REMIND_TEXT_MAX)
		return ERR_MSG_TOO_LONG;
	const char *uid = api_str(c, "user");
	if (uid && *uid && strcmp(uid, c->me->id) != 0) {
		user *u = core_user_get(c->env->state, uid);
		if (!u || u->deleted || strcmp(u->org_id, c->org->id) != 0)
			return ERR_USER_NOT_FOUND;
		return u->is_bot ? ERR_CANNOT_ADD_BOT : ERR_CANNOT_ADD_OTHERS;
	}
	/* Slack also takes a separate recurrence; "time" may carry one too. */
	const char *recur = api_str(c, "recurrence");
	char *when = recur && *recur ? xasprintf("%s %s", recur, time_s) : xstrdup(time_s);
	remind_when w;
	int64_t now = c->now_us / 1000000;
	rc = remind_parse(when, now, 0, &w);
	if (rc && recur && *recur) {
		/* "every monday" + "at 3pm"? or a recurrence we cannot read */
		free(when);
		return ERR_CANNOT_PARSE;
	}
	free(when);
	if (rc)
		return ERR_CANNOT_PARSE;
	reminder r = {0};
	ids_new(r.id, "Rm");
	snprintf(r.org_id, sizeof r.org_id, "%s", c->org->id);
	snprintf(r.creator, sizeof r.creator, "%s", c->me->id);
	snprintf(r.user_id, sizeof r.user_id, "%s", c->me->id);
	r.text = xstrdup(text);
	r.time = w.time;
	char rec[32];
	remind_recurrence_str(&w, rec);
	r.recurrence = xstrdup(rec);
	r.created = now;
	store_reminder_put(api_job(c), &r);
	json_object_set_new(c->out, "reminder", render(&r));
	reminder_release(&r);
	return 0;
}

int api_reminders_list(api_ctx *c)
{
	reminder *v;
	size_t n;
	int rc = store_reminders_of(c->env->store, c->me->id, &v, &n);
	if (rc)
		return rc;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		if (!strcmp(v[i].org_id, c->org->id))
			json_array_append_new(a, render(&v[i]));
	reminder_list_free(v, n);
	json_object_set_new(c->out, "reminders", a);
	return 0;
}

int api_reminders_info(api_ctx *c)
{
	reminder r;
	int rc = reminder_arg(c, &r);
	if (rc)
		return rc;
	json_object_set_new(c->out, "reminder", render(&r));
	reminder_release(&r);
	return 0;
}

int api_reminders_complete(api_ctx *c)
{
	reminder r;
	int rc = reminder_arg(c, &r);
	if (rc)
		return rc;
	if (r.recurrence[0])
		rc = ERR_CANNOT_COMPLETE_RECURRING;
	if (!rc && !r.complete_ts) {   /* completing twice keeps the first time */
		r.complete_ts = c->now_us / 1000000;
		store_reminder_put(api_job(c), &r);
	}
	reminder_release(&r);
	return rc;
}

int api_reminders_delete(api_ctx *c)
{
	reminder r;
	int rc = reminder_arg(c, &r);
	if (rc)
		return rc;
	store_reminder_del(api_job(c), r.id);
	reminder_release(&r);
	return 0;
}

/* ---- /remind ---- */

/* Is s (words w[i..n)) a time remind_parse understands? */
static bool parses(char **w, int i, int n, int64_t now, char **out)
{
	buf b = BUF_INIT;
	for (int k = i; k < n; k++) {
		if (k > i)
			buf_addc(&b, ' ');
		buf_adds(&b, w[k]);
	}
	char *s = buf_detach(&b, NULL);
	remind_when rw;
	if (remind_parse(s, now, 0, &rw) == 0) {
		*out = s;
		return true;
	}
	free(s);
	return false;
}

static char *join_words(char **w, int i, int n)
{
	buf b = BUF_INIT;
	for (int k = i; k < n; k++) {
		if (k > i)
			buf_addc(&b, ' ');
		buf_adds(&b, w[k]);
	}
	return buf_detach(&b, NULL);
}

int api_remind_command(api_ctx *c, channel *ch, const char *text)
{
	/* /remind me|@me|<@ME> [to] WHAT WHEN   or   /remind me WHEN [to] WHAT */
	char *copy = xstrdup(text);
	char *w[64];
	int n = 0;
	for (char *p = strtok(copy, " \t\r\n"); p && n < 64; p = strtok(NULL, " \t\r\n"))
		w[n++] = p;
	int rc = 0;
	char *what = NULL, *when = NULL;
	int64_t now = c->now_us / 1000000;
	if (n < 1) {
		rc = ERR_CANNOT_PARSE;
		goto out;
	}
	const char *who = w[0];
	char mine[ID_MAX + 4];
	snprintf(mine, sizeof mine, "<@%s", c->me->id);
	size_t ml = strlen(mine);
	bool me = !strcasecmp(who, "me") ||
		  (c->me->name && who[0] == '@' && !strcmp(who + 1, c->me->name)) ||
		  (!strncmp(who, mine, ml) && (who[ml] == '>' || who[ml] == '|'));
	if (!me) {
		rc = ERR_CANNOT_ADD_OTHERS;
		goto out;
	}
	int start = 1;
	/* WHEN first: the longest prefix that parses, then "to" */
	for (int k = n; k > start && !when; k--)
		if (k < n && !strcasecmp(w[k], "to") && parses(w, start, k, now, &when))
			what = join_words(w, k + 1, n);
	if (!when) {
		if (start < n && !strcasecmp(w[start], "to"))
			start++;
		/* WHAT first: the shortest text before a time that parses */
		for (int k = start + 1; k < n && !when; k++)
			if (parses(w, k, n, now, &when))
				what = join_words(w, start, k);
	}
	if (!when || !what || !*what) {
		free(what);
		what = NULL;
		rc = ERR_CANNOT_PARSE;
		goto out;
	}
	/* Strip quotes people put around the text. */
	size_t wl = strlen(what);
	if (wl >= 2 && ((what[0] == '"' && what[wl - 1] == '"') || (what[0] == '\'' && what[wl - 1] == '\''))) {
		memmove(what, what + 1, wl - 2);
		what[wl - 2] = '\0';
	}
	rc = api_run_with_args(c, api_reminders_add, json_pack("{s:s,s:s}", "text", what, "time", when));
	if (rc)
		goto out;
	remind_when rw;
	remind_parse(when, now, 0, &rw);
	char *msg = rw.freq == REMIND_ONCE
			    ? xasprintf("OK, I'll remind you \xE2\x80\x9C%s\xE2\x80\x9D at <!date^%lld^{date_short_pretty} {time}|%lld>.",
					what, (long long)rw.time, (long long)rw.time)
			    : xasprintf("OK, I'll remind you \xE2\x80\x9C%s\xE2\x80\x9D %s.", what, when);
	api_content mc = {.text = msg};
	int64_t ts = api_ephemeral_send(c, ch, c->me->id, NULL, &mc, 0);
	json_object_set_new(c->out, "response",
			    json_pack("{s:s,s:s,s:o}", "response_type", "ephemeral", "text", msg, "ts",
				      api_ts_json(ts)));
	free(msg);
out:
	free(what);
	free(when);
	free(copy);
	return rc;
}

/* ---- firing ---- */

struct api_reminders {
	api_env *env;
	uv_timer_t *timer;
	int inflight;          /* fires not answered yet */
	bool stopping;
};

typedef struct fire {
	api_reminders *r;
	reminder rem;
	token tok;             /* the reminder's person, as the caller */
} fire;

/* The org's Slackbot: a bot user without an app, created on first use. */
static user *slackbot(api_ctx *c)
{
	core_state *s = c->env->state;
	user *u = core_user_by_name(s, c->org->id, "slackbot");
	if (u && u->is_bot && !u->app_id[0] && !u->deleted)
		return u;
	char name[32] = "slackbot";
	for (int k = 2; u && k < 100; k++) {
		snprintf(name, sizeof name, "slackbot%d", k);
		u = core_user_by_name(s, c->org->id, name);
		if (u && u->is_bot && !u->app_id[0] && !u->deleted)
			return u;
	}
	char id[ID_MAX];
	ids_new(id, "U");
	u = core_user_new(id, c->org->id);
	u->name = xstrdup(name);
	u->real_name = xstrdup("Slackbot");
	u->display_name = xstrdup("Slackbot");
	u->tz = xstrdup("UTC");
	u->avatar_hash = ids_secret_hex(6);
	u->is_bot = true;
	u->created = u->updated = c->now_us / 1000000;
	core_user_add(s, u);
	store_put_user(api_job(c), u);
	return u;
}

/* Advances or retires a reminder after it fired (or could not). */
static void after_fire(reminder *r, int64_t now)
{
	remind_when w;
	if (r->recurrence[0] && remind_recurrence_parse(r->recurrence, &w) == 0)
		r->time = remind_next(&w, r->time > now ? r->time : now, 0);
	else
		r->fired = 1;
}

/* The reminder a fire carries in its arguments (what tick_cb read). */
static void reminder_of_args(json_t *a, reminder *r)
{
	memset(r, 0, sizeof *r);
#define STR(f, k) snprintf(r->f, sizeof r->f, "%s", json_string_value(json_object_get(a, k)) ? json_string_value(json_object_get(a, k)) : "")
	STR(id, "id");
	STR(org_id, "org_id");
	STR(creator, "creator");
	STR(user_id, "user");
#undef STR
	const char *t = json_string_value(json_object_get(a, "text"));
	const char *rec = json_string_value(json_object_get(a, "recurrence"));
	r->text = xstrdup(t ? t : "");
	r->recurrence = xstrdup(rec ? rec : "");
	r->time = json_integer_value(json_object_get(a, "time"));
	r->created = json_integer_value(json_object_get(a, "created"));
}

static json_t *args_of_reminder(const reminder *r)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "id", r->id, "org_id", r->org_id,
			 "creator", r->creator, "user", r->user_id, "text", r->text, "recurrence",
			 r->recurrence, "time", (json_int_t)r->time, "created", (json_int_t)r->created);
}

/* Runs as the reminder's person: Slackbot's DM to them, then the
 * reminder moves on (same job: the message and the move commit together). */
static int fire_handler(api_ctx *c)
{
	reminder r;
	reminder_of_args(c->args, &r);
	user *bot = slackbot(c);
	channel *ch = api_im_open(c, bot);
	message m;
	message_init(&m);
	snprintf(m.user_id, sizeof m.user_id, "%s", bot->id);
	m.text = xasprintf("Reminder: %s.", r.text);
	api_post(c, ch, &m);
	message_release(&m);
	after_fire(&r, c->now_us / 1000000);
	store_reminder_put(api_job(c), &r);
	reminder_release(&r);
	return 0;
}

static void reminders_free(api_reminders *r);

static void retire_done(void *ud, int err)
{
	api_reminders *r = ud;
	if (--r->inflight == 0 && r->stopping)
		reminders_free(r);
}

static void fire_done(void *ud, json_t *answer, int status)
{
	fire *f = ud;
	api_reminders *r = f->r;
	if (!json_is_true(json_object_get(answer, "ok"))) {
		/* The person is gone (or the post failed): do not try forever. */
		log_warn("reminder not delivered", "id=%s user=%s error=%s", f->rem.id,
			 f->rem.user_id, json_string_value(json_object_get(answer, "error")));
		if (r->env->store && !r->stopping) {
			after_fire(&f->rem, clock_now_s());
			store_job *job = store_job_new(r->env->store);
			store_reminder_put(job, &f->rem);
			r->inflight++;
			store_submit(r->env->store, job, retire_done, r);
		}
	}
	json_decref(answer);
	reminder_release(&f->rem);
	free(f);
	if (--r->inflight == 0 && r->stopping)
		reminders_free(r);
}

static void tick_cb(uv_timer_t *t)
{
	api_reminders *r = t->data;
	if (r->inflight || r->stopping)
		return;   /* the last batch is still being written */
	reminder *v;
	size_t n;
	if (store_reminders_due(r->env->store, clock_now_s(), REMIND_BATCH, &v, &n) != 0)
		return;
	for (size_t i = 0; i < n; i++) {
		fire *f = xcalloc(1, sizeof *f);
		f->r = r;
		f->rem = v[i];
		f->tok.kind = TOKEN_USER;
		snprintf(f->tok.org_id, sizeof f->tok.org_id, "%s", v[i].org_id);
		snprintf(f->tok.user_id, sizeof f->tok.user_id, "%s", v[i].user_id);
		r->inflight++;
		json_t *args = args_of_reminder(&f->rem);
		api_call_fn(r->env, "reminders.fire", fire_handler, args, &f->tok, fire_done, f);
		json_decref(args);
	}
	free(v);   /* the rows' strings moved into the fires */
}

api_reminders *api_reminders_start(api_env *env, uv_loop_t *loop)
{
	api_reminders *r = xcalloc(1, sizeof *r);
	r->env = env;
	r->timer = xcalloc(1, sizeof *r->timer);
	uv_timer_init(loop, r->timer);
	r->timer->data = r;
	uv_timer_start(r->timer, tick_cb, 0, REMIND_TICK_MS);
	uv_unref((uv_handle_t *)r->timer);
	return r;
}

static void timer_closed(uv_handle_t *h)
{
	free(h);
}

static void reminders_free(api_reminders *r)
{
	free(r);
}

void api_reminders_stop(api_reminders *r)
{
	if (!r)
		return;
	uv_timer_stop(r->timer);
	if (!uv_is_closing((uv_handle_t *)r->timer))
		uv_close((uv_handle_t *)r->timer, timer_closed);
	r->stopping = true;
	if (r->inflight == 0)
		reminders_free(r);
}
