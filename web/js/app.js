// The app shell: top bar, sidebar, the channel view or the search page, the
// thread panel; routing (/client/T/C, /archives/C/p..., search), the
// real-time socket with catch-up on reconnect, and the keyboard shortcuts.
//
// The modules (web/js/), one component each:
//   main.js      entry: GET /auth/session, then sign-in / invite or the app
//   signin.js    sign-in page, invite and first-run page
//   api.js       Web API calls (cookie + CSRF token), /auth/* helpers
//   socket.js    the /rtm socket: reconnect with backoff, ping, catch-up hook
//   state.js     people, conversations, messages, threads, unreads, presence,
//                typing; real-time events applied here; a tiny event bus
//   render.js    mrkdwn / emoji / Block Kit through mrkdwn.js, blockkit.js
//                and (loaded on first need) emoji.js
//   sidebar.js   conversations list          msglist.js  windowed message list
//   message.js   one message row             channel.js  header + list + composer
//   composer.js  text box, drafts, typing    autocomplete.js  @ # : suggestions
//   send.js      messages and slash commands actions.js  clicks inside messages
//   reactions.js toggling and the picker     thread.js   the thread panel
//   dialogs.js   browse/create/DM/members/Ctrl+K (loaded on first use)
//   search.js    search page (first use)     modal.js    app modals (first use)
//   notify.js    desktop notifications and the tab title
//   util.js      DOM helper, dates, local preferences
import { api, authGet, authPost } from './api.js';
import { S, on, emit, applyEvent, loadUsers, loadConversations, catchUp, markRead, ensureConv, loadHistory } from './state.js';
import { loadPrefs, prefChanged } from './userprefs.js';
import { RtmSocket } from './socket.js';
import { createSidebar, sidebarOrder } from './sidebar.js';
import { createChannelView } from './channel.js';
import { createThreadPanel } from './thread.js';
import { initNotifications, askPermission } from './notify.js';
import { setActionHooks } from './actions.js';
import { h, prefs, toast } from './util.js';

let socket = null;

// Parts a first load does not need come when first used.
const later = (path) => { let p; return () => (p ||= import(path)); };
const dialogs = later('./dialogs.js');
const modal = later('./modal.js');
const searchMod = later('./search.js');
const browseChannels = (open) => dialogs().then((m) => m.browseChannels(open));
const createChannel = (open) => dialogs().then((m) => m.createChannel(open));
const newMessage = (open) => dialogs().then((m) => m.newMessage(open));
const showMembers = (id, open) => dialogs().then((m) => m.showMembers(id, open));
const quickSwitcher = (open) => dialogs().then((m) => m.quickSwitcher(open));

function parseRoute() {
  const p = location.pathname;
  let m = p.match(/^\/archives\/([A-Z0-9]+)\/p(\d{10})(\d{6})$/);
  if (m) {
    const q = new URLSearchParams(location.search);
    return { channel: m[1], ts: `${m[2]}.${m[3]}`, thread_ts: q.get('thread_ts') };
  }
  m = p.match(/^\/client\/[^/]+\/search$/);
  if (m) return { search: new URLSearchParams(location.search).get('q') || '' };
  m = p.match(/^\/client\/[^/]+\/([A-Z0-9]+)/);
  if (m) return { channel: m[1] };
  return {};
}

export async function startApp(session) {
  const t0 = window.__canalT0 || 0;
  const root = document.getElementById('root');
  const me = await api('auth.test');
  S.me = { id: session.user_id, team_id: session.team_id, user: me.user, team: me.team };
  S.team = { id: me.team_id, name: me.team };
  await Promise.all([loadUsers(), loadConversations(), loadPrefs()]);

  const status = h('span.conn', { role: 'status', 'aria-live': 'polite' }, 'Connecting…');
  const userBtn = h('button.user-btn', { type: 'button', 'aria-haspopup': 'true', 'aria-expanded': 'false' },
    h('img.mini-avatar', { src: `/avatars/users/${S.me.id}`, alt: '', width: 24, height: 24 }), h('span', {}, S.me.user));
  const notifBtn = h('button', { type: 'button' }, 'Enable notifications');
  const menu = h('div.user-menu', { hidden: true, role: 'menu' },
    h('p', {}, `Signed in as ${S.me.user} in ${S.team.name}`),
    ('Notification' in window && Notification.permission !== 'granted') ? notifBtn : null,
    h('button', { type: 'button', role: 'menuitem', onclick: signOut }, 'Sign out'));
  notifBtn.setAttribute('role', 'menuitem');
  notifBtn.addEventListener('click', async () => { const p = await askPermission(); toast(p === 'granted' ? 'Notifications are on' : 'Notifications are blocked by the browser'); notifBtn.remove(); });
  userBtn.addEventListener('click', () => { menu.hidden = !menu.hidden; userBtn.setAttribute('aria-expanded', String(!menu.hidden)); });
  const searchBtn = h('button.search-btn', { type: 'button', onclick: () => openSearch('') }, 'Search');
  const switchBtn = h('button.switch-btn', { type: 'button', title: 'Ctrl+K', onclick: () => quickSwitcher(open) }, 'Jump to… ', h('kbd', {}, navigator.platform.startsWith('Mac') ? '⌘K' : 'Ctrl+K'));
  const topbar = h('header.topbar', {}, h('a.skip', { href: '#composer-main' }, 'Skip to composer'), h('span.team', {}, S.team.name), searchBtn, switchBtn, status, h('div.user', {}, userBtn, menu));

  const channel = createChannelView({ socket: () => socket, openMembers: (id) => showMembers(id, open), back: showSidebar });
  channel.composer.ta.id = 'composer-main';
  const thread = createThreadPanel({ socket: () => socket, onClose: () => channel.composer.focus() });
  let search = null;
  async function getSearch() {
    if (!search) {
      const { createSearchView } = await searchMod();
      search ||= createSearchView({ jump, back: () => { search.hide(); channel.el.hidden = false; open(S.current); } });
      app.insertBefore(search.el, thread.el);
    }
    return search;
  }
  const sidebar = createSidebar({ open, browse: () => browseChannels(open), create: () => createChannel(open), newDm: () => newMessage(open) });
  const app = h('div.app', { dataset: { view: 'main' } }, topbar, sidebar.el, channel.el, thread.el);
  root.className = '';
  root.removeAttribute('aria-busy');
  root.replaceChildren(app);
  setActionHooks({ open, jump, thread: (c, ts) => thread.open(c, ts), refocus: () => channel.composer.focus() });
  on('view', (e) => { modal().then((m) => m.handleView(e)); });
  on('pref', prefChanged);
  initNotifications({ open });

  function showSidebar() { app.dataset.view = 'sidebar'; sidebar.el.querySelector('a.conv[aria-current]')?.focus(); }

  async function open(id, { focusTs, push = true } = {}) {
    if (!id) {
      const gen = [...S.convs.values()].find((c) => c.is_general && c.is_member) || [...S.convs.values()].find((c) => c.is_member);
      id = gen?.id;
      if (!id) { showSidebar(); return; }
    }
    search?.hide();
    channel.el.hidden = false;
    app.dataset.view = 'main';
    if (thread.el.hidden === false && S.thread?.channel !== id) thread.close();
    S.current = id;
    prefs.set('last', id);
    if (push) {
      const url = focusTs ? `/archives/${id}/p${focusTs.replace('.', '')}` : `/client/${S.me.team_id}/${id}`;
      if (location.pathname !== url) history.pushState({ id }, '', url);
    }
    emit('open', id);
    try {
      await channel.show(id, { focusTs });
    } catch (e) {
      toast(e.error === 'channel_not_found' ? 'That conversation does not exist or is private.' : `Could not open: ${e.error || e.message}`);
      if (S.convs.get(id) && !S.convs.get(id).msgs.length && e.error) S.convs.delete(id);
      if (e.error === 'channel_not_found') open(null);
      return;
    }
    if (!focusTs && matchMedia('(min-width: 701px)').matches) channel.composer.focus();
  }

  async function jump(channelId, ts, threadTs) {
    if (threadTs && threadTs !== ts) {
      await open(channelId, { focusTs: threadTs });
      await thread.open(channelId, threadTs, { focusTs: ts });
    } else await open(channelId, { focusTs: ts });
  }

  async function openSearch(q) {
    await getSearch();
    channel.el.hidden = true;
    thread.close();
    app.dataset.view = 'main';
    search.show(q);
    history.pushState({ search: q }, '', `/client/${S.me.team_id}/search${q ? `?q=${encodeURIComponent(q)}` : ''}`);
  }

  // Once idle, the newest page of a few conversations (unread ones first)
  // so that switching to them shows history at once, as Slack's client does.
  function prefetch() {
    const idle = window.requestIdleCallback || ((f) => setTimeout(f, 200));
    const want = [...S.convs.values()].filter((c) => !c.loaded && !c.is_archived && (c.is_member || c.is_im || c.is_mpim))
      .sort((a, b) => (b.unread_count > 0) - (a.unread_count > 0) || String(b.latest || '').localeCompare(String(a.latest || '')))
      .slice(0, 8);
    const next = () => {
      const c = want.shift();
      if (!c) return;
      if (c.loaded) { idle(next); return; }
      loadHistory(c.id).catch(() => {}).finally(() => idle(next));
    };
    idle(next);
  }

  async function signOut() {
    socket?.stop();
    await authPost('/auth/signout', {});
    location.href = '/';
  }

  window.addEventListener('popstate', () => route(false));
  function route(push) {
    const r = parseRoute();
    if (r.search !== undefined) return getSearch().then((x) => { channel.el.hidden = true; x.show(r.search); });
    if (r.channel && r.ts) return jump(r.channel, r.ts, r.thread_ts);
    const last = prefs.get('last');
    return open(r.channel || (S.convs.get(last)?.is_member || S.convs.get(last)?.is_im ? last : null), { push });
  }

  // Real time.
  const subscribePresence = () => {
    const ids = [...new Set([...S.convs.values()].filter((c) => c.is_im).map((c) => c.user).filter(Boolean))].slice(0, 500);
    // Subscribing tells of changes; the query tells how they are now.
    if (ids.length) { socket.send({ type: 'presence_sub', ids }); socket.send({ type: 'presence_query', ids }); }
  };
  socket = new RtmSocket({
    onEvent: applyEvent,
    onState: (st) => {
      status.textContent = st === 'online' ? '' : st === 'connecting' ? 'Connecting…' : 'Offline — reconnecting…';
      status.dataset.state = st;
      document.body.dataset.conn = st;
      if (st === 'online') subscribePresence();
    },
    onRefused: async () => {
      const s = await authGet('/auth/session').catch(() => null);
      if (s && !s.ok) window.dispatchEvent(new Event('canal:signedout'));
    },
    onReconnect: async () => {
      try { await Promise.all([catchUp(), loadPrefs()]); subscribePresence(); } catch (e) { console.warn('catch-up failed', e); }
    },
  });
  socket.start();
  // Signed out (here, in another tab, or by an admin): back to sign-in.
  window.addEventListener('canal:signedout', () => { socket.stop(); location.replace('/'); }, { once: true });
  on('convs', () => {
    const known = new Set([...S.convs.values()].filter((c) => c.is_im).map((c) => c.user));
    if (known.size !== (S.presenceSubs || 0)) { S.presenceSubs = known.size; subscribePresence(); }
  });
  window.addEventListener('online', () => socket.kick());

  const focusChanged = () => {
    S.focused = document.hasFocus() && document.visibilityState === 'visible';
    if (S.focused && S.current && channel.list.atLiveEnd() && channel.list.atBottom()) markRead(S.current);
  };
  window.addEventListener('focus', focusChanged);
  window.addEventListener('blur', focusChanged);
  document.addEventListener('visibilitychange', focusChanged);
  channel.list.scroller.addEventListener('scroll', () => { if (channel.list.atLiveEnd() && channel.list.atBottom() && S.focused) markRead(S.current); }, { passive: true });

  document.addEventListener('keydown', (ev) => {
    const mod = ev.ctrlKey || ev.metaKey;
    if (mod && (ev.key === 'k' || ev.key === 'K')) { ev.preventDefault(); if (!document.querySelector('dialog[open]')) quickSwitcher(open); return; }
    if (document.querySelector('dialog[open]')) return;
    if (ev.altKey && (ev.key === 'ArrowUp' || ev.key === 'ArrowDown')) {
      ev.preventDefault();
      const order = sidebarOrder();
      let i = order.indexOf(S.current);
      const step = ev.key === 'ArrowDown' ? 1 : -1;
      if (ev.shiftKey) {
        for (let k = 1; k <= order.length; k++) { const c = S.convs.get(order[(i + step * k + order.length * k) % order.length]); if (c.unread_count) { open(c.id); return; } }
        return;
      }
      i = (i + step + order.length) % order.length;
      open(order[i]);
      return;
    }
    if (ev.key === 'Escape' && !ev.defaultPrevented) {
      if (!menu.hidden) { menu.hidden = true; userBtn.setAttribute('aria-expanded', 'false'); userBtn.focus(); return; }
      if (document.querySelector('.picker')) return;
      const c = S.convs.get(S.current);
      if (c && !c.hasNewer) markRead(S.current);
    }
  });
  document.addEventListener('click', (ev) => { if (!menu.hidden && !ev.target.closest('.user')) { menu.hidden = true; userBtn.setAttribute('aria-expanded', 'false'); } });

  await route(false);
  prefetch();
  // For the benchmark (bench/web.mjs) and tests: when the app became usable
  // (the open conversation's history is on screen).
  window.__canalReadyMs = performance.now() - t0;
  window.__canalReadyAt = performance.now();
  document.body.dataset.ready = '1';
  window.__canal = { S, open, jump, channel, loadHistory };
}
