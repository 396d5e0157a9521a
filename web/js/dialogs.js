// Dialogs: the channel browser (find and join public channels), create a
// channel, start a DM or group DM, the member list, and the Ctrl/Cmd+K
// quick switcher. Native <dialog> keeps focus inside and Esc closes.
import { api } from './api.js';
import { S, emit, convName, ensureConv, userName, avatar } from './state.js';
import { h, toast } from './util.js';

function dialog(title, ...content) {
  const d = h('dialog.dlg', { 'aria-labelledby': 'dlg-title' },
    h('header.dlg-head', {}, h('h2', { id: 'dlg-title' }, title), h('button.close', { type: 'button', 'aria-label': 'Close', onclick: () => d.close() }, '✕')),
    ...content);
  d.addEventListener('close', () => d.remove());
  document.body.append(d);
  d.showModal();
  return d;
}

export async function browseChannels(open) {
  const q = h('input', { type: 'search', placeholder: 'Search channels', 'aria-label': 'Search channels' });
  const list = h('ul.dlg-list', { 'aria-label': 'Channels' });
  const d = dialog('Browse channels', q, list);
  let all = [];
  try {
    const r = await api('conversations.list', { types: 'public_channel', exclude_archived: true, limit: 1000 });
    all = r.channels;
  } catch (e) { toast(`Channels: ${e.error}`); }
  function fill() {
    const s = q.value.trim().toLowerCase().replace(/^#/, '');
    const hits = all.filter((c) => c.name.includes(s)).sort((a, b) => a.name.localeCompare(b.name)).slice(0, 200);
    list.replaceChildren(...hits.map((c) => h('li', {},
      h('div.dlg-item', {}, h('strong', {}, `#${c.name}`), c.purpose?.value ? h('span.hint', {}, c.purpose.value) : null, h('span.hint', {}, `${c.num_members ?? ''} members`)),
      c.is_member || S.convs.get(c.id)?.is_member
        ? h('button', { type: 'button', onclick: () => { d.close(); open(c.id); } }, 'Open')
        : h('button.primary', { type: 'button', 'aria-label': `Join #${c.name}`, onclick: async () => {
          try { await api('conversations.join', { channel: c.id }); const cc = await ensureConv(c.id); cc.is_member = true; emit('convs'); d.close(); open(c.id); } catch (e) { toast(`Could not join: ${e.error}`); }
        } }, 'Join'))));
    if (!hits.length) list.append(h('li.empty', {}, 'No channels match.'));
  }
  q.addEventListener('input', fill);
  fill();
  q.focus();
}

export function createChannel(open) {
  const err = h('p.error', { role: 'alert' });
  const name = h('input', { name: 'name', required: true, maxlength: 80, pattern: '[a-z0-9_\\-]+', placeholder: 'e.g. plan-budget', autocomplete: 'off' });
  const priv = h('input', { type: 'checkbox', name: 'private' });
  const form = h('form.dlg-form', {},
    h('label', {}, 'Name', name),
    h('p.hint', {}, 'Lowercase letters, numbers, hyphens and underscores.'),
    h('label.check', {}, priv, ' Make private (only invited people can see it)'),
    err, h('div.dlg-buttons', {}, h('button.primary', { type: 'submit' }, 'Create')));
  const d = dialog('Create a channel', form);
  name.addEventListener('input', () => { name.value = name.value.toLowerCase().replace(/\s/g, '-'); });
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    try {
      const r = await api('conversations.create', { name: name.value, is_private: priv.checked });
      await ensureConv(r.channel.id);
      S.convs.get(r.channel.id).is_member = true;
      emit('convs');
      d.close();
      open(r.channel.id);
    } catch (e) {
      err.textContent = e.error === 'name_taken' ? 'That name is already taken.' : e.error === 'invalid_name_specials' || e.error === 'invalid_name' ? 'That name is not allowed.' : `Could not create: ${e.error}`;
    }
  });
  name.focus();
}

function peoplePicker(onPick, { multi = true, exclude = [] } = {}) {
  const chosen = new Set();
  const q = h('input', { type: 'search', placeholder: 'Find people', 'aria-label': 'Find people' });
  const picked = h('div.chips', { 'aria-live': 'polite' });
  const list = h('ul.dlg-list', { 'aria-label': 'People' });
  function fill() {
    const s = q.value.trim().toLowerCase().replace(/^@/, '');
    const hits = [...S.users.values()].filter((u) => !u.deleted && !exclude.includes(u.id) && !u.is_bot && u.id !== 'USLACKBOT' &&
      [u.name, u.real_name, u.profile?.display_name].some((n) => (n || '').toLowerCase().includes(s))).slice(0, 100);
    list.replaceChildren(...hits.map((u) => h('li', {}, h('button.person', {
      type: 'button', 'aria-pressed': chosen.has(u.id) ? 'true' : 'false',
      onclick: () => { if (!multi) { onPick([u.id]); return; } chosen.has(u.id) ? chosen.delete(u.id) : chosen.add(u.id); fill(); },
    }, h('img.mini-avatar', { src: avatar(u.id), alt: '', width: 24, height: 24 }), h('span', {}, u.real_name || u.name), h('span.hint', {}, `@${u.name}`)))));
    picked.replaceChildren(...[...chosen].map((id) => h('span.chip', {}, userName(id))));
  }
  q.addEventListener('input', fill);
  fill();
  return { nodes: [q, picked, list], chosen, q };
}

export function newMessage(open) {
  let d;
  const p = peoplePicker(() => {}, { exclude: [S.me.id] });
  const go = h('button.primary', { type: 'button', onclick: async () => {
    if (!p.chosen.size) return;
    try {
      const r = await api('conversations.open', { users: [...p.chosen].join(','), return_im: true });
      await ensureConv(r.channel.id);
      emit('convs');
      d.close();
      open(r.channel.id);
    } catch (e) { toast(`Could not open: ${e.error}`); }
  } }, 'Start conversation');
  d = dialog('New message', ...p.nodes, h('div.dlg-buttons', {}, go));
  p.q.focus();
}

export async function showMembers(channel, open) {
  const c = S.convs.get(channel);
  if (!c) return;
  let ids = [];
  try { ids = (await api('conversations.members', { channel, limit: 1000 })).members; } catch (e) { toast(`Members: ${e.error}`); return; }
  const list = h('ul.dlg-list', { 'aria-label': 'Members' }, ids.map((id) => h('li', {}, h('span.person', {},
    h('img.mini-avatar', { src: avatar(id), alt: '', width: 24, height: 24 }),
    h(`span.presence.${S.presence.get(id) === 'active' ? 'active' : 'away'}`, { role: 'img', 'aria-label': S.presence.get(id) === 'active' ? 'online' : 'away' }),
    h('span', {}, userName(id) || id)))));
  let d;
  const add = c.is_im ? null : h('button', { type: 'button', onclick: () => {
    d.close();
    let d2;
    const p = peoplePicker(() => {}, { exclude: ids });
    const ok = h('button.primary', { type: 'button', onclick: async () => {
      try { await api('conversations.invite', { channel, users: [...p.chosen].join(',') }); d2.close(); toast('Added'); } catch (e) { toast(`Could not add: ${e.error}`); }
    } }, 'Add');
    d2 = dialog(`Add people to #${c.name}`, ...p.nodes, h('div.dlg-buttons', {}, ok));
    p.q.focus();
  } }, 'Add people');
  const leave = c.is_im ? null : h('button', { type: 'button', onclick: async () => {
    try { await api('conversations.leave', { channel }); c.is_member = false; emit('convs'); d.close(); open(null); } catch (e) { toast(`Could not leave: ${e.error}`); }
  } }, 'Leave channel');
  d = dialog(`${ids.length} members in ${c.is_im || c.is_mpim ? '' : '#'}${convName(c)}`, list, h('div.dlg-buttons', {}, add, leave));
}

export function quickSwitcher(open) {
  const q = h('input', { type: 'text', placeholder: 'Jump to…', 'aria-label': 'Jump to a conversation', role: 'combobox', 'aria-expanded': 'true', 'aria-controls': 'qs-list', autocomplete: 'off' });
  const list = h('ul.dlg-list.qs', { id: 'qs-list', role: 'listbox', 'aria-label': 'Conversations' });
  let sel = 0;
  let hits = [];
  const d = dialog('Switch conversation', q, list);
  d.classList.add('qs-dialog');
  function fill() {
    const s = q.value.trim().toLowerCase().replace(/^[#@]/, '');
    const convs = [...S.convs.values()].filter((c) => (c.is_member || c.is_im || c.is_mpim) && !c.is_archived)
      .map((c) => ({ id: c.id, label: `${c.is_im || c.is_mpim ? '' : c.is_private ? '🔒 ' : '# '}${convName(c)}`, name: convName(c).toLowerCase(), unread: c.unread_count }));
    const people = [...S.users.values()].filter((u) => !u.deleted && !u.is_bot && u.id !== S.me.id && ![...S.convs.values()].some((c) => c.is_im && c.user === u.id))
      .map((u) => ({ user: u.id, label: `@ ${u.real_name || u.name}`, name: `${u.name} ${(u.real_name || '').toLowerCase()}` }));
    hits = [...convs, ...people].filter((x) => !s || x.name.includes(s))
      .sort((a, b) => (b.name.startsWith(s) - a.name.startsWith(s)) || ((b.unread > 0) - (a.unread > 0)) || a.name.localeCompare(b.name)).slice(0, 12);
    sel = Math.min(sel, Math.max(0, hits.length - 1));
    list.replaceChildren(...hits.map((x, i) => h('li', { role: 'option', id: `qs-${i}`, 'aria-selected': i === sel ? 'true' : 'false', onclick: () => pick(i) }, x.label)));
    q.setAttribute('aria-activedescendant', hits.length ? `qs-${sel}` : '');
  }
  async function pick(i) {
    const x = hits[i];
    if (!x) return;
    d.close();
    if (x.id) { open(x.id); return; }
    try { const r = await api('conversations.open', { users: x.user }); await ensureConv(r.channel.id); emit('convs'); open(r.channel.id); } catch (e) { toast(e.error); }
  }
  q.addEventListener('input', () => { sel = 0; fill(); });
  q.addEventListener('keydown', (ev) => {
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') { ev.preventDefault(); sel = (sel + (ev.key === 'ArrowDown' ? 1 : hits.length - 1)) % Math.max(1, hits.length); fill(); }
    if (ev.key === 'Enter') { ev.preventDefault(); pick(sel); }
  });
  fill();
  q.focus();
}
