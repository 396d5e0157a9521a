// Size budget: the whole web client must stay under 200 KB of JS+CSS
// (issue 6); the rendering modules get at most half of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';

test('rendering modules and their CSS stay under 100 KB uncompressed', () => {
  const files = ['web/js/mrkdwn.js', 'web/js/emoji.js', 'web/js/blockkit.js', 'web/css/render.css'];
  const sizes = files.map((f) => statSync(new URL(`../../${f}`, import.meta.url)).size);
  const total = sizes.reduce((a, b) => a + b, 0);
  assert.ok(total < 100 * 1024, `${total} bytes: ${files.map((f, i) => `${f}=${sizes[i]}`).join(' ')}`);
});
