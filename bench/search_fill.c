/* canal-search-fill: fills a Canal data directory with many messages for
 * the search benchmark (bench/search-run), through the offline store API,
 * so the index is built by the same code as the server's writes.
 *
 *   canal-search-fill --data DIR --messages N [--channels C] [--users U]
 *                     [--words W] [--seed S] [--queries FILE --nqueries Q]
 *
 * DIR must hold one organisation (canal admin org create). The program adds
 * C public channels and U people to it, then N messages spread over the
 * last year, each 6 to 20 words drawn from a vocabulary of W made-up words
 * with a Zipf distribution (rank r has weight 1/r), as in natural text: a
 * few words are everywhere, most are rare. It then writes Q two-word
 * queries (one per line) of words of rank 10 to 250 to FILE, the kind of
 * topical words people search for: on a million messages a query
 * matches about a hundred at the median and several hundred at p95.
 * Prints one line: messages=N seconds=S rate=R.
 * Deterministic for a seed. Commits in jobs of 20000 messages with
 * synchronous=OFF: a bulk load, not a durability test. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/ids.h"
#include "base/xalloc.h"
#include "core/message.h"
#include "core/state.h"
#include "store/store.h"

#define JOB_MESSAGES 20000

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static double rng01(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

/* Word i of the vocabulary: syllables from its index, 2 to 4 of them. */
static char *make_word(size_t i)
{
	static const char *const syl[] = {"ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "vu", "ze",
					  "bar", "den", "fol", "gri", "hut", "jas", "kel", "mor",
					  "nix", "pol", "quin", "rust", "sol", "tam", "ulm", "ver",
					  "wen", "xor", "yel", "zun"};
	const size_t ns = sizeof syl / sizeof syl[0];
	char buf[64] = "";
	size_t v = i + ns * ns; /* at least three syllables: no short English words */
	while (v) {
		strcat(buf, syl[v % ns]);
		v /= ns;
	}
	return xstrdup(buf);
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void done_cb(void *ud, int err)
{
	*(int *)ud = err;
}

static int submit(store *st, store_job *j)
{
	int err = -1;
	store_submit(st, j, done_cb, &err);
	return err;
}

int main(int argc, char **argv)
{
	const char *dir = NULL, *qfile = NULL;
	long nmsg = 1000000, nchan = 200, nusers = 50, nwords = 20000, nq = 500;
	unsigned long long seed = 1;
	static const struct option opts[] = {
		{"data", required_argument, NULL, 'd'},     {"messages", required_argument, NULL, 'n'},
		{"channels", required_argument, NULL, 'c'}, {"users", required_argument, NULL, 'u'},
		{"words", required_argument, NULL, 'w'},    {"seed", required_argument, NULL, 's'},
		{"queries", required_argument, NULL, 'q'},  {"nqueries", required_argument, NULL, 'Q'},
		{NULL, 0, NULL, 0},
	};
	int o;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'd': dir = optarg; break;
		case 'n': nmsg = atol(optarg); break;
		case 'c': nchan = atol(optarg); break;
		case 'u': nusers = atol(optarg); break;
		case 'w': nwords = atol(optarg); break;
		case 's': seed = strtoull(optarg, NULL, 10); break;
		case 'q': qfile = optarg; break;
		case 'Q': nq = atol(optarg); break;
		default: return 2;
		}
	}
	if (!dir || nmsg < 1 || nchan < 1 || nusers < 1 || nwords < 2000) {
		fprintf(stderr, "usage: canal-search-fill --data DIR [--messages N] [--channels C]"
				" [--users U] [--words W>=2000] [--seed S] [--queries FILE]\n");
		return 2;
	}
	rng_state ^= seed * 0x9e3779b97f4a7c15ULL;
	if (ids_init() != 0)
		return 1;

	char err[256];
	store_cfg cfg = {.dir = dir, .sync = STORE_SYNC_OFF};
	store *st = store_open(&cfg, NULL, err, sizeof err);
	if (!st) {
		fprintf(stderr, "canal-search-fill: %s\n", err);
		return 1;
	}
	core_state s;
	core_state_init(&s);
	if (store_load(st, &s) != 0) {
		fprintf(stderr, "canal-search-fill: cannot load %s\n", dir);
		return 1;
	}
	org *og = NULL;
	size_t it = 0;
	const char *key;
	void *val;
	while (map_next(&s.orgs, &it, &key, &val))
		og = val;
	if (!og) {
		fprintf(stderr, "canal-search-fill: no organisation in %s\n", dir);
		return 1;
	}

	/* People and channels. */
	int64_t now_s = (int64_t)time(NULL);
	store_job *j = store_job_new(st);
	char **uids = xcalloc((size_t)nusers, sizeof *uids);
	for (long i = 0; i < nusers; i++) {
		char id[ID_MAX], name[32];
		ids_new(id, "U");
		snprintf(name, sizeof name, "member%ld", i);
		user *u = core_user_new(id, og->id);
		u->name = xstrdup(name);
		u->real_name = xstrdup(name);
		u->tz = xstrdup("UTC");
		u->created = u->updated = now_s;
		core_user_add(&s, u);
		store_put_user(j, u);
		uids[i] = xstrdup(id);
	}
	char **cids = xcalloc((size_t)nchan, sizeof *cids);
	for (long i = 0; i < nchan; i++) {
		char id[ID_MAX], name[32];
		ids_new(id, "C");
		snprintf(name, sizeof name, "topic-%ld", i);
		channel *c = core_channel_new(id, og->id, CHAN_PUBLIC);
		c->name = xstrdup(name);
		snprintf(c->creator, sizeof c->creator, "%s", uids[0]);
		c->created = now_s;
		c->updated = now_s * 1000;
		core_channel_add(&s, c);
		store_put_channel(j, c);
		for (long k = 0; k < nusers; k++)
			store_put_member(j, id, core_member_add(c, uids[k], now_s));
		cids[i] = xstrdup(id);
	}
	if (submit(st, j) != 0) {
		fprintf(stderr, "canal-search-fill: creating people and channels failed\n");
		return 1;
	}

	/* Zipf sampling by inverse CDF over a cumulative table. */
	char **words = xcalloc((size_t)nwords, sizeof *words);
	double *cdf = xcalloc((size_t)nwords, sizeof *cdf);
	double sum = 0;
	for (long i = 0; i < nwords; i++) {
		words[i] = make_word((size_t)i);
		sum += 1.0 / (double)(i + 1);
		cdf[i] = sum;
	}

	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int64_t start_ts = (now_s - 365LL * 86400) * 1000000LL;
	int64_t step = 365LL * 86400 * 1000000LL / nmsg;
	if (step < 1)
		step = 1;
	char text[512];
	j = store_job_new(st);
	long in_job = 0;
	for (long i = 0; i < nmsg; i++) {
		int nw = 6 + (int)(rng() % 15);
		size_t len = 0;
		for (int w = 0; w < nw; w++) {
			double x = rng01() * sum;
			long lo = 0, hi = nwords - 1;
			while (lo < hi) {
				long mid = (lo + hi) / 2;
				if (cdf[mid] < x)
					lo = mid + 1;
				else
					hi = mid;
			}
			len += (size_t)snprintf(text + len, sizeof text - len, "%s%s", w ? " " : "", words[lo]);
			if (len >= sizeof text - 32)
				break;
		}
		message m;
		message_init(&m);
		snprintf(m.channel_id, sizeof m.channel_id, "%s", cids[rng() % (uint64_t)nchan]);
		snprintf(m.org_id, sizeof m.org_id, "%s", og->id);
		snprintf(m.user_id, sizeof m.user_id, "%s", uids[rng() % (uint64_t)nusers]);
		m.ts = start_ts + i * step;
		m.text = text;
		store_msg_insert(j, &m);
		m.text = NULL;
		message_release(&m);
		if (++in_job == JOB_MESSAGES || i == nmsg - 1) {
			if (submit(st, j) != 0) {
				fprintf(stderr, "canal-search-fill: insert failed near message %ld\n", i);
				return 1;
			}
			j = i == nmsg - 1 ? NULL : store_job_new(st);
			in_job = 0;
		}
	}
	double secs = elapsed(&t0);

	if (qfile) {
		FILE *f = fopen(qfile, "w");
		if (!f) {
			perror(qfile);
			return 1;
		}
		for (long i = 0; i < nq; i++) {
			long a = 10 + (long)(rng() % 240), b = 10 + (long)(rng() % 240);
			if (b == a)
				b = a + 1;
			fprintf(f, "%s %s\n", words[a], words[b]);
		}
		fclose(f);
	}
	printf("messages=%ld seconds=%.1f rate=%.0f\n", nmsg, secs, (double)nmsg / secs);

	store_close(st);
	core_state_release(&s);
	for (long i = 0; i < nwords; i++)
		free(words[i]);
	free(words);
	free(cdf);
	for (long i = 0; i < nusers; i++)
		free(uids[i]);
	for (long i = 0; i < nchan; i++)
		free(cids[i]);
	free(uids);
	free(cids);
	return 0;
}
