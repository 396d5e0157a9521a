// The web client's rendering modules are served by Canal as plain ES modules:
// right content types, byte-identical to web/, and importable as served
// (their relative imports resolve against the server's paths).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { test, useServer, repoRoot } from './lib/server.mjs';

const env = useServer({ fixture: false });

const FILES = [
	['/js/mrkdwn.js', 'text/javascript'],
	['/js/emoji.js', 'text/javascript'],
	['/js/emojiref.js', 'text/javascript'],
	['/js/blockkit.js', 'text/javascript'],
	['/css/render.css', 'text/css'],
];

test('rendering modules and CSS are served with their content types', async () => {
	for (const [p, type] of FILES) {
		const res = await fetch(env.srv.base + p);
		assert.equal(res.status, 200, p);
		assert.ok((res.headers.get('content-type') || '').startsWith(type), `${p}: ${res.headers.get('content-type')}`);
		const body = Buffer.from(await res.arrayBuffer());
		const disk = await readFile(path.join(repoRoot, 'web', p));
		assert.ok(body.equals(disk), `${p} differs from web${p}`);
	}
});

test('the served modules import and render, resolving their relative imports over HTTP', async () => {
	// Fetch each module and rewrite its relative imports to data: URLs of the
	// served siblings, then import the result: the code that runs is exactly
	// what the server sent.
	const served = {};
	for (const name of ['emojiref.js', 'emoji.js', 'mrkdwn.js', 'blockkit.js']) {
		served[name] = await (await fetch(`${env.srv.base}/js/${name}`)).text();
	}
	const urls = {};
	for (const name of ['emojiref.js', 'emoji.js', 'mrkdwn.js', 'blockkit.js']) {
		const src = served[name].replace(/from '\.\/([a-z]+\.js)'/g, (m, dep) => {
			assert.ok(urls[dep], `${name} imports ${dep}, which must be served too`);
			return `from '${urls[dep]}'`;
		});
		urls[name] = `data:text/javascript;base64,${Buffer.from(src).toString('base64')}`;
	}
	// emoji.js registers its table with the renderers (through emojiref.js).
	await import(urls['emoji.js']);
	const { renderMrkdwn } = await import(urls['mrkdwn.js']);
	const { renderBlocks } = await import(urls['blockkit.js']);
	assert.equal(renderMrkdwn('*hi* :eyes: <script>'), '<b>hi</b> <span class="emoji" title=":eyes:">👀</span> &lt;script&gt;');
	assert.match(renderBlocks([{ type: 'divider' }]), /^<hr class="bk-block bk-divider"/);
});

test('paths outside web/ and unknown files are refused', async () => {
	for (const p of ['/js/../../Makefile', '/js/%2e%2e/%2e%2e/Makefile', '/js/nope.js']) {
		const res = await fetch(env.srv.base + p);
		assert.notEqual(res.status, 200, p);
		await res.arrayBuffer();
	}
});
