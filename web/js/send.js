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

// POSTs a file's bytes to its upload URL, reporting bytes sent; XHR
// because fetch tells nothing of upload progress.
function postBytes(url, file, onBytes) {
  return new Promise((resolve, reject) => {
    const x = new XMLHttpRequest();
    x.open('POST', url);
    x.upload.onprogress = (ev) => onBytes(ev.loaded);
    x.onload = () => (x.status === 200 ? resolve() : reject(new Error(x.status === 413 ? 'file_too_large' : `upload_failed_${x.status}`)));
    x.onerror = () => reject(new Error('network_error'));
    x.send(file);
  });
}

// Shares files with a message, the way the SDK's filesUploadV2 does:
// files.getUploadURLExternal for each, the bytes to its upload_url, then
// one files.completeUploadExternal with the channel, the text as
// initial_comment and the thread. The message arrives over the socket.
// onProgress(fraction) follows the bytes.
export async function sendFiles(channel, files, raw, { thread_ts, onProgress } = {}) {
  const total = files.reduce((a, f) => a + f.size, 0) || 1;
  let done = 0;
  const shared = [];
  try {
    for (const f of files) {
      const u = await api('files.getUploadURLExternal', { filename: f.name || 'file', length: f.size });
      const path = new URL(u.upload_url, location.href);
      await postBytes(path.pathname + path.search, f, (n) => onProgress?.((done + n) / total));
      done += f.size;
      onProgress?.(done / total);
      shared.push({ id: u.file_id, title: f.name || 'file' });
    }
    const args = { files: shared, channel_id: channel };
    if (raw && raw.trim()) args.initial_comment = encodeMentions(raw);
    if (thread_ts) args.thread_ts = thread_ts;
    await api('files.completeUploadExternal', args);
  } catch (e) {
    const why = e.error || e.message;
    toast(why === 'file_too_large' || why === 'file_upload_size_restricted' ? 'That file is too large to upload.'
      : why === 'missing_argument' ? 'Empty files cannot be uploaded.' : `Upload failed: ${why}`);
    throw e;
  }
}
