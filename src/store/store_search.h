/* Message search (search.messages): the store side.
 *
 * Index: every message a person would want to find (plain, bot, /me and
 * thread-broadcast messages; not joins, topic changes or tombstones) is
 * indexed by the writer, as what a person reads in it: its text and the
 * readable text of its blocks and attachments (search_text_index).
 * Edits re-index, deletions unindex. Unless the writer is saturated, that
 * happens in the same transaction as the change itself, so a message is
 * found as soon as its post is answered; under sustained load the index
 * may lag by up to a thousand messages or 250 ms (sqlite_search.c
 * explains). The SQLite backend keeps an FTS5 table (migration
 * SLOT-SEARCH).
 *
 * Reads: store_search_messages never decides who may see what. The
 * caller passes the exact set of channels to look in (visibility, in:,
 * to: already applied, from hot state), and every filter runs in the same
 * query as the text match, so totals and pages are exact. */
#ifndef CANAL_STORE_STORE_SEARCH_H
#define CANAL_STORE_STORE_SEARCH_H
#include <stdbool.h>
#include <stddef.h>

#include "core/message.h"
#include "core/search_query.h"

struct store;

typedef enum store_search_sort {
	STORE_SEARCH_SCORE,     /* relevance (BM25), newest first among equals */
	STORE_SEARCH_TIMESTAMP,
} store_search_sort;

typedef struct store_search_req {
	/* Words, phrases and exclusions, dates, has:, is:. Its in:, from:
	 * and to: lists are NOT read here: the caller resolves them into
	 * channels, from and not_from. */
	const search_query *q;
	const char *const *channels;   /* look only here; none: nothing matches */
	size_t nchannels;
	bool from_set;                 /* restrict authors to from[] (empty: nothing matches) */
	const char *const *from;
	size_t nfrom;
	const char *const *not_from;   /* authors left out */
	size_t nnot_from;
	store_search_sort sort;
	bool ascending;                /* sort_dir=asc: worst / oldest first */
	size_t offset, limit;          /* the page wanted, after sorting */
} store_search_req;

typedef struct store_search_hit {
	message msg;                   /* the stored row, not decorated */
	double score;                  /* higher is more relevant; 0 without words */
} store_search_hit;

/* The page [offset, offset+limit) of the messages matching r, sorted, in
 * *out (heap, store_search_hits_free), and in *total how many match in
 * all. 0, or ERR_INTERNAL_ERROR. Loop thread, committed data. */
int store_search_messages(struct store *st, const store_search_req *r, store_search_hit **out,
			  size_t *n, size_t *total);
void store_search_hits_free(store_search_hit *h, size_t n);

#endif
