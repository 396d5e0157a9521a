// review-feed: posts app store reviews into a channel through an incoming
// webhook (@slack/webhook), one message per review, then exits.
//
//   SLACK_WEBHOOK_URL=http://127.0.0.1:8080/services/T.../B.../... \
//   REVIEWS_FILE=reviews.json node examples/review-feed/index.mjs
//
// REVIEWS_FILE (optional): a JSON array of {author, rating (1-5), title,
// body, store}; without it a few sample reviews are posted.
import { readFile } from 'node:fs/promises';
import { IncomingWebhook } from '@slack/webhook';

const SAMPLE = [
	{ author: 'mika_r', rating: 5, title: 'Finally fast', body: 'Search is instant now.', store: 'App Store' },
	{ author: 'jd2000', rating: 2, title: 'Crashes on login', body: 'Since the last update it closes when I sign in.', store: 'Google Play' },
	{ author: 'lea', rating: 4, title: 'Nice widgets', body: 'Would love a dark mode for them.', store: 'App Store' },
];

export function stars(n) {
	const k = Math.max(0, Math.min(5, Math.round(n)));
	return '★'.repeat(k) + '☆'.repeat(5 - k);
}

export function reviewMessage(r) {
	const head = `${stars(r.rating)} ${r.title} (${r.store})`;
	return {
		text: `${head} by ${r.author}: ${r.body}`,
		blocks: [
			{ type: 'section', text: { type: 'mrkdwn', text: `*${head}*\n${r.body}` } },
			{ type: 'context', elements: [{ type: 'mrkdwn', text: `by ${r.author}` }] },
		],
		unfurl_links: false,
	};
}

const url = process.env.SLACK_WEBHOOK_URL;
if (!url) {
	console.error('review-feed: SLACK_WEBHOOK_URL is required');
	process.exit(2);
}
const reviews = process.env.REVIEWS_FILE ? JSON.parse(await readFile(process.env.REVIEWS_FILE, 'utf8')) : SAMPLE;
const hook = new IncomingWebhook(url);
for (const r of reviews) {
	const res = await hook.send(reviewMessage(r));
	if (res.text !== 'ok') throw new Error(`webhook answered ${res.text}`);
}
console.log(`review-feed: posted ${reviews.length} reviews`);
