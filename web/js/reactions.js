// Reactions: toggling one (reactions.add / reactions.remove) and the
// picker (quick ones, then search by name).
import { api } from './api.js';
import { S, findMessage, applyEvent } from './state.js';
import { searchEmoji, quickReactions, loadEmoji } from './render.js';
import { h, toast } from './util.js';

// name: a Slack emoji name ("eyes"), as reactions.add takes it.
export async function toggleReaction(channel, ts, name) {
  const m = findMessage(channel, ts);
  const mine = m?.reactions?.find((r) => r.name === name)?.users?.includes(S.me.id);
  // Shown at once; the live event for it changes nothing more.
  applyEvent({ type: mine ? 'reaction_removed' : 'reaction_added', user: S.me.id, reaction: name, item: { type: 'message', channel, ts } });
  try {
    await api(mine ? 'reactions.remove' : 'reactions.add', { channel, timestamp: ts, name });
  } catch (e) {
    if (e.error !== 'already_reacted' && e.error !== 'no_reaction') {
      applyEvent({ type: mine ? 'reaction_added' : 'reaction_removed', user: S.me.id, reaction: name, item: { type: 'message', channel, ts } });
      toast(`Could not react: ${e.error}`);
    }
  }
}

let current = null;
export function closePicker() {
  if (current) { current.remove(); current = null; }
}

export async function openPicker(anchor, onPick) {
  closePicker();
  // The whole table is needed here (search by name).
  try { await loadEmoji(); } catch { toast('Could not load the emoji'); return; }
  const input = h('input', { type: 'search', placeholder: 'Search emoji', 'aria-label': 'Search emoji' });
  const grid = h('div.emoji-grid', { role: 'listbox', 'aria-label': 'Emoji' });
  function fill() {
    const q = input.value.trim().replace(/:/g, '').toLowerCase();
    // No query: the most used emoji first (emoji.js keeps them in rank order).
    const list = searchEmoji(q, 48);
    grid.replaceChildren(...list.map((e) => h('button', { type: 'button', role: 'option', title: `:${e.name}:`, 'aria-label': e.name, onclick: () => { closePicker(); onPick(e.name); } }, e.char)));
    if (!list.length) grid.append(h('p.empty', {}, 'No emoji found'));
  }
  const box = h('div.picker', { role: 'dialog', 'aria-label': 'Add reaction' },
    h('div.picker-quick', {}, quickReactions().map((e) => h('button', { type: 'button', title: `:${e.name}:`, 'aria-label': `React with ${e.name}`, onclick: () => { closePicker(); onPick(e.name); } }, e.char))),
    input, grid);
  input.addEventListener('input', fill);
  box.addEventListener('keydown', (ev) => { if (ev.key === 'Escape') { ev.stopPropagation(); closePicker(); anchor.focus(); } });
  fill();
  document.body.append(box);
  const r = anchor.getBoundingClientRect();
  const top = Math.max(8, Math.min(window.innerHeight - box.offsetHeight - 8, r.top - box.offsetHeight - 4));
  const left = Math.max(8, Math.min(window.innerWidth - box.offsetWidth - 8, r.right - box.offsetWidth));
  box.style.top = `${top}px`;
  box.style.left = `${left}px`;
  current = box;
  input.focus();
  setTimeout(() => document.addEventListener('pointerdown', function away(ev) {
    if (!box.contains(ev.target)) { closePicker(); document.removeEventListener('pointerdown', away); }
  }), 0);
}
