// ticket-shortcut: "Create a ticket" from any message. The message
// shortcut create_ticket opens a modal pre-filled with the message; on
// submit a ticket card (requester, assignee, priority, original text and a
// link) is posted into #help-desk.
//
//   SLACK_API_URL=... SLACK_BOT_TOKEN=xoxb-... SLACK_APP_TOKEN=xapp-... \
//   HELP_DESK_CHANNEL=help-desk node examples/ticket-shortcut/index.mjs
//
// Manifest: message shortcut (callback_id create_ticket); interactivity;
// bot scopes chat:write, channels:read, channels:join; socket_mode_enabled.
import bolt from '@slack/bolt';

const { App, LogLevel } = bolt;

const app = new App({
	token: process.env.SLACK_BOT_TOKEN,
	appToken: process.env.SLACK_APP_TOKEN,
	socketMode: true,
	logLevel: LogLevel.WARN,
	clientOptions: { slackApiUrl: process.env.SLACK_API_URL },
});

let ticketNo = 0;

app.shortcut('create_ticket', async ({ ack, shortcut, client }) => {
	await ack();
	const text = shortcut.message.text || '';
	const meta = JSON.stringify({ channel: shortcut.channel.id, ts: shortcut.message_ts, text, author: shortcut.message.user });
	await client.views.open({
		trigger_id: shortcut.trigger_id,
		view: {
			type: 'modal',
			callback_id: 'ticket_modal',
			private_metadata: meta,
			title: { type: 'plain_text', text: 'New ticket' },
			submit: { type: 'plain_text', text: 'Create' },
			close: { type: 'plain_text', text: 'Cancel' },
			blocks: [
				{ type: 'section', block_id: 'original', text: { type: 'mrkdwn', text: `>${text.replace(/\n/g, '\n>')}` } },
				{
					type: 'input', block_id: 'title', label: { type: 'plain_text', text: 'Title' },
					element: { type: 'plain_text_input', action_id: 'value', initial_value: text.slice(0, 80) },
				},
				{
					type: 'input', block_id: 'assignee', label: { type: 'plain_text', text: 'Assignee' },
					element: { type: 'users_select', action_id: 'user' },
				},
				{
					type: 'input', block_id: 'priority', optional: true, label: { type: 'plain_text', text: 'Priority' },
					element: {
						type: 'static_select', action_id: 'level',
						options: ['low', 'normal', 'high'].map((p) => ({ text: { type: 'plain_text', text: p }, value: p })),
					},
				},
			],
		},
	});
});

app.view('ticket_modal', async ({ ack, view, body, client }) => {
	const v = view.state.values;
	const title = (v.title.value.value || '').trim();
	if (!title) {
		await ack({ response_action: 'errors', errors: { title: 'A ticket needs a title' } });
		return;
	}
	await ack();
	const meta = JSON.parse(view.private_metadata);
	const assignee = v.assignee.user.selected_user;
	const priority = v.priority?.level?.selected_option?.value || 'normal';
	const { permalink } = await client.chat.getPermalink({ channel: meta.channel, message_ts: meta.ts });
	const channel = await helpDesk(client);
	const no = ++ticketNo;
	await client.chat.postMessage({
		channel,
		text: `Ticket #${no}: ${title} (requester <@${body.user.id}>, assignee <@${assignee}>)`,
		blocks: [
			{ type: 'header', text: { type: 'plain_text', text: `Ticket #${no}: ${title}` } },
			{
				type: 'section', fields: [
					{ type: 'mrkdwn', text: `*Requester*\n<@${body.user.id}>` },
					{ type: 'mrkdwn', text: `*Assignee*\n<@${assignee}>` },
					{ type: 'mrkdwn', text: `*Priority*\n${priority}` },
				],
			},
			{ type: 'section', text: { type: 'mrkdwn', text: `*Original message*\n>${meta.text}\n<${permalink}|View message>` } },
		],
	});
});

// #help-desk: HELP_DESK_CHANNEL is an id or a name; the bot joins it.
let helpDeskId = null;
async function helpDesk(client) {
	if (helpDeskId) return helpDeskId;
	const want = (process.env.HELP_DESK_CHANNEL || 'help-desk').replace(/^#/, '');
	let id = /^[CG][A-Z0-9]+$/.test(want) ? want : null;
	if (!id) {
		for await (const page of client.paginate('conversations.list', { types: 'public_channel', limit: 200 })) {
			const c = page.channels.find((x) => x.name === want);
			if (c) { id = c.id; break; }
		}
	}
	if (!id) throw new Error(`no channel ${want}`);
	await client.conversations.join({ channel: id });
	helpDeskId = id;
	return id;
}

await app.start();
await helpDesk(app.client);
console.log('ticket-shortcut ready');
