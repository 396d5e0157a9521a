// Fuzz-style tests: seeded random mrkdwn and random Block Kit structures.
// Whatever comes in, the renderers never throw, the HTML is well-formed
// (lib/dom.mjs parses it strictly), and only allowlisted tags and attributes
// appear, with hrefs/srcs of safe schemes. A failure prints the seed and input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
// The emoji table registers itself with the renderers (emojiref.js) when imported.
import '../../web/js/emoji.js';
import { renderMrkdwn, renderPlain } from '../../web/js/mrkdwn.js';
import { renderBlocks, readViewState, renderAttachments } from '../../web/js/blockkit.js';
import { parseHtml, allElements } from './lib/dom.mjs';

function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['*', '_', '~', '`', '```', '<', '>', '|', '@', '#', '!', '^', ':', '&', ';', '/', '\n', ' ', ' ', 'a', 'b', 'x',
  '-', '• ', '1. ', '&gt;', '&gt;&gt;&gt;', '&lt;', '&amp;', '&quot;', '<@U1>', '<@U1|x>', '<#C1>', '<#C1|gen>', '<!here>',
  '<!subteam^S1|@g>', '<!date^1392734382^{date} {time}|fb>', '<http://a.io|', 'https://', 'http://x.io/', 'mailto:',
  'javascript:', 'JaVaScRiPt:alert(1)', 'data:text/html,', '<script>', '</script>', '"', "'", 'onerror=', '<img src=x ',
  ':eyes:', ':thumbsup::skin-tone-2:', ':nope:', '(', ')', '\t', '\u0000', '\u202e', '😀', 'é',
  '<!date^1^{constructor} {__proto__} {date_num}^javascript:x|f>', ':constructor:', ':__proto__:', '<@__proto__>'];

const TAGS = new Set(['b', 'i', 's', 'u', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'br', 'a', 'span', 'img', 'time',
  'div', 'h3', 'hr', 'figure', 'figcaption', 'button', 'select', 'option', 'optgroup', 'input', 'textarea', 'label']);
const ATTRS = new Set(['class', 'href', 'rel', 'target', 'title', 'src', 'alt', 'datetime', 'loading', 'referrerpolicy',
  'type', 'id', 'for', 'name', 'value', 'role', 'hidden', 'style', 'start', 'rows', 'placeholder', 'multiple', 'selected',
  'checked', 'step', 'min', 'max', 'minlength', 'maxlength', 'autofocus', 'aria-label', 'aria-haspopup', 'aria-expanded',
  'aria-labelledby']);

function checkHtml(html, where) {
  let root;
  try { root = parseHtml(html); } catch (e) { assert.fail(`${where}: ${e.message}\n${html.slice(0, 400)}`); }
  for (const e of allElements(root)) {
    assert.ok(TAGS.has(e.tagName), `${where}: tag <${e.tagName}>`);
    for (const [k, v] of e.attrs) {
      assert.ok(ATTRS.has(k) || k.startsWith('data-'), `${where}: attribute ${k}`);
      if (k === 'href') assert.match(v, /^(https?:\/\/[^\s]|mailto:|#\/c\/)/i, `${where}: href ${v}`);
      if (k === 'src') assert.match(v, /^(https?:\/\/|\/[^/\\])/i, `${where}: src ${v}`);
      if (k === 'style') assert.match(v, /^(background|border-left-color):#[0-9a-f]{3,8}$/i, `${where}: style ${v}`);
    }
  }
}

const ctx = {
  userName: (id) => (id === 'U1' ? 'al<i>ce' : null),
  channelName: (id) => (id === 'C1' ? 'gen"eral' : null),
  usergroupHandle: () => null,
  emoji: (n) => (n === 'nope' ? 'javascript:alert(1)' : null),
  timeZone: 'UTC',
};

test('random mrkdwn: never throws, well-formed, allowlisted tags and safe URLs', () => {
  const seed = 20261123;
  const rand = rng(seed);
  for (let n = 0; n < 4000; n++) {
    const len = Math.floor(rand() * 40);
    let t = '';
    for (let k = 0; k < len; k++) {
      t += rand() < 0.15 ? String.fromCharCode(Math.floor(rand() * 0x3000)) : PIECES[Math.floor(rand() * PIECES.length)];
    }
    const where = `seed ${seed} case ${n} ${JSON.stringify(t)}`;
    checkHtml(renderMrkdwn(t, ctx), where);
    assert.equal(typeof renderPlain(t, ctx), 'string', where);
  }
});

function randValue(rand, depth) {
  const r = rand();
  const strs = ['section', 'actions', 'input', 'context', 'rich_text', 'rich_text_section', 'rich_text_list', 'text',
    'button', 'static_select', 'users_select', 'checkboxes', 'radio_buttons', 'plain_text_input', 'overflow', 'datepicker',
    'image', 'plain_text', 'mrkdwn', 'emoji', 'user', 'link', 'date', 'https://x.io', 'javascript:alert(1)', '"><b>',
    '*b* <@U1>', '__proto__', 'danger', 'primary', '2026-01-01', 'external_select', 'header', 'divider', 'video', 'markdown'];
  if (depth > 3 || r < 0.3) return strs[Math.floor(rand() * strs.length)];
  if (r < 0.4) return Math.floor(rand() * 2000000000) - 5;
  if (r < 0.45) return rand() < 0.5 ? null : true;
  if (r < 0.65) return Array.from({ length: Math.floor(rand() * 4) }, () => randValue(rand, depth + 1));
  const keys = ['type', 'text', 'elements', 'element', 'fields', 'accessory', 'options', 'initial_option', 'initial_options',
    'value', 'url', 'image_url', 'alt_text', 'label', 'hint', 'block_id', 'action_id', 'style', 'placeholder', 'user_id',
    'timestamp', 'name', 'unicode', 'initial_user', 'initial_date', 'title', 'option_groups', 'confirm', 'optional'];
  const o = {};
  for (let k = Math.floor(rand() * 6); k >= 0; k--) o[keys[Math.floor(rand() * keys.length)]] = randValue(rand, depth + 1);
  return o;
}

test('random Block Kit structures: never throw, well-formed, allowlisted, state readable', () => {
  const seed = 611;
  const rand = rng(seed);
  for (let n = 0; n < 1500; n++) {
    const blocks = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
      const b = randValue(rand, 1);
      if (b && typeof b === 'object' && !Array.isArray(b) && rand() < 0.8) {
        b.type = ['section', 'actions', 'input', 'context', 'rich_text', 'image', 'header'][Math.floor(rand() * 7)];
      }
      return b;
    });
    const where = `seed ${seed} case ${n} ${JSON.stringify(blocks).slice(0, 300)}`;
    const html = renderBlocks(blocks, ctx);
    checkHtml(html, where);
    const st = readViewState(parseHtml(html));
    assert.equal(typeof st, 'object', where);
  }
});

test('random legacy attachments: never throw, well-formed, allowlisted', () => {
  const seed = 4242;
  const rand = rng(seed);
  const keys = ['color', 'pretext', 'author_name', 'author_link', 'author_icon', 'title', 'title_link', 'text', 'fields',
    'image_url', 'thumb_url', 'footer', 'footer_icon', 'ts', 'fallback', 'actions', 'blocks'];
  for (let n = 0; n < 1500; n++) {
    const atts = Array.from({ length: 1 + Math.floor(rand() * 2) }, () => {
      const a = {};
      for (let k = Math.floor(rand() * 8); k >= 0; k--) a[keys[Math.floor(rand() * keys.length)]] = randValue(rand, 2);
      if (rand() < 0.3) a.color = ['good', 'danger', '#abc', '#12345g', 'red;x:y', '#a1b2c3'][Math.floor(rand() * 6)];
      return rand() < 0.1 ? randValue(rand, 3) : a;
    });
    checkHtml(renderAttachments(atts, ctx), `seed ${seed} case ${n} ${JSON.stringify(atts).slice(0, 300)}`);
  }
});
