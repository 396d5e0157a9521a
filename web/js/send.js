// Sending: a message (shown at once, greyed until the server has it), or
// a slash command through chat.command with its answer shown.
import { api } from './api.js';
import { S, addOwn, applyEvent } from './state.js';
import { encodeMentions } from './autocomplete.js';
import { toast } from './util.js';

let local = 0;

export async function sendText(channel, raw, { thread_ts, broadcast } = {}) {
  const slash = raw.match(/^\/([\w-]+)(?:\s+([\s\S]*))?$/);
  if (slash && !thread_ts) {
    try {
      const r = await api('chat.command', { channel, command: `/${slash[1]}`, text: (slash[2] || '').trim() });
      if (r.response && r.response.ts) {
        addOwn(channel, { type: 'message', ...r.response, channel, is_ephemeral: r.response.is_ephemeral ?? r.response.response_type !== 'in_channel' });
      }
    } catch (e) {
      const msg = e.error === 'invalid_command' ? `/${slash[1]} is not a valid command.` : `/${slash[1]} failed: ${e.error}`;
      addOwn(channel, { type: 'message', ts: `${Math.floor(Date.now() / 1000)}.${String(900000 + (++local % 99999)).padStart(6, '0')}`, text: msg, is_ephemeral: true, user: S.me.id, username: 'Canal', local: true });
      toast(msg);
    }
    return;
  }
  const text = encodeMentions(raw);
  const args = { channel, text };
  if (thread_ts) { args.thread_ts = thread_ts; if (broadcast) args.reply_broadcast = true; }
  const r = await api('chat.postMessage', args).catch((e) => { toast(`Message not sent: ${e.error}`); throw e; });
  const m = { ...r.message, channel };
  if (!m.user) m.user = S.me.id;
  addOwn(channel, m);
}

export function sendTyping(socket, channel) {
  socket?.send({ type: 'typing', channel });
}

export { applyEvent };
