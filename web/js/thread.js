// The thread side panel: the parent, its replies (live), and a composer
// with "Also send to channel".
import { S, on, loadThread, threadData, findMessage, convName } from './state.js';
import { messageRow, ownLast } from './message.js';
import { Composer } from './composer.js';
import { wireMessageActions, startEdit } from './actions.js';
import { sendText, sendFiles, sendTyping } from './send.js';
import { h } from './util.js';

export function createThreadPanel({ socket, onClose }) {
  const title = h('h2', { id: 'thread-title' }, 'Thread');
  const sub = h('p.thread-sub');
  const closeBtn = h('button.close', { type: 'button', 'aria-label': 'Close thread', onclick: () => close() }, '✕');
  const body = h('div.thread-body', { role: 'log', 'aria-live': 'polite', 'aria-label': 'Replies' });
  const composer = new Composer({
    label: 'Reply',
    broadcast: true,
    onSend: (text, { broadcast, files, onProgress }) => (files ? sendFiles(S.thread.channel, files, text, { thread_ts: S.thread.ts, onProgress })
      : sendText(S.thread.channel, text, { thread_ts: S.thread.ts, broadcast })),
    onTyping: () => sendTyping(socket(), S.thread.channel),
    onEditLast: () => {
      const t = threadData(S.thread.channel, S.thread.ts);
      const m = ownLast(t.replies);
      const row = m && body.querySelector(`.row[data-ts="${CSS.escape(m.ts)}"]`);
      if (row) startEdit(S.thread.channel, m, row);
    },
  });
  const el = h('aside.thread', { 'aria-labelledby': 'thread-title', hidden: true },
    h('header.thread-header', {}, h('div', {}, title, sub), closeBtn), body, composer.el);
  wireMessageActions(body, () => S.thread?.channel);

  function render() {
    if (!S.thread) return;
    const { channel, ts } = S.thread;
    const t = threadData(channel, ts);
    const parent = findMessage(channel, ts) || t.parent;
    const stick = body.scrollHeight - body.scrollTop - body.clientHeight < 40;
    const rows = [];
    if (parent) {
      rows.push(messageRow({ ...parent, channel }, null, { inThread: true }));
      const n = t.replies.filter((m) => !m.is_ephemeral).length;
      rows.push(h('div.reply-count', { role: 'separator' }, `${n} ${n === 1 ? 'reply' : 'replies'}`));
    }
    let prev = parent || null;
    for (const m of t.replies) { rows.push(messageRow({ ...m, channel }, prev, { inThread: true })); prev = m; }
    body.replaceChildren(...rows);
    if (stick) body.scrollTop = body.scrollHeight;
  }

  async function open(channel, ts, { focusTs } = {}) {
    S.thread = { channel, ts };
    const c = S.convs.get(channel);
    sub.textContent = c ? `${c.is_im || c.is_mpim ? '' : '#'}${convName(c)}` : '';
    el.hidden = false;
    document.body.classList.add('thread-open');
    composer.setKey(`${channel}.${ts}`);
    render();
    try { await loadThread(channel, ts); } catch { /* shown from what is loaded */ }
    render();
    body.scrollTop = body.scrollHeight;
    if (focusTs) body.querySelector(`.row[data-ts="${CSS.escape(focusTs)}"] article`)?.classList.add('highlight');
    composer.focus();
  }

  function close() {
    S.thread = null;
    el.hidden = true;
    document.body.classList.remove('thread-open');
    onClose?.();
  }

  const mine = (d) => S.thread && d.channel === S.thread.channel && (d.thread_ts === S.thread.ts || d.ts === S.thread.ts);
  on('reply', (d) => { if (mine(d)) render(); });
  on('thread', (d) => { if (mine(d)) render(); });
  on('changed', (d) => { if (S.thread && d.channel === S.thread.channel && threadData(d.channel, S.thread.ts).byTs.has(d.ts)) render(); else if (mine(d)) render(); });
  on('removed', (d) => { if (mine(d)) close(); });
  on('rerender', () => { if (S.thread && !el.hidden) render(); });

  return { el, open, close, composer };
}
