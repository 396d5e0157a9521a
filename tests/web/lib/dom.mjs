// A strict little HTML parser for the renderers' own output, used by the unit
// tests instead of a browser: it throws on anything malformed (unbalanced or
// stray tags, bad attribute syntax, raw "<" or ">" in text or attributes), and
// gives elements just the DOM surface readViewState() uses: querySelectorAll
// over "tag" or "[attr][attr]..." selectors, getAttribute, and the controls'
// value / checked / selected.
const VOID = new Set(['br', 'hr', 'img', 'input']);
const ENT = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" };

function decode(s, where) {
  return s.replace(/&([a-z0-9#]+);|&/g, (m, n) => {
    if (n && n in ENT) return ENT[n];
    throw new Error(`bad entity ${m} in ${where}`);
  });
}

export class Element {
  constructor(tag, attrs, parent) {
    this.tagName = tag;
    this.attrs = attrs;
    this.parent = parent;
    this.children = [];
    this.checked = attrs.has('checked');
    this.selected = attrs.has('selected');
    this._value = null;
  }
  getAttribute(n) { return this.attrs.has(n) ? this.attrs.get(n) : null; }
  hasAttribute(n) { return this.attrs.has(n); }
  get textContent() {
    return this.children.map((c) => (typeof c === 'string' ? c : c.textContent)).join('');
  }
  get value() {
    if (this._value != null) return this._value;
    if (this.tagName === 'textarea') return this.textContent;
    if (this.tagName === 'select') {
      const o = this.querySelectorAll('option').find((x) => x.selected);
      return o ? o.getAttribute('value') ?? o.textContent : '';
    }
    return this.getAttribute('value') ?? '';
  }
  set value(v) {
    if (this.tagName === 'select') {
      for (const o of this.querySelectorAll('option')) o.selected = o.getAttribute('value') === v;
    } else {
      this._value = String(v);
    }
  }
  *descendants() {
    for (const c of this.children) {
      if (typeof c === 'string') continue;
      yield c;
      yield* c.descendants();
    }
  }
  querySelectorAll(sel) {
    let test;
    const attrs = sel.match(/^(?:\[[a-z-]+\])+$/) && [...sel.matchAll(/\[([a-z-]+)\]/g)].map((m) => m[1]);
    if (attrs) test = (e) => attrs.every((a) => e.attrs.has(a));
    else if (/^[a-z0-9]+$/.test(sel)) test = (e) => e.tagName === sel;
    else throw new Error(`selector not supported: ${sel}`);
    return [...this.descendants()].filter(test);
  }
  querySelector(sel) { return this.querySelectorAll(sel)[0] || null; }
}

/** Parses an HTML fragment into a root Element; throws if it is not well-formed. */
export function parseHtml(html) {
  const root = new Element('#root', new Map(), null);
  let cur = root;
  const re = /<(\/?)([a-z][a-z0-9]*)((?:\s+[a-z][a-z0-9-]*(?:="[^"<>]*")?)*)\s*>|([^<]+)|(<)/gy;
  let m;
  let pos = 0;
  while (pos < html.length) {
    re.lastIndex = pos;
    m = re.exec(html);
    if (!m) throw new Error(`cannot parse at ${pos}: ${html.slice(pos, pos + 40)}`);
    pos = re.lastIndex;
    if (m[5]) throw new Error(`stray "<" at ${m.index}: ${html.slice(m.index, m.index + 40)}`);
    if (m[4] != null) {
      if (m[4].includes('>')) throw new Error(`raw ">" in text: ${m[4].slice(0, 60)}`);
      cur.children.push(decode(m[4], 'text'));
      continue;
    }
    const [, close, tag, attrText] = m;
    if (close) {
      if (attrText.trim()) throw new Error(`attributes on </${tag}>`);
      if (cur.tagName !== tag) throw new Error(`</${tag}> closes <${cur.tagName}>`);
      cur = cur.parent;
      continue;
    }
    const attrs = new Map();
    for (const a of attrText.matchAll(/([a-z][a-z0-9-]*)(?:="([^"]*)")?/g)) {
      if (attrs.has(a[1])) throw new Error(`duplicate attribute ${a[1]} on <${tag}>`);
      attrs.set(a[1], a[2] == null ? '' : decode(a[2], `${tag}@${a[1]}`));
    }
    const el = new Element(tag, attrs, cur);
    cur.children.push(el);
    if (!VOID.has(tag)) cur = el;
  }
  if (cur !== root) throw new Error(`unclosed <${cur.tagName}>`);
  return root;
}

/** Every element of a parsed tree (root excluded). */
export function allElements(root) {
  return [...root.descendants()];
}
