// Rendering of message text, emoji and Block Kit through the shared
// renderers (web/js/mrkdwn.js, emoji.js, blockkit.js), loaded with dynamic
// imports. Where one is missing, small fallbacks (render-fallback.js) are
// loaded instead, so the client always runs and the first load stays small.
import { S, userName, convName } from './state.js';

let M = null;
let E = null;
let B = null;
let F = null;

export const ctx = {
  userName: (id) => userName(id),
  channelName: (id) => { const c = S.convs.get(id); return c ? convName(c) : null; },
  usergroupHandle: (id) => S.usergroups?.get(id)?.handle || null,
  emoji: (name) => emojiChar(name),
};

export async function loadRenderers() {
  const [m, e, b] = await Promise.allSettled([import('./mrkdwn.js'), import('./emoji.js'), import('./blockkit.js')]);
  if (m.status === 'fulfilled') M = m.value;
  if (e.status === 'fulfilled') E = e.value;
  if (b.status === 'fulfilled') B = b.value;
  if (!M || !E || !B) F = await import('./render-fallback.js');
}

export const emojiChar = (name) => (E ? E.emojiChar(name) : F.emojiChar(name));
export const searchEmoji = (prefix, limit = 20) => (E ? E.searchEmoji(prefix, limit) : F.searchEmoji(prefix, limit));
export const quickReactions = () => (E?.REACTION_QUICK ? E.REACTION_QUICK.slice(0, 3) : ['👀', '🔧', '✅']).map((x) => (typeof x === 'string' ? x : x.char || x.name));
// 👀 -> "eyes": the names reactions.add wants.
export function emojiName(ch) {
  if (/^[a-z0-9_+-]+$/.test(ch)) return ch;
  for (const n of ['eyes', 'wrench', 'white_check_mark', '+1', 'heart', 'tada']) if (emojiChar(n) === ch) return n;
  return F ? F.emojiNameOf(ch) || ch : ch;
}

export const renderText = (text) => (M ? M.renderMrkdwn(text || '', ctx) : F.renderMrkdwn(text || '', ctx));
export const renderBlocks = (blocks) => (B ? B.renderBlocks(blocks, ctx) : F.renderBlocks(blocks, ctx));
export const readViewState = (form) => (B ? B.readViewState(form) : F.readViewState(form));
