// Small helpers shared by the components: DOM building, escaping, time.
export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// h('button.primary', {type: 'button', onclick}, 'text', child...)
export function h(tag, attrs, ...children) {
  const [name, ...classes] = tag.split('.');
  const el = document.createElement(name || 'div');
  if (classes.length) el.className = classes.join(' ');
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'html') el.innerHTML = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ESC[c]);

export const tsDate = (ts) => new Date(Math.floor(parseFloat(ts) * 1000));
export const tsCmp = (a, b) => {
  const [as, af = ''] = a.split('.');
  const [bs, bf = ''] = b.split('.');
  return as.length - bs.length || (as < bs ? -1 : as > bs ? 1 : af < bf ? -1 : af > bf ? 1 : 0);
};

export function fmtTime(ts) {
  return tsDate(ts).toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
}

export function fmtDay(ts) {
  const d = tsDate(ts);
  const today = new Date();
  const yest = new Date(Date.now() - 86400000);
  if (d.toDateString() === today.toDateString()) return 'Today';
  if (d.toDateString() === yest.toDateString()) return 'Yesterday';
  return d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric', year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric' });
}

export const dayKey = (ts) => tsDate(ts).toDateString();

export function debounce(fn, ms) {
  let t;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// Local preferences (drafts, collapsed sections, muted channels).
export const prefs = {
  get(k, d) { try { const v = localStorage.getItem(`canal.${k}`); return v === null ? d : JSON.parse(v); } catch { return d; } },
  set(k, v) { try { if (v === undefined) localStorage.removeItem(`canal.${k}`); else localStorage.setItem(`canal.${k}`, JSON.stringify(v)); } catch { /* private mode */ } },
};

export function toast(text) {
  const box = document.getElementById('toasts');
  const t = h('div.toast', {}, text);
  box.append(t);
  setTimeout(() => t.remove(), 5000);
}
