// Small helpers shared by the components: DOM building, escaping, time.
import { esc as mkEsc } from './mrkdwn.js';
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

// The renderers' escaping (mrkdwn.js), with null and undefined as "".
export const esc = (s) => mkEsc(s ?? '');

export const tsDate = (ts) => new Date(Math.floor(parseFloat(ts) * 1000));
// Slack timestamps ("1700000000.000100"): same-length ones compare as
// strings, which is the common and fast case.
export const tsCmp = (a, b) => {
  if (a.length === b.length) return a < b ? -1 : a > b ? 1 : 0;
  const [as, af = ''] = a.split('.');
  const [bs, bf = ''] = b.split('.');
  return as.length - bs.length || (as < bs ? -1 : as > bs ? 1 : af < bf ? -1 : af > bf ? 1 : 0);
};

// Intl formatters are costly to create: one of each, reused for every row.
const TIME_FMT = new Intl.DateTimeFormat([], { hour: 'numeric', minute: '2-digit' });
const FULL_FMT = new Intl.DateTimeFormat([], { dateStyle: 'full', timeStyle: 'medium' });
const DAY_FMT = new Intl.DateTimeFormat([], { weekday: 'long', month: 'long', day: 'numeric' });
const DAY_YEAR_FMT = new Intl.DateTimeFormat([], { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });

export const fmtTime = (ts) => TIME_FMT.format(tsDate(ts));
export const fmtFull = (ts) => FULL_FMT.format(tsDate(ts));

// The local calendar day of a ts as a number (cheap to compare).
export function dayKey(ts) {
  const ms = Math.floor(parseFloat(ts) * 1000);
  return Math.floor((ms - new Date(ms).getTimezoneOffset() * 60000) / 86400000);
}

export function fmtDay(ts) {
  const k = dayKey(ts);
  const today = dayKey(String(Date.now() / 1000));
  if (k === today) return 'Today';
  if (k === today - 1) return 'Yesterday';
  const d = tsDate(ts);
  return (d.getFullYear() === new Date().getFullYear() ? DAY_FMT : DAY_YEAR_FMT).format(d);
}

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
