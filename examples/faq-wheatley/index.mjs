// faq-wheatley: the /wheatley FAQ command. "/wheatley help-security" lists
// the security user groups (usergroups.list) and links the security
// handbook; other topics come from a small table. Answers are ephemeral
// (only the person who asked sees them).
//
//   SLACK_API_URL=... SLACK_BOT_TOKEN=xoxb-... SLACK_APP_TOKEN=xapp-... \
//   node examples/faq-wheatley/index.mjs
//
// Manifest: slash command /wheatley; bot scopes commands, chat:write,
// usergroups:read; socket_mode_enabled.
import bolt from '@slack/bolt';

const { App, LogLevel } = bolt;

export const HANDBOOK = 'https://intranet.example/security-handbook';

const TOPICS = {
	'help-wifi': 'Guest Wi-Fi: network "visitors", the password is on the reception desk.',
	'help-vpn': 'VPN: install the client from https://intranet.example/vpn and sign in with SSO.',
};

const app = new App({
	token: process.env.SLACK_BOT_TOKEN,
	appToken: process.env.SLACK_APP_TOKEN,
	socketMode: true,
	logLevel: LogLevel.WARN,
	clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});

app.command('/wheatley', async ({ command, ack, respond, client }) => {
	await ack();
	const topic = command.text.trim().toLowerCase();
	if (topic === 'help-security') {
		const { usergroups } = await client.usergroups.list();
		const sec = usergroups.filter((g) => /secur|secops/i.test(`${g.handle} ${g.name}`));
		const who = sec.length
			? sec.map((g) => `<!subteam^${g.id}|@${g.handle}> (${g.name})`).join(', ')
			: 'no security group yet';
		await respond({
			text: `Security questions go to ${who}. Handbook: ${HANDBOOK}`,
			blocks: [
				{ type: 'section', text: { type: 'mrkdwn', text: `*Security help*\nAsk ${who}.` } },
				{ type: 'section', text: { type: 'mrkdwn', text: `<${HANDBOOK}|Security handbook>` } },
			],
		});
		return;
	}
	if (TOPICS[topic]) {
		await respond(TOPICS[topic]);
		return;
	}
	await respond(`Usage: /wheatley help-security | ${Object.keys(TOPICS).join(' | ')}`);
});

await app.start();
console.log('faq-wheatley ready');
