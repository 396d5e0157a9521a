#!/usr/bin/env node
// Rendering figures for the web client's pure modules (web/js): how long
// mrkdwn and Block Kit take per message, what a channel switch (50 messages)
// and a 10,000-message list cost, and the worst inputs we know of. Prints
// figures only; bounded (a few seconds). Run: node bench/web-render.mjs
import { renderMrkdwn } from '../web/js/mrkdwn.js';
import { renderBlocks } from '../web/js/blockkit.js';
import { searchEmoji } from '../web/js/emoji.js';

const ctx = { userName: (id) => `user_${id}`, channelName: (id) => `chan_${id}`, usergroupHandle: () => 'team', emoji: () => null };

function time(label, n, fn, unit = 'op') {
  for (let i = 0; i < Math.min(n, 200); i++) fn(i); // warm up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn(i);
  const ms = performance.now() - t0;
  console.log(`${label.padEnd(46)} ${(ms / n * 1000).toFixed(1).padStart(9)} µs/${unit}   (${n} in ${ms.toFixed(0)} ms)`);
  return ms;
}

const msgs = Array.from({ length: 10000 }, (_, i) => (i % 4 === 0
  ? `Hey <@U${i % 50}>, the *build* #${i} is _green_ :white_check_mark: see <https://ci.example/b/${i}|logs> and \`make test\``
  : i % 4 === 1 ? `&gt; quoted ${i}\n• one\n• two <#C${i % 9}>\n\`\`\`\nconst x = ${i};\n\`\`\``
    : i % 4 === 2 ? `short ${i} :eyes:` : `plain text message number ${i} with a bare link https://example.com/p/${i}.`));
const blocks = [
  { type: 'header', text: { type: 'plain_text', text: 'Deploy :rocket:' } },
  { type: 'section', text: { type: 'mrkdwn', text: '*Service:* api <@U1>' }, accessory: { type: 'button', text: { type: 'plain_text', text: 'Go' }, action_id: 'go' } },
  { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Approve' }, style: 'primary', action_id: 'a' },
    { type: 'static_select', action_id: 's', options: Array.from({ length: 20 }, (_, i) => ({ text: { type: 'plain_text', text: `opt ${i}` }, value: `${i}` })) }] },
  { type: 'input', label: { type: 'plain_text', text: 'Reason' }, element: { type: 'plain_text_input', action_id: 'r', multiline: true } },
  { type: 'rich_text', elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'hello ', style: { bold: true } }, { type: 'user', user_id: 'U1' }] }] },
];

console.log('web rendering (node ' + process.version + ')');
time('renderMrkdwn, mixed messages', 10000, (i) => renderMrkdwn(msgs[i], ctx), 'msg');
const sw = time('channel switch: 50 messages', 200, (i) => { for (let k = 0; k < 50; k++) renderMrkdwn(msgs[(i * 50 + k) % 10000], ctx); }, 'switch');
const all = time('10,000 messages at once', 3, () => { for (const m of msgs) renderMrkdwn(m, ctx); }, 'list');
time('renderBlocks, 5-block message/modal', 5000, () => renderBlocks(blocks, ctx), 'view');
time('searchEmoji("th", 8)', 2000, () => searchEmoji('th', 8), 'query');
for (const [name, text] of [
  ['worst: URL + 40k ")"', 'https://x.io/' + ')'.repeat(40000)],
  ['worst: 13k "*_~"', '*_~'.repeat(13000)],
  ['worst: 4k chained http:// (48 KB)', 'http://' + 'http://x.io/'.repeat(4000)],
  ['worst: 40k "<"', '<'.repeat(40000)],
]) time(name, 5, () => renderMrkdwn(text, ctx), 'msg');
console.log(`targets: channel switch render < 100 ms -> ${(sw / 200).toFixed(2)} ms; 10k list ${(all / 3).toFixed(0)} ms`);
