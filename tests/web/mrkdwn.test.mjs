// Unit tests for web/js/mrkdwn.js: every construct, escaping and XSS attempts,
// nesting edge cases. Outputs are also parsed strictly (lib/dom.mjs), so a
// stray tag or unescaped character fails the test that produced it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
// The emoji table registers itself with the renderers (emojiref.js) when imported.
import '../../web/js/emoji.js';
import { renderMrkdwn, renderPlain, safeUrl, formatSlackDate, esc } from '../../web/js/mrkdwn.js';
import { parseHtml, allElements } from './lib/dom.mjs';

const ctx = {
  userName: (id) => ({ U1: 'alice', U2: 'bob <b>' }[id] ?? null),
  channelName: (id) => ({ C1: 'general' }[id] ?? null),
  usergroupHandle: (id) => ({ S1: 'devs' }[id] ?? null),
  emoji: (name) => ({ partyparrot: 'https://emoji.example/parrot.gif', shipit: 'alias:rocket', local: '/emoji/local.png', bad: 'javascript:alert(1)' }[name] ?? null),
  timeZone: 'UTC',
};
const r = (t, c = ctx) => {
  const h = renderMrkdwn(t, c);
  parseHtml(h); // well-formed, nothing raw
  return h;
};
const A = (url, inner) => `<a href="${url}" rel="noopener noreferrer" target="_blank">${inner}</a>`;

test('bold, italic, strike, inline code', () => {
  assert.equal(r('*bold* _it_ ~st~ `code`'), '<b>bold</b> <i>it</i> <s>st</s> <code class="mk-code">code</code>');
  assert.equal(r('say *hi*, then _go_!'), 'say <b>hi</b>, then <i>go</i>!');
  assert.equal(r('(*x*)'), '(<b>x</b>)');
});

test('marks need word boundaries and non-space insides', () => {
  assert.equal(r('snake_case_name and a*b*c'), 'snake_case_name and a*b*c');
  assert.equal(r('2 * 3 * 4'), '2 * 3 * 4');
  assert.equal(r('* not bold*'), '<ul class="mk-list"><li class="mk-li mk-indent-0"><span class="mk-marker">•</span>not bold*</li></ul>');
  assert.equal(r('*not bold *'), '*not bold *');
  assert.equal(r('**'), '**');
  assert.equal(r('*a*b'), '*a*b');
});

test('marks do not cross lines', () => {
  assert.equal(r('*one\ntwo*'), '*one<br>two*');
});

test('nesting: all three, overlap, code protects its content', () => {
  assert.equal(r('*_~all~_*'), '<b><i><s>all</s></i></b>');
  assert.equal(r('*bold _both_ bold*'), '<b>bold <i>both</i> bold</b>');
  assert.equal(r('*a _b* c_'), '<b>a _b</b> c_');
  assert.equal(r('*a `b* c`'), '*a <code class="mk-code">b* c</code>');
  assert.equal(r('`*x* <@U1>`'), '<code class="mk-code">*x* &lt;@U1&gt;</code>');
  assert.equal(r('*hi <@U1>*'), '<b>hi <span class="mention" data-user-id="U1">@alice</span></b>');
});

test('code blocks keep text literal, strip fence newlines, work mid-line', () => {
  assert.equal(r('```\n*a* <b> &lt;c&gt;\n  indented\n```'), '<pre class="mk-pre">*a* &lt;b&gt; &lt;c&gt;\n  indented</pre>');
  assert.equal(r('before\n```x```\nafter'), 'before<pre class="mk-pre">x</pre>after');
  assert.equal(r('a ```b``` c'), 'a <pre class="mk-pre">b</pre> c');
  assert.equal(r('```unclosed *b*'), '```unclosed <b>b</b>');
  assert.equal(r('```<https://x.io|x> <@U1>```'), `<pre class="mk-pre">${A('https://x.io', 'x')} @alice</pre>`);
});

test('quotes: > lines (escaped or raw) and >>> to the end', () => {
  assert.equal(r('&gt; quoted *b*\n&gt; two\nafter'), '<blockquote class="mk-quote">quoted <b>b</b><br>two</blockquote>after');
  assert.equal(r('> raw'), '<blockquote class="mk-quote">raw</blockquote>');
  assert.equal(r('x\n&gt;&gt;&gt; all\nof\n&gt; this'), 'x<blockquote class="mk-quote">all<br>of<br>this</blockquote>');
  assert.equal(r('a &gt; b'), 'a &gt; b');
  assert.equal(r('&gt; • item'), '<blockquote class="mk-quote"><ul class="mk-list"><li class="mk-li mk-indent-0"><span class="mk-marker">•</span>item</li></ul></blockquote>');
});

test('lists as typed: bullets, dashes, numbers, indentation', () => {
  const h = r('• one\n- two\n    1. three\n2) four\nplain');
  assert.equal(h, '<ul class="mk-list">'
    + '<li class="mk-li mk-indent-0"><span class="mk-marker">•</span>one</li>'
    + '<li class="mk-li mk-indent-0"><span class="mk-marker">•</span>two</li>'
    + '<li class="mk-li mk-indent-1"><span class="mk-marker">1.</span>three</li>'
    + '<li class="mk-li mk-indent-0"><span class="mk-marker">2)</span>four</li></ul>plain');
  assert.equal(r('-not a list\n1.5 kg'), '-not a list<br>1.5 kg');
  assert.match(r('• a\n        ◦ b\n\t▪ c'), /mk-indent-0.*mk-indent-2.*mk-indent-1/);
});

test('line breaks and blank lines', () => {
  assert.equal(r('a\nb\n\nc'), 'a<br>b<br><br>c');
  assert.equal(r('a\r\nb'), 'a<br>b');
});

test('links: labelled, bare token, bare URL, mailto; safe attributes', () => {
  assert.equal(r('<https://x.io/a?b=1&amp;c=2|the *site*>'), A('https://x.io/a?b=1&amp;c=2', 'the <b>site</b>'));
  assert.equal(r('<http://x.io>'), A('http://x.io', 'http://x.io'));
  assert.equal(r('<mailto:a@b.co|mail>'), A('mailto:a@b.co', 'mail'));
  assert.equal(r('see https://x.io/p_(1)_q. ok'), `see ${A('https://x.io/p_(1)_q', 'https://x.io/p_(1)_q')}. ok`);
  assert.equal(r('(http://x.io/a)'), `(${A('http://x.io/a', 'http://x.io/a')})`);
  assert.equal(r('https://x.io/a&gt;b'), `${A('https://x.io/a', 'https://x.io/a')}&gt;b`);
  assert.equal(r('*https://x.io*'), `<b>${A('https://x.io', 'https://x.io')}</b>`);
  assert.equal(r('no_link_http://x'), 'no_link_http://x');
});

test('links: unsafe schemes never become href', () => {
  for (const t of ['<javascript:alert(1)|click>', '<JaVaScRiPt:alert(1)>', '<java\tscript:alert(1)|x>',
    '<data:text/html,<script>|x>', '<vbscript:x|x>', '<//evil.example|x>', 'javascript:alert(1)',
    '<https://ok.io" onclick="x|x>', '<https://ok.io|"><img src=x onerror=alert(1)>']) {
    const h = r(t);
    const els = allElements(parseHtml(h));
    for (const e of els) {
      if (e.tagName === 'a') assert.match(e.getAttribute('href'), /^(https?:\/\/|mailto:)/, t);
      for (const k of e.attrs.keys()) assert.ok(!k.startsWith('on'), `${t}: ${k}`);
      assert.ok(e.tagName !== 'img' && e.tagName !== 'script', `${t}: ${e.tagName}`);
    }
  }
  assert.equal(r('<javascript:alert(1)|click>'), 'click');
  assert.equal(r('<script>alert(1)</script>'), '&lt;script&gt;alert(1)&lt;/script&gt;');
});

test('entities as Slack sends them; other entities stay literal', () => {
  assert.equal(r('a &amp; b &lt;tag&gt;'), 'a &amp; b &lt;tag&gt;');
  assert.equal(r('&amp;lt; &quot; &#39; &copy;'), '&amp;lt; &amp;quot; &amp;#39; &amp;copy;');
  assert.equal(r('"quotes" \'single\''), '&quot;quotes&quot; &#39;single&#39;');
  assert.equal(renderPlain('a &amp; b &lt;c&gt; &amp;lt;'), 'a & b <c> &lt;');
});

test('user, channel, usergroup mentions', () => {
  assert.equal(r('<@U1>'), '<span class="mention" data-user-id="U1">@alice</span>');
  assert.equal(r('<@U2>'), '<span class="mention" data-user-id="U2">@bob &lt;b&gt;</span>');
  assert.equal(r('<@U9>'), '<span class="mention" data-user-id="U9">@U9</span>');
  assert.equal(r('<@U9|carol>'), '<span class="mention" data-user-id="U9">@carol</span>');
  assert.equal(r('<#C1>'), '<a class="channel-link" data-channel-id="C1" href="#/c/C1">#general</a>');
  assert.equal(r('<#C9|random>'), '<a class="channel-link" data-channel-id="C9" href="#/c/C9">#random</a>');
  assert.equal(r('<#C"x>'), '<a class="channel-link" data-channel-id="C&quot;x" href="#/c/C%22x">#C&quot;x</a>');
  assert.equal(r('<!subteam^S1>'), '<span class="mention mention-group" data-usergroup-id="S1">@devs</span>');
  assert.equal(r('<!subteam^S9|@ops>'), '<span class="mention mention-group" data-usergroup-id="S9">@ops</span>');
});

test('broadcasts: here, channel, everyone, with labels', () => {
  assert.equal(r('<!here>'), '<span class="mention mention-broadcast" data-broadcast="here">@here</span>');
  assert.equal(r('<!here|here>'), '<span class="mention mention-broadcast" data-broadcast="here">@here</span>');
  assert.equal(r('<!channel>'), '<span class="mention mention-broadcast" data-broadcast="channel">@channel</span>');
  assert.equal(r('<!everyone|@everyone>'), '<span class="mention mention-broadcast" data-broadcast="everyone">@everyone</span>');
  assert.equal(r('<!unknownthing|shown>'), 'shown');
});

test('ctx is optional, and throwing or odd ctx functions are tolerated', () => {
  assert.equal(renderMrkdwn('<@U1> :eyes:'), '<span class="mention" data-user-id="U1">@U1</span> <span class="emoji" title=":eyes:">👀</span>');
  assert.equal(renderMrkdwn(':eyes:', null), '<span class="emoji emoji-jumbo" title=":eyes:">👀</span>');
  const bad = { userName() { throw new Error('x'); }, channelName: () => 42, emoji: 'not a function' };
  assert.equal(renderMrkdwn('<@U1> <#C1>', bad), '<span class="mention" data-user-id="U1">@U1</span> <a class="channel-link" data-channel-id="C1" href="#/c/C1">#C1</a>');
});

test('dates: format tokens, link, fallback', () => {
  const c = { ...ctx, now: Date.UTC(2014, 1, 18, 16, 0, 0) };
  assert.equal(renderMrkdwn('<!date^1392734382^{date_num} {time_secs}|fb>', c),
    '<time class="mk-date" datetime="2014-02-18T14:39:42.000Z" title="fb">2014-02-18 2:39:42 PM</time>');
  assert.equal(formatSlackDate('1392734382', '{date} / {date_short} / {date_long}', c), 'February 18th, 2014 / Feb 18, 2014 / Tuesday, February 18th, 2014');
  assert.equal(formatSlackDate('1392734382', '{date_pretty} {time} {ago}', c), 'today 2:39 PM 1 hour ago');
  assert.equal(formatSlackDate('1392734382', '{date_short_pretty}', { ...c, now: c.now + 86400000 }), 'yesterday');
  assert.equal(formatSlackDate('1392734382', '{day_divider_pretty}', c), 'Today');
  assert.equal(formatSlackDate('1392734382', '{day_divider_pretty}', { ...c, now: c.now + 5 * 86400000 }), 'Tuesday, February 18th');
  assert.equal(formatSlackDate('1392734382', '{date_short_full}|{date_long_full}', c), 'Feb 18, 2014|Tuesday, February 18th, 2014');
  assert.equal(formatSlackDate('1392734382', '{time}', { ...c, timeZone: 'America/Los_Angeles' }), '6:39 AM');
  assert.equal(formatSlackDate('1392734382', '{date_num}', { ...c, timeZone: 'Not/AZone' }), '2014-02-18');
  assert.equal(formatSlackDate('1392734382', '{unknown} {constructor} {__proto__} {tostring}', c), '{unknown} {constructor} {__proto__} {tostring}');
  const linked = renderMrkdwn('<!date^1392734382^{date_num}^https://x.io/e|fb>', c);
  assert.match(linked, /^<a href="https:\/\/x\.io\/e" rel="noopener noreferrer" target="_blank"><time /);
  assert.equal(renderMrkdwn('<!date^1392734382^{date_num}^javascript:alert(1)|fb>', c).startsWith('<time'), true);
  assert.equal(renderMrkdwn('<!date^notanumber^{date}|Fallback &amp; text>', c), 'Fallback &amp; text');
  assert.equal(renderPlain('<!date^bad^{date}|Feb 18>', c), 'Feb 18');
});

test('emoji shortcodes: known, skin tones, custom (url, alias), unknown stays text', () => {
  assert.equal(r('x :thumbsup: :+1:'), 'x <span class="emoji" title=":thumbsup:">👍</span> <span class="emoji" title=":+1:">👍</span>');
  assert.equal(r('x :wave::skin-tone-3:'), 'x <span class="emoji" title=":wave::skin-tone-3:">👋🏼</span>');
  assert.equal(r(':no_such_emoji:'), ':no_such_emoji:');
  assert.equal(r('x :partyparrot:'), 'x <img class="emoji" src="https://emoji.example/parrot.gif" alt=":partyparrot:" title=":partyparrot:">');
  assert.equal(r('x :shipit:'), 'x <span class="emoji" title=":shipit:">🚀</span>');
  assert.equal(r('x :local:'), 'x <img class="emoji" src="/emoji/local.png" alt=":local:" title=":local:">');
  assert.equal(r(':bad:'), ':bad:');
  assert.equal(r('10:30:45'), '10:30:45');
  assert.equal(r('_:eyes: look_'), '<i><span class="emoji" title=":eyes:">👀</span> look</i>');
});

test('a message of only emoji shows them large (up to 23)', () => {
  assert.equal(r(':eyes: :tada:'), '<span class="emoji emoji-jumbo" title=":eyes:">👀</span> <span class="emoji emoji-jumbo" title=":tada:">🎉</span>');
  assert.equal(r(':partyparrot:'), '<img class="emoji emoji-jumbo" src="https://emoji.example/parrot.gif" alt=":partyparrot:" title=":partyparrot:">');
  assert.ok(!r(':eyes: ok').includes('jumbo'));
  assert.ok(!r(':eyes: :nope:').includes('jumbo'));
  assert.ok(!r(':eyes:'.repeat(24)).includes('jumbo'));
  assert.ok(!r('*:eyes:*').includes('jumbo'));
});

test('safeUrl allows only http, https, mailto', () => {
  assert.equal(safeUrl('https://a.b/c'), 'https://a.b/c');
  assert.equal(safeUrl('HTTP://A.B'), 'HTTP://A.B');
  assert.equal(safeUrl('mailto:x@y.z'), 'mailto:x@y.z');
  assert.equal(safeUrl('https://a.b/?x=1&amp;y=2'), 'https://a.b/?x=1&y=2');
  for (const u of ['javascript:alert(1)', ' javascript:x', 'java\nscript:x', 'data:text/html,x', '//x.y', '/relative',
    'https:/x', 'https://', 'ftp://x', 'https://a b', '\u0000https://x', 'mailto:', null, 42, {}]) assert.equal(safeUrl(u), null, String(u));
});

test('renderPlain strips marks and resolves tokens', () => {
  assert.equal(renderPlain('*Deploy* _now_ ~x~ `y` <@U1> in <#C1> <!here> :tada: <https://x.io|site> <mailto:a@b.c>', ctx),
    'Deploy now x y @alice in #general @here 🎉 site a@b.c');
  assert.equal(renderPlain('&gt; q\n• a\n```\nc *d*\n```', ctx), '> q\n• a\nc *d*');
  assert.equal(renderPlain('<@U9|carol> <!subteam^S1>', ctx), '@carol @devs');
});

test('non-string input never throws', () => {
  for (const v of [undefined, null, 42, {}, [], true]) {
    assert.equal(typeof renderMrkdwn(v, ctx), 'string');
    assert.equal(typeof renderPlain(v, ctx), 'string');
  }
  assert.equal(renderMrkdwn(null), '');
});

// Inputs that a quadratic scan would take minutes on (one did: a URL with
// 40k ")"). Not a timing test: the timeout only stops a hang; figures are
// printed by bench/web-render.mjs.
test('long and pathological input renders correctly', { timeout: 60000 }, () => {
  const link = (u) => A(u, u);
  assert.equal(renderMrkdwn('https://x.io/' + ')'.repeat(40000), ctx), link('https://x.io/') + ')'.repeat(40000));
  assert.equal(renderMrkdwn('https://x.io/' + '('.repeat(4000), ctx), link('https://x.io/' + '('.repeat(4000)));
  const chained = 'http://' + 'http://x.io/'.repeat(4000);
  assert.equal(renderMrkdwn(chained, ctx), chained); // over 4096: not a link
  const shorter = 'http://' + 'http://x.io/'.repeat(300);
  assert.equal(renderMrkdwn(shorter, ctx), link(shorter));
  const huge = 'https://x.io/' + 'a'.repeat(40000);
  assert.equal(renderMrkdwn(huge, ctx), esc(huge));
  assert.equal(renderMrkdwn('*a '.repeat(20000), ctx), '*a '.repeat(20000));
  assert.equal(renderMrkdwn('_'.repeat(40000), ctx), '_'.repeat(40000));
  assert.equal(renderMrkdwn('<'.repeat(40000), ctx), '&lt;'.repeat(40000));
  assert.equal(renderMrkdwn('```'.repeat(10000), ctx).split('<pre').length - 1, 5000);
  assert.equal(renderMrkdwn(':zq'.repeat(13000), ctx), ':zq'.repeat(13000));
  assert.equal(renderMrkdwn('`a '.repeat(10000), ctx).split('<code').length - 1, 5000);
  assert.equal(renderMrkdwn('*_~'.repeat(13000), ctx), '<b>_~</b><i>~*</i><s>*_</s>'.repeat(3250));
  assert.equal(renderMrkdwn('&gt;'.repeat(10000) + '\n• x'.repeat(5000), ctx).split('<li').length - 1, 5000);
});
