// welcome-bot: greets people who join a channel the bot is in
// (member_joined_channel) with the channel's resources.
//
//   SLACK_API_URL=... SLACK_BOT_TOKEN=xoxb-... SLACK_APP_TOKEN=xapp-... \
//   WELCOME_CHANNELS=C123,C456 node examples/welcome-bot/index.mjs
//
// WELCOME_CHANNELS (optional): channel ids the bot joins at start.
// Manifest: bot scopes chat:write, channels:read, channels:join; bot event
// member_joined_channel; socket_mode_enabled.
import bolt from '@slack/bolt';

const { App, LogLevel } = bolt;

export const RESOURCES = [
	['Team handbook', 'https://intranet.example/handbook'],
	['Who is who', 'https://intranet.example/people'],
	['IT help', 'https://intranet.example/it'],
];

const app = new App({
	token: process.env.SLACK_BOT_TOKEN,
	appToken: process.env.SLACK_APP_TOKEN,
	socketMode: true,
	logLevel: LogLevel.WARN,
	clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});

app.event('member_joined_channel', async ({ event, client, context }) => {
	if (event.user === context.botUserId) return; // our own join
	const links = RESOURCES.map(([name, url]) => `• <${url}|${name}>`).join('\n');
	await client.chat.postMessage({
		channel: event.channel,
		text: `Welcome <@${event.user}>! Start here:\n${links}`,
		blocks: [
			{ type: 'section', text: { type: 'mrkdwn', text: `:wave: Welcome <@${event.user}>!` } },
			{ type: 'section', text: { type: 'mrkdwn', text: `*Resources*\n${links}` } },
		],
	});
});

await app.start();
for (const id of (process.env.WELCOME_CHANNELS || '').split(',').filter(Boolean)) {
	await app.client.conversations.join({ channel: id });
}
console.log('welcome-bot ready');
