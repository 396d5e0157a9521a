// The renderers' way to the emoji table. emoji.js (the table, ~35 KB) is
// not part of the client's first load: mrkdwn.js and blockkit.js look names
// up here, emoji.js registers itself when it is imported, and until then a
// name counts as unknown and the client is told (onEmojiMiss), so it can
// load the table and render again.
let table = null;
let onMiss = null;

export function setEmojiTable(t) { table = t; }
export function onEmojiMiss(fn) { onMiss = fn; }
export const emojiReady = () => !!table;

/** The emoji for a Slack shortcode name, or null (also while the table is not loaded). */
export function emojiChar(name) {
  if (table) return table.emojiChar(name);
  if (onMiss) onMiss(name);
  return null;
}
