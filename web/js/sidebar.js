// The sidebar: channels (public #, private 🔒) and direct messages with
// presence dots, unread conversations bold, mention badges, collapsible
// sections, and the buttons to browse/create channels and start a DM.
import { S, on, sidebarLists, convName } from './state.js';
import { h } from './util.js';
import { isMuted, isCollapsed, setCollapsed } from './userprefs.js';

export function createSidebar({ open, browse, create, newDm }) {
  const nav = h('nav.sidebar', { 'aria-label': 'Conversations', id: 'sidebar' });

  function item(c) {
    const unread = c.unread_count > 0 && !c.muted;
    const badge = c.mention_count > 0 ? c.mention_count : 0;
    const muted = isMuted(c.id);
    let icon;
    if (c.is_im) {
      const p = S.presence.get(c.user) === 'active' ? 'active' : 'away';
      icon = h(`span.presence.${p}`, { role: 'img', 'aria-label': p === 'active' ? 'online' : 'away' });
    } else if (c.is_mpim) icon = h('span.icon', { 'aria-hidden': 'true' }, String((c.members || []).length - 1 || ''));
    else icon = h('span.icon', { 'aria-hidden': 'true' }, c.is_private ? '🔒' : '#');
    const label = `${c.is_private && !c.is_mpim ? 'private channel ' : ''}${convName(c)}${unread ? ', unread' : ''}${badge ? `, ${badge} mention${badge > 1 ? 's' : ''}` : ''}`;
    return h('li', {},
      h(`a.conv${unread && !muted ? '.unread' : ''}${muted ? '.muted' : ''}`, {
        href: `/client/${S.me.team_id}/${c.id}`, dataset: { id: c.id }, 'aria-label': label,
        'aria-current': S.current === c.id ? 'page' : null,
        onclick: (ev) => { if (ev.metaKey || ev.ctrlKey) return; ev.preventDefault(); open(c.id); },
      }, icon, h('span.name', {}, convName(c)), badge ? h('span.badge', { 'aria-hidden': 'true' }, String(badge)) : null));
  }

  function section(key, title, list, extra) {
    const closed = isCollapsed(key);
    const id = `sec-${key}`;
    return h('section.sec', { 'aria-labelledby': `${id}-h` },
      h('h2', { id: `${id}-h` }, h('button.sec-toggle', {
        type: 'button', 'aria-expanded': closed ? 'false' : 'true', 'aria-controls': id, dataset: { id: `sec-${key}` },
        onclick: () => setCollapsed(key, !closed),
      }, h('span.caret', { 'aria-hidden': 'true' }, closed ? '▸' : '▾'), title)),
      h('ul', { id, hidden: closed }, list.map(item)),
      closed ? h('ul', {}, list.filter((c) => c.unread_count > 0 || c.id === S.current).map(item)) : null,
      extra);
  }

  function render() {
    const { chans, dms } = sidebarLists();
    const focused = document.activeElement && nav.contains(document.activeElement) ? document.activeElement.dataset.id || document.activeElement.className : null;
    nav.replaceChildren(
      h('div.side-actions', {},
        h('button.side-btn', { type: 'button', onclick: browse }, '# Browse channels'),
        h('button.side-btn', { type: 'button', onclick: create }, '+ Create channel'),
        h('button.side-btn', { type: 'button', onclick: newDm }, '✉ New message')),
      section('channels', 'Channels', chans),
      section('dms', 'Direct messages', dms));
    if (focused) {
      const el = nav.querySelector(`[data-id="${focused}"]`);
      if (el) el.focus();
    }
  }

  let pending = false;
  const schedule = () => { if (!pending) { pending = true; requestAnimationFrame(() => { pending = false; render(); }); } };
  on('convs', schedule);
  on('presence', schedule);
  on('users', schedule);
  on('open', schedule);
  render();
  return { el: nav, render };
}

// The conversations in sidebar order, for Alt+Up/Down.
export function sidebarOrder() {
  const { chans, dms } = sidebarLists();
  return [...chans, ...dms].map((c) => c.id);
}
