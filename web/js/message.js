// One message as a DOM row: avatar, name, time, text, blocks, attachments,
// files, edited mark, reactions, thread summary, hover actions. Used by the channel list and
// the thread panel.
import { S, userName, avatar } from './state.js';
import { renderText, renderBlocks, renderAttachments, emojiChar, quickReactions } from './render.js';
import { h, esc, fmtTime, fmtFull, fmtDay, dayKey, tsDate } from './util.js';

const SYSTEM = new Set(['channel_join', 'channel_leave', 'channel_topic', 'channel_purpose', 'channel_name',
  'channel_archive', 'channel_unarchive', 'group_join', 'group_leave', 'group_topic', 'group_purpose', 'group_name', 'pinned_item']);

export const isSystem = (m) => SYSTEM.has(m.subtype);
export const FOCUSABLE = 'a[href], button, select, input, textarea';

// Does m continue prev's group (same author, five minutes, same day)?
export function groups(prev, m) {
  return !!prev && !isSystem(prev) && !isSystem(m) && prev.user === m.user && !prev.is_ephemeral && !m.is_ephemeral &&
    (m.bot_id || '') === (prev.bot_id || '') && parseFloat(m.ts) - parseFloat(prev.ts) < 300 && dayKey(m.ts) === dayKey(prev.ts) &&
    !(m.subtype === 'thread_broadcast');
}

function author(m) {
  if (m.user && S.users.has(m.user)) return userName(m.user);
  return m.username || m.bot_profile?.name || userName(m.user) || m.user || 'unknown';
}

function reactionsBar(m) {
  if (!m.reactions?.length) return null;
  return h('div.reactions', { role: 'group', 'aria-label': 'Reactions' }, m.reactions.map((r) => {
    const mine = r.users?.includes(S.me.id);
    const who = (r.users || []).map((u) => (u === S.me.id ? 'you' : userName(u) || u)).join(', ');
    const ch = emojiChar(r.name);
    return h('button.reaction', {
      type: 'button', 'aria-pressed': mine ? 'true' : 'false', title: `${who} reacted with :${r.name}:`,
      'aria-label': `${r.name} ${r.count}, ${who}`, dataset: { act: 'toggle-reaction', name: r.name },
    }, h('span.emo', {}, ch || `:${r.name}:`), h('span.count', {}, String(r.count)));
  }), h('button.reaction.add', { type: 'button', title: 'Add reaction', 'aria-label': 'Add reaction', dataset: { act: 'react' } }, '☺+'));
}

// File URLs from the API carry the server's base URL; the browser asks
// this origin, where its session cookie is what lets it in.
function local(url) {
  if (!url) return null;
  try { const u = new URL(url, location.href); return u.pathname + u.search; } catch { return null; }
}

export function fmtSize(n) {
  if (!(n >= 0)) return '';
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

// The smallest thumbnail at least 360 px wide (or the largest there is).
function thumb(f) {
  const sizes = Object.keys(f).map((k) => /^thumb_(\d+)$/.exec(k)?.[1]).filter(Boolean).map(Number).sort((a, b) => a - b);
  if (!sizes.length) return null;
  const size = sizes.find((x) => x >= 360) || sizes[sizes.length - 1];
  return { src: local(f[`thumb_${size}`]), w: f[`thumb_${size}_w`], h: f[`thumb_${size}_h`] };
}

// A message's files[]: images as a thumbnail linking to the file, others as
// a card with name, size and a download link; deleted files (mode
// "tombstone") and revoked ones (file_access "revoked") say so.
function fileView(f) {
  if (!f || f.mode === 'tombstone') return h('div.file-gone', { dataset: { fileId: f?.id || '' } }, 'This file was deleted.');
  if (f.file_access === 'revoked' || f.is_access_revoked || f.mode === 'hidden') {
    return h('div.file-gone', { dataset: { fileId: f.id } }, 'This file is no longer available.');
  }
  const name = f.title || f.name || 'file';
  const t = (f.mimetype || '').startsWith('image/') ? thumb(f) : null;
  if (t?.src) {
    return h('a.file-img', { href: local(f.url_private), target: '_blank', rel: 'noopener', title: name, dataset: { fileId: f.id } },
      h('img', { src: t.src, alt: f.alt_txt || name, width: t.w, height: t.h, loading: 'lazy' }));
  }
  return h('div.file-card', { dataset: { fileId: f.id } },
    h('span.file-icon', { 'aria-hidden': 'true' }, '📄'),
    h('div', {}, h('div.file-name', {}, name), h('div.file-meta', {}, [fmtSize(f.size), f.pretty_type].filter(Boolean).join(' · '))),
    h('a.file-dl', { href: local(f.url_private_download), download: f.name || '', 'aria-label': `Download ${name}` }, 'Download'));
}

function filesView(m) {
  return m.files?.length ? h('div.files', {}, m.files.map(fileView)) : null;
}

function threadSummary(m, inThread) {
  if (inThread || !m.reply_count || (m.thread_ts && m.thread_ts !== m.ts)) return null;
  const users = (m.reply_users || []).slice(0, 4);
  return h('button.thread-summary', { type: 'button', dataset: { act: 'open-thread' } },
    users.map((u) => h('img.mini-avatar', { src: avatar(u), alt: '', width: 20, height: 20 })),
    h('span.replies', {}, `${m.reply_count} ${m.reply_count === 1 ? 'reply' : 'replies'}`),
    m.latest_reply ? h('span.last-reply', {}, `Last reply ${fmtTime(m.latest_reply)}`) : null);
}

// The hover/focus toolbar: built for one message at a time (actions.js
// moves it), so a long list does not carry eight buttons per row.
export function actionsBar(m, inThread) {
  if (m.is_ephemeral || isSystem(m)) return null;
  const own = m.user === S.me.id && !m.bot_id;
  const quick = quickReactions().map((e) => h('button', { type: 'button', title: `React with :${e.name}:`, 'aria-label': `React with ${e.name}`, dataset: { act: 'quick-react', emoji: e.name } }, e.char));
  return h('div.msg-actions', { role: 'toolbar', 'aria-label': 'Message actions' }, ...quick,
    h('button', { type: 'button', title: 'Add reaction', 'aria-label': 'Add reaction', dataset: { act: 'react' } }, '☺'),
    inThread ? null : h('button', { type: 'button', title: 'Reply in thread', 'aria-label': 'Reply in thread', dataset: { act: 'open-thread' } }, '💬'),
    h('button', { type: 'button', title: 'Copy link', 'aria-label': 'Copy link', dataset: { act: 'copy-link' } }, '🔗'),
    h('button', { type: 'button', title: 'Pin', 'aria-label': 'Pin or unpin', dataset: { act: 'pin' } }, '📌'),
    own ? h('button', { type: 'button', title: 'Edit', 'aria-label': 'Edit message', dataset: { act: 'edit' } }, '✎') : null,
    own ? h('button', { type: 'button', title: 'Delete', 'aria-label': 'Delete message', dataset: { act: 'delete' } }, '🗑') : null);
}

export function daySeparator(ts) {
  return h('div.day-sep', { role: 'separator', 'aria-label': fmtDay(ts) }, h('span', {}, fmtDay(ts)));
}

// A row: the day separator (when the day changes) and the message.
export function messageRow(m, prev, { inThread = false } = {}) {
  const row = h('div.row', { dataset: { ts: m.ts } });
  if (!prev || dayKey(prev.ts) !== dayKey(m.ts)) row.append(daySeparator(m.ts));
  const grouped = groups(prev, m);
  const time = h('a.time', { href: `/archives/${m.channel}/p${m.ts.replace('.', '')}`, title: fmtFull(m.ts), dataset: { act: 'permalink' } },
    h('time', { datetime: tsDate(m.ts).toISOString() }, fmtTime(m.ts)));
  if (isSystem(m)) {
    const sys = h('article.msg.system', { tabindex: '-1', 'aria-label': `${author(m)}: ${m.text || ''}` }, time, h('div.text', { html: renderText(m.text) }));
    for (const el of sys.querySelectorAll(FOCUSABLE)) el.tabIndex = -1;
    row.append(sys);
    return row;
  }
  const cls = ['msg'];
  if (grouped) cls.push('grouped');
  if (m.is_ephemeral) cls.push('ephemeral');
  if (m.pending) cls.push('pending');
  if (m.user !== S.me.id && (m.text || '').includes(`<@${S.me.id}>`)) cls.push('mentions-me');
  // With blocks, the text is only the notification fallback (as on Slack);
  // it stands in while blockkit.js loads (renderBlocks gives null).
  const blocks = m.blocks?.length ? renderBlocks(m.blocks) : null;
  const atts = m.attachments?.length ? renderAttachments(m.attachments) : null;
  const body = h('div.body', {},
    grouped ? null : h('div.meta', {}, h('span.author', {}, author(m)), m.bot_id ? h('span.badge', {}, 'APP') : null, time),
    m.subtype === 'thread_broadcast' && !inThread ? h('div.broadcast-note', {}, 'replied to a thread') : null,
    blocks !== null ? h('div.blocks', { html: blocks })
      : m.text || !m.files?.length ? h('div.text', { html: renderText(m.text) + (m.edited ? ' <span class="edited">(edited)</span>' : '') }) : null,
    blocks !== null && m.edited ? h('span.edited', {}, '(edited)') : null,
    atts ? h('div.blocks.attachments', { html: atts }) : null,
    filesView(m),
    m.is_ephemeral ? h('div.ephemeral-note', {}, 'Only visible to you') : null,
    reactionsBar(m), threadSummary(m, inThread));
  const art = h(`article.${cls.join('.')}`, { tabindex: '-1', 'aria-label': `${author(m)} at ${fmtTime(m.ts)}`, dataset: inThread ? { thread: '1' } : {} },
    grouped ? h('span.gutter-time', {}, time) : h('img.avatar', { src: avatar(m.user), alt: '', width: 36, height: 36, loading: 'lazy' }),
    body);
  // The list is one tab stop: a message's own controls (links, reactions,
  // the thread summary, Block Kit) join the tab order while it has focus.
  for (const el of art.querySelectorAll(FOCUSABLE)) el.tabIndex = -1;
  row.append(art);
  return row;
}

export const ownLast = (list) => [...list].reverse().find((m) => m.user === S.me.id && !m.bot_id && !m.is_ephemeral && !isSystem(m));
export { esc };
