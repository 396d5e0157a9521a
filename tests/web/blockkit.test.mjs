// Unit tests for web/js/blockkit.js: each block and element, the data-*
// contract the app code relies on, escaping, malformed input, and
// readViewState() on the rendered DOM (parsed by lib/dom.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
// The emoji table registers itself with the renderers (emojiref.js) when imported.
import '../../web/js/emoji.js';
import { renderBlocks, readViewState, textHtml, textPlain } from '../../web/js/blockkit.js';
import { parseHtml, allElements } from './lib/dom.mjs';

const ctx = {
  userName: (id) => ({ U1: 'alice', U2: 'bob' }[id] ?? null),
  channelName: (id) => ({ C1: 'general' }[id] ?? null),
  usergroupHandle: () => null,
  emoji: () => null,
  timeZone: 'UTC',
};
const pt = (text) => ({ type: 'plain_text', text });
const md = (text) => ({ type: 'mrkdwn', text });
const opt = (text, value, extra = {}) => ({ text: pt(text), value, ...extra });
const dom = (blocks) => parseHtml(renderBlocks(blocks, ctx));
const one = (root, sel) => {
  const all = root.querySelectorAll(sel);
  assert.equal(all.length, 1, `exactly one ${sel}`);
  return all[0];
};
const interactive = (root) => root.querySelectorAll('[data-kind][data-block-id][data-action-id]');

test('text objects: plain_text escapes and converts emoji, mrkdwn formats', () => {
  assert.equal(textHtml(pt('<b>hi</b> :tada:'), ctx), '&lt;b&gt;hi&lt;/b&gt; 🎉');
  assert.equal(textHtml({ type: 'plain_text', text: ':tada:', emoji: false }, ctx), ':tada:');
  assert.equal(textHtml(md('*hi* <@U1>'), ctx), '<b>hi</b> <span class="mention" data-user-id="U1">@alice</span>');
  assert.equal(textHtml('a\nb', ctx), 'a<br>b');
  assert.equal(textPlain(md('*hi* <@U1>'), ctx), 'hi @alice');
  assert.equal(textHtml(42, ctx), '');
  assert.equal(textHtml({ type: 'plain_text', text: { nested: 1 } }, ctx), '');
});

test('section: text, fields, accessory button with data-* contract', () => {
  const root = dom([{
    type: 'section', block_id: 'sec1', text: md('*Deploy* ready'),
    fields: [md('*Env*\nprod'), pt('v1.2')],
    accessory: { type: 'button', action_id: 'approve', value: 'ok-1', style: 'primary', text: pt('Approve') },
  }]);
  const sec = root.querySelectorAll('[data-block-id]')[0];
  assert.equal(sec.getAttribute('class'), 'bk-block bk-section');
  assert.equal(sec.getAttribute('data-block-id'), 'sec1');
  const html = renderBlocks([{ type: 'section', block_id: 'sec1', text: md('*Deploy* ready') }], ctx);
  assert.match(html, /<div class="bk-text"><b>Deploy<\/b> ready<\/div>/);
  const fields = root.querySelectorAll('div').filter((d) => d.getAttribute('class') === 'bk-field');
  assert.equal(fields.length, 2);
  assert.equal(fields[0].textContent, 'Envprod');
  const btn = one(root, 'button');
  assert.equal(btn.getAttribute('data-kind'), 'button');
  assert.equal(btn.getAttribute('data-action-id'), 'approve');
  assert.equal(btn.getAttribute('data-block-id'), 'sec1');
  assert.equal(btn.getAttribute('data-value'), 'ok-1');
  assert.equal(btn.getAttribute('class'), 'bk-button bk-primary');
  assert.equal(btn.getAttribute('type'), 'button');
});

test('buttons: danger style, url buttons are safe links, confirm carried as JSON', () => {
  const root = dom([{ type: 'actions', block_id: 'a1', elements: [
    { type: 'button', action_id: 'del', text: pt('Delete'), style: 'danger', value: 'x',
      confirm: { title: pt('Sure?'), text: pt('Really'), confirm: pt('Yes'), deny: pt('No') } },
    { type: 'button', action_id: 'docs', text: pt('Docs'), url: 'https://docs.example/a?b=1&c=2' },
    { type: 'button', action_id: 'evil', text: pt('Evil'), url: 'javascript:alert(1)' },
    { type: 'button', action_id: 'odd', text: pt('Odd'), style: 'purple" onclick="x' },
  ] }]);
  const els = interactive(root);
  assert.equal(els.length, 4);
  assert.equal(els[0].getAttribute('class'), 'bk-button bk-danger');
  assert.deepEqual(JSON.parse(els[0].getAttribute('data-confirm')).title, pt('Sure?'));
  assert.equal(els[1].tagName, 'a');
  assert.equal(els[1].getAttribute('href'), 'https://docs.example/a?b=1&c=2');
  assert.equal(els[1].getAttribute('rel'), 'noopener noreferrer');
  assert.equal(els[1].getAttribute('target'), '_blank');
  assert.equal(els[2].tagName, 'button');
  assert.equal(els[2].getAttribute('href'), null);
  assert.equal(els[3].getAttribute('class'), 'bk-button');
});

test('context, divider, header, image blocks', () => {
  const html = renderBlocks([
    { type: 'context', elements: [{ type: 'image', image_url: 'https://img.example/a.png', alt_text: 'av"' }, md('by <@U2>'), pt('2 min')] },
    { type: 'divider', block_id: 'd' },
    { type: 'header', text: pt('Release <1.0> :rocket:') },
    { type: 'image', image_url: 'https://img.example/b.png', alt_text: 'chart', title: pt('Weekly') },
    { type: 'image', slack_file: { url: '/files/F1/b.png' }, alt_text: 'file' },
    { type: 'image', image_url: 'javascript:alert(1)', alt_text: 'bad' },
  ], ctx);
  const root = parseHtml(html);
  const imgs = root.querySelectorAll('img');
  assert.deepEqual(imgs.map((i) => i.getAttribute('src')), ['https://img.example/a.png', 'https://img.example/b.png', '/files/F1/b.png']);
  assert.equal(imgs[0].getAttribute('alt'), 'av"');
  assert.match(html, /<span class="bk-context-text">by <span class="mention" data-user-id="U2">@bob<\/span><\/span>/);
  assert.match(html, /<hr class="bk-block bk-divider" data-block-id="d">/);
  assert.match(html, /<h3 class="bk-block bk-header" data-block-id="b2">Release &lt;1\.0&gt; 🚀<\/h3>/);
  assert.match(html, /<figcaption class="bk-image-title">Weekly<\/figcaption>/);
  assert.match(html, /<span class="bk-img bk-image-missing">bad<\/span>/);
});

test('rich_text: sections with styles, lists, quote, preformatted, mentions, emoji, links, dates', () => {
  const html = renderBlocks([{ type: 'rich_text', block_id: 'rt', elements: [
    { type: 'rich_text_section', elements: [
      { type: 'text', text: 'Hi ', style: { bold: true } },
      { type: 'text', text: 'it', style: { italic: true, strike: true } },
      { type: 'text', text: 'x()', style: { code: true } },
      { type: 'user', user_id: 'U1' }, { type: 'channel', channel_id: 'C1' },
      { type: 'usergroup', usergroup_id: 'S9' }, { type: 'broadcast', range: 'here' },
      { type: 'emoji', name: 'thumbsup', skin_tone: 3 }, { type: 'emoji', name: 'custom', unicode: '1f680' },
      { type: 'link', url: 'https://x.io', text: 'site', style: { bold: true } },
      { type: 'link', url: 'javascript:alert(1)', text: 'bad' },
      { type: 'date', timestamp: 1392734382, format: '{date_num}', fallback: 'fb' },
      { type: 'color', value: '#ff0000' }, { type: 'color', value: 'red;background:url(x)' },
      { type: 'text', text: 'line1\nline2' },
    ] },
    { type: 'rich_text_list', style: 'bullet', indent: 1, elements: [
      { type: 'rich_text_section', elements: [{ type: 'text', text: 'one' }] },
      { type: 'rich_text_section', elements: [{ type: 'text', text: 'two' }] }] },
    { type: 'rich_text_list', style: 'ordered', offset: 2, elements: [{ type: 'rich_text_section', elements: [{ type: 'text', text: 'three' }] }] },
    { type: 'rich_text_quote', elements: [{ type: 'text', text: 'quoted' }] },
    { type: 'rich_text_preformatted', elements: [{ type: 'text', text: 'a <b>\n  c', style: { bold: true } }] },
  ] }], ctx);
  parseHtml(html);
  for (const s of ['<b>Hi </b>', '<i><s>it</s></i>', '<code class="mk-code">x()</code>',
    '<span class="mention" data-user-id="U1">@alice</span>',
    '<a class="channel-link" data-channel-id="C1" href="#/c/C1">#general</a>',
    '<span class="mention mention-group" data-usergroup-id="S9">@S9</span>',
    '<span class="mention mention-broadcast" data-broadcast="here">@here</span>',
    '<span class="emoji" title=":thumbsup:">👍🏼</span>', '🚀',
    '<b><a href="https://x.io" rel="noopener noreferrer" target="_blank">site</a></b>', 'bad',
    '<time class="mk-date" datetime="2014-02-18T14:39:42.000Z" title="fb">2014-02-18</time>',
    '<span class="bk-swatch" style="background:#ff0000"></span>#ff0000',
    '<span class="bk-color">red;background:url(x)</span>', 'line1<br>line2',
    '<ul class="bk-rt-list bk-rt-indent-1"><li>one</li><li>two</li></ul>',
    '<ol class="bk-rt-list bk-rt-indent-0" start="3"><li>three</li></ol>',
    '<blockquote class="mk-quote">quoted</blockquote>',
    '<pre class="mk-pre">a &lt;b&gt;\n  c</pre>']) assert.ok(html.includes(s), s);
  assert.ok(!html.includes('javascript'));
});

test('static selects: options, groups, initial option, placeholder, multi', () => {
  const root = dom([{ type: 'actions', block_id: 'sel', elements: [
    { type: 'static_select', action_id: 's1', placeholder: pt('Pick one'), options: [opt('A', 'a'), opt('B "b"', 'b')], initial_option: opt('B "b"', 'b') },
    { type: 'static_select', action_id: 's2', option_groups: [{ label: pt('G1'), options: [opt('X', 'x')] }, { label: pt('G2'), options: [opt('Y', 'y')] }] },
    { type: 'multi_static_select', action_id: 's3', options: [opt('A', 'a'), opt('B', 'b'), opt('C', 'c')], initial_options: [opt('A', 'a'), opt('C', 'c')], max_selected_items: 2 },
  ] }]);
  const sels = root.querySelectorAll('select');
  assert.equal(sels.length, 3);
  assert.deepEqual(sels.map((s) => s.getAttribute('data-kind')), ['static_select', 'static_select', 'multi_static_select']);
  assert.equal(sels[0].querySelectorAll('option')[0].textContent, 'Pick one');
  assert.equal(sels[0].value, 'b');
  assert.equal(sels[1].querySelectorAll('optgroup').length, 2);
  assert.equal(sels[1].value, '');
  assert.ok(sels[2].hasAttribute('multiple'));
  assert.equal(sels[2].getAttribute('data-max-selected'), '2');
  const st = readViewState(root);
  assert.deepEqual(st.sel.s1, { type: 'static_select', selected_option: { text: pt('B "b"'), value: 'b' } });
  assert.deepEqual(st.sel.s2, { type: 'static_select', selected_option: null });
  assert.deepEqual(st.sel.s3, { type: 'multi_static_select', selected_options: [{ text: pt('A'), value: 'a' }, { text: pt('C'), value: 'c' }] });
  sels[1].value = 'y';
  assert.deepEqual(readViewState(root).sel.s2.selected_option, { text: pt('Y'), value: 'y' });
});

test('users/conversations/channels/external selects render as picker buttons', () => {
  const root = dom([{ type: 'actions', block_id: 'p', elements: [
    { type: 'users_select', action_id: 'u', initial_user: 'U1' },
    { type: 'multi_users_select', action_id: 'mu', initial_users: ['U1', 'U2', 7] },
    { type: 'conversations_select', action_id: 'c', placeholder: pt('Where?'), filter: { include: ['public'] }, default_to_current_conversation: true },
    { type: 'multi_conversations_select', action_id: 'mc', initial_conversations: ['C1'] },
    { type: 'channels_select', action_id: 'ch', initial_channel: 'C9' },
    { type: 'multi_channels_select', action_id: 'mch' },
    { type: 'external_select', action_id: 'e', min_query_length: 2, initial_option: opt('Ext', 'e1') },
    { type: 'multi_external_select', action_id: 'me', initial_options: [opt('One', '1'), opt('Two', '2')] },
  ] }]);
  const els = interactive(root);
  assert.equal(els.length, 8);
  for (const el of els) {
    assert.equal(el.tagName, 'button');
    assert.equal(el.getAttribute('type'), 'button');
  }
  assert.equal(els[0].textContent, '@alice');
  assert.equal(els[0].getAttribute('data-value'), 'U1');
  assert.equal(els[1].textContent, '@alice, @bob');
  assert.equal(els[1].getAttribute('data-multi'), 'true');
  assert.equal(els[2].textContent, 'Where?');
  assert.deepEqual(JSON.parse(els[2].getAttribute('data-filter')), { include: ['public'] });
  assert.equal(els[2].getAttribute('data-default-current'), 'true');
  assert.equal(els[4].textContent, '#C9');
  assert.equal(els[6].getAttribute('data-kind'), 'external_select');
  assert.equal(els[6].getAttribute('data-min-query-length'), '2');
  assert.equal(els[6].textContent, 'Ext');
  assert.deepEqual(readViewState(root).p, {
    u: { type: 'users_select', selected_user: 'U1' },
    mu: { type: 'multi_users_select', selected_users: ['U1', 'U2'] },
    c: { type: 'conversations_select', selected_conversation: null },
    mc: { type: 'multi_conversations_select', selected_conversations: ['C1'] },
    ch: { type: 'channels_select', selected_channel: 'C9' },
    mch: { type: 'multi_channels_select', selected_channels: [] },
    e: { type: 'external_select', selected_option: { text: pt('Ext'), value: 'e1' } },
    me: { type: 'multi_external_select', selected_options: [{ text: pt('One'), value: '1' }, { text: pt('Two'), value: '2' }] },
  });
  // The app code records a pick by setting data-value / data-option.
  els[2].attrs.set('data-value', 'C1');
  assert.equal(readViewState(root).p.c.selected_conversation, 'C1');
});

test('overflow: a toggle and menu items carrying the option; url items are safe links', () => {
  const root = dom([{ type: 'section', block_id: 'o', text: pt('x'), accessory: {
    type: 'overflow', action_id: 'more', options: [opt('Edit', 'edit'), opt('Docs', 'docs', { url: 'https://d.example' }), opt('Bad', 'bad', { url: 'javascript:x' })],
  } }]);
  const items = root.querySelectorAll('[data-kind]').filter((e) => e.getAttribute('data-kind') === 'overflow');
  assert.equal(items.length, 3);
  assert.deepEqual(items.map((i) => i.getAttribute('data-value')), ['edit', 'docs', 'bad']);
  assert.deepEqual(items.map((i) => i.tagName), ['button', 'a', 'button']);
  assert.equal(items[1].getAttribute('href'), 'https://d.example');
  assert.deepEqual(JSON.parse(items[0].getAttribute('data-option')), { text: pt('Edit'), value: 'edit' });
  assert.equal(one(root, 'ul').getAttribute('hidden'), '');
  assert.deepEqual(readViewState(root), {});
});

test('modal inputs: label/hint/optional, every input kind, state round trip', () => {
  const blocks = [
    { type: 'input', block_id: 'title', label: pt('Title'), hint: pt('Short'), element: { type: 'plain_text_input', action_id: 't', initial_value: 'Hello "you" <b>', max_length: 80, placeholder: pt('Type') } },
    { type: 'input', block_id: 'desc', optional: true, label: pt('Description'), element: { type: 'plain_text_input', action_id: 'd', multiline: true } },
    { type: 'input', block_id: 'when', label: pt('Date'), element: { type: 'datepicker', action_id: 'dp', initial_date: '2026-11-23' } },
    { type: 'input', block_id: 'at', label: pt('Time'), element: { type: 'timepicker', action_id: 'tp', initial_time: '09:30' } },
    { type: 'input', block_id: 'dt', label: pt('When'), element: { type: 'datetimepicker', action_id: 'dtp' } },
    { type: 'input', block_id: 'mail', label: pt('Email'), element: { type: 'email_text_input', action_id: 'm' } },
    { type: 'input', block_id: 'site', label: pt('URL'), element: { type: 'url_text_input', action_id: 'u', initial_value: 'https://x.io' } },
    { type: 'input', block_id: 'num', label: pt('Count'), element: { type: 'number_input', action_id: 'n', is_decimal_allowed: false, min_value: '1', max_value: '9', initial_value: '3' } },
    { type: 'input', block_id: 'opts', label: pt('Options'), element: { type: 'checkboxes', action_id: 'cb', options: [opt('One', '1', { description: pt('first') }), opt('Two', '2')], initial_options: [opt('Two', '2')] } },
    { type: 'input', block_id: 'pick', label: pt('Pick'), element: { type: 'radio_buttons', action_id: 'rb', options: [opt('Red', 'r'), { text: md('*Blue*'), value: 'b' }] } },
    { type: 'input', block_id: 'who', label: pt('Who'), element: { type: 'users_select', action_id: 'us' } },
    { type: 'input', block_id: 'rich', label: pt('Notes'), element: { type: 'rich_text_input', action_id: 'ri' } },
  ];
  const html = renderBlocks(blocks, ctx);
  const root = parseHtml(html);
  // Each labelled control's label points at it.
  for (const label of root.querySelectorAll('label').filter((l) => l.getAttribute('class') === 'bk-label')) {
    const id = label.getAttribute('for');
    assert.equal(root.querySelectorAll('[id]').filter((e) => e.getAttribute('id') === id).length, 1, id);
  }
  assert.match(html, /Description <span class="bk-optional">\(optional\)<\/span>/);
  assert.match(html, /<div class="bk-hint">Short<\/div>/);
  assert.match(html, /data-error-for="title"/);
  const byAction = Object.fromEntries(interactive(root).map((e) => [e.getAttribute('data-action-id'), e]));
  assert.equal(byAction.t.getAttribute('maxlength'), '80');
  assert.equal(byAction.t.getAttribute('placeholder'), 'Type');
  assert.equal(byAction.d.tagName, 'textarea');
  assert.equal(byAction.dp.getAttribute('type'), 'date');
  assert.equal(byAction.n.getAttribute('step'), '1');
  const group = byAction.rb;
  assert.equal(group.getAttribute('role'), 'radiogroup');
  assert.ok(root.querySelectorAll('[id]').some((e) => e.getAttribute('id') === group.getAttribute('aria-labelledby')));
  const radios = group.querySelectorAll('input');
  assert.equal(new Set(radios.map((r) => r.getAttribute('name'))).size, 1);
  assert.deepEqual(readViewState(root), {
    title: { t: { type: 'plain_text_input', value: 'Hello "you" <b>' } },
    desc: { d: { type: 'plain_text_input', value: null } },
    when: { dp: { type: 'datepicker', selected_date: '2026-11-23' } },
    at: { tp: { type: 'timepicker', selected_time: '09:30' } },
    dt: { dtp: { type: 'datetimepicker', selected_date_time: null } },
    mail: { m: { type: 'email_text_input', value: null } },
    site: { u: { type: 'url_text_input', value: 'https://x.io' } },
    num: { n: { type: 'number_input', value: '3' } },
    opts: { cb: { type: 'checkboxes', selected_options: [{ text: pt('Two'), value: '2' }] } },
    pick: { rb: { type: 'radio_buttons', selected_option: null } },
    who: { us: { type: 'users_select', selected_user: null } },
    rich: { ri: { type: 'rich_text_input', rich_text_value: { type: 'rich_text', elements: [] } } },
  });
  // The user fills the form in.
  byAction.d.value = 'multi\nline';
  byAction.dtp.value = '2026-11-23T10:00';
  byAction.m.value = 'a@b.co';
  byAction.cb.querySelectorAll('input')[0].checked = true;
  radios[1].checked = true;
  byAction.ri.value = 'note';
  const st = readViewState(root);
  assert.equal(st.desc.d.value, 'multi\nline');
  assert.equal(st.dt.dtp.selected_date_time, Math.floor(new Date('2026-11-23T10:00').getTime() / 1000));
  assert.equal(st.mail.m.value, 'a@b.co');
  assert.deepEqual(st.opts.cb.selected_options, [{ text: pt('One'), value: '1', description: pt('first') }, { text: pt('Two'), value: '2' }]);
  assert.deepEqual(st.pick.rb.selected_option, { text: md('*Blue*'), value: 'b' });
  assert.deepEqual(st.rich.ri.rich_text_value.elements[0].elements[0], { type: 'text', text: 'note' });
});

test('every interactive element carries data-kind, data-block-id, data-action-id', () => {
  const kinds = ['button', 'static_select', 'multi_static_select', 'users_select', 'conversations_select', 'channels_select',
    'external_select', 'datepicker', 'timepicker', 'datetimepicker', 'checkboxes', 'radio_buttons', 'plain_text_input',
    'email_text_input', 'url_text_input', 'number_input', 'rich_text_input', 'overflow'];
  const root = dom(kinds.map((k) => ({ type: 'input', block_id: `b_${k}`, label: pt(k), element: { type: k, action_id: `a_${k}`, options: [opt('o', 'v')], text: pt('t') } })));
  for (const k of kinds) {
    const el = root.querySelectorAll('[data-kind][data-block-id][data-action-id]').find((e) => e.getAttribute('data-block-id') === `b_${k}`);
    assert.ok(el, k);
    assert.equal(el.getAttribute('data-action-id'), `a_${k}`);
  }
});

test('missing block_id and action_id get stable generated ones', () => {
  const blocks = [{ type: 'actions', elements: [{ type: 'button', text: pt('A') }, { type: 'static_select', options: [opt('x', 'x')] }] }];
  assert.equal(renderBlocks(blocks, ctx).replace(/bk[0-9a-z]+/g, ''), renderBlocks(blocks, ctx).replace(/bk[0-9a-z]+/g, ''));
  const els = interactive(dom(blocks));
  assert.deepEqual(els.map((e) => e.getAttribute('data-block-id')), ['b0', 'b0']);
  assert.deepEqual(els.map((e) => e.getAttribute('data-action-id')), ['button-b0', 'static_select-b0']);
});

test('markdown and video blocks', () => {
  const html = renderBlocks([
    { type: 'markdown', text: '## Title\n**bold** and [link](https://x.io) <script>' },
    { type: 'video', title: pt('Demo'), title_url: 'https://v.example/1', thumbnail_url: 'https://v.example/t.jpg', alt_text: 'demo', video_url: 'https://v.example/e' },
  ], ctx);
  parseHtml(html);
  assert.ok(html.includes('<b>Title</b>'));
  assert.ok(html.includes('<b>bold</b> and <a href="https://x.io" rel="noopener noreferrer" target="_blank">link</a> &lt;script&gt;'));
  assert.ok(html.includes('<a href="https://v.example/1" rel="noopener noreferrer" target="_blank">Demo</a>'));
});

test('malformed blocks never throw and render a neutral note', () => {
  const bad = [
    null, undefined, 0, 'section', [], { }, { type: 'nope' }, { type: 7 },
    { type: 'section' }, { type: 'section', text: 'plain string' }, { type: 'section', fields: 'x', accessory: 'y' },
    { type: 'section', accessory: { type: 'wat' } }, { type: 'section', accessory: { type: 'button' } },
    { type: 'actions', elements: 'x' }, { type: 'actions', elements: [null, 1, { type: 'static_select', options: 'x', initial_option: 5 }] },
    { type: 'context', elements: [null, 3, { type: 'image' }] }, { type: 'image' }, { type: 'image', image_url: 5 },
    { type: 'header', text: null }, { type: 'input' }, { type: 'input', element: 'x', label: 5 },
    { type: 'input', element: { type: 'checkboxes', options: [null, 1, { text: null }], initial_options: 'x' } },
    { type: 'input', element: { type: 'multi_users_select', initial_users: 'U1' } },
    { type: 'input', element: { type: 'number_input', min_value: {}, initial_value: 'abc' } },
    { type: 'input', element: { type: 'datepicker', initial_date: '"><script>' } },
    { type: 'rich_text', elements: [null, { type: 'rich_text_list', elements: 'x' }, { type: 'rich_text_section', elements: [{ type: 'emoji', unicode: 'zzzz' }, { type: 'date', timestamp: 'x' }, { type: 'link' }] }, { type: 'weird' }] },
    { type: 'section', text: { type: 'mrkdwn', text: { toString() { throw new Error('x'); } } } },
    { get type() { throw new Error('getter'); } },
  ];
  const html = renderBlocks(bad, ctx);
  parseHtml(html);
  assert.ok(html.includes("This content can't be displayed."));
  assert.ok(html.includes("This element can't be displayed."));
  for (const v of [null, undefined, 'x', 42, {}, { length: 3 }]) assert.equal(renderBlocks(v, ctx), '');
  assert.deepEqual(readViewState(null), {});
  assert.deepEqual(readViewState({}), {});
});

test('hostile ids and values stay inside their attributes; __proto__ is a plain key', () => {
  const evil = '"><img src=x onerror=alert(1)>';
  const root = dom([
    { type: 'input', block_id: evil, label: pt(evil), element: { type: 'plain_text_input', action_id: evil, initial_value: evil } },
    { type: 'input', block_id: '__proto__', label: pt('p'), element: { type: 'static_select', action_id: 'constructor', options: [opt(evil, evil)], initial_option: opt(evil, evil) } },
    { type: 'actions', block_id: 'x', elements: [{ type: 'button', text: pt(evil), value: evil, action_id: 'b' }] },
  ]);
  for (const e of allElements(root)) {
    assert.notEqual(e.tagName, 'img');
    for (const k of e.attrs.keys()) assert.ok(!k.startsWith('on'), k);
  }
  const st = readViewState(root);
  assert.equal(st[evil][evil].value, evil);
  assert.ok(Object.prototype.hasOwnProperty.call(st, '__proto__'));
  assert.equal(st['__proto__'].constructor.selected_option.value, evil);
  assert.equal(Object.getPrototypeOf(st), Object.prototype);
  assert.equal({}.constructor, Object);
});

test('actionPayload: Slack block_actions entries for buttons, overflow items, selects, pickers, inputs', async () => {
  const { actionPayload } = await import('../../web/js/blockkit.js');
  const root = dom([
    { type: 'actions', block_id: 'acts', elements: [
      { type: 'button', action_id: 'go', text: pt('Go :tada:'), value: 'v', style: 'primary' },
      { type: 'button', action_id: 'plain', text: pt('Plain') },
      { type: 'overflow', action_id: 'more', options: [opt('Edit', 'edit')] },
      { type: 'static_select', action_id: 'sel', options: [opt('A', 'a')], initial_option: opt('A', 'a') },
      { type: 'users_select', action_id: 'who', initial_user: 'U1' },
      { type: 'checkboxes', action_id: 'cb', options: [opt('A', 'a')], initial_options: [opt('A', 'a')] },
      { type: 'datepicker', action_id: 'day', initial_date: '2026-01-02' },
    ] },
    { type: 'input', block_id: 'in', dispatch_action: true, label: pt('L'), element: { type: 'plain_text_input', action_id: 'txt', initial_value: 'hi' } },
  ]);
  const byId = (aid) => interactive(root).find((e) => e.getAttribute('data-action-id') === aid && e.getAttribute('data-kind') !== 'overflow_toggle');
  const strip = ({ action_ts, ...rest }) => { assert.match(action_ts, /^\d+\.\d{6}$/); return rest; };
  assert.deepEqual(strip(actionPayload(byId('go'))), { type: 'button', action_id: 'go', block_id: 'acts', text: pt('Go :tada:'), value: 'v', style: 'primary' });
  assert.deepEqual(strip(actionPayload(byId('plain'))), { type: 'button', action_id: 'plain', block_id: 'acts', text: pt('Plain') });
  assert.deepEqual(strip(actionPayload(byId('more'))), { type: 'overflow', action_id: 'more', block_id: 'acts', selected_option: { text: pt('Edit'), value: 'edit' } });
  assert.deepEqual(strip(actionPayload(byId('sel'))), { type: 'static_select', action_id: 'sel', block_id: 'acts', selected_option: { text: pt('A'), value: 'a' } });
  assert.deepEqual(strip(actionPayload(byId('who'))), { type: 'users_select', action_id: 'who', block_id: 'acts', selected_user: 'U1' });
  assert.deepEqual(strip(actionPayload(byId('cb'))), { type: 'checkboxes', action_id: 'cb', block_id: 'acts', selected_options: [{ text: pt('A'), value: 'a' }] });
  assert.deepEqual(strip(actionPayload(byId('day'))), { type: 'datepicker', action_id: 'day', block_id: 'acts', selected_date: '2026-01-02' });
  assert.deepEqual(strip(actionPayload(byId('txt'))), { type: 'plain_text_input', action_id: 'txt', block_id: 'in', value: 'hi' });
  const toggle = interactive(root).find((e) => e.getAttribute('data-kind') === 'overflow_toggle');
  assert.equal(actionPayload(toggle), null);
  assert.equal(actionPayload(null), null);
  assert.equal(actionPayload({}), null);
  assert.equal(actionPayload(root.querySelectorAll('div')[0]), null);
});

test('an overflow without action_id: toggle and items share the generated id', () => {
  const els = interactive(dom([{ type: 'actions', block_id: 'z', elements: [{ type: 'overflow', options: [opt('a', 'a')] }] }]));
  assert.deepEqual(els.map((e) => [e.getAttribute('data-kind'), e.getAttribute('data-action-id')]), [['overflow_toggle', 'overflow-z'], ['overflow', 'overflow-z']]);
});

test('legacy attachments: color bar, pretext, author, title, text, fields, footer, url buttons', async () => {
  const { renderAttachments } = await import('../../web/js/blockkit.js');
  const html = renderAttachments([{
    color: 'danger', pretext: 'Heads up *now*', author_name: 'CI', author_link: 'https://ci.example', author_icon: 'https://ci.example/i.png',
    title: 'Build #42 <failed>', title_link: 'https://ci.example/42', text: 'Step `test` failed for <@U1>',
    fields: [{ title: 'Branch', value: 'main', short: true }, { title: 'Commit', value: '<https://git.example/c|abc123>', short: true }],
    footer: 'ci-bot', ts: 1392734382,
    actions: [{ type: 'button', text: 'Open', url: 'https://ci.example/42', style: 'primary' }, { type: 'button', text: 'Evil', url: 'javascript:x' }],
  }, { color: '36a64f', text: 'second' }, { fallback: 'only fallback' }, null, 'x', { color: 'red;background:url(x)', text: 't' }], ctx);
  const root = parseHtml(html);
  assert.ok(html.includes('<div class="bk-att-pretext">Heads up <b>now</b></div>'));
  assert.ok(html.includes('<div class="bk-attachment" style="border-left-color:#a30200">'));
  assert.ok(html.includes('style="border-left-color:#36a64f"'));
  assert.ok(html.includes('<a href="https://ci.example/42" rel="noopener noreferrer" target="_blank">Build #42 &lt;failed&gt;</a>'));
  assert.ok(html.includes('Step <code class="mk-code">test</code> failed for <span class="mention" data-user-id="U1">@alice</span>'));
  assert.ok(html.includes('<div class="bk-att-field bk-att-short"><div class="bk-att-field-title">Branch</div><div>main</div></div>'));
  assert.ok(html.includes('<a href="https://git.example/c" rel="noopener noreferrer" target="_blank">abc123</a>'));
  assert.ok(html.includes('datetime="2014-02-18T14:39:42.000Z"'));
  assert.ok(html.includes('<div class="bk-text">only fallback</div>'));
  assert.equal(root.querySelectorAll('a').filter((a) => a.getAttribute('class') === 'bk-button bk-primary').length, 1);
  assert.ok(!html.includes('javascript') && !html.includes('url(x)'));
  assert.equal(renderAttachments('nope', ctx), '');
  assert.equal(renderAttachments([{ blocks: [{ type: 'divider' }] }], ctx).includes('bk-divider'), true);
});
