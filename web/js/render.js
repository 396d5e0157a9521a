// Rendering of message text, files, emoji and Block Kit for the client,
// through the shared renderers (docs/web-rendering.md). mrkdwn.js is part
// of the first load; blockkit.js (only apps' messages, attachments and
// modals need it) and the emoji table emoji.js are loaded on first need (a
// message with blocks, a :name: in a message, a reaction, the picker, ":" in
// a composer), and what was drawn before they arrived is drawn again
// ('rerender' event). User groups' handles (usergroups.list) are fetched
// the same way, on the first <!subteam^S>.
import { api } from './api.js';
import { S, userName, convName, emit } from './state.js';
import { renderMrkdwn } from './mrkdwn.js';
import { emojiChar as tableChar, emojiReady, onEmojiMiss } from './emojiref.js';

// import(path) once; 'rerender' when it arrives.
function onDemand(path) {
  let mod = null;
  let p = null;
  const load = () => (p ||= import(path).then((m) => { mod = m; emit('rerender'); return m; }, (e) => { p = null; throw e; }));
  return { load, get: () => mod };
}
const emojiMod = onDemand('./emoji.js');
const bkMod = onDemand('./blockkit.js');
export const loadEmoji = emojiMod.load;
export const loadBlockKit = bkMod.load;

onEmojiMiss(() => { loadEmoji().catch(() => {}); });
const E = () => emojiMod.get();

let groupsAsked = false;
function groupHandle(id) {
  if (!S.usergroups && !groupsAsked) {
    groupsAsked = true;
    api('usergroups.list', { include_disabled: true })
      .then((r) => { S.usergroups = new Map((r.usergroups || []).map((g) => [g.id, g])); emit('rerender'); })
      .catch(() => { S.usergroups = new Map(); });
  }
  return S.usergroups?.get(id)?.handle || null;
}

export const ctx = {
  userName: (id) => userName(id),
  channelName: (id) => { const c = S.convs.get(id); return c ? convName(c) : null; },
  usergroupHandle: groupHandle,
  // Custom emoji would answer here; standard names come from emoji.js.
  emoji: () => null,
};

// The one-click reactions of scenario S1 (emoji.js REACTION_QUICK starts
// with these): their characters are known before the table is loaded, so
// the message toolbar never shows names.
const QUICK = [['eyes', '👀'], ['wrench', '🔧'], ['white_check_mark', '✅']];

/** The emoji for a name, or null (unknown, or the table still loading). */
export function emojiChar(name) {
  if (!emojiReady()) { const q = QUICK.find(([n]) => n === name); if (q) return q[1]; }
  return tableChar(name);
}

/** [{name, char}] matching prefix; empty until the table is loaded (it is asked for). */
export function searchEmoji(prefix, limit = 20) {
  if (!E()) { loadEmoji().catch(() => {}); return []; }
  return E().searchEmoji(prefix, limit);
}

/** The quick reactions as {name, char}: REACTION_QUICK names, the first three. */
export function quickReactions() {
  const names = E() ? E().REACTION_QUICK.slice(0, 3) : QUICK.map(([n]) => n);
  return names.map((name) => ({ name, char: emojiChar(name) || `:${name}:` }));
}

// Mentions of the reader stand out (mention-me, styled in render.css).
export function renderText(text) {
  const html = renderMrkdwn(text || '', ctx);
  const me = S.me && `<span class="mention" data-user-id="${S.me.id}">`;
  return me && html.includes(me) ? html.replaceAll(me, `<span class="mention mention-me" data-user-id="${S.me.id}">`) : html;
}
// Block Kit HTML, or null while blockkit.js is on its way (asked for here).
function withBlockKit(fn) {
  const m = bkMod.get();
  if (m) return fn(m);
  loadBlockKit().catch(() => {});
  return null;
}
export const renderBlocks = (blocks) => withBlockKit((m) => m.renderBlocks(blocks, ctx));
export const renderAttachments = (atts) => withBlockKit((m) => m.renderAttachments(atts, ctx));
