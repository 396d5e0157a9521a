// The channel view: header (name, topic, members, pins, mute), the
// message list, who is typing, and the composer.
import { api } from './api.js';
import { S, on, emit, convName, userName, typingIn, markRead, loadHistory, loadAround, ensureConv } from './state.js';
import { MessageList } from './msglist.js';
import { Composer } from './composer.js';
import { ownLast, messageRow } from './message.js';
import { wireMessageActions, startEdit } from './actions.js';
import { sendText, sendFiles, sendTyping } from './send.js';
import { renderText } from './render.js';
import { h, toast } from './util.js';
import { isMuted, setMuted } from './userprefs.js';

export function createChannelView({ socket, openMembers, back }) {
  const title = h('h1.ch-title', { id: 'ch-title' });
  const topic = h('p.ch-topic');
  const members = h('button.hdr-btn', { type: 'button', 'aria-label': 'Members', onclick: () => openMembers(S.current) });
  const pins = h('button.hdr-btn', { type: 'button', 'aria-label': 'Pinned messages', 'aria-expanded': 'false' });
  const mute = h('button.hdr-btn', { type: 'button', 'aria-pressed': 'false' });
  const backBtn = h('button.back', { type: 'button', 'aria-label': 'Back to conversations', onclick: back }, '‹');
  const pinBox = h('div.pin-box', { hidden: true, role: 'region', 'aria-label': 'Pinned messages' });
  const header = h('header.ch-header', {}, backBtn, h('div.ch-names', {}, title, topic), h('div.hdr-tools', {}, members, pins, mute));
  const list = new MessageList();
  const typing = h('div.typing', { 'aria-live': 'polite' });
  const composer = new Composer({
    label: 'Message',
    onSend: (text, { files, onProgress } = {}) => (files ? sendFiles(S.current, files, text, { onProgress }) : sendText(S.current, text)),
    onTyping: () => sendTyping(socket(), S.current),
    onEditLast: () => {
      const m = ownLast(S.convs.get(S.current)?.msgs || []);
      if (!m) return;
      const row = list.list.querySelector(`.row[data-ts="${CSS.escape(m.ts)}"]`);
      if (row) { row.scrollIntoView({ block: 'nearest' }); startEdit(S.current, m, row); }
    },
  });
  const el = h('main.channel', { id: 'main', 'aria-labelledby': 'ch-title' }, header, pinBox, list.scroller, typing, composer.el);
  wireMessageActions(list.list, () => S.current);

  function renderHeader() {
    const c = S.convs.get(S.current);
    if (!c) return;
    title.replaceChildren(c.is_im ? h('span.presence-dot', {}) : h('span', { 'aria-hidden': 'true' }, c.is_mpim ? '' : c.is_private ? '🔒 ' : '# '),
      convName(c), c.is_archived ? h('span.archived', {}, ' (archived)') : '');
    const t = c.topic?.value || c.purpose?.value || '';
    topic.innerHTML = t ? renderText(t) : '';
    topic.hidden = !t;
    const n = c.num_members ?? c.members?.length;
    members.textContent = `${n ?? '–'} member${n === 1 ? '' : 's'}`;
    members.setAttribute('aria-label', `${n ?? 'unknown number of'} members`);
    members.hidden = !!c.is_im;
    pins.textContent = c.pin_count ? `Pins ${c.pin_count}` : 'Pins';
    const muted = isMuted(c.id);
    mute.textContent = muted ? 'Muted' : 'Mute';
    mute.setAttribute('aria-pressed', muted ? 'true' : 'false');
    mute.setAttribute('aria-label', muted ? 'Unmute notifications' : 'Mute notifications');
    mute.title = mute.getAttribute('aria-label');
    composer.ta.setAttribute('placeholder', c.is_archived ? 'This channel is archived' : `Message ${c.is_im || c.is_mpim ? '' : '#'}${convName(c)}`);
    composer.ta.disabled = !!c.is_archived;
    if (!c.is_member && !c.is_im && !c.is_mpim) {
      composer.el.hidden = true;
      if (!el.querySelector('.join-bar')) {
        composer.el.before(h('div.join-bar', {}, h('p', {}, `You are viewing #${c.name}.`), h('button.primary', {
          type: 'button', onclick: async () => {
            try { await api('conversations.join', { channel: c.id }); c.is_member = true; emit('convs'); el.querySelector('.join-bar')?.remove(); composer.el.hidden = false; composer.focus(); } catch (e) { toast(`Could not join: ${e.error}`); }
          },
        }, 'Join channel')));
      }
    } else { composer.el.hidden = false; el.querySelector('.join-bar')?.remove(); }
  }

  mute.addEventListener('click', () => {
    setMuted(S.current, !isMuted(S.current));
    renderHeader();
  });

  pins.addEventListener('click', async () => {
    if (!pinBox.hidden) { pinBox.hidden = true; pins.setAttribute('aria-expanded', 'false'); return; }
    const id = S.current;
    try {
      const r = await api('pins.list', { channel: id });
      const items = (r.items || []).filter((i) => i.message);
      pinBox.replaceChildren(h('h2', {}, `Pinned (${items.length})`),
        items.length ? h('div', {}, items.map((i) => { const row = messageRow({ ...i.message, channel: id }, null, { inThread: true }); row.querySelector('.msg-actions')?.remove(); return row; })) : h('p', {}, 'Nothing is pinned yet.'),
        h('button', { type: 'button', onclick: () => { pinBox.hidden = true; pins.setAttribute('aria-expanded', 'false'); pins.focus(); } }, 'Close'));
      pinBox.hidden = false;
      pins.setAttribute('aria-expanded', 'true');
      const c = S.convs.get(id);
      if (c) { c.pin_count = items.length; renderHeader(); }
    } catch (e) { toast(`Pins: ${e.error}`); }
  });

  function renderTyping() {
    const who = typingIn(S.current).map((u) => userName(u) || u);
    typing.textContent = !who.length ? '' : who.length === 1 ? `${who[0]} is typing…` : who.length === 2 ? `${who[0]} and ${who[1]} are typing…` : 'Several people are typing…';
  }

  let showing = null;
  async function show(id, { focusTs } = {}) {
    const t0 = performance.now();
    showing = id;
    // The draft moves with the conversation before anything else can
    // render it (a 'convs' event re-renders the header at once).
    composer.setKey(id);
    pinBox.hidden = true;
    const c = await ensureConv(id);
    renderHeader();
    renderTyping();
    if (focusTs && !c.byTs.has(focusTs)) await loadAround(id, focusTs);
    else if (!c.loaded) await loadHistory(id);
    if (showing === id) showing = null;
    if (S.current !== id) return;
    list.show(c, { focusTs });
    if (!focusTs) markRead(id);
    if (c.num_members === undefined && !c.is_im) {
      api('conversations.info', { channel: id, include_num_members: true }).then((r) => { Object.assign(c, { num_members: r.channel.num_members, topic: r.channel.topic, purpose: r.channel.purpose }); if (S.current === id) renderHeader(); }).catch(() => {});
    }
    window.__canalLastSwitchMs = performance.now() - t0;
  }

  const mine = (d) => d && (d === S.current || d.channel === S.current);
  on('message', (d) => { if (mine(d)) { list.added(d.ts); if (document.visibilityState === 'visible' && S.focused && list.atLiveEnd()) markRead(S.current); } });
  on('changed', (d) => { if (mine(d)) list.changed(d.ts); });
  on('removed', (d) => { if (mine(d)) list.removed(d.ts); });
  on('older', (id) => { if (id === S.current) list.olderLoaded(S.convs.get(id).lastAdded || 0); });
  on('newer', (id) => { if (id === S.current) list.newerLoaded(); });
  on('history', (id) => { if (id === S.current && showing !== id && list.conv) list.show(S.convs.get(id)); });
  on('history-merge', (id) => { if (id === S.current) { const stick = list.atBottom(); list.renderWindow(list.start, S.convs.get(id).msgs.length); if (stick) list.scrollToBottom(); markRead(id); } });
  on('typing', (id) => { if (id === S.current) renderTyping(); });
  on('header', (id) => { if (id === S.current) renderHeader(); });
  on('convs', () => { if (S.current) renderHeader(); });
  // The emoji table or the user groups arrived: draw what is on screen again.
  on('rerender', () => {
    if (!list.conv || showing) return;
    const stick = list.atBottom();
    const top = list.scroller.scrollTop;
    const tsOf = (sel) => list.list.querySelector(sel)?.closest('.row')?.dataset.ts;
    const target = tsOf('article[data-target]');
    const focused = list.list.contains(document.activeElement) ? tsOf('article:focus-within') : null;
    list.renderWindow(list.start, list.end);
    if (stick) list.scrollToBottom(); else list.scroller.scrollTop = top;
    const art = (ts) => ts && list.list.querySelector(`.row[data-ts="${CSS.escape(ts)}"] article`);
    if (art(target)) art(target).dataset.target = '1';
    art(focused)?.focus({ preventScroll: true });
    if (S.current) renderHeader();
  });

  return { el, show, composer, list, markRead: () => markRead(S.current) };
}
