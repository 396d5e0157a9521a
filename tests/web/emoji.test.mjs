// Unit tests for web/js/emoji.js: Slack's shortcode names, skin tones, ranked
// search, the quick-reaction set, and the table's size budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { emojiChar, searchEmoji, REACTION_QUICK } from '../../web/js/emoji.js';

test('Slack shortcode names and their aliases', () => {
  const want = {
    '+1': '👍', thumbsup: '👍', '-1': '👎', eyes: '👀', wrench: '🔧', white_check_mark: '✅',
    heavy_check_mark: '✔️', tada: '🎉', heart: '❤️', joy: '😂', rocket: '🚀', fire: '🔥',
    100: '💯', pray: '🙏', raised_hands: '🙌', slightly_smiling_face: '🙂', x: '❌',
    warning: '⚠️', checkered_flag: '🏁', smile: '😄', simple_smile: null,
  };
  for (const [name, ch] of Object.entries(want)) {
    if (ch) assert.equal(emojiChar(name), ch, name);
  }
});

test('skin tones 2-6 on emoji that take them; ignored where they do not apply', () => {
  assert.equal(emojiChar('thumbsup::skin-tone-2'), '👍🏻');
  assert.equal(emojiChar('+1::skin-tone-6'), '👍🏿');
  assert.equal(emojiChar('wave::skin-tone-4'), '👋🏽');
  assert.equal(emojiChar('man-running::skin-tone-2'), '🏃🏻‍♂️');
  assert.equal(emojiChar('eyes::skin-tone-3'), '👀');
  assert.equal(emojiChar('wave::skin-tone-7'), null);
  assert.equal(emojiChar('wave::skin-tone-1'), null);
  assert.equal(emojiChar('wave::constructor'), null);
  assert.equal(emojiChar('wave::__proto__'), null);
});

test('unknown names and non-strings give null', () => {
  for (const v of ['', 'no_such_emoji', 'thumbsup::', '::skin-tone-2', 'constructor', '__proto__', 'toString', null, undefined, 42, {}]) {
    assert.equal(emojiChar(v), null, String(v));
  }
});

test('searchEmoji: exact first, then prefix, then word starts; common ones first', () => {
  assert.deepEqual(searchEmoji('eyes', 1), [{ name: 'eyes', char: '👀' }]);
  const th = searchEmoji('thu', 3).map((e) => e.name);
  assert.deepEqual(th, ['thumbsup', 'thumbsdown', 'thunder_cloud_and_rain']);
  const check = searchEmoji('check', 10).map((e) => e.name);
  assert.ok(check.includes('white_check_mark') && check.includes('heavy_check_mark'), check.join());
  assert.ok(check.indexOf('checkered_flag') < check.indexOf('white_check_mark'), 'prefix before word match');
  assert.deepEqual(searchEmoji(':tada:', 1), [{ name: 'tada', char: '🎉' }]);
  const common = searchEmoji('', 3).map((e) => e.name);
  assert.deepEqual(common, ['+1', 'white_check_mark', 'eyes']);
});

test('searchEmoji: one result per emoji, limit respected, odd input tolerated', () => {
  const res = searchEmoji('thumbs', 50);
  assert.equal(new Set(res.map((e) => e.char)).size, res.length);
  assert.equal(searchEmoji('a', 7).length, 7);
  assert.equal(searchEmoji('a', 0).length, 10);
  assert.equal(searchEmoji('zzzzzz', 5).length, 0);
  assert.ok(Array.isArray(searchEmoji(null, 5)));
  assert.ok(Array.isArray(searchEmoji(undefined, NaN)));
});

test('REACTION_QUICK starts with the S1 status reactions and all resolve', () => {
  assert.deepEqual(REACTION_QUICK.slice(0, 3), ['eyes', 'wrench', 'white_check_mark']);
  for (const n of REACTION_QUICK) assert.ok(emojiChar(n), n);
});

test('the table is several hundred to ~1,800 names and stays well under 40 KB', () => {
  const size = statSync(new URL('../../web/js/emoji.js', import.meta.url)).size;
  assert.ok(size < 38 * 1024, `emoji.js is ${size} bytes`);
  assert.ok(searchEmoji('', 5000).length > 1200);
});
