/* Messages as carried between the store and the API layer, and the
 * mention scanner used for notifications.
 *
 * Mentions are read from the escaped mrkdwn Slack stores: a literal '<' or
 * '>' typed by a user arrives as "&lt;" / "&gt;", so every '<' in stored
 * text opens a control sequence and the first '>' after it closes it.
 * Anything that is not a well-formed user, special or subteam mention is
 * skipped, never guessed at: a notification sent to the wrong person is
 * worse than a missed one. */
#include "core/message.h"

#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"

void message_init(message *m)
{
	memset(m, 0, sizeof *m);
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void message_release(message *m)
{
	free(m->subtype);
	free(m->text);
	free(m->blocks);
	free(m->attachments);
	free(m->metadata);
	free(m->extra);
	free(m->client_msg_id);
	strv_free(m->reply_users, m->nreply_users);
	for (size_t i = 0; i < m->nreactions; i++) {
		free(m->reactions[i].name);
		strv_free(m->reactions[i].users, m->reactions[i].nusers);
	}
	free(m->reactions);
	strv_free(m->pinned_to, m->npinned);
	/* Leave it re-usable (and safe to release twice). */
	message_init(m);
}

void message_list_free(message *ms, size_t n)
{
	if (!ms)
		return;
	for (size_t i = 0; i < n; i++)
		message_release(&ms[i]);
	free(ms);
}

/* ---- mentions ---- */

/* Length of the [A-Z0-9]+ id at p, or 0 if there is none or it is too long
 * to fit a mention's id field. */
static size_t id_span(const char *p, const char *end)
{
	size_t n = 0;
	while (p + n < end && ((p[n] >= 'A' && p[n] <= 'Z') || (p[n] >= '0' && p[n] <= '9')))
		n++;
	return n < ID_MAX ? n : 0;
}

/* After an id or keyword, the sequence must end there or continue with a
 * "|label" (the label is display text, never trusted). */
static int ends_ok(const char *p, const char *end)
{
	return p == end || *p == '|';
}

static int starts_with(const char *p, const char *end, const char *word, size_t *len)
{
	size_t n = strlen(word);
	if ((size_t)(end - p) < n || memcmp(p, word, n) != 0)
		return 0;
	*len = n;
	return 1;
}

static const struct {
	const char *word;
	mention_kind kind;
} specials[] = {
	{"here", MENTION_HERE},
	{"channel", MENTION_CHANNEL},
	{"everyone", MENTION_EVERYONE},
};

/* Parses the body of one "<...>" (p..end, brackets excluded). Returns 1 and
 * fills *m for a mention. */
static int parse_one(const char *p, const char *end, mention *m)
{
	size_t n;
	memset(m, 0, sizeof *m);
	if (p == end)
		return 0;
	if (*p == '@') {
		p++;
		n = id_span(p, end);
		if (!n || !ends_ok(p + n, end))
			return 0;
		m->kind = MENTION_USER;
		memcpy(m->id, p, n);
		return 1;
	}
	if (*p != '!')
		return 0;
	p++;
	if (starts_with(p, end, "subteam^", &n)) {
		p += n;
		n = id_span(p, end);
		if (!n || !ends_ok(p + n, end))
			return 0;
		m->kind = MENTION_SUBTEAM;
		memcpy(m->id, p, n);
		return 1;
	}
	for (size_t i = 0; i < sizeof specials / sizeof specials[0]; i++)
		if (starts_with(p, end, specials[i].word, &n) && ends_ok(p + n, end)) {
			m->kind = specials[i].kind;
			return 1;
		}
	return 0;
}

static int seen(const mention *v, size_t n, const mention *m)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].kind == m->kind && strcmp(v[i].id, m->id) == 0)
			return 1;
	return 0;
}

size_t mention_parse(const char *text, mention **out)
{
	mention *v = NULL;
	size_t n = 0, cap = 0;
	const char *p = text ? strchr(text, '<') : NULL;
	while (p) {
		const char *body = p + 1;
		const char *close = strchr(body, '>');
		if (!close)
			break; /* unterminated: nothing after it can be a sequence */
		/* "<a <@U1>": the first '<' was stray text; restart at the inner one. */
		const char *inner = memchr(body, '<', (size_t)(close - body));
		if (inner) {
			p = inner;
			continue;
		}
		mention m;
		if (parse_one(body, close, &m) && !seen(v, n, &m)) {
			if (n == cap) {
				cap = cap ? cap * 2 : 4;
				v = xrealloc(v, cap * sizeof *v);
			}
			v[n++] = m;
		}
		p = strchr(close + 1, '<');
	}
	*out = v;
	return n;
}
