/* Prefix search terms, stemmed and as typed.
 *
 * The index uses FTS5's porter tokenizer, and FTS5 runs query terms through
 * the table's tokenizer, prefix terms included: "zqgydkly*" was stemmed to
 * "zqgydkli*" (porter turns a final y into i) and no longer found
 * "zqgydklyea" (seen as a flaky e2e test: the words are random). Yet
 * "deploy*" must keep finding "deployed", indexed as "deploi". So a prefix
 * matches either way: as stemmed, or as typed.
 *
 * On each connection, a tokenizer registered under porter's own name wraps
 * the real one. For prefix query terms (FTS5_TOKENIZE_PREFIX) it emits each
 * stemmed token and, where it differs, the token as typed (the tokenizer
 * porter wraps: unicode61 with the table's arguments) at the same position
 * (FTS5_TOKEN_COLOCATED: a synonym, either may match). Everything else,
 * documents included, goes through porter as before: the index does not
 * change. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/xalloc.h"
#include "store/sqlite/sqlite_internal.h"

typedef struct wrap_ud {
	fts5_api *api;
	fts5_tokenizer porter;     /* the built-in porter, found before we took its name */
	void *porter_ud;
} wrap_ud;

typedef struct wrap_tok {
	const wrap_ud *ud;
	Fts5Tokenizer *stemmed;    /* porter over the parent */
	fts5_tokenizer parent;     /* the parent tokenizer's methods ... */
	Fts5Tokenizer *plain;      /* ... and an instance of it, for prefixes */
} wrap_tok;

static void wrap_delete(Fts5Tokenizer *t)
{
	wrap_tok *w = (wrap_tok *)t;
	if (!w)
		return;
	if (w->stemmed)
		w->ud->porter.xDelete(w->stemmed);
	if (w->plain)
		w->parent.xDelete(w->plain);
	free(w);
}

/* Arguments as porter takes them: an optional parent tokenizer name and
 * its arguments ("unicode61" when none is given). */
static int wrap_create(void *ctx, const char **argv, int argc, Fts5Tokenizer **out)
{
	wrap_ud *ud = ctx;
	wrap_tok *w = xcalloc(1, sizeof *w);
	w->ud = ud;
	int rc = ud->porter.xCreate(ud->porter_ud, argv, argc, &w->stemmed);
	const char *parent = argc > 0 ? argv[0] : "unicode61";
	void *parent_ud = NULL;
	if (rc == SQLITE_OK)
		rc = ud->api->xFindTokenizer(ud->api, parent, &parent_ud, &w->parent);
	if (rc == SQLITE_OK)
		rc = w->parent.xCreate(parent_ud, argc > 0 ? argv + 1 : NULL, argc > 0 ? argc - 1 : 0,
				       &w->plain);
	if (rc != SQLITE_OK) {
		wrap_delete((Fts5Tokenizer *)w);
		*out = NULL;
		return rc;
	}
	*out = (Fts5Tokenizer *)w;
	return SQLITE_OK;
}

/* Tokens of one pass, copied. */
typedef struct toks {
	struct tk { char *p; int n; } *v;
	int n, cap;
} toks;

static int collect_cb(void *ctx, int tflags, const char *p, int n, int start, int end)
{
	toks *t = ctx;
	if (tflags & FTS5_TOKEN_COLOCATED)
		return SQLITE_OK;   /* a synonym of the previous one: not from these tokenizers */
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->v = xrealloc(t->v, (size_t)t->cap * sizeof *t->v);
	}
	t->v[t->n].p = xstrndup(p, (size_t)n);
	t->v[t->n++].n = n;
	return SQLITE_OK;
}

static void toks_free(toks *t)
{
	for (int i = 0; i < t->n; i++)
		free(t->v[i].p);
	free(t->v);
}

static int wrap_tokenize(Fts5Tokenizer *t, void *ctx, int flags, const char *text, int n,
			 int (*on_token)(void *, int, const char *, int, int, int))
{
	wrap_tok *w = (wrap_tok *)t;
	if (!(flags & FTS5_TOKENIZE_PREFIX))
		return w->ud->porter.xTokenize(w->stemmed, ctx, flags, text, n, on_token);
	toks st = {0}, pl = {0};
	int rc = w->ud->porter.xTokenize(w->stemmed, &st, flags, text, n, collect_cb);
	if (rc == SQLITE_OK)
		rc = w->parent.xTokenize(w->plain, &pl, flags, text, n, collect_cb);
	/* Porter stems the parent's tokens one for one; if not, stemmed only. */
	bool pair = rc == SQLITE_OK && pl.n == st.n;
	for (int i = 0; rc == SQLITE_OK && i < st.n; i++) {
		rc = on_token(ctx, 0, st.v[i].p, st.v[i].n, 0, n);
		if (rc == SQLITE_OK && pair &&
		    (pl.v[i].n != st.v[i].n || memcmp(pl.v[i].p, st.v[i].p, (size_t)st.v[i].n) != 0))
			rc = on_token(ctx, FTS5_TOKEN_COLOCATED, pl.v[i].p, pl.v[i].n, 0, n);
	}
	toks_free(&st);
	toks_free(&pl);
	return rc;
}

static fts5_api *fts5_of(sqlite3 *db)
{
	fts5_api *api = NULL;
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, "SELECT fts5(?1)", -1, &s, NULL) != SQLITE_OK)
		return NULL;
	sqlite3_bind_pointer(s, 1, (void *)&api, "fts5_api_ptr", NULL);
	sqlite3_step(s);
	sqlite3_finalize(s);
	return api;
}

int sqlite__fts_prefix_register(sqlite3 *db)
{
	fts5_api *api = fts5_of(db);
	if (!api)
		return SQLITE_ERROR;
	wrap_ud *ud = xcalloc(1, sizeof *ud);
	ud->api = api;
	int rc = api->xFindTokenizer(api, "porter", &ud->porter_ud, &ud->porter);
	if (rc != SQLITE_OK) {
		free(ud);
		return rc;
	}
	static const fts5_tokenizer wrap = {wrap_create, wrap_delete, wrap_tokenize};
	/* ud is freed by SQLite (free) when the connection closes. */
	return api->xCreateTokenizer(api, "porter", ud, (fts5_tokenizer *)&wrap, free);
}
