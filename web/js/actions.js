// What a click inside a message does (both the channel and the thread
// panel delegate here): reactions, threads, permalinks, pins, editing,
// deleting, and Block Kit buttons and selects (blocks.action).
import { api } from './api.js';
import { S, findMessage, applyEvent } from './state.js';
import { toggleReaction, openPicker } from './reactions.js';
import { encodeMentions } from './autocomplete.js';
import { h, toast } from './util.js';
import { actionsBar, FOCUSABLE } from './message.js';
import { loadBlockKit } from './render.js';

let hooks = {};
export function setActionHooks(x) { hooks = x; }

function msgOf(el, channel) {
  const row = el.closest('.row');
  return row ? findMessage(channel, row.dataset.ts) : null;
}

export function permalink(channel, m) {
  const base = `${location.origin}/archives/${channel}/p${m.ts.replace('.', '')}`;
  return m.thread_ts && m.thread_ts !== m.ts ? `${base}?thread_ts=${m.thread_ts}&cid=${channel}` : base;
}

export function startEdit(channel, m, rowEl) {
  const art = rowEl.querySelector('article');
  const textEl = art.querySelector('.text');
  if (!textEl || art.querySelector('.edit-box')) return;
  const plain = (m.text || '').replace(/<@([UW][A-Z0-9]+)(?:\|[^>]*)?>/g, (_, id) => `@${S.users.get(id)?.name || id}`)
    .replace(/<#([CG][A-Z0-9]+)(?:\|[^>]*)?>/g, (_, id) => `#${S.convs.get(id)?.name || id}`)
    .replace(/<!(here|channel|everyone)>/g, '@$1').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  const ta = h('textarea', { 'aria-label': 'Edit message', rows: 2 });
  ta.value = plain;
  const done = () => { box.remove(); textEl.hidden = false; };
  const save = async () => {
    const text = ta.value.trim();
    if (!text) return;
    done();
    try {
      const r = await api('chat.update', { channel, ts: m.ts, text: encodeMentions(text) });
      applyEvent({ type: 'message', subtype: 'message_changed', channel, message: { ...m, text: r.text ?? encodeMentions(text), edited: { user: S.me.id, ts: String(Date.now() / 1000) } } });
    } catch (e) { toast(`Could not edit: ${e.error}`); }
  };
  const box = h('div.edit-box', {}, ta, h('div.edit-buttons', {},
    h('button', { type: 'button', onclick: done }, 'Cancel'),
    h('button.primary', { type: 'button', onclick: save }, 'Save')));
  ta.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && !ev.shiftKey) { ev.preventDefault(); save(); }
    if (ev.key === 'Escape') { ev.preventDefault(); ev.stopPropagation(); done(); hooks.refocus?.(); }
  });
  textEl.hidden = true;
  textEl.after(box);
  ta.focus();
  ta.setSelectionRange(ta.value.length, ta.value.length);
}

// A Block Kit element used in a message: blockkit.js reads it in Slack's
// action shape; blocks.action takes the value or the chosen option.
async function blockAction(el, channel, m) {
  const a = (await loadBlockKit()).actionPayload(el);   // loaded: it drew el
  if (!a) return;
  const args = { channel, message_ts: m.ts, action_id: a.action_id, block_id: a.block_id };
  if ('selected_option' in a) {
    if (!a.selected_option) return;
    args.selected_option = a.selected_option;
  } else if (a.value !== undefined) args.value = a.value;
  el.disabled = true;
  try { await api('blocks.action', args); } catch (e) { toast(`The app did not answer: ${e.error}`); } finally { el.disabled = false; }
}

// One toolbar at a time, on the message under the pointer or with focus.
function showBar(art, channel) {
  if (!art || art.querySelector(':scope > .msg-actions')) return;
  const m = msgOf(art, channel);
  if (!m) return;
  for (const old of document.querySelectorAll('.msg-actions')) if (!old.contains(document.activeElement)) old.remove();
  const bar = actionsBar(m, art.dataset.thread === '1');
  if (bar) art.append(bar);
}

export function wireMessageActions(container, getChannel) {
  container.addEventListener('mouseover', (ev) => showBar(ev.target.closest('article.msg'), getChannel()));
  let active = null;
  container.addEventListener('focusin', (ev) => {
    const art = ev.target.closest('article.msg');
    showBar(art, getChannel());
    if (art === active) return;
    if (active) for (const el of active.querySelectorAll(FOCUSABLE)) el.tabIndex = -1;
    active = art;
    if (art) for (const el of art.querySelectorAll(FOCUSABLE)) el.tabIndex = 0;
  });
  // Up/Down move between messages (one tab stop for the whole list).
  container.addEventListener('keydown', (ev) => {
    if (ev.key !== 'ArrowUp' && ev.key !== 'ArrowDown') return;
    const art = ev.target.closest('article.msg');
    if (!art || ev.target !== art) return;
    const all = [...container.querySelectorAll('article.msg')];
    const next = all[all.indexOf(art) + (ev.key === 'ArrowDown' ? 1 : -1)];
    if (next) { ev.preventDefault(); next.focus(); }
  });
  container.addEventListener('click', async (ev) => {
    const channel = getChannel();
    const tog = ev.target.closest('.blocks [data-kind="overflow_toggle"]');
    if (tog) {
      const menu = tog.parentElement.querySelector('.bk-overflow-menu');
      if (menu) { menu.hidden = !menu.hidden; tog.setAttribute('aria-expanded', String(!menu.hidden)); }
      return;
    }
    const bk = ev.target.closest('.blocks [data-action-id]');
    if (bk && (bk.tagName === 'BUTTON' || bk.tagName === 'A' || bk.dataset.kind === 'overflow') && bk.dataset.kind !== 'overflow_toggle' && !bk.getAttribute('href')) {
      const m = msgOf(bk, channel);
      if (m) { ev.preventDefault(); blockAction(bk, channel, m); }
      return;
    }
    const chLink = ev.target.closest('a.channel-link');
    if (chLink) { ev.preventDefault(); hooks.open?.(chLink.dataset.channelId); return; }
    const el = ev.target.closest('[data-act]');
    if (!el) return;
    const m = msgOf(el, channel);
    if (!m) return;
    const act = el.dataset.act;
    if (act === 'permalink') { ev.preventDefault(); hooks.jump?.(channel, m.ts); return; }
    ev.preventDefault();
    if (act === 'toggle-reaction') toggleReaction(channel, m.ts, el.dataset.name);
    else if (act === 'quick-react') toggleReaction(channel, m.ts, el.dataset.emoji);
    else if (act === 'react') openPicker(el, (name) => toggleReaction(channel, m.ts, name));
    else if (act === 'open-thread') hooks.thread?.(channel, m.ts);
    else if (act === 'copy-link') {
      try { await navigator.clipboard.writeText(permalink(channel, m)); toast('Link copied'); } catch { toast(permalink(channel, m)); }
    } else if (act === 'pin') {
      try { await api('pins.add', { channel, timestamp: m.ts }); toast('Pinned'); } catch (e) {
        if (e.error === 'already_pinned') { await api('pins.remove', { channel, timestamp: m.ts }).catch(() => {}); toast('Unpinned'); } else toast(`Could not pin: ${e.error}`);
      }
    } else if (act === 'edit') startEdit(channel, m, el.closest('.row'));
    else if (act === 'delete') {
      if (!confirm('Delete this message?')) return;
      try { await api('chat.delete', { channel, ts: m.ts }); applyEvent({ type: 'message', subtype: 'message_deleted', channel, deleted_ts: m.ts }); } catch (e) { toast(`Could not delete: ${e.error}`); }
    }
  });
  container.addEventListener('change', (ev) => {
    const sel = ev.target.closest('.blocks select[data-action-id]');
    if (!sel) return;
    const m = msgOf(sel, getChannel());
    if (m) blockAction(sel, getChannel(), m);
  });
}
