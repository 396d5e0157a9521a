// The client's state: people, conversations, loaded messages and threads,
// unread counts, presence and typing; every change is announced to the
// components through `on`. Real-time events and API answers both pass
// through here, keyed by ts, so a catch-up after a reconnect never shows a
// message twice.
import { api } from './api.js';
import { tsCmp } from './util.js';

const listeners = new Map();
export function on(ev, fn) {
  if (!listeners.has(ev)) listeners.set(ev, new Set());
  listeners.get(ev).add(fn);
  return () => listeners.get(ev).delete(fn);
}
export function emit(ev, data) {
  for (const fn of listeners.get(ev) || []) {
    try { fn(data); } catch (e) { console.error(`listener ${ev}`, e); }
  }
}

export const S = {
  me: null,            // {id, team_id, team, user}
  team: null,
  users: new Map(),
  convs: new Map(),    // id -> conversation (+ our fields below)
  threads: new Map(),  // "C/ts" -> {replies: [], byTs: Map, loaded}
  presence: new Map(),
  typing: new Map(),   // channel -> Map(user -> expiry ms)
  current: null,       // open conversation id
  thread: null,        // {channel, ts} of the open thread
  focused: document.hasFocus(),
};

const PAGE = 50;

function convInit(c) {
  const old = S.convs.get(c.id);
  const conv = old ? Object.assign(old, c) : {
    ...c, msgs: [], byTs: new Map(), hasOlder: true, hasNewer: false, loaded: false,
    unread_count: 0, mention_count: 0, last_read: '0000000000.000000', latest: null,
  };
  S.convs.set(c.id, conv);
  return conv;
}

export const userName = (id) => {
  const u = S.users.get(id);
  return u ? (u.profile?.display_name || u.real_name || u.name) : null;
};

export function convName(c) {
  if (!c) return '';
  if (c.is_im) return userName(c.user) || c.user || 'direct message';
  if (c.is_mpim) {
    const others = (c.members || []).filter((u) => u !== S.me.id).map((u) => userName(u) || u);
    return others.length ? others.join(', ') : c.name;
  }
  return c.name;
}

export function avatar(id) {
  const u = S.users.get(id);
  return u?.profile?.image_48 || `/avatars/users/${encodeURIComponent(id)}`;
}

async function paged(method, args, key) {
  const out = [];
  let cursor;
  for (let i = 0; i < 50; i++) {
    const r = await api(method, { ...args, cursor, limit: 1000 });
    out.push(...(r[key] || []));
    cursor = r.response_metadata?.next_cursor;
    if (!cursor) break;
  }
  return out;
}

export async function loadUsers() {
  for (const u of await paged('users.list', {}, 'members')) S.users.set(u.id, u);
}

export async function loadConversations() {
  const list = await paged('conversations.list', { types: 'public_channel,private_channel,mpim,im', exclude_archived: true }, 'channels');
  for (const c of list) convInit(c);
  await Promise.all(list.filter((c) => c.is_mpim && !c.members).map(async (c) => {
    try { c.members = (await api('conversations.members', { channel: c.id })).members; convInit(c); } catch { /* not fatal */ }
  }));
  await loadCounts();
}

export async function loadCounts() {
  const r = await api('client.counts');
  for (const e of [...(r.channels || []), ...(r.mpims || []), ...(r.ims || [])]) {
    const c = S.convs.get(e.id);
    if (!c) continue;
    c.unread_count = e.unread_count || 0;
    c.mention_count = e.mention_count || 0;
    c.last_read = e.last_read || c.last_read;
    c.latest = e.latest || c.latest;
  }
  emit('convs');
}

export async function ensureConv(id) {
  if (S.convs.has(id) && S.convs.get(id).loadedInfo !== false) return S.convs.get(id);
  const r = await api('conversations.info', { channel: id });
  const c = convInit(r.channel);
  if (c.is_mpim && !c.members) {
    try { c.members = (await api('conversations.members', { channel: id })).members; } catch { /* ignore */ }
  }
  emit('convs');
  return c;
}

// ---- messages ----
const isReply = (m) => m.thread_ts && m.thread_ts !== m.ts && m.subtype !== 'thread_broadcast';

function insertSorted(arr, byTs, m, channel) {
  if (channel && !m.channel) m.channel = channel;
  if (byTs.has(m.ts)) {
    const old = byTs.get(m.ts);
    let i = arr.length - 1;
    while (i >= 0 && arr[i] !== old) i--;   // usually near the end
    arr[i] = m;
    byTs.set(m.ts, m);
    return false;
  }
  byTs.set(m.ts, m);
  // Binary search: pages of history land at the front of long lists.
  let lo = 0;
  let hi = arr.length;
  if (hi && tsCmp(arr[hi - 1].ts, m.ts) < 0) lo = hi;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (tsCmp(arr[mid].ts, m.ts) < 0) lo = mid + 1; else hi = mid;
  }
  arr.splice(lo, 0, m);
  return true;
}

function removeTs(arr, byTs, ts) {
  const m = byTs.get(ts);
  if (!m) return false;
  byTs.delete(ts);
  arr.splice(arr.indexOf(m), 1);
  return true;
}

export function findMessage(channel, ts) {
  const c = S.convs.get(channel);
  const m = c?.byTs.get(ts);
  if (m) return m;
  for (const [k, t] of S.threads) if (k.startsWith(`${channel}/`) && t.byTs.has(ts)) return t.byTs.get(ts);
  return null;
}

function threadOf(channel, ts) {
  const k = `${channel}/${ts}`;
  if (!S.threads.has(k)) S.threads.set(k, { replies: [], byTs: new Map(), loaded: false });
  return S.threads.get(k);
}

// The newest page, or the page ending at `latest` (scrolling back).
export async function loadHistory(id, { older = false } = {}) {
  const c = S.convs.get(id);
  if (!c) return;
  if (older && (!c.hasOlder || c.loadingOlder)) return;
  const args = { channel: id, limit: PAGE };
  if (older && c.msgs.length) { args.latest = c.msgs[0].ts; args.inclusive = false; }
  c.loadingOlder = older;
  try {
    const r = await api('conversations.history', args);
    if (!older) {
      // Live messages newer than this page (they arrived while it was on
      // its way) stay; everything else is replaced by the page.
      const top = r.messages[0]?.ts;
      const keep = c.msgs.filter((m) => top && tsCmp(m.ts, top) > 0);
      c.msgs = []; c.byTs = new Map(); c.hasNewer = false;
      for (const m of keep) insertSorted(c.msgs, c.byTs, m, id);
    }
    c.lastAdded = 0;
    for (const m of r.messages) if (insertSorted(c.msgs, c.byTs, m, id)) c.lastAdded++;
    c.hasOlder = !!r.has_more;
    c.loaded = true;
  } finally {
    c.loadingOlder = false;
  }
  emit(older ? 'older' : 'history', id);
}

// Newer messages after a jump (the list does not reach now yet).
export async function loadNewer(id) {
  const c = S.convs.get(id);
  if (!c || !c.hasNewer || c.loadingNewer || !c.msgs.length) return;
  c.loadingNewer = true;
  try {
    const r = await api('conversations.history', { channel: id, oldest: c.msgs[c.msgs.length - 1].ts, inclusive: false, limit: 100 });
    for (const m of r.messages) insertSorted(c.msgs, c.byTs, m, id);
    c.hasNewer = !!r.has_more;
  } finally { c.loadingNewer = false; }
  emit('newer', id);
}

// Messages around ts, for a permalink or a search result.
export async function loadAround(id, ts) {
  const c = S.convs.get(id);
  const [before, after] = await Promise.all([
    api('conversations.history', { channel: id, latest: ts, inclusive: true, limit: 30 }),
    api('conversations.history', { channel: id, oldest: ts, inclusive: false, limit: 30 }),
  ]);
  c.msgs = []; c.byTs = new Map();
  for (const m of [...before.messages, ...after.messages]) insertSorted(c.msgs, c.byTs, m, id);
  c.hasOlder = !!before.has_more;
  c.hasNewer = !!after.has_more;
  c.loaded = true;
  emit('history', id);
}

export async function loadThread(channel, ts) {
  const t = threadOf(channel, ts);
  const all = await paged('conversations.replies', { channel, ts }, 'messages');
  t.replies = []; t.byTs = new Map();
  for (const m of all) if (m.ts !== ts) insertSorted(t.replies, t.byTs, m, channel);
  const parent = all.find((m) => m.ts === ts);
  if (parent) t.parent = parent;
  t.loaded = true;
  emit('thread', { channel, ts });
  return t;
}

export const threadData = (channel, ts) => threadOf(channel, ts);

// After a reconnect: what happened while we were away.
export async function catchUp() {
  await Promise.all([loadConversations(), loadUsers().catch(() => {})]);
  for (const c of S.convs.values()) {
    if (!c.loaded || c.hasNewer) continue;
    const last = [...c.msgs].reverse().find((m) => !m.is_ephemeral);
    if (!last) { await loadHistory(c.id); continue; }
    const r = await api('conversations.history', { channel: c.id, oldest: last.ts, inclusive: false, limit: 200 });
    if (r.has_more) { await loadHistory(c.id); continue; }
    let added = false;
    for (const m of r.messages) added = insertSorted(c.msgs, c.byTs, m, c.id) || added;
    if (added) emit('history-merge', c.id);
  }
  if (S.thread) await loadThread(S.thread.channel, S.thread.ts).catch(() => {});
  emit('convs');
}

const mentionsMe = (m) => {
  const t = m.text || '';
  return t.includes(`<@${S.me.id}>`) || /<!(here|channel|everyone)[>|]/.test(t);
};

function countUnread(c, m) {
  if (m.user === S.me.id || m.is_ephemeral || isReply(m)) return;
  const viewing = S.current === c.id && S.focused && document.visibilityState === 'visible' && !c.hasNewer;
  c.latest = m.ts;
  if (viewing) return;
  if (tsCmp(m.ts, c.last_read) <= 0) return;
  c.unread_count++;
  if (c.is_im || c.is_mpim || mentionsMe(m)) c.mention_count++;
  emit('notify', { conv: c, msg: m, mention: c.is_im || c.is_mpim || mentionsMe(m) });
}

function setReactions(m, name, user, add) {
  m.reactions = m.reactions || [];
  let r = m.reactions.find((x) => x.name === name);
  if (add) {
    if (!r) { r = { name, users: [], count: 0 }; m.reactions.push(r); }
    if (!r.users.includes(user)) { r.users.push(user); r.count = r.users.length; }
  } else if (r) {
    r.users = r.users.filter((u) => u !== user);
    r.count = r.users.length;
    if (!r.count) m.reactions = m.reactions.filter((x) => x !== r);
  }
}

function addMessage(chId, m) {
  const c = S.convs.get(chId);
  if (!c) {
    ensureConv(chId).then(() => addMessage(chId, m)).catch(() => {});
    return;
  }
  m.channel = chId;
  // Topic, purpose and name changes also arrive as system messages.
  if (m.subtype === 'channel_topic' || m.subtype === 'group_topic') { c.topic = { ...(c.topic || {}), value: m.topic ?? c.topic?.value }; emit('header', chId); }
  if (m.subtype === 'channel_purpose' || m.subtype === 'group_purpose') { c.purpose = { ...(c.purpose || {}), value: m.purpose ?? c.purpose?.value }; emit('header', chId); }
  if ((m.subtype === 'channel_name' || m.subtype === 'group_name') && m.name) { c.name = m.name; emit('header', chId); emit('convs'); }
  if (isReply(m)) {
    const t = threadOf(chId, m.thread_ts);
    insertSorted(t.replies, t.byTs, m);
    const parent = c.byTs.get(m.thread_ts);
    if (parent && !m.is_ephemeral) {
      parent.reply_count = t.loaded ? t.replies.filter((r) => !r.is_ephemeral).length : (parent.reply_count || 0) + 1;
      parent.reply_users = [...new Set([...(parent.reply_users || []), m.user])];
      parent.latest_reply = m.ts;
      emit('changed', { channel: chId, ts: parent.ts });
    }
    emit('reply', { channel: chId, thread_ts: m.thread_ts, msg: m });
    if (m.user !== S.me.id && mentionsMe(m)) emit('notify', { conv: c, msg: m, mention: true });
    return;
  }
  if (c.hasNewer && !m.is_ephemeral) { countUnread(c, m); emit('convs'); return; }
  if (!c.loaded && !m.is_ephemeral) { countUnread(c, m); emit('convs'); return; }
  const added = insertSorted(c.msgs, c.byTs, m);
  if (added) countUnread(c, m);
  emit(added ? 'message' : 'changed', { channel: chId, ts: m.ts });
  emit('convs');
  if (m.thread_ts && m.subtype === 'thread_broadcast') {
    const t = threadOf(chId, m.thread_ts);
    insertSorted(t.replies, t.byTs, m);
    emit('reply', { channel: chId, thread_ts: m.thread_ts, msg: m });
  }
}

function replaceMessage(chId, m) {
  m.channel = chId;
  const c = S.convs.get(chId);
  if (c?.byTs.has(m.ts)) insertSorted(c.msgs, c.byTs, { ...c.byTs.get(m.ts), ...m });
  if (isReply(m) || m.subtype === 'thread_broadcast') {
    const t = threadOf(chId, m.thread_ts);
    if (t.byTs.has(m.ts)) insertSorted(t.replies, t.byTs, { ...t.byTs.get(m.ts), ...m });
    emit('reply', { channel: chId, thread_ts: m.thread_ts, msg: m });
  }
  const t = S.threads.get(`${chId}/${m.ts}`);
  if (t && t.parent) t.parent = { ...t.parent, ...m };
  emit('changed', { channel: chId, ts: m.ts });
}

function deleteMessage(chId, ts) {
  const c = S.convs.get(chId);
  if (c && removeTs(c.msgs, c.byTs, ts)) emit('removed', { channel: chId, ts });
  for (const [k, t] of S.threads) {
    if (!k.startsWith(`${chId}/`)) continue;
    if (removeTs(t.replies, t.byTs, ts)) {
      const pts = k.slice(chId.length + 1);
      const parent = c?.byTs.get(pts);
      if (parent) { parent.reply_count = Math.max(0, (parent.reply_count || 1) - 1); emit('changed', { channel: chId, ts: pts }); }
      emit('reply', { channel: chId, thread_ts: pts });
    }
  }
}

// Our own sends show at once; the event for the same ts merges in.
export function addOwn(chId, m) {
  if (!m.user) m.user = S.me.id;
  addMessage(chId, m);
}

export function applyEvent(e) {
  switch (e.type) {
    case 'message': {
      const ch = e.channel;
      if (e.subtype === 'message_changed') replaceMessage(ch, e.message);
      else if (e.subtype === 'message_deleted') deleteMessage(ch, e.deleted_ts);
      else if (e.subtype === 'message_replied') replaceMessage(ch, e.message);
      else {
        const m = { ...e };
        delete m.type;
        m.type = 'message';
        addMessage(ch, m);
      }
      break;
    }
    case 'reaction_added':
    case 'reaction_removed': {
      const m = e.item && findMessage(e.item.channel, e.item.ts);
      if (m) {
        setReactions(m, e.reaction, e.user, e.type === 'reaction_added');
        emit('changed', { channel: e.item.channel, ts: e.item.ts });
        if (m.thread_ts) emit('reply', { channel: e.item.channel, thread_ts: m.thread_ts });
      }
      break;
    }
    case 'file_deleted': {
      // The messages sharing it show what a reload would: a tombstone.
      const id = e.file_id || e.file?.id;
      const gone = (chId, m) => {
        if (!m.files?.some((f) => f.id === id)) return;
        m.files = m.files.map((f) => (f.id === id ? { id, mode: 'tombstone' } : f));
        emit('changed', { channel: chId, ts: m.ts });
      };
      for (const c of S.convs.values()) for (const m of c.msgs || []) gone(c.id, m);
      for (const [key, t] of S.threads) for (const m of t.replies || []) gone(key.split('/')[0], m);
      break;
    }
    case 'channel_marked': case 'group_marked': case 'im_marked': case 'mpim_marked': {
      const c = S.convs.get(e.channel);
      if (c) {
        c.last_read = e.ts;
        c.unread_count = e.unread_count_display ?? e.unread_count ?? 0;
        c.mention_count = e.mention_count_display ?? e.mention_count ?? 0;
        emit('convs');
      }
      break;
    }
    case 'channel_created': case 'group_joined': case 'im_created': case 'mpim_joined': case 'channel_joined':
      if (e.channel?.id) { convInit(e.channel); ensureConv(e.channel.id).catch(() => {}); emit('convs'); }
      break;
    case 'member_joined_channel':
      if (e.user === S.me.id) { const c = S.convs.get(e.channel); if (c) c.is_member = true; ensureConv(e.channel).then(() => emit('convs')).catch(() => {}); }
      else { const c = S.convs.get(e.channel); if (c && c.num_members) { c.num_members++; emit('header', e.channel); } }
      break;
    case 'member_left_channel': case 'channel_left': case 'group_left':
      if (e.user === S.me.id || e.type !== 'member_left_channel') { const c = S.convs.get(e.channel); if (c) { c.is_member = false; if (c.is_private) S.convs.delete(c.id); emit('convs'); } }
      else { const c = S.convs.get(e.channel); if (c && c.num_members) { c.num_members--; emit('header', e.channel); } }
      break;
    case 'channel_rename': case 'group_rename':
      if (e.channel) { const c = S.convs.get(e.channel.id); if (c) { c.name = e.channel.name; emit('convs'); emit('header', c.id); } }
      break;
    case 'channel_archive': case 'group_archive': case 'channel_deleted': case 'group_deleted': {
      const c = S.convs.get(typeof e.channel === 'string' ? e.channel : e.channel?.id);
      if (c) { c.is_archived = true; emit('convs'); emit('header', c.id); }
      break;
    }
    case 'channel_unarchive': case 'group_unarchive': {
      const c = S.convs.get(e.channel);
      if (c) { c.is_archived = false; emit('convs'); }
      break;
    }
    case 'user_typing': {
      if (e.user === S.me.id) break;
      if (!S.typing.has(e.channel)) S.typing.set(e.channel, new Map());
      S.typing.get(e.channel).set(e.user, Date.now() + 6000);
      emit('typing', e.channel);
      setTimeout(() => emit('typing', e.channel), 6100);
      break;
    }
    case 'presence_change':
      for (const u of e.users || [e.user]) S.presence.set(u, e.presence);
      emit('presence');
      break;
    case 'user_change': case 'team_join':
      if (e.user?.id) { S.users.set(e.user.id, e.user); emit('users'); }
      break;
    case 'pin_added': case 'pin_removed': {
      const c = S.convs.get(e.channel_id || e.item?.channel);
      if (c) { c.pin_count = Math.max(0, (c.pin_count || 0) + (e.type === 'pin_added' ? 1 : -1)); emit('header', c.id); }
      break;
    }
    case 'pref_change':
      emit('pref', e);
      break;
    case 'view_opened': case 'view_pushed': case 'view_updated': case 'view_closed': case 'view_published':
      emit('view', e);
      break;
    default:
      break;
  }
}

export function typingIn(channel) {
  const m = S.typing.get(channel);
  if (!m) return [];
  const now = Date.now();
  return [...m].filter(([, t]) => t > now).map(([u]) => u);
}

let marking = new Map();
export async function markRead(id) {
  const c = S.convs.get(id);
  if (!c || !c.msgs.length || c.hasNewer) return;
  const last = [...c.msgs].reverse().find((m) => !m.is_ephemeral);
  if (!last) return;
  const had = c.unread_count || c.mention_count || tsCmp(last.ts, c.last_read) > 0;
  if (!had) return;
  c.unread_count = 0;
  c.mention_count = 0;
  c.last_read = last.ts;
  emit('convs');
  if (marking.get(id) === last.ts) return;
  marking.set(id, last.ts);
  try { await api('conversations.mark', { channel: id, ts: last.ts }); } catch { /* next view marks again */ }
}

// Sidebar order: channels by name, then DMs by name.
export function sidebarLists() {
  const chans = [];
  const dms = [];
  for (const c of S.convs.values()) {
    if (c.is_im) { if (!S.users.get(c.user)?.deleted || c.unread_count) dms.push(c); }
    else if (c.is_mpim) dms.push(c);
    else if (c.is_member && !c.is_archived) chans.push(c);
  }
  const by = (a, b) => convName(a).localeCompare(convName(b));
  return { chans: chans.sort(by), dms: dms.sort(by) };
}
