// @-mention, #-channel and :emoji: suggestions for a composer's textarea.
import { S, convName } from './state.js';
import { searchEmoji, loadEmoji } from './render.js';
import { h } from './util.js';

let seq = 0;
const SPECIAL = [['here', 'Notify everyone online in this conversation'], ['channel', 'Notify everyone in this conversation'], ['everyone', 'Notify everyone in the workspace']];

function candidates(kind, q) {
  q = q.toLowerCase();
  if (kind === '@') {
    const out = [];
    for (const [n, d] of SPECIAL) if (n.startsWith(q)) out.push({ insert: `@${n} `, label: `@${n}`, hint: d });
    for (const u of S.users.values()) {
      if (u.deleted || u.id === 'USLACKBOT') continue;
      const names = [u.name, u.real_name, u.profile?.display_name].filter(Boolean).map((x) => x.toLowerCase());
      if (names.some((n) => n.startsWith(q) || n.split(/\s+/).some((w) => w.startsWith(q)))) out.push({ insert: `@${u.name} `, label: `@${u.name}`, hint: u.real_name || '' });
      if (out.length >= 8) break;
    }
    return out;
  }
  if (kind === '#') {
    return [...S.convs.values()].filter((c) => !c.is_im && !c.is_mpim && !c.is_archived && c.name.toLowerCase().startsWith(q))
      .sort((a, b) => a.name.localeCompare(b.name)).slice(0, 8).map((c) => ({ insert: `#${c.name} `, label: `#${convName(c)}`, hint: c.is_private ? 'private' : '' }));
  }
  // The emoji table is asked for on the first ":"; it is there by the second letter.
  if (q.length < 2) { loadEmoji().catch(() => {}); return []; }
  return searchEmoji(q, 8).map((e) => ({ insert: `:${e.name}: `, label: `${e.char} :${e.name}:`, hint: '' }));
}

export class Autocomplete {
  constructor(textarea) {
    this.ta = textarea;
    this.id = `ac-${++seq}`;
    this.box = h('ul.autocomplete', { role: 'listbox', id: this.id, hidden: true, 'aria-label': 'Suggestions' });
    this.items = [];
    this.sel = 0;
    textarea.setAttribute('aria-autocomplete', 'list');
    textarea.setAttribute('aria-controls', this.id);
    textarea.addEventListener('input', () => this.update());
    textarea.addEventListener('blur', () => setTimeout(() => this.close(), 150));
    this.box.addEventListener('mousedown', (ev) => {
      const li = ev.target.closest('li');
      if (!li) return;
      ev.preventDefault();
      this.pick(Number(li.dataset.i));
    });
  }

  get open() { return !this.box.hidden; }

  token() {
    const pos = this.ta.selectionStart;
    const before = this.ta.value.slice(0, pos);
    const m = before.match(/(^|[\s(])([@#:])([\w.+-]*)$/);
    return m ? { kind: m[2], q: m[3], from: pos - m[3].length - 1, to: pos } : null;
  }

  update() {
    const t = this.token();
    this.items = t ? candidates(t.kind, t.q) : [];
    this.tok = t;
    if (!this.items.length) { this.close(); return; }
    this.sel = 0;
    this.render();
    this.box.hidden = false;
    this.ta.setAttribute('aria-expanded', 'true');
  }

  render() {
    this.box.replaceChildren(...this.items.map((it, i) => h('li', {
      role: 'option', id: `${this.id}-${i}`, 'aria-selected': i === this.sel ? 'true' : 'false', dataset: { i },
    }, h('span.label', {}, it.label), it.hint ? h('span.hint', {}, it.hint) : null)));
    this.ta.setAttribute('aria-activedescendant', `${this.id}-${this.sel}`);
  }

  close() {
    this.box.hidden = true;
    this.items = [];
    this.ta.setAttribute('aria-expanded', 'false');
    this.ta.removeAttribute('aria-activedescendant');
  }

  pick(i) {
    const it = this.items[i];
    if (!it || !this.tok) return;
    const v = this.ta.value;
    this.ta.value = v.slice(0, this.tok.from) + it.insert + v.slice(this.tok.to);
    const p = this.tok.from + it.insert.length;
    this.ta.setSelectionRange(p, p);
    this.close();
    this.ta.dispatchEvent(new Event('input'));
    this.close();
  }

  // True when the key was for the suggestions.
  key(ev) {
    if (!this.open) return false;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      this.sel = (this.sel + (ev.key === 'ArrowDown' ? 1 : this.items.length - 1)) % this.items.length;
      this.render();
      return true;
    }
    if (ev.key === 'Enter' || ev.key === 'Tab') { this.pick(this.sel); return true; }
    if (ev.key === 'Escape') { this.close(); return true; }
    return false;
  }
}

// "@alice hi #general" -> "<@U1> hi <#C1>", as Slack's client sends it.
export function encodeMentions(text) {
  const byName = new Map();
  for (const u of S.users.values()) if (!u.deleted) byName.set(u.name.toLowerCase(), u.id);
  const chans = new Map();
  for (const c of S.convs.values()) if (!c.is_im && !c.is_mpim) chans.set(c.name.toLowerCase(), c.id);
  const parts = text.split(/(```[\s\S]*?```|`[^`\n]*`)/);
  return parts.map((p, i) => (i % 2 ? p : p
    .replace(/(^|[\s(])@(here|channel|everyone)\b/g, '$1<!$2>')
    .replace(/(^|[\s(])@([\w.-]+)/g, (m, pre, n) => (byName.has(n.toLowerCase()) ? `${pre}<@${byName.get(n.toLowerCase())}>` : m))
    .replace(/(^|[\s(])#([\w-]+)/g, (m, pre, n) => (chans.has(n.toLowerCase()) ? `${pre}<#${chans.get(n.toLowerCase())}>` : m)))).join('');
}
