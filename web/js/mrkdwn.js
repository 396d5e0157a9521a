// Slack mrkdwn -> safe HTML (renderMrkdwn) or readable text (renderPlain).
//
// Message text arrives as Slack sends it: the only markup characters are the
// control tokens <...>, and literal &, <, > are the entities &amp; &lt; &gt;.
// The text is parsed into a small tree first and only then rendered, and every
// piece of text that reaches the HTML goes through esc(); tags and attributes
// come only from this file, and link targets only from safeUrl(). So no input
// can add markup, attributes or a javascript: URL.
//
// Formatting follows what the Slack client shows (docs: "Formatting text for
// app surfaces"): *bold*, _italic_, ~strike~ and `code` need a boundary before
// the opening mark and after the closing one (snake_case_names stay as they
// are) and do not cross lines; ```code blocks``` and >quotes / >>> work on
// whole lines; list lines keep the marker the user typed.
import { emojiChar } from './emojiref.js';

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** HTML-escapes text for element content and double-quoted attributes. */
export function esc(s) {
  return String(s).replace(/[&<>"']/g, (c) => ESC[c]);
}

/** Slack's three entities back to characters (nothing else: "&quot;" was typed as such). */
export function decodeEntities(s) {
  return s.replace(/&(amp|lt|gt);/g, (_, n) => (n === 'amp' ? '&' : n === 'lt' ? '<' : '>'));
}

/**
 * The URL if it is safe to put in href (http, https, mailto), else null.
 * Control characters and whitespace are refused outright, so a scheme cannot
 * be hidden behind them ("java\tscript:").
 */
export function safeUrl(url) {
  if (typeof url !== 'string') return null;
  const u = decodeEntities(url.trim());
  if (!u || u.length > 4096 || /[\u0000-\u0020\u007f-\u009f]/.test(u)) return null;
  if (/^(https?:\/\/[^/?#]|mailto:[^/])/i.test(u)) return u;
  return null;
}

function call(ctx, fn, arg) {
  try {
    const f = ctx && ctx[fn];
    if (typeof f !== 'function') return null;
    const v = f.call(ctx, arg);
    return typeof v === 'string' && v !== '' ? v : null;
  } catch {
    return null;
  }
}

/* ---------- inline parsing ---------- */

// A line is first cut into "units": single characters, or opaque items that
// formatting marks cannot reach into (tokens, code spans, URLs, emoji).
const TOKEN_RE = /<([^<>\n]{1,2000})>/y;
const URL_RE = /(?:https?:\/\/|mailto:)[^\s<>"]+/iy;
const EMOJI_RE = /:([a-z0-9_+'-]{1,100}(?:::skin-tone-[2-6])?):/y;
const WORD = /[\p{L}\p{N}]/u;
const SPACE = /\s/;

function parseToken(body) {
  const bar = body.indexOf('|');
  const head = bar >= 0 ? body.slice(0, bar) : body;
  const label = bar >= 0 ? body.slice(bar + 1) : null;
  if (head[0] === '@') return { t: 'user', id: head.slice(1), label };
  if (head[0] === '#') return { t: 'channel', id: head.slice(1), label };
  if (head[0] === '!') {
    const parts = head.slice(1).split('^');
    const kind = parts[0];
    if (kind === 'here' || kind === 'channel' || kind === 'everyone' || kind === 'group')
      return { t: 'broadcast', range: kind === 'group' ? 'channel' : kind, label };
    if (kind === 'subteam') return { t: 'usergroup', id: parts[1] || '', label };
    if (kind === 'date') {
      // <!date^ts^format^optional_link|fallback>; the format may not contain ^.
      return { t: 'date', ts: parts[1], format: parts[2] || '', link: parts.slice(3).join('^') || null,
        fallback: label };
    }
    return { t: 'text', s: label != null ? label : '' };
  }
  return { t: 'link', url: head, label };
}

function tokenize(line) {
  const units = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i];
    if (c === '<') {
      TOKEN_RE.lastIndex = i;
      const m = TOKEN_RE.exec(line);
      if (m) { units.push(parseToken(m[1])); i += m[0].length; continue; }
    } else if (c === '`') {
      const end = line.indexOf('`', i + 1);
      if (end > i + 1) { units.push({ t: 'code', s: line.slice(i + 1, end) }); i = end + 1; continue; }
    } else if (c === ':') {
      EMOJI_RE.lastIndex = i;
      const m = EMOJI_RE.exec(line);
      if (m) { units.push({ t: 'emoji', name: m[1] }); i += m[0].length; continue; }
    } else if ((c === 'h' || c === 'H' || c === 'm' || c === 'M') && (i === 0 || !WORD.test(line[i - 1]))) {
      URL_RE.lastIndex = i;
      const m = URL_RE.exec(line);
      if (m) {
        let u = m[0];
        // A URL ends before an escaped < or > (Slack sends those as entities);
        // trailing punctuation belongs to the sentence, and so does a ")" with no "(".
        const cut = u.search(/&(lt|gt);/);
        if (cut >= 0) u = u.slice(0, cut);
        let opens = 0;
        let closes = 0;
        for (const ch of u) {
          if (ch === '(') opens++;
          else if (ch === ')') closes++;
        }
        let end = u.length;
        for (;;) {
          const last = u[end - 1];
          if (/[.,;:!?*_~'"]/.test(last)) end--;
          else if (last === ')' && opens < closes) { end--; closes--; }
          else break;
        }
        u = u.slice(0, end);
        if (u.length > 8 && safeUrl(u)) { units.push({ t: 'link', url: u, label: null, bare: true }); i += u.length; continue; }
        // Not a usable URL: take the whole run as plain characters, so the
        // "http"s inside it are not tried again (that would be quadratic).
        for (const ch of m[0]) units.push(ch);
        i += m[0].length;
        continue;
      }
    } else if (c === '&') {
      const m = /^&(amp|lt|gt);/.exec(line.slice(i, i + 5));
      if (m) { units.push(decodeEntities(m[0])); i += m[0].length; continue; }
    }
    units.push(c);
    i++;
  }
  return units;
}

const isStr = (u) => typeof u === 'string';
const isSpace = (u) => isStr(u) && SPACE.test(u);
const isWord = (u) => isStr(u) && WORD.test(u);
const MARKS = { '*': 'b', _: 'i', '~': 's' };

// Valid opener: start or a non-word unit before, a non-space unit after.
// Valid closer: a non-space unit before, end or a non-word unit after.
function canOpen(units, i, lo, hi, mark) {
  if (i + 1 >= hi || isSpace(units[i + 1]) || units[i + 1] === mark) return false;
  return i === lo || !isWord(units[i - 1]);
}
function canClose(units, i, lo, hi) {
  if (i === lo || isSpace(units[i - 1])) return false;
  return i + 1 >= hi || !isWord(units[i + 1]);
}

function buildInline(units, lo, hi, closers) {
  const out = [];
  let text = '';
  const flush = () => { if (text) { out.push({ t: 'text', s: text }); text = ''; } };
  for (let i = lo; i < hi; i++) {
    const u = units[i];
    if (!isStr(u)) { flush(); out.push(u); continue; }
    const tag = MARKS[u];
    if (tag && canOpen(units, i, lo, hi, u)) {
      // First valid closer after the content; positions are precomputed per mark.
      const list = closers[u];
      let a = 0, b = list.length;
      while (a < b) { const m = (a + b) >> 1; if (list[m] < i + 2) a = m + 1; else b = m; }
      const j = a < list.length ? list[a] : -1;
      if (j > 0 && j < hi) {
        flush();
        out.push({ t: tag, c: buildInline(units, i + 1, j, closers) });
        i = j;
        continue;
      }
    }
    text += u;
  }
  flush();
  return out;
}

function parseInline(line) {
  const units = tokenize(line);
  const closers = { '*': [], _: [], '~': [] };
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    if (isStr(u) && MARKS[u] && canClose(units, i, 0, units.length)) closers[u].push(i);
  }
  return buildInline(units, 0, units.length, closers);
}

/* ---------- block parsing ---------- */

const QUOTE_RE = /^(?:&gt;|>)/;
const QUOTE_ALL_RE = /^(?:&gt;&gt;&gt;|>>>)[ \t]?/;
const LIST_RE = /^([ \t]*)([•◦▪‣·*-]|\d{1,4}[.)]|[a-zA-Z][.)])[ \t]+(?=\S)/;

// Quotes do not nest in Slack: inside one, a further ">" is just dropped.
function parseLines(lines, inQuote) {
  if (inQuote) lines = lines.map((l) => l.replace(/^(?:(?:&gt;|>)[ \t]?)+/, ''));
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (inQuote) {
      // fall through to lists and paragraphs
    } else if (QUOTE_ALL_RE.test(line)) {
      const rest = [line.replace(QUOTE_ALL_RE, ''), ...lines.slice(i + 1)];
      out.push({ t: 'quote', c: parseLines(rest, true) });
      break;
    } else if (QUOTE_RE.test(line)) {
      const q = [];
      while (i < lines.length && QUOTE_RE.test(lines[i]) && !QUOTE_ALL_RE.test(lines[i])) {
        q.push(lines[i].replace(QUOTE_RE, '').replace(/^[ \t]/, ''));
        i++;
      }
      out.push({ t: 'quote', c: parseLines(q, true) });
      continue;
    }
    if (LIST_RE.test(line)) {
      const items = [];
      let m;
      while (i < lines.length && (m = LIST_RE.exec(lines[i]))) {
        // Slack indents nested list items by four spaces per level.
        const indent = Math.min(6, Math.ceil(m[1].replace(/\t/g, '    ').length / 4));
        items.push({ marker: m[2], indent, c: parseInline(lines[i].slice(m[0].length)) });
        i++;
      }
      out.push({ t: 'list', items });
      continue;
    }
    const para = [];
    while (i < lines.length && (inQuote || !QUOTE_RE.test(lines[i])) && !LIST_RE.test(lines[i])) {
      para.push(parseInline(lines[i]));
      i++;
    }
    out.push({ t: 'para', lines: para });
  }
  return out;
}

/** Parses mrkdwn into a tree: [{t:'para'|'quote'|'list'|'pre', ...}]. */
export function parseMrkdwn(text) {
  const src = typeof text === 'string' ? text : text == null ? '' : String(text);
  const blocks = [];
  let pos = 0;
  const flow = (s) => {
    if (s === '') return;
    blocks.push(...parseLines(s.split(/\r?\n/)));
  };
  for (;;) {
    const open = src.indexOf('```', pos);
    const close = open >= 0 ? src.indexOf('```', open + 3) : -1;
    if (open < 0 || close < 0) break;
    flow(src.slice(pos, open).replace(/\r?\n$/, ''));
    // A newline right after the opening fence or before the closing one is layout.
    blocks.push({ t: 'pre', s: src.slice(open + 3, close).replace(/^\r?\n/, '').replace(/\r?\n$/, '') });
    pos = close + 3;
    if (src[pos] === '\n') pos++;
  }
  flow(src.slice(pos));
  return blocks;
}

/* ---------- dates ---------- */

const pad = (n) => String(n).padStart(2, '0');
function ordinal(d) {
  const s = d % 100 >= 11 && d % 100 <= 13 ? 'th' : ['th', 'st', 'nd', 'rd'][d % 10] || 'th';
  return d + s;
}
function parts(date, tz) {
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: tz || undefined, year: 'numeric', month: 'long', day: 'numeric', weekday: 'long',
    hour: 'numeric', minute: '2-digit', second: '2-digit', hour12: true,
  }).formatToParts(date);
  const o = {};
  for (const p of f) o[p.type] = p.value;
  return o;
}
const dayKey = (p) => `${p.year}-${p.month}-${p.day}`;

/** Formats a <!date> token the way Slack does ({date_num}, {date}, {time}, {ago}, ...). */
export function formatSlackDate(ts, format, ctx) {
  const sec = Number(ts);
  if (!/^-?\d{1,12}$/.test(String(ts)) || !Number.isFinite(sec)) return null;
  const date = new Date(sec * 1000);
  let tz = ctx && typeof ctx.timeZone === 'string' ? ctx.timeZone : undefined;
  let p;
  try { p = parts(date, tz); } catch { tz = undefined; p = parts(date); }
  const now = ctx && Number.isFinite(ctx.now) ? ctx.now : Date.now();
  const months = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August',
    'September', 'October', 'November', 'December'];
  const mi = months.indexOf(p.month);
  const dateStr = `${p.month} ${ordinal(+p.day)}, ${p.year}`;
  const shortStr = `${p.month.slice(0, 3)} ${+p.day}, ${p.year}`;
  const longStr = `${p.weekday}, ${dateStr}`;
  const pretty = (fallback) => {
    const dk = dayKey(p);
    for (const [off, word] of [[0, 'today'], [-1, 'yesterday'], [1, 'tomorrow']]) {
      if (dayKey(parts(new Date(now + off * 86400000), tz)) === dk) return word;
    }
    return fallback;
  };
  const ago = () => {
    const d = Math.round((now - date.getTime()) / 1000);
    const a = Math.abs(d);
    const [n, unit] = a < 60 ? [a, 'second'] : a < 3600 ? [Math.floor(a / 60), 'minute']
      : a < 86400 ? [Math.floor(a / 3600), 'hour'] : a < 86400 * 30 ? [Math.floor(a / 86400), 'day']
        : a < 86400 * 365 ? [Math.floor(a / 86400 / 30), 'month'] : [Math.floor(a / 86400 / 365), 'year'];
    const w = `${n} ${unit}${n === 1 ? '' : 's'}`;
    return d >= 0 ? `${w} ago` : `in ${w}`;
  };
  const hm = `${p.hour}:${p.minute}`;
  const map = {
    date_num: `${p.year}-${pad(mi + 1)}-${pad(+p.day)}`,
    date: dateStr, date_short: shortStr, date_long: longStr,
    date_pretty: pretty(dateStr), date_short_pretty: pretty(shortStr), date_long_pretty: pretty(longStr),
    date_short_full: shortStr, date_long_full: longStr,
    day_divider_pretty: ((w) => (w === longStr ? `${p.weekday}, ${p.month} ${ordinal(+p.day)}` : w[0].toUpperCase() + w.slice(1)))(pretty(longStr)),
    time: `${hm} ${p.dayPeriod}`, time_secs: `${hm}:${p.second} ${p.dayPeriod}`, ago: ago(),
  };
  return String(format).replace(/\{([a-z_]+)\}/g, (m, k) => (Object.hasOwn(map, k) ? map[k] : m));
}

/* ---------- rendering ---------- */

// What ctx.emoji() may return besides a URL or "alias:name": the emoji itself.
export const isEmojiText = (v) => v.length <= 16 && !/[:/\\<>&]/.test(v);

function emojiFor(name, ctx) {
  let v = call(ctx, 'emoji', name);
  if (v && v.startsWith('alias:')) v = call(ctx, 'emoji', v.slice(6)) || emojiChar(v.slice(6));
  if (v) {
    if (/^https?:\/\//i.test(v) || (v[0] === '/' && v[1] !== '/')) {
      const src = v[0] === '/' ? v : safeUrl(v);
      if (src) return { img: src };
    } else if (isEmojiText(v)) {
      return { char: v };
    }
  }
  const c = emojiChar(name);
  return c ? { char: c } : null;
}

function linkHtml(url, inner) {
  const u = safeUrl(url);
  if (!u) return inner;
  return `<a href="${esc(u)}" rel="noopener noreferrer" target="_blank">${inner}</a>`;
}

// Display text of a token, shared by the HTML and the plain renderers.
function tokenText(n, ctx) {
  switch (n.t) {
    case 'user': {
      const name = call(ctx, 'userName', n.id) || (n.label ? decodeEntities(n.label) : n.id);
      return '@' + name.replace(/^@/, '');
    }
    case 'channel': {
      const name = call(ctx, 'channelName', n.id) || (n.label ? decodeEntities(n.label) : n.id);
      return '#' + name.replace(/^#/, '');
    }
    case 'usergroup': {
      const h = call(ctx, 'usergroupHandle', n.id) || (n.label ? decodeEntities(n.label) : n.id);
      return '@' + h.replace(/^@/, '');
    }
    case 'broadcast': return '@' + (n.label ? decodeEntities(n.label).replace(/^@/, '') : n.range);
    default: return '';
  }
}

function inlineHtml(nodes, ctx, inLink) {
  let h = '';
  for (const n of nodes) {
    switch (n.t) {
      case 'text': h += esc(n.s); break;
      case 'b': h += `<b>${inlineHtml(n.c, ctx, inLink)}</b>`; break;
      case 'i': h += `<i>${inlineHtml(n.c, ctx, inLink)}</i>`; break;
      case 's': h += `<s>${inlineHtml(n.c, ctx, inLink)}</s>`; break;
      case 'code': h += `<code class="mk-code">${esc(decodeEntities(n.s))}</code>`; break;
      case 'emoji': {
        const e = emojiFor(n.name, ctx);
        if (!e) h += esc(`:${n.name}:`);
        else if (e.img) h += `<img class="emoji" src="${esc(e.img)}" alt="${esc(`:${n.name}:`)}" title="${esc(`:${n.name}:`)}">`;
        else h += `<span class="emoji" title="${esc(`:${n.name}:`)}">${esc(e.char)}</span>`;
        break;
      }
      case 'link': {
        // The label may carry formatting (*bold*) but no nested links.
        // "<script>" from a careless bot is not a link: show it as typed.
        if (!n.label && !safeUrl(n.url)) { h += esc(`<${decodeEntities(n.url)}>`); break; }
        const inner = n.label ? inlineHtml(parseInline(n.label), ctx, true) : esc(decodeEntities(n.url));
        h += inLink ? inner : linkHtml(n.url, inner);
        break;
      }
      case 'user':
        h += `<span class="mention" data-user-id="${esc(n.id)}">${esc(tokenText(n, ctx))}</span>`;
        break;
      case 'channel': {
        const t = esc(tokenText(n, ctx));
        h += inLink ? t : `<a class="channel-link" data-channel-id="${esc(n.id)}" href="#/c/${encodeURIComponent(n.id)}">${t}</a>`;
        break;
      }
      case 'usergroup':
        h += `<span class="mention mention-group" data-usergroup-id="${esc(n.id)}">${esc(tokenText(n, ctx))}</span>`;
        break;
      case 'broadcast':
        h += `<span class="mention mention-broadcast" data-broadcast="${esc(n.range)}">${esc(tokenText(n, ctx))}</span>`;
        break;
      case 'date': {
        const fb = n.fallback != null ? decodeEntities(n.fallback) : '';
        const shown = formatSlackDate(n.ts, decodeEntities(n.format), ctx);
        if (shown == null) { h += esc(fb); break; }
        const iso = new Date(Number(n.ts) * 1000).toISOString();
        const t = `<time class="mk-date" datetime="${esc(iso)}" title="${esc(fb)}">${esc(shown)}</time>`;
        h += n.link && !inLink ? linkHtml(n.link, t) : t;
        break;
      }
      default: break;
    }
  }
  return h;
}

// Inside ``` nothing is formatted, but Slack still sends tokens there: links
// stay links, mentions show as their plain names.
function preHtml(s, ctx) {
  let h = '';
  let last = 0;
  const re = /<([^<>\n]{1,2000})>/g;
  for (let m; (m = re.exec(s));) {
    h += esc(decodeEntities(s.slice(last, m.index)));
    last = m.index + m[0].length;
    const n = parseToken(m[1]);
    if (n.t === 'link') h += n.label || safeUrl(n.url) ? linkHtml(n.url, esc(decodeEntities(n.label || n.url))) : esc(`<${decodeEntities(n.url)}>`);
    else if (n.t === 'date' || n.t === 'text') h += esc(inlineText([n], ctx));
    else h += esc(tokenText(n, ctx));
  }
  return h + esc(decodeEntities(s.slice(last)));
}

function blocksHtml(blocks, ctx) {
  let h = '';
  let prevPara = false;
  for (const b of blocks) {
    if (b.t === 'para') {
      if (prevPara) h += '<br>';
      h += b.lines.map((l) => inlineHtml(l, ctx, false)).join('<br>');
    } else if (b.t === 'pre') {
      h += `<pre class="mk-pre">${preHtml(b.s, ctx)}</pre>`;
    } else if (b.t === 'quote') {
      h += `<blockquote class="mk-quote">${blocksHtml(b.c, ctx)}</blockquote>`;
    } else if (b.t === 'list') {
      h += '<ul class="mk-list">';
      for (const it of b.items) {
        h += `<li class="mk-li mk-indent-${it.indent}"><span class="mk-marker">${esc(it.marker === '-' || it.marker === '*' ? '•' : it.marker)}</span>${inlineHtml(it.c, ctx, false)}</li>`;
      }
      h += '</ul>';
    }
    prevPara = b.t === 'para';
  }
  return h;
}

/**
 * Renders Slack mrkdwn as an HTML string that is safe to assign to innerHTML.
 * ctx: { userName(id), channelName(id), usergroupHandle(id), emoji(name),
 *        timeZone?, now? } — every member optional; null means "unknown".
 */
export function renderMrkdwn(text, ctx) {
  try {
    const c = ctx || {};
    const blocks = parseMrkdwn(text);
    const html = blocksHtml(blocks, c);
    // Like Slack, a message of nothing but a few emoji shows them large.
    if (blocks.length === 1 && blocks[0].t === 'para') {
      const nodes = blocks[0].lines.flat();
      const emoji = nodes.filter((n) => n.t === 'emoji');
      if (emoji.length && emoji.length <= 23 && nodes.every((n) => n.t === 'emoji' || (n.t === 'text' && !n.s.trim()))
        && emoji.every((n) => emojiFor(n.name, c))) return html.replace(/class="emoji"/g, 'class="emoji emoji-jumbo"');
    }
    return html;
  } catch {
    // The parser is total on strings; this is a last guard so a message never breaks the list.
    return esc(decodeEntities(typeof text === 'string' ? text : ''));
  }
}

function inlineText(nodes, ctx) {
  let s = '';
  for (const n of nodes) {
    switch (n.t) {
      case 'text': s += n.s; break;
      case 'b': case 'i': case 's': s += inlineText(n.c, ctx); break;
      case 'code': s += decodeEntities(n.s); break;
      case 'emoji': {
        const e = emojiFor(n.name, ctx);
        s += e && e.char ? e.char : `:${n.name}:`;
        break;
      }
      case 'link':
        if (n.label) s += inlineText(parseInline(n.label), ctx);
        else if (safeUrl(n.url)) s += decodeEntities(n.url.replace(/^mailto:/i, ''));
        else s += `<${decodeEntities(n.url)}>`;
        break;
      case 'date': {
        const shown = formatSlackDate(n.ts, decodeEntities(n.format), ctx);
        s += shown != null ? shown : decodeEntities(n.fallback || '');
        break;
      }
      default: s += tokenText(n, ctx);
    }
  }
  return s;
}

/**
 * One mention/link/date/emoji node as HTML, for Block Kit's rich_text:
 * {t:'user',id} {t:'channel',id} {t:'usergroup',id} {t:'broadcast',range}
 * {t:'date',ts,format,link,fallback} {t:'link',url,label} {t:'emoji',name}.
 */
export function tokenHtml(node, ctx) {
  try {
    return inlineHtml([node], ctx || {}, false);
  } catch {
    return '';
  }
}

function preText(s, ctx) {
  return s.replace(/<([^<>\n]{1,2000})>/g, (m, body) => {
    const n = parseToken(body);
    if (n.t === 'link') return n.label ? decodeEntities(n.label) : safeUrl(n.url) ? decodeEntities(n.url) : `<${decodeEntities(n.url)}>`;
    if (n.t === 'date' || n.t === 'text') return inlineText([n], ctx);
    return tokenText(n, ctx);
  }).replace(/&(amp|lt|gt);/g, (e) => decodeEntities(e));
}

function blocksText(blocks, ctx) {
  const out = [];
  for (const b of blocks) {
    if (b.t === 'para') out.push(...b.lines.map((l) => inlineText(l, ctx)));
    else if (b.t === 'pre') out.push(preText(b.s, ctx));
    else if (b.t === 'quote') out.push(...blocksText(b.c, ctx).split('\n').map((l) => '> ' + l));
    else if (b.t === 'list') {
      for (const it of b.items) out.push('  '.repeat(it.indent) + (it.marker === '-' || it.marker === '*' ? '•' : it.marker) + ' ' + inlineText(it.c, ctx));
    }
  }
  return out.join('\n');
}

/** Plain readable text of a message (for notifications): marks stripped, tokens resolved. */
export function renderPlain(text, ctx) {
  try {
    return blocksText(parseMrkdwn(text), ctx || {});
  } catch {
    return decodeEntities(typeof text === 'string' ? text : '');
  }
}
