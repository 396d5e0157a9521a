// routing-bot: answers direct messages by keyword ("who is the coordinator
// today?" -> today's coordinator from a small rota). A Bolt app in Socket
// Mode; point it at Canal with SLACK_API_URL.
//
//   SLACK_API_URL=http://127.0.0.1:8080/api/ SLACK_BOT_TOKEN=xoxb-... \
//   SLACK_APP_TOKEN=xapp-... node examples/routing-bot/index.mjs
//
// Manifest: bot scopes chat:write, im:history, im:read; bot event
// message.im; socket_mode_enabled.
import bolt from '@slack/bolt';

const { App, LogLevel } = bolt;

// Who coordinates on each weekday (Sunday first).
const ROTA = ['Nadia', 'Omar', 'Priya', 'Quentin', 'Rosa', 'Samir', 'Tove'];

// Keyword routes: the first whose pattern matches answers.
const ROUTES = [
	{ match: /coordinator/i, answer: (now) => `Today's coordinator is ${ROTA[now.getUTCDay()]}.` },
	{ match: /on[- ]?call|pager/i, answer: () => 'The on-call engineer is paged through #ops-oncall (`/pd trigger`).' },
	{ match: /vacation|holiday|leave/i, answer: () => 'Time off requests go to #people-ops: https://intranet.example/leave' },
	{ match: /expense|receipt/i, answer: () => 'Expenses: https://intranet.example/expenses (due by the 5th).' },
];

export function route(text, now = new Date()) {
	for (const r of ROUTES) if (r.match.test(text)) return r.answer(now);
	return 'I can help with: the coordinator today, on-call, vacation, expenses.';
}

const app = new App({
	token: process.env.SLACK_BOT_TOKEN,
	appToken: process.env.SLACK_APP_TOKEN,
	socketMode: true,
	logLevel: LogLevel.WARN,
	clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});

app.message(async ({ message, say }) => {
	// Direct messages only; people's own messages only (no edits, no bots).
	if (message.channel_type !== 'im' || message.subtype || message.bot_id) return;
	await say(route(message.text || ''));
});

await app.start();
console.log('routing-bot ready');
